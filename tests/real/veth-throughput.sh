#!/usr/bin/env bash
# Bulk goodput over a plain veth pair: rtcp-host against the Linux kernel,
# in both directions, beside Linux-to-Linux on the same pair (issue 9,
# "Over real interfaces"). No loss, no delay.
#
#   ns vth-rtcp                               ns vth-linux
#   veth-r0  <==========================>     veth-l0 10.81.0.1 (Linux)
#   10.81.0.2 (Linux; only for the Linux-to-Linux rows)
#   10.81.0.3 (rtcp-host over AF_PACKET on veth-r0; the kernel address is
#              removed before rtcp runs)
#
# Rows, each for every offload setting in OFFLOADS:
#   linux-out   Linux (vth-rtcp) -> Linux (vth-linux)   the reference for rtcp-out
#   rtcp-out    rtcp-host client -> Linux (vth-linux)
#   linux-in    Linux (vth-linux) -> Linux (vth-rtcp)   the reference for rtcp-in
#   rtcp-in     Linux (vth-linux) -> rtcp-host server
#
# Offload settings (ethtool -K on each end, printed as measured):
#   off    tso, gso, gro, tx and rx checksum offload off on both ends.
#   on     all of them on on both ends (veth's default has GRO off; it is
#          turned on here). veth hands the peer's skbs over as they are, so
#          on veth-r0 AF_PACKET reads the Linux peer's frames with the TCP
#          checksum only partly computed (tx checksum offload on veth-l0)
#          and, with TSO on veth-l0 or GRO on veth-r0, as super-frames of up
#          to 64 KiB. rtcp-host reads them with a virtio_net_hdr
#          (PACKET_VNET_HDR), completes the partial checksums and takes the
#          large segments whole (rtcp-host/src/backend/vnet.rs). PROBE=1
#          adds a short run of each rtcp row first (4 MiB, 10 s limit), to
#          show quickly whether it connects at all.
#   mixed  everything on, except tx checksum offload on veth-l0 (which
#          takes TSO there with it; GSO stays on, so the kernel segments
#          and checksums in software before veth) and GRO on veth-r0: what
#          rtcp-host needed before it read the virtio_net_hdr. The
#          Linux-to-Linux rows run with exactly these settings too.
#
# Goodput is measured at the receiver, the same way for both: bytes over the
# time from accept() returning to EOF. The Linux receiver is a Python socket
# that only counts; rtcp-host server writes to /dev/null but also hashes the
# stream (SHA-256) on its user thread. The Linux sender is Python sending a
# fixed pattern; rtcp-host client sends a file from the page cache (and
# hashes it). MB/s = 10^6 bytes per second. Each row also gives the CPU time
# (user+sys of the whole process, from /usr/bin/time, per GiB moved) of the
# sender and of the receiver in its median run (process start included:
# about 0.15 s for Python, 0.6 s/GiB at SIZE=256). On a veth pair the two sides
# share work: a transmit runs the peer's receive path in softirq inside the
# sending syscall, charged to the sender (so rtcp-host's sendto per frame
# pays for Linux's receive, and its ACKs for Linux's next transmit), or to
# whichever task a tick finds, or to ksoftirqd (charged to neither).
#
# Usage (root): tests/real/veth-throughput.sh
# Environment: SIZE (MiB per run, default 256), RUNS (default 3), CC
#   (congestion control of every sender, Linux and rtcp alike; default cubic),
#   BUFFER (rtcp's per-connection buffer, default 256K, rtcp-host's own),
#   OFFLOADS (a subset of "off mixed on", the default), ROWS (a subset of
#   "linux-out rtcp-out linux-in rtcp-in", the default), PROBE (1: also a
#   short try of the rtcp rows with all offloads on, 4 MiB, 10 s limit),
#   RTCP_HOST (binary; default: built with cargo --release), VERBOSE (1:
#   print rtcp-host's closing "stack:" line of every run: retransmissions,
#   frames per system call, offloaded frames handled).
# Everything it creates (two namespaces, one veth pair, a temp dir) is
# removed on exit; the root namespace is not touched.
set -euo pipefail

SIZE=${SIZE:-256}
RUNS=${RUNS:-3}
CC=${CC:-cubic}
BUFFER=${BUFFER:-256K}
OFFLOADS=${OFFLOADS:-off mixed on}
ROWS=${ROWS:-linux-out rtcp-out linux-in rtcp-in}
PROBE=${PROBE:-0}
VERBOSE=${VERBOSE:-0}
PORT=5301
NS_R=vth-rtcp NS_L=vth-linux
DEV_R=veth-r0 DEV_L=veth-l0
IP_L=10.81.0.1 IP_K=10.81.0.2 IP_RTCP=10.81.0.3

