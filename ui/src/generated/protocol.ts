// Generated from crates/protocol by `cargo xtask codegen`. Do not edit by hand.
// The wire format: see docs/protocol.md.

/** The protocol version this build speaks (`hello.v`). */
export const PROTOCOL_VERSION = 1;

/** Largest frame the server accepts, in bytes. */
export const MAX_FRAME_BYTES = 65536;

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]: JsonValue } | null;

/**
 * An account id: 1–128 of `A–Z a–z 0–9 _ - . @`. Unique within a realm.
 */
export type UserId = string;

/**
 * A signaling session (one connected device of a user), issued by the server in its
 * `hello` reply and presented again to resume after a dropped socket.
 */
export type SessionId = string;

/**
 * A call, issued by the server when the call is created (`call_created`, `queued`).
 */
export type CallId = string;

/**
 * A business line (a queue) that customers call and agents have as a skill, e.g.
 * `billing`. Like anyRTC's `strBusiness`.
 */
export type Business = string;

/**
 * A file transfer inside a call, chosen by the sender (a UUID is a good choice).
 */
export type TransferId = string;

/**
 * A server-issued message id, unique per realm.
 */
export type MessageId = string;

/**
 * A chat message body: at most 4 000 characters.
 */
export type Text = string;

/**
 * A short label: a display name, an agent's area, a not-ready reason, a disposition, a
 * file name. 1–128 characters, not blank, with no control characters and no bidirectional
 * formatting characters: a label is shown to other people and written to logs, where
 * those would forge names (`invoice\u{202E}fdp.exe`) or lines.
 */
export type Label = string;

/**
 * An SDP blob (offer or answer), at most 48 KiB. Its content is the peers' business: the
 * server relays it without reading it.
 */
export type Sdp = string;

/**
 * A bearer token (see `docs/protocol.md`, "Tokens"). At most 2 KiB.
 */
export type Token = string;

/**
 * One ICE candidate line (`candidate:…`, as in `RTCIceCandidate.candidate`), at most
 * 1 KiB.
 */
export type CandidateLine = string;

/**
 * A SHA-256 digest as 64 lowercase hexadecimal digits.
 */
export type Sha256Hex = string;

/**
 * Why a call (or one member's part in it) ended. Both parties of a call get the same `code`;
 * each gets the `side` from its own point of view, so a callee who declines records
 * `rejected`/`local` and its caller `rejected`/`remote`.
 */
export type EndReason = { 
/**
 * What happened.
 */
code: EndCode, 
/**
 * Who made it happen, from the receiver's point of view.
 */
side: Side, };

/**
 * The end codes of the unified set (`spec/seed-inventory.md` §3.5), in snake_case on the wire.
 * The seed equivalents are noted per code: R = RongCloud `RCCallEndReason`, T = TRTCCalling
 * event, M = mPaaS MRTC.
 */
export type EndCode = "hangup" | "cancelled" | "rejected" | "busy" | "no_answer" | "callee_offline" | "answered_elsewhere" | "ended_elsewhere" | "other_device_in_call" | "kicked_duplicate_login" | "kicked_by_server" | "network_lost" | "media_device_error" | "media_negotiation_failed" | "engine_unsupported" | "blocked" | "forbidden" | "service_unavailable" | "system_interruption" | "call_completed" | "queue_abandoned" | "no_agent_available" | "queue_timeout" | "transferred" | "unknown";

/**
 * Who caused a call to end, from the receiver's point of view.
 */
export type Side = "local" | "remote" | "other_device" | "server" | "system";

/**
 * Why the server refused a frame or a request. Sent in an `error` frame, snake_case on the wire.
 * Unless noted, the connection stays open and nothing else changed.
 */
export type ErrorCode = "malformed_frame" | "binary_frame" | "frame_too_large" | "unknown_type" | "invalid_message" | "hello_required" | "already_authenticated" | "unsupported_version" | "invalid_token" | "token_expired" | "resume_failed" | "rate_limited" | "forbidden" | "not_call_member" | "unknown_user" | "unknown_call" | "unknown_business" | "wrong_state" | "call_full" | "queue_full" | "already_in_call" | "agent_not_registered" | "service_unavailable" | "internal" | "unknown";

/**
 * What an account may do. Carried in its token.
 */
export type Role = "user" | "agent" | "customer" | "admin" | "supervisor";

/**
 * The client program, for logs and support.
 */
export type ClientInfo = { 
/**
 * e.g. `switchboard-desktop`, `switchboard-cli`, `switchboard-widget`.
 */
name: Label, 
/**
 * The program's version.
 */
version: Label, 
/**
 * e.g. `linux-x86_64`, a browser's user agent summary.
 */
platform?: Label, };

/**
 * Per-connection limits the server enforces, announced in its `hello` reply.
 */
export type Limits = { 
/**
 * Largest accepted frame, in bytes.
 */
max_frame_bytes: number, 
/**
 * Sustained frames per second.
 */
messages_per_second: number, 
/**
 * Frames that may be sent at once above the sustained rate.
 */
burst: number, 
/**
 * Most members of one call.
 */
max_call_members: number, };

