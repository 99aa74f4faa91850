//! The std-shaped API over the in-process simulated link: no root needed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rtcp_core::time::Duration as RDuration;
use rtcp_core::wire::{Ipv4Address, Ipv4Cidr};
use rtcp_host::backend::sim::SimBackend;
use rtcp_host::link::{Faults, LinkOptions, Rng};
use rtcp_host::{NetStack, StackConfig, TcpListener, TcpStream};
use sha2::{Digest, Sha256};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

fn pair_with(faults: Faults) -> (NetStack, NetStack) {
    let (a, b) = SimBackend::pair().unwrap();
    let cfg = |last: u8, seed: u64| {
        let mut c = StackConfig::new(Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, last), 24));
        c.link = LinkOptions {
            tx: faults,
            rx: Faults::default(),
            seed,
            pcap: None,
            no_tso: false,
        };
        c
    };
    let client = NetStack::new(a, cfg(1, 1)).unwrap();
    let server = NetStack::new(b, cfg(2, 2)).unwrap();
    (client, server)
}

fn pair() -> (NetStack, NetStack) {
    pair_with(Faults::default())
}

fn server_addr(port: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 2], port))
}

#[test]
fn round_trip_addresses_and_eof() {
    let (client, server) = pair();
    let listener = TcpListener::bind(&server, "0.0.0.0:7").unwrap();
    assert_eq!(listener.local_addr().unwrap(), server_addr(7));
    let mut c = TcpStream::connect(&client, "10.0.0.2:7").unwrap();
    let (mut s, peer) = listener.accept().unwrap();
    assert_eq!(c.peer_addr().unwrap(), server_addr(7));
    assert_eq!(peer, c.local_addr().unwrap());
    assert_eq!(s.peer_addr().unwrap(), peer);
    c.set_nodelay(true).unwrap();
    c.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    s.write_all(b"pong").unwrap();
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"pong");
    c.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    // Writing after our own shutdown is a broken pipe.
    assert_eq!(c.write(b"x").unwrap_err().kind(), ErrorKind::BrokenPipe);
    drop(s);
    // The server closed: EOF on the client.
    assert_eq!(c.read(&mut buf).unwrap(), 0);
}

#[test]
fn refused_and_addr_in_use() {
    let (client, server) = pair();
    let e = TcpStream::connect(&client, "10.0.0.2:9").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
    let _l = TcpListener::bind(&server, "0.0.0.0:80").unwrap();
    let e = TcpListener::bind(&server, "10.0.0.2:80").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AddrInUse, "{e}");
    let e = TcpListener::bind(&server, "10.9.9.9:81").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AddrNotAvailable, "{e}");
}

