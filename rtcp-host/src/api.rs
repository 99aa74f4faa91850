//! The user side: a [`NetStack`] (the kernel thread's owner) and blocking
//! [`TcpListener`] / [`TcpStream`] types shaped like `std::net`'s, usable
//! from many threads at once.
//!
//! Every call is a message to the kernel thread with a reply channel; see
//! [`crate::kernel`] for how blocked calls wait. Errors are
//! `std::io::Error`s with the kinds a std user expects:
//! `ConnectionRefused`, `ConnectionReset`, `TimedOut` (connect timeout,
//! read/write timeouts, user timeout), `NotConnected`, `AddrInUse`,
//! `BrokenPipe` (write after shutdown), `WouldBlock` (non-blocking mode).
//! One difference from std on Linux: an expired read or write timeout is
//! `TimedOut`, not `WouldBlock`.

use crate::backend::Backend;
use crate::kernel::{self, stopped, Clock, ConnInfo, KernelConfig, Request, StackStats};
use crate::link::{Link, LinkOptions};
use crate::sys::EventFd;
use rtcp_core::iface::InterfaceConfig;
use rtcp_core::socket_set::SocketHandle;
use rtcp_core::tcp::TcpConfig;
use rtcp_core::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Largest chunk one read or write message carries.
const MAX_CHUNK: usize = 256 * 1024;

/// How a [`NetStack`] is set up.
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// Our MAC address (not the NIC's: the Linux kernel must not own it).
    pub mac: EthernetAddress,
    /// Our IPv4 address and prefix.
    pub ip: Ipv4Cidr,
    /// Default gateway.
    pub gateway: Option<Ipv4Address>,
    /// Socket table slots (connections, listeners and lingering closes).
    pub slots: usize,
    /// Receive buffer per connection, bytes.
    pub rx_buffer: usize,
    /// Send buffer per connection, bytes.
    pub tx_buffer: usize,
    /// Defaults of new sockets.
    pub tcp: TcpConfig,
    /// Fault injection and capture.
    pub link: LinkOptions,
}

impl StackConfig {
    /// Defaults for address `ip`: a MAC derived from it (02:72:74 + the
    /// last three address bytes), 64 slots of 256 KiB buffers each way, and
    /// a 200 ms RTO floor as on Linux (the core's default is RFC 6298's
    /// 1 s, which makes every timeout on a LAN cost a second).
    pub fn new(ip: Ipv4Cidr) -> StackConfig {
        let [_, b, c, d] = ip.address.0;
        let mut tcp = TcpConfig::default();
        tcp.rto.min = rtcp_core::time::Duration::from_millis(200);
        StackConfig {
            mac: EthernetAddress([0x02, 0x72, 0x74, b, c, d]),
            ip,
            gateway: None,
            slots: 64,
            rx_buffer: 256 * 1024,
            tx_buffer: 256 * 1024,
            tcp,
            link: LinkOptions::default(),
        }
    }
}

#[derive(Debug)]
struct Shared {
    requests: Sender<Request>,
    wake: Arc<EventFd>,
    clock: Clock,
    ip: Ipv4Addr,
}

impl Shared {
    fn call<T>(&self, make: impl FnOnce(kernel::Reply<T>) -> Request) -> io::Result<T> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.requests.send(make(tx)).map_err(|_| stopped())?;
        self.wake.notify();
        rx.recv().map_err(|_| stopped())?
    }

    fn send(&self, req: Request) {
        if self.requests.send(req).is_ok() {
            self.wake.notify();
        }
    }
}

/// A running stack: the kernel thread and its backend. Dropping it stops
/// the thread (connections are closed first, for up to 3 s).
#[derive(Debug)]
pub struct NetStack {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<io::Result<()>>>>,
    description: String,
}

