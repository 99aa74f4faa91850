//! NewReno (RFC 5681, RFC 6582): slow start, congestion avoidance, and a
//! halving of the window per recovery episode.
//!
//! The window *during* recovery is the socket's business (PRR, RFC 6937);
//! this controller sets `ssthresh` when loss is detected and takes the
//! window to it when recovery ends.

use super::{initial_window, AckSample, CongestionControl};
use crate::time::Instant;

/// NewReno window state.
#[derive(Debug, Clone, Copy)]
pub struct NewReno {
    cwnd: usize,
    ssthresh: usize,
    /// Bytes acked since the last cwnd increase in congestion avoidance.
    avoidance_acked: usize,
    /// (cwnd, ssthresh) before the last reduction, for undo. Only with
    /// the `undo` feature: without it no response is ever found spurious
    /// (`on_spurious_congestion` is never called), and the 12 bytes per
    /// socket are saved (issue 9).
    #[cfg(feature = "undo")]
    before_reduction: Option<(usize, usize)>,
}

impl NewReno {
    /// A fresh controller for a path with this MSS.
    pub fn new(mss: usize) -> NewReno {
        NewReno {
            cwnd: initial_window(mss),
            // RFC 5681 §3.1: initial ssthresh arbitrarily high.
            ssthresh: usize::MAX / 2,
            avoidance_acked: 0,
            #[cfg(feature = "undo")]
            before_reduction: None,
        }
    }

    /// `on_ack` with the only three fields of the `AckSample` NewReno
    /// reads: the socket calls it directly and skips building the sample
    /// (issue 9).
    #[inline]
    pub(crate) fn on_acked(&mut self, acked: usize, mss: usize, in_recovery: bool) {
        if in_recovery || acked == 0 {
            return;
        }
        if self.cwnd < self.ssthresh {
            // Slow start with appropriate byte counting, L = 2 (RFC 3465).
            self.cwnd = self.cwnd.saturating_add(acked.min(2 * mss));
        } else {
            // Congestion avoidance: one SMSS per cwnd of data acknowledged.
            self.avoidance_acked = self.avoidance_acked.saturating_add(acked);
            if self.avoidance_acked >= self.cwnd {
                self.avoidance_acked -= self.cwnd;
                self.cwnd = self.cwnd.saturating_add(mss);
            }
        }
    }

    fn save_for_undo(&mut self) {
        #[cfg(feature = "undo")]
        {
            self.before_reduction = Some((self.cwnd, self.ssthresh));
        }
    }
}

impl CongestionControl for NewReno {
    fn window(&self) -> usize {
        self.cwnd
    }

    fn ssthresh(&self) -> usize {
        self.ssthresh
    }

    fn on_ack(&mut self, ack: &AckSample) {
        self.on_acked(ack.acked, ack.mss, ack.in_recovery);
    }

    fn on_congestion_event(&mut self, _now: Instant, in_flight: usize, mss: usize) {
        // RFC 5681 §3.2 step 2 (eqn. 4).
        self.save_for_undo();
        self.ssthresh = (in_flight / 2).max(2 * mss);
        // RFC 6675 §5 step 4.2: cwnd = ssthresh. With PRR (the default) the
        // socket paces the reduction itself and this only matters after.
        self.cwnd = self.ssthresh;
        self.avoidance_acked = 0;
    }

    fn on_recovery_exit(&mut self, _now: Instant, _in_flight: usize, mss: usize) {
        // RFC 6937 §3: at the end of recovery cwnd = ssthresh.
        self.cwnd = self.ssthresh.max(mss);
    }

    fn on_timeout(&mut self, _now: Instant, in_flight: usize, mss: usize) {
        self.save_for_undo();
        self.ssthresh = (in_flight / 2).max(2 * mss);
        self.cwnd = mss;
        self.avoidance_acked = 0;
    }

    fn on_spurious_congestion(&mut self, _now: Instant) {
        #[cfg(feature = "undo")]
        if let Some((cwnd, ssthresh)) = self.before_reduction.take() {
            self.cwnd = self.cwnd.max(cwnd);
            self.ssthresh = self.ssthresh.max(ssthresh);
        }
    }

    fn on_idle_restart(&mut self, _now: Instant, mss: usize) {
        self.cwnd = self.cwnd.min(initial_window(mss));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(acked: usize, mss: usize) -> AckSample {
        AckSample {
            now: Instant::ZERO,
            delivered: acked,
            acked,
            in_flight: 0,
            mss,
            rtt: None,
            min_rtt: None,
            srtt: None,
            rate: None,
            in_recovery: false,
            newly_lost: 0,
        }
    }

    #[test]
    fn slow_start_then_avoidance() {
        let mss = 1000;
        let mut c = NewReno::new(mss);
        assert_eq!(c.window(), 4000);
        c.on_ack(&ack(1000, mss));
        assert_eq!(c.window(), 5000);
        c.on_timeout(Instant::ZERO, 10_000, mss);
        assert_eq!(c.window(), 1000);
        assert_eq!(c.ssthresh(), 5000);
        for _ in 0..4 {
            c.on_ack(&ack(1000, mss));
        }
        assert_eq!(c.window(), 5000);
        // Now in avoidance: 5000 bytes acked for +1 MSS.
        for _ in 0..4 {
            c.on_ack(&ack(1000, mss));
        }
        assert_eq!(c.window(), 5000);
        c.on_ack(&ack(1000, mss));
        assert_eq!(c.window(), 6000);
    }

    #[test]
    fn recovery_halves_and_undo_restores() {
        let mss = 1000;
        let mut c = NewReno::new(mss);
        c.on_congestion_event(Instant::ZERO, 20_000, mss);
        assert_eq!(c.ssthresh(), 10_000);
        // No growth during recovery.
        c.on_ack(&AckSample {
            in_recovery: true,
            ..ack(3000, mss)
        });
        assert_eq!(c.window(), 10_000);
        c.on_recovery_exit(Instant::ZERO, 9000, mss);
        assert_eq!(c.window(), 10_000);
        c.on_spurious_congestion(Instant::ZERO);
        if cfg!(feature = "undo") {
            assert_eq!(c.ssthresh(), usize::MAX / 2);
        } else {
            // Nothing saved to restore (and never called in such a build).
            assert_eq!(c.ssthresh(), 10_000);
        }
        assert_eq!(c.window(), 10_000);
    }
}
