//! The console's state behind the Tauri commands: the signed-in engine, the call history, the
//! settings, and the pump that turns engine events into UI events and history rows. No Tauri
//! types here, so the Rust tests drive it directly (tests/tests/app.rs).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use switchboard_engine::auth::{self, ServerAddress};
use switchboard_engine::{Engine, EngineConfig, Event, PeerStats, VideoProfile};
use switchboard_protocol::{
    AgentProfile, AgentRegister, CallId, CallKind, CallMedia, ClientMessage, EndWrapUp, Label,
    MediaState, QueueContext, Role, SetAgentState, Text, Transfer, UserId, wire_name,
};

use crate::history::{CallRow, Direction, History, HistoryQuery, MessageRow, NewCall};
use crate::sounds::{SoundTest, Sounds, ringer_device};
use crate::video;

/// What the UI is told, as one event stream (`console` in the webview).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UiEvent {
    SignedIn {
        user: String,
        role: Role,
        server: String,
        resumed: bool,
    },
    /// The connection dropped; the engine reconnects (calls go on within the resume window).
    Reconnecting {
        reason: String,
    },
    SignedOut {
        reason: String,
    },
    Incoming {
        call_id: String,
        from: String,
        from_name: Option<String>,
        kind: CallKind,
        media: CallMedia,
        members: Vec<String>,
        queue: Option<QueueContext>,
    },
    Ringing {
        call_id: String,
        user: String,
    },
    MemberJoined {
        call_id: String,
        user: String,
    },
    MemberLeft {
        call_id: String,
        user: String,
    },
    FirstMedia {
        call_id: String,
        user: String,
        kind: String,
    },
    RemoteMedia {
        call_id: String,
        user: String,
        state: MediaState,
    },
    MediaSwitched {
        call_id: String,
        by: String,
        media: CallMedia,
    },
    Message {
        call_id: String,
        from: String,
        text: String,
        at: i64,
        mine: bool,
    },
    Stats {
        call_id: String,
        peers: Vec<PeerStats>,
    },
    DeviceFailed {
        kind: switchboard_media::DeviceKind,
        id: String,
        reason: String,
    },
    Ended {
        call_id: String,
        code: String,
        side: String,
        duration_ms: i64,
    },
    /// Agent state, CTI figures, queue positions and the rest, as the server sent them.
    Server {
        message: serde_json::Value,
    },
    HistoryChanged {
        call_id: String,
    },
    ExportProgress {
        done: u64,
        total: u64,
    },
    Error {
        call_id: Option<String>,
        message: String,
    },
    /// The ringer or the announce tone started or stopped.
    Sound {
        cue: switchboard_media::Cue,
        device: String,
        playing: bool,
    },
    /// The microphone meter of the settings page, ten times a second.
    MicLevel {
        dbfs: f64,
    },
    /// A global key was pressed: `answer`, `hangup` or `mute`.
    Shortcut {
        action: String,
    },
    /// A file on its way (either way): bytes done of total.
    FileProgress {
        call_id: String,
        user: String,
        name: String,
        done: u64,
        total: u64,
        sending: bool,
    },
    /// A member offers a file: nothing is received or saved until the agent accepts it
    /// (`answer_file`).
    FileOffered {
        call_id: String,
        from: String,
        id: String,
        name: String,
        size: u64,
    },
    /// A file arrived whole (its size and checksum as announced) and was saved.
    FileReceived {
        call_id: String,
        from: String,
        name: String,
        path: String,
    },
    /// A file from a member did not arrive (declined, too large, damaged); nothing was saved.
    FileFailed {
        call_id: String,
        from: String,
        name: String,
        reason: String,
    },
    /// Our recording of a call started, paused, resumed or stopped.
    Recording {
        call_id: String,
        recording: bool,
        paused: bool,
        path: String,
    },
    /// Our screen share in a call started or stopped (`reason`: why, when not our choice:
    /// the shared window closed).
    ScreenShare {
        call_id: String,
        sharing: bool,
        source: Option<String>,
        reason: Option<String>,
    },
}

/// A source in the screen-share picker.
#[derive(Debug, Clone, Serialize)]
pub struct ScreenSourceView {
    #[serde(flatten)]
    pub source: switchboard_media::screen::ScreenSource,
    /// A JPEG `data:` URL, when the source can show itself before it is chosen.
    pub thumbnail: Option<String>,
}

/// A picture as a JPEG `data:` URL.
fn jpeg_data_url(f: &switchboard_media::I420Frame) -> Option<String> {
    use base64::Engine as _;
    let rgb = switchboard_media::convert::to_rgb(f);
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 80)
        .encode(
            &rgb,
            u16::try_from(f.width()).ok()?,
            u16::try_from(f.height()).ok()?,
            jpeg_encoder::ColorType::Rgb,
        )
        .ok()?;
    Some(format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(jpeg)
    ))
}

/// Where UI events go: the webview in the app, a channel in tests.
pub trait Ui: Send + Sync + 'static {
    fn emit(&self, event: UiEvent);
}

/// A command that failed, as the UI shows it: a stable code and a sentence.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub code: &'static str,
    pub message: String,
}

impl CommandError {
    pub(crate) fn new(code: &'static str, message: impl std::fmt::Display) -> Self {
        Self {
            code,
            message: message.to_string(),
        }
    }
}

impl From<crate::history::HistoryError> for CommandError {
    fn from(e: crate::history::HistoryError) -> Self {
        Self::new("history", e)
    }
}

impl From<switchboard_engine::EngineError> for CommandError {
    fn from(e: switchboard_engine::EngineError) -> Self {
        Self::new("engine", e)
    }
}

pub type CmdResult<T> = Result<T, CommandError>;

