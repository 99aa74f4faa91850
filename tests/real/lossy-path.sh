#!/usr/bin/env bash
# Goodput on a real lossy path: rtcp against the Linux kernel, through the
# same injected loss and delay (issues 7 and 9).
#
#   ns-snd                 ns-brg                                ns-rcv
#   veth-s  <====>  veth-sb [rtcp-host bridge: loss+delay a->b] veth-rb  <====>  veth-r
#   10.78.0.1 (Linux)                                                            10.78.0.2 (Linux)
#   10.78.0.3 (rtcp-host client over AF_PACKET on veth-s; the kernel address is removed first)
#
# The bridge (user space, AF_PACKET on both inner ends) drops LOSS of the
# frames and delays them by DELAY on the data direction (sender -> receiver)
# only; ACKs come back clean. The kernel has no netem, and rtcp's own
# injection sits in the same `Shaper` code, so every run sees one fault
# model. The receiver is always Linux (a Python socket that counts bytes
# from accept to EOF), so goodput is measured the same way for every sender.
#
# Runs: Linux -> Linux with the sender's net.ipv4.tcp_congestion_control set
# to cubic, then bbr; then rtcp-host client -> Linux with --cc newreno,
# cubic, bbr. Prints one table (median of RUNS runs, and the best).
#
# Usage (root): tests/real/lossy-path.sh
# Environment: SIZE (MiB, default 64), RUNS (default 3), LOSS (default 1%),
#   DELAY (default 5ms), BUFFER (rtcp's per-connection buffer, default 4M),
#   RTCP_HOST (binary; default: built with cargo --release), CONFIGS (a subset
#   of "linux-cubic linux-bbr rtcp-newreno rtcp-cubic rtcp-bbr", the default),
#   RTCP_ARGS (more rtcp-host client options, e.g. "--pcap /tmp/rtcp.pcap"),
#   KEEP_LOGS (a directory: each rtcp-host client's output is kept there;
#   with RTCP_HOST_TRACE_MS=50 exported it traces its window and BBR model).
# Everything it creates (three namespaces, two veth pairs, a temp dir) is
# removed on exit; the root namespace is not touched.
set -euo pipefail

SIZE=${SIZE:-64}
RUNS=${RUNS:-3}
LOSS=${LOSS:-1%}
DELAY=${DELAY:-5ms}
BUFFER=${BUFFER:-4M}
CONFIGS=${CONFIGS:-linux-cubic linux-bbr rtcp-newreno rtcp-cubic rtcp-bbr}
RTCP_ARGS=${RTCP_ARGS:-}
PORT=5201
NS_S=ns-snd NS_B=ns-brg NS_R=ns-rcv
IP_S=10.78.0.1 IP_R=10.78.0.2 IP_RTCP=10.78.0.3

# shellcheck source=preflight.sh
source "$(dirname "${BASH_SOURCE[0]}")/preflight.sh"
preflight tests/real/lossy-path.sh "ip ethtool python3" "iproute2 ethtool python3" $NS_S $NS_B $NS_R

