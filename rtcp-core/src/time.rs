//! Time as the caller supplies it: microseconds since an arbitrary epoch.
//!
//! The engine never reads a clock. A host passes a monotonic clock; a
//! microcontroller passes its tick counter; tests pass virtual time.

use core::fmt;
use core::ops::{Add, AddAssign, Sub};

/// `(x / d, x % d)` for a divisor `d` in `1..=65536`. On 32-bit targets a
/// `u64` division is a call into `compiler_builtins` (about 500 B of flash
/// on a Cortex-M4, for the timestamp clock and the socket table's hash), so
/// there it is long division by 16-bit digits: four 32-bit divisions the
/// hardware does (`udiv`), each of `rem << 16 | digit` with `rem < d`, which
/// fits in 32 bits. A `d` out of range falls back to the `u64` division.
pub(crate) const fn div_rem_small(x: u64, d: u32) -> (u64, u32) {
    if cfg!(target_pointer_width = "64") || d == 0 || d > 1 << 16 {
        let d = d as u64;
        // `d == 0` only by misuse: the quotient saturates instead of panicking.
        if d == 0 {
            return (u64::MAX, 0);
        }
        (x / d, (x % d) as u32)
    } else {
        div_rem_by_digits(x, d)
    }
}

/// The long division of [`div_rem_small`] (tested on every target).
/// The remainder is the low word of `x - q * d` (it is below `d`), so
/// only the quotient comes back from the division: a `(u64, u32)` would
/// be returned through memory on a 32-bit target.
#[cfg_attr(target_pointer_width = "64", allow(dead_code))]
#[inline]
const fn div_rem_by_digits(x: u64, d: u32) -> (u64, u32) {
    let q = div_by_digits(x, d);
    (q, (x as u32).wrapping_sub((q as u32).wrapping_mul(d)))
}

/// The quotient of [`div_rem_by_digits`]. Out of line on 32-bit targets:
/// one copy serves every caller.
#[cfg_attr(target_pointer_width = "64", allow(dead_code))]
#[cfg_attr(target_pointer_width = "32", inline(never))]
const fn div_by_digits(x: u64, d: u32) -> u64 {
    let mut q = 0u64;
    let mut rem = 0u32;
    let mut shift = 64;
    while shift > 0 {
        shift -= 16;
        let cur = rem << 16 | ((x >> shift) as u32 & 0xffff);
        q = q << 16 | (cur / d) as u64;
        rem = cur % d;
    }
    q
}

/// A point in time, in microseconds since an epoch chosen by the caller.
///
/// ```
/// use rtcp_core::time::{Duration, Instant};
/// let t = Instant::from_millis(5) + Duration::from_micros(250);
/// assert_eq!(t.total_micros(), 5_250);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Instant {
    micros: u64,
}

impl Instant {
    /// The epoch.
    pub const ZERO: Instant = Instant { micros: 0 };
    /// Far enough in the future to mean "never".
    pub const MAX: Instant = Instant { micros: u64::MAX };

    /// From microseconds since the epoch.
    pub const fn from_micros(micros: u64) -> Instant {
        Instant { micros }
    }
    /// From milliseconds since the epoch.
    pub const fn from_millis(millis: u64) -> Instant {
        Instant {
            micros: millis.saturating_mul(1000),
        }
    }
    /// From seconds since the epoch.
    pub const fn from_secs(secs: u64) -> Instant {
        Instant {
            micros: secs.saturating_mul(1_000_000),
        }
    }
    /// Microseconds since the epoch.
    pub const fn total_micros(self) -> u64 {
        self.micros
    }
    /// Milliseconds since the epoch (truncated).
    pub const fn total_millis(self) -> u64 {
        div_rem_small(self.micros, 1000).0
    }
    /// The time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.micros.saturating_sub(earlier.micros))
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}s",
            self.micros / 1_000_000,
            self.micros % 1_000_000
        )
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// An optional instant in the space of one: `Option<Instant>` takes 16
/// bytes wherever `u64` is 8-aligned (x86_64, and thumbv7em too), this
/// takes 8. A socket keeps about ten timers, so this is part of keeping
/// per-connection state small on a microcontroller. `Instant::MAX` stands
/// for "none" (no timer is ever armed that far out: arming saturates long
/// before).
///
/// ```
/// use rtcp_core::time::{Deadline, Instant};
/// let mut timer = Deadline::NONE;
/// assert_eq!(timer.get(), None);
/// timer = Deadline::at(Instant::from_millis(5));
/// assert!(timer.is_some_and(|t| t <= Instant::from_millis(5)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Deadline(Instant);

impl Deadline {
    /// No deadline.
    pub const NONE: Deadline = Deadline(Instant::MAX);

    /// A deadline at `t`.
    pub const fn at(t: Instant) -> Deadline {
        Deadline(t)
    }

    /// The deadline, if there is one.
    pub fn get(self) -> Option<Instant> {
        (self.0 != Instant::MAX).then_some(self.0)
    }

    /// The deadline, `Instant::MAX` without one (the socket table's
    /// "none").
    pub(crate) const fn instant_or_max(self) -> Instant {
        self.0
    }

    /// Whether there is no deadline.
    pub fn is_none(self) -> bool {
        self.0 == Instant::MAX
    }

    /// Whether there is a deadline.
    pub fn is_some(self) -> bool {
        !self.is_none()
    }

    /// Whether there is a deadline and `f` holds for it.
    pub fn is_some_and(self, f: impl FnOnce(Instant) -> bool) -> bool {
        self.get().is_some_and(f)
    }

