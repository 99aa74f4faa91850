//! The fuzz targets' logic, shared by `rtcp-fuzz` (cargo-fuzz, nightly) and
//! the stable replay test `tests/tests/fuzz_replay.rs`, which runs every
//! corpus entry and every saved crash through the same functions.
//!
//! - [`segment`]: any bytes parsed as Ethernet → ARP / IPv4 → TCP / ICMP;
//!   whatever parses is emitted again and re-parsed, and must come back
//!   equal, with the checksums computed on emit verifying on parse.
//! - [`fsm`]: one connection driven by user calls, time and segments from a
//!   fuzzer-played peer whose sequence and ack numbers are chosen relative to
//!   what the stack last sent, with invariants checked after every step.
//! - [`stack`]: two interfaces over a link whose loss, duplication,
//!   reordering and corruption come from the input; what arrives is always a
//!   prefix of what was sent.
//!
//! A failed invariant panics (that is what the fuzzer reports).
//!
//! To see what a saved `stack` input does, replay it with
//! `RTCP_FUZZ_TRACE=1` (every TCP segment as it leaves a host) and
//! `RTCP_FUZZ_DEBUG=1` (both sockets' state at the end):
//! `RTCP_FUZZ_TRACE=1 cargo test --release -p rtcp-tests --test fuzz_replay stack -- --nocapture`.
//! For `fsm`, `RTCP_FUZZ_TRACE=1` prints each step and every TCP segment
//! the stack (host 0) sends.

use crate::sim::{host_ip, host_mac, HostConfig, Sim};
use arbitrary::{Arbitrary, Unstructured};
use rtcp_core::iface::{Interface, InterfaceConfig};
use rtcp_core::socket_set::{SocketHandle, SocketSet, SocketSlot};
use rtcp_core::tcp::output::PollAt;
use rtcp_core::tcp::{Endpoint, State, TcpConfig, TcpSocket};
use rtcp_core::time::{Duration, Instant};
use rtcp_core::wire::tcp::SackBlock;
use rtcp_core::wire::{
    ArpOperation, ArpPacket, ArpRepr, ChecksumMode, Error, EtherType, EthernetAddress,
    EthernetFrame, EthernetRepr, Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Address, Ipv4Cidr,
    Ipv4Packet, Ipv4Repr, SeqNumber, TcpFlags, TcpOptions, TcpPacket, TcpRepr,
};

const VERIFY: ChecksumMode = ChecksumMode {
    verify_rx: true,
    compute_tx: true,
};
const NO_VERIFY: ChecksumMode = ChecksumMode {
    verify_rx: false,
    compute_tx: true,
};

/// The byte a test stream carries at position `pos` (a sequence number or a
/// stream offset): a hash, so a duplicated or shifted run does not match.
pub fn pattern(pos: u32) -> u8 {
    (pos.wrapping_mul(0x9e37_79b1) >> 24) as u8 ^ (pos as u8)
}

// ===========================================================================
// segment
// ===========================================================================

/// Parse `data` as an Ethernet frame and everything inside it; re-emit and
/// re-parse whatever parses. A bad checksum does not stop the descent: the
/// layer is re-parsed without verification so the deeper parsers still get
/// the bytes.
pub fn segment(data: &[u8]) {
    let Ok(frame) = EthernetFrame::new_checked(data) else {
        return;
    };
    let Ok(eth) = EthernetRepr::parse(&frame) else {
        return;
    };
    // Ethernet: emit is the exact inverse of parse for an untagged header.
    let mut out = data.to_vec();
    out[..14].fill(0);
    eth.emit(&mut EthernetFrame::new_unchecked(&mut out[..]));
    assert_eq!(out, data, "Ethernet header did not round-trip");
    let again = EthernetRepr::parse(&EthernetFrame::new_checked(&out[..]).expect("checked"))
        .expect("re-parse Ethernet");
    assert_eq!(again, eth);

    match eth.ethertype {
        EtherType::Arp => arp_round_trip(frame.payload()),
        EtherType::Ipv4 => ipv4_round_trip(frame.payload()),
        EtherType::Unknown(_) => {}
    }
}

fn arp_round_trip(bytes: &[u8]) {
    let Ok(packet) = ArpPacket::new_checked(bytes) else {
        return;
    };
    let Ok(repr) = ArpRepr::parse(&packet) else {
        return;
    };
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut ArpPacket::new_unchecked(&mut out[..]));
    assert_eq!(&out[..], &bytes[..out.len()], "ARP did not round-trip");
    let again =
        ArpRepr::parse(&ArpPacket::new_checked(&out[..]).expect("checked")).expect("re-parse ARP");
    assert_eq!(again, repr);
}

fn ipv4_round_trip(bytes: &[u8]) {
    let Ok(packet) = Ipv4Packet::new_checked(bytes) else {
        return;
    };
    let (repr, checksum_ok) = match Ipv4Repr::parse(&packet, VERIFY) {
        Ok(r) => (r, true),
        Err(Error::Checksum) => match Ipv4Repr::parse(&packet, NO_VERIFY) {
            Ok(r) => (r, false),
            Err(_) => return,
        },
        Err(_) => return,
    };
    let payload = packet.payload();
    assert_eq!(payload.len(), repr.payload_len, "IPv4 payload length");
    let new_payload = match repr.protocol {
        IpProtocol::Tcp => tcp_round_trip(payload, repr.src_addr, repr.dst_addr),
        IpProtocol::Icmp => icmp_round_trip(payload),
        _ => None,
    };
    let same_payload = new_payload.is_none();
    let payload = new_payload.unwrap_or_else(|| payload.to_vec());
    if payload.len() > 65535 - 20 {
        // Re-emitted TCP options can be longer than the wire's (padding).
        return;
    }
    let repr2 = Ipv4Repr {
        payload_len: payload.len(),
        ..repr
    };
    let mut out = vec![0u8; repr2.buffer_len() + payload.len()];
    repr2.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]), VERIFY);
    out[20..].copy_from_slice(&payload);
    let packet2 = Ipv4Packet::new_checked(&out[..]).expect("emitted IPv4 is well-formed");
    let again = Ipv4Repr::parse(&packet2, VERIFY).expect("emitted IPv4 checksum verifies");
    assert_eq!(again, repr2, "IPv4 did not round-trip");
    assert_eq!(packet2.payload(), &payload[..]);
    // A canonical header (no options, reserved bit clear) re-emits byte for
    // byte, checksum included when it verified.
    if packet.header_len() == 20 && !packet.reserved_flag() && same_payload && checksum_ok {
        assert_eq!(
            &out[..20],
            &bytes[..20],
            "canonical IPv4 header re-emits exactly"
        );
    }
}

