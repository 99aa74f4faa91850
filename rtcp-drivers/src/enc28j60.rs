//! Microchip ENC28J60: a 10BASE-T MAC and PHY with 8 KiB of packet RAM,
//! driven over SPI (`embedded-hal` 1.0 [`SpiDevice`]).
//!
//! [`Enc28j60::new`] resets and initialises the chip (§6 of Microchip's
//! datasheet DS39662E) with the workarounds of its silicon errata
//! (DS80349); the driver then implements [`Device`] for rtcp-core.
//!
//! # Memory layout and errata
//!
//! - The receive buffer is `0x0000..=0x19FF` (6.5 KiB) and the transmit
//!   buffer `0x1A00..=0x1FFF` (one frame plus its control byte and 7-byte
//!   status vector). The receive buffer starts at 0: on some revisions a
//!   write to ERXST/ERXND puts 0x0000 rather than ERXST into the internal
//!   receive write pointer (errata, "Memory (Ethernet Buffer)"), which is
//!   harmless only when ERXST is 0.
//! - ERXRDPT is only ever written with an odd value (errata: an even value
//!   can corrupt the receive buffer): next packet pointer minus one, or
//!   ERXND when that would fall before ERXST ([`erxrdpt_for`]).
//! - EIR.PKTIF is unreliable (errata), so the driver reads EPKTCNT to learn
//!   whether frames are waiting.
//! - ESTAT.CLKRDY is not cleared by the SPI reset command (errata), so after
//!   the reset the driver waits [`RESET_DELAY_MS`] before polling it.
//! - In half duplex a transmit abort can stall the transmit logic with
//!   ECON1.TXRTS stuck (errata item 12): the transmit logic is reset
//!   (ECON1.TXRST set then cleared, then EIR.TXERIF/TXIF cleared) before
//!   every frame, and a transmission still pending after [`TX_WAIT_POLLS`]
//!   reads of ECON1 is cancelled and counted in [`Stats::tx_stalls`].
//! - Buffer overflow: when the buffer is full or EPKTCNT reaches 255 the
//!   chip drops the frame and sets EIR.RXERIF. Receiving clears the flag
//!   and counts it ([`Stats::rx_overflows`]); reading frames frees space.
//! - A receive header that cannot be right (a next packet pointer other
//!   than where this packet must end, see [`next_packet_after`]; a status
//!   vector with its always-zero bit set; a byte count above 1518) means
//!   the driver lost its place in the ring (an SPI bit error, a glitch).
//!   The receive logic is then reset and the ring re-initialised
//!   ([`Stats::rx_resets`]); frames in it are lost and TCP retransmits.
//! - A frame whose status vector lacks "Received OK" (CRC or symbol error)
//!   is skipped and counted ([`Stats::rx_bad`]).
//!
//! # Receiving and sending
//!
//! `receive` reads one whole frame (without its FCS) into a RAM buffer in
//! the driver and frees its space in the chip at once, so the interface
//! parses it in place while a reply is written. A transmit token is always
//! available: the chip has one transmit buffer, so the token first waits
//! (by polling ECON1.TXRTS) for the previous frame to leave, which takes at
//! most 1.2 ms for a full frame at 10 Mbit/s. The driver holds two frame
//! buffers (2 × 1514 bytes) besides the SPI device.
//!
//! # What was tested, and how
//!
//! Only against `embedded-hal-mock` on the host (no board was at hand):
//! `enc28j60::tests` checks the exact SPI transactions, byte for byte, of
//! initialisation (half and full duplex), reading a frame (including one
//! that wraps the end of the ring and the odd-ERXRDPT rule at the wrap),
//! sending a frame (and a reply from inside a receive token), the link
//! status read, and the error paths: a status vector without "Received
//! OK", a next packet pointer out of range, odd, or inconsistent with the
//! byte count, an impossible status vector, the overflow flag, a stalled
//! transmission, an oversized frame and a failing SPI transfer. Run them
//! with `cargo test -p rtcp-drivers --lib enc28j60`. The expected
//! transactions were written from DS39662E and the errata, not captured
//! from the driver. A behavioural model of the chip (`enc28j60::model`:
//! registers, the receive ring with its headers, padding, wrap and write
//! protection, transmission, the MII; it asserts the errata rules) then
//! carries a 200 KiB TCP echo between rtcp over the driver and a second
//! stack, wrapping the ring dozens of times, and a burst that overflows the
//! ring. Nothing here has run against real silicon yet.
//!
//! [`SpiDevice`]: embedded_hal::spi::SpiDevice

