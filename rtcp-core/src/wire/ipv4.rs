//! IPv4 (RFC 791): header view, `Repr`, addresses and prefixes.

use super::checksum;
use super::ethernet::{read, read_u16, read_u8, write};
use super::{ChecksumMode, Error, Result};

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

/// A Differentiated Services codepoint (RFC 2474 §3): the upper six bits of
/// the second IPv4 header octet. Only values below 64 exist, so a `Dscp`
/// is always valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Dscp(u8);

impl Dscp {
    /// Default forwarding (CS0, RFC 2474 §4.1).
    pub const DEFAULT: Dscp = Dscp(0);
    /// Expedited Forwarding (RFC 3246).
    pub const EF: Dscp = Dscp(46);

    /// The codepoint `value`, or `None` if it does not fit in six bits.
    pub const fn new(value: u8) -> Option<Dscp> {
        if value < 64 {
            Some(Dscp(value))
        } else {
            None
        }
    }

    /// The six-bit value.
    pub const fn value(self) -> u8 {
        self.0
    }

    /// The second header octet for this codepoint and the ECN bits `ecn`
    /// (the low two bits, RFC 3168 §5).
    pub const fn with_ecn(self, ecn: u8) -> u8 {
        (self.0 << 2) | (ecn & 0x03)
    }
}

/// The ECN field: the low two bits of the second IPv4 header octet
/// (RFC 3168 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Ecn {
    /// 00: the transport does not do ECN (Not-ECT).
    #[default]
    NotEct,
    /// 01: ECN-capable transport, ECT(1).
    Ect1,
    /// 10: ECN-capable transport, ECT(0) (what RFC 3168 §6.1.2 senders use).
    Ect0,
    /// 11: Congestion Experienced, set by a router instead of dropping.
    Ce,
}

impl Ecn {
    /// The codepoint in the low two bits of `octet` (the rest is ignored).
    pub const fn from_bits(octet: u8) -> Ecn {
        match octet & 0x03 {
            0 => Ecn::NotEct,
            1 => Ecn::Ect1,
            2 => Ecn::Ect0,
            _ => Ecn::Ce,
        }
    }

    /// The two-bit value.
    pub const fn bits(self) -> u8 {
        match self {
            Ecn::NotEct => 0,
            Ecn::Ect1 => 1,
            Ecn::Ect0 => 2,
            Ecn::Ce => 3,
        }
    }
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

/// Length of a header without options.
pub const HEADER_LEN: usize = 20;
/// Length of a header with the most options (IHL 15).
pub const MAX_HEADER_LEN: usize = 60;

impl From<[u8; 4]> for Ipv4Address {
    fn from(octets: [u8; 4]) -> Ipv4Address {
        Ipv4Address(octets)
    }
}

impl From<Ipv4Address> for [u8; 4] {
    fn from(addr: Ipv4Address) -> [u8; 4] {
        addr.0
    }
}

impl From<core::net::Ipv4Addr> for Ipv4Address {
    fn from(addr: core::net::Ipv4Addr) -> Ipv4Address {
        Ipv4Address(addr.octets())
    }
}

impl From<Ipv4Address> for core::net::Ipv4Addr {
    fn from(addr: Ipv4Address) -> core::net::Ipv4Addr {
        core::net::Ipv4Addr::from(addr.0)
    }
}

impl Ipv4Address {
    /// The address from four bytes; `None` unless `bytes` is 4 long.
    pub fn from_bytes(bytes: &[u8]) -> Option<Ipv4Address> {
        bytes.try_into().ok().map(Ipv4Address)
    }
    /// The octets.
    pub const fn as_bytes(&self) -> &[u8; 4] {
        &self.0
    }
    /// 127.0.0.0/8 (RFC 1122 §3.2.1.3 (g)).
    pub fn is_loopback(&self) -> bool {
        self.0[0] == 127
    }
    /// 169.254.0.0/16 (RFC 3927).
    pub fn is_link_local(&self) -> bool {
        self.0[0] == 169 && self.0[1] == 254
    }
    /// Neither unspecified, broadcast nor multicast: an address a single host
    /// may own (RFC 1122 §3.2.1.3).
    pub fn is_unicast(&self) -> bool {
        !(self.is_unspecified() || self.is_broadcast() || self.is_multicast())
    }
}

impl Ipv4Cidr {
    /// An address with a prefix length; lengths above 32 are clamped to 32.
    pub const fn new(address: Ipv4Address, prefix_len: u8) -> Ipv4Cidr {
        let prefix_len = if prefix_len > 32 { 32 } else { prefix_len };
        Ipv4Cidr {
            address,
            prefix_len,
        }
    }

    /// The address.
    pub const fn address(&self) -> Ipv4Address {
        self.address
    }

