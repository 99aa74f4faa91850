//! Differential tests: `rtcp_core::wire::tcp` against `etherparse` 0.21 on
//! random valid and corrupted TCP segments. Where the two parsers' scopes
//! overlap they must agree on accept/reject, header fields and options.
//!
//! Deliberate differences (each handled explicitly below):
//!
//! 1. Unknown option kinds. etherparse's options iterator stops with
//!    `UnknownId`; rtcp skips an unknown option by its length (RFC 9293 §3.2).
//!    Options are compared up to the first unknown kind only; past it
//!    etherparse has no opinion.
//! 2. Repeated options. etherparse yields every element; `TcpOptions` keeps
//!    the last of each kind. etherparse's elements are folded last-wins.
//! 3. Checksum. etherparse computes the checksum for the caller to compare;
//!    rtcp checks that the sum over pseudo-header and segment is 0xffff,
//!    which also accepts the other one's-complement zero (0xffff stored for
//!    a computed 0x0000, RFC 1071 §1). The two are compared modulo that.
//! 4. Reserved bits. etherparse reports the lowest reserved bit as `ns`
//!    (RFC 3540, historic since RFC 8311); rtcp reports all four through
//!    `TcpPacket::reserved` and `TcpRepr` ignores them (RFC 9293 §3.1).
//! 5. Emitted layout. etherparse writes elements in the caller's order and
//!    pads with EOL; rtcp uses Linux's NOP-aligned layout. Emission is only
//!    compared by meaning (each parses the other's output the same).
//! 6. Errors. etherparse's `Len` error maps to `Error::Truncated`,
//!    `DataOffsetTooSmall` to `Error::Malformed`; any etherparse option
//!    error other than `UnknownId` maps to `Error::BadOption`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use etherparse as ep;
use proptest::prelude::*;
use rtcp_core::wire::tcp::{SackBlock, HEADER_LEN, MAX_SACK_BLOCKS};
use rtcp_core::wire::{
    ChecksumMode, Error, Ipv4Address, SeqNumber, TcpFlags, TcpOptions, TcpPacket, TcpRepr,
};

const CHECKED: ChecksumMode = ChecksumMode {
    verify_rx: true,
    compute_tx: true,
};

/// What etherparse makes of an options list, in rtcp's terms.
#[derive(Debug, PartialEq)]
enum EpOptions {
    /// Every element parsed (up to EOL or the end).
    Ok(TcpOptions),
    /// A known kind was malformed.
    Bad,
    /// An unknown kind at byte `at`; `before` is what preceded it.
    Unknown { at: usize, before: TcpOptions },
}

fn sack(left: u32, right: u32) -> SackBlock {
    SackBlock {
        left: SeqNumber(left),
        right: SeqNumber(right),
    }
}

/// Applies one etherparse element to `acc`, last of each kind wins.
fn apply(acc: &mut TcpOptions, element: &ep::TcpOptionElement) {
    use ep::TcpOptionElement::*;
    match *element {
        Noop => {}
        MaximumSegmentSize(mss) => acc.mss = Some(mss),
        WindowScale(shift) => acc.window_scale = Some(shift),
        SelectiveAcknowledgementPermitted => acc.sack_permitted = true,
        SelectiveAcknowledgement(first, rest) => {
            acc.sack_blocks = [SackBlock::default(); MAX_SACK_BLOCKS];
            acc.sack_count = 0;
            acc.push_sack(sack(first.0, first.1));
            for (left, right) in rest.into_iter().flatten() {
                acc.push_sack(sack(left, right));
            }
        }
        Timestamp(val, ecr) => acc.timestamp = Some((val, ecr)),
    }
}

fn etherparse_options(options: &[u8]) -> EpOptions {
    let mut iter = ep::TcpOptionsIterator::from_slice(options);
    let mut acc = TcpOptions::default();
    loop {
        let at = options.len() - iter.rest().len();
        match iter.next() {
            None => return EpOptions::Ok(acc),
            Some(Ok(element)) => apply(&mut acc, &element),
            Some(Err(ep::TcpOptionReadError::UnknownId(_))) => {
                return EpOptions::Unknown { at, before: acc }
            }
            Some(Err(_)) => return EpOptions::Bad,
        }
    }
}

/// The two one's-complement zeros are the same checksum.
fn same_checksum(a: u16, b: u16) -> bool {
    a == b || (a | b == 0xffff && (a == 0 || b == 0))
}

