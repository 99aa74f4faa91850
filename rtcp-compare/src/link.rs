//! The link model both stacks run over: two device ends joined by a link.
//!
//! The device is the lean one of `tests/src/bin/rtcp-bench.rs`: fixed-size
//! frame buffers recycled through a pool shared by both ends, frames moved
//! between the ends by pointer, nothing zeroed or cloned per frame. The same
//! `End` implements rtcp's and smoltcp's device traits, so both stacks see
//! the same code underneath them.
//!
//! The link either hands frames straight across (the clean wall-clock rows)
//! or, for the lossy rows, gives each direction a line rate, a one-way delay
//! and seeded random loss, and counts retransmitted TCP payload bytes and
//! retransmissions after a long sender silence (timeouts) from the frames
//! themselves, the same way for both stacks.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// One Ethernet frame in a recycled buffer.
#[derive(Debug)]
pub struct Frame {
    buf: Box<[u8]>,
    len: usize,
}

impl Frame {
    /// The frame's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Free frame buffers, shared by both ends.
pub type Pool = RefCell<Vec<Box<[u8]>>>;

/// One end of the link: the device a stack polls.
#[derive(Debug)]
pub struct End {
    /// Frames waiting for the stack.
    pub rx: VecDeque<Frame>,
    /// Frames the stack emitted.
    pub tx: VecDeque<Frame>,
    pool: Rc<Pool>,
    frame_cap: usize,
    /// IP MTU of the link.
    pub mtu: usize,
}

impl End {
    /// An end for frames of up to `mtu` + 14 bytes.
    pub fn new(pool: Rc<Pool>, mtu: usize) -> End {
        End {
            rx: VecDeque::new(),
            tx: VecDeque::new(),
            pool,
            frame_cap: mtu + 14,
            mtu,
        }
    }

    fn tx_token(&mut self) -> TxTok<'_> {
        TxTok {
            tx: &mut self.tx,
            pool: &self.pool,
            frame_cap: self.frame_cap,
        }
    }

    fn rx_pair(&mut self) -> Option<(RxTok<'_>, TxTok<'_>)> {
        let frame = self.rx.pop_front()?;
        Some((
            RxTok {
                frame,
                pool: &self.pool,
            },
            TxTok {
                tx: &mut self.tx,
                pool: &self.pool,
                frame_cap: self.frame_cap,
            },
        ))
    }

    /// Queue a frame of `len` bytes that `f` writes (the floor stack,
    /// which has no device traits to go through).
    pub fn emit(&mut self, len: usize, f: impl FnOnce(&mut [u8])) {
        self.tx_token().put(len, f);
    }

    /// Return a frame's buffer to the pool (a frame the link dropped).
    pub fn recycle(&self, f: Frame) {
        self.pool.borrow_mut().push(f.buf);
    }
}

/// Receive token: hands the frame to the stack, then recycles its buffer.
#[derive(Debug)]
pub struct RxTok<'a> {
    frame: Frame,
    pool: &'a Pool,
}

/// Transmit token: takes a pooled buffer, queues the frame.
#[derive(Debug)]
pub struct TxTok<'a> {
    tx: &'a mut VecDeque<Frame>,
    pool: &'a Pool,
    frame_cap: usize,
}

impl RxTok<'_> {
    fn take<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        let r = f(&self.frame.buf[..self.frame.len]);
        self.pool.borrow_mut().push(self.frame.buf);
        r
    }
}

impl TxTok<'_> {
    fn put<R>(self, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let popped = self.pool.borrow_mut().pop();
        let mut buf = popped.unwrap_or_else(|| vec![0u8; self.frame_cap].into_boxed_slice());
        let len = len.min(buf.len());
        let r = f(&mut buf[..len]);
        self.tx.push_back(Frame { buf, len });
        r
    }
}

// --- rtcp's device traits -------------------------------------------------

impl rtcp_core::phy::RxToken for RxTok<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        self.take(f)
    }
}

impl rtcp_core::phy::TxToken for TxTok<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        self.put(len, f)
    }
}

impl rtcp_core::phy::Device for End {
    type RxToken<'a>
        = RxTok<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxTok<'a>
    where
        Self: 'a;

    fn receive(&mut self, _now: rtcp_core::time::Instant) -> Option<(RxTok<'_>, TxTok<'_>)> {
        self.rx_pair()
    }

    fn transmit(&mut self, _now: rtcp_core::time::Instant) -> Option<TxTok<'_>> {
        Some(self.tx_token())
    }

    fn capabilities(&self) -> rtcp_core::phy::DeviceCapabilities {
        rtcp_core::phy::DeviceCapabilities {
            mtu: self.mtu,
            // Software checksums on both stacks.
            checksum: rtcp_core::phy::ChecksumOffload::default(),
            max_burst: 0,
        }
    }
}

// --- smoltcp's device traits ----------------------------------------------

impl smoltcp::phy::RxToken for RxTok<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        self.take(f)
    }
}

impl smoltcp::phy::TxToken for TxTok<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        self.put(len, f)
    }
}

impl smoltcp::phy::Device for End {
    type RxToken<'a>
        = RxTok<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxTok<'a>
    where
        Self: 'a;

    fn receive(&mut self, _now: smoltcp::time::Instant) -> Option<(RxTok<'_>, TxTok<'_>)> {
        self.rx_pair()
    }

