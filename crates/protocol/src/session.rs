//! Payload types of a signaling session: roles, client and server descriptions, limits, ICE
//! servers, presence, and how a session ends.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::call::CallMedia;
use crate::ids::{CallId, Label, UnixMillis, UserId};
use crate::reason::EndReason;

/// What an account may do. Carried in its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Calls and messages other users.
    User,
    /// A user who can also register with the queue and take customers.
    Agent,
    /// A web-widget customer: may only enqueue for the business of their token and talk to the
    /// agent they are connected with.
    Customer,
    /// Administers the realm (accounts, tokens); may also do what a user does.
    Admin,
    /// An agent who also supervises: the wallboard, and (later) monitor, whisper and barge,
    /// over the agents of their team, or of the realm when their account has no team.
    Supervisor,
}

impl Role {
    /// May register with the queue and take customers.
    pub fn is_agent(self) -> bool {
        matches!(self, Role::Agent | Role::Supervisor)
    }

    /// May watch the floor (the wallboard).
    pub fn supervises(self) -> bool {
        matches!(self, Role::Supervisor | Role::Admin)
    }
}

/// The client program, for logs and support.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct ClientInfo {
    /// e.g. `switchboard-desktop`, `switchboard-cli`, `switchboard-widget`.
    pub name: Label,
    /// The program's version.
    pub version: Label,
    /// e.g. `linux-x86_64`, a browser's user agent summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Label>,
}

/// Per-connection limits the server enforces, announced in its `hello` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Limits {
    /// Largest accepted frame, in bytes.
    pub max_frame_bytes: u32,
    /// Sustained frames per second.
    pub messages_per_second: u32,
    /// Frames that may be sent at once above the sustained rate.
    pub burst: u32,
    /// Most members of one call.
    pub max_call_members: u32,
}

impl Default for Limits {
    fn default() -> Self {
        use crate::limits::*;
        // The constants are small; the casts cannot truncate.
        Self {
            max_frame_bytes: MAX_FRAME_BYTES as u32,
            messages_per_second: MESSAGES_PER_SECOND,
            burst: MESSAGE_BURST,
            max_call_members: MAX_CALL_MEMBERS as u32,
        }
    }
}

/// One STUN or TURN server for the peer connections, as in the browser's `RTCIceServer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct IceServer {
    /// `stun:host:port`, `turn:host:port?transport=udp`, …
    pub urls: Vec<String>,
    /// TURN user name (time-limited credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Whether a user can be called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    /// Signed in on at least one device and free.
    Online,
    /// Signed in and in a call or ringing: a new call gets `busy`.
    Busy,
    /// Not signed in anywhere.
    Offline,
}

/// Why the server ended a whole session (not one call).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SessionEndCode {
    /// The same account signed in elsewhere and the realm's policy is `kick`.
    KickedDuplicateLogin,
    /// An administrator signed this session out or disabled the account.
    KickedByServer,
    /// The token expired and was not refreshed.
    TokenExpired,
    /// The client asked to log out.
    LoggedOut,
    /// The server is shutting down; reconnect (possibly to another node) after a moment.
    ServerShutdown,
    /// A code this build does not know (sent by a newer server).
    #[serde(other)]
    Unknown,
}

/// A call that reached the user while no device of theirs was signed in (RongCloud
/// `onOfflineRecord`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MissedCall {
    /// The call.
    pub call_id: CallId,
    /// Who called.
    pub from: UserId,
    /// Audio or video.
    pub media: CallMedia,
    /// When the call was made.
    pub at: UnixMillis,
    /// How it ended for this user (usually `callee_offline`, side `server`).
    pub reason: EndReason,
}
