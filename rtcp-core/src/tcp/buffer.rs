//! A fixed-capacity byte ring buffer over caller-provided storage.
//!
//! The send buffer holds data from SND.UNA onwards (sent-but-unacknowledged
//! first, then not yet sent); the receive buffer holds in-order data the
//! application has not read, followed by out-of-order data written at an
//! offset past the end (tracked by the [`Assembler`](super::assembler::Assembler)).
//! One copy in, one copy out.

use managed::ManagedSlice;

/// A ring buffer of bytes.
#[derive(Debug)]
pub struct RingBuffer<'a> {
    storage: ManagedSlice<'a, u8>,
    /// `storage.len()`, kept on 64-bit hosts: with managed's `alloc` or
    /// `std` feature (a host build that also links a crate enabling it)
    /// the slice is an enum, and each look at its length tested which
    /// variant it is (issue 9). The storage is never replaced. (Next to
    /// it, so that `Debug` shows the two together.)
    #[cfg(target_pointer_width = "64")]
    cap: usize,
    read_at: usize,
    length: usize,
}

impl<'a> RingBuffer<'a> {
    /// A ring buffer over `storage`; its capacity is the storage length.
    pub fn new(storage: impl Into<ManagedSlice<'a, u8>>) -> RingBuffer<'a> {
        let storage = storage.into();
        RingBuffer {
            #[cfg(target_pointer_width = "64")]
            cap: storage.len(),
            storage,
            read_at: 0,
            length: 0,
        }
    }

    /// Total capacity in bytes.
    #[inline]
    pub fn capacity(&self) -> usize {
        #[cfg(target_pointer_width = "64")]
        {
            debug_assert_eq!(self.cap, self.storage.len());
            self.cap
        }
        #[cfg(not(target_pointer_width = "64"))]
        self.storage.len()
    }

    /// Bytes stored.
    pub fn len(&self) -> usize {
        self.length
    }

    /// No bytes stored.
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Free space in bytes.
    pub fn window(&self) -> usize {
        self.capacity() - self.length
    }

    /// Forget everything stored.
    pub fn clear(&mut self) {
        self.read_at = 0;
        self.length = 0;
    }

    /// `index` modulo the capacity. Every caller passes a position below
    /// twice the capacity (`read_at` plus at most the capacity), so one
    /// compare and subtract does it; the division (tens of cycles, on every
    /// segment sent and received) is left for anything else.
    // Out of line on 32-bit targets (flash, issue 9: four inlined copies
    // in the firmware build); inlined on 64-bit hosts as before.
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    fn wrap(&self, index: usize) -> usize {
        let cap = self.capacity();
        if index < cap {
            index
        } else if index - cap < cap {
            index - cap
        } else {
            // No caller gets here (see above): out of the usual path's way.
            crate::cold_path();
            if cap == 0 {
                0
            } else {
                index % cap
            }
        }
    }

    /// Append as much of `data` as fits; returns the number of bytes taken.
    pub fn enqueue_slice(&mut self, data: &[u8]) -> usize {
        let n = self.write_unallocated(0, data);
        self.enqueue_unallocated(n);
        n
    }

    /// Write `data` at `offset` bytes past the end of the stored data,
    /// without making it readable; returns how many bytes fit.
    ///
    /// Inline on 64-bit hosts: every in-order segment received comes here
    /// (bulk −12 Ir per KiB, `BENCHMARKS.md` "Session 16: bulk").
    #[cfg_attr(target_pointer_width = "64", inline)]
    pub fn write_unallocated(&mut self, offset: usize, data: &[u8]) -> usize {
        let free = self.window();
        if offset >= free {
            return 0;
        }
        let n = data.len().min(free - offset);
        let start = self.wrap(self.read_at + self.length + offset);
        let cap = self.capacity();
        let first = n.min(cap - start);
        let (head, tail) = data.split_at(first.min(data.len()));
        if let Some(dst) = self.storage.get_mut(start..start + first) {
            dst.copy_from_slice(head);
        }
        let rest = n - first;
        if rest > 0 {
            if let (Some(dst), Some(src)) = (self.storage.get_mut(..rest), tail.get(..rest)) {
                dst.copy_from_slice(src);
            }
        }
        n
    }

    /// Make `count` bytes written by [`write_unallocated`](Self::write_unallocated) readable.
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    pub fn enqueue_unallocated(&mut self, count: usize) {
        self.length = (self.length + count).min(self.capacity());
    }

    /// Copy up to `buf.len()` bytes starting `offset` bytes into the stored
    /// data, without removing them; returns the number copied.
    pub fn read_allocated(&self, offset: usize, buf: &mut [u8]) -> usize {
        if offset >= self.length {
            return 0;
        }
        let n = buf.len().min(self.length - offset);
        let start = self.wrap(self.read_at + offset);
        let cap = self.capacity();
        let first = n.min(cap - start);
        let (head, tail) = buf.split_at_mut(first);
        if let Some(src) = self.storage.get(start..start + first) {
            head.copy_from_slice(src);
        }
        let rest = n - first;
        if rest > 0 {
            if let (Some(src), Some(dst)) = (self.storage.get(..rest), tail.get_mut(..rest)) {
                dst.copy_from_slice(src);
            }
        }
        n
    }

    /// The longest contiguous run of stored bytes starting `offset` bytes in,
    /// at most `max` long.
    pub fn contiguous_at(&self, offset: usize, max: usize) -> &[u8] {
        if offset >= self.length {
            return &[];
        }
        let start = self.wrap(self.read_at + offset);
        let n = max.min(self.length - offset).min(self.capacity() - start);
        self.storage.get(start..start + n).unwrap_or(&[])
    }

    /// Remove `count` bytes from the front.
    // Out of line on 32-bit targets (flash, issue 9: two inlined copies
    // in the firmware build); inlined on 64-bit hosts as before.
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    pub fn dequeue_allocated(&mut self, count: usize) -> usize {
        let n = count.min(self.length);
        self.read_at = self.wrap(self.read_at + n);
        self.length -= n;
        // No realignment when empty: out-of-order data may be stored past
        // the end, at positions relative to `read_at`.
        n
    }

    /// Copy out and remove up to `buf.len()` bytes from the front.
    pub fn dequeue_slice(&mut self, buf: &mut [u8]) -> usize {
        let n = self.read_allocated(0, buf);
        self.dequeue_allocated(n)
    }

    /// Hand the largest contiguous readable run (at most `max` bytes) to `f`,
    /// which returns how many bytes it consumed; those are removed.
    pub fn dequeue_with<R>(&mut self, max: usize, f: impl FnOnce(&[u8]) -> (usize, R)) -> R {
        let (n, r) = f(self.contiguous_at(0, max));
        self.dequeue_allocated(n);
        r
    }

    /// Hand the largest contiguous free run (at most `max` bytes) to `f`,
    /// which returns how many bytes it wrote; those become readable.
    pub fn enqueue_with<R>(&mut self, max: usize, f: impl FnOnce(&mut [u8]) -> (usize, R)) -> R {
        let cap = self.capacity();
        let start = self.wrap(self.read_at + self.length);
        let n = max.min(self.window()).min(cap - start);
        let (written, r) = match self.storage.get_mut(start..start + n) {
            Some(free) => f(free),
            None => f(&mut []),
        };
        self.enqueue_unallocated(written.min(n));
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `wrap` past twice the capacity (no caller passes that; the
    /// fallback, laid out out of the way, still reduces modulo it), and a
    /// zero capacity.
    #[test]
    fn wrap_reduces_any_position() {
        let mut storage = [0u8; 8];
        let rb = RingBuffer::new(&mut storage[..]);
        assert_eq!(rb.wrap(5), 5);
        assert_eq!(rb.wrap(13), 5);
        assert_eq!(rb.wrap(8 * 3 + 5), 5);
        let mut none = [0u8; 0];
        let empty = RingBuffer::new(&mut none[..]);
        assert_eq!(empty.wrap(7), 0);
    }
    #[test]
    fn wraps_and_reads_back() {
        let mut storage = [0u8; 8];
        let mut rb = RingBuffer::new(&mut storage[..]);
        assert_eq!(rb.enqueue_slice(b"abcdef"), 6);
        let mut out = [0u8; 4];
        assert_eq!(rb.dequeue_slice(&mut out), 4);
        assert_eq!(&out, b"abcd");
        assert_eq!(rb.enqueue_slice(b"ghijklmn"), 6);
        assert_eq!(rb.len(), 8);
        assert_eq!(rb.contiguous_at(0, 100), b"efgh");
        assert_eq!(rb.contiguous_at(6, 100), b"kl");
        let mut all = [0u8; 8];
        assert_eq!(rb.read_allocated(0, &mut all), 8);
        assert_eq!(&all, b"efghijkl");
    }

    #[test]
    fn out_of_order_write_then_enqueue() {
        let mut storage = [0u8; 8];
        let mut rb = RingBuffer::new(&mut storage[..]);
        assert_eq!(rb.write_unallocated(3, b"def"), 3);
        assert_eq!(rb.write_unallocated(0, b"abc"), 3);
        assert_eq!(rb.write_unallocated(7, b"xyz"), 1);
        assert_eq!(rb.write_unallocated(8, b"x"), 0);
        rb.enqueue_unallocated(6);
        let mut out = [0u8; 6];
        rb.dequeue_slice(&mut out);
        assert_eq!(&out, b"abcdef");
    }

    #[test]
    fn draining_keeps_out_of_order_data_in_place() {
        // Regression: realigning an empty buffer used to move the base that
        // out-of-order bytes (written past the end) are relative to.
        let mut storage = [0u8; 8];
        let mut rb = RingBuffer::new(&mut storage[..]);
        rb.enqueue_slice(b"abc");
        rb.write_unallocated(2, b"zz");
        let mut out = [0u8; 3];
        rb.dequeue_slice(&mut out);
        rb.write_unallocated(0, b"xy");
        rb.enqueue_unallocated(4);
        let mut all = [0u8; 4];
        assert_eq!(rb.dequeue_slice(&mut all), 4);
        assert_eq!(&all, b"xyzz");
    }

    #[test]
    fn empty_storage_is_harmless() {
        let mut rb = RingBuffer::new(&mut [][..]);
        assert_eq!(rb.enqueue_slice(b"abc"), 0);
        assert_eq!(rb.contiguous_at(0, 10), b"");
        assert_eq!(rb.dequeue_allocated(5), 0);
    }

    proptest! {
        #[test]
        fn behaves_like_a_queue(ops in proptest::collection::vec((any::<bool>(), 0usize..20), 1..100)) {
            let mut storage = [0u8; 16];
            let mut rb = RingBuffer::new(&mut storage[..]);
            let mut model = std::collections::VecDeque::new();
            let mut next = 0u8;
            for (push, n) in ops {
                if push {
                    let data: std::vec::Vec<u8> = (0..n).map(|_| { next = next.wrapping_add(1); next }).collect();
                    let taken = rb.enqueue_slice(&data);
                    prop_assert_eq!(taken, n.min(16 - model.len()));
                    model.extend(&data[..taken]);
                } else {
                    let mut out = std::vec![0u8; n];
                    let got = rb.dequeue_slice(&mut out);
                    let expect: std::vec::Vec<u8> = model.drain(..got.min(model.len())).collect();
                    prop_assert_eq!(&out[..got], &expect[..]);
                }
                prop_assert_eq!(rb.len(), model.len());
            }
        }
    }
}
