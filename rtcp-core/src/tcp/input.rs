//! "Segment arrives" (RFC 9293 §3.10.7), for sockets past LISTEN.
//! (In-order data on a quiet connection may take the shortcut in
//! `predict.rs` instead, with the same outcome.)
//!
//! The function bodies follow the RFC's order of checks so they can be read
//! side by side with it: SYN-SENT (§3.10.7.3), then for every other state
//! the sequence number check, RST, SYN, ACK, URG, text and FIN steps
//! (§3.10.7.4), with RFC 5961 (challenge ACKs), RFC 7323 (PAWS) and RFC 2018
//! (SACK) folded in where they belong.

use super::clock::{MsTick, Tick};
use super::socket::{saturate_mss, Flags, TcpSocket, DEFAULT_MSS};
use super::{Endpoint, State, TcpError, TcpStats};
use crate::time::{Duration, Instant};
use crate::wire::{SeqNumber, TcpFlags, TcpRepr};

/// The longest an ACK may be delayed, whatever the configuration: RFC 9293
/// §3.8.6.3 (MUST-40) allows anything under 0.5 s; the project's bound
/// (issue 3) is 200 ms, the classic BSD/Linux maximum.
const MAX_ACK_DELAY: Duration = Duration::from_millis(200);

/// Most immediate ACKs owed at once for out-of-order arrivals.
const MAX_ACKS_OWED: u8 = 16;

/// Largest window scale shift (RFC 7323 §2.3).
const MAX_WINDOW_SHIFT: u8 = 14;

impl<'a, const LOG: usize> TcpSocket<'a, LOG> {
    /// A SYN arrived for a listener and this (free) socket becomes the child
    /// connection in SYN-RECEIVED (§3.10.7.2, third check).
    #[allow(clippy::too_many_arguments)]
    // Inlined on 32-bit targets into its one caller, `listen_input`
    // (flash, issue 9: minimal Cortex-M4 build −32 B).
    #[cfg_attr(target_pointer_width = "32", inline(always))]
    pub(crate) fn accept_syn(
        &mut self,
        now: Instant,
        local: Endpoint,
        remote: Endpoint,
        seg: &TcpRepr,
        iss: SeqNumber,
        ts_offset: u32,
        local_mss: usize,
    ) {
        self.reset();
        self.forget_past();
        self.local = local;
        self.remote = remote;
        self.local_mss = saturate_mss(local_mss);
        self.rcv_nxt = seg.seq_number + 1;
        self.rcv_adv = self.rcv_nxt;
        self.last_ack_sent = self.rcv_nxt;
        self.iss = iss;
        self.snd_una = iss;
        self.snd_nxt = iss;
        self.snd_max = iss;
        self.ts_offset = ts_offset;
        self.negotiate_options(seg);
        self.ecn_on_syn(seg);
        // The window in a SYN is never scaled (RFC 7323 §2.2).
        self.snd_wnd = usize::from(seg.window_len);
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = seg.seq_number;
        self.snd_wl2 = iss;
        self.hot.state = State::SynReceived;
        self.timers.stall_since = self.timers.stamp_ms(now);
        self.arm_keepalive(now);
        // Text on a SYN to a listener is not taken here: the SYN-ACK
        // acknowledges the SYN alone (§3.10.7.2 LISTEN, <ACK=RCV.NXT> with
        // RCV.NXT = SEG.SEQ+1), and the peer resends the text once
        // established, as it does to FreeBSD and Linux without TFO.
    }

    /// Queue the text that came with a SYN (it starts at SEG.SEQ + 1).
    fn take_syn_text(&mut self, now: Instant, seg: &TcpRepr, stats: &mut TcpStats) {
        if seg.payload.is_empty() {
            return;
        }
        let text = TcpRepr {
            seq_number: seg.seq_number + 1,
            flags: TcpFlags::ACK,
            ..*seg
        };
        self.receive_text(now, &text, stats);
    }

    /// Record what the peer's SYN offered and settle what both sides use.
    fn negotiate_options(&mut self, seg: &TcpRepr) {
        let opts = &seg.options;
        // MSS (RFC 9293 §3.7.1): 536 when absent (MUST-15).
        self.remote_mss = opts.mss.filter(|&m| m > 0).unwrap_or(DEFAULT_MSS as u16);
        // Window scaling only when both sides offer it (RFC 7323 §2.2).
        match opts.window_scale {
            Some(shift) if self.config.window_scaling() => {
                self.set_snd_shift(shift.min(MAX_WINDOW_SHIFT));
                self.set_rcv_shift(self.wanted_rcv_shift());
                self.hot.flags.set(Flags::WS_OK, true);
            }
            _ => {
                self.set_snd_shift(0);
                self.set_rcv_shift(0);
                self.hot.flags.set(Flags::WS_OK, false);
            }
        }
        #[cfg(feature = "sack")]
        {
            self.hot
                .flags
                .set(Flags::SACK_OK, self.config.sack() && opts.sack_permitted);
        }
        match opts.timestamp {
            Some((tsval, _)) if self.config.timestamps() => {
                self.hot.flags.set(Flags::TS_OK, true);
                self.ts_recent = tsval;
            }
            _ => self.hot.flags.set(Flags::TS_OK, false),
        }
        self.cc
            .restart(self.config.congestion, self.mss(), self.last_rx());
    }

