//! The transmission control block and its user calls (RFC 9293 §3.10.1–6).
//!
//! A `TcpSocket` lives in a slot of the [`SocketSet`](crate::socket_set::SocketSet),
//! which owns its buffers for the life of the table; connections come and
//! go through the same slot. Segment processing is in `input.rs`, sending
//! and timers in `output/` (`mod.rs` plans, `send.rs` sends, `timers.rs`).
//!
//! This file holds the block itself and its internal fields' accessors;
//! `inspect.rs` what the application reads and sets, `calls.rs` its data
//! and closing calls.

use super::assembler::Assembler;
use super::buffer::RingBuffer;
use super::clock::Timers;
use super::config::SocketConfig;
use super::congestion::{Congestion, NewReno};
use super::ecn::EcnState;
use super::ip::RouteState;
use super::recovery::RecoveryState;
use super::rtt::RttEstimator;
use super::scoreboard::LOG_CAPACITY;
use super::urgent::Urgent;
use super::{Endpoint, IcmpError, State, TcpError};
use crate::wire::SeqNumber;
use managed::ManagedSlice;

mod calls;
mod inspect;

/// A RST to send (and then forget), as the output plan carries it.
///
/// Every RST a connection owes is `<SEQ=x><CTL=RST>` (`ack` is `None`),
/// and the socket keeps only its sequence number (`rst_seq`, `rst_owed`).
/// The plan still carries this 12-byte form: shrinking `Plan` from 16 to
/// 12 bytes made fw-rtcp's flash 0.4–0.65 KB larger on thumbv7em (fat
/// LTO's code for the send path; BENCHMARKS.md "Footprint").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PendingReset {
    pub seq: SeqNumber,
    pub ack: Option<SeqNumber>,
}

/// MSS assumed when the peer sends no MSS option (RFC 9293 §3.7.1, MUST-15).
pub const DEFAULT_MSS: usize = 536;

