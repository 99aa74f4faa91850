//! ICMPv4 (RFC 792): echo request/reply, destination unreachable (including
//! fragmentation needed with the next-hop MTU, RFC 1191) and time exceeded.

use super::checksum;
use super::ethernet::{read_u16, read_u8, write};
use super::ipv4;
use super::{ChecksumMode, Error, IpProtocol, Ipv4Address, Ipv4Packet, Result, SeqNumber};

/// A checked view over an ICMPv4 message.
#[derive(Debug, Clone)]
pub struct Icmpv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

/// The meaning of an ICMPv4 message this stack handles.
///
/// `data` borrows from the packet: the echo payload, or for errors the quoted
/// IP header plus (at least) the first 8 bytes of the offending datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Icmpv4Repr<'a> {
    /// Type 8.
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Payload, echoed byte for byte.
        data: &'a [u8],
    },
    /// Type 0.
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Payload.
        data: &'a [u8],
    },
    /// Type 3.
    DstUnreachable {
        /// Code (0 net, 1 host, 2 protocol, 3 port, 4 fragmentation needed, ...).
        code: u8,
        /// Next-hop MTU for code 4 (RFC 1191), zero otherwise.
        next_hop_mtu: u16,
        /// Quoted IP header + first bytes of the offending datagram.
        data: &'a [u8],
    },
    /// Type 11.
    TimeExceeded {
        /// Code (0 TTL exceeded in transit, 1 reassembly time exceeded).
        code: u8,
        /// Quoted IP header + first bytes of the offending datagram.
        data: &'a [u8],
    },
}

/// Length of the ICMP header (type, code, checksum, 4 bytes of rest-of-header).
pub const HEADER_LEN: usize = 8;
/// The least an error message must quote: an IPv4 header without options and
/// the first 8 bytes of the offending datagram (RFC 792).
pub const QUOTE_MIN_LEN: usize = ipv4::HEADER_LEN + 8;

/// Type 0: echo reply (RFC 792).
pub const TYPE_ECHO_REPLY: u8 = 0;
/// Type 3: destination unreachable (RFC 792).
pub const TYPE_DST_UNREACHABLE: u8 = 3;
/// Type 8: echo request (RFC 792).
pub const TYPE_ECHO_REQUEST: u8 = 8;
/// Type 11: time exceeded (RFC 792).
pub const TYPE_TIME_EXCEEDED: u8 = 11;

/// Destination unreachable codes (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1).
pub mod unreachable {
    /// Net unreachable.
    pub const NET: u8 = 0;
    /// Host unreachable.
    pub const HOST: u8 = 1;
    /// Protocol unreachable.
    pub const PROTOCOL: u8 = 2;
    /// Port unreachable.
    pub const PORT: u8 = 3;
    /// Fragmentation needed and DF set; carries the next-hop MTU (RFC 1191 §4).
    pub const FRAG_NEEDED: u8 = 4;
    /// Source route failed.
    pub const SOURCE_ROUTE_FAILED: u8 = 5;
    /// Communication administratively prohibited (RFC 1812).
    pub const ADMIN_PROHIBITED: u8 = 13;
    /// The highest code defined (precedence cutoff, RFC 1812).
    pub const MAX: u8 = 15;
}

/// Time exceeded codes (RFC 792).
pub mod time_exceeded {
    /// TTL exceeded in transit.
    pub const TTL: u8 = 0;
    /// Fragment reassembly time exceeded.
    pub const REASSEMBLY: u8 = 1;
}

/// Field offsets (RFC 792; RFC 1191 §4 for the next-hop MTU).
mod field {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    pub const ECHO_IDENT: usize = 4;
    pub const ECHO_SEQ: usize = 6;
    pub const UNUSED: usize = 4;
    pub const NEXT_HOP_MTU: usize = 6;
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    /// Wraps a buffer without checking it. Getters of a too-short buffer read
    /// zeros and setters write nothing; prefer [`Self::new_checked`].
    ///
    /// ICMP has no length field: the buffer is the whole message (the IPv4
    /// payload), and the checksum covers all of it.
    pub const fn new_unchecked(buffer: T) -> Icmpv4Packet<T> {
        Icmpv4Packet { buffer }
    }

