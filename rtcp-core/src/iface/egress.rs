//! What leaves: IPv4 headers, ARP requests, replies (ARP, ICMP echo, RST)
//! and the TCP segments the sockets send, cut and framed (RFC 791, RFC 826,
//! RFC 1122 §3.3).

use super::*;

impl Interface {
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
    // Inlined on every target: out of line on 32-bit targets it once saved
    // a second inlined copy in the firmware build, but now inlined its two
    // call sites come out 24 B smaller (flash, issue 9, session 26).
    #[cfg_attr(target_pointer_width = "32", inline(always))]
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
    pub(super) fn send_reply<T: TxToken>(
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
    pub(super) fn emit_tcp_segments<D: Device>(
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
