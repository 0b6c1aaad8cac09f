//! Switchboard's calling client: the signaling client, the call logic as one sans-IO core
//! ([`core::Core`]), one WebRTC peer connection per remote member carrying our own H.264 and
//! Opus (camera, screen share, microphone), local recording, and the stats.
//! The Tauri shell, the CLI and the tests drive it through one [`Engine`] handle; inside, a
//! driver task (`driver`) feeds the core and carries out its peer operations on webrtc-rs
//! (`peer`: our connection to one member; `rtc_builder`: the webrtc-rs set-up under it).

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
mod peer;
mod pipeline;
pub mod profile;
mod recording;
mod rtc_builder;
pub mod share;
pub mod signaling;
pub mod stats;
mod turn_tcp;

pub use config::EngineConfig;
pub use engine::{Engine, EngineError};
pub use event::Event;
pub use peer::Advertise;
pub use pipeline::{RemoteFrame, VideoKind};
pub use profile::VideoProfile;
pub use stats::{AudioStats, PeerStats, Route, VideoStats};
