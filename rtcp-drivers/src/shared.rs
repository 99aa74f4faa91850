//! Sharing the stack between the main loop and interrupt handlers.
//!
//! On a microcontroller the NIC's receive interrupt and the main loop both
//! want the NIC, and often the application's interrupt handlers want the
//! sockets too. This module makes that safe without `unsafe` in user code,
//! and without masking interrupts for a whole [`Interface::poll`]:
//!
//! - [`Shared<T>`] is a value behind a [`critical_section`] mutex. It can be
//!   a `static` (its constructor is `const`), so an interrupt handler can
//!   reach it. [`Shared::lock`] runs a closure with `&mut T` inside a
//!   critical section; a nested lock of the same value returns
//!   [`SharedError::Busy`] instead of panicking.
//! - [`FrameQueue`] is a fixed ring of frame buffers. The receive interrupt
//!   only moves frames from the NIC into it ([`receive_into`]); it never runs
//!   the TCP engine.
//! - [`Stack::step`] runs one bounded step of the engine: at most one frame
//!   from the queue and at most [`STEP_BURST`] frames out. The main loop
//!   takes the locks for one step at a time, so an interrupt waits for at
//!   most one step, never for a whole poll over a full queue.
//!
//! ```
//! use rtcp_core::iface::{Interface, InterfaceConfig};
//! use rtcp_core::socket_set::{SocketSet, SocketSlot};
//! use rtcp_core::time::Instant;
//! use rtcp_core::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};
//! use rtcp_drivers::shared::{receive_into, FrameQueue, Shared, Stack};
//! # use rtcp_core::phy::{Device, DeviceCapabilities, RxToken, TxToken};
//! # pub struct MyNic;
//! # pub struct Tok;
//! # impl RxToken for Tok { fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R { f(&[]) } }
//! # impl TxToken for Tok { fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R { f(&mut [0; 1514][..len]) } }
//! # impl Device for MyNic {
//! #     type RxToken<'a> = Tok;
//! #     type TxToken<'a> = Tok;
//! #     fn receive(&mut self, _: Instant) -> Option<(Tok, Tok)> { None }
//! #     fn transmit(&mut self, _: Instant) -> Option<Tok> { Some(Tok) }
//! #     fn capabilities(&self) -> DeviceCapabilities { DeviceCapabilities::default() }
//! # }
//! # fn read_clock() -> Instant { Instant::ZERO }
//!
//! // Reachable from interrupt handlers: the NIC (put in at start-up) and
//! // four full-sized frames of receive queue (about 6 KiB of RAM).
//! static NIC: Shared<Option<MyNic>> = Shared::new(None);
//! static RXQ: Shared<FrameQueue<4, 1514>> = Shared::new(FrameQueue::new());
//!
//! // The NIC's receive interrupt: move frames into the queue, nothing more.
//! fn nic_interrupt() {
//!     let _ = NIC.lock_some(|nic| receive_into(nic, read_clock(), &RXQ));
//! }
//!
//! // The main loop owns the stack (put it in a `Shared` too if interrupt
//! // handlers use the sockets) and takes the NIC lock one step at a time.
//! fn main_loop(stack: &mut Stack<'_>) {
//!     # for _ in 0..3 {
//!     let now = read_clock();
//!     while NIC.lock_some(|nic| stack.step(now, nic, &RXQ)) == Ok(true) {}
//!     // Sleep (WFI) until stack.poll_at() or the next interrupt.
//!     # nic_interrupt();
//!     # }
//! }
//!
//! NIC.put(MyNic).unwrap();
//! let (mut rx, mut tx) = ([0u8; 2048], [0u8; 2048]);
//! let mut slots = [SocketSlot::new(&mut rx[..], &mut tx[..])];
//! let mut stack = Stack::new(
//!     Interface::new(InterfaceConfig {
//!         mac: EthernetAddress([0x02, 0, 0, 0, 0, 1]),
//!         ip: Ipv4Cidr::new(Ipv4Address::new(192, 168, 1, 2), 24),
//!         gateway: None,
//!     }),
//!     SocketSet::new(&mut slots[..], [7; 16]), // seed from the board's RNG
//! );
//! main_loop(&mut stack);
//! ```
//!
//! On a single core, a critical section masks interrupts, so two contexts
//! never hold the same lock at once and [`SharedError::Busy`] only means
//! re-entry (locking a value inside its own lock). On the host, and on
//! multi-core chips, the critical-section implementation is a global lock
//! and the same code stays correct: the tests run the "interrupt" on a
//! second thread with critical-section's `std` implementation.
//!
//! [`Interface::poll`]: rtcp_core::iface::Interface::poll

