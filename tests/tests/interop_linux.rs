//! Interoperability with the Linux kernel's TCP, over a veth pair between
//! two network namespaces that each test creates and removes
//! (`rtcp-host lab up/down --name ...`). rtcp runs in `NAME-a` on veth-a
//! with 10.77.0.2 (the kernel there has no address on it); Linux is
//! `NAME-b` with 10.77.0.1 on veth-b, driven with python3 sockets.
//!
//! Needs root. Without root the tests print why they were skipped and
//! pass, unless `CI=true` or `RTCP_REQUIRE_ROOT_TESTS` is set, which makes
//! a skip a failure. Run them alone with
//! `cargo test --release -p rtcp-tests --test interop_linux -- --nocapture`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rtcp_tests::rng::Rng;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::Instant;

const RTCP_IP: &str = "10.77.0.2";
const LINUX_IP: &str = "10.77.0.1";
const MIB64: usize = 64 << 20;
/// Seconds any one command may take before it is killed.
const LIMIT: &str = "300";

/// The tests run one at a time, across processes too: two cores and
/// honest throughput figures, and the namespaces have fixed names
/// (`rti1-a`, ...), so two `cargo test` runs at once (two worktrees, say)
/// would tear down each other's labs. An exclusive lock on a file in the
/// temporary directory, held until the returned file is dropped; the
/// kernel releases it if the process dies.
fn serial() -> std::fs::File {
    let path = std::env::temp_dir().join("rtcp-interop-linux.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    file.lock()
        .unwrap_or_else(|e| panic!("lock {}: {e}", path.display()));
    file
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// Whether to run: true as root; false (skip) otherwise, unless CI asks for
/// the root tests, in which case not being root is a failure.
fn root_or_skip(test: &str) -> bool {
    if is_root() {
        return true;
    }
    let required = std::env::var_os("RTCP_REQUIRE_ROOT_TESTS").is_some()
        || std::env::var("CI").is_ok_and(|v| v == "true");
    if required {
        panic!("{test}: needs root (network namespaces, AF_PACKET), and CI / RTCP_REQUIRE_ROOT_TESTS requires the root tests");
    }
    // Straight to stderr, past libtest's output capture, so the skip shows.
    let _ = writeln!(
        std::io::stderr(),
        "{test}: skipped: needs root (network namespaces, AF_PACKET); run as root, or set RTCP_REQUIRE_ROOT_TESTS=1 to make this a failure"
    );
    false
}

/// The `rtcp-host` binary of this build profile, built if missing.
fn host_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/interop_linux-HASH -> target/<profile>/rtcp-host
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let bin = profile_dir.join("rtcp-host");
    // Built once per test run, always: cargo does nothing when the binary
    // is current, and a binary left from an older checkout (same target
    // directory) would test old code or lack newer options.
    static BUILT: Mutex<bool> = Mutex::new(false);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if !*built {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "rtcp-host"]);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        if let Some(target) = profile_dir.parent() {
            cmd.env("CARGO_TARGET_DIR", target);
        }
        let status = cmd.status().unwrap();
        assert!(status.success(), "building rtcp-host failed");
        *built = true;
    }
    bin
}

fn check(out: Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    stdout
}

/// A lab (two namespaces and a veth pair), removed on drop.
struct Lab {
    name: String,
    bin: PathBuf,
}

impl Lab {
    fn up(name: &str) -> Lab {
        let bin = host_bin();
        // Leftovers of an interrupted run.
        let _ = Command::new(&bin)
            .args(["lab", "down", "--name", name])
            .output();
        let out = Command::new(&bin)
            .args(["lab", "up", "--name", name])
            .output()
            .unwrap();
        check(out, "rtcp-host lab up");
        Lab {
            name: name.to_string(),
            bin,
        }
    }

    fn ns(&self, side: char) -> String {
        format!("{}-{side}", self.name)
    }

    /// `timeout LIMIT ip netns exec NS args...`
    fn exec(&self, side: char, args: &[&str]) -> Command {
        let mut c = Command::new("timeout");
        c.args([LIMIT, "ip", "netns", "exec", &self.ns(side)]);
        c.args(args);
        c
    }

    fn rtcp(&self, args: &[&str]) -> Command {
        let mut c = self.exec('a', &[self.bin.to_str().unwrap()]);
        c.args(args);
        c.args(["--iface", "veth-a", "--ip", &format!("{RTCP_IP}/24")]);
        c
    }

