//! The engine's one task: it feeds the pure [`Core`] what happened (server frames, user
//! commands, peer events, the time) and carries out what the core says on webrtc-rs, the
//! signaling socket, the capture, the screen share and the recorder. Call state lives only in
//! the core; what lives here is what the core must not hold: the connections themselves, their
//! media counters, and the replies the handle waits for.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use switchboard_protocol::{CallId, CallMedia, ClientFrame, ClientMessage, RequestId, UserId};
use tokio::sync::{broadcast, mpsc, oneshot};
use webrtc::peer_connection::RTCPeerConnectionState;

use crate::config::EngineConfig;
use crate::core::{Core, Input, Output, PeerId, PeerOp, TransportState};
use crate::event::Event;
use crate::peer::{Peer, PeerEvent, PeerFactory};
use crate::pipeline::{Capture, RemoteFrame, VideoKind};
use crate::profile::VideoProfile;
use crate::signaling::{self, SignalEvent, Signaling};
use crate::stats::PeerStats;

mod media;

/// What the [`crate::Engine`] handle asks of the driver.
pub enum Command {
    Call {
        to: Vec<UserId>,
        media: CallMedia,
        reply: oneshot::Sender<Result<CallId, String>>,
    },
    Consult {
        call_id: CallId,
        to: UserId,
        reply: oneshot::Sender<Result<CallId, String>>,
    },
    Monitor {
        agent: UserId,
        mode: switchboard_protocol::MonitorMode,
        media: CallMedia,
        reply: oneshot::Sender<Result<CallId, String>>,
    },
    Enqueue {
        business: switchboard_protocol::Business,
        media: CallMedia,
        name: Option<switchboard_protocol::Label>,
        reply: oneshot::Sender<Result<CallId, String>>,
    },
    /// What the core takes as it is (accept, hang up, mute, switch, invite, stop sharing).
    Core(Input),
    SetProfile(VideoProfile),
    SetCamera(String, oneshot::Sender<Result<(), String>>),
    SetMicrophone(String, oneshot::Sender<Result<(), String>>),
    SetSpeaker(String, oneshot::Sender<Result<(), String>>),
    ResetDecoder(CallId),
    Stats(CallId, oneshot::Sender<Vec<PeerStats>>),
    LocalFrames(oneshot::Sender<broadcast::Receiver<std::sync::Arc<switchboard_media::I420Frame>>>),
    Frames(
        CallId,
        UserId,
        VideoKind,
        oneshot::Sender<Option<broadcast::Receiver<RemoteFrame>>>,
    ),
    ShareScreen {
        call_id: CallId,
        source: String,
        capturer: switchboard_media::screen::ScreenCapturer,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// The capture thread of share number `.0` stopped by itself.
    ScreenEnded(u64, String),
    Raw(ClientMessage),
    SendText(CallId, String),
    SendFile {
        call_id: CallId,
        to: UserId,
        name: String,
        data: std::sync::Arc<Vec<u8>>,
        reply: oneshot::Sender<Result<(), String>>,
    },
    AnswerFile {
        call_id: CallId,
        from: UserId,
        id: String,
        accept: bool,
        reply: oneshot::Sender<Result<(), String>>,
    },
    StartRecording {
        call_id: CallId,
        path: std::path::PathBuf,
        options: switchboard_media::RecordOptions,
        reply: oneshot::Sender<Result<(), String>>,
    },
    PauseRecording(CallId, bool),
    StopRecording(
        CallId,
        oneshot::Sender<Option<switchboard_media::RecordingSummary>>,
    ),
    CutSignaling,
    /// The realm's music on hold from this path was fetched (or could not be).
    HoldMusicFetched(String, Result<switchboard_media::HoldMusic, String>),
    Shutdown,
}

pub(crate) struct Driver {
    core: Core,
    cmd_tx: mpsc::UnboundedSender<Command>,
    events: mpsc::UnboundedSender<Event>,
    signaling: Signaling,
    factory: PeerFactory,
    peers: HashMap<PeerId, Peer>,
    /// The stats of peers closed in a call that has not ended (for `Event::Ended`).
    final_stats: HashMap<CallId, Vec<PeerStats>>,
    replies: HashMap<RequestId, oneshot::Sender<Result<CallId, String>>>,
    next_request: RequestId,
    recordings: HashMap<CallId, crate::recording::Recording>,
    /// Our screen share (one at a time), its call and its number.
    share: Option<(CallId, u64, crate::share::ScreenShare)>,
    shares: u64,
    /// The lowest screen-encoder bitrate among the sharing call's peers (the share's frame
    /// rate follows it).
    screen_budget: Arc<AtomicU64>,
    /// Local bridges for TURN over TCP (webrtc-rs relays over UDP only).
    tcp_bridges: crate::turn_tcp::TcpBridges,
    /// The realm's music on hold as last announced (`hello.hold_music`), with the server's
    /// address to fetch it from; `None` when a file of our own was configured (it wins).
    realm_music: Option<(String, Option<String>)>,
}

impl Driver {
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
            hold_music(cfg.hold_music.as_deref()),
            events.clone(),
        );
        let mut driver = Driver {
            core: Core::new(),
            factory: PeerFactory {
                ice_servers: Vec::new(),
                relay_only: false,
                bind: cfg.media_bind.clone(),
                events: peer_tx,
                capture,
                advertise: cfg.advertise.clone(),
            },
            cmd_tx,
            events,
            signaling,
            peers: HashMap::new(),
            final_stats: HashMap::new(),
            replies: HashMap::new(),
            next_request: 1,
            recordings: HashMap::new(),
            share: None,
            shares: 0,
            screen_budget: Arc::new(AtomicU64::new(crate::rtc_builder::START_BPS as u64)),
            tcp_bridges: Default::default(),
            realm_music: cfg.hold_music.is_none().then(|| {
                let first = cfg.server.split(',').next().unwrap_or_default();
                (first.trim().to_owned(), None)
            }),
        };
        tokio::spawn(async move {
            loop {
                let deadline = driver.core.poll_timeout();
                let timer = async move {
                    match deadline {
                        Some(at) => tokio::time::sleep_until(at.into()).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    c = cmd_rx.recv() => match c {
                        Some(Command::Shutdown) | None => {
                            driver.shutdown().await;
                            return;
                        }
                        Some(c) => driver.command(c).await,
                    },
                    Some(ev) = sig_rx.recv() => driver.signal(ev).await,
                    Some(ev) = peer_rx.recv() => driver.peer_event(ev).await,
                    () = timer => {
                        driver.core.handle_timeout(Instant::now());
                        driver.run().await;
                    }
                }
            }
        });
    }

