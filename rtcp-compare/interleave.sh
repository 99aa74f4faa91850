#!/usr/bin/env bash
# Wall-clock ratios of two rtcp-compare builds, run alternately so that
# both see the same machine: ROUNDS rounds of `--only bulk,conn --runs 3`
# with each binary (A, B, A, B, ...), then per row the median and range of
# the rtcp/smoltcp ratio each binary printed. Wall time on a shared
# machine is noisy; compare within one run of this script only.
#
#     bash rtcp-compare/interleave.sh OLD_BINARY NEW_BINARY     # ROUNDS=5
#
# Build the old binary from a worktree, e.g.
#     git worktree add --detach /tmp/old <commit>
#     (cd /tmp/old && CARGO_TARGET_DIR=/tmp/old-target cargo build --release -p rtcp-compare)
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 OLD_BINARY NEW_BINARY" >&2; exit 1; }
ROUNDS=${ROUNDS:-5}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for r in $(seq 1 "$ROUNDS"); do
  "$1" --only bulk,conn --runs 3 2>/dev/null | grep -E '^\| (bulk|conn)' > "$OUT/old.$r"
  "$2" --only bulk,conn --runs 3 2>/dev/null | grep -E '^\| (bulk|conn)' > "$OUT/new.$r"
done
python3 - "$OUT" <<'PY'
import collections, glob, re, statistics, sys
ratios = collections.defaultdict(lambda: collections.defaultdict(list))
rows = []
for path in sorted(glob.glob(f"{sys.argv[1]}/*.*")):
    which = path.rsplit("/", 1)[1].split(".")[0]
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        m = re.match(r"([\d.]+)×", cells[3])
        if m:
            if cells[0] not in rows:
                rows.append(cells[0])
            ratios[cells[0]][which].append(float(m.group(1)))
print("| row | old | new |")
print("|---|---|---|")
for row in rows:
    cell = lambda v: f"{statistics.median(v):.2f}× ({min(v):.2f}–{max(v):.2f})" if v else "–"
    print(f"| {row} | {cell(ratios[row]['old'])} | {cell(ratios[row]['new'])} |")
PY
