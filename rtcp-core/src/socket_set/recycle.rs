//! Recycling TIME-WAIT slots when the table is full (opt-in at run time,
//! and compiled only with the cargo feature `time-wait-recycling`, one of
//! rtcp-core's defaults).
//!
//! RFC 9293 §3.6.1 (MUST-13) keeps an actively closed connection in
//! TIME-WAIT for 2 MSL, four minutes with the default MSL, so that a
//! delayed segment of it cannot be taken for part of a later connection
//! between the same two endpoints. In a fixed table that costs a slot per
//! closed connection for that long: a server with four slots that closes
//! first can then serve four connections per four minutes, and a table
//! full of TIME-WAIT drops every new SYN (the peer waits out its SYN
//! timeout, a second or more, before it tries again).
//!
//! With recycling on, a new connection that finds no free slot (an `open`,
//! or a SYN for a listener) takes the slot of the closed connection whose
//! TIME-WAIT ends first, as lwIP does when it runs out of control blocks.
//! (Linux, past `tcp_max_tw_buckets`, instead lets the connection closing
//! at that moment skip TIME-WAIT.) Only orphans are taken: a socket whose
//! handle the application still holds is never recycled, nor one that
//! still owes the peer an ACK (for a retransmitted FIN) while another
//! can go.
//!
//! What is given up: a delayed segment of the recycled connection can be
//! taken for part of a new connection with the same two endpoints.
//! Timestamps (RFC 7323 PAWS) reject such old duplicates where both ends
//! use them and the peer's timestamp clock runs on across connections;
//! nothing else does in general (RFC 6528 ISNs advance 250,000 a second,
//! so a connection that moved more than that per second leaves its
//! sequence numbers ahead of the next ISN). The risk is highest for an
//! application that `open`s, recycling a slot, and `connect`s from a
//! fixed local port to the same peer as the recycled connection: the
//! 4-tuple is then reused at once.
//!
//! Cost: finding the victim scans the table, only when it is full and
//! recycling is on, and only when the table owns at least one slot (an
//! orphan: the application closed it and the connection lingers). A SYN
//! flood against a table full of the application's live connections so
//! costs no scan per SYN; one against a full table that holds orphans
//! still scans (they may be in FIN-WAIT or LAST-ACK, not TIME-WAIT), at
//! most until they end or are taken. Without the feature
//! none of this is compiled (about 0.2 KB of Cortex-M4 flash, and the
//! table's switch): a full table keeps every TIME-WAIT for its 2 MSL, and
//! [`SocketSet::set_time_wait_recycling`]`(true)` returns
//! [`TcpError::Unsupported`].

use super::{Owner, SocketSet};
#[cfg(feature = "time-wait-recycling")]
use crate::tcp::socket::Flags;
use crate::tcp::TcpError;

impl<'a, const LOG: usize> SocketSet<'a, LOG> {
    /// Let a new connection take the slot of the connection longest in
    /// TIME-WAIT when no slot is free (off by default; see the module
    /// `recycle` for the trade-off against RFC 9293's MUST-13). Each
    /// recycled slot counts in [`TcpStats::time_wait_recycled`](crate::tcp::TcpStats::time_wait_recycled).
    ///
    /// Without the cargo feature `time-wait-recycling` (a default), turning
    /// it on returns [`TcpError::Unsupported`] and changes nothing;
    /// turning it off is accepted.
    ///
    /// ```
    /// use rtcp_core::socket_set::{SocketSet, SocketSlot};
    /// let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    /// let mut storage = [SocketSlot::new(&mut rx[..], &mut tx[..])];
    /// let mut set = SocketSet::new(&mut storage[..], [7; 16]);
    /// if set.set_time_wait_recycling(true).is_ok() {
    ///     assert!(set.time_wait_recycling());
    /// } else {
    ///     // Built without `time-wait-recycling`.
    ///     assert!(!set.time_wait_recycling());
    /// }
    /// ```
    pub fn set_time_wait_recycling(&mut self, enabled: bool) -> Result<(), TcpError> {
        #[cfg(feature = "time-wait-recycling")]
        {
            self.recycle_time_wait = enabled;
            Ok(())
        }
        #[cfg(not(feature = "time-wait-recycling"))]
        if enabled {
            Err(TcpError::Unsupported)
        } else {
            Ok(())
        }
    }

    /// Whether a full table recycles TIME-WAIT slots (never without the
    /// feature `time-wait-recycling`).
    pub fn time_wait_recycling(&self) -> bool {
        #[cfg(feature = "time-wait-recycling")]
        return self.recycle_time_wait;
        #[cfg(not(feature = "time-wait-recycling"))]
        false
    }

