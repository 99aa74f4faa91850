//! The socket's short-range timers in 32 bits each (issue 9: per-connection
//! state on a microcontroller).
//!
//! An [`Instant`] is 64 bits of microseconds, and an `Instant` field makes
//! the whole socket 8-aligned. Most of a connection's timers are either
//! deadlines a bounded time ahead (retransmission, persist, delayed ACK,
//! TIME-WAIT) or the time of a recent event that is only ever compared
//! against a bounded interval (the last send against the RTO for restart
//! after idle, RFC 5681 §4.1; the challenge-ACK second, RFC 5961 §7; the
//! out-of-window ACK guard; the send time of the segment timed for an RTT
//! sample, RFC 6298 §3). Those are kept here as microsecond offsets
//! ([`Tick`]) from one per-socket epoch, exact to the microsecond: the
//! engine's timing is unchanged.
//!
//! The epoch moves forward only when a time to be stored is
//! [`Tick::LIMIT`] or more past it (71.6 minutes), and then to
//! [`HORIZON`] (35.8 minutes) before `now`, rounded up to a whole
//! millisecond (see below): every armed deadline and every event younger
//! than that keeps its exact value, "none" stays none, and an event older
//! than that is kept as "35.8 minutes ago" (to the millisecond). That is
//! exact for every use here as long as the intervals compared against are
//! shorter than 35.8 minutes (the RTO is at most `RtoConfig::max`, 60 s by
//! default; the others are 1 s and 500 ms), and a deadline is exact if it
//! lies less than 35.8 minutes ahead (the RTO again, and 2 × MSL). A
//! deadline further out (only with `RtoConfig::max` or 2 × MSL configured
//! above 35.8 minutes) is kept as 35.8 minutes ahead, and so fires early;
//! [`Instant::MAX`] (an overflowing `now + duration`) stays "none", as a
//! [`Deadline`] at `Instant::MAX` is.
//!
//! Two times must reach further back: the last receipt (keep-alive idle,
//! two hours by default) and the start of a stall (the user timeout, three
//! minutes by default, up to the 22.75 hours a configured time can be).
//! They are [`MsTick`]s: signed milliseconds from the same epoch, which is
//! why the epoch is always a whole millisecond (it moves by whole
//! milliseconds and they shift exactly). They keep their time to the
//! millisecond (rounded down: a keep-alive probe or the user timeout fires
//! up to 1 ms early) from 24.8 days before the epoch on; an older time is
//! kept as 24.8 days before it. Four bytes each instead of an eight-byte
//! `Instant`: 8 B per socket (issue 9).

use crate::time::{div_rem_small, Deadline, Duration, Instant};
use crate::wire::SeqNumber;

/// How far before `now` the epoch goes when it moves: 2^31 µs, so that
/// deadlines up to 2^31 - 1 µs ahead of `now` still fit in a [`Tick`].
pub(crate) const HORIZON: u64 = 1 << 31;

/// A time as microseconds since the owning [`Timers`]' epoch, or none.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Tick(u32);

impl Tick {
    /// No time (a timer that is not armed).
    pub(crate) const NONE: Tick = Tick(u32::MAX);
    /// Offsets are below this; `u32::MAX` is [`Tick::NONE`].
    pub(crate) const LIMIT: u64 = u32::MAX as u64;
    /// The epoch itself (the start value of the event times: "long ago"
    /// while the epoch is [`Instant::ZERO`], as `Instant::ZERO` was).
    pub(crate) const EPOCH: Tick = Tick(0);

    /// Whether no time is set.
    #[inline]
    pub(crate) fn is_none(self) -> bool {
        self == Tick::NONE
    }

    /// The earlier of two ticks of the same epoch; none only if both are
    /// (none is the largest value).
    #[inline]
    #[must_use]
    pub(crate) fn min(self, other: Tick) -> Tick {
        Tick(self.0.min(other.0))
    }

    /// The same time after the epoch moved `shift` µs forward (a shift of
    /// `u32::MAX` or more given as `u32::MAX`: every offset is below it):
    /// none stays none, and a time before the new epoch becomes the new
    /// epoch.
    fn shifted(self, shift: u32) -> Tick {
        if self.is_none() {
            return self;
        }
        Tick(self.0.saturating_sub(shift))
    }
}