    /// Wraps a buffer of at least [`HEADER_LEN`] bytes, or fails with
    /// [`Error::Truncated`].
    pub fn new_checked(buffer: T) -> Result<Icmpv4Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
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

    /// Message type.
    pub fn msg_type(&self) -> u8 {
        read_u8(self.buffer.as_ref(), field::TYPE)
    }

    /// Message code.
    pub fn msg_code(&self) -> u8 {
        read_u8(self.buffer.as_ref(), field::CODE)
    }

    /// Checksum as stored.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// Echo identifier (echo request/reply).
    pub fn echo_ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_IDENT)
    }

    /// Echo sequence number (echo request/reply).
    pub fn echo_seq_no(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_SEQ)
    }

    /// Next-hop MTU (destination unreachable, code 4; RFC 1191 §4). Zero from
    /// routers that predate RFC 1191.
    pub fn next_hop_mtu(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::NEXT_HOP_MTU)
    }

    /// Everything after the 8-byte header: the echo payload, or the quoted
    /// datagram of an error message.
    pub fn data(&self) -> &[u8] {
        self.buffer.as_ref().get(HEADER_LEN..).unwrap_or(&[])
    }

    /// Whether the checksum over the whole message verifies (RFC 792).
    pub fn verify_checksum(&self) -> bool {
        let buf = self.buffer.as_ref();
        buf.len() >= HEADER_LEN && checksum::data(buf) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
    /// Sets the message type.
    pub fn set_msg_type(&mut self, value: u8) {
        write(self.buffer.as_mut(), field::TYPE, &[value]);
    }

    /// Sets the message code.
    pub fn set_msg_code(&mut self, value: u8) {
        write(self.buffer.as_mut(), field::CODE, &[value]);
    }

    /// Sets the stored checksum.
    pub fn set_checksum(&mut self, value: u16) {
        write(self.buffer.as_mut(), field::CHECKSUM, &value.to_be_bytes());
    }

    /// Sets the echo identifier.
    pub fn set_echo_ident(&mut self, value: u16) {
        write(
            self.buffer.as_mut(),
            field::ECHO_IDENT,
            &value.to_be_bytes(),
        );
    }

    /// Sets the echo sequence number.
    pub fn set_echo_seq_no(&mut self, value: u16) {
        write(self.buffer.as_mut(), field::ECHO_SEQ, &value.to_be_bytes());
    }

    /// Sets the next-hop MTU (and zeroes the unused half of the
    /// rest-of-header, RFC 1191 §4).
    pub fn set_next_hop_mtu(&mut self, value: u16) {
        write(self.buffer.as_mut(), field::UNUSED, &[0, 0]);
        write(
            self.buffer.as_mut(),
            field::NEXT_HOP_MTU,
            &value.to_be_bytes(),
        );
    }

    /// Computes and stores the checksum over the whole buffer.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        self.store_checksum_of_zeroed();
    }

    /// Stores the checksum over the whole buffer, whose checksum field the
    /// caller has already zeroed (RFC 792: the sum is taken with the field
    /// zero), so the field is written once rather than cleared first.
    fn store_checksum_of_zeroed(&mut self) {
        let sum = checksum::data(self.buffer.as_ref());
        self.set_checksum(!sum);
    }

    /// Everything after the header, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(HEADER_LEN..)
            .unwrap_or(&mut [])
    }
}

