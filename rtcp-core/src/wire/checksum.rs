//! The Internet checksum (RFC 1071), fast, with incremental update (RFC 1624).
//!
//! All functions here work on the *sum* (the one's-complement sum of the data
//! taken as big-endian 16-bit words, folded to 16 bits, not inverted), except
//! [`update`], which works on the *checksum* as stored in a header (the
//! inverted sum). A header verifies when the sum over it, checksum field
//! included, is `0xffff` (RFC 1071 §1, step (3)).

use super::{IpProtocol, Ipv4Address};

/// Bytes summed before the 64-bit accumulator is folded. Each 8-byte step adds
/// less than 2^33, so 2^27 steps (2^30 bytes) stay far below 2^64.
const BLOCK: usize = 1 << 30;

/// Folds a 64-bit one's-complement accumulator to 16 bits with end-around
/// carries (RFC 1071 §2 (C) "deferred carries").
#[inline]
pub(crate) const fn fold(sum: u64) -> u16 {
    // 64 -> 32 bits, then 32 -> 16 bits, each an add of the two halves with
    // the carry out added back in (2^32 and 2^16 are both 1 modulo
    // 2^16 - 1). When the add carries, the truncated sum is at most
    // 2 * (2^n - 1) - 2^n = 2^n - 2, so adding the carry cannot overflow.
    let (low, carry) = (sum as u32).overflowing_add((sum >> 32) as u32);
    let sum = low + carry as u32;
    let (low, carry) = (sum as u16).overflowing_add((sum >> 16) as u16);
    low + carry as u16
}

/// Sums fewer than 8 bytes in native byte order: a 32-bit word, a 16-bit
/// word and an odd final byte padded with a zero byte on the right (RFC 1071
/// §4.1), each if present. Straight-line code: IPv4 headers and short
/// segments end here, and a loop costs more than the bytes.
#[inline]
fn sum_tail(bytes: &[u8]) -> u64 {
    let mut acc: u64 = 0;
    let mut rest = bytes;
    if let Some((w, tail)) = rest.split_first_chunk::<4>() {
        acc += u64::from(u32::from_ne_bytes(*w));
        rest = tail;
    }
    if let Some((w, tail)) = rest.split_first_chunk::<2>() {
        acc += u64::from(u16::from_ne_bytes(*w));
        rest = tail;
    }
    if let Some(&last) = rest.first() {
        acc += u64::from(u16::from_ne_bytes([last, 0]));
    }
    acc
}

/// Adds the `N / 8` native-order 64-bit words of `block` to `acc` as one
/// add-with-carry chain (RFC 1071 §2 (C), deferred carries taken 64 bits at
/// a time). Returns the sum modulo 2^64 and the carry out of the last add;
/// the carry is worth 2^64, which is 1 modulo 2^16 - 1, so the caller
/// counts it as 1 (the end-around carry). `N` is a multiple of 8.
///
/// The carry from one word feeds the next inside the block, so LLVM emits
/// one `add` and `N / 8 - 1` `adc`s with the loads folded in: 1 instruction
/// per 8 bytes. The carry is not chained across blocks, where the loop's
/// own arithmetic would clobber the flags.
#[cfg(target_pointer_width = "64")]
#[inline(always)]
fn add_chain<const N: usize>(acc: u64, block: &[u8; N]) -> (u64, u64) {
    let mut sum = acc;
    let mut carry = false;
    for word in block.chunks_exact(8) {
        if let Some(w) = word.first_chunk::<8>() {
            let (partial, c1) = sum.overflowing_add(u64::from_ne_bytes(*w));
            let (total, c2) = partial.overflowing_add(u64::from(carry));
            sum = total;
            carry = c1 | c2;
        }
    }
    (sum, u64::from(carry))
}

/// When `rest` holds at least `N` bytes: adds its first `N` to `acc` as
/// one [`add_chain`], counts the chain's carry out in `carries` and moves
/// `rest` past them. The straight-line remainder of [`sum_native`].
#[cfg(target_pointer_width = "64")]
#[inline(always)]
fn chain_if_it_fits<const N: usize>(acc: &mut u64, carries: &mut u64, rest: &mut &[u8]) {
    if let Some((block, tail)) = rest.split_first_chunk::<N>() {
        let (sum, carry) = add_chain(*acc, block);
        *acc = sum;
        *carries += carry;
        *rest = tail;
    }
}

