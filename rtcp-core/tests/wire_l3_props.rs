//! Property tests for the L2/L3 wire formats (Ethernet, ARP, IPv4, ICMPv4) and
//! the Internet checksum:
//! - for any `Repr`, `emit` then `parse` gives it back;
//! - parsing arbitrary (and mutated valid) bytes never panics;
//! - `emit` never writes past the buffer it is given;
//! - the fast checksum equals the byte-pair reference for any input and
//!   alignment, partial sums combine, and RFC 1624 incremental update equals
//!   a recomputation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use proptest::prelude::*;
use rtcp_core::wire::checksum;
use rtcp_core::wire::icmpv4::{self, Icmpv4Quote};
use rtcp_core::wire::{
    ArpOperation, ArpPacket, ArpRepr, ChecksumMode, Error, EtherType, EthernetAddress,
    EthernetFrame, EthernetRepr, Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Address, Ipv4Packet,
    Ipv4Repr,
};

const MODE: ChecksumMode = ChecksumMode {
    verify_rx: true,
    compute_tx: true,
};

fn mode() -> impl Strategy<Value = ChecksumMode> {
    (any::<bool>(), any::<bool>()).prop_map(|(verify_rx, compute_tx)| ChecksumMode {
        verify_rx,
        compute_tx,
    })
}

fn mac() -> impl Strategy<Value = EthernetAddress> {
    any::<[u8; 6]>().prop_map(EthernetAddress)
}

fn ip() -> impl Strategy<Value = Ipv4Address> {
    any::<[u8; 4]>().prop_map(Ipv4Address)
}

fn ethertype() -> impl Strategy<Value = EtherType> {
    any::<u16>()
        .prop_filter("VLAN tags are not a Repr", |&t| {
            !matches!(t, 0x8100 | 0x88a8 | 0x9100)
        })
        .prop_map(EtherType::from)
}

fn protocol() -> impl Strategy<Value = IpProtocol> {
    any::<u8>().prop_map(IpProtocol::from)
}

fn ipv4_repr(max_payload: usize) -> impl Strategy<Value = Ipv4Repr> {
    (
        ip(),
        ip(),
        protocol(),
        0..=max_payload,
        any::<u8>(),
        any::<u8>(),
        any::<u16>(),
        any::<bool>(),
    )
        .prop_map(
            |(src_addr, dst_addr, protocol, payload_len, ttl, dscp_ecn, ident, dont_frag)| {
                Ipv4Repr {
                    src_addr,
                    dst_addr,
                    protocol,
                    payload_len,
                    ttl,
                    dscp_ecn,
                    ident,
                    dont_frag,
                }
            },
        )
}

/// The owned ingredients of an `Icmpv4Repr` (which borrows its data).
#[derive(Debug, Clone)]
enum IcmpCase {
    Echo {
        request: bool,
        ident: u16,
        seq_no: u16,
        data: Vec<u8>,
    },
    Unreachable {
        code: u8,
        mtu: u16,
        data: Vec<u8>,
    },
    TimeExceeded {
        code: u8,
        data: Vec<u8>,
    },
}

impl IcmpCase {
    fn repr(&self) -> Icmpv4Repr<'_> {
        match self {
            IcmpCase::Echo {
                request: true,
                ident,
                seq_no,
                data,
            } => Icmpv4Repr::EchoRequest {
                ident: *ident,
                seq_no: *seq_no,
                data,
            },
            IcmpCase::Echo {
                request: false,
                ident,
                seq_no,
                data,
            } => Icmpv4Repr::EchoReply {
                ident: *ident,
                seq_no: *seq_no,
                data,
            },
            IcmpCase::Unreachable { code, mtu, data } => Icmpv4Repr::DstUnreachable {
                code: *code,
                next_hop_mtu: if *code == icmpv4::unreachable::FRAG_NEEDED {
                    *mtu
                } else {
                    0
                },
                data,
            },
            IcmpCase::TimeExceeded { code, data } => Icmpv4Repr::TimeExceeded { code: *code, data },
        }
    }
}