/// A time as whole milliseconds from the owning [`Timers`]' epoch (before
/// it if negative), or none: see the module documentation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct MsTick(i32);

impl MsTick {
    /// No time (no stall).
    pub(crate) const NONE: MsTick = MsTick(i32::MAX);
    /// The epoch itself ("long ago" while the epoch is [`Instant::ZERO`]).
    pub(crate) const EPOCH: MsTick = MsTick(0);

    /// Whether no time is set.
    #[inline]
    pub(crate) fn is_none(self) -> bool {
        self == MsTick::NONE
    }

    /// The same time after the epoch moved `shift_ms` forward; none stays
    /// none, and a time more than `i32::MAX` ms before the new epoch is
    /// kept as that.
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    fn shifted(self, shift_ms: u64) -> MsTick {
        if self.is_none() {
            return self;
        }
        // No wrap: the shift is capped at 2^32 ms, far past the floor.
        let ms = i64::from(self.0) - shift_ms.min(1 << 32) as i64;
        MsTick(ms.max(-i64::from(i32::MAX)) as i32)
    }
}

/// A connection's 32-bit timers and the epoch they count from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Timers {
    /// What every [`Tick`] here counts from; never after the latest `now`
    /// passed to [`Timers::tick`].
    epoch: Instant,
    /// Retransmission timer (RFC 6298); in TIME-WAIT, the end of TIME-WAIT
    /// (2 × MSL, RFC 9293 §3.10.8) instead. The two are never armed at
    /// once: entering TIME-WAIT stops the retransmission timer (everything
    /// we sent, our FIN included, is acknowledged), and nothing in
    /// TIME-WAIT sends sequence space or takes an ACK of it, the only
    /// events that arm it. Sharing the word is one deadline fewer to fold
    /// after each segment and one test fewer each time the timers are
    /// checked (issue 9); the socket's state tells which it is.
    pub(crate) rtx: Tick,
    /// Persist timer (RFC 9293 §3.8.6.1).
    pub(crate) persist: Tick,
    /// Delayed-ACK timer (RFC 9293 §3.8.6.3).
    pub(crate) ack: Tick,
    /// When we last sent a segment (restart after idle, RFC 5681 §4.1).
    pub(crate) last_send: Tick,
    /// Start of the current challenge-ACK second (RFC 5961 §7).
    pub(crate) challenge_epoch: Tick,
    /// When we last answered an unacceptable zero-length segment with an
    /// ACK (the ACK-loop guard in `input.rs`).
    pub(crate) last_oow_ack: Tick,
    /// When the segment timed for an RTT sample was sent (`rtt.rs`).
    pub(crate) rtt_sent: Tick,
    /// That segment's sequence number (valid while `rtt_sent` is set).
    /// Not a time, but kept here beside it, where it fills what sharing
    /// the end of TIME-WAIT with `rtx` left of the 8-aligned struct.
    pub(crate) rtt_seq: SeqNumber,
    /// When the last segment arrived (keep-alive counts from it, RFC 9293
    /// §3.8.4).
    pub(crate) last_rx: MsTick,
    /// When data (or a SYN) began to wait for an acknowledgement, or none
    /// (the user timeout counts from it, §3.8.3 R2).
    pub(crate) stall_since: MsTick,
}

impl Timers {
    /// Nothing armed; the event times at [`Instant::ZERO`].
    pub(crate) const fn new() -> Timers {
        Timers {
            epoch: Instant::ZERO,
            rtx: Tick::NONE,
            persist: Tick::NONE,
            ack: Tick::NONE,
            last_send: Tick::EPOCH,
            challenge_epoch: Tick::EPOCH,
            last_oow_ack: Tick::NONE,
            rtt_sent: Tick::NONE,
            rtt_seq: SeqNumber(0),
            last_rx: MsTick::EPOCH,
            stall_since: MsTick::NONE,
        }
    }

    /// The time `t` stands for (none stays none). Out of line on 32-bit
    /// targets, where its saturating `u64` addition is several
    /// instructions and it has a score of callers (flash, issue 9).
    #[cfg_attr(target_pointer_width = "64", inline)]
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    pub(crate) fn get(&self, t: Tick) -> Deadline {
        if t.is_none() {
            Deadline::NONE
        } else {
            Deadline::at(Instant::from_micros(
                self.epoch.total_micros().saturating_add(u64::from(t.0)),
            ))
        }
    }

