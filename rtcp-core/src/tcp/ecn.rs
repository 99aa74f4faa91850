//! Explicit Congestion Notification in TCP (RFC 3168 §6.1).
//!
//! - Negotiation (§6.1.1): an ECN-setup SYN carries ECE and CWR, an
//!   ECN-setup SYN-ACK carries ECE alone. [`EcnMode`] says whether a
//!   socket asks ([`EcnMode::On`]) or only agrees when the peer asks
//!   ([`EcnMode::Passive`], the default, as FreeBSD's and Linux's).
//! - Sender (§6.1.2): new data segments go out with ECT(0) in the IP
//!   header; pure ACKs (§6.1.4), retransmissions (§6.1.5), window probes
//!   (§6.1.6), SYNs, FINs without data and RSTs do not. An ACK with ECE
//!   reduces the congestion window as a loss would (through the congestion
//!   controller, nothing is retransmitted), at most once per window of
//!   data, and does not grow it; the first new data segment after any
//!   window reduction carries CWR.
//! - Receiver (§6.1.3): once a data segment arrives with CE, every segment
//!   we send carries ECE until a segment with CWR arrives.
//!
//! With the crate feature `ecn` off nothing is ever negotiated, so none of
//! this runs, the segments are those of a stack without ECN and the
//! per-connection state takes no room.

#[cfg(feature = "ecn")]
use super::congestion::CongestionControl;
#[cfg(feature = "ecn")]
use super::socket::Flags;
use super::socket::TcpSocket;
use crate::time::Instant;
#[cfg(feature = "ecn")]
use crate::wire::SeqNumber;
use crate::wire::{Ecn, TcpFlags, TcpRepr};

/// Whether a socket uses ECN (RFC 3168), [`TcpConfig::ecn`](super::TcpConfig::ecn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EcnMode {
    /// Never: plain SYNs and SYN-ACKs (ECE and CWR clear, §6.1.1 "a host
    /// that is not willing to use ECN").
    Off,
    /// Agree when the peer's SYN asks (answer an ECN-setup SYN with an
    /// ECN-setup SYN-ACK), never ask. The default: a peer that asks knows
    /// its path, and a SYN of ours with ECE and CWR is never dropped by a
    /// middlebox that dislikes them (§6.1.1.1). FreeBSD's
    /// `net.inet.tcp.ecn.enable=2`, Linux's `tcp_ecn=2`.
    #[default]
    Passive,
    /// Ask in our SYN too (FreeBSD's `ecn.enable=1`, Linux's `tcp_ecn=1`).
    On,
}

/// Per-connection ECN state (nothing without the `ecn` feature).
#[cfg(not(feature = "ecn"))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct EcnState {}

/// Per-connection ECN state.
#[cfg(feature = "ecn")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct EcnState {
    /// Both ends agreed in the handshake: we echo CE as ECE, react to ECE
    /// and set CWR (§6.1.1).
    pub(crate) on: bool,
    /// ECN-setup SYNs sent (SYN-SENT), counted for the fallback to plain
    /// SYNs (§6.1.1.1).
    setup_syns: u8,
    /// We sent a SYN or SYN-ACK that was not ECN-setup: §6.1.1 forbids ECT
    /// on our data for the rest of the connection ("MUST NOT set ECT on
    /// data packets unless it ... has sent no non-ECN-setup SYN or
    /// non-ECN-setup SYN-ACK packet").
    plain_setup_sent: bool,
    /// Receiver: a CE data segment arrived and no CWR since: ECE on
    /// everything we send (§6.1.3).
    echo: bool,
    /// Sender: the window was reduced; CWR goes on the first new data
    /// segment (§6.1.2).
    cwr_due: bool,
    /// Sender: the last reduction covered the data up to this sequence
    /// number; ECE does not reduce again until SND.UNA passes it (once per
    /// window of data, §6.1.2).
    reduced_until: Option<SeqNumber>,
    /// The IP ECN field of the segment being processed (set around
    /// `process` by [`TcpSocket::process_with_ecn`]).
    rx_codepoint: Ecn,
}

/// What [`TcpSocket::ecn_mark`] needs to know about the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EcnSegment {
    /// A RST, a SYN or SYN-ACK, a pure ACK, a keep-alive, a window probe, a
    /// retransmission or a FIN without data.
    Control,
    /// New data (sequence numbers never sent before), not a window probe.
    NewData,
}

