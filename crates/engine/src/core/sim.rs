//! The core in a simulated world: 2–6 engines' cores against the server's own core
//! (`switchboard_server::core`, sans-IO as well), with fake peer connections that keep
//! webrtc's offer/answer rules, all driven through random interleavings of user actions,
//! frame deliveries, peer results and socket drops. No sockets, no runtime, no webrtc-rs.
//!
//! What must hold, whatever the order:
//! - a peer operation never goes to a closed peer, and each follows the offer/answer rules
//!   (one offer at a time, an answer only to an offer out, candidates after a description);
//! - once everything is delivered, every two members in an answered call have one connection
//!   between them, negotiated both ways, on the call's media, which both agree on;
//! - every engine ends each of its calls once, with the reason the server gave it, and both
//!   sides of a direct call end with the same code;
//! - a media path that breaks (both ends see it `disconnected` or `failed`) comes back through
//!   an ICE restart by the offering side, and both cores see it up again;
//! - after everyone hangs up: no call, no open peer, no unanswered request, no timer.
//!
//! Frames in flight when a socket drops are kept (the server queues what it sends while a
//! session is away, the client what it sends while its socket is down); a drop lasts at most
//! a second, within every timer that would end a call.
//!
//! Longer than 800 lines because the simulated world (the server link, the fake peers, the steps) and
//! the checks it runs read as one: splitting them would scatter one model over several files.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap, VecDeque};

use proptest::prelude::*;
use switchboard_protocol::{
    CallKind, CandidateLine, EndReason, Label, Role, ServerMessage, Welcome,
};
use switchboard_server::core as server;

use super::*;

const START_MS: u64 = 1_700_000_000_000;

/// A fake peer connection: what webrtc would hold.
#[derive(Debug)]
struct FakePeer {
    offerer: bool,
    /// Our offer is set locally and its answer has not been set.
    have_local_offer: bool,
    remote_set: bool,
    closed: bool,
    /// The connection we are negotiated with: (engine, peer).
    remote: Option<(usize, PeerId)>,
    /// The video direction of the last description we made.
    video: bool,
    gates: Gates,
    candidates: usize,
    /// The media path between this connection and its far end is broken.
    down: bool,
    /// The offer out restarts ICE.
    restarting: bool,
}

/// What a fake SDP says: who made it, on which peer, with which video direction.
fn sdp_of(engine: usize, peer: PeerId, video: bool, n: u64) -> String {
    format!("sim {engine} {} {video} {n}", peer.0)
}

fn parse_sdp(s: &str) -> (usize, PeerId, bool) {
    let p: Vec<&str> = s.split(' ').collect();
    (
        p[1].parse().unwrap(),
        PeerId(p[2].parse().unwrap()),
        p[3] == "true",
    )
}

struct Engine {
    core: Core,
    user: UserId,
    session: SessionId,
    connected: bool,
    /// Steps left until a dropped socket comes back.
    down_for: u32,
    /// Frames to the server, and from it.
    up: VecDeque<ClientFrame>,
    down: VecDeque<ServerFrame>,
    peers: BTreeMap<PeerId, FakePeer>,
    /// Results of SDP-making operations, in order.
    results: VecDeque<(PeerId, Result<String, String>)>,
    /// Peer events (candidates, transport, first media) waiting to be fed.
    peer_events: VecDeque<Input>,
    /// Calls ringing here that the user may accept.
    ringing: Vec<CallId>,
    /// How each call ended here, each time (a member invited back into a call ends it again).
    ended: HashMap<CallId, Vec<EndReason>>,
    /// The reason the server sent for each call.
    told: HashMap<CallId, Vec<EndReason>>,
    kinds: HashMap<CallId, CallKind>,
    replies: HashMap<RequestId, Option<Result<CallId, String>>>,
    next_request: RequestId,
    sdps: u64,
}

struct World {
    server: server::Core,
    engines: Vec<Engine>,
    now_ms: u64,
    base: Instant,
    /// A peer operation that broke a rule.
    broken: Vec<String>,
    /// Calls someone invited more members into (no longer direct).
    grown: std::collections::HashSet<CallId>,
    /// Broken paths that came back.
    restored: usize,
}

