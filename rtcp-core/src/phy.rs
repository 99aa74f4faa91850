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
}
