//! CUBIC (RFC 9438) in integer arithmetic, with HyStart++ (RFC 9406) to
//! leave slow start before it overshoots.
//!
//! Windows are kept in bytes. The cubic function of RFC 9438 §4.2,
//! `W_cubic(t) = C·(t − K)³ + W_max` with `C = 0.4` segments/s³, is
//! evaluated with `t` in microseconds and `C` scaled by the MSS, so
//! `C·t³ = 4·mss·t_us³ / (10·10¹⁸)` bytes; `K = ∛((W_max − cwnd_epoch)·10¹⁹ /
//! (4·mss))` microseconds comes from an exact integer cube root. No
//! floating point anywhere: the engine must run on a Cortex-M4 without FPU.

use super::{initial_window, AckSample, CongestionControl};
use crate::time::{Duration, Instant};

/// β_cubic = 0.7 as a fraction (RFC 9438 §4.6).
const BETA_NUM: usize = 7;
const BETA_DEN: usize = 10;
/// α_cubic = 3·(1 − β)/(1 + β) = 9/17 (RFC 9438 §4.3).
const ALPHA_NUM: usize = 9;
const ALPHA_DEN: usize = 17;
/// `10¹⁸ / C` with `C = 0.4`: µs³ per (segment of window).
const US3_PER_SEGMENT: u128 = 2_500_000_000_000_000_000;
/// The cubic clock is capped here (about 71 minutes) so `t³` cannot overflow.
const MAX_T_US: u64 = 1 << 32;

// HyStart++ constants (RFC 9406 §4.3).
const MIN_RTT_THRESH: Duration = Duration::from_millis(4);
const MAX_RTT_THRESH: Duration = Duration::from_millis(16);
const MIN_RTT_DIVISOR: u64 = 8;
const N_RTT_SAMPLE: u32 = 8;
const CSS_GROWTH_DIVISOR: usize = 4;
const CSS_ROUNDS: u32 = 5;

/// Floor of the cube root of `x`, digit by digit in base 8: exact, no
/// division, bounded at 43 steps (RFC 9438 leaves the method open).
pub fn cube_root(x: u128) -> u64 {
    let mut rem = x;
    let mut y: u128 = 0;
    let mut shift: i32 = 126;
    while shift >= 0 {
        y <<= 1;
        // (y + 1)³ − y³ = 3y² + 3y + 1, for the doubled y.
        let b = 3 * y * (y + 1) + 1;
        if (rem >> shift) >= b {
            rem -= b << shift;
            y += 1;
        }
        shift -= 3;
    }
    y as u64
}

/// HyStart++ phase (RFC 9406 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlowStart {
    /// Standard slow start, watching the RTT.
    Standard,
    /// Conservative slow start: growth divided by `CSS_GROWTH_DIVISOR`,
    /// for `rounds` more rounds.
    Conservative { rounds: u32, baseline: Duration },
    /// Done: congestion avoidance (or slow start after a timeout, where
    /// RFC 9406 §4.3 says not to use HyStart++ again).
    Off,
}

/// CUBIC state (RFC 9438 §4).
#[derive(Debug, Clone, Copy)]
pub struct Cubic {
    cwnd: usize,
    ssthresh: usize,
    /// W_max: the window just before the last reduction (bytes).
    w_max: usize,
    /// cwnd_prior: the window before the last reduction (§4.3, for α).
    cwnd_prior: usize,
    /// Start of the current congestion-avoidance epoch.
    epoch_start: Option<Instant>,
    /// K in microseconds.
    k_us: u64,
    /// W_est, the Reno-friendly estimate (bytes).
    w_est: usize,
    /// Fractions of a byte owed to W_est and cwnd (numerators).
    est_acc: u64,
    cwnd_acc: u64,
    /// Bytes acked in slow start not yet turned into growth (CSS).
    ss_acc: usize,
    /// State saved before the last reduction, for undo (§4.9).
    saved: Option<Saved>,
    // HyStart++ round tracking by delivered bytes.
    hystart: SlowStart,
    round_end: u64,
    last_round_min_rtt: Option<Duration>,
    current_round_min_rtt: Option<Duration>,
    rtt_samples: u32,
}

#[derive(Debug, Clone, Copy)]
struct Saved {
    cwnd: usize,
    ssthresh: usize,
    w_max: usize,
    cwnd_prior: usize,
}

