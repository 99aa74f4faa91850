//! Loss recovery on the sending side: what an ACK says about what was lost,
//! and how much may be sent while repairing it.
//!
//! - The send log ([`SendLog`]) is the SACK scoreboard of RFC 6675: SACK
//!   blocks mark records, "pipe" counts what is still in flight, and lost
//!   records are retransmitted first, oldest first (NextSeg), so several
//!   losses in one window are repaired in one round trip.
//! - Losses are detected by RACK (RFC 8985 §6) when the peer SACKs, by
//!   RFC 6675's IsLost without the `rack` feature, and by three duplicate
//!   ACKs plus NewReno's partial-ACK rule (RFC 6582) when it does not.
//! - During fast recovery the window follows Proportional Rate Reduction
//!   (RFC 6937) toward the controller's ssthresh.
//! - A tail loss probe (RFC 8985 §7) goes out about two SRTTs after the last
//!   transmission, so a lost tail does not wait for the RTO.
//! - Spurious retransmissions are recognised by D-SACK (RFC 2883, RFC 3708)
//!   or by timestamps (the Eifel algorithm, RFC 3522), and the congestion
//!   response is undone.
//! - Delivery-rate samples (draft-cheng-iccrg-delivery-rate-estimation) are
//!   taken from the log and handed to the congestion controller.

use super::congestion::{AckSample, CongestionControl, RateSample};
#[cfg(feature = "rack")]
use super::rack::Rack;
use super::scoreboard::{SendLog, SentRecord, APP_LIMITED, COALESCED, LOG_CAPACITY, RETRANSMITTED};
use super::socket::TcpSocket;
use super::TcpStats;
use crate::time::{Deadline, Duration, Instant};
use crate::wire::{SeqNumber, TcpRepr};

/// Duplicate ACKs that signal a loss (RFC 5681 §3.2, RFC 6675 DupThresh).
pub const DUP_THRESH: u8 = 3;

/// Worst-case delayed-ACK time added to a probe timeout when only one
/// segment is in flight (RFC 8985 §7.2 WCDelAckT).
#[cfg(feature = "rack")]
const WORST_CASE_DELAYED_ACK: Duration = Duration::from_millis(200);

/// How far behind its pacing schedule a sender may catch up in one go
/// (see `on_data_sent`).
const PACING_CATCH_UP: Duration = Duration::from_millis(1);

/// Loss-recovery state of one connection.
#[derive(Debug, Clone)]
pub struct RecoveryState<const LOG: usize = LOG_CAPACITY> {
    /// What is in flight, segment by segment.
    pub log: SendLog<LOG>,
    /// RACK state.
    #[cfg(feature = "rack")]
    pub rack: Rack,
    /// RACK's reordering timer.
    pub rack_deadline: Deadline,
    /// When a tail loss probe is due.
    pub tlp_deadline: Deadline,
    /// A probe is to be sent now.
    pub send_tlp: bool,
    /// SND.MAX when the outstanding probe was sent.
    pub tlp_high: Option<SeqNumber>,
    /// The outstanding probe was a retransmission.
    pub tlp_retrans: bool,
    /// A D-SACK showed the probe was not needed.
    pub tlp_dsacked: bool,
    /// The current recovery episode began with an RTO (slow start, not PRR).
    pub after_rto: bool,
    /// PRR (RFC 6937): bytes delivered since recovery began.
    pub prr_delivered: usize,
    /// PRR: bytes sent since recovery began.
    pub prr_out: usize,
    /// PRR: bytes in flight when recovery began.
    pub recover_fs: usize,
    /// PRR: bytes that may still be sent on the strength of the last ACK.
    pub prr_quota: usize,
    /// Rate sampling: bytes delivered on the connection (C.delivered).
    pub delivered: u64,
    /// When `delivered` last moved (C.delivered_time).
    pub delivered_at: Instant,
    /// Send time of the first segment of the current sampling flight.
    pub first_sent_at: Instant,
    /// C.app_limited: the delivered count until which samples are
    /// application-limited (0: not limited).
    pub app_limited_until: u64,
    /// Bytes ever marked lost.
    pub lost_total: u64,
    /// Smallest RTT seen.
    pub min_rtt: Option<Duration>,
    /// Retransmissions in the current episode not yet shown spurious.
    pub undo_retrans: u32,
    /// The last congestion response may still be undone until SND.UNA
    /// passes this.
    pub undo_until: Option<SeqNumber>,
    /// SND.UNA when the episode began: a D-SACK reaching no further
    /// reports an earlier episode's resend and says nothing about this one.
    pub undo_from: SeqNumber,
    /// TSval of the episode's first retransmission (Eifel).
    pub retrans_tsval: Option<u32>,
    /// Sequence number of that retransmission: only the ACK that first
    /// covers it tells whether the original or the resend arrived.
    pub retrans_seq: Option<SeqNumber>,
    /// Receive side: a duplicate segment to report in a D-SACK block.
    pub dsack: Option<(SeqNumber, SeqNumber)>,
    /// Pacing: the earliest time the next data segment may leave.
    pub next_send_at: Deadline,
    /// The last `dispatch` found data ready that only pacing held back.
    pub pacing_held: bool,
}