/// Sums fewer than [`SHORT`] bytes in native byte order (RFC 1071 §2 (B)):
/// 8-byte words added with an end-around carry (§2 (C): 2^64 is 1 modulo
/// 2^16 - 1), then the tail. IPv4 headers (20 bytes, two sums per segment)
/// take this path, which has no block setup to pay for; the carry keeps the
/// compiler from vectorising a loop of at most seven steps.
#[inline]
fn sum_short(bytes: &[u8]) -> u64 {
    let mut acc: u64 = 0;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        if let Some(w) = word.first_chunk::<8>() {
            let (sum, carry) = acc.overflowing_add(u64::from_ne_bytes(*w));
            // When the add carries, `sum` is at most 2^64 - 2.
            acc = sum + u64::from(carry);
        }
    }
    let (sum, carry) = acc.overflowing_add(sum_tail(words.remainder()));
    sum + u64::from(carry)
}

/// Inputs shorter than this go to [`sum_short`].
const SHORT: usize = 64;

/// Sums at most [`BLOCK`] bytes in *native* byte order into a 64-bit
/// accumulator (64-bit targets).
///
/// RFC 1071 §2 (B): the one's-complement sum is byte-order independent, so the
/// words can be loaded in native order and the folded result byte-swapped once
/// at the end. §2 (C): carries can be deferred, so whole 8-byte words are
/// added with 64-bit add-with-carry chains ([`add_chain`]), and the carries
/// out of each chain are counted apart. Two 256-byte chains per 512-byte
/// step, into two accumulators, are independent, so the CPU runs them side
/// by side; what is left (under 512 bytes) takes one chain of each of 256,
/// 128, 64, 32, 16 and 8 bytes that fits, in straight-line code, then the
/// tail. Longer chains, fewer loop steps: the loop's own arithmetic and the
/// carry it must save are paid once per 512 bytes.
/// About 0.17 instructions per byte on x86-64 for a 1,448-byte payload, call
/// included, against 0.44 in the loop alone for the vectorised u32-halves
/// loop this replaced (see `BENCHMARKS.md`,
/// "Checksum", and "Session 22: bulk").
#[cfg(target_pointer_width = "64")]
#[inline]
fn sum_native(bytes: &[u8]) -> u64 {
    let (mut a, mut b, mut carries) = (0u64, 0u64, 0u64);
    let mut blocks = bytes.chunks_exact(512);
    for block in &mut blocks {
        if let Some((x, y)) = block.split_first_chunk::<256>() {
            if let Some(y) = y.first_chunk::<256>() {
                let (sum, carry) = add_chain(a, x);
                a = sum;
                carries += carry;
                let (sum, carry) = add_chain(b, y);
                b = sum;
                carries += carry;
            }
        }
    }
    let mut rest = blocks.remainder();
    // One chain per power of two that the remainder holds (under 512
    // bytes), the accumulators taken in turn.
    chain_if_it_fits::<256>(&mut a, &mut carries, &mut rest);
    chain_if_it_fits::<128>(&mut b, &mut carries, &mut rest);
    chain_if_it_fits::<64>(&mut a, &mut carries, &mut rest);
    chain_if_it_fits::<32>(&mut b, &mut carries, &mut rest);
    chain_if_it_fits::<16>(&mut a, &mut carries, &mut rest);
    chain_if_it_fits::<8>(&mut b, &mut carries, &mut rest);
    // Fewer than 8 bytes left: at most 2^23 + 5 carries and a tail under
    // 2^34, so `carries` cannot overflow; each add's carry out is one more
    // end-around carry, and when the last add carries its sum is below
    // `carries`, so adding that carry cannot overflow.
    let (sum, c1) = a.overflowing_add(b);
    let (sum, c2) = sum.overflowing_add(sum_tail(rest));
    let (sum, c3) = sum.overflowing_add(carries + u64::from(c1) + u64::from(c2));
    sum + u64::from(c3)
}

