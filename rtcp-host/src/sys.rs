//! The system calls rtcp-host needs that std does not wrap: eventfd, ppoll,
//! AF_PACKET sockets with batched reads and writes (`recvmmsg`,
//! `sendmmsg`), the TAP ioctl and the effective uid. Every
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

/// An `AF_PACKET`/`SOCK_RAW` socket for all EtherTypes, non-blocking, with
/// `buffer`-byte kernel send and receive buffers (forced past `rmem_max`
/// when root), that does not see its own outgoing frames. With `vnet_hdr`
/// it also asks for `PACKET_VNET_HDR` (see `backend::vnet`); the second
/// value says whether the kernel agreed. Bind it with [`packet_bind`].
pub fn packet_socket(buffer: usize, vnet_hdr: bool) -> io::Result<(OwnedFd, bool)> {
    // Protocol 0: the socket receives nothing until `packet_bind` names the
    // interface and the EtherTypes, so no frame of another interface slips
    // in before the bind.
    // SAFETY: socket takes no pointers; a non-negative return is a fresh descriptor.
    let fd = cvt(unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    })?;
    // SAFETY: `fd` was just returned by socket and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let raw = fd.as_raw_fd();
    let size = buffer.min(i32::MAX as usize) as libc::c_int;
    if setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, size).is_err() {
        let _ = setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, size);
    }
    if setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, size).is_err() {
        let _ = setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_SNDBUF, size);
    }
    // Best effort: older kernels loop our own frames back, which the
    // interface then drops as "not for us".
    let _ = setsockopt_int(raw, libc::SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
    let vnet = vnet_hdr && setsockopt_int(raw, libc::SOL_PACKET, libc::PACKET_VNET_HDR, 1).is_ok();
    Ok((fd, vnet))
}

/// The MTU of the interface `name` (its IP MTU, from sysfs), or 1500 when
/// it cannot be read.
pub fn if_mtu(name: &str) -> usize {
    std::fs::read_to_string(format!("/sys/class/net/{name}/mtu"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1500)
}

/// The index of the interface `name`.
pub fn if_index(name: &str) -> io::Result<u32> {
    let c = std::ffi::CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "bad interface name"))?;
    // SAFETY: passes a live NUL-terminated string; returns 0 on failure.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        let e = io::Error::last_os_error();
        return Err(if e.raw_os_error() == Some(libc::ENODEV) {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("no interface named {name}"),
            )
        } else {
            e
        });
    }
    Ok(index)
}

/// Bind a packet socket to interface `index` (all EtherTypes) and make the
/// interface promiscuous for as long as the socket is open, so frames to
/// the stack's own MAC (which the NIC does not own) are seen.
pub fn packet_bind(fd: RawFd, index: u32) -> io::Result<()> {
    let ifindex = libc::c_int::try_from(index)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index too large"))?;
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as libc::c_ushort;
    sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sll.sll_ifindex = ifindex;
    // SAFETY: passes a pointer to a live sockaddr_ll and its exact size.
    cvt(unsafe {
        libc::bind(
            fd,
            (&sll as *const libc::sockaddr_ll).cast::<libc::sockaddr>(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    })?;
    let mreq = libc::packet_mreq {
        mr_ifindex: ifindex,
        mr_type: libc::PACKET_MR_PROMISC as libc::c_ushort,
        mr_alen: 0,
        mr_address: [0; 8],
    };
    // SAFETY: passes a pointer to a live packet_mreq and its exact size.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_ADD_MEMBERSHIP,
            (&mreq as *const libc::packet_mreq).cast::<libc::c_void>(),
            std::mem::size_of::<libc::packet_mreq>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

/// Most messages one [`recv_many`] or [`send_many`] call moves.
pub const BATCH: usize = 64;

/// Read up to `lens.len()` (at most [`BATCH`]) datagrams from the
/// non-blocking socket `fd` with one `recvmmsg(2)`, the i-th into
/// `area[i * slot..(i + 1) * slot]`. Sets `lens[i]` to its length, or to
/// `usize::MAX` if it was longer than `slot` (truncated). Returns how many
/// were read; 0 when none is waiting.
pub fn recv_many(fd: RawFd, area: &mut [u8], slot: usize, lens: &mut [usize]) -> io::Result<usize> {
    let n = lens.len().min(BATCH).min(area.len() / slot.max(1));
    if n == 0 || slot == 0 {
        return Ok(0);
    }
    let mut iov = [libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }; BATCH];
    for (v, chunk) in iov.iter_mut().zip(area.chunks_exact_mut(slot)).take(n) {
        v.iov_base = chunk.as_mut_ptr().cast::<libc::c_void>();
        v.iov_len = slot;
    }
    // SAFETY: mmsghdr is plain old data; all-zero is a valid value (no
    // name, no control data).
    let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    for (m, v) in msgs.iter_mut().zip(iov.iter_mut()).take(n) {
        m.msg_hdr.msg_iov = v as *mut libc::iovec;
        m.msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: the first `n` entries of `msgs` each point at one iovec that
    // covers a distinct `slot`-byte piece of `area`, which is borrowed
    // mutably for the whole call; no name or control buffers; the kernel
    // writes at most `slot` bytes per message and the lengths into `msgs`.
    // MSG_DONTWAIT: never blocks; no timeout pointer.
    let ret = unsafe {
        libc::recvmmsg(
            fd,
            msgs.as_mut_ptr(),
            n as libc::c_uint,
            libc::MSG_DONTWAIT | libc::MSG_TRUNC,
            std::ptr::null_mut(),
        )
    };
    if ret < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::EAGAIN) | Some(libc::EINTR) => Ok(0),
            _ => Err(e),
        };
    }
    let got = (ret as usize).min(n);
    for (l, m) in lens.iter_mut().zip(msgs.iter()).take(got) {
        let len = m.msg_len as usize;
        *l = if len > slot || m.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
            usize::MAX
        } else {
            len
        };
    }
    Ok(got)
}

