//! Frames a client (desktop app, CLI, web widget) sends to the server. Each message says who
//! sends it and what the server does with it; the server's replies are in [`crate::server`].

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::agent::{AgentAvailability, AgentProfile, TransferTarget};
use crate::call::{CallMedia, Extra, FileOffer, IceCandidate, Invitee, MediaState, SdpKind};
use crate::ids::{
    Business, CallId, Label, RequestId, Sdp, SessionId, Text, Token, TransferId, UserId,
};
use crate::limits;
use crate::session::ClientInfo;

/// One frame from a client: a message plus an optional request id that the server's reply (or
/// error) echoes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct ClientFrame {
    /// Chosen by the client to match the reply to this request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RequestId>,
    /// The message, tagged by `type`.
    #[serde(flatten)]
    pub message: ClientMessage,
}

impl ClientFrame {
    /// A frame without a request id.
    pub fn new(message: ClientMessage) -> Self {
        Self { id: None, message }
    }

    /// A frame whose reply will echo `id`.
    pub fn request(id: RequestId, message: ClientMessage) -> Self {
        Self {
            id: Some(id),
            message,
        }
    }
}

/// Everything a client can say, tagged by `type` (snake_case).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Client → server, first frame of every connection. The server checks the token and
    /// replies `hello`, or `error` (`invalid_token`, `token_expired`, `unsupported_version`) and
    /// closes. Nothing but `hello` is accepted before it succeeds.
    Hello(Hello),
    /// Client → server, any time. The server replies `pong`. Browsers cannot see WebSocket
    /// pings, so this is how a widget notices a dead connection.
    Ping,
    /// Client → server, before the token expires. The server replies `token_refreshed`.
    RefreshToken,
    /// Client → server. The server ends the session's calls (`hangup`), marks the device
    /// offline, replies `session_ended` (`logged_out`) and closes.
    Logout,
    /// Client → server. The server replies `presence` for each user now and again whenever
    /// one changes, until the connection ends. Replaces the previous subscription.
    SubscribePresence(SubscribePresence),
    /// Caller → server: start a call to one user (1:1) or several (a group call). The server
    /// replies `call_created`, sends each invitee's devices `incoming_call` (with the offer),
    /// and ends the call for an invitee who is busy (`busy`), offline (`callee_offline`) or
    /// never answers (`no_answer` after the ring timeout).
    Invite(Invite),
    /// Member → server: invite more users into a running call (a 1:1 call becomes a group
    /// call). Each invitee gets `incoming_call`; all members get `member_update`.
    InviteMembers(InviteMembers),
    /// Invitee → server: this device received the invite and is ringing (RongCloud
    /// `onRinging`). The server tells the members (`member_update`, `ringing`).
    Ringing(CallRef),
    /// Invitee → server: answer. The server tells all members (`member_update`, `joined`),
    /// ends the call on the user's other devices (`answered_elsewhere`), and relays the answer
    /// SDP to the inviter when one is given here.
    Accept(Accept),
    /// Invitee → server: decline (or, with `busy`, say this device is busy). A 1:1 call ends
    /// with `rejected` (or `busy`); in a group call only this invitee leaves.
    Reject(Reject),
    /// Caller → server, before an answer: withdraw the invite for everyone, or for one invitee.
    /// A queued customer's cancel abandons the queue (`queue_abandoned`).
    Cancel(Cancel),
    /// Member → server: leave the call. A 1:1 call ends for both (`hangup`); a group call goes
    /// on while two members remain joined and then ends with `call_completed`. A customer who
    /// hangs up while queued abandons (`queue_abandoned`).
    Hangup(CallRef),
    /// Member → server → one member: an SDP offer or answer for the pair's peer connection
    /// (first negotiation, renegotiation, ICE restart). Relayed only between members of the
    /// same call; the receiver applies it and answers an offer.
    Sdp(SdpToPeer),
    /// Member → server → one member: a trickled ICE candidate, or `null` for the end of
    /// candidates. Relayed only between members of the same call.
    IceCandidate(IceToPeer),
    /// Member → server → all other members: what this member now sends (mute, camera, screen
    /// share, recording). The receivers update their tiles and indicators.
    MediaState(MediaStateUpdate),
    /// Member → server → all other members: switch the call between audio and video (the
    /// SDP renegotiation follows in `sdp` frames). The server records the call's new media.
    SwitchMedia(SwitchMedia),
    /// User → server → user: a direct text message. The server replies `message_sent`; the
    /// recipient gets `message` now or at their next sign-in, once, in order per sender.
    Message(SendMessage),
    /// Member → server → one or all members: a text message inside a call. Delivered once and
    /// in order per sender to the members signed in now.
    CallMessage(SendCallMessage),
    /// Member → server → one member: offer a file; the bytes follow over the data channel once
    /// the receiver accepts with `file_reply`.
    FileOffer(FileOfferToPeer),
    /// Member → server → the offering member: accept or decline a file offer.
    FileReply(FileReplyToPeer),
    /// Agent → server: register with the queue (anyRTC `setAsClerk`). The agent starts
    /// `not_ready` (reason `registered`), gets `agent_state` and then `cti` on every change.
    AgentRegister(AgentRegister),
    /// Agent → server: go ready, not ready or offline — now, or after the current call and
    /// wrap-up with `after_call` ("next status"). The server replies `agent_state`.
    SetAgentState(SetAgentState),
    /// Customer → server: wait in a business's queue for an agent (anyRTC `makeCall` with
    /// callMode 20/21). The server replies `queued`, then `queue_position` on every change, and
    /// offers the call to the longest-idle ready agent with the skill.
    Enqueue(Enqueue),
    /// Agent → server: blind-transfer the customer of this call to another agent or back to a
    /// queue. The agent's leg ends (`transferred`); the customer's call goes on.
    Transfer(Transfer),
    /// Agent → server: finish wrap-up now, recording a disposition and notes in the call's
    /// record. The agent becomes ready (or their "next status").
    EndWrapUp(EndWrapUp),
    /// Member → server: put the other party on hold (`on`), or take them off it. Only in a
    /// call of two joined members; in a customer call only the agent holds. The server
    /// replies `ack` and tells both members `call_hold`; the holder's engine then sends music
    /// on hold instead of its microphone and camera, and plays nothing of the held party.
    Hold(SetHold),
    /// Supervisor or admin → server: push me the wallboard of the agents I supervise (my
    /// team, or the realm for a supervisor without one), now and on every change.
    WatchFloor(crate::WatchFloor),
    /// Supervisor → server: listen, whisper or barge in a monitor call. Both members get
    /// `monitor_mode`.
    Monitor(crate::SetMonitor),
    /// Supervisor → server: take the monitored customer over. The monitor call and the agent's
    /// part in the customer call end (`transferred`, the agent goes to wrap-up), and the
    /// customer's call is offered to the supervisor, whose engine answers at once.
    TakeOver(CallRef),
    /// Agent → server: bring the colleague of the consult in progress about this customer call
    /// (who answered it) into the call with the customer: a conference. The customer comes
    /// off hold; the agent and the colleague get `conference`. The agent's engine bridges the
    /// two calls (the customer keeps one connection). The colleague leaves by hanging up the
    /// consult; the agent's hang-up of the customer call hands the customer to the colleague
    /// (a warm transfer); the customer's ends the customer call, and the consult goes on.
    Conference(CallRef),
}

