# Makes etcd available to the tests (Debian's etcd-server); the tests start
# their own servers from it on loopback. Sourced by scripts/test.

ensure_etcd() {
  if ! command -v etcd >/dev/null 2>&1; then
    echo "installing etcd from Debian packages..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq etcd-server >&2
  fi
  MERCATO_TEST_ETCD=$(command -v etcd)
  export MERCATO_TEST_ETCD
}