    /// `f` of the deadline, or `default` without one.
    pub fn map_or<T>(self, default: T, f: impl FnOnce(Instant) -> T) -> T {
        self.get().map_or(default, f)
    }

    /// The earlier of two deadlines; "none" only when both are none. One
    /// compare, because "none" is stored as the latest instant.
    ///
    /// ```
    /// use rtcp_core::time::{Deadline, Instant};
    /// let five = Deadline::at(Instant::from_millis(5));
    /// assert_eq!(five.min(Deadline::NONE), five);
    /// assert_eq!(Deadline::NONE.min(Deadline::NONE), Deadline::NONE);
    /// assert_eq!(five.min(Deadline::at(Instant::from_millis(3))).get(), Some(Instant::from_millis(3)));
    /// ```
    #[must_use]
    pub fn min(self, other: Deadline) -> Deadline {
        if other.0 < self.0 {
            other
        } else {
            self
        }
    }
}

impl Default for Deadline {
    fn default() -> Deadline {
        Deadline::NONE
    }
}

impl From<Option<Instant>> for Deadline {
    fn from(t: Option<Instant>) -> Deadline {
        t.map_or(Deadline::NONE, Deadline::at)
    }
}

impl fmt::Debug for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.get(), f)
    }
}

/// A span of time in microseconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Duration {
    micros: u64,
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration { micros: 0 };
    /// The longest representable span.
    pub const MAX: Duration = Duration { micros: u64::MAX };

    /// From microseconds.
    pub const fn from_micros(micros: u64) -> Duration {
        Duration { micros }
    }
    /// From milliseconds.
    pub const fn from_millis(millis: u64) -> Duration {
        Duration {
            micros: millis.saturating_mul(1000),
        }
    }
    /// From seconds.
    pub const fn from_secs(secs: u64) -> Duration {
        Duration {
            micros: secs.saturating_mul(1_000_000),
        }
    }
    /// Whole microseconds.
    pub const fn total_micros(self) -> u64 {
        self.micros
    }
    /// Whole milliseconds (truncated).
    pub const fn total_millis(self) -> u64 {
        div_rem_small(self.micros, 1000).0
    }
    /// `self * n`, saturating.
    pub const fn saturating_mul(self, n: u64) -> Duration {
        Duration {
            micros: self.micros.saturating_mul(n),
        }
    }
    /// `self + other`, saturating.
    pub const fn saturating_add(self, other: Duration) -> Duration {
        Duration {
            micros: self.micros.saturating_add(other.micros),
        }
    }
    /// `self - other`, or zero.
    pub const fn saturating_sub(self, other: Duration) -> Duration {
        Duration {
            micros: self.micros.saturating_sub(other.micros),
        }
    }
    /// The smaller of two spans.
    pub fn min(self, other: Duration) -> Duration {
        if self <= other {
            self
        } else {
            other
        }
    }
    /// The larger of two spans.
    pub fn max(self, other: Duration) -> Duration {
        if self >= other {
            self
        } else {
            other
        }
    }
}

impl fmt::Debug for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}s",
            self.micros / 1_000_000,
            self.micros % 1_000_000
        )
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturates at [`Instant::MAX`]. Out of line on 32-bit targets, where
    /// the saturating `u64` addition is several instructions at each of
    /// its many callers (flash, issue 9).
    #[cfg_attr(target_pointer_width = "64", inline)]
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    fn add(self, rhs: Duration) -> Instant {
        Instant {
            micros: self.micros.saturating_add(rhs.micros),
        }
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, rhs: Duration) -> Instant {
        Instant {
            micros: self.micros.saturating_sub(rhs.micros),
        }
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturates at zero when `rhs` is later than `self`.
    // Out of line on 32-bit targets (flash, issue 9: four inlined copies
    // in the firmware build); inlined on 64-bit hosts as before.
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_since(rhs)
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, rhs: Duration) -> Duration {
        self.saturating_add(rhs)
    }
}

impl Sub for Duration {
    type Output = Duration;
    fn sub(self, rhs: Duration) -> Duration {
        self.saturating_sub(rhs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Instant::ZERO - Duration::from_secs(1), Instant::ZERO);
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(
            Instant::from_secs(1) - Instant::from_secs(2),
            Duration::ZERO
        );
        assert_eq!(
            Instant::from_millis(1500) - Instant::from_secs(1),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn long_division_by_digits_matches_u64_division() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let edges = [
            0,
            1,
            999,
            1000,
            1001,
            65_535_999,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ];
        for v in edges {
            for d in [1, 7, 1000, 65_535, 65_536] {
                assert_eq!(
                    div_rem_by_digits(v, d),
                    (v / u64::from(d), (v % u64::from(d)) as u32)
                );
            }
        }
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let d = (x >> 48) as u32 + 1;
            assert_eq!(
                div_rem_by_digits(x, d),
                (x / u64::from(d), (x % u64::from(d)) as u32)
            );
            assert_eq!(
                div_rem_by_digits(x >> 20, 1000),
                ((x >> 20) / 1000, ((x >> 20) % 1000) as u32)
            );
        }
        assert_eq!(Instant::from_micros(12_345_678).total_millis(), 12_345);
        assert_eq!(div_rem_small(5, 0), (u64::MAX, 0));
        assert_eq!(
            div_rem_small(u64::MAX, 1 << 17),
            (u64::MAX >> 17, (1 << 17) - 1)
        );
    }
}
