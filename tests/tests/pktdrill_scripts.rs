//! Our own packetdrill scripts (`tests/scripts/`) through the rtcp-pktdrill
//! runner, plus the FreeBSD suite against its committed expectations when
//! `../shared/conformance/` is present.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rtcp_tests::pktdrill::{
    collect_scripts, option_encoding_error, run_file, run_script, Config, Verdict,
};
use std::path::{Path, PathBuf};

fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts")
}

// The scripts are written for every default feature (SACK, timestamps
// with RACK, urgent data, ...).
#[test]
#[cfg(feature = "full")]
fn our_scripts_pass() {
    let dir = scripts_dir();
    let scripts: Vec<PathBuf> = collect_scripts(&dir)
        .into_iter()
        .filter(|p| !p.starts_with(dir.join("pending")))
        .collect();
    assert!(scripts.len() >= 55, "scripts missing: {}", scripts.len());
    // Ours are written for rtcp: windows are compared too (--strict).
    let strict = Config {
        strict: true,
        ..Config::default()
    };
    let mut failures = Vec::new();
    for s in &scripts {
        let report = run_file(s, &strict);
        if report.verdict != Verdict::Pass {
            failures.push(format!("{}: {:?}", s.display(), report.verdict));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Scripts for known engine bugs: they must still fail (move a script out
/// of `pending/` once the bug is fixed).
#[test]
fn pending_scripts_still_fail() {
    for s in collect_scripts(&scripts_dir().join("pending")) {
        let report = run_file(&s, &Config::default());
        assert!(
            matches!(report.verdict, Verdict::Fail(_)),
            "{} now passes: move it to tests/scripts/",
            s.display()
        );
    }
}

const HANDSHAKE: &str = "\
0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0.000 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0.000 bind(3, ..., ...) = 0
+0.000 listen(3, 1) = 0
+0.000 < S 0:0(0) win 65535 <mss 1460>
+0.000 > S. 0:0(0) ack 1 win 65535 <mss 1460>
+0.010 < . 1:1(0) ack 1 win 65535
+0.000 accept(3, ..., ...) = 4
";

fn verdict(tail: &str) -> Verdict {
    run_script(&format!("{HANDSHAKE}{tail}"), &Config::default()).verdict
}

/// The runner must catch mismatches, not only pass things.
#[test]
fn runner_detects_mismatches() {
    assert_eq!(
        verdict("+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 1\n"),
        Verdict::Pass
    );
    for bad in [
        "+0 write(4, ..., 10) = 10\n+0 > P. 1:12(11) ack 1\n",
        "+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 2\n",
        "+0 write(4, ..., 10) = 10\n+0 > F. 1:11(10) ack 1\n",
        "+0 write(4, ..., 10) = 10\n+0.5 > P. 1:11(10) ack 1\n",
        "+0 write(4, ..., 10) = 9\n",
        "+0 read(4, ..., 10) = 0\n",
        "+0 %{ assert tcpi_state == TCPI_CLOSE_WAIT }%\n",
        "+0 getsockopt(4, SOL_SOCKET, SO_ERROR, [ECONNRESET], [4]) = 0\n",
        "+0 > . 1:1(0) ack 1\n",
        // [port N] (rtcp extension): a segment to another peer port fails.
        "+0 write(4, ..., 10) = 10\n+0 >[port 5001] P. 1:11(10) ack 1\n",
        // Urgent pointer compared when given; URG is a flag like the others.
        "+0 send(4, ..., 10, MSG_OOB) = 10\n+0 > P.U 1:11(10) ack 1 urg 9\n",
        "+0 send(4, ..., 10, MSG_OOB) = 10\n+0 > P. 1:11(10) ack 1\n",
    ] {
        assert!(
            matches!(verdict(bad), Verdict::Fail(_)),
            "not caught: {bad}"
        );
    }
    // Options by meaning: our SYN-ACK's MSS is compared.
    let wrong_mss = HANDSHAKE.replace(
        "> S. 0:0(0) ack 1 win 65535 <mss 1460>",
        "> S. 0:0(0) ack 1 <mss 1400>",
    );
    assert!(matches!(
        run_script(&wrong_mss, &Config::default()).verdict,
        Verdict::Fail(_)
    ));
    // Windows only under --strict.
    let tail = "+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 1 win 1234\n";
    assert_eq!(verdict(tail), Verdict::Pass);
    let strict = Config {
        strict: true,
        ..Config::default()
    };
    let v = run_script(&format!("{HANDSHAKE}{tail}"), &strict).verdict;
    assert!(matches!(v, Verdict::Fail(_)));
    // tcpi_options: the handshake above negotiates nothing.
    assert_eq!(
        verdict("+0 %{ assert tcpi_options == 0 }%\n"),
        Verdict::Pass
    );
    assert!(matches!(
        verdict("+0 %{ assert tcpi_options == 2 }%\n"),
        Verdict::Fail(_)
    ));
    // Python beyond tcpi_state/tcpi_options is UNSUPPORTED, never PASS.
    assert!(matches!(
        verdict("+0 %{ assert tcpi_rto == 1000 }%\n"),
        Verdict::Unsupported(_)
    ));
}

/// The FreeBSD suite: every script listed in `freebsd-expected.txt` must
/// still pass (skipped when the shared suite is not checked out beside us).
// Written for every default feature too.
#[test]
#[cfg(feature = "full")]
fn freebsd_suite_no_regressions() {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/conformance/freebsd-tcp-testsuite");
    if !suite.is_dir() {
        eprintln!("SKIP: {} not found", suite.display());
        return;
    }
    let expected = std::fs::read_to_string(scripts_dir().join("freebsd-expected.txt")).unwrap();
    let config = Config {
        profile: rtcp_tests::pktdrill::Profile::FreeBsd,
        ..Config::default()
    };
    let mut regressions = Vec::new();
    for name in expected
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let report = run_file(&suite.join(name), &config);
        if report.verdict != Verdict::Pass {
            regressions.push(format!("{name}: {:?}", report.verdict));
        }
    }
    assert!(regressions.is_empty(), "{}", regressions.join("\n"));
}

/// The byte-level option check the runner applies to every segment we send
/// (MUST-68 lengths, MUST-69 zero padding).
#[test]
fn option_bytes_are_checked() {
    // MSS, NOP, wscale, SACK-permitted, EOL + zero padding: fine.
    assert_eq!(
        option_encoding_error(&[2, 4, 5, 180, 1, 3, 3, 0, 4, 2, 0, 0]),
        None
    );
    assert_eq!(option_encoding_error(&[]), None);
    // Padding after EOL that is not zero.
    assert!(option_encoding_error(&[2, 4, 5, 180, 0, 1, 0, 0]).is_some());
    // A length that runs past the end, a length below 2, no length at all.
    assert!(option_encoding_error(&[2, 8, 5, 180]).is_some());
    assert!(option_encoding_error(&[8, 1, 0, 0]).is_some());
    assert!(option_encoding_error(&[1, 1, 1, 4]).is_some());
}
