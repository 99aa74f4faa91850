//! The socket table: fixed slots, generational handles, an index on the
//! 4-tuple (`index.rs`), a schedule of deadlines (`schedule.rs`), listen
//! backlogs and accept queues. The application's calls (listen … abort)
//! are in `calls.rs`; this file keeps the slots, their allocation and
//! scheduling, and the interface's side (input, ICMP errors, dispatch).
//!
//! Storage is supplied by the caller (a `&mut [SocketSlot]` on a
//! microcontroller, a `Vec` on a host through `managed`). Each slot owns its
//! receive and send buffers for the life of the table, so a listener's
//! children need no allocation: a SYN takes a free slot, buffers and all.
//!
//! With the `large-table` feature (a default) nothing here scans the table
//! per packet (except a full table recycling TIME-WAIT, `recycle.rs`): demultiplexing is a hash lookup (the bucket heads and chain
//! links live inside the slots), the next deadline is the top of a binary
//! heap (also spread over the slots), free slots form a linked list, and a
//! listener's established children queue in an intrusive list. Without it
//! the index and the schedule scan the slots instead, the choice for a
//! device with a handful of sockets: less code and RAM, no slower there.
//!
//! When the table or a backlog is full an incoming SYN is dropped silently
//! and counted ([`TcpStats::backlog_full`], [`TcpStats::table_full`]): the
//! peer retransmits its SYN and gets in once a slot frees up, as with Linux.
//! Connections in TIME-WAIT hold their slots for 2 MSL; with
//! [`SocketSet::set_time_wait_recycling`] a full table gives the oldest of
//! them to the new connection instead (`recycle.rs`).

use crate::tcp::ip::IpParams;
use crate::tcp::isn::IsnGenerator;
use crate::tcp::output::{Dispatched, PollAt};
use crate::tcp::scoreboard::LOG_CAPACITY;
use crate::tcp::socket::Flags;
use crate::tcp::{Endpoint, IcmpError, State, TcpConfig, TcpError, TcpSocket, TcpStats};
use crate::time::Instant;
use crate::wire::icmpv4::Icmpv4Quote;
use crate::wire::{
    Ecn, Ipv4Address, Ipv4Cidr, Ipv4Repr, SeqNumber, SourceRoute, TcpFlags, TcpRepr,
};
#[cfg(feature = "large-table")]
use core::cell::Cell;
use index::Bucket;
#[cfg(feature = "large-table")]
use index::HEADS_PER_SLOT;
use managed::ManagedSlice;

mod calls;
mod index;
mod recycle;
mod schedule;

const NONE: u16 = u16::MAX;
/// `heap_pos` of a slot due now: it waits on the ready queue, not in the
/// heap (no valid index or heap position takes this value: see `MAX_SLOTS`).
#[cfg(feature = "large-table")]
const DUE_NOW: u16 = u16::MAX - 1;

/// Most slots a table can have (indices are 16-bit, one value is reserved).
pub const MAX_SLOTS: usize = (u16::MAX - 1) as usize;
const EPHEMERAL_FIRST: u16 = 49152;
/// Most sockets one ARP reply wakes (`SocketSet::wake_deferred`).
const WAKE_LIMIT: usize = 64;

/// A reference to a socket in a [`SocketSet`]. Stale handles (the socket was
/// closed and the slot reused) are refused with [`TcpError::InvalidHandle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SocketHandle {
    index: u16,
    generation: u16,
}

