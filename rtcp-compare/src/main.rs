//! rtcp against smoltcp 0.14 on the same link model, clock and workload;
//! prints one markdown table with both stacks and the ratio (issue 9).
//!
//! ```text
//! cargo run --release -p rtcp-compare            # the full table
//! cargo run --release -p rtcp-compare -- --quick # smoke run (CI)
//! ```
//!
//! Options: `--only bulk,idle,conn,loss,size` picks parts; `--stack rtcp`,
//! `--stack smoltcp`, `--stack floor` or `--stack floor-zc` runs one stack
//! (for callgrind; the floors, the least work a stack of this design could
//! do (a lent-frame device, copying buffers, software checksums), run only
//! on the bulk rows, `floor.rs` and its zero-copy-receive variant
//! `floor-zc`, and on the connection rows, `floor_conn.rs`, and their
//! figures go in those rows' notes); `--mib N` sets the bulk
//! transfer size (MiB; for `conn`, the number of connections), `--runs N`
//! the bulk runs, `--case I` picks one bulk (0-3), idle-K (0-4) or
//! connection (0-1) row; `--cc newreno|cubic|bbr` sets rtcp's congestion
//! controller (NewReno, the engine's default, otherwise; the loss rows then
//! name it).
//!
//! Both stacks run on one thread over `link::End` (the lean recycled-buffer
//! device of `rtcp-bench`). Wall-clock rows give both stacks one clock (wall
//! time since start, in µs); the loss rows run on virtual time, event by
//! event, with seeded loss. Every transfer checks its payload against the
//! pattern (sampled on the bulk rows, every byte on the loss rows), so no
//! stack is credited for corrupt data.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_precision_loss
)]

mod floor;
mod floor_conn;
mod link;
mod stacks;

use floor::Floor;
use floor_conn::ConnFloor;
use link::{Link, LinkCfg, Pool, Rng};
use stacks::{NodeCfg, Rtcp, Smol, Stack};
use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::Instant as Wall;

const PORT: u16 = 80;

/// Options from the command line.
#[derive(Debug, Clone)]
struct Opts {
    quick: bool,
    only: Vec<String>,
    stack: Option<String>,
    mib: Option<u64>,
    runs: Option<usize>,
    case: Option<usize>,
    /// rtcp's congestion controller, when not the default.
    cc: Option<rtcp_core::tcp::congestion::CongestionAlgorithm>,
}

impl Opts {
    fn want(&self, part: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|p| p == part)
    }
    fn run(&self, stack: &str) -> bool {
        self.stack.as_deref().is_none_or(|s| s == stack)
    }
}

/// The clock of the wall-clock rows: µs of wall time since the start, plus
/// an offset that setup may skip forward.
#[derive(Debug)]
struct Clock {
    start: Wall,
    offset: u64,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            start: Wall::now(),
            offset: 1_000_000,
        }
    }
    fn now(&self) -> u64 {
        self.offset + self.start.elapsed().as_micros() as u64
    }
}

/// Poll A, carry its frames to B, poll B, carry B's frames back.
fn pump<S: Stack>(a: &mut S, b: &mut S, now: u64) {
    a.poll(now);
    b.end().rx.extend(a.end().tx.drain(..));
    b.poll(now);
    a.end().rx.extend(b.end().tx.drain(..));
}

/// Pattern period: a bit over 1 MiB so it never lines up with buffers.
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

// ---------------------------------------------------------------------------
// Bulk transfer.

#[derive(Debug, Default, Clone, Copy)]
struct Bulk {
    secs: f64,
    bytes: u64,
    verified: u64,
}

