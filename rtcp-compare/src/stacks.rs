//! The two stacks behind one small interface, each used the way its own
//! documentation shows: rtcp through its socket table (listener with a
//! backlog, `accept`), smoltcp through its socket set (no backlog, so a pool
//! of listening sockets that the application recycles).

use crate::link::{End, Pool, Rng};
use std::rc::Rc;

/// Per-node setup shared by both stacks.
#[derive(Debug, Clone, Copy)]
pub struct NodeCfg {
    /// IP MTU.
    pub mtu: usize,
    /// Socket capacity.
    pub sockets: usize,
    /// The first `big_count` sockets get `big`-byte buffers, the rest `small`.
    pub big_count: usize,
    /// Large buffer size (each direction).
    pub big: usize,
    /// Small buffer size (each direction).
    pub small: usize,
    /// Disable Nagle's algorithm.
    pub nodelay: bool,
    /// Connection-rate runs: rtcp's MSL is set to zero, so TIME-WAIT ends
    /// at once (it was 1 ms until session 8); smoltcp's TIME-WAIT (10 s,
    /// fixed) is ended by the application, which aborts the socket and
    /// puts it back into the listening pool.
    pub short_time_wait: bool,
}

/// IPv4 address of node `i`.
pub fn ip(i: usize) -> [u8; 4] {
    [10, 0, 0, 1 + i as u8]
}

/// MAC address of node `i`.
pub fn mac(i: usize) -> [u8; 6] {
    [0x02, 0, 0, 0, 0, 1 + i as u8]
}

/// What a benchmark needs from a stack.
pub trait Stack {
    /// Connection handle.
    type Conn: Copy + std::fmt::Debug;
    /// Name for the table.
    const NAME: &'static str;
    /// Node `idx` with this setup.
    fn new(idx: usize, cfg: &NodeCfg, pool: Rc<Pool>, now: u64) -> Self;
    /// The node's device end.
    fn end(&mut self) -> &mut End;
    /// Run the stack.
    fn poll(&mut self, now: u64);
    /// When the stack next wants a poll (absolute µs), measured as the
    /// application's deadline query: rtcp `poll_at`, smoltcp `poll_delay`.
    fn poll_at(&mut self, now: u64) -> Option<u64>;
    /// Listen on `port` (rtcp: backlog `n`; smoltcp: `n` listening sockets).
    fn listen(&mut self, port: u16, n: usize);
    /// An established connection from the listener, if any.
    fn accept(&mut self) -> Option<Self::Conn>;
    /// Connect to node `peer`'s `port`; None when no socket is free.
    fn connect(&mut self, now: u64, peer: usize, port: u16) -> Option<Self::Conn>;
    /// Queue bytes written in place by `f`; returns how many.
    fn send_with<F: FnOnce(&mut [u8]) -> usize>(&mut self, c: Self::Conn, f: F) -> usize;
    /// Take bytes read in place by `f`; returns how many (0: none ready).
    fn recv_with<F: FnOnce(&[u8]) -> usize>(&mut self, c: Self::Conn, f: F) -> usize;
    /// Close (FIN after queued data) and, for rtcp, release the handle.
    fn close(&mut self, c: Self::Conn);
    /// Client side: close; the socket is reused once the connection is over.
    fn close_client(&mut self, c: Self::Conn);
    /// Whether the connection is established.
    fn established(&self, c: Self::Conn) -> bool;
    /// Server side after `close`: whether the application is done with the
    /// connection (smoltcp: once it reaches TIME-WAIT the socket returns to
    /// the listening pool).
    fn server_done(&mut self, c: Self::Conn) -> bool;
    /// Sockets in use (client side: the connection rate waits for them).
    fn in_use(&self) -> usize;
    /// The stack's own count of retransmission timeouts, where it keeps one.
    fn own_timeouts(&self) -> Option<u64>;
}

// ---------------------------------------------------------------------------
// rtcp

use rtcp_core::iface::{Interface as RIface, InterfaceConfig};
use rtcp_core::socket_set::{SocketHandle as RHandle, SocketSet as RSet, SocketSlot};
use rtcp_core::tcp::congestion::CongestionAlgorithm;
use rtcp_core::tcp::{Endpoint, State as RState, TcpConfig};

