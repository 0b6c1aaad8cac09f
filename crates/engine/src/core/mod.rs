//! The engine's call logic as one sans-IO value, in the server core's style (and str0m's
//! `Rtc`): [`Core::handle`] takes what happened with the time it happened, [`Core::poll_output`]
//! says what to do — send a frame to the server, do something to a peer connection, tell the
//! user — and [`Core::poll_timeout`] / [`Core::handle_timeout`] carry every timer. No tokio, no
//! webrtc-rs, no clock of its own: the driver (`crate::driver`) feeds it and carries out the
//! peer operations on webrtc-rs, and the tests drive it with a fake server and fake peers.
//!
//! Where each rule lives:
//! - a call's phases, its end reason and the ending timer: [`phase`]; carried out (accept,
//!   media on and off, the end) in `lifecycle.rs`;
//! - per-peer negotiation (who offers, re-offers queued behind one in flight, candidates held
//!   until they can be used or sent): [`negotiation`]; what the peers report back:
//!   `results.rs`;
//! - placing calls, invites, the mesh rule, re-offers after a switch: `invites.rs`;
//! - each peer's media path, lost and restored by an ICE restart: [`path`];
//! - the frames from the server (created, incoming, members, SDP and ICE relays): `server.rs`;
//! - the user's commands, media gates, mute, share and recording state, timers: here.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use switchboard_protocol::{
    CallId, CallMedia, ClientFrame, ClientMessage, IceCandidate, MediaState, MediaStateUpdate,
    RequestId, ServerFrame, SessionId, SwitchMedia, UserId,
};

use crate::event::DataEvent;
use crate::event::Event;

mod hold;
mod invites;
mod lifecycle;
mod monitor;
pub mod negotiation;
pub mod path;
pub mod phase;
mod results;
mod server;

use negotiation::{Made, Negotiation, Role};
pub use path::TransportState;
use phase::{CallMachine, ENDING_TIMEOUT, Input as PhaseInput, Output as PhaseOutput, Request};

/// Our name for one peer connection (one remote member of one call). Never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub u64);

impl std::fmt::Display for PeerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "peer {}", self.0)
    }
}

/// How long the signaling client waits for the server's resume window to pass before it gives
/// a lost session up itself: a little longer than the window, so that the server decides.
pub const RESUME_GRACE: Duration = Duration::from_secs(5);

/// Where the numbers of the core's own requests start (`accept`, `invite_members`): the
/// driver numbers the user's calls from 1, so the two never meet.
pub const OWN_REQUESTS: RequestId = 1 << 30;

/// How often the driver is asked to report stats and look after recordings while media flows.
pub const TICK: Duration = Duration::from_secs(1);

/// What happened.
#[derive(Debug, Clone)]
pub enum Input {
    // ---- the signaling client ----
    /// Signed in (`resumed`: the same session, after a dropped socket).
    SignedIn {
        user: UserId,
        session: SessionId,
        resumed: bool,
        resume_window: Duration,
    },
    /// The socket dropped; the client reconnects.
    SignalingLost(String),
    /// The server closed the session for good.
    Closed(String),
    /// A frame from the server.
    Frame(Box<ServerFrame>),

    // ---- the user ----
    /// Call these users (`request`: the driver's number for the reply).
    Call {
        request: RequestId,
        to: Vec<UserId>,
        media: CallMedia,
    },
    /// As the agent of customer call `call_id`: consult colleague `to` about it.
    Consult {
        request: RequestId,
        call_id: CallId,
        to: UserId,
    },
    /// As a supervisor: monitor `agent`'s customer call in `mode`.
    Monitor {
        request: RequestId,
        agent: UserId,
        mode: switchboard_protocol::MonitorMode,
        media: CallMedia,
    },
    /// As a supervisor: listen, whisper or barge in this monitor call.
    SetMonitor {
        call_id: CallId,
        mode: switchboard_protocol::MonitorMode,
    },
    /// As a supervisor: take the customer of this monitor call over.
    TakeOver(CallId),
    /// Wait in a queue as a customer.
    Enqueue {
        request: RequestId,
        business: switchboard_protocol::Business,
        media: CallMedia,
        name: Option<switchboard_protocol::Label>,
    },
    Accept(CallId),
    Hangup(CallId),
    Mute {
        call_id: CallId,
        audio: bool,
        video: bool,
    },
    SwitchMedia(CallId, CallMedia),
    /// Put the other member of a call of two on hold, or take them off it.
    Hold {
        call_id: CallId,
        on: bool,
    },
    /// Invite more users into a call in progress.
    Invite(CallId, Vec<UserId>),
    /// Our screen share started in this call (the driver opened the capture).
    ShareStarted(CallId),
    /// Stop our share in this call (`reason`: why, when it was not the user's choice).
    StopShare {
        call_id: CallId,
        reason: Option<String>,
    },
    /// Our recording of this call: `Some(paused)` running, `None` not (any more).
    Recording {
        call_id: CallId,
        state: Option<bool>,
    },
    /// Hang up everything now, without waiting for the server.
    Shutdown,