/// Move up to `total` bytes from `c` (on A) to `s` (on B), stopping early
/// after `max_secs`. The receiver reads in place and checks the first and
/// last 64 bytes of every read against the pattern, and every byte of every
/// 16th read.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn bulk<S: Stack>(
    a: &mut S,
    b: &mut S,
    c: S::Conn,
    s: S::Conn,
    total: u64,
    max_secs: f64,
    pat: &[u8],
    clock: &Clock,
) -> Bulk {
    let mut total = total;
    let (mut sent, mut recvd, mut verified, mut reads) = (0u64, 0u64, 0u64, 0u64);
    let start = Wall::now();
    let mut rounds = 0u64;
    while recvd < total {
        if sent < total {
            let o = (sent % PERIOD as u64) as usize;
            let left = (total - sent) as usize;
            sent += a.send_with(c, |buf| {
                let n = buf.len().min(left);
                buf[..n].copy_from_slice(&pat[o..o + n]);
                n
            }) as u64;
        }
        pump(a, b, clock.now());
        loop {
            let o = (recvd % PERIOD as u64) as usize;
            let full = reads % 16 == 0;
            let mut v = 0;
            let n = b.recv_with(s, |data| {
                let n = data.len().min(PERIOD);
                let exp = &pat[o..o + n];
                if full {
                    assert!(
                        data[..n] == *exp,
                        "{}: stream corrupted at {recvd}",
                        S::NAME
                    );
                    v = n;
                } else {
                    let k = n.min(64);
                    assert!(data[..k] == exp[..k], "{}: corrupted at {recvd}", S::NAME);
                    assert!(
                        data[n - k..n] == exp[n - k..],
                        "{}: corrupted before {}",
                        S::NAME,
                        recvd + n as u64
                    );
                    v = 2 * k;
                }
                n
            });
            if n == 0 {
                break;
            }
            recvd += n as u64;
            verified += v.min(n) as u64;
            reads += 1;
        }
        // Let the receiver announce the window it just reopened.
        b.poll(clock.now());
        a.end().rx.extend(b.end().tx.drain(..));
        rounds += 1;
        if rounds % 64 == 0 {
            let el = start.elapsed().as_secs_f64();
            if el > max_secs && total > sent {
                // Time's up: finish what is in flight.
                total = sent;
            }
            assert!(el < 300.0, "{}: bulk stalled at {recvd}/{total}", S::NAME);
        }
    }
    Bulk {
        secs: start.elapsed().as_secs_f64(),
        bytes: recvd,
        verified,
    }
}

/// Two nodes, one busy connection (A to B) and `k` idle established ones.
fn pair<S: Stack>(cfg: &NodeCfg, k: usize, clock: &mut Clock) -> (S, S, S::Conn, S::Conn) {
    let pool = Rc::new(Pool::new(Vec::new()));
    let mut a = S::new(0, cfg, pool.clone(), clock.now());
    let mut b = S::new(1, cfg, pool, clock.now());
    b.listen(PORT, k + 1);
    // A first poll tells the stacks the device's MTU.
    pump(&mut a, &mut b, clock.now());
    let c = a.connect(clock.now(), 1, PORT).expect("client socket");
    let mut s = None;
    for _ in 0..100_000 {
        pump(&mut a, &mut b, clock.now());
        s = b.accept();
        if s.is_some() {
            break;
        }
    }
    let s = s.expect("busy connection never established");
    let idle: Vec<S::Conn> = (0..k)
        .map(|_| a.connect(clock.now(), 1, PORT).expect("idle socket"))
        .collect();
    let mut accepted = 0;
    for _ in 0..100_000 {
        if accepted == k {
            break;
        }
        pump(&mut a, &mut b, clock.now());
        while b.accept().is_some() {
            accepted += 1;
        }
    }
    assert_eq!(accepted, k, "{}: idle connections not accepted", S::NAME);
    // Let every handshake-era timer lapse.
    for _ in 0..3 {
        clock.offset += 1_000_000;
        pump(&mut a, &mut b, clock.now());
    }
    assert!(a.established(c) && b.established(s));
    assert!(
        idle.iter().all(|&i| a.established(i)),
        "{}: idle not established",
        S::NAME
    );
    (a, b, c, s)
}

fn bulk_case<S: Stack>(cfg: &NodeCfg, total: u64, runs: usize, pat: &[u8]) -> (Bulk, Vec<f64>) {
    let mut clock = Clock::new();
    let (mut a, mut b, c, s) = pair::<S>(cfg, 0, &mut clock);
    // Warm-up: open the congestion window, fault the buffers in.
    bulk(&mut a, &mut b, c, s, 16 << 20, 10.0, pat, &clock);
    let mut best = Bulk::default();
    let mut all = Vec::new();
    for _ in 0..runs {
        let r = bulk(&mut a, &mut b, c, s, total, 30.0, pat, &clock);
        all.push(gbps(&r));
        if best.secs == 0.0 || gbps(&r) > gbps(&best) {
            best = r;
        }
    }
    (best, all)
}

