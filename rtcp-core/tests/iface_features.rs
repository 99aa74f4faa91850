//! What the interface does with source-routed datagrams and ICMP errors,
//! with and without the `source-route` and `icmp-errors` features: frames
//! built with the wire module go in through `Interface::poll`, and the
//! interface's counters and the socket's state say what it did with them.
//! Also the counters of the other ways a received frame is dropped or
//! answered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rtcp_core::iface::{Interface, InterfaceConfig, InterfaceStats};
use rtcp_core::phy::{Device, DeviceCapabilities, RxToken, TxToken};
use rtcp_core::socket_set::{SocketSet, SocketSlot};
use rtcp_core::tcp::{Endpoint, State, TcpError};
use rtcp_core::time::Instant;
use rtcp_core::wire::{
    ArpOperation, ArpPacket, ArpRepr, ChecksumMode, EtherType, EthernetAddress, EthernetFrame,
    EthernetRepr, Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Address, Ipv4Cidr, Ipv4Packet,
    Ipv4Repr, RouteKind, SeqNumber, SourceRoute, TcpFlags, TcpOptions, TcpPacket, TcpRepr,
};
use std::collections::VecDeque;
use std::vec::Vec;

const OUR_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const PEER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
const OUR_IP: Ipv4Address = Ipv4Address::new(10, 0, 0, 1);
const PEER_IP: Ipv4Address = Ipv4Address::new(10, 0, 0, 2);

#[derive(Default)]
struct Link {
    rx: VecDeque<Vec<u8>>,
    tx: Vec<Vec<u8>>,
}

struct Rx(Vec<u8>);
struct Tx<'a>(&'a mut Vec<Vec<u8>>);

impl RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0u8; len];
        let r = f(&mut buf);
        self.0.push(buf);
        r
    }
}

impl Device for Link {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;
    fn receive(&mut self, _now: Instant) -> Option<(Rx, Tx<'_>)> {
        let frame = self.rx.pop_front()?;
        Some((Rx(frame), Tx(&mut self.tx)))
    }
    fn transmit(&mut self, _now: Instant) -> Option<Tx<'_>> {
        Some(Tx(&mut self.tx))
    }
    fn capabilities(&self) -> DeviceCapabilities {
        DeviceCapabilities::default()
    }
}

/// An Ethernet frame from the peer carrying `ip` with `options` and `payload`.
fn ip_frame(protocol: IpProtocol, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let ip_len = 20 + options.len() + payload.len();
    let mut frame = vec![0u8; 14 + ip_len];
    let eth = EthernetRepr {
        src_addr: PEER_MAC,
        dst_addr: OUR_MAC,
        ethertype: EtherType::Ipv4,
    };
    eth.emit(&mut EthernetFrame::new_unchecked(&mut frame[..]));
    let ip = Ipv4Repr {
        src_addr: PEER_IP,
        dst_addr: OUR_IP,
        protocol,
        payload_len: payload.len(),
        ttl: 64,
        dscp_ecn: 0,
        ident: 1,
        dont_frag: false,
    };
    let mut packet = Ipv4Packet::new_unchecked(&mut frame[14..]);
    ip.emit_with_options(&mut packet, options, ChecksumMode::default())
        .unwrap();
    frame[14 + 20 + options.len()..].copy_from_slice(payload);
    frame
}

/// A bare SYN from port 40000 of the peer to `dst_port`.
fn syn_to(dst_port: u16) -> TcpRepr<'static> {
    TcpRepr {
        src_port: 40000,
        dst_port,
        flags: TcpFlags::SYN,
        seq_number: SeqNumber(100),
        ack_number: SeqNumber(0),
        window_len: 8192,
        urgent_pointer: 0,
        options: TcpOptions::default(),
        payload: &[],
    }
}

fn tcp_bytes(seg: &TcpRepr) -> Vec<u8> {
    let mut buf = vec![0u8; seg.buffer_len()];
    seg.emit(
        &mut TcpPacket::new_unchecked(&mut buf[..]),
        &PEER_IP,
        &OUR_IP,
        ChecksumMode::default(),
    )
    .unwrap();
    buf
}

