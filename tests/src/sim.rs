//! A deterministic network simulator.
//!
//! N hosts (each an rtcp [`Interface`] with its [`SocketSet`]) hang off one
//! switch. Each host's uplink has latency, bandwidth, a queue limit, and
//! seeded loss, duplication, reordering and corruption (bit flips past the
//! Ethernet header, which the IPv4/TCP checksums must catch). Time is
//! virtual: the clock jumps to the next frame arrival or the earliest
//! `poll_at` of any host, so a minute of simulated time costs only the work
//! done in it.

use crate::rng::Rng;
use rtcp_core::iface::{Interface, InterfaceConfig};
use rtcp_core::phy::{Device, DeviceCapabilities, RxToken, TxToken};
use rtcp_core::socket_set::{SocketSet, SocketSlot};
use rtcp_core::tcp::TcpConfig;
use rtcp_core::time::{Duration, Instant};
use rtcp_core::wire::{
    EthernetAddress, EthernetFrame, Ipv4Address, Ipv4Cidr, Ipv4Packet, TcpFlags, TcpPacket,
};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Impairments and shape of one host's uplink (applied to frames it sends).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkConfig {
    /// One-way propagation delay.
    pub latency: Duration,
    /// Bits per second; 0 means unlimited.
    pub bandwidth_bps: u64,
    /// Frames queued for transmission beyond which new frames are dropped.
    pub queue_limit: usize,
    /// Loss probability, parts per million.
    pub loss_ppm: u32,
    /// Duplication probability, parts per million.
    pub duplicate_ppm: u32,
    /// Probability a frame is held back (reordered), parts per million.
    pub reorder_ppm: u32,
    /// Most extra delay a reordered frame gets.
    pub reorder_delay: Duration,
    /// Probability one bit past the Ethernet header is flipped, ppm.
    pub corrupt_ppm: u32,
    /// Largest frame payload (the IPv4 datagram) the link carries. A larger
    /// frame is dropped and counted in [`LinkStats::mtu_drops`], as a path
    /// whose MTU is below the hosts' would (nothing fragments it and no
    /// ICMP comes back). `None`: no limit beyond the hosts' own MTU.
    pub mtu: Option<usize>,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            latency: Duration::from_millis(1),
            bandwidth_bps: 0,
            queue_limit: 10_000,
            loss_ppm: 0,
            duplicate_ppm: 0,
            reorder_ppm: 0,
            reorder_delay: Duration::from_millis(2),
            corrupt_ppm: 0,
            mtu: None,
        }
    }
}

/// Per-host sizes.
#[derive(Debug, Clone, Copy)]
pub struct HostConfig {
    /// Socket table slots.
    pub slots: usize,
    /// Receive buffer per slot.
    pub rx_buffer: usize,
    /// Send buffer per slot.
    pub tx_buffer: usize,
    /// IP MTU of the device.
    pub mtu: usize,
    /// Socket defaults.
    pub tcp: TcpConfig,
    /// The uplink.
    pub link: LinkConfig,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            slots: 8,
            rx_buffer: 64 * 1024,
            tx_buffer: 64 * 1024,
            mtu: 1500,
            tcp: TcpConfig::default(),
            link: LinkConfig::default(),
        }
    }
}

/// An in-memory device: frames in, frames out.
#[derive(Debug, Default)]
pub struct SimDevice {
    /// Frames waiting to be received.
    pub rx: VecDeque<Vec<u8>>,
    /// Frames the stack sent, collected by the simulator.
    pub tx: Vec<Vec<u8>>,
    /// IP MTU.
    pub mtu: usize,
    /// TCP segmentation offload: the largest IPv4 packet the device takes
    /// for segmentation ([`Device::tso_max_size`]); 0 (the default) for
    /// none. The device cuts each super-segment into MTU-sized frames
    /// itself ([`segment_tcp`]), as a NIC would, so only those reach the
    /// wire.
    pub tso_max_size: usize,
    /// Frames the device holds, waiting for the simulator to take them
    /// after the host's polls, before `transmit` refuses (a small transmit
    /// ring); 0 (the default) for no limit.
    pub tx_limit: usize,
    /// Super-segments the stack handed over for segmentation.
    pub super_frames: u64,
    /// The largest of them (the Ethernet frame's length).
    pub super_frame_max: usize,
}

/// Receive token of [`SimDevice`].
#[derive(Debug)]
pub struct SimRx(Vec<u8>);
/// Transmit token of [`SimDevice`].
#[derive(Debug)]
pub struct SimTx<'a> {
    frames: &'a mut Vec<Vec<u8>>,
    super_frames: &'a mut u64,
    super_frame_max: &'a mut usize,
}

