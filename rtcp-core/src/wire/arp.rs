//! ARP for IPv4 over Ethernet (RFC 826): request and reply.

use super::ethernet::{read, read_u16, read_u8, write};
use super::{Error, EthernetAddress, Ipv4Address, Result};

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

/// Hardware type for Ethernet (RFC 826; IANA "Hardware Types").
pub const HTYPE_ETHERNET: u16 = 1;
/// Protocol type for IPv4 (the IPv4 EtherType).
pub const PTYPE_IPV4: u16 = 0x0800;
/// Length of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = 28;
/// Length of the fixed part, before the addresses.
pub const FIXED_LEN: usize = 8;

impl From<ArpOperation> for u16 {
    fn from(op: ArpOperation) -> u16 {
        match op {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
        }
    }
}

impl TryFrom<u16> for ArpOperation {
    type Error = Error;
    /// 1 and 2; any other operation (RARP, InARP, ...) is [`Error::Unsupported`].
    fn try_from(raw: u16) -> Result<ArpOperation> {
        match raw {
            1 => Ok(ArpOperation::Request),
            2 => Ok(ArpOperation::Reply),
            _ => Err(Error::Unsupported),
        }
    }
}

/// Field offsets (RFC 826 "Packet format"), the addresses laid out for
/// hlen 6 and plen 4.
mod field {
    pub const HTYPE: usize = 0;
    pub const PTYPE: usize = 2;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: usize = 6;
    pub const SHA: usize = 8;
    pub const SPA: usize = 14;
    pub const THA: usize = 18;
    pub const TPA: usize = 24;
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wraps a buffer without checking it. Getters of a too-short buffer read
    /// zeros and setters write nothing; prefer [`Self::new_checked`].
    pub const fn new_unchecked(buffer: T) -> ArpPacket<T> {
        ArpPacket { buffer }
    }

    /// Wraps a buffer holding the fixed part and the four addresses of the
    /// lengths it declares, or fails with [`Error::Truncated`]. Trailing bytes
    /// (Ethernet padding) are allowed.
    pub fn new_checked(buffer: T) -> Result<ArpPacket<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks the buffer length against the declared address lengths.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < FIXED_LEN {
            return Err(Error::Truncated);
        }
        let addrs = 2 * (usize::from(self.hardware_len()) + usize::from(self.protocol_len()));
        if len < FIXED_LEN + addrs {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Hardware type (1 for Ethernet).
    pub fn hardware_type(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::HTYPE)
    }

