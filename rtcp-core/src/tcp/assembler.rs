//! Out-of-order reassembly bookkeeping for the receive buffer.
//!
//! Tracks which byte ranges past RCV.NXT have arrived, as up to
//! [`MAX_RANGES`] disjoint ranges. The bytes themselves sit in the receive
//! ring buffer at their offsets; this only remembers where.
//!
//! When a segment would need a new range and every slot is taken, it is
//! refused ([`TooManyHoles`]): the caller drops it (still ACKing, so the
//! peer learns RCV.NXT) and counts the drop. Data that extends or bridges
//! existing ranges is always accepted.
//!
//! Ranges also remember the order in which they last grew, so SACK blocks
//! can be reported most-recent first (RFC 2018 §4).

/// How many disjoint out-of-order ranges are remembered. With the
/// `scoreboard` feature (built for large windows on lossy paths): 32. A
/// window of a few thousand segments at 1% loss has dozens of holes, and
/// every segment that would open one more than the slots allow is dropped
/// and must be sent again; 8 slots cost a 1 MiB window at 1% loss over
/// half its goodput in the simulator (`sim_transfer`, see BENCHMARKS.md).
#[cfg(feature = "scoreboard")]
pub const MAX_RANGES: usize = 32;
/// How many disjoint out-of-order ranges are remembered with `sack` but
/// without the scoreboard: the receiver reports them in SACK blocks (at
/// most 4 per segment, RFC 2018 §3), and the sender repairs the holes
/// they leave within a round trip, so there is reason to hold more ranges
/// than one ACK can name.
#[cfg(all(feature = "sack", not(feature = "scoreboard")))]
pub const MAX_RANGES: usize = 8;
/// How many disjoint out-of-order ranges are remembered without `sack`
/// (the minimal build): 4, 32 B per socket less than 8 (issue 9). Without
/// SACK the peer learns only RCV.NXT and repairs one hole per round trip
/// (RFC 6582 partial ACKs, or go-back-N after a timeout), and a
/// microcontroller's window of a few segments rarely has more than one or
/// two. The trade-off: a segment that would open a fifth hole is dropped
/// (still ACKed, counted in `ooo_dropped`) and must be sent again, which
/// costs goodput only on a large window over a lossy path, where the
/// `sack` and `scoreboard` builds (8 and 32 ranges) are the ones to use.
#[cfg(not(feature = "sack"))]
pub const MAX_RANGES: usize = 4;

/// A segment would need more out-of-order ranges than there are slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyHoles;

/// One out-of-order range, as offsets from RCV.NXT. Offsets are `u32`:
/// they lie inside the receive window, which is never above 2^30 bytes
/// (RFC 7323 §2.3: a 16-bit field shifted by at most 14).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Range {
    start: u32,
    end: u32,
}

/// An offset from the caller's `usize`; see [`Range`] for why it fits.
fn narrow(x: usize) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

/// The recency stamp of each slot, a byte each, kept apart from the
/// ranges so that a slot is 8 bytes rather than 12 (this sits in every
/// socket).
#[cfg(feature = "sack")]
#[derive(Debug, Clone, Copy, Default)]
struct Stamps([u8; MAX_RANGES]);

/// Without the `sack` feature nothing reads the order in which ranges
/// grew (it is only for SACK blocks, RFC 2018 §4), so there are no stamps:
/// every slot reads as stamp 0 and writes are dropped (4 B less per
/// socket with the minimal build's 4 slots; issue 9).
#[cfg(not(feature = "sack"))]
#[derive(Debug, Clone, Copy, Default)]
struct Stamps;

impl Stamps {
    #[inline]
    fn get(&self, i: usize) -> u8 {
        #[cfg(feature = "sack")]
        return self.0.get(i).copied().unwrap_or(0);
        #[cfg(not(feature = "sack"))]
        {
            let _ = i;
            0
        }
    }

    #[inline]
    fn set(&mut self, i: usize, stamp: u8) {
        #[cfg(feature = "sack")]
        if let Some(t) = self.0.get_mut(i) {
            *t = stamp;
        }
        #[cfg(not(feature = "sack"))]
        let _ = (i, stamp);
    }
}

/// The set of received out-of-order ranges, as offsets from RCV.NXT.
///
/// With `sack`, each range has a stamp (`Stamps`), larger for more
/// recently extended: when the clock would pass 255 the live stamps are
/// renumbered 1..=count in the same order, so the order is always exact.
#[derive(Debug, Clone, Default)]
pub struct Assembler {
    ranges: [Range; MAX_RANGES],
    stamps: Stamps,
    count: u8,
    clock: u8,
}

