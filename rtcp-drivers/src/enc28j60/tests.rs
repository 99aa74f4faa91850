//! The ENC28J60 driver against `embedded-hal-mock`: the exact SPI
//! transactions, written from the datasheet (DS39662E) and errata (DS80349).
//!
//! Each register access is one SPI transaction (chip select low, bytes,
//! chip select high). Opcodes: RCR 0x00|a, WCR 0x40|a, BFS 0x80|a,
//! BFC 0xA0|a, RBM 0x3A, WBM 0x7A, SRC 0xFF. ECON1 is 0x1F, ECON2 0x1E,
//! EIR 0x1C, ESTAT 0x1D, EIE 0x1B (all banks).

use super::*;
use embedded_hal::spi::{ErrorKind, ErrorType};
use embedded_hal_mock::eh1::delay::{CheckedDelay, Transaction as DelayT};
use embedded_hal_mock::eh1::spi::{Mock, Transaction as T};
use rtcp_core::phy::{RxToken as _, TxToken as _};
use std::vec;
use std::vec::Vec;

type Script = Vec<T<u8>>;

const MAC: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];

/// One transaction writing `bytes`.
fn w(bytes: &[u8]) -> Script {
    vec![
        T::transaction_start(),
        T::write_vec(bytes.to_vec()),
        T::transaction_end(),
    ]
}
fn wcr(addr: u8, v: u8) -> Script {
    w(&[0x40 | addr, v])
}
fn bfs(addr: u8, mask: u8) -> Script {
    w(&[0x80 | addr, mask])
}
fn bfc(addr: u8, mask: u8) -> Script {
    w(&[0xA0 | addr, mask])
}
/// Read an ETH register: opcode out, value back in the second byte.
fn rcr(addr: u8, v: u8) -> Script {
    vec![
        T::transaction_start(),
        T::transfer_in_place(vec![addr, 0], vec![0, v]),
        T::transaction_end(),
    ]
}
/// Read a MAC/MII register: opcode, dummy byte, then the value.
fn rcr_mac(addr: u8, v: u8) -> Script {
    vec![
        T::transaction_start(),
        T::transfer_in_place(vec![addr, 0, 0], vec![0, 0, v]),
        T::transaction_end(),
    ]
}
/// Read Buffer Memory returning `data`.
fn rbm(data: &[u8]) -> Script {
    vec![
        T::transaction_start(),
        T::write_vec(vec![0x3A]),
        T::read_vec(data.to_vec()),
        T::transaction_end(),
    ]
}

fn cat(parts: Vec<Script>) -> Script {
    parts.into_iter().flatten().collect()
}

/// Initialisation, half duplex with interrupts (the defaults). The chip
/// ends in bank 3.
fn init_half() -> Script {
    cat(vec![
        w(&[0xFF]),        // system reset (then the 2 ms delay)
        rcr(0x1D, 0x01),   // ESTAT: CLKRDY
        wcr(0x08, 0x00),   // ERXSTL  = 0x0000
        wcr(0x09, 0x00),   // ERXSTH
        wcr(0x0A, 0xFF),   // ERXNDL  = 0x19FF
        wcr(0x0B, 0x19),   // ERXNDH
        wcr(0x0C, 0xFF),   // ERXRDPTL = 0x19FF (odd)
        wcr(0x0D, 0x19),   // ERXRDPTH
        wcr(0x04, 0x00),   // ETXSTL = 0x1A00
        wcr(0x05, 0x1A),   // ETXSTH
        bfs(0x1F, 0x01),   // bank 1
        wcr(0x18, 0xA1),   // ERXFCON: UCEN | CRCEN | BCEN
        bfc(0x1F, 0x03),   // bank 2
        bfs(0x1F, 0x02),   //
        wcr(0x00, 0x01),   // MACON1: MARXEN
        wcr(0x02, 0x32),   // MACON3: PADCFG0 | TXCRCEN | FRMLNEN
        wcr(0x03, 0x40),   // MACON4: DEFER
        wcr(0x0A, 0xEE),   // MAMXFLL = 1518
        wcr(0x0B, 0x05),   // MAMXFLH
        wcr(0x04, 0x12),   // MABBIPG (half duplex)
        wcr(0x06, 0x12),   // MAIPGL
        wcr(0x07, 0x0C),   // MAIPGH
        bfc(0x1F, 0x03),   // bank 3
        bfs(0x1F, 0x03),   //
        wcr(0x04, MAC[0]), // MAADR1
        wcr(0x05, MAC[1]), // MAADR2
        wcr(0x02, MAC[2]), // MAADR3
        wcr(0x03, MAC[3]), // MAADR4
        wcr(0x00, MAC[4]), // MAADR5
        wcr(0x01, MAC[5]), // MAADR6
        rcr(0x12, 0x06),   // EREVID: B7
        // PHCON1 = 0 (half duplex)
        bfc(0x1F, 0x03), // bank 2
        bfs(0x1F, 0x02),
        wcr(0x14, 0x00), // MIREGADR = PHCON1
        wcr(0x16, 0x00), // MIWRL
        wcr(0x17, 0x00), // MIWRH: starts the write
        bfc(0x1F, 0x03), // bank 3
        bfs(0x1F, 0x03),
        rcr_mac(0x0A, 0x01), // MISTAT: BUSY
        rcr_mac(0x0A, 0x00), // MISTAT: done
        // PHCON2 = HDLDIS
        bfc(0x1F, 0x03),
        bfs(0x1F, 0x02),
        wcr(0x14, 0x10),
        wcr(0x16, 0x00),
        wcr(0x17, 0x01),
        bfc(0x1F, 0x03),
        bfs(0x1F, 0x03),
        rcr_mac(0x0A, 0x00),
        wcr(0x1B, 0xC1), // EIE: INTIE | PKTIE | RXERIE
        bfs(0x1F, 0x04), // ECON1: RXEN
    ])
}

