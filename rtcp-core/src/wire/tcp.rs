//! TCP header (RFC 9293 §3.1) and options: EOL, NOP, MSS, window scale and
//! timestamps (RFC 7323), SACK-permitted and SACK (RFC 2018).
//!
//! [`TcpPacket`] is a checked view over the bytes of one segment (the IPv4
//! payload, bounded by the IPv4 total length); [`TcpRepr`] is what the segment
//! means. Parsing is purely syntactic: flag combinations, port 0, MSS on a
//! non-SYN and the like are passed through for the engine to judge.
//!
//! Options are emitted in the order and layout Linux uses
//! (`tcp_options_write`), every group 4-byte aligned with NOPs:
//!
//! ```text
//! MSS                 02 04 mm mm
//! SACK-perm + TS      04 02 08 0a vvvvvvvv eeeeeeee     (NOP NOP 08 0a ... without SACK-perm)
//! SACK-perm alone     01 01 04 02
//! window scale        01 03 03 ss
//! SACK                01 01 05 len  left right ...
//! ```
//!
//! so a Linux SYN re-emits byte for byte.

use super::{ChecksumMode, Error, Ipv4Address, Result, SeqNumber};

/// TCP header flags (the low 8 bits of the flags field).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// SYN
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// RST
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// PSH
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// ACK
    pub const ACK: TcpFlags = TcpFlags(0x10);
    /// URG
    pub const URG: TcpFlags = TcpFlags(0x20);
    /// ECE (RFC 3168)
    pub const ECE: TcpFlags = TcpFlags(0x40);
    /// CWR (RFC 3168)
    pub const CWR: TcpFlags = TcpFlags(0x80);
    /// No flag set.
    pub const NONE: TcpFlags = TcpFlags(0);

    /// All of `other`'s flags are set in `self`.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// FIN set.
    pub const fn fin(self) -> bool {
        self.0 & 0x01 != 0
    }
    /// SYN set.
    pub const fn syn(self) -> bool {
        self.0 & 0x02 != 0
    }
    /// RST set.
    pub const fn rst(self) -> bool {
        self.0 & 0x04 != 0
    }
    /// PSH set.
    pub const fn psh(self) -> bool {
        self.0 & 0x08 != 0
    }
    /// ACK set.
    pub const fn ack(self) -> bool {
        self.0 & 0x10 != 0
    }
    /// URG set.
    pub const fn urg(self) -> bool {
        self.0 & 0x20 != 0
    }
    /// ECE set (ECN-Echo, RFC 3168 §6.1).
    pub const fn ece(self) -> bool {
        self.0 & 0x40 != 0
    }
    /// CWR set (Congestion Window Reduced, RFC 3168 §6.1).
    pub const fn cwr(self) -> bool {
        self.0 & 0x80 != 0
    }
}

impl core::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl core::ops::BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, rhs: TcpFlags) {
        self.0 |= rhs.0;
    }
}

impl core::fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        const NAMES: [(u8, char); 8] = [
            (0x02, 'S'),
            (0x01, 'F'),
            (0x04, 'R'),
            (0x08, 'P'),
            (0x10, '.'),
            (0x20, 'U'),
            (0x40, 'E'),
            (0x80, 'W'),
        ];
        for (bit, c) in NAMES {
            if self.0 & bit != 0 {
                core::fmt::Write::write_char(f, c)?;
            }
        }
        Ok(())
    }
}

/// The most SACK blocks one segment can carry (RFC 2018 §3).
pub const MAX_SACK_BLOCKS: usize = 4;

/// A SACK block: `[left, right)` in sequence space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SackBlock {
    /// First sequence number of the block.
    pub left: SeqNumber,
    /// Sequence number just past the block.
    pub right: SeqNumber,
}

/// The options of a TCP segment, by meaning. Unknown options are skipped on
/// parse; emit writes the known ones (padded with NOPs to a 4-byte boundary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TcpOptions {
    /// Maximum segment size (kind 2).
    pub mss: Option<u16>,
    /// Window scale shift count (kind 3), as sent (the engine clamps to 14).
    pub window_scale: Option<u8>,
    /// SACK permitted (kind 4).
    pub sack_permitted: bool,
    /// SACK blocks (kind 5): the first `sack_count` entries are valid.
    pub sack_blocks: [SackBlock; MAX_SACK_BLOCKS],
    /// Number of valid entries in `sack_blocks` (0..=4).
    pub sack_count: u8,
    /// Timestamps (kind 8): (TSval, TSecr).
    pub timestamp: Option<(u32, u32)>,
}

/// No options. Out of line on 32-bit targets (flash: five inlined copies of
/// the 40-byte value in the firmware build).
impl Default for TcpOptions {
    #[cfg_attr(not(target_pointer_width = "32"), inline)]
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    fn default() -> TcpOptions {
        TcpOptions {
            mss: None,
            window_scale: None,
            sack_permitted: false,
            sack_blocks: [SackBlock::default(); MAX_SACK_BLOCKS],
            sack_count: 0,
            timestamp: None,
        }
    }
}

/// The minimum TCP header length.
pub const HEADER_LEN: usize = 20;
/// The maximum TCP header length (data offset 15).
pub const MAX_HEADER_LEN: usize = 60;

/// A checked view over a TCP segment.
#[derive(Debug, Clone)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

/// The meaning of a TCP segment. (`Default`: all zero, no options, no
/// payload; a place to parse into, see [`TcpRepr::parse_into`].)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TcpRepr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Flags (ECE/CWR included).
    pub flags: TcpFlags,
    /// Sequence number.
    pub seq_number: SeqNumber,
    /// Acknowledgment number (meaningful when `flags.ack()`; emitted as-is).
    pub ack_number: SeqNumber,
    /// Window field as on the wire (unscaled).
    pub window_len: u16,
    /// Urgent pointer field.
    pub urgent_pointer: u16,
    /// Options.
    pub options: TcpOptions,
    /// Payload.
    pub payload: &'a [u8],
}

// Byte offsets of the fixed header fields (RFC 9293 §3.1, figure 1).
const OFF_SRC_PORT: usize = 0;
const OFF_DST_PORT: usize = 2;
const OFF_SEQ: usize = 4;
const OFF_ACK: usize = 8;
const OFF_DATA_OFFSET: usize = 12;
const OFF_FLAGS: usize = 13;
const OFF_WINDOW: usize = 14;
const OFF_CHECKSUM: usize = 16;
const OFF_URGENT: usize = 18;