/**
 * One STUN or TURN server for the peer connections, as in the browser's `RTCIceServer`.
 */
export type IceServer = { 
/**
 * `stun:host:port`, `turn:host:port?transport=udp`, …
 */
urls: Array<string>, 
/**
 * TURN user name (time-limited credentials).
 */
username?: string, 
/**
 * TURN password.
 */
credential?: string, };

/**
 * Whether a user can be called.
 */
export type PresenceStatus = "online" | "busy" | "offline";

/**
 * Why the server ended a whole session (not one call).
 */
export type SessionEndCode = "kicked_duplicate_login" | "kicked_by_server" | "token_expired" | "logged_out" | "server_shutdown" | "unknown";

/**
 * A call that reached the user while no device of theirs was signed in (RongCloud
 * `onOfflineRecord`).
 */
export type MissedCall = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * Who called.
 */
from: UserId, 
/**
 * Audio or video.
 */
media: CallMedia, 
/**
 * When the call was made.
 */
at: number, 
/**
 * How it ended for this user (usually `callee_offline`, side `server`).
 */
reason: EndReason, };

/**
 * What a call carries: audio only, or audio and video. Like RongCloud's `mediaType` 1/2,
 * TRTC's `type` 1/2 and anyRTC's `callMode` 2/0 (20/21 for customer-service calls).
 */
export type CallMedia = "audio" | "video";

/**
 * How a call came about.
 */
export type CallKind = "direct" | "group" | "queue";

/**
 * Someone invited into a call, with the inviter's SDP offer for them. The offer rides with the
 * invite so that ICE and DTLS complete while the callee's phone rings; no media flows before
 * `accept` (CONTRACTS.md).
 */
export type Invitee = { 
/**
 * Who is invited.
 */
user: UserId, 
/**
 * The inviter's offer for the peer connection with this invitee. Without it, the inviter
 * sends the offer later in an `sdp` frame.
 */
offer?: Sdp, };

/**
 * Where a member is in a call. The server broadcasts every change to all members.
 */
export type MemberState = "invited" | "ringing" | "joined" | "left";

/**
 * A member of a call as other members see it.
 */
export type Member = { 
/**
 * The member's user id.
 */
user: UserId, 
/**
 * Where they are in the call.
 */
state: MemberState, 
/**
 * A name to show, when the account has one.
 */
display_name?: Label, };

/**
 * Which half of an offer/answer exchange an SDP blob is. (Not `type`: that key is the frame's
 * tag.)
 */
export type SdpKind = "offer" | "answer";

/**
 * One trickled ICE candidate, as in the browser's `RTCIceCandidateInit` (snake_case).
 */
export type IceCandidate = { 
/**
 * The `candidate:…` line.
 */
candidate: CandidateLine, 
/**
 * The media section's `mid`.
 */
sdp_mid?: Label, 
/**
 * The media section's index.
 */
sdp_mline_index?: number, 
/**
 * The ICE username fragment the candidate belongs to (tells ICE restarts apart).
 */
username_fragment?: Label, };

/**
 * What a member is sending, told to the others so their UI can show it (a muted microphone,
 * a camera turned off, a screen share, a recording in progress). The full state each time, so
 * a lost or reordered notice cannot leave the far side wrong for long.
 */
export type MediaState = { 
/**
 * The microphone is sending (false: muted).
 */
audio: boolean, 
/**
 * The camera is sending (false: camera off or an audio call).
 */
video: boolean, 
/**
 * A screen or window is being shared.
 */
screen: boolean, 
/**
 * This member is recording the call locally; the others must be told (mPaaS seat-side
 * recording).
 */
recording: boolean, };

/**
 * A file that one member offers to send to another over the call's data channel. The bytes
 * never pass through the server.
 */
export type FileOffer = { 
/**
 * The sender's id for this transfer; the data-channel chunks and the reply carry it.
 */
transfer_id: TransferId, 
/**
 * The file's name (no path).
 */
name: Label, 
/**
 * Its size in bytes.
 */
size: number, 
/**
 * Its media type, when known.
 */
mime?: Label, 
/**
 * SHA-256 of the whole file; the receiver checks it after the last chunk.
 */
sha256: Sha256Hex, };

/**
 * Application data attached to an invite or an enqueue (anyRTC's `callExtend`, RongCloud's
 * `extra`, TRTC's `inviteData`): a JSON object of at most 4 KiB, passed through untouched, for
 * example a CRM case number for a screen pop.
 */
export type Extra = { [key in string]?: JsonValue };

/**
 * One business an agent can serve, and how well.
 */
export type Skill = { 
/**
 * The business line (queue).
 */
business: Business, 
/**
 * Proficiency 1 (lowest) to 10.
 */
level: number, };

/**
 * What an agent tells the server about themselves when they register (anyRTC `setAsClerk`).
 */
export type AgentProfile = { 
/**
 * The agent's area or region, e.g. `shanghai` (anyRTC `strArea`).
 */
area: Label, 
/**
 * The businesses the agent serves (anyRTC `strBusiness` and `nLevel`, one per business).
 */
skills: Array<Skill>, 
/**
 * A name to show to customers.
 */
display_name?: Label, };

