//! TCP options (RFC 9293 §3.2): EOL, NOP, MSS, window scale and timestamps
//! (RFC 7323), SACK-permitted and SACK (RFC 2018), parsed into and emitted
//! from [`TcpOptions`].
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

use super::{read_u32, Error, Result, SeqNumber, HEADER_LEN, MAX_HEADER_LEN};

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

/// The most option bytes a header can carry (data offset 15, RFC 9293 §3.1).
pub const MAX_OPTIONS_LEN: usize = MAX_HEADER_LEN - HEADER_LEN;

// Option kinds (RFC 9293 §3.2, RFC 7323 §2.2/§3.2, RFC 2018 §2/§3).
const KIND_EOL: u8 = 0;
const KIND_NOP: u8 = 1;
const KIND_MSS: u8 = 2;
const KIND_WINDOW_SCALE: u8 = 3;
const KIND_SACK_PERMITTED: u8 = 4;
pub(super) const KIND_SACK: u8 = 5;
const KIND_TIMESTAMP: u8 = 8;
/// NOP, NOP, then the kind and length of a timestamps option, as one
/// big-endian word (RFC 7323 Appendix A's layout).
pub(super) const NOP_NOP_TIMESTAMP: u32 =
    u32::from_be_bytes([KIND_NOP, KIND_NOP, KIND_TIMESTAMP, 10]);

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
pub(super) fn nop_nop_timestamp(tsval: u32, tsecr: u32) -> [u8; 12] {
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
    /// [`TcpRepr::parse_ingress`](super::TcpRepr::parse_ingress).
    #[inline]
    pub(super) fn parse_into<const BLOCKS: bool>(
        bytes: &[u8],
        options: &mut TcpOptions,
    ) -> Result<()> {
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
            // 32-bit targets parse in place (see `parse_general`); 64-bit
            // hosts into a fresh value, copied in: in place cost them about
            // 30 Ir per connection and 13 per KiB (`rtcp-compare/ir.sh`),
            // from code moved on the ingress path.
            #[cfg(target_pointer_width = "32")]
            TcpOptions::parse_general::<BLOCKS>(bytes, options)?;
            #[cfg(not(target_pointer_width = "32"))]
            {
                let mut parsed = TcpOptions::default();
                TcpOptions::parse_general::<BLOCKS>(bytes, &mut parsed)?;
                *options = parsed;
            }
        }
        Ok(())
    }

    /// [`parse`](Self::parse) for any layout, out of line, into `options`,
    /// which holds the defaults (as in `parse_into`; on error it may hold
    /// part of the options). In place rather than returned: a 32-bit
    /// target returned the 40-byte value through memory and copied it in
    /// (flash, issue 9).
    #[inline(never)]
    fn parse_general<const BLOCKS: bool>(bytes: &[u8], options: &mut TcpOptions) -> Result<()> {
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
            return Ok(());
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
            return Ok(());
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
        Ok(())
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
    pub(super) fn only_timestamp(&self) -> Option<(u32, u32)> {
        if self.at_most_timestamps() {
            self.timestamp
        } else {
            None
        }
    }

    /// [`emit`](Self::emit) for any set of options.
    pub(super) fn emit_general(&self, out: &mut [u8]) -> Result<usize> {
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

#[cfg(test)]
mod tests {
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
            let mut walked = TcpOptions::default();
            TcpOptions::parse_general::<true>(&fast, &mut walked).unwrap();
            prop_assert_eq!(walked, parsed);
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