/// The most option bytes a header can carry (data offset 15, RFC 9293 §3.1).
pub const MAX_OPTIONS_LEN: usize = MAX_HEADER_LEN - HEADER_LEN;

// Option kinds (RFC 9293 §3.2, RFC 7323 §2.2/§3.2, RFC 2018 §2/§3).
const KIND_EOL: u8 = 0;
const KIND_NOP: u8 = 1;
const KIND_MSS: u8 = 2;
const KIND_WINDOW_SCALE: u8 = 3;
const KIND_SACK_PERMITTED: u8 = 4;
const KIND_SACK: u8 = 5;
const KIND_TIMESTAMP: u8 = 8;
/// NOP, NOP, then the kind and length of a timestamps option, as one
/// big-endian word (RFC 7323 Appendix A's layout).
const NOP_NOP_TIMESTAMP: u32 = u32::from_be_bytes([KIND_NOP, KIND_NOP, KIND_TIMESTAMP, 10]);

/// IP protocol number of TCP, for the pseudo-header.
use super::checksum as sum;

/// Big-endian u16 at `at`, or 0 when the buffer is too short (possible only
/// through [`TcpPacket::new_unchecked`]; never a panic).
fn read_u16(bytes: &[u8], at: usize) -> u16 {
    bytes
        .get(at..)
        .and_then(<[u8]>::first_chunk::<2>)
        .map_or(0, |b| u16::from_be_bytes(*b))
}

/// Big-endian u32 at `at`, or 0 when the buffer is too short.
fn read_u32(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..)
        .and_then(<[u8]>::first_chunk::<4>)
        .map_or(0, |b| u32::from_be_bytes(*b))
}

/// Writes `value` at `at`; does nothing when the buffer is too short.
fn write_bytes<const N: usize>(bytes: &mut [u8], at: usize, value: [u8; N]) {
    if let Some(dst) = bytes.get_mut(at..).and_then(<[u8]>::first_chunk_mut::<N>) {
        *dst = value;
    }
}

/// One's-complement sum of the pseudo-header and `segment` (RFC 9293 §3.1).
///
/// Every received segment is verified here. The pseudo-header is summed as
/// 32-bit numbers (2^16 is 1 modulo 2^16 - 1, RFC 1071 §2 (C)) and the
/// fixed header in straight-line code; only the options and payload go
/// through the block loop, and not at all when there are none. The parts
/// are added unfolded and folded once ([`sum::data_unfolded`]). The fixed
/// header is 20 bytes, so what follows keeps its 16-bit word alignment.
///
/// Always inlined on 64-bit hosts, where its one caller on the receive
/// path is `verify_checksum` inside `parse_into`: the call cost more than
/// the sum's setup (`BENCHMARKS.md`, "Session 16: bulk").
#[cfg_attr(target_pointer_width = "64", inline(always))]
fn segment_sum(src: &Ipv4Address, dst: &Ipv4Address, segment: &[u8]) -> u16 {
    let len = u32::try_from(segment.len()).unwrap_or(u32::MAX);
    let pseudo = u64::from(u32::from_be_bytes(src.0))
        + u64::from(u32::from_be_bytes(dst.0))
        + u64::from(u8::from(super::IpProtocol::Tcp))
        + u64::from(len);
    let acc = match segment.split_first_chunk::<HEADER_LEN>() {
        Some((fixed, rest)) => {
            // The same five-word sum as an IPv4 header's (below 2^43 on
            // 64-bit hosts; 32-bit targets keep the folded one, flash).
            let fixed = if cfg!(target_pointer_width = "64") {
                sum::header_unfolded(fixed)
            } else {
                u64::from(sum::ipv4_header(fixed))
            };
            let acc = pseudo + fixed;
            if rest.is_empty() {
                acc
            } else {
                add_part(acc, sum::data_unfolded(rest))
            }
        }
        None => pseudo + u64::from(sum::data(segment)),
    };
    sum::fold(acc)
}

