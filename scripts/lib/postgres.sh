# Starts a throwaway PostgreSQL server for the tests, on loopback only.
# Sourced by scripts/test and scripts/bench-users; nothing here is for production.

PG_PORT="${MERCATO_TEST_PG_PORT:-55432}"
PG_DIR="${MERCATO_TEST_PG_DIR:-/tmp/mercato-test-pg}"

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && echo "$dir"
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ensure_postgres() {
  if [ -z "$(pg_bin)" ]; then
    echo "installing PostgreSQL from Debian packages..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq postgresql >&2
  fi
  # A server someone else runs (the CI workflow's service container): the
  # shared test database is there; the binaries above still serve the
  # tests that start and crash a server of their own.
  if [ -n "${MERCATO_TEST_EXTERNAL_DATABASE_URL:-}" ]; then
    export MERCATO_TEST_DATABASE_URL="$MERCATO_TEST_EXTERNAL_DATABASE_URL"
    return 0
  fi
  local bin
  bin=$(pg_bin)
  if [ ! -s "$PG_DIR/PG_VERSION" ]; then
    rm -rf "$PG_DIR"
    mkdir -p "$PG_DIR"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DIR"
    as_postgres "$bin/initdb" -D "$PG_DIR" -A trust -U postgres >/dev/null
  fi
  if ! as_postgres "$bin/pg_ctl" -D "$PG_DIR" status >/dev/null 2>&1; then
    # fsync off by default: a test server whose data is thrown away (the
    # benchmarks turn it on); max_connections high enough for parallel test
    # processes with a pool each.
    as_postgres "$bin/pg_ctl" -D "$PG_DIR" -l "$PG_DIR/server.log" -w -o \
      "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=${MERCATO_TEST_PG_FSYNC:-off} -c max_connections=400" start >/dev/null
  fi
  as_postgres "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc \
    "select 1 from pg_database where datname = 'mercato_test'" | grep -q 1 ||
    as_postgres "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "create database mercato_test" >/dev/null
  export MERCATO_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/mercato_test"
  MERCATO_TEST_PG_PID=$(head -n 1 "$PG_DIR/postmaster.pid")
  export MERCATO_TEST_PG_PID
}