/// What the agent set, kept in the profile's data directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub server: String,
    pub user: String,
    pub camera: String,
    pub microphone: String,
    pub speaker: String,
    pub video_profile: String,
    pub auto_answer: AutoAnswer,
    /// Opened on answer (a CRM's screen pop): `{caller}`, `{business}`, `{call_id}` are filled in.
    pub screen_pop_url: String,
    /// Run on answer, with `SB_CALLER`, `SB_BUSINESS`, `SB_CALL_ID` in its environment (never
    /// pasted into the command line: a caller's name cannot inject anything).
    pub screen_pop_command: String,
    /// The ringer's speaker; empty: the call's speaker.
    pub ringer: String,
    /// 0–100.
    pub ring_volume: u8,
    /// A short tone when a call answers itself.
    pub announce_tone: bool,
    /// The UI's language (`en`, `zh-CN`): the tray and notifications speak it too.
    pub language: String,
    pub shortcuts: Shortcuts,
    /// Where recordings go; empty: `recordings` in the profile's data directory.
    pub recordings_dir: String,
    /// What a recording holds.
    pub record_media: switchboard_media::RecordMedia,
    /// Burn the agent's id and the time into recorded pictures.
    pub record_watermark: bool,
}

/// Keys that answer, hang up and mute from anywhere on the desktop (X11, Windows, macOS;
/// Wayland has no global keys). An empty key is not registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Shortcuts {
    pub global: bool,
    pub answer: String,
    pub hangup: String,
    pub mute: String,
}

impl Default for Shortcuts {
    fn default() -> Self {
        Self {
            global: true,
            answer: "CommandOrControl+Alt+A".into(),
            hangup: "CommandOrControl+Alt+H".into(),
            mute: "CommandOrControl+Alt+M".into(),
        }
    }
}

/// What the settings page saves in one go (devices and the video profile apply one by one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    pub auto_answer: AutoAnswer,
    pub screen_pop_url: String,
    pub screen_pop_command: String,
    pub ringer: String,
    pub ring_volume: u8,
    pub announce_tone: bool,
    pub language: String,
    pub shortcuts: Shortcuts,
    pub recordings_dir: String,
    pub record_media: switchboard_media::RecordMedia,
    pub record_watermark: bool,
}

impl From<Settings> for Preferences {
    fn from(s: Settings) -> Self {
        Self {
            auto_answer: s.auto_answer,
            screen_pop_url: s.screen_pop_url,
            screen_pop_command: s.screen_pop_command,
            ringer: s.ringer,
            ring_volume: s.ring_volume,
            announce_tone: s.announce_tone,
            language: s.language,
            shortcuts: s.shortcuts,
            recordings_dir: s.recordings_dir,
            record_media: s.record_media,
            record_watermark: s.record_watermark,
        }
    }
}

/// Which calls answer themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoAnswer {
    #[default]
    Off,
    Always,
    /// Customers from the queue only (contact-center desks).
    Queue,
}

impl AutoAnswer {
    pub fn answers(self, kind: CallKind) -> bool {
        match self {
            Self::Off => false,
            Self::Always => true,
            Self::Queue => kind == CallKind::Queue,
        }
    }
}

/// What a screen pop knows about the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopContext {
    pub caller: String,
    pub business: Option<String>,
    pub call_id: String,
}

/// The screen-pop URL with the call's facts filled in, percent-encoded.
pub fn screen_pop_url(template: &str, ctx: &PopContext) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let enc = |v: &str| utf8_percent_encode(v, NON_ALPHANUMERIC).to_string();
    template
        .replace("{caller}", &enc(&ctx.caller))
        .replace("{business}", &enc(ctx.business.as_deref().unwrap_or("")))
        .replace("{call_id}", &enc(&ctx.call_id))
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server: String::new(),
            user: String::new(),
            camera: "pattern".into(),
            microphone: "tone".into(),
            speaker: "meter".into(),
            video_profile: VideoProfile::default().to_string(),
            auto_answer: AutoAnswer::Off,
            screen_pop_url: String::new(),
            screen_pop_command: String::new(),
            ringer: String::new(),
            ring_volume: 80,
            announce_tone: true,
            language: String::new(),
            shortcuts: Shortcuts::default(),
            recordings_dir: String::new(),
            record_media: switchboard_media::RecordMedia::Both,
            record_watermark: true,
        }
    }
}

/// Who is signed in.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub user: String,
    pub role: Role,
    pub server: String,
}

struct Session {
    engine: Engine,
    account: Account,
    pump: tokio::task::JoinHandle<()>,
}

/// A call the console follows, for its history row and its screen pop.
#[derive(Debug, Clone, Default)]
struct Live {
    answered_at: Option<i64>,
    /// Who called us (incoming calls).
    pop: Option<PopContext>,
}

/// The console.
pub struct Console {
    ui: Arc<dyn Ui>,
    history: History,
    data_dir: PathBuf,
    settings: Mutex<Settings>,
    session: tokio::sync::Mutex<Option<Session>>,
    live: Arc<Mutex<HashMap<String, Live>>>,
    /// Where the webview's video tiles connect (started once per launch).
    video: Mutex<Option<video::Endpoint>>,
    /// Tiles fed through IPC channels, and the last id given.
    pushes: Mutex<(HashMap<u32, Push>, u32)>,
    sounds: Sounds,
}

type Push = (
    tokio::task::JoinHandle<()>,
    tokio::sync::watch::Sender<(usize, usize)>,
);

/// How long an auto-answered call rings first.
const AUTO_ANSWER_AFTER: std::time::Duration = std::time::Duration::from_millis(1200);

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn call_id(s: &str) -> CmdResult<CallId> {
    CallId::new(s).map_err(|e| CommandError::new("bad_input", format!("call id: {e}")))
}

fn user_id(s: &str) -> CmdResult<UserId> {
    UserId::new(s.trim()).map_err(|e| CommandError::new("bad_input", format!("{s:?}: {e}")))
}

