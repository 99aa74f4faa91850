//! Congestion control behind a trait: NewReno (RFC 5681, RFC 6582), CUBIC
//! (RFC 9438) and BBR (draft-ietf-ccwg-bbr).
//!
//! Integer arithmetic only: the engine must run on microcontrollers without
//! an FPU. The socket owns loss *detection* (duplicate ACKs, the SACK
//! scoreboard of RFC 6675, RACK-TLP of RFC 8985) and the window *during*
//! recovery (Proportional Rate Reduction, RFC 6937, for controllers that ask
//! for it); a controller decides the window and the pacing rate from the
//! events it is told about.
//!
//! The per-socket choice is [`CongestionAlgorithm`] in
//! [`TcpConfig`](super::TcpConfig).

#[cfg(feature = "bbr")]
mod bbr;
#[cfg(feature = "cubic")]
mod cubic;
mod newreno;
#[cfg(feature = "bbr")]
pub use bbr::{Bbr, BbrState};
#[cfg(feature = "cubic")]
pub use cubic::{cube_root, Cubic};
pub use newreno::NewReno;

use crate::time::{Duration, Instant};

/// Initial window (RFC 5681 §3.1 / RFC 3390 formula).
pub fn initial_window(mss: usize) -> usize {
    if mss > 2190 {
        2 * mss
    } else if mss > 1095 {
        3 * mss
    } else {
        4 * mss
    }
}

/// A delivery-rate sample (draft-cheng-iccrg-delivery-rate-estimation):
/// how much was delivered over how long, measured from the most recently
/// sent segment this ACK delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RateSample {
    /// Bytes delivered over the interval.
    pub delivered: u64,
    /// The interval (the longer of the send and the ACK intervals); zero
    /// when it was too short to trust (shorter than the minimum RTT), in
    /// which case the sample still counts rounds but gives no rate.
    pub interval: Duration,
    /// The connection's delivered count when the segment was sent
    /// (`P.delivered`): BBR counts round trips with it.
    pub prior_delivered: u64,
    /// The connection's delivered count after this ACK (`C.delivered`).
    pub total_delivered: u64,
    /// Bytes in flight when the segment was sent (`P.tx_in_flight`).
    pub tx_in_flight: usize,
    /// Bytes newly marked lost since the segment was sent.
    pub lost: u64,
    /// The sample was taken while the application, not the network,
    /// limited sending: it may understate the bandwidth.
    pub app_limited: bool,
}

impl RateSample {
    /// Delivery rate in bytes per second, if the interval is not zero.
    pub fn bytes_per_sec(&self) -> Option<u64> {
        let us = self.interval.total_micros();
        (us > 0).then(|| {
            let rate = u128::from(self.delivered) * 1_000_000 / u128::from(us);
            u64::try_from(rate).unwrap_or(u64::MAX)
        })
    }
}

/// What one acknowledgement told the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AckSample {
    /// When the ACK was processed.
    pub now: Instant,
    /// Bytes newly delivered: cumulatively acknowledged plus newly
    /// selectively acknowledged (RFC 6937's DeliveredData).
    pub delivered: usize,
    /// Bytes newly cumulatively acknowledged (SND.UNA advance, data only).
    pub acked: usize,
    /// Bytes in flight after the ACK (RFC 6675 "pipe").
    pub in_flight: usize,
    /// Sender MSS.
    pub mss: usize,
    /// The RTT measured by this ACK, if any (Karn's rule applied).
    pub rtt: Option<Duration>,
    /// Smallest RTT seen on the connection.
    pub min_rtt: Option<Duration>,
    /// Smoothed RTT (RFC 6298).
    pub srtt: Option<Duration>,
    /// A delivery-rate sample, when this ACK delivered something.
    pub rate: Option<RateSample>,
    /// The sender is in loss recovery (fast recovery or after an RTO).
    pub in_recovery: bool,
    /// Bytes newly marked lost while processing this ACK.
    pub newly_lost: usize,
}