fn delay() -> CheckedDelay {
    CheckedDelay::new(&[DelayT::delay_ms(2)])
}

/// A driver after the half-duplex init, and a handle on its mock.
fn ready() -> (Enc28j60<Mock<u8>>, Mock<u8>) {
    let spi = Mock::new(&init_half());
    let handle = spi.clone();
    let mut d = delay();
    let drv = Enc28j60::new(spi, &mut d, Config::new(EthernetAddress(MAC))).unwrap();
    d.done();
    (drv, handle)
}

#[test]
fn init_half_duplex_exact_transactions() {
    let (drv, mut spi) = ready();
    assert_eq!(drv.revision(), 6);
    assert_eq!(drv.mac(), EthernetAddress(MAC));
    spi.done();
}

#[test]
fn init_full_duplex_without_interrupts() {
    let script = cat(vec![
        w(&[0xFF]),
        rcr(0x1D, 0x00), // not ready yet
        rcr(0x1D, 0x01),
        wcr(0x08, 0x00),
        wcr(0x09, 0x00),
        wcr(0x0A, 0xFF),
        wcr(0x0B, 0x19),
        wcr(0x0C, 0xFF),
        wcr(0x0D, 0x19),
        wcr(0x04, 0x00),
        wcr(0x05, 0x1A),
        bfs(0x1F, 0x01),
        wcr(0x18, 0xA1),
        bfc(0x1F, 0x03),
        bfs(0x1F, 0x02),
        wcr(0x00, 0x0D), // MACON1: MARXEN | TXPAUS | RXPAUS
        wcr(0x02, 0x33), // MACON3: ... | FULDPX
        wcr(0x03, 0x00), // MACON4: no DEFER
        wcr(0x0A, 0xEE),
        wcr(0x0B, 0x05),
        wcr(0x04, 0x15), // MABBIPG (full duplex)
        wcr(0x06, 0x12), // MAIPGL (no MAIPGH in full duplex)
        bfc(0x1F, 0x03),
        bfs(0x1F, 0x03),
        wcr(0x04, MAC[0]),
        wcr(0x05, MAC[1]),
        wcr(0x02, MAC[2]),
        wcr(0x03, MAC[3]),
        wcr(0x00, MAC[4]),
        wcr(0x01, MAC[5]),
        rcr(0x12, 0x06),
        bfc(0x1F, 0x03),
        bfs(0x1F, 0x02),
        wcr(0x14, 0x00),
        wcr(0x16, 0x00), // PHCON1 = PDPXMD (0x0100)
        wcr(0x17, 0x01),
        bfc(0x1F, 0x03),
        bfs(0x1F, 0x03),
        rcr_mac(0x0A, 0x00),
        bfc(0x1F, 0x03),
        bfs(0x1F, 0x02),
        wcr(0x14, 0x10),
        wcr(0x16, 0x00),
        wcr(0x17, 0x01),
        bfc(0x1F, 0x03),
        bfs(0x1F, 0x03),
        rcr_mac(0x0A, 0x00),
        bfs(0x1F, 0x04), // RXEN (no EIE write)
    ]);
    let mut spi = Mock::new(&script);
    let mut d = delay();
    let config = Config {
        mac: EthernetAddress(MAC),
        full_duplex: true,
        interrupts: false,
    };
    let drv = Enc28j60::new(spi.clone(), &mut d, config).unwrap();
    drop(drv);
    d.done();
    spi.done();
}

