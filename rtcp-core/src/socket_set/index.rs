//! Demultiplexing: the slot that holds a connection's 4-tuple, or a
//! listener's local endpoint (RFC 9293 §3.10.7: every segment is matched to
//! its connection first).
//!
//! With the `large-table` feature the index is a hash table whose bucket
//! heads and chain links live inside the slots: a lookup reads one or two
//! slots whatever the table size. Without it a lookup scans the slots'
//! keys, as smoltcp does: less code and 4 B less per slot on 32-bit targets,
//! and for the handful of sockets of a small device no slower.

#[cfg(feature = "large-table")]
use super::NONE;
use super::{Endpoint, Key, SocketSet};

/// Bucket heads kept per slot: bucket `b`'s head is in slot
/// `b / HEADS_PER_SLOT`. On 64-bit hosts, where tables run to thousands of
/// slots of several KB each, eight to a slot keep the heads of a table's
/// `capacity` buckets in an eighth as many slots (pages and cache lines):
/// with one per slot, the first lookup of every new connection (its SYN)
/// hit a cold line in a random one of them, a cache and TLB miss that took
/// about 5 % of the connection-rate benchmark's time (perf). On 32-bit
/// targets, with a few slots, one per slot costs no RAM.
#[cfg(all(feature = "large-table", target_pointer_width = "64"))]
pub(super) const HEADS_PER_SLOT: usize = 8;
#[cfg(all(feature = "large-table", not(target_pointer_width = "64")))]
pub(super) const HEADS_PER_SLOT: usize = 1;

/// Where `find` would have found a key it missed, for `index_in`: the
/// key's hash bucket, or nothing for the scanning index. 16 bits (a bucket
/// is below `capacity`, at most `MAX_SLOTS`): `find`'s result then fits
/// one register.
#[cfg(feature = "large-table")]
pub(super) type Bucket = u16;
#[cfg(not(feature = "large-table"))]
pub(super) type Bucket = NoBucket;

/// The scanning index's `Bucket`: nothing (a type of its own rather than
/// `()`, which a `let` may not bind).
#[cfg(not(feature = "large-table"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NoBucket;

#[cfg(feature = "large-table")]
impl<'a, const LOG: usize> SocketSet<'a, LOG> {
    fn hash(&self, key: &Key) -> usize {
        let a = u64::from(key.local.addr.to_bits()) << 32 | u64::from(key.remote.addr.to_bits());
        let b = u64::from(key.local.port) << 16 | u64::from(key.remote.port);
        let mut h = (a ^ self.hash_seed).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h ^= h >> 29;
        h = (h ^ b).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= h >> 32;
        // The bucket is the high half of (32-bit hash × capacity): a
        // uniform map onto 0..capacity with one multiply, where `%` cost a
        // 64-bit division (tens of cycles) on every received segment.
        let capacity = u64::try_from(self.capacity())
            .unwrap_or(u64::MAX)
            .min(u64::from(u32::MAX));
        (((h & 0xffff_ffff) * capacity) >> 32) as usize
    }

    pub(super) fn lookup(&self, key: &Key) -> Option<u16> {
        self.find(key).ok()
    }

    /// `lookup`, with the key's bucket when no slot holds it: a new
    /// connection of that very key (a SYN's child, `connect`'s socket) is
    /// indexed there by `index_in` without hashing the key again.
    pub(super) fn find(&self, key: &Key) -> Result<u16, Bucket> {
        let last = self.last_found.get();
        if self.slot(last).is_some_and(|s| s.key.as_ref() == Some(key)) {
            return Ok(last);
        }
        let bucket = self.hash(key);
        let mut i = self.bucket_head(bucket);
        while let Some(slot) = self.slot(i) {
            if slot.key.as_ref() == Some(key) {
                self.last_found.set(i);
                return Ok(i);
            }
            i = slot.chain_next;
        }
        Err(bucket as u16)
    }

    /// `lookup` for a listener's key (no remote endpoint), through its own
    /// last-found shortcut: a listener's SYNs come between its
    /// connections' segments, which take `lookup`'s over.
    pub(super) fn lookup_listener(&self, key: &Key) -> Option<u16> {
        let last = self.last_listener.get();
        if self.slot(last).is_some_and(|s| s.key.as_ref() == Some(key)) {
            return Some(last);
        }
        let found = self.lookup(key);
        if let Some(i) = found {
            self.last_listener.set(i);
        }
        found
    }

    /// Whether a listener may hold `local` (`pick_ephemeral`): only if
    /// one was ever indexed.
    pub(super) fn listener_on(&self, local: Endpoint) -> bool {
        self.listened
            && self
                .lookup(&Key {
                    local,
                    remote: Endpoint::default(),
                })
                .is_some()
    }

    /// The first slot chained in `bucket`.
    fn bucket_head(&self, bucket: usize) -> u16 {
        self.slots
            .get(bucket / HEADS_PER_SLOT)
            .and_then(|s| s.bucket_heads.get(bucket % HEADS_PER_SLOT))
            .copied()
            .unwrap_or(NONE)
    }