    /// The prefix length (0..=32).
    pub const fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// The mask as a big-endian integer (0 for /0, all ones for /32).
    const fn mask_bits(&self) -> u32 {
        // The field is public: clamp again rather than trust `new`. A shift
        // by 32 (the /0 mask) is out of range: `checked_shl` gives `None`
        // for it, and the two become a conditional select rather than a
        // branch (every received segment and every route ask; issue 9).
        let len = if self.prefix_len > 32 {
            32
        } else {
            self.prefix_len as u32
        };
        match u32::MAX.checked_shl(32 - len) {
            Some(mask) => mask,
            None => 0,
        }
    }

    /// The netmask, e.g. 255.255.255.0 for /24.
    pub const fn netmask(&self) -> Ipv4Address {
        Ipv4Address::from_bits(self.mask_bits())
    }

    /// The network address (host bits cleared).
    pub const fn network(&self) -> Ipv4Address {
        Ipv4Address::from_bits(self.address.to_bits() & self.mask_bits())
    }

    /// The directed broadcast address (host bits set). For /31 and /32, which
    /// have no broadcast address (RFC 3021), this is still the all-ones-host
    /// address of the prefix.
    pub const fn broadcast(&self) -> Ipv4Address {
        Ipv4Address::from_bits(self.address.to_bits() | !self.mask_bits())
    }

    /// Whether `addr` lies inside the prefix.
    pub const fn contains(&self, addr: &Ipv4Address) -> bool {
        (addr.to_bits() ^ self.address.to_bits()) & self.mask_bits() == 0
    }
}

impl core::fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

impl From<u8> for IpProtocol {
    fn from(raw: u8) -> IpProtocol {
        match raw {
            1 => IpProtocol::Icmp,
            6 => IpProtocol::Tcp,
            17 => IpProtocol::Udp,
            other => IpProtocol::Unknown(other),
        }
    }
}

impl From<IpProtocol> for u8 {
    fn from(p: IpProtocol) -> u8 {
        match p {
            IpProtocol::Icmp => 1,
            IpProtocol::Tcp => 6,
            IpProtocol::Udp => 17,
            IpProtocol::Unknown(other) => other,
        }
    }
}

/// Field offsets (RFC 791 §3.1 "Internet Header Format").
mod field {
    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const TOTAL_LEN: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLAGS_FRAG: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: usize = 10;
    pub const SRC: usize = 12;
    pub const DST: usize = 16;
}

/// Flags, in the 16-bit flags/fragment-offset word (RFC 791 §3.1).
const FLAG_RESERVED: u16 = 0x8000;
const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const FRAG_OFFSET_MASK: u16 = 0x1fff;

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps a buffer without checking it. Getters of a too-short buffer read
    /// zeros and setters write nothing; prefer [`Self::new_checked`].
    pub const fn new_unchecked(buffer: T) -> Ipv4Packet<T> {
        Ipv4Packet { buffer }
    }

    /// Wraps a buffer after [`Self::check_len`].
    pub fn new_checked(buffer: T) -> Result<Ipv4Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks the header against the buffer (RFC 791 §3.1, RFC 1122
    /// §3.2.1.1–2):
    /// - at least 20 bytes, else [`Error::Truncated`];
    /// - version 4 and IHL ≥ 5, else [`Error::Malformed`];
    /// - the IHL-declared header fits, else [`Error::Truncated`];
    /// - total length ≥ header length, else [`Error::Malformed`];
    /// - total length ≤ buffer length, else [`Error::Truncated`]. A longer
    ///   buffer is fine: the bytes past the total length (Ethernet padding)
    ///   are not part of the packet.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 4 {
            return Err(Error::Malformed);
        }
        let header_len = usize::from(self.header_len());
        if header_len < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if header_len > len {
            return Err(Error::Truncated);
        }
        let total_len = usize::from(self.total_len());
        if total_len < header_len {
            return Err(Error::Malformed);
        }
        if total_len > len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn byte(&self, at: usize) -> u8 {
        read_u8(self.buffer.as_ref(), at)
    }

    fn word(&self, at: usize) -> u16 {
        read_u16(self.buffer.as_ref(), at)
    }

    /// Version (4).
    pub fn version(&self) -> u8 {
        self.byte(field::VER_IHL) >> 4
    }

    /// Header length in bytes (IHL × 4), options included.
    pub fn header_len(&self) -> u8 {
        (self.byte(field::VER_IHL) & 0x0f) * 4
    }

    /// The second header byte: DSCP (upper 6 bits, RFC 2474) and ECN (lower
    /// 2 bits, RFC 3168).
    pub fn dscp_ecn(&self) -> u8 {
        self.byte(field::DSCP_ECN)
    }

