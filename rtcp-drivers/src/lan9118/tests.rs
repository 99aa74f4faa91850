//! Host tests of the LAN9118 driver against a fake register file that
//! behaves like the chip's FIFOs and indirect MAC/PHY ports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

extern crate std;

use super::regs::*;
use super::*;
use core::cell::RefCell;
use rtcp_core::phy::{Device, RxToken as _, TxToken as _};
use std::collections::VecDeque;
use std::vec::Vec;

/// One register access, as the driver made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read(usize),
    Write(usize, u32),
}

#[derive(Debug, Default)]
struct State {
    log: Vec<Access>,
    byte_test: u32,
    /// Reads of HW_CFG that still show SRST set (u32::MAX: never clears).
    srst_reads: u32,
    mac_data: u32,
    mac_cr: u32,
    mac: [u8; 6],
    mii_data: u32,
    phy: [u16; 32],
    rx_status: VecDeque<u32>,
    rx_data: VecDeque<u32>,
    tx_words: Vec<u32>,
    tx_pending: Vec<u32>,
    tx_status: VecDeque<u32>,
    tx_status_error: bool,
    free_run: u32,
}

#[derive(Debug)]
struct Fake(RefCell<State>);

const FAKE_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

impl Fake {
    fn new() -> Fake {
        let mut s = State {
            byte_test: BYTE_TEST_VALUE,
            srst_reads: 2,
            mac: FAKE_MAC,
            mac_cr: MAC_CR_PRMS,
            ..State::default()
        };
        s.phy[PHY_BSR as usize] = 0x7809 | PHY_BSR_LINK;
        Fake(RefCell::new(s))
    }

    /// Queue a received frame as the chip would: a status word with the
    /// length including CRC, then the data words with the CRC appended.
    fn push_rx(&self, frame: &[u8], status_bits: u32) {
        let mut s = self.0.borrow_mut();
        let mut bytes = frame.to_vec();
        bytes.extend_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF]); // CRC, not checked by the driver
        s.rx_status
            .push_back(((bytes.len() as u32) << RX_STS_LEN_SHIFT) | status_bits);
        for chunk in bytes.chunks(4) {
            let mut w = [0u8; 4];
            w[..chunk.len()].copy_from_slice(chunk);
            s.rx_data.push_back(u32::from_le_bytes(w));
        }
    }

    /// Frames the driver wrote to the TX FIFO, decoded from the command
    /// words, with (command A, command B).
    fn sent(&self) -> Vec<(u32, u32, Vec<u8>)> {
        let s = self.0.borrow();
        let mut out = Vec::new();
        let mut words = s.tx_words.iter().copied();
        while let Some(a) = words.next() {
            let b = words.next().expect("command B");
            let len = (b & TX_CMD_LEN_MASK) as usize;
            let mut data = Vec::new();
            for _ in 0..len.div_ceil(4) {
                data.extend_from_slice(&words.next().expect("data word").to_le_bytes());
            }
            data.truncate(len);
            out.push((a, b, data));
        }
        out
    }

    fn writes(&self) -> Vec<(usize, u32)> {
        self.0
            .borrow()
            .log
            .iter()
            .filter_map(|a| match *a {
                Access::Write(o, v) => Some((o, v)),
                Access::Read(_) => None,
            })
            .collect()
    }

    fn clear_log(&self) {
        self.0.borrow_mut().log.clear();
    }
}

