//! What arrives: an Ethernet frame's ARP, IPv4, ICMP and TCP handling
//! (RFC 826, RFC 791, RFC 792, RFC 1122 §3.2).

use super::*;

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
            return $iface.counted(Counter::Malformed);
        };
        #[cfg(not(target_pointer_width = "64"))]
        let view = $packet::new_unchecked($bytes);
        view
    }};
}

/// The counter a received frame bumps when its handling ends: most of
/// the ways out of ingress drop the frame and count why. Ingress hands the
/// counter back and `Interface::poll` bumps it, one call site for them
/// all, instead of one `count` per way out, each with the counter's
/// address (flash, issue 9: 36 B on the minimal firmware build, 156 B on
/// the default one). The discriminants are the counters' places in
/// `InterfaceStats`, so the counter's address is the base plus eight times
/// the discriminant, a linear map the compiler needs no table for (with
/// the `tso` feature's counters `SourceRouteDropped` is two places further
/// on; still correct, only no longer linear).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Counter {
    Malformed = 2,
    BadChecksum = 3,
    Vlan = 4,
    Fragment = 5,
    UnknownEthertype = 6,
    UnknownProtocol = 7,
    NotForUs = 8,
    BadAddress = 9,
    IcmpError = 13,
    IcmpUnsupported = 14,
    ResetSent = 15,
    SourceRouteDropped = 21,
}

impl InterfaceStats {
    /// The counter `counter` names.
    pub(super) fn counter(&mut self, counter: Counter) -> &mut u64 {
        match counter {
            Counter::Malformed => &mut self.rx_malformed,
            Counter::BadChecksum => &mut self.rx_bad_checksum,
            Counter::Vlan => &mut self.rx_vlan,
            Counter::Fragment => &mut self.rx_fragments,
            Counter::UnknownEthertype => &mut self.rx_unknown_ethertype,
            Counter::UnknownProtocol => &mut self.rx_unknown_protocol,
            Counter::NotForUs => &mut self.rx_not_for_us,
            Counter::BadAddress => &mut self.rx_bad_address,
            Counter::IcmpError => &mut self.icmp_errors,
            Counter::IcmpUnsupported => &mut self.icmp_unsupported,
            Counter::ResetSent => &mut self.tcp_resets_sent,
            Counter::SourceRouteDropped => &mut self.rx_source_route_dropped,
        }
    }
}

impl Interface {
    /// Where a frame's handling ends with `counter` bumped: on 32-bit
    /// targets handed back to `poll`, which bumps it (flash); on 64-bit
    /// hosts bumped here, each at its own place, since handing it back
    /// cost a connection about 115 instructions more and bulk transfer
    /// 19 per KiB (`rtcp-compare/ir.sh`).
    #[inline(always)]
    fn counted(&mut self, counter: Counter) -> Option<Counter> {
        if cfg!(target_pointer_width = "64") {
            count(self.stats.counter(counter));
            None
        } else {
            Some(counter)
        }
    }

    pub(super) fn ingress<T: TxToken, const LOG: usize>(
        &mut self,
        now: Instant,
        frame: &[u8],
        tx: T,
        sockets: &mut SocketSet<'_, LOG>,
    ) -> Option<Counter> {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            net_trace!("drop: {}-byte frame too short for Ethernet", frame.len());
            return self.counted(Counter::Malformed);
        };
        let eth_repr = match EthernetRepr::parse(&eth) {
            Ok(r) => r,
            Err(crate::wire::Error::VlanTagged) => {
                return self.counted(Counter::Vlan);
            }
            Err(_) => {
                return self.counted(Counter::Malformed);
            }
        };
        if eth_repr.dst_addr != self.config.mac && !eth_repr.dst_addr.is_broadcast() {
            return self.counted(Counter::NotForUs);
        }
        match eth_repr.ethertype {
            EtherType::Arp => {
                self.ingress_arp_frame(now, eth.payload(), eth_repr.src_addr, sockets, tx)
            }
            EtherType::Ipv4 => {
                self.ingress_ipv4(now, eth.payload(), sockets, eth_repr.src_addr, tx)
            }
            EtherType::Unknown(_) => self.counted(Counter::UnknownEthertype),
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
    ) -> Option<Counter> {
        match self.ingress_arp(now, payload, sockets) {
            Ok(Some(reply)) => {
                self.send_reply(now, src_mac, Reply::Arp(reply), tx);
                None
            }
            Ok(None) => None,
            Err(counter) => self.counted(counter),
        }
    }

