//! rtcp as firmware for QEMU's `mps2-an386` (Cortex-M4F, LAN9118 Ethernet).
//!
//! It brings up an rtcp-core interface on the board's LAN9118 and serves:
//! - ICMP echo (answered by the interface);
//! - TCP echo on port 7 (RFC 862);
//! - a file-receive service on port 9000: it hashes everything a client
//!   sends, and when the client closes its side prints
//!   `rtcp-firmware: file bytes=N sha256=HEX` on UART0 and sends the same
//!   line back before closing.
//!
//! Addressing is static, chosen for QEMU's user-mode network (slirp), whose
//! built-in DHCP server would hand out exactly this: 10.0.2.15/24, gateway
//! 10.0.2.2. A DHCP client would add code and a boot-time dependency for no
//! gain on that network; a board on a real LAN changes the constants below.
//!
//! Clock: the LAN9118's FREE_RUN counter (25 MHz, 32 bits), extended to 64
//! bits by the main loop, which reads it far more often than it wraps
//! (every 171.8 s). SysTick would do as well but is 24 bits wide and would
//! need an interrupt to count its wraps.
//!
//! ISN / hash secret: the board has no random number generator, so the
//! 16-byte secret is SHA-256 over what differs between boards and boots:
//! the MAC address, the chip's ID_REV, and FREE_RUN sampled at two points
//! of the boot (before and after the PHY reset, whose duration jitters on
//! hardware; in QEMU it depends on host timing). That is weak entropy: a
//! board with a TRNG must seed from it (see PORTING.md).
//!
//! The main loop never busy-waits: after each poll it sleeps (WFI) until
//! the engine's next deadline (`poll_at`, programmed into SysTick, one shot,
//! at most 0.67 s) or the LAN9118's receive interrupt (NVIC line 13).
#![no_std]
#![no_main]
#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod board;
mod services;

use core::fmt::Write;
use core::panic::PanicInfo;
use cortex_m_rt::entry;
use rtcp_core::iface::{Interface, InterfaceConfig};
use rtcp_core::phy::{Device, TxToken};
use rtcp_core::socket_set::{SocketSet, SocketSlot};
use rtcp_core::time::Instant;
use rtcp_core::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};
use rtcp_drivers::lan9118::{self, Lan9118};
use sha2::{Digest, Sha256};

/// Our address on QEMU's user-mode network.
const IP: Ipv4Address = Ipv4Address::new(10, 0, 2, 15);
/// The prefix of that network.
const PREFIX: u8 = 24;
/// QEMU user-mode network's gateway (the host side).
const GATEWAY: Ipv4Address = Ipv4Address::new(10, 0, 2, 2);
/// TCP echo port (RFC 862).
pub const ECHO_PORT: u16 = 7;
/// File-receive port.
pub const FILE_PORT: u16 = 9000;

/// Connections served at once (besides the two listeners).
pub const CONNECTIONS: usize = 4;
/// Receive buffer per connection. 4 KiB keeps the advertised window below
/// the LAN9118's RX data FIFO (about 10 KiB in QEMU's model, which drops
/// frames that do not fit), so a burst never overflows it.
pub const RX_BUFFER: usize = 4096;
/// Send buffer per connection.
pub const TX_BUFFER: usize = 4096;

/// Extends the 32-bit FREE_RUN counter to a 64-bit clock.
struct Clock {
    last: u32,
    ticks: u64,
}

impl Clock {
    fn now(&mut self, raw: u32) -> Instant {
        self.ticks += u64::from(raw.wrapping_sub(self.last));
        self.last = raw;
        // 25 ticks per microsecond.
        Instant::from_micros(self.ticks / 25)
    }
}

