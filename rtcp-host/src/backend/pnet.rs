//! `AF_PACKET` on a named interface through `pnet_datalink`: the portable
//! path (`rtcp-host --pnet`).
//!
//! One system call per frame and no offload support: the Linux peer must
//! checksum its frames (tx checksum offload off on a veth peer) and GRO
//! must be off on our interface, or frames arrive partial or coalesced and
//! the stack drops them. [`super::packet::PacketBackend`], the default,
//! batches its system calls and makes offloaded frames whole; this one is
//! kept for `pnet_datalink`'s reach (it is the crate a port to another
//! Unix would start from) and as the reference the faster backend is
//! measured against.
//!
//! The socket is made by [`crate::sys::packet_socket`] (so that its kernel
//! buffers are enlarged and its descriptor can be polled) and handed to
//! `pnet_datalink::channel` through `Config::socket_fd`, which binds it to
//! the interface for every EtherType, makes it promiscuous and owns it from
//! then on.

use super::packet::SOCKET_BUFFER;
use super::{is_would_block, Backend, BackendStats};
use pnet_datalink::{Channel, DataLinkReceiver, DataLinkSender, NetworkInterface};
use std::io;
use std::os::fd::{IntoRawFd, RawFd};
use std::time::Duration;

/// An `AF_PACKET` raw socket bound to one interface, through `pnet_datalink`.
pub struct PnetBackend {
    tx: Box<dyn DataLinkSender>,
    rx: Box<dyn DataLinkReceiver>,
    fd: RawFd,
    iface: NetworkInterface,
    mtu: usize,
    stats: BackendStats,
}

impl std::fmt::Debug for PnetBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PnetBackend")
            .field("iface", &self.iface.name)
            .field("fd", &self.fd)
            .finish()
    }
}

impl PnetBackend {
    /// Open `name`. Errors: `NotFound` if there is no such interface,
    /// `PermissionDenied` without root/CAP_NET_RAW.
    pub fn open(name: &str) -> io::Result<PnetBackend> {
        let iface = pnet_datalink::interfaces()
            .into_iter()
            .find(|i| i.name == name)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no interface named {name}"),
                )
            })?;
        // No virtio-net header: pnet hands frames over as they are.
        let (fd, _) = crate::sys::packet_socket(SOCKET_BUFFER, false)?;
        let fd = fd.into_raw_fd();
        let config = pnet_datalink::Config {
            write_buffer_size: 65_536,
            read_buffer_size: 65_536,
            read_timeout: Some(Duration::ZERO),
            write_timeout: Some(Duration::ZERO),
            promiscuous: true,
            socket_fd: Some(fd),
            ..pnet_datalink::Config::default()
        };
        let (tx, rx) = match pnet_datalink::channel(&iface, config)? {
            Channel::Ethernet(tx, rx) => (tx, rx),
            _ => return Err(io::Error::other("pnet_datalink: unexpected channel type")),
        };
        let mtu = crate::sys::if_mtu(name);
        Ok(PnetBackend {
            tx,
            rx,
            fd,
            iface,
            mtu,
            stats: BackendStats::default(),
        })
    }
}

impl Backend for PnetBackend {
    fn recv(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        match self.rx.next() {
            Ok(frame) => {
                buf.clear();
                buf.extend_from_slice(frame);
                self.stats.rx_frames += 1;
                self.stats.rx_calls += 1;
                Ok(true)
            }
            Err(e) if is_would_block(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
        match self.tx.send_to(frame, None) {
            Some(Ok(())) => {
                self.stats.tx_frames += 1;
                self.stats.tx_calls += 1;
                Ok(true)
            }
            Some(Err(e)) if is_would_block(&e) => Ok(false),
            Some(Err(e)) => Err(e),
            None => Ok(false),
        }
    }

    fn stats(&self) -> BackendStats {
        self.stats
    }

    fn fd(&self) -> RawFd {
        self.fd
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn describe(&self) -> String {
        format!("AF_PACKET on {} (pnet_datalink)", self.iface.name)
    }
}
