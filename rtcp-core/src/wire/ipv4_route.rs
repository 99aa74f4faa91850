//! IPv4 source routing options (RFC 791 §3.1 "Loose Source and Record
//! Route" and "Strict Source and Record Route"; RFC 1122 §3.2.1.8).
//!
//! A source-routed datagram is sent to the first hop of the route; the
//! option lists the rest of the route, ending with the final destination,
//! and a pointer to the next address to visit. Each hop replaces the address
//! under the pointer with its own and moves the pointer on, so when the
//! datagram reaches its final destination the pointer is past the end and
//! the option holds the route it took (the "recorded" route). RFC 1122
//! §3.2.1.8 (c) and RFC 9293 §3.9.2.1 (MUST-53): that route, reversed, is
//! the way back.
//!
//! Storage is fixed: at most [`MAX_ROUTE_HOPS`] addresses, which is all
//! that fits in the 40 bytes of IPv4 options. Parsing any bytes returns
//! `Ok` or an error and never panics.

use super::ipv4::Ipv4Address;
use super::{Error, Result};

/// Most hops a route can list: 40 option bytes hold a NOP, the 3-byte
/// option header and nine addresses.
pub const MAX_ROUTE_HOPS: usize = 9;

/// Option type of Loose Source and Record Route (copied flag, class 0, 3).
pub const OPTION_LSRR: u8 = 131;
/// Option type of Strict Source and Record Route (copied flag, class 0, 9).
pub const OPTION_SSRR: u8 = 137;
/// End of option list.
const OPTION_EOL: u8 = 0;
/// No operation.
const OPTION_NOP: u8 = 1;
/// The pointer's smallest legal value (RFC 791): it counts from the
/// option's type octet, so 4 is the first address.
const MIN_POINTER: u8 = 4;

/// Loose or strict source routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RouteKind {
    /// LSRR: the datagram may pass other routers between the listed hops.
    Loose,
    /// SSRR: each listed hop must be directly reachable from the previous.
    Strict,
}

impl RouteKind {
    fn option_type(self) -> u8 {
        match self {
            RouteKind::Loose => OPTION_LSRR,
            RouteKind::Strict => OPTION_SSRR,
        }
    }
}

/// A source route: the hops a datagram visits, in order, before its final
/// destination (which is not part of the route: it is the connection's
/// remote address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SourceRoute {
    kind: RouteKind,
    len: u8,
    hops: [Ipv4Address; MAX_ROUTE_HOPS],
}

impl SourceRoute {
    /// A route through `hops` (1 to [`MAX_ROUTE_HOPS`] unicast addresses);
    /// `None` otherwise.
    pub fn new(kind: RouteKind, hops: &[Ipv4Address]) -> Option<SourceRoute> {
        if hops.is_empty() || hops.len() > MAX_ROUTE_HOPS || !hops.iter().all(|h| h.is_unicast()) {
            return None;
        }
        let mut route = SourceRoute {
            kind,
            len: 0,
            hops: [Ipv4Address::UNSPECIFIED; MAX_ROUTE_HOPS],
        };
        for (slot, hop) in route.hops.iter_mut().zip(hops) {
            *slot = *hop;
        }
        route.len = hops.len() as u8;
        Some(route)
    }

    /// Loose or strict.
    pub fn kind(&self) -> RouteKind {
        self.kind
    }

