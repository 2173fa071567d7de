# Makes the live Swarm test possible: an image registry of the test's own
# (Debian's docker-registry, started by the test on loopback; 127.0.0.0/8
# is an insecure registry to the engine already). The engine itself is the
# machine's. Sourced by scripts/test.

ensure_registry() {
  if [ ! -x /usr/bin/docker-registry ]; then
    echo "installing docker-registry from Debian packages..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends docker-registry >&2
  fi
  export MERCATO_TEST_REGISTRY=/usr/bin/docker-registry
}
