//! Engine tests on one socket, segment by segment: the peer is played by
//! hand-built `TcpRepr`s, and what the socket sends is collected from
//! `dispatch`. Covers RFC 5961, RFC 7323 (window scaling, timestamps,
//! PAWS), RFC 2018 (SACK blocks) and the reassembly-slot limit.

use super::assembler::MAX_RANGES;
use super::output::Dispatched;
use super::scoreboard::LOG_CAPACITY;
use super::socket::{Flags, TcpSocket};
use super::{Endpoint, State, TcpStats};
use crate::time::{Duration, Instant};
use crate::wire::tcp::SackBlock;
use crate::wire::{Ipv4Address, SeqNumber, TcpFlags, TcpOptions, TcpRepr};
use std::vec;
use std::vec::Vec;

const LOCAL: Endpoint = Endpoint::new(Ipv4Address::new(10, 0, 0, 1), 80);
const REMOTE: Endpoint = Endpoint::new(Ipv4Address::new(10, 0, 0, 2), 40000);
const ISS: SeqNumber = SeqNumber(1_000_000);
const IRS: SeqNumber = SeqNumber(5_000);

/// A segment the socket sent, owned.
#[derive(Debug, Clone)]
struct Sent {
    flags: TcpFlags,
    seq: SeqNumber,
    ack: SeqNumber,
    window: u16,
    options: TcpOptions,
    payload: Vec<u8>,
}

struct Harness<const LOG: usize = LOG_CAPACITY> {
    sock: TcpSocket<'static, LOG>,
    stats: TcpStats,
    now: Instant,
    /// The device's segmentation offload limit `drain` passes (0: none).
    tso_max: usize,
}

fn peer_seg(flags: TcpFlags, seq: SeqNumber, ack: SeqNumber) -> TcpRepr<'static> {
    TcpRepr {
        src_port: REMOTE.port,
        dst_port: LOCAL.port,
        flags,
        seq_number: seq,
        ack_number: ack,
        window_len: 65535,
        urgent_pointer: 0,
        options: TcpOptions::default(),
        payload: &[],
    }
}

impl Harness {
    /// A passive open from a SYN with `syn_options`; returns the harness and
    /// our SYN-ACK.
    fn accept(syn_options: TcpOptions, rx: usize) -> (Harness, Sent) {
        Harness::accept_with_log(syn_options, rx)
    }

    /// Accept and complete the handshake with the peer's ACK.
    fn established(syn_options: TcpOptions) -> Harness {
        Harness::established_with_log(syn_options)
    }
}

impl<const LOG: usize> Harness<LOG> {
    /// `accept`, with a send log of `LOG` records.
    fn accept_with_log(syn_options: TcpOptions, rx: usize) -> (Harness<LOG>, Sent) {
        let rx: &'static mut [u8] = Vec::leak(vec![0u8; rx]);
        let tx: &'static mut [u8] = Vec::leak(vec![0u8; 65536]);
        let mut sock = TcpSocket::with_log(rx, tx);
        sock.set_nodelay(true);
        let mut syn = peer_seg(TcpFlags::SYN, IRS, SeqNumber(0));
        syn.options = syn_options;
        let now = Instant::from_secs(10);
        sock.accept_syn(now, LOCAL, REMOTE, &syn, ISS, 0, 1460);
        let mut h = Harness {
            sock,
            stats: TcpStats::default(),
            now,
            tso_max: 0,
        };
        let out = h.drain();
        assert_eq!(out.len(), 1, "expected one SYN-ACK, got {out:?}");
        (h, out[0].clone())
    }

    /// `established`, with a send log of `LOG` records.
    fn established_with_log(syn_options: TcpOptions) -> Harness<LOG> {
        let (mut h, _) = Harness::accept_with_log(syn_options, 65536);
        let mut ack = peer_seg(TcpFlags::ACK, IRS + 1, ISS + 1);
        ack.options.timestamp = syn_options.timestamp.map(|(v, _)| (v + 1, 0));
        h.input(&ack);
        assert_eq!(h.sock.state(), State::Established);
        assert!(h.drain().is_empty());
        h
    }

    fn input(&mut self, seg: &TcpRepr) {
        self.sock.process(self.now, seg, &mut self.stats);
    }

    /// Everything the socket sends now.
    fn drain(&mut self) -> Vec<Sent> {
        let mut out = Vec::new();
        for _ in 0..100 {
            let mut got = None;
            let r = self
                .sock
                .dispatch_next(self.now, &mut self.stats, self.tso_max, |_, repr| {
                    got = Some(Sent {
                        flags: repr.flags,
                        seq: repr.seq_number,
                        ack: repr.ack_number,
                        window: repr.window_len,
                        options: repr.options,
                        payload: repr.payload.to_vec(),
                    });
                    Ok::<usize, ()>(repr.payload.len())
                })
                .unwrap();
            match (got, r) {
                (Some(s), Dispatched::Sent) => out.push(s),
                (Some(s), Dispatched::SentLast(next)) => {
                    // The scheduler trusts this instead of planning again;
                    // carry on anyway (timers due now fire next turn).
                    assert_eq!(
                        next,
                        self.sock.poll_at().table_deadline(),
                        "dispatch's last deadline"
                    );
                    out.push(s);
                }
                (_, Dispatched::Idle(next)) => {
                    // The scheduler trusts this instead of planning again.
                    assert_eq!(
                        next,
                        self.sock.poll_at().table_deadline(),
                        "dispatch's idle deadline"
                    );
                    break;
                }
                _ => break,
            }
        }
        out
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
    }
}

fn data(seq: SeqNumber, payload: &'static [u8]) -> TcpRepr<'static> {
    let mut s = peer_seg(TcpFlags::ACK | TcpFlags::PSH, seq, ISS + 1);
    s.payload = payload;
    s
}

// ----- RFC 5961 -----

/// RFC 5961 §3.2: a RST exactly at RCV.NXT resets the connection.
#[test]
fn rst_at_rcv_nxt_resets() {
    let mut h = Harness::established(TcpOptions::default());
    h.input(&peer_seg(TcpFlags::RST, IRS + 1, SeqNumber(0)));
    assert_eq!(h.sock.state(), State::Closed);
    assert_eq!(h.sock.error(), Some(super::TcpError::ConnectionReset));
    assert!(h.drain().is_empty(), "a RST is never answered");
}

/// RFC 5961 §3.2: an in-window RST not at RCV.NXT draws a challenge ACK and
/// changes nothing.
#[test]
fn in_window_rst_draws_challenge_ack() {
    let mut h = Harness::established(TcpOptions::default());
    h.input(&peer_seg(TcpFlags::RST, IRS + 100, SeqNumber(0)));
    assert_eq!(h.sock.state(), State::Established);
    let out = h.drain();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].flags, TcpFlags::ACK);
    assert_eq!(out[0].seq, ISS + 1);
    assert_eq!(out[0].ack, IRS + 1);
    assert_eq!(h.stats.challenge_acks, 1);
}

/// RFC 5961 §3.2 / RFC 9293 §3.10.7.4: an out-of-window RST is dropped silently.
#[test]
fn out_of_window_rst_is_ignored() {
    let mut h = Harness::established(TcpOptions::default());
    h.input(&peer_seg(TcpFlags::RST, IRS + 1_000_000, SeqNumber(0)));
    assert_eq!(h.sock.state(), State::Established);
    assert!(h.drain().is_empty());
}

/// RFC 5961 §4: a SYN in a synchronized state draws a challenge ACK.
#[test]
fn syn_in_established_draws_challenge_ack() {
    let mut h = Harness::established(TcpOptions::default());
    h.input(&peer_seg(TcpFlags::SYN, IRS + 7, SeqNumber(0)));
    assert_eq!(h.sock.state(), State::Established);
    let out = h.drain();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].flags, TcpFlags::ACK);
    assert_eq!(out[0].ack, IRS + 1);
}

/// RFC 5961 §7: challenge ACKs are rate limited per connection.
#[test]
fn challenge_acks_are_rate_limited() {
    let mut h = Harness::established(TcpOptions::default());
    let limit = h.sock.config().challenge_ack_limit;
    let mut sent = 0;
    for i in 0..u32::from(limit) * 3 {
        h.input(&peer_seg(
            TcpFlags::RST,
            IRS + 10 + i as usize,
            SeqNumber(0),
        ));
        sent += h.drain().len();
    }
    assert_eq!(sent, usize::from(limit));
    // A second later the budget is back.
    h.advance(Duration::from_secs(1));
    h.input(&peer_seg(TcpFlags::RST, IRS + 10, SeqNumber(0)));
    assert_eq!(h.drain().len(), 1);
}

