//! The application's calls on the socket table: listen, connect, accept,
//! send and receive, shutdown, close and abort (RFC 9293 §3.10, the user
//! interface's OPEN, SEND, RECEIVE, CLOSE and ABORT). Each checks the
//! handle, acts on the socket, and reschedules it only when its deadline
//! can have moved (see `with_if_changed`).

use super::index::Bucket;
use super::{table_deadline, Key, Owner, SocketHandle, SocketSet, EPHEMERAL_FIRST, NONE};
use crate::tcp::socket::Flags;
use crate::tcp::{Endpoint, State, TcpError, TcpSocket};
use crate::time::Instant;
use crate::wire::Ipv4Address;

impl<'a, const LOG: usize> SocketSet<'a, LOG> {
    /// Listen on `local` (address may be unspecified for "any") with room
    /// for `backlog` connections not yet accepted (§3.10.1 passive OPEN).
    pub fn listen(
        &mut self,
        h: SocketHandle,
        local: Endpoint,
        backlog: usize,
    ) -> Result<(), TcpError> {
        let i = self.check(h)?;
        if local.port == 0 {
            return Err(TcpError::InvalidEndpoint);
        }
        if self.slot(i).map(|s| s.socket.hot.state) != Some(State::Closed) {
            return Err(TcpError::InvalidState);
        }
        let key = Key {
            local,
            remote: Endpoint::default(),
        };
        if self.lookup(&key).is_some() {
            return Err(TcpError::AddrInUse);
        }
        if let Some(s) = self.slot_mut(i) {
            s.fresh = false;
            s.socket.reset();
            s.socket.forget_past();
            s.socket.local = local;
            s.socket.hot.state = State::Listen;
            s.socket.backlog = u16::try_from(backlog.max(1)).unwrap_or(u16::MAX);
        }
        self.index(i, key);
        Ok(())
    }

    /// Active OPEN (§3.10.1): connect from `local_addr` (port 0 picks an
    /// ephemeral port) to `remote`.
    pub fn connect(
        &mut self,
        now: Instant,
        h: SocketHandle,
        local: Endpoint,
        remote: Endpoint,
    ) -> Result<(), TcpError> {
        let i = self.check(h)?;
        // RFC 9293 §3.9.1.1 (MUST-46): no connection to a broadcast or
        // multicast address, nor to the directed broadcast of our subnet.
        let broadcast = remote.addr.is_broadcast()
            || remote.addr.is_multicast()
            || self
                .subnet
                .is_some_and(|c| c.prefix_len < 31 && c.broadcast() == remote.addr);
        if remote.port == 0 || remote.addr.is_unspecified() || broadcast {
            return Err(TcpError::InvalidEndpoint);
        }
        if self.slot(i).map(|s| s.socket.hot.state) != Some(State::Closed) {
            return Err(TcpError::InvalidState);
        }
        // RFC 9293 §3.9.1.1 (MUST-44): an unspecified local address means
        // "the interface's address" (known once the interface has polled).
        let local = if local.addr.is_unspecified() {
            match self.subnet {
                Some(c) => Endpoint::new(c.address, local.port),
                None => return Err(TcpError::InvalidEndpoint),
            }
        } else {
            local
        };
        // A picked port is free for this remote already (`pick_ephemeral`
        // looked this very key up): no second lookup. Either lookup's miss
        // gives the key's bucket for `index_in`.
        let (local, bucket) = if local.port == 0 {
            self.pick_ephemeral(local.addr, remote)?
        } else {
            match self.find(&Key { local, remote }) {
                Ok(_) => return Err(TcpError::AddrInUse),
                Err(bucket) => (local, bucket),
            }
        };
        let key = Key { local, remote };
        let (iss, ts_offset) =
            self.isn
                .isn_and_ts_offset(now, (local.addr, local.port), (remote.addr, remote.port));
        let local_mss = self.local_mss;
        if let Some(s) = self.slot_mut(i) {
            // A socket straight from `open` is reset already (about 150
            // instructions per connection saved, issue 9); one the user
            // touched since, or that carried an earlier connection, is not.
            let fresh = core::mem::replace(&mut s.fresh, false);
            let sock = &mut s.socket;
            if !fresh {
                sock.reset();
                sock.forget_past();
            }
            sock.local = local;
            sock.remote = remote;
            sock.iss = iss;
            sock.snd_una = iss;
            sock.snd_nxt = iss;
            sock.snd_max = iss;
            sock.ts_offset = ts_offset;
            sock.local_mss = crate::tcp::socket::saturate_mss(local_mss);
            let shift = if sock.config.window_scaling() {
                sock.wanted_rcv_shift()
            } else {
                0
            };
            sock.set_rcv_shift(shift);
            sock.hot.state = State::SynSent;
            sock.timers.stall_since = sock.timers.stamp_ms(now);
        }
        self.index_in(i, key, bucket);
        // Our SYN is owed (SYN-SENT, SND.NXT = ISS): due now without
        // asking `poll_at`.
        self.reschedule_inline(i, Some(Instant::ZERO));
        Ok(())
    }