impl ClientMessage {
    /// Every `type` a client may send, in declaration order.
    pub const TYPES: [&'static str; 30] = [
        "hello",
        "ping",
        "refresh_token",
        "logout",
        "subscribe_presence",
        "invite",
        "invite_members",
        "ringing",
        "accept",
        "reject",
        "cancel",
        "hangup",
        "sdp",
        "ice_candidate",
        "media_state",
        "switch_media",
        "message",
        "call_message",
        "file_offer",
        "file_reply",
        "agent_register",
        "set_agent_state",
        "enqueue",
        "transfer",
        "end_wrap_up",
        "hold",
        "watch_floor",
        "monitor",
        "take_over",
        "conference",
    ];

    /// The `type` tag of this message.
    pub fn type_name(&self) -> &'static str {
        match self {
            ClientMessage::Hello(_) => "hello",
            ClientMessage::Ping => "ping",
            ClientMessage::RefreshToken => "refresh_token",
            ClientMessage::Logout => "logout",
            ClientMessage::SubscribePresence(_) => "subscribe_presence",
            ClientMessage::Invite(_) => "invite",
            ClientMessage::InviteMembers(_) => "invite_members",
            ClientMessage::Ringing(_) => "ringing",
            ClientMessage::Accept(_) => "accept",
            ClientMessage::Reject(_) => "reject",
            ClientMessage::Cancel(_) => "cancel",
            ClientMessage::Hangup(_) => "hangup",
            ClientMessage::Sdp(_) => "sdp",
            ClientMessage::IceCandidate(_) => "ice_candidate",
            ClientMessage::MediaState(_) => "media_state",
            ClientMessage::SwitchMedia(_) => "switch_media",
            ClientMessage::Message(_) => "message",
            ClientMessage::CallMessage(_) => "call_message",
            ClientMessage::FileOffer(_) => "file_offer",
            ClientMessage::FileReply(_) => "file_reply",
            ClientMessage::AgentRegister(_) => "agent_register",
            ClientMessage::SetAgentState(_) => "set_agent_state",
            ClientMessage::Enqueue(_) => "enqueue",
            ClientMessage::Transfer(_) => "transfer",
            ClientMessage::EndWrapUp(_) => "end_wrap_up",
            ClientMessage::Hold(_) => "hold",
            ClientMessage::WatchFloor(_) => "watch_floor",
            ClientMessage::Monitor(_) => "monitor",
            ClientMessage::TakeOver(_) => "take_over",
            ClientMessage::Conference(_) => "conference",
        }
    }

    /// Limits that involve more than one field or a count, checked after parsing (single
    /// strings check themselves while parsing).
    pub fn check_limits(&self) -> Result<(), String> {
        match self {
            ClientMessage::SubscribePresence(m) if m.users.len() > limits::MAX_PRESENCE_USERS => {
                Err(format!(
                    "{} users, the limit is {}",
                    m.users.len(),
                    limits::MAX_PRESENCE_USERS
                ))
            }
            ClientMessage::Invite(m) => check_invitees(&m.to),
            ClientMessage::InviteMembers(m) => check_invitees(&m.to),
            ClientMessage::FileOffer(m) => m.file.check(),
            ClientMessage::AgentRegister(m) => m.profile.check(),
            ClientMessage::Enqueue(m) if m.priority > limits::MAX_LEVEL => Err(format!(
                "priority {} is above the maximum {}",
                m.priority,
                limits::MAX_LEVEL
            )),
            _ => Ok(()),
        }
    }
}