    /// Feeds the core one input and carries out everything it says.
    async fn feed(&mut self, input: Input) {
        self.core.handle(input, Instant::now());
        self.run().await;
    }

    /// Carries out the core's outputs, in order, until it has nothing more to say. A peer
    /// operation's result goes back to the core at once, so its outputs follow in order.
    async fn run(&mut self) {
        while let Some(o) = self.core.poll_output() {
            match o {
                Output::Send(frame) => self.signaling.send(frame),
                Output::Peer { peer, op } => {
                    if let Some(input) = self.peer_op(peer, op).await {
                        self.core.handle(input, Instant::now());
                    }
                }
                Output::Event(e) => self.emit(e),
                Output::Reply { request, result } => {
                    if let Some(reply) = self.replies.remove(&request) {
                        let _ = reply.send(result);
                    }
                }
                Output::Capture(true) => self.factory.capture.start(),
                Output::Capture(false) => self.factory.capture.stop(),
                Output::StopShare(call_id) => {
                    if self.share.as_ref().is_some_and(|(c, ..)| *c == call_id) {
                        self.share = None;
                    }
                }
                Output::Recorder { call_id, op } => self.recorder(&call_id, op).await,
                Output::Tick(calls) => self.tick(&calls).await,
                Output::CheckSignaling => self.signaling.probe(),
            }
        }
    }