    /// A free ephemeral port for `remote`: no connection to it
    /// and no listener on it. With the bucket of the new connection's key.
    fn pick_ephemeral(
        &mut self,
        addr: Ipv4Address,
        remote: Endpoint,
    ) -> Result<(Endpoint, Bucket), TcpError> {
        let range = u32::from(u16::MAX - EPHEMERAL_FIRST) + 1;
        for _ in 0..range {
            let port = self.next_ephemeral;
            self.next_ephemeral = if port == u16::MAX {
                EPHEMERAL_FIRST
            } else {
                port + 1
            };
            let local = Endpoint::new(addr, port);
            if let Err(bucket) = self.find(&Key { local, remote }) {
                if !self.listener_on(local) {
                    return Ok((local, bucket));
                }
            }
        }
        Err(TcpError::NoEphemeralPort)
    }

    /// Take the oldest established connection from a listener's queue.
    /// `Err(WouldBlock)` when none is ready.
    pub fn accept(&mut self, listener: SocketHandle) -> Result<SocketHandle, TcpError> {
        let l = self.check(listener)?;
        if self.slot(l).map(|s| s.socket.hot.state) != Some(State::Listen) {
            return Err(TcpError::InvalidState);
        }
        {
            let head = self.slot(l).map_or(NONE, |s| s.accept_head);
            let Some(child) = self.slot(head) else {
                return Err(TcpError::WouldBlock);
            };
            let next = child.next;
            if let Some(ls) = self.slot_mut(l) {
                ls.accept_head = next;
                if next == NONE {
                    ls.accept_tail = NONE;
                }
                ls.children = ls.children.saturating_sub(1);
            }
            if let Some(c) = self.slot_mut(head) {
                c.next = NONE;
                c.queued = false;
                c.owner = Owner::User;
            }
            // A child reset before accept() is still handed out: the user
            // sees the error on first use, as with BSD sockets.
            let generation = self.slot(head).map_or(0, |s| s.generation);
            // No reschedule: accepting changes who owns the slot, which
            // nothing in the socket's deadline reads, and the table work a
            // reschedule does (freeing a CLOSED child, queueing it here)
            // was done when its state last changed. About 260 instructions
            // per connection in the connection-rate benchmark (issue 9).
            self.check_deadline(head);
            Ok(SocketHandle {
                index: head,
                generation,
            })
        }
    }

    /// Queue data for sending (see [`TcpSocket::send_slice`]).
    pub fn send(&mut self, h: SocketHandle, data: &[u8]) -> Result<usize, TcpError> {
        self.with_if_changed(h, |s| {
            let n = s.send_slice(data)?;
            Ok((n, n > 0 && s.may_send_data()))
        })
    }

