//! Frames the server sends to clients: replies to requests, relayed peer messages, and
//! notifications. Each message says when the server sends it and what a client does with it.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::agent::{AgentState, CtiFigures, QueueContext, WaitingCustomer};
use crate::call::{
    CallKind, CallMedia, Extra, FileOffer, IceCandidate, MediaState, Member, MemberState, SdpKind,
};
use crate::error::ErrorCode;
use crate::ids::{
    Business, CallId, Label, MessageId, RequestId, Sdp, SessionId, Text, Token, TransferId,
    UnixMillis, UserId,
};
use crate::reason::EndReason;
use crate::session::{IceServer, Limits, MissedCall, PresenceStatus, Role, SessionEndCode};

/// One frame from the server: a message plus, when it answers a request, that request's id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct ServerFrame {
    /// The id of the request this answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RequestId>,
    /// This frame's number among those sent to the session (from 1; the `hello` reply has
    /// none). A client that resumes names the last it read (`hello.seen`) and gets the frames
    /// after it again: those that went into a socket that died.
    /// (`frame_seq` on the wire: messages have a `seq` of their own.)
    #[serde(default, rename = "frame_seq", skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The message, tagged by `type`.
    #[serde(flatten)]
    pub message: ServerMessage,
}

impl ServerFrame {
    /// A notification (no request id).
    pub fn new(message: ServerMessage) -> Self {
        Self {
            id: None,
            seq: None,
            message,
        }
    }

    /// A reply to request `id` (which may be absent when the request had none).
    pub fn reply(id: Option<RequestId>, message: ServerMessage) -> Self {
        Self {
            id,
            seq: None,
            message,
        }
    }

    /// An error reply.
    pub fn error(id: Option<RequestId>, code: ErrorCode, message: impl Into<String>) -> Self {
        Self::reply(
            id,
            ServerMessage::Error(ErrorMessage {
                code,
                message: message.into(),
                call_id: None,
            }),
        )
    }
}

