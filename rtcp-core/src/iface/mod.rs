//! The interface: Ethernet in and out, ARP, IPv4, ICMP echo, and TCP
//! demultiplexing to the [`SocketSet`].
//!
//! ```no_run
//! # use rtcp_core::iface::{Interface, InterfaceConfig};
//! # use rtcp_core::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};
//! # fn run<D: rtcp_core::phy::Device>(device: &mut D, sockets: &mut rtcp_core::socket_set::SocketSet, clock: impl Fn() -> rtcp_core::time::Instant) {
//! let mut iface = Interface::new(InterfaceConfig {
//!     mac: EthernetAddress([0x02, 0, 0, 0, 0, 1]),
//!     ip: Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, 1), 24),
//!     gateway: None,
//! });
//! loop {
//!     iface.poll(clock(), device, sockets);
//!     // Sleep until iface.poll_at(sockets), a frame, or a user call.
//! }
//! # }
//! ```

pub mod arp_cache;

use crate::count;
use crate::phy::{Device, DeviceCapabilities, RxToken, TxToken};
use crate::socket_set::{EmitError, SocketSet};
use crate::tcp::ip::IpParams;
#[cfg(feature = "icmp-errors")]
use crate::tcp::IcmpError;
use crate::time::Instant;
use crate::wire::frame::{self, TcpFrame};
use crate::wire::{
    ethernet, ArpOperation, ArpPacket, ArpRepr, ChecksumMode, EtherType, EthernetAddress,
    EthernetFrame, EthernetRepr, Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Address, Ipv4Cidr,
    Ipv4Packet, Ipv4Repr, RouteKind, SeqNumber, SourceRoute, TcpFlags, TcpOptions, TcpPacket,
    TcpRepr,
};
use arp_cache::{ArpCache, Lookup, REQUEST_INTERVAL};

/// Bytes of IPv4 header we emit (no options).
const IPV4_HEADER_LEN: usize = 20;
/// Default TTL (RFC 1700 / RFC 9293 leaves it to IP; 64 is common).
pub const DEFAULT_TTL: u8 = 64;

/// Addressing of an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct InterfaceConfig {
    /// Our MAC address.
    pub mac: EthernetAddress,
    /// Our IPv4 address and prefix.
    pub ip: Ipv4Cidr,
    /// Where off-link packets go.
    pub gateway: Option<Ipv4Address>,
}

/// What the interface dropped and sent, for users to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct InterfaceStats {
    /// Frames received.
    pub rx_frames: u64,
    /// Frames sent.
    pub tx_frames: u64,
    /// Frames that failed to parse at any layer (truncated, malformed).
    pub rx_malformed: u64,
    /// Packets with a bad IPv4, ICMP or TCP checksum.
    pub rx_bad_checksum: u64,
    /// 802.1Q-tagged frames.
    pub rx_vlan: u64,
    /// IPv4 fragments (not reassembled).
    pub rx_fragments: u64,
    /// Frames of an EtherType we do not speak.
    pub rx_unknown_ethertype: u64,
    /// IP packets of a protocol we do not speak.
    pub rx_unknown_protocol: u64,
    /// Frames or packets addressed to someone else.
    pub rx_not_for_us: u64,
    /// TCP segments from a broadcast or multicast source, or to one.
    pub rx_bad_address: u64,
    /// ARP requests sent.
    pub arp_requests: u64,
    /// ARP replies sent.
    pub arp_replies: u64,
    /// ICMP echo replies sent.
    pub icmp_echo_replies: u64,
    /// ICMP error messages received (unreachable, time exceeded).
    pub icmp_errors: u64,
    /// ICMP messages of other types.
    pub icmp_unsupported: u64,
    /// RSTs sent for segments that matched no socket.
    pub tcp_resets_sent: u64,
    /// TCP super-segments handed to the device for segmentation (TSO),
    /// each counted once in `tx_frames` too. Only with the `tso` feature.
    #[cfg(feature = "tso")]
    pub tx_segmented: u64,
    /// TCP super-segments the interface cut into segments itself
    /// ([`Interface::set_software_segmentation`]); each piece counts in
    /// `tx_frames`. Only with the `tso` feature.
    #[cfg(feature = "tso")]
    pub tx_soft_segmented: u64,
    /// Frames not sent because the device had no buffer.
    pub tx_exhausted: u64,
    /// Packets with no route (off-link and no gateway, or a strict source
    /// route whose first hop is off-link).
    pub no_route: u64,
    /// Negative advice from TCP after R1 retransmissions (RFC 9293 §3.8.3,
    /// MUST-20): each one made the next hop's ARP entry stale, so it is
    /// resolved again.
    pub negative_advice: u64,
    /// Source-routed datagrams received with a completed route (its reverse
    /// becomes the connection's route back, MUST-53).
    pub rx_source_routed: u64,
    /// Source-routed datagrams dropped: the route was not complete (we are
    /// a hop, not the destination, and do not forward), or source routing
    /// is turned off ([`Interface::set_source_routing`]).
    pub rx_source_route_dropped: u64,
}

