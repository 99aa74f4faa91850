//! The TCP services: echo (RFC 862) and file receive with SHA-256.

use crate::board::Uart;
use crate::{CONNECTIONS, ECHO_PORT, FILE_PORT};
use core::fmt::Write;
use rtcp_core::socket_set::{SocketHandle, SocketSet};
use rtcp_core::tcp::{Endpoint, TcpError};
use rtcp_core::wire::Ipv4Address;
use sha2::{Digest, Sha256};

/// Connections not yet accepted, per listener.
const BACKLOG: usize = 2;

enum Kind {
    Echo,
    File { hasher: Sha256, bytes: u64 },
}

struct Conn {
    handle: SocketHandle,
    kind: Kind,
}

/// The two listeners and the connections being served.
pub struct Server {
    echo: SocketHandle,
    file: SocketHandle,
    conns: [Option<Conn>; CONNECTIONS],
}

impl Server {
    /// Open the listeners.
    pub fn listen(sockets: &mut SocketSet<'_>) -> Result<Server, TcpError> {
        let any = Ipv4Address::new(0, 0, 0, 0);
        let echo = sockets.open()?;
        sockets.listen(echo, Endpoint::new(any, ECHO_PORT), BACKLOG)?;
        let file = sockets.open()?;
        sockets.listen(file, Endpoint::new(any, FILE_PORT), BACKLOG)?;
        Ok(Server {
            echo,
            file,
            conns: [const { None }; CONNECTIONS],
        })
    }

    /// Accept what is waiting and move data on every connection.
    pub fn run(&mut self, sockets: &mut SocketSet<'_>, uart: &mut Uart) {
        while let Ok(h) = sockets.accept(self.echo) {
            self.add(sockets, h, Kind::Echo);
        }
        while let Ok(h) = sockets.accept(self.file) {
            let kind = Kind::File {
                hasher: Sha256::new(),
                bytes: 0,
            };
            self.add(sockets, h, kind);
        }
        for slot in self.conns.iter_mut() {
            let Some(conn) = slot else { continue };
            if !serve(conn, sockets, uart) {
                *slot = None;
            }
        }
    }

    fn add(&mut self, sockets: &mut SocketSet<'_>, handle: SocketHandle, kind: Kind) {
        match self.conns.iter_mut().find(|c| c.is_none()) {
            Some(free) => *free = Some(Conn { handle, kind }),
            // Cannot happen (one entry per connection slot), but never leak.
            None => {
                let _ = sockets.abort(handle);
            }
        }
    }
}

/// Serve one connection; `false` once it is finished and released.
fn serve(conn: &mut Conn, sockets: &mut SocketSet<'_>, uart: &mut Uart) -> bool {
    let Ok(sock) = sockets.get(conn.handle) else {
        return false;
    };
    if let Some(e) = sock.error() {
        let _ = writeln!(uart, "rtcp-firmware: connection failed: {e:?}");
        let _ = sockets.abort(conn.handle);
        return false;
    }
    match &mut conn.kind {
        Kind::Echo => {
            // Copy only what the send buffer can take, so nothing read is
            // ever dropped; the rest waits in the receive buffer (and the
            // advertised window shrinks: flow control, end to end).
            let mut chunk = [0u8; 1024];
            loop {
                let Ok(s) = sockets.get(conn.handle) else {
                    return false;
                };
                let room = s.send_capacity().saturating_sub(s.send_queue());
                if room == 0 || !s.can_recv() {
                    break;
                }
                let want = room.min(chunk.len());
                let n = match sockets.recv(conn.handle, chunk.get_mut(..want).unwrap_or(&mut [])) {
                    Ok(n) if n > 0 => n,
                    _ => break,
                };
                let _ = sockets.send(conn.handle, chunk.get(..n).unwrap_or(&[]));
            }
        }
        Kind::File { hasher, bytes } => loop {
            let r = sockets.with(conn.handle, |s| {
                s.recv_with(|data| {
                    hasher.update(data);
                    (data.len(), data.len())
                })
            });
            match r {
                Ok(Ok(n)) if n > 0 => *bytes += n as u64,
                _ => break,
            }
        },
    }
    let eof = sockets.get(conn.handle).map_or(true, |s| s.is_eof());
    if !eof {
        return true;
    }
    // The peer closed its side and everything it sent has been consumed.
    if let Kind::File { hasher, bytes } = &mut conn.kind {
        let digest = core::mem::take(hasher).finalize();
        let mut line = Line::default();
        let _ = write!(line, "bytes={bytes} sha256=");
        for b in digest.iter() {
            let _ = write!(line, "{b:02x}");
        }
        let _ = writeln!(uart, "rtcp-firmware: file {}", line.as_str());
        let _ = writeln!(line);
        let _ = sockets.send(conn.handle, line.as_bytes());
    }
    // FIN after whatever is still queued (the echoed tail, the digest).
    let _ = sockets.close(conn.handle);
    false
}

/// A small fixed-capacity text buffer for one report line.
struct Line {
    buf: [u8; 128],
    len: usize,
}

impl Default for Line {
    fn default() -> Line {
        Line {
            buf: [0; 128],
            len: 0,
        }
    }
}

impl Line {
    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
    fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or("?")
    }
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}
