//! `AF_PACKET` on a named interface.
//!
//! The socket is bound to the interface and made promiscuous, so frames to
//! our MAC are seen on any NIC: the stack has its own MAC and IPv4 address,
//! which the Linux kernel does not own, so the kernel never answers for it.
//! Kernel buffers are large (a full 256 KiB window and its retransmissions
//! must not be dropped at the socket).
//!
//! Frames move in batches: one `recvmmsg(2)` reads up to
//! [`sys::BATCH`](crate::sys::BATCH) waiting frames, one `sendmmsg(2)`
//! writes the frames a poll round produced. With one `sendto` per
//! 1514-byte frame, the kernel thread of a sending rtcp-host spent most of
//! its time entering and leaving the kernel (BENCHMARKS.md, veth section).
//!
//! The socket asks for `PACKET_VNET_HDR` (see [`super::vnet`]): on a veth
//! with offloads on, the kernel hands us the peer's frames with partial
//! TCP checksums, and TSO/GRO super-frames of up to 64 KiB. Each read
//! frame comes with a `virtio_net_hdr` saying so, and partial checksums
//! are completed here; the stack then verifies them as usual. Written
//! frames carry an all-zero header (whole frames, checksums done), except
//! TCP super-segments from the stack (TSO, [`Backend::tso_max_size`]),
//! whose header asks the kernel to segment them ([`vnet::tso_header`]):
//! one trip through `sendmmsg` and the veth for up to 64 KiB of data.

use super::vnet::{self, VnetHdr};
use super::{is_would_block, Backend, BackendStats};
use crate::sys;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// Kernel socket buffer size: bursts of a full 256 KiB window (and more,
/// with retransmissions) must not be dropped at the socket.
pub const SOCKET_BUFFER: usize = 8 << 20;

/// Room for one read frame: the `virtio_net_hdr`, and a GSO/GRO frame of
/// up to 64 KiB of IP packet plus its Ethernet header (and a VLAN tag).
const SLOT: usize = vnet::LEN + 65_536 + 18 + 2;

/// Reads in one `recv_batch` call that may return nothing usable before it
/// gives up for this round.
const DROPPED_BATCHES_PER_CALL: usize = 4;

/// The header before every written frame: no offload asked for.
const TX_HDR: [u8; vnet::LEN] = [0; vnet::LEN];

/// An `AF_PACKET` raw socket bound to one interface.
pub struct PacketBackend {
    fd: OwnedFd,
    name: String,
    mtu: usize,
    /// Whether frames carry a `virtio_net_hdr` (the kernel took
    /// `PACKET_VNET_HDR`; it has since Linux 3.13).
    vnet: bool,
    /// `BATCH` read slots of `SLOT` bytes.
    area: Vec<u8>,
    lens: [usize; sys::BATCH],
    stats: BackendStats,
}

impl std::fmt::Debug for PacketBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacketBackend")
            .field("iface", &self.name)
            .field("fd", &self.fd)
            .field("vnet", &self.vnet)
            .finish()
    }
}

/// Why an interface could not be opened, worded for a one-line error.
pub fn open_error(name: &str, e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => {
            format!("opening a raw socket on {name} needs root (or CAP_NET_RAW): {e}")
        }
        Some(libc::ENETDOWN) => format!("interface {name} is down: {e}"),
        _ => format!("cannot open {name}: {e}"),
    }
}

impl PacketBackend {
    /// Open `name`. Errors: `NotFound` if there is no such interface,
    /// `PermissionDenied` without root/CAP_NET_RAW.
    pub fn open(name: &str) -> io::Result<PacketBackend> {
        let index = sys::if_index(name)?;
        let (fd, vnet) = sys::packet_socket(SOCKET_BUFFER, true)?;
        sys::packet_bind(fd.as_raw_fd(), index)?;
        let mtu = sys::if_mtu(name);
        Ok(PacketBackend {
            fd,
            name: name.to_string(),
            mtu,
            vnet,
            area: vec![0; SLOT * sys::BATCH],
            lens: [0; sys::BATCH],
            stats: BackendStats::default(),
        })
    }

    /// Whether read frames come with a `virtio_net_hdr`, so partial
    /// checksums and super-frames from offloading peers are handled.
    pub fn has_vnet_hdr(&self) -> bool {
        self.vnet
    }

    /// Turn read slot `i` (of length `len`) into a whole frame in `buf`;
    /// `false` if it is dropped.
    fn take(&mut self, i: usize, len: usize, buf: &mut Vec<u8>) -> bool {
        let Some(bytes) = self
            .area
            .get(i * SLOT..)
            .and_then(|slot| slot.get(..len.min(SLOT)))
        else {
            return false;
        };
        buf.clear();
        if !self.vnet {
            buf.extend_from_slice(bytes);
            return true;
        }
        let (Some(hdr), Some(frame)) = (VnetHdr::parse(bytes), bytes.get(vnet::LEN..)) else {
            return false;
        };
        buf.extend_from_slice(frame);
        match vnet::finish_rx(&hdr, buf) {
            Ok(vnet::Finished::Completed) => self.stats.rx_csum_completed += 1,
            Ok(vnet::Finished::Refilled) => self.stats.rx_csum_refilled += 1,
            Ok(vnet::Finished::AsIs) => {}
            Err(_) => return false,
        }
        if hdr.gso_type != vnet::GSO_NONE {
            self.stats.rx_super_frames += 1;
        }
        true
    }
}