/**
 * An agent's state as the server keeps it. Only `ready` agents are offered customers.
 */
export type AgentState = { "status": "offline" } | { "status": "ready" } | { "status": "not_ready", 
/**
 * Why.
 */
reason: Label, } | { "status": "ringing", 
/**
 * The offered call.
 */
call_id: CallId, } | { "status": "in_call", 
/**
 * The call.
 */
call_id: CallId, } | { "status": "wrap_up", 
/**
 * The call just finished.
 */
call_id: CallId, 
/**
 * When wrap-up ends by itself and the agent becomes ready again, if auto-ready is on.
 */
ends_at?: number, };

/**
 * The state an agent asks for. The server decides the busy states (ringing, in call, wrap-up).
 */
export type AgentAvailability = { "status": "ready" } | { "status": "not_ready", 
/**
 * Why, e.g. `break`, `lunch`, `training`.
 */
reason: Label, } | { "status": "offline" };

/**
 * What an agent sees of a queued call when it is offered to them.
 */
export type QueueContext = { 
/**
 * The business the customer called.
 */
business: Business, 
/**
 * The customer's priority (0 normal, higher first).
 */
priority: number, 
/**
 * How long the customer has waited, in milliseconds.
 */
waited_ms: number, 
/**
 * The name the customer gave.
 */
customer_name?: Label, 
/**
 * The agent who transferred this customer, if this is a transfer.
 */
transferred_by?: UserId, 
/**
 * A warm transfer: the transferring agent consulted this agent first, who agreed; the
 * engine takes the call at once (no second ring).
 */
warm?: boolean, };

/**
 * The CTI figures every signed-in agent sees (anyRTC `clerk-cti-status(queueNum, AllClerk,
 * WorkingClerk)`, plus what contact-center wallboards show).
 */
export type CtiFigures = { 
/**
 * Customers waiting in all queues.
 */
waiting: number, 
/**
 * Agents signed in (any state but offline).
 */
agents: number, 
/**
 * Agents ready for a customer.
 */
agents_ready: number, 
/**
 * Agents ringing, in a call or in wrap-up.
 */
agents_working: number, 
/**
 * The longest current wait, in milliseconds (0 when nobody waits).
 */
longest_wait_ms: number, };

/**
 * A customer waiting in a queue, as agents see them in their queue panel.
 */
export type WaitingCustomer = { 
/**
 * The customer's call.
 */
call_id: CallId, 
/**
 * The business they called.
 */
business: Business, 
/**
 * Their priority (0 normal, higher first).
 */
priority: number, 
/**
 * Audio or video.
 */
media: CallMedia, 
/**
 * Their place in their business's queue, from 1.
 */
position: number, 
/**
 * How long they have waited, in milliseconds.
 */
waited_ms: number, 
/**
 * The name they gave.
 */
name?: Label, };

/**
 * Where a blind transfer sends the customer.
 */
export type TransferTarget = { "kind": "agent", 
/**
 * The agent.
 */
user: UserId, } | { "kind": "queue", 
/**
 * The business whose queue takes the customer.
 */
business: Business, } | { "kind": "consulted" };

/**
 * One frame from a client: a message plus an optional request id that the server's reply (or
 * error) echoes.
 */
export type ClientFrame = { 
/**
 * Chosen by the client to match the reply to this request.
 */
id?: number, } & ({ "type": "hello" } & Hello | { "type": "ping" } | { "type": "refresh_token" } | { "type": "logout" } | { "type": "subscribe_presence" } & SubscribePresence | { "type": "invite" } & Invite | { "type": "invite_members" } & InviteMembers | { "type": "ringing" } & CallRef | { "type": "accept" } & Accept | { "type": "reject" } & Reject | { "type": "cancel" } & Cancel | { "type": "hangup" } & CallRef | { "type": "sdp" } & SdpToPeer | { "type": "ice_candidate" } & IceToPeer | { "type": "media_state" } & MediaStateUpdate | { "type": "switch_media" } & SwitchMedia | { "type": "message" } & SendMessage | { "type": "call_message" } & SendCallMessage | { "type": "file_offer" } & FileOfferToPeer | { "type": "file_reply" } & FileReplyToPeer | { "type": "agent_register" } & AgentRegister | { "type": "set_agent_state" } & SetAgentState | { "type": "enqueue" } & Enqueue | { "type": "transfer" } & Transfer | { "type": "end_wrap_up" } & EndWrapUp | { "type": "hold" } & SetHold | { "type": "watch_floor" } & WatchFloor | { "type": "monitor" } & SetMonitor | { "type": "take_over" } & CallRef | { "type": "conference" } & CallRef);

/**
 * Everything a client can say, tagged by `type` (snake_case).
 */
