//! A user-space Ethernet bridge between two backends that injects faults.
//!
//! The kernel here has no netem, so a Linux-to-Linux path with loss and
//! delay needs something in the middle: two veth pairs, and this bridge
//! reading frames from one inner end (`a`) and writing them to the other
//! (`b`) and back. The impairments are the same [`Shaper`] that rtcp's own
//! device layer applies (`crate::link`), so Linux-to-Linux and rtcp-to-Linux
//! runs see one fault model: frames due later wait in the shaper's heap and
//! the loop sleeps in `ppoll` until a frame arrives or the next one is due.
//!
//! ```text
//!  ns-snd          ns-brg                         ns-rcv
//!  veth-s <=> veth-sb [bridge a -> b: faults] veth-rb <=> veth-r
//! ```

use crate::backend::Backend;
use crate::link::{Faults, LinkStats, Rng, Shaper};
use crate::sys::{ppoll, PollFd};
use rtcp_core::time::Instant;
use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

/// Frames read from one side per turn before the other side gets its turn,
/// so a flood one way cannot starve the ACKs coming back.
const BATCH: usize = 64;

/// Frames waiting for a full backend beyond which new ones are dropped
/// (counted as queue drops): a real switch port has a finite queue too.
const OUT_LIMIT: usize = 4096;

/// Which directions the faults apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Directions {
    /// Only frames from `a` to `b` (the data direction of a transfer whose
    /// sender sits behind `a`); ACKs pass untouched.
    AToB,
    /// Frames from `b` to `a` only.
    BToA,
    /// Both directions, each with its own draw of the same faults.
    Both,
}

/// One direction of the bridge: where frames come from, the shaper, and
/// the frames waiting for the far side.
#[derive(Debug)]
struct Lane {
    shaper: Shaper,
    out: VecDeque<Vec<u8>>,
    stats: LinkStats,
}

impl Lane {
    fn new(faults: Faults) -> Lane {
        Lane {
            shaper: Shaper::new(faults),
            out: VecDeque::new(),
            stats: LinkStats::default(),
        }
    }
}

/// What the bridge did, per direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BridgeStats {
    /// Frames `a` to `b`: `rx_frames` read from `a`, `tx_frames` written to
    /// `b`, and the faults applied.
    pub a_to_b: LinkStats,
    /// Frames `b` to `a`.
    pub b_to_a: LinkStats,
}

/// A two-port bridge with fault injection.
#[derive(Debug)]
pub struct Bridge<A: Backend, B: Backend> {
    a: A,
    b: B,
    ab: Lane,
    ba: Lane,
    rng: Rng,
    buf: Vec<u8>,
}

fn read_into<X: Backend>(
    from: &mut X,
    lane: &mut Lane,
    now: Instant,
    rng: &mut Rng,
    buf: &mut Vec<u8>,
) -> io::Result<bool> {
    for _ in 0..BATCH {
        if !from.recv(buf)? {
            return Ok(false);
        }
        lane.stats.rx_frames += 1;
        if lane.out.len() >= OUT_LIMIT {
            lane.stats.queue_drops += 1;
            continue;
        }
        let frame = std::mem::take(buf);
        lane.shaper
            .admit(now, frame, rng, &mut lane.stats, &mut lane.out);
    }
    Ok(true)
}

fn write_out<X: Backend>(to: &mut X, lane: &mut Lane) -> io::Result<()> {
    while let Some(frame) = lane.out.front() {
        match to.send(frame) {
            Ok(true) => {
                lane.stats.tx_frames += 1;
                lane.out.pop_front();
            }
            Ok(false) => {
                lane.stats.tx_blocked += 1;
                return Ok(());
            }
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => return Err(e),
            Err(_) => {
                // A frame the device refuses is dropped, as a switch would.
                lane.stats.tx_errors += 1;
                lane.out.pop_front();
            }
        }
    }
    Ok(())
}

