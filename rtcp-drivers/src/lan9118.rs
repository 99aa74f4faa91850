//! Driver for the SMSC (now Microchip) LAN9118 / LAN911x memory-mapped
//! Ethernet controller, the NIC of Arm's MPS2 boards (and of QEMU's
//! `mps2-an385`/`mps2-an386` machines).
//!
//! The chip keeps frames in on-chip FIFOs: received frames are read word by
//! word from the RX data FIFO after their status word is popped from the RX
//! status FIFO; a frame is sent by writing two command words (A: buffer
//! size and segment flags, B: frame length and a tag) and then its data
//! into the TX data FIFO. The MAC's own registers sit behind an indirect
//! port (`MAC_CSR_CMD`/`MAC_CSR_DATA`), and the internal PHY behind the
//! MAC's MII port. Register offsets and bits are in [`regs`].
//!
//! All register access goes through the [`Registers`] trait, so the driver
//! itself contains no `unsafe`: a firmware supplies a volatile MMIO
//! implementation (see `rtcp-firmware/src/board.rs`), and the unit tests in
//! this module drive the driver against a fake register file.
//!
//! # What was tested, and how
//! - On the host (`cargo test -p rtcp-drivers --features lan9118`): the
//!   exact register writes of the initialisation, reading a frame from the
//!   FIFOs (odd length, CRC stripped), sending a frame (command words and
//!   data words), receive errors dropped and counted without desynchronising
//!   the FIFOs, TX status errors counted, link status through the MII port,
//!   an ARP request answered through [`rtcp_core::iface::Interface`], and the
//!   error paths (chip absent, reset that never finishes).
//! - In QEMU (`tests/tests/firmware_qemu.rs`): `rtcp-firmware` on the
//!   emulated `mps2-an386` answers TCP echo and file transfers from Linux.
//!   QEMU's model is not the silicon: it has no checksum offload, ignores
//!   flow control and the TX FIFO size, and completes auto-negotiation at
//!   once. Real MPS2 hardware was not available.

pub mod regs;

#[cfg(test)]
mod tests;

use rtcp_core::phy::{self, Device, DeviceCapabilities};
use rtcp_core::time::Instant;
use rtcp_core::wire::EthernetAddress;

/// Access to the chip's 32-bit registers, by byte offset from its base.
///
/// A firmware implements this with volatile reads and writes of the
/// memory-mapped window; reads of the FIFO ports have side effects (they
/// pop), so an implementation must not cache or reorder accesses.
pub trait Registers {
    /// Read the register at `offset`.
    fn read(&self, offset: usize) -> u32;
    /// Write `value` to the register at `offset`.
    fn write(&self, offset: usize, value: u32);
}

impl<R: Registers + ?Sized> Registers for &R {
    fn read(&self, offset: usize) -> u32 {
        (**self).read(offset)
    }
    fn write(&self, offset: usize, value: u32) {
        (**self).write(offset, value)
    }
}

/// Size of the driver's receive and transmit frame buffers: a maximal
/// Ethernet frame (1514 bytes, 1518 with a VLAN tag) plus the 4-byte CRC
/// the chip leaves in the RX FIFO, rounded up to whole words.
pub const FRAME_BUFFER: usize = 1536;

/// Largest IP packet the driver carries.
pub const MTU: usize = 1500;

/// Smallest frame worth reading: an Ethernet header plus the CRC.
const MIN_RX_LEN: usize = 14 + 4;

/// Most bad frames skipped in one `receive` call before giving up until the
/// next poll (keeps one call bounded when the FIFO is full of garbage).
const MAX_SKIP: usize = 16;

/// Driver configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// MAC address to program. `None` keeps the one the chip loaded from
    /// its EEPROM at reset (QEMU loads the `-nic ...,mac=` address there).
    pub mac: Option<EthernetAddress>,
    /// How many times a busy bit is polled before giving up with
    /// [`Error::Timeout`]. The soft reset and the PHY reset are the slow
    /// steps (about 10 ms and 500 ms on the real chip, per the datasheet),
    /// so on hardware this bounds the number of register reads in those
    /// loops, not a time.
    pub spin_limit: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            mac: None,
            spin_limit: 1_000_000,
        }
    }
}

/// What went wrong bringing the chip up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// `BYTE_TEST` did not read `0x87654321`: no chip at this address, a
    /// bus fault, or the wrong byte order.
    NotFound {
        /// What `BYTE_TEST` read.
        byte_test: u32,
    },
    /// A busy bit never cleared within [`Config::spin_limit`] polls.
    Timeout(Stage),
}

