//! The kernel thread: one thread owns the [`Interface`], the [`SocketSet`]
//! and the backend ([`Link`]); user threads talk to it by message.
//!
//! # Wakeups
//!
//! The thread sleeps in `ppoll(2)` on two descriptors: the backend's (an
//! `AF_PACKET` socket, a TAP fd, or the simulated link's eventfd, readable
//! when frames wait; also polled for writability while frames are queued
//! for a full backend) and an eventfd that every user call writes after
//! putting its request on the channel. The timeout is the earliest of
//! `Interface::poll_at` (the stack's timers), the next frame due out of the
//! fault-injection delay queues, and the earliest deadline of a blocked user
//! call (read/write/accept/connect timeouts). There is no busy loop and no
//! fixed-interval tick: with nothing to do, the thread sleeps until
//! something happens.
//!
//! Time given to the core is microseconds since the stack started
//! (`std::time::Instant`).
//!
//! # Blocking calls
//!
//! A call that cannot complete yet (accept with an empty queue, read with
//! no data, write with a full send buffer, connect before the handshake)
//! is parked with its reply channel. After every poll the thread retries
//! the parked calls, and answers them when they complete, fail or pass
//! their deadline. That is the flow control: a writer stays blocked while
//! the send buffer is full, a reader until data or EOF arrives.
//! (`parked.rs`.)
//!
//! # Stopping
//!
//! On [`Request::Stop`] (sent by `NetStack::shutdown` and by dropping the
//! `NetStack`) listeners close, parked calls fail, and every connection is
//! shut down with a FIN; the thread keeps running until they have closed
//! (or a grace period passes), then exits.

use crate::backend::Backend;
use crate::link::{Link, LinkStats};
use crate::sys::{ppoll, EventFd, PollFd};
use rtcp_core::iface::{Interface, InterfaceConfig, InterfaceStats};
use rtcp_core::socket_set::{SocketHandle, SocketSet, SocketSlot};
use rtcp_core::tcp::{Endpoint, State, TcpConfig, TcpError, TcpStats};
use rtcp_core::time::{Duration, Instant};
use rtcp_core::wire::Ipv4Address;
use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{Ipv4Addr, Shutdown, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};

mod parked;
use parked::{fail_parked, Parked};

/// How long a stopping stack waits for its connections to close.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// How long a closed connection may take to finish its FIN exchange
/// before it is reset.
const CLOSE_LINGER: Duration = Duration::from_secs(60);

/// The stack's clock: microseconds since it started.
#[derive(Debug, Clone, Copy)]
pub struct Clock(std::time::Instant);