    /// A free slot for `owner`; with recycling on and none free, the slot
    /// of the orphan whose TIME-WAIT ends first, freed for it.
    // `alloc` has one call site here, and the full table's path is out of
    // line: with a second call to `alloc` for after the recycling, every
    // connection cost about 130 instructions more (the allocation was no
    // longer inlined into `open` and `accept_syn`).
    #[inline(always)]
    pub(super) fn alloc_or_recycle(&mut self, owner: Owner) -> Option<u16> {
        // Ends on the second turn at the latest: a recycled slot goes to
        // the head of the free list, where `alloc` takes it. (Written as
        // a loop so that `alloc` has one call site; unrolled, it cost 90
        // instructions per connection more.)
        #[cfg(feature = "time-wait-recycling")]
        loop {
            if let Some(i) = self.alloc(owner) {
                return Some(i);
            }
            if !self.recycle_oldest_time_wait() {
                return None;
            }
        }
        #[cfg(not(feature = "time-wait-recycling"))]
        self.alloc(owner)
    }

    /// With recycling on, free the slot of the orphan whose TIME-WAIT
    /// ends first; whether one was freed.
    #[cfg(feature = "time-wait-recycling")]
    #[cold]
    #[inline(never)]
    fn recycle_oldest_time_wait(&mut self) -> bool {
        if !self.recycle_time_wait || self.orphans == 0 {
            return false;
        }
        let Some(victim) = self.oldest_time_wait() else {
            return false;
        };
        self.free(victim);
        crate::count(&mut self.stats.time_wait_recycled);
        true
    }

    /// A slot just became the table's (`Owner::Orphan`).
    #[inline(always)]
    pub(super) fn orphaned(&mut self) {
        #[cfg(feature = "time-wait-recycling")]
        {
            self.orphans = self.orphans.saturating_add(1);
            self.debug_check_orphans();
        }
    }

    /// An orphan's slot was freed.
    #[inline(always)]
    pub(super) fn orphan_freed(&mut self) {
        #[cfg(feature = "time-wait-recycling")]
        {
            self.orphans = self.orphans.saturating_sub(1);
            self.debug_check_orphans();
        }
    }

    /// Debug builds: the count of orphans agrees with the slots.
    #[cfg(feature = "time-wait-recycling")]
    fn debug_check_orphans(&self) {
        debug_assert_eq!(
            usize::from(self.orphans),
            self.slots
                .iter()
                .take(self.capacity())
                .filter(|s| s.owner == Owner::Orphan)
                .count(),
            "the table's count of orphans is off"
        );
    }

    /// The orphaned TIME-WAIT connection whose 2 MSL ends first. A scan,
    /// but only when the table is full, recycling is on and it owns an
    /// orphan.
    #[cfg(feature = "time-wait-recycling")]
    fn oldest_time_wait(&self) -> Option<u16> {
        let mut best: Option<((bool, crate::time::Instant), u16)> = None;
        for (i, slot) in self.slots.iter().enumerate().take(self.capacity()) {
            if slot.owner != Owner::Orphan {
                continue;
            }
            let Some(end) = slot.socket.time_wait_end() else {
                continue;
            };
            // One that owes an ACK (the peer retransmitted its FIN) goes
            // last: taken, its peer's next FIN would draw a RST.
            let key = (slot.socket.hot.flags.get(Flags::ACK_NOW), end);
            if best.is_none_or(|(b, _)| key < b) {
                best = Some((key, u16::try_from(i).ok()?));
            }
        }
        best.map(|(_, i)| i)
    }
}

#[cfg(all(test, feature = "time-wait-recycling"))]
mod tests {
    use super::super::test_slots::small_slots;
    use super::super::*;

    /// Take a slot for `owner` and put its socket in TIME-WAIT until
    /// `end` µs, owing the peer an ACK or not.
    fn in_time_wait(set: &mut SocketSet<'_, 2>, owner: Owner, end: u64, owes_ack: bool) -> u16 {
        let i = set.alloc(owner).expect("a free slot");
        if owner == Owner::Orphan {
            set.orphaned();
        }
        let slot = set.slot_mut(i).expect("the slot just taken");
        slot.socket.hot.state = State::TimeWait;
        let timers = &mut slot.socket.timers;
        timers.rtx = timers.tick(Instant::from_micros(end), Instant::ZERO);
        slot.socket.hot.flags.set(Flags::ACK_NOW, owes_ack);
        i
    }

