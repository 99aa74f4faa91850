//! Between the stack and a [`Backend`]: seeded fault injection, pacing,
//! pcap capture, and the `rtcp_core::phy::Device` the interface polls.
//!
//! Each direction has a [`Shaper`] implementing the simulator's link model
//! (`tests/src/sim.rs`: latency, bandwidth with a queue limit, loss,
//! duplication, reordering by a random extra delay), in real time: frames
//! that must wait sit in a heap, and [`Link::next_deadline`] tells the
//! kernel thread when to wake up to release them. The Linux kernel has no
//! netem here, so this is how impairments are injected on every backend.
//!
//! The pcap capture is taken at the stack's edge: every frame the stack
//! sends (before egress faults) and every frame it is handed (after
//! ingress faults).

use crate::backend::{Backend, BackendStats};
use crate::pcap::PcapWriter;
use rtcp_core::phy::{Device, DeviceCapabilities, RxToken, TxToken};
use rtcp_core::time::{Duration, Instant};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io;

/// Frames waiting for the backend beyond which the device reports "full"
/// to the stack (backpressure instead of drops).
const OUT_LIMIT: usize = 512;

/// Frames handed to or read from the backend per call
/// ([`Backend::send_batch`], [`Backend::recv_batch`]). Frames the stack
/// sends wait in the queue until a batch is full or the poll round ends
/// ([`Link::service`]), so a round's segments leave in one system call.
const BATCH: usize = crate::sys::BATCH;

/// SplitMix64, as in the simulator (`tests/src/rng.rs`): seeded, tiny, stable.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5851_f42d_4c95_7f2d)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (0 when n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
    /// True with probability `ppm` parts per million.
    pub fn chance(&mut self, ppm: u32) -> bool {
        ppm > 0 && self.below(1_000_000) < u64::from(ppm)
    }
    /// Fill a buffer with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            for (d, s) in chunk.iter_mut().zip(v) {
                *d = s;
            }
        }
    }
}

/// Impairments of one direction (all off by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Faults {
    /// Added one-way delay.
    pub delay: Duration,
    /// Bits per second; 0 = unlimited.
    pub bandwidth_bps: u64,
    /// Frames waiting (delayed or queued behind the bandwidth limit) beyond
    /// which new frames are dropped.
    pub queue_limit: usize,
    /// Loss probability, parts per million.
    pub loss_ppm: u32,
    /// Duplication probability, parts per million.
    pub duplicate_ppm: u32,
    /// Probability a frame is held back by up to `reorder_delay`, ppm.
    pub reorder_ppm: u32,
    /// Most extra delay of a reordered frame.
    pub reorder_delay: Duration,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            delay: Duration::ZERO,
            bandwidth_bps: 0,
            queue_limit: 10_000,
            loss_ppm: 0,
            duplicate_ppm: 0,
            reorder_ppm: 0,
            reorder_delay: Duration::from_millis(2),
        }
    }
}

impl Faults {
    /// Whether every impairment is off.
    pub fn is_clean(&self) -> bool {
        self.delay == Duration::ZERO
            && self.bandwidth_bps == 0
            && self.loss_ppm == 0
            && self.duplicate_ppm == 0
            && self.reorder_ppm == 0
    }
}

/// What the fault injection did (both directions summed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Frames handed to the backend.
    pub tx_frames: u64,
    /// Frames read from the backend.
    pub rx_frames: u64,
    /// Frames dropped by the loss model.
    pub lost: u64,
    /// Frames duplicated.
    pub duplicated: u64,
    /// Frames reordered.
    pub reordered: u64,
    /// Frames dropped because a shaper's queue was full.
    pub queue_drops: u64,
    /// Times the backend was full and the stack was told to wait.
    pub tx_blocked: u64,
    /// Backend send errors (frame dropped).
    pub tx_errors: u64,
    /// TCP super-segments the backend refused (`EINVAL`, `EMSGSIZE`), after
    /// which TSO was turned off for the link.
    pub tso_refused: u64,
    /// The backend's own counters ([`Link::stats`] fills them in).
    pub backend: BackendStats,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Held {
    at: Instant,
    order: u64,
    frame: Vec<u8>,
}

