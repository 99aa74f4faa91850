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
//!
//! This file holds the interface's state and `poll`; `ingress.rs` handles
//! what arrives, `egress.rs` builds what leaves, `arp_cache.rs` the
//! neighbour table.

pub mod arp_cache;
mod egress;
mod ingress;

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
                    if let Some(counter) = iface.ingress(now, frame, tx, sockets) {
                        count(iface.stats.counter(counter));
                    }
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
}
