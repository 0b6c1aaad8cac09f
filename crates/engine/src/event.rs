//! What the engine tells its user: the leaf every other module (and every user of the
//! engine) reads, importing nothing of the engine but the stats' types. The events are also
//! what the console's UI receives (`ui/src/generated/console.ts`): they serialize as JSON
//! objects tagged by `type`; instants and file bytes stay in Rust, and the few events the
//! console tells in its own words (with the account, the history's time, the saved file) are
//! not serialized at all.

use std::time::Instant;

use serde::Serialize;

use switchboard_protocol::{
    CallId, CallKind, CallMedia, EndReason, MediaState, ServerMessage, SessionId, UserId,
};

use crate::stats::PeerStats;

/// What the engine tells its user.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Signed in, or resumed after a dropped socket (`resumed`). The console tells its UI with
    /// the account (`signed_in`).
    #[serde(skip)]
    SignedIn {
        user: UserId,
        session: SessionId,
        resumed: bool,
    },
    /// The signaling socket dropped; reconnecting (calls go on within the resume window).
    SignalingLost { reason: String },
    /// The session is over for good (kicked, logged out, token refused).
    Closed { reason: String },
    /// Someone calls us.
    Incoming {
        call_id: CallId,
        from: UserId,
        kind: CallKind,
        media: CallMedia,
        members: Vec<UserId>,
        /// The caller's display name, if they have one.
        from_name: Option<switchboard_protocol::Label>,
        /// For a customer from the queue: business, priority, wait, name (`warm`: a warm
        /// transfer, which the engine accepts at once).
        queue: Option<switchboard_protocol::QueueContext>,
        /// A consult: the customer call a colleague calls us about.
        consult: Option<Box<switchboard_protocol::ConsultContext>>,
        /// Our supervisor monitors our customer call: the engine answers at once and bridges
        /// it (show it only when `notice`).
        monitor: Option<Box<switchboard_protocol::MonitorContext>>,
    },
    /// A monitor call's mode, on either side: at the start and on every change.
    Monitor {
        call_id: CallId,
        /// The customer call it supervises.
        of: CallId,
        mode: switchboard_protocol::MonitorMode,
    },
    /// A consult became a conference with its customer call (on the agent's side and the
    /// colleague's): the agent's engine bridges the two.
    Conference {
        /// The consult call.
        call_id: CallId,
        /// The customer call.
        of: CallId,
    },
    /// The peer connection with a member is up (ICE and DTLS done), the first time or again
    /// after [`Event::TransportLost`]. With the offer riding on the invite this happens while
    /// the callee still rings.
    TransportReady { call_id: CallId, user: UserId },
    /// The media path to a member is down (or could not be found): nothing flows between us
    /// until it is back; the engine restarts ICE meanwhile.
    TransportLost { call_id: CallId, user: UserId },
    /// A member's device is ringing.
    Ringing { call_id: CallId, user: UserId },
    /// A member answered (for the caller: the call is answered).
    MemberJoined {
        call_id: CallId,
        user: UserId,
        #[serde(skip)]
        at: Instant,
    },
    /// A member left a group call.
    MemberLeft {
        call_id: CallId,
        user: UserId,
        reason: Option<EndReason>,
    },
    /// The first video picture or audio frame from a member was decoded.
    FirstMedia {
        call_id: CallId,
        user: UserId,
        kind: &'static str,
        #[serde(skip)]
        at: Instant,
    },
    /// A member muted, turned the camera off, shared a screen, started recording…
    RemoteMediaState {
        call_id: CallId,
        user: UserId,
        state: MediaState,
    },
    /// The call switched between audio and video.
    MediaSwitched {
        call_id: CallId,
        by: UserId,
        media: CallMedia,
    },
    /// A text message inside the call (the console tells its UI with the history's time).
    #[serde(skip)]
    CallMessage {
        call_id: CallId,
        from: UserId,
        text: String,
    },
    /// A text message over the call's data channel (told like [`Event::CallMessage`]).
    #[serde(skip)]
    DataText {
        call_id: CallId,
        from: UserId,
        text: String,
    },
    /// A file transfer moved on (`sending`: ours; otherwise theirs).
    FileProgress {
        call_id: CallId,
        user: UserId,
        name: String,
        done: u64,
        total: u64,
        sending: bool,
    },
    /// A member offers a file: nothing of it arrives until the user accepts it
    /// ([`Engine::answer_file`]).
    FileOffered {
        call_id: CallId,
        from: UserId,
        id: String,
        name: String,
        size: u64,
    },
    /// A whole file arrived, of the size and SHA-256 its sender announced (the console tells
    /// its UI where it saved it).
    #[serde(skip)]
    FileReceived {
        call_id: CallId,
        from: UserId,
        name: String,
        data: std::sync::Arc<Vec<u8>>,
    },
    /// A file from a member did not arrive (declined, too large, damaged, more bytes than
    /// announced); nothing of it was kept.
    FileFailed {
        call_id: CallId,
        from: UserId,
        name: String,
        reason: String,
    },
    /// Stats for a call, every second while media flows.
    Stats {
        call_id: CallId,
        peers: Vec<PeerStats>,
    },
    /// A camera, microphone or speaker could not open or stopped (unplugged, say). The calls
    /// go on: a camera sends nothing, a microphone is replaced by silence, a speaker by the
    /// meter, until the user picks another device.
    DeviceFailed {
        kind: switchboard_media::DeviceKind,
        id: String,
        reason: String,
    },
    /// The call is over.
    Ended {
        call_id: CallId,
        reason: EndReason,
        /// When we accepted or the far side joined, if it got that far.
        #[serde(skip)]
        answered: Option<Instant>,
        #[serde(skip)]
        at: Instant,
        /// Each member's stats when media stopped.
        stats: Vec<PeerStats>,
        /// How many times the call was on hold, and for how long in all (ms).
        hold_count: u32,
        hold_ms: u64,
    },
    /// A member put the call on hold (`on`) or took it off: `by` us (we send music on hold
    /// and hear nothing of them) or by them (we are held). `since`: when this hold began, by
    /// the server's clock; `count`: holds in this call so far.
    Hold {
        call_id: CallId,
        by: UserId,
        on: bool,
        since: u64,
        count: u32,
    },
    /// Our screen share ended: we stopped it (`reason` None), the call ended, or capture
    /// stopped by itself (the shared window closed: `reason` says so). The others were told.
    ScreenShareEnded {
        call_id: CallId,
        reason: Option<String>,
    },
    /// A recording of ours ended: stopped, the call ended, or writing failed
    /// (`summary.error`). What was written stays playable.
    RecordingStopped {
        call_id: CallId,
        summary: switchboard_media::RecordingSummary,
    },
    /// Anything else the server said (agent state, CTI figures, queue positions, messages).
    Server { message: Box<ServerMessage> },
    /// A request failed.
    Error {
        call_id: Option<CallId>,
        message: String,
    },
}

