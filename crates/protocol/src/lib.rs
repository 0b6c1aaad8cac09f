//! Switchboard's signaling vocabulary: every message between clients (desktop app, CLI, web
//! widget) and `switchboard-server`, as plain data with serde.
//!
//! The wire (CONTRACTS.md, and `docs/protocol.md` for the flows):
//! - WebSocket text frames, one JSON object each, tagged by `"type"` in snake_case;
//! - the first client frame is [`ClientMessage::Hello`] with the token; nothing else is
//!   accepted before the server's `hello` reply ([`Welcome`]);
//! - requests may carry `"id"`; the reply or `error` echoes it;
//! - unknown fields are ignored; an unknown `type` is answered `unknown_type` by the server and
//!   ignored by clients ([`ServerMessage::Unknown`]);
//! - sizes are bounded ([`limits`]); strings check their own bounds while they are parsed.
//!
//! Changing a public type here changes the wire: the golden fixtures in `tests/fixtures/` and
//! `ui/src/generated/protocol.ts` change in the same commit (`cargo xtask codegen`).

pub mod agent;
pub mod board;
pub mod call;
pub mod client;
pub mod codec;
pub mod error;
pub mod ids;
pub mod limits;
pub mod reason;
pub mod server;
pub mod session;
mod typescript;

pub use agent::*;
pub use board::*;
pub use call::*;
pub use client::*;
pub use codec::{DecodeError, decode_client, decode_server, encode, from_wire_name, wire_name};
pub use error::ErrorCode;
pub use ids::*;
pub use reason::{EndCode, EndReason, Side};
pub use server::*;
pub use session::*;
pub use typescript::{Bindings, check_generated, protocol_names, typescript_bindings};

/// The protocol version this build speaks, sent as `hello.v` and in the server's reply.
pub const PROTOCOL_VERSION: u32 = 1;
