//! The engine's one task: it owns the calls, their state machines and peers, and turns server
//! frames, user commands, peer events and timers into machine inputs and their outputs into
//! actions. Nothing else mutates call state, so there are no locks around it.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use switchboard_protocol::{
    Accept, CallId, CallMedia, CallRef, ClientFrame, ClientMessage, IceToPeer, Invite,
    InviteMembers, Invitee, MediaState, MediaStateUpdate, MemberState, RequestId, Sdp, SdpKind,
    SdpToPeer, ServerFrame, ServerMessage, SwitchMedia, UserId,
};
use tokio::sync::{mpsc, oneshot};
use webrtc::peer_connection::RTCPeerConnectionState;

use crate::engine::{Command, EngineConfig, Event};
use crate::machine::{CallMachine, ENDING_TIMEOUT, Input, Output, Request};
use crate::peers::{Peer, PeerEvent, PeerFactory};
use crate::pipeline::Capture;
use crate::signaling::{self, SignalEvent, Signaling};

mod signal;

#[derive(Debug, Clone)]
pub enum Timer {
    Ending(CallId),
    ResumeDeadline(u64),
    StatsTick,
}

/// Where a peer belongs: a call, or an invite the server has not confirmed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owner {
    Call(CallId),
    Invite(RequestId),
}

struct Call {
    machine: CallMachine,
    media: CallMedia,
    peers: HashMap<UserId, Peer>,
    /// Members known to have joined (for the mesh rule).
    joined: Vec<UserId>,
    answered: Option<Instant>,
    muted: (bool, bool),
    media_on: bool,
    /// The stats of members who left and, once media stopped, of everyone (for `Ended`).
    final_stats: Vec<crate::stats::PeerStats>,
    /// Our local recording of the call, if one runs.
    recording: Option<crate::recording::Recording>,
    /// We share a screen in this call (`Actor::share`).
    sharing: bool,
}

struct PendingInvite {
    peers: HashMap<UserId, Peer>,
    media: CallMedia,
    reply: oneshot::Sender<Result<CallId, String>>,
}

pub struct Actor {
    cmd_tx: mpsc::UnboundedSender<Command>,
    events: mpsc::UnboundedSender<Event>,
    signaling: Signaling,
    me: Option<UserId>,
    factory: PeerFactory,
    calls: HashMap<CallId, Call>,
    invites: HashMap<RequestId, PendingInvite>,
    owners: HashMap<u64, Owner>,
    next_request: RequestId,
    next_key: u64,
    /// Bumped at each socket loss; a resume deadline for an older loss is ignored.
    loss_epoch: u64,
    resume_window: Duration,
    connected: bool,
    /// Our screen share (one at a time), its call and its number.
    share: Option<(CallId, u64, crate::share::ScreenShare)>,
    shares: u64,
    /// The lowest screen-encoder bitrate among the sharing call's peers (the share's frame
    /// rate follows it).
    screen_budget: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Actor {
    pub fn spawn(
        cfg: EngineConfig,
        cmd_tx: mpsc::UnboundedSender<Command>,
        mut cmd_rx: mpsc::UnboundedReceiver<Command>,
        events: mpsc::UnboundedSender<Event>,
    ) {
        let (sig_tx, mut sig_rx) = mpsc::unbounded_channel();
        let (peer_tx, mut peer_rx) = mpsc::unbounded_channel();
        let signaling = signaling::spawn(cfg.server.clone(), cfg.token.clone(), sig_tx);
        let capture = Capture::new(
            cfg.video_profile,
            cfg.camera.clone(),
            cfg.microphone.clone(),
            cfg.speaker.clone(),
            cfg.audio_processing,
            events.clone(),
        );
        let mut actor = Actor {
            factory: PeerFactory {
                ice_servers: Vec::new(),
                bind: cfg.media_bind.clone(),
                events: peer_tx,
                capture,
                advertise: cfg.advertise.clone(),
            },
            cmd_tx,
            events,
            signaling,
            me: None,
            calls: HashMap::new(),
            invites: HashMap::new(),
            owners: HashMap::new(),
            next_request: 1,
            next_key: 1,
            loss_epoch: 0,
            resume_window: Duration::from_secs(20),
            connected: false,
            share: None,
            shares: 0,
            screen_budget: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(
                crate::peer::START_BPS as u64,
            )),
        };
        tokio::spawn(async move {
            actor.arm(Duration::from_secs(1), Timer::StatsTick);
            loop {
                tokio::select! {
                    c = cmd_rx.recv() => match c {
                        Some(Command::Shutdown) | None => {
                            actor.shutdown().await;
                            return;
                        }
                        Some(c) => actor.command(c).await,
                    },
                    Some(ev) = sig_rx.recv() => actor.signal(ev).await,
                    Some(ev) = peer_rx.recv() => actor.peer_event(ev).await,
                }
            }
        });
    }

