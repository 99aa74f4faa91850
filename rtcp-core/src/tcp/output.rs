//! Deciding what to send, and the timers (RFC 9293 §3.8, RFC 6298, RFC 5681).
//!
//! `plan` is a pure function of the connection state: it says what the next
//! segment would be, or nothing. `poll_at` is "now" exactly when `plan` has
//! something, otherwise the earliest timer, so the interface never spins.
//! `dispatch` fires expired timers, asks `plan`, hands the segment to the
//! caller's emit function and commits the state change only if the segment
//! really left.

use super::clock::Tick;
use super::congestion::CongestionControl;
use super::ecn::EcnSegment;
use super::ip::IpParams;
use super::socket::{Flags, PendingReset, TcpSocket};
use super::{State, TcpError, TcpStats};
use crate::time::{Deadline, Duration, Instant};
use crate::wire::tcp::{SackBlock, MAX_SACK_BLOCKS};
use crate::wire::{SeqNumber, TcpFlags, TcpOptions, TcpRepr};

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

/// What one `dispatch_next` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dispatched {
    /// A segment left; there may be more.
    Sent,
    /// Nothing to send; the socket next needs attention at this time (what
    /// `poll_at` would say, found without planning a second time).
    Idle(PollAt),
    /// A segment left and nothing more is due: what `Sent` and then
    /// `Idle` from the next call would say, without that call's plan. (A
    /// zero-MSL TIME-WAIT whose ACK this was is CLOSED already, which the
    /// next call's timers would have done.)
    SentLast(PollAt),
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

    /// The right window edge we would advertise now, applying receiver-side
    /// silly window avoidance (§3.8.6.2.2) and never shrinking (§3.8.6).
    fn window_right_edge(&self) -> SeqNumber {
        let current = self.rcv_adv.max(self.rcv_nxt);
        let candidate = self.rcv_nxt + self.rx.window();
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
        let span = ((candidate - self.rcv_nxt) >> shift).min(0xffff) << shift;
        let edge = self.rcv_nxt + span;
        if edge > current && edge - current >= threshold {
            edge
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
        let edge = self.window_right_edge();
        let current = self.rcv_adv.max(self.rcv_nxt);
        let grew = edge - current;
        grew > 0
            && (current == self.rcv_nxt
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
        if let Some(plan) = self.data_plan(tso_max).filter(|_| !paced) {
            return Some(plan);
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
    // every segment sent (about 20 instructions per connection).
    #[cfg_attr(target_pointer_width = "64", inline(always))]
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
        // Everything queued is out, no FIN is to go, and nothing is to be
        // resent: no plan, decided before the window arithmetic. The
        // common case after most segments of a short connection (its ACKs,
        // its FIN exchange), where this plan runs from `poll_at` too.
        let fin_wanted = self.hot.flags.get(Flags::TX_CLOSED)
            && self.fin_seq().is_none_or(|f| self.snd_nxt <= f);
        if self.snd_nxt - self.snd_una >= self.tx.len()
            && !fin_wanted
            && !self.rec.send_tlp()
            && self.rec.log.none_lost()
        {
            return None;
        }
        self.data_plan_full(tso_max, fin_wanted)
    }

    /// `data_plan` past its first test: something is queued, a FIN is to
    /// go, or something is to be resent. (On 32-bit targets part of its
    /// one caller.)
    #[cfg_attr(target_pointer_width = "64", inline(never))]
    #[cfg_attr(target_pointer_width = "32", inline(always))]
    fn data_plan_full(&self, tso_max: usize, fin_wanted: bool) -> Option<Plan> {
        let payload_mss = self.payload_mss();
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
        if self.reply_owed() {
            return PollAt::Now;
        }
        let release = self.rec.next_send_at().get();
        if self.plan_paced(release.is_some(), 0).is_some() {
            return PollAt::Now;
        }
        if let Some(release) = release {
            if matches!(self.plan(), Some(Plan::Data { .. })) {
                return PollAt::Time(release);
            }
        }
        self.timer_poll_at()
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
    fn timer_poll_at(&self) -> PollAt {
        self.timer_deadline().map_or(PollAt::Ingress, PollAt::Time)
    }

    /// The deadline of `timer_poll_at`. Out of line on 32-bit targets,
    /// where a `PollAt` would be returned through memory and a `Deadline`
    /// comes back in registers.
    /// (Always inlined on 64-bit hosts, which keep one function.)
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    fn timer_deadline(&self) -> Deadline {
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
    fn handle_timers(&mut self, now: Instant, stats: &mut TcpStats) {
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
    fn keepalive_owed(&self) -> bool {
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

    /// The options of our SYN or SYN-ACK (RFC 9293 §3.2, RFC 7323, RFC 2018).
    #[inline(never)]
    fn syn_options(&self, now: Instant) -> TcpOptions {
        let offer_ws = self.config.window_scaling()
            && (self.hot.state == State::SynSent || self.snd_shift() > 0 || self.rcv_shift() > 0);
        let offer_ts = self.config.timestamps()
            && (self.hot.state == State::SynSent || self.hot.flags.get(Flags::TS_OK));
        TcpOptions {
            mss: Some(self.local_mss),
            window_scale: offer_ws.then(|| self.wanted_rcv_shift()),
            sack_permitted: self.config.sack()
                && (self.hot.state == State::SynSent || self.sack_enabled()),
            timestamp: offer_ts.then(|| (self.ts_now(now), self.ts_recent)),
            ..TcpOptions::default()
        }
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
                self.poll_at()
            } else {
                self.timer_poll_at()
            };
            return Ok(Dispatched::Idle(next));
        };
        if plan == Plan::ArmPersist {
            // RFC 9293 §3.8.6.1: the probes back off as retransmissions do
            // (RFC 6298 §5.5), here at most 64-fold, through the function
            // the retransmission timer uses.
            let rto = self.rto_backed_off(self.persist_backoff.min(6));
            self.timers.persist = self.timers.tick(now + rto, now);
            return Ok(Dispatched::Idle(self.poll_at()));
        }
        let (edge, window_field) = self.window_to_advertise(plan == Plan::Syn);
        #[cfg(feature = "tso")]
        let mut segment_size = 0;
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
                repr.seq_number = rst.seq;
                repr.window_len = 0;
                match rst.ack {
                    Some(ack) => {
                        repr.flags = TcpFlags::RST | TcpFlags::ACK;
                        repr.ack_number = ack;
                    }
                    None => {
                        repr.flags = TcpFlags::RST;
                        repr.ack_number = SeqNumber(0);
                    }
                }
            }
            Plan::Syn => {
                repr.seq_number = self.iss;
                repr.options = self.syn_options(now);
                if self.hot.state == State::SynSent {
                    repr.flags = TcpFlags::SYN;
                    repr.ack_number = SeqNumber(0);
                } else {
                    repr.flags = TcpFlags::SYN | TcpFlags::ACK;
                }
            }
            Plan::Data { seq, len, fin, .. } => {
                repr.seq_number = seq;
                self.add_options(now, &mut repr.options);
                let offset = seq - self.snd_una;
                repr.payload = self.tx.contiguous_at(offset, len);
                // Only `new_data_limit` makes a segment longer than one
                // MSS, and only one of data: the other plans (the
                // handshake, ACKs) skip working out the MSS (issue 9).
                #[cfg(feature = "tso")]
                {
                    let payload_mss = self.payload_mss();
                    if repr.payload.len() > payload_mss {
                        segment_size = payload_mss;
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
                self.add_options(now, &mut repr.options);
            }
            Plan::Ack => {
                repr.seq_number = self.pure_ack_seq();
                self.add_options(now, &mut repr.options);
            }
            Plan::ArmPersist => {}
        }
        if !matches!(plan, Plan::Reset(_) | Plan::Syn) {
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
        self.commit(now, plan, edge, stats);
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
            return Ok(Dispatched::SentLast(self.timer_poll_at()));
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
        let edge = self.window_right_edge();
        let span = edge - self.rcv_nxt;
        // The window in a SYN is never scaled (RFC 7323 §2.2).
        let shift = if syn { 0 } else { self.rcv_shift() };
        let field = (span >> shift).min(0xffff);
        (self.rcv_nxt + (field << shift), field as u16)
    }

    fn commit(&mut self, now: Instant, plan: Plan, edge: SeqNumber, stats: &mut TcpStats) {
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
            self.timers.last_send = self.timers.tick(now, now);
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
                    if self.rtt_sent().is_some() && self.timers.rtt_seq >= seq {
                        // Karn: a retransmitted segment may not be timed.
                        self.untime();
                    }
                } else if !self.hot.flags.get(Flags::TS_OK) && self.timing_none() && len > 0 {
                    self.time_segment(seq, now);
                }
                // (A super-segment's last piece may be the short one.)
                if len > 0 && seq >= self.snd_max && is_short(len, self.payload_mss()) {
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
            self.timers.last_send = self.timers.tick(now, now);
        }
    }

    fn arm_rtx(&mut self, now: Instant) {
        self.arm_rtx_with(now, None);
    }

    /// `arm_rtx`, with the current RTO when the caller has it already (the
    /// data segment's idle test: about 40 instructions a segment saved,
    /// issue 9).
    fn arm_rtx_with(&mut self, now: Instant, rto: Option<Duration>) {
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

/// Whether `len` octets of new data end in a short segment: not a whole
/// number of `payload_mss` segments (Nagle's "small segment", RFC 9293
/// §3.7.4). Without segmentation offload `len` never exceeds one segment,
/// so the common case needs no division.
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