impl SocketHandle {
    /// The slot index (stable while the handle is valid).
    pub fn index(&self) -> usize {
        usize::from(self.index)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// On the free list.
    Free,
    /// The user holds a handle.
    User,
    /// The user closed it; it lingers until CLOSED (FIN exchange, TIME-WAIT).
    Orphan,
    /// A listener's child, not yet accepted.
    Child { listener: u16 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
struct Key {
    local: Endpoint,
    remote: Endpoint,
}

/// One entry of the socket table: a socket with its buffers plus the
/// table's bookkeeping.
#[derive(Debug)]
///
/// `LOG` is the capacity of each connection's send log (SACK scoreboard /
/// RACK records, see [`SendLog`](crate::tcp::scoreboard::SendLog)),
/// [`LOG_CAPACITY`] unless built with [`SocketSlot::with_log`].
pub struct SocketSlot<'a, const LOG: usize = LOG_CAPACITY> {
    socket: TcpSocket<'a, LOG>,
    owner: Owner,
    generation: u16,
    // Hash index: the heads of buckets `HEADS_PER_SLOT * i ..` (for slot
    // `i`; see `HEADS_PER_SLOT`), the chain link of this slot, and the
    // bucket of its key while it has one.
    #[cfg(feature = "large-table")]
    bucket_heads: [u16; HEADS_PER_SLOT],
    #[cfg(feature = "large-table")]
    chain_next: u16,
    #[cfg(feature = "large-table")]
    bucket: u16,
    key: Option<Key>,
    // Deadline heap: the heap array's entry at this index and its
    // deadline (kept here, beside the entry, so that a sift compares
    // without reaching into a second slot), and this slot's position in
    // the heap.
    #[cfg(feature = "large-table")]
    heap_entry: u16,
    #[cfg(feature = "large-table")]
    heap_pos: u16,
    #[cfg(feature = "large-table")]
    heap_key: Instant,
    // Ready queue: this slot's link, and whether it is linked (it may stay
    // linked after it stopped being due: see `SocketSet::ready_push`).
    #[cfg(feature = "large-table")]
    ready_next: u16,
    #[cfg(feature = "large-table")]
    ready_linked: bool,
    // Without the heap: this slot's own deadline (`Instant::MAX`: none).
    #[cfg(not(feature = "large-table"))]
    due: Instant,
    // Free list / accept queue link.
    next: u16,
    // Listener bookkeeping.
    accept_head: u16,
    accept_tail: u16,
    children: u16,
    queued: bool,
    // The socket is as `open` left it (reset, untouched since), so
    // `connect` need not reset it again.
    fresh: bool,
}

impl<'a> SocketSlot<'a> {
    /// A slot whose connections use these receive and send buffers, with a
    /// send log of the default capacity ([`LOG_CAPACITY`]).
    pub fn new(
        rx_buffer: impl Into<ManagedSlice<'a, u8>>,
        tx_buffer: impl Into<ManagedSlice<'a, u8>>,
    ) -> SocketSlot<'a> {
        SocketSlot::with_log(rx_buffer, tx_buffer)
    }
}

impl<'a, const LOG: usize> SocketSlot<'a, LOG> {
    /// A slot whose connections use these receive and send buffers and a
    /// send log of `LOG` records (at least 2, checked at compile time).
    /// Each record takes 36 bytes; with fewer records than segments in
    /// flight the newest transmissions share records, so SACK and RACK
    /// loss detection get coarser on large windows (never wrong). A small
    /// device with small buffers loses nothing by choosing about as many
    /// records as full segments fit in its send buffer.
    ///
    /// ```
    /// use rtcp_core::socket_set::{SocketSet, SocketSlot};
    /// let (mut rx, mut tx) = ([0u8; 1024], [0u8; 1024]);
    /// let mut storage = [SocketSlot::<'_, 4>::with_log(&mut rx[..], &mut tx[..])];
    /// let set = SocketSet::new(&mut storage[..], [7; 16]);
    /// assert_eq!(set.capacity(), 1);
    /// ```
    pub fn with_log(
        rx_buffer: impl Into<ManagedSlice<'a, u8>>,
        tx_buffer: impl Into<ManagedSlice<'a, u8>>,
    ) -> SocketSlot<'a, LOG> {
        SocketSlot {
            socket: TcpSocket::with_log(rx_buffer, tx_buffer),
            owner: Owner::Free,
            generation: 0,
            #[cfg(feature = "large-table")]
            bucket_heads: [NONE; HEADS_PER_SLOT],
            #[cfg(feature = "large-table")]
            chain_next: NONE,
            #[cfg(feature = "large-table")]
            bucket: 0,
            key: None,
            #[cfg(feature = "large-table")]
            heap_entry: NONE,
            #[cfg(feature = "large-table")]
            heap_pos: NONE,
            #[cfg(feature = "large-table")]
            heap_key: Instant::MAX,
            #[cfg(feature = "large-table")]
            ready_next: NONE,
            #[cfg(feature = "large-table")]
            ready_linked: false,
            #[cfg(not(feature = "large-table"))]
            due: Instant::MAX,
            next: NONE,
            accept_head: NONE,
            accept_tail: NONE,
            children: 0,
            queued: false,
            fresh: false,
        }
    }
}

/// Why a segment could not be emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmitError {
    /// The device has no transmit buffer now: stop and retry on the next poll.
    Exhausted,
    /// The next hop is not resolved yet: retry this socket at the given time.
    Unaddressable(Instant),
}

/// A RST the interface should send for a segment that matched no
/// connection (RFC 9293 §3.10.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResetReply {
    pub seq: SeqNumber,
    pub ack: Option<SeqNumber>,
}

