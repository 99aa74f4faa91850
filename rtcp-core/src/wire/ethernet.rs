//! Ethernet II frames (IEEE 802.3 with an EtherType). 802.1Q tags are
//! recognised and rejected with [`Error::VlanTagged`].

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

impl EthernetAddress {
    /// The address from its six octets; `None` unless `bytes` is 6 long.
    pub fn from_bytes(bytes: &[u8]) -> Option<EthernetAddress> {
        bytes.try_into().ok().map(EthernetAddress)
    }
    /// Multicast (group bit set), broadcast included.
    pub fn is_multicast(&self) -> bool {
        !self.is_unicast()
    }
    /// Locally administered (U/L bit set).
    pub fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }
    /// The octets.
    pub const fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }
}

/// The 802.1Q tag protocol identifier (C-tag).
pub const TPID_8021Q: u16 = 0x8100;
/// The 802.1ad tag protocol identifier (S-tag, "QinQ").
pub const TPID_8021AD: u16 = 0x88a8;
/// The pre-standard QinQ tag protocol identifier.
pub const TPID_QINQ_LEGACY: u16 = 0x9100;

/// Whether a raw EtherType is a VLAN tag protocol identifier.
pub const fn is_vlan_tpid(raw: u16) -> bool {
    matches!(raw, TPID_8021Q | TPID_8021AD | TPID_QINQ_LEGACY)
}

impl From<u16> for EtherType {
    fn from(raw: u16) -> EtherType {
        match raw {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            other => EtherType::Unknown(other),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(t: EtherType) -> u16 {
        match t {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Unknown(other) => other,
        }
    }
}

/// Reads `N` bytes at `at`, or zeros when they lie outside `buf`. Views only
/// read inside the length they checked; the fallback keeps an unchecked view
/// (`new_unchecked` over a short buffer) from panicking.
#[inline]
pub(super) fn read<const N: usize>(buf: &[u8], at: usize) -> [u8; N] {
    match buf.get(at..).and_then(<[u8]>::first_chunk::<N>) {
        Some(bytes) => *bytes,
        None => [0; N],
    }
}

/// Reads a big-endian `u16` at `at` (zero when out of bounds, see [`read`]).
#[inline]
pub(super) fn read_u16(buf: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(read(buf, at))
}

/// Reads one byte at `at` (zero when out of bounds, see [`read`]).
#[inline]
pub(super) fn read_u8(buf: &[u8], at: usize) -> u8 {
    buf.get(at).copied().unwrap_or(0)
}

/// Writes `bytes` at `at`; does nothing when they would not fit, so a setter
/// never writes past the buffer.
#[inline]
pub(super) fn write(buf: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = at
        .checked_add(bytes.len())
        .and_then(|end| buf.get_mut(at..end))
    {
        dst.copy_from_slice(bytes);
    }
}

/// Field offsets (IEEE 802.3 §3.1.1, Ethernet II framing).
mod field {
    pub const DST: usize = 0;
    pub const SRC: usize = 6;
    pub const ETHERTYPE: usize = 12;
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps a buffer without checking its length. Getters of a too-short
    /// buffer read zeros and setters write nothing; prefer [`Self::new_checked`].
    pub const fn new_unchecked(buffer: T) -> EthernetFrame<T> {
        EthernetFrame { buffer }
    }

    /// Wraps a buffer of at least [`HEADER_LEN`] bytes, or fails with
    /// [`Error::Truncated`].
    pub fn new_checked(buffer: T) -> Result<EthernetFrame<T>> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// Checks that the buffer holds a whole header.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Destination MAC.
    pub fn dst_addr(&self) -> EthernetAddress {
        EthernetAddress(read(self.buffer.as_ref(), field::DST))
    }

    /// Source MAC.
    pub fn src_addr(&self) -> EthernetAddress {
        EthernetAddress(read(self.buffer.as_ref(), field::SRC))
    }

    /// The EtherType field as on the wire (0x8100 for a tagged frame).
    pub fn ethertype_raw(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ETHERTYPE)
    }

    /// The EtherType field, by meaning. A VLAN tag shows as `Unknown(0x8100)`
    /// here; [`EthernetRepr::parse`] turns it into [`Error::VlanTagged`].
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(self.ethertype_raw())
    }