impl<const LOG: usize> Default for RecoveryState<LOG> {
    fn default() -> Self {
        RecoveryState::new()
    }
}

impl<const LOG: usize> RecoveryState<LOG> {
    /// Nothing for the ACK step's recovery half to do on an ACK that
    /// acknowledges nothing new and carries no SACK blocks: no marks in
    /// the log, no episode to undo or finish, no probe or reordering timer
    /// to cancel. Header prediction (`predict.rs`) relies on it.
    #[cfg(feature = "header-prediction")]
    pub(crate) fn is_idle(&self) -> bool {
        self.log.lost_bytes() == 0
            && self.log.sacked_bytes() == 0
            && self.tlp_high.is_none()
            && self.undo_until.is_none()
            && self.rack_deadline.is_none()
            && self.tlp_deadline.is_none()
    }

    /// Fresh state.
    pub const fn new() -> RecoveryState<LOG> {
        RecoveryState {
            log: SendLog::new(),
            #[cfg(feature = "rack")]
            rack: Rack {
                xmit_ts: 0,
                end_seq: SeqNumber(0),
                valid: false,
                rtt: Duration::ZERO,
                fack: SeqNumber(0),
                reordering_seen: false,
                reo_wnd_mult: 0,
                reo_wnd_persist: 0,
                dsack_round: None,
            },
            rack_deadline: Deadline::NONE,
            tlp_deadline: Deadline::NONE,
            send_tlp: false,
            tlp_high: None,
            tlp_retrans: false,
            tlp_dsacked: false,
            after_rto: false,
            prr_delivered: 0,
            prr_out: 0,
            recover_fs: 0,
            prr_quota: 0,
            delivered: 0,
            delivered_at: Instant::ZERO,
            first_sent_at: Instant::ZERO,
            app_limited_until: 0,
            lost_total: 0,
            min_rtt: None,
            undo_retrans: 0,
            undo_until: None,
            undo_from: SeqNumber(0),
            retrans_tsval: None,
            retrans_seq: None,
            dsack: None,
            next_send_at: Deadline::NONE,
            pacing_held: false,
        }
    }

