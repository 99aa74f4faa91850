//! The interpreter: events in order, on virtual time.

use super::harness::{Harness, Inject, Sent, OUR_IP, PEER_IP};
use super::parse::{self, Action, Event, IpOptions, Packet, ScriptOption, Syscall, Time};
use super::{Config, Profile, Report, Verdict};
use rtcp_core::socket_set::SocketHandle;
use rtcp_core::tcp::{EcnMode, Endpoint, KeepAlive, State, TcpConfig, TcpError};
use rtcp_core::time::Duration;
use rtcp_core::wire::ipv4_route::{find_source_route, OPTION_LSRR, OPTION_SSRR};
use rtcp_core::wire::{Dscp, Ipv4Address, RouteKind, SeqNumber, SourceRoute, TcpOptions};
use std::collections::{BTreeMap, HashMap};

/// The port a listener binds (packetdrill's default local port).
const LOCAL_PORT: u16 = 8080;
/// The peer's port when we listen (packetdrill picks one; so do we).
const REMOTE_PORT: u16 = 47291;
/// cpp symbols defined for `#ifdef` in scripts: the FreeBSD suite marks the
/// RFC behaviour `STANDARD` and FreeBSD's own `FreeBSD`.
const DEFINES: &[&str] = &["STANDARD"];
/// Default timing tolerance (packetdrill's).
const DEFAULT_TOLERANCE: i64 = 4000;

/// FreeBSD's fcntl flag values (the suite's dialect).
const O_RDWR: i64 = 0x2;
const O_NONBLOCK: i64 = 0x4;

struct Fd {
    handle: SocketHandle,
    nonblock: bool,
    config: TcpConfig,
    bound: bool,
    /// An error already reported (SO_ERROR and failed calls clear it).
    consumed: Option<TcpError>,
}

#[derive(Clone)]
enum Blocking {
    Connect,
    Accept,
    Read { len: usize, peek: bool },
    Write { left: usize, total: usize },
}

struct Pending {
    event: Event,
    call: Syscall,
    fd: i64,
    kind: Blocking,
    /// Expected completion time.
    end: i64,
    done_at: Option<(i64, Result<i64, &'static str>)>,
}

struct Runner<'c> {
    cfg: &'c Config,
    h: Harness,
    tolerance: i64,
    fds: BTreeMap<i64, Fd>,
    /// The socket tcpi_* refers to: the newest socket created or accepted.
    tcpi_fd: Option<i64>,
    iss: Option<u32>,
    /// Our ISN towards each `[port N]` the script named (rtcp extension).
    iss_by_port: HashMap<u16, u32>,
    local_port: u16,
    remote_port: u16,
    /// Script TS val → the TS val we really sent.
    ts_map: HashMap<u32, u32>,
    last_ts_val: u32,
    relaxations: BTreeMap<String, String>,
    trace: Vec<String>,
    pending: Option<Pending>,
    /// Configuration of new sockets (profile, then sysctls).
    defaults: TcpConfig,
}

fn unsupported(what: impl Into<String>) -> Verdict {
    Verdict::Unsupported(what.into())
}

fn errno_name(e: TcpError) -> &'static str {
    match e {
        TcpError::ConnectionRefused => "ECONNREFUSED",
        TcpError::ConnectionReset => "ECONNRESET",
        TcpError::TimedOut => "ETIMEDOUT",
        TcpError::WouldBlock => "EAGAIN",
        TcpError::NotConnected => "ENOTCONN",
        TcpError::SendClosed => "EPIPE",
        TcpError::AddrInUse => "EADDRINUSE",
        TcpError::InvalidHandle => "EBADF",
        TcpError::TableFull => "ENFILE",
        TcpError::NoEphemeralPort => "EADDRNOTAVAIL",
        _ => "EINVAL",
    }
}

fn same_errno(a: &str, b: &str) -> bool {
    let norm = |s: &str| if s == "EWOULDBLOCK" { "EAGAIN" } else { s }.to_string();
    norm(a) == norm(b)
}

fn tcpi_name(s: State) -> &'static str {
    match s {
        State::Closed => "TCPI_CLOSED",
        State::Listen => "TCPI_LISTEN",
        State::SynSent => "TCPI_SYN_SENT",
        State::SynReceived => "TCPI_SYN_RECEIVED",
        State::Established => "TCPI_ESTABLISHED",
        State::FinWait1 => "TCPI_FIN_WAIT_1",
        State::FinWait2 => "TCPI_FIN_WAIT_2",
        State::CloseWait => "TCPI_CLOSE_WAIT",
        State::Closing => "TCPI_CLOSING",
        State::LastAck => "TCPI_LAST_ACK",
        State::TimeWait => "TCPI_TIME_WAIT",
    }
}

fn flags_text(bits: u8) -> String {
    let mut s = String::new();
    for (bit, c) in [
        (0x02, 'S'),
        (0x01, 'F'),
        (0x04, 'R'),
        (0x08, 'P'),
        (0x40, 'E'),
        (0x80, 'W'),
        (0x20, 'U'),
        (0x10, '.'),
    ] {
        if bits & bit != 0 {
            s.push(c);
        }
    }
    if s.is_empty() {
        s.push('-');
    }
    s
}

/// Options by meaning.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Meaning {
    mss: Option<u16>,
    wscale: Option<u8>,
    sack_ok: bool,
    sack: Vec<(u32, u32)>,
    ts: Option<(u32, u32)>,
}

/// The TCP option kind a script option is written as.
fn script_option_kind(o: &ScriptOption) -> u8 {
    match o {
        ScriptOption::Eol => 0,
        ScriptOption::Nop => 1,
        ScriptOption::Mss(_) => 2,
        ScriptOption::WScale(_) => 3,
        ScriptOption::SackOk => 4,
        ScriptOption::Sack(_) => 5,
        ScriptOption::Timestamp { .. } => 8,
        ScriptOption::Raw(b) => b.first().copied().unwrap_or(0),
    }
}

fn meaning_of_script(opts: &[ScriptOption]) -> Meaning {
    let mut m = Meaning::default();
    for o in opts {
        match o {
            ScriptOption::Mss(v) => m.mss = Some(*v),
            ScriptOption::WScale(v) => m.wscale = Some(*v),
            ScriptOption::SackOk => m.sack_ok = true,
            ScriptOption::Sack(b) => m.sack.extend(b.iter().copied()),
            ScriptOption::Timestamp { val, ecr } => m.ts = Some((*val, *ecr)),
            ScriptOption::Nop | ScriptOption::Eol | ScriptOption::Raw(_) => {}
        }
    }
    m
}

fn meaning_of_wire(o: &TcpOptions) -> Meaning {
    Meaning {
        mss: o.mss,
        wscale: o.window_scale,
        sack_ok: o.sack_permitted,
        sack: o
            .sack_blocks()
            .iter()
            .map(|b| (b.left.0, b.right.0))
            .collect(),
        ts: o.timestamp,
    }
}