    fn emit(&mut self, mut e: Event) {
        if let Event::Ended { call_id, stats, .. } = &mut e {
            *stats = self.final_stats.remove(call_id).unwrap_or_default();
        }
        let _ = self.events.send(e);
    }

    /// Carries out one peer operation; an SDP it made (or its failure) is the core's next
    /// input.
    async fn peer_op(&mut self, id: PeerId, op: PeerOp) -> Option<Input> {
        let sdp = |result: anyhow::Result<String>| {
            Some(Input::LocalSdp {
                peer: id,
                result: result.map_err(|e| e.to_string()),
            })
        };
        match op {
            PeerOp::Offer { user, video } => {
                let made = self.factory.offerer(id, &user, video).await;
                sdp(made.map(|(peer, offer)| {
                    self.peers.insert(id, peer);
                    offer
                }))
            }
            PeerOp::Answer { user, offer, video } => {
                let made = self.factory.answerer(id, &user, &offer, video).await;
                sdp(made.map(|(peer, answer)| {
                    self.peers.insert(id, peer);
                    answer
                }))
            }
            PeerOp::Reoffer { video, ice_restart } => {
                let peer = self.peers.get(&id)?;
                sdp(peer.reoffer(video, ice_restart).await)
            }
            PeerOp::AnswerReoffer { offer, video } => {
                let peer = self.peers.get(&id)?;
                sdp(peer.answer_reoffer(&offer, video).await)
            }
            PeerOp::SetAnswer(answer) => {
                let peer = self.peers.get(&id)?;
                if let Err(e) = peer.set_answer(&answer).await {
                    tracing::warn!("answer from {} refused: {e}", peer.user);
                }
                None
            }
            PeerOp::AddCandidate(c) => {
                self.peers.get(&id)?.add_candidate(c).await;
                None
            }
            PeerOp::Gates(g) => {
                self.peers.get(&id)?.set_gates(g);
                None
            }
            PeerOp::Close { call } => {
                let peer = self.peers.remove(&id)?;
                if let Some(call) = call {
                    // Keep what this member's media counted for the call's summary.
                    self.final_stats
                        .entry(call.clone())
                        .or_default()
                        .push(peer.shared.stats());
                    if let Some(rec) = self.recordings.get_mut(&call) {
                        rec.unwatch(&peer.user);
                    }
                }
                peer.close().await;
                None
            }
        }
    }

    // ---- the signaling client ---------------------------------------------------------------

    async fn signal(&mut self, ev: SignalEvent) {
        let input = match ev {
            SignalEvent::Connected(w) => {
                self.factory.ice_servers = self.tcp_bridges.rewrite(&w.ice_servers).await;
                self.factory.relay_only = w.relay_only;
                self.follow_realm_music(w.hold_music.clone());
                Input::SignedIn {
                    user: w.user,
                    session: w.session_id,
                    resumed: w.resumed,
                    resume_window: Duration::from_secs(u64::from(w.resume_window_secs)),
                }
            }
            SignalEvent::Disconnected(why) => Input::SignalingLost(why),
            SignalEvent::Closed(why) => Input::Closed(why),
            SignalEvent::Frame(f) => Input::Frame(f),
        };
        self.feed(input).await;
    }

    /// Fetches the realm's music on hold when the server announces new music (in the
    /// background: a call must not wait for it, and a failure leaves the tune we have).
    fn follow_realm_music(&mut self, announced: Option<String>) {
        let Some((server, current)) = &mut self.realm_music else {
            return;
        };
        if *current == announced {
            return;
        }
        current.clone_from(&announced);
        let Some(path) = announced else {
            *crate::pipeline::lock(&self.factory.capture.hold_music) =
                switchboard_media::HoldMusic::default_music();
            return;
        };
        let url = http_url(server, &path);
        let back = self.cmd_tx.clone();
        tokio::task::spawn_blocking(move || {
            let fetched = ureq::get(&url)
                .call()
                .map_err(|e| e.to_string())
                .and_then(|mut r| {
                    r.body_mut()
                        .with_config()
                        .limit(16 << 20)
                        .read_to_vec()
                        .map_err(|e| e.to_string())
                })
                .and_then(|b| {
                    switchboard_media::HoldMusic::from_wav(&b).map_err(|e| e.to_string())
                });
            let _ = back.send(Command::HoldMusicFetched(path, fetched));
        });
    }

