//! Urgent data (RFC 9293 §3.8.5, RFC 1122 §4.2.2.4, RFC 6093).
//!
//! The urgent pointer marks a point in the stream: every octet before it is
//! urgent, the octet it points to is the first non-urgent one (RFC 9293
//! §3.8.5, MUST-62; RFC 6093 §2 settled the old ambiguity this way). The
//! urgent octets stay inline in the byte stream (RFC 6093 §5 advice): this
//! module only keeps the two marks, SND.UP and RCV.UP, and tells the
//! application about the receive mark.
//!
//! Sending: the user's "send urgent" call moves SND.UP to the end of what
//! it queued. Every segment that starts before SND.UP carries URG and the
//! distance to it, so the mark travels across as many segments as the
//! urgent data needs (MUST-31); a distance beyond 65535 is sent as 65535,
//! which still says "more urgent data follows" until a later segment can
//! carry the exact offset. Urgent mode ends once SND.UNA passes SND.UP.
//!
//! Receiving: a URG segment moves RCV.UP forward to SEG.SEQ + SEG.UP
//! (§3.10.7.4, sixth step). When RCV.UP gets ahead of what the application
//! has read and it was not already, the application is signalled once
//! (MUST-32) — a flag it can poll or take, like BSD's SIGURG/`select`
//! exception; it can ask how much urgent data is still to be read before
//! the mark (MUST-33).
//!
//! Without the `urgent` cargo feature, [`Urgent`] is an empty stand-in
//! with the same methods: received URG bits and urgent pointers are ignored
//! (the octets are delivered inline as ordinary data, as RFC 6093 §5 has
//! them anyway, but the application is never told of urgent data), no
//! segment is sent with URG, and `TcpSocket::send_urgent` returns
//! `TcpError::Unsupported`.

use crate::wire::SeqNumber;

/// Urgent state of one connection.
///
/// The two pointers are kept as plain sequence numbers with a flag each
/// (12 bytes in all, where two `Option<SeqNumber>`s and the flags took 20);
/// `snd_up()` and `rcv_up()` read them as options.
#[cfg(feature = "urgent")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Urgent {
    /// SND.UP: the first non-urgent octet of what the user sent as urgent,
    /// while some of it is unacknowledged (valid when `has_snd_up`).
    snd_up_at: SeqNumber,
    /// RCV.UP: the first non-urgent octet the peer announced (valid when
    /// `has_rcv_up`).
    rcv_up_at: SeqNumber,
    has_snd_up: bool,
    has_rcv_up: bool,
    /// A segment must tell the peer about new urgent data even if none can
    /// carry data (closed window, Nagle): set by `mark_send`, cleared when
    /// any segment leaves.
    announce: bool,
    /// The application has not yet taken the notice for the current run of
    /// urgent data.
    signal: bool,
}

#[cfg(feature = "urgent")]
impl Urgent {
    /// SND.UP, while in urgent mode on the sending side.
    fn snd_up(&self) -> Option<SeqNumber> {
        self.has_snd_up.then_some(self.snd_up_at)
    }

    fn set_snd_up(&mut self, up: Option<SeqNumber>) {
        self.has_snd_up = up.is_some();
        self.snd_up_at = up.unwrap_or_default();
    }

    /// RCV.UP, once the peer announced urgent data.
    fn rcv_up(&self) -> Option<SeqNumber> {
        self.has_rcv_up.then_some(self.rcv_up_at)
    }

    fn set_rcv_up(&mut self, up: Option<SeqNumber>) {
        self.has_rcv_up = up.is_some();
        self.rcv_up_at = up.unwrap_or_default();
    }

    /// The user sent urgent data ending just before `end`.
    pub(crate) fn mark_send(&mut self, end: SeqNumber) {
        self.set_snd_up(Some(match self.snd_up() {
            Some(up) if up > end => up,
            _ => end,
        }));
        self.announce = true;
    }

    /// The urgent pointer for a segment starting at `seq`, if it must carry
    /// URG (it starts before SND.UP). Offsets past 65535 are clamped.
    pub(crate) fn send_pointer(&self, seq: SeqNumber) -> Option<u16> {
        let up = self.snd_up()?;
        let offset = up.checked_since(seq).filter(|&d| d > 0)?;
        Some(u16::try_from(offset).unwrap_or(u16::MAX))
    }

    /// Whether a segment should go out just to announce urgent data.
    pub(crate) fn announce_due(&self) -> bool {
        self.announce && self.snd_up().is_some()
    }

    /// A segment left: the announcement is made.
    pub(crate) fn announced(&mut self) {
        self.announce = false;
    }

    /// Whether SND.UP is ahead of `seq` (urgent data still to send from
    /// there): Nagle does not hold it back.
    pub(crate) fn sending_from(&self, seq: SeqNumber) -> bool {
        self.snd_up().is_some_and(|up| up > seq)
    }

    /// SND.UNA moved to `una`: leave urgent mode once all urgent data is
    /// acknowledged.
    pub(crate) fn on_ack(&mut self, una: SeqNumber) {
        if self.snd_up().is_some_and(|up| up <= una) {
            self.set_snd_up(None);
            self.announce = false;
        }
    }

    /// A segment at `seq` with URG and urgent pointer `pointer` arrived;
    /// `read` is the sequence number of the next octet the application will
    /// read (§3.10.7.4 sixth step: RCV.UP <- max(RCV.UP, SEG.UP), and signal
    /// the user if RCV.UP is ahead of the data consumed, once per run).
    pub(crate) fn on_segment(&mut self, seq: SeqNumber, pointer: u16, read: SeqNumber) {
        // A zero pointer marks no octet of this segment as urgent: urgent
        // data, if any, ended before it (already announced or read).
        if pointer == 0 {
            return;
        }
        let up = seq + usize::from(pointer);
        if up <= read || self.rcv_up().is_some_and(|old| up <= old) {
            return;
        }
        let in_run = self.pending(read);
        self.set_rcv_up(Some(up));
        if !in_run {
            self.signal = true;
        }
    }

