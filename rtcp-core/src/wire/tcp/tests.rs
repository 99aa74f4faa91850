use super::options::KIND_SACK;
use super::*;
use std::vec;
use std::vec::Vec;

// Hand-written captures in the shape Linux 6.x sends them: IPv4 header
// (20 bytes) then the TCP segment, both checksums correct. The client
// is 192.168.1.10:51234, the server 93.184.216.34:80.

// TCP checksum 0x3e8f
const LINUX_SYN: [u8; 60] = [
    // IPv4 header
    0x45, 0x00, 0x00, 0x3c, 0x4f, 0x21, 0x40, 0x00, 0x40, 0x06, 0xf4, 0x0d, 0xc0, 0xa8, 0x01, 0x0a,
    0x5d, 0xb8, 0xd8, 0x22, // TCP header
    0xc8, 0x22, 0x00, 0x50, 0x6e, 0x1d, 0x2a, 0x3f, 0x00, 0x00, 0x00, 0x00, 0xa0, 0xc2, 0xfa, 0xf0,
    0x3e, 0x8f, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x9a, 0x3c, 0x1b, 0x27,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
];
// TCP checksum 0x81a9
const LINUX_SYN_ACK: [u8; 60] = [
    // IPv4 header
    0x45, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x40, 0x00, 0x38, 0x06, 0x4b, 0x2f, 0x5d, 0xb8, 0xd8, 0x22,
    0xc0, 0xa8, 0x01, 0x0a, // TCP header
    0x00, 0x50, 0xc8, 0x22, 0x0b, 0xad, 0xf0, 0x0d, 0x6e, 0x1d, 0x2a, 0x40, 0xa0, 0x52, 0xfe, 0x88,
    0x81, 0xa9, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x12, 0x34, 0xab, 0xcd,
    0x9a, 0x3c, 0x1b, 0x27, 0x01, 0x03, 0x03, 0x07,
];
// TCP checksum 0x645d
const LINUX_DATA: [u8; 89] = [
    // IPv4 header
    0x45, 0x00, 0x00, 0x59, 0x4f, 0x22, 0x40, 0x00, 0x40, 0x06, 0xf3, 0xef, 0xc0, 0xa8, 0x01, 0x0a,
    0x5d, 0xb8, 0xd8, 0x22, // TCP header
    0xc8, 0x22, 0x00, 0x50, 0x6e, 0x1d, 0x2a, 0x40, 0x0b, 0xad, 0xf0, 0x0e, 0x80, 0x18, 0x01, 0xf6,
    0x64, 0x5d, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x9a, 0x3c, 0x1b, 0x40, 0x12, 0x34, 0xab, 0xcd,
    0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31, 0x0d, 0x0a,
    0x48, 0x6f, 0x73, 0x74, 0x3a, 0x20, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x63, 0x6f,
    0x6d, 0x0d, 0x0a, 0x0d, 0x0a,
];
// TCP checksum 0x0281
const LINUX_SACK: [u8; 80] = [
    // IPv4 header
    0x45, 0x00, 0x00, 0x50, 0x4f, 0x30, 0x40, 0x00, 0x40, 0x06, 0xf3, 0xea, 0xc0, 0xa8, 0x01, 0x0a,
    0x5d, 0xb8, 0xd8, 0x22, // TCP header
    0xc8, 0x22, 0x00, 0x50, 0x6e, 0x1d, 0x2a, 0x65, 0x0b, 0xad, 0xf5, 0xc4, 0xf0, 0x10, 0x01, 0xf5,
    0x02, 0x81, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x9a, 0x3c, 0x20, 0x00, 0x12, 0x34, 0xb0, 0x00,
    0x01, 0x01, 0x05, 0x1a, 0x6e, 0x1d, 0x30, 0x00, 0x6e, 0x1d, 0x35, 0xa8, 0x6e, 0x1d, 0x40, 0x00,
    0x6e, 0x1d, 0x45, 0xa8, 0x6e, 0x1d, 0x50, 0x00, 0x6e, 0x1d, 0x55, 0xa8,
];

const CLIENT: Ipv4Address = Ipv4Address([192, 168, 1, 10]);
const SERVER: Ipv4Address = Ipv4Address([93, 184, 216, 34]);
const HTTP_GET: &[u8] = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
const VERIFY: ChecksumMode = ChecksumMode {
    verify_rx: true,
    compute_tx: true,
};
const NO_CHECKSUMS: ChecksumMode = ChecksumMode {
    verify_rx: false,
    compute_tx: false,
};

/// Splits a capture into (src, dst, TCP segment).
fn split(capture: &[u8]) -> (Ipv4Address, Ipv4Address, &[u8]) {
    let src = Ipv4Address(capture[12..16].try_into().unwrap());
    let dst = Ipv4Address(capture[16..20].try_into().unwrap());
    (src, dst, &capture[20..])
}

