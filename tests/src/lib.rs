//! Cross-crate test support for rtcp: a deterministic network simulator.
#![allow(clippy::indexing_slicing)]

pub mod apps;
pub mod rng;
pub mod sim;
