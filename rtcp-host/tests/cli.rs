//! The `rtcp-host` command: the no-root `sim` mode and one-line errors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rtcp-host"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn sim_transfers_over_a_lossy_link() {
    let o = run(&[
        "sim",
        "--size",
        "4M",
        "--loss",
        "1%",
        "--delay",
        "2ms",
        "--reorder",
        "1%",
        "--duplicate",
        "1%",
        "--connections",
        "2",
        "--seed",
        "3",
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("OK: SHA-256 equal on both ends"), "{out}");
    assert_eq!(out.matches("received 4194304 bytes").count(), 2, "{out}");
}

#[test]
fn sim_with_bandwidth_and_pcap() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("sim.pcap");
    let o = run(&[
        "sim",
        "--size",
        "2M",
        "--bandwidth",
        "50Mbit",
        "--delay",
        "1ms",
        "--pcap",
        pcap.to_str().unwrap(),
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    let bytes = std::fs::read(&pcap).unwrap();
    assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
    assert!(bytes.len() > 2 << 20, "capture too short: {}", bytes.len());
}

fn one_line_error(o: &Output, needle: &str) {
    let (out, err) = text(o);
    assert_eq!(o.status.code(), Some(1), "{out}\n{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "not one line: {err:?}");
    assert!(lines[0].starts_with("rtcp-host: error: "), "{err}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn clear_errors() {
    let o = run(&[
        "client",
        "--iface",
        "rtcp-no-such-if",
        "--ip",
        "10.9.0.2/24",
        "--connect",
        "10.9.0.1:5001",
        "--file",
        "/etc/hostname",
    ]);
    one_line_error(&o, "interface rtcp-no-such-if not found");
    let o = run(&[
        "client",
        "--iface",
        "lo",
        "--ip",
        "10.9.0.2/24",
        "--connect",
        "10.9.0.1:5001",
        "--file",
        "/nonexistent/file",
    ]);
    one_line_error(&o, "cannot read /nonexistent/file");
    let o = run(&[
        "server",
        "--iface",
        "lo",
        "--ip",
        "10.9.0.2/24",
        "--port",
        "5001",
        "--out",
        "/nonexistent/dir/out.bin",
    ]);
    one_line_error(&o, "cannot write /nonexistent/dir/out.bin");
}

#[test]
fn help_reads_well() {
    let o = run(&["--help"]);
    let (out, _) = text(&o);
    assert!(o.status.success());
    for sub in ["server", "client", "sim", "lab"] {
        assert!(out.contains(sub), "{out}");
    }
    let o = run(&["server", "--help"]);
    let (out, _) = text(&o);
    for flag in [
        "--iface",
        "--ip",
        "--gateway",
        "--port",
        "--out",
        "--loss",
        "--pcap",
    ] {
        assert!(out.contains(flag), "{out}");
    }
}
