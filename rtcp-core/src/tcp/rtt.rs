//! Retransmission timer computation (RFC 6298).

use super::clock::Tick;
use super::socket::TcpSocket;
use crate::time::{Deadline, Duration, Instant};
use crate::wire::SeqNumber;

/// The one segment being timed for an RTT sample when timestamps are off
/// (RFC 6298 §3, with Karn's rule): its sequence number (`rtt_seq`) and
/// its send time, a `Tick` among the socket's 32-bit timers (`clock.rs`;
/// none: nothing is timed). Eight bytes less than the 12-byte value it
/// replaces, whose send time was a whole `Instant`. A sample older than
/// the timers' horizon (35.8 minutes) reads as that long.
impl<const LOG: usize> TcpSocket<'_, LOG> {
    /// Time the segment starting at `seq`, sent at `now`.
    pub(crate) fn time_segment(&mut self, seq: SeqNumber, now: Instant) {
        self.timers.rtt_seq = seq;
        self.timers.rtt_sent = self.timers.stamp(now);
    }

    /// Time nothing.
    pub(crate) fn untime(&mut self) {
        self.timers.rtt_sent = Tick::NONE;
    }

    /// Whether no segment is timed.
    pub(crate) fn timing_none(&self) -> bool {
        self.timers.rtt_sent.is_none()
    }

    /// When the timed segment ([`Self::rtt_seq`]) was sent; none when
    /// nothing is timed. A `Deadline`, which 32-bit targets return in
    /// registers, not a `(SeqNumber, Instant)` option, which they returned
    /// through memory (flash, issue 9).
    pub(crate) fn rtt_sent(&self) -> Deadline {
        self.timers.get(self.timers.rtt_sent)
    }

    /// The timed segment's sequence number; meaningful only while
    /// [`Self::rtt_sent`] is some.
    pub(crate) fn rtt_seq(&self) -> SeqNumber {
        self.timers.rtt_seq
    }
}

/// RTO bounds and initial value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RtoConfig {
    /// RTO before any RTT sample (RFC 6298 §2.1: 1 s).
    pub initial: Duration,
    /// Lower bound (RFC 6298 §2.4: 1 s; Linux uses 200 ms).
    pub min: Duration,
    /// Upper bound (RFC 6298 §2.5: at least 60 s).
    pub max: Duration,
}

impl Default for RtoConfig {
    fn default() -> Self {
        RtoConfig::DEFAULT
    }
}

impl RtoConfig {
    /// RFC 6298's values: 1 s initially, at least 1 s, at most 60 s.
    pub const DEFAULT: RtoConfig = RtoConfig {
        initial: Duration::from_secs(1),
        min: Duration::from_secs(1),
        max: Duration::from_secs(60),
    };
}

/// Clock granularity G of RFC 6298 §2: our clock is in microseconds, but we
/// keep 1 ms so RTTVAR never collapses to nothing on a very steady path.
const GRANULARITY_US: u32 = 1_000;

/// SRTT / RTTVAR estimator with exponential backoff.
///
/// Twelve bytes: the RTO bounds are the socket's configuration, passed in
/// where the RTO is computed rather than copied here, and the estimates
/// are `u32` microseconds (scaled by 8 and 4, as RFC 6298's gains are
/// 1/8 and 1/4), exact for round trips up to 536 s (SRTT) and variations
/// up to 1073 s; longer ones saturate there, far beyond any RTO bound in
/// use (RFC 6298 §2.5 asks for a maximum of at least 60 s).
#[derive(Debug, Clone, Copy)]
pub struct RttEstimator {
    /// Smoothed RTT in µs, scaled by 8.
    srtt8: u32,
    /// RTT variance in µs, scaled by 4.
    rttvar4: u32,
    /// Backoff exponent (RFC 6298 §5.5), at most [`MAX_BACKOFF`].
    backoff: u8,
    has_sample: bool,
}

/// The RTO doubles at most this many times (2^20 times the base RTO is
/// beyond any maximum).
const MAX_BACKOFF: u8 = 20;

impl Default for RttEstimator {
    fn default() -> Self {
        RttEstimator::new()
    }
}

impl RttEstimator {
    /// An estimator with no samples yet.
    pub const fn new() -> RttEstimator {
        RttEstimator {
            srtt8: 0,
            rttvar4: 0,
            backoff: 0,
            has_sample: false,
        }
    }

