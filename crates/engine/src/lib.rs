//! Switchboard's calling client: the signaling client, the sans-IO call state machine, one
//! WebRTC peer connection per remote member carrying our own H.264 and Opus, and the stats.
//! The Tauri shell, the CLI and the tests drive it through one [`Engine`] handle.

pub mod assemble;
pub mod machine;
pub mod peer;
