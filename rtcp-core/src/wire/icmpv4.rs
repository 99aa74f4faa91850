//! ICMPv4 (RFC 792): echo request/reply, destination unreachable (including
//! fragmentation needed with the next-hop MTU, RFC 1191) and time exceeded.
// CONTRACT (to be implemented): keep these public names and signatures.

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

// Required API (implement):
// Icmpv4Packet: new_unchecked, new_checked (>= 8 bytes), into_inner, msg_type, msg_code, checksum,
//   echo_ident, echo_seq_no, next_hop_mtu, data() (bytes after the 8-byte header), verify_checksum, setters,
//   fill_checksum, data_mut.
// Icmpv4Repr::parse(&'a Icmpv4Packet<&'a T>, checksum: ChecksumMode) -> Result<Icmpv4Repr<'a>>
//   (other types -> Unsupported; error messages whose data is shorter than a 20-byte IP header + 8 -> Truncated),
// Icmpv4Repr::buffer_len() -> 8 + data.len(), Icmpv4Repr::emit(&self, &mut Icmpv4Packet<T>, checksum: ChecksumMode).
// Icmpv4Repr::quoted_ipv4(&self) -> Option<(Ipv4Repr-like header fields, first 8 bytes)> : helper for the
//   engine to map an ICMP error to a TCP connection (src/dst addr, protocol, ports, seq).