/// The step that timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Stage {
    /// `HW_CFG.SRST` after a soft reset.
    SoftReset,
    /// `PMT_CTRL.READY` after a reset.
    Ready,
    /// `MAC_CSR_CMD.BUSY` on a MAC register access.
    MacCsr,
    /// `MII_ACC.BUSY` on a PHY register access.
    Mii,
    /// `BCR.RESET` after a PHY reset.
    PhyReset,
}

/// Counters, for users to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stats {
    /// Frames handed to the stack.
    pub rx_frames: u64,
    /// Frames dropped because their RX status reported an error (CRC, runt,
    /// too long, collision, MII error, length error) or a filter failure.
    pub rx_errors: u64,
    /// Frames dropped because they were shorter than an Ethernet header or
    /// longer than [`FRAME_BUFFER`].
    pub rx_bad_length: u64,
    /// Frames written to the TX FIFO.
    pub tx_frames: u64,
    /// TX status words reporting an error.
    pub tx_errors: u64,
    /// Transmissions refused because the TX data FIFO had no room.
    pub tx_no_space: u64,
    /// Frames not sent because the stack asked for a bad length.
    pub tx_bad_length: u64,
}

/// A LAN9118 behind a [`Registers`] implementation.
#[derive(Debug)]
pub struct Lan9118<R: Registers> {
    regs: R,
    mac: EthernetAddress,
    chip_id: u32,
    spin_limit: u32,
    stats: Stats,
    tag: u16,
    rx_buf: [u8; FRAME_BUFFER],
    tx_buf: [u8; FRAME_BUFFER],
}

impl<R: Registers> Lan9118<R> {
    /// Reset and initialise the chip: soft reset, PHY reset and
    /// auto-negotiation, MAC address, transmitter and receiver on, every
    /// interrupt masked (the driver is polled; a firmware may enable
    /// `INT_EN` bits itself to wake from sleep).
    pub fn new(regs: R, config: Config) -> Result<Lan9118<R>, Error> {
        let mut nic = Lan9118 {
            regs,
            mac: EthernetAddress([0; 6]),
            chip_id: 0,
            spin_limit: config.spin_limit.max(1),
            stats: Stats::default(),
            tag: 0,
            rx_buf: [0; FRAME_BUFFER],
            tx_buf: [0; FRAME_BUFFER],
        };
        nic.init(config.mac)?;
        Ok(nic)
    }

    fn init(&mut self, mac: Option<EthernetAddress>) -> Result<(), Error> {
        // BYTE_TEST is the one register the host may poll while the chip is
        // still coming out of power-on reset (datasheet §6.1); it tells a
        // live chip from a dead bus or a wrong byte order before anything
        // is written.
        let mut byte_test = 0;
        for _ in 0..self.spin_limit {
            byte_test = self.regs.read(regs::BYTE_TEST);
            if byte_test == regs::BYTE_TEST_VALUE {
                break;
            }
        }
        if byte_test != regs::BYTE_TEST_VALUE {
            return Err(Error::NotFound { byte_test });
        }
        self.chip_id = self.regs.read(regs::ID_REV);

        // Soft reset: everything but the PHY and the EEPROM-loaded address.
        self.regs.write(regs::HW_CFG, regs::HW_CFG_SRST);
        self.spin(Stage::SoftReset, |r| {
            r.read(regs::HW_CFG) & regs::HW_CFG_SRST == 0
        })?;
        self.spin(Stage::Ready, |r| {
            r.read(regs::PMT_CTRL) & regs::PMT_CTRL_READY != 0
        })?;

        // 5 KiB TX FIFO (the reset default, written explicitly because
        // HW_CFG bit 20 must be written as one).
        self.regs.write(
            regs::HW_CFG,
            (5 << regs::HW_CFG_TX_FIF_SZ_SHIFT) | regs::HW_CFG_MBO,
        );
        // Automatic flow control thresholds suggested by the datasheet
        // (AFC_HI 110, AFC_LO 55, back-pressure duration 4).
        self.regs.write(regs::AFC_CFG, 0x006E_3740);
        // Polled driver: no interrupt sources, pending ones cleared.
        self.regs.write(regs::INT_EN, 0);
        self.regs.write(regs::INT_STS, u32::MAX);

        // PHY: reset, advertise 10/100 half/full, restart auto-negotiation.
        self.mii_write(regs::PHY_BCR, regs::PHY_BCR_RESET)?;
        let limit = self.spin_limit;
        let mut done = false;
        for _ in 0..limit {
            if self.mii_read(regs::PHY_BCR)? & regs::PHY_BCR_RESET == 0 {
                done = true;
                break;
            }
        }
        if !done {
            return Err(Error::Timeout(Stage::PhyReset));
        }
        self.mii_write(regs::PHY_ANAR, regs::PHY_ANAR_DEFAULT)?;
        self.mii_write(
            regs::PHY_BCR,
            regs::PHY_BCR_ANENABLE | regs::PHY_BCR_ANRESTART,
        )?;

        // MAC address: ADDRL holds bytes 0..3, ADDRH bytes 4..5, first byte
        // in the least significant bits.
        match mac {
            Some(m) => {
                let [a, b, c, d, e, f] = m.0;
                self.mac_write(regs::MAC_ADDRL, u32::from_le_bytes([a, b, c, d]))?;
                self.mac_write(regs::MAC_ADDRH, u32::from_le_bytes([e, f, 0, 0]))?;
                self.mac = m;
            }
            None => {
                let [a, b, c, d] = self.mac_read(regs::MAC_ADDRL)?.to_le_bytes();
                let [e, f, _, _] = self.mac_read(regs::MAC_ADDRH)?.to_le_bytes();
                self.mac = EthernetAddress([a, b, c, d, e, f]);
            }
        }

        // Receive: no data offset, 4-byte end alignment (the reset values).
        self.regs.write(regs::RX_CFG, 0);
        // Transmit on; a TX status FIFO nobody drains must not stall it.
        self.regs
            .write(regs::TX_CFG, regs::TX_CFG_TX_ON | regs::TX_CFG_TXSAO);
        // MAC: transmit and receive, full duplex, perfect filtering of our
        // address plus broadcast (promiscuous mode, the reset default, off).
        self.mac_write(
            regs::MAC_CR,
            regs::MAC_CR_TXEN | regs::MAC_CR_RXEN | regs::MAC_CR_FDPX,
        )?;
        Ok(())
    }

