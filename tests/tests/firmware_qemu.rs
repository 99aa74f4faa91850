//! rtcp as firmware, end to end: `rtcp-firmware` (thumbv7em, LAN9118) runs
//! in QEMU's `mps2-an386` with user-mode networking and host port forwards
//! bound to 127.0.0.1 only; this test talks to it from Linux over loopback.
//! It echoes 1 MiB through the TCP echo service (port 7) and checks it byte
//! for byte, then sends a 4 MiB file to the file service (port 9000) and
//! checks the SHA-256 the firmware prints on its UART (QEMU's serial on
//! stdout) against the one computed here. A second test answers ping:
//! QEMU user-mode networking cannot carry ICMP from the host to the guest,
//! so it attaches the LAN9118 to a UDP socket on 127.0.0.1 instead
//! (`-nic socket,udp=...`: each datagram is one raw Ethernet frame), sends
//! an ICMP echo request frame and checks the echo reply frame.
//!
//! Needs `qemu-system-arm` and the firmware ELF: `RTCP_FIRMWARE=path`, or
//! `rtcp-firmware/target/thumbv7em-none-eabihf/release/rtcp-firmware`,
//! which is built with `rtcp-firmware/build.sh` when missing and Debian's
//! toolchain is there. Otherwise the test says why it skipped and passes,
//! unless `CI=true` or `RTCP_REQUIRE_FIRMWARE_TEST=1`, which make a skip a
//! failure. Run it with
//! `cargo test --release -p rtcp-tests --test firmware_qemu -- --nocapture`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rtcp_tests::rng::Rng;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const ECHO_BYTES: usize = 1 << 20;
const FILE_BYTES: usize = 4 << 20;
/// Upper bound for any one wait (boot, a transfer); the whole test takes
/// a few seconds when things work.
const DEADLINE: Duration = Duration::from_secs(60);

fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var_os("RTCP_REQUIRE_FIRMWARE_TEST").is_some_and(|v| v != "0")
}

