//! The configuration as each socket keeps it: [`TcpConfig`] in fewer bytes.
//!
//! Every socket carries its own configuration (it can be changed per
//! socket, and an accepted connection inherits its listener's). The public
//! [`TcpConfig`] spells its times as [`Duration`]s, eight bytes each, and
//! its optional parts as `Option`s: 104 bytes on x86_64 and on a Cortex-M,
//! a third of smoltcp's whole socket (issue 9's per-connection budget).
//! Here each time is a [`PackedDuration`] of four bytes and the options are
//! flags, about half the size. [`SocketConfig::get`] gives the `TcpConfig`
//! back, identical for every time below 17 minutes and for whole
//! milliseconds below 12 days (see [`PackedDuration`]).

use super::congestion::CongestionAlgorithm;
use super::ecn::EcnMode;
use super::rtt::RtoConfig;
use super::{KeepAlive, TcpConfig};
use crate::time::Duration;
use crate::wire::Dscp;

/// A [`Duration`] in 32 bits: two bits of unit, 30 bits of count.
///
/// The finest unit the value fits in is used: microseconds up to about
/// 17.9 minutes (2^30 µs), then milliseconds up to about 12.4 days, then
/// seconds up to 34 years; anything longer, and [`Duration::MAX`], is kept
/// as `Duration::MAX` ("never"). A value kept in a coarser unit loses its
/// sub-unit part (a 20-minute timer set to the microsecond fires up to a
/// millisecond early). Every default of [`TcpConfig`] is kept exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PackedDuration(u32);

impl PackedDuration {
    const COUNT_BITS: u32 = 30;
    const COUNT_MAX: u64 = (1 << Self::COUNT_BITS) - 1;
    const MILLIS: u32 = 1 << Self::COUNT_BITS;
    const SECS: u32 = 2 << Self::COUNT_BITS;
    const MAX: PackedDuration = PackedDuration(u32::MAX);

    /// Pack `d` (see the type's documentation for the precision kept).
    /// Out of line: it runs when a configuration is set, and its 64-bit
    /// divisions are best kept in one copy of flash.
    #[inline(never)]
    pub(crate) const fn new(d: Duration) -> PackedDuration {
        let us = d.total_micros();
        if us <= Self::COUNT_MAX {
            PackedDuration(us as u32)
        } else if us / 1_000 <= Self::COUNT_MAX {
            PackedDuration(Self::MILLIS | (us / 1_000) as u32)
        } else if us / 1_000_000 <= Self::COUNT_MAX {
            PackedDuration(Self::SECS | (us / 1_000_000) as u32)
        } else {
            Self::MAX
        }
    }

    /// The duration kept. Out of line on 32-bit targets (flash), where
    /// the 64-bit multiplications are several instructions each.
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    pub(crate) const fn get(self) -> Duration {
        let count = (self.0 as u64) & Self::COUNT_MAX;
        // One multiplier per unit, which the compiler turns into a table
        // load: a match over three constructors compiled to a jump table,
        // and `get` runs on every segment (the delayed-ACK time, the RTO
        // bounds) from call sites whose units differ, so that indirect
        // jump was mispredicted about once per segment (callgrind
        // --branch-sim on `rtcp-compare --only bulk`). No overflow: the
        // count is below 2^30 and the largest multiplier below 2^20.
        let scale: u64 = match self.0 >> Self::COUNT_BITS {
            0 => 1,
            1 => 1_000,
            2 => 1_000_000,
            _ => 0,
        };
        if scale == 0 {
            Duration::MAX
        } else {
            Duration::from_micros(count * scale)
        }
    }
}

/// [`TcpConfig::nodelay`] (a bit of `SocketConfig::switches`).
const NODELAY: u8 = 1 << 0;
/// [`TcpConfig::window_scaling`].
const WINDOW_SCALING: u8 = 1 << 1;
/// [`TcpConfig::timestamps`].
const TIMESTAMPS: u8 = 1 << 2;
/// [`TcpConfig::sack`].
const SACK: u8 = 1 << 3;
/// [`TcpConfig::header_prediction`].
const HEADER_PREDICTION: u8 = 1 << 4;
/// [`TcpConfig::ack_delay`] is `Some`.
const HAS_ACK_DELAY: u8 = 1 << 5;
/// [`TcpConfig::keep_alive`] is `Some`.
const HAS_KEEP_ALIVE: u8 = 1 << 6;

