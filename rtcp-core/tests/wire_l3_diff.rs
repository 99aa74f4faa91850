//! Differential tests: rtcp's Ethernet, ARP, IPv4, ICMPv4 and checksum code
//! against `etherparse` 0.21, on random valid packets (built by either side)
//! and on corrupted ones (bytes overwritten, buffers cut short). Where the
//! scopes overlap both parsers must agree on every field and on accept/reject.
//!
//! Deliberate differences, and how the tests account for them:
//! - **VLAN**: etherparse reads 802.1Q / 802.1ad / 0x9100 tags and carries on;
//!   rtcp does not support VLANs and rejects such frames with
//!   `Error::VlanTagged`. Checked: we say `VlanTagged` exactly when etherparse
//!   reports one of those EtherTypes.
//! - **ARP operations**: etherparse accepts any operation; rtcp's `ArpRepr`
//!   handles request (1) and reply (2) and reports other operations as
//!   `Error::Unsupported`. Hardware/protocol type and length checks agree
//!   with etherparse's `try_eth_ipv4` (ours: `Error::Malformed`).
//! - **IPv4 payload**: etherparse's `Ipv4Slice` also parses an IPsec
//!   Authentication Header (protocol 51) inside the payload and may reject
//!   the packet for it; rtcp does not look into the payload. Accept/reject is
//!   not compared for protocol 51.
//! - **IPv4 checksum and fragments**: etherparse does not verify the header
//!   checksum and hands fragments through (flagged); rtcp's `Ipv4Repr::parse`
//!   refuses both (`Checksum`, `Fragment`). Checked against etherparse's own
//!   `calc_header_checksum` and `is_fragmenting_payload`.
//! - **ICMPv4 scope**: etherparse decodes more message types (redirect,
//!   parameter problem, timestamp); rtcp handles echo, destination
//!   unreachable and time exceeded and reports the rest as `Unsupported`.
//!   etherparse neither verifies the ICMP checksum nor requires an error
//!   message to quote 28 bytes; rtcp does (`Checksum`, `Truncated`).
//!   etherparse rejects a code-0 timestamp message that is not 20 bytes
//!   long; rtcp rejects it too, as `Unsupported`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use etherparse::{
    checksum::Sum16BitWords,
    icmpv4::{DestUnreachableHeader, TimeExceededCode},
    ArpPacketSlice, Ethernet2Slice, IcmpEchoHeader, Icmpv4Header, Icmpv4Slice, Icmpv4Type, IpDscp,
    IpEcn, IpFragOffset, IpNumber, Ipv4Header, Ipv4HeaderSlice, Ipv4Options, Ipv4Slice,
    UdpHeaderSlice,
};
use proptest::prelude::*;
use rtcp_core::wire::icmpv4::{self, Icmpv4Quote};
use rtcp_core::wire::{
    checksum, ArpOperation, ArpPacket, ArpRepr, ChecksumMode, Error, EtherType, EthernetAddress,
    EthernetFrame, EthernetRepr, Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Address, Ipv4Packet,
    Ipv4Repr,
};

const MODE: ChecksumMode = ChecksumMode {
    verify_rx: true,
    compute_tx: true,
};

/// Overwrites up to a few random bytes and optionally cuts the buffer short.
fn corrupt(
    mut bytes: Vec<u8>,
    edits: &[(prop::sample::Index, u8)],
    cut: Option<prop::sample::Index>,
) -> Vec<u8> {
    if !bytes.is_empty() {
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = *value;
        }
    }
    if let Some(cut) = cut {
        let len = cut.index(bytes.len() + 1);
        bytes.truncate(len);
    }
    bytes
}

fn edits() -> impl Strategy<Value = Vec<(prop::sample::Index, u8)>> {
    prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4)
}

fn cut() -> impl Strategy<Value = Option<prop::sample::Index>> {
    prop::option::weighted(0.3, any::<prop::sample::Index>())
}

// ---------------------------------------------------------------- Ethernet