/// rtcp's congestion controller for every node (`--cc`; NewReno, the
/// engine's default, unless set).
pub static RTCP_CC: std::sync::OnceLock<CongestionAlgorithm> = std::sync::OnceLock::new();
use rtcp_core::time::{Duration as RDuration, Instant as RInstant};
use rtcp_core::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

/// An rtcp node.
#[derive(Debug)]
pub struct Rtcp {
    iface: RIface,
    sockets: RSet<'static>,
    dev: End,
    listener: Option<RHandle>,
}

fn r_ip(i: usize) -> Ipv4Address {
    let a = ip(i);
    Ipv4Address::new(a[0], a[1], a[2], a[3])
}

impl Stack for Rtcp {
    type Conn = RHandle;
    const NAME: &'static str = "rtcp";

    fn new(idx: usize, cfg: &NodeCfg, pool: Rc<Pool>, _now: u64) -> Rtcp {
        let slots: Vec<SocketSlot<'static>> = (0..cfg.sockets)
            .map(|s| {
                let n = if s < cfg.big_count {
                    cfg.big
                } else {
                    cfg.small
                };
                SocketSlot::new(&mut leak(0xa5u8, n)[..], &mut leak(0xa5u8, n)[..])
            })
            .collect();
        let mut secret = [0u8; 16];
        Rng::new(idx as u64 + 77).fill(&mut secret);
        let mut sockets = RSet::new(slots.leak(), secret);
        let mut tcp = TcpConfig {
            nodelay: cfg.nodelay,
            congestion: RTCP_CC.get().copied().unwrap_or_default(),
            ..TcpConfig::default()
        };
        if std::env::var("RTCP_COMPARE_OPTIONS").is_ok_and(|v| v == "mss") {
            // For measurement only: the SYN carries the MSS alone, as the
            // connection floor's does (`floor_conn.rs`), and no segment
            // carries timestamps (RFC 7323 and RFC 2018 are optional).
            tcp.window_scaling = false;
            tcp.timestamps = false;
            tcp.sack = false;
        }
        if cfg.short_time_wait {
            // TIME-WAIT ends as soon as its ACK is out (smoltcp's
            // application aborts its TIME-WAIT sockets instead).
            tcp.msl = RDuration::ZERO;
        }
        sockets.set_default_config(tcp);
        Rtcp {
            iface: RIface::new(InterfaceConfig {
                mac: EthernetAddress(mac(idx)),
                ip: Ipv4Cidr::new(r_ip(idx), 24),
                gateway: None,
            }),
            sockets,
            dev: End::new(pool, cfg.mtu),
            listener: None,
        }
    }

    fn end(&mut self) -> &mut End {
        &mut self.dev
    }

    fn poll(&mut self, now: u64) {
        self.iface
            .poll(RInstant::from_micros(now), &mut self.dev, &mut self.sockets);
    }

    fn poll_at(&mut self, _now: u64) -> Option<u64> {
        self.iface
            .poll_at(&self.sockets)
            .map(RInstant::total_micros)
    }

    fn listen(&mut self, port: u16, n: usize) {
        let l = self.sockets.open().expect("listener slot");
        self.sockets
            .listen(l, Endpoint::new(self.iface.ipv4_addr(), port), n)
            .expect("listen");
        self.listener = Some(l);
    }

    fn accept(&mut self) -> Option<RHandle> {
        self.sockets.accept(self.listener?).ok()
    }

    fn connect(&mut self, now: u64, peer: usize, port: u16) -> Option<RHandle> {
        let c = self.sockets.open().ok()?;
        self.sockets
            .connect(
                RInstant::from_micros(now),
                c,
                Endpoint::new(self.iface.ipv4_addr(), 0),
                Endpoint::new(r_ip(peer), port),
            )
            .expect("connect");
        Some(c)
    }

    fn send_with<F: FnOnce(&mut [u8]) -> usize>(&mut self, c: RHandle, f: F) -> usize {
        self.sockets
            .send_with(c, |buf| {
                let n = f(buf);
                (n, n)
            })
            .unwrap_or(0)
    }