    // ---- peer events ------------------------------------------------------------------------

    async fn peer_event(&mut self, ev: PeerEvent) {
        let input = match ev {
            PeerEvent::Candidate(peer, candidate) => Input::LocalCandidate { peer, candidate },
            PeerEvent::State(peer, state) => {
                tracing::debug!(%peer, ?state, "peer connection");
                let state = match state {
                    RTCPeerConnectionState::Connected => TransportState::Connected,
                    RTCPeerConnectionState::Disconnected => TransportState::Disconnected,
                    RTCPeerConnectionState::Failed => TransportState::Failed,
                    RTCPeerConnectionState::Connecting => TransportState::Connecting,
                    // `new` comes first and `closed` after our own close: nothing to say.
                    _ => return,
                };
                if let Some(p) = self.peers.get(&peer) {
                    let up = state == TransportState::Connected;
                    p.shared.transport_up.store(up, Ordering::Relaxed);
                }
                Input::Transport { peer, state }
            }
            PeerEvent::FirstMedia(peer, kind, at) => Input::FirstMedia { peer, kind, at },
            PeerEvent::Data(peer, event) => Input::Data { peer, event },
        };
        self.feed(input).await;
    }

    // ---- commands ---------------------------------------------------------------------------

    fn request(&mut self, reply: oneshot::Sender<Result<CallId, String>>) -> RequestId {
        let request = self.next_request;
        self.next_request += 1;
        self.replies.insert(request, reply);
        request
    }

    async fn command(&mut self, c: Command) {
        match c {
            Command::Call { to, media, reply } => {
                let request = self.request(reply);
                self.feed(Input::Call { request, to, media }).await;
            }
            Command::Consult { call_id, to, reply } => {
                let request = self.request(reply);
                self.feed(Input::Consult {
                    request,
                    call_id,
                    to,
                })
                .await;
            }
            Command::Monitor {
                agent,
                mode,
                media,
                reply,
            } => {
                let request = self.request(reply);
                self.feed(Input::Monitor {
                    request,
                    agent,
                    mode,
                    media,
                })
                .await;
            }
            Command::Enqueue {
                business,
                media,
                name,
                reply,
            } => {
                let request = self.request(reply);
                self.feed(Input::Enqueue {
                    request,
                    business,
                    media,
                    name,
                })
                .await;
            }
            Command::Core(input) => self.feed(input).await,
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
                for p in self.call_peers(&call_id) {
                    p.shared.reset_decoder.store(true, Ordering::Relaxed);
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
                    .core
                    .peer_of(&call_id, &user)
                    .and_then(|id| self.peers.get(&id))
                    .map(|p| match kind {
                        VideoKind::Camera => p.shared.frames.subscribe(),
                        VideoKind::Screen => p.shared.screen_frames.subscribe(),
                    });
                let _ = reply.send(rx);
            }
            Command::ShareScreen {
                call_id,
                source,
                capturer,
                reply,
            } => {
                let r = self.start_share(&call_id, source, capturer).await;
                let _ = reply.send(r);
            }
            Command::ScreenEnded(number, reason) => {
                if let Some((call_id, ..)) = self.share.as_ref().filter(|(_, n, _)| *n == number) {
                    let call_id = call_id.clone();
                    self.feed(Input::StopShare {
                        call_id,
                        reason: Some(reason),
                    })
                    .await;
                }
            }
            Command::Raw(m) => self.signaling.send(ClientFrame::new(m)),
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
                        let _ =
                            events.send(crate::event::data_event(call_id.clone(), to.clone(), e));
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
            Command::StartRecording {
                call_id,
                path,
                options,
                reply,
            } => {
                let r = self.start_recording(&call_id, &path, options).await;
                let _ = reply.send(r);
            }
            Command::PauseRecording(call_id, paused) => {
                if let Some(rec) = self.recordings.get_mut(&call_id) {
                    rec.pause(paused);
                    self.feed(Input::Recording {
                        call_id,
                        state: Some(paused),
                    })
                    .await;
                }
            }
            Command::StopRecording(call_id, reply) => {
                let had = self.recordings.contains_key(&call_id);
                let summary = self.stop_recording(&call_id).await;
                if had {
                    self.feed(Input::Recording {
                        call_id,
                        state: None,
                    })
                    .await;
                }
                let _ = reply.send(summary);
            }
            Command::CutSignaling => self.signaling.cut(),
            Command::HoldMusicFetched(path, result) => {
                let Some((_, current)) = &mut self.realm_music else {
                    return;
                };
                // Only what is still announced: a later hello may have changed it.
                if current.as_ref() != Some(&path) {
                    return;
                }
                match result {
                    Ok(m) => *crate::pipeline::lock(&self.factory.capture.hold_music) = m,
                    Err(e) => {
                        tracing::warn!(
                            "music on hold {path}: {e}; keeping ours, trying again at the next sign-in"
                        );
                        *current = None;
                    }
                }
            }
            Command::Shutdown => {}
        }
    }

