//! What the UI is told and how a command fails.

use serde::Serialize;
use switchboard_engine::Event;
use switchboard_protocol::{CallId, Role};

/// What the UI is told, as one event stream (`console` in the webview): the engine's events as
/// the engine says them, and the console's own — those that carry what only the console
/// knows (the account, the history's time, where a file was saved) or that it makes itself.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UiEvent {
    /// Signed in as this account (or the engine resumed its session).
    SignedIn {
        user: String,
        role: Role,
        server: String,
        resumed: bool,
    },
    /// A text in a call, theirs or ours (`mine`), at the time the history keeps.
    Message {
        call_id: String,
        from: String,
        text: String,
        at: i64,
        mine: bool,
    },
    HistoryChanged {
        call_id: String,
    },
    ExportProgress {
        done: u64,
        total: u64,
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
    /// A file arrived whole (its size and checksum as announced) and was saved here.
    FileReceived {
        call_id: String,
        from: String,
        name: String,
        path: String,
    },
    /// Our recording of a call started or was paused or resumed (its end is the engine's
    /// `recording_stopped`).
    Recording {
        call_id: String,
        paused: bool,
        path: String,
    },
    /// Our screen share in a call started (its end is the engine's `screen_share_ended`).
    ScreenShareStarted {
        call_id: String,
        source: String,
    },
    /// What the engine said, as it said it.
    #[serde(untagged)]
    Engine(Event),
}

impl UiEvent {
    /// Something went wrong, in this call or none.
    pub fn error(call_id: Option<&str>, message: impl std::fmt::Display) -> Self {
        Self::Engine(Event::Error {
            call_id: call_id.and_then(|c| CallId::new(c).ok()),
            message: message.to_string(),
        })
    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Instant;

    use serde_json::json;
    use switchboard_protocol::{EndCode, EndReason, Side, UserId};

    use super::*;

    /// The webview reads one stream: the console's events and the engine's, each an object
    /// tagged by `type` (what `ui/src/generated/console.ts` declares), with the engine's
    /// instants left in Rust.
    #[test]
    fn the_ui_reads_the_engines_events_as_the_engine_says_them() {
        let id = CallId::new("c1").unwrap();
        let ended = UiEvent::Engine(Event::Ended {
            call_id: id.clone(),
            reason: EndReason::new(EndCode::Hangup, Side::Remote),
            answered: Some(Instant::now()),
            at: Instant::now(),
            stats: Vec::new(),
            hold_count: 1,
            hold_ms: 2_500,
        });
        assert_eq!(
            serde_json::to_value(&ended).unwrap(),
            json!({"type": "ended", "call_id": "c1",
                   "reason": {"code": "hangup", "side": "remote"}, "stats": [],
                   "hold_count": 1, "hold_ms": 2_500})
        );
        let joined = UiEvent::Engine(Event::MemberJoined {
            call_id: id.clone(),
            user: UserId::new("bob").unwrap(),
            at: Instant::now(),
        });
        assert_eq!(
            serde_json::to_value(&joined).unwrap(),
            json!({"type": "member_joined", "call_id": "c1", "user": "bob"})
        );
        let own = UiEvent::ScreenShareStarted {
            call_id: "c1".into(),
            source: "x11:0".into(),
        };
        assert_eq!(
            serde_json::to_value(&own).unwrap(),
            json!({"type": "screen_share_started", "call_id": "c1", "source": "x11:0"})
        );
        assert_eq!(
            serde_json::to_value(UiEvent::error(Some("c1"), "no")).unwrap(),
            json!({"type": "error", "call_id": "c1", "message": "no"})
        );
        // What the console says in its own words is never sent as the engine said it.
        let text = UiEvent::Engine(Event::CallMessage {
            call_id: id,
            from: UserId::new("bob").unwrap(),
            text: "hi".into(),
        });
        assert!(serde_json::to_value(&text).is_err());
    }
}