#[derive(Debug, Clone)]
enum Step {
    Call(usize, Vec<usize>, bool),
    Accept(usize),
    Hangup(usize),
    Invite(usize, usize),
    Mute(usize, bool, bool),
    Switch(usize, bool),
    Share(usize, bool),
    /// One frame from the server reaches this engine.
    Deliver(usize),
    /// One frame of this engine reaches the server.
    Upload(usize),
    /// A peer operation of this engine finishes.
    PeerResult(usize),
    /// A candidate, a transport change or first media at this engine.
    PeerEvent(usize),
    Drop(usize),
    /// The media paths of this engine break (its address changed, say): `failed` at once, or
    /// `disconnected`.
    PathDrop(usize, bool),
    /// Time passes (ringing runs out, stats tick).
    Wait(u64),
    /// Everything in flight is delivered, and what must hold once nothing moves is checked.
    Settle,
}

fn step(n: usize) -> impl Strategy<Value = Step> {
    let e = 0..n;
    prop_oneof![
        2 => (e.clone(), proptest::collection::vec(0..n, 1..4), any::<bool>())
            .prop_map(|(a, to, v)| Step::Call(a, to, v)),
        6 => e.clone().prop_map(Step::Accept),
        1 => e.clone().prop_map(Step::Hangup),
        1 => (e.clone(), 0..n).prop_map(|(a, b)| Step::Invite(a, b)),
        1 => (e.clone(), any::<bool>(), any::<bool>()).prop_map(|(a, x, y)| Step::Mute(a, x, y)),
        2 => (e.clone(), any::<bool>()).prop_map(|(a, v)| Step::Switch(a, v)),
        1 => (e.clone(), any::<bool>()).prop_map(|(a, on)| Step::Share(a, on)),
        8 => e.clone().prop_map(Step::Deliver),
        8 => e.clone().prop_map(Step::Upload),
        5 => e.clone().prop_map(Step::PeerResult),
        4 => e.clone().prop_map(Step::PeerEvent),
        1 => e.clone().prop_map(Step::Drop),
        1 => (e.clone(), any::<bool>()).prop_map(|(a, f)| Step::PathDrop(a, f)),
        1 => (100u64..4_000).prop_map(Step::Wait),
        2 => Just(Step::Settle),
    ]
}

impl World {
    fn new(n: usize) -> Self {
        let config = server::CoreConfig {
            ring_timeout_ms: 3_000,
            ..Default::default()
        };
        let mut w = World {
            server: server::Core::new(config),
            engines: Vec::new(),
            now_ms: START_MS,
            base: Instant::now(),
            broken: Vec::new(),
            grown: Default::default(),
            restored: 0,
        };
        for i in 0..n {
            let user = UserId::new(format!("u{i}")).unwrap();
            w.server.set_account(
                Self::key(&user),
                Some(server::Account::new(Role::User)),
                w.now_ms,
            );
            w.engines.push(Engine {
                core: Core::new(),
                user,
                session: SessionId::new(format!("s{i}")).unwrap(),
                connected: false,
                down_for: 0,
                up: VecDeque::new(),
                down: VecDeque::new(),
                peers: BTreeMap::new(),
                results: VecDeque::new(),
                peer_events: VecDeque::new(),
                ringing: Vec::new(),
                ended: HashMap::new(),
                told: HashMap::new(),
                kinds: HashMap::new(),
                replies: HashMap::new(),
                next_request: 1,
                sdps: 0,
            });
            let login = w.login(i);
            let session = w.engines[i].session.clone();
            w.server.login(session, login, None, w.now_ms);
            w.engines[i].connected = true;
        }
        w.pump();
        // Everyone is signed in before the first step.
        w.settle();
        w
    }

    fn key(user: &UserId) -> server::UserKey {
        server::UserKey::new(Label::new("sim").unwrap(), user.clone())
    }

    fn login(&self, i: usize) -> server::Login {
        server::Login {
            user: Self::key(&self.engines[i].user),
            role: Role::User,
            display_name: None,
            token_expires_at: START_MS + 86_400_000,
            business: None,
            session_ends_at: START_MS + 86_400_000,
        }
    }

    fn now(&self) -> Instant {
        self.base + Duration::from_millis(self.now_ms - START_MS)
    }

    /// Feeds an engine's core and carries out its outputs (peer operations on fake peers).
    fn feed(&mut self, i: usize, input: Input) {
        let now = self.now();
        self.engines[i].core.handle(input, now);
        self.outputs(i);
    }