#[test]
fn connect_timeout_when_nobody_answers() {
    let (client, _server) = pair();
    let start = Instant::now();
    // 10.0.0.9 does not exist: ARP goes unanswered.
    let e = TcpStream::connect_timeout(
        &client,
        &SocketAddr::from(([10, 0, 0, 9], 80)),
        Duration::from_millis(300),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert!(start.elapsed() >= Duration::from_millis(300));
}

#[test]
fn read_timeout_nonblocking_and_write_flow_control() {
    let (client, server) = pair();
    let listener = TcpListener::bind(&server, "0.0.0.0:7").unwrap();
    listener.set_nonblocking(true).unwrap();
    assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
    listener.set_nonblocking(false).unwrap();
    let c = TcpStream::connect(&client, "10.0.0.2:7").unwrap();
    let (s, _) = listener.accept().unwrap();

    let mut buf = [0u8; 16];
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let start = Instant::now();
    assert_eq!((&s).read(&mut buf).unwrap_err().kind(), ErrorKind::TimedOut);
    assert!(start.elapsed() >= Duration::from_millis(100));
    s.set_nonblocking(true).unwrap();
    assert_eq!(
        (&s).read(&mut buf).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    s.set_nonblocking(false).unwrap();

    // Nobody reads: the writer fills the peer's receive buffer and its own
    // send buffer, then blocks until its timeout.
    c.set_write_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let chunk = vec![7u8; 64 * 1024];
    let mut queued = 0usize;
    let err = loop {
        match (&c).write(&chunk) {
            Ok(n) => queued += n,
            Err(e) => break e,
        }
        assert!(queued < 4 << 20, "the writer never blocked");
    };
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    // 256 KiB receive buffer + 256 KiB send buffer.
    assert!(queued >= 400 * 1024, "only {queued} bytes queued");
    // Non-blocking write on a full buffer.
    c.set_nonblocking(true).unwrap();
    assert_eq!(
        (&c).write(&chunk).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    c.set_nonblocking(false).unwrap();
    // A reader drains it all; then the writer can go on.
    let reader = std::thread::spawn(move || {
        let mut total = 0usize;
        let mut buf = vec![0u8; 64 * 1024];
        s.set_read_timeout(None).unwrap();
        loop {
            match (&s).read(&mut buf).unwrap() {
                0 => return total,
                n => total += n,
            }
        }
    });
    c.set_write_timeout(None).unwrap();
    (&c).write_all(&chunk).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!(reader.join().unwrap(), queued + chunk.len());
}

fn transfer(client: &NetStack, port: u16, size: usize, seed: u64) -> String {
    let c = TcpStream::connect(client, ("10.0.0.2", port)).unwrap();
    let mut rng = Rng::new(seed);
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 100_000];
    let mut sent = 0;
    while sent < size {
        let n = buf.len().min(size - sent);
        rng.fill(&mut buf[..n]);
        hash.update(&buf[..n]);
        (&c).write_all(&buf[..n]).unwrap();
        sent += n;
    }
    c.shutdown(Shutdown::Write).unwrap();
    assert_eq!((&c).read(&mut buf).unwrap(), 0);
    format!("{:x}", hash.finalize())
}

fn sink(mut s: TcpStream) -> (usize, String) {
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 65536];
    let mut total = 0;
    loop {
        match s.read(&mut buf).unwrap() {
            0 => return (total, format!("{:x}", hash.finalize())),
            n => {
                hash.update(&buf[..n]);
                total += n;
            }
        }
    }
}

#[test]
fn many_threads_many_connections_over_a_lossy_link() {
    let (client, server) = pair_with(Faults {
        delay: RDuration::from_millis(1),
        loss_ppm: 10_000,
        reorder_ppm: 10_000,
        duplicate_ppm: 5_000,
        ..Faults::default()
    });
    let listener = TcpListener::bind(&server, "0.0.0.0:5001").unwrap();
    const N: usize = 8;
    const SIZE: usize = 1 << 20;
    let server_side = std::thread::spawn(move || {
        let workers: Vec<_> = (0..N)
            .map(|_| {
                let (s, peer) = listener.accept().unwrap();
                std::thread::spawn(move || (peer, sink(s)))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .collect::<Vec<_>>()
    });
    let client = std::sync::Arc::new(client);
    let senders: Vec<_> = (0..N)
        .map(|i| {
            let client = client.clone();
            std::thread::spawn(move || transfer(&client, 5001, SIZE, i as u64))
        })
        .collect();
    let mut sent: Vec<String> = senders.into_iter().map(|t| t.join().unwrap()).collect();
    let mut got: Vec<String> = server_side
        .join()
        .unwrap()
        .into_iter()
        .map(|(_, (n, sha))| {
            assert_eq!(n, SIZE);
            sha
        })
        .collect();
    sent.sort();
    got.sort();
    assert_eq!(sent, got);
    let stats = client.stats().unwrap();
    assert!(
        stats.link.lost > 0 && stats.tcp.retransmissions > 0,
        "{stats:?}"
    );
}

#[test]
fn stopping_a_stack_closes_its_connections() {
    let (client, server) = pair();
    let listener = TcpListener::bind(&server, "0.0.0.0:7").unwrap();
    let c = TcpStream::connect(&client, "10.0.0.2:7").unwrap();
    let (s, _) = listener.accept().unwrap();
    // A reader blocked in the stack that stops gets an error at once.
    let blocked = std::thread::spawn(move || (&s).read(&mut [0u8; 4]).map_err(|e| e.kind()));
    std::thread::sleep(Duration::from_millis(50));
    let start = Instant::now();
    server.shutdown().unwrap();
    assert_eq!(blocked.join().unwrap(), Err(ErrorKind::NotConnected));
    // The peer saw a FIN: end of stream.
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!((&c).read(&mut [0u8; 4]).unwrap(), 0);
    assert!(start.elapsed() < Duration::from_secs(4));
    // Calls on the stopped stack fail cleanly.
    let e = TcpListener::bind(&server, "0.0.0.0:8").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotConnected);
}

#[test]
fn peer_reset_is_connection_reset() {
    let (client, server) = pair();
    let listener = TcpListener::bind(&server, "0.0.0.0:7").unwrap();
    let c = TcpStream::connect(&client, "10.0.0.2:7").unwrap();
    let (s, _) = listener.accept().unwrap();
    // The client keeps sending; the server stack stops: it closes, then
    // resets the connection that will not finish within its grace period.
    let writer = std::thread::spawn(move || {
        let chunk = vec![1u8; 16 * 1024];
        loop {
            if let Err(e) = (&c).write(&chunk) {
                return e.kind();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    std::thread::sleep(Duration::from_millis(50));
    drop(s);
    drop(listener);
    drop(server);
    assert_eq!(writer.join().unwrap(), ErrorKind::ConnectionReset);
}

/// CPU time of this process (all threads), from /proc/self/stat.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

#[test]
fn an_idle_stack_sleeps() {
    let (client, server) = pair();
    let listener = TcpListener::bind(&server, "0.0.0.0:7").unwrap();
    let _c = TcpStream::connect(&client, "10.0.0.2:7").unwrap();
    let _s = listener.accept().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let before = cpu_time();
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_time().saturating_sub(before);
    // Other tests run in parallel in this process, so this is loose; a
    // busy loop would burn a whole second per kernel thread.
    assert!(
        used < Duration::from_millis(600),
        "idle stacks used {used:?} of CPU in 1 s"
    );
}