impl<A: Backend, B: Backend> Bridge<A, B> {
    /// A bridge applying `faults` on `directions`, seeded with `seed`.
    pub fn new(a: A, b: B, faults: Faults, directions: Directions, seed: u64) -> Bridge<A, B> {
        let clean = Faults::default();
        let (fab, fba) = match directions {
            Directions::AToB => (faults, clean),
            Directions::BToA => (clean, faults),
            Directions::Both => (faults, faults),
        };
        Bridge {
            a,
            b,
            ab: Lane::new(fab),
            ba: Lane::new(fba),
            rng: Rng::new(seed),
            buf: Vec::new(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> BridgeStats {
        BridgeStats {
            a_to_b: self.ab.stats,
            b_to_a: self.ba.stats,
        }
    }

    /// One turn at time `now`: read what is waiting on both sides (a batch
    /// each), release the frames due, and write what the far sides take.
    /// Returns whether input may still be waiting (call again without
    /// sleeping).
    pub fn step(&mut self, now: Instant) -> io::Result<bool> {
        let more_a = read_into(&mut self.a, &mut self.ab, now, &mut self.rng, &mut self.buf)?;
        let more_b = read_into(&mut self.b, &mut self.ba, now, &mut self.rng, &mut self.buf)?;
        self.ab.shaper.release(now, &mut self.ab.out);
        self.ba.shaper.release(now, &mut self.ba.out);
        write_out(&mut self.b, &mut self.ab)?;
        write_out(&mut self.a, &mut self.ba)?;
        Ok(more_a || more_b)
    }

    /// When the next held frame is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.ab.shaper.next_at(), self.ba.shaper.next_at()) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        }
    }

    /// Forward until `stop` is set (checked at least every 100 ms), sleeping
    /// in `ppoll` on both descriptors with the next release as the timeout.
    pub fn run(&mut self, stop: &AtomicBool) -> io::Result<()> {
        // Release delayed frames on time, not up to 50 µs late; best effort.
        let _ = crate::sys::set_timer_slack(1_000);
        let clock = crate::kernel::Clock::new();
        while !stop.load(Ordering::Relaxed) {
            let now = clock.now();
            if self.step(now)? {
                continue;
            }
            let limit = std::time::Duration::from_millis(100);
            let timeout = match self.next_deadline() {
                Some(at) => {
                    let now = clock.now();
                    if at <= now {
                        continue;
                    }
                    std::time::Duration::from_micros((at - now).total_micros()).min(limit)
                }
                None => limit,
            };
            let mut fds = [
                PollFd {
                    write: !self.ba.out.is_empty(),
                    ..PollFd::read(self.a.fd())
                },
                PollFd {
                    write: !self.ab.out.is_empty(),
                    ..PollFd::read(self.b.fd())
                },
            ];
            ppoll(&mut fds, Some(timeout))?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::backend::sim::SimBackend;
    use rtcp_core::time::Duration;

    fn frame(i: u32) -> Vec<u8> {
        let mut f = vec![0u8; 64];
        f[..4].copy_from_slice(&i.to_be_bytes());
        f
    }

    /// Frames a→b see the loss and delay; frames b→a pass at once and
    /// untouched; order within a direction is kept.
    #[test]
    fn faults_apply_to_the_data_direction_only() {
        let (mut snd, a) = SimBackend::pair().unwrap();
        let (b, mut rcv) = SimBackend::pair().unwrap();
        let faults = Faults {
            loss_ppm: 10_000,
            delay: Duration::from_millis(5),
            ..Faults::default()
        };
        let mut br = Bridge::new(a, b, faults, Directions::AToB, 3);
        let n = 8_000u32;
        for i in 0..n {
            assert!(snd.send(&frame(i)).unwrap());
            assert!(rcv.send(&frame(i)).unwrap());
        }
        let t0 = Instant::from_millis(1);
        while br.step(t0).unwrap() {}
        // The ACK direction is through already; the data direction waits.
        let mut buf = Vec::new();
        let mut back = 0;
        while snd.recv(&mut buf).unwrap() {
            assert_eq!(buf, frame(back));
            back += 1;
        }
        assert_eq!(back, n);
        assert!(!rcv.recv(&mut buf).unwrap());
        assert_eq!(br.next_deadline(), Some(t0 + Duration::from_millis(5)));
        br.step(t0 + Duration::from_millis(5)).unwrap();
        let mut last = None;
        let mut got = 0u32;
        while rcv.recv(&mut buf).unwrap() {
            let i = u32::from_be_bytes(buf[..4].try_into().unwrap());
            assert!(last.is_none_or(|l| i > l), "reordered: {i} after {last:?}");
            last = Some(i);
            got += 1;
        }
        let s = br.stats();
        assert_eq!(u64::from(got) + s.a_to_b.lost, u64::from(n));
        assert!((40..130).contains(&s.a_to_b.lost), "{s:?}");
        assert_eq!(s.b_to_a.lost, 0);
        assert_eq!(s.b_to_a.tx_frames, u64::from(n));
    }
}