    fn recv_with<F: FnOnce(&[u8]) -> usize>(&mut self, c: RHandle, f: F) -> usize {
        self.sockets
            .recv_with(c, |data| {
                if data.is_empty() {
                    return (0, 0);
                }
                let n = f(data);
                (n, n)
            })
            .unwrap_or(0)
    }

    fn close(&mut self, c: RHandle) {
        let _ = self.sockets.close(c);
    }

    fn close_client(&mut self, c: RHandle) {
        let _ = self.sockets.close(c);
    }

    fn established(&self, c: RHandle) -> bool {
        self.sockets
            .get(c)
            .is_ok_and(|s| s.state() == RState::Established)
    }

    fn server_done(&mut self, _c: RHandle) -> bool {
        // `close` released the handle; the table finishes the connection.
        true
    }

    fn in_use(&self) -> usize {
        self.sockets.in_use()
    }

    fn own_timeouts(&self) -> Option<u64> {
        Some(self.sockets.stats().timeouts)
    }
}

// ---------------------------------------------------------------------------
// smoltcp

use smoltcp::iface::SocketStorage;
use smoltcp::iface::{Config, Interface as SIface, SocketHandle as SHandle, SocketSet as SSet};
use smoltcp::socket::tcp;
use smoltcp::time::Instant as SInstant;
use smoltcp::wire::{
    EthernetAddress as SEth, HardwareAddress, IpAddress, IpCidr, Ipv4Address as SIp,
};

/// A smoltcp node.
pub struct Smol {
    iface: SIface,
    sockets: SSet<'static>,
    dev: End,
    cfg: NodeCfg,
    created: usize,
    port: u16,
    /// The listening pool (sockets in LISTEN or SYN-RECEIVED).
    pool: Vec<SHandle>,
    /// Client sockets that are free to connect again.
    idle_clients: Vec<SHandle>,
    /// Closed client sockets not yet back to CLOSED.
    closing_clients: Vec<SHandle>,
    next_port: u16,
}

impl std::fmt::Debug for Smol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smol")
            .field("created", &self.created)
            .finish()
    }
}

fn s_ip(i: usize) -> SIp {
    let a = ip(i);
    SIp::new(a[0], a[1], a[2], a[3])
}

/// Leak a buffer: both stacks borrow their storage for `'static`, as on a
/// microcontroller (smoltcp is built without `alloc`). Filled with a
/// non-zero byte so every page is touched at setup, not during a timed run.
fn leak<T: Clone>(v: T, n: usize) -> &'static mut [T] {
    vec![v; n].leak()
}

impl Smol {
    fn new_socket(&mut self) -> Option<SHandle> {
        if self.created >= self.cfg.sockets {
            return None;
        }
        let n = if self.created < self.cfg.big_count {
            self.cfg.big
        } else {
            self.cfg.small
        };
        self.created += 1;
        let mut s = tcp::Socket::new(
            tcp::SocketBuffer::new(leak(0xa5u8, n)),
            tcp::SocketBuffer::new(leak(0xa5u8, n)),
        );
        s.set_nagle_enabled(!self.cfg.nodelay);
        Some(self.sockets.add(s))
    }

    fn sock(&mut self, h: SHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(h)
    }
}

impl Stack for Smol {
    type Conn = SHandle;
    const NAME: &'static str = "smoltcp";

