//! Wire formats: for each protocol a checked zero-copy view over a byte
//! buffer and a plain `Repr` with `parse` and `emit`.
//!
//! A view's length is checked once, at construction (`new_checked`); after
//! that its getters and setters cannot go out of bounds. `parse` of any bytes
//! returns `Ok` or a typed [`Error`]; `emit` never writes past the buffer.

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub(crate) mod frame;
pub mod icmpv4;
pub mod ipv4;
pub mod ipv4_route;
mod seq;
pub mod tcp;

pub use arp::{ArpOperation, ArpPacket, ArpRepr};
pub use ethernet::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
pub use icmpv4::{Icmpv4Packet, Icmpv4Repr};
pub use ipv4::{Dscp, Ecn, IpProtocol, Ipv4Address, Ipv4Cidr, Ipv4Packet, Ipv4Repr};
pub use ipv4_route::{RouteKind, SourceRoute};
pub use seq::SeqNumber;
pub use tcp::{TcpFlags, TcpOptions, TcpPacket, TcpRepr};

use core::fmt;

/// Why a buffer could not be parsed (or a `Repr` could not be emitted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The buffer is shorter than the header or the length fields claim.
    Truncated,
    /// A field holds a value the format does not allow (bad version, bad
    /// header length, bad hardware type, ...).
    Malformed,
    /// The checksum does not verify.
    Checksum,
    /// A TCP option is malformed (length 0 or 1, runs past the header, or the
    /// wrong length for a known kind).
    BadOption,
    /// An IPv4 fragment (MF set or non-zero offset); recognised, not reassembled.
    Fragment,
    /// An 802.1Q-tagged Ethernet frame; recognised, not supported.
    VlanTagged,
    /// Well-formed but not something this stack handles (other ICMP types,
    /// other ARP operations, ...).
    Unsupported,
    /// The output buffer is too small for the `Repr`.
    BufferTooSmall,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Error::Truncated => "truncated",
            Error::Malformed => "malformed",
            Error::Checksum => "bad checksum",
            Error::BadOption => "malformed TCP option",
            Error::Fragment => "IPv4 fragment",
            Error::VlanTagged => "802.1Q-tagged frame",
            Error::Unsupported => "unsupported",
            Error::BufferTooSmall => "buffer too small",
        };
        f.write_str(text)
    }
}

/// Result of a wire operation.
pub type Result<T> = core::result::Result<T, Error>;

/// Which checksums are verified on receive and computed on transmit.
/// Software does both unless the device offloads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ChecksumMode {
    /// Verify checksums of received packets.
    pub verify_rx: bool,
    /// Compute checksums of transmitted packets.
    pub compute_tx: bool,
}

impl Default for ChecksumMode {
    fn default() -> Self {
        ChecksumMode {
            verify_rx: true,
            compute_tx: true,
        }
    }
}

/// Five 32-bit words in network byte order: a fixed 20-byte IPv4 or TCP
/// header built in registers, to store at once.
#[inline]
pub(crate) fn words_be(words: [u32; 5]) -> [u8; 20] {
    let [w0, w1, w2, w3, w4] = words;
    let [a0, a1, a2, a3] = w0.to_be_bytes();
    let [b0, b1, b2, b3] = w1.to_be_bytes();
    let [c0, c1, c2, c3] = w2.to_be_bytes();
    let [d0, d1, d2, d3] = w3.to_be_bytes();
    let [e0, e1, e2, e3] = w4.to_be_bytes();
    [
        a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3, e0, e1, e2, e3,
    ]
}
