//! BBR (draft-ietf-ccwg-bbr, the BBRv3 algorithm) in integer arithmetic.
//!
//! BBR models the path as a bottleneck bandwidth (a windowed maximum of the
//! delivery-rate samples, §4.5.2) and a round-trip propagation delay (a
//! windowed minimum of RTT samples, §4.5.3), and sends at `pacing_gain ×
//! bw` with at most `cwnd_gain × bw × min_rtt` in flight. Its state machine
//! (§4.3) is Startup → Drain → ProbeBW (Down, Cruise, Refill, Up) with
//! ProbeRTT every five seconds.
//!
//! Loss (§4.5.10): BBRv3 bounds in-flight data by `inflight_hi`, cut when a
//! probe for bandwidth loses more than 2% of what was in flight; random loss
//! outside a probe does not touch the model, which is why BBR keeps its rate
//! on a lossy path. The short-term lower bounds (`bw_lo`, `inflight_lo`) and
//! the ACK-aggregation allowance (`extra_acked`) of the draft are not
//! implemented: the long-term model and `inflight_hi` carry the loss
//! response, and `cwnd_gain = 2` covers delayed ACKs. One deliberate
//! deviation: while cruising, the headroom below `inflight_hi` never takes
//! the window under one BDP (see `set_cwnd`).
//!
//! Gains are in percent, bandwidth in bytes per second, times in
//! microseconds: no floating point (Cortex-M4 without FPU).

use super::{initial_window, AckSample, CongestionControl};
use crate::time::{Duration, Instant};

/// Startup pacing gain 4·ln 2 ≈ 2.77 (§4.6.1) and cwnd gain 2.
const STARTUP_PACING_GAIN: u64 = 277;
const STARTUP_CWND_GAIN: u64 = 200;
/// Drain pacing gain ≈ 1/2.77 (§4.3.2).
const DRAIN_PACING_GAIN: u64 = 35;
/// ProbeBW gains (§4.3.3).
const DOWN_PACING_GAIN: u64 = 90;
const UP_PACING_GAIN: u64 = 125;
const PROBE_BW_CWND_GAIN: u64 = 200;
const UP_CWND_GAIN: u64 = 225;
/// ProbeRTT: half a BDP for 200 ms at least every 5 s (§4.3.4).
const PROBE_RTT_CWND_GAIN: u64 = 50;
const PROBE_RTT_DURATION: Duration = Duration::from_millis(200);
const PROBE_RTT_INTERVAL: Duration = Duration::from_secs(5);
/// Min-RTT filter window (§4.5.3).
const MIN_RTT_FILTER_LEN: Duration = Duration::from_secs(10);
/// Loss rate above which a probe was too aggressive: 2% (§4.5.10).
const LOSS_THRESH_PERCENT: u64 = 2;
/// Multiplicative cut of inflight_hi: β = 0.7 (§4.5.10).
const BETA_PERCENT: u64 = 70;
/// Headroom left below inflight_hi while cruising: 15% (§4.5.10).
const HEADROOM_PERCENT: u64 = 15;
/// Pace 1% under the estimated bandwidth (§4.6.2).
const PACING_MARGIN_PERCENT: u64 = 1;
/// Startup ends when bandwidth grew less than 25% for 3 rounds (§4.3.1.2).
const FULL_BW_GROWTH_PERCENT: u64 = 125;
const FULL_BW_COUNT: u32 = 3;
/// Startup also ends after a round with this many loss events and a loss
/// rate above `LOSS_THRESH_PERCENT` (§4.3.1.3).
const FULL_LOSS_COUNT: u32 = 6;
/// Wall-clock bound on the wait between bandwidth probes: 2 s plus up to
/// 1 s of jitter (§4.3.3.5).
const PROBE_WAIT_BASE: Duration = Duration::from_secs(2);
/// Reno coexistence bound on the rounds between probes (§4.3.3.5).
const MAX_ROUNDS_BETWEEN_PROBES: u64 = 63;

/// The BBR state machine (§4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BbrState {
    /// Exponential search for the bottleneck bandwidth.
    Startup,
    /// Empty the queue Startup built.
    Drain,
    /// ProbeBW: pace under the estimate to leave headroom.
    ProbeBwDown,
    /// ProbeBW: pace at the estimate.
    ProbeBwCruise,
    /// ProbeBW: refill the pipe for one round before probing.
    ProbeBwRefill,
    /// ProbeBW: pace above the estimate to look for more bandwidth.
    ProbeBwUp,
    /// Drain the queue to measure the propagation delay.
    ProbeRtt,
}