/// An Ethernet/IPv4 interface.
// Field order: 32-bit targets keep this order (`repr(C)`), the small
// fields first, within the 40 bytes before the ARP cache and the counters
// (8-aligned, at offset 40: the same 592 bytes on thumbv7em). Thumb's
// 2-byte loads reach halfwords within 62 bytes of the base, so `ident`
// (at 32) is in reach; the byte fields (34 to 36) are just past the 31
// bytes a 2-byte `ldrb` reaches, and putting them first measured no
// smaller (session 17). Left to the compiler the small fields came last,
// after 560 bytes of cache and counters (flash, issue 9).
#[derive(Debug)]
#[cfg_attr(target_pointer_width = "32", repr(C))]
pub struct Interface {
    config: InterfaceConfig,
    caps: DeviceCapabilities,
    ident: u16,
    ttl: u8,
    source_routing: bool,
    soft_segmentation: bool,
    /// `config.ip`'s netmask as a big-endian integer, worked out once in
    /// `new` (the configuration does not change after it): every received
    /// TCP segment (the broadcast test) and every burst sent (`next_hop`)
    /// asks for it, and recomputing it from the prefix length each time
    /// cost about 150 instructions per connection (issue 9).
    netmask: u32,
    arp: ArpCache,
    stats: InterfaceStats,
}

/// What ingress wants sent right back, or an ARP request of ours.
enum Reply<'p> {
    /// A request goes to the broadcast address, a reply to its target.
    Arp(ArpRepr),
    /// An echo reply (RFC 792) to this address: its identifier, sequence
    /// number and data. Only the fields: the message is built where it is
    /// written, so the writer has one kind of ICMP message to emit (flash,
    /// issue 9).
    Echo(Ipv4Address, u16, u16, &'p [u8]),
    /// Source, final destination, the RST, and the return route of the
    /// segment it answers (RFC 1122 §3.2.1.8 (c): replies take it).
    TcpReset(
        Ipv4Address,
        Ipv4Address,
        TcpRepr<'static>,
        Option<SourceRoute>,
    ),
}

/// The echo reply to an echo request with these fields (RFC 792: the
/// same identifier, sequence number and data).
fn echo_reply(ident: u16, seq_no: u16, data: &[u8]) -> Icmpv4Repr<'_> {
    Icmpv4Repr::EchoReply {
        ident,
        seq_no,
        data,
    }
}

/// A received header's view for its parser, or, if it is too short for
/// one, the datagram counted as malformed and dropped (`return` from the
/// caller). Each parser (`Ipv4Repr::parse`, `Icmpv4Repr::parse`,
/// `TcpRepr::parse_ingress`) checks the lengths itself, and
/// `ingress_ipv4` counts its length errors as malformed too, so on 32-bit
/// targets the view is made unchecked: one copy of the check instead of
/// two (flash, issue 9: 164 B for IPv4 alone in the minimal firmware
/// build). 64-bit hosts check here as well, with the same outcome, because
/// without it `Interface::poll`'s send path is laid out differently and a
/// connection costs 30 to 40 instructions more (`rtcp-compare/ir.sh`).
///
/// A macro, not a function: the same check through an always-inlined
/// function returning a `Result` made the minimal firmware 204 B larger
/// (LTO inlined the parsers differently).
macro_rules! view_or_drop {
    ($iface:ident, $packet:ident, $bytes:expr) => {{
        #[cfg(target_pointer_width = "64")]
        let Ok(view) = $packet::new_checked($bytes) else {
            count(&mut $iface.stats.rx_malformed);
            return;
        };
        #[cfg(not(target_pointer_width = "64"))]
        let view = $packet::new_unchecked($bytes);
        view
    }};
}

impl Interface {
    /// A new interface.
    pub fn new(config: InterfaceConfig) -> Interface {
        Interface {
            config,
            arp: ArpCache::default(),
            stats: InterfaceStats::default(),
            ident: 0,
            caps: DeviceCapabilities::default(),
            ttl: DEFAULT_TTL,
            source_routing: true,
            soft_segmentation: true,
            netmask: config.ip.netmask().to_bits(),
        }
    }

    /// The addressing.
    pub fn config(&self) -> &InterfaceConfig {
        &self.config
    }

    /// Set the TTL of every packet this interface sends (RFC 9293 §3.9.2,
    /// MUST-49); [`DEFAULT_TTL`] otherwise. Zero is refused (it would be
    /// dropped by the first router).
    pub fn set_ttl(&mut self, ttl: u8) {
        if ttl > 0 {
            self.ttl = ttl;
        }
    }

    /// Accept source-routed datagrams (the default, as RFC 9293 §3.9.2.1
    /// requires of TCP: their return route is used, MUST-53), or drop them
    /// all (`false`; RFC 7126 §4.3–4.4 advises filtering them on networks
    /// where spoofing matters). Routes the application sets are sent
    /// either way. Without the `source-route` feature such datagrams are
    /// always dropped and this setting has no effect.
    pub fn set_source_routing(&mut self, accept: bool) {
        self.source_routing = accept;
    }