    /// Every offload on at both ends (`rtcp-host lab up` turns them off):
    /// tx checksum, TSO, GSO, rx checksum, and GRO (off by default on a
    /// veth). Linux then hands rtcp's packet socket frames with partial
    /// TCP checksums and TSO/GRO super-frames larger than the MTU.
    fn offloads_on(&self) {
        for (side, dev) in [('a', "veth-a"), ('b', "veth-b")] {
            let out = self
                .exec(
                    side,
                    &[
                        "ethtool", "-K", dev, "tx", "on", "rx", "on", "tso", "on", "gso", "on",
                        "gro", "on",
                    ],
                )
                .output()
                .unwrap();
            check(out, "ethtool -K ... on");
        }
    }

    fn python(&self, script: &str, args: &[&str]) -> Command {
        let mut c = self.exec('b', &["python3", "-u", "-c", script]);
        c.args(args);
        c
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new(&self.bin)
            .args(["lab", "down", "--name", &self.name])
            .output();
    }
}

/// A file of `len` seeded random bytes, removed on drop.
struct TestFile {
    path: PathBuf,
    sha: String,
}

impl TestFile {
    fn new(tag: &str, len: usize, seed: u64) -> TestFile {
        let path =
            std::env::temp_dir().join(format!("rtcp-interop-{tag}-{}.bin", std::process::id()));
        let mut rng = Rng::new(seed);
        let mut data = vec![0u8; len];
        rng.fill(&mut data);
        std::fs::write(&path, &data).unwrap();
        TestFile {
            path,
            sha: hex(&Sha256::digest(&data)),
        }
    }
    fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

impl Drop for TestFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Start a child and wait for a stdout line containing `ready`; returns
/// the child and the lines read so far. The caller waits for the child.
#[allow(clippy::zombie_processes)]
fn spawn_until(mut cmd: Command, ready: &str) -> (Child, BufReader<std::process::ChildStdout>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            let _ = child.wait();
            panic!("child exited before printing {ready:?}");
        }
        if line.contains(ready) {
            return (child, out);
        }
    }
}

fn rest(mut child: Child, mut out: BufReader<std::process::ChildStdout>, what: &str) -> String {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut out, &mut text).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{what} failed ({status}):\n{text}");
    text
}

/// The SHA-256 digests the rtcp server printed, one per connection.
fn server_digests(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|l| l.starts_with("conn "))
        .filter_map(|l| l.split("sha256 ").nth(1))
        .filter_map(|s| s.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Python client: send each file on its own connection (all at once), then
/// wait for the server to close.
const PY_SEND: &str = r#"
import socket, sys, threading
host, port = sys.argv[1], int(sys.argv[2])
errors = []
def send(path):
    try:
        s = socket.create_connection((host, port), timeout=120)
        with open(path, 'rb') as f:
            s.sendall(f.read())
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass
        s.close()
    except Exception as e:
        errors.append(repr(e))
ts = [threading.Thread(target=send, args=(p,)) for p in sys.argv[3:]]
for t in ts: t.start()
for t in ts: t.join()
if errors:
    print('errors:', errors); sys.exit(1)
print('sent', len(ts))
"#;

/// Python server: accept one connection, hash it, print "bytes sha".
const PY_RECV: &str = r#"
import socket, sys, hashlib
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], int(sys.argv[2])))
l.listen(16)
print('ready', flush=True)
c, a = l.accept()
h, n = hashlib.sha256(), 0
while True:
    d = c.recv(1 << 20)
    if not d:
        break
    h.update(d); n += len(d)
c.close()
print(n, h.hexdigest())
"#;

fn linux_to_rtcp(lab: &Lab, files: &[&TestFile], faults: &[&str]) -> String {
    let count = files.len().to_string();
    let mut args = vec!["server", "--port", "5001", "--count", &count];
    let out = std::env::temp_dir().join(format!("rtcp-interop-out-{}-{{n}}.bin", lab.name));
    let out = out.to_str().unwrap().to_string();
    args.extend(["--out", &out]);
    args.extend(faults);
    let (server, reader) = spawn_until(lab.rtcp(&args), "listening on");
    let start = Instant::now();
    let mut py: Vec<&str> = vec![RTCP_IP, "5001"];
    py.extend(files.iter().map(|f| f.path()));
    check(lab.python(PY_SEND, &py).output().unwrap(), "python client");
    let elapsed = start.elapsed();
    let output = rest(server, reader, "rtcp-host server");
    for n in 1..=files.len() {
        let _ = std::fs::remove_file(out.replace("{n}", &n.to_string()));
    }
    let mut got = server_digests(&output);
    let mut want: Vec<String> = files.iter().map(|f| f.sha.clone()).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "server output:\n{output}");
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(&f.path).unwrap().len())
        .sum();
    println!(
        "{}: Linux -> rtcp, {} connection(s), {bytes} bytes in {:.2} s: {:.1} Mbit/s {faults:?}",
        lab.name,
        files.len(),
        elapsed.as_secs_f64(),
        bytes as f64 * 8.0 / elapsed.as_secs_f64() / 1e6
    );
    output
}