fn check_ethernet(bytes: &[u8]) {
    let ours = EthernetFrame::new_checked(bytes);
    let theirs = Ethernet2Slice::from_slice_without_fcs(bytes);
    assert_eq!(ours.is_ok(), theirs.is_ok(), "accept/reject {bytes:02x?}");
    let (Ok(ours), Ok(theirs)) = (ours, theirs) else {
        return;
    };
    assert_eq!(ours.dst_addr().0, theirs.destination());
    assert_eq!(ours.src_addr().0, theirs.source());
    assert_eq!(ours.ethertype_raw(), theirs.ether_type().0);
    assert_eq!(ours.payload(), theirs.payload_slice());
    let vlan = matches!(
        theirs.ether_type(),
        etherparse::EtherType::VLAN_TAGGED_FRAME
            | etherparse::EtherType::PROVIDER_BRIDGING
            | etherparse::EtherType::VLAN_DOUBLE_TAGGED_FRAME
    );
    match EthernetRepr::parse(&ours) {
        Err(Error::VlanTagged) => assert!(vlan),
        Ok(repr) => {
            assert!(!vlan);
            assert_eq!(u16::from(repr.ethertype), theirs.ether_type().0);
        }
        Err(e) => panic!("unexpected {e:?}"),
    }
}

fn ether_type() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(0x0800u16),
        Just(0x0806),
        Just(0x8100),
        Just(0x88a8),
        Just(0x9100),
        Just(0x86dd),
        any::<u16>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn ethernet_random(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        check_ethernet(&bytes);
    }

    #[test]
    fn ethernet_built_by_etherparse(
        src in any::<[u8; 6]>(), dst in any::<[u8; 6]>(), ty in ether_type(),
        payload in prop::collection::vec(any::<u8>(), 0..50), edits in edits(), cut in cut(),
    ) {
        let header = etherparse::Ethernet2Header {
            source: src,
            destination: dst,
            ether_type: etherparse::EtherType(ty),
        };
        let mut bytes = header.to_bytes().to_vec();
        bytes.extend_from_slice(&payload);
        check_ethernet(&bytes);
        check_ethernet(&corrupt(bytes, &edits, cut));
    }

    #[test]
    fn ethernet_built_by_rtcp(src in any::<[u8; 6]>(), dst in any::<[u8; 6]>(), ty in ether_type()) {
        prop_assume!(!matches!(ty, 0x8100 | 0x88a8 | 0x9100));
        let repr = EthernetRepr {
            src_addr: EthernetAddress(src),
            dst_addr: EthernetAddress(dst),
            ethertype: EtherType::from(ty),
        };
        let mut bytes = [0u8; 14];
        repr.emit(&mut EthernetFrame::new_unchecked(&mut bytes[..]));
        let theirs = Ethernet2Slice::from_slice_without_fcs(&bytes).unwrap().to_header();
        prop_assert_eq!(theirs.source, src);
        prop_assert_eq!(theirs.destination, dst);
        prop_assert_eq!(theirs.ether_type.0, ty);
    }
}

// ---------------------------------------------------------------------- ARP

fn check_arp(bytes: &[u8]) {
    let ours = ArpPacket::new_checked(bytes);
    let theirs = ArpPacketSlice::from_slice(bytes);
    assert_eq!(ours.is_ok(), theirs.is_ok(), "accept/reject {bytes:02x?}");
    let (Ok(ours), Ok(theirs)) = (ours, theirs) else {
        return;
    };
    assert_eq!(ours.hardware_type(), theirs.hw_addr_type().0);
    assert_eq!(ours.protocol_type(), theirs.proto_addr_type().0);
    assert_eq!(ours.hardware_len(), theirs.hw_addr_size());
    assert_eq!(ours.protocol_len(), theirs.proto_addr_size());
    assert_eq!(ours.operation_raw(), theirs.operation().0);
    let eth_ipv4 = theirs.to_packet().try_eth_ipv4();
    match ArpRepr::parse(&ours) {
        Ok(repr) => {
            let theirs = eth_ipv4.unwrap();
            assert_eq!(u16::from(repr.operation), theirs.operation.0);
            assert_eq!(repr.source_hardware_addr.0, theirs.sender_mac);
            assert_eq!(repr.source_protocol_addr.0, theirs.sender_ipv4);
            assert_eq!(repr.target_hardware_addr.0, theirs.target_mac);
            assert_eq!(repr.target_protocol_addr.0, theirs.target_ipv4);
        }
        Err(Error::Malformed) => assert!(eth_ipv4.is_err()),
        Err(Error::Unsupported) => {
            let op = eth_ipv4.unwrap().operation.0;
            assert!(op != 1 && op != 2);
        }
        Err(e) => panic!("unexpected {e:?}"),
    }
}

