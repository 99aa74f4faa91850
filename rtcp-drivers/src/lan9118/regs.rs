//! The LAN9118 / SMSC911x register map (SMSC LAN9118 datasheet, section 5,
//! "Register Description"): byte offsets of the system control and status
//! registers (CSRs) from the chip's base address, the indices of the MAC
//! CSRs reached through `MAC_CSR_CMD`/`MAC_CSR_DATA`, the PHY registers
//! reached through the MAC's MII port, and the bits the driver uses.

// ----- system CSRs (byte offsets, 32-bit access) -----

/// RX data FIFO port (0x00..0x1C all alias it; reading pops one word).
pub const RX_DATA_FIFO: usize = 0x00;
/// TX data FIFO port (0x20..0x3C all alias it; writing pushes one word).
pub const TX_DATA_FIFO: usize = 0x20;
/// RX status FIFO port (reading pops one status word).
pub const RX_STATUS_FIFO: usize = 0x40;
/// TX status FIFO port (reading pops one status word).
pub const TX_STATUS_FIFO: usize = 0x48;
/// Chip ID (bits 31:16) and revision (bits 15:0).
pub const ID_REV: usize = 0x50;
/// Interrupt pin configuration.
pub const IRQ_CFG: usize = 0x54;
/// Interrupt status (write 1 to clear).
pub const INT_STS: usize = 0x58;
/// Interrupt enables.
pub const INT_EN: usize = 0x5C;
/// Reads `BYTE_TEST_VALUE` when the bus and the chip are alive.
pub const BYTE_TEST: usize = 0x64;
/// FIFO level interrupt thresholds.
pub const FIFO_INT: usize = 0x68;
/// Receive configuration.
pub const RX_CFG: usize = 0x6C;
/// Transmit configuration.
pub const TX_CFG: usize = 0x70;
/// Hardware configuration (soft reset, TX FIFO size).
pub const HW_CFG: usize = 0x74;
/// RX datapath control (fast-forward).
pub const RX_DP_CTRL: usize = 0x78;
/// RX FIFO information: status entries and data bytes in use.
pub const RX_FIFO_INF: usize = 0x7C;
/// TX FIFO information: status entries used and data bytes free.
pub const TX_FIFO_INF: usize = 0x80;
/// Power management control (bit 0: device ready).
pub const PMT_CTRL: usize = 0x84;
/// Free-running 25 MHz counter (32 bits, wraps about every 171.8 s).
pub const FREE_RUN: usize = 0x9C;
/// Frames dropped by the receiver for lack of FIFO space (clears on read).
pub const RX_DROP: usize = 0xA0;
/// MAC CSR command: busy, read/write, MAC register index.
pub const MAC_CSR_CMD: usize = 0xA4;
/// MAC CSR data.
pub const MAC_CSR_DATA: usize = 0xA8;
/// Automatic flow control configuration.
pub const AFC_CFG: usize = 0xAC;

/// What `BYTE_TEST` reads on a live chip with the right byte order.
pub const BYTE_TEST_VALUE: u32 = 0x8765_4321;

// ----- bits of the system CSRs -----

/// `HW_CFG`: soft reset (self-clearing).
pub const HW_CFG_SRST: u32 = 1 << 0;
/// `HW_CFG`: bit 20 "must be one".
pub const HW_CFG_MBO: u32 = 1 << 20;
/// `HW_CFG`: TX FIFO size field shift (KiB; 5 is the reset default).
pub const HW_CFG_TX_FIF_SZ_SHIFT: u32 = 16;
/// `PMT_CTRL`: the chip finished its reset and is ready.
pub const PMT_CTRL_READY: u32 = 1 << 0;
/// `TX_CFG`: transmitter on.
pub const TX_CFG_TX_ON: u32 = 1 << 1;
/// `TX_CFG`: TX status FIFO may overrun (old status is overwritten rather
/// than stalling the transmitter when nobody reads it).
pub const TX_CFG_TXSAO: u32 = 1 << 2;
/// `IRQ_CFG`: the IRQ pin is driven (master enable).
pub const IRQ_CFG_IRQ_EN: u32 = 1 << 8;
/// `IRQ_CFG`: the IRQ pin is active high.
pub const IRQ_CFG_IRQ_POL: u32 = 1 << 4;
/// `IRQ_CFG`: the IRQ pin is push-pull (not open drain).
pub const IRQ_CFG_IRQ_TYPE: u32 = 1 << 0;
/// `INT_STS`/`INT_EN`: the RX status FIFO holds more entries than the
/// `FIFO_INT` RX status level.
pub const INT_RSFL: u32 = 1 << 3;
/// `FIFO_INT`: mask of the RX status level field.
pub const FIFO_INT_RX_STS_LEVEL_MASK: u32 = 0xFF;
/// `RX_CFG`: discard everything in the RX FIFOs.
pub const RX_CFG_RX_DUMP: u32 = 1 << 15;
/// `RX_FIFO_INF`: shift of the RX status FIFO used-entries field.
pub const RX_FIFO_INF_RXSUSED_SHIFT: u32 = 16;
/// `TX_FIFO_INF`: mask of the TX data FIFO free-bytes field.
pub const TX_FIFO_INF_TDFREE_MASK: u32 = 0xFFFF;
/// `TX_FIFO_INF`: shift of the TX status FIFO used-entries field.
pub const TX_FIFO_INF_TXSUSED_SHIFT: u32 = 16;
/// Width mask of the 8-bit FIFO entry counters.
pub const FIFO_ENTRIES_MASK: u32 = 0xFF;
/// `MAC_CSR_CMD`: command in progress (set to start, cleared when done).
pub const MAC_CSR_BUSY: u32 = 1 << 31;
/// `MAC_CSR_CMD`: 1 = read, 0 = write.
pub const MAC_CSR_READ: u32 = 1 << 30;

