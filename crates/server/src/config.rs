//! The server's configuration: a TOML file (every key optional, unknown keys refused so that a
//! typo does not pass silently) plus command-line flags, with embedded defaults.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use serde::Deserialize;
use switchboard_protocol::{Business, Limits};

use crate::core::{CoreConfig, DevicePolicy, RelayAuth, RelayServer};

/// Everything `serve` can be told.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Prefix of the ids this node issues; unique among nodes sharing a realm.
    pub node: String,
    /// The realm of sign-ins and customer tokens that name none.
    pub default_realm: String,
    /// How long an invite rings before `no_answer`.
    pub ring_timeout_secs: u64,
    /// How long a dropped session may resume before its calls end with `network_lost`.
    pub resume_window_secs: u64,
    /// WebSocket ping interval.
    pub heartbeat_secs: u32,
    /// A connection silent for this long is considered lost (and enters the resume window).
    pub idle_timeout_secs: u64,
    /// How long a customer call rings at an agent before it goes back to the queue.
    pub rona_secs: u64,
    /// The longest a customer waits before `queue_timeout`.
    pub queue_max_wait_secs: u64,
    /// Wrap-up after a customer call (0: none).
    pub wrap_up_secs: u64,
    /// Agents become ready by themselves after wrap-up.
    pub auto_ready: bool,
    /// The wallboard's and the agents' own figures cover the last this many minutes.
    pub stats_window_mins: u64,
    /// Lifetime of user and agent tokens (a shift).
    pub token_ttl_secs: u64,
    /// Lifetime of customer tokens from `POST /auth/customer`.
    pub customer_token_ttl_secs: u64,
    /// The longest a user's or agent's refreshed tokens keep one sign-in alive.
    pub max_session_secs: u64,
    /// The same for customers.
    pub customer_max_session_secs: u64,
    /// The longest lifetime `POST /admin/tokens` gives a token.
    pub max_token_ttl_secs: u64,
    /// Customer tokens per minute per client address.
    pub customer_tokens_per_minute: u32,
    /// Sign-in attempts (`POST /auth/login`) per minute for one account.
    pub logins_per_minute_per_account: u32,
    /// Sign-in attempts per minute from one client address.
    pub logins_per_minute_per_address: u32,
    /// Shortest password the admin API accepts.
    pub min_password_chars: usize,
    /// Open WebSocket connections from one client address (an IPv6 /64 counts as one).
    pub max_connections_per_address: usize,
    /// Open WebSocket connections in all.
    pub max_connections: usize,
    /// A frame the client does not take within this long closes its connection.
    pub write_timeout_secs: u64,
    /// Proxies (addresses or networks, e.g. `127.0.0.1`, `10.0.0.0/8`) whose
    /// `X-Forwarded-For` names the client; from anyone else the header is ignored.
    pub trusted_proxies: Vec<String>,
    /// `GET /metrics` requires `Authorization: Bearer <this>`; unset, only this machine may
    /// read the metrics.
    pub metrics_token: Option<String>,
    /// Most customers waiting in one queue (a business of a realm) at once.
    pub max_waiting_per_business: usize,
    /// Tell customers at once that nobody serves their queue (`no_agent_available`) in realms
    /// not listed in `realms`; otherwise they wait like in a busy queue.
    pub reveal_staffing: bool,
    /// Where staffing is not revealed: how long a customer waits for a queue nobody serves
    /// before `queue_timeout`.
    pub unstaffed_wait_secs: u64,
    /// The least time between two calls of one customer into the queue.
    pub customer_enqueue_interval_secs: u64,
    /// Multi-device policy of realms not listed in `realms`.
    pub device_policy: DevicePolicy,
    /// Per-realm settings.
    pub realms: HashMap<String, RealmConfig>,
    /// STUN/TURN servers announced to clients.
    pub ice_servers: Vec<IceServerConfig>,
    /// Frames a connection may send per second, and in a burst.
    pub messages_per_second: u32,
    /// Burst allowance.
    pub message_burst: u32,
    /// The customer widget's built files (`ui/dist-widget`), served at `/widget/`. Unset: the
    /// first of `$SWITCHBOARD_WIDGET_DIR`, `ui/dist-widget` under the working directory or
    /// beside the executable's workspace, `/usr/share/switchboard-server/widget`.
    pub widget_dir: Option<std::path::PathBuf>,
    /// The TURN relay this server runs itself (`[relay]`; off unless `listen` is set).
    pub relay: crate::turn::RelayConfig,
    /// Where accounts and records live (`[store]`).
    pub store: StoreConfig,
    /// Several nodes sharing live state (`[cluster]`; one node alone when unset).
    pub cluster: ClusterConfig,
}