/// What a congestion controller is told and what it decides.
///
/// Loss-based controllers (NewReno, CUBIC) grow the window in `on_ack`
/// outside recovery, set `ssthresh` in `on_congestion_event`, and let the
/// socket run PRR toward it; BBR answers `uses_prr() == false`, keeps its
/// own window through recovery and paces.
pub trait CongestionControl {
    /// The congestion window in bytes.
    fn window(&self) -> usize;
    /// Slow-start threshold in bytes.
    fn ssthresh(&self) -> usize;
    /// Pacing rate in bytes per second; `None` sends as fast as the window
    /// allows.
    fn pacing_rate(&self) -> Option<u64> {
        None
    }
    /// Whether the socket should run Proportional Rate Reduction (RFC 6937)
    /// toward `ssthresh()` during loss recovery. When `false` the socket
    /// uses `window()` throughout recovery.
    fn uses_prr(&self) -> bool {
        true
    }
    /// An acknowledgement arrived (also during recovery: `ack.in_recovery`
    /// says so; loss-based controllers do not grow the window then).
    fn on_ack(&mut self, ack: &AckSample);
    /// Loss was detected (three duplicate ACKs, RFC 6675 or RACK): a
    /// recovery episode starts. `in_flight` is the data outstanding before
    /// the reduction (RFC 5681 FlightSize).
    fn on_congestion_event(&mut self, now: Instant, in_flight: usize, mss: usize);
    /// The recovery episode ended: everything outstanding at its start is
    /// acknowledged. The window becomes `ssthresh` (RFC 6937 §3).
    fn on_recovery_exit(&mut self, now: Instant, in_flight: usize, mss: usize);
    /// The retransmission timer expired (RFC 5681 §3.1 eqn. 4).
    fn on_timeout(&mut self, now: Instant, in_flight: usize, mss: usize);
    /// The last congestion response was spurious (D-SACK or timestamps
    /// showed that nothing was lost): restore the state saved before it
    /// (RFC 5682 / RFC 3522 spirit). The engine calls it only with the
    /// `undo` feature; without it `NewReno` keeps nothing to restore and
    /// this does nothing.
    fn on_spurious_congestion(&mut self, now: Instant);
    /// The connection was idle for longer than an RTO (RFC 5681 §4.1).
    fn on_idle_restart(&mut self, now: Instant, mss: usize);
}

/// The controller a socket uses (`TcpConfig::congestion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CongestionAlgorithm {
    /// NewReno (RFC 5681, RFC 6582); the default.
    #[default]
    NewReno,
    /// CUBIC (RFC 9438) with HyStart++ (RFC 9406); feature `cubic`.
    #[cfg(feature = "cubic")]
    Cubic,
    /// BBR (draft-ietf-ccwg-bbr, BBRv3), paced; feature `bbr`.
    #[cfg(feature = "bbr")]
    Bbr,
}

impl CongestionAlgorithm {
    /// Every controller compiled into this build.
    pub const ALL: &'static [CongestionAlgorithm] = &[
        CongestionAlgorithm::NewReno,
        #[cfg(feature = "cubic")]
        CongestionAlgorithm::Cubic,
        #[cfg(feature = "bbr")]
        CongestionAlgorithm::Bbr,
    ];

    /// The lower-case name (`newreno`, `cubic`, `bbr`), as Linux spells it.
    pub const fn name(self) -> &'static str {
        match self {
            CongestionAlgorithm::NewReno => "newreno",
            #[cfg(feature = "cubic")]
            CongestionAlgorithm::Cubic => "cubic",
            #[cfg(feature = "bbr")]
            CongestionAlgorithm::Bbr => "bbr",
        }
    }

    /// The controller called `name` (case-insensitive), if compiled in.
    pub fn from_name(name: &str) -> Option<CongestionAlgorithm> {
        CongestionAlgorithm::ALL
            .iter()
            .copied()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }
}

/// The congestion controllers a socket can use, without allocation.
// Every socket holds its controller inline (rtcp-core does not allocate),
// so a build with `bbr` pays BBR's size in each socket whichever controller
// runs: that is the feature's price (rtcp-core/Cargo.toml says so). With `cubic`
// too, CUBIC is near BBR's size and the lint is quiet; with `bbr` alone it
// fires.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Congestion {
    /// NewReno (the default).
    NewReno(NewReno),
    /// CUBIC.
    #[cfg(feature = "cubic")]
    Cubic(Cubic),
    /// BBR.
    #[cfg(feature = "bbr")]
    Bbr(Bbr),
}

impl Congestion {
    /// A fresh controller of the given kind for a path with this MSS.
    pub fn new(algorithm: CongestionAlgorithm, mss: usize, now: Instant) -> Congestion {
        let _ = now;
        match algorithm {
            CongestionAlgorithm::NewReno => Congestion::NewReno(NewReno::new(mss)),
            #[cfg(feature = "cubic")]
            CongestionAlgorithm::Cubic => Congestion::Cubic(Cubic::new(mss)),
            #[cfg(feature = "bbr")]
            CongestionAlgorithm::Bbr => Congestion::Bbr(Bbr::new(mss, now)),
        }
    }

    /// The NewReno controller, if that is the one running: the socket
    /// tells it of an ACK without building an `AckSample` (it reads three
    /// of the sample's eleven fields).
    #[inline]
    pub(crate) fn as_newreno_mut(&mut self) -> Option<&mut NewReno> {
        match self {
            Congestion::NewReno(c) => Some(c),
            #[cfg(any(feature = "cubic", feature = "bbr"))]
            _ => None,
        }
    }

