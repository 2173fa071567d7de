# Makes Prometheus and Alertmanager available to the tests (Debian's
# prometheus and prometheus-alertmanager: the real servers, promtool and
# amtool); the tests start their own servers from them on loopback.
# Sourced by scripts/test.

ensure_prometheus() {
  if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus-alertmanager >/dev/null 2>&1; then
    echo "installing Prometheus and Alertmanager from Debian packages..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
      prometheus prometheus-alertmanager >&2
  fi
  MERCATO_TEST_PROMETHEUS=$(command -v prometheus)
  MERCATO_TEST_PROMTOOL=$(command -v promtool)
  MERCATO_TEST_ALERTMANAGER=$(command -v prometheus-alertmanager)
  MERCATO_TEST_AMTOOL=$(command -v amtool)
  export MERCATO_TEST_PROMETHEUS MERCATO_TEST_PROMTOOL MERCATO_TEST_ALERTMANAGER MERCATO_TEST_AMTOOL
}
