//! Deciding what to send, and the timers (RFC 9293 §3.8, RFC 6298, RFC 5681).
//!
//! `plan` is a pure function of the connection state: it says what the next
//! segment would be, or nothing. `poll_at` is "now" exactly when `plan` has
//! something, otherwise the earliest timer, so the interface never spins.
//! `dispatch` fires expired timers, asks `plan`, hands the segment to the
//! caller's emit function and commits the state change only if the segment
//! really left.
//!
//! This file holds the plan; `send.rs` builds, sends and commits the
//! segment (`dispatch`, `send_next`, `commit`); `timers.rs` says when the
//! socket next needs the interface (`poll_at`) and fires its timers.

#[cfg(feature = "tso")]
use super::congestion::CongestionControl;
use super::socket::{Flags, PendingReset, TcpSocket};
use super::State;
use crate::time::Instant;
use crate::wire::tcp::MAX_SACK_BLOCKS;
use crate::wire::SeqNumber;

mod send;
mod timers;

/// Bytes the timestamp option takes in a segment (with its NOP padding).
const TS_OPTION_LEN: usize = 12;
/// IPv4 and TCP headers without options, which a TSO super-segment's size
/// limit (an IPv4 total length) includes.
#[cfg(feature = "tso")]
const BASE_HEADERS_LEN: usize = 20 + crate::wire::tcp::HEADER_LEN;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// A RST owed by the socket (`pending_rst`).
    Reset(PendingReset),
    Syn,
    Data {
        seq: SeqNumber,
        len: usize,
        fin: bool,
        probe: bool,
    },
    KeepAlive,
    Ack,
    /// Nothing to send, but a timer must be armed (persist).
    ArmPersist,
}

/// When a socket next needs the interface's attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PollAt {
    /// As soon as possible.
    Now,
    /// At this time.
    Time(Instant),
    /// Only when a segment arrives or the user acts.
    Ingress,
}

impl PollAt {
    /// The socket table's deadline for this: `Instant::ZERO` for now,
    /// `Instant::MAX` for none (ingress only).
    pub(crate) fn table_deadline(self) -> Instant {
        match self {
            PollAt::Now => Instant::ZERO,
            PollAt::Time(t) => t,
            PollAt::Ingress => Instant::MAX,
        }
    }
}

/// What one `dispatch_next` did. The deadlines are the socket table's
/// (`PollAt::table_deadline`): what the table schedules by, in registers
/// on 32-bit targets where a `PollAt` goes through memory (flash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dispatched {
    /// A segment left; there may be more.
    Sent,
    /// Nothing to send; the socket next needs attention at this time (what
    /// `poll_at` would say, found without planning a second time).
    Idle(Instant),
    /// A segment left and nothing more is due: what `Sent` and then
    /// `Idle` from the next call would say, without that call's plan. (A
    /// zero-MSL TIME-WAIT whose ACK this was is CLOSED already, which the
    /// next call's timers would have done.)
    SentLast(Instant),
}

impl<'a, const LOG: usize> TcpSocket<'a, LOG> {
    fn flight(&self) -> usize {
        self.snd_nxt - self.snd_una
    }

    /// Room for payload in a segment carrying our usual options. Out of
    /// line on 32-bit targets (flash, issue 9: three callers).
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    pub(super) fn payload_mss(&self) -> usize {
        let blocks = self.assembler.range_count() + usize::from(self.rec.dsack().is_some());
        // IP options (a source route) come out of the segment too
        // (RFC 9293 §3.7.1, MUST-16: Eff.snd.MSS subtracts IPoptionsize).
        let opts = self.route.option_len()
            + if self.hot.flags.get(Flags::TS_OK) {
                TS_OPTION_LEN
            } else {
                0
            }
            + if self.sack_enabled() && blocks > 0 {
                4 + 8 * self.sack_block_limit().min(blocks)
            } else {
                0
            };
        self.mss().saturating_sub(opts).max(1)
    }

    fn sack_block_limit(&self) -> usize {
        if self.hot.flags.get(Flags::TS_OK) {
            3
        } else {
            MAX_SACK_BLOCKS
        }
    }

