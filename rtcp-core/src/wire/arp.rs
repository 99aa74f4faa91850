//! ARP for IPv4 over Ethernet (RFC 826): request and reply.
// CONTRACT (to be implemented): keep these public names and signatures.

use super::{EthernetAddress, Ipv4Address};

/// ARP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ArpOperation {
    /// 1
    Request,
    /// 2
    Reply,
}

/// A checked view over an ARP packet.
#[derive(Debug, Clone)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

/// An Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ArpRepr {
    /// Request or reply.
    pub operation: ArpOperation,
    /// Sender hardware address.
    pub source_hardware_addr: EthernetAddress,
    /// Sender protocol address.
    pub source_protocol_addr: Ipv4Address,
    /// Target hardware address.
    pub target_hardware_addr: EthernetAddress,
    /// Target protocol address.
    pub target_protocol_addr: Ipv4Address,
}

// Required API (implement): ArpPacket::{new_unchecked, new_checked, into_inner, getters/setters};
// ArpRepr::parse(&ArpPacket<T>) -> Result<ArpRepr> (htype 1, ptype 0x0800, hlen 6, plen 4, else Malformed;
//   other operations -> Unsupported); ArpRepr::buffer_len() -> 28; ArpRepr::emit(&self, &mut ArpPacket<T>).
