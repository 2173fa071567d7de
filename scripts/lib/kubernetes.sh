# Makes the offline Kubernetes checks possible: kubectl renders the
# kustomize overlays (Debian has no kubectl package; the machine's own is
# used, and a missing one is an error), and PyPI's kubernetes-validate
# checks every rendered object against the API schemas of a Kubernetes
# release (and, with its jsonschema, the KEDA and Prometheus Operator
# resources against their published CRDs). No API server runs here.
# Sourced by scripts/test.

KUBERNETES_VALIDATE_VERSION=1.34.1
KUBERNETES_VENV="${MERCATO_TEST_KUBERNETES_VENV:-/opt/mercato-test/kubernetes}"

ensure_kubernetes() {
  if ! command -v kubectl >/dev/null 2>&1; then
    echo "kubectl is needed to render deploy/kubernetes and is not on this machine" >&2
    return 1
  fi
  if [ ! -x "$KUBERNETES_VENV/bin/kubernetes-validate" ] \
    || ! "$KUBERNETES_VENV/bin/pip" freeze 2>/dev/null | grep -qix "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"; then
    echo "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION from PyPI into $KUBERNETES_VENV..." >&2
    python3 -m venv "$KUBERNETES_VENV"
    "$KUBERNETES_VENV/bin/pip" install -q --disable-pip-version-check \
      "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" >&2
  fi
  MERCATO_TEST_KUBECTL=$(command -v kubectl)
  export MERCATO_TEST_KUBECTL
  export MERCATO_TEST_KUBERNETES_VALIDATE="$KUBERNETES_VENV/bin/kubernetes-validate"
  # Its jsonschema checks the custom resources against their CRDs.
  export MERCATO_TEST_KUBERNETES_PYTHON="$KUBERNETES_VENV/bin/python"
}