pub mod regs;

use core::fmt;

use embedded_hal::delay::DelayNs;
use embedded_hal::spi::{Operation, SpiDevice};
use rtcp_core::phy::{self, Device, DeviceCapabilities};
use rtcp_core::time::Instant;
use rtcp_core::wire::EthernetAddress;

use regs::*;

/// First byte of the receive ring (must be 0: see the module docs).
pub const RX_START: u16 = 0x0000;
/// Last byte of the receive ring (odd, so ERXRDPT = ERXND is odd).
pub const RX_END: u16 = 0x19FF;
/// First byte of the transmit buffer (the per-packet control byte).
pub const TX_START: u16 = 0x1A00;
/// Longest frame the MAC accepts, FCS included (MAMXFL).
pub const MAX_FRAME_FCS: u16 = 1518;
/// Longest frame handed to or taken from the stack (no FCS).
pub const MAX_FRAME: usize = 1514;
/// Milliseconds waited after the SPI reset command (errata: CLKRDY is not
/// cleared by it; at least 1 ms is needed).
pub const RESET_DELAY_MS: u32 = 2;
/// Reads of ESTAT waiting for CLKRDY before [`Error::ClockNotReady`].
pub const CLKRDY_POLLS: usize = 100;
/// Reads of MISTAT waiting for a PHY access (10.24 µs) to finish.
pub const PHY_POLLS: usize = 1000;
/// Reads of ECON1 waiting for the previous frame to leave before the
/// transmission is cancelled as stalled (errata item 12).
pub const TX_WAIT_POLLS: usize = 10_000;
/// Frames with a bad status vector skipped in one `receive` call before it
/// gives up until the next call.
const MAX_SKIPPED: usize = 8;

/// Start-up settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// The station address (the chip has none of its own).
    pub mac: EthernetAddress,
    /// Full duplex. The ENC28J60 does not auto-negotiate: a switch port
    /// that does will pick half duplex, so only set this when the link
    /// partner is forced to full duplex too.
    pub full_duplex: bool,
    /// Drive the INT pin on "packet waiting" and "receive error".
    pub interrupts: bool,
}

impl Config {
    /// Half duplex, interrupts on.
    pub const fn new(mac: EthernetAddress) -> Config {
        Config {
            mac,
            full_duplex: false,
            interrupts: true,
        }
    }
}

/// Initialisation or PHY access failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error<E> {
    /// The SPI device failed.
    Spi(E),
    /// ESTAT.CLKRDY never came up after reset (no chip, no clock, wiring).
    ClockNotReady,
    /// A PHY register access never finished (MISTAT.BUSY stayed set).
    PhyTimeout,
}

impl<E> From<E> for Error<E> {
    fn from(e: E) -> Self {
        Error::Spi(e)
    }
}

/// Counters, for users to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stats {
    /// Frames handed to the stack.
    pub rx_frames: u32,
    /// Frames skipped for a bad status vector (CRC or symbol error, runt).
    pub rx_bad: u32,
    /// Times EIR.RXERIF said the chip dropped a frame (buffer full or 255
    /// packets waiting).
    pub rx_overflows: u32,
    /// Receive logic resets after an impossible receive header.
    pub rx_resets: u32,
    /// Frames handed to the chip.
    pub tx_frames: u32,
    /// Transmissions cancelled because ECON1.TXRTS stayed set.
    pub tx_stalls: u32,
    /// Frames the stack asked to send that were longer than [`MAX_FRAME`].
    pub tx_too_long: u32,
    /// SPI transfers that failed during receive or transmit.
    pub spi_errors: u32,
}

/// Register access: the SPI device, the selected bank and the counters.
struct Regs<SPI> {
    spi: SPI,
    /// Bank selected in ECON1, or [`COMMON`] when unknown (after an error).
    bank: u8,
    stats: Stats,
}