use core::cell::RefCell;
use core::fmt;

use critical_section::Mutex;
use rtcp_core::iface::Interface;
use rtcp_core::phy::{Device, DeviceCapabilities, RxToken};
use rtcp_core::socket_set::SocketSet;
use rtcp_core::time::Instant;

/// Most frames one [`Stack::step`] sends. Bounds how long one step holds
/// its locks (and, on a single core, keeps interrupts masked).
pub const STEP_BURST: usize = 4;

/// Most frames one call of [`receive_into`] moves, so a flood cannot keep
/// an interrupt handler running forever.
pub const MAX_FRAMES_PER_INTERRUPT: usize = 32;

/// Why a [`Shared`] value could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SharedError {
    /// The value is already borrowed: a lock was taken inside its own lock.
    Busy,
    /// A `Shared<Option<T>>` holds nothing yet (see [`Shared::put`]).
    Empty,
}

/// A value shared between the main loop and interrupt handlers, behind a
/// critical section.
pub struct Shared<T> {
    inner: Mutex<RefCell<T>>,
}

impl<T> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl<T> Shared<T> {
    /// Wrap a value (usable in a `static`).
    pub const fn new(value: T) -> Shared<T> {
        Shared {
            inner: Mutex::new(RefCell::new(value)),
        }
    }

    /// Run `f` with exclusive access to the value, inside a critical
    /// section. Keep `f` short: on a single core, interrupts wait for it.
    /// Returns [`SharedError::Busy`] (and does not run `f`) when the value
    /// is already borrowed by an enclosing `lock` of the same value.
    pub fn lock<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, SharedError> {
        self.access(|value| value.map(f))
    }

    /// Like `lock`, but `f` always runs, with the error if the value is
    /// busy: for callers that must produce an `R` either way.
    fn access<R>(&self, f: impl FnOnce(Result<&mut T, SharedError>) -> R) -> R {
        critical_section::with(|cs| {
            let cell = self.inner.borrow(cs);
            match cell.try_borrow_mut() {
                Ok(mut value) => f(Ok(&mut value)),
                Err(_) => f(Err(SharedError::Busy)),
            }
        })
    }

    /// Direct access when nothing else can hold a reference (`&mut self`).
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut().get_mut()
    }

    /// Unwrap the value.
    pub fn into_inner(self) -> T {
        self.inner.into_inner().into_inner()
    }
}

impl<T> Shared<Option<T>> {
    /// Put a value in (at start-up, once the peripheral exists), returning
    /// the previous one.
    pub fn put(&self, value: T) -> Result<Option<T>, SharedError> {
        self.lock(|slot| slot.replace(value))
    }

    /// Take the value out.
    pub fn take(&self) -> Result<Option<T>, SharedError> {
        self.lock(Option::take)
    }

    /// [`lock`](Shared::lock) the value if there is one, else
    /// [`SharedError::Empty`].
    pub fn lock_some<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, SharedError> {
        self.lock(|slot| slot.as_mut().map(f))?
            .ok_or(SharedError::Empty)
    }
}

/// Why a frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum QueueError {
    /// Every slot holds a frame.
    Full,
    /// The frame is longer than a slot.
    TooLong,
}

/// A fixed ring of `N` frames of up to `MTU` bytes each (`MTU` here is the
/// whole Ethernet frame without FCS: 1514 for a 1500-byte IP MTU).
pub struct FrameQueue<const N: usize, const MTU: usize> {
    slots: [[u8; MTU]; N],
    lens: [u16; N],
    head: usize,
    len: usize,
    dropped: u32,
}