/// A node's address as the operator writes it (`https://host[:port]`, `http://…`, or the
/// WebSocket URL itself) as the WebSocket URL clients use; `None` when it is neither.
fn ws_url(address: &str) -> Option<String> {
    let (scheme, rest) = address.trim().split_once("://")?;
    let scheme = match scheme {
        "https" | "wss" => "wss",
        "http" | "ws" => "ws",
        _ => return None,
    };
    let host = rest.trim_end_matches('/');
    let host = host.strip_suffix("/ws").unwrap_or(host);
    (!host.is_empty() && !host.contains(['/', ' ', '?', '#']))
        .then(|| format!("{scheme}://{host}/ws"))
}

/// Several nodes of one switchboard (`docs/server.md`, "Several nodes").
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// `redis://host:port/db`: where the nodes share their log, snapshot and lease. Unset:
    /// this node alone, its live state in memory.
    pub redis: Option<String>,
    /// The prefix of this switchboard's keys in Redis (several may share one Redis).
    pub name: String,
    /// The nodes' public addresses (`https://cc1.example.com`, or their WebSocket URLs),
    /// announced to clients in `hello`: the app and the widget move to the next when theirs
    /// goes. Empty: clients know only the address they used (a load balancer's).
    pub addresses: Vec<String>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            redis: None,
            name: "switchboard".into(),
            addresses: Vec::new(),
        }
    }
}

/// The database of accounts and records.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `postgres://user:password@host/db` (what several nodes share), or `sqlite://path`.
    /// Unset: `switchboard.db` (SQLite) in the data directory.
    pub url: Option<String>,
}

/// Settings of one realm.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RealmConfig {
    /// `kick` or `multi`.
    pub device_policy: Option<DevicePolicy>,
    /// The queues customers may enter. Unset: the businesses this realm's agents have as
    /// skills on their accounts.
    pub businesses: Option<BTreeSet<Business>>,
    /// Overrides `reveal_staffing` for this realm.
    pub reveal_staffing: Option<bool>,
    /// Peer connections only through a relay: customers never learn an agent's address (nor
    /// agents a customer's). Needs a relay (`[relay]` or a TURN server in `ice_servers`).
    pub relay_only: bool,
    /// Music on hold: a WAV file (at most 16 MiB) the held parties of this realm's users hear
    /// instead of the shipped tune. Served at `/hold-music/REALM`; clients fetch it at sign-in.
    pub hold_music: Option<std::path::PathBuf>,
    /// The service level on the wallboard: the share of customers answered within this many
    /// seconds (default 20)…
    pub service_level_secs: Option<u32>,
    /// …and the goal, in percent (default 80).
    pub service_level_goal: Option<u8>,
    /// Tell agents when a supervisor monitors them (some laws require it).
    pub monitor_notice: bool,
}