fn gbps(r: &Bulk) -> f64 {
    r.bytes as f64 / r.secs / 1e9
}

// ---------------------------------------------------------------------------
// The table.

#[derive(Debug)]
struct Row {
    name: String,
    rtcp: String,
    smol: String,
    ratio: String,
    notes: String,
}

#[derive(Debug, Default)]
struct Table {
    rows: Vec<Row>,
}

impl Table {
    fn add(&mut self, name: String, r: Option<f64>, s: Option<f64>, unit: &str, notes: String) {
        let fmt = |v: Option<f64>| match v {
            Some(v) if v >= 100.0 => format!("{v:.0} {unit}"),
            Some(v) if v >= 1.0 => format!("{v:.2} {unit}"),
            Some(v) => format!("{v:.3} {unit}"),
            None => "–".to_string(),
        };
        let ratio = match (r, s) {
            (Some(r), Some(s)) if s > 0.0 && r / s < 0.1 => format!("{:.2e}×", r / s),
            (Some(r), Some(s)) if s > 0.0 => format!("{:.2}×", r / s),
            _ => "–".to_string(),
        };
        let row = Row {
            name,
            rtcp: fmt(r),
            smol: fmt(s),
            ratio,
            notes,
        };
        eprintln!(
            "  {} | {} | {} | {} | {}",
            row.name, row.rtcp, row.smol, row.ratio, row.notes
        );
        self.rows.push(row);
    }

    fn print(&self) {
        println!("| Row | rtcp | smoltcp 0.14 | rtcp/smoltcp | Notes |");
        println!("|---|---|---|---|---|");
        for r in &self.rows {
            println!(
                "| {} | {} | {} | {} | {} |",
                r.name, r.rtcp, r.smol, r.ratio, r.notes
            );
        }
    }
}

// ---------------------------------------------------------------------------
// 1. Bulk throughput.

fn bench_bulk(t: &mut Table, o: &Opts) {
    let pat = pattern();
    let total: u64 = o.mib.unwrap_or(if o.quick { 16 } else { 512 }) << 20;
    let runs = o.runs.unwrap_or(if o.quick { 1 } else { 3 });
    for (i, &(mtu, buf)) in [
        (1500usize, 64usize << 10),
        (1500, 256 << 10),
        (9000, 64 << 10),
        (9000, 256 << 10),
    ]
    .iter()
    .enumerate()
    {
        if o.case.is_some_and(|c| c != i) {
            continue;
        }
        let cfg = NodeCfg {
            mtu,
            sockets: 4,
            big_count: 4,
            big: buf,
            small: buf,
            nodelay: true,
            short_time_wait: false,
        };
        let r = o
            .run("rtcp")
            .then(|| bulk_case::<Rtcp>(&cfg, total, runs, &pat));
        let s = o
            .run("smoltcp")
            .then(|| bulk_case::<Smol>(&cfg, total, runs, &pat));
        // The floor (`floor.rs`): what any stack could reach here.
        let floor = o
            .run("floor")
            .then(|| bulk_case::<Floor>(&cfg, total, runs, &pat));
        // The floor with zero-copy receive: what a `Device` contract that
        // lends frames to the socket could reach.
        let floor_zc = o
            .run("floor-zc")
            .then(|| bulk_case::<Floor<true>>(&cfg, total, runs, &pat));
        let floor_note = |name: &str, floor: &Option<(Bulk, Vec<f64>)>| match (floor, &s) {
            (Some((f, _)), Some((sm, _))) => format!(
                "; {name} {:.2} GB/s = {:.2}× smoltcp",
                gbps(f),
                gbps(f) / gbps(sm)
            ),
            (Some((f, _)), None) => format!("; {name} {:.2} GB/s", gbps(f)),
            _ => String::new(),
        };
        let floor_note =
            floor_note("floor", &floor) + &floor_note("zero-copy-receive floor", &floor_zc);
        let runs_s = |x: &Option<(Bulk, Vec<f64>)>| {
            x.as_ref().map_or("–".into(), |(_, all)| {
                all.iter()
                    .map(|g| format!("{g:.2}"))
                    .collect::<Vec<_>>()
                    .join("/")
            })
        };
        let verified = |x: &Option<(Bulk, Vec<f64>)>| {
            x.as_ref()
                .map_or(0.0, |(b, _)| 100.0 * b.verified as f64 / b.bytes as f64)
        };
        t.add(
            format!("bulk, MTU {mtu}, {} KiB buffers", buf >> 10),
            r.as_ref().map(|x| gbps(&x.0)),
            s.as_ref().map(|x| gbps(&x.0)),
            "GB/s",
            format!(
                "best of {runs} × {} MiB; runs rtcp {} / smoltcp {} GB/s; {:.0}%/{:.0}% of bytes compared{floor_note}",
                total >> 20,
                runs_s(&r),
                runs_s(&s),
                verified(&r),
                verified(&s)
            ),
        );
    }
}