fn rtcp_to_linux(lab: &Lab, file: &TestFile, faults: &[&str]) -> String {
    let (py, reader) = spawn_until(lab.python(PY_RECV, &[LINUX_IP, "5002"]), "ready");
    let connect = format!("{LINUX_IP}:5002");
    let mut args = vec!["client", "--connect", &connect, "--file", file.path()];
    args.extend(faults);
    let client_out = check(lab.rtcp(&args).output().unwrap(), "rtcp-host client");
    let linux = rest(py, reader, "python server");
    let line = linux.lines().last().unwrap_or_default().to_string();
    let len = std::fs::metadata(&file.path).unwrap().len();
    assert_eq!(
        line,
        format!("{len} {}", file.sha),
        "Linux received something else:\n{client_out}"
    );
    assert!(client_out.contains(&file.sha), "{client_out}");
    println!(
        "{}: rtcp -> Linux {faults:?}: {}",
        lab.name,
        client_out
            .lines()
            .find(|l| l.starts_with("sent "))
            .unwrap_or_default()
    );
    client_out
}

#[test]
fn bulk_64mib_both_ways() {
    if !root_or_skip("bulk_64mib_both_ways") {
        return;
    }
    let _serial = serial();
    let lab = Lab::up("rti1");
    let file = TestFile::new("bulk", MIB64, 1);
    // Linux sends and closes first; the rtcp server closes after EOF.
    linux_to_rtcp(&lab, &[&file], &[]);
    // rtcp sends and closes first; the Linux server closes after EOF.
    rtcp_to_linux(&lab, &file, &[]);
}

#[test]
fn bulk_both_ways_through_pnet_datalink() {
    if !root_or_skip("bulk_both_ways_through_pnet_datalink") {
        return;
    }
    let _serial = serial();
    // The lab turns offloads off, which this backend needs.
    let lab = Lab::up("rti8");
    let file = TestFile::new("pnet", 16 << 20, 8);
    let server = linux_to_rtcp(&lab, &[&file], &["--pnet"]);
    let client = rtcp_to_linux(&lab, &file, &["--pnet"]);
    assert!(
        client.contains("(pnet_datalink)"),
        "not the pnet backend:\n{client}"
    );
    // One read per frame: pnet_datalink has no batch call (the default
    // backend reads many frames per recvmmsg).
    let (frames, reads) = frames_and_reads(&server).expect("a backend: line");
    assert!(frames > 1000 && frames == reads, "{server}");
}

/// "N frames in M reads" of an rtcp-host "stack:" line.
fn frames_and_reads(output: &str) -> Option<(u64, u64)> {
    let at = output.find(" frames in ")?;
    let frames = output[..at].rsplit(' ').next()?.parse().ok()?;
    let rest = &output[at + " frames in ".len()..];
    let reads = rest.split(' ').next()?.parse().ok()?;
    Some((frames, reads))
}

/// The number in "N partial checksums completed" of an rtcp-host "stack:"
/// line (0 if absent).
fn completed_checksums(output: &str) -> u64 {
    output
        .lines()
        .filter(|l| l.starts_with("stack: "))
        .filter_map(|l| l.split(" partial checksums completed").next())
        .filter_map(|l| l.rsplit(' ').next())
        .filter_map(|n| n.parse::<u64>().ok())
        .sum()
}

/// The number in "N TSO super-segments sent" of an rtcp-host "stack:"
/// line (0 if absent).
fn tso_super_segments(output: &str) -> u64 {
    output
        .lines()
        .filter(|l| l.starts_with("stack: "))
        .filter_map(|l| l.split(" TSO super-segments sent").next())
        .filter_map(|l| l.rsplit(' ').next())
        .filter_map(|n| n.parse::<u64>().ok())
        .sum()
}