#[test]
fn init_gives_up_when_the_clock_never_comes_up() {
    let mut script = w(&[0xFF]);
    for _ in 0..CLKRDY_POLLS {
        script.extend(rcr(0x1D, 0x00));
    }
    let mut spi = Mock::new(&script);
    let mut d = delay();
    let r = Enc28j60::new(spi.clone(), &mut d, Config::new(EthernetAddress(MAC)));
    assert!(matches!(r, Err(Error::ClockNotReady)));
    d.done();
    spi.done();
}

fn test_frame(len: usize) -> Vec<u8> {
    let mut f: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
    f[..6].copy_from_slice(&[0xFF; 6]);
    f
}

/// Receive header: next packet pointer, byte count (FCS included), status
/// bits 16..=31. Status 0x02C0: Received OK (bit 23), length out of range
/// (bit 22: an EtherType, not a length), broadcast (bit 25).
fn header(next: u16, byte_count: u16, status: u16) -> Vec<u8> {
    let mut h = next.to_le_bytes().to_vec();
    h.extend(byte_count.to_le_bytes());
    h.extend(status.to_le_bytes());
    h
}
const STATUS_OK: u16 = 0x02C0;

/// Reading one frame, from bank 3 (after init): EIR, EPKTCNT (bank 1),
/// ERDPT (bank 0), the header, the frame, ERXRDPT, PKTDEC.
fn read_frame_script(from_bank3: bool, at: u16, next: u16, frame: &[u8], erxrdpt: u16) -> Script {
    let count = frame.len() as u16 + 4;
    let [at_lo, at_hi] = at.to_le_bytes();
    let [rd_lo, rd_hi] = erxrdpt.to_le_bytes();
    cat(vec![
        rcr(0x1C, 0x40), // EIR: PKTIF, no RXERIF
        if from_bank3 {
            cat(vec![bfc(0x1F, 0x03), bfs(0x1F, 0x01)])
        } else {
            bfs(0x1F, 0x01)
        },
        rcr(0x19, 1),     // EPKTCNT
        bfc(0x1F, 0x03),  // bank 0
        wcr(0x00, at_lo), // ERDPTL
        wcr(0x01, at_hi), // ERDPTH
        rbm(&header(next, count, STATUS_OK)),
        rbm(frame),
        wcr(0x0C, rd_lo), // ERXRDPTL first
        wcr(0x0D, rd_hi), // then ERXRDPTH
        bfs(0x1E, 0x40),  // ECON2: PKTDEC
    ])
}

fn receive_one(drv: &mut Enc28j60<Mock<u8>>) -> Option<Vec<u8>> {
    let (rx, _tx) = drv.receive(Instant::ZERO)?;
    Some(rx.consume(|f| f.to_vec()))
}

#[test]
fn read_a_frame_exact_transactions() {
    let (mut drv, mut spi) = ready();
    let frame = test_frame(60);
    // 6 header bytes + 64 (frame and FCS) = 70: the next packet is at 0x46,
    // and ERXRDPT goes to 0x45 (odd).
    spi.update_expectations(&read_frame_script(true, 0x0000, 0x0046, &frame, 0x0045));
    assert_eq!(receive_one(&mut drv), Some(frame));
    assert_eq!(drv.next_packet, 0x0046);
    assert_eq!(drv.stats().rx_frames, 1);
    spi.done();
}

#[test]
fn read_frames_across_the_end_of_the_ring() {
    let (mut drv, mut spi) = ready();
    // A packet ending exactly at the end of the ring: the next one starts at
    // ERXST (0), so ERXRDPT wraps to ERXND (0x19FF), never 0xFFFF or even.
    drv.next_packet = 0x19BA;
    let a = test_frame(60); // 0x19BA + 70 = 0x1A00 -> 0x0000
                            // A packet that wraps: 0x0000 is not special for the next one.
    let b = test_frame(100); // 0x0000 + 6 + 104 = 0x6E
    spi.update_expectations(&cat(vec![
        read_frame_script(true, 0x19BA, 0x0000, &a, 0x19FF),
        read_frame_script(false, 0x0000, 0x006E, &b, 0x006D),
    ]));
    assert_eq!(receive_one(&mut drv), Some(a));
    assert_eq!(receive_one(&mut drv), Some(b));
    spi.done();

    // And one that straddles the end: starts at 0x19D0, 6 + 64 bytes,
    // continues at the start of the ring (the chip's read pointer wraps by
    // itself), next packet at 0x0016, ERXRDPT 0x0015.
    let (mut drv, mut spi) = ready();
    drv.next_packet = 0x19D0;
    let c = test_frame(60);
    spi.update_expectations(&read_frame_script(true, 0x19D0, 0x0016, &c, 0x0015));
    assert_eq!(receive_one(&mut drv), Some(c));
    spi.done();
}

