//! Property tests for `wire::tcp`: emit/parse round trips, and parsing
//! arbitrary or corrupted bytes never panics (bad input is data, not a bug).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use rtcp_core::wire::tcp::{SackBlock, HEADER_LEN, MAX_HEADER_LEN, MAX_SACK_BLOCKS};
use rtcp_core::wire::{
    ChecksumMode, Error, Ipv4Address, SeqNumber, TcpFlags, TcpOptions, TcpPacket, TcpRepr,
};

const CHECKED: ChecksumMode = ChecksumMode {
    verify_rx: true,
    compute_tx: true,
};

fn address() -> impl Strategy<Value = Ipv4Address> {
    any::<[u8; 4]>().prop_map(Ipv4Address)
}

fn sack_block() -> impl Strategy<Value = SackBlock> {
    (any::<u32>(), any::<u32>()).prop_map(|(l, r)| SackBlock {
        left: SeqNumber(l),
        right: SeqNumber(r),
    })
}

/// Any options the emitter can represent exactly: the SACK list is cut to
/// what fits beside the other options, as `emit` would cut it.
fn options() -> impl Strategy<Value = TcpOptions> {
    (
        proptest::option::of(any::<u16>()),
        proptest::option::of(any::<u8>()),
        any::<bool>(),
        proptest::option::of(any::<(u32, u32)>()),
        proptest::collection::vec(sack_block(), 0..=MAX_SACK_BLOCKS),
    )
        .prop_map(|(mss, window_scale, sack_permitted, timestamp, blocks)| {
            let mut options = TcpOptions {
                mss,
                window_scale,
                sack_permitted,
                timestamp,
                ..TcpOptions::default()
            };
            for block in blocks {
                assert!(options.push_sack(block));
            }
            let fit = options.emitted_sack_count();
            let mut fitted = TcpOptions {
                sack_blocks: [SackBlock::default(); MAX_SACK_BLOCKS],
                sack_count: 0,
                ..options
            };
            for &block in &options.sack_blocks()[..fit] {
                fitted.push_sack(block);
            }
            fitted
        })
}

prop_compose! {
    fn repr_parts()(
        src_port: u16,
        dst_port: u16,
        flags: u8,
        seq: u32,
        ack: u32,
        window_len: u16,
        urgent_pointer: u16,
        options in options(),
        payload in proptest::collection::vec(any::<u8>(), 0..300),
    ) -> (TcpRepr<'static>, Vec<u8>) {
        let repr = TcpRepr {
            src_port,
            dst_port,
            flags: TcpFlags(flags),
            seq_number: SeqNumber(seq),
            ack_number: SeqNumber(ack),
            window_len,
            urgent_pointer,
            options,
            payload: &[],
        };
        (repr, payload)
    }
}

/// Exercise every getter of a view, whatever its state.
fn touch_all<T: AsRef<[u8]>>(packet: &TcpPacket<T>, src: &Ipv4Address, dst: &Ipv4Address) {
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
        packet.options(),
        packet.payload(),
        packet.verify_checksum(src, dst),
    );
}

