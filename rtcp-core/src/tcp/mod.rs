//! The TCP engine (RFC 9293 and companions).
//!
//! - [`socket`]: the connection (TCB), its user calls and state.
//! - `input`: "segment arrives" processing (RFC 9293 §3.10.7).
//! - `output`: deciding what to send, and the timers (§3.8, RFC 6298).
//! - `predict`: header prediction, the fast path for in-order data.
//! - [`buffer`], [`assembler`]: send/receive storage and reassembly.
//! - [`rtt`], [`congestion`]: RTO estimation and congestion control.
//! - [`isn`]: initial sequence numbers (RFC 6528).
//! - `urgent`: the urgent pointer, both directions (§3.8.5, RFC 6093).
//! - [`ip`]: what each segment asks of IP (DSCP, ECN field, source route,
//!   negative advice).
//! - [`ecn`]: Explicit Congestion Notification (RFC 3168 §6.1).

pub mod assembler;
pub mod buffer;
mod clock;
pub(crate) mod config;
pub mod congestion;
pub mod ecn;
mod input;
pub mod ip;
pub mod isn;
pub mod output;
#[cfg(feature = "header-prediction")]
mod predict;
#[cfg(feature = "rack")]
pub mod rack;
pub mod recovery;
pub mod rtt;
pub mod scoreboard;
pub mod socket;
#[cfg(test)]
mod tests;
mod undo;
mod urgent;

pub use ecn::EcnMode;
pub use socket::TcpSocket;

use crate::time::Duration;
use crate::wire::{Dscp, Ipv4Address};
use core::fmt;

/// The segmentation limit the interface passes when it cuts super-segments
/// itself (`Interface::set_software_segmentation`): one above the largest
/// a device may offer (an IPv4 packet's 65,535 bytes), so a connection
/// can tell the two apart, and read as 65,535 for the size. Paced
/// connections send single segments under it.
#[cfg(feature = "tso")]
pub(crate) const SOFT_TSO: usize = u16::MAX as usize + 1;

/// The eleven connection states of RFC 9293 §3.3.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum State {
    /// No connection.
    Closed,
    /// Waiting for a connection request.
    Listen,
    /// SYN sent, waiting for a matching SYN.
    SynSent,
    /// SYN received and SYN sent, waiting for the ACK of our SYN.
    SynReceived,
    /// Open; data flows both ways.
    Established,
    /// We closed; our FIN is not yet acknowledged.
    FinWait1,
    /// Our FIN is acknowledged; waiting for the peer's FIN.
    FinWait2,
    /// The peer closed; waiting for our user to close.
    CloseWait,
    /// Both closed at once; waiting for the ACK of our FIN.
    Closing,
    /// The peer closed, then we did; waiting for the ACK of our FIN.
    LastAck,
    /// Waiting 2×MSL so that late segments die out.
    TimeWait,
}

impl State {
    /// A synchronized state (RFC 9293 §3.5): the handshake has completed.
    pub fn is_synchronized(self) -> bool {
        !matches!(
            self,
            State::Closed | State::Listen | State::SynSent | State::SynReceived
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        };
        f.write_str(name)
    }
}

/// Errors returned by socket calls, and the reason a connection failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TcpError {
    /// The handle does not name a live socket (closed, or reused since).
    InvalidHandle,
    /// The call is not allowed in the socket's current state.
    InvalidState,
    /// The socket is not connected.
    NotConnected,
    /// Nothing to read or no room to write right now.
    WouldBlock,
    /// The send side was shut down; no more data can be sent.
    SendClosed,
    /// The peer refused the connection (RST in SYN-SENT).
    ConnectionRefused,
    /// The peer reset the connection.
    ConnectionReset,
    /// The connection timed out (user timeout, SYN retries or keep-alive).
    TimedOut,
    /// The local endpoint is already in use.
    AddrInUse,
    /// Every slot of the socket table is taken.
    TableFull,
    /// No ephemeral port is free for this destination.
    NoEphemeralPort,
    /// An endpoint is unusable (port 0 where one is needed, unspecified
    /// remote address, ...).
    InvalidEndpoint,
    /// ICMP reported the network unreachable (a soft error: the connection
    /// carries on and may still succeed, RFC 9293 §3.9.2.2).
    NetworkUnreachable,
    /// ICMP reported the host unreachable (soft error).
    HostUnreachable,
    /// The call needs a cargo feature of rtcp-core that this build was
    /// compiled without (`urgent` for urgent data, `source-route` for
    /// source routes, `time-wait-recycling` for
    /// `SocketSet::set_time_wait_recycling(true)`).
    Unsupported,
}

/// An ICMP error quoting one of our segments, as the interface passes it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum IcmpError {
    /// Destination unreachable with its code, and the next-hop MTU for
    /// "fragmentation needed" (code 4, RFC 1191).
    Unreachable {
        /// ICMP code.
        code: u8,
        /// Next-hop MTU (code 4), else 0.
        next_hop_mtu: u16,
    },
    /// Time exceeded.
    TimeExceeded,
}

