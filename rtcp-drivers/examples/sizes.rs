//! Prints the RAM each part of rtcp takes on the machine it runs on, for
//! sizing a board (PORTING.md, "Memory sizing").
//!
//! ```sh
//! # Smallest build (no optional rtcp-core features):
//! cargo run -p rtcp-drivers --example sizes
//! # rtcp-core's default features (scoreboard, rack, prr, cubic, bbr):
//! cargo run -p rtcp-drivers --example sizes --features rtcp-core/default
//! ```
//!
//! Sizes are from the host's `size_of`. On a 32-bit Cortex-M they are the
//! same or smaller: these types hold no pointers besides the buffer slices
//! (8 bytes there, 16 here) and use fixed-width integers; `u64` fields keep
//! 8-byte alignment on both.

use core::mem::size_of;

use rtcp_core::iface::arp_cache::{ArpCache, ARP_CACHE_SIZE};
use rtcp_core::iface::Interface;
use rtcp_core::socket_set::{SocketSet, SocketSlot};
use rtcp_core::tcp::assembler::{Assembler, MAX_RANGES};
use rtcp_core::tcp::scoreboard::{SendLog, LOG_CAPACITY};
use rtcp_core::tcp::TcpSocket;
use rtcp_drivers::shared::{FrameQueue, Shared, Stack};

fn row(what: &str, bytes: usize, note: &str) {
    println!("| {what:<34} | {bytes:>6} | {note} |");
}

fn main() {
    // A dependency's features are not visible to cfg!; LOG_CAPACITY tells
    // whether the scoreboard is in.
    let scoreboard = LOG_CAPACITY > 4;
    println!(
        "rtcp-core build: SACK scoreboard {}, send log of {LOG_CAPACITY} records; \
         pointer width {} bits",
        if scoreboard { "on" } else { "off" },
        usize::BITS
    );
    println!();
    println!("| What | Bytes | Notes |");
    println!("|---|---:|---|");
    row(
        "Interface",
        size_of::<Interface>(),
        &format!("one per NIC; includes the ARP cache ({ARP_CACHE_SIZE} entries)"),
    );
    row(
        "ArpCache",
        size_of::<ArpCache>(),
        &format!("{ARP_CACHE_SIZE} entries, inside Interface"),
    );
    row(
        "SocketSet (table header)",
        size_of::<SocketSet<'static>>(),
        "plus the slots",
    );
    row(
        "SocketSlot (per socket)",
        size_of::<SocketSlot<'static>>(),
        "plus its rx and tx buffers",
    );
    row(
        "TcpSocket (inside the slot)",
        size_of::<TcpSocket<'static>>(),
        "TCB, timers, recovery state",
    );
    row(
        "Assembler (inside the socket)",
        size_of::<Assembler>(),
        &format!("{MAX_RANGES} out-of-order ranges (holes)"),
    );
    row(
        "SendLog (inside the socket)",
        size_of::<SendLog>(),
        &format!("{LOG_CAPACITY} records: SACK scoreboard / RACK"),
    );
    row(
        "Stack (Interface + SocketSet)",
        size_of::<Stack<'static>>(),
        "rtcp_drivers::shared",
    );
    row(
        "FrameQueue<4, 1514>",
        size_of::<FrameQueue<4, 1514>>(),
        "receive queue filled by the interrupt",
    );
    row(
        "Shared<FrameQueue<4, 1514>>",
        size_of::<Shared<FrameQueue<4, 1514>>>(),
        "the same behind the critical-section lock",
    );
    #[cfg(feature = "enc28j60")]
    row(
        "Enc28j60<impl SpiDevice>",
        size_of::<rtcp_drivers::enc28j60::Enc28j60<NoSpi>>(),
        "two 1514-byte frame buffers + the SPI device (0 here)",
    );
    println!();
    let slot = size_of::<SocketSlot<'static>>();
    for (n, rx, tx) in [
        (2usize, 2048usize, 2048usize),
        (4, 4096, 4096),
        (8, 8192, 8192),
    ] {
        let total = size_of::<Interface>() + size_of::<SocketSet<'static>>() + n * (slot + rx + tx);
        println!(
            "{n} sockets with {rx} B rx + {tx} B tx buffers: {total} bytes \
             ({} KiB) for the stack, before driver and queue",
            total.div_ceil(1024)
        );
    }
}

/// A zero-sized SPI device, to size the driver alone.
#[cfg(feature = "enc28j60")]
struct NoSpi;

#[cfg(feature = "enc28j60")]
impl embedded_hal::spi::ErrorType for NoSpi {
    type Error = core::convert::Infallible;
}

#[cfg(feature = "enc28j60")]
impl embedded_hal::spi::SpiDevice for NoSpi {
    fn transaction(
        &mut self,
        _operations: &mut [embedded_hal::spi::Operation<'_, u8>],
    ) -> Result<(), Self::Error> {
        Ok(())
    }
}
