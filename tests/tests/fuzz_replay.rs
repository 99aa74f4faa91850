//! Replays every fuzz corpus entry and every saved crash through the fuzz
//! targets' shared logic (`rtcp_tests::fuzz`), on stable and without
//! libFuzzer, so a regression fails `cargo test` everywhere.
//!
//! Inputs live in `rtcp-fuzz/corpus/<target>/` (seeds) and
//! `rtcp-fuzz/regressions/<target>/` (crashes found, kept after the fix).

use rtcp_tests::fuzz;
use std::path::PathBuf;

fn dir(kind: &str, target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../rtcp-fuzz")
        .join(kind)
        .join(target)
}

fn replay(target: &str, f: fn(&[u8])) {
    let corpus = fuzz::replay_dir(&dir("corpus", target), f);
    let regressions = fuzz::replay_dir(&dir("regressions", target), f);
    assert!(corpus > 0, "no corpus for fuzz target {target}");
    eprintln!("{target}: {corpus} corpus entries, {regressions} regressions replayed");
}

#[test]
fn segment_corpus_and_regressions() {
    replay("segment", fuzz::segment);
}

#[test]
fn fsm_corpus_and_regressions() {
    replay("fsm", fuzz::fsm_bytes);
}

#[test]
fn stack_corpus_and_regressions() {
    replay("stack", fuzz::stack);
}

#[test]
fn empty_and_tiny_inputs() {
    for data in [&[][..], &[0], &[0xff; 3], &[1; 64]] {
        fuzz::segment(data);
        fuzz::fsm_bytes(data);
        fuzz::stack(data);
    }
}
