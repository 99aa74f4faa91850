//! What an acceptable ACK tells the sender about loss (RFC 6675, RFC 8985,
//! RFC 6582), when fast recovery starts and ends, the response to a
//! retransmission timeout, the undo of a spurious one (RFC 3522, RFC 3708)
//! and the delivery-rate sample handed to the congestion controller. The
//! state these steps keep is [`RecoveryState`], in the parent module.

use super::*;

impl<'a, const LOG: usize> TcpSocket<'a, LOG> {
    /// Everything an acceptable ACK tells about loss (called from the ACK
    /// step after SND.UNA has moved). `prior_una` is SND.UNA before it.
    // Out of line on 32-bit targets (one caller, `process_ack`): the
    // default firmware build, where it carries the SACK and RACK steps,
    // is 144 B smaller (issue 9, `footprint/measure.sh`).
    #[cfg_attr(target_pointer_width = "32", inline(never))]
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
        // A clean cumulative ACK, the common case: it moves SND.UNA, has no
        // SACK blocks (so no D-SACK either), and finds no recovery episode,
        // no marks in the log, no undo mark and no outstanding probe. Of
        // the steps below only the delivery walk (RACK's RFC 8985 §6.2
        // per-segment update, RTT and rate samples), ECN (RFC 3168
        // §6.1.2), the controller and the timers then have anything to
        // do: D-SACK and Eifel undo need an undo mark, loss detection
        // needs SACKed or lost bytes or duplicate ACKs (an advancing ACK
        // resets their count, RFC 5681 §3.2), and the episode, probe and
        // PRR steps need their state. Skipping them is what makes it
        // cheap; the outcome is the same. (Not on 32-bit targets, flash:
        // there every ACK takes the steps.)
        let clean = cfg!(target_pointer_width = "64")
            && advanced
            && seg.options.sack_count == 0
            && self.rec.nothing_marked_or_probed()
            && !self.hot.flags.get(Flags::RECOVERING)
            && self.rec.undo_until().is_none();

