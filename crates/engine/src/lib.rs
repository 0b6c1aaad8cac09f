//! Switchboard's calling client: the signaling client, the sans-IO call state machine, one
//! WebRTC peer connection per remote member carrying our own H.264 and Opus (camera, screen
//! share, microphone), local recording, and the stats.
//! The Tauri shell, the CLI and the tests drive it through one [`Engine`] handle.

mod actor;
pub mod assemble;
pub mod auth;
pub mod data;
pub mod engine;
pub mod estimate;
mod feedback;
pub mod machine;
pub mod peer;
mod peers;
pub mod pipeline;
pub mod profile;
mod recording;
pub mod share;
pub mod signaling;
pub mod stats;

pub use engine::{Engine, EngineConfig, EngineError, Event};
pub use peers::Advertise;
pub use profile::VideoProfile;
pub use stats::{AudioStats, PeerStats, VideoStats};