#[test]
fn erxrdpt_is_always_odd_and_inside_the_ring() {
    for next in (RX_START..=RX_END).step_by(2) {
        let v = erxrdpt_for(next);
        assert_eq!(v & 1, 1, "next {next:#x} -> {v:#x}");
        assert!((RX_START..=RX_END).contains(&v));
    }
    assert_eq!(erxrdpt_for(0), RX_END);
    assert_eq!(erxrdpt_for(2), 1);
}

#[test]
fn nothing_waiting() {
    let (mut drv, mut spi) = ready();
    spi.update_expectations(&cat(vec![
        rcr(0x1C, 0x00),
        bfc(0x1F, 0x03),
        bfs(0x1F, 0x01),
        rcr(0x19, 0), // EPKTCNT = 0: PKTIF is not trusted (errata)
    ]));
    assert!(receive_one(&mut drv).is_none());
    spi.done();
}

#[test]
fn bad_status_vector_is_skipped_and_freed() {
    let (mut drv, mut spi) = ready();
    // CRC error (bit 20), no Received OK: the frame is not read, its space
    // is freed, and the next EPKTCNT read finds nothing more.
    spi.update_expectations(&cat(vec![
        rcr(0x1C, 0x40),
        bfc(0x1F, 0x03),
        bfs(0x1F, 0x01),
        rcr(0x19, 1),
        bfc(0x1F, 0x03),
        wcr(0x00, 0x00),
        wcr(0x01, 0x00),
        rbm(&header(0x0046, 64, 0x0010)),
        wcr(0x0C, 0x45),
        wcr(0x0D, 0x00),
        bfs(0x1E, 0x40),
        bfs(0x1F, 0x01),
        rcr(0x19, 0),
    ]));
    assert!(receive_one(&mut drv).is_none());
    assert_eq!(drv.stats().rx_bad, 1);
    assert_eq!(drv.next_packet, 0x0046);
    spi.done();
}

/// The receive-logic reset after an impossible header, from bank 0.
fn reset_rx_script(epktcnt: u8) -> Script {
    let mut s = cat(vec![
        bfc(0x1F, 0x04), // RXEN off
        bfs(0x1F, 0x40), // RXRST
        bfc(0x1F, 0x40),
        wcr(0x08, 0x00), // ERXST
        wcr(0x09, 0x00),
        wcr(0x0A, 0xFF), // ERXND
        wcr(0x0B, 0x19),
        wcr(0x0C, 0xFF), // ERXRDPT = ERXND (odd)
        wcr(0x0D, 0x19),
        bfs(0x1F, 0x01), // bank 1
        rcr(0x19, epktcnt),
    ]);
    for _ in 0..epktcnt {
        s.extend(bfs(0x1E, 0x40)); // PKTDEC
    }
    s.extend(bfc(0x1C, 0x01)); // EIR: RXERIF
    s.extend(bfs(0x1F, 0x04)); // RXEN on
    s
}

fn corrupt_header_resets(hdr: Vec<u8>) {
    let (mut drv, mut spi) = ready();
    drv.next_packet = 0x0100;
    spi.update_expectations(&cat(vec![
        rcr(0x1C, 0x40),
        bfc(0x1F, 0x03),
        bfs(0x1F, 0x01),
        rcr(0x19, 2),
        bfc(0x1F, 0x03),
        wcr(0x00, 0x00),
        wcr(0x01, 0x01),
        rbm(&hdr),
        reset_rx_script(2),
    ]));
    assert!(receive_one(&mut drv).is_none());
    assert_eq!(drv.next_packet, RX_START);
    assert_eq!(drv.stats().rx_resets, 1);
    assert_eq!(drv.stats().rx_frames, 0);
    spi.done();
}

#[test]
fn next_pointer_out_of_range_resets_the_receive_logic() {
    // Past ERXND (0x19FF).
    corrupt_header_resets(header(0x1A40, 64, STATUS_OK));
}

#[test]
fn next_pointer_inconsistent_with_length_resets_the_receive_logic() {
    // Odd, and not 0x0100 + 70.
    corrupt_header_resets(header(0x0147, 64, STATUS_OK));
    // Even and in range, but not where a 64-byte packet ends.
    corrupt_header_resets(header(0x0200, 64, STATUS_OK));
}

