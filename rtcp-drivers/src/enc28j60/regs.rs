//! The ENC28J60's SPI instruction set, control registers, bits and PHY
//! registers (Microchip DS39662E, sections 3 and 4, tables 3-1 and 3-3).
//!
//! Control registers live in four banks of 32 addresses; 0x1B..=0x1F (EIE,
//! EIR, ESTAT, ECON2, ECON1) appear in every bank. MAC and MII registers
//! shift out one dummy byte before their value when read (§4.2.1).

/// Read Control Register (`000a aaaa`).
pub const RCR: u8 = 0x00;
/// Read Buffer Memory.
pub const RBM: u8 = 0x3A;
/// Write Control Register (`010a aaaa`).
pub const WCR: u8 = 0x40;
/// Write Buffer Memory.
pub const WBM: u8 = 0x7A;
/// Bit Field Set (`100a aaaa`, ETH registers only).
pub const BFS: u8 = 0x80;
/// Bit Field Clear (`101a aaaa`, ETH registers only).
pub const BFC: u8 = 0xA0;
/// System Reset Command.
pub const SRC: u8 = 0xFF;

/// Bank value of the registers mapped in every bank.
pub const COMMON: u8 = 0xFF;

/// A control register: its 5-bit address, bank, and whether reading it
/// shifts out a dummy byte first (MAC and MII registers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Reg {
    /// Address within the bank (0x00..=0x1F).
    pub addr: u8,
    /// Bank 0..=3, or [`COMMON`].
    pub bank: u8,
    /// MAC or MII register (dummy byte on read).
    pub mac_mii: bool,
}

const fn eth(bank: u8, addr: u8) -> Reg {
    Reg {
        addr,
        bank,
        mac_mii: false,
    }
}

const fn mac(bank: u8, addr: u8) -> Reg {
    Reg {
        addr,
        bank,
        mac_mii: true,
    }
}

impl Reg {
    /// The high byte of a 16-bit register pair whose low byte is `self`.
    pub const fn high(self) -> Reg {
        Reg {
            addr: self.addr + 1,
            ..self
        }
    }
}

// Common to all banks.
/// Ethernet interrupt enable.
pub const EIE: Reg = eth(COMMON, 0x1B);
/// Ethernet interrupt request (flags).
pub const EIR: Reg = eth(COMMON, 0x1C);
/// Ethernet status.
pub const ESTAT: Reg = eth(COMMON, 0x1D);
/// Ethernet control 2.
pub const ECON2: Reg = eth(COMMON, 0x1E);
/// Ethernet control 1 (holds the bank select bits).
pub const ECON1: Reg = eth(COMMON, 0x1F);

// Bank 0: buffer pointers (low byte; the high byte is at addr + 1).
/// Buffer read pointer.
pub const ERDPTL: Reg = eth(0, 0x00);
/// Buffer write pointer.
pub const EWRPTL: Reg = eth(0, 0x02);
/// Transmit start.
pub const ETXSTL: Reg = eth(0, 0x04);
/// Transmit end (last byte of the frame).
pub const ETXNDL: Reg = eth(0, 0x06);
/// Receive buffer start.
pub const ERXSTL: Reg = eth(0, 0x08);
/// Receive buffer end (inclusive).
pub const ERXNDL: Reg = eth(0, 0x0A);
/// Receive read pointer: the hardware never writes at or past it.
pub const ERXRDPTL: Reg = eth(0, 0x0C);

// Bank 1.
/// Receive filter control.
pub const ERXFCON: Reg = eth(1, 0x18);
/// Count of received packets waiting.
pub const EPKTCNT: Reg = eth(1, 0x19);

// Bank 2: MAC and MII.
/// MAC control 1.
pub const MACON1: Reg = mac(2, 0x00);
/// MAC control 3.
pub const MACON3: Reg = mac(2, 0x02);
/// MAC control 4.
pub const MACON4: Reg = mac(2, 0x03);
/// Back-to-back inter-packet gap.
pub const MABBIPG: Reg = mac(2, 0x04);
/// Non-back-to-back inter-packet gap, low.
pub const MAIPGL: Reg = mac(2, 0x06);
/// Non-back-to-back inter-packet gap, high.
pub const MAIPGH: Reg = mac(2, 0x07);
/// Maximum frame length (low byte).
pub const MAMXFLL: Reg = mac(2, 0x0A);
/// MII command.
pub const MICMD: Reg = mac(2, 0x12);
/// MII (PHY) register address.
pub const MIREGADR: Reg = mac(2, 0x14);
/// MII write data, low (the write starts when the high byte is written).
pub const MIWRL: Reg = mac(2, 0x16);
/// MII read data, low.
pub const MIRDL: Reg = mac(2, 0x18);