    /// The time `t` stands for, for a tick that is never none (the event
    /// times); none reads as [`Instant::MAX`].
    // Inlined on 64-bit hosts; left to the compiler on 32-bit targets,
    // where out of line (session 17's first layout) it cost 12 B more flash.
    #[cfg_attr(target_pointer_width = "64", inline)]
    pub(crate) fn instant(&self, t: Tick) -> Instant {
        self.get(t).get().unwrap_or(Instant::MAX)
    }

    /// The time `t` stands for, to the millisecond (none stays none).
    /// Out of line on 32-bit targets with keep-alive, where its 64-bit
    /// arithmetic is several instructions at several callers; without the
    /// `keep-alive` feature two callers are left and inlining it is shorter
    /// (flash, issue 9: −32 B on the minimal firmware, +44 B on the default
    /// rows if inlined there).
    #[cfg_attr(target_pointer_width = "64", inline)]
    #[cfg_attr(
        all(target_pointer_width = "32", feature = "keep-alive"),
        inline(never)
    )]
    pub(crate) fn get_ms(&self, t: MsTick) -> Deadline {
        if t.is_none() {
            return Deadline::NONE;
        }
        // An epoch past i64::MAX µs (292,000 years) reads as that.
        let epoch = self.epoch.total_micros().min(i64::MAX as u64) as i64;
        let us = epoch.saturating_add(i64::from(t.0) * 1_000);
        Deadline::at(Instant::from_micros(us.max(0) as u64))
    }

    /// `d` after the time `t` stands for (`get_ms`, then a saturating
    /// addition), or none if `t` is. In one step: the user timeout is
    /// computed from the start of a stall each time the timers are folded
    /// or checked (issue 9).
    #[cfg_attr(target_pointer_width = "64", inline)]
    pub(crate) fn after_ms(&self, t: MsTick, d: Duration) -> Option<Instant> {
        if t.is_none() {
            return None;
        }
        // As `get_ms`; the sum is at most i64::MAX, so never `Instant::MAX`
        // (none) before `d` is added.
        let epoch = self.epoch.total_micros().min(i64::MAX as u64) as i64;
        let us = epoch.saturating_add(i64::from(t.0) * 1_000).max(0) as u64;
        Some(Instant::from_micros(us.saturating_add(d.total_micros())))
    }

    /// The time `t` stands for, for an [`MsTick`] that is never none;
    /// none reads as [`Instant::MAX`].
    #[inline]
    pub(crate) fn instant_ms(&self, t: MsTick) -> Instant {
        self.get_ms(t).get().unwrap_or(Instant::MAX)
    }

    /// `now` as an [`MsTick`], rounded down to the millisecond, moving the
    /// epoch forward first as [`Timers::tick`] would. Out of line on
    /// 32-bit targets (flash).
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    pub(crate) fn stamp_ms(&mut self, now: Instant) -> MsTick {
        if now == Instant::MAX {
            return MsTick::NONE;
        }
        // Through `tick`, so that the epoch stays within a `Tick`'s reach
        // of now and the millisecond count below cannot overflow.
        let Tick(off) = self.stamp(now);
        MsTick((off / 1_000) as i32)
    }

    /// Whether `t` is set and at or before `now` (a deadline that is due).
    #[cfg_attr(not(target_pointer_width = "32"), inline)]
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    pub(crate) fn due(&self, t: Tick, now: Instant) -> bool {
        self.get(t).is_some_and(|d| now >= d)
    }

    /// `now` as a tick: [`tick`](Self::tick)`(now, now)`, for the times
    /// stamped when something happens (last send, RTT sample, rate
    /// limits). Out of line on 32-bit targets, where `tick`'s second
    /// `Instant` goes on the stack at each of its callers (flash, issue 9).
    #[cfg_attr(target_pointer_width = "64", inline)]
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    pub(crate) fn stamp(&mut self, now: Instant) -> Tick {
        self.tick(now, now)
    }

    /// `t` as a tick, moving the epoch forward first if `t` is too far
    /// past it (module docs). `now` is the current time, at or before
    /// `t` (or at most a few microseconds after it). Out of line on 32-bit
    /// targets, where its `u64` arithmetic is several instructions per
    /// step and it has a dozen callers (flash, issue 9).
    #[cfg_attr(target_pointer_width = "64", inline)]
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    pub(crate) fn tick(&mut self, t: Instant, now: Instant) -> Tick {
        if t == Instant::MAX {
            return Tick::NONE;
        }
        let off = t.total_micros().saturating_sub(self.epoch.total_micros());
        if off < Tick::LIMIT {
            return Tick(off as u32);
        }
        self.rebase(now);
        let off = t.total_micros().saturating_sub(self.epoch.total_micros());
        Tick(off.min(Tick::LIMIT - 1) as u32)
    }

    /// Move the epoch to [`HORIZON`] before `now`, rounded up to a whole
    /// millisecond (never back), shifting every tick with it. Rare (at
    /// most once per 35.8 minutes of a connection's life), so out of line.
    #[cold]
    #[inline(never)]
    fn rebase(&mut self, now: Instant) {
        // Rounded up, not down: a deadline up to HORIZON ahead must still
        // fit, and whole milliseconds keep the `MsTick`s exact.
        let (ms, part) = div_rem_small(now.total_micros().saturating_sub(HORIZON), 1_000);
        let epoch = (ms + u64::from(part != 0)) * 1_000;
        let shift = epoch.saturating_sub(self.epoch.total_micros());
        if shift == 0 {
            return;
        }
        // Both epochs are whole milliseconds, so this is exact.
        let shift_ms = div_rem_small(shift, 1_000).0;
        let shift = u32::try_from(shift).unwrap_or(u32::MAX);
        let Timers {
            epoch: old,
            rtx,
            persist,
            ack,
            last_send,
            challenge_epoch,
            last_oow_ack,
            rtt_sent,
            last_rx,
            stall_since,
            rtt_seq: _,
        } = self;
        *old = Instant::from_micros(epoch);
        *last_rx = last_rx.shifted(shift_ms);
        *stall_since = stall_since.shifted(shift_ms);
        for t in [
            rtx,
            persist,
            ack,
            last_send,
            challenge_epoch,
            last_oow_ack,
            rtt_sent,
        ] {
            *t = t.shifted(shift);
        }
    }
}