    fn ingress_arp<const LOG: usize>(
        &mut self,
        now: Instant,
        payload: &[u8],
        sockets: &mut SocketSet<'_, LOG>,
    ) -> Result<Option<ArpRepr>, Counter> {
        let Ok(packet) = ArpPacket::new_checked(payload) else {
            return Err(Counter::Malformed);
        };
        let Ok(arp) = ArpRepr::parse(&packet) else {
            return Err(Counter::Malformed);
        };
        let for_us = arp.target_protocol_addr == self.config.ip.address;
        if arp.source_protocol_addr.is_unspecified() || !arp.source_hardware_addr.is_unicast() {
            return Ok(None);
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
            return Err(Counter::NotForUs);
        }
        Ok(match arp.operation {
            ArpOperation::Request => Some(ArpRepr {
                operation: ArpOperation::Reply,
                source_hardware_addr: self.config.mac,
                source_protocol_addr: self.config.ip.address,
                target_hardware_addr: arp.source_hardware_addr,
                target_protocol_addr: arp.source_protocol_addr,
            }),
            ArpOperation::Reply => None,
        })
    }

    fn ingress_ipv4<T: TxToken, const LOG: usize>(
        &mut self,
        now: Instant,
        payload: &[u8],
        sockets: &mut SocketSet<'_, LOG>,
        src_mac: EthernetAddress,
        tx: T,
    ) -> Option<Counter> {
        let (ip_mode, tcp_mode, icmp_mode) = self.rx_checksums();
        let packet = view_or_drop!(self, Ipv4Packet, payload);
        let ip = match Ipv4Repr::parse(&packet, ip_mode) {
            Ok(ip) => ip,
            Err(crate::wire::Error::Checksum) => {
                return self.counted(Counter::BadChecksum);
            }
            Err(crate::wire::Error::Fragment) => {
                return self.counted(Counter::Fragment);
            }
            Err(_) => {
                return self.counted(Counter::Malformed);
            }
        };
        if ip.dst_addr != self.config.ip.address {
            return self.counted(Counter::NotForUs);
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
                return self.counted(Counter::Malformed);
            }
            Ok(false) => {}
            Ok(true) => {
                return self.counted(Counter::SourceRouteDropped);
            }
        }
        #[cfg(feature = "source-route")]
        if !packet.options().is_empty() {
            match crate::wire::ipv4_route::find_source_route(packet.options()) {
                Err(_) => {
                    return self.counted(Counter::Malformed);
                }
                Ok(None) => {}
                Ok(Some(route)) if route.complete && self.source_routing => {
                    count(&mut self.stats.rx_source_routed);
                    back = route.return_route();
                }
                Ok(Some(_)) => {
                    return self.counted(Counter::SourceRouteDropped);
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
                        None
                    }
                    // Without the `icmp-errors` feature errors are counted
                    // and otherwise ignored.
                    #[cfg(not(feature = "icmp-errors"))]
                    Ok(Icmpv4Repr::DstUnreachable { .. } | Icmpv4Repr::TimeExceeded { .. }) => {
                        self.counted(Counter::IcmpError)
                    }
                    #[cfg(feature = "icmp-errors")]
                    Ok(
                        icmp
                        @ (Icmpv4Repr::DstUnreachable { .. } | Icmpv4Repr::TimeExceeded { .. }),
                    ) => {
                        // RFC 9293 §3.9.2.2 (MUST-54): hand the error to the
                        // connection whose segment it quotes.
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
                        self.counted(Counter::IcmpError)
                    }
                    Ok(_) | Err(crate::wire::Error::Unsupported) => {
                        self.counted(Counter::IcmpUnsupported)
                    }
                    Err(crate::wire::Error::Checksum) => self.counted(Counter::BadChecksum),
                    Err(_) => self.counted(Counter::Malformed),
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
                        return self.counted(Counter::BadChecksum);
                    }
                    Err(_) => {
                        return self.counted(Counter::Malformed);
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
                    return self.counted(Counter::BadAddress);
                }
                let reset = sockets.process(now, &ip, &seg, back.as_ref())?;
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
                self.send_reply(
                    now,
                    src_mac,
                    Reply::TcpReset(ip.dst_addr, ip.src_addr, rst, back),
                    tx,
                );
                self.counted(Counter::ResetSent)
            }
            _ => self.counted(Counter::UnknownProtocol),
        }
    }
}
