//! The connection floor: the least work a TCP endpoint can do per
//! connection on the connection-rate rows (setup, 1 byte each way,
//! teardown), to bound what those rows can show (issue 9's "≥ 1.5× smoltcp
//! with one client, ≥ 3× with 64").
//!
//! It is not a usable TCP, but every frame it exchanges is a real one, and
//! it does per connection what any endpoint must do here and nothing else:
//!
//! - builds each frame (Ethernet II, IPv4 without options, TCP) and fills in
//!   the IPv4 header checksum and the TCP checksum over the pseudo-header;
//! - checks each frame it receives: its MAC and IPv4 destination, IPv4
//!   version, header length, fragment fields and header checksum, the TCP
//!   checksum and data offset; walks the TCP options of every segment
//!   (RFC 9293 §3.1: options may come on any segment) and takes the MSS
//!   from a SYN;
//! - finds the connection by its 4-tuple in a fixed table (a seeded
//!   multiplicative hash over chained buckets, as rtcp's `large-table`
//!   index; a free list of slots), or, for a SYN to the listener, makes one;
//! - draws the ISN from rtcp's own `IsnGenerator` (SipHash-2-4 of the
//!   4-tuple with a secret key, plus a 4 µs clock: RFC 6528, RFC 9293
//!   §3.4.1);
//! - keeps only the state the segments need: the state (RFC 9293 §3.3.2),
//!   SND.UNA, SND.NXT, RCV.NXT, the peer's MSS, a few bytes of send and
//!   receive buffer (data is kept until acknowledged), and a pending-ACK mark;
//! - checks that each segment is the next in sequence (SEG.SEQ = RCV.NXT:
//!   the clean link delivers in order) and that its ACK is acceptable
//!   (SND.UNA ≤ SEG.ACK ≤ SND.NXT).
//!
//! The SYN and SYN-ACK carry one option, the MSS (RFC 9293 §3.7.1, SHLD-5:
//! without it the peer must assume 536). Window scaling, SACK-permitted and
//! timestamps are optional (RFC 7323, RFC 2018); rtcp sends all of them.
//! With `RTCP_FLOOR_OPTIONS=rtcp` the floor sends rtcp's exact options instead
//! (MSS, SACK-permitted, timestamps and window scale in the SYN; MSS,
//! SACK-permitted and timestamps in the SYN-ACK; timestamps, echoed, on
//! every other segment, with the per-connection offset from the same
//! hash), so that their cost can be read off separately.
//!
//! An ACK for data or a FIN waits for the next poll, where the application
//! has usually answered and the ACK rides on its data or FIN (a delayed ACK
//! whose timer is one poll); the ACK of a SYN-ACK, and the last ACK, go at
//! once. The frames on the wire are then the same six per connection that
//! rtcp exchanges here (SYN; SYN-ACK; ACK with the request byte; reply byte
//! with FIN; the client's FIN; the last ACK). TIME-WAIT lasts no time, as
//! rtcp's does on these rows (MSL 0).
//!
//! Left out, because this clean link never needs them: timers,
//! retransmission, RST, out-of-order segments, windows (the floor
//! advertises its free buffer but never waits for the peer's), congestion
//! control, ARP (the MACs are known). A frame that fails any check stops the
//! run (panic), so the floor cannot be credited for skipping work. Only
//! `--only conn` runs it (`--stack floor`); the bulk rows have their own
//! floor (`floor.rs`).

use crate::floor::{be16, be32, eth_ipv4_header, ipv4_segment};
use crate::link::{End, Pool, Rng};
use crate::stacks::{ip, mac, NodeCfg, Stack};
use rtcp_core::tcp::isn::IsnGenerator;
use rtcp_core::time::Instant;
use rtcp_core::wire::{checksum, IpProtocol, Ipv4Address};
use std::collections::VecDeque;
use std::rc::Rc;

/// Bytes of send and of receive buffer per connection (the rows move one
/// byte each way).
const CAP: usize = 64;
/// Ethernet, IPv4 and TCP headers without options.
const HEADERS: usize = 14 + 20 + 20;
const NONE: u16 = u16::MAX;

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Free,
    SynSent,
    SynRcvd,
    Established,
    FinWait1,
    FinWait2,
    Closing,
    CloseWait,
    LastAck,
}