/// BBR state (§4.1 and §4.2's variables).
#[derive(Debug, Clone, Copy)]
pub struct Bbr {
    state: BbrState,
    pacing_gain: u64,
    cwnd_gain: u64,
    cwnd: usize,
    prior_cwnd: usize,
    mss: usize,
    pacing_rate: u64,
    // Model.
    /// Max-bandwidth filter: the maxima of the current and the previous
    /// ProbeBW cycle (§4.5.2.4).
    bw_hi: [u64; 2],
    max_bw: u64,
    min_rtt: Option<Duration>,
    min_rtt_stamp: Instant,
    probe_rtt_min_delay: Option<Duration>,
    probe_rtt_min_stamp: Instant,
    /// Upper bound on in-flight data (bytes; `usize::MAX` while unset).
    inflight_hi: usize,
    // Round counting (§4.5.1).
    next_round_delivered: u64,
    /// C.delivered as of the last ACK.
    delivered: u64,
    round_start: bool,
    rounds_since_bw_probe: u64,
    // Startup exit (§4.3.1.2, §4.3.1.3).
    full_bw: u64,
    full_bw_count: u32,
    full_bw_reached: bool,
    loss_events_in_round: u32,
    lost_in_round: u64,
    delivered_in_round: u64,
    // ProbeBW.
    cycle_stamp: Instant,
    bw_probe_wait: Duration,
    /// A probe for bandwidth is in progress (its losses count).
    bw_probe_samples: bool,
    /// Advance the bandwidth filter at the next round start (the first
    /// round after a probe ends, §4.5.2.4 ACKS_PROBE_STOPPING).
    advance_filter_pending: bool,
    probe_up_rounds: u32,
    probe_up_cnt: usize,
    probe_up_acked: usize,
    // ProbeRTT.
    probe_rtt_done_stamp: Option<Instant>,
    probe_rtt_round_done: bool,
    idle_restart: bool,
}

fn percent(x: u64, gain: u64) -> u64 {
    x.saturating_mul(gain) / 100
}

impl Bbr {
    /// A fresh controller (§4.2.1 BBROnInit).
    pub fn new(mss: usize, now: Instant) -> Bbr {
        Bbr {
            state: BbrState::Startup,
            pacing_gain: STARTUP_PACING_GAIN,
            cwnd_gain: STARTUP_CWND_GAIN,
            cwnd: initial_window(mss),
            prior_cwnd: 0,
            mss: mss.max(1),
            pacing_rate: 0,
            bw_hi: [0; 2],
            max_bw: 0,
            min_rtt: None,
            min_rtt_stamp: now,
            probe_rtt_min_delay: None,
            probe_rtt_min_stamp: now,
            inflight_hi: usize::MAX,
            next_round_delivered: 0,
            delivered: 0,
            round_start: false,
            rounds_since_bw_probe: 0,
            full_bw: 0,
            full_bw_count: 0,
            full_bw_reached: false,
            loss_events_in_round: 0,
            lost_in_round: 0,
            delivered_in_round: 0,
            cycle_stamp: now,
            bw_probe_wait: PROBE_WAIT_BASE,
            bw_probe_samples: false,
            advance_filter_pending: false,
            probe_up_rounds: 0,
            probe_up_cnt: usize::MAX,
            probe_up_acked: 0,
            probe_rtt_done_stamp: None,
            probe_rtt_round_done: false,
            idle_restart: false,
        }
    }

    /// The state machine's current state.
    pub fn state(&self) -> BbrState {
        self.state
    }

    /// The bottleneck bandwidth estimate in bytes per second.
    pub fn max_bw(&self) -> u64 {
        self.max_bw
    }

