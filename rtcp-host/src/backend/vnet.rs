//! The `virtio_net_hdr` that an `AF_PACKET` socket with `PACKET_VNET_HDR`
//! puts before every frame it reads (and expects before every frame it
//! writes), and what rtcp-host does with it on receive.
//!
//! Why it is needed: the kernel hands a packet socket the skb as it is. A
//! frame that another namespace's Linux sent over a veth with transmit
//! checksum offload on is `CHECKSUM_PARTIAL`: its TCP checksum field holds
//! only the pseudo-header sum, which no NIC ever finishes on a veth. A
//! frame from a TSO sender, or coalesced by GRO on our end, is in addition
//! one TCP segment of up to 64 KiB, larger than the MTU, again with a
//! partial checksum (`tcp4_gro_complete` leaves it that way). Without the
//! header these look like bad checksums. With it, the kernel says per
//! frame where the checksum starts and where it goes
//! (`VIRTIO_NET_HDR_F_NEEDS_CSUM`, `csum_start`, `csum_offset`), and
//! [`finish_rx`] completes it in user space, as the kernel's own
//! `skb_checksum_help` would, so the stack sees an ordinary frame whose
//! checksum verifies. Large (GSO/GRO) frames are handed on whole: the stack
//! takes a TCP segment larger than its MSS if its window has room (RFC 9293
//! §3.10.7.4 trims a segment to the window; nothing limits it to the MSS
//! on receive).
//!
//! Layout (`include/uapi/linux/virtio_net.h`; fields in the host's byte
//! order for a packet socket, which uses the legacy little-endian-on-x86
//! convention, `vio_le()`):
//!
//! ```text
//! 0 flags u8  1 gso_type u8  2 hdr_len u16  4 gso_size u16
//! 6 csum_start u16  8 csum_offset u16                      (10 bytes)
//! ```

use rtcp_core::wire::{checksum, IpProtocol, Ipv4Address};

/// Length of the `virtio_net_hdr` before each frame.
pub const LEN: usize = 10;

/// `flags`: the checksum from `csum_start` to the end of the frame is to
/// be computed and stored at `csum_start + csum_offset`.
pub const F_NEEDS_CSUM: u8 = 1;
/// `flags`: the kernel verified the checksum (or the frame was made on
/// this host and never crossed a wire).
pub const F_DATA_VALID: u8 = 2;

/// `gso_type`: an ordinary frame.
pub const GSO_NONE: u8 = 0;
/// `gso_type`: a TCP/IPv4 segment larger than the MTU.
pub const GSO_TCPV4: u8 = 1;
/// `gso_type` bit: the segment has CWR set, which only the first piece
/// may keep (RFC 3168 §6.1.2); the kernel's `SKB_GSO_TCP_ECN`.
pub const GSO_ECN: u8 = 0x80;

/// A parsed `virtio_net_hdr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VnetHdr {
    /// `F_NEEDS_CSUM`, `F_DATA_VALID`.
    pub flags: u8,
    /// `GSO_NONE`, `GSO_TCPV4`, ... (the ECN bit 0x80 included).
    pub gso_type: u8,
    /// Length of the headers (a hint).
    pub hdr_len: u16,
    /// Payload bytes per segment the frame would be cut into.
    pub gso_size: u16,
    /// Where the checksummed range starts, from the start of the frame.
    pub csum_start: u16,
    /// Where the checksum goes, from `csum_start`.
    pub csum_offset: u16,
}

impl VnetHdr {
    /// Parse the first [`LEN`] bytes of `bytes`; `None` if shorter.
    pub fn parse(bytes: &[u8]) -> Option<VnetHdr> {
        let &[flags, gso_type, a0, a1, b0, b1, c0, c1, d0, d1] = bytes.first_chunk::<LEN>()?;
        Some(VnetHdr {
            flags,
            gso_type,
            hdr_len: u16::from_ne_bytes([a0, a1]),
            gso_size: u16::from_ne_bytes([b0, b1]),
            csum_start: u16::from_ne_bytes([c0, c1]),
            csum_offset: u16::from_ne_bytes([d0, d1]),
        })
    }