    // ---- the peer connections ----
    /// A peer operation that makes an SDP (create as offerer or answerer, re-offer, answer a
    /// re-offer) finished.
    LocalSdp {
        peer: PeerId,
        result: Result<String, String>,
    },
    /// A local ICE candidate to trickle (`None`: gathering finished).
    LocalCandidate {
        peer: PeerId,
        candidate: Option<IceCandidate>,
    },
    /// The peer's transport (ICE + DTLS) changed.
    Transport {
        peer: PeerId,
        state: TransportState,
    },
    /// The first picture or audio frame from this peer was decoded.
    FirstMedia {
        peer: PeerId,
        kind: &'static str,
        at: Instant,
    },
    /// The peer's data channel said something.
    Data {
        peer: PeerId,
        event: DataEvent,
    },
}

/// What the media senders of one peer may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Gates {
    /// Anything at all (the call is answered).
    pub sending: bool,
    /// Our screen share.
    pub screen: bool,
    pub audio_muted: bool,
    /// Also true in an audio call.
    pub video_muted: bool,
    /// We hold the call: music on hold instead of the microphone, no camera or screen, and
    /// the held member's audio is not played.
    pub hold: bool,
    /// Supervision, on the monitored agent's side (`monitor.rs`): this member's decoded audio
    /// also goes to the supervisor (the customer of a monitored call).
    pub to_supervisor: bool,
    /// What goes to the supervisor is sent to this member with our microphone (the
    /// supervisor's connection).
    pub with_customer: bool,
    /// This member's audio is not played here (a supervisor who only listens).
    pub quiet: bool,
    /// This member's decoded audio is barged into what the customer hears (the supervisor's
    /// connection, barging).
    pub barging: bool,
    /// The barging supervisor's voice is sent to this member with our microphone (the
    /// customer's connection).
    pub with_supervisor: bool,
}

/// Something to do to one peer connection. The driver carries out a peer's operations in the
/// order they come; those that make an SDP answer with [`Input::LocalSdp`].
#[derive(Debug, Clone, PartialEq)]
pub enum PeerOp {
    /// Create a connection to `user` that offers (the video m-line `inactive` unless `video`),
    /// with our tracks and the data channel.
    Offer { user: UserId, video: bool },
    /// Create a connection to `user` that answers `offer`.
    Answer {
        user: UserId,
        offer: String,
        video: bool,
    },
    /// Offer again on this connection with the video m-line on or off; with fresh ICE
    /// credentials (an ICE restart) when `ice_restart`.
    Reoffer { video: bool, ice_restart: bool },
    /// Answer the far end's re-offer on this connection.
    AnswerReoffer { offer: String, video: bool },
    /// Apply the far end's answer.
    SetAnswer(String),
    /// Apply a remote candidate (after a remote description, always).
    AddCandidate(IceCandidate),
    /// What the senders may send.
    Gates(Gates),
    /// Close it; its stats count for `call` (if it belonged to one).
    Close { call: Option<CallId> },
}

/// What to do to our local recording of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecorderOp {
    /// Stop it (the call's media stopped); the driver reports `Event::RecordingStopped`.
    Stop,
    /// This member's screen share ended: its picture leaves the layout.
    RemoteScreenOff(UserId),
    /// Our own share ended.
    OwnScreenOff,
}