/// The socket table.
// Field order: without `large-table`, 32-bit targets keep this order
// (`repr(C)`), so that the slots and the four `u16` indices every call
// reads come first, where Thumb's 2-byte loads reach them (halfwords
// within 62 bytes, words within 124), then the 8-aligned ISN key and
// counters (at offset 16, no padding, where `ManagedSlice` is 8 bytes as
// in a no_std build; managed's `std` feature makes it 12, and 4 bytes of
// padding follow it). Left to the compiler the slots came
// after the 120-byte counters (flash, issue 9). Hosts and the heap-indexed
// table keep the compiler's order.
#[derive(Debug)]
#[cfg_attr(
    all(target_pointer_width = "32", not(feature = "large-table")),
    repr(C)
)]
pub struct SocketSet<'a, const LOG: usize = LOG_CAPACITY> {
    slots: ManagedSlice<'a, SocketSlot<'a, LOG>>,
    free_head: u16,
    #[cfg(feature = "large-table")]
    heap_len: usize,
    /// Sockets due now, first in first out: kept out of the heap, where
    /// each would sift to the top when it became due and back down once
    /// served, writing its position into a slot at every level. With many
    /// connections those slots are cache and TLB misses (about a tenth of
    /// the 64-client connection benchmark's time went to the heap's sifts).
    #[cfg(feature = "large-table")]
    ready_head: u16,
    #[cfg(feature = "large-table")]
    ready_tail: u16,
    /// How many slots are due now (`heap_pos == DUE_NOW`); the queue may
    /// also hold slots that stopped being due before they were served.
    #[cfg(feature = "large-table")]
    ready_due: u16,
    /// Without the heap: where `next_due`'s search starts, one after the
    /// slot it found last, so that sockets due together take turns.
    #[cfg(not(feature = "large-table"))]
    next_turn: u16,
    /// A connection whose heap deadline is stale: `process` defers its
    /// reschedule while frames keep arriving for it (see `settle`).
    pending: u16,
    /// The slot the last successful lookup found: consecutive frames are
    /// mostly for one connection, and checking its key first skips the
    /// bucket head, which sits in some other slot (in a large table, a
    /// cache and TLB miss per frame).
    #[cfg(feature = "large-table")]
    last_found: Cell<u16>,
    /// The listener the last SYN found (`lookup_listener`).
    #[cfg(feature = "large-table")]
    last_listener: Cell<u16>,
    /// A listener was ever indexed (`listen`): until then no key without
    /// a remote endpoint is held, and `pick_ephemeral` need not look one
    /// up (a client's every `connect`, issue 9).
    #[cfg(feature = "large-table")]
    listened: bool,
    #[cfg(feature = "large-table")]
    hash_seed: u64,
    next_ephemeral: u16,
    isn: IsnGenerator,
    stats: TcpStats,
    default_config: crate::tcp::config::SocketConfig,
    pub(crate) local_mss: usize,
    /// The device's TCP segmentation offload limit (0: none), set by the
    /// interface on every poll (`phy::Device::tso_max_size`), or
    /// [`SOFT_TSO`](crate::tcp::SOFT_TSO) when the interface cuts
    /// super-segments itself. Only with the `tso` feature: without it a
    /// segment is never above one MSS.
    #[cfg(feature = "tso")]
    pub(crate) tso_max: usize,
    /// The interface's address and prefix, once it has polled us.
    pub(crate) subnet: Option<Ipv4Cidr>,
    /// A full table recycles the oldest TIME-WAIT slot (`recycle.rs`).
    #[cfg(feature = "time-wait-recycling")]
    recycle_time_wait: bool,
    /// How many slots the table owns (`Owner::Orphan`): a full table with
    /// none has no TIME-WAIT victim, and a SYN need not scan for one.
    #[cfg(feature = "time-wait-recycling")]
    orphans: u16,
}

