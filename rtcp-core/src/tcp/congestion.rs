//! Congestion control behind a trait; NewReno (RFC 5681, RFC 6582) by default.
//!
//! Integer arithmetic only: the engine must run on microcontrollers without
//! an FPU. The socket owns the loss-detection logic (duplicate ACK counting,
//! the recovery point); an algorithm only decides the window.

/// What a congestion controller is told and what it decides.
pub trait CongestionControl {
    /// The congestion window in bytes.
    fn window(&self) -> usize;
    /// Slow-start threshold in bytes.
    fn ssthresh(&self) -> usize;
    /// New data was cumulatively acknowledged outside recovery.
    fn on_ack(&mut self, acked: usize, mss: usize);
    /// Loss detected by duplicate ACKs: enter fast recovery (RFC 5681 §3.2
    /// steps 2-3). `flight` is the data outstanding.
    fn on_fast_retransmit(&mut self, flight: usize, mss: usize);
    /// A further duplicate ACK during fast recovery (§3.2 step 4).
    fn on_dup_ack_in_recovery(&mut self, mss: usize);
    /// A partial ACK during recovery (RFC 6582 §3.2 step 5).
    fn on_partial_ack(&mut self, acked: usize, mss: usize);
    /// A full ACK ends recovery (RFC 6582 §3.2 step 6).
    fn on_recovery_exit(&mut self, flight: usize, mss: usize);
    /// The retransmission timer expired (RFC 5681 §3.1 eqn. 4).
    fn on_timeout(&mut self, flight: usize, mss: usize);
    /// The connection was idle for longer than an RTO (RFC 5681 §4.1).
    fn on_idle_restart(&mut self, mss: usize);
}

/// Initial window (RFC 5681 §3.1 / RFC 3390 formula).
pub fn initial_window(mss: usize) -> usize {
    if mss > 2190 {
        2 * mss
    } else if mss > 1095 {
        3 * mss
    } else {
        4 * mss
    }
}

/// NewReno: slow start, congestion avoidance, fast retransmit and fast
/// recovery with partial-ACK handling.
#[derive(Debug, Clone, Copy)]
pub struct NewReno {
    cwnd: usize,
    ssthresh: usize,
    /// Bytes acked since the last cwnd increase in congestion avoidance.
    avoidance_acked: usize,
}

impl NewReno {
    /// A fresh controller for a path with this MSS.
    pub fn new(mss: usize) -> NewReno {
        NewReno {
            cwnd: initial_window(mss),
            // RFC 5681 §3.1: initial ssthresh arbitrarily high.
            ssthresh: usize::MAX / 2,
            avoidance_acked: 0,
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

    fn on_ack(&mut self, acked: usize, mss: usize) {
        if self.cwnd < self.ssthresh {
            // Slow start, with appropriate byte counting limited to one SMSS
            // per ACK (RFC 5681 §3.1, RFC 3465 L=1... we allow 2·SMSS as ABC does).
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

    fn on_fast_retransmit(&mut self, flight: usize, mss: usize) {
        self.ssthresh = (flight / 2).max(2 * mss);
        self.cwnd = self.ssthresh + 3 * mss;
        self.avoidance_acked = 0;
    }

    fn on_dup_ack_in_recovery(&mut self, mss: usize) {
        self.cwnd = self.cwnd.saturating_add(mss);
    }

    fn on_partial_ack(&mut self, acked: usize, mss: usize) {
        // Deflate by the amount acked, add back one SMSS if it was at least that.
        self.cwnd = self.cwnd.saturating_sub(acked);
        if acked >= mss {
            self.cwnd = self.cwnd.saturating_add(mss);
        }
        self.cwnd = self.cwnd.max(mss);
    }

    fn on_recovery_exit(&mut self, flight: usize, mss: usize) {
        // RFC 6582 §3.2 step 6, option (1) with the burst guard of option (2).
        self.cwnd = self.ssthresh.min(flight.max(mss) + mss);
    }

    fn on_timeout(&mut self, flight: usize, mss: usize) {
        self.ssthresh = (flight / 2).max(2 * mss);
        self.cwnd = mss;
        self.avoidance_acked = 0;
    }

    fn on_idle_restart(&mut self, mss: usize) {
        self.cwnd = self.cwnd.min(initial_window(mss));
    }
}

/// The congestion controllers a socket can use, without allocation.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Congestion {
    /// NewReno (the default).
    NewReno(NewReno),
}

impl Congestion {
    fn inner(&self) -> &dyn CongestionControl {
        match self {
            Congestion::NewReno(c) => c,
        }
    }
    fn inner_mut(&mut self) -> &mut dyn CongestionControl {
        match self {
            Congestion::NewReno(c) => c,
        }
    }
}

impl CongestionControl for Congestion {
    fn window(&self) -> usize {
        self.inner().window()
    }
    fn ssthresh(&self) -> usize {
        self.inner().ssthresh()
    }
    fn on_ack(&mut self, acked: usize, mss: usize) {
        self.inner_mut().on_ack(acked, mss)
    }
    fn on_fast_retransmit(&mut self, flight: usize, mss: usize) {
        self.inner_mut().on_fast_retransmit(flight, mss)
    }
    fn on_dup_ack_in_recovery(&mut self, mss: usize) {
        self.inner_mut().on_dup_ack_in_recovery(mss)
    }
    fn on_partial_ack(&mut self, acked: usize, mss: usize) {
        self.inner_mut().on_partial_ack(acked, mss)
    }
    fn on_recovery_exit(&mut self, flight: usize, mss: usize) {
        self.inner_mut().on_recovery_exit(flight, mss)
    }
    fn on_timeout(&mut self, flight: usize, mss: usize) {
        self.inner_mut().on_timeout(flight, mss)
    }
    fn on_idle_restart(&mut self, mss: usize) {
        self.inner_mut().on_idle_restart(mss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_start_then_avoidance() {
        let mss = 1000;
        let mut c = NewReno::new(mss);
        assert_eq!(c.window(), 4000);
        c.on_ack(1000, mss);
        assert_eq!(c.window(), 5000);
        c.on_timeout(10_000, mss);
        assert_eq!(c.window(), 1000);
        assert_eq!(c.ssthresh(), 5000);
        for _ in 0..4 {
            c.on_ack(1000, mss);
        }
        assert_eq!(c.window(), 5000);
        // Now in avoidance: 5000 bytes acked for +1 MSS.
        for _ in 0..4 {
            c.on_ack(1000, mss);
        }
        assert_eq!(c.window(), 5000);
        c.on_ack(1000, mss);
        assert_eq!(c.window(), 6000);
    }

    #[test]
    fn fast_recovery_inflates_and_deflates() {
        let mss = 1000;
        let mut c = NewReno::new(mss);
        c.on_fast_retransmit(20_000, mss);
        assert_eq!(c.ssthresh(), 10_000);
        assert_eq!(c.window(), 13_000);
        c.on_dup_ack_in_recovery(mss);
        assert_eq!(c.window(), 14_000);
        c.on_partial_ack(3000, mss);
        assert_eq!(c.window(), 12_000);
        c.on_recovery_exit(9000, mss);
        assert_eq!(c.window(), 10_000);
    }
}
