//! Host tests of the sharing wrapper, with critical-section's `std`
//! implementation (one global reentrant lock): a second thread plays the
//! interrupt handlers.

use super::*;
use rtcp_core::iface::InterfaceConfig;
use rtcp_core::phy::TxToken;
use rtcp_core::socket_set::{SocketHandle, SocketSlot};
use rtcp_core::tcp::{Endpoint, TcpError};
use rtcp_core::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::vec::Vec;

/// A NIC model: frames "on the wire" waiting for the receive interrupt, and
/// the frames the stack sent.
#[derive(Debug, Default)]
struct FakeNic {
    wire_rx: VecDeque<Vec<u8>>,
    sent: Vec<Vec<u8>>,
}

struct FakeRx(Vec<u8>);
struct FakeTx<'a>(&'a mut Vec<Vec<u8>>);

impl RxToken for FakeRx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl TxToken for FakeTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = std::vec![0u8; len];
        let r = f(&mut frame);
        self.0.push(frame);
        r
    }
}

impl Device for FakeNic {
    type RxToken<'a> = FakeRx;
    type TxToken<'a> = FakeTx<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(FakeRx, FakeTx<'_>)> {
        let frame = self.wire_rx.pop_front()?;
        Some((FakeRx(frame), FakeTx(&mut self.sent)))
    }

    fn transmit(&mut self, _now: Instant) -> Option<FakeTx<'_>> {
        Some(FakeTx(&mut self.sent))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        DeviceCapabilities::default()
    }
}

fn frame(n: u32, len: usize) -> Vec<u8> {
    let mut f = std::vec![(n % 251) as u8; len.max(4)];
    f[..4].copy_from_slice(&n.to_be_bytes());
    f
}

#[test]
fn queue_is_fifo_across_wraparound() {
    let mut q: FrameQueue<3, 64> = FrameQueue::new();
    let mut next_out = 0u32;
    for n in 0..10u32 {
        q.push(&frame(n, 10 + n as usize)).unwrap();
        if n % 2 == 1 {
            // Drain two: the head index wraps several times over the run.
            for _ in 0..2 {
                let got = q.pop_with(|f| f.to_vec()).unwrap();
                assert_eq!(got, frame(next_out, 10 + next_out as usize));
                next_out += 1;
            }
        }
    }
    assert!(q.is_empty());
    assert_eq!(q.pop_with(|f| f.len()), None);
    assert_eq!(q.dropped(), 0);
}

#[test]
fn queue_refuses_and_counts_when_full_or_too_long() {
    let mut q: FrameQueue<2, 16> = FrameQueue::new();
    assert_eq!(q.push(&[0; 17]), Err(QueueError::TooLong));
    q.push(&[1; 16]).unwrap();
    q.push(&[2; 1]).unwrap();
    assert!(q.is_full());
    assert_eq!(q.push(&[3; 1]), Err(QueueError::Full));
    assert_eq!(q.dropped(), 2);
    assert_eq!(q.pop_with(|f| f.to_vec()), Some(std::vec![1; 16]));
    assert_eq!(q.pop_with(|f| f.to_vec()), Some(std::vec![2; 1]));
}

#[test]
fn zero_slot_queue_refuses_without_panicking() {
    let mut q: FrameQueue<0, 16> = FrameQueue::new();
    assert_eq!(q.push(&[1]), Err(QueueError::Full));
    assert_eq!(q.pop_with(|f| f.len()), None);
}

#[test]
fn nested_lock_is_busy_not_a_panic() {
    let shared = Shared::new(5u32);
    let inner = shared.lock(|v| {
        *v += 1;
        shared.lock(|v| *v)
    });
    assert_eq!(inner, Ok(Err(SharedError::Busy)));
    assert_eq!(shared.lock(|v| *v), Ok(6));
}

#[test]
fn option_helpers() {
    let shared: Shared<Option<u8>> = Shared::new(None);
    assert_eq!(shared.lock_some(|v| *v), Err(SharedError::Empty));
    assert_eq!(shared.put(3), Ok(None));
    assert_eq!(shared.lock_some(|v| *v + 1), Ok(4));
    assert_eq!(shared.take(), Ok(Some(3)));
    assert_eq!(shared.into_inner(), None);
}

#[test]
fn receive_into_moves_frames_and_drops_what_does_not_fit() {
    let queue: Shared<FrameQueue<2, 64>> = Shared::new(FrameQueue::new());
    let mut nic = FakeNic::default();
    for n in 0..3 {
        nic.wire_rx.push_back(frame(n, 20));
    }
    nic.wire_rx.push_back(std::vec![0; 65]);
    let got = receive_into(&mut nic, Instant::ZERO, &queue);
    // Two fit; the third finds the queue full and the fourth is too long:
    // both are taken off the NIC so its interrupt stops firing.
    assert_eq!(
        got,
        Received {
            queued: 2,
            dropped: 2
        }
    );
    assert!(nic.wire_rx.is_empty());
    assert_eq!(queue.lock(|q| q.dropped()), Ok(2));
}