fn meaning_text(m: &Meaning) -> String {
    let mut parts = Vec::new();
    if let Some(v) = m.mss {
        parts.push(format!("mss {v}"));
    }
    if let Some(v) = m.wscale {
        parts.push(format!("wscale {v}"));
    }
    if m.sack_ok {
        parts.push("sackOK".to_string());
    }
    if !m.sack.is_empty() {
        let b: Vec<String> = m.sack.iter().map(|(l, r)| format!("{l}:{r}")).collect();
        parts.push(format!("sack {}", b.join(" ")));
    }
    if let Some((v, e)) = m.ts {
        parts.push(format!("TS val {v} ecr {e}"));
    }
    format!("<{}>", parts.join(","))
}

/// Check a script for constructs the runner does not implement.
fn check_supported(script: &parse::Script) -> Result<(), String> {
    for (k, v) in &script.options {
        match k.as_str() {
            "ip_version" if v == "ipv4" => {}
            "tolerance_usecs" | "mtu" => {}
            _ => return Err(format!("option --{k}={v}")),
        }
    }
    for e in &script.events {
        match &e.action {
            Action::Python(code) => {
                if parse_tcpi_assert(code).is_none() {
                    return Err(format!(
                        "line {}: Python block {:?} (only `assert tcpi_state == TCPI_...` and `assert tcpi_options == N` are supported)",
                        e.line,
                        code.trim()
                    ));
                }
            }
            Action::Syscall(c) => {
                let ok = matches!(
                    c.name.as_str(),
                    "socket"
                        | "bind"
                        | "listen"
                        | "accept"
                        | "connect"
                        | "read"
                        | "recv"
                        | "write"
                        | "send"
                        | "close"
                        | "shutdown"
                        | "getsockopt"
                        | "setsockopt"
                        | "fcntl"
                );
                if !ok {
                    return Err(format!("line {}: system call {}()", e.line, c.name));
                }
                if c.name == "setsockopt" || c.name == "getsockopt" {
                    let opt = c.args.get(2).map(String::as_str).unwrap_or("");
                    let known = matches!(
                        opt,
                        "SO_ERROR"
                            | "SO_RCVBUF"
                            | "SO_SNDBUF"
                            | "SO_REUSEADDR"
                            | "SO_KEEPALIVE"
                            | "TCP_NODELAY"
                            | "TCP_MAXSEG"
                            | "TCP_NOOPT"
                            | "TCP_KEEPINIT"
                            | "TCP_USER_TIMEOUT"
                            | "TCP_KEEPIDLE"
                            | "TCP_KEEPINTVL"
                            | "TCP_KEEPCNT"
                            | "IP_TOS"
                            | "IP_OPTIONS"
                    );
                    let settable = !matches!(opt, "SO_ERROR" | "TCP_MAXSEG");
                    if !known || (c.name == "setsockopt" && !settable) {
                        return Err(format!("line {}: {}({opt})", e.line, c.name));
                    }
                }
                if c.name == "recv" {
                    let flags = c.args.get(3).map(String::as_str).unwrap_or("0");
                    if flags != "0" && flags != "MSG_PEEK" {
                        return Err(format!("line {}: recv flags {flags}", e.line));
                    }
                }
                if c.name == "send" {
                    let flags = c.args.get(3).map(|a| a.trim()).unwrap_or("0");
                    if flags != "0" && flags != "MSG_OOB" {
                        return Err(format!("line {}: send flags {flags}", e.line));
                    }
                }
            }
            Action::Packet(_) | Action::Shell(_) => {}
        }
    }
    Ok(())
}

/// `assert tcpi_state == TCPI_X` → `TCPI_X`.
/// A supported `%{ assert ... }%`: the state, or the negotiated options.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TcpiAssert {
    /// `tcpi_state == TCPI_...`
    State(String),
    /// `tcpi_options == N`: the TCPI_OPT_* bits (TIMESTAMPS 1, SACK 2,
    /// WSCALE 4, ECN 8), as FreeBSD and Linux define them.
    Options(u32),
}

fn parse_tcpi_assert(code: &str) -> Option<TcpiAssert> {
    let rest = code.trim().strip_prefix("assert")?;
    let (lhs, rhs) = rest.split_once("==")?;
    let rhs = rhs.trim();
    match lhs.trim() {
        "tcpi_state" => rhs
            .starts_with("TCPI_")
            .then(|| TcpiAssert::State(rhs.to_string())),
        "tcpi_options" => rhs.parse().ok().map(TcpiAssert::Options),
        _ => None,
    }
}

/// Run a script's text.
pub fn run_script(text: &str, cfg: &Config) -> Report {
    let mut report = Report {
        verdict: Verdict::Pass,
        relaxations: BTreeMap::new(),
        trace: Vec::new(),
    };
    let script = match parse::parse(text, DEFINES) {
        Ok(s) => s,
        Err(e) => {
            // A line we cannot even parse is a construct we do not know.
            report.verdict = unsupported(format!("parse error: {e}"));
            return report;
        }
    };
    if let Err(what) = check_supported(&script) {
        report.verdict = unsupported(what);
        return report;
    }
    let mut tolerance = DEFAULT_TOLERANCE;
    let mut mtu = 1500;
    for (k, v) in &script.options {
        match k.as_str() {
            "tolerance_usecs" => tolerance = v.parse().unwrap_or(DEFAULT_TOLERANCE),
            "mtu" => mtu = v.parse().unwrap_or(1500),
            _ => {}
        }
    }
    let mut tcp = TcpConfig::default();
    if cfg.profile == Profile::FreeBsd {
        tcp.ack_delay = Some(Duration::from_millis(100));
        // FreeBSD ACKs a FIN at once (rtcp delays it, as Linux does).
        tcp.delay_fin_ack = false;
        report.relaxations.insert(
            "profile freebsd".into(),
            "delayed-ACK timer 100 ms and a FIN ACKed at once (FreeBSD's), wscale value not compared"
                .into(),
        );
    }
    let mut r = Runner {
        cfg,
        h: Harness::new(mtu, tcp),
        tolerance,
        fds: BTreeMap::new(),
        tcpi_fd: None,
        iss: None,
        iss_by_port: HashMap::new(),
        local_port: LOCAL_PORT,
        remote_port: REMOTE_PORT,
        ts_map: HashMap::new(),
        last_ts_val: 0,
        relaxations: std::mem::take(&mut report.relaxations),
        trace: Vec::new(),
        pending: None,
        defaults: tcp,
    };
    report.verdict = r.run(&script.events);
    report.relaxations = r.relaxations;
    report.trace = r.trace;
    report
}

