//! Header prediction: the in-order receive case in a few compares.
//!
//! Most segments a receiving connection sees are the next in-order data,
//! carrying an ACK for nothing new, on a connection with no holes, no loss
//! recovery and nothing unusual pending. For those, every step of RFC 9293
//! §3.10.7.4 reduces to "queue the text, advance RCV.NXT, schedule the
//! ACK". Van Jacobson's header prediction (as in 4.4BSD's `tcp_input`)
//! recognises them up front and skips the rest; this module does the same.
//!
//! The fast path must change the connection exactly as the full steps
//! would: it is taken only when each step it skips is provably a no-op,
//! and `TcpConfig::header_prediction = false` turns it off so tests can
//! compare both paths segment for segment (`tests/tests/sim_predict.rs`).

use super::socket::{Flags, TcpSocket};
use super::State;
use crate::time::Instant;
use crate::wire::{TcpFlags, TcpRepr};

impl<const LOG: usize> TcpSocket<'_, LOG> {
    /// Handle `seg` on the fast path if it qualifies; returns whether it
    /// did. When it returns false nothing has changed, and the segment must
    /// go through the full processing.
    pub(super) fn take_predicted(&mut self, now: Instant, seg: &TcpRepr) -> bool {
        if !self.predictable(seg) {
            return false;
        }
        // The ACK step reduces to the window update (SEG.ACK = SND.UNA),
        // and the segment, starting at RCV.NXT, updates TS.Recent.
        self.update_send_window(seg);
        self.update_ts_recent(seg);
        self.arm_keepalive(now);
        self.ecn_on_segment(seg);
        // Seventh step with no holes: the text goes straight after what
        // the user has not read yet.
        self.take_in_order(now, seg.payload);
        true
    }

    /// Whether every step the fast path skips would do nothing.
    fn predictable(&self, seg: &TcpRepr) -> bool {
        // FIN-WAIT-2 receives like ESTABLISHED; its ACK step has nothing
        // state-specific to do (our FIN is already acknowledged). Decided
        // first, apart from the rest: a short connection's segments (its
        // handshake, its FINs) all fail here, and the compiler evaluated
        // every test below without branches before combining them (about
        // 15 instructions a segment, issue 9).
        let plain = seg.flags == TcpFlags::ACK || seg.flags == TcpFlags::ACK | TcpFlags::PSH;
        if !plain || !matches!(self.hot.state, State::Established | State::FinWait2) {
            return false;
        }
        let len = seg.payload.len();
        // Sequence check: exactly the next octets, all of which fit.
        let in_order = seg.seq_number == self.rcv_nxt
            && len > 0
            && len <= self.rx.window()
            && len <= self.rcv_adv.checked_since(self.rcv_nxt).unwrap_or(0);
        // PAWS (RFC 7323 §5.3) passes.
        let fresh = self.paws_passes(seg);
        // The ACK acknowledges nothing new and nothing of ours is in
        // flight, so the ACK step's loss detection, RTT sampling and
        // congestion control have nothing to act on.
        let quiet_sender = seg.ack_number == self.snd_una
            && self.snd_max == self.snd_una
            && seg.options.sack_count == 0
            && !self.hot.flags.get(Flags::RECOVERING)
            && self.dup_acks == 0
            && self.rec.is_idle(self.snd_una);
        // Reassembly and FIN bookkeeping are empty, and the URG step has
        // nothing to do.
        let plain_receiver = self.assembler.is_empty()
            && !self.hot.flags.get(Flags::RCV_FIN_SEEN)
            && !self.hot.flags.get(Flags::RX_FIN_RECEIVED);
        in_order && fresh && quiet_sender && plain_receiver
    }
}