    /// The shift that lets the whole receive buffer be advertised.
    pub(crate) fn wanted_rcv_shift(&self) -> u8 {
        let mut shift = 0u8;
        while shift < MAX_WINDOW_SHIFT && (self.rx.capacity() >> shift) > 0xffff {
            shift += 1;
        }
        shift
    }

    /// Process one segment addressed to this connection. `local_mss` is the
    /// MSS the interface can carry.
    pub(crate) fn process(&mut self, now: Instant, seg: &TcpRepr, stats: &mut TcpStats) {
        match self.hot.state {
            State::Closed | State::Listen => {}
            State::SynSent => self.process_syn_sent(now, seg, stats),
            State::LastAck if self.last_ack_closes(seg) => self.finish(),
            _ => {
                // `take_predicted` changes nothing when it declines.
                #[cfg(feature = "header-prediction")]
                if self.config.header_prediction() && self.take_predicted(now, seg) {
                    crate::count(&mut stats.predicted);
                    return;
                }
                self.process_synchronized(now, seg, stats);
            }
        }
    }

    /// RFC 9293 §3.10.7.3, SYN-SENT.
    ///
    /// Out of line on 32-bit targets: one caller, and the whole input path
    /// it was inlined into came out larger (Cortex-M4 −24 to −60 B, issue 9).
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    fn process_syn_sent(&mut self, now: Instant, seg: &TcpRepr, stats: &mut TcpStats) {
        let flags = seg.flags;
        // First: the ACK bit.
        if flags.ack() {
            let ack = seg.ack_number;
            if ack <= self.iss || ack > self.snd_max {
                // Unacceptable ACK: <SEQ=SEG.ACK><CTL=RST> unless it is a RST.
                if !flags.rst() {
                    self.set_pending_rst(Some(ack));
                }
                return;
            }
        }
        // Second: the RST bit. Acceptable only if it acknowledges our SYN
        // (RFC 5961 §3.2 leaves SYN-SENT to the ACK test above).
        if flags.rst() {
            if flags.ack() {
                self.fail(TcpError::ConnectionRefused, false);
            }
            return;
        }
        // Fourth: the SYN bit.
        if !flags.syn() {
            return;
        }
        self.rcv_nxt = seg.seq_number + 1;
        self.rcv_adv = self.rcv_nxt;
        self.negotiate_options(seg);
        if flags.ack() {
            self.ecn_on_syn_ack(seg);
            self.snd_una = seg.ack_number;
        } else {
            self.ecn_on_syn(seg);
        }
        if self.snd_una > self.iss {
            // Our SYN is acknowledged: ESTABLISHED, and ACK the peer's SYN.
            self.hot.state = State::Established;
            self.snd_nxt = self.snd_nxt.max(self.snd_una);
            // SND.WND <- SEG.WND (unscaled in a SYN), SND.WL1/WL2 (§3.10.7.3).
            self.snd_wnd = usize::from(seg.window_len);
            self.max_snd_wnd = self.snd_wnd;
            self.snd_wl1 = seg.seq_number;
            self.snd_wl2 = seg.ack_number;
            self.on_handshake_rtt(now, seg);
            self.timers.rtx = Tick::NONE;
            self.timers.stall_since = MsTick::NONE;
            self.rto_retries = 0;
            self.rtt.reset_backoff();
            self.hot.flags.set(Flags::ACK_NOW, true);
            self.arm_keepalive(now);
            if self.hot.flags.get(Flags::TX_CLOSED) {
                // The user shut down while the handshake was in progress.
                self.hot.state = State::FinWait1;
            }
            // "Continue processing at the sixth step": text and FIN that
            // came with the SYN-ACK are taken, not left for a resend.
            self.take_syn_text(now, seg, stats);
            if seg.flags.fin() {
                self.set_rcv_fin(seg.seq_number + 1 + seg.payload.len());
                self.consume_fin_if_due(now);
            }
        } else {
            // Simultaneous open: SYN-RECEIVED, send <SYN,ACK> (same ISS).
            self.hot.state = State::SynReceived;
            self.snd_wnd = usize::from(seg.window_len);
            self.max_snd_wnd = self.snd_wnd;
            self.snd_wl1 = seg.seq_number;
            // Resend our SYN, now with the ACK.
            self.snd_nxt = self.iss;
            self.timers.rtx = Tick::NONE;
            // §3.10.7.3: "If there are other controls or text in the
            // segment, queue them for processing after the ESTABLISHED state
            // has been reached." The text waits in the receive buffer (our
            // <SYN,ACK> acknowledges the SYN alone); a FIN is not queued: it
            // is not acknowledged, so the peer sends it again.
            // At most the payload of one IPv4 datagram: below 2^16.
            let n = self.rx.write_unallocated(0, seg.payload);
            self.syn_text = u16::try_from(n).unwrap_or(u16::MAX);
        }
    }

    fn on_handshake_rtt(&mut self, now: Instant, seg: &TcpRepr) {
        // Karn: only time the SYN if it was not retransmitted.
        let (sent, seq) = (self.rtt_sent().get(), self.rtt_seq());
        self.untime();
        if let Some(sent) = sent {
            if seg.ack_number > seq {
                self.rtt.sample(now - sent);
            }
        } else if let (true, Some((_, ecr))) =
            (self.hot.flags.get(Flags::TS_OK), seg.options.timestamp)
        {
            self.sample_ts_rtt(now, ecr);
        }
    }

    /// Our receive window as of the last segment sent (RCV.WND).
    fn rcv_wnd(&self) -> usize {
        self.rcv_adv.checked_since(self.rcv_nxt).unwrap_or(0)
    }

