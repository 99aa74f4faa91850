//! The system calls rtcp-host needs that std does not wrap: eventfd, ppoll,
//! AF_PACKET socket options, the TAP ioctl and the effective uid. Every
//! `unsafe` block of the crate lives here, each with its `SAFETY` argument.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// The effective user id (0 is root).
pub fn geteuid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// A non-blocking eventfd: user threads `notify` it, the kernel thread
/// polls it and `drain`s it.
#[derive(Debug)]
pub struct EventFd(OwnedFd);

impl EventFd {
    /// A new eventfd (counter 0, non-blocking, close-on-exec).
    pub fn new() -> io::Result<EventFd> {
        // SAFETY: eventfd takes no pointers; a non-negative return is a
        // fresh descriptor that we own from here on.
        let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })?;
        // SAFETY: `fd` was just returned by eventfd and is owned by nobody else.
        Ok(EventFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Add one to the counter (wakes a poller). Never blocks: a saturated
    /// counter already means "wake up".
    pub fn notify(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to a descriptor we own.
        let _ = unsafe {
            libc::write(
                self.0.as_raw_fd(),
                (&one as *const u64).cast::<libc::c_void>(),
                8,
            )
        };
    }

    /// Reset the counter to zero.
    pub fn drain(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live u64 from a descriptor we own.
        let _ = unsafe {
            libc::read(
                self.0.as_raw_fd(),
                (&mut v as *mut u64).cast::<libc::c_void>(),
                8,
            )
        };
    }
}

impl AsRawFd for EventFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// One descriptor to wait on.
#[derive(Debug, Clone, Copy)]
pub struct PollFd {
    /// The descriptor.
    pub fd: RawFd,
    /// Wait for input.
    pub read: bool,
    /// Wait for room to write.
    pub write: bool,
    /// Set on return: input (or an error/hang-up) is pending.
    pub readable: bool,
    /// Set on return: room to write.
    pub writable: bool,
}

impl PollFd {
    /// Wait for input on `fd`.
    pub fn read(fd: RawFd) -> PollFd {
        PollFd {
            fd,
            read: true,
            write: false,
            readable: false,
            writable: false,
        }
    }
}

/// Most descriptors one `ppoll` call takes.
const MAX_POLL: usize = 4;

/// Block until one of `fds` is ready or `timeout` passes (`None` waits
/// forever), with microsecond resolution. EINTR counts as a timeout.
pub fn ppoll(fds: &mut [PollFd], timeout: Option<Duration>) -> io::Result<usize> {
    let mut raw = [libc::pollfd {
        fd: -1,
        events: 0,
        revents: 0,
    }; MAX_POLL];
    let n = fds.len().min(MAX_POLL);
    for (r, f) in raw.iter_mut().zip(fds.iter()) {
        r.fd = f.fd;
        r.events =
            (if f.read { libc::POLLIN } else { 0 }) | (if f.write { libc::POLLOUT } else { 0 });
    }
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(i32::MAX as u64) as libc::time_t,
        tv_nsec: libc::c_long::from(t.subsec_nanos() as i32),
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `raw` holds `n` initialised pollfd entries that outlive the
    // call; `ts_ptr` is null or points at a live timespec; no signal mask.
    let ret = unsafe {
        libc::ppoll(
            raw.as_mut_ptr(),
            n as libc::nfds_t,
            ts_ptr,
            std::ptr::null(),
        )
    };
    if ret < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(0);
        }
        return Err(e);
    }
    for (r, f) in raw.iter().zip(fds.iter_mut()) {
        f.readable = r.revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0;
        f.writable = r.revents & libc::POLLOUT != 0;
    }
    Ok(ret as usize)
}

fn setsockopt_int(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: passes a pointer to a live c_int and its exact size.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast::<libc::c_void>(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

/// `SOL_PACKET` option: do not hand our own transmitted frames back to us
/// (Linux 4.20+).
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;

/// An `AF_PACKET`/`SOCK_RAW` socket for all EtherTypes, with `buffer`-byte
/// kernel send and receive buffers (forced past `rmem_max` when root), that
/// does not see its own outgoing frames. The caller binds it (pnet_datalink
/// does, given the descriptor) and takes ownership of the raw descriptor.
pub fn packet_socket(buffer: usize) -> io::Result<RawFd> {
    let proto = (libc::ETH_P_ALL as u16).to_be() as libc::c_int;
    // SAFETY: socket takes no pointers; a non-negative return is a fresh descriptor.
    let fd =
        cvt(unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, proto) })?;
    let size = buffer.min(i32::MAX as usize) as libc::c_int;
    if setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, size).is_err() {
        let _ = setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, size);
    }
    if setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, size).is_err() {
        let _ = setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, size);
    }
    // Best effort: older kernels loop our own frames back, which the
    // interface then drops as "not for us".
    let _ = setsockopt_int(fd, libc::SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
    Ok(fd)
}

/// Attach `file` (an open `/dev/net/tun`) to the TAP interface `name`
/// (created if missing), without the packet-information header.
pub fn tun_set_iff(file: &std::fs::File, name: &str) -> io::Result<String> {
    #[repr(C)]
    struct IfReq {
        name: [u8; libc::IFNAMSIZ],
        flags: libc::c_short,
        _pad: [u8; 22],
    }
    if name.len() >= libc::IFNAMSIZ || name.bytes().any(|b| b == 0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "bad interface name",
        ));
    }
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        flags: (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short,
        _pad: [0; 22],
    };
    for (d, s) in req.name.iter_mut().zip(name.bytes()) {
        *d = s;
    }
    // SAFETY: TUNSETIFF reads and writes a `struct ifreq` (40 bytes, which
    // IfReq matches in size and layout for the name and flags fields) that
    // lives across the call; the descriptor is an open /dev/net/tun.
    cvt(unsafe {
        libc::ioctl(
            file.as_raw_fd(),
            libc::TUNSETIFF as _,
            &mut req as *mut IfReq,
        )
    })?;
    let len = req
        .name
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(libc::IFNAMSIZ);
    Ok(String::from_utf8_lossy(req.name.get(..len).unwrap_or_default()).into_owned())
}

/// Set by the SIGINT/SIGTERM handler of [`stop_on_signals`].
static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    STOP.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Make SIGINT and SIGTERM set a flag instead of killing the process, so a
/// long-running loop (the bridge) can print its counters and exit. The
/// loop polls the returned flag; a blocked `ppoll` returns early (EINTR).
pub fn stop_on_signals() -> &'static std::sync::atomic::AtomicBool {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: installs a handler that only stores to an atomic, which
        // is async-signal-safe; `signal` has no other preconditions.
        unsafe {
            libc::signal(
                sig,
                on_stop_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
            );
        }
    }
    &STOP
}

/// Set the calling thread's timer slack (`PR_SET_TIMERSLACK`). Linux lets
/// a timed `ppoll` of a normal thread oversleep by the slack, 50 µs by
/// default; a thread that releases paced segments a few µs apart (BBR at
/// tens of MB/s) or delayed frames on time must not be late by that much.
pub fn set_timer_slack(nanos: u64) -> io::Result<()> {
    let nanos = libc::c_ulong::try_from(nanos.max(1)).unwrap_or(libc::c_ulong::MAX);
    // SAFETY: PR_SET_TIMERSLACK takes an integer and no pointers.
    cvt(unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, nanos, 0, 0, 0) }).map(|_| ())
}