#[test]
fn impossible_status_vector_resets_the_receive_logic() {
    // Bit 31 is always zero.
    corrupt_header_resets(header(0x0146, 64, STATUS_OK | 0x8000));
    // Longer than MAMXFL allows.
    corrupt_header_resets(header(0x0100 + 6 + 1520, 1520, STATUS_OK));
}

#[test]
fn overflow_flag_is_counted_and_cleared() {
    let (mut drv, mut spi) = ready();
    let frame = test_frame(60);
    spi.update_expectations(&cat(vec![
        rcr(0x1C, 0x41), // EIR: PKTIF | RXERIF (a frame was lost)
        bfc(0x1C, 0x01), // clear RXERIF
        bfc(0x1F, 0x03),
        bfs(0x1F, 0x01),
        rcr(0x19, 255), // EPKTCNT saturated
        bfc(0x1F, 0x03),
        wcr(0x00, 0x00),
        wcr(0x01, 0x00),
        rbm(&header(0x0046, 64, STATUS_OK)),
        rbm(&frame),
        wcr(0x0C, 0x45),
        wcr(0x0D, 0x00),
        bfs(0x1E, 0x40),
    ]));
    // What is in the ring is still good and is read as usual.
    assert_eq!(receive_one(&mut drv), Some(frame));
    assert_eq!(drv.stats().rx_overflows, 1);
    spi.done();
}

/// Sending a frame of `len` bytes from bank `from` (3 after init, 0 after
/// a receive): wait for TXRTS to clear, EWRPT, WBM with the control byte,
/// ETXND, transmit-logic reset (errata item 12), TXRTS.
fn send_script(frame: &[u8], econ1_busy_reads: usize, from_bank3: bool) -> Script {
    let end = TX_START + frame.len() as u16;
    let mut s = Vec::new();
    for _ in 0..econ1_busy_reads {
        s.extend(rcr(0x1F, 0x0B)); // TXRTS still set (bank bits 3)
    }
    if econ1_busy_reads >= TX_WAIT_POLLS {
        s.extend(bfc(0x1F, 0x08)); // cancel the stuck transmission
    } else {
        s.extend(rcr(0x1F, 0x03)); // TXRTS clear
    }
    if from_bank3 {
        s.extend(bfc(0x1F, 0x03)); // bank 0
    }
    s.extend(cat(vec![
        wcr(0x02, 0x00), // EWRPT = 0x1A00
        wcr(0x03, 0x1A),
        vec![
            T::transaction_start(),
            T::write_vec(vec![0x7A, 0x00]), // WBM, control byte 0
            T::write_vec(frame.to_vec()),
            T::transaction_end(),
        ],
        wcr(0x06, end.to_le_bytes()[0]), // ETXND = last byte
        wcr(0x07, end.to_le_bytes()[1]),
        bfs(0x1F, 0x80), // TXRST
        bfc(0x1F, 0x80),
        bfc(0x1C, 0x0A), // EIR: TXERIF | TXIF
        bfs(0x1F, 0x08), // TXRTS
    ]));
    s
}

fn send(drv: &mut Enc28j60<Mock<u8>>, frame: &[u8]) {
    let tx = drv.transmit(Instant::ZERO).unwrap();
    tx.consume(frame.len(), |buf| buf.copy_from_slice(frame));
}

#[test]
fn send_a_frame_exact_transactions() {
    let (mut drv, mut spi) = ready();
    let frame = test_frame(42);
    spi.update_expectations(&send_script(&frame, 0, true));
    send(&mut drv, &frame);
    assert_eq!(drv.stats().tx_frames, 1);
    spi.done();
}

#[test]
fn send_waits_for_the_previous_frame() {
    let (mut drv, mut spi) = ready();
    let frame = test_frame(1514);
    spi.update_expectations(&send_script(&frame, 3, true));
    send(&mut drv, &frame);
    assert_eq!(drv.stats().tx_stalls, 0);
    spi.done();
}

#[test]
fn stalled_transmission_is_cancelled() {
    let (mut drv, mut spi) = ready();
    let frame = test_frame(60);
    spi.update_expectations(&send_script(&frame, TX_WAIT_POLLS, true));
    send(&mut drv, &frame);
    assert_eq!(drv.stats().tx_stalls, 1);
    assert_eq!(drv.stats().tx_frames, 1);
    spi.done();
}

