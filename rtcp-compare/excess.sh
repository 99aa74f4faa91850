#!/usr/bin/env bash
# Where rtcp's instructions per connection go beyond the connection floor's
# (`src/floor_conn.rs`), part by part: runs both connection-rate rows under
# callgrind with per-instruction output for rtcp and the floor (1300 minus
# 300 connections, as `simprof.sh`), gives each instruction to the innermost
# rtcp-core or rtcp-compare function it was inlined from (addr2line -i;
# small helpers such as sequence-number and time arithmetic go to their
# caller), sorts those functions into parts of the work, and prints one
# markdown table per row. Needs valgrind and binutils' addr2line.
#
#     bash rtcp-compare/excess.sh            # about 2 minutes
#     A=smoltcp bash rtcp-compare/excess.sh  # another stack against the floor
#                                            # (parts then only for the harness)
#     FUNCS=40 bash rtcp-compare/excess.sh   # also the 40 costliest functions
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v valgrind >/dev/null || { echo "needs valgrind" >&2; exit 1; }
command -v addr2line >/dev/null || { echo "needs addr2line (binutils)" >&2; exit 1; }
cargo build --release -q -p rtcp-compare
A=${A:-rtcp}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
cp "${CARGO_TARGET_DIR:-$PWD/target}/release/rtcp-compare" "$OUT/bin"
for stack in "$A" floor; do
  for c in 0 1; do
    for n in 300 1300; do
      valgrind --tool=callgrind --dump-instr=yes --toggle-collect=rtcp_compare::conn_case \
        --callgrind-out-file="$OUT/$stack-c$c-$n" \
        "$OUT/bin" --only conn --case "$c" --mib "$n" --runs 1 --stack "$stack" >/dev/null 2>&1
    done
  done
done

python3 - "$OUT" "$A" <<'PY'
import collections, os, re, subprocess, sys
out, a = sys.argv[1], sys.argv[2]

def costs(path):
    """Ir per (object, instruction address) of one callgrind output."""
    names, cost = {}, collections.Counter()
    ob, addr, skip = None, 0, False
    def name(kind, rest):
        m = re.match(r"\((\d+)\)(?: (.*))?", rest)
        if not m:
            return rest
        if m.group(2) is not None:
            names[(kind, m.group(1))] = m.group(2)
        return names.get((kind, m.group(1)), rest)
    for line in open(path):
        line = line.rstrip("\n")
        if not line or line[0] == "#":
            continue
        if line.startswith("ob="):
            ob = name("ob", line[3:])
        elif line.startswith("cob="):
            name("ob", line[4:])
        elif line.startswith("calls="):
            skip = True  # the next line is a call's inclusive cost
        elif line[0].isdigit() or line[0] in "+-*" or line.startswith("0x"):
            parts = line.split()
            p = parts[0]
            if p[0] in "+-":
                # Relative positions are decimal; only absolute ones are hex.
                addr += int(p)
            elif p != "*":
                addr = int(p, 16)
            if skip:
                skip = False
                continue
            cost[(ob, addr)] += int(parts[2]) if len(parts) > 2 else 0
    return cost

HELPERS = ("wire/seq.rs", "time.rs", "lib.rs", "tcp/mod.rs", "tcp/config.rs", "wire/mod.rs")

def attribute(stack, case):
    x = costs(f"{out}/{stack}-c{case}-300")
    y = costs(f"{out}/{stack}-c{case}-1300")
    diff = {k: y[k] - x[k] for k in set(x) | set(y) if y[k] != x[k]}
    mine = sorted(k[1] for k in diff if k[0] and k[0].endswith("/bin"))
    text = subprocess.run(["addr2line", "-i", "-f", "-C", "-a", "-e", f"{out}/bin"],
                          input="\n".join(hex(v) for v in mine),
                          capture_output=True, text=True).stdout.splitlines()
    chains, cur, i = {}, None, 0
    while i < len(text):
        if re.match(r"^0x[0-9a-f]+$", text[i]):
            cur = int(text[i], 16)
            chains[cur] = []
            i += 1
            continue
        chains[cur].append((text[i], text[i + 1] if i + 1 < len(text) else ""))
        i += 2
    agg = collections.Counter()
    for (ob, addr), v in diff.items():
        if not (ob and ob.endswith("/bin")):
            key = "[lib] " + ob.rsplit("/", 1)[-1]
        else:
            chain = chains.get(addr, [])
            ours = [(f, l) for f, l in chain if re.search(r"/(rtcp-core|rtcp-compare)/src/", l)]
            pick = [c for c in ours
                    if not any(f"/src/{h}:" in c[1] for h in HELPERS) and "Flags::" not in c[0]]
            if pick or ours:
                f, l = (pick or ours)[0]
                m = re.search(r"/(rtcp-core|rtcp-compare)/src/(\S+?):", l)
                key = f"{m.group(1)}/{m.group(2)} :: {re.sub(r'::h[0-9a-f]{16}$', '', f)}"
            else:
                key = "[std] " + (chain[-1][0] if chain else "?")
        agg[key] += v
    return {k: v / 1000 for k, v in agg.items()}