    /// Feed one RTT measurement (RFC 6298 §2.2, §2.3). The caller applies
    /// Karn's rule: no samples from retransmitted segments.
    // Inline on hosts: with timestamps every ACK takes a sample, and the
    // call cost a fifth of the update (issue 9); out of line on 32-bit
    // targets, where flash counts more.
    #[cfg_attr(target_pointer_width = "64", inline)]
    pub fn sample(&mut self, rtt: Duration) {
        let r = u32::try_from(rtt.total_micros()).unwrap_or(u32::MAX).max(1);
        if !self.has_sample {
            // SRTT <- R, RTTVAR <- R/2
            self.srtt8 = r.saturating_mul(8);
            self.rttvar4 = r.saturating_mul(2);
            self.has_sample = true;
        } else {
            // RTTVAR <- 3/4 RTTVAR + 1/4 |SRTT - R'|; SRTT <- 7/8 SRTT + 1/8 R'
            let srtt = self.srtt8 / 8;
            let delta = srtt.abs_diff(r);
            self.rttvar4 = (self.rttvar4 - self.rttvar4 / 4).saturating_add(delta);
            self.srtt8 = (self.srtt8 - self.srtt8 / 8).saturating_add(r);
        }
        // A new sample after backoff restores the computed RTO (§5.7 spirit).
        self.backoff = 0;
    }

    /// Smoothed RTT, if any sample was taken.
    pub fn srtt(&self) -> Option<Duration> {
        self.has_sample
            .then(|| Duration::from_micros(u64::from(self.srtt8 / 8)))
    }

    /// RTT variance estimate.
    pub fn rttvar(&self) -> Duration {
        Duration::from_micros(u64::from(self.rttvar4 / 4))
    }

    /// The RTO without backoff: SRTT + max(G, 4·RTTVAR), clamped to
    /// `bounds`.
    // Out of line on 32-bit targets (flash, issue 9: two inlined copies
    // in the firmware build); inlined on 64-bit hosts as before.
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    pub fn base_rto(&self, bounds: &RtoConfig) -> Duration {
        match self.computed_rto() {
            Some(computed) => computed.max(bounds.min).min(bounds.max),
            None => bounds.initial.min(bounds.max),
        }
    }

    /// The RTO to arm now, with backoff applied (§5.5), capped at the
    /// maximum of `bounds`.
    pub fn rto(&self, bounds: &RtoConfig) -> Duration {
        self.rto_from(|| bounds.initial, || bounds.min, || bounds.max)
    }

    /// [`rto`](Self::rto) with each bound supplied on demand, for a
    /// caller whose bounds are packed (the socket's configuration): only
    /// those this estimate needs are unpacked.
    #[inline]
    pub(crate) fn rto_from(
        &self,
        initial: impl FnOnce() -> Duration,
        min: impl FnOnce() -> Duration,
        max: impl FnOnce() -> Duration,
    ) -> Duration {
        doubled(self.raised_base(initial, min), self.backoff).min(max())
    }

    /// [`rto_from`](Self::rto_from) doubled `backoff` times instead of
    /// this estimator's own count: the persist timer's probes back off the
    /// same way (RFC 9293 §3.8.6.1). (A second body rather than
    /// `rto_from` calling this: passing the count in cost `rto` an
    /// instruction per call on x86_64.)
    #[inline]
    pub(crate) fn rto_from_with_backoff(
        &self,
        backoff: u8,
        initial: impl FnOnce() -> Duration,
        min: impl FnOnce() -> Duration,
        max: impl FnOnce() -> Duration,
    ) -> Duration {
        doubled(self.raised_base(initial, min), backoff).min(max())
    }

    /// The RTO before backoff and the maximum: the computed one raised to
    /// the minimum, or the initial one before any sample (§2.1).
    #[inline(always)]
    fn raised_base(
        &self,
        initial: impl FnOnce() -> Duration,
        min: impl FnOnce() -> Duration,
    ) -> Duration {
        match self.computed_rto() {
            Some(computed) => computed.max(min()),
            None => initial(),
        }
    }

    /// Number of consecutive backoffs (for
    /// [`rto_from_with_backoff`](Self::rto_from_with_backoff)).
    #[cfg_attr(not(target_pointer_width = "32"), allow(dead_code))]
    pub(crate) fn backoff(&self) -> u8 {
        self.backoff
    }