/// An ICE server as the browser's `RTCIceServer`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceServerConfig {
    /// `stun:host:port` or `turn:host:port?transport=udp`.
    pub urls: Vec<String>,
    /// For TURN with a fixed account (announced to staff only, never to customers).
    pub username: Option<String>,
    /// For TURN with a fixed account.
    pub credential: Option<String>,
    /// For TURN: the secret shared with the server (coturn `static-auth-secret`); every
    /// session, customers' too, gets its own credentials, valid as long as it may live.
    pub secret: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        let core = CoreConfig::default();
        let limits = Limits::default();
        Self {
            node: core.node,
            default_realm: "dev".into(),
            ring_timeout_secs: core.ring_timeout_ms / 1000,
            resume_window_secs: core.resume_window_ms / 1000,
            heartbeat_secs: core.heartbeat_secs,
            idle_timeout_secs: 30,
            rona_secs: core.rona_ms / 1000,
            queue_max_wait_secs: core.queue_max_wait_ms / 1000,
            wrap_up_secs: core.wrap_up_ms / 1000,
            auto_ready: core.auto_ready,
            stats_window_mins: core.stats_window_ms / 60_000,
            token_ttl_secs: 12 * 3600,
            customer_token_ttl_secs: 3600,
            max_session_secs: core.max_session_ms / 1000,
            customer_max_session_secs: core.customer_max_session_ms / 1000,
            max_token_ttl_secs: 24 * 3600,
            customer_tokens_per_minute: 30,
            logins_per_minute_per_account: 10,
            logins_per_minute_per_address: 60,
            min_password_chars: 8,
            max_connections_per_address: 1000,
            max_connections: 50_000,
            write_timeout_secs: 10,
            trusted_proxies: Vec::new(),
            metrics_token: None,
            max_waiting_per_business: core.max_waiting_per_business,
            reveal_staffing: core.default_reveal_staffing,
            unstaffed_wait_secs: core.unstaffed_wait_ms / 1000,
            customer_enqueue_interval_secs: core.customer_enqueue_interval_ms / 1000,
            device_policy: DevicePolicy::Kick,
            realms: HashMap::new(),
            ice_servers: Vec::new(),
            messages_per_second: limits.messages_per_second,
            message_burst: limits.burst,
            widget_dir: None,
            relay: crate::turn::RelayConfig::default(),
            store: StoreConfig::default(),
            cluster: ClusterConfig::default(),
        }
    }
}

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Unreadable.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not valid TOML for this configuration.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// Where and why.
        source: toml::de::Error,
    },
    /// Values that do not make sense together.
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Reads a file; absent keys keep their defaults.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let config: Config = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.display().to_string(),
            source,
        })?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.heartbeat_secs == 0 || u64::from(self.heartbeat_secs) >= self.idle_timeout_secs {
            return Err(ConfigError::Invalid(format!(
                "heartbeat_secs ({}) must be above 0 and below idle_timeout_secs ({})",
                self.heartbeat_secs, self.idle_timeout_secs
            )));
        }
        if self.messages_per_second == 0 || self.message_burst == 0 {
            return Err(ConfigError::Invalid(
                "messages_per_second and message_burst must be above 0".into(),
            ));
        }
        if self.node.is_empty() || !self.node.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ConfigError::Invalid(format!(
                "node {:?} must be letters and digits",
                self.node
            )));
        }
        if self.write_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "write_timeout_secs must be above 0".into(),
            ));
        }
        if self.logins_per_minute_per_account == 0 || self.logins_per_minute_per_address == 0 {
            return Err(ConfigError::Invalid(
                "logins_per_minute_per_account and _per_address must be above 0".into(),
            ));
        }
        if let Some(bad) = self
            .trusted_proxies
            .iter()
            .find(|p| parse_network(p).is_none())
        {
            return Err(ConfigError::Invalid(format!(
                "trusted_proxies: {bad:?} is not an address or a network (10.0.0.0/8)"
            )));
        }
        for s in &self.ice_servers {
            if s.secret.is_some() && (s.username.is_some() || s.credential.is_some()) {
                return Err(ConfigError::Invalid(format!(
                    "ice server {:?}: give either a secret or a username and credential",
                    s.urls
                )));
            }
            if s.username.is_some() != s.credential.is_some() {
                return Err(ConfigError::Invalid(format!(
                    "ice server {:?}: a username needs a credential and the other way round",
                    s.urls
                )));
            }
        }
        let relays = self.relay.listen.is_some()
            || self
                .ice_servers
                .iter()
                .any(|s| s.urls.iter().any(|u| u.starts_with("turn")));
        if !(1..=24 * 60).contains(&self.stats_window_mins) {
            return Err(ConfigError::Invalid(format!(
                "stats_window_mins {} is not between 1 and 1440 (a day)",
                self.stats_window_mins
            )));
        }
        for (name, r) in &self.realms {
            if r.service_level_secs
                .is_some_and(|s| !(1..=3600).contains(&s))
            {
                return Err(ConfigError::Invalid(format!(
                    "realm {name}: service_level_secs is not between 1 and 3600"
                )));
            }
            if r.service_level_goal
                .is_some_and(|g| !(1..=100).contains(&g))
            {
                return Err(ConfigError::Invalid(format!(
                    "realm {name}: service_level_goal is a percent, 1 to 100"
                )));
            }
            if let Some(path) = &r.hold_music {
                check_wav(path).map_err(|e| {
                    ConfigError::Invalid(format!(
                        "realm {name}: hold_music {}: {e}",
                        path.display()
                    ))
                })?;
            }
        }
        if let Some((name, _)) = self.realms.iter().find(|(_, r)| r.relay_only && !relays) {
            return Err(ConfigError::Invalid(format!(
                "realm {name}: relay_only needs a relay ([relay] listen, or a turn: server in ice_servers)"
            )));
        }
        if let Some(problem) = self.relay.problem() {
            return Err(ConfigError::Invalid(problem));
        }
        if let Some(url) = &self.store.url
            && !["postgres://", "postgresql://", "sqlite:"]
                .iter()
                .any(|p| url.starts_with(p))
        {
            return Err(ConfigError::Invalid(
                "store url: postgres://… or sqlite://… (unset: SQLite in the data directory)"
                    .into(),
            ));
        }
        if let Some(bad) = self.cluster.addresses.iter().find(|a| ws_url(a).is_none()) {
            return Err(ConfigError::Invalid(format!(
                "cluster addresses: {bad:?} is not https://host[:port] (or http://, ws://, wss://)"
            )));
        }
        if let Some(url) = &self.cluster.redis {
            if !["redis://", "rediss://", "unix://", "redis+unix://"]
                .iter()
                .any(|p| url.starts_with(p))
            {
                return Err(ConfigError::Invalid(
                    "cluster redis: redis://host:port (unset: one node alone)".into(),
                ));
            }
            // Several nodes keep accounts and records in one database; each node's own
            // SQLite file would split them.
            if !self
                .store
                .url
                .as_deref()
                .is_some_and(|u| u.starts_with("postgres"))
            {
                return Err(ConfigError::Invalid(
                    "[cluster] redis needs [store] url = \"postgres://…\" (the nodes share one database)"
                        .into(),
                ));
            }
        }
        if self.metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(ConfigError::Invalid(
                "metrics_token must have at least 16 characters".into(),
            ));
        }
        Ok(())
    }

    /// The core's settings. `boot` makes this run's ids differ from the last run's.
    pub fn core(&self, boot: &str) -> CoreConfig {
        let limits = Limits {
            messages_per_second: self.messages_per_second,
            burst: self.message_burst,
            ..Limits::default()
        };
        CoreConfig {
            node: format!("{}-{boot}", self.node),
            ring_timeout_ms: self.ring_timeout_secs * 1000,
            resume_window_ms: self.resume_window_secs * 1000,
            heartbeat_secs: self.heartbeat_secs,
            rona_ms: self.rona_secs * 1000,
            queue_max_wait_ms: self.queue_max_wait_secs * 1000,
            wrap_up_ms: self.wrap_up_secs * 1000,
            auto_ready: self.auto_ready,
            device_policy: self
                .realms
                .iter()
                .filter_map(|(name, r)| r.device_policy.map(|p| (name.clone(), p)))
                .collect(),
            default_device_policy: self.device_policy,
            ice_servers: self
                .ice_servers
                .iter()
                .map(|s| RelayServer {
                    urls: s.urls.clone(),
                    auth: match (&s.secret, &s.username, &s.credential) {
                        (Some(secret), _, _) => RelayAuth::Secret(secret.clone()),
                        (None, Some(username), Some(credential)) => RelayAuth::Fixed {
                            username: username.clone(),
                            credential: credential.clone(),
                        },
                        _ => RelayAuth::None,
                    },
                })
                .collect(),
            max_session_ms: self.max_session_secs * 1000,
            customer_max_session_ms: self.customer_max_session_secs * 1000,
            reveal_staffing: self
                .realms
                .iter()
                .filter_map(|(name, r)| r.reveal_staffing.map(|v| (name.clone(), v)))
                .collect(),
            default_reveal_staffing: self.reveal_staffing,
            nodes: self
                .cluster
                .addresses
                .iter()
                .filter_map(|a| ws_url(a))
                .collect(),
            relay_only: self
                .realms
                .iter()
                .filter(|(_, r)| r.relay_only)
                .map(|(name, _)| name.clone())
                .collect(),
            hold_music: self
                .realms
                .iter()
                .filter(|(_, r)| r.hold_music.is_some())
                .map(|(name, _)| name.clone())
                .collect(),
            unstaffed_wait_ms: self.unstaffed_wait_secs * 1000,
            businesses: self
                .realms
                .iter()
                .filter_map(|(name, r)| r.businesses.clone().map(|b| (name.clone(), b)))
                .collect(),
            max_waiting_per_business: self.max_waiting_per_business,
            stats_window_ms: self.stats_window_mins * 60_000,
            monitor_notice: self
                .realms
                .iter()
                .filter(|(_, r)| r.monitor_notice)
                .map(|(name, _)| name.clone())
                .collect(),
            service_level: self
                .realms
                .iter()
                .filter(|(_, r)| r.service_level_secs.is_some() || r.service_level_goal.is_some())
                .map(|(name, r)| {
                    let level = (
                        r.service_level_secs.unwrap_or(20),
                        r.service_level_goal.unwrap_or(80),
                    );
                    (name.clone(), level)
                })
                .collect(),
            customer_enqueue_interval_ms: self.customer_enqueue_interval_secs * 1000,
            limits,
            ..CoreConfig::default()
        }
    }
}