    fn outputs(&mut self, i: usize) {
        while let Some(o) = self.engines[i].core.poll_output() {
            match o {
                Output::Send(f) => self.engines[i].up.push_back(f),
                Output::Peer { peer, op } => self.peer_op(i, peer, op),
                Output::Event(e) => self.event(i, e),
                Output::Reply { request, result } => {
                    let e = &mut self.engines[i];
                    match e.replies.get_mut(&request) {
                        Some(slot @ None) => *slot = Some(result),
                        _ => self.broken.push(format!(
                            "u{i}: a reply to request {request} nobody made or twice"
                        )),
                    }
                }
                Output::Capture(_)
                | Output::StopShare(_)
                | Output::Recorder { .. }
                | Output::Tick(_)
                | Output::CheckSignaling => {}
            }
        }
    }

    fn event(&mut self, i: usize, e: Event) {
        let eng = &mut self.engines[i];
        match e {
            Event::Incoming { call_id, kind, .. } => {
                eng.kinds.insert(call_id.clone(), kind);
                eng.ringing.push(call_id);
            }
            Event::Ended {
                call_id, reason, ..
            } => {
                eng.ringing.retain(|c| *c != call_id);
                eng.ended.entry(call_id).or_default().push(reason);
            }
            _ => {}
        }
    }

    fn peer_op(&mut self, i: usize, id: PeerId, op: PeerOp) {
        let eng = &mut self.engines[i];
        let fresh = |offerer| FakePeer {
            offerer,
            have_local_offer: offerer,
            remote_set: !offerer,
            closed: false,
            remote: None,
            video: false,
            gates: Gates::default(),
            candidates: 0,
            down: false,
            restarting: false,
        };
        if !matches!(op, PeerOp::Offer { .. } | PeerOp::Answer { .. }) {
            match eng.peers.get(&id) {
                None => {
                    self.broken
                        .push(format!("u{i}: {op:?} to {id}, never made"));
                    return;
                }
                Some(p) if p.closed => {
                    self.broken.push(format!("u{i}: {op:?} to closed {id}"));
                    return;
                }
                _ => {}
            }
        }
        eng.sdps += 1;
        let n = eng.sdps;
        match op {
            PeerOp::Offer { video, .. } => {
                if eng.peers.contains_key(&id) {
                    self.broken.push(format!("u{i}: {id} made twice"));
                    return;
                }
                let mut p = fresh(true);
                p.video = video;
                eng.peers.insert(id, p);
                eng.results.push_back((id, Ok(sdp_of(i, id, video, n))));
            }
            PeerOp::Answer { offer, video, .. } => {
                if eng.peers.contains_key(&id) {
                    self.broken.push(format!("u{i}: {id} made twice"));
                    return;
                }
                let mut p = fresh(false);
                p.video = video;
                p.remote = Some({
                    let (e, pid, _) = parse_sdp(&offer);
                    (e, pid)
                });
                eng.peers.insert(id, p);
                eng.results.push_back((id, Ok(sdp_of(i, id, video, n))));
            }
            PeerOp::Reoffer { video, ice_restart } => {
                let p = eng.peers.get_mut(&id).unwrap();
                // An ICE restart may replace an offer given up with a dead socket (webrtc
                // allows a new local offer in have-local-offer); nothing else may.
                if !p.offerer || (p.have_local_offer && !ice_restart) {
                    self.broken.push(format!(
                        "u{i}: re-offer on {id} while not stable or not ours"
                    ));
                }
                p.have_local_offer = true;
                p.video = video;
                p.restarting = ice_restart;
                eng.results.push_back((id, Ok(sdp_of(i, id, video, n))));
            }
            PeerOp::AnswerReoffer { offer, video } => {
                let p = eng.peers.get_mut(&id).unwrap();
                let (e, pid, _) = parse_sdp(&offer);
                if p.offerer || p.remote != Some((e, pid)) {
                    self.broken
                        .push(format!("u{i}: re-offer answered on {id} from elsewhere"));
                }
                p.video = video;
                eng.results.push_back((id, Ok(sdp_of(i, id, video, n))));
            }
            PeerOp::SetAnswer(sdp) => {
                let p = eng.peers.get_mut(&id).unwrap();
                if !p.have_local_offer {
                    self.broken
                        .push(format!("u{i}: an answer set on {id} with no offer out"));
                }
                let (e, pid, _) = parse_sdp(&sdp);
                if p.remote.is_some_and(|r| r != (e, pid)) {
                    self.broken
                        .push(format!("u{i}: {id} answered by another connection"));
                }
                p.have_local_offer = false;
                p.remote_set = true;
                p.remote = Some((e, pid));
                // An answer connects both ends, except that a broken path comes back only
                // through an ICE restart.
                let restart = std::mem::take(&mut p.restarting);
                if p.down && !restart {
                    return;
                }
                if std::mem::replace(&mut p.down, false) {
                    self.restored += 1;
                }
                self.connect(i, id, e, pid);
            }
            PeerOp::AddCandidate(_) => {
                let p = &eng.peers[&id];
                if !p.remote_set {
                    self.broken
                        .push(format!("u{i}: a candidate on {id} before its description"));
                }
            }
            PeerOp::Gates(g) => {
                let p = eng.peers.get_mut(&id).unwrap();
                p.gates = g;
            }
            PeerOp::Close { .. } => {
                eng.peers.get_mut(&id).unwrap().closed = true;
            }
        }
    }