TMP=$(mktemp -d /tmp/lossy-path.XXXXXX)
BRIDGE_PID=
cleanup() {
  set +e
  [ -n "$BRIDGE_PID" ] && kill "$BRIDGE_PID" 2>/dev/null && wait "$BRIDGE_PID" 2>/dev/null
  for ns in $NS_S $NS_B $NS_R; do
    # Killing the namespace's processes first lets `netns del` free it.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# --- topology -------------------------------------------------------------
for ns in $NS_S $NS_B $NS_R; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add veth-s netns $NS_S type veth peer name veth-sb netns $NS_B
ip link add veth-r netns $NS_R type veth peer name veth-rb netns $NS_B
for pair in "$NS_S veth-s" "$NS_B veth-sb" "$NS_B veth-rb" "$NS_R veth-r"; do
  set -- $pair
  ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
  # AF_PACKET must see whole, checksummed frames: no segmentation or
  # checksum offload anywhere on the path.
  ip netns exec "$1" ethtool -K "$2" tx off rx off gso off gro off tso off >/dev/null 2>&1 || \
    ip netns exec "$1" ethtool -K "$2" tx off rx off gso off gro off >/dev/null
  ip -n "$1" link set "$2" up
done
ip -n $NS_S addr add $IP_S/24 dev veth-s
ip -n $NS_R addr add $IP_R/24 dev veth-r
# Large socket buffers for the Linux ends (the path's BDP is small, but
# autotuning must not be the limit).
for ns in $NS_S $NS_R; do
  ip netns exec "$ns" sysctl -qw net.ipv4.tcp_rmem="4096 131072 16777216"
  ip netns exec "$ns" sysctl -qw net.ipv4.tcp_wmem="4096 65536 16777216"
done

ip netns exec $NS_B "$RTCP_HOST" bridge --a veth-sb --b veth-rb --loss "$LOSS" --delay "$DELAY" \
  --data-direction a-to-b --seed 1 >"$TMP/bridge.log" 2>&1 &
BRIDGE_PID=$!

BBR=yes
if ! grep -qw bbr /proc/sys/net/ipv4/tcp_available_congestion_control; then
  modprobe tcp_bbr 2>/dev/null || true
  grep -qw bbr /proc/sys/net/ipv4/tcp_available_congestion_control || BBR=no
fi

# --- helpers --------------------------------------------------------------
cat >"$TMP/send.py" <<'EOF'
# Connect with congestion control CC, send N MiB of a fixed pattern, half-close, wait for the peer's close.
import socket, sys
n = int(sys.argv[3]) << 20; chunk = bytes(range(256)) * 4096
c = socket.socket()
# Per socket: a namespace other than the first may only make the
# "allowed" controllers its default (sysctl EPERM), but root may pick any.
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, sys.argv[4].encode())
c.connect((sys.argv[1], int(sys.argv[2])))
got = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).split(b"\0")[0].decode()
if got != sys.argv[4]: sys.exit(f"congestion control is {got}, not {sys.argv[4]}")
while n > 0:
    k = min(n, len(chunk)); c.sendall(chunk[:k]); n -= k
c.shutdown(socket.SHUT_WR); c.recv(1); c.close()
EOF
cat >"$TMP/counters.py" <<'EOF'
# Print the namespace's TCP RetransSegs and TCPTimeouts ("retrans timeouts").
def table(path):
    lines = open(path).read().split("\n"); out = {}
    for h, v in zip(lines[0::2], lines[1::2]):
        if not h: continue
        p = h.split()[0]
        for k, x in zip(h.split()[1:], v.split()[1:]): out[p + k] = int(x)
    return out
a = table("/proc/net/snmp"); b = table("/proc/net/netstat")
print(a.get("Tcp:RetransSegs", 0), b.get("TcpExt:TCPTimeouts", 0))
EOF
head -c $((SIZE << 20)) /dev/urandom >"$TMP/data.bin"

start_receiver() {
  rm -f "$TMP/ready"
  ip netns exec $NS_R python3 "$ROOT/tests/real/count-to-eof.py" $PORT "$TMP/ready" >"$TMP/recv.out" &
  RECV_PID=$!
  for _ in $(seq 100); do [ -e "$TMP/ready" ] && return; sleep 0.05; done
  echo "FAIL: receiver did not start" >&2; exit 1
}
# Prints MB/s (10^6 bytes per second) from the receiver's count.
finish_receiver() {
  wait "$RECV_PID"
  read -r bytes secs <"$TMP/recv.out"
  if [ "$bytes" -ne $((SIZE << 20)) ]; then echo "FAIL: received $bytes of $((SIZE << 20)) bytes" >&2; exit 1; fi
  python3 -c "print(f'{$bytes / $secs / 1e6:.2f}')"
}

run_linux() { # cc -> "MB/s retrans timeouts"
  # The namespace default too, where the kernel lets a namespace set it.
  ip netns exec $NS_S sysctl -qw net.ipv4.tcp_congestion_control="$1" 2>/dev/null || true
  read -r r0 t0 < <(ip netns exec $NS_S python3 "$TMP/counters.py")
  start_receiver
  ip netns exec $NS_S timeout 600 python3 "$TMP/send.py" $IP_R $PORT "$SIZE" "$1"
  local mbs; mbs=$(finish_receiver)
  read -r r1 t1 < <(ip netns exec $NS_S python3 "$TMP/counters.py")
  echo "$mbs $((r1 - r0)) $((t1 - t0))"
}

