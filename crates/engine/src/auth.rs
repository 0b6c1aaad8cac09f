//! Signing in with a user id and password: `POST /auth/login` on the server's HTTP side gives a
//! token for the shift, which the signaling socket then presents.

use std::time::Duration;

use serde::Deserialize;
use switchboard_protocol::{Role, Token, UserId};

/// Where a server is, as an agent types it: `host:port`, `http(s)://host[:port]` or the
/// WebSocket URL `ws(s)://host[:port]/ws`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddress {
    /// `http(s)://host:port`, no trailing slash.
    pub http: String,
    /// `ws(s)://host:port/ws`.
    pub ws: String,
}

impl std::str::FromStr for ServerAddress {
    type Err = AuthError;

    fn from_str(s: &str) -> Result<Self, AuthError> {
        let s = s.trim();
        let bad = || AuthError::Address(s.to_owned());
        let (secure, rest) = match s.split_once("://") {
            Some(("http" | "ws", rest)) => (false, rest),
            Some(("https" | "wss", rest)) => (true, rest),
            Some(_) => return Err(bad()),
            None => (false, s),
        };
        let rest = rest.trim_end_matches('/');
        let host = rest.strip_suffix("/ws").unwrap_or(rest);
        if host.is_empty() || host.ends_with(':') || host.contains(['/', ' ', '?', '#']) {
            return Err(bad());
        }
        let (http, ws) = if secure {
            ("https", "wss")
        } else {
            ("http", "ws")
        };
        Ok(Self {
            http: format!("{http}://{host}"),
            ws: format!("{ws}://{host}/ws"),
        })
    }
}

/// Several nodes of one switchboard, as typed: addresses separated by commas
/// (`cc1.example.com, cc2.example.com`). The client signs in at the first that answers and,
/// when its node goes, moves on to the next (docs/server.md, "Several nodes").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddresses(pub Vec<ServerAddress>);

impl std::str::FromStr for ServerAddresses {
    type Err = AuthError;

    fn from_str(s: &str) -> Result<Self, AuthError> {
        let list = s
            .split(',')
            .map(str::parse)
            .collect::<Result<Vec<ServerAddress>, _>>()?;
        Ok(Self(list))
    }
}

impl ServerAddresses {
    /// The first: what names the account in the history.
    pub fn first(&self) -> &ServerAddress {
        // `from_str` makes at least one (an empty text is not an address).
        &self.0[0]
    }

    /// The WebSocket URLs, comma-separated: what the engine's `server` takes.
    pub fn ws(&self) -> String {
        self.0
            .iter()
            .map(|a| a.ws.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Why signing in failed, said so that an agent knows what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("{0:?} is not a server address (e.g. cc.example.com:7700 or https://cc.example.com)")]
    Address(String),
    #[error("wrong user or password")]
    Denied,
    #[error("cannot reach the server at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the server said: {0}")]
    Server(String),
}

/// A token for the shift.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Login {
    pub token: Token,
    pub user: UserId,
    pub role: Role,
    /// Unix milliseconds.
    pub expires_at: u64,
}

/// Signs in with a password (a blocking HTTP request on a blocking thread; 10 s at most).
pub async fn login(server: &ServerAddress, user: &str, password: &str) -> Result<Login, AuthError> {
    let url = format!("{}/auth/login", server.http);
    let body = serde_json::json!({ "user": user, "password": password });
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .build()
            .into();
        let unreachable = |e: &dyn std::fmt::Display| AuthError::Unreachable {
            url: url.clone(),
            reason: e.to_string(),
        };
        let mut reply = agent
            .post(&url)
            .send_json(&body)
            .map_err(|e| unreachable(&e))?;
        let status = reply.status().as_u16();
        let text = reply
            .body_mut()
            .read_to_string()
            .map_err(|e| unreachable(&e))?;
        match status {
            200 => serde_json::from_str(&text).map_err(|e| AuthError::Server(e.to_string())),
            401 | 403 => Err(AuthError::Denied),
            _ => Err(AuthError::Server(
                serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v["message"].as_str().map(str::to_owned))
                    .unwrap_or(format!("HTTP {status}")),
            )),
        }
    })
    .await
    .map_err(|e| AuthError::Server(e.to_string()))?
}

/// Signs in at the first of several nodes that answers (a wrong password is wrong on all).
pub async fn login_any(
    servers: &ServerAddresses,
    user: &str,
    password: &str,
) -> Result<Login, AuthError> {
    let mut last = None;
    for server in &servers.0 {
        match login(server, user, password).await {
            Ok(l) => return Ok(l),
            Err(AuthError::Denied) => return Err(AuthError::Denied),
            Err(e) => {
                tracing::info!("signing in at {}: {e}; trying the next node", server.http);
                last = Some(e);
            }
        }
    }
    Err(last.unwrap_or(AuthError::Address(String::new())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn addresses_as_agents_type_them() {
        let a: ServerAddress = "127.0.0.1:7700".parse().unwrap();
        assert_eq!(a.http, "http://127.0.0.1:7700");
        assert_eq!(a.ws, "ws://127.0.0.1:7700/ws");
        let b: ServerAddress = "wss://cc.example.com/ws".parse().unwrap();
        assert_eq!(b.http, "https://cc.example.com");
        assert_eq!(b.ws, "wss://cc.example.com/ws");
        let c: ServerAddress = "https://cc.example.com/".parse().unwrap();
        assert_eq!(c.ws, "wss://cc.example.com/ws");
        for bad in ["", "ftp://x", "http://", "a b", "http://x/y/z"] {
            assert!(bad.parse::<ServerAddress>().is_err(), "{bad}");
        }
        let nodes: ServerAddresses = "10.0.0.1:7700, wss://cc2.example.com".parse().unwrap();
        assert_eq!(nodes.ws(), "ws://10.0.0.1:7700/ws,wss://cc2.example.com/ws");
        assert_eq!(nodes.first().http, "http://10.0.0.1:7700");
        assert!("a:1,,b:2".parse::<ServerAddresses>().is_err());
    }
}
