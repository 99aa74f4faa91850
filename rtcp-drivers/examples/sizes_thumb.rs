//! `size_of` of the stack's types as the target compiles them: a staticlib
//! exporting one `static` per figure, whose symbol size is the figure.
//! Build for the board and read the sizes with llvm-nm (PORTING.md):
//!
//! ```sh
//! RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo build -p rtcp-drivers \
//!   --example sizes_thumb --target thumbv7em-none-eabihf -Zbuild-std=core --release
//! llvm-nm-19 -S --size-sort target/thumbv7em-none-eabihf/release/examples/libsizes_thumb.a \
//!   | grep SIZE_OF_
//! ```
//!
//! On the host, `cargo run -p rtcp-drivers --example sizes` prints a table.
#![no_std]

use rtcp_core::iface::arp_cache::ArpCache;
use rtcp_core::iface::Interface;
use rtcp_core::socket_set::{SocketSet, SocketSlot};
use rtcp_core::tcp::assembler::Assembler;
use rtcp_core::tcp::scoreboard::SendLog;
use rtcp_core::tcp::TcpSocket;
use rtcp_drivers::shared::{FrameQueue, Stack};

/// Each static is a byte array as long as the type it is named after, so
/// the symbol's size (llvm-nm -S) is the type's size.
macro_rules! sizes {
    ($($name:ident: $t:ty),* $(,)?) => {$(
        #[used]
        pub static $name: [u8; core::mem::size_of::<$t>()] = [0; core::mem::size_of::<$t>()];
    )*};
}

sizes! {
    SIZE_OF_INTERFACE: Interface,
    SIZE_OF_ARP_CACHE: ArpCache,
    SIZE_OF_SOCKET_SET: SocketSet<'static>,
    SIZE_OF_SOCKET_SLOT: SocketSlot<'static>,
    SIZE_OF_TCP_SOCKET: TcpSocket<'static>,
    SIZE_OF_ASSEMBLER: Assembler,
    SIZE_OF_SEND_LOG: SendLog,
    SIZE_OF_STACK: Stack<'static>,
    SIZE_OF_FRAME_QUEUE_4X1514: FrameQueue<4, 1514>,
}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