/// Sums at most [`BLOCK`] bytes in *native* byte order into a 64-bit
/// accumulator (targets narrower than 64 bits).
///
/// RFC 1071 §2 (B) and (C) as above. Each step loads 8 bytes and adds both
/// 32-bit halves (32-bit words are 16-bit word pairs with their carries
/// deferred); on a 32-bit core that is two loads and two add-with-carry
/// pairs, with no 128-bit arithmetic.
#[cfg(not(target_pointer_width = "64"))]
#[inline]
fn sum_native(bytes: &[u8]) -> u64 {
    let mut acc: u64 = 0;
    let mut words = bytes.chunks_exact(8);
    for chunk in &mut words {
        if let Some(w) = chunk.first_chunk::<8>() {
            let w = u64::from_ne_bytes(*w);
            acc += (w >> 32) + (w & 0xffff_ffff);
        }
    }
    acc + sum_tail(words.remainder())
}

/// The one's-complement sum of `bytes` as big-endian 16-bit words, folded to
/// 16 bits, **not** inverted (RFC 1071 §1). An odd final byte is padded with a
/// zero byte (RFC 1071 §4.1).
///
/// Processes 256 bytes per add-with-carry chain on 64-bit targets, 8 bytes
/// per step on others; equal to [`naive`] for every input.
pub fn data(bytes: &[u8]) -> u16 {
    // The short path is for 64-bit targets, where the block setup of
    // `sum_native` is what it saves; on 32-bit ones it would only add code.
    let total = if cfg!(target_pointer_width = "64") && bytes.len() < SHORT {
        sum_short(bytes)
    } else if bytes.len() <= BLOCK {
        sum_native(bytes)
    } else {
        // Every block except the last has an even length, so the zero padding
        // of an odd byte only ever applies at the very end.
        bytes
            .chunks(BLOCK)
            .map(|block| u64::from(fold(sum_native(block))))
            .sum()
    };
    // Convert the native-order sum to network order (RFC 1071 §2 (B)).
    u16::from_be(fold(total))
}

/// [`data`] for what follows a TCP header (NOP NOP TS options, a byte of
/// payload, a SYN's 20 bytes of options, a full segment's payload), left
/// unfolded: a 64-bit number congruent modulo 2^16 - 1 to the sum [`data`]
/// returns, for the caller to add to the rest of its checksum and fold
/// once (RFC 1071 §2 (C): carries deferred to the end). Up to 24 bytes are
/// summed in straight-line code, inlined, as three 8-byte words with an
/// end-around carry and [`sum_tail`]; 64 bytes and more go straight to the
/// block loop. A call to [`data`] costs some forty instructions of setup
/// for a 12-byte input, and folding each part of a checksum apart cost a
/// fold and a byte swap per part (`BENCHMARKS.md`, "Session 22: bulk").
///
/// The sum is taken in native byte order; on a little-endian target the
/// network-order sum is the native one times 2^8 (RFC 1071 §2 (B): a byte
/// swap of every 16-bit word multiplies the sum by 2^8 modulo
/// 2^16 - 1), and since 2^16 - 1 divides 2^64 - 1, rotating the 64-bit
/// number left by 8 bits is that product. May be any 64-bit value: add it
/// with its carry out counted (see [`add`]).
///
/// On 32-bit targets this is [`data`] itself (flash: the inlined copies
/// cost more than the calls they save there).
#[inline]
pub(crate) fn data_unfolded(bytes: &[u8]) -> u64 {
    if cfg!(not(target_pointer_width = "64")) {
        return u64::from(data(bytes));
    }
    let native = if bytes.len() > 24 {
        // A segment's payload: straight to the block loop, without
        // `data`'s own call and length tests.
        if bytes.len() >= SHORT && bytes.len() <= BLOCK {
            sum_native(bytes)
        } else {
            return u64::from(data(bytes));
        }
    } else {
        let mut acc: u64 = 0;
        let mut rest = bytes;
        for _ in 0..3 {
            if let Some((w, tail)) = rest.split_first_chunk::<8>() {
                let (sum, carry) = acc.overflowing_add(u64::from_ne_bytes(*w));
                // When the add carries, `sum` is at most 2^64 - 2.
                acc = sum + u64::from(carry);
                rest = tail;
            }
        }
        let (sum, carry) = acc.overflowing_add(sum_tail(rest));
        sum + u64::from(carry)
    };
    if cfg!(target_endian = "little") {
        native.rotate_left(8)
    } else {
        native
    }
}

