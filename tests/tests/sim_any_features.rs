//! Transfers that must complete with whatever features rtcp-core is built
//! with, so that the smallest build is checked end to end and not only by
//! its unit tests: `.ci/run` runs this file with `--no-default-features`
//! (no SACK, undo, RACK-TLP, PRR, CUBIC, BBR, ECN, header prediction,
//! urgent data, source routes, ICMP errors or TSO; 4 out-of-order ranges
//! and a 4-record send log per socket; the socket table that scans its
//! slots), and `cargo test` runs it with every default feature.
//!
//! Three connections share one table on each side and a link that loses,
//! duplicates and reorders frames in both directions; each must deliver
//! its stream byte-exact (every byte is compared) and close. And one
//! window loses every other segment, more holes than the smallest build's
//! receiver keeps.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rtcp_core::time::Duration;
use rtcp_tests::apps::{listen_and_connect, Sender, Stream, Transfer};
use rtcp_tests::sim::{data_len, for_seeds, Fault, HostConfig, LinkConfig, Sim};
use std::cell::Cell;
use std::rc::Rc;

/// Buffers of a small device (a window of 22 segments, enough to open
/// more holes than the smallest build's 4 out-of-order ranges hold); a
/// lossy, reordering link.
fn host() -> HostConfig {
    HostConfig {
        slots: 8,
        rx_buffer: 32 * 1024,
        tx_buffer: 32 * 1024,
        link: LinkConfig {
            latency: Duration::from_millis(2),
            bandwidth_bps: 20_000_000,
            loss_ppm: 20_000,
            duplicate_ppm: 10_000,
            reorder_ppm: 20_000,
            reorder_delay: Duration::from_millis(3),
            ..LinkConfig::default()
        },
        ..HostConfig::default()
    }
}

#[test]
fn three_lossy_transfers_share_a_table_and_complete_byte_exact() {
    for_seeds("three_lossy_transfers", 4, |seed| {
        let cfg = host();
        let mut sim = Sim::new(seed, &[cfg, cfg]);
        let len = 256 * 1024;
        let streams: Vec<Stream> = (0..3).map(|i| Stream::new(seed * 3 + i, len)).collect();
        let mut transfers: Vec<Transfer> = (0..3u16)
            .map(|i| {
                let (listener, client) = listen_and_connect(&mut sim, 1, 0, 80 + i);
                Transfer::new(Sender::new(0, client), 1, listener)
            })
            .collect();
        let mut done = [false; 3];
        let finished = sim.run_until(Duration::from_secs(600), |sim| {
            for ((transfer, stream), done) in transfers.iter_mut().zip(&streams).zip(&mut done) {
                // `step` compares every byte received with the stream.
                if let Some(r) = transfer.step(sim, stream.bytes()) {
                    *done = r.received == len && r.eof;
                }
            }
            done.iter().all(|&d| d)
        });
        assert!(finished, "seed {seed}: transfers done {done:?}");
        let sent = sim.hosts[0].sockets.stats();
        assert!(sim.stats.lost > 0, "seed {seed}: the link lost nothing");
        assert!(
            sent.retransmissions > 0,
            "seed {seed}: losses but no retransmission: {sent:?}"
        );
    });
}

/// Every other data segment of one window is lost (segments 10, 12, .., 22
/// of the transfer: seven holes), more holes than the smallest build keeps
/// out-of-order ranges for (4, `tcp::assembler::MAX_RANGES`): its receiver
/// drops the segments that would open a fifth (counted in `ooo_dropped`)
/// and the sender repairs the rest; the stream must still arrive byte-exact.
#[test]
fn a_window_with_more_holes_than_ranges_still_completes() {
    let cfg = HostConfig {
        link: LinkConfig {
            latency: Duration::from_millis(2),
            bandwidth_bps: 20_000_000,
            ..LinkConfig::default()
        },
        ..host()
    };
    let mut sim = Sim::new(9, &[cfg, cfg]);
    let seen = Rc::new(Cell::new(0u32));
    let counter = seen.clone();
    sim.set_fault(move |from, frame, _| {
        if from != 0 || data_len(frame).is_none() {
            return Fault::Pass;
        }
        let n = counter.get() + 1;
        counter.set(n);
        if (10..=22).contains(&n) && n.is_multiple_of(2) {
            Fault::Drop
        } else {
            Fault::Pass
        }
    });
    let len = 128 * 1024;
    let stream = Stream::new(21, len);
    let (listener, client) = listen_and_connect(&mut sim, 1, 0, 80);
    let mut transfer = Transfer::new(Sender::new(0, client), 1, listener);
    let finished = sim.run_until(Duration::from_secs(600), |sim| {
        transfer
            .step(sim, stream.bytes())
            .is_some_and(|r| r.received == len && r.eof)
    });
    assert!(finished, "transfer did not complete");
    assert!(seen.get() > 22, "the lossy window was never sent");
    let received = sim.hosts[1].sockets.stats();
    if cfg!(feature = "full") {
        // With SACK the receiver keeps 8 out-of-order ranges (32 with the
        // scoreboard): all seven holes fit.
        assert_eq!(received.ooo_dropped, 0, "{received:?}");
    } else {
        assert!(
            received.ooo_dropped > 0,
            "4 ranges held 7 holes? {received:?}"
        );
    }
}
