#!/bin/sh
# One database and one role per service, each role owning only its own
# database, with the passwords of the Docker secrets
# mercato_<service>_db_password (files under MERCATO_DB_PASSWORDS_DIR).
# Run once, on the first start of PostgreSQL, as the official image runs
# /docker-entrypoint-initdb.d/*.sh.
set -eu
dir=${MERCATO_DB_PASSWORDS_DIR:-/run/secrets}
for service in users catalog pricing cart orders payments notifications; do
  password=$(cat "$dir/mercato_${service}_db_password")
  psql -v ON_ERROR_STOP=1 -h /var/run/postgresql -U "${POSTGRES_USER:-postgres}" -d postgres \
    -v role="$service" -v password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"role" OWNER :"role";
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
SQL
done