struct Stack {
    iface: Interface,
    link: Link,
    now: Instant,
}

impl Stack {
    fn new() -> Stack {
        Stack {
            iface: Interface::new(InterfaceConfig {
                mac: OUR_MAC,
                ip: Ipv4Cidr::new(OUR_IP, 24),
                gateway: None,
            }),
            link: Link::default(),
            now: Instant::from_secs(1),
        }
    }

    fn poll(&mut self, sockets: &mut SocketSet<'_>) -> Vec<Vec<u8>> {
        self.iface.poll(self.now, &mut self.link, sockets);
        core::mem::take(&mut self.link.tx)
    }
}

fn slots() -> Vec<SocketSlot<'static>> {
    (0..2)
        .map(|_| SocketSlot::new(Vec::leak(vec![0u8; 2048]), Vec::leak(vec![0u8; 2048])))
        .collect()
}

/// A SYN with a completed loose source route (the pointer past the end)
/// is taken along with its return route with `source-route`, and dropped
/// without it.
#[test]
fn source_routed_syn() {
    let mut storage = slots();
    let mut sockets = SocketSet::new(&mut storage[..], [1; 16]);
    let l = sockets.open().unwrap();
    sockets.listen(l, Endpoint::new(OUR_IP, 80), 1).unwrap();
    let mut stack = Stack::new();
    // NOP, then LSRR: length 7, pointer 8 (past the one address): complete.
    let options = [1, 131, 7, 8, 10, 0, 0, 9];
    let syn = syn_to(80);
    stack
        .link
        .rx
        .push_back(ip_frame(IpProtocol::Tcp, &options, &tcp_bytes(&syn)));
    stack.poll(&mut sockets);
    let stats = stack.iface.stats();
    if cfg!(feature = "source-route") {
        assert_eq!(
            (stats.rx_source_routed, stats.rx_source_route_dropped),
            (1, 0)
        );
    } else {
        assert_eq!(
            (stats.rx_source_routed, stats.rx_source_route_dropped),
            (0, 1)
        );
    }
    let route = SourceRoute::new(RouteKind::Loose, &[Ipv4Address::new(10, 0, 0, 9)]).unwrap();
    let set = sockets
        .with(l, |s| s.set_source_route(Some(route)))
        .unwrap();
    if cfg!(feature = "source-route") {
        assert_eq!(set, Ok(()));
    } else {
        assert_eq!(set, Err(TcpError::Unsupported));
    }
}

/// A port unreachable quoting our SYN refuses the connection with
/// `icmp-errors`; without it the error is counted and the connection
/// carries on.
#[test]
fn port_unreachable_for_a_connect() {
    let mut storage = slots();
    let mut sockets = SocketSet::new(&mut storage[..], [1; 16]);
    let c = sockets.open().unwrap();
    let mut stack = Stack::new();
    sockets
        .connect(
            stack.now,
            c,
            Endpoint::new(OUR_IP, 5000),
            Endpoint::new(PEER_IP, 80),
        )
        .unwrap();
    // The SYN waits for ARP: answer the request.
    let out = stack.poll(&mut sockets);
    assert!(!out.is_empty(), "an ARP request");
    let mut arp = vec![0u8; 14 + 28];
    EthernetRepr {
        src_addr: PEER_MAC,
        dst_addr: OUR_MAC,
        ethertype: EtherType::Arp,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut arp[..]));
    ArpRepr {
        operation: ArpOperation::Reply,
        source_hardware_addr: PEER_MAC,
        source_protocol_addr: PEER_IP,
        target_hardware_addr: OUR_MAC,
        target_protocol_addr: OUR_IP,
    }
    .emit(&mut ArpPacket::new_unchecked(&mut arp[14..]));
    stack.link.rx.push_back(arp);
    let mut syn_ip = None;
    for _ in 0..3 {
        for frame in stack.poll(&mut sockets) {
            let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
            if eth.ethertype() == EtherType::Ipv4 {
                syn_ip = Some(frame[14..].to_vec());
            }
        }
        if syn_ip.is_some() {
            break;
        }
        stack.now += rtcp_core::time::Duration::from_millis(1);
    }
    let syn_ip = syn_ip.expect("the SYN leaves once ARP is answered");
    let header = usize::from(Ipv4Packet::new_checked(&syn_ip[..]).unwrap().header_len());
    let quote = &syn_ip[..header + 8];
    let icmp = Icmpv4Repr::DstUnreachable {
        code: 3,
        next_hop_mtu: 0,
        data: quote,
    };
    let mut icmp_bytes = vec![0u8; icmp.buffer_len()];
    icmp.emit(
        &mut Icmpv4Packet::new_unchecked(&mut icmp_bytes[..]),
        ChecksumMode::default(),
    );
    stack
        .link
        .rx
        .push_back(ip_frame(IpProtocol::Icmp, &[], &icmp_bytes));
    stack.poll(&mut sockets);
    assert_eq!(stack.iface.stats().icmp_errors, 1);
    let sock = sockets.get(c);
    if cfg!(feature = "icmp-errors") {
        assert!(
            sock.is_err() || sock.is_ok_and(|s| s.error() == Some(TcpError::ConnectionRefused)),
            "a port unreachable refuses a connect"
        );
    } else {
        let sock = sock.unwrap();
        assert_eq!(sock.state(), State::SynSent);
        assert_eq!(sock.error(), None);
    }
}

