//! The send log: what is in flight, segment by segment, and what the peer
//! said about it. One fixed-size structure serves
//!
//! - the SACK scoreboard of RFC 6675 (which bytes are SACKed, which are
//!   deemed lost, the "pipe" estimate of bytes in flight),
//! - RACK (RFC 8985), which needs each segment's transmission time,
//! - delivery-rate sampling (draft-cheng-iccrg-delivery-rate-estimation),
//!   which needs the connection's delivery counters as they stood when each
//!   segment was sent, and
//! - the undo of spurious retransmissions (which segments were resent).
//!
//! Records cover `[SND.UNA, SND.MAX)` in order, without gaps, one per
//! transmission (consecutive segments sent in the same microsecond with the
//! same counters share one). Capacity is fixed ([`LOG_CAPACITY`]); when it
//! runs low, new transmissions are appended to the last record instead, so
//! the log only gets coarser, never wrong: a SACK block that would need a
//! record split when no slot is free is ignored (the bytes stay "not SACKed",
//! which is what a sender without SACK would believe — the connection
//! degrades toward NewReno, never toward go-back-N).
//!
//! Times and counters are stored as their low 32 bits (microseconds and
//! bytes) and compared by wrapping difference: a record lives far less than
//! the 71 minutes it takes the clock to wrap.

use crate::wire::SeqNumber;

/// Records in the send log. With the `scoreboard` feature: enough for a
/// 64-segment window at per-segment granularity (larger windows coalesce
/// the newest transmissions). Without it: a minimal log that still drives
/// NewReno-style recovery.
#[cfg(feature = "scoreboard")]
pub const LOG_CAPACITY: usize = 128;
/// Records in the send log (minimal build).
#[cfg(not(feature = "scoreboard"))]
pub const LOG_CAPACITY: usize = 4;

/// The peer holds these bytes (SACKed).
pub const SACKED: u8 = 1;
/// Deemed lost and not yet retransmitted since.
pub const LOST: u8 = 2;
/// Retransmitted at least once.
pub const RETRANSMITTED: u8 = 4;
/// Sent while the application limited sending (rate sampling).
pub const APP_LIMITED: u8 = 8;
/// Several transmissions at different times merged to save a slot: the
/// send time is the latest of them, so it gives no RTT sample.
pub const COALESCED: u8 = 16;

/// One transmission of `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SentRecord {
    /// First sequence number.
    pub start: SeqNumber,
    /// Sequence number just past the record (a FIN counts one).
    pub end: SeqNumber,
    /// Time of the latest transmission, µs (low 32 bits). Read by RACK,
    /// by the RTT samples the CUBIC and BBR controllers take and by rate
    /// sampling; a build with none of them keeps no send times (8 B per
    /// socket with the 2-record log, issue 9), and NewReno never asks.
    #[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
    pub sent_at: u32,
    /// Time of the earliest transmission still covered (differs from
    /// `sent_at` only in a COALESCED record).
    /// Only RACK reads it (without the `rack` feature it is not kept).
    #[cfg(feature = "rack")]
    pub earliest: u32,
    /// The connection's delivered-bytes counter at that transmission
    /// (segments sent at one moment with one count share a record). Only
    /// rate samples read it, and only CUBIC and BBR read those.
    #[cfg(any(feature = "cubic", feature = "bbr"))]
    pub delivered: u32,
    /// When that counter last moved, µs. This and the next three feed
    /// delivery-rate samples, which only the CUBIC and BBR controllers
    /// read; without them the record is 16 bytes smaller.
    #[cfg(any(feature = "cubic", feature = "bbr"))]
    pub delivered_at: u32,
    /// Send time of the first segment of the current flight, µs.
    #[cfg(any(feature = "cubic", feature = "bbr"))]
    pub first_sent_at: u32,
    /// Bytes in flight just after this transmission.
    #[cfg(any(feature = "cubic", feature = "bbr"))]
    pub tx_in_flight: u32,
    /// The connection's lost-bytes counter at that transmission.
    #[cfg(any(feature = "cubic", feature = "bbr"))]
    pub lost: u32,
    /// `SACKED`, `LOST`, `RETRANSMITTED`, `APP_LIMITED`.
    pub flags: u8,
}

impl SentRecord {
    /// Bytes of sequence space covered.
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    /// Covers no sequence space (never true of a logged record).
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
    /// Whether the record has flag `f`.
    pub fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }
    /// `self` was sent after `other` (RFC 8985 §6.2 "sent after": later
    /// time, or the same time and a higher sequence).
    #[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
    pub fn sent_after(&self, other_sent_at: u32, other_end: SeqNumber) -> bool {
        let dt = self.sent_at.wrapping_sub(other_sent_at) as i32;
        dt > 0 || (dt == 0 && self.end > other_end)
    }
}

