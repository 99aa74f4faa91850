#!/usr/bin/env bash
# Build rtcp-firmware for QEMU's mps2-an386 (thumbv7em-none-eabihf).
#
# Uses Debian's Rust toolchain, not rustup's: rustup's thumbv7em target is
# not reachable from the project's machines, while Debian's rustc builds
# `core` from source (-Zbuild-std=core; RUSTC_BOOTSTRAP=1 unlocks -Z on a
# stable compiler). This script installs nothing; it stops with a message
# naming what is missing. Install, as root:
#     apt-get install -y rustc-web cargo-web rust-web-src
#     apt-get install -y rust-web-llvm lld-NN   # NN = LLVM major of /usr/bin/rustc -vV
# (rust-web-llvm provides rust-lld, the linker, as a link to lld-NN.)
#
# Usage: rtcp-firmware/build.sh [extra cargo args]
# Output: $CARGO_TARGET_DIR (default rtcp-firmware/target)/thumbv7em-none-eabihf/release/rtcp-firmware
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
missing=()
[ -x /usr/bin/rustc ] || missing+=("/usr/bin/rustc (apt-get install rustc-web)")
[ -x /usr/bin/cargo ] || missing+=("/usr/bin/cargo (apt-get install cargo-web)")
sysroot=$([ -x /usr/bin/rustc ] && /usr/bin/rustc --print sysroot || echo /usr)
[ -d "$sysroot/lib/rustlib/src/rust/library/core" ] \
  || missing+=("the Rust library sources in $sysroot/lib/rustlib/src (apt-get install rust-web-src)")
# Debian's rust-lld (package rust-web-llvm) is a link to lld-NN, which that
# package does not depend on: run it to be sure the link resolves.
llvm_major=$([ -x /usr/bin/rustc ] && /usr/bin/rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p' || echo NN)
rust-lld -flavor gnu --version >/dev/null 2>&1 \
  || missing+=("a working rust-lld (apt-get install rust-web-llvm lld-$llvm_major; or, where no rust-web-llvm is offered, lld-$llvm_major and the shim in rtcp-firmware/README.md)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "rtcp-firmware/build.sh: cannot build, missing:" >&2
  for m in "${missing[@]}"; do echo "  - $m" >&2; done
  exit 1
fi

cd "$here"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
  /usr/bin/cargo build --release --locked --target thumbv7em-none-eabihf \
  -Zbuild-std=core "$@"
echo "$CARGO_TARGET_DIR/thumbv7em-none-eabihf/release/rtcp-firmware"
