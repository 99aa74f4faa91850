//! TCP segmentation offload through the simulator: the sending host's
//! device advertises TSO and cuts every super-segment into MTU-sized frames
//! (`rtcp_tests::sim::segment_tcp`), as a NIC or the Linux kernel below a
//! raw socket would. Every frame on the wire is checked against the MTU
//! and, independently of rtcp's own parser, with etherparse (IPv4 header
//! and TCP checksums); the receiver checks every byte in order.
// Written for the default features (SACK recovery, CUBIC and BBR, TSO):
// built only with them.
#![cfg(feature = "full")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use etherparse as ep;
use rtcp_core::tcp::congestion::CongestionAlgorithm;
use rtcp_core::tcp::TcpConfig;
use rtcp_core::time::Duration;
use rtcp_tests::apps::{listen_and_connect, Sender, Stream, Transfer};
use rtcp_tests::sim::{for_seeds, segment_tcp, Fault, HostConfig, LinkConfig, Sim};
use std::cell::RefCell;
use std::rc::Rc;

const MTU: usize = 1500;

/// What the wire carried from the sender.
#[derive(Debug, Default)]
struct Wire {
    frames: u64,
    largest_ip: usize,
    bad: Vec<String>,
}

/// Checks one frame as a receiver's NIC and IP layer would: within the
/// MTU, IPv4 header checksum right, TCP checksum right.
fn check_frame(frame: &[u8], wire: &mut Wire) {
    wire.frames += 1;
    let ip_len = frame.len().saturating_sub(14);
    wire.largest_ip = wire.largest_ip.max(ip_len);
    if ip_len > MTU {
        wire.bad.push(format!("{ip_len}-byte IP packet"));
    }
    let Ok(packet) = ep::SlicedPacket::from_ethernet(frame) else {
        return;
    };
    let Some(ep::NetSlice::Ipv4(ip)) = packet.net else {
        return;
    };
    let header = ip.header().to_header();
    if header.calc_header_checksum() != header.header_checksum {
        wire.bad
            .push(format!("IPv4 checksum of ident {}", header.identification));
    }
    if usize::from(header.total_len) != ip_len {
        wire.bad.push(format!(
            "IPv4 length {} in a {ip_len}-byte packet",
            header.total_len
        ));
    }
    if let Some(ep::TransportSlice::Tcp(tcp)) = packet.transport {
        let expected = tcp
            .to_header()
            .calc_checksum_ipv4_raw(header.source, header.destination, tcp.payload())
            .unwrap();
        if expected != tcp.checksum() {
            wire.bad
                .push(format!("TCP checksum at seq {}", tcp.sequence_number()));
        }
    }
}

/// Host 0 (TSO, `tso` bytes) sends `len` bytes to host 1 over `link`.
/// Returns the simulator and what the wire carried from host 0.
fn transfer(seed: u64, link: LinkConfig, tso: usize, len: usize) -> (Sim, Wire) {
    transfer_with(seed, link, TcpConfig::default(), tso, len)
}

/// `transfer`, with socket defaults `tcp`.
fn transfer_with(
    seed: u64,
    link: LinkConfig,
    tcp: TcpConfig,
    tso: usize,
    len: usize,
) -> (Sim, Wire) {
    let setup = Setup {
        tso,
        ..Setup::default()
    };
    let (sim, wire, _) = transfer_setup(seed, link, tcp, setup, len);
    (sim, wire)
}

/// How host 0 sends, beyond the link and the socket defaults.
#[derive(Debug, Clone, Copy)]
struct Setup {
    /// The device's TSO limit (0: none).
    tso: usize,
    /// `Interface::set_software_segmentation`.
    soft: bool,
    /// Frames the device holds before refusing more (0: no limit).
    tx_limit: usize,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            tso: 0,
            soft: true,
            tx_limit: 0,
        }
    }
}