impl<'a, const LOG: usize> SocketSet<'a, LOG> {
    /// A table over `slots`, with `secret` keying ISNs and the hash index
    /// (supply 16 random bytes).
    ///
    /// ```
    /// use rtcp_core::socket_set::{SocketSet, SocketSlot};
    /// // Static-friendly storage, as on a microcontroller: two slots,
    /// // each with 1 KiB receive and send buffers.
    /// let (mut rx, mut tx) = ([[0u8; 1024]; 2], [[0u8; 1024]; 2]);
    /// let ([rx0, rx1], [tx0, tx1]) = (&mut rx, &mut tx);
    /// let mut storage = [
    ///     SocketSlot::new(&mut rx0[..], &mut tx0[..]),
    ///     SocketSlot::new(&mut rx1[..], &mut tx1[..]),
    /// ];
    /// let mut set = SocketSet::new(&mut storage[..], [7; 16]);
    /// let h = set.open().unwrap();
    /// assert_eq!(set.capacity(), 2);
    /// # let _ = h;
    /// ```
    pub fn new(
        slots: impl Into<ManagedSlice<'a, SocketSlot<'a, LOG>>>,
        secret: [u8; 16],
    ) -> SocketSet<'a, LOG> {
        let mut slots = slots.into();
        let len = slots.len().min(MAX_SLOTS);
        for (i, slot) in slots.iter_mut().enumerate() {
            slot.owner = Owner::Free;
            slot.key = None;
            #[cfg(feature = "large-table")]
            {
                slot.bucket_heads = [NONE; HEADS_PER_SLOT];
                slot.chain_next = NONE;
                slot.heap_pos = NONE;
                slot.heap_entry = NONE;
                slot.ready_next = NONE;
                slot.ready_linked = false;
            }
            #[cfg(not(feature = "large-table"))]
            {
                slot.due = Instant::MAX;
            }
            slot.next = if i + 1 < len { (i + 1) as u16 } else { NONE };
        }
        let isn = IsnGenerator::new(secret);
        // `hash(b"rtcp socket table")`, from its words worked out at compile
        // time (no byte path in a firmware; `isn::words`).
        const SEED_WORDS: [u64; 3] = crate::tcp::isn::words(b"rtcp socket table");
        let hash_seed = isn.hash_words(&SEED_WORDS) | 1;
        SocketSet {
            slots,
            free_head: if len > 0 { 0 } else { NONE },
            #[cfg(feature = "large-table")]
            heap_len: 0,
            #[cfg(feature = "large-table")]
            ready_head: NONE,
            #[cfg(feature = "large-table")]
            ready_tail: NONE,
            #[cfg(feature = "large-table")]
            ready_due: 0,
            #[cfg(not(feature = "large-table"))]
            next_turn: 0,
            pending: NONE,
            #[cfg(feature = "large-table")]
            last_found: Cell::new(NONE),
            #[cfg(feature = "large-table")]
            last_listener: Cell::new(NONE),
            #[cfg(feature = "large-table")]
            listened: false,
            isn,
            #[cfg(feature = "large-table")]
            hash_seed,
            next_ephemeral: EPHEMERAL_FIRST + crate::time::div_rem_small(hash_seed, 1000).1 as u16,
            default_config: crate::tcp::config::SocketConfig::default(),
            local_mss: 1460,
            #[cfg(feature = "tso")]
            tso_max: 0,
            subnet: None,
            #[cfg(feature = "time-wait-recycling")]
            recycle_time_wait: false,
            #[cfg(feature = "time-wait-recycling")]
            orphans: 0,
            stats: TcpStats::default(),
        }
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.slots.len().min(MAX_SLOTS)
    }

    /// The slots the table uses (all of them, up to `MAX_SLOTS`): what the
    /// scanning index and schedule look through.
    // Out of line on 32-bit targets (flash, issue 9: two inlined copies
    // in the firmware build); inlined on 64-bit hosts as before.
    #[cfg(not(feature = "large-table"))]
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    fn held(&self) -> &[SocketSlot<'a, LOG>] {
        self.slots.get(..self.capacity()).unwrap_or_default()
    }

    /// Counters.
    pub fn stats(&self) -> TcpStats {
        self.stats
    }

    /// The configuration new sockets start with.
    pub fn set_default_config(&mut self, config: TcpConfig) {
        self.default_config = crate::tcp::config::SocketConfig::new(&config);
    }

    fn slot(&self, i: u16) -> Option<&SocketSlot<'a, LOG>> {
        self.slots.get(usize::from(i))
    }

    fn slot_mut(&mut self, i: u16) -> Option<&mut SocketSlot<'a, LOG>> {
        self.slots.get_mut(usize::from(i))
    }

    // Left to the compiler on every target: forced out of line on 32-bit
    // ones (session 16) it cost 8 to 32 B of flash by session 17 (issue 9).
    fn check(&self, h: SocketHandle) -> Result<u16, TcpError> {
        match self.slot(h.index) {
            Some(s) if s.generation == h.generation && s.owner == Owner::User => Ok(h.index),
            _ => Err(TcpError::InvalidHandle),
        }
    }

    // ----- slot allocation -----

    fn alloc(&mut self, owner: Owner) -> Option<u16> {
        let i = self.free_head;
        let config = self.default_config;
        let slot = self.slot_mut(i)?;
        let next = slot.next;
        slot.owner = owner;
        slot.next = NONE;
        slot.generation = slot.generation.wrapping_add(1);
        slot.accept_head = NONE;
        slot.accept_tail = NONE;
        slot.children = 0;
        slot.queued = false;
        slot.fresh = false;
        // The socket itself is reset by the caller, `open` for the user or
        // `accept_syn` for a listener's child (resetting here too reset a
        // child twice before its first segment).
        slot.socket.set_pending_rst(None);
        let _ = slot.socket.set_source_route(None);
        slot.socket.config = config;
        self.free_head = next;
        Some(i)
    }

    fn free(&mut self, i: u16) {
        if self.pending == i {
            self.pending = NONE;
        }
        self.unindex(i);
        self.unschedule(i);
        let head = self.free_head;
        if let Some(slot) = self.slot_mut(i) {
            if slot.owner == Owner::Free {
                return;
            }
            let was_orphan = slot.owner == Owner::Orphan;
            slot.owner = Owner::Free;
            slot.generation = slot.generation.wrapping_add(1);
            // The rest of the socket is left as it was: nothing reads a
            // free slot's socket (no handle, no index entry, no deadline),
            // and `open` or `accept_syn` resets it for its next connection.
            slot.socket.set_pending_rst(None);
            slot.socket.hot.state = State::Closed;
            slot.next = head;
            self.free_head = i;
            if was_orphan {
                self.orphan_freed();
            }
        }
    }

    /// Take a free slot for a new socket (CLOSED, default configuration).
    pub fn open(&mut self) -> Result<SocketHandle, TcpError> {
        let i = self
            .alloc_or_recycle(Owner::User)
            .ok_or(TcpError::TableFull)?;
        let slot = self.slot_mut(i).ok_or(TcpError::TableFull)?;
        slot.socket.reset();
        slot.socket.forget_past();
        slot.fresh = true;
        let generation = slot.generation;
        Ok(SocketHandle {
            index: i,
            generation,
        })
    }

    /// The socket behind a handle.
    pub fn get(&self, h: SocketHandle) -> Result<&TcpSocket<'a, LOG>, TcpError> {
        let i = self.check(h)?;
        self.slot(i)
            .map(|s| &s.socket)
            .ok_or(TcpError::InvalidHandle)
    }

    /// Act on the socket behind a handle; the table reschedules it after.
    pub fn with<R>(
        &mut self,
        h: SocketHandle,
        f: impl FnOnce(&mut TcpSocket<'a, LOG>) -> R,
    ) -> Result<R, TcpError> {
        let i = self.check(h)?;
        let r = match self.slot_mut(i) {
            Some(s) => {
                s.fresh = false;
                f(&mut s.socket)
            }
            None => return Err(TcpError::InvalidHandle),
        };
        self.reschedule(i);
        Ok(r)
    }

    /// Recompute a slot's deadline after anything touched it, free it if it
    /// is an orphan or unaccepted child that reached CLOSED, and queue a
    /// child that became established on its listener's accept queue.
    /// Out of line on 32-bit targets: inlined, its specialised copy of
    /// `reschedule_at` was in flash twice (issue 9).
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    fn reschedule(&mut self, i: u16) {
        self.reschedule_at(i, None);
    }

    /// `reschedule`, with the socket's deadline in the table
    /// (`PollAt::table_deadline` of its `poll_at`) when the caller already
    /// has it. Out of line (64-bit hosts: see `reschedule_inline`).
    #[cfg_attr(target_pointer_width = "64", inline(never))]
    fn reschedule_at(&mut self, i: u16, known: Option<Instant>) {
        self.reschedule_inline(i, known);
    }

    /// `reschedule_at`, always inlined on 64-bit hosts: for `dispatch`,
    /// which reschedules every socket it serves (about 11 times per
    /// connection in the connection-rate benchmark), where the call's
    /// register saves and restores cost about 20 instructions each.
    /// Inlined at every call site it cost bulk transfers 6 Ir per KiB.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    fn reschedule_inline(&mut self, i: u16, known: Option<Instant>) {
        let Some(slot) = self.slot(i) else { return };
        let owner = slot.owner;
        let state = slot.socket.hot.state;
        let has_rst = slot.socket.hot.flags.get(Flags::RST_OWED);
        if owner == Owner::Free {
            return;
        }
        if state == State::Closed {
            self.unindex(i);
            if !has_rst {
                match owner {
                    Owner::Orphan => return self.free(i),
                    Owner::Child { listener } => {
                        let queued = self.slot(i).is_some_and(|s| s.queued);
                        if !queued {
                            if let Some(l) = self.slot_mut(listener) {
                                l.children = l.children.saturating_sub(1);
                            }
                            return self.free(i);
                        }
                    }
                    _ => {}
                }
            }
        }
        // A CLOSED socket the table keeps was reset (`TcpSocket::finish`
        // skips that only for an orphan with no RST owed, freed above): no
        // timer of its last connection is left.
        debug_assert!(
            state != State::Closed || self.slot(i).is_none_or(|s| s.socket.timers_idle()),
            "a CLOSED socket kept in the table was not reset"
        );
        if let Owner::Child { listener } = owner {
            let queued = self.slot(i).is_some_and(|s| s.queued);
            if !queued && !matches!(state, State::SynReceived | State::Closed) {
                self.enqueue_accept(listener, i);
            }
        }
        // Fuzzing runs with debug assertions: it checks the shortcut.
        debug_assert!(
            known.is_none()
                || known == Some(table_deadline(self.slot(i).map(|s| s.socket.poll_at())))
        );
        let deadline = known.unwrap_or_else(|| {
            self.slot(i)
                .map_or(Instant::MAX, |s| s.socket.table_deadline())
        });
        if deadline == Instant::MAX {
            self.unschedule(i);
        } else {
            self.schedule(i, deadline);
        }
    }

    fn enqueue_accept(&mut self, listener: u16, child: u16) {
        if let Some(c) = self.slot_mut(child) {
            c.queued = true;
            c.next = NONE;
        }
        let Some(l) = self.slot_mut(listener) else {
            return;
        };
        let tail = core::mem::replace(&mut l.accept_tail, child);
        if tail == NONE {
            l.accept_head = child;
        } else if let Some(t) = self.slot_mut(tail) {
            t.next = child;
        }
    }

    // ----- the interface's side -----

    /// Deliver a segment that came in the IPv4 datagram `ip` (its
    /// addresses and ECN field); `back` is the reverse of the source route
    /// the datagram recorded, if any. Returns a RST to send when nothing
    /// matched (§3.10.7.1) or a listener refused an ACK.
    ///
    /// Always inlined on 64-bit hosts into its one caller, the interface's
    /// TCP input: every received segment paid for the call and the
    /// registers saved around it (bulk −38 Ir per KiB, connections −220,
    /// `BENCHMARKS.md` "Session 16: bulk"). 32-bit targets leave it to the
    /// compiler (flash).
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    pub(crate) fn process(
        &mut self,
        now: Instant,
        ip: &Ipv4Repr,
        seg: &TcpRepr,
        back: Option<&SourceRoute>,
    ) -> Option<ResetReply> {
        let local = Endpoint::new(ip.dst_addr, seg.dst_port);
        let remote = Endpoint::new(ip.src_addr, seg.src_port);
        let ecn = Ecn::from_bits(ip.dscp_ecn);
        // RFC 9293 §3.10.7: the connection of the 4-tuple first; on a miss
        // `find` hands back the key's bucket, where a SYN's child goes.
        let bucket = match self.find(&Key { local, remote }) {
            Ok(i) => {
                let stats = &mut self.stats;
                if let Some(slot) = self.slots.get_mut(usize::from(i)) {
                    if let Some(back) = back {
                        // RFC 1122 §4.2.3.8: a later source route overrides the
                        // saved one, unless the application set it (MUST-52).
                        if slot.socket.hot.state != State::Listen {
                            slot.socket.route.received(back);
                        }
                    }
                    let before = slot.socket.hot.state;
                    slot.socket.process_with_ecn(now, seg, ecn, stats);
                    let after = slot.socket.hot.state;
                    if after != before {
                        net_debug!(
                            "tcp {} <- {}: {} -> {}",
                            local.port,
                            remote.port,
                            before,
                            after
                        );
                    } else if after.is_synchronized() {
                        self.settle(i);
                        return None;
                    }
                }
                if self.pending == i {
                    self.pending = NONE;
                }
                // Inlined on 64-bit hosts (connections −23 Ir); out of line
                // on 32-bit targets, where inlining cost 4 B of flash.
                if cfg!(target_pointer_width = "64") {
                    self.reschedule_inline(i, None);
                } else {
                    self.reschedule(i);
                }
                return None;
            }
            Err(bucket) => bucket,
        };
        let listener = self
            .lookup_listener(&Key {
                local,
                remote: Endpoint::default(),
            })
            .or_else(|| {
                self.lookup_listener(&Key {
                    local: Endpoint::new(Ipv4Address::UNSPECIFIED, seg.dst_port),
                    remote: Endpoint::default(),
                })
            });
        match listener {
            Some(l) => self.listen_input(now, l, local, remote, seg, back, bucket),
            None => reset_for(seg),
        }
    }

    /// Defers rescheduling connection `i` after a segment that left it in
    /// the same synchronized state, until a frame for another socket, or
    /// anything else that reads the deadline heap, comes first
    /// ([`flush_pending`](Self::flush_pending); `dispatch` starts with it).
    ///
    /// A poll's frames mostly come in runs for one connection (a window of
    /// data, a train of ACKs), and the reschedule (the socket's `poll_at`
    /// plus a heap update) cost about as much as header prediction's whole
    /// fast path; only the last one of a run matters. Nothing between two
    /// frames needs it: timers fire in `dispatch`, and the table work a
    /// reschedule may do (freeing a CLOSED socket, queueing an established
    /// child for `accept`) follows a change of state, which is never
    /// deferred.
    fn settle(&mut self, i: u16) {
        if self.pending != i {
            self.flush_pending();
            self.pending = i;
        }
    }

    /// Reschedules the connection [`settle`](Self::settle) left pending.
    // Out of line on 32-bit targets (flash, issue 9: two inlined copies
    // in the firmware build); inlined on 64-bit hosts as before.
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    fn flush_pending(&mut self) {
        let i = core::mem::replace(&mut self.pending, NONE);
        if i != NONE {
            self.reschedule(i);
        }
    }

    /// RFC 9293 §3.10.7.2, LISTEN.
    ///
    /// Inlined into `process`, its one caller, on 32-bit targets: out of
    /// line it once made the minimal Cortex-M4 build 108 B smaller, but
    /// since `accept_syn` is inlined into it, inlining it saves 48 B
    /// (issue 9, session 26).
    #[cfg_attr(target_pointer_width = "32", inline(always))]
    #[allow(clippy::too_many_arguments)]
    fn listen_input(
        &mut self,
        now: Instant,
        l: u16,
        local: Endpoint,
        remote: Endpoint,
        seg: &TcpRepr,
        back: Option<&SourceRoute>,
        bucket: Bucket,
    ) -> Option<ResetReply> {
        self.flush_pending();
        let flags = seg.flags;
        if flags.rst() {
            return None;
        }
        if flags.ack() {
            return Some(ResetReply {
                seq: seg.ack_number,
                ack: None,
            });
        }
        if !flags.syn() {
            return None;
        }
        let Some((listener_config, listener_route)) = self
            .slot(l)
            .filter(|s| s.children < s.socket.backlog)
            .map(|s| (s.socket.config, s.socket.route))
        else {
            crate::count(&mut self.stats.backlog_full);
            return None;
        };
        let Some(c) = self.alloc_or_recycle(Owner::Child { listener: l }) else {
            crate::count(&mut self.stats.table_full);
            return None;
        };
        let (iss, ts_offset) =
            self.isn
                .isn_and_ts_offset(now, (local.addr, local.port), (remote.addr, remote.port));
        let local_mss = self.local_mss;
        if let Some(s) = self.slot_mut(c) {
            s.socket.config = listener_config;
            // The listener's route (the application's) is inherited; else
            // the SYN's return route is saved (RFC 1122 §4.2.3.8, MUST-53).
            s.socket.route = listener_route;
            s.socket
                .accept_syn(now, local, remote, seg, iss, ts_offset, local_mss);
            if let Some(back) = back {
                s.socket.route.received(back);
            }
        }
        if let Some(ls) = self.slot_mut(l) {
            ls.children = ls.children.saturating_add(1);
        }
        self.index_in(c, Key { local, remote }, bucket);
        // A new child owes its SYN-ACK (SYN-RECEIVED, SND.NXT = ISS): due
        // now without asking `poll_at`.
        self.reschedule_inline(c, Some(Instant::ZERO));
        None
    }

    /// An ICMP error quoting a segment from `quote.src_addr:src_port` to
    /// `quote.dst_addr:dst_port` (RFC 9293 §3.9.2.2).
    #[cfg_attr(not(feature = "icmp-errors"), allow(dead_code))]
    pub(crate) fn icmp_error(&mut self, quote: Icmpv4Quote, error: IcmpError) {
        self.flush_pending();
        let key = Key {
            local: Endpoint::new(quote.src_addr, quote.src_port),
            remote: Endpoint::new(quote.dst_addr, quote.dst_port),
        };
        if let Some(i) = self.lookup(&key) {
            if let Some(slot) = self.slot_mut(i) {
                slot.socket.on_icmp_error(quote.tcp_seq, error);
            }
            self.reschedule(i);
        }
    }

    /// Emit what is due, earliest deadline first, at most `budget` segments.
    /// `emit` writes one segment to the device and returns how many of its
    /// payload bytes left: all of them, except when it cut a super-segment
    /// itself and the device ran out of buffers part way.
    pub(crate) fn dispatch(
        &mut self,
        now: Instant,
        budget: usize,
        mut emit: impl FnMut(&IpParams<'_>, &TcpRepr) -> Result<usize, EmitError>,
    ) -> usize {
        self.flush_pending();
        // Nothing due (half the polls of a connection in the one-client
        // benchmark): return before the loop, whose invariants (the time in
        // milliseconds for the timestamp option, the pacing and ARP retry
        // times, spilled addresses: about 24 instructions) the compiler
        // works out ahead of it. Marked cold although it is not: without
        // the mark the loop's registers were allocated worse (+43 Ir per
        // connection with 64 clients, `rtcp-compare/ir.sh`); with it −118
        // with one client, 64 clients unchanged (issue 9). On 64-bit hosts
        // with the heap; the scanning schedule finds out in `next_due`.
        #[cfg(all(feature = "large-table", target_pointer_width = "64"))]
        if !self.due_by(now) {
            crate::cold_path();
            return 0;
        }
        let mut sent = 0;
        #[cfg(feature = "tso")]
        let tso_max = self.tso_max;
        #[cfg(not(feature = "tso"))]
        let tso_max = 0;
        while sent < budget {
            // Sockets due now first, then timers that have expired.
            let Some(i) = self.next_due(now) else { break };
            let stats = &mut self.stats;
            let Some(slot) = self.slots.get_mut(usize::from(i)) else {
                break;
            };
            if slot.socket.hot.state == State::SynSent && slot.socket.snd_max == slot.socket.iss {
                // Our first SYN: advertise the MSS of the device it leaves by,
                // which may not have been known when connect() was called.
                slot.socket.local_mss = crate::tcp::socket::saturate_mss(self.local_mss);
            }
            let mut result = Ok(Dispatched::Sent);
            // Drain this socket (bounded so one bulk sender cannot starve the
            // rest). Timers fire before the first segment only: about 50
            // instructions a call, and nothing new can be due at the same
            // `now` (see `send_next`).
            for turn in 0..64 {
                result = if turn == 0 {
                    slot.socket.dispatch_next(now, stats, tso_max, &mut emit)
                } else {
                    slot.socket.send_next(now, stats, tso_max, &mut emit)
                };
                match result {
                    Ok(Dispatched::Sent) => sent += 1,
                    Ok(Dispatched::SentLast(_)) => {
                        sent += 1;
                        break;
                    }
                    _ => break,
                }
                if sent >= budget {
                    break;
                }
            }
            match result {
                // The socket said when it next needs us: no second plan.
                Ok(Dispatched::Idle(next) | Dispatched::SentLast(next)) => {
                    self.reschedule_inline(i, Some(next));
                }
                Err(EmitError::Exhausted) => {
                    crate::cold_path();
                    self.reschedule(i);
                    break;
                }
                Err(EmitError::Unaddressable(retry)) => {
                    crate::cold_path();
                    self.reschedule(i);
                    // Not before the neighbour may have answered (a slot
                    // out of the schedule reads `Instant::MAX`, never
                    // earlier than `retry`).
                    if self.deadline(i) < retry {
                        self.schedule(i, retry);
                    }
                }
                _ => self.reschedule(i),
            }
        }
        sent
    }

    /// Wake every socket waiting on an unresolved neighbour (the interface
    /// calls this when an ARP reply arrives). Sockets deferred for ARP have
    /// a future deadline; making them due now is cheap and harmless for any
    /// other socket caught by it, since `dispatch` re-checks the plan.
    pub(crate) fn wake_deferred(&mut self, now: Instant) {
        self.flush_pending();
        // Bounded: only sockets whose deadline is within the ARP retry window.
        let horizon = now + crate::time::Duration::from_secs(1);
        self.advance_deadlines(now, horizon);
    }

    /// Iterate over live sockets with their handles (diagnostics; a scan).
    pub fn iter(&self) -> impl Iterator<Item = (SocketHandle, &TcpSocket<'a, LOG>)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.owner == Owner::User)
            .map(|(i, s)| {
                (
                    SocketHandle {
                        index: i as u16,
                        generation: s.generation,
                    },
                    &s.socket,
                )
            })
    }

    /// Slots in use (user sockets, lingering connections and children).
    pub fn in_use(&self) -> usize {
        self.slots.iter().filter(|s| s.owner != Owner::Free).count()
    }
}

