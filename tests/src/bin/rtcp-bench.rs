//! Engine benchmarks for rtcp; prints one markdown table.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-bench cargo run --release -p rtcp-tests --bin rtcp-bench
//! ```
//!
//! 1. In-memory bulk throughput between two interfaces over a lean device
//!    that recycles frame buffers (and, for comparison, over the simulator's
//!    Vec-per-frame device), wall clock.
//! 2. Goodput through the simulator at 10 ms RTT with 1% loss each way,
//!    virtual time, with the sender's retransmission counters.
//! 3. Connections per second (setup, 1 byte each way, teardown), wall clock.
//! 4. Deadline-index scaling: `poll_at` and `poll` cost with K idle
//!    established connections next to one busy one.
//!
//! `RTCP_BENCH_QUICK=1` shrinks every size (a smoke run).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_precision_loss
)]

use rtcp_core::iface::{Interface, InterfaceConfig};
use rtcp_core::phy::{ChecksumOffload, Device, DeviceCapabilities, RxToken, TxToken};
use rtcp_core::socket_set::{SocketHandle, SocketSet, SocketSlot};
use rtcp_core::tcp::{Endpoint, State, TcpConfig, TcpError, TcpStats};
use rtcp_core::time::{Duration, Instant};
use rtcp_core::wire::Ipv4Cidr;
use rtcp_tests::apps::{listen_and_connect, Receiver, Sender, Stream};
use rtcp_tests::rng::Rng;
use rtcp_tests::sim::{host_ip, host_mac, HostConfig, LinkConfig, Sim};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::hint::black_box;
use std::time::Instant as WallInstant;

// ---------------------------------------------------------------------------
// A lean two-ended in-memory device: fixed-size frame buffers are recycled
// through a pool shared by both ends, frames move between the ends by
// pointer, nothing is zeroed or cloned per frame.

#[derive(Debug)]
struct Frame {
    buf: Box<[u8]>,
    len: usize,
}

#[derive(Debug)]
struct MemDevice<'p> {
    rx: VecDeque<Frame>,
    tx: VecDeque<Frame>,
    pool: &'p RefCell<Vec<Box<[u8]>>>,
    frame_cap: usize,
    caps: DeviceCapabilities,
}

#[derive(Debug)]
struct MemRx<'a> {
    frame: Frame,
    pool: &'a RefCell<Vec<Box<[u8]>>>,
}

#[derive(Debug)]
struct MemTx<'a> {
    tx: &'a mut VecDeque<Frame>,
    pool: &'a RefCell<Vec<Box<[u8]>>>,
    frame_cap: usize,
}

impl RxToken for MemRx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let r = f(&self.frame.buf[..self.frame.len]);
        self.pool.borrow_mut().push(self.frame.buf);
        r
    }
}

impl TxToken for MemTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let popped = self.pool.borrow_mut().pop();
        let mut buf = popped.unwrap_or_else(|| vec![0u8; self.frame_cap].into_boxed_slice());
        let r = f(&mut buf[..len]);
        self.tx.push_back(Frame { buf, len });
        r
    }
}

impl<'p> Device for MemDevice<'p> {
    type RxToken<'a>
        = MemRx<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = MemTx<'a>
    where
        Self: 'a;

