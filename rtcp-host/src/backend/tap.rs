//! A TAP device: the Linux kernel of the same host (or network namespace)
//! is on the other end. Create it, then give the kernel side an address:
//!
//! ```text
//! rtcp-host server --tap tap0 --ip 10.78.0.2/24 ...   # creates tap0
//! ip addr add 10.78.0.1/24 dev tap0 && ip link set tap0 up
//! ```

use super::{is_would_block, Backend};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

/// A TAP interface.
pub struct TapBackend {
    file: File,
    name: String,
    mtu: usize,
    /// Where a frame is read before it is copied out: one 64 KiB buffer
    /// for the backend's life, instead of zero-filling the caller's buffer
    /// to 64 KiB for every frame.
    scratch: Vec<u8>,
}

impl std::fmt::Debug for TapBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapBackend")
            .field("file", &self.file)
            .field("name", &self.name)
            .field("mtu", &self.mtu)
            .finish()
    }
}

impl TapBackend {
    /// Open (creating if needed) the TAP interface `name`. Needs root or
    /// CAP_NET_ADMIN.
    pub fn open(name: &str) -> io::Result<TapBackend> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open("/dev/net/tun")?;
        let name = crate::sys::tun_set_iff(&file, name)?;
        let mtu = crate::sys::if_mtu(&name);
        Ok(TapBackend {
            file,
            name,
            mtu,
            scratch: vec![0; 65_536],
        })
    }

    /// The interface name the kernel gave us.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Backend for TapBackend {
    fn recv(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        match self.file.read(&mut self.scratch) {
            Ok(n) => {
                buf.clear();
                buf.extend_from_slice(self.scratch.get(..n).unwrap_or_default());
                Ok(n > 0)
            }
            Err(e) if is_would_block(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
        match self.file.write(frame) {
            Ok(_) => Ok(true),
            Err(e) if is_would_block(&e) => Ok(false),
            // The interface is down: frames go nowhere, as on a cable unplugged.
            Err(e) if e.raw_os_error() == Some(libc::EIO) => Ok(true),
            Err(e) => Err(e),
        }
    }

    fn fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn describe(&self) -> String {
        format!("TAP {}", self.name)
    }
}
