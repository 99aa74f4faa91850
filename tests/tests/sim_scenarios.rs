//! Connection scenarios through the simulator: both directions at once,
//! many connections, every close order, simultaneous open, resets, timeouts,
//! keep-alive, full tables and backlogs, stale handles, zero windows, Nagle,
//! jumbo frames and large buffers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rtcp_core::socket_set::SocketHandle;
use rtcp_core::tcp::{Endpoint, State, TcpConfig, TcpError};
use rtcp_core::time::{Duration, Instant};
use rtcp_tests::apps::{listen_and_connect, Receiver, Sender, Stream};
use rtcp_tests::sim::{for_seeds, Fault, HostConfig, LinkConfig, Sim};
use std::cell::Cell;
use std::rc::Rc;

// ----- helpers -----

fn state(sim: &Sim, host: usize, h: SocketHandle) -> State {
    sim.hosts[host].sockets.get(h).expect("live handle").state()
}

fn error(sim: &Sim, host: usize, h: SocketHandle) -> Option<TcpError> {
    sim.hosts[host].sockets.get(h).expect("live handle").error()
}

fn faulty_link(latency_ms: u64) -> LinkConfig {
    LinkConfig {
        latency: Duration::from_millis(latency_ms),
        loss_ppm: 20_000,
        duplicate_ppm: 10_000,
        reorder_ppm: 20_000,
        reorder_delay: Duration::from_millis(5),
        corrupt_ppm: 10_000,
        ..LinkConfig::default()
    }
}

/// Listen on `server`, connect from `client`, and run until the server has
/// accepted and the client is ESTABLISHED. Returns (listener, client, server).
fn establish(
    sim: &mut Sim,
    server: usize,
    client: usize,
    port: u16,
) -> (SocketHandle, SocketHandle, SocketHandle) {
    let (listener, c) = listen_and_connect(sim, server, client, port);
    let mut accepted = None;
    let ok = sim.run_until(Duration::from_secs(30), |sim| {
        if accepted.is_none() {
            accepted = sim.hosts[server].sockets.accept(listener).ok();
        }
        accepted.is_some() && state(sim, client, c) == State::Established
    });
    assert!(ok, "connection not established (seed {})", sim.seed);
    (listener, c, accepted.unwrap())
}

/// The distinct states a socket went through, with the (observed) time each
/// was first seen.
#[derive(Debug, Default)]
struct Trace(Vec<(Instant, State)>);

impl Trace {
    fn observe(&mut self, now: Instant, s: State) {
        if self.0.last().map(|&(_, last)| last) != Some(s) {
            self.0.push((now, s));
        }
    }
    fn states(&self) -> Vec<State> {
        self.0.iter().map(|&(_, s)| s).collect()
    }
    fn entered(&self, s: State) -> Instant {
        self.0
            .iter()
            .find(|&&(_, x)| x == s)
            .expect("state never entered")
            .0
    }
}

/// Read everything available; true at end of stream.
fn drain(sim: &mut Sim, host: usize, h: SocketHandle, into: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match sim.hosts[host].sockets.recv(h, &mut buf) {
            Ok(0) => return true,
            Ok(n) => into.extend_from_slice(&buf[..n]),
            Err(TcpError::WouldBlock) => return false,
            Err(e) => panic!("recv failed: {e}"),
        }
    }
}

// ----- both directions -----

#[test]
fn bidirectional_transfer_with_faults() {
    let cfg = HostConfig {
        link: faulty_link(3),
        ..HostConfig::default()
    };
    for_seeds("bidirectional_transfer_with_faults", 20, |seed| {
        let mut sim = Sim::new(seed, &[cfg, cfg]);
        let (listener, client) = listen_and_connect(&mut sim, 1, 0, 80);
        let up = Stream::new(seed * 2 + 1, 100_000);
        let down = Stream::new(seed * 2 + 2, 70_000);
        let mut c_tx = Sender::new(0, client);
        let mut c_rx = Receiver::new(0, client);
        let mut s: Option<(Sender, Receiver)> = None;
        let ok = sim.run_until(Duration::from_secs(600), |sim| {
            c_tx.pump(sim, up.bytes()).expect("client send");
            c_rx.pump(sim, down.bytes()).expect("client recv");
            if s.is_none() {
                if let Ok(h) = sim.hosts[1].sockets.accept(listener) {
                    s = Some((Sender::new(1, h), Receiver::new(1, h)));
                }
            }
            if let Some((tx, rx)) = s.as_mut() {
                tx.pump(sim, down.bytes()).expect("server send");
                rx.pump(sim, up.bytes()).expect("server recv");
                return rx.eof && c_rx.eof;
            }
            false
        });
        let (_, s_rx) = s.expect("never accepted");
        assert!(
            ok,
            "timed out: up {} down {} (seed {seed})",
            s_rx.received, c_rx.received
        );
        assert_eq!(s_rx.received, up.bytes().len());
        assert_eq!(c_rx.received, down.bytes().len());
    });
}

// ----- many connections through one listener -----

#[test]
fn sixteen_clients_one_listener() {
    const CLIENT_HOSTS: usize = 4;
    const PER_HOST: usize = 4;
    const N: usize = CLIENT_HOSTS * PER_HOST;
    let server_cfg = HostConfig {
        slots: N + 2,
        link: LinkConfig {
            loss_ppm: 10_000,
            reorder_ppm: 10_000,
            ..LinkConfig::default()
        },
        ..HostConfig::default()
    };
    let client_cfg = HostConfig {
        slots: PER_HOST,
        link: LinkConfig {
            loss_ppm: 10_000,
            reorder_ppm: 10_000,
            ..LinkConfig::default()
        },
        ..HostConfig::default()
    };
    let mut cfgs = vec![server_cfg];
    cfgs.extend(std::iter::repeat_n(client_cfg, CLIENT_HOSTS));
    let mut sim = Sim::new(16, &cfgs);
    let server_ip = sim.hosts[0].ip();
    let listener = sim.hosts[0].sockets.open().unwrap();
    sim.hosts[0]
        .sockets
        .listen(listener, Endpoint::new(server_ip, 80), 16)
        .unwrap();

    // Client k sends stream 100+k and expects stream 200+k back.
    let up: Vec<Stream> = (0..N)
        .map(|k| Stream::new(100 + k as u64, 20_000 + 997 * k))
        .collect();
    let down: Vec<Stream> = (0..N)
        .map(|k| Stream::new(200 + k as u64, 10_000 + 1_531 * k))
        .collect();
    let mut clients = Vec::new();
    let mut by_endpoint = std::collections::HashMap::new();
    for k in 0..N {
        let host = 1 + k / PER_HOST;
        let ip = sim.hosts[host].ip();
        let h = sim.hosts[host].sockets.open().unwrap();
        let now = sim.now;
        sim.hosts[host]
            .sockets
            .connect(now, h, Endpoint::new(ip, 0), Endpoint::new(server_ip, 80))
            .unwrap();
        let local = sim.hosts[host].sockets.get(h).unwrap().local_endpoint();
        by_endpoint.insert(local, k);
        clients.push((Sender::new(host, h), Receiver::new(host, h)));
    }
    let mut servers: Vec<Option<(Sender, Receiver)>> = (0..N).map(|_| None).collect();
    let ok = sim.run_until(Duration::from_secs(300), |sim| {
        while let Ok(h) = sim.hosts[0].sockets.accept(listener) {
            let remote = sim.hosts[0].sockets.get(h).unwrap().remote_endpoint();
            let k = by_endpoint[&remote];
            assert!(servers[k].is_none(), "client {k} accepted twice");
            servers[k] = Some((Sender::new(0, h), Receiver::new(0, h)));
        }
        let mut done = true;
        for k in 0..N {
            let (tx, rx) = &mut clients[k];
            tx.pump(sim, up[k].bytes()).expect("client send");
            rx.pump(sim, down[k].bytes()).expect("client recv");
            done &= rx.eof;
            match servers[k].as_mut() {
                Some((tx, rx)) => {
                    tx.pump(sim, down[k].bytes()).expect("server send");
                    rx.pump(sim, up[k].bytes()).expect("server recv");
                    done &= rx.eof;
                }
                None => done = false,
            }
        }
        done
    });
    assert!(ok, "not all sixteen transfers completed");
    for k in 0..N {
        assert_eq!(clients[k].1.received, down[k].bytes().len());
        assert_eq!(servers[k].as_ref().unwrap().1.received, up[k].bytes().len());
    }
    assert_eq!(sim.hosts[0].sockets.stats().backlog_full, 0);
    assert_eq!(sim.hosts[0].sockets.stats().table_full, 0);
}