    /// Back to fresh state for a new connection, in place: the send log
    /// forgets its records by length (its array is not rewritten) and no
    /// whole value is built and copied, since this runs several times per
    /// connection. Exhaustive, so a new field cannot be forgotten here.
    pub fn reset(&mut self) {
        let RecoveryState {
            log,
            #[cfg(feature = "rack")]
            rack,
            rack_deadline,
            tlp_deadline,
            send_tlp,
            tlp_high,
            tlp_retrans,
            tlp_dsacked,
            after_rto,
            prr_delivered,
            prr_out,
            recover_fs,
            prr_quota,
            delivered,
            delivered_at,
            first_sent_at,
            app_limited_until,
            lost_total,
            min_rtt,
            undo_retrans,
            undo_until,
            undo_from,
            retrans_tsval,
            retrans_seq,
            dsack,
            next_send_at,
            pacing_held,
        } = self;
        // The values of `new` (`reset_matches_new` checks them); not a
        // copy of a constant `new()`, which would put the whole log in flash.
        log.clear();
        #[cfg(feature = "rack")]
        {
            *rack = Rack {
                xmit_ts: 0,
                end_seq: SeqNumber(0),
                valid: false,
                rtt: Duration::ZERO,
                fack: SeqNumber(0),
                reordering_seen: false,
                reo_wnd_mult: 0,
                reo_wnd_persist: 0,
                dsack_round: None,
            };
        }
        *rack_deadline = Deadline::NONE;
        *tlp_deadline = Deadline::NONE;
        *send_tlp = false;
        *tlp_high = None;
        *tlp_retrans = false;
        *tlp_dsacked = false;
        *after_rto = false;
        *prr_delivered = 0;
        *prr_out = 0;
        *recover_fs = 0;
        *prr_quota = 0;
        *delivered = 0;
        *delivered_at = Instant::ZERO;
        *first_sent_at = Instant::ZERO;
        *app_limited_until = 0;
        *lost_total = 0;
        *min_rtt = None;
        *undo_retrans = 0;
        *undo_until = None;
        *undo_from = SeqNumber(0);
        *retrans_tsval = None;
        *retrans_seq = None;
        *dsack = None;
        *next_send_at = Deadline::NONE;
        *pacing_held = false;
    }
}

fn low32(t: Instant) -> u32 {
    t.total_micros() as u32
}

/// A full-width counter from its low 32 bits, given the current value.
fn widen(current: u64, low: u32) -> u64 {
    current.wrapping_sub(u64::from((current as u32).wrapping_sub(low)))
}

/// Whether SACK block `k` is a D-SACK (RFC 2883 §4): the first block, below
/// the cumulative ACK or inside the second block.
fn is_dsack(seg: &TcpRepr, k: usize, ack: SeqNumber) -> bool {
    if k != 0 {
        return false;
    }
    let blocks = &seg.options.sack_blocks;
    let Some(first) = blocks.first() else {
        return false;
    };
    if first.right <= ack {
        return true;
    }
    seg.options.sack_count > 1
        && blocks
            .get(1)
            .is_some_and(|second| second.left <= first.left && first.right <= second.right)
}

impl<'a, const LOG: usize> TcpSocket<'a, LOG> {
    /// Bytes in flight (RFC 6675 pipe).
    pub(crate) fn pipe(&self) -> usize {
        self.rec.log.pipe(self.snd_max - self.snd_una)
    }

    /// In fast recovery (not slow start after an RTO).
    pub(crate) fn in_fast_recovery(&self) -> bool {
        self.recover.is_some() && !self.rec.after_rto
    }

    /// Bytes the congestion state lets out now.
    pub(crate) fn congestion_room(&self, limited_transmit: usize) -> usize {
        #[cfg(feature = "prr")]
        if self.in_fast_recovery() && self.cc.uses_prr() {
            return self.rec.prr_quota;
        }
        (self.cc.window() + limited_transmit).saturating_sub(self.pipe())
    }

    /// The time and counters stamped on a transmission.
    fn send_snapshot(&mut self, now: Instant, len: usize) -> SentRecord {
        let pipe = self.pipe();
        if pipe == 0 {
            // A new flight: the sampling intervals start now.
            self.rec.first_sent_at = now;
            self.rec.delivered_at = now;
        }
        let app_limited = self.rec.app_limited_until != 0;
        SentRecord {
            sent_at: low32(now),
            earliest: low32(now),
            delivered: self.rec.delivered as u32,
            delivered_at: low32(self.rec.delivered_at),
            first_sent_at: low32(self.rec.first_sent_at),
            tx_in_flight: u32::try_from(pipe + len).unwrap_or(u32::MAX),
            lost: self.rec.lost_total as u32,
            flags: if app_limited { APP_LIMITED } else { 0 },
            ..SentRecord::default()
        }
    }

