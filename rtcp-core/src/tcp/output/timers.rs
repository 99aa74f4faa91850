//! The socket's timers: when it next needs the interface (`poll_at`), what
//! fires when a deadline passes (retransmission, persist, TLP, keep-alive,
//! delayed ACK, TIME-WAIT, the user timeout) and arming the retransmission
//! timer (RFC 9293 §3.8, RFC 6298, RFC 1122 §4.2.3.6).

use crate::tcp::clock::Tick;
use crate::tcp::socket::{Flags, TcpSocket};
use crate::tcp::{State, TcpError, TcpStats};
use crate::time::{Deadline, Duration, Instant};

use super::{Plan, PollAt};

impl<'a, const LOG: usize> TcpSocket<'a, LOG> {
    /// When the last segment arrived, to the millisecond (`clock.rs`).
    pub(crate) fn last_rx(&self) -> Instant {
        self.timers.instant_ms(self.timers.last_rx)
    }

    /// When the user timeout fires (`Deadline::NONE` when nothing is
    /// stalled). A `Deadline`, not an `Option<Instant>`, which 32-bit
    /// targets returned through memory (flash, issue 9).
    fn user_timeout_at(&self) -> Deadline {
        // In one step on 64-bit hosts (`after_ms`); 32-bit targets keep
        // the two, whose code the rest of the socket shares (flash).
        if cfg!(target_pointer_width = "32") {
            return match self.timers.get_ms(self.timers.stall_since).get() {
                Some(since) => Deadline::at(since + self.config.user_timeout()),
                None => Deadline::NONE,
            };
        }
        let since = self.timers.stall_since;
        // `after_ms` tests this too, but testing first skips unpacking the
        // configured timeout when nothing is stalled (usually): without it
        // connections cost 53 Ir more (`rtcp-compare/ir.sh`).
        if since.is_none() {
            return Deadline::NONE;
        }
        Deadline::from(self.timers.after_ms(since, self.config.user_timeout()))
    }

    /// When this socket next needs `dispatch`.
    pub fn poll_at(&self) -> PollAt {
        self.poll_at_as(PollAt::Now, PollAt::Time, Self::timer_poll_at)
    }

    /// `poll_at` as the socket table's deadline
    /// (`PollAt::table_deadline`): an `Instant`, returned in registers on
    /// 32-bit targets, where a `PollAt` goes through memory (flash).
    pub(crate) fn table_deadline(&self) -> Instant {
        self.poll_at_as(
            Instant::ZERO,
            |t| t,
            |s| s.timer_deadline().instant_or_max(),
        )
    }

    /// `poll_at`'s steps, with its answers made by `now` (due now), `at`
    /// (a pacing release) and `timers` (the earliest timer, if any).
    #[inline(always)]
    fn poll_at_as<T>(
        &self,
        now: T,
        at: impl FnOnce(Instant) -> T,
        timers: impl FnOnce(&Self) -> T,
    ) -> T {
        if self.reply_owed() {
            return now;
        }
        let release = self.rec.next_send_at().get();
        // On 64-bit hosts the rest of the plan without the call to
        // `plan_synchronized` and the tests `reply_owed` made already
        // (it covers every plan outside the synchronized states, and
        // their RST, ACK and keep-alive plans); 32-bit targets keep the
        // one plan (flash).
        let planned = if cfg!(target_pointer_width = "64") {
            self.plan_beyond_reply(release.is_some())
        } else {
            self.plan_paced(release.is_some(), 0).is_some()
        };
        // Fuzzing runs with debug assertions: it checks the shortcut.
        debug_assert_eq!(planned, self.plan_paced(release.is_some(), 0).is_some());
        if planned {
            return now;
        }
        if let Some(release) = release {
            if matches!(self.plan(), Some(Plan::Data { .. })) {
                return at(release);
            }
        }
        timers(self)
    }

    /// A segment is due whatever the data, window and pacing say: the
    /// cheap part of `plan_paced`, checked first because after most input
    /// it decides (the plan is then an ACK, a RST or our SYN).
    fn reply_owed(&self) -> bool {
        if self.hot.flags.get(Flags::RST_OWED) {
            return true;
        }
        match self.hot.state {
            State::Closed | State::Listen => false,
            State::SynSent => self.snd_nxt == self.iss,
            State::SynReceived => self.snd_nxt == self.iss || self.hot.flags.get(Flags::ACK_NOW),
            State::TimeWait => self.hot.flags.get(Flags::ACK_NOW),
            _ => {
                self.hot.flags.get(Flags::ACK_NOW)
                    || self.hot.acks_owed > 0
                    || self.keepalive_owed()
            }
        }
    }