    /// The victims in order: orphans only, the earliest end first, one
    /// that owes an ACK last, and none once only the application's own
    /// TIME-WAIT socket is left; nothing at all with recycling off.
    #[test]
    fn recycles_orphans_earliest_end_first_and_those_owing_an_ack_last() {
        let mut bufs = [[0u8; 8]; 8];
        let mut slots = small_slots::<4>(&mut bufs);
        let mut set = SocketSet::new(&mut slots[..], [1; 16]);
        let owes_ack = in_time_wait(&mut set, Owner::Orphan, 100, true);
        let late = in_time_wait(&mut set, Owner::Orphan, 300, false);
        let early = in_time_wait(&mut set, Owner::Orphan, 200, false);
        let held = in_time_wait(&mut set, Owner::User, 50, false);
        assert_eq!(set.alloc_or_recycle(Owner::User), None, "off by default");
        assert_eq!(set.set_time_wait_recycling(true), Ok(()));
        for want in [early, late, owes_ack] {
            assert_eq!(set.alloc_or_recycle(Owner::User), Some(want));
        }
        assert_eq!(set.alloc_or_recycle(Owner::User), None);
        assert_eq!(set.stats().time_wait_recycled, 3);
        assert_eq!(set.slot(held).map(|s| s.owner), Some(Owner::User));
        assert_eq!(set.orphans, 0, "every orphan recycled");
    }

    /// The count of orphans follows close, abort and the frees that end
    /// them, and a full table of the application's own sockets, with no
    /// orphan, finds no victim.
    #[test]
    fn orphans_are_counted_and_none_means_no_victim() {
        let mut bufs = [[0u8; 8]; 6];
        let mut slots = small_slots::<3>(&mut bufs);
        let mut set = SocketSet::new(&mut slots[..], [1; 16]);
        assert_eq!(set.set_time_wait_recycling(true), Ok(()));
        let handles: [SocketHandle; 3] = core::array::from_fn(|_| set.open().expect("a free slot"));
        assert_eq!(set.open(), Err(TcpError::TableFull), "full, no orphan");
        assert_eq!(set.orphans, 0);
        // A TIME-WAIT socket the application still holds is no victim;
        // once closed, it is the table's, counted, and taken.
        let held = handles[0].index;
        if let Some(slot) = set.slot_mut(held) {
            slot.socket.hot.state = State::TimeWait;
            let timers = &mut slot.socket.timers;
            timers.rtx = timers.tick(Instant::from_micros(500), Instant::ZERO);
        }
        assert_eq!(set.alloc_or_recycle(Owner::User), None);
        assert_eq!(set.close(handles[0]), Ok(()));
        assert_eq!(set.orphans, 1, "a closed TIME-WAIT socket lingers");
        let taken = set.open().expect("the orphan's slot, recycled");
        assert_eq!(taken.index, held);
        assert_eq!(set.orphans, 0);
        assert_eq!(set.stats().time_wait_recycled, 1);
        // Closing a CLOSED socket orphans it and frees it at once.
        assert_eq!(set.close(handles[1]), Ok(()));
        assert_eq!(set.orphans, 0);
        assert!(set
            .slot(handles[1].index)
            .is_some_and(|s| s.owner == Owner::Free));
        let again = set.open().expect("the freed slot");
        // Aborting one orphans it too, and the free that follows its
        // reset (nothing to send from CLOSED) uncounts it.
        assert_eq!(set.abort(again), Ok(()));
        assert_eq!(set.orphans, 0);
        assert_eq!(set.abort(handles[2]), Ok(()));
        assert_eq!(set.orphans, 0);
    }
}

#[cfg(all(test, not(feature = "time-wait-recycling")))]
mod tests_without {
    use super::super::test_slots::small_slots;
    use super::super::*;

    /// Without the feature: on is refused, off accepted, and a full table
    /// has nothing to recycle.
    #[test]
    fn recycling_is_unsupported() {
        let mut bufs = [[0u8; 8]; 2];
        let mut slots = small_slots::<1>(&mut bufs);
        let mut set = SocketSet::<2>::new(&mut slots[..], [1; 16]);
        assert_eq!(
            set.set_time_wait_recycling(true),
            Err(TcpError::Unsupported)
        );
        assert_eq!(set.set_time_wait_recycling(false), Ok(()));
        assert!(!set.time_wait_recycling());
        assert!(set.alloc_or_recycle(Owner::User).is_some());
        assert_eq!(set.alloc_or_recycle(Owner::User), None);
    }
}