    /// Sequence number of our FIN, once sent.
    #[inline]
    pub(crate) fn fin_seq(&self) -> Option<SeqNumber> {
        // Nothing is sent past the FIN, and SND.MAX never moves back.
        self.hot
            .flags
            .get(Flags::FIN_SENT)
            .then(|| self.snd_max - 1)
    }

    /// End of the last less-than-full segment sent, if any (Minshall).
    #[inline]
    fn small_end(&self) -> Option<SeqNumber> {
        self.hot
            .flags
            .get(Flags::SMALL_SENT)
            .then_some(self.small_end_at)
    }

    /// Our FIN is out and acknowledged: SND.UNA has passed it (what
    /// §3.10.7.4 asks in FIN-WAIT-1, CLOSING and LAST-ACK).
    pub(super) fn fin_acked(&self) -> bool {
        self.fin_seq().is_some_and(|f| self.snd_una > f)
    }

    /// The right window edge we would advertise now, less RCV.NXT,
    /// applying receiver-side silly window avoidance (§3.8.6.2.2) and
    /// never shrinking (§3.8.6). Worked out as offsets from RCV.NXT (a
    /// window is below 2^31), not as sequence numbers: fewer steps for
    /// the sender (`window_to_advertise`) and `window_update_due`
    /// (issue 9).
    fn window_span(&self) -> usize {
        // The edge last advertised, unless RCV.NXT has passed it.
        let current = self.rcv_adv.checked_since(self.rcv_nxt).unwrap_or(0);
        let candidate = self.rx.window();
        if candidate <= current {
            return current;
        }
        // RCV.BUFF - RCV.USER - RCV.WND >= min(Fr * RCV.BUFF, Eff.snd.MSS),
        // Fr = 1/2 (MUST-39); this holds for a closed window too.
        let threshold = (self.rx.capacity() / 2)
            .min(usize::from(self.local_mss))
            .max(1);
        if candidate - current < threshold {
            return current;
        }
        // Round down to what the scaled field can say.
        let shift = self.rcv_shift();
        let span = (candidate >> shift).min(0xffff) << shift;
        if span > current && span - current >= threshold {
            span
        } else {
            current
        }
    }

    pub(crate) fn window_update_due(&self) -> bool {
        if !matches!(
            self.hot.state,
            State::Established | State::FinWait1 | State::FinWait2
        ) || self.hot.flags.get(Flags::RX_FIN_RECEIVED)
        {
            return false;
        }
        // As offsets from RCV.NXT (`window_span`).
        let current = self.rcv_adv.checked_since(self.rcv_nxt).unwrap_or(0);
        let grew = self.window_span() - current;
        grew > 0
            && (current == 0
                || grew >= (self.rx.capacity() / 2).min(2 * usize::from(self.local_mss)))
    }

    /// What the next segment would be (no timers fire here).
    fn plan(&self) -> Option<Plan> {
        self.plan_paced(false, 0)
    }