    /// Whether the frame carries a VLAN tag (802.1Q, 802.1ad or legacy QinQ).
    pub fn is_vlan_tagged(&self) -> bool {
        is_vlan_tpid(self.ethertype_raw())
    }

    /// Everything after the header (including any padding to the 60-byte
    /// minimum frame: the payload's own length field bounds it).
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(HEADER_LEN..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Sets the destination MAC.
    pub fn set_dst_addr(&mut self, addr: EthernetAddress) {
        write(self.buffer.as_mut(), field::DST, &addr.0);
    }

    /// Sets the source MAC.
    pub fn set_src_addr(&mut self, addr: EthernetAddress) {
        write(self.buffer.as_mut(), field::SRC, &addr.0);
    }

    /// Sets the EtherType.
    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        self.set_ethertype_raw(u16::from(ethertype));
    }

    /// Sets the raw EtherType field.
    pub fn set_ethertype_raw(&mut self, raw: u16) {
        write(self.buffer.as_mut(), field::ETHERTYPE, &raw.to_be_bytes());
    }

    /// Everything after the header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(HEADER_LEN..)
            .unwrap_or(&mut [])
    }
}

impl EthernetRepr {
    /// Reads the header. A VLAN-tagged frame (802.1Q 0x8100, and the QinQ
    /// identifiers 0x88a8 / 0x9100) is [`Error::VlanTagged`]; a buffer shorter
    /// than the header is [`Error::Truncated`].
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Result<EthernetRepr> {
        frame.check_len()?;
        if frame.is_vlan_tagged() {
            return Err(Error::VlanTagged);
        }
        Ok(EthernetRepr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }

    /// The header length: [`HEADER_LEN`].
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header. The frame should hold at least [`HEADER_LEN`] bytes
    /// (a checked frame does); a shorter one is left as it was.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut EthernetFrame<T>) {
        // The header put together here and written at once: one length
        // check instead of one per field (flash, issue 9).
        let [d0, d1, d2, d3, d4, d5] = self.dst_addr.0;
        let [s0, s1, s2, s3, s4, s5] = self.src_addr.0;
        let [t0, t1] = u16::from(self.ethertype).to_be_bytes();
        let header: [u8; HEADER_LEN] = [d0, d1, d2, d3, d4, d5, s0, s1, s2, s3, s4, s5, t0, t1];
        write(frame.buffer.as_mut(), field::DST, &header);
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// A broadcast ARP request as Linux sends it: 14-byte header, 28-byte ARP
    /// body, 18 bytes of zero padding to the 60-byte minimum frame.
    pub(crate) const ARP_REQUEST_FRAME: [u8; 60] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // dst: broadcast
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, // src
        0x08, 0x06, // ARP
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // htype, ptype, hlen, plen, request
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0xc0, 0xa8, 0x01, 0x0a, // sha, spa 192.168.1.10
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xa8, 0x01, 0x01, // tha, tpa 192.168.1.1
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // padding
    ];

    /// An 802.1Q-tagged frame (VID 100, PCP 0) carrying the start of an IPv4
    /// header.
    const VLAN_FRAME: [u8; 38] = [
        0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, // dst, src
        0x81, 0x00, 0x00, 0x64, // 802.1Q TPID, TCI (VID 100)
        0x08, 0x00, // inner EtherType IPv4
        0x45, 0x00, 0x00, 0x14, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, 0x0a, 0x00, 0x00,
        0x01, 0x0a, 0x00, 0x00, 0x02,
    ];

