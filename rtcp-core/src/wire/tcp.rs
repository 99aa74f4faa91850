//! TCP header (RFC 9293 §3.1) and options: EOL, NOP, MSS, window scale and
//! timestamps (RFC 7323), SACK-permitted and SACK (RFC 2018).
// CONTRACT (to be implemented): keep these public names and signatures.

use super::SeqNumber;

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

// Required API (implement):
// TcpPacket: new_unchecked, new_checked (>= 20, data offset >= 5, data offset*4 <= len), into_inner, getters
//   (src_port, dst_port, seq_number, ack_number, header_len, flags, window_len, checksum, urgent_pointer,
//   options() -> &[u8], payload() -> &[u8]), verify_checksum(src: &Ipv4Address, dst: &Ipv4Address) -> bool,
//   setters, fill_checksum(src, dst), payload_mut.
// TcpOptions::parse(bytes: &[u8]) -> Result<TcpOptions> (BadOption on malformed), TcpOptions::len(&self) -> usize
//   (emitted length, padded to 4), TcpOptions::emit(&self, out: &mut [u8]) -> Result<usize>.
// TcpRepr::parse(&'a TcpPacket<&'a T>, src, dst, checksum: ChecksumMode) -> Result<TcpRepr<'a>>,
// TcpRepr::header_len(&self) -> usize, TcpRepr::buffer_len(&self) -> usize (header + payload),
// TcpRepr::segment_len(&self) -> usize (payload + SYN + FIN, RFC 9293 SEG.LEN),
// TcpRepr::emit(&self, &mut TcpPacket<T>, src, dst, checksum: ChecksumMode) writes header, options and
//   payload, then the checksum when compute_tx. Never writes past the buffer (BufferTooSmall -> Err).
