//! One rtcp host on virtual time, seen from the remote peer: frames in,
//! segments out, each stamped with the virtual time it left.

use crate::sim::SimDevice;
use rtcp_core::iface::{Interface, InterfaceConfig};
use rtcp_core::socket_set::{SocketSet, SocketSlot};
use rtcp_core::tcp::TcpConfig;
use rtcp_core::time::{Duration, Instant};
use rtcp_core::wire::ipv4_route::find_source_route;
use rtcp_core::wire::{
    ArpOperation, ArpPacket, ArpRepr, ChecksumMode, EtherType, EthernetAddress, EthernetFrame,
    EthernetRepr, IpProtocol, Ipv4Address, Ipv4Cidr, Ipv4Packet, Ipv4Repr, SeqNumber, TcpFlags,
    TcpOptions, TcpPacket, TcpRepr,
};
use std::collections::VecDeque;

pub const OUR_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 1]);
/// packetdrill's default local address.
pub const OUR_IP: Ipv4Address = Ipv4Address::new(192, 168, 0, 1);
pub const PEER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 2]);
/// packetdrill's default remote address (off-link: reached via the gateway).
pub const PEER_IP: Ipv4Address = Ipv4Address::new(192, 0, 2, 1);
/// The gateway; its MAC is the peer's.
pub const GATEWAY_IP: Ipv4Address = Ipv4Address::new(192, 168, 0, 2);

/// Number of socket slots.
pub const SLOTS: usize = 16;
/// Receive and send buffer of each slot.
pub const RX_BUFFER: usize = 65535;
pub const TX_BUFFER: usize = 65535;

/// A TCP segment the engine sent.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Virtual time (µs since the script start).
    pub at: i64,
    /// IP ECN bits.
    pub ecn: u8,
    /// The whole IPv4 TOS octet (DSCP and ECN).
    pub tos: u8,
    /// The IPv4 destination (the first hop of a source route).
    pub ip_dst: Ipv4Address,
    /// The IPv4 option bytes.
    pub ip_options: Vec<u8>,
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    pub win: u16,
    pub options: TcpOptions,
    pub payload_len: usize,
    /// Destination port (the peer's).
    pub dst_port: u16,
    /// The urgent pointer field.
    pub urg: u16,
    /// The option kinds in wire order, NOP (1) and EOL (0) included.
    pub option_kinds: Vec<u8>,
    /// What is wrong with the bytes themselves (IP or TCP checksum, option
    /// encoding), checked on every segment we send: RFC 9293 MUST-2
    /// (checksum), MUST-68 (a length on every option but EOL and NOP),
    /// MUST-69 (padding is zero).
    pub wire_error: Option<String>,
}

/// A segment the peer sends.
#[derive(Debug, Clone)]
pub struct Inject {
    pub src_port: u16,
    pub dst_port: u16,
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    pub win: u16,
    pub options: TcpOptions,
    /// The option bytes as the script lays them out (padded to 4 bytes);
    /// these are what is sent, `options` is their meaning.
    pub raw_options: Vec<u8>,
    /// Send it with a wrong TCP checksum (the engine must drop it, MUST-3).
    pub bad_checksum: bool,
    pub urgent_pointer: u16,
    pub payload_len: usize,
    /// IP ECN bits.
    pub ecn: u8,
    /// The whole TOS octet, when the script gives it (`[tos 0xNN]`): it
    /// replaces `ecn`.
    pub tos: Option<u8>,
    /// IPv4 option bytes (a multiple of four, at most 40).
    pub ip_options: Vec<u8>,
}

pub struct Harness {
    pub iface: Interface,
    pub sockets: SocketSet<'static>,
    pub device: SimDevice,
    base: Instant,
    /// Virtual time, µs since the script start.
    pub now: i64,
    /// Segments sent and not yet matched.
    pub out: VecDeque<Sent>,
}

impl Harness {
    pub fn new(mtu: usize, config: TcpConfig) -> Harness {
        let slots: Vec<SocketSlot<'static>> = (0..SLOTS)
            .map(|_| SocketSlot::new(vec![0u8; RX_BUFFER], vec![0u8; TX_BUFFER]))
            .collect();
        let mut sockets = SocketSet::new(slots, [0x5a; 16]);
        sockets.set_default_config(config);
        let mut h = Harness {
            iface: Interface::new(InterfaceConfig {
                mac: OUR_MAC,
                ip: Ipv4Cidr::new(OUR_IP, 16),
                gateway: Some(GATEWAY_IP),
            }),
            sockets,
            device: SimDevice {
                mtu,
                ..SimDevice::default()
            },
            base: Instant::from_secs(10),
            now: 0,
            out: VecDeque::new(),
        };
        // Prime ARP: the gateway asks for us, so we learn its MAC.
        h.device.rx.push_back(arp(ArpOperation::Request, OUR_IP));
        h.poll();
        h.out.clear();
        h
    }