// ---------------------------------------------------------------------------
// 2. K idle connections beside the busy one.

/// ns per deadline query, and busy-connection throughput, with `k` idle.
fn idle_case<S: Stack>(k: usize, total: u64, max_secs: f64, pat: &[u8]) -> (f64, f64) {
    let cfg = NodeCfg {
        mtu: 1500,
        sockets: k + 2,
        // rtcp's listener takes the first slot on B, the busy connection the
        // second; smoltcp's busy connection lands on the first pool socket.
        big_count: 2,
        big: 64 << 10,
        small: 2048,
        nodelay: true,
        short_time_wait: false,
    };
    let mut clock = Clock::new();
    let (mut a, mut b, c, s) = pair::<S>(&cfg, k, &mut clock);
    // Deadline query: as many as fit in 50 ms (at least 100).
    let now = clock.now();
    let t = Wall::now();
    let mut iters = 0u64;
    loop {
        for _ in 0..100 {
            black_box(a.poll_at(black_box(now)));
        }
        iters += 100;
        if t.elapsed().as_secs_f64() > 0.05 {
            break;
        }
    }
    let poll_at_ns = t.elapsed().as_secs_f64() * 1e9 / iters as f64;
    bulk(&mut a, &mut b, c, s, 4 << 20, max_secs, pat, &clock);
    let r = bulk(&mut a, &mut b, c, s, total, max_secs, pat, &clock);
    (poll_at_ns, gbps(&r))
}

fn bench_idle(t: &mut Table, o: &Opts) {
    let pat = pattern();
    let total: u64 = o
        .mib
        .map_or(if o.quick { 8 << 20 } else { 256 << 20 }, |m| m << 20);
    // With --mib the size is fixed (for callgrind), else time-bounded.
    let max_secs = if o.mib.is_some() {
        1e9
    } else if o.quick {
        0.3
    } else {
        2.0
    };
    for (i, &k) in [1usize, 16, 64, 256, 1024].iter().enumerate() {
        if o.case.is_some_and(|c| c != i) {
            continue;
        }
        let r = o
            .run("rtcp")
            .then(|| idle_case::<Rtcp>(k, total, max_secs, &pat));
        let s = o
            .run("smoltcp")
            .then(|| idle_case::<Smol>(k, total, max_secs, &pat));
        t.add(
            format!("bulk beside K = {k} idle connections (MTU 1500, 64 KiB)"),
            r.map(|x| x.1),
            s.map(|x| x.1),
            "GB/s",
            format!(
                "busy connection's throughput, ≤ {} MiB or {max_secs} s",
                total >> 20
            ),
        );
        t.add(
            format!("poll_at / poll_delay, K = {k} idle"),
            r.map(|x| x.0),
            s.map(|x| x.0),
            "ns",
            "cost of the next-deadline query (lower is better)".to_string(),
        );
    }
}

// ---------------------------------------------------------------------------
// 3. Connection rate.