/// A TCP connection (or listener). `LOG` is the capacity of its send log
/// (the SACK scoreboard / RACK record of what is in flight, see
/// [`SendLog`](super::scoreboard::SendLog)): [`LOG_CAPACITY`] by default; a
/// small device may choose fewer records (coarser loss recovery on large
/// windows, never wrong) through
/// [`SocketSlot::with_log`](crate::socket_set::SocketSlot::with_log).
#[derive(Debug)]
#[cfg_attr(
    all(
        target_pointer_width = "32",
        not(any(feature = "cubic", feature = "bbr"))
    ),
    repr(C)
)]
pub struct TcpSocket<'a, const LOG: usize = LOG_CAPACITY> {
    // Field order (flash, issue 9): on a 32-bit Arm target an `ldr`/`str`
    // reaches a word within 124 bytes of a base register, a halfword within
    // 62 and a byte within 31 with a 2-byte instruction, and farther with a
    // 4-byte one. So the most-used small fields (`Hot`) come first, then the
    // timers, then the sequence-space words the segment paths read most;
    // the rest by alignment, widest first, so that there is no padding
    // between fields. 32-bit builds without `cubic` or `bbr` lay the socket
    // out in this order (`repr(C)`): no field is aligned to more than 4
    // bytes there but `timers` (8-aligned), which follows `hot` (8 bytes,
    // 2-aligned), and with `rack` the recovery state (its send times), which then
    // follows them, a multiple of 8 bytes long. One exception: with `ecn`
    // and `source-route` (neither in a firmware row measured so far) a
    // byte of padding precedes the 4-aligned `ecn`. Other builds, and
    // 64-bit hosts, leave the order to the compiler.
    /// The most-used small fields, first in the socket (`Hot`).
    pub(crate) hot: Hot,
    /// Retransmission, persist, delayed-ACK and TIME-WAIT timers and the
    /// last-send, challenge-ACK and out-of-window-ACK times, 32 bits each,
    /// and the last receipt (keep-alive) and the start of a stall (the
    /// user timeout) in milliseconds (`clock.rs`).
    pub(crate) timers: Timers,
    /// Scoreboard, RACK-TLP, PRR, undo and rate-sampling state.
    // With `rack`, 8-aligned (its send times): right after the timers.
    #[cfg(feature = "rack")]
    pub(crate) rec: RecoveryState<LOG>,

    // --- words: send and receive sequence space (RFC 9293 §3.3.1) first ---
    // (IRS is not kept: it is only read in SYN-RECEIVED, where it is
    // RCV.NXT - 1, since a SYN's text waits in `syn_text` until the
    // connection is established.)
    pub(crate) rcv_nxt: SeqNumber,
    pub(crate) snd_una: SeqNumber,
    pub(crate) snd_nxt: SeqNumber,
    /// Highest sequence number sent (SND.NXT can be rewound by an RTO).
    pub(crate) snd_max: SeqNumber,
    /// Send window in bytes (scaled).
    pub(crate) snd_wnd: usize,
    /// Right edge of the window last advertised (never moved left).
    pub(crate) rcv_adv: SeqNumber,
    /// Largest window the peer ever offered (for RFC 5961 §5.2 and SWS).
    pub(crate) max_snd_wnd: usize,
    pub(crate) snd_wl1: SeqNumber,
    pub(crate) snd_wl2: SeqNumber,
    /// Last ACK number we sent (for RFC 7323 TS.Recent update).
    pub(crate) last_ack_sent: SeqNumber,
    /// Sequence number of the peer's FIN (`rcv_fin`), recorded when it
    /// arrived (possibly ahead of a hole): valid only when `rcv_fin_seen`.
    /// A value and a flag rather than an `Option<SeqNumber>` (8 bytes), so
    /// that the flag packs with the socket's other one-bit state in `flags`
    /// (issue 9, per-connection state).
    pub(crate) rcv_fin_at: SeqNumber,
    pub(crate) iss: SeqNumber,
    pub(crate) ts_recent: u32,
    pub(crate) ts_offset: u32,
    /// Sequence number of a RST owed to the peer (`pending_rst`): valid
    /// only when `rst_owed`. Every RST a connection sends on its own is
    /// `<SEQ=x><CTL=RST>` (RFC 9293 §3.10.5 ABORT, §3.10.7.3 and §3.10.7.4
    /// for an unacceptable ACK), so no ACK number is kept: a value and a
    /// flag in 5 bytes where an `Option` with an optional ACK took 12.
    pub(crate) rst_seq: SeqNumber,
    /// Recovery point (RFC 6582 "recover", RFC 6675 RecoveryPoint;
    /// `recover`): valid only while `recovering`, a value and a flag for
    /// the same reason as `rcv_fin_at`'s.
    pub(crate) recover_at: SeqNumber,
    /// Bytes received since we last sent an ACK.
    pub(crate) unacked_bytes: usize,
    /// End of the last less-than-full segment sent (Minshall's Nagle;
    /// `small_end`): valid only when `small_sent`, a value and a flag for
    /// the same reason as `rcv_fin_at`'s.
    pub(crate) small_end_at: SeqNumber,
    pub(crate) tx: RingBuffer<'a>,
    pub(crate) rx: RingBuffer<'a>,
    pub(crate) assembler: Assembler,
    pub(crate) rtt: RttEstimator,
    pub(crate) cc: Congestion,
    /// Scoreboard, RACK-TLP, PRR, undo and rate-sampling state.
    #[cfg(not(feature = "rack"))]
    pub(crate) rec: RecoveryState<LOG>,
    /// SND.UP and RCV.UP (RFC 9293 §3.8.5).
    pub(crate) urgent: Urgent,

    // --- halfwords ---
    /// Our MSS (from the interface MTU), advertised in our SYN.
    /// A `u16` (saturated, `saturate_mss`): the MSS option is 16 bits, and
    /// an IPv4 MTU is below 2^16, so every real value is exact.
    pub(crate) local_mss: u16,
    /// The peer's MSS (536 when it sent none).
    /// A `u16`: the MSS option is 16 bits, and an ICMP report only ever
    /// lowers it.
    pub(crate) remote_mss: u16,
    /// Largest payload the peer has sent in order (its effective MSS).
    /// A `u16` (saturated): an IPv4 datagram carries less than 64 KiB.
    pub(crate) rcv_mss: u16,
    /// Text that came with the peer's SYN in a simultaneous open, written
    /// at RCV.NXT in the receive buffer but not yet accepted: RFC 9293
    /// §3.10.7.3 queues it "for processing after the ESTABLISHED state has
    /// been reached".
    /// A `u16`: it is at most one segment's payload (saturated anyway).
    pub(crate) syn_text: u16,
    pub(crate) challenge_tokens: u16,
    /// Saturated at `u16::MAX`, more than a table has slots (indices are
    /// `u16`), so no larger backlog could ever be reached.
    pub(crate) backlog: u16,
    pub(crate) local: Endpoint,
    pub(crate) remote: Endpoint,
    /// The configuration, packed (`config.rs`).
    pub(crate) config: SocketConfig,

    // --- bytes ---
    pub(crate) persist_backoff: u8,
    /// Unanswered keep-alive probes (§3.8.4).
    #[cfg(feature = "keep-alive")]
    pub(crate) keepalive_probes: u8,
    pub(crate) dup_acks: u8,
    /// Retransmission timeouts in a row without progress (R1, §3.8.3).
    pub(crate) rto_retries: u8,
    /// The source route segments take (RFC 9293 §3.9.2.1).
    pub(crate) route: RouteState,
    /// ECN (RFC 3168 §6.1); empty without the `ecn` feature.
    #[cfg_attr(not(feature = "ecn"), allow(dead_code))]
    pub(crate) ecn: EcnState,
}

