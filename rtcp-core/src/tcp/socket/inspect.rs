//! What the application can read and set on a socket: its state and
//! endpoints, configuration, queues and windows, RTT and congestion
//! figures (RFC 9293 §3.10.6, STATUS).

use crate::tcp::config::SocketConfig;
use crate::tcp::congestion::Congestion;
use crate::tcp::{Endpoint, NegotiatedOptions, State, TcpConfig, TcpError};
use crate::wire::{Dscp, SeqNumber, SourceRoute};

use super::{Flags, TcpSocket};

impl<'a, const LOG: usize> TcpSocket<'a, LOG> {
    /// The connection state.
    pub fn state(&self) -> State {
        self.hot.state
    }

    /// The local endpoint.
    pub fn local_endpoint(&self) -> Endpoint {
        self.local
    }

    /// The remote endpoint (unspecified on a listener).
    pub fn remote_endpoint(&self) -> Endpoint {
        self.remote
    }

    /// Why the connection failed, if it did (like `SO_ERROR`, not cleared).
    pub fn error(&self) -> Option<TcpError> {
        self.hot.error
    }

    /// The last ICMP error reported for this connection that did not end it
    /// (network or host unreachable), like Linux's `SO_ERROR` soft errors.
    pub fn soft_error(&self) -> Option<TcpError> {
        self.hot.soft_error
    }

    /// The configuration. The socket keeps it packed, so this is a copy
    /// rebuilt from that: each time in two bytes, exact when it is at most
    /// 8191 units of a power of ten microseconds (every default, 1.5 s,
    /// 75 s, 7200 s), otherwise up to 0.13 % shorter; from 81,910 s
    /// (22 h 45 min) on, [`Duration::MAX`](crate::time::Duration::MAX)
    /// ("never"). See `tcp/config.rs`.
    pub fn config(&self) -> TcpConfig {
        self.config.get()
    }

    /// Change the configuration (takes effect for timers armed later).
    pub fn set_config(&mut self, config: TcpConfig) {
        self.config = SocketConfig::new(&config);
    }

    /// Turn Nagle's algorithm off (`true`) or on.
    pub fn set_nodelay(&mut self, nodelay: bool) {
        self.config.set_nodelay(nodelay);
    }

    /// Set the DSCP of this socket's segments (RFC 9293 §3.9.1.9, MUST-48;
    /// the default comes from [`TcpConfig::dscp`]). Takes effect with the
    /// next segment sent.
    pub fn set_dscp(&mut self, dscp: Dscp) {
        self.config.dscp = dscp;
    }

    /// The DSCP of this socket's segments.
    pub fn dscp(&self) -> Dscp {
        self.config.dscp
    }

    /// Send this connection's segments along `route` (IPv4 loose or strict
    /// source routing, RFC 9293 §3.9.2.1, MUST-51), or with `None` go back
    /// to ordinary routing. Set it before `connect` (or `listen`: accepted
    /// connections inherit it) to cover the SYN. A route the application
    /// set is kept however the peer routes its datagrams (MUST-52); without
    /// one, a connection answers along the reverse of the route a received
    /// datagram recorded (MUST-53). Segments shrink by the option's size
    /// (RFC 9293 §3.7.1, MUST-16).
    ///
    /// Without the `source-route` feature a route is refused with
    /// [`TcpError::Unsupported`] (`None` is accepted and does nothing).
    pub fn set_source_route(&mut self, route: Option<SourceRoute>) -> Result<(), TcpError> {
        self.route.set_by_user(route)
    }

    /// The source route this connection's segments take, if any (set by
    /// the application or learned from the peer).
    pub fn source_route(&self) -> Option<&SourceRoute> {
        self.route.route()
    }

    /// Choose the congestion controller (like Linux's `TCP_CONGESTION`).
    /// Before the handshake completes this only sets the configuration; on
    /// a connected socket the new controller starts fresh at once (its own
    /// initial window, model and epoch), as nothing carries over between
    /// controllers' state.
    pub fn set_congestion(&mut self, algorithm: crate::tcp::congestion::CongestionAlgorithm) {
        self.config.congestion = algorithm;
        if self.hot.state.is_synchronized() && self.cc.algorithm() != algorithm {
            self.cc = Congestion::new(algorithm, self.mss(), self.last_rx());
        }
    }

    /// The congestion controller in use.
    pub fn congestion(&self) -> crate::tcp::congestion::CongestionAlgorithm {
        self.cc.algorithm()
    }

    /// The congestion controller's state (its window, and for BBR its
    /// model), for diagnostics and tests.
    pub fn congestion_control(&self) -> &Congestion {
        &self.cc
    }

    /// Bytes waiting to be read.
    pub fn recv_queue(&self) -> usize {
        self.rx.len()
    }

    /// Bytes queued for sending and not yet acknowledged.
    pub fn send_queue(&self) -> usize {
        self.tx.len()
    }

    /// Capacity of the send buffer.
    pub fn send_capacity(&self) -> usize {
        self.tx.capacity()
    }

    /// Capacity of the receive buffer.
    pub fn recv_capacity(&self) -> usize {
        self.rx.capacity()
    }

    /// The effective MSS for sending (peer's MSS bounded by ours).
    pub fn mss(&self) -> usize {
        usize::from(self.remote_mss.min(self.local_mss))
    }

    /// Smoothed RTT estimate, once measured.
    pub fn srtt(&self) -> Option<crate::time::Duration> {
        self.rtt.srtt()
    }

