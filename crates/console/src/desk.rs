//! The desk's status for the tray and the notifications, folded from the console's own event
//! stream (sans-IO, no Tauri): signed in or not, the agent's state, calls ringing and in
//! progress, a screen share; the tray's colour, its status line, and the notice an incoming
//! call gives. The shell (`src-tauri/src/desktop.rs`) draws it.

use std::collections::HashSet;

use switchboard_engine::Event;
use switchboard_protocol::{AgentState, ServerMessage};

use crate::ui::UiEvent;

/// The colour of the tray's status dot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Light {
    /// Signed out: grey.
    Off,
    /// Signed in (not an agent) or ready: green.
    Available,
    /// A call rings: blue.
    Ringing,
    /// In a call or wrapping one up: red.
    Busy,
    /// Not ready: amber.
    Away,
}

impl Light {
    pub fn rgb(self) -> [u8; 3] {
        match self {
            Self::Off => [0x8a, 0x8f, 0x98],
            Self::Available => [0x1f, 0xa9, 0x4f],
            Self::Ringing => [0x1f, 0x6f, 0xeb],
            Self::Busy => [0xd9, 0x2d, 0x20],
            Self::Away => [0xe8, 0xa3, 0x17],
        }
    }
}

/// A notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub body: String,
}

/// The desk's status, from the console's events.
#[derive(Debug, Default, Clone)]
pub struct Desk {
    user: Option<String>,
    agent: Option<AgentState>,
    /// Ringing incoming calls: id and caller.
    ringing: Vec<(String, String)>,
    calls: HashSet<String>,
    /// The call we share a screen in.
    sharing: Option<String>,
    zh: bool,
}

impl Desk {
    pub fn set_language(&mut self, language: &str) {
        self.zh = language.starts_with("zh");
    }

    /// The English or the Chinese text, in the UI's language.
    pub fn tr<'a>(&self, en: &'a str, zh: &'a str) -> &'a str {
        if self.zh { zh } else { en }
    }

    /// Folds one event in; an incoming call gives a notice.
    pub fn on_event(&mut self, e: &UiEvent) -> Option<Notice> {
        let e = match e {
            UiEvent::SignedIn { user, .. } => {
                self.user = Some(user.clone());
                return None;
            }
            UiEvent::ScreenShareStarted { call_id, .. } => {
                self.sharing = Some(call_id.clone());
                return None;
            }
            UiEvent::Engine(e) => e,
            _ => return None,
        };
        match e {
            Event::Closed { .. } => {
                *self = Self {
                    zh: self.zh,
                    ..Self::default()
                }
            }
            Event::Incoming {
                call_id,
                from,
                from_name,
                media,
                queue,
                ..
            } => {
                let who = from_name
                    .as_ref()
                    .map_or_else(|| from.to_string(), ToString::to_string);
                self.ringing.push((call_id.to_string(), who.clone()));
                let video = matches!(media, switchboard_protocol::CallMedia::Video);
                let mut body = format!(
                    "{who} · {}",
                    if video {
                        self.tr("video", "视频")
                    } else {
                        self.tr("audio", "语音")
                    }
                );
                if let Some(q) = queue {
                    body.push_str(&format!(" · {}", q.business));
                }
                return Some(Notice {
                    title: self.tr("Incoming call", "来电").to_owned(),
                    body,
                });
            }
            Event::MemberJoined { call_id, .. } | Event::FirstMedia { call_id, .. } => {
                let id = call_id.to_string();
                self.ringing.retain(|(r, _)| *r != id);
                self.calls.insert(id);
            }
            Event::Ended { call_id, .. } => {
                let id = call_id.to_string();
                self.ringing.retain(|(r, _)| *r != id);
                self.calls.remove(&id);
                if self.sharing.as_ref() == Some(&id) {
                    self.sharing = None;
                }
            }
            Event::ScreenShareEnded { call_id, .. }
                if self.sharing.as_deref() == Some(call_id.as_str()) =>
            {
                self.sharing = None;
            }
            Event::Server { message } => {
                if let ServerMessage::AgentState(u) = &**message {
                    self.agent = Some(u.state.clone());
                }
            }
            _ => {}
        }
        None
    }

