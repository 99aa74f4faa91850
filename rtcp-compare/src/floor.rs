//! The floor: the least work a TCP stack can do per byte on this link, to
//! bound what the bulk rows can show (issue 9's "≥ 2× smoltcp").
//!
//! It is not a TCP. It moves one stream in one direction with the work
//! no stack can skip when checksums are computed in software, and nothing
//! else: the sender copies each segment from its send buffer into a frame
//! behind a fixed Ethernet, IPv4 and TCP header (no options) and sums it;
//! the receiver checks the IPv4 header's and the segment's checksums, copies
//! the payload into its receive buffer, and answers with one cumulative ACK
//! per poll (and a window update when reading opens at least two segments).
//! There is no handshake, no timer, no retransmission (the clean link
//! loses nothing), no congestion window and no option; window scaling is
//! agreed out of band. The harness around it (the application's copy of
//! the pattern, the sampled check of what arrives, the link) is the one
//! both stacks run on, so `floor / smoltcp` is the largest ratio any stack
//! could reach on the bulk rows, and `rtcp / floor` how far rtcp is from
//! it. Only `--only bulk` runs it.
//!
//! `Floor<true>` (`--stack floor-zc`) also drops the receiver's copy: it
//! keeps each accepted frame and lets the application read the payload in
//! place, as a stack whose device lends it the frame's buffer for good
//! would (lwIP's pbuf chains). That bounds what changing rtcp's `Device`
//! contract to zero-copy receive could buy.

use crate::link::{End, Frame, Pool};
use crate::stacks::{ip, mac, NodeCfg, Stack};
use rtcp_core::wire::checksum;
use rtcp_core::wire::{IpProtocol, Ipv4Address};
use std::collections::VecDeque;
use std::rc::Rc;

/// Window scale both ends assume (RFC 7323 §2.3, without the option).
const WINDOW_SHIFT: u32 = 4;
/// Ethernet, IPv4 and TCP headers, no options.
const HEADERS: usize = 14 + 20 + 20;
const PORT_A: u16 = 40_000;
const PORT_B: u16 = 80;

/// One end of the floor's single connection; `ZERO_COPY` keeps received
/// frames instead of copying their payload into a receive buffer.
#[derive(Debug)]
pub struct Floor<const ZERO_COPY: bool = false> {
    end: End,
    me: usize,
    mss: usize,
    /// Send buffer: `tx_len` bytes from `tx_head`, of which `in_flight`
    /// are sent and not acknowledged.
    tx: Vec<u8>,
    tx_head: usize,
    tx_len: usize,
    in_flight: usize,
    snd_una: u32,
    /// The peer's window (bytes) from its last ACK.
    snd_wnd: usize,
    /// Receive buffer: `rx_len` bytes from `rx_head` (`ZERO_COPY`: the
    /// buffer is empty and the bytes are in `held`; `rx_cap` is the window).
    rx: Vec<u8>,
    rx_head: usize,
    rx_len: usize,
    rx_cap: usize,
    /// `ZERO_COPY`: accepted frames and the unread part of each payload.
    held: VecDeque<(Frame, usize, usize)>,
    rcv_nxt: u32,
    /// What our last ACK said: acknowledged up to, window right edge.
    acked: u32,
    advertised_edge: u32,
}

/// The TCP segment of frame `f`, once its IPv4 header's checksum and
/// total length check out (both floors); a bad header stops the run.
pub fn ipv4_segment(f: &[u8]) -> &[u8] {
    let header: &[u8; 20] = f[14..34].try_into().expect("20 bytes");
    let total = usize::from(be16(f, 16));
    assert!(
        checksum::ipv4_header(header) == 0xffff && total >= 40 && 14 + total <= f.len(),
        "floor: bad IPv4 header"
    );
    &f[34..14 + total]
}