// ----- close orders -----

fn msl_config() -> HostConfig {
    HostConfig {
        tcp: TcpConfig {
            msl: Duration::from_secs(1),
            ..TcpConfig::default()
        },
        ..HostConfig::default()
    }
}

/// Exchange a little data so both sides are ESTABLISHED and idle.
fn established_pair(seed: u64) -> (Sim, SocketHandle, SocketHandle, SocketHandle) {
    let cfg = msl_config();
    let mut sim = Sim::new(seed, &[cfg, cfg]);
    let (l, c, s) = establish(&mut sim, 1, 0, 80);
    sim.hosts[0].sockets.send(c, b"hello").unwrap();
    sim.hosts[1].sockets.send(s, b"world").unwrap();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    assert!(sim.run_until(Duration::from_secs(5), |sim| {
        drain(sim, 1, s, &mut a);
        drain(sim, 0, c, &mut b);
        a == b"hello" && b == b"world"
    }));
    // Let the delayed ACKs go out.
    sim.run_until(Duration::from_millis(200), |_| false);
    (sim, l, c, s)
}

fn assert_two_msl(trace: &Trace, who: &str) {
    let waited = trace.entered(State::Closed) - trace.entered(State::TimeWait);
    assert!(
        waited >= Duration::from_millis(1900) && waited <= Duration::from_millis(2100),
        "{who}: TIME-WAIT lasted {waited:?}, want 2 x MSL = 2 s"
    );
}

/// Both ends of a connection, watched step by step: each side reads what
/// arrives, and the states each passes through are recorded.
struct Watch {
    c: SocketHandle,
    s: SocketHandle,
    ct: Trace,
    st: Trace,
    c_got: Vec<u8>,
    s_got: Vec<u8>,
    c_eof: bool,
    s_eof: bool,
    polled: Instant,
}

impl Watch {
    fn new(sim: &Sim, c: SocketHandle, s: SocketHandle) -> Watch {
        let mut w = Watch {
            c,
            s,
            ct: Trace::default(),
            st: Trace::default(),
            c_got: Vec::new(),
            s_got: Vec::new(),
            c_eof: false,
            s_eof: false,
            polled: sim.now,
        };
        w.observe(sim);
        w
    }

    /// Record the states. A change seen now happened during the last poll,
    /// which ran at the time of the previous observation (the simulator
    /// polls, then advances the clock, then lets the test look).
    fn observe(&mut self, sim: &Sim) {
        self.ct.observe(self.polled, state(sim, 0, self.c));
        self.st.observe(self.polled, state(sim, 1, self.s));
        self.polled = sim.now;
    }

    fn tick(&mut self, sim: &mut Sim) {
        if !self.c_eof {
            self.c_eof = drain(sim, 0, self.c, &mut self.c_got);
        }
        if !self.s_eof {
            self.s_eof = drain(sim, 1, self.s, &mut self.s_got);
        }
        self.observe(sim);
    }

    /// Run for `d`, watching.
    fn run_for(&mut self, sim: &mut Sim, d: Duration) {
        sim.run_until(d, |sim| {
            self.tick(sim);
            false
        });
        self.polled = sim.now;
    }

    /// Run until both sockets are CLOSED.
    fn run_to_closed(&mut self, sim: &mut Sim) {
        let ok = sim.run_until(Duration::from_secs(10), |sim| {
            self.tick(sim);
            state(sim, 0, self.c) == State::Closed && state(sim, 1, self.s) == State::Closed
        });
        self.polled = sim.now;
        assert!(
            ok,
            "not closed: client {:?}, server {:?}",
            self.ct.states(),
            self.st.states()
        );
    }
}

#[test]
fn close_client_first() {
    let (mut sim, l, c, s) = established_pair(21);
    sim.hosts[0].sockets.shutdown(c).unwrap();
    let mut w = Watch::new(&sim, c, s);
    w.run_for(&mut sim, Duration::from_millis(300));
    assert!(w.s_eof, "server saw the FIN");
    assert_eq!(state(&sim, 0, c), State::FinWait2);
    assert_eq!(state(&sim, 1, s), State::CloseWait);
    // The half-closed connection still carries data the other way.
    sim.hosts[1].sockets.send(s, b"bye").unwrap();
    sim.hosts[1].sockets.shutdown(s).unwrap();
    w.run_to_closed(&mut sim);
    assert_eq!(w.c_got, b"bye");
    assert!(w.c_eof);
    assert_eq!(
        w.ct.states(),
        [
            State::FinWait1,
            State::FinWait2,
            State::TimeWait,
            State::Closed
        ],
        "client (active closer)"
    );
    assert_eq!(
        w.st.states(),
        [
            State::Established,
            State::CloseWait,
            State::LastAck,
            State::Closed
        ],
        "server"
    );
    assert_two_msl(&w.ct, "client");
    // Closed sockets keep their slot until the user closes the handle.
    assert_eq!(sim.hosts[0].sockets.in_use(), 1);
    assert_eq!(sim.hosts[1].sockets.in_use(), 2);
    sim.hosts[0].sockets.close(c).unwrap();
    sim.hosts[1].sockets.close(s).unwrap();
    sim.hosts[1].sockets.close(l).unwrap();
    assert_eq!(sim.hosts[0].sockets.in_use(), 0);
    assert_eq!(sim.hosts[1].sockets.in_use(), 0);
    assert_eq!(
        sim.hosts[0].sockets.get(c).err(),
        Some(TcpError::InvalidHandle)
    );
}

