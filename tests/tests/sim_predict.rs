//! Header prediction changes nothing but speed: the same transfers run with
//! `TcpConfig::header_prediction` on and off put exactly the same frames on
//! the wire, at the same virtual times. `RTCP_SEEDS=n` runs more seeds.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rtcp_core::tcp::TcpConfig;
use rtcp_core::time::{Duration, Instant};
use rtcp_tests::apps::{listen_and_connect, Receiver, Sender, Stream};
use rtcp_tests::rng::Rng;
use rtcp_tests::sim::{for_seeds, Fault, HostConfig, LinkConfig, Sim};
use std::cell::RefCell;
use std::rc::Rc;

/// Every frame any host sent: (host, time, bytes).
type Trace = Vec<(usize, Instant, Vec<u8>)>;

/// How the receiving application reads.
#[derive(Debug, Clone, Copy)]
enum Reader {
    /// Everything, every turn.
    Eager,
    /// Only every fourth turn, so its window fills and reopens.
    Lazy,
}

struct Run {
    trace: Trace,
    predicted: [u64; 2],
}

fn config(rng: &mut Rng, prediction: bool, buffer: usize) -> HostConfig {
    HostConfig {
        slots: 2,
        rx_buffer: buffer,
        tx_buffer: buffer,
        link: LinkConfig {
            latency: Duration::from_micros(100 + rng.below(10_000)),
            loss_ppm: 10_000,
            duplicate_ppm: 5_000,
            reorder_ppm: 5_000,
            reorder_delay: Duration::from_micros(1 + rng.below(5_000)),
            corrupt_ppm: 5_000,
            ..LinkConfig::default()
        },
        tcp: TcpConfig {
            header_prediction: prediction,
            user_timeout: Duration::from_secs(600),
            ..TcpConfig::default()
        },
        ..HostConfig::default()
    }
}

/// A one-way transfer of `len` bytes from host 0 to host 1 (and `back`
/// bytes the other way), recording every frame.
fn run(seed: u64, prediction: bool, len: usize, back: usize, reader: Reader) -> Run {
    let mut rng = Rng::new(seed ^ 0x5eed);
    let buffer = [8 * 1024, 64 * 1024][(seed % 2) as usize];
    let cfg = [
        config(&mut rng, prediction, buffer),
        config(&mut rng, prediction, buffer),
    ];
    let mut sim = Sim::new(seed, &cfg);
    let trace: Rc<RefCell<Trace>> = Rc::default();
    let tap = Rc::clone(&trace);
    sim.set_fault(move |host, frame, now| {
        tap.borrow_mut().push((host, now, frame.to_vec()));
        Fault::Pass
    });
    let (listener, client) = listen_and_connect(&mut sim, 1, 0, 80);
    let up = Stream::new(seed, len);
    let down = Stream::new(seed + 1, back);
    let mut c_tx = Sender::new(0, client);
    let mut c_rx = Receiver::new(0, client);
    let mut server: Option<(Sender, Receiver)> = None;
    let mut turn = 0u64;
    // Even seeds: the server answers only after the client's FIN, so it
    // receives in ESTABLISHED; odd seeds: it sends (and closes) at once,
    // so with nothing to send back it receives in FIN-WAIT-2.
    let answer_at_once = seed % 2 == 1;
    let done = sim.run_sliced(Duration::from_secs(600), |sim| {
        turn += 1;
        c_tx.pump(sim, up.bytes()).expect("client send");
        c_rx.pump(sim, down.bytes()).expect("client recv");
        if server.is_none() {
            server = Receiver::accept_two_way(sim, 1, listener);
        }
        let Some((s_tx, s_rx)) = server.as_mut() else {
            return false;
        };
        if matches!(reader, Reader::Eager) || turn.is_multiple_of(4) {
            s_rx.pump(sim, up.bytes()).expect("server recv");
        }
        if answer_at_once || s_rx.eof {
            s_tx.pump(sim, down.bytes()).expect("server send");
        }
        s_rx.eof && c_rx.eof
    });
    assert!(
        done,
        "transfer did not finish (seed {seed}, prediction {prediction})"
    );
    let predicted = [
        sim.hosts[0].sockets.stats().predicted,
        sim.hosts[1].sockets.stats().predicted,
    ];
    drop(sim);
    let trace = Rc::try_unwrap(trace).expect("tap released").into_inner();
    Run { trace, predicted }
}

/// Runs both ways and compares the traces frame by frame.
fn same_wire(seed: u64, len: usize, back: usize, reader: Reader) -> u64 {
    let fast = run(seed, true, len, back, reader);
    let slow = run(seed, false, len, back, reader);
    assert_eq!(slow.predicted, [0, 0], "prediction off still predicted");
    for (k, (f, s)) in fast.trace.iter().zip(slow.trace.iter()).enumerate() {
        assert!(
            f == s,
            "seed {seed} ({reader:?}): frame {k} differs: host {} at {:?} with prediction, \
             host {} at {:?} without",
            f.0,
            f.1,
            s.0,
            s.1
        );
    }
    assert_eq!(
        fast.trace.len(),
        slow.trace.len(),
        "seed {seed}: frame counts"
    );
    fast.predicted[1]
}

#[test]
fn one_way_bulk_is_the_same_with_and_without_prediction() {
    let mut predicted = 0;
    for_seeds("sim_predict_bulk", 12, |seed| {
        predicted += same_wire(seed, 200 * 1024, 0, Reader::Eager);
    });
    // The fast path was really taken: the receiver saw mostly in-order
    // data (never, in a build without it).
    if cfg!(feature = "header-prediction") {
        assert!(predicted > 100, "only {predicted} segments predicted");
    } else {
        assert_eq!(predicted, 0);
    }
}

#[test]
fn a_slow_reader_is_the_same_with_and_without_prediction() {
    let mut predicted = 0;
    for_seeds("sim_predict_slow_reader", 8, |seed| {
        predicted += same_wire(seed, 100 * 1024, 0, Reader::Lazy);
    });
    if cfg!(feature = "header-prediction") {
        assert!(predicted > 50, "only {predicted} segments predicted");
    } else {
        assert_eq!(predicted, 0);
    }
}

#[test]
fn two_way_traffic_is_the_same_with_and_without_prediction() {
    for_seeds("sim_predict_two_way", 8, |seed| {
        same_wire(seed, 64 * 1024, 48 * 1024, Reader::Eager);
    });
}