impl<SPI: SpiDevice> Regs<SPI> {
    fn select_bank(&mut self, reg: Reg) -> Result<(), SPI::Error> {
        if reg.bank == COMMON || reg.bank == self.bank {
            return Ok(());
        }
        // Until the switch is done the bank is unknown.
        let from = core::mem::replace(&mut self.bank, COMMON);
        if from != 0 {
            self.spi.write(&[BFC | ECON1.addr, ECON1_BSEL])?;
        }
        if reg.bank != 0 {
            self.spi.write(&[BFS | ECON1.addr, reg.bank])?;
        }
        self.bank = reg.bank;
        Ok(())
    }

    fn read(&mut self, reg: Reg) -> Result<u8, SPI::Error> {
        self.select_bank(reg)?;
        // MAC and MII registers shift out a dummy byte first (§4.2.1).
        if reg.mac_mii {
            let mut b = [RCR | reg.addr, 0, 0];
            self.spi.transfer_in_place(&mut b)?;
            Ok(b[2])
        } else {
            let mut b = [RCR | reg.addr, 0];
            self.spi.transfer_in_place(&mut b)?;
            Ok(b[1])
        }
    }

    fn write(&mut self, reg: Reg, value: u8) -> Result<(), SPI::Error> {
        self.select_bank(reg)?;
        self.spi.write(&[WCR | reg.addr, value])
    }

    /// A 16-bit register pair, low byte first (the order the datasheet
    /// requires for ERXRDPT, whose new value takes effect on the high byte).
    fn write16(&mut self, low: Reg, value: u16) -> Result<(), SPI::Error> {
        let [lo, hi] = value.to_le_bytes();
        self.write(low, lo)?;
        self.write(low.high(), hi)
    }

    fn set_bits(&mut self, reg: Reg, mask: u8) -> Result<(), SPI::Error> {
        self.select_bank(reg)?;
        self.spi.write(&[BFS | reg.addr, mask])
    }

    fn clear_bits(&mut self, reg: Reg, mask: u8) -> Result<(), SPI::Error> {
        self.select_bank(reg)?;
        self.spi.write(&[BFC | reg.addr, mask])
    }

    /// Read buffer memory from ERDPT on (it auto-increments and wraps from
    /// ERXND to ERXST inside the receive ring).
    fn read_buffer(&mut self, buf: &mut [u8]) -> Result<(), SPI::Error> {
        self.spi
            .transaction(&mut [Operation::Write(&[RBM]), Operation::Read(buf)])
    }

    fn wait_phy(&mut self) -> Result<(), Error<SPI::Error>> {
        for _ in 0..PHY_POLLS {
            if self.read(MISTAT)? & MISTAT_BUSY == 0 {
                return Ok(());
            }
        }
        Err(Error::PhyTimeout)
    }

    /// Read a PHY register through the MII (§3.3.1).
    fn phy_read(&mut self, reg: u8) -> Result<u16, Error<SPI::Error>> {
        self.write(MIREGADR, reg)?;
        self.write(MICMD, MICMD_MIIRD)?;
        self.wait_phy()?;
        self.write(MICMD, 0)?;
        let lo = self.read(MIRDL)?;
        let hi = self.read(MIRDL.high())?;
        Ok(u16::from_le_bytes([lo, hi]))
    }

    /// Write a PHY register through the MII (§3.3.2): the write starts when
    /// MIWRH is written.
    fn phy_write(&mut self, reg: u8, value: u16) -> Result<(), Error<SPI::Error>> {
        self.write(MIREGADR, reg)?;
        self.write16(MIWRL, value)?;
        self.wait_phy()
    }

