//! RFC 9293 MUST requirements, one test per label where the behaviour is
//! observable (see `docs/conformance.md` for the full table).
//!
//! Most tests drive a single rtcp host through a raw-frame harness: a fake
//! peer (10.0.0.2) builds exact Ethernet/IPv4/TCP frames with the crate's
//! wire types, pushes them into the host's device, polls the interface
//! directly and parses what the host transmitted. Two-stack behaviour
//! (simultaneous open) uses the simulator.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rtcp_core::socket_set::SocketHandle;
use rtcp_core::tcp::{Endpoint, KeepAlive, State, TcpConfig, TcpError};
use rtcp_core::time::{Duration, Instant};
use rtcp_core::wire::ipv4_route::find_source_route;
use rtcp_core::wire::{
    ArpOperation, ArpPacket, ArpRepr, ChecksumMode, Dscp, EtherType, EthernetAddress,
    EthernetFrame, EthernetRepr, IpProtocol, Ipv4Address, Ipv4Packet, Ipv4Repr, TcpFlags,
    TcpOptions, TcpPacket, TcpRepr,
};
// Only the urgent-data and source-route tests use these.
#[cfg(feature = "source-route")]
use rtcp_core::wire::{RouteKind, SourceRoute};
#[cfg(feature = "urgent")]
use rtcp_tests::sim::LinkConfig;
use rtcp_tests::sim::{host_ip, host_mac, HostConfig, Sim};

// ---------------------------------------------------------------------------
// Raw-frame harness
// ---------------------------------------------------------------------------

const PEER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x99]);
const PEER_PORT: u16 = 40000;
const HOST_PORT: u16 = 80;
const PEER_ISS: u32 = 1_000_000;

fn peer_ip() -> Ipv4Address {
    Ipv4Address::new(10, 0, 0, 2)
}

fn hip() -> Ipv4Address {
    host_ip(0)
}

/// A TCP segment, owned, in either direction.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seg {
    src_ip: Ipv4Address,
    dst_ip: Ipv4Address,
    src_port: u16,
    dst_port: u16,
    flags: TcpFlags,
    seq: u32,
    ack: u32,
    window: u16,
    urgent: u16,
    /// Raw option bytes (as on the wire, padding included).
    opts: Vec<u8>,
    payload: Vec<u8>,
    /// Parsed options (host segments only).
    parsed: TcpOptions,
    /// IPv4 TTL and TCP checksum validity (host segments only).
    ttl: u8,
    checksum_ok: bool,
    /// IPv4 DSCP, the header's destination (the first hop when source
    /// routed; `dst_ip` is then the final destination) and the IP option
    /// bytes (host segments only).
    dscp: u8,
    ip_dst: Ipv4Address,
    ip_opts: Vec<u8>,
}

impl Seg {
    /// A segment from the peer to the host.
    fn peer(flags: TcpFlags, seq: u32, ack: u32) -> Seg {
        Seg {
            src_ip: peer_ip(),
            dst_ip: hip(),
            src_port: PEER_PORT,
            dst_port: HOST_PORT,
            flags,
            seq,
            ack,
            window: 65535,
            urgent: 0,
            opts: Vec::new(),
            payload: Vec::new(),
            parsed: TcpOptions::default(),
            ttl: 64,
            checksum_ok: true,
            dscp: 0,
            ip_dst: hip(),
            ip_opts: Vec::new(),
        }
    }
    fn opts(mut self, opts: Vec<u8>) -> Seg {
        self.opts = opts;
        self
    }
    fn win(mut self, w: u16) -> Seg {
        self.window = w;
        self
    }
    fn data(mut self, d: &[u8]) -> Seg {
        self.payload = d.to_vec();
        self
    }
    fn seg_len(&self) -> u32 {
        self.payload.len() as u32 + u32::from(self.flags.syn()) + u32::from(self.flags.fin())
    }
    fn has(&self, f: TcpFlags) -> bool {
        self.flags.contains(f)
    }

    /// The TCP bytes, checksum filled.
    fn tcp_bytes(&self) -> Vec<u8> {
        let mut opts = self.opts.clone();
        while !opts.len().is_multiple_of(4) {
            opts.push(0);
        }
        let hlen = 20 + opts.len();
        let mut buf = vec![0u8; hlen + self.payload.len()];
        {
            let mut p = TcpPacket::new_unchecked(&mut buf[..]);
            p.set_src_port(self.src_port);
            p.set_dst_port(self.dst_port);
            p.set_seq_number(rtcp_core::wire::SeqNumber(self.seq));
            p.set_ack_number(rtcp_core::wire::SeqNumber(self.ack));
            p.set_header_len(hlen);
            p.set_flags(self.flags);
            p.set_window_len(self.window);
            p.set_urgent_pointer(self.urgent);
            p.options_mut().copy_from_slice(&opts);
            p.payload_mut().copy_from_slice(&self.payload);
            p.fill_checksum(&self.src_ip, &self.dst_ip);
        }
        buf
    }
}

/// Option bytes for an MSS option.
fn mss_opt(mss: u16) -> Vec<u8> {
    let [hi, lo] = mss.to_be_bytes();
    vec![2, 4, hi, lo]
}

/// An Ethernet frame carrying an IPv4 packet (optionally with IP options).
fn ip_frame(
    src: Ipv4Address,
    dst: Ipv4Address,
    dst_mac: EthernetAddress,
    proto: IpProtocol,
    ip_opts: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        protocol: proto,
        payload_len: payload.len(),
        ttl: 64,
        dscp_ecn: 0,
        ident: 7,
        dont_frag: true,
    };
    let ihl = 20 + ip_opts.len();
    assert_eq!(ihl % 4, 0);
    let mut frame = vec![0u8; 14 + ihl + payload.len()];
    let eth = EthernetRepr {
        src_addr: PEER_MAC,
        dst_addr: dst_mac,
        ethertype: EtherType::Ipv4,
    };
    eth.emit(&mut EthernetFrame::new_unchecked(&mut frame[..]));
    {
        let mut p = Ipv4Packet::new_unchecked(&mut frame[14..]);
        ip.emit(&mut p, ChecksumMode::default());
        if !ip_opts.is_empty() {
            p.set_header_len(ihl as u8);
            p.set_total_len((ihl + payload.len()) as u16);
        }
    }
    frame[14 + 20..14 + ihl].copy_from_slice(ip_opts);
    frame[14 + ihl..].copy_from_slice(payload);
    if !ip_opts.is_empty() {
        Ipv4Packet::new_unchecked(&mut frame[14..]).fill_checksum();
    }
    frame
}

fn tcp_frame(seg: &Seg) -> Vec<u8> {
    ip_frame(
        seg.src_ip,
        seg.dst_ip,
        host_mac(0),
        IpProtocol::Tcp,
        &[],
        &seg.tcp_bytes(),
    )
}

/// Internet checksum (RFC 1071) for hand-built ICMP messages.
fn inet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from(c[0]) << 8
        };
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Parse a frame the host sent; `None` unless it is IPv4/TCP.
fn parse_tcp(frame: &[u8]) -> Option<Seg> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let er = EthernetRepr::parse(&eth).ok()?;
    if er.ethertype != EtherType::Ipv4 {
        return None;
    }
    let ipp = Ipv4Packet::new_checked(eth.payload()).ok()?;
    let ip = Ipv4Repr::parse(&ipp, ChecksumMode::default()).ok()?;
    if ip.protocol != IpProtocol::Tcp {
        return None;
    }
    let body = ipp.payload();
    let tp = TcpPacket::new_checked(body).ok()?;
    // A source route's last address is the final destination, which the
    // TCP pseudo-header uses (RFC 9293 §3.1).
    let final_dst = find_source_route(ipp.options())
        .ok()?
        .and_then(|r| r.addresses().last().copied())
        .unwrap_or(ip.dst_addr);
    let checksum_ok = tp.verify_checksum(&ip.src_addr, &final_dst);
    let repr = TcpRepr::parse(
        &tp,
        &ip.src_addr,
        &final_dst,
        ChecksumMode {
            verify_rx: false,
            compute_tx: false,
        },
    )
    .ok()?;
    Some(Seg {
        src_ip: ip.src_addr,
        dst_ip: final_dst,
        src_port: repr.src_port,
        dst_port: repr.dst_port,
        flags: repr.flags,
        seq: repr.seq_number.0,
        ack: repr.ack_number.0,
        window: repr.window_len,
        urgent: repr.urgent_pointer,
        opts: tp.options().to_vec(),
        payload: repr.payload.to_vec(),
        parsed: repr.options,
        ttl: ip.ttl,
        checksum_ok,
        dscp: ipp.dscp(),
        ip_dst: ip.dst_addr,
        ip_opts: ipp.options().to_vec(),
    })
}

/// One rtcp host and a scripted peer.
struct Raw {
    sim: Sim,
    /// Whether the peer answers the host's ARP requests.
    answer_arp: bool,
    /// Every address the host asked ARP for, in order.
    arp_requests: Vec<Ipv4Address>,
}

/// An ARP request or reply from the peer to `target` (the host).
fn arp_frame(op: ArpOperation, target: Ipv4Address, dst_mac: EthernetAddress) -> Vec<u8> {
    arp_frame_from(peer_ip(), op, target, dst_mac)
}

/// An ARP request or reply from `sender` (at the peer's MAC) to `target`.
fn arp_frame_from(
    sender: Ipv4Address,
    op: ArpOperation,
    target: Ipv4Address,
    dst_mac: EthernetAddress,
) -> Vec<u8> {
    let arp = ArpRepr {
        operation: op,
        source_hardware_addr: PEER_MAC,
        source_protocol_addr: sender,
        target_hardware_addr: if op == ArpOperation::Reply {
            host_mac(0)
        } else {
            EthernetAddress([0; 6])
        },
        target_protocol_addr: target,
    };
    let mut frame = vec![0u8; 14 + arp.buffer_len()];
    EthernetRepr {
        src_addr: PEER_MAC,
        dst_addr: dst_mac,
        ethertype: EtherType::Arp,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut frame[..]));
    arp.emit(&mut ArpPacket::new_unchecked(&mut frame[14..]));
    frame
}

/// The address an ARP request from the host asks for.
fn arp_request_target(frame: &[u8]) -> Option<Ipv4Address> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EtherType::Arp {
        return None;
    }
    let p = ArpPacket::new_checked(eth.payload()).ok()?;
    ArpRepr::parse(&p)
        .ok()
        .filter(|a| a.operation == ArpOperation::Request)
        .map(|a| a.target_protocol_addr)
}

impl Raw {
    fn new(cfg: HostConfig) -> Raw {
        Raw::seeded(1, cfg)
    }

    /// A host whose secrets (ISN key) come from `seed`.
    fn seeded(seed: u64, cfg: HostConfig) -> Raw {
        let mut raw = Raw {
            sim: Sim::new(seed, &[cfg]),
            answer_arp: true,
            arp_requests: Vec::new(),
        };
        // Prime ARP: the host learns the peer's MAC from its request.
        raw.inject(arp_frame(
            ArpOperation::Request,
            hip(),
            EthernetAddress::BROADCAST,
        ));
        raw.poll();
        raw
    }

    fn now(&self) -> Instant {
        self.sim.now
    }