impl Assembler {
    /// No out-of-order data.
    pub fn new() -> Assembler {
        Assembler::default()
    }

    /// No out-of-order data held.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Number of disjoint ranges held.
    pub fn range_count(&self) -> usize {
        usize::from(self.count)
    }

    /// Forget everything.
    pub fn clear(&mut self) {
        // The ranges past `count` are never read: no need to rewrite them.
        self.count = 0;
        self.clock = 0;
    }

    fn live(&self) -> &[Range] {
        self.ranges.get(..self.range_count()).unwrap_or(&[])
    }

    /// The first (lowest) run of bytes inside `[offset, offset + len)` that
    /// is already held: a duplicate to report in a D-SACK (RFC 2883 §4.2).
    pub fn first_overlap(&self, offset: usize, len: usize) -> Option<(usize, usize)> {
        let (offset, end) = (narrow(offset), narrow(offset + len));
        self.live().iter().find_map(|r| {
            let (s, e) = (r.start.max(offset), r.end.min(end));
            (s < e).then_some((s as usize, e as usize))
        })
    }

    /// The next stamp: larger than every live one. Only SACK blocks read
    /// the stamps: without the `sack` feature every range keeps stamp 0.
    fn tick(&mut self) -> u8 {
        if cfg!(not(feature = "sack")) {
            return 0;
        }
        if self.clock == u8::MAX {
            // Renumber the live stamps 1..=count, keeping their order.
            let n = self.range_count();
            let old = self.stamps;
            for i in 0..n {
                let mine = old.get(i);
                let below = (0..n).filter(|&j| old.get(j) < mine).count();
                self.stamps.set(i, below as u8 + 1);
            }
            self.clock = self.count;
        }
        self.clock += 1;
        self.clock
    }

    /// Move slots `from..count` to start at `to` (ranges and stamps).
    ///
    /// Copied from a snapshot rather than with `copy_within`: the arrays
    /// are small, and an overlapping copy would link `memmove` (about
    /// 700 B of flash on a Cortex-M4) where `memcpy` is there anyway.
    fn move_slots(&mut self, from: usize, to: usize) {
        let n = self.range_count();
        #[cfg(feature = "sack")]
        {
            let (ranges, stamps) = (self.ranges, self.stamps.0);
            let src = ranges.iter().zip(stamps.iter()).take(n).skip(from);
            let dst = self
                .ranges
                .iter_mut()
                .zip(self.stamps.0.iter_mut())
                .skip(to);
            for ((range, stamp), (r, s)) in dst.zip(src) {
                *range = *r;
                *stamp = *s;
            }
        }
        #[cfg(not(feature = "sack"))]
        {
            let ranges = self.ranges;
            let src = ranges.iter().take(n).skip(from);
            for (range, r) in self.ranges.iter_mut().skip(to).zip(src) {
                *range = *r;
            }
        }
    }

    /// Write slot `i`: its range and its stamp.
    #[inline]
    fn put(&mut self, i: usize, range: Range, stamp: u8) {
        #[cfg(feature = "sack")]
        if let (Some(r), Some(t)) = (self.ranges.get_mut(i), self.stamps.0.get_mut(i)) {
            *r = range;
            *t = stamp;
        }
        #[cfg(not(feature = "sack"))]
        if let Some(r) = self.ranges.get_mut(i) {
            let _ = stamp;
            *r = range;
        }
    }

    /// Record that bytes `[offset, offset + len)` (relative to RCV.NXT) have
    /// arrived. Returns how many bytes at offset 0 are now contiguous and
    /// can be handed to the application (RCV.NXT advances by that much; the
    /// remaining ranges are shifted down accordingly).
    pub fn add(&mut self, offset: usize, len: usize) -> Result<usize, TooManyHoles> {
        if len == 0 {
            return Ok(0);
        }
        let (start, end) = (narrow(offset), narrow(offset + len));
        // Ranges are kept sorted by start. Find those overlapping or touching.
        let mut first = self.range_count();
        let mut last = 0;
        let mut any = false;
        for (i, r) in self.live().iter().enumerate() {
            if r.end >= start && r.start <= end {
                if !any {
                    first = i;
                }
                last = i;
                any = true;
            }
        }
        if any {
            let stamp = self.tick();
            let (lo, hi) = match (self.ranges.get(first), self.ranges.get(last)) {
                (Some(a), Some(b)) => (a.start.min(start), b.end.max(end)),
                _ => (start, end),
            };
            self.put(first, Range { start: lo, end: hi }, stamp);
            // Remove the ranges merged into `first`.
            let removed = last - first;
            if removed > 0 {
                self.move_slots(last + 1, first + 1);
                self.count -= removed as u8;
            }
        } else {
            if self.range_count() == MAX_RANGES {
                return Err(TooManyHoles);
            }
            let stamp = self.tick();
            let pos = self
                .live()
                .iter()
                .position(|r| r.start > start)
                .unwrap_or(self.range_count());
            self.move_slots(pos, pos + 1);
            self.put(pos, Range { start, end }, stamp);
            self.count += 1;
        }
        Ok(self.take_front())
    }

