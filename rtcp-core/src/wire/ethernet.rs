//! Ethernet II frames (IEEE 802.3 with an EtherType). 802.1Q tags are
//! recognised and rejected with [`Error::VlanTagged`](super::Error::VlanTagged).
// CONTRACT (to be implemented): keep these public names and signatures.

use super::{Error, Result};

/// A 48-bit MAC address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// ff:ff:ff:ff:ff:ff
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);
    /// Unicast (group bit clear).
    pub fn is_unicast(&self) -> bool {
        self.0[0] & 0x01 == 0
    }
    /// Broadcast address.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }
}

/// EtherType of the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EtherType {
    /// 0x0800
    Ipv4,
    /// 0x0806
    Arp,
    /// Anything else (0x8100 never appears here: a tagged frame is an error).
    Unknown(u16),
}

/// Length of an untagged Ethernet II header.
pub const HEADER_LEN: usize = 14;

/// A checked view over an Ethernet II frame.
#[derive(Debug, Clone)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

/// The meaning of an Ethernet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EthernetRepr {
    /// Source MAC.
    pub src_addr: EthernetAddress,
    /// Destination MAC.
    pub dst_addr: EthernetAddress,
    /// Payload type.
    pub ethertype: EtherType,
}

// Required API (implement):
// impl<T: AsRef<[u8]>> EthernetFrame<T> {
//     pub fn new_unchecked(buffer: T) -> Self;
//     pub fn new_checked(buffer: T) -> Result<Self>;   // >= 14 bytes
//     pub fn into_inner(self) -> T;
//     pub fn dst_addr(&self) -> EthernetAddress; src_addr; ethertype_raw() -> u16; ethertype() -> EtherType
//     pub fn payload(&self) -> &[u8];
// }
// impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> { set_dst_addr, set_src_addr, set_ethertype, payload_mut }
// impl EthernetRepr {
//     pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Result<EthernetRepr>; // 0x8100 -> VlanTagged
//     pub const fn buffer_len(&self) -> usize; // HEADER_LEN
//     pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut EthernetFrame<T>);
// }
#[allow(dead_code)]
fn _unused(_: Error, _: Result<()>) {}

impl core::fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl core::fmt::Debug for EthernetAddress {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}
