//! The STUN and TURN servers each session is told about. A TURN server configured with a shared
//! secret (coturn's `use-auth-secret` / `static-auth-secret`) gets credentials made for the
//! session and valid only as long as it may live (the "TURN REST API" scheme:
//! `username = "<expiry>:<user>/<realm>"`, `credential = base64(HMAC-SHA1(secret, username))`). A TURN
//! server with a fixed user name and password is announced to staff only: handing it to
//! anonymous customers would make the relay free for anyone to use.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use switchboard_protocol::{IceServer, Role};

use super::{Core, Login, Millis, UserKey};

/// One configured STUN or TURN server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayServer {
    /// `stun:host:port`, `turn:host:port?transport=udp`, `turns:host:443?transport=tcp`, …
    pub urls: Vec<String>,
    /// How clients authenticate to it.
    pub auth: RelayAuth,
}

/// How clients authenticate to a relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayAuth {
    /// Nothing (STUN).
    None,
    /// A fixed user name and password: given to users, agents and admins, never to customers.
    Fixed {
        /// TURN user name.
        username: String,
        /// TURN password.
        credential: String,
    },
    /// A secret shared with the TURN server: each session gets its own time-limited
    /// credentials, customers included.
    Secret(String),
}

/// Time-limited TURN credentials for `user` of `realm` until `expires` (Unix seconds). The
/// name says whose they are (`<expiry>:<user>/<realm>`): the relay caps allocations per
/// account and per realm by it (a user id holds no '/'; coturn reads only the expiry).
pub(crate) fn turn_credentials(secret: &str, user: &UserKey, expires: u64) -> (String, String) {
    let username = format!("{expires}:{}/{}", user.user, user.realm);
    let credential = turn_password(secret, &username);
    (username, credential)
}

/// The password of a TURN REST API user name: base64(HMAC-SHA1(secret, username)).
pub(crate) fn turn_password(secret: &str, username: &str) -> String {
    let mut mac =
        Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(username.as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

impl Core {
    /// What this sign-in is told: STUN servers, TURN servers with its own credentials, and
    /// fixed-credential TURN servers unless it is a customer's.
    pub(super) fn ice_servers_for(&self, login: &Login, now: Millis) -> Vec<IceServer> {
        let customer = login.role == Role::Customer;
        let lifetime = if customer {
            self.config.customer_max_session_ms
        } else {
            self.config.max_session_ms
        };
        // As long as this sign-in may live, and no longer (a resume late in a session gets
        // what is left of it, not a fresh lifetime).
        let expires = login.session_ends_at.min(now + lifetime) / 1000;
        self.config
            .ice_servers
            .iter()
            .filter_map(|s| {
                let (username, credential) = match &s.auth {
                    RelayAuth::None => (None, None),
                    RelayAuth::Fixed { .. } if customer => return None,
                    RelayAuth::Fixed {
                        username,
                        credential,
                    } => (Some(username.clone()), Some(credential.clone())),
                    RelayAuth::Secret(secret) => {
                        let (u, c) = turn_credentials(secret, &login.user, expires);
                        (Some(u), Some(c))
                    }
                };
                Some(IceServer {
                    urls: s.urls.clone(),
                    username,
                    credential,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use switchboard_protocol::{Label, UserId};

    #[test]
    fn credentials_follow_the_turn_rest_scheme() {
        // What coturn computes for this user name and secret:
        // `echo -n "1433895918:user" | openssl dgst -binary -sha1 -hmac secret | base64`.
        assert_eq!(
            turn_password("secret", "1433895918:user"),
            "duY86vsmGEXM+Ma7pGS//SXJIv0="
        );
        let amy = UserKey::new(Label::new("acme").unwrap(), UserId::new("amy").unwrap());
        let (u, c) = turn_credentials("secret", &amy, 1_433_895_918);
        assert_eq!(u, "1433895918:amy/acme");
        assert_eq!(c, turn_password("secret", &u));
    }
}