    /// The propagation delay estimate.
    pub fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt
    }

    /// The loss-derived bound on in-flight data, if a probe has set one.
    pub fn inflight_hi(&self) -> Option<usize> {
        (self.inflight_hi != usize::MAX).then_some(self.inflight_hi)
    }

    /// Startup has found the bottleneck bandwidth.
    pub fn full_bw_reached(&self) -> bool {
        self.full_bw_reached
    }

    /// `gain × BDP` in bytes (§4.6.4.2 BBRBDPMultiple); the initial window
    /// while no RTT has been measured.
    fn bdp(&self, gain: u64) -> usize {
        let Some(rtt) = self.min_rtt else {
            return initial_window(self.mss);
        };
        let bdp = u128::from(self.max_bw) * u128::from(rtt.total_micros()) / 1_000_000;
        let bdp = u64::try_from(bdp).unwrap_or(u64::MAX);
        usize::try_from(percent(bdp, gain)).unwrap_or(usize::MAX)
    }

    /// The target for in-flight data at this gain: the BDP plus room for
    /// the segments a pacing quantum holds (§4.6.4.2, §4.6.4.3).
    fn inflight(&self, gain: u64) -> usize {
        let mut target = self.bdp(gain).saturating_add(3 * self.mss);
        if self.state == BbrState::ProbeBwUp {
            target = target.saturating_add(2 * self.mss);
        }
        target.max(self.min_pipe_cwnd())
    }

    fn min_pipe_cwnd(&self) -> usize {
        4 * self.mss
    }

    fn inflight_with_headroom(&self) -> usize {
        if self.inflight_hi == usize::MAX {
            return usize::MAX;
        }
        let headroom = (percent(self.inflight_hi as u64, HEADROOM_PERCENT) as usize).max(self.mss);
        self.inflight_hi
            .saturating_sub(headroom)
            .max(self.min_pipe_cwnd())
    }

    // --- rounds and the bandwidth model ---

    fn update_round(&mut self, prior_delivered: u64, total_delivered: u64) {
        self.delivered = self.delivered.max(total_delivered);
        if prior_delivered >= self.next_round_delivered {
            self.next_round_delivered = total_delivered;
            self.round_start = true;
            self.rounds_since_bw_probe = self.rounds_since_bw_probe.saturating_add(1);
        } else {
            self.round_start = false;
        }
    }

    fn update_max_bw(&mut self, bw: u64, app_limited: bool) {
        // §4.5.2.3: an application-limited sample only counts if it is
        // higher than the estimate.
        if bw >= self.max_bw || !app_limited {
            self.bw_hi[0] = self.bw_hi[0].max(bw);
            self.max_bw = self.bw_hi[0].max(self.bw_hi[1]);
        }
    }

    /// §4.5.1 BBRStartRound: the round ends when what is sent from now on
    /// is delivered.
    fn start_round(&mut self) {
        self.next_round_delivered = self.delivered;
    }

    fn advance_max_bw_filter(&mut self) {
        self.bw_hi[1] = self.bw_hi[0];
        self.bw_hi[0] = 0;
    }

    fn update_min_rtt(&mut self, now: Instant, rtt: Option<Duration>) {
        // §4.5.3: a 5 s filter drives ProbeRTT, a 10 s one is the model.
        let probe_expired = now > self.probe_rtt_min_stamp + PROBE_RTT_INTERVAL;
        if let Some(rtt) = rtt {
            if self.probe_rtt_min_delay.is_none_or(|m| rtt < m) || probe_expired {
                self.probe_rtt_min_delay = Some(rtt);
                self.probe_rtt_min_stamp = now;
            }
        }
        let min_expired = now > self.min_rtt_stamp + MIN_RTT_FILTER_LEN;
        if let Some(p) = self.probe_rtt_min_delay {
            if self.min_rtt.is_none_or(|m| p < m) || min_expired {
                self.min_rtt = Some(p);
                self.min_rtt_stamp = self.probe_rtt_min_stamp;
            }
        }
        if probe_expired && !self.idle_restart && self.state != BbrState::ProbeRtt {
            self.enter_probe_rtt();
        }
        self.idle_restart = false;
    }

    // --- Startup and Drain ---

    fn check_startup_done(&mut self, ack: &AckSample, app_limited: bool) {
        if self.round_start && !self.full_bw_reached && !app_limited {
            // §4.3.1.2: bandwidth plateau.
            if self.max_bw >= percent(self.full_bw, FULL_BW_GROWTH_PERCENT) {
                self.full_bw = self.max_bw;
                self.full_bw_count = 0;
            } else {
                self.full_bw_count += 1;
                if self.full_bw_count >= FULL_BW_COUNT {
                    self.full_bw_reached = true;
                }
            }
        }
        if self.state == BbrState::Startup && self.full_bw_reached {
            self.state = BbrState::Drain;
            self.pacing_gain = DRAIN_PACING_GAIN;
            self.cwnd_gain = STARTUP_CWND_GAIN;
        }
        if self.state == BbrState::Drain && ack.in_flight <= self.inflight(100) {
            // §4.3.2: the queue is gone.
            self.start_probe_bw_down(ack.now);
        }
    }

    // --- ProbeBW (§4.3.3) ---

    fn start_probe_bw_down(&mut self, now: Instant) {
        self.bw_probe_samples = false;
        self.probe_up_cnt = usize::MAX;
        // Randomised wait (§4.3.3.5); the clock's low bits are jitter
        // enough to keep flows that started together apart.
        self.rounds_since_bw_probe = now.total_micros() & 1;
        self.bw_probe_wait =
            PROBE_WAIT_BASE + Duration::from_micros(now.total_micros() % 1_000_000);
        self.cycle_stamp = now;
        self.advance_filter_pending = true;
        self.state = BbrState::ProbeBwDown;
        self.pacing_gain = DOWN_PACING_GAIN;
        self.cwnd_gain = PROBE_BW_CWND_GAIN;
    }

    fn start_probe_bw_cruise(&mut self) {
        self.state = BbrState::ProbeBwCruise;
        self.pacing_gain = 100;
        self.cwnd_gain = PROBE_BW_CWND_GAIN;
    }

    fn start_probe_bw_refill(&mut self) {
        self.probe_up_rounds = 0;
        self.probe_up_acked = 0;
        self.state = BbrState::ProbeBwRefill;
        self.pacing_gain = 100;
        self.cwnd_gain = PROBE_BW_CWND_GAIN;
        self.start_round();
    }

    fn start_probe_bw_up(&mut self, now: Instant) {
        self.bw_probe_samples = true;
        self.cycle_stamp = now;
        self.state = BbrState::ProbeBwUp;
        self.pacing_gain = UP_PACING_GAIN;
        self.cwnd_gain = UP_CWND_GAIN;
        self.raise_inflight_hi_slope();
    }

    /// §4.3.3.5: probe after the randomised wall-clock wait, or after as
    /// many rounds as Reno would take to grow by a BDP.
    fn time_to_probe_bw(&self, now: Instant) -> bool {
        let reno_rounds = (self.bdp(100) / self.mss) as u64;
        now - self.cycle_stamp > self.bw_probe_wait
            || self.rounds_since_bw_probe >= reno_rounds.min(MAX_ROUNDS_BETWEEN_PROBES)
    }

    fn update_probe_bw_phase(&mut self, ack: &AckSample) {
        if !self.full_bw_reached {
            return;
        }
        let now = ack.now;
        match self.state {
            BbrState::ProbeBwDown => {
                if self.time_to_probe_bw(now) {
                    self.start_probe_bw_refill();
                } else if ack.in_flight <= self.inflight_with_headroom()
                    && ack.in_flight <= self.inflight(100)
                {
                    self.start_probe_bw_cruise();
                }
            }
            BbrState::ProbeBwCruise if self.time_to_probe_bw(now) => {
                self.start_probe_bw_refill();
            }
            // One round of refilling, then probe (§4.3.3.6).
            BbrState::ProbeBwRefill if self.round_start => {
                self.start_probe_bw_up(now);
            }
            BbrState::ProbeBwUp => {
                let min_rtt = self.min_rtt.unwrap_or(Duration::ZERO);
                if now - self.cycle_stamp > min_rtt && ack.in_flight > self.inflight(UP_PACING_GAIN)
                {
                    self.start_probe_bw_down(now);
                }
            }
            _ => {}
        }
    }

    /// §4.5.10: let inflight_hi grow ever faster while probing up, so the
    /// bound does not hold back a path that got faster.
    fn raise_inflight_hi_slope(&mut self) {
        let growth = self.mss << self.probe_up_rounds.min(20);
        self.probe_up_rounds = (self.probe_up_rounds + 1).min(30);
        self.probe_up_cnt = (self.cwnd / growth).max(1) * self.mss;
    }

    fn probe_inflight_hi_upward(&mut self, delivered: usize, in_flight: usize) {
        if self.inflight_hi == usize::MAX || in_flight + self.mss < self.cwnd.min(self.inflight_hi)
        {
            // Not limited by the bound: nothing learnt about it.
            return;
        }
        self.probe_up_acked += delivered;
        if self.probe_up_acked >= self.probe_up_cnt {
            let steps = self.probe_up_acked / self.probe_up_cnt;
            self.probe_up_acked -= steps * self.probe_up_cnt;
            self.inflight_hi = self.inflight_hi.saturating_add(steps * self.mss);
        }
        if self.round_start {
            self.raise_inflight_hi_slope();
        }
    }

    /// §4.5.10 BBRAdaptUpperBounds: cut inflight_hi if a probe lost too
    /// much, else let it follow what was carried safely.
    fn adapt_upper_bounds(&mut self, ack: &AckSample) {
        let Some(rs) = ack.rate else { return };
        if self.advance_filter_pending && self.round_start {
            self.advance_filter_pending = false;
            if !rs.app_limited {
                self.advance_max_bw_filter();
            }
        }
        let too_high = rs.lost > 0
            && rs.lost * 100 > (rs.tx_in_flight as u64).saturating_mul(LOSS_THRESH_PERCENT);
        if too_high {
            if self.bw_probe_samples {
                // Only losses caused by our own probe lower the bound;
                // random loss between probes leaves the model alone.
                self.bw_probe_samples = false;
                if !rs.app_limited {
                    let beta = percent(self.bdp(100) as u64, BETA_PERCENT) as usize;
                    self.inflight_hi = rs.tx_in_flight.max(beta).max(self.min_pipe_cwnd());
                }
                if self.state == BbrState::ProbeBwUp {
                    self.start_probe_bw_down(ack.now);
                }
            }
            return;
        }
        if self.inflight_hi == usize::MAX {
            return;
        }
        if rs.tx_in_flight > self.inflight_hi {
            self.inflight_hi = rs.tx_in_flight;
        }
        if self.state == BbrState::ProbeBwUp {
            self.probe_inflight_hi_upward(ack.delivered, ack.in_flight);
        }
    }

    // --- ProbeRTT (§4.3.4) ---

    fn enter_probe_rtt(&mut self) {
        self.save_cwnd();
        self.state = BbrState::ProbeRtt;
        self.pacing_gain = 100;
        self.cwnd_gain = PROBE_RTT_CWND_GAIN;
        self.probe_rtt_done_stamp = None;
        self.probe_rtt_round_done = false;
    }

    fn handle_probe_rtt(&mut self, ack: &AckSample) {
        if self.state != BbrState::ProbeRtt {
            return;
        }
        let now = ack.now;
        match self.probe_rtt_done_stamp {
            None => {
                if ack.in_flight <= self.probe_rtt_cwnd() {
                    // The queue is drained: hold it for 200 ms and a round.
                    self.probe_rtt_done_stamp = Some(now + PROBE_RTT_DURATION);
                    self.probe_rtt_round_done = false;
                    self.start_round();
                }
            }
            Some(done) => {
                if self.round_start {
                    self.probe_rtt_round_done = true;
                }
                if self.probe_rtt_round_done && now > done {
                    self.probe_rtt_min_stamp = now;
                    self.cwnd = self.cwnd.max(self.prior_cwnd);
                    if self.full_bw_reached {
                        self.start_probe_bw_down(now);
                        self.start_probe_bw_cruise();
                    } else {
                        self.state = BbrState::Startup;
                        self.pacing_gain = STARTUP_PACING_GAIN;
                        self.cwnd_gain = STARTUP_CWND_GAIN;
                    }
                }
            }
        }
    }

    fn probe_rtt_cwnd(&self) -> usize {
        self.bdp(PROBE_RTT_CWND_GAIN).max(self.min_pipe_cwnd())
    }

    fn save_cwnd(&mut self) {
        self.prior_cwnd = if self.state == BbrState::ProbeRtt {
            self.prior_cwnd.max(self.cwnd)
        } else {
            self.cwnd
        };
    }

    // --- control parameters (§4.6) ---

    fn set_pacing_rate(&mut self) {
        if self.max_bw == 0 {
            return;
        }
        let rate = percent(
            percent(self.max_bw, self.pacing_gain),
            100 - PACING_MARGIN_PERCENT,
        );
        // §4.6.2: in Startup the rate only goes up.
        if self.full_bw_reached || rate > self.pacing_rate {
            self.pacing_rate = rate;
        }
    }

    fn init_pacing_rate(&mut self, srtt: Duration) {
        // §4.6.2 BBRInitPacingRate: the initial window per RTT, times the
        // startup gain.
        let us = srtt.total_micros().max(1);
        let nominal = (initial_window(self.mss) as u64).saturating_mul(1_000_000) / us;
        self.pacing_rate = percent(nominal, STARTUP_PACING_GAIN);
    }

    fn set_cwnd(&mut self, delivered: usize) {
        let target = self.inflight(self.cwnd_gain);
        if self.full_bw_reached {
            self.cwnd = self.cwnd.saturating_add(delivered).min(target);
        } else if self.cwnd < target || self.cwnd < initial_window(self.mss) {
            self.cwnd = self.cwnd.saturating_add(delivered);
        }
        self.cwnd = self.cwnd.max(self.min_pipe_cwnd());
        // §4.6.4.6 BBRBoundCwndForModel.
        let cap = match self.state {
            // Deviation from the draft, on purpose: the headroom below
            // inflight_hi never cuts the cruising window under one BDP (plus
            // the quantization budget). When random loss during a probe
            // sets inflight_hi near the BDP, the draft's 15% headroom would
            // hold in-flight data under the BDP, the delivery rate under the
            // estimate, and the bandwidth filter would follow it down round
            // after round: the collapse at random loss BBR exists to avoid.
            BbrState::ProbeBwCruise => self.inflight_with_headroom().max(self.inflight(100)),
            BbrState::ProbeRtt => self.inflight_with_headroom(),
            BbrState::ProbeBwDown | BbrState::ProbeBwRefill | BbrState::ProbeBwUp => {
                self.inflight_hi
            }
            BbrState::Startup | BbrState::Drain => usize::MAX,
        };
        self.cwnd = self.cwnd.min(cap).max(self.min_pipe_cwnd());
        if self.state == BbrState::ProbeRtt {
            self.cwnd = self.cwnd.min(self.probe_rtt_cwnd());
        }
    }
}