fn check_invitees(to: &[Invitee]) -> Result<(), String> {
    if to.is_empty() {
        return Err("invite nobody? `to` is empty".into());
    }
    if to.len() >= limits::MAX_CALL_MEMBERS {
        return Err(format!(
            "{} invitees, a call holds at most {} members",
            to.len(),
            limits::MAX_CALL_MEMBERS
        ));
    }
    for (i, a) in to.iter().enumerate() {
        if to[..i].iter().any(|b| b.user == a.user) {
            return Err(format!("{} is invited twice", a.user));
        }
    }
    Ok(())
}

/// The first frame of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct Hello {
    /// The protocol version the client speaks ([`crate::PROTOCOL_VERSION`]).
    pub v: u32,
    /// The bearer token (from `POST /auth/login`, `POST /auth/customer` or `switchboard-server
    /// token`). It rides here, never in the URL: browsers cannot set WebSocket headers.
    pub token: Token,
    /// The session to resume after a dropped socket, within the resume window; its calls go on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<SessionId>,
    /// With `resume`: the `seq` of the last frame read; the server sends the later ones again
    /// (as many as it still keeps). Without it, only the frames of the time disconnected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<u64>,
    /// What program is connecting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientInfo>,
}

/// Users whose presence to follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SubscribePresence {
    /// At most `MAX_PRESENCE_USERS`.
    pub users: Vec<UserId>,
}

/// A new call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct Invite {
    /// Who to call: one user for a 1:1 call, up to five for a group call; each with the
    /// caller's offer for them.
    pub to: Vec<Invitee>,
    /// Audio or video; the caller decides (RongCloud: "由发起者决定").
    pub media: CallMedia,
    /// Application data shown to the invitees (`extra` on `incoming_call`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Extra>,
    /// A consult: the agent of this customer call calls one colleague about it. The server
    /// puts the customer on hold (if not already), and the customer hears nothing of the
    /// consult. When it ends without a transfer, the customer is taken off hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consult: Option<CallId>,
    /// A supervision: a supervisor (or admin) calls one agent of theirs who is talking to a
    /// customer. The agent's engine answers at once and forwards the customer's media; the
    /// customer is told nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<crate::MonitorMode>,
}

/// More invitees for a running call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct InviteMembers {
    /// The call.
    pub call_id: CallId,
    /// Who to add, each with the inviter's offer for them. The other joined members send their
    /// own offers to each newcomer when they see its `member_update` (`invited`): in the mesh,
    /// the member already in the call is the offerer of each pair.
    pub to: Vec<Invitee>,
}