    /// `plan`, with new data held back when `paced` (the pacing clock has
    /// not reached the next release time). `tso_max` is the device's TSO
    /// limit (0: none, see `data_plan`); whether a plan exists does not
    /// depend on it, only how much data it carries.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    fn plan_paced(&self, paced: bool, tso_max: usize) -> Option<Plan> {
        if let Some(rst) = self.pending_rst() {
            return Some(Plan::Reset(rst));
        }
        match self.hot.state {
            State::Closed | State::Listen | State::TimeWait => {
                return self
                    .hot
                    .flags
                    .get(Flags::ACK_NOW)
                    .then_some(Plan::Ack)
                    .filter(|_| self.hot.state == State::TimeWait);
            }
            State::SynSent => {
                return (self.snd_nxt == self.iss).then_some(Plan::Syn);
            }
            State::SynReceived => {
                // Besides (re)sending our SYN, answer an unacceptable
                // segment with an ACK (§3.10.7.4): in a simultaneous open
                // the peer's SYN-ACK is unacceptable here, and this ACK is
                // what completes its handshake.
                if self.snd_nxt == self.iss {
                    return Some(Plan::Syn);
                }
                return self.hot.flags.get(Flags::ACK_NOW).then_some(Plan::Ack);
            }
            _ => {}
        }
        self.plan_synchronized(paced, tso_max)
    }

    /// `plan_paced` in the states that may carry data or ACKs
    /// (ESTABLISHED through LAST-ACK, but TIME-WAIT).
    ///
    /// On 64-bit hosts `plan_paced` is inlined and this is not: in the
    /// other states (a SYN, a SYN-ACK, TIME-WAIT's ACK, CLOSED) the plan
    /// is then a test or two without the call and register saves of the
    /// whole plan (about 170 instructions per connection in the
    /// connection-rate benchmark). One function on 32-bit targets, as
    /// before (flash, issue 9).
    #[cfg_attr(target_pointer_width = "64", inline(never))]
    #[cfg_attr(target_pointer_width = "32", inline(always))]
    fn plan_synchronized(&self, paced: bool, tso_max: usize) -> Option<Plan> {
        if !paced {
            if let Some(plan) = self.data_plan(tso_max) {
                return Some(plan);
            }
        }
        if self.keepalive_owed() {
            return Some(Plan::KeepAlive);
        }
        // New urgent data is announced at once, by a bare ACK when no data
        // can carry it (closed window, Nagle), as BSD does (§3.8.5).
        if self.hot.flags.get(Flags::ACK_NOW)
            || self.hot.acks_owed > 0
            || self.window_update_due()
            || self.urgent.announce_due()
        {
            return Some(Plan::Ack);
        }
        if self.persist_needed() && self.timers.persist.is_none() {
            return Some(Plan::ArmPersist);
        }
        None
    }

    /// Whether `plan_paced(paced, _)` has a plan, given that
    /// `reply_owed` said no (`poll_at`): then only a synchronized state's
    /// data, window update, urgent announcement or persist timer may be
    /// planned (`plan_synchronized`'s other plans, a RST, an ACK owed or
    /// a keep-alive probe, and every plan of the other states are what
    /// `reply_owed` tests).
    #[inline(always)]
    pub(super) fn plan_beyond_reply(&self, paced: bool) -> bool {
        matches!(
            self.hot.state,
            State::Established
                | State::FinWait1
                | State::FinWait2
                | State::CloseWait
                | State::Closing
                | State::LastAck
        ) && (!paced && self.data_plan(0).is_some()
            || self.window_update_due()
            || self.urgent.announce_due()
            || self.persist_needed() && self.timers.persist.is_none())
    }

    pub(crate) fn may_send_data(&self) -> bool {
        matches!(
            self.hot.state,
            State::Established
                | State::FinWait1
                | State::CloseWait
                | State::LastAck
                | State::Closing
        )
    }

    /// Our FIN is due now, whatever the windows: the send side was shut
    /// (`shutdown_send`), the FIN has not gone yet, everything queued before
    /// it has, and no pacing release holds segments back. `data_plan`
    /// then plans the FIN alone (`data_plan_full` sends a FIN without data
    /// whatever the windows), or a resend or probe that comes first, so
    /// `poll_at` is `PollAt::Now`; a `close` that ends a request-reply
    /// exchange knows its deadline without it.
    pub(crate) fn fin_due_now(&self) -> bool {
        self.may_send_data()
            && self.hot.flags.get(Flags::TX_CLOSED)
            && self.fin_seq().is_none()
            && self.snd_nxt - self.snd_una >= self.tx.len()
            && self.rec.next_send_at().is_none()
    }

    /// New data is due now: nothing is in flight and the peer's window
    /// and the congestion window both take everything queued, with no
    /// pacing release holding it back. `data_plan` then plans data (Nagle
    /// and sender SWS avoidance let a segment go when nothing is
    /// unacknowledged and it carries all that is queued, §3.7.4,
    /// §3.8.6.2.1; a full one always goes), or a resend, a tail loss probe
    /// or a window probe ahead of it, so `poll_at` is `PollAt::Now`.
    /// (`congestion_room` only grows with its limited-transmit allowance,
    /// so its value without one is a lower bound.)
    pub(crate) fn data_due_now(&self) -> bool {
        self.may_send_data()
            && self.flight() == 0
            && self.fin_seq().is_none()
            && !self.tx.is_empty()
            && self.rec.next_send_at().is_none()
            && self.tx.len() <= self.snd_wnd.min(self.congestion_room(0))
    }

    /// Unsent data waits for the window and nothing is in flight to bring
    /// an ACK that would open it: the persist timer must run (§3.8.6.1).
    // Inlined on 64-bit hosts: `plan_paced` asks it last, after nearly
    // every segment sent (about 20 instructions per connection); and on
    // 32-bit targets, where its one call site is smaller than the call
    // (minimal Cortex-M4 build −20 B, issue 9).
    #[inline(always)]
    fn persist_needed(&self) -> bool {
        self.may_send_data()
            && self.flight() == 0
            && !self.tx.is_empty()
            && self.timers.rtx.is_none()
            && self.data_plan(0).is_none()
    }

    /// Most payload one segment of new data may carry: `payload_mss`, or
    /// with segmentation offload (`tso_max`, the largest IPv4 packet the
    /// device segments, 0 for none) as many whole `payload_mss` as fit
    /// in it with the headers every piece repeats. Only new data in
    /// order may go as one such super-segment: not urgent data (the
    /// pointer would be copied into every piece, RFC 9293 §3.8.5 wants it
    /// in the segments before SND.UP only, and BSD-style stacks count it
    /// from each piece's own sequence number).
    ///
    /// Nor without SACK (not negotiated, or the `sack` feature compiled
    /// out): recovery then has only cumulative ACKs to go by, one lost
    /// piece per round trip, where SACK splits the segment's record
    /// (RFC 6675) and resends exactly the lost pieces. (A unit test of
    /// TSO without SACK first drew no fast retransmit at all; the cause was
    /// not TSO but limited transmit leaving the pipe above the reduced
    /// window in builds without PRR, fixed by `fast_rexmit_owed`. TSO
    /// without SACK has not been tested since, so it stays off.)
    #[cfg(feature = "tso")]
    fn new_data_limit(&self, payload_mss: usize, tso_max: usize) -> usize {
        if tso_max == 0 || !self.sack_enabled() || self.urgent.send_pointer(self.snd_nxt).is_some()
        {
            return payload_mss;
        }
        let headers = BASE_HEADERS_LEN + self.mss().saturating_sub(payload_mss);
        let mut room = tso_max.min(usize::from(u16::MAX)).saturating_sub(headers);
        if let Some(rate) = self.cc.pacing_rate().filter(|r| *r > 0) {
            if tso_max == super::SOFT_TSO {
                // Cut by the interface: nothing is saved below it, so
                // pacing keeps its one-segment steps.
                return payload_mss;
            }
            // A paced sender (BBR) sends about 1 ms of its rate per
            // super-segment, at least two segments, as Linux's
            // tcp_tso_autosize does: pacing accounts the whole burst, but
            // at low rates one 64 KiB burst would queue at the bottleneck
            // for tens of milliseconds.
            let per_ms = usize::try_from(rate / 1000).unwrap_or(usize::MAX);
            room = room.min(per_ms.max(2 * payload_mss));
        }
        (room / payload_mss).max(1) * payload_mss
    }

    /// Without the `tso` feature a segment carries at most one MSS,
    /// whatever the device offers.
    #[cfg(not(feature = "tso"))]
    fn new_data_limit(&self, payload_mss: usize, _tso_max: usize) -> usize {
        payload_mss
    }

    /// The next segment of data (or FIN), if any.
    ///
    /// Inlined on 64-bit hosts for its first test, which decides most
    /// calls (`data_plan_full` makes the plan): out of line, the call's
    /// frame for the window arithmetic cost more than the test in the
    /// common case, a `poll_at` or `send_next` with nothing to send
    /// (about 60 Ir per connection). On 32-bit targets one function as
    /// before (flash, issue 9).
    #[cfg_attr(target_pointer_width = "64", inline)]
    fn data_plan(&self, tso_max: usize) -> Option<Plan> {
        if !self.may_send_data() || self.fin_acked() {
            return None;
        }
        // Everything queued is out and nothing is to be resent: no plan,
        // or our FIN alone if it is to go (whatever the windows, as
        // `data_plan_full` plans it), decided before the window
        // arithmetic. The common case after most segments of a short
        // connection (its ACKs, its FIN exchange), where this plan runs
        // from `poll_at` too; the FIN after its last reply took the whole
        // plan until session 25 (−114 Ir per connection, issue 9).
        let fin_wanted = self.hot.flags.get(Flags::TX_CLOSED)
            && self.fin_seq().is_none_or(|f| self.snd_nxt <= f);
        let offset = self.snd_nxt - self.snd_una;
        if offset >= self.tx.len() && !self.rec.send_tlp() && self.rec.log.none_lost() {
            return (fin_wanted && offset == self.tx.len()).then_some(Plan::Data {
                seq: self.snd_nxt,
                len: 0,
                fin: true,
                probe: false,
            });
        }
        self.data_plan_full(tso_max, fin_wanted)
    }

    /// `data_plan` past its first test: something queued is not sent yet,
    /// or something is to be resent. (On 32-bit targets part of its
    /// one caller.)
    #[cfg_attr(target_pointer_width = "64", inline(never))]
    #[cfg_attr(target_pointer_width = "32", inline(always))]
    fn data_plan_full(&self, tso_max: usize, fin_wanted: bool) -> Option<Plan> {
        // A queue within `payload_mss_floor` fits one segment whatever
        // options it carries: the lone segment's plan is tried without
        // working the payload MSS out (a request or a reply, issue 9).
        #[cfg(target_pointer_width = "64")]
        let small = self.tx.len() <= self.payload_mss_floor();
        #[cfg(target_pointer_width = "64")]
        if small {
            if let Some(plan) = self.lone_segment_plan(fin_wanted) {
                // Fuzzing runs with debug assertions: it checks the shortcut.
                debug_assert_eq!(
                    Some(plan),
                    self.data_plan_steps(self.payload_mss(), tso_max, fin_wanted)
                );
                return Some(plan);
            }
        }
        let payload_mss = self.payload_mss();
        // The queue's length first, on its own: a bulk sender's full
        // buffer fails it at once (with the whole test first, or the MSS
        // worked out twice, bulk transfers paid about 13 instructions a
        // plan, issue 9).
        #[cfg(target_pointer_width = "64")]
        if !small && self.tx.len() <= payload_mss {
            if let Some(plan) = self.lone_segment_plan(fin_wanted) {
                // Fuzzing runs with debug assertions: it checks the shortcut.
                debug_assert_eq!(
                    Some(plan),
                    self.data_plan_steps(payload_mss, tso_max, fin_wanted)
                );
                return Some(plan);
            }
        }
        self.data_plan_steps(payload_mss, tso_max, fin_wanted)
    }

    /// A lower bound of `payload_mss` from the MSS alone: the options it
    /// takes off are at most 40 bytes of IP options (a source route,
    /// RFC 791) and 40 of TCP options (timestamps and three SACK blocks,
    /// or four SACK blocks without timestamps).
    #[cfg(target_pointer_width = "64")]
    #[inline(always)]
    fn payload_mss_floor(&self) -> usize {
        const MAX_OPTION_ROOM: usize = 40 + 40;
        let floor = self.mss().saturating_sub(MAX_OPTION_ROOM).max(1);
        debug_assert!(floor <= self.payload_mss());
        floor
    }

    /// `data_plan_full` when nothing at all is in flight (SND.UNA = SND.NXT
    /// = SND.MAX), nothing is to be resent or probed, no recovery runs, and
    /// everything queued fits in one segment (of `payload_mss`: the
    /// caller's test), the peer's window and the congestion window: the
    /// plan is then all of
    /// it, in one segment, with our FIN if it is wanted, and the steps'
    /// arithmetic (limited transmit, the congestion room, TSO's limit,
    /// Nagle and sender SWS avoidance, all of which let such a segment go:
    /// RFC 9293 §3.7.4, §3.8.6.2.1) need not run. A request or a reply of
    /// a short connection (issue 9). 64-bit hosts only (flash); `None`
    /// where it does not apply.
    #[cfg(target_pointer_width = "64")]
    #[inline(always)]
    fn lone_segment_plan(&self, fin_wanted: bool) -> Option<Plan> {
        let avail = self.tx.len();
        if self.snd_nxt != self.snd_una
            || self.snd_max != self.snd_una
            || avail == 0
            || avail > self.snd_wnd
            || self.hot.flags.get(Flags::RECOVERING)
            || self.hot.flags.get(Flags::FORCE_PROBE)
            || self.rec.log.lost_bytes() > 0
            || self.rec.send_tlp()
            || avail > self.congestion_room(0)
        {
            return None;
        }
        let len = self.tx.contiguous_at(0, avail).len();
        Some(Plan::Data {
            seq: self.snd_nxt,
            len,
            fin: fin_wanted && len == avail,
            probe: false,
        })
    }

    /// `data_plan_full`'s steps.
    #[inline(always)]
    fn data_plan_steps(
        &self,
        payload_mss: usize,
        tso_max: usize,
        fin_wanted: bool,
    ) -> Option<Plan> {
        // Limited transmit (RFC 3042): each of the first two duplicate ACKs
        // lets one new segment out beyond the congestion window.
        let limited = if !self.hot.flags.get(Flags::RECOVERING) && self.dup_acks < 3 {
            usize::from(self.dup_acks) * self.mss()
        } else {
            0
        };
        let room = self.congestion_room(limited);
        // Lost segments first, oldest first (RFC 6675 NextSeg rule 1).
        // (`lost_bytes` is zero exactly when `first_lost` finds none.)
        if self.rec.log.lost_bytes() > 0 && room > 0 {
            if let Some(plan) = self.lost_plan(payload_mss) {
                return Some(plan);
            }
        }
        let offset = self.snd_nxt - self.snd_una;
        if offset > self.tx.len() {
            // Only the FIN is beyond the data, and it was sent.
            return None;
        }
        let avail = self.tx.len() - offset;
        let usable = self.snd_wnd.saturating_sub(self.flight()).min(room);
        if self.rec.send_tlp() {
            if let Some(plan) = self.tlp_plan(offset, avail, payload_mss) {
                return Some(plan);
            }
        }
        if self.hot.flags.get(Flags::FORCE_PROBE) && avail > 0 {
            // Zero-window probe (§3.8.6.1): one byte regardless of the window.
            let len = usable.clamp(1, payload_mss).min(avail);
            let len = self.tx.contiguous_at(offset, len).len().max(1);
            return Some(Plan::Data {
                seq: self.snd_nxt,
                len,
                fin: false,
                probe: true,
            });
        }
        // More than one segment's worth may go as a super-segment; the
        // limit's arithmetic is skipped for the rest (a short connection's
        // every send).
        let len = avail.min(usable);
        let len = if len > payload_mss {
            len.min(self.new_data_limit(payload_mss, tso_max))
        } else {
            len
        };
        if len == 0 {
            if fin_wanted && avail == 0 {
                return Some(Plan::Data {
                    seq: self.snd_nxt,
                    len: 0,
                    fin: true,
                    probe: false,
                });
            }
            return None;
        }
        // Sender SWS avoidance (§3.8.6.2.1) with Nagle (§3.7.4): a full
        // segment goes; a short one only when nothing is unacknowledged (or
        // Nagle is off) and it is all there is or at least half the largest
        // window the peer has offered.
        // (With segmentation offload `len` may hold several.)
        let full = len >= payload_mss;
        let all_queued = len == avail;
        // Minshall's variant of Nagle: a short segment may go while full
        // ones are unacknowledged, as long as no other short one is.
        let nagle_ok = self.config.nodelay()
            || self.flight() == 0
            || self.urgent.sending_from(self.snd_nxt)
            || self.small_end().is_none_or(|end| self.snd_una >= end);
        let half_window = self.max_snd_wnd > 0 && len >= self.max_snd_wnd / 2;
        if !(full || nagle_ok && (all_queued || half_window)) {
            return None;
        }
        let mut sent = self.tx.contiguous_at(offset, len).len();
        if sent > payload_mss && sent % payload_mss != 0 {
            // A super-segment (segmentation offload) is one burst of full
            // segments, each passing the test above on its own. A short
            // last piece passes it only where a lone short segment sent
            // right after them would: it ends what is queued and Nagle
            // (Minshall's variant) lets it go; otherwise it waits, as it
            // would without offload.
            let tail_ok = sent == avail
                && (self.config.nodelay()
                    || self.small_end().is_none_or(|end| self.snd_una >= end));
            if !tail_ok {
                sent -= sent % payload_mss;
            }
        }
        let fin = fin_wanted && sent == avail;
        Some(Plan::Data {
            seq: self.snd_nxt,
            len: sent,
            fin,
            probe: false,
        })
    }

    /// `data_plan_full`'s first step when something is marked lost: the
    /// first lost record's resend. Out of line and cold on 64-bit hosts,
    /// with `tlp_plan`: a connection without loss never runs them, and
    /// inline their code sat between the steps it does run, spreading
    /// them over more 64-byte code lines (instruction cache;
    /// BENCHMARKS.md, "Session 17: connection rate").
    #[cfg_attr(target_pointer_width = "64", cold, inline(never))]
    fn lost_plan(&self, payload_mss: usize) -> Option<Plan> {
        let lost = self.rec.log.first_lost()?;
        self.resend_plan(lost.start, lost.end, payload_mss)
    }

    /// Tail loss probe (RFC 8985 §7.3): new data if the peer's window
    /// takes it, else the last segment again; the congestion window does
    /// not apply. `offset` and `avail` as in `data_plan_full`.
    #[cfg_attr(target_pointer_width = "64", cold, inline(never))]
    fn tlp_plan(&self, offset: usize, avail: usize, payload_mss: usize) -> Option<Plan> {
        let rwnd_room = self.snd_wnd.saturating_sub(self.flight());
        if avail > 0 && rwnd_room > 0 {
            let len = avail.min(payload_mss).min(rwnd_room);
            let len = self.tx.contiguous_at(offset, len).len();
            let fin_wanted = self.hot.flags.get(Flags::TX_CLOSED) && self.fin_seq().is_none();
            return Some(Plan::Data {
                seq: self.snd_nxt,
                len,
                fin: fin_wanted && len == avail,
                probe: false,
            });
        }
        let last = self.rec.log.last()?;
        let start = last.start.max(last.end - payload_mss.min(last.len()));
        self.resend_plan(start, last.end, payload_mss)
    }

    /// A retransmission of `[start, end)` (sequence space, possibly ending
    /// with our FIN): its first segment.
    fn resend_plan(&self, start: SeqNumber, end: SeqNumber, payload_mss: usize) -> Option<Plan> {
        let offset = start.checked_since(self.snd_una)?;
        let fin_in = self.fin_seq().is_some_and(|f| f < end && f >= start);
        let data_end = if fin_in { end - 1 } else { end };
        let want = (data_end - start).min(payload_mss);
        let len = self.tx.contiguous_at(offset, want).len();
        let fin = fin_in && start + len == data_end;
        (len > 0 || fin).then_some(Plan::Data {
            seq: start,
            len,
            fin,
            probe: false,
        })
    }
}

