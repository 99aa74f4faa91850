//! The application's data and closing calls: send, receive, urgent data,
//! shutdown and abort (RFC 9293 §3.10.2-5).

use crate::tcp::{State, TcpError};
use crate::wire::SeqNumber;

use super::{Flags, TcpSocket};

impl<'a, const LOG: usize> TcpSocket<'a, LOG> {
    // ----- data transfer (RFC 9293 §3.10.2, §3.10.3) -----

    /// Queue data for sending; returns how much fit (zero-window-full
    /// buffers return `WouldBlock`).
    pub fn send_slice(&mut self, data: &[u8]) -> Result<usize, TcpError> {
        self.check_send()?;
        if data.is_empty() {
            return Ok(0);
        }
        let n = self.tx.enqueue_slice(data);
        if n == 0 {
            return Err(TcpError::WouldBlock);
        }
        Ok(n)
    }

    /// Zero-copy send: `f` writes into free buffer space (possibly less than
    /// all of it: the space is contiguous) and returns how many bytes it wrote.
    pub fn send_with<R>(&mut self, f: impl FnOnce(&mut [u8]) -> (usize, R)) -> Result<R, TcpError> {
        self.check_send()?;
        Ok(self.tx.enqueue_with(usize::MAX, f))
    }

    fn check_send(&self) -> Result<(), TcpError> {
        if let Some(e) = self.hot.error {
            return Err(e);
        }
        match self.hot.state {
            State::Closed | State::Listen => Err(TcpError::NotConnected),
            _ if self.hot.flags.get(Flags::TX_CLOSED) => Err(TcpError::SendClosed),
            State::SynSent | State::SynReceived | State::Established | State::CloseWait => Ok(()),
            _ => Err(TcpError::SendClosed),
        }
    }

    /// Read received data. `Ok(0)` means end of stream (the peer closed);
    /// `Err(WouldBlock)` means nothing yet.
    pub fn recv_slice(&mut self, buf: &mut [u8]) -> Result<usize, TcpError> {
        self.check_recv()?;
        if self.rx.is_empty() {
            return Ok(0);
        }
        Ok(self.rx.dequeue_slice(buf))
    }

    /// Zero-copy receive: `f` sees contiguous received bytes and returns how
    /// many it consumed.
    pub fn recv_with<R>(&mut self, f: impl FnOnce(&[u8]) -> (usize, R)) -> Result<R, TcpError> {
        self.check_recv()?;
        Ok(self.rx.dequeue_with(usize::MAX, f))
    }

    /// Copy received data without consuming it.
    pub fn peek_slice(&self, buf: &mut [u8]) -> usize {
        self.rx.read_allocated(0, buf)
    }

    // ----- urgent data (RFC 9293 §3.8.5, RFC 6093) -----

    /// Queue `data` as urgent data (RFC 9293 §3.10.2 SEND with the URGENT
    /// flag): it goes inline in the stream, and every segment sent before
    /// its end carries URG with the urgent pointer at the first octet after
    /// it (MUST-30, MUST-62), however many segments that takes (MUST-31).
    /// Returns how much fit; the mark is placed after the part that fit.
    ///
    /// Without the `urgent` feature nothing is queued and the call returns
    /// [`TcpError::Unsupported`].
    pub fn send_urgent(&mut self, data: &[u8]) -> Result<usize, TcpError> {
        if cfg!(not(feature = "urgent")) {
            return Err(TcpError::Unsupported);
        }
        let n = self.send_slice(data)?;
        if n > 0 {
            let end = self.send_data_start() + self.tx.len();
            self.urgent.mark_send(end);
        }
        Ok(n)
    }

    /// Sequence number of the first octet in the send buffer (the SYN takes
    /// one before it while unacknowledged).
    fn send_data_start(&self) -> SeqNumber {
        if self.snd_una == self.iss {
            self.iss + 1
        } else {
            self.snd_una
        }
    }

    /// Sequence number of the next octet `recv` will return.
    fn read_seq(&self) -> SeqNumber {
        self.rcv_nxt - self.rx.len() - usize::from(self.hot.flags.get(Flags::RX_FIN_RECEIVED))
    }

    /// Whether the peer has announced urgent data that the application has
    /// not read past yet (RFC 9293 §3.8.5 "urgent mode").
    pub fn urgent_pending(&self) -> bool {
        self.urgent.pending(self.read_seq())
    }

    /// How much urgent data is still to be read (MUST-33): the octets from
    /// the next one `recv` returns up to the urgent mark (the first
    /// non-urgent octet). Zero when none is pending. It may exceed
    /// [`recv_queue`](Self::recv_queue) when the mark lies in data that has
    /// not arrived yet; reading exactly this many octets stops at the mark.
    pub fn urgent_remaining(&self) -> usize {
        self.urgent.remaining(self.read_seq())
    }

    /// The asynchronous urgent notice (MUST-32): `true` once for each new
    /// run of urgent data the peer announces, set while the engine
    /// processes the segment, before the application reads anything (like
    /// BSD's SIGURG). Taking it clears it; [`urgent_pending`](Self::urgent_pending)
    /// still says whether the mark lies ahead.
    pub fn take_urgent_signal(&mut self) -> bool {
        self.urgent.take_signal()
    }

    /// Whether an urgent notice is waiting (without taking it).
    pub fn urgent_signalled(&self) -> bool {
        self.urgent.signalled()
    }

    fn check_recv(&self) -> Result<(), TcpError> {
        if !self.rx.is_empty() || self.hot.flags.get(Flags::RX_FIN_RECEIVED) {
            return Ok(());
        }
        if let Some(e) = self.hot.error {
            return Err(e);
        }
        match self.hot.state {
            State::Closed | State::Listen => Err(TcpError::NotConnected),
            _ => Err(TcpError::WouldBlock),
        }
    }

    // ----- closing (RFC 9293 §3.10.4, §3.10.5) -----

    /// Shut the send side down: a FIN follows whatever is queued.
    pub fn shutdown_send(&mut self) -> Result<(), TcpError> {
        match self.hot.state {
            State::Closed | State::Listen => Err(TcpError::NotConnected),
            State::SynSent if self.tx.is_empty() => {
                // Nothing to deliver: the connection simply goes away (§3.10.4).
                self.reset();
                self.hot.state = State::Closed;
                Ok(())
            }
            State::SynSent => {
                // Data is queued: deliver it, then the FIN, once established.
                self.hot.flags.set(Flags::TX_CLOSED, true);
                Ok(())
            }
            State::SynReceived | State::Established => {
                self.hot.flags.set(Flags::TX_CLOSED, true);
                if self.hot.state == State::Established {
                    self.hot.state = State::FinWait1;
                }
                Ok(())
            }
            State::CloseWait => {
                self.hot.flags.set(Flags::TX_CLOSED, true);
                self.hot.state = State::LastAck;
                Ok(())
            }
            // Already closing: "error: connection closing" is not worth
            // failing a shutdown over; it is idempotent.
            _ => Ok(()),
        }
    }

    /// Abort: send a RST if synchronized and drop everything (§3.10.5).
    pub fn abort(&mut self) {
        let synced = matches!(
            self.hot.state,
            State::SynReceived
                | State::Established
                | State::FinWait1
                | State::FinWait2
                | State::CloseWait
        );
        if synced {
            self.set_pending_rst(Some(self.snd_nxt));
        }
        self.reset();
        self.hot.state = State::Closed;
    }
}