/// Whether an ACK is owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owed {
    No,
    /// For data or a FIN that arrived in this poll: goes with whatever the
    /// application sends before the next poll, or alone then.
    Delayed,
    /// Send in this poll.
    Now,
}

#[derive(Debug, Clone, Copy)]
struct Tcb {
    state: St,
    remote_ip: u32,
    remote_port: u16,
    local_port: u16,
    /// Next slot in the same hash bucket.
    chain: u16,
    snd_una: u32,
    snd_nxt: u32,
    rcv_nxt: u32,
    peer_mss: u16,
    /// Bytes queued and not yet acknowledged, from `tx[0]` (SND.UNA).
    tx_len: u8,
    rx_len: u8,
    /// The application closed: FIN after the queued data.
    fin_queued: bool,
    fin_sent: bool,
    owed: Owed,
    /// Whether the slot is on the output list.
    listed: bool,
    /// Timestamps (`RTCP_FLOOR_OPTIONS=rtcp` only): the peer's last TSval
    /// and this connection's clock offset (RFC 7323 §4.3, §5.4).
    ts_recent: u32,
    ts_offset: u32,
    tx: [u8; CAP],
    rx: [u8; CAP],
}

const EMPTY: Tcb = Tcb {
    state: St::Free,
    remote_ip: 0,
    remote_port: 0,
    local_port: 0,
    chain: NONE,
    snd_una: 0,
    snd_nxt: 0,
    rcv_nxt: 0,
    peer_mss: 536,
    tx_len: 0,
    rx_len: 0,
    fin_queued: false,
    fin_sent: false,
    owed: Owed::No,
    listed: false,
    ts_recent: 0,
    ts_offset: 0,
    tx: [0; CAP],
    rx: [0; CAP],
};

/// One node of the connection floor.
#[derive(Debug)]
pub struct ConnFloor {
    end: End,
    me: usize,
    my_ip: [u8; 4],
    mss: u16,
    /// rtcp's options as well as the MSS (`RTCP_FLOOR_OPTIONS=rtcp`).
    rtcp_options: bool,
    isn: IsnGenerator,
    seed: u64,
    tcbs: Vec<Tcb>,
    /// Bucket heads, a power of two at least twice the slots.
    heads: Vec<u16>,
    bucket_shift: u32,
    free: Vec<u16>,
    in_use: usize,
    /// Slots with something to send (or an ACK owed).
    out: Vec<u16>,
    out_next: Vec<u16>,
    listen_port: u16,
    backlog: usize,
    accept_q: VecDeque<u16>,
    next_port: u16,
    now: u64,
}

/// The one's-complement sum (RFC 1071) of a TCP segment and its IPv4
/// pseudo-header (RFC 9293 §3.1), folded, not inverted: the pseudo-header
/// as two 32-bit address words plus protocol and length, the fixed header
/// as five 32-bit words (`checksum::ipv4_header`: the same shape as an
/// IPv4 header), and the few bytes after it (options, one byte of data) as
/// 32-bit words, in straight-line code. The general `checksum::data` has a
/// setup that costs more than these short inputs (rtcp sums them the same
/// way); longer rests still go to it.
fn segment_sum(src: [u8; 4], dst: [u8; 4], seg: &[u8]) -> u16 {
    let (fixed, rest) = seg
        .split_first_chunk::<20>()
        .expect("floor: segment shorter than a TCP header");
    let mut acc = u64::from(u32::from_be_bytes(src))
        + u64::from(u32::from_be_bytes(dst))
        + u64::from(u8::from(IpProtocol::Tcp))
        + seg.len() as u64
        + u64::from(checksum::ipv4_header(fixed));
    if rest.len() > 24 {
        acc += u64::from(checksum::data(rest));
    } else {
        let mut words = rest.chunks_exact(4);
        for w in &mut words {
            acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
        }
        let mut tail = [0u8; 4];
        tail[..words.remainder().len()].copy_from_slice(words.remainder());
        acc += u64::from(u32::from_be_bytes(tail));
    }
    let acc = (acc & 0xffff_ffff) + (acc >> 32);
    let acc = (acc & 0xffff) + (acc >> 16);
    let acc = (acc & 0xffff) + (acc >> 16);
    ((acc & 0xffff) + (acc >> 16)) as u16
}