    /// Bookkeeping for a data segment (or FIN) that left: `[seq, seq+len)`
    /// in sequence space.
    pub(crate) fn on_data_sent(
        &mut self,
        now: Instant,
        seq: SeqNumber,
        len: usize,
        stats: &mut TcpStats,
    ) {
        if len == 0 {
            return;
        }
        let snapshot = self.send_snapshot(now, len);
        let end = seq + len;
        let tlp = core::mem::take(&mut self.rec.send_tlp);
        if seq < self.snd_max {
            self.rec.log.on_retransmit(seq, len, snapshot);
            if !tlp {
                self.rec.undo_retrans = self.rec.undo_retrans.saturating_add(1);
                if self.rec.retrans_tsval.is_none() && self.ts_ok {
                    self.rec.retrans_tsval = Some(self.ts_now(now));
                    self.rec.retrans_seq = Some(seq);
                }
            }
        } else {
            self.rec.log.on_send_new(seq, end, snapshot);
        }
        if self.in_fast_recovery() {
            self.rec.prr_out += len;
            self.rec.prr_quota = self.rec.prr_quota.saturating_sub(len);
        }
        if tlp {
            // RFC 8985 §7.3: one probe at a time; the RTO runs from now.
            self.rec.tlp_high = Some(self.snd_max.max(end));
            self.rec.tlp_retrans = seq < self.snd_max;
            self.rec.tlp_dsacked = false;
            self.rtx_deadline = Deadline::at(now + self.rtt.rto());
            stats.tail_loss_probes += 1;
        } else {
            self.arm_tlp(now);
        }
        // Pacing (BBR): the next segment leaves len / rate after this one
        // was due. A caller that polls late (a host thread woken on a
        // millisecond timer, an MCU busy elsewhere) while pacing held data
        // back may catch up on up to PACING_CATCH_UP of schedule at once,
        // as Linux releases about 1 ms of data per pacing quantum; more, or
        // credit for time spent waiting on the window, would be a burst the
        // model never asked for.
        let next = self.cc.pacing_rate().filter(|r| *r > 0).map(|rate| {
            let gap = (len as u64).saturating_mul(1_000_000) / rate;
            let floor = if self.rec.pacing_held {
                Instant::from_micros(
                    now.total_micros()
                        .saturating_sub(PACING_CATCH_UP.total_micros()),
                )
            } else {
                now
            };
            let from = self.rec.next_send_at.map_or(now, |t| t.max(floor));
            from + Duration::from_micros(gap)
        });
        self.rec.next_send_at = next.into();
    }

    /// Note that the application, not the network, limits sending now
    /// (draft-cheng-iccrg-delivery-rate-estimation §3.4).
    pub(crate) fn note_app_limited(&mut self) {
        let pipe = self.pipe();
        if pipe < self.cc.window() && self.rec.log.lost_bytes() == 0 {
            self.rec.app_limited_until = (self.rec.delivered + pipe as u64).max(1);
        }
    }

    /// Schedule a tail loss probe (RFC 8985 §7.2) when one is allowed.
    pub(crate) fn arm_tlp(&mut self, now: Instant) {
        #[cfg(feature = "rack")]
        {
            let allowed = self.sack_ok
                && self.recover.is_none()
                && self.rec.tlp_high.is_none()
                && self.snd_max > self.snd_una;
            let Some(srtt) = self.rtt.srtt().filter(|_| allowed) else {
                self.rec.tlp_deadline = Deadline::NONE;
                return;
            };
            let mut pto = srtt.saturating_mul(2);
            if self.snd_max - self.snd_una <= self.mss() {
                pto = pto.saturating_add(WORST_CASE_DELAYED_ACK);
            }
            let pto = pto.max(Duration::from_millis(10));
            let at = now + pto;
            self.rec.tlp_deadline = Deadline::at(match self.rtx_deadline.get() {
                Some(rto) => at.min(rto),
                None => at,
            });
        }
        #[cfg(not(feature = "rack"))]
        {
            let _ = now;
        }
    }