impl Default for Timers {
    fn default() -> Timers {
        Timers::new()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::time::Duration;

    const MIN: u64 = 60_000_000;

    fn at(us: u64) -> Instant {
        Instant::from_micros(us)
    }

    /// `us` rounded up to a whole millisecond, as the epoch is.
    fn ms_up(us: u64) -> u64 {
        us.div_ceil(1_000) * 1_000
    }

    #[test]
    fn exact_below_the_limit_without_moving() {
        let mut t = Timers::new();
        let now = at(5);
        t.rtx = t.tick(at(Tick::LIMIT - 1), now);
        assert_eq!(t.get(t.rtx).get(), Some(at(Tick::LIMIT - 1)));
        assert_eq!(t.epoch, Instant::ZERO);
        // The event times start at Instant::ZERO, as before.
        assert_eq!(t.instant(t.last_send), Instant::ZERO);
        assert_eq!(t.get(t.last_oow_ack), Deadline::NONE);
    }

    #[test]
    fn none_stays_none() {
        let mut t = Timers::new();
        assert!(t.rtx.is_none() && t.persist.is_none() && t.ack.is_none());
        // Instant::MAX (an overflowed now + d) is none, as Deadline::at(MAX) was.
        assert_eq!(t.tick(Instant::MAX, at(1)), Tick::NONE);
        // Moving the epoch, even by days, leaves unarmed timers unarmed.
        let now = at(3 * 24 * 60 * MIN);
        t.ack = t.tick(now + Duration::from_millis(40), now);
        assert!(t.epoch > Instant::ZERO);
        assert!(t.rtx.is_none() && t.persist.is_none());
        assert!(t.last_oow_ack.is_none() && t.rtt_sent.is_none());
        assert_eq!(t.get(t.ack).get(), Some(now + Duration::from_millis(40)));
        assert!(!t.due(t.rtx, Instant::MAX));
    }

    #[test]
    fn moving_the_epoch_keeps_recent_times_exact() {
        let mut t = Timers::new();
        // A connection an hour and a half old: everything so far fit.
        let t0 = at(90 * MIN + 123);
        let mut now = t0;
        t.last_send = t.tick(now, now);
        t.rtx = t.tick(now + Duration::from_secs(1), now);
        assert_eq!(t.epoch, at(ms_up(90 * MIN + 123 - HORIZON)));
        // Ten minutes on, nothing moves: the offsets still fit.
        now += Duration::from_secs(600);
        t.challenge_epoch = t.tick(now, now);
        assert_eq!(t.epoch, at(ms_up(90 * MIN + 123 - HORIZON)));
        // Far enough on that the next time does not fit: the epoch moves
        // to 2^31 µs before now (rounded up to a millisecond), and whatever
        // is younger than that keeps its exact value.
        now = at(t.epoch.total_micros() + Tick::LIMIT + 10);
        let persist = now + Duration::from_micros(999_999);
        t.persist = t.tick(persist, now);
        assert_eq!(t.epoch, at(ms_up(now.total_micros() - HORIZON)));
        assert_eq!(t.get(t.persist).get(), Some(persist));
        let challenge = t0 + Duration::from_secs(600);
        assert!(challenge.total_micros() >= t.epoch.total_micros());
        assert_eq!(t.instant(t.challenge_epoch), challenge);
        // Older than the horizon: kept as "HORIZON ago", so every interval
        // shorter than that still compares the same.
        assert!(t0 < t.epoch);
        assert_eq!(t.instant(t.last_send), t.epoch);
        assert!(now - t.instant(t.last_send) > Duration::from_micros(HORIZON - 1_000));
        // An overdue deadline younger than the horizon stays exact (and due).
        assert_eq!(t.get(t.rtx).get(), Some(t0 + Duration::from_secs(1)));
        assert!(t.due(t.rtx, now));
    }

    #[test]
    fn offsets_at_the_edges() {
        let mut t = Timers::new();
        // LIMIT - 1 is the largest offset stored without moving.
        t.ack = t.tick(at(Tick::LIMIT - 1), at(Tick::LIMIT - 1));
        assert_eq!(t.epoch, Instant::ZERO);
        assert_eq!(t.ack, Tick((Tick::LIMIT - 1) as u32));
        assert!(!t.ack.is_none());
        // LIMIT itself would be read as none: it moves the epoch instead.
        t.rtx = t.tick(at(Tick::LIMIT), at(Tick::LIMIT));
        assert_eq!(t.epoch, at(ms_up(Tick::LIMIT - HORIZON)));
        assert_eq!(t.get(t.rtx).get(), Some(at(Tick::LIMIT)));
        assert_eq!(t.get(t.ack).get(), Some(at(Tick::LIMIT - 1)));
        // So does 2^32 and beyond.
        let now = at(1 << 40);
        t.persist = t.tick(now + Duration::from_micros(HORIZON - 2), now);
        assert_eq!(t.epoch, at(ms_up((1 << 40) - HORIZON)));
        assert_eq!(
            t.get(t.persist).get(),
            Some(now + Duration::from_micros(HORIZON - 2))
        );
        // HORIZON - 1 µs ahead still fits (the epoch rounded up, not down).
        let edge = t.tick(now + Duration::from_micros(HORIZON - 1), now);
        assert_eq!(
            t.get(edge).get(),
            Some(now + Duration::from_micros(HORIZON - 1))
        );
        // Epoch + LIMIT - 1 is the furthest exact deadline; one more and
        // the offset would be LIMIT, which is kept one microsecond short.
        let last = at(t.epoch.total_micros() + Tick::LIMIT - 1);
        let edge = t.tick(last, now);
        assert_eq!(t.get(edge).get(), Some(last));
        let edge = t.tick(last + Duration::from_micros(1), now);
        assert_eq!(t.get(edge).get(), Some(last));
        // A deadline further ahead than the range is kept as far as fits
        // (only with RTO or MSL bounds above 35.8 minutes).
        let far = t.tick(now + Duration::from_secs(3600), now);
        assert!(!far.is_none());
        assert_eq!(
            t.get(far).get(),
            Some(at(t.epoch.total_micros() + Tick::LIMIT - 1))
        );
        // Due exactly at the deadline, not a microsecond before.
        let d = t.get(t.persist).get().unwrap();
        assert!(t.due(t.persist, d));
        assert!(!t.due(t.persist, d - Duration::from_micros(1)));
    }

    /// The last receipt and the start of a stall are kept to the
    /// millisecond however far the epoch moves past them, and none stays
    /// none.
    #[test]
    fn millisecond_ticks_survive_the_epoch_moving_past_them() {
        let mut t = Timers::new();
        assert_eq!(t.instant_ms(t.last_rx), Instant::ZERO);
        assert_eq!(t.get_ms(t.stall_since), Deadline::NONE);
        let rx = at(90 * MIN + 1_234_567);
        t.last_rx = t.stamp_ms(rx);
        assert_eq!(t.instant_ms(t.last_rx), at(90 * MIN + 1_234_000));
        // Two hours of keep-alive idle later a probe's send time moves the
        // epoch past the receipt: the receipt is still exact.
        let now = rx + Duration::from_secs(7200);
        t.last_send = t.tick(now, now);
        assert!(t.epoch > rx);
        assert_eq!(t.instant_ms(t.last_rx), at(90 * MIN + 1_234_000));
        assert_eq!(t.get_ms(t.stall_since), Deadline::NONE);
        // A stall stamped now reads back as now, to the millisecond.
        t.stall_since = t.stamp_ms(now);
        assert_eq!(
            t.instant_ms(t.stall_since),
            at(ms_up(now.total_micros() - 999))
        );
        // Thirty days on, the receipt is older than an `i32` of
        // milliseconds reaches: kept as that far back, not wrapped around.
        let later = now + Duration::from_secs(30 * 86_400);
        t.rtx = t.tick(later, later);
        let kept = t.instant_ms(t.last_rx);
        assert!(kept < t.epoch && kept > rx);
        assert_eq!(t.epoch - kept, Duration::from_millis(i32::MAX as u64));
        // A stamp of `Instant::MAX` (an overflowed time) is none.
        assert!(t.stamp_ms(Instant::MAX).is_none());
    }

    /// `after_ms` is `get_ms` plus a duration, saturating, wherever the
    /// epoch is; none stays none.
    #[test]
    fn after_ms_adds_to_the_millisecond_time() {
        let mut t = Timers::new();
        let d = Duration::from_secs(180);
        assert_eq!(t.after_ms(MsTick::NONE, d), None);
        t.last_rx = t.stamp_ms(at(1_234_567));
        for now in [
            at(1_234_567),
            at(90 * MIN + 999),
            at(40 * 24 * 60 * MIN + 1),
        ] {
            t.stall_since = t.stamp_ms(now);
            let since = t.instant_ms(t.stall_since);
            assert_eq!(since, at(now.total_micros() / 1_000 * 1_000));
            assert_eq!(t.after_ms(t.stall_since, d), Some(since + d));
            assert_eq!(t.after_ms(t.stall_since, Duration::MAX), Some(Instant::MAX));
            // A time before the epoch (the first receipt, once the epoch
            // has moved past it) adds up the same.
            let rx = t.instant_ms(t.last_rx);
            assert_eq!(t.after_ms(t.last_rx, d), Some(rx + d));
        }
        assert!(t.instant_ms(t.last_rx) < t.epoch);
    }

    #[test]
    fn min_treats_none_as_latest() {
        let a = Tick(5);
        assert_eq!(a.min(Tick::NONE), a);
        assert_eq!(Tick::NONE.min(Tick::NONE), Tick::NONE);
        assert_eq!(Tick(9).min(a), a);
    }

    #[test]
    fn the_epoch_never_moves_back_or_past_now() {
        let mut t = Timers::new();
        let now = at(10 * 24 * 60 * MIN);
        t.rtx = t.tick(now + Duration::from_secs(60), now);
        let epoch = t.epoch;
        assert!(epoch <= now);
        // A later store with an earlier `now` (never happens; still safe).
        t.rebase(now - Duration::from_secs(100));
        assert_eq!(t.epoch, epoch);
        assert_eq!(t.get(t.rtx).get(), Some(now + Duration::from_secs(60)));
    }
}