    /// Protocol type (0x0800 for IPv4).
    pub fn protocol_type(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::PTYPE)
    }

    /// Hardware address length (6 for Ethernet).
    pub fn hardware_len(&self) -> u8 {
        read_u8(self.buffer.as_ref(), field::HLEN)
    }

    /// Protocol address length (4 for IPv4).
    pub fn protocol_len(&self) -> u8 {
        read_u8(self.buffer.as_ref(), field::PLEN)
    }

    /// The operation field as on the wire.
    pub fn operation_raw(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::OPER)
    }

    /// The operation, if it is a request or a reply.
    pub fn operation(&self) -> Option<ArpOperation> {
        ArpOperation::try_from(self.operation_raw()).ok()
    }

    /// Sender hardware address (valid when hlen is 6 and plen 4).
    pub fn source_hardware_addr(&self) -> EthernetAddress {
        EthernetAddress(read(self.buffer.as_ref(), field::SHA))
    }

    /// Sender protocol address (valid when hlen is 6 and plen 4).
    pub fn source_protocol_addr(&self) -> Ipv4Address {
        Ipv4Address(read(self.buffer.as_ref(), field::SPA))
    }

    /// Target hardware address (valid when hlen is 6 and plen 4).
    pub fn target_hardware_addr(&self) -> EthernetAddress {
        EthernetAddress(read(self.buffer.as_ref(), field::THA))
    }

    /// Target protocol address (valid when hlen is 6 and plen 4).
    pub fn target_protocol_addr(&self) -> Ipv4Address {
        Ipv4Address(read(self.buffer.as_ref(), field::TPA))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Sets the hardware type.
    pub fn set_hardware_type(&mut self, value: u16) {
        write(self.buffer.as_mut(), field::HTYPE, &value.to_be_bytes());
    }

    /// Sets the protocol type.
    pub fn set_protocol_type(&mut self, value: u16) {
        write(self.buffer.as_mut(), field::PTYPE, &value.to_be_bytes());
    }

    /// Sets the hardware address length.
    pub fn set_hardware_len(&mut self, value: u8) {
        write(self.buffer.as_mut(), field::HLEN, &[value]);
    }

    /// Sets the protocol address length.
    pub fn set_protocol_len(&mut self, value: u8) {
        write(self.buffer.as_mut(), field::PLEN, &[value]);
    }

    /// Sets the operation.
    pub fn set_operation(&mut self, op: ArpOperation) {
        self.set_operation_raw(u16::from(op));
    }

    /// Sets the raw operation field.
    pub fn set_operation_raw(&mut self, value: u16) {
        write(self.buffer.as_mut(), field::OPER, &value.to_be_bytes());
    }

    /// Sets the sender hardware address.
    pub fn set_source_hardware_addr(&mut self, addr: EthernetAddress) {
        write(self.buffer.as_mut(), field::SHA, &addr.0);
    }

    /// Sets the sender protocol address.
    pub fn set_source_protocol_addr(&mut self, addr: Ipv4Address) {
        write(self.buffer.as_mut(), field::SPA, &addr.0);
    }

    /// Sets the target hardware address.
    pub fn set_target_hardware_addr(&mut self, addr: EthernetAddress) {
        write(self.buffer.as_mut(), field::THA, &addr.0);
    }

    /// Sets the target protocol address.
    pub fn set_target_protocol_addr(&mut self, addr: Ipv4Address) {
        write(self.buffer.as_mut(), field::TPA, &addr.0);
    }
}

impl ArpRepr {
    /// Reads an Ethernet/IPv4 ARP packet (RFC 826). Another hardware or
    /// protocol type, or other address lengths, is [`Error::Malformed`]; an
    /// operation other than request or reply is [`Error::Unsupported`].
    pub fn parse<T: AsRef<[u8]>>(packet: &ArpPacket<T>) -> Result<ArpRepr> {
        packet.check_len()?;
        if packet.hardware_type() != HTYPE_ETHERNET
            || packet.protocol_type() != PTYPE_IPV4
            || packet.hardware_len() != 6
            || packet.protocol_len() != 4
        {
            return Err(Error::Malformed);
        }
        let operation = ArpOperation::try_from(packet.operation_raw())?;
        Ok(ArpRepr {
            operation,
            source_hardware_addr: packet.source_hardware_addr(),
            source_protocol_addr: packet.source_protocol_addr(),
            target_hardware_addr: packet.target_hardware_addr(),
            target_protocol_addr: packet.target_protocol_addr(),
        })
    }

    /// The packet length: [`PACKET_LEN`] (28).
    pub const fn buffer_len(&self) -> usize {
        PACKET_LEN
    }

    /// Writes the packet (RFC 826 layout). The buffer should hold at least
    /// [`PACKET_LEN`] bytes; a shorter one is left as it was.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut ArpPacket<T>) {
        // The 28 bytes put together here and written at once: one length
        // check instead of one per field (flash, issue 9).
        let [h0, h1] = HTYPE_ETHERNET.to_be_bytes();
        let [p0, p1] = PTYPE_IPV4.to_be_bytes();
        let [o0, o1] = u16::from(self.operation).to_be_bytes();
        let [a0, a1, a2, a3, a4, a5] = self.source_hardware_addr.0;
        let [b0, b1, b2, b3] = self.source_protocol_addr.0;
        let [c0, c1, c2, c3, c4, c5] = self.target_hardware_addr.0;
        let [d0, d1, d2, d3] = self.target_protocol_addr.0;
        let out: [u8; PACKET_LEN] = [
            h0, h1, p0, p1, 6, 4, o0, o1, a0, a1, a2, a3, a4, a5, b0, b1, b2, b3, c0, c1, c2, c3,
            c4, c5, d0, d1, d2, d3,
        ];
        write(packet.buffer.as_mut(), 0, &out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ARP body of a Linux ARP request: who has 192.168.1.1? tell
    /// 192.168.1.10 (target hardware address zero), plus Ethernet padding.
    const REQUEST: [u8; 46] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // Ethernet, IPv4, 6, 4, request
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0xc0, 0xa8, 0x01, 0x0a, // sha, spa
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xa8, 0x01, 0x01, // tha, tpa
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // padding
    ];