/// Connections per second with `clients` concurrent clients: connect, 1 byte
/// each way (client first), server closes first, client closes when it has
/// the reply; a client socket is reused once its connection has ended.
#[inline(never)]
fn conn_case<S: Stack>(clients: usize, n: u64) -> (f64, u64) {
    let cfg_a = NodeCfg {
        mtu: 1500,
        sockets: clients,
        big_count: 0,
        big: 0,
        small: 4096,
        nodelay: true,
        short_time_wait: true,
    };
    // The same table size for both: rtcp holds the listener, children in
    // the accept queue and nothing in TIME-WAIT (MSL 0, `short_time_wait`);
    // smoltcp a listening pool of one socket per client plus spares. (Until
    // session 8 rtcp had 1024 + 2 × clients slots, sized for TIME-WAIT with
    // an MSL of 1 ms; `RTCP_COMPARE_BIG_TABLE=1` restores that, which costs
    // rtcp cache and TLB misses on its larger table.)
    let big_table = std::env::var_os("RTCP_COMPARE_BIG_TABLE").is_some();
    let cfg_b = NodeCfg {
        sockets: if S::NAME == "rtcp" && big_table {
            1024 + 2 * clients
        } else {
            clients + 16
        },
        ..cfg_a
    };
    let clock = Clock::new();
    let pool = Rc::new(Pool::new(Vec::new()));
    let mut a = S::new(0, &cfg_a, pool.clone(), clock.now());
    let mut b = S::new(1, &cfg_b, pool, clock.now());
    b.listen(PORT, clients + 16);
    let mut active: Vec<(S::Conn, bool)> = Vec::new();
    let mut server: Vec<(S::Conn, bool)> = Vec::new();
    let (mut started, mut done, mut pumps) = (0u64, 0u64, 0u64);
    // One throwaway connection first resolves ARP; the clock starts after.
    let mut start = Wall::now();
    let total = n + 1;
    while done < total || a.in_use() > 0 {
        while active.len() < clients && started < total {
            match a.connect(clock.now(), 1, PORT) {
                Some(c) => {
                    active.push((c, false));
                    started += 1;
                }
                None => break,
            }
        }
        pump(&mut a, &mut b, clock.now());
        pumps += 1;
        while let Some(s) = b.accept() {
            server.push((s, false));
        }
        server.retain_mut(|(s, replied)| {
            if !*replied {
                let mut q = 0u8;
                if b.recv_with(*s, |d| {
                    q = d[0];
                    1
                }) == 1
                {
                    assert_eq!(q, b'q', "{}: wrong request byte", S::NAME);
                    let sent = b.send_with(*s, |buf| {
                        if buf.is_empty() {
                            return 0;
                        }
                        buf[0] = b'r';
                        1
                    });
                    assert_eq!(sent, 1);
                    b.close(*s);
                    *replied = true;
                }
            }
            !(*replied && b.server_done(*s))
        });
        active.retain_mut(|(c, sent)| {
            if !*sent {
                *sent = a.send_with(*c, |buf| {
                    if buf.is_empty() {
                        return 0;
                    }
                    buf[0] = b'q';
                    1
                }) == 1;
                return true;
            }
            let mut r = 0u8;
            if a.recv_with(*c, |d| {
                r = d[0];
                1
            }) == 1
            {
                assert_eq!(r, b'r', "{}: wrong reply byte", S::NAME);
                a.close_client(*c);
                done += 1;
                return false;
            }
            true
        });
        if done == 1 && started == 1 {
            // Warm-up connection over; wait for it to end, then time.
            while a.in_use() > 0 {
                pump(&mut a, &mut b, clock.now());
            }
            start = Wall::now();
            pumps = 0;
        }
        assert!(
            start.elapsed().as_secs() < 120,
            "{}: connection rate stuck at {done}",
            S::NAME
        );
    }
    (n as f64 / start.elapsed().as_secs_f64(), pumps)
}

