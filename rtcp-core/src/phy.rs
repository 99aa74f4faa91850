//! The device layer: how frames get in and out.
//!
//! A driver implements [`Device`]. Receiving yields an [`RxToken`] whose
//! frame is parsed in place; transmitting yields a [`TxToken`] into whose
//! buffer the interface writes the outgoing frame directly, so a segment is
//! built once, where the driver will send it from.

use crate::time::Instant;

/// What a device can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DeviceCapabilities {
    /// Largest IP packet the link carries (the Ethernet payload), usually 1500.
    pub mtu: usize,
    /// Which checksums the hardware handles.
    pub checksum: ChecksumOffload,
    /// Most frames the interface should emit in one poll (0 = no limit).
    pub max_burst: usize,
}

impl Default for DeviceCapabilities {
    fn default() -> Self {
        DeviceCapabilities {
            mtu: 1500,
            checksum: ChecksumOffload::default(),
            max_burst: 0,
        }
    }
}

/// Checksum offload flags: `true` means the device verifies (on receive)
/// or fills in (on transmit) that checksum, so software skips it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ChecksumOffload {
    /// IPv4 header checksum verified by the device on receive.
    pub ipv4_rx: bool,
    /// IPv4 header checksum filled by the device on transmit.
    pub ipv4_tx: bool,
    /// TCP checksum verified by the device on receive.
    pub tcp_rx: bool,
    /// TCP checksum filled by the device on transmit.
    pub tcp_tx: bool,
    /// ICMP checksum verified by the device on receive.
    pub icmp_rx: bool,
    /// ICMP checksum filled by the device on transmit.
    pub icmp_tx: bool,
}

/// A received frame, handed over once.
pub trait RxToken {
    /// Give the frame bytes to `f`.
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R;
}

/// Permission to send one frame.
pub trait TxToken {
    /// Let `f` fill a `len`-byte frame buffer, then send it.
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R;

    /// Like [`consume`](Self::consume), for a TCP super-segment that the
    /// device (or whatever is below it) must cut into segments of
    /// `segment_size` payload bytes: TCP segmentation offload. The frame is
    /// Ethernet + IPv4 + TCP as usual, but its IPv4 total length may exceed
    /// the MTU (up to [`Device::tso_max_size`]). Every piece is to carry the
    /// same IP and TCP headers, with the IP length, identification and
    /// checksum and the TCP sequence number and checksum fixed up, and FIN
    /// and PSH only on the last piece, CWR only on the first (as Linux's
    /// GSO and the virtio-net `GSO_TCPV4` contract do). The TCP checksum
    /// field holds a complete checksum of the whole super-segment unless the
    /// device offloads TCP checksums ([`ChecksumOffload::tcp_tx`]).
    ///
    /// The interface calls this only on devices whose
    /// [`Device::tso_max_size`] is non-zero; the default sends the frame
    /// as it is, which is right for nothing else.
    fn consume_segmented<R, F: FnOnce(&mut [u8]) -> R>(
        self,
        len: usize,
        segment_size: usize,
        f: F,
    ) -> R
    where
        Self: Sized,
    {
        let _ = segment_size;
        self.consume(len, f)
    }
}

/// A network device (a NIC driver, a raw socket, a TAP, a simulated link).
pub trait Device {
    /// Receive token type.
    type RxToken<'a>: RxToken
    where
        Self: 'a;
    /// Transmit token type.
    type TxToken<'a>: TxToken
    where
        Self: 'a;

    /// A received frame, with a transmit token for an immediate reply.
    fn receive(&mut self, now: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)>;
    /// A transmit token, if the device can send now.
    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>>;
    /// What the device can do.
    fn capabilities(&self) -> DeviceCapabilities;

    /// TCP segmentation offload: the largest IPv4 packet (total length,
    /// at most 65 535) the device accepts as a TCP super-segment through
    /// [`TxToken::consume_segmented`], or 0 (the default) when it takes
    /// only MTU-sized packets. Values not above the MTU mean 0. The
    /// interface then lets a connection send new data as one segment of
    /// several MSS, which the device or the kernel below it splits, so a
    /// host stack crosses into the kernel once per super-segment instead of
    /// once per MSS. A provided method, not a [`DeviceCapabilities`] field,
    /// so that every existing driver keeps compiling as it is.
    fn tso_max_size(&self) -> usize {
        0
    }
}
