//! `server`, `client` and `sim`: the byte stream is the raw file, so Linux
//! tools on the other end interoperate.

use crate::cli::{ClientArgs, NetArgs, ServerArgs, SimArgs};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rtcp_core::wire::{Ipv4Address, Ipv4Cidr};
use rtcp_host::backend::packet::{open_error, PacketBackend};
use rtcp_host::backend::pnet::PnetBackend;
use rtcp_host::backend::sim::SimBackend;
use rtcp_host::backend::tap::TapBackend;
use rtcp_host::backend::{Backend, BackendStats};
use rtcp_host::link::{Faults, LinkOptions, Rng};
use rtcp_host::{NetStack, StackConfig, TcpListener, TcpStream};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CHUNK: usize = 256 * 1024;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `10ms`, `250us`, `1.5s`.
fn dur(d: rtcp_core::time::Duration) -> String {
    let us = d.total_micros();
    if us >= 1_000_000 {
        format!("{}s", us as f64 / 1e6)
    } else if us >= 1000 {
        format!("{}ms", us as f64 / 1e3)
    } else {
        format!("{us}us")
    }
}

fn mac_string(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// "67108864 bytes (64.0 MiB) in 1.23 s: 436.2 Mbit/s".
fn throughput(bytes: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-6);
    format!(
        "{bytes} bytes ({:.1} MiB) in {secs:.2} s: {:.1} Mbit/s",
        bytes as f64 / (1u64 << 20) as f64,
        bytes as f64 * 8.0 / secs / 1e6
    )
}

fn is_root() -> bool {
    rtcp_host::sys::geteuid() == 0
}

/// Open the backend named on the command line and start a stack on it.
fn open_stack(net: &NetArgs) -> Result<NetStack, String> {
    let mut config = StackConfig::new(net.ip);
    if let Some(mac) = net.mac {
        config.mac = mac;
    }
    config.gateway = net.gateway.map(Ipv4Address::from);
    config.tcp.congestion = net.cc;
    let buffer = usize::try_from(net.buffer).map_err(|_| "--buffer is too large".to_string())?;
    config.rx_buffer = buffer;
    config.tx_buffer = buffer;
    config.link = net.faults.link_options();
    config.link.no_tso = net.no_tso;
    if let Some(path) = &config.link.pcap {
        File::create(path)
            .map_err(|e| format!("cannot write pcap file {}: {e}", path.display()))?;
    }
    let result = match (&net.iface, &net.tap) {
        (Some(name), _) => {
            let opened = if net.pnet {
                PnetBackend::open(name).map(|b| Box::new(b) as Box<dyn Backend>)
            } else {
                PacketBackend::open(name).map(|b| Box::new(b) as Box<dyn Backend>)
            };
            let backend = opened.map_err(|e| match e.kind() {
                ErrorKind::NotFound => format!("interface {name} not found (see `ip link`)"),
                _ => open_error(name, &e),
            })?;
            NetStack::new(backend, config)
        }
        (None, Some(name)) => {
            let backend = TapBackend::open(name).map_err(|e| {
                if is_root() {
                    format!("cannot open TAP {name}: {e}")
                } else {
                    format!("creating TAP {name} needs root (or CAP_NET_ADMIN): {e}")
                }
            })?;
            NetStack::new(backend, config)
        }
        (None, None) => return Err("give --iface IF or --tap NAME".into()),
    };
    result.map_err(|e| format!("cannot start the stack: {e}"))
}

fn describe(stack: &NetStack, net: &NetArgs) -> String {
    let mac = net
        .mac
        .map(|m| m.0)
        .unwrap_or_else(|| StackConfig::new(net.ip).mac.0);
    let f = &net.faults;
    let mut s = format!(
        "{}/{} on {} (mac {})",
        stack.ip(),
        net.ip.prefix_len,
        stack.description(),
        mac_string(mac)
    );
    if !f.faults().is_clean() {
        s += &format!(
            "; injecting {}% loss, {}% reordering, {}% duplication, {} delay each way (seed {})",
            f.loss as f64 / 1e4,
            f.reorder as f64 / 1e4,
            f.duplicate as f64 / 1e4,
            dur(f.delay),
            f.seed
        );
    }
    if let Some(p) = &f.pcap {
        s += &format!("; capturing to {}", p.display());
    }
    s
}