# shellcheck source=preflight.sh
source "$(dirname "${BASH_SOURCE[0]}")/preflight.sh"
preflight tests/real/veth-throughput.sh "ip ethtool python3 /usr/bin/time" "iproute2 ethtool python3 time" $NS_R $NS_L

TMP=$(mktemp -d /tmp/veth-throughput.XXXXXX)
cleanup() {
  set +e
  for ns in $NS_R $NS_L; do
    # Killing the namespace's processes first lets `netns del` free it.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# --- topology -------------------------------------------------------------
for ns in $NS_R $NS_L; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add $DEV_R netns $NS_R type veth peer name $DEV_L netns $NS_L
ip netns exec $NS_R sysctl -qw "net.ipv6.conf.$DEV_R.disable_ipv6=1"
ip netns exec $NS_L sysctl -qw "net.ipv6.conf.$DEV_L.disable_ipv6=1"
ip -n $NS_R link set $DEV_R up
ip -n $NS_L link set $DEV_L up
ip -n $NS_L addr add $IP_L/24 dev $DEV_L
# Large socket buffers for the Linux ends, as in lossy-path.sh.
for ns in $NS_R $NS_L; do
  ip netns exec "$ns" sysctl -qw net.ipv4.tcp_rmem="4096 131072 16777216"
  ip netns exec "$ns" sysctl -qw net.ipv4.tcp_wmem="4096 65536 16777216"
done
if ! grep -qw "$CC" /proc/sys/net/ipv4/tcp_available_congestion_control; then
  modprobe "tcp_$CC" 2>/dev/null || true
  grep -qw "$CC" /proc/sys/net/ipv4/tcp_available_congestion_control || {
    echo "FAIL: the kernel has no $CC congestion control" >&2; exit 1; }
fi

# --- helpers --------------------------------------------------------------
cat >"$TMP/send.py" <<'EOF'
# Connect with congestion control CC, send N MiB of a fixed pattern, half-close, wait for the peer's close.
import socket, sys
n = int(sys.argv[3]) << 20; chunk = bytes(range(256)) * 4096
c = socket.socket()
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, sys.argv[4].encode())
c.settimeout(float(sys.argv[5]))
c.connect((sys.argv[1], int(sys.argv[2])))
while n > 0:
    k = min(n, len(chunk)); c.sendall(chunk[:k]); n -= k
c.shutdown(socket.SHUT_WR); c.recv(1); c.close()
EOF
head -c $((SIZE << 20)) /dev/urandom >"$TMP/data.bin"