/// What to do.
#[derive(Debug, Clone)]
pub enum Output {
    /// Send this frame to the server (it waits in the signaling queue while the socket is down).
    Send(ClientFrame),
    /// Do this to a peer connection.
    Peer { peer: PeerId, op: PeerOp },
    /// Tell the user. `Event::Ended` comes with empty stats: the driver, which holds the peers'
    /// counters, fills them in.
    Event(Event),
    /// The answer to `Input::Call` or `Input::Enqueue`.
    Reply {
        request: RequestId,
        result: Result<CallId, String>,
    },
    /// Start (true) or stop the shared capture (camera, microphone).
    Capture(bool),
    /// Stop our screen share (it was in this call).
    StopShare(CallId),
    /// Do this to our recording of this call.
    Recorder { call_id: CallId, op: RecorderOp },
    /// A second passed with media on in these calls: report their stats, look after their
    /// recordings and the share's frame rate.
    Tick(Vec<CallId>),
    /// A media path was lost: check that the signaling socket still carries anything (an ICE
    /// restart's offer must go through it), and replace it if it does not.
    CheckSignaling,
}

/// A peer connection as the core knows it.
#[derive(Debug)]
struct PeerState {
    user: UserId,
    /// The far end's session, once known (answers go to it; a re-offer must come from it).
    session: Option<SessionId>,
    /// Which call it belongs to, or which invite that has no call id yet.
    owner: Owner,
    neg: Negotiation,
    path: path::Path,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Owner {
    Call(CallId),
    Invite(RequestId),
}

struct Call {
    machine: CallMachine,
    media: CallMedia,
    /// Our connection to each remote member.
    peers: BTreeMap<UserId, PeerId>,
    /// Members known to have joined, us included (for the mesh rule).
    joined: Vec<UserId>,
    answered: Option<Instant>,
    muted: (bool, bool),
    media_on: bool,
    sharing: bool,
    /// `Some(paused)` while we record it.
    recording: Option<bool>,
    ending_at: Option<Instant>,
    /// Members being invited into it whose offers are still being made, by request.
    inviting: Vec<(RequestId, PeerId)>,
    /// Everyone the server says is in it or invited (us too), joined or not.
    members: std::collections::BTreeSet<UserId>,
    holds: hold::Holds,
    /// A monitor call: our side of the supervision.
    monitor: Option<monitor::Monitoring>,
}

/// Our invite (or queue entry) that the server has not confirmed yet.
struct PendingInvite {
    media: CallMedia,
    /// A consult about this customer call.
    consult: Option<CallId>,
    /// A supervision of the invitee's customer call.
    monitor: Option<switchboard_protocol::MonitorMode>,
    /// The invitees in order, with the peer making our offer to each.
    peers: Vec<(UserId, PeerId)>,
    offers: HashMap<PeerId, String>,
    /// The invite frame went out.
    sent: bool,
}

/// The engine's calls, their members and peers, and every timer.
pub struct Core {
    me: Option<UserId>,
    connected: bool,
    resume_window: Duration,
    resume_deadline: Option<Instant>,
    next_tick: Option<Instant>,
    calls: BTreeMap<CallId, Call>,
    invites: BTreeMap<RequestId, PendingInvite>,
    /// Our `invite_members` the server has not answered yet: their call and connections.
    member_invites: BTreeMap<RequestId, (CallId, Vec<PeerId>)>,
    /// Our `accept`s the server has not answered yet.
    accepts: BTreeMap<RequestId, CallId>,
    /// Customer calls that may come to this device warm, lately: consulted about here, or
    /// monitored from here (a warm transfer or a take-over of one is taken at once).
    warm_expected: Vec<CallId>,
    /// The number of the next request the core itself makes (the driver numbers the user's
    /// from 1; these are far above).
    next_request: RequestId,
    peers: BTreeMap<PeerId, PeerState>,
    next_peer: u64,
    out: VecDeque<Output>,
}

impl Default for Core {
    fn default() -> Self {
        Self::new()
    }
}

impl Core {
    pub fn new() -> Self {
        Self {
            me: None,
            connected: false,
            resume_window: Duration::from_secs(20),
            resume_deadline: None,
            next_tick: None,
            calls: BTreeMap::new(),
            invites: BTreeMap::new(),
            member_invites: BTreeMap::new(),
            accepts: BTreeMap::new(),
            warm_expected: Vec::new(),
            next_request: OWN_REQUESTS,
            peers: BTreeMap::new(),
            next_peer: 1,
            out: VecDeque::new(),
        }
    }