    pub fn instant(&self) -> Instant {
        self.base + Duration::from_micros(self.now.max(0) as u64)
    }

    /// Poll at the current time and collect what was sent. ARP requests
    /// from us are answered at once.
    pub fn poll(&mut self) {
        for _ in 0..16 {
            let now = self.instant();
            self.iface.poll(now, &mut self.device, &mut self.sockets);
            let frames = std::mem::take(&mut self.device.tx);
            let mut answered = false;
            for f in frames {
                if self.take_frame(&f) {
                    self.device.rx.push_back(arp(ArpOperation::Reply, OUR_IP));
                    answered = true;
                }
            }
            if !answered && self.device.rx.is_empty() {
                break;
            }
        }
    }

    /// Returns true for an ARP request we must answer.
    fn take_frame(&mut self, frame: &[u8]) -> bool {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return false;
        };
        match eth.ethertype() {
            EtherType::Arp => ArpPacket::new_checked(eth.payload())
                .ok()
                .and_then(|p| ArpRepr::parse(&p).ok())
                .is_some_and(|a| a.operation == ArpOperation::Request),
            EtherType::Ipv4 => {
                let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
                    return false;
                };
                if ip.next_header() != IpProtocol::Tcp {
                    return false;
                }
                let Ok(tcp) = TcpPacket::new_checked(ip.payload()) else {
                    return false;
                };
                let options = TcpOptions::parse(tcp.options()).unwrap_or_default();
                // A source-routed datagram's TCP checksum covers the final
                // destination, the last address of the route option while
                // it is under way (RFC 9293 §3.1, RFC 791 §3.1).
                let final_dst = find_source_route(ip.options())
                    .ok()
                    .flatten()
                    .and_then(|r| r.addresses().last().copied())
                    .unwrap_or(ip.dst_addr());
                let wire_error = if !ip.verify_checksum() {
                    Some("bad IPv4 header checksum".to_string())
                } else if !tcp.verify_checksum(&ip.src_addr(), &final_dst) {
                    Some("bad TCP checksum (MUST-2)".to_string())
                } else {
                    option_encoding_error(tcp.options())
                };
                self.out.push_back(Sent {
                    wire_error,
                    dst_port: tcp.dst_port(),
                    urg: tcp.urgent_pointer(),
                    option_kinds: option_kinds(tcp.options()),
                    at: self.now,
                    ecn: ip.dscp_ecn() & 3,
                    tos: ip.dscp_ecn(),
                    ip_dst: ip.dst_addr(),
                    ip_options: ip.options().to_vec(),
                    flags: tcp.flags().0,
                    seq: tcp.seq_number().0,
                    ack: tcp.ack_number().0,
                    win: tcp.window_len(),
                    options,
                    payload_len: tcp.payload().len(),
                });
                false
            }
            _ => false,
        }
    }

    /// The engine's next deadline, µs since the script start.
    fn deadline(&self) -> Option<i64> {
        self.iface.poll_at(&self.sockets).map(|t| {
            let us = t.total_micros() as i64 - self.base.total_micros() as i64;
            us.max(self.now)
        })
    }

    /// Run timers up to `t` (each at its own time), then poll at `t`.
    /// With `stop_on_output`, stop as soon as something was sent.
    pub fn advance(&mut self, t: i64, stop_on_output: bool) {
        let mut same = 0;
        for _ in 0..1_000_000 {
            if stop_on_output && !self.out.is_empty() {
                return;
            }
            match self.deadline() {
                Some(d) if d <= t => {
                    if d == self.now {
                        same += 1;
                        if same > 8 {
                            // A deadline that does not move: step on.
                            self.now = (self.now + 1000).min(t);
                            if self.now == t {
                                break;
                            }
                        }
                    } else {
                        same = 0;
                        self.now = d;
                    }
                    self.poll();
                }
                _ => break,
            }
        }
        if stop_on_output && !self.out.is_empty() {
            return;
        }
        if t > self.now {
            self.now = t;
        }
        self.poll();
    }

    /// Inject one segment from the peer and poll.
    pub fn inject(&mut self, seg: &Inject) {
        let payload = vec![0u8; seg.payload_len];
        let repr = TcpRepr {
            src_port: seg.src_port,
            dst_port: seg.dst_port,
            flags: TcpFlags(seg.flags),
            seq_number: SeqNumber(seg.seq),
            ack_number: SeqNumber(seg.ack),
            window_len: seg.win,
            urgent_pointer: seg.urgent_pointer,
            options: seg.options,
            payload: &payload,
        };
        let mut tcp = vec![0u8; repr.buffer_len()];
        if seg.raw_options.len() <= 40 {
            // Byte-exact: the header is written field by field around the
            // script's own option bytes.
            let header_len = 20 + seg.raw_options.len();
            tcp = vec![0u8; header_len + payload.len()];
            let mut p = TcpPacket::new_unchecked(&mut tcp[..]);
            p.set_src_port(repr.src_port);
            p.set_dst_port(repr.dst_port);
            p.set_seq_number(repr.seq_number);
            p.set_ack_number(repr.ack_number);
            p.set_header_len(header_len);
            p.set_flags(repr.flags);
            p.set_window_len(repr.window_len);
            p.set_urgent_pointer(seg.urgent_pointer);
            p.options_mut().copy_from_slice(&seg.raw_options);
            p.fill_checksum(&PEER_IP, &OUR_IP);
            if seg.bad_checksum {
                let wrong = p.checksum() ^ 0x0001;
                p.set_checksum(wrong);
            }
        } else {
            repr.emit(
                &mut TcpPacket::new_unchecked(&mut tcp[..]),
                &PEER_IP,
                &OUR_IP,
                ChecksumMode::default(),
            )
            .expect("segment fits its buffer");
        }
        let ip = Ipv4Repr {
            src_addr: PEER_IP,
            dst_addr: OUR_IP,
            protocol: IpProtocol::Tcp,
            payload_len: tcp.len(),
            ttl: 64,
            dscp_ecn: seg.tos.unwrap_or(seg.ecn),
            ident: 1,
            dont_frag: true,
        };
        let mut buf = vec![0u8; 20 + seg.ip_options.len() + tcp.len()];
        let mut view = Ipv4Packet::new_unchecked(&mut buf[..]);
        ip.emit_with_options(&mut view, &seg.ip_options, ChecksumMode::default())
            .expect("options are a multiple of four, at most 40 bytes");
        view.payload_mut().copy_from_slice(&tcp);
        self.device
            .rx
            .push_back(ethernet(OUR_MAC, EtherType::Ipv4, &buf));
        self.poll();
    }
}