    /// DSCP (RFC 2474 §3).
    pub fn dscp(&self) -> u8 {
        self.dscp_ecn() >> 2
    }

    /// ECN codepoint (RFC 3168 §5).
    pub fn ecn(&self) -> u8 {
        self.dscp_ecn() & 0x03
    }

    /// Total length: header plus payload, in bytes.
    pub fn total_len(&self) -> u16 {
        self.word(field::TOTAL_LEN)
    }

    /// Identification.
    pub fn ident(&self) -> u16 {
        self.word(field::IDENT)
    }

    /// The reserved flag (must be zero, RFC 791 §3.1; not enforced).
    pub fn reserved_flag(&self) -> bool {
        self.word(field::FLAGS_FRAG) & FLAG_RESERVED != 0
    }

    /// Don't Fragment.
    pub fn dont_frag(&self) -> bool {
        self.word(field::FLAGS_FRAG) & FLAG_DF != 0
    }

    /// More Fragments.
    pub fn more_frags(&self) -> bool {
        self.word(field::FLAGS_FRAG) & FLAG_MF != 0
    }

    /// Fragment offset **in bytes** (the 13-bit field × 8).
    pub fn frag_offset(&self) -> u16 {
        (self.word(field::FLAGS_FRAG) & FRAG_OFFSET_MASK) << 3
    }

    /// Whether this is a fragment: MF set or a non-zero offset (RFC 791 §2.3).
    pub fn is_fragment(&self) -> bool {
        self.word(field::FLAGS_FRAG) & (FLAG_MF | FRAG_OFFSET_MASK) != 0
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.byte(field::TTL)
    }

    /// Payload protocol.
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.byte(field::PROTOCOL))
    }

    /// Header checksum as stored.
    pub fn checksum(&self) -> u16 {
        self.word(field::CHECKSUM)
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv4Address {
        Ipv4Address(read(self.buffer.as_ref(), field::SRC))
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv4Address {
        Ipv4Address(read(self.buffer.as_ref(), field::DST))
    }

    /// The header, options included (empty if the IHL does not fit).
    pub fn header(&self) -> &[u8] {
        let len = usize::from(self.header_len());
        self.buffer.as_ref().get(..len).unwrap_or(&[])
    }

    /// The options (empty without options or if the IHL does not fit).
    pub fn options(&self) -> &[u8] {
        self.header().get(HEADER_LEN..).unwrap_or(&[])
    }

    /// Whether the header checksum verifies: the sum over the header,
    /// checksum included, is all ones (RFC 791 §3.1, RFC 1071 §1).
    pub fn verify_checksum(&self) -> bool {
        let header = self.header();
        match <&[u8; HEADER_LEN]>::try_from(header) {
            Ok(fixed) => checksum::ipv4_header(fixed) == 0xffff,
            Err(_) => header.len() >= HEADER_LEN && checksum::data(header) == 0xffff,
        }
    }

    /// The payload: from the end of the header to the total length, so
    /// trailing link-layer padding is excluded. Empty if the lengths do not
    /// fit the buffer (a checked packet always fits).
    pub fn payload(&self) -> &[u8] {
        let start = usize::from(self.header_len());
        let end = usize::from(self.total_len());
        self.buffer.as_ref().get(start..end).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    fn set_byte(&mut self, at: usize, value: u8) {
        write(self.buffer.as_mut(), at, &[value]);
    }

    fn set_word(&mut self, at: usize, value: u16) {
        write(self.buffer.as_mut(), at, &value.to_be_bytes());
    }

    /// Sets the version.
    pub fn set_version(&mut self, version: u8) {
        let b = self.byte(field::VER_IHL);
        self.set_byte(field::VER_IHL, (version << 4) | (b & 0x0f));
    }

    /// Sets the header length in bytes (a multiple of 4, 20..=60; stored as
    /// length / 4).
    pub fn set_header_len(&mut self, len: u8) {
        let b = self.byte(field::VER_IHL);
        self.set_byte(field::VER_IHL, (b & 0xf0) | ((len / 4) & 0x0f));
    }

    /// Sets DSCP and ECN (the second header byte).
    pub fn set_dscp_ecn(&mut self, value: u8) {
        self.set_byte(field::DSCP_ECN, value);
    }

    /// Sets the total length.
    pub fn set_total_len(&mut self, len: u16) {
        self.set_word(field::TOTAL_LEN, len);
    }

    /// Sets the identification.
    pub fn set_ident(&mut self, ident: u16) {
        self.set_word(field::IDENT, ident);
    }

    fn set_flag(&mut self, flag: u16, on: bool) {
        let w = self.word(field::FLAGS_FRAG);
        self.set_word(field::FLAGS_FRAG, if on { w | flag } else { w & !flag });
    }

    /// Sets Don't Fragment.
    pub fn set_dont_frag(&mut self, on: bool) {
        self.set_flag(FLAG_DF, on);
    }

    /// Sets More Fragments.
    pub fn set_more_frags(&mut self, on: bool) {
        self.set_flag(FLAG_MF, on);
    }

    /// Sets the fragment offset, **in bytes** (stored as offset / 8).
    pub fn set_frag_offset(&mut self, offset: u16) {
        let w = self.word(field::FLAGS_FRAG);
        self.set_word(
            field::FLAGS_FRAG,
            (w & !FRAG_OFFSET_MASK) | ((offset >> 3) & FRAG_OFFSET_MASK),
        );
    }

    /// Sets the time to live.
    pub fn set_ttl(&mut self, ttl: u8) {
        self.set_byte(field::TTL, ttl);
    }

    /// Sets the payload protocol.
    pub fn set_next_header(&mut self, protocol: IpProtocol) {
        self.set_byte(field::PROTOCOL, u8::from(protocol));
    }

    /// Sets the stored checksum.
    pub fn set_checksum(&mut self, value: u16) {
        self.set_word(field::CHECKSUM, value);
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: Ipv4Address) {
        write(self.buffer.as_mut(), field::SRC, &addr.0);
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: Ipv4Address) {
        write(self.buffer.as_mut(), field::DST, &addr.0);
    }

    /// Computes and stores the header checksum over the IHL-declared header
    /// (RFC 791 §3.1: the checksum field is zero while summing).
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::data(self.header());
        self.set_checksum(!sum);
    }

    /// Decrements the TTL and updates the checksum incrementally (RFC 1624
    /// §3, RFC 1812 §5.3.1). Returns the new TTL; a TTL of zero stays zero.
    pub fn decrement_ttl(&mut self) -> u8 {
        let old = self.word(field::TTL);
        let ttl = self.ttl().saturating_sub(1);
        self.set_ttl(ttl);
        let new = self.word(field::TTL);
        let updated = checksum::update(self.checksum(), old, new);
        self.set_checksum(updated);
        ttl
    }

    /// The payload (bounded by the total length), writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = usize::from(self.header_len());
        let end = usize::from(self.total_len());
        self.buffer.as_mut().get_mut(start..end).unwrap_or(&mut [])
    }
}

