//! Initial sequence numbers (RFC 9293 §3.4.1, RFC 6528).
//!
//! ISN = M + F(localip, localport, remoteip, remoteport, secretkey), where M
//! is a clock ticking every 4 µs and F is SipHash-2-4 keyed with a secret the
//! user supplies at construction (from a hardware RNG on a microcontroller,
//! from the OS on a host). The same 4-tuple thus gets increasing ISNs over
//! time, while different 4-tuples get unrelated ones an off-path attacker
//! cannot guess.

use crate::time::Instant;
use crate::wire::{Ipv4Address, SeqNumber};

/// Keyed ISN generator.
#[derive(Clone)]
pub struct IsnGenerator {
    k0: u64,
    k1: u64,
}

impl core::fmt::Debug for IsnGenerator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print the key.
        f.write_str("IsnGenerator { .. }")
    }
}

impl IsnGenerator {
    /// A generator keyed with 128 secret bits.
    pub fn new(secret: [u8; 16]) -> IsnGenerator {
        let (a, b) = secret.split_at(8);
        let mut k0 = [0u8; 8];
        let mut k1 = [0u8; 8];
        k0.copy_from_slice(a);
        k1.copy_from_slice(b);
        IsnGenerator {
            k0: u64::from_le_bytes(k0),
            k1: u64::from_le_bytes(k1),
        }
    }

    /// The ISN for a connection at time `now`.
    pub fn isn(
        &self,
        now: Instant,
        local: (Ipv4Address, u16),
        remote: (Ipv4Address, u16),
    ) -> SeqNumber {
        self.isn_and_ts_offset(now, local, remote).0
    }

    /// The ISN for a connection at time `now` ([`isn`](Self::isn)), and the
    /// connection's timestamp clock offset (RFC 7323 §5.4: a per-connection
    /// offset, so that TSvals reveal neither the host's uptime nor which
    /// connections share a host, §7.1), from one SipHash of the 4-tuple: the
    /// ISN takes its low 32 bits, the offset its high 32. The halves of a
    /// PRF's output are independent, so neither tells anything about the
    /// other, and a connection setup pays for one hash instead of two.
    #[cfg_attr(target_pointer_width = "32", inline(always))]
    pub fn isn_and_ts_offset(
        &self,
        now: Instant,
        local: (Ipv4Address, u16),
        remote: (Ipv4Address, u16),
    ) -> (SeqNumber, u32) {
        // The 4-tuple as 12 bytes, addresses and ports in network order.
        let [a0, a1, a2, a3] = local.0 .0;
        let [p0, p1] = local.1.to_be_bytes();
        let [b0, b1, b2, b3] = remote.0 .0;
        let [q0, q1] = remote.1.to_be_bytes();
        // Hashed as SipHash's two message words directly: the same value
        // as `hash` of the 12 bytes (`tuple_words_match_the_byte_hash`),
        // without the generic path's tail copy and chunk loop (about 20
        // instructions of each connection's setup, issue 9). On 32-bit
        // targets the byte path is then not linked at all: the table's
        // seed is hashed from words too (`SocketSet::new`,
        // `table_seed_words_match_the_byte_hash`; flash).
        let m0 = u64::from_le_bytes([a0, a1, a2, a3, p0, p1, b0, b1]);
        // The last word carries the message length (12) in its top byte.
        let m1 = u64::from_le_bytes([b2, b3, q0, q1, 0, 0, 0, 12]);
        let h = siphash24_words(self.k0, self.k1, &[m0, m1]);
        let f = h as u32;
        // M: a 4 µs tick (RFC 9293 §3.4.1), truncated to 32 bits on purpose.
        let m = (now.total_micros() / 4) as u32;
        (SeqNumber(m.wrapping_add(f)), (h >> 32) as u32)
    }

    /// A keyed 64-bit hash of `data` (SipHash-2-4).
    pub fn hash(&self, data: &[u8]) -> u64 {
        siphash24(self.k0, self.k1, data)
    }

    /// `hash` of a message already cut into SipHash's little-endian words,
    /// the last one carrying the tail and the length byte ([`words`]).
    pub(crate) fn hash_words(&self, words: &[u64]) -> u64 {
        siphash24_words(self.k0, self.k1, words)
    }
}