/// Largest IPv4 packet handed to the kernel as one TCP super-segment (the
/// IPv4 total length field's limit, as Linux's own `GSO_MAX_SIZE`).
pub const TSO_MAX_SIZE: usize = 65_535;

impl Backend for PacketBackend {
    fn recv(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        Ok(self.recv_batch(std::slice::from_mut(buf))? == 1)
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
        Ok(self.send_batch(&[frame])? == 1)
    }

    fn recv_batch(&mut self, bufs: &mut [Vec<u8>]) -> io::Result<usize> {
        let want = bufs.len().min(sys::BATCH);
        // A batch whose every frame is dropped is followed by another read,
        // but only a few times: a stream of unusable frames must not keep
        // the kernel thread here (the fd stays readable; the next round
        // reads on).
        for _ in 0..DROPPED_BATCHES_PER_CALL {
            let got = match sys::recv_many(
                self.fd.as_raw_fd(),
                &mut self.area,
                SLOT,
                self.lens.get_mut(..want).unwrap_or_default(),
            ) {
                Ok(got) => got,
                // With PACKET_VNET_HDR the kernel refuses (EINVAL) a GSO
                // frame its header cannot describe (SCTP, ESP; UDP on older
                // kernels), consuming it: one frame dropped, not a dead link.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    self.stats.rx_dropped += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if got == 0 {
                return Ok(0);
            }
            self.stats.rx_calls += 1;
            let mut n = 0;
            for i in 0..got {
                let len = self.lens.get(i).copied().unwrap_or(usize::MAX);
                let Some(buf) = bufs.get_mut(n) else { break };
                if len != usize::MAX && self.take(i, len, buf) {
                    n += 1;
                } else {
                    self.stats.rx_dropped += 1;
                }
            }
            self.stats.rx_frames += n as u64;
            // All of this batch dropped: read on, more may be waiting.
            if n > 0 {
                return Ok(n);
            }
        }
        Ok(0)
    }

    fn send_batch(&mut self, frames: &[&[u8]]) -> io::Result<usize> {
        let prefix: &[u8] = if self.vnet { &TX_HDR } else { &[] };
        match sys::send_many(self.fd.as_raw_fd(), prefix, frames) {
            Ok(n) => {
                if n > 0 {
                    self.stats.tx_calls += 1;
                    self.stats.tx_frames += n as u64;
                }
                Ok(n)
            }
            Err(e) if is_would_block(&e) => Ok(0),
            Err(e) => Err(e),
        }
    }

    fn tso_max_size(&self) -> usize {
        // The virtio_net_hdr is how the kernel is told to segment.
        if self.vnet {
            TSO_MAX_SIZE
        } else {
            0
        }
    }

    fn send_batch_segmented(
        &mut self,
        frames: &mut [&mut [u8]],
        segment_sizes: &[u16],
    ) -> io::Result<usize> {
        if !self.vnet {
            let frames: Vec<&[u8]> = frames.iter().map(|f| &**f).collect();
            return self.send_batch(&frames);
        }
        let n = frames.len().min(sys::BATCH);
        let mut hdrs = [TX_HDR; sys::BATCH];
        let mut supers = [false; sys::BATCH];
        for (i, frame) in frames.iter_mut().take(n).enumerate() {
            let size = segment_sizes.get(i).copied().unwrap_or(0);
            if size == 0 {
                continue;
            }
            // Not TCP/IPv4 (never, from the stack): sent as it is, and
            // refused by the kernel if too long.
            if let Some(hdr) = vnet::tso_header(frame, size) {
                if let (Some(h), Some(s)) = (hdrs.get_mut(i), supers.get_mut(i)) {
                    *h = hdr.to_bytes();
                    *s = hdr.gso_type != vnet::GSO_NONE;
                }
            }
        }
        let mut prefixes: [&[u8]; sys::BATCH] = [&[]; sys::BATCH];
        let mut bufs: [&[u8]; sys::BATCH] = [&[]; sys::BATCH];
        for (i, frame) in frames.iter().take(n).enumerate() {
            if let (Some(p), Some(b), Some(h)) = (prefixes.get_mut(i), bufs.get_mut(i), hdrs.get(i))
            {
                *p = h;
                *b = frame;
            }
        }
        match sys::send_many_prefixed(
            self.fd.as_raw_fd(),
            prefixes.get(..n).unwrap_or_default(),
            bufs.get(..n).unwrap_or_default(),
        ) {
            Ok(sent) => {
                if sent > 0 {
                    self.stats.tx_calls += 1;
                    self.stats.tx_frames += sent as u64;
                    let supers = supers.iter().take(sent).filter(|s| **s).count();
                    self.stats.tx_super_frames += supers as u64;
                }
                Ok(sent)
            }
            Err(e) if is_would_block(&e) => Ok(0),
            Err(e) => Err(e),
        }
    }

    fn stats(&self) -> BackendStats {
        self.stats
    }

    fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn describe(&self) -> String {
        format!("AF_PACKET on {}", self.name)
    }
}