/// With every offload on, as on a default veth (plus GRO), rtcp-host must
/// still connect and move data both ways: it completes the partial
/// checksums the Linux peer leaves and takes TSO/GRO super-frames whole
/// (`rtcp-host/src/backend/vnet.rs`), and as sender hands the kernel TCP
/// super-segments to segment (TSO through the `virtio_net_hdr`), which
/// Linux receives intact (the file's hash is checked). The counters it
/// prints show the offloaded frames were really there.
#[test]
fn bulk_64mib_both_ways_with_offloads_on() {
    if !root_or_skip("bulk_64mib_both_ways_with_offloads_on") {
        return;
    }
    let _serial = serial();
    let lab = Lab::up("rti6");
    lab.offloads_on();
    let file = TestFile::new("offload", MIB64, 5);
    let server = linux_to_rtcp(&lab, &[&file], &[]);
    assert!(
        completed_checksums(&server) > 0,
        "no partial checksum was seen: are the offloads on?\n{server}"
    );
    let client = rtcp_to_linux(&lab, &file, &[]);
    // Linux's ACKs arrive with partial checksums too.
    assert!(completed_checksums(&client) > 0, "{client}");
    assert!(
        tso_super_segments(&client) > 100,
        "rtcp-host sent (almost) no TSO super-segments:\n{client}"
    );
}

#[test]
fn sixteen_concurrent_connections_into_one_listener() {
    if !root_or_skip("sixteen_concurrent_connections_into_one_listener") {
        return;
    }
    let _serial = serial();
    let lab = Lab::up("rti2");
    let files: Vec<TestFile> = (0..16)
        .map(|i| TestFile::new(&format!("c{i}"), 4 << 20, 100 + i))
        .collect();
    let refs: Vec<&TestFile> = files.iter().collect();
    linux_to_rtcp(&lab, &refs, &[]);
}

#[test]
fn bulk_64mib_both_ways_with_loss_and_reordering() {
    if !root_or_skip("bulk_64mib_both_ways_with_loss_and_reordering") {
        return;
    }
    let _serial = serial();
    let lab = Lab::up("rti3");
    let file = TestFile::new("lossy", MIB64, 3);
    let faults = ["--loss", "2%", "--reorder", "2%", "--seed", "7"];
    let out = linux_to_rtcp(&lab, &[&file], &faults);
    let injected = out
        .lines()
        .find(|l| l.contains("link injected"))
        .unwrap_or_default();
    assert!(!injected.contains("injected 0 losses"), "{out}");
    let out = rtcp_to_linux(&lab, &file, &faults);
    let injected = out
        .lines()
        .find(|l| l.contains("link injected"))
        .unwrap_or_default();
    assert!(!injected.contains("injected 0 losses"), "{out}");
}

/// Python: connect to a port and report how it went.
const PY_CONNECT: &str = r#"
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
    print('connected')
except ConnectionRefusedError:
    print('refused')
except Exception as e:
    print('other', repr(e))
"#;

/// Python: ICMP echo to an address (raw socket), print "replies N".
const PY_PING: &str = r#"
import socket, struct, sys, time
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(2)
replies = 0
for seq in range(3):
    payload = b'rtcp-ping-%d' % seq
    hdr = struct.pack('!BBHHH', 8, 0, 0, 0x4242, seq)
    pkt = struct.pack('!BBHHH', 8, 0, csum(hdr + payload), 0x4242, seq) + payload
    s.sendto(pkt, (sys.argv[1], 0))
    deadline = time.time() + 2
    while time.time() < deadline:
        try:
            data, addr = s.recvfrom(2048)
        except socket.timeout:
            break
        icmp = data[(data[0] & 15) * 4:]
        if addr[0] == sys.argv[1] and icmp[0] == 0 and struct.unpack('!HH', icmp[4:8]) == (0x4242, seq) and icmp[8:] == payload:
            replies += 1
            break
print('replies', replies)
"#;