    /// SRTT + max(G, 4·RTTVAR) (§2.3), before any bound applies; `None`
    /// until the first sample (then the initial RTO holds, §2.1).
    fn computed_rto(&self) -> Option<Duration> {
        self.has_sample.then(|| {
            let rto = u64::from(self.srtt8 / 8) + u64::from(GRANULARITY_US.max(self.rttvar4));
            Duration::from_micros(rto)
        })
    }

    /// A retransmission timer expired: double the RTO (§5.5).
    pub fn back_off(&mut self) {
        self.backoff = (self.backoff + 1).min(MAX_BACKOFF);
    }

    /// Number of consecutive backoffs.
    pub fn backoff_count(&self) -> u32 {
        u32::from(self.backoff)
    }

    /// Clear the backoff (new data acknowledged).
    pub fn reset_backoff(&mut self) {
        self.backoff = 0;
    }
}

/// `base` doubled `backoff` times (§5.5, at most `MAX_BACKOFF`),
/// saturating. Capping the result at the maximum once is the same as
/// capping `base` first too: a base above the maximum only grows.
#[inline(always)]
fn doubled(base: Duration, backoff: u8) -> Duration {
    base.saturating_mul(1u64 << backoff.min(MAX_BACKOFF))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_rto_is_one_second() {
        let r = RttEstimator::new();
        assert_eq!(r.rto(&RtoConfig::default()), Duration::from_secs(1));
    }

    #[test]
    fn first_sample_sets_srtt_and_var() {
        let bounds = RtoConfig {
            min: Duration::from_millis(1),
            ..RtoConfig::default()
        };
        let mut r = RttEstimator::new();
        r.sample(Duration::from_millis(100));
        assert_eq!(r.srtt(), Some(Duration::from_millis(100)));
        assert_eq!(r.rttvar(), Duration::from_millis(50));
        // 100 + 4*50
        assert_eq!(r.rto(&bounds), Duration::from_millis(300));
        r.sample(Duration::from_millis(100));
        // RTTVAR 37.5, SRTT 100 -> 250
        assert_eq!(r.rto(&bounds), Duration::from_micros(250_000));
    }

    #[test]
    fn backoff_doubles_up_to_max() {
        let bounds = RtoConfig::default();
        let mut r = RttEstimator::new();
        r.back_off();
        assert_eq!(r.rto(&bounds), Duration::from_secs(2));
        r.back_off();
        assert_eq!(r.rto(&bounds), Duration::from_secs(4));
        for _ in 0..30 {
            r.back_off();
        }
        assert_eq!(r.rto(&bounds), Duration::from_secs(60));
    }

    #[test]
    fn minimum_is_enforced() {
        let mut r = RttEstimator::new();
        r.sample(Duration::from_millis(1));
        assert_eq!(r.rto(&RtoConfig::default()), Duration::from_secs(1));
    }

    #[test]
    fn very_long_round_trips_saturate() {
        let bounds = RtoConfig {
            max: Duration::MAX,
            ..RtoConfig::default()
        };
        let mut r = RttEstimator::new();
        r.sample(Duration::from_secs(10_000));
        r.sample(Duration::from_secs(10_000));
        // SRTT saturates at (2^32 - 1) / 8 µs, about 536 s.
        assert_eq!(
            r.srtt(),
            Some(Duration::from_micros(u64::from(u32::MAX / 8)))
        );
        assert!(r.rto(&bounds) >= Duration::from_secs(536));
    }

    proptest::proptest! {
        /// `rto` caps once, after the backoff: the same as clamping the
        /// base into the bounds first (`base_rto`, the persist timer's
        /// formula until session 16) and capping again, for any samples,
        /// backoff and bounds,
        /// including an initial RTO above the maximum.
        #[test]
        fn capping_once_is_capping_twice(
            samples in proptest::collection::vec(0u64..1u64 << 40, 0..5),
            backoffs in 0u8..25,
            initial in 0u64..1u64 << 36,
            min in 0u64..1u64 << 36,
            max in 0u64..1u64 << 36,
        ) {
            let bounds = RtoConfig {
                initial: Duration::from_micros(initial),
                min: Duration::from_micros(min),
                max: Duration::from_micros(max),
            };
            let mut r = RttEstimator::new();
            for s in samples {
                r.sample(Duration::from_micros(s));
            }
            for _ in 0..backoffs {
                r.back_off();
            }
            let twice = r
                .base_rto(&bounds)
                .saturating_mul(1u64 << r.backoff.min(MAX_BACKOFF))
                .min(bounds.max);
            proptest::prop_assert_eq!(r.rto(&bounds), twice);
        }
    }
}