    /// Everything an acceptable ACK tells about loss (called from the ACK
    /// step after SND.UNA has moved). `prior_una` is SND.UNA before it.
    pub(crate) fn on_ack_for_recovery(
        &mut self,
        now: Instant,
        seg: &TcpRepr,
        prior_una: SeqNumber,
        duplicate: bool,
        stats: &mut TcpStats,
    ) {
        let ack = seg.ack_number;
        let mss = self.mss();
        let advanced = ack > prior_una;
        let prior_lost = self.rec.log.lost_bytes();

        // 1. Walk the log: cumulative part, then SACK blocks.
        let mut delivered = 0usize;
        let mut newest: Option<SentRecord> = None;
        let mut dsack_segments = 0u32;
        // Of those, the ones reporting this episode's resends.
        let mut episode_dsacks = 0u32;
        let undo_from = self.rec.undo_from;
        {
            let rec = &mut self.rec;
            #[cfg(feature = "rack")]
            let rack = &mut rec.rack;
            let min_rtt = rec.min_rtt;
            let mut visit = |r: &SentRecord, n: usize| {
                delivered += n;
                #[cfg(feature = "rack")]
                {
                    // A merged record was partly sent as early as `earliest`:
                    // RACK must not believe later segments were delivered.
                    let sent = if r.has(COALESCED) {
                        r.earliest
                    } else {
                        r.sent_at
                    };
                    rack.on_delivered(now, sent, r.end, r.flags, min_rtt);
                }
                #[cfg(not(feature = "rack"))]
                let _ = min_rtt;
                if newest.is_none_or(|p| r.sent_after(p.sent_at, p.end)) {
                    newest = Some(*r);
                }
            };
            if advanced {
                rec.log.on_cumulative_ack(ack, &mut visit);
            }
            if self.sack_ok {
                let count = usize::from(seg.options.sack_count);
                for (k, block) in seg.options.sack_blocks.iter().take(count).enumerate() {
                    if is_dsack(seg, k, ack) {
                        let len = block.right - block.left;
                        let segments = len.div_ceil(mss.max(1)).max(1) as u32;
                        dsack_segments += segments;
                        if block.right > undo_from {
                            episode_dsacks += segments;
                        }
                        continue;
                    }
                    if block.right <= ack {
                        continue;
                    }
                    rec.log
                        .on_sack_block(block.left.max(ack), block.right, &mut visit);
                }
            }
        }

        // 2. Delivery counters, RTT floor, rate sample.
        let mut rate = None;
        if delivered > 0 {
            self.rec.delivered += delivered as u64;
            self.rec.delivered_at = now;
        }
        if let Some(p) = newest {
            let rtt = Duration::from_micros(u64::from(low32(now).wrapping_sub(p.sent_at)));
            if !p.has(RETRANSMITTED) && !p.has(COALESCED) {
                self.rec.min_rtt = Some(self.rec.min_rtt.map_or(rtt, |m| m.min(rtt)));
            }
            rate = self.rate_sample(now, &p);
        }
        if self.rec.app_limited_until != 0 && self.rec.delivered > self.rec.app_limited_until {
            self.rec.app_limited_until = 0;
        }

        // 3. Spurious retransmissions: D-SACK, or timestamps (Eifel).
        if dsack_segments > 0 {
            #[cfg(feature = "rack")]
            self.rec.rack.on_dsack(self.snd_una, self.snd_max);
            if self.rec.tlp_high.is_some() && self.rec.tlp_retrans {
                self.rec.tlp_dsacked = true;
            }
            // Undo once every resend of this episode is reported
            // duplicate (RFC 3708 §3.2; an episode that resent nothing,
            // because its resends could not leave yet, has nothing to undo).
            if self.rec.undo_until.is_some() && self.rec.undo_retrans > 0 && episode_dsacks > 0 {
                self.rec.undo_retrans = self.rec.undo_retrans.saturating_sub(episode_dsacks);
                if self.rec.undo_retrans == 0 {
                    self.undo_congestion_response(now, stats);
                }
            }
        }
        // Eifel (RFC 3522) looks at the ACK that first covers the
        // episode's first retransmission, and only that one: an earlier
        // ACK says nothing about it, and a later one may have been
        // triggered by segments sent before it (with a large window a
        // new episode starts while the previous one's resends are still
        // in flight, and their ACKs echo older timestamps).
        let covers_first_resend = self
            .rec
            .retrans_seq
            .is_some_and(|first| prior_una <= first && first < ack);
        if advanced && covers_first_resend && self.rec.undo_until.is_some() && self.ts_ok {
            self.rec.retrans_seq = None;
            if let (Some(tsval), Some((_, ecr))) = (self.rec.retrans_tsval, seg.options.timestamp) {
                if ecr != 0 && (ecr.wrapping_sub(tsval) as i32) < 0 {
                    // The ACK echoes a timestamp older than our first
                    // retransmission: the original arrived.
                    self.undo_congestion_response(now, stats);
                }
            }
        }
        if self.rec.undo_until.is_some_and(|u| self.snd_una > u) {
            self.rec.undo_until = None;
        }

        // 4. Loss detection.
        if duplicate {
            self.dup_acks = self.dup_acks.saturating_add(1);
        } else if advanced {
            self.dup_acks = 0;
        }
        let sack_driven = self.sack_ok && self.rec.log.sacked_bytes() > 0;
        if sack_driven {
            self.detect_loss_by_sack(now, mss);
        }
        // Without usable SACK information (no SACK, or the head of the log
        // was coarsened and RACK leaves it alone): three duplicate ACKs,
        // then NewReno's partial ACKs (RFC 6582 §3.2), each mark the first
        // segment lost.
        let head_coarse = self.rec.log.get(0).is_some_and(|r| r.has(COALESCED));
        if !self.sack_ok || !cfg!(feature = "rack") || head_coarse {
            let no_sack_info = !sack_driven || head_coarse;
            let three_dup_acks = self.recover.is_none() && self.dup_acks >= DUP_THRESH;
            let partial_ack =
                self.in_fast_recovery() && advanced && self.recover.is_some_and(|r| ack < r);
            if no_sack_info && (three_dup_acks || partial_ack) {
                // One segment as it will be resent (the payload MSS, net
                // of options), so the split leaves no sliver behind.
                let segment = self.payload_mss();
                self.rec.log.mark_head_lost(segment);
            }
        }
        let newly_lost = self.rec.log.lost_bytes().saturating_sub(prior_lost);
        self.rec.lost_total += newly_lost as u64;

        // 5. Recovery episodes.
        if let Some(recover) = self.recover {
            if self.snd_una >= recover {
                self.exit_recovery(now);
            }
        }
        if self.recover.is_none() && self.rec.log.lost_bytes() > 0 {
            self.enter_fast_recovery(now, stats);
        }
        // ECN-Echo (RFC 3168 §6.1.2): a reduction without a loss.
        let ece = self.ecn_on_ack(now, seg);

        // 6. Tail loss probe outcome (RFC 8985 §7.4): a retransmitted probe
        // that repaired a loss (no D-SACK for it) still means congestion.
        if let Some(high) = self.rec.tlp_high {
            if self.recover.is_some() {
                self.rec.tlp_high = None;
            } else if ack >= high {
                self.rec.tlp_high = None;
                if self.rec.tlp_retrans && !self.rec.tlp_dsacked && advanced {
                    let flight = self.snd_max - self.snd_una;
                    self.cc.on_congestion_event(now, flight + mss, mss);
                    self.cc.on_recovery_exit(now, flight, mss);
                }
            }
        }

        // 7. PRR (RFC 6937 §3): the sending quota for this ACK.
        if self.in_fast_recovery() {
            self.rec.prr_delivered += delivered;
            let pipe = self.pipe();
            let ssthresh = self.cc.ssthresh();
            let sndcnt = if pipe > ssthresh {
                // Proportional part: ceil(prr_delivered * ssthresh / RecoverFS) - prr_out.
                let fs = self.rec.recover_fs.max(1) as u64;
                let share = (self.rec.prr_delivered as u64 * ssthresh as u64).div_ceil(fs);
                (share as usize).saturating_sub(self.rec.prr_out)
            } else {
                // Slow-start reduction bound (PRR-SSRB).
                let limit =
                    (self.rec.prr_delivered.saturating_sub(self.rec.prr_out)).max(delivered) + mss;
                ssthresh.saturating_sub(pipe).min(limit)
            };
            // The fast retransmit itself always goes (RFC 5681 §3.2 step 4):
            // with pipe already at ssthresh PRR's first quota is zero, and
            // the repair would wait for another ACK, or for the RTO when
            // none comes (the same rule as RFC 9937's "prr_out == 0").
            let sndcnt = if self.rec.prr_out == 0 {
                sndcnt.max(mss)
            } else {
                sndcnt
            };
            self.rec.prr_quota = sndcnt;
        }

        // 8. Tell the controller.
        let acked = (ack - prior_una).min(self.snd_max - prior_una);
        let sample = AckSample {
            now,
            delivered,
            acked,
            in_flight: self.pipe(),
            mss,
            rtt: newest
                .filter(|p| !p.has(RETRANSMITTED) && !p.has(COALESCED))
                .map(|p| Duration::from_micros(u64::from(low32(now).wrapping_sub(p.sent_at)))),
            min_rtt: self.rec.min_rtt,
            srtt: self.rtt.srtt(),
            rate,
            // An ECN-Echo ACK does not grow the window (RFC 3168 §6.1.2).
            in_recovery: self.in_fast_recovery() || ece,
            newly_lost,
        };
        if delivered > 0 || acked > 0 {
            self.cc.on_ack(&sample);
        }

        // 9. Timers: the probe is rescheduled by forward progress.
        if advanced && self.rec.tlp_high.is_none() {
            self.arm_tlp(now);
        }
        if self.snd_una >= self.snd_max {
            self.rec.tlp_deadline = Deadline::NONE;
            self.rec.rack_deadline = Deadline::NONE;
        }
    }