fn parse_capture(capture: &[u8]) -> TcpRepr<'_> {
    let (src, dst, segment) = split(capture);
    let packet = TcpPacket::new_checked(segment).unwrap();
    assert!(packet.verify_checksum(&src, &dst));
    TcpRepr::parse(&packet, &src, &dst, VERIFY).unwrap()
}

/// Emits `repr` and checks it reproduces `capture`'s segment byte for byte.
fn assert_reemits(repr: &TcpRepr<'_>, capture: &[u8]) {
    let (src, dst, segment) = split(capture);
    assert_eq!(repr.buffer_len(), segment.len());
    let mut out = vec![0xa5; repr.buffer_len()];
    repr.emit(&mut TcpPacket::new_unchecked(&mut out), &src, &dst, VERIFY)
        .unwrap();
    assert_eq!(out, segment);
}

fn blank_repr() -> TcpRepr<'static> {
    TcpRepr {
        src_port: 1,
        dst_port: 2,
        flags: TcpFlags::ACK,
        seq_number: SeqNumber(3),
        ack_number: SeqNumber(4),
        window_len: 5,
        urgent_pointer: 0,
        options: TcpOptions::default(),
        payload: &[],
    }
}

fn sack(left: u32, right: u32) -> SackBlock {
    SackBlock {
        left: SeqNumber(left),
        right: SeqNumber(right),
    }
}

#[test]
fn linux_syn() {
    let (src, dst, segment) = split(&LINUX_SYN);
    let packet = TcpPacket::new_checked(segment).unwrap();
    assert_eq!(packet.src_port(), 51234);
    assert_eq!(packet.dst_port(), 80);
    assert_eq!(packet.seq_number(), SeqNumber(0x6e1d_2a3f));
    assert_eq!(packet.ack_number(), SeqNumber(0));
    assert_eq!(packet.header_len(), 40);
    assert_eq!(packet.reserved(), 0);
    assert_eq!(packet.window_len(), 64240);
    assert_eq!(packet.checksum(), 0x3e8f);
    assert_eq!(packet.urgent_pointer(), 0);
    assert_eq!(packet.options().len(), 20);
    assert!(packet.payload().is_empty());
    assert!(packet.verify_checksum(&src, &dst));
    // The pseudo-header is covered: another address fails (RFC 9293 §3.1).
    assert!(!packet.verify_checksum(&src, &Ipv4Address::new(93, 184, 216, 35)));

    let repr = parse_capture(&LINUX_SYN);
    // An ECN-setup SYN (RFC 3168 §6.1.1): SYN, ECE and CWR.
    assert_eq!(repr.flags, TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR);
    assert!(repr.flags.syn() && repr.flags.ece() && repr.flags.cwr());
    assert!(!repr.flags.ack());
    assert_eq!(
        repr.options,
        TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamp: Some((0x9a3c_1b27, 0)),
            ..TcpOptions::default()
        }
    );
    assert_eq!(repr.segment_len(), 1);
    assert_eq!(repr.header_len(), 40);
    assert_reemits(&repr, &LINUX_SYN);
}

#[test]
fn syn_layout_shortcuts_match_the_general_walk() {
    // The one-compare SYN layout and the same options in another order
    // (walked option by option) parse alike, and emit as the former.
    let linux = [
        2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 3, 3, 9,
    ];
    let shuffled = [
        1, 3, 3, 9, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 4, 2, 2, 4, 0x05, 0xb4,
    ];
    let a = TcpOptions::parse(&linux).unwrap();
    assert_eq!(a, TcpOptions::parse(&shuffled).unwrap());
    assert_eq!(
        a,
        TcpOptions {
            mss: Some(1460),
            window_scale: Some(9),
            sack_permitted: true,
            timestamp: Some((0x0102_0304, 0x0506_0708)),
            ..TcpOptions::default()
        }
    );
    let mut out = [0u8; 40];
    assert_eq!(a.emit(&mut out), Ok(20));
    assert_eq!(out[..20], linux);
    assert_eq!(a.len(), 20);
    assert_eq!(a.emit(&mut [0u8; 19]), Err(Error::BufferTooSmall));
    // A corrupted copy is not taken for the layout.
    let mut bad = linux;
    bad[17] = 4;
    assert_eq!(TcpOptions::parse(&bad), Err(Error::BadOption));

    // Without window scale (our SYN-ACK when neither side scales).
    let short = [2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8];
    let short_shuffled = [
        8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1, 4, 2, 2, 4, 0x05, 0xb4, 0, 0,
    ];
    let b = TcpOptions::parse(&short).unwrap();
    assert_eq!(b, TcpOptions::parse(&short_shuffled).unwrap());
    assert_eq!(
        b,
        TcpOptions {
            window_scale: None,
            ..a
        }
    );
    let mut out = [0u8; 40];
    assert_eq!(b.emit(&mut out), Ok(16));
    assert_eq!(out[..16], short);
    assert_eq!(out[16..], [0u8; 24], "nothing written past the options");
    assert_eq!(b.len(), 16);
    assert_eq!(b.emit(&mut [0u8; 15]), Err(Error::BufferTooSmall));
    let mut bad = short;
    bad[5] = 3;
    assert_eq!(TcpOptions::parse(&bad), Err(Error::BadOption));
}