    // ---- the driver's side ----------------------------------------------------------------

    /// The next thing to do, in order.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`Core::handle_timeout`] is due next (`None`: no timer runs).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let endings = self.calls.values().filter_map(|c| c.ending_at);
        let restarts = self.peers.values().filter_map(|p| p.path.timer());
        endings
            .chain(restarts)
            .chain(self.resume_deadline)
            .chain(self.next_tick)
            .min()
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<CallId> = self
            .calls
            .iter()
            .filter(|(_, c)| c.ending_at.is_some_and(|t| t <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            if let Some(c) = self.calls.get_mut(&id) {
                c.ending_at = None;
            }
            self.phase(&id, PhaseInput::EndingTimeout, now);
        }
        self.path_timers(now);
        if self.resume_deadline.is_some_and(|t| t <= now) {
            self.resume_deadline = None;
            if !self.connected {
                self.all_calls(PhaseInput::ResumeExpired, now);
            }
        }
        if let Some(t) = self.next_tick.filter(|t| *t <= now) {
            let on: Vec<CallId> = self
                .calls
                .iter()
                .filter(|(_, c)| c.media_on)
                .map(|(id, _)| id.clone())
                .collect();
            if on.is_empty() {
                self.next_tick = None;
            } else {
                // From the last tick, not from `now`: a late driver does not drift.
                self.next_tick = Some((t + TICK).max(now));
                self.out.push_back(Output::Tick(on));
            }
        }
    }

    /// Whether this call's media runs (it was answered and has not stopped).
    pub fn media_on(&self, call_id: &CallId) -> bool {
        self.calls.get(call_id).is_some_and(|c| c.media_on)
    }

    /// The calls we are in.
    pub fn calls(&self) -> impl Iterator<Item = &CallId> {
        self.calls.keys()
    }

    /// A call's peers with their members.
    pub fn peers_of(&self, call_id: &CallId) -> Vec<(PeerId, UserId)> {
        self.calls
            .get(call_id)
            .map(|c| c.peers.iter().map(|(u, p)| (*p, u.clone())).collect())
            .unwrap_or_default()
    }

    /// Our peer with this member of this call.
    pub fn peer_of(&self, call_id: &CallId, user: &UserId) -> Option<PeerId> {
        self.calls.get(call_id)?.peers.get(user).copied()
    }