#[test]
fn close_server_first_and_orphan_lingers_in_time_wait() {
    let (mut sim, l, c, s) = established_pair(22);
    sim.hosts[1].sockets.close(l).unwrap();
    sim.hosts[1].sockets.shutdown(s).unwrap();
    let mut w = Watch::new(&sim, c, s);
    w.run_for(&mut sim, Duration::from_millis(300));
    assert!(w.c_eof, "client saw the FIN");
    assert_eq!(state(&sim, 0, c), State::CloseWait);
    assert_eq!(state(&sim, 1, s), State::FinWait2);
    sim.hosts[0].sockets.shutdown(c).unwrap();
    let ok = sim.run_until(Duration::from_secs(1), |sim| {
        w.tick(sim);
        state(sim, 1, s) == State::TimeWait && state(sim, 0, c) == State::Closed
    });
    assert!(ok, "client {:?}, server {:?}", w.ct.states(), w.st.states());
    assert_eq!(
        w.ct.states(),
        [
            State::Established,
            State::CloseWait,
            State::LastAck,
            State::Closed
        ],
        "client"
    );
    assert_eq!(
        w.st.states(),
        [State::FinWait1, State::FinWait2, State::TimeWait],
        "server (active closer)"
    );
    // Close the handle in TIME-WAIT: the slot lingers for the rest of 2 MSL,
    // then is freed by itself.
    let tw_at = w.st.entered(State::TimeWait);
    sim.hosts[1].sockets.close(s).unwrap();
    assert_eq!(
        sim.hosts[1].sockets.get(s).err(),
        Some(TcpError::InvalidHandle)
    );
    assert_eq!(
        sim.hosts[1].sockets.in_use(),
        1,
        "TIME-WAIT orphan holds its slot"
    );
    let (mut freed_at, mut polled) = (None, sim.now);
    assert!(sim.run_until(Duration::from_secs(5), |sim| {
        if sim.hosts[1].sockets.in_use() == 0 {
            freed_at = Some(polled);
            return true;
        }
        polled = sim.now;
        false
    }));
    let waited = freed_at.unwrap() - tw_at;
    assert!(
        waited >= Duration::from_millis(1900) && waited <= Duration::from_millis(2100),
        "orphan freed after {waited:?} of TIME-WAIT"
    );
    sim.hosts[0].sockets.close(c).unwrap();
    assert_eq!(sim.hosts[0].sockets.in_use(), 0);
}

/// With MSL 0, TIME-WAIT lasts no time at all, but the active closer must
/// still send the ACK of the peer's FIN before it forgets the connection
/// (RFC 9293 §3.10.7.4, FIN-WAIT-2: "acknowledge it, and enter TIME-WAIT").
/// Without that ACK the peer sits in LAST-ACK retransmitting its FIN.
#[test]
fn msl_zero_time_wait_still_acks_the_fin() {
    let cfg = HostConfig {
        tcp: TcpConfig {
            msl: Duration::ZERO,
            ..TcpConfig::default()
        },
        ..HostConfig::default()
    };
    let mut sim = Sim::new(31, &[cfg, cfg]);
    let (_l, c, s) = establish(&mut sim, 1, 0, 80);
    // Server closes first; the client closes as soon as it sees the FIN.
    sim.hosts[1].sockets.shutdown(s).unwrap();
    let mut w = Watch::new(&sim, c, s);
    let mut client_closed = false;
    let ok = sim.run_until(Duration::from_millis(500), |sim| {
        w.tick(sim);
        if w.c_eof && !client_closed {
            sim.hosts[0].sockets.shutdown(c).unwrap();
            client_closed = true;
        }
        state(sim, 0, c) == State::Closed && state(sim, 1, s) == State::Closed
    });
    assert!(
        ok,
        "not closed within 500 ms: client {:?}, server {:?}",
        w.ct.states(),
        w.st.states()
    );
    assert_eq!(
        w.ct.states(),
        [
            State::Established,
            State::CloseWait,
            State::LastAck,
            State::Closed
        ],
        "client"
    );
    assert_eq!(
        error(&sim, 0, c),
        None,
        "client closed gracefully, not reset"
    );
    assert_eq!(
        sim.hosts[0].sockets.stats().timeouts,
        0,
        "FIN retransmitted"
    );
    assert_eq!(sim.hosts[1].sockets.stats().resets_sent, 0);
}

/// The ACK of the peer's FIN is lost and the connection has already left
/// TIME-WAIT (MSL 0 here): the peer's retransmitted FIN reaches the
/// listener, which answers `<SEQ=SEG.ACK><CTL=RST>` (§3.10.7.1). That SEQ is
/// the peer's RCV.NXT, so the RST is acceptable (RFC 5961 §3.2) and must
/// close its LAST-ACK connection (§3.10.7.4) instead of leaving it
/// retransmitting its FIN until the user timeout.
#[test]
fn last_ack_closed_by_listener_rst_after_lost_final_ack() {
    let cfg = HostConfig {
        tcp: TcpConfig {
            msl: Duration::ZERO,
            ..TcpConfig::default()
        },
        ..HostConfig::default()
    };
    let mut sim = Sim::new(32, &[cfg, cfg]);
    let (_l, c, s) = establish(&mut sim, 1, 0, 80);
    sim.hosts[1].sockets.shutdown(s).unwrap();
    let mut w = Watch::new(&sim, c, s);
    assert!(sim.run_until(Duration::from_millis(500), |sim| {
        w.tick(sim);
        w.c_eof && state(sim, 1, s) == State::FinWait2
    }));
    // Lose the server's next frame: the ACK of the client's FIN.
    let lose = Rc::new(Cell::new(1u32));
    let l2 = lose.clone();
    sim.set_fault(move |host, _, _| {
        if host == 1 && l2.get() > 0 {
            l2.set(l2.get() - 1);
            Fault::Drop
        } else {
            Fault::Pass
        }
    });
    sim.hosts[0].sockets.shutdown(c).unwrap();
    let ok = sim.run_until(Duration::from_secs(10), |sim| {
        w.tick(sim);
        state(sim, 0, c) == State::Closed
    });
    assert_eq!(lose.get(), 0, "the final ACK was dropped");
    assert!(ok, "client stuck: {:?}", w.ct.states());
    assert_eq!(state(&sim, 1, s), State::Closed);
    assert_eq!(error(&sim, 0, c), Some(TcpError::ConnectionReset));
    assert!(
        sim.hosts[1].iface.stats().tcp_resets_sent >= 1,
        "the listener sent no RST"
    );
    assert!(
        sim.hosts[0].sockets.stats().timeouts >= 1,
        "the FIN was resent"
    );
}