/// `transfer_with`, set up by `setup`; also returns the virtual time and
/// TCP segment (header and payload) of every frame host 0 sent: what
/// the wire carried, IPv4 header aside (its identification counts
/// super-segments on a TSO device, segments otherwise).
#[allow(clippy::type_complexity)]
fn transfer_setup(
    seed: u64,
    link: LinkConfig,
    tcp: TcpConfig,
    setup: Setup,
    len: usize,
) -> (Sim, Wire, Vec<(u64, Vec<u8>)>) {
    let cfg = HostConfig {
        rx_buffer: 256 * 1024,
        tx_buffer: 256 * 1024,
        mtu: MTU,
        link,
        tcp,
        ..HostConfig::default()
    };
    let mut sim = Sim::new(seed, &[cfg, cfg]);
    sim.hosts[0].device.tso_max_size = setup.tso;
    sim.hosts[0].device.tx_limit = setup.tx_limit;
    sim.hosts[0].iface.set_software_segmentation(setup.soft);
    let wire = Rc::new(RefCell::new(Wire::default()));
    let segments = Rc::new(RefCell::new(Vec::new()));
    let (seen, kept) = (Rc::clone(&wire), Rc::clone(&segments));
    sim.set_fault(move |from, frame, now| {
        if from == 0 {
            check_frame(frame, &mut seen.borrow_mut());
            // TCP over IPv4 only (not the ARP exchange).
            if frame[12..14] == [0x08, 0x00] && frame[23] == 6 {
                let ihl = usize::from(frame[14] & 0x0f) * 4;
                kept.borrow_mut()
                    .push((now.total_micros(), frame[14 + ihl..].to_vec()));
            }
        }
        Fault::Pass
    });
    let (listener, client) = listen_and_connect(&mut sim, 1, 0, 80);
    let stream = Stream::new(seed, len);
    let mut transfer = Transfer::new(Sender::new(0, client), 1, listener);
    let ok = sim.run_sliced(Duration::from_secs(600), |sim| {
        transfer.step(sim, stream.bytes()).is_some_and(|r| r.eof)
    });
    let r = transfer.receiver.expect("never accepted");
    assert!(
        ok,
        "seed {seed}: timed out at {} of {len} bytes",
        r.received
    );
    assert_eq!(r.received, len, "seed {seed}");
    let wire = std::mem::take(&mut *wire.borrow_mut());
    assert!(wire.bad.is_empty(), "seed {seed}: {:?}", wire.bad);
    let segments = std::mem::take(&mut *segments.borrow_mut());
    (sim, wire, segments)
}

/// On a clean link, nearly all data leaves as super-segments: far fewer
/// hand-overs to the device than frames on the wire, none of which exceeds
/// the MTU.
#[test]
fn tso_clean_transfer_sends_super_segments() {
    let (sim, wire) = transfer(1, LinkConfig::default(), 65535, 4 << 20);
    let dev = &sim.hosts[0].device;
    let tcp = sim.hosts[0].sockets.stats();
    let iface = sim.hosts[0].iface.stats();
    assert!(dev.super_frames > 0, "no super-segment");
    assert_eq!(tcp.segments_offloaded, dev.super_frames);
    assert_eq!(iface.tx_segmented, dev.super_frames);
    assert_eq!(tcp.retransmissions, 0);
    assert!(wire.largest_ip <= MTU);
    assert_eq!(wire.largest_ip, MTU, "full-sized pieces");
    // 4 MiB is about 2900 full segments; with TSO the stack handed the
    // device a small fraction of that many frames.
    assert!(
        tcp.segments_sent * 4 < wire.frames,
        "{} hand-overs for {} frames",
        tcp.segments_sent,
        wire.frames
    );
}

/// The same transfer without TSO and without software segmentation hands
/// over one frame per segment.
#[test]
fn without_tso_no_super_segments() {
    let setup = Setup {
        soft: false,
        ..Setup::default()
    };
    let tcp = TcpConfig::default();
    let (sim, wire, segments) = transfer_setup(1, LinkConfig::default(), tcp, setup, 1 << 20);
    assert_eq!(sim.hosts[0].device.super_frames, 0);
    assert_eq!(sim.hosts[0].sockets.stats().segments_offloaded, 0);
    assert_eq!(sim.hosts[0].iface.stats().tx_soft_segmented, 0);
    assert_eq!(sim.hosts[0].iface.stats().tx_frames, wire.frames);
    assert_eq!(
        sim.hosts[0].sockets.stats().segments_sent,
        segments.len() as u64,
        "one segment planned per TCP frame"
    );
}