/// The kinds of the options in `bytes`, in order; stops at EOL (kept) or
/// at a malformed length.
fn option_kinds(bytes: &[u8]) -> Vec<u8> {
    let mut kinds = Vec::new();
    let mut i = 0;
    while let Some(&kind) = bytes.get(i) {
        kinds.push(kind);
        match kind {
            0 => break,
            1 => i += 1,
            _ => match bytes.get(i + 1) {
                Some(&len) if len >= 2 => i += usize::from(len),
                _ => break,
            },
        }
    }
    kinds
}

/// Checks the TCP option bytes we sent, byte by byte: every option but EOL
/// (0) and NOP (1) has a length octet that covers at least itself and fits
/// (MUST-68), and whatever follows an EOL is zero (MUST-69).
pub fn option_encoding_error(bytes: &[u8]) -> Option<String> {
    let mut i = 0;
    while let Some(&kind) = bytes.get(i) {
        match kind {
            0 => {
                return bytes
                    .get(i + 1..)
                    .is_some_and(|rest| rest.iter().any(|&b| b != 0))
                    .then(|| format!("non-zero padding after EOL at option byte {i} (MUST-69)"));
            }
            1 => i += 1,
            _ => match bytes.get(i + 1) {
                Some(&len) if len >= 2 && i + usize::from(len) <= bytes.len() => {
                    i += usize::from(len);
                }
                _ => {
                    return Some(format!(
                        "option kind {kind} at byte {i} has no valid length (MUST-68)"
                    ))
                }
            },
        }
    }
    None
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

fn arp(operation: ArpOperation, target: Ipv4Address) -> Vec<u8> {
    let repr = ArpRepr {
        operation,
        source_hardware_addr: PEER_MAC,
        source_protocol_addr: GATEWAY_IP,
        target_hardware_addr: if operation == ArpOperation::Reply {
            OUR_MAC
        } else {
            EthernetAddress([0; 6])
        },
        target_protocol_addr: target,
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
    let dst = if operation == ArpOperation::Reply {
        OUR_MAC
    } else {
        EthernetAddress::BROADCAST
    };
    ethernet(dst, EtherType::Arp, &buf)
}
