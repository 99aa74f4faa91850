//! A behavioural model of the ENC28J60 for host tests: control registers in
//! four banks, the 8 KiB buffer with the receive ring (headers, padding,
//! wrap from ERXND to ERXST, EPKTCNT, ERXRDPT write protection), buffer
//! reads and writes with auto-increment, transmission, and the MII. It
//! follows DS39662E and asserts the errata rules the driver must keep
//! (ERXRDPT odd, receive ring starting at 0).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::vec::Vec;

use embedded_hal::spi::{ErrorKind, ErrorType, Operation, SpiDevice};

use super::regs::*;

/// The chip's state, shared between the SPI handle and the test.
#[derive(Debug)]
pub struct State {
    regs: [[u8; 32]; 4],
    common: [u8; 32],
    pub mem: Vec<u8>,
    phy: [u16; 32],
    rx_wr: u16,
    /// Frames the chip sent.
    pub wire_out: VecDeque<Vec<u8>>,
    /// Frames dropped for lack of room (RXERIF).
    pub overflows: usize,
}

/// The SPI side of the model.
#[derive(Debug, Clone)]
pub struct Chip(pub Rc<RefCell<State>>);

impl Chip {
    pub fn new() -> Chip {
        let mut st = State {
            regs: [[0; 32]; 4],
            common: [0; 32],
            mem: std::vec![0; 8192],
            phy: [0; 32],
            rx_wr: 0,
            wire_out: VecDeque::new(),
            overflows: 0,
        };
        st.reset();
        Chip(Rc::new(RefCell::new(st)))
    }
}

fn is_mac_mii(bank: usize, addr: u8) -> bool {
    (bank == 2 && addr < 0x1B) || (bank == 3 && (addr <= 0x05 || addr == 0x0A))
}

impl State {
    fn reset(&mut self) {
        self.regs = [[0; 32]; 4];
        self.common = [0; 32];
        self.common[usize::from(ESTAT.addr)] = ESTAT_CLKRDY;
        self.common[usize::from(ECON2.addr)] = 0x80; // AUTOINC
        self.regs[1][usize::from(ERXFCON.addr)] = 0xA1;
        self.phy[usize::from(PHSTAT2)] = PHSTAT2_LSTAT;
        self.rx_wr = 0;
    }

    fn bank(&self) -> usize {
        usize::from(self.common[usize::from(ECON1.addr)] & ECON1_BSEL)
    }

    fn reg(&mut self, addr: u8) -> &mut u8 {
        if addr >= 0x1B {
            &mut self.common[usize::from(addr)]
        } else {
            let b = self.bank();
            &mut self.regs[b][usize::from(addr)]
        }
    }

    fn get16(&self, bank: usize, low: u8) -> u16 {
        u16::from_le_bytes([
            self.regs[bank][usize::from(low)],
            self.regs[bank][usize::from(low) + 1],
        ])
    }

    fn set16(&mut self, bank: usize, low: u8, v: u16) {
        let [lo, hi] = v.to_le_bytes();
        self.regs[bank][usize::from(low)] = lo;
        self.regs[bank][usize::from(low) + 1] = hi;
    }

    fn rx_start(&self) -> u16 {
        self.get16(0, ERXSTL.addr)
    }
    fn rx_end(&self) -> u16 {
        self.get16(0, ERXNDL.addr)
    }

    fn ring_next(&self, p: u16) -> u16 {
        if p == self.rx_end() {
            self.rx_start()
        } else {
            (p + 1) & 0x1FFF
        }
    }

    fn write_reg(&mut self, addr: u8, v: u8) {
        let bank = self.bank();
        *self.reg(addr) = v;
        if addr >= 0x1B {
            return;
        }
        match (bank, addr) {
            // Writing ERXST or ERXND moves the hardware write pointer.
            (0, 0x08..=0x0B) => self.rx_wr = self.rx_start(),
            // ERXRDPT takes effect on the high byte: check the errata rule.
            (0, 0x0D) => {
                let rdpt = self.get16(0, ERXRDPTL.addr);
                assert_eq!(rdpt & 1, 1, "even ERXRDPT {rdpt:#x} (errata)");
                assert!(rdpt >= self.rx_start() && rdpt <= self.rx_end());
            }
            // MIWRH starts a PHY write.
            (2, 0x17) => {
                let r = usize::from(self.regs[2][usize::from(MIREGADR.addr)] & 0x1F);
                self.phy[r] = self.get16(2, MIWRL.addr);
            }
            // MICMD.MIIRD starts a PHY read (done at once: MISTAT.BUSY stays 0).
            (2, 0x12) if v & MICMD_MIIRD != 0 => {
                let r = usize::from(self.regs[2][usize::from(MIREGADR.addr)] & 0x1F);
                let value = self.phy[r];
                self.set16(2, MIRDL.addr, value);
            }
            _ => {}
        }
    }