impl<const N: usize, const MTU: usize> fmt::Debug for FrameQueue<N, MTU> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameQueue")
            .field("capacity", &N)
            .field("len", &self.len)
            .field("dropped", &self.dropped)
            .finish()
    }
}

#[cfg(feature = "defmt")]
impl<const N: usize, const MTU: usize> defmt::Format for FrameQueue<N, MTU> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "FrameQueue {{ capacity: {}, len: {}, dropped: {} }}",
            N,
            self.len,
            self.dropped
        )
    }
}

#[cfg(feature = "defmt")]
impl<T> defmt::Format for Shared<T> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Shared {{ .. }}")
    }
}

impl<const N: usize, const MTU: usize> Default for FrameQueue<N, MTU> {
    fn default() -> Self {
        FrameQueue::new()
    }
}

impl<const N: usize, const MTU: usize> FrameQueue<N, MTU> {
    /// An empty queue (usable in a `static`).
    pub const fn new() -> FrameQueue<N, MTU> {
        FrameQueue {
            slots: [[0; MTU]; N],
            lens: [0; N],
            head: 0,
            len: 0,
            dropped: 0,
        }
    }

    /// Number of slots.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Frames waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no frame is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether every slot is taken.
    pub fn is_full(&self) -> bool {
        self.len >= N
    }

    /// Frames refused since creation (queue full or frame too long).
    pub fn dropped(&self) -> u32 {
        self.dropped
    }

    /// Copy a frame in at the tail. A refused frame is counted in
    /// [`dropped`](Self::dropped).
    pub fn push(&mut self, frame: &[u8]) -> Result<(), QueueError> {
        let result = self.try_push(frame);
        if result.is_err() {
            self.dropped = self.dropped.wrapping_add(1);
        }
        result
    }

    fn try_push(&mut self, frame: &[u8]) -> Result<(), QueueError> {
        let len = u16::try_from(frame.len()).map_err(|_| QueueError::TooLong)?;
        if frame.len() > MTU {
            return Err(QueueError::TooLong);
        }
        if self.is_full() {
            return Err(QueueError::Full);
        }
        let tail = (self.head + self.len)
            .checked_rem(N)
            .ok_or(QueueError::Full)?;
        let (Some(slot), Some(slot_len)) = (self.slots.get_mut(tail), self.lens.get_mut(tail))
        else {
            return Err(QueueError::Full);
        };
        let Some(dst) = slot.get_mut(..frame.len()) else {
            return Err(QueueError::TooLong);
        };
        dst.copy_from_slice(frame);
        *slot_len = len;
        self.len += 1;
        Ok(())
    }

    /// The oldest frame, if any.
    pub fn front(&self) -> Option<&[u8]> {
        if self.len == 0 {
            return None;
        }
        let len = usize::from(*self.lens.get(self.head)?);
        self.slots.get(self.head)?.get(..len)
    }

    /// Free the oldest frame's slot (nothing when empty).
    pub fn pop(&mut self) {
        if self.len > 0 {
            self.head = (self.head + 1).checked_rem(N).unwrap_or(0);
            self.len -= 1;
        }
    }

    /// Hand the oldest frame to `f` and free its slot; `None` when empty.
    pub fn pop_with<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let r = f(self.front()?);
        self.pop();
        Some(r)
    }
}

/// What one call of [`receive_into`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Received {
    /// Frames moved into the queue.
    pub queued: usize,
    /// Frames taken from the NIC but dropped (queue full, frame too long).
    pub dropped: usize,
}