#[entry]
fn main() -> ! {
    // cortex-m-rt turns these into `&'static mut` without unsafe: the entry
    // function runs once. They are the connection buffers, in .bss.
    static mut RX: [[u8; RX_BUFFER]; CONNECTIONS] = [[0; RX_BUFFER]; CONNECTIONS];
    static mut TX: [[u8; TX_BUFFER]; CONNECTIONS] = [[0; TX_BUFFER]; CONNECTIONS];

    let mut uart = board::Uart::init();
    let _ = writeln!(uart, "rtcp-firmware: boot (mps2-an386, LAN9118)");

    let regs = board::Lan9118Mmio::new();
    let t0 = rtcp_drivers::lan9118::Registers::read(&regs, lan9118::regs::FREE_RUN);
    let mut nic = match Lan9118::new(regs, lan9118::Config::default()) {
        Ok(nic) => nic,
        Err(e) => {
            let _ = writeln!(uart, "rtcp-firmware: LAN9118 init failed: {e:?}");
            halt();
        }
    };
    let t1 = nic.free_run();
    let mac = nic.mac();
    let secret = isn_secret(mac, nic.chip_id(), t0, t1);
    let _ = writeln!(
        uart,
        "rtcp-firmware: LAN9118 id={:#010x} mac={} link={}",
        nic.chip_id(),
        mac,
        nic.link_up().unwrap_or(false)
    );

    let mut iface = Interface::new(InterfaceConfig {
        mac,
        ip: Ipv4Cidr::new(IP, PREFIX),
        gateway: Some(GATEWAY),
    });

    // Slots 0 and 1 are the listeners: they never hold data, so they get no
    // buffers. The free list hands out slots in index order, so the two
    // `open()` calls below take them, and connections get the others.
    let [rx0, rx1, rx2, rx3] = RX;
    let [tx0, tx1, tx2, tx3] = TX;
    let mut slots = [
        SocketSlot::new(&mut [][..], &mut [][..]),
        SocketSlot::new(&mut [][..], &mut [][..]),
        SocketSlot::new(&mut rx0[..], &mut tx0[..]),
        SocketSlot::new(&mut rx1[..], &mut tx1[..]),
        SocketSlot::new(&mut rx2[..], &mut tx2[..]),
        SocketSlot::new(&mut rx3[..], &mut tx3[..]),
    ];
    let mut sockets = SocketSet::new(&mut slots[..], secret);
    let mut server = match services::Server::listen(&mut sockets) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(uart, "rtcp-firmware: listen failed: {e:?}");
            halt();
        }
    };

    let mut clock = Clock {
        last: nic.free_run(),
        ticks: 0,
    };
    let boot = clock.now(nic.free_run());
    announce(&mut nic, boot, mac);

    let _ = writeln!(
        uart,
        "rtcp-firmware: sizes socket_slot={} interface={} socket_set={} driver={} \
         rx_buffer={} tx_buffer={}",
        core::mem::size_of::<SocketSlot<'static>>(),
        core::mem::size_of::<Interface>(),
        core::mem::size_of::<SocketSet<'static>>(),
        core::mem::size_of::<Lan9118<board::Lan9118Mmio>>(),
        RX_BUFFER,
        TX_BUFFER,
    );
    let _ = writeln!(
        uart,
        "rtcp-firmware: ready ip={}/{} gateway={} echo={} file={}",
        IP, PREFIX, GATEWAY, ECHO_PORT, FILE_PORT
    );

    nic.enable_rx_interrupt();
    board::enable_lan9118_irq();
    loop {
        let now = clock.now(nic.free_run());
        iface.poll(now, &mut nic, &mut sockets);
        server.run(&mut sockets, &mut uart);
        // Sleep until the engine's next deadline or a frame. A user call
        // (the services above) that queued data makes poll_at "now".
        let now = clock.now(nic.free_run());
        let ticks = match iface.poll_at(&sockets) {
            Some(t) if t <= now => continue,
            Some(t) => t.saturating_since(now).total_micros().saturating_mul(25),
            None => u64::MAX,
        };
        board::sleep(u32::try_from(ticks).unwrap_or(u32::MAX), || {
            nic.rx_pending()
        });
    }
}

/// 16 bytes for the ISN generator and the socket table's hash key.
fn isn_secret(mac: EthernetAddress, chip_id: u32, t0: u32, t1: u32) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(b"rtcp-firmware isn secret");
    h.update(mac.0);
    h.update(chip_id.to_le_bytes());
    h.update(t0.to_le_bytes());
    h.update(t1.to_le_bytes());
    let digest = h.finalize();
    let mut out = [0u8; 16];
    for (o, d) in out.iter_mut().zip(digest.iter()) {
        *o = *d;
    }
    out
}

/// Send one ARP request for the gateway (RFC 826), so QEMU's user-mode
/// network learns our MAC before the first forwarded connection arrives
/// (otherwise its first SYN to us waits on its own ARP round).
fn announce<D: Device>(nic: &mut D, now: Instant, mac: EthernetAddress) {
    let Some(tx) = nic.transmit(now) else {
        return;
    };
    tx.consume(42, |f| {
        let mut frame = [0u8; 42];
        frame[0..6].copy_from_slice(&[0xFF; 6]);
        frame[6..12].copy_from_slice(&mac.0);
        frame[12..14].copy_from_slice(&[0x08, 0x06]);
        // Ethernet, IPv4, 6-byte and 4-byte addresses, request.
        frame[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
        frame[22..28].copy_from_slice(&mac.0);
        frame[28..32].copy_from_slice(&IP.0);
        frame[38..42].copy_from_slice(&GATEWAY.0);
        for (o, b) in f.iter_mut().zip(frame.iter()) {
            *o = *b;
        }
    });
}

fn halt() -> ! {
    #[allow(clippy::empty_loop)]
    loop {}
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    let mut uart = board::Uart::init();
    let _ = writeln!(uart, "rtcp-firmware: PANIC {info}");
    halt()
}