/// Send the datagrams `frames` (at most [`BATCH`]) in order on the bound,
/// non-blocking socket `fd` with one `sendmmsg(2)`, each preceded by
/// `prefix` (a second iovec; empty for none). Returns how many the kernel
/// took, at least one; an error means the first one failed (with
/// `WouldBlock` when the socket is full).
pub fn send_many(fd: RawFd, prefix: &[u8], frames: &[&[u8]]) -> io::Result<usize> {
    send_many_with(fd, |_| prefix, !prefix.is_empty(), frames)
}

/// [`send_many`] with a prefix per frame: `prefixes[i]` before
/// `frames[i]` (all non-empty, as many as the frames).
pub fn send_many_prefixed(fd: RawFd, prefixes: &[&[u8]], frames: &[&[u8]]) -> io::Result<usize> {
    let n = frames.len().min(prefixes.len());
    send_many_with(
        fd,
        |i| prefixes.get(i).copied().unwrap_or_default(),
        true,
        frames.get(..n).unwrap_or_default(),
    )
}

fn send_many_with<'p>(
    fd: RawFd,
    prefix: impl Fn(usize) -> &'p [u8],
    prefixed: bool,
    frames: &[&[u8]],
) -> io::Result<usize> {
    let n = frames.len().min(BATCH);
    if n == 0 {
        return Ok(0);
    }
    let parts = if prefixed { 2 } else { 1 };
    let mut iov = [libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }; 2 * BATCH];
    for (i, (pair, frame)) in iov.chunks_exact_mut(2).zip(frames).take(n).enumerate() {
        let pieces: [&[u8]; 2] = if prefixed {
            [prefix(i), frame]
        } else {
            [frame, &[]]
        };
        for (v, p) in pair.iter_mut().zip(pieces) {
            // sendmmsg only reads through these pointers.
            v.iov_base = p.as_ptr().cast_mut().cast::<libc::c_void>();
            v.iov_len = p.len();
        }
    }
    // SAFETY: mmsghdr is plain old data; all-zero is a valid value.
    let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    for (m, pair) in msgs.iter_mut().zip(iov.chunks_exact_mut(2)).take(n) {
        m.msg_hdr.msg_iov = pair.as_mut_ptr();
        m.msg_hdr.msg_iovlen = parts;
    }
    // SAFETY: the first `n` entries of `msgs` each point at `parts` iovecs
    // in `iov`, which point into the prefixes and `frames`, all borrowed for
    // the whole call; the kernel only reads them (and writes `msg_len`).
    // No destination address: the socket is bound to its interface.
    let ret =
        unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), n as libc::c_uint, libc::MSG_DONTWAIT) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ret as usize)
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