    /// Queue data written in place by `f` (see [`TcpSocket::send_with`]).
    /// Like [`send`](Self::send), and unlike [`with`](Self::with), it
    /// reschedules the socket only when `f` queued something (and the
    /// handshake is over: see `with_if_changed`).
    ///
    /// ```
    /// # use rtcp_core::socket_set::{SocketSet, SocketSlot};
    /// # let (mut rx, mut tx) = ([0u8; 64], [0u8; 64]);
    /// # let mut storage = [SocketSlot::new(&mut rx[..], &mut tx[..])];
    /// # let mut set = SocketSet::new(&mut storage[..], [7; 16]);
    /// let h = set.open().unwrap();
    /// // Not connected: nothing is queued, and the socket is left as it was.
    /// let r = set.send_with(h, |buf| {
    ///     buf[0] = b'q';
    ///     (1, ())
    /// });
    /// assert!(r.is_err());
    /// ```
    pub fn send_with<R>(
        &mut self,
        h: SocketHandle,
        f: impl FnOnce(&mut [u8]) -> (usize, R),
    ) -> Result<R, TcpError> {
        self.with_if_changed(h, |s| {
            let mut queued = 0;
            let r = s.send_with(|buf| {
                let (n, r) = f(buf);
                queued = n;
                (n, r)
            })?;
            Ok((r, queued > 0 && s.may_send_data()))
        })
    }

    /// Read received data in place: `f` sees contiguous received bytes
    /// and returns how many it consumed (see [`TcpSocket::recv_with`]).
    /// It reschedules the socket only when the read makes a window update
    /// due.
    pub fn recv_with<R>(
        &mut self,
        h: SocketHandle,
        f: impl FnOnce(&[u8]) -> (usize, R),
    ) -> Result<R, TcpError> {
        self.with_if_changed(h, |s| {
            let mut taken = 0;
            let r = s.recv_with(|data| {
                let (n, r) = f(data);
                taken = n;
                (n, r)
            })?;
            Ok((r, taken > 0 && s.window_update_due()))
        })
    }

    /// Queue urgent data (see [`TcpSocket::send_urgent`]).
    pub fn send_urgent(&mut self, h: SocketHandle, data: &[u8]) -> Result<usize, TcpError> {
        self.with(h, |s| s.send_urgent(data))?
    }

    /// Read received data (see [`TcpSocket::recv_slice`]). It reschedules
    /// the socket only when the read makes a window update due.
    pub fn recv(&mut self, h: SocketHandle, buf: &mut [u8]) -> Result<usize, TcpError> {
        self.with_if_changed(h, |s| {
            let n = s.recv_slice(buf)?;
            Ok((n, n > 0 && s.window_update_due()))
        })
    }