    /// The path between engine `i`'s peer `id` and engine `j`'s peer `pj` is up: both ends
    /// hear it.
    fn connect(&mut self, i: usize, id: PeerId, j: usize, pj: PeerId) {
        self.engines[i].peer_events.push_back(Input::Transport {
            peer: id,
            state: TransportState::Connected,
        });
        if let Some(far) = self.engines.get_mut(j).and_then(|e| e.peers.get_mut(&pj))
            && !far.closed
        {
            far.down = false;
            self.engines[j].peer_events.push_back(Input::Transport {
                peer: pj,
                state: TransportState::Connected,
            });
        }
    }

    /// Engine `i`'s media paths break: both ends of each see it.
    fn path_drop(&mut self, i: usize, failed: bool) {
        let state = if failed {
            TransportState::Failed
        } else {
            TransportState::Disconnected
        };
        let ends: Vec<(PeerId, usize, PeerId)> = self.engines[i]
            .peers
            .iter()
            .filter(|(_, p)| !p.closed)
            .filter_map(|(id, p)| p.remote.map(|(j, pj)| (*id, j, pj)))
            .collect();
        for (id, j, pj) in ends {
            // Only a path that exists: negotiated both ways.
            let Some(far) = self.engines[j]
                .peers
                .get_mut(&pj)
                .filter(|f| !f.closed && f.remote == Some((i, id)))
            else {
                continue;
            };
            far.down = true;
            self.engines[j]
                .peer_events
                .push_back(Input::Transport { peer: pj, state });
            if let Some(p) = self.engines[i].peers.get_mut(&id) {
                p.down = true;
            }
            self.engines[i]
                .peer_events
                .push_back(Input::Transport { peer: id, state });
        }
    }

    /// A broken path whose two ends are both open (it must come back).
    fn broken_path(&self) -> Option<String> {
        self.engines.iter().enumerate().find_map(|(i, e)| {
            e.peers
                .iter()
                .filter(|(_, p)| p.down && !p.closed)
                .find_map(|(id, p)| {
                    let (j, pj) = p.remote?;
                    let far = self.engines[j].peers.get(&pj)?;
                    (!far.closed).then(|| format!("u{i} {id} – u{j} {pj}"))
                })
        })
    }

    /// Carries out the server's outputs.
    fn pump(&mut self) {
        for o in self.server.drain() {
            if let server::Output::Send { session, frame } = o
                && let Some(e) = self.engines.iter_mut().find(|e| e.session == session)
            {
                if let ServerMessage::CallEnded(c) = &frame.message {
                    e.told.entry(c.call_id.clone()).or_default().push(c.reason);
                }
                e.down.push_back(frame);
            }
        }
    }

    fn deliver(&mut self, i: usize) {
        if !self.engines[i].connected {
            return;
        }
        let Some(frame) = self.engines[i].down.pop_front() else {
            return;
        };
        let input = match frame.message {
            ServerMessage::Hello(w) => signed_in(w),
            _ => Input::Frame(Box::new(frame)),
        };
        self.feed(i, input);
    }