/// For the NIC's receive interrupt: move every frame the device holds
/// (at most [`MAX_FRAMES_PER_INTERRUPT`]) into `queue`.
///
/// Frames that do not fit are dropped and counted rather than left in the
/// NIC: a level-triggered receive interrupt would otherwise fire again at
/// once and starve the main loop. TCP retransmits what was dropped.
pub fn receive_into<D: Device, const N: usize, const MTU: usize>(
    device: &mut D,
    now: Instant,
    queue: &Shared<FrameQueue<N, MTU>>,
) -> Received {
    let mut out = Received::default();
    for _ in 0..MAX_FRAMES_PER_INTERRUPT {
        let Some((rx, _tx)) = device.receive(now) else {
            break;
        };
        // The queue's critical section covers one copy; the device has
        // already read the frame (over SPI, say) outside of it.
        match rx.consume(|frame| queue.lock(|q| q.push(frame))) {
            Ok(Ok(())) => out.queued += 1,
            _ => out.dropped += 1,
        }
    }
    out
}

/// The interface and its socket table, stepped one bounded piece at a time.
#[derive(Debug)]
pub struct Stack<'a> {
    /// The interface (ARP, IPv4, ICMP, demultiplexing).
    pub iface: Interface,
    /// The socket table.
    pub sockets: SocketSet<'a>,
}

impl<'a> Stack<'a> {
    /// A stack from its parts.
    pub fn new(iface: Interface, sockets: SocketSet<'a>) -> Stack<'a> {
        Stack { iface, sockets }
    }

    /// One bounded step: process at most one frame from `rx_queue`, then
    /// send at most [`STEP_BURST`] frames through `nic`. Returns whether
    /// anything was done; call again (releasing your locks in between, so
    /// interrupts run) until it returns `false`, then sleep until
    /// [`poll_at`](Self::poll_at) or the next interrupt.
    pub fn step<D: Device, const N: usize, const MTU: usize>(
        &mut self,
        now: Instant,
        nic: &mut D,
        rx_queue: &Shared<FrameQueue<N, MTU>>,
    ) -> bool {
        let mut device = StepDevice {
            nic,
            rx_queue,
            rx_left: 1,
        };
        self.iface.poll(now, &mut device, &mut self.sockets)
    }

    /// When the stack next needs a step, absent frames and user calls.
    pub fn poll_at(&self) -> Option<Instant> {
        self.iface.poll_at(&self.sockets)
    }
}

/// The device [`Stack::step`] hands the interface: received frames come
/// from the queue (the interrupt put them there), transmit tokens straight
/// from the NIC.
struct StepDevice<'d, D, const N: usize, const MTU: usize> {
    nic: &'d mut D,
    rx_queue: &'d Shared<FrameQueue<N, MTU>>,
    rx_left: usize,
}

/// A frame waiting in a [`FrameQueue`]; consuming it pops it.
#[derive(Debug)]
pub struct QueuedRx<'q, const N: usize, const MTU: usize> {
    queue: &'q Shared<FrameQueue<N, MTU>>,
}

impl<const N: usize, const MTU: usize> RxToken for QueuedRx<'_, N, MTU> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        // `f` runs inside the queue's lock: the interface parses the frame
        // in place. It touches only the NIC's transmit token, never this
        // queue, so the lock is free. Only this token's holder pops and
        // `receive` saw a frame, so the empty-frame fallbacks are not
        // reached in practice; the interface would drop an empty frame as
        // malformed.
        self.queue.access(|q| match q {
            Ok(q) => {
                let r = f(q.front().unwrap_or(&[]));
                q.pop();
                r
            }
            Err(_) => f(&[]),
        })
    }
}

impl<'d, D: Device, const N: usize, const MTU: usize> Device for StepDevice<'d, D, N, MTU> {
    type RxToken<'a>
        = QueuedRx<'a, N, MTU>
    where
        Self: 'a;
    type TxToken<'a>
        = D::TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, now: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        if self.rx_left == 0 {
            return None;
        }
        let waiting = self.rx_queue.lock(|q| !q.is_empty()).unwrap_or(false);
        if !waiting {
            return None;
        }
        let tx = self.nic.transmit(now)?;
        self.rx_left -= 1;
        Some((
            QueuedRx {
                queue: self.rx_queue,
            },
            tx,
        ))
    }

    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>> {
        self.nic.transmit(now)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = self.nic.capabilities();
        caps.max_burst = match caps.max_burst {
            0 => STEP_BURST,
            n => n.min(STEP_BURST),
        };
        caps
    }
}

#[cfg(test)]
mod tests;