/// RFC 5961 §5.2: an ACK for data never sent is answered with an ACK and dropped.
#[test]
fn ack_beyond_snd_nxt_is_dropped_with_ack() {
    let mut h = Harness::established(TcpOptions::default());
    let mut seg = data(IRS + 1, b"hello");
    seg.ack_number = ISS + 5000;
    h.input(&seg);
    assert_eq!(
        h.sock.recv_queue(),
        0,
        "the segment's text must not be accepted"
    );
    let out = h.drain();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].ack, IRS + 1);
}

// ----- RFC 7323 -----

fn full_options() -> TcpOptions {
    TcpOptions {
        mss: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        timestamp: Some((1000, 0)),
        ..TcpOptions::default()
    }
}

/// RFC 7323 §2: scaling is offered back only when the peer offered it; the
/// SYN-ACK's own window is never scaled; later windows are.
#[test]
fn window_scaling_negotiation() {
    let (_, syn_ack) = Harness::accept(full_options(), 1 << 20);
    let shift = syn_ack.options.window_scale.expect("we offer scaling back");
    assert!(shift > 0, "a 1 MiB buffer needs a shift");
    assert_eq!(
        syn_ack.window, 0xffff,
        "the SYN-ACK window is unscaled, capped"
    );
    assert_eq!(syn_ack.options.sack_permitted, cfg!(feature = "sack"));
    assert!(syn_ack.options.timestamp.is_some());

    let (_, syn_ack) = Harness::accept(TcpOptions::default(), 1 << 20);
    assert_eq!(syn_ack.options.window_scale, None);
    assert!(!syn_ack.options.sack_permitted);
    assert_eq!(syn_ack.options.timestamp, None);
    assert_eq!(syn_ack.options.mss, Some(1460));
}

/// The ACK that completes a passive open yields one RTT sample, not two:
/// with timestamps the SYN-ACK was both timed and stamped, and only one of
/// them may count (RFC 6298 §2.2: the first sample sets SRTT = R and
/// RTTVAR = R/2; a second one of the same ACK would shrink RTTVAR to 3R/8).
#[test]
fn the_handshake_ack_is_one_rtt_sample() {
    for options in [full_options(), TcpOptions::default()] {
        let (mut h, syn_ack) = Harness::accept(options, 65536);
        h.advance(Duration::from_millis(400));
        let mut ack = peer_seg(TcpFlags::ACK, IRS + 1, ISS + 1);
        ack.options.timestamp = syn_ack.options.timestamp.map(|(tsval, _)| (1001, tsval));
        h.input(&ack);
        assert_eq!(h.sock.state(), State::Established);
        assert_eq!(h.sock.srtt(), Some(Duration::from_millis(400)));
        assert_eq!(
            h.sock.rtt.rttvar(),
            Duration::from_millis(200),
            "one sample of 400 ms ({options:?})"
        );
    }
}

/// The peer's window field is scaled by its shift once established.
#[test]
fn peer_window_is_scaled() {
    let mut h = Harness::established(full_options());
    let mut ack = peer_seg(TcpFlags::ACK, IRS + 1, ISS + 1);
    ack.window_len = 100;
    ack.options.timestamp = Some((1002, 0));
    h.input(&ack);
    assert_eq!(h.sock.send_window(), 100 << 7);
}

/// RFC 7323 §5: a segment whose TSval is older than TS.Recent is dropped
/// (and ACKed), its data not accepted.
#[test]
fn paws_drops_old_timestamps() {
    let mut h = Harness::established(full_options());
    let mut fresh = data(IRS + 1, b"abc");
    fresh.options.timestamp = Some((2000, 0));
    h.input(&fresh);
    assert_eq!(h.sock.recv_queue(), 3);
    let _ = h.drain();
    let mut old = data(IRS + 4, b"def");
    old.options.timestamp = Some((1500, 0));
    h.input(&old);
    assert_eq!(h.sock.recv_queue(), 3, "PAWS must reject the old segment");
    assert_eq!(h.stats.paws_dropped, 1);
    let out = h.drain();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].ack, IRS + 4);
    // Our ACK echoes the most recent valid TSval.
    assert_eq!(out[0].options.timestamp.map(|(_, ecr)| ecr), Some(2000));
}

// ----- RFC 2018 and reassembly -----

/// Out-of-order data is ACKed at once with SACK blocks, most recent first.
#[cfg(feature = "sack")]
#[test]
fn sack_blocks_most_recent_first() {
    let mut h = Harness::established(TcpOptions {
        sack_permitted: true,
        ..TcpOptions::default()
    });
    h.input(&data(IRS + 11, b"bbbbb"));
    let out = h.drain();
    assert_eq!(out.len(), 1, "out-of-order data is ACKed immediately");
    assert_eq!(out[0].ack, IRS + 1);
    assert_eq!(
        out[0].options.sack_blocks[..usize::from(out[0].options.sack_count)],
        [SackBlock {
            left: IRS + 11,
            right: IRS + 16
        }]
    );
    h.input(&data(IRS + 31, b"ccccc"));
    let out = h.drain();
    let blocks = &out[0].options.sack_blocks[..usize::from(out[0].options.sack_count)];
    assert_eq!(
        blocks,
        [
            SackBlock {
                left: IRS + 31,
                right: IRS + 36
            },
            SackBlock {
                left: IRS + 11,
                right: IRS + 16
            }
        ]
    );
    // Filling the first hole ACKs at once, past the first block.
    h.input(&data(IRS + 1, b"aaaaaaaaaa"));
    let out = h.drain();
    assert_eq!(out[0].ack, IRS + 16);
    assert_eq!(h.sock.recv_queue(), 15);
}

/// More holes than reassembly slots: the segment is dropped, counted, and
/// still ACKed; data that extends a held range is still taken.
#[test]
fn too_many_holes_drops_and_acks() {
    let mut h = Harness::established(TcpOptions::default());
    static BYTE: [u8; 1] = [b'x'];
    for i in 0..MAX_RANGES {
        h.input(&data(IRS + 1 + 10 * (i + 1), &BYTE));
    }
    let _ = h.drain();
    h.input(&data(IRS + 1 + 10 * (MAX_RANGES + 1), &BYTE));
    assert_eq!(h.stats.ooo_dropped, 1);
    let out = h.drain();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].ack, IRS + 1);
    h.input(&data(IRS + 1 + 10 + 1, &BYTE));
    assert_eq!(
        h.stats.ooo_dropped, 1,
        "extending a held range is always accepted"
    );
}

/// The peer's MSS bounds our segments, less the timestamp option (RFC 9293
/// §3.7.1: options come out of the MSS).
#[test]
fn peer_mss_bounds_segments() {
    let mut h = Harness::established(TcpOptions {
        mss: Some(500),
        timestamp: Some((1000, 0)),
        ..TcpOptions::default()
    });
    h.sock.send_slice(&[7u8; 4000]).unwrap();
    let out = h.drain();
    assert!(!out.is_empty());
    assert!(out.iter().all(|s| s.payload.len() <= 500 - 12), "{out:?}");
    assert_eq!(out[0].payload.len(), 488);
}

/// After an orderly close completes (LAST-ACK → CLOSED), reading still
/// reports end of stream rather than "not connected".
#[test]
fn eof_survives_the_close() {
    let mut h = Harness::established(TcpOptions::default());
    let mut fin = data(IRS + 1, b"bye");
    fin.flags |= TcpFlags::FIN;
    h.input(&fin);
    assert_eq!(h.sock.state(), State::CloseWait);
    h.sock.shutdown_send().unwrap();
    let out = h.drain();
    let our_fin = out.iter().find(|s| s.flags.fin()).expect("our FIN");
    h.input(&peer_seg(TcpFlags::ACK, IRS + 5, our_fin.seq + 1));
    assert_eq!(h.sock.state(), State::Closed);
    let mut buf = [0u8; 8];
    assert_eq!(h.sock.recv_slice(&mut buf), Ok(3));
    assert_eq!(&buf[..3], b"bye");
    assert_eq!(h.sock.recv_slice(&mut buf), Ok(0));
}