/// The options as they come back after emit: SACK blocks that do not fit
/// beside the other options are left out.
fn emitted_options(options: &TcpOptions) -> TcpOptions {
    let mut expected = *options;
    let count = options.emitted_sack_count();
    expected.sack_count = count as u8;
    for block in expected.sack_blocks.iter_mut().skip(count) {
        *block = SackBlock::default();
    }
    expected
}

fn tcp_round_trip(bytes: &[u8], src: Ipv4Address, dst: Ipv4Address) -> Option<Vec<u8>> {
    let packet = TcpPacket::new_checked(bytes).ok()?;
    let repr = match TcpRepr::parse(&packet, &src, &dst, VERIFY) {
        Ok(r) => r,
        Err(Error::Checksum) => TcpRepr::parse(&packet, &src, &dst, NO_VERIFY).ok()?,
        Err(_) => return None,
    };
    assert!(repr.header_len() <= 60, "emitted TCP header over 60 bytes");
    let len = repr.buffer_len();
    // Too small a buffer is refused with nothing written.
    let mut small = vec![0u8; len - 1];
    assert_eq!(
        repr.emit(
            &mut TcpPacket::new_unchecked(&mut small[..]),
            &src,
            &dst,
            VERIFY
        ),
        Err(Error::BufferTooSmall)
    );
    assert!(small.iter().all(|&b| b == 0), "failed emit wrote bytes");

    let mut out = vec![0u8; len];
    repr.emit(
        &mut TcpPacket::new_unchecked(&mut out[..]),
        &src,
        &dst,
        VERIFY,
    )
    .expect("TCP emit into buffer_len bytes");
    let packet2 = TcpPacket::new_checked(&out[..]).expect("emitted TCP is well-formed");
    let again = TcpRepr::parse(&packet2, &src, &dst, VERIFY).expect("emitted TCP verifies");
    let expected = TcpRepr {
        options: emitted_options(&repr.options),
        ..repr
    };
    assert_eq!(again, expected, "TCP did not round-trip");
    assert_eq!(again.segment_len(), repr.segment_len());
    // Emit is a fixed point after one round.
    let mut out2 = vec![0u8; again.buffer_len()];
    again
        .emit(
            &mut TcpPacket::new_unchecked(&mut out2[..]),
            &src,
            &dst,
            VERIFY,
        )
        .expect("TCP re-emit");
    assert_eq!(out2, out, "TCP emit is not stable");
    Some(out)
}

fn icmp_round_trip(bytes: &[u8]) -> Option<Vec<u8>> {
    let packet = Icmpv4Packet::new_checked(bytes).ok()?;
    let repr = match Icmpv4Repr::parse(&packet, VERIFY) {
        Ok(r) => r,
        Err(Error::Checksum) => Icmpv4Repr::parse(&packet, NO_VERIFY).ok()?,
        Err(_) => return None,
    };
    let _ = repr.quoted_ipv4();
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]), VERIFY);
    let packet2 = Icmpv4Packet::new_checked(&out[..]).expect("emitted ICMP is well-formed");
    let again = Icmpv4Repr::parse(&packet2, VERIFY).expect("emitted ICMP verifies");
    assert_eq!(again, repr, "ICMP did not round-trip");
    Some(out)
}

// ===========================================================================
// shared checks
// ===========================================================================

/// Invariants every socket keeps at every step.
fn check_socket(sock: &TcpSocket<'_>, now: Instant) {
    let state = sock.state();
    let (una, nxt, _) = sock.sequence_state();
    if !matches!(state, State::Closed | State::Listen) {
        assert!(una <= nxt, "SND.UNA {una} > SND.NXT {nxt} in {state}");
    }
    assert!(
        sock.send_queue() <= sock.send_capacity(),
        "send queue {} over capacity {}",
        sock.send_queue(),
        sock.send_capacity()
    );
    assert!(
        sock.recv_queue() <= sock.recv_capacity(),
        "receive queue {} over capacity {}",
        sock.recv_queue(),
        sock.recv_capacity()
    );
    // Timers consistent with the state.
    let timer = sock.poll_at();
    match state {
        State::Closed | State::Listen => assert!(
            matches!(timer, PollAt::Ingress | PollAt::Now),
            "{state} socket has a timer: {timer:?}"
        ),
        State::TimeWait => assert!(
            matches!(timer, PollAt::Time(_) | PollAt::Now),
            "TIME-WAIT without its 2MSL timer"
        ),
        State::SynSent | State::SynReceived => assert!(
            !matches!(timer, PollAt::Ingress),
            "{state} without a retransmission timer"
        ),
        _ => {
            // Anything in flight or queued must have a timer (retransmit
            // or persist) or be sendable now: otherwise it waits forever.
            if una != nxt || sock.send_queue() > 0 {
                assert!(
                    !matches!(timer, PollAt::Ingress),
                    "{state}: {} bytes queued, {} in flight and no timer",
                    sock.send_queue(),
                    nxt - una
                );
            }
        }
    }
    if let PollAt::Time(t) = timer {
        // A timer far beyond any the engine arms means an overflow.
        assert!(
            t.total_micros() < now.total_micros() + 3 * 3600 * 1_000_000,
            "timer {t:?} absurdly far from {now:?}"
        );
    }
}

// ===========================================================================
// fsm
// ===========================================================================

/// One connection's worth of fuzz input: the stack's setup and the steps.
#[derive(Debug, Arbitrary)]
pub struct FsmInput {
    /// The stack connects (true) or listens (false).
    pub active: bool,
    /// The peer's initial sequence number.
    pub peer_iss: u32,
    /// Receive buffer size (clamped to 64..=8192).
    pub rx_buffer: u16,
    /// Send buffer size (clamped to 64..=8192).
    pub tx_buffer: u16,
    /// Device MTU (clamped to 128..=1500).
    pub mtu: u16,
    /// Socket options offered.
    pub window_scaling: bool,
    /// Offer timestamps.
    pub timestamps: bool,
    /// Offer SACK.
    pub sack: bool,
    /// Nagle off.
    pub nodelay: bool,
    /// ACK every segment at once.
    pub quick_ack: bool,
    /// Keep-alive on.
    pub keep_alive: bool,
    /// What happens.
    pub steps: Vec<FsmStep>,
}

/// One step of the `fsm` target.
#[derive(Debug, Arbitrary)]
pub enum FsmStep {
    /// The peer sends a segment.
    Segment(PeerSegment),
    /// The user queues this many bytes.
    Send(u16),
    /// The user reads up to this many bytes.
    Recv(u16),
    /// The user shuts the send side down.
    Shutdown,
    /// The user closes the socket.
    Close,
    /// The user aborts the connection.
    Abort,
    /// Time passes.
    Advance(Advance),
    /// The peer sends a segment and it is delivered twice.
    Duplicate(PeerSegment),
    /// Raw bytes arrive as a frame.
    Raw(Vec<u8>),
}