    fn sockets(&mut self) -> &mut rtcp_core::socket_set::SocketSet<'static> {
        &mut self.sim.hosts[0].sockets
    }

    fn inject(&mut self, frame: Vec<u8>) {
        self.sim.hosts[0].device.rx.push_back(frame);
    }

    fn send(&mut self, seg: &Seg) {
        self.inject(tcp_frame(seg));
    }

    /// Poll at the current time until quiet; return the TCP segments sent.
    fn poll(&mut self) -> Vec<Seg> {
        let now = self.sim.now;
        let h = &mut self.sim.hosts[0];
        for _ in 0..64 {
            let active = h.iface.poll(now, &mut h.device, &mut h.sockets);
            if !active && h.device.rx.is_empty() {
                break;
            }
        }
        let frames = std::mem::take(&mut h.device.tx);
        let asked: Vec<Ipv4Address> = frames
            .iter()
            .filter_map(|f| arp_request_target(f))
            .collect();
        self.arp_requests.extend(asked.iter().copied());
        let mut segs: Vec<Seg> = frames.iter().filter_map(|f| parse_tcp(f)).collect();
        if !asked.is_empty() && self.answer_arp {
            // The peer answers ARP like a live host would (and for any
            // other neighbour asked for, as a router doing proxy ARP).
            for target in asked {
                self.inject(arp_frame_from(
                    target,
                    ArpOperation::Reply,
                    hip(),
                    host_mac(0),
                ));
            }
            segs.extend(self.poll());
        }
        segs
    }

    /// Send one segment and poll.
    fn exchange(&mut self, seg: &Seg) -> Vec<Seg> {
        self.send(seg);
        self.poll()
    }

    fn next_deadline(&self) -> Option<Instant> {
        let h = &self.sim.hosts[0];
        h.iface.poll_at(&h.sockets)
    }

    /// Let `d` of virtual time pass, jumping from timer to timer. Every
    /// segment the host sends is passed to `respond`, whose replies are
    /// delivered at once. Returns the segments with their send times.
    fn run_with(
        &mut self,
        d: Duration,
        mut respond: impl FnMut(&mut Raw, &Seg) -> Vec<Seg>,
    ) -> Vec<(Instant, Seg)> {
        let end = self.sim.now + d;
        let mut out = Vec::new();
        loop {
            let mut segs = self.poll();
            while !segs.is_empty() {
                let mut replies = Vec::new();
                for s in &segs {
                    out.push((self.sim.now, s.clone()));
                    replies.extend(respond(self, s));
                }
                for r in &replies {
                    self.send(r);
                }
                segs = self.poll();
            }
            let next = match self.next_deadline() {
                Some(t) if t > self.sim.now => t,
                Some(_) => self.sim.now + Duration::from_millis(1),
                None => end,
            };
            if next >= end {
                self.sim.now = end;
                for s in self.poll() {
                    out.push((end, s.clone()));
                    for r in respond(self, &s) {
                        self.send(&r);
                    }
                }
                return out;
            }
            self.sim.now = next;
        }
    }

    fn run(&mut self, d: Duration) -> Vec<(Instant, Seg)> {
        self.run_with(d, |_, _| Vec::new())
    }

    fn advance(&mut self, d: Duration) {
        self.sim.now += d;
    }

    fn state(&mut self, h: SocketHandle) -> State {
        self.sockets().get(h).map_or(State::Closed, |s| s.state())
    }

    fn listen(&mut self, addr: Ipv4Address, port: u16) -> SocketHandle {
        let l = self.sockets().open().unwrap();
        self.sockets()
            .listen(l, Endpoint::new(addr, port), 8)
            .unwrap();
        l
    }
}

/// The peer's view of one connection.
#[derive(Debug, Clone, Copy)]
struct Conn {
    /// Next sequence number the peer sends.
    snd_nxt: u32,
    /// Next sequence number the peer expects from the host.
    rcv_nxt: u32,
    handle: SocketHandle,
}

impl Conn {
    fn ack(&self) -> Seg {
        Seg::peer(TcpFlags::ACK, self.snd_nxt, self.rcv_nxt)
    }
    fn data(&self, d: &[u8]) -> Seg {
        Seg::peer(TcpFlags::ACK | TcpFlags::PSH, self.snd_nxt, self.rcv_nxt).data(d)
    }
}

/// Passive open on the host: the peer's SYN carries `syn_opts` and
/// `syn_window`; returns the accepted connection and the host's SYN-ACK.
fn passive_open(raw: &mut Raw, syn_opts: Vec<u8>, syn_window: u16) -> (Conn, Seg) {
    let l = raw.listen(hip(), HOST_PORT);
    let out = raw.exchange(
        &Seg::peer(TcpFlags::SYN, PEER_ISS, 0)
            .opts(syn_opts)
            .win(syn_window),
    );
    let synack = out
        .iter()
        .find(|s| s.has(TcpFlags::SYN | TcpFlags::ACK))
        .cloned()
        .expect("no SYN-ACK");
    assert_eq!(synack.ack, PEER_ISS + 1);
    let mut conn = Conn {
        snd_nxt: PEER_ISS + 1,
        rcv_nxt: synack.seq.wrapping_add(1),
        handle: l,
    };
    let out = raw.exchange(&conn.ack().win(syn_window));
    assert!(
        out.is_empty(),
        "unexpected reply to the handshake ACK: {out:?}"
    );
    conn.handle = raw.sockets().accept(l).expect("not accepted");
    assert_eq!(raw.state(conn.handle), State::Established);
    (conn, synack)
}

/// Default host config without the optional TCP extensions, so that
/// segments carry no options unless a test asks for them.
fn plain() -> HostConfig {
    HostConfig {
        tcp: TcpConfig {
            window_scaling: false,
            timestamps: false,
            sack: false,
            ..TcpConfig::default()
        },
        ..HostConfig::default()
    }
}

fn with_tcp(f: impl FnOnce(&mut TcpConfig)) -> HostConfig {
    let mut cfg = plain();
    f(&mut cfg.tcp);
    cfg
}

/// A responder acking all in-order data with a fixed window.
fn acker(conn: &mut Conn, window: u16) -> impl FnMut(&mut Raw, &Seg) -> Vec<Seg> + '_ {
    move |_, s| {
        if s.payload.is_empty() && !s.has(TcpFlags::FIN) {
            return Vec::new();
        }
        if s.seq == conn.rcv_nxt {
            conn.rcv_nxt = conn.rcv_nxt.wrapping_add(s.seg_len());
        }
        vec![conn.ack().win(window)]
    }
}