/// The fixed-capacity, ordered log of what is in flight: `N` records
/// ([`LOG_CAPACITY`] unless the socket table chose another size, see
/// [`SocketSlot::with_log`](crate::socket_set::SocketSlot::with_log)). At
/// least 2 and at most `u16::MAX`.
#[derive(Debug, Clone)]
pub struct SendLog<const N: usize = LOG_CAPACITY> {
    records: [SentRecord; N],
    /// Index of the oldest record in the ring. This and `len` are `u16`
    /// (`N` is at most `u16::MAX`, checked at compile time), 4 B less per
    /// socket than two `usize`s on a 32-bit target (issue 9).
    head: u16,
    len: u16,
    /// Bytes marked SACKED.
    sacked_bytes: SackedBytes,
    /// Bytes marked LOST and not SACKED.
    lost_bytes: usize,
}

/// The count of SACKED bytes. Only SACK blocks mark records SACKED, and
/// without the `sack` feature none is ever processed (`sack_enabled` is
/// false), so there the count is always 0 and is not stored: 4 B less per
/// socket in the minimal build (issue 9), as with the assembler's stamps.
#[cfg(feature = "sack")]
#[derive(Debug, Clone, Copy)]
struct SackedBytes(usize);

/// Always 0 without `sack` (see the other definition).
#[cfg(not(feature = "sack"))]
#[derive(Debug, Clone, Copy)]
struct SackedBytes;

impl SackedBytes {
    #[cfg(feature = "sack")]
    const ZERO: SackedBytes = SackedBytes(0);
    #[cfg(not(feature = "sack"))]
    const ZERO: SackedBytes = SackedBytes;

    #[inline]
    fn get(self) -> usize {
        #[cfg(feature = "sack")]
        return self.0;
        #[cfg(not(feature = "sack"))]
        0
    }

    #[inline]
    fn add(&mut self, n: usize) {
        #[cfg(feature = "sack")]
        {
            self.0 += n;
        }
        #[cfg(not(feature = "sack"))]
        let _ = n;
    }

    #[inline]
    fn sub(&mut self, n: usize) {
        #[cfg(feature = "sack")]
        {
            self.0 = self.0.saturating_sub(n);
        }
        #[cfg(not(feature = "sack"))]
        let _ = n;
    }
}

impl<const N: usize> Default for SendLog<N> {
    fn default() -> Self {
        SendLog::new()
    }
}

impl<const N: usize> SendLog<N> {
    /// Rejects, at compile time, a log too small to split a record.
    const CAPACITY_OK: () = assert!(
        N >= 2 && N <= u16::MAX as usize,
        "a send log needs at least 2 records and at most u16::MAX"
    );

    /// An empty log.
    pub const fn new() -> SendLog<N> {
        // Evaluated for each N this is built with.
        #[allow(clippy::let_unit_value)]
        let () = Self::CAPACITY_OK;
        Self::EMPTY
    }

    /// An empty log, as a constant: stored whole where it is built
    /// (a memset), not built record by record on the stack and copied
    /// (flash, issue 9).
    const EMPTY: SendLog<N> = SendLog {
        records: [SentRecord {
            start: SeqNumber(0),
            end: SeqNumber(0),
            #[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
            sent_at: 0,
            #[cfg(feature = "rack")]
            earliest: 0,
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            delivered: 0,
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            delivered_at: 0,
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            first_sent_at: 0,
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            tx_in_flight: 0,
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            lost: 0,
            flags: 0,
        }; N],
        head: 0,
        len: 0,
        sacked_bytes: SackedBytes::ZERO,
        lost_bytes: 0,
    };

