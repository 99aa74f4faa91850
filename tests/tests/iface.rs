//! The interface on raw frames: ARP, ICMP echo, RST for unmatched segments,
//! and malformed input dropped and counted (never a panic).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rtcp_core::iface::{Interface, InterfaceConfig, InterfaceStats};
use rtcp_core::socket_set::{SocketSet, SocketSlot};
use rtcp_core::tcp::Endpoint;
use rtcp_core::time::Instant;
use rtcp_core::wire::{
    ArpOperation, ArpPacket, ArpRepr, ChecksumMode, EtherType, EthernetAddress, EthernetFrame,
    EthernetRepr, Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Address, Ipv4Cidr, Ipv4Packet,
    Ipv4Repr, SeqNumber, TcpFlags, TcpOptions, TcpPacket, TcpRepr,
};
use rtcp_tests::sim::SimDevice;

const OUR_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 1]);
const OUR_IP: Ipv4Address = Ipv4Address::new(10, 0, 0, 1);
const PEER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 9]);
const PEER_IP: Ipv4Address = Ipv4Address::new(10, 0, 0, 9);

struct Box1 {
    iface: Interface,
    sockets: SocketSet<'static>,
    device: SimDevice,
    now: Instant,
}

impl Box1 {
    fn new() -> Box1 {
        let slots: Vec<SocketSlot<'static>> = (0..4)
            .map(|_| SocketSlot::new(vec![0u8; 4096], vec![0u8; 4096]))
            .collect();
        Box1 {
            iface: Interface::new(InterfaceConfig {
                mac: OUR_MAC,
                ip: Ipv4Cidr::new(OUR_IP, 24),
                gateway: None,
            }),
            sockets: SocketSet::new(slots, [3; 16]),
            device: SimDevice {
                mtu: 1500,
                ..SimDevice::default()
            },
            now: Instant::from_secs(1),
        }
    }

    /// Feed one frame, poll, return what the stack sent.
    fn feed(&mut self, frame: Vec<u8>) -> Vec<Vec<u8>> {
        self.device.rx.push_back(frame);
        self.iface
            .poll(self.now, &mut self.device, &mut self.sockets);
        std::mem::take(&mut self.device.tx)
    }

    fn stats(&self) -> InterfaceStats {
        self.iface.stats()
    }
}

fn ethernet(dst: EthernetAddress, ethertype: EtherType, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0u8; 14 + payload.len()];
    let mut view = EthernetFrame::new_unchecked(&mut frame[..]);
    EthernetRepr {
        src_addr: PEER_MAC,
        dst_addr: dst,
        ethertype,
    }
    .emit(&mut view);
    view.payload_mut().copy_from_slice(payload);
    frame
}

fn arp_request(target: Ipv4Address) -> Vec<u8> {
    let repr = ArpRepr {
        operation: ArpOperation::Request,
        source_hardware_addr: PEER_MAC,
        source_protocol_addr: PEER_IP,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: target,
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
    ethernet(EthernetAddress::BROADCAST, EtherType::Arp, &buf)
}

fn ipv4(protocol: IpProtocol, payload: &[u8]) -> Vec<u8> {
    let repr = Ipv4Repr {
        src_addr: PEER_IP,
        dst_addr: OUR_IP,
        protocol,
        payload_len: payload.len(),
        ttl: 64,
        dscp_ecn: 0,
        ident: 7,
        dont_frag: true,
    };
    let mut buf = vec![0u8; 20 + payload.len()];
    let mut view = Ipv4Packet::new_unchecked(&mut buf[..]);
    repr.emit(&mut view, ChecksumMode::default());
    view.payload_mut().copy_from_slice(payload);
    ethernet(OUR_MAC, EtherType::Ipv4, &buf)
}

fn echo_request(data: &[u8]) -> Vec<u8> {
    let repr = Icmpv4Repr::EchoRequest {
        ident: 0x1234,
        seq_no: 7,
        data,
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut Icmpv4Packet::new_unchecked(&mut buf[..]),
        ChecksumMode::default(),
    );
    ipv4(IpProtocol::Icmp, &buf)
}

fn tcp_segment(flags: TcpFlags, seq: u32, ack: u32, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let repr = TcpRepr {
        src_port: 40000,
        dst_port,
        flags,
        seq_number: SeqNumber(seq),
        ack_number: SeqNumber(ack),
        window_len: 8192,
        urgent_pointer: 0,
        options: TcpOptions::default(),
        payload,
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut TcpPacket::new_unchecked(&mut buf[..]),
        &PEER_IP,
        &OUR_IP,
        ChecksumMode::default(),
    )
    .unwrap();
    ipv4(IpProtocol::Tcp, &buf)
}

/// Parse a frame the stack sent down to its IPv4 payload.
fn ip_payload(frame: &[u8]) -> (EthernetRepr, Ipv4Repr, Vec<u8>) {
    let eth = EthernetFrame::new_checked(frame).unwrap();
    let eth_repr = EthernetRepr::parse(&eth).unwrap();
    let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
    let ip_repr = Ipv4Repr::parse(&ip, ChecksumMode::default()).unwrap();
    (eth_repr, ip_repr, ip.payload().to_vec())
}

#[test]
fn answers_arp_requests_for_its_address_only() {
    let mut b = Box1::new();
    let out = b.feed(arp_request(OUR_IP));
    assert_eq!(out.len(), 1);
    let eth = EthernetFrame::new_checked(&out[0][..]).unwrap();
    let eth_repr = EthernetRepr::parse(&eth).unwrap();
    assert_eq!(eth_repr.dst_addr, PEER_MAC);
    let arp = ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).unwrap()).unwrap();
    assert_eq!(arp.operation, ArpOperation::Reply);
    assert_eq!(arp.source_hardware_addr, OUR_MAC);
    assert_eq!(arp.source_protocol_addr, OUR_IP);
    assert_eq!(arp.target_protocol_addr, PEER_IP);
    assert_eq!(b.stats().arp_replies, 1);

    let out = b.feed(arp_request(Ipv4Address::new(10, 0, 0, 77)));
    assert!(
        out.is_empty(),
        "answered ARP for an address it does not own"
    );
}