fn bench_conn(t: &mut Table, o: &Opts) {
    let n: u64 = o.mib.unwrap_or(if o.quick { 2_000 } else { 20_000 });
    for (i, &clients) in [1usize, 64].iter().enumerate() {
        if o.case.is_some_and(|c| c != i) {
            continue;
        }
        let r = o.run("rtcp").then(|| conn_case::<Rtcp>(clients, n));
        let s = o.run("smoltcp").then(|| conn_case::<Smol>(clients, n));
        // The connection floor (`floor_conn.rs`): what any stack could
        // reach here.
        let floor = o.run("floor").then(|| conn_case::<ConnFloor>(clients, n));
        let floor_note = match (&floor, &s) {
            (Some(f), Some(sm)) => {
                format!("; floor {:.0} conn/s = {:.2}× smoltcp", f.0, f.0 / sm.0)
            }
            (Some(f), None) => format!("; floor {:.0} conn/s", f.0),
            _ => String::new(),
        };
        t.add(
            format!(
                "connections/s, {} (setup, 1 B each way, teardown)",
                if clients == 1 {
                    "1 listener, 1 client at a time".to_string()
                } else {
                    format!("1 listener, {clients} concurrent clients")
                }
            ),
            r.map(|x| x.0),
            s.map(|x| x.0),
            "conn/s",
            format!(
                "{n} connections; pump rounds/conn rtcp {} smoltcp {}; smoltcp server: pool of listening sockets, TIME-WAIT ended by abort{floor_note}",
                r.map_or("–".into(), |x| format!("{:.1}", x.1 as f64 / n as f64)),
                s.map_or("–".into(), |x| format!("{:.1}", x.1 as f64 / n as f64)),
            ),
        );
    }
}

// ---------------------------------------------------------------------------
// 4. Goodput under loss (virtual time).

#[derive(Debug, Default, Clone, Copy)]
struct Lossy {
    goodput: f64,
    rexmit_bytes: u64,
    timeouts: u64,
    own_timeouts: Option<u64>,
    lost: u64,
    stalled: bool,
}