/// Skip (a pass, with the reason on stderr) or, when required, fail.
fn skip(why: &str) {
    if required() {
        panic!("firmware_qemu: {why}, and CI / RTCP_REQUIRE_FIRMWARE_TEST requires this test");
    }
    let _ = writeln!(
        std::io::stderr(),
        "firmware_qemu: skipped: {why} (set RTCP_REQUIRE_FIRMWARE_TEST=1 to make this a failure)"
    );
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn qemu_available() -> bool {
    Command::new("qemu-system-arm")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The firmware ELF, built with `rtcp-firmware/build.sh` if it is missing
/// and the build can run here. `Err` says why there is none.
fn firmware() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("RTCP_FIRMWARE") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("RTCP_FIRMWARE={} does not exist", p.display()))
        };
    }
    let root = repo_root();
    let elf = root.join("rtcp-firmware/target/thumbv7em-none-eabihf/release/rtcp-firmware");
    if elf.is_file() {
        return Ok(elf);
    }
    if !Path::new("/usr/bin/cargo").exists() || !Path::new("/usr/bin/rustc").exists() {
        return Err(format!(
            "no firmware at {} and Debian's rustc/cargo are not installed to build it \
             (apt-get install rustc-web cargo-web rust-web-src)",
            elf.display()
        ));
    }
    let out = Command::new("bash")
        .arg(root.join("rtcp-firmware/build.sh"))
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .output()
        .map_err(|e| format!("running rtcp-firmware/build.sh: {e}"))?;
    if !out.status.success() || !elf.is_file() {
        // A toolchain that is there but fails to build is a failure, not a skip.
        panic!(
            "rtcp-firmware/build.sh failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(elf)
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// QEMU running the firmware; killed when dropped.
struct Qemu {
    child: Child,
    uart: mpsc::Receiver<String>,
    log: Vec<String>,
}

impl Qemu {
    /// Start the firmware with `-nic NIC` (the LAN9118's backend).
    fn start(elf: &Path, nic: &str) -> Qemu {
        let mut child = Command::new("qemu-system-arm")
            .args(["-M", "mps2-an386", "-nographic", "-monitor", "none"])
            .args(["-serial", "stdio", "-kernel"])
            .arg(elf)
            .args(["-nic", nic])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start qemu-system-arm");
        let stdout = child.stdout.take().unwrap();
        let (tx, uart) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line.trim_end().to_string()).is_err() {
                    break;
                }
            }
        });
        Qemu {
            child,
            uart,
            log: Vec::new(),
        }
    }

    /// Start QEMU with the NIC `nic()` returns and wait for the firmware's
    /// "ready" line. The ports in the NIC were free when picked but may be
    /// taken by the time QEMU binds them; QEMU then exits at once, and the
    /// start is retried with fresh ports (three tries).
    fn start_ready(elf: &Path, nic: impl Fn() -> String) -> Qemu {
        let mut last = String::new();
        for _ in 0..3 {
            let mut qemu = Qemu::start(elf, &nic());
            match qemu.try_wait_for("rtcp-firmware: ready") {
                Ok(_) => return qemu,
                Err(e) => last = e,
            }
        }
        panic!("QEMU did not bring the firmware up: {last}");
    }

    /// The next UART line starting with `prefix`, within the deadline.
    fn wait_for(&mut self, prefix: &str) -> String {
        self.try_wait_for(prefix).unwrap_or_else(|e| panic!("{e}"))
    }

    fn try_wait_for(&mut self, prefix: &str) -> Result<String, String> {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.uart.recv_timeout(left) {
                Ok(line) => {
                    eprintln!("uart: {line}");
                    self.log.push(line.clone());
                    if let Some(i) = line.find(prefix) {
                        return Ok(line[i..].to_string());
                    }
                }
                // Disconnected: QEMU exited; Timeout: the deadline passed.
                Err(e) => {
                    let status = self.child.try_wait();
                    let log = self.log.join("\n");
                    return Err(format!(
                        "no UART line starting {prefix:?} ({e:?}, QEMU status {status:?}); \
                         UART so far:\n{log}"
                    ));
                }
            }
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn data(seed: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    Rng::new(seed).fill(&mut v);
    v
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the port forward");
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    s.set_write_timeout(Some(DEADLINE)).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Send `payload` from a second thread while this one reads to EOF (the
/// echo would deadlock otherwise, once every buffer on the path is full).
fn exchange(stream: TcpStream, payload: Vec<u8>) -> Vec<u8> {
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        writer.write_all(&payload).expect("send");
        writer.shutdown(Shutdown::Write).expect("shutdown");
    });
    let mut got = Vec::new();
    let mut reader = stream;
    reader.read_to_end(&mut got).expect("receive to EOF");
    sender.join().unwrap();
    got
}

#[test]
fn firmware_echo_and_file_sha256_over_qemu() {
    if !qemu_available() {
        return skip("qemu-system-arm not found (apt-get install qemu-system-arm)");
    }
    let elf = match firmware() {
        Ok(p) => p,
        Err(why) => return skip(&why),
    };
    let ports = std::cell::Cell::new((0, 0));
    let mut qemu = Qemu::start_ready(&elf, || {
        let (echo_port, file_port) = (free_port(), free_port());
        ports.set((echo_port, file_port));
        format!(
            "user,model=lan9118,hostfwd=tcp:127.0.0.1:{echo_port}-:7,\
             hostfwd=tcp:127.0.0.1:{file_port}-:9000"
        )
    });
    let (echo_port, file_port) = ports.get();
    assert!(
        qemu.log.iter().any(|l| l.contains("ready ip=10.0.2.15/24")),
        "{:?}",
        qemu.log
    );

    // Echo: 1 MiB, back byte for byte.
    let payload = data(0xEC40, ECHO_BYTES);
    let t = Instant::now();
    let echoed = exchange(connect(echo_port), payload.clone());
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(echoed.len(), payload.len(), "echoed length");
    assert!(echoed == payload, "echoed bytes differ");
    eprintln!(
        "echo: {} bytes each way in {secs:.2} s ({:.2} MB/s)",
        ECHO_BYTES,
        ECHO_BYTES as f64 / secs / 1e6
    );

    // File: 4 MiB; the firmware's SHA-256 on the UART must be ours.
    let file = data(0xF11E, FILE_BYTES);
    let want = format!(
        "rtcp-firmware: file bytes={FILE_BYTES} sha256={:x}",
        Sha256::digest(&file)
    );
    let t = Instant::now();
    let reply = exchange(connect(file_port), file);
    let secs = t.elapsed().as_secs_f64();
    let uart = qemu.wait_for("rtcp-firmware: file ");
    assert_eq!(uart, want, "SHA-256 reported on the UART");
    // The same line comes back over TCP (without the prefix).
    assert_eq!(
        String::from_utf8_lossy(&reply).trim_end(),
        want.trim_start_matches("rtcp-firmware: file "),
        "report sent back over TCP"
    );
    eprintln!(
        "file: {} bytes in {secs:.2} s ({:.2} MB/s)",
        FILE_BYTES,
        FILE_BYTES as f64 / secs / 1e6
    );
}

/// RFC 1071 checksum.
fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

/// QEMU's default MAC for the first NIC, which the firmware keeps.
const FIRMWARE_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const FIRMWARE_IP: [u8; 4] = [10, 0, 2, 15];
const PEER_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
const PEER_IP: [u8; 4] = [10, 0, 2, 99];

/// An Ethernet frame with an ICMP echo request from PEER to the firmware.
fn echo_request(id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0];
    icmp.extend_from_slice(&id.to_be_bytes());
    icmp.extend_from_slice(&seq.to_be_bytes());
    icmp.extend_from_slice(payload);
    let c = checksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 1, 0, 0];
    ip[2..4].copy_from_slice(&((20 + icmp.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&PEER_IP);
    ip.extend_from_slice(&FIRMWARE_IP);
    let c = checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut frame = FIRMWARE_MAC.to_vec();
    frame.extend_from_slice(&PEER_MAC);
    frame.extend_from_slice(&[0x08, 0x00]);
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&icmp);
    frame
}

