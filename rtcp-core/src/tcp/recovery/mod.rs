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
//!
//! This module holds [`RecoveryState`] and the sending side (pipe, the
//! congestion room, what each transmission records, pacing and the tail
//! loss probe's timer); the submodule `ack` holds what an ACK, a RACK
//! timer or an RTO does with them.

#[cfg(any(feature = "cubic", feature = "bbr"))]
use super::congestion::RateSample;
use super::congestion::{AckSample, CongestionControl};
#[cfg(feature = "rack")]
use super::rack::Rack;
#[cfg(any(feature = "cubic", feature = "bbr"))]
use super::scoreboard::APP_LIMITED;
#[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
use super::scoreboard::RETRANSMITTED;
#[cfg(feature = "rack")]
use super::scoreboard::SACKED;
use super::scoreboard::{SendLog, SentRecord, COALESCED, LOG_CAPACITY};
use super::socket::{Flags, TcpSocket};
use super::undo::Undo;
use super::TcpStats;
use crate::time::{Deadline, Duration, Instant};
use crate::wire::{SeqNumber, TcpRepr};

mod ack;

/// The delivered count (`RecoveryState::delivered`). It, the app-limited
/// mark and the send log's per-record counters exist only for delivery-rate
/// samples, which only the CUBIC and BBR controllers read: a NewReno-only
/// build keeps none of them (12 B per socket and 4 B per send-log record on
/// thumbv7em, issue 9).
#[cfg(any(feature = "cubic", feature = "bbr"))]
pub type Delivered = u64;

/// The low 32 bits of a delivered count, as the send log keeps it.
#[cfg(any(feature = "cubic", feature = "bbr"))]
pub(crate) fn delivered_low32(delivered: Delivered) -> u32 {
    delivered as u32
}

/// Duplicate ACKs that signal a loss (RFC 5681 §3.2, RFC 6675 DupThresh).
pub const DUP_THRESH: u8 = 3;

/// Worst-case delayed-ACK time added to a probe timeout when only one
/// segment is in flight (RFC 8985 §7.2 WCDelAckT).
#[cfg(feature = "rack")]
const WORST_CASE_DELAYED_ACK: Duration = Duration::from_millis(200);

/// How far behind its pacing schedule a sender may catch up in one go
/// (see `on_data_sent`).
#[cfg(feature = "bbr")]
const PACING_CATCH_UP: Duration = Duration::from_millis(1);