export type ClientMessage = { "type": "hello" } & Hello | { "type": "ping" } | { "type": "refresh_token" } | { "type": "logout" } | { "type": "subscribe_presence" } & SubscribePresence | { "type": "invite" } & Invite | { "type": "invite_members" } & InviteMembers | { "type": "ringing" } & CallRef | { "type": "accept" } & Accept | { "type": "reject" } & Reject | { "type": "cancel" } & Cancel | { "type": "hangup" } & CallRef | { "type": "sdp" } & SdpToPeer | { "type": "ice_candidate" } & IceToPeer | { "type": "media_state" } & MediaStateUpdate | { "type": "switch_media" } & SwitchMedia | { "type": "message" } & SendMessage | { "type": "call_message" } & SendCallMessage | { "type": "file_offer" } & FileOfferToPeer | { "type": "file_reply" } & FileReplyToPeer | { "type": "agent_register" } & AgentRegister | { "type": "set_agent_state" } & SetAgentState | { "type": "enqueue" } & Enqueue | { "type": "transfer" } & Transfer | { "type": "end_wrap_up" } & EndWrapUp | { "type": "hold" } & SetHold | { "type": "watch_floor" } & WatchFloor | { "type": "monitor" } & SetMonitor | { "type": "take_over" } & CallRef | { "type": "conference" } & CallRef;

/**
 * The first frame of a connection.
 */
export type Hello = { 
/**
 * The protocol version the client speaks ([`crate::PROTOCOL_VERSION`]).
 */
v: number, 
/**
 * The bearer token (from `POST /auth/login`, `POST /auth/customer` or `switchboard-server
 * token`). It rides here, never in the URL: browsers cannot set WebSocket headers.
 */
token: Token, 
/**
 * The session to resume after a dropped socket, within the resume window; its calls go on.
 */
resume?: SessionId, 
/**
 * With `resume`: the `seq` of the last frame read; the server sends the later ones again
 * (as many as it still keeps). Without it, only the frames of the time disconnected.
 */
seen?: number, 
/**
 * What program is connecting.
 */
client?: ClientInfo, };

/**
 * Users whose presence to follow.
 */
export type SubscribePresence = { 
/**
 * At most `MAX_PRESENCE_USERS`.
 */
users: Array<UserId>, };

/**
 * A new call.
 */
export type Invite = { 
/**
 * Who to call: one user for a 1:1 call, up to five for a group call; each with the
 * caller's offer for them.
 */
to: Array<Invitee>, 
/**
 * Audio or video; the caller decides (RongCloud: "由发起者决定").
 */
media: CallMedia, 
/**
 * Application data shown to the invitees (`extra` on `incoming_call`).
 */
extra?: Extra, 
/**
 * A consult: the agent of this customer call calls one colleague about it. The server
 * puts the customer on hold (if not already), and the customer hears nothing of the
 * consult. When it ends without a transfer, the customer is taken off hold.
 */
consult?: CallId, 
/**
 * A supervision: a supervisor (or admin) calls one agent of theirs who is talking to a
 * customer. The agent's engine answers at once and forwards the customer's media; the
 * customer is told nothing.
 */
monitor?: MonitorMode, };

/**
 * More invitees for a running call.
 */
export type InviteMembers = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * Who to add, each with the inviter's offer for them. The other joined members send their
 * own offers to each newcomer when they see its `member_update` (`invited`): in the mesh,
 * the member already in the call is the offerer of each pair.
 */
to: Array<Invitee>, };

/**
 * Names a call.
 */
export type CallRef = { 
/**
 * The call.
 */
call_id: CallId, };

/**
 * An answer to an invite.
 */
export type Accept = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * Accept a video call as audio only (the callee's choice, like RongCloud's accept
 * constraints). Absent: the call's media.
 */
media?: CallMedia, 
/**
 * The answer to the inviter's offer, unless it was already sent in an `sdp` frame while
 * ringing.
 */
answer?: Sdp, };

/**
 * Declining an invite.
 */
export type Reject = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * The device is busy (TRTC auto-busy): the call ends `busy` rather than `rejected`.
 */
busy: boolean, };

/**
 * Withdrawing an invite.
 */
export type Cancel = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * Only this invitee (a group call goes on for the rest). Absent: everyone, which ends the
 * call with `cancelled`.
 */
user?: UserId, };

/**
 * SDP for one peer connection of a call.
 */
export type SdpToPeer = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * The member it is for.
 */
to: UserId, 
/**
 * One device of that member (when several ring, each can negotiate on its own); absent:
 * the member's device in the call, or all its ringing devices.
 */
to_session?: SessionId, 
/**
 * Offer or answer.
 */
kind: SdpKind, 
/**
 * The SDP.
 */
sdp: Sdp, };

/**
 * One ICE candidate for one peer connection of a call.
 */
export type IceToPeer = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * The member it is for.
 */
to: UserId, 
/**
 * One device of that member, as for `sdp`.
 */
to_session?: SessionId, 
/**
 * The candidate; `null` marks the end of candidates.
 */
candidate?: IceCandidate, };

/**
 * This member's media, told to the others.
 */
export type MediaStateUpdate = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * What this member sends now.
 */
state: MediaState, };

/**
 * An audio↔video switch.
 */
export type SwitchMedia = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * The call's new media.
 */
media: CallMedia, };

/**
 * A direct message.
 */
export type SendMessage = { 
/**
 * The recipient.
 */
to: UserId, 
/**
 * The text.
 */
text: Text, };

/**
 * A message inside a call.
 */
export type SendCallMessage = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * One member; absent: all other members.
 */
to?: UserId, 
/**
 * The text.
 */