    /// Whether the controller reads delivery-rate samples
    /// ([`AckSample::rate`]): NewReno does not, so the socket skips
    /// computing them for it.
    #[cfg(any(feature = "cubic", feature = "bbr"))]
    #[inline]
    pub(crate) fn reads_rate_samples(&self) -> bool {
        !matches!(self, Congestion::NewReno(_))
    }

    /// `*self = Congestion::new(algorithm, mss, now)`, but written in
    /// place when the kind does not change: a new value of the whole enum
    /// (BBR's size whichever controller runs) was built aside and copied
    /// in, about 100 instructions per handshake on x86_64.
    pub(crate) fn restart(&mut self, algorithm: CongestionAlgorithm, mss: usize, now: Instant) {
        match (self, algorithm) {
            (Congestion::NewReno(c), CongestionAlgorithm::NewReno) => *c = NewReno::new(mss),
            #[cfg(feature = "cubic")]
            (Congestion::Cubic(c), CongestionAlgorithm::Cubic) => *c = Cubic::new(mss),
            #[cfg(feature = "bbr")]
            (Congestion::Bbr(c), CongestionAlgorithm::Bbr) => *c = Bbr::new(mss, now),
            // A change of kind (unreachable with NewReno alone compiled in).
            #[allow(unreachable_patterns)]
            (this, _) => {
                crate::cold_path();
                *this = Congestion::new(algorithm, mss, now);
            }
        }
    }

    /// Which controller this is.
    pub fn algorithm(&self) -> CongestionAlgorithm {
        match self {
            Congestion::NewReno(_) => CongestionAlgorithm::NewReno,
            #[cfg(feature = "cubic")]
            Congestion::Cubic(_) => CongestionAlgorithm::Cubic,
            #[cfg(feature = "bbr")]
            Congestion::Bbr(_) => CongestionAlgorithm::Bbr,
        }
    }
}

/// Calls `$body` with `$c` bound to the controller inside `$self`: a match,
/// so each call is direct (and the small ones inlined). A `&dyn` made every
/// `window()` on the send path an indirect call.
macro_rules! with_controller {
    ($self:expr, $c:ident => $body:expr) => {
        match $self {
            Congestion::NewReno($c) => $body,
            #[cfg(feature = "cubic")]
            Congestion::Cubic($c) => $body,
            #[cfg(feature = "bbr")]
            Congestion::Bbr($c) => $body,
        }
    };
}

impl CongestionControl for Congestion {
    #[inline]
    fn window(&self) -> usize {
        with_controller!(self, c => c.window())
    }
    #[inline]
    fn ssthresh(&self) -> usize {
        with_controller!(self, c => c.ssthresh())
    }
    #[inline]
    fn pacing_rate(&self) -> Option<u64> {
        with_controller!(self, c => c.pacing_rate())
    }
    #[inline]
    fn uses_prr(&self) -> bool {
        with_controller!(self, c => c.uses_prr())
    }
    fn on_ack(&mut self, ack: &AckSample) {
        with_controller!(self, c => c.on_ack(ack))
    }
    fn on_congestion_event(&mut self, now: Instant, in_flight: usize, mss: usize) {
        with_controller!(self, c => c.on_congestion_event(now, in_flight, mss))
    }
    fn on_recovery_exit(&mut self, now: Instant, in_flight: usize, mss: usize) {
        with_controller!(self, c => c.on_recovery_exit(now, in_flight, mss))
    }
    fn on_timeout(&mut self, now: Instant, in_flight: usize, mss: usize) {
        with_controller!(self, c => c.on_timeout(now, in_flight, mss))
    }
    fn on_spurious_congestion(&mut self, now: Instant) {
        with_controller!(self, c => c.on_spurious_congestion(now))
    }
    fn on_idle_restart(&mut self, now: Instant, mss: usize) {
        with_controller!(self, c => c.on_idle_restart(now, mss))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `restart` gives the controller `Congestion::new` would, of the same
    /// kind or of another (the socket's next connection may be configured
    /// with a different algorithm).
    #[test]
    fn restart_matches_new_whatever_the_kind() {
        let now = Instant::from_secs(3);
        let kinds = [
            CongestionAlgorithm::NewReno,
            #[cfg(feature = "cubic")]
            CongestionAlgorithm::Cubic,
            #[cfg(feature = "bbr")]
            CongestionAlgorithm::Bbr,
        ];
        for from in kinds {
            for to in kinds {
                let mut c = Congestion::new(from, 536, now);
                c.restart(to, 1460, now);
                assert_eq!(c.algorithm(), to);
                assert_eq!(c.window(), Congestion::new(to, 1460, now).window());
            }
        }
    }
}