// ----- MAC CSRs (indices for MAC_CSR_CMD) -----

/// MAC control register.
pub const MAC_CR: u8 = 1;
/// MAC address, bytes 4 and 5.
pub const MAC_ADDRH: u8 = 2;
/// MAC address, bytes 0 to 3.
pub const MAC_ADDRL: u8 = 3;
/// MII access: PHY address, register index, write flag, busy.
pub const MAC_MII_ACC: u8 = 6;
/// MII data.
pub const MAC_MII_DATA: u8 = 7;

/// `MAC_CR`: receiver enable.
pub const MAC_CR_RXEN: u32 = 1 << 2;
/// `MAC_CR`: transmitter enable.
pub const MAC_CR_TXEN: u32 = 1 << 3;
/// `MAC_CR`: full duplex.
pub const MAC_CR_FDPX: u32 = 1 << 20;
/// `MAC_CR`: promiscuous (the reset default; the driver clears it).
pub const MAC_CR_PRMS: u32 = 1 << 18;

/// `MII_ACC`: operation in progress.
pub const MII_ACC_BUSY: u32 = 1 << 0;
/// `MII_ACC`: 1 = write, 0 = read.
pub const MII_ACC_WRITE: u32 = 1 << 1;
/// `MII_ACC`: shift of the register index field.
pub const MII_ACC_REG_SHIFT: u32 = 6;
/// `MII_ACC`: shift of the PHY address field.
pub const MII_ACC_PHY_SHIFT: u32 = 11;
/// MII address of the internal PHY.
pub const PHY_ADDR: u32 = 1;

// ----- PHY registers (IEEE 802.3 clause 22) -----

/// Basic control register.
pub const PHY_BCR: u8 = 0;
/// Basic status register.
pub const PHY_BSR: u8 = 1;
/// Auto-negotiation advertisement.
pub const PHY_ANAR: u8 = 4;
/// `BCR`: reset (self-clearing).
pub const PHY_BCR_RESET: u16 = 1 << 15;
/// `BCR`: auto-negotiation enable.
pub const PHY_BCR_ANENABLE: u16 = 1 << 12;
/// `BCR`: restart auto-negotiation.
pub const PHY_BCR_ANRESTART: u16 = 1 << 9;
/// `BSR`: link up (latches low on real PHYs: read twice).
pub const PHY_BSR_LINK: u16 = 1 << 2;
/// `ANAR`: 10/100, half and full duplex, symmetric pause, 802.3 selector.
pub const PHY_ANAR_DEFAULT: u16 = 0x05E1;

// ----- RX status word -----

/// Shift of the frame length field (bytes, CRC included).
pub const RX_STS_LEN_SHIFT: u32 = 16;
/// Mask of the frame length field after shifting.
pub const RX_STS_LEN_MASK: u32 = 0x3FFF;
/// Error summary: CRC error, runt, too long, late collision, MII error or
/// length error.
pub const RX_STS_ES: u32 = 1 << 15;
/// The frame failed the address filter (only delivered with RXALL).
pub const RX_STS_FILTER_FAIL: u32 = 1 << 30;

// ----- TX command words and TX status word -----

/// Command A: first segment of a frame.
pub const TX_CMD_A_FIRST_SEG: u32 = 1 << 13;
/// Command A: last segment of a frame.
pub const TX_CMD_A_LAST_SEG: u32 = 1 << 12;
/// Command A / B: mask of the buffer size / frame length fields.
pub const TX_CMD_LEN_MASK: u32 = 0x7FF;
/// Command B: shift of the frame tag (echoed in the TX status word).
pub const TX_CMD_B_TAG_SHIFT: u32 = 16;
/// TX status: error summary (loss of carrier, excessive collisions, ...).
pub const TX_STS_ES: u32 = 1 << 15;