/// An established connection that the peer closes first and the
/// application, having let go of it (`ORPHANED`), closes second: once
/// its FIN is acknowledged (LAST-ACK → CLOSED) `finish` skips `reset`.
fn orphan_that_skipped_its_reset() -> Harness {
    let mut h = Harness::established(full_options());
    let mut fin = data(IRS + 1, b"bye");
    fin.flags |= TcpFlags::FIN;
    fin.options.timestamp = Some((1002, 0));
    h.input(&fin);
    assert_eq!(h.sock.send_slice(b"reply").unwrap(), 5);
    h.sock.hot.flags.set(Flags::ORPHANED, true);
    h.sock.shutdown_send().unwrap();
    h.advance(Duration::from_millis(3));
    let out = h.drain();
    let our_fin = out.iter().find(|s| s.flags.fin()).expect("our FIN");
    let fin_acked = our_fin.seq + our_fin.payload.len() + 1;
    let mut ack = peer_seg(TcpFlags::ACK, IRS + 5, fin_acked);
    ack.options.timestamp = Some((1003, 0));
    h.input(&ack);
    assert_eq!(h.sock.state(), State::Closed);
    // The reset was skipped: the old connection's state is still there.
    // (64-bit hosts skip the ACK step as well, `last_ack_closes`: SND.UNA
    // stays below the FIN and the send buffer, the send log and the
    // retransmission timer keep what they held, for the next owner to
    // clear too.)
    assert_eq!(h.sock.snd_max, fin_acked);
    assert!(h.sock.hot.flags.get(Flags::ORPHANED));
    h
}

/// An orphan's FIN acknowledged in FIN-WAIT-1 (`take_orphan_fin_ack`, the
/// short ACK step on 64-bit hosts) leaves everything that can still show,
/// on the wire or to the table, as the full ACK step leaves it for a
/// socket the application still holds: the same segments out, states,
/// receive side, SND.UNA, send window (MAX.SND.WND bounds which later
/// ACKs are acceptable), send buffer and next deadline, through
/// FIN-WAIT-2 or straight to TIME-WAIT, with or without timestamps.
#[cfg(target_pointer_width = "64")]
#[test]
fn orphan_fin_ack_leaves_what_the_full_ack_step_leaves() {
    use std::format;
    use std::string::String;
    for (options, ts) in [(full_options(), true), (TcpOptions::default(), false)] {
        for fin_with_ack in [true, false] {
            let mut traces: Vec<String> = Vec::new();
            for orphan in [false, true] {
                let mut h = Harness::established(options);
                let mut t = String::new();
                let mut req = data(IRS + 1, b"request");
                req.options.timestamp = ts.then_some((1002, 0));
                h.input(&req);
                assert_eq!(h.sock.send_slice(b"reply").unwrap(), 5);
                h.sock.hot.flags.set(Flags::ORPHANED, orphan);
                h.sock.shutdown_send().unwrap();
                h.advance(Duration::from_millis(3));
                let out = h.drain();
                let our_fin = out.iter().find(|s| s.flags.fin()).expect("our FIN");
                let fin_acked = our_fin.seq + our_fin.payload.len() + 1;
                t += &format!("{out:?}\n");
                let flags = if fin_with_ack {
                    TcpFlags::ACK | TcpFlags::FIN
                } else {
                    TcpFlags::ACK
                };
                let mut ack = peer_seg(flags, IRS + 8, fin_acked);
                ack.options.timestamp = ts.then_some((1003, 0));
                // A new window, which the send window must take.
                ack.window_len = 1000;
                h.advance(Duration::from_millis(2));
                assert_eq!(h.sock.orphan_fin_acked(&ack), orphan);
                h.input(&ack);
                let step = |h: &mut Harness, t: &mut String| {
                    let out = h.drain();
                    *t += &format!(
                        "{out:?} {:?} {:?} {:?} {:?} {:?} {} {} {} {:?}\n",
                        h.sock.state(),
                        h.sock.rcv_nxt,
                        h.sock.snd_una,
                        h.sock.snd_max,
                        (h.sock.snd_wl1, h.sock.snd_wl2),
                        h.sock.snd_wnd,
                        h.sock.max_snd_wnd,
                        h.sock.send_queue(),
                        h.sock.poll_at().table_deadline().total_micros()
                    );
                };
                step(&mut h, &mut t);
                if !fin_with_ack {
                    assert_eq!(h.sock.state(), State::FinWait2);
                    let mut fin = peer_seg(TcpFlags::ACK | TcpFlags::FIN, IRS + 8, fin_acked);
                    fin.options.timestamp = ts.then_some((1004, 0));
                    h.advance(Duration::from_millis(2));
                    h.input(&fin);
                    step(&mut h, &mut t);
                }
                assert_eq!(h.sock.state(), State::TimeWait);
                traces.push(t);
            }
            assert_eq!(
                traces[0], traces[1],
                "ts {ts}, FIN with the ACK {fin_with_ack}"
            );
        }
    }
}

/// The slot of an orphan that skipped its reset (`finish`) holds the old
/// connection's state until its next owner takes it; both ways a slot is
/// taken again (`accept_syn` for a listener's child, `reset` and
/// `forget_past` for `open`) must leave exactly what they leave in a
/// socket that never carried a connection.
#[test]
fn next_owner_of_an_orphan_that_skipped_its_reset_starts_fresh() {
    // Buffers of the harness's sizes: the window scale follows them.
    let (mut rx, mut tx) = (vec![0u8; 65536], vec![0u8; 65536]);
    let mut fresh = TcpSocket::<LOG_CAPACITY>::with_log(&mut rx[..], &mut tx[..]);

    // `open`.
    let mut h = orphan_that_skipped_its_reset();
    fresh.set_config(h.sock.config());
    fresh.local = h.sock.local;
    fresh.remote = h.sock.remote;
    assert_ne!(scrubbed(&h.sock), scrubbed(&fresh), "state left behind");
    h.sock.reset();
    h.sock.forget_past();
    assert_eq!(scrubbed(&h.sock), scrubbed(&fresh), "open");

    // A listener's child, from a SYN with every option.
    let mut h = orphan_that_skipped_its_reset();
    let mut syn = peer_seg(TcpFlags::SYN, IRS + 100_000, SeqNumber(0));
    syn.options = full_options();
    let now = h.now + Duration::from_secs(1);
    let iss = ISS + 200_000;
    h.sock.accept_syn(now, LOCAL, REMOTE, &syn, iss, 7, 1460);
    fresh.accept_syn(now, LOCAL, REMOTE, &syn, iss, 7, 1460);
    assert_eq!(scrubbed(&h.sock), scrubbed(&fresh), "accept_syn");
}

/// With a zero MSL, TIME-WAIT ends as soon as its ACK of the peer's FIN is
/// out: `send_next` closes the socket right after that ACK instead of on a
/// second visit at the same instant, and must leave it exactly as that
/// visit (`handle_timers`: `reset`, CLOSED) would, with nothing due.
/// 64-bit only: 32-bit targets skip the `quiet_after` shortcut (flash)
/// and close on that second visit instead.
#[cfg(target_pointer_width = "64")]
#[test]
fn zero_msl_time_wait_closes_as_its_ack_leaves() {
    use super::TcpConfig;
    let mut h = Harness::established(TcpOptions::default());
    h.sock.set_config(TcpConfig {
        msl: Duration::ZERO,
        ..h.sock.config()
    });
    h.sock.shutdown_send().unwrap();
    let out = h.drain();
    let our_fin = out.iter().find(|s| s.flags.fin()).expect("our FIN");
    let fin = peer_seg(TcpFlags::ACK | TcpFlags::FIN, IRS + 1, our_fin.seq + 1);
    h.input(&fin);
    assert_eq!(h.sock.state(), State::TimeWait);
    // One visit (`drain` would carry on and make the second).
    let mut ack = None;
    let r = h
        .sock
        .dispatch_next(h.now, &mut h.stats, 0, |_, repr| {
            ack = Some(repr.ack_number);
            Ok::<usize, ()>(0)
        })
        .unwrap();
    assert_eq!(ack, Some(IRS + 2), "the ACK of the FIN");
    assert_eq!(r, Dispatched::SentLast(Instant::MAX));
    assert_eq!(h.sock.state(), State::Closed);
    // Already reset: resetting again changes nothing.
    let closed = scrubbed(&h.sock);
    h.sock.reset();
    assert_eq!(scrubbed(&h.sock), closed);
}