    fn upload(&mut self, i: usize) {
        if !self.engines[i].connected {
            return;
        }
        let Some(frame) = self.engines[i].up.pop_front() else {
            return;
        };
        let session = self.engines[i].session.clone();
        self.server.frame(&session, frame, self.now_ms);
        self.pump();
    }

    fn peer_result(&mut self, i: usize) {
        let Some((peer, result)) = self.engines[i].results.pop_front() else {
            return;
        };
        // A connection gathers a candidate or two once its local description is set.
        let eng = &mut self.engines[i];
        if let Some(p) = eng.peers.get_mut(&peer)
            && p.candidates == 0
        {
            p.candidates = 2;
            for n in 0..2 {
                eng.peer_events.push_back(Input::LocalCandidate {
                    peer,
                    candidate: Some(IceCandidate {
                        candidate: CandidateLine::new(format!(
                            "candidate:{n} 1 udp 1 10.0.0.{i} 9 typ host"
                        ))
                        .unwrap(),
                        sdp_mid: None,
                        sdp_mline_index: Some(0),
                        username_fragment: None,
                    }),
                });
            }
            eng.peer_events.push_back(Input::LocalCandidate {
                peer,
                candidate: None,
            });
        }
        self.feed(i, Input::LocalSdp { peer, result });
    }

    fn peer_event(&mut self, i: usize) {
        let Some(input) = self.engines[i].peer_events.pop_front() else {
            return;
        };
        // Events of a connection closed meanwhile still arrive, as webrtc-rs's would.
        if let Input::Transport { peer, .. } = &input {
            let (peer, at) = (*peer, self.now());
            self.engines[i].peer_events.push_back(Input::FirstMedia {
                peer,
                kind: "audio",
                at,
            });
        }
        self.feed(i, input);
    }

    fn drop_socket(&mut self, i: usize) {
        if !self.engines[i].connected {
            return;
        }
        self.engines[i].connected = false;
        self.engines[i].down_for = 20;
        let session = self.engines[i].session.clone();
        self.server.disconnected(&session, self.now_ms);
        self.pump();
        self.feed(i, Input::SignalingLost("cut".into()));
    }

    fn reconnect(&mut self, i: usize) {
        let login = self.login(i);
        let session = self.engines[i].session.clone();
        self.engines[i].connected = true;
        // The client says hello (resume) before anything it queued.
        self.server
            .resume(&session, login, None, None, self.now_ms)
            .expect("resumed within the window");
        // The welcome first, then what was on its way before the drop, then what the server
        // kept for the session while it was away.
        let before = std::mem::take(&mut self.engines[i].down);
        self.pump();
        let after = std::mem::take(&mut self.engines[i].down);
        let (hello, kept): (Vec<_>, Vec<_>) = after
            .into_iter()
            .partition(|f| matches!(f.message, ServerMessage::Hello(_)));
        let e = &mut self.engines[i];
        e.down.extend(hello);
        e.down.extend(before);
        e.down.extend(kept);
    }

    fn tick(&mut self, ms: u64) {
        self.now_ms += ms;
        let now = self.now();
        self.server.handle_timeout(self.now_ms);
        self.pump();
        for i in 0..self.engines.len() {
            if self.engines[i]
                .core
                .poll_timeout()
                .is_some_and(|t| t <= now)
            {
                self.engines[i].core.handle_timeout(now);
                self.outputs(i);
            }
            if !self.engines[i].connected {
                self.engines[i].down_for = self.engines[i].down_for.saturating_sub(1);
                if self.engines[i].down_for == 0 {
                    self.reconnect(i);
                }
            }
        }
    }

    fn user_call(&self, i: usize) -> Option<CallId> {
        self.engines[i].core.calls().next().cloned()
    }

