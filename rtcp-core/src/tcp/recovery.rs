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
            if advanced {
                rec.log.on_cumulative_ack(ack, &mut visit);
            }
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