    fn transmit(&mut self, _now: smoltcp::time::Instant) -> Option<TxTok<'_>> {
        Some(self.tx_token())
    }

    fn capabilities(&self) -> smoltcp::phy::DeviceCapabilities {
        let mut caps = smoltcp::phy::DeviceCapabilities::default();
        caps.medium = smoltcp::phy::Medium::Ethernet;
        // smoltcp's Ethernet MTU counts the 14-byte header.
        caps.max_transmission_unit = self.mtu + 14;
        // Default checksum capabilities: computed and verified in software.
        caps
    }
}

// --- the lossy, delaying link ---------------------------------------------

/// A small seeded generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Fill `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for c in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
    }
}

/// Line rate, delay and loss of each direction.
#[derive(Debug, Clone, Copy)]
pub struct LinkCfg {
    /// One-way delay, µs.
    pub delay_us: u64,
    /// Line rate, bits per second.
    pub rate_bps: u64,
    /// Frame loss, parts per million, each direction.
    pub loss_ppm: u64,
    /// A retransmission that follows at least this much sender silence
    /// counts as a timeout (both stacks' minimum RTO is 1 s).
    pub timeout_gap_us: u64,
}

/// What the link saw in one direction.
#[derive(Debug, Default, Clone, Copy)]
pub struct DirStats {
    /// Frames put on the wire.
    pub frames: u64,
    /// Frames dropped.
    pub lost: u64,
    /// TCP payload bytes.
    pub payload: u64,
    /// TCP payload bytes below the highest sequence number already sent.
    pub retransmitted: u64,
    /// Retransmissions after a silence of at least `timeout_gap_us`.
    pub timeouts: u64,
}

#[derive(Debug, Default)]
struct Dir {
    queue: VecDeque<(u64, Frame)>,
    busy_until: u64,
    last_data_at: u64,
    high_seq: Option<u32>,
    stats: DirStats,
}

/// A lossy, delaying link between end A (index 0) and end B (index 1).
#[derive(Debug)]
pub struct Link {
    cfg: LinkCfg,
    rng: Rng,
    dirs: [Dir; 2],
}

/// TCP sequence number and payload length of an Ethernet/IPv4/TCP frame.
fn tcp_seq_len(f: &[u8]) -> Option<(u32, u32)> {
    if f.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    let ip = f.get(14..)?;
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    if *ip.get(9)? != 6 {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    let tcp = ip.get(ihl..)?;
    let doff = usize::from(tcp.get(12)? >> 4) * 4;
    let seq = u32::from_be_bytes(tcp.get(4..8)?.try_into().ok()?);
    let len = total.checked_sub(ihl + doff)?;
    Some((seq, len as u32))
}

impl Link {
    /// A link with this configuration and loss seed.
    pub fn new(cfg: LinkCfg, seed: u64) -> Link {
        Link {
            cfg,
            rng: Rng::new(seed),
            dirs: [Dir::default(), Dir::default()],
        }
    }

    /// Put the frames `from` emitted on the wire in direction `d` at `now`.
    pub fn send(&mut self, d: usize, from: &mut End, now: u64) {
        while let Some(f) = from.tx.pop_front() {
            let dir = &mut self.dirs[d];
            dir.stats.frames += 1;
            if let Some((seq, len)) = tcp_seq_len(f.bytes()) {
                if len > 0 {
                    dir.stats.payload += u64::from(len);
                    let end = seq.wrapping_add(len);
                    match dir.high_seq {
                        Some(h) if (h.wrapping_sub(seq) as i32) > 0 => {
                            // Starts below the highest byte sent: the part
                            // below it is a retransmission.
                            let old = h.wrapping_sub(seq).min(len);
                            dir.stats.retransmitted += u64::from(old);
                            if now.saturating_sub(dir.last_data_at) >= self.cfg.timeout_gap_us {
                                dir.stats.timeouts += 1;
                            }
                            if (end.wrapping_sub(h) as i32) > 0 {
                                dir.high_seq = Some(end);
                            }
                        }
                        _ => dir.high_seq = Some(end),
                    }
                    dir.last_data_at = now;
                }
            }
            // Serialisation at the line rate (preamble, FCS and gap: 24 B).
            let bits = (f.len as u64 + 24) * 8;
            let tx_ns = (bits * 1_000_000_000)
                .checked_div(self.cfg.rate_bps)
                .unwrap_or(0);
            let start = dir.busy_until.max(now * 1000);
            dir.busy_until = start + tx_ns;
            let arrive_us = dir.busy_until.div_ceil(1000) + self.cfg.delay_us;
            if self.rng.next_u64() % 1_000_000 < self.cfg.loss_ppm {
                dir.stats.lost += 1;
                from.recycle(f);
            } else {
                dir.queue.push_back((arrive_us, f));
            }
        }
    }

    /// Deliver the frames of direction `d` that have arrived by `now`;
    /// returns how many.
    pub fn deliver(&mut self, d: usize, to: &mut End, now: u64) -> usize {
        let q = &mut self.dirs[d].queue;
        let mut n = 0;
        while q.front().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, f)) = q.pop_front() {
                to.rx.push_back(f);
                n += 1;
            }
        }
        n
    }

    /// The next arrival time in either direction.
    pub fn next_arrival(&self) -> Option<u64> {
        self.dirs
            .iter()
            .filter_map(|d| d.queue.front().map(|(t, _)| *t))
            .min()
    }

    /// What direction `d` saw.
    pub fn stats(&self, d: usize) -> DirStats {
        self.dirs[d].stats
    }
}
