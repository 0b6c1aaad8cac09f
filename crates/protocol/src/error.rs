//! Error codes: failures of a request that do not by themselves end a call (the seed inventory's
//! "separate error space", like RongCloud's 533xx or mPaaS's -1xxx).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Why the server refused a frame or a request. Sent in an `error` frame, snake_case on the wire.
/// Unless noted, the connection stays open and nothing else changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // --- Framing -------------------------------------------------------------------------
    /// The frame is not a JSON object with a string `type`.
    MalformedFrame,
    /// A binary WebSocket frame: the protocol is text frames only.
    BinaryFrame,
    /// The frame is larger than `limits.max_frame_bytes`; it was not read.
    FrameTooLarge,
    /// The `type` is not one this server knows.
    UnknownType,
    /// The `type` is known but a field is missing, has the wrong shape, or breaks a limit; the
    /// message says which.
    InvalidMessage,

    // --- Session ---------------------------------------------------------------------------
    /// Something other than `hello` arrived before a `hello` succeeded.
    HelloRequired,
    /// A second `hello` on an authenticated connection.
    AlreadyAuthenticated,
    /// The client's protocol version `v` is not supported; the connection is closed.
    UnsupportedVersion,
    /// The token's signature, realm or shape is wrong; the connection is closed.
    InvalidToken,
    /// The token in `hello` has expired; the connection is closed. (A signed-in client
    /// refreshes with `refresh_token` before expiry.)
    TokenExpired,
    /// The `resume` session is unknown or its window has passed; a fresh session was started
    /// instead (this comes as a notice right after the `hello` reply).
    ResumeFailed,
    /// Too many frames: the connection exceeded `limits.messages_per_second`. The frame was
    /// dropped; persistent flooding closes the connection.
    RateLimited,

    // --- Authorisation -----------------------------------------------------------------------
    /// The user's role may not do this (e.g. a customer calling a user directly, a user setting
    /// an agent state).
    Forbidden,
    /// The user is not a member of that call.
    NotCallMember,

    // --- Lookup ----------------------------------------------------------------------------------
    /// No such user in this realm (or a disabled one).
    UnknownUser,
    /// No such call, or it has ended.
    UnknownCall,
    /// No queue serves that business.
    UnknownBusiness,

    // --- State -----------------------------------------------------------------------------------
    /// The request does not fit the call's or agent's current state (e.g. accepting a call that
    /// was already answered, transferring a call that is still ringing).
    WrongState,
    /// The call already has the most members it may have (`MAX_CALL_MEMBERS`), or has had
    /// as many invitations as it may (`MAX_CALL_INVITATIONS`).
    CallFull,
    /// The queue already holds as many waiting customers as its realm allows; try again later.
    QueueFull,
    /// The user is already in a call and may not start another.
    AlreadyInCall,
    /// An agent action before `agent_register`.
    AgentNotRegistered,

    // --- Server ------------------------------------------------------------------------------
    /// The server is draining or overloaded; try again later (possibly on another node).
    ServiceUnavailable,
    /// A bug on the server; the request had no effect. The message has a correlation id.
    Internal,

    /// A code this build does not know (sent by a newer server).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// Whether the server closes the connection after sending this error.
    pub const fn closes_connection(self) -> bool {
        matches!(
            self,
            ErrorCode::UnsupportedVersion | ErrorCode::InvalidToken | ErrorCode::TokenExpired
        )
    }
}
