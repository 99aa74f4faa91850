//! Recycling TIME-WAIT slots when the table is full (opt-in).
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
//! TIME-WAIT ends first, as lwIP does when it runs out of control blocks
//! and as Linux does past `tcp_max_tw_buckets`. Only orphans are taken: a
//! socket whose handle the application still holds is never recycled. The
//! protection given up is partly kept by other means: ISNs grow with time
//! (RFC 6528), so a new incarnation of the same connection starts above
//! the old one's sequence space, and timestamps (RFC 7323 PAWS) reject old
//! duplicates where both ends use them.

use super::{Owner, SocketSet};

impl<'a, const LOG: usize> SocketSet<'a, LOG> {
    /// Let a new connection take the slot of the connection longest in
    /// TIME-WAIT when no slot is free (off by default; see the module
    /// `recycle` for the trade-off against RFC 9293's MUST-13). Each
    /// recycled slot counts in [`TcpStats::time_wait_recycled`](crate::tcp::TcpStats::time_wait_recycled).
    ///
    /// ```
    /// use rtcp_core::socket_set::{SocketSet, SocketSlot};
    /// let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    /// let mut storage = [SocketSlot::new(&mut rx[..], &mut tx[..])];
    /// let mut set = SocketSet::new(&mut storage[..], [7; 16]);
    /// set.set_time_wait_recycling(true);
    /// assert!(set.time_wait_recycling());
    /// ```
    pub fn set_time_wait_recycling(&mut self, enabled: bool) {
        self.recycle_time_wait = enabled;
    }

    /// Whether a full table recycles TIME-WAIT slots.
    pub fn time_wait_recycling(&self) -> bool {
        self.recycle_time_wait
    }

    /// A free slot for `owner`; with recycling on and none free, the slot
    /// of the orphan whose TIME-WAIT ends first, freed for it.
    pub(super) fn alloc_or_recycle(&mut self, owner: Owner) -> Option<u16> {
        if let Some(i) = self.alloc(owner) {
            return Some(i);
        }
        if !self.recycle_time_wait {
            return None;
        }
        let victim = self.oldest_time_wait()?;
        self.free(victim);
        crate::count(&mut self.stats.time_wait_recycled);
        self.alloc(owner)
    }

    /// The orphaned TIME-WAIT connection whose 2 MSL ends first. A scan,
    /// but only when the table is full and recycling is on.
    fn oldest_time_wait(&self) -> Option<u16> {
        let mut best: Option<(crate::time::Instant, u16)> = None;
        for (i, slot) in self.slots.iter().enumerate().take(self.capacity()) {
            if slot.owner != Owner::Orphan {
                continue;
            }
            let Some(end) = slot.socket.time_wait_end() else {
                continue;
            };
            if best.is_none_or(|(b, _)| end < b) {
                best = Some((end, u16::try_from(i).ok()?));
            }
        }
        best.map(|(_, i)| i)
    }
}
