#!/usr/bin/env bash
# Creates the stack's Docker secrets with random passwords, once: the
# PostgreSQL superuser's, one per service's database role, and each
# service's configuration (its database URL with that password; the
# users service's also names the first admin), and the storefront's (the
# key sealing its session cookies). Existing secrets are left
# as they are (Docker secrets cannot change; rotate by new names).
# Usage: deploy/swarm/create-secrets.sh [admin email]   (the admin's
# password is read from MERCATO_ADMIN_PASSWORD, else generated and printed)
set -euo pipefail
admin_email=${1:-admin@example.com}

exists() { docker secret inspect "$1" >/dev/null 2>&1; }
random() { head -c 24 /dev/urandom | base64 | tr -d '/+=' | head -c 32; }
create() { # name, value
  if exists "$1"; then
    echo "secret $1 exists; kept" >&2
  else
    printf '%s' "$2" | docker secret create "$1" - >/dev/null
    echo "secret $1 created" >&2
  fi
}

create postgres_password "$(random)"
for service in users catalog pricing cart orders payments notifications; do
  if exists "mercato_${service}_db_password" && exists "mercato_${service}_config"; then
    echo "secrets of $service exist; kept" >&2
    continue
  fi
  if exists "mercato_${service}_db_password" || exists "mercato_${service}_config"; then
    echo "only one of mercato_${service}_db_password and mercato_${service}_config exists: remove it and run again" >&2
    exit 1
  fi
  password=$(random)
  config="[$service]
database_url = \"postgres://$service:$password@postgres:5432/$service\"
"
  if [ "$service" = users ]; then
    admin_password=${MERCATO_ADMIN_PASSWORD:-$(random)}
    [ -n "${MERCATO_ADMIN_PASSWORD:-}" ] || echo "admin $admin_email, password $admin_password" >&2
    config+="admin_email = \"$admin_email\"
admin_password = \"$admin_password\"
"
  fi
  create "mercato_${service}_db_password" "$password"
  create "mercato_${service}_config" "$config"
done
create mercato_web_config "[web]
session_key = \"$(head -c 32 /dev/urandom | base64)\"
"