    /// Whether the agent's queue state is known (an agent: the tray offers ready / not ready).
    pub fn is_agent(&self) -> bool {
        self.agent.is_some()
    }

    /// The call we share a screen in (the tray offers to stop it).
    pub fn sharing(&self) -> Option<&str> {
        self.sharing.as_deref()
    }

    pub fn light(&self) -> Light {
        if self.user.is_none() {
            return Light::Off;
        }
        if !self.ringing.is_empty() {
            return Light::Ringing;
        }
        if !self.calls.is_empty() {
            return Light::Busy;
        }
        match &self.agent {
            Some(AgentState::Ringing { .. }) => Light::Ringing,
            Some(AgentState::InCall { .. } | AgentState::WrapUp { .. }) => Light::Busy,
            Some(AgentState::NotReady { .. }) => Light::Away,
            _ => Light::Available,
        }
    }

    /// One line: who and what (the tray's tooltip and first menu line).
    pub fn status(&self) -> String {
        let Some(user) = &self.user else {
            return self.tr("Signed out", "未登录").to_owned();
        };
        let what = if let Some((_, who)) = self.ringing.first() {
            format!("{} {who}", self.tr("Ringing:", "来电："))
        } else if self.sharing.is_some() {
            self.tr("In a call, sharing the screen", "通话中，正在共享屏幕")
                .to_owned()
        } else if !self.calls.is_empty() {
            self.tr("In a call", "通话中").to_owned()
        } else {
            match &self.agent {
                Some(AgentState::Ready) => self.tr("Ready", "就绪").to_owned(),
                Some(AgentState::NotReady { reason }) => {
                    format!("{} ({reason})", self.tr("Not ready", "未就绪"))
                }
                Some(AgentState::Ringing { .. }) => self.tr("Ringing", "振铃").to_owned(),
                Some(AgentState::InCall { .. }) => self.tr("In a call", "通话中").to_owned(),
                Some(AgentState::WrapUp { .. }) => self.tr("Wrap-up", "话后处理").to_owned(),
                Some(AgentState::Offline) | None => self.tr("Signed in", "已登录").to_owned(),
            }
        };
        format!("Switchboard — {user}: {what}")
    }
}