impl fmt::Display for TcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            TcpError::InvalidHandle => "invalid or stale socket handle",
            TcpError::InvalidState => "call not valid in this state",
            TcpError::NotConnected => "not connected",
            TcpError::WouldBlock => "operation would block",
            TcpError::SendClosed => "send side shut down",
            TcpError::ConnectionRefused => "connection refused",
            TcpError::ConnectionReset => "connection reset by peer",
            TcpError::TimedOut => "connection timed out",
            TcpError::AddrInUse => "address in use",
            TcpError::TableFull => "socket table full",
            TcpError::NoEphemeralPort => "no free ephemeral port",
            TcpError::InvalidEndpoint => "invalid endpoint",
            TcpError::NetworkUnreachable => "network unreachable",
            TcpError::HostUnreachable => "host unreachable",
            TcpError::Unsupported => "not supported by this build",
        };
        f.write_str(text)
    }
}

/// An IPv4 address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Endpoint {
    /// Address (unspecified on a listener means "any local address").
    pub addr: Ipv4Address,
    /// Port.
    pub port: u16,
}

impl Endpoint {
    /// An endpoint from an address and port.
    pub const fn new(addr: Ipv4Address, port: u16) -> Endpoint {
        Endpoint { addr, port }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.addr, self.port)
    }
}

/// Keep-alive parameters (RFC 9293 §3.8.4; RFC 1122 §4.2.3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KeepAlive {
    /// Idle time before the first probe (default two hours, MUST-26).
    pub idle: Duration,
    /// Time between unanswered probes.
    pub interval: Duration,
    /// Unanswered probes before the connection is declared dead.
    pub count: u8,
}

impl Default for KeepAlive {
    fn default() -> Self {
        KeepAlive {
            idle: Duration::from_secs(7200),
            interval: Duration::from_secs(75),
            count: 9,
        }
    }
}

/// Per-socket behaviour. `TcpConfig::default()` follows the RFCs.
///
/// A socket keeps its times in two bytes each: exact when a time is at
/// most 8191 units of a power of ten microseconds (every default here,
/// 1.5 s, 75 s, 7200 s), otherwise up to 0.13 % shorter, and from 81,910 s
/// (22 h 45 min) on "never" ([`TcpSocket::config`] reads them back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TcpConfig {
    /// Disable Nagle's algorithm (RFC 9293 §3.7.4); off by default.
    pub nodelay: bool,
    /// Delayed-ACK timeout; `None` ACKs every segment at once. Longer
    /// values are capped at 200 ms (RFC 9293 MUST-40 requires < 500 ms);
    /// default 40 ms. At least every second
    /// full-sized segment is ACKed at once regardless (RFC 5681 §4.2).
    pub ack_delay: Option<Duration>,
    /// Keep-alive, per connection (RFC 9293 MUST-24); off by default (MUST-25).
    /// Without rtcp-core's `keep-alive` feature it has no effect and reads
    /// back `None` (keep-alive is a MAY, RFC 9293 §3.8.4).
    pub keep_alive: Option<KeepAlive>,
    /// Give up on a connection whose data (or SYN) has gone unacknowledged
    /// this long (RFC 9293 §3.8.3 R2, at least 100 s; default 180 s).
    pub user_timeout: Duration,
    /// RTO bounds (RFC 6298).
    pub rto: rtt::RtoConfig,
    /// Maximum segment lifetime; TIME-WAIT lasts twice this (RFC 9293
    /// §3.4.2: 2 minutes).
    pub msl: Duration,
    /// Offer window scaling (RFC 7323).
    pub window_scaling: bool,
    /// Offer timestamps (RFC 7323).
    pub timestamps: bool,
    /// Offer SACK (RFC 2018). Without the crate feature `sack` SACK is
    /// never offered or accepted, whatever this says (a socket's
    /// configuration then reads back `false`).
    pub sack: bool,
    /// Challenge ACKs allowed per second (RFC 5961 §7).
    pub challenge_ack_limit: u16,
    /// Congestion controller (NewReno by default).
    pub congestion: congestion::CongestionAlgorithm,
    /// DSCP of the IPv4 header of every segment (RFC 9293 §3.9.1.9,
    /// MUST-48); default CS0. [`TcpSocket::set_dscp`] changes it per socket.
    pub dscp: Dscp,
    /// R1 (RFC 9293 §3.8.3, RFC 1122 §4.2.3.5): once this many
    /// retransmission timeouts of the same segment (or SYN) have happened
    /// in a row, each retransmission passes negative advice to IP, which
    /// makes the interface re-resolve the next hop (MUST-20). Default 3,
    /// the least RFC 1122 allows; 0 counts as 1.
    pub r1: u8,
    /// ECN (RFC 3168): [`EcnMode::Passive`] by default (agree when the
    /// peer asks, do not ask). Without the crate feature `ecn` it is never
    /// used, whatever this says.
    pub ecn: EcnMode,
    /// With [`EcnMode::On`], how many times an ECN-setup SYN is resent
    /// before the retransmissions go without ECE and CWR (RFC 3168
    /// §6.1.1.1: a middlebox may drop ECN-setup SYNs); default 1, FreeBSD's
    /// `net.inet.tcp.ecn.maxretries`.
    pub ecn_setup_retries: u8,
    /// Header prediction: in-order data on a quiet connection skips the
    /// full §3.10.7.4 steps, with the same outcome (see `TcpStats::predicted`).
    /// On by default; turning it off is for measurement and for tests that
    /// compare both paths. Without the crate feature `header-prediction` it
    /// has no effect.
    pub header_prediction: bool,
    /// With delayed ACKs on ([`ack_delay`](Self::ack_delay) `Some`), the
    /// ACK of the peer's FIN in ESTABLISHED waits like the ACK of data
    /// (RFC 1122 §4.2.3.2) instead of leaving at once. An application that
    /// answers the peer's close with its own then sends one segment, FIN
    /// with the ACK, instead of an ACK and a FIN: one segment fewer per
    /// connection closed that way, as with Linux. If the application does
    /// not close, the ACK leaves when the delayed-ACK timer fires. On by
    /// default; `false` ACKs a FIN at once, as FreeBSD does.
    pub delay_fin_ack: bool,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig::DEFAULT
    }
}