/// What the channel delivers.
#[derive(Debug, Clone)]
pub enum DataEvent {
    Text(String),
    /// The far end offers a file: nothing more comes until `Engine::answer_file` accepts it.
    Offer {
        id: String,
        name: String,
        size: u64,
    },
    /// Bytes of a file received (or, for the sender, sent) so far.
    Progress {
        id: String,
        name: String,
        done: u64,
        total: u64,
        sending: bool,
    },
    /// A whole file whose size and SHA-256 match its offer.
    File {
        id: String,
        name: String,
        data: std::sync::Arc<Vec<u8>>,
    },
    /// An incoming transfer ended without a file, and why.
    Failed {
        id: String,
        name: String,
        reason: String,
    },
}

/// What the data channel said, as the engine's event.
pub(crate) fn data_event(call_id: CallId, user: UserId, e: DataEvent) -> Event {
    match e {
        DataEvent::Text(text) => Event::DataText {
            call_id,
            from: user,
            text,
        },
        DataEvent::Progress {
            name,
            done,
            total,
            sending,
            ..
        } => Event::FileProgress {
            call_id,
            user,
            name,
            done,
            total,
            sending,
        },
        DataEvent::Offer { id, name, size } => Event::FileOffered {
            call_id,
            from: user,
            id,
            name,
            size,
        },
        DataEvent::File { name, data, .. } => Event::FileReceived {
            call_id,
            from: user,
            name,
            data,
        },
        DataEvent::Failed { name, reason, .. } => Event::FileFailed {
            call_id,
            from: user,
            name,
            reason,
        },
    }
}