/// `a + b` with the carry out added back in (2^64 is 1 modulo 2^16 - 1,
/// RFC 1071 §2 (C)). When the add carries the sum is at most 2^64 - 2, so
/// adding the carry cannot overflow.
#[inline(always)]
pub(crate) const fn add(a: u64, b: u64) -> u64 {
    let (sum, carry) = a.overflowing_add(b);
    sum + carry as u64
}

/// The five native-order 32-bit words of a 20-byte header added in a
/// 64-bit accumulator, no loop (32-bit words are 16-bit word pairs with
/// their carries deferred, RFC 1071 §2 (B), (C)); below 2^35.
#[inline(always)]
fn five_words_native(header: &[u8; 20]) -> u64 {
    let [a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3, e0, e1, e2, e3] = *header;
    u64::from(u32::from_ne_bytes([a0, a1, a2, a3]))
        + u64::from(u32::from_ne_bytes([b0, b1, b2, b3]))
        + u64::from(u32::from_ne_bytes([c0, c1, c2, c3]))
        + u64::from(u32::from_ne_bytes([d0, d1, d2, d3]))
        + u64::from(u32::from_ne_bytes([e0, e1, e2, e3]))
}

/// The five 32-bit words of a 20-byte header (an IPv4 header without
/// options, a TCP header without options), unfolded and congruent modulo
/// 2^16 - 1 to their network-order sum, as [`data_unfolded`]; below 2^43.
#[inline]
pub(crate) fn header_unfolded(header: &[u8; 20]) -> u64 {
    let total = five_words_native(header);
    // Below 2^35, so the rotation is a plain shift by 8.
    if cfg!(target_endian = "little") {
        total << 8
    } else {
        total
    }
}

/// [`data`] for an IPv4 header without options (20 bytes): five 32-bit
/// words added in a 64-bit accumulator, no loop. Every segment sent and
/// received sums one; the general function's setup cost several times the
/// work. On 32-bit targets it is [`data`] (flash, issue 9).
#[inline]
pub fn ipv4_header(header: &[u8; 20]) -> u16 {
    if cfg!(target_pointer_width = "32") {
        return data(header);
    }
    let total = five_words_native(header);
    // Native-order sum to network order (RFC 1071 §2 (B)), as in `data`.
    u16::from_be(fold(total))
}

/// Copies `src` into `dst` (same length) and sums it in the same pass, in
/// native byte order: each 8-byte step loads two 32-bit words, stores them
/// and adds them to a 64-bit accumulator (RFC 1071 §2 (B), (C)). At most
/// [`BLOCK`] bytes.
///
/// The words are loaded and stored as 32-bit halves of an 8-byte step so
/// that the compiler sees neither a plain copy loop (which it would turn
/// back into a `memcpy` call followed by a second pass) nor a loop it cannot
/// vectorise.
#[inline]
fn copy_sum_native(dst: &mut [u8], src: &[u8]) -> u64 {
    let mut acc: u64 = 0;
    let split = src.len() - src.len() % 8;
    let (Some((dst, dst_rest)), Some((src, src_rest))) =
        (dst.split_at_mut_checked(split), src.split_at_checked(split))
    else {
        return 0;
    };
    for (to, from) in dst.chunks_exact_mut(8).zip(src.chunks_exact(8)) {
        if let (Some((t0, t1)), Some((f0, f1))) = (
            to.split_first_chunk_mut::<4>(),
            from.split_first_chunk::<4>(),
        ) {
            if let (Some(t1), Some(f1)) = (t1.first_chunk_mut::<4>(), f1.first_chunk::<4>()) {
                let lo = u32::from_ne_bytes(*f0);
                let hi = u32::from_ne_bytes(*f1);
                *t0 = lo.to_ne_bytes();
                *t1 = hi.to_ne_bytes();
                acc += u64::from(lo) + u64::from(hi);
            }
        }
    }
    // Fewer than 8 bytes remain, as many on each side.
    for (to, from) in dst_rest.iter_mut().zip(src_rest) {
        *to = *from;
    }
    acc + sum_tail(src_rest)
}