impl Cubic {
    /// A fresh controller for a path with this MSS.
    pub fn new(mss: usize) -> Cubic {
        Cubic {
            cwnd: initial_window(mss),
            ssthresh: usize::MAX / 2,
            w_max: 0,
            cwnd_prior: 0,
            epoch_start: None,
            k_us: 0,
            w_est: 0,
            est_acc: 0,
            cwnd_acc: 0,
            ss_acc: 0,
            saved: None,
            hystart: SlowStart::Standard,
            round_end: 0,
            last_round_min_rtt: None,
            current_round_min_rtt: None,
            rtt_samples: 0,
        }
    }

    /// W_max in bytes.
    pub fn w_max(&self) -> usize {
        self.w_max
    }

    /// K in microseconds (RFC 9438 eqn. 2).
    pub fn k(&self) -> Duration {
        Duration::from_micros(self.k_us)
    }

    /// `W_cubic(t)` in bytes, `t` since the epoch began (RFC 9438 eqn. 1).
    pub fn w_cubic(&self, t: Duration, mss: usize) -> usize {
        let t = t.total_micros().min(MAX_T_US);
        let (dt, above) = if t >= self.k_us {
            (t - self.k_us, true)
        } else {
            (self.k_us - t, false)
        };
        let dt = u128::from(dt);
        let offset = (dt * dt * dt).saturating_mul(mss as u128) / US3_PER_SEGMENT;
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        if above {
            self.w_max.saturating_add(offset)
        } else {
            self.w_max.saturating_sub(offset)
        }
    }

    /// K = ∛((W_max − cwnd_epoch) / C) (RFC 9438 eqn. 2), in microseconds.
    fn compute_k(w_max: usize, cwnd_epoch: usize, mss: usize) -> u64 {
        let diff = w_max.saturating_sub(cwnd_epoch) as u128;
        cube_root(diff * US3_PER_SEGMENT / mss.max(1) as u128)
    }

    /// Congestion avoidance begins (RFC 9438 §4.2).
    fn start_epoch(&mut self, now: Instant, mss: usize) {
        self.epoch_start = Some(now);
        if self.cwnd < self.w_max {
            self.k_us = Cubic::compute_k(self.w_max, self.cwnd, mss);
        } else {
            // Above the old maximum (or none yet): the plateau is here.
            self.k_us = 0;
            self.w_max = self.cwnd;
        }
        self.w_est = self.cwnd;
        self.est_acc = 0;
        self.cwnd_acc = 0;
    }

    fn slow_start(&mut self, ack: &AckSample) {
        let mss = ack.mss;
        // RFC 3465 byte counting with L = 2.
        let mut grow = ack.acked.min(2 * mss);
        if let SlowStart::Conservative { .. } = self.hystart {
            // RFC 9406 §4.2: CSS grows by a quarter of standard slow start.
            self.ss_acc += grow;
            grow = self.ss_acc / CSS_GROWTH_DIVISOR;
            self.ss_acc %= CSS_GROWTH_DIVISOR;
        }
        self.cwnd = self.cwnd.saturating_add(grow);
    }

    /// HyStart++ (RFC 9406 §4.2), fed once per ACK in slow start.
    fn hystart(&mut self, ack: &AckSample) {
        if self.hystart == SlowStart::Off {
            return;
        }
        if let Some(rtt) = ack.rtt {
            self.current_round_min_rtt =
                Some(self.current_round_min_rtt.map_or(rtt, |m| m.min(rtt)));
            self.rtt_samples = self.rtt_samples.saturating_add(1);
        }
        let Some(rate) = ack.rate else { return };
        if rate.prior_delivered < self.round_end {
            // Still within the round.
            if let (SlowStart::Standard, Some(last), Some(cur)) = (
                self.hystart,
                self.last_round_min_rtt,
                self.current_round_min_rtt,
            ) {
                if self.rtt_samples >= N_RTT_SAMPLE {
                    let eighth = Duration::from_micros(last.total_micros() / MIN_RTT_DIVISOR);
                    let thresh = eighth.clamp(MIN_RTT_THRESH, MAX_RTT_THRESH);
                    if cur >= last + thresh {
                        self.hystart = SlowStart::Conservative {
                            rounds: 0,
                            baseline: cur,
                        };
                    }
                }
            }
            return;
        }
        // A new round begins.
        self.round_end = rate.total_delivered;
        if let SlowStart::Conservative { rounds, baseline } = self.hystart {
            if self.current_round_min_rtt.is_some_and(|cur| cur < baseline) {
                // The RTT rise was spurious: back to slow start (§4.2).
                self.hystart = SlowStart::Standard;
            } else if rounds + 1 >= CSS_ROUNDS {
                // Five rounds of CSS: leave slow start.
                self.ssthresh = self.cwnd;
                self.hystart = SlowStart::Off;
            } else {
                self.hystart = SlowStart::Conservative {
                    rounds: rounds + 1,
                    baseline,
                };
            }
        }
        self.last_round_min_rtt = self.current_round_min_rtt;
        self.current_round_min_rtt = None;
        self.rtt_samples = 0;
    }