    /// The hops, in the order the datagram visits them.
    pub fn hops(&self) -> &[Ipv4Address] {
        self.hops.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// The first hop: the IP destination of the datagram as sent.
    pub fn first_hop(&self) -> Ipv4Address {
        self.hops
            .first()
            .copied()
            .unwrap_or(Ipv4Address::UNSPECIFIED)
    }

    /// Bytes the option takes in the header, padding included (a multiple
    /// of 4, at most 40).
    pub fn option_len(&self) -> usize {
        // NOP, type, length, pointer, then one address per hop: the hops
        // after the first, and the final destination.
        4 + 4 * usize::from(self.len)
    }

    /// Write the option for a datagram to `final_dst` into `buf` (a NOP to
    /// align the addresses, then the option with the pointer at the first
    /// address). Returns the bytes written ([`option_len`](Self::option_len)),
    /// or [`Error::BufferTooSmall`] without writing.
    pub fn emit(&self, final_dst: Ipv4Address, buf: &mut [u8]) -> Result<usize> {
        let len = self.option_len();
        let out = buf.get_mut(..len).ok_or(Error::BufferTooSmall)?;
        let (head, addrs) = out.split_at_mut(4);
        head.copy_from_slice(&[
            OPTION_NOP,
            self.kind.option_type(),
            (len - 1) as u8,
            MIN_POINTER,
        ]);
        let rest = self
            .hops()
            .iter()
            .skip(1)
            .chain(core::iter::once(&final_dst));
        for (chunk, addr) in addrs.chunks_exact_mut(4).zip(rest) {
            chunk.copy_from_slice(&addr.0);
        }
        Ok(len)
    }

    /// The same hops in reverse order (RFC 1122 §3.2.1.8 (c)).
    pub fn reversed(&self) -> SourceRoute {
        let mut route = *self;
        if let Some(hops) = route.hops.get_mut(..usize::from(self.len)) {
            hops.reverse();
        }
        route
    }
}

/// A source route option as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReceivedRoute {
    /// Loose or strict.
    pub kind: RouteKind,
    /// The pointer is past the last address: the datagram is at its final
    /// destination and the option holds the route it took.
    pub complete: bool,
    len: u8,
    addrs: [Ipv4Address; MAX_ROUTE_HOPS],
}