    /// Segment bursts of new data in software when the device does not
    /// (the default; Linux calls it GSO): a connection plans and books up
    /// to 64 KiB of new data as one super-segment, as it would for a
    /// device with segmentation offload ([`Device::tso_max_size`]), and
    /// the interface cuts it into MSS-sized segments as it writes them to
    /// the device, each with its own headers and checksums. The planning
    /// and bookkeeping then run once per burst instead of once per segment
    /// (`BENCHMARKS.md`, "Session 12"); the frames on the wire are those
    /// the connection would have sent one at a time (`tests/tests/sim_tso.rs`
    /// checks byte for byte). Super-segments are only planned for new data
    /// on connections with SACK that are not paced (BBR keeps one segment
    /// per pacing step, where over a device with segmentation offload it
    /// sends about a millisecond of its rate at once). If the device
    /// runs out of transmit buffers part way, what it took counts as sent
    /// and the rest waits. Off for devices that set
    /// [`DeviceCapabilities::max_burst`](crate::phy::DeviceCapabilities),
    /// whose per-poll budget counts frames, and without the `tso` feature.
    pub fn set_software_segmentation(&mut self, on: bool) {
        self.soft_segmentation = on;
    }

    /// The TTL of outgoing packets.
    pub fn ttl(&self) -> u8 {
        self.ttl
    }

    /// Counters.
    pub fn stats(&self) -> InterfaceStats {
        self.stats
    }

    /// Our IPv4 address.
    pub fn ipv4_addr(&self) -> Ipv4Address {
        self.config.ip.address
    }

    /// Our MAC address.
    pub fn mac(&self) -> EthernetAddress {
        self.config.mac
    }

    fn rx_checksums(&self) -> (ChecksumMode, ChecksumMode, ChecksumMode) {
        let c = self.caps.checksum;
        let mode = |rx: bool, tx: bool| ChecksumMode {
            verify_rx: !rx,
            compute_tx: !tx,
        };
        (
            mode(c.ipv4_rx, c.ipv4_tx),
            mode(c.tcp_rx, c.tcp_tx),
            mode(c.icmp_rx, c.icmp_tx),
        )
    }

    /// Process every received frame and send everything due. Returns whether
    /// anything was received or sent.
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    pub fn poll<D: Device, const LOG: usize>(
        &mut self,
        now: Instant,
        device: &mut D,
        sockets: &mut SocketSet<'_, LOG>,
    ) -> bool {
        self.caps = device.capabilities();
        sockets.subnet = Some(self.config.ip);
        sockets.local_mss = self
            .caps
            .mtu
            .saturating_sub(IPV4_HEADER_LEN + crate::wire::tcp::HEADER_LEN)
            .max(1);
        // Segmentation offload only makes sense above the MTU; the IPv4
        // total length field caps it. Without it, the interface cuts
        // super-segments itself (`set_software_segmentation`).
        #[cfg(feature = "tso")]
        {
            let tso = device.tso_max_size().min(usize::from(u16::MAX));
            sockets.tso_max = if tso > self.caps.mtu {
                tso
            } else if self.soft_segmentation && self.caps.max_burst == 0 {
                crate::tcp::SOFT_TSO
            } else {
                0
            };
        }
        let mut activity = false;
        let budget = if self.caps.max_burst == 0 {
            usize::MAX
        } else {
            self.caps.max_burst
        };
        let mut sent = 0;
        // Ingress, bounded so egress is never starved.
        for _ in 0..256 {
            let Some((rx, tx)) = device.receive(now) else {
                break;
            };
            activity = true;
            count(&mut self.stats.rx_frames);
            // The closure captures one reference: capturing the interface,
            // the clock, the token and the table each by value made a
            // 40-byte closure that was stored field by field and copied
            // whole into `consume`, a failed store-to-load forward on
            // every frame.
            let mut context = (&mut *self, &mut *sockets, Some(tx));
            rx.consume(|frame| {
                let (iface, sockets, tx) = &mut context;
                if let Some(tx) = tx.take() {
                    iface.ingress(now, frame, tx, sockets);
                }
            });
        }
        // Egress, after every queued frame was processed: ACKs are
        // aggregated (RFC 9293 §3.10.7.4, MUST-58/59), except that each
        // out-of-order segment still gets its own duplicate ACK (RFC 5681
        // §4.2; see `acks_owed`).
        sent += sockets.dispatch(now, budget.saturating_sub(sent), |ip, repr| {
            self.emit_tcp_segments(now, device, ip, repr)
        });
        activity || sent > 0
    }

    /// When [`poll`](Self::poll) must next run (absent new frames or user
    /// calls). `Some(t)` with `t <= now` means at once; `None` means never.
    pub fn poll_at<const LOG: usize>(&self, sockets: &SocketSet<'_, LOG>) -> Option<Instant> {
        sockets.poll_at()
    }