impl<'a> Icmpv4Repr<'a> {
    /// Reads a message this stack handles (RFC 792):
    /// - echo request / reply with code 0;
    /// - destination unreachable, codes 0..=15 (`next_hop_mtu` read for code 4,
    ///   RFC 1191 §4, zero otherwise);
    /// - time exceeded, codes 0 and 1.
    ///
    /// Other types and codes are [`Error::Unsupported`]; an error message
    /// quoting fewer than [`QUOTE_MIN_LEN`] bytes is [`Error::Truncated`]; a
    /// bad checksum (when `checksum.verify_rx`) is [`Error::Checksum`].
    pub fn parse<T>(
        packet: &'a Icmpv4Packet<&'a T>,
        checksum: ChecksumMode,
    ) -> Result<Icmpv4Repr<'a>>
    where
        T: AsRef<[u8]> + ?Sized,
    {
        packet.check_len()?;
        if checksum.verify_rx && !packet.verify_checksum() {
            return Err(Error::Checksum);
        }
        let data = packet.data();
        let code = packet.msg_code();
        let quote = |repr: Icmpv4Repr<'a>| {
            if data.len() < QUOTE_MIN_LEN {
                Err(Error::Truncated)
            } else {
                Ok(repr)
            }
        };
        match (packet.msg_type(), code) {
            (TYPE_ECHO_REQUEST, 0) => Ok(Icmpv4Repr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            }),
            (TYPE_ECHO_REPLY, 0) => Ok(Icmpv4Repr::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            }),
            (TYPE_DST_UNREACHABLE, 0..=unreachable::MAX) => quote(Icmpv4Repr::DstUnreachable {
                code,
                next_hop_mtu: if code == unreachable::FRAG_NEEDED {
                    packet.next_hop_mtu()
                } else {
                    0
                },
                data,
            }),
            (TYPE_TIME_EXCEEDED, time_exceeded::TTL | time_exceeded::REASSEMBLY) => {
                quote(Icmpv4Repr::TimeExceeded { code, data })
            }
            _ => Err(Error::Unsupported),
        }
    }

    /// The payload or quoted datagram.
    pub const fn data(&self) -> &'a [u8] {
        match *self {
            Icmpv4Repr::EchoRequest { data, .. }
            | Icmpv4Repr::EchoReply { data, .. }
            | Icmpv4Repr::DstUnreachable { data, .. }
            | Icmpv4Repr::TimeExceeded { data, .. } => data,
        }
    }

    /// The message length: 8 + the data length.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data().len()
    }

    /// Writes the message, then the checksum over the whole buffer when
    /// `checksum.compute_tx` (zero otherwise).
    ///
    /// The buffer should be exactly [`Self::buffer_len`] bytes (the checksum
    /// covers all of it). Header fields that would not fit are not written,
    /// and the data is copied only if all of it fits.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Icmpv4Packet<T>,
        checksum: ChecksumMode,
    ) {
        // The whole 8-byte header (type, code, zero checksum, rest of
        // header: RFC 792) as one array, written with one length check
        // instead of one per field (flash, issue 9).
        let (ty, code, rest) = match *self {
            Icmpv4Repr::EchoRequest { ident, seq_no, .. } => {
                (TYPE_ECHO_REQUEST, 0, echo_rest(ident, seq_no))
            }
            Icmpv4Repr::EchoReply { ident, seq_no, .. } => {
                (TYPE_ECHO_REPLY, 0, echo_rest(ident, seq_no))
            }
            Icmpv4Repr::DstUnreachable {
                code, next_hop_mtu, ..
            } => {
                // RFC 1191 §4: the MTU field is only meaningful for code 4;
                // otherwise the rest-of-header is unused and zero (RFC 792).
                let mtu = if code == unreachable::FRAG_NEEDED {
                    next_hop_mtu
                } else {
                    0
                };
                (TYPE_DST_UNREACHABLE, code, u32::from(mtu).to_be_bytes())
            }
            Icmpv4Repr::TimeExceeded { code, .. } => (TYPE_TIME_EXCEEDED, code, [0; 4]),
        };
        if let Some(out) = packet.buffer.as_mut().first_chunk_mut::<8>() {
            *out = [ty, code, 0, 0, rest[0], rest[1], rest[2], rest[3]];
        }
        let data = self.data();
        if let Some(dst) = packet.data_mut().get_mut(..data.len()) {
            dst.copy_from_slice(data);
        }
        // The header above was written with a zero checksum field.
        if checksum.compute_tx {
            packet.store_checksum_of_zeroed();
        }
    }

    /// For an error message (destination unreachable or time exceeded), the
    /// offending datagram's addresses, protocol and first transport bytes, so
    /// the engine can find the connection it concerns (RFC 1122 §4.2.3.9,
    /// RFC 5927). `None` for echo messages or if the quote does not parse
    /// (see [`Icmpv4Quote::parse`]).
    pub fn quoted_ipv4(&self) -> Option<Icmpv4Quote> {
        match *self {
            Icmpv4Repr::DstUnreachable { data, .. } | Icmpv4Repr::TimeExceeded { data, .. } => {
                Icmpv4Quote::parse(data).ok()
            }
            Icmpv4Repr::EchoRequest { .. } | Icmpv4Repr::EchoReply { .. } => None,
        }
    }
}