    #[test]
    fn parse_arp_frame() {
        let frame = EthernetFrame::new_checked(&ARP_REQUEST_FRAME[..]).unwrap();
        assert!(frame.dst_addr().is_broadcast());
        assert_eq!(
            frame.src_addr(),
            EthernetAddress([0x52, 0x54, 0x00, 0x12, 0x34, 0x56])
        );
        assert_eq!(frame.ethertype(), EtherType::Arp);
        assert_eq!(frame.payload().len(), 46);
        let repr = EthernetRepr::parse(&frame).unwrap();
        assert_eq!(repr.ethertype, EtherType::Arp);
        assert_eq!(repr.buffer_len(), 14);

        let mut out = [0u8; 14];
        repr.emit(&mut EthernetFrame::new_unchecked(&mut out[..]));
        assert_eq!(out[..], ARP_REQUEST_FRAME[..14]);
    }

    #[test]
    fn vlan_tagged_is_recognised() {
        let frame = EthernetFrame::new_checked(&VLAN_FRAME[..]).unwrap();
        assert!(frame.is_vlan_tagged());
        assert_eq!(frame.ethertype_raw(), 0x8100);
        assert_eq!(frame.ethertype(), EtherType::Unknown(0x8100));
        assert_eq!(EthernetRepr::parse(&frame), Err(Error::VlanTagged));
        for tpid in [0x88a8u16, 0x9100] {
            let mut f = VLAN_FRAME;
            f[12..14].copy_from_slice(&tpid.to_be_bytes());
            let frame = EthernetFrame::new_checked(&f[..]).unwrap();
            assert_eq!(EthernetRepr::parse(&frame), Err(Error::VlanTagged));
        }
    }

    #[test]
    fn short_buffers() {
        for len in 0..HEADER_LEN {
            let buf = &ARP_REQUEST_FRAME[..len];
            assert_eq!(
                EthernetFrame::new_checked(buf).err(),
                Some(Error::Truncated)
            );
            // An unchecked view over a short buffer reads zeros, never panics.
            let frame = EthernetFrame::new_unchecked(buf);
            assert_eq!(EthernetRepr::parse(&frame), Err(Error::Truncated));
            let _ = (frame.src_addr(), frame.dst_addr(), frame.ethertype());
            assert!(frame.payload().is_empty());
        }
        let frame = EthernetFrame::new_checked(&ARP_REQUEST_FRAME[..14]).unwrap();
        assert!(frame.payload().is_empty());
    }

    #[test]
    fn emit_never_overruns() {
        let repr = EthernetRepr {
            src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            dst_addr: EthernetAddress::BROADCAST,
            ethertype: EtherType::Ipv4,
        };
        for len in 0..HEADER_LEN {
            let mut buf = [0u8; HEADER_LEN];
            repr.emit(&mut EthernetFrame::new_unchecked(&mut buf[..len]));
            assert!(buf[len..].iter().all(|&b| b == 0));
        }
        let mut buf = [0u8; 20];
        let mut frame = EthernetFrame::new_checked(&mut buf[..]).unwrap();
        repr.emit(&mut frame);
        frame.payload_mut().fill(0xee);
        let frame = EthernetFrame::new_checked(&buf[..]).unwrap();
        assert_eq!(EthernetRepr::parse(&frame), Ok(repr));
        assert_eq!(frame.payload(), &[0xee; 6]);
    }

    #[test]
    fn ethertype_conversions() {
        for raw in [0x0800u16, 0x0806, 0x86dd, 0x0000, 0xffff] {
            assert_eq!(u16::from(EtherType::from(raw)), raw);
        }
        assert_eq!(EtherType::from(0x0800), EtherType::Ipv4);
        assert_eq!(EtherType::from(0x0806), EtherType::Arp);
    }

    #[test]
    fn address_classes() {
        let a = EthernetAddress([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
        assert!(a.is_unicast() && a.is_local() && !a.is_multicast());
        assert!(EthernetAddress::BROADCAST.is_multicast());
        assert_eq!(EthernetAddress::from_bytes(&[1, 2, 3]), None);
        assert_eq!(std::format!("{a}"), "52:54:00:12:34:56");
    }
}