/// The `N` SipHash message words of `data` (at most `8 * N - 1` bytes, at
/// least `8 * (N - 1)`): little-endian, the last one padded with zeros and
/// the length in its top byte. For constant messages, worked out at compile
/// time, so a caller hashes words without linking the byte path.
// Indexing: evaluated in constants (a message of the wrong length for `N`
// words is a compile error there) and by tests; `get` is not usable in a
// `const fn`.
#[allow(clippy::indexing_slicing)]
pub(crate) const fn words<const N: usize>(data: &[u8]) -> [u64; N] {
    // Exactly `N` words: one more byte would overwrite the length byte,
    // eight fewer would hash a zero word too (both silently, outside a
    // constant); in a constant this is a compile error.
    assert!(data.len() / 8 + 1 == N, "the message needs another N");
    let mut w = [0u64; N];
    let mut i = 0;
    while i < data.len() {
        w[i / 8] |= (data[i] as u64) << (8 * (i % 8));
        i += 1;
    }
    w[N - 1] |= (data.len() as u64 & 0xff) << 56;
    w
}

fn siphash24(k0: u64, k1: u64, data: &[u8]) -> u64 {
    let mut v = siphash_init(k0, k1);
    let chunks = data.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        compress(&mut v, u64::from_le_bytes(word));
    }
    let mut last = [0u8; 8];
    if let Some(dst) = last.get_mut(..tail.len()) {
        dst.copy_from_slice(tail);
    }
    compress(
        &mut v,
        u64::from_le_bytes(last) | ((data.len() as u64 & 0xff) << 56),
    );
    siphash_finish(v)
}

/// SipHash-2-4 of a message given as its words (the last one holds the
/// tail and the length byte). Out of line on 32-bit targets, where its two
/// callers (the ISN and the table's seed) share it.
#[cfg_attr(target_pointer_width = "32", inline(never))]
fn siphash24_words(k0: u64, k1: u64, words: &[u64]) -> u64 {
    let mut v = siphash_init(k0, k1);
    for &m in words {
        compress(&mut v, m);
    }
    siphash_finish(v)
}

fn siphash_init(k0: u64, k1: u64) -> [u64; 4] {
    [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ]
}

fn siphash_finish(mut v: [u64; 4]) -> u64 {
    v[2] ^= 0xff;
    rounds(&mut v, 4);
    let [v0, v1, v2, v3] = v;
    v0 ^ v1 ^ v2 ^ v3
}

/// One message word: two SipRounds between the two XORs. On 32-bit
/// targets left to the compiler: `rounds`, where the 64-bit arithmetic is
/// (in pairs of registers), stays out of line, and forcing this small
/// wrapper out of line too cost 32 B of flash (issue 9). On 64-bit hosts
/// inlined as before (connection setup speed).
#[cfg_attr(not(target_pointer_width = "32"), inline(always))]
fn compress(v: &mut [u64; 4], m: u64) {
    v[3] ^= m;
    rounds(v, 2);
    v[0] ^= m;
}