run_rtcp() { # cc -> "MB/s retrans timeouts"
  start_receiver
  ip netns exec $NS_S timeout 600 "$RTCP_HOST" client --iface veth-s --ip $IP_RTCP/24 --cc "$1" \
    --buffer "$BUFFER" $RTCP_ARGS --connect $IP_R:$PORT --file "$TMP/data.bin" >"$TMP/client.out" 2>&1 \
    || { cat "$TMP/client.out" >&2; echo "FAIL: rtcp-host client --cc $1" >&2; exit 1; }
  if [ -n "${KEEP_LOGS:-}" ]; then
    mkdir -p "$KEEP_LOGS"
    cp "$TMP/client.out" "$KEEP_LOGS/rtcp-$1-$(date +%s%N).log"
  fi
  local mbs; mbs=$(finish_receiver)
  local line; line=$(grep '^stack:' "$TMP/client.out")
  local re='([0-9]+) retransmitted \(([0-9]+) fast retransmits, ([0-9]+) timeouts\)'
  [[ $line =~ $re ]] || { echo "FAIL: no stack line from rtcp-host" >&2; exit 1; }
  echo "$mbs ${BASH_REMATCH[1]} ${BASH_REMATCH[3]}"
}

# Runs a configuration RUNS times; prints "median best retrans timeouts runs"
# (the counters are those of the median run).
repeat() {
  local kind=$1 cc=$2 i
  : >"$TMP/runs"
  for i in $(seq "$RUNS"); do "run_$kind" "$cc" >>"$TMP/runs"; done
  python3 - "$TMP/runs" <<'EOF'
import sys
rows = sorted((float(a), int(b), int(c)) for a, b, c in (l.split() for l in open(sys.argv[1]) if l.strip()))
m = rows[(len(rows) - 1) // 2]
runs = ",".join(f"{float(l.split()[0]):.2f}" for l in open(sys.argv[1]) if l.strip())
print(f"{m[0]:.2f} {rows[-1][0]:.2f} {m[1]} {m[2]} {runs}")
EOF
}

echo "lossy path: $LOSS loss and $DELAY one-way delay on the data direction (user-space bridge in $NS_B), ${SIZE} MiB per run, $RUNS runs each; rtcp buffer $BUFFER"
declare -A MED BEST RTX RTO
for cc in cubic bbr; do
  [[ " $CONFIGS " == *" linux-$cc "* ]] || continue
  if [ $cc = bbr ] && [ $BBR = no ]; then echo "note: tcp_bbr is not available in this kernel; skipping Linux BBR"; continue; fi
  out=$(repeat linux $cc)
  read -r MED[linux-$cc] BEST[linux-$cc] RTX[linux-$cc] RTO[linux-$cc] runs <<<"$out"
  echo "  done: Linux $cc -> Linux: ${MED[linux-$cc]} MB/s (median; runs $runs)"
done
ip -n $NS_S addr flush dev veth-s  # rtcp is the only host on veth-s from here on
for cc in newreno cubic bbr; do
  [[ " $CONFIGS " == *" rtcp-$cc "* ]] || continue
  out=$(repeat rtcp $cc)
  read -r MED[rtcp-$cc] BEST[rtcp-$cc] RTX[rtcp-$cc] RTO[rtcp-$cc] runs <<<"$out"
  echo "  done: rtcp $cc -> Linux: ${MED[rtcp-$cc]} MB/s (median; runs $runs)"
done

kill "$BRIDGE_PID"; wait "$BRIDGE_PID" || true; BRIDGE_PID=
echo
echo "| configuration | goodput MB/s (median of $RUNS) | best | retransmitted segments | timeouts | vs Linux, same family (median) |"
echo "|---|---:|---:|---:|---:|---|"
row() { # key label family
  local ratio="—"
  [ -n "${MED[$1]:-}" ] || return 0  # a configuration not in CONFIGS
  if [ -n "$3" ] && [ -n "${MED[linux-$3]:-}" ]; then
    ratio=$(python3 -c "print(f'{${MED[$1]} / ${MED[linux-$3]}:.2f}x Linux $3')")
  fi
  [ -n "${MED[$1]:-}" ] && echo "| $2 | ${MED[$1]} | ${BEST[$1]} | ${RTX[$1]} | ${RTO[$1]} | $ratio |"
  return 0
}
row linux-cubic "Linux CUBIC -> Linux" ""
row linux-bbr "Linux BBR -> Linux" ""
row rtcp-newreno "rtcp NewReno -> Linux" cubic
row rtcp-cubic "rtcp CUBIC -> Linux" cubic
row rtcp-bbr "rtcp BBR -> Linux" bbr
echo
echo "bridge counters (data direction first):"
grep 'frames in' "$TMP/bridge.log" | sed 's/^/  /'
