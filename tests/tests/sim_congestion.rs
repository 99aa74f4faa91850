//! Congestion controllers over the simulated link (issue 7): NewReno,
//! CUBIC (RFC 9438) and BBR (draft-ietf-ccwg-bbr). Each completes a lossy
//! transfer byte-exact; CUBIC's window follows the cubic curve after a
//! loss; BBR's Startup finds the bottleneck and Drain empties the queue,
//! BBR keeps its rate at 1% random loss, and its segments leave paced.
// Written for the default features (SACK recovery, CUBIC and BBR, TSO):
// built only with them.
#![cfg(feature = "full")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rtcp_core::socket_set::SocketHandle;
use rtcp_core::tcp::congestion::{BbrState, Congestion, CongestionAlgorithm};
use rtcp_core::tcp::TcpConfig;
use rtcp_core::time::{Duration, Instant};
use rtcp_tests::apps::{listen_and_connect, Sender, Stream, Transfer};
use rtcp_tests::sim::{data_len, Fault, HostConfig, LinkConfig, Sim};
use std::cell::RefCell;
use std::rc::Rc;

fn host(cc: CongestionAlgorithm, latency: Duration, mbit: u64, loss_ppm: u32) -> HostConfig {
    HostConfig {
        slots: 4,
        rx_buffer: 1024 * 1024,
        tx_buffer: 1024 * 1024,
        tcp: TcpConfig {
            congestion: cc,
            ..TcpConfig::default()
        },
        link: LinkConfig {
            latency,
            bandwidth_bps: mbit * 1_000_000,
            loss_ppm,
            ..LinkConfig::default()
        },
        ..HostConfig::default()
    }
}

/// A bulk transfer of `len` bytes from host 0 to host 1; `watch` sees the
/// simulation (and the sender's handle) after every step and may stop it
/// early by returning `true`. Returns the simulation, the virtual time the
/// transfer took and whether it completed.
fn transfer(
    mut sim: Sim,
    len: usize,
    mut watch: impl FnMut(&Sim, SocketHandle) -> bool,
) -> (Sim, Duration, bool) {
    let (listener, client) = listen_and_connect(&mut sim, 1, 0, 80);
    let stream = Stream::new(11, len);
    let mut transfer = Transfer::new(Sender::new(0, client), 1, listener);
    let start = sim.now;
    let mut complete = false;
    sim.run_until(Duration::from_secs(600), |sim| {
        // `step` compares every byte with the stream.
        if transfer
            .step(sim, stream.bytes())
            .is_some_and(|r| r.received == len && r.eof)
        {
            complete = true;
            return true;
        }
        watch(sim, client)
    });
    let elapsed = sim.now - start;
    (sim, elapsed, complete)
}

fn goodput(len: usize, elapsed: Duration) -> u64 {
    len as u64 * 1_000_000 / elapsed.total_micros().max(1)
}

#[test]
fn every_controller_completes_a_lossy_transfer_byte_exact() {
    for &cc in CongestionAlgorithm::ALL {
        let cfg = host(cc, Duration::from_millis(5), 100, 10_000);
        let len = 2 << 20;
        let (sim, elapsed, complete) = transfer(Sim::new(3, &[cfg, cfg]), len, |_, _| false);
        assert!(complete, "{}: transfer did not complete", cc.name());
        let stats = sim.hosts[0].sockets.stats();
        assert!(stats.retransmissions > 0, "{}: {stats:?}", cc.name());
        assert!(sim.stats.lost > 0);
        eprintln!("{}: {} B/s, {stats:?}", cc.name(), goodput(len, elapsed));
    }
}

/// W_cubic(t) of RFC 9438 eqn. 1 in bytes, computed in f64 here (the test
/// checks the integer implementation against the formula).
fn w_cubic(t: f64, w_max: f64, cwnd_epoch: f64, mss: f64) -> f64 {
    let k = ((w_max - cwnd_epoch) / mss / 0.4).cbrt();
    (0.4 * (t - k).powi(3)) * mss + w_max
}