#[test]
fn simultaneous_close() {
    let (mut sim, l, c, s) = established_pair(23);
    sim.hosts[0].sockets.shutdown(c).unwrap();
    sim.hosts[1].sockets.shutdown(s).unwrap();
    let mut w = Watch::new(&sim, c, s);
    w.run_to_closed(&mut sim);
    let want = [
        State::FinWait1,
        State::Closing,
        State::TimeWait,
        State::Closed,
    ];
    assert_eq!(w.ct.states(), want, "client");
    assert_eq!(w.st.states(), want, "server");
    assert_two_msl(&w.ct, "client");
    assert_two_msl(&w.st, "server");
    assert!(w.c_eof && w.s_eof);
    assert!(w.c_got.is_empty() && w.s_got.is_empty());
    sim.hosts[0].sockets.close(c).unwrap();
    sim.hosts[1].sockets.close(s).unwrap();
    sim.hosts[1].sockets.close(l).unwrap();
    assert_eq!(sim.hosts[0].sockets.in_use(), 0);
    assert_eq!(sim.hosts[1].sockets.in_use(), 0);
}

#[test]
fn close_with_orphans_frees_every_slot() {
    // Both sides close() (not shutdown) with data still queued: the data is
    // delivered, the FINs exchanged and both slots freed in the background.
    let (mut sim, l, c, s) = established_pair(24);
    let data = Stream::new(24, 50_000);
    let n = sim.hosts[0].sockets.send(c, data.bytes()).unwrap();
    assert_eq!(n, data.bytes().len());
    sim.hosts[0].sockets.close(c).unwrap();
    let mut got = Vec::new();
    let mut server_closed = false;
    assert!(sim.run_until(Duration::from_secs(30), |sim| {
        if !server_closed && drain(sim, 1, s, &mut got) {
            sim.hosts[1].sockets.close(s).unwrap();
            sim.hosts[1].sockets.close(l).unwrap();
            server_closed = true;
        }
        server_closed && sim.hosts[0].sockets.in_use() == 0 && sim.hosts[1].sockets.in_use() == 0
    }));
    assert!(got == data.bytes());
}

// ----- simultaneous open -----

#[test]
fn simultaneous_open() {
    let mut sim = Sim::new(31, &[HostConfig::default(), HostConfig::default()]);
    let (a_ip, b_ip) = (sim.hosts[0].ip(), sim.hosts[1].ip());
    let a = sim.hosts[0].sockets.open().unwrap();
    let b = sim.hosts[1].sockets.open().unwrap();
    let now = sim.now;
    sim.hosts[0]
        .sockets
        .connect(now, a, Endpoint::new(a_ip, 5000), Endpoint::new(b_ip, 6000))
        .unwrap();
    sim.hosts[1]
        .sockets
        .connect(now, b, Endpoint::new(b_ip, 6000), Endpoint::new(a_ip, 5000))
        .unwrap();
    let mut seen_syn_received = [false; 2];
    let ok = sim.run_until(Duration::from_secs(30), |sim| {
        let (sa, sb) = (state(sim, 0, a), state(sim, 1, b));
        seen_syn_received[0] |= sa == State::SynReceived;
        seen_syn_received[1] |= sb == State::SynReceived;
        sa == State::Established && sb == State::Established
    });
    assert!(
        ok,
        "simultaneous open stuck: {} / {}",
        state(&sim, 0, a),
        state(&sim, 1, b)
    );
    assert!(
        seen_syn_received[0] && seen_syn_received[1],
        "both sides pass through SYN-RECEIVED"
    );
    assert!(
        sim.now < Instant::from_secs(2),
        "no retransmission needed: established at {}",
        sim.now
    );
    // Data both ways.
    let (x, y) = (Stream::new(1, 30_000), Stream::new(2, 30_000));
    let mut tx = [Sender::new(0, a), Sender::new(1, b)];
    let mut rx = [Receiver::new(1, b), Receiver::new(0, a)];
    assert!(sim.run_until(Duration::from_secs(30), |sim| {
        tx[0].pump(sim, x.bytes()).unwrap();
        tx[1].pump(sim, y.bytes()).unwrap();
        rx[0].pump(sim, x.bytes()).unwrap();
        rx[1].pump(sim, y.bytes()).unwrap();
        rx[0].eof && rx[1].eof
    }));
    assert_eq!(rx[0].received, x.bytes().len());
    assert_eq!(rx[1].received, y.bytes().len());
}

// ----- resets -----

#[test]
fn abort_resets_the_peer() {
    let (mut sim, _l, c, s) = established_pair(41);
    sim.hosts[0].sockets.send(c, &[7u8; 3000]).unwrap();
    sim.hosts[0].sockets.abort(c).unwrap();
    assert_eq!(
        sim.hosts[0].sockets.get(c).err(),
        Some(TcpError::InvalidHandle)
    );
    let ok = sim.run_until(Duration::from_secs(5), |sim| error(sim, 1, s).is_some());
    assert!(ok, "peer never saw the RST");
    assert_eq!(error(&sim, 1, s), Some(TcpError::ConnectionReset));
    assert_eq!(state(&sim, 1, s), State::Closed);
    let mut buf = [0u8; 16];
    assert_eq!(
        sim.hosts[1].sockets.recv(s, &mut buf),
        Err(TcpError::ConnectionReset)
    );
    assert_eq!(
        sim.hosts[1].sockets.send(s, b"x"),
        Err(TcpError::ConnectionReset)
    );
    // The aborted socket's slot is free once its RST went out.
    assert_eq!(sim.hosts[0].sockets.in_use(), 0);
}

#[test]
fn connect_to_closed_port_is_refused() {
    let mut sim = Sim::new(42, &[HostConfig::default(), HostConfig::default()]);
    let (ip0, ip1) = (sim.hosts[0].ip(), sim.hosts[1].ip());
    let c = sim.hosts[0].sockets.open().unwrap();
    let now = sim.now;
    sim.hosts[0]
        .sockets
        .connect(now, c, Endpoint::new(ip0, 0), Endpoint::new(ip1, 9))
        .unwrap();
    let ok = sim.run_until(Duration::from_secs(5), |sim| {
        state(sim, 0, c) == State::Closed
    });
    assert!(ok, "connect neither refused nor failed");
    assert_eq!(error(&sim, 0, c), Some(TcpError::ConnectionRefused));
    assert!(
        sim.now < Instant::from_secs(2),
        "refused at once, not after retries"
    );
    assert_eq!(sim.hosts[1].iface.stats().tcp_resets_sent, 1);
    assert_eq!(
        sim.hosts[0].sockets.send(c, b"x"),
        Err(TcpError::ConnectionRefused)
    );
}

// ----- vanished peers -----

