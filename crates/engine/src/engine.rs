//! The one public API: an [`Engine`] handle with async methods and an event stream. The Tauri
//! shell, the CLI and the tests use it alike.

use std::time::{Duration, Instant};

use switchboard_protocol::{
    CallId, CallKind, CallMedia, ClientMessage, EndReason, MediaState, ServerMessage, SessionId,
    Text, Token, UserId,
};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::actor::Actor;
use crate::pipeline::RemoteFrame;
use crate::profile::VideoProfile;
use crate::stats::PeerStats;

/// How to start an engine.
#[derive(Clone)]
pub struct EngineConfig {
    /// The server's WebSocket URL, e.g. `ws://127.0.0.1:7700/ws`.
    pub server: String,
    pub token: Token,
    /// Where media sockets bind: `0.0.0.0:0` (every interface) or `127.0.0.1:0` (loopback).
    pub media_bind: String,
    pub video_profile: VideoProfile,
    /// The camera's device id (`pattern` is the synthetic camera, always present).
    pub camera: String,
    /// The microphone's device id (`tone` is the synthetic microphone, always present).
    pub microphone: String,
    /// The speaker's device id (`meter` is the synthetic speaker, always present).
    pub speaker: String,
    /// Echo cancellation, noise suppression and gain control on a sound card's microphone
    /// (on by default; some headsets do their own).
    pub audio_processing: bool,
    /// Rewrites each local ICE candidate line before it is signalled: a static port-forward,
    /// or a network emulator in tests (a lossy, rate-capped relay in front of our socket).
    pub advertise: Option<crate::peers::Advertise>,
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("server", &self.server)
            .field("media_bind", &self.media_bind)
            .field("video_profile", &self.video_profile)
            .field("camera", &self.camera)
            .field("microphone", &self.microphone)
            .field("speaker", &self.speaker)
            .field("audio_processing", &self.audio_processing)
            .field("advertise", &self.advertise.is_some())
            .finish_non_exhaustive()
    }
}

impl EngineConfig {
    pub fn new(server: impl Into<String>, token: Token) -> Self {
        Self {
            server: server.into(),
            token,
            media_bind: "0.0.0.0:0".into(),
            video_profile: VideoProfile::default(),
            camera: "pattern".into(),
            microphone: "tone".into(),
            speaker: "meter".into(),
            audio_processing: true,
            advertise: None,
        }
    }
}

/// What the engine tells its user.
#[derive(Debug, Clone)]
pub enum Event {
    /// Signed in, or resumed after a dropped socket (`resumed`).
    SignedIn {
        user: UserId,
        session: SessionId,
        resumed: bool,
    },
    /// The signaling socket dropped; reconnecting (calls go on within the resume window).
    SignalingLost(String),
    /// The server closed the session for good (kicked, logged out, token refused).
    Closed(String),
    /// Someone calls us.
    Incoming {
        call_id: CallId,
        from: UserId,
        kind: CallKind,
        media: CallMedia,
        members: Vec<UserId>,
        /// The caller's display name, if they have one.
        from_name: Option<switchboard_protocol::Label>,
        /// For a customer from the queue: business, priority, wait, name.
        queue: Option<switchboard_protocol::QueueContext>,
    },
    /// The peer connection with a member is up (ICE and DTLS done). With the offer riding on
    /// the invite this happens while the callee still rings.
    TransportReady { call_id: CallId, user: UserId },
    /// A member's device is ringing.
    Ringing { call_id: CallId, user: UserId },
    /// A member answered (for the caller: the call is answered).
    MemberJoined {
        call_id: CallId,
        user: UserId,
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
    /// A text message inside the call.
    CallMessage {
        call_id: CallId,
        from: UserId,
        text: String,
    },
    /// A text message over the call's data channel.
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
    /// A whole file arrived, of the size and SHA-256 its sender announced.
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
        answered: Option<Instant>,
        at: Instant,
        /// Each member's stats when media stopped.
        stats: Vec<PeerStats>,
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
    Server(Box<ServerMessage>),
    /// A request failed.
    Error {
        call_id: Option<CallId>,
        message: String,
    },
}

pub(crate) enum Command {
    Call {
        to: Vec<UserId>,
        media: CallMedia,
        reply: oneshot::Sender<Result<CallId, String>>,
    },
    Enqueue {
        business: switchboard_protocol::Business,
        media: CallMedia,
        name: Option<switchboard_protocol::Label>,
        reply: oneshot::Sender<Result<CallId, String>>,
    },
    Accept(CallId),
    Hangup(CallId),
    Mute {
        call_id: CallId,
        audio: bool,
        video: bool,
    },
    SwitchMedia(CallId, CallMedia),
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
        crate::pipeline::VideoKind,
        oneshot::Sender<Option<broadcast::Receiver<RemoteFrame>>>,
    ),
    ShareScreen {
        call_id: CallId,
        source: String,
        capturer: switchboard_media::screen::ScreenCapturer,
        reply: oneshot::Sender<Result<(), String>>,
    },
    StopScreenShare(CallId),
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
    Invite(CallId, Vec<UserId>),
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
    Timer(crate::actor::Timer),
    Shutdown,
}

