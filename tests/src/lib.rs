//! Cross-crate test support for rtcp: a deterministic network simulator.
// Test support: failing loudly is the point here.
#![allow(
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic
)]

pub mod apps;
pub mod fuzz;
pub mod pktdrill;
pub mod rng;
pub mod sim;
