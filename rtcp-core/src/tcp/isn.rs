//! Initial sequence numbers (RFC 9293 §3.4.1, RFC 6528).
//!
//! ISN = M + F(localip, localport, remoteip, remoteport, secretkey), where M
//! is a clock ticking every 4 µs and F is a keyed pseudorandom function of
//! the 4-tuple under a 128-bit secret the user supplies at construction
//! (from a hardware RNG on a microcontroller, from the OS on a host). The
//! same 4-tuple thus gets increasing ISNs over time, while different
//! 4-tuples get unrelated ones an off-path attacker cannot guess.
//!
//! F is SipHash-2-4 on 64-bit targets and ChaCha20's block function on
//! 32-bit ones. Both are published, analysed keyed PRFs with a 128-bit key,
//! the length RFC 6528 §3 calls adequate against a search of the key space
//! from observed ISNs, and neither is computable without the key (§3: F
//! "MUST NOT be computable from the outside"). They differ in cost, not in
//! what §3 asks for: SipHash works on 64-bit words, which a 32-bit core
//! emulates with register pairs (about 0.45 KB of Thumb code for the
//! rounds), while ChaCha uses only 32-bit additions, rotations and XORs;
//! on 64-bit hosts SipHash is the cheaper per connection (issue 9).

use crate::time::Instant;
use crate::wire::{Ipv4Address, SeqNumber};

/// Keyed ISN generator.
#[derive(Clone)]
pub struct IsnGenerator {
    /// The secret as two little-endian SipHash key words.
    #[cfg(not(target_pointer_width = "32"))]
    k0: u64,
    #[cfg(not(target_pointer_width = "32"))]
    k1: u64,
    /// The secret as four little-endian ChaCha key words (the same 16
    /// bytes; [`hash`](Self::hash) reads them as SipHash's two).
    #[cfg(target_pointer_width = "32")]
    key: [u32; 4],
}

impl core::fmt::Debug for IsnGenerator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print the key.
        f.write_str("IsnGenerator { .. }")
    }
}

impl IsnGenerator {
    /// A generator keyed with 128 secret bits.
    #[cfg(not(target_pointer_width = "32"))]
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

    /// A generator keyed with 128 secret bits.
    #[cfg(target_pointer_width = "32")]
    pub fn new(secret: [u8; 16]) -> IsnGenerator {
        let [a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3] = secret;
        IsnGenerator {
            key: [
                u32::from_le_bytes([a0, a1, a2, a3]),
                u32::from_le_bytes([b0, b1, b2, b3]),
                u32::from_le_bytes([c0, c1, c2, c3]),
                u32::from_le_bytes([d0, d1, d2, d3]),
            ],
        }
    }

    /// SipHash's two key words.
    #[cfg(not(target_pointer_width = "32"))]
    fn sip_key(&self) -> (u64, u64) {
        (self.k0, self.k1)
    }