#[test]
fn vanished_peer_times_out() {
    let cfg = HostConfig {
        tcp: TcpConfig {
            user_timeout: Duration::from_secs(10),
            ..TcpConfig::default()
        },
        ..HostConfig::default()
    };
    let mut sim = Sim::new(51, &[cfg, cfg]);
    let (_l, c, _s) = establish(&mut sim, 1, 0, 80);
    sim.hosts[0].link.loss_ppm = 1_000_000;
    sim.hosts[1].link.loss_ppm = 1_000_000;
    let start = sim.now;
    sim.hosts[0].sockets.send(c, &[1u8; 5000]).unwrap();
    let ok = sim.run_until(Duration::from_secs(120), |sim| {
        state(sim, 0, c) == State::Closed
    });
    assert!(ok, "never gave up");
    let took = sim.now - start;
    assert!(
        took >= Duration::from_secs(10) && took <= Duration::from_secs(25),
        "gave up after {took:?}, user timeout 10 s"
    );
    assert_eq!(error(&sim, 0, c), Some(TcpError::TimedOut));
    assert_eq!(sim.hosts[0].sockets.send(c, b"x"), Err(TcpError::TimedOut));
    let mut buf = [0u8; 4];
    assert_eq!(
        sim.hosts[0].sockets.recv(c, &mut buf),
        Err(TcpError::TimedOut)
    );
    assert!(sim.hosts[0].sockets.stats().timeouts >= 3);
}

#[cfg(feature = "keep-alive")]
fn keepalive_config() -> HostConfig {
    HostConfig {
        tcp: TcpConfig {
            keep_alive: Some(rtcp_core::tcp::KeepAlive {
                idle: Duration::from_secs(5),
                interval: Duration::from_secs(1),
                count: 3,
            }),
            ..TcpConfig::default()
        },
        ..HostConfig::default()
    }
}

#[cfg(feature = "keep-alive")]
#[test]
fn keepalive_detects_vanished_peer() {
    let ka = keepalive_config();
    // Only the client probes; the server is a plain socket.
    let mut sim = Sim::new(52, &[ka, HostConfig::default()]);
    let (_l, c, _s) = establish(&mut sim, 1, 0, 80);
    // Let the handshake's last ACK land, then the peer vanishes.
    sim.run_until(Duration::from_millis(100), |_| false);
    let last_heard = sim.now - Duration::from_millis(100);
    sim.hosts[0].link.loss_ppm = 1_000_000;
    sim.hosts[1].link.loss_ppm = 1_000_000;
    let ok = sim.run_until(Duration::from_secs(60), |sim| {
        state(sim, 0, c) == State::Closed
    });
    assert!(ok, "keep-alive never declared the peer dead");
    assert_eq!(error(&sim, 0, c), Some(TcpError::TimedOut));
    let took = sim.now - last_heard;
    // idle + count x interval = 8 s, plus slack.
    assert!(
        took >= Duration::from_secs(5) && took <= Duration::from_secs(9),
        "declared dead after {took:?}"
    );
}

#[cfg(feature = "keep-alive")]
#[test]
fn keepalive_with_live_peer_stays_up() {
    let ka = keepalive_config();
    let mut sim = Sim::new(53, &[ka, HostConfig::default()]);
    let (_l, c, s) = establish(&mut sim, 1, 0, 80);
    let sent_before = sim.hosts[0].sockets.stats().segments_sent;
    let ok = sim.run_until(Duration::from_secs(60), |sim| {
        state(sim, 0, c) != State::Established
    });
    assert!(
        !ok,
        "idle connection with a live peer dropped: {:?}",
        error(&sim, 0, c)
    );
    assert_eq!(state(&sim, 1, s), State::Established);
    let probes = sim.hosts[0].sockets.stats().segments_sent - sent_before;
    // One probe per 5 s idle period (each answered).
    assert!(
        (8..=15).contains(&probes),
        "{probes} keep-alive probes in 60 s"
    );
    // Still usable.
    sim.hosts[1].sockets.send(s, b"still here").unwrap();
    let mut got = Vec::new();
    assert!(sim.run_until(Duration::from_secs(5), |sim| {
        drain(sim, 0, c, &mut got);
        got == b"still here"
    }));
}

// ----- full table and backlog -----

#[test]
fn full_table_drops_syn_until_a_slot_frees() {
    let server_cfg = HostConfig {
        slots: 3,
        tcp: TcpConfig {
            msl: Duration::from_secs(1),
            ..TcpConfig::default()
        },
        ..HostConfig::default()
    };
    let c = HostConfig::default();
    let mut sim = Sim::new(61, &[server_cfg, c, c, c, c]);
    let server_ip = sim.hosts[0].ip();
    let listener = sim.hosts[0].sockets.open().unwrap();
    sim.hosts[0]
        .sockets
        .listen(listener, Endpoint::new(server_ip, 80), 16)
        .unwrap();
    let mut clients = Vec::new();
    for host in 1..=4 {
        let ip = sim.hosts[host].ip();
        let h = sim.hosts[host].sockets.open().unwrap();
        let now = sim.now;
        sim.hosts[host]
            .sockets
            .connect(now, h, Endpoint::new(ip, 0), Endpoint::new(server_ip, 80))
            .unwrap();
        clients.push((host, h));
        // Stagger the SYNs so the order of arrival is known.
        sim.run_until(Duration::from_millis(10), |_| false);
    }
    let mut accepted: Vec<(SocketHandle, Endpoint)> = Vec::new();
    sim.run_until(Duration::from_secs(3), |sim| {
        while let Ok(h) = sim.hosts[0].sockets.accept(listener) {
            accepted.push((h, sim.hosts[0].sockets.get(h).unwrap().remote_endpoint()));
        }
        false
    });
    assert_eq!(accepted.len(), 2);
    assert!(
        sim.hosts[0].sockets.stats().table_full > 0,
        "extra SYNs not counted"
    );
    assert_eq!(sim.hosts[0].sockets.in_use(), 3);
    for &(host, h) in &clients[..2] {
        assert_eq!(state(&sim, host, h), State::Established);
    }
    for &(host, h) in &clients[2..] {
        assert_eq!(
            state(&sim, host, h),
            State::SynSent,
            "client on host {host}"
        );
    }
    assert_eq!(sim.hosts[0].sockets.open().err(), Some(TcpError::TableFull));

    // Each client sends its host number and closes; the server serves the
    // accepted connections one at a time, freeing a slot for the next SYN.
    let mut served = Vec::new();
    let mut sent = [false; 4];
    let mut current: Vec<(SocketHandle, Vec<u8>)> =
        accepted.iter().map(|&(h, _)| (h, Vec::new())).collect();
    let ok = sim.run_until(Duration::from_secs(120), |sim| {
        for (k, &(host, h)) in clients.iter().enumerate() {
            if !sent[k] && state(sim, host, h) == State::Established {
                sim.hosts[host].sockets.send(h, &[host as u8; 100]).unwrap();
                sim.hosts[host].sockets.shutdown(h).unwrap();
                sent[k] = true;
            }
        }
        while let Ok(h) = sim.hosts[0].sockets.accept(listener) {
            current.push((h, Vec::new()));
        }
        // Serve only the oldest connection so the others hold their slots.
        if let Some((h, buf)) = current.first_mut() {
            if drain(sim, 0, *h, buf) {
                let h = *h;
                let data = std::mem::take(buf);
                sim.hosts[0].sockets.close(h).unwrap();
                current.remove(0);
                served.push(data);
            }
        }
        served.len() == 4
    });
    assert!(
        ok,
        "served {} of 4 (table_full {})",
        served.len(),
        sim.hosts[0].sockets.stats().table_full
    );
    let mut hosts: Vec<u8> = served
        .iter()
        .map(|d| {
            assert_eq!(d.len(), 100);
            assert!(d.iter().all(|&b| b == d[0]));
            d[0]
        })
        .collect();
    hosts.sort_unstable();
    assert_eq!(hosts, [1, 2, 3, 4]);
}

