//! The server's configuration: a TOML file (every key optional, unknown keys refused so that a
//! typo does not pass silently) plus command-line flags, with embedded defaults.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use switchboard_protocol::{IceServer, Limits};

use crate::core::{CoreConfig, DevicePolicy};

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
    /// Lifetime of user and agent tokens (a shift).
    pub token_ttl_secs: u64,
    /// Lifetime of customer tokens from `POST /auth/customer`.
    pub customer_token_ttl_secs: u64,
    /// Customer tokens per minute per client address.
    pub customer_tokens_per_minute: u32,
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
}

/// Settings of one realm.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RealmConfig {
    /// `kick` or `multi`.
    pub device_policy: Option<DevicePolicy>,
}

/// An ICE server as the browser's `RTCIceServer`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceServerConfig {
    /// `stun:host:port` or `turn:host:port?transport=udp`.
    pub urls: Vec<String>,
    /// For TURN.
    pub username: Option<String>,
    /// For TURN.
    pub credential: Option<String>,
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
            token_ttl_secs: 12 * 3600,
            customer_token_ttl_secs: 3600,
            customer_tokens_per_minute: 30,
            device_policy: DevicePolicy::Kick,
            realms: HashMap::new(),
            ice_servers: Vec::new(),
            messages_per_second: limits.messages_per_second,
            message_burst: limits.burst,
            widget_dir: None,
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
                .map(|s| IceServer {
                    urls: s.urls.clone(),
                    username: s.username.clone(),
                    credential: s.credential.clone(),
                })
                .collect(),
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
}
