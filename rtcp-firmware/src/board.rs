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

/// NVIC line of the LAN9118 on the AN385/AN386 images.
pub const LAN9118_IRQ: u32 = 13;

// Cortex-M system registers (Armv7-M ARM, B3.3 SysTick, B3.4 NVIC).
const SYST_CSR: usize = 0xE000_E010;
const SYST_RVR: usize = 0xE000_E014;
const SYST_CVR: usize = 0xE000_E018;
const SYST_CSR_ENABLE: u32 = 1 << 0;
const SYST_CSR_TICKINT: u32 = 1 << 1;
const SYST_CSR_CLKSOURCE: u32 = 1 << 2;
const NVIC_ISER0: usize = 0xE000_E100;
/// SysTick counts the 25 MHz core clock, 24 bits wide: at most 0.67 s.
pub const SYSTICK_MAX: u32 = 0x00FF_FFFF;

fn scs_write(addr: usize, value: u32) {
    // SAFETY: `addr` is one of the SysTick or NVIC registers above, in the
    // System Control Space every Armv7-M core maps; word-aligned device
    // memory that no Rust object aliases.
    unsafe { core::ptr::write_volatile(addr as *mut u32, value) }
}

/// Let the LAN9118's interrupt line through the NVIC.
pub fn enable_lan9118_irq() {
    scs_write(NVIC_ISER0, 1 << LAN9118_IRQ);
}

/// Sleep until an interrupt, or `ticks` of the 25 MHz clock (capped at
/// [`SYSTICK_MAX`]), unless `ready()` says there is work already.
///
/// Interrupts are masked (PRIMASK) while `ready()` is checked and across
/// the WFI, so a frame that arrives after the check still wakes the core
/// (WFI wakes on a pending interrupt even when it is masked); the handlers
/// run when they are unmasked again, after the wake-up.
pub fn sleep(ticks: u32, ready: impl FnOnce() -> bool) {
    // SAFETY: CPSID only sets PRIMASK; no memory is touched.
    unsafe { core::arch::asm!("cpsid i", options(nomem, nostack, preserves_flags)) };
    if !ready() {
        scs_write(SYST_RVR, ticks.clamp(1, SYSTICK_MAX));
        scs_write(SYST_CVR, 0);
        scs_write(
            SYST_CSR,
            SYST_CSR_ENABLE | SYST_CSR_TICKINT | SYST_CSR_CLKSOURCE,
        );
        // SAFETY: WFI waits for an interrupt; no memory is touched.
        unsafe { core::arch::asm!("wfi", options(nomem, nostack, preserves_flags)) };
        scs_write(SYST_CSR, 0);
    }
    // SAFETY: CPSIE clears PRIMASK; the handlers that may then run are the
    // two below, which share no state with the code they interrupt.
    unsafe { core::arch::asm!("cpsie i", options(nomem, nostack, preserves_flags)) };
}

/// The SysTick wake-up: nothing to do, the main loop reads the clock.
#[cortex_m_rt::exception]
fn SysTick() {}

/// Every device interrupt lands here; only the LAN9118's is enabled. Its
/// line is level-triggered, so the status is cleared; the frames are read
/// by the main loop's next poll. (cortex-m-rt requires `unsafe fn` here
/// because the handler also receives exceptions; this one touches nothing
/// but the LAN9118's INT_STS.)
#[cortex_m_rt::exception]
unsafe fn DefaultHandler(_irqn: i16) {
    rtcp_drivers::lan9118::acknowledge_interrupts(&Lan9118Mmio::new());
}

#[cortex_m_rt::exception]
unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
    use core::fmt::Write;
    let mut uart = Uart::init();
    let _ = writeln!(uart, "rtcp-firmware: HARD FAULT at pc={:#010x}", frame.pc());
    #[allow(clippy::empty_loop)]
    loop {}
}