/// Everything the server can say, tagged by `type` (snake_case).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Server → client, the reply to a successful `hello`: the session, the limits, the ICE
    /// servers. The client may now send anything its role allows.
    Hello(Welcome),
    /// Server → client, the reply to `ping`.
    Pong(Pong),
    /// Server → client: the request with this frame's `id` succeeded and has no other reply.
    Ack,
    /// Server → client: a request or frame failed; the frame's `id` names the request when it
    /// had one. See [`ErrorCode`] for what each code means and which close the connection.
    Error(ErrorMessage),
    /// Server → client, the reply to `refresh_token`: use this token from now on (and for
    /// resuming).
    TokenRefreshed(TokenRefreshed),
    /// Server → client, just before the server closes the connection on purpose. The client
    /// shows why and does not reconnect automatically, except after `server_shutdown`.
    SessionEnded(SessionEnded),
    /// Server → subscriber: a user's presence, now or after a change.
    Presence(PresenceUpdate),
    /// Server → caller, the reply to `invite`: the call exists and invites are going out.
    CallCreated(CallCreated),
    /// Server → each device of an invitee (or the agent a queued customer is offered to): a
    /// call is ringing. The client answers `ringing`, then `accept` or `reject`; if the offer is
    /// present it may start transport set-up now (no media before accept).
    IncomingCall(IncomingCall),
    /// Server → all members of a call: a member's state changed (invited, ringing, joined,
    /// left). On `joined` the inviter starts media; in a group call the members already in the
    /// call send offers to an `invited` newcomer.
    MemberUpdate(MemberUpdate),
    /// Server → each member (and each ringing device): the call is over for this client, with
    /// the reason from its point of view. The client tears down media and writes its history
    /// row.
    CallEnded(CallEnded),
    /// Server → one member, relayed from another member of the same call: apply this SDP
    /// (answer an offer).
    Sdp(SdpFromPeer),
    /// Server → one member, relayed: add this ICE candidate (`null`: end of candidates).
    IceCandidate(IceFromPeer),
    /// Server → the other members, relayed: what a member now sends (mute, camera, screen
    /// share, recording).
    MediaState(PeerMediaState),
    /// Server → the other members, relayed: a member switched the call between audio and
    /// video; the SDP renegotiation follows.
    MediaSwitched(MediaSwitched),
    /// Server → recipient: a direct message (now, or at sign-in if it arrived while offline).
    Message(ReceivedMessage),
    /// Server → sender, the reply to `message`: stored and delivered or queued for delivery.
    MessageSent(MessageSent),
    /// Server → members: a message inside a call.
    CallMessage(ReceivedCallMessage),
    /// Server → one member, relayed: a file offer.
    FileOffer(FileOfferFromPeer),
    /// Server → the offering member, relayed: the receiver's decision.
    FileReply(FileReplyFromPeer),
    /// Server → client, right after `hello`: calls that reached this user while no device of
    /// theirs was signed in (RongCloud `onOfflineRecord`).
    MissedCalls(MissedCalls),
    /// Server → agent: the agent's state, after every change (and as the reply to
    /// `agent_register` and `set_agent_state`).
    AgentState(AgentStateUpdate),
    /// Server → customer, the reply to `enqueue`: the customer's call waits in the queue.
    Queued(Queued),
    /// Server → waiting customer: their place in the queue changed (anyRTC `user-cti-status`).
    QueuePosition(QueuePosition),
    /// Server → every registered agent: the CTI figures and the first waiting customers, on
    /// every change (anyRTC `clerk-cti-status`).
    Cti(Cti),
    /// Server → both members of a call: a member put the call on hold or took it off. The
    /// holder sends music instead of its media; both show "on hold" with its timer.
    CallHold(CallHold),
    /// Server → watching supervisor: the wallboard, first as the reply to `watch_floor`, then
    /// on every change (at most one frame per CTI interval).
    Wallboard(crate::Wallboard),
    /// Server → both members of a monitor call: the supervisor's mode (listen, whisper,
    /// barge), at the start and on every change.
    MonitorMode(crate::MonitorUpdate),
    /// Server → the agent and the colleague of a consult: the consult is now a conference
    /// with the customer (`conference` by the agent).
    Conference(Conference),
    /// A `type` this build does not know (sent by a newer server): ignore it.
    #[serde(other)]
    #[ts(skip)]
    Unknown,
}

impl ServerMessage {
    /// Every `type` the server may send, in declaration order.
    pub const TYPES: [&'static str; 29] = [
        "hello",
        "pong",
        "ack",
        "error",
        "token_refreshed",
        "session_ended",
        "presence",
        "call_created",
        "incoming_call",
        "member_update",
        "call_ended",
        "sdp",
        "ice_candidate",
        "media_state",
        "media_switched",
        "message",
        "message_sent",
        "call_message",
        "file_offer",
        "file_reply",
        "missed_calls",
        "agent_state",
        "queued",
        "queue_position",
        "cti",
        "call_hold",
        "wallboard",
        "monitor_mode",
        "conference",
    ];
}

/// The `hello` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Welcome {
    /// The server's protocol version.
    pub v: u32,
    /// This session; present it in `hello.resume` to resume after a dropped socket.
    pub session_id: SessionId,
    /// Whether an earlier session (and its calls) was resumed.
    pub resumed: bool,
    /// Who the token says the client is.
    pub user: UserId,
    /// What the client may do.
    pub role: Role,
    /// The realm (tenant) of the account.
    pub realm: Label,
    /// When the token expires; refresh before.
    pub token_expires_at: UnixMillis,
    /// The server's clock, to estimate the offset of the client's.
    pub server_time: UnixMillis,
    /// The server pings this often (WebSocket ping), in seconds.
    pub heartbeat_secs: u32,
    /// A dropped session may be resumed for this long, in seconds, before its calls end with
    /// `network_lost`.
    pub resume_window_secs: u32,
    /// What this connection may send.
    pub limits: Limits,
    /// STUN/TURN servers for peer connections (like the browser's `iceServers`).
    pub ice_servers: Vec<IceServer>,
    /// Peer connections must go through a relay (the browser's `iceTransportPolicy: "relay"`):
    /// the realm keeps its agents' addresses from the far end.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[ts(as = "Option<bool>", optional)]
    pub relay_only: bool,
    /// The WebSocket URLs of this switchboard's nodes (several nodes: `[cluster] addresses`):
    /// where to reconnect, and resume, when this one goes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<String>>", optional)]
    pub nodes: Vec<String>,
    /// The realm's music on hold (a WAV file, at this path on the server's HTTP address), which
    /// the engine plays to a party it holds; absent: the client's own (a shipped tune).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub hold_music: Option<String>,
}

