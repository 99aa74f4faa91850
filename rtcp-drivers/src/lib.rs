//! Drivers and glue for running rtcp-core on microcontrollers.
//!
//! Each driver implements [`rtcp_core::phy::Device`] and sits behind its own
//! cargo feature, so a firmware links only the one it uses. [`shared`] lets
//! an interrupt handler and the main loop share a NIC, a receive queue and
//! the stack itself without `unsafe` in user code. See `PORTING.md` at the
//! repository root for bringing rtcp to a new board.
#![no_std]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

#[cfg(test)]
extern crate std;

#[cfg(feature = "enc28j60")]
pub mod enc28j60;
#[cfg(feature = "lan9118")]
pub mod lan9118;
pub mod shared;