#[test]
fn oversized_frame_is_not_sent() {
    let (mut drv, mut spi) = ready();
    spi.update_expectations(&[]);
    let tx = drv.transmit(Instant::ZERO).unwrap();
    let got = tx.consume(MAX_FRAME + 1, |buf| buf.len());
    assert_eq!(got, MAX_FRAME);
    assert_eq!(drv.stats().tx_too_long, 1);
    assert_eq!(drv.stats().tx_frames, 0);
    spi.done();
}

#[test]
fn reply_from_the_receive_token() {
    // The interface answers while it still holds the received frame.
    let (mut drv, mut spi) = ready();
    let frame = test_frame(60);
    let reply = test_frame(42);
    spi.update_expectations(&cat(vec![
        read_frame_script(true, 0x0000, 0x0046, &frame, 0x0045),
        send_script(&reply, 0, false),
    ]));
    let (rx, tx) = drv.receive(Instant::ZERO).unwrap();
    rx.consume(|f| {
        assert_eq!(f, &frame[..]);
        tx.consume(reply.len(), |buf| buf.copy_from_slice(&reply));
    });
    spi.done();
}

#[test]
fn link_status_reads_phstat2() {
    let (mut drv, mut spi) = ready();
    spi.update_expectations(&cat(vec![
        bfc(0x1F, 0x03), // bank 2
        bfs(0x1F, 0x02),
        wcr(0x14, 0x11), // MIREGADR = PHSTAT2
        wcr(0x12, 0x01), // MICMD = MIIRD
        bfc(0x1F, 0x03), // bank 3
        bfs(0x1F, 0x03),
        rcr_mac(0x0A, 0x00), // MISTAT: done
        bfc(0x1F, 0x03),     // bank 2
        bfs(0x1F, 0x02),
        wcr(0x12, 0x00),     // MICMD = 0
        rcr_mac(0x18, 0x00), // MIRDL
        rcr_mac(0x19, 0x04), // MIRDH: LSTAT (bit 10)
    ]));
    assert_eq!(drv.link_up(), Ok(true));
    spi.done();
}

/// An SPI device that fails its `fail_at`-th transaction (0-based), passing
/// the others to the mock.
struct FailingSpi {
    inner: Mock<u8>,
    count: usize,
    fail_at: usize,
}

impl ErrorType for FailingSpi {
    type Error = ErrorKind;
}

impl SpiDevice for FailingSpi {
    fn transaction(&mut self, ops: &mut [Operation<'_, u8>]) -> Result<(), ErrorKind> {
        let n = self.count;
        self.count += 1;
        if n == self.fail_at {
            return Err(ErrorKind::Other);
        }
        self.inner.transaction(ops)
    }
}

#[test]
fn spi_error_is_counted_and_the_bank_reselected() {
    let script = init_half();
    let init_len = script.len() / 3; // every init step is start, op, end
    let mut mock = Mock::new(&script);
    let spi = FailingSpi {
        inner: mock.clone(),
        count: 0,
        // The EPKTCNT read of the first receive: after the EIR read and
        // the switch to bank 1 (BFC, BFS).
        fail_at: init_len + 3,
    };
    let mut d = delay();
    let mut drv = Enc28j60::new(spi, &mut d, Config::new(EthernetAddress(MAC))).unwrap();
    d.done();
    mock.update_expectations(&cat(vec![
        rcr(0x1C, 0x00),
        bfc(0x1F, 0x03),
        bfs(0x1F, 0x01),
        // (EPKTCNT read fails here)
        // Next call: the bank is unknown, so it is selected from scratch.
        rcr(0x1C, 0x00),
        bfc(0x1F, 0x03),
        bfs(0x1F, 0x01),
        rcr(0x19, 0),
    ]));
    assert!(drv.receive(Instant::ZERO).is_none());
    assert_eq!(drv.stats().spi_errors, 1);
    assert!(drv.receive(Instant::ZERO).is_none());
    assert_eq!(drv.stats().spi_errors, 1);
    mock.done();
}

// ---------------------------------------------------------------------------
// Against the behavioural model of the chip.

mod against_model {
    use super::super::model::Chip;
    use super::*;
    use embedded_hal_mock::eh1::delay::NoopDelay;
    use rtcp_core::iface::{Interface, InterfaceConfig};
    use rtcp_core::phy::{Device, DeviceCapabilities, RxToken, TxToken};
    use rtcp_core::socket_set::{SocketSet, SocketSlot};
    use rtcp_core::tcp::Endpoint;
    use rtcp_core::wire::{Ipv4Address, Ipv4Cidr};
    use std::collections::VecDeque;