impl ReceivedRoute {
    /// The addresses in the option (the recorded route once complete).
    pub fn addresses(&self) -> &[Ipv4Address] {
        self.addrs.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// The route back to the sender (MUST-53): the recorded route reversed.
    /// `None` while the route is incomplete (the datagram is not at its
    /// final destination) or when it recorded no hop.
    pub fn return_route(&self) -> Option<SourceRoute> {
        if !self.complete {
            return None;
        }
        SourceRoute::new(self.kind, self.addresses()).map(|r| r.reversed())
    }
}

/// Find the source route option (LSRR or SSRR) in an IPv4 option list.
///
/// Walks the list per RFC 791: EOL ends it, NOP is one octet, every other
/// option has a length octet of at least 2 that must fit the list (else
/// [`Error::Malformed`]); options other than source routes are skipped. A
/// source route must have a length of 3 plus a multiple of 4, a pointer of
/// at least 4 that is 4 plus a multiple of 4 (or lies past the end), unicast
/// addresses, and must appear at most once (RFC 791); anything else is
/// [`Error::Malformed`].
pub fn find_source_route(options: &[u8]) -> Result<Option<ReceivedRoute>> {
    let mut found = None;
    for_each_option(options, |kind, body| {
        if kind == OPTION_LSRR || kind == OPTION_SSRR {
            if found.is_some() {
                return Err(Error::Malformed);
            }
            found = Some(parse_route(kind, body)?);
        }
        Ok(())
    })?;
    Ok(found)
}

/// Whether the IPv4 options carry a source route (LSRR or SSRR), without
/// reading it: what a build without the `source-route` feature needs to
/// drop such datagrams. A malformed option list (as [`find_source_route`]
/// sees it, not counting the route's own contents) is [`Error::Malformed`].
pub fn has_source_route(options: &[u8]) -> Result<bool> {
    let mut found = false;
    for_each_option(options, |kind, _| {
        found |= kind == OPTION_LSRR || kind == OPTION_SSRR;
        Ok(())
    })?;
    Ok(found)
}

/// Call `f(type, option)` for each option of the list other than End of
/// Option List (which ends it) and No Operation (RFC 791 §3.1); a length
/// below 2 or past the end is [`Error::Malformed`].
fn for_each_option(options: &[u8], mut f: impl FnMut(u8, &[u8]) -> Result<()>) -> Result<()> {
    let mut i = 0;
    while let Some(&kind) = options.get(i) {
        match kind {
            OPTION_EOL => break,
            OPTION_NOP => i += 1,
            _ => {
                let len = usize::from(*options.get(i + 1).ok_or(Error::Malformed)?);
                if len < 2 {
                    return Err(Error::Malformed);
                }
                f(kind, options.get(i..i + len).ok_or(Error::Malformed)?)?;
                i += len;
            }
        }
    }
    Ok(())
}

fn parse_route(kind: u8, body: &[u8]) -> Result<ReceivedRoute> {
    let len = body.len();
    if len < 3 || (len - 3) % 4 != 0 {
        return Err(Error::Malformed);
    }
    let pointer = usize::from(*body.get(2).ok_or(Error::Malformed)?);
    if pointer < usize::from(MIN_POINTER) || (pointer <= len && pointer % 4 != 0) {
        return Err(Error::Malformed);
    }
    let mut route = ReceivedRoute {
        kind: if kind == OPTION_SSRR {
            RouteKind::Strict
        } else {
            RouteKind::Loose
        },
        complete: pointer > len,
        len: 0,
        addrs: [Ipv4Address::UNSPECIFIED; MAX_ROUTE_HOPS],
    };
    let data = body.get(3..).unwrap_or(&[]);
    for (slot, chunk) in route.addrs.iter_mut().zip(data.chunks_exact(4)) {
        let addr = Ipv4Address::from_bytes(chunk).ok_or(Error::Malformed)?;
        if !addr.is_unicast() {
            return Err(Error::Malformed);
        }
        *slot = addr;
        route.len += 1;
    }
    if data.len() / 4 > MAX_ROUTE_HOPS {
        return Err(Error::Malformed);
    }
    Ok(route)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    fn a(n: u8) -> Ipv4Address {
        Ipv4Address::new(10, 0, n, 1)
    }

    #[test]
    fn new_checks_hops() {
        assert_eq!(SourceRoute::new(RouteKind::Loose, &[]), None);
        assert_eq!(
            SourceRoute::new(RouteKind::Loose, &[Ipv4Address::BROADCAST]),
            None
        );
        let ten: Vec<_> = (0..10).map(a).collect();
        assert_eq!(SourceRoute::new(RouteKind::Strict, &ten), None);
        let nine = SourceRoute::new(RouteKind::Strict, &ten[..9]).unwrap();
        assert_eq!(nine.option_len(), 40);
        assert_eq!(nine.hops(), &ten[..9]);
        assert_eq!(nine.first_hop(), a(0));
    }

    #[test]
    fn emit_layout() {
        let r = SourceRoute::new(RouteKind::Loose, &[a(1), a(2)]).unwrap();
        let mut buf = [0xaa; 16];
        assert_eq!(r.emit(a(9), &mut buf), Ok(12));
        assert_eq!(
            buf[..12],
            [1, 131, 11, 4, 10, 0, 2, 1, 10, 0, 9, 1],
            "NOP, LSRR len 11 ptr 4, then hop 2 and the destination"
        );
        assert_eq!(buf[12..], [0xaa; 4]);
        assert_eq!(r.emit(a(9), &mut buf[..11]), Err(Error::BufferTooSmall));
        // As sent, the route is incomplete: the pointer is at the first address.
        let got = find_source_route(&buf[..12]).unwrap().unwrap();
        assert!(!got.complete);
        assert_eq!(got.addresses(), &[a(2), a(9)]);
        assert_eq!(got.return_route(), None);
    }

    /// What routers do on the way (RFC 791): replace the address under the
    /// pointer with their own and advance the pointer.
    fn traverse(option: &mut [u8], routers: &[Ipv4Address]) {
        for r in routers {
            // The pointer counts from 1 at the type octet.
            let p = usize::from(option[2]) - 1;
            option[p..p + 4].copy_from_slice(&r.0);
            option[2] += 4;
        }
    }

    #[test]
    fn return_route_is_the_recorded_route_reversed() {
        // S sends via A and B to D; A and B record their outgoing addresses.
        let r = SourceRoute::new(RouteKind::Strict, &[a(1), a(2)]).unwrap();
        let mut buf = [0u8; 12];
        r.emit(a(9), &mut buf).unwrap();
        traverse(&mut buf[1..], &[a(11), a(12)]);
        let got = find_source_route(&buf).unwrap().unwrap();
        assert!(got.complete);
        assert_eq!(got.kind, RouteKind::Strict);
        assert_eq!(got.addresses(), &[a(11), a(12)]);
        let back = got.return_route().unwrap();
        assert_eq!(back.hops(), &[a(12), a(11)]);
        assert_eq!(back.kind(), RouteKind::Strict);
    }

    #[test]
    fn other_options_skipped_and_malformed_refused() {
        // Record route (7) and a timestamp-like option around nothing.
        assert_eq!(find_source_route(&[7, 7, 4, 0, 0, 0, 0, 0]), Ok(None));
        assert_eq!(find_source_route(&[1, 1, 0, 131]), Ok(None));
        assert_eq!(find_source_route(&[]), Ok(None));
        let bad: [&[u8]; 8] = [
            &[7],                             // no length octet
            &[7, 1],                          // length below 2
            &[7, 9, 0],                       // runs past the list
            &[131, 4, 4, 0],                  // length not 3 + 4n
            &[131, 7, 3, 10, 0, 0, 1],        // pointer below 4
            &[131, 7, 5, 10, 0, 0, 1],        // pointer inside, not on an address
            &[131, 7, 4, 255, 255, 255, 255], // broadcast hop
            &[131, 3, 4, 137, 3, 4],          // two source routes
        ];
        for b in bad {
            assert_eq!(find_source_route(b), Err(Error::Malformed), "{b:?}");
        }
    }

    #[test]
    fn has_source_route_sees_the_option_not_its_contents() {
        assert_eq!(has_source_route(&[7, 7, 4, 0, 0, 0, 0, 0]), Ok(false));
        assert_eq!(has_source_route(&[1, 1, 0, 131]), Ok(false), "after EOL");
        assert_eq!(has_source_route(&[]), Ok(false));
        assert_eq!(has_source_route(&[1, 137, 3, 4]), Ok(true));
        // A malformed route is still a route; malformed framing is refused.
        assert_eq!(has_source_route(&[131, 7, 3, 10, 0, 0, 1]), Ok(true));
        for b in [&[7][..], &[7, 1], &[7, 9, 0], &[131, 4, 4]] {
            assert_eq!(has_source_route(b), Err(Error::Malformed), "{b:?}");
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
            let found = find_source_route(&bytes);
            if let Ok(has) = has_source_route(&bytes) {
                prop_assert!(found.is_err() || found.as_ref().is_ok_and(|r| r.is_some() == has));
            } else {
                prop_assert!(found.is_err());
            }
            if let Ok(Some(r)) = find_source_route(&bytes) {
                prop_assert!(r.addresses().len() <= MAX_ROUTE_HOPS);
                if let Some(back) = r.return_route() {
                    prop_assert!(back.option_len() <= 40);
                }
            }
        }

        #[test]
        fn emit_then_traverse_round_trips(
            hops in proptest::collection::vec(1u8..200, 1..=MAX_ROUTE_HOPS),
            strict in any::<bool>(),
        ) {
            let kind = if strict { RouteKind::Strict } else { RouteKind::Loose };
            let hops: Vec<_> = hops.into_iter().map(a).collect();
            let route = SourceRoute::new(kind, &hops).unwrap();
            let mut buf = [0u8; 40];
            let n = route.emit(a(250), &mut buf).unwrap();
            prop_assert_eq!(n, route.option_len());
            let sent = find_source_route(&buf[..n]).unwrap().unwrap();
            prop_assert!(!sent.complete);
            prop_assert_eq!(sent.addresses().last(), Some(&a(250)));
            // The routers record hops 1.. and the last one the destination's
            // neighbour; here they record the listed hops themselves.
            let mut recorded: Vec<_> = hops.clone();
            recorded.rotate_left(1);
            let last = recorded.len() - 1;
            recorded[last] = a(251);
            traverse(&mut buf[1..n], &recorded);
            let got = find_source_route(&buf[..n]).unwrap().unwrap();
            prop_assert!(got.complete);
            let mut back: Vec<_> = recorded.clone();
            back.reverse();
            let ret = got.return_route().unwrap();
            prop_assert_eq!(ret.hops(), &back[..]);
        }
    }
}