/// The socket's most-used small fields, in one 8-byte block that the
/// 32-bit firmware layout puts first in the socket (`TcpSocket`'s field
/// order): a byte within 31 bytes of the base, or a halfword within 62, is
/// read and written with a 2-byte Thumb instruction rather than a 4-byte
/// one, and the flags and the state alone are read or written at some 170
/// places. Left to the compiler they came after every wider field, at
/// offsets 324 and 335 of the minimal build's socket (flash, issue 9).
/// The same fields as before, so the socket is no larger. `repr(C)` keeps
/// the order written here (the state at offset 0, the flags at 2).
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub(crate) struct Hot {
    pub(crate) state: State,
    /// The window shifts (RFC 7323 §2.3, each at most 14), one per
    /// nibble: the low one applied to the peer's window field
    /// (`snd_shift`), the high one to ours (`rcv_shift`). One byte rather
    /// than two (issue 9, per-connection state).
    pub(crate) shifts: u8,
    /// The one-bit state, packed into one `u16` (`Flags`; issue 9).
    pub(crate) flags: Flags,
    /// Immediate ACKs still owed, one per out-of-order segment (beyond the
    /// one `ack_now` stands for).
    pub(crate) acks_owed: u8,
    /// In-order data segments received since we last sent an ACK.
    pub(crate) unacked_segs: u8,
    pub(crate) error: Option<TcpError>,
    /// The last ICMP soft error (RFC 9293 §3.9.2.2), reported if the
    /// connection then times out.
    pub(crate) soft_error: Option<TcpError>,
}

/// The socket's one-bit state in one `u16` rather than a byte per `bool`:
/// 12 B less per socket with `sack`, 11 B without (issue 9,
/// per-connection state). Each constant is a bit; `get` and `set` read
/// and write it, at the cost of a mask at each use.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct Flags(u16);

