//! # rtcp-core
//!
//! A `no_std`, allocation-free, sans-IO TCP/IP engine: Ethernet II, ARP, IPv4,
//! ICMPv4 echo and TCP (RFC 9293 with its companions).
//!
//! The engine never reads a clock, sleeps, allocates or performs I/O. The
//! caller hands it received frames and the current time through
//! [`iface::Interface::poll`], and asks [`iface::Interface::poll_at`] when it
//! next needs to run. Everything it sends leaves through the [`phy::Device`]
//! it is handed.
//!
//! Layers, one module each:
//! - [`wire`]: checked zero-copy views and plain `Repr`s for each format.
//! - [`phy`]: the device trait (receive and transmit tokens).
//! - [`iface`]: ARP cache, IPv4 in/out, ICMP echo, demultiplexing to sockets.
//! - [`tcp`]: the TCP engine (state machine, timers, buffers, recovery).
//! - [`socket_set`]: fixed socket table with generational handles.
#![no_std]
#![forbid(unsafe_code)]
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

#[macro_use]
mod macros;

pub mod iface;
pub mod phy;
pub mod socket_set;
pub mod tcp;
pub mod time;
pub mod wire;

/// Marks the branch that calls it as rarely taken, so that the compiler
/// lays its code out after the function's usual path instead of among it
/// (`core::hint::cold_path` is newer than the crate's minimum Rust). On
/// 64-bit hosts only, where the instruction cache is the concern: the
/// connection-rate benchmark runs about 600 distinct 64-byte code lines
/// per connection, a third of them there only because untaken branches
/// share their lines (BENCHMARKS.md, "Session 17: connection rate").
/// On 32-bit targets an empty inline function, which changes nothing.
#[cfg_attr(target_pointer_width = "64", cold, inline(never))]
#[cfg_attr(not(target_pointer_width = "64"), inline(always))]
pub(crate) fn cold_path() {}

/// One more of a statistics counter. Out of line on 32-bit targets, where
/// a `u64` increment (two loads, an add with carry, two stores) inlined at
/// each of some fifty counting sites cost more flash than the calls
/// (issue 9); inlined on 64-bit hosts.
#[cfg_attr(target_pointer_width = "64", inline)]
#[cfg_attr(target_pointer_width = "32", inline(never))]
pub(crate) fn count(counter: &mut u64) {
    *counter += 1;
}