fn arp_bytes(op: u16, sha: [u8; 6], spa: [u8; 4], tha: [u8; 6], tpa: [u8; 4]) -> Vec<u8> {
    etherparse::ArpEthIpv4Packet {
        operation: etherparse::ArpOperation(op),
        sender_mac: sha,
        sender_ipv4: spa,
        target_mac: tha,
        target_ipv4: tpa,
    }
    .to_bytes()
    .to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn arp_random(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        check_arp(&bytes);
    }

    #[test]
    fn arp_built_by_etherparse(
        op in prop_oneof![Just(1u16), Just(2), any::<u16>()],
        sha in any::<[u8; 6]>(), spa in any::<[u8; 4]>(), tha in any::<[u8; 6]>(), tpa in any::<[u8; 4]>(),
        padding in 0usize..20,
        // Corrupt mostly the fixed part, where the interesting checks are.
        fixed_edits in prop::collection::vec((0usize..8, any::<u8>()), 0..3),
        edits in edits(), cut in cut(),
    ) {
        let mut bytes = arp_bytes(op, sha, spa, tha, tpa);
        bytes.resize(bytes.len() + padding, 0);
        check_arp(&bytes);
        let mut fixed = bytes.clone();
        for (at, v) in fixed_edits {
            fixed[at] = v;
        }
        check_arp(&fixed);
        check_arp(&corrupt(bytes, &edits, cut));
    }

    #[test]
    fn arp_built_by_rtcp(
        request in any::<bool>(), sha in any::<[u8; 6]>(), spa in any::<[u8; 4]>(),
        tha in any::<[u8; 6]>(), tpa in any::<[u8; 4]>(),
    ) {
        let repr = ArpRepr {
            operation: if request { ArpOperation::Request } else { ArpOperation::Reply },
            source_hardware_addr: EthernetAddress(sha),
            source_protocol_addr: Ipv4Address(spa),
            target_hardware_addr: EthernetAddress(tha),
            target_protocol_addr: Ipv4Address(tpa),
        };
        let mut bytes = [0u8; 28];
        repr.emit(&mut ArpPacket::new_unchecked(&mut bytes[..]));
        let op = if request { 1 } else { 2 };
        prop_assert_eq!(bytes.to_vec(), arp_bytes(op, sha, spa, tha, tpa));
    }
}

// --------------------------------------------------------------------- IPv4

fn check_ipv4(bytes: &[u8]) {
    let ours = Ipv4Packet::new_checked(bytes);
    let theirs = Ipv4Slice::from_slice(bytes);
    let protocol = bytes.get(9).copied();
    if protocol != Some(51) {
        assert_eq!(
            ours.is_ok(),
            theirs.is_ok(),
            "accept/reject {:?} {:?} {bytes:02x?}",
            ours.as_ref().err(),
            theirs.as_ref().err()
        );
    }
    // Our view agrees with etherparse's header slice (which checks version,
    // IHL and the header length only) wherever that one accepts.
    let header_ok = Ipv4HeaderSlice::from_slice(bytes);
    if let Err(e) = &ours {
        if header_ok.is_ok() {
            assert!(
                matches!(e, Error::Truncated | Error::Malformed),
                "{e:?} but etherparse header ok"
            );
        }
    }
    let (Ok(ours), Ok(h)) = (ours, header_ok) else {
        return;
    };
    assert_eq!(ours.version(), h.version());
    assert_eq!(usize::from(ours.header_len()), usize::from(h.ihl()) * 4);
    assert_eq!(ours.dscp(), h.dcp().value());
    assert_eq!(ours.ecn(), h.ecn().value());
    assert_eq!(ours.total_len(), h.total_len());
    assert_eq!(ours.ident(), h.identification());
    assert_eq!(ours.dont_frag(), h.dont_fragment());
    assert_eq!(ours.more_frags(), h.more_fragments());
    assert_eq!(ours.frag_offset(), h.fragments_offset().value() * 8);
    assert_eq!(ours.is_fragment(), h.is_fragmenting_payload());
    assert_eq!(ours.ttl(), h.ttl());
    assert_eq!(u8::from(ours.next_header()), h.protocol().0);
    assert_eq!(ours.checksum(), h.header_checksum());
    assert_eq!(ours.src_addr().0, h.source());
    assert_eq!(ours.dst_addr().0, h.destination());
    assert_eq!(ours.options(), h.options());
    // etherparse's checksum over the header as it stands. (Its
    // `calc_header_checksum` rebuilds the header from fields, dropping the
    // reserved flag, and yields +0 where a sender may have stored -0 (0xffff);
    // compare with it only when neither applies.)
    let checksum_ok = Sum16BitWords::new().add_slice(h.slice()).ones_complement() == 0;
    assert_eq!(ours.verify_checksum(), checksum_ok);
    if !ours.reserved_flag() && h.header_checksum() != 0xffff {
        let recomputed = h.to_header().calc_header_checksum();
        assert_eq!(checksum_ok, recomputed == h.header_checksum());
    }
    if let Ok(theirs) = Ipv4Slice::from_slice(bytes) {
        if h.protocol() != IpNumber::AUTHENTICATION_HEADER {
            assert_eq!(ours.payload(), theirs.payload().payload);
        }
    }
    match Ipv4Repr::parse(&ours, MODE) {
        Ok(repr) => {
            assert!(checksum_ok && !h.is_fragmenting_payload());
            assert_eq!(repr.payload_len, ours.payload().len());
            assert_eq!(repr.dscp_ecn, (h.dcp().value() << 2) | h.ecn().value());
        }
        Err(Error::Checksum) => assert!(!checksum_ok),
        Err(Error::Fragment) => assert!(checksum_ok && h.is_fragmenting_payload()),
        Err(e) => panic!("unexpected {e:?}"),
    }
}