    fn congestion_avoidance(&mut self, ack: &AckSample) {
        let mss = ack.mss.max(1);
        let now = ack.now;
        let epoch = match self.epoch_start {
            Some(e) => e,
            None => {
                self.start_epoch(now, mss);
                now
            }
        };
        let t = now - epoch;
        let cwnd = self.cwnd.max(1);

        // W_est (RFC 9438 eqn. 4): α·acked/cwnd segments per ACK; α is 1
        // once W_est has reached the window before the reduction (§4.3).
        let (a_num, a_den) = if self.w_est >= self.cwnd_prior {
            (1, 1)
        } else {
            (ALPHA_NUM, ALPHA_DEN)
        };
        // u64 throughout: usize is 32 bits on the microcontrollers.
        let acked = ack.acked as u64;
        self.est_acc = self
            .est_acc
            .saturating_add(acked * mss as u64 * a_num as u64);
        let unit = cwnd as u64 * a_den as u64;
        let add = self.est_acc / unit;
        self.est_acc %= unit;
        self.w_est = self
            .w_est
            .saturating_add(usize::try_from(add).unwrap_or(usize::MAX));

        let w_cubic = self.w_cubic(t, mss);
        if w_cubic < self.w_est {
            // Reno-friendly region (§4.3).
            self.cwnd = self.w_est;
            return;
        }
        // Concave and convex regions (§4.4, §4.5): aim at W_cubic(t + RTT),
        // no less than cwnd and no more than 1.5·cwnd.
        let rtt = ack.srtt.or(ack.min_rtt).unwrap_or(Duration::ZERO);
        let target = self
            .w_cubic(t + rtt, mss)
            .clamp(self.cwnd, self.cwnd + self.cwnd / 2);
        // cwnd += (target − cwnd)/cwnd segments per segment acked.
        self.cwnd_acc = self
            .cwnd_acc
            .saturating_add((target - self.cwnd) as u64 * acked);
        let add = self.cwnd_acc / cwnd as u64;
        self.cwnd_acc %= cwnd as u64;
        self.cwnd = self
            .cwnd
            .saturating_add(usize::try_from(add).unwrap_or(usize::MAX));
    }

    /// Multiplicative decrease and the new W_max (RFC 9438 §4.6, §4.7).
    fn reduce(&mut self, mss: usize) {
        self.saved = Some(Saved {
            cwnd: self.cwnd,
            ssthresh: self.ssthresh,
            w_max: self.w_max,
            cwnd_prior: self.cwnd_prior,
        });
        // Fast convergence (§4.7): a flow whose maximum shrinks releases
        // bandwidth for newcomers.
        self.w_max = if self.cwnd < self.w_max {
            self.cwnd / (2 * BETA_DEN) * (BETA_DEN + BETA_NUM)
                + self.cwnd % (2 * BETA_DEN) * (BETA_DEN + BETA_NUM) / (2 * BETA_DEN)
        } else {
            self.cwnd
        };
        self.cwnd_prior = self.cwnd;
        let beta_cwnd =
            self.cwnd / BETA_DEN * BETA_NUM + self.cwnd % BETA_DEN * BETA_NUM / BETA_DEN;
        self.ssthresh = beta_cwnd.max(2 * mss);
        self.epoch_start = None;
        self.hystart = SlowStart::Off;
    }
}

impl CongestionControl for Cubic {
    fn window(&self) -> usize {
        self.cwnd
    }

    fn ssthresh(&self) -> usize {
        self.ssthresh
    }

    fn on_ack(&mut self, ack: &AckSample) {
        if ack.in_recovery || ack.acked == 0 {
            return;
        }
        if self.cwnd < self.ssthresh {
            self.hystart(ack);
            self.slow_start(ack);
            if self.cwnd >= self.ssthresh {
                self.epoch_start = None;
            }
        } else {
            self.congestion_avoidance(ack);
        }
    }

    fn on_congestion_event(&mut self, _now: Instant, _in_flight: usize, mss: usize) {
        self.reduce(mss);
        self.cwnd = self.ssthresh;
    }