#[test]
fn linux_syn_ack() {
    let repr = parse_capture(&LINUX_SYN_ACK);
    assert_eq!((repr.src_port, repr.dst_port), (80, 51234));
    // ECN-setup SYN-ACK: SYN, ACK and ECE without CWR.
    assert_eq!(repr.flags, TcpFlags::SYN | TcpFlags::ACK | TcpFlags::ECE);
    assert!(!repr.flags.cwr());
    assert_eq!(repr.seq_number, SeqNumber(0x0bad_f00d));
    assert_eq!(repr.ack_number, SeqNumber(0x6e1d_2a40));
    assert_eq!(repr.window_len, 65160);
    assert_eq!(repr.options.mss, Some(1460));
    assert_eq!(repr.options.window_scale, Some(7));
    assert!(repr.options.sack_permitted);
    assert_eq!(repr.options.timestamp, Some((0x1234_abcd, 0x9a3c_1b27)));
    assert!(repr.options.sack_blocks().is_empty());
    assert_eq!(repr.segment_len(), 1);
    assert_reemits(&repr, &LINUX_SYN_ACK);
}

#[test]
fn linux_data_segment() {
    let (_, _, segment) = split(&LINUX_DATA);
    let packet = TcpPacket::new_checked(segment).unwrap();
    assert_eq!(packet.header_len(), 32);
    assert_eq!(packet.payload(), HTTP_GET);
    let repr = parse_capture(&LINUX_DATA);
    assert_eq!(repr.flags, TcpFlags::PSH | TcpFlags::ACK);
    assert_eq!(repr.window_len, 502);
    assert_eq!(repr.payload, HTTP_GET);
    assert_eq!(
        repr.options,
        TcpOptions {
            timestamp: Some((0x9a3c_1b40, 0x1234_abcd)),
            ..TcpOptions::default()
        }
    );
    assert_eq!(repr.segment_len(), HTTP_GET.len());
    assert_eq!(repr.buffer_len(), 32 + HTTP_GET.len());
    assert_reemits(&repr, &LINUX_DATA);
}

#[test]
fn linux_sack_segment() {
    let (_, _, segment) = split(&LINUX_SACK);
    assert_eq!(TcpPacket::new_checked(segment).unwrap().header_len(), 60);
    let repr = parse_capture(&LINUX_SACK);
    assert_eq!(repr.flags, TcpFlags::ACK);
    assert_eq!(repr.options.timestamp, Some((0x9a3c_2000, 0x1234_b000)));
    assert_eq!(
        repr.options.sack_blocks(),
        &[
            sack(0x6e1d_3000, 0x6e1d_35a8),
            sack(0x6e1d_4000, 0x6e1d_45a8),
            sack(0x6e1d_5000, 0x6e1d_55a8),
        ]
    );
    assert_eq!(repr.options.sack_count, 3);
    assert_eq!(repr.options.emitted_sack_count(), 3);
    assert_eq!(repr.segment_len(), 0);
    assert_reemits(&repr, &LINUX_SACK);
}

#[test]
fn ingress_parse_keeps_sack_blocks_only_with_the_feature() {
    let (src, dst, segment) = split(&LINUX_SACK);
    let packet = TcpPacket::new_checked(segment).unwrap();
    let public = parse_capture(&LINUX_SACK);
    let mut ingress = TcpRepr::default();
    TcpRepr::parse_ingress(&packet, &src, &dst, VERIFY, &mut ingress).unwrap();
    // Every field but the blocks is the public parser's, the count too
    // (the duplicate-ACK test reads it).
    assert_eq!(ingress.options.sack_count, 3);
    if cfg!(feature = "sack") {
        assert_eq!(ingress, public);
    } else {
        assert_eq!(ingress.options.sack_blocks, [SackBlock::default(); 4]);
        ingress.options.sack_blocks = public.options.sack_blocks;
        assert_eq!(ingress, public);
    }
    // A SACK option of a length no block count gives (2 + 8n, RFC 2018
    // §3) is an error either way: the three blocks' 26 made 25.
    let mut bytes = segment.to_vec();
    let at = 20 + 15; // NOP NOP TS(10), NOP NOP, then kind 5, length
    assert_eq!((bytes[at - 1], bytes[at]), (KIND_SACK, 26));
    bytes[at] = 25;
    let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
    let mut seg = TcpRepr::default();
    let parsed = TcpRepr::parse_ingress(&packet, &src, &dst, NO_CHECKSUMS, &mut seg);
    assert_eq!(parsed, Err(Error::BadOption));
    let parsed = TcpRepr::parse(&packet, &src, &dst, NO_CHECKSUMS);
    assert_eq!(parsed, Err(Error::BadOption));
}

