# Makes a real browser available to the storefront tests: Debian's chromium
# and chromium-driver (the tests start chromedriver on loopback and drive
# headless Chromium through WebDriver), and axe-core as shipped in PyPI's
# axe-selenium-python wheel (the tests inject its axe.min.js into each page).
# Sourced by scripts/test.

AXE_SELENIUM_VERSION=2.1.6
BROWSER_VENV="${MERCATO_TEST_BROWSER_VENV:-/opt/mercato-test/browser}"

ensure_browser() {
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "installing Chromium and chromedriver from Debian packages..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
      chromium chromium-driver fonts-dejavu-core >&2
  fi
  local axe
  axe=$(find "$BROWSER_VENV" -name axe.min.js -path '*axe_selenium_python*' 2>/dev/null | head -n 1)
  if [ -z "$axe" ]; then
    echo "installing axe-selenium-python $AXE_SELENIUM_VERSION (axe-core) from PyPI into $BROWSER_VENV..." >&2
    python3 -m venv "$BROWSER_VENV"
    "$BROWSER_VENV/bin/pip" install -q --disable-pip-version-check --no-deps \
      "axe-selenium-python==$AXE_SELENIUM_VERSION" >&2
    axe=$(find "$BROWSER_VENV" -name axe.min.js -path '*axe_selenium_python*' | head -n 1)
  fi
  MERCATO_TEST_CHROMIUM=$(command -v chromium)
  MERCATO_TEST_CHROMEDRIVER=$(command -v chromedriver)
  MERCATO_TEST_AXE_JS="$axe"
  export MERCATO_TEST_CHROMIUM MERCATO_TEST_CHROMEDRIVER MERCATO_TEST_AXE_JS
}
