//! What the agent set: server, devices, auto-answer, screen pop, shortcuts, recording.

use serde::{Deserialize, Serialize};
use switchboard_engine::VideoProfile;
use switchboard_protocol::CallKind;

/// What the agent set, kept in the profile's data directory: where and as whom to sign in, the
/// devices, and the preferences the settings page saves in one go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct Settings {
    pub server: String,
    pub user: String,
    pub camera: String,
    pub microphone: String,
    pub speaker: String,
    pub video_profile: String,
    /// Flattened: the settings file keeps one level, as it always had.
    #[serde(flatten)]
    #[ts(flatten)]
    pub preferences: Preferences,
}

/// Keys that answer, hang up and mute from anywhere on the desktop (X11, Windows, macOS;
/// Wayland has no global keys). An empty key is not registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct Preferences {
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

/// Which calls answer themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ts_rs::TS)]
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
            preferences: Preferences::default(),
        }
    }
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
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

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_protocol::CallKind;

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

    /// A settings file of any earlier build (one level, fields missing) still reads.
    #[test]
    fn the_settings_file_keeps_one_level() {
        let s = Settings {
            server: "cc.example.com".into(),
            preferences: Preferences {
                ring_volume: 35,
                ..Preferences::default()
            },
            ..Settings::default()
        };
        let json = serde_json::to_value(&s).unwrap_or_default();
        assert_eq!(json["ring_volume"], 35);
        assert_eq!(json["server"], "cc.example.com");
        let old: Settings =
            serde_json::from_str(r#"{"server":"x","auto_answer":"queue","ring_volume":10}"#)
                .unwrap_or_default();
        assert_eq!(old.server, "x");
        assert_eq!(old.preferences.auto_answer, AutoAnswer::Queue);
        assert_eq!(old.preferences.ring_volume, 10);
        assert_eq!(old.camera, "pattern");
        assert!(old.preferences.announce_tone);
    }

    #[test]
    fn auto_answer_takes_what_it_is_set_to() {
        assert!(!AutoAnswer::Off.answers(CallKind::Queue));
        assert!(AutoAnswer::Always.answers(CallKind::Direct));
        assert!(AutoAnswer::Queue.answers(CallKind::Queue));
        assert!(!AutoAnswer::Queue.answers(CallKind::Direct));
    }
}