    /// Whether an unacceptable zero-length segment may be answered with an
    /// ACK now. Two ends that each find the other's ACKs unacceptable
    /// would otherwise ACK each other as fast as the link allows; like
    /// Linux (`tcp_invalid_ratelimit`), we answer at most one such segment
    /// per 500 ms per connection. Segments with data are always answered:
    /// they are not part of an ACK loop and their sender needs the ACK.
    fn oow_ack_allowed(&mut self, now: Instant) -> bool {
        const OOW_ACK_INTERVAL: Duration = Duration::from_millis(500);
        if self
            .timers
            .get(self.timers.last_oow_ack)
            .is_some_and(|last| now - last < OOW_ACK_INTERVAL)
        {
            return false;
        }
        self.timers.last_oow_ack = self.timers.stamp(now);
        true
    }

    /// Send a challenge ACK, within the per-connection rate limit (RFC 5961 §7).
    fn challenge_ack(&mut self, now: Instant, stats: &mut TcpStats) {
        if now - self.timers.instant(self.timers.challenge_epoch) >= Duration::from_secs(1) {
            self.timers.challenge_epoch = self.timers.stamp(now);
            self.challenge_tokens = self.config.challenge_ack_limit;
        }
        if self.challenge_tokens > 0 {
            self.challenge_tokens -= 1;
            self.hot.flags.set(Flags::ACK_NOW, true);
            crate::count(&mut stats.challenge_acks);
        }
    }

    /// RFC 9293 §3.10.7.4, every state from SYN-RECEIVED on.
    fn process_synchronized(&mut self, now: Instant, seg: &TcpRepr, stats: &mut TcpStats) {
        let flags = seg.flags;
        let seg_len = seg.payload.len() + usize::from(flags.syn()) + usize::from(flags.fin());

        // RFC 7323 §5.3 PAWS, before the sequence number check.
        if self.hot.flags.get(Flags::TS_OK) && !flags.rst() {
            if let Some((tsval, _)) = seg.options.timestamp {
                if (tsval.wrapping_sub(self.ts_recent) as i32) < 0 {
                    crate::count(&mut stats.paws_dropped);
                    self.hot.flags.set(Flags::ACK_NOW, true);
                    return;
                }
            }
        }

        // First: sequence number check (§3.10.7.4, the four cases).
        let wnd = self.rcv_wnd();
        let seq = seg.seq_number;
        let acceptable = match (seg_len, wnd) {
            (0, 0) => seq == self.rcv_nxt,
            // The table says RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND. For a
            // plain ACK we also take SEG.SEQ = RCV.NXT+RCV.WND: a peer that
            // filled our window and lost it all sends its ACKs exactly
            // there, and they carry nothing to store; refusing them can
            // lock both ends into ACKing each other (BSD and Linux accept
            // them too). A RST there stays unacceptable (RFC 5961 §3.2).
            (0, _) if !flags.rst() => seq.in_range_inclusive(self.rcv_nxt, self.rcv_nxt + wnd),
            (0, _) => seq.in_range(self.rcv_nxt, self.rcv_nxt + wnd),
            (_, 0) => false,
            (_, _) => {
                seq.in_range(self.rcv_nxt, self.rcv_nxt + wnd)
                    || (seq + (seg_len - 1)).in_range(self.rcv_nxt, self.rcv_nxt + wnd)
            }
        };
        // A zero-window probe carrying data at RCV.NXT is still ACKed (the
        // ACK tells the current window); RST segments are never ACKed.
        if !acceptable {
            if wnd == 0 && seq == self.rcv_nxt && !flags.rst() && !flags.syn() {
                // "If the RCV.WND is zero, no segments will be acceptable,
                // but special allowance should be made to accept valid
                // ACKs, URGs, and RSTs" (§3.10.7.4; MUST-66): of a segment
                // at RCV.NXT (a zero-window probe) the ACK and the urgent
                // pointer are still taken; only the text is refused. The
                // ACK matters: if the probe's sender believes our window is
                // closed, this is how it learns its own probes were taken.
                if flags.ack() && !self.process_ack(now, seg, stats) {
                    return;
                }
                if flags.urg() {
                    self.receive_urgent(seg);
                }
            }
            crate::count(&mut stats.unacceptable);
            if !flags.rst() {
                if seg_len > 0 || self.oow_ack_allowed(now) {
                    self.hot.flags.set(Flags::ACK_NOW, true);
                }
                if !seg.payload.is_empty() && seq + seg.payload.len() <= self.rcv_nxt {
                    // Old data again: report it in a D-SACK (RFC 2883).
                    self.note_duplicate(seq, seq + seg.payload.len());
                }
                if self.hot.state == State::TimeWait {
                    self.restart_time_wait(now);
                }
            }
            return;
        }

        // Second: the RST bit (RFC 5961 §3.2: exactly RCV.NXT resets,
        // anything else in the window draws a challenge ACK).
        if flags.rst() {
            if seq != self.rcv_nxt {
                self.challenge_ack(now, stats);
                return;
            }
            match self.hot.state {
                State::SynReceived => {
                    // Passive open goes back to LISTEN: for us the child is
                    // dropped. An active open was refused.
                    self.fail(TcpError::ConnectionRefused, false);
                }
                State::Established
                | State::FinWait1
                | State::FinWait2
                | State::CloseWait
                | State::Closing
                | State::LastAck => {
                    // §3.10.7.4 only says "enter CLOSED" for CLOSING and
                    // LAST-ACK, but the application may still hold the
                    // socket (after shutdown) and the connection did not
                    // end gracefully: MUST-12, tell it (ECONNRESET).
                    self.fail(TcpError::ConnectionReset, false);
                }
                _ => {
                    // TIME-WAIT: both sides are done; just close.
                    self.finish();
                }
            }
            return;
        }

        // Fourth: a SYN in a synchronized state (RFC 5961 §4): challenge ACK.
        // (In SYN-RECEIVED a retransmitted SYN of the peer is answered the
        // same way: the ACK carries our SYN's acknowledgment state.)
        if flags.syn() {
            // (IRS is RCV.NXT - 1 in SYN-RECEIVED: see `TcpSocket`.)
            if self.hot.state == State::SynReceived && seq + 1 == self.rcv_nxt {
                // Retransmitted SYN: resend our SYN-ACK.
                self.snd_nxt = self.iss;
                return;
            }
            self.challenge_ack(now, stats);
            return;
        }

        // Fifth: the ACK field.
        if !flags.ack() {
            return;
        }
        if !self.process_ack(now, seg, stats) {
            return;
        }
        if self.hot.state == State::TimeWait && seq != self.rcv_nxt {
            // §3.10.7.4 TIME-WAIT: what arrives here is taken for a resent
            // FIN and acknowledged. A segment beyond RCV.NXT is not the
            // peer's current state (as with out-of-order data, RFC 5681
            // §4.2): tell it ours. One at RCV.NXT (a bare ACK of our FIN)
            // needs no answer.
            self.hot.flags.set(Flags::ACK_NOW, true);
        }

        self.update_ts_recent(seg);
        self.arm_keepalive(now);
        // RFC 3168 §6.1.3: CWR and CE, once the segment is known acceptable.
        self.ecn_on_segment(seg);

        // Sixth: URG (§3.10.7.4): RCV.UP <- max(RCV.UP, SEG.UP) and signal
        // the user once per run of urgent data. The urgent octets stay
        // inline (RFC 6093 §5); see `urgent.rs`.
        if flags.urg() {
            self.receive_urgent(seg);
        }

        // Seventh: segment text.
        if !seg.payload.is_empty() {
            match self.hot.state {
                State::Established | State::FinWait1 | State::FinWait2 => {
                    self.receive_text(now, seg, stats);
                }
                _ => {
                    // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: the peer
                    // already sent a FIN; ignore the text.
                }
            }
        }

        // Eighth: FIN.
        if flags.fin() {
            let fin_at = seq + seg.payload.len();
            if fin_at == self.rcv_nxt || self.rcv_fin() == Some(fin_at) {
                self.set_rcv_fin(fin_at);
            } else if fin_at > self.rcv_nxt {
                // FIN beyond a hole: remember it until the hole fills.
                self.set_rcv_fin(fin_at);
                self.hot.flags.set(Flags::ACK_NOW, true);
            }
        }
        self.consume_fin_if_due(now);
    }

