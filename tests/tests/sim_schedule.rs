//! The table's deadline index agrees with its sockets after every poll.
//!
//! `SocketSet` keeps each connection's next deadline in a heap, so that
//! `poll_at` costs nothing with many idle connections, and it may put off
//! recomputing a deadline while a poll's frames keep arriving for the same
//! connection (`settle` in `socket_set/mod.rs`). Whatever it defers must be
//! caught up before the poll returns: here lossy, reordering two-way
//! transfers (windows of segments for one connection in one poll) check,
//! after every step of the simulator, that the table's `poll_at` is the
//! earliest of its sockets' own `poll_at`s. The applications' sends and
//! reads, which skip the reschedule when they changed nothing it depends
//! on, are checked the same way. `RTCP_SEEDS=n` runs more seeds.
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
    // The client reads and writes in place (`send_with`, `recv_with`),
    // the server through copies (`send`, `recv`): both reschedule only
    // when a call changed something the deadline depends on.
    let mut c_tx = Sender::new(0, client);
    c_tx.zero_copy = true;
    let mut c_rx = Receiver::new(0, client);
    c_rx.zero_copy = true;
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

/// Request and reply, one at a time, over a clean link: each request is
/// queued (`send_with`) on a connection that has been idle, waiting only
/// for the peer, so only the send itself can make it due. The deadline
/// index must agree with the sockets after every step, and every round
/// must finish within a few round trips (no timer standing in for a missed
/// reschedule).
fn checked_ping_pong(seed: u64) -> u64 {
    let mut rng = Rng::new(seed ^ 0x9091);
    let cfg = [HostConfig::default(), HostConfig::default()];
    let mut sim = Sim::new(seed, &cfg);
    let (listener, client) = listen_and_connect(&mut sim, 1, 0, 80);
    let mut server = None;
    sim.run_until(Duration::from_secs(5), |sim| {
        server = server.or_else(|| sim.hosts[1].sockets.accept(listener).ok());
        server.is_some()
    });
    let server = server.unwrap_or_else(|| panic!("seed {seed}: no connection"));
    let mut checked = 0u64;
    for round in 0..40 {
        let len = 1 + rng.below(3_000) as usize;
        let request = Stream::new(seed + round, len);
        let start = sim.now;
        let (mut queued, mut echoed, mut answered) = (0, 0, 0);
        let mut buf = vec![0u8; len];
        let done = sim.run_until(Duration::from_secs(1), |sim| {
            for (i, host) in sim.hosts.iter().enumerate() {
                if let Some(earliest) = earliest_visible(&host.sockets) {
                    assert_eq!(
                        host.sockets.poll_at(),
                        earliest,
                        "seed {seed}, round {round}: host {i}'s deadline index disagrees"
                    );
                    checked += 1;
                }
            }
            let rest = &request.bytes()[queued..];
            queued += sim.hosts[0]
                .sockets
                .send_with(client, |b| {
                    let n = b.len().min(rest.len());
                    b[..n].copy_from_slice(&rest[..n]);
                    (n, n)
                })
                .unwrap_or(0);
            // The server echoes whatever arrived (`recv`, `send`).
            let s = &mut sim.hosts[1].sockets;
            let mut tmp = [0u8; 4096];
            if let Ok(n) = s.recv(server, &mut tmp) {
                assert_eq!(
                    s.send(server, &tmp[..n]).unwrap_or(0),
                    n,
                    "echo did not fit"
                );
                echoed += n;
            }
            let got = sim.hosts[0]
                .sockets
                .recv_with(client, |d| {
                    let n = d.len().min(len - answered);
                    buf[answered..answered + n].copy_from_slice(&d[..n]);
                    (n, n)
                })
                .unwrap_or(0);
            answered += got;
            answered == len
        });
        assert!(done, "seed {seed}, round {round}: no reply ({queued} queued, {echoed} echoed, {answered} back)");
        assert_eq!(
            buf,
            request.bytes(),
            "seed {seed}, round {round}: wrong reply"
        );
        // A handful of round trips on the default link, not a timer.
        assert!(
            sim.now - start < Duration::from_millis(200),
            "seed {seed}, round {round}: the reply took {:?}",
            sim.now - start
        );
    }
    checked
}

#[test]
fn sends_and_reads_keep_the_deadline_index_in_step() {
    let mut checked = 0;
    for_seeds("sim_schedule_ping_pong", 4, |seed| {
        checked += checked_ping_pong(seed)
    });
    assert!(checked > 1_000, "only {checked} checks ran");
}

/// A close while the peer's window holds data back: the FIN waits behind
/// that data, so the socket is not due now (`close` schedules a FIN as due
/// now without asking `poll_at` only when everything before it has gone,
/// `fin_due_now`; with debug assertions `reschedule_at` checks that claim).
/// Once the peer reads, the data and then the FIN arrive.
#[test]
fn a_close_behind_a_closed_window_is_not_due_now() {
    let cfg = [HostConfig::default(), HostConfig::default()];
    let mut sim = Sim::new(7, &cfg);
    let (listener, client) = listen_and_connect(&mut sim, 1, 0, 80);
    let mut server = None;
    sim.run_until(Duration::from_secs(5), |sim| {
        server = server.or_else(|| sim.hosts[1].sockets.accept(listener).ok());
        server.is_some()
    });
    let server = server.expect("no connection");
    // Fill the server's receive buffer (it does not read) and the client's
    // send buffer behind it, until the client sits on a zero window with
    // data queued.
    let data = Stream::new(7, 200 * 1024);
    let mut queued = 0;
    let stuck = sim.run_until(Duration::from_secs(5), |sim| {
        queued += sim.hosts[0]
            .sockets
            .send(client, &data.bytes()[queued..])
            .unwrap_or(0);
        let s = sim.hosts[0].sockets.get(client).expect("client");
        s.send_window() == 0
            && s.send_queue() > 0
            && sim.hosts[0].sockets.poll_at() != Some(Instant::ZERO)
    });
    assert!(stuck, "the client never waited on a zero window");
    sim.hosts[0].sockets.close(client).expect("close");
    assert_ne!(
        sim.hosts[0].sockets.poll_at(),
        Some(Instant::ZERO),
        "a FIN behind data the window holds back was scheduled as due now"
    );
    // The server reads everything, then sees the FIN.
    let mut got = Vec::new();
    let done = sim.run_until(Duration::from_secs(60), |sim| {
        let mut buf = [0u8; 8192];
        let s = &mut sim.hosts[1].sockets;
        loop {
            match s.recv(server, &mut buf) {
                Ok(0) => return true,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(_) => return false,
            }
        }
    });
    assert!(done, "no FIN after {} of {queued} bytes", got.len());
    assert_eq!(got, &data.bytes()[..queued]);
}