    fn run(&mut self, s: Step) {
        let n = self.engines.len();
        match s {
            Step::Call(a, to, video) => {
                let to: Vec<UserId> = to
                    .into_iter()
                    .filter(|t| *t != a && *t < n)
                    .map(|t| self.engines[t].user.clone())
                    .collect();
                if to.is_empty() {
                    return;
                }
                let request = self.engines[a].next_request;
                self.engines[a].next_request += 1;
                self.engines[a].replies.insert(request, None);
                let media = if video {
                    CallMedia::Video
                } else {
                    CallMedia::Audio
                };
                self.feed(a, Input::Call { request, to, media });
            }
            Step::Accept(a) => {
                if let Some(c) = self.engines[a].ringing.pop() {
                    self.feed(a, Input::Accept(c));
                }
            }
            Step::Hangup(a) => {
                if let Some(c) = self.user_call(a) {
                    self.feed(a, Input::Hangup(c));
                }
            }
            Step::Invite(a, b) => {
                if let Some(c) = self.user_call(a) {
                    self.grown.insert(c.clone());
                    let user = self.engines[b].user.clone();
                    self.feed(a, Input::Invite(c, vec![user]));
                }
            }
            Step::Mute(a, audio, video) => {
                if let Some(call_id) = self.user_call(a) {
                    self.feed(
                        a,
                        Input::Mute {
                            call_id,
                            audio,
                            video,
                        },
                    );
                }
            }
            Step::Switch(a, video) => {
                if let Some(c) = self.user_call(a) {
                    let media = if video {
                        CallMedia::Video
                    } else {
                        CallMedia::Audio
                    };
                    self.feed(a, Input::SwitchMedia(c, media));
                }
            }
            Step::Share(a, on) => {
                if let Some(c) = self.user_call(a) {
                    let input = if on && self.engines[a].core.media_on(&c) {
                        Input::ShareStarted(c)
                    } else {
                        Input::StopShare {
                            call_id: c,
                            reason: None,
                        }
                    };
                    self.feed(a, input);
                }
            }
            Step::Settle => self.settle(),
            Step::Deliver(a) => self.deliver(a),
            Step::Upload(a) => self.upload(a),
            Step::PeerResult(a) => self.peer_result(a),
            Step::PeerEvent(a) => self.peer_event(a),
            Step::Drop(a) => self.drop_socket(a),
            Step::PathDrop(a, failed) => self.path_drop(a, failed),
            Step::Wait(ms) => {
                // Long waits only while every socket is up and nothing is on the wire: a drop
                // or a slow frame stays shorter than any timer that would end a call.
                if self
                    .engines
                    .iter()
                    .all(|e| e.connected && e.up.is_empty() && e.down.is_empty())
                {
                    self.tick(ms);
                    return;
                }
            }
        }
        self.tick(10);
    }

    /// Delivers everything in flight, with time moving slowly, until nothing moves.
    fn settle(&mut self) {
        for _ in 0..10_000 {
            let busy = self.engines.iter().any(|e| {
                !e.connected
                    || !e.up.is_empty()
                    || !e.down.is_empty()
                    || !e.results.is_empty()
                    || !e.peer_events.is_empty()
            });
            // A broken path waits for its restart timer.
            if !busy && self.broken_path().is_none() {
                return;
            }
            for i in 0..self.engines.len() {
                self.deliver(i);
                self.upload(i);
                self.peer_result(i);
                self.peer_event(i);
            }
            self.tick(10);
        }
        panic!(
            "the world did not settle (a path still broken: {:?})",
            self.broken_path()
        );
    }