    /// The URG step (§3.10.7.4 sixth check). In CLOSE-WAIT, CLOSING,
    /// LAST-ACK and TIME-WAIT the peer has sent its FIN: the URG is ignored.
    fn receive_urgent(&mut self, seg: &TcpRepr) {
        if matches!(
            self.hot.state,
            State::Established | State::FinWait1 | State::FinWait2
        ) {
            let read = self.rcv_nxt - self.rx.len();
            self.urgent
                .on_segment(seg.seq_number, seg.urgent_pointer, read);
        }
    }

    /// LAST-ACK: a bare ACK of our FIN, next in sequence, ends the
    /// connection (§3.10.7.4), and nothing of RFC 9293's steps has anything
    /// else to do that outlives it. PAWS (RFC 7323 §5.3) passes, the
    /// sequence check takes a zero-length segment at RCV.NXT whatever the
    /// window, no RST or SYN bit is set, and SEG.ACK = SND.MAX is
    /// acceptable (RFC 5961 §5.2); the ACK step then acknowledges the FIN
    /// and calls `finish` before any later step. What it would have
    /// updated on the way (RTT, timers, send log, congestion window, send
    /// window) `finish` resets, or the table frees with an orphan at once;
    /// without SACK blocks, recovery, an undo mark or marks in the send log
    /// it counts no statistic either. So the segment goes straight to
    /// `finish`: the last ACK of every connection that closes second
    /// (about 460 instructions, issue 9). Not on 32-bit targets (flash).
    #[inline(always)]
    fn last_ack_closes(&self, seg: &TcpRepr) -> bool {
        cfg!(target_pointer_width = "64")
            && seg.flags == TcpFlags::ACK
            && seg.ack_number == self.snd_max
            && seg.seq_number == self.rcv_nxt
            && seg.payload.is_empty()
            && self.hot.flags.get(Flags::FIN_SENT)
            && seg.options.sack_count == 0
            && !self.hot.flags.get(Flags::RECOVERING)
            && self.paws_passes(seg)
            && self.rec.undo_until().is_none()
            && self.rec.nothing_marked_or_probed()
    }

