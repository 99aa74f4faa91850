//! Blocking calls: a user call that cannot complete yet is parked with its
//! reply channel, retried after every poll, and answered when it completes,
//! fails or passes its deadline (see the parent module, "Blocking calls").

use super::*;

#[derive(Debug)]
pub(super) enum Parked {
    Accept {
        listener: SocketHandle,
        deadline: Option<Instant>,
        reply: Reply<(SocketHandle, SocketAddrV4, SocketAddrV4)>,
    },
    Connect {
        h: SocketHandle,
        deadline: Option<Instant>,
        reply: Reply<(SocketHandle, SocketAddrV4)>,
    },
    Read {
        h: SocketHandle,
        max: usize,
        deadline: Option<Instant>,
        reply: Reply<Vec<u8>>,
    },
    Write {
        h: SocketHandle,
        data: Vec<u8>,
        done: usize,
        deadline: Option<Instant>,
        reply: Reply<usize>,
    },
    WaitSent {
        h: SocketHandle,
        deadline: Option<Instant>,
        reply: Reply<()>,
    },
}

impl Parked {
    pub(super) fn deadline(&self) -> Option<Instant> {
        match self {
            Parked::Accept { deadline, .. }
            | Parked::Connect { deadline, .. }
            | Parked::Read { deadline, .. }
            | Parked::Write { deadline, .. }
            | Parked::WaitSent { deadline, .. } => *deadline,
        }
    }
}

impl<B: Backend> Kernel<B> {
    pub(super) fn try_or_park(&mut self, now: Instant, p: Parked, nonblocking: bool) {
        match self.attempt(now, p) {
            None => {}
            Some(p) if nonblocking => match p {
                Parked::Write { done, reply, .. } if done > 0 => {
                    let _ = reply.send(Ok(done));
                }
                p => fail_parked(p, io_error(TcpError::WouldBlock)),
            },
            Some(p) => self.parked.push(p),
        }
    }

    /// Retry every parked call; returns whether any completed or queued
    /// more data (either may leave the stack something to send at once).
    pub(super) fn service_parked(&mut self, now: Instant) -> bool {
        let written = |p: &Parked| match p {
            Parked::Write { done, .. } => *done,
            _ => 0,
        };
        let mut progressed = false;
        for p in std::mem::take(&mut self.parked) {
            let before = written(&p);
            match self.attempt(now, p) {
                Some(p) => {
                    progressed |= written(&p) != before;
                    self.parked.push(p);
                }
                None => progressed = true,
            }
        }
        progressed
    }