fn icmp_case() -> impl Strategy<Value = IcmpCase> {
    let quote = prop::collection::vec(any::<u8>(), icmpv4::QUOTE_MIN_LEN..=200);
    prop_oneof![
        (
            any::<bool>(),
            any::<u16>(),
            any::<u16>(),
            prop::collection::vec(any::<u8>(), 0..=300)
        )
            .prop_map(|(request, ident, seq_no, data)| IcmpCase::Echo {
                request,
                ident,
                seq_no,
                data
            }),
        (0..=15u8, any::<u16>(), quote.clone())
            .prop_map(|(code, mtu, data)| IcmpCase::Unreachable { code, mtu, data }),
        (0..=1u8, quote).prop_map(|(code, data)| IcmpCase::TimeExceeded { code, data }),
    ]
}

/// A valid Ethernet + IPv4 + ICMP frame built from a repr, for mutation tests.
fn frame_bytes(ip: &Ipv4Repr, icmp: &Icmpv4Repr<'_>) -> Vec<u8> {
    let eth = EthernetRepr {
        src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
        dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
        ethertype: EtherType::Ipv4,
    };
    let ip = Ipv4Repr {
        protocol: IpProtocol::Icmp,
        payload_len: icmp.buffer_len(),
        ..*ip
    };
    let mut buf = vec![0u8; eth.buffer_len() + ip.buffer_len() + icmp.buffer_len()];
    let mut frame = EthernetFrame::new_checked(&mut buf[..]).unwrap();
    eth.emit(&mut frame);
    let mut packet = Ipv4Packet::new_unchecked(frame.payload_mut());
    ip.emit(&mut packet, MODE);
    icmp.emit(&mut Icmpv4Packet::new_unchecked(packet.payload_mut()), MODE);
    buf
}