/// Each way a received frame is dropped or answered bumps its own counter
/// and no other (ingress hands the counter back to `poll` on 32-bit
/// targets, where a counter's address is worked out from its place in
/// `InterfaceStats`).
#[test]
fn counters_of_received_frames() {
    let mut storage = slots();
    let mut sockets = SocketSet::new(&mut storage[..], [1; 16]);
    let mut stack = Stack::new();
    let udp = ip_frame(IpProtocol::Udp, &[], &[0; 8]);
    // Too short for an Ethernet header.
    stack.link.rx.push_back(vec![0; 10]);
    // For another station.
    let mut other = udp.clone();
    other[..6].copy_from_slice(&[2, 0, 0, 0, 0, 9]);
    stack.link.rx.push_back(other);
    // An EtherType we do not speak, and an 802.1Q tag.
    let mut unknown = udp.clone();
    unknown[12..14].copy_from_slice(&[0x88, 0xb5]);
    stack.link.rx.push_back(unknown);
    let mut vlan = udp.clone();
    vlan[12..14].copy_from_slice(&[0x81, 0x00]);
    stack.link.rx.push_back(vlan);
    // A bad IPv4 header checksum (the identification changed after it).
    let mut bad = udp.clone();
    bad[14 + 4] ^= 0xff;
    stack.link.rx.push_back(bad);
    // A protocol we do not speak.
    stack.link.rx.push_back(udp);
    // A SYN to a port nobody listens on: answered with a RST.
    let syn = syn_to(81);
    stack
        .link
        .rx
        .push_back(ip_frame(IpProtocol::Tcp, &[], &tcp_bytes(&syn)));
    // An echo request: answered.
    let echo = Icmpv4Repr::EchoRequest {
        ident: 1,
        seq_no: 2,
        data: b"ping",
    };
    let mut icmp = vec![0u8; echo.buffer_len()];
    echo.emit(
        &mut Icmpv4Packet::new_unchecked(&mut icmp[..]),
        ChecksumMode::default(),
    );
    stack
        .link
        .rx
        .push_back(ip_frame(IpProtocol::Icmp, &[], &icmp));
    let sent = stack.poll(&mut sockets);
    assert_eq!(sent.len(), 2);
    assert_eq!(
        stack.iface.stats(),
        InterfaceStats {
            rx_frames: 8,
            tx_frames: 2,
            rx_malformed: 1,
            rx_not_for_us: 1,
            rx_unknown_ethertype: 1,
            rx_vlan: 1,
            rx_bad_checksum: 1,
            rx_unknown_protocol: 1,
            tcp_resets_sent: 1,
            icmp_echo_replies: 1,
            ..InterfaceStats::default()
        }
    );
}
