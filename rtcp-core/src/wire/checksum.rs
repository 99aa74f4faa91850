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
const fn fold(mut sum: u64) -> u16 {
    // 64 -> 33 -> 32 bits, then 32 -> 17 -> 16 bits. Each step keeps the value
    // congruent modulo 2^16 - 1, and the second step of each pair absorbs the
    // carry the first one may produce.
    sum = (sum & 0xffff_ffff) + (sum >> 32);
    sum = (sum & 0xffff_ffff) + (sum >> 32);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    // After the last step the value fits in 16 bits; the mask only documents it.
    (sum & 0xffff) as u16
}

/// Sums at most [`BLOCK`] bytes in *native* byte order into a 64-bit
/// accumulator.
///
/// RFC 1071 §2 (B): the one's-complement sum is byte-order independent, so the
/// words can be loaded in native order and the folded result byte-swapped once
/// at the end. Each step loads 8 bytes and adds both 32-bit halves (32-bit
/// words are 16-bit word pairs with their carries deferred, §2 (C)). This
/// shape was the fastest of the variants measured (see `BENCHMARKS.md`): the
/// compiler vectorises it, and it needs no carry chain.
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
    let mut pairs = words.remainder().chunks_exact(2);
    for pair in &mut pairs {
        if let Some(p) = pair.first_chunk::<2>() {
            acc += u64::from(u16::from_ne_bytes(*p));
        }
    }
    // RFC 1071 §4.1: an odd final byte is padded with a zero byte on the right.
    if let Some(&last) = pairs.remainder().first() {
        acc += u64::from(u16::from_ne_bytes([last, 0]));
    }
    acc
}

/// The one's-complement sum of `bytes` as big-endian 16-bit words, folded to
/// 16 bits, **not** inverted (RFC 1071 §1). An odd final byte is padded with a
/// zero byte (RFC 1071 §4.1).
///
/// Processes 8 bytes per step; equal to [`naive`] for every input.
pub fn data(bytes: &[u8]) -> u16 {
    let total = if bytes.len() <= BLOCK {
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
