//! An in-process link: two [`SimBackend`]s joined back to back, for two
//! stacks in one process (no root, no real network).
//!
//! The link itself is perfect and instant: each side pushes frames into
//! the other side's queue and signals its eventfd. Latency, bandwidth,
//! queue limit, loss, duplication and reordering are the simulator's link
//! model (`tests/src/sim.rs`), applied by [`crate::link`] on each
//! sender's egress, in real time.

use super::Backend;
use crate::sys::EventFd;
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex};

/// Frames one side may have waiting before the link drops new ones.
const QUEUE_LIMIT: usize = 65_536;

#[derive(Debug)]
struct Queue {
    frames: Mutex<VecDeque<Vec<u8>>>,
    ready: EventFd,
}

/// One end of an in-process link.
#[derive(Debug)]
pub struct SimBackend {
    inbound: Arc<Queue>,
    outbound: Arc<Queue>,
    name: &'static str,
}

impl SimBackend {
    /// Two ends of a new link.
    pub fn pair() -> io::Result<(SimBackend, SimBackend)> {
        let a = Arc::new(Queue {
            frames: Mutex::new(VecDeque::new()),
            ready: EventFd::new()?,
        });
        let b = Arc::new(Queue {
            frames: Mutex::new(VecDeque::new()),
            ready: EventFd::new()?,
        });
        Ok((
            SimBackend {
                inbound: a.clone(),
                outbound: b.clone(),
                name: "a",
            },
            SimBackend {
                inbound: b,
                outbound: a,
                name: "b",
            },
        ))
    }
}

impl Backend for SimBackend {
    fn recv(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        let mut q = self
            .inbound
            .frames
            .lock()
            .map_err(|_| io::Error::other("sim link poisoned"))?;
        match q.pop_front() {
            Some(frame) => {
                *buf = frame;
                Ok(true)
            }
            None => {
                // Empty: reset the readiness signal under the lock, so a
                // frame pushed after this point signals afresh.
                self.inbound.ready.drain();
                Ok(false)
            }
        }
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<bool> {
        let mut q = self
            .outbound
            .frames
            .lock()
            .map_err(|_| io::Error::other("sim link poisoned"))?;
        if q.len() < QUEUE_LIMIT {
            q.push_back(frame.to_vec());
            if q.len() == 1 {
                self.outbound.ready.notify();
            }
        }
        Ok(true)
    }

    fn fd(&self) -> RawFd {
        self.inbound.ready.as_raw_fd()
    }

    fn describe(&self) -> String {
        format!("simulated link (end {})", self.name)
    }
}
