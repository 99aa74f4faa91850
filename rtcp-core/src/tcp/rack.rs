//! RACK: time-based loss detection (RFC 8985 §6).
//!
//! A segment is deemed lost when a segment sent after it has been delivered
//! and more than `RACK.rtt + RACK.reo_wnd` has passed since it was sent. The
//! reordering window starts at a quarter of the minimum RTT, drops to zero
//! in recovery while no reordering has been seen, and widens each time a
//! D-SACK shows that a retransmission was spurious.

use super::scoreboard::{SendLog, RETRANSMITTED, SACKED};
use crate::time::{Duration, Instant};
use crate::wire::SeqNumber;

/// Recoveries a widened reordering window survives (RFC 8985 §6.2 step 4).
const REO_WND_PERSIST: u8 = 16;

/// RACK state (RFC 8985 §6.1).
#[derive(Debug, Clone, Copy, Default)]
pub struct Rack {
    /// Send time (µs, low 32 bits) of the most recently sent segment that
    /// was delivered.
    pub xmit_ts: u32,
    /// Its end sequence number.
    pub end_seq: SeqNumber,
    /// Whether any segment was delivered yet (xmit_ts is meaningful).
    pub valid: bool,
    /// RTT of that segment.
    pub rtt: Duration,
    /// Highest end sequence delivered (RACK.fack).
    pub fack: SeqNumber,
    /// Reordering was observed on this connection.
    pub reordering_seen: bool,
    /// Multiplier of min_rtt/4 for the reordering window.
    pub reo_wnd_mult: u8,
    /// Recoveries left before the multiplier resets.
    pub reo_wnd_persist: u8,
    /// SND.MAX when the multiplier last grew (one increase per round trip).
    pub dsack_round: Option<SeqNumber>,
}

impl Rack {
    /// RFC 8985 §6.2 step 2: a delivered segment updates RACK.xmit_ts,
    /// end_seq and rtt if it was sent more recently. An ambiguous
    /// retransmission (its RTT below the minimum) is not used.
    pub fn on_delivered(
        &mut self,
        now: Instant,
        sent_at: u32,
        end: SeqNumber,
        flags: u8,
        min_rtt: Option<Duration>,
    ) {
        let rtt_us = (now.total_micros() as u32).wrapping_sub(sent_at);
        let rtt = Duration::from_micros(u64::from(rtt_us));
        // (Three quarters of it: a retransmission answered at once still
        // measures about one min_rtt, give or take jitter.)
        if flags & RETRANSMITTED != 0
            && min_rtt.is_some_and(|m| rtt.saturating_mul(4) < m.saturating_mul(3))
        {
            return;
        }
        // A merged record's send time is its latest transmission's: no
        // RTT sample, but it still orders deliveries.
        let coalesced = flags & super::scoreboard::COALESCED != 0;
        // Step 3: reordering is a delivery below the highest delivered
        // sequence of a segment that was never retransmitted.
        if self.valid && flags & RETRANSMITTED == 0 && end < self.fack {
            self.reordering_seen = true;
        }
        if !self.valid || end > self.fack {
            self.fack = end;
        }
        let newer = !self.valid || {
            let dt = sent_at.wrapping_sub(self.xmit_ts) as i32;
            dt > 0 || (dt == 0 && end > self.end_seq)
        };
        if newer {
            self.xmit_ts = sent_at;
            self.end_seq = end;
            if !coalesced || !self.valid {
                self.rtt = rtt;
            }
            self.valid = true;
        }
    }

    /// A D-SACK arrived (RFC 8985 §6.2 step 4): widen the window, at most
    /// once per round trip.
    pub fn on_dsack(&mut self, snd_una: SeqNumber, snd_max: SeqNumber) {
        // A needless retransmission is reordering (or delay) that RACK
        // mistook for loss.
        self.reordering_seen = true;
        if self.dsack_round.is_none_or(|r| snd_una >= r) {
            self.reo_wnd_mult = self.reo_wnd_mult.saturating_add(1).min(64);
            self.dsack_round = Some(snd_max);
            self.reo_wnd_persist = REO_WND_PERSIST;
        }
    }

    /// A recovery episode ended: count down the widened window's life.
    pub fn on_recovery_exit(&mut self) {
        if self.reo_wnd_persist > 0 {
            self.reo_wnd_persist -= 1;
            if self.reo_wnd_persist == 0 {
                self.reo_wnd_mult = 0;
            }
        }
    }

    /// The reordering window (RFC 8985 §6.2 step 4).
    pub fn reo_wnd(
        &self,
        min_rtt: Option<Duration>,
        srtt: Option<Duration>,
        in_recovery: bool,
        sacked_segments_beyond_thresh: bool,
    ) -> Duration {
        let Some(min_rtt) = min_rtt else {
            return Duration::ZERO;
        };
        if !self.reordering_seen && (in_recovery || sacked_segments_beyond_thresh) {
            return Duration::ZERO;
        }
        let quarter = Duration::from_micros(min_rtt.total_micros() / 4);
        let wnd = quarter.saturating_mul(u64::from(self.reo_wnd_mult.max(1)));
        match srtt {
            Some(s) => wnd.min(s),
            None => wnd,
        }
    }