#[cfg(feature = "ecn")]
impl EcnMode {
    /// Whether this mode answers an ECN-setup SYN.
    const fn accepts(self) -> bool {
        !matches!(self, EcnMode::Off)
    }
}

/// An ECN-setup SYN: SYN with ECE and CWR, no ACK (§6.1.1).
#[cfg(feature = "ecn")]
fn is_setup_syn(flags: TcpFlags) -> bool {
    flags.syn() && !flags.ack() && flags.ece() && flags.cwr()
}

/// Without the `ecn` feature: nothing is negotiated, so nothing is marked,
/// echoed or reacted to, and the state takes no room.
#[cfg(not(feature = "ecn"))]
impl<const LOG: usize> TcpSocket<'_, LOG> {
    pub(crate) fn process_with_ecn(
        &mut self,
        now: Instant,
        seg: &TcpRepr,
        _ecn: Ecn,
        stats: &mut super::TcpStats,
    ) {
        self.process(now, seg, stats);
    }
    pub(crate) fn ecn_on_syn(&mut self, _seg: &TcpRepr) {}
    pub(crate) fn ecn_on_syn_ack(&mut self, _seg: &TcpRepr) {}
    pub(crate) fn ecn_negotiated(&self) -> bool {
        false
    }
    pub(crate) fn ecn_on_segment(&mut self, _seg: &TcpRepr) {}
    pub(crate) fn ecn_on_ack(&mut self, _now: Instant, _seg: &TcpRepr) -> bool {
        false
    }
    pub(crate) fn ecn_window_reduced(&mut self) {}
    pub(crate) fn ecn_mark(&self, _repr: &mut TcpRepr, _kind: EcnSegment) -> Ecn {
        Ecn::NotEct
    }
    pub(crate) fn ecn_sent(&mut self, _flags: TcpFlags) {}
}