/// The model in one line, for traces: state, bottleneck bandwidth (kB/s),
/// minimum RTT (µs) and `inflight_hi` (bytes, or "-" while unset). Integer
/// only, like the rest of the controller.
///
/// ```
/// use rtcp_core::tcp::congestion::Bbr;
/// use rtcp_core::time::Instant;
/// let bbr = Bbr::new(1460, Instant::ZERO);
/// assert_eq!(bbr.to_string(), "Startup max_bw 0 kB/s min_rtt - inflight_hi -");
/// ```
impl core::fmt::Display for Bbr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{:?} max_bw {} kB/s min_rtt ",
            self.state,
            self.max_bw / 1000
        )?;
        match self.min_rtt {
            Some(rtt) => write!(f, "{} us", rtt.total_micros())?,
            None => f.write_str("-")?,
        }
        match self.inflight_hi() {
            Some(hi) => write!(f, " inflight_hi {hi}"),
            None => f.write_str(" inflight_hi -"),
        }
    }
}

impl CongestionControl for Bbr {
    fn window(&self) -> usize {
        self.cwnd
    }

    fn ssthresh(&self) -> usize {
        // BBR has no slow-start threshold; report "none" like a fresh Reno.
        usize::MAX / 2
    }

    fn pacing_rate(&self) -> Option<u64> {
        (self.pacing_rate > 0).then_some(self.pacing_rate)
    }