    /// RACK (or RFC 6675 IsLost) over the whole log.
    fn detect_loss_by_sack(&mut self, now: Instant, mss: usize) {
        #[cfg(feature = "rack")]
        {
            let many_sacked = self.rec.log.sacked_bytes() > usize::from(DUP_THRESH - 1) * mss;
            let reo = self.rec.rack.reo_wnd(
                self.rec.min_rtt,
                self.rtt.srtt(),
                self.recover.is_some(),
                many_sacked,
            );
            let (_, timer) = self.rec.rack.detect_loss(&mut self.rec.log, now, reo);
            self.rec.rack_deadline = timer.into();
        }
        #[cfg(not(feature = "rack"))]
        {
            let _ = now;
            self.rec.log.mark_lost_by_sack(usize::from(DUP_THRESH), mss);
        }
    }

    /// RACK's reordering timer fired (RFC 8985 §6.3).
    pub(crate) fn on_rack_timer(&mut self, now: Instant, stats: &mut TcpStats) {
        self.rec.rack_deadline = Deadline::NONE;
        let prior = self.rec.log.lost_bytes();
        let mss = self.mss();
        self.detect_loss_by_sack(now, mss);
        self.rec.lost_total += self.rec.log.lost_bytes().saturating_sub(prior) as u64;
        if self.recover.is_none() && self.rec.log.lost_bytes() > 0 {
            self.enter_fast_recovery(now, stats);
        }
    }