/// TIME-WAIT's 2 × MSL takes the retransmission timer's word
/// (`Timers::rtx`): entering it through a simultaneous close (our FIN
/// still unacknowledged when the peer's arrives, so the retransmission
/// timer runs in CLOSING) leaves the end of TIME-WAIT as the socket's
/// only deadline, a retransmitted FIN restarts it, and when it is due the
/// socket closes without sending anything: it is never taken for a
/// retransmission timeout.
#[test]
fn time_wait_end_shares_the_retransmission_timer() {
    use super::output::PollAt;
    use super::TcpConfig;
    let mut h = Harness::established(TcpOptions::default());
    h.sock.set_config(TcpConfig {
        msl: Duration::from_secs(10),
        ..h.sock.config()
    });
    h.sock.shutdown_send().unwrap();
    let out = h.drain();
    let our_fin = out.iter().find(|s| s.flags.fin()).expect("our FIN").seq;
    // The peer's FIN crosses ours: CLOSING, our FIN still timed.
    h.input(&peer_seg(TcpFlags::ACK | TcpFlags::FIN, IRS + 1, our_fin));
    assert_eq!(h.sock.state(), State::Closing);
    assert!(
        !h.sock.timers.rtx.is_none(),
        "our FIN's retransmission timer"
    );
    let out = h.drain();
    assert!(
        out.iter().all(|s| !s.flags.fin()),
        "no FIN resent yet: {out:?}"
    );
    // The ACK of our FIN: TIME-WAIT for 20 s from now.
    h.advance(Duration::from_millis(100));
    h.input(&peer_seg(TcpFlags::ACK, IRS + 2, our_fin + 1));
    assert_eq!(h.sock.state(), State::TimeWait);
    assert!(h.drain().is_empty());
    let end = h.now + Duration::from_secs(20);
    assert_eq!(h.sock.poll_at(), PollAt::Time(end));
    // A retransmitted FIN is acknowledged and restarts the wait.
    h.advance(Duration::from_secs(5));
    h.input(&peer_seg(
        TcpFlags::ACK | TcpFlags::FIN,
        IRS + 1,
        our_fin + 1,
    ));
    let out = h.drain();
    assert_eq!(out.len(), 1, "the ACK of the FIN: {out:?}");
    assert_eq!(out[0].ack, IRS + 2);
    let end = h.now + Duration::from_secs(20);
    assert_eq!(h.sock.poll_at(), PollAt::Time(end));
    // Just before the end: still waiting, nothing sent (no RTO resend).
    h.now = end - Duration::from_micros(1);
    assert!(h.drain().is_empty());
    assert_eq!(h.sock.state(), State::TimeWait);
    // At the end: closed, still nothing sent.
    h.now = end;
    assert!(h.drain().is_empty());
    assert_eq!(h.sock.state(), State::Closed);
    assert_eq!(h.stats.timeouts, 0);
}

/// The SYN-ACK to a SYN carrying text acknowledges the SYN alone
/// (§3.10.7.2: <ACK=RCV.NXT>, RCV.NXT = SEG.SEQ+1); the text is resent.
#[test]
fn syn_ack_acknowledges_only_the_syn() {
    let rx: &'static mut [u8] = Vec::leak(vec![0u8; 4096]);
    let tx: &'static mut [u8] = Vec::leak(vec![0u8; 4096]);
    let mut sock = TcpSocket::new(rx, tx);
    let mut syn = peer_seg(TcpFlags::SYN, IRS, SeqNumber(0));
    syn.payload = b"early";
    let now = Instant::from_secs(1);
    sock.accept_syn(now, LOCAL, REMOTE, &syn, ISS, 0, 1460);
    let mut h = Harness {
        sock,
        stats: TcpStats::default(),
        now,
        tso_max: 0,
    };
    let out = h.drain();
    assert_eq!(out[0].flags, TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!(out[0].ack, IRS + 1);
}

/// Text and FIN on a SYN-ACK are processed (§3.10.7.3: "continue processing
/// at the sixth step").
#[test]
fn data_on_syn_ack_is_taken() {
    let rx: &'static mut [u8] = Vec::leak(vec![0u8; 4096]);
    let tx: &'static mut [u8] = Vec::leak(vec![0u8; 4096]);
    let mut h = Harness {
        sock: TcpSocket::new(rx, tx),
        stats: TcpStats::default(),
        now: Instant::from_secs(1),
        tso_max: 0,
    };
    h.sock.hot.state = State::SynSent;
    h.sock.local = LOCAL;
    h.sock.remote = REMOTE;
    (h.sock.iss, h.sock.snd_una, h.sock.snd_nxt, h.sock.snd_max) = (ISS, ISS, ISS + 1, ISS + 1);
    let mut syn_ack = peer_seg(TcpFlags::SYN | TcpFlags::ACK | TcpFlags::FIN, IRS, ISS + 1);
    syn_ack.payload = b"hello";
    h.input(&syn_ack);
    assert_eq!(h.sock.state(), State::CloseWait);
    let out = h.drain();
    assert_eq!(out[0].ack, IRS + 7, "SYN, five bytes and the FIN");
    let mut buf = [0u8; 8];
    assert_eq!(h.sock.recv_slice(&mut buf), Ok(5));
    assert_eq!(h.sock.recv_slice(&mut buf), Ok(0));
}

/// Keep-alive switched on for an idle established connection takes effect
/// without waiting for another segment (§3.8.4).
#[test]
#[cfg(feature = "keep-alive")]
fn keepalive_enabled_later_is_scheduled() {
    use super::output::PollAt;
    let mut h = Harness::established(TcpOptions::default());
    assert_eq!(h.sock.poll_at(), PollAt::Ingress);
    let mut config = h.sock.config();
    config.keep_alive = Some(super::KeepAlive {
        idle: Duration::from_secs(10),
        interval: Duration::from_secs(1),
        count: 2,
    });
    h.sock.set_config(config);
    assert_eq!(
        h.sock.poll_at(),
        PollAt::Time(h.now + Duration::from_secs(10))
    );
    h.advance(Duration::from_secs(10));
    let out = h.drain();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].seq, ISS, "a keep-alive probe is SND.NXT - 1");
}

/// Karn (RFC 6298 §5, MUST-18): an ACK for retransmitted data does not
/// undo the backoff; only a timed, never-retransmitted segment does.
#[test]
fn ack_of_retransmission_keeps_backoff() {
    let mut h = Harness::established(TcpOptions::default());
    h.sock.send_slice(b"data").unwrap();
    assert_eq!(h.drain().len(), 1);
    let rto = h.sock.rto();
    h.advance(rto);
    assert_eq!(h.drain().len(), 1, "retransmission");
    let backed_off = h.sock.rto();
    assert_eq!(backed_off, rto.saturating_mul(2));
    h.input(&peer_seg(TcpFlags::ACK, IRS + 1, ISS + 5));
    assert_eq!(h.sock.rto(), backed_off);
}

// ----- ICMP errors (RFC 9293 §3.9.2.2, RFC 1191, RFC 5927) -----

/// Host unreachable is a soft error: reported, the connection carries on,
/// and a later timeout reports it instead of "timed out" (MUST-54, SHLD-25).
#[test]
fn icmp_host_unreachable_is_soft_and_reported_on_timeout() {
    use super::{IcmpError, TcpError};
    let mut h = Harness::established(TcpOptions::default());
    h.sock.send_slice(b"data").unwrap();
    assert_eq!(h.drain().len(), 1);
    h.sock.on_icmp_error(
        ISS + 1,
        IcmpError::Unreachable {
            code: 1,
            next_hop_mtu: 0,
        },
    );
    assert_eq!(h.sock.state(), State::Established);
    assert_eq!(h.sock.soft_error(), Some(TcpError::HostUnreachable));
    let user_timeout = h.sock.config().user_timeout;
    for _ in 0..40 {
        h.advance(Duration::from_secs(10));
        let _ = h.drain();
        if h.sock.state() == State::Closed {
            break;
        }
        if h.now > Instant::from_secs(10) + user_timeout + Duration::from_secs(60) {
            break;
        }
    }
    assert_eq!(h.sock.state(), State::Closed);
    assert_eq!(h.sock.error(), Some(TcpError::HostUnreachable));
}

/// An ICMP error quoting a sequence number not in flight is ignored
/// (RFC 5927 §4.1: a blind attacker does not know it).
#[test]
fn icmp_error_outside_the_window_is_ignored() {
    use super::IcmpError;
    let mut h = Harness::established(TcpOptions::default());
    h.sock.send_slice(b"data").unwrap();
    let _ = h.drain();
    let mss = h.sock.mss();
    h.sock.on_icmp_error(
        ISS + 100_000,
        IcmpError::Unreachable {
            code: 1,
            next_hop_mtu: 0,
        },
    );
    assert_eq!(h.sock.soft_error(), None);
    h.sock.on_icmp_error(
        ISS + 100_000,
        IcmpError::Unreachable {
            code: 4,
            next_hop_mtu: 300,
        },
    );
    assert_eq!(h.sock.mss(), mss);
}