/// How far the clock moves.
#[derive(Debug, Arbitrary)]
pub enum Advance {
    /// To the stack's next timer.
    NextTimer,
    /// This many milliseconds.
    Millis(u16),
    /// This many seconds.
    Secs(u8),
}

/// A segment from the fuzzer-played peer.
#[derive(Debug, Arbitrary)]
pub struct PeerSegment {
    /// SYN flag.
    pub syn: bool,
    /// FIN flag.
    pub fin: bool,
    /// RST flag.
    pub rst: bool,
    /// PSH flag.
    pub psh: bool,
    /// Sequence number.
    pub seq: SeqChoice,
    /// Acknowledgment number (and whether ACK is set).
    pub ack: AckChoice,
    /// Window field.
    pub window: WindowChoice,
    /// Payload length (taken modulo 1500).
    pub len: u16,
    /// Options.
    pub options: PeerOptions,
    /// Flip a bit after the checksum is computed.
    pub corrupt: bool,
}

/// The peer's sequence number, relative to the conversation.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum SeqChoice {
    /// The peer's next new byte.
    Next,
    /// Relative to the last ACK the stack sent (its RCV.NXT).
    FromAck(i16),
    /// Relative to the right edge of the stack's last advertised window.
    FromEdge(i16),
    /// Anything.
    Raw(u32),
}

/// The peer's acknowledgment number.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum AckChoice {
    /// No ACK flag.
    None,
    /// Everything the stack has sent.
    All,
    /// The last ACK the peer sent (a duplicate ACK).
    Dup,
    /// Some way between the last ACK and everything sent.
    Partial(u16),
    /// Relative to everything the stack has sent.
    Offset(i16),
    /// Anything.
    Raw(u32),
}

/// The peer's window field.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum WindowChoice {
    /// 65535.
    Full,
    /// Zero.
    Zero,
    /// Anything.
    Raw(u16),
}

/// The peer's options.
#[derive(Debug, Clone, Arbitrary)]
pub struct PeerOptions {
    /// MSS option.
    pub mss: Option<u16>,
    /// Window scale option.
    pub window_scale: Option<u8>,
    /// SACK-permitted option.
    pub sack_permitted: bool,
    /// Timestamps.
    pub timestamp: TsChoice,
    /// SACK blocks, relative to the peer's last ACK (offset, length).
    pub sack: Vec<(u16, u16)>,
}

/// The peer's timestamp option.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum TsChoice {
    /// None.
    None,
    /// A clock-based TSval, echoing the stack's last TSval.
    Echo,
    /// Anything.
    Raw(u32, u32),
}

const HOST_PORT_PASSIVE: u16 = 80;
const HOST_PORT_ACTIVE: u16 = 50_000;
const PEER_PORT_PASSIVE: u16 = 40_000;
const PEER_PORT_ACTIVE: u16 = 80;
const MAX_STEPS: usize = 300;

fn host_addr() -> Ipv4Address {
    host_ip(0)
}
fn peer_addr() -> Ipv4Address {
    host_ip(1)
}

/// What the fuzzer-played peer knows, from the frames the stack emitted and
/// those it sent.
#[derive(Debug, Default)]
struct PeerModel {
    host_port: u16,
    peer_port: u16,
    mtu: usize,
    /// The peer's next new sequence number.
    snd_nxt: SeqNumber,
    /// The peer's last ACK number (its view of the stack's SND.UNA).
    last_ack: Option<SeqNumber>,
    /// The stack's connection: ISS, highest sequence number sent.
    stack_iss: Option<SeqNumber>,
    stack_max: SeqNumber,
    /// The stack's last ACK number (its RCV.NXT) and right window edge.
    stack_ack: Option<SeqNumber>,
    stack_edge: Option<SeqNumber>,
    /// Largest receive-window right edge the stack advertised.
    stack_edge_max: Option<SeqNumber>,
    /// The stack's connection on this 4-tuple ended since its last SYN:
    /// it sent a RST, the user aborted it, or it reached CLOSED. A SYN
    /// after that opens a new connection even with the same ISS.
    stack_conn_ended: bool,
    /// Window scale the stack offered in its SYN.
    stack_ws: Option<u8>,
    stack_tsval: u32,
    /// Largest window scale the peer offered in a SYN, and whether any
    /// peer SYN went without one (then the shift is ambiguous).
    peer_ws: Option<u8>,
    peer_syn_without_ws: bool,
    peer_mss_max: usize,
    /// Largest window a peer SYN offered (unscaled).
    peer_syn_wnd: Option<usize>,
    /// Largest right edge of the window the peer offered.
    peer_edge_max: Option<SeqNumber>,
    /// The app's send stream: bytes queued on the current connection.
    app_sent: usize,
    /// The app's receive stream: first unread sequence number minus bytes read.
    stream_base: Option<SeqNumber>,
    app_received: usize,
}

impl PeerModel {
    fn new_stack_connection(&mut self, iss: SeqNumber) {
        self.stack_conn_ended = false;
        self.stack_iss = Some(iss);
        self.stack_max = iss;
        self.stack_ack = None;
        self.stack_edge = None;
        self.stack_edge_max = None;
        self.peer_edge_max = None;
        self.last_ack = None;
    }

    fn raise_peer_edge(&mut self, edge: SeqNumber) {
        self.peer_edge_max = Some(self.peer_edge_max.map_or(edge, |e| e.max(edge)));
    }

    fn peer_shift(&self) -> u8 {
        match (self.stack_ws, self.peer_ws) {
            (Some(_), Some(p)) => p.min(14),
            _ => 0,
        }
    }

    /// The shift the stack applies to its window field, when certain.
    fn stack_shift(&self) -> Option<u8> {
        if self.peer_syn_without_ws && self.peer_ws.is_some() {
            return None;
        }
        Some(match (self.stack_ws, self.peer_ws) {
            (Some(s), Some(_)) => s.min(14),
            _ => 0,
        })
    }
}

/// One host, the fuzzer playing its peer.
struct FsmWorld {
    iface: Interface,
    sockets: SocketSet<'static>,
    device: crate::sim::SimDevice,
    now: Instant,
    model: PeerModel,
    handle: Option<SocketHandle>,
    listener: Option<SocketHandle>,
    states: Vec<State>,
    /// Slots in use just before the user closed the connection, while the
    /// orphan it left may still be in the table: fewer later means the
    /// orphan ended (LAST-ACK acknowledged, TIME-WAIT over), which the
    /// model cannot see through a handle.
    closed_in_use: Option<usize>,
}

/// Run the `fsm` target on raw fuzzer bytes.
pub fn fsm_bytes(data: &[u8]) {
    if let Ok(input) = FsmInput::arbitrary_take_rest(Unstructured::new(data)) {
        let _ = fsm(input);
    }
}

/// The states the connection went through (for choosing seeds).
pub fn fsm_states(data: &[u8]) -> Vec<State> {
    FsmInput::arbitrary_take_rest(Unstructured::new(data)).map_or_else(|_| Vec::new(), fsm)
}