    /// Forget everything (connection reset).
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
        self.sacked_bytes = SackedBytes::ZERO;
        self.lost_bytes = 0;
    }

    /// Number of records.
    #[inline]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// No record (nothing in flight).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes the peer has SACKed above SND.UNA.
    pub fn sacked_bytes(&self) -> usize {
        self.sacked_bytes.get()
    }

    /// Bytes deemed lost and not yet retransmitted.
    pub fn lost_bytes(&self) -> usize {
        self.lost_bytes
    }

    /// End of the highest record marked SACKed, if any. Computed when
    /// asked (nothing in the engine asks) rather than kept in every socket.
    pub fn highest_sacked(&self) -> Option<SeqNumber> {
        self.iter().filter(|r| r.has(SACKED)).map(|r| r.end).max()
    }

    /// RFC 6675 "pipe": bytes outstanding that are neither SACKed nor lost
    /// (a retransmitted segment counts once).
    pub fn pipe(&self, outstanding: usize) -> usize {
        outstanding
            .saturating_sub(self.sacked_bytes.get())
            .saturating_sub(self.lost_bytes)
    }

    fn slot(&self, i: usize) -> usize {
        (usize::from(self.head) + i) % N
    }

    /// The `i`th oldest record.
    pub fn get(&self, i: usize) -> Option<&SentRecord> {
        if i < self.len() {
            self.records.get(self.slot(i))
        } else {
            None
        }
    }

    fn get_mut(&mut self, i: usize) -> Option<&mut SentRecord> {
        if i < self.len() {
            let s = self.slot(i);
            self.records.get_mut(s)
        } else {
            None
        }
    }

    /// The newest record.
    pub fn last(&self) -> Option<&SentRecord> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    /// Iterate oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &SentRecord> + '_ {
        (0..self.len()).filter_map(move |i| self.get(i))
    }

    /// Set the flags `set` and clear the flags `clear` of record `i`,
    /// keeping the byte counters right. (Its callers need not read the old
    /// flags first: one lookup of the record fewer, flash, issue 9.)
    fn change_flags(&mut self, i: usize, set: u8, clear: u8) {
        let Some(rec) = self.get_mut(i) else { return };
        let old = rec.flags;
        let flags = (old | set) & !clear;
        rec.flags = flags;
        let len = rec.len();
        let was_lost = old & LOST != 0 && old & SACKED == 0;
        let is_lost = flags & LOST != 0 && flags & SACKED == 0;
        if old & SACKED == 0 && flags & SACKED != 0 {
            self.sacked_bytes.add(len);
        } else if old & SACKED != 0 && flags & SACKED == 0 {
            self.sacked_bytes.sub(len);
        }
        if !was_lost && is_lost {
            self.lost_bytes += len;
        } else if was_lost && !is_lost {
            self.lost_bytes = self.lost_bytes.saturating_sub(len);
        }
    }

    /// Insert `rec` at logical position `i` (shifting the newer ones).
    /// Returns false when full.
    // Inlined on 32-bit targets into its two callers (flash, issue 9:
    // minimal Cortex-M4 build −24 B).
    #[cfg_attr(target_pointer_width = "32", inline(always))]
    fn insert(&mut self, i: usize, rec: SentRecord) -> bool {
        if self.len() >= N || i > self.len() {
            return false;
        }
        // Taken out and stored, as in `remove`: a plain copy within the
        // array links `memmove` (about 700 B of flash on a Cortex-M4).
        let mut j = self.len();
        while j > i {
            let from = self.slot(j - 1);
            let to = self.slot(j);
            if let Some(r) = self.records.get_mut(from).map(core::mem::take) {
                if let Some(dst) = self.records.get_mut(to) {
                    *dst = r;
                }
            }
            j -= 1;
        }
        let s = self.slot(i);
        if let Some(dst) = self.records.get_mut(s) {
            *dst = rec;
        }
        self.len += 1;
        true
    }

    /// Remove the record at logical position `i` (its bytes must have been
    /// taken out of the counters already).
    fn remove(&mut self, i: usize) {
        if i >= self.len() {
            return;
        }
        if i == 0 {
            // N <= u16::MAX, so the new index fits.
            self.head = ((usize::from(self.head) + 1) % N) as u16;
            self.len -= 1;
            return;
        }
        // Each record is taken out (its slot left empty) and then stored:
        // a plain copy within one array becomes a `memmove` call, about
        // 700 B of flash on a Cortex-M4 that nothing else needs.
        for j in i..self.len() - 1 {
            let (from, to) = (self.slot(j + 1), self.slot(j));
            let Some(r) = self.records.get_mut(from).map(core::mem::take) else {
                break;
            };
            if let Some(dst) = self.records.get_mut(to) {
                *dst = r;
            }
        }
        self.len -= 1;
    }

    /// Split record `i` at `at` (strictly inside it): both halves keep the
    /// flags and send-time state. Returns the index of the front half (the
    /// back half follows it), or `None` when no slot is free.
    ///
    /// The index can differ from `i`: freeing a slot merges a pair of
    /// records, which shifts every later record down by one. Callers must
    /// continue from the returned index, never from `i`.
    fn split(&mut self, i: usize, at: SeqNumber) -> Option<usize> {
        let full = self.len() >= N;
        let r = self.get_mut(i)?;
        if !(r.start < at && at < r.end) {
            return None;
        }
        if !full {
            // The back half, then the front one ends at `at`.
            let mut tail = *r;
            tail.start = at;
            r.end = at;
            // Counters are per byte, so a split with equal flags leaves
            // them as they are.
            return self.insert(i + 1, tail).then_some(i);
        }
        if !self.make_room() {
            return None;
        }
        // The merge may have moved record `i`: find it again.
        match self.find(at) {
            Some(j) if self.len() < N => self.split(j, at),
            _ => None,
        }
    }

    /// Record a first transmission of `[start, end)` (new data at SND.MAX).
    /// `snapshot` carries the time and counters; its `start`/`end`/`flags`
    /// are set here.
    pub fn on_send_new(&mut self, start: SeqNumber, end: SeqNumber, snapshot: SentRecord) {
        if end <= start {
            return;
        }
        let app_limited = snapshot.flags & APP_LIMITED;
        if let Some(i) = self.len().checked_sub(1) {
            if let Some(last) = self.get_mut(i) {
                // Without send times every contiguous transmission in
                // one state is one burst: nothing reads more detail.
                #[allow(unused_mut)]
                let mut same_moment = last.flags == app_limited;
                #[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
                {
                    same_moment &= last.sent_at == snapshot.sent_at;
                }
                #[cfg(any(feature = "cubic", feature = "bbr"))]
                {
                    same_moment &= last.delivered == snapshot.delivered;
                }
                if last.end == start && same_moment {
                    // Segments of one burst share a record.
                    last.end = end;
                    return;
                }
            }
        }
        if self.len() >= N && !self.make_room() {
            // Nothing could be merged: the newest record absorbs the new
            // data (it loses any SACK mark, which only costs a resend).
            if let Some(i) = self.len().checked_sub(1) {
                self.change_flags(i, COALESCED, SACKED | LOST);
                if let Some(r) = self.get_mut(i) {
                    r.end = end;
                    #[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
                    {
                        r.sent_at = snapshot.sent_at;
                    }
                }
            }
            return;
        }
        let mut rec = snapshot;
        rec.start = start;
        rec.end = end;
        rec.flags = app_limited;
        #[cfg(feature = "rack")]
        {
            rec.earliest = snapshot.sent_at;
        }
        let at = self.len();
        self.insert(at, rec);
    }

    /// Free one slot by merging the newest pair of adjacent records that
    /// are in the same state: the newest are the least likely to need
    /// repair, so the log stays precise where recovery happens. The merged
    /// record keeps the later send time (RACK then waits longer before
    /// calling it lost, never shorter). Returns false if no pair matches.
    fn make_room(&mut self) -> bool {
        let state = |r: &SentRecord| r.flags & (SACKED | LOST | RETRANSMITTED);
        let mut i = self.len();
        while i >= 2 {
            i -= 1;
            let (Some(a), Some(b)) = (self.get(i - 1).copied(), self.get(i).copied()) else {
                return false;
            };
            if state(&a) == state(&b) && a.end == b.start {
                #[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
                let later = if b.sent_after(a.sent_at, a.end) {
                    b.sent_at
                } else {
                    a.sent_at
                };
                #[cfg(feature = "rack")]
                let earlier = if (b.earliest.wrapping_sub(a.earliest) as i32) < 0 {
                    b.earliest
                } else {
                    a.earliest
                };
                if let Some(r) = self.get_mut(i - 1) {
                    r.end = b.end;
                    #[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
                    {
                        r.sent_at = later;
                        if a.sent_at != b.sent_at {
                            r.flags |= COALESCED;
                        }
                    }
                    #[cfg(feature = "rack")]
                    {
                        r.earliest = earlier;
                    }
                }
                self.remove(i);
                return true;
            }
        }
        false
    }

    /// Cumulative ACK up to `una`: drop what it covers, calling `delivered`
    /// for each part not SACKed before (it is newly delivered) with the
    /// record and the byte count.
    pub fn on_cumulative_ack(
        &mut self,
        una: SeqNumber,
        mut delivered: impl FnMut(&SentRecord, usize),
    ) {
        while let Some(first) = self.get(0).copied() {
            if first.end <= una {
                if first.has(SACKED) {
                    self.sacked_bytes.sub(first.len());
                } else {
                    delivered(&first, first.len());
                    if first.has(LOST) {
                        self.lost_bytes = self.lost_bytes.saturating_sub(first.len());
                    }
                }
                self.remove(0);
            } else if first.start < una {
                let part = una - first.start;
                if first.has(SACKED) {
                    self.sacked_bytes.sub(part);
                } else {
                    // Report just the delivered part: RACK orders deliveries
                    // by end sequence.
                    let head = SentRecord { end: una, ..first };
                    delivered(&head, part);
                    if first.has(LOST) {
                        self.lost_bytes = self.lost_bytes.saturating_sub(part);
                    }
                }
                if let Some(r) = self.get_mut(0) {
                    r.start = una;
                }
                break;
            } else {
                break;
            }
        }
    }

    /// A SACK block `[left, right)`: mark what it covers SACKED, calling
    /// `delivered` for each newly SACKed part. Parts that would need a
    /// split when no slot is free are left unmarked.
    pub fn on_sack_block(
        &mut self,
        left: SeqNumber,
        right: SeqNumber,
        mut delivered: impl FnMut(&SentRecord, usize),
    ) {
        if right <= left {
            return;
        }
        let mut i = 0;
        while let Some(rec) = self.get(i).copied() {
            if rec.start >= right {
                break;
            }
            if rec.end <= left || rec.has(SACKED) {
                i += 1;
                continue;
            }
            // Trim the record to the block, splitting where needed.
            if rec.start < left {
                // Keep the front out of the block; the back half is
                // looked at next.
                i = self.split(i, left).unwrap_or(i) + 1;
                continue;
            }
            if rec.end > right {
                match self.split(i, right) {
                    Some(front) => i = front,
                    None => {
                        i += 1;
                        continue;
                    }
                }
            }
            let Some(rec) = self.get(i).copied() else {
                break;
            };
            if rec.start < left || rec.end > right || rec.has(SACKED) {
                // Freeing the slot for the split merged this record with
                // an older neighbour outside the block: marking it would
                // claim bytes the peer never reported. Leave it unmarked
                // (a later block or the cumulative ACK will cover it).
                i += 1;
                continue;
            }
            delivered(&rec, rec.len());
            self.change_flags(i, SACKED, LOST);
            i += 1;
        }
        self.coalesce_sacked();
    }

    /// Merge runs of adjacent SACKed records: their send times no longer
    /// matter, and the slots are better spent on what is still in flight.
    fn coalesce_sacked(&mut self) {
        let mut i = 0;
        while i + 1 < self.len() {
            let (Some(a), Some(b)) = (self.get(i).copied(), self.get(i + 1).copied()) else {
                break;
            };
            if a.has(SACKED) && b.has(SACKED) && a.end == b.start {
                if let Some(r) = self.get_mut(i) {
                    r.end = b.end;
                    r.flags |= b.flags & RETRANSMITTED;
                }
                self.remove(i + 1);
            } else {
                i += 1;
            }
        }
    }

    /// Mark record `i` lost (unless SACKED). Returns the bytes newly marked.
    pub fn mark_lost(&mut self, i: usize) -> usize {
        match self.get(i).copied() {
            Some(rec) if !rec.has(SACKED) && !rec.has(LOST) => {
                self.change_flags(i, LOST, 0);
                rec.len()
            }
            _ => 0,
        }
    }

    /// Mark the first `mss` bytes of the oldest record lost (NewReno's
    /// "retransmit the first unacknowledged segment"), splitting it off
    /// when the record is longer. Returns the bytes newly marked.
    pub fn mark_head_lost(&mut self, mss: usize) -> usize {
        if let Some(head) = self.get(0).copied() {
            if head.len() > mss {
                let _ = self.split(0, head.start + mss.max(1));
            }
        }
        self.mark_lost(0)
    }

    /// Forget the SACK mark on the first `mss` bytes of the log (splitting
    /// them off a longer record). RFC 2018 §8: after a retransmission
    /// timeout the sender "MUST retransmit the segment at the left edge of
    /// the window ... whether or not the SACK bit is on for that segment":
    /// if the receiver reneged, or our marks are wrong, that resend is what
    /// moves SND.UNA.
    pub fn unsack_head(&mut self, mss: usize) {
        let Some(head) = self.get(0).copied() else {
            return;
        };
        if !head.has(SACKED) {
            return;
        }
        if head.len() > mss {
            let _ = self.split(0, head.start + mss.max(1));
        }
        self.change_flags(0, 0, SACKED);
    }

    /// Mark every record not SACKED as lost (after an RTO, RFC 6675 §5.1).
    /// Returns the bytes newly marked.
    pub fn mark_all_lost(&mut self) -> usize {
        (0..self.len()).map(|i| self.mark_lost(i)).sum()
    }

    /// RFC 6675 §4 IsLost for every record: lost when at least `dup_thresh`
    /// SACKed records, or more than `(dup_thresh - 1) * mss` SACKed bytes,
    /// lie above it. Retransmitted records are left alone (only RACK or an
    /// RTO declares a retransmission lost). Returns the bytes newly marked.
    pub fn mark_lost_by_sack(&mut self, dup_thresh: usize, mss: usize) -> usize {
        let mut above_bytes = 0usize;
        let mut above_blocks = 0usize;
        let mut newly = 0;
        for i in (0..self.len()).rev() {
            let Some(rec) = self.get(i).copied() else {
                continue;
            };
            if rec.has(SACKED) {
                above_bytes += rec.len();
                above_blocks += rec.len().div_ceil(mss.max(1));
                continue;
            }
            let lost =
                above_blocks >= dup_thresh || above_bytes > dup_thresh.saturating_sub(1) * mss;
            if lost && !rec.has(RETRANSMITTED) {
                newly += self.mark_lost(i);
            }
        }
        newly
    }

    /// Forget every SACK mark (the peer reneged, RFC 2018 §8).
    pub fn clear_sacked(&mut self) {
        for i in 0..self.len() {
            if let Some(rec) = self.get(i).copied() {
                if rec.has(SACKED) {
                    self.change_flags(i, 0, SACKED);
                }
            }
        }
    }

    /// Forget every loss mark (the retransmissions were spurious).
    pub fn clear_lost(&mut self) {
        for i in 0..self.len() {
            if let Some(rec) = self.get(i).copied() {
                if rec.has(LOST) {
                    self.change_flags(i, 0, LOST);
                }
            }
        }
    }

    /// No record waits for retransmission: `first_lost` is none (the same
    /// test it starts with), without a call (issue 9: asked after every
    /// segment sent and by every plan).
    #[inline]
    pub fn none_lost(&self) -> bool {
        self.lost_bytes == 0
    }

    /// The first record waiting for retransmission. A reference, which
    /// 32-bit targets return in a register (a copy with its index went
    /// through memory: flash, issue 9).
    pub fn first_lost(&self) -> Option<&SentRecord> {
        // `lost_bytes` sums the records marked lost and not SACKed, and no
        // record is empty (`check`): zero means none, without the walk,
        // which every send plan asks for (a whole window of records on a
        // large window with no loss at all).
        if self.lost_bytes == 0 {
            return None;
        }
        (0..self.len()).find_map(|i| self.get(i).filter(|r| r.has(LOST) && !r.has(SACKED)))
    }

    /// `[seq, seq + len)` was retransmitted now. The part
    /// sent is split off (when a slot is free) and becomes RETRANSMITTED,
    /// not LOST, with fresh send-time state.
    pub fn on_retransmit(&mut self, seq: SeqNumber, len: usize, snapshot: SentRecord) {
        let Some(mut i) = self.find(seq) else {
            return;
        };
        if self.get(i).is_some_and(|r| r.start < seq) {
            // A resend from inside the record (a tail loss probe of its
            // last segment): split the front off first.
            let Some(front) = self.split(i, seq) else {
                return;
            };
            i = front + 1;
        }
        // Record `i` starts at `seq` now. When the resend ends inside it,
        // split there (`split` does nothing unless `seq + len` is inside);
        // when no slot is free the whole record counts as resent, and RACK
        // will call it lost again if its tail really was.
        if let Some(front) = self.split(i, seq + len) {
            i = front;
        }
        self.change_flags(i, RETRANSMITTED, LOST | APP_LIMITED | COALESCED);
        #[cfg(not(any(feature = "rack", feature = "cubic", feature = "bbr")))]
        let _ = snapshot;
        #[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
        if let Some(r) = self.get_mut(i) {
            r.sent_at = snapshot.sent_at;
            #[cfg(feature = "rack")]
            {
                r.earliest = snapshot.sent_at;
            }
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            {
                r.delivered = snapshot.delivered;
                r.delivered_at = snapshot.delivered_at;
                r.first_sent_at = snapshot.first_sent_at;
                r.tx_in_flight = snapshot.tx_in_flight;
                r.lost = snapshot.lost;
            }
        }
    }

    /// Index of the record containing `seq`.
    pub fn find(&self, seq: SeqNumber) -> Option<usize> {
        (0..self.len()).find(|&i| self.get(i).is_some_and(|r| r.start <= seq && seq < r.end))
    }

    /// Check the invariants (tests and debug builds).
    #[cfg(test)]
    pub fn check(&self) {
        let mut sacked = 0;
        let mut lost = 0;
        let mut prev: Option<SeqNumber> = None;
        for r in self.iter() {
            assert!(r.start < r.end, "empty record {r:?}");
            if let Some(p) = prev {
                assert_eq!(p, r.start, "gap or overlap in the log");
            }
            prev = Some(r.end);
            if r.has(SACKED) {
                sacked += r.len();
            } else if r.has(LOST) {
                lost += r.len();
            }
        }
        assert_eq!(sacked, self.sacked_bytes.get(), "sacked counter");
        assert_eq!(lost, self.lost_bytes, "lost counter");
    }
}