fn flags_of(h: &ep::TcpHeaderSlice<'_>) -> u8 {
    [
        h.fin(),
        h.syn(),
        h.rst(),
        h.psh(),
        h.ack(),
        h.urg(),
        h.ece(),
        h.cwr(),
    ]
    .iter()
    .enumerate()
    .map(|(bit, &set)| u8::from(set) << bit)
    .sum()
}

/// Compares both parsers on `segment`; panics (through prop_assert) on any
/// disagreement. Returns whether rtcp accepted the segment.
fn compare(segment: &[u8], src: Ipv4Address, dst: Ipv4Address) -> Result<bool, TestCaseError> {
    let ours = TcpPacket::new_checked(segment);
    let theirs = ep::TcpHeaderSlice::from_slice(segment);
    let repr = TcpRepr::parse(&TcpPacket::new_unchecked(segment), &src, &dst, CHECKED);
    let (packet, header) = match (ours, theirs) {
        (Ok(p), Ok(h)) => (p, h),
        (Err(e), Err(ep::err::tcp::HeaderSliceError::Len(_))) => {
            prop_assert_eq!(e, Error::Truncated);
            prop_assert_eq!(repr, Err(Error::Truncated));
            return Ok(false);
        }
        (Err(e), Err(ep::err::tcp::HeaderSliceError::Content(_))) => {
            prop_assert_eq!(e, Error::Malformed);
            prop_assert_eq!(repr, Err(Error::Malformed));
            return Ok(false);
        }
        (ours, theirs) => {
            return Err(TestCaseError::fail(format!(
                "header acceptance differs: rtcp {:?}, etherparse {:?}",
                ours.map(|_| ()),
                theirs.map(|_| ())
            )))
        }
    };

    // Header fields (RFC 9293 §3.1).
    prop_assert_eq!(packet.src_port(), header.source_port());
    prop_assert_eq!(packet.dst_port(), header.destination_port());
    prop_assert_eq!(packet.seq_number().0, header.sequence_number());
    prop_assert_eq!(packet.ack_number().0, header.acknowledgment_number());
    prop_assert_eq!(packet.header_len(), usize::from(header.data_offset()) * 4);
    prop_assert_eq!(packet.header_len(), header.slice().len());
    prop_assert_eq!(packet.flags(), TcpFlags(flags_of(&header)));
    prop_assert_eq!(packet.reserved() & 1 == 1, header.ns());
    prop_assert_eq!(packet.window_len(), header.window_size());
    prop_assert_eq!(packet.checksum(), header.checksum());
    prop_assert_eq!(packet.urgent_pointer(), header.urgent_pointer());
    prop_assert_eq!(packet.options(), header.options());
    prop_assert_eq!(packet.payload(), &segment[header.slice().len()..]);

    // Checksum over the IPv4 pseudo-header.
    let expected = header
        .calc_checksum_ipv4_raw(src.0, dst.0, packet.payload())
        .unwrap();
    let their_ok = same_checksum(expected, header.checksum());
    prop_assert_eq!(packet.verify_checksum(&src, &dst), their_ok);

    // Options, where the scopes overlap.
    let mine = TcpOptions::parse(packet.options());
    let options_ok = match etherparse_options(header.options()) {
        EpOptions::Ok(theirs) => {
            prop_assert_eq!(mine, Ok(theirs));
            Some(true)
        }
        EpOptions::Bad => {
            prop_assert_eq!(mine, Err(Error::BadOption));
            Some(false)
        }
        EpOptions::Unknown { at, before } => {
            prop_assert_eq!(TcpOptions::parse(&packet.options()[..at]), Ok(before));
            None
        }
    };

    // The whole parse: checksum first, then options.
    match (their_ok, options_ok) {
        (false, _) => prop_assert_eq!(repr, Err(Error::Checksum)),
        (true, Some(false)) => prop_assert_eq!(repr, Err(Error::BadOption)),
        (true, Some(true)) => prop_assert!(repr.is_ok()),
        (true, None) => prop_assert_eq!(repr.map(|r| r.options), mine),
    }
    Ok(repr.is_ok())
}

