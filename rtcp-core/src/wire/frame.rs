//! A whole Ethernet + IPv4 + TCP frame written in one pass: the segments a
//! connection sends (issue 9: emitting a segment through the three layers'
//! general emitters cost about 600 instructions, most of it in recomputing
//! lengths, rereading headers to checksum them, and calls between layers).
//!
//! The bytes are exactly those of [`EthernetRepr::emit`](super::EthernetRepr::emit),
//! [`Ipv4Repr::emit_with_options`] and [`TcpRepr::emit`] one after the
//! other (the tests below compare the two byte for byte).

use super::tcp::HEADER_LEN as TCP_HEADER_LEN;
use super::{
    ethernet, ipv4, ChecksumMode, Error, EthernetAddress, IpProtocol, Ipv4Address, Ipv4Repr,
};
use super::{Result, TcpRepr};

/// Ethernet and IPv4 fixed headers, stored together.
const FIXED_LEN: usize = ethernet::HEADER_LEN + ipv4::HEADER_LEN;

/// EtherType IPv4 (RFC 894).
const ETHERTYPE_IPV4: [u8; 2] = [0x08, 0x00];

/// One TCP segment in its Ethernet frame, by meaning.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TcpFrame<'a, 'p> {
    /// Our MAC address.
    pub(crate) src_mac: EthernetAddress,
    /// The next hop's MAC address.
    pub(crate) dst_mac: EthernetAddress,
    /// The IPv4 header (its `protocol` is taken to be TCP); `payload_len`
    /// must be the segment's length,
    /// `TCP_HEADER_LEN + tcp_options_len + tcp.payload.len()`.
    pub(crate) ip: Ipv4Repr,
    /// IPv4 options (a source route), a multiple of 4 bytes, at most 40.
    pub(crate) ip_options: &'a [u8],
    /// IPv4 header checksum computed or left to the device.
    pub(crate) ip_checksum: ChecksumMode,
    /// The segment.
    pub(crate) tcp: &'a TcpRepr<'p>,
    /// `tcp.options.len()`, computed once by the caller.
    pub(crate) tcp_options_len: usize,
    /// The destination in the TCP pseudo-header: the final one, which
    /// differs from `ip.dst_addr` under a source route (RFC 9293 §3.1).
    pub(crate) pseudo_dst: Ipv4Address,
    /// TCP checksum computed or left to the device.
    pub(crate) tcp_checksum: ChecksumMode,
}

impl TcpFrame<'_, '_> {
    /// The frame's length in bytes.
    pub(crate) fn len(&self) -> usize {
        FIXED_LEN + self.ip_options.len() + self.ip.payload_len
    }

    /// Writes the frame into the first [`len`](Self::len) bytes of `buf`.
    /// `Error::Malformed` for IPv4 options of a bad length and
    /// `Error::BufferTooSmall` for a short `buf`, with nothing written; an
    /// `ip.payload_len` that is not the segment's length gives
    /// `Error::BufferTooSmall` with only the Ethernet and IPv4 headers
    /// written.
    ///
    /// Always inlined: the interface writes frames from three places (a
    /// segment sent whole, one the device cuts, the pieces it cuts
    /// itself), and with three callers the compiler kept this out of line,
    /// about 70 instructions more per segment (`rtcp-compare`'s connection
    /// rows, `BENCHMARKS.md` "Session 13: per-burst emit"). The firmware
    /// builds have one caller.
    #[inline(always)]
    pub(crate) fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let n = self.ip_options.len();
        if n % 4 != 0 || n > ipv4::MAX_HEADER_LEN - ipv4::HEADER_LEN {
            return Err(Error::Malformed);
        }
        let frame = buf.get_mut(..self.len()).ok_or(Error::BufferTooSmall)?;
        let (head, segment) = frame
            .split_at_mut_checked(FIXED_LEN + n)
            .ok_or(Error::BufferTooSmall)?;
        let (fixed, options) = head
            .split_first_chunk_mut::<FIXED_LEN>()
            .ok_or(Error::BufferTooSmall)?;
        // The protocol is TCP whatever `ip` says: a constant here, not a
        // match on `IpProtocol` per segment.
        let header = Ipv4Repr {
            protocol: IpProtocol::Tcp,
            ..self.ip
        }
        .header(self.ip_options, self.ip_checksum);
        // Each field as one array copy: assembled into one 34-byte array,
        // the destination MAC went byte by byte (about 10 instructions a
        // segment more, issue 9).
        // (`fixed` is FIXED_LEN long, so the optimizer removes these
        // length checks.)
        let (dst, rest) = fixed
            .split_first_chunk_mut::<6>()
            .ok_or(Error::BufferTooSmall)?;
        let (src, rest) = rest
            .split_first_chunk_mut::<6>()
            .ok_or(Error::BufferTooSmall)?;
        let (ethertype, ip_header) = rest
            .split_first_chunk_mut::<2>()
            .ok_or(Error::BufferTooSmall)?;
        let ip_header = ip_header
            .first_chunk_mut::<{ ipv4::HEADER_LEN }>()
            .ok_or(Error::BufferTooSmall)?;
        *dst = self.dst_mac.0;
        *src = self.src_mac.0;
        *ethertype = ETHERTYPE_IPV4;
        *ip_header = header;
        if !self.ip_options.is_empty() {
            // Same length: `options` is what follows the fixed headers in
            // `head`, `FIXED_LEN + n` long.
            if let Some(out) = options.get_mut(..n) {
                out.copy_from_slice(self.ip_options);
            }
        }
        self.tcp.emit_segment(
            segment,
            self.tcp_options_len,
            &self.ip.src_addr,
            &self.pseudo_dst,
            self.tcp_checksum,
        )
    }
}

