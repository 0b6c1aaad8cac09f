//! What the relay lets through, decided without sockets: whose credentials hold (the TURN REST
//! API's time-limited ones, never a static password), how many allocations one user, one realm
//! (tenant) and the whole relay may hold, which peers may be reached through it (never this machine, link-local
//! or — unless configured — private networks: a relay must not be a way into the server's own
//! network), and how fast one allocation may send.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use ipnet::IpNet;

use crate::core::ice::turn_password;

/// Why something was refused (counted in the metrics by this name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// The user name is not `expiry:user`, or its expiry has passed.
    Expired,
    /// The message's integrity does not match the secret's password.
    Forged,
    /// This user holds as many allocations as they may.
    UserQuota,
    /// This realm's users hold as many allocations as the realm may.
    RealmQuota,
    /// The relay holds as many allocations as it may.
    RelayFull,
    /// A peer the relay must not reach.
    DeniedPeer,
    /// More than an allocation's bandwidth.
    Bandwidth,
}

impl Refusal {
    pub fn name(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::Forged => "forged",
            Self::UserQuota => "user_quota",
            Self::RealmQuota => "realm_quota",
            Self::RelayFull => "relay_full",
            Self::DeniedPeer => "denied_peer",
            Self::Bandwidth => "bandwidth",
        }
    }
}

/// The password the TURN REST API gives `username` (`"<expiry>:<user>"`) with `secret`, if the
/// name has that form and has not expired at `now_unix` (seconds).
pub fn rest_password(secret: &str, username: &str, now_unix: u64) -> Result<String, Refusal> {
    let (expiry, user) = username.split_once(':').ok_or(Refusal::Expired)?;
    let expiry: u64 = expiry.parse().map_err(|_| Refusal::Expired)?;
    if expiry <= now_unix || user.is_empty() {
        return Err(Refusal::Expired);
    }
    Ok(turn_password(secret, username))
}

/// Whether the relay may send to (and take from) `ip`. Loopback, link-local, multicast,
/// broadcast and unspecified addresses never; private and unique-local ones only inside
/// `allowed` (a deployment whose agents and relay share a private network lists it).
pub fn peer_allowed(ip: IpAddr, allowed: &[IpNet]) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    let never = match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
                // 0.0.0.0/8 ("this network") reaches the host itself on Linux.
                || v4.octets()[0] == 0
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_multicast()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    };
    if never {
        return false;
    }
    let private = match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                // 100.64.0.0/10, the carrier-grade NAT's shared space.
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    };
    !private || allowed.iter().any(|n| n.contains(&ip))
}

/// Whom a REST user name (`<expiry>:<user>/<realm>`, as the signaling issues them) is for: the
/// account, across its sign-ins (`user/realm`: ids are unique within a realm only), and its
/// realm (empty for a name issued without one).
pub fn holder(username: &str) -> (&str, &str) {
    let who = username.split_once(':').map_or(username, |(_, w)| w);
    // A user id holds no '/'; a realm's name may.
    let realm = who.split_once('/').map_or("", |(_, r)| r);
    (who, realm)
}

/// How many allocations one account, one realm and everyone may hold.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub per_user: usize,
    pub per_realm: usize,
    pub total: usize,
}

/// Allocations held, per account, per realm and in all.
#[derive(Debug, Default)]
pub struct Quotas {
    per_user: HashMap<String, usize>,
    per_realm: HashMap<String, usize>,
    total: usize,
}

impl Quotas {
    /// Counts one more allocation for the holder of `username`, if it fits every cap.
    pub fn take(&mut self, username: &str, caps: Caps) -> Result<(), Refusal> {
        let (user, realm) = holder(username);
        if self.total >= caps.total {
            return Err(Refusal::RelayFull);
        }
        if self.per_realm.get(realm).copied().unwrap_or(0) >= caps.per_realm {
            return Err(Refusal::RealmQuota);
        }
        let held = self.per_user.entry(user.to_owned()).or_default();
        if *held >= caps.per_user {
            return Err(Refusal::UserQuota);
        }
        *held += 1;
        *self.per_realm.entry(realm.to_owned()).or_default() += 1;
        self.total += 1;
        Ok(())
    }

    /// One of the allocations of `username`'s holder is gone.
    pub fn give_back(&mut self, username: &str) {
        let (user, realm) = holder(username);
        let Some(held) = self.per_user.get_mut(user) else {
            return;
        };
        *held -= 1;
        if *held == 0 {
            self.per_user.remove(user);
        }
        if let Some(r) = self.per_realm.get_mut(realm) {
            *r -= 1;
            if *r == 0 {
                self.per_realm.remove(realm);
            }
        }
        self.total -= 1;
    }

