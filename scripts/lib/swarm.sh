# Makes the container and live Swarm tests possible: the machine's Docker
# engine, started when it is not answering yet (a fresh machine may still be
# bringing it up, or not have started it at all), and an image registry of
# the test's own (Debian's docker-registry, started by the test on loopback;
# 127.0.0.0/8 is an insecure registry to the engine already). Sourced by
# scripts/test.

# Returns 0 once `docker info` answers; tries the init script, then dockerd
# itself, and waits up to two minutes for the engine to come up.
ensure_docker() {
  if docker info >/dev/null 2>&1; then
    return 0
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    echo "no dockerd on this machine" >&2
    return 1
  fi
  echo "Docker engine not answering: starting it..." >&2
  if ! service docker start >&2 2>&1; then
    if ! pgrep -x dockerd >/dev/null; then
      mkdir -p target
      setsid nohup dockerd >target/dockerd.log 2>&1 < /dev/null &
    fi
  fi
  local waited=0
  until docker info >/dev/null 2>&1; do
    if [ "$waited" -ge 120 ]; then
      echo "the Docker engine did not answer within 120 s" >&2
      return 1
    fi
    sleep 2
    waited=$((waited + 2))
  done
  echo "Docker engine up after ${waited} s" >&2
}

ensure_registry() {
  if [ ! -x /usr/bin/docker-registry ]; then
    echo "installing docker-registry from Debian packages..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends docker-registry >&2
  fi
  export MERCATO_TEST_REGISTRY=/usr/bin/docker-registry
}