    /// The header's bytes, as the kernel would write them.
    pub fn to_bytes(&self) -> [u8; LEN] {
        let [a0, a1] = self.hdr_len.to_ne_bytes();
        let [b0, b1] = self.gso_size.to_ne_bytes();
        let [c0, c1] = self.csum_start.to_ne_bytes();
        let [d0, d1] = self.csum_offset.to_ne_bytes();
        [self.flags, self.gso_type, a0, a1, b0, b1, c0, c1, d0, d1]
    }
}

/// Why [`finish_rx`] refused a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VnetError {
    /// The checksum offsets point outside the frame.
    BadOffsets,
}

/// What [`finish_rx`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// Nothing to do: the frame is whole (its checksum is whatever came
    /// over the wire, for the stack to verify).
    AsIs,
    /// A partial checksum was completed.
    Completed,
    /// The TCP checksum of a super-frame the kernel vouched for was
    /// computed afresh (it was stale).
    Refilled,
}

/// Make the frame after a `virtio_net_hdr` an ordinary frame whose
/// checksums verify.
///
/// - `F_NEEDS_CSUM`: complete the partial checksum in place. The field
///   holds the pseudo-header sum (that is what `CHECKSUM_PARTIAL` means),
///   so the one's-complement sum from `csum_start` to the end of the frame,
///   field included, inverted, is the checksum (RFC 1071 §1; RFC 9293
///   §3.1). A result of zero is stored as `0xffff`, as the kernel does:
///   both stand for zero in one's complement (RFC 1624 §3) and both verify.
/// - A super-frame (`gso_type` set) with only `F_DATA_VALID`: a NIC's LRO
///   merged segments it had verified and left the first one's checksum,
///   stale for the merged payload. The kernel vouches for the data, so the
///   TCP/IPv4 checksum is computed afresh ([`refill_tcp_checksum`]).
/// - Anything else is a frame as it came off the wire, for the stack to
///   verify.
pub fn finish_rx(hdr: &VnetHdr, frame: &mut [u8]) -> Result<Finished, VnetError> {
    if hdr.flags & F_NEEDS_CSUM == 0 {
        if hdr.gso_type != GSO_NONE && hdr.flags & F_DATA_VALID != 0 && refill_tcp_checksum(frame) {
            return Ok(Finished::Refilled);
        }
        return Ok(Finished::AsIs);
    }
    let start = usize::from(hdr.csum_start);
    let at = start + usize::from(hdr.csum_offset);
    if at + 2 > frame.len() {
        return Err(VnetError::BadOffsets);
    }
    let sum = checksum::data(frame.get(start..).ok_or(VnetError::BadOffsets)?);
    let check = match !sum {
        0 => 0xffff,
        c => c,
    };
    frame
        .get_mut(at..at + 2)
        .ok_or(VnetError::BadOffsets)?
        .copy_from_slice(&check.to_be_bytes());
    Ok(Finished::Completed)
}

/// Ethernet header length (no VLAN tag: the stack drops tagged frames).
const ETH_LEN: usize = 14;

/// Compute the TCP checksum of an Ethernet II / IPv4 / TCP frame afresh
/// and store it (RFC 9293 §3.1: over the pseudo header, the TCP header
/// with the field zeroed, and the payload up to the IPv4 total length).
/// Returns `false`, leaving the frame alone, if it is not an unfragmented
/// IPv4 TCP segment whose lengths fit the frame.
pub fn refill_tcp_checksum(frame: &mut [u8]) -> bool {
    let Some(ip) = frame.get(ETH_LEN..) else {
        return false;
    };
    if frame.get(12..14) != Some(&[0x08, 0x00][..]) {
        return false;
    }
    let Some(&[vihl, _, t0, t1, _, _, f0, f1, _, proto]) = ip.first_chunk::<10>() else {
        return false;
    };
    let ihl = usize::from(vihl & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([t0, t1]));
    // More fragments, or a fragment offset: not a whole segment.
    let fragment = u16::from_be_bytes([f0, f1]) & 0x3fff != 0;
    if vihl >> 4 != 4 || ihl < 20 || proto != 6 || fragment || total < ihl + 20 {
        return false;
    }
    let (Some(src), Some(dst)) = (ip.get(12..16), ip.get(16..20)) else {
        return false;
    };
    let (Ok(src), Ok(dst)) = (<[u8; 4]>::try_from(src), <[u8; 4]>::try_from(dst)) else {
        return false;
    };
    let pseudo = checksum::pseudo_header_v4(
        &Ipv4Address(src),
        &Ipv4Address(dst),
        IpProtocol::Tcp,
        (total - ihl) as u32,
    );
    let Some(tcp) = frame.get_mut(ETH_LEN + ihl..ETH_LEN + total) else {
        return false;
    };
    let Some(field) = tcp.get_mut(16..18) else {
        return false;
    };
    field.copy_from_slice(&[0, 0]);
    let check = !checksum::combine(&[pseudo, checksum::data(tcp)]);
    if let Some(field) = tcp.get_mut(16..18) {
        field.copy_from_slice(&check.to_be_bytes());
    }
    true
}