    /// Handles one input at `now`.
    pub fn handle(&mut self, input: Input, now: Instant) {
        match input {
            Input::SignedIn {
                user,
                session,
                resumed,
                resume_window,
            } => {
                self.connected = true;
                self.resume_deadline = None;
                self.me = Some(user.clone());
                self.resume_window = resume_window;
                // A fresh session: the server has ended our calls.
                let input = if resumed {
                    PhaseInput::SignalingResumed
                } else {
                    PhaseInput::ResumeExpired
                };
                self.all_calls(input, now);
                if resumed {
                    // What went out on the dead socket may be lost with it.
                    self.restart_lost_paths(now);
                }
                self.emit(Event::SignedIn {
                    user,
                    session,
                    resumed,
                });
            }
            Input::SignalingLost(why) => {
                if self.connected {
                    self.connected = false;
                    self.resume_deadline = Some(now + self.resume_window + RESUME_GRACE);
                    self.all_calls(PhaseInput::SignalingLost, now);
                }
                self.emit(Event::SignalingLost { reason: why });
            }
            Input::Closed(why) => {
                self.connected = false;
                self.resume_deadline = None;
                self.all_calls(PhaseInput::ResumeExpired, now);
                self.emit(Event::Closed { reason: why });
            }
            Input::Frame(f) => self.frame(*f, now),
            Input::Call { request, to, media } => self.place_call(request, to, media, None, None),
            Input::Consult {
                request,
                call_id,
                to,
            } => self.place_call(request, vec![to], CallMedia::Audio, Some(call_id), None),
            Input::Monitor {
                request,
                agent,
                mode,
                media,
            } => self.place_call(request, vec![agent], media, None, Some(mode)),
            Input::SetMonitor { call_id, mode } => {
                self.send(ClientMessage::Monitor(switchboard_protocol::SetMonitor {
                    call_id,
                    mode,
                }))
            }
            Input::TakeOver(call_id) => {
                self.send(ClientMessage::TakeOver(switchboard_protocol::CallRef {
                    call_id,
                }))
            }
            Input::Enqueue {
                request,
                business,
                media,
                name,
            } => {
                // Like an invite with nobody to offer to yet: the agent who takes the call
                // offers once they join (the mesh rule), while we wait.
                self.invites.insert(
                    request,
                    PendingInvite {
                        media,
                        consult: None,
                        monitor: None,
                        peers: Vec::new(),
                        offers: HashMap::new(),
                        sent: true,
                    },
                );
                self.send_request(
                    request,
                    ClientMessage::Enqueue(switchboard_protocol::Enqueue {
                        business,
                        media,
                        priority: 0,
                        name,
                        offer: None,
                        extra: None,
                    }),
                );
            }
            Input::Accept(id) => self.phase(&id, PhaseInput::LocalAccept, now),
            Input::Hangup(id) => self.phase(&id, PhaseInput::LocalHangup, now),
            Input::Mute {
                call_id,
                audio,
                video,
            } => {
                if let Some(call) = self.calls.get_mut(&call_id) {
                    call.muted = (audio, video);
                    self.gates(&call_id);
                    self.tell_media_state(&call_id);
                }
            }
            Input::SwitchMedia(call_id, media) => {
                // Asked of the server, applied when it answers (`media_switched`, which comes
                // to every member in one order): a switch it refuses, or one that crosses
                // another member's, leaves no member on media the others do not have.
                if self.calls.contains_key(&call_id) {
                    self.send(ClientMessage::SwitchMedia(SwitchMedia { call_id, media }));
                }
            }
            Input::Hold { call_id, on } => self.request_hold(call_id, on),
            Input::Invite(call_id, users) => {
                let request = self.own_request();
                self.invite(request, &call_id, users)
            }
            Input::ShareStarted(call_id) => {
                if let Some(call) = self.calls.get_mut(&call_id).filter(|c| c.media_on) {
                    call.sharing = true;
                    self.gates(&call_id);
                    self.tell_media_state(&call_id);
                }
            }
            Input::StopShare { call_id, reason } => self.stop_share(&call_id, reason),
            Input::Recording { call_id, state } => {
                if let Some(call) = self.calls.get_mut(&call_id) {
                    call.recording = state;
                    self.tell_media_state(&call_id);
                }
            }
            Input::Shutdown => {
                let ids: Vec<CallId> = self.calls.keys().cloned().collect();
                for id in ids {
                    self.phase(&id, PhaseInput::LocalHangup, now);
                    self.phase(&id, PhaseInput::EndingTimeout, now);
                }
            }
            Input::LocalSdp { peer, result } => self.local_sdp(peer, result),
            Input::LocalCandidate { peer, candidate } => self.local_candidate(peer, candidate),
            Input::Transport { peer, state } => self.transport(peer, state, now),
            Input::FirstMedia { peer, kind, at } => {
                let Some((call_id, p)) = self.call_peer(peer) else {
                    return;
                };
                let user = p.user.clone();
                self.phase(&call_id, PhaseInput::MediaFlowing, now);
                self.emit(Event::FirstMedia {
                    call_id,
                    user,
                    kind,
                    at,
                });
            }
            Input::Data { peer, event } => {
                if let Some((call_id, p)) = self.call_peer(peer) {
                    let user = p.user.clone();
                    self.emit(crate::event::data_event(call_id, user, event));
                }
            }
        }
    }

    // ---- helpers ---------------------------------------------------------------------------

    fn emit(&mut self, e: Event) {
        self.out.push_back(Output::Event(e));
    }

    fn send(&mut self, message: ClientMessage) {
        self.out.push_back(Output::Send(ClientFrame::new(message)));
    }

    fn send_request(&mut self, request: RequestId, message: ClientMessage) {
        self.out
            .push_back(Output::Send(ClientFrame::request(request, message)));
    }

