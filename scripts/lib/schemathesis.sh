# Makes schemathesis (PyPI) available to the contract test, which runs it
# against the all-in-one server's /openapi.json. It lives in its own
# virtual environment: its dependency tree (hypothesis, jsonschema, ...)
# must not move the pins of localstripe's aiohttp or aiosmtpd's. Sourced
# by scripts/test.

SCHEMATHESIS_VERSION=4.32.5
SCHEMATHESIS_VENV="${MERCATO_TEST_SCHEMATHESIS_VENV:-/opt/mercato-test/schemathesis}"

ensure_schemathesis() {
  local bin="$SCHEMATHESIS_VENV/bin/schemathesis"
  if [ ! -x "$bin" ] || ! "$bin" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    echo "installing schemathesis $SCHEMATHESIS_VERSION from PyPI into $SCHEMATHESIS_VENV..." >&2
    python3 -m venv "$SCHEMATHESIS_VENV"
    "$SCHEMATHESIS_VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
  fi
  export MERCATO_TEST_SCHEMATHESIS="$bin"
}
