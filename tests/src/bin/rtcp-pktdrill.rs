//! `rtcp-pktdrill [--strict] [--verbose] [--profile rfc|freebsd]
//! [--expect FILE [--root DIR]] FILE|DIR...`
//!
//! Runs packetdrill scripts against rtcp-core on virtual time and prints one
//! line per script (PASS, FAIL with the first mismatch, or UNSUPPORTED with
//! the construct), the relaxations applied, and `N passed, N failed`.
//! Exit status 1 on any failure — or, with `--expect`, only when a script
//! listed in the expectations file (one path per line, relative to
//! `--root`) no longer passes.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use rtcp_tests::pktdrill::{collect_scripts, run_file, Config, Profile, Verdict};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage: rtcp-pktdrill [--strict] [--verbose] [--profile rfc|freebsd] \
         [--expect FILE [--root DIR]] FILE|DIR...\n\
         \n\
         IP-level annotations after `<` or `>` (packetdrill's):\n\
         \x20 [noecn] [ect0] [ect1] [ce]   the IP ECN field (sent, or checked)\n\
         \x20 [tos 0xNN]                   the whole TOS octet (sent, or checked)\n\
         rtcp extensions:\n\
         \x20 [port N]                     the peer's port for this segment\n\
         \x20 [badcsum]                    `<` only: a wrong TCP checksum\n\
         \x20 [lsrr A B ...] [ssrr A B ...] source route, hops in travel order:\n\
         \x20                              `<` arrives with it completed (recorded);\n\
         \x20                              `>` must be sent to A with it (pointer at B)\n\
         \x20 [ipopt HEX]                  `<` only: IPv4 option bytes as written\n\
         \x20 <..., raw HEX>               `<` only: TCP option bytes as written\n\
         \x20 setsockopt(fd, IPPROTO_IP, IP_OPTIONS, [lsrr A B ...], N)  the\n\
         \x20                              application's source route ([] clears)\n\
         \x20 setsockopt(fd, IPPROTO_IP, IP_TOS, [0xNN], 4)  the DSCP (ECN bits are TCP's)\n\
         \x20 `sysctl -w net.inet.tcp.ecn.enable=0|1|2`, `ecn.maxretries=N`  ECN\n\
         \x20                              off / ask / accept only, for later sockets"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut config = Config::default();
    let mut paths = Vec::new();
    let mut expect: Option<PathBuf> = None;
    let mut root: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--strict" => config.strict = true,
            "--verbose" | "-v" => config.verbose = true,
            "--profile" => match args.next().as_deref() {
                Some("rfc") => config.profile = Profile::Rfc,
                Some("freebsd") => config.profile = Profile::FreeBsd,
                _ => return usage(),
            },
            "--expect" => expect = args.next().map(PathBuf::from),
            "--root" => root = args.next().map(PathBuf::from),
            "-h" | "--help" => return usage(),
            _ if a.starts_with("--") => return usage(),
            _ => paths.push(PathBuf::from(a)),
        }
    }
    if paths.is_empty() {
        return usage();
    }
    let scripts: Vec<PathBuf> = paths.iter().flat_map(|p| collect_scripts(p)).collect();
    let root = root.unwrap_or_else(|| match paths.as_slice() {
        [p] if p.is_dir() => p.clone(),
        _ => PathBuf::new(),
    });
    let name_of = |p: &Path| -> String {
        p.strip_prefix(&root)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };

    let (mut passed, mut failed, mut unsupported) = (0usize, 0usize, 0usize);
    let mut relaxations: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut passing = BTreeSet::new();
    let mut per_dir: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for path in &scripts {
        let name = name_of(path);
        let report = run_file(path, &config);
        let dir = Path::new(&name)
            .parent()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default();
        let top = dir.split('/').next().unwrap_or("").to_string();
        let counts = per_dir.entry(top).or_default();
        for line in &report.trace {
            println!("    {line}");
        }
        match &report.verdict {
            Verdict::Pass => {
                passed += 1;
                counts.0 += 1;
                passing.insert(name.clone());
                println!("PASS {name}");
            }
            Verdict::Fail(why) => {
                failed += 1;
                counts.1 += 1;
                println!("FAIL {name}: {why}");
            }
            Verdict::Unsupported(what) => {
                unsupported += 1;
                counts.2 += 1;
                println!("UNSUPPORTED {name}: {what}");
            }
        }
        for (kind, example) in &report.relaxations {
            if config.verbose {
                println!("    relaxed: {kind} ({example})");
            }
            let e = relaxations
                .entry(kind.clone())
                .or_insert((0, example.clone()));
            e.0 += 1;
        }
    }
    if per_dir.len() > 1 {
        println!();
        for (dir, (p, f, u)) in &per_dir {
            let dir = if dir.is_empty() { "." } else { dir };
            println!("{dir}: {p} passed, {f} failed, {u} unsupported");
        }
    }
    if !relaxations.is_empty() {
        println!();
        println!("Relaxations applied (--strict turns off the window and wscale ones; the rest always apply):");
        for (kind, (n, example)) in &relaxations {
            println!("  {kind}: {n} script(s), e.g. {example}");
        }
    }
    println!();
    println!("{passed} passed, {failed} failed");
    println!("{unsupported} unsupported");

    let Some(expect) = expect else {
        return if failed > 0 || (unsupported > 0 && passed == 0) {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        };
    };
    // Regression mode: only scripts that used to pass may break CI.
    let text = match std::fs::read_to_string(&expect) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {}: {e}", expect.display());
            return ExitCode::from(2);
        }
    };
    let expected: BTreeSet<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let regressions: Vec<&String> = expected.difference(&passing).collect();
    let new: Vec<&String> = passing.difference(&expected).collect();
    println!();
    println!(
        "Expectations ({}): {} expected to pass, {} regressed, {} newly passing",
        expect.display(),
        expected.len(),
        regressions.len(),
        new.len()
    );
    for n in &new {
        println!("  NEW PASS {n} (add it to {})", expect.display());
    }
    for r in &regressions {
        println!("  REGRESSION {r}");
    }
    if regressions.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