/// Loss-recovery state of one connection.
///
/// Fields that serve only an optional feature are compiled out with it, so
/// the smallest build carries none of them (issue 9's per-connection
/// budget): RACK-TLP (`rack`), PRR (`prr`), delivery-rate sampling (needed
/// by the `cubic` and `bbr` controllers) and pacing (`bbr`). The accessors
/// below stand in for them when absent, with the value the field would
/// have kept (a timer that never fires, no probe due, no pacing).
#[derive(Debug, Clone)]
pub struct RecoveryState<const LOG: usize = LOG_CAPACITY> {
    /// What is in flight, segment by segment.
    pub log: SendLog<LOG>,
    /// RACK state.
    #[cfg(feature = "rack")]
    pub rack: Rack,
    /// RACK's reordering timer.
    #[cfg(feature = "rack")]
    pub rack_deadline: Deadline,
    /// When a tail loss probe is due.
    #[cfg(feature = "rack")]
    pub tlp_deadline: Deadline,
    /// SND.MAX when the outstanding probe was sent.
    #[cfg(feature = "rack")]
    pub tlp_high: Option<SeqNumber>,
    /// A probe is to be sent now.
    #[cfg(feature = "rack")]
    pub send_tlp: bool,
    /// The outstanding probe was a retransmission.
    #[cfg(feature = "rack")]
    pub tlp_retrans: bool,
    /// A D-SACK showed the probe was not needed.
    #[cfg(feature = "rack")]
    pub tlp_dsacked: bool,
    /// The current recovery episode began with an RTO (slow start, not PRR).
    pub after_rto: bool,
    /// Fast recovery began and its first retransmission has not left yet:
    /// it goes whatever the window says (RFC 5681 §3.2 step 2, RFC 6675
    /// §5 (4.3)). PRR grants it through its quota; without PRR (the
    /// feature compiled out, or a controller that does not use it) this
    /// is what does, or limited transmit could leave the pipe above the
    /// reduced window and the loss waiting for the RTO.
    pub fast_rexmit_owed: bool,
    /// PRR (RFC 6937): bytes delivered since recovery began.
    #[cfg(feature = "prr")]
    pub prr_delivered: usize,
    /// PRR: bytes sent since recovery began.
    #[cfg(feature = "prr")]
    pub prr_out: usize,
    /// PRR: bytes in flight when recovery began.
    #[cfg(feature = "prr")]
    pub recover_fs: usize,
    /// PRR: bytes that may still be sent on the strength of the last ACK.
    #[cfg(feature = "prr")]
    pub prr_quota: usize,
    /// Rate sampling: bytes delivered on the connection (C.delivered).
    /// Its low bits also tell the send log which segments left in one
    /// burst (`SendLog::on_send_new`).
    #[cfg(any(feature = "cubic", feature = "bbr"))]
    pub delivered: Delivered,
    /// When `delivered` last moved (C.delivered_time).
    #[cfg(any(feature = "cubic", feature = "bbr"))]
    pub delivered_at: Instant,
    /// Send time of the first segment of the current sampling flight.
    #[cfg(any(feature = "cubic", feature = "bbr"))]
    pub first_sent_at: Instant,
    /// C.app_limited: the low 32 bits of the delivered count until which
    /// samples are application-limited, valid while `app_limited` (the
    /// send log does not merge app-limited segments with others). 32 bits and a flag instead of a
    /// `u64` with 0 for "not limited" (8 B per socket on thumbv7em, issue
    /// 9): it is only compared with `delivered` in sequence-space
    /// arithmetic, exact because it is set at most a window (under 2^31
    /// bytes) ahead of `delivered` and cleared on the first ACK that
    /// passes it.
    #[cfg(any(feature = "cubic", feature = "bbr"))]
    pub app_limited_until: u32,
    /// Samples are application-limited (`app_limited_until` holds until
    /// when).
    #[cfg(any(feature = "cubic", feature = "bbr"))]
    pub app_limited: bool,
    /// Bytes ever marked lost.
    #[cfg(any(feature = "cubic", feature = "bbr"))]
    pub lost_total: u64,
    /// Smallest RTT seen (RACK's reordering window, rate samples and the
    /// CUBIC and BBR controllers).
    #[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
    pub min_rtt: Option<Duration>,
    /// Undo marks of the last congestion response (Eifel, D-SACK; empty
    /// without the `undo` feature).
    undo: Undo,
    /// Receive side: a duplicate segment to report in a D-SACK block,
    /// `[start, end)`; an empty range (start = end) means none, which
    /// `note_duplicate` never stores (8 bytes, where an `Option` took 12).
    /// Read with `dsack()`. Only with the `sack` feature.
    #[cfg(feature = "sack")]
    dsack_range: (SeqNumber, SeqNumber),
    /// Pacing: the earliest time the next data segment may leave.
    #[cfg(feature = "bbr")]
    pub next_send_at: Deadline,
    /// The last `dispatch` found data ready that only pacing held back.
    #[cfg(feature = "bbr")]
    pub pacing_held: bool,
}

impl<const LOG: usize> Default for RecoveryState<LOG> {
    fn default() -> Self {
        RecoveryState::new()
    }
}