/// Copies `src` into the start of `dst` and returns the sum of `src`, equal
/// to [`data(src)`](data), computed while copying: one pass over the bytes
/// instead of a copy and then a sum. Returns `None`, with nothing written,
/// when `dst` is shorter than `src`.
///
/// Measured on x86-64 (`BENCHMARKS.md`, "Checksum"), this is *slower* than
/// `copy_from_slice` followed by [`data`], in instructions and in time: the
/// library `memcpy` moves 32 bytes per instruction pair with AVX, and
/// [`data`]'s add-with-carry chain folds each load into its add, while a
/// one-pass loop must load each word into a register, store it and add it.
/// So `TcpRepr::emit` copies and then sums. This remains for targets
/// without a vector `memcpy`, where the one pass saves a load per word.
pub fn copy_and_sum(dst: &mut [u8], src: &[u8]) -> Option<u16> {
    let mut sum = Sum::new();
    if sum.copy_add(dst, src) {
        Some(sum.finish())
    } else {
        None
    }
}

/// A running one's-complement sum over data that arrives in pieces, for
/// instance a payload that a ring buffer hands over in two slices.
///
/// Each piece continues the byte stream where the previous one ended, so a
/// piece that starts at an odd offset has its bytes in the other half of
/// each 16-bit word. RFC 1071 §2 (B): swapping the bytes of every word
/// swaps the bytes of the sum, so such a piece is summed as if it started
/// at an even offset and its folded sum is byte-swapped before it is added
/// (the zero padding of an odd-length piece, §4.1, is then exactly the half
/// word the next piece fills).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sum {
    /// Native-order sum of the pieces, with carries deferred (§2 (C)).
    acc: u64,
    /// Bytes added so far.
    len: usize,
}

impl Sum {
    /// An empty sum (of zero bytes).
    pub const fn new() -> Sum {
        Sum { acc: 0, len: 0 }
    }

    /// Bytes added so far.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether no byte has been added.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds the native-order sum of a piece that started at byte `self.len`.
    fn push(&mut self, native: u64, len: usize) {
        let folded = fold(native);
        let aligned = if self.len % 2 == 0 {
            folded
        } else {
            folded.swap_bytes()
        };
        // Folded to 16 bits per piece: 2^48 pieces before this can overflow.
        self.acc += u64::from(aligned);
        self.len = self.len.wrapping_add(len);
    }

    /// Adds the bytes of `bytes`, continuing the stream.
    pub fn add(&mut self, bytes: &[u8]) {
        for block in bytes.chunks(BLOCK) {
            self.push(sum_native(block), block.len());
        }
    }

    /// Copies `src` into the start of `dst` and adds it, in one pass (see
    /// [`copy_and_sum`]). Returns `false`, with nothing written or added,
    /// when `dst` is shorter than `src`.
    pub fn copy_add(&mut self, dst: &mut [u8], src: &[u8]) -> bool {
        let Some(dst) = dst.get_mut(..src.len()) else {
            return false;
        };
        for (to, from) in dst.chunks_mut(BLOCK).zip(src.chunks(BLOCK)) {
            self.push(copy_sum_native(to, from), from.len());
        }
        true
    }

    /// The sum of everything added, as [`data`] returns it for the
    /// concatenated bytes: big-endian words folded to 16 bits, not inverted.
    pub fn finish(self) -> u16 {
        // Convert the native-order sum to network order (RFC 1071 §2 (B)).
        u16::from_be(fold(self.acc))
    }
}

/// One's-complement addition of partial sums (RFC 1071 §2 (A), (C)).
///
/// Each partial sum must cover an even number of bytes (except the last), as
/// a sum over an odd-length buffer pads with zero at its end.
pub fn combine(sums: &[u16]) -> u16 {
    let mut acc: u64 = 0;
    for &s in sums {
        acc += u64::from(s);
    }
    fold(acc)
}