        // 1. Walk the log: cumulative part, then SACK blocks.
        let mut delivered = 0usize;
        // The most recently sent record this ACK delivered: its send time
        // gives the RTT and rate samples (none without send times).
        #[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
        let mut newest: Option<SentRecord> = None;
        let mut dsack_segments = 0u32;
        // Of those, the ones reporting this episode's resends.
        let mut episode_dsacks = 0u32;
        let undo_from = self.rec.undo.from();
        let sack = self.sack_enabled();
        {
            let rec = &mut self.rec;
            let min_rtt = rec.min_rtt();
            #[cfg(feature = "rack")]
            let rack = &mut rec.rack;
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
                #[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
                if newest.is_none_or(|p| r.sent_after(p.sent_at, p.end)) {
                    newest = Some(*r);
                }
                #[cfg(not(any(feature = "rack", feature = "cubic", feature = "bbr")))]
                let _ = r;
            };
            if cfg!(target_pointer_width = "64") && (!sack || clean) {
                // No SACK walk follows: the walk takes the closure itself,
                // which lets the compiler inline it (through `&mut` it
                // stayed a call per record, about 45 instructions each
                // with RACK's update; −47 Ir per connection, issue 9).
                // 32-bit targets keep one walk (flash).
                if advanced {
                    rec.log.on_cumulative_ack(ack, visit);
                }
            } else {
                if advanced {
                    rec.log.on_cumulative_ack(ack, &mut visit);
                }
                // (Always this branch on 32-bit targets, where the SACK
                // walk still needs its own test.)
                if sack && !clean {
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
        }

        // 2. Delivery counters, RTT floor, rate sample.
        #[cfg_attr(not(any(feature = "cubic", feature = "bbr")), allow(unused_mut))]
        let mut rate = None;
        #[cfg(any(feature = "cubic", feature = "bbr"))]
        if delivered > 0 {
            self.rec.delivered = self.rec.delivered.wrapping_add(delivered as Delivered);
            self.rec.delivered_at = now;
        }
        // The RTT sample of this ACK: the newest delivered record's, unless
        // it was retransmitted (Karn, RFC 6298 §3) or merged (its send time
        // is its latest part's). Taken once, for the floor here and the
        // controller below. Without send times there is none.
        #[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
        let rtt = newest
            .filter(|p| !p.has(RETRANSMITTED) && !p.has(COALESCED))
            .map(|p| Duration::from_micros(u64::from(low32(now).wrapping_sub(p.sent_at))));
        #[cfg(not(any(feature = "rack", feature = "cubic", feature = "bbr")))]
        let rtt = None;
        #[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
        if let Some(rtt) = rtt {
            self.rec.min_rtt = Some(self.rec.min_rtt.map_or(rtt, |m| m.min(rtt)));
        }
        #[cfg(any(feature = "cubic", feature = "bbr"))]
        if let Some(p) = newest {
            // NewReno reads no rate sample, so none is computed for it
            // (about 130 instructions per ACK). After a switch to a
            // controller that reads them (`set_congestion`) the first
            // sample may span the whole flight so far, an underestimate
            // once; the samples after it are exact again.
            if self.cc.reads_rate_samples() {
                rate = self.rate_sample(now, &p);
            }
        }
        #[cfg(any(feature = "cubic", feature = "bbr"))]
        if self.rec.app_limited
            && delivered_low32(self.rec.delivered).wrapping_sub(self.rec.app_limited_until) as i32
                > 0
        {
            self.rec.app_limited_until = 0;
            self.rec.app_limited = false;
        }

        let (newly_lost, ece) = if clean {
            // RFC 5681 §3.2: an ACK that moves SND.UNA ends a run of
            // duplicates.
            self.dup_acks = 0;
            (0, self.ecn_on_ack(now, seg))
        } else {
            self.on_ack_for_loss(
                now,
                seg,
                prior_una,
                duplicate,
                prior_lost,
                delivered,
                (dsack_segments, episode_dsacks),
                stats,
            )
        };

        // 8. Tell the controller.
        let acked = (ack - prior_una).min(self.snd_max - prior_una);
        if delivered > 0 || acked > 0 {
            // An ECN-Echo ACK does not grow the window (RFC 3168 §6.1.2).
            let in_recovery = self.in_fast_recovery() || ece;
            // NewReno reads three fields of the sample: it gets them
            // without the rest being built (about 30 instructions per ACK).
            if let Some(c) = self.cc.as_newreno_mut() {
                c.on_acked(acked, mss, in_recovery);
            } else {
                let sample = AckSample {
                    now,
                    delivered,
                    acked,
                    in_flight: self.pipe(),
                    mss,
                    rtt,
                    min_rtt: self.rec.min_rtt(),
                    srtt: self.rtt.srtt(),
                    rate,
                    in_recovery,
                    newly_lost,
                };
                self.cc.on_ack(&sample);
            }
        }

        // 9. Timers: the probe is rescheduled by forward progress. With
        // nothing left in flight neither it nor the reordering timer runs
        // (`arm_tlp` would find no probe allowed: the same outcome, without
        // its tests, after most ACKs of a request-reply exchange). 32-bit
        // targets keep the order before that shortcut, arm then clear (the
        // same outcome): with the shortcut rtcp-firmware's `process_ack`
        // was 118 B larger (flash, issue 9; `rtcp-firmware/build.sh`).
        #[cfg(feature = "rack")]
        {
            if cfg!(target_pointer_width = "32") {
                if advanced && self.rec.tlp_high.is_none() {
                    self.arm_tlp(now);
                }
                if self.snd_una >= self.snd_max {
                    self.rec.tlp_deadline = Deadline::NONE;
                    self.rec.rack_deadline = Deadline::NONE;
                }
            } else if self.snd_una >= self.snd_max {
                self.rec.tlp_deadline = Deadline::NONE;
                self.rec.rack_deadline = Deadline::NONE;
            } else if advanced && self.rec.tlp_high.is_none() {
                self.arm_tlp(now);
            }
        }
    }