/// The fields of one checked segment that the floor reads.
#[derive(Debug)]
struct Segment<'f> {
    rip: u32,
    rport: u16,
    lport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    opts: Opts,
    payload: &'f [u8],
}

/// What the options of one segment say (the floor takes only these).
#[derive(Debug, Default, Clone, Copy)]
struct Opts {
    mss: Option<u16>,
    tsval: Option<u32>,
}

/// Walk a segment's options (RFC 9293 §3.2: kind, length, value; End and
/// NOP have no length). A malformed list stops the run.
fn parse_options(mut o: &[u8]) -> Opts {
    let mut r = Opts::default();
    while let Some(&kind) = o.first() {
        match kind {
            0 => break,
            1 => o = &o[1..],
            _ => {
                assert!(o.len() >= 2, "floor: truncated option");
                let len = usize::from(o[1]);
                assert!(len >= 2 && len <= o.len(), "floor: bad option length");
                match (kind, len) {
                    (2, 4) => r.mss = Some(be16(o, 2)),
                    (8, 10) => r.tsval = Some(be32(o, 2)),
                    _ => {}
                }
                o = &o[len..];
            }
        }
    }
    r
}

impl ConnFloor {
    fn bucket(&self, rip: u32, rport: u16, lport: u16) -> usize {
        let k = (u64::from(rip) << 32) | (u64::from(rport) << 16) | u64::from(lport);
        ((k ^ self.seed).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.bucket_shift) as usize
    }

    fn lookup(&self, rip: u32, rport: u16, lport: u16) -> Option<u16> {
        let mut i = self.heads[self.bucket(rip, rport, lport)];
        while i != NONE {
            let t = &self.tcbs[usize::from(i)];
            if t.remote_ip == rip && t.remote_port == rport && t.local_port == lport {
                return Some(i);
            }
            i = t.chain;
        }
        None
    }

    /// A free slot for the 4-tuple, in the index; None when the table is
    /// full.
    fn alloc(&mut self, rip: u32, rport: u16, lport: u16) -> Option<u16> {
        let i = self.free.pop()?;
        let b = self.bucket(rip, rport, lport);
        let t = &mut self.tcbs[usize::from(i)];
        // Field by field: the buffers need no clearing (the lengths say
        // what is in them), and a whole-struct copy is a memcpy.
        t.remote_ip = rip;
        t.remote_port = rport;
        t.local_port = lport;
        t.chain = self.heads[b];
        (t.tx_len, t.rx_len) = (0, 0);
        (t.fin_queued, t.fin_sent) = (false, false);
        (t.owed, t.listed) = (Owed::No, false);
        self.heads[b] = i;
        self.in_use += 1;
        Some(i)
    }

    /// The connection is over (CLOSED, or TIME-WAIT of no length): out of
    /// the index, back on the free list.
    fn release(&mut self, i: u16) {
        let t = &self.tcbs[usize::from(i)];
        let (b, chain) = (
            self.bucket(t.remote_ip, t.remote_port, t.local_port),
            t.chain,
        );
        if self.heads[b] == i {
            self.heads[b] = chain;
        } else {
            let mut p = self.heads[b];
            while self.tcbs[usize::from(p)].chain != i {
                p = self.tcbs[usize::from(p)].chain;
            }
            self.tcbs[usize::from(p)].chain = chain;
        }
        self.tcbs[usize::from(i)].state = St::Free;
        self.free.push(i);
        self.in_use -= 1;
    }

    fn list(&mut self, i: u16) {
        let t = &mut self.tcbs[usize::from(i)];
        if !t.listed {
            t.listed = true;
            self.out.push(i);
        }
    }