    /// A call's peer connections.
    fn call_peers(&self, call_id: &CallId) -> Vec<&Peer> {
        self.core
            .peers_of(call_id)
            .into_iter()
            .filter_map(|(id, _)| self.peers.get(&id))
            .collect()
    }

    /// The data channels of a call's peers (or of one member).
    fn channels(&self, call_id: &CallId, to: Option<&UserId>) -> Vec<crate::data::Channel> {
        self.call_peers(call_id)
            .into_iter()
            .filter(|p| to.is_none_or(|u| &p.user == u))
            .filter_map(|p| crate::pipeline::lock(&p.shared.data).clone())
            .collect()
    }

    fn stats(&self, call_id: &CallId) -> Vec<PeerStats> {
        self.call_peers(call_id)
            .into_iter()
            .map(|p| p.shared.stats())
            .collect()
    }

    async fn shutdown(&mut self) {
        self.feed(Input::Shutdown).await;
        // Give the hang-ups a moment to leave before the socket closes.
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.signaling.shutdown();
        self.factory.capture.stop();
    }
}

/// The music on hold: the configured file, or the default when there is none or it cannot be
/// read (said in the log: a call must not fail over its music).
fn hold_music(path: Option<&std::path::Path>) -> switchboard_media::HoldMusic {
    match path.map(switchboard_media::HoldMusic::open) {
        Some(Ok(m)) => m,
        Some(Err(e)) => {
            tracing::warn!("music on hold: {e}; playing the default");
            switchboard_media::HoldMusic::default_music()
        }
        None => switchboard_media::HoldMusic::default_music(),
    }
}

/// `ws://host:port/ws` + `/path` → `http://host:port/path` (`wss` → `https`).
fn http_url(ws: &str, path: &str) -> String {
    let (scheme, rest) = match ws.split_once("://") {
        Some(("wss", rest)) => ("https", rest),
        Some((_, rest)) => ("http", rest),
        None => ("http", ws),
    };
    let host = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod music_url_tests {
    #[test]
    fn the_music_is_fetched_from_the_servers_http_address() {
        assert_eq!(
            super::http_url("ws://127.0.0.1:7700/ws", "/hold-music/dev"),
            "http://127.0.0.1:7700/hold-music/dev"
        );
        assert_eq!(
            super::http_url("wss://cc.example.com/ws", "/hold-music/acme"),
            "https://cc.example.com/hold-music/acme"
        );
    }
}