impl TcpConfig {
    /// `TcpConfig::default()`, as a constant.
    pub const DEFAULT: TcpConfig = TcpConfig {
        nodelay: false,
        ack_delay: Some(Duration::from_millis(40)),
        keep_alive: None,
        user_timeout: Duration::from_secs(180),
        rto: rtt::RtoConfig::DEFAULT,
        msl: Duration::from_secs(120),
        window_scaling: true,
        timestamps: true,
        sack: true,
        challenge_ack_limit: 10,
        congestion: congestion::CongestionAlgorithm::NewReno,
        dscp: Dscp::DEFAULT,
        r1: 3,
        ecn: EcnMode::Passive,
        ecn_setup_retries: 1,
        header_prediction: true,
        delay_fin_ack: true,
    };
}

/// The options a connection negotiated in its SYNs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NegotiatedOptions {
    /// Timestamps (RFC 7323 §3) are in use.
    pub timestamps: bool,
    /// SACK (RFC 2018) is in use.
    pub sack: bool,
    /// Window scaling (RFC 7323 §2): our send shift and receive shift.
    pub window_scale: Option<(u8, u8)>,
    /// ECN (RFC 3168) was agreed in the handshake.
    pub ecn: bool,
}

/// Counters kept per socket table and summed by the interface.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TcpStats {
    /// Segments emitted (a TSO super-segment counts once).
    pub segments_sent: u64,
    /// Of those, super-segments of several MSS: handed to a device with
    /// segmentation offload (`phy::Device::tso_max_size`), or cut by the
    /// interface itself (`Interface::set_software_segmentation`). Only
    /// with the `tso` feature.
    #[cfg(feature = "tso")]
    pub segments_offloaded: u64,
    /// Segments retransmitted (by timeout or fast retransmit).
    pub retransmissions: u64,
    /// Retransmission timeouts.
    pub timeouts: u64,
    /// Fast-recovery episodes (loss detected by duplicate ACKs, SACK or RACK).
    pub fast_retransmits: u64,
    /// Tail loss probes sent (RFC 8985 §7).
    pub tail_loss_probes: u64,
    /// Congestion responses undone because the retransmission proved
    /// spurious (D-SACK or timestamps).
    pub spurious_undos: u64,
    /// Segments that failed the acceptability test (§3.10.7.4).
    pub unacceptable: u64,
    /// Out-of-order segments dropped because every reassembly slot was taken.
    pub ooo_dropped: u64,
    /// Challenge ACKs sent (RFC 5961).
    pub challenge_acks: u64,
    /// Segments dropped by PAWS (RFC 7323 §5).
    pub paws_dropped: u64,
    /// SYNs dropped because the listener's backlog was full.
    pub backlog_full: u64,
    /// SYNs dropped because the socket table was full.
    pub table_full: u64,
    /// TIME-WAIT connections whose slot went to a new connection because
    /// the table was full (`SocketSet::set_time_wait_recycling`).
    pub time_wait_recycled: u64,
    /// RSTs sent for segments that matched no socket (§3.10.7.1).
    pub resets_sent: u64,
    /// Segments taken by header prediction (in-order data on a connection
    /// with nothing in flight and nothing unusual pending).
    pub predicted: u64,
}