/// Drive one connection through `input`'s steps, checking invariants after
/// each. Returns the states the connection went through, in order.
pub fn fsm(input: FsmInput) -> Vec<State> {
    let rx = usize::from(input.rx_buffer).clamp(64, 8192);
    let tx = usize::from(input.tx_buffer).clamp(64, 8192);
    let mtu = usize::from(input.mtu).clamp(128, 1500);
    let config = TcpConfig {
        nodelay: input.nodelay,
        ack_delay: if input.quick_ack {
            None
        } else {
            Some(Duration::from_millis(40))
        },
        keep_alive: input
            .keep_alive
            .then_some(rtcp_core::tcp::KeepAlive::default()),
        window_scaling: input.window_scaling,
        timestamps: input.timestamps,
        sack: input.sack,
        ..TcpConfig::default()
    };
    let slots: Vec<SocketSlot<'static>> = (0..3)
        .map(|_| SocketSlot::new(vec![0u8; rx], vec![0u8; tx]))
        .collect();
    let mut sockets = SocketSet::new(slots, [7u8; 16]);
    sockets.set_default_config(config);
    let iface = Interface::new(InterfaceConfig {
        mac: host_mac(0),
        ip: Ipv4Cidr::new(host_addr(), 24),
        gateway: None,
    });
    let device = crate::sim::SimDevice {
        mtu,
        ..Default::default()
    };
    let (host_port, peer_port) = if input.active {
        (HOST_PORT_ACTIVE, PEER_PORT_ACTIVE)
    } else {
        (HOST_PORT_PASSIVE, PEER_PORT_PASSIVE)
    };
    let mut w = FsmWorld {
        iface,
        sockets,
        device,
        now: Instant::from_secs(1),
        model: PeerModel {
            host_port,
            peer_port,
            mtu,
            snd_nxt: SeqNumber(input.peer_iss),
            peer_mss_max: 536,
            ..PeerModel::default()
        },
        handle: None,
        listener: None,
        states: Vec::new(),
        closed_in_use: None,
    };
    // The peer announces itself, so the stack knows its MAC.
    let arp = arp_frame(
        ArpOperation::Request,
        host_mac(1),
        peer_addr(),
        EthernetAddress([0; 6]),
        host_addr(),
        EthernetAddress::BROADCAST,
    );
    w.device.rx.push_back(arp);
    w.poll();

    let h = w.sockets.open().expect("open");
    if input.active {
        w.sockets
            .connect(
                w.now,
                h,
                Endpoint::new(host_addr(), host_port),
                Endpoint::new(peer_addr(), peer_port),
            )
            .expect("connect");
        w.handle = Some(h);
    } else {
        w.sockets
            .listen(h, Endpoint::new(host_addr(), host_port), 2)
            .expect("listen");
        w.listener = Some(h);
    }
    w.poll();

    for step in input.steps.into_iter().take(MAX_STEPS) {
        w.step(step);
        w.poll();
    }
    w.states
}

fn arp_frame(
    op: ArpOperation,
    sha: EthernetAddress,
    spa: Ipv4Address,
    tha: EthernetAddress,
    tpa: Ipv4Address,
    dst: EthernetAddress,
) -> Vec<u8> {
    let mut frame = vec![0u8; 14 + 28];
    EthernetRepr {
        src_addr: sha,
        dst_addr: dst,
        ethertype: EtherType::Arp,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut frame[..]));
    ArpRepr {
        operation: op,
        source_hardware_addr: sha,
        source_protocol_addr: spa,
        target_hardware_addr: tha,
        target_protocol_addr: tpa,
    }
    .emit(&mut ArpPacket::new_unchecked(&mut frame[14..]));
    frame
}

fn tcp_frame(repr: &TcpRepr<'_>, src: Ipv4Address, dst: Ipv4Address, corrupt: bool) -> Vec<u8> {
    let tcp_len = repr.buffer_len();
    let mut frame = vec![0u8; 14 + 20 + tcp_len];
    EthernetRepr {
        src_addr: host_mac(1),
        dst_addr: host_mac(0),
        ethertype: EtherType::Ipv4,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut frame[..]));
    Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        protocol: IpProtocol::Tcp,
        payload_len: tcp_len,
        ttl: 64,
        dscp_ecn: 0,
        ident: 0,
        dont_frag: true,
    }
    .emit(&mut Ipv4Packet::new_unchecked(&mut frame[14..]), VERIFY);
    repr.emit(
        &mut TcpPacket::new_unchecked(&mut frame[34..]),
        &src,
        &dst,
        VERIFY,
    )
    .expect("peer segment fits");
    if corrupt {
        let last = frame.len() - 1;
        frame[last] ^= 0x01;
    }
    frame
}