/// `n` SipRounds: a loop on 32-bit targets (one copy of the round in
/// flash), unrolled on 64-bit hosts.
#[cfg_attr(target_pointer_width = "32", inline(never))]
#[cfg_attr(not(target_pointer_width = "32"), inline(always))]
fn rounds(v: &mut [u64; 4], n: usize) {
    let [v0, v1, v2, v3] = v;
    for _ in 0..n {
        *v0 = v0.wrapping_add(*v1);
        *v1 = v1.rotate_left(13) ^ *v0;
        *v0 = v0.rotate_left(32);
        *v2 = v2.wrapping_add(*v3);
        *v3 = v3.rotate_left(16) ^ *v2;
        *v0 = v0.wrapping_add(*v3);
        *v3 = v3.rotate_left(21) ^ *v0;
        *v2 = v2.wrapping_add(*v1);
        *v1 = v1.rotate_left(17) ^ *v2;
        *v2 = v2.rotate_left(32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_seed_words_match_the_byte_hash() {
        let g = IsnGenerator::new(core::array::from_fn(|i| (i * 7 + 3) as u8));
        let msg = b"rtcp socket table";
        assert_eq!(g.hash_words(&words::<3>(msg)), g.hash(msg));
        // Every length from one word to just under three, and the reference
        // vector's 15 bytes.
        let data: [u8; 23] = core::array::from_fn(|i| (i * 31 + 1) as u8);
        for n in 8..16 {
            let d = &data[..n];
            assert_eq!(g.hash_words(&words::<2>(d)), g.hash(d), "{n} bytes");
        }
        for n in 16..24 {
            let d = &data[..n];
            assert_eq!(g.hash_words(&words::<3>(d)), g.hash(d), "{n} bytes");
        }
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        let msg: [u8; 15] = core::array::from_fn(|i| i as u8);
        let g = IsnGenerator::new(key);
        assert_eq!(g.hash_words(&words::<2>(&msg)), 0xa129_ca61_49be_45e5);
    }

    /// A message of sixteen bytes needs three words: with two, its length
    /// byte would land on its last data byte.
    #[test]
    #[should_panic(expected = "another N")]
    fn words_refuses_a_message_of_the_wrong_length() {
        let _ = words::<2>(&[1u8; 16]);
    }

    #[test]
    fn siphash_reference_vector() {
        // The SipHash paper's test vector: key 00..0f, message 00..0e.
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        let msg: [u8; 15] = core::array::from_fn(|i| i as u8);
        let g = IsnGenerator::new(key);
        assert_eq!(g.hash(&msg), 0xa129_ca61_49be_45e5);
    }

    proptest::proptest! {
        /// `isn_and_ts_offset` hashes the 4-tuple as two words: the same
        /// value as the byte-wise hash of the 12 bytes it stands for.
        #[test]
        fn tuple_words_match_the_byte_hash(
            key in proptest::array::uniform16(0u8..),
            la in proptest::array::uniform4(0u8..),
            ra in proptest::array::uniform4(0u8..),
            lp in 0u16..,
            rp in 0u16..,
            micros in 0u64..1 << 40,
        ) {
            let g = IsnGenerator::new(key);
            let [p0, p1] = lp.to_be_bytes();
            let [q0, q1] = rp.to_be_bytes();
            let msg = [la[0], la[1], la[2], la[3], p0, p1, ra[0], ra[1], ra[2], ra[3], q0, q1];
            let h = g.hash(&msg);
            let now = Instant::from_micros(micros);
            let (isn, offset) = g.isn_and_ts_offset(
                now,
                (Ipv4Address(la), lp),
                (Ipv4Address(ra), rp),
            );
            proptest::prop_assert_eq!(offset, (h >> 32) as u32);
            proptest::prop_assert_eq!(isn.0.wrapping_sub((micros / 4) as u32), h as u32);
        }
    }

    #[test]
    fn isn_depends_on_tuple_key_and_time() {
        let g = IsnGenerator::new([7; 16]);
        let a = (Ipv4Address::new(10, 0, 0, 1), 1000);
        let b = (Ipv4Address::new(10, 0, 0, 2), 80);
        let t = Instant::from_secs(1);
        let x = g.isn(t, a, b);
        assert_ne!(x, g.isn(t, b, a));
        assert_ne!(x, IsnGenerator::new([8; 16]).isn(t, a, b));
        // One millisecond later the clock component moved by 250.
        assert_eq!(
            g.isn(t + crate::time::Duration::from_millis(1), a, b),
            x + 250
        );
    }

    #[test]
    fn ts_offset_is_per_connection_and_independent_of_time() {
        let g = IsnGenerator::new([7; 16]);
        let a = (Ipv4Address::new(10, 0, 0, 1), 1000);
        let b = (Ipv4Address::new(10, 0, 0, 2), 80);
        let t = Instant::from_secs(5);
        let later = t + crate::time::Duration::from_secs(3);
        let (isn, offset) = g.isn_and_ts_offset(t, a, b);
        assert_eq!(isn, g.isn(t, a, b));
        // The same connection keeps its offset; its ISN moves with M.
        assert_eq!(g.isn_and_ts_offset(later, a, b).1, offset);
        assert_ne!(g.isn_and_ts_offset(later, a, b).0, isn);
        // Another 4-tuple or another key: another offset.
        assert_ne!(g.isn_and_ts_offset(t, b, a).1, offset);
        assert_ne!(g.isn_and_ts_offset(t, (a.0, 1001), b).1, offset);
        assert_ne!(
            IsnGenerator::new([8; 16]).isn_and_ts_offset(t, a, b).1,
            offset
        );
        // The offset is not the ISN's hash half again.
        assert_ne!(offset, isn.0.wrapping_sub((t.total_micros() / 4) as u32));
    }
}
