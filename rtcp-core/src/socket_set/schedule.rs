//! When each socket next needs the table's attention: a deadline per slot
//! (`Instant::ZERO` for due now, none when it waits only for a segment or
//! the user), `poll_at` for the earliest, and `next_due` for `dispatch`.
//!
//! With the `large-table` feature the deadlines form a binary heap spread
//! over the slots, and sockets due now wait on a first-in first-out ready
//! queue beside it: `poll_at` reads one entry and a deadline change costs
//! O(log n), whatever the table size (the 1024-idle-connection benchmark
//! depends on it). Without it each slot holds its own deadline and the
//! table scans them, as smoltcp does: O(slots) per `poll_at` and per
//! socket served, less code and 8 B less per slot on 32-bit targets, and
//! for the handful of sockets of a small device no slower.

use super::{SocketSet, WAKE_LIMIT};
#[cfg(feature = "large-table")]
use super::{DUE_NOW, NONE};
use crate::time::Instant;

#[cfg(feature = "large-table")]
impl<'a, const LOG: usize> SocketSet<'a, LOG> {
    fn heap_key(&self, pos: usize) -> Instant {
        self.slots.get(pos).map_or(Instant::MAX, |s| s.heap_key)
    }

    fn heap_set(&mut self, pos: usize, i: u16, key: Instant) {
        if let Some(s) = self.slots.get_mut(pos) {
            s.heap_entry = i;
            s.heap_key = key;
        }
        if let Some(s) = self.slot_mut(i) {
            s.heap_pos = pos as u16;
        }
    }

    fn heap_entry(&self, pos: usize) -> u16 {
        self.slots.get(pos).map_or(NONE, |s| s.heap_entry)
    }

    /// Slot `i`'s deadline: its heap key, `Instant::MAX` when out of the heap.
    pub(super) fn deadline(&self, i: u16) -> Instant {
        match self.slot(i).map(|s| s.heap_pos) {
            Some(DUE_NOW) => Instant::ZERO,
            Some(pos) if pos != NONE => self.heap_key(usize::from(pos)),
            _ => Instant::MAX,
        }
    }

    fn sift_up(&mut self, mut pos: usize) {
        let (i, key) = (self.heap_entry(pos), self.heap_key(pos));
        while pos > 0 {
            let parent = (pos - 1) / 2;
            let parent_key = self.heap_key(parent);
            if parent_key <= key {
                break;
            }
            let p = self.heap_entry(parent);
            self.heap_set(pos, p, parent_key);
            pos = parent;
        }
        self.heap_set(pos, i, key);
    }

    fn sift_down(&mut self, mut pos: usize) {
        let (i, key) = (self.heap_entry(pos), self.heap_key(pos));
        loop {
            let l = 2 * pos + 1;
            if l >= self.heap_len {
                break;
            }
            let (mut child, mut child_key) = (l, self.heap_key(l));
            let r = l + 1;
            if r < self.heap_len {
                let right_key = self.heap_key(r);
                if right_key < child_key {
                    (child, child_key) = (r, right_key);
                }
            }
            if child_key >= key {
                break;
            }
            let c = self.heap_entry(child);
            self.heap_set(pos, c, child_key);
            pos = child;
        }
        self.heap_set(pos, i, key);
    }

    /// Takes slot `i` out of the schedule (heap or ready queue).
    pub(super) fn unschedule(&mut self, i: u16) {
        let Some(s) = self.slot_mut(i) else { return };
        match core::mem::replace(&mut s.heap_pos, NONE) {
            NONE => {}
            // It stays linked until `ready_pop` passes it.
            DUE_NOW => self.ready_due -= 1,
            pos => self.heap_take(usize::from(pos)),
        }
    }

    /// Closes the gap a slot taken out of heap position `pos` left (its
    /// `heap_pos` already cleared).
    ///
    /// Inlined on 64-bit hosts, with the refill out of line: a small heap
    /// (a few connections) mostly gives up its last entry, which leaves no
    /// gap (issue 9).
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    fn heap_take(&mut self, pos: usize) {
        self.heap_len -= 1;
        if pos != self.heap_len {
            self.heap_refill(pos);
        }
    }