#[test]
fn bad_checksum() {
    for capture in [&LINUX_SYN[..], &LINUX_SYN_ACK, &LINUX_DATA, &LINUX_SACK] {
        let (src, dst, segment) = split(capture);
        // Flip one bit anywhere: header, options or payload.
        for at in [0, 13, 17, 25, segment.len() - 1] {
            let mut bytes = segment.to_vec();
            bytes[at] ^= 0x10;
            let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
            assert!(!packet.verify_checksum(&src, &dst));
            let parsed = TcpRepr::parse(&packet, &src, &dst, VERIFY);
            assert_eq!(parsed, Err(Error::Checksum), "flip at {at}");
            // Not verified when the device did it (offload); the flip
            // may still break an option.
            let unverified = TcpRepr::parse(&packet, &src, &dst, NO_CHECKSUMS);
            assert!(matches!(unverified, Ok(_) | Err(Error::BadOption)));
        }
    }
}

#[test]
fn checksum_zero_is_negative_zero() {
    // One's complement has two zeros: when the computed checksum is
    // 0x0000, a sender storing 0xffff instead must still verify
    // (RFC 1071 §1).
    let (src, dst, segment) = split(&LINUX_DATA);
    let mut bytes = segment.to_vec();
    let mut packet = TcpPacket::new_unchecked(&mut bytes[..]);
    packet.set_checksum(0);
    packet.set_urgent_pointer(0);
    // Choose the urgent pointer so that the whole sum is 0xffff.
    let partial = segment_sum(&src, &dst, packet.as_ref());
    packet.set_urgent_pointer(!partial);
    packet.fill_checksum(&src, &dst);
    assert_eq!(packet.checksum(), 0);
    assert!(packet.verify_checksum(&src, &dst));
    packet.set_checksum(0xffff);
    assert!(packet.verify_checksum(&src, &dst));
}

#[test]
fn length_checks() {
    let (_, _, segment) = split(&LINUX_SYN);
    for len in 0..HEADER_LEN {
        assert_eq!(
            TcpPacket::new_checked(&segment[..len]).err(),
            Some(Error::Truncated)
        );
    }
    // The options run past the buffer.
    for len in HEADER_LEN..40 {
        assert_eq!(
            TcpPacket::new_checked(&segment[..len]).err(),
            Some(Error::Truncated)
        );
    }
    assert!(TcpPacket::new_checked(&segment[..40]).is_ok());
    // Data offset below 5.
    for offset in 0..5u8 {
        let mut bytes = segment.to_vec();
        bytes[12] = offset << 4;
        assert_eq!(
            TcpPacket::new_checked(&bytes[..]).err(),
            Some(Error::Malformed)
        );
        let packet = TcpPacket::new_unchecked(&bytes[..]);
        assert_eq!(
            TcpRepr::parse(&packet, &CLIENT, &SERVER, NO_CHECKSUMS),
            Err(Error::Malformed)
        );
    }
    // Data offset 15 over a 40-byte segment.
    let mut bytes = segment.to_vec();
    bytes[12] = 0xf0;
    assert_eq!(
        TcpPacket::new_checked(&bytes[..]).err(),
        Some(Error::Truncated)
    );
}

#[test]
fn unchecked_short_buffers_do_not_panic() {
    for len in 0..=HEADER_LEN {
        let mut bytes = vec![0xff; len];
        let mut packet = TcpPacket::new_unchecked(&mut bytes[..]);
        let _ = (
            packet.src_port(),
            packet.dst_port(),
            packet.seq_number(),
            packet.ack_number(),
            packet.header_len(),
            packet.reserved(),
            packet.flags(),
            packet.window_len(),
            packet.checksum(),
            packet.urgent_pointer(),
            packet.options().len(),
            packet.payload().len(),
            packet.verify_checksum(&CLIENT, &SERVER),
        );
        packet.set_src_port(1);
        packet.set_dst_port(1);
        packet.set_seq_number(SeqNumber(1));
        packet.set_ack_number(SeqNumber(1));
        packet.set_header_len(60);
        packet.set_flags(TcpFlags::SYN);
        packet.set_window_len(1);
        packet.set_urgent_pointer(1);
        packet.options_mut().fill(0);
        packet.payload_mut().fill(0);
        packet.fill_checksum(&CLIENT, &SERVER);
    }
}

