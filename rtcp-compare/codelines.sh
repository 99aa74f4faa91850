#!/usr/bin/env bash
# How much distinct code one connection's life runs, for the instruction
# cache: runs rtcp-compare's one-client-at-a-time connection row under
# callgrind with per-instruction counts, for both stacks, and counts the
# 64-byte code lines holding an instruction that ran at least once per
# connection (N connections: count >= N), harness included, with the
# functions (after inlining) that hold most of them.
#
#     bash rtcp-compare/codelines.sh          # 300 connections, ~1 minute
#     bash rtcp-compare/codelines.sh 1000
#
# A 32 KiB L1i holds 512 lines; code that runs once per connection and
# spans more than that is fetched again for every connection. The line
# count moves a little with code placement; the instruction count does not.
#
# Which lines miss depends on where they fall: a 32 KiB 8-way cache (the one
# simprof.sh simulates) has 64 sets of 8 lines, a line's set is bits 6-11
# of its address, and code that runs in the same order every connection
# misses on every line of a set holding more than 8 of them and on none of
# a set holding 8 or fewer (LRU). The last columns count those lines, a
# prediction of simprof.sh's L1i misses for this row (session 17: 434
# predicted, 440 simulated at 303b129), and the same count expected if the
# lines fell into sets at random (Poisson), which moves with the number of
# lines only: a change that moves a few lines can move the simulated misses
# by ±30 through placement alone, so read small changes off the expected
# column.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install -y valgrind)" >&2; exit 1; }
N=${1:-300}
cargo build --release -q -p rtcp-compare
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/rtcp-compare
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for stack in rtcp smoltcp; do
  valgrind --tool=callgrind --dump-instr=yes --dump-line=no \
    --toggle-collect='rtcp_compare::conn_case' --callgrind-out-file="$OUT/$stack" \
    "$BIN" --only conn --case 0 --mib "$N" --runs 1 --stack "$stack" >/dev/null 2>&1
done

python3 - "$OUT" "$N" <<'PY'
import collections, math, re, sys
out, n = sys.argv[1], int(sys.argv[2])

def instruction_counts(path):
    """Self cost (Ir) per instruction address, and the function holding it."""
    names, cost, owner = {}, collections.Counter(), {}
    fn, addr, after_call = None, 0, False
    for line in open(path):
        m = re.match(r'(c?fn)=\((\d+)\)(?: (.*))?', line)
        if m:
            if m.group(3):
                names[m.group(2)] = m.group(3).strip()
            if m.group(1) == 'fn':
                fn = names[m.group(2)]
            continue
        if line.startswith('calls='):
            after_call = True  # the next line is the call's inclusive cost
            continue
        if not line or line[0] not in '0123456789+-*':
            continue
        parts = line.split()
        tok = parts[0]
        if tok.startswith('0x'):
            addr = int(tok, 16)
        elif tok[0] in '+-':
            addr += int(tok, 0) if tok[1:].startswith('0x') else int(tok)
        elif tok != '*':
            addr = int(tok)
        if after_call:
            after_call = False
            continue
        if len(parts) > 1:
            cost[addr] += int(parts[1])
            owner[addr] = fn
    return cost, owner

def expected_overfull(lines, sets=64, ways=8):
    """Lines in sets holding more than `ways`, lines spread at random."""
    lam, p, total = lines / sets, math.exp(-lines / sets), 0.0
    for k in range(1, 4 * ways + int(4 * lines / sets)):
        p *= lam / k
        if k > ways:
            total += k * p
    return total * sets

print(f"| stack | instructions run >= {n} times | 64-byte lines holding them | top functions (lines) "
      "| lines in 8-way sets holding > 8 (predicted L1i misses) | the same, lines placed at random |")
print("|---|---|---|---|---|---|")
for stack in ("rtcp", "smoltcp"):
    cost, owner = instruction_counts(f"{out}/{stack}")
    hot = [a for a, c in cost.items() if c >= n]
    lines = {}
    for a in hot:
        lines.setdefault(a >> 6, owner[a])
    top = collections.Counter(lines.values()).most_common(4)
    short = lambda f: re.sub(r'<[^<>]*>', '', re.sub(r'<[^<>]*>', '', f)).split('::')[-1]
    per_set = collections.Counter(line % 64 for line in lines)
    overfull = sum(k for k in per_set.values() if k > 8)
    print(f"| {stack} | {len(hot):,} | {len(lines)} ({len(lines) * 64 / 1024:.1f} KiB) | "
          + ", ".join(f"{short(f)} {k}" for f, k in top)
          + f" | {overfull} | {expected_overfull(len(lines)):.0f} |")
PY