text: Text, };

/**
 * A file offered to one member.
 */
export type FileOfferToPeer = { 
/**
 * The call whose data channel carries the bytes.
 */
call_id: CallId, 
/**
 * The member it is for.
 */
to: UserId, 
/**
 * The file.
 */
file: FileOffer, };

/**
 * The receiver's decision on a file offer.
 */
export type FileReplyToPeer = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * The member who offered the file.
 */
to: UserId, 
/**
 * The offer's transfer id.
 */
transfer_id: TransferId, 
/**
 * Whether to receive it.
 */
accept: boolean, };

/**
 * An agent's registration with the queue.
 */
export type AgentRegister = { 
/**
 * Area, skills and name.
 */
profile: AgentProfile, };

/**
 * The agent's requested state.
 */
export type SetAgentState = { 
/**
 * Ready, not ready (with a reason) or offline.
 */
state: AgentAvailability, 
/**
 * Apply once the current call and its wrap-up are over ("next status"), instead of now.
 */
after_call: boolean, };

/**
 * A customer's request to wait for an agent.
 */
export type Enqueue = { 
/**
 * The business (queue) to wait in; a customer token names the one it allows.
 */
business: Business, 
/**
 * Audio or video (anyRTC callMode 20 or 21).
 */
media: CallMedia, 
/**
 * 0 normal, up to 10; higher is served first. The server caps it at what the customer's
 * token allows.
 */
priority: number, 
/**
 * The name the customer gave, shown to the agent.
 */
name?: Label, 
/**
 * The customer's offer for the agent's peer connection; it rides with the offer to the
 * agent so transport set-up completes while the agent's phone rings.
 */
offer?: Sdp, 
/**
 * Application data for the agent's screen pop (e.g. a case number).
 */
extra?: Extra, };

/**
 * A blind transfer.
 */
export type Transfer = { 
/**
 * The customer call to hand on.
 */
call_id: CallId, 
/**
 * Where to.
 */
to: TransferTarget, };

/**
 * The end of an agent's wrap-up.
 */
export type EndWrapUp = { 
/**
 * The call wrapped up.
 */
call_id: CallId, 
/**
 * The outcome the agent chose, e.g. `resolved`, `callback`.
 */
disposition?: Label, 
/**
 * The agent's notes for the call's record.
 */
notes?: Text, };

/**
 * Hold or resume.
 */
export type SetHold = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * On hold (true) or back (false).
 */
on: boolean, };

/**
 * Supervisor (or admin) → server: send me the wallboard now and on every change (`on`), or
 * stop. The server replies with a first `wallboard`; agents, users and customers are refused
 * `forbidden`.
 */
export type WatchFloor = { 
/**
 * Watch (true) or stop (false).
 */
on: boolean, };

/**
 * Supervisor → server: change how they take part (`monitor {call_id, mode}`, `call_id` the
 * monitor call).
 */
export type SetMonitor = { 
/**
 * The monitor call.
 */
call_id: CallId, 
/**
 * The new mode.
 */
mode: MonitorMode, };

/**
 * How a supervisor takes part in an agent's customer call.
 */
export type MonitorMode = "listen" | "whisper" | "barge";

/**
 * One frame from the server: a message plus, when it answers a request, that request's id.
 */
export type ServerFrame = { 
/**
 * The id of the request this answers.
 */
id?: number, 
/**
 * This frame's number among those sent to the session (from 1; the `hello` reply has
 * none). A client that resumes names the last it read (`hello.seen`) and gets the frames
 * after it again: those that went into a socket that died.
 * (`frame_seq` on the wire: messages have a `seq` of their own.)
 */
frame_seq?: number, } & ({ "type": "hello" } & Welcome | { "type": "pong" } & Pong | { "type": "ack" } | { "type": "error" } & ErrorMessage | { "type": "token_refreshed" } & TokenRefreshed | { "type": "session_ended" } & SessionEnded | { "type": "presence" } & PresenceUpdate | { "type": "call_created" } & CallCreated | { "type": "incoming_call" } & IncomingCall | { "type": "member_update" } & MemberUpdate | { "type": "call_ended" } & CallEnded | { "type": "sdp" } & SdpFromPeer | { "type": "ice_candidate" } & IceFromPeer | { "type": "media_state" } & PeerMediaState | { "type": "media_switched" } & MediaSwitched | { "type": "message" } & ReceivedMessage | { "type": "message_sent" } & MessageSent | { "type": "call_message" } & ReceivedCallMessage | { "type": "file_offer" } & FileOfferFromPeer | { "type": "file_reply" } & FileReplyFromPeer | { "type": "missed_calls" } & MissedCalls | { "type": "agent_state" } & AgentStateUpdate | { "type": "queued" } & Queued | { "type": "queue_position" } & QueuePosition | { "type": "cti" } & Cti | { "type": "call_hold" } & CallHold | { "type": "wallboard" } & Wallboard | { "type": "monitor_mode" } & MonitorUpdate | { "type": "conference" } & Conference);

/**
 * Everything the server can say, tagged by `type` (snake_case).
 */