impl Console {
    /// Opens the profile's data directory: settings and the history database (calls a crash
    /// left open are marked abnormal here).
    pub async fn open(data_dir: &Path, ui: Arc<dyn Ui>) -> CmdResult<Arc<Self>> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| CommandError::new("io", format!("{}: {e}", data_dir.display())))?;
        let (history, marked) = History::open(&data_dir.join("history.db")).await?;
        if marked > 0 {
            tracing::warn!("{marked} call(s) left open by a crash marked abnormal");
        }
        let mut settings: Settings = std::fs::read(data_dir.join("settings.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        // `cargo xtask run` points a first start at its dev server.
        if settings.server.is_empty()
            && let Ok(s) = std::env::var("SWITCHBOARD_SERVER")
        {
            settings.server = s;
        }
        Ok(Arc::new(Self {
            ui,
            history,
            data_dir: data_dir.to_owned(),
            settings: Mutex::new(settings),
            session: tokio::sync::Mutex::new(None),
            live: Arc::new(Mutex::new(HashMap::new())),
            video: Mutex::new(None),
            pushes: Mutex::new((HashMap::new(), 0)),
            sounds: Sounds::default(),
        }))
    }

    /// Where this console's events go (the desktop side emits through it too).
    pub fn ui(&self) -> Arc<dyn Ui> {
        self.ui.clone()
    }

    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    /// A call is ringing or in progress: nothing may restart the app now (updates wait).
    pub fn in_call(&self) -> bool {
        !lock(&self.live).is_empty()
    }

    fn save_settings(&self, change: impl FnOnce(&mut Settings)) {
        let mut s = lock(&self.settings);
        change(&mut s);
        let path = self.data_dir.join("settings.json");
        // Written aside and renamed: a crash mid-write keeps the old settings.
        let tmp = path.with_extension("json.tmp");
        let written = serde_json::to_vec_pretty(&*s)
            .map_err(std::io::Error::other)
            .and_then(|b| std::fs::write(&tmp, b))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            tracing::warn!("settings not saved: {e}");
        }
    }

    async fn engine(&self) -> CmdResult<(Engine, Account)> {
        self.session
            .lock()
            .await
            .as_ref()
            .map(|s| (s.engine.clone(), s.account.clone()))
            .ok_or_else(|| CommandError::new("signed_out", "not signed in"))
    }

    fn account_key(a: &Account) -> String {
        format!("{}@{}", a.user, a.server)
    }

    /// Signs in with a password and starts the engine with the chosen devices.
    pub async fn sign_in(
        self: &Arc<Self>,
        server: &str,
        user: &str,
        password: &str,
    ) -> CmdResult<Account> {
        let address: ServerAddress = server
            .parse()
            .map_err(|e: auth::AuthError| CommandError::new("bad_server", e))?;
        let login = auth::login(&address, user.trim(), password)
            .await
            .map_err(|e| match e {
                auth::AuthError::Denied => CommandError::new("denied", e),
                _ => CommandError::new("unreachable", e),
            })?;
        self.sign_out().await;
        let s = self.settings();
        let mut config = EngineConfig::new(address.ws.clone(), login.token);
        config.video_profile = s.video_profile.parse().unwrap_or_default();
        config.camera = s.camera.clone();
        config.microphone = s.microphone.clone();
        config.speaker = s.speaker.clone();
        let (engine, events) = Engine::start(config)
            .await
            .map_err(|e| CommandError::new("sign_in", e))?;
        let account = Account {
            user: login.user.to_string(),
            role: login.role,
            server: address.http.clone(),
        };
        let pump = tokio::spawn(self.clone().pump(events, account.clone()));
        *self.session.lock().await = Some(Session {
            engine,
            account: account.clone(),
            pump,
        });
        self.save_settings(|s| {
            s.server = server.trim().to_owned();
            s.user = user.trim().to_owned();
        });
        self.ui.emit(UiEvent::SignedIn {
            user: account.user.clone(),
            role: account.role,
            server: account.server.clone(),
            resumed: false,
        });
        Ok(account)
    }

    /// Hangs up and signs out (the history keeps every call).
    pub async fn sign_out(&self) {
        if let Some(s) = self.session.lock().await.take() {
            s.engine.shutdown();
            // The pump writes the calls' ends as the engine hangs up; give it a moment.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(3), s.pump).await;
            self.ui.emit(UiEvent::SignedOut {
                reason: "signed out".into(),
            });
        }
    }

    pub async fn account(&self) -> Option<Account> {
        self.session
            .lock()
            .await
            .as_ref()
            .map(|s| s.account.clone())
    }

    /// Calls one user or several (a group call).
    pub async fn call(&self, to: &[String], media: CallMedia) -> CmdResult<String> {
        let (engine, account) = self.engine().await?;
        let to: Vec<UserId> = to.iter().map(|u| user_id(u)).collect::<CmdResult<_>>()?;
        if to.is_empty() {
            return Err(CommandError::new("bad_input", "whom to call?"));
        }
        let id = engine
            .call(to.clone(), media)
            .await
            .map_err(|e| CommandError::new("call", e))?;
        let id = id.to_string();
        lock(&self.live).insert(id.clone(), Live::default());
        self.history
            .started(&NewCall {
                call_id: id.clone(),
                account: Self::account_key(&account),
                direction: Direction::Outgoing,
                peers: to.iter().map(ToString::to_string).collect(),
                media: wire_name(&media),
                queue: false,
                business: None,
                started_at: now_ms(),
            })
            .await?;
        self.ui.emit(UiEvent::HistoryChanged {
            call_id: id.clone(),
        });
        Ok(id)
    }

    /// Answers a ringing call, as audio or video (`media`: switch as we answer).
    pub async fn accept(&self, id: &str, media: Option<CallMedia>) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        let cid = call_id(id)?;
        self.sounds.stop_ring(&*self.ui, id);
        engine.accept(&cid);
        if let Some(m) = media {
            engine.switch_media(&cid, m);
        }
        let at = now_ms();
        let pop = lock(&self.live).get_mut(id).and_then(|l| {
            l.answered_at.get_or_insert(at);
            l.pop.take()
        });
        self.history.answered(id, at).await?;
        if let Some(ctx) = pop {
            self.screen_pop(&ctx);
        }
        Ok(())
    }

    /// Opens the configured URL and runs the configured command for an answered call.
    fn screen_pop(&self, ctx: &PopContext) {
        let s = self.settings();
        if !s.screen_pop_url.trim().is_empty() {
            let url = screen_pop_url(s.screen_pop_url.trim(), ctx);
            if let Err(e) = open::that_detached(&url) {
                self.ui.emit(UiEvent::Error {
                    call_id: Some(ctx.call_id.clone()),
                    message: format!("screen pop {url}: {e}"),
                });
            }
        }
        if !s.screen_pop_command.trim().is_empty() {
            let mut cmd = if cfg!(windows) {
                let mut c = std::process::Command::new("cmd");
                c.args(["/C", s.screen_pop_command.trim()]);
                c
            } else {
                let mut c = std::process::Command::new("sh");
                c.args(["-c", s.screen_pop_command.trim()]);
                c
            };
            cmd.env("SB_CALLER", &ctx.caller)
                .env("SB_BUSINESS", ctx.business.as_deref().unwrap_or(""))
                .env("SB_CALL_ID", &ctx.call_id)
                .stdin(std::process::Stdio::null());
            if let Err(e) = cmd.spawn() {
                self.ui.emit(UiEvent::Error {
                    call_id: Some(ctx.call_id.clone()),
                    message: format!("screen pop command: {e}"),
                });
            }
        }
    }

    /// Auto-answer, the screen pop, the ringer, the language and the global keys.
    pub fn set_preferences(&self, p: Preferences) -> CmdResult<()> {
        if p.ring_volume > 100 {
            return Err(CommandError::new("bad_input", "ring volume: 0 to 100"));
        }
        let ringer = p.ringer.trim();
        if !ringer.is_empty()
            && !switchboard_media::devices::all_devices()
                .iter()
                .any(|d| d.kind == switchboard_media::DeviceKind::Speaker && d.id == ringer)
        {
            return Err(CommandError::new(
                "bad_input",
                format!("no speaker called {ringer:?} for the ringer"),
            ));
        }
        self.save_settings(|s| {
            s.auto_answer = p.auto_answer;
            s.screen_pop_url = p.screen_pop_url.trim().to_owned();
            s.screen_pop_command = p.screen_pop_command.trim().to_owned();
            s.ringer = ringer.to_owned();
            s.ring_volume = p.ring_volume;
            s.announce_tone = p.announce_tone;
            s.language = p.language.trim().to_owned();
            s.shortcuts = p.shortcuts;
            s.recordings_dir = p.recordings_dir.trim().to_owned();
            s.record_media = p.record_media;
            s.record_watermark = p.record_watermark;
        });
        Ok(())
    }

    /// Plays the speaker test (or the ringer, at its volume) on `device`, default the
    /// speaker (or the ringer) of the settings.
    pub async fn test_sound(
        &self,
        cue: switchboard_media::Cue,
        device: Option<&str>,
    ) -> CmdResult<SoundTest> {
        let s = self.settings();
        let (default, volume) = match cue {
            switchboard_media::Cue::Ring => (ringer_device(&s), s.ring_volume),
            _ => (s.speaker.as_str(), 100),
        };
        let device = device.filter(|d| !d.is_empty()).unwrap_or(default);
        self.sounds.test(device, cue, volume).await
    }

    /// Where recordings go.
    pub fn recordings_dir(&self) -> PathBuf {
        let s = self.settings();
        if s.recordings_dir.is_empty() {
            self.data_dir.join("recordings")
        } else {
            PathBuf::from(s.recordings_dir)
        }
    }

    /// Starts recording the call into the recordings folder (a file named by time, peer and
    /// call), or stops it. The other members are told. A folder that cannot be written is an
    /// error here; the call goes on either way.
    pub async fn record(&self, id: &str, on: bool) -> CmdResult<Option<String>> {
        let (engine, account) = self.engine().await?;
        let cid = call_id(id)?;
        if !on {
            let summary = engine.stop_recording(&cid).await;
            return Ok(summary.map(|s| s.path.display().to_string()));
        }
        let dir = self.recordings_dir();
        std::fs::create_dir_all(&dir)
            .map_err(|e| CommandError::new("recording", format!("{}: {e}", dir.display())))?;
        let stamp = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year][month][day]-[hour][minute][second]"
            ))
            .unwrap_or_default();
        let short: String = id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect();
        let path = dir.join(format!("{stamp}-{}-{short}.mp4", account.user));
        let s = self.settings();
        let options = switchboard_media::RecordOptions {
            media: s.record_media,
            watermark: s.record_watermark.then(|| account.user.clone()),
            ..Default::default()
        };
        engine
            .start_recording(&cid, &path, options)
            .await
            .map_err(|e| CommandError::new("recording", e))?;
        let p = path.display().to_string();
        self.ui.emit(UiEvent::Recording {
            call_id: id.to_owned(),
            recording: true,
            paused: false,
            path: p.clone(),
        });
        Ok(Some(p))
    }

    /// Pauses or resumes the call's recording (a pause takes its time out of the file).
    pub async fn pause_recording(&self, id: &str, paused: bool) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        engine.pause_recording(&call_id(id)?, paused);
        self.ui.emit(UiEvent::Recording {
            call_id: id.to_owned(),
            recording: true,
            paused,
            path: String::new(),
        });
        Ok(())
    }

    /// Opens a recording or a received file with the system's application. Only files in
    /// the recordings or received-files folders: the webview cannot open anything else.
    pub fn open_file(&self, path: &str) -> CmdResult<()> {
        let p = Path::new(path)
            .canonicalize()
            .map_err(|e| CommandError::new("file", format!("{path}: {e}")))?;
        let inside = [self.recordings_dir(), self.received_dir()]
            .iter()
            .filter_map(|d| d.canonicalize().ok())
            .any(|d| p.starts_with(d));
        if !inside || !p.is_file() {
            return Err(CommandError::new(
                "file",
                format!("{path} is not a recording or a received file"),
            ));
        }
        open::that_detached(&p).map_err(|e| CommandError::new("file", format!("{path}: {e}")))
    }

    /// The microphone meter of the settings page: on (the chosen microphone, or `device`)
    /// or off.
    pub fn mic_meter(&self, on: bool, device: Option<&str>) -> CmdResult<()> {
        let mic = self.settings().microphone;
        let device = on.then(|| device.filter(|d| !d.is_empty()).unwrap_or(&mic));
        self.sounds.meter(self.ui.clone(), device)
    }

    /// Sends a file to one member over the call's data channel (chunked, with a checksum);
    /// progress comes as `file_progress` events.
    pub async fn send_file(&self, id: &str, to: &str, name: &str, data: Vec<u8>) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        let name = Path::new(name)
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| CommandError::new("bad_input", "the file needs a name"))?
            .to_owned();
        if data.is_empty() {
            return Err(CommandError::new("bad_input", format!("{name} is empty")));
        }
        engine
            .send_file(&call_id(id)?, &user_id(to)?, &name, Arc::new(data))
            .await
            .map_err(|e| CommandError::new("file", e))
    }

    /// Accepts (the file is then received and saved) or declines a file a member offered.
    pub async fn answer_file(
        &self,
        id: &str,
        from: &str,
        file: &str,
        accept: bool,
    ) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        engine
            .answer_file(&call_id(id)?, &user_id(from)?, file, accept)
            .await
            .map_err(|e| CommandError::new("file", e))
    }

    /// Where received files are kept: `received` in the profile's data directory.
    pub fn received_dir(&self) -> PathBuf {
        self.data_dir.join("received")
    }

    /// Saves a received file without overwriting another of the same name.
    fn save_received(&self, name: &str, data: &[u8]) -> std::io::Result<PathBuf> {
        let dir = self.received_dir();
        std::fs::create_dir_all(&dir)?;
        // The far end chose the name: keep only its last component.
        let safe = Path::new(name)
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.starts_with('.'))
            .unwrap_or("file");
        let mut path = dir.join(safe);
        let mut n = 1;
        while path.exists() {
            n += 1;
            path = dir.join(format!("{n}-{safe}"));
        }
        std::fs::write(&path, data)?;
        Ok(path)
    }

    /// What can be shared here, with thumbnails (an error says why nothing can: no display,
    /// no capture service).
    pub async fn screen_sources(&self) -> CmdResult<Vec<ScreenSourceView>> {
        tokio::task::spawn_blocking(|| {
            let sources =
                switchboard_media::screen::sources().map_err(|e| CommandError::new("screen", e))?;
            Ok(sources
                .into_iter()
                .map(|s| {
                    // A window may close between listing and its thumbnail: no picture then.
                    let thumbnail = switchboard_media::screen::thumbnail(&s.id, 240)
                        .ok()
                        .flatten()
                        .and_then(|f| jpeg_data_url(&f));
                    ScreenSourceView {
                        source: s,
                        thumbnail,
                    }
                })
                .collect())
        })
        .await
        .map_err(|e| CommandError::new("screen", e))?
    }

    /// Shares a screen or window in the call (replacing a share in progress), or stops
    /// sharing (`source` None). The others are told.
    pub async fn share_screen(&self, id: &str, source: Option<&str>) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        let cid = call_id(id)?;
        let Some(source) = source else {
            engine.stop_screen_share(&cid);
            return Ok(());
        };
        engine
            .share_screen(&cid, source)
            .await
            .map_err(|e| CommandError::new("screen", e))?;
        self.ui.emit(UiEvent::ScreenShare {
            call_id: id.to_owned(),
            sharing: true,
            source: Some(source.to_owned()),
            reason: None,
        });
        Ok(())
    }

    /// Invites more users into the call (it becomes a group call).
    pub async fn invite(&self, id: &str, users: &[String]) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        let users: Vec<UserId> = users.iter().map(|u| user_id(u)).collect::<CmdResult<_>>()?;
        if users.is_empty() {
            return Err(CommandError::new("bad_input", "whom to invite?"));
        }
        // They enter the history row when they join.
        engine.invite(&call_id(id)?, users);
        Ok(())
    }

    /// Declines a ringing call, cancels an outgoing one, or hangs up.
    pub async fn hangup(&self, id: &str) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        self.sounds.stop_ring(&*self.ui, id);
        engine.hangup(&call_id(id)?);
        Ok(())
    }

    pub async fn mute(&self, id: &str, audio: bool, video: bool) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        engine.mute(&call_id(id)?, audio, video);
        Ok(())
    }

    pub async fn switch_media(&self, id: &str, media: CallMedia) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        engine.switch_media(&call_id(id)?, media);
        Ok(())
    }

    /// A text message to everyone in the call (kept in the history).
    pub async fn send_message(&self, id: &str, text: &str) -> CmdResult<()> {
        let (engine, account) = self.engine().await?;
        let t = Text::new(text).map_err(|e| CommandError::new("bad_input", e))?;
        engine.send_call_message(&call_id(id)?, t);
        let at = now_ms();
        self.history.message(id, at, &account.user, text).await?;
        self.ui.emit(UiEvent::Message {
            call_id: id.to_owned(),
            from: account.user,
            text: text.to_owned(),
            at,
            mine: true,
        });
        Ok(())
    }

    /// Every device that can be picked now (synthetic ones first).
    pub async fn devices(&self) -> Vec<switchboard_media::DeviceInfo> {
        tokio::task::spawn_blocking(switchboard_media::devices::all_devices)
            .await
            .unwrap_or_default()
    }

    /// Picks a device (also during a call) and remembers it.
    pub async fn set_device(&self, kind: switchboard_media::DeviceKind, id: &str) -> CmdResult<()> {
        use switchboard_media::DeviceKind as K;
        if let Ok((engine, _)) = self.engine().await {
            match kind {
                K::Camera => engine.set_camera(id).await?,
                K::Microphone => engine.set_microphone(id).await?,
                K::Speaker => engine.set_speaker(id).await?,
            }
        } else {
            let checked = match kind {
                K::Camera => switchboard_media::camera::check(id),
                K::Microphone => switchboard_media::Microphone::open(id).map(drop),
                K::Speaker => switchboard_media::Speaker::open(id).map(drop),
            };
            checked.map_err(|e| CommandError::new("device", e))?;
        }
        self.save_settings(|s| match kind {
            K::Camera => s.camera = id.to_owned(),
            K::Microphone => s.microphone = id.to_owned(),
            K::Speaker => s.speaker = id.to_owned(),
        });
        Ok(())
    }

    pub async fn set_video_profile(&self, profile: &str) -> CmdResult<()> {
        let p: VideoProfile = profile
            .parse()
            .map_err(|e| CommandError::new("bad_input", format!("{profile:?}: {e}")))?;
        if let Ok((engine, _)) = self.engine().await {
            engine.set_video_profile(p);
        }
        self.save_settings(|s| s.video_profile = p.to_string());
        Ok(())
    }

    /// Joins the queue as an agent with these skills (`business` names).
    pub async fn agent_register(&self, area: &str, skills: &[String]) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        let skills = skills
            .iter()
            .map(|b| {
                Ok(switchboard_protocol::Skill {
                    business: switchboard_protocol::Business::new(b.as_str())
                        .map_err(|e| CommandError::new("bad_input", e))?,
                    level: 1,
                })
            })
            .collect::<CmdResult<Vec<_>>>()?;
        engine.send_raw(ClientMessage::AgentRegister(AgentRegister {
            profile: AgentProfile {
                area: Label::new(area).map_err(|e| CommandError::new("bad_input", e))?,
                skills,
                display_name: None,
            },
        }));
        Ok(())
    }

    /// Ready, not ready (with a reason) or offline; now or after this call.
    pub async fn agent_state(&self, state: SetAgentState) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        engine.send_raw(ClientMessage::SetAgentState(state));
        Ok(())
    }

    /// Ends the wrap-up with notes and a disposition (also kept in the history).
    pub async fn end_wrap_up(&self, w: EndWrapUp) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        let id = w.call_id.to_string();
        let notes = w.notes.as_ref().map(|t| t.to_string()).unwrap_or_default();
        let disposition = w.disposition.as_ref().map(ToString::to_string);
        engine.send_raw(ClientMessage::EndWrapUp(w));
        self.history
            .set_notes(&id, &notes, disposition.as_deref())
            .await?;
        self.ui.emit(UiEvent::HistoryChanged { call_id: id });
        Ok(())
    }

    pub async fn transfer(&self, t: Transfer) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        engine.send_raw(ClientMessage::Transfer(t));
        Ok(())
    }

    /// The signed-in account's calls that match (the account is filled in here).
    pub async fn history(&self, mut q: HistoryQuery) -> CmdResult<Vec<CallRow>> {
        q.account = self.history_account().await?;
        Ok(self.history.query(&q).await?)
    }

    pub async fn history_messages(&self, id: &str) -> CmdResult<Vec<MessageRow>> {
        Ok(self.history.messages(id).await?)
    }

    pub async fn set_notes(
        &self,
        id: &str,
        notes: &str,
        disposition: Option<&str>,
    ) -> CmdResult<()> {
        self.history.set_notes(id, notes, disposition).await?;
        Ok(())
    }

    /// Exports the matching calls to a CSV file; progress arrives as `export_progress`.
    pub async fn export_history(&self, mut q: HistoryQuery, path: &Path) -> CmdResult<u64> {
        q.account = self.history_account().await?;
        let ui = self.ui.clone();
        Ok(self
            .history
            .export_csv(&q, path, |done, total| {
                ui.emit(UiEvent::ExportProgress { done, total });
            })
            .await?)
    }

    /// The account whose history is shown: the one signed in, else the last one.
    async fn history_account(&self) -> CmdResult<String> {
        if let Some(a) = self.account().await {
            return Ok(Self::account_key(&a));
        }
        let s = self.settings();
        let server: ServerAddress = s
            .server
            .parse()
            .map_err(|_| CommandError::new("signed_out", "not signed in"))?;
        Ok(format!("{}@{}", s.user, server.http))
    }

    /// Finds a tile's pictures in the signed-in engine.
    fn video_sources(self: &Arc<Self>) -> video::Sources {
        let me = Arc::downgrade(self);
        Arc::new(move |tile| {
            let me = me.clone();
            Box::pin(async move {
                let me = me.upgrade()?;
                let (engine, _) = me.engine().await.ok()?;
                match tile {
                    video::Tile::Local => engine.local_frames().await.map(video::Source::Local),
                    video::Tile::Remote { call_id, user } => engine
                        .remote_frames(&CallId::new(call_id).ok()?, &UserId::new(user).ok()?)
                        .await
                        .map(video::Source::Remote),
                    video::Tile::Screen { call_id, user } => engine
                        .remote_screen_frames(&CallId::new(call_id).ok()?, &UserId::new(user).ok()?)
                        .await
                        .map(video::Source::Remote),
                }
            })
        })
    }

    /// Where the webview's video tiles connect; starts the bridge at the first call.
    pub async fn video_endpoint(self: &Arc<Self>) -> CmdResult<video::Endpoint> {
        if let Some(e) = lock(&self.video).clone() {
            return Ok(e);
        }
        let e = video::start(self.video_sources())
            .await
            .map_err(|e| CommandError::new("video", e))?;
        *lock(&self.video) = Some(e.clone());
        Ok(e)
    }

    /// The IPC-channel transport for a tile (measured against the WebSocket, docs/app.md):
    /// pictures go to `send` until `video_push_close`. Returns the tile's id.
    pub async fn video_push(
        self: &Arc<Self>,
        path: &str,
        size: (usize, usize),
        send: impl Fn(Vec<u8>) -> bool + Send + 'static,
    ) -> CmdResult<u32> {
        let tile = video::Tile::from_path(path)
            .ok_or_else(|| CommandError::new("bad_input", format!("no tile {path:?}")))?;
        let limit = tile.limit();
        let source = (self.video_sources())(tile)
            .await
            .ok_or_else(|| CommandError::new("video", format!("no pictures for {path}")))?;
        let (tx, rx) = tokio::sync::watch::channel(size);
        let task = video::push(source, limit, rx, send);
        let mut pushes = lock(&self.pushes);
        pushes.1 += 1;
        let id = pushes.1;
        pushes.0.insert(id, (task, tx));
        Ok(id)
    }

    pub fn video_push_resize(&self, id: u32, size: (usize, usize)) {
        if let Some((_, tx)) = lock(&self.pushes).0.get(&id) {
            let _ = tx.send(size);
        }
    }

    pub fn video_push_close(&self, id: u32) {
        if let Some((task, _)) = lock(&self.pushes).0.remove(&id) {
            task.abort();
        }
    }

    /// Engine events → UI events and history rows, until the engine stops.
    async fn pump(
        self: Arc<Self>,
        mut events: tokio::sync::mpsc::UnboundedReceiver<Event>,
        account: Account,
    ) {
        while let Some(ev) = events.recv().await {
            if let Err(e) = self.on_event(ev, &account).await {
                tracing::warn!("history: {e}");
                self.ui.emit(UiEvent::Error {
                    call_id: None,
                    message: e.to_string(),
                });
            }
        }
    }

    async fn on_event(self: &Arc<Self>, ev: Event, account: &Account) -> CmdResult<()> {
        let ui = |e| self.ui.emit(e);
        match ev {
            Event::SignedIn { resumed, .. } => ui(UiEvent::SignedIn {
                user: account.user.clone(),
                role: account.role,
                server: account.server.clone(),
                resumed,
            }),
            Event::SignalingLost(reason) => ui(UiEvent::Reconnecting { reason }),
            Event::Closed(reason) => ui(UiEvent::SignedOut { reason }),
            Event::Incoming {
                call_id,
                from,
                kind,
                media,
                members,
                from_name,
                queue,
            } => {
                let id = call_id.to_string();
                let pop = PopContext {
                    caller: from_name
                        .as_ref()
                        .map_or_else(|| from.to_string(), ToString::to_string),
                    business: queue.as_ref().map(|q| q.business.to_string()),
                    call_id: id.clone(),
                };
                lock(&self.live).insert(
                    id.clone(),
                    Live {
                        answered_at: None,
                        pop: Some(pop),
                    },
                );
                let mut peers: Vec<String> = vec![from.to_string()];
                peers.extend(
                    members
                        .iter()
                        .map(ToString::to_string)
                        .filter(|m| *m != account.user && *m != from.as_str()),
                );
                self.history
                    .started(&NewCall {
                        call_id: id.clone(),
                        account: Self::account_key(account),
                        direction: Direction::Incoming,
                        peers,
                        media: wire_name(&media),
                        queue: kind == CallKind::Queue,
                        business: queue.as_ref().map(|q| q.business.to_string()),
                        started_at: now_ms(),
                    })
                    .await?;
                ui(UiEvent::HistoryChanged {
                    call_id: id.clone(),
                });
                ui(UiEvent::Incoming {
                    call_id: id.clone(),
                    from: from.to_string(),
                    from_name: from_name.map(|n| n.to_string()),
                    kind,
                    media,
                    members: members.iter().map(ToString::to_string).collect(),
                    queue,
                });
                let settings = self.settings();
                self.sounds.ring(&*self.ui, &id, &settings);
                if settings.auto_answer.answers(kind) {
                    // A moment for the agent to hear it ring, as desk phones do, then the
                    // announce tone: "you are connected now".
                    let me = self.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(AUTO_ANSWER_AFTER).await;
                        let ringing = lock(&me.live)
                            .get(&id)
                            .is_some_and(|l| l.answered_at.is_none());
                        if !ringing {
                            return;
                        }
                        match me.accept(&id, None).await {
                            Ok(()) => me.sounds.announce(&*me.ui, &me.settings()),
                            Err(e) => tracing::warn!("auto-answer {id}: {e}"),
                        }
                    });
                }
            }
            Event::Ringing { call_id, user } => ui(UiEvent::Ringing {
                call_id: call_id.to_string(),
                user: user.to_string(),
            }),
            Event::MemberJoined { call_id, user, .. } => {
                let id = call_id.to_string();
                let at = now_ms();
                if let Some(l) = lock(&self.live).get_mut(&id) {
                    l.answered_at.get_or_insert(at);
                }
                self.history.answered(&id, at).await?;
                self.history.add_peer(&id, user.as_str()).await?;
                ui(UiEvent::MemberJoined {
                    call_id: id,
                    user: user.to_string(),
                });
            }
            Event::MemberLeft { call_id, user, .. } => ui(UiEvent::MemberLeft {
                call_id: call_id.to_string(),
                user: user.to_string(),
            }),
            Event::FirstMedia {
                call_id,
                user,
                kind,
                ..
            } => ui(UiEvent::FirstMedia {
                call_id: call_id.to_string(),
                user: user.to_string(),
                kind: kind.to_owned(),
            }),
            Event::RemoteMediaState {
                call_id,
                user,
                state,
            } => ui(UiEvent::RemoteMedia {
                call_id: call_id.to_string(),
                user: user.to_string(),
                state,
            }),
            Event::MediaSwitched { call_id, by, media } => ui(UiEvent::MediaSwitched {
                call_id: call_id.to_string(),
                by: by.to_string(),
                media,
            }),
            Event::CallMessage {
                call_id,
                from,
                text,
            }
            | Event::DataText {
                call_id,
                from,
                text,
            } => {
                let at = now_ms();
                let id = call_id.to_string();
                self.history.message(&id, at, from.as_str(), &text).await?;
                ui(UiEvent::Message {
                    call_id: id,
                    from: from.to_string(),
                    text,
                    at,
                    mine: false,
                });
            }
            Event::Stats { call_id, peers } => {
                let id = call_id.to_string();
                self.history.alive(&id, now_ms()).await?;
                ui(UiEvent::Stats { call_id: id, peers });
            }
            Event::DeviceFailed { kind, id, reason } => {
                ui(UiEvent::DeviceFailed { kind, id, reason })
            }
            Event::Ended {
                call_id,
                reason,
                stats,
                ..
            } => {
                let id = call_id.to_string();
                self.sounds.stop_ring(&*self.ui, &id);
                let at = now_ms();
                let answered = lock(&self.live).remove(&id).and_then(|l| l.answered_at);
                let (code, side) = (wire_name(&reason.code), wire_name(&reason.side));
                let quality = quality_summary(&stats);
                self.history
                    .ended(&id, at, &code, &side, quality.as_ref())
                    .await?;
                ui(UiEvent::Ended {
                    call_id: id.clone(),
                    code,
                    side,
                    duration_ms: answered.map_or(0, |a| (at - a).max(0)),
                });
                ui(UiEvent::HistoryChanged { call_id: id });
            }
            Event::RecordingStopped { call_id, summary } => {
                let id = call_id.to_string();
                ui(UiEvent::Recording {
                    call_id: id.clone(),
                    recording: false,
                    paused: false,
                    path: summary.path.display().to_string(),
                });
                if summary.bytes > 0 {
                    self.history
                        .set_recording(&id, &summary.path.display().to_string())
                        .await?;
                    ui(UiEvent::HistoryChanged {
                        call_id: id.clone(),
                    });
                }
                if let Some(e) = summary.error {
                    ui(UiEvent::Error {
                        call_id: Some(id),
                        message: e.to_string(),
                    });
                }
            }
            Event::ScreenShareEnded { call_id, reason } => {
                ui(UiEvent::ScreenShare {
                    call_id: call_id.to_string(),
                    sharing: false,
                    source: None,
                    reason,
                });
            }
            Event::Server(m) => ui(UiEvent::Server {
                message: serde_json::to_value(&*m).unwrap_or_default(),
            }),
            Event::Error { call_id, message } => ui(UiEvent::Error {
                call_id: call_id.map(|c| c.to_string()),
                message,
            }),
            Event::FileProgress {
                call_id,
                user,
                name,
                done,
                total,
                sending,
            } => ui(UiEvent::FileProgress {
                call_id: call_id.to_string(),
                user: user.to_string(),
                name,
                done,
                total,
                sending,
            }),
            Event::FileOffered {
                call_id,
                from,
                id,
                name,
                size,
            } => ui(UiEvent::FileOffered {
                call_id: call_id.to_string(),
                from: from.to_string(),
                id,
                name,
                size,
            }),
            Event::FileFailed {
                call_id,
                from,
                name,
                reason,
            } => ui(UiEvent::FileFailed {
                call_id: call_id.to_string(),
                from: from.to_string(),
                name,
                reason,
            }),
            Event::FileReceived {
                call_id,
                from,
                name,
                data,
            } => {
                let id = call_id.to_string();
                match self.save_received(&name, &data) {
                    Ok(path) => {
                        let text = format!("📎 {name}");
                        self.history
                            .message(&id, now_ms(), from.as_str(), &text)
                            .await?;
                        ui(UiEvent::FileReceived {
                            call_id: id,
                            from: from.to_string(),
                            name,
                            path: path.display().to_string(),
                        });
                    }
                    Err(e) => ui(UiEvent::Error {
                        call_id: Some(id),
                        message: format!("cannot save {name}: {e}"),
                    }),
                }
            }
            Event::TransportReady { .. } => {}
        }
        Ok(())
    }
}

