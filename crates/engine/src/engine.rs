//! The one public API: an [`Engine`] handle with async methods and an event stream. The Tauri
//! shell, the CLI and the tests use it alike.

use std::time::Duration;

use switchboard_protocol::{CallId, CallMedia, ClientMessage, Text, UserId};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::config::EngineConfig;
use crate::core::Input;
use crate::driver::{Command, Driver};
use crate::event::Event;
use crate::pipeline::RemoteFrame;
use crate::profile::VideoProfile;
use crate::stats::PeerStats;

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
        Driver::spawn(config, tx.clone(), rx, events_tx);
        let deadline = tokio::time::sleep(Duration::from_secs(10));
        tokio::pin!(deadline);
        let mut last_error = String::from("no reply from the server in 10 s");
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(Event::SignedIn { user, .. }) => return Ok((Engine { tx, user }, events)),
                    Some(Event::Closed { reason: why }) => return Err(EngineError::SignIn(why)),
                    Some(Event::SignalingLost { reason: why }) => last_error = why,
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

    /// As the agent of a customer call: calls a colleague about it (an audio call of its own,
    /// the consult) while the server holds the customer. Then: `transfer` to
    /// [`switchboard_protocol::TransferTarget::Consulted`] hands the customer over (warm), a
    /// hang-up of the consult comes back to the customer (off hold).
    pub async fn consult(&self, call_id: &CallId, to: UserId) -> Result<CallId, EngineError> {
        let call_id = call_id.clone();
        self.request(|reply| Command::Consult { call_id, to, reply })
            .await
    }

    /// As a supervisor: monitors `agent`'s customer call, listening, whispering or barging.
    /// Returns the monitor call (a call with the agent, whose engine bridges the customer's
    /// voice to us; the customer learns nothing). `set_monitor` changes the mode, `take_over`
    /// takes the customer.
    pub async fn monitor(
        &self,
        agent: UserId,
        mode: switchboard_protocol::MonitorMode,
        media: CallMedia,
    ) -> Result<CallId, EngineError> {
        self.request(|reply| Command::Monitor {
            agent,
            mode,
            media,
            reply,
        })
        .await
    }

    /// As a supervisor: listen, whisper or barge in this monitor call.
    pub fn set_monitor(&self, call_id: &CallId, mode: switchboard_protocol::MonitorMode) {
        self.send(Command::Core(Input::SetMonitor {
            call_id: call_id.clone(),
            mode,
        }));
    }

    /// As a supervisor: take the customer of this monitor call over (the agent drops; the
    /// customer's call comes here and is answered at once).
    pub fn take_over(&self, call_id: &CallId) {
        self.send(Command::Core(Input::TakeOver(call_id.clone())));
    }

    /// As the agent of customer call `call_id`, in a consult the colleague answered: joins the
    /// colleague with the customer (a conference; [`Event::Conference`] follows). Our engine
    /// bridges the two calls. Hanging up `call_id` then hands the customer to the colleague.
    pub fn conference(&self, call_id: &CallId) {
        self.send_raw(ClientMessage::Conference(switchboard_protocol::CallRef {
            call_id: call_id.clone(),
        }));
    }

    /// Hands a customer call on: to an agent or a queue (blind), or to the colleague of the
    /// consult in progress (warm). The server ends our part with `transferred`.
    pub fn transfer(&self, call_id: &CallId, to: switchboard_protocol::TransferTarget) {
        self.send_raw(ClientMessage::Transfer(switchboard_protocol::Transfer {
            call_id: call_id.clone(),
            to,
        }));
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
        self.send(Command::Core(Input::Accept(call_id.clone())));
    }

    /// Hangs up, cancels (before an answer) or declines (while ringing).
    pub fn hangup(&self, call_id: &CallId) {
        self.send(Command::Core(Input::Hangup(call_id.clone())));
    }

    /// Stops (true) or resumes (false) sending audio and video; the others are told.
    pub fn mute(&self, call_id: &CallId, audio: bool, video: bool) {
        self.send(Command::Core(Input::Mute {
            call_id: call_id.clone(),
            audio,
            video,
        }));
    }

    /// Puts the other member of this call on hold (`on`) or takes them off it. The server
    /// decides; [`Event::Hold`] says when it happened (or [`Event::Error`] why not).
    pub fn hold(&self, call_id: &CallId, on: bool) {
        self.send(Command::Core(Input::Hold {
            call_id: call_id.clone(),
            on,
        }));
    }

    /// Switches the call between audio and video, for every member.
    pub fn switch_media(&self, call_id: &CallId, media: CallMedia) {
        self.send(Command::Core(Input::SwitchMedia(call_id.clone(), media)));
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
        self.send(Command::Core(Input::StopShare {
            call_id: call_id.clone(),
            reason: None,
        }));
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
        self.send(Command::Core(Input::Invite(call_id.clone(), users)));
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