#[test]
fn setters_and_getters() {
    let mut bytes = [0xffu8; 28];
    let mut packet = TcpPacket::new_unchecked(&mut bytes[..]);
    packet.set_src_port(0x1234);
    packet.set_dst_port(0x5678);
    packet.set_seq_number(SeqNumber(0x9abc_def0));
    packet.set_ack_number(SeqNumber(0x0fed_cba9));
    packet.set_header_len(24);
    packet.set_flags(TcpFlags::FIN | TcpFlags::URG);
    packet.set_window_len(0xbeef);
    packet.set_checksum(0xcafe);
    packet.set_urgent_pointer(0x0102);
    packet.options_mut().copy_from_slice(&[1, 1, 1, 0]);
    packet.payload_mut().copy_from_slice(b"data");
    assert_eq!(packet.reserved(), 0, "set_header_len clears reserved bits");
    assert_eq!(packet.src_port(), 0x1234);
    assert_eq!(packet.dst_port(), 0x5678);
    assert_eq!(packet.seq_number(), SeqNumber(0x9abc_def0));
    assert_eq!(packet.ack_number(), SeqNumber(0x0fed_cba9));
    assert_eq!(packet.header_len(), 24);
    assert_eq!(packet.flags(), TcpFlags::FIN | TcpFlags::URG);
    assert_eq!(packet.window_len(), 0xbeef);
    assert_eq!(packet.checksum(), 0xcafe);
    assert_eq!(packet.urgent_pointer(), 0x0102);
    assert_eq!(packet.options(), &[1, 1, 1, 0]);
    assert_eq!(packet.payload(), b"data");
    packet.fill_checksum(&CLIENT, &SERVER);
    assert!(packet.verify_checksum(&CLIENT, &SERVER));
    let repr = TcpRepr::parse(
        &TcpPacket::new_checked(&bytes[..]).unwrap(),
        &CLIENT,
        &SERVER,
        VERIFY,
    )
    .unwrap();
    assert_eq!(repr.options, TcpOptions::default());
    assert_eq!(repr.urgent_pointer, 0x0102);
    assert_eq!(repr.segment_len(), 5);
}

#[test]
fn reserved_bits_are_ignored_on_receive() {
    // RFC 9293 §3.1: reserved bits must be zero on send, ignored on receive.
    let (src, dst, segment) = split(&LINUX_DATA);
    let mut bytes = segment.to_vec();
    let mut packet = TcpPacket::new_unchecked(&mut bytes[..]);
    packet.set_header_len(32);
    bytes[12] |= 0x0f;
    let mut packet = TcpPacket::new_unchecked(&mut bytes[..]);
    packet.fill_checksum(&src, &dst);
    assert_eq!(packet.reserved(), 0x0f);
    let repr = TcpRepr::parse(
        &TcpPacket::new_checked(&bytes[..]).unwrap(),
        &src,
        &dst,
        VERIFY,
    )
    .unwrap();
    assert_eq!(repr.payload, HTTP_GET);
    // And re-emitted as zero.
    let mut out = vec![0; repr.buffer_len()];
    repr.emit(
        &mut TcpPacket::new_unchecked(&mut out[..]),
        &src,
        &dst,
        VERIFY,
    )
    .unwrap();
    assert_eq!(out, segment);
}

#[test]
fn options_parse_each_kind() {
    let parse = TcpOptions::parse;
    assert_eq!(parse(&[]), Ok(TcpOptions::default()));
    assert_eq!(parse(&[1, 1, 1, 1]), Ok(TcpOptions::default()));
    assert_eq!(parse(&[2, 4, 0x05, 0xb4]).unwrap().mss, Some(1460));
    assert_eq!(parse(&[3, 3, 14]).unwrap().window_scale, Some(14));
    // Out-of-range shifts are reported as sent (RFC 7323 §2.3: the
    // receiver clamps to 14, the engine's job).
    assert_eq!(parse(&[3, 3, 200]).unwrap().window_scale, Some(200));
    assert!(parse(&[4, 2]).unwrap().sack_permitted);
    assert_eq!(
        parse(&[8, 10, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff])
            .unwrap()
            .timestamp,
        Some((1, u32::MAX))
    );
    let mut bytes = vec![5, 34];
    for i in 0..8u32 {
        bytes.extend_from_slice(&(i * 100).to_be_bytes());
    }
    let options = parse(&bytes).unwrap();
    assert_eq!(options.sack_count, 4);
    assert_eq!(
        options.sack_blocks(),
        &[sack(0, 100), sack(200, 300), sack(400, 500), sack(600, 700)]
    );
}