fn out_path(template: &Path, n: u64) -> PathBuf {
    let s = template.to_string_lossy();
    if s.contains("{n}") {
        PathBuf::from(s.replace("{n}", &n.to_string()))
    } else if n == 1 {
        template.to_path_buf()
    } else {
        PathBuf::from(format!("{s}.{n}"))
    }
}

fn spinner(multi: &MultiProgress, prefix: String) -> ProgressBar {
    let bar = multi.add(ProgressBar::new_spinner());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} {prefix}: {binary_bytes} received, {binary_bytes_per_sec} [{elapsed}]",
    ) {
        bar.set_style(style);
    }
    bar.set_prefix(prefix);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Receive one connection into its file. Returns whether it completed.
fn receive_one(
    mut stream: TcpStream,
    peer: SocketAddr,
    n: u64,
    path: &Path,
    multi: &MultiProgress,
) -> bool {
    let label = format!("conn {n} from {peer}");
    let mut file = match File::create(path) {
        Ok(f) => f,
        Err(e) => {
            let _ = multi.println(format!(
                "{label}: error: cannot write {}: {e}; closing the connection",
                path.display()
            ));
            let _ = stream.shutdown(Shutdown::Both);
            return false;
        }
    };
    let bar = spinner(multi, label.clone());
    let start = Instant::now();
    let mut hash = Sha256::new();
    let mut total = 0u64;
    let mut buf = vec![0u8; CHUNK];
    let error = loop {
        match stream.read(&mut buf) {
            Ok(0) => break None,
            Ok(k) => {
                let data = buf.get(..k).unwrap_or_default();
                if let Err(e) = file.write_all(data) {
                    break Some(format!("cannot write {}: {e}", path.display()));
                }
                hash.update(data);
                total += k as u64;
                bar.inc(k as u64);
            }
            Err(e) => break Some(format!("{e}")),
        }
    };
    bar.finish_and_clear();
    let error = error.or_else(|| file.flush().err().map(|e| e.to_string()));
    drop(file);
    match error {
        None => {
            println!(
                "{label}: {}; sha256 {} -> {}",
                throughput(total, start.elapsed()),
                hex(&hash.finalize()),
                path.display()
            );
            true
        }
        Some(e) => {
            let removed = match std::fs::remove_file(path) {
                Ok(()) => format!("removed the partial output {}", path.display()),
                Err(r) => format!("partial output left in {} ({r})", path.display()),
            };
            println!("{label}: error after {total} bytes: {e}; {removed}");
            false
        }
    }
}