/// `acc + part` for a `part` from [`sum::data_unfolded`], which may be any
/// 64-bit number on 64-bit hosts (the carry out is added back in,
/// [`sum::add`]); on 32-bit targets it is a folded 16-bit sum and `acc` is
/// far below 2^63, so the plain add cannot overflow (and costs no flash).
#[inline(always)]
fn add_part(acc: u64, part: u64) -> u64 {
    if cfg!(target_pointer_width = "64") {
        sum::add(acc, part)
    } else {
        acc + part
    }
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Wraps a buffer without checking its length. Getters on a short buffer
    /// return zeros or empty slices rather than panic; use
    /// [`new_checked`](Self::new_checked) unless the buffer is known good.
    pub const fn new_unchecked(buffer: T) -> TcpPacket<T> {
        TcpPacket { buffer }
    }

    /// Wraps a buffer holding exactly one segment (the IPv4 payload), after
    /// [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<TcpPacket<T>> {
        let packet = TcpPacket::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the fixed header and the whole header the
    /// data offset claims (RFC 9293 §3.1): `Truncated` when the buffer is
    /// shorter, `Malformed` when the data offset is below 5.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let header_len = self.header_len();
        if header_len < HEADER_LEN {
            Err(Error::Malformed)
        } else if header_len > len {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), OFF_SRC_PORT)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), OFF_DST_PORT)
    }

    /// Sequence number.
    pub fn seq_number(&self) -> SeqNumber {
        SeqNumber(read_u32(self.buffer.as_ref(), OFF_SEQ))
    }

    /// Acknowledgment number (meaningful only with ACK set).
    pub fn ack_number(&self) -> SeqNumber {
        SeqNumber(read_u32(self.buffer.as_ref(), OFF_ACK))
    }

    /// Header length in bytes: the data offset field times four (20..=60
    /// in a checked packet).
    pub fn header_len(&self) -> usize {
        let offset = self.buffer.as_ref().get(OFF_DATA_OFFSET).copied();
        usize::from(offset.unwrap_or(0) >> 4) * 4
    }

    /// The four reserved bits after the data offset (RFC 9293 §3.1: must be
    /// zero on send, ignored on receive; the lowest was RFC 3540's NS bit).
    pub fn reserved(&self) -> u8 {
        self.buffer
            .as_ref()
            .get(OFF_DATA_OFFSET)
            .map_or(0, |b| b & 0x0f)
    }

    /// Control bits, CWR and ECE included (RFC 9293 §3.1, RFC 3168 §6.1).
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(self.buffer.as_ref().get(OFF_FLAGS).copied().unwrap_or(0))
    }

    /// Window field as on the wire (unscaled).
    pub fn window_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), OFF_WINDOW)
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), OFF_CHECKSUM)
    }

    /// Urgent pointer field.
    pub fn urgent_pointer(&self) -> u16 {
        read_u16(self.buffer.as_ref(), OFF_URGENT)
    }

    /// The option bytes, between the fixed header and the data offset.
    pub fn options(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(HEADER_LEN..self.header_len())
            .unwrap_or(&[])
    }

    /// The payload: everything after the header.
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(self.header_len()..).unwrap_or(&[])
    }

    /// Whether the checksum over the IPv4 pseudo-header and the whole buffer
    /// verifies (RFC 9293 §3.1). The buffer must be exactly the segment.
    pub fn verify_checksum(&self, src_addr: &Ipv4Address, dst_addr: &Ipv4Address) -> bool {
        segment_sum(src_addr, dst_addr, self.buffer.as_ref()) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, port: u16) {
        write_bytes(self.buffer.as_mut(), OFF_SRC_PORT, port.to_be_bytes());
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, port: u16) {
        write_bytes(self.buffer.as_mut(), OFF_DST_PORT, port.to_be_bytes());
    }

    /// Sets the sequence number.
    pub fn set_seq_number(&mut self, seq: SeqNumber) {
        write_bytes(self.buffer.as_mut(), OFF_SEQ, seq.0.to_be_bytes());
    }

    /// Sets the acknowledgment number.
    pub fn set_ack_number(&mut self, ack: SeqNumber) {
        write_bytes(self.buffer.as_mut(), OFF_ACK, ack.0.to_be_bytes());
    }

    /// Sets the data offset to `len / 4` (saturating at 15) and clears the
    /// reserved bits (RFC 9293 §3.1). `len` should be a multiple of 4 in 20..=60.
    pub fn set_header_len(&mut self, len: usize) {
        let words = u8::try_from(len / 4).unwrap_or(15).min(15);
        write_bytes(self.buffer.as_mut(), OFF_DATA_OFFSET, [words << 4]);
    }

    /// Sets the control bits.
    pub fn set_flags(&mut self, flags: TcpFlags) {
        write_bytes(self.buffer.as_mut(), OFF_FLAGS, [flags.0]);
    }

    /// Sets the window field (already scaled down by the sender's shift).
    pub fn set_window_len(&mut self, window: u16) {
        write_bytes(self.buffer.as_mut(), OFF_WINDOW, window.to_be_bytes());
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, checksum: u16) {
        write_bytes(self.buffer.as_mut(), OFF_CHECKSUM, checksum.to_be_bytes());
    }

    /// Sets the urgent pointer field.
    pub fn set_urgent_pointer(&mut self, pointer: u16) {
        write_bytes(self.buffer.as_mut(), OFF_URGENT, pointer.to_be_bytes());
    }

    /// The option bytes, mutable (bounded by the current data offset).
    pub fn options_mut(&mut self) -> &mut [u8] {
        let header_len = self.header_len();
        self.buffer
            .as_mut()
            .get_mut(HEADER_LEN..header_len)
            .unwrap_or(&mut [])
    }

    /// The payload, mutable (everything after the current data offset).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let header_len = self.header_len();
        self.buffer
            .as_mut()
            .get_mut(header_len..)
            .unwrap_or(&mut [])
    }

    /// Computes and stores the checksum over the IPv4 pseudo-header and the
    /// whole buffer (RFC 9293 §3.1). The buffer must be exactly the segment.
    pub fn fill_checksum(&mut self, src_addr: &Ipv4Address, dst_addr: &Ipv4Address) {
        self.set_checksum(0);
        let sum = segment_sum(src_addr, dst_addr, self.buffer.as_ref());
        self.set_checksum(!sum);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for TcpPacket<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// Bounds-checked sequential writer for emitting options.
struct OptionWriter<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl OptionWriter<'_> {
    // Left to the compiler on every target: forced out of line on 32-bit
    // ones (session 16) it cost 84 B of flash by session 17 (issue 9).
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        let end = self
            .pos
            .checked_add(bytes.len())
            .ok_or(Error::BufferTooSmall)?;
        let dst = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(Error::BufferTooSmall)?;
        dst.copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }
}

/// NOP, NOP and a timestamp option (RFC 7323 Appendix A's layout): the
/// options of every segment of a timestamped connection with nothing to
/// SACK, as 12 bytes to store at once.
#[inline]
fn nop_nop_timestamp(tsval: u32, tsecr: u32) -> [u8; 12] {
    let [v0, v1, v2, v3] = tsval.to_be_bytes();
    let [e0, e1, e2, e3] = tsecr.to_be_bytes();
    [
        KIND_NOP,
        KIND_NOP,
        KIND_TIMESTAMP,
        10,
        v0,
        v1,
        v2,
        v3,
        e0,
        e1,
        e2,
        e3,
    ]
}

impl TcpOptions {
    /// Parses the option bytes of a header (RFC 9293 §3.2).
    ///
    /// EOL ends the list (the rest is padding); NOP is skipped; unknown kinds
    /// are skipped by their length. `Error::BadOption` when a length byte is
    /// missing, below 2, runs past the options, or is wrong for a known kind:
    /// MSS 4 (RFC 9293 §3.2), window scale 3 (RFC 7323 §2.2), SACK-permitted 2
    /// (RFC 2018 §2), SACK 2 + 8n with 1 <= n <= 4 (RFC 2018 §3), timestamps
    /// 10 (RFC 7323 §3.2). An illegal length is an error, never a misread
    /// (RFC 9293 §3.2, MUST-7). When a kind repeats, the last one wins. Whether an
    /// option belongs on this segment (MSS only on SYN, ...) is for the
    /// engine to decide.
    pub fn parse(bytes: &[u8]) -> Result<TcpOptions> {
        let mut options = TcpOptions::default();
        TcpOptions::parse_into::<true>(bytes, &mut options)?;
        Ok(options)
    }