impl RxToken for SimRx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl TxToken for SimTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0u8; len];
        let r = f(&mut frame);
        self.frames.push(frame);
        r
    }

    fn consume_segmented<R, F: FnOnce(&mut [u8]) -> R>(
        self,
        len: usize,
        segment_size: usize,
        f: F,
    ) -> R {
        let mut frame = vec![0u8; len];
        let r = f(&mut frame);
        *self.super_frames += 1;
        *self.super_frame_max = (*self.super_frame_max).max(len);
        match segment_tcp(&frame, segment_size) {
            Some(pieces) => self.frames.extend(pieces),
            // Not a TCP/IPv4 frame: what a NIC would do is undefined; send
            // it as it is, so the simulator's MTU check and the peer see it.
            None => self.frames.push(frame),
        }
        r
    }
}

/// Cut a TCP/IPv4 super-segment (an Ethernet frame) into frames of at
/// most `mss` payload bytes each, as a NIC's TSO or Linux's GSO does: every
/// piece repeats the Ethernet, IPv4 (with options) and TCP (with options)
/// headers; the IPv4 total length, identification (+1 per piece) and
/// header checksum, and the TCP sequence number and checksum are set per
/// piece; FIN and PSH stay only on the last piece and CWR only on the first
/// (RFC 3168 §6.1.2: CWR once per window reduction). The checksums are
/// computed afresh, whatever the super-segment's said. `None` when the
/// frame is not TCP over IPv4 or is malformed.
pub fn segment_tcp(frame: &[u8], mss: usize) -> Option<Vec<Vec<u8>>> {
    let eth_len = 14;
    if frame.get(12..14)? != [0x08, 0x00] || mss == 0 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(frame.get(eth_len..)?).ok()?;
    if ip.next_header() != rtcp_core::wire::IpProtocol::Tcp {
        return None;
    }
    let ip_hlen = usize::from(ip.header_len());
    let ip_total = usize::from(ip.total_len());
    let (src, dst, ident) = (ip.src_addr(), ip.dst_addr(), ip.ident());
    let tcp_start = eth_len + ip_hlen;
    let tcp = TcpPacket::new_checked(frame.get(tcp_start..eth_len + ip_total)?).ok()?;
    let tcp_hlen = tcp.header_len();
    let (seq, flags) = (tcp.seq_number(), tcp.flags());
    let headers = tcp_start + tcp_hlen;
    let payload = frame.get(headers..eth_len + ip_total)?;
    let count = payload.len().div_ceil(mss).max(1);
    let mut pieces = Vec::with_capacity(count);
    for (i, chunk) in payload.chunks(mss).enumerate() {
        let mut piece = Vec::with_capacity(headers + chunk.len());
        piece.extend_from_slice(frame.get(..headers)?);
        piece.extend_from_slice(chunk);
        {
            let mut ip = Ipv4Packet::new_unchecked(&mut piece[eth_len..]);
            ip.set_total_len(u16::try_from(ip_hlen + tcp_hlen + chunk.len()).ok()?);
            ip.set_ident(ident.wrapping_add(i as u16));
            ip.fill_checksum();
        }
        let mut tcp = TcpPacket::new_unchecked(&mut piece[tcp_start..]);
        tcp.set_seq_number(seq + i * mss);
        let mut f = flags.0;
        if i + 1 < count {
            f &= !(TcpFlags::FIN.0 | TcpFlags::PSH.0);
        }
        if i > 0 {
            f &= !TcpFlags::CWR.0;
        }
        tcp.set_flags(TcpFlags(f));
        tcp.fill_checksum(&src, &dst);
        pieces.push(piece);
    }
    Some(pieces)
}

