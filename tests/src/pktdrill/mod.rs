//! A packetdrill-compatible script runner for rtcp-core.
//!
//! Scripts (the packetdrill language, summarised in
//! `../shared/conformance/README.md`) drive one rtcp [`Interface`] on
//! virtual time: `<` segments are injected from the remote peer, `>`
//! segments must be the next thing the engine sends, and system calls map to
//! the [`SocketSet`] API. See `docs/conformance.md`, "Script conformance
//! (packetdrill)", for what is checked and what is relaxed.
//!
//! [`Interface`]: rtcp_core::iface::Interface
//! [`SocketSet`]: rtcp_core::socket_set::SocketSet

mod harness;
pub mod parse;
mod run;

pub use harness::option_encoding_error;
pub use run::run_script;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Which behaviour profile the engine and the runner take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// rtcp's defaults (`TcpConfig::default()`), everything compared.
    #[default]
    Rfc,
    /// For the FreeBSD suite: FreeBSD's delayed-ACK timer (`ack_delay`
    /// 100 ms), a FIN ACKed at once (`delay_fin_ack` off) and the
    /// window-scale shift not compared (it follows from
    /// FreeBSD's buffer sysctls, not from any RFC).
    FreeBsd,
}

/// Runner settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Config {
    /// Turn every relaxation off (windows and wscale values compared).
    pub strict: bool,
    /// Print every event as it runs.
    pub verbose: bool,
    /// Engine/runner profile.
    pub profile: Profile,
}

/// How a script ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// The first mismatch: script line, what was expected, what happened.
    Fail(String),
    /// A construct the runner does not implement (never a PASS).
    Unsupported(String),
}

/// The result of one script.
#[derive(Debug, Clone)]
pub struct Report {
    pub verdict: Verdict,
    /// Relaxations that made a difference in this run: kind → first example.
    pub relaxations: BTreeMap<String, String>,
    /// Event trace (filled when `verbose`).
    pub trace: Vec<String>,
}

/// Run a script file.
pub fn run_file(path: &Path, config: &Config) -> Report {
    match std::fs::read_to_string(path) {
        Ok(text) => run_script(&text, config),
        Err(e) => Report {
            verdict: Verdict::Fail(format!("cannot read {}: {e}", path.display())),
            relaxations: BTreeMap::new(),
            trace: Vec::new(),
        },
    }
}

/// Every `.pkt` file under `path` (or `path` itself), sorted.
pub fn collect_scripts(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if path.is_dir() {
        if let Ok(entries) = std::fs::read_dir(path) {
            let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            entries.sort();
            for e in entries {
                if e.is_dir() {
                    out.extend(collect_scripts(&e));
                } else if e.extension().is_some_and(|x| x == "pkt") {
                    out.push(e);
                }
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
    out
}