    /// The ACK step (§3.10.7.4 fifth check). Returns false when the segment
    /// is to be dropped.
    fn process_ack(&mut self, now: Instant, seg: &TcpRepr, stats: &mut TcpStats) -> bool {
        let ack = seg.ack_number;
        // RFC 5961 §5.2: acceptable if SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT.
        let lower = self.snd_una - self.max_snd_wnd.max(1);
        if ack > self.snd_max || ack < lower {
            self.hot.flags.set(Flags::ACK_NOW, true);
            if self.hot.state == State::SynReceived {
                self.set_pending_rst(Some(ack));
                self.hot.flags.set(Flags::ACK_NOW, false);
            }
            return false;
        }

        if cfg!(target_pointer_width = "64") && self.orphan_fin_acked(seg) {
            self.take_orphan_fin_ack(now, seg);
            return true;
        }

        if self.hot.state == State::SynReceived {
            // §3.10.7.4 SYN-RECEIVED: SND.UNA < SEG.ACK =< SND.NXT enters
            // ESTABLISHED; otherwise <SEQ=SEG.ACK><CTL=RST>.
            if ack > self.snd_una {
                self.hot.state = State::Established;
                self.snd_wnd = usize::from(seg.window_len) << self.snd_shift();
                self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
                self.snd_wl1 = seg.seq_number;
                self.snd_wl2 = ack;
                // One ACK, one RTT sample (RFC 6298 §2.2): `on_new_ack`
                // below samples this ACK's timestamp echo (RFC 7323 §4),
                // so the timed SYN-ACK is only untimed here; without an
                // echo the handshake's own sample is the one.
                if self.hot.flags.get(Flags::TS_OK)
                    && seg.options.timestamp.is_some_and(|(_, ecr)| ecr != 0)
                {
                    self.untime();
                } else {
                    self.on_handshake_rtt(now, seg);
                }
                let syn_text = usize::from(self.syn_text);
                if syn_text > 0 {
                    // The text queued with a simultaneous-open SYN is taken
                    // now (§3.10.7.3), as if it had just arrived in order.
                    self.rx.enqueue_unallocated(syn_text);
                    self.rcv_nxt += syn_text;
                    self.unacked_bytes += syn_text;
                    self.hot.unacked_segs = self.hot.unacked_segs.saturating_add(1);
                    self.syn_text = 0;
                    match self.config.ack_delay() {
                        Some(delay) if self.timers.ack.is_none() => {
                            self.timers.ack = self.timers.tick(now + delay.min(MAX_ACK_DELAY), now);
                        }
                        Some(_) => {}
                        None => self.hot.flags.set(Flags::ACK_NOW, true),
                    }
                }
                if self.hot.flags.get(Flags::TX_CLOSED) {
                    // The user closed during the handshake.
                    self.hot.state = State::FinWait1;
                }
            } else {
                self.set_pending_rst(Some(ack));
                return false;
            }
        }

        let was_una = self.snd_una;
        let window = usize::from(seg.window_len) << self.snd_shift();
        // RFC 5681 §2 duplicate ACK: no data, no window change, data
        // outstanding, SYN/FIN clear. A window change does not disqualify an
        // ACK carrying SACK blocks: those report new out-of-order arrivals,
        // which is what a duplicate ACK means (RFC 6675 §2), and the
        // receiving application may have read meanwhile.
        let duplicate = ack == self.snd_una
            && self.snd_max > self.snd_una
            && seg.payload.is_empty()
            && !seg.flags.fin()
            && (window == self.snd_wnd || seg.options.sack_count > 0);
        if ack > self.snd_una {
            self.on_new_ack(now, seg, ack);
        }
        if self.hot.state.is_synchronized() {
            self.on_ack_for_recovery(now, seg, was_una, duplicate, stats);
        }

        if was_una <= ack {
            self.update_send_window(seg);
        }
        if window == 0 && ack == self.snd_una && self.snd_max > self.snd_una {
            // The peer answers our zero-window probe: it is alive, so the
            // stall does not count toward the user timeout (§3.8.6.1,
            // MUST-37: stay open as long as probes are acknowledged). The
            // clock restarts with the next probe, so a peer that vanishes
            // while its window is closed is still detected.
            self.timers.stall_since = MsTick::NONE;
        }

        // State-specific ACK processing.
        let fin_acked = self.fin_acked();
        match self.hot.state {
            State::FinWait1 if fin_acked => {
                self.hot.state = State::FinWait2;
            }
            State::Closing if fin_acked => {
                self.enter_time_wait(now);
            }
            State::LastAck if fin_acked => {
                self.finish();
                return false;
            }
            State::TimeWait if seg.flags.fin() => {
                // A retransmitted FIN: ACK it and restart the 2 MSL wait.
                self.hot.flags.set(Flags::ACK_NOW, true);
                self.restart_time_wait(now);
            }
            _ => {}
        }
        true
    }

    /// An acceptable ACK (RFC 5961 §5.2, tested first) that acknowledges
    /// the FIN of an orphan (`Flags::ORPHANED`: no application holds the
    /// socket) in FIN-WAIT-1 or CLOSING, with no SACK blocks, no recovery,
    /// no undo mark and nothing marked or probed in the send log (what
    /// `on_ack_for_recovery` calls clean: it counts no statistic), and no
    /// persist timer running. From here the connection sends nothing but
    /// ACKs (FIN-WAIT-2, TIME-WAIT), and no one can ask it for its RTT,
    /// congestion window or send window: `take_orphan_fin_ack` does only
    /// what the rest of its life reads. Not on 32-bit targets (flash).
    #[inline(always)]
    pub(super) fn orphan_fin_acked(&self, seg: &TcpRepr) -> bool {
        let flags = self.hot.flags;
        flags.get(Flags::ORPHANED)
            && flags.get(Flags::FIN_SENT)
            && !flags.get(Flags::RECOVERING)
            && matches!(self.hot.state, State::FinWait1 | State::Closing)
            && seg.ack_number == self.snd_max
            && seg.ack_number > self.snd_una
            && seg.options.sack_count == 0
            && self.rec.nothing_marked_or_probed()
            && self.rec.undo_until().is_none()
            && self.timers.persist.is_none()
    }