/// One request-reply exchange from host 1 to the listener on host 0, the
/// server closing first so that its end goes to TIME-WAIT. With `hold` the
/// server only shuts its side down and keeps the handle (returned); else it
/// closes. `None` in the outer option: the exchange did not finish in 5 s.
fn exchange_server_closes_first(
    sim: &mut Sim,
    listener: SocketHandle,
    hold: bool,
) -> Option<Option<SocketHandle>> {
    let server_ip = sim.hosts[0].ip();
    let client_ip = sim.hosts[1].ip();
    let c = sim.hosts[1].sockets.open().unwrap();
    let now = sim.now;
    sim.hosts[1]
        .sockets
        .connect(
            now,
            c,
            Endpoint::new(client_ip, 0),
            Endpoint::new(server_ip, 80),
        )
        .unwrap();
    sim.hosts[1].sockets.send(c, b"req").unwrap();
    let mut server: Option<SocketHandle> = None;
    let (mut request, mut reply) = (Vec::new(), Vec::new());
    let (mut answered, mut client_done) = (false, false);
    let ok = sim.run_until(Duration::from_secs(5), |sim| {
        if server.is_none() {
            server = sim.hosts[0].sockets.accept(listener).ok();
        }
        if let (Some(s), false) = (server, answered) {
            drain(sim, 0, s, &mut request);
            if request == b"req" {
                sim.hosts[0].sockets.send(s, b"rep").unwrap();
                if hold {
                    sim.hosts[0].sockets.shutdown(s).unwrap();
                } else {
                    sim.hosts[0].sockets.close(s).unwrap();
                }
                answered = true;
            }
        }
        if !client_done && drain(sim, 1, c, &mut reply) {
            sim.hosts[1].sockets.close(c).unwrap();
            client_done = true;
        }
        // Done once the client's LAST-ACK is over: its slot is free.
        client_done && sim.hosts[1].sockets.in_use() == 0
    });
    if !ok {
        return None;
    }
    assert_eq!(reply, b"rep");
    Some(server.filter(|_| hold))
}

/// A server with a listener and three more slots, one of them held in
/// TIME-WAIT by the application, serves six connections that it closes
/// first. Returns how many finished, the server's counters, and the held
/// socket's handle.
fn serve_six_with_time_wait(recycle: bool) -> (usize, Sim, SocketHandle) {
    let server_cfg = HostConfig {
        slots: 4,
        ..HostConfig::default()
    };
    let mut sim = Sim::new(63, &[server_cfg, HostConfig::default()]);
    sim.hosts[0]
        .sockets
        .set_time_wait_recycling(recycle)
        .expect("built with time-wait-recycling");
    let server_ip = sim.hosts[0].ip();
    let listener = sim.hosts[0].sockets.open().unwrap();
    sim.hosts[0]
        .sockets
        .listen(listener, Endpoint::new(server_ip, 80), 4)
        .unwrap();
    // The first connection's TIME-WAIT is the oldest, but its handle is
    // still the application's: it must never be recycled.
    let held = exchange_server_closes_first(&mut sim, listener, true)
        .expect("first exchange")
        .unwrap();
    assert_eq!(state(&sim, 0, held), State::TimeWait);
    let mut finished = 1;
    for _ in 1..6 {
        if exchange_server_closes_first(&mut sim, listener, false).is_none() {
            break;
        }
        finished += 1;
    }
    (finished, sim, held)
}

#[cfg(feature = "time-wait-recycling")]
#[test]
fn full_table_recycles_the_oldest_orphan_in_time_wait() {
    let (finished, mut sim, held) = serve_six_with_time_wait(true);
    assert_eq!(finished, 6);
    let server = sim.hosts[0].sockets.stats();
    // Two free slots took connections 2 and 3; 4, 5 and 6 each took the
    // slot of the connection before last, still in TIME-WAIT (2 MSL is
    // four minutes; all six took well under a second).
    assert_eq!(server.time_wait_recycled, 3);
    assert_eq!(server.table_full, 0);
    assert_eq!(sim.hosts[1].sockets.stats().timeouts, 0, "no SYN waited");
    // The application's own TIME-WAIT socket was left alone.
    assert_eq!(state(&sim, 0, held), State::TimeWait);
    // An active open recycles too.
    let h = sim.hosts[0].sockets.open().unwrap();
    assert_eq!(sim.hosts[0].sockets.stats().time_wait_recycled, 4);
    assert_eq!(state(&sim, 0, h), State::Closed);
    assert_eq!(state(&sim, 0, held), State::TimeWait);
}

#[test]
fn full_table_keeps_time_wait_unless_recycling_is_on() {
    let (finished, mut sim, held) = serve_six_with_time_wait(false);
    // The held socket and two closed ones fill the table for 2 MSL: the
    // fourth connection's SYNs are dropped (RFC 9293 §3.6.1, MUST-13).
    assert_eq!(finished, 3);
    let server = sim.hosts[0].sockets.stats();
    assert!(server.table_full > 0);
    assert_eq!(server.time_wait_recycled, 0);
    assert_eq!(state(&sim, 0, held), State::TimeWait);
    assert_eq!(sim.hosts[0].sockets.open().err(), Some(TcpError::TableFull));
}

#[test]
fn full_backlog_drops_syn_until_accept() {
    let mut sim = Sim::new(
        62,
        &[
            HostConfig::default(),
            HostConfig::default(),
            HostConfig::default(),
        ],
    );
    let server_ip = sim.hosts[0].ip();
    let listener = sim.hosts[0].sockets.open().unwrap();
    sim.hosts[0]
        .sockets
        .listen(listener, Endpoint::new(server_ip, 80), 1)
        .unwrap();
    let mut clients = Vec::new();
    for host in 1..=2 {
        let ip = sim.hosts[host].ip();
        let h = sim.hosts[host].sockets.open().unwrap();
        let now = sim.now;
        sim.hosts[host]
            .sockets
            .connect(now, h, Endpoint::new(ip, 0), Endpoint::new(server_ip, 80))
            .unwrap();
        clients.push(h);
        sim.run_until(Duration::from_millis(10), |_| false);
    }
    // Nobody accepts for a while.
    sim.run_until(Duration::from_secs(4), |_| false);
    assert_eq!(state(&sim, 1, clients[0]), State::Established);
    assert_eq!(state(&sim, 2, clients[1]), State::SynSent);
    let drops = sim.hosts[0].sockets.stats().backlog_full;
    assert!(
        drops >= 2,
        "initial SYN and its retransmissions dropped: {drops}"
    );
    assert_eq!(sim.hosts[0].sockets.stats().table_full, 0);
    let first = sim.hosts[0].sockets.accept(listener).unwrap();
    assert_eq!(
        sim.hosts[0]
            .sockets
            .get(first)
            .unwrap()
            .remote_endpoint()
            .addr,
        sim.hosts[1].ip()
    );
    assert_eq!(
        sim.hosts[0].sockets.accept(listener),
        Err(TcpError::WouldBlock)
    );
    let mut second = None;
    let ok = sim.run_until(Duration::from_secs(30), |sim| {
        if second.is_none() {
            second = sim.hosts[0].sockets.accept(listener).ok();
        }
        second.is_some() && state(sim, 2, clients[1]) == State::Established
    });
    assert!(ok, "second client never got in after the accept");
    let second = second.unwrap();
    assert_eq!(
        sim.hosts[0]
            .sockets
            .get(second)
            .unwrap()
            .remote_endpoint()
            .addr,
        sim.hosts[2].ip()
    );
    assert_eq!(
        sim.hosts[0].sockets.stats().backlog_full,
        drops,
        "no more drops after accept"
    );
}