#[test]
fn refused_both_ways_and_ping() {
    if !root_or_skip("refused_both_ways_and_ping") {
        return;
    }
    let _serial = serial();
    let lab = Lab::up("rti4");
    let file = TestFile::new("small", 1 << 20, 4);
    // rtcp connects to a closed Linux port: a one-line "refused" error.
    let out = lab
        .rtcp(&[
            "client",
            "--connect",
            &format!("{LINUX_IP}:5999"),
            "--file",
            file.path(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused"), "{err}");
    // Linux connects to a closed rtcp port, and pings rtcp, while an rtcp
    // server runs on another port.
    let outp = std::env::temp_dir().join("rtcp-interop-rti4.bin");
    let (mut server, _reader) = spawn_until(
        lab.rtcp(&["server", "--port", "5001", "--out", outp.to_str().unwrap()]),
        "listening on",
    );
    let refused = check(
        lab.python(PY_CONNECT, &[RTCP_IP, "5999"]).output().unwrap(),
        "python connect",
    );
    let accepted = check(
        lab.python(PY_CONNECT, &[RTCP_IP, "5001"]).output().unwrap(),
        "python connect",
    );
    let ping = check(
        lab.python(PY_PING, &[RTCP_IP]).output().unwrap(),
        "python ping",
    );
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_file(&outp);
    assert_eq!(refused.trim(), "refused");
    assert_eq!(accepted.trim(), "connected");
    assert_eq!(ping.trim(), "replies 3");
    let _ = std::io::stdout().flush();
}

/// A namespace made for one test, removed on drop.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

#[test]
fn tap_backend_with_linux_in_the_same_namespace_and_pcap() {
    if !root_or_skip("tap_backend_with_linux_in_the_same_namespace_and_pcap") {
        return;
    }
    let _serial = serial();
    let bin = host_bin();
    let ns = Netns("rti5".into());
    let _ = Command::new("ip").args(["netns", "del", &ns.0]).output();
    check(
        Command::new("ip")
            .args(["netns", "add", &ns.0])
            .output()
            .unwrap(),
        "ip netns add",
    );
    let file = TestFile::new("tap", 16 << 20, 5);
    // Not the input file's name ("rtcp-interop-tap-PID.bin"): the server
    // truncates its output when it accepts, and the client may open its input
    // only after that.
    let out = std::env::temp_dir().join(format!(
        "rtcp-interop-tap-received-{}.bin",
        std::process::id()
    ));
    let pcap = std::env::temp_dir().join(format!("rtcp-interop-tap-{}.pcap", std::process::id()));
    let mut server_cmd = Command::new("timeout");
    server_cmd.args([LIMIT, "ip", "netns", "exec", &ns.0, bin.to_str().unwrap()]);
    server_cmd.args([
        "server",
        "--tap",
        "rtcp0",
        "--ip",
        "10.78.0.2/24",
        "--port",
        "5001",
    ]);
    server_cmd.args(["--count", "1", "--out", out.to_str().unwrap()]);
    server_cmd.args(["--pcap", pcap.to_str().unwrap()]);
    let (server, reader) = spawn_until(server_cmd, "listening on");
    // The kernel of the same namespace is the peer, on the TAP's other side.
    for args in [
        vec!["addr", "add", "10.78.0.1/24", "dev", "rtcp0"],
        vec!["link", "set", "rtcp0", "up"],
    ] {
        let mut c = Command::new("ip");
        c.args(["-n", &ns.0]).args(args);
        check(c.output().unwrap(), "ip (tap setup)");
    }
    let mut py = Command::new("timeout");
    py.args([
        LIMIT, "ip", "netns", "exec", &ns.0, "python3", "-c", PY_SEND,
    ]);
    py.args(["10.78.0.2", "5001", file.path()]);
    check(py.output().unwrap(), "python client over TAP");
    let output = rest(server, reader, "rtcp-host server --tap");
    let _ = std::fs::remove_file(&out);
    assert_eq!(server_digests(&output), vec![file.sha.clone()], "{output}");
    // The capture reads cleanly (tshark, when installed).
    let capture = std::fs::read(&pcap).unwrap();
    assert!(capture.len() > 16 << 20, "capture too short");
    if let Ok(o) = Command::new("tshark")
        .args(["-r", pcap.to_str().unwrap(), "-q", "-z", "io,stat,0"])
        .output()
    {
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            o.status.success(),
            "tshark could not read the capture: {err}"
        );
        assert!(!err.contains("appears to be damaged"), "{err}");
    }
    let _ = std::fs::remove_file(&pcap);
    println!(
        "rti5: Linux -> rtcp over TAP: {}",
        output
            .lines()
            .find(|l| l.starts_with("conn 1"))
            .unwrap_or_default()
    );
}