export type ServerMessage = { "type": "hello" } & Welcome | { "type": "pong" } & Pong | { "type": "ack" } | { "type": "error" } & ErrorMessage | { "type": "token_refreshed" } & TokenRefreshed | { "type": "session_ended" } & SessionEnded | { "type": "presence" } & PresenceUpdate | { "type": "call_created" } & CallCreated | { "type": "incoming_call" } & IncomingCall | { "type": "member_update" } & MemberUpdate | { "type": "call_ended" } & CallEnded | { "type": "sdp" } & SdpFromPeer | { "type": "ice_candidate" } & IceFromPeer | { "type": "media_state" } & PeerMediaState | { "type": "media_switched" } & MediaSwitched | { "type": "message" } & ReceivedMessage | { "type": "message_sent" } & MessageSent | { "type": "call_message" } & ReceivedCallMessage | { "type": "file_offer" } & FileOfferFromPeer | { "type": "file_reply" } & FileReplyFromPeer | { "type": "missed_calls" } & MissedCalls | { "type": "agent_state" } & AgentStateUpdate | { "type": "queued" } & Queued | { "type": "queue_position" } & QueuePosition | { "type": "cti" } & Cti | { "type": "call_hold" } & CallHold | { "type": "wallboard" } & Wallboard | { "type": "monitor_mode" } & MonitorUpdate | { "type": "conference" } & Conference;

/**
 * The `hello` reply.
 */
export type Welcome = { 
/**
 * The server's protocol version.
 */
v: number, 
/**
 * This session; present it in `hello.resume` to resume after a dropped socket.
 */
session_id: SessionId, 
/**
 * Whether an earlier session (and its calls) was resumed.
 */
resumed: boolean, 
/**
 * Who the token says the client is.
 */
user: UserId, 
/**
 * What the client may do.
 */
role: Role, 
/**
 * The realm (tenant) of the account.
 */
realm: Label, 
/**
 * When the token expires; refresh before.
 */
token_expires_at: number, 
/**
 * The server's clock, to estimate the offset of the client's.
 */
server_time: number, 
/**
 * The server pings this often (WebSocket ping), in seconds.
 */
heartbeat_secs: number, 
/**
 * A dropped session may be resumed for this long, in seconds, before its calls end with
 * `network_lost`.
 */
resume_window_secs: number, 
/**
 * What this connection may send.
 */
limits: Limits, 
/**
 * STUN/TURN servers for peer connections (like the browser's `iceServers`).
 */
ice_servers: Array<IceServer>, 
/**
 * Peer connections must go through a relay (the browser's `iceTransportPolicy: "relay"`):
 * the realm keeps its agents' addresses from the far end.
 */
relay_only?: boolean, 
/**
 * The WebSocket URLs of this switchboard's nodes (several nodes: `[cluster] addresses`):
 * where to reconnect, and resume, when this one goes.
 */
nodes?: Array<string>, 
/**
 * The realm's music on hold (a WAV file, at this path on the server's HTTP address), which
 * the engine plays to a party it holds; absent: the client's own (a shipped tune).
 */
hold_music?: string, };

/**
 * The `ping` reply.
 */
export type Pong = { 
/**
 * The server's clock.
 */
server_time: number, };

/**
 * An error.
 */
export type ErrorMessage = { 
/**
 * What went wrong, for programs.
 */
code: ErrorCode, 
/**
 * What went wrong, for people (English). Never about other users' private data.
 */
message: string, 
/**
 * The call the failed request was about, if any.
 */
call_id?: CallId, };

/**
 * A new token.
 */
export type TokenRefreshed = { 
/**
 * The token.
 */
token: Token, 
/**
 * When it expires.
 */
expires_at: number, };

/**
 * Why the server is closing this session.
 */
export type SessionEnded = { 
/**
 * Why.
 */
code: SessionEndCode, 
/**
 * For people.
 */
message: string, };

/**
 * A user's presence.
 */
export type PresenceUpdate = { 
/**
 * Whose.
 */
user: UserId, 
/**
 * Online, busy or offline.
 */
status: PresenceStatus, };

/**
 * The `invite` reply.
 */
export type CallCreated = { 
/**
 * The new call.
 */
call_id: CallId, };

/**
 * A call ringing on this device.
 */
export type IncomingCall = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * Direct, group or queue.
 */
kind: CallKind, 
/**
 * Who invited (for a queued call: the customer).
 */
from: UserId, 
/**
 * The inviter's device, to address SDP and ICE to it.
 */
from_session: SessionId, 
/**
 * The inviter's name, when known.
 */
from_name?: Label, 
/**
 * Audio or video.
 */
media: CallMedia, 
/**
 * Everyone in the call so far, the invitee included.
 */
members: Array<Member>, 
/**
 * The inviter's SDP offer for this invitee.
 */
offer?: Sdp, 
/**
 * Application data from the inviter.
 */
extra?: Extra, 
/**
 * For a customer call: the business, priority and wait.
 */
queue?: QueueContext, 
/**
 * For a consult: the customer call it is about.
 */
consult?: ConsultContext, 
/**
 * For the agent's side of a supervision: the customer call monitored, by whom, how.
 */
monitor?: MonitorContext, 
/**
 * When the ringing stops by itself (`no_answer`).
 */