/// RACK's state as a new connection starts.
#[cfg(feature = "rack")]
const FRESH_RACK: Rack = Rack {
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

impl<const LOG: usize> RecoveryState<LOG> {
    /// Nothing for the ACK step's recovery half to do on an ACK that
    /// acknowledges nothing new (SND.UNA stays `snd_una`) and carries no
    /// SACK blocks: no marks in the log, no probe or reordering timer to
    /// cancel, and an undo mark (kept after an episode until SND.UNA passes
    /// it) that such an ACK would leave as it is. Header prediction
    /// (`predict.rs`) relies on it.
    #[cfg(feature = "header-prediction")]
    pub(crate) fn is_idle(&self, snd_una: SeqNumber) -> bool {
        self.nothing_marked_or_probed()
            && self.undo_until().is_none_or(|u| snd_una <= u)
            && self.rack_deadline().is_none()
            && self.tlp_deadline().is_none()
    }

    /// No byte in the send log is marked lost or SACKed, and no tail loss
    /// probe is outstanding (RFC 8985 §7): what both header prediction
    /// (`is_idle`) and the clean-ACK shortcut of `on_ack_for_recovery`
    /// need before they may skip loss detection.
    #[inline]
    pub(crate) fn nothing_marked_or_probed(&self) -> bool {
        #[cfg(feature = "rack")]
        let no_probe = self.tlp_high.is_none();
        #[cfg(not(feature = "rack"))]
        let no_probe = true;
        self.log.lost_bytes() == 0 && self.log.sacked_bytes() == 0 && no_probe
    }

    /// Fresh state.
    pub const fn new() -> RecoveryState<LOG> {
        RecoveryState {
            log: SendLog::new(),
            #[cfg(feature = "rack")]
            rack: FRESH_RACK,
            #[cfg(feature = "rack")]
            rack_deadline: Deadline::NONE,
            #[cfg(feature = "rack")]
            tlp_deadline: Deadline::NONE,
            #[cfg(feature = "rack")]
            tlp_high: None,
            #[cfg(feature = "rack")]
            send_tlp: false,
            #[cfg(feature = "rack")]
            tlp_retrans: false,
            #[cfg(feature = "rack")]
            tlp_dsacked: false,
            after_rto: false,
            fast_rexmit_owed: false,
            #[cfg(feature = "prr")]
            prr_delivered: 0,
            #[cfg(feature = "prr")]
            prr_out: 0,
            #[cfg(feature = "prr")]
            recover_fs: 0,
            #[cfg(feature = "prr")]
            prr_quota: 0,
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            delivered: 0,
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            delivered_at: Instant::ZERO,
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            first_sent_at: Instant::ZERO,
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            app_limited_until: 0,
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            app_limited: false,
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            lost_total: 0,
            #[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
            min_rtt: None,
            undo: Undo::NEW,
            #[cfg(feature = "sack")]
            dsack_range: (SeqNumber(0), SeqNumber(0)),
            #[cfg(feature = "bbr")]
            next_send_at: Deadline::NONE,
            #[cfg(feature = "bbr")]
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
            #[cfg(feature = "rack")]
            rack_deadline,
            #[cfg(feature = "rack")]
            tlp_deadline,
            #[cfg(feature = "rack")]
            tlp_high,
            #[cfg(feature = "rack")]
            send_tlp,
            #[cfg(feature = "rack")]
            tlp_retrans,
            #[cfg(feature = "rack")]
            tlp_dsacked,
            after_rto,
            fast_rexmit_owed,
            #[cfg(feature = "prr")]
            prr_delivered,
            #[cfg(feature = "prr")]
            prr_out,
            #[cfg(feature = "prr")]
            recover_fs,
            #[cfg(feature = "prr")]
            prr_quota,
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            delivered,
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            delivered_at,
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            first_sent_at,
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            app_limited_until,
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            app_limited,
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            lost_total,
            #[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
            min_rtt,
            undo,
            #[cfg(feature = "sack")]
            dsack_range,
            #[cfg(feature = "bbr")]
            next_send_at,
            #[cfg(feature = "bbr")]
            pacing_held,
        } = self;
        // The values of `new` (`reset_matches_new` checks them); not a
        // copy of a constant `new()`, which would put the whole log in flash.
        log.clear();
        #[cfg(feature = "rack")]
        {
            *rack = FRESH_RACK;
            *rack_deadline = Deadline::NONE;
            *tlp_deadline = Deadline::NONE;
            *tlp_high = None;
            *send_tlp = false;
            *tlp_retrans = false;
            *tlp_dsacked = false;
        }
        *after_rto = false;
        *fast_rexmit_owed = false;
        #[cfg(feature = "prr")]
        {
            *prr_delivered = 0;
            *prr_out = 0;
            *recover_fs = 0;
            *prr_quota = 0;
        }
        #[cfg(any(feature = "cubic", feature = "bbr"))]
        {
            *delivered = 0;
            *delivered_at = Instant::ZERO;
            *first_sent_at = Instant::ZERO;
            *lost_total = 0;
            *app_limited_until = 0;
            *app_limited = false;
        }
        #[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
        {
            *min_rtt = None;
        }
        *undo = Undo::NEW;
        #[cfg(feature = "sack")]
        {
            *dsack_range = (SeqNumber(0), SeqNumber(0));
        }
        #[cfg(feature = "bbr")]
        {
            *next_send_at = Deadline::NONE;
            *pacing_held = false;
        }
    }

    /// Until when the last congestion response may be undone.
    pub fn undo_until(&self) -> Option<SeqNumber> {
        self.undo.until()
    }

    /// Set or clear [`undo_until`](Self::undo_until).
    pub fn set_undo_until(&mut self, at: Option<SeqNumber>) {
        self.undo.set_until(at);
    }

    /// TSval of the episode's first retransmission (Eifel).
    pub fn retrans_tsval(&self) -> Option<u32> {
        self.undo.retrans_tsval()
    }

    /// Set or clear [`retrans_tsval`](Self::retrans_tsval).
    pub fn set_retrans_tsval(&mut self, tsval: Option<u32>) {
        self.undo.set_retrans_tsval(tsval);
    }

    /// Sequence number of the episode's first retransmission.
    pub fn retrans_seq(&self) -> Option<SeqNumber> {
        self.undo.retrans_seq()
    }

    /// Set or clear [`retrans_seq`](Self::retrans_seq).
    pub fn set_retrans_seq(&mut self, seq: Option<SeqNumber>) {
        self.undo.set_retrans_seq(seq);
    }

    /// A duplicate segment `[start, end)` to report in a D-SACK block.
    pub fn dsack(&self) -> Option<(SeqNumber, SeqNumber)> {
        #[cfg(feature = "sack")]
        {
            let (start, end) = self.dsack_range;
            (start != end).then_some((start, end))
        }
        #[cfg(not(feature = "sack"))]
        None
    }

    /// The D-SACK block was sent (or is no longer owed).
    pub fn clear_dsack(&mut self) {
        #[cfg(feature = "sack")]
        {
            self.dsack_range = (SeqNumber(0), SeqNumber(0));
        }
    }

    /// RACK's reordering timer (never armed without `rack`).
    pub fn rack_deadline(&self) -> Deadline {
        #[cfg(feature = "rack")]
        return self.rack_deadline;
        #[cfg(not(feature = "rack"))]
        Deadline::NONE
    }

    /// When a tail loss probe is due (never without `rack`).
    pub fn tlp_deadline(&self) -> Deadline {
        #[cfg(feature = "rack")]
        return self.tlp_deadline;
        #[cfg(not(feature = "rack"))]
        Deadline::NONE
    }

    /// The probe timer fired: a probe is owed if anything is in flight.
    /// Only reachable with `rack` (the timer is never armed without it).
    pub fn probe_timer_fired(&mut self, in_flight: bool) {
        #[cfg(feature = "rack")]
        {
            self.tlp_deadline = Deadline::NONE;
            self.send_tlp = in_flight;
        }
        #[cfg(not(feature = "rack"))]
        let _ = in_flight;
    }

    /// A tail loss probe is to be sent now (never without `rack`).
    pub fn send_tlp(&self) -> bool {
        #[cfg(feature = "rack")]
        return self.send_tlp;
        #[cfg(not(feature = "rack"))]
        false
    }

    /// Pacing: the earliest time the next data segment may leave (no
    /// pacing without `bbr`).
    pub fn next_send_at(&self) -> Deadline {
        #[cfg(feature = "bbr")]
        return self.next_send_at;
        #[cfg(not(feature = "bbr"))]
        Deadline::NONE
    }

    /// Record whether only pacing held data back (see `on_data_sent`);
    /// nothing to record without `bbr`.
    pub fn set_pacing_held(&mut self, held: bool) {
        #[cfg(feature = "bbr")]
        {
            self.pacing_held = held;
        }
        #[cfg(not(feature = "bbr"))]
        let _ = held;
    }

    /// The smallest RTT seen, where a feature keeps it.
    fn min_rtt(&self) -> Option<Duration> {
        #[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
        return self.min_rtt;
        #[cfg(not(any(feature = "rack", feature = "cubic", feature = "bbr")))]
        None
    }
}

/// `ceil(a * b / c)` for `c >= 1`, saturated at `usize::MAX` (PRR's
/// proportional share, RFC 6937 §3). On 64-bit targets the `u128`-free
/// `u64` product and division; on 32-bit ones a `u64` division would link
/// `compiler_builtins`' long division (about 0.5 KB of flash on a
/// Cortex-M4) for this one use, so the 32-bit division the hardware does
/// serves when the product fits in 32 bits, and otherwise
/// `mul_div_ceil_bitwise`.
#[cfg(feature = "prr")]
fn mul_div_ceil(a: usize, b: usize, c: usize) -> usize {
    if cfg!(target_pointer_width = "64") {
        let q = (a as u64 * b as u64).div_ceil(c.max(1) as u64);
        return usize::try_from(q).unwrap_or(usize::MAX);
    }
    match a.checked_mul(b) {
        Some(n) => n.div_ceil(c.max(1)),
        None => mul_div_ceil_bitwise(a as u32, b as u32, c as u32),
    }
}

/// `ceil(a * b / c)` by restoring binary long division of the 64-bit
/// product, one quotient bit per step (no `u64` division), saturated at
/// `usize::MAX`; `c == 0` is taken as 1. Compiled on every target so the
/// host tests cover it.
#[cfg(feature = "prr")]
#[cfg_attr(target_pointer_width = "64", allow(dead_code))]
#[cfg_attr(target_pointer_width = "32", inline(never))]
fn mul_div_ceil_bitwise(a: u32, b: u32, c: u32) -> usize {
    let n = u64::from(a) * u64::from(b);
    let d = u64::from(c.max(1));
    let (mut q, mut r) = (0u64, 0u64);
    for i in (0..64).rev() {
        // r < d <= 2^32 before the shift, so r stays below 2^33.
        r = (r << 1) | ((n >> i) & 1);
        if r >= d {
            r -= d;
            q |= 1 << i;
        }
    }
    let q = q + u64::from(r != 0);
    usize::try_from(q).unwrap_or(usize::MAX)
}

#[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
fn low32(t: Instant) -> u32 {
    t.total_micros() as u32
}

/// A full-width counter from its low 32 bits, given the current value.
#[cfg(any(feature = "cubic", feature = "bbr"))]
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
        self.hot.flags.get(Flags::RECOVERING) && !self.rec.after_rto
    }

    /// Bytes the congestion state lets out now.
    pub(crate) fn congestion_room(&self, limited_transmit: usize) -> usize {
        #[cfg(feature = "prr")]
        if self.in_fast_recovery() && self.cc.uses_prr() {
            return self.rec.prr_quota;
        }
        let room = (self.cc.window() + limited_transmit).saturating_sub(self.pipe());
        if self.rec.fast_rexmit_owed && self.in_fast_recovery() {
            return room.max(self.mss());
        }
        room
    }

    /// The time and counters stamped on a transmission.
    fn send_snapshot(&mut self, now: Instant, len: usize) -> SentRecord {
        #[cfg(any(feature = "cubic", feature = "bbr"))]
        let pipe = self.pipe();
        #[cfg(any(feature = "cubic", feature = "bbr"))]
        if pipe == 0 {
            // A new flight: the sampling intervals start now.
            self.rec.first_sent_at = now;
            self.rec.delivered_at = now;
        }
        #[cfg(not(any(feature = "cubic", feature = "bbr")))]
        let _ = len;
        #[cfg(not(any(feature = "rack", feature = "cubic", feature = "bbr")))]
        let _ = now;
        SentRecord {
            #[cfg(any(feature = "rack", feature = "cubic", feature = "bbr"))]
            sent_at: low32(now),
            #[cfg(feature = "rack")]
            earliest: low32(now),
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            delivered: delivered_low32(self.rec.delivered),
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            delivered_at: low32(self.rec.delivered_at),
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            first_sent_at: low32(self.rec.first_sent_at),
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            tx_in_flight: u32::try_from(pipe + len).unwrap_or(u32::MAX),
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            lost: self.rec.lost_total as u32,
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            flags: if self.rec.app_limited { APP_LIMITED } else { 0 },
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
        #[cfg(feature = "rack")]
        let tlp = core::mem::take(&mut self.rec.send_tlp);
        #[cfg(not(feature = "rack"))]
        let tlp = false;
        if seq < self.snd_max {
            self.rec.fast_rexmit_owed = false;
            self.rec.log.on_retransmit(seq, len, snapshot);
            if !tlp {
                self.rec.undo.note_resend();
                if self.rec.retrans_tsval().is_none() && self.hot.flags.get(Flags::TS_OK) {
                    self.rec.set_retrans_tsval(Some(self.ts_now(now)));
                    self.rec.set_retrans_seq(Some(seq));
                }
            }
        } else {
            self.rec.log.on_send_new(seq, end, snapshot);
        }
        #[cfg(feature = "prr")]
        if self.in_fast_recovery() {
            self.rec.prr_out += len;
            self.rec.prr_quota = self.rec.prr_quota.saturating_sub(len);
        }
        #[cfg(feature = "rack")]
        if tlp {
            // RFC 8985 §7.3: one probe at a time; the RTO runs from now.
            self.rec.tlp_high = Some(self.snd_max.max(end));
            self.rec.tlp_retrans = seq < self.snd_max;
            self.rec.tlp_dsacked = false;
            self.timers.rtx = self.timers.tick(now + self.rto(), now);
            crate::count(&mut stats.tail_loss_probes);
        } else {
            self.arm_tlp(now);
        }
        #[cfg(not(feature = "rack"))]
        let _ = stats;
        self.pace(now, len);
    }

    /// Pacing (BBR): when the next data segment may leave.
    #[cfg(not(feature = "bbr"))]
    fn pace(&mut self, _now: Instant, _len: usize) {}

    /// Pacing (BBR): when the next data segment may leave.
    #[cfg(feature = "bbr")]
    fn pace(&mut self, now: Instant, len: usize) {
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
            let from = self.rec.next_send_at().map_or(now, |t| t.max(floor));
            from + Duration::from_micros(gap)
        });
        self.rec.next_send_at = next.into();
    }

    /// Note that the application, not the network, limits sending now
    /// (draft-cheng-iccrg-delivery-rate-estimation §3.4).
    #[cfg(any(feature = "cubic", feature = "bbr"))]
    pub(crate) fn note_app_limited(&mut self) {
        let pipe = self.pipe();
        if pipe < self.cc.window() && self.rec.log.lost_bytes() == 0 {
            // (The `max(1)` is from when 0 meant "not limited"; kept so
            // that nothing changes, it only matters before any delivery.)
            let until = self.rec.delivered.wrapping_add(pipe as Delivered).max(1);
            self.rec.app_limited_until = delivered_low32(until);
            self.rec.app_limited = true;
        }
    }

    /// Schedule a tail loss probe (RFC 8985 §7.2) when one is allowed.
    #[cfg(feature = "rack")]
    pub(crate) fn arm_tlp(&mut self, now: Instant) {
        let allowed = self.sack_enabled()
            && !self.hot.flags.get(Flags::RECOVERING)
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
        self.rec.tlp_deadline = Deadline::at(match self.timers.get(self.timers.rtx).get() {
            Some(rto) => at.min(rto),
            None => at,
        });
    }
}