    fn note<T>(&mut self, r: Result<T, SPI::Error>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(_) => {
                self.stats.spi_errors = self.stats.spi_errors.wrapping_add(1);
                self.bank = COMMON;
                None
            }
        }
    }

    /// Hand one frame to the chip.
    fn send(&mut self, frame: &[u8]) -> Result<(), SPI::Error> {
        // One transmit buffer: wait for the previous frame to leave.
        let mut polls = 0;
        while self.read(ECON1)? & ECON1_TXRTS != 0 {
            polls += 1;
            if polls >= TX_WAIT_POLLS {
                // Stuck (errata item 12): cancel it; the reset below frees
                // the transmit logic.
                self.clear_bits(ECON1, ECON1_TXRTS)?;
                self.stats.tx_stalls = self.stats.tx_stalls.wrapping_add(1);
                #[cfg(feature = "defmt")]
                defmt::warn!("enc28j60: transmission stalled, cancelled (errata item 12)");
                break;
            }
        }
        self.write16(EWRPTL, TX_START)?;
        // Per-packet control byte 0: pad, CRC and duplex as set in MACON3.
        self.spi
            .transaction(&mut [Operation::Write(&[WBM, 0x00]), Operation::Write(frame)])?;
        // ETXND is the frame's last byte; the control byte sits at TX_START.
        let len = u16::try_from(frame.len()).unwrap_or(u16::MAX);
        self.write16(ETXNDL, TX_START.saturating_add(len))?;
        // Errata item 12: reset the transmit logic before every frame, then
        // clear the flags the reset may raise.
        self.set_bits(ECON1, ECON1_TXRST)?;
        self.clear_bits(ECON1, ECON1_TXRST)?;
        self.clear_bits(EIR, EIR_TXERIF | EIR_TXIF)?;
        self.set_bits(ECON1, ECON1_TXRTS)?;
        self.stats.tx_frames = self.stats.tx_frames.wrapping_add(1);
        Ok(())
    }
}

/// The value to write to ERXRDPT once every packet before `next_packet` is
/// read: one byte before it, so always odd (errata: an even ERXRDPT can
/// corrupt the ring), wrapping to ERXND when that falls before ERXST.
pub const fn erxrdpt_for(next_packet: u16) -> u16 {
    if next_packet == RX_START || next_packet > RX_END {
        RX_END
    } else {
        next_packet - 1
    }
}

/// Where the packet after one starting at `start` with `byte_count` bytes
/// (FCS included) must begin: past the 6-byte header and the frame, rounded
/// up to even (the chip pads), wrapped around the ring. A header whose next
/// packet pointer differs from this cannot be trusted.
pub const fn next_packet_after(start: u16, byte_count: u16) -> u16 {
    let ring = (RX_END - RX_START) as u32 + 1;
    let end = start as u32 + 6 + byte_count as u32;
    let end = (end + 1) & !1;
    let offset = (end - RX_START as u32) % ring;
    (RX_START as u32 + offset) as u16
}

/// An ENC28J60 on an SPI bus.
pub struct Enc28j60<SPI> {
    regs: Regs<SPI>,
    next_packet: u16,
    mac: EthernetAddress,
    revision: u8,
    rx_buf: [u8; MAX_FRAME],
    tx_buf: [u8; MAX_FRAME],
}

impl<SPI> fmt::Debug for Enc28j60<SPI> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Enc28j60")
            .field("mac", &self.mac)
            .field("revision", &self.revision)
            .field("next_packet", &self.next_packet)
            .field("stats", &self.regs.stats)
            .finish_non_exhaustive()
    }
}

