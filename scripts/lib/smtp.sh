# Makes a real SMTP server available to the tests: aiosmtpd from PyPI,
# which crates/testkit/smtp/server.py drives, and trustme for its
# throwaway TLS certificates. Sourced by scripts/test.

AIOSMTPD_VERSION=1.4.6
TRUSTME_VERSION=1.2.1

ensure_aiosmtpd() {
  if ! python3 -c "import aiosmtpd, trustme, sys; sys.exit(aiosmtpd.__version__ != '$AIOSMTPD_VERSION' or trustme.__version__ != '$TRUSTME_VERSION')" 2>/dev/null; then
    echo "installing aiosmtpd $AIOSMTPD_VERSION and trustme $TRUSTME_VERSION from PyPI..." >&2
    python3 -m pip install -q --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION" "trustme==$TRUSTME_VERSION" >&2
  fi
  MERCATO_TEST_PYTHON=$(python3 -c 'import sys; print(sys.executable)')
  export MERCATO_TEST_PYTHON
}
