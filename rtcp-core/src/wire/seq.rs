//! TCP sequence numbers with wrapping comparisons (RFC 9293 §3.4).
//!
//! Sequence space is modulo 2^32: `a < b` means `b` is ahead of `a` by less
//! than 2^31. Every comparison and distance in the engine goes through this
//! type; raw `u32` arithmetic on sequence numbers is a bug.

use core::cmp::Ordering;
use core::fmt;
use core::ops::{Add, AddAssign, Sub};

/// A TCP sequence number.
///
/// ```
/// use rtcp_core::wire::SeqNumber;
/// let a = SeqNumber(u32::MAX - 1);
/// let b = a + 4; // wraps to 2
/// assert!(a < b);
/// assert_eq!(b - a, 4);
/// assert_eq!(b.0, 2);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// The larger of two sequence numbers in sequence space.
    pub fn max(self, other: SeqNumber) -> SeqNumber {
        if self > other {
            self
        } else {
            other
        }
    }

    /// The smaller of two sequence numbers in sequence space.
    pub fn min(self, other: SeqNumber) -> SeqNumber {
        if self < other {
            self
        } else {
            other
        }
    }

    /// Distance from `earlier` to `self`, or `None` when `self` is before it.
    pub fn checked_since(self, earlier: SeqNumber) -> Option<usize> {
        let d = self.0.wrapping_sub(earlier.0) as i32;
        if d < 0 {
            None
        } else {
            Some(d as usize)
        }
    }

    /// `lo <= self < hi` in sequence space (RFC 9293 §3.4 test forms).
    pub fn in_range(self, lo: SeqNumber, hi: SeqNumber) -> bool {
        lo <= self && self < hi
    }

    /// `lo <= self <= hi` in sequence space.
    pub fn in_range_inclusive(self, lo: SeqNumber, hi: SeqNumber) -> bool {
        lo <= self && self <= hi
    }
}

impl fmt::Debug for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl PartialOrd for SeqNumber {
    fn partial_cmp(&self, other: &SeqNumber) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Sequence-space order. Not a total order over all of u32 (it is circular),
/// but consistent for any two numbers less than 2^31 apart, which is all TCP
/// ever compares.
impl Ord for SeqNumber {
    fn cmp(&self, other: &SeqNumber) -> Ordering {
        (self.0.wrapping_sub(other.0) as i32).cmp(&0)
    }
}

impl Add<usize> for SeqNumber {
    type Output = SeqNumber;
    fn add(self, rhs: usize) -> SeqNumber {
        // Truncation is the point: sequence space is modulo 2^32.
        SeqNumber(self.0.wrapping_add(rhs as u32))
    }
}

impl AddAssign<usize> for SeqNumber {
    fn add_assign(&mut self, rhs: usize) {
        *self = *self + rhs;
    }
}

impl Sub<usize> for SeqNumber {
    type Output = SeqNumber;
    fn sub(self, rhs: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(rhs as u32))
    }
}

impl Sub for SeqNumber {
    type Output = usize;
    /// Distance from `rhs` to `self`; zero when `rhs` is ahead (callers that
    /// must tell the difference use [`SeqNumber::checked_since`]).
    fn sub(self, rhs: SeqNumber) -> usize {
        self.checked_since(rhs).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wraps_around() {
        let a = SeqNumber(0xffff_fff0);
        let b = a + 0x20;
        assert_eq!(b.0, 0x10);
        assert!(a < b);
        assert!(b > a);
        assert_eq!(b - a, 0x20);
        assert_eq!(a - b, 0);
        assert_eq!(a.checked_since(b), None);
        assert_eq!(a.max(b), b);
        assert_eq!(a.min(b), a);
        assert!(SeqNumber(0xffff_ffff).in_range(a, b));
        assert!(!b.in_range(a, b));
        assert!(b.in_range_inclusive(a, b));
    }

    proptest! {
        #[test]
        fn add_then_sub_is_identity(base: u32, delta in 0usize..(1 << 31)) {
            let a = SeqNumber(base);
            let b = a + delta;
            prop_assert_eq!(b - a, delta);
            prop_assert!(delta == 0 || a < b);
            prop_assert_eq!(b - delta, a);
        }
    }
}