/// The link model of one direction.
#[derive(Debug)]
pub struct Shaper {
    faults: Faults,
    busy_until: Instant,
    held: BinaryHeap<Reverse<Held>>,
    order: u64,
}

impl Shaper {
    /// A shaper applying `faults`.
    pub fn new(faults: Faults) -> Shaper {
        Shaper {
            faults,
            busy_until: Instant::ZERO,
            held: BinaryHeap::new(),
            order: 0,
        }
    }

    /// Take in a frame: drop it, or pass it on (to `out` now, or held
    /// until its time), possibly twice.
    pub fn admit(
        &mut self,
        now: Instant,
        frame: Vec<u8>,
        rng: &mut Rng,
        stats: &mut LinkStats,
        out: &mut VecDeque<Vec<u8>>,
    ) {
        let f = self.faults;
        if f.is_clean() {
            out.push_back(frame);
            return;
        }
        if self.held.len() >= f.queue_limit {
            stats.queue_drops += 1;
            return;
        }
        let start = now.max(self.busy_until);
        let tx_time = (frame.len() as u64 * 8 * 1_000_000)
            .checked_div(f.bandwidth_bps)
            .map_or(Duration::ZERO, Duration::from_micros);
        self.busy_until = start + tx_time;
        if rng.chance(f.loss_ppm) {
            stats.lost += 1;
            return;
        }
        let mut at = start + tx_time + f.delay;
        if rng.chance(f.reorder_ppm) {
            at += Duration::from_micros(rng.below(f.reorder_delay.total_micros().max(1)));
            stats.reordered += 1;
        }
        if rng.chance(f.duplicate_ppm) {
            stats.duplicated += 1;
            self.hold(now, at + Duration::from_micros(1), frame.clone(), out);
        }
        self.hold(now, at, frame, out);
    }

    fn hold(&mut self, now: Instant, at: Instant, frame: Vec<u8>, out: &mut VecDeque<Vec<u8>>) {
        if at <= now && self.held.is_empty() {
            out.push_back(frame);
            return;
        }
        self.order += 1;
        self.held.push(Reverse(Held {
            at,
            order: self.order,
            frame,
        }));
    }

    /// Move every frame due by `now` to `out`.
    pub fn release(&mut self, now: Instant, out: &mut VecDeque<Vec<u8>>) {
        while self.held.peek().is_some_and(|Reverse(h)| h.at <= now) {
            if let Some(Reverse(h)) = self.held.pop() {
                out.push_back(h.frame);
            }
        }
    }

    /// When the next held frame is due.
    pub fn next_at(&self) -> Option<Instant> {
        self.held.peek().map(|Reverse(h)| h.at)
    }
}

/// Options of a [`Link`].
#[derive(Debug, Clone, Default)]
pub struct LinkOptions {
    /// Impairments of frames we send.
    pub tx: Faults,
    /// Impairments of frames we receive.
    pub rx: Faults,
    /// Seed of the fault injection.
    pub seed: u64,
    /// Capture every frame sent and received to this pcap file.
    pub pcap: Option<std::path::PathBuf>,
    /// Do not offer the stack TCP segmentation offload even where the
    /// backend has it ([`Backend::tso_max_size`]): every segment leaves as
    /// its own MTU-sized frame. (TSO is off anyway when `tx` injects
    /// faults: the shaper works on frames, and one lost super-segment
    /// would be a burst of some 45 segments.)
    pub no_tso: bool,
}

/// A backend with fault injection and capture: the stack's device.
#[derive(Debug)]
pub struct Link<B: Backend> {
    backend: B,
    rng: Rng,
    tx: Shaper,
    rx: Shaper,
    /// Frames for the backend, in order.
    out: VecDeque<Vec<u8>>,
    /// For each frame of `out`, the TSO segment size (0: an ordinary
    /// frame). The shaper only appends to `out`, and frames it adds are
    /// ordinary ([`Link::sync_sizes`]).
    out_sizes: VecDeque<u16>,
    /// The TSO limit offered to the stack (0: none).
    tso_max: usize,
    /// Frames for the stack, in order.
    inq: VecDeque<Vec<u8>>,
    pcap: Option<PcapWriter>,
    now: Instant,
    stats: LinkStats,
    error: Option<io::Error>,
    spare: Vec<Vec<u8>>,
    /// Buffers a batch is read into.
    rx_bufs: Vec<Vec<u8>>,
}