impl Flags {
    /// Every flag clear (a new socket).
    pub(crate) const NONE: Flags = Flags(0);
    /// The user has shut the send side down: a FIN follows the queued data.
    pub(crate) const TX_CLOSED: u16 = 1 << 0;
    /// Our FIN has been sent: it is the last thing in sequence space, so
    /// it sits at SND.MAX - 1 (`fin_seq`).
    pub(crate) const FIN_SENT: u16 = 1 << 1;
    /// The peer's FIN has arrived (`rcv_fin_at` holds its sequence number).
    pub(crate) const RCV_FIN_SEEN: u16 = 1 << 2;
    /// The peer's FIN was consumed: no more data will arrive.
    pub(crate) const RX_FIN_RECEIVED: u16 = 1 << 3;
    /// SACK was negotiated; only with the `sack` feature, without which
    /// it never is (read through `sack_enabled`).
    #[cfg_attr(not(feature = "sack"), allow(dead_code))]
    pub(crate) const SACK_OK: u16 = 1 << 4;
    /// Timestamps were negotiated (RFC 7323 §3).
    pub(crate) const TS_OK: u16 = 1 << 5;
    /// Both SYNs carried a window scale option (RFC 7323 §2.2), even if
    /// the shifts are zero.
    pub(crate) const WS_OK: u16 = 1 << 6;
    /// In loss recovery (`recover_at` is the recovery point).
    pub(crate) const RECOVERING: u16 = 1 << 7;
    /// An ACK is due at once.
    pub(crate) const ACK_NOW: u16 = 1 << 8;
    /// A less-than-full segment has been sent (`small_end_at` is its end).
    pub(crate) const SMALL_SENT: u16 = 1 << 9;
    /// A window probe is due (persist timer, RFC 9293 §3.8.6.1).
    pub(crate) const FORCE_PROBE: u16 = 1 << 10;
    /// A keep-alive probe is due (RFC 9293 §3.8.4).
    pub(crate) const SEND_KEEPALIVE: u16 = 1 << 11;
    /// A RST is owed (`rst_seq` is its sequence number); it goes out, then
    /// is forgotten.
    pub(crate) const RST_OWED: u16 = 1 << 12;
    /// Negative advice for IP is due with the next segment (MUST-20, R1).
    pub(crate) const ADVISE_IP: u16 = 1 << 13;
    /// This fast-recovery episode's rescue retransmission (RFC 6675 §4
    /// NextSeg rule 4) has been used (its segment marked lost to be sent
    /// again): at most one per episode (`recovery.rs` `rescue`).
    pub(crate) const RESCUED: u16 = 1 << 14;
    /// No application holds the socket any more (`SocketSet::close`,
    /// `abort`, its listener closed): the table frees it at the reschedule
    /// that follows its change to CLOSED (unless a RST is owed), and `open`
    /// or `accept_syn` reset it for its next connection, so an orderly end
    /// need not reset it first (`finish`). `reset` clears it.
    pub(crate) const ORPHANED: u16 = 1 << 15;

    /// Whether `flag` is set.
    #[inline]
    pub(crate) fn get(self, flag: u16) -> bool {
        self.0 & flag != 0
    }

    /// Set or clear `flag`.
    #[inline]
    pub(crate) fn set(&mut self, flag: u16, on: bool) {
        if on {
            self.0 |= flag;
        } else {
            self.0 &= !flag;
        }
    }

    /// Clear `flag`, returning whether it was set.
    #[inline]
    pub(crate) fn take(&mut self, flag: u16) -> bool {
        let was = self.get(flag);
        self.0 &= !flag;
        was
    }

    /// Clear every flag but those in `keep`.
    #[inline]
    pub(crate) fn keep_only(&mut self, keep: u16) {
        self.0 &= keep;
    }
}

/// Our MSS as the socket stores it: a `u16`, saturated (an MSS from an MTU
/// above 2^16 is advertised as 65535 anyway, RFC 9293 §3.7.1).
#[inline]
pub(crate) fn saturate_mss(mss: usize) -> u16 {
    u16::try_from(mss).unwrap_or(u16::MAX)
}

impl<'a> TcpSocket<'a> {
    /// A closed socket over the given receive and send buffers, with a
    /// send log of the default capacity ([`LOG_CAPACITY`]).
    pub fn new(
        rx_buffer: impl Into<ManagedSlice<'a, u8>>,
        tx_buffer: impl Into<ManagedSlice<'a, u8>>,
    ) -> TcpSocket<'a> {
        TcpSocket::with_log(rx_buffer, tx_buffer)
    }
}