impl<SPI: SpiDevice> Enc28j60<SPI> {
    /// Reset and initialise the chip, then enable reception. `delay` is
    /// used only here, for the wait after reset.
    pub fn new(
        spi: SPI,
        delay: &mut impl DelayNs,
        config: Config,
    ) -> Result<Self, Error<SPI::Error>> {
        let mut regs = Regs {
            spi,
            bank: COMMON,
            stats: Stats::default(),
        };
        regs.spi.write(&[SRC])?;
        delay.delay_ms(RESET_DELAY_MS);
        let mut ready = false;
        for _ in 0..CLKRDY_POLLS {
            if regs.read(ESTAT)? & ESTAT_CLKRDY != 0 {
                ready = true;
                break;
            }
        }
        if !ready {
            return Err(Error::ClockNotReady);
        }
        // Reset leaves ECON1 at 0: bank 0.
        regs.bank = 0;

        // Buffers (§6.1). ERXRDPT starts at ERXND (odd).
        regs.write16(ERXSTL, RX_START)?;
        regs.write16(ERXNDL, RX_END)?;
        regs.write16(ERXRDPTL, RX_END)?;
        regs.write16(ETXSTL, TX_START)?;

        // Receive filter (§6.3): unicast to us and broadcast, good CRC only.
        regs.write(ERXFCON, ERXFCON_UCEN | ERXFCON_CRCEN | ERXFCON_BCEN)?;

        // MAC (§6.5).
        let full = config.full_duplex;
        let macon1 = MACON1_MARXEN
            | if full {
                MACON1_TXPAUS | MACON1_RXPAUS
            } else {
                0
            };
        regs.write(MACON1, macon1)?;
        let macon3 =
            MACON3_PADCFG0 | MACON3_TXCRCEN | MACON3_FRMLNEN | if full { MACON3_FULDPX } else { 0 };
        regs.write(MACON3, macon3)?;
        regs.write(MACON4, if full { 0 } else { MACON4_DEFER })?;
        regs.write16(MAMXFLL, MAX_FRAME_FCS)?;
        // Inter-packet gaps: 9.6 µs (the datasheet's recommended values).
        regs.write(MABBIPG, if full { 0x15 } else { 0x12 })?;
        regs.write(MAIPGL, 0x12)?;
        if !full {
            regs.write(MAIPGH, 0x0C)?;
        }
        let m = config.mac.0;
        for (reg, byte) in [MAADR1, MAADR2, MAADR3, MAADR4, MAADR5, MAADR6]
            .into_iter()
            .zip(m)
        {
            regs.write(reg, byte)?;
        }
        let revision = regs.read(EREVID)?;

        // PHY (§6.6): duplex to match the MAC; no half-duplex loopback.
        regs.phy_write(PHCON1, if full { PHCON1_PDPXMD } else { 0 })?;
        regs.phy_write(PHCON2, PHCON2_HDLDIS)?;

        if config.interrupts {
            regs.write(EIE, EIE_INTIE | EIE_PKTIE | EIE_RXERIE)?;
        }
        regs.set_bits(ECON1, ECON1_RXEN)?;

        Ok(Enc28j60 {
            regs,
            next_packet: RX_START,
            mac: config.mac,
            revision,
            rx_buf: [0; MAX_FRAME],
            tx_buf: [0; MAX_FRAME],
        })
    }

    /// The station address it was configured with.
    pub fn mac(&self) -> EthernetAddress {
        self.mac
    }

    /// EREVID, read at initialisation (6 is silicon B7).
    pub fn revision(&self) -> u8 {
        self.revision
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.regs.stats
    }

    /// Whether the PHY reports the link up now (PHSTAT2.LSTAT).
    pub fn link_up(&mut self) -> Result<bool, Error<SPI::Error>> {
        Ok(self.regs.phy_read(PHSTAT2)? & PHSTAT2_LSTAT != 0)
    }

    /// Give the SPI device back.
    pub fn release(self) -> SPI {
        self.regs.spi
    }