    fn receive(&mut self, _now: Instant) -> Option<(MemRx<'_>, MemTx<'_>)> {
        let frame = self.rx.pop_front()?;
        Some((
            MemRx {
                frame,
                pool: self.pool,
            },
            MemTx {
                tx: &mut self.tx,
                pool: self.pool,
                frame_cap: self.frame_cap,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<MemTx<'_>> {
        Some(MemTx {
            tx: &mut self.tx,
            pool: self.pool,
            frame_cap: self.frame_cap,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.caps
    }
}

#[derive(Debug)]
struct Node<'p> {
    iface: Interface,
    sockets: SocketSet<'static>,
    dev: MemDevice<'p>,
}

/// Slot buffer sizes: the first `big_slots` get `big`, the rest `small`.
#[derive(Debug, Clone, Copy)]
struct NodeCfg {
    mtu: usize,
    slots: usize,
    big_slots: usize,
    big: usize,
    small: usize,
    offload: bool,
    tcp: TcpConfig,
}

impl NodeCfg {
    fn bulk(mtu: usize, buf: usize) -> NodeCfg {
        NodeCfg {
            mtu,
            slots: 4,
            big_slots: 4,
            big: buf,
            small: buf,
            offload: false,
            tcp: TcpConfig::default(),
        }
    }
}

fn node<'p>(i: usize, cfg: &NodeCfg, pool: &'p RefCell<Vec<Box<[u8]>>>) -> Node<'p> {
    let slots: Vec<SocketSlot<'static>> = (0..cfg.slots)
        .map(|s| {
            let n = if s < cfg.big_slots {
                cfg.big
            } else {
                cfg.small
            };
            SocketSlot::new(vec![0u8; n], vec![0u8; n])
        })
        .collect();
    let mut secret = [0u8; 16];
    Rng::new(i as u64 + 77).fill(&mut secret);
    let mut sockets = SocketSet::new(slots, secret);
    sockets.set_default_config(cfg.tcp);
    let checksum = if cfg.offload {
        ChecksumOffload {
            ipv4_rx: true,
            ipv4_tx: true,
            tcp_rx: true,
            tcp_tx: true,
            icmp_rx: true,
            icmp_tx: true,
        }
    } else {
        ChecksumOffload::default()
    };
    Node {
        iface: Interface::new(InterfaceConfig {
            mac: host_mac(i),
            ip: Ipv4Cidr::new(host_ip(i), 24),
            gateway: None,
        }),
        sockets,
        dev: MemDevice {
            rx: VecDeque::new(),
            tx: VecDeque::new(),
            pool,
            frame_cap: cfg.mtu + 14,
            caps: DeviceCapabilities {
                mtu: cfg.mtu,
                checksum,
                max_burst: 0,
            },
        },
    }
}

/// The stack's clock: wall time since the start plus a skippable offset.
#[derive(Debug)]
struct Clock {
    start: WallInstant,
    offset_us: u64,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            start: WallInstant::now(),
            offset_us: 1_000_000,
        }
    }
    fn now(&self) -> Instant {
        Instant::from_micros(self.offset_us + self.start.elapsed().as_micros() as u64)
    }
    fn skip(&mut self, d: Duration) {
        self.offset_us += d.total_micros();
    }
}

/// Poll A, carry its frames to B, poll B, carry B's frames back.
fn pump(a: &mut Node<'_>, b: &mut Node<'_>, now: Instant) {
    a.iface.poll(now, &mut a.dev, &mut a.sockets);
    b.dev.rx.extend(a.dev.tx.drain(..));
    b.iface.poll(now, &mut b.dev, &mut b.sockets);
    a.dev.rx.extend(b.dev.tx.drain(..));
}

const PORT: u16 = 80;

fn listen(b: &mut Node<'_>) -> SocketHandle {
    let l = b.sockets.open().unwrap();
    b.sockets
        .listen(l, Endpoint::new(b.iface.ipv4_addr(), PORT), 1024)
        .unwrap();
    l
}

fn connect(a: &mut Node<'_>, b: &Node<'_>, now: Instant) -> SocketHandle {
    let c = a.sockets.open().unwrap();
    a.sockets
        .connect(
            now,
            c,
            Endpoint::new(a.iface.ipv4_addr(), 0),
            Endpoint::new(b.iface.ipv4_addr(), PORT),
        )
        .unwrap();
    c
}

/// Pump until the listener hands out a connection.
fn accept_one(a: &mut Node<'_>, b: &mut Node<'_>, l: SocketHandle, clock: &Clock) -> SocketHandle {
    for _ in 0..1_000_000 {
        pump(a, b, clock.now());
        if let Ok(h) = b.sockets.accept(l) {
            return h;
        }
    }
    panic!("connection never established");
}