    /// Moves the heap's last entry into the gap at `pos` and restores the
    /// order.
    #[cfg_attr(target_pointer_width = "64", inline(never))]
    fn heap_refill(&mut self, pos: usize) {
        let (last, last_key) = (self.heap_entry(self.heap_len), self.heap_key(self.heap_len));
        self.heap_set(pos, last, last_key);
        // It moves one way at most: below a parent with a later key it
        // goes up (its new children come after the one it replaced, so
        // after its parent too), else down (issue 9: one call).
        if pos > 0 && last_key < self.heap_key((pos - 1) / 2) {
            self.sift_up(pos);
        } else {
            self.sift_down(pos);
        }
    }

    /// Marks slot `i` (out of the schedule) due now, linking it at the
    /// ready queue's tail unless it is still linked from an earlier turn
    /// (then it keeps that place: the queue is only an order of service).
    fn ready_push(&mut self, i: u16) {
        let tail = self.ready_tail;
        let Some(s) = self.slot_mut(i) else { return };
        s.heap_pos = DUE_NOW;
        let linked = core::mem::replace(&mut s.ready_linked, true);
        self.ready_due += 1;
        if linked {
            return;
        }
        // An unlinked slot's `ready_next` is already NONE (`new`,
        // `ready_pop`), as the tail's must be.
        if let Some(t) = self.slot_mut(tail) {
            t.ready_next = i;
        } else {
            self.ready_head = i;
        }
        self.ready_tail = i;
    }

    /// The first slot on the ready queue that is still due, taken out of
    /// the schedule (the caller reschedules it once served); slots that
    /// stopped being due while they waited are unlinked on the way.
    fn ready_pop(&mut self) -> Option<u16> {
        while self.ready_due > 0 {
            let i = self.ready_head;
            let s = self.slot_mut(i)?;
            s.ready_linked = false;
            let due = s.heap_pos == DUE_NOW;
            if due {
                s.heap_pos = NONE;
            }
            self.ready_head = core::mem::replace(&mut s.ready_next, NONE);
            if self.ready_head == NONE {
                self.ready_tail = NONE;
            }
            if due {
                self.ready_due -= 1;
                return Some(i);
            }
        }
        None
    }

    /// Schedules slot `i` at `deadline`: `Instant::ZERO` (due now) on the
    /// ready queue, anything later in the heap.
    ///
    /// Always inlined on 64-bit hosts: `reschedule_at` calls it after
    /// nearly every segment and user call, and the call's register saves
    /// and restores cost about a quarter of its work (about 170
    /// instructions per connection in the connection-rate benchmark;
    /// plain `#[inline]` was not taken). Out of line on 32-bit targets
    /// (flash, issue 9).
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    pub(super) fn schedule(&mut self, i: u16, deadline: Instant) {
        let Some(s) = self.slot_mut(i) else { return };
        let mut pos = s.heap_pos;
        // `unschedule`'s work, written out on the slot already in hand:
        // calling it here cost about 150 instructions per connection in
        // the one-client benchmark (a second lookup, and the call).
        if deadline == Instant::ZERO {
            if pos != DUE_NOW {
                s.heap_pos = NONE;
                if pos != NONE {
                    self.heap_take(usize::from(pos));
                }
                self.ready_push(i);
            }
            return;
        }
        if pos == DUE_NOW {
            // It stays linked until `ready_pop` passes it.
            s.heap_pos = NONE;
            self.ready_due -= 1;
            pos = NONE;
        }
        if pos == NONE {
            let at = self.heap_len;
            self.heap_len += 1;
            self.heap_set(at, i, deadline);
            // The root has no parent to pass: no call (an empty heap, as a
            // handful of connections' often is; issue 9).
            if at > 0 {
                self.sift_up(at);
            }
            return;
        }
        let pos = usize::from(pos);
        let Some(entry) = self.slots.get_mut(pos) else {
            return;
        };
        let before = core::mem::replace(&mut entry.heap_key, deadline);
        // The common case on a busy connection is the same deadline
        // (usually "now") again: the heap is already in order.
        if deadline < before {
            // (Not at the root, which has no parent: no call.)
            if pos > 0 {
                self.sift_up(pos);
            }
        } else if deadline > before {
            self.sift_down(pos);
        }
    }