/// The RST for a segment that matched nothing (§3.10.7.1): none for a RST;
/// `<SEQ=SEG.ACK><CTL=RST>` if the segment had an ACK, else
/// `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`.
pub(crate) fn reset_for(seg: &TcpRepr) -> Option<ResetReply> {
    if seg.flags.rst() {
        return None;
    }
    if seg.flags.ack() {
        Some(ResetReply {
            seq: seg.ack_number,
            ack: None,
        })
    } else {
        let len = seg.payload.len()
            + usize::from(seg.flags.contains(TcpFlags::SYN))
            + usize::from(seg.flags.fin());
        Some(ResetReply {
            seq: SeqNumber(0),
            ack: Some(seg.seq_number + len),
        })
    }
}

/// A socket's `poll_at` as the schedule keeps it: `Instant::ZERO` for due
/// now (the ready queue), `Instant::MAX` for no deadline (or no socket).
#[inline]
fn table_deadline(poll_at: Option<PollAt>) -> Instant {
    poll_at.map_or(Instant::MAX, PollAt::table_deadline)
}

#[cfg(test)]
mod test_slots {
    use super::SocketSlot;

    /// `N` slots with 8-byte buffers and a 2-record log, over `bufs` (the
    /// first `N` receive buffers, then the `N` send buffers).
    pub(super) fn small_slots<const N: usize>(bufs: &mut [[u8; 8]]) -> [SocketSlot<'_, 2>; N] {
        let (rx, tx) = bufs.split_at_mut(N);
        let mut buffers = rx.iter_mut().zip(tx.iter_mut());
        core::array::from_fn(|_| {
            let (r, t) = buffers.next().expect("one pair of buffers per slot");
            SocketSlot::with_log(&mut r[..], &mut t[..])
        })
    }
}
