#!/usr/bin/env bash
# Where the wall-clock time goes that instruction counts do not show: runs
# rtcp-compare's bulk and connection-rate workloads under callgrind with its
# cache and branch-predictor simulation, for both stacks, and prints one
# markdown table of instructions, simulated cache misses and mispredicted
# branches. Deterministic for a given binary (unlike wall time on a shared
# machine), so a change's effect on each can be read off exactly.
#
#     bash rtcp-compare/simprof.sh            # about 3 minutes
#
# The simulated caches are fixed here (32 KiB 8-way L1 I and D, 1 MiB 8-way
# last level, 64-byte lines) so that figures compare across machines;
# valgrind models no prefetcher and a simple branch predictor, so read the
# columns as counts of events, not as cycles.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install -y valgrind)" >&2; exit 1; }
cargo build --release -q -p rtcp-compare
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/rtcp-compare
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# callgrind STACK TOGGLE NAME ARGS...: one run, output in $OUT/NAME.STACK
callgrind() {
  local stack=$1 toggle=$2 name=$3; shift 3
  valgrind --tool=callgrind --cache-sim=yes --branch-sim=yes \
    --I1=32768,8,64 --D1=32768,8,64 --LL=1048576,8,64 \
    --toggle-collect="$toggle" --callgrind-out-file="$OUT/$name.$stack" \
    "$BIN" "$@" --runs 1 --stack "$stack" >/dev/null 2>&1
}

for stack in rtcp smoltcp; do
  callgrind "$stack" 'rtcp_compare::bulk*' bulk --only bulk --case 0 --mib 32
  for c in 0 1; do
    # Per connection: the difference between 1300 and 300 connections
    # (the setup, run once, cancels out).
    # The exact name, no wildcard: callgrind toggles collection on entry
    # to every function matching the pattern, and `conn_case*` also
    # matched the closures inside `conn_case` (the application's sends,
    # reads and closes), which were then left out of the counts (until
    # session 14).
    callgrind "$stack" 'rtcp_compare::conn_case' "conn$c-300" --only conn --case "$c" --mib 300
    callgrind "$stack" 'rtcp_compare::conn_case' "conn$c-1300" --only conn --case "$c" --mib 1300
  done
done

python3 - "$OUT" <<'PY'
import sys
out = sys.argv[1]

def totals(path):
    events = values = None
    for line in open(path):
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith("summary:"):
            values = [int(v) for v in line.split()[1:]]
    return dict(zip(events, values))

def per(stack, name):
    if name == "bulk":
        t = totals(f"{out}/bulk.{stack}")
        # 32 MiB measured plus the 16 MiB warm-up, per KiB.
        return {k: v / (48 * 1024) for k, v in t.items()}
    a = totals(f"{out}/{name}-300.{stack}")
    b = totals(f"{out}/{name}-1300.{stack}")
    return {k: (b[k] - a[k]) / 1000 for k in b}

rows = [
    ("bulk MTU 1500, 64 KiB (`--only bulk --case 0`), per KiB", "bulk"),
    ("connections, 1 client at a time (`--only conn --case 0`), per connection", "conn0"),
    ("connections, 64 concurrent clients (`--only conn --case 1`), per connection", "conn1"),
]
cols = [
    ("Ir", lambda d: d["Ir"]),
    ("L1i misses", lambda d: d["I1mr"]),
    ("L1d misses", lambda d: d["D1mr"] + d["D1mw"]),
    ("LL misses", lambda d: d["ILmr"] + d["DLmr"] + d["DLmw"]),
    ("cond. mispredicts", lambda d: d["Bcm"]),
    ("indirect mispredicts", lambda d: d["Bim"]),
]
print("| workload | stack | " + " | ".join(c for c, _ in cols) + " |")
print("|---|---|" + "---|" * len(cols))
for title, name in rows:
    for stack in ("rtcp", "smoltcp"):
        d = per(stack, name)
        cells = " | ".join(f"{f(d):,.0f}" if f(d) >= 100 else f"{f(d):.1f}" for _, f in cols)
        print(f"| {title} | {stack} | {cells} |")
PY