    fn spin(&self, stage: Stage, done: impl Fn(&R) -> bool) -> Result<(), Error> {
        for _ in 0..self.spin_limit {
            if done(&self.regs) {
                return Ok(());
            }
        }
        Err(Error::Timeout(stage))
    }

    fn mac_wait(&self) -> Result<(), Error> {
        self.spin(Stage::MacCsr, |r| {
            r.read(regs::MAC_CSR_CMD) & regs::MAC_CSR_BUSY == 0
        })
    }

    /// Read a MAC CSR through the indirect port (datasheet §5.3.10).
    fn mac_read(&self, index: u8) -> Result<u32, Error> {
        self.mac_wait()?;
        self.regs.write(
            regs::MAC_CSR_CMD,
            regs::MAC_CSR_BUSY | regs::MAC_CSR_READ | u32::from(index),
        );
        self.mac_wait()?;
        Ok(self.regs.read(regs::MAC_CSR_DATA))
    }

    /// Write a MAC CSR through the indirect port: data first, then the
    /// command that moves it.
    fn mac_write(&self, index: u8, value: u32) -> Result<(), Error> {
        self.mac_wait()?;
        self.regs.write(regs::MAC_CSR_DATA, value);
        self.regs
            .write(regs::MAC_CSR_CMD, regs::MAC_CSR_BUSY | u32::from(index));
        self.mac_wait()
    }

    fn mii_wait(&self) -> Result<(), Error> {
        for _ in 0..self.spin_limit {
            if self.mac_read(regs::MAC_MII_ACC)? & regs::MII_ACC_BUSY == 0 {
                return Ok(());
            }
        }
        Err(Error::Timeout(Stage::Mii))
    }

    fn mii_command(reg: u8, write: bool) -> u32 {
        (regs::PHY_ADDR << regs::MII_ACC_PHY_SHIFT)
            | (u32::from(reg & 0x1F) << regs::MII_ACC_REG_SHIFT)
            | if write { regs::MII_ACC_WRITE } else { 0 }
            | regs::MII_ACC_BUSY
    }

    /// Read a PHY register through the MAC's MII port.
    fn mii_read(&self, reg: u8) -> Result<u16, Error> {
        self.mii_wait()?;
        self.mac_write(regs::MAC_MII_ACC, Self::mii_command(reg, false))?;
        self.mii_wait()?;
        Ok((self.mac_read(regs::MAC_MII_DATA)? & 0xFFFF) as u16)
    }

    /// Write a PHY register through the MAC's MII port.
    fn mii_write(&self, reg: u8, value: u16) -> Result<(), Error> {
        self.mii_wait()?;
        self.mac_write(regs::MAC_MII_DATA, u32::from(value))?;
        self.mac_write(regs::MAC_MII_ACC, Self::mii_command(reg, true))?;
        self.mii_wait()
    }