impl Clock {
    /// A clock starting now.
    pub fn new() -> Clock {
        Clock(std::time::Instant::now())
    }
    /// Now, as the core counts time.
    pub fn now(&self) -> Instant {
        Instant::from_micros(u64::try_from(self.0.elapsed().as_micros()).unwrap_or(u64::MAX))
    }
    /// `timeout` from now (`None` stays `None`).
    pub fn deadline(&self, timeout: Option<std::time::Duration>) -> Option<Instant> {
        timeout.map(|t| {
            self.now() + Duration::from_micros(u64::try_from(t.as_micros()).unwrap_or(u64::MAX / 4))
        })
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// Where a reply goes.
pub type Reply<T> = SyncSender<io::Result<T>>;

/// Counters of the whole stack.
#[derive(Debug, Clone, Copy, Default)]
pub struct StackStats {
    /// The interface's counters.
    pub iface: InterfaceStats,
    /// TCP counters.
    pub tcp: TcpStats,
    /// Fault injection and backend counters.
    pub link: LinkStats,
}

/// Per-connection details, for reports.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    /// Connection state.
    pub state: State,
    /// Smoothed RTT.
    pub srtt: Option<std::time::Duration>,
    /// Congestion window, bytes.
    pub cwnd: usize,
    /// Effective MSS.
    pub mss: usize,
    /// Bytes queued and not yet acknowledged.
    pub send_queue: usize,
}

/// A message from a user thread to the kernel thread.
#[derive(Debug)]
pub enum Request {
    /// Open a listener.
    Listen {
        /// Local address (0.0.0.0 = ours).
        addr: SocketAddrV4,
        /// Connections established but not accepted yet.
        backlog: usize,
        /// The listener's handle.
        reply: Reply<SocketHandle>,
    },
    /// Take a connection from a listener.
    Accept {
        /// The listener.
        listener: SocketHandle,
        /// Give up then.
        deadline: Option<Instant>,
        /// Do not wait.
        nonblocking: bool,
        /// The connection and its peer.
        reply: Reply<(SocketHandle, SocketAddrV4, SocketAddrV4)>,
    },
    /// Open a connection.
    Connect {
        /// The peer.
        remote: SocketAddrV4,
        /// Give up then.
        deadline: Option<Instant>,
        /// The connection and its local address.
        reply: Reply<(SocketHandle, SocketAddrV4)>,
    },
    /// Read up to `max` bytes (an empty reply is end of stream).
    Read {
        /// The connection.
        h: SocketHandle,
        /// Most bytes wanted.
        max: usize,
        /// Give up then.
        deadline: Option<Instant>,
        /// Do not wait.
        nonblocking: bool,
        /// The bytes.
        reply: Reply<Vec<u8>>,
    },
    /// Queue bytes for sending; replies with how many were queued once all
    /// are (or fewer, when the deadline passes or in non-blocking mode).
    Write {
        /// The connection.
        h: SocketHandle,
        /// The bytes.
        data: Vec<u8>,
        /// Give up then.
        deadline: Option<Instant>,
        /// Do not wait.
        nonblocking: bool,
        /// Bytes queued.
        reply: Reply<usize>,
    },
    /// Wait until everything written has been acknowledged.
    WaitSent {
        /// The connection.
        h: SocketHandle,
        /// Give up then.
        deadline: Option<Instant>,
        /// Done.
        reply: Reply<()>,
    },
    /// Shut one or both directions down.
    Shutdown {
        /// The connection.
        h: SocketHandle,
        /// Which.
        how: Shutdown,
        /// Done.
        reply: Reply<()>,
    },
    /// Nagle off (`true`) or on.
    SetNodelay {
        /// The connection.
        h: SocketHandle,
        /// Nagle off.
        nodelay: bool,
        /// Done.
        reply: Reply<()>,
    },
    /// Connection details.
    Info {
        /// The connection.
        h: SocketHandle,
        /// Details.
        reply: Reply<ConnInfo>,
    },
    /// The last user reference is gone: close gracefully (FIN).
    Close {
        /// The connection or listener.
        h: SocketHandle,
    },
    /// Counters.
    Stats {
        /// Counters.
        reply: Reply<StackStats>,
    },
    /// Stop the kernel thread (closing connections first).
    Stop,
}

/// What the kernel thread is configured with.
#[derive(Debug, Clone)]
pub struct KernelConfig {
    /// Addressing.
    pub iface: InterfaceConfig,
    /// Socket table slots.
    pub slots: usize,
    /// Receive buffer per slot.
    pub rx_buffer: usize,
    /// Send buffer per slot.
    pub tx_buffer: usize,
    /// Defaults of new sockets.
    pub tcp: TcpConfig,
    /// Key of ISNs and the hash index.
    pub secret: [u8; 16],
}

/// A core error as the `std::io::Error` a std user expects.
pub fn io_error(e: TcpError) -> io::Error {
    use io::ErrorKind as K;
    let kind = match e {
        TcpError::ConnectionRefused => K::ConnectionRefused,
        TcpError::ConnectionReset => K::ConnectionReset,
        TcpError::TimedOut => K::TimedOut,
        TcpError::NotConnected | TcpError::InvalidState | TcpError::InvalidHandle => {
            K::NotConnected
        }
        TcpError::WouldBlock => K::WouldBlock,
        TcpError::SendClosed => K::BrokenPipe,
        TcpError::AddrInUse => K::AddrInUse,
        TcpError::NoEphemeralPort => K::AddrNotAvailable,
        TcpError::InvalidEndpoint => K::InvalidInput,
        TcpError::Unsupported => K::Unsupported,
        _ => K::Other,
    };
    io::Error::new(kind, e.to_string())
}

/// The error of calls made to a stopped stack.
pub fn stopped() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the rtcp stack has stopped")
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("{what} timed out"))
}

fn endpoint(a: SocketAddrV4) -> Endpoint {
    Endpoint::new(Ipv4Address::from(*a.ip()), a.port())
}

fn sockaddr(e: Endpoint) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::from(e.addr), e.port)
}

fn to_std(d: Duration) -> std::time::Duration {
    std::time::Duration::from_micros(d.total_micros())
}

/// The state of the kernel thread.
struct Kernel<B: Backend> {
    iface: Interface,
    sockets: SocketSet<'static>,
    link: Link<B>,
    clock: Clock,
    requests: Receiver<Request>,
    wake: std::sync::Arc<EventFd>,
    parked: Vec<Parked>,
    /// Connections the user holds.
    streams: HashSet<SocketHandle>,
    /// Listeners the user holds, with their ports.
    listeners: HashMap<SocketHandle, u16>,
    /// Reads shut down by the user.
    read_shut: HashSet<SocketHandle>,
    /// Connections the user dropped, finishing their FIN exchange, with the
    /// time they were closed.
    closing: HashMap<SocketHandle, Instant>,
    stopping: Option<Instant>,
}

