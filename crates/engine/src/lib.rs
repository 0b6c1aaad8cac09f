//! Switchboard's calling client: the signaling client, the sans-IO call state machine, one
//! WebRTC peer connection per remote member carrying our own H.264 and Opus (camera, screen
//! share, microphone), local recording, and the stats.
//! The Tauri shell, the CLI and the tests drive it through one [`Engine`] handle.

pub mod assemble;
pub mod auth;
pub mod config;
pub mod core;
pub mod data;
mod driver;
pub mod engine;
pub mod estimate;
pub mod event;
mod feedback;
pub mod peer;
mod peers;
pub mod pipeline;
pub mod profile;
mod recording;
pub mod share;
pub mod signaling;
pub mod stats;

pub use config::EngineConfig;
pub use engine::{Engine, EngineError};
pub use event::Event;
pub use peers::Advertise;
pub use profile::VideoProfile;
pub use stats::{AudioStats, PeerStats, VideoStats};