impl<B: Backend> Link<B> {
    /// Wrap `backend`.
    pub fn new(backend: B, options: &LinkOptions) -> io::Result<Link<B>> {
        let pcap = match &options.pcap {
            Some(path) => Some(PcapWriter::create(path)?),
            None => None,
        };
        let tso_max = if options.no_tso || !options.tx.is_clean() {
            0
        } else {
            backend.tso_max_size()
        };
        Ok(Link {
            backend,
            rng: Rng::new(options.seed),
            tx: Shaper::new(options.tx),
            rx: Shaper::new(options.rx),
            out: VecDeque::new(),
            out_sizes: VecDeque::new(),
            tso_max,
            inq: VecDeque::new(),
            pcap,
            now: Instant::ZERO,
            stats: LinkStats::default(),
            error: None,
            spare: Vec::new(),
            rx_bufs: (0..BATCH).map(|_| Vec::new()).collect(),
        })
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Counters, the backend's included.
    pub fn stats(&self) -> LinkStats {
        LinkStats {
            backend: self.backend.stats(),
            ..self.stats
        }
    }

    /// A fatal backend error, if one happened (taken once).
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }

    /// Set the clock and release every held frame due by `now`; push what
    /// the backend will take.
    pub fn service(&mut self, now: Instant) {
        self.now = now;
        self.tx.release(now, &mut self.out);
        self.sync_sizes();
        self.rx.release(now, &mut self.inq);
        self.flush();
    }

    /// Frames the shaper appended to `out` are ordinary ones.
    fn sync_sizes(&mut self) {
        while self.out_sizes.len() < self.out.len() {
            self.out_sizes.push_back(0);
        }
    }

    /// Whether the stack may hand over TCP super-segments.
    pub fn tso_max_size(&self) -> usize {
        self.tso_max
    }

    /// Hand queued frames to the backend until it is full, a batch per call.
    pub fn flush(&mut self) {
        while !self.out.is_empty() {
            let segmented = self.out_sizes.iter().take(BATCH).any(|s| *s != 0);
            let result = if segmented {
                let mut sizes = [0u16; BATCH];
                for (slot, size) in sizes.iter_mut().zip(self.out_sizes.iter()) {
                    *slot = *size;
                }
                let mut frames: Vec<&mut [u8]> = self
                    .out
                    .iter_mut()
                    .take(BATCH)
                    .map(|f| f.as_mut_slice())
                    .collect();
                let n = frames.len();
                self.backend
                    .send_batch_segmented(&mut frames, sizes.get(..n).unwrap_or_default())
                    .map(|sent| (sent, n))
            } else {
                let mut frames: [&[u8]; BATCH] = [&[]; BATCH];
                let mut n = 0;
                for (slot, frame) in frames.iter_mut().zip(self.out.iter()) {
                    *slot = frame;
                    n += 1;
                }
                self.backend
                    .send_batch(frames.get(..n).unwrap_or_default())
                    .map(|sent| (sent, n))
            };
            match result {
                Ok((0, _)) => {
                    self.stats.tx_blocked += 1;
                    break;
                }
                Ok((sent, n)) => {
                    self.stats.tx_frames += sent as u64;
                    for _ in 0..sent.min(n) {
                        self.out_sizes.pop_front();
                        if let Some(f) = self.out.pop_front() {
                            self.recycle(f);
                        }
                    }
                }
                Err(e) => {
                    // A frame the device refuses (too long, link gone) is
                    // dropped, as a NIC would; TCP recovers.
                    self.stats.tx_errors += 1;
                    self.out.pop_front();
                    if self.out_sizes.pop_front().is_some_and(|s| s != 0)
                        && matches!(e.raw_os_error(), Some(libc::EINVAL | libc::EMSGSIZE))
                    {
                        // The kernel will not segment for us (an old kernel,
                        // a device it cannot do GSO for): stop offering TSO,
                        // so the stack sends MTU-sized frames from its next
                        // poll on, and the retransmissions repair the loss.
                        self.tso_max = 0;
                        self.stats.tso_refused += 1;
                    }
                    if self.error.is_none() && e.raw_os_error() == Some(libc::ENXIO) {
                        self.error = Some(e);
                    }
                }
            }
        }
    }