#[cfg(all(test, feature = "prr"))]
mod mul_div_tests {
    use super::{mul_div_ceil, mul_div_ceil_bitwise};
    use proptest::prelude::*;

    fn reference(a: u32, b: u32, c: u32) -> u128 {
        (u128::from(a) * u128::from(b)).div_ceil(u128::from(c.max(1)))
    }

    /// The reference saturated at `usize::MAX`, as the functions are.
    fn saturated(a: u32, b: u32, c: u32) -> usize {
        usize::try_from(reference(a, b, c)).unwrap_or(usize::MAX)
    }

    #[test]
    fn edges() {
        assert_eq!(mul_div_ceil_bitwise(0, 5, 3), 0);
        assert_eq!(mul_div_ceil_bitwise(7, 3, 7), 3);
        assert_eq!(mul_div_ceil_bitwise(7, 3, 8), 3);
        assert_eq!(mul_div_ceil_bitwise(7, 3, 0), 21);
        assert_eq!(mul_div_ceil(7, 3, 0), 21);
        let big = u32::MAX;
        assert_eq!(
            mul_div_ceil_bitwise(big, big, big),
            saturated(big, big, big)
        );
        // (2^32 - 1)^2 / (2^32 - 2) rounds up to 2^32 + 1: exact on a 64-bit
        // target, saturated to u32::MAX on a 32-bit one.
        assert_eq!(reference(big, big, big - 1), (1u128 << 32) + 1);
        assert_eq!(
            mul_div_ceil_bitwise(big, big, big - 1),
            saturated(big, big, big - 1)
        );
        #[cfg(target_pointer_width = "32")]
        assert_eq!(mul_div_ceil_bitwise(big, big, big - 1), usize::MAX);
        assert_eq!(
            mul_div_ceil(big as usize, big as usize, big as usize - 1),
            saturated(big, big, big - 1)
        );
    }

    proptest! {
        /// The long division agrees with a 128-bit reference, and so does
        /// the dispatcher (its 32-bit path on 32-bit targets).
        #[test]
        fn agrees_with_u128(a: u32, b: u32, c: u32, small in 0u32..70_000) {
            for (a, b) in [(a, b), (small, b), (a, small), (small, small / 3)] {
                let want = saturated(a, b, c);
                prop_assert_eq!(mul_div_ceil_bitwise(a, b, c), want);
                prop_assert_eq!(mul_div_ceil(a as usize, b as usize, c as usize), want);
            }
        }
    }
}