/// What of a super-segment's `plan` left when the interface cut it into
/// segments itself and the device took only the first `sent` payload bytes
/// (it ran out of transmit buffers): that part is committed as sent, the
/// rest stays queued, and the FIN, which rides on the last piece, only if
/// every piece left. A device doing the cutting takes all or nothing.
#[cfg(feature = "tso")]
fn partly_sent(plan: Plan, sent: usize) -> Plan {
    match plan {
        Plan::Data {
            seq,
            len,
            fin,
            probe,
        } if sent < len => Plan::Data {
            seq,
            len: sent,
            fin: fin && sent == len,
            probe,
        },
        _ => plan,
    }
}

/// Whether `len` octets of new data end in a short segment: not a whole
/// number of `payload_mss` segments (Nagle's "small segment", RFC 9293
/// §3.7.4). Without segmentation offload `len` never exceeds one segment,
/// so the common case needs no division.
fn is_short(len: usize, payload_mss: usize) -> bool {
    if len <= payload_mss {
        len != payload_mss
    } else {
        payload_mss == 0 || len % payload_mss != 0
    }
}

#[cfg(test)]
mod tests {
    use super::is_short;

    #[test]
    fn short_segments_match_the_remainder_rule() {
        for mss in [1usize, 536, 1448, 1460] {
            for len in 1..=4 * mss + 3 {
                assert_eq!(is_short(len, mss), len % mss != 0, "len {len} mss {mss}");
            }
        }
        assert!(is_short(5, 0), "no MSS: nothing is a whole segment");
    }
}
