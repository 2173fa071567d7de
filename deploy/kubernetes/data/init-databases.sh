#!/bin/sh
# One database and one role per service, each role owning only its own
# database, with the passwords of the mercato-secrets keys
# <service>-db-password (mounted as files). Run once, on PostgreSQL's first
# start, as the official image runs /docker-entrypoint-initdb.d/*.sh.
set -eu
for service in users catalog pricing cart orders payments notifications; do
  password=$(cat "/run/secrets/mercato/$service-db-password")
  psql -v ON_ERROR_STOP=1 -h /var/run/postgresql -U "${POSTGRES_USER:-postgres}" -d postgres \
    -v role="$service" -v password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"role" OWNER :"role";
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
SQL
done