impl Ipv4Repr {
    /// Reads the header (RFC 791 §3.1). Checks the lengths as
    /// [`Ipv4Packet::check_len`] does, then the checksum when
    /// `checksum.verify_rx` ([`Error::Checksum`]), then refuses fragments
    /// (MF set or non-zero offset: [`Error::Fragment`]; the view still exposes
    /// their fields). Options are skipped.
    pub fn parse<T: AsRef<[u8]>>(
        packet: &Ipv4Packet<T>,
        checksum: ChecksumMode,
    ) -> Result<Ipv4Repr> {
        packet.check_len()?;
        if checksum.verify_rx && !packet.verify_checksum() {
            return Err(Error::Checksum);
        }
        if packet.is_fragment() {
            return Err(Error::Fragment);
        }
        // check_len guarantees total length >= header length.
        let payload_len =
            usize::from(packet.total_len()).saturating_sub(usize::from(packet.header_len()));
        Ok(Ipv4Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.next_header(),
            payload_len,
            ttl: packet.ttl(),
            dscp_ecn: packet.dscp_ecn(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
        })
    }

    /// The emitted header length: [`HEADER_LEN`] (options are never emitted).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes a 20-byte header with total length `20 + payload_len` (saturated
    /// at 65535; `payload_len` should be at most 65515), MF and offset zero,
    /// and the checksum when `checksum.compute_tx` (zero otherwise, for the
    /// device to fill). The buffer should hold at least [`HEADER_LEN`] bytes;
    /// fields that would not fit are not written.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Ipv4Packet<T>,
        checksum: ChecksumMode,
    ) {
        let header = self.header(&[], checksum);
        if let Some(out) = packet.buffer.as_mut().first_chunk_mut::<HEADER_LEN>() {
            *out = header;
        }
    }

    /// The fixed header that [`emit`](Self::emit) writes, followed on the
    /// wire by `options` (already valid: a multiple of 4, at most 40 bytes,
    /// RFC 791 §3.1), which the header length, total length and checksum
    /// cover.
    ///
    /// The header is built in registers, as five 32-bit words, and returned
    /// to be stored at once (one bounds check instead of one per field).
    /// The checksum sums the words as numbers: 2^16 is 1 modulo 2^16 - 1,
    /// so a 32-bit word adds the same as its two 16-bit halves (RFC 1071
    /// §2 (C)), and no bytes are read back from memory.
    // Out of line on 32-bit targets (flash, issue 9: two inlined copies
    // in the firmware build); inlined on 64-bit hosts as before.
    #[cfg_attr(target_pointer_width = "64", inline)]
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    pub(crate) fn header(&self, options: &[u8], checksum: ChecksumMode) -> [u8; HEADER_LEN] {
        // At most 60 bytes, so the IHL fits in its four bits.
        let header_len = HEADER_LEN + options.len();
        let total = u16::try_from(header_len + self.payload_len).unwrap_or(u16::MAX);
        let ihl = ((header_len / 4) as u32) & 0x0f;
        let flags = if self.dont_frag { FLAG_DF } else { 0 };
        let w0 = (0x40 | ihl) << 24 | u32::from(self.dscp_ecn) << 16 | u32::from(total);
        let w1 = u32::from(self.ident) << 16 | u32::from(flags);
        let w2 = u32::from(self.ttl) << 24 | u32::from(u8::from(self.protocol)) << 16;
        let w3 = u32::from_be_bytes(self.src_addr.0);
        let w4 = u32::from_be_bytes(self.dst_addr.0);
        let sum = if checksum.compute_tx {
            let mut acc =
                u64::from(w0) + u64::from(w1) + u64::from(w2) + u64::from(w3) + u64::from(w4);
            if !options.is_empty() {
                acc += u64::from(checksum::data(options));
            }
            !checksum::fold(acc)
        } else {
            0
        };
        let w2 = w2 | u32::from(sum);
        super::words_be([w0, w1, w2, w3, w4])
    }
}

