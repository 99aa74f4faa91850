#!/usr/bin/env bash
# Flash and RAM of a firmware-style build of rtcp and of smoltcp 0.14 for a
# Cortex-M4F (thumbv7em-none-eabihf), built the same way: opt-level "s", fat
# LTO, panic abort, one codegen unit, core built from source. Each firmware
# answers ARP and ICMP echo and runs one TCP echo socket (port 7) with 1 KiB
# buffers each way (fw-rtcp/, fw-smoltcp/). Prints a markdown table.
#
#     bash footprint/measure.sh
#
# Needs Debian's Rust (rustup's thumbv7em std is not reachable here):
#     apt-get install -y rustc-web cargo-web rust-web-src
#     apt-get install -y rust-web-llvm lld-NN   # rust-lld; NN = LLVM major of /usr/bin/rustc -vV
# (Where no rust-web-llvm is offered: lld-NN and the rust-lld shim in rtcp-firmware/README.md.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

for f in /usr/bin/rustc /usr/bin/cargo; do
  [ -x "$f" ] || { echo "missing $f: apt-get install -y rustc-web cargo-web rust-web-src" >&2; exit 1; }
done
llvm_major=$(/usr/bin/rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
tool() { # llvm tool matching rustc's LLVM, else any
  for t in "$1-$llvm_major" "$1"; do
    command -v "$t" >/dev/null 2>&1 && { echo "$t"; return; }
  done
  echo "missing $1 (llvm-$llvm_major)" >&2; exit 1
}
SIZE=$(tool llvm-size)
NM=$(tool llvm-nm)
OUT=${FOOTPRINT_TARGET_DIR:-$PWD/../target/footprint}
T=thumbv7em-none-eabihf

build() { # $1 = target subdir, rest = cargo args
  local dir=$OUT/$1; shift
  RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$dir" \
    /usr/bin/cargo build --release --quiet "$@" >&2
}
section() { # $1 = elf, $2 = section
  "$SIZE" -A "$1" | awk -v s="$2" '$1 == s { print $2 }'
}
probe() { # $1 = elf, $2 = symbol: its size is the size_of it probes
  local hex
  hex=$("$NM" -S "$1" | awk -v s="$2" '$4 == s { print $2 }')
  echo $((16#$hex))
}

# name | cargo args
configs=(
  "rtcp (default features: SACK scoreboard, RACK-TLP, PRR)|-p fw-rtcp"
  "rtcp (default features, 4-record send log: SocketSlot::with_log)|-p fw-rtcp --features small-log"
  "rtcp (--no-default-features)|-p fw-rtcp --no-default-features"
  "rtcp (--no-default-features, 2-record send log)|-p fw-rtcp --no-default-features --features tiny-log"
  "smoltcp 0.14|-p fw-smoltcp"
)
echo "| $T, opt-level s, fat LTO, panic abort | .text | .rodata | TCP socket | table entry | socket set | interface | RAM for one echo connection (sockets + 1 KiB + 1 KiB buffers) |"
echo "|---|---|---|---|---|---|---|---|"
i=0
for c in "${configs[@]}"; do
  name=${c%%|*}; args=${c#*|}
  bin=${args#-p }; bin=${bin%% *}
  # shellcheck disable=SC2086
  build "c$i" $args
  # shellcheck disable=SC2086
  build "c$i-sizes" $args --features sizes
  elf=$OUT/c$i/$T/release/$bin
  probes=$OUT/c$i-sizes/$T/release/$bin
  sock=$(probe "$probes" SIZEOF_TCP_SOCKET)
  slot=$(probe "$probes" SIZEOF_SOCKET_SLOT)
  set=$(probe "$probes" SIZEOF_SOCKET_SET)
  ifc=$(probe "$probes" SIZEOF_INTERFACE)
  if [ "$bin" = fw-rtcp ]; then
    # The listener takes a slot of its own; its buffers could be empty.
    ram="$((2 * slot + set + 2048)) B (2 slots: listener + connection)"
  else
    ram="$((slot + set + 2048)) B (1 socket)"
  fi
  echo "| $name | $(section "$elf" .text) B | $(section "$elf" .rodata) B | $sock B | $slot B | $set B | $ifc B | $ram |"
  i=$((i + 1))
done
