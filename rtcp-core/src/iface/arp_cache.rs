//! The ARP cache (RFC 826): a fixed number of entries with ageing, and a
//! rate limit of one request per second per unresolved address (RFC 1122
//! §2.3.2.1).

use crate::time::{Duration, Instant};
use crate::wire::{EthernetAddress, Ipv4Address};

/// Entries in the cache. When full, the entry closest to expiry is replaced.
pub const ARP_CACHE_SIZE: usize = 16;
/// How long a learned mapping is trusted.
pub const ENTRY_LIFETIME: Duration = Duration::from_secs(60);
/// Minimum time between two requests for the same address.
pub const REQUEST_INTERVAL: Duration = Duration::from_secs(1);

/// What an entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing (the other fields mean nothing).
    Empty,
    /// `ip` is at `mac` until `at`.
    Resolved,
    /// A request for `ip` went out at `at`.
    Pending,
}

/// One entry: a struct with the state beside the fields rather than an
/// enum with the fields in its variants, so that every scan reads the
/// address and the time at one place whatever the state (flash, issue 9;
/// the same 24 bytes).
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Resolved: when the mapping expires. Pending: when the last request
    /// was sent.
    at: Instant,
    ip: Ipv4Address,
    mac: EthernetAddress,
    state: State,
}

impl Entry {
    const EMPTY: Entry = Entry {
        at: Instant::ZERO,
        ip: Ipv4Address([0; 4]),
        mac: EthernetAddress([0; 6]),
        state: State::Empty,
    };

    /// Whether this entry is about `ip` (resolved or pending).
    fn is_for(&self, ip: Ipv4Address) -> bool {
        self.state != State::Empty && self.ip == ip
    }
}

/// What a lookup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// The address resolves to this MAC.
    Found(EthernetAddress),
    /// Unresolved; send a request now (and the cache recorded that it was sent).
    SendRequest,
    /// Unresolved; a request went out recently. Retry at the given time.
    Wait(Instant),
}

/// The ARP cache.
#[derive(Debug, Clone)]
pub struct ArpCache {
    entries: [Entry; ARP_CACHE_SIZE],
}

impl Default for ArpCache {
    fn default() -> Self {
        ArpCache {
            entries: [Entry::EMPTY; ARP_CACHE_SIZE],
        }
    }
}

impl ArpCache {
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    fn position(&self, ip: Ipv4Address) -> Option<usize> {
        self.entries.iter().position(|e| e.is_for(ip))
    }

    // Out of line on 32-bit targets (flash, issue 9: two inlined copies
    // in the firmware build); inlined on 64-bit hosts as before.
    #[cfg_attr(target_pointer_width = "32", inline(never))]
    fn victim(&self, now: Instant) -> usize {
        let mut best = 0;
        let mut best_key = Instant::MAX;
        for (i, e) in self.entries.iter().enumerate() {
            let key = match e.state {
                State::Empty => return i,
                State::Resolved if e.at <= now => return i,
                // Pending entries are cheap to recreate; prefer replacing
                // them (their time is the last request's).
                State::Resolved | State::Pending => e.at,
            };
            if key < best_key {
                best_key = key;
                best = i;
            }
        }
        best
    }

    /// Learn (or refresh) a mapping. Returns whether the address was
    /// pending (someone is waiting for it).
    pub fn fill(&mut self, now: Instant, ip: Ipv4Address, mac: EthernetAddress) -> bool {
        let i = self.position(ip).unwrap_or_else(|| self.victim(now));
        let was_pending = self
            .entries
            .get(i)
            .is_some_and(|e| e.state == State::Pending && e.ip == ip);
        if let Some(e) = self.entries.get_mut(i) {
            *e = Entry {
                at: now + ENTRY_LIFETIME,
                ip,
                mac,
                state: State::Resolved,
            };
        }
        was_pending
    }

    /// Refresh a mapping only if the address is already known (RFC 826
    /// "merge" when we are not the target).
    // Inlined on 32-bit targets into its one caller (`ingress_arp`), where
    // it shares `fill`'s call (flash, issue 9: minimal Cortex-M4 build
    // −68 B with `accept_syn` inlined too).
    #[cfg_attr(target_pointer_width = "32", inline(always))]
    pub fn refresh(&mut self, now: Instant, ip: Ipv4Address, mac: EthernetAddress) {
        if self.position(ip).is_some() {
            self.fill(now, ip, mac);
        }
    }