#[test]
fn cubic_window_grows_along_the_cubic_curve_after_a_loss() {
    // 40 ms RTT, no bottleneck: the only loss is the one scripted here,
    // in slow start once the window is large (segment 500).
    // (A 1 Gbit/s link rather than an unlimited one: with no serialization
    // a whole window arrives at one instant and draws a single ACK.)
    let cfg = host(
        CongestionAlgorithm::Cubic,
        Duration::from_millis(20),
        1000,
        0,
    );
    let mut sim = Sim::new(5, &[cfg, cfg]);
    let seen = Rc::new(RefCell::new(0usize));
    let s = seen.clone();
    sim.set_fault(move |from, frame, _| {
        if from == 0 && data_len(frame).is_some() {
            *s.borrow_mut() += 1;
            if *s.borrow() == 500 {
                return Fault::Drop;
            }
        }
        Fault::Pass
    });
    // (time, cwnd) after the loss; the reduction's ssthresh and its time.
    let mut samples: Vec<(Instant, usize)> = Vec::new();
    let mut reduced: Option<(Instant, usize)> = None;
    let mut mss = 0;
    let (_, _, _) = transfer(sim, 1 << 30, |sim, h| {
        let sock = sim.hosts[0].sockets.get(h).unwrap();
        mss = sock.mss();
        let ssthresh = sock.ssthresh();
        if reduced.is_none() && ssthresh < usize::MAX / 2 {
            reduced = Some((sim.now, ssthresh));
        }
        if let Some((at, _)) = reduced {
            samples.push((sim.now, sock.cwnd()));
            return sim.now - at > Duration::from_secs(11);
        }
        false
    });
    let (loss_at, ssthresh) = reduced.expect("no congestion event");
    let mss = mss as f64;
    // First reduction: W_max is the window at the loss, ssthresh = 0.7·W_max.
    let w_max = ssthresh as f64 / 0.7;
    assert!(w_max > 200.0 * mss, "loss came too early: W_max {w_max}");
    // K = ∛(0.3·W_max/0.4) segments: under 9 s for the test's 11 s.
    assert!(w_max < 900.0 * mss, "loss came too late: W_max {w_max}");
    // The epoch starts when the window first grows past ssthresh (the end
    // of recovery, about one RTT after the loss).
    let epoch = samples
        .iter()
        .find(|(_, w)| *w > ssthresh)
        .map(|(t, _)| *t)
        .expect("no growth after the loss");
    assert!(epoch - loss_at < Duration::from_millis(200));
    let k = ((w_max - ssthresh as f64) / mss / 0.4).cbrt();
    let rtt = 0.040;
    let mut checked = 0;
    for &(t, w) in samples.iter().filter(|(t, _)| *t >= epoch) {
        let t = (t - epoch).total_micros() as f64 / 1e6;
        // Between the curve one RTT back and one RTT ahead (RFC 9438 §4.4
        // aims each RTT at W_cubic(t + RTT)), within two segments.
        let lo = w_cubic(t - rtt, w_max, ssthresh as f64, mss) - 2.0 * mss;
        let hi = w_cubic(t + rtt, w_max, ssthresh as f64, mss) + 2.0 * mss;
        assert!(
            (lo..=hi).contains(&(w as f64)),
            "t = {t:.3} s: cwnd {w} outside [{lo:.0}, {hi:.0}] (K = {k:.3} s)"
        );
        checked += 1;
    }
    assert!(checked > 1000);
    // Both regions were crossed: concave up to W_max at K, convex beyond.
    let last = samples.last().unwrap();
    assert!((last.0 - epoch).total_micros() as f64 / 1e6 > k + 1.0);
    assert!(last.1 as f64 > w_max);
}

/// The sender's BBR state, once the handshake has installed it.
fn bbr(sock: &rtcp_core::tcp::TcpSocket) -> Option<rtcp_core::tcp::congestion::Bbr> {
    match sock.congestion_control() {
        Congestion::Bbr(b) => Some(*b),
        _ => None,
    }
}