    fn driver() -> (Enc28j60<Chip>, Chip) {
        let chip = Chip::new();
        let drv = Enc28j60::new(
            chip.clone(),
            &mut NoopDelay::new(),
            Config::new(EthernetAddress(MAC)),
        )
        .unwrap();
        (drv, chip)
    }

    #[test]
    fn frames_come_back_in_order_across_many_wraps() {
        let (mut drv, chip) = driver();
        assert_eq!(drv.link_up(), Ok(true));
        let mut sent = 0u32;
        let mut got = 0u32;
        // Odd and even lengths, up to full size: about 60 trips round the
        // 6.5 KiB ring.
        while sent < 600 {
            for _ in 0..3 {
                let len = 60 + (sent as usize * 37) % 1455;
                chip.0.borrow_mut().deliver(&frame(sent, len));
                sent += 1;
            }
            while let Some(f) = receive_one_any(&mut drv) {
                let len = 60 + (got as usize * 37) % 1455;
                assert_eq!(f, frame(got, len), "frame {got}");
                got += 1;
            }
        }
        assert_eq!(got, sent);
        assert_eq!(drv.stats().rx_frames, sent);
        assert_eq!(drv.stats().rx_resets, 0);
    }

    #[test]
    fn overflow_drops_new_frames_and_keeps_the_ring_intact() {
        let (mut drv, chip) = driver();
        // Five full frames fit in 6.5 KiB; the rest are refused by the chip.
        for n in 0..8 {
            chip.0.borrow_mut().deliver(&frame(n, 1514));
        }
        let lost = chip.0.borrow().overflows;
        assert_eq!(lost, 4);
        let mut got = Vec::new();
        while let Some(f) = receive_one_any(&mut drv) {
            got.push(u32::from_be_bytes([f[0], f[1], f[2], f[3]]));
        }
        assert_eq!(got, [0, 1, 2, 3]);
        assert_eq!(drv.stats().rx_overflows, 1);
        // Space is free again: reception carries on.
        chip.0.borrow_mut().deliver(&frame(99, 100));
        assert_eq!(receive_one_any(&mut drv), Some(frame(99, 100)));
    }

    fn frame(n: u32, len: usize) -> Vec<u8> {
        let mut f: Vec<u8> = (0..len).map(|i| (i as u32 ^ n) as u8).collect();
        f[..4].copy_from_slice(&n.to_be_bytes());
        f
    }

    fn receive_one_any<D: Device>(d: &mut D) -> Option<Vec<u8>> {
        let (rx, _tx) = d.receive(Instant::ZERO)?;
        Some(rx.consume(|f| f.to_vec()))
    }