    /// Every two members with media on in the same call are connected, both ways, on the
    /// call's media.
    fn check_mesh(&self) -> Result<Reached, String> {
        let mut reached = Reached::default();
        for (x, ex) in self.engines.iter().enumerate() {
            for call in ex.core.calls().filter(|c| ex.core.media_on(c)) {
                for (y, ey) in self.engines.iter().enumerate() {
                    if x == y || !ey.core.media_on(call) {
                        continue;
                    }
                    let px = ex
                        .core
                        .peer_of(call, &ey.user)
                        .ok_or(format!("u{x} has no peer to u{y} in {call}"))?;
                    let py = ey
                        .core
                        .peer_of(call, &ex.user)
                        .ok_or(format!("u{y} has no peer to u{x} in {call}"))?;
                    let (fx, fy) = (&ex.peers[&px], &ey.peers[&py]);
                    if fx.closed || fy.closed {
                        return Err(format!("u{x}–u{y} in {call}: a closed peer is in use"));
                    }
                    if fx.remote != Some((y, py)) || fy.remote != Some((x, px)) {
                        return Err(format!(
                            "u{x}–u{y} in {call}: not one connection ({:?} / {:?})",
                            fx.remote, fy.remote
                        ));
                    }
                    if fx.have_local_offer || fy.have_local_offer {
                        return Err(format!("u{x}–u{y} in {call}: an offer still out"));
                    }
                    let up =
                        |e: &Engine, p: PeerId| e.core.peers.get(&p).is_some_and(|s| s.path.up);
                    if fx.down || fy.down || !up(ex, px) || !up(ey, py) {
                        return Err(format!("u{x}–u{y} in {call}: the media path is not back"));
                    }
                    if fx.offerer == fy.offerer {
                        return Err(format!("u{x}–u{y} in {call}: both sides offered"));
                    }
                    let media_x = ex.core.calls.get(call).map(|c| c.media);
                    let media_y = ey.core.calls.get(call).map(|c| c.media);
                    if media_x != media_y {
                        return Err(format!(
                            "u{x}–u{y} in {call}: {media_x:?} here, {media_y:?} there"
                        ));
                    }
                    let video = media_x == Some(CallMedia::Video);
                    if fx.video != video || fy.video != video {
                        return Err(format!(
                            "u{x}–u{y} in {call}: negotiated video {}/{} in a {media_x:?} call",
                            fx.video, fy.video
                        ));
                    }
                    if !fx.gates.sending || !fy.gates.sending {
                        return Err(format!(
                            "u{x}–u{y} in {call}: media gated in an answered call"
                        ));
                    }
                    reached.pairs += 1;
                    if !fx.offerer && ex.core.calls.get(call).is_some_and(|c| c.joined.len() > 2) {
                        reached.mesh_pairs += 1;
                    }
                }
            }
        }
        Ok(reached)
    }