#[cfg(feature = "ecn")]
impl<const LOG: usize> TcpSocket<'_, LOG> {
    /// Process a segment whose IP header carried the ECN field `ecn`.
    pub(crate) fn process_with_ecn(
        &mut self,
        now: Instant,
        seg: &TcpRepr,
        ecn: Ecn,
        stats: &mut super::TcpStats,
    ) {
        self.ecn.rx_codepoint = ecn;
        self.process(now, seg, stats);
        self.ecn.rx_codepoint = Ecn::NotEct;
    }

    /// The peer's SYN arrived (to a listener, or crossing ours in a
    /// simultaneous open): agree to ECN if it asks and we are willing. Our
    /// SYN-ACK then carries ECE (§6.1.1 "If a host has received an
    /// ECN-setup SYN packet, then it MAY send an ECN-setup SYN-ACK").
    pub(crate) fn ecn_on_syn(&mut self, seg: &TcpRepr) {
        self.ecn.on = self.config.ecn.accepts() && is_setup_syn(seg.flags);
    }

    /// Our SYN was answered by a SYN-ACK: ECN is on if we asked and the
    /// SYN-ACK is ECN-setup (ECE without CWR; ECE with CWR is a peer that
    /// reflects the reserved bits, not one that does ECN, §6.1.1.2).
    pub(crate) fn ecn_on_syn_ack(&mut self, seg: &TcpRepr) {
        let flags = seg.flags;
        self.ecn.on =
            self.config.ecn.accepts() && self.ecn.setup_syns > 0 && flags.ece() && !flags.cwr();
    }

    /// Whether ECN is in use on this connection.
    pub(crate) fn ecn_negotiated(&self) -> bool {
        self.ecn.on
    }

    /// An acceptable segment in a synchronized state (§6.1.3): CWR ends
    /// the echo, then a CE mark on data (re)starts it. A segment with both
    /// has its CE echoed.
    pub(crate) fn ecn_on_segment(&mut self, seg: &TcpRepr) {
        if !self.ecn.on {
            return;
        }
        if seg.flags.cwr() {
            self.ecn.echo = false;
        }
        if self.ecn.rx_codepoint == Ecn::Ce && !seg.payload.is_empty() {
            self.ecn.echo = true;
        }
    }

    /// An acceptable ACK (the ACK step, after loss detection). If it
    /// carries ECE on an ECN connection, the congestion window is reduced
    /// as for a loss, unless it was already reduced for this window of data
    /// (by ECE, fast retransmit or timeout: §6.1.2 "should not decrease the
    /// slow-start threshold ... if it has been decreased within the last
    /// round trip time"). Returns whether the ACK carried ECE: such an ACK
    /// must not grow the window (§6.1.2 "SHOULD NOT increase the congestion
    /// window in response to the receipt of an ECN-Echo ACK packet").
    ///
    /// Inline, as every ACK asks and almost none carries ECE: the test is
    /// a few instructions, the call around it was more.
    #[inline]
    pub(crate) fn ecn_on_ack(&mut self, now: Instant, seg: &TcpRepr) -> bool {
        if !self.ecn.on || !seg.flags.ece() || seg.flags.syn() {
            return false;
        }
        self.ecn_echo(now);
        true
    }

    /// An ECN-Echo ACK on an ECN connection (see `ecn_on_ack`).
    fn ecn_echo(&mut self, now: Instant) {
        let fresh_window = self.ecn.reduced_until.is_none_or(|h| self.snd_una > h);
        if !self.hot.flags.get(Flags::RECOVERING) && fresh_window {
            let mss = self.mss();
            let cwnd = self.cc.window();
            if cwnd > 2 * mss {
                // The reduction of a loss without its retransmission (as
                // for a repaired tail loss probe): ssthresh and cwnd from
                // the flight.
                let flight = self.snd_max - self.snd_una;
                self.cc.on_congestion_event(now, flight, mss);
                self.cc.on_recovery_exit(now, flight, mss);
            } else if cwnd <= mss && self.snd_max > self.snd_una {
                // At the floor the controllers cannot go lower (and would
                // raise a one-segment window to their two-segment floor):
                // "the sending TCP MUST reset the retransmit timer on
                // receiving the ECN-Echo packet when the congestion window
                // is one" (§6.1.2).
                self.timers.rtx = self.timers.tick(now + self.rto(), now);
            }
            // A CE mark is congestion for certain: nothing left to undo.
            self.rec.set_undo_until(None);
            self.ecn_window_reduced();
            net_debug!(
                "tcp {}: ECN-Echo, window reduced to {}",
                self.local.port,
                self.cc.window()
            );
        }
    }

    /// The congestion window was reduced (ECE, fast retransmit or
    /// retransmission timeout): CWR goes on the next new data segment, and
    /// ECE for data sent so far does not reduce it again (§6.1.2).
    pub(crate) fn ecn_window_reduced(&mut self) {
        if self.ecn.on {
            self.ecn.cwr_due = true;
            self.ecn.reduced_until = Some(self.snd_max);
        }
    }

    /// Set ECE and CWR on a segment about to be sent and return its IP ECN
    /// field.
    pub(crate) fn ecn_mark(&self, repr: &mut TcpRepr, kind: EcnSegment) -> Ecn {
        let flags = repr.flags;
        if flags.rst() {
            return Ecn::NotEct;
        }
        if flags.syn() {
            // §6.1.1: no ECT on SYNs and SYN-ACKs, whatever the flags.
            if flags.ack() {
                if self.ecn.on {
                    repr.flags |= TcpFlags::ECE;
                }
            } else if self.config.ecn == EcnMode::On
                && self.config.ecn.accepts()
                && self.ecn.setup_syns <= self.config.ecn_setup_retries
            {
                repr.flags |= TcpFlags::ECE | TcpFlags::CWR;
            }
            return Ecn::NotEct;
        }
        if !self.ecn.on {
            return Ecn::NotEct;
        }
        if self.ecn.echo {
            repr.flags |= TcpFlags::ECE;
        }
        if kind != EcnSegment::NewData {
            return Ecn::NotEct;
        }
        if self.ecn.cwr_due {
            repr.flags |= TcpFlags::CWR;
        }
        if self.ecn.plain_setup_sent {
            Ecn::NotEct
        } else {
            Ecn::Ect0
        }
    }

    /// A segment with `flags` left (after [`ecn_mark`](Self::ecn_mark)).
    pub(crate) fn ecn_sent(&mut self, flags: TcpFlags) {
        if flags.syn() {
            let setup = if flags.ack() {
                flags.ece() && !flags.cwr()
            } else {
                flags.ece() && flags.cwr()
            };
            if setup {
                self.ecn.setup_syns = self.ecn.setup_syns.saturating_add(1);
            } else {
                self.ecn.plain_setup_sent = true;
            }
        } else if flags.cwr() {
            self.ecn.cwr_due = false;
        }
    }
}