/// Run the kernel thread until it is stopped. Returns a fatal backend
/// error, if one ended it.
pub fn run<B: Backend>(
    backend: Link<B>,
    config: KernelConfig,
    clock: Clock,
    requests: Receiver<Request>,
    wake: std::sync::Arc<EventFd>,
) -> io::Result<()> {
    // Wake for paced segments and held frames on time, not up to 50 µs late
    // (the default slack); best effort.
    let _ = crate::sys::set_timer_slack(1_000);
    let slots: Vec<SocketSlot<'static>> = (0..config.slots)
        .map(|_| SocketSlot::new(vec![0u8; config.rx_buffer], vec![0u8; config.tx_buffer]))
        .collect();
    let mut sockets = SocketSet::new(slots, config.secret);
    sockets.set_default_config(config.tcp);
    let mut k = Kernel {
        iface: Interface::new(config.iface),
        sockets,
        link: backend,
        clock,
        requests,
        wake,
        parked: Vec::new(),
        streams: HashSet::new(),
        listeners: HashMap::new(),
        read_shut: HashSet::new(),
        closing: HashMap::new(),
        stopping: None,
    };
    k.main_loop()
}

impl<B: Backend> Kernel<B> {
    fn main_loop(&mut self) -> io::Result<()> {
        // Diagnostics: RTCP_HOST_TRACE_MS=N prints every connection's
        // window, pacing rate and (BBR) model to stderr every N ms.
        let trace_every = std::env::var("RTCP_HOST_TRACE_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|&ms| ms > 0)
            .map(Duration::from_millis);
        let mut next_trace: Option<Instant> = None;
        loop {
            // Reset the wakeup before reading the channel: a request sent
            // after this point signals again, so none is missed.
            self.wake.drain();
            let mut disconnected = false;
            loop {
                match self.requests.try_recv() {
                    Ok(req) => self.handle(req),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        disconnected = true;
                        break;
                    }
                }
            }
            if disconnected && self.stopping.is_none() {
                self.begin_stop();
            }
            let mut now = self.clock.now();
            self.link.service(now);
            let mut busy = false;
            for round in 0..64 {
                if !self.iface.poll(now, &mut self.link, &mut self.sockets) {
                    break;
                }
                // A fresh clock for every round: frames read late in a long
                // turn (or after this thread was preempted, which a busy
                // two-core host does for milliseconds) would otherwise be
                // stamped with the turn's start, and RTT samples of ACKs
                // read then come out short. BBR kept a 1.2 ms "minimum RTT"
                // on a path with 5 ms of one-way delay that way, and with it
                // a window a quarter of the path's BDP, for 10 s.
                now = self.clock.now();
                self.link.service(now);
                busy = round == 63;
            }
            if let Some(every) = trace_every {
                if next_trace.is_none_or(|t| now >= t) {
                    next_trace = Some(now + every);
                    self.trace(now);
                }
            }
            let progressed = self.service_parked(now);
            self.service_closing(now);
            if let Some(e) = self.link.take_error() {
                self.fail_all(&e);
                return Err(e);
            }
            if let Some(since) = self.stopping {
                if self.closing.is_empty() || now >= since + STOP_GRACE {
                    for (h, _) in self.closing.drain() {
                        let _ = self.sockets.abort(h);
                    }
                    // Send the RSTs of the aborts, then go.
                    let now = self.clock.now();
                    self.iface.poll(now, &mut self.link, &mut self.sockets);
                    self.link.flush();
                    self.link.flush_pcap();
                    return Ok(());
                }
            }
            // How long to sleep.
            let mut timeout: Option<Duration> = None;
            let mut wake_at = |t: Option<Instant>| {
                if let Some(t) = t {
                    let d = t.saturating_since(now);
                    timeout = Some(timeout.map_or(d, |cur: Duration| cur.min(d)));
                }
            };
            wake_at(self.iface.poll_at(&self.sockets));
            wake_at(self.link.next_deadline());
            wake_at(self.parked.iter().filter_map(Parked::deadline).min());
            wake_at(self.closing.values().map(|&t| t + CLOSE_LINGER).min());
            wake_at(self.stopping.map(|t| t + STOP_GRACE));
            if busy || progressed || self.link.has_input() {
                timeout = Some(Duration::ZERO);
            } else if timeout == Some(Duration::ZERO) {
                // Due but nothing happened: the backend is full (wait for
                // it to drain) or the stack is waiting on something that
                // is not a timer; do not spin.
                timeout = Some(Duration::from_micros(if self.link.wants_write() {
                    500
                } else {
                    1000
                }));
            }
            if timeout != Some(Duration::ZERO) {
                self.link.flush_pcap();
            }
            let mut fds = [
                PollFd::read(self.wake.as_raw_fd()),
                PollFd {
                    write: self.link.wants_write(),
                    ..PollFd::read(self.link.fd())
                },
            ];
            ppoll(&mut fds, timeout.map(to_std))?;
        }
    }

