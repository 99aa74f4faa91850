#!/usr/bin/env bash
# Where the *time* goes, which instruction counts cannot show: samples
# rtcp-compare's workloads with `perf record -e cpu-clock` (a software clock:
# it works in virtual machines without hardware counters, as here) and
# prints, for each stack, the functions that take the most samples and, for
# rtcp's top functions, the instructions the samples land on.
#
#     bash rtcp-compare/perfprof.sh                  # bulk and both connection rows
#     bash rtcp-compare/perfprof.sh conn 1           # one workload: --only conn --case 1
#
# Read the instruction lists for stalls callgrind counts as one instruction
# each: a division (`div`), a load just after narrower stores to the same
# place (a failed store-to-load forward, e.g. a struct returned by value and
# copied), an indirect call. A sample lands on the instruction *after* the
# one that stalled. Figures are fractions of this run's samples: on a busy
# machine they still rank the hot spots, where wall time does not.
#
# Needs perf (Debian: apt-get install -y linux-perf).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v perf >/dev/null || { echo "needs perf (apt-get install -y linux-perf)" >&2; exit 1; }
cargo build --release -q -p rtcp-compare
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/rtcp-compare
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

if [ $# -ge 2 ]; then
  workloads=("$1 $2")
else
  workloads=("bulk 0" "conn 0" "conn 1")
fi

# The reports are cut short with `head`; a writer killed by SIGPIPE there
# is not a failure.
set +o pipefail
for w in "${workloads[@]}"; do
  read -r only case <<<"$w"
  for stack in rtcp smoltcp; do
    data=$OUT/$only$case.$stack
    perf record -q -e cpu-clock -F 20000 -o "$data" \
      "$BIN" --only "$only" --case "$case" --runs 3 --stack "$stack" >/dev/null 2>&1
    echo "## --only $only --case $case, $stack: functions by share of samples"
    perf report -i "$data" --no-children --fields overhead,sym --stdio 2>/dev/null |
      grep -E '^ +[0-9.]+%' | head -12 || true
    if [ "$stack" = rtcp ]; then
      { perf report -i "$data" --no-children --fields overhead,sym --stdio 2>/dev/null |
        grep -E '^ +[0-9.]+% +\[\.\] rtcp_core' || true; } | head -3 |
        sed -E 's/^ +[0-9.]+% +\[\.\] //; s/ +$//' |
        while read -r sym; do
          echo "### hottest instructions in $sym (share of its samples)"
          perf annotate -i "$data" --stdio -l -s "$sym" 2>/dev/null |
            { grep -E '^ +[0-9]+\.[0-9]+ :' || true; } | sort -rn | head -6
        done
    fi
    echo
  done
done