impl FsmWorld {
    fn conn(&self) -> Option<&TcpSocket<'static>> {
        self.handle.and_then(|h| self.sockets.get(h).ok())
    }

    fn step(&mut self, step: FsmStep) {
        if tracing() {
            eprintln!("{:?} step {step:?}", self.now);
        }
        match step {
            FsmStep::Segment(s) => {
                let frame = self.peer_frame(&s);
                self.device.rx.push_back(frame);
            }
            FsmStep::Duplicate(s) => {
                let frame = self.peer_frame(&s);
                self.device.rx.push_back(frame.clone());
                self.device.rx.push_back(frame);
            }
            FsmStep::Raw(bytes) => {
                let mut frame = bytes;
                frame.truncate(1600);
                self.device.rx.push_back(frame);
            }
            FsmStep::Send(n) => {
                if let Some(h) = self.handle {
                    let base = self.model.app_sent;
                    let data: Vec<u8> = (0..usize::from(n) % 4096)
                        .map(|i| pattern((base + i) as u32))
                        .collect();
                    if let Ok(sent) = self.sockets.send(h, &data) {
                        assert!(sent <= data.len());
                        self.model.app_sent += sent;
                    }
                }
            }
            FsmStep::Recv(n) => self.recv(usize::from(n) % 4096),
            FsmStep::Shutdown => {
                if let Some(h) = self.handle {
                    let _ = self.sockets.shutdown(h);
                }
            }
            FsmStep::Close => {
                if let Some(h) = self.handle.take() {
                    let before = self.sockets.in_use();
                    let _ = self.sockets.close(h);
                    assert!(self.sockets.get(h).is_err(), "handle valid after close");
                    if self.sockets.in_use() < before {
                        self.model.stack_conn_ended = true;
                    } else {
                        self.closed_in_use = Some(before);
                    }
                }
            }
            FsmStep::Abort => {
                if let Some(h) = self.handle.take() {
                    let _ = self.sockets.abort(h);
                    // ABORT sends no RST from LAST-ACK, CLOSING or
                    // TIME-WAIT (RFC 9293 §3.10.5), yet the connection is
                    // gone: a SYN from the peer at the same clock tick
                    // opens a new one with the same ISS.
                    self.model.stack_conn_ended = true;
                }
            }
            FsmStep::Advance(a) => {
                let to = match a {
                    Advance::NextTimer => self
                        .iface
                        .poll_at(&self.sockets)
                        .unwrap_or(self.now + Duration::from_secs(1)),
                    Advance::Millis(ms) => self.now + Duration::from_millis(u64::from(ms)),
                    Advance::Secs(s) => self.now + Duration::from_secs(u64::from(s)),
                };
                self.now = to.max(self.now);
            }
        }
    }

    /// Read and check the bytes against the peer's pattern: byte at
    /// sequence number `s` is `pattern(s)`.
    fn recv(&mut self, n: usize) {
        let Some(h) = self.handle else { return };
        let Ok(sock) = self.sockets.get(h) else {
            return;
        };
        let state = sock.state();
        if matches!(
            state,
            State::Closed | State::Listen | State::SynSent | State::SynReceived
        ) {
            let mut buf = vec![0u8; n];
            let _ = self.sockets.recv(h, &mut buf);
            return;
        }
        let (_, _, rcv_nxt) = sock.sequence_state();
        let fin = usize::from(matches!(
            state,
            State::CloseWait | State::LastAck | State::Closing | State::TimeWait
        ));
        let first_unread = rcv_nxt - (sock.recv_queue() + fin);
        let base = first_unread - self.model.app_received;
        match self.model.stream_base {
            None => self.model.stream_base = Some(base),
            Some(b) => assert_eq!(
                b, base,
                "RCV.NXT - queued - read moved: bytes delivered twice or skipped"
            ),
        }
        let mut buf = vec![0u8; n];
        if let Ok(got) = self.sockets.recv(h, &mut buf) {
            for (i, &byte) in buf[..got].iter().enumerate() {
                let seq = first_unread + i;
                assert_eq!(
                    byte,
                    pattern(seq.0),
                    "received byte at seq {seq} is not what the peer sent there"
                );
            }
            self.model.app_received += got;
        }
    }

    fn peer_frame(&mut self, s: &PeerSegment) -> Vec<u8> {
        let m = &self.model;
        let stack_ack = m.stack_ack.unwrap_or(m.snd_nxt);
        let seq = match s.seq {
            SeqChoice::Next => m.snd_nxt,
            SeqChoice::FromAck(d) => SeqNumber(stack_ack.0.wrapping_add(d as i32 as u32)),
            SeqChoice::FromEdge(d) => SeqNumber(
                m.stack_edge
                    .unwrap_or(stack_ack)
                    .0
                    .wrapping_add(d as i32 as u32),
            ),
            SeqChoice::Raw(v) => SeqNumber(v),
        };
        let peer_una = m
            .last_ack
            .or(m.stack_iss.map(|i| i + 1))
            .unwrap_or_default();
        let ack = match s.ack {
            AckChoice::None => None,
            AckChoice::All => Some(m.stack_max),
            AckChoice::Dup => Some(peer_una),
            AckChoice::Partial(k) => {
                let flight = m.stack_max - peer_una;
                Some(peer_una + usize::from(k) % (flight + 1))
            }
            AckChoice::Offset(d) => Some(SeqNumber(m.stack_max.0.wrapping_add(d as i32 as u32))),
            AckChoice::Raw(v) => Some(SeqNumber(v)),
        };
        let window_len = match s.window {
            WindowChoice::Full => u16::MAX,
            WindowChoice::Zero => 0,
            WindowChoice::Raw(v) => v,
        };
        let len = usize::from(s.len) % 1500;
        let payload: Vec<u8> = (0..len)
            .map(|i| pattern(seq.0.wrapping_add(i as u32 + u32::from(s.syn))))
            .collect();
        let mut flags = TcpFlags::NONE;
        for (on, f) in [
            (s.syn, TcpFlags::SYN),
            (s.fin, TcpFlags::FIN),
            (s.rst, TcpFlags::RST),
            (s.psh, TcpFlags::PSH),
            (ack.is_some(), TcpFlags::ACK),
        ] {
            if on {
                flags |= f;
            }
        }
        let mut options = TcpOptions {
            mss: s.options.mss,
            window_scale: s.options.window_scale,
            sack_permitted: s.options.sack_permitted,
            timestamp: match s.options.timestamp {
                TsChoice::None => None,
                TsChoice::Echo => Some((self.now.total_millis() as u32, m.stack_tsval)),
                TsChoice::Raw(a, b) => Some((a, b)),
            },
            ..TcpOptions::default()
        };
        let sack_base = ack.unwrap_or(peer_una);
        for &(off, l) in s.options.sack.iter().take(4) {
            let left = sack_base + usize::from(off);
            options.push_sack(SackBlock {
                left,
                right: left + usize::from(l),
            });
        }
        let repr = TcpRepr {
            src_port: m.peer_port,
            dst_port: m.host_port,
            flags,
            seq_number: seq,
            ack_number: ack.unwrap_or_default(),
            window_len,
            urgent_pointer: 0,
            options,
            payload: &payload,
        };
        let frame = tcp_frame(&repr, peer_addr(), host_addr(), s.corrupt);

        // Update the model for what the peer just did (a corrupt frame is
        // dropped by the stack, so it changes nothing).
        if s.corrupt {
            return frame;
        }
        let m = &mut self.model;
        let end = seq + repr.segment_len();
        if !s.rst && end > m.snd_nxt && end - m.snd_nxt < 1 << 20 {
            m.snd_nxt = end;
        }
        if s.syn && !s.rst {
            if let Some(mss) = s.options.mss {
                m.peer_mss_max = m.peer_mss_max.max(usize::from(mss));
            }
            match s.options.window_scale {
                Some(ws) => m.peer_ws = Some(m.peer_ws.map_or(ws, |p| p.max(ws))),
                None => m.peer_syn_without_ws = true,
            }
            if ack.is_none() {
                let w = usize::from(window_len);
                m.peer_syn_wnd = Some(m.peer_syn_wnd.map_or(w, |p| p.max(w)));
                if let Some(iss) = m.stack_iss {
                    m.raise_peer_edge(iss + 1 + w);
                }
            }
        }
        if let (Some(a), false) = (ack, s.rst) {
            // A window the stack may take: the ACK is between its SND.UNA
            // and the most it has sent.
            let una = self
                .handle
                .and_then(|h| self.sockets.get(h).ok())
                .map(|c| c.sequence_state().0)
                .or(m.stack_iss)
                .unwrap_or(a);
            if m.stack_iss.is_some() && a >= una && a <= m.stack_max {
                let wnd = if s.syn {
                    usize::from(window_len)
                } else {
                    usize::from(window_len) << m.peer_shift()
                };
                m.raise_peer_edge(a + wnd);
                m.last_ack = Some(m.last_ack.map_or(a, |l| l.max(a)));
            }
        }
        frame
    }

    /// Poll until quiet, check every frame the stack sent and every socket.
    fn poll(&mut self) {
        for _ in 0..8 {
            let active = self
                .iface
                .poll(self.now, &mut self.device, &mut self.sockets);
            let frames = std::mem::take(&mut self.device.tx);
            for frame in &frames {
                if tracing() {
                    debug_frame(self.now, 0, frame);
                }
                self.check_frame(frame);
            }
            if !active && self.device.rx.is_empty() {
                break;
            }
        }
        if self.handle.is_none() {
            if let Some(l) = self.listener {
                if let Ok(child) = self.sockets.accept(l) {
                    self.handle = Some(child);
                    self.model.app_sent = 0;
                    self.model.app_received = 0;
                    self.model.stream_base = None;
                }
            }
        }
        for (_, sock) in self.sockets.iter() {
            check_socket(sock, self.now);
        }
        // The closed connection's orphan left the table: it ended without
        // a RST (its LAST-ACK acknowledged at the same clock tick, say),
        // and the next SYN is a new connection, even with the same ISS.
        if self
            .closed_in_use
            .is_some_and(|before| self.sockets.in_use() < before)
        {
            self.closed_in_use = None;
            self.model.stack_conn_ended = true;
        }
        if let Some(state) = self.conn().map(|c| c.state()) {
            if self.states.last() != Some(&state) {
                self.states.push(state);
            }
            // Ended without a RST (a RST received, LAST-ACK acknowledged,
            // TIME-WAIT over): the next SYN is a new connection.
            if state == State::Closed {
                self.model.stack_conn_ended = true;
            }
        }
        let model = &self.model;
        if let Some(c) = self.conn() {
            if c.state().is_synchronized() && c.state() != State::TimeWait {
                let (una, nxt, _) = c.sequence_state();
                assert!(
                    nxt <= model.stack_max || model.stack_iss.is_none(),
                    "SND.NXT {nxt} beyond anything sent ({})",
                    model.stack_max
                );
                assert!(
                    una.checked_since(model.stack_iss.unwrap_or(una)).is_some(),
                    "SND.UNA {una} before ISS"
                );
            }
        }
    }

    fn check_frame(&mut self, frame: &[u8]) {
        let eth = EthernetFrame::new_checked(frame).expect("stack sent a runt frame");
        let eth_repr = EthernetRepr::parse(&eth).expect("stack sent a bad Ethernet header");
        assert_eq!(eth_repr.src_addr, host_mac(0));
        match eth_repr.ethertype {
            EtherType::Arp => {
                let arp = ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).expect("ARP len"))
                    .expect("stack sent a bad ARP packet");
                if arp.operation == ArpOperation::Request && arp.target_protocol_addr == peer_addr()
                {
                    // The peer answers.
                    let reply = arp_frame(
                        ArpOperation::Reply,
                        host_mac(1),
                        peer_addr(),
                        host_mac(0),
                        host_addr(),
                        host_mac(0),
                    );
                    self.device.rx.push_back(reply);
                }
            }
            EtherType::Ipv4 => self.check_ipv4(eth.payload()),
            EtherType::Unknown(t) => panic!("stack sent ethertype {t:#06x}"),
        }
    }

    fn check_ipv4(&mut self, bytes: &[u8]) {
        let ip = Ipv4Packet::new_checked(bytes).expect("stack sent a bad IPv4 length");
        let ip_repr = Ipv4Repr::parse(&ip, VERIFY).expect("stack sent a bad IPv4 header");
        assert_eq!(
            ip_repr.src_addr,
            host_addr(),
            "stack sent from another address"
        );
        assert!(
            usize::from(ip.total_len()) <= self.model.mtu,
            "stack sent {} bytes over MTU {}",
            ip.total_len(),
            self.model.mtu
        );
        let payload = ip.payload();
        match ip_repr.protocol {
            IpProtocol::Icmp => {
                let icmp = Icmpv4Packet::new_checked(payload).expect("ICMP length");
                Icmpv4Repr::parse(&icmp, VERIFY).expect("stack sent a bad ICMP message");
            }
            IpProtocol::Tcp => {
                let tcp = TcpPacket::new_checked(payload).expect("TCP length");
                let repr = TcpRepr::parse(&tcp, &ip_repr.src_addr, &ip_repr.dst_addr, VERIFY)
                    .expect("stack sent a bad TCP segment");
                self.check_tcp(&repr, ip_repr.dst_addr);
            }
            p => panic!("stack sent IP protocol {p:?}"),
        }
    }

    fn check_tcp(&mut self, seg: &TcpRepr<'_>, dst: Ipv4Address) {
        let f = seg.flags;
        assert!(!(f.syn() && f.rst()), "SYN+RST sent: {seg}");
        assert!(!(f.syn() && f.fin()), "SYN+FIN sent: {seg}");
        let ours = dst == peer_addr()
            && seg.src_port == self.model.host_port
            && seg.dst_port == self.model.peer_port;
        if !ours || f.rst() {
            assert!(seg.payload.is_empty() || !f.rst(), "RST with data");
            // A RST of ours may end the connection; a SYN after it can
            // open a new one with the same ISS (the keyed-hash ISN of
            // RFC 6528 at the same clock tick), which must not inherit the
            // old one's window edges.
            if ours {
                self.model.stack_conn_ended = true;
            }
            return;
        }
        let m = &mut self.model;
        if f.syn() {
            if m.stack_iss != Some(seg.seq_number) || m.stack_conn_ended {
                m.new_stack_connection(seg.seq_number);
            }
            m.stack_ws = seg.options.window_scale;
            if let Some(mss) = seg.options.mss {
                assert!(usize::from(mss) + 40 <= m.mtu, "MSS {mss} over MTU");
            }
            if let Some(w) = m.peer_syn_wnd {
                if f.ack() {
                    m.raise_peer_edge(seg.seq_number + 1 + w);
                }
            }
        }
        assert!(
            f.ack() || (f.syn() && !f.ack()),
            "segment without ACK outside SYN/RST: {seg}"
        );
        // Payload within the peer's MSS and window (one byte more for a
        // zero-window probe).
        let len = seg.payload.len();
        if len > 0 {
            assert!(
                len <= m.peer_mss_max.max(536),
                "payload {len} over the peer's MSS {}",
                m.peer_mss_max
            );
            let end = seg.seq_number + seg.payload.len() + usize::from(f.syn());
            let edge = m
                .peer_edge_max
                .unwrap_or_else(|| panic!("data sent before any window: {seg}"));
            assert!(
                end <= edge + 1,
                "data to {end} past the peer's window edge {edge}: {seg}"
            );
            // The bytes are the app's, at their offset in the stream.
            if let Some(iss) = m.stack_iss {
                let start = seg.seq_number + usize::from(f.syn());
                if let Some(off) = start.checked_since(iss + 1) {
                    for (i, &b) in seg.payload.iter().enumerate() {
                        assert!(off + i < m.app_sent, "sent bytes the app never queued");
                        assert_eq!(
                            b,
                            pattern((off + i) as u32),
                            "stack sent wrong byte at offset {}",
                            off + i
                        );
                    }
                }
            }
        }
        let end = seg.seq_number + seg.segment_len();
        if m.stack_iss.is_some() && end > m.stack_max {
            m.stack_max = end;
        }
        if let Some((tsval, _)) = seg.options.timestamp {
            m.stack_tsval = tsval;
        }
        if f.ack() {
            m.stack_ack = Some(seg.ack_number);
            let shift = if f.syn() { Some(0) } else { m.stack_shift() };
            if let Some(shift) = shift {
                let edge = seg.ack_number + (usize::from(seg.window_len) << shift);
                m.stack_edge = Some(edge);
                if !f.syn() {
                    if let Some(max) = m.stack_edge_max {
                        // Rounding to the scale may lose up to 2^shift - 1.
                        assert!(
                            edge + ((1usize << shift) - 1) >= max,
                            "stack shrank its window: edge {edge} < {max}: {seg}"
                        );
                    }
                    m.stack_edge_max = Some(m.stack_edge_max.map_or(edge, |e| e.max(edge)));
                }
            }
        }
    }
}