    /// When the table next needs polling: `Some(Instant::ZERO)` means now,
    /// `None` means only when a frame arrives or the user acts.
    pub fn poll_at(&self) -> Option<Instant> {
        if self.ready_due > 0 {
            return Some(Instant::ZERO);
        }
        if self.heap_len == 0 {
            return None;
        }
        Some(self.heap_key(0))
    }

    /// Whether a slot is due at `now` (what `next_due` would find, without
    /// taking it).
    #[cfg(target_pointer_width = "64")]
    #[inline]
    pub(super) fn due_by(&self, now: Instant) -> bool {
        self.ready_due > 0 || (self.heap_len > 0 && self.heap_key(0) <= now)
    }

    /// A slot due at `now` for `dispatch` to serve: one due now first, in
    /// the order they became due, then the earliest expired timer. The
    /// caller reschedules it once served.
    pub(super) fn next_due(&mut self, now: Instant) -> Option<u16> {
        match self.ready_pop() {
            Some(i) => Some(i),
            None if self.heap_len > 0 && self.heap_key(0) <= now => Some(self.heap_entry(0)),
            None => None,
        }
    }

    /// Makes due now up to `WAKE_LIMIT` slots whose deadlines fall after
    /// `now` and no later than `horizon`.
    ///
    /// A pass over the heap array, not a walk down from its top: a timer
    /// that expired but was not served yet (frames are taken in before
    /// `dispatch` runs) sits above the ones in the window.
    pub(super) fn advance_deadlines(&mut self, now: Instant, horizon: Instant) {
        let mut woken = [NONE; WAKE_LIMIT];
        let mut count = 0;
        for pos in 0..self.heap_len {
            let key = self.heap_key(pos);
            if key > now && key <= horizon {
                let Some(w) = woken.get_mut(count) else { break };
                *w = self.heap_entry(pos);
                count += 1;
            }
        }
        for &i in woken.iter().take(count) {
            self.schedule(i, now);
        }
    }
}

#[cfg(not(feature = "large-table"))]
impl<'a, const LOG: usize> SocketSet<'a, LOG> {
    /// Slot `i`'s deadline, `Instant::MAX` when out of the schedule.
    pub(super) fn deadline(&self, i: u16) -> Instant {
        self.slot(i).map_or(Instant::MAX, |s| s.due)
    }

    /// Schedules slot `i` at `deadline` (`Instant::ZERO`: due now).
    pub(super) fn schedule(&mut self, i: u16, deadline: Instant) {
        if let Some(s) = self.slot_mut(i) {
            s.due = deadline;
        }
    }

    /// Takes slot `i` out of the schedule.
    pub(super) fn unschedule(&mut self, i: u16) {
        self.schedule(i, Instant::MAX);
    }

    /// When the table next needs polling: `Some(Instant::ZERO)` means now,
    /// `None` means only when a frame arrives or the user acts.
    pub fn poll_at(&self) -> Option<Instant> {
        let earliest = self.held().iter().map(|s| s.due).min()?;
        (earliest != Instant::MAX).then_some(earliest)
    }

    /// A slot due at `now` for `dispatch` to serve: the earliest deadline,
    /// and among equal ones (several due now) the first after the slot
    /// served last, so that they take turns. The caller reschedules it
    /// once served.
    pub(super) fn next_due(&mut self, now: Instant) -> Option<u16> {
        let held = self.held();
        let start = usize::from(self.next_turn).min(held.len());
        let (before, after) = held.split_at_checked(start)?;
        let mut best: Option<(usize, Instant)> = None;
        for (k, s) in after.iter().chain(before).enumerate() {
            if s.due <= now && best.is_none_or(|(_, t)| s.due < t) {
                best = Some((k, s.due));
            }
        }
        let (k, _) = best?;
        // `checked_rem`: `held` is not empty here, and a `%` would leave
        // a divide-by-zero panic site (flash, issue 9).
        let i = (start + k).checked_rem(held.len())?;
        self.next_turn = u16::try_from(i + 1).unwrap_or(0);
        u16::try_from(i).ok()
    }

