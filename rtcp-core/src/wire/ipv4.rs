//! IPv4 (RFC 791): header view, `Repr`, addresses and prefixes.
// CONTRACT (to be implemented): keep these public names and signatures.

/// An IPv4 address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Ipv4Address(pub [u8; 4]);

impl Ipv4Address {
    /// 0.0.0.0
    pub const UNSPECIFIED: Ipv4Address = Ipv4Address([0; 4]);
    /// 255.255.255.255
    pub const BROADCAST: Ipv4Address = Ipv4Address([255; 4]);
    /// From four octets.
    pub const fn new(a: u8, b: u8, c: u8, d: u8) -> Ipv4Address {
        Ipv4Address([a, b, c, d])
    }
    /// As a big-endian integer.
    pub const fn to_bits(self) -> u32 {
        u32::from_be_bytes(self.0)
    }
    /// From a big-endian integer.
    pub const fn from_bits(bits: u32) -> Ipv4Address {
        Ipv4Address(bits.to_be_bytes())
    }
    /// 0.0.0.0
    pub fn is_unspecified(&self) -> bool {
        self.0 == [0; 4]
    }
    /// 224.0.0.0/4
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0xf0 == 0xe0
    }
    /// 255.255.255.255
    pub fn is_broadcast(&self) -> bool {
        self.0 == [255; 4]
    }
}

/// An address with a prefix length, e.g. 10.0.0.1/24.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Ipv4Cidr {
    /// The address.
    pub address: Ipv4Address,
    /// Prefix length, 0..=32.
    pub prefix_len: u8,
}

/// IP protocol numbers this stack knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum IpProtocol {
    /// 1
    Icmp,
    /// 6
    Tcp,
    /// 17
    Udp,
    /// Anything else.
    Unknown(u8),
}

/// A checked view over an IPv4 packet.
#[derive(Debug, Clone)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

/// The meaning of an IPv4 header (options are skipped on parse and never emitted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Ipv4Repr {
    /// Source address.
    pub src_addr: Ipv4Address,
    /// Destination address.
    pub dst_addr: Ipv4Address,
    /// Payload protocol.
    pub protocol: IpProtocol,
    /// Payload length in bytes (total length minus header length).
    pub payload_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// DSCP (upper 6 bits) and ECN (lower 2 bits), as the second header byte.
    pub dscp_ecn: u8,
    /// Identification.
    pub ident: u16,
    /// Don't Fragment.
    pub dont_frag: bool,
}

// Required API (implement):
// Ipv4Cidr::new(address, prefix_len) -> Ipv4Cidr (prefix clamped or checked), contains(&self, addr) -> bool,
//   netmask() -> Ipv4Address, broadcast() -> Ipv4Address.
// From<[u8;4]>, core::fmt::Display + Debug (dotted quad) for Ipv4Address; Display for Ipv4Cidr ("a.b.c.d/n").
// From<u8> for IpProtocol and From<IpProtocol> for u8.
// Ipv4Packet: new_unchecked, new_checked (>= 20 bytes, version 4, IHL >= 5, IHL*4 <= len, total_len >= IHL*4
//   and <= buffer len), into_inner, getters (version, header_len, dscp_ecn, total_len, ident, dont_frag,
//   more_frags, frag_offset, ttl, next_header, checksum, src_addr, dst_addr), verify_checksum() -> bool,
//   payload() (bounded by total_len: trailing padding ignored), setters + fill_checksum() + payload_mut().
// Ipv4Repr::parse(&Ipv4Packet<T>, checksum: ChecksumMode) -> Result<Ipv4Repr>
//   (Fragment for MF or offset != 0, Checksum if verify_rx and bad),
// Ipv4Repr::buffer_len() -> 20, Ipv4Repr::emit(&self, &mut Ipv4Packet<T>, checksum: ChecksumMode)
//   writes a 20-byte header with total_len = 20 + payload_len, and the checksum when compute_tx.

impl core::fmt::Display for Ipv4Address {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a}.{b}.{c}.{d}")
    }
}

impl core::fmt::Debug for Ipv4Address {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}