set_offloads() { # off | on | mixed
  local ns dev
  for pair in "$NS_R $DEV_R" "$NS_L $DEV_L"; do
    read -r ns dev <<<"$pair"
    case $1 in
      off) ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off rx off >/dev/null ;;
      on | mixed) ip netns exec "$ns" ethtool -K "$dev" tx on rx on tso on gso on gro on >/dev/null ;;
    esac
  done
  if [ "$1" = mixed ]; then
    # The Linux peer checksums in software (and so segments in software:
    # TSO needs tx checksum offload); rtcp's end does not coalesce.
    ip netns exec $NS_L ethtool -K $DEV_L tx off >/dev/null
    ip netns exec $NS_R ethtool -K $DEV_R gro off >/dev/null
  fi
}
describe_offloads() { # one line per device, as the kernel has them now
  local ns dev
  for pair in "$NS_R $DEV_R" "$NS_L $DEV_L"; do
    read -r ns dev <<<"$pair"
    echo "    $dev: $(ip netns exec "$ns" ethtool -k "$dev" | awk '
      { sub(/^[ \t]+/, ""); sub(/ \[.*/, "") }
      /^(tx-checksum-ip-generic|tx-tcp-segmentation|generic-segmentation-offload|generic-receive-offload|rx-checksumming):/ {
        printf "%s %s, ", $1, $2 }' | sed 's/:,/,/g; s/: / /g; s/, $//')"
  done
}
kernel_addr() { # add | del: the Linux address on rtcp's end (Linux-to-Linux rows only)
  if [ "$1" = add ]; then
    ip -n $NS_R addr add $IP_K/24 dev $DEV_R
  else
    ip -n $NS_R addr flush dev $DEV_R
  fi
  ip -n $NS_L neigh flush dev $DEV_L
}

kill_all() { # every process in namespace $1
  local pid
  for pid in $(ip netns pids "$1" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
}

# Starts a Python receiver in namespace $1; waits until it listens.
start_py_receiver() {
  rm -f "$TMP/ready"
  ip netns exec "$1" /usr/bin/time -f "%U %S" -o "$TMP/recv.cpu" \
    python3 "$ROOT/tests/real/count-to-eof.py" $PORT "$TMP/ready" >"$TMP/recv.out" &
  RECV_PID=$!
  for _ in $(seq 100); do [ -e "$TMP/ready" ] && return; sleep 0.05; done
  echo "FAIL: receiver did not start" >&2; exit 1
}
# Waits for the Python receiver; prints "MB/s" after checking the count.
finish_py_receiver() {
  wait "$RECV_PID"
  local bytes secs
  read -r bytes secs <"$TMP/recv.out"
  if [ "$bytes" -ne $((SIZE << 20)) ]; then echo "FAIL: received $bytes of $((SIZE << 20)) bytes" >&2; exit 1; fi
  python3 -c "print(f'{$bytes / $secs / 1e6:.2f}')"
}
cpu() { # /usr/bin/time output file -> user+sys seconds per GiB moved
  python3 -c "import sys; u, s = open(sys.argv[1]).read().split()[-2:]; print(f'{(float(u) + float(s)) * 1024 / $SIZE:.2f}')" "$1"
}
py_send() { # namespace address timeout
  ip netns exec "$1" /usr/bin/time -f "%U %S" -o "$TMP/send.cpu" \
    timeout "$3" python3 "$TMP/send.py" "$2" $PORT "$SIZE" "$CC" "$3"
}

# Each run_* prints "MB/s sender-cpu receiver-cpu".
run_linux-out() {
  start_py_receiver $NS_L
  py_send $NS_R $IP_L 600
  echo "$(finish_py_receiver) $(cpu "$TMP/send.cpu") $(cpu "$TMP/recv.cpu")"
}
run_linux-in() {
  start_py_receiver $NS_R
  py_send $NS_L $IP_K 600
  echo "$(finish_py_receiver) $(cpu "$TMP/send.cpu") $(cpu "$TMP/recv.cpu")"
}
run_rtcp-out() {
  start_py_receiver $NS_L
  ip netns exec $NS_R /usr/bin/time -f "%U %S" -o "$TMP/send.cpu" \
    timeout 600 "$RTCP_HOST" client --iface $DEV_R --ip $IP_RTCP/24 --cc "$CC" \
    --buffer "$BUFFER" --connect $IP_L:$PORT --file "$TMP/data.bin" >"$TMP/client.out" 2>&1 \
    || { cat "$TMP/client.out" >&2; echo "FAIL: rtcp-host client" >&2; exit 1; }
  [ "$VERBOSE" = 1 ] && sed -n 's/^/    rtcp-host client: /; /: stack: /p' "$TMP/client.out" >&2
  echo "$(finish_py_receiver) $(cpu "$TMP/send.cpu") $(cpu "$TMP/recv.cpu")"
}
run_rtcp-in() {
  : >"$TMP/server.out"
  ip netns exec $NS_R /usr/bin/time -f "%U %S" -o "$TMP/recv.cpu" \
    timeout 600 "$RTCP_HOST" server --iface $DEV_R --ip $IP_RTCP/24 --cc "$CC" \
    --buffer "$BUFFER" --port $PORT --out /dev/null --count 1 >"$TMP/server.out" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do grep -q '^rtcp-host server: listening' "$TMP/server.out" && break; sleep 0.05; done
  py_send $NS_L $IP_RTCP 600
  wait "$pid" || { cat "$TMP/server.out" >&2; echo "FAIL: rtcp-host server" >&2; exit 1; }
  [ "$VERBOSE" = 1 ] && sed -n 's/^/    rtcp-host server: /; /: stack: /p' "$TMP/server.out" >&2
  # "conn 1 from A:P: BYTES bytes (...) in S s: R Mbit/s; ...", timed from
  # accept() returning to EOF, as count-to-eof.py does. R has more digits than S.
  local line re='^conn 1 from [^ ]+ ([0-9]+) bytes \(.*\) in [0-9.]+ s: ([0-9.]+) Mbit/s;'
  line=$(grep '^conn 1 ' "$TMP/server.out") || { cat "$TMP/server.out" >&2; echo "FAIL: no connection line from rtcp-host server" >&2; exit 1; }
  [[ $line =~ $re ]] || { echo "FAIL: cannot read: $line" >&2; exit 1; }
  if [ "${BASH_REMATCH[1]}" -ne $((SIZE << 20)) ]; then echo "FAIL: rtcp received ${BASH_REMATCH[1]} of $((SIZE << 20)) bytes" >&2; exit 1; fi
  echo "$(python3 -c "print(f'{${BASH_REMATCH[2]} / 8:.2f}')") $(cpu "$TMP/send.cpu") $(cpu "$TMP/recv.cpu")"
}

# A short try of the rtcp rows with every offload on: prints what happened.
probe_rtcp() {
  local data="$TMP/probe.bin" out
  head -c $((4 << 20)) "$TMP/data.bin" >"$data"
  # rtcp sends: its SYN leaves fine; the SYN-ACK arrives with a partial checksum.
  start_py_receiver $NS_L
  if ip netns exec $NS_R timeout 15 "$RTCP_HOST" client --iface $DEV_R --ip $IP_RTCP/24 \
      --timeout 10s --connect $IP_L:$PORT --file "$data" >"$TMP/client.out" 2>&1; then
    out="completed"
  else
    out="failed: $(grep -m1 'error' "$TMP/client.out" || tail -1 "$TMP/client.out")"
  fi
  kill_all $NS_L; wait "$RECV_PID" 2>/dev/null || true
  echo "  probe, all offloads on: rtcp-host client -> Linux (4 MiB, 10 s): $out"
  # Linux sends: rtcp drops the SYN (and, with GRO on its end, coalesced data).
  ip netns exec $NS_R timeout 12 "$RTCP_HOST" server --iface $DEV_R --ip $IP_RTCP/24 \
    --port $PORT --out /dev/null --count 1 >"$TMP/server.out" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do grep -q '^rtcp-host server: listening' "$TMP/server.out" && break; sleep 0.05; done
  if ip netns exec $NS_L timeout 10 python3 "$TMP/send.py" $IP_RTCP $PORT 4 "$CC" 10 2>/dev/null; then
    out="completed"
  else
    out="not completed in 10 s"
  fi
  wait "$pid" 2>/dev/null || true
  local conn
  conn=$(grep -m1 '^conn 1' "$TMP/server.out" | sed 's/;.*//' || true)
  echo "  probe, all offloads on: Linux -> rtcp-host server (4 MiB, 10 s): $out; rtcp-host server: ${conn:-accepted no connection}"
}

# Runs a row RUNS times; prints "median best send-cpu recv-cpu runs"
# (the CPU figures are those of the median run).
repeat() {
  local _
  : >"$TMP/runs"
  for _ in $(seq "$RUNS"); do "run_$1" >>"$TMP/runs"; done
  python3 - "$TMP/runs" <<'EOF'
import sys
lines = [l.split() for l in open(sys.argv[1]) if l.strip()]
rows = sorted((float(a), b, c) for a, b, c in lines)
m = rows[(len(rows) - 1) // 2]
print(f"{m[0]:.2f} {rows[-1][0]:.2f} {m[1]} {m[2]} " + ",".join(f"{float(l[0]):.2f}" for l in lines))
EOF
}

echo "veth pair, no loss or delay: ${SIZE} MiB per run, $RUNS runs each, congestion control $CC everywhere, rtcp buffer $BUFFER"
echo "load average at start: $(cat /proc/loadavg) ($(nproc) CPUs)"
declare -A MED BEST SCPU RCPU
for off in $OFFLOADS; do
  set_offloads "$off"
  echo "offloads $off:"
  describe_offloads
  kernel_addr add
  for row in linux-out linux-in; do
    [[ " $ROWS " == *" $row "* ]] || continue
    read -r "MED[$off $row]" "BEST[$off $row]" "SCPU[$off $row]" "RCPU[$off $row]" runs <<<"$(repeat $row)"
    echo "  done: $row: ${MED[$off $row]} MB/s (median; runs $runs)"
  done
  kernel_addr del  # rtcp is the only host on veth-r0 from here on
  if [ "$off" = on ] && [ "$PROBE" = 1 ]; then probe_rtcp; fi
  for row in rtcp-out rtcp-in; do
    [[ " $ROWS " == *" $row "* ]] || continue
    read -r "MED[$off $row]" "BEST[$off $row]" "SCPU[$off $row]" "RCPU[$off $row]" runs <<<"$(repeat $row)"
    echo "  done: $row: ${MED[$off $row]} MB/s (median; runs $runs)"
  done
done

echo "load average at the end: $(cat /proc/loadavg)"
echo
echo "| direction | offloads | goodput MB/s (median of $RUNS) | best | sender CPU s/GiB | receiver CPU s/GiB | vs Linux-to-Linux, same offloads |"
echo "|---|---|---:|---:|---:|---:|---|"
row() { # key label reference-key
  local ratio="—"
  [ -n "${MED[$1]:-}" ] || return 0
  if [ -n "$3" ] && [ -n "${MED[$3]:-}" ]; then
    ratio=$(python3 -c "print(f'{${MED[$1]} / ${MED[$3]}:.2f}x')")
  fi
  echo "| $2 | ${1%% *} | ${MED[$1]} | ${BEST[$1]} | ${SCPU[$1]} | ${RCPU[$1]} | $ratio |"
}
for off in $OFFLOADS; do
  row "$off linux-out" "Linux -> Linux" ""
  row "$off rtcp-out" "rtcp-host client -> Linux" "$off linux-out"
done
for off in $OFFLOADS; do
  row "$off linux-in" "Linux -> Linux (other way)" ""
  row "$off rtcp-in" "Linux -> rtcp-host server" "$off linux-in"
done