/// One transfer of `total` bytes A to B over a 1 Gbit/s link with
/// `delay_us` one-way delay and 1% loss each way; virtual time from
/// `connect` to the last byte read. Every byte is checked.
fn lossy_case<S: Stack>(delay_us: u64, buf: usize, seed: u64, total: u64, pat: &[u8]) -> Lossy {
    let cfg = NodeCfg {
        mtu: 1500,
        sockets: 4,
        big_count: 4,
        big: buf,
        small: buf,
        nodelay: false,
        short_time_wait: false,
    };
    let mut link = Link::new(
        LinkCfg {
            delay_us,
            rate_bps: 1_000_000_000,
            loss_ppm: 10_000,
            timeout_gap_us: 500_000,
        },
        seed,
    );
    let mut now: u64 = 1_000_000;
    let start = now;
    let pool = Rc::new(RefCell::new(Vec::new()));
    let mut a = S::new(0, &cfg, pool.clone(), now);
    let mut b = S::new(1, &cfg, pool, now);
    b.listen(PORT, 1);
    let c = a.connect(now, 1, PORT).expect("client");
    let mut s: Option<S::Conn> = None;
    let (mut sent, mut recvd) = (0u64, 0u64);
    let limit = start + 3_600_000_000;
    let mut stalled = false;
    while recvd < total {
        let mut progress = false;
        if sent < total {
            let o = (sent % PERIOD as u64) as usize;
            let left = (total - sent) as usize;
            let n = a.send_with(c, |buf| {
                let n = buf.len().min(left);
                buf[..n].copy_from_slice(&pat[o..o + n]);
                n
            });
            sent += n as u64;
            progress |= n > 0;
        }
        a.poll(now);
        link.send(0, a.end(), now);
        if s.is_none() {
            s = b.accept();
        }
        b.poll(now);
        if let Some(s) = s {
            loop {
                let o = (recvd % PERIOD as u64) as usize;
                let n = b.recv_with(s, |data| {
                    let n = data.len().min(PERIOD);
                    assert!(
                        data[..n] == pat[o..o + n],
                        "{}: corrupted at {recvd}",
                        S::NAME
                    );
                    n
                });
                if n == 0 {
                    break;
                }
                recvd += n as u64;
                progress = true;
            }
            if progress {
                b.poll(now);
            }
        }
        link.send(1, b.end(), now);
        let d = link.deliver(0, b.end(), now) + link.deliver(1, a.end(), now);
        if d > 0 || progress {
            continue;
        }
        let next = [link.next_arrival(), a.poll_at(now), b.poll_at(now)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now + 1_000);
        now = next.max(now + 1);
        if now > limit {
            stalled = true;
            break;
        }
    }
    let secs = (now - start) as f64 / 1e6;
    let st = link.stats(0);
    Lossy {
        goodput: recvd as f64 / secs / 1e6,
        rexmit_bytes: st.retransmitted,
        timeouts: st.timeouts,
        own_timeouts: a.own_timeouts(),
        lost: st.lost + link.stats(1).lost,
        stalled,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn bench_loss(t: &mut Table, o: &Opts) {
    let pat = pattern();
    // `RTCP_LOSS_SEEDS=N` and `RTCP_LOSS_DELAYS=µs,µs` widen or narrow the
    // sweep (rare events such as timeouts need many seeds); the defaults
    // are the table's. `RTCP_LOSS_VERBOSE=1` prints each seed's timeouts.
    let env_u64 = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let seeds: u64 = env_u64("RTCP_LOSS_SEEDS").unwrap_or(if o.quick { 1 } else { 3 });
    let total: u64 = if o.quick { 1 << 20 } else { 8 << 20 };
    let delays: Vec<u64> = std::env::var("RTCP_LOSS_DELAYS").map_or_else(
        |_| vec![0, 50, 5_000],
        |v| v.split(',').filter_map(|d| d.trim().parse().ok()).collect(),
    );
    let verbose = std::env::var_os("RTCP_LOSS_VERBOSE").is_some();
    for &delay in &delays {
        for &buf in &[64usize << 10, 256 << 10] {
            let run = |stack: &str| -> Option<Vec<Lossy>> {
                o.run(stack).then(|| {
                    (0..seeds)
                        .map(|seed| {
                            if stack == "rtcp" {
                                lossy_case::<Rtcp>(delay, buf, seed, total, &pat)
                            } else {
                                lossy_case::<Smol>(delay, buf, seed, total, &pat)
                            }
                        })
                        .collect()
                })
            };
            let r = run("rtcp");
            let s = run("smoltcp");
            if verbose {
                for (name, v) in [("rtcp", &r), ("smoltcp", &s)] {
                    for (seed, l) in v.iter().flatten().enumerate() {
                        if l.timeouts > 0 || l.own_timeouts.unwrap_or(0) > 0 {
                            eprintln!(
                                "{name} delay {delay} µs buf {} KiB seed {seed}: timeouts {} (own {:?})",
                                buf >> 10,
                                l.timeouts,
                                l.own_timeouts
                            );
                        }
                    }
                }
            }
            let per_gib = |v: &Option<Vec<Lossy>>, f: &dyn Fn(&Lossy) -> u64| {
                v.as_ref().map(|v| {
                    v.iter().map(f).sum::<u64>() as f64 * (1u64 << 30) as f64
                        / (total * v.len() as u64) as f64
                })
            };
            let fmt_gib = |x: Option<f64>| x.map_or("–".into(), |x| format!("{x:.0}"));
            let stalled =
                |v: &Option<Vec<Lossy>>| v.as_ref().is_some_and(|v| v.iter().any(|l| l.stalled));
            t.add(
                format!(
                    "goodput, 1% loss each way, {} one-way, 1 Gbit/s, {} KiB buffers{}",
                    if delay >= 1000 {
                        format!("{} ms", delay / 1000)
                    } else {
                        format!("{delay} µs")
                    },
                    buf >> 10,
                    o.cc.map_or(String::new(), |cc| format!(" (rtcp: {cc:?})")),
                ),
                r.as_ref().map(|v| median(v.iter().map(|l| l.goodput).collect())),
                s.as_ref().map(|v| median(v.iter().map(|l| l.goodput).collect())),
                "MB/s",
                format!(
                    "median of {seeds} seeds × {} MiB, virtual time; per GiB: rexmit MiB rtcp {} smoltcp {}, timeouts rtcp {} (own count {}) smoltcp {}; frames lost/seed {}{}",
                    total >> 20,
                    fmt_gib(per_gib(&r, &|l| l.rexmit_bytes).map(|x| x / f64::from(1 << 20))),
                    fmt_gib(per_gib(&s, &|l| l.rexmit_bytes).map(|x| x / f64::from(1 << 20))),
                    fmt_gib(per_gib(&r, &|l| l.timeouts)),
                    fmt_gib(per_gib(&r, &|l| l.own_timeouts.unwrap_or(0))),
                    fmt_gib(per_gib(&s, &|l| l.timeouts)),
                    r.as_ref()
                        .or(s.as_ref())
                        .map_or(0, |v| v.iter().map(|l| l.lost).sum::<u64>() / seeds),
                    if stalled(&r) || stalled(&s) {
                        " (a run hit the 1 h virtual-time limit)"
                    } else {
                        ""
                    }
                ),
            );
        }
    }
}

// ---------------------------------------------------------------------------
// 5. Footprint on this host.

fn sizes() {
    use std::mem::size_of;
    println!();
    println!(
        "| size_of on {} | rtcp | smoltcp 0.14 |",
        std::env::consts::ARCH
    );
    println!("|---|---|---|");
    println!(
        "| TCP socket (rtcp `TcpSocket`, smoltcp `tcp::Socket`) | {} B | {} B |",
        size_of::<rtcp_core::tcp::socket::TcpSocket<'static>>(),
        size_of::<smoltcp::socket::tcp::Socket<'static>>()
    );
    println!(
        "| table entry (rtcp `SocketSlot`, smoltcp `SocketStorage`) | {} B | {} B |",
        size_of::<rtcp_core::socket_set::SocketSlot<'static>>(),
        size_of::<smoltcp::iface::SocketStorage<'static>>()
    );
    println!(
        "| socket table (rtcp `SocketSet`, smoltcp `SocketSet`) | {} B | {} B |",
        size_of::<rtcp_core::socket_set::SocketSet<'static>>(),
        size_of::<smoltcp::iface::SocketSet<'static>>()
    );
    println!(
        "| interface | {} B | {} B |",
        size_of::<rtcp_core::iface::Interface>(),
        size_of::<smoltcp::iface::Interface>()
    );
}

fn main() {
    let mut o = Opts {
        quick: false,
        only: Vec::new(),
        stack: None,
        mib: None,
        runs: None,
        case: None,
        cc: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--only" => {
                o.only = args
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(String::from)
                    .collect()
            }
            "--stack" => o.stack = args.next(),
            "--mib" => o.mib = args.next().and_then(|m| m.parse().ok()),
            "--runs" => o.runs = args.next().and_then(|m| m.parse().ok()),
            "--case" => o.case = args.next().and_then(|m| m.parse().ok()),
            "--cc" => {
                use rtcp_core::tcp::congestion::CongestionAlgorithm as Cc;
                let cc = match args.next().as_deref() {
                    Some("newreno") => Cc::NewReno,
                    Some("cubic") => Cc::Cubic,
                    Some("bbr") => Cc::Bbr,
                    other => {
                        eprintln!("--cc: newreno, cubic or bbr, not {other:?}");
                        std::process::exit(2);
                    }
                };
                o.cc = Some(cc);
                let _ = stacks::RTCP_CC.set(cc);
            }
            _ => {
                eprintln!("usage: rtcp-compare [--quick] [--only bulk,idle,conn,loss,size] [--stack rtcp|smoltcp|floor|floor-zc] [--mib N] [--runs N] [--case I] [--cc newreno|cubic|bbr]");
                std::process::exit(2);
            }
        }
    }
    let t0 = Wall::now();
    let mut t = Table::default();
    if o.want("bulk") {
        eprintln!("bulk");
        bench_bulk(&mut t, &o);
    }
    if o.want("idle") {
        eprintln!("idle connections");
        bench_idle(&mut t, &o);
    }
    if o.want("conn") {
        eprintln!("connection rate");
        bench_conn(&mut t, &o);
    }
    if o.want("loss") {
        eprintln!("loss");
        bench_loss(&mut t, &o);
    }
    eprintln!("total {:.1} s", t0.elapsed().as_secs_f64());
    t.print();
    if o.want("size") {
        sizes();
    }
}