    fn new(idx: usize, cfg: &NodeCfg, pool: Rc<Pool>, now: u64) -> Smol {
        let mut dev = End::new(pool, cfg.mtu);
        let mut config = Config::new(HardwareAddress::Ethernet(SEth(mac(idx))));
        config.random_seed = idx as u64 + 77;
        let mut iface = SIface::new(config, &mut dev, SInstant::from_micros(now as i64));
        iface.update_ip_addrs(|a| {
            a.push(IpCidr::new(IpAddress::Ipv4(s_ip(idx)), 24))
                .expect("address");
        });
        let storage: &'static mut [SocketStorage<'static>] =
            Vec::from_iter((0..cfg.sockets).map(|_| SocketStorage::EMPTY)).leak();
        Smol {
            iface,
            sockets: SSet::new(storage),
            dev,
            cfg: *cfg,
            created: 0,
            port: 0,
            pool: Vec::new(),
            idle_clients: Vec::new(),
            closing_clients: Vec::new(),
            next_port: 49152 + idx as u16 * 7,
        }
    }

    fn end(&mut self) -> &mut End {
        &mut self.dev
    }

    fn poll(&mut self, now: u64) {
        self.iface.poll(
            SInstant::from_micros(now as i64),
            &mut self.dev,
            &mut self.sockets,
        );
    }

    fn poll_at(&mut self, now: u64) -> Option<u64> {
        self.iface
            .poll_delay(SInstant::from_micros(now as i64), &self.sockets)
            .map(|d| now + d.total_micros())
    }

    fn listen(&mut self, port: u16, n: usize) {
        self.port = port;
        for _ in 0..n {
            let h = self.new_socket().expect("socket for the listening pool");
            self.sock(h).listen(port).expect("listen");
            self.pool.push(h);
        }
    }

    fn accept(&mut self) -> Option<SHandle> {
        // No backlog: the application scans its pool for a socket that has
        // left LISTEN/SYN-RECEIVED.
        let i = self.pool.iter().position(|&h| {
            !matches!(
                self.sockets.get::<tcp::Socket>(h).state(),
                tcp::State::Listen | tcp::State::SynReceived
            )
        })?;
        Some(self.pool.swap_remove(i))
    }

    fn connect(&mut self, _now: u64, peer: usize, port: u16) -> Option<SHandle> {
        if self.idle_clients.is_empty() {
            self.reap_clients();
        }
        let h = match self.idle_clients.pop() {
            Some(h) => h,
            None => self.new_socket()?,
        };
        self.next_port = if self.next_port >= 65000 {
            49152
        } else {
            self.next_port + 1
        };
        let local = self.next_port;
        let cx = self.iface.context();
        let s = self.sockets.get_mut::<tcp::Socket>(h);
        s.connect(cx, (IpAddress::Ipv4(s_ip(peer)), port), local)
            .expect("connect");
        Some(h)
    }

    fn send_with<F: FnOnce(&mut [u8]) -> usize>(&mut self, c: SHandle, f: F) -> usize {
        self.sock(c)
            .send(|buf| {
                let n = f(buf);
                (n, n)
            })
            .unwrap_or(0)
    }

    fn recv_with<F: FnOnce(&[u8]) -> usize>(&mut self, c: SHandle, f: F) -> usize {
        self.sock(c)
            .recv(|data| {
                if data.is_empty() {
                    return (0, 0);
                }
                let n = f(data);
                (n, n)
            })
            .unwrap_or(0)
    }

    fn close(&mut self, c: SHandle) {
        self.sock(c).close();
    }

    fn close_client(&mut self, c: SHandle) {
        self.sock(c).close();
        self.closing_clients.push(c);
    }

    fn established(&self, c: SHandle) -> bool {
        self.sockets.get::<tcp::Socket>(c).state() == tcp::State::Established
    }

    fn server_done(&mut self, c: SHandle) -> bool {
        let port = self.port;
        let s = self.sock(c);
        match s.state() {
            tcp::State::TimeWait | tcp::State::Closed => {
                // Reuse the socket now rather than after smoltcp's fixed
                // 10 s TIME-WAIT, as a pool-of-sockets server does.
                s.abort();
                s.listen(port).expect("listen");
                self.pool.push(c);
                true
            }
            _ => false,
        }
    }

    fn in_use(&self) -> usize {
        // Client side: sockets not yet back to CLOSED.
        self.sockets
            .iter()
            .filter_map(|(_, s)| match s {
                smoltcp::socket::Socket::Tcp(t) => Some(t),
                #[allow(unreachable_patterns)]
                _ => None,
            })
            .filter(|t| t.state() != tcp::State::Closed)
            .count()
    }

    fn own_timeouts(&self) -> Option<u64> {
        None
    }
}

impl Smol {
    /// Client side: sockets that reached CLOSED may connect again.
    fn reap_clients(&mut self) {
        let mut closing = std::mem::take(&mut self.closing_clients);
        closing.retain(|&h| {
            if self.sockets.get::<tcp::Socket>(h).state() == tcp::State::Closed {
                self.idle_clients.push(h);
                false
            } else {
                true
            }
        });
        self.closing_clients = closing;
    }
}
