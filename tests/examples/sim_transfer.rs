//! Two rtcp stacks in one process over a simulated link: one sends a byte
//! stream, the other receives it; prints throughput and SHA-256 of both ends.
//!
//! ```text
//! cargo run --release -p rtcp-tests --example sim_transfer -- [SIZE_MIB] [LOSS_PERCENT] [ONE_WAY_DELAY_MS] [MBIT_PER_S] [CC]
//! ```
//! Defaults: 64 MiB, 1% loss in each direction, 5 ms one-way delay, 100 Mbit/s
//! (0 means unlimited), NewReno (CC is `newreno`, `cubic` or `bbr`). The delay
//! may be fractional (0.05 is 50 µs).
//!
//! Environment knobs for experiments: `RTCP_SIM_SEED` (the link's random
//! draws; default 42), `RTCP_SIM_BUFFER_KIB` (socket buffers, default 256),
//! `RTCP_SIM_ACK_LOSS` (loss percent on the ACK direction; default the same
//! as the data direction), `RTCP_SIM_TRACE_MS` (print the sender's window,
//! pacing rate and, for BBR, its model every N ms of virtual time),
//! `RTCP_SIM_DUMP_AT_MS` (print the whole sending socket, send log
//! included, once at that virtual time).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rtcp_core::tcp::congestion::CongestionAlgorithm;
use rtcp_core::tcp::{Endpoint, TcpConfig, TcpError};
use rtcp_core::time::Duration;
use rtcp_tests::rng::Rng;
use rtcp_tests::sim::{HostConfig, LinkConfig, Sim};
use sha2::{Digest, Sha256};

fn arg<T: std::str::FromStr>(n: usize, default: T) -> T {
    std::env::args()
        .nth(n)
        .map(|s| {
            s.parse()
                .unwrap_or_else(|_| panic!("argument {n} is not a number: {s}"))
        })
        .unwrap_or(default)
}

