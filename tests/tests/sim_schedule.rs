//! The table's deadline index agrees with its sockets after every poll.
//!
//! `SocketSet` keeps each connection's next deadline in a heap, so that
//! `poll_at` costs nothing with many idle connections, and it may put off
//! recomputing a deadline while a poll's frames keep arriving for the same
//! connection (`settle` in `socket_set/mod.rs`). Whatever it defers must be
//! caught up before the poll returns: here lossy, reordering two-way
//! transfers (windows of segments for one connection in one poll) check,
//! after every step of the simulator, that the table's `poll_at` is the
//! earliest of its sockets' own `poll_at`s. `RTCP_SEEDS=n` runs more seeds.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rtcp_core::socket_set::SocketSet;
use rtcp_core::tcp::output::PollAt;
use rtcp_core::tcp::TcpConfig;
use rtcp_core::time::{Duration, Instant};
use rtcp_tests::apps::{listen_and_connect, Receiver, Sender, Stream};
use rtcp_tests::rng::Rng;
use rtcp_tests::sim::{for_seeds, HostConfig, LinkConfig, Sim};

/// The earliest deadline of the sockets the application can see, as the
/// table reports deadlines (`Instant::ZERO` for "now"), or `None` when a
/// socket the application cannot see (a child not yet accepted, an
/// orphan finishing its close) may hold the earliest one.
fn earliest_visible(sockets: &SocketSet<'_>) -> Option<Option<Instant>> {
    let mut earliest: Option<Instant> = None;
    let mut visible = 0;
    for (_, socket) in sockets.iter() {
        visible += 1;
        let at = match socket.poll_at() {
            PollAt::Now => Some(Instant::ZERO),
            PollAt::Time(t) => Some(t),
            PollAt::Ingress => None,
        };
        earliest = match (earliest, at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    (visible == sockets.in_use()).then_some(earliest)
}

fn config(rng: &mut Rng) -> HostConfig {
    HostConfig {
        slots: 2,
        rx_buffer: 64 * 1024,
        tx_buffer: 64 * 1024,
        link: LinkConfig {
            latency: Duration::from_micros(100 + rng.below(5_000)),
            loss_ppm: 10_000,
            reorder_ppm: 20_000,
            reorder_delay: Duration::from_micros(1 + rng.below(3_000)),
            ..LinkConfig::default()
        },
        tcp: TcpConfig {
            user_timeout: Duration::from_secs(600),
            ..TcpConfig::default()
        },
        ..HostConfig::default()
    }
}

/// One two-way transfer; returns how many steps were checked.
fn checked_transfer(seed: u64) -> u64 {
    let mut rng = Rng::new(seed ^ 0x5c4e);
    let cfg = [config(&mut rng), config(&mut rng)];
    let mut sim = Sim::new(seed, &cfg);
    let (listener, client) = listen_and_connect(&mut sim, 1, 0, 80);
    let up = Stream::new(seed, 300_000);
    let down = Stream::new(seed + 1, 100_000);
    let mut c_tx = Sender::new(0, client);
    let mut c_rx = Receiver::new(0, client);
    let mut server: Option<(Sender, Receiver)> = None;
    let mut checked = 0u64;
    let done = sim.run_sliced(Duration::from_secs(600), |sim| {
        // From the accept on: before it, the client's SYN may wait for ARP,
        // and a socket held back for an unresolved neighbour is rightly
        // due later in the index than by its own account.
        for (i, host) in sim.hosts.iter().enumerate().filter(|_| server.is_some()) {
            if let Some(earliest) = earliest_visible(&host.sockets) {
                assert_eq!(
                    host.sockets.poll_at(),
                    earliest,
                    "seed {seed}: host {i}'s deadline index disagrees with its sockets at {:?}",
                    sim.now
                );
                checked += 1;
            }
        }
        c_tx.pump(sim, up.bytes()).expect("client send");
        c_rx.pump(sim, down.bytes()).expect("client recv");
        if server.is_none() {
            server = Receiver::accept_two_way(sim, 1, listener);
        }
        let Some((s_tx, s_rx)) = server.as_mut() else {
            return false;
        };
        s_rx.pump(sim, up.bytes()).expect("server recv");
        s_tx.pump(sim, down.bytes()).expect("server send");
        s_rx.eof && c_rx.eof
    });
    assert!(done, "transfer did not finish (seed {seed})");
    checked
}

#[test]
fn deadline_index_matches_the_sockets_after_every_poll() {
    let mut checked = 0;
    for_seeds("sim_schedule", 6, |seed| checked += checked_transfer(seed));
    // The check must actually have run, on both hosts, many times.
    assert!(checked > 1_000, "only {checked} checks ran");
}
