//! The configuration as each socket keeps it: [`TcpConfig`] in fewer bytes.
//!
//! Every socket carries its own configuration (it can be changed per
//! socket, and an accepted connection inherits its listener's). The public
//! [`TcpConfig`] spells its times as [`Duration`]s, eight bytes each, and
//! its optional parts as `Option`s: 104 bytes on x86_64 and on a Cortex-M,
//! a third of smoltcp's whole socket (issue 9's per-connection budget).
//! Here each time is a [`PackedDuration`] of two bytes and the options are
//! flags, under a quarter of the size (on 64-bit hosts the times are kept
//! unpacked, with the same values: see `KeptDuration`).
//! [`SocketConfig::get`] gives the `TcpConfig` back, identical for every
//! time of at most 8191 units of a power of ten microseconds below 22
//! hours (see [`PackedDuration`]).

use super::congestion::CongestionAlgorithm;
use super::ecn::EcnMode;
use super::rtt::RtoConfig;
use super::{KeepAlive, TcpConfig};
use crate::time::{div_rem_small, Duration};
use crate::wire::Dscp;

/// A [`Duration`] in 16 bits: a count of 13 bits (0..=8191) times a
/// power of ten microseconds (3 bits: 1 µs up to 10 s).
///
/// The finest power the value fits in is used and the rest truncated: a
/// value that is at most 8191 times a power of ten microseconds (1.5 s,
/// 75 s, 200.5 ms, 7200 s, every default of [`TcpConfig`]) is kept
/// exactly, and any other loses under 0.13 % (1.234567 s is kept as
/// 1.234 s, 9.999 s as 9.99 s: a timer fires that much early, never
/// late). The range ends below 81,910 s (22 h 45 min):
/// anything longer, and [`Duration::MAX`], is kept as `Duration::MAX`
/// ("never"). Linux has narrower ranges for the same settings
/// (`TCP_KEEPIDLE` is at most 32,767 s). Two bytes instead of four for each
/// of the eight times (six without the `keep-alive` feature): 16 B (12 B)
/// per socket (issue 9: smoltcp's whole socket is 312 B on thumbv7em).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PackedDuration(u16);

impl PackedDuration {
    const COUNT_BITS: u32 = 13;
    const COUNT_MAX: u64 = (1 << Self::COUNT_BITS) - 1;
    /// The largest power of ten (10^7 µs = 10 s).
    const EXPONENT_MAX: u16 = 7;
    /// All ones (8191 × 10 s would be the largest finite value).
    const MAX: PackedDuration = PackedDuration(u16::MAX);

    /// Pack `d` (see the type's documentation for the precision kept).
    /// Out of line: it runs when a configuration is set, and is best kept
    /// in one copy of flash.
    #[inline(never)]
    pub(crate) const fn new(d: Duration) -> PackedDuration {
        let mut count = d.total_micros();
        let mut exponent = 0;
        while count > Self::COUNT_MAX {
            if exponent == Self::EXPONENT_MAX {
                return Self::MAX;
            }
            count = div_rem_small(count, 10).0;
            exponent += 1;
        }
        // Exactly 8191 × 10 s packs to all ones and reads back as "never".
        PackedDuration((exponent << Self::COUNT_BITS) | count as u16)
    }

    /// The duration kept. Out of line on 32-bit targets (flash), where
    /// the 64-bit multiplication is several instructions.
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    pub(crate) const fn get(self) -> Duration {
        if self.0 == Self::MAX.0 {
            return Duration::MAX;
        }
        let count = (self.0 as u64) & Self::COUNT_MAX;
        // A match of constants, which the compiler turns into a table
        // load: `get` runs on every segment (the delayed-ACK time, the RTO
        // bounds) from call sites whose exponents differ, and an indirect
        // jump there was mispredicted about once per segment (callgrind
        // --branch-sim on `rtcp-compare --only bulk`). No overflow: the
        // count is below 2^13 and the multiplier at most 10^7.
        let scale: u64 = match self.0 >> Self::COUNT_BITS {
            0 => 1,
            1 => 10,
            2 => 100,
            3 => 1_000,
            4 => 10_000,
            5 => 100_000,
            6 => 1_000_000,
            _ => 10_000_000,
        };
        Duration::from_micros(count * scale)
    }
}