    fn set_bucket_head(&mut self, bucket: usize, i: u16) {
        if let Some(head) = self
            .slots
            .get_mut(bucket / HEADS_PER_SLOT)
            .and_then(|s| s.bucket_heads.get_mut(bucket % HEADS_PER_SLOT))
        {
            *head = i;
        }
    }

    pub(super) fn index(&mut self, i: u16, key: Key) {
        // (`listen`'s key: `index_in` is for connections.)
        self.listened |= key.remote == Endpoint::default();
        let bucket = self.hash(&key) as u16;
        self.index_in(i, key, bucket);
    }

    /// `index`, with the key's bucket (from `find`, which missed it).
    pub(super) fn index_in(&mut self, i: u16, key: Key, bucket: Bucket) {
        debug_assert_eq!(usize::from(bucket), self.hash(&key));
        // A key without a remote endpoint is a listener's (`index`), or a
        // child's of a listener.
        debug_assert!(self.listened || key.remote != Endpoint::default());
        self.unindex(i);
        let head = self.bucket_head(usize::from(bucket));
        if let Some(slot) = self.slot_mut(i) {
            slot.key = Some(key);
            slot.chain_next = head;
            slot.bucket = bucket;
        }
        self.set_bucket_head(usize::from(bucket), i);
    }

    pub(super) fn unindex(&mut self, i: u16) {
        // The bucket `index_in` kept: no second hash of the key.
        let Some((bucket, next)) = self
            .slot(i)
            .filter(|s| s.key.is_some())
            .map(|s| (usize::from(s.bucket), s.chain_next))
        else {
            return;
        };
        let mut prev = NONE;
        let mut cur = self.bucket_head(bucket);
        while cur != NONE && cur != i {
            prev = cur;
            cur = self.slot(cur).map_or(NONE, |s| s.chain_next);
        }
        if cur == i {
            if prev == NONE {
                self.set_bucket_head(bucket, next);
            } else if let Some(p) = self.slot_mut(prev) {
                p.chain_next = next;
            }
        }
        if let Some(slot) = self.slot_mut(i) {
            slot.key = None;
            slot.chain_next = NONE;
        }
    }
}

#[cfg(not(feature = "large-table"))]
impl<'a, const LOG: usize> SocketSet<'a, LOG> {
    pub(super) fn lookup(&self, key: &Key) -> Option<u16> {
        let i = self
            .held()
            .iter()
            .position(|s| s.key.as_ref() == Some(key))?;
        u16::try_from(i).ok()
    }

    pub(super) fn find(&self, key: &Key) -> Result<u16, Bucket> {
        self.lookup(key).ok_or(NoBucket)
    }

    pub(super) fn lookup_listener(&self, key: &Key) -> Option<u16> {
        self.lookup(key)
    }

    pub(super) fn listener_on(&self, local: Endpoint) -> bool {
        self.lookup(&Key {
            local,
            remote: Endpoint::default(),
        })
        .is_some()
    }

    pub(super) fn index(&mut self, i: u16, key: Key) {
        self.index_in(i, key, NoBucket);
    }

    pub(super) fn index_in(&mut self, i: u16, key: Key, _bucket: Bucket) {
        if let Some(slot) = self.slot_mut(i) {
            slot.key = Some(key);
        }
    }

    pub(super) fn unindex(&mut self, i: u16) {
        if let Some(slot) = self.slot_mut(i) {
            slot.key = None;
        }
    }
}

#[cfg(test)]
mod tests {
    //! Either index against a plain model: after any sequence of index
    //! and unindex operations, every key held is found at its slot (also
    //! right after another key's lookup filled the hash index's last-found
    //! shortcut) and no other key is found. The table size is not a
    //! multiple of `HEADS_PER_SLOT`, and keys differ only in ports so that
    //! buckets collide.
    use super::super::*;
    use proptest::prelude::*;

    const SLOTS: usize = 21;

    fn key(port: u16) -> Key {
        Key {
            local: Endpoint::new(Ipv4Address::new(10, 0, 0, 1), 80),
            remote: Endpoint::new(Ipv4Address::new(10, 0, 0, 2), port),
        }
    }

    proptest! {
        #[test]
        fn index_matches_a_model(ops in proptest::collection::vec((0..SLOTS, proptest::option::of(0u16..40)), 1..200)) {
            let mut bufs = [[0u8; 8]; 2 * SLOTS];
            let mut slots = super::super::test_slots::small_slots::<SLOTS>(&mut bufs);
            let mut set = SocketSet::new(&mut slots[..], [3; 16]);
            // model[slot] = the port of the key it holds.
            let mut model: [Option<u16>; SLOTS] = [None; SLOTS];
            for (i, port) in ops {
                match port {
                    // A key is held by one slot at a time, as in the table.
                    Some(p) if !model.contains(&Some(p)) => {
                        set.index(i as u16, key(p));
                        model[i] = Some(p);
                    }
                    Some(_) => {}
                    None => {
                        set.unindex(i as u16);
                        model[i] = None;
                    }
                }
                for p in 0u16..40 {
                    let want = model.iter().position(|m| *m == Some(p)).map(|s| s as u16);
                    prop_assert_eq!(set.lookup(&key(p)), want, "port {}", p);
                }
            }
        }
    }
}