    /// RFC 8985 §6.2 step 5: mark lost every unSACKed record sent before
    /// the most recently delivered one whose deadline has passed. Returns
    /// the bytes newly marked and, for the records still waiting, the
    /// earliest time they would be lost (the reordering timer).
    pub fn detect_loss<const N: usize>(
        &self,
        log: &mut SendLog<N>,
        now: Instant,
        reo_wnd: Duration,
    ) -> (usize, Option<Instant>) {
        if !self.valid {
            return (0, None);
        }
        let now_us = now.total_micros() as u32;
        let wait = self.rtt.saturating_add(reo_wnd).total_micros();
        let mut newly = 0;
        let mut timer: Option<Instant> = None;
        for i in 0..log.len() {
            let Some(rec) = log.get(i).copied() else {
                break;
            };
            if rec.has(SACKED) || rec.has(super::scoreboard::LOST) {
                continue;
            }
            // A COALESCED record's `sent_at` is the latest of its
            // transmissions, so the test below is conservative for it: the
            // whole record is called lost only when even its newest part is
            // overdue. (Repairing such records one segment per round trip,
            // NewReno-style, stalled large windows for seconds: a receiver
            // that drops a long run of segments leaves exactly such a
            // record behind.)
            if rec.sent_after(self.xmit_ts, self.end_seq) {
                // Sent after the newest delivered segment: too early to say.
                // The log is in sequence order, not send order: a younger
                // retransmission can sit before older first transmissions,
                // so look at the rest too (stopping here once left holes
                // behind a fresh retransmission of the head unrepaired
                // until the RTO).
                continue;
            }
            let age = u64::from(now_us.wrapping_sub(rec.sent_at));
            if age >= wait {
                newly += log.mark_lost(i);
            } else {
                let at = now + Duration::from_micros(wait - age);
                timer = Some(timer.map_or(at, |t| t.min(at)));
            }
        }
        (newly, timer)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::scoreboard::{SentRecord, LOST};
    use super::*;

    fn log_of(times: &[u32]) -> SendLog {
        let mut log = SendLog::new();
        for (k, t) in times.iter().enumerate() {
            let k = k as u32;
            log.on_send_new(
                SeqNumber(k * 100),
                SeqNumber(k * 100 + 100),
                SentRecord {
                    sent_at: *t,
                    ..SentRecord::default()
                },
            );
        }
        log
    }

    #[test]
    fn older_segment_is_lost_after_rtt_plus_window() {
        // Segments sent at 0, 10, 20 ms; the third is SACKed at 120 ms.
        let mut log = log_of(&[0, 10_000, 20_000]);
        let mut rack = Rack::default();
        let now = Instant::from_millis(120);
        log.on_sack_block(SeqNumber(200), SeqNumber(300), |r, _| {
            rack.on_delivered(now, r.sent_at, r.end, r.flags, None)
        });
        assert_eq!(rack.rtt, Duration::from_millis(100));
        let reo = Duration::from_millis(25);
        let (lost, timer) = rack.detect_loss(&mut log, now, reo);
        // Segment 0: age 120 >= 125? no. Segment 1: age 110, no.
        assert_eq!(lost, 0);
        assert_eq!(timer, Some(Instant::from_millis(125)));
        let (lost, timer) = rack.detect_loss(&mut log, Instant::from_millis(125), reo);
        assert_eq!(lost, 100);
        assert_eq!(timer, Some(Instant::from_millis(135)));
        assert!(log.get(0).unwrap().has(LOST));
    }

    #[test]
    fn reordering_is_noticed_and_widens_with_dsack() {
        let mut rack = Rack::default();
        let now = Instant::from_millis(50);
        rack.on_delivered(now, 0, SeqNumber(300), 0, None);
        assert!(!rack.reordering_seen);
        rack.on_delivered(now, 0, SeqNumber(200), 0, None);
        assert!(rack.reordering_seen);
        let min = Some(Duration::from_millis(40));
        let srtt = Some(Duration::from_millis(100));
        assert_eq!(
            rack.reo_wnd(min, srtt, true, true),
            Duration::from_millis(10)
        );
        rack.on_dsack(SeqNumber(0), SeqNumber(1000));
        rack.on_dsack(SeqNumber(10), SeqNumber(1000));
        assert_eq!(rack.reo_wnd_mult, 1, "one increase per round trip");
        rack.on_dsack(SeqNumber(1000), SeqNumber(2000));
        assert_eq!(
            rack.reo_wnd(min, srtt, true, true),
            Duration::from_millis(20)
        );
        // Capped at SRTT.
        rack.reo_wnd_mult = 50;
        assert_eq!(
            rack.reo_wnd(min, srtt, true, true),
            Duration::from_millis(100)
        );
    }

    #[test]
    fn no_reordering_in_recovery_means_zero_window() {
        let rack = Rack::default();
        let min = Some(Duration::from_millis(40));
        assert_eq!(rack.reo_wnd(min, None, true, false), Duration::ZERO);
        assert_eq!(
            rack.reo_wnd(min, None, false, false),
            Duration::from_millis(10)
        );
    }
}