impl NetStack {
    /// Start a stack on `backend`.
    pub fn new<B: Backend + 'static>(backend: B, config: StackConfig) -> io::Result<NetStack> {
        let description = backend.describe();
        let link = Link::new(backend, &config.link)?;
        let wake = Arc::new(EventFd::new()?);
        let (requests, rx) = mpsc::channel();
        let clock = Clock::new();
        let kconfig = KernelConfig {
            iface: InterfaceConfig {
                mac: config.mac,
                ip: config.ip,
                gateway: config.gateway,
            },
            slots: config.slots,
            rx_buffer: config.rx_buffer,
            tx_buffer: config.tx_buffer,
            tcp: config.tcp,
            secret: random_secret(),
        };
        let kwake = wake.clone();
        let thread = std::thread::Builder::new()
            .name("rtcp-kernel".into())
            .spawn(move || kernel::run(link, kconfig, clock, rx, kwake))?;
        Ok(NetStack {
            shared: Arc::new(Shared {
                requests,
                wake,
                clock,
                ip: Ipv4Addr::from(config.ip.address),
            }),
            thread: Mutex::new(Some(thread)),
            description,
        })
    }

    /// The stack's IPv4 address.
    pub fn ip(&self) -> Ipv4Addr {
        self.shared.ip
    }

    /// What the stack runs on ("AF_PACKET on veth-a", ...).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Counters.
    pub fn stats(&self) -> io::Result<StackStats> {
        self.shared.call(|reply| Request::Stats { reply })
    }

    /// Stop the kernel thread: close every connection (FIN, up to 3 s for
    /// the peers to finish), then exit. Later calls fail with `NotConnected`.
    /// Returns the backend error that stopped the thread early, if any.
    pub fn shutdown(&self) -> io::Result<()> {
        self.shared.send(Request::Stop);
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        match thread {
            Some(t) => t
                .join()
                .map_err(|_| io::Error::other("the rtcp kernel thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for NetStack {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

fn random_secret() -> [u8; 16] {
    let mut secret = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut secret);
    }
    // Mixed with the time in case /dev/urandom is unavailable.
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    for (s, b) in secret.iter_mut().zip(t.to_le_bytes()) {
        *s ^= b;
    }
    secret
}

fn v4(addr: impl ToSocketAddrs) -> io::Result<SocketAddrV4> {
    addr.to_socket_addrs()?
        .find_map(|a| match a {
            SocketAddr::V4(a) => Some(a),
            SocketAddr::V6(_) => None,
        })
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no IPv4 address given"))
}

/// A listening socket.
#[derive(Debug)]
pub struct TcpListener {
    shared: Arc<Shared>,
    h: SocketHandle,
    local: SocketAddrV4,
    nonblocking: AtomicBool,
    timeout: Mutex<Option<Duration>>,
}

impl TcpListener {
    /// Listen on `addr` (0.0.0.0 or the stack's address, and a port) with a
    /// backlog of 16. `AddrInUse` if something listens there already.
    pub fn bind(stack: &NetStack, addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        TcpListener::bind_with_backlog(stack, addr, 16)
    }

    /// [`bind`](Self::bind) with room for `backlog` connections not yet accepted.
    pub fn bind_with_backlog(
        stack: &NetStack,
        addr: impl ToSocketAddrs,
        backlog: usize,
    ) -> io::Result<TcpListener> {
        let addr = v4(addr)?;
        let h = stack.shared.call(|reply| Request::Listen {
            addr,
            backlog,
            reply,
        })?;
        let ip = if addr.ip().is_unspecified() {
            stack.shared.ip
        } else {
            *addr.ip()
        };
        Ok(TcpListener {
            shared: stack.shared.clone(),
            h,
            local: SocketAddrV4::new(ip, addr.port()),
            nonblocking: AtomicBool::new(false),
            timeout: Mutex::new(None),
        })
    }

    /// Wait for a connection.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let deadline = self
            .shared
            .clock
            .deadline(self.timeout.lock().ok().and_then(|t| *t));
        let (h, local, peer) = self.shared.call(|reply| Request::Accept {
            listener: self.h,
            deadline,
            nonblocking: self.nonblocking.load(Ordering::Relaxed),
            reply,
        })?;
        Ok((
            TcpStream::new(self.shared.clone(), h, local, peer),
            SocketAddr::V4(peer),
        ))
    }

    /// Connections as they arrive.
    pub fn incoming(&self) -> impl Iterator<Item = io::Result<TcpStream>> + '_ {
        std::iter::repeat_with(move || self.accept().map(|(s, _)| s))
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::V4(self.local))
    }

    /// In non-blocking mode `accept` fails with `WouldBlock` at once when
    /// no connection is waiting.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
        Ok(())
    }

    /// How long `accept` waits before failing with `TimedOut` (an rtcp
    /// extension; `None` waits forever).
    pub fn set_accept_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        if let Ok(mut t) = self.timeout.lock() {
            *t = timeout;
        }
        Ok(())
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        self.shared.send(Request::Close { h: self.h });
    }
}

#[derive(Debug)]
struct StreamInner {
    shared: Arc<Shared>,
    h: SocketHandle,
    local: SocketAddrV4,
    peer: SocketAddrV4,
    read_timeout: Mutex<Option<Duration>>,
    write_timeout: Mutex<Option<Duration>>,
    nonblocking: AtomicBool,
}

impl Drop for StreamInner {
    fn drop(&mut self) {
        self.shared.send(Request::Close { h: self.h });
    }
}

/// A TCP connection. Clones made with [`try_clone`](Self::try_clone) share
/// it (and its timeouts); it closes gracefully (FIN) when the last one is
/// dropped.
#[derive(Debug)]
pub struct TcpStream {
    inner: Arc<StreamInner>,
}