    /// [`parse`](Self::parse) into `options`, which holds the defaults.
    /// Inlined, and writing in place, so that a segment's options are
    /// parsed where the segment keeps them: a returned `TcpOptions` copied
    /// in cost a store-forwarding stall on every segment.
    ///
    /// `BLOCKS` false: SACK options are checked as always but their blocks
    /// are not stored (`sack_count` is, with zero blocks); see
    /// [`TcpRepr::parse_ingress`].
    #[inline]
    fn parse_into<const BLOCKS: bool>(bytes: &[u8], options: &mut TcpOptions) -> Result<()> {
        // RFC 7323 Appendix A's layout, NOP NOP TS: what every segment of a
        // connection with timestamps and no SACK blocks carries. One compare
        // recognises it (header prediction's half of option parsing).
        // Not on 32-bit targets, where the general walk reads the same
        // (flash, issue 9).
        #[cfg(not(target_pointer_width = "32"))]
        if let Ok([KIND_NOP, KIND_NOP, KIND_TIMESTAMP, 10, value @ ..]) =
            <[u8; 12]>::try_from(bytes)
        {
            options.timestamp = Some((read_u32(&value, 0), read_u32(&value, 4)));
            return Ok(());
        }
        if !bytes.is_empty() {
            *options = TcpOptions::parse_general::<BLOCKS>(bytes)?;
        }
        Ok(())
    }

    /// [`parse`](Self::parse) for any layout, out of line.
    #[inline(never)]
    fn parse_general<const BLOCKS: bool>(bytes: &[u8]) -> Result<TcpOptions> {
        let mut options = TcpOptions::default();
        // The SYN layout Linux sends, and `emit` too (MSS, SACK-permitted,
        // timestamps, window scale): every option of a connection's first
        // two segments, recognised in one compare instead of the walk below
        // (issue 9: about fifty instructions per SYN). Not on 32-bit
        // targets: there this and `emit_general`'s shortcut cost about
        // 350 bytes of flash together (`footprint/measure.sh`).
        #[cfg(not(target_pointer_width = "32"))]
        if let Ok(
            [KIND_MSS, 4, m0, m1, KIND_SACK_PERMITTED, 2, KIND_TIMESTAMP, 10, v0, v1, v2, v3, e0, e1, e2, e3, KIND_NOP, KIND_WINDOW_SCALE, 3, shift],
        ) = <[u8; 20]>::try_from(bytes)
        {
            options.mss = Some(u16::from_be_bytes([m0, m1]));
            options.sack_permitted = true;
            options.timestamp = Some((
                u32::from_be_bytes([v0, v1, v2, v3]),
                u32::from_be_bytes([e0, e1, e2, e3]),
            ));
            options.window_scale = Some(shift);
            return Ok(options);
        }
        // The same without window scale: our SYN-ACK when neither side
        // scales (`syn_options`).
        #[cfg(not(target_pointer_width = "32"))]
        if let Ok(
            [KIND_MSS, 4, m0, m1, KIND_SACK_PERMITTED, 2, KIND_TIMESTAMP, 10, v0, v1, v2, v3, e0, e1, e2, e3],
        ) = <[u8; 16]>::try_from(bytes)
        {
            options.mss = Some(u16::from_be_bytes([m0, m1]));
            options.sack_permitted = true;
            options.timestamp = Some((
                u32::from_be_bytes([v0, v1, v2, v3]),
                u32::from_be_bytes([e0, e1, e2, e3]),
            ));
            return Ok(options);
        }
        let mut rest = bytes;
        while let Some((&kind, after_kind)) = rest.split_first() {
            match kind {
                KIND_EOL => break,
                KIND_NOP => {
                    rest = after_kind;
                    continue;
                }
                _ => {}
            }
            // Every other kind is kind, length, data (RFC 9293 §3.2 case 2),
            // the length counting the kind and length bytes.
            let len = usize::from(*after_kind.first().ok_or(Error::BadOption)?);
            if len < 2 {
                return Err(Error::BadOption);
            }
            let (option, tail) = rest.split_at_checked(len).ok_or(Error::BadOption)?;
            let body = option.get(2..).ok_or(Error::BadOption)?;
            match kind {
                KIND_MSS => {
                    let value = <[u8; 2]>::try_from(body).map_err(|_| Error::BadOption)?;
                    options.mss = Some(u16::from_be_bytes(value));
                }
                KIND_WINDOW_SCALE => {
                    let [shift] = <[u8; 1]>::try_from(body).map_err(|_| Error::BadOption)?;
                    options.window_scale = Some(shift);
                }
                KIND_SACK_PERMITTED => {
                    if !body.is_empty() {
                        return Err(Error::BadOption);
                    }
                    options.sack_permitted = true;
                }
                KIND_SACK => {
                    let count = body.len() / 8;
                    if body.len() % 8 != 0 || count == 0 || count > MAX_SACK_BLOCKS {
                        return Err(Error::BadOption);
                    }
                    if !BLOCKS {
                        // The count alone (the engine's duplicate-ACK
                        // test reads it, RFC 6675 §2); the blocks are
                        // never read (`parse_ingress`).
                        options.sack_count = count as u8;
                        rest = tail;
                        continue;
                    }
                    options.sack_blocks = [SackBlock::default(); MAX_SACK_BLOCKS];
                    options.sack_count = 0;
                    for edges in body.chunks_exact(8) {
                        let block = SackBlock {
                            left: SeqNumber(read_u32(edges, 0)),
                            right: SeqNumber(read_u32(edges, 4)),
                        };
                        options.push_sack(block);
                    }
                }
                KIND_TIMESTAMP => {
                    let value = <[u8; 8]>::try_from(body).map_err(|_| Error::BadOption)?;
                    options.timestamp = Some((read_u32(&value, 0), read_u32(&value, 4)));
                }
                // RFC 9293 §3.2 (MUST-6): ignore an option not implemented,
                // given that it has a length field.
                _ => {}
            }
            rest = tail;
        }
        Ok(options)
    }

    /// The valid SACK blocks (the first `sack_count`, at most four).
    pub fn sack_blocks(&self) -> &[SackBlock] {
        let count = usize::from(self.sack_count).min(MAX_SACK_BLOCKS);
        self.sack_blocks.get(..count).unwrap_or(&[])
    }

    /// Appends a SACK block; `false` (and nothing changes) when four are
    /// already held.
    pub fn push_sack(&mut self, block: SackBlock) -> bool {
        let count = usize::from(self.sack_count);
        match self.sack_blocks.get_mut(count) {
            Some(slot) => {
                *slot = block;
                self.sack_count += 1;
                true
            }
            None => false,
        }
    }