fn main() {
    let size_mib: usize = arg(1, 64);
    let loss_percent: f64 = arg(2, 1.0);
    let delay_ms: f64 = arg(3, 5.0);
    let mbit: u64 = arg(4, 100);
    let cc_name: String = arg(5, "newreno".to_string());
    let cc = CongestionAlgorithm::from_name(&cc_name)
        .unwrap_or_else(|| panic!("unknown congestion controller {cc_name}"));
    let size = size_mib << 20;
    let env = |name: &str| std::env::var(name).ok();
    let seed: u64 = env("RTCP_SIM_SEED").map_or(42, |s| s.parse().expect("RTCP_SIM_SEED"));
    let buffer_kib: usize =
        env("RTCP_SIM_BUFFER_KIB").map_or(256, |s| s.parse().expect("RTCP_SIM_BUFFER_KIB"));
    let ack_loss: f64 =
        env("RTCP_SIM_ACK_LOSS").map_or(loss_percent, |s| s.parse().expect("RTCP_SIM_ACK_LOSS"));
    let trace_ms: u64 =
        env("RTCP_SIM_TRACE_MS").map_or(0, |s| s.parse().expect("RTCP_SIM_TRACE_MS"));
    let cfg = HostConfig {
        rx_buffer: buffer_kib * 1024,
        tx_buffer: buffer_kib * 1024,
        link: LinkConfig {
            latency: Duration::from_micros((delay_ms * 1000.0) as u64),
            loss_ppm: (loss_percent * 10_000.0) as u32,
            bandwidth_bps: mbit * 1_000_000,
            ..LinkConfig::default()
        },
        tcp: TcpConfig {
            congestion: cc,
            ..TcpConfig::default()
        },
        ..HostConfig::default()
    };
    let mut ack_cfg = cfg;
    ack_cfg.link.loss_ppm = (ack_loss * 10_000.0) as u32;
    let mut sim = Sim::new(seed, &[cfg, ack_cfg]);
    let (client_ip, server_ip) = (sim.hosts[0].ip(), sim.hosts[1].ip());
    let listener = sim.hosts[1].sockets.open().unwrap();
    sim.hosts[1]
        .sockets
        .listen(listener, Endpoint::new(server_ip, 5001), 4)
        .unwrap();
    let client = sim.hosts[0].sockets.open().unwrap();
    let now = sim.now;
    sim.hosts[0]
        .sockets
        .connect(
            now,
            client,
            Endpoint::new(client_ip, 0),
            Endpoint::new(server_ip, 5001),
        )
        .unwrap();

    println!(
        "rtcp sim: {size_mib} MiB, {loss_percent}% loss each way, {delay_ms} ms one-way delay, {mbit} Mbit/s (0 = unlimited), {}",
        cc.name()
    );
    let mut rng = Rng::new(7);
    let mut chunk = vec![0u8; 64 * 1024];
    let mut sent = 0usize;
    let mut sent_hash = Sha256::new();
    let mut recv_hash = Sha256::new();
    let mut received = 0usize;
    let mut server = None;
    // Bytes of `chunk` generated but not yet queued: chunk[queued..filled].
    let (mut queued, mut filled) = (0usize, 0usize);
    let mut buf = vec![0u8; 64 * 1024];
    let start_virtual = sim.now;
    let start_wall = std::time::Instant::now();
    let mut last_report = 0usize;
    let mut next_trace = sim.now;
    let mut dump_at: Option<rtcp_core::time::Instant> = env("RTCP_SIM_DUMP_AT_MS")
        .map(|s| start_virtual + Duration::from_millis(s.parse().expect("RTCP_SIM_DUMP_AT_MS")));
    let done = sim.run_until(Duration::from_secs(24 * 3600), |sim| {
        // Sender: generate, hash and queue data as buffer space allows.
        loop {
            if queued == filled {
                if sent == size {
                    let _ = sim.hosts[0].sockets.shutdown(client);
                    break;
                }
                let n = chunk.len().min(size - sent);
                rng.fill(&mut chunk[..n]);
                sent_hash.update(&chunk[..n]);
                sent += n;
                (queued, filled) = (0, n);
            }
            match sim.hosts[0].sockets.send(client, &chunk[queued..filled]) {
                Ok(n) => queued += n,
                Err(TcpError::WouldBlock) => break,
                Err(e) => panic!("send failed: {e}"),
            }
        }
        if trace_ms > 0 && sim.now >= next_trace {
            next_trace = sim.now + Duration::from_millis(trace_ms);
            if let Ok(sock) = sim.hosts[0].sockets.get(client) {
                trace_line(sim.now - start_virtual, sock);
            }
        }
        if dump_at.is_some_and(|at| sim.now >= at) {
            dump_at = None;
            if let Ok(sock) = sim.hosts[0].sockets.get(client) {
                println!("sender {sock:#?}");
            }
            if let Some(sock) = server.and_then(|s| sim.hosts[1].sockets.get(s).ok()) {
                println!("receiver {sock:#?}");
            }
        }
        if server.is_none() {
            server = sim.hosts[1].sockets.accept(listener).ok();
        }
        let Some(s) = server else { return false };
        loop {
            match sim.hosts[1].sockets.recv(s, &mut buf) {
                Ok(0) => return true,
                Ok(n) => {
                    recv_hash.update(&buf[..n]);
                    received += n;
                }
                Err(TcpError::WouldBlock) => break,
                Err(e) => panic!("recv failed: {e}"),
            }
        }
        if received - last_report >= size / 10 && size >= 10 {
            last_report = received;
            println!(
                "  {:>5.1}% at {:?} virtual",
                100.0 * received as f64 / size as f64,
                sim.now - start_virtual
            );
        }
        false
    });
    assert!(done, "transfer did not finish");
    let virtual_secs = (sim.now - start_virtual).total_micros() as f64 / 1e6;
    let wall = start_wall.elapsed().as_secs_f64();
    let stats = sim.hosts[0].sockets.stats();
    let sent_digest = hex(&sent_hash.finalize());
    let recv_digest = hex(&recv_hash.finalize());
    println!("received {received} bytes");
    println!(
        "goodput  {:.2} MB/s (virtual time {:.3} s); simulated in {:.2} s wall",
        received as f64 / virtual_secs / 1e6,
        virtual_secs,
        wall
    );
    println!(
        "sender: {} segments, {} retransmitted, {} fast retransmits, {} timeouts, {} probes, {} undos; link lost {} frames",
        stats.segments_sent,
        stats.retransmissions,
        stats.fast_retransmits,
        stats.timeouts,
        stats.tail_loss_probes,
        stats.spurious_undos,
        sim.stats.lost
    );
    println!("sha256 sent     {sent_digest}");
    println!("sha256 received {recv_digest}");
    if sent_digest != recv_digest || received != size {
        eprintln!("MISMATCH");
        std::process::exit(1);
    }
}

/// One line of the sender's congestion state (`RTCP_SIM_TRACE_MS`).
fn trace_line(at: Duration, sock: &rtcp_core::tcp::TcpSocket<'_>) {
    #[cfg(feature = "bbr")]
    use rtcp_core::tcp::congestion::Congestion;
    use rtcp_core::tcp::congestion::CongestionControl;
    let (una, nxt, _) = sock.sequence_state();
    let cc = sock.congestion_control();
    #[cfg(feature = "bbr")]
    let model = match cc {
        Congestion::Bbr(b) => format!(" {b}"),
        _ => String::new(),
    };
    #[cfg(not(feature = "bbr"))]
    let model = String::new();
    println!(
        "  t {:>8.3} s cwnd {:>8} flight {:>8} pacing {:>8.2} MB/s{model}",
        at.total_micros() as f64 / 1e6,
        sock.cwnd(),
        nxt - una,
        cc.pacing_rate().unwrap_or(0) as f64 / 1e6,
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