// ----- stale handles -----

#[test]
fn stale_handles_are_refused() {
    let mut sim = Sim::new(
        71,
        &[
            HostConfig {
                slots: 2,
                ..msl_config()
            },
            msl_config(),
        ],
    );
    let s = &mut sim.hosts[0].sockets;
    let old = s.open().unwrap();
    s.close(old).unwrap();
    let new = s.open().unwrap();
    assert_eq!(old.index(), new.index(), "the slot is reused");
    assert_ne!(old, new);
    assert_eq!(s.get(old).err(), Some(TcpError::InvalidHandle));
    assert_eq!(s.send(old, b"x"), Err(TcpError::InvalidHandle));
    assert_eq!(s.recv(old, &mut [0u8; 4]), Err(TcpError::InvalidHandle));
    assert_eq!(s.close(old), Err(TcpError::InvalidHandle));
    assert_eq!(s.abort(old), Err(TcpError::InvalidHandle));
    assert_eq!(s.shutdown(old), Err(TcpError::InvalidHandle));
    assert_eq!(s.with(old, |_| ()), Err(TcpError::InvalidHandle));
    assert!(s.get(new).is_ok());
    s.close(new).unwrap();

    // The same after a real connection: close it, wait out TIME-WAIT, reuse.
    let (l, c) = listen_and_connect(&mut sim, 1, 0, 80);
    let mut srv = None;
    assert!(sim.run_until(Duration::from_secs(5), |sim| {
        if srv.is_none() {
            srv = sim.hosts[1].sockets.accept(l).ok();
        }
        srv.is_some() && state(sim, 0, c) == State::Established
    }));
    let srv = srv.unwrap();
    sim.hosts[0].sockets.close(c).unwrap();
    let mut got = Vec::new();
    let mut server_closed = false;
    assert!(sim.run_until(Duration::from_secs(10), |sim| {
        if !server_closed && drain(sim, 1, srv, &mut got) {
            sim.hosts[1].sockets.close(srv).unwrap();
            server_closed = true;
        }
        sim.hosts[0].sockets.in_use() == 0
    }));
    let reused = sim.hosts[0].sockets.open().unwrap();
    assert_eq!(reused.index(), c.index());
    for stale in [c, old, new] {
        assert_eq!(
            sim.hosts[0].sockets.get(stale).err(),
            Some(TcpError::InvalidHandle)
        );
        assert_eq!(
            sim.hosts[0].sockets.send(stale, b"x"),
            Err(TcpError::InvalidHandle)
        );
    }
    assert_eq!(state(&sim, 0, reused), State::Closed);
}

// ----- zero window -----

#[test]
fn zero_window_persists_past_user_timeout() {
    let sender_cfg = HostConfig {
        tcp: TcpConfig {
            user_timeout: Duration::from_secs(10),
            ..TcpConfig::default()
        },
        ..HostConfig::default()
    };
    let receiver_cfg = HostConfig {
        rx_buffer: 8 * 1024,
        ..HostConfig::default()
    };
    let mut sim = Sim::new(81, &[sender_cfg, receiver_cfg]);
    let (_l, c, s) = establish(&mut sim, 1, 0, 80);
    let data = Stream::new(81, 64 * 1024);
    let mut tx = Sender::new(0, c);
    // The receiver does not read for 60 s (six user timeouts).
    let ok = sim.run_until(Duration::from_secs(60), |sim| {
        tx.pump(sim, data.bytes())
            .expect("sender failed while the window was closed");
        false
    });
    assert!(!ok);
    assert_eq!(
        state(&sim, 0, c),
        State::FinWait1,
        "sender still waiting: {:?}",
        error(&sim, 0, c)
    );
    assert_eq!(error(&sim, 0, c), None);
    let r = sim.hosts[1].sockets.get(s).unwrap();
    assert_eq!(r.recv_queue(), 8 * 1024, "receive buffer full");
    assert_eq!(r.recv_window(), 0);
    assert_eq!(sim.hosts[0].sockets.get(c).unwrap().send_window(), 0);
    assert_eq!(tx.sent, data.bytes().len());
    // Now read: everything arrives, in order.
    let mut rx = Receiver::new(1, s);
    let ok = sim.run_until(Duration::from_secs(120), |sim| {
        rx.pump(sim, data.bytes()).expect("receiver failed");
        rx.eof
    });
    assert!(
        ok,
        "only {} bytes arrived after the window opened",
        rx.received
    );
    assert_eq!(rx.received, data.bytes().len());
}

// ----- Nagle -----

/// Write 10 bytes every millisecond for 200 ms; returns (segments the
/// writer sent, bytes the reader got).
fn small_writes(nodelay: bool) -> (u64, usize) {
    let cfg = HostConfig {
        tcp: TcpConfig {
            nodelay,
            ..TcpConfig::default()
        },
        ..HostConfig::default()
    };
    let mut sim = Sim::new(91, &[cfg, cfg]);
    let (_l, c, s) = establish(&mut sim, 1, 0, 80);
    sim.run_until(Duration::from_millis(100), |_| false);
    let data = Stream::new(91, 2000);
    let before = sim.hosts[0].sockets.stats().segments_sent;
    let mut got = Vec::new();
    let mut prev_nxt = sim.hosts[0].sockets.get(c).unwrap().sequence_state().1;
    for chunk in data.bytes().chunks(10) {
        assert_eq!(sim.hosts[0].sockets.send(c, chunk).unwrap(), chunk.len());
        sim.run_until(Duration::from_millis(1), |sim| {
            let (una, nxt, _) = sim.hosts[0].sockets.get(c).unwrap().sequence_state();
            if !nodelay && nxt != prev_nxt {
                // Nagle: a new small segment only once the last one is acked.
                assert!(una >= prev_nxt, "two small segments in flight");
            }
            prev_nxt = nxt;
            drain(sim, 1, s, &mut got);
            false
        });
    }
    sim.hosts[0].sockets.shutdown(c).unwrap();
    assert!(sim.run_until(Duration::from_secs(5), |sim| drain(sim, 1, s, &mut got)));
    assert!(got == data.bytes());
    (
        sim.hosts[0].sockets.stats().segments_sent - before,
        got.len(),
    )
}