    fn own_request(&mut self) -> RequestId {
        let r = self.next_request;
        self.next_request += 1;
        r
    }

    fn op(&mut self, peer: PeerId, op: PeerOp) {
        self.out.push_back(Output::Peer { peer, op });
    }

    /// A peer of a call (not of an unconfirmed invite), with its call.
    fn call_peer(&mut self, peer: PeerId) -> Option<(CallId, &mut PeerState)> {
        let p = self.peers.get_mut(&peer)?;
        match &p.owner {
            Owner::Call(id) => Some((id.clone(), p)),
            Owner::Invite(_) => None,
        }
    }

    fn new_peer(&mut self, user: &UserId, owner: Owner, role: Role, made: Made) -> PeerId {
        let id = PeerId(self.next_peer);
        self.next_peer += 1;
        self.peers.insert(
            id,
            PeerState {
                user: user.clone(),
                session: None,
                owner,
                neg: Negotiation::new(role, made),
                path: path::Path::default(),
            },
        );
        id
    }

    /// Closes a peer and forgets it (`call`: its stats count for that call).
    fn close_peer(&mut self, peer: PeerId) {
        if let Some(p) = self.peers.remove(&peer) {
            let call = match p.owner {
                Owner::Call(id) => Some(id),
                Owner::Invite(_) => None,
            };
            self.op(peer, PeerOp::Close { call });
        }
    }

    fn all_calls(&mut self, input: PhaseInput, now: Instant) {
        let ids: Vec<CallId> = self.calls.keys().cloned().collect();
        for id in ids {
            self.phase(&id, input.clone(), now);
        }
    }

    fn media_state(call: &Call) -> MediaState {
        MediaState {
            audio: !call.muted.0,
            video: !call.muted.1 && call.media == CallMedia::Video,
            screen: call.sharing,
            // Paused: nothing is being recorded, and the others see that.
            recording: call.recording == Some(false),
        }
    }

    fn tell_media_state(&mut self, call_id: &CallId) {
        if let Some(call) = self.calls.get(call_id) {
            let state = Self::media_state(call);
            self.send(ClientMessage::MediaState(MediaStateUpdate {
                call_id: call_id.clone(),
                state,
            }));
        }
    }

    /// What each peer of the call may send now: nothing before the answer, video only in a
    /// video call and while the camera is not muted, the screen while we share; and what a
    /// supervision bridges (`monitor.rs`). A monitor call's change is the customer call's too.
    fn gates(&mut self, call_id: &CallId) {
        self.apply_gates(call_id);
        let bridged = self
            .calls
            .get(call_id)
            .and_then(|c| c.monitor.as_ref())
            .filter(|m| m.agent_side)
            .and_then(|m| m.of.clone());
        if let Some(of) = bridged {
            self.apply_gates(&of);
        }
    }

    fn apply_gates(&mut self, call_id: &CallId) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let mut gates = Gates {
            sending: call.media_on,
            screen: call.media_on && call.sharing,
            audio_muted: call.muted.0,
            video_muted: call.muted.1 || call.media == CallMedia::Audio,
            hold: call.holds.holding(),
            ..Gates::default()
        };
        self.monitor_gates(call_id, &mut gates);
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let inviting = call.inviting.iter().map(|(_, p)| p);
        let peers: Vec<PeerId> = call.peers.values().chain(inviting).copied().collect();
        for peer in peers {
            if let Some(p) = self.peers.get_mut(&peer)
                && p.neg.gates != Some(gates)
            {
                p.neg.gates = Some(gates);
                self.op(peer, PeerOp::Gates(gates));
            }
        }
    }

    fn stop_share(&mut self, call_id: &CallId, reason: Option<String>) {
        let Some(call) = self.calls.get_mut(call_id).filter(|c| c.sharing) else {
            return;
        };
        call.sharing = false;
        let recording = call.recording.is_some();
        self.out.push_back(Output::StopShare(call_id.clone()));
        self.gates(call_id);
        if recording {
            self.out.push_back(Output::Recorder {
                call_id: call_id.clone(),
                op: RecorderOp::OwnScreenOff,
            });
        }
        self.tell_media_state(call_id);
        self.emit(Event::ScreenShareEnded {
            call_id: call_id.clone(),
            reason,
        });
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod sim;
