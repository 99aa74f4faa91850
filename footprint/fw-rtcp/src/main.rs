//! Firmware-style rtcp build for flash and RAM figures: ARP, IPv4, ICMP
//! echo (answered by the interface) and one TCP echo service on port 7.
//!
//! The "MAC" is two frame buffers whose contents and lengths pass through
//! `core::hint::black_box`, so the optimiser must keep every receive and
//! transmit path, as with a real driver.
#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;
use rtcp_core::iface::{Interface, InterfaceConfig};
use rtcp_core::phy::{Device, DeviceCapabilities, RxToken, TxToken};
use rtcp_core::socket_set::{SocketSet, SocketSlot};
use rtcp_core::tcp::{Endpoint, TcpError};
use rtcp_core::time::Instant;
use rtcp_core::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

/// Smallest useful buffers: one MSS-sized window each way.
const BUF: usize = 1024;

struct Mac {
    rx: [u8; 1514],
    tx: [u8; 1514],
}

struct Rx<'a>(&'a [u8]);
struct Tx<'a>(&'a mut [u8]);

impl RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let n = len.min(self.0.len());
        let r = f(&mut self.0[..n]);
        black_box(&self.0[..n]);
        r
    }
}

impl Device for Mac {
    type RxToken<'a> = Rx<'a>;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(Rx<'_>, Tx<'_>)> {
        let n = black_box(0usize);
        if n == 0 || n > self.rx.len() {
            return None;
        }
        black_box(&mut self.rx);
        Some((Rx(&self.rx[..n]), Tx(&mut self.tx)))
    }

    fn transmit(&mut self, _now: Instant) -> Option<Tx<'_>> {
        Some(Tx(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        DeviceCapabilities::default()
    }
}

/// Send-log records per connection: rtcp-core's default, or 4 (feature
/// `small-log`) or 2 (`tiny-log`, the least allowed): a 1 KiB send buffer
/// never has more than a segment and a FIN in flight.
#[cfg(not(any(feature = "small-log", feature = "tiny-log")))]
const LOG: usize = rtcp_core::tcp::scoreboard::LOG_CAPACITY;
#[cfg(all(feature = "small-log", not(feature = "tiny-log")))]
const LOG: usize = 4;
#[cfg(feature = "tiny-log")]
const LOG: usize = 2;

#[cfg(feature = "sizes")]
mod sizes {
    use core::mem::size_of;
    #[used]
    #[no_mangle]
    static SIZEOF_TCP_SOCKET: [u8; size_of::<
        rtcp_core::tcp::socket::TcpSocket<'static, { crate::LOG }>,
    >()] = [0; size_of::<rtcp_core::tcp::socket::TcpSocket<'static, { crate::LOG }>>()];
    #[used]
    #[no_mangle]
    static SIZEOF_SOCKET_SLOT: [u8; size_of::<
        rtcp_core::socket_set::SocketSlot<'static, { crate::LOG }>,
    >()] = [0; size_of::<rtcp_core::socket_set::SocketSlot<'static, { crate::LOG }>>()];
    #[used]
    #[no_mangle]
    static SIZEOF_SOCKET_SET: [u8; size_of::<
        rtcp_core::socket_set::SocketSet<'static, { crate::LOG }>,
    >()] = [0; size_of::<rtcp_core::socket_set::SocketSet<'static, { crate::LOG }>>()];
    #[used]
    #[no_mangle]
    static SIZEOF_INTERFACE: [u8; size_of::<rtcp_core::iface::Interface>()] =
        [0; size_of::<rtcp_core::iface::Interface>()];
}

#[entry]
fn main() -> ! {
    let mut mac = Mac {
        rx: [0; 1514],
        tx: [0; 1514],
    };
    // rtcp's listener holds a slot of its own: two slots serve one
    // connection (the listener's buffers could be empty; kept equal here).
    let (mut rx, mut tx) = ([[0u8; BUF]; 2], [[0u8; BUF]; 2]);
    let ([rx0, rx1], [tx0, tx1]) = (&mut rx, &mut tx);
    let mut storage = [
        SocketSlot::<'_, LOG>::with_log(&mut rx0[..], &mut tx0[..]),
        SocketSlot::<'_, LOG>::with_log(&mut rx1[..], &mut tx1[..]),
    ];
    let mut sockets = SocketSet::new(&mut storage[..], black_box([7; 16]));
    let ip = Ipv4Address::new(10, 0, 0, 2);
    let mut iface = Interface::new(InterfaceConfig {
        mac: EthernetAddress([2, 0, 0, 0, 0, 2]),
        ip: Ipv4Cidr::new(ip, 24),
        gateway: None,
    });
    let listener = sockets.open().ok();
    if let Some(l) = listener {
        let _ = sockets.listen(l, Endpoint::new(ip, 7), 1);
    }
    let mut conn = None;
    let mut t = 0u64;
    loop {
        t = black_box(t + 1);
        let now = Instant::from_micros(t);
        iface.poll(now, &mut mac, &mut sockets);
        if conn.is_none() {
            conn = listener.and_then(|l| sockets.accept(l).ok());
        }
        if let Some(c) = conn {
            let mut buf = [0u8; 256];
            match sockets.recv(c, &mut buf) {
                Ok(0) | Err(TcpError::WouldBlock) => {}
                Ok(n) => {
                    let _ = sockets.send(c, buf.get(..n).unwrap_or(&[]));
                }
                Err(_) => {
                    let _ = sockets.close(c);
                    conn = None;
                }
            }
        }
        black_box(iface.poll_at(&sockets));
    }
}