/// The `ping` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Pong {
    /// The server's clock.
    pub server_time: UnixMillis,
}

/// An error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct ErrorMessage {
    /// What went wrong, for programs.
    pub code: ErrorCode,
    /// What went wrong, for people (English). Never about other users' private data.
    pub message: String,
    /// The call the failed request was about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<CallId>,
}

/// A new token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TokenRefreshed {
    /// The token.
    pub token: Token,
    /// When it expires.
    pub expires_at: UnixMillis,
}

/// Why the server is closing this session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SessionEnded {
    /// Why.
    pub code: SessionEndCode,
    /// For people.
    pub message: String,
}

/// A user's presence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PresenceUpdate {
    /// Whose.
    pub user: UserId,
    /// Online, busy or offline.
    pub status: PresenceStatus,
}

/// The `invite` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CallCreated {
    /// The new call.
    pub call_id: CallId,
}

/// A call ringing on this device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct IncomingCall {
    /// The call.
    pub call_id: CallId,
    /// Direct, group or queue.
    pub kind: CallKind,
    /// Who invited (for a queued call: the customer).
    pub from: UserId,
    /// The inviter's device, to address SDP and ICE to it.
    pub from_session: SessionId,
    /// The inviter's name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_name: Option<Label>,
    /// Audio or video.
    pub media: CallMedia,
    /// Everyone in the call so far, the invitee included.
    pub members: Vec<Member>,
    /// The inviter's SDP offer for this invitee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<Sdp>,
    /// Application data from the inviter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Extra>,
    /// For a customer call: the business, priority and wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueContext>,
    /// For a consult: the customer call it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consult: Option<Box<crate::agent::ConsultContext>>,
    /// For the agent's side of a supervision: the customer call monitored, by whom, how.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<Box<crate::MonitorContext>>,
    /// When the ringing stops by itself (`no_answer`).
    pub ring_until: UnixMillis,
}

/// A member's new state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct MemberUpdate {
    /// The call.
    pub call_id: CallId,
    /// The member.
    pub user: UserId,
    /// The new state.
    pub state: MemberState,
    /// The device that rang or joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionId>,
    /// For `left`: why, from the receiver's point of view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<EndReason>,
}

/// The end of a call for this client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct CallEnded {
    /// The call.
    pub call_id: CallId,
    /// Why, from this client's point of view.
    pub reason: EndReason,
    /// When the call was created.
    pub started_at: UnixMillis,
    /// When this client's user joined it, if they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<UnixMillis>,
    /// When it ended.
    pub ended_at: UnixMillis,
}

/// SDP relayed from a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SdpFromPeer {
    /// The call.
    pub call_id: CallId,
    /// The member who sent it.
    pub from: UserId,
    /// Their device.
    pub from_session: SessionId,
    /// Offer or answer.
    pub kind: SdpKind,
    /// The SDP.
    pub sdp: Sdp,
}

/// An ICE candidate relayed from a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct IceFromPeer {
    /// The call.
    pub call_id: CallId,
    /// The member who sent it.
    pub from: UserId,
    /// Their device.
    pub from_session: SessionId,
    /// The candidate; `null` marks the end of candidates.
    pub candidate: Option<IceCandidate>,
}