impl Registers for Fake {
    fn read(&self, offset: usize) -> u32 {
        let mut s = self.0.borrow_mut();
        s.log.push(Access::Read(offset));
        match offset {
            RX_DATA_FIFO => s.rx_data.pop_front().unwrap_or(0),
            RX_STATUS_FIFO => s.rx_status.pop_front().unwrap_or(0),
            TX_STATUS_FIFO => s.tx_status.pop_front().unwrap_or(0),
            ID_REV => 0x0118_0001,
            BYTE_TEST => s.byte_test,
            HW_CFG => {
                if s.srst_reads > 0 {
                    if s.srst_reads != u32::MAX {
                        s.srst_reads -= 1;
                    }
                    HW_CFG_SRST
                } else {
                    0x0005_0004
                }
            }
            PMT_CTRL => PMT_CTRL_READY,
            RX_FIFO_INF => {
                ((s.rx_status.len() as u32) << RX_FIFO_INF_RXSUSED_SHIFT)
                    | (s.rx_data.len() as u32 * 4)
            }
            TX_FIFO_INF => ((s.tx_status.len() as u32) << TX_FIFO_INF_TXSUSED_SHIFT) | 4608,
            FREE_RUN => {
                s.free_run = s.free_run.wrapping_add(25);
                s.free_run
            }
            MAC_CSR_CMD => 0, // commands complete at once
            MAC_CSR_DATA => s.mac_data,
            _ => 0,
        }
    }