/// Software segmentation (the default on a device without TSO): the
/// interface cuts the connection's super-segments itself, and the wire
/// carries exactly what it carries with a TSO device cutting them, and
/// what it carries when every segment is planned on its own: the same TCP
/// segments, byte for byte, at the same virtual times.
#[test]
fn software_segmentation_sends_what_tso_and_single_segments_send() {
    let tcp = TcpConfig::default();
    let link = LinkConfig::default();
    let run = |setup| transfer_setup(3, link, tcp, setup, 1 << 20);
    let (soft_sim, _, soft) = run(Setup::default());
    let (tso_sim, _, tso) = run(Setup {
        tso: 65535,
        soft: false,
        ..Setup::default()
    });
    let (_, _, single) = run(Setup {
        soft: false,
        ..Setup::default()
    });
    let iface = soft_sim.hosts[0].iface.stats();
    let tcp_stats = soft_sim.hosts[0].sockets.stats();
    assert_eq!(soft_sim.hosts[0].device.super_frames, 0);
    assert!(iface.tx_soft_segmented > 0, "{iface:?}");
    assert_eq!(tcp_stats.segments_offloaded, iface.tx_soft_segmented);
    assert!(
        tcp_stats.segments_sent * 3 < iface.tx_frames,
        "bursts planned as super-segments: {tcp_stats:?} {iface:?}"
    );
    assert_eq!(
        tcp_stats.segments_offloaded,
        tso_sim.hosts[0].sockets.stats().segments_offloaded
    );
    assert_eq!(soft.len(), tso.len());
    for (k, (a, b)) in soft.iter().zip(&tso).enumerate() {
        assert_eq!(a, b, "frame {k}: software segmentation vs TSO device");
    }
    assert_eq!(soft.len(), single.len());
    for (k, (a, b)) in soft.iter().zip(&single).enumerate() {
        assert_eq!(a, b, "frame {k}: software segmentation vs one at a time");
    }
}

/// A device that runs out of transmit buffers part way through a burst:
/// the pieces it took count as sent and the rest goes later, nothing is
/// sent twice and every byte arrives in order.
#[test]
fn software_segmentation_on_a_small_transmit_ring() {
    let setup = Setup {
        tx_limit: 3,
        ..Setup::default()
    };
    let (sim, wire, segments) = transfer_setup(
        4,
        LinkConfig::default(),
        TcpConfig::default(),
        setup,
        1 << 20,
    );
    let iface = sim.hosts[0].iface.stats();
    let tcp = sim.hosts[0].sockets.stats();
    assert!(iface.tx_soft_segmented > 0, "{iface:?}");
    assert!(iface.tx_exhausted > 0, "the ring never filled: {iface:?}");
    assert_eq!(tcp.retransmissions, 0, "{tcp:?}");
    // No sequence range left twice.
    let mut next = None;
    for (_, seg) in &segments {
        let seq = u32::from_be_bytes([seg[4], seg[5], seg[6], seg[7]]);
        let hlen = usize::from(seg[12] >> 4) * 4;
        let len = (seg.len() - hlen) as u32;
        if len > 0 {
            if let Some(n) = next {
                assert_eq!(seq, n, "a gap or a resend");
            }
            next = Some(seq.wrapping_add(len));
        }
    }
    assert!(wire.frames > 700, "{}", wire.frames);
}

/// A device that takes less than the window (a small TSO limit) still gets
/// super-segments within that limit.
#[test]
fn tso_respects_the_device_limit() {
    let (sim, wire) = transfer(2, LinkConfig::default(), 9000, 1 << 20);
    assert!(sim.hosts[0].device.super_frames > 0);
    assert!(wire.largest_ip <= MTU);
    // 9000 bytes take 6 segments of 1448 with headers (6 * 1448 + 52 = 8740).
    let tcp = sim.hosts[0].sockets.stats();
    assert!(tcp.segments_sent * 3 < wire.frames, "{tcp:?}");
}

/// Loss, duplication, reordering and corruption on both directions, many
/// seeds: every byte arrives in order, losses are repaired (SACK, RACK, the
/// RTO) with MSS-sized retransmissions that the wire check sees as whole,
/// correct frames, and super-segments keep being used.
#[test]
fn tso_lossy_reordering_transfers_complete() {
    let link = LinkConfig {
        loss_ppm: 20_000,
        duplicate_ppm: 5_000,
        reorder_ppm: 20_000,
        corrupt_ppm: 5_000,
        latency: Duration::from_millis(5),
        ..LinkConfig::default()
    };
    let mut retransmitted = 0;
    let mut recoveries = 0;
    for_seeds("tso_lossy_reordering_transfers_complete", 30, |seed| {
        let (sim, _) = transfer(seed, link, 65535, 512 * 1024);
        let tcp = sim.hosts[0].sockets.stats();
        assert!(sim.hosts[0].device.super_frames > 0, "seed {seed}");
        if sim.stats.lost > 0 {
            assert!(tcp.retransmissions > 0, "seed {seed}: losses, no repair");
        }
        retransmitted += tcp.retransmissions;
        recoveries += tcp.fast_retransmits;
    });
    assert!(retransmitted > 0 && recoveries > 0);
}