/// A running engine. Cheap to clone; every clone drives the same engine.
#[derive(Clone)]
pub struct Engine {
    tx: mpsc::UnboundedSender<Command>,
    user: UserId,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("could not sign in: {0}")]
    SignIn(String),
    #[error("{0}")]
    Request(String),
    #[error("the engine has stopped")]
    Stopped,
    #[error("{0}")]
    Recording(String),
    #[error(transparent)]
    Screen(#[from] switchboard_media::screen::CaptureError),
}

impl Engine {
    /// Starts an engine and signs in; returns once signed in (or failing after 10 s).
    pub async fn start(
        config: EngineConfig,
    ) -> Result<(Engine, mpsc::UnboundedReceiver<Event>), EngineError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let (events_tx, mut events) = mpsc::unbounded_channel();
        Actor::spawn(config, tx.clone(), rx, events_tx);
        let deadline = tokio::time::sleep(Duration::from_secs(10));
        tokio::pin!(deadline);
        let mut last_error = String::from("no reply from the server in 10 s");
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(Event::SignedIn { user, .. }) => return Ok((Engine { tx, user }, events)),
                    Some(Event::Closed(why)) => return Err(EngineError::SignIn(why)),
                    Some(Event::SignalingLost(why)) => last_error = why,
                    Some(_) => {}
                    None => return Err(EngineError::Stopped),
                },
                _ = &mut deadline => {
                    let _ = tx.send(Command::Shutdown);
                    return Err(EngineError::SignIn(last_error));
                }
            }
        }
    }

    /// Who we are signed in as.
    pub fn user(&self) -> &UserId {
        &self.user
    }

    fn send(&self, c: Command) {
        let _ = self.tx.send(c);
    }

    /// Sends a command that answers, and waits for the answer.
    async fn request<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<T, String>>) -> Command,
    ) -> Result<T, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.send(command(reply));
        rx.await
            .map_err(|_| EngineError::Stopped)?
            .map_err(EngineError::Request)
    }

    /// Calls one user (1:1) or several (a group call, full mesh). Returns once the server has
    /// created the call; its progress arrives as events.
    pub async fn call(&self, to: Vec<UserId>, media: CallMedia) -> Result<CallId, EngineError> {
        self.request(|reply| Command::Call { to, media, reply })
            .await
    }

    /// As a customer: waits in the queue for `business` (the token may allow only one).
    /// Returns once queued; the agent who takes the call joins it (a `MemberJoined`) and
    /// offers the media connection. Queue positions arrive as `Event::Server`.
    pub async fn enqueue(
        &self,
        business: switchboard_protocol::Business,
        media: CallMedia,
        name: Option<switchboard_protocol::Label>,
    ) -> Result<CallId, EngineError> {
        self.request(|reply| Command::Enqueue {
            business,
            media,
            name,
            reply,
        })
        .await
    }

    pub fn accept(&self, call_id: &CallId) {
        self.send(Command::Accept(call_id.clone()));
    }

    /// Hangs up, cancels (before an answer) or declines (while ringing).
    pub fn hangup(&self, call_id: &CallId) {
        self.send(Command::Hangup(call_id.clone()));
    }

    /// Stops (true) or resumes (false) sending audio and video; the others are told.
    pub fn mute(&self, call_id: &CallId, audio: bool, video: bool) {
        self.send(Command::Mute {
            call_id: call_id.clone(),
            audio,
            video,
        });
    }

    /// Switches the call between audio and video, for every member.
    pub fn switch_media(&self, call_id: &CallId, media: CallMedia) {
        self.send(Command::SwitchMedia(call_id.clone(), media));
    }

    /// Changes the camera's resolution and frame rate, also during a call.
    pub fn set_video_profile(&self, profile: VideoProfile) {
        self.send(Command::SetProfile(profile));
    }

    /// Switches the speaker (`meter`, `audio:<id>`), also during a call. Fails, changing
    /// nothing, if it cannot open.
    pub async fn set_speaker(&self, id: &str) -> Result<(), EngineError> {
        self.request(|reply| Command::SetSpeaker(id.to_owned(), reply))
            .await
    }

    /// Switches the camera (`pattern` or a `camera:` id), also during a call: the device
    /// opens in the mode closest to the video profile and its pictures replace the old ones.
    /// Fails, changing nothing, if there is no such camera.
    pub async fn set_camera(&self, id: &str) -> Result<(), EngineError> {
        self.request(|reply| Command::SetCamera(id.to_owned(), reply))
            .await
    }

    /// Switches the microphone (`tone`, `file:PATH`, `audio:<id>`), also during a call: the
    /// next frame comes from the new device and the call goes on. Fails, changing nothing, if
    /// it cannot open.
    pub async fn set_microphone(&self, id: &str) -> Result<(), EngineError> {
        self.request(|reply| Command::SetMicrophone(id.to_owned(), reply))
            .await
    }

    /// Drops the video decoders' state for this call: they ask for keyframes and recover.
    pub fn reset_decoders(&self, call_id: &CallId) {
        self.send(Command::ResetDecoder(call_id.clone()));
    }

    /// The call's stats now, one entry per remote member.
    pub async fn stats(&self, call_id: &CallId) -> Vec<PeerStats> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Stats(call_id.clone(), reply));
        rx.await.unwrap_or_default()
    }

    /// Decoded pictures from one member of a call.
    pub async fn remote_frames(
        &self,
        call_id: &CallId,
        user: &UserId,
    ) -> Option<broadcast::Receiver<RemoteFrame>> {
        let (reply, rx) = oneshot::channel();
        let kind = crate::pipeline::VideoKind::Camera;
        self.send(Command::Frames(call_id.clone(), user.clone(), kind, reply));
        rx.await.ok().flatten()
    }

    /// Decoded pictures of one member's screen share (pictures arrive while they share).
    pub async fn remote_screen_frames(
        &self,
        call_id: &CallId,
        user: &UserId,
    ) -> Option<broadcast::Receiver<RemoteFrame>> {
        let (reply, rx) = oneshot::channel();
        let kind = crate::pipeline::VideoKind::Screen;
        self.send(Command::Frames(call_id.clone(), user.clone(), kind, reply));
        rx.await.ok().flatten()
    }

    /// Shares a screen or window (an id from `switchboard_media::screen::sources`) with every
    /// member of an answered call, beside the camera: its own track, screen-content encoding,
    /// up to 1080p at 5–15 fps. The others are told (`MediaState::screen`). Opening the
    /// source may show the system's picker (the Wayland portal) and waits for it. A share in
    /// another call stops first.
    pub async fn share_screen(&self, call_id: &CallId, source: &str) -> Result<(), EngineError> {
        let id = source.to_owned();
        let capturer = tokio::task::spawn_blocking(move || {
            switchboard_media::screen::ScreenCapturer::open(&id)
        })
        .await
        .map_err(|e| EngineError::Request(format!("screen capture: {e}")))??;
        self.request(|reply| Command::ShareScreen {
            call_id: call_id.clone(),
            source: source.to_owned(),
            capturer,
            reply,
        })
        .await
    }

    /// Stops our screen share in this call (an [`Event::ScreenShareEnded`] follows).
    pub fn stop_screen_share(&self, call_id: &CallId) {
        self.send(Command::StopScreenShare(call_id.clone()));
    }

    /// Our own camera's pictures (the local preview). Starts the camera if no call has.
    pub async fn local_frames(
        &self,
    ) -> Option<broadcast::Receiver<std::sync::Arc<switchboard_media::I420Frame>>> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::LocalFrames(reply));
        rx.await.ok()
    }

    /// Invites more users into a call in progress (a 1:1 call becomes a group call). The
    /// invite carries our offer to each, so their transport is up while they ring; the other
    /// members connect to each newcomer as it joins, by the mesh rule.
    pub fn invite(&self, call_id: &CallId, users: Vec<UserId>) {
        self.send(Command::Invite(call_id.clone(), users));
    }

    /// Records the call on this machine into `path` (fragmented MP4; see
    /// `switchboard_media::record`). The other members are told (`MediaState::recording`).
    /// An unwritable path is refused here; a write error later stops the recording with
    /// `Event::RecordingStopped` carrying the error, and the call goes on.
    pub async fn start_recording(
        &self,
        call_id: &CallId,
        path: impl Into<std::path::PathBuf>,
        options: switchboard_media::RecordOptions,
    ) -> Result<(), EngineError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::StartRecording {
            call_id: call_id.clone(),
            path: path.into(),
            options,
            reply,
        });
        rx.await
            .map_err(|_| EngineError::Stopped)?
            .map_err(EngineError::Recording)
    }

    /// Pauses (`true`) or resumes the recording: a pause takes its time out of the file.
    pub fn pause_recording(&self, call_id: &CallId, paused: bool) {
        self.send(Command::PauseRecording(call_id.clone(), paused));
    }

    /// Stops the recording and says what it holds (`None`: none was running).
    pub async fn stop_recording(
        &self,
        call_id: &CallId,
    ) -> Option<switchboard_media::RecordingSummary> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::StopRecording(call_id.clone(), reply));
        rx.await.ok().flatten()
    }

    /// Sends a text message to everyone in the call.
    pub fn send_call_message(&self, call_id: &CallId, text: Text) {
        self.send(Command::Raw(ClientMessage::CallMessage(
            switchboard_protocol::SendCallMessage {
                call_id: call_id.clone(),
                to: None,
                text,
            },
        )));
    }

    /// Sends text to every member over the call's data channels (peer to peer).
    pub fn send_text(&self, call_id: &CallId, text: impl Into<String>) {
        self.send(Command::SendText(call_id.clone(), text.into()));
    }

    /// Offers a file to one member over the data channel and, once they accept it, sends it;
    /// returns when the last byte left (an error when they declined or did not answer).
    /// Progress arrives as [`Event::FileProgress`] on both sides.
    pub async fn send_file(
        &self,
        call_id: &CallId,
        to: &UserId,
        name: &str,
        data: std::sync::Arc<Vec<u8>>,
    ) -> Result<(), EngineError> {
        self.request(|reply| Command::SendFile {
            call_id: call_id.clone(),
            to: to.clone(),
            name: name.to_owned(),
            data,
            reply,
        })
        .await
    }

    /// Accepts or declines a file a member offered ([`Event::FileOffered`]).
    pub async fn answer_file(
        &self,
        call_id: &CallId,
        from: &UserId,
        id: &str,
        accept: bool,
    ) -> Result<(), EngineError> {
        self.request(|reply| Command::AnswerFile {
            call_id: call_id.clone(),
            from: from.clone(),
            id: id.to_owned(),
            accept,
            reply,
        })
        .await
    }

    /// Sends any client message as it is (agent state, presence subscriptions, …).
    pub fn send_raw(&self, message: ClientMessage) {
        self.send(Command::Raw(message));
    }

    /// Drops the signaling socket as a network failure would; the engine reconnects and
    /// resumes, and calls go on.
    pub fn cut_signaling(&self) {
        self.send(Command::CutSignaling);
    }

    /// Hangs up everything and stops.
    pub fn shutdown(&self) {
        self.send(Command::Shutdown);
    }
}