    /// Whether urgent data lies ahead of `read` (the application has not
    /// read up to the mark).
    pub(crate) fn pending(&self, read: SeqNumber) -> bool {
        self.rcv_up().is_some_and(|up| up > read)
    }

    /// Octets from `read` up to the mark (zero when no urgent data is
    /// pending). Some of them may not have arrived yet.
    pub(crate) fn remaining(&self, read: SeqNumber) -> usize {
        self.rcv_up()
            .and_then(|up| up.checked_since(read))
            .unwrap_or(0)
    }

    /// Take the one-shot notice (true once per run of urgent data).
    pub(crate) fn take_signal(&mut self) -> bool {
        core::mem::take(&mut self.signal)
    }

    /// Whether the notice is waiting to be taken.
    pub(crate) fn signalled(&self) -> bool {
        self.signal
    }
}

/// Without the `urgent` feature: no state, no urgent data either way.
#[cfg(not(feature = "urgent"))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Urgent {}

#[cfg(not(feature = "urgent"))]
impl Urgent {
    /// Never called: `send_urgent` refuses before.
    pub(crate) fn mark_send(&mut self, _end: SeqNumber) {}
    /// No segment carries URG.
    pub(crate) fn send_pointer(&self, _seq: SeqNumber) -> Option<u16> {
        None
    }
    /// Nothing to announce.
    pub(crate) fn announce_due(&self) -> bool {
        false
    }
    /// Nothing announced.
    pub(crate) fn announced(&mut self) {}
    /// Nagle is never overridden for urgent data.
    pub(crate) fn sending_from(&self, _seq: SeqNumber) -> bool {
        false
    }
    /// No urgent mode to leave.
    pub(crate) fn on_ack(&mut self, _una: SeqNumber) {}
    /// The URG bit and the urgent pointer are ignored.
    pub(crate) fn on_segment(&mut self, _seq: SeqNumber, _pointer: u16, _read: SeqNumber) {}
    /// Never pending.
    pub(crate) fn pending(&self, _read: SeqNumber) -> bool {
        false
    }
    /// Always zero.
    pub(crate) fn remaining(&self, _read: SeqNumber) -> usize {
        0
    }
    /// Never signalled.
    pub(crate) fn take_signal(&mut self) -> bool {
        false
    }
    /// Never signalled.
    pub(crate) fn signalled(&self) -> bool {
        false
    }
}

#[cfg(all(test, feature = "urgent"))]
mod tests {
    use super::*;

    #[test]
    fn send_pointer_points_past_the_urgent_data_and_clamps() {
        let mut u = Urgent::default();
        assert_eq!(u.send_pointer(SeqNumber(100)), None);
        u.mark_send(SeqNumber(110));
        assert!(u.announce_due());
        assert_eq!(u.send_pointer(SeqNumber(100)), Some(10));
        assert_eq!(u.send_pointer(SeqNumber(109)), Some(1));
        assert_eq!(u.send_pointer(SeqNumber(110)), None);
        assert_eq!(u.send_pointer(SeqNumber(200)), None);
        u.mark_send(SeqNumber(100 + 70_000));
        assert_eq!(u.send_pointer(SeqNumber(100)), Some(u16::MAX));
        assert_eq!(u.send_pointer(SeqNumber(100 + 10_000)), Some(60_000));
        // An older mark never moves SND.UP back.
        u.mark_send(SeqNumber(150));
        assert_eq!(u.send_pointer(SeqNumber(100 + 10_000)), Some(60_000));
        u.on_ack(SeqNumber(100 + 69_999));
        assert!(u.sending_from(SeqNumber(100 + 69_999)));
        u.on_ack(SeqNumber(100 + 70_000));
        assert!(!u.sending_from(SeqNumber(100)));
        assert!(!u.announce_due());
    }

    #[test]
    fn send_pointer_across_wraparound() {
        let mut u = Urgent::default();
        u.mark_send(SeqNumber(5));
        assert_eq!(u.send_pointer(SeqNumber(u32::MAX - 4)), Some(10));
    }

    #[test]
    fn receive_signals_once_per_run() {
        let mut u = Urgent::default();
        let read = SeqNumber(1000);
        u.on_segment(SeqNumber(1000), 5, read);
        assert!(u.pending(read));
        assert_eq!(u.remaining(read), 5);
        assert!(u.take_signal());
        assert!(!u.take_signal());
        // The same run extended: no second signal.
        u.on_segment(SeqNumber(1005), 5, read);
        assert_eq!(u.remaining(read), 10);
        assert!(!u.signalled());
        // An older pointer changes nothing.
        u.on_segment(SeqNumber(1000), 3, read);
        assert_eq!(u.remaining(read), 10);
        // Read past the mark: urgent mode over; a new run signals again.
        let read = SeqNumber(1010);
        assert!(!u.pending(read));
        assert_eq!(u.remaining(read), 0);
        u.on_segment(SeqNumber(1010), 0, read);
        assert!(!u.signalled());
        u.on_segment(SeqNumber(1010), 2, read);
        assert!(u.take_signal());
        assert_eq!(u.remaining(read), 2);
    }

    #[test]
    fn pointer_already_read_is_ignored() {
        let mut u = Urgent::default();
        u.on_segment(SeqNumber(10), 5, SeqNumber(20));
        assert!(!u.pending(SeqNumber(20)));
        assert!(!u.signalled());
    }
}
