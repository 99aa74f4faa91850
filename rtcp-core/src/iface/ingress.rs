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
            count(&mut $iface.stats.rx_malformed);
            return;
        };
        #[cfg(not(target_pointer_width = "64"))]
        let view = $packet::new_unchecked($bytes);
        view
    }};
}

impl Interface {
    pub(super) fn ingress<T: TxToken, const LOG: usize>(
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
}