    pub fn total(&self) -> usize {
        self.total
    }
}

/// A token bucket: `rate` bytes a second, up to one second's worth at once.
#[derive(Debug, Clone)]
pub struct Bucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    pub fn new(bits_per_second: u64, now: Instant) -> Self {
        let rate = bits_per_second as f64 / 8.0;
        Self {
            rate,
            tokens: rate,
            last: now,
        }
    }

    /// Whether `bytes` may go now (if so, they are counted).
    pub fn take(&mut self, bytes: usize, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last);
        self.last = now;
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.rate).min(self.rate);
        if self.tokens >= bytes as f64 {
            self.tokens -= bytes as f64;
            true
        } else {
            false
        }
    }
}

/// How long a refused name is remembered, so that a flood of the same bad credentials costs one
/// HMAC each, not one per packet.
pub const REFUSED_FOR: Duration = Duration::from_secs(30);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rest_credentials_hold_until_their_expiry_and_never_after() {
        // coturn's value for this secret and name (see core::ice's test).
        assert_eq!(
            rest_password("secret", "1433895918:user", 1_433_895_917).unwrap(),
            "duY86vsmGEXM+Ma7pGS//SXJIv0="
        );
        assert_eq!(
            rest_password("secret", "1433895918:user", 1_433_895_918),
            Err(Refusal::Expired)
        );
        for bad in ["user", "soon:user", "1433895918:", ""] {
            assert_eq!(
                rest_password("secret", bad, 0),
                Err(Refusal::Expired),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_relay_reaches_public_peers_and_configured_private_ones_only() {
        let none: Vec<IpNet> = Vec::new();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        for public in ["198.51.100.6", "203.0.113.9", "8.8.8.8", "2001:db8::1"] {
            assert!(peer_allowed(ip(public), &none), "{public}");
        }
        for never in [
            "127.0.0.1",
            "169.254.1.1",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.251",
            "255.255.255.255",
            "::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!peer_allowed(ip(never), &none), "{never}");
            let all: Vec<IpNet> = vec!["0.0.0.0/0".parse().unwrap(), "::/0".parse().unwrap()];
            assert!(!peer_allowed(ip(never), &all), "{never} even when allowed");
        }
        for private in [
            "10.0.1.2",
            "192.168.1.1",
            "172.16.0.1",
            "100.64.0.1",
            "fd00::1",
        ] {
            assert!(!peer_allowed(ip(private), &none), "{private}");
        }
        let lab: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert!(peer_allowed(ip("10.0.1.2"), &lab));
        assert!(!peer_allowed(ip("192.168.1.1"), &lab));
    }

    #[test]
    fn quotas_cap_a_user_across_sign_ins_a_realm_and_the_relay() {
        let caps = Caps {
            per_user: 3,
            per_realm: 4,
            total: 6,
        };
        let mut q = Quotas::default();
        // Three sign-ins of amy (names with other expiries) are one account.
        for expiry in [100, 200, 300] {
            q.take(&format!("{expiry}:amy/acme"), caps).unwrap();
        }
        assert_eq!(q.take("400:amy/acme", caps), Err(Refusal::UserQuota));
        // amy of another realm is someone else.
        q.take("100:amy/globex", caps).unwrap();
        q.take("100:bob/acme", caps).unwrap();
        assert_eq!(q.take("100:cy/acme", caps), Err(Refusal::RealmQuota));
        q.take("100:cy/globex", caps).unwrap();
        assert_eq!(q.take("100:dee/initech", caps), Err(Refusal::RelayFull));
        q.give_back("200:amy/acme");
        q.take("100:cy/acme", caps).unwrap();
        assert_eq!(q.total(), 6);
        q.give_back("100:nobody/acme");
        assert_eq!(q.total(), 6);
        assert_eq!(
            holder("1:a.b@c/Acme Inc/EU"),
            ("a.b@c/Acme Inc/EU", "Acme Inc/EU")
        );
        assert_eq!(holder("1:coturn-style"), ("coturn-style", ""));
    }

    #[test]
    fn a_bucket_lets_its_rate_through_and_no_more() {
        let t0 = Instant::now();
        // 80 kbit/s = 10 000 bytes a second.
        let mut b = Bucket::new(80_000, t0);
        let sent = (0..100).filter(|_| b.take(1_000, t0)).count();
        assert_eq!(sent, 10, "one second's worth at once");
        assert!(!b.take(1_000, t0 + Duration::from_millis(50)));
        assert!(b.take(1_000, t0 + Duration::from_millis(100)));
        // A long pause does not bank more than a second.
        let later = t0 + Duration::from_secs(60);
        assert_eq!((0..100).filter(|_| b.take(1_000, later)).count(), 10);
    }
}