    fn isn(&self, now: u64, lport: u16, rip: u32, rport: u16) -> (u32, u32) {
        let (isn, ts) = self.isn.isn_and_ts_offset(
            Instant::from_micros(now),
            (Ipv4Address(self.my_ip), lport),
            (Ipv4Address(rip.to_be_bytes()), rport),
        );
        (isn.0, ts)
    }

    /// Check one frame's Ethernet, IPv4 and TCP headers and checksums, and
    /// read the segment's fields. The clean link carries only the peer's
    /// frames, so one that fails a check is a bug in the floor: it stops
    /// the run rather than let the floor skip work.
    fn parse<'f>(&self, f: &'f [u8]) -> Segment<'f> {
        assert!(
            f.len() >= HEADERS
                && f[..6] == mac(self.me)
                && be16(f, 12) == 0x0800
                && f[14] == 0x45
                && f[23] == 6
                && be16(f, 20) & 0x3fff == 0
                && f[30..34] == self.my_ip,
            "floor: not an unfragmented IPv4 TCP frame for this node"
        );
        let seg = ipv4_segment(f);
        let src = [f[26], f[27], f[28], f[29]];
        assert!(
            seg.len() >= 20 && segment_sum(src, self.my_ip, seg) == 0xffff,
            "floor: bad TCP checksum"
        );
        let off = usize::from(seg[12] >> 4) * 4;
        assert!(off >= 20 && off <= seg.len(), "floor: bad data offset");
        let flags = seg[13];
        assert!(flags & RST == 0, "floor: RST");
        Segment {
            rip: u32::from_be_bytes(src),
            rport: be16(seg, 0),
            lport: be16(seg, 2),
            seq: be32(seg, 4),
            ack: be32(seg, 8),
            flags,
            opts: parse_options(&seg[20..off]),
            payload: &seg[off..],
        }
    }

    /// Take what one frame says (its checks in `parse`).
    fn input(&mut self, f: &[u8]) {
        let Segment {
            rip,
            rport,
            lport,
            seq,
            ack,
            flags,
            opts,
            payload,
        } = self.parse(f);

        let Some(i) = self.lookup(rip, rport, lport) else {
            // A SYN to the listener (RFC 9293 §3.10.7.2): a new connection
            // in SYN-RECEIVED, its SYN-ACK sent in this poll.
            assert!(
                flags & (SYN | ACK | FIN) == SYN
                    && lport == self.listen_port
                    && self.accept_q.len() < self.backlog,
                "floor: segment for no connection"
            );
            let (iss, ts_offset) = self.isn(self.now, lport, rip, rport);
            let i = self.alloc(rip, rport, lport).expect("floor: table full");
            let mss = self.mss;
            let t = &mut self.tcbs[usize::from(i)];
            t.state = St::SynRcvd;
            t.rcv_nxt = seq.wrapping_add(1);
            (t.snd_una, t.snd_nxt) = (iss, iss);
            t.peer_mss = opts.mss.unwrap_or(536).min(mss);
            t.ts_recent = opts.tsval.unwrap_or(0);
            t.ts_offset = ts_offset;
            self.list(i);
            return;
        };
        let rtcp_options = self.rtcp_options;
        let t = &mut self.tcbs[usize::from(i)];
        if rtcp_options {
            t.ts_recent = opts.tsval.expect("floor: no timestamp");
        }
        if t.state == St::SynSent {
            // RFC 9293 §3.10.7.3: the SYN-ACK must acknowledge our SYN.
            assert!(
                flags & (SYN | ACK | FIN) == SYN | ACK && ack == t.snd_nxt,
                "floor: not our SYN-ACK"
            );
            t.snd_una = ack;
            t.rcv_nxt = seq.wrapping_add(1);
            t.peer_mss = opts.mss.unwrap_or(536).min(t.peer_mss);
            t.state = St::Established;
            t.owed = Owed::Now;
            self.list(i);
            return;
        }
        assert!(
            flags & (SYN | ACK) == ACK && seq == t.rcv_nxt,
            "floor: segment out of sequence"
        );
        let acked = ack.wrapping_sub(t.snd_una);
        assert!(
            acked <= t.snd_nxt.wrapping_sub(t.snd_una),
            "floor: ACK of unsent data"
        );
        if acked > 0 {
            t.snd_una = ack;
            let mut data = acked;
            if t.state == St::SynRcvd {
                // The ACK of our SYN: established, ready for accept().
                data -= 1;
                t.state = St::Established;
                self.accept_q.push_back(i);
            }
            let fin_acked = t.fin_sent && ack == t.snd_nxt;
            let data = (data - u32::from(fin_acked)) as usize;
            let n = usize::from(t.tx_len);
            t.tx.copy_within(data..n, 0);
            t.tx_len = (n - data) as u8;
            if fin_acked {
                match t.state {
                    St::FinWait1 => t.state = St::FinWait2,
                    // TIME-WAIT of no length (MSL 0, as rtcp's here), or
                    // the end of LAST-ACK.
                    St::Closing | St::LastAck => {
                        self.release(i);
                        return;
                    }
                    _ => {}
                }
            }
        }
        if !payload.is_empty() {
            let at = usize::from(t.rx_len);
            assert!(payload.len() <= CAP - at, "floor: data beyond the window");
            t.rx[at..at + payload.len()].copy_from_slice(payload);
            t.rx_len += payload.len() as u8;
            t.rcv_nxt = t.rcv_nxt.wrapping_add(payload.len() as u32);
            if t.owed == Owed::No {
                t.owed = Owed::Delayed;
            }
        }
        if flags & FIN != 0 {
            t.rcv_nxt = t.rcv_nxt.wrapping_add(1);
            match t.state {
                St::Established => t.state = St::CloseWait,
                St::FinWait1 => t.state = St::Closing,
                St::FinWait2 => {
                    // TIME-WAIT: its ACK at once, then (MSL 0) gone.
                    self.emit(i, ACK, 0);
                    self.release(i);
                    return;
                }
                _ => {}
            }
            if t.owed == Owed::No {
                t.owed = Owed::Delayed;
            }
        }
        if t.owed != Owed::No {
            self.list(i);
        }
    }

    /// Send what slot `i` has: a SYN or SYN-ACK, its unsent data, its FIN,
    /// or the ACK it owes. An ACK delayed in this poll waits for the next.
    fn output(&mut self, i: u16) {
        let t = &mut self.tcbs[usize::from(i)];
        t.listed = false;
        match t.state {
            St::Free => {}
            St::SynSent | St::SynRcvd => {
                if t.snd_nxt == t.snd_una {
                    let flags = if t.state == St::SynSent {
                        SYN
                    } else {
                        SYN | ACK
                    };
                    self.emit(i, flags, 0);
                }
            }
            _ => {
                // A sent FIN holds the last sequence number until it is
                // acknowledged; once it is (FIN-WAIT-2, TIME-WAIT) nothing is
                // in flight, so the subtraction must stop at zero.
                let in_flight = t
                    .snd_nxt
                    .wrapping_sub(t.snd_una)
                    .saturating_sub(u32::from(t.fin_sent));
                let unsent = usize::from(t.tx_len) - in_flight as usize;
                let can_send = matches!(t.state, St::Established | St::CloseWait);
                let fin = can_send && t.fin_queued && !t.fin_sent;
                if can_send && (unsent > 0 || fin) || t.owed == Owed::Now {
                    let n = if can_send {
                        unsent.min(usize::from(t.peer_mss))
                    } else {
                        0
                    };
                    let fin = fin && n == unsent;
                    let mut flags = ACK;
                    if n > 0 {
                        flags |= PSH;
                    }
                    if fin {
                        flags |= FIN;
                        t.fin_sent = true;
                        t.state = if t.state == St::Established {
                            St::FinWait1
                        } else {
                            St::LastAck
                        };
                    }
                    self.emit(i, flags, n);
                } else if t.owed == Owed::Delayed {
                    t.owed = Owed::Now;
                    t.listed = true;
                    self.out_next.push(i);
                }
            }
        }
    }

    /// Queue one segment of slot `i` at SND.NXT with `n` bytes of its
    /// unsent data, and advance SND.NXT.
    fn emit(&mut self, i: u16, flags: u8, n: usize) {
        let now = self.now;
        let (src_mac, dst_mac) = (mac(self.me), mac(1 - self.me));
        let src = self.my_ip;
        let mss = self.mss;
        let rtcp_options = self.rtcp_options;
        let t = &mut self.tcbs[usize::from(i)];
        let dst = t.remote_ip.to_be_bytes();
        let seq = t.snd_nxt;
        let ack = if flags & ACK != 0 { t.rcv_nxt } else { 0 };
        let window = (CAP - usize::from(t.rx_len)) as u16;
        let unsent_at = t.snd_nxt.wrapping_sub(t.snd_una) as usize;
        let (lport, rport) = (t.local_port, t.remote_port);
        // Options: the MSS on a SYN; with rtcp's set, also SACK-permitted
        // and timestamps (and window scale on a SYN), and timestamps on
        // every other segment.
        let mut opts = [0u8; 20];
        let [m0, m1] = mss.to_be_bytes();
        let (tsval, tsecr) = if rtcp_options {
            // A millisecond clock with the connection's offset.
            (((now / 1000) as u32).wrapping_add(t.ts_offset), t.ts_recent)
        } else {
            (0, 0)
        };
        let [v0, v1, v2, v3] = tsval.to_be_bytes();
        let [e0, e1, e2, e3] = tsecr.to_be_bytes();
        let olen = match (flags & SYN != 0, rtcp_options) {
            (true, false) => {
                opts[..4].copy_from_slice(&[2, 4, m0, m1]);
                4
            }
            (true, true) => {
                let e = if flags & ACK != 0 {
                    [e0, e1, e2, e3]
                } else {
                    [0; 4]
                };
                opts.copy_from_slice(&[
                    2, 4, m0, m1, 4, 2, 8, 10, v0, v1, v2, v3, e[0], e[1], e[2], e[3], 1, 3, 3, 0,
                ]);
                // The SYN-ACK leaves out the window scale (shift 0), as
                // rtcp's does here.
                if flags & ACK != 0 {
                    16
                } else {
                    20
                }
            }
            (false, true) => {
                opts[..12].copy_from_slice(&[1, 1, 8, 10, v0, v1, v2, v3, e0, e1, e2, e3]);
                12
            }
            (false, false) => 0,
        };
        let tcp_len = 20 + olen + n;
        let len = 34 + tcp_len;
        let data = &t.tx[unsent_at..unsent_at + n];
        let advance = n as u32 + u32::from(flags & (SYN | FIN) != 0);
        self.end.emit(len, |buf| {
            eth_ipv4_header(buf, (src_mac, dst_mac), (src, dst), (20 + tcp_len) as u16);
            buf[34..36].copy_from_slice(&lport.to_be_bytes());
            buf[36..38].copy_from_slice(&rport.to_be_bytes());
            buf[38..42].copy_from_slice(&seq.to_be_bytes());
            buf[42..46].copy_from_slice(&ack.to_be_bytes());
            let [w0, w1] = window.to_be_bytes();
            buf[46..54].copy_from_slice(&[((20 + olen) as u8 / 4) << 4, flags, w0, w1, 0, 0, 0, 0]);
            buf[54..54 + olen].copy_from_slice(&opts[..olen]);
            buf[54 + olen..len].copy_from_slice(data);
            let sum = !segment_sum(src, dst, &buf[34..len]);
            buf[50..52].copy_from_slice(&sum.to_be_bytes());
        });
        t.snd_nxt = t.snd_nxt.wrapping_add(advance);
        t.owed = Owed::No;
    }
}