#[cfg(all(test, feature = "ecn"))]
mod tests {
    use super::*;
    use crate::tcp::TcpConfig;
    use std::vec;
    use std::vec::Vec;

    fn socket(mode: EcnMode) -> TcpSocket<'static> {
        let rx: &'static mut [u8] = Vec::leak(vec![0u8; 1024]);
        let tx: &'static mut [u8] = Vec::leak(vec![0u8; 1024]);
        let mut s = TcpSocket::new(rx, tx);
        s.set_config(TcpConfig {
            ecn: mode,
            ..TcpConfig::default()
        });
        s
    }

    fn seg(flags: TcpFlags) -> TcpRepr<'static> {
        TcpRepr {
            src_port: 1,
            dst_port: 2,
            flags,
            seq_number: SeqNumber(0),
            ack_number: SeqNumber(0),
            window_len: 0,
            urgent_pointer: 0,
            options: Default::default(),
            payload: &[],
        }
    }

    #[test]
    fn setup_syn_needs_both_flags() {
        let mut s = socket(EcnMode::Passive);
        s.ecn_on_syn(&seg(TcpFlags::SYN | TcpFlags::ECE));
        assert!(!s.ecn_negotiated(), "ECE alone is not ECN-setup");
        s.ecn_on_syn(&seg(TcpFlags::SYN | TcpFlags::CWR));
        assert!(!s.ecn_negotiated(), "CWR alone is not ECN-setup");
        s.ecn_on_syn(&seg(TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR));
        assert!(s.ecn_negotiated());
        let mut off = socket(EcnMode::Off);
        off.ecn_on_syn(&seg(TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR));
        assert!(!off.ecn_negotiated(), "EcnMode::Off never agrees");
    }

    #[test]
    fn syn_ack_that_reflects_both_flags_is_not_ecn_setup() {
        let mut s = socket(EcnMode::On);
        s.ecn_sent(TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR);
        s.ecn_on_syn_ack(&seg(TcpFlags::SYN
            | TcpFlags::ACK
            | TcpFlags::ECE
            | TcpFlags::CWR));
        assert!(!s.ecn_negotiated());
        s.ecn_on_syn_ack(&seg(TcpFlags::SYN | TcpFlags::ACK | TcpFlags::ECE));
        assert!(s.ecn_negotiated());
        // A passive socket never asked: an ECN-setup SYN-ACK is not taken.
        let mut p = socket(EcnMode::Passive);
        p.ecn_on_syn_ack(&seg(TcpFlags::SYN | TcpFlags::ACK | TcpFlags::ECE));
        assert!(!p.ecn_negotiated());
    }

    #[test]
    fn syn_flags_fall_back_after_the_setup_retries() {
        let mut s = socket(EcnMode::On);
        let retries = s.config.ecn_setup_retries;
        for _ in 0..=retries {
            let mut syn = seg(TcpFlags::SYN);
            assert_eq!(s.ecn_mark(&mut syn, EcnSegment::Control), Ecn::NotEct);
            assert_eq!(syn.flags, TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR);
            s.ecn_sent(syn.flags);
        }
        let mut syn = seg(TcpFlags::SYN);
        s.ecn_mark(&mut syn, EcnSegment::Control);
        assert_eq!(syn.flags, TcpFlags::SYN, "plain SYN after the retries");
        s.ecn_sent(syn.flags);
        // Even if the SYN-ACK agrees, our data may not be ECT (§6.1.1).
        s.ecn_on_syn_ack(&seg(TcpFlags::SYN | TcpFlags::ACK | TcpFlags::ECE));
        assert!(s.ecn_negotiated());
        let mut data = seg(TcpFlags::ACK);
        assert_eq!(s.ecn_mark(&mut data, EcnSegment::NewData), Ecn::NotEct);
    }

    #[test]
    fn ect_only_on_new_data_and_never_on_rst() {
        let mut s = socket(EcnMode::Passive);
        s.ecn_on_syn(&seg(TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR));
        let mut synack = seg(TcpFlags::SYN | TcpFlags::ACK);
        assert_eq!(s.ecn_mark(&mut synack, EcnSegment::Control), Ecn::NotEct);
        assert_eq!(synack.flags, TcpFlags::SYN | TcpFlags::ACK | TcpFlags::ECE);
        s.ecn_sent(synack.flags);
        let mut data = seg(TcpFlags::ACK | TcpFlags::PSH);
        assert_eq!(s.ecn_mark(&mut data, EcnSegment::NewData), Ecn::Ect0);
        let mut ack = seg(TcpFlags::ACK);
        assert_eq!(s.ecn_mark(&mut ack, EcnSegment::Control), Ecn::NotEct);
        let mut rst = seg(TcpFlags::RST);
        assert_eq!(s.ecn_mark(&mut rst, EcnSegment::NewData), Ecn::NotEct);
        assert_eq!(rst.flags, TcpFlags::RST);
    }

    // ----- one connection, segment by segment -----

    use crate::tcp::{Endpoint, State, TcpStats};
    use crate::time::Duration;
    use crate::wire::Ipv4Address;

    const LOCAL: Endpoint = Endpoint::new(Ipv4Address::new(10, 0, 0, 1), 80);
    const REMOTE: Endpoint = Endpoint::new(Ipv4Address::new(10, 0, 0, 2), 40000);
    const ISS: SeqNumber = SeqNumber(1_000_000);
    const IRS: SeqNumber = SeqNumber(5_000);
    const MSS: usize = 1000;

    /// A segment we sent: its flags, sequence number, length and IP ECN field.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Out {
        flags: TcpFlags,
        seq: SeqNumber,
        len: usize,
        ecn: Ecn,
    }

    struct Conn {
        sock: TcpSocket<'static>,
        stats: TcpStats,
        now: Instant,
        /// The peer's next sequence number.
        peer_seq: SeqNumber,
    }

    impl Conn {
        /// A passive open from a SYN with `syn_flags`, ACKed by the peer; no
        /// delayed ACKs, no Nagle, no timestamps or SACK.
        fn accept(syn_flags: TcpFlags) -> (Conn, Out) {
            let rx: &'static mut [u8] = Vec::leak(vec![0u8; 65536]);
            let tx: &'static mut [u8] = Vec::leak(vec![0u8; 65536]);
            let mut sock = TcpSocket::new(rx, tx);
            sock.set_config(TcpConfig {
                nodelay: true,
                ack_delay: None,
                ..TcpConfig::default()
            });
            let mut syn = seg(syn_flags);
            syn.seq_number = IRS;
            syn.window_len = 65535;
            syn.options.mss = Some(MSS as u16);
            let now = Instant::from_secs(10);
            sock.accept_syn(now, LOCAL, REMOTE, &syn, ISS, 0, MSS);
            let mut c = Conn {
                sock,
                stats: TcpStats::default(),
                now,
                peer_seq: IRS + 1,
            };
            let out = c.drain();
            assert_eq!(out.len(), 1, "one SYN-ACK: {out:?}");
            c.now += Duration::from_millis(10);
            c.input(TcpFlags::ACK, ISS + 1, 0, Ecn::NotEct);
            assert_eq!(c.sock.state(), State::Established);
            assert!(c.drain().is_empty());
            (c, out[0])
        }

        /// The peer sends `len` bytes (or none) acknowledging `ack`.
        fn input(&mut self, flags: TcpFlags, ack: SeqNumber, len: usize, ecn: Ecn) {
            static DATA: [u8; 2000] = [7; 2000];
            let mut s = seg(flags);
            s.src_port = REMOTE.port;
            s.dst_port = LOCAL.port;
            s.seq_number = self.peer_seq;
            s.ack_number = ack;
            s.window_len = 65535;
            s.payload = DATA.get(..len).unwrap_or(&[]);
            self.peer_seq += len;
            let now = self.now;
            self.sock.process_with_ecn(now, &s, ecn, &mut self.stats);
        }

        fn drain(&mut self) -> Vec<Out> {
            let mut out = Vec::new();
            for _ in 0..100 {
                let mut got = None;
                let sent = self
                    .sock
                    .dispatch(self.now, &mut self.stats, |ip, repr| {
                        got = Some(Out {
                            flags: repr.flags,
                            seq: repr.seq_number,
                            len: repr.payload.len(),
                            ecn: ip.ecn,
                        });
                        Ok::<usize, ()>(repr.payload.len())
                    })
                    .unwrap();
                match got {
                    Some(o) if sent => out.push(o),
                    _ => break,
                }
            }
            out
        }
    }

    fn ecn_conn() -> Conn {
        let (c, synack) = Conn::accept(TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR);
        assert_eq!(synack.flags, TcpFlags::SYN | TcpFlags::ACK | TcpFlags::ECE);
        assert_eq!(synack.ecn, Ecn::NotEct, "no ECT on a SYN-ACK (§6.1.1)");
        assert!(c.sock.negotiated_options().ecn);
        c
    }

    /// §6.1.3: ECE on every segment we send after a CE data segment, until
    /// a segment with CWR arrives; CE on a segment with CWR is echoed.
    #[test]
    fn ce_is_echoed_until_cwr() {
        let mut c = ecn_conn();
        let una = ISS + 1;
        c.input(TcpFlags::ACK | TcpFlags::PSH, una, 100, Ecn::Ect0);
        assert_eq!(c.drain()[0].flags, TcpFlags::ACK, "no CE, no ECE");
        c.input(TcpFlags::ACK | TcpFlags::PSH, una, 100, Ecn::Ce);
        let ack = c.drain();
        assert_eq!(ack.len(), 1);
        assert_eq!(ack[0].flags, TcpFlags::ACK | TcpFlags::ECE);
        assert_eq!(ack[0].ecn, Ecn::NotEct, "no ECT on a pure ACK (§6.1.4)");
        // Not CE, but no CWR yet: the echo goes on.
        c.input(TcpFlags::ACK | TcpFlags::PSH, una, 100, Ecn::Ect0);
        assert_eq!(c.drain()[0].flags, TcpFlags::ACK | TcpFlags::ECE);
        // Our data carries the echo too, with ECT(0).
        c.sock.send_slice(&[1; 10]).unwrap();
        let data = c.drain();
        assert_eq!(data[0].flags, TcpFlags::ACK | TcpFlags::PSH | TcpFlags::ECE);
        assert_eq!(data[0].ecn, Ecn::Ect0);
        // CWR ends it.
        c.input(
            TcpFlags::ACK | TcpFlags::PSH | TcpFlags::CWR,
            una + 10,
            100,
            Ecn::Ect0,
        );
        assert_eq!(c.drain()[0].flags, TcpFlags::ACK);
        // CWR and CE together: the new mark is echoed.
        c.input(
            TcpFlags::ACK | TcpFlags::PSH | TcpFlags::CWR,
            una + 10,
            100,
            Ecn::Ce,
        );
        assert_eq!(c.drain()[0].flags, TcpFlags::ACK | TcpFlags::ECE);
        // CE on a segment without data is not a CE data packet.
        c.input(TcpFlags::ACK | TcpFlags::CWR, una + 10, 0, Ecn::Ect0);
        c.input(TcpFlags::ACK, una + 10, 0, Ecn::Ce);
        c.input(TcpFlags::ACK | TcpFlags::PSH, una + 10, 100, Ecn::Ect0);
        assert_eq!(c.drain()[0].flags, TcpFlags::ACK);
    }

    /// §6.1.2: an ECE ACK reduces the window as a loss would, once per
    /// window of data, without a retransmission and without growing it;
    /// CWR goes on the first new data segment after the reduction only,
    /// and ECT(0) on new data only.
    #[test]
    fn ece_reduces_the_window_once_per_window() {
        let mut c = ecn_conn();
        c.sock.send_slice(&[1; 60 * MSS]).unwrap();
        // Slow start, segment by segment, until the window is large.
        let mut sent = c.drain();
        while c.sock.cwnd() < 12 * MSS {
            let una = c.sock.snd_una + MSS;
            c.input(TcpFlags::ACK, una, 0, Ecn::NotEct);
            sent.extend(c.drain());
        }
        sent.extend(c.drain());
        assert!(sent.iter().all(|o| o.ecn == Ecn::Ect0 && !o.flags.cwr()));
        let cwnd = c.sock.cwnd();
        let high = c.sock.snd_max;
        // An ECE ACK: the window is cut to half the flight at once.
        let una = c.sock.snd_una + MSS;
        c.input(TcpFlags::ACK | TcpFlags::ECE, una, 0, Ecn::NotEct);
        let reduced = c.sock.cwnd();
        assert!(reduced < cwnd && reduced >= 2 * MSS, "{reduced} vs {cwnd}");
        // More ECE for the same window: no further reduction, no growth;
        // what goes out is new data (nothing is retransmitted), the first
        // of it with CWR.
        let mut after = c.drain();
        while c.sock.snd_una < high {
            let una = c.sock.snd_una + MSS;
            c.input(TcpFlags::ACK | TcpFlags::ECE, una, 0, Ecn::NotEct);
            assert_eq!(c.sock.cwnd(), reduced);
            after.extend(c.drain());
        }
        assert!(after.len() >= 2, "{after:?}");
        assert!(after.iter().all(|o| o.seq >= high && o.ecn == Ecn::Ect0));
        assert!(after[0].flags.cwr(), "CWR on the first new data segment");
        assert!(after[1..].iter().all(|o| !o.flags.cwr()));
        // Past the window of the reduction, ECE is a new congestion event.
        let una = c.sock.snd_una + MSS;
        c.input(TcpFlags::ACK | TcpFlags::ECE, una, 0, Ecn::NotEct);
        assert!(
            c.sock.cwnd() < reduced,
            "a second window, a second reduction"
        );
        let mut out = c.drain();
        while out.is_empty() && c.sock.snd_una < c.sock.snd_max {
            let una = c.sock.snd_una + MSS;
            c.input(TcpFlags::ACK, una, 0, Ecn::NotEct);
            out = c.drain();
        }
        assert!(out.first().is_some_and(|o| o.flags.cwr()), "{out:?}");
    }

    /// At the two-segment floor an ECE in a new window does not change the
    /// window (in particular never raises it) but still gets its CWR.
    #[test]
    fn ece_at_the_floor_does_not_raise_the_window() {
        let mut c = ecn_conn();
        c.sock.send_slice(&[1; 60 * MSS]).unwrap();
        c.drain();
        for _ in 0..20 {
            // Every ACK covers the window of the last reduction.
            let una = c.sock.snd_max;
            c.input(TcpFlags::ACK | TcpFlags::ECE, una, 0, Ecn::NotEct);
            let before = c.sock.cwnd();
            let out = c.drain();
            assert!(out.first().is_some_and(|o| o.flags.cwr()), "{out:?}");
            assert!(c.sock.cwnd() <= before.max(2 * MSS));
        }
        assert_eq!(c.sock.cwnd(), 2 * MSS);
    }

    /// A retransmission never carries ECT or CWR (§6.1.5, §6.1.2).
    #[test]
    fn retransmissions_are_not_ect() {
        let mut c = ecn_conn();
        c.sock.send_slice(&[1; 2 * MSS]).unwrap();
        let first = c.drain();
        assert!(first.iter().all(|o| o.ecn == Ecn::Ect0));
        // Let the retransmission timer fire.
        c.now += Duration::from_secs(5);
        let again = c.drain();
        assert!(!again.is_empty());
        assert!(again.iter().all(|o| o.ecn == Ecn::NotEct && !o.flags.cwr()));
    }

    /// Without negotiation: no ECT, CE not echoed, ECE ignored.
    #[test]
    fn nothing_without_negotiation() {
        let (mut c, synack) = Conn::accept(TcpFlags::SYN);
        assert_eq!(synack.flags, TcpFlags::SYN | TcpFlags::ACK);
        assert!(!c.sock.negotiated_options().ecn);
        c.input(TcpFlags::ACK | TcpFlags::PSH, ISS + 1, 100, Ecn::Ce);
        assert_eq!(c.drain()[0].flags, TcpFlags::ACK);
        c.sock.send_slice(&[1; 4 * MSS]).unwrap();
        let data = c.drain();
        assert!(data.iter().all(|o| o.ecn == Ecn::NotEct && !o.flags.cwr()));
        let cwnd = c.sock.cwnd();
        c.input(TcpFlags::ACK | TcpFlags::ECE, ISS + 1 + MSS, 0, Ecn::NotEct);
        assert!(c.sock.cwnd() >= cwnd, "ECE ignored");
    }
}