    /// Bytes the options other than SACK take when emitted.
    fn len_without_sack(&self) -> usize {
        let mut len = 0;
        if self.mss.is_some() {
            len += 4;
        }
        if self.timestamp.is_some() {
            // SACK-permitted rides in the two bytes of padding before TS.
            len += 12;
        } else if self.sack_permitted {
            len += 4;
        }
        if self.window_scale.is_some() {
            len += 4;
        }
        len
    }

    /// How many SACK blocks [`emit`](Self::emit) writes: all of
    /// [`sack_blocks`](Self::sack_blocks) that fit in the 40 option bytes
    /// after the other options, the first ones first. With timestamps that
    /// is at most three (RFC 2018 §3); the rest are silently left out, the
    /// engine putting the most important block first (RFC 2018 §4).
    pub fn emitted_sack_count(&self) -> usize {
        self.layout().1
    }

    /// The length of the options other than SACK, and how many SACK blocks
    /// fit after them. Out of line on 32-bit targets (flash, issue 9: the
    /// SACK count alone out of line left `len` a second copy of the other
    /// options' length; 20 B).
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    fn layout(&self) -> (usize, usize) {
        let len = self.len_without_sack();
        let room = MAX_OPTIONS_LEN.saturating_sub(len);
        // NOP NOP kind length, then 8 bytes per block.
        let fit = room.saturating_sub(4) / 8;
        (len, self.sack_blocks().len().min(fit))
    }

    /// Length of the emitted options in bytes: a multiple of 4, at most 40.
    pub fn len(&self) -> usize {
        // The common case first, on hosts; on 32-bit targets the general
        // sum below gives the same 12 (flash, issue 9).
        #[cfg(not(target_pointer_width = "32"))]
        if self.at_most_timestamps() {
            // NOP NOP TS, or nothing (a connection without timestamps).
            return if self.timestamp.is_some() { 12 } else { 0 };
        }
        let (len, sack) = self.layout();
        let sack_len = if sack == 0 { 0 } else { 4 + 8 * sack };
        len + sack_len
    }

    /// No option would be emitted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the options into `out` in Linux's order and layout (see the
    /// module docs) and returns the length written, [`len`](Self::len).
    /// `Error::BufferTooSmall` when `out` is shorter; nothing past
    /// `len()` is touched.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize> {
        // Not on 32-bit targets, where `emit_general` writes the same
        // bytes (flash, issue 9).
        #[cfg(not(target_pointer_width = "32"))]
        if self.at_most_timestamps() {
            let Some((tsval, tsecr)) = self.timestamp else {
                // No option at all: every segment after the SYN of a
                // connection without timestamps (RFC 7323 is optional).
                return Ok(0);
            };
            // Every segment of an established connection with timestamps
            // and nothing to SACK: RFC 7323 Appendix A's NOP NOP TS, in one
            // store.
            let dst = out.get_mut(..12).ok_or(Error::BufferTooSmall)?;
            dst.copy_from_slice(&nop_nop_timestamp(tsval, tsecr));
            return Ok(12);
        }
        self.emit_general(out)
    }

    /// No option but perhaps timestamps: the options of every segment
    /// after the handshake while there is nothing to SACK. One test for
    /// `len`, `emit` and `only_timestamp`.
    #[inline(always)]
    fn at_most_timestamps(&self) -> bool {
        self.mss.is_none()
            && self.window_scale.is_none()
            && !self.sack_permitted
            && self.sack_count == 0
    }

    /// The timestamp values when they are the only option held.
    #[inline]
    fn only_timestamp(&self) -> Option<(u32, u32)> {
        if self.at_most_timestamps() {
            self.timestamp
        } else {
            None
        }
    }

    /// [`emit`](Self::emit) for any set of options.
    fn emit_general(&self, out: &mut [u8]) -> Result<usize> {
        // Not on 32-bit targets (flash; see `parse_general`).
        #[cfg(not(target_pointer_width = "32"))]
        if let (Some(mss), Some((tsval, tsecr)), true, 0) = (
            self.mss,
            self.timestamp,
            self.sack_permitted,
            self.sack_count,
        ) {
            // A SYN with every option we offer, or a SYN-ACK with all but
            // window scaling (offered back only when a side scales), in
            // the layout the general case below writes, in one store
            // (issue 9: about fifty instructions per SYN).
            let [m0, m1] = mss.to_be_bytes();
            let [v0, v1, v2, v3] = tsval.to_be_bytes();
            let [e0, e1, e2, e3] = tsecr.to_be_bytes();
            let head = [
                KIND_MSS,
                4,
                m0,
                m1,
                KIND_SACK_PERMITTED,
                2,
                KIND_TIMESTAMP,
                10,
                v0,
                v1,
                v2,
                v3,
                e0,
                e1,
                e2,
                e3,
            ];
            let Some(shift) = self.window_scale else {
                let dst = out.first_chunk_mut::<16>().ok_or(Error::BufferTooSmall)?;
                *dst = head;
                return Ok(16);
            };
            let dst = out.first_chunk_mut::<20>().ok_or(Error::BufferTooSmall)?;
            let (first, ws) = dst
                .split_first_chunk_mut::<16>()
                .ok_or(Error::BufferTooSmall)?;
            *first = head;
            let ws = ws.first_chunk_mut::<4>().ok_or(Error::BufferTooSmall)?;
            *ws = [KIND_NOP, KIND_WINDOW_SCALE, 3, shift];
            return Ok(20);
        }
        let len = self.len();
        let buf = out.get_mut(..len).ok_or(Error::BufferTooSmall)?;
        let mut w = OptionWriter { buf, pos: 0 };
        if let Some(mss) = self.mss {
            let [hi, lo] = mss.to_be_bytes();
            w.put(&[KIND_MSS, 4, hi, lo])?;
        }
        if let Some((tsval, tsecr)) = self.timestamp {
            if self.sack_permitted {
                w.put(&[KIND_SACK_PERMITTED, 2, KIND_TIMESTAMP, 10])?;
            } else {
                w.put(&[KIND_NOP, KIND_NOP, KIND_TIMESTAMP, 10])?;
            }
            w.put(&tsval.to_be_bytes())?;
            w.put(&tsecr.to_be_bytes())?;
        } else if self.sack_permitted {
            w.put(&[KIND_NOP, KIND_NOP, KIND_SACK_PERMITTED, 2])?;
        }
        if let Some(shift) = self.window_scale {
            w.put(&[KIND_NOP, KIND_WINDOW_SCALE, 3, shift])?;
        }
        let count = self.emitted_sack_count();
        if count > 0 {
            // count <= 4, so the length (at most 34) fits in a byte.
            let option_len = (2 + 8 * count) as u8;
            w.put(&[KIND_NOP, KIND_NOP, KIND_SACK, option_len])?;
            for block in self.sack_blocks().iter().take(count) {
                w.put(&block.left.0.to_be_bytes())?;
                w.put(&block.right.0.to_be_bytes())?;
            }
        }
        Ok(w.pos)
    }
}