    /// Our MAC address.
    pub fn mac(&self) -> EthernetAddress {
        self.mac
    }

    /// `ID_REV` as read at initialisation (0x0118_xxxx for a LAN9118).
    pub fn chip_id(&self) -> u32 {
        self.chip_id
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The register access this driver was built on.
    pub fn registers(&self) -> &R {
        &self.regs
    }

    /// Whether the PHY reports a link. The link bit latches low on real
    /// PHYs (IEEE 802.3 §22.2.4.2.13), so it is read twice and the second,
    /// current value is returned.
    pub fn link_up(&self) -> Result<bool, Error> {
        let _latched = self.mii_read(regs::PHY_BSR)?;
        Ok(self.mii_read(regs::PHY_BSR)? & regs::PHY_BSR_LINK != 0)
    }

    /// The chip's free-running counter: 25 MHz, 32 bits, wrapping about
    /// every 171.8 s. A firmware can extend it to a monotonic clock by
    /// reading it more often than that.
    pub fn free_run(&self) -> u32 {
        self.regs.read(regs::FREE_RUN)
    }

    /// Raise the IRQ pin (active high, push-pull) whenever a frame is
    /// waiting in the RX status FIFO, so a firmware can sleep until a frame
    /// or its next deadline. The interrupt handler must then clear the
    /// status with [`acknowledge_interrupts`], or the level-triggered line
    /// stays asserted; the frames themselves are read by the next poll.
    pub fn enable_rx_interrupt(&mut self) {
        let fifo_int = self.regs.read(regs::FIFO_INT) & !regs::FIFO_INT_RX_STS_LEVEL_MASK;
        // Level 0: interrupt as soon as one status word is queued.
        self.regs.write(regs::FIFO_INT, fifo_int);
        self.regs.write(regs::INT_STS, regs::INT_RSFL);
        self.regs.write(regs::INT_EN, regs::INT_RSFL);
        self.regs.write(
            regs::IRQ_CFG,
            regs::IRQ_CFG_IRQ_EN | regs::IRQ_CFG_IRQ_POL | regs::IRQ_CFG_IRQ_TYPE,
        );
    }

    /// Whether a received frame is waiting (checked before sleeping).
    pub fn rx_pending(&self) -> bool {
        (self.regs.read(regs::RX_FIFO_INF) >> regs::RX_FIFO_INF_RXSUSED_SHIFT)
            & regs::FIFO_ENTRIES_MASK
            != 0
    }

    /// Pop every TX status word, counting errors. With `TXSAO` set the
    /// FIFO may also just overrun, so this only keeps the counter honest.
    fn reap_tx_status(&mut self) {
        let used = (self.regs.read(regs::TX_FIFO_INF) >> regs::TX_FIFO_INF_TXSUSED_SHIFT)
            & regs::FIFO_ENTRIES_MASK;
        for _ in 0..used {
            if self.regs.read(regs::TX_STATUS_FIFO) & regs::TX_STS_ES != 0 {
                self.stats.tx_errors += 1;
            }
        }
    }

    /// Pop words of a frame we do not want. Reading them out (rather than
    /// `RX_DP_CTRL` fast-forward) works for any length, and on QEMU's model,
    /// whose fast-forward does not update its FIFO level in older versions.
    fn discard(&self, words: usize) {
        for _ in 0..words {
            let _ = self.regs.read(regs::RX_DATA_FIFO);
        }
    }

    /// Read the next good frame into `rx_buf`; its length without CRC.
    fn read_frame(&mut self) -> Option<usize> {
        for _ in 0..MAX_SKIP {
            let inf = self.regs.read(regs::RX_FIFO_INF);
            if (inf >> regs::RX_FIFO_INF_RXSUSED_SHIFT) & regs::FIFO_ENTRIES_MASK == 0 {
                return None;
            }
            let status = self.regs.read(regs::RX_STATUS_FIFO);
            // The length counts the CRC; the data occupies whole words
            // (no RX offset, 4-byte end alignment: RX_CFG = 0).
            let len = ((status >> regs::RX_STS_LEN_SHIFT) & regs::RX_STS_LEN_MASK) as usize;
            let words = len.div_ceil(4);
            if status & (regs::RX_STS_ES | regs::RX_STS_FILTER_FAIL) != 0 {
                self.discard(words);
                self.stats.rx_errors += 1;
                continue;
            }
            if !(MIN_RX_LEN..=FRAME_BUFFER).contains(&len) {
                self.discard(words);
                self.stats.rx_bad_length += 1;
                continue;
            }
            // FIFO words are little-endian: the first byte on the wire is
            // in bits 7:0.
            for chunk in self.rx_buf.chunks_exact_mut(4).take(words) {
                chunk.copy_from_slice(&self.regs.read(regs::RX_DATA_FIFO).to_le_bytes());
            }
            self.stats.rx_frames += 1;
            return Some(len - 4);
        }
        None
    }

    fn tx_room(&self) -> usize {
        (self.regs.read(regs::TX_FIFO_INF) & regs::TX_FIFO_INF_TDFREE_MASK) as usize
    }
}

/// Clear every pending interrupt status bit, for the interrupt handler
/// (which does not own the driver). One register write, no FIFO access, so
/// it cannot disturb a poll it interrupts.
pub fn acknowledge_interrupts<R: Registers>(regs: &R) {
    regs.write(regs::INT_STS, u32::MAX);
}

/// A received frame, already copied out of the RX FIFO.
#[derive(Debug)]
pub struct RxToken<'a> {
    frame: &'a [u8],
}

