# Checks and set-up shared by the scripts in tests/real (sourced, not run).
#
#   preflight NAME "TOOLS" "APT PACKAGES" NAMESPACE...
#
# Skips without root (fails with CI=true), fails when a tool is missing or
# one of the script's namespaces already exists, then sets ROOT to the
# checkout and RTCP_HOST to the rtcp-host binary (built with cargo
# --release unless RTCP_HOST names one).
preflight() {
  local name=$1 tools=$2 packages=$3 tool ns
  shift 3
  if [ "$(id -u)" -ne 0 ]; then
    if [ "${CI:-}" = true ]; then echo "FAIL: needs root" >&2; exit 1; fi
    echo "SKIP: $name needs root (network namespaces, AF_PACKET)"
    exit 0
  fi
  for tool in $tools; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (apt-get install -y $packages)" >&2; exit 1; }
  done
  for ns in "$@"; do
    if [ -e "/run/netns/$ns" ]; then echo "FAIL: namespace $ns exists already; remove it first (ip netns del $ns)" >&2; exit 1; fi
  done
  ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  if [ -z "${RTCP_HOST:-}" ]; then
    (cd "$ROOT" && cargo build --release -q -p rtcp-host)
    RTCP_HOST="${CARGO_TARGET_DIR:-$ROOT/target}/release/rtcp-host"
  fi
  [ -x "$RTCP_HOST" ] || { echo "FAIL: no rtcp-host binary at $RTCP_HOST" >&2; exit 1; }
}