/// Fragmentation needed (RFC 1191): the MSS drops to the next-hop MTU less
/// 40 and the lost data is resent in smaller segments at once.
#[test]
fn icmp_frag_needed_shrinks_segments() {
    use super::IcmpError;
    let mut h = Harness::established(TcpOptions {
        mss: Some(1460),
        ..TcpOptions::default()
    });
    h.sock.send_slice(&[1u8; 3000]).unwrap();
    let first = h.drain();
    assert_eq!(first[0].payload.len(), 1460);
    h.sock.on_icmp_error(
        ISS + 1,
        IcmpError::Unreachable {
            code: 4,
            next_hop_mtu: 1000,
        },
    );
    assert_eq!(h.sock.mss(), 960);
    let again = h.drain();
    assert!(!again.is_empty());
    assert_eq!(again[0].seq, ISS + 1, "resent from SND.UNA");
    assert!(again.iter().all(|s| s.payload.len() <= 960), "{again:?}");
}

/// Port unreachable for our SYN: nobody listens there.
#[test]
fn icmp_port_unreachable_refuses_a_connect() {
    use super::{IcmpError, TcpError};
    let rx: &'static mut [u8] = Vec::leak(vec![0u8; 1024]);
    let tx: &'static mut [u8] = Vec::leak(vec![0u8; 1024]);
    let mut sock = TcpSocket::new(rx, tx);
    sock.hot.state = State::SynSent;
    (sock.iss, sock.snd_una, sock.snd_nxt, sock.snd_max) = (ISS, ISS, ISS + 1, ISS + 1);
    sock.on_icmp_error(
        ISS,
        IcmpError::Unreachable {
            code: 3,
            next_hop_mtu: 0,
        },
    );
    assert_eq!(sock.state(), State::Closed);
    assert_eq!(sock.error(), Some(TcpError::ConnectionRefused));
}

// ----- reset -----

/// `Debug` text of a socket without the parts `reset` leaves stale on
/// purpose: buffer storage, and the send-log records and assembler ranges
/// past their lengths (never read).
fn scrubbed(sock: &TcpSocket<'_>) -> std::string::String {
    let mut s = std::format!("{sock:?}");
    for (from, to) in [
        ("storage: ", ", read_at"),
        ("records: [", "], head"),
        // The stamps (with `sack`) follow the ranges; past `count`
        // neither is read.
        ("ranges: [", ", count"),
    ] {
        let mut at = 0;
        while let Some(i) = s.get(at..).and_then(|t| t.find(from)).map(|i| i + at) {
            let j = s[i..].find(to).map(|j| i + j).expect("field end");
            s.replace_range(i + from.len()..j, "..");
            at = i + from.len();
        }
    }
    s
}

/// `reset` (which rewrites fields in place instead of building a new
/// socket) leaves exactly the state `new` builds, apart from what it keeps
/// on purpose (configuration, endpoints, buffers).
#[test]
fn reset_matches_new() {
    let mut h = Harness::established(full_options());
    // Out-of-order data fills the assembler, our data fills the send log.
    let mut ooo = data(IRS + 11, b"later");
    ooo.options.timestamp = Some((1002, 0));
    h.input(&ooo);
    assert_eq!(h.sock.send_slice(b"hello").unwrap(), 5);
    h.advance(Duration::from_millis(1));
    assert!(!h.drain().is_empty());
    assert!(!h.sock.assembler.is_empty());
    assert!(!h.sock.rec.log.is_empty());

    h.sock.reset();
    h.sock.forget_past();
    let (mut rx, mut tx) = ([0u8; 8], [0u8; 8]);
    let mut fresh = TcpSocket::new(&mut rx[..], &mut tx[..]);
    fresh.set_config(h.sock.config());
    fresh.local = h.sock.local;
    fresh.remote = h.sock.remote;
    assert_eq!(scrubbed(&h.sock), scrubbed(&fresh));
}

/// The optional sequence numbers kept as a value and a flag (recovery
/// point, the peer's FIN, an owed RST) read back as what was set, for
/// values at both ends of the sequence space (so no sentinel value can
/// stand for "none"), and `reset` clears the first two but keeps the RST.
#[test]
fn value_and_flag_sequence_numbers_round_trip() {
    let (mut rx, mut tx) = ([0u8; 8], [0u8; 8]);
    let mut sock = TcpSocket::new(&mut rx[..], &mut tx[..]);
    assert_eq!(sock.recover(), None);
    assert_eq!(sock.rcv_fin(), None);
    assert!(sock.pending_rst().is_none());
    for v in [SeqNumber(0), SeqNumber(1), SeqNumber(u32::MAX), ISS] {
        sock.set_recover(Some(v));
        assert_eq!(sock.recover(), Some(v));
        assert!(sock.hot.flags.get(Flags::RECOVERING));
        sock.set_rcv_fin(v);
        assert_eq!(sock.rcv_fin(), Some(v));
        sock.set_pending_rst(Some(v));
        assert_eq!(sock.pending_rst().map(|r| (r.seq, r.ack)), Some((v, None)));
        sock.set_recover(None);
        assert_eq!(sock.recover(), None);
        assert!(!sock.hot.flags.get(Flags::RECOVERING));
    }
    sock.set_recover(Some(ISS));
    sock.reset();
    assert_eq!(sock.recover(), None);
    assert_eq!(sock.rcv_fin(), None);
    // A RST still owed goes out after the reset that closed the socket.
    assert_eq!(sock.pending_rst().map(|r| r.seq), Some(ISS));
    sock.set_pending_rst(None);
    assert!(sock.pending_rst().is_none());
}

// ----- a small send log -----

/// With a send log far smaller than the flight (2 and 4 records for 8
/// segments), SACK blocks the log cannot split are ignored and new
/// transmissions share records, but recovery still resends the hole and a
/// cumulative ACK leaves the log empty and its byte counts at zero.
#[test]
fn a_small_send_log_still_recovers() {
    small_log_recovers::<4>();
    small_log_recovers::<2>();
    small_log_recovers::<LOG_CAPACITY>();
}

fn small_log_recovers<const LOG: usize>() {
    let mut h = Harness::<LOG>::established_with_log(full_options());
    let payload = [7u8; 1448 * 8];
    assert_eq!(h.sock.send_slice(&payload).unwrap(), payload.len());
    let sent = h.drain();
    let data: Vec<&Sent> = sent.iter().filter(|s| !s.payload.is_empty()).collect();
    assert!(data.len() >= 2, "LOG {LOG}: sent {} segments", data.len());
    assert!(h.sock.rec.log.len() <= LOG);
    let first = data[0].seq;
    let end = data.last().map(|s| s.seq + s.payload.len()).unwrap();
    // The first segment is lost: the peer SACKs everything after it, three
    // times (RFC 6675 §5 / RFC 5681 duplicate ACKs).
    let mut tsval = 2000;
    let mut resent = false;
    for _ in 0..3 {
        tsval += 1;
        let mut dup = peer_seg(TcpFlags::ACK, IRS + 1, first);
        dup.options.timestamp = Some((tsval, 0));
        dup.options.sack_blocks[0] = SackBlock {
            left: data[1].seq,
            right: end,
        };
        dup.options.sack_count = 1;
        h.input(&dup);
        resent |= h
            .drain()
            .iter()
            .any(|s| s.seq == first && !s.payload.is_empty());
    }
    // Fast retransmit when the log could record the SACK, else a tail loss
    // probe or the retransmission timer (the hand-built handshake's TSecr
    // of 0 makes the RTO long: up to a minute here).
    for _ in 0..120 {
        if resent {
            break;
        }
        h.advance(Duration::from_millis(500));
        resent |= h
            .drain()
            .iter()
            .any(|s| s.seq == first && !s.payload.is_empty());
    }
    assert!(resent, "LOG {LOG}: the lost segment was not resent");
    // Everything sent so far (limited transmit may have sent more) arrives.
    let all = h.sock.snd_max;
    assert!(all >= end);
    let mut ack = peer_seg(TcpFlags::ACK, IRS + 1, all);
    ack.options.timestamp = Some((tsval + 1, 0));
    h.input(&ack);
    assert_eq!(h.sock.snd_una, all, "LOG {LOG}");
    assert!(h.sock.rec.log.is_empty(), "LOG {LOG}");
    assert_eq!(h.sock.rec.log.sacked_bytes(), 0, "LOG {LOG}");
    assert_eq!(h.sock.rec.log.lost_bytes(), 0, "LOG {LOG}");
}