impl Config {
    /// Where the widget's files are, if they are anywhere.
    pub fn widget_dir(&self) -> Option<std::path::PathBuf> {
        let built = |d: &std::path::Path| d.join("widget.html").is_file();
        if let Some(d) = &self.widget_dir {
            return Some(d.clone());
        }
        let mut candidates = Vec::new();
        if let Some(d) = std::env::var_os("SWITCHBOARD_WIDGET_DIR") {
            candidates.push(std::path::PathBuf::from(d));
        }
        candidates.push(std::path::PathBuf::from("ui/dist-widget"));
        // target/{debug,release}/switchboard-server → the workspace's ui/dist-widget.
        if let Ok(exe) = std::env::current_exe()
            && let Some(root) = exe.ancestors().nth(3)
        {
            candidates.push(root.join("ui/dist-widget"));
        }
        candidates.push("/usr/share/switchboard-server/widget".into());
        candidates.into_iter().find(|d| built(d))
    }
}

/// An address or a network, as `trusted_proxies` names them.
pub fn parse_network(s: &str) -> Option<ipnet::IpNet> {
    s.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

/// Music on hold is sent to every client that signs in: a WAV file of a sane size.
pub const MAX_HOLD_MUSIC_BYTES: u64 = 16 << 20;

fn check_wav(path: &std::path::Path) -> Result<(), String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let len = f.metadata().map_err(|e| e.to_string())?.len();
    if len > MAX_HOLD_MUSIC_BYTES {
        return Err(format!("{len} bytes; at most {MAX_HOLD_MUSIC_BYTES}"));
    }
    let mut head = [0u8; 12];
    f.read_exact(&mut head).map_err(|e| e.to_string())?;
    if &head[..4] != b"RIFF" || &head[8..] != b"WAVE" {
        return Err("not a WAV file".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn partial_files_keep_defaults_and_typos_are_refused() {
        let c: Config =
            toml::from_str("ring_timeout_secs = 5\n[realms.dev]\ndevice_policy = \"multi\"\n")
                .unwrap();
        assert_eq!(c.ring_timeout_secs, 5);
        assert_eq!(c.resume_window_secs, 20);
        assert_eq!(c.core("x").device_policy["dev"], DevicePolicy::Multi);
        let err = toml::from_str::<Config>("ring_timout_secs = 5").unwrap_err();
        assert!(err.to_string().contains("ring_timout_secs"), "{err}");
    }

    #[test]
    fn a_realms_music_on_hold_must_be_a_wav_file() {
        let dir = tempfile::tempdir().unwrap();
        let with = |path: &std::path::Path| -> Config {
            toml::from_str(&format!(
                "[realms.acme]\nhold_music = \"{}\"\n",
                path.display()
            ))
            .unwrap()
        };
        let text = dir.path().join("music.mp3");
        std::fs::write(&text, b"ID3 not a wav file at all").unwrap();
        let err = with(&text).check().unwrap_err().to_string();
        assert!(
            err.contains("realm acme") && err.contains("not a WAV"),
            "{err}"
        );
        let err = with(&dir.path().join("gone.wav")).check().unwrap_err();
        assert!(err.to_string().contains("gone.wav"), "{err}");
        let wav = dir.path().join("music.wav");
        std::fs::write(&wav, b"RIFF\x24\0\0\0WAVEfmt ").unwrap();
        with(&wav).check().unwrap();
        assert!(with(&wav).core("x").hold_music.contains("acme"));
    }
}