#[test]
fn firmware_answers_ping_over_qemu() {
    use std::net::UdpSocket;
    if !qemu_available() {
        return skip("qemu-system-arm not found (apt-get install qemu-system-arm)");
    }
    let elf = match firmware() {
        Ok(p) => p,
        Err(why) => return skip(&why),
    };
    // Our end of the wire is bound first; QEMU's end on a port that was free.
    let wire = UdpSocket::bind("127.0.0.1:0").unwrap();
    wire.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let ours = wire.local_addr().unwrap().port();
    let port = std::cell::Cell::new(0);
    let _qemu = Qemu::start_ready(&elf, || {
        let qemus = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        port.set(qemus);
        format!("socket,model=lan9118,udp=127.0.0.1:{ours},localaddr=127.0.0.1:{qemus}")
    });
    let qemus = port.get();

    let end = Instant::now() + DEADLINE;
    for seq in 1..=3u16 {
        let payload: Vec<u8> = (0..56).map(|i| (i as u8) ^ (seq as u8)).collect();
        let request = echo_request(0xBEEF, seq, &payload);
        // The first request may find the firmware's ARP cache empty: the
        // reply then waits on an ARP request to us, which we answer.
        wire.send_to(&request, ("127.0.0.1", qemus)).unwrap();
        let reply = loop {
            assert!(Instant::now() < end, "no echo reply for seq {seq}");
            let mut buf = [0u8; 2048];
            let Ok((n, _)) = wire.recv_from(&mut buf) else {
                // Lost or not yet resolved: ask again (no sleeping).
                wire.send_to(&request, ("127.0.0.1", qemus)).unwrap();
                continue;
            };
            let f = buf[..n].to_vec();
            if f.len() >= 42 && f[12..14] == [0x08, 0x06] && f[21] == 1 && f[38..42] == PEER_IP {
                // ARP request for us: reply (RFC 826).
                let mut r = f[6..12].to_vec();
                r.extend_from_slice(&PEER_MAC);
                r.extend_from_slice(&[0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 2]);
                r.extend_from_slice(&PEER_MAC);
                r.extend_from_slice(&PEER_IP);
                r.extend_from_slice(&f[22..32]);
                wire.send_to(&r, ("127.0.0.1", qemus)).unwrap();
                continue;
            }
            if f.len() >= 42 && f[12..14] == [0x08, 0x00] && f[23] == 1 && f[34] == 0 {
                break f;
            }
        };
        assert_eq!(&reply[0..6], &PEER_MAC, "to us");
        assert_eq!(&reply[6..12], &FIRMWARE_MAC, "from the firmware");
        let ip = &reply[14..34];
        assert_eq!(checksum(ip), 0, "IPv4 header checksum");
        assert_eq!(&ip[12..16], &FIRMWARE_IP);
        assert_eq!(&ip[16..20], &PEER_IP);
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        let icmp = &reply[34..14 + total];
        assert_eq!(checksum(icmp), 0, "ICMP checksum");
        assert_eq!(&icmp[4..6], &0xBEEFu16.to_be_bytes(), "identifier");
        assert_eq!(&icmp[6..8], &seq.to_be_bytes(), "sequence");
        assert_eq!(&icmp[8..], &payload[..], "payload byte-exact");
    }
    eprintln!("ping: 3 echo requests answered");
}
