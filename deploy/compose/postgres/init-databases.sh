#!/bin/sh
# One database and one role per service, each role owning only its own
# database (a service cannot read another's tables). Run once, on the
# first start of the PostgreSQL container, as the official image runs
# /docker-entrypoint-initdb.d/*.sh.
set -eu
for service in users catalog pricing cart orders payments notifications; do
  case $service in
    users) password=${USERS_DB_PASSWORD:?} ;;
    catalog) password=${CATALOG_DB_PASSWORD:?} ;;
    pricing) password=${PRICING_DB_PASSWORD:?} ;;
    cart) password=${CART_DB_PASSWORD:?} ;;
    orders) password=${ORDERS_DB_PASSWORD:?} ;;
    payments) password=${PAYMENTS_DB_PASSWORD:?} ;;
    notifications) password=${NOTIFICATIONS_DB_PASSWORD:?} ;;
  esac
  psql -v ON_ERROR_STOP=1 -h /var/run/postgresql -U "${POSTGRES_USER:-postgres}" -d postgres \
    -v role="$service" -v password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"role" OWNER :"role";
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
SQL
done
