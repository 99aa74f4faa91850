//! Undoing a spurious congestion response: the marks a recovery episode
//! keeps so that a later ACK can show its retransmissions were needless,
//! by timestamps (the Eifel detection algorithm, RFC 3522) or by D-SACK
//! blocks reporting every resend of the episode (RFC 3708 §3.2); the
//! response (restoring the window, RFC 4015) is in `recovery.rs`.
//!
//! Without the `undo` cargo feature [`Undo`] is an empty stand-in with the
//! same methods: no marks are kept (20 bytes less per socket), no episode
//! can be shown spurious, and every congestion response stands, as with
//! RFC 5681 alone. Nothing changes on the wire except what follows from a
//! window not being restored.

use crate::wire::SeqNumber;

/// One episode's undo marks. Plain values with a flag each: three
/// `Option`s took 24 bytes, these take 15.
#[cfg(feature = "undo")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Undo {
    /// Retransmissions in the current episode not yet shown spurious.
    retrans: u32,
    /// The last congestion response may still be undone until SND.UNA
    /// passes this (valid when `has_until`).
    until_at: SeqNumber,
    /// SND.UNA when the episode began: a D-SACK reaching no further
    /// reports an earlier episode's resend and says nothing about this one.
    from: SeqNumber,
    /// TSval of the episode's first retransmission (Eifel; valid when
    /// `has_retrans_tsval`).
    retrans_tsval_at: u32,
    /// Sequence number of that retransmission: only the ACK that first
    /// covers it tells whether the original or the resend arrived (valid
    /// when `has_retrans_seq`).
    retrans_seq_at: SeqNumber,
    has_until: bool,
    has_retrans_tsval: bool,
    has_retrans_seq: bool,
}

#[cfg(feature = "undo")]
impl Undo {
    /// No episode.
    pub(crate) const NEW: Undo = Undo {
        retrans: 0,
        until_at: SeqNumber(0),
        from: SeqNumber(0),
        retrans_tsval_at: 0,
        retrans_seq_at: SeqNumber(0),
        has_until: false,
        has_retrans_tsval: false,
        has_retrans_seq: false,
    };

    /// Until when the last congestion response may be undone.
    pub(crate) fn until(&self) -> Option<SeqNumber> {
        self.has_until.then_some(self.until_at)
    }

    /// Set or clear [`until`](Self::until).
    pub(crate) fn set_until(&mut self, at: Option<SeqNumber>) {
        self.has_until = at.is_some();
        self.until_at = at.unwrap_or_default();
    }

    /// TSval of the episode's first retransmission (Eifel).
    pub(crate) fn retrans_tsval(&self) -> Option<u32> {
        self.has_retrans_tsval.then_some(self.retrans_tsval_at)
    }

    /// Set or clear [`retrans_tsval`](Self::retrans_tsval).
    pub(crate) fn set_retrans_tsval(&mut self, tsval: Option<u32>) {
        self.has_retrans_tsval = tsval.is_some();
        self.retrans_tsval_at = tsval.unwrap_or_default();
    }

    /// Sequence number of the episode's first retransmission.
    pub(crate) fn retrans_seq(&self) -> Option<SeqNumber> {
        self.has_retrans_seq.then_some(self.retrans_seq_at)
    }

    /// Set or clear [`retrans_seq`](Self::retrans_seq).
    pub(crate) fn set_retrans_seq(&mut self, seq: Option<SeqNumber>) {
        self.has_retrans_seq = seq.is_some();
        self.retrans_seq_at = seq.unwrap_or_default();
    }

    /// SND.UNA when the episode began.
    pub(crate) fn from(&self) -> SeqNumber {
        self.from
    }

    /// A congestion response began an episode at `snd_una` with everything
    /// up to `snd_max` sent: it may be undone until SND.UNA passes
    /// `snd_max`, and no resend of it is counted yet.
    pub(crate) fn begin(&mut self, snd_una: SeqNumber, snd_max: SeqNumber) {
        self.retrans = 0;
        self.set_retrans_tsval(None);
        self.set_retrans_seq(None);
        self.set_until(Some(snd_max));
        self.from = snd_una;
    }

    /// One more resend in this episode.
    pub(crate) fn note_resend(&mut self) {
        self.retrans = self.retrans.saturating_add(1);
    }

    /// D-SACK blocks reported `segments` of this episode's resends (RFC
    /// 3708 §3.2): true once every resend is shown spurious.
    pub(crate) fn on_dsacks(&mut self, segments: u32) -> bool {
        if self.until().is_none() || self.retrans == 0 || segments == 0 {
            return false;
        }
        self.retrans = self.retrans.saturating_sub(segments);
        self.retrans == 0
    }
}

/// Without the `undo` feature: no marks, nothing is ever undone.
#[cfg(not(feature = "undo"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Undo {}

#[cfg(not(feature = "undo"))]
impl Undo {
    /// No episode.
    pub(crate) const NEW: Undo = Undo {};

    /// Never undoable.
    pub(crate) fn until(&self) -> Option<SeqNumber> {
        None
    }

    /// Nothing kept.
    pub(crate) fn set_until(&mut self, _at: Option<SeqNumber>) {}

    /// Nothing kept.
    pub(crate) fn retrans_tsval(&self) -> Option<u32> {
        None
    }

    /// Nothing kept.
    pub(crate) fn set_retrans_tsval(&mut self, _tsval: Option<u32>) {}

    /// Nothing kept.
    pub(crate) fn retrans_seq(&self) -> Option<SeqNumber> {
        None
    }

    /// Nothing kept.
    pub(crate) fn set_retrans_seq(&mut self, _seq: Option<SeqNumber>) {}

    /// Nothing kept: every D-SACK is as old as the oldest episode.
    pub(crate) fn from(&self) -> SeqNumber {
        SeqNumber(0)
    }

    /// Nothing kept.
    pub(crate) fn begin(&mut self, _snd_una: SeqNumber, _snd_max: SeqNumber) {}

    /// Nothing kept.
    pub(crate) fn note_resend(&mut self) {}

    /// Never spurious.
    pub(crate) fn on_dsacks(&mut self, _segments: u32) -> bool {
        false
    }
}

#[cfg(all(test, feature = "undo"))]
mod tests {
    use super::*;

    #[test]
    fn dsacks_undo_only_once_every_resend_is_reported() {
        let mut u = Undo::NEW;
        assert!(!u.on_dsacks(1), "no episode");
        u.begin(SeqNumber(100), SeqNumber(500));
        assert_eq!(u.until(), Some(SeqNumber(500)));
        assert_eq!(u.from(), SeqNumber(100));
        assert!(!u.on_dsacks(1), "no resend yet");
        u.note_resend();
        u.note_resend();
        assert!(!u.on_dsacks(1));
        assert!(u.on_dsacks(1));
        u.set_retrans_tsval(Some(7));
        u.set_retrans_seq(Some(SeqNumber(100)));
        u.begin(SeqNumber(500), SeqNumber(900));
        assert_eq!((u.retrans_tsval(), u.retrans_seq()), (None, None));
    }
}