    fn recycle(&mut self, mut frame: Vec<u8>) {
        if self.spare.len() < 64 {
            frame.clear();
            self.spare.push(frame);
        }
    }

    /// Whether frames are waiting for room in the backend.
    pub fn wants_write(&self) -> bool {
        !self.out.is_empty()
    }

    /// Whether frames are waiting for the stack.
    pub fn has_input(&self) -> bool {
        !self.inq.is_empty()
    }

    /// When a held frame is next due.
    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.tx.next_at(), self.rx.next_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The backend's pollable descriptor.
    pub fn fd(&self) -> std::os::fd::RawFd {
        self.backend.fd()
    }

    /// The next frame for the stack, reading the backend (a batch at a
    /// time) as needed.
    fn next_rx(&mut self) -> Option<Vec<u8>> {
        // Bounded: a flood of lost frames must not keep us here forever.
        for _ in 0..16 {
            if let Some(f) = self.inq.pop_front() {
                return Some(f);
            }
            match self.backend.recv_batch(&mut self.rx_bufs) {
                Ok(0) => return None,
                Ok(n) => {
                    self.stats.rx_frames += n as u64;
                    for buf in self.rx_bufs.iter_mut().take(n) {
                        let frame = std::mem::replace(buf, self.spare.pop().unwrap_or_default());
                        self.rx.admit(
                            self.now,
                            frame,
                            &mut self.rng,
                            &mut self.stats,
                            &mut self.inq,
                        );
                    }
                }
                Err(e) => {
                    if self.error.is_none() {
                        self.error = Some(e);
                    }
                    return None;
                }
            }
        }
        self.inq.pop_front()
    }

    fn send_frame(&mut self, frame: Vec<u8>) {
        if let Some(p) = &mut self.pcap {
            let _ = p.write(&frame);
        }
        self.tx.admit(
            self.now,
            frame,
            &mut self.rng,
            &mut self.stats,
            &mut self.out,
        );
        self.sync_sizes();
        // The rest waits for a full batch or the end of the poll round.
        if self.out.len() >= BATCH {
            self.flush();
        }
    }

    /// Flush the pcap file (if any).
    pub fn flush_pcap(&mut self) {
        if let Some(p) = &mut self.pcap {
            let _ = p.flush();
        }
    }
}

/// A received frame.
#[derive(Debug)]
pub struct HostRx(Vec<u8>);

/// Permission to send one frame through a [`Link`].
#[derive(Debug)]
pub struct HostTx<'a, B: Backend>(&'a mut Link<B>);

impl RxToken for HostRx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl<B: Backend> TxToken for HostTx<'_, B> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = self.0.spare.pop().unwrap_or_default();
        frame.resize(len, 0);
        let r = f(&mut frame);
        self.0.send_frame(frame);
        r
    }

    fn consume_segmented<R, F: FnOnce(&mut [u8]) -> R>(
        self,
        len: usize,
        segment_size: usize,
        f: F,
    ) -> R {
        let link = self.0;
        let mut frame = link.spare.pop().unwrap_or_default();
        frame.resize(len, 0);
        let r = f(&mut frame);
        if let Some(p) = &mut link.pcap {
            let _ = p.write(&frame);
        }
        // TSO is offered only when the tx shaper passes frames straight
        // through, so this keeps their order.
        link.sync_sizes();
        link.out.push_back(frame);
        link.out_sizes
            .push_back(u16::try_from(segment_size).unwrap_or(u16::MAX));
        if link.out.len() >= BATCH {
            link.flush();
        }
        r
    }
}