    /// The ACK step for `orphan_fin_acked`: everything sent is
    /// acknowledged, so SND.UNA moves to SND.MAX, the send buffer and log
    /// empty, and every send-side timer stops (RFC 6298 §5.2; the tail
    /// loss probe and RACK's timer, RFC 8985), as the full step leaves
    /// them; then FIN-WAIT-1 goes to FIN-WAIT-2 and CLOSING to TIME-WAIT
    /// (§3.10.7.4). The send window is updated as the full step updates
    /// it: MAX.SND.WND still bounds which later ACKs are acceptable (RFC
    /// 5961 §5.2). What the full step would also update (the RTT estimate,
    /// RACK's and the rate samples' records, the congestion window) is
    /// never read again: nothing more is sent but ACKs, whose sequence
    /// number is SND.MAX (`pure_ack_seq`), and no handle exists to
    /// inspect it. The connection-rate
    /// benchmark's server, which closes first, takes this for the
    /// client's FIN (issue 9).
    #[cold]
    #[inline(never)]
    fn take_orphan_fin_ack(&mut self, now: Instant, seg: &TcpRepr) {
        let ack = seg.ack_number;
        self.hot.soft_error = None;
        self.rto_retries = 0;
        self.urgent.on_ack(ack);
        let syn_part = usize::from(self.snd_una == self.iss);
        let data_acked = (ack - self.snd_una)
            .saturating_sub(syn_part)
            .min(self.tx.len());
        self.tx.dequeue_allocated(data_acked);
        self.snd_una = ack;
        self.snd_nxt = self.snd_nxt.max(ack);
        self.timers.rtx = Tick::NONE;
        self.timers.stall_since = MsTick::NONE;
        debug_assert!(self.rec.log.iter().all(|r| r.end <= ack));
        self.rec.log.clear();
        #[cfg(feature = "rack")]
        {
            self.rec.tlp_deadline = crate::time::Deadline::NONE;
            self.rec.rack_deadline = crate::time::Deadline::NONE;
        }
        self.dup_acks = 0;
        // SEG.ACK > the old SND.UNA: the full step's window update applies.
        self.update_send_window(seg);
        self.ecn_on_ack(now, seg);
        debug_assert!(self.fin_acked());
        if self.hot.state == State::FinWait1 {
            self.hot.state = State::FinWait2;
        } else {
            self.enter_time_wait(now);
        }
    }

    fn on_new_ack(&mut self, now: Instant, seg: &TcpRepr, ack: SeqNumber) {
        let acked = ack - self.snd_una;
        // Progress: an earlier ICMP soft error no longer applies, the count
        // toward R1 starts again, and urgent mode may be over.
        self.hot.soft_error = None;
        self.rto_retries = 0;
        self.urgent.on_ack(ack);
        // Remove acknowledged data from the send buffer. The SYN and the FIN
        // occupy sequence space but no buffer space.
        let syn_part = usize::from(self.snd_una == self.iss);
        let data_acked = acked.saturating_sub(syn_part).min(self.tx.len());
        self.tx.dequeue_allocated(data_acked);
        self.snd_una = ack;
        if self.snd_nxt < ack {
            // After an RTO rewind the peer may acknowledge past SND.NXT.
            self.snd_nxt = ack;
        }

        // RTT: timestamps (RFC 7323 §4) or one timed segment (Karn's rule).
        if let (true, Some((_, ecr))) = (self.hot.flags.get(Flags::TS_OK), seg.options.timestamp) {
            if ecr != 0 {
                self.sample_ts_rtt(now, ecr);
            }
        } else if let Some(sent) = self.rtt_sent().get() {
            if ack > self.rtt_seq() {
                self.rtt.sample(now - sent);
                self.untime();
            }
        }
        // No backoff reset here: Karn's algorithm keeps the backed-off RTO
        // until a segment that was not retransmitted is timed (`sample`
        // resets it), RFC 6298 §5 and MUST-18.

        // RFC 6298 §5.2/5.3: stop the timer when all is acked, else restart.
        if self.snd_una >= self.snd_max {
            self.timers.rtx = Tick::NONE;
            self.timers.stall_since = MsTick::NONE;
        } else {
            self.timers.rtx = self.timers.tick(now + self.rto(), now);
            self.timers.stall_since = self.timers.stamp_ms(now);
        }
    }

    fn sample_ts_rtt(&mut self, now: Instant, ecr: u32) {
        let now_ts = self.ts_now(now);
        let ms = now_ts.wrapping_sub(ecr);
        // Ignore echoes from the future or absurdly old ones.
        if (ms as i32) >= 0 && ms < 60_000 {
            // Millisecond clock: count a same-millisecond echo as 1 ms.
            self.rtt.sample(Duration::from_millis(u64::from(ms.max(1))));
        }
    }

    /// Our TSval clock: milliseconds plus a per-connection offset (RFC 7323 §5.4).
    pub(crate) fn ts_now(&self, now: Instant) -> u32 {
        (now.total_millis() as u32).wrapping_add(self.ts_offset)
    }