pub fn server(a: ServerArgs) -> Result<(), String> {
    // Fail early, before listening, if the output cannot be written.
    let first = out_path(&a.out, 1);
    if let Some(dir) = first.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(format!(
                "cannot write {}: no directory {}",
                first.display(),
                dir.display()
            ));
        }
    }
    let stack = open_stack(&a.net)?;
    let listener = TcpListener::bind_with_backlog(&stack, (Ipv4Addr::UNSPECIFIED, a.port), 64)
        .map_err(|e| match e.kind() {
            ErrorKind::AddrInUse => format!("port {} is already in use on {}", a.port, stack.ip()),
            _ => format!("cannot listen on port {}: {e}", a.port),
        })?;
    println!(
        "rtcp-host server: listening on {}:{}, {}",
        stack.ip(),
        a.port,
        describe(&stack, &a.net)
    );
    println!(
        "writing connection 1 to {} (then {})",
        first.display(),
        out_path(&a.out, 2).display()
    );
    let multi = MultiProgress::new();
    let (done_tx, done_rx) = mpsc::channel::<bool>();
    let template = a.out.clone();
    let accept_multi = multi.clone();
    std::thread::spawn(move || {
        let mut n = 0u64;
        loop {
            match listener.accept() {
                Ok((stream, peer)) => {
                    n += 1;
                    let path = out_path(&template, n);
                    let (done, multi) = (done_tx.clone(), accept_multi.clone());
                    std::thread::spawn(move || {
                        let ok = receive_one(stream, peer, n, &path, &multi);
                        let _ = done.send(ok);
                    });
                }
                Err(e) if e.kind() == ErrorKind::NotConnected => return,
                Err(e) => {
                    let _ = accept_multi.println(format!("accept failed: {e}"));
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    });
    let (mut finished, mut failed) = (0u64, 0u64);
    while a.count.is_none_or(|c| finished < c) {
        match done_rx.recv() {
            Ok(ok) => {
                finished += 1;
                failed += u64::from(!ok);
            }
            Err(_) => break,
        }
    }
    if let Ok(s) = stack.stats() {
        println!(
            "stack: {} frames in, {} out; {} segments sent, {} retransmitted; link injected {} losses, {} reorders, {} duplicates{}",
            s.iface.rx_frames, s.iface.tx_frames, s.tcp.segments_sent, s.tcp.retransmissions,
            s.link.lost, s.link.reordered, s.link.duplicated, backend_line(&s.link.backend)
        );
    }
    drop(stack);
    if failed > 0 {
        return Err(format!("{failed} of {finished} connections failed"));
    }
    Ok(())
}

/// The backend's counters for the "stack:" line, when it keeps any:
/// frames per system call each way, and what the offload handling did.
fn backend_line(b: &BackendStats) -> String {
    if b.rx_calls == 0 && b.tx_calls == 0 {
        return String::new();
    }
    let per = |frames: u64, calls: u64| frames as f64 / calls.max(1) as f64;
    format!(
        "; backend: {} frames in {} reads ({:.1} per call), {} in {} writes ({:.1} per call), {} partial checksums completed, {} super-frames, {} dropped",
        b.rx_frames,
        b.rx_calls,
        per(b.rx_frames, b.rx_calls),
        b.tx_frames,
        b.tx_calls,
        per(b.tx_frames, b.tx_calls),
        b.rx_csum_completed,
        b.rx_super_frames,
        b.rx_dropped
    ) + &if b.rx_csum_refilled > 0 {
        format!(", {} stale super-frame checksums refilled", b.rx_csum_refilled)
    } else {
        String::new()
    } + &format!(", {} TSO super-segments sent", b.tx_super_frames)
}

fn connect_error(e: &io::Error, to: SocketAddrV4, timeout: Duration) -> String {
    match e.kind() {
        ErrorKind::ConnectionRefused => {
            format!("connection to {to} refused (nothing listens there)")
        }
        ErrorKind::TimedOut => format!("no answer from {to} within {timeout:?}"),
        _ => format!("cannot connect to {to}: {e}"),
    }
}

pub fn client(a: ClientArgs) -> Result<(), String> {
    let mut file =
        File::open(&a.file).map_err(|e| format!("cannot read {}: {e}", a.file.display()))?;
    let len = file
        .metadata()
        .map_err(|e| format!("cannot read {}: {e}", a.file.display()))?
        .len();
    let stack = open_stack(&a.net)?;
    println!(
        "rtcp-host client: {}; sending {} ({len} bytes) to {}",
        describe(&stack, &a.net),
        a.file.display(),
        a.connect
    );
    let timeout = Duration::from_micros(a.timeout.total_micros());
    let stream = TcpStream::connect_timeout(&stack, &SocketAddr::V4(a.connect), timeout)
        .map_err(|e| connect_error(&e, a.connect, timeout))?;
    let start = Instant::now();
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{wide_bar} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut sent = 0u64;
    let result: Result<(), String> = loop {
        let k = match file.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(k) => k,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => break Err(format!("cannot read {}: {e}", a.file.display())),
        };
        let data = buf.get(..k).unwrap_or_default();
        hash.update(data);
        if let Err(e) = (&stream).write_all(data) {
            break Err(format!(
                "sending to {} failed after {sent} bytes: {e}",
                a.connect
            ));
        }
        sent += k as u64;
        bar.inc(k as u64);
    };
    bar.finish_and_clear();
    result?;
    // Close our side and wait for the server to close its own: then every
    // byte has arrived.
    stream
        .shutdown(Shutdown::Write)
        .map_err(|e| format!("closing the connection failed: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let mut sink = [0u8; 4096];
    loop {
        match (&stream).read(&mut sink) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::TimedOut => {
                // The peer keeps its side open: settle for our data acknowledged.
                stream
                    .wait_sent(Some(Duration::from_secs(30)))
                    .map_err(|e| format!("the server did not acknowledge everything: {e}"))?;
                break;
            }
            Err(e) => return Err(format!("after sending {sent} bytes: {e}")),
        }
    }
    let elapsed = start.elapsed();
    println!(
        "sent {}; sha256 {}",
        throughput(sent, elapsed),
        hex(&hash.finalize())
    );
    if let Ok(s) = stack.stats() {
        println!(
            "stack: {} segments sent, {} retransmitted ({} fast retransmits, {} timeouts); link injected {} losses, {} reorders, {} duplicates{}",
            s.tcp.segments_sent, s.tcp.retransmissions, s.tcp.fast_retransmits, s.tcp.timeouts,
            s.link.lost, s.link.reordered, s.link.duplicated, backend_line(&s.link.backend)
        );
    }
    drop(stream);
    drop(stack);
    Ok(())
}

/// The outcome of one simulated transfer, on one side.
#[derive(Debug)]
struct Outcome {
    port: u16,
    bytes: u64,
    elapsed: Duration,
    sha: String,
}

pub fn sim(a: SimArgs) -> Result<(), String> {
    let faults = Faults {
        delay: a.delay,
        bandwidth_bps: a.bandwidth,
        queue_limit: a.queue.max(1),
        loss_ppm: a.loss,
        duplicate_ppm: a.duplicate,
        reorder_ppm: a.reorder,
        ..Faults::default()
    };
    let (end_a, end_b) = SimBackend::pair().map_err(|e| format!("cannot create the link: {e}"))?;
    let cidr = |last| Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, last), 24);
    let mut client_cfg = StackConfig::new(cidr(1));
    client_cfg.link = LinkOptions {
        tx: faults,
        rx: Faults::default(),
        seed: a.seed,
        pcap: a.pcap.clone(),
        no_tso: false,
    };
    client_cfg.tcp.congestion = a.cc;
    let mut server_cfg = StackConfig::new(cidr(2));
    server_cfg.tcp.congestion = a.cc;
    server_cfg.link = LinkOptions {
        tx: faults,
        rx: Faults::default(),
        seed: a.seed.wrapping_add(1),
        pcap: None,
        no_tso: false,
    };
    let server_stack = NetStack::new(end_b, server_cfg).map_err(|e| e.to_string())?;
    let client_stack = NetStack::new(end_a, client_cfg).map_err(|e| e.to_string())?;
    let bw = if a.bandwidth == 0 {
        "unlimited bandwidth".to_string()
    } else {
        format!("{:.1} Mbit/s", a.bandwidth as f64 / 1e6)
    };
    println!(
        "rtcp-host sim: {} connection(s) of {} bytes ({:.1} MiB) from 10.0.0.1 to 10.0.0.2:5001; link: {} one-way delay, {bw}, {}% loss, {}% reordering, {}% duplication each way; seed {}; congestion control {}",
        a.connections,
        a.size,
        a.size as f64 / (1u64 << 20) as f64,
        dur(a.delay),
        a.loss as f64 / 1e4,
        a.reorder as f64 / 1e4,
        a.duplicate as f64 / 1e4,
        a.seed,
        a.cc.name()
    );
    let listener = TcpListener::bind_with_backlog(&server_stack, "0.0.0.0:5001", 64)
        .map_err(|e| format!("cannot listen: {e}"))?;
    let multi = if a.connections == 1 {
        MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
    } else {
        MultiProgress::new()
    };
    // Server: accept and hash each stream.
    let (srv_tx, srv_rx) = mpsc::channel::<Result<Outcome, String>>();
    let conns = a.connections;
    let srv_multi = multi.clone();
    let server = std::thread::spawn(move || {
        let mut workers = Vec::new();
        for _ in 0..conns {
            match listener.accept() {
                Ok((mut s, peer)) => {
                    let tx = srv_tx.clone();
                    let bar = spinner(&srv_multi, format!("server: from {peer}"));
                    workers.push(std::thread::spawn(move || {
                        let start = Instant::now();
                        let mut hash = Sha256::new();
                        let mut buf = vec![0u8; CHUNK];
                        let mut bytes = 0u64;
                        let r = loop {
                            match s.read(&mut buf) {
                                Ok(0) => break Ok(()),
                                Ok(k) => {
                                    hash.update(buf.get(..k).unwrap_or_default());
                                    bytes += k as u64;
                                    bar.inc(k as u64);
                                }
                                Err(e) => {
                                    break Err(format!(
                                        "server read failed after {bytes} bytes: {e}"
                                    ))
                                }
                            }
                        };
                        bar.finish_and_clear();
                        let _ = tx.send(r.map(|()| Outcome {
                            port: peer.port(),
                            bytes,
                            elapsed: start.elapsed(),
                            sha: hex(&hash.finalize()),
                        }));
                    }));
                }
                Err(e) => {
                    let _ = srv_tx.send(Err(format!("accept failed: {e}")));
                }
            }
        }
        for w in workers {
            let _ = w.join();
        }
    });
    // Clients.
    let mut clients = Vec::new();
    for i in 0..a.connections {
        let stream = TcpStream::connect_timeout(
            &client_stack,
            &"10.0.0.2:5001".parse().map_err(|_| "bad address")?,
            Duration::from_secs(10),
        )
        .map_err(|e| format!("connect failed: {e}"))?;
        let size = a.size;
        let seed = a.seed.wrapping_add(u64::from(i) << 32);
        let bar = if a.connections == 1 {
            let bar = ProgressBar::new(size);
            if let Ok(style) = ProgressStyle::with_template(
                "{wide_bar} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        } else {
            ProgressBar::hidden()
        };
        clients.push(std::thread::spawn(move || -> Result<Outcome, String> {
            let port = stream.local_addr().map(|a| a.port()).unwrap_or(0);
            let start = Instant::now();
            let mut rng = Rng::new(seed);
            let mut hash = Sha256::new();
            let mut buf = vec![0u8; CHUNK];
            let mut sent = 0u64;
            while sent < size {
                let k = (size - sent).min(CHUNK as u64) as usize;
                let chunk = buf.get_mut(..k).unwrap_or_default();
                rng.fill(chunk);
                hash.update(&*chunk);
                (&stream)
                    .write_all(chunk)
                    .map_err(|e| format!("client write failed after {sent} bytes: {e}"))?;
                sent += k as u64;
                bar.inc(k as u64);
            }
            stream
                .shutdown(Shutdown::Write)
                .map_err(|e| format!("shutdown failed: {e}"))?;
            let mut sink = [0u8; 64];
            match (&stream).read(&mut sink) {
                Ok(_) => {}
                Err(e) => return Err(format!("waiting for the server to close: {e}")),
            }
            bar.finish_and_clear();
            Ok(Outcome {
                port,
                bytes: sent,
                elapsed: start.elapsed(),
                sha: hex(&hash.finalize()),
            })
        }));
    }
    let mut sent: Vec<Outcome> = Vec::new();
    let mut errors = Vec::new();
    for c in clients {
        match c.join() {
            Ok(Ok(o)) => sent.push(o),
            Ok(Err(e)) => errors.push(e),
            Err(_) => errors.push("a client thread panicked".into()),
        }
    }
    let _ = server.join();
    let received: Vec<Outcome> = srv_rx
        .try_iter()
        .filter_map(|r| r.map_err(|e| errors.push(e)).ok())
        .collect();
    for o in &sent {
        println!(
            "client :{}: sent     {}; sha256 {}",
            o.port,
            throughput(o.bytes, o.elapsed),
            o.sha
        );
        match received.iter().find(|r| r.port == o.port) {
            Some(r) => {
                println!(
                    "server :{}: received {}; sha256 {}",
                    r.port,
                    throughput(r.bytes, r.elapsed),
                    r.sha
                );
                if r.sha != o.sha || r.bytes != o.bytes {
                    errors.push(format!("connection from port {}: data differs", o.port));
                }
            }
            None => errors.push(format!(
                "connection from port {}: server saw nothing",
                o.port
            )),
        }
    }
    if sent.len() > 1 {
        let bytes: u64 = sent.iter().map(|o| o.bytes).sum();
        let longest = sent.iter().map(|o| o.elapsed).max().unwrap_or_default();
        println!("total: {}", throughput(bytes, longest));
    }
    if let Ok(s) = client_stack.stats() {
        println!(
            "client stack: {} segments sent, {} retransmitted ({} fast retransmits, {} timeouts); link dropped {} (loss) + {} (queue), reordered {}, duplicated {}",
            s.tcp.segments_sent, s.tcp.retransmissions, s.tcp.fast_retransmits, s.tcp.timeouts,
            s.link.lost, s.link.queue_drops, s.link.reordered, s.link.duplicated
        );
    }
    drop(client_stack);
    drop(server_stack);
    if errors.is_empty() {
        println!("OK: SHA-256 equal on both ends");
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}