impl Device for SimDevice {
    type RxToken<'a> = SimRx;
    type TxToken<'a> = SimTx<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(SimRx, SimTx<'_>)> {
        let frame = self.rx.pop_front()?;
        Some((
            SimRx(frame),
            SimTx {
                frames: &mut self.tx,
                super_frames: &mut self.super_frames,
                super_frame_max: &mut self.super_frame_max,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<SimTx<'_>> {
        if self.tx_limit > 0 && self.tx.len() >= self.tx_limit {
            return None;
        }
        Some(SimTx {
            frames: &mut self.tx,
            super_frames: &mut self.super_frames,
            super_frame_max: &mut self.super_frame_max,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        DeviceCapabilities {
            mtu: self.mtu,
            ..DeviceCapabilities::default()
        }
    }

    fn tso_max_size(&self) -> usize {
        self.tso_max_size
    }
}

/// One simulated host.
#[derive(Debug)]
pub struct Host {
    /// Its interface.
    pub iface: Interface,
    /// Its sockets.
    pub sockets: SocketSet<'static>,
    /// Its device.
    pub device: SimDevice,
    /// Its uplink.
    pub link: LinkConfig,
    busy_until: Instant,
    queued: usize,
}

impl Host {
    /// The host's IPv4 address.
    pub fn ip(&self) -> Ipv4Address {
        self.iface.ipv4_addr()
    }

    /// How long a frame sent at `now` would wait behind those already
    /// queued on the host's uplink: the bottleneck queue, in time, when the
    /// link has a bandwidth limit.
    pub fn uplink_backlog(&self, now: Instant) -> Duration {
        if self.busy_until > now {
            self.busy_until - now
        } else {
            Duration::ZERO
        }
    }
}

/// What the links did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Frames delivered.
    pub delivered: u64,
    /// Frames dropped by the loss model.
    pub lost: u64,
    /// Frames dropped because the queue was full.
    pub queue_drops: u64,
    /// Frames duplicated.
    pub duplicated: u64,
    /// Frames reordered.
    pub reordered: u64,
    /// Frames corrupted.
    pub corrupted: u64,
    /// Frames dropped because they exceeded the link's MTU.
    pub mtu_drops: u64,
    /// Frames marked Congestion Experienced ([`Fault::MarkCe`]).
    pub ce_marked: u64,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    at: Instant,
    order: u64,
    from: usize,
    frame: Vec<u8>,
}

/// What a scripted fault does to one frame (see [`Sim::set_fault`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Deliver as the link model says.
    Pass,
    /// Lose it.
    Drop,
    /// Deliver it this much later than the link model says.
    Delay(Duration),
    /// Deliver it with Congestion Experienced in its IPv4 header if it is
    /// ECN-capable (ECT(0) or ECT(1)), as an ECN router does instead of
    /// dropping it (RFC 3168 §5); a Not-ECT frame passes unchanged.
    MarkCe,
}

/// A scripted fault: called with the sending host, the frame and the time.
pub type FaultFn = Box<dyn FnMut(usize, &[u8], Instant) -> Fault>;

/// The simulated network.
pub struct Sim {
    /// Virtual time.
    pub now: Instant,
    /// The hosts; host `i` has address 10.0.0.(i+1)/24.
    pub hosts: Vec<Host>,
    /// Link counters.
    pub stats: LinkStats,
    /// The seed this run was made from.
    pub seed: u64,
    rng: Rng,
    in_flight: BinaryHeap<Reverse<InFlight>>,
    order: u64,
    fault: Option<FaultFn>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("now", &self.now)
            .field("seed", &self.seed)
            .field("stats", &self.stats)
            .field("in_flight", &self.in_flight.len())
            .finish()
    }
}

/// The address of host `i`.
pub fn host_ip(i: usize) -> Ipv4Address {
    Ipv4Address::new(10, 0, 0, (i + 1) as u8)
}

/// Payload length of a TCP segment in `frame` that carries data; `None`
/// for anything else (a pure ACK, ARP, ICMP, a malformed frame).
pub fn data_len(frame: &[u8]) -> Option<usize> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
    let len = tcp.payload().len();
    (len > 0).then_some(len)
}

/// The MAC of host `i`.
pub fn host_mac(i: usize) -> EthernetAddress {
    EthernetAddress([0x02, 0, 0, 0, 0, (i + 1) as u8])
}

impl Sim {
    /// A network of hosts, all seeded from `seed`.
    pub fn new(seed: u64, hosts: &[HostConfig]) -> Sim {
        let mut rng = Rng::new(seed);
        let hosts = hosts
            .iter()
            .enumerate()
            .map(|(i, cfg)| {
                let slots: Vec<SocketSlot<'static>> = (0..cfg.slots)
                    .map(|_| SocketSlot::new(vec![0u8; cfg.rx_buffer], vec![0u8; cfg.tx_buffer]))
                    .collect();
                let mut secret = [0u8; 16];
                rng.fill(&mut secret);
                let mut sockets = SocketSet::new(slots, secret);
                sockets.set_default_config(cfg.tcp);
                Host {
                    iface: Interface::new(InterfaceConfig {
                        mac: host_mac(i),
                        ip: Ipv4Cidr::new(host_ip(i), 24),
                        gateway: None,
                    }),
                    sockets,
                    device: SimDevice {
                        mtu: cfg.mtu,
                        ..SimDevice::default()
                    },
                    link: cfg.link,
                    busy_until: Instant::ZERO,
                    queued: 0,
                }
            })
            .collect();
        Sim {
            now: Instant::from_secs(1),
            hosts,
            stats: LinkStats::default(),
            seed,
            rng,
            in_flight: BinaryHeap::new(),
            order: 0,
            fault: None,
        }
    }