    /// The reply from 192.168.1.1.
    const REPLY: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, // reply
        0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc, 0xc0, 0xa8, 0x01, 0x01, // sha, spa
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0xc0, 0xa8, 0x01, 0x0a, // tha, tpa
    ];

    fn request_repr() -> ArpRepr {
        ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: EthernetAddress([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]),
            source_protocol_addr: Ipv4Address::new(192, 168, 1, 10),
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: Ipv4Address::new(192, 168, 1, 1),
        }
    }

    #[test]
    fn parse_request() {
        let packet = ArpPacket::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(packet.hardware_type(), 1);
        assert_eq!(packet.protocol_type(), 0x0800);
        assert_eq!(packet.operation(), Some(ArpOperation::Request));
        assert_eq!(ArpRepr::parse(&packet), Ok(request_repr()));
    }

    #[test]
    fn parse_and_emit_reply() {
        let packet = ArpPacket::new_checked(&REPLY[..]).unwrap();
        let repr = ArpRepr::parse(&packet).unwrap();
        assert_eq!(repr.operation, ArpOperation::Reply);
        assert_eq!(repr.source_protocol_addr, Ipv4Address::new(192, 168, 1, 1));
        let mut out = [0u8; 28];
        repr.emit(&mut ArpPacket::new_unchecked(&mut out[..]));
        assert_eq!(out, REPLY);
        assert_eq!(repr.buffer_len(), 28);
    }

    #[test]
    fn emit_request_matches_capture() {
        let mut out = [0u8; 28];
        request_repr().emit(&mut ArpPacket::new_unchecked(&mut out[..]));
        assert_eq!(out[..], REQUEST[..28]);
    }

    #[test]
    fn short_buffers() {
        for len in 0..PACKET_LEN {
            let packet = ArpPacket::new_unchecked(&REQUEST[..len]);
            assert_eq!(packet.check_len(), Err(Error::Truncated), "len {len}");
            assert_eq!(ArpRepr::parse(&packet), Err(Error::Truncated));
        }
        // Emitting into a short buffer writes nothing past its end.
        for len in 0..PACKET_LEN {
            let mut out = [0u8; PACKET_LEN];
            request_repr().emit(&mut ArpPacket::new_unchecked(&mut out[..len]));
            assert!(out[len..].iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn wrong_types_and_lengths() {
        // (offset, value) pairs, each making the packet something we do not handle.
        let cases: [(usize, u8); 5] = [
            (1, 6),    // htype 6 (IEEE 802)
            (2, 0x86), // ptype 0x86dd
            (3, 0x06), // ptype 0x0806
            (4, 8),    // hlen 8
            (5, 16),   // plen 16
        ];
        for (at, value) in cases {
            let mut buf = [0u8; 64];
            buf[..46].copy_from_slice(&REQUEST);
            buf[at] = value;
            let packet = ArpPacket::new_checked(&buf[..]).unwrap();
            assert_eq!(ArpRepr::parse(&packet), Err(Error::Malformed), "{at}");
        }
        // hlen 255 claims more than the buffer holds.
        let mut buf = REQUEST;
        buf[4] = 255;
        assert_eq!(
            ArpPacket::new_checked(&buf[..]).err(),
            Some(Error::Truncated)
        );
    }

    #[test]
    fn other_operations_unsupported() {
        for op in [0u16, 3, 4, 8, 9, 0xffff] {
            let mut buf = REQUEST;
            buf[6..8].copy_from_slice(&op.to_be_bytes());
            let packet = ArpPacket::new_checked(&buf[..]).unwrap();
            assert_eq!(packet.operation(), None);
            assert_eq!(ArpRepr::parse(&packet), Err(Error::Unsupported));
        }
    }
}