fn element() -> impl Strategy<Value = ep::TcpOptionElement> {
    use ep::TcpOptionElement::*;
    prop_oneof![
        Just(Noop),
        any::<u16>().prop_map(MaximumSegmentSize),
        any::<u8>().prop_map(WindowScale),
        Just(SelectiveAcknowledgementPermitted),
        (any::<(u32, u32)>(), 0usize..=3, any::<[(u32, u32); 3]>()).prop_map(
            |(first, extra, rest)| {
                let mut more = [None; 3];
                for (slot, block) in more.iter_mut().zip(rest).take(extra) {
                    *slot = Some(block);
                }
                SelectiveAcknowledgement(first, more)
            }
        ),
        any::<(u32, u32)>().prop_map(|(v, e)| Timestamp(v, e)),
    ]
}

fn element_len(e: &ep::TcpOptionElement) -> usize {
    use ep::TcpOptionElement::*;
    match e {
        Noop => 1,
        MaximumSegmentSize(_) => 4,
        WindowScale(_) => 3,
        SelectiveAcknowledgementPermitted => 2,
        SelectiveAcknowledgement(_, rest) => 10 + 8 * rest.iter().flatten().count(),
        Timestamp(..) => 10,
    }
}

prop_compose! {
    /// A valid segment written by etherparse: any flags, options in any
    /// order (each element in at most 40 bytes), correct checksum.
    fn etherparse_segment()(
        ports: (u16, u16),
        seq: u32,
        ack: u32,
        flags: u8,
        ns: bool,
        window: u16,
        urgent: u16,
        elements in proptest::collection::vec(element(), 0..10),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
        src: [u8; 4],
        dst: [u8; 4],
    ) -> (Vec<u8>, Ipv4Address, Ipv4Address) {
        let mut header = ep::TcpHeader::new(ports.0, ports.1, seq, window);
        header.acknowledgment_number = ack;
        header.ns = ns;
        header.fin = flags & 0x01 != 0;
        header.syn = flags & 0x02 != 0;
        header.rst = flags & 0x04 != 0;
        header.psh = flags & 0x08 != 0;
        header.ack = flags & 0x10 != 0;
        header.urg = flags & 0x20 != 0;
        header.ece = flags & 0x40 != 0;
        header.cwr = flags & 0x80 != 0;
        header.urgent_pointer = urgent;
        let mut used = 0;
        let fitting: Vec<_> = elements
            .into_iter()
            .take_while(|e| {
                used += element_len(e);
                used <= 40
            })
            .collect();
        header.set_options(&fitting).unwrap();
        header.checksum = header.calc_checksum_ipv4_raw(src, dst, &payload).unwrap();
        let mut bytes = header.to_bytes().to_vec();
        bytes.extend_from_slice(&payload);
        (bytes, Ipv4Address(src), Ipv4Address(dst))
    }
}

prop_compose! {
    /// A valid segment written by rtcp.
    fn rtcp_segment()(
        ports: (u16, u16),
        seq: u32,
        ack: u32,
        flags: u8,
        window: u16,
        urgent: u16,
        mss: Option<u16>,
        window_scale: Option<u8>,
        sack_permitted: bool,
        timestamp: Option<(u32, u32)>,
        blocks in proptest::collection::vec(any::<(u32, u32)>(), 0..=4),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
        src: [u8; 4],
        dst: [u8; 4],
    ) -> (Vec<u8>, Ipv4Address, Ipv4Address) {
        let mut options = TcpOptions { mss, window_scale, sack_permitted, timestamp, ..TcpOptions::default() };
        for (l, r) in blocks {
            options.push_sack(sack(l, r));
        }
        let repr = TcpRepr {
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
        let (src, dst) = (Ipv4Address(src), Ipv4Address(dst));
        let mut bytes = vec![0u8; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut bytes[..]), &src, &dst, CHECKED).unwrap();
        (bytes, src, dst)
    }
}

fn valid_segment() -> impl Strategy<Value = (Vec<u8>, Ipv4Address, Ipv4Address)> {
    prop_oneof![etherparse_segment(), rtcp_segment()]
}

/// Ways to damage a segment.
#[derive(Debug, Clone)]
enum Damage {
    /// XOR one byte anywhere.
    Flip(usize, u8),
    /// XOR one byte of the header (options included).
    FlipHeader(usize, u8),
    /// Overwrite an option byte (a kind or a length) with a small value.
    OptionByte(usize, u8),
    /// New data offset nibble.
    DataOffset(u8),
    /// Cut the segment short.
    Truncate(usize),
    /// Recompute the checksum after the other damage (so option damage is
    /// seen past the checksum).
    FixChecksum,
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<usize>(), 1u8..).prop_map(|(a, m)| Damage::Flip(a, m)),
        (any::<usize>(), 1u8..).prop_map(|(a, m)| Damage::FlipHeader(a, m)),
        (any::<usize>(), 0u8..40).prop_map(|(a, v)| Damage::OptionByte(a, v)),
        (0u8..16).prop_map(Damage::DataOffset),
        any::<usize>().prop_map(Damage::Truncate),
        Just(Damage::FixChecksum),
    ]
}

