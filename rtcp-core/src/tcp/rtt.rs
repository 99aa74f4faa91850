//! Retransmission timer computation (RFC 6298).

use crate::time::Duration;

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
        RtoConfig {
            initial: Duration::from_secs(1),
            min: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    }
}

/// Clock granularity G of RFC 6298 §2: our clock is in microseconds, but we
/// keep 1 ms so RTTVAR never collapses to nothing on a very steady path.
const GRANULARITY_US: u64 = 1_000;

/// SRTT / RTTVAR estimator with exponential backoff.
#[derive(Debug, Clone, Copy)]
pub struct RttEstimator {
    config: RtoConfig,
    /// Smoothed RTT in µs, scaled by 8.
    srtt8: u64,
    /// RTT variance in µs, scaled by 4.
    rttvar4: u64,
    has_sample: bool,
    /// Backoff exponent (RFC 6298 §5.5).
    backoff: u32,
}

impl RttEstimator {
    /// An estimator with no samples yet.
    pub fn new(config: RtoConfig) -> RttEstimator {
        RttEstimator {
            config,
            srtt8: 0,
            rttvar4: 0,
            has_sample: false,
            backoff: 0,
        }
    }

    /// Feed one RTT measurement (RFC 6298 §2.2, §2.3). The caller applies
    /// Karn's rule: no samples from retransmitted segments.
    pub fn sample(&mut self, rtt: Duration) {
        let r = rtt.total_micros().max(1);
        if !self.has_sample {
            // SRTT <- R, RTTVAR <- R/2
            self.srtt8 = r * 8;
            self.rttvar4 = r * 2;
            self.has_sample = true;
        } else {
            // RTTVAR <- 3/4 RTTVAR + 1/4 |SRTT - R'|; SRTT <- 7/8 SRTT + 1/8 R'
            let srtt = self.srtt8 / 8;
            let delta = srtt.abs_diff(r);
            self.rttvar4 = self.rttvar4 - self.rttvar4 / 4 + delta;
            self.srtt8 = self.srtt8 - self.srtt8 / 8 + r;
        }
        // A new sample after backoff restores the computed RTO (§5.7 spirit).
        self.backoff = 0;
    }

    /// Smoothed RTT, if any sample was taken.
    pub fn srtt(&self) -> Option<Duration> {
        self.has_sample
            .then(|| Duration::from_micros(self.srtt8 / 8))
    }

    /// RTT variance estimate.
    pub fn rttvar(&self) -> Duration {
        Duration::from_micros(self.rttvar4 / 4)
    }

    /// The RTO without backoff: SRTT + max(G, 4·RTTVAR), clamped.
    pub fn base_rto(&self) -> Duration {
        if !self.has_sample {
            return self.config.initial.min(self.config.max);
        }
        let rto = self.srtt8 / 8 + GRANULARITY_US.max(self.rttvar4);
        Duration::from_micros(rto)
            .max(self.config.min)
            .min(self.config.max)
    }

    /// The RTO to arm now, with backoff applied (§5.5), capped at the maximum.
    pub fn rto(&self) -> Duration {
        let base = self.base_rto();
        base.saturating_mul(1u64 << self.backoff.min(20))
            .min(self.config.max)
    }

    /// A retransmission timer expired: double the RTO (§5.5).
    pub fn back_off(&mut self) {
        self.backoff = (self.backoff + 1).min(20);
    }

    /// Number of consecutive backoffs.
    pub fn backoff_count(&self) -> u32 {
        self.backoff
    }

    /// Clear the backoff (new data acknowledged).
    pub fn reset_backoff(&mut self) {
        self.backoff = 0;
    }

    /// The configured bounds.
    pub fn config(&self) -> RtoConfig {
        self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_rto_is_one_second() {
        let r = RttEstimator::new(RtoConfig::default());
        assert_eq!(r.rto(), Duration::from_secs(1));
    }

    #[test]
    fn first_sample_sets_srtt_and_var() {
        let mut r = RttEstimator::new(RtoConfig {
            min: Duration::from_millis(1),
            ..RtoConfig::default()
        });
        r.sample(Duration::from_millis(100));
        assert_eq!(r.srtt(), Some(Duration::from_millis(100)));
        assert_eq!(r.rttvar(), Duration::from_millis(50));
        // 100 + 4*50
        assert_eq!(r.rto(), Duration::from_millis(300));
        r.sample(Duration::from_millis(100));
        // RTTVAR 37.5, SRTT 100 -> 250
        assert_eq!(r.rto(), Duration::from_micros(250_000));
    }

    #[test]
    fn backoff_doubles_up_to_max() {
        let mut r = RttEstimator::new(RtoConfig::default());
        r.back_off();
        assert_eq!(r.rto(), Duration::from_secs(2));
        r.back_off();
        assert_eq!(r.rto(), Duration::from_secs(4));
        for _ in 0..30 {
            r.back_off();
        }
        assert_eq!(r.rto(), Duration::from_secs(60));
    }

    #[test]
    fn minimum_is_enforced() {
        let mut r = RttEstimator::new(RtoConfig::default());
        r.sample(Duration::from_millis(1));
        assert_eq!(r.rto(), Duration::from_secs(1));
    }
}