// ===========================================================================
// stack
// ===========================================================================

/// Per-direction bookkeeping of the test streams.
#[derive(Debug, Default, Clone, Copy)]
struct Stream {
    /// Bytes the sender's socket accepted.
    sent: usize,
    /// Bytes the receiver read.
    received: usize,
    /// The sender shut down after `sent` bytes.
    shut: bool,
    /// The receiver saw the end of the stream.
    eof: bool,
}

struct InFlight {
    at: Instant,
    to: usize,
    frame: Vec<u8>,
}

const CLIENT: usize = 0;
const SERVER: usize = 1;

/// Two interfaces over a link whose fate decisions come from `data`;
/// afterwards a clean link must let the connection finish.
pub fn stack(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let host = |u: &mut Unstructured<'_>| -> HostConfig {
        let rx = 256 + usize::from(u.arbitrary::<u16>().unwrap_or(0)) % 16_384;
        let tx = 256 + usize::from(u.arbitrary::<u16>().unwrap_or(0)) % 16_384;
        let mtu = 256 + usize::from(u.arbitrary::<u16>().unwrap_or(0)) % 1245;
        let bits = u.arbitrary::<u8>().unwrap_or(0xff);
        HostConfig {
            slots: 3,
            rx_buffer: rx,
            tx_buffer: tx,
            mtu,
            tcp: TcpConfig {
                window_scaling: bits & 1 != 0,
                timestamps: bits & 2 != 0,
                sack: bits & 4 != 0,
                nodelay: bits & 8 != 0,
                ack_delay: if bits & 16 != 0 {
                    Some(Duration::from_millis(40))
                } else {
                    None
                },
                ..TcpConfig::default()
            },
            ..HostConfig::default()
        }
    };
    let configs = [host(&mut u), host(&mut u)];
    let mut sim = Sim::new(0, &configs);
    let mut now = sim.now;
    let server_ep = Endpoint::new(host_ip(SERVER), 80);
    let listener = sim.hosts[SERVER].sockets.open().expect("open");
    sim.hosts[SERVER]
        .sockets
        .listen(listener, server_ep, 1)
        .expect("listen");
    let client = sim.hosts[CLIENT].sockets.open().expect("open");
    sim.hosts[CLIENT]
        .sockets
        .connect(now, client, Endpoint::new(host_ip(CLIENT), 0), server_ep)
        .expect("connect");
    let mut handles = [Some(client), None];
    // streams[i]: data sent by host i.
    let mut streams = [Stream::default(); 2];
    let mut in_flight: Vec<InFlight> = Vec::new();
    let latency = Duration::from_millis(1);
    let mut lossy_end: Option<Instant> = None;
    let mut idle = false;
    let mut buf = vec![0u8; 20_000];

    for _ in 0..20_000 {
        let lossy = !u.is_empty();
        if !lossy && lossy_end.is_none() {
            lossy_end = Some(now);
        }
        // The applications.
        if lossy {
            let side = usize::from(u.arbitrary::<bool>().unwrap_or(false));
            match u.arbitrary::<u8>().unwrap_or(0) % 8 {
                0 | 1 => {
                    let n = usize::from(u.arbitrary::<u16>().unwrap_or(0)) % 8192;
                    app_send(&mut sim, &handles, &mut streams, side, n);
                }
                2 | 3 => {
                    let n = usize::from(u.arbitrary::<u16>().unwrap_or(0)) % 8192;
                    app_recv(&mut sim, &handles, &mut streams, side, &mut buf[..n]);
                }
                4 => {
                    if let Some(h) = handles[side] {
                        if sim.hosts[side].sockets.shutdown(h).is_ok() {
                            streams[side].shut = true;
                        }
                    }
                }
                5 => {
                    let ms = u.arbitrary::<u16>().unwrap_or(0);
                    now += Duration::from_millis(u64::from(ms));
                }
                _ => {}
            }
        } else {
            for side in [CLIENT, SERVER] {
                let n = buf.len();
                app_recv(&mut sim, &handles, &mut streams, side, &mut buf[..n]);
            }
        }
        if handles[SERVER].is_none() {
            if let Ok(h) = sim.hosts[SERVER].sockets.accept(listener) {
                handles[SERVER] = Some(h);
            }
        }

        // The hosts, and the link.
        for i in [CLIENT, SERVER] {
            let h = &mut sim.hosts[i];
            for _ in 0..8 {
                if !h.iface.poll(now, &mut h.device, &mut h.sockets) {
                    break;
                }
            }
            for (_, sock) in h.sockets.iter() {
                check_socket(sock, now);
            }
            for mut frame in std::mem::take(&mut h.device.tx) {
                let to = 1 - i;
                if tracing() {
                    debug_frame(now, i, &frame);
                }
                let fate = if u.is_empty() {
                    0
                } else {
                    u.arbitrary::<u8>().unwrap_or(0)
                };
                match fate % 8 {
                    4 => {} // lost
                    5 => {
                        in_flight.push(InFlight {
                            at: now + latency,
                            to,
                            frame: frame.clone(),
                        });
                        in_flight.push(InFlight {
                            at: now + latency + Duration::from_micros(1),
                            to,
                            frame,
                        });
                    }
                    6 => {
                        let extra = u.arbitrary::<u8>().unwrap_or(0);
                        in_flight.push(InFlight {
                            at: now + latency + Duration::from_millis(u64::from(extra)),
                            to,
                            frame,
                        });
                    }
                    7 if frame.len() > 14 => {
                        // One flipped bit past the Ethernet header: the
                        // IPv4 or TCP checksum always catches it.
                        let bits = (frame.len() - 14) * 8;
                        let bit = 14 * 8
                            + usize::from(u.arbitrary::<u16>().unwrap_or(0)) % bits.min(65_536);
                        frame[bit / 8] ^= 1 << (bit % 8);
                        in_flight.push(InFlight {
                            at: now + latency,
                            to,
                            frame,
                        });
                    }
                    _ => in_flight.push(InFlight {
                        at: now + latency,
                        to,
                        frame,
                    }),
                }
            }
        }

        // Done? (Only once the input is used up: then the link is clean.)
        if !lossy && done(&sim, &handles, &streams) {
            break;
        }
        if lossy_end.is_some_and(|end| now >= end + Duration::from_secs(900)) {
            break;
        }

        // The clock: to the next arrival or timer.
        let arrival = in_flight.iter().map(|f| f.at).min();
        let timers = sim
            .hosts
            .iter()
            .filter_map(|h| h.iface.poll_at(&h.sockets))
            .min();
        let next = match (arrival, timers) {
            (Some(a), Some(t)) => a.min(t),
            (a, t) => match a.or(t) {
                Some(x) => x,
                None if lossy => now,
                // Idle: one more round for the applications to act.
                None if !idle => {
                    idle = true;
                    continue;
                }
                None => break,
            },
        };
        idle = false;
        now = now.max(next);
        in_flight.sort_by_key(|f| f.at);
        while in_flight.first().is_some_and(|f| f.at <= now) {
            let f = in_flight.remove(0);
            sim.hosts[f.to].device.rx.push_back(f.frame);
        }
    }

    // With a clean link, a connection that did not fail finishes.
    if std::env::var_os("RTCP_FUZZ_DEBUG").is_some() {
        eprintln!(
            "now {now:?} streams {streams:?} in_flight {}",
            in_flight.len()
        );
        for i in 0..2 {
            for (h, s) in sim.hosts[i].sockets.iter() {
                eprintln!(
                    "host {i} {h:?} {} seq {:?} sq {} rq {} swnd {} rwnd {} cwnd {} mss {} poll_at {:?} err {:?} iface {:?}",
                    s.state(), s.sequence_state(), s.send_queue(), s.recv_queue(), s.send_window(),
                    s.recv_window(), s.cwnd(), s.mss(), s.poll_at(), s.error(), sim.hosts[i].iface.stats()
                );
            }
        }
    }
    let failed = (0..2).any(|i| {
        handles[i].is_none_or(|h| {
            sim.hosts[i]
                .sockets
                .get(h)
                .map_or(true, |s| s.error().is_some())
        })
    });
    if !failed {
        for side in [CLIENT, SERVER] {
            let s = streams[side];
            assert_eq!(
                s.received, s.sent,
                "host {side}'s {} bytes were not all delivered over a clean link ({} were)",
                s.sent, s.received
            );
            if s.shut {
                assert!(s.eof, "host {side} shut down but its peer never saw EOF");
            }
        }
    }
}