ring_until: number, };

/**
 * A member's new state.
 */
export type MemberUpdate = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * The member.
 */
user: UserId, 
/**
 * The new state.
 */
state: MemberState, 
/**
 * The device that rang or joined.
 */
session?: SessionId, 
/**
 * For `left`: why, from the receiver's point of view.
 */
reason?: EndReason, };

/**
 * The end of a call for this client.
 */
export type CallEnded = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * Why, from this client's point of view.
 */
reason: EndReason, 
/**
 * When the call was created.
 */
started_at: number, 
/**
 * When this client's user joined it, if they did.
 */
answered_at?: number, 
/**
 * When it ended.
 */
ended_at: number, };

/**
 * SDP relayed from a member.
 */
export type SdpFromPeer = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * The member who sent it.
 */
from: UserId, 
/**
 * Their device.
 */
from_session: SessionId, 
/**
 * Offer or answer.
 */
kind: SdpKind, 
/**
 * The SDP.
 */
sdp: Sdp, };

/**
 * An ICE candidate relayed from a member.
 */
export type IceFromPeer = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * The member who sent it.
 */
from: UserId, 
/**
 * Their device.
 */
from_session: SessionId, 
/**
 * The candidate; `null` marks the end of candidates.
 */
candidate: IceCandidate | null, };

/**
 * A member's media state, relayed.
 */
export type PeerMediaState = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * Whose.
 */
from: UserId, 
/**
 * What they send now.
 */
state: MediaState, };

/**
 * A media switch, relayed.
 */
export type MediaSwitched = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * Who switched.
 */
by: UserId, 
/**
 * The call's new media.
 */
media: CallMedia, };

/**
 * A direct message received.
 */
export type ReceivedMessage = { 
/**
 * Unique per realm.
 */
msg_id: MessageId, 
/**
 * The sender.
 */
from: UserId, 
/**
 * Per sender and recipient, from 1, without gaps: a client that sees a gap or a repeat
 * knows (at-most-once delivery is checked by the tests).
 */
seq: number, 
/**
 * The text.
 */
text: Text, 
/**
 * When the server accepted it.
 */
sent_at: number, };

/**
 * The `message` reply.
 */
export type MessageSent = { 
/**
 * The message's id.
 */
msg_id: MessageId, 
/**
 * Its sequence number for this recipient.
 */
seq: number, 
/**
 * When the server accepted it.
 */
sent_at: number, 
/**
 * Whether the recipient was online (otherwise it waits for their sign-in).
 */
delivered: boolean, };

/**
 * A message inside a call.
 */
export type ReceivedCallMessage = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * Unique per realm.
 */
msg_id: MessageId, 
/**
 * The sender.
 */
from: UserId, 
/**
 * Per sender within the call, from 1.
 */
seq: number, 
/**
 * Sent to every member (false: only to this one).
 */
to_all: boolean, 
/**
 * The text.
 */
text: Text, 
/**
 * When the server accepted it.
 */
sent_at: number, };

/**
 * A file offer, relayed.
 */
export type FileOfferFromPeer = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * Who offers it.
 */
from: UserId, 
/**
 * The file.
 */
file: FileOffer, };

/**
 * A file-offer decision, relayed.
 */
export type FileReplyFromPeer = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * Who decided.
 */
from: UserId, 
/**
 * Which offer.
 */
transfer_id: TransferId, 
/**
 * Whether they will receive it.
 */
accept: boolean, };

/**
 * Missed calls.
 */
export type MissedCalls = { 
/**
 * Oldest first.
 */
calls: Array<MissedCall>, };

/**
 * An agent's state.
 */
export type AgentStateUpdate = { 
/**
 * The state now.
 */
state: AgentState, 
/**
 * Since when.
 */
since: number, 
/**
 * The state the agent asked for after the current call ("next status"), if any.
 */
next?: AgentAvailability, };

/**
 * The `enqueue` reply.
 */
export type Queued = { 
/**
 * The customer's call.
 */
call_id: CallId, 
/**
 * The queue.
 */
business: Business, 
/**
 * Place in the queue, from 1.
 */
position: number, };

/**
 * A waiting customer's place.
 */
export type QueuePosition = { 
/**
 * The customer's call.
 */
call_id: CallId, 
/**
 * Place in the queue, from 1 (1: next).
 */
position: number, 
/**
 * How many customers wait in this queue in all.
 */
waiting: number, 
/**
 * An estimate of the remaining wait, in seconds, when the server has one.
 */
estimated_wait_secs?: number, };

/**
 * The agents' view of the queues.
 */
export type Cti = { 
/**
 * Counts over all queues.
 */
figures: CtiFigures, 
/**
 * The first waiting customers this agent has a skill for, in routing order (at most
 * `MAX_LISTED_WAITING`; the figures count all).
 */
waiting: Array<WaitingCustomer>, 
/**
 * This agent's own figures: calls handled and average handle time.
 */
own: OwnFigures, };

/**
 * A hold, begun or ended.
 */
export type CallHold = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * Who holds (or held) it.
 */
by: UserId, 
/**
 * On hold now (false: ended).
 */