// ----- Acceptability at the edges: no ACK loops -----

/// A harness whose receive window is `rx` bytes.
fn established_with_window(rx: usize) -> Harness {
    let (mut h, _) = Harness::accept(TcpOptions::default(), rx);
    h.input(&peer_seg(TcpFlags::ACK, IRS + 1, ISS + 1));
    assert_eq!(h.sock.state(), State::Established);
    assert!(h.drain().is_empty());
    h
}

/// A plain ACK exactly at RCV.NXT+RCV.WND (where a peer that filled our
/// window and lost it all sends its ACKs) is taken: its window update
/// counts and it draws no reply.
#[test]
fn ack_at_the_right_edge_of_the_window_is_taken() {
    let mut h = established_with_window(1000);
    let wnd = h.sock.recv_window();
    assert!(wnd > 0);
    let mut ack = peer_seg(TcpFlags::ACK, IRS + 1 + wnd, ISS + 1);
    ack.window_len = 777;
    h.input(&ack);
    assert_eq!(h.sock.send_window(), 777, "the ACK's window was not taken");
    assert!(h.drain().is_empty(), "an acceptable ACK needs no answer");
    // One past the edge is still unacceptable, and answered.
    let mut ack = peer_seg(TcpFlags::ACK, IRS + 2 + wnd, ISS + 1);
    ack.window_len = 555;
    h.input(&ack);
    assert_eq!(h.sock.send_window(), 777);
    assert_eq!(h.drain().len(), 1);
}

/// MUST-66: with our window closed, a zero-window probe at RCV.NXT is
/// refused but its ACK is taken (here it acknowledges our data).
#[test]
fn zero_window_probe_ack_is_taken() {
    let mut h = established_with_window(100);
    let wnd = h.sock.recv_window();
    let fill: &'static [u8] = Vec::leak(vec![7u8; wnd]);
    h.input(&data(IRS + 1, fill));
    h.drain();
    assert_eq!(h.sock.recv_window(), 0);
    assert_eq!(h.sock.send_slice(b"abcdef"), Ok(6));
    let out = h.drain();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].payload, b"abcdef");
    // The peer's probe acknowledges all six bytes.
    let mut probe = data(IRS + 1 + wnd, b"x");
    probe.ack_number = ISS + 7;
    h.input(&probe);
    assert_eq!(h.sock.send_queue(), 0, "the probe's ACK was not taken");
    assert_eq!(h.sock.recv_queue(), wnd, "the probe's text was taken");
    let out = h.drain();
    assert_eq!(out.len(), 1, "the probe is answered with our window");
    assert_eq!((out[0].ack, out[0].window), (IRS + 1 + wnd, 0));
}

/// A segment without data carries SND.MAX, even past the peer's window as
/// last heard: after a zero-window probe, the peer may have taken the
/// probe's byte (its window reopened) while its ACKs, and with them its new
/// window, are still on the way. The probe's sequence number there would
/// lie below the peer's RCV.NXT and the peer would drop our ACK; two ends
/// in that state dropped each other's ACKs until the user timeout
/// (`sim_seeds`, seed 66238, on the smallest engine).
#[test]
fn an_ack_after_a_zero_window_probe_carries_snd_max() {
    let mut h = Harness::established(TcpOptions::default());
    let mut closed = peer_seg(TcpFlags::ACK, IRS + 1, ISS + 1);
    closed.window_len = 0;
    h.input(&closed);
    assert_eq!(h.sock.send_slice(b"abc"), Ok(3));
    assert!(h.drain().is_empty(), "nothing goes into a closed window");
    let mut probe = Vec::new();
    for _ in 0..10 {
        h.advance(Duration::from_secs(1));
        probe = h.drain();
        if !probe.is_empty() {
            break;
        }
    }
    assert_eq!(probe.len(), 1, "one zero-window probe");
    assert_eq!((probe[0].seq, probe[0].payload.len()), (ISS + 1, 1));
    // An old duplicate from the peer draws an ACK at once; the peer's
    // window is still zero as far as we know.
    let mut old = peer_seg(TcpFlags::ACK, IRS, ISS + 1);
    old.window_len = 0;
    h.input(&old);
    let out = h.drain();
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(out[0].payload.is_empty());
    assert_eq!(out[0].seq, ISS + 2, "the ACK is not at SND.MAX");
}

/// Unacceptable zero-length segments are answered at most once per
/// 500 ms (two ends that refuse each other's ACKs would otherwise ACK
/// each other forever); unacceptable data is always answered.
#[test]
fn replies_to_unacceptable_acks_are_rate_limited() {
    let mut h = established_with_window(1000);
    let mut answered = 0;
    for _ in 0..10 {
        h.input(&peer_seg(TcpFlags::ACK, IRS, ISS + 1));
        answered += h.drain().len();
        h.advance(Duration::from_millis(10));
    }
    assert_eq!(answered, 1);
    h.advance(Duration::from_millis(500));
    h.input(&peer_seg(TcpFlags::ACK, IRS, ISS + 1));
    assert_eq!(h.drain().len(), 1, "the budget comes back after 500 ms");
    for _ in 0..3 {
        h.input(&data(IRS - 5, b"old"));
        assert_eq!(h.drain().len(), 1, "old data is always acknowledged");
    }
}

/// RFC 2018 §8: after a retransmission timeout the segment at the left
/// edge is resent even though the peer SACKed it (it may have reneged).
#[test]
fn rto_resends_the_left_edge_even_when_sacked() {
    let opts = TcpOptions {
        sack_permitted: true,
        ..TcpOptions::default()
    };
    let mut h = Harness::established(opts);
    let payload = [5u8; 3000];
    assert_eq!(h.sock.send_slice(&payload), Ok(3000));
    let out = h.drain();
    assert!(!out.is_empty());
    let first_len = out[0].payload.len();
    let sent: usize = out.iter().map(|s| s.payload.len()).sum();
    // The peer SACKs everything sent (a receiver that will renege), but
    // acknowledges nothing cumulatively.
    let mut ack = peer_seg(TcpFlags::ACK, IRS + 1, ISS + 1);
    ack.options.sack_blocks[0] = SackBlock {
        left: ISS + 1,
        right: ISS + 1 + sent,
    };
    ack.options.sack_count = 1;
    h.input(&ack);
    let out = h.drain();
    assert!(
        out.iter().all(|s| s.seq >= ISS + 1 + sent),
        "nothing SACKed is resent before the timeout: {out:?}"
    );
    h.advance(h.sock.rto());
    h.advance(Duration::from_millis(1));
    let out = h.drain();
    assert!(!out.is_empty(), "the RTO resent nothing");
    assert_eq!(out[0].seq, ISS + 1, "the left edge goes first");
    assert_eq!(out[0].payload.len(), first_len);
}

/// RFC 6298 §5.6: when the retransmission timer expires it is restarted
/// at once, so a resend that cannot leave yet (the interface is resolving
/// the neighbour again, MUST-20) does not leave the data without a timer.
#[test]
fn a_resend_held_back_keeps_the_timer_running() {
    use super::output::PollAt;
    let mut h = Harness::established(TcpOptions::default());
    h.sock.send_slice(b"data").unwrap();
    assert_eq!(h.drain().len(), 1);
    h.advance(h.sock.rto());
    // The device refuses the resend.
    let held = h
        .sock
        .dispatch(h.now, &mut h.stats, |_, _| Err::<usize, ()>(()));
    assert_eq!(held, Err(()));
    // The resend is still due, and the timer runs behind it.
    assert_eq!(h.sock.poll_at(), PollAt::Now);
    assert!(
        h.sock
            .timers
            .get(h.sock.timers.rtx)
            .is_some_and(|t| t > h.now),
        "no retransmission timer after a held resend: {:?}",
        h.sock.timers
    );
    let out = h.drain();
    assert_eq!(out.len(), 1, "the resend leaves when the device takes it");
    assert_eq!(out[0].payload, b"data");
}