// Bank 3.
/// MAC address byte 5 (the order of the MAADR registers is not linear).
pub const MAADR5: Reg = mac(3, 0x00);
/// MAC address byte 6.
pub const MAADR6: Reg = mac(3, 0x01);
/// MAC address byte 3.
pub const MAADR3: Reg = mac(3, 0x02);
/// MAC address byte 4.
pub const MAADR4: Reg = mac(3, 0x03);
/// MAC address byte 1 (first on the wire).
pub const MAADR1: Reg = mac(3, 0x04);
/// MAC address byte 2.
pub const MAADR2: Reg = mac(3, 0x05);
/// MII status.
pub const MISTAT: Reg = mac(3, 0x0A);
/// Silicon revision.
pub const EREVID: Reg = eth(3, 0x12);

// Bits.
/// ECON1: transmit logic reset.
pub const ECON1_TXRST: u8 = 0x80;
/// ECON1: receive logic reset.
pub const ECON1_RXRST: u8 = 0x40;
/// ECON1: transmit request (cleared by hardware when done).
pub const ECON1_TXRTS: u8 = 0x08;
/// ECON1: receive enable.
pub const ECON1_RXEN: u8 = 0x04;
/// ECON1: bank select mask.
pub const ECON1_BSEL: u8 = 0x03;
/// ECON2: decrement EPKTCNT.
pub const ECON2_PKTDEC: u8 = 0x40;
/// ESTAT: oscillator start-up timer expired.
pub const ESTAT_CLKRDY: u8 = 0x01;
/// EIE: global interrupt enable (the INT pin).
pub const EIE_INTIE: u8 = 0x80;
/// EIE: receive packet pending interrupt.
pub const EIE_PKTIE: u8 = 0x40;
/// EIE: receive error interrupt.
pub const EIE_RXERIE: u8 = 0x01;
/// EIR: transmit done.
pub const EIR_TXIF: u8 = 0x08;
/// EIR: transmit error (abort).
pub const EIR_TXERIF: u8 = 0x02;
/// EIR: receive error (buffer full or EPKTCNT at 255: a frame was lost).
pub const EIR_RXERIF: u8 = 0x01;
/// ERXFCON: accept unicast to us.
pub const ERXFCON_UCEN: u8 = 0x80;
/// ERXFCON: drop frames with a bad CRC.
pub const ERXFCON_CRCEN: u8 = 0x20;
/// ERXFCON: accept broadcast.
pub const ERXFCON_BCEN: u8 = 0x01;
/// MACON1: send pause frames (full duplex flow control).
pub const MACON1_TXPAUS: u8 = 0x08;
/// MACON1: obey received pause frames.
pub const MACON1_RXPAUS: u8 = 0x04;
/// MACON1: MAC receive enable.
pub const MACON1_MARXEN: u8 = 0x01;
/// MACON3: pad short frames to 60 bytes and append the CRC (PADCFG = 001).
pub const MACON3_PADCFG0: u8 = 0x20;
/// MACON3: append the CRC.
pub const MACON3_TXCRCEN: u8 = 0x10;
/// MACON3: check 802.3 length fields.
pub const MACON3_FRMLNEN: u8 = 0x02;
/// MACON3: full duplex.
pub const MACON3_FULDPX: u8 = 0x01;
/// MACON4: wait forever for a busy medium (half duplex, IEEE 802.3).
pub const MACON4_DEFER: u8 = 0x40;
/// MICMD: start a PHY read.
pub const MICMD_MIIRD: u8 = 0x01;
/// MISTAT: MII operation in progress.
pub const MISTAT_BUSY: u8 = 0x01;

/// PHY control 1.
pub const PHCON1: u8 = 0x00;
/// PHY status 2.
pub const PHSTAT2: u8 = 0x11;
/// PHY control 2.
pub const PHCON2: u8 = 0x10;
/// PHCON1: full duplex.
pub const PHCON1_PDPXMD: u16 = 0x0100;
/// PHCON2: no loopback of transmitted frames in half duplex.
pub const PHCON2_HDLDIS: u16 = 0x0100;
/// PHSTAT2: link up (not latching).
pub const PHSTAT2_LSTAT: u16 = 0x0400;

/// Receive status vector, bits 16..=31 as a little-endian `u16` (table
/// 7-3): "Received OK" (valid CRC, no symbol error).
pub const RSV_RX_OK: u16 = 1 << (23 - 16);
/// Receive status vector bit 31, always zero on a valid vector.
pub const RSV_ZERO: u16 = 1 << (31 - 16);