    fn take_front(&mut self) -> usize {
        let advance = match self.ranges.first() {
            Some(r) if self.count > 0 && r.start == 0 => r.end,
            _ => return 0,
        };
        self.move_slots(1, 0);
        self.count -= 1;
        self.shift(advance);
        advance as usize
    }

    /// RCV.NXT moved forward by `n` bytes for a reason other than [`Self::add`]:
    /// drop what is now behind it and renumber the rest.
    fn shift(&mut self, n: u32) {
        let mut kept = 0;
        for i in 0..self.range_count() {
            if let Some(mut r) = self.ranges.get(i).copied() {
                if r.end <= n {
                    continue;
                }
                r.start = r.start.saturating_sub(n);
                r.end -= n;
                let t = self.stamps.get(i);
                self.put(kept, r, t);
                kept += 1;
            }
        }
        self.count = kept as u8;
    }

    /// The out-of-order ranges as `(start, end)` offsets, most recently
    /// extended first, at most `out.len()` of them; returns how many.
    ///
    /// A selection, one scan of the stamps per range written (a SACK
    /// option takes at most four), rather than a sort: `sort_unstable`
    /// brought core's quicksort and heapsort and, through their element
    /// moves, `memmove` into the firmware (issue 9, flash). The same
    /// order: live stamps are distinct (each `tick` is larger than every
    /// live one and renumbering keeps the ranks), so the largest first is
    /// the sort by stamp, descending; equal stamps (only without `sack`,
    /// where all are 0 and nothing calls this) come out in slot order.
    pub fn recent_ranges(&self, out: &mut [(usize, usize)]) -> usize {
        const _: () = assert!(MAX_RANGES <= 64);
        let live = self.live();
        let mut taken: u64 = 0;
        let mut n = 0;
        for dst in out.iter_mut() {
            let mut best: Option<(usize, u8)> = None;
            for (i, t) in (0..live.len()).map(|i| (i, self.stamps.get(i))) {
                if taken & (1 << i) == 0 && best.is_none_or(|(_, b)| t > b) {
                    best = Some((i, t));
                }
            }
            let Some((i, _)) = best else { break };
            taken |= 1 << i;
            if let Some(r) = live.get(i) {
                *dst = (r.start as usize, r.end as usize);
                n += 1;
            }
        }
        n
    }