/// A [`TcpConfig`] as a socket keeps it. The fields that are neither times
/// nor switches are the public ones, under the same names; the times and
/// the switches are read through the methods of the same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SocketConfig {
    ack_delay: PackedDuration,
    keep_alive_idle: PackedDuration,
    keep_alive_interval: PackedDuration,
    user_timeout: PackedDuration,
    rto_initial: PackedDuration,
    rto_min: PackedDuration,
    rto_max: PackedDuration,
    msl: PackedDuration,
    /// [`TcpConfig::challenge_ack_limit`].
    pub challenge_ack_limit: u16,
    /// The boolean settings and whether the optional times are set, one
    /// bit each (`NODELAY` ...): 8 B less per socket on thumbv7em than a
    /// byte each (issue 9).
    switches: u8,
    /// [`TcpConfig::congestion`].
    pub congestion: CongestionAlgorithm,
    /// [`TcpConfig::dscp`].
    pub dscp: Dscp,
    /// [`TcpConfig::r1`].
    pub r1: u8,
    /// [`TcpConfig::ecn`].
    pub ecn: EcnMode,
    /// [`TcpConfig::ecn_setup_retries`].
    pub ecn_setup_retries: u8,
    keep_alive_count: u8,
}

impl SocketConfig {
    /// `config`, packed.
    pub(crate) const fn new(config: &TcpConfig) -> SocketConfig {
        let (has_ack_delay, ack_delay) = match config.ack_delay {
            Some(d) => (true, d),
            None => (false, Duration::ZERO),
        };
        let (has_keep_alive, ka) = match config.keep_alive {
            Some(ka) => (true, ka),
            None => (
                false,
                KeepAlive {
                    idle: Duration::ZERO,
                    interval: Duration::ZERO,
                    count: 0,
                },
            ),
        };
        let switches = (if config.nodelay { NODELAY } else { 0 })
            | (if config.window_scaling { WINDOW_SCALING } else { 0 })
            | (if config.timestamps { TIMESTAMPS } else { 0 })
            // Without the `sack` feature SACK is never offered or accepted.
            | (if cfg!(feature = "sack") && config.sack { SACK } else { 0 })
            | (if config.header_prediction { HEADER_PREDICTION } else { 0 })
            | (if has_ack_delay { HAS_ACK_DELAY } else { 0 })
            | (if has_keep_alive { HAS_KEEP_ALIVE } else { 0 });
        SocketConfig {
            ack_delay: PackedDuration::new(ack_delay),
            keep_alive_idle: PackedDuration::new(ka.idle),
            keep_alive_interval: PackedDuration::new(ka.interval),
            user_timeout: PackedDuration::new(config.user_timeout),
            rto_initial: PackedDuration::new(config.rto.initial),
            rto_min: PackedDuration::new(config.rto.min),
            rto_max: PackedDuration::new(config.rto.max),
            msl: PackedDuration::new(config.msl),
            challenge_ack_limit: config.challenge_ack_limit,
            switches,
            congestion: config.congestion,
            dscp: config.dscp,
            r1: config.r1,
            ecn: config.ecn,
            ecn_setup_retries: config.ecn_setup_retries,
            keep_alive_count: ka.count,
        }
    }

    /// The configuration as a [`TcpConfig`].
    pub(crate) fn get(&self) -> TcpConfig {
        TcpConfig {
            nodelay: self.nodelay(),
            ack_delay: self.ack_delay(),
            keep_alive: self.keep_alive(),
            user_timeout: self.user_timeout(),
            rto: self.rto(),
            msl: self.msl(),
            window_scaling: self.window_scaling(),
            timestamps: self.timestamps(),
            sack: self.sack(),
            challenge_ack_limit: self.challenge_ack_limit,
            congestion: self.congestion,
            dscp: self.dscp,
            r1: self.r1,
            ecn: self.ecn,
            ecn_setup_retries: self.ecn_setup_retries,
            header_prediction: self.header_prediction(),
        }
    }

    #[inline]
    fn switch(&self, bit: u8) -> bool {
        self.switches & bit != 0
    }

    /// [`TcpConfig::nodelay`].
    #[inline]
    pub(crate) fn nodelay(&self) -> bool {
        self.switch(NODELAY)
    }

    /// Set [`TcpConfig::nodelay`].
    pub(crate) fn set_nodelay(&mut self, nodelay: bool) {
        if nodelay {
            self.switches |= NODELAY;
        } else {
            self.switches &= !NODELAY;
        }
    }

    /// [`TcpConfig::window_scaling`].
    #[inline]
    pub(crate) fn window_scaling(&self) -> bool {
        self.switch(WINDOW_SCALING)
    }

    /// [`TcpConfig::timestamps`].
    #[inline]
    pub(crate) fn timestamps(&self) -> bool {
        self.switch(TIMESTAMPS)
    }

    /// [`TcpConfig::sack`] (always off without the `sack` feature).
    #[inline]
    pub(crate) fn sack(&self) -> bool {
        self.switch(SACK)
    }

    /// [`TcpConfig::header_prediction`].
    #[inline]
    pub(crate) fn header_prediction(&self) -> bool {
        self.switch(HEADER_PREDICTION)
    }

    /// [`TcpConfig::ack_delay`].
    pub(crate) fn ack_delay(&self) -> Option<Duration> {
        self.switch(HAS_ACK_DELAY).then(|| self.ack_delay.get())
    }