impl Runner<'_> {
    fn relax(&mut self, kind: &str, example: String) {
        self.relaxations.entry(kind.to_string()).or_insert(example);
    }

    fn log(&mut self, s: String) {
        if self.cfg.verbose {
            self.trace.push(s);
        }
    }

    fn run(&mut self, events: &[Event]) -> Verdict {
        let mut prev: i64 = 0;
        for (i, e) in events.iter().enumerate() {
            let start = match e.when.start {
                Time::Absolute(t) => t,
                Time::Relative(d) => prev + d,
                Time::Any => self.h.now,
            };
            // A blocked call must have finished before later events.
            if let Some(v) = self.check_pending(start, false) {
                return v;
            }
            let mut actual = start;
            let result = match &e.action {
                Action::Shell(cmd) => {
                    self.shell(cmd, e);
                    Ok(())
                }
                Action::Python(code) => {
                    self.h.advance(start, false);
                    self.tcpi(e, code)
                }
                Action::Packet(p) if p.inbound => {
                    self.h.advance(start, false);
                    self.inject(p);
                    self.progress_pending();
                    Ok(())
                }
                Action::Packet(p) => {
                    let (lo, hi) = match (e.when.start, e.when.range_end) {
                        (Time::Any, _) => (i64::MIN, i64::MAX),
                        (_, Some(end)) => {
                            let end = match end {
                                Time::Absolute(t) => t,
                                Time::Relative(d) => prev + d,
                                Time::Any => i64::MAX,
                            };
                            (start - self.tolerance, end + self.tolerance)
                        }
                        _ => (start - self.tolerance, start + self.tolerance),
                    };
                    // `*`: wait up to the next timed event (or a long time).
                    let latest = if hi == i64::MAX {
                        self.next_time_hint(events, i, prev)
                            .unwrap_or(self.h.now + 600_000_000)
                    } else {
                        hi
                    };
                    match self.expect(e, p, lo, latest) {
                        Ok(at) => {
                            if matches!(e.when.start, Time::Any) || e.when.range_end.is_some() {
                                actual = at;
                            }
                            self.progress_pending();
                            Ok(())
                        }
                        Err(v) => Err(v),
                    }
                }
                Action::Syscall(c) => {
                    self.h.advance(start, false);
                    let r = self.syscall(e, c, start);
                    self.h.poll();
                    self.progress_pending();
                    // After `a...b call()`, `+` times count from `a` (as
                    // packetdrill does): `actual` stays `start`.
                    r
                }
            };
            if let Err(v) = result {
                return v;
            }
            prev = actual;
        }
        if let Some(v) = self.check_pending(i64::MAX, true) {
            return v;
        }
        Verdict::Pass
    }

    /// The time of the next event with a fixed time, for `*` waits.
    fn next_time_hint(&self, events: &[Event], i: usize, prev: i64) -> Option<i64> {
        let mut base = prev;
        for e in events.iter().skip(i + 1) {
            match e.when.start {
                Time::Absolute(t) => return Some(t),
                Time::Relative(d) if d > 0 => return Some(base + d + 600_000_000),
                Time::Relative(d) => base += d,
                Time::Any => {}
            }
        }
        None
    }

    fn fail(&self, e: &Event, msg: String) -> Verdict {
        Verdict::Fail(format!("line {}: `{}`: {msg}", e.line, e.text))
    }

    /// FreeBSD sysctls with an rtcp equivalent set the configuration of
    /// sockets created later; every other shell line is skipped.
    fn shell(&mut self, cmd: &str, e: &Event) {
        let setting = cmd
            .trim()
            .strip_prefix("sysctl -w ")
            .and_then(|kv| kv.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim().parse::<u64>().ok()));
        let c = &mut self.defaults;
        match setting {
            Some(("net.inet.tcp.rfc1323", Some(v))) => {
                c.window_scaling = v != 0;
                c.timestamps = v != 0;
            }
            Some(("net.inet.tcp.sack.enable", Some(v))) => c.sack = v != 0,
            Some(("net.inet.tcp.delacktime", Some(v))) => {
                c.ack_delay = Some(Duration::from_millis(v));
            }
            Some(("net.inet.tcp.ecn.enable", Some(v))) => {
                // FreeBSD: 0 off, 1 ask and accept, 2 accept only.
                c.ecn = match v {
                    0 => EcnMode::Off,
                    1 => EcnMode::On,
                    _ => EcnMode::Passive,
                };
            }
            Some(("net.inet.tcp.ecn.maxretries", Some(v))) => {
                c.ecn_setup_retries = v.min(255) as u8;
            }
            _ => {
                self.relax(
                    "shell commands skipped",
                    format!("line {}: {}", e.line, cmd.trim()),
                );
                return;
            }
        }
        self.relax(
            "sysctls with an rtcp equivalent applied (rfc1323, sack.enable, delacktime, ecn.enable, ecn.maxretries)",
            format!("line {}: {}", e.line, cmd.trim()),
        );
    }

    // ----- packets -----

    /// Our ISN for a connection to the peer's `port` (our sequence numbers
    /// in the script are relative to it).
    fn iss_of(&self, port: Option<u16>) -> u32 {
        port.and_then(|p| self.iss_by_port.get(&p).copied())
            .or(self.iss)
            .unwrap_or(0)
    }

    fn inject(&mut self, p: &Packet) {
        let iss = self.iss_of(p.port);
        let mut options = TcpOptions::default();
        let mut all = Vec::new();
        if let Some(opts) = &p.options {
            all.clone_from(opts);
        }
        // The option bytes go out exactly as the script writes them, in
        // its order and with its NOP/EOL padding (zero-filled to a 32-bit
        // boundary), so a script can place options where it likes (MUST-64).
        let mut raw = Vec::new();
        for o in &all {
            match o {
                ScriptOption::Mss(v) => {
                    options.mss = Some(*v);
                    raw.extend_from_slice(&[2, 4]);
                    raw.extend_from_slice(&v.to_be_bytes());
                }
                ScriptOption::WScale(v) => {
                    options.window_scale = Some(*v);
                    raw.extend_from_slice(&[3, 3, *v]);
                }
                ScriptOption::SackOk => {
                    options.sack_permitted = true;
                    raw.extend_from_slice(&[4, 2]);
                }
                ScriptOption::Sack(blocks) => {
                    raw.extend_from_slice(&[5, (2 + 8 * blocks.len()) as u8]);
                    for (l, r) in blocks {
                        let (left, right) = (l.wrapping_add(iss), r.wrapping_add(iss));
                        options.push_sack(rtcp_core::wire::tcp::SackBlock {
                            left: SeqNumber(left),
                            right: SeqNumber(right),
                        });
                        raw.extend_from_slice(&left.to_be_bytes());
                        raw.extend_from_slice(&right.to_be_bytes());
                    }
                }
                ScriptOption::Timestamp {
                    val,
                    ecr: ecr_written,
                } => {
                    let ecr = if *ecr_written == 0 {
                        0
                    } else {
                        match self.ts_map.get(ecr_written) {
                            Some(v) => *v,
                            None => self.last_ts_val,
                        }
                    };
                    if ecr != *ecr_written {
                        self.relax(
                            "injected TS ecr mapped to the TS val we really sent",
                            format!("script ecr {ecr_written}, sent {ecr}"),
                        );
                    }
                    options.timestamp = Some((*val, ecr));
                    raw.extend_from_slice(&[8, 10]);
                    raw.extend_from_slice(&val.to_be_bytes());
                    raw.extend_from_slice(&ecr.to_be_bytes());
                }
                ScriptOption::Nop => raw.push(1),
                ScriptOption::Eol => raw.push(0),
                ScriptOption::Raw(b) => raw.extend_from_slice(b),
            }
        }
        while raw.len() % 4 != 0 {
            raw.push(0);
        }
        let seg = Inject {
            src_port: p.port.unwrap_or(self.remote_port),
            dst_port: self.local_port,
            flags: p.flags,
            seq: p.seq,
            ack: p.ack.map_or(0, |a| a.wrapping_add(iss)),
            win: p.win.unwrap_or(0) as u16,
            options,
            raw_options: raw,
            bad_checksum: p.bad_checksum,
            urgent_pointer: p.urg.unwrap_or(0),
            payload_len: p.len as usize,
            ecn: match p.ecn.as_deref() {
                Some("ect1") => 1,
                Some("ect0") => 2,
                Some("ce") => 3,
                _ => 0,
            },
            tos: p.tos,
            ip_options: match &p.ip_options {
                None => Vec::new(),
                Some(IpOptions::Raw(b)) => {
                    let mut b = b.clone();
                    b.resize(b.len().div_ceil(4) * 4, 0);
                    b
                }
                Some(IpOptions::Route { strict, hops }) => arrived_route(*strict, hops),
            },
        };
        self.log(format!("{:>10.6} < injected", self.h.now as f64 / 1e6));
        self.h.inject(&seg);
    }

    fn describe(&self, s: &Sent) -> String {
        let iss = self.iss_of(Some(s.dst_port));
        let seq = s.seq.wrapping_sub(iss);
        let mut m = meaning_of_wire(&s.options);
        if let Some((_, ecr)) = m.ts {
            m.ts = Some((s.options.timestamp.map_or(0, |t| t.0), ecr));
        }
        let mut ack = if s.flags & 0x10 != 0 {
            format!(" ack {}", s.ack)
        } else {
            String::new()
        };
        if s.flags & 0x20 != 0 {
            ack.push_str(&format!(" urg {}", s.urg));
        }
        format!(
            "{} {}:{}({}){} win {} {} at {:.6}",
            flags_text(s.flags),
            seq,
            seq.wrapping_add(s.payload_len as u32),
            s.payload_len,
            ack,
            s.win,
            meaning_text(&m),
            s.at as f64 / 1e6
        )
    }

    /// Wait for the next segment we send and compare it with `p`.
    fn expect(&mut self, e: &Event, p: &Packet, lo: i64, latest: i64) -> Result<i64, Verdict> {
        if self.h.out.is_empty() {
            self.h.advance(latest, true);
        }
        let Some(s) = self.h.out.pop_front() else {
            return Err(self.fail(
                e,
                format!(
                    "expected this segment by {:.6}, the engine sent nothing",
                    latest as f64 / 1e6
                ),
            ));
        };
        self.log(format!(
            "{:>10.6} > {}",
            s.at as f64 / 1e6,
            self.describe(&s)
        ));
        if let Some(err) = &s.wire_error {
            // Never relaxed: a segment a peer would discard.
            let got = self.describe(&s);
            return Err(self.fail(e, format!("malformed segment: {err}; engine sent {got}")));
        }
        // Our ISN: learned from our SYN.
        if p.flags & 0x02 != 0 && s.flags & 0x02 != 0 {
            let iss = s.seq.wrapping_sub(p.seq);
            match p.port {
                Some(port) => {
                    self.iss_by_port.insert(port, iss);
                }
                None => self.iss = Some(iss),
            }
        }
        let got = self.describe(&s);
        let mismatch = |what: &str| format!("{what}; engine sent {got}");
        if s.flags != p.flags {
            return Err(self.fail(e, mismatch("flags differ")));
        }
        if let Some(port) = p.port {
            if s.dst_port != port {
                return Err(self.fail(
                    e,
                    mismatch(&format!("sent to port {} (expected {port})", s.dst_port)),
                ));
            }
        }
        let iss = self.iss_of(p.port);
        if s.seq.wrapping_sub(iss) != p.seq {
            return Err(self.fail(e, mismatch("sequence number differs")));
        }
        if s.payload_len as u32 != p.len {
            return Err(self.fail(e, mismatch("payload length differs")));
        }
        if let Some(tos) = p.tos {
            if s.tos != tos {
                return Err(self.fail(
                    e,
                    mismatch(&format!(
                        "IP TOS octet is {:#04x} (expected [tos {tos:#04x}])",
                        s.tos
                    )),
                ));
            }
        }
        if let Err(what) = check_ip_route(p.ip_options.as_ref(), &s) {
            return Err(self.fail(e, mismatch(&what)));
        }
        if let Some(ecn) = p.ecn.as_deref() {
            let ok = match ecn {
                "noecn" => s.ecn == 0,
                "ect1" => s.ecn == 1,
                "ect0" => s.ecn == 2,
                "ce" => s.ecn == 3,
                _ => s.ecn == 1 || s.ecn == 2,
            };
            if !ok {
                return Err(self.fail(
                    e,
                    mismatch(&format!("IP ECN field is {} (expected [{ecn}])", s.ecn)),
                ));
            }
        }
        if let Some(a) = p.ack {
            if s.ack != a {
                return Err(self.fail(e, mismatch("ack number differs")));
            }
        }
        if let Some(u) = p.urg {
            if s.urg != u {
                return Err(self.fail(
                    e,
                    mismatch(&format!("urgent pointer is {} (expected {u})", s.urg)),
                ));
            }
        }
        if let Some(w) = p.win {
            if u32::from(s.win) != w {
                if self.cfg.strict {
                    return Err(self.fail(e, mismatch("window differs (--strict)")));
                }
                self.relax(
                    "window not compared (use --strict)",
                    format!("line {}: script win {w}, engine {}", e.line, s.win),
                );
            }
        }
        if let Some(opts) = &p.options {
            if opts.iter().any(|o| matches!(o, ScriptOption::Raw(_))) {
                return Err(unsupported(format!(
                    "line {}: `raw` options on a segment we send",
                    e.line
                )));
            }
            let want = meaning_of_script(opts);
            let mut have = meaning_of_wire(&s.options);
            // Our TS val is ours to choose (packetdrill does not check it
            // either); remember it so an injected ecr can echo it.
            if let (Some((wv, _)), Some((hv, he))) = (want.ts, have.ts) {
                self.ts_map.insert(wv, hv);
                self.last_ts_val = hv;
                if wv != hv {
                    self.relax(
                        "our TS val not compared (packetdrill does not either)",
                        format!("line {}: script val {wv}, engine {hv}", e.line),
                    );
                }
                have.ts = Some((wv, he));
            }
            if let (Some(w), Some(h)) = (want.wscale, have.wscale) {
                if w != h && self.cfg.profile == Profile::FreeBsd && !self.cfg.strict {
                    self.relax(
                        "wscale value not compared (profile freebsd)",
                        format!("line {}: script wscale {w}, engine {h}", e.line),
                    );
                    have.wscale = Some(w);
                }
            }
            if want != have {
                return Err(self.fail(
                    e,
                    mismatch(&format!(
                        "options differ (expected {})",
                        meaning_text(&want)
                    )),
                ));
            }
            // Same meaning; say so when the layout (order, NOP/EOL padding)
            // is not the script's.
            let trim = |k: &[u8]| {
                let n = k.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
                k.get(..n).unwrap_or(&[]).to_vec()
            };
            let script_kinds: Vec<u8> = opts.iter().map(script_option_kind).collect();
            if trim(&script_kinds) != trim(&s.option_kinds) {
                self.relax(
                    "options compared by meaning (order and NOP/EOL padding not compared)",
                    format!(
                        "line {}: script kinds {:?}, engine {:?}",
                        e.line, script_kinds, s.option_kinds
                    ),
                );
            }
        } else {
            if let Some((hv, _)) = s.options.timestamp {
                self.last_ts_val = hv;
            }
            self.relax(
                "options not checked where the script says <...>",
                format!("line {}", e.line),
            );
        }
        if s.at < lo || s.at > latest {
            return Err(self.fail(
                e,
                format!(
                    "sent at {:.6}, outside the script's window [{:.6}, {:.6}]",
                    s.at as f64 / 1e6,
                    lo.max(0) as f64 / 1e6,
                    latest as f64 / 1e6
                ),
            ));
        }
        Ok(s.at)
    }

    // ----- TCP_INFO -----

    fn tcpi(&mut self, e: &Event, code: &str) -> Result<(), Verdict> {
        let Some(want) = parse_tcpi_assert(code) else {
            return Err(unsupported(format!("line {}: Python block", e.line)));
        };
        let sock = self
            .tcpi_fd
            .and_then(|fd| self.fds.get(&fd))
            .and_then(|f| self.h.sockets.get(f.handle).ok());
        match want {
            TcpiAssert::State(want) => {
                let have = tcpi_name(sock.map_or(State::Closed, |s| s.state()));
                if have != want {
                    return Err(self.fail(e, format!("tcpi_state is {have}")));
                }
            }
            TcpiAssert::Options(want) => {
                let o = sock.map(|s| s.negotiated_options()).unwrap_or_default();
                let have = u32::from(o.timestamps)
                    | u32::from(o.sack) << 1
                    | u32::from(o.window_scale.is_some()) << 2
                    | u32::from(o.ecn) << 3;
                if have != want {
                    return Err(self.fail(e, format!("tcpi_options is {have}")));
                }
            }
        }
        Ok(())
    }

    // ----- system calls -----

    fn fd_arg(&self, c: &Syscall) -> i64 {
        c.args
            .first()
            .and_then(|a| a.trim().parse().ok())
            .unwrap_or(-1)
    }

    /// The value inside `[...]` of argument `i`.
    fn bracket_arg(c: &Syscall, i: usize) -> String {
        c.args
            .get(i)
            .map(|a| {
                a.trim()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .trim()
                    .to_string()
            })
            .unwrap_or_default()
    }

    fn int_arg(c: &Syscall, i: usize) -> i64 {
        c.args
            .get(i)
            .and_then(|a| a.trim().parse().ok())
            .unwrap_or(0)
    }

    fn check_result(&self, e: &Event, c: &Syscall, got: Result<i64, &str>) -> Result<(), Verdict> {
        let ok = match (&got, c.ret, &c.errno) {
            (Ok(v), want, _) => *v == want,
            (Err(en), -1, Some(want)) => same_errno(en, want),
            (Err(_), -1, None) => true,
            _ => false,
        };
        if ok {
            return Ok(());
        }
        let got = match got {
            Ok(v) => format!("{v}"),
            Err(en) => format!("-1 {en}"),
        };
        Err(self.fail(e, format!("returned {got}")))
    }

    fn new_fd(&mut self, handle: SocketHandle, config: TcpConfig, nonblock: bool) -> i64 {
        let fd = (3..).find(|n| !self.fds.contains_key(n)).unwrap_or(3);
        self.fds.insert(
            fd,
            Fd {
                handle,
                nonblock,
                config,
                bound: false,
                consumed: None,
            },
        );
        self.tcpi_fd = Some(fd);
        fd
    }

    /// The socket's error, unless already reported.
    fn take_error(&mut self, fd: i64) -> Option<TcpError> {
        let f = self.fds.get(&fd)?;
        let err = self.h.sockets.get(f.handle).ok()?.error()?;
        if f.consumed == Some(err) {
            return None;
        }
        if let Some(f) = self.fds.get_mut(&fd) {
            f.consumed = Some(err);
        }
        Some(err)
    }

    fn syscall(&mut self, e: &Event, c: &Syscall, start: i64) -> Result<(), Verdict> {
        let fd = self.fd_arg(c);
        let blocking_end = e.when.block_end.map(|t| match t {
            Time::Absolute(t) => t,
            Time::Relative(d) => start + d,
            Time::Any => start,
        });
        if c.name != "socket" && !self.fds.contains_key(&fd) {
            return self.check_result(e, c, Err("EBADF"));
        }
        let got: Result<i64, &'static str> = match c.name.as_str() {
            "socket" => match self.h.sockets.open() {
                Ok(h) => {
                    let config = self.defaults;
                    let _ = self.h.sockets.with(h, |s| s.set_config(config));
                    Ok(self.new_fd(h, config, false))
                }
                Err(_) => Err("ENFILE"),
            },
            "fcntl" => {
                let cmd = c.args.get(1).map(String::as_str).unwrap_or("");
                let f = self.fds.get_mut(&fd).ok_or_else(|| unsupported("fcntl"))?;
                match cmd {
                    "F_GETFL" => Ok(O_RDWR | if f.nonblock { O_NONBLOCK } else { 0 }),
                    "F_SETFL" => {
                        f.nonblock = c.args.get(2).is_some_and(|a| a.contains("O_NONBLOCK"));
                        Ok(0)
                    }
                    _ => return Err(unsupported(format!("line {}: fcntl {cmd}", e.line))),
                }
            }
            "setsockopt" => self.setsockopt(e, c, fd)?,
            "getsockopt" => return self.getsockopt(e, c, fd),
            "bind" => {
                if let Some(f) = self.fds.get_mut(&fd) {
                    f.bound = true;
                }
                self.local_port = LOCAL_PORT;
                Ok(0)
            }
            "listen" => {
                let f = &self.fds[&fd];
                let (h, config) = (f.handle, f.config);
                // Accepted sockets inherit the listener's options.
                self.h.sockets.set_default_config(config);
                let backlog = Self::int_arg(c, 1).max(0) as usize;
                self.local_port = LOCAL_PORT;
                self.remote_port = REMOTE_PORT;
                match self
                    .h
                    .sockets
                    .listen(h, Endpoint::new(OUR_IP, LOCAL_PORT), backlog)
                {
                    Ok(()) => Ok(0),
                    Err(TcpError::AddrInUse) => Err("EADDRINUSE"),
                    Err(_) => Err("EINVAL"),
                }
            }
            "connect" => {
                let f = &self.fds[&fd];
                let (h, bound, nonblock) = (f.handle, f.bound, f.nonblock);
                let state = self.h.sockets.get(h).map(|s| s.state());
                match state {
                    Ok(State::Closed) => {
                        let local = Endpoint::new(OUR_IP, if bound { LOCAL_PORT } else { 0 });
                        let remote = Endpoint::new(PEER_IP, LOCAL_PORT);
                        let now = self.h.instant();
                        match self.h.sockets.connect(now, h, local, remote) {
                            Ok(()) => {
                                self.remote_port = LOCAL_PORT;
                                self.local_port =
                                    self.h.sockets.get(h).map_or(0, |s| s.local_endpoint().port);
                                self.h.poll();
                                if nonblock {
                                    Err("EINPROGRESS")
                                } else {
                                    return self.block(
                                        e,
                                        c,
                                        fd,
                                        Blocking::Connect,
                                        blocking_end.unwrap_or(start),
                                    );
                                }
                            }
                            Err(TcpError::AddrInUse) => Err("EADDRINUSE"),
                            Err(_) => Err("EINVAL"),
                        }
                    }
                    Ok(State::SynSent | State::SynReceived) => Err("EALREADY"),
                    Ok(_) => Err("EISCONN"),
                    Err(_) => Err("EBADF"),
                }
            }
            "accept" => {
                let nonblock = self.fds[&fd].nonblock;
                match self.try_accept(fd) {
                    Some(r) => r,
                    None if nonblock => Err("EAGAIN"),
                    None => {
                        return self.block(
                            e,
                            c,
                            fd,
                            Blocking::Accept,
                            blocking_end.unwrap_or(start),
                        )
                    }
                }
            }
            "read" | "recv" => {
                let len = Self::int_arg(c, 2).max(0) as usize;
                let peek = c.args.get(3).is_some_and(|a| a.trim() == "MSG_PEEK");
                let nonblock = self.fds[&fd].nonblock;
                match self.try_read(fd, len, peek) {
                    Some(r) => r,
                    None if nonblock => Err("EAGAIN"),
                    None => {
                        return self.block(
                            e,
                            c,
                            fd,
                            Blocking::Read { len, peek },
                            blocking_end.unwrap_or(start),
                        )
                    }
                }
            }
            "send" if c.args.get(3).is_some_and(|a| a.trim() == "MSG_OOB") => {
                // Urgent data (RFC 9293 §3.8.5): `TcpSocket::send_urgent`.
                let len = Self::int_arg(c, 2).max(0) as usize;
                let h = self.fds[&fd].handle;
                let data = vec![0u8; len];
                match self.h.sockets.with(h, |s| s.send_urgent(&data)) {
                    Ok(Ok(n)) => Ok(n as i64),
                    Ok(Err(err)) => Err(errno_name(err)),
                    Err(_) => Err("EBADF"),
                }
            }
            "write" | "send" => {
                let len = Self::int_arg(c, 2).max(0) as usize;
                let nonblock = self.fds[&fd].nonblock;
                match self.try_write(fd, len) {
                    Ok(n) if n < len && !nonblock => {
                        return self.block(
                            e,
                            c,
                            fd,
                            Blocking::Write {
                                left: len - n,
                                total: len,
                            },
                            blocking_end.unwrap_or(start),
                        )
                    }
                    Err("EAGAIN") if !nonblock => {
                        return self.block(
                            e,
                            c,
                            fd,
                            Blocking::Write {
                                left: len,
                                total: len,
                            },
                            blocking_end.unwrap_or(start),
                        )
                    }
                    r => r.map(|n| n as i64),
                }
            }
            "shutdown" => {
                let how = c.args.get(1).map(String::as_str).unwrap_or("");
                let h = self.fds[&fd].handle;
                if how == "SHUT_RD" {
                    Ok(0)
                } else {
                    match self.h.sockets.shutdown(h) {
                        Ok(()) => Ok(0),
                        Err(TcpError::NotConnected) => Err("ENOTCONN"),
                        Err(e) => Err(errno_name(e)),
                    }
                }
            }
            "close" => {
                let f = self.fds.remove(&fd).ok_or_else(|| unsupported("close"))?;
                if self.tcpi_fd == Some(fd) {
                    self.tcpi_fd = self.fds.keys().next_back().copied();
                }
                let _ = self.h.sockets.close(f.handle);
                Ok(0)
            }
            other => return Err(unsupported(format!("line {}: {other}()", e.line))),
        };
        if let Some(end) = blocking_end {
            if end > start + self.tolerance {
                return Err(self.fail(
                    e,
                    format!(
                        "the script says this call blocks until {:.6}; it returned at once",
                        end as f64 / 1e6
                    ),
                ));
            }
        }
        self.check_result(e, c, got)
    }

    fn try_accept(&mut self, fd: i64) -> Option<Result<i64, &'static str>> {
        let f = &self.fds[&fd];
        let (h, nonblock, config) = (f.handle, f.nonblock, f.config);
        match self.h.sockets.accept(h) {
            Ok(child) => Some(Ok(self.new_fd(child, config, nonblock))),
            Err(TcpError::WouldBlock) => None,
            Err(TcpError::InvalidState) => Some(Err("EINVAL")),
            Err(e) => Some(Err(errno_name(e))),
        }
    }

    fn try_read(&mut self, fd: i64, len: usize, peek: bool) -> Option<Result<i64, &'static str>> {
        let h = self.fds[&fd].handle;
        let mut buf = vec![0u8; len];
        let r = if peek {
            self.h.sockets.get(h).map(|s| {
                if s.can_recv() {
                    Ok(s.peek_slice(&mut buf))
                } else if s.is_eof() {
                    Ok(0)
                } else {
                    Err(TcpError::WouldBlock)
                }
            })
        } else {
            self.h.sockets.with(h, |s| {
                if s.is_eof() {
                    Ok(0)
                } else {
                    s.recv_slice(&mut buf)
                }
            })
        };
        let r = r.unwrap_or(Err(TcpError::InvalidHandle));
        match r {
            Ok(n) => Some(Ok(n as i64)),
            Err(TcpError::WouldBlock) => {
                // An error pending on the socket wins over "would block".
                if let Some(err) = self.take_error(fd) {
                    return Some(Err(errno_name(err)));
                }
                None
            }
            Err(TcpError::NotConnected) => {
                if let Some(err) = self.take_error(fd) {
                    return Some(Err(errno_name(err)));
                }
                // Reading a closed connection after its error was reported.
                let was = self.fds[&fd].consumed.is_some();
                Some(if was { Ok(0) } else { Err("ENOTCONN") })
            }
            Err(e) => {
                if let Some(f) = self.fds.get_mut(&fd) {
                    f.consumed = Some(e);
                }
                Some(Err(errno_name(e)))
            }
        }
    }

    fn try_write(&mut self, fd: i64, len: usize) -> Result<usize, &'static str> {
        let h = self.fds[&fd].handle;
        let data = vec![0u8; len];
        match self.h.sockets.send(h, &data) {
            Ok(n) => Ok(n),
            Err(TcpError::WouldBlock) => Err("EAGAIN"),
            Err(
                e @ (TcpError::ConnectionReset | TcpError::TimedOut | TcpError::ConnectionRefused),
            ) => {
                if let Some(f) = self.fds.get_mut(&fd) {
                    f.consumed = Some(e);
                }
                Err(errno_name(e))
            }
            Err(e) => Err(errno_name(e)),
        }
    }

    fn setsockopt(
        &mut self,
        e: &Event,
        c: &Syscall,
        fd: i64,
    ) -> Result<Result<i64, &'static str>, Verdict> {
        let opt = c.args.get(2).map(String::as_str).unwrap_or("");
        if opt == "IP_OPTIONS" {
            return self.set_ip_options(e, c, fd);
        }
        let val: i64 = parse_int(&Self::bracket_arg(c, 3)).unwrap_or(0);
        let f = self
            .fds
            .get_mut(&fd)
            .ok_or_else(|| unsupported("setsockopt"))?;
        let mut config = f.config;
        match opt {
            "SO_REUSEADDR" => {}
            "SO_RCVBUF" | "SO_SNDBUF" => {
                self.relax(
                    "buffer sizes accepted, not applied or checked",
                    format!("line {}: {opt}", e.line),
                );
            }
            "TCP_NODELAY" => config.nodelay = val != 0,
            "TCP_NOOPT" => {
                let on = val == 0;
                config.window_scaling = on;
                config.timestamps = on;
                config.sack = on;
            }
            "SO_KEEPALIVE" => {
                config.keep_alive = (val != 0).then(|| config.keep_alive.unwrap_or_default());
            }
            "TCP_KEEPIDLE" | "TCP_KEEPINTVL" | "TCP_KEEPCNT" => {
                let mut k = config.keep_alive.unwrap_or_default();
                let enabled = config.keep_alive.is_some();
                match opt {
                    "TCP_KEEPIDLE" => k.idle = Duration::from_secs(val.max(0) as u64),
                    "TCP_KEEPINTVL" => k.interval = Duration::from_secs(val.max(0) as u64),
                    _ => k.count = val.clamp(0, 255) as u8,
                }
                // Stored even while SO_KEEPALIVE is off: applied when it is
                // turned on (as with Linux).
                config.keep_alive = Some(k);
                if !enabled {
                    self.relax(
                        "TCP_KEEP* before SO_KEEPALIVE turns keep-alive on",
                        format!("line {}", e.line),
                    );
                }
            }
            "TCP_KEEPINIT" => {
                // FreeBSD: give up on an unfinished handshake after N s.
                // rtcp's nearest knob is the user timeout (R2).
                config.user_timeout = Duration::from_secs(val.max(0) as u64);
                self.relax(
                    "TCP_KEEPINIT mapped to the user timeout",
                    format!("line {}", e.line),
                );
            }
            "IP_TOS" => {
                // The DSCP (MUST-48); the ECN bits belong to TCP (RFC 3168
                // §6.1: the transport sets them per segment), as on Linux.
                config.dscp = Dscp::new(((val & 0xff) >> 2) as u8).unwrap_or_default();
            }
            "TCP_USER_TIMEOUT" => {
                // Linux (RFC 5482 as a socket option): milliseconds, the
                // application's R2 (RFC 9293 §3.8.3, MUST-21). rtcp's user
                // timeout is exactly that, so nothing is relaxed.
                config.user_timeout = Duration::from_millis(val.max(0) as u64);
            }
            _ => return Err(unsupported(format!("line {}: setsockopt {opt}", e.line))),
        }
        let _ = KeepAlive::default();
        if let Some(f) = self.fds.get_mut(&fd) {
            f.config = config;
            let h = f.handle;
            let _ = self.h.sockets.with(h, |s| s.set_config(config));
        }
        Ok(Ok(0))
    }

    /// `setsockopt(fd, IPPROTO_IP, IP_OPTIONS, [lsrr A B ...], N)` (or
    /// `ssrr`): the application's source route (RFC 9293 §3.9.2.1,
    /// MUST-51), hops in travel order; `[]` clears it. An rtcp extension in
    /// the syntax of the packet lines: Linux takes the option bytes.
    fn set_ip_options(
        &mut self,
        e: &Event,
        c: &Syscall,
        fd: i64,
    ) -> Result<Result<i64, &'static str>, Verdict> {
        let arg = Self::bracket_arg(c, 3);
        let mut words = arg.split_whitespace();
        let kind = match words.next() {
            None => None,
            Some("lsrr") => Some(RouteKind::Loose),
            Some("ssrr") => Some(RouteKind::Strict),
            Some(other) => {
                return Err(unsupported(format!(
                    "line {}: IP_OPTIONS [{other} ...] (only lsrr/ssrr)",
                    e.line
                )))
            }
        };
        let route = match kind {
            None => None,
            Some(kind) => {
                let hops: Option<Vec<Ipv4Address>> = words
                    .map(|w| w.parse::<std::net::Ipv4Addr>().ok().map(|a| v4(&a)))
                    .collect();
                match hops.and_then(|h| SourceRoute::new(kind, &h)) {
                    Some(r) => Some(r),
                    None => return Ok(Err("EINVAL")),
                }
            }
        };
        let h = self.fds[&fd].handle;
        let _ = self.h.sockets.with(h, |s| s.set_source_route(route));
        Ok(Ok(0))
    }

    fn getsockopt(&mut self, e: &Event, c: &Syscall, fd: i64) -> Result<(), Verdict> {
        let opt = c.args.get(2).map(String::as_str).unwrap_or("");
        let want = Self::bracket_arg(c, 3);
        let h = self.fds[&fd].handle;
        let have = match opt {
            "SO_ERROR" => self
                .take_error(fd)
                .map_or("0".to_string(), |err| errno_name(err).to_string()),
            "TCP_MAXSEG" => self.h.sockets.get(h).map_or(0, |s| s.mss()).to_string(),
            "SO_RCVBUF" | "SO_SNDBUF" => {
                self.relax(
                    "buffer sizes accepted, not applied or checked",
                    format!("line {}: getsockopt {opt} [{want}]", e.line),
                );
                want.clone()
            }
            "TCP_NODELAY" => u8::from(self.fds[&fd].config.nodelay).to_string(),
            "SO_KEEPALIVE" => u8::from(self.fds[&fd].config.keep_alive.is_some()).to_string(),
            "IP_TOS" => (u32::from(self.fds[&fd].config.dscp.value()) << 2).to_string(),
            _ => return Err(unsupported(format!("line {}: getsockopt {opt}", e.line))),
        };
        let same = have == want
            || same_errno(&have, &want)
            || parse_int(&have).is_some_and(|h| parse_int(&want) == Some(h));
        if !same {
            return Err(self.fail(e, format!("{opt} is [{have}]")));
        }
        self.check_result(e, c, Ok(0))
    }

    // ----- blocking calls -----

    fn block(
        &mut self,
        e: &Event,
        c: &Syscall,
        fd: i64,
        kind: Blocking,
        end: i64,
    ) -> Result<(), Verdict> {
        if self.pending.is_some() {
            return Err(unsupported(format!(
                "line {}: two blocking calls at once",
                e.line
            )));
        }
        self.pending = Some(Pending {
            event: e.clone(),
            call: c.clone(),
            fd,
            kind,
            end,
            done_at: None,
        });
        self.progress_pending();
        Ok(())
    }

    /// Try to finish the blocked call at the current time.
    fn progress_pending(&mut self) {
        let Some(mut p) = self.pending.take() else {
            return;
        };
        if p.done_at.is_none() {
            let r = match p.kind.clone() {
                Blocking::Connect => {
                    let h = self.fds.get(&p.fd).map(|f| f.handle);
                    let st = h
                        .and_then(|h| self.h.sockets.get(h).ok())
                        .map(|s| s.state());
                    match st {
                        Some(State::SynSent | State::SynReceived) => None,
                        Some(State::Closed) | None => Some(Err(self
                            .take_error(p.fd)
                            .map_or("ECONNREFUSED", errno_name))),
                        Some(_) => Some(Ok(0)),
                    }
                }
                Blocking::Accept => self.try_accept(p.fd),
                Blocking::Read { len, peek } => self.try_read(p.fd, len, peek),
                Blocking::Write { left, total } => match self.try_write(p.fd, left) {
                    Ok(n) if n == left => Some(Ok(total as i64)),
                    Ok(n) => {
                        p.kind = Blocking::Write {
                            left: left - n,
                            total,
                        };
                        None
                    }
                    Err("EAGAIN") => None,
                    Err(en) => Some(Err(en)),
                },
            };
            if let Some(r) = r {
                p.done_at = Some((self.h.now, r));
            }
        }
        self.pending = Some(p);
    }

    /// Before an event at `t` (or at the end): a blocked call due by then
    /// must have returned, at its time and with its result.
    fn check_pending(&mut self, t: i64, at_end: bool) -> Option<Verdict> {
        let p = self.pending.as_ref()?;
        let due = p.end + self.tolerance;
        if t <= p.end && !at_end {
            return None;
        }
        if p.done_at.is_none() && !at_end {
            // Let time run to the deadline (the call may finish by a timer).
            self.h.advance(t.min(due), false);
            self.progress_pending();
        }
        let p = self.pending.take()?;
        let Some((at, r)) = p.done_at else {
            if !at_end && t < due {
                self.pending = Some(p);
                return None;
            }
            return Some(self.fail(
                &p.event,
                format!("still blocked at {:.6}", self.h.now as f64 / 1e6),
            ));
        };
        if (at - p.end).abs() > self.tolerance {
            return Some(self.fail(
                &p.event,
                format!(
                    "returned at {:.6}, script says {:.6}",
                    at as f64 / 1e6,
                    p.end as f64 / 1e6
                ),
            ));
        }
        self.check_result(&p.event, &p.call, r).err()
    }
}