    fn uses_prr(&self) -> bool {
        // BBR keeps its model-based window through recovery.
        false
    }

    fn on_ack(&mut self, ack: &AckSample) {
        self.mss = ack.mss.max(1);
        if self.pacing_rate == 0 {
            if let Some(srtt) = ack.srtt.or(ack.rtt) {
                self.init_pacing_rate(srtt);
            }
        }
        let mut app_limited = true;
        if let Some(rs) = ack.rate {
            self.update_round(rs.prior_delivered, rs.total_delivered);
            app_limited = rs.app_limited;
            if let Some(bw) = rs.bytes_per_sec() {
                self.update_max_bw(bw, rs.app_limited);
            }
        } else {
            self.round_start = false;
        }
        if self.round_start {
            if self.state == BbrState::Startup && !self.full_bw_reached {
                // §4.3.1.3: too much loss in the round that just ended ends
                // Startup, and what was in flight bounds the model.
                let too_lossy = self.lost_in_round * 100
                    > (self.lost_in_round + self.delivered_in_round) * LOSS_THRESH_PERCENT;
                if self.loss_events_in_round >= FULL_LOSS_COUNT && too_lossy {
                    self.full_bw_reached = true;
                    self.inflight_hi = self.bdp(100).max(ack.in_flight);
                }
            }
            self.loss_events_in_round = 0;
            self.lost_in_round = 0;
            self.delivered_in_round = 0;
        }
        self.delivered_in_round += ack.delivered as u64;
        if ack.newly_lost > 0 {
            self.loss_events_in_round += 1;
            self.lost_in_round += ack.newly_lost as u64;
        }
        self.adapt_upper_bounds(ack);
        self.check_startup_done(ack, app_limited);
        self.update_probe_bw_phase(ack);
        self.update_min_rtt(ack.now, ack.rtt);
        self.handle_probe_rtt(ack);
        self.set_pacing_rate();
        self.set_cwnd(ack.delivered);
    }