/// A member's media state, relayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PeerMediaState {
    /// The call.
    pub call_id: CallId,
    /// Whose.
    pub from: UserId,
    /// What they send now.
    pub state: MediaState,
}

/// A media switch, relayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MediaSwitched {
    /// The call.
    pub call_id: CallId,
    /// Who switched.
    pub by: UserId,
    /// The call's new media.
    pub media: CallMedia,
}

/// A direct message received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReceivedMessage {
    /// Unique per realm.
    pub msg_id: MessageId,
    /// The sender.
    pub from: UserId,
    /// Per sender and recipient, from 1, without gaps: a client that sees a gap or a repeat
    /// knows (at-most-once delivery is checked by the tests).
    pub seq: u64,
    /// The text.
    pub text: Text,
    /// When the server accepted it.
    pub sent_at: UnixMillis,
}

/// The `message` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MessageSent {
    /// The message's id.
    pub msg_id: MessageId,
    /// Its sequence number for this recipient.
    pub seq: u64,
    /// When the server accepted it.
    pub sent_at: UnixMillis,
    /// Whether the recipient was online (otherwise it waits for their sign-in).
    pub delivered: bool,
}

/// A message inside a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReceivedCallMessage {
    /// The call.
    pub call_id: CallId,
    /// Unique per realm.
    pub msg_id: MessageId,
    /// The sender.
    pub from: UserId,
    /// Per sender within the call, from 1.
    pub seq: u64,
    /// Sent to every member (false: only to this one).
    pub to_all: bool,
    /// The text.
    pub text: Text,
    /// When the server accepted it.
    pub sent_at: UnixMillis,
}

/// A file offer, relayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FileOfferFromPeer {
    /// The call.
    pub call_id: CallId,
    /// Who offers it.
    pub from: UserId,
    /// The file.
    pub file: FileOffer,
}

/// A file-offer decision, relayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FileReplyFromPeer {
    /// The call.
    pub call_id: CallId,
    /// Who decided.
    pub from: UserId,
    /// Which offer.
    pub transfer_id: TransferId,
    /// Whether they will receive it.
    pub accept: bool,
}

/// Missed calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MissedCalls {
    /// Oldest first.
    pub calls: Vec<MissedCall>,
}

/// An agent's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct AgentStateUpdate {
    /// The state now.
    pub state: AgentState,
    /// Since when.
    pub since: UnixMillis,
    /// The state the agent asked for after the current call ("next status"), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<crate::agent::AgentAvailability>,
}

/// The `enqueue` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Queued {
    /// The customer's call.
    pub call_id: CallId,
    /// The queue.
    pub business: Business,
    /// Place in the queue, from 1.
    pub position: u32,
}

/// A waiting customer's place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct QueuePosition {
    /// The customer's call.
    pub call_id: CallId,
    /// Place in the queue, from 1 (1: next).
    pub position: u32,
    /// How many customers wait in this queue in all.
    pub waiting: u32,
    /// An estimate of the remaining wait, in seconds, when the server has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_wait_secs: Option<u32>,
}

/// The agents' view of the queues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Cti {
    /// Counts over all queues.
    pub figures: CtiFigures,
    /// The first waiting customers this agent has a skill for, in routing order (at most
    /// `MAX_LISTED_WAITING`; the figures count all).
    pub waiting: Vec<WaitingCustomer>,
    /// This agent's own figures: calls handled and average handle time.
    #[serde(default)]
    pub own: crate::OwnFigures,
}

/// A hold, begun or ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CallHold {
    /// The call.
    pub call_id: CallId,
    /// Who holds (or held) it.
    pub by: UserId,
    /// On hold now (false: ended).
    pub on: bool,
    /// When this hold began.
    pub since: UnixMillis,
    /// Holds in this call so far, this one included.
    pub count: u32,
}

/// A consult that became a conference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Conference {
    /// The consult call (the agent and the colleague).
    pub call_id: CallId,
    /// The customer call it joins.
    pub of: CallId,
    /// Since when.
    pub since: UnixMillis,
}
