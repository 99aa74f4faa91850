//! Firmware-style smoltcp build for flash and RAM figures: ARP, IPv4, ICMP
//! echo (answered by the interface) and one TCP echo service on port 7.
//! The same fake MAC and loop as `fw-rtcp`.
#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;
use smoltcp::iface::{Config, Interface, SocketSet, SocketStorage};
use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr, Ipv4Address};

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
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = 1514;
        caps
    }
}

#[cfg(feature = "sizes")]
mod sizes {
    use core::mem::size_of;
    #[used]
    #[no_mangle]
    static SIZEOF_TCP_SOCKET: [u8; size_of::<smoltcp::socket::tcp::Socket<'static>>()] =
        [0; size_of::<smoltcp::socket::tcp::Socket<'static>>()];
    #[used]
    #[no_mangle]
    static SIZEOF_SOCKET_SLOT: [u8; size_of::<smoltcp::iface::SocketStorage<'static>>()] =
        [0; size_of::<smoltcp::iface::SocketStorage<'static>>()];
    #[used]
    #[no_mangle]
    static SIZEOF_SOCKET_SET: [u8; size_of::<smoltcp::iface::SocketSet<'static>>()] =
        [0; size_of::<smoltcp::iface::SocketSet<'static>>()];
    #[used]
    #[no_mangle]
    static SIZEOF_INTERFACE: [u8; size_of::<smoltcp::iface::Interface>()] =
        [0; size_of::<smoltcp::iface::Interface>()];
}

#[entry]
fn main() -> ! {
    let mut mac = Mac {
        rx: [0; 1514],
        tx: [0; 1514],
    };
    let mut config = Config::new(EthernetAddress([2, 0, 0, 0, 0, 2]).into());
    config.random_seed = black_box(7);
    let mut iface = Interface::new(config, &mut mac, Instant::from_micros(0));
    iface.update_ip_addrs(|a| {
        let _ = a.push(IpCidr::new(
            IpAddress::Ipv4(Ipv4Address::new(10, 0, 0, 2)),
            24,
        ));
    });
    let (mut rxb, mut txb) = ([0u8; BUF], [0u8; BUF]);
    let mut storage = [SocketStorage::EMPTY; 1];
    let mut sockets = SocketSet::new(&mut storage[..]);
    let h = sockets.add(tcp::Socket::new(
        tcp::SocketBuffer::new(&mut rxb[..]),
        tcp::SocketBuffer::new(&mut txb[..]),
    ));
    let mut t = 0i64;
    loop {
        t = black_box(t + 1);
        let now = Instant::from_micros(t);
        iface.poll(now, &mut mac, &mut sockets);
        let s = sockets.get_mut::<tcp::Socket>(h);
        if !s.is_open() {
            let _ = s.listen(7);
        }
        if s.can_recv() {
            let mut buf = [0u8; 256];
            if let Ok(n) = s.recv_slice(&mut buf) {
                let _ = s.send_slice(buf.get(..n).unwrap_or(&[]));
            }
        }
        if s.state() == tcp::State::CloseWait {
            s.close();
        }
        black_box(iface.poll_delay(now, &sockets));
    }
}