impl<'a> TcpRepr<'a> {
    /// Parses a segment (RFC 9293 §3.1): header fields, options and payload.
    ///
    /// The packet's buffer must be exactly the segment (the IPv4 payload), as
    /// the checksum covers all of it. Errors: `Truncated`/`Malformed` from
    /// [`TcpPacket::check_len`], `Checksum` when `checksum.verify_rx` and the
    /// checksum over the pseudo-header fails, `BadOption` from
    /// [`TcpOptions::parse`]. The checksum is checked before the options.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &TcpPacket<&'a T>,
        src_addr: &Ipv4Address,
        dst_addr: &Ipv4Address,
        checksum: ChecksumMode,
    ) -> Result<TcpRepr<'a>> {
        let mut repr = TcpRepr::default();
        Self::parse_into(packet, src_addr, dst_addr, checksum, &mut repr)?;
        Ok(repr)
    }

    /// [`parse`](Self::parse) into `repr`, in place: same checks in the
    /// same order, same errors; on error `repr` may hold part of the
    /// segment. The interface parses every received segment this way.
    /// Returned by value inside a `Result`, the segment was built field by
    /// field (narrow stores) and then copied out wholesale (wide loads): a
    /// failed store-to-load forward on every segment, the hottest
    /// instruction of the bulk benchmark's receive path
    /// (`rtcp-compare/perfprof.sh`).
    ///
    /// ```
    /// use rtcp_core::wire::{ChecksumMode, Ipv4Address, TcpPacket, TcpRepr};
    /// // A bare SYN from port 7 to port 80 (checksum not verified here).
    /// let bytes = [0u8, 7, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0];
    /// let packet = TcpPacket::new_checked(&bytes[..]).unwrap();
    /// let (src, dst) = (Ipv4Address::new(10, 0, 0, 1), Ipv4Address::new(10, 0, 0, 2));
    /// let mode = ChecksumMode { verify_rx: false, compute_tx: true };
    /// let mut seg = TcpRepr::default();
    /// TcpRepr::parse_into(&packet, &src, &dst, mode, &mut seg).unwrap();
    /// assert_eq!((seg.src_port, seg.dst_port), (7, 80));
    /// assert!(seg.flags.syn());
    /// ```
    pub fn parse_into<T: AsRef<[u8]> + ?Sized>(
        packet: &TcpPacket<&'a T>,
        src_addr: &Ipv4Address,
        dst_addr: &Ipv4Address,
        checksum: ChecksumMode,
        repr: &mut TcpRepr<'a>,
    ) -> Result<()> {
        Self::parse_with::<true, T>(packet, src_addr, dst_addr, checksum, repr)
    }

    /// [`parse_into`](Self::parse_into) for the interface's ingress path:
    /// the same checks, errors and fields, but without the `sack` feature
    /// the blocks of a SACK option are not stored (the option's length is
    /// still checked, RFC 2018 §3, so a malformed one is still an error,
    /// RFC 9293 §3.2 MUST-7). `sack_count` still says how many there were,
    /// as the duplicate-ACK test reads it (RFC 6675 §2); the blocks
    /// themselves are read only on a connection that negotiated SACK,
    /// which needs the feature. The public parsers keep every block.
    /// Storing them costs about 100 B of flash in a build without SACK
    /// (`footprint/measure.sh`).
    #[inline]
    pub(crate) fn parse_ingress<T: AsRef<[u8]> + ?Sized>(
        packet: &TcpPacket<&'a T>,
        src_addr: &Ipv4Address,
        dst_addr: &Ipv4Address,
        checksum: ChecksumMode,
        repr: &mut TcpRepr<'a>,
    ) -> Result<()> {
        Self::parse_with::<{ cfg!(feature = "sack") }, T>(
            packet, src_addr, dst_addr, checksum, repr,
        )
    }

    #[inline]
    fn parse_with<const BLOCKS: bool, T: AsRef<[u8]> + ?Sized>(
        packet: &TcpPacket<&'a T>,
        src_addr: &Ipv4Address,
        dst_addr: &Ipv4Address,
        checksum: ChecksumMode,
        repr: &mut TcpRepr<'a>,
    ) -> Result<()> {
        packet.check_len()?;
        if checksum.verify_rx && !packet.verify_checksum(src_addr, dst_addr) {
            return Err(Error::Checksum);
        }
        let buffer: &'a T = packet.buffer;
        repr.payload = buffer
            .as_ref()
            .get(packet.header_len()..)
            .ok_or(Error::Truncated)?;
        repr.src_port = packet.src_port();
        repr.dst_port = packet.dst_port();
        repr.flags = packet.flags();
        repr.seq_number = packet.seq_number();
        repr.ack_number = packet.ack_number();
        repr.window_len = packet.window_len();
        repr.urgent_pointer = packet.urgent_pointer();
        repr.options = TcpOptions::default();
        TcpOptions::parse_into::<BLOCKS>(packet.options(), &mut repr.options)
    }

    /// Header length when emitted: 20 plus the options' [`len`](TcpOptions::len).
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options.len()
    }

    /// Bytes [`emit`](Self::emit) writes: header plus payload.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// Sequence space the segment occupies, SEG.LEN (RFC 9293 §3.3.1):
    /// payload plus one for SYN and one for FIN.
    pub fn segment_len(&self) -> usize {
        self.payload.len() + usize::from(self.flags.syn()) + usize::from(self.flags.fin())
    }

    /// Writes the segment into the first [`buffer_len`](Self::buffer_len)
    /// bytes of `packet`: header (reserved bits zero), options, payload, then
    /// the checksum over the pseudo-header and those bytes when
    /// `checksum.compute_tx` (else the checksum field is zero, for offload).
    /// `Error::BufferTooSmall`, with nothing written, when the buffer is
    /// shorter. Bytes past `buffer_len()` are untouched and not covered by
    /// the checksum, so hand the packet to IPv4 as `buffer_len()` long.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut TcpPacket<T>,
        src_addr: &Ipv4Address,
        dst_addr: &Ipv4Address,
        checksum: ChecksumMode,
    ) -> Result<()> {
        let options_len = self.options.len();
        let total = HEADER_LEN + options_len + self.payload.len();
        let segment = packet
            .buffer
            .as_mut()
            .get_mut(..total)
            .ok_or(Error::BufferTooSmall)?;
        self.emit_segment(segment, options_len, src_addr, dst_addr, checksum)
    }

    /// [`emit`](Self::emit) into `segment`, which is exactly the segment:
    /// `HEADER_LEN + options_len + payload.len()` bytes, `options_len`
    /// being `self.options.len()`, which the caller has already computed
    /// to size the frame (it is not free: every emitted segment used to
    /// compute it three times). `Error::BufferTooSmall`, with nothing
    /// written, when `segment` is not that long.
    ///
    /// Always inlined on 64-bit hosts: with `#[inline]` alone it stayed a
    /// call from the frame writer, and inlined the options test, the
    /// checksum setup and the length checks fold into the per-piece loop
    /// (bulk −57 Ir per KiB, about 80 a segment; connections −190,
    /// `BENCHMARKS.md` "Session 16: bulk"). 32-bit targets keep the hint
    /// only (flash).
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    #[cfg_attr(not(target_pointer_width = "64"), inline)]
    pub(crate) fn emit_segment(
        &self,
        segment: &mut [u8],
        options_len: usize,
        src_addr: &Ipv4Address,
        dst_addr: &Ipv4Address,
        checksum: ChecksumMode,
    ) -> Result<()> {
        let header_len = HEADER_LEN + options_len;
        if segment.len() != header_len + self.payload.len() {
            return Err(Error::BufferTooSmall);
        }
        // The fixed header as five 32-bit words, built in registers and
        // stored at once (one bounds check instead of one per field), with
        // a zero checksum. header_len <= 60 (options are at most 40 bytes),
        // so the data offset (words) fits in its four bits.
        let data_offset = ((header_len / 4) as u32) & 0x0f;
        let w0 = u32::from(self.src_port) << 16 | u32::from(self.dst_port);
        let w1 = self.seq_number.0;
        let w2 = self.ack_number.0;
        let w3 = data_offset << 28 | u32::from(self.flags.0) << 16 | u32::from(self.window_len);
        let w4 = u32::from(self.urgent_pointer);
        // The sum of the options when they were written from registers
        // (then only the payload is read back), or `None`.
        let mut summed = None;
        {
            let (header, payload) = segment
                .split_at_mut_checked(header_len)
                .ok_or(Error::BufferTooSmall)?;
            let (fixed, options) = header
                .split_first_chunk_mut::<HEADER_LEN>()
                .ok_or(Error::BufferTooSmall)?;
            // Not on 32-bit targets (flash).
            let only_timestamp = if cfg!(target_pointer_width = "64") {
                self.options.only_timestamp()
            } else {
                None
            };
            match only_timestamp {
                // Every segment of an established connection with
                // timestamps and nothing to SACK (RFC 7323 Appendix A's NOP
                // NOP TS): stored and summed from registers.
                Some((tsval, tsecr)) => {
                    if let Some(out) = options.first_chunk_mut::<12>() {
                        *out = nop_nop_timestamp(tsval, tsecr);
                    }
                    summed =
                        Some(u64::from(NOP_NOP_TIMESTAMP) + u64::from(tsval) + u64::from(tsecr));
                }
                None => {
                    self.options.emit(options)?;
                }
            }
            // Same length, checked above. (Most segments have no payload:
            // no call to copy nothing.)
            if self.payload.is_empty() {
            } else if let Some(out) = payload.get_mut(..self.payload.len()) {
                out.copy_from_slice(self.payload);
            }
            *fixed = super::words_be([w0, w1, w2, w3, w4]);
        }
        if checksum.compute_tx {
            // The pseudo-header (RFC 9293 §3.1) and the fixed header are
            // summed from registers, as numbers: 2^16 is 1 modulo
            // 2^16 - 1, so a 32-bit word adds the same as its two 16-bit
            // halves (RFC 1071 §2 (C)). Only the options and payload are
            // read back. The options are a multiple of 4 bytes, so the
            // payload keeps its 16-bit word alignment in that sum.
            let len = u32::try_from(segment.len()).unwrap_or(u32::MAX);
            let (rest_sum, from) = match summed {
                Some(options) => (options, header_len),
                None => (0, HEADER_LEN),
            };
            let rest = segment.get(from..).unwrap_or(&[]);
            let acc = u64::from(u32::from_be_bytes(src_addr.0))
                + u64::from(u32::from_be_bytes(dst_addr.0))
                + u64::from(u8::from(super::IpProtocol::Tcp))
                + u64::from(len)
                + u64::from(w0)
                + u64::from(w1)
                + u64::from(w2)
                + u64::from(w3)
                + u64::from(w4)
                + rest_sum;
            // The options and payload unfolded, folded once with the rest
            // (`sum::data_unfolded`).
            let acc = if rest.is_empty() {
                acc
            } else {
                add_part(acc, sum::data_unfolded(rest))
            };
            let sum = !sum::fold(acc);
            if let Some(field) = segment
                .get_mut(OFF_CHECKSUM..)
                .and_then(<[u8]>::first_chunk_mut::<2>)
            {
                *field = sum.to_be_bytes();
            }
        }
        Ok(())
    }
}

