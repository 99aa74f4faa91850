//! rtcp-host: the Linux harness around the `rtcp-core` engine.
//!
//! - [`kernel`]: the kernel thread that owns the stack, and how it sleeps
//!   (`ppoll` on the backend's descriptor plus an eventfd, with the
//!   stack's next timer as the timeout);
//! - [`api`]: [`NetStack`], [`TcpListener`], [`TcpStream`] — blocking,
//!   `std::net`-shaped, `std::io::Read`/`Write`, usable from many threads;
//! - [`backend`]: AF_PACKET (batched, offload-aware), TAP, and an in-process
//!   simulated link;
//! - [`link`]: seeded fault injection (loss, delay, reordering,
//!   duplication, bandwidth) and pcap capture, on every backend.
//!
//! ```
//! use rtcp_host::{backend::sim::SimBackend, NetStack, StackConfig, TcpListener, TcpStream};
//! use rtcp_core::wire::{Ipv4Address, Ipv4Cidr};
//! use std::io::{Read, Write};
//! # fn main() -> std::io::Result<()> {
//! let (a, b) = SimBackend::pair()?;
//! let server = NetStack::new(b, StackConfig::new(Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, 2), 24)))?;
//! let client = NetStack::new(a, StackConfig::new(Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, 1), 24)))?;
//! let listener = TcpListener::bind(&server, "0.0.0.0:7")?;
//! let mut c = TcpStream::connect(&client, "10.0.0.2:7")?;
//! let (mut s, _) = listener.accept()?;
//! c.write_all(b"hello")?;
//! c.shutdown(std::net::Shutdown::Write)?;
//! let mut got = Vec::new();
//! s.read_to_end(&mut got)?;
//! assert_eq!(got, b"hello");
//! # Ok(()) }
//! ```

pub mod api;
pub mod backend;
pub mod bridge;
pub mod kernel;
pub mod link;
pub mod pcap;
pub mod sys;

pub use api::{NetStack, StackConfig, TcpListener, TcpStream};
pub use kernel::{ConnInfo, StackStats};