    /// The retransmission timeout to arm now (RFC 6298), with backoff
    /// applied (§5.5) and capped at the configured maximum.
    // Inline: on 64-bit hosts, since the configuration keeps its times
    // unpacked (`config::KeptDuration`), the call cost more than the body
    // (47 instructions per connection; out of line it had saved about 30
    // while each bound was unpacked). On 32-bit targets its `u64` clamps
    // were inlined at each caller (flash, issue 9), so there it is a thin
    // inline call to `rto_backed_off`, the out-of-line part, which the
    // persist timer shares.
    #[inline]
    pub fn rto(&self) -> crate::time::Duration {
        #[cfg(target_pointer_width = "32")]
        let rto = self.rto_backed_off(self.rtt.backoff());
        // The bounds read one at a time, only those this estimate needs:
        // it runs each time the retransmission timer is armed, several
        // times per connection (on 64-bit hosts the configuration keeps
        // them unpacked, `config::KeptDuration`).
        #[cfg(not(target_pointer_width = "32"))]
        let rto = {
            let config = &self.config;
            self.rtt.rto_from(
                || config.rto_initial(),
                || config.rto_min(),
                || config.rto_max(),
            )
        };
        debug_assert_eq!(rto, self.rtt.rto(&self.config.rto()));
        rto
    }

    /// The RTO doubled `backoff` times (RFC 6298 §5.5), within the
    /// configured bounds: the retransmission timer's with its own count,
    /// the persist timer's with the probes' (RFC 9293 §3.8.6.1).
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    pub(crate) fn rto_backed_off(&self, backoff: u8) -> crate::time::Duration {
        let config = &self.config;
        self.rtt.rto_from_with_backoff(
            backoff,
            || config.rto_initial(),
            || config.rto_min(),
            || config.rto_max(),
        )
    }

    /// Current slow-start threshold in bytes (RFC 5681).
    pub fn ssthresh(&self) -> usize {
        use crate::tcp::congestion::CongestionControl;
        self.cc.ssthresh()
    }

    /// The congestion window in bytes.
    pub fn cwnd(&self) -> usize {
        use crate::tcp::congestion::CongestionControl;
        self.cc.window()
    }

    /// SACK was negotiated (RFC 2018) and this build has the `sack`
    /// feature: a constant `false` without it, so the compiler drops every
    /// SACK path (there is no `sack_ok` field there: the packed
    /// configuration never offers SACK).
    /// The shift applied to the peer's window field (RFC 7323 §2.3).
    #[inline]
    pub(crate) fn snd_shift(&self) -> u8 {
        self.hot.shifts & 0x0f
    }

    /// The shift applied to the window we advertise (RFC 7323 §2.3).
    #[inline]
    pub(crate) fn rcv_shift(&self) -> u8 {
        self.hot.shifts >> 4
    }

    /// Set the send shift; callers clamp it to `MAX_WINDOW_SHIFT` (14),
    /// which fits a nibble.
    #[inline]
    pub(crate) fn set_snd_shift(&mut self, shift: u8) {
        self.hot.shifts = (self.hot.shifts & 0xf0) | (shift & 0x0f);
    }

    /// Set the receive shift (at most `MAX_WINDOW_SHIFT`, as for the send
    /// shift).
    #[inline]
    pub(crate) fn set_rcv_shift(&mut self, shift: u8) {
        self.hot.shifts = (self.hot.shifts & 0x0f) | (shift << 4);
    }

    pub(crate) fn sack_enabled(&self) -> bool {
        #[cfg(feature = "sack")]
        return self.hot.flags.get(Flags::SACK_OK);
        #[cfg(not(feature = "sack"))]
        false
    }

    /// The options this connection negotiated in its SYNs, for
    /// diagnostics (what `TCP_INFO`'s `tcpi_options` reports).
    pub fn negotiated_options(&self) -> NegotiatedOptions {
        NegotiatedOptions {
            timestamps: self.hot.flags.get(Flags::TS_OK),
            sack: self.sack_enabled(),
            window_scale: self
                .hot
                .flags
                .get(Flags::WS_OK)
                .then_some((self.snd_shift(), self.rcv_shift())),
            ecn: self.ecn_negotiated(),
        }
    }

    /// SND.UNA, SND.NXT and RCV.NXT, for tests and diagnostics.
    pub fn sequence_state(&self) -> (SeqNumber, SeqNumber, SeqNumber) {
        (self.snd_una, self.snd_nxt, self.rcv_nxt)
    }

    /// The window we would advertise now, in bytes.
    pub fn recv_window(&self) -> usize {
        self.rcv_adv.checked_since(self.rcv_nxt).unwrap_or(0)
    }

    /// The peer's window, in bytes.
    pub fn send_window(&self) -> usize {
        self.snd_wnd
    }

    /// Whether the connection is open in a state where data can be queued.
    pub fn may_send(&self) -> bool {
        !self.hot.flags.get(Flags::TX_CLOSED)
            && matches!(
                self.hot.state,
                State::SynSent | State::SynReceived | State::Established | State::CloseWait
            )
    }

    /// Whether more data can still arrive or is waiting to be read.
    pub fn may_recv(&self) -> bool {
        !self.rx.is_empty()
            || matches!(
                self.hot.state,
                State::SynSent
                    | State::SynReceived
                    | State::Established
                    | State::FinWait1
                    | State::FinWait2
            )
    }

    /// There is room in the send buffer and sending is allowed.
    pub fn can_send(&self) -> bool {
        self.may_send() && self.tx.window() > 0
    }

    /// There is data to read.
    pub fn can_recv(&self) -> bool {
        !self.rx.is_empty()
    }

    /// The peer has closed its side and everything it sent has been read.
    pub fn is_eof(&self) -> bool {
        self.rx.is_empty() && self.hot.flags.get(Flags::RX_FIN_RECEIVED)
    }

    /// An established connection, or one closing in an orderly way.
    pub fn is_active(&self) -> bool {
        !matches!(
            self.hot.state,
            State::Closed | State::Listen | State::TimeWait
        )
    }
}