fn apply_damage(bytes: &mut Vec<u8>, damage: &Damage, src: &Ipv4Address, dst: &Ipv4Address) {
    if bytes.is_empty() {
        return;
    }
    let header_len = (usize::from(bytes.get(12).copied().unwrap_or(0x50) >> 4) * 4)
        .clamp(HEADER_LEN, bytes.len().max(HEADER_LEN));
    match *damage {
        Damage::Flip(at, mask) => {
            let at = at % bytes.len();
            bytes[at] ^= mask;
        }
        Damage::FlipHeader(at, mask) => {
            let at = at % header_len.min(bytes.len());
            bytes[at] ^= mask;
        }
        Damage::OptionByte(at, value) => {
            if header_len > HEADER_LEN && bytes.len() >= header_len {
                bytes[HEADER_LEN + at % (header_len - HEADER_LEN)] = value;
            }
        }
        Damage::DataOffset(nibble) => {
            if bytes.len() > 12 {
                bytes[12] = (bytes[12] & 0x0f) | (nibble << 4);
            }
        }
        Damage::Truncate(len) => {
            let len = len % (bytes.len() + 1);
            bytes.truncate(len);
        }
        Damage::FixChecksum => {
            if bytes.len() >= HEADER_LEN {
                TcpPacket::new_unchecked(&mut bytes[..]).fill_checksum(src, dst);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn valid_segments_agree((bytes, src, dst) in valid_segment()) {
        prop_assert!(compare(&bytes, src, dst)?, "a valid segment was rejected");
    }

    #[test]
    fn corrupted_segments_agree(
        (mut bytes, src, dst) in valid_segment(),
        damages in proptest::collection::vec(damage(), 1..4),
    ) {
        for d in &damages {
            apply_damage(&mut bytes, d, &src, &dst);
        }
        compare(&bytes, src, dst)?;
    }

    #[test]
    fn arbitrary_bytes_agree(
        mut bytes in proptest::collection::vec(any::<u8>(), 0..80),
        src: [u8; 4],
        dst: [u8; 4],
        fix_checksum: bool,
    ) {
        let (src, dst) = (Ipv4Address(src), Ipv4Address(dst));
        if fix_checksum {
            apply_damage(&mut bytes, &Damage::FixChecksum, &src, &dst);
        }
        compare(&bytes, src, dst)?;
    }

    #[test]
    fn option_bytes_agree(
        options in proptest::collection::vec(
            prop_oneof![
                3 => 0u8..12,
                1 => any::<u8>(),
            ],
            0..40,
        ),
    ) {
        let mine = TcpOptions::parse(&options);
        match etherparse_options(&options) {
            EpOptions::Ok(theirs) => prop_assert_eq!(mine, Ok(theirs)),
            EpOptions::Bad => prop_assert_eq!(mine, Err(Error::BadOption)),
            EpOptions::Unknown { at, before } => {
                prop_assert_eq!(TcpOptions::parse(&options[..at]), Ok(before));
            }
        }
    }
}

/// The hand-written Linux SYN from the unit tests, seen by etherparse too.
#[test]
fn linux_syn_agrees() {
    let segment: [u8; 40] = [
        0xc8, 0x22, 0x00, 0x50, 0x6e, 0x1d, 0x2a, 0x3f, 0x00, 0x00, 0x00, 0x00, 0xa0, 0xc2, 0xfa,
        0xf0, 0x3e, 0x8f, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x9a, 0x3c,
        0x1b, 0x27, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
    ];
    let src = Ipv4Address::new(192, 168, 1, 10);
    let dst = Ipv4Address::new(93, 184, 216, 34);
    assert!(compare(&segment, src, dst).unwrap());
    let header = ep::TcpHeaderSlice::from_slice(&segment).unwrap();
    assert_eq!(
        header.calc_checksum_ipv4_raw(src.0, dst.0, &[]).unwrap(),
        0x3e8f
    );
}
