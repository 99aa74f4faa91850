//! Drivers and glue for running rtcp-core on microcontrollers.
//!
//! Each driver implements [`rtcp_core::phy::Device`] and sits behind its own
//! cargo feature, so a firmware links only the one it uses.
#![no_std]

#[cfg(feature = "lan9118")]
pub mod lan9118;