impl TcpStream {
    fn new(shared: Arc<Shared>, h: SocketHandle, local: SocketAddrV4, peer: SocketAddrV4) -> Self {
        TcpStream {
            inner: Arc::new(StreamInner {
                shared,
                h,
                local,
                peer,
                read_timeout: Mutex::new(None),
                write_timeout: Mutex::new(None),
                nonblocking: AtomicBool::new(false),
            }),
        }
    }

    /// Connect to `addr`, waiting as long as the stack retries its SYN.
    pub fn connect(stack: &NetStack, addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        TcpStream::connect_inner(stack, v4(addr)?, None)
    }

    /// Connect, failing with `TimedOut` after `timeout`.
    pub fn connect_timeout(
        stack: &NetStack,
        addr: &SocketAddr,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        TcpStream::connect_inner(stack, v4(addr)?, Some(timeout))
    }

    fn connect_inner(
        stack: &NetStack,
        remote: SocketAddrV4,
        timeout: Option<Duration>,
    ) -> io::Result<TcpStream> {
        let deadline = stack.shared.clock.deadline(timeout);
        let (h, local) = stack.shared.call(|reply| Request::Connect {
            remote,
            deadline,
            reply,
        })?;
        Ok(TcpStream::new(stack.shared.clone(), h, local, remote))
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::V4(self.inner.peer))
    }

    /// Our address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::V4(self.inner.local))
    }

    /// Shut down reading, writing (a FIN after the queued data), or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let h = self.inner.h;
        self.inner
            .shared
            .call(|reply| Request::Shutdown { h, how, reply })
    }

    /// Turn Nagle's algorithm off (`true`) or on.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        let h = self.inner.h;
        self.inner
            .shared
            .call(|reply| Request::SetNodelay { h, nodelay, reply })
    }

    /// How long a read waits before failing with `TimedOut` (`None`: forever).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        if timeout == Some(Duration::ZERO) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "zero timeout"));
        }
        if let Ok(mut t) = self.inner.read_timeout.lock() {
            *t = timeout;
        }
        Ok(())
    }

    /// How long a write waits for buffer space (`None`: forever).
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        if timeout == Some(Duration::ZERO) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "zero timeout"));
        }
        if let Ok(mut t) = self.inner.write_timeout.lock() {
            *t = timeout;
        }
        Ok(())
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.read_timeout.lock().ok().and_then(|t| *t))
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.write_timeout.lock().ok().and_then(|t| *t))
    }

    /// In non-blocking mode, reads and writes that would wait fail with
    /// `WouldBlock` instead.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.nonblocking.store(nonblocking, Ordering::Relaxed);
        Ok(())
    }

    /// Another handle to the same connection.
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(TcpStream {
            inner: self.inner.clone(),
        })
    }

    /// Wait until the peer has acknowledged everything written (an rtcp
    /// extension, like a lingering close without the close).
    pub fn wait_sent(&self, timeout: Option<Duration>) -> io::Result<()> {
        let h = self.inner.h;
        let deadline = self.inner.shared.clock.deadline(timeout);
        self.inner
            .shared
            .call(|reply| Request::WaitSent { h, deadline, reply })
    }

    /// Connection details (state, RTT, congestion window).
    pub fn info(&self) -> io::Result<ConnInfo> {
        let h = self.inner.h;
        self.inner.shared.call(|reply| Request::Info { h, reply })
    }

    fn read_inner(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let h = self.inner.h;
        let deadline = self
            .inner
            .shared
            .clock
            .deadline(self.inner.read_timeout.lock().ok().and_then(|t| *t));
        let nonblocking = self.inner.nonblocking.load(Ordering::Relaxed);
        let max = buf.len().min(MAX_CHUNK);
        let data = self.inner.shared.call(|reply| Request::Read {
            h,
            max,
            deadline,
            nonblocking,
            reply,
        })?;
        let n = data.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), data.get(..n)) {
            dst.copy_from_slice(src);
        }
        Ok(n)
    }

    fn write_inner(&self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let h = self.inner.h;
        let deadline = self
            .inner
            .shared
            .clock
            .deadline(self.inner.write_timeout.lock().ok().and_then(|t| *t));
        let nonblocking = self.inner.nonblocking.load(Ordering::Relaxed);
        let data = buf.get(..buf.len().min(MAX_CHUNK)).unwrap_or(buf).to_vec();
        self.inner.shared.call(|reply| Request::Write {
            h,
            data,
            deadline,
            nonblocking,
            reply,
        })
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_inner(buf)
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_inner(buf)
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_inner(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_inner(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