/// The sum over the IPv4 pseudo header used by TCP and UDP (RFC 9293 §3.1,
/// RFC 768): source, destination, zero + protocol, and the transport length.
///
/// `length` is the TCP/UDP header plus payload length in bytes; both 16-bit
/// halves are summed, which equals the 16-bit field for any valid length.
pub fn pseudo_header_v4(
    src: &Ipv4Address,
    dst: &Ipv4Address,
    protocol: IpProtocol,
    length: u32,
) -> u16 {
    let [s0, s1, s2, s3] = src.0;
    let [d0, d1, d2, d3] = dst.0;
    let acc = u64::from(u16::from_be_bytes([s0, s1]))
        + u64::from(u16::from_be_bytes([s2, s3]))
        + u64::from(u16::from_be_bytes([d0, d1]))
        + u64::from(u16::from_be_bytes([d2, d3]))
        + u64::from(u8::from(protocol))
        + u64::from(length >> 16)
        + u64::from(length & 0xffff);
    fold(acc)
}

/// Incremental update of a stored checksum when one 16-bit word of the
/// covered data changes from `old_word` to `new_word` (RFC 1624 §3, eqn. 3):
///
/// `HC' = ~(~HC + ~m + m')`
///
/// `old_checksum` and the result are checksums as stored in a header (the
/// inverted sum). Equation 3 never produces the `-0` pitfall of RFC 1141's
/// equation: the result equals a full recomputation whenever the new data is
/// not all zero (for all-zero data the two differ only by `0x0000` vs `0xffff`,
/// both representations of zero in one's complement).
pub fn update(old_checksum: u16, old_word: u16, new_word: u16) -> u16 {
    let acc = u64::from(!old_checksum) + u64::from(!old_word) + u64::from(new_word);
    !fold(acc)
}

