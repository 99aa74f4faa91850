//! Small "applications" the simulator tests drive: a bulk sender and a
//! receiver that checks every byte.

use crate::rng::Rng;
use crate::sim::Sim;
use rtcp_core::socket_set::SocketHandle;
use rtcp_core::tcp::{Endpoint, TcpError};

/// A pseudo-random byte stream that both ends can regenerate.
#[derive(Debug, Clone)]
pub struct Stream {
    data: Vec<u8>,
}

impl Stream {
    /// `len` bytes from `seed`.
    pub fn new(seed: u64, len: usize) -> Stream {
        let mut data = vec![0u8; len];
        Rng::new(seed).fill(&mut data);
        Stream { data }
    }
    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }
}

/// Pushes a stream into a socket as space allows, then shuts down.
#[derive(Debug)]
pub struct Sender {
    /// Host index.
    pub host: usize,
    /// Socket.
    pub handle: SocketHandle,
    /// Bytes queued so far.
    pub sent: usize,
    /// Shut down after sending everything.
    pub close_when_done: bool,
    /// Shutdown issued.
    pub closed: bool,
    /// Queue through `SocketSet::send_with`, in chunks of varying size,
    /// instead of `send`.
    pub zero_copy: bool,
}

impl Sender {
    /// A sender on socket `handle` of host `host` that has queued nothing
    /// yet and shuts down once everything is queued.
    pub fn new(host: usize, handle: SocketHandle) -> Sender {
        Sender {
            host,
            handle,
            sent: 0,
            close_when_done: true,
            closed: false,
            zero_copy: false,
        }
    }

    /// Queue as much as fits. Returns an error if the connection failed.
    pub fn pump(&mut self, sim: &mut Sim, data: &[u8]) -> Result<(), TcpError> {
        let sockets = &mut sim.hosts[self.host].sockets;
        while self.sent < data.len() {
            let rest = &data[self.sent..];
            let queued = if self.zero_copy {
                // Chunks of 1 to 2,999 bytes, so that some calls fill the
                // buffer and some do not.
                let chunk = 1 + (self.sent * 7_919) % 2_999;
                sockets.send_with(self.handle, |buf| {
                    let n = buf.len().min(rest.len()).min(chunk);
                    buf[..n].copy_from_slice(&rest[..n]);
                    (n, n)
                })
            } else {
                sockets.send(self.handle, rest)
            };
            match queued {
                Ok(0) => break,
                Ok(n) => self.sent += n,
                Err(TcpError::WouldBlock) => break,
                Err(e) => return Err(e),
            }
        }
        if self.sent == data.len() && self.close_when_done && !self.closed {
            sockets.shutdown(self.handle)?;
            self.closed = true;
        }
        Ok(())
    }
}

/// Reads a socket, checking each byte against the expected stream.
#[derive(Debug)]
pub struct Receiver {
    /// Host index.
    pub host: usize,
    /// Socket.
    pub handle: SocketHandle,
    /// Bytes received and verified.
    pub received: usize,
    /// End of stream seen.
    pub eof: bool,
    /// Read through `SocketSet::recv_with`, in chunks of varying size,
    /// instead of `recv`.
    pub zero_copy: bool,
}

impl Receiver {
    /// A receiver on socket `handle` of host `host` that has read nothing yet.
    pub fn new(host: usize, handle: SocketHandle) -> Receiver {
        Receiver {
            host,
            handle,
            received: 0,
            eof: false,
            zero_copy: false,
        }
    }

    /// The next established connection on `listener` of host `host`, as a
    /// receiver that has read nothing yet.
    pub fn accept(sim: &mut Sim, host: usize, listener: SocketHandle) -> Option<Receiver> {
        let handle = sim.hosts[host].sockets.accept(listener).ok()?;
        Some(Receiver::new(host, handle))
    }