#[test]
fn options_eol_ends_parsing() {
    // RFC 9293 §3.2: EOL marks the end; what follows is padding, even
    // when it would not parse.
    let options = TcpOptions::parse(&[2, 4, 0x05, 0xb4, 0, 2, 0, 0xff]).unwrap();
    assert_eq!(options.mss, Some(1460));
    assert_eq!(TcpOptions::parse(&[0, 2, 1]), Ok(TcpOptions::default()));
    assert_eq!(TcpOptions::parse(&[0]), Ok(TcpOptions::default()));
}

#[test]
fn options_unknown_kinds_are_skipped() {
    // Kind 30 (MPTCP) with 2 bytes of data, kind 34 (TFO) with none,
    // kind 254 (experimental) with 4.
    let bytes = [
        30, 4, 0xaa, 0xbb, 34, 2, 2, 4, 0x05, 0xb4, 254, 6, 1, 2, 3, 4, 3, 3, 7,
    ];
    let options = TcpOptions::parse(&bytes).unwrap();
    assert_eq!(options.mss, Some(1460));
    assert_eq!(options.window_scale, Some(7));
}

#[test]
fn options_repeated_kind_last_wins() {
    let options = TcpOptions::parse(&[2, 4, 0, 1, 2, 4, 0, 2]).unwrap();
    assert_eq!(options.mss, Some(2));
    let mut bytes = vec![5, 18];
    bytes.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4]);
    bytes.extend_from_slice(&[5, 10, 0, 0, 0, 9, 0, 0, 0, 10]);
    let options = TcpOptions::parse(&bytes).unwrap();
    assert_eq!(options.sack_blocks(), &[sack(9, 10)]);
    assert_eq!(options.sack_blocks[1], SackBlock::default());
}