    /// Try to complete a call: `None` when it was answered, else the call
    /// to park (its deadline not yet passed).
    fn attempt(&mut self, now: Instant, p: Parked) -> Option<Parked> {
        let expired = p.deadline().is_some_and(|d| now >= d);
        match p {
            Parked::Accept {
                listener,
                deadline,
                reply,
            } => match self.sockets.accept(listener) {
                Ok(h) => {
                    let (local, remote) = self
                        .sockets
                        .get(h)
                        .map_or((Endpoint::default(), Endpoint::default()), |s| {
                            (s.local_endpoint(), s.remote_endpoint())
                        });
                    self.streams.insert(h);
                    let _ = reply.send(Ok((h, sockaddr(local), sockaddr(remote))));
                    None
                }
                Err(TcpError::WouldBlock) if expired => {
                    let _ = reply.send(Err(timed_out("accept")));
                    None
                }
                Err(TcpError::WouldBlock) => Some(Parked::Accept {
                    listener,
                    deadline,
                    reply,
                }),
                Err(e) => {
                    let _ = reply.send(Err(io_error(e)));
                    None
                }
            },
            Parked::Connect { h, deadline, reply } => {
                let (state, error, local) = match self.sockets.get(h) {
                    Ok(s) => (s.state(), s.error(), s.local_endpoint()),
                    Err(e) => {
                        let _ = reply.send(Err(io_error(e)));
                        return None;
                    }
                };
                if state.is_synchronized() {
                    let _ = reply.send(Ok((h, sockaddr(local))));
                    return None;
                }
                if state == State::Closed || expired {
                    self.streams.remove(&h);
                    let _ = self.sockets.abort(h);
                    let e = match error {
                        Some(e) => io_error(e),
                        None if expired => timed_out("connect"),
                        None => io_error(TcpError::ConnectionRefused),
                    };
                    let _ = reply.send(Err(e));
                    return None;
                }
                Some(Parked::Connect { h, deadline, reply })
            }
            Parked::Read {
                h,
                max,
                deadline,
                reply,
            } => {
                if self.read_shut.contains(&h) {
                    let _ = reply.send(Ok(Vec::new()));
                    return None;
                }
                // `SocketSet::recv`, not `with`: a parked read is retried on
                // every turn of the loop, and a retry that finds nothing
                // leaves the socket's deadline alone.
                let r = self.sockets.get(h).map(|s| s.recv_queue().min(max));
                let r = r.and_then(|n| {
                    let mut buf = vec![0u8; n];
                    self.sockets.recv(h, &mut buf).map(|got| {
                        buf.truncate(got);
                        buf
                    })
                });
                match r {
                    Ok(buf) => {
                        let _ = reply.send(Ok(buf));
                        None
                    }
                    Err(TcpError::WouldBlock) if expired => {
                        let _ = reply.send(Err(timed_out("read")));
                        None
                    }
                    Err(TcpError::WouldBlock) => Some(Parked::Read {
                        h,
                        max,
                        deadline,
                        reply,
                    }),
                    Err(e) => {
                        let _ = reply.send(Err(io_error(e)));
                        None
                    }
                }
            }
            Parked::Write {
                h,
                data,
                mut done,
                deadline,
                reply,
            } => {
                // `SocketSet::send`, which reschedules only when it queued
                // something (a parked write is retried on every turn).
                let mut err = None;
                while done < data.len() {
                    match self.sockets.send(h, data.get(done..).unwrap_or_default()) {
                        Ok(n) => done += n,
                        Err(e) => {
                            err = Some(e);
                            break;
                        }
                    }
                }
                match err {
                    None => {
                        let _ = reply.send(Ok(done));
                        None
                    }
                    Some(TcpError::WouldBlock) if expired => {
                        let _ = reply.send(if done > 0 {
                            Ok(done)
                        } else {
                            Err(timed_out("write"))
                        });
                        None
                    }
                    Some(TcpError::WouldBlock) => Some(Parked::Write {
                        h,
                        data,
                        done,
                        deadline,
                        reply,
                    }),
                    Some(e) => {
                        let _ = reply.send(if done > 0 { Ok(done) } else { Err(io_error(e)) });
                        None
                    }
                }
            }
            Parked::WaitSent { h, deadline, reply } => match self.sockets.get(h) {
                Ok(s) if s.send_queue() == 0 && s.state() != State::SynSent => {
                    let _ = reply.send(match s.error() {
                        Some(e) => Err(io_error(e)),
                        None => Ok(()),
                    });
                    None
                }
                Ok(s) if s.state() == State::Closed => {
                    let e = s.error().unwrap_or(TcpError::NotConnected);
                    let _ = reply.send(Err(io_error(e)));
                    None
                }
                Ok(_) if expired => {
                    let _ = reply.send(Err(timed_out("waiting for acknowledgements")));
                    None
                }
                Ok(_) => Some(Parked::WaitSent { h, deadline, reply }),
                Err(e) => {
                    let _ = reply.send(Err(io_error(e)));
                    None
                }
            },
        }
    }
}

pub(super) fn fail_parked(p: Parked, e: io::Error) {
    match p {
        Parked::Accept { reply, .. } => {
            let _ = reply.send(Err(e));
        }
        Parked::Connect { reply, .. } => {
            let _ = reply.send(Err(e));
        }
        Parked::Read { reply, .. } => {
            let _ = reply.send(Err(e));
        }
        Parked::Write { reply, .. } => {
            let _ = reply.send(Err(e));
        }
        Parked::WaitSent { reply, .. } => {
            let _ = reply.send(Err(e));
        }
    }
}
