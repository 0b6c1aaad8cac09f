//! Who a request comes from, and how much of the server one caller may take: the client's
//! address (read from `X-Forwarded-For` only when a trusted proxy sent it; an IPv6 /64 counts as
//! one address, since anyone with one has billions), open connections per address and in all,
//! and the rate limits on customer tokens and sign-in attempts, whose entries are pruned once
//! they have gone back to full.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;

use crate::config::{Config, parse_network};

/// The part of an address that identifies one caller: the address itself for IPv4, its /64
/// network for IPv6.
pub fn caller(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        v4 => v4,
    }
}

/// One `X-Forwarded-For` entry: an address, with or without a port (`[v6]:port`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// Why a connection was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// This address has as many connections open as it may.
    Address,
    /// The server has as many as it may.
    Server,
}

#[derive(Default)]
struct Open {
    by_address: HashMap<IpAddr, usize>,
    total: usize,
}

/// A connection's place, given back when it is dropped.
pub struct Slot {
    open: Arc<Mutex<Open>>,
    address: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = lock(&self.open);
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_address.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                open.by_address.remove(&self.address);
            }
        }
    }
}

fn lock(m: &Mutex<Open>) -> std::sync::MutexGuard<'_, Open> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

/// The limits, shared by every handler.
pub struct Throttle {
    proxies: Vec<IpNet>,
    per_address: usize,
    total: usize,
    open: Arc<Mutex<Open>>,
    /// `POST /auth/customer`, per caller.
    pub customer_tokens: DefaultKeyedRateLimiter<IpAddr>,
    /// `POST /auth/login`, per caller.
    pub logins_by_address: DefaultKeyedRateLimiter<IpAddr>,
    /// `POST /auth/login`, per account (`realm/user`), whoever tries.
    pub logins_by_account: DefaultKeyedRateLimiter<String>,
}

impl Throttle {
    /// The limits of a configuration.
    pub fn new(config: &Config) -> Self {
        Self {
            proxies: config
                .trusted_proxies
                .iter()
                .filter_map(|p| parse_network(p))
                .collect(),
            per_address: config.max_connections_per_address,
            total: config.max_connections,
            open: Arc::default(),
            customer_tokens: RateLimiter::keyed(per_minute(config.customer_tokens_per_minute)),
            logins_by_address: RateLimiter::keyed(per_minute(config.logins_per_minute_per_address)),
            logins_by_account: RateLimiter::keyed(per_minute(config.logins_per_minute_per_account)),
        }
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.proxies.iter().any(|n| n.contains(&ip))
    }

    /// The caller behind a request: the peer, or, when the peer is a trusted proxy, the last
    /// address in `X-Forwarded-For` that is not one of ours (what a client puts in front of
    /// that is its own word, and ignored). A hop that cannot be read (`unknown`, an obfuscated
    /// name) stops the walk at the last proxy we trust: nothing further left is believed.
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let mut ip = peer.ip();
        if self.trusted(ip) {
            let hops: Vec<&str> = headers
                .get_all("x-forwarded-for")
                .iter()
                .map(|v| v.to_str().unwrap_or(""))
                .flat_map(|v| v.split(','))
                .collect();
            for hop in hops.into_iter().rev() {
                let Some(hop) = parse_hop(hop) else {
                    break;
                };
                ip = hop;
                if !self.trusted(hop) {
                    break;
                }
            }
        }
        caller(ip)
    }

    /// A place for one more connection from `address`, or why there is none.
    pub fn connect(&self, address: IpAddr) -> Result<Slot, Full> {
        let mut open = lock(&self.open);
        if open.total >= self.total {
            return Err(Full::Server);
        }
        let n = open.by_address.entry(address).or_insert(0);
        if *n >= self.per_address {
            return Err(Full::Address);
        }
        *n += 1;
        open.total += 1;
        Ok(Slot {
            open: self.open.clone(),
            address,
        })
    }

    /// Forgets rate-limit entries that are back to full, so that one-off callers (or a
    /// caller rotating addresses) do not grow the maps without end.
    pub fn prune(&self) {
        self.customer_tokens.retain_recent();
        self.customer_tokens.shrink_to_fit();
        self.logins_by_address.retain_recent();
        self.logins_by_address.shrink_to_fit();
        self.logins_by_account.retain_recent();
        self.logins_by_account.shrink_to_fit();
    }

    /// Rate-limit entries kept now (for metrics and tests).
    pub fn entries(&self) -> usize {
        self.customer_tokens.len() + self.logins_by_address.len() + self.logins_by_account.len()
    }

    /// Connections open now.
    pub fn open_connections(&self) -> usize {
        lock(&self.open).total
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn throttle(toml: &str) -> Throttle {
        Throttle::new(&toml::from_str::<Config>(toml).unwrap())
    }

    fn peer(s: &str) -> SocketAddr {
        SocketAddr::new(s.parse().unwrap(), 40_000)
    }

    fn forwarded(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn the_client_is_read_from_trusted_proxies_only() {
        let t = throttle("trusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n");
        // A trusted proxy's word, after our own proxies.
        assert_eq!(
            t.client(peer("127.0.0.1"), &forwarded("198.51.100.7, 10.1.2.3")),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // What the client itself put in front is not believed.
        assert_eq!(
            t.client(peer("127.0.0.1"), &forwarded("1.1.1.1, 198.51.100.7")),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // Anyone else's header is ignored.
        assert_eq!(
            t.client(peer("203.0.113.9"), &forwarded("1.1.1.1")),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        // A hop we cannot read ends the walk: the caller is the proxy that wrote it.
        assert_eq!(
            t.client(peer("127.0.0.1"), &forwarded("198.51.100.7, unknown")),
            "127.0.0.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            t.client(peer("127.0.0.1"), &forwarded("1.1.1.1, [2001:db8::1]:443")),
            "2001:db8::".parse::<IpAddr>().unwrap()
        );
        // No proxies configured: the peer, always.
        let t = throttle("");
        assert_eq!(
            t.client(peer("127.0.0.1"), &forwarded("1.1.1.1")),
            "127.0.0.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn an_ipv6_network_counts_as_one_caller() {
        let a = caller("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = caller("2001:db8:1:2:ffff:1:2:3".parse().unwrap());
        let other = caller("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(
            caller("::ffff:192.0.2.1".parse().unwrap()),
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn connections_are_capped_per_address_and_in_all() {
        let t = throttle("max_connections_per_address = 2\nmax_connections = 3\n");
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let one = t.connect(a).unwrap();
        let _two = t.connect(a).unwrap();
        assert_eq!(t.connect(a).err(), Some(Full::Address));
        let _three = t.connect(b).unwrap();
        assert_eq!(t.connect(b).err(), Some(Full::Server));
        drop(one);
        assert!(
            t.connect(a).is_ok(),
            "a closed connection gives its place back"
        );
    }

    #[test]
    fn stale_rate_limit_entries_are_pruned() {
        // One token every 100 ms: a caller's entry is back to full 100 ms after its request.
        let t = throttle("customer_tokens_per_minute = 600\n");
        for i in 0..50u8 {
            let ip = IpAddr::from([192, 0, 2, i]);
            assert!(t.customer_tokens.check_key(&ip).is_ok());
        }
        assert_eq!(t.entries(), 50);
        t.prune();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while t.entries() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "entries were not pruned"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
            t.prune();
        }
    }
}