/// Whether `RTCP_FUZZ_TRACE` is set. Read once per process: the fuzzers ask
/// for every step and frame, and an environment look-up each time (a lock
/// and a scan of the environment) would slow every run, traced or not.
fn tracing() -> bool {
    static TRACING: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACING.get_or_init(|| std::env::var_os("RTCP_FUZZ_TRACE").is_some())
}

/// One line per TCP segment for `RTCP_FUZZ_TRACE`.
fn debug_frame(now: Instant, from: usize, frame: &[u8]) {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return;
    };
    let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
        eprintln!("{now:?} host {from}: non-IP frame");
        return;
    };
    let Ok(tcp) = TcpPacket::new_checked(ip.payload()) else {
        return;
    };
    let (s, d) = (ip.src_addr(), ip.dst_addr());
    if let Ok(seg) = TcpRepr::parse(&tcp, &s, &d, NO_VERIFY) {
        eprintln!("{now:?} host {from}: {seg}");
    }
}

fn done(sim: &Sim, handles: &[Option<SocketHandle>; 2], streams: &[Stream; 2]) -> bool {
    let errored = (0..2).any(|i| {
        handles[i].is_some_and(|h| {
            sim.hosts[i]
                .sockets
                .get(h)
                .map_or(true, |s| s.error().is_some())
        })
    });
    errored
        || streams
            .iter()
            .all(|s| s.received == s.sent && (!s.shut || s.eof))
}