    /// Seventh step: queue in-window text in the receive buffer.
    fn receive_text(&mut self, now: Instant, seg: &TcpRepr, stats: &mut TcpStats) {
        let mut seq = seg.seq_number;
        let mut payload = seg.payload;
        // Trim what we already have (the front), and what exceeds the window.
        let mut duplicate = false;
        if seq < self.rcv_nxt {
            let skip = self.rcv_nxt - seq;
            self.note_duplicate(seq, self.rcv_nxt);
            duplicate = true;
            payload = payload.get(skip..).unwrap_or(&[]);
            seq = self.rcv_nxt;
        }
        let offset = seq - self.rcv_nxt;
        let room = self.rx.window();
        if offset >= room {
            self.hot.flags.set(Flags::ACK_NOW, true);
            return;
        }
        let payload = payload
            .get(..payload.len().min(room - offset))
            .unwrap_or(&[]);
        if payload.is_empty() {
            // A duplicate: ACK at once so the peer stops retransmitting.
            self.hot.flags.set(Flags::ACK_NOW, true);
            return;
        }
        if offset == 0 && !duplicate && self.assembler.is_empty() {
            // In order with nothing held out of order: what the assembler
            // would do (take the bytes, advance by all of them, stay empty)
            // without asking it. Most data takes this branch; header
            // prediction (`predict.rs`) takes the rest of the common case.
            self.take_in_order(now, payload);
            return;
        }
        if !duplicate {
            // Bytes we already hold out of order: the D-SACK block names the
            // first such run (RFC 2883 §4.1.2 and §4.2; a duplicate below
            // RCV.NXT, noted above, takes precedence as the lower one).
            if let Some((start, end)) = self.assembler.first_overlap(offset, payload.len()) {
                self.note_duplicate(self.rcv_nxt + start, self.rcv_nxt + end);
                duplicate = true;
            }
        }
        if duplicate && self.sack_enabled() {
            // The peer retransmitted something we had: tell it at once, so
            // the D-SACK can undo a spurious retransmission (RFC 2883 §4;
            // like the immediate ACK for out-of-order data, RFC 5681 §4.2).
            self.hot.flags.set(Flags::ACK_NOW, true);
        }
        let had_holes = !self.assembler.is_empty();
        match self.assembler.add(offset, payload.len()) {
            Ok(advance) => {
                self.rx.write_unallocated(offset, payload);
                self.rx.enqueue_unallocated(advance);
                self.rcv_nxt += advance;
                if offset > 0 || had_holes {
                    // Out of order, or filling a hole: ACK at once, one ACK
                    // per such segment (RFC 5681 §4.2) even when several
                    // arrive in one poll, so the sender sees its duplicates.
                    self.hot.flags.set(Flags::ACK_NOW, true);
                    self.hot.acks_owed = self.hot.acks_owed.saturating_add(1).min(MAX_ACKS_OWED);
                } else {
                    debug_assert_eq!(advance, payload.len());
                    self.schedule_in_order_ack(now, advance);
                }
            }
            Err(_) => {
                crate::count(&mut stats.ooo_dropped);
                self.hot.flags.set(Flags::ACK_NOW, true);
            }
        }
    }

    /// The window update of the ACK step (§3.10.7.4), for an acceptable
    /// ACK at or above SND.UNA: taken when SND.WL1 < SEG.SEQ, or equal and
    /// SND.WL2 =< SEG.ACK.
    pub(super) fn update_send_window(&mut self, seg: &TcpRepr) {
        let ack = seg.ack_number;
        if self.snd_wl1 < seg.seq_number || (self.snd_wl1 == seg.seq_number && self.snd_wl2 <= ack)
        {
            let window = usize::from(seg.window_len) << self.snd_shift();
            self.snd_wnd = window;
            self.max_snd_wnd = self.max_snd_wnd.max(window);
            self.snd_wl1 = seg.seq_number;
            self.snd_wl2 = ack;
            if window > 0 {
                self.timers.persist = Tick::NONE;
                self.persist_backoff = 0;
            }
        }
    }

    /// RFC 7323 §5.3 PAWS for a segment without RST: no timestamps in use,
    /// no timestamp in the segment, or a TSval not older than TS.Recent.
    /// (The fast paths' test; `process_synchronized` makes the same one
    /// inline, where a failure is counted and answered.)
    #[inline(always)]
    pub(super) fn paws_passes(&self, seg: &TcpRepr) -> bool {
        !self.hot.flags.get(Flags::TS_OK)
            || seg
                .options
                .timestamp
                .is_none_or(|(tsval, _)| (tsval.wrapping_sub(self.ts_recent) as i32) >= 0)
    }

    /// RFC 7323 §4.3: an acceptable segment that covers Last.ACK.sent
    /// updates TS.Recent.
    pub(super) fn update_ts_recent(&mut self, seg: &TcpRepr) {
        if let (true, Some((tsval, _))) = (self.hot.flags.get(Flags::TS_OK), seg.options.timestamp)
        {
            if seg.seq_number <= self.last_ack_sent {
                self.ts_recent = tsval;
            }
        }
    }