    fn enter_fast_recovery(&mut self, now: Instant, stats: &mut TcpStats) {
        let mss = self.mss();
        let flight = self.snd_max - self.snd_una;
        self.recover = Some(self.snd_max);
        self.rec.after_rto = false;
        self.cc.on_congestion_event(now, flight, mss);
        self.rec.prr_delivered = 0;
        self.rec.prr_out = 0;
        self.rec.recover_fs = flight;
        // The fast retransmit itself always goes (RFC 6937 §3, RFC 5681 §3.2).
        self.rec.prr_quota = mss;
        self.rec.undo_retrans = 0;
        self.rec.retrans_tsval = None;
        self.rec.retrans_seq = None;
        self.rec.undo_until = Some(self.snd_max);
        self.rec.undo_from = self.snd_una;
        self.rec.tlp_deadline = Deadline::NONE;
        self.rtt_timing = None;
        self.ecn_window_reduced();
        stats.fast_retransmits += 1;
        net_debug!(
            "tcp {}: fast recovery, {} bytes in flight",
            self.local.port,
            flight
        );
    }

    fn exit_recovery(&mut self, now: Instant) {
        let mss = self.mss();
        if !self.rec.after_rto {
            let pipe = self.pipe();
            self.cc.on_recovery_exit(now, pipe, mss);
        }
        #[cfg(feature = "rack")]
        self.rec.rack.on_recovery_exit();
        self.recover = None;
        self.rec.after_rto = false;
        self.dup_acks = 0;
        // Undo stays possible for one more round trip: D-SACKs for the
        // episode's retransmissions arrive after the ACK that ended it.
        if self.rec.undo_until.is_some() {
            self.rec.undo_until = Some(self.snd_max);
        }
    }