#[test]
fn nagle_coalesces_small_writes() {
    let (segments, _) = small_writes(false);
    assert!(
        segments < 40,
        "Nagle on: {segments} segments for 200 writes"
    );
}

#[test]
fn nodelay_sends_every_write() {
    let (segments, _) = small_writes(true);
    assert!(
        segments >= 200,
        "Nagle off: {segments} segments for 200 writes"
    );
}

// ----- jumbo frames and large buffers -----

fn one_way(sim: &mut Sim, len: usize, seed: u64) -> (SocketHandle, SocketHandle) {
    // Poll once so the interfaces know their MTU before the SYNs go out.
    sim.poll_hosts();
    let (_l, c, s) = establish(sim, 1, 0, 80);
    let data = Stream::new(seed, len);
    let mut tx = Sender::new(0, c);
    let mut rx = Receiver::new(1, s);
    let ok = sim.run_until(Duration::from_secs(60), |sim| {
        tx.pump(sim, data.bytes()).unwrap();
        rx.pump(sim, data.bytes()).unwrap();
        rx.eof
    });
    assert!(ok, "transfer stalled at {} of {len}", rx.received);
    assert_eq!(rx.received, len);
    (c, s)
}

#[test]
fn jumbo_mtu_transfer() {
    let cfg = HostConfig {
        mtu: 9000,
        ..HostConfig::default()
    };
    let mut sim = Sim::new(101, &[cfg, cfg]);
    let (c, s) = one_way(&mut sim, 2 << 20, 101);
    assert_eq!(sim.hosts[0].sockets.get(c).unwrap().mss(), 8960);
    assert_eq!(sim.hosts[1].sockets.get(s).unwrap().mss(), 8960);
    let segs = sim.hosts[0].sockets.stats().segments_sent;
    assert!(segs < 400, "{segs} segments for 2 MiB at MSS 8960");
}

#[test]
fn large_buffer_transfer() {
    let cfg = HostConfig {
        rx_buffer: 256 * 1024,
        tx_buffer: 256 * 1024,
        link: LinkConfig {
            latency: Duration::from_millis(20),
            // Spaced arrivals: with an infinitely fast link a whole window
            // lands in one poll and draws a single (stretch) ACK.
            bandwidth_bps: 100_000_000,
            ..LinkConfig::default()
        },
        ..HostConfig::default()
    };
    let mut sim = Sim::new(102, &[cfg, cfg]);
    let (c, _s) = one_way(&mut sim, 4 << 20, 102);
    // Window scaling let the peer offer more than 64 KiB.
    let wnd = sim.hosts[0].sockets.get(c).unwrap().send_window();
    assert!(wnd > 65_535, "send window {wnd} not scaled");
    // 4 MiB over a 40 ms RTT: a 64 KiB window would need 64 RTTs (2.6 s).
    assert!(sim.now < Instant::from_secs(3), "took until {}", sim.now);
}

// ----- both sides retransmitting at once -----

/// TCP payload length of an Ethernet/IPv4/TCP frame; `None` for anything else.
fn tcp_payload_len(frame: &[u8]) -> Option<usize> {
    if frame.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    let ip = frame.get(14..)?;
    if *ip.get(9)? != 6 {
        return None;
    }
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    let doff = usize::from(ip.get(ihl + 12)? >> 4) * 4;
    total.checked_sub(ihl + doff)
}

#[test]
fn both_sides_rewound_by_rto_still_converge() {
    // Each side sends two segments' worth; both arrive, but the (delayed)
    // ACKs are lost, so both sides time out and rewind SND.NXT. A pure ACK
    // sent from a rewound SND.NXT lies below what the peer already has and
    // is unacceptable there; if both sides do it they ACK each other's
    // unacceptable ACKs forever and neither learns its data arrived.
    let (mut sim, _l, c, s) = established_pair(111);
    let (a, b) = (Stream::new(1, 2000), Stream::new(2, 2000));
    // Both segments at once (no Nagle hold-back of the short second one).
    sim.hosts[0]
        .sockets
        .with(c, |s| s.set_nodelay(true))
        .unwrap();
    sim.hosts[1]
        .sockets
        .with(s, |s| s.set_nodelay(true))
        .unwrap();
    // Every pure ACK is lost from here on: the receivers ACK the second
    // segment at once (RFC 9293 §3.8.6.3), so the loss is scripted rather
    // than timed against the delayed-ACK timer.
    let acks_lost = Rc::new(Cell::new(true));
    let lose = acks_lost.clone();
    sim.set_fault(move |_, frame, _| {
        if lose.get() && tcp_payload_len(frame) == Some(0) {
            Fault::Drop
        } else {
            Fault::Pass
        }
    });
    assert_eq!(sim.hosts[0].sockets.send(c, a.bytes()).unwrap(), 2000);
    assert_eq!(sim.hosts[1].sockets.send(s, b.bytes()).unwrap(), 2000);
    let ok = sim.run_until(Duration::from_millis(20), |sim| {
        sim.hosts[0].sockets.get(c).unwrap().recv_queue() == 2000
            && sim.hosts[1].sockets.get(s).unwrap().recv_queue() == 2000
    });
    assert!(ok, "data not delivered");
    // The first retransmissions are lost too.
    sim.hosts[0].link.loss_ppm = 1_000_000;
    sim.hosts[1].link.loss_ppm = 1_000_000;
    sim.run_until(Duration::from_millis(1500), |_| false);
    assert!(sim.hosts[0].sockets.stats().timeouts >= 1);
    assert!(sim.hosts[1].sockets.stats().timeouts >= 1);
    sim.hosts[0].link.loss_ppm = 0;
    sim.hosts[1].link.loss_ppm = 0;
    acks_lost.set(false);
    let sent_before = sim.hosts[0].sockets.stats().segments_sent;
    let all_acked = |sim: &Sim, host: usize, h: SocketHandle| {
        let sock = sim.hosts[host].sockets.get(h).unwrap();
        sock.send_queue() == 0 && {
            let (una, nxt, _) = sock.sequence_state();
            una == nxt
        }
    };
    let ok = sim.run_until(Duration::from_secs(10), |sim| {
        all_acked(sim, 0, c) && all_acked(sim, 1, s)
    });
    let sent = sim.hosts[0].sockets.stats().segments_sent - sent_before;
    assert!(
        ok,
        "data never acknowledged; {sent} segments sent, {} unacceptable",
        sim.hosts[0].sockets.stats().unacceptable
    );
    assert!(sent < 20, "ACK storm: {sent} segments");
    let mut got = Vec::new();
    drain(&mut sim, 1, s, &mut got);
    assert!(got == a.bytes());
}