    /// Steps 3 to 7 of `on_ack_for_recovery`, which a clean cumulative ACK
    /// skips: undo, loss detection, recovery episodes, ECN-Echo, the tail
    /// loss probe's outcome and PRR's quota. Returns the bytes newly marked
    /// lost and whether the ACK carried an ECN-Echo that counts.
    #[allow(clippy::too_many_arguments)]
    fn on_ack_for_loss(
        &mut self,
        now: Instant,
        seg: &TcpRepr,
        prior_una: SeqNumber,
        duplicate: bool,
        prior_lost: usize,
        delivered: usize,
        (dsack_segments, episode_dsacks): (u32, u32),
        stats: &mut TcpStats,
    ) -> (usize, bool) {
        let ack = seg.ack_number;
        let mss = self.mss();
        let advanced = ack > prior_una;
        // (Only PRR's quota reads what this ACK delivered.)
        #[cfg(not(feature = "prr"))]
        let _ = delivered;

        // 3. Spurious retransmissions: D-SACK, or timestamps (Eifel).
        if dsack_segments > 0 {
            #[cfg(feature = "rack")]
            {
                // A rescue retransmission (`rescue`, RFC 6675 §4 rule 4)
                // duplicates its segment by design: the one-segment
                // D-SACK it draws says nothing about reordering, and
                // widening RACK's window on it (RFC 8985 §6.2 step 4)
                // would slow every later detection. (Only the flag is
                // kept: until the next episode any one-segment D-SACK is
                // taken for the rescue's.)
                let rescue_echo = self.hot.flags.get(Flags::RESCUED) && dsack_segments == 1;
                if !rescue_echo {
                    self.rec.rack.on_dsack(self.snd_una, self.snd_max);
                }
                if self.rec.tlp_high.is_some() && self.rec.tlp_retrans {
                    self.rec.tlp_dsacked = true;
                }
            }
            // Undo once every resend of this episode is reported
            // duplicate (RFC 3708 §3.2; an episode that resent nothing,
            // because its resends could not leave yet, has nothing to undo).
            if self.rec.undo.on_dsacks(episode_dsacks) {
                self.undo_congestion_response(now, stats);
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
            .retrans_seq()
            .is_some_and(|first| prior_una <= first && first < ack);
        if advanced
            && covers_first_resend
            && self.rec.undo_until().is_some()
            && self.hot.flags.get(Flags::TS_OK)
        {
            self.rec.set_retrans_seq(None);
            if let (Some(tsval), Some((_, ecr))) = (self.rec.retrans_tsval(), seg.options.timestamp)
            {
                if ecr != 0 && (ecr.wrapping_sub(tsval) as i32) < 0 {
                    // The ACK echoes a timestamp older than our first
                    // retransmission: the original arrived.
                    self.undo_congestion_response(now, stats);
                }
            }
        }
        if self.rec.undo_until().is_some_and(|u| self.snd_una > u) {
            self.rec.set_undo_until(None);
        }

        // 4. Loss detection.
        if duplicate {
            self.dup_acks = self.dup_acks.saturating_add(1);
        } else if advanced {
            self.dup_acks = 0;
        }
        let sack_driven = self.sack_enabled() && self.rec.log.sacked_bytes() > 0;
        if sack_driven {
            self.detect_loss_by_sack(now, mss);
        }
        // Without usable SACK information (no SACK, or the head of the log
        // was coarsened and RACK leaves it alone): three duplicate ACKs,
        // then NewReno's partial ACKs (RFC 6582 §3.2), each mark the first
        // segment lost.
        let head_coarse = self.rec.log.get(0).is_some_and(|r| r.has(COALESCED));
        if !self.sack_enabled() || !cfg!(feature = "rack") || head_coarse {
            let no_sack_info = !sack_driven || head_coarse;
            let three_dup_acks =
                !self.hot.flags.get(Flags::RECOVERING) && self.dup_acks >= DUP_THRESH;
            let partial_ack =
                self.in_fast_recovery() && advanced && self.recover().is_some_and(|r| ack < r);
            if no_sack_info && (three_dup_acks || partial_ack) {
                // One segment as it will be resent (the payload MSS, net
                // of options), so the split leaves no sliver behind.
                let segment = self.payload_mss();
                self.rec.log.mark_head_lost(segment);
            }
        }
        let newly_lost = self.rec.log.lost_bytes().saturating_sub(prior_lost);
        #[cfg(any(feature = "cubic", feature = "bbr"))]
        {
            self.rec.lost_total += newly_lost as u64;
        }

        // 5. Recovery episodes.
        if let Some(recover) = self.recover() {
            if self.snd_una >= recover {
                self.exit_recovery(now);
            }
        }
        if !self.hot.flags.get(Flags::RECOVERING) && self.rec.log.lost_bytes() > 0 {
            self.enter_fast_recovery(now, stats);
        }
        // ECN-Echo (RFC 3168 §6.1.2): a reduction without a loss.
        let ece = self.ecn_on_ack(now, seg);

        // 6. Tail loss probe outcome (RFC 8985 §7.4): a retransmitted probe
        // that repaired a loss (no D-SACK for it) still means congestion.
        #[cfg(feature = "rack")]
        if let Some(high) = self.rec.tlp_high {
            if self.hot.flags.get(Flags::RECOVERING) {
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
        #[cfg(feature = "prr")]
        if self.in_fast_recovery() {
            self.rec.prr_delivered += delivered;
            let pipe = self.pipe();
            let ssthresh = self.cc.ssthresh();
            let sndcnt = if pipe > ssthresh {
                // Proportional part: ceil(prr_delivered * ssthresh / RecoverFS) - prr_out.
                let fs = self.rec.recover_fs.max(1);
                let share = mul_div_ceil(self.rec.prr_delivered, ssthresh, fs);
                share.saturating_sub(self.rec.prr_out)
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

        (newly_lost, ece)
    }

    /// RACK (or RFC 6675 IsLost) over the whole log.
    fn detect_loss_by_sack(&mut self, now: Instant, mss: usize) {
        #[cfg(feature = "rack")]
        {
            let many_sacked = self.rec.log.sacked_bytes() > usize::from(DUP_THRESH - 1) * mss;
            let reo = self.rec.rack.reo_wnd(
                self.rec.min_rtt,
                self.rtt.srtt(),
                self.hot.flags.get(Flags::RECOVERING),
                many_sacked,
            );
            let (_, timer) = self.rec.rack.detect_loss(&mut self.rec.log, now, reo);
            let timer = self.rescue(now, reo, timer);
            self.rec.rack_deadline = timer.into();
        }
        #[cfg(not(feature = "rack"))]
        {
            let _ = now;
            self.rec.log.mark_lost_by_sack(usize::from(DUP_THRESH), mss);
        }
    }

    /// RFC 6675 §4 NextSeg rule (4), the rescue retransmission, for the
    /// one case RACK cannot see: in fast recovery, a retransmission that
    /// is all that is left unSACKed. RACK (RFC 8985 §6.2) deems a
    /// retransmission lost only when a segment sent after it is
    /// delivered; when the peer's window is full (its left edge waits for
    /// this very segment) or nothing more is queued, none can be sent, and
    /// no tail loss probe is scheduled in recovery (§7.2), so a lost
    /// retransmission there waited for the RTO. Rule (4) lets the segment
    /// go again, once per episode, from the next ACK on; it goes later
    /// here, when RACK's own deadline for it (`RACK.rtt` plus the larger
    /// of `reo_wnd` and a quarter of the minimum RTT after it was sent)
    /// has passed without it being acknowledged, so a retransmission that
    /// arrived costs nothing. It is then marked lost
    /// and resent like any other (taking the congestion state's room).
    ///
    /// Only when one segment's worth is unSACKed: with two holes a rescue
    /// of the upper one (rule 4 picks the highest) would restamp the
    /// segment whose delivery lets RACK find the lower one's lost
    /// retransmission, trading a RACK detection for an RTO.
    /// Returns the reordering timer, moved earlier to this deadline.
    #[cfg(feature = "rack")]
    fn rescue(&mut self, now: Instant, reo: Duration, timer: Option<Instant>) -> Option<Instant> {
        if self.hot.flags.get(Flags::RESCUED)
            || !self.in_fast_recovery()
            || self.rec.log.lost_bytes() != 0
            || !self.rec.rack.valid
        {
            return timer;
        }
        let unsacked = (self.snd_max - self.snd_una).saturating_sub(self.rec.log.sacked_bytes());
        if unsacked == 0 || unsacked > self.payload_mss() {
            return timer;
        }
        let Some((i, hole)) = self
            .rec
            .log
            .iter()
            .enumerate()
            .find(|(_, r)| !r.has(SACKED))
            .map(|(i, r)| (i, *r))
        else {
            return timer;
        };
        if !hole.has(RETRANSMITTED) || hole.len() != unsacked {
            return timer;
        }
        let waited = u64::from(low32(now).wrapping_sub(hole.sent_at));
        // RACK's settling time outside recovery (a quarter of the minimum
        // RTT) at least: in recovery the window is zero, and a
        // retransmission queued behind a full window's serialization
        // would otherwise be resent needlessly.
        let quarter = self.rec.min_rtt.map_or(Duration::ZERO, |m| {
            Duration::from_micros(m.total_micros() / 4)
        });
        let due = self
            .rec
            .rack
            .rtt
            .saturating_add(reo.max(quarter))
            .total_micros();
        if waited < due {
            let at = now + Duration::from_micros(due - waited);
            return Some(timer.map_or(at, |t| t.min(at)));
        }
        self.rec.log.mark_lost(i);
        self.hot.flags.set(Flags::RESCUED, true);
        // One segment may go whatever PRR's quota (RFC 6675 (C) sends
        // while pipe < cwnd, and the pipe holds nothing else): from the
        // timer there is no ACK to grant it.
        #[cfg(feature = "prr")]
        {
            self.rec.prr_quota = self.rec.prr_quota.max(self.mss());
        }
        timer
    }

    /// RACK's reordering timer fired (RFC 8985 §6.3).
    pub(crate) fn on_rack_timer(&mut self, now: Instant, stats: &mut TcpStats) {
        #[cfg(feature = "rack")]
        {
            self.rec.rack_deadline = Deadline::NONE;
        }
        #[cfg(any(feature = "cubic", feature = "bbr"))]
        let prior = self.rec.log.lost_bytes();
        let mss = self.mss();
        self.detect_loss_by_sack(now, mss);
        #[cfg(any(feature = "cubic", feature = "bbr"))]
        {
            self.rec.lost_total += self.rec.log.lost_bytes().saturating_sub(prior) as u64;
        }
        if !self.hot.flags.get(Flags::RECOVERING) && self.rec.log.lost_bytes() > 0 {
            self.enter_fast_recovery(now, stats);
        }
    }

    fn enter_fast_recovery(&mut self, now: Instant, stats: &mut TcpStats) {
        let mss = self.mss();
        let flight = self.snd_max - self.snd_una;
        self.set_recover(Some(self.snd_max));
        self.rec.after_rto = false;
        self.rec.fast_rexmit_owed = true;
        self.hot.flags.set(Flags::RESCUED, false);
        self.cc.on_congestion_event(now, flight, mss);
        #[cfg(feature = "prr")]
        {
            self.rec.prr_delivered = 0;
            self.rec.prr_out = 0;
            self.rec.recover_fs = flight;
            // The fast retransmit itself always goes (RFC 6937 §3, RFC 5681 §3.2).
            self.rec.prr_quota = mss;
        }
        self.rec.undo.begin(self.snd_una, self.snd_max);
        #[cfg(feature = "rack")]
        {
            self.rec.tlp_deadline = Deadline::NONE;
        }
        self.untime();
        self.ecn_window_reduced();
        crate::count(&mut stats.fast_retransmits);
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
        self.set_recover(None);
        self.rec.after_rto = false;
        self.dup_acks = 0;
        // Undo stays possible for one more round trip: D-SACKs for the
        // episode's retransmissions arrive after the ACK that ended it.
        if self.rec.undo_until().is_some() {
            self.rec.set_undo_until(Some(self.snd_max));
        }
    }

    /// The retransmission timer expired: everything not SACKed is lost
    /// (RFC 6675 §5.1, RFC 8985 §6.3), slow start from one segment.
    ///
    /// Out of line on 32-bit targets: a rare path that fat LTO inlined into
    /// the timer handler, which came out larger (Cortex-M4 −20 B, issue 9).
    #[cfg_attr(target_pointer_width = "32", inline(never))]
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
        #[cfg(any(feature = "cubic", feature = "bbr"))]
        let prior = self.rec.log.lost_bytes();
        self.rec.log.mark_all_lost();
        #[cfg(any(feature = "cubic", feature = "bbr"))]
        {
            self.rec.lost_total += self.rec.log.lost_bytes().saturating_sub(prior) as u64;
        }
        self.cc.on_timeout(now, flight, mss);
        self.set_recover(Some(self.snd_max));
        self.rec.after_rto = true;
        self.rec.undo.begin(self.snd_una, self.snd_max);
        #[cfg(feature = "rack")]
        {
            self.rec.tlp_deadline = Deadline::NONE;
            self.rec.tlp_high = None;
            self.rec.send_tlp = false;
            self.rec.rack_deadline = Deadline::NONE;
        }
        #[cfg(feature = "bbr")]
        {
            self.rec.next_send_at = Deadline::NONE;
        }
        self.dup_acks = 0;
        self.ecn_window_reduced();
    }

    /// The last congestion response was spurious: restore the window and
    /// stop repairing what was not lost.
    fn undo_congestion_response(&mut self, now: Instant, stats: &mut TcpStats) {
        self.rec.set_undo_until(None);
        self.rec.set_retrans_tsval(None);
        self.rec.set_retrans_seq(None);
        self.cc.on_spurious_congestion(now);
        if self.hot.flags.get(Flags::RECOVERING) {
            self.rec.log.clear_lost();
            self.set_recover(None);
            self.rec.after_rto = false;
        }
        crate::count(&mut stats.spurious_undos);
    }

    /// A rate sample from the most recently sent delivered record (draft
    /// §3.3). Its interval is zero (no rate) while the measured interval is
    /// shorter than the minimum RTT (ACK compression would overstate the
    /// rate); the delivered counts still let BBR and HyStart++ count rounds.
    #[cfg(any(feature = "cubic", feature = "bbr"))]
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
        #[cfg(feature = "sack")]
        if self.sack_enabled() && start < end {
            self.rec.dsack_range = (start, end);
        }
        #[cfg(not(feature = "sack"))]
        let _ = (start, end);
    }
}