prop_compose! {
    fn ep_ipv4_header()(
        dscp in 0u8..64, ecn in 0u8..4, ident in any::<u16>(), df in any::<bool>(),
        mf in any::<bool>(), offset in prop_oneof![Just(0u16), 0u16..0x2000], ttl in any::<u8>(),
        protocol in prop_oneof![Just(1u8), Just(6), Just(17), any::<u8>()],
        src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(),
        options in (0usize..=10).prop_flat_map(|words| prop::collection::vec(any::<u8>(), words * 4)),
        payload_len in 0u16..200,
    ) -> (Ipv4Header, u16) {
        let mut h = Ipv4Header::new(payload_len, ttl, IpNumber(protocol), src, dst).unwrap();
        h.dscp = IpDscp::try_new(dscp).unwrap();
        h.ecn = IpEcn::try_new(ecn).unwrap();
        h.identification = ident;
        h.dont_fragment = df;
        h.more_fragments = mf;
        h.fragment_offset = IpFragOffset::try_new(offset).unwrap();
        h.options = Ipv4Options::try_from(&options[..]).unwrap();
        h.total_len = u16::try_from(h.header_len()).unwrap() + payload_len;
        h.header_checksum = h.calc_header_checksum();
        (h, payload_len)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn ipv4_random(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
        check_ipv4(&bytes);
    }

    /// Random bytes with a plausible first byte reach the deeper checks.
    #[test]
    fn ipv4_random_plausible(
        first in prop_oneof![0x45u8..=0x4f, any::<u8>()], mut bytes in prop::collection::vec(any::<u8>(), 1..80),
    ) {
        bytes[0] = first;
        check_ipv4(&bytes);
    }

    #[test]
    fn ipv4_built_by_etherparse(
        (header, payload_len) in ep_ipv4_header(), padding in 0usize..20, edits in edits(), cut in cut(),
    ) {
        let mut bytes = header.to_bytes().to_vec();
        bytes.extend((0..payload_len).map(|i| i as u8));
        bytes.resize(bytes.len() + padding, 0);
        check_ipv4(&bytes);
        check_ipv4(&corrupt(bytes, &edits, cut));
    }

    #[test]
    fn ipv4_built_by_rtcp(
        src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(), protocol in any::<u8>(),
        payload_len in 0usize..300, ttl in any::<u8>(), dscp_ecn in any::<u8>(), ident in any::<u16>(),
        dont_frag in any::<bool>(),
    ) {
        let repr = Ipv4Repr {
            src_addr: Ipv4Address(src),
            dst_addr: Ipv4Address(dst),
            protocol: IpProtocol::from(protocol),
            payload_len,
            ttl,
            dscp_ecn,
            ident,
            dont_frag,
        };
        let mut bytes = vec![0u8; 20 + payload_len];
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut bytes[..]), MODE);
        let h = Ipv4HeaderSlice::from_slice(&bytes).unwrap().to_header();
        prop_assert_eq!(h.source, src);
        prop_assert_eq!(h.destination, dst);
        prop_assert_eq!(h.protocol.0, protocol);
        prop_assert_eq!(usize::from(h.total_len), 20 + payload_len);
        prop_assert_eq!(h.time_to_live, ttl);
        prop_assert_eq!((h.dscp.value() << 2) | h.ecn.value(), dscp_ecn);
        prop_assert_eq!(h.identification, ident);
        prop_assert_eq!(h.dont_fragment, dont_frag);
        prop_assert!(!h.more_fragments);
        prop_assert_eq!(h.fragment_offset.value(), 0);
        prop_assert_eq!(h.header_checksum, h.calc_header_checksum());
        check_ipv4(&bytes);
    }
}