    fn emit(&self, e: Event) {
        let _ = self.events.send(e);
    }

    fn send(&self, message: ClientMessage) {
        self.signaling.send(ClientFrame::new(message));
    }

    fn arm(&self, after: Duration, timer: Timer) {
        let tx = self.cmd_tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let _ = tx.send(Command::Timer(timer));
        });
    }

    fn key(&mut self, owner: Owner) -> u64 {
        let k = self.next_key;
        self.next_key += 1;
        self.owners.insert(k, owner);
        k
    }

    // ---- commands ---------------------------------------------------------------------------

    async fn command(&mut self, c: Command) {
        match c {
            Command::Call { to, media, reply } => self.place_call(to, media, reply).await,
            Command::Accept(id) => self.input(&id, Input::LocalAccept).await,
            Command::Enqueue {
                business,
                media,
                name,
                reply,
            } => {
                let request = self.next_request;
                self.next_request += 1;
                // Like an invite with nobody to offer to yet: the agent who takes the call
                // offers once they join (the mesh rule), while we wait.
                self.invites.insert(
                    request,
                    PendingInvite {
                        peers: HashMap::new(),
                        media,
                        reply,
                    },
                );
                self.signaling.send(ClientFrame::request(
                    request,
                    ClientMessage::Enqueue(switchboard_protocol::Enqueue {
                        business,
                        media,
                        priority: 0,
                        name,
                        offer: None,
                        extra: None,
                    }),
                ));
            }
            Command::Hangup(id) => self.input(&id, Input::LocalHangup).await,
            Command::Mute {
                call_id,
                audio,
                video,
            } => {
                if let Some(call) = self.calls.get_mut(&call_id) {
                    call.muted = (audio, video);
                    Self::apply_gates(call);
                    let state = Self::media_state(call);
                    self.send(ClientMessage::MediaState(MediaStateUpdate {
                        call_id,
                        state,
                    }));
                }
            }
            Command::SwitchMedia(call_id, media) => {
                if let Some(call) = self.calls.get_mut(&call_id) {
                    call.media = media;
                    Self::apply_gates(call);
                    self.send(ClientMessage::SwitchMedia(SwitchMedia {
                        call_id: call_id.clone(),
                        media,
                    }));
                    self.renegotiate(&call_id, None).await;
                }
            }
            Command::SetProfile(p) => {
                let _ = self.factory.capture.profile.send(p);
            }
            Command::SetCamera(id, reply) => {
                let r = switchboard_media::camera::check(&id).map(|_| {
                    let _ = self.factory.capture.camera.send(id);
                });
                let _ = reply.send(r.map_err(|e| e.to_string()));
            }
            Command::SetMicrophone(id, reply) => {
                // Open it here first so that a bad id is refused and the old device stays.
                let r = switchboard_media::Microphone::open(&id).map(|_| {
                    let _ = self.factory.capture.microphone.send(id);
                });
                let _ = reply.send(r.map_err(|e| e.to_string()));
            }
            Command::SetSpeaker(id, reply) => {
                let r = switchboard_media::Speaker::open(&id).map(|_| {
                    let _ = self.factory.capture.speaker.send(id);
                });
                let _ = reply.send(r.map_err(|e| e.to_string()));
            }
            Command::ResetDecoder(call_id) => {
                if let Some(call) = self.calls.get(&call_id) {
                    for p in call.peers.values() {
                        p.shared.reset_decoder.store(true, Ordering::Relaxed);
                    }
                }
            }
            Command::Stats(call_id, reply) => {
                let _ = reply.send(self.stats(&call_id));
            }
            Command::LocalFrames(reply) => {
                self.factory.capture.start();
                let _ = reply.send(self.factory.capture.video.subscribe());
            }
            Command::Frames(call_id, user, kind, reply) => {
                let rx = self
                    .calls
                    .get(&call_id)
                    .and_then(|c| c.peers.get(&user))
                    .map(|p| match kind {
                        crate::pipeline::VideoKind::Camera => p.shared.frames.subscribe(),
                        crate::pipeline::VideoKind::Screen => p.shared.screen_frames.subscribe(),
                    });
                let _ = reply.send(rx);
            }
            Command::ShareScreen {
                call_id,
                source,
                capturer,
                reply,
            } => {
                let r = self.start_share(&call_id, source, capturer);
                let _ = reply.send(r);
            }
            Command::StopScreenShare(call_id) => {
                if self.share.as_ref().is_some_and(|(c, ..)| *c == call_id) {
                    self.stop_share(None);
                }
            }
            Command::ScreenEnded(number, reason) => {
                if self.share.as_ref().is_some_and(|(_, n, _)| *n == number) {
                    self.stop_share(Some(reason));
                }
            }
            Command::Raw(m) => self.send(m),
            Command::SendText(call_id, text) => {
                for ch in self.channels(&call_id, None) {
                    if let Err(e) = ch.send_text(&text) {
                        tracing::warn!("{e}");
                    }
                }
            }
            Command::SendFile {
                call_id,
                to,
                name,
                data,
                reply,
            } => {
                let Some(ch) = self.channels(&call_id, Some(&to)).into_iter().next() else {
                    let _ = reply.send(Err(format!("{to} has no data channel in this call")));
                    return;
                };
                let events = self.events.clone();
                tokio::spawn(async move {
                    let id = format!("{:016x}", rand::random::<u64>());
                    let notify = move |e: crate::data::DataEvent| {
                        let _ = events.send(data_event(call_id.clone(), to.clone(), e));
                    };
                    let r = ch.send_file(&id, &name, &data, &notify).await;
                    let _ = reply.send(r.map_err(|e| e.to_string()));
                });
            }
            Command::AnswerFile {
                call_id,
                from,
                id,
                accept,
                reply,
            } => {
                let answered = self
                    .channels(&call_id, Some(&from))
                    .iter()
                    .any(|ch| ch.answer(&id, accept));
                let _ = reply.send(if answered {
                    Ok(())
                } else {
                    Err(format!("{from} offers no such file now"))
                });
            }
            Command::Invite(call_id, users) => self.invite(&call_id, users).await,
            Command::StartRecording {
                call_id,
                path,
                options,
                reply,
            } => {
                let r = self.start_recording(&call_id, &path, options);
                let _ = reply.send(r);
            }
            Command::PauseRecording(call_id, paused) => {
                if let Some(call) = self.calls.get_mut(&call_id)
                    && let Some(rec) = call.recording.as_mut()
                {
                    rec.pause(paused);
                    self.tell_media_state(&call_id);
                }
            }
            Command::StopRecording(call_id, reply) => {
                let summary = self.stop_recording(&call_id).await;
                let _ = reply.send(summary);
            }
            Command::CutSignaling => self.signaling.cut(),
            Command::Timer(t) => self.timer(t).await,
            Command::Shutdown => {}
        }
    }

    /// The data channels of a call's peers (or of one member).
    fn channels(&self, call_id: &CallId, to: Option<&UserId>) -> Vec<crate::data::Channel> {
        self.calls
            .get(call_id)
            .map(|c| {
                c.peers
                    .values()
                    .filter(|p| to.is_none_or(|u| &p.user == u))
                    .filter_map(|p| crate::pipeline::lock(&p.shared.data).clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn stats(&self, call_id: &CallId) -> Vec<crate::stats::PeerStats> {
        self.calls
            .get(call_id)
            .map(|c| c.peers.values().map(|p| p.shared.stats()).collect())
            .unwrap_or_default()
    }

    fn media_state(call: &Call) -> MediaState {
        MediaState {
            audio: !call.muted.0,
            video: !call.muted.1 && call.media == CallMedia::Video,
            screen: call.sharing,
            // Paused: nothing is being recorded, and the others see that.
            recording: call.recording.as_ref().is_some_and(|r| !r.paused),
        }
    }

    fn tell_media_state(&self, call_id: &CallId) {
        if let Some(call) = self.calls.get(call_id) {
            self.send(ClientMessage::MediaState(MediaStateUpdate {
                call_id: call_id.clone(),
                state: Self::media_state(call),
            }));
        }
    }

    fn start_recording(
        &mut self,
        call_id: &CallId,
        path: &std::path::Path,
        options: switchboard_media::RecordOptions,
    ) -> Result<(), String> {
        let call = self
            .calls
            .get_mut(call_id)
            .ok_or_else(|| format!("no call {call_id}"))?;
        if !call.media_on {
            return Err("the call has not been answered yet".into());
        }
        if call.recording.is_some() {
            return Err("this call is being recorded already".into());
        }
        let mut rec = crate::recording::Recording::start(path, options, &self.factory.capture)
            .map_err(|e| e.to_string())?;
        Self::watch_members(&mut rec, &call.peers);
        call.recording = Some(rec);
        self.tell_media_state(call_id);
        Ok(())
    }

    /// Adds every member's camera and screen to the recording (each once).
    fn watch_members(rec: &mut crate::recording::Recording, peers: &HashMap<UserId, Peer>) {
        for (user, p) in peers {
            rec.watch(
                user,
                p.shared.frames.subscribe(),
                p.shared.screen_frames.subscribe(),
            );
        }
    }

    async fn stop_recording(
        &mut self,
        call_id: &CallId,
    ) -> Option<switchboard_media::RecordingSummary> {
        let rec = self.calls.get_mut(call_id)?.recording.take()?;
        let summary = rec.stop().await?;
        self.tell_media_state(call_id);
        self.emit(Event::RecordingStopped {
            call_id: call_id.clone(),
            summary: summary.clone(),
        });
        Some(summary)
    }

    /// Shares an opened screen or window in this call.
    fn start_share(
        &mut self,
        call_id: &CallId,
        source: String,
        capturer: switchboard_media::screen::ScreenCapturer,
    ) -> Result<(), String> {
        if !self.calls.get(call_id).is_some_and(|c| c.media_on) {
            return Err(format!("no answered call {call_id} to share a screen in"));
        }
        // One share at a time: picking another source (or another call) replaces it.
        if self.share.is_some() {
            self.stop_share(None);
        }
        self.shares += 1;
        let number = self.shares;
        let cmd = self.cmd_tx.clone();
        let share = crate::share::ScreenShare::start(
            source,
            capturer,
            self.factory.capture.screen.clone(),
            self.screen_budget.clone(),
            move |e| {
                let _ = cmd.send(Command::ScreenEnded(number, e.to_string()));
            },
        )
        .map_err(|e| format!("cannot start the screen capture: {e}"))?;
        self.share = Some((call_id.clone(), number, share));
        if let Some(call) = self.calls.get_mut(call_id) {
            call.sharing = true;
            Self::apply_gates(call);
        }
        self.tell_media_state(call_id);
        Ok(())
    }

    /// Ends our screen share (`reason`: why, when it was not our choice) and tells the others.
    fn stop_share(&mut self, reason: Option<String>) {
        let Some((call_id, _, share)) = self.share.take() else {
            return;
        };
        drop(share);
        if let Some(call) = self.calls.get_mut(&call_id) {
            call.sharing = false;
            Self::apply_gates(call);
            if let Some(rec) = call.recording.as_mut() {
                rec.own_screen_off();
            }
        }
        self.tell_media_state(&call_id);
        self.emit(Event::ScreenShareEnded { call_id, reason });
    }

    /// What each peer may send now: nothing before the answer, video only in a video call and
    /// while the camera is not muted, the screen while we share.
    fn apply_gates(call: &Call) {
        for p in call.peers.values() {
            p.set_sending(call.media_on);
            p.shared
                .screen_on
                .store(call.media_on && call.sharing, Ordering::Relaxed);
            p.shared.audio_muted.store(call.muted.0, Ordering::Relaxed);
            p.shared.video_muted.store(
                call.muted.1 || call.media == CallMedia::Audio,
                Ordering::Relaxed,
            );
        }
    }

    async fn place_call(
        &mut self,
        to: Vec<UserId>,
        media: CallMedia,
        reply: oneshot::Sender<Result<CallId, String>>,
    ) {
        let request = self.next_request;
        self.next_request += 1;
        let mut peers = HashMap::new();
        let mut invitees = Vec::new();
        for user in to {
            let key = self.key(Owner::Invite(request));
            match self
                .factory
                .offerer(key, &user, media == CallMedia::Video)
                .await
            {
                Ok((peer, offer)) => {
                    invitees.push(Invitee {
                        user: user.clone(),
                        offer: Sdp::new(offer).ok(),
                    });
                    peers.insert(user, peer);
                }
                Err(e) => {
                    for (_, p) in peers {
                        p.close().await;
                    }
                    let _ = reply.send(Err(format!("cannot set up media: {e}")));
                    return;
                }
            }
        }
        self.invites.insert(
            request,
            PendingInvite {
                peers,
                media,
                reply,
            },
        );
        self.signaling.send(ClientFrame::request(
            request,
            ClientMessage::Invite(Invite {
                to: invitees,
                media,
                extra: None,
            }),
        ));
    }

    /// Adds members to a call in progress, each invited with our offer.
    async fn invite(&mut self, call_id: &CallId, users: Vec<UserId>) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let video = call.media == CallMedia::Video;
        let users: Vec<UserId> = users
            .into_iter()
            .filter(|u| !call.peers.contains_key(u) && Some(u) != self.me.as_ref())
            .collect();
        let mut invitees = Vec::new();
        for user in users {
            let key = self.key(Owner::Call(call_id.clone()));
            match self.factory.offerer(key, &user, video).await {
                Ok((peer, offer)) => {
                    invitees.push(Invitee {
                        user: user.clone(),
                        offer: Sdp::new(offer).ok(),
                    });
                    if let Some(call) = self.calls.get_mut(call_id) {
                        call.peers.insert(user, peer);
                        Self::apply_gates(call);
                    }
                }
                Err(e) => self.emit(Event::Error {
                    call_id: Some(call_id.clone()),
                    message: format!("cannot invite {user}: {e}"),
                }),
            }
        }
        if !invitees.is_empty() {
            self.send(ClientMessage::InviteMembers(InviteMembers {
                call_id: call_id.clone(),
                to: invitees,
            }));
        }
    }

    // ---- the machine ------------------------------------------------------------------------

    async fn input(&mut self, call_id: &CallId, input: Input) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let outputs = call.machine.handle(input);
        for o in outputs {
            self.output(call_id, o).await;
        }
    }

    async fn output(&mut self, call_id: &CallId, o: Output) {
        match o {
            Output::Send(Request::Accept) => {
                let media = self.calls.get(call_id).map(|c| c.media);
                self.send(ClientMessage::Accept(Accept {
                    call_id: call_id.clone(),
                    media,
                    answer: None,
                }));
                if let Some(call) = self.calls.get_mut(call_id) {
                    call.answered = Some(Instant::now());
                }
                self.mesh(call_id).await;
            }
            Output::Send(Request::Hangup) => self.send(ClientMessage::Hangup(CallRef {
                call_id: call_id.clone(),
            })),
            Output::StartMedia => {
                if let Some(call) = self.calls.get_mut(call_id) {
                    call.media_on = true;
                    call.answered.get_or_insert_with(Instant::now);
                    Self::apply_gates(call);
                }
                self.factory.capture.start();
            }
            Output::StopMedia => {
                if self.share.as_ref().is_some_and(|(c, ..)| c == call_id) {
                    self.stop_share(None);
                }
                // The recording ends with the media: its last fragment is written now.
                self.stop_recording(call_id).await;
                let peers: Vec<Peer> = match self.calls.get_mut(call_id) {
                    Some(call) => {
                        call.media_on = false;
                        let now: Vec<_> = call.peers.values().map(|p| p.shared.stats()).collect();
                        call.final_stats.extend(now);
                        call.peers.drain().map(|(_, p)| p).collect()
                    }
                    None => Vec::new(),
                };
                for p in peers {
                    self.owners.remove(&p.key);
                    p.close().await;
                }
                if !self.calls.values().any(|c| c.media_on) {
                    self.factory.capture.stop();
                }
            }
            Output::ArmEndingTimer => self.arm(ENDING_TIMEOUT, Timer::Ending(call_id.clone())),
            Output::Ended(reason) => {
                if let Some(call) = self.calls.remove(call_id) {
                    self.owners
                        .retain(|_, o| o != &Owner::Call(call_id.clone()));
                    self.emit(Event::Ended {
                        call_id: call_id.clone(),
                        reason,
                        answered: call.answered,
                        at: Instant::now(),
                        stats: call.final_stats,
                    });
                }
            }
        }
    }

    /// After an audio↔video switch (ours or another member's): re-offer to every member we made
    /// the first offer to (`only`: just that one), with the video m-line on or off.
    async fn renegotiate(&mut self, call_id: &CallId, only: Option<&UserId>) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let video = call.media == CallMedia::Video;
        let mut offers = Vec::new();
        for (user, p) in call.peers.iter_mut() {
            if only.is_some_and(|o| o != user) {
                continue;
            }
            match p.reoffer(video).await {
                Ok(Some(sdp)) => offers.push((user.clone(), p.session.clone(), sdp)),
                Ok(None) => {}
                Err(e) => tracing::warn!("re-offer to {user}: {e}"),
            }
        }
        for (to, to_session, sdp) in offers {
            if let Ok(sdp) = Sdp::new(sdp) {
                self.send(ClientMessage::Sdp(SdpToPeer {
                    call_id: call_id.clone(),
                    to,
                    to_session,
                    kind: SdpKind::Offer,
                    sdp,
                }));
            }
        }
    }

    /// Full mesh: once we are in, for every joined member we have no connection with, the one
    /// whose id sorts first offers (the inviter already offered to those it invited).
    async fn mesh(&mut self, call_id: &CallId) {
        let Some(me) = self.me.clone() else { return };
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let media_on = call.media_on;
        let video = call.media == CallMedia::Video;
        let todo: Vec<UserId> = call
            .joined
            .iter()
            .filter(|u| **u != me && !call.peers.contains_key(*u) && me < **u)
            .cloned()
            .collect();
        for user in todo {
            let key = self.key(Owner::Call(call_id.clone()));
            match self.factory.offerer(key, &user, video).await {
                Ok((peer, offer)) => {
                    if let Ok(sdp) = Sdp::new(offer) {
                        self.send(ClientMessage::Sdp(SdpToPeer {
                            call_id: call_id.clone(),
                            to: user.clone(),
                            to_session: None,
                            kind: SdpKind::Offer,
                            sdp,
                        }));
                    }
                    if let Some(call) = self.calls.get_mut(call_id) {
                        peer.set_sending(media_on);
                        call.peers.insert(user, peer);
                        Self::apply_gates(call);
                    }
                }
                Err(e) => self.emit(Event::Error {
                    call_id: Some(call_id.clone()),
                    message: format!("cannot connect to {user}: {e}"),
                }),
            }
        }
    }

    // ---- timers -----------------------------------------------------------------------------

    async fn timer(&mut self, t: Timer) {
        match t {
            Timer::Ending(id) => self.input(&id, Input::EndingTimeout).await,
            Timer::ResumeDeadline(epoch) => {
                if epoch == self.loss_epoch && !self.connected {
                    let ids: Vec<CallId> = self.calls.keys().cloned().collect();
                    for id in ids {
                        self.input(&id, Input::ResumeExpired).await;
                    }
                }
            }
            Timer::StatsTick => {
                self.arm(Duration::from_secs(1), Timer::StatsTick);
                // Recordings: members who joined since are added; one whose writing failed
                // is ended and reported.
                let mut failed = Vec::new();
                for (id, call) in self.calls.iter_mut() {
                    let Some(rec) = call.recording.as_mut() else {
                        continue;
                    };
                    Self::watch_members(rec, &call.peers);
                    if !rec.is_running() {
                        failed.push(id.clone());
                    }
                }
                for id in failed {
                    self.stop_recording(&id).await;
                }
                // The share's frame rate follows the slowest member's screen bitrate.
                if let Some(call) = self.share.as_ref().and_then(|(c, ..)| self.calls.get(c))
                    && let Some(bps) = call
                        .peers
                        .values()
                        .map(|p| p.shared.screen_bps.load(Ordering::Relaxed))
                        .min()
                {
                    self.screen_budget.store(bps, Ordering::Relaxed);
                }
                for (id, call) in &self.calls {
                    if call.media_on {
                        self.emit(Event::Stats {
                            call_id: id.clone(),
                            peers: call.peers.values().map(|p| p.shared.stats()).collect(),
                        });
                    }
                }
            }
        }
    }

    // ---- peers ------------------------------------------------------------------------------

    async fn peer_event(&mut self, ev: PeerEvent) {
        let key = match &ev {
            PeerEvent::Candidate(k, _)
            | PeerEvent::State(k, _)
            | PeerEvent::FirstMedia(k, ..)
            | PeerEvent::Data(k, _) => *k,
        };
        let call_id = match self.owners.get(&key).cloned() {
            Some(Owner::Call(id)) => id,
            Some(Owner::Invite(req)) => {
                // The call has no id yet: keep our candidates until `call_created`.
                if let PeerEvent::Candidate(_, c) = ev
                    && let Some(p) = self
                        .invites
                        .get_mut(&req)
                        .and_then(|i| i.peers.values_mut().find(|p| p.key == key))
                {
                    p.pending_local.push(c);
                }
                return;
            }
            None => return,
        };
        let Some(p) = self
            .calls
            .get_mut(&call_id)
            .and_then(|call| call.peers.values_mut().find(|p| p.key == key))
        else {
            return;
        };
        let user = p.user.clone();
        match ev {
            PeerEvent::Candidate(_, candidate) => {
                let to_session = p.session.clone();
                self.send(ClientMessage::IceCandidate(IceToPeer {
                    call_id,
                    to: user,
                    to_session,
                    candidate,
                }));
            }
            PeerEvent::State(_, state) => {
                tracing::debug!(%call_id, ?state, "peer connection");
                let now_connected = state == RTCPeerConnectionState::Connected;
                let became = now_connected && !p.connected;
                p.connected = now_connected;
                p.shared
                    .transport_up
                    .store(now_connected, std::sync::atomic::Ordering::Relaxed);
                if became {
                    self.emit(Event::TransportReady { call_id, user });
                }
            }
            PeerEvent::Data(_, e) => self.emit(data_event(call_id, user, e)),
            PeerEvent::FirstMedia(_, kind, at) => {
                self.input(&call_id, Input::MediaFlowing).await;
                self.emit(Event::FirstMedia {
                    call_id,
                    user,
                    kind,
                    at,
                });
            }
        }
    }

    async fn shutdown(&mut self) {
        let ids: Vec<CallId> = self.calls.keys().cloned().collect();
        for id in ids {
            self.input(&id, Input::LocalHangup).await;
            self.input(&id, Input::EndingTimeout).await;
        }
        // Give the hang-ups a moment to leave before the socket closes.
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.signaling.shutdown();
        self.factory.capture.stop();
    }
}

/// What the data channel said, as the engine's event.
fn data_event(call_id: CallId, user: UserId, e: crate::data::DataEvent) -> Event {
    use crate::data::DataEvent;
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