impl<'a, const LOG: usize> TcpSocket<'a, LOG> {
    /// A closed socket over the given receive and send buffers, with a
    /// send log of `LOG` records (at least 2; checked at compile time).
    pub fn with_log(
        rx_buffer: impl Into<ManagedSlice<'a, u8>>,
        tx_buffer: impl Into<ManagedSlice<'a, u8>>,
    ) -> TcpSocket<'a, LOG> {
        TcpSocket {
            hot: Hot {
                flags: Flags::NONE,
                state: State::Closed,
                shifts: 0,
                acks_owed: 0,
                unacked_segs: 0,
                error: None,
                soft_error: None,
            },
            persist_backoff: 0,
            #[cfg(feature = "keep-alive")]
            keepalive_probes: 0,
            config: SocketConfig::default(),
            local: Endpoint::default(),
            remote: Endpoint::default(),
            iss: SeqNumber(0),
            snd_una: SeqNumber(0),
            snd_nxt: SeqNumber(0),
            snd_max: SeqNumber(0),
            snd_wnd: 0,
            max_snd_wnd: 0,
            snd_wl1: SeqNumber(0),
            snd_wl2: SeqNumber(0),
            rcv_nxt: SeqNumber(0),
            rcv_adv: SeqNumber(0),
            rcv_fin_at: SeqNumber(0),
            last_ack_sent: SeqNumber(0),
            tx: RingBuffer::new(tx_buffer),
            rx: RingBuffer::new(rx_buffer),
            assembler: Assembler::new(),
            local_mss: DEFAULT_MSS as u16,
            remote_mss: DEFAULT_MSS as u16,
            ts_recent: 0,
            ts_offset: 0,
            rtt: RttEstimator::new(),
            cc: Congestion::NewReno(NewReno::new(DEFAULT_MSS)),
            timers: Timers::new(),
            dup_acks: 0,
            recover_at: SeqNumber(0),
            rec: RecoveryState::new(),
            rcv_mss: 0,
            small_end_at: SeqNumber(0),
            unacked_bytes: 0,
            syn_text: 0,
            rst_seq: SeqNumber(0),
            challenge_tokens: 0,
            backlog: 0,
            urgent: Urgent::default(),
            route: RouteState::default(),
            rto_retries: 0,
            ecn: EcnState::default(),
        }
    }

    /// Return to CLOSED with fresh per-connection state, keeping the buffers
    /// and the configuration.
    ///
    /// This runs several times per connection (connect, accept, close,
    /// end of TIME-WAIT), so it rewrites only the live parts: the send log
    /// and the assembler forget their records by their lengths, not by
    /// rewriting their arrays, and no whole socket value is built and
    /// copied. The destructuring is exhaustive so that a new field cannot
    /// be forgotten here; `reset_matches_new` (tests) checks the values
    /// against `new`.
    pub(crate) fn reset(&mut self) {
        let TcpSocket {
            hot:
                Hot {
                    state,
                    shifts,
                    flags,
                    acks_owed,
                    unacked_segs,
                    // Kept: see `error` below.
                    error: _,
                    soft_error,
                },
            persist_backoff,
            #[cfg(feature = "keep-alive")]
            keepalive_probes,
            config: _,
            // A RST still owed to the peer goes out even though we are
            // closed; the endpoints stay for it.
            local: _,
            remote: _,
            rst_seq: _,
            // Kept: received data stays readable after an orderly close (a
            // new connection clears it in `forget_past`, a reset discards
            // it in `fail`), and so do the error and an orderly end of
            // stream (read as EOF after CLOSED).
            rx: _,
            iss,
            snd_una,
            snd_nxt,
            snd_max,
            snd_wnd,
            max_snd_wnd,
            snd_wl1,
            snd_wl2,
            rcv_nxt,
            rcv_adv,
            rcv_fin_at,
            last_ack_sent,
            tx,
            assembler,
            local_mss,
            remote_mss,
            ts_recent,
            ts_offset,
            rtt,
            cc,
            timers,
            dup_acks,
            recover_at,
            rec,
            rcv_mss,
            small_end_at,
            unacked_bytes,
            syn_text,
            challenge_tokens,
            backlog,
            urgent,
            route,
            rto_retries,
            ecn,
        } = self;
        *state = State::Closed;
        // Kept, for the reasons given with the kept fields above: a RST
        // still owed, and an orderly end of stream.
        flags.keep_only(Flags::RST_OWED | Flags::RX_FIN_RECEIVED);
        *soft_error = None;
        *iss = SeqNumber(0);
        *snd_una = SeqNumber(0);
        *snd_nxt = SeqNumber(0);
        *snd_max = SeqNumber(0);
        *snd_wnd = 0;
        *max_snd_wnd = 0;
        *snd_wl1 = SeqNumber(0);
        *snd_wl2 = SeqNumber(0);
        *shifts = 0;
        *rcv_nxt = SeqNumber(0);
        *rcv_adv = SeqNumber(0);
        *rcv_fin_at = SeqNumber(0);
        *last_ack_sent = SeqNumber(0);
        tx.clear();
        assembler.clear();
        *local_mss = DEFAULT_MSS as u16;
        *remote_mss = DEFAULT_MSS as u16;
        *ts_recent = 0;
        *ts_offset = 0;
        *rtt = RttEstimator::new();
        *cc = Congestion::NewReno(NewReno::new(DEFAULT_MSS));
        *timers = Timers::new();
        *persist_backoff = 0;
        #[cfg(feature = "keep-alive")]
        {
            *keepalive_probes = 0;
        }
        *dup_acks = 0;
        *recover_at = SeqNumber(0);
        rec.reset();
        *acks_owed = 0;
        *rcv_mss = 0;
        *small_end_at = SeqNumber(0);
        *unacked_bytes = 0;
        *unacked_segs = 0;
        *syn_text = 0;
        *challenge_tokens = 0;
        *backlog = 0;
        *urgent = Urgent::default();
        // A source route the user set outlives the connection (it is set
        // before connect or listen); one learned from the peer does not.
        *route = route.kept_over_reset();
        *rto_retries = 0;
        *ecn = EcnState::default();
    }

    /// An orderly end (LAST-ACK's FIN acknowledged, TIME-WAIT over, or a
    /// RST in TIME-WAIT): CLOSED, with fresh per-connection state (`reset`,
    /// which keeps the error and an orderly end of stream). An orphan with
    /// no RST owed skips the reset (about 65 instructions, twice per
    /// connection in the connection-rate benchmark, issue 9): nothing reads
    /// it before the table frees it, at the reschedule that follows this
    /// change of state, and its next owner resets it (`ORPHANED`). Debug
    /// builds check that no CLOSED socket left in the table is due
    /// (`SocketSet::reschedule_at`).
    #[inline(never)]
    pub(crate) fn finish(&mut self) {
        if self.hot.flags.get(Flags::ORPHANED) && !self.hot.flags.get(Flags::RST_OWED) {
            self.hot.state = State::Closed;
            return;
        }
        self.reset();
        self.hot.state = State::Closed;
    }

    /// Forget how the previous connection in this slot ended (its error and
    /// end of stream), before a new one starts. Out of line on 32-bit
    /// targets (flash, issue 9: three inlined copies).
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    pub(crate) fn forget_past(&mut self) {
        self.hot.error = None;
        self.hot.flags.set(Flags::RX_FIN_RECEIVED, false);
        self.rx.clear();
    }

    /// The recovery point (RFC 6582 "recover"), while in loss recovery.
    #[inline]
    pub(crate) fn recover(&self) -> Option<SeqNumber> {
        self.hot
            .flags
            .get(Flags::RECOVERING)
            .then_some(self.recover_at)
    }

    /// Enter loss recovery with this recovery point (`Some`), or leave it.
    #[inline]
    pub(crate) fn set_recover(&mut self, recover: Option<SeqNumber>) {
        self.hot.flags.set(Flags::RECOVERING, recover.is_some());
        self.recover_at = recover.unwrap_or(SeqNumber(0));
    }

    /// Sequence number of the peer's FIN, once it has arrived.
    #[inline]
    pub(crate) fn rcv_fin(&self) -> Option<SeqNumber> {
        self.hot
            .flags
            .get(Flags::RCV_FIN_SEEN)
            .then_some(self.rcv_fin_at)
    }

    /// Record where the peer's FIN lies.
    #[inline]
    pub(crate) fn set_rcv_fin(&mut self, fin: SeqNumber) {
        self.rcv_fin_at = fin;
        self.hot.flags.set(Flags::RCV_FIN_SEEN, true);
    }

    /// When TIME-WAIT ends, for a socket in TIME-WAIT; `None` in any
    /// other state. The table recycles the one that ends first when it
    /// is full (`SocketSet::set_time_wait_recycling`).
    #[cfg(feature = "time-wait-recycling")]
    pub(crate) fn time_wait_end(&self) -> Option<crate::time::Instant> {
        if self.hot.state != State::TimeWait {
            return None;
        }
        self.timers.get(self.timers.rtx).get()
    }

    /// The RST owed to the peer, if one is.
    #[inline]
    pub(crate) fn pending_rst(&self) -> Option<PendingReset> {
        self.hot.flags.get(Flags::RST_OWED).then_some(PendingReset {
            seq: self.rst_seq,
            ack: None,
        })
    }

    /// Owe the peer `<SEQ=seq><CTL=RST>` (`Some`), or forget the one owed.
    #[inline]
    pub(crate) fn set_pending_rst(&mut self, seq: Option<SeqNumber>) {
        self.hot.flags.set(Flags::RST_OWED, seq.is_some());
        self.rst_seq = seq.unwrap_or(SeqNumber(0));
    }

    /// An ICMP error quoting one of our segments (RFC 9293 §3.9.2.2). It is
    /// believed only if the quoted sequence number is in flight (RFC 5927
    /// §4.1), so a blind attacker cannot use it.
    #[cfg_attr(not(feature = "icmp-errors"), allow(dead_code))]
    pub(crate) fn on_icmp_error(&mut self, seq: SeqNumber, error: IcmpError) {
        if !seq.in_range(self.snd_una, self.snd_max) {
            return;
        }
        match error {
            IcmpError::Unreachable {
                code: 4,
                next_hop_mtu,
            } => {
                // Fragmentation needed and DF set (RFC 1191): our segments
                // are too big for the path; shrink and resend what was lost.
                // Below 68 bytes (RFC 791's minimum MTU) the report is bogus.
                let mtu = usize::from(next_hop_mtu);
                if mtu >= 68 {
                    let mss = mtu - 40;
                    if mss < usize::from(self.remote_mss) {
                        // Below a `u16`, so it fits.
                        self.remote_mss = mss as u16;
                        self.snd_nxt = self.snd_una;
                    }
                }
            }
            IcmpError::Unreachable { code: 2 | 3, .. } if self.hot.state == State::SynSent => {
                // Protocol or port unreachable for our SYN: nobody is there
                // (RFC 1122 §4.2.3.9 hard error).
                self.fail(TcpError::ConnectionRefused, false);
            }
            IcmpError::Unreachable {
                code: 0 | 6 | 9 | 11,
                ..
            } => {
                self.hot.soft_error = Some(TcpError::NetworkUnreachable);
            }
            IcmpError::Unreachable { .. } | IcmpError::TimeExceeded => {
                // Codes 1, 5 and the rest: soft errors (SHLD-25): tell the
                // application, keep the connection.
                self.hot.soft_error = Some(TcpError::HostUnreachable);
            }
        }
    }

    /// Fail the connection with `error` (timeout, reset) and move to CLOSED.
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    pub(crate) fn fail(&mut self, error: TcpError, send_rst: bool) {
        if send_rst && self.hot.state != State::Closed {
            self.set_pending_rst(Some(self.snd_nxt));
        }
        self.hot.error = Some(error);
        // A reset connection reports its error, not end of stream, and its
        // unread data is gone (as with BSD sockets).
        self.rx.clear();
        self.hot.flags.set(Flags::RX_FIN_RECEIVED, false);
        self.reset();
        self.hot.state = State::Closed;
    }
}