// ------------------------------------------------------------------- ICMPv4

fn icmp_checksum_ok(bytes: &[u8]) -> bool {
    Sum16BitWords::new().add_slice(bytes).ones_complement() == 0
}

fn check_icmp(bytes: &[u8]) {
    let ours = Icmpv4Packet::new_checked(bytes);
    let theirs = Icmpv4Slice::from_slice(bytes);
    let timestamp = matches!(bytes, [13 | 14, 0, ..]);
    if !timestamp {
        assert_eq!(ours.is_ok(), theirs.is_ok(), "accept/reject {bytes:02x?}");
    }
    let Ok(ours) = ours else {
        assert!(theirs.is_err());
        return;
    };
    let parsed = Icmpv4Repr::parse(&ours, MODE);
    let Ok(theirs) = theirs else {
        // Only a timestamp message of the wrong length gets here.
        assert!(timestamp);
        assert!(matches!(parsed, Err(Error::Unsupported | Error::Checksum)));
        return;
    };
    assert_eq!(ours.msg_type(), theirs.type_u8());
    assert_eq!(ours.msg_code(), theirs.code_u8());
    assert_eq!(ours.checksum(), theirs.checksum());
    let ok = icmp_checksum_ok(bytes);
    assert_eq!(ours.verify_checksum(), ok);
    let quoted_enough = ours.data().len() >= icmpv4::QUOTE_MIN_LEN;
    match (parsed, theirs.icmp_type()) {
        (Err(Error::Checksum), _) => assert!(!ok),
        (
            Ok(Icmpv4Repr::EchoRequest {
                ident,
                seq_no,
                data,
            }),
            Icmpv4Type::EchoRequest(h),
        )
        | (
            Ok(Icmpv4Repr::EchoReply {
                ident,
                seq_no,
                data,
            }),
            Icmpv4Type::EchoReply(h),
        ) => {
            assert!(ok);
            assert_eq!(
                h,
                IcmpEchoHeader {
                    id: ident,
                    seq: seq_no
                }
            );
            assert_eq!(data, theirs.payload());
        }
        (
            Ok(Icmpv4Repr::DstUnreachable {
                code,
                next_hop_mtu,
                data,
            }),
            Icmpv4Type::DestinationUnreachable(h),
        ) => {
            assert!(ok && quoted_enough);
            assert_eq!(code, h.code_u8());
            let mtu = match h {
                DestUnreachableHeader::FragmentationNeeded { next_hop_mtu } => next_hop_mtu,
                _ => 0,
            };
            assert_eq!(next_hop_mtu, mtu);
            assert_eq!(data, theirs.payload());
            check_quote(data);
        }
        (Ok(Icmpv4Repr::TimeExceeded { code, data }), Icmpv4Type::TimeExceeded(c)) => {
            assert!(ok && quoted_enough);
            assert_eq!(code, c.code_u8());
            assert_eq!(data, theirs.payload());
            check_quote(data);
        }
        (
            Err(Error::Truncated),
            Icmpv4Type::DestinationUnreachable(_) | Icmpv4Type::TimeExceeded(_),
        ) => assert!(ok && !quoted_enough),
        (Err(Error::Unsupported), t) => {
            assert!(ok);
            assert!(
                !matches!(
                    t,
                    Icmpv4Type::EchoRequest(_)
                        | Icmpv4Type::EchoReply(_)
                        | Icmpv4Type::DestinationUnreachable(_)
                        | Icmpv4Type::TimeExceeded(_)
                ),
                "{t:?}"
            );
        }
        (ours, theirs) => panic!("disagree: {ours:?} vs {theirs:?}"),
    }
}