/// Parses a frame through every layer and pokes every getter; must not panic.
fn parse_everything(bytes: &[u8], mode: ChecksumMode) {
    let frame = EthernetFrame::new_unchecked(bytes);
    let _ = (frame.src_addr(), frame.dst_addr(), frame.ethertype());
    let _ = EthernetRepr::parse(&frame);
    let payload = frame.payload();
    for body in [bytes, payload] {
        let arp = ArpPacket::new_unchecked(body);
        let _ = (
            arp.hardware_type(),
            arp.protocol_type(),
            arp.operation(),
            arp.source_hardware_addr(),
            arp.target_protocol_addr(),
        );
        let _ = ArpRepr::parse(&arp);

        let ip = Ipv4Packet::new_unchecked(body);
        let _ = (
            ip.version(),
            ip.header_len(),
            ip.total_len(),
            ip.frag_offset(),
            ip.options(),
            ip.payload(),
            ip.verify_checksum(),
            ip.src_addr(),
            ip.next_header(),
        );
        let _ = Ipv4Repr::parse(&ip, mode);
        let icmp_bytes = if Ipv4Packet::new_checked(body).is_ok() {
            ip.payload()
        } else {
            body
        };
        let icmp = Icmpv4Packet::new_unchecked(icmp_bytes);
        let _ = (
            icmp.msg_type(),
            icmp.echo_ident(),
            icmp.next_hop_mtu(),
            icmp.data(),
            icmp.verify_checksum(),
        );
        if let Ok(repr) = Icmpv4Repr::parse(&icmp, mode) {
            let _ = repr.quoted_ipv4();
            assert_eq!(repr.buffer_len(), icmp_bytes.len());
        }
        let _ = Icmpv4Quote::parse(body);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn ethernet_roundtrip(src in mac(), dst in mac(), ty in ethertype(), extra in 0usize..64) {
        let repr = EthernetRepr { src_addr: src, dst_addr: dst, ethertype: ty };
        let mut buf = vec![0u8; repr.buffer_len() + extra];
        repr.emit(&mut EthernetFrame::new_checked(&mut buf[..]).unwrap());
        let frame = EthernetFrame::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(EthernetRepr::parse(&frame), Ok(repr));
        prop_assert_eq!(frame.payload().len(), extra);
    }

    #[test]
    fn arp_roundtrip(
        request in any::<bool>(), sha in mac(), spa in ip(), tha in mac(), tpa in ip(),
        padding in 0usize..32,
    ) {
        let repr = ArpRepr {
            operation: if request { ArpOperation::Request } else { ArpOperation::Reply },
            source_hardware_addr: sha,
            source_protocol_addr: spa,
            target_hardware_addr: tha,
            target_protocol_addr: tpa,
        };
        let mut buf = vec![0u8; repr.buffer_len() + padding];
        repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
        let packet = ArpPacket::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(ArpRepr::parse(&packet), Ok(repr));
    }

    #[test]
    fn ipv4_roundtrip(repr in ipv4_repr(2000), padding in 0usize..48, verify in any::<bool>()) {
        let mut buf = vec![0u8; repr.buffer_len() + repr.payload_len + padding];
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]), MODE);
        let packet = Ipv4Packet::new_checked(&buf[..]).unwrap();
        prop_assert!(packet.verify_checksum());
        prop_assert_eq!(packet.payload().len(), repr.payload_len);
        let mode = ChecksumMode { verify_rx: verify, compute_tx: true };
        prop_assert_eq!(Ipv4Repr::parse(&packet, mode), Ok(repr));
    }

    #[test]
    fn ipv4_roundtrip_large(repr in ipv4_repr(65515)) {
        let mut buf = vec![0u8; repr.buffer_len() + repr.payload_len];
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]), MODE);
        let packet = Ipv4Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(Ipv4Repr::parse(&packet, MODE), Ok(repr));
    }

    /// Any byte the header checksum covers, flipped, is caught.
    #[test]
    fn ipv4_corruption_detected(repr in ipv4_repr(64), at in 0usize..20, bit in 0u8..8) {
        let mut buf = vec![0u8; repr.buffer_len() + repr.payload_len];
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]), MODE);
        buf[at] ^= 1 << bit;
        let result = Ipv4Repr::parse(&Ipv4Packet::new_unchecked(&buf[..]), MODE);
        prop_assert!(result.is_err(), "{:?}", result);
    }

    #[test]
    fn icmp_roundtrip(case in icmp_case(), m in mode()) {
        let repr = case.repr();
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]), MODE);
        let packet = Icmpv4Packet::new_checked(&buf[..]).unwrap();
        prop_assert!(packet.verify_checksum());
        prop_assert_eq!(Icmpv4Repr::parse(&packet, m), Ok(repr));
    }

    #[test]
    fn icmp_corruption_detected(case in icmp_case(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let repr = case.repr();
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]), MODE);
        let at = at.index(buf.len());
        buf[at] ^= 1 << bit;
        let packet = Icmpv4Packet::new_checked(&buf[..]).unwrap();
        prop_assert!(!packet.verify_checksum());
        let result = Icmpv4Repr::parse(&packet, MODE);
        prop_assert!(result.is_err(), "{:?}", result);
    }

    /// The quote helper returns the header fields and transport bytes that
    /// were quoted.
    #[test]
    fn quote_roundtrip(
        quoted in ipv4_repr(1400), ports in any::<(u16, u16)>(), seq in any::<u32>(),
        extra in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut data = vec![0u8; 20];
        quoted.emit(&mut Ipv4Packet::new_unchecked(&mut data[..]), MODE);
        data.extend_from_slice(&ports.0.to_be_bytes());
        data.extend_from_slice(&ports.1.to_be_bytes());
        data.extend_from_slice(&seq.to_be_bytes());
        data.extend_from_slice(&extra);
        let repr = Icmpv4Repr::TimeExceeded { code: 0, data: &data };
        let q = repr.quoted_ipv4().unwrap();
        prop_assert_eq!(q.src_addr, quoted.src_addr);
        prop_assert_eq!(q.dst_addr, quoted.dst_addr);
        prop_assert_eq!(q.protocol, quoted.protocol);
        prop_assert_eq!((q.src_port, q.dst_port), ports);
        prop_assert_eq!(q.tcp_seq.0, seq);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..160), m in mode()) {
        parse_everything(&bytes, m);
    }

    /// Random bytes rarely get past the first checks; mutating valid frames
    /// reaches the deeper paths.
    #[test]
    fn mutated_frames_never_panic(
        ip in ipv4_repr(0), case in icmp_case(), m in mode(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = frame_bytes(&ip, &case.repr());
        for (at, value) in flips {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        parse_everything(&bytes, m);
        let len = cut.index(bytes.len() + 1);
        parse_everything(&bytes[..len], m);
    }

    /// Emitting into a buffer of any size writes nothing past it.
    #[test]
    fn emit_never_overruns(ip in ipv4_repr(40), case in icmp_case(), len in 0usize..96) {
        let sentinel = 0xa5u8;
        let icmp = case.repr();
        let mut buf = vec![sentinel; len + 16];
        {
            let (head, _) = buf.split_at_mut(len);
            EthernetRepr {
                src_addr: EthernetAddress([1; 6]),
                dst_addr: EthernetAddress([2; 6]),
                ethertype: EtherType::Arp,
            }
            .emit(&mut EthernetFrame::new_unchecked(&mut *head));
            ArpRepr {
                operation: ArpOperation::Reply,
                source_hardware_addr: EthernetAddress([3; 6]),
                source_protocol_addr: Ipv4Address([4; 4]),
                target_hardware_addr: EthernetAddress([5; 6]),
                target_protocol_addr: Ipv4Address([6; 4]),
            }
            .emit(&mut ArpPacket::new_unchecked(&mut *head));
            ip.emit(&mut Ipv4Packet::new_unchecked(&mut *head), MODE);
            icmp.emit(&mut Icmpv4Packet::new_unchecked(&mut *head), MODE);
        }
        prop_assert!(buf[len..].iter().all(|&b| b == sentinel));
    }

    #[test]
    fn checksum_fast_equals_naive(
        bytes in prop::collection::vec(any::<u8>(), 0..3000), offset in 0usize..16,
    ) {
        let s = &bytes[offset.min(bytes.len())..];
        prop_assert_eq!(checksum::data(s), checksum::naive(s));
    }

    /// Long runs of 0xff maximise carries.
    #[test]
    fn checksum_fast_equals_naive_dense(len in 0usize..20_000, fill in 0xf0u8..=0xff, offset in 0usize..8) {
        let bytes = vec![fill; len + offset];
        let s = &bytes[offset..];
        prop_assert_eq!(checksum::data(s), checksum::naive(s));
    }

    #[test]
    fn checksum_combine(bytes in prop::collection::vec(any::<u8>(), 0..600), split in any::<prop::sample::Index>()) {
        // Partial sums combine when the split is at an even offset.
        let at = split.index(bytes.len() + 1) & !1;
        let (a, b) = bytes.split_at(at);
        prop_assert_eq!(checksum::combine(&[checksum::data(a), checksum::data(b)]), checksum::data(&bytes));
    }

    /// The one-pass copy-and-sum equals a copy followed by `data`, for
    /// every length and source/destination alignment, and writes nothing
    /// past the copied bytes.
    #[test]
    fn checksum_copy_and_sum_equals_copy_then_data(
        bytes in prop::collection::vec(any::<u8>(), 0..3000),
        src_offset in 0usize..16,
        dst_offset in 0usize..16,
        spare in 0usize..16,
        sentinel in any::<u8>(),
    ) {
        let src = &bytes[src_offset.min(bytes.len())..];
        let mut out = vec![sentinel; dst_offset + src.len() + spare];
        let sum = checksum::copy_and_sum(&mut out[dst_offset..], src);
        prop_assert_eq!(sum, Some(checksum::data(src)));
        prop_assert_eq!(&out[dst_offset..dst_offset + src.len()], src);
        prop_assert!(out[..dst_offset].iter().all(|&b| b == sentinel));
        prop_assert!(out[dst_offset + src.len()..].iter().all(|&b| b == sentinel));
    }

    /// A destination one byte too short is refused with nothing written.
    #[test]
    fn checksum_copy_and_sum_refuses_short_destination(
        bytes in prop::collection::vec(any::<u8>(), 1..200), sentinel in any::<u8>(),
    ) {
        let mut out = vec![sentinel; bytes.len() - 1];
        prop_assert_eq!(checksum::copy_and_sum(&mut out, &bytes), None);
        prop_assert!(out.iter().all(|&b| b == sentinel));
    }

    /// Dense 0xff runs (the most carries), copied and summed in one pass.
    #[test]
    fn checksum_copy_and_sum_dense(len in 0usize..20_000, fill in 0xf0u8..=0xff, offset in 0usize..8) {
        let bytes = vec![fill; len + offset];
        let src = &bytes[offset..];
        let mut out = vec![0u8; src.len()];
        prop_assert_eq!(checksum::copy_and_sum(&mut out, src), Some(checksum::naive(src)));
        prop_assert_eq!(&out[..], src);
    }

    /// A payload handed over in two pieces (as a ring buffer hands over the
    /// bytes before and after its wrap), the split at any offset, odd ones
    /// included (RFC 1071 §2 (B)), each piece added or copied: the running
    /// sum equals `data` over the whole, and the copies equal the source.
    #[test]
    fn checksum_running_sum_over_two_pieces(
        bytes in prop::collection::vec(any::<u8>(), 0..3000),
        split in any::<prop::sample::Index>(),
        copy_first in any::<bool>(),
        copy_second in any::<bool>(),
        dst_offset in 0usize..16,
    ) {
        let at = split.index(bytes.len() + 1);
        let (a, b) = bytes.split_at(at);
        let mut out = vec![0u8; dst_offset + bytes.len()];
        let (out_a, out_b) = out[dst_offset..].split_at_mut(at);
        let mut sum = checksum::Sum::new();
        if copy_first {
            prop_assert!(sum.copy_add(out_a, a));
        } else {
            sum.add(a);
            out_a.copy_from_slice(a);
        }
        prop_assert_eq!(sum.len(), a.len());
        if copy_second {
            prop_assert!(sum.copy_add(out_b, b));
        } else {
            sum.add(b);
            out_b.copy_from_slice(b);
        }
        prop_assert_eq!(sum.len(), bytes.len());
        prop_assert_eq!(sum.finish(), checksum::data(&bytes));
        prop_assert_eq!(sum.finish(), checksum::naive(&bytes));
        prop_assert_eq!(&out[dst_offset..], &bytes[..]);
    }

    /// Any number of pieces of any lengths.
    #[test]
    fn checksum_running_sum_over_many_pieces(
        pieces in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..12),
    ) {
        let mut sum = checksum::Sum::new();
        for piece in &pieces {
            sum.add(piece);
        }
        let whole: Vec<u8> = pieces.concat();
        prop_assert_eq!(sum.finish(), checksum::naive(&whole));
    }

    #[test]
    fn checksum_pseudo_header(src in ip(), dst in ip(), proto in protocol(), len in 0u32..=65535) {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&src.0);
        bytes.extend_from_slice(&dst.0);
        bytes.push(0);
        bytes.push(u8::from(proto));
        bytes.extend_from_slice(&(len as u16).to_be_bytes());
        prop_assert_eq!(checksum::pseudo_header_v4(&src, &dst, proto, len), checksum::naive(&bytes));
    }

    /// RFC 1624 eqn. 3 equals recomputing from scratch (up to the two
    /// representations of zero when the new data is all zero).
    #[test]
    fn checksum_incremental_update(
        words in prop::collection::vec(any::<u16>(), 1..64), which in any::<prop::sample::Index>(),
        new_word in any::<u16>(),
    ) {
        let to_bytes = |w: &[u16]| w.iter().flat_map(|x| x.to_be_bytes()).collect::<Vec<u8>>();
        let old_checksum = !checksum::data(&to_bytes(&words));
        let i = which.index(words.len());
        let old_word = words[i];
        let mut new_words = words.clone();
        new_words[i] = new_word;
        let recomputed = !checksum::data(&to_bytes(&new_words));
        let updated = checksum::update(old_checksum, old_word, new_word);
        if new_words.iter().all(|&w| w == 0) {
            prop_assert!(updated == 0 || updated == 0xffff);
        } else {
            prop_assert_eq!(updated, recomputed);
        }
        // Either way the updated checksum verifies.
        let mut with = to_bytes(&new_words);
        with.extend_from_slice(&updated.to_be_bytes());
        let sum = checksum::data(&with);
        prop_assert!(sum == 0xffff || (sum == 0 && updated == 0));
    }

    /// Incremental TTL decrement on a real header equals recomputing it.
    #[test]
    fn ipv4_decrement_ttl(repr in ipv4_repr(64)) {
        let mut buf = vec![0u8; repr.buffer_len() + repr.payload_len];
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]), MODE);
        let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
        packet.decrement_ttl();
        prop_assert!(packet.verify_checksum());
        let incremental = packet.checksum();
        packet.fill_checksum();
        prop_assert_eq!(packet.checksum(), incremental);
    }
}

/// A VLAN-tagged frame is never a `Repr`, whatever follows the tag.
#[test]
fn vlan_always_rejected() {
    let mut frame = [0u8; 18];
    for tpid in [0x8100u16, 0x88a8, 0x9100] {
        frame[12..14].copy_from_slice(&tpid.to_be_bytes());
        let f = EthernetFrame::new_checked(&frame[..]).unwrap();
        assert_eq!(EthernetRepr::parse(&f), Err(Error::VlanTagged));
    }
}