    /// Script faults on top of the link model: `fault` sees every frame a
    /// host sends (after queueing, before the random faults) and may drop
    /// or delay it. Tests of exact loss patterns use this.
    pub fn set_fault(&mut self, fault: impl FnMut(usize, &[u8], Instant) -> Fault + 'static) {
        self.fault = Some(Box::new(fault));
    }

    /// Poll every host once at the current time and put what they sent on
    /// the wire.
    pub fn poll_hosts(&mut self) {
        let now = self.now;
        for i in 0..self.hosts.len() {
            {
                let h = &mut self.hosts[i];
                // Poll until quiet (a reply may make more due), bounded.
                for _ in 0..16 {
                    if !h.iface.poll(now, &mut h.device, &mut h.sockets) {
                        break;
                    }
                    if h.device.rx.is_empty() && h.iface.poll_at(&h.sockets).is_none_or(|t| t > now)
                    {
                        break;
                    }
                }
            }
            let frames = std::mem::take(&mut self.hosts[i].device.tx);
            for frame in frames {
                self.send(i, frame);
            }
        }
    }

    fn send(&mut self, from: usize, mut frame: Vec<u8>) {
        let link = self.hosts[from].link;
        if self.hosts[from].queued >= link.queue_limit {
            self.stats.queue_drops += 1;
            return;
        }
        if link
            .mtu
            .is_some_and(|mtu| frame.len().saturating_sub(14) > mtu)
        {
            self.stats.mtu_drops += 1;
            return;
        }
        // Serialization on the uplink.
        let start = self.now.max(self.hosts[from].busy_until);
        let tx_time = (frame.len() as u64 * 8 * 1_000_000)
            .checked_div(link.bandwidth_bps)
            .map_or(Duration::ZERO, Duration::from_micros);
        self.hosts[from].busy_until = start + tx_time;
        let scripted = match self.fault.as_mut() {
            Some(fault) => fault(from, &frame, self.now),
            None => Fault::Pass,
        };
        if scripted == Fault::Drop {
            self.stats.lost += 1;
            return;
        }
        if scripted == Fault::MarkCe && mark_ce(&mut frame) {
            self.stats.ce_marked += 1;
        }
        if self.rng.chance(link.loss_ppm) {
            self.stats.lost += 1;
            return;
        }
        // ARP has no checksum of its own; on a real link the Ethernet FCS
        // catches what we flip, so only checksummed (IPv4) frames get
        // corrupted here.
        let is_arp = frame.get(12..14) == Some(&[0x08, 0x06][..]);
        if frame.len() > 14 && !is_arp && self.rng.chance(link.corrupt_ppm) {
            let bit = 14 * 8 + self.rng.below(((frame.len() - 14) * 8) as u64) as usize;
            frame[bit / 8] ^= 1 << (bit % 8);
            self.stats.corrupted += 1;
        }
        let mut at = start + tx_time + link.latency;
        if let Fault::Delay(extra) = scripted {
            at += extra;
            self.stats.reordered += 1;
        }
        if self.rng.chance(link.reorder_ppm) {
            at += Duration::from_micros(self.rng.below(link.reorder_delay.total_micros().max(1)));
            self.stats.reordered += 1;
        }
        if self.rng.chance(link.duplicate_ppm) {
            self.stats.duplicated += 1;
            self.push(at + Duration::from_micros(1), from, frame.clone());
        }
        self.push(at, from, frame);
    }

    fn push(&mut self, at: Instant, from: usize, frame: Vec<u8>) {
        self.order += 1;
        self.hosts[from].queued += 1;
        self.in_flight.push(Reverse(InFlight {
            at,
            order: self.order,
            from,
            frame,
        }));
    }