/// Draws the status dot over the app icon (bottom right, a quarter of the icon wide).
pub fn badge(rgba: &[u8], w: u32, h: u32, light: Light) -> Vec<u8> {
    let mut out = rgba.to_vec();
    let r = w.min(h) as f32 * 0.22;
    let (cx, cy) = (w as f32 - r - 0.5, h as f32 - r - 0.5);
    let [cr, cg, cb] = light.rgb();
    for y in 0..h {
        for x in 0..w {
            let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
            let i = ((y * w + x) * 4) as usize;
            if d <= r {
                out[i..i + 4].copy_from_slice(&[cr, cg, cb, 255]);
            } else if d <= r + 1.2 {
                // A white ring keeps the dot visible on any panel colour.
                out[i..i + 4].copy_from_slice(&[255, 255, 255, 255]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Instant;

    use switchboard_protocol::{
        CallId, CallKind, CallMedia, EndCode, EndReason, Label, Side, UserId,
    };

    fn signed_in() -> Desk {
        let mut d = Desk::default();
        d.on_event(&UiEvent::SignedIn {
            user: "amy".into(),
            role: switchboard_protocol::Role::Agent,
            server: "http://x".into(),
            resumed: false,
        });
        d
    }

    fn agent(d: &mut Desk, state: serde_json::Value) {
        let message = serde_json::json!({"type": "agent_state", "state": state, "since": 1});
        d.on_event(&UiEvent::Engine(Event::Server {
            message: Box::new(serde_json::from_value(message).unwrap()),
        }));
    }

    fn id(s: &str) -> CallId {
        CallId::new(s).unwrap()
    }

    fn user(s: &str) -> UserId {
        UserId::new(s).unwrap()
    }

    #[test]
    fn the_desk_follows_sign_in_agent_state_and_calls() {
        let mut d = Desk::default();
        assert_eq!(d.light(), Light::Off);
        assert_eq!(d.status(), "Signed out");
        d = signed_in();
        assert_eq!(d.light(), Light::Available);
        agent(
            &mut d,
            serde_json::json!({"status": "not_ready", "reason": "lunch"}),
        );
        assert_eq!(d.light(), Light::Away);
        assert_eq!(d.status(), "Switchboard — amy: Not ready (lunch)");
        agent(&mut d, serde_json::json!({"status": "ready"}));
        assert_eq!(d.light(), Light::Available);

        let notice = d
            .on_event(&UiEvent::Engine(Event::Incoming {
                call_id: id("c1"),
                from: user("cust-1"),
                from_name: Some(Label::new("Wang Li").unwrap()),
                kind: CallKind::Queue,
                media: CallMedia::Video,
                members: vec![],
                queue: None,
                consult: None,
                monitor: None,
            }))
            .unwrap();
        assert_eq!(notice.title, "Incoming call");
        assert_eq!(notice.body, "Wang Li · video");
        assert_eq!(d.light(), Light::Ringing);
        assert_eq!(d.status(), "Switchboard — amy: Ringing: Wang Li");
        d.on_event(&UiEvent::Engine(Event::MemberJoined {
            call_id: id("c1"),
            user: user("cust-1"),
            at: Instant::now(),
        }));
        assert_eq!(d.light(), Light::Busy);
        // Sharing the screen: the tray offers to stop it, until it stops or the call ends.
        let share = |on| {
            if on {
                UiEvent::ScreenShareStarted {
                    call_id: "c1".into(),
                    source: "x11:0".into(),
                }
            } else {
                UiEvent::Engine(Event::ScreenShareEnded {
                    call_id: id("c1"),
                    reason: None,
                })
            }
        };
        d.on_event(&share(true));
        assert_eq!(d.sharing(), Some("c1"));
        assert_eq!(
            d.status(),
            "Switchboard — amy: In a call, sharing the screen"
        );
        d.on_event(&share(false));
        assert_eq!(d.sharing(), None);
        d.on_event(&share(true));
        d.on_event(&UiEvent::Engine(Event::Ended {
            call_id: id("c1"),
            reason: EndReason::new(EndCode::Hangup, Side::Remote),
            answered: None,
            at: Instant::now(),
            stats: Vec::new(),
            hold_count: 0,
            hold_ms: 0,
        }));
        agent(
            &mut d,
            serde_json::json!({"status": "wrap_up", "call_id": "c1"}),
        );
        assert_eq!(d.light(), Light::Busy);
        assert_eq!(d.status(), "Switchboard — amy: Wrap-up");
        assert_eq!(d.sharing(), None);
        d.on_event(&UiEvent::Engine(Event::Closed { reason: "x".into() }));
        assert_eq!(d.light(), Light::Off);
    }

    #[test]
    fn chinese_texts() {
        let mut d = signed_in();
        d.set_language("zh-CN");
        agent(&mut d, serde_json::json!({"status": "ready"}));
        assert_eq!(d.status(), "Switchboard — amy: 就绪");
        let n = d
            .on_event(&UiEvent::Engine(Event::Incoming {
                call_id: id("c"),
                from: user("bob"),
                from_name: None,
                kind: CallKind::Direct,
                media: CallMedia::Audio,
                members: vec![],
                queue: None,
                consult: None,
                monitor: None,
            }))
            .unwrap();
        assert_eq!((n.title.as_str(), n.body.as_str()), ("来电", "bob · 语音"));
    }

    #[test]
    fn the_badge_colours_the_corner_and_keeps_the_rest() {
        let (w, h) = (32, 32);
        let base = vec![10u8; (w * h * 4) as usize];
        let out = badge(&base, w, h, Light::Busy);
        let px = |x: u32, y: u32| &out[((y * w + x) * 4) as usize..((y * w + x) * 4 + 4) as usize];
        assert_eq!(px(26, 26), &[0xd9, 0x2d, 0x20, 255]);
        assert_eq!(px(2, 2), &[10, 10, 10, 10]);
    }
}