/// What the history row keeps of a call's quality: per member, what arrived and how well.
fn quality_summary(stats: &[PeerStats]) -> Option<serde_json::Value> {
    if stats.is_empty() {
        return None;
    }
    let members: Vec<serde_json::Value> = stats
        .iter()
        .map(|s| {
            serde_json::json!({
                "user": s.user,
                "quality": s.quality,
                "rtt_ms": s.rtt_ms.map(|r| r.round()),
                "video": {"decoded": s.video.decoded, "lost": s.video.lost,
                          "width": s.video.width, "height": s.video.height},
                "audio": {"decoded": s.audio.decoded, "lost": s.audio.lost,
                          "concealed": s.audio.concealed},
            })
        })
        .collect();
    let worst = stats.iter().map(|s| s.quality).min().unwrap_or(0);
    Some(serde_json::json!({ "quality": worst, "members": members }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_screen_pop_url_carries_the_call_encoded() {
        let ctx = PopContext {
            caller: "Ann & Co/张".into(),
            business: Some("billing".into()),
            call_id: "n1-42".into(),
        };
        assert_eq!(
            screen_pop_url(
                "https://crm.example/pop?c={caller}&b={business}&id={call_id}",
                &ctx
            ),
            "https://crm.example/pop?c=Ann%20%26%20Co%2F%E5%BC%A0&b=billing&id=n1%2D42"
        );
    }

    #[test]
    fn auto_answer_takes_what_it_is_set_to() {
        assert!(!AutoAnswer::Off.answers(CallKind::Queue));
        assert!(AutoAnswer::Always.answers(CallKind::Direct));
        assert!(AutoAnswer::Queue.answers(CallKind::Queue));
        assert!(!AutoAnswer::Queue.answers(CallKind::Direct));
    }
}