    /// Makes due now up to `WAKE_LIMIT` slots whose deadlines fall after
    /// `now` and no later than `horizon`.
    pub(super) fn advance_deadlines(&mut self, now: Instant, horizon: Instant) {
        let count = self.capacity();
        let mut woken = 0;
        for s in self.slots.iter_mut().take(count) {
            if woken < WAKE_LIMIT && s.due > now && s.due <= horizon {
                s.due = now;
                woken += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Either schedule against a plain model of deadlines: `deadline`,
    //! `poll_at` and `next_due` answer from the model after any sequence
    //! of schedules, removals and services.
    use super::super::test_slots::small_slots;
    use super::super::*;
    use proptest::prelude::*;

    const SLOTS: usize = 9;

    proptest! {
        #[test]
        /// Slot `SLOTS` stands for "serve one" at a time drawn with it
        /// (`next_due`, then an `unschedule` as `dispatch`'s reschedule
        /// may do).
        fn schedule_matches_a_model(ops in proptest::collection::vec((0..=SLOTS, proptest::option::of(prop_oneof![0u64..4, 0u64..40])), 1..200)) {
            let mut bufs = [[0u8; 8]; 2 * SLOTS];
            let mut slots = small_slots::<SLOTS>(&mut bufs);
            let mut set = SocketSet::new(&mut slots[..], [1; 16]);
            let mut model: [Option<u64>; SLOTS] = [None; SLOTS];
            for (i, deadline) in ops {
                if i == SLOTS {
                    let now = deadline.unwrap_or(0);
                    let earliest = model.iter().flatten().min().copied();
                    match set.next_due(Instant::from_micros(now)) {
                        Some(p) => {
                            let p = usize::from(p);
                            prop_assert_eq!(model[p], earliest, "slot {} served before an earlier one", p);
                            prop_assert!(model[p].is_some_and(|d| d <= now), "slot {} was not due", p);
                            set.unschedule(p as u16);
                            model[p] = None;
                        }
                        None => prop_assert!(earliest.is_none_or(|d| d > now), "a due slot was not served"),
                    }
                } else {
                    match deadline {
                        Some(t) => set.schedule(i as u16, Instant::from_micros(t)),
                        None => set.unschedule(i as u16),
                    }
                    model[i] = deadline;
                }
                for (s, d) in model.iter().enumerate() {
                    let want = d.map_or(Instant::MAX, Instant::from_micros);
                    prop_assert_eq!(set.deadline(s as u16), want, "slot {}", s);
                }
                let earliest = model.iter().flatten().min().map(|&t| Instant::from_micros(t));
                prop_assert_eq!(set.poll_at(), earliest);
            }
        }
    }

    /// Sockets due now take turns: one served and due again goes after the
    /// others (with the heap, to the ready queue's tail; with the scan,
    /// the search starts after it).
    #[test]
    fn sockets_due_now_take_turns() {
        let mut bufs = [[0u8; 8]; 6];
        let mut slots = small_slots::<3>(&mut bufs);
        let mut set = SocketSet::new(&mut slots[..], [1; 16]);
        for i in 0..3 {
            set.schedule(i, Instant::ZERO);
        }
        let now = Instant::from_micros(5);
        let mut served = [0u16; 6];
        for s in served.iter_mut() {
            let i = set.next_due(now).expect("three slots are due");
            set.schedule(i, Instant::ZERO);
            *s = i;
        }
        assert_eq!(served, [0, 1, 2, 0, 1, 2]);
    }

    /// `advance_deadlines` brings forward only deadlines in (now, horizon],
    /// also below an expired one that was not served yet.
    #[test]
    fn advance_deadlines_moves_only_the_window() {
        let mut bufs = [[0u8; 8]; 8];
        let mut slots = small_slots::<4>(&mut bufs);
        let mut set = SocketSet::new(&mut slots[..], [1; 16]);
        let at = Instant::from_micros;
        set.schedule(0, at(5));
        set.schedule(1, at(20));
        set.schedule(2, at(2_000));
        let (now, horizon) = (at(10), at(1_000));
        set.advance_deadlines(now, horizon);
        assert_eq!(set.deadline(0), at(5));
        assert_eq!(set.deadline(1), now);
        assert_eq!(set.deadline(2), at(2_000));
        assert_eq!(set.deadline(3), Instant::MAX);
    }
}

#[cfg(all(test, feature = "large-table"))]
mod heap_tests {
    //! The deadline heap against a plain model: after any sequence of
    //! updates and removals, every slot's position agrees with the heap
    //! array, parents are never later than children, and `poll_at` is the
    //! earliest deadline held.
    use super::super::test_slots::small_slots;
    use super::super::*;
    use proptest::prelude::*;

    const SLOTS: usize = 12;

    fn check(set: &SocketSet<'_, 2>, model: &[Option<u64>; SLOTS]) {
        // Due now (deadline 0): on the ready queue; later: in the heap.
        let due = model.iter().filter(|&&d| d == Some(0)).count();
        let held = model.iter().filter(|d| d.is_some()).count();
        assert_eq!(set.heap_len, held - due);
        assert_eq!(usize::from(set.ready_due), due);
        let mut linked = [false; SLOTS];
        let (mut cur, mut last) = (set.ready_head, NONE);
        while cur != NONE {
            let i = usize::from(cur);
            assert!(!linked[i], "slot {i} linked twice");
            linked[i] = true;
            assert!(set.slots[i].ready_linked);
            (last, cur) = (cur, set.slots[i].ready_next);
        }
        assert_eq!(set.ready_tail, last, "ready queue tail");
        for (i, d) in model.iter().enumerate() {
            assert_eq!(set.slots[i].ready_linked, linked[i], "slot {i} link flag");
            if *d == Some(0) {
                assert_eq!(set.slots[i].heap_pos, DUE_NOW, "slot {i} should be due now");
                assert!(linked[i], "slot {i} due but not queued");
            }
        }
        for pos in 0..set.heap_len {
            let i = set.heap_entry(pos);
            let slot = set.slot(i).expect("heap entry names a slot");
            assert_eq!(usize::from(slot.heap_pos), pos, "slot {i} misplaced");
            assert_eq!(
                Some(set.deadline(i).total_micros()),
                model[usize::from(i)],
                "slot {i} holds the wrong deadline"
            );
            if pos > 0 {
                assert!(
                    set.heap_key((pos - 1) / 2) <= set.heap_key(pos),
                    "heap order"
                );
            }
        }
        for (i, d) in model.iter().enumerate() {
            if d.is_none() {
                assert_eq!(set.slots[i].heap_pos, NONE, "slot {i} should be out");
            }
        }
        let earliest = model
            .iter()
            .flatten()
            .min()
            .map(|&t| Instant::from_micros(t));
        assert_eq!(set.poll_at(), earliest);
    }

    proptest! {
        #[test]
        /// Slot `SLOTS` stands for "serve the ready queue" (`ready_pop`,
        /// as `dispatch` does); deadlines 0..4 are common so that slots
        /// often become due, stop being due while queued, and come back.
        fn heap_matches_a_model(ops in proptest::collection::vec((0..=SLOTS, proptest::option::of(prop_oneof![0u64..4, 0u64..40])), 1..200)) {
            let mut bufs = [[0u8; 8]; 2 * SLOTS];
            let mut slots = small_slots::<SLOTS>(&mut bufs);
            let mut set = SocketSet::new(&mut slots[..], [1; 16]);
            let mut model = [None; SLOTS];
            for (i, deadline) in ops {
                if i == SLOTS {
                    match set.ready_pop() {
                        Some(p) => {
                            let p = usize::from(p);
                            prop_assert_eq!(model[p], Some(0), "popped slot {} was not due", p);
                            model[p] = None;
                        }
                        None => prop_assert!(!model.contains(&Some(0)), "a due slot was not served"),
                    }
                } else {
                    match deadline {
                        Some(t) => set.schedule(i as u16, Instant::from_micros(t)),
                        None => set.unschedule(i as u16),
                    }
                    model[i] = deadline;
                }
                check(&set, &model);
            }
        }
    }
}