    /// The earliest timer, when nothing is to be sent before it.
    #[cfg_attr(target_pointer_width = "32", inline)]
    pub(super) fn timer_poll_at(&self) -> PollAt {
        self.timer_deadline().map_or(PollAt::Ingress, PollAt::Time)
    }

    /// The deadline of `timer_poll_at`. Out of line on 32-bit targets,
    /// where a `PollAt` would be returned through memory and a `Deadline`
    /// comes back in registers.
    /// (Always inlined on 64-bit hosts, which keep one function.)
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    pub(super) fn timer_deadline(&self) -> Deadline {
        // Runs after nearly every segment (it is what an idle socket tells
        // the scheduler), so it folds the raw deadlines, where "none" is the
        // latest instant, instead of collecting `Option`s.
        // The 32-bit timers fold among themselves first (none is their
        // largest value too), then convert once.
        let t = &self.timers;
        // (`rtx` is the end of TIME-WAIT in that state.)
        let ticks = t.rtx.min(t.persist).min(t.ack);
        self.rec
            .rack_deadline()
            .min(self.rec.tlp_deadline())
            .min(t.get(ticks))
            .min(Deadline::from(self.keepalive_at()))
            .min(self.user_timeout_at())
    }

    /// No timer is armed (a reset socket's timers; debug checks).
    pub(crate) fn timers_idle(&self) -> bool {
        self.timer_poll_at() == PollAt::Ingress
    }

    /// Fire whatever timers have expired (RFC 6298 §5, §3.8.6.1, §3.8.4).
    pub(super) fn handle_timers(&mut self, now: Instant, stats: &mut TcpStats) {
        // In TIME-WAIT the retransmission timer's word is the end of
        // TIME-WAIT (`Timers::rtx`): the state tells which one is due.
        let time_wait = self.hot.state == State::TimeWait;
        if time_wait && self.timers.due(self.timers.rtx, now) && !self.hot.flags.get(Flags::ACK_NOW)
        {
            crate::cold_path();
            // 2 MSL are over: the connection is gone (§3.10.8). An ACK still
            // owed (of the FIN that brought us here, or of a retransmitted
            // one, §3.10.7.4) goes out first: with a short MSL (0 in a
            // benchmark) the deadline may already be due when we enter
            // TIME-WAIT, and without that ACK the peer is left in LAST-ACK.
            self.finish();
            return;
        }
        // R2 (§3.8.3, MUST-20): give up on data or a SYN unacknowledged for
        // the user timeout, however far retransmission got (it may never
        // have left at all, when the neighbour does not answer ARP).
        if self.user_timeout_at().is_some_and(|t| now >= t) {
            crate::cold_path();
            let synced = self.hot.state.is_synchronized();
            // An ICMP soft error seen meanwhile says more than "timed out"
            // (RFC 1122 §4.2.3.9).
            let error = self.hot.soft_error.unwrap_or(TcpError::TimedOut);
            self.fail(error, synced);
            return;
        }
        if !time_wait && self.timers.due(self.timers.rtx, now) {
            crate::cold_path();
            self.timers.rtx = Tick::NONE;
            crate::count(&mut stats.timeouts);
            net_debug!(
                "tcp {}: retransmission timeout in {}, {} bytes in flight",
                self.local.port,
                self.hot.state,
                (self.snd_max - self.snd_una)
            );
            self.rtt.back_off();
            // RFC 6298 §5.6: the timer restarts now, with the backed-off
            // value, not when the resend leaves: a resend held back (the
            // neighbour's address is being resolved again after MUST-20's
            // advice) must not leave the connection without a timer.
            self.timers.rtx = self.timers.tick(now + self.rto(), now);
            self.untime();
            self.hot.flags.set(Flags::FORCE_PROBE, false);
            // R1 (§3.8.3, MUST-20): from the R1-th timeout of the same
            // segment on, tell IP its route may be bad (RFC 1122 §3.3.1.4).
            self.rto_retries = self.rto_retries.saturating_add(1);
            if self.rto_retries >= self.config.r1.max(1) {
                self.hot.flags.set(Flags::ADVISE_IP, true);
            }
            match self.hot.state {
                State::SynSent | State::SynReceived => {
                    self.dup_acks = 0;
                    self.set_recover(None);
                    self.snd_nxt = self.iss;
                }
                // Everything not SACKed is resent, oldest first, in slow
                // start; the SACKed part is not (RFC 6675 §5.1).
                _ => self.on_retransmission_timeout(now),
            }
        } else if self.rec.tlp_deadline().is_some_and(|d| now >= d) {
            crate::cold_path();
            self.rec.probe_timer_fired(self.snd_max > self.snd_una);
        }
        if self.rec.rack_deadline().is_some_and(|d| now >= d) {
            crate::cold_path();
            self.on_rack_timer(now, stats);
        }
        if self.timers.due(self.timers.persist, now) {
            crate::cold_path();
            self.timers.persist = Tick::NONE;
            self.persist_backoff = self.persist_backoff.saturating_add(1);
            self.hot.flags.set(Flags::FORCE_PROBE, true);
        }
        if self.timers.due(self.timers.ack, now) {
            self.timers.ack = Tick::NONE;
            self.hot.flags.set(Flags::ACK_NOW, true);
        }
        #[cfg(feature = "keep-alive")]
        if let Some(ka) = self.config.keep_alive() {
            if self.keepalive_at().is_some_and(|d| now >= d) {
                crate::cold_path();
                if self.keepalive_probes >= ka.count {
                    self.fail(TcpError::TimedOut, true);
                    return;
                }
                self.keepalive_probes += 1;
                self.hot.flags.set(Flags::SEND_KEEPALIVE, true);
            }
        }
    }

