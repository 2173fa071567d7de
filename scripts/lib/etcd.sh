# Makes etcd available to the tests (Debian's etcd-server, and etcdctl for
# the local image's health check); the tests start
# their own servers from it on loopback. Sourced by scripts/test.

ensure_etcd() {
  if ! command -v etcd >/dev/null 2>&1 || ! command -v etcdctl >/dev/null 2>&1; then
    echo "installing etcd from Debian packages..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq etcd-server etcd-client >&2
  fi
  MERCATO_TEST_ETCD=$(command -v etcd)
  MERCATO_TEST_ETCDCTL=$(command -v etcdctl)
  export MERCATO_TEST_ETCD MERCATO_TEST_ETCDCTL
}
