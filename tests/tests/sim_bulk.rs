//! Bulk transfers through the simulator, checked byte for byte.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rtcp_core::tcp::State;
use rtcp_core::time::Duration;
use rtcp_tests::apps::{listen_and_connect, Receiver, Sender, Stream};
use rtcp_tests::sim::{for_seeds, HostConfig, LinkConfig, Sim};

fn transfer(seed: u64, cfg: HostConfig, len: usize, timeout: Duration) -> Sim {
    let mut sim = Sim::new(seed, &[cfg, cfg]);
    let (listener, client) = listen_and_connect(&mut sim, 1, 0, 80);
    let stream = Stream::new(seed, len);
    let mut sender = Sender::new(0, client);
    let mut receiver: Option<Receiver> = None;
    let ok = sim.run_until(timeout, |sim| {
        sender.pump(sim, stream.bytes()).expect("sender failed");
        if receiver.is_none() {
            if let Ok(h) = sim.hosts[1].sockets.accept(listener) {
                receiver = Some(Receiver::new(1, h));
            }
        }
        if let Some(r) = receiver.as_mut() {
            r.pump(sim, stream.bytes()).expect("receiver failed");
            return r.eof;
        }
        false
    });
    let r = receiver.expect("never accepted");
    assert!(
        ok,
        "transfer timed out at {} of {} bytes (seed {seed})",
        r.received, len
    );
    assert_eq!(r.received, len, "seed {seed}");
    sim
}

#[test]
fn bulk_transfer_clean_link() {
    let sim = transfer(1, HostConfig::default(), 1 << 20, Duration::from_secs(30));
    assert_eq!(sim.stats.lost, 0);
    assert_eq!(sim.hosts[0].sockets.stats().retransmissions, 0);
}

#[test]
fn bulk_transfer_lossy_links_many_seeds() {
    let cfg = HostConfig {
        link: LinkConfig {
            loss_ppm: 20_000,
            duplicate_ppm: 5_000,
            reorder_ppm: 20_000,
            corrupt_ppm: 5_000,
            latency: Duration::from_millis(5),
            ..LinkConfig::default()
        },
        ..HostConfig::default()
    };
    for_seeds("bulk_transfer_lossy_links_many_seeds", 50, |seed| {
        transfer(seed, cfg, 64 * 1024, Duration::from_secs(600));
    });
}

#[test]
fn connection_states_after_transfer() {
    let mut sim = transfer(3, HostConfig::default(), 10_000, Duration::from_secs(30));
    // The client shut down first and the server read EOF but has not closed:
    // once the server's ACK of the FIN lands, client FIN-WAIT-2, server CLOSE-WAIT.
    let states = |sim: &Sim, host: usize| -> Vec<State> {
        sim.hosts[host]
            .sockets
            .iter()
            .map(|(_, s)| s.state())
            .collect()
    };
    assert!(sim.run_until(Duration::from_secs(5), |sim| states(sim, 0)
        == vec![State::FinWait2]));
    assert!(states(&sim, 1).contains(&State::CloseWait));
}

/// A link with a small MTU carries a transfer between hosts configured for
/// it: every segment fits, nothing is dropped for size.
#[test]
fn bulk_transfer_over_a_small_mtu_link() {
    let cfg = HostConfig {
        mtu: 576,
        link: LinkConfig {
            mtu: Some(576),
            ..LinkConfig::default()
        },
        ..HostConfig::default()
    };
    let sim = transfer(3, cfg, 256 * 1024, Duration::from_secs(30));
    assert_eq!(sim.stats.mtu_drops, 0);
    assert_eq!(sim.hosts[0].sockets.stats().retransmissions, 0);
}

/// The link enforces its MTU: hosts that believe the path carries 1500-byte
/// datagrams lose their full-sized segments on a 576-byte link (no ICMP
/// comes back, so nothing can shrink the MSS), while the handshake's small
/// segments get through.
#[test]
fn link_mtu_drops_larger_frames() {
    let cfg = HostConfig {
        link: LinkConfig {
            mtu: Some(576),
            ..LinkConfig::default()
        },
        ..HostConfig::default()
    };
    let mut sim = Sim::new(4, &[cfg, cfg]);
    let (listener, client) = listen_and_connect(&mut sim, 1, 0, 80);
    let data = vec![7u8; 8 * 1024];
    let mut accepted = None;
    sim.run_until(Duration::from_secs(5), |sim| {
        if accepted.is_none() {
            accepted = sim.hosts[1].sockets.accept(listener).ok();
            if accepted.is_some() {
                sim.hosts[0].sockets.send(client, &data).expect("send");
            }
        }
        false
    });
    assert!(accepted.is_some(), "the handshake's small segments pass");
    assert!(sim.stats.mtu_drops > 0, "full-sized segments are dropped");
    let server = sim.hosts[1].sockets.get(accepted.unwrap()).unwrap();
    assert_eq!(server.recv_queue(), 0, "no data segment fits the link");
}