/// The reference implementation: one big-endian 16-bit word per step with the
/// carry folded in immediately, exactly as RFC 1071 §1 describes. For tests
/// and the benchmark; use [`data`].
pub fn naive(bytes: &[u8]) -> u16 {
    let mut acc: u32 = 0;
    let mut pairs = bytes.chunks_exact(2);
    for pair in &mut pairs {
        if let [hi, lo] = *pair {
            acc += u32::from(u16::from_be_bytes([hi, lo]));
            if acc > 0xffff {
                acc = (acc & 0xffff) + 1;
            }
        }
    }
    if let Some(&last) = pairs.remainder().first() {
        acc += u32::from(last) << 8;
        if acc > 0xffff {
            acc = (acc & 0xffff) + 1;
        }
    }
    (acc & 0xffff) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;
    use std::vec::Vec;

    /// RFC 1071 §3 numerical example: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
    #[test]
    fn rfc1071_example() {
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(naive(&bytes), 0xddf2);
        assert_eq!(data(&bytes), 0xddf2);
        // Split in two even halves and combined.
        assert_eq!(combine(&[data(&bytes[..4]), data(&bytes[4..])]), 0xddf2);
    }

    #[test]
    fn empty_and_odd() {
        assert_eq!(data(&[]), 0);
        assert_eq!(naive(&[]), 0);
        assert_eq!(data(&[0xab]), 0xab00);
        assert_eq!(naive(&[0xab]), 0xab00);
        assert_eq!(data(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
    }

    #[test]
    fn carries_fold() {
        let ones = [0xffu8; 9001];
        assert_eq!(data(&ones), naive(&ones));
        assert_eq!(data(&ones[..8]), 0xffff);
        let bytes: Vec<u8> = (0..9001u32).map(|i| (i * 7919 % 251) as u8).collect();
        for len in [0, 1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1500, 9001] {
            for start in 0..8 {
                if start + len <= bytes.len() {
                    let s = &bytes[start..start + len];
                    assert_eq!(data(s), naive(s), "len {len} start {start}");
                }
            }
        }
    }

    /// The lengths where the 512-byte steps, the 256- to 8-byte chains and
    /// the 4-, 2- and 1-byte tails of `sum_native` meet (every remainder
    /// after zero, one and two steps), at every alignment, and all-ones
    /// input, where every add of every chain carries.
    #[test]
    fn every_tail_shape() {
        let bytes: Vec<u8> = (0..1_560u32).map(|i| (i * 31 + 7) as u8).collect();
        let ones = [0xffu8; 1_552];
        for len in 0..=1_552 {
            for start in 0..8 {
                let s = &bytes[start..start + len];
                assert_eq!(data(s), naive(s), "len {len} start {start}");
            }
            assert_eq!(data(&ones[..len]), naive(&ones[..len]), "len {len}");
        }
    }

    /// Every length around the straight-line limit, at every alignment,
    /// and all-ones words whose adds carry.
    #[test]
    fn data_unfolded_matches_the_general_sum() {
        let bytes: Vec<u8> = (0..64u32).map(|i| (i * 97 + 13) as u8).collect();
        for len in 0..=40 {
            for start in 0..8 {
                let s = &bytes[start..start + len];
                assert_eq!(fold(data_unfolded(s)), naive(s), "len {len} start {start}");
            }
            let ones = [0xffu8; 40];
            assert_eq!(
                fold(data_unfolded(&ones[..len])),
                naive(&ones[..len]),
                "len {len}"
            );
        }
    }

    /// Past 24 bytes `data_unfolded` takes a segment's payload straight to
    /// the block loop: every length through a few blocks and a jumbo
    /// frame's, odd and even, at every alignment, and all-ones input.
    #[test]
    fn data_unfolded_matches_the_general_sum_on_payloads() {
        let bytes: Vec<u8> = (0..9_100u32).map(|i| (i * 131 + 7) as u8).collect();
        let ones = vec![0xffu8; 9_100];
        let lens = (25..=600).chain([1_447, 1_448, 1_460, 8_947, 8_948, 9_000]);
        for len in lens {
            for start in 0..8 {
                let s = &bytes[start..start + len];
                assert_eq!(fold(data_unfolded(s)), naive(s), "len {len} start {start}");
            }
            assert_eq!(
                fold(data_unfolded(&ones[..len])),
                naive(&ones[..len]),
                "len {len}"
            );
        }
    }

    #[test]
    fn ipv4_header_matches_the_general_sum() {
        let mut rng = 0x1234_5678_9abc_def0u64;
        for _ in 0..10_000 {
            let mut header = [0u8; 20];
            for b in header.iter_mut() {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                *b = rng as u8;
            }
            assert_eq!(ipv4_header(&header), naive(&header), "{header:?}");
            assert_eq!(fold(header_unfolded(&header)), naive(&header), "{header:?}");
        }
        assert_eq!(ipv4_header(&[0xff; 20]), naive(&[0xff; 20]));
        assert_eq!(fold(header_unfolded(&[0xff; 20])), naive(&[0xff; 20]));
        assert_eq!(ipv4_header(&[0; 20]), 0);
    }

    #[test]
    fn copy_and_sum_copies_and_sums() {
        let src: Vec<u8> = (0..1500u32).map(|i| (i * 7919 % 251) as u8).collect();
        for len in [0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 1448, 1500] {
            for dst_start in 0..4 {
                let mut out = vec![0xa5u8; len + dst_start + 3];
                let sum = copy_and_sum(&mut out[dst_start..], &src[..len]);
                assert_eq!(sum, Some(naive(&src[..len])), "len {len}");
                assert_eq!(&out[dst_start..dst_start + len], &src[..len]);
                assert!(out[..dst_start].iter().all(|&b| b == 0xa5));
                assert!(out[dst_start + len..].iter().all(|&b| b == 0xa5));
            }
        }
        let mut short = [0u8; 3];
        assert_eq!(copy_and_sum(&mut short, &[1, 2, 3, 4]), None);
        assert_eq!(short, [0, 0, 0]);
    }

    /// RFC 1071 §3 example split after an odd number of bytes: `00 01 f2`
    /// then `03 f4 f5 f6 f7`. The second piece starts in the low half of a
    /// word, so its sum is byte-swapped (§2 (B)) before it is added.
    #[test]
    fn running_sum_odd_split() {
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        for at in 0..=bytes.len() {
            let (a, b) = bytes.split_at(at);
            let mut sum = Sum::new();
            sum.add(a);
            sum.add(b);
            assert_eq!(sum.finish(), 0xddf2, "split at {at}");
            let mut out = [0u8; 8];
            let (oa, ob) = out.split_at_mut(at);
            let mut sum = Sum::new();
            assert!(sum.copy_add(oa, a));
            assert!(sum.copy_add(ob, b));
            assert_eq!(sum.finish(), 0xddf2, "copied, split at {at}");
            assert_eq!(out, bytes);
        }
        // Three pieces, two of them odd-length: 00 | 01 f2 03 | f4 f5 f6 f7.
        let mut sum = Sum::new();
        sum.add(&bytes[..1]);
        sum.add(&bytes[1..4]);
        sum.add(&bytes[4..]);
        assert_eq!(sum.finish(), 0xddf2);
        assert_eq!(sum.len(), 8);
        assert!(!sum.is_empty());
        assert!(Sum::new().is_empty());
        assert_eq!(Sum::new().finish(), 0);
    }

    /// The fold at its edges: every carry ends around, and the result is
    /// congruent to the input modulo 2^16 - 1 (zero stays 0x0000 only when
    /// the input is zero).
    #[test]
    fn fold_edges() {
        for x in [
            0u64,
            1,
            0xffff,
            0x1_0000,
            0xffff_ffff,
            0x1_0000_0000,
            0xffff_0000_ffff,
            u64::MAX,
            u64::MAX - 1,
            0x8000_0000_8000_0000,
        ] {
            let f = u64::from(fold(x));
            assert_eq!(f % 0xffff, x % 0xffff, "{x:#x}");
            assert_eq!(f == 0, x == 0, "{x:#x}");
        }
        assert_eq!(fold(u64::MAX), 0xffff);
    }

    /// A real IPv4 header (Linux ping, 84 bytes, DF, TTL 64) verifies, and the
    /// checksum recomputes to the captured value.
    #[test]
    fn ipv4_header_checksum() {
        let mut hdr = [
            0x45, 0x00, 0x00, 0x54, 0xa6, 0xf2, 0x40, 0x00, 0x40, 0x01, 0x10, 0x5b, 0xc0, 0xa8,
            0x01, 0x0a, 0xc0, 0xa8, 0x01, 0x01,
        ];
        assert_eq!(data(&hdr), 0xffff);
        hdr[10] = 0;
        hdr[11] = 0;
        assert_eq!(!data(&hdr), 0x105b);
    }

    #[test]
    fn pseudo_header() {
        let src = Ipv4Address::new(10, 0, 0, 1);
        let dst = Ipv4Address::new(10, 0, 0, 2);
        let bytes = [10, 0, 0, 1, 10, 0, 0, 2, 0, 6, 0, 40];
        assert_eq!(
            pseudo_header_v4(&src, &dst, IpProtocol::Tcp, 40),
            naive(&bytes)
        );
    }

    /// RFC 1624 §4 example: HC = 0xdd2f, m = 0x5555, m' = 0x3285 gives 0x0000.
    #[test]
    fn rfc1624_example() {
        assert_eq!(update(0xdd2f, 0x5555, 0x3285), 0x0000);
    }

    /// Decrementing the TTL of the ping header above, incrementally.
    #[test]
    fn update_ttl() {
        let mut hdr = [
            0x45, 0x00, 0x00, 0x54, 0xa6, 0xf2, 0x40, 0x00, 0x40, 0x01, 0x00, 0x00, 0xc0, 0xa8,
            0x01, 0x0a, 0xc0, 0xa8, 0x01, 0x01,
        ];
        let old = !data(&hdr);
        let old_word = u16::from_be_bytes([hdr[8], hdr[9]]);
        hdr[8] -= 1;
        let new_word = u16::from_be_bytes([hdr[8], hdr[9]]);
        assert_eq!(update(old, old_word, new_word), !data(&hdr));
    }
}