// The tests need room for ten records and more: the default log.
#[cfg(all(test, feature = "scoreboard"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// What a transmission at time `t` records. A build that keeps no
    /// send times (`scoreboard` without `rack`, `cubic` and `bbr`) merges
    /// contiguous transmissions unless their state differs, so there
    /// transmissions at odd and even times differ in being app-limited:
    /// consecutive times still make separate records, as they do with
    /// send times.
    fn snap(t: u32) -> SentRecord {
        SentRecord {
            #[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
            sent_at: t,
            #[cfg(feature = "rack")]
            earliest: t,
            #[cfg(not(any(feature = "rack", feature = "cubic", feature = "bbr")))]
            flags: if t % 2 == 1 { APP_LIMITED } else { 0 },
            ..SentRecord::default()
        }
    }

    fn s(n: u32) -> SeqNumber {
        SeqNumber(n)
    }

    /// Ten 100-byte segments sent at distinct times, in a log that holds
    /// them one per record whatever the build's default capacity (4 in
    /// the minimal build).
    fn ten() -> SendLog<16> {
        let mut log = SendLog::new();
        for k in 0..10 {
            log.on_send_new(s(k * 100), s(k * 100 + 100), snap(k));
        }
        log.check();
        log
    }

    #[test]
    fn same_moment_coalesces_distinct_times_do_not() {
        let mut log = SendLog::<LOG_CAPACITY>::new();
        log.on_send_new(s(0), s(100), snap(5));
        log.on_send_new(s(100), s(200), snap(5));
        assert_eq!(log.len(), 1);
        log.on_send_new(s(200), s(300), snap(6));
        assert_eq!(log.len(), 2);
        log.check();
    }

    #[test]
    fn cumulative_ack_reports_delivery_once() {
        let mut log = ten();
        let mut got = 0;
        log.on_sack_block(s(300), s(500), |_, n| got += n);
        assert_eq!(got, 200);
        assert_eq!(log.sacked_bytes(), 200);
        got = 0;
        log.on_cumulative_ack(s(550), |_, n| got += n);
        // 0..300 and 500..550 are new; 300..500 was SACKed already.
        assert_eq!(got, 350);
        assert_eq!(log.sacked_bytes(), 0);
        assert_eq!(log.get(0).unwrap().start, s(550));
        log.check();
    }

    #[test]
    fn sack_splits_records_at_block_edges() {
        let mut log = SendLog::<LOG_CAPACITY>::new();
        log.on_send_new(s(0), s(1000), snap(1));
        let mut got = 0;
        log.on_sack_block(s(200), s(300), |_, n| got += n);
        assert_eq!(got, 100);
        assert_eq!(log.len(), 3);
        assert!(log.get(1).unwrap().has(SACKED));
        log.check();
    }

    #[test]
    fn rfc6675_is_lost_needs_three_segments_above() {
        let mut log = ten();
        log.on_sack_block(s(100), s(300), |_, _| {});
        assert_eq!(log.mark_lost_by_sack(3, 100), 0);
        log.on_sack_block(s(300), s(400), |_, _| {});
        assert_eq!(log.mark_lost_by_sack(3, 100), 100);
        assert_eq!(log.first_lost().unwrap().start, s(0));
        assert_eq!(log.lost_bytes(), 100);
        // pipe: 1000 outstanding - 300 SACKed - 100 lost.
        assert_eq!(log.pipe(1000), 600);
        log.check();
    }

    #[test]
    fn retransmission_clears_lost_and_splits() {
        let mut log = SendLog::<LOG_CAPACITY>::new();
        log.on_send_new(s(0), s(300), snap(1));
        assert_eq!(log.mark_all_lost(), 300);
        let lost = *log.first_lost().unwrap();
        log.on_retransmit(lost.start, 100, snap(9));
        let first = log.get(0).unwrap();
        assert_eq!((first.start, first.end), (s(0), s(100)));
        assert!(first.has(RETRANSMITTED) && !first.has(LOST));
        #[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
        assert_eq!(first.sent_at, 9);
        assert_eq!(log.lost_bytes(), 200);
        assert_eq!(log.first_lost().unwrap().start, s(100));
        log.check();
    }

    /// A split in a full log frees a slot by merging an older pair, which
    /// shifts the record being split down by one. The SACK must still
    /// mark exactly the bytes it covers (a mark on the wrong half once
    /// left holes "SACKed", never resent, and stalled the connection).
    #[test]
    fn a_split_that_shifts_the_log_marks_exactly_the_block() {
        let mut log = SendLog::<LOG_CAPACITY>::new();
        let cap = LOG_CAPACITY as u32;
        for k in 0..cap {
            log.on_send_new(s(k * 10), s(k * 10 + 10), snap(k));
        }
        assert_eq!(log.len(), LOG_CAPACITY);
        // SACK every even record from 2 on: the only adjacent pair in the
        // same state is (0, 1), so making room merges it.
        for k in (2..cap).step_by(2) {
            log.on_sack_block(s(k * 10), s(k * 10 + 10), |_, _| {});
        }
        assert_eq!(log.len(), LOG_CAPACITY);
        let before = log.sacked_bytes();
        // Half of record 5 ([50, 60)) arrives.
        let mut marked = 0;
        log.on_sack_block(s(50), s(55), |_, n| marked += n);
        log.check();
        assert_eq!(marked, 5);
        assert_eq!(log.sacked_bytes(), before + 5);
        let front = log.get(log.find(s(50)).unwrap()).unwrap();
        assert!(front.has(SACKED) && front.end == s(55));
        let back = log.get(log.find(s(55)).unwrap()).unwrap();
        assert!(
            !back.has(SACKED),
            "the half the block does not cover was marked"
        );
    }

    /// When the only pair that can merge is the record being split and its
    /// older neighbour, the merged front half reaches below the block: it
    /// must not be marked.
    #[test]
    fn a_split_that_merges_below_the_block_marks_nothing_outside_it() {
        let mut log = SendLog::<LOG_CAPACITY>::new();
        let cap = LOG_CAPACITY as u32;
        for k in 0..cap {
            log.on_send_new(s(k * 10), s(k * 10 + 10), snap(k));
        }
        // Unsacked, SACKed alternately, except records 4 and 5 (both
        // unsacked): the only adjacent pair in the same state.
        for k in (1..4).step_by(2).chain((6..cap).step_by(2)) {
            log.on_sack_block(s(k * 10), s(k * 10 + 10), |_, _| {});
        }
        assert_eq!(log.len(), LOG_CAPACITY);
        let before = log.sacked_bytes();
        let mut marked = 0;
        log.on_sack_block(s(50), s(55), |_, n| marked += n);
        log.check();
        assert_eq!(log.sacked_bytes(), before + marked);
        let at_40 = log.get(log.find(s(40)).unwrap()).unwrap();
        assert!(!at_40.has(SACKED), "bytes 40..50 were never SACKed");
        assert!(marked <= 5);
    }

    /// The same shift during a retransmission: the part resent is the one
    /// marked RETRANSMITTED, the rest stays LOST.
    #[test]
    fn a_split_that_shifts_the_log_marks_exactly_the_resent_part() {
        let mut log = SendLog::<LOG_CAPACITY>::new();
        let cap = LOG_CAPACITY as u32;
        for k in 0..cap {
            log.on_send_new(s(k * 10), s(k * 10 + 10), snap(k));
        }
        for k in (2..cap).step_by(2) {
            log.on_sack_block(s(k * 10), s(k * 10 + 10), |_, _| {});
        }
        let i = log.find(s(50)).unwrap();
        log.mark_lost(i);
        log.on_retransmit(s(50), 5, snap(1000));
        log.check();
        let resent = log.get(log.find(s(50)).unwrap()).unwrap();
        assert!(resent.has(RETRANSMITTED) && !resent.has(LOST) && resent.end == s(55));
        let rest = log.get(log.find(s(55)).unwrap()).unwrap();
        assert!(rest.has(LOST) && !rest.has(RETRANSMITTED));
        assert_eq!(log.lost_bytes(), 5);
    }

    /// With every capacity a user may choose (the default, the minimal
    /// build's, the smallest allowed).
    #[test]
    fn a_full_log_coarsens_its_young_end_and_ignores_unsplittable_sacks() {
        full_log_coarsens::<LOG_CAPACITY>();
        full_log_coarsens::<16>();
        full_log_coarsens::<4>();
        full_log_coarsens::<2>();
    }

    fn full_log_coarsens<const N: usize>() {
        let mut log = SendLog::<N>::new();
        let n = N as u32 * 2;
        for k in 0..n {
            log.on_send_new(s(k * 10), s(k * 10 + 10), snap(k));
            log.check();
        }
        assert_eq!(log.len(), N);
        // The oldest records, where repair happens, stay one per segment
        // (with 2 records the oldest is also one of the two youngest).
        if N > 2 {
            assert_eq!(
                (log.get(0).unwrap().start, log.get(0).unwrap().end),
                (s(0), s(10))
            );
            assert!(!log.get(0).unwrap().has(COALESCED));
        }
        // Marked only where merged send times differ (a build without send
        // times merges silently: nothing reads the mark there).
        #[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
        assert!(log.last().unwrap().has(COALESCED) || log.get(N - 2).unwrap().has(COALESCED));
        let end = n * 10;
        assert_eq!(log.last().unwrap().end, s(end));
        // SACK every other segment: more holes than slots.
        let mut marked = 0;
        for k in (1..n).step_by(2) {
            log.on_sack_block(s(k * 10), s(k * 10 + 10), |_, b| marked += b);
            log.check();
            assert!(log.len() <= N);
        }
        // Everything is still accounted for on the cumulative ACK.
        let mut delivered = 0;
        log.on_cumulative_ack(s(end), |_, b| delivered += b);
        assert_eq!(delivered + marked, end as usize);
        assert!(log.is_empty());
        log.check();
    }

    #[test]
    fn sacked_neighbours_merge() {
        let mut log = ten();
        log.on_sack_block(s(200), s(300), |_, _| {});
        log.on_sack_block(s(300), s(600), |_, _| {});
        // 0..100, 100..200, 200..600 (merged), then six unsacked.
        assert_eq!(log.len(), 7);
        assert_eq!(log.get(2).unwrap().end, s(600));
        log.check();
    }
}