    /// Look up `ip`, recording a request when one should be sent.
    pub fn lookup(&mut self, now: Instant, ip: Ipv4Address) -> Lookup {
        // The entry to make pending: this address's, once expired or due
        // for another request, or else a victim. One store for both (issue
        // 9: flash).
        let i = match self.position(ip) {
            Some(i) => match self.entries.get(i).copied() {
                Some(e) if e.state == State::Resolved && e.at > now => {
                    return Lookup::Found(e.mac);
                }
                Some(e) if e.state == State::Pending && now < e.at + REQUEST_INTERVAL => {
                    return Lookup::Wait(e.at + REQUEST_INTERVAL);
                }
                _ => i,
            },
            None => self.victim(now),
        };
        if let Some(e) = self.entries.get_mut(i) {
            *e = Entry {
                at: now,
                ip,
                mac: EthernetAddress([0; 6]),
                state: State::Pending,
            };
        }
        Lookup::SendRequest
    }

    /// Forget what is known about `ip` (negative advice, RFC 1122
    /// §3.3.1.4): the next lookup sends a request. A request already
    /// pending is left alone, so its once-a-second limit holds.
    pub fn invalidate(&mut self, ip: Ipv4Address) {
        if let Some(e) = self
            .entries
            .iter_mut()
            .find(|e| e.state == State::Resolved && e.ip == ip)
        {
            e.state = State::Empty;
        }
    }

    /// The mapping for `ip`, if resolved and fresh (no side effects).
    pub fn get(&self, now: Instant, ip: Ipv4Address) -> Option<EthernetAddress> {
        self.entries
            .iter()
            .find(|e| e.state == State::Resolved && e.ip == ip && e.at > now)
            .map(|e| e.mac)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: Ipv4Address = Ipv4Address::new(10, 0, 0, 2);
    const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);

    #[test]
    fn requests_at_most_once_per_second() {
        let mut c = ArpCache::default();
        let t = Instant::from_secs(10);
        assert_eq!(c.lookup(t, IP), Lookup::SendRequest);
        assert_eq!(
            c.lookup(t + Duration::from_millis(500), IP),
            Lookup::Wait(t + REQUEST_INTERVAL)
        );
        assert_eq!(c.lookup(t + REQUEST_INTERVAL, IP), Lookup::SendRequest);
    }

    #[test]
    fn resolves_and_ages() {
        let mut c = ArpCache::default();
        let t = Instant::from_secs(10);
        assert_eq!(c.lookup(t, IP), Lookup::SendRequest);
        assert!(c.fill(t, IP, MAC));
        assert_eq!(c.lookup(t, IP), Lookup::Found(MAC));
        assert_eq!(c.get(t + ENTRY_LIFETIME, IP), None);
        assert_eq!(c.lookup(t + ENTRY_LIFETIME, IP), Lookup::SendRequest);
    }

    #[test]
    fn invalidate_forces_a_new_request() {
        let mut c = ArpCache::default();
        let t = Instant::from_secs(10);
        c.fill(t, IP, MAC);
        c.invalidate(IP);
        assert_eq!(c.get(t, IP), None);
        assert_eq!(c.lookup(t, IP), Lookup::SendRequest);
        // A pending request is not reset by more advice.
        c.invalidate(IP);
        assert_eq!(c.lookup(t, IP), Lookup::Wait(t + REQUEST_INTERVAL));
    }

    /// Empty entries hold the unspecified address and a zero MAC and time,
    /// which match nothing: only the state says an entry is in use.
    #[test]
    fn empty_entries_match_nothing() {
        let mut c = ArpCache::default();
        let zero = Ipv4Address::new(0, 0, 0, 0);
        let t = Instant::ZERO;
        assert_eq!(c.get(t, zero), None);
        assert!(!c.fill(t, zero, MAC));
        assert_eq!(c.lookup(t, zero), Lookup::Found(MAC));
        assert_eq!(c.lookup(t, IP), Lookup::SendRequest);
        assert_eq!(c.get(t, IP), None);
        assert_eq!(c.lookup(t, IP), Lookup::Wait(t + REQUEST_INTERVAL));
    }

    #[test]
    fn full_cache_replaces_oldest() {
        let mut c = ArpCache::default();
        let t = Instant::from_secs(1);
        for i in 0..ARP_CACHE_SIZE as u8 {
            c.fill(
                t + Duration::from_secs(u64::from(i)),
                Ipv4Address::new(10, 0, 1, i),
                MAC,
            );
        }
        c.fill(t + Duration::from_secs(100), IP, MAC);
        assert_eq!(
            c.get(t + Duration::from_secs(30), Ipv4Address::new(10, 0, 1, 0)),
            None
        );
        assert_eq!(
            c.get(t + Duration::from_secs(30), Ipv4Address::new(10, 0, 1, 1)),
            Some(MAC)
        );
        assert_eq!(c.get(t + Duration::from_secs(100), IP), Some(MAC));
    }
}