impl<B: Backend> Device for Link<B> {
    type RxToken<'a>
        = HostRx
    where
        Self: 'a;
    type TxToken<'a>
        = HostTx<'a, B>
    where
        Self: 'a;

    fn receive(&mut self, _now: Instant) -> Option<(HostRx, HostTx<'_, B>)> {
        let frame = self.next_rx()?;
        if let Some(p) = &mut self.pcap {
            let _ = p.write(&frame);
        }
        Some((HostRx(frame), HostTx(self)))
    }

    fn transmit(&mut self, _now: Instant) -> Option<HostTx<'_, B>> {
        if self.out.len() >= OUT_LIMIT {
            self.flush();
            if self.out.len() >= OUT_LIMIT {
                return None;
            }
        }
        Some(HostTx(self))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        DeviceCapabilities {
            mtu: self.backend.mtu(),
            ..DeviceCapabilities::default()
        }
    }

    fn tso_max_size(&self) -> usize {
        self.tso_max
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// A backend that records its calls: `send_batch` takes at most
    /// `room` frames per call (0: full), refuses frames that start with
    /// 0xff, and `recv_batch` hands out `inbox`.
    #[derive(Debug, Default)]
    struct Recorder {
        sent: Vec<Vec<u8>>,
        send_calls: Vec<usize>,
        room: usize,
        inbox: VecDeque<Vec<u8>>,
        recv_calls: usize,
        /// TSO limit it advertises (0: none).
        tso: usize,
        /// `send_batch_segmented` fails with EINVAL on a super-segment.
        refuse_segmented: bool,
        /// The segment sizes of each `send_batch_segmented` call.
        segmented_calls: Vec<Vec<u16>>,
    }

    impl Backend for Recorder {
        fn recv(&mut self, _buf: &mut Vec<u8>) -> io::Result<bool> {
            unreachable!("the link reads in batches")
        }
        fn send(&mut self, _frame: &[u8]) -> io::Result<bool> {
            unreachable!("the link sends in batches")
        }
        fn recv_batch(&mut self, bufs: &mut [Vec<u8>]) -> io::Result<usize> {
            self.recv_calls += 1;
            let mut n = 0;
            for buf in bufs.iter_mut() {
                let Some(f) = self.inbox.pop_front() else {
                    break;
                };
                *buf = f;
                n += 1;
            }
            Ok(n)
        }
        fn send_batch(&mut self, frames: &[&[u8]]) -> io::Result<usize> {
            self.send_calls.push(frames.len());
            if frames[0].first() == Some(&0xff) {
                return Err(io::Error::other("refused"));
            }
            let mut n = 0;
            for f in frames.iter().take(self.room) {
                if f.first() == Some(&0xff) {
                    break;
                }
                self.sent.push(f.to_vec());
                n += 1;
            }
            Ok(n)
        }
        fn fd(&self) -> std::os::fd::RawFd {
            -1
        }
        fn describe(&self) -> String {
            "recorder".into()
        }
        fn tso_max_size(&self) -> usize {
            self.tso
        }
        fn send_batch_segmented(
            &mut self,
            frames: &mut [&mut [u8]],
            segment_sizes: &[u16],
        ) -> io::Result<usize> {
            assert_eq!(frames.len(), segment_sizes.len());
            if self.refuse_segmented && segment_sizes[0] != 0 {
                return Err(io::Error::from_raw_os_error(libc::EINVAL));
            }
            self.segmented_calls.push(segment_sizes.to_vec());
            let frames: Vec<&[u8]> = frames.iter().map(|f| &**f).collect();
            self.send_batch(&frames)
        }
    }

    fn send_segmented(link: &mut Link<Recorder>, first_byte: u8, size: usize) {
        let tx = link.transmit(Instant::ZERO).unwrap();
        tx.consume_segmented(3000, size, |buf| buf[0] = first_byte);
    }

    #[test]
    fn segmented_frames_keep_their_place_and_size() {
        let backend = Recorder {
            room: usize::MAX,
            tso: 65_535,
            ..Recorder::default()
        };
        let mut link = Link::new(backend, &LinkOptions::default()).unwrap();
        assert_eq!(Device::tso_max_size(&link), 65_535);
        send(&mut link, 1);
        send_segmented(&mut link, 2, 1448);
        send(&mut link, 3);
        link.service(Instant::ZERO);
        // One batch, through the segmenting call, each frame's size beside it.
        assert_eq!(link.backend().segmented_calls, vec![vec![0, 1448, 0]]);
        let order: Vec<u8> = link.backend().sent.iter().map(|f| f[0]).collect();
        assert_eq!(order, vec![1, 2, 3]);
        assert_eq!(link.backend().sent[1].len(), 3000);
        // Batches of ordinary frames take the ordinary call.
        send(&mut link, 4);
        link.service(Instant::ZERO);
        assert_eq!(link.backend().segmented_calls.len(), 1);
        assert_eq!(link.backend().sent.len(), 4);
    }

    #[test]
    fn tso_is_offered_only_when_it_can_be_used() {
        let tso = || Recorder {
            tso: 65_535,
            ..Recorder::default()
        };
        let off = LinkOptions {
            no_tso: true,
            ..LinkOptions::default()
        };
        assert_eq!(Device::tso_max_size(&Link::new(tso(), &off).unwrap()), 0);
        let lossy = LinkOptions {
            tx: Faults {
                loss_ppm: 10_000,
                ..Faults::default()
            },
            ..LinkOptions::default()
        };
        assert_eq!(Device::tso_max_size(&Link::new(tso(), &lossy).unwrap()), 0);
        let plain = Recorder::default();
        let link = Link::new(plain, &LinkOptions::default()).unwrap();
        assert_eq!(Device::tso_max_size(&link), 0);
    }

    #[test]
    fn a_refused_super_segment_turns_tso_off() {
        let backend = Recorder {
            room: usize::MAX,
            tso: 65_535,
            refuse_segmented: true,
            ..Recorder::default()
        };
        let mut link = Link::new(backend, &LinkOptions::default()).unwrap();
        send_segmented(&mut link, 1, 1448);
        send(&mut link, 2);
        link.service(Instant::ZERO);
        // The super-segment is dropped (TCP resends it), the frame after it
        // goes, and the stack is offered no TSO from now on.
        let order: Vec<u8> = link.backend().sent.iter().map(|f| f[0]).collect();
        assert_eq!(order, vec![2]);
        assert_eq!(link.stats().tso_refused, 1);
        assert_eq!(Device::tso_max_size(&link), 0);
    }

    fn send(link: &mut Link<Recorder>, first_byte: u8) {
        let tx = link.transmit(Instant::ZERO).unwrap();
        tx.consume(60, |buf| buf[0] = first_byte);
    }

    #[test]
    fn frames_of_a_round_leave_in_batches() {
        let backend = Recorder {
            room: usize::MAX,
            ..Recorder::default()
        };
        let mut link = Link::new(backend, &LinkOptions::default()).unwrap();
        for i in 0..(BATCH + 10) {
            send(&mut link, i as u8);
        }
        // A full batch left as soon as it was full; the rest waits for
        // the end of the round.
        assert_eq!(link.backend().send_calls, vec![BATCH]);
        assert!(link.wants_write());
        link.service(Instant::ZERO);
        assert_eq!(link.backend().send_calls, vec![BATCH, 10]);
        assert!(!link.wants_write());
        let order: Vec<u8> = link.backend().sent.iter().map(|f| f[0]).collect();
        let want: Vec<u8> = (0..(BATCH + 10)).map(|i| i as u8).collect();
        assert_eq!(order, want);
        assert_eq!(link.stats().tx_frames, (BATCH + 10) as u64);
    }

    #[test]
    fn a_full_backend_keeps_frames_and_a_refused_frame_is_dropped() {
        let mut link = Link::new(Recorder::default(), &LinkOptions::default()).unwrap();
        for b in [1, 0xff, 2] {
            send(&mut link, b);
        }
        link.service(Instant::ZERO);
        // Full: nothing sent, nothing lost.
        assert!(link.backend().sent.is_empty());
        assert!(link.wants_write());
        assert_eq!(link.stats().tx_blocked, 1);
        link.backend.room = usize::MAX;
        link.flush();
        // Frame 1 went, 0xff was refused and dropped, 2 went after it.
        let order: Vec<u8> = link.backend().sent.iter().map(|f| f[0]).collect();
        assert_eq!(order, vec![1, 2]);
        assert_eq!(link.stats().tx_errors, 1);
        assert_eq!(link.stats().tx_frames, 2);
        assert!(!link.wants_write());
    }

    #[test]
    fn frames_are_read_in_batches_and_handed_over_in_order() {
        let backend = Recorder {
            inbox: (0..100u8).map(|i| vec![i; 60]).collect(),
            ..Recorder::default()
        };
        let mut link = Link::new(backend, &LinkOptions::default()).unwrap();
        let mut got = Vec::new();
        while let Some((rx, _tx)) = link.receive(Instant::ZERO) {
            got.push(rx.consume(|f| f[0]));
        }
        assert_eq!(got, (0..100u8).collect::<Vec<_>>());
        // 64 + 36, then one that finds nothing.
        assert_eq!(link.backend().recv_calls, 3);
        assert_eq!(link.stats().rx_frames, 100);
    }

    #[test]
    fn clean_shaper_passes_everything_in_order() {
        let mut s = Shaper::new(Faults::default());
        let (mut rng, mut stats, mut out) = (Rng::new(1), LinkStats::default(), VecDeque::new());
        for i in 0..10u8 {
            s.admit(Instant::ZERO, vec![i], &mut rng, &mut stats, &mut out);
        }
        assert_eq!(out.len(), 10);
        assert_eq!(out.front(), Some(&vec![0u8]));
        assert_eq!(s.next_at(), None);
    }

    #[test]
    fn delay_holds_frames_until_due() {
        let mut s = Shaper::new(Faults {
            delay: Duration::from_millis(10),
            ..Faults::default()
        });
        let (mut rng, mut stats, mut out) = (Rng::new(1), LinkStats::default(), VecDeque::new());
        s.admit(
            Instant::from_millis(1),
            vec![1],
            &mut rng,
            &mut stats,
            &mut out,
        );
        assert!(out.is_empty());
        assert_eq!(s.next_at(), Some(Instant::from_millis(11)));
        s.release(Instant::from_millis(10), &mut out);
        assert!(out.is_empty());
        s.release(Instant::from_millis(11), &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn loss_rate_is_about_right_and_seeded() {
        let faults = Faults {
            loss_ppm: 20_000,
            duplicate_ppm: 10_000,
            ..Faults::default()
        };
        let run = |seed| {
            let mut s = Shaper::new(faults);
            let (mut rng, mut stats, mut out) =
                (Rng::new(seed), LinkStats::default(), VecDeque::new());
            for _ in 0..100_000 {
                s.admit(Instant::ZERO, vec![0], &mut rng, &mut stats, &mut out);
                s.release(Instant::from_secs(1), &mut out);
            }
            stats
        };
        let a = run(7);
        assert_eq!(a, run(7));
        assert!((1500..2500).contains(&a.lost), "{a:?}");
        assert!((700..1300).contains(&a.duplicated), "{a:?}");
    }

    #[test]
    fn bandwidth_paces_frames() {
        // 1 Mbit/s: a 125-byte frame takes 1 ms.
        let mut s = Shaper::new(Faults {
            bandwidth_bps: 1_000_000,
            ..Faults::default()
        });
        let (mut rng, mut stats, mut out) = (Rng::new(1), LinkStats::default(), VecDeque::new());
        for _ in 0..3 {
            s.admit(Instant::ZERO, vec![0; 125], &mut rng, &mut stats, &mut out);
        }
        s.release(Instant::from_millis(2), &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(s.next_at(), Some(Instant::from_millis(3)));
    }
}
