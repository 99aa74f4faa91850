#!/usr/bin/env bash
# Bounded fuzzing of every rtcp-fuzz target, for CI (and for a quick local
# check):
#
#     bash rtcp-fuzz/run-ci.sh [seconds per target]     # default 60
#
# Installs cargo-fuzz when missing, builds the targets once (release, with
# debug assertions), then runs each for the given time with the committed
# seeds and the TCP-options dictionary. New corpus entries go to a scratch
# directory, not into the checkout. Prints executions per second and the
# total per target. A crash is copied into regressions/<target>/ (so that
# `cargo test` replays it once committed) and fails the run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
FUZZ_DIR=$PWD
ROOT=$(cd .. && pwd)
SECS=${1:-60}
# A fixed seed by default, so that what CI finds depends on the code, not on
# the draw: the same commit explores the same inputs first (a faster machine
# goes further in the same time). FUZZ_SEED=0 asks libFuzzer for a random
# seed; use it with a longer budget to explore.
SEED=${FUZZ_SEED:-1}
TARGETS=(segment fsm stack)

if [ -d "${CARGO_HOME:-$HOME/.cargo}/bin" ]; then
  PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

# libFuzzer needs nightly (-Zsanitizer); rust-toolchain.toml pins stable,
# `+nightly` overrides it.
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "nightly toolchain missing: trying rustup toolchain install nightly"
  if ! rustup toolchain install nightly --profile minimal; then
    # The corpus and every saved crash still replay on stable in
    # `cargo test` (tests/tests/fuzz_replay.rs).
    echo "SKIP: no nightly toolchain can be installed here; fuzzing not run"
    exit 0
  fi
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo +nightly install cargo-fuzz --locked
fi
cargo +nightly fuzz --version

# cargo-fuzz looks for <project>/fuzz; the repository root has `fuzz` as a
# symlink to rtcp-fuzz, so the commands run from there.
cd "$ROOT"
cargo +nightly fuzz build -O --debug-assertions

SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
failed=()
summary=()
for t in "${TARGETS[@]}"; do
  echo
  echo "-- fuzz target $t: ${SECS}s"
  mkdir -p "$SCRATCH/corpus/$t" "$SCRATCH/artifacts/$t" "$FUZZ_DIR/regressions/$t"
  log="$SCRATCH/$t.log"
  set +e
  cargo +nightly fuzz run -O --debug-assertions "$t" \
    "$SCRATCH/corpus/$t" "$FUZZ_DIR/corpus/$t" "$FUZZ_DIR/regressions/$t" -- \
    -max_total_time="$SECS" -seed="$SEED" -dict="$FUZZ_DIR/tcp-options.dict" -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$SCRATCH/artifacts/$t/" >"$log" 2>&1
  rc=$?
  set -e
  grep -E '^(INFO: seed corpus|#[0-9]+.*(INITED|DONE)|stat::)' "$log" || true
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
  summary+=("$t: ${rate:-?} exec/s, ${execs:-?} executions in ${SECS}s, ${cov:-no coverage line}")
  crashes=$(find "$SCRATCH/artifacts/$t" -type f 2>/dev/null)
  if [ "$rc" -ne 0 ] || [ -n "$crashes" ]; then
    failed+=("$t")
    for c in $crashes; do
      cp "$c" "$FUZZ_DIR/regressions/$t/"
      echo "crash saved: rtcp-fuzz/regressions/$t/$(basename "$c")"
    done
    # The panic message first (the tail below is mostly the input's bytes).
    grep -m1 -A4 -E "panicked at|ERROR: libFuzzer|SUMMARY:" "$log" || true
    tail -n 60 "$log"
  fi
done

echo
echo "-- fuzz summary"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  # A target can also fail without a crashing input (its build failed, or
  # libFuzzer stopped on an out-of-memory): the log above says which.
  echo "FAILED: fuzz target(s) crashed or failed to run: ${failed[*]}" >&2
  echo "replay on stable: cargo test --release -p rtcp-tests --test fuzz_replay" >&2
  exit 1
fi
echo "fuzz: no crash (seed $SEED)"