    /// [`TcpConfig::keep_alive`].
    pub(crate) fn keep_alive(&self) -> Option<KeepAlive> {
        self.switch(HAS_KEEP_ALIVE).then(|| KeepAlive {
            idle: self.keep_alive_idle.get(),
            interval: self.keep_alive_interval.get(),
            count: self.keep_alive_count,
        })
    }

    /// [`TcpConfig::user_timeout`].
    pub(crate) fn user_timeout(&self) -> Duration {
        self.user_timeout.get()
    }

    /// [`TcpConfig::rto`].
    pub(crate) fn rto(&self) -> RtoConfig {
        RtoConfig {
            initial: self.rto_initial.get(),
            min: self.rto_min.get(),
            max: self.rto_max.get(),
        }
    }

    /// [`TcpConfig::msl`].
    pub(crate) fn msl(&self) -> Duration {
        self.msl.get()
    }
}

impl SocketConfig {
    /// `TcpConfig::DEFAULT`, packed at compile time.
    pub(crate) const DEFAULT: SocketConfig = SocketConfig::new(&TcpConfig::DEFAULT);
}

impl Default for SocketConfig {
    fn default() -> Self {
        SocketConfig::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_durations_keep_their_unit() {
        for d in [
            Duration::ZERO,
            Duration::from_micros(1),
            Duration::from_micros((1 << 30) - 1),
            Duration::from_millis(40),
            Duration::from_secs(180),
            Duration::from_secs(7200),
            Duration::from_millis((1 << 30) - 1),
            Duration::from_secs(86_400 * 365),
            Duration::MAX,
        ] {
            assert_eq!(PackedDuration::new(d).get(), d, "{d:?}");
        }
        // Past 2^30 µs the sub-millisecond part goes, past 2^30 ms the
        // sub-second part; past 2^30 s, "never".
        assert_eq!(
            PackedDuration::new(Duration::from_micros((1 << 30) + 1_999)).get(),
            Duration::from_millis(((1 << 30) + 1_999) / 1_000)
        );
        assert_eq!(
            PackedDuration::new(Duration::from_millis((1 << 30) + 1)).get(),
            Duration::from_secs(((1 << 30) + 1) / 1_000)
        );
        assert_eq!(
            PackedDuration::new(Duration::from_secs(1 << 30)).get(),
            Duration::MAX
        );
    }

    #[test]
    fn a_config_comes_back_unchanged() {
        let default = TcpConfig::default();
        // Without the `sack` feature SACK reads back off.
        let sack = cfg!(feature = "sack");
        assert_eq!(
            SocketConfig::new(&default).get(),
            TcpConfig { sack, ..default }
        );
        let other = TcpConfig {
            nodelay: true,
            ack_delay: None,
            keep_alive: Some(KeepAlive {
                idle: Duration::from_micros(1_234_567),
                interval: Duration::from_millis(75_001),
                count: 3,
            }),
            user_timeout: Duration::from_secs(100),
            rto: RtoConfig {
                initial: Duration::from_millis(300),
                min: Duration::from_micros(200_500),
                max: Duration::from_secs(600),
            },
            msl: Duration::ZERO,
            window_scaling: false,
            timestamps: false,
            sack: false,
            challenge_ack_limit: 1000,
            congestion: CongestionAlgorithm::NewReno,
            dscp: Dscp::DEFAULT,
            r1: 9,
            ecn: EcnMode::On,
            ecn_setup_retries: 4,
            header_prediction: false,
        };
        assert_eq!(SocketConfig::new(&other).get(), other);
    }

    /// Each switch is its own bit: flipping one alone comes back with only
    /// that one flipped, and `set_nodelay` touches nothing else.
    #[test]
    fn switches_are_independent() {
        let base = TcpConfig {
            sack: cfg!(feature = "sack"),
            ..TcpConfig::default()
        };
        let flips: [fn(&mut TcpConfig); 7] = [
            |c| c.nodelay = !c.nodelay,
            |c| c.window_scaling = !c.window_scaling,
            |c| c.timestamps = !c.timestamps,
            |c| c.sack = cfg!(feature = "sack") && !c.sack,
            |c| c.header_prediction = !c.header_prediction,
            |c| c.ack_delay = c.ack_delay.xor(Some(Duration::from_millis(7))),
            |c| {
                c.keep_alive = match c.keep_alive {
                    Some(_) => None,
                    None => Some(KeepAlive {
                        idle: Duration::from_secs(60),
                        interval: Duration::from_secs(5),
                        count: 4,
                    }),
                }
            },
        ];
        for flip in flips {
            let mut want = base;
            flip(&mut want);
            assert_eq!(SocketConfig::new(&want).get(), want);
        }
        let mut packed = SocketConfig::new(&base);
        for nodelay in [true, false, true] {
            packed.set_nodelay(nodelay);
            assert_eq!(packed.get(), TcpConfig { nodelay, ..base });
        }
    }
}
