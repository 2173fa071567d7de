# Makes a real OpenTelemetry collector (rotel, PyPI: a Rust collector in a
# wheel) and a trace store with a query API (Arize Phoenix, PyPI) available
# to the tracing test. They share a virtual environment of their own, apart
# from the other Python tools' pins. Sourced by scripts/test.

ROTEL_VERSION=0.0.1a15
PHOENIX_VERSION=20.26.1
OTEL_VENV="${MERCATO_TEST_OTEL_VENV:-/opt/mercato-test/otel}"

ensure_otel() {
  local rotel="$OTEL_VENV/lib/python3.11/site-packages/rotel/rotel-agent"
  local phoenix="$OTEL_VENV/bin/phoenix"
  if [ ! -x "$rotel" ] || [ ! -x "$phoenix" ] \
    || ! "$OTEL_VENV/bin/pip" freeze 2>/dev/null | grep -qx "arize-phoenix==$PHOENIX_VERSION" \
    || ! "$OTEL_VENV/bin/pip" freeze 2>/dev/null | grep -qx "rotel==$ROTEL_VERSION"; then
    echo "installing rotel $ROTEL_VERSION and arize-phoenix $PHOENIX_VERSION from PyPI into $OTEL_VENV..." >&2
    python3 -m venv "$OTEL_VENV"
    "$OTEL_VENV/bin/pip" install -q --disable-pip-version-check \
      "rotel==$ROTEL_VERSION" "arize-phoenix==$PHOENIX_VERSION" >&2
  fi
  rotel="$(find "$OTEL_VENV/lib" -path '*/rotel/rotel-agent' | head -n 1)"
  export MERCATO_TEST_ROTEL="$rotel"
  export MERCATO_TEST_PHOENIX="$phoenix"
}