fn app_send(
    sim: &mut Sim,
    handles: &[Option<SocketHandle>; 2],
    streams: &mut [Stream; 2],
    side: usize,
    n: usize,
) {
    let Some(h) = handles[side] else { return };
    let base = streams[side].sent;
    let data: Vec<u8> = (0..n).map(|i| pattern((base + i) as u32)).collect();
    if let Ok(sent) = sim.hosts[side].sockets.send(h, &data) {
        assert!(sent <= n);
        assert!(
            !streams[side].shut || sent == 0,
            "send accepted after shutdown"
        );
        streams[side].sent += sent;
    }
}

fn app_recv(
    sim: &mut Sim,
    handles: &[Option<SocketHandle>; 2],
    streams: &mut [Stream; 2],
    side: usize,
    buf: &mut [u8],
) {
    let Some(h) = handles[side] else { return };
    let from = 1 - side;
    if let Ok(got) = sim.hosts[side].sockets.recv(h, buf) {
        let s = &mut streams[from];
        for (i, &b) in buf[..got].iter().enumerate() {
            let pos = s.received + i;
            assert!(
                pos < s.sent,
                "host {side} received byte {pos} but only {} were sent",
                s.sent
            );
            assert_eq!(
                b,
                pattern(pos as u32),
                "host {side} received a wrong byte at offset {pos}"
            );
        }
        s.received += got;
    }
    if sim.hosts[side].sockets.get(h).is_ok_and(|s| s.is_eof()) {
        let s = &mut streams[from];
        assert!(s.shut, "EOF at host {side} though the peer never shut down");
        assert_eq!(
            s.received, s.sent,
            "EOF at host {side} before all data arrived"
        );
        s.eof = true;
    }
}

/// Deterministic corpus-replay helper: feed every file under `dir` to `f`.
pub fn replay_dir(dir: &std::path::Path, f: fn(&[u8])) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let mut count = 0;
    for path in paths {
        let data = std::fs::read(&path).expect("read corpus file");
        let result = std::panic::catch_unwind(|| f(&data));
        if let Err(e) = result {
            eprintln!("fuzz replay failed on {}", path.display());
            std::panic::resume_unwind(e);
        }
        count += 1;
    }
    count
}