    /// The retransmission timer expired: everything not SACKed is lost
    /// (RFC 6675 §5.1, RFC 8985 §6.3), slow start from one segment.
    pub(crate) fn on_retransmission_timeout(&mut self, now: Instant) {
        let mss = self.mss();
        let flight = self.snd_max - self.snd_una;
        if self.rtt.backoff_count() >= 2 {
            // Two timeouts in a row and still no progress: the peer may have
            // discarded what it SACKed (RFC 2018 §8 reneging). Forget the
            // SACK marks so those bytes are sent again too.
            self.rec.log.clear_sacked();
        }
        let segment = self.payload_mss();
        self.rec.log.unsack_head(segment);
        let prior = self.rec.log.lost_bytes();
        self.rec.log.mark_all_lost();
        self.rec.lost_total += self.rec.log.lost_bytes().saturating_sub(prior) as u64;
        self.cc.on_timeout(now, flight, mss);
        self.recover = Some(self.snd_max);
        self.rec.after_rto = true;
        self.rec.undo_retrans = 0;
        self.rec.retrans_tsval = None;
        self.rec.retrans_seq = None;
        self.rec.undo_until = Some(self.snd_max);
        self.rec.undo_from = self.snd_una;
        self.rec.tlp_deadline = Deadline::NONE;
        self.rec.tlp_high = None;
        self.rec.send_tlp = false;
        self.rec.rack_deadline = Deadline::NONE;
        self.rec.next_send_at = Deadline::NONE;
        self.dup_acks = 0;
        self.ecn_window_reduced();
    }

    /// The last congestion response was spurious: restore the window and
    /// stop repairing what was not lost.
    fn undo_congestion_response(&mut self, now: Instant, stats: &mut TcpStats) {
        self.rec.undo_until = None;
        self.rec.retrans_tsval = None;
        self.rec.retrans_seq = None;
        self.cc.on_spurious_congestion(now);
        if self.recover.is_some() {
            self.rec.log.clear_lost();
            self.recover = None;
            self.rec.after_rto = false;
        }
        stats.spurious_undos += 1;
    }

    /// A rate sample from the most recently sent delivered record (draft
    /// §3.3). Its interval is zero (no rate) while the measured interval is
    /// shorter than the minimum RTT (ACK compression would overstate the
    /// rate); the delivered counts still let BBR and HyStart++ count rounds.
    fn rate_sample(&mut self, now: Instant, p: &SentRecord) -> Option<RateSample> {
        let prior_delivered = widen(self.rec.delivered, p.delivered);
        let send_elapsed = p.sent_at.wrapping_sub(p.first_sent_at);
        let ack_elapsed = low32(now).wrapping_sub(p.delivered_at);
        self.rec.first_sent_at = Instant::from_micros(
            now.total_micros()
                .saturating_sub(u64::from(low32(now).wrapping_sub(p.sent_at))),
        );
        let mut interval = Duration::from_micros(u64::from(send_elapsed.max(ack_elapsed)));
        if self.rec.min_rtt.is_some_and(|m| interval < m) {
            interval = Duration::ZERO;
        }
        Some(RateSample {
            delivered: self.rec.delivered.saturating_sub(prior_delivered),
            interval,
            prior_delivered,
            total_delivered: self.rec.delivered,
            tx_in_flight: p.tx_in_flight as usize,
            lost: self
                .rec
                .lost_total
                .saturating_sub(widen(self.rec.lost_total, p.lost)),
            app_limited: p.has(APP_LIMITED),
        })
    }

    /// Receive side: remember a duplicate `[start, end)` for a D-SACK
    /// block in the next ACK (RFC 2883 §4).
    pub(crate) fn note_duplicate(&mut self, start: SeqNumber, end: SeqNumber) {
        if self.sack_ok && start < end {
            self.rec.dsack = Some((start, end));
        }
    }
}