/// Option lists assembled from plausible pieces, some of them broken: the
/// shapes a fuzzer takes long to find from raw bytes.
fn option_soup() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(vec![0u8]),
        Just(vec![1u8]),
        any::<u16>().prop_map(|m| vec![2, 4, (m >> 8) as u8, m as u8]),
        any::<u8>().prop_map(|s| vec![3, 3, s]),
        Just(vec![4u8, 2]),
        (1usize..=4, any::<[u8; 32]>()).prop_map(|(n, edges)| {
            let mut v = vec![5, (2 + 8 * n) as u8];
            v.extend_from_slice(&edges[..8 * n]);
            v
        }),
        any::<[u8; 8]>().prop_map(|ts| {
            let mut v = vec![8, 10];
            v.extend_from_slice(&ts);
            v
        }),
        // Any kind with any length byte and a few bytes after it.
        (
            any::<u8>(),
            any::<u8>(),
            proptest::collection::vec(any::<u8>(), 0..12)
        )
            .prop_map(|(kind, len, rest)| {
                let mut v = vec![kind, len];
                v.extend_from_slice(&rest);
                v
            }),
    ];
    proptest::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn emit_then_parse_round_trips(
        (mut repr, payload) in repr_parts(),
        src in address(),
        dst in address(),
    ) {
        repr.payload = &payload;
        let len = repr.buffer_len();
        prop_assert!(repr.header_len() <= MAX_HEADER_LEN);
        prop_assert_eq!(repr.header_len() % 4, 0);
        let mut buffer = vec![0u8; len];
        repr.emit(&mut TcpPacket::new_unchecked(&mut buffer[..]), &src, &dst, CHECKED)
            .unwrap();
        let packet = TcpPacket::new_checked(&buffer[..]).unwrap();
        prop_assert_eq!(packet.header_len(), repr.header_len());
        prop_assert!(packet.verify_checksum(&src, &dst));
        let parsed = TcpRepr::parse(&packet, &src, &dst, CHECKED).unwrap();
        prop_assert_eq!(parsed, repr);

        // Too small by any amount: an error, and not one byte written.
        let short = len.saturating_sub(1 + (payload.len() % 7));
        let mut small = vec![0xeeu8; short];
        let result = repr.emit(&mut TcpPacket::new_unchecked(&mut small[..]), &src, &dst, CHECKED);
        prop_assert_eq!(result, Err(Error::BufferTooSmall));
        prop_assert!(small.iter().all(|&b| b == 0xee));
    }

    #[test]
    fn options_emit_then_parse_round_trips(options in options()) {
        let mut out = [0u8; 40];
        let len = options.emit(&mut out).unwrap();
        prop_assert_eq!(len, options.len());
        prop_assert_eq!(len % 4, 0);
        prop_assert_eq!(TcpOptions::parse(&out[..len]), Ok(options));
    }

    #[test]
    fn oversized_sack_lists_are_cut_not_overflowed(
        mut options in options(),
        extra in proptest::collection::vec(sack_block(), 0..=MAX_SACK_BLOCKS),
    ) {
        for block in extra {
            options.push_sack(block);
        }
        let len = options.len();
        prop_assert!(len <= 40);
        let mut out = [0u8; 40];
        prop_assert_eq!(options.emit(&mut out), Ok(len));
        let parsed = TcpOptions::parse(&out[..len]).unwrap();
        let kept = options.emitted_sack_count();
        prop_assert_eq!(parsed.sack_blocks(), &options.sack_blocks()[..kept]);
        // Whatever else is there, at least two blocks always fit.
        prop_assert!(kept == options.sack_blocks().len() || kept >= 2);
    }

    #[test]
    fn parse_arbitrary_bytes_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..100),
        src in address(),
        dst in address(),
        verify: bool,
    ) {
        let mode = ChecksumMode { verify_rx: verify, compute_tx: true };
        let unchecked = TcpPacket::new_unchecked(&bytes[..]);
        touch_all(&unchecked, &src, &dst);
        let _ = TcpRepr::parse(&unchecked, &src, &dst, mode);
        if let Ok(packet) = TcpPacket::new_checked(&bytes[..]) {
            touch_all(&packet, &src, &dst);
            prop_assert!(packet.header_len() >= HEADER_LEN);
            prop_assert!(packet.header_len() <= bytes.len());
            if let Ok(repr) = TcpRepr::parse(&packet, &src, &dst, mode) {
                // What parsed can be emitted again, and that parses the same
                // (unknown options and padding aside; SACK blocks that no
                // longer fit beside the re-laid-out options are cut).
                let mut out = vec![0u8; repr.buffer_len()];
                repr.emit(&mut TcpPacket::new_unchecked(&mut out[..]), &src, &dst, CHECKED)
                    .unwrap();
                let again = TcpRepr::parse(&TcpPacket::new_checked(&out[..]).unwrap(), &src, &dst, CHECKED)
                    .unwrap();
                if repr.options.emitted_sack_count() == repr.options.sack_blocks().len() {
                    prop_assert_eq!(again, repr);
                }
            }
        }
    }

    #[test]
    fn parse_segments_with_option_soup_never_panics(
        options in option_soup(),
        header in any::<[u8; HEADER_LEN]>(),
        payload in proptest::collection::vec(any::<u8>(), 0..16),
        src in address(),
        dst in address(),
    ) {
        let mut bytes = header.to_vec();
        let options = &options[..options.len().min(40)];
        bytes.extend_from_slice(options);
        bytes.resize(HEADER_LEN + options.len().div_ceil(4) * 4, 0);
        let header_len = bytes.len();
        bytes.extend_from_slice(&payload);
        let mut packet = TcpPacket::new_unchecked(&mut bytes[..]);
        packet.set_header_len(header_len);
        packet.fill_checksum(&src, &dst);
        let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
        let parsed = TcpRepr::parse(&packet, &src, &dst, CHECKED);
        prop_assert_eq!(parsed.map(|r| r.options), TcpOptions::parse(packet.options()));
    }

    #[test]
    fn options_parse_arbitrary_bytes_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        if let Ok(options) = TcpOptions::parse(&bytes) {
            prop_assert!(usize::from(options.sack_count) <= MAX_SACK_BLOCKS);
            prop_assert_eq!(options.sack_blocks().len(), usize::from(options.sack_count));
        }
    }

    #[test]
    fn options_parse_soup_never_panics(bytes in option_soup()) {
        if let Ok(options) = TcpOptions::parse(&bytes) {
            prop_assert!(usize::from(options.sack_count) <= MAX_SACK_BLOCKS);
            let mut out = [0u8; 40];
            prop_assert_eq!(options.emit(&mut out), Ok(options.len()));
        }
    }

    #[test]
    fn corrupted_segment_fails_checksum_or_parses(
        (mut repr, payload) in repr_parts(),
        src in address(),
        dst in address(),
        flips in proptest::collection::vec((any::<usize>(), 1u8..=255), 1..4),
    ) {
        repr.payload = &payload;
        let mut buffer = vec![0u8; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut buffer[..]), &src, &dst, CHECKED)
            .unwrap();
        for (at, mask) in &flips {
            let at = at % buffer.len();
            buffer[at] ^= mask;
        }
        let unchecked = TcpPacket::new_unchecked(&buffer[..]);
        touch_all(&unchecked, &src, &dst);
        let parsed = TcpRepr::parse(&unchecked, &src, &dst, CHECKED);
        // One corrupted byte changes one 16-bit word by less than 0xffff:
        // the checksum always catches it (RFC 1071 §2). Several flips may
        // cancel out, so then only the absence of panics is checked.
        if flips.len() == 1 {
            prop_assert!(parsed.is_err());
        }
        if let Ok(parsed) = parsed {
            let mut out = vec![0u8; parsed.buffer_len()];
            prop_assert!(parsed
                .emit(&mut TcpPacket::new_unchecked(&mut out[..]), &src, &dst, CHECKED)
                .is_ok());
        }
    }
}