    /// Once everything is delivered: each engine ended each call as often, and with the
    /// reasons, the server told it.
    fn check_endings(&self) -> Result<(), String> {
        for (i, e) in self.engines.iter().enumerate() {
            for call in e.ended.keys().chain(e.told.keys()) {
                let (ended, told) = (e.ended.get(call), e.told.get(call));
                if ended.map(Vec::as_slice).unwrap_or_default()
                    != told.map(Vec::as_slice).unwrap_or_default()
                {
                    return Err(format!(
                        "u{i} ended {call} with {ended:?}, the server said {told:?}"
                    ));
                }
            }
        }
        // Both sides of a direct call end with the same code.
        for (i, a) in self.engines.iter().enumerate() {
            for (call, ra) in &a.ended {
                for b in self.engines.iter().skip(i + 1) {
                    if let (Some(ra), Some(rb)) =
                        (ra.last(), b.ended.get(call).and_then(|r| r.last()))
                        && !self.grown.contains(call)
                        && b.kinds.get(call).or(a.kinds.get(call)) == Some(&CallKind::Direct)
                        && ra.code != rb.code
                    {
                        return Err(format!(
                            "{call}: {:?} on one side, {:?} on the other",
                            ra, rb
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn check_quiet(&self) -> Result<(), String> {
        for (i, e) in self.engines.iter().enumerate() {
            if let Some(c) = e.core.calls().next() {
                return Err(format!("u{i} is still in {c}"));
            }
            if let Some((id, _)) = e.peers.iter().find(|(_, p)| !p.closed) {
                return Err(format!("u{i}: {id} left open"));
            }
            if let Some((r, _)) = e.replies.iter().find(|(_, r)| r.is_none()) {
                return Err(format!("u{i}: request {r} never answered"));
            }
            if let Some(t) = e.core.poll_timeout() {
                return Err(format!(
                    "u{i}: a timer left behind ({:?} ahead)",
                    t - self.now()
                ));
            }
        }
        Ok(())
    }
}

fn signed_in(w: Welcome) -> Input {
    Input::SignedIn {
        user: w.user,
        session: w.session_id,
        resumed: w.resumed,
        resume_window: Duration::from_secs(u64::from(w.resume_window_secs)),
    }
}

/// A start (nothing, or a call of everyone by member 0, answered by some) and then random
/// steps: group calls are rare from random steps alone.
fn scenario() -> impl Strategy<Value = (usize, Vec<Step>)> {
    (2usize..=6).prop_flat_map(|n| {
        let start = prop_oneof![
            Just(Vec::new()),
            (
                any::<bool>(),
                proptest::collection::vec(any::<bool>(), n - 1)
            )
                .prop_map(move |(video, answers)| {
                    let mut s = vec![Step::Call(0, (1..n).collect(), video), Step::Settle];
                    s.extend(
                        answers
                            .iter()
                            .enumerate()
                            .filter(|(_, a)| **a)
                            .map(|(i, _)| Step::Accept(i + 1)),
                    );
                    s.push(Step::Settle);
                    s
                }),
        ];
        (Just(n), start, proptest::collection::vec(step(n), 1..150)).prop_map(
            |(n, mut start, steps)| {
                start.extend(steps);
                (n, start)
            },
        )
    })
}

/// What a scenario got to, to show the simulation reaches what it checks.
#[derive(Debug, Default, Clone, Copy)]
struct Reached {
    /// Connected member pairs checked.
    pairs: usize,
    /// Of them, in calls of three or more.
    mesh_pairs: usize,
    /// Broken media paths that came back.
    restored: usize,
}

fn play(n: usize, steps: &[Step]) -> Result<Reached, String> {
    let mut w = World::new(n);
    let mut reached = Reached::default();
    let mut checkpoint = |w: &mut World| -> Result<(), String> {
        w.settle();
        let r = w.check_mesh()?;
        reached.pairs += r.pairs;
        reached.mesh_pairs += r.mesh_pairs;
        w.check_endings()
    };
    for s in steps {
        if matches!(s, Step::Settle) {
            checkpoint(&mut w)?;
        }
        w.run(s.clone());
        if let Some(b) = w.broken.first() {
            return Err(b.clone());
        }
    }
    checkpoint(&mut w)?;
    // Everyone hangs up whatever they are in, and things settle again.
    for i in 0..n {
        let calls: Vec<CallId> = w.engines[i].core.calls().cloned().collect();
        for c in calls {
            w.feed(i, Input::Hangup(c));
        }
    }
    w.settle();
    // Timers that were still to run out (ending, ticks) do.
    for _ in 0..10 {
        w.tick(1_000);
        w.settle();
    }
    if let Some(b) = w.broken.first() {
        return Err(b.clone());
    }
    w.check_endings()?;
    w.check_quiet()?;
    reached.restored = w.restored;
    Ok(reached)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(1_000),
        ..ProptestConfig::default()
    })]

    #[test]
    fn members_in_random_interleavings_stay_connected_and_end_alike((n, steps) in scenario()) {
        if let Err(e) = play(n, &steps) {
            return Err(TestCaseError::fail(e));
        }
    }
}

/// The random scenarios reach what they check: connected pairs, and pairs in group calls.
#[test]
fn the_scenarios_reach_answered_calls_and_group_calls() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut cases, mut with_pairs, mut with_mesh, mut with_restored) = (0, 0, 0, 0);
    for _ in 0..300 {
        let (n, steps) = scenario().new_tree(&mut runner).unwrap().current();
        let r = play(n, &steps).unwrap();
        cases += 1;
        with_pairs += usize::from(r.pairs > 0);
        with_mesh += usize::from(r.mesh_pairs > 0);
        with_restored += usize::from(r.restored > 0);
    }
    eprintln!(
        "{cases} scenarios: {with_pairs} with answered calls, {with_mesh} with group calls, \
         {with_restored} with a broken media path restored"
    );
    assert!(with_pairs * 2 > cases, "{with_pairs} of {cases}");
    assert!(with_mesh * 10 > cases, "{with_mesh} of {cases}");
    assert!(with_restored * 10 > cases, "{with_restored} of {cases}");
}

/// Member 0 calls member 1, who answers.
fn answered_call() -> Vec<Step> {
    use Step::*;
    vec![Call(0, vec![1], false), Settle, Accept(1), Settle]
}

#[test]
fn two_engines_call_answer_switch_and_hang_up() {
    let mut steps = answered_call();
    steps.extend([Step::Switch(0, true), Step::Settle]);
    let reached = play(2, &steps).unwrap();
    assert!(reached.pairs >= 2, "{reached:?}");
}

#[test]
fn crossing_switches_agree() {
    let mut w = World::new(2);
    for s in answered_call() {
        w.run(s);
    }
    w.settle();
    w.run(Step::Switch(0, true));
    w.run(Step::Switch(1, false));
    w.settle();
    assert_eq!(w.check_mesh().unwrap().pairs, 2);
}
