//! TCP header (RFC 9293 §3.1); its options ([`TcpOptions`]) are parsed and
//! emitted in the `options` module.
//!
//! [`TcpPacket`] is a checked view over the bytes of one segment (the IPv4
//! payload, bounded by the IPv4 total length); [`TcpRepr`] is what the segment
//! means. Parsing is purely syntactic: flag combinations, port 0, MSS on a
//! non-SYN and the like are passed through for the engine to judge.

use super::{ChecksumMode, Error, Ipv4Address, Result, SeqNumber};

mod options;
use options::{nop_nop_timestamp, NOP_NOP_TIMESTAMP};
pub use options::{SackBlock, TcpOptions, MAX_OPTIONS_LEN, MAX_SACK_BLOCKS};

#[cfg(test)]
mod tests;

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
pub(super) fn read_u32(bytes: &[u8], at: usize) -> u32 {
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
        // 32-bit targets check the payload's length after the split
        // below instead: one check (flash).
        #[cfg(target_pointer_width = "64")]
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
            #[cfg(target_pointer_width = "32")]
            if payload.len() != self.payload.len() {
                return Err(Error::BufferTooSmall);
            }
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