/// Walk raw option bytes: (kind, length) of each option; panics on a
/// malformed list.
fn walk_options(opts: &[u8]) -> Vec<(u8, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            0 => {
                out.push((0, 1));
                assert!(
                    opts[i + 1..].iter().all(|&b| b == 0),
                    "padding after EOL not zero: {opts:?}"
                );
                break;
            }
            1 => {
                out.push((1, 1));
                i += 1;
            }
            k => {
                let len = usize::from(opts[i + 1]);
                assert!(len >= 2 && i + len <= opts.len(), "bad option length");
                out.push((k, len));
                i += len;
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// 3.1 Header format, checksums, options
// ---------------------------------------------------------------------------

/// MUST-1: the window field is an unsigned 16-bit number (65535 and 40000
/// have the top bit set and must not be read as negative).
#[test]
fn must_01_window_is_unsigned() {
    let mut raw = Raw::new(plain());
    let (conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    let h = conn.handle;
    assert_eq!(raw.sockets().get(h).unwrap().send_window(), 65535);
    raw.exchange(&conn.ack().win(40000));
    assert_eq!(raw.sockets().get(h).unwrap().send_window(), 40000);
    // And the host sends more than 32767 bytes' worth in flight when allowed.
    raw.sockets().send(h, &[7u8; 30000]).unwrap();
    let out = raw.poll();
    let sent: usize = out.iter().map(|s| s.payload.len()).sum();
    assert!(sent > 0 && sent <= 40000);
}

/// MUST-2: every segment the host sends carries a correct checksum.
#[test]
fn must_02_sender_computes_checksum() {
    let mut raw = Raw::new(plain());
    let (conn, synack) = passive_open(&mut raw, mss_opt(1460), 65535);
    assert!(synack.checksum_ok);
    raw.sockets().send(conn.handle, &[1u8; 5000]).unwrap();
    let out = raw.poll();
    assert!(!out.is_empty());
    assert!(out.iter().all(|s| s.checksum_ok), "bad checksum in {out:?}");
}

/// MUST-3: a segment with a bad checksum is dropped (no SYN-ACK, counted).
#[test]
fn must_03_receiver_checks_checksum() {
    let mut raw = Raw::new(plain());
    raw.listen(hip(), HOST_PORT);
    let mut frame = tcp_frame(&Seg::peer(TcpFlags::SYN, PEER_ISS, 0).opts(mss_opt(1460)));
    // Flip a bit of the TCP checksum field (Ethernet 14 + IP 20 + 16).
    frame[14 + 20 + 16] ^= 0x01;
    raw.inject(frame);
    assert!(raw.poll().is_empty(), "a corrupted SYN was answered");
    assert_eq!(raw.sim.hosts[0].iface.stats().rx_bad_checksum, 1);
    // The same SYN, intact, is answered.
    let out = raw.exchange(&Seg::peer(TcpFlags::SYN, PEER_ISS, 0).opts(mss_opt(1460)));
    assert!(out.iter().any(|s| s.has(TcpFlags::SYN | TcpFlags::ACK)));
}

/// MUST-4: the mandatory option set (EOL, NOP, MSS) is understood.
#[test]
fn must_04_mandatory_option_set() {
    let mut raw = Raw::new(plain());
    // NOP, MSS 1000, NOP, EOL, then zero padding.
    let mut opts = vec![1];
    opts.extend(mss_opt(1000));
    opts.extend([1, 0, 0, 0]);
    let (conn, _) = passive_open(&mut raw, opts, 65535);
    assert_eq!(raw.sockets().get(conn.handle).unwrap().mss(), 1000);
}

/// MUST-5: options are processed on any segment, not only the SYN: a data
/// segment carrying NOPs and an unknown option is accepted, and a
/// timestamp option on a non-SYN segment is echoed.
#[test]
fn must_05_options_in_any_segment() {
    let mut raw = Raw::new(HostConfig::default());
    // Timestamps offered in the SYN (kind 8 length 10).
    let mut syn_opts = mss_opt(1460);
    syn_opts.extend([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0]);
    let (mut conn, synack) = passive_open(&mut raw, syn_opts, 65535);
    assert!(synack.parsed.timestamp.is_some());
    // Data with NOP, NOP, TS(tsval 5), then an unknown kind 253 length 4.
    let mut opts = vec![1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 0];
    opts.extend([253, 4, 0xab, 0xcd]);
    raw.send(&conn.data(b"hello").opts(opts));
    conn.snd_nxt += 5;
    let out = raw.run(Duration::from_millis(500));
    let ack = out.iter().map(|(_, s)| s).find(|s| s.ack == conn.snd_nxt);
    let ack = ack.expect("data with options not acknowledged");
    assert_eq!(
        ack.parsed.timestamp.map(|t| t.1),
        Some(5),
        "TSval not echoed"
    );
    let mut buf = [0u8; 16];
    assert_eq!(raw.sockets().recv(conn.handle, &mut buf), Ok(5));
}

/// MUST-6: unknown options are ignored (skipped by their length).
#[test]
fn must_06_ignore_unsupported_options() {
    let mut raw = Raw::new(plain());
    // Unknown kind 254 (length 6) before the MSS option.
    let mut opts = vec![254, 6, 1, 2, 3, 4];
    opts.extend(mss_opt(700));
    let (conn, _) = passive_open(&mut raw, opts, 65535);
    assert_eq!(raw.sockets().get(conn.handle).unwrap().mss(), 700);
}

/// MUST-7: an illegal option length (zero, or past the header) is coped
/// with: the segment is dropped, nothing is misread, the host stays up.
#[test]
fn must_07_illegal_option_length() {
    let mut raw = Raw::new(plain());
    let l = raw.listen(hip(), HOST_PORT);
    // Length 0.
    let out = raw.exchange(&Seg::peer(TcpFlags::SYN, PEER_ISS, 0).opts(vec![2, 0, 5, 0xb4]));
    assert!(out.is_empty());
    // Length running past the option space.
    let out = raw.exchange(&Seg::peer(TcpFlags::SYN, PEER_ISS, 0).opts(vec![2, 40, 5, 0xb4]));
    assert!(out.is_empty());
    assert!(raw.sim.hosts[0].iface.stats().rx_malformed >= 2);
    assert_eq!(raw.state(l), State::Listen);
    // A well-formed SYN afterwards is served normally.
    let out = raw.exchange(&Seg::peer(TcpFlags::SYN, PEER_ISS, 0).opts(mss_opt(1460)));
    assert!(out.iter().any(|s| s.has(TcpFlags::SYN | TcpFlags::ACK)));
}

/// MUST-64: options are parsed regardless of alignment (MSS at an odd
/// offset).
#[test]
fn must_64_options_unaligned() {
    let mut raw = Raw::new(plain());
    let mut opts = vec![1];
    opts.extend(mss_opt(512)); // bytes 1..5
    opts.extend([1, 1, 1]);
    let (conn, _) = passive_open(&mut raw, opts, 65535);
    raw.sockets().send(conn.handle, &[3u8; 3000]).unwrap();
    let out = raw.poll();
    assert!(!out.is_empty());
    assert!(out.iter().all(|s| s.payload.len() <= 512));
    assert_eq!(out[0].payload.len(), 512);
}

/// MUST-68: every option the host sends, other than EOL and NOP, has a
/// length byte; MUST-69: the header is padded to 32 bits with zeros.
#[test]
fn must_68_69_option_length_and_zero_padding() {
    let mut raw = Raw::new(HostConfig::default());
    let mut syn_opts = mss_opt(1460);
    syn_opts.extend([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 4, 2, 1, 3, 3, 7]);
    let (conn, synack) = passive_open(&mut raw, syn_opts, 65535);
    // The host's SYN (active open) too.
    let c = raw.sockets().open().unwrap();
    let now = raw.now();
    raw.sockets()
        .connect(
            now,
            c,
            Endpoint::new(hip(), 5001),
            Endpoint::new(peer_ip(), 9),
        )
        .unwrap();
    let syn = raw.poll();
    raw.sockets().send(conn.handle, b"x").unwrap();
    let data = raw.poll();
    let all: Vec<&Seg> = syn
        .iter()
        .chain(data.iter())
        .chain(std::iter::once(&synack))
        .collect();
    assert!(all.len() >= 3);
    for s in all {
        assert_eq!(s.opts.len() % 4, 0, "header not 32-bit aligned");
        for (kind, len) in walk_options(&s.opts) {
            match kind {
                0 | 1 => assert_eq!(len, 1),
                2 => assert_eq!(len, 4),
                3 => assert_eq!(len, 3),
                4 => assert_eq!(len, 2),
                8 => assert_eq!(len, 10),
                5 => assert_eq!((len - 2) % 8, 0),
                k => panic!("unexpected option kind {k}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// 3.7.1 MSS
// ---------------------------------------------------------------------------

/// MUST-14: the host sends an MSS option in its SYN and SYN-ACK, and honours
/// the MSS option it receives.
#[test]
fn must_14_send_and_receive_mss_option() {
    let mut raw = Raw::new(plain());
    let (conn, synack) = passive_open(&mut raw, mss_opt(900), 65535);
    assert_eq!(synack.parsed.mss, Some(1460));
    raw.sockets().send(conn.handle, &[1u8; 2000]).unwrap();
    let out = raw.poll();
    assert_eq!(out[0].payload.len(), 900);
    // Active open: the SYN carries the MSS option too.
    let c = raw.sockets().open().unwrap();
    let now = raw.now();
    raw.sockets()
        .connect(
            now,
            c,
            Endpoint::new(hip(), 5002),
            Endpoint::new(peer_ip(), 9),
        )
        .unwrap();
    let syn = raw.poll();
    assert_eq!(syn.len(), 1);
    assert!(syn[0].has(TcpFlags::SYN));
    assert_eq!(syn[0].parsed.mss, Some(1460));
}

/// MUST-15: with no MSS option from the peer, the send MSS is 536 (IPv4).
#[test]
fn must_15_default_send_mss_536() {
    let mut raw = Raw::new(plain());
    let (conn, _) = passive_open(&mut raw, Vec::new(), 65535);
    assert_eq!(raw.sockets().get(conn.handle).unwrap().mss(), 536);
    raw.sockets().send(conn.handle, &[1u8; 3000]).unwrap();
    let out = raw.poll();
    assert!(!out.is_empty());
    assert_eq!(out[0].payload.len(), 536);
    assert!(out.iter().all(|s| s.payload.len() <= 536));
}

/// MUST-16: effective send MSS = min(SendMSS + 20, MMS_S) - TCP header
/// (options included): with timestamps the payload shrinks by 12 bytes,
/// and a small local MTU bounds it too.
#[test]
fn must_16_effective_send_segment_size() {
    // Peer MSS 1000 with timestamps: header + payload <= 1000 + 20.
    let mut raw = Raw::new(HostConfig::default());
    let mut syn_opts = mss_opt(1000);
    syn_opts.extend([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0]);
    let (conn, _) = passive_open(&mut raw, syn_opts, 65535);
    raw.sockets().send(conn.handle, &[1u8; 4000]).unwrap();
    let out = raw.poll();
    assert!(!out.is_empty());
    for s in &out {
        assert!(20 + s.opts.len() + s.payload.len() <= 1000 + 20, "{s:?}");
    }
    assert_eq!(out[0].payload.len(), 1000 - 12);

    // Local MTU 576 (MMS_S 556) with a peer MSS of 1460.
    let mut raw = Raw::new(HostConfig {
        mtu: 576,
        ..plain()
    });
    let (conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    raw.sockets().send(conn.handle, &[1u8; 4000]).unwrap();
    let out = raw.poll();
    assert!(!out.is_empty());
    for s in &out {
        assert!(20 + 20 + s.opts.len() + s.payload.len() <= 576, "{s:?}");
    }
}

/// MUST-65: the MSS option appears only in SYN segments.
#[test]
fn must_65_no_mss_on_non_syn_segments() {
    let mut raw = Raw::new(HostConfig::default());
    let (mut conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    raw.sockets().send(conn.handle, &[1u8; 10_000]).unwrap();
    raw.sockets().shutdown(conn.handle).unwrap();
    let h = conn.handle;
    let out = raw.run_with(Duration::from_secs(2), acker(&mut conn, 65535));
    assert!(out.len() > 3);
    for (_, s) in &out {
        assert!(!s.has(TcpFlags::SYN));
        assert_eq!(s.parsed.mss, None, "MSS on a non-SYN segment: {s:?}");
    }
    assert_eq!(raw.state(h), State::FinWait2);
}

/// MUST-67: the MSS the host advertises derives from its MMS_R (MTU - 40).
#[test]
fn must_67_mss_from_mms_r() {
    let mut raw = Raw::new(HostConfig {
        mtu: 1000,
        ..plain()
    });
    let (_, synack) = passive_open(&mut raw, mss_opt(1460), 65535);
    assert_eq!(synack.parsed.mss, Some(1000 - 40));
}

// ---------------------------------------------------------------------------
// 3.4.1 ISN
// ---------------------------------------------------------------------------

fn syn_isn(raw: &mut Raw, local_port: u16) -> u32 {
    let c = raw.sockets().open().unwrap();
    let now = raw.now();
    raw.sockets()
        .connect(
            now,
            c,
            Endpoint::new(hip(), local_port),
            Endpoint::new(peer_ip(), 9),
        )
        .unwrap();
    let syn = raw.poll();
    assert!(syn[0].has(TcpFlags::SYN));
    raw.sockets().abort(c).unwrap();
    raw.poll();
    syn[0].seq
}

/// MUST-8: the ISN has a clock component: the same 4-tuple opened again one
/// second later gets an ISN 250 000 higher (a 4 µs tick).
#[test]
fn must_08_isn_clock_driven() {
    let mut raw = Raw::new(plain());
    let a = syn_isn(&mut raw, 5000);
    raw.advance(Duration::from_secs(1));
    let b = syn_isn(&mut raw, 5000);
    assert_eq!(b.wrapping_sub(a), 250_000);
    raw.advance(Duration::from_millis(4));
    let c = syn_isn(&mut raw, 5000);
    assert_eq!(c.wrapping_sub(b), 1000);
}

/// MUST-9: the ISN offset is a keyed function (not computable from outside):
/// different 4-tuples at the same instant get unrelated ISNs, and hosts
/// with different secrets give different ISNs for the same 4-tuple.
#[test]
fn must_09_isn_not_predictable() {
    let mut raw = Raw::new(plain());
    let a = syn_isn(&mut raw, 5000);
    let b = syn_isn(&mut raw, 5001);
    // Adjacent ports: not a small offset apart.
    let d = b.wrapping_sub(a);
    assert!(d > 1_000_000 && d < u32::MAX - 1_000_000, "{a} {b}");
    // Another secret (Sim seed), same tuple and time.
    let mut other = Raw::seeded(2, plain());
    let c = syn_isn(&mut other, 5000);
    assert_ne!(a, c, "the ISN does not depend on the secret");
}

// ---------------------------------------------------------------------------
// 3.5 Opening
// ---------------------------------------------------------------------------

/// MUST-10: simultaneous open (two rtcp stacks connect to each other).
#[test]
fn must_10_simultaneous_open_two_stacks() {
    let mut sim = Sim::new(3, &[plain(), plain()]);
    let a = sim.hosts[0].sockets.open().unwrap();
    let b = sim.hosts[1].sockets.open().unwrap();
    let now = sim.now;
    let (ip0, ip1) = (host_ip(0), host_ip(1));
    sim.hosts[0]
        .sockets
        .connect(now, a, Endpoint::new(ip0, 7000), Endpoint::new(ip1, 7001))
        .unwrap();
    sim.hosts[1]
        .sockets
        .connect(now, b, Endpoint::new(ip1, 7001), Endpoint::new(ip0, 7000))
        .unwrap();
    let ok = sim.run_until(Duration::from_secs(30), |sim| {
        sim.hosts[0].sockets.get(a).unwrap().state() == State::Established
            && sim.hosts[1].sockets.get(b).unwrap().state() == State::Established
    });
    assert!(ok, "simultaneous open did not complete");
    sim.hosts[0].sockets.send(a, b"ping").unwrap();
    let ok = sim.run_until(Duration::from_secs(5), |sim| {
        sim.hosts[1].sockets.get(b).unwrap().recv_queue() == 4
    });
    assert!(ok);
}

/// MUST-10 on the wire: SYN-SENT + SYN -> SYN-RECEIVED with a SYN-ACK from
/// the same ISS; the ACK of our SYN -> ESTABLISHED.
#[test]
fn must_10_simultaneous_open_wire() {
    let mut raw = Raw::new(plain());
    let c = raw.sockets().open().unwrap();
    let now = raw.now();
    raw.sockets()
        .connect(
            now,
            c,
            Endpoint::new(hip(), HOST_PORT),
            Endpoint::new(peer_ip(), PEER_PORT),
        )
        .unwrap();
    let syn = raw.poll();
    let iss = syn[0].seq;
    let out = raw.exchange(&Seg::peer(TcpFlags::SYN, PEER_ISS, 0).opts(mss_opt(1460)));
    assert_eq!(raw.state(c), State::SynReceived);
    let synack = out.iter().find(|s| s.has(TcpFlags::SYN | TcpFlags::ACK));
    let synack = synack.expect("no SYN-ACK in simultaneous open");
    assert_eq!(synack.seq, iss);
    assert_eq!(synack.ack, PEER_ISS + 1);
    // The peer, in SYN-RECEIVED too, ACKs our SYN-ACK.
    raw.exchange(&Seg::peer(TcpFlags::ACK, PEER_ISS + 1, iss.wrapping_add(1)));
    assert_eq!(raw.state(c), State::Established);
}

/// MUST-11: a RST in SYN-RECEIVED returns a passive open to LISTEN (the
/// listener keeps serving) and fails an active one (ConnectionRefused).
#[test]
fn must_11_syn_received_remembers_origin() {
    let mut raw = Raw::new(plain());
    let l = raw.listen(hip(), HOST_PORT);
    raw.exchange(&Seg::peer(TcpFlags::SYN, PEER_ISS, 0));
    let out = raw.exchange(&Seg::peer(TcpFlags::RST, PEER_ISS + 1, 0));
    assert!(out.is_empty());
    assert_eq!(raw.state(l), State::Listen);
    assert_eq!(raw.sockets().accept(l), Err(TcpError::WouldBlock));
    let out = raw.exchange(&Seg::peer(TcpFlags::SYN, PEER_ISS + 500, 0));
    assert!(out.iter().any(|s| s.has(TcpFlags::SYN | TcpFlags::ACK)));

    // Active side: simultaneous open, then RST.
    let c = raw.sockets().open().unwrap();
    let now = raw.now();
    raw.sockets()
        .connect(
            now,
            c,
            Endpoint::new(hip(), 6000),
            Endpoint::new(peer_ip(), PEER_PORT),
        )
        .unwrap();
    raw.poll();
    let mut syn = Seg::peer(TcpFlags::SYN, PEER_ISS, 0);
    syn.dst_port = 6000;
    raw.exchange(&syn);
    assert_eq!(raw.state(c), State::SynReceived);
    let mut rst = Seg::peer(TcpFlags::RST, PEER_ISS + 1, 0);
    rst.dst_port = 6000;
    raw.exchange(&rst);
    assert_eq!(raw.state(c), State::Closed);
    assert_eq!(
        raw.sockets().get(c).unwrap().error(),
        Some(TcpError::ConnectionRefused)
    );
}

/// MUST-41: a passive OPEN does not disturb existing connections: a second
/// LISTEN on the same endpoint is refused, and a new listener opened after
/// the first is closed leaves the established connection working.
#[test]
fn must_41_passive_open_does_not_interfere() {
    let mut raw = Raw::new(plain());
    let (mut conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    // The listener from passive_open is still open on HOST_PORT.
    let l2 = raw.sockets().open().unwrap();
    assert_eq!(
        raw.sockets().listen(l2, Endpoint::new(hip(), HOST_PORT), 4),
        Err(TcpError::AddrInUse)
    );
    assert_eq!(raw.state(conn.handle), State::Established);
    // Close every listener and listen again on the same port.
    let listeners: Vec<SocketHandle> = raw
        .sockets()
        .iter()
        .filter(|(_, s)| s.state() == State::Listen)
        .map(|(h, _)| h)
        .collect();
    for l in listeners {
        raw.sockets().close(l).unwrap();
    }
    raw.sockets()
        .listen(l2, Endpoint::new(hip(), HOST_PORT), 4)
        .unwrap();
    assert!(raw.poll().is_empty());
    raw.send(&conn.data(b"abc"));
    conn.snd_nxt += 3;
    raw.poll();
    assert_eq!(raw.state(conn.handle), State::Established);
    let mut buf = [0u8; 8];
    assert_eq!(raw.sockets().recv(conn.handle, &mut buf), Ok(3));
}

/// MUST-42: LISTEN on a port while a connection from that port is in
/// SYN-SENT (and SYN-RECEIVED) is allowed.
#[test]
fn must_42_listen_while_port_in_syn_sent() {
    let mut raw = Raw::new(plain());
    let c = raw.sockets().open().unwrap();
    let now = raw.now();
    raw.sockets()
        .connect(
            now,
            c,
            Endpoint::new(hip(), HOST_PORT),
            Endpoint::new(peer_ip(), 9),
        )
        .unwrap();
    raw.poll();
    assert_eq!(raw.state(c), State::SynSent);
    let l = raw.listen(hip(), HOST_PORT);
    assert_eq!(raw.state(l), State::Listen);
    // A SYN from another peer port reaches the listener.
    let out = raw.exchange(&Seg::peer(TcpFlags::SYN, PEER_ISS, 0));
    assert!(out.iter().any(|s| s.has(TcpFlags::SYN | TcpFlags::ACK)));
    assert_eq!(raw.state(c), State::SynSent);
}

/// MUST-43: OPEN takes an optional local address: a listener on the
/// unspecified address serves any local address, connect() takes one.
/// MUST-45: segments of a passively opened connection use the local address
/// the SYN was sent to.
#[test]
fn must_43_45_local_address_in_open() {
    let mut raw = Raw::new(plain());
    let l = raw.listen(Ipv4Address::UNSPECIFIED, HOST_PORT);
    let out = raw.exchange(&Seg::peer(TcpFlags::SYN, PEER_ISS, 0));
    let synack = out.iter().find(|s| s.has(TcpFlags::SYN)).expect("SYN-ACK");
    assert_eq!(synack.src_ip, hip());
    assert_eq!(synack.dst_ip, peer_ip());
    raw.exchange(&Seg::peer(
        TcpFlags::ACK,
        PEER_ISS + 1,
        synack.seq.wrapping_add(1),
    ));
    let h = raw.sockets().accept(l).unwrap();
    assert_eq!(
        raw.sockets().get(h).unwrap().local_endpoint(),
        Endpoint::new(hip(), HOST_PORT)
    );
}

/// MUST-46: an active OPEN to a broadcast or multicast address is refused.
#[test]
fn must_46_reject_open_to_broadcast_or_multicast() {
    let mut raw = Raw::new(plain());
    for dst in [
        Ipv4Address::new(255, 255, 255, 255),
        Ipv4Address::new(10, 0, 0, 255),
        Ipv4Address::new(224, 0, 0, 1),
    ] {
        let c = raw.sockets().open().unwrap();
        let now = raw.now();
        let r = raw
            .sockets()
            .connect(now, c, Endpoint::new(hip(), 0), Endpoint::new(dst, 80));
        assert_eq!(r, Err(TcpError::InvalidEndpoint), "connect to {dst}");
        raw.sockets().abort(c).unwrap();
    }
}

/// MUST-57: segments to a broadcast or multicast address are silently
/// discarded, even with a wildcard listener.
#[test]
fn must_57_discard_segments_to_broadcast_multicast() {
    let mut raw = Raw::new(plain());
    let l = raw.listen(Ipv4Address::UNSPECIFIED, HOST_PORT);
    for dst in [
        Ipv4Address::new(255, 255, 255, 255),
        Ipv4Address::new(10, 0, 0, 255),
        Ipv4Address::new(224, 0, 0, 1),
    ] {
        let mut syn = Seg::peer(TcpFlags::SYN, PEER_ISS, 0);
        syn.dst_ip = dst;
        let frame = ip_frame(
            syn.src_ip,
            dst,
            EthernetAddress::BROADCAST,
            IpProtocol::Tcp,
            &[],
            &syn.tcp_bytes(),
        );
        raw.inject(frame);
        assert!(raw.poll().is_empty(), "answered a SYN to {dst}");
    }
    assert_eq!(raw.sockets().accept(l), Err(TcpError::WouldBlock));
    assert_eq!(raw.sockets().in_use(), 1);
}

/// MUST-63: a SYN from a broadcast or multicast source is rejected.
#[test]
fn must_63_reject_syn_from_invalid_address() {
    let mut raw = Raw::new(plain());
    raw.listen(hip(), HOST_PORT);
    for src in [
        Ipv4Address::new(255, 255, 255, 255),
        Ipv4Address::new(10, 0, 0, 255),
        Ipv4Address::new(224, 0, 0, 5),
        Ipv4Address::UNSPECIFIED,
    ] {
        let mut syn = Seg::peer(TcpFlags::SYN, PEER_ISS, 0);
        syn.src_ip = src;
        raw.send(&syn);
        assert!(raw.poll().is_empty(), "answered a SYN from {src}");
    }
    assert_eq!(raw.sim.hosts[0].iface.stats().rx_bad_address, 4);
    assert_eq!(raw.sockets().in_use(), 1);
}

// ---------------------------------------------------------------------------
// 3.6 Closing
// ---------------------------------------------------------------------------

/// MUST-12 (and MUST-47, the error report): a RST aborts the connection and
/// the application learns why (ConnectionReset on recv/send and error()).
#[test]
fn must_12_inform_application_of_abort() {
    let mut raw = Raw::new(plain());
    let (conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    let out = raw.exchange(&Seg::peer(TcpFlags::RST, conn.snd_nxt, 0));
    assert!(out.is_empty(), "a RST was answered");
    let h = conn.handle;
    assert_eq!(raw.state(h), State::Closed);
    assert_eq!(
        raw.sockets().get(h).unwrap().error(),
        Some(TcpError::ConnectionReset)
    );
    let mut buf = [0u8; 4];
    assert_eq!(
        raw.sockets().recv(h, &mut buf),
        Err(TcpError::ConnectionReset)
    );
    assert_eq!(raw.sockets().send(h, b"x"), Err(TcpError::ConnectionReset));
}

/// MUST-13: the side that closes first stays in TIME-WAIT for 2 MSL
/// (default MSL 2 minutes) and ACKs a retransmitted FIN there.
#[test]
fn must_13_time_wait_two_msl() {
    let mut raw = Raw::new(plain());
    let (mut conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    let h = conn.handle;
    raw.sockets().shutdown(h).unwrap();
    let out = raw.poll();
    let fin = out.iter().find(|s| s.has(TcpFlags::FIN)).expect("no FIN");
    conn.rcv_nxt = fin.seq.wrapping_add(1);
    raw.exchange(&conn.ack());
    assert_eq!(raw.state(h), State::FinWait2);
    let out = raw.exchange(&Seg::peer(
        TcpFlags::FIN | TcpFlags::ACK,
        conn.snd_nxt,
        conn.rcv_nxt,
    ));
    conn.snd_nxt += 1;
    assert!(out.iter().any(|s| s.ack == conn.snd_nxt));
    assert_eq!(raw.state(h), State::TimeWait);
    let entered = raw.now();
    // A retransmitted FIN is ACKed and restarts the wait.
    raw.advance(Duration::from_secs(60));
    let out = raw.exchange(&Seg::peer(
        TcpFlags::FIN | TcpFlags::ACK,
        conn.snd_nxt - 1,
        conn.rcv_nxt,
    ));
    assert!(out
        .iter()
        .any(|s| s.ack == conn.snd_nxt && !s.has(TcpFlags::RST)));
    let restarted = raw.now();
    assert!(restarted > entered);
    raw.run(Duration::from_secs(239));
    assert_eq!(raw.state(h), State::TimeWait, "left TIME-WAIT early");
    raw.run(Duration::from_secs(2));
    assert_eq!(raw.state(h), State::Closed);
}

// ---------------------------------------------------------------------------
// 3.8 Retransmission, windows, keep-alives
// ---------------------------------------------------------------------------

/// MUST-19: exponential backoff of the retransmission timer, slow start
/// (initial window) and congestion window collapse after a timeout.
#[test]
fn must_19_backoff_and_slow_start() {
    let mut raw = Raw::new(plain());
    let (conn, _) = passive_open(&mut raw, mss_opt(1000), 65535);
    let h = conn.handle;
    raw.sockets().send(h, &[5u8; 20_000]).unwrap();
    // Slow start: only the initial window (RFC 5681: 4 segments at MSS 1000) leaves.
    let first = raw.poll();
    let sent: usize = first.iter().map(|s| s.payload.len()).sum();
    assert_eq!(sent, 4000, "initial window");
    // Nothing is ACKed: retransmissions at doubling intervals.
    let out = raw.run(Duration::from_secs(40));
    let times: Vec<Instant> = out
        .iter()
        .filter(|(_, s)| s.seq == conn.rcv_nxt && !s.payload.is_empty())
        .map(|(t, _)| *t)
        .collect();
    assert!(times.len() >= 4, "{times:?}");
    let gaps: Vec<u64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]).total_millis())
        .collect();
    for g in gaps.windows(2) {
        assert_eq!(g[1], 2 * g[0], "not exponential: {gaps:?}");
    }
    // After the timeout only one segment is sent per RTO (cwnd = 1 MSS).
    for (_, s) in &out {
        assert!(s.payload.len() <= 1000);
    }
    assert_eq!(raw.sockets().get(h).unwrap().cwnd(), 1000);
}

/// MUST-18: Karn's algorithm: an ACK for a retransmitted segment gives no
/// RTT sample.
#[test]
fn must_18_karn_algorithm() {
    let mut raw = Raw::new(plain());
    let (mut conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    let h = conn.handle;
    // The handshake gave one sample (SYN-ACK to ACK: 0 s here).
    let srtt0 = raw.sockets().get(h).unwrap().srtt();
    raw.sockets().send(h, b"0123456789").unwrap();
    let first = raw.poll();
    assert_eq!(first.len(), 1);
    // Let it time out and be retransmitted, then ACK 50 ms after that.
    let out = raw.run(Duration::from_millis(1500));
    assert!(out
        .iter()
        .any(|(_, s)| s.seq == first[0].seq && s.payload.len() == 10));
    conn.rcv_nxt = conn.rcv_nxt.wrapping_add(10);
    raw.exchange(&conn.ack());
    assert_eq!(raw.sockets().get(h).unwrap().send_queue(), 0);
    assert_eq!(
        raw.sockets().get(h).unwrap().srtt(),
        srtt0,
        "an ambiguous ACK was used as an RTT sample"
    );
}

/// MUST-20 (R2) and MUST-21: a connection whose data goes unacknowledged is
/// closed after the user timeout (R2, default 180 s), which the application
/// can set.
#[test]
fn must_20_21_r2_closes_connection_and_is_configurable() {
    for (timeout, cfg) in [
        (180u64, plain()),
        (30, with_tcp(|t| t.user_timeout = Duration::from_secs(30))),
    ] {
        let mut raw = Raw::new(cfg);
        let (conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
        let h = conn.handle;
        raw.sockets().send(h, b"data").unwrap();
        let start = raw.now();
        raw.run(Duration::from_secs(timeout - 1));
        assert_eq!(
            raw.state(h),
            State::Established,
            "gave up early ({timeout})"
        );
        let out = raw.run(Duration::from_secs(200));
        assert_eq!(raw.state(h), State::Closed);
        assert_eq!(
            raw.sockets().get(h).unwrap().error(),
            Some(TcpError::TimedOut)
        );
        let rst = out.iter().find(|(_, s)| s.has(TcpFlags::RST));
        let (at, _) = rst.expect("no RST when giving up");
        let waited = (*at - start).total_millis();
        // Gives up at the first RTO expiry at or after R2.
        assert!(waited >= timeout * 1000, "{waited}");
        assert!(waited <= (timeout + 60) * 1000, "{waited}");
    }
}

/// MUST-22, MUST-23: the same R2 mechanism applies to SYNs, and gives up
/// no sooner than 3 minutes.
#[test]
fn must_22_23_syn_retransmission_r2_at_least_3_minutes() {
    let mut raw = Raw::new(plain());
    let c = raw.sockets().open().unwrap();
    let now = raw.now();
    raw.sockets()
        .connect(
            now,
            c,
            Endpoint::new(hip(), 5000),
            Endpoint::new(peer_ip(), 9),
        )
        .unwrap();
    let out = raw.run(Duration::from_secs(179));
    assert_eq!(raw.state(c), State::SynSent);
    let syns = out.iter().filter(|(_, s)| s.has(TcpFlags::SYN)).count();
    assert!(syns >= 5, "{syns} SYNs");
    raw.run(Duration::from_secs(120));
    assert_eq!(raw.state(c), State::Closed);
    assert_eq!(
        raw.sockets().get(c).unwrap().error(),
        Some(TcpError::TimedOut)
    );
}

/// MUST-24, MUST-27: keep-alives are available on request with a
/// configurable interval; MUST-26: only sent after the connection idles
/// that long; MUST-29: one unanswered probe does not kill the connection.
#[test]
#[cfg(feature = "keep-alive")]
fn must_24_26_27_29_keepalive_on_request() {
    let ka = KeepAlive {
        idle: Duration::from_secs(10),
        interval: Duration::from_secs(5),
        count: 3,
    };
    let mut raw = Raw::new(with_tcp(|t| t.keep_alive = Some(ka)));
    let (mut conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    let h = conn.handle;
    // Activity at 8 s restarts the idle clock.
    raw.advance(Duration::from_secs(8));
    raw.send(&conn.data(b"hi"));
    conn.snd_nxt += 2;
    let t0 = raw.now();
    let out = raw.run(Duration::from_secs(12));
    let probes: Vec<Instant> = out
        .iter()
        .filter(|(_, s)| s.payload.is_empty() && s.seq == conn.rcv_nxt.wrapping_sub(1))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(probes.len(), 1, "{out:?}");
    assert_eq!((probes[0] - t0).total_millis(), 10_000);
    // Unanswered: more probes 5 s apart, the connection survives them.
    let out = raw.run(Duration::from_secs(9));
    assert_eq!(raw.state(h), State::Established);
    let more: Vec<Instant> = out
        .iter()
        .filter(|(_, s)| s.seq == conn.rcv_nxt.wrapping_sub(1))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(more.len(), 2, "{more:?}");
    // Answering a probe resets the count: idle again, probes restart later.
    raw.exchange(&conn.ack());
    raw.run(Duration::from_secs(22));
    assert_eq!(raw.state(h), State::Established);
    // Never answered: the connection dies after `count` probes.
    raw.run(Duration::from_secs(120));
    assert_eq!(
        raw.sockets().get(h).unwrap().error(),
        Some(TcpError::TimedOut)
    );
}

/// MUST-25: keep-alives are off by default; MUST-28: the default interval
/// is at least two hours.
#[test]
fn must_25_28_keepalive_default_off_and_two_hours() {
    assert!(TcpConfig::default().keep_alive.is_none());
    assert!(KeepAlive::default().idle >= Duration::from_secs(7200));
    let mut raw = Raw::new(plain());
    let (conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    let out = raw.run(Duration::from_secs(5 * 3600));
    assert!(
        out.is_empty(),
        "segments sent on an idle connection: {out:?}"
    );
    assert_eq!(raw.state(conn.handle), State::Established);
    // Turned on with the default parameters: first probe after 2 hours
    // idle (without the `keep-alive` feature there are no probes at all).
    if !cfg!(feature = "keep-alive") {
        return;
    }
    let mut raw = Raw::new(with_tcp(|t| t.keep_alive = Some(KeepAlive::default())));
    let (_, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    let t0 = raw.now();
    let out = raw.run(Duration::from_secs(3 * 3600));
    assert!(!out.is_empty());
    assert!((out[0].0 - t0).total_millis() >= 7_200_000);
}

/// MUST-34: robust against a shrinking window: the peer takes back window
/// it offered; the host neither loses nor misorders data, and finishes
/// once the window opens again.
#[test]
fn must_34_robust_against_shrinking_window() {
    let mut raw = Raw::new(plain());
    let (mut conn, _) = passive_open(&mut raw, mss_opt(1000), 8000);
    let h = conn.handle;
    let data: Vec<u8> = (0..20_000u32).map(|i| i as u8).collect();
    raw.sockets().send(h, &data).unwrap();
    let out = raw.poll();
    assert!(!out.is_empty());
    // ACK only the first 1000 bytes and shrink the window to 500 (the right
    // edge moves left of what was already sent).
    let acked = 1000usize;
    let mut a = conn.ack().win(500);
    a.ack = conn.rcv_nxt.wrapping_add(acked as u32);
    raw.exchange(&a);
    // Then zero, for a while.
    a.window = 0;
    raw.exchange(&a);
    raw.run(Duration::from_secs(3));
    assert_eq!(raw.state(h), State::Established);
    // Open again and let a cooperative receiver take everything.
    conn.rcv_nxt = conn.rcv_nxt.wrapping_add(acked as u32);
    let mut received = data[..acked].to_vec();
    raw.exchange(&conn.ack().win(8000));
    let out = raw.run_with(Duration::from_secs(30), |_, s| {
        if s.seq == conn.rcv_nxt && !s.payload.is_empty() {
            conn.rcv_nxt = conn.rcv_nxt.wrapping_add(s.payload.len() as u32);
            received.extend(&s.payload);
        }
        if s.payload.is_empty() {
            Vec::new()
        } else {
            vec![conn.ack().win(8000)]
        }
    });
    assert!(!out.is_empty());
    assert_eq!(received.len(), data.len());
    assert!(received == data, "data corrupted across the shrink");
}

/// MUST-35, MUST-36: a zero window is probed, with the standard
/// (backed-off) persist logic.
#[test]
fn must_35_36_zero_window_probing() {
    let mut raw = Raw::new(plain());
    let (conn, _) = passive_open(&mut raw, mss_opt(1460), 0);
    let h = conn.handle;
    raw.sockets().send(h, b"waiting for window").unwrap();
    assert!(raw.poll().is_empty(), "sent into a zero window");
    let out = raw.run_with(Duration::from_secs(20), |_, s| {
        // Refuse the probe byte: ACK with the old edge and window 0.
        if s.payload.is_empty() {
            Vec::new()
        } else {
            vec![conn.ack().win(0)]
        }
    });
    let probes: Vec<(Instant, &Seg)> = out
        .iter()
        .filter(|(_, s)| !s.payload.is_empty())
        .map(|(t, s)| (*t, s))
        .collect();
    assert!(probes.len() >= 3, "{probes:?}");
    for (_, p) in &probes {
        assert_eq!(p.seq, conn.rcv_nxt);
        assert_eq!(p.payload.len(), 1, "probe larger than one byte");
    }
    let gaps: Vec<u64> = probes
        .windows(2)
        .map(|w| (w[1].0 - w[0].0).total_millis())
        .collect();
    assert!(gaps.windows(2).all(|g| g[1] >= g[0]), "{gaps:?}");
    assert!(
        gaps.last().unwrap() > gaps.first().unwrap(),
        "no backoff: {gaps:?}"
    );
}

/// MUST-37: the window may stay zero indefinitely while the peer answers
/// the probes: the connection must not time out.
#[test]
fn must_37_zero_window_may_stay_indefinitely() {
    let mut raw = Raw::new(plain());
    let (conn, _) = passive_open(&mut raw, mss_opt(1460), 0);
    let h = conn.handle;
    raw.sockets().send(h, b"waiting for window").unwrap();
    let out = raw.run_with(Duration::from_secs(1800), |_, s| {
        if s.payload.is_empty() {
            Vec::new()
        } else {
            vec![conn.ack().win(0)]
        }
    });
    let probes = out.iter().filter(|(_, s)| !s.payload.is_empty()).count();
    assert!(probes >= 10, "{probes} probes in 30 minutes");
    assert_eq!(raw.state(h), State::Established);
    assert_eq!(raw.sockets().get(h).unwrap().error(), None);
}

/// MUST-66: a RST is processed even when the receive window is zero.
#[test]
fn must_66_rst_processed_with_zero_window() {
    let mut raw = Raw::new(HostConfig {
        rx_buffer: 2048,
        ..plain()
    });
    let (mut conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    let h = conn.handle;
    raw.send(&conn.data(&[1u8; 1024]));
    conn.snd_nxt += 1024;
    raw.send(&conn.data(&[2u8; 1024]));
    conn.snd_nxt += 1024;
    let out = raw.poll();
    assert_eq!(out.last().map(|s| s.window), Some(0));
    assert_eq!(raw.sockets().get(h).unwrap().recv_window(), 0);
    raw.exchange(&Seg::peer(TcpFlags::RST, conn.snd_nxt, 0));
    assert_eq!(raw.state(h), State::Closed);
    assert_eq!(
        raw.sockets().get(h).unwrap().error(),
        Some(TcpError::ConnectionReset)
    );
}

/// MUST-38: sender silly window avoidance: with data queued and nothing in
/// flight, a small usable window (below a full segment and below half the
/// largest window offered) is not used at once.
#[test]
fn must_38_sender_sws_avoidance() {
    let mut raw = Raw::new(plain());
    let (conn, _) = passive_open(&mut raw, mss_opt(1000), 65535);
    let h = conn.handle;
    // Window shrinks to 100 (peer's buffer almost full) before data is queued.
    raw.exchange(&conn.ack().win(100));
    raw.sockets().send(h, &[9u8; 5000]).unwrap();
    let out = raw.poll();
    assert!(out.is_empty(), "sent a silly segment: {out:?}");
    // A full segment's worth of window releases a full segment.
    let out = raw.exchange(&conn.ack().win(1000));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].payload.len(), 1000);
}

/// MUST-39: receiver silly window avoidance: reading a little from a full
/// buffer does not advertise a tiny window; the window reopens once
/// min(buffer/2, MSS) is free.
#[test]
fn must_39_receiver_sws_avoidance() {
    let mut raw = Raw::new(HostConfig {
        rx_buffer: 4096,
        ..plain()
    });
    let (mut conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    let h = conn.handle;
    for chunk in [1460usize, 1460, 1176] {
        raw.send(&conn.data(&vec![1u8; chunk]));
        conn.snd_nxt += chunk as u32;
    }
    let out = raw.run(Duration::from_millis(300));
    let last = out.last().expect("no ACK").1.clone();
    assert_eq!(last.ack, conn.snd_nxt);
    assert_eq!(last.window, 0);
    let mut buf = vec![0u8; 4096];
    assert_eq!(raw.sockets().recv(h, &mut buf[..100]), Ok(100));
    let out = raw.run(Duration::from_millis(300));
    assert!(
        out.iter().all(|(_, s)| s.window == 0),
        "tiny window: {out:?}"
    );
    assert_eq!(raw.sockets().recv(h, &mut buf[..1400]), Ok(1400));
    let out = raw.run(Duration::from_millis(300));
    let upd = out
        .iter()
        .find(|(_, s)| s.window > 0)
        .expect("no window update");
    assert!(upd.1.window >= 1460, "{:?}", upd.1);
}

/// MUST-40: delayed ACKs are sent within 0.5 s (default delay 40 ms).
#[test]
fn must_40_delayed_ack_under_half_second() {
    let mut raw = Raw::new(plain());
    let (mut conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    raw.send(&conn.data(b"one small segment"));
    conn.snd_nxt += 17;
    let t0 = raw.now();
    let out = raw.run(Duration::from_secs(1));
    let (t, ack) = out.first().expect("never ACKed");
    assert_eq!(ack.ack, conn.snd_nxt);
    assert!((*t - t0) < Duration::from_millis(500), "{:?}", *t - t0);
}

/// MUST-40: the delay stays below 0.5 s even when the application
/// configures a longer one.
#[test]
fn must_40_delayed_ack_config_clamped() {
    let mut raw = Raw::new(with_tcp(|t| t.ack_delay = Some(Duration::from_secs(2))));
    let (conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    raw.send(&conn.data(b"x"));
    let t0 = raw.now();
    let out = raw.run(Duration::from_secs(3));
    let (t, _) = out.first().expect("never ACKed");
    assert!((*t - t0) < Duration::from_millis(500), "{:?}", *t - t0);
    // The project's bound (issue 3): 200 ms at most.
    assert!((*t - t0) <= Duration::from_millis(200), "{:?}", *t - t0);
}

/// MUST-58: ACKs are aggregated: a burst of in-order segments gets at most
/// one cumulative ACK per two segments, the last covering everything.
#[test]
fn must_58_aggregate_acks() {
    let mut raw = Raw::new(plain());
    let (mut conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    for _ in 0..4 {
        raw.send(&conn.data(b"abc"));
        conn.snd_nxt += 3;
    }
    let out = raw.run(Duration::from_secs(1));
    assert!(!out.is_empty() && out.len() <= 2, "{out:?}");
    assert_eq!(out.last().unwrap().1.ack, conn.snd_nxt);
}

/// MUST-59: all segments queued for the connection are processed before an
/// ACK is sent: four full-sized segments arriving together get one ACK.
#[test]
fn must_59_process_all_queued_before_ack() {
    let mut raw = Raw::new(plain());
    let (mut conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    for _ in 0..4 {
        raw.send(&conn.data(&[4u8; 1460]));
        conn.snd_nxt += 1460;
    }
    let out = raw.poll();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].ack, conn.snd_nxt);
}

/// MUST-17: the application can disable Nagle: a second small write goes
/// out at once while the first is unacknowledged (and waits with Nagle on).
#[test]
fn must_17_nagle_can_be_disabled() {
    for nodelay in [false, true] {
        let mut raw = Raw::new(plain());
        let (_, _) = passive_open(&mut raw, mss_opt(1460), 65535);
        let h = raw
            .sockets()
            .iter()
            .find(|(_, s)| s.state() == State::Established);
        let h = h.unwrap().0;
        raw.sockets().with(h, |s| s.set_nodelay(nodelay)).unwrap();
        raw.sockets().send(h, b"first").unwrap();
        assert_eq!(raw.poll().len(), 1);
        raw.sockets().send(h, b"second").unwrap();
        let out = raw.poll();
        assert_eq!(
            out.len(),
            usize::from(nodelay),
            "nodelay={nodelay}: {out:?}"
        );
    }
}

/// MUST-60: data is not buffered indefinitely; MUST-61: the last segment of
/// what the application queued carries PSH.
#[test]
fn must_60_61_push() {
    let mut raw = Raw::new(plain());
    let (conn, _) = passive_open(&mut raw, mss_opt(1000), 65535);
    raw.sockets().send(conn.handle, &[1u8; 2500]).unwrap();
    let out = raw.poll();
    let sent: usize = out.iter().map(|s| s.payload.len()).sum();
    assert_eq!(sent, 2500, "data held back");
    assert!(out.last().unwrap().has(TcpFlags::PSH));
    assert!(out[..out.len() - 1].iter().all(|s| !s.has(TcpFlags::PSH)));
}

// ---------------------------------------------------------------------------
// Urgent data (3.8.5, RFC 6093): inline, with the pointer both ways
// ---------------------------------------------------------------------------

/// MUST-30, MUST-62, MUST-32, MUST-33 (receive side): urgent data stays
/// inline in the stream; the pointer (13 = the first non-urgent octet's
/// offset) makes the host signal the application at once, before it reads,
/// and say how much urgent data is left to read before the mark.
#[test]
#[cfg(feature = "urgent")]
fn must_30_urgent_data_delivered_inline() {
    let mut raw = Raw::new(plain());
    let (conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    let h = conn.handle;
    assert!(!raw.sockets().get(h).unwrap().urgent_pending());
    let mut seg = conn.data(b"normal+URGENTafter");
    seg.flags |= TcpFlags::URG;
    seg.urgent = 13;
    raw.send(&seg);
    raw.run(Duration::from_millis(100));
    // MUST-32: the notice is there without any read.
    let sock = raw.sockets().get(h).unwrap();
    assert!(sock.urgent_signalled() && sock.urgent_pending());
    // MUST-33 / MUST-62: 13 octets up to the mark ("normal+URGENT"); "a" is
    // the first non-urgent one.
    assert_eq!(sock.urgent_remaining(), 13);
    let mut buf = [0u8; 32];
    let n = raw.sockets().recv(h, &mut buf[..6]).unwrap();
    assert_eq!(&buf[..n], b"normal");
    assert_eq!(raw.sockets().get(h).unwrap().urgent_remaining(), 7);
    let n = raw.sockets().recv(h, &mut buf[..7]).unwrap();
    assert_eq!(&buf[..n], b"+URGENT");
    let sock = raw.sockets().get(h).unwrap();
    assert!(!sock.urgent_pending());
    assert_eq!(sock.urgent_remaining(), 0);
    let n = raw.sockets().recv(h, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"after");
    assert!(raw.sockets().with(h, |s| s.take_urgent_signal()).unwrap());
    assert!(!raw.sockets().with(h, |s| s.take_urgent_signal()).unwrap());
}

/// MUST-62 (send side), MUST-30: `send_urgent` sets URG and points the
/// urgent pointer at the first octet after the urgent data; data sent
/// after the urgent data has been acknowledged carries no URG.
#[test]
#[cfg(feature = "urgent")]
fn must_62_send_urgent_pointer_is_first_non_urgent_octet() {
    let mut raw = Raw::new(plain());
    let (mut conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    let h = conn.handle;
    raw.sockets().send(h, b"normal").unwrap();
    assert_eq!(raw.sockets().send_urgent(h, b"URG!"), Ok(4));
    let out = raw.run_with(Duration::from_millis(300), acker(&mut conn, 65535));
    let data: Vec<&Seg> = out
        .iter()
        .map(|(_, s)| s)
        .filter(|s| !s.payload.is_empty())
        .collect();
    assert_eq!(data.len(), 1, "{data:?}");
    assert_eq!(data[0].payload, b"normalURG!");
    assert!(data[0].has(TcpFlags::URG));
    assert_eq!(
        data[0].urgent, 10,
        "pointer = offset of the first non-urgent octet"
    );
    raw.sockets().send(h, b"plain").unwrap();
    let out = raw.run_with(Duration::from_millis(300), acker(&mut conn, 65535));
    let later: Vec<&Seg> = out
        .iter()
        .map(|(_, s)| s)
        .filter(|s| !s.payload.is_empty())
        .collect();
    assert_eq!(later.len(), 1);
    assert!(!later[0].has(TcpFlags::URG) && later[0].urgent == 0);
}

/// MUST-31 (send side): urgent data longer than a segment, and longer than
/// the 16-bit pointer can reach: every segment before the mark carries URG
/// with the distance to it (65535 while it is farther), so the mark is
/// carried across all of them.
#[test]
#[cfg(feature = "urgent")]
fn must_31_send_urgent_pointer_carried_across_segments() {
    let mut raw = Raw::new(HostConfig {
        tx_buffer: 256 * 1024,
        ..plain()
    });
    let (mut conn, _) = passive_open(&mut raw, mss_opt(1000), 65535);
    let h = conn.handle;
    let start = conn.rcv_nxt;
    let urgent = vec![0x55u8; 100_000];
    assert_eq!(raw.sockets().send_urgent(h, &urgent), Ok(100_000));
    raw.sockets().send(h, &[0x11; 3000]).unwrap();
    let up = start.wrapping_add(100_000);
    let out = raw.run_with(Duration::from_secs(20), acker(&mut conn, 65535));
    let data: Vec<&Seg> = out
        .iter()
        .map(|(_, s)| s)
        .filter(|s| !s.payload.is_empty())
        .collect();
    let total: usize = data.iter().map(|s| s.payload.len()).sum();
    assert!(total >= 103_000, "sent {total}");
    let mut clamped = 0;
    for s in &data {
        let dist = up.wrapping_sub(s.seq);
        if (dist as i32) > 0 {
            assert!(s.has(TcpFlags::URG), "no URG at {}", s.seq);
            assert_eq!(u32::from(s.urgent), dist.min(65535));
            clamped += usize::from(dist > 65535);
        } else {
            assert!(!s.has(TcpFlags::URG), "URG past the mark at {}", s.seq);
        }
    }
    assert!(clamped > 0, "no segment needed the clamped pointer");
}

/// MUST-30 with a closed window: new urgent data is announced by a bare ACK
/// carrying URG and the pointer, before any of it can be sent.
#[test]
#[cfg(feature = "urgent")]
fn must_30_urgent_announced_while_window_closed() {
    let mut raw = Raw::new(plain());
    let (conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    let h = conn.handle;
    raw.exchange(&conn.ack().win(0));
    raw.sockets().send_urgent(h, b"!").unwrap();
    let out = raw.poll();
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(out[0].payload.is_empty());
    assert!(out[0].has(TcpFlags::URG | TcpFlags::ACK));
    assert_eq!(out[0].urgent, 1);
}

/// MUST-31 (receive side), MUST-32: urgent data of any length: the peer
/// marks 100,000 octets as urgent over many segments (the pointer first
/// clamped to 65535, later exact); RCV.UP follows, the application is
/// signalled once for the whole run, and the remaining count is right at
/// every step of reading.
#[test]
#[cfg(feature = "urgent")]
fn must_31_receive_urgent_data_of_any_length() {
    let mut raw = Raw::new(plain());
    let (mut conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    let h = conn.handle;
    let mark = conn.snd_nxt.wrapping_add(100_000);
    let mut read = 0usize;
    let mut signals = 0;
    let mut buf = vec![0u8; 8192];
    while read < 100_000 {
        // Send as much as the host's window takes, 1000 octets a segment.
        for _ in 0..16 {
            let dist = mark.wrapping_sub(conn.snd_nxt);
            if dist == 0 || (dist as i32) < 0 {
                break;
            }
            let len = dist.min(1000) as usize;
            let mut seg = conn.data(&vec![0xaa; len]);
            seg.flags |= TcpFlags::URG;
            seg.urgent = dist.min(65535) as u16;
            raw.send(&seg);
            conn.snd_nxt = conn.snd_nxt.wrapping_add(len as u32);
        }
        raw.run(Duration::from_millis(50));
        if raw.sockets().with(h, |s| s.take_urgent_signal()).unwrap() {
            signals += 1;
        }
        let sock = raw.sockets().get(h).unwrap();
        assert!(sock.urgent_pending());
        let remaining = sock.urgent_remaining();
        assert!(
            remaining >= (100_000 - read).min(65535),
            "{remaining} at {read}"
        );
        let before = read;
        while let Ok(n) = raw.sockets().recv(h, &mut buf) {
            if n == 0 {
                break;
            }
            read += n;
        }
        assert!(read > before, "nothing arrived");
    }
    assert_eq!(read, 100_000);
    assert_eq!(signals, 1, "one notice for one run of urgent data");
    assert!(!raw.sockets().get(h).unwrap().urgent_pending());
}

/// MUST-30, MUST-31, MUST-32, MUST-33 end to end, between two rtcp stacks
/// over a link losing and reordering 5% of frames: 10,000 ordinary octets, 20,000 sent as
/// urgent, 5,000 ordinary. The receiver is signalled once, before reading,
/// and at every read knows exactly how far the mark (30,000) is, whichever
/// segments were lost, retransmitted or reordered; the bytes arrive intact
/// and in order.
#[test]
#[cfg(feature = "urgent")]
fn must_30_31_32_33_urgent_between_two_stacks() {
    let lossy = HostConfig {
        link: LinkConfig {
            latency: Duration::from_millis(5),
            loss_ppm: 50_000,
            reorder_ppm: 50_000,
            ..LinkConfig::default()
        },
        ..plain()
    };
    let mut sim = Sim::new(11, &[lossy, lossy]);
    let l = sim.hosts[1].sockets.open().unwrap();
    sim.hosts[1]
        .sockets
        .listen(l, Endpoint::new(host_ip(1), 9000), 4)
        .unwrap();
    let c = sim.hosts[0].sockets.open().unwrap();
    let now = sim.now;
    sim.hosts[0]
        .sockets
        .connect(
            now,
            c,
            Endpoint::new(host_ip(0), 0),
            Endpoint::new(host_ip(1), 9000),
        )
        .unwrap();
    let mut b = None;
    let ok = sim.run_until(Duration::from_secs(60), |sim| {
        b = sim.hosts[1].sockets.accept(l).ok();
        b.is_some() && sim.hosts[0].sockets.get(c).unwrap().state() == State::Established
    });
    assert!(ok, "no connection");
    let b = b.unwrap();
    let mut expect = vec![1u8; 10_000];
    expect.extend(vec![2u8; 20_000]);
    expect.extend(vec![3u8; 5_000]);
    let tx = &mut sim.hosts[0].sockets;
    assert_eq!(tx.send(c, &expect[..10_000]), Ok(10_000));
    assert_eq!(tx.send_urgent(c, &expect[10_000..30_000]), Ok(20_000));
    assert_eq!(tx.send(c, &expect[30_000..]), Ok(5_000));
    let mut got = Vec::new();
    let mut signals = 0;
    let mut buf = vec![0u8; 3000];
    let ok = sim.run_until(Duration::from_secs(120), |sim| {
        let rx = &mut sim.hosts[1].sockets;
        if rx.with(b, |s| s.take_urgent_signal()).unwrap() {
            signals += 1;
        }
        loop {
            let sock = rx.get(b).unwrap();
            if signals > 0 {
                assert_eq!(
                    sock.urgent_remaining(),
                    30_000usize.saturating_sub(got.len()),
                    "at {}",
                    got.len()
                );
                assert_eq!(sock.urgent_pending(), got.len() < 30_000);
            }
            match rx.recv(b, &mut buf) {
                Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
        got.len() == expect.len()
    });
    assert!(ok, "received {} of {}", got.len(), expect.len());
    assert!(got == expect, "bytes differ");
    assert_eq!(signals, 1);
    assert!(sim.stats.lost > 0, "the link lost nothing");
}

/// MUST-66 (the URG half), §3.10.7.4: with the receive window closed the
/// urgent pointer of a segment at RCV.NXT is still taken and signalled,
/// although its data is not.
#[test]
#[cfg(feature = "urgent")]
fn must_66_urg_processed_with_zero_window() {
    let mut raw = Raw::new(HostConfig {
        rx_buffer: 2048,
        ..plain()
    });
    let (mut conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    let h = conn.handle;
    raw.send(&conn.data(&[1u8; 1024]));
    conn.snd_nxt += 1024;
    raw.send(&conn.data(&[2u8; 1024]));
    conn.snd_nxt += 1024;
    raw.poll();
    assert_eq!(raw.sockets().get(h).unwrap().recv_window(), 0);
    let mut seg = conn.data(b"!");
    seg.flags |= TcpFlags::URG;
    seg.urgent = 1;
    raw.exchange(&seg);
    let sock = raw.sockets().get(h).unwrap();
    assert!(sock.urgent_signalled());
    assert_eq!(sock.urgent_remaining(), 2048 + 1);
    assert_eq!(sock.recv_queue(), 2048, "the data itself is not taken");
}

// ---------------------------------------------------------------------------
// 3.9.2 IP and ICMP
// ---------------------------------------------------------------------------

/// MUST-50: IP options TCP does not understand are ignored (a SYN in an
/// IPv4 packet with options is served).
#[test]
fn must_50_ignore_ip_options() {
    let mut raw = Raw::new(plain());
    raw.listen(hip(), HOST_PORT);
    let syn = Seg::peer(TcpFlags::SYN, PEER_ISS, 0).opts(mss_opt(1460));
    // NOP NOP NOP EOL (4 bytes) and a record-route-like unknown option.
    let ip_opts = [1, 1, 1, 0];
    let frame = ip_frame(
        peer_ip(),
        hip(),
        host_mac(0),
        IpProtocol::Tcp,
        &ip_opts,
        &syn.tcp_bytes(),
    );
    raw.inject(frame);
    let out = raw.poll();
    assert!(
        out.iter().any(|s| s.has(TcpFlags::SYN | TcpFlags::ACK)),
        "{out:?}"
    );
}

/// An ICMP error quoting a segment of the connection.
fn icmp_error(conn: &Conn, ty: u8, code: u8) -> Vec<u8> {
    let quoted_tcp = Seg {
        src_ip: hip(),
        dst_ip: peer_ip(),
        src_port: HOST_PORT,
        dst_port: PEER_PORT,
        ..conn.ack()
    }
    .tcp_bytes();
    let quoted = ip_frame(
        hip(),
        peer_ip(),
        PEER_MAC,
        IpProtocol::Tcp,
        &[],
        &quoted_tcp,
    );
    let mut icmp = vec![ty, code, 0, 0, 0, 0, 0, 0];
    icmp.extend(&quoted[14..14 + 28]);
    let sum = inet_checksum(&icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    ip_frame(peer_ip(), hip(), host_mac(0), IpProtocol::Icmp, &[], &icmp)
}

/// MUST-56: ICMP destination unreachable (codes 0, 1, 5), time exceeded and
/// parameter problem do not abort the connection.
#[test]
fn must_56_icmp_soft_errors_do_not_abort() {
    let mut raw = Raw::new(plain());
    let (conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    let h = conn.handle;
    for (ty, code) in [(3u8, 0u8), (3, 1), (3, 5), (11, 0), (11, 1), (12, 0)] {
        raw.inject(icmp_error(&conn, ty, code));
        assert!(raw.poll().is_empty());
        assert_eq!(
            raw.state(h),
            State::Established,
            "aborted on ICMP {ty}/{code}"
        );
    }
    assert!(raw.sim.hosts[0].iface.stats().icmp_errors >= 5);
    raw.send(&conn.data(b"still up"));
    raw.poll();
    let mut buf = [0u8; 16];
    assert_eq!(raw.sockets().recv(h, &mut buf), Ok(8));
}

/// MUST-55: ICMP source quench is silently discarded (no reply, no change
/// to the connection or its congestion window).
#[test]
fn must_55_source_quench_discarded() {
    let mut raw = Raw::new(plain());
    let (conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    let h = conn.handle;
    let cwnd = raw.sockets().get(h).unwrap().cwnd();
    raw.inject(icmp_error(&conn, 4, 0));
    let before = raw.sim.hosts[0].iface.stats().tx_frames;
    assert!(raw.poll().is_empty());
    assert_eq!(raw.sim.hosts[0].iface.stats().tx_frames, before);
    assert_eq!(raw.state(h), State::Established);
    assert_eq!(raw.sockets().get(h).unwrap().cwnd(), cwnd);
}

// ---------------------------------------------------------------------------
// RST generation (3.10.7.1), used by several rows
// ---------------------------------------------------------------------------

/// A segment for no connection draws the RFC's RST; a RST draws nothing.
#[test]
fn must_12_reset_generation_for_closed_port() {
    let mut raw = Raw::new(plain());
    let out = raw.exchange(&Seg::peer(TcpFlags::SYN, PEER_ISS, 0).data(b"ab"));
    assert_eq!(out.len(), 1);
    assert!(out[0].has(TcpFlags::RST | TcpFlags::ACK));
    assert_eq!(out[0].seq, 0);
    assert_eq!(out[0].ack, PEER_ISS + 3);
    let out = raw.exchange(&Seg::peer(TcpFlags::ACK, PEER_ISS, 777));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].flags, TcpFlags::RST);
    assert_eq!(out[0].seq, 777);
    assert!(raw
        .exchange(&Seg::peer(TcpFlags::RST, PEER_ISS, 0))
        .is_empty());
}

/// MUST-49: without configuration the IPv4 TTL is the default the docs
/// name (64, RFC 1700's recommendation); `must_49_ttl_is_configurable`
/// changes it.
#[test]
fn must_49_ttl_default() {
    let mut raw = Raw::new(plain());
    let (_, synack) = passive_open(&mut raw, mss_opt(1460), 65535);
    assert_eq!(synack.ttl, 64);
}

/// MUST-49: the TTL is configurable (per interface).
#[test]
fn must_49_ttl_is_configurable() {
    let mut raw = Raw::new(plain());
    raw.sim.hosts[0].iface.set_ttl(17);
    let (_, synack) = passive_open(&mut raw, mss_opt(1460), 65535);
    assert_eq!(synack.ttl, 17);
}

/// MUST-20 (R2) when the neighbour stops answering ARP: the connection must
/// still be given up after the user timeout.
#[test]
fn must_20_r2_applies_when_neighbour_unreachable() {
    let mut raw = Raw::new(plain());
    raw.answer_arp = false;
    let c = raw.sockets().open().unwrap();
    let now = raw.now();
    raw.sockets()
        .connect(
            now,
            c,
            Endpoint::new(hip(), 5000),
            Endpoint::new(peer_ip(), 9),
        )
        .unwrap();
    // The ARP entry from the priming request expires during the backoff.
    raw.run(Duration::from_secs(600));
    assert_eq!(raw.state(c), State::Closed);
    assert_eq!(
        raw.sockets().get(c).unwrap().error(),
        Some(TcpError::TimedOut)
    );
}

// ---------------------------------------------------------------------------
// 3.9.1.9 Diffserv, 3.8.3 negative advice (R1), 3.9.2.1 source routing
// ---------------------------------------------------------------------------

/// MUST-48: the application chooses the DSCP of its segments: a default
/// for every socket through `TcpConfig::dscp` (here the listener's, which
/// its connections inherit), and per socket with `set_dscp`.
#[test]
fn must_48_application_sets_dscp() {
    let mut raw = Raw::new(with_tcp(|t| t.dscp = Dscp::new(10).unwrap()));
    let (mut conn, synack) = passive_open(&mut raw, mss_opt(1460), 65535);
    assert_eq!(synack.dscp, 10);
    let h = conn.handle;
    raw.sockets().send(h, b"cs").unwrap();
    let out = raw.run_with(Duration::from_millis(100), acker(&mut conn, 65535));
    assert!(out.iter().all(|(_, s)| s.dscp == 10), "{out:?}");
    raw.sockets().with(h, |s| s.set_dscp(Dscp::EF)).unwrap();
    assert_eq!(raw.sockets().get(h).unwrap().dscp(), Dscp::EF);
    raw.sockets().send(h, b"ef").unwrap();
    let out = raw.run_with(Duration::from_millis(100), acker(&mut conn, 65535));
    assert!(!out.is_empty());
    assert!(out.iter().all(|(_, s)| s.dscp == 46), "{out:?}");
    // An ordinary socket keeps the default codepoint.
    let mut raw = Raw::new(plain());
    let (_, synack) = passive_open(&mut raw, mss_opt(1460), 65535);
    assert_eq!(synack.dscp, 0);
}

/// Retransmissions of the data segment, with whether an ARP request for the
/// peer went out just before each (`run_with` answers ARP).
fn rto_retransmissions(raw: &mut Raw, conn: &Conn, d: Duration) -> Vec<(Instant, bool)> {
    let h = conn.handle;
    raw.sockets().send(h, b"lost").unwrap();
    let mut out = Vec::new();
    let end = raw.now() + d;
    while raw.now() < end {
        let asked = raw.arp_requests.len();
        let segs = raw.poll();
        let asked = raw.arp_requests.len() > asked;
        for _ in segs.iter().filter(|s| !s.payload.is_empty()) {
            out.push((raw.now(), asked));
        }
        match raw.next_deadline() {
            Some(t) if t > raw.now() => raw.sim.now = t.min(end),
            _ => raw.advance(Duration::from_millis(1)),
        }
    }
    out
}

/// MUST-20 (R1): once R1 (default 3) retransmission timeouts of the same
/// segment have happened, each further retransmission passes negative
/// advice to IP: the interface forgets the next hop's link address and
/// resolves it again (counted in `InterfaceStats::negative_advice`).
#[test]
fn must_20_negative_advice_after_r1_retransmissions() {
    let mut raw = Raw::new(plain());
    let (conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    assert_eq!(raw.sockets().get(conn.handle).unwrap().config().r1, 3);
    let sent = rto_retransmissions(&mut raw, &conn, Duration::from_secs(40));
    // First transmission, then retransmissions 1, 2, 3, 4 (RTO 1, 2, 4, 8 s).
    assert!(sent.len() >= 5, "{sent:?}");
    let asked: Vec<bool> = sent.iter().map(|&(_, a)| a).collect();
    assert_eq!(&asked[..5], &[false, false, false, true, true], "{sent:?}");
    let stats = raw.sim.hosts[0].iface.stats();
    assert_eq!(stats.negative_advice, (sent.len() - 3) as u64);
    // Progress resets the count: the connection carries on normally.
    assert_eq!(raw.state(conn.handle), State::Established);
}

/// MUST-20 (R1 is configurable): with R1 = 1 the first retransmission
/// already re-resolves the next hop.
#[test]
fn must_20_r1_is_configurable() {
    let mut raw = Raw::new(with_tcp(|t| t.r1 = 1));
    let (conn, _) = passive_open(&mut raw, mss_opt(1460), 65535);
    let sent = rto_retransmissions(&mut raw, &conn, Duration::from_secs(4));
    let asked: Vec<bool> = sent.iter().map(|&(_, a)| a).collect();
    assert_eq!(&asked[..3], &[false, true, true], "{sent:?}");
    assert_eq!(raw.sim.hosts[0].iface.stats().negative_advice, 2);
}

fn a(last: u8) -> Ipv4Address {
    Ipv4Address::new(10, 0, 0, last)
}

/// MUST-51: the application gives a connection a source route: its SYN and
/// data go to the first hop with a loose source route option naming the
/// rest and the final destination; the TCP checksum covers the final
/// destination; segments shrink by the option's size (MUST-16).
#[test]
#[cfg(feature = "source-route")]
fn must_51_application_specifies_source_route() {
    let mut raw = Raw::new(plain());
    let c = raw.sockets().open().unwrap();
    let route = SourceRoute::new(RouteKind::Loose, &[a(5), a(6)]).unwrap();
    raw.sockets()
        .with(c, |s| s.set_source_route(Some(route)))
        .unwrap()
        .unwrap();
    let now = raw.now();
    raw.sockets()
        .connect(
            now,
            c,
            Endpoint::new(hip(), 5000),
            Endpoint::new(peer_ip(), 80),
        )
        .unwrap();
    let out = raw.poll();
    let syn = out.iter().find(|s| s.has(TcpFlags::SYN)).expect("no SYN");
    assert_eq!(syn.ip_dst, a(5), "sent to the first hop");
    assert_eq!(syn.dst_ip, peer_ip(), "final destination in the option");
    assert_eq!(syn.ip_opts, [1, 131, 11, 4, 10, 0, 0, 6, 10, 0, 0, 2]);
    assert!(syn.checksum_ok);
    assert!(raw.arp_requests.contains(&a(5)));
    // Complete the handshake (the peer's SYN-ACK arrives directly) and send.
    let mut synack =
        Seg::peer(TcpFlags::SYN | TcpFlags::ACK, PEER_ISS, syn.seq + 1).opts(mss_opt(1460));
    synack.src_port = 80;
    synack.dst_port = 5000;
    raw.send(&synack);
    raw.poll();
    assert_eq!(raw.state(c), State::Established);
    raw.sockets().send(c, &[3u8; 4000]).unwrap();
    let out = raw.poll();
    let data: Vec<&Seg> = out.iter().filter(|s| !s.payload.is_empty()).collect();
    assert!(!data.is_empty());
    for s in &data {
        assert_eq!(s.ip_dst, a(5));
        assert_eq!(s.ip_opts.len(), 12);
        assert!(s.checksum_ok);
        assert!(s.payload.len() <= 1460 - 12, "{} octets", s.payload.len());
    }
}

/// A SYN from the peer whose datagram took the (completed) loose source
/// route `recorded`.
fn source_routed_syn(recorded: &[Ipv4Address], complete: bool) -> Vec<u8> {
    let mut opts = vec![1, 131, (3 + 4 * recorded.len()) as u8];
    opts.push(if complete {
        4 + 4 * recorded.len() as u8
    } else {
        4
    });
    for r in recorded {
        opts.extend(r.0);
    }
    let syn = Seg::peer(TcpFlags::SYN, PEER_ISS, 0).opts(mss_opt(1460));
    ip_frame(
        peer_ip(),
        hip(),
        host_mac(0),
        IpProtocol::Tcp,
        &opts,
        &syn.tcp_bytes(),
    )
}

/// MUST-53: a SYN that arrives with a completed source route is answered
/// along the recorded route reversed, and the connection keeps that route.
/// An incomplete route (we are a hop, not the destination) is dropped.
#[test]
#[cfg(feature = "source-route")]
fn must_53_return_route_from_received_source_route() {
    let mut raw = Raw::new(plain());
    let l = raw.listen(hip(), HOST_PORT);
    raw.inject(source_routed_syn(&[a(7), a(8)], false));
    assert!(raw.poll().is_empty(), "an incomplete route was served");
    assert_eq!(raw.sim.hosts[0].iface.stats().rx_source_route_dropped, 1);

    raw.inject(source_routed_syn(&[a(7), a(8)], true));
    let out = raw.poll();
    let synack = out
        .iter()
        .find(|s| s.has(TcpFlags::SYN | TcpFlags::ACK))
        .expect("no SYN-ACK");
    assert_eq!(synack.ip_dst, a(8), "the last recorded hop comes first");
    assert_eq!(synack.ip_opts, [1, 131, 11, 4, 10, 0, 0, 7, 10, 0, 0, 2]);
    assert!(synack.checksum_ok);
    assert_eq!(raw.sim.hosts[0].iface.stats().rx_source_routed, 1);
    let conn = Conn {
        snd_nxt: PEER_ISS + 1,
        rcv_nxt: synack.seq.wrapping_add(1),
        handle: l,
    };
    raw.exchange(&conn.ack());
    let h = raw.sockets().accept(l).unwrap();
    let back = raw.sockets().get(h).unwrap().source_route().copied();
    assert_eq!(back.map(|r| r.hops().to_vec()), Some(vec![a(8), a(7)]));
    raw.sockets().send(h, b"reply").unwrap();
    let out = raw.poll();
    assert!(out.iter().all(|s| s.ip_dst == a(8)), "{out:?}");
}

/// MUST-53 for replies that have no connection (RFC 1122 §3.2.1.8 (c)): the
/// RST answering a source-routed segment to a closed port takes the
/// reversed route too.
#[test]
#[cfg(feature = "source-route")]
fn must_53_reset_takes_the_return_route() {
    let mut raw = Raw::new(plain());
    raw.inject(source_routed_syn(&[a(7), a(8)], true));
    let out = raw.poll();
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(out[0].has(TcpFlags::RST | TcpFlags::ACK));
    assert_eq!(out[0].ip_dst, a(8));
    assert_eq!(out[0].ip_opts, [1, 131, 11, 4, 10, 0, 0, 7, 10, 0, 0, 2]);
    assert_eq!(out[0].dst_ip, peer_ip());
    assert!(out[0].checksum_ok);
}

/// MUST-52: a source route the application set (on the listener, which
/// its connections inherit) overrides the one a received datagram carries.
#[test]
#[cfg(feature = "source-route")]
fn must_52_application_route_overrides_received_route() {
    let mut raw = Raw::new(plain());
    let l = raw.listen(hip(), HOST_PORT);
    let mine = SourceRoute::new(RouteKind::Strict, &[a(5)]).unwrap();
    raw.sockets()
        .with(l, |s| s.set_source_route(Some(mine)))
        .unwrap()
        .unwrap();
    raw.inject(source_routed_syn(&[a(7), a(8)], true));
    let out = raw.poll();
    let synack = out
        .iter()
        .find(|s| s.has(TcpFlags::SYN | TcpFlags::ACK))
        .expect("no SYN-ACK");
    assert_eq!(synack.ip_dst, a(5));
    assert_eq!(synack.ip_opts, [1, 137, 7, 4, 10, 0, 0, 2]);
    assert!(synack.checksum_ok);
}

/// Source routing can be switched off (RFC 7126 advice): source-routed
/// datagrams are then dropped and counted, and malformed options are
/// dropped as malformed, never a panic.
#[test]
fn must_53_source_routing_can_be_refused_and_malformed_options_dropped() {
    let mut raw = Raw::new(plain());
    raw.listen(hip(), HOST_PORT);
    raw.sim.hosts[0].iface.set_source_routing(false);
    raw.inject(source_routed_syn(&[a(7)], true));
    assert!(raw.poll().is_empty());
    assert_eq!(raw.sim.hosts[0].iface.stats().rx_source_route_dropped, 1);
    let syn = Seg::peer(TcpFlags::SYN, PEER_ISS, 0).opts(mss_opt(1460));
    let bad = ip_frame(
        peer_ip(),
        hip(),
        host_mac(0),
        IpProtocol::Tcp,
        &[131, 9, 4, 0],
        &syn.tcp_bytes(),
    );
    let before = raw.sim.hosts[0].iface.stats().rx_malformed;
    raw.inject(bad);
    assert!(raw.poll().is_empty());
    assert_eq!(raw.sim.hosts[0].iface.stats().rx_malformed, before + 1);
}