/// RFC 3708 §3.2: a D-SACK undoes a congestion response only when it
/// reports one of that episode's resends. The peer repeating an older
/// episode's D-SACK must not undo a later timeout (a fuzzed run had the
/// undo clear the loss marks of a resend still waiting to leave, which
/// left a byte in flight with nothing to send it again). Undo is its own
/// feature: with `sack` alone no D-SACK undoes anything.
#[cfg(all(feature = "sack", feature = "undo"))]
#[test]
fn a_stale_dsack_does_not_undo_a_later_timeout() {
    let opts = TcpOptions {
        sack_permitted: true,
        ..TcpOptions::default()
    };
    let mut h = Harness::established(opts);
    let dsack = |ack: SeqNumber, left: SeqNumber, right: SeqNumber| {
        let mut seg = peer_seg(TcpFlags::ACK, IRS + 1, ack);
        seg.options.sack_blocks[0] = SackBlock { left, right };
        seg.options.sack_count = 1;
        seg
    };
    // Episode 1: a timeout resends 100 bytes, and the peer reports both
    // copies arrived.
    h.sock.send_slice(&[1u8; 100]).unwrap();
    assert_eq!(h.drain().len(), 1);
    h.advance(h.sock.rto());
    assert_eq!(h.drain().len(), 1, "first resend");
    let first = dsack(ISS + 101, ISS + 1, ISS + 101);
    h.input(&first);
    let undos = h.stats.spurious_undos;
    // Episode 2: new data, another timeout and resend.
    h.sock.send_slice(&[2u8; 100]).unwrap();
    assert_eq!(h.drain().len(), 1);
    h.advance(h.sock.rto());
    assert_eq!(h.drain().len(), 1, "second resend");
    // The old D-SACK again, on a duplicate ACK.
    h.input(&first);
    assert_eq!(
        h.stats.spurious_undos, undos,
        "a D-SACK from the first episode undid the second"
    );
    // This episode's own D-SACK does undo it.
    h.input(&dsack(ISS + 201, ISS + 101, ISS + 201));
    assert_eq!(h.stats.spurious_undos, undos + 1);
}

/// Without the `urgent` feature a URG segment's octets are delivered as
/// ordinary data, the application is never told of urgent data, and
/// `send_urgent` refuses with a typed error, queueing nothing (with the
/// feature the same segment raises the urgent notice).
#[test]
fn urgent_data_with_and_without_the_feature() {
    let mut h = Harness::established(TcpOptions::default());
    let mut seg = data(IRS + 1, b"abcd");
    seg.flags |= TcpFlags::URG;
    seg.urgent_pointer = 2;
    h.input(&seg);
    let mut buf = [0u8; 8];
    assert_eq!(h.sock.recv_slice(&mut buf), Ok(4));
    assert_eq!(&buf[..4], b"abcd");
    let sent = h.sock.send_urgent(b"!");
    if cfg!(feature = "urgent") {
        assert!(h.sock.take_urgent_signal());
        assert_eq!(sent, Ok(1));
        let out = h.drain();
        assert!(
            out.iter().any(|s| s.flags.contains(TcpFlags::URG)),
            "{out:?}"
        );
    } else {
        assert!(!h.sock.take_urgent_signal());
        assert!(!h.sock.urgent_pending());
        assert_eq!(sent, Err(super::TcpError::Unsupported));
        assert!(h
            .drain()
            .iter()
            .all(|s| s.payload.is_empty() && !s.flags.contains(TcpFlags::URG)));
    }
}

/// Without the `source-route` feature a socket cannot be given a route
/// (a typed error) and never has one; clearing is accepted.
#[test]
fn source_route_with_and_without_the_feature() {
    use crate::wire::{RouteKind, SourceRoute};
    let mut h = Harness::established(TcpOptions::default());
    let route = SourceRoute::new(RouteKind::Loose, &[Ipv4Address::new(10, 0, 9, 1)]).unwrap();
    assert_eq!(h.sock.set_source_route(None), Ok(()));
    if cfg!(feature = "source-route") {
        assert_eq!(h.sock.set_source_route(Some(route)), Ok(()));
        assert_eq!(h.sock.source_route(), Some(&route));
    } else {
        assert_eq!(
            h.sock.set_source_route(Some(route)),
            Err(super::TcpError::Unsupported)
        );
        assert_eq!(h.sock.source_route(), None);
    }
}

/// Without the `sack` feature SACK is not negotiated even when the peer and
/// the configuration ask for it, and out-of-order data draws a plain
/// duplicate ACK with no SACK blocks.
#[test]
fn sack_with_and_without_the_feature() {
    let opts = TcpOptions {
        sack_permitted: true,
        ..TcpOptions::default()
    };
    let mut h = Harness::established(opts);
    assert_eq!(h.sock.negotiated_options().sack, cfg!(feature = "sack"));
    h.input(&data(IRS + 11, b"later"));
    let out = h.drain();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].ack, IRS + 1);
    assert_eq!(out[0].options.sack_count > 0, cfg!(feature = "sack"));
}

/// Eifel (RFC 3522): an ACK of a timed-out segment echoing the original's
/// timestamp shows the timeout spurious, and the `undo` feature undoes the
/// response; without the feature it stands.
#[test]
fn eifel_undo_with_and_without_the_feature() {
    let mut h = Harness::established(full_options());
    h.sock.send_slice(&[1u8; 100]).unwrap();
    let first = h.drain();
    assert_eq!(first.len(), 1);
    let (tsval, _) = first[0].options.timestamp.expect("timestamps are on");
    h.advance(h.sock.rto());
    let resend = h.drain();
    assert_eq!(resend.len(), 1, "the timeout resends");
    assert_ne!(resend[0].options.timestamp.map(|t| t.0), Some(tsval));
    let mut ack = peer_seg(TcpFlags::ACK, IRS + 1, ISS + 101);
    ack.options.timestamp = Some((2000, tsval));
    h.input(&ack);
    assert_eq!(h.stats.spurious_undos, u64::from(cfg!(feature = "undo")));
}

// ----- TCP segmentation offload -----

/// Payload per segment with the timestamp option (`full_options`).
const TS_MSS: usize = 1460 - 12;

/// With a device that segments (TSO), new data leaves as one segment of
/// several whole MSS, within the congestion window; what is lost of it is
/// resent one MSS at a time (RFC 6675 NextSeg works on the log's records,
/// which SACK blocks split), and the rest is never resent.
#[test]
#[cfg(all(feature = "sack", feature = "tso"))]
fn tso_sends_super_segments_and_resends_mss_pieces() {
    let mut h = Harness::established(full_options());
    h.tso_max = 65535;
    let payload = [7u8; TS_MSS * 30];
    assert_eq!(h.sock.send_slice(&payload).unwrap(), payload.len());
    let sent = h.drain();
    let data: Vec<&Sent> = sent.iter().filter(|s| !s.payload.is_empty()).collect();
    assert!(!data.is_empty());
    let first = data[0].seq;
    let first_len = data[0].payload.len();
    assert!(first_len > TS_MSS, "no super-segment: {first_len} bytes");
    assert_eq!(first_len % TS_MSS, 0, "not whole segments: {first_len}");
    assert!(first_len <= h.sock.rec.log.len() * 65535);
    assert_eq!(h.stats.segments_offloaded, data.len() as u64);
    let end = data.last().map(|s| s.seq + s.payload.len()).unwrap();
    assert!(
        end - first <= 4 * 1460,
        "beyond the initial window (RFC 3390): {}",
        end - first
    );
    // The first two MSS are lost; the peer SACKs the rest of the burst.
    let hole_end = first + 2 * TS_MSS;
    let mut tsval = 2000;
    let mut resent: Vec<Sent> = Vec::new();
    for _ in 0..3 {
        tsval += 1;
        let mut dup = peer_seg(TcpFlags::ACK, IRS + 1, first);
        dup.options.timestamp = Some((tsval, 0));
        dup.options.sack_blocks[0] = SackBlock {
            left: hole_end,
            right: end,
        };
        dup.options.sack_count = 1;
        h.input(&dup);
        resent.extend(
            h.drain()
                .into_iter()
                .filter(|s| s.seq < end && !s.payload.is_empty()),
        );
    }
    assert!(!resent.is_empty(), "no fast retransmit");
    assert!(h.stats.retransmissions > 0);
    for s in &resent {
        assert!(
            s.payload.len() <= TS_MSS,
            "retransmission of {}",
            s.payload.len()
        );
        assert!(
            s.seq >= first && s.seq + s.payload.len() <= hole_end,
            "resent SACKed data at {:?}",
            s.seq
        );
    }
    assert_eq!(resent[0].seq, first);
    // The hole is filled: everything sent so far is acknowledged.
    let all = h.sock.snd_max;
    let mut ack = peer_seg(TcpFlags::ACK, IRS + 1, all);
    ack.options.timestamp = Some((tsval + 1, 0));
    h.input(&ack);
    assert_eq!(h.sock.snd_una, all);
    assert!(h.sock.rec.log.is_empty());
}

