//! Where frames come from and go to. One trait, four implementations:
//!
//! - [`packet::PacketBackend`]: an `AF_PACKET` raw socket on a named
//!   interface, with large kernel buffers, frames read and written in
//!   batches (`recvmmsg`/`sendmmsg`), and the kernel's offloaded frames
//!   (partial checksums, GRO/TSO super-frames) made whole ([`vnet`]);
//! - [`pnet::PnetBackend`]: the same socket through `pnet_datalink`, one
//!   system call per frame and no offloads (`rtcp-host --pnet`);
//! - [`tap::TapBackend`]: a TAP device, so the Linux kernel of the same host
//!   (or namespace) is the peer;
//! - [`sim::SimBackend`]: one end of an in-process link between two stacks.
//!
//! Fault injection, pacing and pcap capture sit above the trait (see
//! [`crate::link`]), so they work the same on every backend.

pub mod packet;
pub mod pnet;
pub mod sim;
pub mod tap;
pub mod vnet;

use std::io;
use std::os::fd::RawFd;

/// What a backend counts of its own work (zero where it does not apply).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackendStats {
    /// Frames read.
    pub rx_frames: u64,
    /// System calls that read them (`recvmmsg` calls that returned frames).
    pub rx_calls: u64,
    /// Frames written.
    pub tx_frames: u64,
    /// System calls that wrote them (`sendmmsg` calls that sent frames).
    pub tx_calls: u64,
    /// Read frames whose partial checksum (offloaded by the sender) was
    /// completed in user space.
    pub rx_csum_completed: u64,
    /// Read super-frames whose stale TCP checksum (NIC LRO; the kernel
    /// vouched for the data) was computed afresh.
    pub rx_csum_refilled: u64,
    /// Read frames that were TSO/GRO super-frames (larger than the MTU),
    /// handed to the stack whole.
    pub rx_super_frames: u64,
    /// Read frames dropped: longer than a read buffer, or with checksum
    /// offsets outside the frame.
    pub rx_dropped: u64,
    /// Written TCP super-segments, handed to the kernel to segment (TSO:
    /// `GSO_TCPV4` in the `virtio_net_hdr`, see [`vnet::tso_header`]).
    pub tx_super_frames: u64,
}

/// A source and sink of Ethernet frames. Both calls are non-blocking; the
/// kernel thread waits on [`Backend::fd`] when there is nothing to do.
pub trait Backend: Send {
    /// Read one frame into `buf` (replacing its contents). `Ok(false)`
    /// means nothing is waiting.
    fn recv(&mut self, buf: &mut Vec<u8>) -> io::Result<bool>;
    /// Send one frame. `Ok(false)` means the device is full right now: try
    /// again when [`fd`](Backend::fd) polls writable.
    fn send(&mut self, frame: &[u8]) -> io::Result<bool>;
    /// Read up to `bufs.len()` frames, the i-th into `bufs[i]` (replacing
    /// its contents); returns how many (0: nothing is waiting). The
    /// default calls [`recv`](Backend::recv) for each; a backend that can
    /// read many frames in one system call overrides it.
    fn recv_batch(&mut self, bufs: &mut [Vec<u8>]) -> io::Result<usize> {
        let mut n = 0;
        for buf in bufs.iter_mut() {
            match self.recv(buf) {
                Ok(true) => n += 1,
                Ok(false) => break,
                // The error comes back on the next call; hand over what
                // was read first.
                Err(_) if n > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }
    /// Send `frames` in order. `Ok(n)`: the first `n` were sent; when `n`
    /// is short the device is full (`Ok(0)`: not one fit; wait until
    /// [`fd`](Backend::fd) polls writable), or the frame after them fails,
    /// which the next call reports. `Err`: the first frame cannot be sent
    /// (the caller drops it). The default calls [`send`](Backend::send) for
    /// each; a backend that can send many frames in one system call
    /// overrides it.
    fn send_batch(&mut self, frames: &[&[u8]]) -> io::Result<usize> {
        let mut n = 0;
        for frame in frames {
            match self.send(frame) {
                Ok(true) => n += 1,
                Ok(false) => break,
                Err(_) if n > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }
    /// TCP segmentation offload: the largest IPv4 packet the backend
    /// takes as a TCP super-segment through
    /// [`send_batch_segmented`](Backend::send_batch_segmented), 0 (the
    /// default) for none.
    fn tso_max_size(&self) -> usize {
        0
    }
    /// [`send_batch`](Backend::send_batch), where `segment_sizes[i]`, when
    /// not 0, says that `frames[i]` is an Ethernet/IPv4/TCP super-segment
    /// (its TCP checksum complete, as the stack computed it) to be cut
    /// into segments of that many payload bytes below us. The frames may
    /// be changed in place (checksum fields), the same way on every retry.
    /// Only called on a backend whose
    /// [`tso_max_size`](Backend::tso_max_size) is not 0; the default sends
    /// the frames as they are.
    fn send_batch_segmented(
        &mut self,
        frames: &mut [&mut [u8]],
        segment_sizes: &[u16],
    ) -> io::Result<usize> {
        let _ = segment_sizes;
        let frames: Vec<&[u8]> = frames.iter().map(|f| &**f).collect();
        self.send_batch(&frames)
    }
    /// The backend's own counters (all zero by default).
    fn stats(&self) -> BackendStats {
        BackendStats::default()
    }
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
    fn recv_batch(&mut self, bufs: &mut [Vec<u8>]) -> io::Result<usize> {
        (**self).recv_batch(bufs)
    }
    fn send_batch(&mut self, frames: &[&[u8]]) -> io::Result<usize> {
        (**self).send_batch(frames)
    }
    fn tso_max_size(&self) -> usize {
        (**self).tso_max_size()
    }
    fn send_batch_segmented(
        &mut self,
        frames: &mut [&mut [u8]],
        segment_sizes: &[u16],
    ) -> io::Result<usize> {
        (**self).send_batch_segmented(frames, segment_sizes)
    }
    fn stats(&self) -> BackendStats {
        (**self).stats()
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