/// The quote helper against etherparse's IPv4 header slice and UDP header
/// slice (8 bytes: the ports, for TCP too).
fn check_quote(data: &[u8]) {
    let ours = Icmpv4Quote::parse(data);
    match Ipv4HeaderSlice::from_slice(data) {
        Err(_) => assert!(matches!(ours, Err(Error::Truncated | Error::Malformed))),
        Ok(h) => {
            let rest = &data[h.slice().len()..];
            if rest.len() < 8 {
                assert_eq!(ours, Err(Error::Truncated));
            } else if h.fragments_offset().value() != 0 {
                assert_eq!(ours, Err(Error::Fragment));
            } else {
                let q = ours.unwrap();
                let udp = UdpHeaderSlice::from_slice(rest).unwrap();
                assert_eq!(q.src_addr.0, h.source());
                assert_eq!(q.dst_addr.0, h.destination());
                assert_eq!(u8::from(q.protocol), h.protocol().0);
                assert_eq!(q.src_port, udp.source_port());
                assert_eq!(q.dst_port, udp.destination_port());
                assert_eq!(q.tcp_seq.0.to_be_bytes(), rest[4..8]);
                assert_eq!(q.total_len, h.total_len());
            }
        }
    }
}

fn ep_icmp_type() -> impl Strategy<Value = Icmpv4Type> {
    prop_oneof![
        (any::<u16>(), any::<u16>())
            .prop_map(|(id, seq)| Icmpv4Type::EchoRequest(IcmpEchoHeader { id, seq })),
        (any::<u16>(), any::<u16>())
            .prop_map(|(id, seq)| Icmpv4Type::EchoReply(IcmpEchoHeader { id, seq })),
        (0u8..16, any::<u16>()).prop_map(|(code, mtu)| Icmpv4Type::DestinationUnreachable(
            DestUnreachableHeader::from_values(code, mtu).unwrap()
        )),
        (0u8..2).prop_map(|c| Icmpv4Type::TimeExceeded(TimeExceededCode::from_u8(c).unwrap())),
        (any::<u8>(), any::<u8>(), any::<[u8; 4]>()).prop_map(|(type_u8, code_u8, bytes5to8)| {
            Icmpv4Type::Unknown {
                type_u8,
                code_u8,
                bytes5to8,
            }
        }),
    ]
}

