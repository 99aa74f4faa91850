//! ECN (RFC 3168) between two rtcp stacks in the simulator: a router on
//! the path marks Congestion Experienced instead of dropping, and the
//! sender slows down without losing or resending anything.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rtcp_core::tcp::{EcnMode, TcpConfig};
use rtcp_core::time::Duration;
use rtcp_core::wire::{EthernetFrame, Ipv4Packet, TcpPacket};
use rtcp_tests::apps::{listen_and_connect, Sender, Stream, Transfer};
use rtcp_tests::sim::{Fault, HostConfig, LinkConfig, Sim};
use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

/// What the fault script saw on the wire.
#[derive(Debug, Default)]
struct Seen {
    /// Sequence numbers of host 0's data segments, first transmissions.
    data: HashSet<u32>,
    /// Host 0's data segments sent Not-ECT.
    data_not_ect: usize,
    /// Host 0's data segments with CWR.
    cwr: usize,
    /// Host 1's segments with ECE.
    ece: usize,
    /// Host 1's segments without data sent ECT (pure ACKs must not be).
    ack_ect: usize,
}

/// (ECN field, TCP flags, sequence number, payload length) of a TCP frame.
fn tcp_of(frame: &[u8]) -> Option<(u8, u8, u32, usize)> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
    Some((
        ip.ecn(),
        tcp.flags().0,
        tcp.seq_number().0,
        tcp.payload().len(),
    ))
}

/// Send `len` bytes from host 0 (ECN mode `client`) to host 1 (rtcp's
/// default, passive), the path marking CE on host 0's data segments whose
/// first-transmission index `mark` picks.
fn transfer(client: EcnMode, len: usize, mark: impl Fn(usize) -> bool + 'static) -> (Sim, Seen) {
    let host = |ecn| HostConfig {
        rx_buffer: 256 * 1024,
        tx_buffer: 256 * 1024,
        tcp: TcpConfig {
            ecn,
            ..TcpConfig::default()
        },
        link: LinkConfig {
            latency: Duration::from_millis(5),
            bandwidth_bps: 100_000_000,
            ..LinkConfig::default()
        },
        ..HostConfig::default()
    };
    let mut sim = Sim::new(3, &[host(client), host(EcnMode::default())]);
    let seen = Rc::new(RefCell::new(Seen::default()));
    let s = seen.clone();
    sim.set_fault(move |from, frame, _| {
        let Some((ecn, flags, seq, payload)) = tcp_of(frame) else {
            return Fault::Pass;
        };
        let mut s = s.borrow_mut();
        if from == 1 {
            s.ece += usize::from(flags & 0x40 != 0);
            s.ack_ect += usize::from(payload == 0 && ecn != 0);
            return Fault::Pass;
        }
        if payload == 0 {
            return Fault::Pass;
        }
        s.data_not_ect += usize::from(ecn == 0);
        s.cwr += usize::from(flags & 0x80 != 0);
        let n = s.data.len();
        if s.data.insert(seq) && mark(n) {
            Fault::MarkCe
        } else {
            Fault::Pass
        }
    });
    let (listener, handle) = listen_and_connect(&mut sim, 1, 0, 80);
    let stream = Stream::new(5, len);
    let sender = Sender {
        close_when_done: false,
        ..Sender::new(0, handle)
    };
    let mut transfer = Transfer::new(sender, 1, listener);
    let ok = sim.run_until(Duration::from_secs(60), |sim| {
        transfer
            .step(sim, stream.bytes())
            .is_some_and(|r| r.received == len)
    });
    assert!(ok, "transfer did not finish");
    let seen = seen.take();
    (sim, seen)
}

/// A run of 30 consecutive CE marks inside one window: one reduction (one
/// CWR), ECE echoed until then, nothing lost or resent, every data segment
/// ECT(0) and no pure ACK ECT.
#[test]
#[cfg(feature = "ecn")]
fn ce_marks_in_one_window_reduce_once_without_loss() {
    let (sim, seen) = transfer(EcnMode::On, 2 << 20, |n| (200..230).contains(&n));
    let (_, sock) = sim.hosts[0]
        .sockets
        .iter()
        .next()
        .expect("host 0's connection");
    assert!(sock.negotiated_options().ecn);
    assert_eq!(sim.stats.ce_marked, 30);
    assert_eq!(sim.stats.lost + sim.stats.queue_drops, 0);
    assert_eq!(sim.hosts[0].sockets.stats().retransmissions, 0);
    assert_eq!(seen.data_not_ect, 0, "new data is always ECT(0)");
    assert_eq!(seen.ack_ect, 0, "pure ACKs are Not-ECT");
    assert_eq!(seen.cwr, 1, "one reduction for one window of marks");
    assert!(seen.ece >= 1);
    assert!(sock.ssthresh() < 1 << 20, "the window was reduced");
}

/// Marks spread over the whole transfer: several reductions, never more
/// than marks, still nothing resent.
#[test]
#[cfg(feature = "ecn")]
fn repeated_marks_keep_reducing_without_loss() {
    let (sim, seen) = transfer(EcnMode::On, 2 << 20, |n| n % 100 == 99);
    let marks = sim.stats.ce_marked as usize;
    assert!(marks >= 10);
    assert_eq!(sim.hosts[0].sockets.stats().retransmissions, 0);
    assert!(
        seen.cwr >= 2 && seen.cwr <= marks,
        "{} CWR for {marks} marks",
        seen.cwr
    );
}

/// Without ECN the same path cannot mark: everything is Not-ECT and
/// nothing is echoed.
#[test]
fn without_ecn_nothing_is_marked() {
    let (sim, seen) = transfer(EcnMode::Passive, 1 << 20, |n| (200..230).contains(&n));
    assert_eq!(sim.stats.ce_marked, 0);
    assert_eq!(seen.cwr + seen.ece, 0);
    assert!(seen.data_not_ect > 0);
}
