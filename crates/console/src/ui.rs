//! What the UI is told and how a command fails.

use serde::Serialize;
use switchboard_engine::PeerStats;
use switchboard_protocol::{CallKind, CallMedia, MediaState, QueueContext, Role};

/// What the UI is told, as one event stream (`console` in the webview).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
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
        /// A server frame as the protocol has it.
        #[ts(as = "switchboard_protocol::ServerMessage")]
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
        #[ts(type = "\"answer\" | \"hangup\" | \"mute\"")]
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
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ScreenSourceView {
    #[serde(flatten)]
    pub source: switchboard_media::screen::ScreenSource,
    /// A JPEG `data:` URL, when the source can show itself before it is chosen.
    pub thumbnail: Option<String>,
}

/// A picture as a JPEG `data:` URL.
pub(super) fn jpeg_data_url(f: &switchboard_media::I420Frame) -> Option<String> {
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
#[derive(Debug, Clone, Serialize, PartialEq, Eq, thiserror::Error, ts_rs::TS)]
#[error("{message}")]
pub struct CommandError {
    pub code: &'static str,
    pub message: String,
}

impl CommandError {
    pub fn new(code: &'static str, message: impl std::fmt::Display) -> Self {
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