    /// A send or a read: `op` acts on the socket behind `h` and says
    /// whether the call may have moved the socket's deadline; the table
    /// reschedules the socket only then. A send that queued nothing and a
    /// read that took nothing leave the socket as it was (their checks
    /// only read it), nor does data queued before the handshake is over
    /// (SYN-SENT, SYN-RECEIVED: what the socket sends then, and its
    /// persist and keep-alive timers, read the send queue only once it
    /// may send data, and the change of state that lets it reschedules
    /// it), and reading only ever opens the receive window,
    /// which matters to the socket's deadline only once a window update is
    /// due (RFC 9293 §3.8.6.2.2; `window_update_due`). Skipping the
    /// reschedule (the socket's `poll_at`) in the other cases saves about
    /// 540 instructions per call in the connection-rate benchmark
    /// (BENCHMARKS.md, "Session 14: the application's calls, and a
    /// counting fix").
    fn with_if_changed<R>(
        &mut self,
        h: SocketHandle,
        op: impl FnOnce(&mut TcpSocket<'a, LOG>) -> Result<(R, bool), TcpError>,
    ) -> Result<R, TcpError> {
        let i = self.check(h)?;
        let slot = self.slot_mut(i).ok_or(TcpError::InvalidHandle)?;
        slot.fresh = false;
        // With debug assertions (tests, fuzzing), the deadline before the
        // call, to check the shortcut against; at no cost otherwise.
        let before = cfg!(debug_assertions).then(|| slot.socket.poll_at());
        let (r, changed) = op(&mut slot.socket)?;
        if changed {
            // Due now without the rest of `poll_at` when queued data can
            // go at once (`data_due_now`: nothing in flight, the windows
            // take all of it; a request or a reply on an idle connection).
            // (Not on 32-bit targets, flash: the reschedule works the same
            // deadline out from `poll_at`.)
            let known = (cfg!(target_pointer_width = "64") && slot.socket.data_due_now())
                .then_some(Instant::ZERO);
            self.reschedule_inline(i, known);
        } else if let Some(before) = before {
            debug_assert_eq!(self.slot(i).map(|s| s.socket.poll_at()), Some(before));
        }
        Ok(r)
    }

    /// With debug assertions (tests, fuzzing), checks that slot `i` is
    /// scheduled where a reschedule would put it, or, when it has something
    /// to send, at a later time: the interface may have deferred it until
    /// a neighbour could have answered (`dispatch`,
    /// `EmitError::Unaddressable`), which a reschedule would undo early.
    fn check_deadline(&self, i: u16) {
        if cfg!(debug_assertions) {
            let wanted = table_deadline(self.slot(i).map(|s| s.socket.poll_at()));
            let deadline = self.deadline(i);
            // Fuzzing runs with debug assertions: it checks the shortcut.
            debug_assert!(
                deadline == wanted || (wanted == Instant::ZERO && deadline != Instant::MAX),
                "slot {i} scheduled at {deadline:?}, its poll_at says {wanted:?}"
            );
        }
    }

    /// Shut the send side down (FIN after queued data).
    pub fn shutdown(&mut self, h: SocketHandle) -> Result<(), TcpError> {
        self.with(h, |s| s.shutdown_send())?
    }

    /// Close the socket and release the handle. The connection finishes in
    /// the background (FIN exchange, TIME-WAIT) and its slot is freed when it
    /// reaches CLOSED. A listener's unaccepted children are reset.
    pub fn close(&mut self, h: SocketHandle) -> Result<(), TcpError> {
        let i = self.check(h)?;
        let state = self.slot(i).map_or(State::Closed, |s| s.socket.hot.state);
        if state == State::Listen {
            self.close_listener(i);
            self.free(i);
            return Ok(());
        }
        // A socket already due now stays due after a close, which only
        // adds a FIN to what it has to send (unless the close ends the
        // connection outright, in SYN-SENT with nothing queued): its
        // `poll_at` need not be worked out again (the application closes
        // right after its last send in a request-reply exchange). Nor
        // when the FIN can go at once (`fin_due_now`: the side that
        // closes second, everything it sent acknowledged). (Not on 32-bit
        // targets, flash: the reschedule works the same deadline out from
        // `poll_at`.)
        let shortcut = cfg!(target_pointer_width = "64");
        let due_now = shortcut && self.deadline(i) == Instant::ZERO;
        let mut known = None;
        if let Some(s) = self.slot_mut(i) {
            let _ = s.socket.shutdown_send();
            s.owner = Owner::Orphan;
            s.socket.hot.flags.set(Flags::ORPHANED, true);
            if (due_now && s.socket.hot.state != State::Closed)
                || (shortcut && s.socket.fin_due_now())
            {
                known = Some(Instant::ZERO);
            }
        }
        self.orphaned();
        self.reschedule_inline(i, known);
        Ok(())
    }

    /// Reset the connection (RST) and release the handle.
    pub fn abort(&mut self, h: SocketHandle) -> Result<(), TcpError> {
        let i = self.check(h)?;
        if self.slot(i).map(|s| s.socket.hot.state) == Some(State::Listen) {
            self.close_listener(i);
            self.free(i);
            return Ok(());
        }
        if let Some(s) = self.slot_mut(i) {
            s.socket.abort();
            s.owner = Owner::Orphan;
            s.socket.hot.flags.set(Flags::ORPHANED, true);
        }
        self.orphaned();
        self.reschedule(i);
        Ok(())
    }

    fn close_listener(&mut self, l: u16) {
        // Rare: a scan of the table to reset the children.
        for c in 0..self.capacity() as u16 {
            let is_child = self
                .slot(c)
                .is_some_and(|s| s.owner == Owner::Child { listener: l });
            if is_child {
                if let Some(s) = self.slot_mut(c) {
                    s.socket.abort();
                    s.owner = Owner::Orphan;
                    s.socket.hot.flags.set(Flags::ORPHANED, true);
                    s.queued = false;
                }
                self.orphaned();
                self.reschedule(c);
            }
        }
    }
}