impl core::fmt::Display for TcpRepr<'_> {
    /// One line in the spirit of tcpdump: ports, flags, seq, ack, window,
    /// payload length, options.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "TCP {}>{} [{:?}] seq={} ack={} win={} len={}",
            self.src_port,
            self.dst_port,
            self.flags,
            self.seq_number,
            self.ack_number,
            self.window_len,
            self.payload.len()
        )?;
        if let Some(mss) = self.options.mss {
            write!(f, " mss={mss}")?;
        }
        if let Some(shift) = self.options.window_scale {
            write!(f, " ws={shift}")?;
        }
        if self.options.sack_permitted {
            f.write_str(" sackOK")?;
        }
        if let Some((tsval, tsecr)) = self.options.timestamp {
            write!(f, " ts={tsval}/{tsecr}")?;
        }
        for block in self.options.sack_blocks() {
            write!(f, " sack={}-{}", block.left, block.right)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod option_fast_path_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// NOP NOP TS parses as the general loop parses the same option in
        /// another order (TS, then the two NOPs), which the shortcut does
        /// not recognise.
        #[test]
        fn nop_nop_timestamp_matches_the_general_parser(tsval: u32, tsecr: u32) {
            let [v0, v1, v2, v3] = tsval.to_be_bytes();
            let [e0, e1, e2, e3] = tsecr.to_be_bytes();
            let fast = [KIND_NOP, KIND_NOP, KIND_TIMESTAMP, 10, v0, v1, v2, v3, e0, e1, e2, e3];
            let general = [KIND_TIMESTAMP, 10, v0, v1, v2, v3, e0, e1, e2, e3, KIND_NOP, KIND_NOP];
            let parsed = TcpOptions::parse(&fast).unwrap();
            prop_assert_eq!(parsed, TcpOptions::parse(&general).unwrap());
            prop_assert_eq!(parsed.timestamp, Some((tsval, tsecr)));
            // What 32-bit targets, which skip the shortcut, run instead.
            prop_assert_eq!(TcpOptions::parse_general::<true>(&fast).unwrap(), parsed);
        }

        /// The timestamp-only shortcut writes what the general writer
        /// writes, and says the same length.
        #[test]
        fn timestamp_only_emit_matches_the_general_writer(tsval: u32, tsecr: u32) {
            let options = TcpOptions { timestamp: Some((tsval, tsecr)), ..TcpOptions::default() };
            let (mut fast, mut general) = ([0u8; 40], [0u8; 40]);
            let n = options.emit(&mut fast).unwrap();
            prop_assert_eq!(n, options.emit_general(&mut general).unwrap());
            prop_assert_eq!(n, options.len());
            // The sum 32-bit targets compute instead of the shortcut's 12.
            prop_assert_eq!(n, options.len_without_sack() + options.emitted_sack_count());
            prop_assert_eq!(&fast[..], &general[..]);
            prop_assert_eq!(TcpOptions::parse(&fast[..n]).unwrap(), options);
            prop_assert!(options.emit(&mut fast[..11]).is_err());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;
    use std::vec::Vec;

    // Hand-written captures in the shape Linux 6.x sends them: IPv4 header
    // (20 bytes) then the TCP segment, both checksums correct. The client
    // is 192.168.1.10:51234, the server 93.184.216.34:80.

    // TCP checksum 0x3e8f
    const LINUX_SYN: [u8; 60] = [
        // IPv4 header
        0x45, 0x00, 0x00, 0x3c, 0x4f, 0x21, 0x40, 0x00, 0x40, 0x06, 0xf4, 0x0d, 0xc0, 0xa8, 0x01,
        0x0a, 0x5d, 0xb8, 0xd8, 0x22, // TCP header
        0xc8, 0x22, 0x00, 0x50, 0x6e, 0x1d, 0x2a, 0x3f, 0x00, 0x00, 0x00, 0x00, 0xa0, 0xc2, 0xfa,
        0xf0, 0x3e, 0x8f, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x9a, 0x3c,
        0x1b, 0x27, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
    ];
    // TCP checksum 0x81a9
    const LINUX_SYN_ACK: [u8; 60] = [
        // IPv4 header
        0x45, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x40, 0x00, 0x38, 0x06, 0x4b, 0x2f, 0x5d, 0xb8, 0xd8,
        0x22, 0xc0, 0xa8, 0x01, 0x0a, // TCP header
        0x00, 0x50, 0xc8, 0x22, 0x0b, 0xad, 0xf0, 0x0d, 0x6e, 0x1d, 0x2a, 0x40, 0xa0, 0x52, 0xfe,
        0x88, 0x81, 0xa9, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x12, 0x34,
        0xab, 0xcd, 0x9a, 0x3c, 0x1b, 0x27, 0x01, 0x03, 0x03, 0x07,
    ];
    // TCP checksum 0x645d
    const LINUX_DATA: [u8; 89] = [
        // IPv4 header
        0x45, 0x00, 0x00, 0x59, 0x4f, 0x22, 0x40, 0x00, 0x40, 0x06, 0xf3, 0xef, 0xc0, 0xa8, 0x01,
        0x0a, 0x5d, 0xb8, 0xd8, 0x22, // TCP header
        0xc8, 0x22, 0x00, 0x50, 0x6e, 0x1d, 0x2a, 0x40, 0x0b, 0xad, 0xf0, 0x0e, 0x80, 0x18, 0x01,
        0xf6, 0x64, 0x5d, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x9a, 0x3c, 0x1b, 0x40, 0x12, 0x34,
        0xab, 0xcd, 0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e,
        0x31, 0x0d, 0x0a, 0x48, 0x6f, 0x73, 0x74, 0x3a, 0x20, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c,
        0x65, 0x2e, 0x63, 0x6f, 0x6d, 0x0d, 0x0a, 0x0d, 0x0a,
    ];
    // TCP checksum 0x0281
    const LINUX_SACK: [u8; 80] = [
        // IPv4 header
        0x45, 0x00, 0x00, 0x50, 0x4f, 0x30, 0x40, 0x00, 0x40, 0x06, 0xf3, 0xea, 0xc0, 0xa8, 0x01,
        0x0a, 0x5d, 0xb8, 0xd8, 0x22, // TCP header
        0xc8, 0x22, 0x00, 0x50, 0x6e, 0x1d, 0x2a, 0x65, 0x0b, 0xad, 0xf5, 0xc4, 0xf0, 0x10, 0x01,
        0xf5, 0x02, 0x81, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x9a, 0x3c, 0x20, 0x00, 0x12, 0x34,
        0xb0, 0x00, 0x01, 0x01, 0x05, 0x1a, 0x6e, 0x1d, 0x30, 0x00, 0x6e, 0x1d, 0x35, 0xa8, 0x6e,
        0x1d, 0x40, 0x00, 0x6e, 0x1d, 0x45, 0xa8, 0x6e, 0x1d, 0x50, 0x00, 0x6e, 0x1d, 0x55, 0xa8,
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
}