/// The segment length `ip.payload_len` must be set to.
pub(crate) fn segment_len(tcp: &TcpRepr<'_>, tcp_options_len: usize) -> usize {
    TCP_HEADER_LEN + tcp_options_len + tcp.payload.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tcp::{SackBlock, TcpOptions};
    use crate::wire::{
        EtherType, EthernetFrame, EthernetRepr, IpProtocol, Ipv4Packet, SeqNumber, TcpFlags,
        TcpPacket,
    };
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    /// The frame as the general emitters write it, layer by layer.
    fn general(frame: &TcpFrame<'_, '_>) -> Vec<u8> {
        let mut buf = vec![0u8; frame.len()];
        let eth = EthernetRepr {
            src_addr: frame.src_mac,
            dst_addr: frame.dst_mac,
            ethertype: EtherType::Ipv4,
        };
        let mut eth_frame = EthernetFrame::new_unchecked(&mut buf[..]);
        eth.emit(&mut eth_frame);
        let mut packet = Ipv4Packet::new_unchecked(eth_frame.payload_mut());
        frame
            .ip
            .emit_with_options(&mut packet, frame.ip_options, frame.ip_checksum)
            .unwrap();
        let mut segment = TcpPacket::new_unchecked(packet.payload_mut());
        frame
            .tcp
            .emit(
                &mut segment,
                &frame.ip.src_addr,
                &frame.pseudo_dst,
                frame.tcp_checksum,
            )
            .unwrap();
        buf
    }

    fn fast(frame: &TcpFrame<'_, '_>) -> Vec<u8> {
        let mut buf = vec![0u8; frame.len()];
        frame.emit(&mut buf).unwrap();
        buf
    }

    fn mode(compute_tx: bool) -> ChecksumMode {
        ChecksumMode {
            verify_rx: true,
            compute_tx,
        }
    }

    fn frame<'a, 'p>(tcp: &'a TcpRepr<'p>, ip_options: &'a [u8]) -> TcpFrame<'a, 'p> {
        let tcp_options_len = tcp.options.len();
        TcpFrame {
            src_mac: EthernetAddress([2, 0, 0, 0, 0, 1]),
            dst_mac: EthernetAddress([2, 0, 0, 0, 0, 2]),
            ip: Ipv4Repr {
                src_addr: Ipv4Address::new(10, 0, 0, 1),
                dst_addr: Ipv4Address::new(10, 0, 0, 2),
                protocol: IpProtocol::Tcp,
                payload_len: segment_len(tcp, tcp_options_len),
                ttl: 64,
                dscp_ecn: 0,
                ident: 1,
                dont_frag: true,
            },
            ip_options,
            ip_checksum: mode(true),
            tcp,
            tcp_options_len,
            pseudo_dst: Ipv4Address::new(10, 0, 0, 2),
            tcp_checksum: mode(true),
        }
    }

    fn syn() -> TcpRepr<'static> {
        TcpRepr {
            src_port: 49152,
            dst_port: 80,
            flags: TcpFlags::SYN,
            seq_number: SeqNumber(0x0102_0304),
            ack_number: SeqNumber(0),
            window_len: 64240,
            urgent_pointer: 0,
            options: TcpOptions {
                mss: Some(1460),
                window_scale: Some(7),
                sack_permitted: true,
                timestamp: Some((1, 0)),
                ..TcpOptions::default()
            },
            payload: &[],
        }
    }

    #[test]
    fn syn_and_data_match_the_general_emitters() {
        let syn = syn();
        let frame = frame(&syn, &[]);
        let bytes = fast(&frame);
        assert_eq!(bytes, general(&frame));
        // The checksums verify.
        let ip = Ipv4Packet::new_checked(&bytes[ethernet::HEADER_LEN..]).unwrap();
        assert!(ip.verify_checksum());
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        assert!(tcp.verify_checksum(&ip.src_addr(), &ip.dst_addr()));

        let mut data = syn;
        data.flags = TcpFlags::ACK | TcpFlags::PSH;
        data.options = TcpOptions {
            timestamp: Some((0xdead_beef, 0x0102_0304)),
            ..TcpOptions::default()
        };
        data.payload = b"hello, odd length";
        for (ip_sum, tcp_sum) in [(true, true), (false, true), (true, false), (false, false)] {
            let mut f = super::tests::frame(&data, &[]);
            f.ip_checksum = mode(ip_sum);
            f.tcp_checksum = mode(tcp_sum);
            assert_eq!(fast(&f), general(&f));
        }
    }

    #[test]
    fn source_route_matches_the_general_emitters() {
        // LSRR (RFC 791 §3.1) through 10.0.0.9, then the final destination,
        // padded with NOP to a multiple of 4.
        let route = [1, 131, 11, 4, 10, 0, 0, 9, 10, 0, 0, 2, 0, 0, 0, 0];
        let route = &route[..12];
        let mut data = syn();
        data.flags = TcpFlags::ACK;
        data.options = TcpOptions::default();
        data.payload = b"x";
        let mut f = frame(&data, route);
        f.ip.dst_addr = Ipv4Address::new(10, 0, 0, 9);
        assert_eq!(fast(&f), general(&f));
    }

    #[test]
    fn errors_write_nothing() {
        let syn = syn();
        let f = frame(&syn, &[1, 1, 1]);
        let mut buf = vec![0u8; 100];
        assert_eq!(f.emit(&mut buf), Err(Error::Malformed));
        assert!(buf.iter().all(|&b| b == 0));
        let f = frame(&syn, &[]);
        let mut short = vec![0u8; f.len() - 1];
        assert_eq!(f.emit(&mut short), Err(Error::BufferTooSmall));
        assert!(short.iter().all(|&b| b == 0));
        // A longer buffer: nothing past the frame is touched.
        let mut long = vec![0u8; f.len() + 8];
        f.emit(&mut long).unwrap();
        assert!(long[f.len()..].iter().all(|&b| b == 0));
        assert_eq!(&long[..f.len()], &general(&f)[..]);
    }

    fn options() -> impl Strategy<Value = TcpOptions> {
        (
            proptest::option::of(any::<u16>()),
            proptest::option::of(0u8..15),
            any::<bool>(),
            proptest::option::of((any::<u32>(), any::<u32>())),
            proptest::collection::vec((any::<u32>(), any::<u32>()), 0..=4),
        )
            .prop_map(|(mss, window_scale, sack_permitted, timestamp, sacks)| {
                let mut o = TcpOptions {
                    mss,
                    window_scale,
                    sack_permitted,
                    timestamp,
                    ..TcpOptions::default()
                };
                for (l, r) in sacks {
                    o.push_sack(SackBlock {
                        left: SeqNumber(l),
                        right: SeqNumber(r),
                    });
                }
                o
            })
    }

    proptest! {
        #[test]
        fn any_segment_matches_the_general_emitters(
            ports in (any::<u16>(), any::<u16>()),
            seq in any::<u32>(),
            ack in any::<u32>(),
            flags in any::<u8>(),
            window in any::<u16>(),
            urgent in any::<u16>(),
            options in options(),
            payload in proptest::collection::vec(any::<u8>(), 0..300),
            route_words in 0usize..=10,
            addrs in (any::<[u8; 4]>(), any::<[u8; 4]>(), any::<[u8; 4]>()),
            ip_fields in (any::<u8>(), any::<u8>(), any::<u16>(), any::<bool>()),
            sums in (any::<bool>(), any::<bool>()),
        ) {
            let tcp = TcpRepr {
                src_port: ports.0,
                dst_port: ports.1,
                flags: TcpFlags(flags),
                seq_number: SeqNumber(seq),
                ack_number: SeqNumber(ack),
                window_len: window,
                urgent_pointer: urgent,
                options,
                payload: &payload,
            };
            let route: Vec<u8> = (0..route_words * 4).map(|i| i as u8).collect();
            let mut f = frame(&tcp, &route);
            f.ip.src_addr = Ipv4Address(addrs.0);
            f.ip.dst_addr = Ipv4Address(addrs.1);
            f.pseudo_dst = Ipv4Address(addrs.2);
            f.ip.ttl = ip_fields.0;
            f.ip.dscp_ecn = ip_fields.1;
            f.ip.ident = ip_fields.2;
            f.ip.dont_frag = ip_fields.3;
            f.ip_checksum = mode(sums.0);
            f.tcp_checksum = mode(sums.1);
            prop_assert_eq!(fast(&f), general(&f));
        }
    }
}
