#!/usr/bin/env bash
# Run rtcp-core's tests on a 32-bit target: i686-unknown-linux-gnu.
#
# rtcp-core has code chosen by `target_pointer_width = "32"` (for
# Cortex-M flash: speed shortcuts it skips, helpers kept out of line, its
# own RTO and PRR arithmetic). The host tests run on x86_64 only and the
# firmware test in QEMU exercises those paths through a few transfers; this
# runs the unit, integration and doc tests of rtcp-core with a 32-bit
# `usize`, as a Cortex-M has, in a debug build (overflow checks and debug
# assertions on), with the default features and with none.
#
# rustup's i686 std is not reachable from the project's machines, so, as
# rtcp-firmware/build.sh does for thumbv7em, this uses Debian's rustc and
# cargo (1.96, in /usr/bin) and builds std, panic_unwind and test from the
# sources of rust-web-src (-Zbuild-std; RUSTC_BOOTSTRAP=1 unlocks -Z on a
# stable compiler). Linking and running the tests needs a 32-bit C runtime
# and linker (gcc -m32: gcc-multilib, which brings libc6-dev-i386 and
# lib32gcc) and a kernel that runs i386 binaries.
#
# Prerequisites, as root:
#     apt-get install -y rustc-web cargo-web rust-web-src gcc-multilib
# Run as root with CI=true, the script installs what is missing itself;
# otherwise it stops with a message naming it. A missing prerequisite is
# always a failure, never a skip.
#
# Usage: rtcp-core/test-32bit.sh [extra cargo test args, e.g. a test filter after --]
# Target dir: $CARGO_TARGET_DIR, default target/i686 at the workspace root
# (apart from rustup's builds: another compiler, another std).
# Time (2 cores shared with other builds, load 3-4): about 4 minutes from an
# empty target dir (230 s wall, 213 s CPU), about 40 s when built.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
TARGET=i686-unknown-linux-gnu

# What is missing, as "description|debian package" lines.
check() {
  missing=()
  [ -x /usr/bin/rustc ] || missing+=("/usr/bin/rustc|rustc-web")
  [ -x /usr/bin/cargo ] || missing+=("/usr/bin/cargo|cargo-web")
  local sysroot lib
  sysroot=$([ -x /usr/bin/rustc ] && /usr/bin/rustc --print sysroot || echo /usr)
  lib=$sysroot/lib/rustlib/src/rust/library
  for crate in std test panic_unwind; do
    if [ ! -f "$lib/$crate/Cargo.toml" ]; then
      missing+=("the Rust library sources ($lib/$crate)|rust-web-src")
      break
    fi
  done
  # A 32-bit C program linked as rustc links a test binary (cc -m32, with
  # libgcc_s for unwinding) must build and run.
  local tmp ok=0
  tmp=$(mktemp -d)
  printf 'int main(void) { return 0; }\n' >"$tmp/t.c"
  if cc -m32 "$tmp/t.c" -o "$tmp/t" -lgcc_s >/dev/null 2>&1 && "$tmp/t"; then ok=1; fi
  rm -rf "$tmp"
  [ "$ok" = 1 ] || missing+=("a 32-bit C toolchain and runtime (cc -m32 -lgcc_s, run)|gcc-multilib")
}

check
if [ ${#missing[@]} -gt 0 ] && [ "${CI:-}" = true ] && [ "$(id -u)" -eq 0 ]; then
  pkgs=()
  for m in "${missing[@]}"; do pkgs+=("${m#*|}"); done
  echo "test-32bit.sh: installing ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y "${pkgs[@]}" || { apt-get update && apt-get install -y "${pkgs[@]}"; }
  check
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "rtcp-core/test-32bit.sh: cannot run the $TARGET tests, missing:" >&2
  for m in "${missing[@]}"; do echo "  - ${m%|*} (apt-get install ${m#*|})" >&2; done
  exit 1
fi

cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/i686}"
# Line tables only (file:line in panics and backtraces, no variable info):
# about a fifth less CPU for the build, most of which is std and the
# dev-dependencies. Set CARGO_PROFILE_DEV_DEBUG to choose otherwise.
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}"
xtest() {
  echo "+ cargo test --locked -p rtcp-core --target $TARGET -Zbuild-std=std,panic_unwind,test $*"
  RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
    /usr/bin/cargo test --locked -p rtcp-core --target "$TARGET" \
    -Zbuild-std=std,panic_unwind,test "$@"
}
# Without --no-fail-fast the first failing test binary stops the run.
xtest "$@"
xtest --no-default-features "$@"