#[test]
fn echo_reply_is_byte_exact() {
    let mut b = Box1::new();
    let payload: Vec<u8> = (0..56u8).collect();
    let out = b.feed(echo_request(&payload));
    assert_eq!(out.len(), 1);
    let (eth, ip, body) = ip_payload(&out[0]);
    // The MAC comes from the request's frame: no ARP round trip needed.
    assert_eq!(eth.dst_addr, PEER_MAC);
    assert_eq!(
        (ip.src_addr, ip.dst_addr, ip.protocol),
        (OUR_IP, PEER_IP, IpProtocol::Icmp)
    );
    let icmp = Icmpv4Packet::new_checked(&body[..]).unwrap();
    match Icmpv4Repr::parse(&icmp, ChecksumMode::default()).unwrap() {
        Icmpv4Repr::EchoReply {
            ident,
            seq_no,
            data,
        } => {
            assert_eq!((ident, seq_no), (0x1234, 7));
            assert_eq!(data, &payload[..]);
        }
        other => panic!("expected an echo reply, got {other:?}"),
    }
    assert_eq!(b.stats().icmp_echo_replies, 1);
}

/// RFC 9293 §3.10.7.1: a segment for a closed port draws a RST.
#[test]
fn closed_port_gets_rst() {
    let mut b = Box1::new();
    // SYN without ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    let out = b.feed(tcp_segment(TcpFlags::SYN, 1000, 0, 81, &[]));
    assert_eq!(out.len(), 1);
    let (_, _, body) = ip_payload(&out[0]);
    let p = TcpPacket::new_checked(&body[..]).unwrap();
    let rst = TcpRepr::parse(&p, &OUR_IP, &PEER_IP, ChecksumMode::default()).unwrap();
    assert_eq!(rst.flags, TcpFlags::RST | TcpFlags::ACK);
    assert_eq!(rst.seq_number, SeqNumber(0));
    assert_eq!(rst.ack_number, SeqNumber(1001));
    assert_eq!((rst.src_port, rst.dst_port), (81, 40000));

    // A segment with ACK: <SEQ=SEG.ACK><CTL=RST>.
    let out = b.feed(tcp_segment(TcpFlags::ACK, 5000, 777, 81, b"hi"));
    let (_, _, body) = ip_payload(&out[0]);
    let p = TcpPacket::new_checked(&body[..]).unwrap();
    let rst = TcpRepr::parse(&p, &OUR_IP, &PEER_IP, ChecksumMode::default()).unwrap();
    assert_eq!(rst.flags, TcpFlags::RST);
    assert_eq!(rst.seq_number, SeqNumber(777));

    // A RST is never answered.
    assert!(b.feed(tcp_segment(TcpFlags::RST, 1, 0, 81, &[])).is_empty());
    assert_eq!(b.stats().tcp_resets_sent, 2);
}

