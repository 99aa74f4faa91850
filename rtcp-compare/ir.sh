#!/usr/bin/env bash
# Instructions per connection on the two connection-rate rows (one client at
# a time, 64 concurrent clients) and, with BULK=1, per KiB on the MTU 1500 /
# 64 KiB bulk row: callgrind with the harness's case function as the toggle,
# 1,300 connections minus 300 so that setup cancels out. Deterministic for a
# given binary; the figures BENCHMARKS.md quotes as "Ir per connection".
#
#     bash rtcp-compare/ir.sh                 # rtcp
#     STACK=smoltcp bash rtcp-compare/ir.sh   # or floor
#     BULK=1 bash rtcp-compare/ir.sh          # adds Ir per KiB
#     bash rtcp-compare/ir.sh /path/to/target # another target dir
#     SRC=/path/to/checkout bash rtcp-compare/ir.sh /path/to/its/target
#                                             # measure another checkout
#
# Cargo decides freshness by source mtimes, not paths: a target dir last
# built from another checkout with newer files can be taken as fresh for
# this one. Give each checkout its own target dir.
set -euo pipefail
cd "${SRC:-$(dirname "${BASH_SOURCE[0]}")/..}"
command -v valgrind >/dev/null || { echo "needs valgrind" >&2; exit 1; }
TD=${1:-${CARGO_TARGET_DIR:-$PWD/target}}
STACK=${STACK:-rtcp}
TOGGLE=${CONN_TOGGLE:-rtcp_compare::conn_case}
CARGO_TARGET_DIR=$TD cargo build --release -q -p rtcp-compare
BIN=$TD/release/rtcp-compare
OUT=$(mktemp -d)
ir() {
  valgrind --tool=callgrind --toggle-collect="$1" --callgrind-out-file="$OUT/$2" \
    "$BIN" "${@:3}" --runs 1 --stack "$STACK" >/dev/null 2>&1
  awk '/^summary:/ {print $2}' "$OUT/$2"
}
for c in 0 1; do
  a=$(ir "$TOGGLE" "c$c-300" --only conn --case "$c" --mib 300)
  b=$(ir "$TOGGLE" "c$c-1300" --only conn --case "$c" --mib 1300)
  echo "conn case $c: $(((b - a) / 1000)) Ir/conn"
done
if [ -n "${BULK:-}" ]; then
  t=$(ir 'rtcp_compare::bulk*' bulk --only bulk --case 0 --mib 32)
  echo "bulk: $((t / (48 * 1024))) Ir/KiB"
fi
echo "callgrind outputs: $OUT"