/// What an ICMP error message quotes of the datagram that caused it: the IPv4
/// header fields and the first 8 bytes of its payload (RFC 792), which for TCP
/// are the ports and the sequence number (RFC 9293 §3.1), and for UDP the ports.
///
/// The addresses are those of the *offending* datagram, i.e. for a segment we
/// sent, `src_addr` is ours and `dst_addr` the peer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Icmpv4Quote {
    /// Source address of the offending datagram.
    pub src_addr: Ipv4Address,
    /// Destination address of the offending datagram.
    pub dst_addr: Ipv4Address,
    /// Its protocol.
    pub protocol: IpProtocol,
    /// Its identification.
    pub ident: u16,
    /// Its total length, as quoted (the quote itself is usually shorter).
    pub total_len: u16,
    /// Its Don't Fragment flag.
    pub dont_frag: bool,
    /// Its TTL as the reporting node saw it.
    pub ttl: u8,
    /// Bytes 0..2 of its payload: the TCP/UDP source port.
    pub src_port: u16,
    /// Bytes 2..4 of its payload: the TCP/UDP destination port.
    pub dst_port: u16,
    /// Bytes 4..8 of its payload: the TCP sequence number (meaningful only
    /// when `protocol` is TCP).
    pub tcp_seq: SeqNumber,
    /// The first 8 bytes of its payload, raw.
    pub transport: [u8; 8],
}

impl Icmpv4Quote {
    /// Reads the quoted IPv4 header (options skipped) and the 8 bytes after it.
    ///
    /// - fewer than 20 bytes, or fewer than the IHL-declared header + 8:
    ///   [`Error::Truncated`];
    /// - version not 4 or IHL < 5: [`Error::Malformed`];
    /// - a non-first fragment (offset ≠ 0, so the 8 bytes are not a
    ///   transport header): [`Error::Fragment`].
    ///
    /// The quoted checksum and total length are not checked: the reporting
    /// node may have changed the header (TTL) and truncates the datagram.
    pub fn parse(data: &[u8]) -> Result<Icmpv4Quote> {
        if data.len() < ipv4::HEADER_LEN {
            return Err(Error::Truncated);
        }
        let ip = Ipv4Packet::new_unchecked(data);
        if ip.version() != 4 {
            return Err(Error::Malformed);
        }
        let header_len = usize::from(ip.header_len());
        if header_len < ipv4::HEADER_LEN {
            return Err(Error::Malformed);
        }
        let transport: [u8; 8] = match data.get(header_len..).and_then(<[u8]>::first_chunk) {
            Some(bytes) => *bytes,
            None => return Err(Error::Truncated),
        };
        if ip.frag_offset() != 0 {
            return Err(Error::Fragment);
        }
        let [p0, p1, p2, p3, s0, s1, s2, s3] = transport;
        Ok(Icmpv4Quote {
            src_addr: ip.src_addr(),
            dst_addr: ip.dst_addr(),
            protocol: ip.next_header(),
            ident: ip.ident(),
            total_len: ip.total_len(),
            dont_frag: ip.dont_frag(),
            ttl: ip.ttl(),
            src_port: u16::from_be_bytes([p0, p1]),
            dst_port: u16::from_be_bytes([p2, p3]),
            tcp_seq: SeqNumber(u32::from_be_bytes([s0, s1, s2, s3])),
            transport,
        })
    }
}