    fn write(&self, offset: usize, value: u32) {
        let mut s = self.0.borrow_mut();
        s.log.push(Access::Write(offset, value));
        match offset {
            TX_DATA_FIFO => {
                s.tx_words.push(value);
                s.tx_pending.push(value);
                // A whole frame in: report its status, tagged.
                if s.tx_pending.len() >= 2 {
                    let b = s.tx_pending[1];
                    let words = ((b & TX_CMD_LEN_MASK) as usize).div_ceil(4);
                    if s.tx_pending.len() == 2 + words {
                        let err = if s.tx_status_error { TX_STS_ES } else { 0 };
                        s.tx_status.push_back((b & 0xFFFF_0000) | err);
                        s.tx_pending.clear();
                    }
                }
            }
            HW_CFG if value & HW_CFG_SRST != 0 => s.mac_cr = MAC_CR_PRMS,
            MAC_CSR_DATA => s.mac_data = value,
            MAC_CSR_CMD if value & MAC_CSR_BUSY != 0 => {
                let index = (value & 0xFF) as u8;
                if value & MAC_CSR_READ != 0 {
                    s.mac_data = match index {
                        MAC_CR => s.mac_cr,
                        MAC_ADDRL => u32::from_le_bytes([s.mac[0], s.mac[1], s.mac[2], s.mac[3]]),
                        MAC_ADDRH => u32::from_le_bytes([s.mac[4], s.mac[5], 0, 0]),
                        MAC_MII_ACC => 0, // never busy
                        MAC_MII_DATA => s.mii_data,
                        _ => 0,
                    };
                } else {
                    let v = s.mac_data;
                    match index {
                        MAC_CR => s.mac_cr = v,
                        MAC_ADDRL => s.mac[..4].copy_from_slice(&v.to_le_bytes()),
                        MAC_ADDRH => s.mac[4..].copy_from_slice(&v.to_le_bytes()[..2]),
                        MAC_MII_DATA => s.mii_data = v & 0xFFFF,
                        MAC_MII_ACC => {
                            let reg = ((v >> MII_ACC_REG_SHIFT) & 0x1F) as usize;
                            if v & MII_ACC_WRITE != 0 {
                                // The PHY's reset bit clears itself.
                                s.phy[reg] = (s.mii_data as u16) & !PHY_BCR_RESET;
                            } else {
                                s.mii_data = u32::from(s.phy[reg]);
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

fn mac_write(index: u8, value: u32) -> [(usize, u32); 2] {
    [
        (MAC_CSR_DATA, value),
        (MAC_CSR_CMD, MAC_CSR_BUSY | u32::from(index)),
    ]
}

fn mac_read(index: u8) -> [(usize, u32); 1] {
    [(MAC_CSR_CMD, MAC_CSR_BUSY | MAC_CSR_READ | u32::from(index))]
}

fn mii(reg: u8, write: bool) -> u32 {
    (PHY_ADDR << MII_ACC_PHY_SHIFT)
        | (u32::from(reg) << MII_ACC_REG_SHIFT)
        | if write { MII_ACC_WRITE } else { 0 }
        | MII_ACC_BUSY
}

/// Every register write of the initialisation, in order: soft reset, FIFO
/// and flow-control setup, interrupts off, PHY reset and auto-negotiation
/// over MII (each MII access preceded by a poll of MII_ACC), MAC address,
/// RX/TX configuration, MAC on.
#[test]
fn init_sequence_is_exact() {
    let fake = Fake::new();
    let mac = EthernetAddress([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);
    let nic = Lan9118::new(
        &fake,
        Config {
            mac: Some(mac),
            ..Config::default()
        },
    )
    .unwrap();
    assert_eq!(nic.mac(), mac);
    assert_eq!(nic.chip_id(), 0x0118_0001);

    let mut want: Vec<(usize, u32)> = std::vec![
        (HW_CFG, HW_CFG_SRST),
        (HW_CFG, (5 << HW_CFG_TX_FIF_SZ_SHIFT) | HW_CFG_MBO),
        (AFC_CFG, 0x006E_3740),
        (INT_EN, 0),
        (INT_STS, u32::MAX),
    ];
    let mii_write = |want: &mut Vec<(usize, u32)>, reg: u8, v: u16| {
        want.extend(mac_read(MAC_MII_ACC));
        want.extend(mac_write(MAC_MII_DATA, u32::from(v)));
        want.extend(mac_write(MAC_MII_ACC, mii(reg, true)));
        want.extend(mac_read(MAC_MII_ACC));
    };
    mii_write(&mut want, PHY_BCR, PHY_BCR_RESET);
    // Poll BCR until the reset bit clears (the fake clears it at once).
    want.extend(mac_read(MAC_MII_ACC));
    want.extend(mac_write(MAC_MII_ACC, mii(PHY_BCR, false)));
    want.extend(mac_read(MAC_MII_ACC));
    want.extend(mac_read(MAC_MII_DATA));
    mii_write(&mut want, PHY_ANAR, PHY_ANAR_DEFAULT);
    mii_write(&mut want, PHY_BCR, PHY_BCR_ANENABLE | PHY_BCR_ANRESTART);
    want.extend(mac_write(MAC_ADDRL, 0x3322_1102));
    want.extend(mac_write(MAC_ADDRH, 0x0000_5544));
    want.push((RX_CFG, 0));
    want.push((TX_CFG, TX_CFG_TX_ON | TX_CFG_TXSAO));
    want.extend(mac_write(MAC_CR, MAC_CR_TXEN | MAC_CR_RXEN | MAC_CR_FDPX));
    assert_eq!(fake.writes(), want);

    let s = fake.0.borrow();
    assert_eq!(s.mac, mac.0, "address programmed into ADDRL/ADDRH");
    assert_eq!(s.mac_cr, MAC_CR_TXEN | MAC_CR_RXEN | MAC_CR_FDPX);
    assert_eq!(s.phy[PHY_ANAR as usize], PHY_ANAR_DEFAULT);
    assert_eq!(
        s.phy[PHY_BCR as usize],
        PHY_BCR_ANENABLE | PHY_BCR_ANRESTART
    );
}

#[test]
fn init_keeps_eeprom_mac_when_none_configured() {
    let fake = Fake::new();
    let nic = Lan9118::new(&fake, Config::default()).unwrap();
    assert_eq!(nic.mac(), EthernetAddress(FAKE_MAC));
    assert!(!fake
        .writes()
        .iter()
        .any(|w| *w == (MAC_CSR_CMD, MAC_CSR_BUSY | u32::from(MAC_ADDRL))));
}

#[test]
fn init_fails_without_chip() {
    let fake = Fake::new();
    fake.0.borrow_mut().byte_test = 0xFFFF_FFFF;
    let config = Config {
        mac: None,
        spin_limit: 100,
    };
    let err = Lan9118::new(&fake, config).unwrap_err();
    assert_eq!(
        err,
        Error::NotFound {
            byte_test: 0xFFFF_FFFF
        }
    );
    assert!(fake.writes().is_empty(), "nothing written to a dead bus");
    assert_eq!(
        fake.0.borrow().log.len(),
        100,
        "BYTE_TEST polled spin_limit times"
    );
}

#[test]
fn init_times_out_when_reset_never_finishes() {
    let fake = Fake::new();
    fake.0.borrow_mut().srst_reads = u32::MAX;
    let err = Lan9118::new(
        &fake,
        Config {
            mac: None,
            spin_limit: 50,
        },
    )
    .unwrap_err();
    assert_eq!(err, Error::Timeout(Stage::SoftReset));
    let polls = fake
        .0
        .borrow()
        .log
        .iter()
        .filter(|a| **a == Access::Read(HW_CFG))
        .count();
    assert_eq!(polls, 50, "bounded by spin_limit");
}

fn test_frame(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

#[test]
fn receives_one_frame() {
    let fake = Fake::new();
    let mut nic = Lan9118::new(&fake, Config::default()).unwrap();
    let frame = test_frame(61); // odd length: the last word is partly CRC
    fake.push_rx(&frame, 0);
    fake.clear_log();
    let (rx, _tx) = nic.receive(Instant::ZERO).expect("a frame");
    let got = rx.consume(|f| f.to_vec());
    assert_eq!(got, frame, "CRC stripped, bytes in wire order");
    let s = fake.0.borrow();
    assert!(
        s.rx_data.is_empty() && s.rx_status.is_empty(),
        "FIFOs drained"
    );
    let data_reads = s
        .log
        .iter()
        .filter(|a| **a == Access::Read(RX_DATA_FIFO))
        .count();
    assert_eq!(data_reads, (61 + 4usize).div_ceil(4));
    drop(s);
    assert_eq!(nic.stats().rx_frames, 1);
    assert!(nic.receive(Instant::ZERO).is_none(), "nothing more");
}

#[test]
fn rx_error_status_is_dropped_and_counted() {
    let fake = Fake::new();
    let mut nic = Lan9118::new(&fake, Config::default()).unwrap();
    fake.push_rx(&test_frame(100), RX_STS_ES | 0x2); // CRC error
    fake.push_rx(&test_frame(8), 0); // runt: shorter than a header
    let good = test_frame(64);
    fake.push_rx(&good, 0);
    let (rx, _tx) = nic.receive(Instant::ZERO).expect("the good frame");
    assert_eq!(rx.consume(|f| f.to_vec()), good, "FIFO stayed in step");
    let st = nic.stats();
    assert_eq!(st.rx_errors, 1);
    assert_eq!(st.rx_bad_length, 1);
    assert_eq!(st.rx_frames, 1);
    assert!(fake.0.borrow().rx_data.is_empty());
}

#[test]
fn oversized_rx_length_is_dropped() {
    let fake = Fake::new();
    let mut nic = Lan9118::new(&fake, Config::default()).unwrap();
    fake.push_rx(&test_frame(FRAME_BUFFER + 10), 0);
    assert!(nic.receive(Instant::ZERO).is_none());
    assert_eq!(nic.stats().rx_bad_length, 1);
    assert!(fake.0.borrow().rx_data.is_empty(), "its words were popped");
}

#[test]
fn transmits_one_frame() {
    let fake = Fake::new();
    let mut nic = Lan9118::new(&fake, Config::default()).unwrap();
    let frame = test_frame(75);
    let tx = nic.transmit(Instant::ZERO).expect("room");
    let r = tx.consume(frame.len(), |buf| {
        buf.copy_from_slice(&frame);
        42
    });
    assert_eq!(r, 42);
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    let (a, b, data) = &sent[0];
    assert_eq!(*a, TX_CMD_A_FIRST_SEG | TX_CMD_A_LAST_SEG | 75);
    assert_eq!(*b, (1 << TX_CMD_B_TAG_SHIFT) | 75);
    assert_eq!(*data, frame);
    assert_eq!(fake.0.borrow().tx_words.len(), 2 + 19);
    assert_eq!(nic.stats().tx_frames, 1);

    // The status word is reaped (and an error counted) on the next call.
    fake.0.borrow_mut().tx_status_error = true;
    nic.transmit(Instant::ZERO)
        .unwrap()
        .consume(60, |b| b.fill(0));
    let _ = nic.transmit(Instant::ZERO);
    assert_eq!(nic.stats().tx_errors, 1);
    assert!(fake.0.borrow().tx_status.is_empty());
}

#[test]
fn tx_bad_length_is_not_sent() {
    let fake = Fake::new();
    let mut nic = Lan9118::new(&fake, Config::default()).unwrap();
    let seen = nic
        .transmit(Instant::ZERO)
        .unwrap()
        .consume(FRAME_BUFFER + 1, |b| b.len());
    assert_eq!(seen, FRAME_BUFFER, "the closure still runs, on what fits");
    assert!(fake.sent().is_empty());
    assert_eq!(nic.stats().tx_bad_length, 1);
}

#[test]
fn link_status_through_mii() {
    let fake = Fake::new();
    let nic = Lan9118::new(&fake, Config::default()).unwrap();
    assert!(nic.link_up().unwrap());
    fake.0.borrow_mut().phy[PHY_BSR as usize] &= !PHY_BSR_LINK;
    assert!(!nic.link_up().unwrap());
}

#[test]
fn free_run_reads_the_counter() {
    let fake = Fake::new();
    let nic = Lan9118::new(&fake, Config::default()).unwrap();
    let a = nic.free_run();
    let b = nic.free_run();
    assert_eq!(b.wrapping_sub(a), 25);
}

/// The driver under the real interface: an ARP request for our address
/// read from the RX FIFO is answered with an ARP reply in the TX FIFO.
#[test]
fn interface_answers_arp_through_the_fifos() {
    use rtcp_core::iface::{Interface, InterfaceConfig};
    use rtcp_core::socket_set::{SocketSet, SocketSlot};
    use rtcp_core::wire::{Ipv4Address, Ipv4Cidr};

    let fake = Fake::new();
    let mut nic = Lan9118::new(&fake, Config::default()).unwrap();
    let mut iface = Interface::new(InterfaceConfig {
        mac: nic.mac(),
        ip: Ipv4Cidr::new(Ipv4Address::new(10, 0, 2, 15), 24),
        gateway: Some(Ipv4Address::new(10, 0, 2, 2)),
    });
    let mut slots: [SocketSlot<'_>; 0] = [];
    let mut sockets = SocketSet::new(&mut slots[..], [1; 16]);

    let peer_mac = [0x52, 0x55, 0x0A, 0x00, 0x02, 0x02];
    let mut req = Vec::new();
    req.extend_from_slice(&[0xFF; 6]);
    req.extend_from_slice(&peer_mac);
    req.extend_from_slice(&[0x08, 0x06]); // ARP
    req.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]); // Ethernet/IPv4, request
    req.extend_from_slice(&peer_mac);
    req.extend_from_slice(&[10, 0, 2, 2]);
    req.extend_from_slice(&[0; 6]);
    req.extend_from_slice(&[10, 0, 2, 15]);
    fake.push_rx(&req, 0);

    iface.poll(Instant::ZERO, &mut nic, &mut sockets);
    let sent = fake.sent();
    assert_eq!(sent.len(), 1, "one reply");
    let reply = &sent[0].2;
    assert_eq!(&reply[0..6], &peer_mac, "to the asker");
    assert_eq!(&reply[6..12], &FAKE_MAC, "from us");
    assert_eq!(&reply[12..14], &[0x08, 0x06]);
    assert_eq!(&reply[20..22], &[0, 2], "ARP reply");
    assert_eq!(&reply[28..32], &[10, 0, 2, 15]);
    assert_eq!(iface.stats().arp_replies, 1);
}

/// RFC 1071 checksum, for building test packets.
fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in data.chunks(2) {
        let w = u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]);
        sum += u32::from(w);
    }
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

/// Ping through the driver: an ICMP echo request read from the RX FIFO is
/// answered with a byte-exact echo reply in the TX FIFO (RFC 792).
#[test]
fn interface_answers_ping_through_the_fifos() {
    use rtcp_core::iface::{Interface, InterfaceConfig};
    use rtcp_core::socket_set::{SocketSet, SocketSlot};
    use rtcp_core::wire::{Ipv4Address, Ipv4Cidr};

    let fake = Fake::new();
    let mut nic = Lan9118::new(&fake, Config::default()).unwrap();
    let mut iface = Interface::new(InterfaceConfig {
        mac: nic.mac(),
        ip: Ipv4Cidr::new(Ipv4Address::new(10, 0, 2, 15), 24),
        gateway: Some(Ipv4Address::new(10, 0, 2, 2)),
    });
    let mut slots: [SocketSlot<'_>; 0] = [];
    let mut sockets = SocketSet::new(&mut slots[..], [1; 16]);

    let peer_mac = [0x52, 0x55, 0x0A, 0x00, 0x02, 0x02];
    let payload: Vec<u8> = (0..56u8).collect();
    let mut icmp = std::vec![8, 0, 0, 0, 0x12, 0x34, 0x00, 0x01];
    icmp.extend_from_slice(&payload);
    let c = checksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let total = (20 + icmp.len()) as u16;
    let mut ip = std::vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 1, 0, 0];
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[10, 0, 2, 2, 10, 0, 2, 15]);
    let c = checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut frame = Vec::new();
    frame.extend_from_slice(&FAKE_MAC);
    frame.extend_from_slice(&peer_mac);
    frame.extend_from_slice(&[0x08, 0x00]);
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&icmp);
    fake.push_rx(&frame, 0);

    iface.poll(Instant::ZERO, &mut nic, &mut sockets);
    let sent = fake.sent();
    assert_eq!(sent.len(), 1, "one reply: {sent:?}");
    let reply = &sent[0].2;
    assert_eq!(&reply[0..6], &peer_mac, "to the sender's MAC");
    assert_eq!(&reply[12..14], &[0x08, 0x00]);
    let rip = &reply[14..34];
    assert_eq!(&rip[12..16], &[10, 0, 2, 15], "from us");
    assert_eq!(&rip[16..20], &[10, 0, 2, 2], "to the pinger");
    assert_eq!(checksum(rip), 0, "IPv4 header checksum");
    let ricmp = &reply[34..];
    assert_eq!(ricmp[0], 0, "echo reply");
    assert_eq!(&ricmp[4..8], &[0x12, 0x34, 0x00, 0x01], "id and sequence");
    assert_eq!(&ricmp[8..], &payload[..], "payload byte-exact");
    assert_eq!(checksum(ricmp), 0, "ICMP checksum");
    assert_eq!(iface.stats().icmp_echo_replies, 1);
}

#[test]
fn rx_interrupt_setup_and_pending() {
    let fake = Fake::new();
    let mut nic = Lan9118::new(&fake, Config::default()).unwrap();
    fake.clear_log();
    nic.enable_rx_interrupt();
    assert_eq!(
        fake.writes(),
        std::vec![
            (FIFO_INT, 0),
            (INT_STS, INT_RSFL),
            (INT_EN, INT_RSFL),
            (IRQ_CFG, IRQ_CFG_IRQ_EN | IRQ_CFG_IRQ_POL | IRQ_CFG_IRQ_TYPE),
        ]
    );
    assert!(!nic.rx_pending());
    fake.push_rx(&test_frame(60), 0);
    assert!(nic.rx_pending());
    fake.clear_log();
    acknowledge_interrupts(&&fake);
    assert_eq!(fake.writes(), std::vec![(INT_STS, u32::MAX)]);
}