    /// SipHash's two key words, from the four ChaCha words.
    #[cfg(target_pointer_width = "32")]
    fn sip_key(&self) -> (u64, u64) {
        let [a, b, c, d] = self.key;
        (
            u64::from(a) | u64::from(b) << 32,
            u64::from(c) | u64::from(d) << 32,
        )
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
    /// connections share a host, §7.1), from one PRF output of the 4-tuple
    /// (64 bits): the ISN takes its low 32 bits, the offset its high 32. The
    /// halves of a PRF's output are independent, so neither tells anything
    /// about the other, and a connection setup pays for one PRF call
    /// instead of two.
    #[cfg_attr(target_pointer_width = "32", inline(always))]
    pub fn isn_and_ts_offset(
        &self,
        now: Instant,
        local: (Ipv4Address, u16),
        remote: (Ipv4Address, u16),
    ) -> (SeqNumber, u32) {
        let h = self.tuple_prf(local, remote);
        let f = h as u32;
        // M: a 4 µs tick (RFC 9293 §3.4.1), truncated to 32 bits on purpose.
        let m = (now.total_micros() / 4) as u32;
        (SeqNumber(m.wrapping_add(f)), (h >> 32) as u32)
    }

    /// F of the 4-tuple: SipHash-2-4 of its 12 bytes (addresses and ports
    /// in network order).
    #[cfg(not(target_pointer_width = "32"))]
    fn tuple_prf(&self, local: (Ipv4Address, u16), remote: (Ipv4Address, u16)) -> u64 {
        let [a0, a1, a2, a3] = local.0 .0;
        let [p0, p1] = local.1.to_be_bytes();
        let [b0, b1, b2, b3] = remote.0 .0;
        let [q0, q1] = remote.1.to_be_bytes();
        // Hashed as SipHash's two message words directly: the same value
        // as `hash` of the 12 bytes (`tuple_words_match_the_byte_hash`),
        // without the generic path's tail copy and chunk loop (about 20
        // instructions of each connection's setup, issue 9).
        let m0 = u64::from_le_bytes([a0, a1, a2, a3, p0, p1, b0, b1]);
        // The last word carries the message length (12) in its top byte.
        let m1 = u64::from_le_bytes([b2, b3, q0, q1, 0, 0, 0, 12]);
        siphash24_words(self.k0, self.k1, &[m0, m1])
    }

    /// F of the 4-tuple: the first two words of the ChaCha20 block (128-bit
    /// key) whose input is [`ISN_DOMAIN`] and the 4-tuple's 12 bytes
    /// (addresses and ports in network order) as three little-endian
    /// words.
    #[cfg(target_pointer_width = "32")]
    #[inline(always)]
    fn tuple_prf(&self, local: (Ipv4Address, u16), remote: (Ipv4Address, u16)) -> u64 {
        let [a0, a1, a2, a3] = local.0 .0;
        let [p0, p1] = local.1.to_be_bytes();
        let [b0, b1, b2, b3] = remote.0 .0;
        let [q0, q1] = remote.1.to_be_bytes();
        chacha20_128(
            &self.key,
            [
                ISN_DOMAIN,
                u32::from_le_bytes([a0, a1, a2, a3]),
                u32::from_le_bytes([p0, p1, b0, b1]),
                u32::from_le_bytes([b2, b3, q0, q1]),
            ],
        )
    }

    /// The seed of the socket table's hash index and first ephemeral port:
    /// a value an outsider cannot predict, from the same key.
    /// `hash(b"rtcp socket table")` on 64-bit targets, from its SipHash
    /// words worked out at compile time ([`words`]), so a build links no
    /// byte path.
    #[cfg(not(target_pointer_width = "32"))]
    pub(crate) fn table_seed(&self) -> u64 {
        const SEED_WORDS: [u64; 3] = words(b"rtcp socket table");
        self.hash_words(&SEED_WORDS)
    }

    /// The seed of the socket table's hash index and first ephemeral port:
    /// the ChaCha20 block of input ([`TABLE_DOMAIN`], 0, 0, 0). Its
    /// first word differs from every ISN input's, so the seed is
    /// independent of every connection's ISN.
    #[cfg(target_pointer_width = "32")]
    pub(crate) fn table_seed(&self) -> u64 {
        chacha20_128(&self.key, [TABLE_DOMAIN, 0, 0, 0])
    }

    /// A keyed 64-bit hash of `data` (SipHash-2-4, on every target).
    pub fn hash(&self, data: &[u8]) -> u64 {
        let (k0, k1) = self.sip_key();
        siphash24(k0, k1, data)
    }

    /// `hash` of a message already cut into SipHash's little-endian words,
    /// the last one carrying the tail and the length byte ([`words`]).
    #[cfg(any(not(target_pointer_width = "32"), test))]
    pub(crate) fn hash_words(&self, words: &[u64]) -> u64 {
        let (k0, k1) = self.sip_key();
        siphash24_words(k0, k1, words)
    }
}

/// The first input word of a ChaCha block for an ISN: the block counter's
/// place (RFC 8439 §2.3), used here to keep the generator's two uses apart.
#[cfg(target_pointer_width = "32")]
const ISN_DOMAIN: u32 = 0;
/// The first input word of the table seed's ChaCha block.
#[cfg(target_pointer_width = "32")]
const TABLE_DOMAIN: u32 = 1;

/// ChaCha's constant words for a 16-byte key, "expand 16-byte k".
#[cfg(any(target_pointer_width = "32", test))]
const TAU: [u32; 4] = [0x6170_7865, 0x3120_646e, 0x7962_2d36, 0x6b20_6574];

/// ChaCha20 with a 128-bit key as a keyed PRF of a 128-bit input,
/// returning the output's first two words (little-endian, as a `u64`).
/// The state is laid out as the ChaCha specification does for 16-byte
/// keys (Bernstein, "ChaCha, a variant of Salsa20", 2008, after Salsa20's
/// "expand 16-byte k"): the four constant words, the key twice, then the
/// input where RFC 8439 §2.3 puts the block counter and nonce. The block
/// function's final addition of the input (§2.3), here of the two words
/// returned, is what makes the output a PRF of the input: the rounds
/// alone are invertible. Out of line on 32-bit targets: its two callers
/// (the ISN and the table seed) share one copy.
#[cfg(any(target_pointer_width = "32", test))]
#[cfg_attr(target_pointer_width = "32", inline(never))]
fn chacha20_128(key: &[u32; 4], input: [u32; 4]) -> u64 {
    static T: [u32; 4] = TAU;
    let mut x = [0u32; 16];
    let (c, rest) = x.split_at_mut(4);
    let (k, rest) = rest.split_at_mut(4);
    let (k2, i) = rest.split_at_mut(4);
    c.copy_from_slice(&T);
    k.copy_from_slice(key);
    k2.copy_from_slice(key);
    i.copy_from_slice(&input);
    chacha20_rounds(&mut x);
    let [o0, o1, ..] = x;
    u64::from(o0.wrapping_add(TAU[0])) | u64::from(o1.wrapping_add(TAU[1])) << 32
}

/// ChaCha20's block function (RFC 8439 §2.3): the rounds, then the input
/// added back word by word. For the test vectors; [`chacha20_128`] adds
/// back only the words it returns.
#[cfg(test)]
fn chacha20_block(input: &[u32; 16]) -> [u32; 16] {
    let mut x = *input;
    chacha20_rounds(&mut x);
    for (o, i) in x.iter_mut().zip(input) {
        *o = o.wrapping_add(*i);
    }
    x
}

/// ChaCha20's twenty rounds (RFC 8439 §2.3) over the 16 state words,
/// alternately on the columns and the diagonals of the 4×4 matrix (§2.3's
/// "inner_block" is one of each): 80 quarter rounds in one loop, so that
/// a 32-bit firmware holds one copy of the quarter round. Written from RFC
/// 8439; checked against its test vectors (§2.1.1, §2.3.2).
#[cfg(any(target_pointer_width = "32", test))]
#[inline(always)]
// Indexing: every index is below 16 by construction (each term masked to
// 0..3 and offset by 0, 4, 8 or 12), so it never panics and the compiler
// drops the checks.
#[allow(clippy::indexing_slicing)]
fn chacha20_rounds(x: &mut [u32; 16]) {
    for q in 0..80 {
        // Quarter round `i` of round `q / 4`. Even rounds: the columns
        // (0 4 8 12), (1 5 9 13), ...; odd rounds (s = 1): the diagonals
        // (0 5 10 15), (1 6 11 12), ...
        let a = q & 3;
        let s = (q >> 2) & 1;
        let b = a + s;
        let c = b + s;
        let d = c + s;
        let (b, c, d) = (4 | (b & 3), 8 | (c & 3), 12 | (d & 3));
        let (wa, wb, wc, wd) = quarter_round(x[a], x[b], x[c], x[d]);
        x[a] = wa;
        x[b] = wb;
        x[c] = wc;
        x[d] = wd;
    }
}

/// ChaCha's quarter round (RFC 8439 §2.1).
#[cfg(any(target_pointer_width = "32", test))]
#[inline(always)]
fn quarter_round(mut a: u32, mut b: u32, mut c: u32, mut d: u32) -> (u32, u32, u32, u32) {
    a = a.wrapping_add(b);
    d = (d ^ a).rotate_left(16);
    c = c.wrapping_add(d);
    b = (b ^ c).rotate_left(12);
    a = a.wrapping_add(b);
    d = (d ^ a).rotate_left(8);
    c = c.wrapping_add(d);
    b = (b ^ c).rotate_left(7);
    (a, b, c, d)
}

/// The `N` SipHash message words of `data` (at most `8 * N - 1` bytes, at
/// least `8 * (N - 1)`): little-endian, the last one padded with zeros and
/// the length in its top byte. For constant messages, worked out at compile
/// time, so a caller hashes words without linking the byte path.
// Indexing: evaluated in constants (a message of the wrong length for `N`
// words is a compile error there) and by tests; `get` is not usable in a
// `const fn`.
#[allow(clippy::indexing_slicing)]
#[cfg(any(not(target_pointer_width = "32"), test))]
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
/// tail and the length byte). On 64-bit targets the ISN's and the table
/// seed's hash; 32-bit targets use ChaCha there and build it only for tests.
#[cfg_attr(target_pointer_width = "32", inline(never))]
#[cfg(any(not(target_pointer_width = "32"), test))]
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
    let [v0, v1, v2, v3] = &mut v;
    *v2 ^= 0xff;
    rounds(v0, v1, v2, v3, 4);
    *v0 ^ *v1 ^ *v2 ^ *v3
}