/// The receive interrupt on a second thread pushes numbered frames while
/// the main thread drains the queue: every frame is either delivered, in
/// order, or counted as dropped.
#[test]
fn interrupt_thread_and_main_loop_share_the_queue() {
    const FRAMES: u32 = 20_000;
    let nic: Shared<FakeNic> = Shared::new(FakeNic::default());
    let queue: Shared<FrameQueue<4, 128>> = Shared::new(FrameQueue::new());
    let isr_done = AtomicBool::new(false);
    let mut delivered = Vec::new();
    let mut dropped = 0usize;
    std::thread::scope(|s| {
        let isr = s.spawn(|| {
            let mut dropped = 0;
            for n in 0..FRAMES {
                // A frame lands in the NIC, then its interrupt runs.
                let r = nic
                    .lock(|nic| {
                        nic.wire_rx.push_back(frame(n, 60 + (n % 64) as usize));
                        receive_into(nic, Instant::ZERO, &queue)
                    })
                    .unwrap();
                assert_eq!(r.queued + r.dropped, 1);
                dropped += r.dropped;
            }
            isr_done.store(true, Ordering::Release);
            dropped
        });
        loop {
            let finished = isr_done.load(Ordering::Acquire);
            while let Some(n) = queue
                .lock(|q| q.pop_with(|f| u32::from_be_bytes([f[0], f[1], f[2], f[3]])))
                .unwrap()
            {
                delivered.push(n);
            }
            if finished {
                break;
            }
            std::thread::yield_now();
        }
        dropped = isr.join().unwrap();
    });
    assert_eq!(delivered.len() + dropped, FRAMES as usize);
    assert!(delivered.windows(2).all(|w| w[0] < w[1]), "out of order");
    assert_eq!(queue.lock(|q| q.dropped() as usize), Ok(dropped));
    assert!(!delivered.is_empty());
}

/// What the "interrupt" thread is asked to do.
enum Irq {
    /// A frame arrived on the NIC.
    Frame(Vec<u8>),
    /// A timer interrupt: run the echo service on the shared socket table.
    Tick,
}

fn config(last: u8) -> InterfaceConfig {
    InterfaceConfig {
        mac: EthernetAddress([0x02, 0, 0, 0, 0, last]),
        ip: Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, last), 24),
        gateway: None,
    }
}

/// The echo service, run from the timer "interrupt": accept, then copy
/// what arrived back out. Returns whether it moved anything.
fn echo(stack: &mut Stack<'_>, listener: SocketHandle, conn: &mut Option<SocketHandle>) -> bool {
    let mut moved = false;
    if conn.is_none() {
        if let Ok(h) = stack.sockets.accept(listener) {
            *conn = Some(h);
            moved = true;
        }
    }
    let Some(h) = *conn else { return moved };
    let mut buf = [0u8; 512];
    loop {
        // Only take what can be sent back right away.
        let room = stack
            .sockets
            .get(h)
            .map_or(0, |s| s.send_capacity().saturating_sub(s.send_queue()));
        let want = room.min(buf.len());
        if want == 0 {
            break;
        }
        match stack.sockets.recv(h, &mut buf[..want]) {
            Ok(n) if n > 0 => {
                assert_eq!(stack.sockets.send(h, &buf[..n]), Ok(n));
                moved = true;
            }
            _ => break,
        }
    }
    moved
}