    /// Read the next good frame into `rx_buf`; its length.
    fn fetch(&mut self) -> Result<Option<usize>, SPI::Error> {
        let r = &mut self.regs;
        if r.read(EIR)? & EIR_RXERIF != 0 {
            // The chip dropped a frame for lack of room; what is in the
            // ring is intact. Clear the flag (and the INT pin with it).
            r.stats.rx_overflows = r.stats.rx_overflows.wrapping_add(1);
            #[cfg(feature = "defmt")]
            defmt::debug!("enc28j60: receive buffer overflow, a frame was lost");
            r.clear_bits(EIR, EIR_RXERIF)?;
        }
        for _ in 0..MAX_SKIPPED {
            // EPKTCNT, not EIR.PKTIF, which is unreliable (errata).
            if self.regs.read(EPKTCNT)? == 0 {
                return Ok(None);
            }
            self.regs.write16(ERDPTL, self.next_packet)?;
            // Next packet pointer (2 bytes) and receive status vector (4).
            let mut header = [0u8; 6];
            self.regs.read_buffer(&mut header)?;
            let [n0, n1, c0, c1, s0, s1] = header;
            let next = u16::from_le_bytes([n0, n1]);
            let byte_count = u16::from_le_bytes([c0, c1]);
            let status = u16::from_le_bytes([s0, s1]);
            if next != next_packet_after(self.next_packet, byte_count)
                || status & RSV_ZERO != 0
                || byte_count > MAX_FRAME_FCS
            {
                #[cfg(feature = "defmt")]
                defmt::warn!(
                    "enc28j60: bad receive header at {=u16:#x} (next {=u16:#x}, count {}, status {=u16:#x}); resetting receive logic",
                    self.next_packet,
                    next,
                    byte_count,
                    status
                );
                self.reset_rx()?;
                return Ok(None);
            }
            let len = usize::from(byte_count.saturating_sub(4));
            let good = status & RSV_RX_OK != 0 && len >= 14;
            if good {
                if let Some(buf) = self.rx_buf.get_mut(..len) {
                    self.regs.read_buffer(buf)?;
                }
            }
            // Free the packet's space: ERXRDPT to just before the next one
            // (odd, errata), then decrement EPKTCNT.
            self.next_packet = next;
            self.regs.write16(ERXRDPTL, erxrdpt_for(next))?;
            self.regs.set_bits(ECON2, ECON2_PKTDEC)?;
            if good {
                self.regs.stats.rx_frames = self.regs.stats.rx_frames.wrapping_add(1);
                return Ok(Some(len));
            }
            self.regs.stats.rx_bad = self.regs.stats.rx_bad.wrapping_add(1);
        }
        Ok(None)
    }

    /// Start the receive ring over after losing our place in it.
    fn reset_rx(&mut self) -> Result<(), SPI::Error> {
        let r = &mut self.regs;
        r.stats.rx_resets = r.stats.rx_resets.wrapping_add(1);
        r.clear_bits(ECON1, ECON1_RXEN)?;
        r.set_bits(ECON1, ECON1_RXRST)?;
        r.clear_bits(ECON1, ECON1_RXRST)?;
        r.write16(ERXSTL, RX_START)?;
        r.write16(ERXNDL, RX_END)?;
        r.write16(ERXRDPTL, RX_END)?;
        // Forget the packets counted in the old ring.
        let waiting = r.read(EPKTCNT)?;
        for _ in 0..waiting {
            r.set_bits(ECON2, ECON2_PKTDEC)?;
        }
        r.clear_bits(EIR, EIR_RXERIF)?;
        r.set_bits(ECON1, ECON1_RXEN)?;
        self.next_packet = RX_START;
        Ok(())
    }
}

/// A frame read from the chip.
#[derive(Debug)]
pub struct RxToken<'a>(&'a [u8]);

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

/// Permission to send one frame.
pub struct TxToken<'a, SPI> {
    regs: &'a mut Regs<SPI>,
    buf: &'a mut [u8; MAX_FRAME],
}

impl<SPI> fmt::Debug for TxToken<'_, SPI> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxToken").finish_non_exhaustive()
    }
}

impl<SPI: SpiDevice> phy::TxToken for TxToken<'_, SPI> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let n = len.min(MAX_FRAME);
        let frame = self.buf.get_mut(..n).unwrap_or_default();
        let r = f(frame);
        if len > MAX_FRAME {
            self.regs.stats.tx_too_long = self.regs.stats.tx_too_long.wrapping_add(1);
            return r;
        }
        let result = self.regs.send(frame);
        self.regs.note(result);
        r
    }
}

impl<SPI: SpiDevice> Device for Enc28j60<SPI> {
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a, SPI>
    where
        Self: 'a;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken<'_>, TxToken<'_, SPI>)> {
        let fetched = self.fetch();
        let len = self.regs.note(fetched)??;
        let frame = self.rx_buf.get(..len)?;
        Some((
            RxToken(frame),
            TxToken {
                regs: &mut self.regs,
                buf: &mut self.tx_buf,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_, SPI>> {
        Some(TxToken {
            regs: &mut self.regs,
            buf: &mut self.tx_buf,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        DeviceCapabilities {
            mtu: MAX_FRAME - 14,
            ..DeviceCapabilities::default()
        }
    }
}

#[cfg(test)]
mod model;
#[cfg(test)]
mod tests;
