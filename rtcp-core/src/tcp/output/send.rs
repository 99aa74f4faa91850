//! Building and sending the planned segment: its options, `dispatch`, and
//! committing the state change once the segment has left (RFC 9293 §3.8,
//! §3.10.7; RFC 7323; RFC 2018).

use crate::tcp::clock::Tick;
use crate::tcp::congestion::CongestionControl;
use crate::tcp::ecn::EcnSegment;
use crate::tcp::ip::IpParams;
use crate::tcp::socket::{Flags, TcpSocket};
use crate::tcp::{State, TcpStats};
use crate::time::{Duration, Instant};
use crate::wire::tcp::{SackBlock, MAX_SACK_BLOCKS};
use crate::wire::{SeqNumber, TcpFlags, TcpOptions, TcpRepr};

#[cfg(feature = "tso")]
use super::partly_sent;
use super::{is_short, Dispatched, Plan};

impl<'a, const LOG: usize> TcpSocket<'a, LOG> {
    /// The options of a segment we send other than a SYN, written into
    /// `opts` (a default `TcpOptions`) where the segment already holds
    /// them. Inlined with the SACK case out of line: the common segment
    /// carries a timestamp only, and building a whole `TcpOptions` to copy
    /// it into the segment cost a store-forwarding stall on every segment.
    #[inline]
    fn add_options(&self, now: Instant, opts: &mut TcpOptions) {
        if self.hot.flags.get(Flags::TS_OK) {
            opts.timestamp = Some((self.ts_now(now), self.ts_recent));
        }
        if self.sack_enabled() && (!self.assembler.is_empty() || self.rec.dsack().is_some()) {
            self.add_sack_blocks(opts);
        }
    }

    /// The options of our SYN or SYN-ACK (RFC 9293 §3.2, RFC 7323, RFC
    /// 2018), written into `opts` (a default `TcpOptions`) where the
    /// segment holds them, as `add_options` does: a returned `TcpOptions`
    /// went through memory on 32-bit targets and was copied in (flash,
    /// issue 9).
    #[inline(never)]
    fn syn_options(&self, now: Instant, opts: &mut TcpOptions) {
        let offer_ws = self.config.window_scaling()
            && (self.hot.state == State::SynSent || self.snd_shift() > 0 || self.rcv_shift() > 0);
        let offer_ts = self.config.timestamps()
            && (self.hot.state == State::SynSent || self.hot.flags.get(Flags::TS_OK));
        opts.mss = Some(self.local_mss);
        opts.window_scale = offer_ws.then(|| self.wanted_rcv_shift());
        opts.sack_permitted =
            self.config.sack() && (self.hot.state == State::SynSent || self.sack_enabled());
        opts.timestamp = offer_ts.then(|| (self.ts_now(now), self.ts_recent));
    }

    /// SACK blocks for out-of-order data we hold, after a D-SACK block for
    /// a duplicate (RFC 2018 §4, RFC 2883 §4).
    #[inline(never)]
    fn add_sack_blocks(&self, opts: &mut TcpOptions) {
        let limit = self.sack_block_limit();
        let mut count = 0;
        if let Some((left, right)) = self.rec.dsack() {
            // RFC 2883 §4: the duplicate goes first.
            if let Some(slot) = opts.sack_blocks.first_mut() {
                *slot = SackBlock { left, right };
                count = 1;
            }
        }
        let mut ranges = [(0usize, 0usize); MAX_SACK_BLOCKS];
        let room = limit.saturating_sub(count);
        let n = self
            .assembler
            .recent_ranges(ranges.get_mut(..room).unwrap_or(&mut []));
        for (slot, (start, end)) in opts
            .sack_blocks
            .iter_mut()
            .skip(count)
            .zip(ranges.iter().take(n))
        {
            *slot = SackBlock {
                left: self.rcv_nxt + *start,
                right: self.rcv_nxt + *end,
            };
        }
        opts.sack_count = (count + n) as u8;
    }