    /// One line per established connection (`RTCP_HOST_TRACE_MS`).
    fn trace(&self, now: Instant) {
        use rtcp_core::tcp::congestion::{Congestion, CongestionControl};
        for (h, sock) in self.sockets.iter() {
            if !sock.is_active() {
                continue;
            }
            let (una, nxt, _) = sock.sequence_state();
            let cc = sock.congestion_control();
            let model = match cc {
                Congestion::Bbr(b) => format!(" {b}"),
                _ => String::new(),
            };
            eprintln!(
                "trace {:>10.3} {h:?} una {} flight {} cwnd {} swnd {} srtt {:?} pacing {:.2} MB/s{model}",
                now.total_micros() as f64 / 1e6,
                una.0,
                nxt - una,
                sock.cwnd(),
                sock.send_window(),
                sock.srtt(),
                cc.pacing_rate().unwrap_or(0) as f64 / 1e6,
            );
        }
    }

    fn handle(&mut self, req: Request) {
        let now = self.clock.now();
        if self.stopping.is_some() {
            // Only Close and Stats are still served.
            match req {
                Request::Close { h } => self.close(now, h),
                Request::Stats { reply } => {
                    let _ = reply.send(Ok(self.stats()));
                }
                other => fail_request(other, stopped()),
            }
            return;
        }
        match req {
            Request::Listen {
                addr,
                backlog,
                reply,
            } => {
                let _ = reply.send(self.listen(addr, backlog));
            }
            Request::Accept {
                listener,
                deadline,
                nonblocking,
                reply,
            } => {
                let p = Parked::Accept {
                    listener,
                    deadline,
                    reply,
                };
                self.try_or_park(now, p, nonblocking);
            }
            Request::Connect {
                remote,
                deadline,
                reply,
            } => match self.connect(now, remote) {
                Ok(h) => self.parked.push(Parked::Connect { h, deadline, reply }),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            Request::Read {
                h,
                max,
                deadline,
                nonblocking,
                reply,
            } => {
                let p = Parked::Read {
                    h,
                    max,
                    deadline,
                    reply,
                };
                self.try_or_park(now, p, nonblocking);
            }
            Request::Write {
                h,
                data,
                deadline,
                nonblocking,
                reply,
            } => {
                let p = Parked::Write {
                    h,
                    data,
                    done: 0,
                    deadline,
                    reply,
                };
                self.try_or_park(now, p, nonblocking);
            }
            Request::WaitSent { h, deadline, reply } => {
                self.try_or_park(now, Parked::WaitSent { h, deadline, reply }, false);
            }
            Request::Shutdown { h, how, reply } => {
                let r = self.shutdown(h, how);
                let _ = reply.send(r);
            }
            Request::SetNodelay { h, nodelay, reply } => {
                let r = self
                    .sockets
                    .with(h, |s| s.set_nodelay(nodelay))
                    .map_err(io_error);
                let _ = reply.send(r);
            }
            Request::Info { h, reply } => {
                let r = self
                    .sockets
                    .get(h)
                    .map(|s| ConnInfo {
                        state: s.state(),
                        srtt: s.srtt().map(to_std),
                        cwnd: s.cwnd(),
                        mss: s.mss(),
                        send_queue: s.send_queue(),
                    })
                    .map_err(io_error);
                let _ = reply.send(r);
            }
            Request::Close { h } => self.close(now, h),
            Request::Stats { reply } => {
                let _ = reply.send(Ok(self.stats()));
            }
            Request::Stop => self.begin_stop(),
        }
    }

    fn stats(&self) -> StackStats {
        StackStats {
            iface: self.iface.stats(),
            tcp: self.sockets.stats(),
            link: self.link.stats(),
        }
    }

    fn listen(&mut self, addr: SocketAddrV4, backlog: usize) -> io::Result<SocketHandle> {
        let ours = Ipv4Addr::from(self.iface.ipv4_addr());
        if !addr.ip().is_unspecified() && *addr.ip() != ours {
            return Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("{} is not this stack's address ({ours})", addr.ip()),
            ));
        }
        if addr.port() == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "listening needs a port number",
            ));
        }
        // One listener per port, whatever its address (as on Linux without
        // SO_REUSEPORT): the core itself only refuses the same endpoint.
        if self.listeners.values().any(|&p| p == addr.port()) {
            return Err(io_error(TcpError::AddrInUse));
        }
        let h = self.sockets.open().map_err(io_error)?;
        if let Err(e) = self.sockets.listen(h, endpoint(addr), backlog) {
            let _ = self.sockets.close(h);
            return Err(io_error(e));
        }
        self.listeners.insert(h, addr.port());
        Ok(h)
    }

    fn connect(&mut self, now: Instant, remote: SocketAddrV4) -> io::Result<SocketHandle> {
        let h = self.sockets.open().map_err(io_error)?;
        let local = Endpoint::new(self.iface.ipv4_addr(), 0);
        if let Err(e) = self.sockets.connect(now, h, local, endpoint(remote)) {
            let _ = self.sockets.close(h);
            return Err(io_error(e));
        }
        self.streams.insert(h);
        Ok(h)
    }

    fn shutdown(&mut self, h: SocketHandle, how: Shutdown) -> io::Result<()> {
        if !self.streams.contains(&h) {
            return Err(io_error(TcpError::NotConnected));
        }
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.read_shut.insert(h);
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            match self.sockets.shutdown(h) {
                Ok(()) | Err(TcpError::InvalidState) => {}
                Err(e) => return Err(io_error(e)),
            }
        }
        Ok(())
    }

    fn close(&mut self, now: Instant, h: SocketHandle) {
        self.read_shut.remove(&h);
        if self.listeners.remove(&h).is_some() {
            let _ = self.sockets.close(h);
            return;
        }
        if self.streams.remove(&h) {
            let _ = self.sockets.shutdown(h);
            self.closing.insert(h, now);
        }
    }

    fn begin_stop(&mut self) {
        let now = self.clock.now();
        self.stopping = Some(now);
        for p in std::mem::take(&mut self.parked) {
            fail_parked(p, stopped());
        }
        for h in std::mem::take(&mut self.listeners).into_keys() {
            let _ = self.sockets.close(h);
        }
        for h in std::mem::take(&mut self.streams) {
            let _ = self.sockets.shutdown(h);
            self.closing.insert(h, now);
        }
    }

    fn fail_all(&mut self, e: &io::Error) {
        for p in std::mem::take(&mut self.parked) {
            fail_parked(p, io::Error::new(e.kind(), e.to_string()));
        }
    }

    /// Finish closed connections: release the handle once the FIN
    /// exchange is over (the slot then lingers in TIME-WAIT on its own) or
    /// has taken too long. Data arriving for a connection the user has
    /// closed resets it, as on Linux: nobody will ever read it.
    fn service_closing(&mut self, now: Instant) {
        let sockets = &mut self.sockets;
        // A stopping stack does not wait for peers to close their side:
        // once our FIN is acknowledged the connection is done from here.
        let stopping = self.stopping.is_some();
        self.closing.retain(|&h, &mut since| {
            let Ok((state, unread)) = sockets.with(h, |s| (s.state(), s.recv_queue())) else {
                return false;
            };
            if unread > 0 || now >= since + CLOSE_LINGER {
                let _ = sockets.abort(h);
                false
            } else if matches!(state, State::Closed | State::TimeWait)
                || (stopping && state == State::FinWait2)
            {
                let _ = sockets.close(h);
                false
            } else {
                true
            }
        });
    }
}

fn fail_request(req: Request, e: io::Error) {
    match req {
        Request::Listen { reply, .. } => {
            let _ = reply.send(Err(e));
        }
        Request::Accept { reply, .. } => {
            let _ = reply.send(Err(e));
        }
        Request::Connect { reply, .. } => {
            let _ = reply.send(Err(e));
        }
        Request::Read { reply, .. } => {
            let _ = reply.send(Err(e));
        }
        Request::Write { reply, .. } => {
            let _ = reply.send(Err(e));
        }
        Request::WaitSent { reply, .. } | Request::Shutdown { reply, .. } => {
            let _ = reply.send(Err(e));
        }
        Request::SetNodelay { reply, .. } => {
            let _ = reply.send(Err(e));
        }
        Request::Info { reply, .. } => {
            let _ = reply.send(Err(e));
        }
        Request::Stats { reply } => {
            let _ = reply.send(Err(e));
        }
        Request::Close { .. } | Request::Stop => {}
    }
}
