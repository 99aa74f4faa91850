//! Many seeds of a short, faulty, two-way transfer, each checked byte for
//! byte. `RTCP_SEEDS=100000` runs a hundred thousand; `RTCP_SEED=n` one.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rtcp_core::tcp::TcpConfig;
use rtcp_core::time::Duration;
use rtcp_tests::apps::{listen_and_connect, Receiver, Sender, Stream};
use rtcp_tests::rng::Rng;
use rtcp_tests::sim::{for_seeds, HostConfig, LinkConfig, LinkStats, Sim};

/// Bytes each way.
const LEN: usize = 16 * 1024;

/// A link drawn from the seed: 2% each of loss, duplication, reordering and
/// corruption, a latency of 0.1 to 20 ms and reordering by up to 10 ms.
fn link(rng: &mut Rng) -> LinkConfig {
    LinkConfig {
        latency: Duration::from_micros(100 + rng.below(20_000)),
        loss_ppm: 20_000,
        duplicate_ppm: 20_000,
        reorder_ppm: 20_000,
        reorder_delay: Duration::from_micros(1 + rng.below(10_000)),
        corrupt_ppm: 20_000,
        ..LinkConfig::default()
    }
}

/// Small buffers (8 KiB, half the transfer) so that windows fill and open.
fn host(rng: &mut Rng) -> HostConfig {
    HostConfig {
        slots: 2,
        rx_buffer: 8 * 1024,
        tx_buffer: 8 * 1024,
        link: link(rng),
        // Longer than the default 180 s: the simulator also flips bits in
        // ARP frames, which carry no checksum, so a host can cache a wrong
        // MAC for the ARP entry lifetime (60 s) and lose its first SYNs; with
        // a lost and a corrupted retry on top (SYN backoff reaches 60 s) a
        // handful of seeds in 100,000 would otherwise time out.
        tcp: TcpConfig {
            user_timeout: Duration::from_secs(600),
            ..TcpConfig::default()
        },
        ..HostConfig::default()
    }
}

fn faulty_exchange(seed: u64) -> LinkStats {
    let mut rng = Rng::new(seed ^ 0xfeed_f00d);
    let cfg = [host(&mut rng), host(&mut rng)];
    let mut sim = Sim::new(seed, &cfg);
    let (listener, client) = listen_and_connect(&mut sim, 1, 0, 80);
    let up = Stream::new(seed.wrapping_mul(2), LEN);
    let down = Stream::new(seed.wrapping_mul(2) + 1, LEN);
    let mut c_tx = Sender::new(0, client);
    let mut c_rx = Receiver::new(0, client);
    let mut server: Option<(Sender, Receiver)> = None;
    let ok = sim.run_sliced(Duration::from_secs(1800), |sim| {
        c_tx.pump(sim, up.bytes())
            .unwrap_or_else(|e| panic!("client send: {e} (seed {seed})"));
        c_rx.pump(sim, down.bytes())
            .unwrap_or_else(|e| panic!("client recv: {e} (seed {seed})"));
        if server.is_none() {
            if let Ok(h) = sim.hosts[1].sockets.accept(listener) {
                server = Some((Sender::new(1, h), Receiver::new(1, h)));
            }
        }
        match server.as_mut() {
            Some((tx, rx)) => {
                tx.pump(sim, down.bytes())
                    .unwrap_or_else(|e| panic!("server send: {e} (seed {seed})"));
                rx.pump(sim, up.bytes())
                    .unwrap_or_else(|e| panic!("server recv: {e} (seed {seed})"));
                rx.eof && c_rx.eof
            }
            None => false,
        }
    });
    let (_, s_rx) = server.unwrap_or_else(|| panic!("never accepted (seed {seed})"));
    assert!(
        ok,
        "timed out: up {} down {} of {LEN} (seed {seed})",
        s_rx.received, c_rx.received
    );
    assert_eq!(s_rx.received, LEN, "seed {seed}");
    assert_eq!(c_rx.received, LEN, "seed {seed}");
    // Both directions closed cleanly: nobody saw an error.
    assert_eq!(
        sim.hosts[0].sockets.get(client).unwrap().error(),
        None,
        "seed {seed}"
    );
    sim.stats
}

#[test]
fn faulty_exchange_many_seeds() {
    let mut total = LinkStats::default();
    let mut runs = 0u64;
    for_seeds("faulty_exchange_many_seeds", 1_000, |seed| {
        let s = faulty_exchange(seed);
        total.delivered += s.delivered;
        total.lost += s.lost;
        total.duplicated += s.duplicated;
        total.reordered += s.reordered;
        total.corrupted += s.corrupted;
        runs += 1;
    });
    eprintln!("{runs} runs: {total:?}");
    if runs >= 100 {
        // The faults really happened, at about the configured rate.
        let rate = |n: u64| n * 1_000_000 / total.delivered.max(1);
        for (what, n) in [
            ("lost", total.lost),
            ("duplicated", total.duplicated),
            ("reordered", total.reordered),
            ("corrupted", total.corrupted),
        ] {
            assert!(
                (10_000..40_000).contains(&rate(n)),
                "{what}: {n} of {}",
                total.delivered
            );
        }
    }
}