/// A decimal or `0x` hexadecimal integer.
fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn v4(a: &std::net::Ipv4Addr) -> Ipv4Address {
    let [a, b, c, d] = a.octets();
    Ipv4Address::new(a, b, c, d)
}

/// The option of a datagram that came source-routed through `hops` (in
/// travel order) and has arrived: each hop recorded its address, the
/// pointer is past the end (RFC 791 §3.1). A NOP first aligns it.
fn arrived_route(strict: bool, hops: &[std::net::Ipv4Addr]) -> Vec<u8> {
    let len = 3 + 4 * hops.len();
    let mut b = vec![
        1,
        if strict { OPTION_SSRR } else { OPTION_LSRR },
        len as u8,
        len as u8 + 1,
    ];
    for h in hops {
        b.extend_from_slice(&h.octets());
    }
    b
}

/// Check the IP destination and options of a segment we sent against the
/// script: without `[lsrr ...]`/`[ssrr ...]` it goes straight to the peer
/// with no source route; with one, to the first hop, the option listing the
/// other hops and then the peer, its pointer at the first of them.
fn check_ip_route(want: Option<&IpOptions>, s: &Sent) -> Result<(), String> {
    let got = find_source_route(&s.ip_options).map_err(|_| "malformed IP options".to_string())?;
    let describe = |s: &Sent| match find_source_route(&s.ip_options).ok().flatten() {
        Some(r) => format!(
            "to {} with {} {:?}",
            s.ip_dst,
            if r.kind == RouteKind::Strict {
                "SSRR"
            } else {
                "LSRR"
            },
            r.addresses()
        ),
        None => format!("to {} without a source route", s.ip_dst),
    };
    match want {
        None => {
            if got.is_some() || s.ip_dst != PEER_IP {
                return Err(format!(
                    "sent {} (expected straight to the peer)",
                    describe(s)
                ));
            }
        }
        Some(IpOptions::Raw(_)) => {
            return Err("`[ipopt ...]` is for injected segments only".to_string());
        }
        Some(IpOptions::Route { strict, hops }) => {
            let ok = got.is_some_and(|r| {
                let mut expect: Vec<Ipv4Address> = hops.iter().skip(1).map(v4).collect();
                expect.push(PEER_IP);
                (r.kind == RouteKind::Strict) == *strict
                    && !r.complete
                    && r.addresses() == expect.as_slice()
                    && s.ip_options
                        .iter()
                        .position(|&b| b == OPTION_LSRR || b == OPTION_SSRR)
                        .and_then(|at| s.ip_options.get(at + 2))
                        == Some(&4)
            }) && hops.first().map(v4) == Some(s.ip_dst);
            if !ok {
                return Err(format!(
                    "sent {} (expected {} via {:?})",
                    describe(s),
                    if *strict { "SSRR" } else { "LSRR" },
                    hops
                ));
            }
        }
    }
    Ok(())
}