/// rtcp over the sharing wrapper end to end: stack A's NIC receive
/// interrupt and a timer interrupt (the echo service, using A's socket
/// table) run on a second thread, while the main thread steps A one
/// bounded step at a time and also runs a plain peer B. B sends 256 KiB
/// through A's echo service and checks every byte that comes back. Time
/// is virtual; the main thread advances it only when both stacks are idle
/// and every interrupt has run.
#[test]
fn tcp_echo_with_interrupt_thread() {
    const TOTAL: usize = 256 * 1024;
    const PORT: u16 = 7;

    let clock = AtomicU64::new(0);
    let now = || Instant::from_micros(clock.load(Ordering::Acquire));
    let pending = AtomicUsize::new(0);
    let isr_progress = AtomicBool::new(false);

    // Stack A: the "microcontroller", shared with its interrupt handlers.
    let (mut a_rx, mut a_tx) = ([[0u8; 2048]; 2], [[0u8; 2048]; 2]);
    let ([a_rx0, a_rx1], [a_tx0, a_tx1]) = (&mut a_rx, &mut a_tx);
    let mut a_slots = [
        SocketSlot::new(&mut a_rx0[..], &mut a_tx0[..]),
        SocketSlot::new(&mut a_rx1[..], &mut a_tx1[..]),
    ];
    let mut a_sockets = SocketSet::new(&mut a_slots[..], [1; 16]);
    let listener = a_sockets.open().unwrap();
    a_sockets
        .listen(listener, Endpoint::new(Ipv4Address::UNSPECIFIED, PORT), 1)
        .unwrap();
    let stack = Shared::new(Some(Stack::new(Interface::new(config(1)), a_sockets)));
    let nic: Shared<Option<FakeNic>> = Shared::new(Some(FakeNic::default()));
    let rxq: Shared<FrameQueue<4, 1514>> = Shared::new(FrameQueue::new());

    // Peer B: a plain interface on the main thread.
    let (mut b_rx, mut b_tx) = ([0u8; 8192], [0u8; 8192]);
    let mut b_slots = [SocketSlot::new(&mut b_rx[..], &mut b_tx[..])];
    let mut b_sockets = SocketSet::new(&mut b_slots[..], [2; 16]);
    let mut b_iface = Interface::new(config(2));
    let mut b_dev = FakeNic::default();
    let b = b_sockets.open().unwrap();
    b_sockets
        .connect(
            Instant::ZERO,
            b,
            Endpoint::new(config(2).ip.address, 0),
            Endpoint::new(config(1).ip.address, PORT),
        )
        .unwrap();

    let data: Vec<u8> = (0..TOTAL as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut sent = 0usize;
    let mut echoed: Vec<u8> = Vec::with_capacity(TOTAL);

    let (irq_tx, irq_rx) = mpsc::channel::<Irq>();
    std::thread::scope(|s| {
        // The interrupt handlers.
        let isr = s.spawn(|| {
            let mut conn = None;
            let mut isr_dropped = 0;
            for irq in irq_rx {
                match irq {
                    Irq::Frame(f) => {
                        let r = nic
                            .lock_some(|nic| {
                                nic.wire_rx.push_back(f);
                                receive_into(nic, now(), &rxq)
                            })
                            .unwrap();
                        isr_dropped += r.dropped;
                    }
                    Irq::Tick => {
                        if stack.lock_some(|st| echo(st, listener, &mut conn)).unwrap() {
                            isr_progress.store(true, Ordering::Release);
                        }
                    }
                }
                pending.fetch_sub(1, Ordering::AcqRel);
            }
            isr_dropped
        });
        let raise = |irq: Irq| {
            pending.fetch_add(1, Ordering::AcqRel);
            irq_tx.send(irq).unwrap();
        };

        let mut steps = 0u64;
        let mut rounds = 0u64;
        while echoed.len() < TOTAL {
            rounds += 1;
            assert!(
                rounds < 2_000_000,
                "no progress: sent {sent}, echoed {}",
                echoed.len()
            );
            let t = now();
            let mut active = false;
            // A: one bounded step per lock; the "interrupt" thread gets in
            // between steps.
            while nic
                .lock_some(|nic| stack.lock_some(|st| st.step(t, nic, &rxq)))
                .unwrap()
                .unwrap()
            {
                steps += 1;
                active = true;
            }
            // The wire, A to B.
            let out = nic.lock_some(|nic| std::mem::take(&mut nic.sent)).unwrap();
            active |= !out.is_empty();
            b_dev.wire_rx.extend(out);
            // B: send what fits, read the echo.
            if sent < TOTAL {
                if let Ok(n) = b_sockets.send(b, &data[sent..]) {
                    sent += n;
                    active |= n > 0;
                }
            }
            let mut buf = [0u8; 4096];
            while let Ok(n) = b_sockets.recv(b, &mut buf) {
                if n == 0 {
                    break;
                }
                echoed.extend_from_slice(&buf[..n]);
                active = true;
            }
            active |= b_iface.poll(t, &mut b_dev, &mut b_sockets);
            // The wire, B to A: each frame raises A's receive interrupt.
            for f in b_dev.sent.drain(..) {
                raise(Irq::Frame(f));
                active = true;
            }
            if active {
                continue;
            }
            // Idle: fire the timer interrupt, wait for every interrupt to
            // have run (a spin, not a sleep: nothing here is timed).
            raise(Irq::Tick);
            while pending.load(Ordering::Acquire) > 0 {
                std::thread::yield_now();
            }
            let queued = rxq.lock(|q| !q.is_empty()).unwrap();
            if queued || isr_progress.swap(false, Ordering::AcqRel) {
                continue;
            }
            // Nothing left to do now: jump to the next deadline.
            let a_at = stack.lock_some(|st| st.poll_at()).unwrap();
            let next = [a_at, b_iface.poll_at(&b_sockets)]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(Instant::MAX);
            let next = next.max(Instant::from_micros(t.total_micros() + 1));
            assert!(next < Instant::from_secs(600), "stalled at {t:?}");
            clock.store(next.total_micros(), Ordering::Release);
        }
        drop(irq_tx);
        let isr_dropped = isr.join().unwrap();
        std::println!(
            "echoed {TOTAL} bytes in {steps} steps, {rounds} rounds, {isr_dropped} frames \
             dropped by the interrupt, virtual time {:?}",
            now()
        );
    });
    assert_eq!(echoed.len(), TOTAL);
    assert!(echoed == data, "echoed data differs");
    assert_eq!(b_sockets.recv(b, &mut [0; 1]), Err(TcpError::WouldBlock));
}