// ---------------------------------------------------------------------------
// Bulk transfer over an established pair.

/// Pattern period: a bit over 1 MiB so it never lines up with ring buffers.
const PERIOD: usize = (1 << 20) + 13;

/// The pattern twice over, so any window of up to PERIOD bytes starting at
/// `offset % PERIOD` is contiguous.
fn pattern() -> Vec<u8> {
    let mut p = vec![0u8; PERIOD];
    Rng::new(4242).fill(&mut p);
    let mut two = p.clone();
    two.extend_from_slice(&p);
    two
}

#[derive(Debug, Default)]
struct BulkResult {
    secs: f64,
    bytes: u64,
    verified: u64,
    polls: u64,
    sender: TcpStats,
}

/// Move `total` bytes from `c` (on A) to `s` (on B). The receiver reads in
/// place (`recv_with`) and checks the first and last 64 bytes of every read
/// against the pattern, plus every byte of every 16th read.
fn bulk(
    a: &mut Node<'_>,
    b: &mut Node<'_>,
    c: SocketHandle,
    s: SocketHandle,
    total: u64,
    pat: &[u8],
    clock: &Clock,
) -> BulkResult {
    let before = a.sockets.stats();
    let mut sent = 0u64;
    let mut recvd = 0u64;
    let mut verified = 0u64;
    let mut reads = 0u64;
    let mut polls = 0u64;
    let start = WallInstant::now();
    let mut last_progress = (0, 0);
    let mut last_change = WallInstant::now();
    let mut reported = false;
    while recvd < total {
        if sent < total {
            let n = a
                .sockets
                .with(c, |sock| {
                    sock.send_with(|buf| {
                        let n = buf.len().min((total - sent) as usize);
                        let o = (sent % PERIOD as u64) as usize;
                        buf[..n].copy_from_slice(&pat[o..o + n]);
                        (n, n)
                    })
                })
                .unwrap()
                .unwrap();
            sent += n as u64;
        }
        pump(a, b, clock.now());
        polls += 2;
        loop {
            let r = b.sockets.with(s, |sock| {
                sock.recv_with(|data| {
                    let n = data.len();
                    if n == 0 {
                        return (0, (0, 0));
                    }
                    let o = (recvd % PERIOD as u64) as usize;
                    let exp = &pat[o..o + n];
                    let v = if reads.is_multiple_of(16) {
                        assert!(data == exp, "stream corrupted at {recvd}");
                        n
                    } else {
                        let k = n.min(64);
                        assert!(data[..k] == exp[..k], "stream corrupted at {recvd}");
                        assert!(
                            data[n - k..] == exp[n - k..],
                            "stream corrupted near {}",
                            recvd + n as u64
                        );
                        2 * k
                    };
                    (n, (n, v))
                })
            });
            match r {
                Ok(Ok((0, _))) | Ok(Err(TcpError::WouldBlock)) => break,
                Ok(Ok((n, v))) => {
                    recvd += n as u64;
                    verified += v.min(n) as u64;
                    reads += 1;
                }
                other => panic!("receiver failed: {other:?}"),
            }
        }
        if debug_stalls() {
            let progress = (sent, recvd);
            if progress != last_progress {
                last_progress = progress;
                last_change = WallInstant::now();
                reported = false;
            } else if !reported && last_change.elapsed().as_micros() > 2000 {
                reported = true;
                let sa = a.sockets.get(c).unwrap();
                let sb = b.sockets.get(s).unwrap();
                eprintln!(
                    "STALL at sent {sent} recvd {recvd}: A seq(una,nxt,max)={:?} sendq {} sndwnd {} cwnd {} mss {} poll_at {:?} | B recvq {} rcvwnd {} poll_at {:?} now {}",
                    sa.sequence_state(),
                    sa.send_queue(),
                    sa.send_window(),
                    sa.cwnd(),
                    sa.mss(),
                    a.iface.poll_at(&a.sockets),
                    sb.recv_queue(),
                    sb.recv_window(),
                    b.iface.poll_at(&b.sockets),
                    clock.now()
                );
            }
        }
        // Let the receiver announce the window it just reopened.
        b.iface.poll(clock.now(), &mut b.dev, &mut b.sockets);
        a.dev.rx.extend(b.dev.tx.drain(..));
        polls += 1;
        assert!(
            start.elapsed().as_secs() < 120,
            "bulk transfer stalled at {recvd}/{total}"
        );
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(recvd, total);
    BulkResult {
        secs,
        bytes: total,
        verified,
        polls,
        sender: diff(a.sockets.stats(), before),
    }
}

fn debug_stalls() -> bool {
    std::env::var("RTCP_BENCH_DEBUG").is_ok()
}

fn diff(after: TcpStats, before: TcpStats) -> TcpStats {
    TcpStats {
        segments_sent: after.segments_sent - before.segments_sent,
        retransmissions: after.retransmissions - before.retransmissions,
        timeouts: after.timeouts - before.timeouts,
        fast_retransmits: after.fast_retransmits - before.fast_retransmits,
        ..after
    }
}

fn gbps(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / secs / 1e9
}

#[derive(Debug)]
struct Row {
    bench: String,
    config: String,
    result: String,
    notes: String,
}

fn row(rows: &mut Vec<Row>, bench: &str, config: String, result: String, notes: String) {
    eprintln!("  {bench} | {config} | {result} | {notes}");
    rows.push(Row {
        bench: bench.to_string(),
        config,
        result,
        notes,
    });
}

fn mem_bulk_case(cfg: &NodeCfg, total: u64, runs: usize, pat: &[u8]) -> (BulkResult, Vec<f64>) {
    let pool = RefCell::new(Vec::new());
    let mut a = node(0, cfg, &pool);
    let mut b = node(1, cfg, &pool);
    let clock = Clock::new();
    let l = listen(&mut b);
    // A first poll tells the socket table the device MTU (see notes).
    pump(&mut a, &mut b, clock.now());
    let c = connect(&mut a, &b, clock.now());
    let s = accept_one(&mut a, &mut b, l, &clock);
    // Warm-up: open the congestion window and fault in the buffers.
    bulk(&mut a, &mut b, c, s, 16 << 20, pat, &clock);
    let mut best: Option<BulkResult> = None;
    let mut all = Vec::new();
    for _ in 0..runs {
        let r = bulk(&mut a, &mut b, c, s, total, pat, &clock);
        all.push(gbps(r.bytes, r.secs));
        if best.as_ref().is_none_or(|x| r.secs < x.secs) {
            best = Some(r);
        }
    }
    (best.unwrap(), all)
}

fn bench_mem_bulk(rows: &mut Vec<Row>, quick: bool) {
    let pat = pattern();
    let total: u64 = if quick { 16 << 20 } else { 1 << 30 };
    let runs = if quick { 1 } else { 3 };
    // (MTU, buffer, checksum offload, Nagle)
    let cases: &[(usize, usize, bool, bool)] = &[
        (1500, 64 << 10, false, false),
        (1500, 256 << 10, false, false),
        (9000, 64 << 10, false, false),
        (9000, 256 << 10, false, false),
        (1500, 256 << 10, true, false),
        (9000, 256 << 10, true, false),
        (1500, 256 << 10, false, true),
    ];
    for &(mtu, buf, offload, nagle) in cases {
        let cfg = NodeCfg {
            offload,
            tcp: TcpConfig {
                nodelay: !nagle,
                ..TcpConfig::default()
            },
            ..NodeCfg::bulk(mtu, buf)
        };
        let (r, all) = mem_bulk_case(&cfg, total, runs, &pat);
        let segs = r.sender.segments_sent.max(1);
        let runs_s: Vec<String> = all.iter().map(|g| format!("{g:.2}")).collect();
        row(
            rows,
            "1. in-memory bulk (lean device)",
            format!(
                "MTU {mtu}, {} KiB bufs{}{}",
                buf >> 10,
                if offload { ", checksum offload" } else { "" },
                if nagle { ", Nagle on (default)" } else { "" }
            ),
            format!("**{:.2} GB/s**", gbps(r.bytes, r.secs)),
            format!(
                "runs {} GB/s; {} MiB/run; {:.0} B/segment from sender; {} rexmit, {} RTO; {:.1} KiB/poll; {:.1}% bytes compared",
                runs_s.join("/"),
                r.bytes >> 20,
                r.bytes as f64 / segs as f64,
                r.sender.retransmissions,
                r.sender.timeouts,
                r.bytes as f64 / r.polls as f64 / 1024.0,
                100.0 * r.verified as f64 / r.bytes as f64
            ),
        );
    }
    // The same transfer through the simulator's Vec-per-frame device.
    let total_sim: u64 = if quick { 8 << 20 } else { 64 << 20 };
    for &(mtu, buf) in &[(1500usize, 64usize << 10), (9000, 256 << 10)] {
        let cfg = HostConfig {
            slots: 4,
            rx_buffer: buf,
            tx_buffer: buf,
            mtu,
            tcp: TcpConfig::default(),
            link: LinkConfig {
                latency: Duration::ZERO,
                ..LinkConfig::default()
            },
        };
        let stream = Stream::new(9, total_sim as usize);
        let start = WallInstant::now();
        let (r, sim) = sim_transfer(1, cfg, stream.bytes(), Duration::from_secs(3600), true);
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(r.received as u64, total_sim);
        let st = sim.hosts[0].sockets.stats();
        row(
            rows,
            "1. in-memory bulk (sim device)",
            format!("MTU {mtu}, {} KiB bufs, tests/src/sim.rs, 0 latency", buf >> 10),
            format!("{:.2} GB/s", gbps(total_sim, secs)),
            format!(
                "{} MiB incl. handshake, every byte compared (16 KiB recv copies); {} rexmit, {} RTO",
                total_sim >> 20,
                st.retransmissions,
                st.timeouts
            ),
        );
    }
}

// ---------------------------------------------------------------------------
// Simulated lossy link.

/// A bulk transfer from host 0 to host 1; returns when every byte has been
/// received (checked byte for byte), not waiting for the FIN.
fn sim_transfer(
    seed: u64,
    cfg: HostConfig,
    data: &[u8],
    timeout: Duration,
    prepoll: bool,
) -> (Receiver, Sim) {
    let mut sim = Sim::new(seed, &[cfg, cfg]);
    if prepoll {
        sim.poll_hosts();
    }
    let (listener, client) = listen_and_connect(&mut sim, 1, 0, 80);
    let mut sender = Sender::new(0, client);
    let mut receiver: Option<Receiver> = None;
    let ok = sim.run_until(timeout, |sim| {
        sender.pump(sim, data).expect("sender failed");
        if receiver.is_none() {
            if let Ok(h) = sim.hosts[1].sockets.accept(listener) {
                receiver = Some(Receiver::new(1, h));
            }
        }
        if let Some(r) = receiver.as_mut() {
            r.pump(sim, data).expect("receiver failed");
            return r.received == data.len();
        }
        false
    });
    let r = receiver.expect("never accepted");
    assert!(ok, "transfer timed out at {} of {}", r.received, data.len());
    (r, sim)
}

fn bench_lossy(rows: &mut Vec<Row>, quick: bool) {
    let seeds: u64 = if quick { 1 } else { 5 };
    let cases: &[(u64, u32, usize, usize)] = &[
        // (bandwidth bps, loss ppm, buffer, MiB)
        (100_000_000, 0, 256 << 10, 32),
        (0, 0, 256 << 10, 32),
        (100_000_000, 10_000, 64 << 10, 16),
        (100_000_000, 10_000, 256 << 10, 16),
        (0, 10_000, 64 << 10, 16),
        (0, 10_000, 256 << 10, 16),
    ];
    for &(bw, loss, buf, mib) in cases {
        let mib = if quick { mib.min(2) } else { mib };
        let len = mib << 20;
        let stream = Stream::new(5, len);
        let cfg = HostConfig {
            slots: 4,
            rx_buffer: buf,
            tx_buffer: buf,
            mtu: 1500,
            tcp: TcpConfig::default(),
            link: LinkConfig {
                latency: Duration::from_millis(5),
                bandwidth_bps: bw,
                loss_ppm: loss,
                ..LinkConfig::default()
            },
        };
        let mut goodputs = Vec::new();
        let mut st = TcpStats::default();
        let mut lost = 0;
        let mut acks = 0;
        let wall = WallInstant::now();
        for seed in 0..seeds {
            let start_v = Instant::from_secs(1);
            let (_, sim) =
                sim_transfer(seed, cfg, stream.bytes(), Duration::from_secs(3600), false);
            let vsecs = (sim.now - start_v).total_micros() as f64 / 1e6;
            goodputs.push(len as f64 / vsecs / 1e6);
            let s = sim.hosts[0].sockets.stats();
            st.segments_sent += s.segments_sent;
            st.retransmissions += s.retransmissions;
            st.timeouts += s.timeouts;
            st.fast_retransmits += s.fast_retransmits;
            lost += sim.stats.lost;
            acks += sim.hosts[1].sockets.stats().segments_sent;
        }
        goodputs.sort_by(f64::total_cmp);
        let median = goodputs[goodputs.len() / 2];
        let gs: Vec<String> = goodputs.iter().map(|g| format!("{g:.2}")).collect();
        row(
            rows,
            "2. sim goodput, 10 ms RTT",
            format!(
                "{}, {}% loss each way, {} KiB bufs",
                if bw == 0 {
                    "unlimited".to_string()
                } else {
                    format!("{} Mbit/s", bw / 1_000_000)
                },
                f64::from(loss) / 10_000.0,
                buf >> 10
            ),
            format!("**{median:.2} MB/s** ({:.1} Mbit/s)", median * 8.0),
            format!(
                "median of {seeds} seeds ({} MB/s), {mib} MiB each, virtual time incl. handshake; per seed: {} rexmit ({} fast), {} RTO, {} frames lost, {} segs sent, {} receiver segs (ACKs); {:.1}s wall",
                gs.join("/"),
                st.retransmissions / seeds,
                st.fast_retransmits / seeds,
                st.timeouts / seeds,
                lost / seeds,
                st.segments_sent / seeds,
                acks / seeds,
                wall.elapsed().as_secs_f64()
            ),
        );
    }
}

// ---------------------------------------------------------------------------
// Connection rate.

fn bench_conn_rate(rows: &mut Vec<Row>, quick: bool) {
    let n: u64 = if quick { 2_000 } else { 20_000 };
    let tcp = TcpConfig {
        // TIME-WAIT lasts 2 ms, so closed connections free their slots.
        msl: Duration::from_millis(1),
        ..TcpConfig::default()
    };
    let cfg = NodeCfg {
        mtu: 1500,
        slots: 512,
        big_slots: 0,
        big: 0,
        small: 4096,
        offload: false,
        tcp,
    };
    let pool = RefCell::new(Vec::new());
    let mut a = node(0, &cfg, &pool);
    let mut b = node(1, &cfg, &pool);
    // The server closes first, so each connection leaves a TIME-WAIT
    // socket behind for 2 ms of wall time: at a few µs per connection
    // that is more than the 512 slots, and a SYN that finds the table
    // full waits a second for its retransmission. Recycling gives the
    // oldest TIME-WAIT slot to the new connection instead (counted in the
    // details column).
    // (Built without rtcp-core's `time-wait-recycling`, the table fills
    // and SYNs wait: the details column shows it.)
    if b.sockets.set_time_wait_recycling(true).is_err() {
        eprintln!(
            "rtcp-bench: rtcp-core built without time-wait-recycling; connection rate will stall"
        );
    }
    let clock = Clock::new();
    let l = listen(&mut b);
    // One throwaway connection resolves ARP first.
    let mut slow = 0u64;
    let mut worst = 0f64;
    let mut pumps = 0u64;
    let mut start = WallInstant::now();
    for i in 0..=n {
        if i == 1 {
            start = WallInstant::now();
            slow = 0;
            worst = 0.0;
            pumps = 0;
        }
        let t0 = WallInstant::now();
        let c = loop {
            match a.sockets.open() {
                Ok(c) => break c,
                Err(_) => pump(&mut a, &mut b, clock.now()),
            }
        };
        a.sockets
            .connect(
                clock.now(),
                c,
                Endpoint::new(a.iface.ipv4_addr(), 0),
                Endpoint::new(b.iface.ipv4_addr(), PORT),
            )
            .unwrap();
        a.sockets.send(c, b"q").unwrap();
        let mut server: Option<SocketHandle> = None;
        let mut s_done = false;
        let mut c_done = false;
        let mut buf = [0u8; 8];
        loop {
            pump(&mut a, &mut b, clock.now());
            pumps += 1;
            if server.is_none() {
                server = b.sockets.accept(l).ok();
            }
            if let (Some(s), false) = (server, s_done) {
                if let Ok(1) = b.sockets.recv(s, &mut buf) {
                    b.sockets.send(s, b"r").unwrap();
                    b.sockets.close(s).unwrap();
                    s_done = true;
                }
            }
            if !c_done {
                if let Ok(1) = a.sockets.recv(c, &mut buf) {
                    a.sockets.close(c).unwrap();
                    c_done = true;
                }
            }
            // Done when the client's slot is free again: its FIN was ACKed
            // (LAST-ACK → CLOSED); the server holds TIME-WAIT.
            if c_done && s_done && a.sockets.in_use() == 0 {
                break;
            }
            assert!(t0.elapsed().as_secs() < 10, "connection {i} stuck");
        }
        let dt = t0.elapsed().as_secs_f64();
        worst = worst.max(dt);
        if dt > 0.001 {
            slow += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let st = a.sockets.stats();
    let server = b.sockets.stats();
    row(
        rows,
        "3. connection rate",
        "1 listener, sequential, lean device, MSL 1 ms".to_string(),
        format!("**{:.0} conn/s**", n as f64 / secs),
        format!(
            "{n} × (SYN handshake, 1 B each way, server closes first, client slot freed); {:.1} µs/conn, {:.1} pump rounds/conn, {slow} took >1 ms (worst {:.2} ms); client {} rexmit, {} RTO; server: {} TIME-WAIT slots recycled, {} SYNs dropped for a full table",
            secs / n as f64 * 1e6,
            pumps as f64 / n as f64,
            worst * 1e3,
            st.retransmissions,
            st.timeouts,
            server.time_wait_recycled,
            server.table_full
        ),
    );
}

// ---------------------------------------------------------------------------
// Deadline-index scaling.

fn bench_scaling(rows: &mut Vec<Row>, quick: bool) {
    let pat = pattern();
    let total: u64 = if quick { 8 << 20 } else { 128 << 20 };
    for &k in &[1usize, 16, 64, 256, 1024] {
        let cfg = NodeCfg {
            mtu: 1500,
            slots: k + 3,
            big_slots: 2,
            big: 64 << 10,
            small: 2048,
            offload: false,
            tcp: TcpConfig {
                nodelay: true,
                ..TcpConfig::default()
            },
        };
        let pool = RefCell::new(Vec::new());
        let mut a = node(0, &cfg, &pool);
        let mut b = node(1, &cfg, &pool);
        let mut clock = Clock::new();
        let l = listen(&mut b); // B slot 0
        pump(&mut a, &mut b, clock.now());
        let c = connect(&mut a, &b, clock.now()); // A slot 0
        let s = accept_one(&mut a, &mut b, l, &clock); // B slot 1
        let mut idle = Vec::new();
        for _ in 0..k {
            idle.push(connect(&mut a, &b, clock.now()));
        }
        let mut accepted = 0;
        while accepted < k {
            pump(&mut a, &mut b, clock.now());
            while b.sockets.accept(l).is_ok() {
                accepted += 1;
            }
        }
        // Let every handshake-era timer lapse.
        for _ in 0..3 {
            clock.skip(Duration::from_secs(1));
            pump(&mut a, &mut b, clock.now());
        }
        let established = a
            .sockets
            .iter()
            .filter(|(_, s)| s.state() == State::Established)
            .count();
        assert_eq!(established, k + 1);
        let idle_poll_at = (a.iface.poll_at(&a.sockets), b.iface.poll_at(&b.sockets));
        // poll_at.
        let iters = 2_000_000u32;
        let t = WallInstant::now();
        for _ in 0..iters {
            black_box(a.iface.poll_at(black_box(&a.sockets)));
        }
        let poll_at_ns = t.elapsed().as_secs_f64() * 1e9 / f64::from(iters);
        // poll with nothing to do.
        let iters = 200_000u32;
        let now = clock.now();
        let t = WallInstant::now();
        for _ in 0..iters {
            black_box(a.iface.poll(now, &mut a.dev, &mut a.sockets));
        }
        let idle_poll_ns = t.elapsed().as_secs_f64() * 1e9 / f64::from(iters);
        // The busy one (after a warm-up that opens its congestion window).
        bulk(&mut a, &mut b, c, s, 8 << 20, &pat, &clock);
        let r = (0..3)
            .map(|_| bulk(&mut a, &mut b, c, s, total, &pat, &clock))
            .min_by(|x, y| x.secs.total_cmp(&y.secs))
            .unwrap();
        let ns_per_poll = r.secs * 1e9 / r.polls as f64;
        row(
            rows,
            "4. deadline index",
            format!("K = {k} idle + 1 busy"),
            format!(
                "poll_at {poll_at_ns:.1} ns, idle poll {idle_poll_ns:.0} ns"
            ),
            format!(
                "busy bulk (MTU 1500, 64 KiB, best of 3 × 128 MiB): {:.2} GB/s, {:.0} ns/poll ({} polls); idle poll_at before = {:?}/{:?}",
                gbps(r.bytes, r.secs),
                ns_per_poll,
                r.polls,
                idle_poll_at.0,
                idle_poll_at.1
            ),
        );
        drop(idle);
    }
}

fn main() {
    let quick = std::env::var("RTCP_BENCH_QUICK").is_ok_and(|v| v != "0");
    let only = std::env::var("RTCP_BENCH_ONLY").unwrap_or_default();
    let want = |n: &str| only.is_empty() || only.split(',').any(|x| x == n);
    let mut rows = Vec::new();
    let t = WallInstant::now();
    if want("1") {
        eprintln!("1. in-memory bulk");
        bench_mem_bulk(&mut rows, quick);
    }
    if want("2") {
        eprintln!("2. lossy link (simulated)");
        bench_lossy(&mut rows, quick);
    }
    if want("3") {
        eprintln!("3. connection rate");
        bench_conn_rate(&mut rows, quick);
    }
    if want("4") {
        eprintln!("4. deadline index");
        bench_scaling(&mut rows, quick);
    }
    eprintln!("total {:.1} s", t.elapsed().as_secs_f64());
    println!("| Benchmark | Configuration | Result | Details |");
    println!("|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} |",
            r.bench, r.config, r.result, r.notes
        );
    }
}