    fn set_bits(&mut self, addr: u8, mask: u8) {
        *self.reg(addr) |= mask;
        if addr == ECON2.addr && mask & ECON2_PKTDEC != 0 {
            let cnt = &mut self.regs[1][usize::from(EPKTCNT.addr)];
            *cnt = cnt.saturating_sub(1);
            self.common[usize::from(ECON2.addr)] &= !ECON2_PKTDEC;
        }
        if addr == ECON1.addr && mask & ECON1_RXEN != 0 {
            assert_eq!(self.rx_start(), 0, "receive ring must start at 0 (errata)");
        }
        if addr == ECON1.addr && mask & ECON1_TXRTS != 0 {
            let st = usize::from(self.get16(0, ETXSTL.addr));
            let nd = usize::from(self.get16(0, ETXNDL.addr));
            assert_eq!(self.mem[st], 0, "per-packet control byte");
            self.wire_out.push_back(self.mem[st + 1..=nd].to_vec());
            self.common[usize::from(ECON1.addr)] &= !ECON1_TXRTS;
            self.common[usize::from(EIR.addr)] |= EIR_TXIF;
        }
    }

    /// A frame (no FCS) arrives from the wire.
    pub fn deliver(&mut self, frame: &[u8]) {
        if self.common[usize::from(ECON1.addr)] & ECON1_RXEN == 0 {
            return;
        }
        let (start, end) = (self.rx_start(), self.rx_end());
        let ring = usize::from(end - start) + 1;
        let count = frame.len() + 4;
        let needed = (6 + count + 1) & !1;
        let rdpt = self.get16(0, ERXRDPTL.addr);
        // Bytes from the write pointer up to, not including, ERXRDPT.
        let free = (usize::from(rdpt) + ring - usize::from(self.rx_wr)) % ring;
        let cnt = self.regs[1][usize::from(EPKTCNT.addr)];
        if needed > free || cnt == 255 {
            self.common[usize::from(EIR.addr)] |= EIR_RXERIF;
            self.overflows += 1;
            return;
        }
        let next = (usize::from(self.rx_wr - start) + needed) % ring + usize::from(start);
        let next = next as u16;
        let mut bytes = Vec::with_capacity(needed);
        bytes.extend(next.to_le_bytes());
        bytes.extend((count as u16).to_le_bytes());
        bytes.extend([0xC0, 0x00]); // Received OK, type field
        bytes.extend_from_slice(frame);
        bytes.extend([0xAA; 4]); // FCS (not checked by the driver)
        bytes.resize(needed, 0);
        let mut p = self.rx_wr;
        for b in bytes {
            self.mem[usize::from(p)] = b;
            p = self.ring_next(p);
        }
        assert_eq!(p, next);
        self.rx_wr = next;
        self.regs[1][usize::from(EPKTCNT.addr)] = cnt + 1;
        self.common[usize::from(EIR.addr)] |= 0x40; // PKTIF
    }
}

impl ErrorType for Chip {
    type Error = ErrorKind;
}

impl SpiDevice for Chip {
    fn transaction(&mut self, ops: &mut [Operation<'_, u8>]) -> Result<(), ErrorKind> {
        let mut st = self.0.borrow_mut();
        let mut opcode: Option<u8> = None;
        for op in ops.iter_mut() {
            match op {
                Operation::Write(bytes) => {
                    for &b in bytes.iter() {
                        match opcode {
                            None => {
                                opcode = Some(b);
                                if b == SRC {
                                    st.reset();
                                }
                            }
                            Some(WBM) => {
                                let p = st.get16(0, EWRPTL.addr);
                                st.mem[usize::from(p)] = b;
                                st.set16(0, EWRPTL.addr, (p + 1) & 0x1FFF);
                            }
                            Some(o) => {
                                let addr = o & 0x1F;
                                match o & 0xE0 {
                                    0x40 => st.write_reg(addr, b),
                                    0x80 => st.set_bits(addr, b),
                                    0xA0 => *st.reg(addr) &= !b,
                                    _ => return Err(ErrorKind::Other),
                                }
                            }
                        }
                    }
                }
                Operation::Read(buf) => {
                    if opcode != Some(RBM) {
                        return Err(ErrorKind::Other);
                    }
                    for b in buf.iter_mut() {
                        let p = st.get16(0, ERDPTL.addr);
                        *b = st.mem[usize::from(p)];
                        let n = st.ring_next(p);
                        st.set16(0, ERDPTL.addr, n);
                    }
                }
                Operation::TransferInPlace(buf) => {
                    let o = buf[0];
                    if o & 0xE0 != RCR {
                        return Err(ErrorKind::Other);
                    }
                    let addr = o & 0x1F;
                    let bank = st.bank();
                    let v = *st.reg(addr);
                    let expect = if addr < 0x1B && is_mac_mii(bank, addr) {
                        3
                    } else {
                        2
                    };
                    assert_eq!(buf.len(), expect, "dummy byte rule for {bank}/{addr:#x}");
                    let last = buf.len() - 1;
                    buf[1..].fill(0);
                    buf[last] = v;
                }
                _ => return Err(ErrorKind::Other),
            }
        }
        Ok(())
    }
}