    /// The peer's device: frames in and out as vectors.
    #[derive(Default)]
    struct Wire {
        rx: VecDeque<Vec<u8>>,
        tx: Vec<Vec<u8>>,
    }
    struct WRx(Vec<u8>);
    struct WTx<'a>(&'a mut Vec<Vec<u8>>);
    impl RxToken for WRx {
        fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
            f(&self.0)
        }
    }
    impl TxToken for WTx<'_> {
        fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
            let mut b = vec![0; len];
            let r = f(&mut b);
            self.0.push(b);
            r
        }
    }
    impl Device for Wire {
        type RxToken<'a> = WRx;
        type TxToken<'a> = WTx<'a>;
        fn receive(&mut self, _: Instant) -> Option<(WRx, WTx<'_>)> {
            let f = self.rx.pop_front()?;
            Some((WRx(f), WTx(&mut self.tx)))
        }
        fn transmit(&mut self, _: Instant) -> Option<WTx<'_>> {
            Some(WTx(&mut self.tx))
        }
        fn capabilities(&self) -> DeviceCapabilities {
            DeviceCapabilities::default()
        }
    }

    fn cfg(mac: [u8; 6], last: u8) -> InterfaceConfig {
        InterfaceConfig {
            mac: EthernetAddress(mac),
            ip: Ipv4Cidr::new(Ipv4Address::new(192, 168, 7, last), 24),
            gateway: None,
        }
    }

    /// rtcp over the driver over the chip model, against a second stack:
    /// the peer sends 200 KiB to an echo service on the "board" and checks
    /// what comes back. Virtual time; the clock jumps to the next deadline
    /// when both sides are idle.
    #[test]
    fn tcp_echo_through_the_chip_model() {
        const TOTAL: usize = 200 * 1024;
        let (mut nic, chip) = driver();
        // Two slots: the listener and the connection it accepts.
        let (mut a_rx, mut a_tx) = ([[0u8; 4096]; 2], [[0u8; 4096]; 2]);
        let ([a_rx0, a_rx1], [a_tx0, a_tx1]) = (&mut a_rx, &mut a_tx);
        let mut a_slots = [
            SocketSlot::new(&mut a_rx0[..], &mut a_tx0[..]),
            SocketSlot::new(&mut a_rx1[..], &mut a_tx1[..]),
        ];
        let mut a_sockets = SocketSet::new(&mut a_slots[..], [3; 16]);
        let mut a_iface = Interface::new(cfg(MAC, 1));
        let listener = a_sockets.open().unwrap();
        a_sockets
            .listen(listener, Endpoint::new(Ipv4Address::UNSPECIFIED, 7), 1)
            .unwrap();

        let (mut b_rx, mut b_tx) = ([0u8; 8192], [0u8; 8192]);
        let mut b_slots = [SocketSlot::new(&mut b_rx[..], &mut b_tx[..])];
        let mut b_sockets = SocketSet::new(&mut b_slots[..], [4; 16]);
        let mut b_iface = Interface::new(cfg([0x02, 0, 0, 0, 0, 2], 2));
        let mut wire = Wire::default();
        let b = b_sockets.open().unwrap();
        b_sockets
            .connect(
                Instant::ZERO,
                b,
                Endpoint::new(cfg(MAC, 2).ip.address, 0),
                Endpoint::new(cfg(MAC, 1).ip.address, 7),
            )
            .unwrap();

        let data: Vec<u8> = (0..TOTAL as u32)
            .map(|i| (i * 31 + i / 251) as u8)
            .collect();
        let (mut sent, mut echoed) = (0usize, Vec::with_capacity(TOTAL));
        let mut conn = None;
        let mut now = Instant::ZERO;
        let mut rounds = 0;
        while echoed.len() < TOTAL {
            rounds += 1;
            assert!(
                rounds < 200_000,
                "stuck: sent {sent}, echoed {}",
                echoed.len()
            );
            let mut active = a_iface.poll(now, &mut nic, &mut a_sockets);
            // The echo service on the board.
            if conn.is_none() {
                conn = a_sockets.accept(listener).ok();
            }
            if let Some(h) = conn {
                let mut buf = [0u8; 1024];
                let room = a_sockets
                    .get(h)
                    .map_or(0, |s| s.send_capacity() - s.send_queue());
                let want = room.min(buf.len());
                if want > 0 {
                    if let Ok(n) = a_sockets.recv(h, &mut buf[..want]) {
                        assert_eq!(a_sockets.send(h, &buf[..n]), Ok(n));
                        active |= n > 0;
                    }
                }
            }
            // Chip to peer.
            let out: Vec<_> = chip.0.borrow_mut().wire_out.drain(..).collect();
            active |= !out.is_empty();
            wire.rx.extend(out);
            // The peer.
            if sent < TOTAL {
                if let Ok(n) = b_sockets.send(b, &data[sent..]) {
                    sent += n;
                    active |= n > 0;
                }
            }
            let mut buf = [0u8; 4096];
            while let Ok(n) = b_sockets.recv(b, &mut buf) {
                if n == 0 {
                    break;
                }
                echoed.extend_from_slice(&buf[..n]);
                active = true;
            }
            active |= b_iface.poll(now, &mut wire, &mut b_sockets);
            // Peer to chip.
            for f in wire.tx.drain(..) {
                chip.0.borrow_mut().deliver(&f);
                active = true;
            }
            if !active {
                let next = [a_iface.poll_at(&a_sockets), b_iface.poll_at(&b_sockets)]
                    .into_iter()
                    .flatten()
                    .min()
                    .unwrap_or(Instant::MAX)
                    .max(Instant::from_micros(now.total_micros() + 1));
                assert!(
                    next < Instant::from_secs(600),
                    "stalled at {now:?}: sent {sent}, echoed {}, nic {:?}, a {:?}, b {:?}, b state {:?}",
                    echoed.len(),
                    nic.stats(),
                    a_iface.stats(),
                    b_iface.stats(),
                    b_sockets.get(b).map(|s| s.state())
                );
                now = next;
            }
        }
        assert!(echoed == data, "echo differs");
        let s = nic.stats();
        std::println!(
            "chip model: {s:?}, virtual time {now:?}, overflows {}",
            chip.0.borrow().overflows
        );
        assert_eq!(s.rx_resets, 0);
        assert_eq!(s.rx_bad, 0);
        // At least one full segment per 1460 bytes came through the 6.5 KiB
        // ring: it wrapped about 30 times.
        assert!(s.rx_frames as usize >= TOTAL / 1460);
    }
}