/// Without SACK on the connection a TSO device gets MSS-sized segments
/// only (`new_data_limit`).
#[test]
#[cfg(feature = "tso")]
fn tso_needs_sack() {
    let mut opts = full_options();
    opts.sack_permitted = false;
    let mut h = Harness::established(opts);
    h.tso_max = 65535;
    assert!(!h.sock.sack_enabled());
    h.sock.send_slice(&[7u8; TS_MSS * 8]).unwrap();
    let out = h.drain();
    assert!(out.len() >= 3, "{out:?}");
    assert!(out.iter().all(|s| s.payload.len() <= TS_MSS));
    assert_eq!(h.stats.segments_offloaded, 0);
}

/// A super-segment's short last piece goes only where a short segment
/// would: at the end of what is queued (with Nagle satisfied). Otherwise
/// the segment stops at a whole MSS and the rest waits.
#[test]
#[cfg(all(feature = "sack", feature = "tso"))]
fn tso_short_tail_follows_nagle() {
    let mut h = Harness::established(full_options());
    h.tso_max = 65535;
    h.sock.set_nodelay(false);
    // All that is queued, nothing in flight: the tail goes with it, FIN too.
    h.sock.send_slice(&[1u8; TS_MSS * 2 + 100]).unwrap();
    h.sock.shutdown_send().unwrap();
    let out = h.drain();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].payload.len(), TS_MSS * 2 + 100);
    assert!(out[0].flags.contains(TcpFlags::FIN | TcpFlags::PSH));

    // A short segment is unacknowledged (Minshall): the next super-segment
    // stops at whole segments.
    let mut h = Harness::established(full_options());
    h.tso_max = 65535;
    h.sock.set_nodelay(false);
    h.sock.send_slice(&[1u8; 100]).unwrap();
    assert_eq!(h.drain().len(), 1);
    h.sock.send_slice(&[2u8; TS_MSS * 2 + 10]).unwrap();
    let out = h.drain();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].payload.len(), TS_MSS * 2);
    assert_eq!(h.stats.segments_offloaded, 1);
}

/// Without a segmenting device nothing exceeds one MSS (the default);
/// without the `tso` feature, not even with one.
#[test]
fn no_tso_no_super_segments() {
    let mut h = Harness::established(full_options());
    if cfg!(not(feature = "tso")) {
        h.tso_max = 65535;
    }
    h.sock.send_slice(&[7u8; TS_MSS * 8]).unwrap();
    let out = h.drain();
    assert!(out.len() >= 3, "{out:?}");
    assert!(out.iter().all(|s| s.payload.len() <= TS_MSS));
    #[cfg(feature = "tso")]
    assert_eq!(h.stats.segments_offloaded, 0);
}

/// Fast retransmit after three duplicate ACKs goes out even when limited
/// transmit (RFC 3042) has left more in flight than the reduced window:
/// RFC 5681 §3.2 step 2 sends it unconditionally. With PRR its quota
/// grants it; without (the minimal build) `fast_rexmit_owed` does, where
/// the loss used to wait for the retransmission timeout.
#[test]
fn fast_retransmit_goes_past_limited_transmit() {
    let mut opts = full_options();
    opts.sack_permitted = false;
    let mut h = Harness::established(opts);
    h.sock.send_slice(&[7u8; TS_MSS * 30]).unwrap();
    let sent = h.drain();
    let first = sent.iter().find(|s| !s.payload.is_empty()).unwrap().seq;
    let mut resent = Vec::new();
    for tsval in 2001..2004 {
        let mut dup = peer_seg(TcpFlags::ACK, IRS + 1, first);
        dup.options.timestamp = Some((tsval, 0));
        h.input(&dup);
        resent.extend(h.drain().into_iter().filter(|s| s.seq == first));
    }
    assert_eq!(h.sock.dup_acks, 3);
    assert_eq!(
        resent.len(),
        1,
        "the first segment is resent once, at the third duplicate"
    );
    assert_eq!(h.stats.fast_retransmits, 1);
    assert!(!h.sock.timers.rtx.is_none());
}

/// The app-limited mark is 32 bits compared in sequence-space arithmetic
/// (`RecoveryState::app_limited_until`, with a flag for "limited"): across
/// the delivered count's 2^32 boundary it ends on the first ACK that
/// passes the mark, not before and not at it, as the 64-bit mark did.
#[test]
#[cfg(any(feature = "cubic", feature = "bbr"))]
fn app_limited_mark_across_the_32_bit_boundary() {
    // 2^32 - 10 (u32::MAX - 9 where the count itself is 32 bits).
    use super::recovery::{delivered_low32, Delivered};
    let d0 = ((1u64 << 32) - 10) as Delivered;
    for lower_mark in [false, true] {
        let mut h = Harness::established(full_options());
        h.sock.rec.delivered = d0;
        let una = h.sock.snd_una;
        h.sock.send_slice(&[1u8; 1000]).unwrap();
        assert!(!h.drain().is_empty());
        // All of it is in flight and the application has no more: limited
        // until all of it is delivered, a mark past 2^32.
        assert!(h.sock.rec.app_limited);
        assert_eq!(
            h.sock.rec.app_limited_until,
            delivered_low32(d0.wrapping_add(1000))
        );
        if lower_mark {
            // As if the mark had been set one byte short of the flight.
            h.sock.rec.app_limited_until = delivered_low32(d0.wrapping_add(999));
        }
        let mut tsval = 5000;
        let mut ack_to = |h: &mut Harness, n: usize| {
            tsval += 1;
            let mut ack = peer_seg(TcpFlags::ACK, IRS + 1, una + n);
            ack.options.timestamp = Some((tsval, 0));
            h.input(&ack);
        };
        // Below 2^32 against a mark above it: a plain compare of the low
        // bits would end the mark here.
        ack_to(&mut h, 5);
        assert_eq!(h.sock.rec.delivered, d0.wrapping_add(5));
        assert!(h.sock.rec.app_limited, "cleared before the mark");
        ack_to(&mut h, 500);
        assert_eq!(h.sock.rec.delivered, d0.wrapping_add(500));
        assert!(h.sock.rec.app_limited, "cleared before the mark");
        ack_to(&mut h, 1000);
        assert_eq!(h.sock.rec.delivered, d0.wrapping_add(1000));
        // Reaching the mark (past 2^32) is not passing it; one byte more is.
        assert_eq!(h.sock.rec.app_limited, !lower_mark);
    }
}

// ----- Tail loss probe (RFC 8985 §7.3) -----

/// A tail loss probe sends a segment of new data when there is some and
/// the peer's window takes it, even where the congestion window holds it
/// back (the other branch, resending the last segment, is
/// `tests/scripts/rfc8985-tlp-lost-tail.pkt`).
#[cfg(feature = "rack")]
#[test]
fn a_tail_loss_probe_sends_new_data_when_the_window_takes_it() {
    let mut h = Harness::established(TcpOptions {
        sack_permitted: true,
        ..TcpOptions::default()
    });
    // An RTT sample (20 ms), so that the probe timer can be armed.
    assert_eq!(h.sock.send_slice(b"x"), Ok(1));
    assert_eq!(h.drain().len(), 1);
    h.advance(Duration::from_millis(20));
    h.input(&peer_seg(TcpFlags::ACK, IRS + 1, ISS + 2));
    assert!(h.sock.srtt().is_some());
    // More than the congestion window: part of it stays unsent.
    let queued: &'static [u8] = Vec::leak(vec![7u8; 10 * 1460]);
    assert_eq!(h.sock.send_slice(queued), Ok(queued.len()));
    let first = h.drain();
    assert!(!first.is_empty());
    let sent_to = h.sock.snd_max;
    assert!(sent_to - (ISS + 2) < queued.len(), "all of it went at once");
    // Nothing is acknowledged: the probe goes after 2 x SRTT, long before
    // the retransmission timer, with the next new segment.
    let mut probe = Vec::new();
    for _ in 0..20 {
        h.advance(Duration::from_millis(10));
        probe = h.drain();
        if !probe.is_empty() {
            break;
        }
    }
    assert_eq!(h.stats.tail_loss_probes, 1, "{:?}", h.stats);
    assert_eq!(h.stats.timeouts, 0);
    assert_eq!(probe.len(), 1, "{probe:?}");
    assert_eq!(probe[0].seq, sent_to, "the probe resent old data");
    assert!(!probe[0].payload.is_empty());
}