on: boolean, 
/**
 * When this hold began.
 */
since: number, 
/**
 * Holds in this call so far, this one included.
 */
count: number, };

/**
 * Server → watching supervisor: the floor they supervise, as of `at`.
 */
export type Wallboard = { 
/**
 * The server's clock when these figures were taken.
 */
at: number, 
/**
 * The team shown (none: the whole realm).
 */
team?: Label, 
/**
 * The counts cover the last this many minutes.
 */
window_mins: number, 
/**
 * Service level: the share of customers answered within this many seconds…
 */
service_level_secs: number, 
/**
 * …that the realm aims for, in percent.
 */
service_level_goal_pct: number, 
/**
 * One row per queue of the realm (a business with waiting customers, skilled agents, or
 * counts in the window), by name.
 */
queues: Array<QueueBoard>, 
/**
 * One row per registered agent in scope, by user id.
 */
agents: Array<AgentBoard>, };

/**
 * One queue on the wallboard.
 */
export type QueueBoard = { 
/**
 * The business.
 */
business: Business, 
/**
 * Customers waiting now.
 */
waiting: number, 
/**
 * The longest current wait as of `at`, in ms (0 when nobody waits).
 */
longest_wait_ms: number, 
/**
 * Agents with this skill who are ready.
 */
agents_ready: number, 
/**
 * Agents with this skill who are ringing, talking or in wrap-up.
 */
agents_working: number, 
/**
 * In the window: customers an agent answered.
 */
answered: number, 
/**
 * …of whom within the service-level time.
 */
answered_in_time: number, 
/**
 * In the window: customers who hung up before an agent answered.
 */
abandoned: number, 
/**
 * In the window: answered calls that ended.
 */
handled: number, 
/**
 * `answered_in_time / (answered + abandoned)`, in percent (none before the first).
 */
service_level_pct?: number, 
/**
 * `abandoned / (answered + abandoned)`, in percent.
 */
abandon_pct?: number, 
/**
 * Average handle time of the handled calls: talk and hold, answer to end, plus the
 * agent's wrap-up, in ms.
 */
aht_ms?: number, };

/**
 * One agent on the wallboard.
 */
export type AgentBoard = { 
/**
 * The agent.
 */
user: UserId, 
/**
 * Their display name.
 */
name?: Label, 
/**
 * Their team.
 */
team?: Label, 
/**
 * Their state.
 */
state: AgentState, 
/**
 * Time in this state as of `at`, in ms.
 */
state_ms: number, 
/**
 * The customer call they are on (ringing, talking or wrapping up).
 */
call?: AgentCall, 
/**
 * Their own figures over the window.
 */
figures: OwnFigures, };

/**
 * The customer call an agent is on, for the wallboard.
 */
export type AgentCall = { 
/**
 * The call.
 */
call_id: CallId, 
/**
 * Its queue.
 */
business: Business, 
/**
 * The customer's name, if they gave one.
 */
customer?: Label, 
/**
 * Since the agent joined it, as of `at`, in ms (0 while ringing).
 */
talk_ms: number, 
/**
 * The customer is on hold.
 */
on_hold: boolean, 
/**
 * The agent is consulting a colleague about it.
 */
consulting: boolean, };

/**
 * An agent's own figures over the server's window: in their queue panel (`cti.own`) and on
 * the wallboard.
 */
export type OwnFigures = { 
/**
 * Customer calls the agent talked in that ended (or that they handed on).
 */
handled: number, 
/**
 * Their average handle time: talk and hold plus wrap-up, in ms.
 */
aht_ms?: number, 
/**
 * The window, in minutes.
 */
window_mins: number, };

/**
 * What the monitored agent's device is told in `incoming_call.monitor`: its engine answers at
 * once and forwards the customer call's media to the supervisor.
 */
export type MonitorContext = { 
/**
 * The customer call that is monitored.
 */
call_id: CallId, 
/**
 * The supervisor.
 */
supervisor: UserId, 
/**
 * How they take part now.
 */
mode: MonitorMode, 
/**
 * The realm tells agents they are monitored (`monitor_notice`): show it. Otherwise the
 * console shows nothing of a silent monitor (it cannot hide a whisper or a barge).
 */
notice: boolean, };

/**
 * Server → both members of a monitor call: its mode, at the start and on every change.
 */
export type MonitorUpdate = { 
/**
 * The monitor call.
 */
call_id: CallId, 
/**
 * The customer call it monitors.
 */
of: CallId, 
/**
 * The mode now.
 */
mode: MonitorMode, 
/**
 * Since when.
 */
since: number, };

/**
 * A consult that became a conference.
 */
export type Conference = { 
/**
 * The consult call (the agent and the colleague).
 */
call_id: CallId, 
/**
 * The customer call it joins.
 */
of: CallId, 
/**
 * Since when.
 */
since: number, };

/**
 * What a consulted colleague sees: the customer call the consult is about.
 */
export type ConsultContext = { 
/**
 * The customer's call (on hold meanwhile).
 */
call_id: CallId, 
/**
 * The customer.
 */
customer: UserId, 
/**
 * The business, wait and name, as the consulting agent was offered them.
 */
queue: QueueContext, };