impl Stack for ConnFloor {
    type Conn = u16;
    const NAME: &'static str = "floor";

    fn new(idx: usize, cfg: &NodeCfg, pool: Rc<Pool>, now: u64) -> ConnFloor {
        let mut secret = [0u8; 16];
        Rng::new(idx as u64 + 77).fill(&mut secret);
        let isn = IsnGenerator::new(secret);
        let seed = isn.hash(b"floor table seed");
        let buckets = (2 * cfg.sockets).next_power_of_two().max(2);
        ConnFloor {
            end: End::new(pool, cfg.mtu),
            me: idx,
            my_ip: ip(idx),
            mss: (cfg.mtu - 40) as u16,
            rtcp_options: std::env::var("RTCP_FLOOR_OPTIONS").is_ok_and(|v| v == "rtcp"),
            isn,
            seed,
            tcbs: vec![EMPTY; cfg.sockets],
            heads: vec![NONE; buckets],
            bucket_shift: 64 - buckets.trailing_zeros(),
            free: (0..cfg.sockets as u16).rev().collect(),
            in_use: 0,
            out: Vec::with_capacity(cfg.sockets),
            out_next: Vec::with_capacity(cfg.sockets),
            listen_port: 0,
            backlog: 0,
            accept_q: VecDeque::with_capacity(cfg.sockets),
            next_port: 49152 + idx as u16 * 7,
            now,
        }
    }

