//! What a connection asks of IP for each segment it sends (RFC 9293 §3.9.2,
//! RFC 1122 §4.2.4): the DSCP (§3.9.1.9, MUST-48), the ECN field (RFC 3168), the source route
//! (§3.9.2.1, MUST-51/52/53) and negative advice after R1 retransmissions
//! (§3.8.3, MUST-20).

use super::{Endpoint, TcpError};
use crate::wire::{Dscp, Ecn, SourceRoute};

/// Per-segment parameters for the IP layer, handed to the interface with
/// each segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpParams<'r> {
    /// Local endpoint (IP source).
    pub local: Endpoint,
    /// Remote endpoint (the final destination).
    pub remote: Endpoint,
    /// Differentiated Services codepoint for the header.
    pub dscp: Dscp,
    /// ECN field for the header (RFC 3168 §5): ECT(0) on new data of an ECN
    /// connection, Not-ECT otherwise.
    pub ecn: Ecn,
    /// Source route to take, if any.
    pub route: Option<&'r SourceRoute>,
    /// The segment is a retransmission at or beyond R1: IP should doubt its
    /// route to the destination (RFC 1122 §3.3.1.4 negative advice).
    pub negative_advice: bool,
    /// 0 for an ordinary segment. Otherwise the segment carries more than
    /// one MSS of new data and goes to a device with TCP segmentation
    /// offload, which cuts it into pieces of this many payload bytes
    /// (see `phy::TxToken::consume_segmented`). Only with the `tso`
    /// feature.
    #[cfg(feature = "tso")]
    pub segment_size: usize,
}

/// A connection's source route and where it came from.
#[cfg(feature = "source-route")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RouteState {
    route: Option<SourceRoute>,
    /// The application set it (MUST-51): routes in received datagrams do
    /// not replace it (MUST-52).
    user_set: bool,
}

#[cfg(feature = "source-route")]
impl RouteState {
    /// The route segments take.
    pub(crate) fn route(&self) -> Option<&SourceRoute> {
        self.route.as_ref()
    }

    /// The application sets (or with `None` clears) the route.
    pub(crate) fn set_by_user(&mut self, route: Option<SourceRoute>) -> Result<(), TcpError> {
        self.route = route;
        self.user_set = route.is_some();
        Ok(())
    }

    /// A datagram of this connection arrived with a completed source route
    /// whose reverse is `back` (RFC 1122 §4.2.3.8: TCP saves the return
    /// route, and a later different one overrides it), unless the
    /// application chose the route (RFC 9293 §3.9.2.1, MUST-52).
    pub(crate) fn received(&mut self, back: &SourceRoute) {
        if !self.user_set {
            self.route = Some(*back);
        }
    }

    /// What survives the end of a connection: the application's route, not
    /// one learned from the peer.
    pub(crate) fn kept_over_reset(&self) -> RouteState {
        if self.user_set {
            *self
        } else {
            RouteState::default()
        }
    }

    /// IP option bytes the route adds to every segment.
    pub(crate) fn option_len(&self) -> usize {
        self.route.map_or(0, |r| r.option_len())
    }
}

/// Without the `source-route` feature a connection never has a source
/// route (no bytes per socket): the interface drops source-routed
/// datagrams, so none is ever learned, and the application cannot set one
/// ([`TcpError::Unsupported`]).
#[cfg(not(feature = "source-route"))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RouteState {}

#[cfg(not(feature = "source-route"))]
impl RouteState {
    /// No route.
    pub(crate) fn route(&self) -> Option<&SourceRoute> {
        None
    }

    /// Clearing is a no-op; setting a route is refused.
    pub(crate) fn set_by_user(&mut self, route: Option<SourceRoute>) -> Result<(), TcpError> {
        match route {
            None => Ok(()),
            Some(_) => Err(TcpError::Unsupported),
        }
    }

    /// Never called in practice (the interface drops such datagrams).
    pub(crate) fn received(&mut self, _back: &SourceRoute) {}

    /// Nothing to keep.
    pub(crate) fn kept_over_reset(&self) -> RouteState {
        RouteState {}
    }

    /// No option bytes.
    pub(crate) fn option_len(&self) -> usize {
        0
    }
}

#[cfg(all(test, feature = "source-route"))]
mod tests {
    use super::*;
    use crate::wire::{Ipv4Address, RouteKind};

    #[test]
    fn user_route_overrides_received_one() {
        let a = SourceRoute::new(RouteKind::Loose, &[Ipv4Address::new(10, 0, 0, 7)]).unwrap();
        let b = SourceRoute::new(RouteKind::Strict, &[Ipv4Address::new(10, 0, 0, 8)]).unwrap();
        let mut s = RouteState::default();
        s.received(&a);
        assert_eq!(s.route(), Some(&a));
        s.received(&b);
        assert_eq!(s.route(), Some(&b), "a later route overrides the earlier");
        assert_eq!(s.kept_over_reset(), RouteState::default());
        s.set_by_user(Some(a)).unwrap();
        s.received(&b);
        assert_eq!(s.route(), Some(&a), "the application's route wins");
        assert_eq!(s.kept_over_reset().route(), Some(&a));
        assert_eq!(s.option_len(), 8);
        s.set_by_user(None).unwrap();
        s.received(&b);
        assert_eq!(s.route(), Some(&b));
    }
}