/// The big-endian `u16` at `at` (both floors' frame readers).
pub fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// The big-endian `u32` at `at`.
pub fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Write the Ethernet II header and an option-less IPv4 header (DF set,
/// TTL 64, protocol TCP) with its checksum into `buf[..34]`: the fixed
/// part of every frame both floors send.
#[inline(always)]
pub fn eth_ipv4_header(
    buf: &mut [u8],
    (src_mac, dst_mac): ([u8; 6], [u8; 6]),
    (src, dst): ([u8; 4], [u8; 4]),
    ip_total_len: u16,
) {
    buf[..6].copy_from_slice(&dst_mac);
    buf[6..12].copy_from_slice(&src_mac);
    buf[12..14].copy_from_slice(&[8, 0]);
    let [t0, t1] = ip_total_len.to_be_bytes();
    buf[14..34].copy_from_slice(&[
        0x45, 0, t0, t1, 0, 0, 0x40, 0, 64, 6, 0, 0, src[0], src[1], src[2], src[3], dst[0],
        dst[1], dst[2], dst[3],
    ]);
    let header: &[u8; 20] = buf[14..34].try_into().expect("20 bytes");
    let ip_sum = !checksum::ipv4_header(header);
    buf[24..26].copy_from_slice(&ip_sum.to_be_bytes());
}

impl<const ZERO_COPY: bool> Floor<ZERO_COPY> {
    fn peer(&self) -> usize {
        1 - self.me
    }

    fn ports(&self) -> (u16, u16) {
        if self.me == 0 {
            (PORT_A, PORT_B)
        } else {
            (PORT_B, PORT_A)
        }
    }

    fn rcv_wnd(&self) -> usize {
        self.rx_cap - self.rx_len
    }

    /// Check one frame's headers and checksums; take its ACK, and return
    /// where its payload lies in the frame if it is the next in order and
    /// fits the window (the caller stores it). The clean link carries only
    /// the peer's frames, so one that fails a check is a bug in the floor:
    /// it stops the run rather than stall it.
    fn input(&mut self, f: &[u8]) -> Option<(usize, usize)> {
        assert!(
            f.len() >= HEADERS && be16(f, 12) == 0x0800 && f[14] == 0x45 && f[23] == 6,
            "floor: not an IPv4 TCP frame"
        );
        // The demultiplexing any receiver does: the frame, the datagram and
        // the segment must be addressed to this end.
        assert!(
            f[..6] == mac(self.me) && f[30..34] == ip(self.me) && be16(f, 36) == self.ports().0,
            "floor: frame for another endpoint"
        );
        let seg = ipv4_segment(f);
        let src = Ipv4Address::new(f[26], f[27], f[28], f[29]);
        let dst = Ipv4Address::new(f[30], f[31], f[32], f[33]);
        let pseudo = checksum::pseudo_header_v4(&src, &dst, IpProtocol::Tcp, seg.len() as u32);
        assert!(
            checksum::combine(&[pseudo, checksum::data(seg)]) == 0xffff,
            "floor: bad TCP checksum"
        );
        let (seq, ack) = (be32(seg, 4), be32(seg, 8));
        let offset = usize::from(seg[12] >> 4) * 4;
        let acked = ack.wrapping_sub(self.snd_una) as usize;
        if seg[13] & 0x10 != 0 && acked <= self.in_flight {
            self.tx_head = (self.tx_head + acked) % self.tx.len();
            self.tx_len -= acked;
            self.in_flight -= acked;
            self.snd_una = ack;
            self.snd_wnd = usize::from(be16(seg, 14)) << WINDOW_SHIFT;
        }
        let (start, end) = (34 + offset.min(seg.len()), 34 + seg.len());
        let len = end - start;
        if len == 0 || seq != self.rcv_nxt || len > self.rcv_wnd() {
            return None;
        }
        self.rcv_nxt = self.rcv_nxt.wrapping_add(len as u32);
        Some((start, end))
    }

    /// Copy an accepted payload into the receive ring.
    fn store(&mut self, payload: &[u8]) {
        let cap = self.rx.len();
        let at = (self.rx_head + self.rx_len) % cap;
        let first = payload.len().min(cap - at);
        self.rx[at..at + first].copy_from_slice(&payload[..first]);
        if first < payload.len() {
            self.rx[..payload.len() - first].copy_from_slice(&payload[first..]);
        }
        self.rx_len += payload.len();
    }

    /// Queue one frame: headers, then `payload_len` bytes from the send
    /// buffer at `from` (sequence number `seq`), checksums last.
    fn emit(&mut self, seq: u32, from: usize, payload_len: usize) {
        let (src_port, dst_port) = self.ports();
        let (src, dst) = (ip(self.me), ip(self.peer()));
        let window = (self.rcv_wnd() >> WINDOW_SHIFT).min(0xffff) as u16;
        let (ack, flags) = (self.rcv_nxt, if payload_len > 0 { 0x18 } else { 0x10 });
        let (src_mac, dst_mac) = (mac(self.me), mac(self.peer()));
        let tx = &self.tx;
        let len = HEADERS + payload_len;
        self.end.emit(len, |buf| {
            eth_ipv4_header(buf, (src_mac, dst_mac), (src, dst), (len - 14) as u16);
            buf[34..36].copy_from_slice(&src_port.to_be_bytes());
            buf[36..38].copy_from_slice(&dst_port.to_be_bytes());
            buf[38..42].copy_from_slice(&seq.to_be_bytes());
            buf[42..46].copy_from_slice(&ack.to_be_bytes());
            buf[46..54].copy_from_slice(&[
                0x50,
                flags,
                (window >> 8) as u8,
                window as u8,
                0,
                0,
                0,
                0,
            ]);
            let cap = tx.len();
            let first = payload_len.min(cap - from);
            buf[54..54 + first].copy_from_slice(&tx[from..from + first]);
            if first < payload_len {
                buf[54 + first..len].copy_from_slice(&tx[..payload_len - first]);
            }
            let pseudo = checksum::pseudo_header_v4(
                &Ipv4Address(src),
                &Ipv4Address(dst),
                IpProtocol::Tcp,
                (len - 34) as u32,
            );
            let sum = !checksum::combine(&[pseudo, checksum::data(&buf[34..len])]);
            buf[50..52].copy_from_slice(&sum.to_be_bytes());
        });
    }
}

impl<const ZERO_COPY: bool> Stack for Floor<ZERO_COPY> {
    type Conn = ();
    const NAME: &'static str = if ZERO_COPY { "floor-zc" } else { "floor" };

    fn new(idx: usize, cfg: &NodeCfg, pool: Rc<Pool>, _now: u64) -> Self {
        Floor {
            end: End::new(pool, cfg.mtu),
            me: idx,
            mss: cfg.mtu - 40,
            tx: vec![0; cfg.big],
            tx_head: 0,
            tx_len: 0,
            in_flight: 0,
            snd_una: 0,
            snd_wnd: cfg.big,
            rx: vec![0; if ZERO_COPY { 0 } else { cfg.big }],
            rx_head: 0,
            rx_len: 0,
            rx_cap: cfg.big,
            held: VecDeque::new(),
            rcv_nxt: 0,
            acked: 0,
            advertised_edge: cfg.big as u32,
        }
    }

    fn end(&mut self) -> &mut End {
        &mut self.end
    }

    fn poll(&mut self, _now: u64) {
        while let Some(frame) = self.end.rx.pop_front() {
            match self.input(frame.bytes()) {
                Some((start, end)) if ZERO_COPY => {
                    self.rx_len += end - start;
                    self.held.push_back((frame, start, end));
                }
                Some((start, end)) => {
                    self.store(&frame.bytes()[start..end]);
                    self.end.recycle(frame);
                }
                None => self.end.recycle(frame),
            }
        }
        // Data, as far as the peer's window allows.
        let mut sent_any = false;
        while self.in_flight < self.tx_len && self.in_flight < self.snd_wnd {
            let n = (self.tx_len - self.in_flight)
                .min(self.snd_wnd - self.in_flight)
                .min(self.mss);
            let from = (self.tx_head + self.in_flight) % self.tx.len();
            let seq = self.snd_una.wrapping_add(self.in_flight as u32);
            self.emit(seq, from, n);
            self.in_flight += n;
            sent_any = true;
        }
        // One cumulative ACK for what arrived, or a window update once
        // reading has opened two segments or half the buffer: fewer
        // updates than RFC 9293 §3.8.6.2.2's min(buffer / 2, MSS) sends,
        // and never too few for the sender to go on.
        let edge = self.rcv_nxt.wrapping_add(self.rcv_wnd() as u32);
        let opened = edge.wrapping_sub(self.advertised_edge) as usize;
        let update = opened >= (2 * self.mss).min(self.rx_cap / 2);
        if !sent_any && (self.acked != self.rcv_nxt || update) {
            self.emit(self.snd_una.wrapping_add(self.in_flight as u32), 0, 0);
        }
        if sent_any || self.acked != self.rcv_nxt || update {
            self.acked = self.rcv_nxt;
            self.advertised_edge = edge;
        }
    }

    fn poll_at(&mut self, _now: u64) -> Option<u64> {
        None
    }

    fn listen(&mut self, _port: u16, _n: usize) {}

    fn accept(&mut self) -> Option<()> {
        Some(())
    }

    fn connect(&mut self, _now: u64, _peer: usize, _port: u16) -> Option<()> {
        Some(())
    }

    fn send_with<F: FnOnce(&mut [u8]) -> usize>(&mut self, _c: (), f: F) -> usize {
        let cap = self.tx.len();
        let at = (self.tx_head + self.tx_len) % cap;
        let room = (cap - self.tx_len).min(cap - at);
        if room == 0 {
            return 0;
        }
        let n = f(&mut self.tx[at..at + room]);
        self.tx_len += n;
        n
    }

    fn recv_with<F: FnOnce(&[u8]) -> usize>(&mut self, _c: (), f: F) -> usize {
        if ZERO_COPY {
            let Some((frame, start, end)) = self.held.front_mut() else {
                return 0;
            };
            let n = f(&frame.bytes()[*start..*end]);
            *start += n;
            self.rx_len -= n;
            if start == end {
                if let Some((frame, _, _)) = self.held.pop_front() {
                    self.end.recycle(frame);
                }
            }
            return n;
        }
        let ready = self.rx_len.min(self.rx.len() - self.rx_head);
        if ready == 0 {
            return 0;
        }
        let n = f(&self.rx[self.rx_head..self.rx_head + ready]);
        self.rx_head = (self.rx_head + n) % self.rx.len();
        self.rx_len -= n;
        n
    }

    fn close(&mut self, _c: ()) {}

    fn close_client(&mut self, _c: ()) {}

    fn established(&self, _c: ()) -> bool {
        true
    }

    fn server_done(&mut self, _c: ()) -> bool {
        true
    }

    fn in_use(&self) -> usize {
        0
    }

    fn own_timeouts(&self) -> Option<u64> {
        None
    }
}