    fn end(&mut self) -> &mut End {
        &mut self.end
    }

    fn poll(&mut self, now: u64) {
        self.now = now;
        while let Some(frame) = self.end.rx.pop_front() {
            self.input(frame.bytes());
            self.end.recycle(frame);
        }
        let mut out = std::mem::take(&mut self.out);
        for &i in &out {
            self.output(i);
        }
        out.clear();
        // What waits for the next poll (delayed ACKs) is the next list.
        self.out = std::mem::replace(&mut self.out_next, out);
    }

    fn poll_at(&mut self, _now: u64) -> Option<u64> {
        None
    }

    fn listen(&mut self, port: u16, n: usize) {
        self.listen_port = port;
        self.backlog = n;
    }

    fn accept(&mut self) -> Option<u16> {
        self.accept_q.pop_front()
    }

    fn connect(&mut self, now: u64, peer: usize, port: u16) -> Option<u16> {
        if self.free.is_empty() {
            return None;
        }
        let rip = u32::from_be_bytes(ip(peer));
        // An ephemeral port whose 4-tuple is not in use (RFC 6056 leaves
        // the choice open; sequential, as smoltcp's harness picks them).
        let lport = loop {
            self.next_port = if self.next_port >= 65000 {
                49152
            } else {
                self.next_port + 1
            };
            if self.lookup(rip, port, self.next_port).is_none() {
                break self.next_port;
            }
        };
        let (iss, ts_offset) = self.isn(now, lport, rip, port);
        let i = self.alloc(rip, port, lport)?;
        let mss = self.mss;
        let t = &mut self.tcbs[usize::from(i)];
        t.state = St::SynSent;
        (t.snd_una, t.snd_nxt) = (iss, iss);
        t.peer_mss = mss;
        t.ts_offset = ts_offset;
        self.list(i);
        Some(i)
    }

