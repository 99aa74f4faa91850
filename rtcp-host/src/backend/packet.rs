//! `AF_PACKET` on a named interface, through `pnet_datalink`.
//!
//! The socket is made here (so that its kernel buffers can be enlarged and
//! its descriptor polled) and handed to `pnet_datalink::channel` through
//! `Config::socket_fd`, which binds it to the interface and makes it
//! non-blocking. The stack has its own MAC and IPv4 address, which the
//! Linux kernel does not own, so the kernel never answers for it; the
//! socket is promiscuous so frames to our MAC are seen on any NIC.

use super::{is_would_block, Backend};
use pnet_datalink::{Channel, DataLinkReceiver, DataLinkSender, NetworkInterface};
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

/// Kernel socket buffer size: bursts of a full 256 KiB window (and more,
/// with retransmissions) must not be dropped at the socket.
pub const SOCKET_BUFFER: usize = 8 << 20;

/// An `AF_PACKET` raw socket bound to one interface.
pub struct PacketBackend {
    tx: Box<dyn DataLinkSender>,
    rx: Box<dyn DataLinkReceiver>,
    fd: RawFd,
    iface: NetworkInterface,
    mtu: usize,
}

impl std::fmt::Debug for PacketBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacketBackend")
            .field("iface", &self.iface.name)
            .field("fd", &self.fd)
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
        let iface = pnet_datalink::interfaces()
            .into_iter()
            .find(|i| i.name == name)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no interface named {name}"),
                )
            })?;
        let fd = crate::sys::packet_socket(SOCKET_BUFFER)?;
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
        let mtu = std::fs::read_to_string(format!("/sys/class/net/{name}/mtu"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1500);
        Ok(PacketBackend {
            tx,
            rx,
            fd,
            iface,
            mtu,
        })
    }
}

impl Backend for PacketBackend {
    fn recv(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        match self.rx.next() {
            Ok(frame) => {
                buf.clear();
                buf.extend_from_slice(frame);
                Ok(true)
            }
            Err(e) if is_would_block(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
        match self.tx.send_to(frame, None) {
            Some(Ok(())) => Ok(true),
            Some(Err(e)) if is_would_block(&e) => Ok(false),
            Some(Err(e)) => Err(e),
            None => Ok(false),
        }
    }

    fn fd(&self) -> RawFd {
        self.fd
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn describe(&self) -> String {
        format!("AF_PACKET on {}", self.iface.name)
    }
}
