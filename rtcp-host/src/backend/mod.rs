//! Where frames come from and go to. One trait, three implementations:
//!
//! - [`packet::PacketBackend`]: an `AF_PACKET` raw socket on a named
//!   interface (through `pnet_datalink`), with large kernel buffers;
//! - [`tap::TapBackend`]: a TAP device, so the Linux kernel of the same host
//!   (or namespace) is the peer;
//! - [`sim::SimBackend`]: one end of an in-process link between two stacks.
//!
//! Fault injection, pacing and pcap capture sit above the trait (see
//! [`crate::link`]), so they work the same on every backend.

pub mod packet;
pub mod sim;
pub mod tap;

use std::io;
use std::os::fd::RawFd;

/// A source and sink of Ethernet frames. Both calls are non-blocking; the
/// kernel thread waits on [`Backend::fd`] when there is nothing to do.
pub trait Backend: Send {
    /// Read one frame into `buf` (replacing its contents). `Ok(false)`
    /// means nothing is waiting.
    fn recv(&mut self, buf: &mut Vec<u8>) -> io::Result<bool>;
    /// Send one frame. `Ok(false)` means the device is full right now: try
    /// again when [`fd`](Backend::fd) polls writable.
    fn send(&mut self, frame: &[u8]) -> io::Result<bool>;
    /// A descriptor that polls readable when frames are waiting (and
    /// writable when there is room to send).
    fn fd(&self) -> RawFd;
    /// IP MTU of the link (Ethernet payload), normally 1500.
    fn mtu(&self) -> usize {
        1500
    }
    /// A short description for messages ("AF_PACKET on veth-a").
    fn describe(&self) -> String;
}

/// A boxed backend is a backend.
impl<B: Backend + ?Sized> Backend for Box<B> {
    fn recv(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        (**self).recv(buf)
    }
    fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
        (**self).send(frame)
    }
    fn fd(&self) -> RawFd {
        (**self).fd()
    }
    fn mtu(&self) -> usize {
        (**self).mtu()
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

/// Whether an I/O error only means "not now".
pub(crate) fn is_would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    ) || e.raw_os_error() == Some(libc::ENOBUFS)
}