    fn ingress<T: TxToken, const LOG: usize>(
        &mut self,
        now: Instant,
        frame: &[u8],
        tx: T,
        sockets: &mut SocketSet<'_, LOG>,
    ) {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            count(&mut self.stats.rx_malformed);
            net_trace!("drop: {}-byte frame too short for Ethernet", frame.len());
            return;
        };
        let eth_repr = match EthernetRepr::parse(&eth) {
            Ok(r) => r,
            Err(crate::wire::Error::VlanTagged) => {
                count(&mut self.stats.rx_vlan);
                return;
            }
            Err(_) => {
                count(&mut self.stats.rx_malformed);
                return;
            }
        };
        if eth_repr.dst_addr != self.config.mac && !eth_repr.dst_addr.is_broadcast() {
            count(&mut self.stats.rx_not_for_us);
            return;
        }
        match eth_repr.ethertype {
            EtherType::Arp => {
                self.ingress_arp_frame(now, eth.payload(), eth_repr.src_addr, sockets, tx)
            }
            EtherType::Ipv4 => {
                self.ingress_ipv4(now, eth.payload(), sockets, eth_repr.src_addr, tx)
            }
            EtherType::Unknown(_) => self.stats.rx_unknown_ethertype += 1,
        }
    }

    /// An ARP frame: merge its sender, answer a request for us.
    #[cfg_attr(target_pointer_width = "64", inline(never))]
    fn ingress_arp_frame<T: TxToken, const LOG: usize>(
        &mut self,
        now: Instant,
        payload: &[u8],
        src_mac: EthernetAddress,
        sockets: &mut SocketSet<'_, LOG>,
        tx: T,
    ) {
        if let Some(reply) = self.ingress_arp(now, payload, sockets) {
            self.send_reply(now, src_mac, Reply::Arp(reply), tx);
        }
    }

    fn ingress_arp<const LOG: usize>(
        &mut self,
        now: Instant,
        payload: &[u8],
        sockets: &mut SocketSet<'_, LOG>,
    ) -> Option<ArpRepr> {
        let Ok(packet) = ArpPacket::new_checked(payload) else {
            count(&mut self.stats.rx_malformed);
            return None;
        };
        let Ok(arp) = ArpRepr::parse(&packet) else {
            count(&mut self.stats.rx_malformed);
            return None;
        };
        let for_us = arp.target_protocol_addr == self.config.ip.address;
        if arp.source_protocol_addr.is_unspecified() || !arp.source_hardware_addr.is_unicast() {
            return None;
        }
        // RFC 826: merge the sender; add it if we are the target.
        if for_us {
            if self
                .arp
                .fill(now, arp.source_protocol_addr, arp.source_hardware_addr)
            {
                sockets.wake_deferred(now);
            }
        } else {
            self.arp
                .refresh(now, arp.source_protocol_addr, arp.source_hardware_addr);
            count(&mut self.stats.rx_not_for_us);
            return None;
        }
        match arp.operation {
            ArpOperation::Request => Some(ArpRepr {
                operation: ArpOperation::Reply,
                source_hardware_addr: self.config.mac,
                source_protocol_addr: self.config.ip.address,
                target_hardware_addr: arp.source_hardware_addr,
                target_protocol_addr: arp.source_protocol_addr,
            }),
            ArpOperation::Reply => None,
        }
    }

    fn ingress_ipv4<T: TxToken, const LOG: usize>(
        &mut self,
        now: Instant,
        payload: &[u8],
        sockets: &mut SocketSet<'_, LOG>,
        src_mac: EthernetAddress,
        tx: T,
    ) {
        let (ip_mode, tcp_mode, icmp_mode) = self.rx_checksums();
        let packet = view_or_drop!(self, Ipv4Packet, payload);
        let ip = match Ipv4Repr::parse(&packet, ip_mode) {
            Ok(ip) => ip,
            Err(crate::wire::Error::Checksum) => {
                count(&mut self.stats.rx_bad_checksum);
                return;
            }
            Err(crate::wire::Error::Fragment) => {
                count(&mut self.stats.rx_fragments);
                return;
            }
            Err(_) => {
                count(&mut self.stats.rx_malformed);
                return;
            }
        };
        if ip.dst_addr != self.config.ip.address {
            count(&mut self.stats.rx_not_for_us);
            return;
        }
        // RFC 1122 §3.2.1.8: a source route that is complete ends here, and
        // its reverse is the way back (MUST-53); one that is not names a
        // further hop, and we do not forward.
        #[cfg_attr(not(feature = "source-route"), allow(unused_mut))]
        let mut back = None;
        // Without the `source-route` feature every source-routed datagram
        // is dropped, as with `set_source_routing(false)`.
        #[cfg(not(feature = "source-route"))]
        match crate::wire::ipv4_route::has_source_route(packet.options()) {
            Err(_) => {
                count(&mut self.stats.rx_malformed);
                return;
            }
            Ok(false) => {}
            Ok(true) => {
                count(&mut self.stats.rx_source_route_dropped);
                return;
            }
        }
        #[cfg(feature = "source-route")]
        if !packet.options().is_empty() {
            match crate::wire::ipv4_route::find_source_route(packet.options()) {
                Err(_) => {
                    count(&mut self.stats.rx_malformed);
                    return;
                }
                Ok(None) => {}
                Ok(Some(route)) if route.complete && self.source_routing => {
                    count(&mut self.stats.rx_source_routed);
                    back = route.return_route();
                }
                Ok(Some(_)) => {
                    count(&mut self.stats.rx_source_route_dropped);
                    return;
                }
            }
        }
        let body = packet.payload();
        match ip.protocol {
            IpProtocol::Icmp => {
                let icmp_packet = view_or_drop!(self, Icmpv4Packet, body);
                match Icmpv4Repr::parse(&icmp_packet, icmp_mode) {
                    Ok(Icmpv4Repr::EchoRequest {
                        ident,
                        seq_no,
                        data,
                    }) => {
                        let reply = Reply::Echo(ip.src_addr, ident, seq_no, data);
                        self.send_reply(now, src_mac, reply, tx);
                    }
                    // Without the `icmp-errors` feature errors are counted
                    // and otherwise ignored.
                    #[cfg(not(feature = "icmp-errors"))]
                    Ok(Icmpv4Repr::DstUnreachable { .. } | Icmpv4Repr::TimeExceeded { .. }) => {
                        count(&mut self.stats.icmp_errors);
                    }
                    #[cfg(feature = "icmp-errors")]
                    Ok(
                        icmp
                        @ (Icmpv4Repr::DstUnreachable { .. } | Icmpv4Repr::TimeExceeded { .. }),
                    ) => {
                        // RFC 9293 §3.9.2.2 (MUST-54): hand the error to the
                        // connection whose segment it quotes.
                        count(&mut self.stats.icmp_errors);
                        if let Some(quote) = icmp.quoted_ipv4() {
                            let error = match icmp {
                                Icmpv4Repr::DstUnreachable {
                                    code, next_hop_mtu, ..
                                } => IcmpError::Unreachable { code, next_hop_mtu },
                                _ => IcmpError::TimeExceeded,
                            };
                            if quote.protocol == IpProtocol::Tcp
                                && quote.src_addr == self.config.ip.address
                            {
                                sockets.icmp_error(quote, error);
                            }
                        }
                    }
                    Ok(_) | Err(crate::wire::Error::Unsupported) => {
                        count(&mut self.stats.icmp_unsupported);
                    }
                    Err(crate::wire::Error::Checksum) => {
                        count(&mut self.stats.rx_bad_checksum);
                    }
                    Err(_) => {
                        count(&mut self.stats.rx_malformed);
                    }
                }
            }
            IpProtocol::Tcp => {
                let tcp_packet = view_or_drop!(self, TcpPacket, body);
                // Parsed in place (see `TcpRepr::parse_into`), SACK blocks
                // only with the `sack` feature (`parse_ingress`).
                let mut seg = TcpRepr::default();
                match TcpRepr::parse_ingress(
                    &tcp_packet,
                    &ip.src_addr,
                    &ip.dst_addr,
                    tcp_mode,
                    &mut seg,
                ) {
                    Ok(()) => {}
                    Err(crate::wire::Error::Checksum) => {
                        count(&mut self.stats.rx_bad_checksum);
                        return;
                    }
                    Err(_) => {
                        count(&mut self.stats.rx_malformed);
                        return;
                    }
                }
                // RFC 9293 §3.9.2.1 / RFC 1122 §4.2.3.10: segments from a
                // broadcast or multicast address are not for a connection.
                let src = ip.src_addr;
                if src.is_broadcast()
                    || src.is_multicast()
                    || src.is_unspecified()
                    || src.to_bits() == self.config.ip.address.to_bits() | !self.netmask
                    || seg.src_port == 0
                    || seg.dst_port == 0
                {
                    count(&mut self.stats.rx_bad_address);
                    return;
                }
                let Some(reset) = sockets.process(now, &ip, &seg, back.as_ref()) else {
                    return;
                };
                let rst = TcpRepr {
                    src_port: seg.dst_port,
                    dst_port: seg.src_port,
                    flags: if reset.ack.is_some() {
                        TcpFlags::RST | TcpFlags::ACK
                    } else {
                        TcpFlags::RST
                    },
                    seq_number: reset.seq,
                    ack_number: reset.ack.unwrap_or(SeqNumber(0)),
                    window_len: 0,
                    urgent_pointer: 0,
                    options: TcpOptions::default(),
                    payload: &[],
                };
                count(&mut self.stats.tcp_resets_sent);
                self.send_reply(
                    now,
                    src_mac,
                    Reply::TcpReset(ip.dst_addr, ip.src_addr, rst, back),
                    tx,
                );
            }
            _ => {
                count(&mut self.stats.rx_unknown_protocol);
            }
        }
    }

    /// Whether `addr` is in our prefix (`Ipv4Cidr::contains` with the
    /// netmask worked out in `new`).
    #[inline]
    fn on_link(&self, addr: Ipv4Address) -> bool {
        (addr.to_bits() ^ self.config.ip.address.to_bits()) & self.netmask == 0
    }

    fn next_ident(&mut self) -> u16 {
        self.ident = self.ident.wrapping_add(1);
        self.ident
    }

    /// The next hop for `dst`, or `None` when there is no route.
    // Out of line on 32-bit targets (flash, issue 9: two inlined copies
    // in the firmware build); inlined on 64-bit hosts as before.
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    fn next_hop(&self, dst: Ipv4Address) -> Option<Ipv4Address> {
        if self.on_link(dst) {
            Some(dst)
        } else {
            self.config.gateway
        }
    }

    fn ip_repr(&mut self, dst: Ipv4Address, protocol: IpProtocol, payload_len: usize) -> Ipv4Repr {
        Ipv4Repr {
            src_addr: self.config.ip.address,
            dst_addr: dst,
            protocol,
            payload_len,
            ttl: self.ttl,
            dscp_ecn: 0,
            ident: self.next_ident(),
            dont_frag: true,
        }
    }

    /// Write an IPv4 packet (header, `options`, `fill`ed payload) into `buf`.
    fn write_ipv4(
        &self,
        buf: &mut [u8],
        ip: &Ipv4Repr,
        options: &[u8],
        fill: impl FnOnce(&mut [u8]),
    ) -> bool {
        let (ip_mode, _, _) = self.rx_checksums();
        let mut packet = Ipv4Packet::new_unchecked(buf);
        let ok = ip.emit_with_options(&mut packet, options, ip_mode).is_ok();
        fill(packet.payload_mut());
        ok
    }

    /// Send a reply straight back: ARP (and our ARP requests), ICMP echo
    /// replies, RSTs. One frame writer serves them all, so that the
    /// device's `consume`, the Ethernet header and the IPv4 header are
    /// spelled out once in flash (issue 9), not once per kind of reply.
    ///
    /// An IP reply goes to the cached MAC of the next hop, or else to the
    /// MAC the request came from (the sender itself, or our gateway for an
    /// off-link sender), so a reply never waits for ARP. TCP data does
    /// wait for ARP, in its socket: a segment that cannot be addressed is
    /// not committed, and it leaves as soon as the ARP reply arrives (see
    /// `SocketSet::wake_deferred`).
    fn send_reply<T: TxToken>(
        &mut self,
        now: Instant,
        src_mac: EthernetAddress,
        reply: Reply<'_>,
        tx: T,
    ) {
        let (_, tcp_mode, icmp_mode) = self.rx_checksums();
        #[cfg_attr(not(feature = "source-route"), allow(unused_mut))]
        let (mut options, mut options_len) = ([0u8; 40], 0);
        let ip = match &reply {
            Reply::Arp(arp) => {
                if arp.operation == ArpOperation::Request {
                    count(&mut self.stats.arp_requests);
                } else {
                    count(&mut self.stats.arp_replies);
                }
                None
            }
            Reply::Echo(dst, ident, seq_no, data) => {
                count(&mut self.stats.icmp_echo_replies);
                let icmp = echo_reply(*ident, *seq_no, data);
                Some(self.ip_repr(*dst, IpProtocol::Icmp, icmp.buffer_len()))
            }
            Reply::TcpReset(src, dst, rst, back) => {
                let mut ip = self.ip_repr(*dst, IpProtocol::Tcp, rst.buffer_len());
                ip.src_addr = *src;
                // Only a received source route gives a route back, and
                // without the feature none is accepted.
                #[cfg(feature = "source-route")]
                if let Some(route) = back {
                    options_len = route.emit(*dst, &mut options).unwrap_or(0);
                    ip.dst_addr = route.first_hop();
                }
                #[cfg(not(feature = "source-route"))]
                let _ = back;
                Some(ip)
            }
        };
        let options = options.get(..options_len).unwrap_or(&[]);
        let (dst_mac, ethertype, len) = match (&reply, &ip) {
            (Reply::Arp(arp), _) => {
                let mac = if arp.operation == ArpOperation::Request {
                    EthernetAddress::BROADCAST
                } else {
                    arp.target_hardware_addr
                };
                (mac, EtherType::Arp, arp.buffer_len())
            }
            (_, Some(ip)) => {
                let Some(hop) = self.next_hop(ip.dst_addr) else {
                    count(&mut self.stats.no_route);
                    return;
                };
                let mac = self.arp.get(now, hop).unwrap_or(src_mac);
                let len = IPV4_HEADER_LEN + options.len() + ip.payload_len;
                (mac, EtherType::Ipv4, len)
            }
            (_, None) => return,
        };
        let eth = EthernetRepr {
            src_addr: self.config.mac,
            dst_addr: dst_mac,
            ethertype,
        };
        tx.consume(ethernet::HEADER_LEN + len, |buf| {
            let mut frame = EthernetFrame::new_unchecked(buf);
            eth.emit(&mut frame);
            let payload = frame.payload_mut();
            match (&reply, &ip) {
                (Reply::Arp(arp), _) => arp.emit(&mut ArpPacket::new_unchecked(payload)),
                (_, Some(ip)) => {
                    self.write_ipv4(payload, ip, options, |body| match &reply {
                        Reply::Echo(_, ident, seq_no, data) => {
                            echo_reply(*ident, *seq_no, data)
                                .emit(&mut Icmpv4Packet::new_unchecked(body), icmp_mode);
                        }
                        Reply::TcpReset(src, dst, rst, _) => {
                            let mut packet = TcpPacket::new_unchecked(body);
                            let _ = rst.emit(&mut packet, src, dst, tcp_mode);
                        }
                        Reply::Arp(_) => {}
                    });
                }
                (_, None) => {}
            }
        });
        count(&mut self.stats.tx_frames);
    }

    fn send_arp_request<D: Device>(&mut self, now: Instant, device: &mut D, target: Ipv4Address) {
        let Some(tx) = device.transmit(now) else {
            count(&mut self.stats.tx_exhausted);
            return;
        };
        let arp = ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: self.config.mac,
            source_protocol_addr: self.config.ip.address,
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: target,
        };
        self.send_reply(now, EthernetAddress::BROADCAST, Reply::Arp(arp), tx);
    }

    /// Send a segment the connection planned, cutting a super-segment into
    /// segments here when the device does not
    /// ([`set_software_segmentation`](Self::set_software_segmentation)).
    /// Returns the payload bytes that left.
    ///
    /// The pieces have at most `params.segment_size` payload bytes each and
    /// the same headers except the sequence number; FIN and PSH ride only
    /// on the last and CWR only on the first (what a device's segmentation
    /// offload does, see [`TxToken::consume_segmented`]; RFC 3168 §6.1.2
    /// wants CWR once per reduction). Each takes its own IPv4
    /// identification and checksums. The first piece the device refuses
    /// ends the burst; an error only if it refused the first.
    ///
    /// What is the same for every piece (the route, the next hop and its
    /// link address, the IPv4 header but for its length and
    /// identification) is worked out once per burst, in
    /// [`tcp_burst`](Self::tcp_burst); only the frame is written per piece
    /// (`BENCHMARKS.md`, "Session 13: per-burst emit").
    fn emit_tcp_segments<D: Device>(
        &mut self,
        now: Instant,
        device: &mut D,
        params: &IpParams<'_>,
        repr: &TcpRepr<'_>,
    ) -> Result<usize, EmitError> {
        // Filled by `tcp_burst` with the source route option, if any: a
        // buffer only then, as zeroing 40 bytes for every burst cost about
        // 60 instructions per connection (issue 9).
        let mut ip_options = None;
        let burst = self.tcp_burst(now, device, params, &mut ip_options)?;
        let ip_options = ip_options
            .as_ref()
            .and_then(|o| o.get(..burst.options_len))
            .unwrap_or(&[]);
        let (ip_mode, tcp_mode, _) = self.rx_checksums();
        // The options' length, once: it sizes the frame and the header.
        let tcp_options_len = repr.options.len();
        // One frame of `$tcp`, with its own IPv4 identification.
        macro_rules! frame {
            ($tcp:expr) => {
                TcpFrame {
                    src_mac: self.config.mac,
                    dst_mac: burst.dst_mac,
                    ip: Ipv4Repr {
                        payload_len: frame::segment_len($tcp, tcp_options_len),
                        ident: self.next_ident(),
                        ..burst.ip
                    },
                    ip_options,
                    ip_checksum: ip_mode,
                    tcp: $tcp,
                    tcp_options_len,
                    pseudo_dst: params.remote.addr,
                    tcp_checksum: tcp_mode,
                }
            };
        }
        // The frame writer, spelled out once but instantiated at each call
        // of the device's `consume`: with one closure shared by two calls,
        // `consume` had two callers for the same closure type and was no
        // longer inlined into the send path, which cost about 140
        // instructions per segment (`rtcp-compare/simprof.sh`, connection
        // rows). `TcpFrame::emit` is inlined into each (see there).
        macro_rules! fill {
            ($frame:ident) => {
                |buf: &mut [u8]| {
                    let _ = $frame.emit(buf);
                }
            };
        }
        // Cut here: a loop of its own, so that a segment sent whole does
        // not pay for what the compiler hoists out of the loop (header
        // words computed before it, kept on the stack and reloaded per
        // piece: about 20 instructions more per segment, +145 per
        // connection, when whole segments went round the same loop).
        #[cfg(feature = "tso")]
        if params.segment_size > 0 && device.tso_max_size() <= self.caps.mtu {
            let size = params.segment_size;
            let mut sent = 0;
            loop {
                let rest = repr.payload.get(sent..).unwrap_or(&[]);
                let payload = rest.get(..size).unwrap_or(rest);
                let mut flags = repr.flags.0;
                if payload.len() < rest.len() {
                    flags &= !(TcpFlags::FIN.0 | TcpFlags::PSH.0);
                }
                if sent > 0 {
                    flags &= !TcpFlags::CWR.0;
                }
                let piece = TcpRepr {
                    seq_number: repr.seq_number + sent,
                    flags: TcpFlags(flags),
                    payload,
                    ..*repr
                };
                let Some(tx) = device.transmit(now) else {
                    self.stats.tx_exhausted += 1;
                    if sent == 0 {
                        return Err(EmitError::Exhausted);
                    }
                    break;
                };
                let frame = frame!(&piece);
                tx.consume(frame.len(), fill!(frame));
                self.stats.tx_frames += 1;
                sent += payload.len();
                if sent >= repr.payload.len() {
                    break;
                }
            }
            crate::count(&mut self.stats.tx_soft_segmented);
            return Ok(sent);
        }
        let Some(tx) = device.transmit(now) else {
            self.stats.tx_exhausted += 1;
            return Err(EmitError::Exhausted);
        };
        let frame = frame!(repr);
        let len = frame.len();
        #[cfg(feature = "tso")]
        if params.segment_size > 0 {
            // A super-segment (TSO): the only packets we send above the
            // MTU, and only to a device that offered to cut them up.
            tx.consume_segmented(len, params.segment_size, fill!(frame));
            self.stats.tx_segmented += 1;
            self.stats.tx_frames += 1;
            return Ok(repr.payload.len());
        }
        tx.consume(len, fill!(frame));
        self.stats.tx_frames += 1;
        Ok(repr.payload.len())
    }

    /// What every frame of a burst to `params.remote` shares: the route,
    /// the next hop's link address and the IPv4 header less its length and
    /// identification. An error when the destination cannot be addressed
    /// now (no route, or ARP still to resolve: a request goes out here).
    #[inline]
    fn tcp_burst<D: Device>(
        &mut self,
        now: Instant,
        device: &mut D,
        params: &IpParams<'_>,
        options: &mut Option<[u8; 40]>,
    ) -> Result<TcpBurst, EmitError> {
        let (local, remote) = (params.local, params.remote);
        // A source-routed datagram goes to the route's first hop, the option
        // naming the rest and the final destination (RFC 791 §3.1); the TCP
        // pseudo-header keeps the final destination (RFC 9293 §3.1).
        let (ip_dst, options_len) = match params.route {
            Some(route) => (
                route.first_hop(),
                route
                    .emit(remote.addr, options.insert([0; 40]))
                    .unwrap_or(0),
            ),
            None => (remote.addr, 0),
        };
        let strict_off_link = params
            .route
            .is_some_and(|r| r.kind() == RouteKind::Strict && !self.on_link(ip_dst));
        let hop = if strict_off_link {
            // SSRR: the first hop must be a neighbour.
            None
        } else {
            self.next_hop(ip_dst)
        };
        let Some(hop) = hop else {
            self.stats.no_route += 1;
            return Err(EmitError::Unaddressable(now + REQUEST_INTERVAL));
        };
        if params.negative_advice {
            // RFC 1122 §3.3.1.4: TCP doubts the path after R1
            // retransmissions. Our one piece of routing state is the next
            // hop's link address: forget it, so this and later segments wait
            // for a fresh ARP reply (a gateway that died is noticed, a host
            // that moved is found at its new MAC). Once per burst: the
            // pieces of a super-segment share it.
            self.stats.negative_advice += 1;
            self.arp.invalidate(hop);
        }
        let dst_mac = match self.arp.lookup(now, hop) {
            Lookup::Found(mac) => mac,
            Lookup::SendRequest => {
                self.send_arp_request(now, device, hop);
                return Err(EmitError::Unaddressable(now + REQUEST_INTERVAL));
            }
            Lookup::Wait(until) => return Err(EmitError::Unaddressable(until)),
        };
        Ok(TcpBurst {
            dst_mac,
            ip: Ipv4Repr {
                src_addr: local.addr,
                dst_addr: ip_dst,
                protocol: IpProtocol::Tcp,
                payload_len: 0,
                ttl: self.ttl,
                // MUST-48: the DSCP the application chose; the ECN field
                // the connection chose (RFC 3168 §6.1.2).
                dscp_ecn: params.dscp.with_ecn(params.ecn.bits()),
                ident: 0,
                dont_frag: true,
            },
            options_len,
        })
    }
}

/// The part of a TCP frame that is the same for every piece of a burst
/// (see [`Interface::tcp_burst`]).
struct TcpBurst {
    /// The next hop's link address.
    dst_mac: EthernetAddress,
    /// The IPv4 header but for `payload_len` and `ident`, set per piece.
    ip: Ipv4Repr,
    /// The length of the source route option `tcp_burst` wrote, 0 for
    /// none.
    options_len: usize,
}
