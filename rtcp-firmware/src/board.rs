//! The mps2-an386 board: memory-mapped peripherals, the only `unsafe` in
//! the firmware. Addresses from Arm's AN386 application note (and QEMU's
//! `hw/arm/mps2.c`, which follows it): LAN9118 at 0x4020_0000, CMSDK APB
//! UART0 at 0x4000_4000.

use core::fmt;
use rtcp_drivers::lan9118::Registers;

/// Base of the LAN9118's register window (256 bytes).
pub const LAN9118_BASE: usize = 0x4020_0000;
/// Base of UART0 (CMSDK APB UART).
pub const UART0_BASE: usize = 0x4000_4000;

/// The LAN9118's registers, accessed with volatile 32-bit loads and stores.
#[derive(Debug)]
pub struct Lan9118Mmio {
    _private: (),
}

impl Lan9118Mmio {
    /// The one LAN9118 of the board. Creating two is harmless for memory
    /// safety (every access is a single volatile word), but the driver that
    /// owns one assumes nobody else pops its FIFOs.
    pub const fn new() -> Lan9118Mmio {
        Lan9118Mmio { _private: () }
    }
}

impl Registers for Lan9118Mmio {
    fn read(&self, offset: usize) -> u32 {
        let addr = (LAN9118_BASE + (offset & 0xFC)) as *const u32;
        // SAFETY: `addr` lies inside the LAN9118's 256-byte register window
        // of this board (the offset is masked to it and word-aligned), which
        // is device memory, always mapped, never aliased by Rust objects.
        // A volatile read is the required access (some reads pop FIFOs).
        unsafe { core::ptr::read_volatile(addr) }
    }

    fn write(&self, offset: usize, value: u32) {
        let addr = (LAN9118_BASE + (offset & 0xFC)) as *mut u32;
        // SAFETY: as for `read`: a word-aligned address inside the
        // LAN9118's register window, device memory no Rust object aliases.
        unsafe { core::ptr::write_volatile(addr, value) }
    }
}

// CMSDK APB UART registers (Arm DDI 0479, "APB UART").
const UART_DATA: usize = 0x00;
const UART_STATE: usize = 0x04;
const UART_CTRL: usize = 0x08;
const UART_BAUDDIV: usize = 0x10;
const UART_STATE_TX_FULL: u32 = 1 << 0;
const UART_CTRL_TX_EN: u32 = 1 << 0;

fn uart_read(offset: usize) -> u32 {
    let addr = (UART0_BASE + offset) as *const u32;
    // SAFETY: a word-aligned register of UART0, device memory always mapped
    // on this board and aliased by no Rust object.
    unsafe { core::ptr::read_volatile(addr) }
}

fn uart_write(offset: usize, value: u32) {
    let addr = (UART0_BASE + offset) as *mut u32;
    // SAFETY: as for `uart_read`.
    unsafe { core::ptr::write_volatile(addr, value) }
}

/// UART0, transmit only: the firmware's console (QEMU: `-serial`).
#[derive(Debug)]
pub struct Uart {
    _private: (),
}

impl Uart {
    /// Enable the transmitter at 115200 baud from the 25 MHz peripheral
    /// clock (QEMU ignores the rate but wants a divider of at least 16).
    pub fn init() -> Uart {
        uart_write(UART_BAUDDIV, 25_000_000 / 115_200);
        uart_write(UART_CTRL, UART_CTRL_TX_EN);
        Uart { _private: () }
    }

    fn put(&mut self, byte: u8) {
        while uart_read(UART_STATE) & UART_STATE_TX_FULL != 0 {}
        uart_write(UART_DATA, u32::from(byte));
    }
}

impl fmt::Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                self.put(b'\r');
            }
            self.put(b);
        }
        Ok(())
    }
}

#[cortex_m_rt::exception]
unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
    use core::fmt::Write;
    let mut uart = Uart::init();
    let _ = writeln!(uart, "rtcp-firmware: HARD FAULT at pc={:#010x}", frame.pc());
    #[allow(clippy::empty_loop)]
    loop {}
}