impl Ipv4Repr {
    /// [`emit`](Self::emit), then the option bytes `options` after the
    /// fixed header (a multiple of 4, at most 40 bytes: RFC 791 §3.1), with
    /// the header and total lengths and the checksum covering them. Options
    /// of a bad length are not written (the header goes out without them)
    /// and [`Error::Malformed`] is returned; a buffer too small for them
    /// gives [`Error::BufferTooSmall`]. The payload then starts at
    /// `HEADER_LEN + options.len()`.
    pub fn emit_with_options<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Ipv4Packet<T>,
        options: &[u8],
        checksum: ChecksumMode,
    ) -> Result<()> {
        let valid = options.len() % 4 == 0 && options.len() <= MAX_HEADER_LEN - HEADER_LEN;
        let buf = packet.buffer.as_mut();
        let fits = buf.len() >= HEADER_LEN + options.len();
        // Options of a bad length, or too long for the buffer, are left out
        // and the plain header is written (when it fits).
        let used = if valid && fits { options } else { &[] };
        let header = self.header(used, checksum);
        if let Some((out, rest)) = buf.split_first_chunk_mut::<HEADER_LEN>() {
            *out = header;
            if let Some(slot) = rest.get_mut(..used.len()) {
                slot.copy_from_slice(used);
            }
        }
        if !valid {
            Err(Error::Malformed)
        } else if !fits && !options.is_empty() {
            Err(Error::BufferTooSmall)
        } else {
            Ok(())
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// Linux `ping -c1 192.168.1.1`: IPv4 (DF, TTL 64) + ICMP echo request
    /// with the default 56-byte payload (16-byte timeval, then 0x10..0x37).
    pub(crate) const PING_REQUEST: [u8; 84] = [
        0x45, 0x00, 0x00, 0x54, 0xa6, 0xf2, 0x40, 0x00, 0x40, 0x01, 0x10, 0x5b, 0xc0, 0xa8, 0x01,
        0x0a, 0xc0, 0xa8, 0x01, 0x01, 0x08, 0x00, 0x46, 0xf0, 0x00, 0x2a, 0x00, 0x01, 0x5e, 0x1f,
        0x4a, 0x66, 0x00, 0x00, 0x00, 0x00, 0x3b, 0x8c, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
        0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e,
        0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    ];

    /// An IGMPv2 membership report for 224.0.0.251: IHL 6 with the Router
    /// Alert option (RFC 2113), DSCP CS6 (0xc0), TTL 1.
    const IGMP_WITH_OPTIONS: [u8; 32] = [
        0x46, 0xc0, 0x00, 0x20, 0x00, 0x00, 0x40, 0x00, 0x01, 0x02, 0x41, 0x6a, 0xc0, 0xa8, 0x01,
        0x0a, 0xe0, 0x00, 0x00, 0xfb, 0x94, 0x04, 0x00, 0x00, 0x16, 0x00, 0x09, 0x04, 0xe0, 0x00,
        0x00, 0xfb,
    ];

    /// First fragment of a UDP datagram (MF set, offset 0): the UDP header and
    /// 8 bytes of data.
    const FIRST_FRAGMENT: [u8; 36] = [
        0x45, 0x00, 0x00, 0x24, 0x1c, 0x46, 0x20, 0x00, 0x40, 0x11, 0x2a, 0x81, 0x0a, 0x00, 0x00,
        0x01, 0x0a, 0x00, 0x00, 0x02, 0xd4, 0x31, 0x00, 0x35, 0x00, 0x30, 0x00, 0x00, 0x00, 0x01,
        0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
    ];

    /// Its last fragment (MF clear, offset 16 bytes = field value 2).
    const LAST_FRAGMENT: [u8; 28] = [
        0x45, 0x00, 0x00, 0x1c, 0x1c, 0x46, 0x00, 0x02, 0x40, 0x11, 0x4a, 0x87, 0x0a, 0x00, 0x00,
        0x01, 0x0a, 0x00, 0x00, 0x02, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    ];

    const MODE: ChecksumMode = ChecksumMode {
        verify_rx: true,
        compute_tx: true,
    };

    fn ping_repr() -> Ipv4Repr {
        Ipv4Repr {
            src_addr: Ipv4Address::new(192, 168, 1, 10),
            dst_addr: Ipv4Address::new(192, 168, 1, 1),
            protocol: IpProtocol::Icmp,
            payload_len: 64,
            ttl: 64,
            dscp_ecn: 0,
            ident: 0xa6f2,
            dont_frag: true,
        }
    }

    #[test]
    fn parse_ping() {
        let packet = Ipv4Packet::new_checked(&PING_REQUEST[..]).unwrap();
        assert_eq!(packet.version(), 4);
        assert_eq!(packet.header_len(), 20);
        assert_eq!(packet.total_len(), 84);
        assert_eq!(packet.ident(), 0xa6f2);
        assert!(packet.dont_frag() && !packet.more_frags() && !packet.reserved_flag());
        assert_eq!(packet.frag_offset(), 0);
        assert_eq!(packet.ttl(), 64);
        assert_eq!(packet.next_header(), IpProtocol::Icmp);
        assert_eq!(packet.checksum(), 0x105b);
        assert!(packet.verify_checksum());
        assert!(packet.options().is_empty());
        assert_eq!(packet.payload(), &PING_REQUEST[20..]);
        assert_eq!(Ipv4Repr::parse(&packet, MODE), Ok(ping_repr()));
    }

    #[test]
    fn emit_ping_header() {
        let mut buf = [0u8; 84];
        buf[20..].copy_from_slice(&PING_REQUEST[20..]);
        let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
        ping_repr().emit(&mut packet, MODE);
        assert_eq!(buf, PING_REQUEST);
        assert_eq!(ping_repr().buffer_len(), 20);
    }

    #[test]
    fn emit_without_checksum_leaves_zero() {
        let mut buf = [0xffu8; 84];
        let mode = ChecksumMode {
            verify_rx: false,
            compute_tx: false,
        };
        ping_repr().emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]), mode);
        assert_eq!(buf[10..12], [0, 0]);
        let packet = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert!(!packet.verify_checksum());
        assert_eq!(Ipv4Repr::parse(&packet, mode), Ok(ping_repr()));
        assert_eq!(Ipv4Repr::parse(&packet, MODE), Err(Error::Checksum));
    }

    #[test]
    fn options_are_skipped() {
        let packet = Ipv4Packet::new_checked(&IGMP_WITH_OPTIONS[..]).unwrap();
        assert_eq!(packet.header_len(), 24);
        assert_eq!(packet.options(), &[0x94, 0x04, 0x00, 0x00]);
        assert_eq!(packet.dscp(), 48);
        assert_eq!(packet.ecn(), 0);
        assert!(packet.verify_checksum());
        assert_eq!(packet.payload(), &IGMP_WITH_OPTIONS[24..]);
        let repr = Ipv4Repr::parse(&packet, MODE).unwrap();
        assert_eq!(repr.protocol, IpProtocol::Unknown(2));
        assert_eq!(repr.payload_len, 8);
        assert_eq!(repr.dscp_ecn, 0xc0);
        assert_eq!(repr.dst_addr, Ipv4Address::new(224, 0, 0, 251));
        assert!(repr.dst_addr.is_multicast());
    }

    #[test]
    fn trailing_padding_ignored() {
        // 32-byte packet in a 46-byte minimum Ethernet payload.
        let mut buf = [0u8; 46];
        buf[..32].copy_from_slice(&IGMP_WITH_OPTIONS);
        let packet = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(packet.payload().len(), 8);
        assert_eq!(Ipv4Repr::parse(&packet, MODE).unwrap().payload_len, 8);
    }

    #[test]
    fn fragments_recognised() {
        let first = Ipv4Packet::new_checked(&FIRST_FRAGMENT[..]).unwrap();
        assert!(first.more_frags() && !first.dont_frag());
        assert_eq!(first.frag_offset(), 0);
        assert!(first.is_fragment());
        assert!(first.verify_checksum());
        assert_eq!(first.payload().len(), 16);
        assert_eq!(Ipv4Repr::parse(&first, MODE), Err(Error::Fragment));

        let last = Ipv4Packet::new_checked(&LAST_FRAGMENT[..]).unwrap();
        assert!(!last.more_frags());
        assert_eq!(last.frag_offset(), 16);
        assert_eq!(last.ident(), first.ident());
        assert!(last.is_fragment());
        assert_eq!(Ipv4Repr::parse(&last, MODE), Err(Error::Fragment));
    }

    #[test]
    fn fragment_setters() {
        let mut buf = FIRST_FRAGMENT;
        let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
        packet.set_more_frags(false);
        packet.set_frag_offset(1480);
        packet.set_dont_frag(true);
        assert_eq!(packet.frag_offset(), 1480);
        assert!(packet.dont_frag() && !packet.more_frags());
        packet.set_dont_frag(false);
        packet.set_frag_offset(0);
        packet.fill_checksum();
        assert!(!packet.is_fragment());
        assert!(Ipv4Repr::parse(&packet, MODE).is_ok());
    }

    #[test]
    fn malformed_shapes() {
        // Too short for a header.
        for len in 0..20 {
            assert_eq!(
                Ipv4Packet::new_checked(&PING_REQUEST[..len]).err(),
                Some(Error::Truncated)
            );
        }
        type Mutation = fn(&mut [u8; 84]);
        let cases: [(&str, Mutation, Error); 6] = [
            ("version 6", |b| b[0] = 0x65, Error::Malformed),
            ("version 0", |b| b[0] = 0x05, Error::Malformed),
            ("IHL 4", |b| b[0] = 0x44, Error::Malformed),
            ("IHL 0", |b| b[0] = 0x40, Error::Malformed),
            (
                "total < IHL",
                |b| b[2..4].copy_from_slice(&[0, 19]),
                Error::Malformed,
            ),
            (
                "total > buffer",
                |b| b[2..4].copy_from_slice(&[0, 85]),
                Error::Truncated,
            ),
        ];
        for (what, mutate, err) in cases {
            let mut buf = PING_REQUEST;
            mutate(&mut buf);
            assert_eq!(Ipv4Packet::new_checked(&buf[..]).err(), Some(err), "{what}");
            let packet = Ipv4Packet::new_unchecked(&buf[..]);
            assert_eq!(Ipv4Repr::parse(&packet, MODE), Err(err), "{what}");
        }
        // IHL 15 (60 bytes) beyond a 40-byte buffer.
        let mut buf = [0u8; 40];
        buf.copy_from_slice(&PING_REQUEST[..40]);
        buf[0] = 0x4f;
        buf[2..4].copy_from_slice(&[0, 40]);
        assert_eq!(
            Ipv4Packet::new_checked(&buf[..]).err(),
            Some(Error::Truncated)
        );
        // An unchecked view of it never panics.
        let packet = Ipv4Packet::new_unchecked(&buf[..]);
        assert!(packet.payload().is_empty() && packet.header().is_empty());
        assert!(!packet.verify_checksum());
    }

    #[test]
    fn bad_checksum() {
        for at in [0usize, 1, 4, 8, 10, 11, 15, 19] {
            let mut buf = PING_REQUEST;
            buf[at] ^= 0x01;
            if let Ok(packet) = Ipv4Packet::new_checked(&buf[..]) {
                assert!(!packet.verify_checksum(), "byte {at}");
                assert_eq!(Ipv4Repr::parse(&packet, MODE), Err(Error::Checksum));
                let lax = ChecksumMode {
                    verify_rx: false,
                    compute_tx: true,
                };
                assert!(Ipv4Repr::parse(&packet, lax).is_ok());
            }
        }
        // A payload byte is not covered by the header checksum.
        let mut buf = PING_REQUEST;
        buf[40] ^= 0xff;
        let packet = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert!(packet.verify_checksum());
    }

    #[test]
    fn emit_never_overruns() {
        for len in 0..24 {
            let mut buf = [0u8; 24];
            ping_repr().emit(&mut Ipv4Packet::new_unchecked(&mut buf[..len]), MODE);
            assert!(buf[len..].iter().all(|&b| b == 0), "len {len}");
        }
    }

    #[test]
    fn emit_with_options_covers_them() {
        let mut repr = ping_repr();
        repr.payload_len = 8;
        let mut buf = [0u8; 40];
        let opts = [1, 131, 7, 4, 10, 0, 0, 9, 1, 1, 1, 0];
        {
            let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
            repr.emit_with_options(&mut packet, &opts, MODE).unwrap();
        }
        let packet = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(packet.header_len(), 32);
        assert_eq!(packet.total_len(), 40);
        assert_eq!(packet.options(), &opts);
        assert!(packet.verify_checksum());
        let parsed = Ipv4Repr::parse(&packet, MODE).unwrap();
        assert_eq!(parsed.payload_len, 8);
        // Bad lengths and short buffers are refused, never overrun.
        let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
        assert_eq!(
            repr.emit_with_options(&mut packet, &opts[..3], MODE),
            Err(Error::Malformed)
        );
        assert_eq!(
            repr.emit_with_options(&mut packet, &[1; 44], MODE),
            Err(Error::Malformed)
        );
        let mut short = [0u8; 24];
        let mut packet = Ipv4Packet::new_unchecked(&mut short[..]);
        assert_eq!(
            repr.emit_with_options(&mut packet, &opts, MODE),
            Err(Error::BufferTooSmall)
        );
    }

    #[test]
    fn dscp_values() {
        assert_eq!(Dscp::new(64), None);
        assert_eq!(Dscp::new(46), Some(Dscp::EF));
        assert_eq!(Dscp::EF.with_ecn(0b10), 0xba);
        assert_eq!(Dscp::default(), Dscp::DEFAULT);
        for bits in 0..4u8 {
            assert_eq!(Ecn::from_bits(0xb8 | bits).bits(), bits);
        }
        assert_eq!(Ecn::from_bits(0xff), Ecn::Ce);
        assert_eq!(Dscp::EF.with_ecn(Ecn::Ect0.bits()), 0xba);
    }

    #[test]
    fn ttl_decrement_incremental() {
        let mut buf = PING_REQUEST;
        let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
        assert_eq!(packet.decrement_ttl(), 63);
        assert!(packet.verify_checksum());
        let incremental = packet.checksum();
        packet.fill_checksum();
        assert_eq!(packet.checksum(), incremental);
    }

    #[test]
    fn cidr() {
        let c = Ipv4Cidr::new(Ipv4Address::new(192, 168, 1, 10), 24);
        assert_eq!(c.netmask(), Ipv4Address::new(255, 255, 255, 0));
        assert_eq!(c.network(), Ipv4Address::new(192, 168, 1, 0));
        assert_eq!(c.broadcast(), Ipv4Address::new(192, 168, 1, 255));
        assert!(c.contains(&Ipv4Address::new(192, 168, 1, 200)));
        assert!(!c.contains(&Ipv4Address::new(192, 168, 2, 1)));
        assert_eq!(std::format!("{c}"), "192.168.1.10/24");

        let all = Ipv4Cidr::new(Ipv4Address::new(10, 1, 2, 3), 0);
        assert_eq!(all.netmask(), Ipv4Address::UNSPECIFIED);
        assert!(all.contains(&Ipv4Address::new(8, 8, 8, 8)));
        let host = Ipv4Cidr::new(Ipv4Address::new(10, 1, 2, 3), 40);
        assert_eq!(host.prefix_len(), 32);
        assert_eq!(host.netmask(), Ipv4Address::BROADCAST);
        assert!(host.contains(&Ipv4Address::new(10, 1, 2, 3)));
        assert!(!host.contains(&Ipv4Address::new(10, 1, 2, 4)));
        // A hand-built out-of-range prefix does not panic.
        let odd = Ipv4Cidr {
            address: Ipv4Address::new(1, 2, 3, 4),
            prefix_len: 99,
        };
        assert_eq!(odd.netmask(), Ipv4Address::BROADCAST);
        // Every prefix length against the count of leading ones.
        for len in 0..=u8::MAX {
            let mask = Ipv4Cidr {
                address: Ipv4Address::new(1, 2, 3, 4),
                prefix_len: len,
            }
            .netmask()
            .to_bits();
            assert_eq!(mask.leading_ones(), u32::from(len.min(32)), "/{len}");
            assert_eq!(mask.count_ones(), u32::from(len.min(32)), "/{len}");
        }
    }

    #[test]
    fn address_and_protocol_conversions() {
        let a = Ipv4Address::from([10, 0, 0, 1]);
        assert_eq!(std::format!("{a} {a:?}"), "10.0.0.1 10.0.0.1");
        assert_eq!(Ipv4Address::from_bits(a.to_bits()), a);
        assert_eq!(
            core::net::Ipv4Addr::from(a),
            core::net::Ipv4Addr::new(10, 0, 0, 1)
        );
        assert!(a.is_unicast() && !a.is_loopback());
        assert!(Ipv4Address::new(127, 0, 0, 1).is_loopback());
        assert!(Ipv4Address::new(169, 254, 1, 1).is_link_local());
        let all: Vec<u8> = (0..=255u8).collect();
        for &p in &all {
            assert_eq!(u8::from(IpProtocol::from(p)), p);
        }
    }
}