    /// Is `[offset, offset+len)` entirely held already?
    pub fn contains(&self, offset: usize, len: usize) -> bool {
        let (offset, end) = (narrow(offset), narrow(offset + len));
        self.live()
            .iter()
            .any(|r| r.start <= offset && end <= r.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn in_order_data_advances_immediately() {
        let mut a = Assembler::new();
        assert_eq!(a.add(0, 10), Ok(10));
        assert!(a.is_empty());
    }

    #[test]
    fn first_overlap_names_the_lowest_duplicate_run() {
        let mut a = Assembler::new();
        assert_eq!(a.add(100, 100), Ok(0));
        assert_eq!(a.add(300, 100), Ok(0));
        assert_eq!(a.first_overlap(0, 50), None);
        assert_eq!(a.first_overlap(200, 100), None); // touching is not overlapping
        assert_eq!(a.first_overlap(150, 250), Some((150, 200)));
        assert_eq!(a.first_overlap(50, 400), Some((100, 200)));
        assert_eq!(a.first_overlap(320, 10), Some((320, 330)));
    }

    #[test]
    fn fills_a_hole() {
        let mut a = Assembler::new();
        assert_eq!(a.add(10, 5), Ok(0));
        assert_eq!(a.add(20, 5), Ok(0));
        assert_eq!(a.range_count(), 2);
        assert_eq!(a.add(15, 5), Ok(0)); // bridges both
        assert_eq!(a.range_count(), 1);
        assert_eq!(a.add(0, 10), Ok(25));
        assert!(a.is_empty());
    }

    proptest! {
        /// `recent_ranges` (a selection) gives what sorting the live
        /// ranges by stamp, most recent first, gave, for every output
        /// length: the stamps of live ranges are distinct with `sack`
        /// (all 0 without, where slot order is kept, as the sort did).
        #[test]
        fn recent_ranges_is_the_sorted_order(
            adds in proptest::collection::vec((0usize..400, 1usize..30), 0..60),
            k in 0usize..6,
        ) {
            use std::vec::Vec;
            let mut a = Assembler::new();
            for (off, len) in adds {
                let _ = a.add(off + 1, len);
            }
            let mut model: Vec<(u8, usize, usize)> = a
                .live()
                .iter()
                .enumerate()
                .map(|(i, r)| (a.stamps.get(i), r.start as usize, r.end as usize))
                .collect();
            if cfg!(feature = "sack") {
                let mut seen: Vec<u8> = model.iter().map(|m| m.0).collect();
                seen.sort_unstable();
                seen.dedup();
                prop_assert_eq!(seen.len(), model.len(), "stamps not distinct");
            }
            model.sort_by_key(|(t, _, _)| core::cmp::Reverse(*t));
            let want: Vec<(usize, usize)> = model.iter().take(k).map(|&(_, s, e)| (s, e)).collect();
            let mut out = std::vec![(0, 0); k];
            let n = a.recent_ranges(&mut out);
            prop_assert_eq!(&out[..n], &want[..]);
        }
    }

    #[cfg(feature = "sack")] // only SACK blocks keep the order
    #[test]
    fn recent_first() {
        let mut a = Assembler::new();
        a.add(10, 5).unwrap();
        a.add(30, 5).unwrap();
        a.add(20, 5).unwrap();
        a.add(35, 5).unwrap(); // extends (30,35) -> most recent
        let mut out = [(0, 0); 4];
        assert_eq!(a.recent_ranges(&mut out), 3);
        assert_eq!(out[..3], [(30, 40), (20, 25), (10, 15)]);
    }

    #[cfg(feature = "sack")] // only SACK blocks keep the order
    #[test]
    fn recency_survives_the_stamp_clock_wrapping() {
        let mut a = Assembler::new();
        a.add(10, 1).unwrap();
        a.add(30, 1).unwrap();
        a.add(50, 1).unwrap();
        // Hundreds of extensions of the middle range, then one of the first:
        // the clock passes 255 several times on the way.
        for i in 0..1000 {
            a.add(31 + i % 5, 1).unwrap();
        }
        a.add(11, 1).unwrap();
        let mut out = [(0, 0); 4];
        assert_eq!(a.recent_ranges(&mut out), 3);
        assert_eq!(out[..3], [(10, 12), (30, 36), (50, 51)]);
    }

    #[test]
    fn too_many_holes_is_refused_but_extensions_are_not() {
        let mut a = Assembler::new();
        for i in 0..MAX_RANGES {
            a.add(10 + i * 10, 2).unwrap();
        }
        assert_eq!(a.add(10 + MAX_RANGES * 10 + 5, 1), Err(TooManyHoles));
        assert_eq!(a.add(12, 2), Ok(0)); // extends the first range
        assert_eq!(a.add(0, 10), Ok(14));
        assert_eq!(a.range_count(), MAX_RANGES - 1);
    }

    proptest! {
        #[test]
        fn matches_a_bitmap(segs in proptest::collection::vec((0usize..64, 1usize..10), 1..40)) {
            let mut a = Assembler::new();
            let mut have = [false; 80];
            let mut delivered = 0usize;
            for (off, len) in segs {
                // offsets relative to the original start
                if off + len <= delivered { continue; }
                let rel = off.saturating_sub(delivered);
                let rlen = off + len - delivered - rel;
                match a.add(rel, rlen) {
                    Ok(n) => {
                        for b in &mut have[off.max(delivered)..off + len] { *b = true; }
                        let mut expect = 0;
                        while have[delivered + expect] { expect += 1; }
                        prop_assert_eq!(n, expect);
                        delivered += n;
                    }
                    Err(TooManyHoles) => prop_assert_eq!(a.range_count(), MAX_RANGES),
                }
            }
        }
    }
}