/// Prepare a TCP super-segment the stack built (an Ethernet II / IPv4 /
/// TCP frame whose IPv4 total length may exceed the MTU, TCP checksum
/// complete) for the kernel to segment, and return the `virtio_net_hdr`
/// to write before it: `GSO_TCPV4` with `gso_size` payload bytes per
/// piece, and `F_NEEDS_CSUM` from the TCP header on. The kernel treats the
/// frame as `CHECKSUM_PARTIAL` (`virtio_net_hdr_to_skb`), so the TCP
/// checksum field is rewritten to hold what that means: the folded
/// pseudo-header sum over the whole segment's TCP length, not inverted
/// (what Linux's own `__tcp_v4_send_check` leaves there). GSO then gives
/// each piece its IPv4 length, ID and header checksum, its sequence
/// number, FIN/PSH on the last and CWR on the first only, and its own TCP
/// checksum (`tcp_gso_segment`), or, on a veth whose peer takes large
/// segments, nobody segments at all and the peer trusts the partial
/// checksum. A segment whose payload fits in one piece gets `GSO_NONE`
/// (the kernel refuses a GSO frame of one segment), still with the
/// checksum left to the kernel. `None`, with the frame untouched, for
/// anything that is not a whole, unfragmented TCP/IPv4 frame.
pub fn tso_header(frame: &mut [u8], gso_size: u16) -> Option<VnetHdr> {
    if frame.get(12..14)? != [0x08, 0x00] || gso_size == 0 {
        return None;
    }
    let ip = frame.get(ETH_LEN..)?;
    let &[vihl, _, t0, t1, _, _, f0, f1, _, proto] = ip.first_chunk::<10>()?;
    let ihl = usize::from(vihl & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([t0, t1]));
    let fragment = u16::from_be_bytes([f0, f1]) & 0x3fff != 0;
    if vihl >> 4 != 4 || ihl < 20 || proto != 6 || fragment || total < ihl + 20 {
        return None;
    }
    let src = <[u8; 4]>::try_from(ip.get(12..16)?).ok()?;
    let dst = <[u8; 4]>::try_from(ip.get(16..20)?).ok()?;
    let tcp = frame.get_mut(ETH_LEN + ihl..ETH_LEN + total)?;
    let doff = usize::from(tcp.get(12)? >> 4) * 4;
    let flags = *tcp.get(13)?;
    if doff < 20 || doff > tcp.len() {
        return None;
    }
    let tcp_len = tcp.len();
    let pseudo = checksum::pseudo_header_v4(
        &Ipv4Address(src),
        &Ipv4Address(dst),
        IpProtocol::Tcp,
        tcp_len as u32,
    );
    tcp.get_mut(16..18)?.copy_from_slice(&pseudo.to_be_bytes());
    let segmented = tcp_len - doff > usize::from(gso_size);
    let gso_type = match (segmented, flags & 0x80 != 0) {
        (false, _) => GSO_NONE,
        (true, false) => GSO_TCPV4,
        (true, true) => GSO_TCPV4 | GSO_ECN,
    };
    let csum_start = u16::try_from(ETH_LEN + ihl).ok()?;
    Some(VnetHdr {
        flags: F_NEEDS_CSUM,
        gso_type,
        hdr_len: csum_start + u16::try_from(doff).ok()?,
        gso_size: if segmented { gso_size } else { 0 },
        csum_start,
        csum_offset: 16,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use rtcp_core::wire::{ChecksumMode, EthernetFrame, Ipv4Packet, Ipv4Repr, TcpPacket, TcpRepr};

    const SRC: Ipv4Address = Ipv4Address::new(10, 81, 0, 1);
    const DST: Ipv4Address = Ipv4Address::new(10, 81, 0, 3);

    /// An Ethernet/IPv4/TCP frame with `payload`, with a correct TCP
    /// checksum, as a sender with checksumming in software makes it.
    fn frame(payload: &[u8]) -> Vec<u8> {
        let tcp_len = 20 + payload.len();
        let mut f = vec![0u8; 14 + 20 + tcp_len];
        f[0..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 3]);
        f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        let ip = &mut f[14..34];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&((20 + tcp_len) as u16).to_be_bytes());
        ip[6] = 0x40; // DF
        ip[8] = 64;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&SRC.0);
        ip[16..20].copy_from_slice(&DST.0);
        let c = !checksum::data(ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        let tcp = &mut f[34..];
        tcp[0..2].copy_from_slice(&5301u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&40000u16.to_be_bytes());
        tcp[4..8].copy_from_slice(&1000u32.to_be_bytes());
        tcp[8..12].copy_from_slice(&2000u32.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = 0x18; // PSH, ACK
        tcp[14..16].copy_from_slice(&65535u16.to_be_bytes());
        tcp[20..].copy_from_slice(payload);
        let pseudo = checksum::pseudo_header_v4(&SRC, &DST, IpProtocol::Tcp, tcp_len as u32);
        let c = !checksum::combine(&[pseudo, checksum::data(tcp)]);
        tcp[16..18].copy_from_slice(&c.to_be_bytes());
        f
    }

    /// What Linux hands a packet socket for `frame` sent with checksum
    /// offload: the TCP checksum field holds the folded pseudo-header sum.
    fn partial(mut f: Vec<u8>) -> (VnetHdr, Vec<u8>) {
        let tcp_len = (f.len() - 34) as u32;
        let pseudo = checksum::pseudo_header_v4(&SRC, &DST, IpProtocol::Tcp, tcp_len);
        f[50..52].copy_from_slice(&pseudo.to_be_bytes());
        let hdr = VnetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: if f.len() > 1514 { GSO_TCPV4 } else { GSO_NONE },
            hdr_len: 54,
            gso_size: 1448,
            csum_start: 34,
            csum_offset: 16,
        };
        (hdr, f)
    }

    /// Parse as the interface does, verifying both checksums.
    fn verifies(f: &[u8]) -> bool {
        let eth = EthernetFrame::new_checked(f).unwrap();
        let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
        let ip_repr = Ipv4Repr::parse(&ip, ChecksumMode::default()).unwrap();
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        TcpRepr::parse(
            &tcp,
            &ip_repr.src_addr,
            &ip_repr.dst_addr,
            ChecksumMode::default(),
        )
        .is_ok()
    }

    #[test]
    fn header_round_trips() {
        let h = VnetHdr {
            flags: F_NEEDS_CSUM | F_DATA_VALID,
            gso_type: GSO_TCPV4,
            hdr_len: 66,
            gso_size: 1448,
            csum_start: 34,
            csum_offset: 16,
        };
        assert_eq!(VnetHdr::parse(&h.to_bytes()), Some(h));
        assert_eq!(VnetHdr::parse(&[0u8; LEN - 1]), None);
        assert_eq!(VnetHdr::parse(&[0u8; LEN]), Some(VnetHdr::default()));
    }

    #[test]
    fn partial_checksum_is_completed_to_the_real_one() {
        for len in [0usize, 1, 2, 7, 1448, 1449, 9000, 65_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let whole = frame(&payload);
            assert!(verifies(&whole));
            let (hdr, mut f) = partial(whole.clone());
            assert!(
                !verifies(&f),
                "len {len}: a partial checksum must not verify"
            );
            assert_eq!(finish_rx(&hdr, &mut f), Ok(Finished::Completed));
            assert!(verifies(&f), "len {len}");
            // Byte for byte what the sender would have computed, except that
            // a zero checksum may come out as 0xffff.
            if whole[50..52] != [0, 0] {
                assert_eq!(f, whole, "len {len}");
            }
        }
    }

    #[test]
    fn zero_checksum_is_stored_as_ffff_and_verifies() {
        // With a two-byte payload w, the checksum is !(S + w) for the sum S
        // of everything else, and the checksum c of payload 0 is !S. So
        // w = c makes S + w = 0xffff (x + !x in one's complement), whose
        // checksum is zero.
        let base = frame(&[0, 0]);
        let w = [base[50], base[51]];
        let whole = frame(&w);
        assert_eq!(&whole[50..52], &[0, 0]);
        let (hdr, mut f) = partial(whole);
        assert_eq!(finish_rx(&hdr, &mut f), Ok(Finished::Completed));
        assert_eq!(&f[50..52], &[0xff, 0xff]);
        assert!(verifies(&f));
    }

    #[test]
    fn frames_without_needs_csum_are_left_alone() {
        let whole = frame(b"hello");
        let mut f = whole.clone();
        let hdr = VnetHdr {
            flags: F_DATA_VALID,
            ..VnetHdr::default()
        };
        assert_eq!(finish_rx(&hdr, &mut f), Ok(Finished::AsIs));
        assert_eq!(f, whole);
        assert_eq!(finish_rx(&VnetHdr::default(), &mut f), Ok(Finished::AsIs));
        assert_eq!(f, whole);
    }

    #[test]
    fn offsets_outside_the_frame_are_refused_without_panicking() {
        let whole = frame(b"abc");
        for (start, offset) in [
            (whole.len() as u16, 0u16),
            (whole.len() as u16 - 1, 0),
            (34, u16::MAX),
            (u16::MAX, u16::MAX),
            (whole.len() as u16 - 2, 1),
        ] {
            let mut f = whole.clone();
            let hdr = VnetHdr {
                flags: F_NEEDS_CSUM,
                csum_start: start,
                csum_offset: offset,
                ..VnetHdr::default()
            };
            assert_eq!(
                finish_rx(&hdr, &mut f),
                Err(VnetError::BadOffsets),
                "{start} {offset}"
            );
            assert_eq!(f, whole);
        }
        // The last two bytes are a valid place for a checksum.
        let mut f = whole.clone();
        let hdr = VnetHdr {
            flags: F_NEEDS_CSUM,
            csum_start: whole.len() as u16 - 2,
            csum_offset: 0,
            ..VnetHdr::default()
        };
        assert_eq!(finish_rx(&hdr, &mut f), Ok(Finished::Completed));
    }

    #[test]
    fn a_stale_checksum_of_a_vouched_super_frame_is_computed_afresh() {
        let payload: Vec<u8> = (0..20_000).map(|i| (i % 251) as u8).collect();
        let whole = frame(&payload);
        // LRO kept the first segment's checksum: anything but the right one.
        let mut f = whole.clone();
        f[50] ^= 0x5a;
        f[51] ^= 0xa5;
        assert!(!verifies(&f));
        let hdr = VnetHdr {
            flags: F_DATA_VALID,
            gso_type: GSO_TCPV4,
            gso_size: 1448,
            ..VnetHdr::default()
        };
        assert_eq!(finish_rx(&hdr, &mut f), Ok(Finished::Refilled));
        assert!(verifies(&f));
        assert_eq!(f, whole);
        // Ethernet padding past the IPv4 total length is not summed.
        let mut padded = whole.clone();
        padded.extend_from_slice(&[0xee; 7]);
        padded[50] ^= 1;
        assert!(refill_tcp_checksum(&mut padded));
        assert_eq!(&padded[..whole.len()], &whole[..]);
    }

    #[test]
    fn refill_leaves_what_is_not_a_whole_tcp_ipv4_segment_alone() {
        let whole = frame(b"data");
        type Breaker = fn(&mut Vec<u8>);
        let cases: [(&str, Breaker); 7] = [
            ("arp", |f| f[12..14].copy_from_slice(&[0x08, 0x06])),
            ("udp", |f| f[23] = 17),
            ("ipv6 version", |f| f[14] = 0x65),
            ("ihl 4", |f| f[14] = 0x44),
            ("fragment", |f| f[20] |= 0x20),
            ("total past the frame", |f| {
                f[16..18].copy_from_slice(&9999u16.to_be_bytes())
            }),
            ("truncated", |f| f.truncate(30)),
        ];
        for (what, break_it) in cases {
            let mut f = whole.clone();
            break_it(&mut f);
            let before = f.clone();
            assert!(!refill_tcp_checksum(&mut f), "{what}");
            assert_eq!(f, before, "{what}");
        }
        // Only super-frames with DATA_VALID are refilled; an ordinary frame
        // keeps its (here wrong) checksum for the stack to reject.
        let mut f = whole.clone();
        f[50] ^= 1;
        let hdr = VnetHdr {
            flags: F_DATA_VALID,
            ..VnetHdr::default()
        };
        assert_eq!(finish_rx(&hdr, &mut f), Ok(Finished::AsIs));
        assert!(!verifies(&f));
    }

    #[test]
    fn tso_header_describes_a_super_segment_for_the_kernel() {
        let payload: Vec<u8> = (0..10_000).map(|i| (i * 13 + 1) as u8).collect();
        let whole = frame(&payload);
        assert!(whole.len() > 1514);
        let mut f = whole.clone();
        let hdr = tso_header(&mut f, 1448).unwrap();
        assert_eq!(
            hdr,
            VnetHdr {
                flags: F_NEEDS_CSUM,
                gso_type: GSO_TCPV4,
                hdr_len: 54,
                gso_size: 1448,
                csum_start: 34,
                csum_offset: 16,
            }
        );
        // The checksum field now holds the pseudo-header sum over the whole
        // TCP length (CHECKSUM_PARTIAL), as Linux's own TSO skbs do...
        let pseudo =
            checksum::pseudo_header_v4(&SRC, &DST, IpProtocol::Tcp, (whole.len() - 34) as u32);
        assert_eq!(&f[50..52], &pseudo.to_be_bytes());
        assert_eq!(&f[..50], &whole[..50]);
        assert_eq!(&f[52..], &whole[52..]);
        // ...so that finishing it as the kernel would (the same sum
        // `finish_rx` computes for received partial frames) gives back the
        // checksum the stack computed.
        let mut done = f.clone();
        assert_eq!(finish_rx(&hdr, &mut done), Ok(Finished::Completed));
        if whole[50..52] != [0, 0] {
            assert_eq!(done, whole);
        }
        assert!(verifies(&done));
        // Idempotent: a retried send prepares the same frame again.
        let mut again = f.clone();
        assert_eq!(tso_header(&mut again, 1448), Some(hdr));
        assert_eq!(again, f);
        // The bytes, as the kernel reads them.
        let b = hdr.to_bytes();
        assert_eq!((b[0], b[1]), (F_NEEDS_CSUM, GSO_TCPV4));
        assert_eq!(u16::from_ne_bytes([b[4], b[5]]), 1448);
    }

    #[test]
    fn tso_header_of_one_segment_or_with_cwr() {
        // A payload that fits one piece is no GSO frame (the kernel would
        // refuse it), but its checksum is still left to the kernel.
        let mut f = frame(&[9u8; 1448]);
        let hdr = tso_header(&mut f, 1448).unwrap();
        assert_eq!(
            (hdr.gso_type, hdr.gso_size, hdr.flags),
            (GSO_NONE, 0, F_NEEDS_CSUM)
        );
        // CWR asks for the ECN variant, so that only the first piece keeps it.
        let mut f = frame(&[9u8; 5000]);
        f[47] |= 0x80;
        let hdr = tso_header(&mut f, 1448).unwrap();
        assert_eq!(hdr.gso_type, GSO_TCPV4 | GSO_ECN);
    }

    #[test]
    fn tso_header_leaves_what_is_not_tcp_ipv4_alone() {
        let whole = frame(&[1u8; 3000]);
        type Breaker = fn(&mut Vec<u8>);
        let cases: [(&str, Breaker); 6] = [
            ("arp", |f| f[12..14].copy_from_slice(&[0x08, 0x06])),
            ("udp", |f| f[23] = 17),
            ("fragment", |f| f[20] |= 0x20),
            ("total past the frame", |f| {
                f[16..18].copy_from_slice(&9999u16.to_be_bytes())
            }),
            ("data offset below 20", |f| f[46] = 0x40),
            ("truncated", |f| f.truncate(40)),
        ];
        for (what, break_it) in cases {
            let mut f = whole.clone();
            break_it(&mut f);
            let before = f.clone();
            assert_eq!(tso_header(&mut f, 1448), None, "{what}");
            assert_eq!(f, before, "{what}");
        }
        assert_eq!(tso_header(&mut whole.clone(), 0), None);
    }
}