    /// `payload` starts at RCV.NXT and nothing is held out of order: it
    /// goes straight after what the user has not read yet, RCV.NXT moves
    /// past it, and its ACK is scheduled.
    ///
    /// Inline on 64-bit hosts: header prediction calls it for every
    /// in-order segment (−51 Ir per connection; in bulk the call only
    /// moved to `RingBuffer::write_unallocated`, which is inline too now:
    /// `BENCHMARKS.md` "Session 16: bulk"). 32-bit targets leave it to the
    /// compiler (flash: two callers).
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    pub(super) fn take_in_order(&mut self, now: Instant, payload: &[u8]) {
        self.rx.write_unallocated(0, payload);
        self.rx.enqueue_unallocated(payload.len());
        self.rcv_nxt += payload.len();
        self.schedule_in_order_ack(now, payload.len());
    }

    /// `len` octets arrived in order with no hole before or after them:
    /// delay the ACK or send it now.
    pub(super) fn schedule_in_order_ack(&mut self, now: Instant, len: usize) {
        self.unacked_bytes += len;
        self.hot.unacked_segs = self.hot.unacked_segs.saturating_add(1);
        // "Full-sized" is what the peer actually sends, which is less than
        // our MSS when it carries options.
        let rcv_mss = usize::from(self.rcv_mss)
            .max(len)
            .min(usize::from(self.local_mss));
        self.rcv_mss = u16::try_from(rcv_mss).unwrap_or(u16::MAX);
        // RFC 9293 §3.8.6.3 (SHLD-19): an ACK for at least every second
        // full-sized segment or 2*RMSS bytes. We ACK the second in-order
        // segment whatever its size, which meets that and keeps
        // small-segment senders (Nagle waiting for our ACK) from stalling a
        // whole delay per segment.
        //
        // The delay is decoded only when the timer is to start: the first
        // segment of each pair, not every segment.
        if self.config.delays_acks()
            && self.hot.unacked_segs < 2
            && self.unacked_bytes < 2 * usize::from(self.rcv_mss)
        {
            if self.timers.ack.is_none() {
                if let Some(delay) = self.config.ack_delay() {
                    self.arm_ack_timer(now, delay);
                }
            }
        } else {
            self.hot.flags.set(Flags::ACK_NOW, true);
        }
    }

    /// Starts the delayed-ACK timer unless it runs already: an ACK is
    /// owed by `now + delay` at the latest. Inlined into its two callers
    /// on 32-bit targets (flash, issue 9: minimal Cortex-M4 build −8 B
    /// with `next_hop` and `SendLog::insert` inlined).
    #[cfg_attr(target_pointer_width = "32", inline(always))]
    fn arm_ack_timer(&mut self, now: Instant, delay: Duration) {
        if self.timers.ack.is_none() {
            // Never more than 200 ms, whatever the configuration says
            // (MUST-40: < 0.5 s).
            self.timers.ack = self.timers.tick(now + delay.min(MAX_ACK_DELAY), now);
        }
    }

    /// Eighth step: once RCV.NXT reaches the peer's FIN, consume it.
    ///
    /// Inline: every segment that passes the ACK step asks, and most find
    /// no FIN due; the test costs less than the call around it.
    #[inline]
    fn consume_fin_if_due(&mut self, now: Instant) {
        if self.rcv_fin() == Some(self.rcv_nxt) && !self.hot.flags.get(Flags::RX_FIN_RECEIVED) {
            self.consume_fin(now);
        }
    }

    /// RCV.NXT reached the peer's FIN: it is consumed (§3.10.7.4 eighth
    /// check).
    fn consume_fin(&mut self, now: Instant) {
        self.rcv_nxt += 1;
        self.hot.flags.set(Flags::RX_FIN_RECEIVED, true);
        // RFC 1122 §4.2.3.2 lets the ACK of a FIN be delayed like any
        // other: the application, told of the close, often closes too, and
        // its FIN then carries the ACK (`TcpConfig::delay_fin_ack`). The
        // state and the switch are tested before the delay is decoded.
        if self.hot.state == State::Established && self.config.delay_fin_ack() {
            if let Some(delay) = self.config.ack_delay() {
                self.hot.state = State::CloseWait;
                self.arm_ack_timer(now, delay);
                return;
            }
        }
        self.hot.flags.set(Flags::ACK_NOW, true);
        match self.hot.state {
            State::SynReceived | State::Established => self.hot.state = State::CloseWait,
            State::FinWait1 => {
                let fin_acked = self.fin_acked();
                if fin_acked {
                    self.enter_time_wait(now);
                } else {
                    self.hot.state = State::Closing;
                }
            }
            State::FinWait2 => self.enter_time_wait(now),
            _ => {}
        }
    }

    fn enter_time_wait(&mut self, now: Instant) {
        self.hot.state = State::TimeWait;
        // The end of TIME-WAIT takes the retransmission timer's word
        // (`Timers::rtx`), which stops it.
        self.timers.persist = Tick::NONE;
        self.timers.stall_since = MsTick::NONE;
        self.restart_time_wait(now);
    }

    fn restart_time_wait(&mut self, now: Instant) {
        debug_assert_eq!(self.hot.state, State::TimeWait);
        // 2 MSL (RFC 9293 §3.10.7.4), as a saturating sum: on 32-bit
        // targets a `u64` multiplication is the longer code (flash, issue 9).
        let msl = self.config.msl();
        self.timers.rtx = self.timers.tick(now + msl.saturating_add(msl), now);
    }

    /// A segment arrived: the peer is alive; keep-alive counts from here.
    pub(crate) fn arm_keepalive(&mut self, now: Instant) {
        self.timers.last_rx = self.timers.stamp_ms(now);
        #[cfg(feature = "keep-alive")]
        {
            self.keepalive_probes = 0;
        }
    }
}