/// One message word: two SipRounds between the two XORs. On 32-bit
/// targets left to the compiler: `rounds`, where the 64-bit arithmetic is
/// (in pairs of registers), stays out of line, and forcing this small
/// wrapper out of line too cost 32 B of flash (issue 9). On 64-bit hosts
/// inlined as before (connection setup speed).
#[cfg_attr(not(target_pointer_width = "32"), inline(always))]
fn compress(v: &mut [u64; 4], m: u64) {
    let [v0, v1, v2, v3] = v;
    *v3 ^= m;
    rounds(v0, v1, v2, v3, 2);
    *v0 ^= m;
}

/// `n` SipRounds: a loop on 32-bit targets (one copy of the round in
/// flash), unrolled on 64-bit hosts.
#[cfg_attr(target_pointer_width = "32", inline(never))]
#[cfg_attr(not(target_pointer_width = "32"), inline(always))]
fn rounds(v0: &mut u64, v1: &mut u64, v2: &mut u64, v3: &mut u64, n: usize) {
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

    /// RFC 8439 §2.1.1: the quarter round's test vector.
    #[test]
    fn chacha_quarter_round_vector() {
        assert_eq!(
            quarter_round(0x1111_1111, 0x0102_0304, 0x9b8d_6f43, 0x0123_4567),
            (0xea2a_92f4, 0xcb1c_f8ce, 0x4581_472e, 0x5881_c4bb)
        );
    }

    /// RFC 8439 §2.3.2: the block function's test vector (256-bit key
    /// 00..1f, block counter 1, nonce 00:00:00:09:00:00:00:4a:00:00:00:00).
    #[test]
    fn chacha_block_vector() {
        let k = |i: u32| u32::from_le_bytes(core::array::from_fn(|j| (4 * i + j as u32) as u8));
        let input = [
            0x6170_7865,
            0x3320_646e, // "expand 32-byte k"
            0x7962_2d32,
            0x6b20_6574,
            k(0),
            k(1),
            k(2),
            k(3),
            k(4),
            k(5),
            k(6),
            k(7),
            1,
            0x0900_0000,
            0x4a00_0000,
            0,
        ];
        assert_eq!(
            chacha20_block(&input),
            [
                0xe4e7_f110,
                0x1559_3bd1,
                0x1fdd_0f50,
                0xc471_20a3,
                0xc7f4_d1c7,
                0x0368_c033,
                0x9aaa_2204,
                0x4e6c_d4c3,
                0x4664_82d2,
                0x09aa_9f07,
                0x05d7_c214,
                0xa202_8bd9,
                0xd19c_12b5,
                0xb94e_16de,
                0xe883_d0cb,
                0x4e3c_50a2,
            ]
        );
    }

    /// The 128-bit-key form: "expand 16-byte k" and the key twice, the
    /// output's first two words.
    #[test]
    fn chacha_128_is_the_block_with_the_16_byte_constants() {
        let key = [0x0302_0100, 0x0706_0504, 0x0b0a_0908, 0x0f0e_0d0c];
        let input = [7, 0x0900_0000, 0x4a00_0000, 3];
        let [k0, k1, k2, k3] = key;
        let [i0, i1, i2, i3] = input;
        assert_eq!(
            TAU,
            [*b"expa", *b"nd 1", *b"6-by", *b"te k"].map(u32::from_le_bytes)
        );
        let block = chacha20_block(&[
            TAU[0], TAU[1], TAU[2], TAU[3], k0, k1, k2, k3, k0, k1, k2, k3, i0, i1, i2, i3,
        ]);
        let h = chacha20_128(&key, input);
        assert_eq!((h as u32, (h >> 32) as u32), (block[0], block[1]));
        // Another input word, another output.
        assert_ne!(chacha20_128(&key, [8, i1, i2, i3]), h);
    }

    /// The table seed: `hash(b"rtcp socket table")` on 64-bit targets, the
    /// ChaCha block of the table's domain on 32-bit ones.
    #[test]
    fn table_seed_is_the_documented_prf() {
        let secret: [u8; 16] = core::array::from_fn(|i| (i * 7 + 3) as u8);
        let g = IsnGenerator::new(secret);
        #[cfg(not(target_pointer_width = "32"))]
        assert_eq!(g.table_seed(), g.hash(b"rtcp socket table"));
        #[cfg(target_pointer_width = "32")]
        {
            let key = core::array::from_fn(|i| {
                u32::from_le_bytes([
                    secret[4 * i],
                    secret[4 * i + 1],
                    secret[4 * i + 2],
                    secret[4 * i + 3],
                ])
            });
            assert_eq!(g.table_seed(), chacha20_128(&key, [TABLE_DOMAIN, 0, 0, 0]));
        }
        assert_ne!(g.table_seed(), IsnGenerator::new([0; 16]).table_seed());
    }

    proptest::proptest! {
        /// `isn_and_ts_offset` hashes the 4-tuple as two words: on 64-bit
        /// targets the same value as the byte-wise hash of the 12 bytes it
        /// stands for; on 32-bit ones ChaCha20 of those bytes.
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
            #[cfg(not(target_pointer_width = "32"))]
            let h = g.hash(&msg);
            // 32-bit targets: the ChaCha block of the ISN domain and the
            // 12 bytes as three little-endian words.
            #[cfg(target_pointer_width = "32")]
            let h = {
                let w = |i: usize| u32::from_le_bytes([msg[i], msg[i + 1], msg[i + 2], msg[i + 3]]);
                let key = core::array::from_fn(|i| {
                    u32::from_le_bytes([key[4 * i], key[4 * i + 1], key[4 * i + 2], key[4 * i + 3]])
                });
                chacha20_128(&key, [ISN_DOMAIN, w(0), w(4), w(8)])
            };
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