    fn send_with<F: FnOnce(&mut [u8]) -> usize>(&mut self, c: u16, f: F) -> usize {
        let t = &mut self.tcbs[usize::from(c)];
        if t.fin_queued
            || !matches!(
                t.state,
                St::SynSent | St::SynRcvd | St::Established | St::CloseWait
            )
        {
            return 0;
        }
        let at = usize::from(t.tx_len);
        let n = f(&mut t.tx[at..]);
        t.tx_len += n as u8;
        if n > 0 {
            self.list(c);
        }
        n
    }

    fn recv_with<F: FnOnce(&[u8]) -> usize>(&mut self, c: u16, f: F) -> usize {
        let t = &mut self.tcbs[usize::from(c)];
        let len = usize::from(t.rx_len);
        if len == 0 {
            return 0;
        }
        let n = f(&t.rx[..len]);
        t.rx.copy_within(n..len, 0);
        t.rx_len = (len - n) as u8;
        n
    }

    fn close(&mut self, c: u16) {
        self.tcbs[usize::from(c)].fin_queued = true;
        self.list(c);
    }

    fn close_client(&mut self, c: u16) {
        self.close(c);
    }

    fn established(&self, c: u16) -> bool {
        self.tcbs[usize::from(c)].state == St::Established
    }

    fn server_done(&mut self, _c: u16) -> bool {
        // `close` handed the connection to the floor, as rtcp's does.
        true
    }

    fn in_use(&self) -> usize {
        self.in_use
    }

    fn own_timeouts(&self) -> Option<u64> {
        None
    }
}