    /// A keep-alive probe is owed (`handle_timers` found one due). A
    /// constant `false` without the `keep-alive` feature, so that the
    /// probe's plan is compiled out too.
    pub(super) fn keepalive_owed(&self) -> bool {
        cfg!(feature = "keep-alive") && self.hot.flags.get(Flags::SEND_KEEPALIVE)
    }

    /// When the next keep-alive probe is due (§3.8.4): only on an idle,
    /// synchronized connection, `idle` after the last segment received, then
    /// every `interval`. Computed rather than armed, so turning keep-alive
    /// on takes effect at once.
    #[cfg(feature = "keep-alive")]
    fn keepalive_at(&self) -> Option<Instant> {
        let ka = self.config.keep_alive()?;
        let idle = self.snd_una == self.snd_max && self.tx.is_empty();
        let open = matches!(
            self.hot.state,
            State::Established | State::CloseWait | State::FinWait2
        );
        (open && idle).then(|| {
            self.last_rx() + ka.idle + ka.interval.saturating_mul(u64::from(self.keepalive_probes))
        })
    }

    /// No keep-alive without the `keep-alive` feature.
    #[cfg(not(feature = "keep-alive"))]
    fn keepalive_at(&self) -> Option<Instant> {
        None
    }

    pub(super) fn arm_rtx(&mut self, now: Instant) {
        self.arm_rtx_with(now, None);
    }

    /// `arm_rtx`, with the current RTO when the caller has it already (the
    /// data segment's idle test: about 40 instructions a segment saved,
    /// issue 9).
    pub(super) fn arm_rtx_with(&mut self, now: Instant, rto: Option<Duration>) {
        if self.timers.rtx.is_none() {
            let rto = rto.unwrap_or_else(|| self.rto());
            // Fuzzing runs with debug assertions: it checks the reuse.
            debug_assert_eq!(rto, self.rto());
            self.timers.rtx = self.timers.tick(now + rto, now);
        }
        if self.timers.stall_since.is_none() {
            self.timers.stall_since = self.timers.stamp_ms(now);
        }
    }

    /// How long until this socket's earliest timer (for diagnostics).
    pub fn next_timer_in(&self, now: Instant) -> Option<Duration> {
        match self.poll_at() {
            PollAt::Now => Some(Duration::ZERO),
            PollAt::Time(t) => Some(t - now),
            PollAt::Ingress => None,
        }
    }
}
