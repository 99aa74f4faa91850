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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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

/// The minimum TCP header length.
pub const HEADER_LEN: usize = 20;
/// The maximum TCP header length (data offset 15).
pub const MAX_HEADER_LEN: usize = 60;

/// A checked view over a TCP segment.
#[derive(Debug, Clone)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

/// The meaning of a TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// IP protocol number of TCP, for the pseudo-header.
// TODO(merge): use IpProtocol::Tcp once `From<IpProtocol> for u8` lands.
const PROTOCOL_TCP: u8 = 6;

/// The Internet checksum (RFC 1071), kept private until `wire::checksum` lands.
// TODO(merge): use wire::checksum (same names and meanings: `data`, `combine`,
// `pseudo_header_v4`), then delete this module.
mod sum {
    use super::Ipv4Address;

    fn fold(mut acc: u64) -> u16 {
        while acc > 0xffff {
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc as u16
    }

    /// One's-complement sum of `bytes` as big-endian 16-bit words (an odd
    /// trailing byte is padded with zero), folded, not inverted.
    pub(super) fn data(bytes: &[u8]) -> u16 {
        // Summing 32-bit words and folding gives the same one's-complement
        // sum as 16-bit words (RFC 1071 §2 (B), byte-order and width independence).
        let mut acc: u64 = 0;
        let mut words = bytes.chunks_exact(4);
        for word in &mut words {
            if let Some(w) = word.first_chunk::<4>() {
                acc += u64::from(u32::from_be_bytes(*w));
            }
        }
        let mut rest = words.remainder();
        if let Some((pair, tail)) = rest.split_first_chunk::<2>() {
            acc += u64::from(u16::from_be_bytes(*pair));
            rest = tail;
        }
        if let Some(&last) = rest.first() {
            acc += u64::from(last) << 8;
        }
        fold(acc)
    }

    /// One's-complement addition of partial sums.
    pub(super) fn combine(sums: &[u16]) -> u16 {
        fold(sums.iter().map(|&s| u64::from(s)).sum())
    }

    /// Sum of the IPv4 pseudo-header (RFC 9293 §3.1): source, destination,
    /// zero, protocol, TCP length.
    pub(super) fn pseudo_header_v4(
        src: &Ipv4Address,
        dst: &Ipv4Address,
        protocol: u8,
        length: u32,
    ) -> u16 {
        combine(&[
            data(&src.0),
            data(&dst.0),
            u16::from(protocol),
            (length >> 16) as u16,
            (length & 0xffff) as u16,
        ])
    }
}

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
fn segment_sum(src: &Ipv4Address, dst: &Ipv4Address, segment: &[u8]) -> u16 {
    let len = u32::try_from(segment.len()).unwrap_or(u32::MAX);
    sum::combine(&[
        sum::pseudo_header_v4(src, dst, PROTOCOL_TCP, len),
        sum::data(segment),
    ])
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

impl TcpOptions {
    /// Parses the option bytes of a header (RFC 9293 §3.2).
    ///
    /// EOL ends the list (the rest is padding); NOP is skipped; unknown kinds
    /// are skipped by their length. `Error::BadOption` when a length byte is
    /// missing, below 2, runs past the options, or is wrong for a known kind:
    /// MSS 4 (RFC 9293 §3.2), window scale 3 (RFC 7323 §2.2), SACK-permitted 2
    /// (RFC 2018 §2), SACK 2 + 8n with 1 <= n <= 4 (RFC 2018 §3), timestamps
    /// 10 (RFC 7323 §3.2). When a kind repeats, the last one wins. Whether an
    /// option belongs on this segment (MSS only on SYN, ...) is for the
    /// engine to decide.
    pub fn parse(bytes: &[u8]) -> Result<TcpOptions> {
        let mut options = TcpOptions::default();
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
                // Unknown kinds are skipped (RFC 9293 §3.2: "must be prepared
                // to handle an illegal option length" and ignore unknown ones).
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
        let room = MAX_OPTIONS_LEN.saturating_sub(self.len_without_sack());
        // NOP NOP kind length, then 8 bytes per block.
        let fit = room.saturating_sub(4) / 8;
        self.sack_blocks().len().min(fit)
    }

    /// Length of the emitted options in bytes: a multiple of 4, at most 40.
    pub fn len(&self) -> usize {
        let sack = self.emitted_sack_count();
        let sack_len = if sack == 0 { 0 } else { 4 + 8 * sack };
        self.len_without_sack() + sack_len
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
        packet.check_len()?;
        if checksum.verify_rx && !packet.verify_checksum(src_addr, dst_addr) {
            return Err(Error::Checksum);
        }
        let options = TcpOptions::parse(packet.options())?;
        let buffer: &'a T = packet.buffer;
        let payload = buffer
            .as_ref()
            .get(packet.header_len()..)
            .ok_or(Error::Truncated)?;
        Ok(TcpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            flags: packet.flags(),
            seq_number: packet.seq_number(),
            ack_number: packet.ack_number(),
            window_len: packet.window_len(),
            urgent_pointer: packet.urgent_pointer(),
            options,
            payload,
        })
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
        let header_len = self.header_len();
        let total = header_len + self.payload.len();
        let segment = packet
            .buffer
            .as_mut()
            .get_mut(..total)
            .ok_or(Error::BufferTooSmall)?;
        let (header, payload) = segment
            .split_at_mut_checked(header_len)
            .ok_or(Error::BufferTooSmall)?;
        let options = header.get_mut(HEADER_LEN..).ok_or(Error::BufferTooSmall)?;
        self.options.emit(options)?;
        // Same length by construction of `total`.
        payload.copy_from_slice(self.payload);

        let mut view = TcpPacket::new_unchecked(segment);
        view.set_src_port(self.src_port);
        view.set_dst_port(self.dst_port);
        view.set_seq_number(self.seq_number);
        view.set_ack_number(self.ack_number);
        view.set_header_len(header_len);
        view.set_flags(self.flags);
        view.set_window_len(self.window_len);
        view.set_urgent_pointer(self.urgent_pointer);
        if checksum.compute_tx {
            view.fill_checksum(src_addr, dst_addr);
        } else {
            view.set_checksum(0);
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