/// A time as a socket keeps it: a [`PackedDuration`] on 32-bit targets,
/// where RAM counts; on 64-bit hosts the value a `PackedDuration` would
/// give back, already unpacked (8 B instead of 2, in a socket of several
/// KB there). The same value on every target, read with a load on hosts:
/// the times are read each time a timer is armed or planned (the RTO
/// bounds, the user timeout, the delayed-ACK time), and each unpacking was
/// a table load and a multiplication (150 instructions per connection in
/// the connection-rate benchmark, issue 9; unpacking only the RTO bounds
/// and the user timeout saved a third less).
#[cfg(not(target_pointer_width = "64"))]
type KeptDuration = PackedDuration;
#[cfg(target_pointer_width = "64")]
type KeptDuration = UnpackedDuration;

/// A [`PackedDuration`]'s value, unpacked (see `KeptDuration`).
#[cfg(target_pointer_width = "64")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UnpackedDuration(Duration);

#[cfg(target_pointer_width = "64")]
impl UnpackedDuration {
    /// `d` as a [`PackedDuration`] keeps it.
    const fn new(d: Duration) -> UnpackedDuration {
        UnpackedDuration(PackedDuration::new(d).get())
    }

    /// The duration kept.
    #[inline(always)]
    const fn get(self) -> Duration {
        self.0
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
/// [`TcpConfig::delay_fin_ack`].
const DELAY_FIN_ACK: u8 = 1 << 7;

/// A [`TcpConfig`] as a socket keeps it. The fields that are neither times
/// nor switches are the public ones, under the same names; the times and
/// the switches are read through the methods of the same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SocketConfig {
    ack_delay: KeptDuration,
    #[cfg(feature = "keep-alive")]
    keep_alive_idle: KeptDuration,
    #[cfg(feature = "keep-alive")]
    keep_alive_interval: KeptDuration,
    user_timeout: KeptDuration,
    rto_initial: KeptDuration,
    rto_min: KeptDuration,
    rto_max: KeptDuration,
    msl: KeptDuration,
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
    #[cfg(feature = "keep-alive")]
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
        #[cfg(not(feature = "keep-alive"))]
        let _ = ka;
        let switches = (if config.nodelay { NODELAY } else { 0 })
            | (if config.window_scaling { WINDOW_SCALING } else { 0 })
            | (if config.timestamps { TIMESTAMPS } else { 0 })
            // Without the `sack` feature SACK is never offered or accepted.
            | (if cfg!(feature = "sack") && config.sack { SACK } else { 0 })
            | (if config.header_prediction { HEADER_PREDICTION } else { 0 })
            | (if has_ack_delay { HAS_ACK_DELAY } else { 0 })
            // Without the `keep-alive` feature keep-alive is never on.
            | (if cfg!(feature = "keep-alive") && has_keep_alive { HAS_KEEP_ALIVE } else { 0 })
            | (if config.delay_fin_ack { DELAY_FIN_ACK } else { 0 });
        SocketConfig {
            ack_delay: KeptDuration::new(ack_delay),
            #[cfg(feature = "keep-alive")]
            keep_alive_idle: KeptDuration::new(ka.idle),
            #[cfg(feature = "keep-alive")]
            keep_alive_interval: KeptDuration::new(ka.interval),
            user_timeout: KeptDuration::new(config.user_timeout),
            rto_initial: KeptDuration::new(config.rto.initial),
            rto_min: KeptDuration::new(config.rto.min),
            rto_max: KeptDuration::new(config.rto.max),
            msl: KeptDuration::new(config.msl),
            challenge_ack_limit: config.challenge_ack_limit,
            switches,
            congestion: config.congestion,
            dscp: config.dscp,
            r1: config.r1,
            ecn: config.ecn,
            ecn_setup_retries: config.ecn_setup_retries,
            #[cfg(feature = "keep-alive")]
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
            delay_fin_ack: self.delay_fin_ack(),
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

    /// [`TcpConfig::delay_fin_ack`].
    #[inline]
    pub(crate) fn delay_fin_ack(&self) -> bool {
        self.switch(DELAY_FIN_ACK)
    }

    /// Whether ACKs may be delayed ([`TcpConfig::ack_delay`] is set),
    /// without decoding the delay: the in-order receive path asks on every
    /// segment and needs the delay only when it starts the timer.
    #[inline]
    pub(crate) fn delays_acks(&self) -> bool {
        self.switch(HAS_ACK_DELAY)
    }

    /// [`TcpConfig::ack_delay`].
    pub(crate) fn ack_delay(&self) -> Option<Duration> {
        self.switch(HAS_ACK_DELAY).then(|| self.ack_delay.get())
    }

    /// [`TcpConfig::keep_alive`].
    /// Always `None` without the `keep-alive` feature, which leaves out
    /// the probes' code and the keep-alive times (flash and RAM, issue 9).
    pub(crate) fn keep_alive(&self) -> Option<KeepAlive> {
        #[cfg(feature = "keep-alive")]
        return self.switch(HAS_KEEP_ALIVE).then(|| KeepAlive {
            idle: self.keep_alive_idle.get(),
            interval: self.keep_alive_interval.get(),
            count: self.keep_alive_count,
        });
        #[cfg(not(feature = "keep-alive"))]
        None
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

    /// [`RtoConfig::initial`].
    pub(crate) fn rto_initial(&self) -> Duration {
        self.rto_initial.get()
    }

    /// [`RtoConfig::min`].
    pub(crate) fn rto_min(&self) -> Duration {
        self.rto_min.get()
    }

    /// [`RtoConfig::max`].
    pub(crate) fn rto_max(&self) -> Duration {
        self.rto_max.get()
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
            Duration::from_micros(8191),
            Duration::from_micros(200_500),
            Duration::from_millis(40),
            Duration::from_millis(1_500),
            Duration::from_secs(180),
            Duration::from_secs(7200),
            Duration::from_secs(81_900),
            Duration::MAX,
        ] {
            assert_eq!(PackedDuration::new(d).get(), d, "{d:?}");
        }
        // Past 8191 of a unit the next power of ten is used, truncating.
        for (given, kept) in [
            (8_192, 8_190),
            (1_234_567, 1_234_000),
            (9_999_000, 9_990_000),
            (75_001_000, 75_000_000),
        ] {
            assert_eq!(
                PackedDuration::new(Duration::from_micros(given)).get(),
                Duration::from_micros(kept),
                "{given} µs"
            );
        }
        // 8191 × 10 s is the all-ones pattern, and beyond it is "never".
        assert_eq!(
            PackedDuration::new(Duration::from_secs(81_910)).get(),
            Duration::MAX
        );
        assert_eq!(
            PackedDuration::new(Duration::from_secs(86_400)).get(),
            Duration::MAX
        );
    }

    /// Every duration within the range comes back no later than given and
    /// less than 0.13 % (1/819, the worst truncation of a 13-bit count
    /// with its leading digit kept) earlier.
    #[test]
    fn packed_durations_truncate_by_under_one_part_in_819() {
        let mut us: u64 = 1;
        while us < 81_900_000_000 {
            for d in [us, us + 1, us * 3 / 2, us * 7 + 13] {
                if d >= 81_900_000_000 {
                    continue;
                }
                let kept = PackedDuration::new(Duration::from_micros(d))
                    .get()
                    .total_micros();
                assert!(kept <= d, "{d} µs kept as {kept}");
                assert!((d - kept) * 819 < d, "{d} µs kept as {kept}");
            }
            us = us * 2 + 1;
        }
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
                idle: Duration::from_micros(1_234),
                interval: Duration::from_millis(75_000),
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
            delay_fin_ack: false,
        };
        // Without the `keep-alive` feature keep-alive reads back off.
        assert_eq!(SocketConfig::new(&other).get(), without_keep_alive(other));
    }

    /// `config` as a socket keeps it: keep-alive off without the
    /// `keep-alive` feature.
    fn without_keep_alive(config: TcpConfig) -> TcpConfig {
        TcpConfig {
            keep_alive: config.keep_alive.filter(|_| cfg!(feature = "keep-alive")),
            ..config
        }
    }

    /// Each switch is its own bit: flipping one alone comes back with only
    /// that one flipped, and `set_nodelay` touches nothing else.
    #[test]
    fn switches_are_independent() {
        let base = TcpConfig {
            sack: cfg!(feature = "sack"),
            ..TcpConfig::default()
        };
        let flips: [fn(&mut TcpConfig); 8] = [
            |c| c.nodelay = !c.nodelay,
            |c| c.delay_fin_ack = !c.delay_fin_ack,
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
            assert_eq!(SocketConfig::new(&want).get(), without_keep_alive(want));
        }
        let mut packed = SocketConfig::new(&base);
        for nodelay in [true, false, true] {
            packed.set_nodelay(nodelay);
            assert_eq!(packed.get(), TcpConfig { nodelay, ..base });
        }
    }
}