    /// The next established connection on `listener` of host `host`, as a
    /// sender and a receiver on it (a two-way transfer's server end).
    pub fn accept_two_way(
        sim: &mut Sim,
        host: usize,
        listener: SocketHandle,
    ) -> Option<(Sender, Receiver)> {
        let receiver = Receiver::accept(sim, host, listener)?;
        Some((Sender::new(host, receiver.handle), receiver))
    }

    /// Read what is there; panic on a wrong byte or more bytes than sent.
    pub fn pump(&mut self, sim: &mut Sim, expect: &[u8]) -> Result<(), TcpError> {
        let sockets = &mut sim.hosts[self.host].sockets;
        let mut buf = [0u8; 16384];
        loop {
            let read = if self.zero_copy {
                // Chunks of 1 to 1,999 bytes: small reads leave the window
                // update to a later one (`SocketSet::recv_with` reschedules
                // only then).
                let chunk = 1 + (self.received * 104_729) % 1_999;
                match sockets.recv_with(self.handle, |data| {
                    let n = data.len().min(chunk);
                    buf[..n].copy_from_slice(&data[..n]);
                    (n, n)
                }) {
                    Ok(0) if !sockets.get(self.handle)?.is_eof() => Err(TcpError::WouldBlock),
                    other => other,
                }
            } else {
                sockets.recv(self.handle, &mut buf)
            };
            match read {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    assert!(
                        self.received + n <= expect.len(),
                        "received more than was sent (seed {})",
                        sim.seed
                    );
                    assert!(
                        buf[..n] == expect[self.received..self.received + n],
                        "corrupted stream at byte {} (seed {})",
                        self.received,
                        sim.seed
                    );
                    self.received += n;
                }
                Err(TcpError::WouldBlock) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }
}

/// A one-way transfer: a [`Sender`] pushing a stream and the [`Receiver`]
/// its peer accepts on first sight, driven one simulator step at a time.
#[derive(Debug)]
pub struct Transfer {
    /// The sending application.
    pub sender: Sender,
    /// The receiving application, once the listener has accepted.
    pub receiver: Option<Receiver>,
    server: usize,
    listener: SocketHandle,
}

impl Transfer {
    /// `sender` sends to whatever connection `listener` of host `server`
    /// accepts first.
    pub fn new(sender: Sender, server: usize, listener: SocketHandle) -> Transfer {
        Transfer {
            sender,
            receiver: None,
            server,
            listener,
        }
    }

    /// Queue what fits, accept the receiving end if it is not yet, and read
    /// (checking every byte against `data`). Returns the receiver, once
    /// there is one. Panics when either end's connection fails.
    pub fn step(&mut self, sim: &mut Sim, data: &[u8]) -> Option<&Receiver> {
        self.sender.pump(sim, data).expect("sender failed");
        if self.receiver.is_none() {
            self.receiver = Receiver::accept(sim, self.server, self.listener);
        }
        let receiver = self.receiver.as_mut()?;
        receiver.pump(sim, data).expect("receiver failed");
        Some(receiver)
    }
}

/// Open a listener on host `server` port `port` and connect host `client`
/// to it; returns (listener, client socket).
pub fn listen_and_connect(
    sim: &mut Sim,
    server: usize,
    client: usize,
    port: u16,
) -> (SocketHandle, SocketHandle) {
    let server_ip = sim.hosts[server].ip();
    let client_ip = sim.hosts[client].ip();
    let l = sim.hosts[server].sockets.open().expect("open listener");
    sim.hosts[server]
        .sockets
        .listen(l, Endpoint::new(server_ip, port), 16)
        .expect("listen");
    let c = sim.hosts[client].sockets.open().expect("open client");
    let now = sim.now;
    sim.hosts[client]
        .sockets
        .connect(
            now,
            c,
            Endpoint::new(client_ip, 0),
            Endpoint::new(server_ip, port),
        )
        .expect("connect");
    (l, c)
}