impl phy::RxToken for RxToken<'_> {
    fn consume<T, F: FnOnce(&[u8]) -> T>(self, f: F) -> T {
        f(self.frame)
    }
}

/// Permission to write one frame into the TX FIFO.
#[derive(Debug)]
pub struct TxToken<'a, R: Registers> {
    regs: &'a R,
    buf: &'a mut [u8; FRAME_BUFFER],
    stats: &'a mut Stats,
    tag: &'a mut u16,
}

impl<R: Registers> phy::TxToken for TxToken<'_, R> {
    fn consume<T, F: FnOnce(&mut [u8]) -> T>(self, len: usize, f: F) -> T {
        let fits = len.min(FRAME_BUFFER);
        let result = match self.buf.get_mut(..fits) {
            Some(b) => f(b),
            None => f(&mut []),
        };
        if !(14..=FRAME_BUFFER).contains(&len) {
            self.stats.tx_bad_length += 1;
            return result;
        }
        // Two command words plus the data, rounded up to words.
        let room = (self.regs.read(regs::TX_FIFO_INF) & regs::TX_FIFO_INF_TDFREE_MASK) as usize;
        if room < 8 + len.next_multiple_of(4) {
            self.stats.tx_no_space += 1;
            return result;
        }
        *self.tag = self.tag.wrapping_add(1);
        let len32 = len as u32 & regs::TX_CMD_LEN_MASK;
        // Command A: one buffer that is the whole frame, no data offset,
        // 4-byte end alignment. Command B: tag and frame length; the MAC
        // appends the CRC and pads short frames (datasheet §3.12.1).
        self.regs.write(
            regs::TX_DATA_FIFO,
            regs::TX_CMD_A_FIRST_SEG | regs::TX_CMD_A_LAST_SEG | len32,
        );
        self.regs.write(
            regs::TX_DATA_FIFO,
            (u32::from(*self.tag) << regs::TX_CMD_B_TAG_SHIFT) | len32,
        );
        for chunk in self.buf.get(..len).unwrap_or(&[]).chunks(4) {
            let mut word = [0u8; 4];
            for (w, b) in word.iter_mut().zip(chunk) {
                *w = *b;
            }
            self.regs
                .write(regs::TX_DATA_FIFO, u32::from_le_bytes(word));
        }
        self.stats.tx_frames += 1;
        result
    }
}

impl<R: Registers> Device for Lan9118<R> {
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a, R>
    where
        Self: 'a;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken<'_>, TxToken<'_, R>)> {
        self.reap_tx_status();
        let len = self.read_frame()?;
        let Lan9118 {
            regs,
            stats,
            tag,
            rx_buf,
            tx_buf,
            ..
        } = self;
        let frame = rx_buf.get(..len)?;
        Some((
            RxToken { frame },
            TxToken {
                regs,
                buf: tx_buf,
                stats,
                tag,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_, R>> {
        self.reap_tx_status();
        if self.tx_room() < 8 + FRAME_BUFFER {
            self.stats.tx_no_space += 1;
            return None;
        }
        Some(TxToken {
            regs: &self.regs,
            buf: &mut self.tx_buf,
            stats: &mut self.stats,
            tag: &mut self.tag,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        // The LAN9118 computes no checksums (the LAN9218 and later do).
        DeviceCapabilities {
            mtu: MTU,
            ..DeviceCapabilities::default()
        }
    }
}
