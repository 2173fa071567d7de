# Makes the log pipeline's stand-ins available to the logging test: a real
# log shipper (Debian's rsyslog with its Elasticsearch output) and a server
# that answers the Elasticsearch API (PyPI noida-db, which answers as
# Elasticsearch 8; the real one cannot be had here). noida-db gets a virtual
# environment of its own, apart from the other Python tools' pins.
# Sourced by scripts/test.

NOIDA_VERSION=0.2.3
LOGGING_VENV="${MERCATO_TEST_LOGGING_VENV:-/opt/mercato-test/logging}"

ensure_logging() {
  if [ ! -x /usr/sbin/rsyslogd ] || ! dpkg -s rsyslog-elasticsearch >/dev/null 2>&1; then
    echo "installing rsyslog and rsyslog-elasticsearch from Debian packages..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # policy-rc.d: the package must not start the host's own rsyslog; the
    # test runs its own daemon with its own configuration.
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
      rsyslog rsyslog-elasticsearch >&2
  fi
  if [ ! -x "$LOGGING_VENV/bin/noida-db" ] \
    || ! "$LOGGING_VENV/bin/pip" freeze 2>/dev/null | grep -qix "noida-db==$NOIDA_VERSION"; then
    echo "installing noida-db $NOIDA_VERSION from PyPI into $LOGGING_VENV..." >&2
    python3 -m venv "$LOGGING_VENV"
    "$LOGGING_VENV/bin/pip" install -q --disable-pip-version-check "noida-db==$NOIDA_VERSION" >&2
  fi
  export MERCATO_TEST_RSYSLOGD=/usr/sbin/rsyslogd
  export MERCATO_TEST_ELASTICSEARCH="$LOGGING_VENV/bin/noida-db"
}