    fn on_congestion_event(&mut self, _now: Instant, _in_flight: usize, _mss: usize) {
        // BBR's loss response is the model's (inflight_hi); the window is
        // kept for undo (§4.6.4.4 BBRSaveCwnd).
        self.save_cwnd();
    }

    fn on_recovery_exit(&mut self, _now: Instant, _in_flight: usize, _mss: usize) {
        // §4.6.4.4 BBRRestoreCwnd.
        self.cwnd = self.cwnd.max(self.prior_cwnd);
    }

    fn on_timeout(&mut self, _now: Instant, _in_flight: usize, mss: usize) {
        // §4.6.4.4: after an RTO everything is presumed lost; restart from
        // one segment and let the ACK clock rebuild the window.
        self.save_cwnd();
        self.cwnd = mss.max(1);
    }

    fn on_spurious_congestion(&mut self, _now: Instant) {
        self.cwnd = self.cwnd.max(self.prior_cwnd);
    }

    fn on_idle_restart(&mut self, now: Instant, _mss: usize) {
        // §4.4.2 (restarting from idle): pace at the estimated bandwidth,
        // not above it, and do not let the idle time start ProbeRTT.
        self.idle_restart = true;
        if matches!(
            self.state,
            BbrState::ProbeBwDown
                | BbrState::ProbeBwCruise
                | BbrState::ProbeBwRefill
                | BbrState::ProbeBwUp
        ) {
            self.pacing_rate = percent(self.max_bw, 100 - PACING_MARGIN_PERCENT);
        } else if self.state == BbrState::ProbeRtt
            && self.probe_rtt_done_stamp.is_some_and(|d| now > d)
        {
            self.probe_rtt_min_stamp = now;
            self.cwnd = self.cwnd.max(self.prior_cwnd);
            if self.full_bw_reached {
                self.start_probe_bw_down(now);
                self.start_probe_bw_cruise();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::congestion::RateSample;

    const MSS: usize = 1000;

    /// A path of `bw` bytes/s and `rtt`: feed `rounds` rounds of ACKs, one
    /// per segment, each carrying a rate sample at `min(sending rate, bw)`.
    struct Path {
        now: Instant,
        delivered: u64,
        bw: u64,
        rtt: Duration,
    }

    impl Path {
        fn round(&mut self, c: &mut Bbr, lost_every: Option<u64>) {
            let prior = self.delivered;
            let segs = (c.window() / MSS).max(1) as u64;
            // What the sender can put through: the window per RTT, capped
            // by pacing and by the bottleneck.
            let rate = (segs * MSS as u64 * 1_000_000 / self.rtt.total_micros())
                .min(self.bw)
                .min(c.pacing_rate().unwrap_or(u64::MAX));
            let step = Duration::from_micros(MSS as u64 * 1_000_000 / rate.max(1));
            for n in 0..segs {
                self.now += step;
                self.delivered += MSS as u64;
                let lost = lost_every.is_some_and(|k| (self.delivered / MSS as u64) % k == 0);
                c.on_ack(&AckSample {
                    now: self.now,
                    delivered: MSS,
                    acked: MSS,
                    in_flight: ((segs - n - 1) as usize) * MSS,
                    mss: MSS,
                    rtt: Some(self.rtt),
                    min_rtt: Some(self.rtt),
                    srtt: Some(self.rtt),
                    rate: Some(RateSample {
                        delivered: rate * self.rtt.total_micros() / 1_000_000,
                        interval: self.rtt,
                        prior_delivered: prior,
                        total_delivered: self.delivered,
                        tx_in_flight: (segs as usize) * MSS,
                        lost: if lost { MSS as u64 } else { 0 },
                        app_limited: false,
                    }),
                    in_recovery: false,
                    newly_lost: if lost { MSS } else { 0 },
                });
            }
        }
    }

    fn path() -> Path {
        Path {
            now: Instant::from_millis(1),
            delivered: 0,
            bw: 10_000_000,
            rtt: Duration::from_millis(20),
        }
    }

    #[test]
    fn startup_finds_the_bandwidth_then_drains_and_cruises() {
        let mut c = Bbr::new(MSS, Instant::ZERO);
        let mut p = path();
        let mut rounds = 0;
        while c.state() == BbrState::Startup && rounds < 40 {
            p.round(&mut c, None);
            rounds += 1;
        }
        assert!(c.full_bw_reached());
        // 10 MB/s within a percent, and BDP = 200 kB.
        assert!(c.max_bw().abs_diff(10_000_000) <= 100_000, "{}", c.max_bw());
        assert_eq!(c.min_rtt(), Some(Duration::from_millis(20)));
        for _ in 0..10 {
            p.round(&mut c, None);
        }
        assert!(
            matches!(
                c.state(),
                BbrState::ProbeBwDown
                    | BbrState::ProbeBwCruise
                    | BbrState::ProbeBwRefill
                    | BbrState::ProbeBwUp
            ),
            "{:?}",
            c.state()
        );
        // The window is about 2 BDP, and pacing near the bandwidth.
        assert!(
            c.window() >= 380_000 && c.window() <= 460_000,
            "{}",
            c.window()
        );
        let rate = c.pacing_rate().unwrap();
        assert!((8_500_000..=13_000_000).contains(&rate), "{rate}");
    }

    #[test]
    fn random_loss_between_probes_keeps_the_model() {
        let mut c = Bbr::new(MSS, Instant::ZERO);
        let mut p = path();
        for _ in 0..40 {
            p.round(&mut c, None);
        }
        let bw = c.max_bw();
        // 1% loss for 200 rounds (4 s, so ProbeRTT and probes happen).
        for _ in 0..200 {
            p.round(&mut c, Some(100));
        }
        assert!(c.max_bw() >= bw * 9 / 10, "{} {}", c.max_bw(), bw);
        assert!(c.window() >= 200_000, "{}", c.window());
    }

    #[test]
    fn probe_rtt_every_five_seconds() {
        let mut c = Bbr::new(MSS, Instant::ZERO);
        let mut p = path();
        let mut seen = false;
        // Eight seconds: one ProbeRTT (at about 5 s), over by 5.3 s.
        while p.now < Instant::from_secs(8) {
            p.round(&mut c, None);
            if c.state() == BbrState::ProbeRtt {
                seen = true;
                assert!(c.window() <= c.probe_rtt_cwnd());
            }
        }
        assert!(seen, "no ProbeRTT in 8 s");
        assert_eq!(c.min_rtt(), Some(Duration::from_millis(20)));
        assert_ne!(c.state(), BbrState::ProbeRtt);
    }

    #[test]
    fn heavy_loss_in_startup_sets_inflight_hi() {
        let mut c = Bbr::new(MSS, Instant::ZERO);
        let mut p = path();
        for _ in 0..4 {
            p.round(&mut c, None);
        }
        // 10% loss: startup must end and bound in-flight data.
        for _ in 0..3 {
            p.round(&mut c, Some(10));
        }
        assert!(c.full_bw_reached());
        assert!(c.inflight_hi().is_some());
    }
}