FLOOR = r"floor_conn\.rs :: (<)?rtcp_compare::floor_conn::"
PARTS = [
    ("harness (conn_case, link, clock; not the stack)",
     r"^rtcp-compare/(main|link)\.rs|^\[std\] .*(VecDeque|Drain|Timespec|vec_deque)|^\[lib\]"),
    ("checksums", r"wire/checksum\.rs|segment_sum|\[std\] rtcp_core::wire::checksum"),
    ("ISN (SipHash-2-4 of the 4-tuple)", r"tcp/isn\.rs"),
    ("frame build (Ethernet, IPv4, TCP header and options)",
     FLOOR + r"ConnFloor::emit|\[std\] rtcp_compare::floor_conn::ConnFloor::emit"
     r"|wire/tcp(\.rs|/mod\.rs|/options\.rs) :: .*(emit|nop_nop|::len)|wire/frame\.rs|Ipv4Repr::header|ipv4_route"
     r"|iface/(mod|egress)\.rs :: .*(emit_tcp_segments|tcp_burst|next_ident|next_hop)|arp_cache|wire/mod\.rs"
     r"|floor\.rs :: .*eth_ipv4_header"),
    ("frame parse and checks (Ethernet, IPv4, TCP header and options)",
     FLOOR + r"(parse_options|be16|be32|ConnFloor::parse)|iface/(mod|ingress)\.rs :: .*ingress|wire/(ethernet|ipv4|tcp|arp|icmpv4)(\.rs|/mod\.rs|/options\.rs)"
     r"|floor\.rs :: .*(ipv4_segment|be16|be32)"),
    ("connection table: demux, insert, remove",
     r"socket_set/(index|recycle)\.rs|socket_set/mod\.rs :: .*(slot|dispatch|process|listen_input|check|alloc|free"
     r"|capacity|deref|Owner|in_use|Key|open|enqueue_accept|reset_for)|Endpoint as core"
     r"|" + FLOOR + r"ConnFloor::(lookup|bucket|alloc|release)"),
    ("timers, deadlines, scheduling (rtcp: deadline heap, ready queue, RTO, timer clock)",
     r"socket_set/schedule\.rs|reschedule|table_deadline|flush_pending|tcp/clock\.rs|time\.rs|tcp/config\.rs"
     r"|tcp/rtt\.rs|timer_poll_at|handle_timers|arm_|user_timeout|quiet_after|poll_at|::rto|keep_alive"
     r"|" + FLOOR + r"ConnFloor::list"),
    ("TCP input: state machine, ACK processing",
     r"tcp/(input|ecn|recovery|scoreboard|rack|undo|assembler|predict|socket|mod)\.rs|tcp/recovery/|tcp/socket/|tcp/congestion|wire/seq\.rs"
     r"|" + FLOOR + r"ConnFloor::input"),
    ("TCP output: what to send, buffers", r"tcp/(output|buffer|urgent|ip)\.rs|tcp/output/|" + FLOOR + r"ConnFloor::output"),
    ("interface poll loop", r"iface/(mod|ingress|egress)\.rs|Interface::poll|ConnFloor as rtcp_compare::stacks::Stack>::poll"),
    ("application calls (connect, accept, send, recv, close)",
     r"socket_set/calls\.rs|rtcp-compare/stacks\.rs|" + FLOOR + r"ConnFloor as|Owed as"),
]

def parts(d):
    got = collections.Counter()
    for k, v in d.items():
        got[next((n for n, rx in PARTS if re.search(rx, k)), "other")] += v
    return got

for case, title in ((0, "1 client at a time"), (1, "64 concurrent clients")):
    r, f = parts(attribute(a, case)), parts(attribute("floor", case))
    print(f"\nconnections, {title} (`--only conn --case {case}`), Ir per connection\n")
    print(f"| part | {a} | floor | {a} − floor |")
    print("|---|---:|---:|---:|")
    names = [n for n, _ in PARTS] + ["other"]
    for n in sorted(names, key=lambda n: -(r[n] - f[n])):
        print(f"| {n} | {r[n]:,.0f} | {f[n]:,.0f} | {r[n] - f[n]:+,.0f} |")
    tr, tf = sum(r.values()), sum(f.values())
    print(f"| **total** | {tr:,.0f} | {tf:,.0f} | {tr - tf:+,.0f} |")
    if os.environ.get("FUNCS"):
        # FUNCS=N: also the N costliest functions of the stack, per connection
        d = attribute(a, case)
        print(f"\n| function ({a}) | Ir/conn |")
        print("|---|---:|")
        for k, v in sorted(d.items(), key=lambda kv: -kv[1])[:int(os.environ["FUNCS"])]:
            print(f"| {k} | {v:,.0f} |")
PY