/// BBR paces: a super-segment holds about a millisecond of the pacing
/// rate (at least two segments), not up to 64 KiB, so that on a slow link
/// a burst does not sit in the bottleneck queue (Linux's
/// tcp_tso_autosize); and loss recovery works the same with TSO.
#[test]
fn tso_with_bbr_sizes_bursts_by_the_pacing_rate() {
    let tcp = TcpConfig {
        congestion: CongestionAlgorithm::Bbr,
        ..TcpConfig::default()
    };
    // 8 Mbit/s: 1 ms is 1 000 bytes, some 2 900 at BBR's startup gain,
    // so at most three segments per super-segment (the first flight, before
    // any rate is measured, is the 4 380-byte initial window: three too).
    let slow = LinkConfig {
        latency: Duration::from_millis(10),
        bandwidth_bps: 8_000_000,
        loss_ppm: 5_000,
        ..LinkConfig::default()
    };
    let (sim, _) = transfer_with(3, slow, tcp, 65535, 2 << 20);
    let dev = &sim.hosts[0].device;
    assert!(dev.super_frames > 100, "{}", dev.super_frames);
    assert!(sim.hosts[0].sockets.stats().retransmissions > 0);
    let headers = 14 + 20 + 32;
    assert!(
        dev.super_frame_max <= headers + 3 * 1448,
        "a {}-byte super-segment at 8 Mbit/s",
        dev.super_frame_max
    );
}

/// The simulator's segmenter itself: pieces of one super-segment carry
/// consecutive sequence numbers, FIN and PSH only on the last, CWR only on
/// the first, and correct checksums.
#[test]
fn segment_tcp_splits_like_a_nic() {
    use rtcp_core::wire::{
        ChecksumMode, EtherType, EthernetAddress, EthernetFrame, EthernetRepr, IpProtocol,
        Ipv4Address, Ipv4Packet, Ipv4Repr, SeqNumber, TcpFlags, TcpOptions, TcpPacket, TcpRepr,
    };
    let payload: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
    let (src, dst) = (Ipv4Address::new(10, 0, 0, 1), Ipv4Address::new(10, 0, 0, 2));
    let tcp = TcpRepr {
        src_port: 1,
        dst_port: 2,
        flags: TcpFlags::ACK | TcpFlags::PSH | TcpFlags::FIN | TcpFlags::CWR,
        seq_number: SeqNumber(u32::MAX - 100),
        ack_number: SeqNumber(7),
        window_len: 100,
        urgent_pointer: 0,
        options: TcpOptions::default(),
        payload: &payload,
    };
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        protocol: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        ttl: 64,
        dscp_ecn: 0,
        ident: 0xffff,
        dont_frag: true,
    };
    let mut frame = vec![0u8; 14 + 20 + tcp.buffer_len()];
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
    EthernetRepr {
        src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
        dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
        ethertype: EtherType::Ipv4,
    }
    .emit(&mut eth);
    let mut packet = Ipv4Packet::new_unchecked(eth.payload_mut());
    ip.emit(&mut packet, ChecksumMode::default());
    let mut seg = TcpPacket::new_unchecked(packet.payload_mut());
    tcp.emit(&mut seg, &src, &dst, ChecksumMode::default())
        .unwrap();

    let pieces = segment_tcp(&frame, 1000).unwrap();
    assert_eq!(pieces.len(), 3);
    let mut wire = Wire::default();
    for (i, piece) in pieces.iter().enumerate() {
        check_frame(piece, &mut wire);
        let ip = Ipv4Packet::new_checked(&piece[14..]).unwrap();
        assert_eq!(ip.ident(), 0xffffu16.wrapping_add(i as u16));
        let seg = TcpPacket::new_checked(ip.payload()).unwrap();
        assert_eq!(seg.seq_number(), SeqNumber(u32::MAX - 100) + i * 1000);
        assert_eq!(seg.payload(), &payload[i * 1000..(i + 1) * 1000]);
        let f = seg.flags();
        assert_eq!(f.fin() && f.psh(), i == 2, "piece {i}: {f:?}");
        assert_eq!(f.cwr(), i == 0, "piece {i}: {f:?}");
        assert!(f.ack());
    }
    assert!(wire.bad.is_empty(), "{:?}", wire.bad);
}