#[test]
fn options_malformed() {
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("kind without length byte", vec![2]),
        ("unknown kind without length byte", vec![1, 1, 99]),
        ("length 0", vec![2, 0, 0, 0]),
        ("length 1", vec![2, 1, 0, 0]),
        ("unknown kind, length 0", vec![99, 0]),
        ("unknown kind, length 1", vec![99, 1, 1, 1]),
        ("MSS runs past", vec![2, 4, 5]),
        ("unknown kind runs past", vec![99, 10, 0, 0]),
        ("MSS length 3", vec![2, 3, 5, 1]),
        ("MSS length 5", vec![2, 5, 5, 0xb4, 0]),
        ("MSS length 2", vec![2, 2]),
        ("WS length 2", vec![3, 2, 1, 1]),
        ("WS length 4", vec![3, 4, 7, 0]),
        ("SACK-permitted length 3", vec![4, 3, 0, 1]),
        ("SACK-permitted length 4", vec![4, 4, 0, 0]),
        ("SACK length 2 (no block)", vec![5, 2, 1, 1]),
        ("TS length 8", vec![8, 8, 0, 0, 0, 0, 0, 0]),
        ("TS length 12", vec![8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        ("TS runs past", vec![8, 10, 0, 0, 0, 0]),
    ];
    for len in [3u8, 9, 11, 17, 19, 33, 35, 38, 42] {
        let mut bytes = vec![5, len];
        bytes.resize(usize::from(len).max(2), 0);
        cases.push(("SACK length not 2 + 8n", bytes));
    }
    // Five blocks: 2 + 40 bytes, more than a header can hold.
    let mut five = vec![5, 42];
    five.resize(42, 0);
    cases.push(("SACK with five blocks", five));

    for (what, bytes) in &cases {
        assert_eq!(TcpOptions::parse(bytes), Err(Error::BadOption), "{what}");
        // Same through a whole segment (padded to a 4-byte multiple
        // with EOL when it fits in a header).
        let mut options = bytes.clone();
        options.resize(options.len().div_ceil(4) * 4, 0);
        if options.len() > MAX_OPTIONS_LEN {
            continue;
        }
        let mut segment = vec![0u8; HEADER_LEN];
        segment.extend_from_slice(&options);
        let mut packet = TcpPacket::new_unchecked(&mut segment[..]);
        packet.set_header_len(HEADER_LEN + options.len());
        packet.fill_checksum(&CLIENT, &SERVER);
        let packet = TcpPacket::new_checked(&segment[..]).unwrap();
        // A trailing EOL pad does not rescue a short option: the
        // kind's length still runs to the pad or past it.
        let parsed = TcpRepr::parse(&packet, &CLIENT, &SERVER, VERIFY);
        let expected = TcpOptions::parse(&options).map(|_| ());
        assert_eq!(parsed.map(|_| ()), expected, "{what} in a segment");
    }
}

#[test]
fn options_malformed_in_real_segment() {
    // The SYN's MSS option claims length 3.
    let (src, dst, segment) = split(&LINUX_SYN);
    let mut bytes = segment.to_vec();
    bytes[21] = 3;
    let mut packet = TcpPacket::new_unchecked(&mut bytes[..]);
    packet.fill_checksum(&src, &dst);
    let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(
        TcpRepr::parse(&packet, &src, &dst, VERIFY),
        Err(Error::BadOption)
    );
    // The SACK segment's SACK option claims 4 blocks, running past the header.
    let (src, dst, segment) = split(&LINUX_SACK);
    let mut bytes = segment.to_vec();
    bytes[35] = 34;
    let mut packet = TcpPacket::new_unchecked(&mut bytes[..]);
    packet.fill_checksum(&src, &dst);
    let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(
        TcpRepr::parse(&packet, &src, &dst, VERIFY),
        Err(Error::BadOption)
    );
}

#[test]
fn options_emit_layouts() {
    let emit = |options: TcpOptions| {
        let mut out = [0xeeu8; 48];
        let len = options.emit(&mut out).unwrap();
        assert_eq!(len, options.len());
        assert_eq!(len % 4, 0);
        assert!(out[len..].iter().all(|&b| b == 0xee), "wrote past len()");
        out[..len].to_vec()
    };
    assert_eq!(emit(TcpOptions::default()), Vec::<u8>::new());
    assert!(TcpOptions::default().is_empty());
    let mss = TcpOptions {
        mss: Some(536),
        ..TcpOptions::default()
    };
    assert_eq!(emit(mss), [2, 4, 2, 0x18]);
    let ws = TcpOptions {
        window_scale: Some(9),
        ..TcpOptions::default()
    };
    assert_eq!(emit(ws), [1, 3, 3, 9]);
    let sack_ok = TcpOptions {
        sack_permitted: true,
        ..TcpOptions::default()
    };
    assert_eq!(emit(sack_ok), [1, 1, 4, 2]);
    let ts = TcpOptions {
        timestamp: Some((1, 2)),
        ..TcpOptions::default()
    };
    assert_eq!(emit(ts), [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
    let mut blocks = TcpOptions::default();
    assert!(blocks.push_sack(sack(1, 2)));
    assert_eq!(emit(blocks), [1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
    // The Linux SYN layout.
    let (_, _, segment) = split(&LINUX_SYN);
    let syn = TcpOptions::parse(&segment[20..40]).unwrap();
    assert_eq!(emit(syn), &segment[20..40]);
}

#[test]
fn sack_blocks_truncated_to_fit() {
    let mut options = TcpOptions::default();
    for i in 0..4 {
        assert!(options.push_sack(sack(i * 10, i * 10 + 5)));
    }
    assert!(
        !options.push_sack(sack(100, 200)),
        "a fifth block is refused"
    );
    assert_eq!(options.sack_count, 4);
    // Alone, all four fit: 4 + 32 = 36.
    assert_eq!(options.emitted_sack_count(), 4);
    assert_eq!(options.len(), 36);
    // With timestamps (12), three: 12 + 4 + 24 = 40 (RFC 2018 §3).
    options.timestamp = Some((7, 8));
    assert_eq!(options.emitted_sack_count(), 3);
    assert_eq!(options.len(), 40);
    // With everything else (4 + 12 + 4 = 20 bytes), two.
    options.mss = Some(1460);
    options.window_scale = Some(7);
    options.sack_permitted = true;
    assert_eq!(options.emitted_sack_count(), 2);
    assert_eq!(options.len(), 40);

    // The emitted blocks are the first ones.
    options.mss = None;
    options.window_scale = None;
    options.sack_permitted = false;
    let mut out = [0u8; MAX_OPTIONS_LEN];
    assert_eq!(options.emit(&mut out), Ok(40));
    let parsed = TcpOptions::parse(&out).unwrap();
    assert_eq!(parsed.sack_blocks(), &options.sack_blocks()[..3]);
    assert_eq!(parsed.timestamp, Some((7, 8)));

    // An out-of-range count is clamped, not trusted.
    options.sack_count = 200;
    assert_eq!(options.sack_blocks().len(), 4);
    assert!(!options.push_sack(sack(0, 1)));
}

#[test]
fn options_emit_buffer_too_small() {
    let options = TcpOptions {
        mss: Some(1460),
        timestamp: Some((1, 2)),
        ..TcpOptions::default()
    };
    for len in 0..options.len() {
        let mut out = vec![0xee; len];
        assert_eq!(options.emit(&mut out), Err(Error::BufferTooSmall));
        assert!(out.iter().all(|&b| b == 0xee));
    }
}

/// The no-option shortcut of `emit` (every segment after the SYN of a
/// connection without timestamps) says what the general writer says,
/// and writes nothing, even into an empty buffer.
#[test]
fn no_option_emit_matches_the_general_writer() {
    let options = TcpOptions::default();
    let (mut fast, mut general) = ([0xeeu8; 40], [0xeeu8; 40]);
    assert_eq!(options.emit(&mut fast), Ok(0));
    assert_eq!(options.emit_general(&mut general), Ok(0));
    assert_eq!(fast, general);
    assert!(fast.iter().all(|&b| b == 0xee));
    assert_eq!(options.emit(&mut []), Ok(0));
    // One field set leaves the shortcut: the general writer's bytes.
    let mss = TcpOptions {
        mss: Some(1460),
        ..TcpOptions::default()
    };
    assert_eq!(mss.emit(&mut fast), Ok(4));
    assert_eq!(fast[..4], [2, 4, 0x05, 0xb4]);
}

#[test]
fn emit_buffer_too_small() {
    let mut repr = parse_capture(&LINUX_DATA);
    repr.payload = HTTP_GET;
    for len in 0..repr.buffer_len() {
        let mut out = vec![0xee; len];
        let result = repr.emit(
            &mut TcpPacket::new_unchecked(&mut out[..]),
            &CLIENT,
            &SERVER,
            VERIFY,
        );
        assert_eq!(result, Err(Error::BufferTooSmall));
        assert!(out.iter().all(|&b| b == 0xee), "wrote into a short buffer");
    }
}

#[test]
fn emit_into_longer_buffer() {
    let repr = parse_capture(&LINUX_DATA);
    let mut out = vec![0xee; repr.buffer_len() + 7];
    repr.emit(
        &mut TcpPacket::new_unchecked(&mut out[..]),
        &CLIENT,
        &SERVER,
        VERIFY,
    )
    .unwrap();
    assert_eq!(&out[..repr.buffer_len()], &LINUX_DATA[20..]);
    assert!(out[repr.buffer_len()..].iter().all(|&b| b == 0xee));
}

#[test]
fn emit_without_checksum() {
    let repr = parse_capture(&LINUX_SYN);
    let mut out = vec![0xee; repr.buffer_len()];
    repr.emit(
        &mut TcpPacket::new_unchecked(&mut out[..]),
        &CLIENT,
        &SERVER,
        NO_CHECKSUMS,
    )
    .unwrap();
    let packet = TcpPacket::new_checked(&out[..]).unwrap();
    assert_eq!(packet.checksum(), 0);
    let mut expected = LINUX_SYN[20..].to_vec();
    expected[16..18].fill(0);
    assert_eq!(out, expected);
}

#[test]
fn segment_len_counts_syn_and_fin() {
    let mut repr = blank_repr();
    assert_eq!(repr.segment_len(), 0);
    repr.flags = TcpFlags::SYN;
    assert_eq!(repr.segment_len(), 1);
    repr.flags = TcpFlags::FIN | TcpFlags::ACK;
    repr.payload = b"bye";
    assert_eq!(repr.segment_len(), 4);
    repr.flags = TcpFlags::SYN | TcpFlags::FIN;
    assert_eq!(repr.segment_len(), 5);
    repr.flags = TcpFlags::RST;
    assert_eq!(repr.segment_len(), 3);
    assert_eq!(repr.header_len(), 20);
    assert_eq!(repr.buffer_len(), 23);
}

#[test]
fn all_flags_round_trip() {
    for bits in 0..=u8::MAX {
        let repr = TcpRepr {
            flags: TcpFlags(bits),
            urgent_pointer: 0x1234,
            ..blank_repr()
        };
        let mut out = [0u8; HEADER_LEN];
        repr.emit(
            &mut TcpPacket::new_unchecked(&mut out[..]),
            &CLIENT,
            &SERVER,
            VERIFY,
        )
        .unwrap();
        assert_eq!(out[13], bits);
        let packet = TcpPacket::new_checked(&out[..]).unwrap();
        assert_eq!(TcpRepr::parse(&packet, &CLIENT, &SERVER, VERIFY), Ok(repr));
    }
}

#[test]
fn flags_debug_and_display() {
    let flags = TcpFlags::SYN | TcpFlags::ACK | TcpFlags::ECE | TcpFlags::CWR;
    assert_eq!(std::format!("{flags:?}"), "S.EW");
    let repr = parse_capture(&LINUX_SACK);
    let line = std::format!("{repr}");
    assert!(
        line.starts_with("TCP 51234>80 [.] seq=1847405157"),
        "{line}"
    );
    assert!(line.contains("sack=1847406592-1847408040"), "{line}");
}

#[test]
fn checksum_helper_matches_rfc1071_example() {
    // RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
    assert_eq!(
        sum::data(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
        0xddf2
    );
    // Odd length: the last byte is the high half of a zero-padded word.
    assert_eq!(sum::data(&[0x00, 0x01, 0xf2]), 0xf201);
    assert_eq!(sum::data(&[0x12, 0x34, 0x56]), 0x6834);
    assert_eq!(sum::combine(&[0xffff, 0x0001]), 0x0001);
    assert_eq!(sum::data(&[]), 0);
}