    fn deliver(&mut self, f: InFlight) {
        self.hosts[f.from].queued -= 1;
        let dst = &f.frame[..6.min(f.frame.len())];
        for (i, h) in self.hosts.iter_mut().enumerate() {
            if i == f.from {
                continue;
            }
            if dst == h.iface.mac().0 || dst == [0xff; 6] {
                h.device.rx.push_back(f.frame.clone());
                self.stats.delivered += 1;
            }
        }
    }

    /// When something next happens: a frame arrives or a host's timer is due.
    pub fn next_event(&self) -> Option<Instant> {
        let arrival = self.in_flight.peek().map(|Reverse(f)| f.at);
        let timers = self
            .hosts
            .iter()
            .filter_map(|h| h.iface.poll_at(&h.sockets))
            .min();
        match (arrival, timers) {
            (Some(a), Some(t)) => Some(a.min(t)),
            (a, t) => a.or(t),
        }
    }

    /// Poll, then advance the clock to the next event (not past `limit`) and
    /// deliver the frames due by then. Returns false when nothing at all is
    /// pending (the network is idle forever).
    pub fn step(&mut self, limit: Instant) -> bool {
        self.poll_hosts();
        let Some(next) = self.next_event() else {
            return false;
        };
        let next = next.max(self.now).min(limit);
        self.now = next;
        while self
            .in_flight
            .peek()
            .is_some_and(|Reverse(f)| f.at <= self.now)
        {
            if let Some(Reverse(f)) = self.in_flight.pop() {
                self.deliver(f);
            }
        }
        true
    }

    /// Step until `done` returns true (called after every step, where the
    /// test plays the applications) or `timeout` of virtual time passes.
    /// Returns whether `done` was reached. Panics on a livelock: a million
    /// steps without the clock moving.
    pub fn run_until(&mut self, timeout: Duration, mut done: impl FnMut(&mut Sim) -> bool) -> bool {
        let end = self.now + timeout;
        let mut stuck = 0u32;
        loop {
            if done(self) {
                return true;
            }
            if self.now >= end {
                return false;
            }
            let before = self.now;
            if !self.step(end) {
                // Idle: nothing will ever happen unless the app acts. Give
                // it a turn; if that queued work, carry on.
                if done(self) {
                    return true;
                }
                if self.next_event().is_none() {
                    self.now = end;
                    return false;
                }
                continue;
            }
            if self.now == before {
                stuck += 1;
                assert!(
                    stuck < 1_000_000,
                    "livelock at {} (seed {})",
                    self.now,
                    self.seed
                );
            } else {
                stuck = 0;
            }
        }
    }

    /// [`run_until`](Self::run_until) in one-second slices. When the
    /// network goes idle, `run_until` gives the applications one last turn
    /// and then jumps to the end of its timeout even if that turn queued new
    /// data, so an application that acts only once the network is quiet (a
    /// lazy reader, a writer waiting for room) would stall for the whole
    /// timeout; slicing bounds that stall to a second of virtual time.
    pub fn run_sliced(&mut self, total: Duration, mut done: impl FnMut(&mut Sim) -> bool) -> bool {
        let end = self.now + total;
        while self.now < end {
            if self.run_until(Duration::from_secs(1), &mut done) {
                return true;
            }
        }
        false
    }
}

/// Run `test` for each seed in `seeds`; on failure, print the seed and how
/// to rerun just that one (`RTCP_SEED=N`), then fail. `RTCP_SEEDS=N`
/// overrides the number of seeds.
pub fn for_seeds(name: &str, default_count: u64, mut test: impl FnMut(u64)) {
    if let Ok(seed) = std::env::var("RTCP_SEED") {
        let seed: u64 = seed.parse().expect("RTCP_SEED must be a number");
        test(seed);
        return;
    }
    let count = std::env::var("RTCP_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_count);
    for seed in 0..count {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| test(seed)));
        if let Err(e) = result {
            eprintln!(
                "{name}: failed with seed {seed}; rerun with RTCP_SEED={seed} cargo test --release -p rtcp-tests {name}"
            );
            std::panic::resume_unwind(e);
        }
    }
}

/// Set CE in an ECN-capable IPv4 frame (fixing the header checksum);
/// returns whether it was marked.
fn mark_ce(frame: &mut [u8]) -> bool {
    let Some(ip) = frame.get_mut(14..) else {
        return false;
    };
    let Ok(mut packet) = Ipv4Packet::new_checked(ip) else {
        return false;
    };
    let tos = packet.dscp_ecn();
    if !matches!(tos & 0x03, 0x01 | 0x02) {
        return false;
    }
    packet.set_dscp_ecn(tos | 0x03);
    packet.fill_checksum();
    true
}