/// Names a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CallRef {
    /// The call.
    pub call_id: CallId,
}

/// An answer to an invite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct Accept {
    /// The call.
    pub call_id: CallId,
    /// Accept a video call as audio only (the callee's choice, like RongCloud's accept
    /// constraints). Absent: the call's media.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<CallMedia>,
    /// The answer to the inviter's offer, unless it was already sent in an `sdp` frame while
    /// ringing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Sdp>,
}

/// Declining an invite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Reject {
    /// The call.
    pub call_id: CallId,
    /// The device is busy (TRTC auto-busy): the call ends `busy` rather than `rejected`.
    #[serde(default)]
    pub busy: bool,
}

/// Withdrawing an invite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct Cancel {
    /// The call.
    pub call_id: CallId,
    /// Only this invitee (a group call goes on for the rest). Absent: everyone, which ends the
    /// call with `cancelled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserId>,
}

/// SDP for one peer connection of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct SdpToPeer {
    /// The call.
    pub call_id: CallId,
    /// The member it is for.
    pub to: UserId,
    /// One device of that member (when several ring, each can negotiate on its own); absent:
    /// the member's device in the call, or all its ringing devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_session: Option<SessionId>,
    /// Offer or answer.
    pub kind: SdpKind,
    /// The SDP.
    pub sdp: Sdp,
}

/// One ICE candidate for one peer connection of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct IceToPeer {
    /// The call.
    pub call_id: CallId,
    /// The member it is for.
    pub to: UserId,
    /// One device of that member, as for `sdp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_session: Option<SessionId>,
    /// The candidate; `null` marks the end of candidates.
    pub candidate: Option<IceCandidate>,
}

/// This member's media, told to the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MediaStateUpdate {
    /// The call.
    pub call_id: CallId,
    /// What this member sends now.
    pub state: MediaState,
}

/// An audio↔video switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SwitchMedia {
    /// The call.
    pub call_id: CallId,
    /// The call's new media.
    pub media: CallMedia,
}

/// A direct message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SendMessage {
    /// The recipient.
    pub to: UserId,
    /// The text.
    pub text: Text,
}

/// A message inside a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct SendCallMessage {
    /// The call.
    pub call_id: CallId,
    /// One member; absent: all other members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<UserId>,
    /// The text.
    pub text: Text,
}

/// A file offered to one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FileOfferToPeer {
    /// The call whose data channel carries the bytes.
    pub call_id: CallId,
    /// The member it is for.
    pub to: UserId,
    /// The file.
    pub file: FileOffer,
}

/// The receiver's decision on a file offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FileReplyToPeer {
    /// The call.
    pub call_id: CallId,
    /// The member who offered the file.
    pub to: UserId,
    /// The offer's transfer id.
    pub transfer_id: TransferId,
    /// Whether to receive it.
    pub accept: bool,
}

/// An agent's registration with the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AgentRegister {
    /// Area, skills and name.
    pub profile: AgentProfile,
}

/// The agent's requested state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SetAgentState {
    /// Ready, not ready (with a reason) or offline.
    pub state: AgentAvailability,
    /// Apply once the current call and its wrap-up are over ("next status"), instead of now.
    #[serde(default)]
    pub after_call: bool,
}

/// A customer's request to wait for an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct Enqueue {
    /// The business (queue) to wait in; a customer token names the one it allows.
    pub business: Business,
    /// Audio or video (anyRTC callMode 20 or 21).
    pub media: CallMedia,
    /// 0 normal, up to 10; higher is served first. The server caps it at what the customer's
    /// token allows.
    #[serde(default)]
    pub priority: u8,
    /// The name the customer gave, shown to the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Label>,
    /// The customer's offer for the agent's peer connection; it rides with the offer to the
    /// agent so transport set-up completes while the agent's phone rings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<Sdp>,
    /// Application data for the agent's screen pop (e.g. a case number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Extra>,
}

/// A blind transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Transfer {
    /// The customer call to hand on.
    pub call_id: CallId,
    /// Where to.
    pub to: TransferTarget,
}

/// The end of an agent's wrap-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct EndWrapUp {
    /// The call wrapped up.
    pub call_id: CallId,
    /// The outcome the agent chose, e.g. `resolved`, `callback`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<Label>,
    /// The agent's notes for the call's record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<Text>,
}

/// Hold or resume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SetHold {
    /// The call.
    pub call_id: CallId,
    /// On hold (true) or back (false).
    pub on: bool,
}