/// An echo message's rest of header: identifier and sequence number (RFC 792).
fn echo_rest(ident: u16, seq_no: u16) -> [u8; 4] {
    (u32::from(ident) << 16 | u32::from(seq_no)).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ICMP part of a Linux `ping` echo request: ident 0x002a, seq 1, the
    /// default 56-byte payload (16-byte timeval, then 0x10..=0x37).
    const ECHO_REQUEST: [u8; 64] = [
        0x08, 0x00, 0x46, 0xf0, 0x00, 0x2a, 0x00, 0x01, 0x5e, 0x1f, 0x4a, 0x66, 0x00, 0x00, 0x00,
        0x00, 0x3b, 0x8c, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
        0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24,
        0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33,
        0x34, 0x35, 0x36, 0x37,
    ];

    /// A whole IPv4 packet from router 10.0.0.254: fragmentation needed
    /// (type 3 code 4, next-hop MTU 1400) quoting our 1500-byte DF TCP
    /// segment 10.0.0.1:50000 -> 93.184.216.34:443, seq 0x12345678.
    const FRAG_NEEDED: [u8; 56] = [
        0x45, 0xc0, 0x00, 0x38, 0x00, 0x00, 0x00, 0x00, 0xff, 0x01, 0xa6, 0x06, 0x0a, 0x00, 0x00,
        0xfe, 0x0a, 0x00, 0x00, 0x01, 0x03, 0x04, 0xc9, 0xcb, 0x00, 0x00, 0x05, 0x78, 0x45, 0x00,
        0x05, 0xdc, 0x3c, 0x1a, 0x40, 0x00, 0x3f, 0x06, 0xba, 0x26, 0x0a, 0x00, 0x00, 0x01, 0x5d,
        0xb8, 0xd8, 0x22, 0xc3, 0x50, 0x01, 0xbb, 0x12, 0x34, 0x56, 0x78,
    ];

    /// Time exceeded in transit quoting a traceroute UDP probe (TTL 1,
    /// 10.0.0.1:40000 -> 8.8.8.8:33435).
    const TIME_EXCEEDED: [u8; 36] = [
        0x0b, 0x00, 0x2a, 0x2e, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x3c, 0xbe, 0xef, 0x00,
        0x00, 0x01, 0x11, 0xe0, 0xb1, 0x0a, 0x00, 0x00, 0x01, 0x08, 0x08, 0x08, 0x08, 0x9c, 0x40,
        0x82, 0x9b, 0x00, 0x28, 0xab, 0xcd,
    ];

    const MODE: ChecksumMode = ChecksumMode {
        verify_rx: true,
        compute_tx: true,
    };

    #[test]
    fn echo_request() {
        let packet = Icmpv4Packet::new_checked(&ECHO_REQUEST[..]).unwrap();
        assert_eq!(packet.msg_type(), TYPE_ECHO_REQUEST);
        assert_eq!(packet.msg_code(), 0);
        assert_eq!(packet.checksum(), 0x46f0);
        assert!(packet.verify_checksum());
        assert_eq!(packet.data().len(), 56);
        let repr = Icmpv4Repr::parse(&packet, MODE).unwrap();
        assert_eq!(
            repr,
            Icmpv4Repr::EchoRequest {
                ident: 0x2a,
                seq_no: 1,
                data: &ECHO_REQUEST[8..],
            }
        );
        assert_eq!(repr.buffer_len(), 64);
        assert_eq!(repr.quoted_ipv4(), None);

        let mut out = [0u8; 64];
        repr.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]), MODE);
        assert_eq!(out, ECHO_REQUEST);
    }

    #[test]
    fn echo_reply_from_request() {
        let packet = Icmpv4Packet::new_checked(&ECHO_REQUEST[..]).unwrap();
        let Icmpv4Repr::EchoRequest {
            ident,
            seq_no,
            data,
        } = Icmpv4Repr::parse(&packet, MODE).unwrap()
        else {
            panic!("not an echo request")
        };
        let reply = Icmpv4Repr::EchoReply {
            ident,
            seq_no,
            data,
        };
        let mut out = [0u8; 64];
        reply.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]), MODE);
        // The reply differs from the request only in type and checksum
        // (RFC 792: type 8 -> 0, checksum + 0x0800).
        assert_eq!(out[0], 0);
        assert_eq!(out[2..4], [0x4e, 0xf0]);
        assert_eq!(out[4..], ECHO_REQUEST[4..]);
        let parsed = Icmpv4Packet::new_checked(&out[..]).unwrap();
        assert_eq!(Icmpv4Repr::parse(&parsed, MODE), Ok(reply));
    }

    #[test]
    fn frag_needed_quoting_tcp() {
        let ip = Ipv4Packet::new_checked(&FRAG_NEEDED[..]).unwrap();
        let ip_repr = ipv4::Ipv4Repr::parse(&ip, MODE).unwrap();
        assert_eq!(ip_repr.protocol, IpProtocol::Icmp);
        let packet = Icmpv4Packet::new_checked(ip.payload()).unwrap();
        assert_eq!(packet.next_hop_mtu(), 1400);
        let repr = Icmpv4Repr::parse(&packet, MODE).unwrap();
        assert_eq!(
            repr,
            Icmpv4Repr::DstUnreachable {
                code: unreachable::FRAG_NEEDED,
                next_hop_mtu: 1400,
                data: &FRAG_NEEDED[28..],
            }
        );
        let quote = repr.quoted_ipv4().unwrap();
        assert_eq!(quote.src_addr, Ipv4Address::new(10, 0, 0, 1));
        assert_eq!(quote.dst_addr, Ipv4Address::new(93, 184, 216, 34));
        assert_eq!(quote.protocol, IpProtocol::Tcp);
        assert_eq!(quote.src_port, 50000);
        assert_eq!(quote.dst_port, 443);
        assert_eq!(quote.tcp_seq, SeqNumber(0x1234_5678));
        assert_eq!(quote.total_len, 1500);
        assert!(quote.dont_frag);
        assert_eq!(quote.ident, 0x3c1a);
        assert_eq!(quote.ttl, 63);

        let mut out = [0u8; 36];
        repr.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]), MODE);
        assert_eq!(out[..], FRAG_NEEDED[20..]);
    }

    #[test]
    fn time_exceeded_quoting_udp() {
        let packet = Icmpv4Packet::new_checked(&TIME_EXCEEDED[..]).unwrap();
        let repr = Icmpv4Repr::parse(&packet, MODE).unwrap();
        assert_eq!(
            repr,
            Icmpv4Repr::TimeExceeded {
                code: time_exceeded::TTL,
                data: &TIME_EXCEEDED[8..],
            }
        );
        let quote = repr.quoted_ipv4().unwrap();
        assert_eq!(quote.protocol, IpProtocol::Udp);
        assert_eq!((quote.src_port, quote.dst_port), (40000, 33435));
        assert_eq!(quote.dst_addr, Ipv4Address::new(8, 8, 8, 8));
        let mut out = [0u8; 36];
        repr.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]), MODE);
        assert_eq!(out, TIME_EXCEEDED);
    }

    #[test]
    fn other_unreachable_codes_have_no_mtu() {
        let mut buf = TIME_EXCEEDED;
        buf[0] = TYPE_DST_UNREACHABLE;
        buf[1] = unreachable::PORT;
        buf[6..8].copy_from_slice(&[0x05, 0xdc]);
        let mut packet = Icmpv4Packet::new_unchecked(&mut buf[..]);
        packet.fill_checksum();
        let packet = Icmpv4Packet::new_checked(&buf[..]).unwrap();
        match Icmpv4Repr::parse(&packet, MODE).unwrap() {
            Icmpv4Repr::DstUnreachable {
                code, next_hop_mtu, ..
            } => assert_eq!((code, next_hop_mtu), (3, 0)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn short_and_bad() {
        for len in 0..HEADER_LEN {
            let packet = Icmpv4Packet::new_unchecked(&ECHO_REQUEST[..len]);
            assert_eq!(packet.check_len(), Err(Error::Truncated));
            assert_eq!(Icmpv4Repr::parse(&packet, MODE), Err(Error::Truncated));
            assert!(packet.data().is_empty() && !packet.verify_checksum());
        }
        // Bad checksum.
        let mut buf = ECHO_REQUEST;
        buf[40] ^= 0x01;
        let packet = Icmpv4Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(Icmpv4Repr::parse(&packet, MODE), Err(Error::Checksum));
        let lax = ChecksumMode {
            verify_rx: false,
            compute_tx: true,
        };
        assert!(Icmpv4Repr::parse(&packet, lax).is_ok());
        // An error message quoting fewer than 28 bytes.
        for len in HEADER_LEN..HEADER_LEN + QUOTE_MIN_LEN {
            let mut buf = [0u8; 36];
            buf[..len].copy_from_slice(&TIME_EXCEEDED[..len]);
            let mut packet = Icmpv4Packet::new_unchecked(&mut buf[..len]);
            packet.fill_checksum();
            let packet = Icmpv4Packet::new_checked(&buf[..len]).unwrap();
            assert_eq!(Icmpv4Repr::parse(&packet, MODE), Err(Error::Truncated));
        }
    }

    #[test]
    fn unsupported_types_and_codes() {
        for (ty, code) in [
            (5u8, 0u8),
            (13, 0),
            (8, 1),
            (0, 9),
            (3, 16),
            (11, 2),
            (255, 255),
        ] {
            let mut buf = TIME_EXCEEDED;
            buf[0] = ty;
            buf[1] = code;
            let mut packet = Icmpv4Packet::new_unchecked(&mut buf[..]);
            packet.fill_checksum();
            let packet = Icmpv4Packet::new_checked(&buf[..]).unwrap();
            assert_eq!(
                Icmpv4Repr::parse(&packet, MODE),
                Err(Error::Unsupported),
                "{ty}/{code}"
            );
        }
    }

    #[test]
    fn quote_shapes() {
        let quote = &FRAG_NEEDED[28..];
        assert!(Icmpv4Quote::parse(quote).is_ok());
        for len in 0..QUOTE_MIN_LEN {
            assert_eq!(Icmpv4Quote::parse(&quote[..len]), Err(Error::Truncated));
        }
        let mut q = [0u8; 28];
        q.copy_from_slice(quote);
        q[0] = 0x65;
        assert_eq!(Icmpv4Quote::parse(&q), Err(Error::Malformed));
        q[0] = 0x44;
        assert_eq!(Icmpv4Quote::parse(&q), Err(Error::Malformed));
        // IHL 6: the 8 transport bytes would run past the quote.
        q[0] = 0x46;
        assert_eq!(Icmpv4Quote::parse(&q), Err(Error::Truncated));
        // A non-first fragment: no transport header.
        q[0] = 0x45;
        q[6..8].copy_from_slice(&[0x00, 0xb9]);
        assert_eq!(Icmpv4Quote::parse(&q), Err(Error::Fragment));
        // A quote with options: the 8 bytes follow them.
        let mut long = [0u8; 32];
        long[..20].copy_from_slice(&quote[..20]);
        long[0] = 0x46;
        long[20..24].copy_from_slice(&[0x01, 0x01, 0x01, 0x00]);
        long[24..].copy_from_slice(&quote[20..]);
        let parsed = Icmpv4Quote::parse(&long).unwrap();
        assert_eq!(parsed.src_port, 50000);
        assert_eq!(parsed.tcp_seq, SeqNumber(0x1234_5678));
    }

    #[test]
    fn emit_never_overruns() {
        let repr = Icmpv4Repr::EchoRequest {
            ident: 1,
            seq_no: 2,
            data: &ECHO_REQUEST[8..],
        };
        for len in 0..64 {
            let mut buf = [0u8; 64];
            repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..len]), MODE);
            assert!(buf[len..].iter().all(|&b| b == 0), "len {len}");
        }
    }
}