#[test]
fn bbr_startup_finds_the_bottleneck_and_drain_empties_the_queue() {
    // 20 Mbit/s bottleneck, 10 ms one-way: BDP 50 kB, about 34 segments;
    // one full frame takes 606 µs to serialize.
    let cfg = host(CongestionAlgorithm::Bbr, Duration::from_millis(10), 20, 0);
    let sim = Sim::new(9, &[cfg, cfg]);
    let frame_time = Duration::from_micros(1514 * 8 / 20);
    let mut peak_queue_startup = Duration::ZERO;
    let mut at_drain_exit: Option<(u64, Duration, BbrState)> = None;
    let mut queue_after_drain = Duration::from_secs(1);
    let mut last_state = BbrState::Startup;
    let (_, _, _) = transfer(sim, 64 << 20, |sim, h| {
        let Some(b) = sim.hosts[0].sockets.get(h).ok().and_then(bbr) else {
            return false;
        };
        let queue = sim.hosts[0].uplink_backlog(sim.now);
        match b.state() {
            BbrState::Startup => peak_queue_startup = peak_queue_startup.max(queue),
            BbrState::Drain => {}
            s if last_state == BbrState::Drain => {
                at_drain_exit = Some((b.max_bw(), queue, s));
            }
            _ => {
                if at_drain_exit.is_some() {
                    queue_after_drain = queue_after_drain.min(queue);
                }
            }
        }
        last_state = b.state();
        at_drain_exit.is_some() && sim.now > Instant::from_secs(3)
    });
    let (bw, queue, state) = at_drain_exit.expect("BBR never left Drain");
    // The bottleneck carries 20 Mbit/s of frames: 2.5 MB/s, of which TCP
    // payload is 1448/1514 (the delivery rate counts payload).
    let payload_rate = 2_500_000u64 * 1448 / 1514;
    assert!(
        bw >= payload_rate * 9 / 10 && bw <= payload_rate * 11 / 10,
        "max_bw {bw} vs bottleneck {payload_rate}"
    );
    // Startup overshoots (pacing gain 2.77) and builds a queue ...
    assert!(
        peak_queue_startup > frame_time.saturating_mul(10),
        "startup built no queue? {peak_queue_startup:?}"
    );
    // ... which Drain empties: it ends once in-flight data is down to
    // about one BDP, with at most a few frames still queued.
    assert!(
        queue <= frame_time.saturating_mul(4),
        "queue {queue:?} at drain exit (startup peak {peak_queue_startup:?})"
    );
    assert!(
        matches!(state, BbrState::ProbeBwDown | BbrState::ProbeBwCruise),
        "{state:?}"
    );
    assert!(
        queue_after_drain <= frame_time.saturating_mul(2),
        "{queue_after_drain:?}"
    );
}

#[test]
fn bbr_keeps_the_rate_at_one_percent_loss_where_newreno_does_not() {
    // 100 Mbit/s, 5 ms one way, 1% random loss each way.
    let run = |cc| {
        let cfg = host(cc, Duration::from_millis(5), 100, 10_000);
        let len = 8 << 20;
        let (_, elapsed, complete) = transfer(Sim::new(21, &[cfg, cfg]), len, |_, _| false);
        assert!(complete);
        goodput(len, elapsed)
    };
    let bottleneck = 100_000_000 / 8 * 1448 / 1514;
    let bbr = run(CongestionAlgorithm::Bbr);
    let newreno = run(CongestionAlgorithm::NewReno);
    eprintln!("goodput at 1% loss: bbr {bbr} B/s, newreno {newreno} B/s, bottleneck {bottleneck}");
    assert!(
        bbr >= bottleneck * 6 / 10,
        "BBR {bbr} B/s under 60% of {bottleneck}"
    );
    assert!(
        newreno < bottleneck * 6 / 10,
        "NewReno {newreno} B/s at 1% loss: the comparison shows nothing"
    );
}

#[test]
fn bbr_paces_segments() {
    // No bandwidth limit on the link: only pacing can space segments.
    let departures = |cc| {
        let cfg = host(cc, Duration::from_millis(10), 0, 0);
        let mut sim = Sim::new(13, &[cfg, cfg]);
        let times = Rc::new(RefCell::new(Vec::<Instant>::new()));
        let t = times.clone();
        sim.set_fault(move |from, frame, now| {
            if from == 0 && data_len(frame).is_some() {
                t.borrow_mut().push(now);
            }
            Fault::Pass
        });
        let (_, _, complete) = transfer(sim, 4 << 20, |_, _| false);
        assert!(complete);
        let v = times.borrow().clone();
        v
    };
    // The largest number of data segments that left at one instant, after
    // the first 100 (the initial window may go out at once).
    let burst = |times: &[Instant]| {
        let mut worst = 0;
        let mut run = 0;
        for w in times[100..].windows(2) {
            if w[1] == w[0] {
                run += 1;
                worst = worst.max(run + 1);
            } else {
                run = 0;
            }
        }
        worst
    };
    let bbr = departures(CongestionAlgorithm::Bbr);
    let newreno = departures(CongestionAlgorithm::NewReno);
    let (b, n) = (burst(&bbr), burst(&newreno));
    assert!(b <= 2, "BBR sent {b} segments at one instant");
    assert!(
        n > 4,
        "NewReno sent at most {n} segments at once: the test shows nothing"
    );
    // And the gaps are real: most consecutive departures differ in time.
    let spaced = bbr[100..].windows(2).filter(|w| w[1] > w[0]).count();
    assert!(
        spaced * 10 >= (bbr.len() - 101) * 9,
        "{spaced} of {}",
        bbr.len() - 101
    );
}