    fn on_recovery_exit(&mut self, _now: Instant, _in_flight: usize, mss: usize) {
        // RFC 6937 §3: the window becomes ssthresh; the epoch starts with
        // the next ACK in congestion avoidance.
        self.cwnd = self.ssthresh.max(mss);
        self.epoch_start = None;
    }

    fn on_timeout(&mut self, _now: Instant, _in_flight: usize, mss: usize) {
        // RFC 9438 §4.8: ssthresh as for any congestion event, then slow
        // start from one segment (RFC 5681).
        self.reduce(mss);
        self.cwnd = mss;
    }

    fn on_spurious_congestion(&mut self, _now: Instant) {
        // RFC 9438 §4.9: restore the state before the reduction.
        if let Some(s) = self.saved.take() {
            self.cwnd = self.cwnd.max(s.cwnd);
            self.ssthresh = self.ssthresh.max(s.ssthresh);
            self.w_max = s.w_max;
            self.cwnd_prior = s.cwnd_prior;
            self.epoch_start = None;
        }
    }

    fn on_idle_restart(&mut self, _now: Instant, mss: usize) {
        // RFC 5681 §4.1; the cubic clock must not count the idle time
        // (RFC 9438 §5.8), so the epoch restarts with the next ACK.
        self.cwnd = self.cwnd.min(initial_window(mss));
        self.epoch_start = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::congestion::RateSample;

    const MSS: usize = 1000;

    fn ack_at(now_ms: u64, acked: usize) -> AckSample {
        AckSample {
            now: Instant::from_millis(now_ms),
            delivered: acked,
            acked,
            in_flight: 0,
            mss: MSS,
            rtt: None,
            min_rtt: None,
            srtt: None,
            rate: None,
            in_recovery: false,
            newly_lost: 0,
        }
    }

    #[test]
    fn cube_root_is_exact_floor() {
        for x in [0u128, 1, 7, 8, 26, 27, 63, 64, 999, 1000, 1_000_000_000] {
            let y = u128::from(cube_root(x));
            assert!(y * y * y <= x && (y + 1) * (y + 1) * (y + 1) > x, "{x}");
        }
        assert_eq!(cube_root(u128::MAX), 6_981_463_658_331);
        assert_eq!(cube_root(2_500_000_000_000_000_000 * 30), 4_217_163);
    }

    #[test]
    fn decrease_is_beta_and_k_matches_the_formula() {
        // cwnd 100 segments, first loss: W_max = 100, ssthresh = cwnd = 70.
        let mut c = Cubic::new(MSS);
        c.cwnd = 100 * MSS;
        c.ssthresh = 50 * MSS;
        c.on_congestion_event(Instant::ZERO, 100 * MSS, MSS);
        assert_eq!(c.w_max(), 100_000);
        assert_eq!(c.window(), 70_000);
        assert_eq!(c.ssthresh(), 70_000);
        c.on_recovery_exit(Instant::ZERO, 0, MSS);
        // Epoch starts at t = 0: K = ∛((100 − 70)/0.4) = ∛75 = 4.217163 s.
        c.on_ack(&ack_at(0, MSS));
        assert_eq!(c.k(), Duration::from_micros(4_217_163));
        // W_cubic(0) = 0.4·(−4.217163)³ + 100 = 70 segments (to a byte).
        assert!(c.w_cubic(Duration::ZERO, MSS).abs_diff(70_000) <= 1);
        // At t = K the curve is at W_max; at t = K + 1 s, W_max + 0.4 seg.
        assert_eq!(c.w_cubic(c.k(), MSS), 100_000);
        assert_eq!(c.w_cubic(c.k() + Duration::from_secs(1), MSS), 100_400);
        // t = 2 s: 0.4·(2 − 4.2171633)³ + 100 = 95.64034 segments.
        assert!(c.w_cubic(Duration::from_secs(2), MSS).abs_diff(95_640) <= 1);
    }

    #[test]
    fn fast_convergence_lowers_w_max() {
        let mut c = Cubic::new(MSS);
        c.cwnd = 100 * MSS;
        c.on_congestion_event(Instant::ZERO, 100 * MSS, MSS);
        c.on_recovery_exit(Instant::ZERO, 0, MSS);
        // A second loss below the old maximum: W_max = 70·(1 + 0.7)/2 = 59.5.
        c.on_congestion_event(Instant::ZERO, 70 * MSS, MSS);
        assert_eq!(c.w_max(), 59_500);
        assert_eq!(c.window(), 49_000);
    }

    #[test]
    fn window_follows_the_curve_in_the_concave_region() {
        let mut c = Cubic::new(MSS);
        c.cwnd = 100 * MSS;
        c.on_congestion_event(Instant::ZERO, 100 * MSS, MSS);
        c.on_recovery_exit(Instant::ZERO, 0, MSS);
        // ACK a window per 100 ms RTT for 3 s (long enough an RTT for the
        // cubic curve to lead W_est); cwnd must track W_cubic(t+RTT) from
        // below, never above it (RFC 9438 §4.4).
        let srtt = Duration::from_millis(100);
        let mut now = 0;
        while now <= 3000 {
            let segs = c.window() / MSS;
            for _ in 0..segs {
                c.on_ack(&AckSample {
                    srtt: Some(srtt),
                    ..ack_at(now, MSS)
                });
            }
            let ahead = c.w_cubic(Duration::from_millis(now) + srtt, MSS);
            let here = c.w_cubic(Duration::from_millis(now), MSS);
            assert!(c.window() <= ahead + MSS, "t={now} {} {ahead}", c.window());
            assert!(
                c.window() + 2 * MSS >= here,
                "t={now} {} {here}",
                c.window()
            );
            now += 100;
        }
        // W_cubic(3 s) = 0.4·(3 − 4.2171633)³ + 100 = 99.27872 segments, and
        // the window is within two segments of it.
        let w3 = c.w_cubic(Duration::from_secs(3), MSS);
        assert!(w3.abs_diff(99_279) <= 1, "{w3}");
        assert!(c.window().abs_diff(w3) <= 2 * MSS, "{}", c.window());
    }

    #[test]
    fn reno_friendly_region_on_short_rtt() {
        // Small W_max: K is short and the curve flat, so W_est leads.
        let mut c = Cubic::new(MSS);
        c.cwnd = 10 * MSS;
        c.on_congestion_event(Instant::ZERO, 10 * MSS, MSS);
        c.on_recovery_exit(Instant::ZERO, 0, MSS);
        assert_eq!(c.window(), 7000);
        // Epoch at 0; ack 7 windows of 7 segments at t = 0 (no time passes):
        // W_est = 7 + 9/17 · 49/7 ≈ 10.7 segments while W_cubic(0) = 7.
        for _ in 0..49 {
            c.on_ack(&ack_at(0, MSS));
        }
        assert!(c.window() > 7000, "{}", c.window());
        assert_eq!(c.window(), c.w_est);
    }

    #[test]
    fn undo_restores_and_timeout_slow_starts() {
        let mut c = Cubic::new(MSS);
        c.cwnd = 40 * MSS;
        c.on_timeout(Instant::ZERO, 40 * MSS, MSS);
        assert_eq!(c.window(), MSS);
        assert_eq!(c.ssthresh(), 28 * MSS);
        c.on_spurious_congestion(Instant::ZERO);
        assert_eq!(c.window(), 40 * MSS);
        assert_eq!(c.w_max(), 0);
        c.on_idle_restart(Instant::ZERO, MSS);
        assert_eq!(c.window(), 4 * MSS);
    }

    #[test]
    fn hystart_leaves_slow_start_when_rtt_rises() {
        let mut c = Cubic::new(MSS);
        let mut delivered = 0u64;
        let mut round_start = 0u64;
        // Rounds 1-3 at 20 ms, then 30 ms: more than 20 + clamp(20/8, 4, 16).
        for round in 0..12u64 {
            let rtt = Duration::from_millis(if round < 3 { 20 } else { 30 });
            let segs = c.window() / MSS;
            for _ in 0..segs {
                delivered += MSS as u64;
                c.on_ack(&AckSample {
                    rtt: Some(rtt),
                    rate: Some(RateSample {
                        delivered: MSS as u64,
                        interval: rtt,
                        prior_delivered: round_start,
                        total_delivered: delivered,
                        ..RateSample::default()
                    }),
                    ..ack_at(round * 20, MSS)
                });
            }
            round_start = delivered;
            if c.ssthresh() < usize::MAX / 2 {
                break;
            }
        }
        assert!(c.ssthresh() < usize::MAX / 2, "HyStart++ never exited");
        // Exit after the rise plus CSS_ROUNDS rounds of slower growth,
        // well below where unchecked doubling would be.
        assert!(c.window() >= c.ssthresh());
        assert!(c.ssthresh() < 400 * MSS, "{}", c.ssthresh());
    }
}