    /// Send at most one segment. `emit` gets what IP needs (endpoints,
    /// DSCP, source route, negative advice) and the segment; if it fails (no
    /// buffer, unresolved neighbour) nothing is committed and the same
    /// segment is planned again next time (negative advice is given once:
    /// the interface acted on it either way). Returns whether a segment was
    /// emitted.
    #[cfg(test)]
    pub(crate) fn dispatch<E>(
        &mut self,
        now: Instant,
        stats: &mut TcpStats,
        emit: impl FnOnce(&IpParams<'_>, &TcpRepr) -> Result<usize, E>,
    ) -> Result<bool, E> {
        self.dispatch_next(now, stats, 0, emit)
            .map(|d| matches!(d, Dispatched::Sent | Dispatched::SentLast(_)))
    }

    /// `dispatch`, saying when the socket next needs attention if it sent
    /// nothing: the socket table's scheduler needs exactly that, and the
    /// plan just made here tells it without planning again. `tso_max` is
    /// the device's segmentation offload limit (`Device::tso_max_size`, 0
    /// for none): new data may then leave as one segment of several MSS,
    /// which `emit` is told to have segmented (`IpParams::segment_size`).
    pub(crate) fn dispatch_next<E>(
        &mut self,
        now: Instant,
        stats: &mut TcpStats,
        tso_max: usize,
        emit: impl FnOnce(&IpParams<'_>, &TcpRepr) -> Result<usize, E>,
    ) -> Result<Dispatched, E> {
        self.handle_timers(now, stats);
        self.send_next(now, stats, tso_max, emit)
    }

    /// [`dispatch_next`](Self::dispatch_next) without firing timers: for
    /// the second and later segments of one run at the same `now`. The
    /// first call fired every timer due at `now`; what its segment armed
    /// is due later, except a deadline of `now` itself (a zero MSL or
    /// RTO), which `Dispatched::Idle` then reports as due, so the
    /// scheduler brings the socket back in the same pass.
    pub(crate) fn send_next<E>(
        &mut self,
        now: Instant,
        stats: &mut TcpStats,
        tso_max: usize,
        emit: impl FnOnce(&IpParams<'_>, &TcpRepr) -> Result<usize, E>,
    ) -> Result<Dispatched, E> {
        let paced = self.rec.next_send_at().is_some_and(|t| t > now);
        let plan = self.plan_paced(paced, tso_max);
        // Whether pacing, and nothing else, is what holds data back: only
        // then may a late caller catch up on the schedule (see
        // `on_data_sent`); a sender that waited on the window or the
        // application gets no credit for the time it sat idle.
        if paced {
            self.rec
                .set_pacing_held(matches!(self.data_plan(0), Some(Plan::Data { .. })));
        } else if !matches!(plan, Some(Plan::Data { .. })) {
            self.rec.set_pacing_held(false);
        }
        let Some(plan) = plan else {
            // Not paced and nothing planned: no plan with pacing can exist
            // either, so only the timers remain (what `poll_at` computes
            // after planning again).
            let next = if paced {
                self.table_deadline()
            } else {
                self.timer_deadline().instant_or_max()
            };
            return Ok(Dispatched::Idle(next));
        };
        if plan == Plan::ArmPersist {
            // RFC 9293 §3.8.6.1: the probes back off as retransmissions do
            // (RFC 6298 §5.5), here at most 64-fold, through the function
            // the retransmission timer uses.
            let rto = self.rto_backed_off(self.persist_backoff.min(6));
            self.timers.persist = self.timers.tick(now + rto, now);
            return Ok(Dispatched::Idle(self.table_deadline()));
        }
        let (edge, window_field) = self.window_to_advertise(plan == Plan::Syn);
        #[cfg(feature = "tso")]
        let mut segment_size = 0;
        // The data plan's payload MSS for `commit`'s short-segment test
        // (0: not worked out here, `commit` does it; `payload_mss` is
        // never 0).
        #[cfg_attr(not(feature = "tso"), allow(unused_mut))]
        let mut known_mss = 0;
        let mut repr = TcpRepr {
            src_port: self.local.port,
            dst_port: self.remote.port,
            flags: TcpFlags::ACK,
            seq_number: self.snd_nxt,
            ack_number: self.rcv_nxt,
            window_len: window_field,
            urgent_pointer: 0,
            options: TcpOptions::default(),
            payload: &[],
        };
        match plan {
            Plan::Reset(rst) => {
                // Every RST a socket owes is `<SEQ=x><CTL=RST>` (RFC 9293
                // §3.10.4 ABORT, §3.10.7.3, §3.10.7.4; `PendingReset::ack`
                // is always `None`): no ACK arm, which the plan's trip
                // through memory on 32-bit targets kept in the code (flash).
                debug_assert!(rst.ack.is_none(), "an owed RST never carries an ACK");
                repr.seq_number = rst.seq;
                repr.window_len = 0;
                repr.flags = TcpFlags::RST;
                repr.ack_number = SeqNumber(0);
            }
            Plan::Syn => {
                repr.seq_number = self.iss;
                self.syn_options(now, &mut repr.options);
                if self.hot.state == State::SynSent {
                    repr.flags = TcpFlags::SYN;
                    repr.ack_number = SeqNumber(0);
                } else {
                    repr.flags = TcpFlags::SYN | TcpFlags::ACK;
                }
            }
            Plan::Data { seq, len, fin, .. } => {
                repr.seq_number = seq;
                let offset = seq - self.snd_una;
                repr.payload = self.tx.contiguous_at(offset, len);
                // Only `new_data_limit` makes a segment longer than one
                // MSS, and only one of data: the other plans (the
                // handshake, ACKs) skip working out the MSS (issue 9).
                // A FIN alone (or an empty probe) is never cut up, and
                // `commit` reads no MSS for it: nothing to work out.
                #[cfg(feature = "tso")]
                if !repr.payload.is_empty() {
                    // Below the payload MSS's floor a payload is not cut
                    // up either, and it is short (Minshall's test in
                    // `commit`) against any payload MSS from the floor up:
                    // the floor stands in for the MSS there (64-bit hosts,
                    // issue 9; 32-bit targets have no floor).
                    #[cfg(target_pointer_width = "64")]
                    let floor = self.payload_mss_floor();
                    #[cfg(not(target_pointer_width = "64"))]
                    let floor = 0;
                    if repr.payload.len() < floor {
                        debug_assert!(is_short(repr.payload.len(), self.payload_mss()));
                        known_mss = floor;
                    } else {
                        let payload_mss = self.payload_mss();
                        if repr.payload.len() > payload_mss {
                            segment_size = payload_mss;
                        }
                        // What `commit` would find again, unless a D-SACK
                        // block counted here, which it clears first (issue 9).
                        if self.rec.dsack().is_none() {
                            known_mss = payload_mss;
                        }
                    }
                }
                if fin {
                    repr.flags |= TcpFlags::FIN;
                }
                if len > 0 && (fin || offset + len == self.tx.len()) {
                    // PSH on the last segment of what the user queued (MUST-61).
                    repr.flags |= TcpFlags::PSH;
                }
            }
            Plan::KeepAlive => {
                // A keep-alive probe: SEG.SEQ = SND.NXT - 1, no data (§3.8.4).
                repr.seq_number = self.snd_nxt - 1;
            }
            Plan::Ack => {
                repr.seq_number = self.pure_ack_seq();
            }
            Plan::ArmPersist => {}
        }
        if !matches!(plan, Plan::Reset(_) | Plan::Syn) {
            // Data, a keep-alive probe or an ACK: our usual options (one
            // copy of the timestamp's code for the three, flash, issue 9).
            self.add_options(now, &mut repr.options);
            // §3.8.5: a segment that starts before SND.UP says where the
            // urgent data ends (MUST-30, MUST-62).
            if let Some(pointer) = self.urgent.send_pointer(repr.seq_number) {
                repr.flags |= TcpFlags::URG;
                repr.urgent_pointer = pointer;
            }
        }
        // RFC 3168 §6.1: ECE/CWR, and ECT(0) on new data only.
        let new_data = matches!(plan, Plan::Data { seq, len, probe, .. }
            if len > 0 && !probe && seq >= self.snd_max);
        let ecn = self.ecn_mark(
            &mut repr,
            if new_data {
                EcnSegment::NewData
            } else {
                EcnSegment::Control
            },
        );
        let negative_advice = self.hot.flags.take(Flags::ADVISE_IP);
        let ip = IpParams {
            local: self.local,
            remote: self.remote,
            dscp: self.config.dscp,
            ecn,
            route: self.route.route(),
            negative_advice,
            #[cfg(feature = "tso")]
            segment_size,
        };
        let sent = emit(&ip, &repr)?;
        self.ecn_sent(repr.flags);
        crate::count(&mut stats.segments_sent);
        #[cfg(feature = "tso")]
        let plan = if segment_size > 0 {
            crate::count(&mut stats.segments_offloaded);
            partly_sent(plan, sent)
        } else {
            plan
        };
        #[cfg(not(feature = "tso"))]
        let _ = sent;
        self.commit(now, plan, edge, known_mss, stats);
        // Not on 32-bit targets (flash, issue 9): there the next call
        // plans, finds nothing and answers `Idle` with the same deadline.
        if cfg!(target_pointer_width = "64") && self.quiet_after(plan) {
            // What the next `send_next` at this `now` would find: nothing
            // planned and nothing paced (`quiet_after` wants no pacing
            // release), so only the timers remain.
            self.rec.set_pacing_held(false);
            // Fuzzing runs with debug assertions: it checks the shortcut.
            debug_assert_eq!(self.plan_paced(false, tso_max), None);
            if self.hot.state == State::TimeWait && self.timers.due(self.timers.rtx, now) {
                // The ACK that TIME-WAIT owed is out and its 2 MSL are
                // over already (a zero MSL): close now, as `handle_timers`
                // would on the socket's next visit at this same `now`
                // (one visit and one trip through the schedule fewer per
                // connection, issue 9). `commit` cleared ACK_NOW, and
                // `quiet_after` wants no RST owed, as that path does.
                self.finish();
            }
            return Ok(Dispatched::SentLast(self.timer_deadline().instant_or_max()));
        }
        Ok(Dispatched::Sent)
    }

    /// Right after `plan` was sent (`commit`): no further segment is due,
    /// by the cheap tests `plan_paced` would make, so `dispatch` need not
    /// plan again (about 200 instructions per connection in the
    /// connection-rate benchmark). `commit` cleared what every segment
    /// answers (ACK_NOW, one owed ACK, the urgent announcement) and
    /// advertised the window we would offer now, so no window update is
    /// due either. Before the handshake is over and in TIME-WAIT that
    /// leaves nothing; otherwise a segment of data or our FIN (something
    /// in flight: no persist timer to arm) must have taken all that was
    /// queued, with no other ACK owed, no keep-alive, nothing to resend.
    /// `false` may still mean nothing is due.
    fn quiet_after(&self, plan: Plan) -> bool {
        if matches!(plan, Plan::Reset(_))
            || self.hot.flags.get(Flags::RST_OWED)
            || self.rec.next_send_at().is_some()
        {
            return false;
        }
        match self.hot.state {
            State::SynSent | State::SynReceived | State::TimeWait => true,
            State::Closed | State::Listen => false,
            _ => {
                let fin_wanted = self.hot.flags.get(Flags::TX_CLOSED)
                    && self.fin_seq().is_none_or(|f| self.snd_nxt <= f);
                matches!(plan, Plan::Data { .. })
                    && self.flight() > 0
                    && self.hot.acks_owed == 0
                    && !self.keepalive_owed()
                    && self.snd_nxt - self.snd_una >= self.tx.len()
                    && !fin_wanted
                    && !self.rec.send_tlp()
                    && self.rec.log.none_lost()
            }
        }
    }

    /// The sequence number of a segment without data: SND.MAX, the highest
    /// sequence number sent (as BSD does with snd_max). SND.NXT is not
    /// used: after an RTO has rewound it, it lies below what the peer
    /// already holds, a zero-length segment there fails the peer's
    /// acceptability test (§3.10.7.4), and the peer drops it, ACK and all,
    /// answering with an ACK of its own; if the peer is retransmitting
    /// too, the two ACK each other forever.
    ///
    /// Not clamped to the peer's window as we know it either (Linux's
    /// `tcp_acceptable_seq` does): that window may be stale, because the
    /// segments that would update it are the ones being dropped. With a
    /// zero-window probe the peer accepted (its window reopened) and our
    /// window estimate from before, the clamp put both ends one below
    /// the other's RCV.NXT and each dropped the other's ACKs until the user
    /// timeout (`sim_seeds`, seed 66238, on the smallest engine). Past a
    /// window that really shrank, the peer drops the ACK and answers with
    /// its own, which we accept: nothing is stuck.
    fn pure_ack_seq(&self) -> SeqNumber {
        if !self.hot.state.is_synchronized() {
            return self.snd_nxt;
        }
        self.snd_max
    }

    fn window_to_advertise(&self, syn: bool) -> (SeqNumber, u16) {
        let span = self.window_span();
        // The window in a SYN is never scaled (RFC 7323 §2.2).
        let shift = if syn { 0 } else { self.rcv_shift() };
        let field = (span >> shift).min(0xffff);
        (self.rcv_nxt + (field << shift), field as u16)
    }

    fn commit(
        &mut self,
        now: Instant,
        plan: Plan,
        edge: SeqNumber,
        known_mss: usize,
        stats: &mut TcpStats,
    ) {
        if let Plan::Reset(_) = plan {
            self.set_pending_rst(None);
            return;
        }
        // Every other segment carries our ACK, window and any D-SACK, and
        // SND.UP when it is ahead.
        self.rec.clear_dsack();
        self.urgent.announced();
        self.hot.flags.set(Flags::ACK_NOW, false);
        self.hot.acks_owed = self.hot.acks_owed.saturating_sub(1);
        self.timers.ack = Tick::NONE;
        self.unacked_bytes = 0;
        self.hot.unacked_segs = 0;
        self.last_ack_sent = self.rcv_nxt;
        self.rcv_adv = self.rcv_adv.max(edge);
        // How long since the last send, for the restart after idle below.
        // On 64-bit hosts only a data segment with nothing in flight reads
        // it, there, and the new time is stamped last (about 30
        // instructions per connection); 32-bit targets read it here, as
        // every segment did, which keeps `Interface::poll` 72 B smaller in
        // the default firmware build (`footprint/measure.sh`).
        let idle_for = if cfg!(target_pointer_width = "32") {
            let idle_for = now - self.timers.instant(self.timers.last_send);
            self.timers.last_send = self.timers.stamp(now);
            idle_for
        } else {
            Duration::ZERO
        };
        match plan {
            Plan::Syn => {
                if self.snd_max == self.iss
                    && !self.hot.flags.get(Flags::TS_OK)
                    && self.timing_none()
                {
                    self.time_segment(self.iss, now);
                } else if self.snd_max != self.iss {
                    crate::count(&mut stats.retransmissions);
                    self.untime();
                }
                self.snd_nxt = self.iss + 1;
                self.snd_max = self.snd_max.max(self.snd_nxt);
                self.arm_rtx(now);
            }
            Plan::Data {
                seq,
                len,
                fin,
                probe,
            } => {
                // With nothing in flight the retransmission timer is armed
                // below too: one RTO for both (nothing between changes it).
                // Not on 32-bit targets, where passing it on cost about 70
                // bytes of flash (`footprint/measure.sh`).
                let rto = if cfg!(target_pointer_width = "64") {
                    (self.flight() == 0).then(|| self.rto())
                } else {
                    None
                };
                if self.flight() == 0
                    && (if cfg!(target_pointer_width = "32") {
                        idle_for
                    } else {
                        now - self.timers.instant(self.timers.last_send)
                    }) > rto.unwrap_or_else(|| self.rto())
                {
                    // RFC 5681 §4.1: restart from the initial window after idling.
                    let mss = self.mss();
                    self.cc.on_idle_restart(now, mss);
                }
                let end = seq + len + usize::from(fin);
                if seq < self.snd_max {
                    crate::count(&mut stats.retransmissions);
                    if self.rtt_sent().is_some() && self.rtt_seq() >= seq {
                        // Karn: a retransmitted segment may not be timed.
                        self.untime();
                    }
                } else if !self.hot.flags.get(Flags::TS_OK) && self.timing_none() && len > 0 {
                    self.time_segment(seq, now);
                }
                // (A super-segment's last piece may be the short one.)
                if len > 0
                    && seq >= self.snd_max
                    && is_short(
                        len,
                        if known_mss > 0 {
                            known_mss
                        } else {
                            self.payload_mss()
                        },
                    )
                {
                    self.small_end_at = seq + len;
                    self.hot.flags.set(Flags::SMALL_SENT, true);
                }
                self.snd_nxt = self.snd_nxt.max(end);
                if probe {
                    self.hot.flags.set(Flags::FORCE_PROBE, false);
                }
                self.on_data_sent(now, seq, end - seq, stats);
                self.snd_max = self.snd_max.max(end);
                if fin {
                    // From here `fin_seq` is SND.MAX - 1.
                    self.hot.flags.set(Flags::FIN_SENT, true);
                }
                #[cfg(any(feature = "cubic", feature = "bbr"))]
                if self.snd_nxt - self.snd_una >= self.tx.len() {
                    // Everything queued is out: the application limits us.
                    self.note_app_limited();
                }
                self.arm_rtx_with(now, rto);
            }
            Plan::KeepAlive => self.hot.flags.set(Flags::SEND_KEEPALIVE, false),
            _ => {}
        }
        // 32-bit targets stamped it above; every other target does it here,
        // last.
        if !cfg!(target_pointer_width = "32") {
            self.timers.last_send = self.timers.stamp(now);
        }
    }
}
