# Makes localstripe available to the tests: a stateful fake of Stripe's
# API from PyPI, which crates/testkit/stripe/server.py starts on loopback
# for each test that needs it. Sourced by scripts/test.

LOCALSTRIPE_VERSION=1.15.10

ensure_localstripe() {
  if ! python3 -c "import importlib.metadata as m, sys; sys.exit(m.version('localstripe') != '$LOCALSTRIPE_VERSION')" 2>/dev/null; then
    echo "installing localstripe $LOCALSTRIPE_VERSION from PyPI..." >&2
    python3 -m pip install -q --disable-pip-version-check "localstripe==$LOCALSTRIPE_VERSION" >&2
  fi
  MERCATO_TEST_PYTHON=$(python3 -c 'import sys; print(sys.executable)')
  export MERCATO_TEST_PYTHON
}