#[test]
fn listener_answers_syn_with_syn_ack() {
    let mut b = Box1::new();
    let l = b.sockets.open().unwrap();
    b.sockets.listen(l, Endpoint::new(OUR_IP, 80), 4).unwrap();
    b.feed(arp_request(OUR_IP));
    let out = b.feed(tcp_segment(TcpFlags::SYN, 1000, 0, 80, &[]));
    assert_eq!(out.len(), 1);
    let (_, _, body) = ip_payload(&out[0]);
    let p = TcpPacket::new_checked(&body[..]).unwrap();
    let syn_ack = TcpRepr::parse(&p, &OUR_IP, &PEER_IP, ChecksumMode::default()).unwrap();
    assert_eq!(syn_ack.flags, TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!(syn_ack.ack_number, SeqNumber(1001));
    // No MSS option from the peer: ours is still offered (MUST-14).
    assert_eq!(syn_ack.options.mss, Some(1460));
}

#[test]
fn malformed_frames_are_dropped_and_counted() {
    let mut b = Box1::new();
    // Too short for Ethernet.
    assert!(b.feed(vec![0u8; 5]).is_empty());
    assert_eq!(b.stats().rx_malformed, 1);
    // 802.1Q tagged.
    let mut tagged = ethernet(OUR_MAC, EtherType::Unknown(0x8100), &[0, 1, 0x08, 0]);
    tagged.extend_from_slice(&[0u8; 40]);
    assert!(b.feed(tagged).is_empty());
    assert_eq!(b.stats().rx_vlan, 1);
    // Unknown EtherType.
    assert!(b
        .feed(ethernet(OUR_MAC, EtherType::Unknown(0x86dd), &[0u8; 40]))
        .is_empty());
    assert_eq!(b.stats().rx_unknown_ethertype, 1);
    // Not for our MAC.
    let mut other = echo_request(b"x");
    other[5] = 0x77;
    assert!(b.feed(other).is_empty());
    assert_eq!(b.stats().rx_not_for_us, 1);
    // Bad IPv4 header checksum.
    let mut bad = echo_request(b"abc");
    bad[14 + 10] ^= 0xff;
    assert!(b.feed(bad).is_empty());
    assert_eq!(b.stats().rx_bad_checksum, 1);
    // Bad TCP checksum (flip a payload bit).
    let mut bad = tcp_segment(TcpFlags::ACK, 1, 1, 80, b"data");
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(b.feed(bad).is_empty());
    assert_eq!(b.stats().rx_bad_checksum, 2);
    // A fragment.
    let mut frag = echo_request(b"abcdefgh");
    {
        let mut ip = Ipv4Packet::new_unchecked(&mut frag[14..]);
        ip.set_more_frags(true);
        ip.fill_checksum();
    }
    assert!(b.feed(frag).is_empty());
    assert_eq!(b.stats().rx_fragments, 1);
    // UDP is not spoken here.
    assert!(b.feed(ipv4(IpProtocol::Udp, &[0u8; 8])).is_empty());
    assert_eq!(b.stats().rx_unknown_protocol, 1);
    // Truncated IPv4 (total length beyond the frame).
    let mut short = echo_request(b"abcdefgh");
    short.truncate(14 + 22);
    assert!(b.feed(short).is_empty());
    assert_eq!(b.stats().rx_malformed, 2);
}

#[test]
fn random_frames_never_panic() {
    let mut b = Box1::new();
    let mut rng = rtcp_tests::rng::Rng::new(99);
    let l = b.sockets.open().unwrap();
    b.sockets.listen(l, Endpoint::new(OUR_IP, 80), 4).unwrap();
    let seed_frames = [
        arp_request(OUR_IP),
        echo_request(b"ping"),
        tcp_segment(TcpFlags::SYN, 1, 0, 80, &[]),
        tcp_segment(TcpFlags::ACK | TcpFlags::PSH, 2, 1, 80, b"hello"),
    ];
    for i in 0..20_000u64 {
        let mut f = seed_frames[(i % 4) as usize].clone();
        let flips = 1 + rng.below(4);
        for _ in 0..flips {
            let at = rng.below(f.len() as u64) as usize;
            f[at] = rng.next_u64() as u8;
        }
        if rng.chance(100_000) {
            f.truncate(rng.below(f.len() as u64) as usize);
        }
        b.now += rtcp_core::time::Duration::from_millis(1);
        b.feed(f);
    }
    assert_eq!(b.stats().rx_frames, 20_000);
}

/// A segment to an unresolved neighbour waits in its socket, and leaves the
/// moment the ARP reply arrives, not at the next once-a-second ARP retry.
#[test]
fn syn_leaves_as_soon_as_arp_resolves() {
    use rtcp_core::tcp::State;
    use rtcp_core::time::Duration;
    use rtcp_tests::apps::listen_and_connect;
    use rtcp_tests::sim::{HostConfig, LinkConfig, Sim};
    let cfg = HostConfig {
        link: LinkConfig {
            latency: Duration::from_millis(1),
            ..LinkConfig::default()
        },
        ..HostConfig::default()
    };
    let mut sim = Sim::new(5, &[cfg, cfg]);
    let start = sim.now;
    let (_, client) = listen_and_connect(&mut sim, 1, 0, 80);
    // ARP request + reply, SYN, SYN-ACK: four one-way trips of 1 ms.
    assert!(sim.run_until(Duration::from_millis(20), |sim| {
        sim.hosts[0].sockets.get(client).unwrap().state() == State::Established
    }));
    let took = sim.now - start;
    assert!(took <= Duration::from_millis(5), "handshake took {took:?}");
    assert_eq!(sim.hosts[0].iface.stats().arp_requests, 1);
}

/// An ICMP error reaches the connection whose segment it quotes: port
/// unreachable for our SYN refuses the connect (RFC 9293 §3.9.2.2, MUST-54).
#[test]
#[cfg(feature = "icmp-errors")]
fn icmp_port_unreachable_reaches_the_connection() {
    use rtcp_core::tcp::{State, TcpError};
    let mut b = Box1::new();
    b.feed(arp_request(OUR_IP)); // learn the peer's MAC
    let h = b.sockets.open().unwrap();
    let now = b.now;
    b.sockets
        .connect(
            now,
            h,
            Endpoint::new(OUR_IP, 0),
            Endpoint::new(PEER_IP, 5555),
        )
        .unwrap();
    b.iface.poll(b.now, &mut b.device, &mut b.sockets);
    let out = std::mem::take(&mut b.device.tx);
    let (_, ip, body) = ip_payload(&out[0]);
    let syn = TcpRepr::parse(
        &TcpPacket::new_checked(&body[..]).unwrap(),
        &OUR_IP,
        &PEER_IP,
        ChecksumMode::default(),
    )
    .unwrap();
    assert_eq!(syn.flags, TcpFlags::SYN);
    // The quote: our IPv4 header and the first 8 bytes of the SYN.
    let mut ip_header = vec![0u8; 20];
    ip.emit(
        &mut Ipv4Packet::new_unchecked(&mut ip_header[..]),
        ChecksumMode::default(),
    );
    let mut quote = ip_header;
    quote.extend_from_slice(&body[..8]);
    let icmp = Icmpv4Repr::DstUnreachable {
        code: 3,
        next_hop_mtu: 0,
        data: &quote,
    };
    let mut buf = vec![0u8; icmp.buffer_len()];
    icmp.emit(
        &mut Icmpv4Packet::new_unchecked(&mut buf[..]),
        ChecksumMode::default(),
    );
    b.feed(ipv4(IpProtocol::Icmp, &buf));
    assert_eq!(b.stats().icmp_errors, 1);
    let sock = b.sockets.get(h).unwrap();
    assert_eq!(sock.state(), State::Closed);
    assert_eq!(sock.error(), Some(TcpError::ConnectionRefused));
}

/// MUST-44: a connect from an unspecified local address takes the
/// interface's address (once the interface has polled the table).
#[test]
fn connect_from_unspecified_address_uses_the_interface_address() {
    use rtcp_core::tcp::TcpError;
    let mut b = Box1::new();
    let h = b.sockets.open().unwrap();
    let any = Endpoint::new(Ipv4Address::UNSPECIFIED, 0);
    let peer = Endpoint::new(PEER_IP, 80);
    let now = b.now;
    // Before the interface has told the table its address: refused.
    assert_eq!(
        b.sockets.connect(now, h, any, peer),
        Err(TcpError::InvalidEndpoint)
    );
    b.feed(arp_request(OUR_IP));
    b.sockets.connect(now, h, any, peer).unwrap();
    assert_eq!(b.sockets.get(h).unwrap().local_endpoint().addr, OUR_IP);
    b.iface.poll(b.now, &mut b.device, &mut b.sockets);
    let out = std::mem::take(&mut b.device.tx);
    let (_, ip, _) = ip_payload(&out[0]);
    assert_eq!(ip.src_addr, OUR_IP);
}
