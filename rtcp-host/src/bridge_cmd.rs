//! `bridge --a IF --b IF`: forward frames between two interfaces with
//! loss and delay on the data direction (see [`rtcp_host::bridge`]).

use crate::cli::{BridgeArgs, DataDirection};
use rtcp_host::backend::packet::{open_error, PacketBackend};
use rtcp_host::bridge::{Bridge, Directions};
use rtcp_host::link::{Faults, LinkStats};

fn line(name: &str, s: &LinkStats) -> String {
    format!(
        "{name}: {} frames in, {} out, {} lost, {} queue drops, {} send errors",
        s.rx_frames, s.tx_frames, s.lost, s.queue_drops, s.tx_errors
    )
}

pub fn run(a: BridgeArgs) -> Result<(), String> {
    let open = |name: &str| PacketBackend::open(name).map_err(|e| open_error(name, &e));
    let (pa, pb) = (open(&a.a)?, open(&a.b)?);
    let faults = Faults {
        delay: a.delay,
        loss_ppm: a.loss,
        // A deep queue: the delay line holds a whole window in flight.
        queue_limit: 100_000,
        ..Faults::default()
    };
    let (dirs, which) = match a.data_direction {
        DataDirection::AToB => (Directions::AToB, format!("{} -> {}", a.a, a.b)),
        DataDirection::BToA => (Directions::BToA, format!("{} -> {}", a.b, a.a)),
        DataDirection::Both => (Directions::Both, "both directions".to_string()),
    };
    println!(
        "rtcp-host bridge: {} <-> {}; {}% loss and {} us delay on {which} (seed {})",
        a.a,
        a.b,
        a.loss as f64 / 1e4,
        a.delay.total_micros(),
        a.seed
    );
    let stop = rtcp_host::sys::stop_on_signals();
    let mut bridge = Bridge::new(pa, pb, faults, dirs, a.seed);
    let result = bridge.run(stop);
    let s = bridge.stats();
    println!("{}", line(&format!("{} -> {}", a.a, a.b), &s.a_to_b));
    println!("{}", line(&format!("{} -> {}", a.b, a.a), &s.b_to_a));
    result.map_err(|e| format!("bridge stopped: {e}"))
}