/// An ICMP payload: either random bytes, or a plausible quoted datagram
/// (an IPv4 header from etherparse followed by some transport bytes).
fn icmp_payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..80),
        (ep_ipv4_header(), prop::collection::vec(any::<u8>(), 0..40)).prop_map(|((h, _), tail)| {
            let mut v = h.to_bytes().to_vec();
            v.extend_from_slice(&tail);
            v
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn icmp_random(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        check_icmp(&bytes);
    }

    #[test]
    fn icmp_built_by_etherparse(
        ty in ep_icmp_type(), payload in icmp_payload(), edits in edits(), cut in cut(),
    ) {
        let header = Icmpv4Header::with_checksum(ty, &payload);
        let mut bytes = header.to_bytes().to_vec();
        bytes.extend_from_slice(&payload);
        check_icmp(&bytes);
        check_icmp(&corrupt(bytes, &edits, cut));
    }

    #[test]
    fn icmp_built_by_rtcp(
        kind in 0u8..4, ident in any::<u16>(), seq_no in any::<u16>(), code in 0u8..16,
        mtu in any::<u16>(), payload in icmp_payload(),
    ) {
        let quote_ok = payload.len() >= icmpv4::QUOTE_MIN_LEN;
        let repr = match kind {
            0 => Icmpv4Repr::EchoRequest { ident, seq_no, data: &payload },
            1 => Icmpv4Repr::EchoReply { ident, seq_no, data: &payload },
            2 => Icmpv4Repr::DstUnreachable { code, next_hop_mtu: mtu, data: &payload },
            _ => Icmpv4Repr::TimeExceeded { code: code % 2, data: &payload },
        };
        let mut bytes = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Icmpv4Packet::new_unchecked(&mut bytes[..]), MODE);
        let theirs = Icmpv4Slice::from_slice(&bytes).unwrap();
        let expect_checksum = Icmpv4Header::with_checksum(theirs.icmp_type(), theirs.payload()).checksum;
        prop_assert_eq!(theirs.checksum(), expect_checksum);
        prop_assert!(icmp_checksum_ok(&bytes));
        prop_assert_eq!(theirs.payload(), &payload[..]);
        match (repr, theirs.icmp_type()) {
            (Icmpv4Repr::EchoRequest { .. }, Icmpv4Type::EchoRequest(h))
            | (Icmpv4Repr::EchoReply { .. }, Icmpv4Type::EchoReply(h)) => {
                prop_assert_eq!(h, IcmpEchoHeader { id: ident, seq: seq_no });
            }
            (Icmpv4Repr::DstUnreachable { .. }, Icmpv4Type::DestinationUnreachable(h)) => {
                prop_assert_eq!(h.code_u8(), code);
                if let DestUnreachableHeader::FragmentationNeeded { next_hop_mtu } = h {
                    prop_assert_eq!(next_hop_mtu, mtu);
                }
            }
            (Icmpv4Repr::TimeExceeded { .. }, Icmpv4Type::TimeExceeded(c)) => {
                prop_assert_eq!(c.code_u8(), code % 2);
            }
            (ours, theirs) => prop_assert!(false, "{:?} vs {:?}", ours, theirs),
        }
        if kind < 2 || quote_ok {
            check_icmp(&bytes);
        }
    }
}

// ----------------------------------------------------------------- checksum

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn checksum_agrees(bytes in prop::collection::vec(any::<u8>(), 0..2000), offset in 0usize..8) {
        let s = &bytes[offset.min(bytes.len())..];
        // etherparse sums in native byte order and returns the inverted sum
        // in that order (to be stored with `to_ne_bytes`).
        let theirs = Sum16BitWords::new().add_slice(s).ones_complement();
        prop_assert_eq!(!checksum::data(s), u16::from_be_bytes(theirs.to_ne_bytes()));
    }
}

/// The hand-written captures from the unit tests, through etherparse.
#[test]
fn captures_agree() {
    // Linux ping: IPv4 + ICMP echo request with its 56-byte payload.
    const PING: [u8; 84] = [
        0x45, 0x00, 0x00, 0x54, 0xa6, 0xf2, 0x40, 0x00, 0x40, 0x01, 0x10, 0x5b, 0xc0, 0xa8, 0x01,
        0x0a, 0xc0, 0xa8, 0x01, 0x01, 0x08, 0x00, 0x46, 0xf0, 0x00, 0x2a, 0x00, 0x01, 0x5e, 0x1f,
        0x4a, 0x66, 0x00, 0x00, 0x00, 0x00, 0x3b, 0x8c, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
        0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e,
        0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    ];
    // Fragmentation needed quoting a TCP segment.
    const FRAG_NEEDED: [u8; 56] = [
        0x45, 0xc0, 0x00, 0x38, 0x00, 0x00, 0x00, 0x00, 0xff, 0x01, 0xa6, 0x06, 0x0a, 0x00, 0x00,
        0xfe, 0x0a, 0x00, 0x00, 0x01, 0x03, 0x04, 0xc9, 0xcb, 0x00, 0x00, 0x05, 0x78, 0x45, 0x00,
        0x05, 0xdc, 0x3c, 0x1a, 0x40, 0x00, 0x3f, 0x06, 0xba, 0x26, 0x0a, 0x00, 0x00, 0x01, 0x5d,
        0xb8, 0xd8, 0x22, 0xc3, 0x50, 0x01, 0xbb, 0x12, 0x34, 0x56, 0x78,
    ];
    for packet in [&PING[..], &FRAG_NEEDED[..]] {
        check_ipv4(packet);
        let ip = Ipv4Packet::new_checked(packet).unwrap();
        assert!(Ipv4Repr::parse(&ip, MODE).is_ok());
        check_icmp(ip.payload());
        let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
        assert!(Icmpv4Repr::parse(&icmp, MODE).is_ok());
    }
}
