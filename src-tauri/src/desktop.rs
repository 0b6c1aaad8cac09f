//! Desktop integration: the tray icon shows the agent's status and offers ready / not ready,
//! a notification announces an incoming call while the window is in the background, global
//! keys answer, hang up and mute from any application, and logs go to daily files. The status
//! is folded from the console's own events (`Desk`, sans-IO, unit-tested); the rest is glue
//! to Tauri's tray and its plugins, whose failures (no notification service, a key another
//! program holds, no tray host) are logged and never stop the console.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use switchboard_protocol::{AgentAvailability, AgentState, Label, ServerMessage, SetAgentState};
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager};
use tauri_plugin_global_shortcut::{GlobalShortcutExt, Shortcut, ShortcutState};
use tauri_plugin_notification::NotificationExt;

use switchboard_console::console::{Console, Settings, Ui, UiEvent};
use switchboard_engine::Event;

/// The app's identifier in tauri.conf.json.
pub const BASE_IDENTIFIER: &str = "io.switchboard.console";

/// The identifier a profile runs under: its own single-instance key (a D-Bus name on Linux, a
/// named mutex on Windows, a socket on macOS), window state and webview storage. Profile names
/// are letters, digits, `-` and `_`, which all three accept; the prefix keeps a name that
/// starts with a digit valid as a D-Bus name element.
pub fn identifier(profile: &crate::Profile) -> String {
    match &profile.0 {
        Some(name) => format!("{BASE_IDENTIFIER}.profile_{}", name.replace('-', "_")),
        None => BASE_IDENTIFIER.to_owned(),
    }
}

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
    fn rgb(self) -> [u8; 3] {
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

    fn tr<'a>(&self, en: &'a str, zh: &'a str) -> &'a str {
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

/// The tray and what it shows.
struct Tray {
    icon: TrayIcon,
    status: MenuItem<tauri::Wry>,
    ready: MenuItem<tauri::Wry>,
    not_ready: MenuItem<tauri::Wry>,
    stop_share: MenuItem<tauri::Wry>,
    show: MenuItem<tauri::Wry>,
    quit: MenuItem<tauri::Wry>,
    base: (Vec<u8>, u32, u32),
    shown: Option<(Light, String, bool, bool)>,
}

/// What the desktop side keeps.
pub struct DesktopState {
    desk: Mutex<Desk>,
    tray: Mutex<Option<Tray>>,
    /// Registered global keys: id → action.
    keys: Mutex<HashMap<u32, &'static str>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// UI events go to the webview as one `console` event, and through the desk to the tray and
/// the notifications.
pub struct WebviewUi(pub AppHandle);

impl Ui for WebviewUi {
    fn emit(&self, event: UiEvent) {
        use tauri::Emitter;
        if let Err(e) = self.0.emit("console", &event) {
            tracing::warn!("event not delivered to the window: {e}");
        }
        on_event(&self.0, &event);
    }
}

fn on_event(app: &AppHandle, event: &UiEvent) {
    let Some(state) = app.try_state::<DesktopState>() else {
        return;
    };
    let notice = lock(&state.desk).on_event(event);
    if let Some(n) = notice {
        notify(app, &n);
    }
    refresh_tray(app, &state);
}

/// Shows a notice when the window is not in front, and asks the window manager for attention.
fn notify(app: &AppHandle, n: &Notice) {
    let window = app.get_webview_window("main");
    if window
        .as_ref()
        .and_then(|w| w.is_focused().ok())
        .unwrap_or(false)
    {
        return;
    }
    if let Some(w) = &window {
        let _ = w.request_user_attention(Some(tauri::UserAttentionType::Critical));
    }
    // Where the OS has no notification service (a bare X server, a minimal desktop) this
    // fails: the toast in the window and the ringer still tell the agent.
    if let Err(e) = app
        .notification()
        .builder()
        .title(&n.title)
        .body(&n.body)
        .show()
    {
        tracing::debug!("no notification: {e}");
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

fn refresh_tray(app: &AppHandle, state: &DesktopState) {
    let (light, status, agent, sharing) = {
        let desk = lock(&state.desk);
        (
            desk.light(),
            desk.status(),
            desk.agent.is_some(),
            desk.sharing.is_some(),
        )
    };
    let mut tray = lock(&state.tray);
    let Some(t) = tray.as_mut() else { return };
    let now = (light, status.clone(), agent, sharing);
    if t.shown.as_ref() == Some(&now) {
        return;
    }
    let (rgba, w, h) = &t.base;
    let icon = tauri::image::Image::new_owned(badge(rgba, *w, *h, light), *w, *h);
    let results = [
        t.icon.set_icon(Some(icon)),
        t.icon.set_tooltip(Some(&status)),
        t.status.set_text(&status),
        t.ready.set_enabled(agent),
        t.not_ready.set_enabled(agent),
        t.stop_share.set_enabled(sharing),
    ];
    for r in results {
        if let Err(e) = r {
            tracing::debug!("tray: {e}");
        }
    }
    t.shown = Some(now);
    let _ = app;
}

fn show_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// Builds the tray (where the desktop has none, the icon is simply not shown).
fn build_tray(app: &AppHandle, desk: &Desk) -> tauri::Result<Tray> {
    let tr = |en: &str, zh: &str| desk.tr(en, zh).to_owned();
    let status = MenuItem::with_id(app, "status", desk.status(), false, None::<&str>)?;
    let show = MenuItem::with_id(
        app,
        "show",
        tr("Show Switchboard", "显示 Switchboard"),
        true,
        None::<&str>,
    )?;
    let ready = MenuItem::with_id(app, "ready", tr("Ready", "就绪"), false, None::<&str>)?;
    let not_ready = MenuItem::with_id(
        app,
        "not_ready",
        tr("Not ready (break)", "未就绪（休息）"),
        false,
        None::<&str>,
    )?;
    let stop_share = MenuItem::with_id(
        app,
        "stop_share",
        tr("Stop sharing the screen", "停止共享屏幕"),
        false,
        None::<&str>,
    )?;
    let quit = MenuItem::with_id(app, "quit", tr("Quit", "退出"), true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &PredefinedMenuItem::separator(app)?,
            &show,
            &ready,
            &not_ready,
            &stop_share,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    let base = tauri::image::Image::from_bytes(include_bytes!("../../icons/32x32.png"))?;
    let base = (base.rgba().to_vec(), base.width(), base.height());
    let icon = TrayIconBuilder::with_id("status")
        .icon(tauri::image::Image::new_owned(
            badge(&base.0, base.1, base.2, Light::Off),
            base.1,
            base.2,
        ))
        .tooltip(desk.status())
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, e| on_menu(app, e.id().as_ref()))
        .build(app)?;
    Ok(Tray {
        icon,
        status,
        ready,
        not_ready,
        stop_share,
        show,
        quit,
        base,
        shown: None,
    })
}

fn on_menu(app: &AppHandle, id: &str) {
    let state = match id {
        "show" => return show_window(app),
        "quit" => return app.exit(0),
        "stop_share" => return stop_share(app),
        "ready" => AgentAvailability::Ready,
        "not_ready" => match Label::new("break") {
            Ok(reason) => AgentAvailability::NotReady { reason },
            Err(_) => return,
        },
        _ => return,
    };
    let Some(console) = app.try_state::<Arc<Console>>().map(|c| c.inner().clone()) else {
        return;
    };
    tauri::async_runtime::spawn(async move {
        if let Err(e) = console
            .agent_state(SetAgentState {
                state,
                after_call: false,
            })
            .await
        {
            tracing::warn!("tray: {e}");
        }
    });
}

/// The tray's "Stop sharing the screen".
fn stop_share(app: &AppHandle) {
    let Some(console) = app.try_state::<Arc<Console>>().map(|c| c.inner().clone()) else {
        return;
    };
    // The desk follows the console's events: it knows the call we share in.
    let Some(call) = app
        .try_state::<DesktopState>()
        .and_then(|st| lock(&st.desk).sharing().map(str::to_owned))
    else {
        return;
    };
    tauri::async_runtime::spawn(async move {
        if let Err(e) = console.share_screen(&call, None).await {
            tracing::warn!("tray: {e}");
        }
    });
}

/// Registers the global keys of the settings (replacing any before); a key that cannot be
/// had (taken by another program, not a key, Wayland) is reported to the UI.
pub fn register_keys(app: &AppHandle, s: &Settings) {
    let Some(state) = app.try_state::<DesktopState>() else {
        return;
    };
    let gs = app.global_shortcut();
    if let Err(e) = gs.unregister_all() {
        tracing::debug!("global keys: {e}");
    }
    let mut keys = lock(&state.keys);
    keys.clear();
    if !s.shortcuts.global {
        return;
    }
    for (action, key) in [
        ("answer", &s.shortcuts.answer),
        ("hangup", &s.shortcuts.hangup),
        ("mute", &s.shortcuts.mute),
    ] {
        if key.trim().is_empty() {
            continue;
        }
        let result = Shortcut::from_str(key.trim())
            .map_err(|e| e.to_string())
            .and_then(|sc| {
                gs.register(sc).map_err(|e| e.to_string())?;
                Ok(sc)
            });
        match result {
            Ok(sc) => {
                keys.insert(sc.id(), action);
            }
            Err(e) => {
                tracing::warn!("global key {key} ({action}): {e}");
                if let Some(c) = app.try_state::<Arc<Console>>() {
                    c.ui().emit(UiEvent::error(
                        None,
                        format!("global key {key} ({action}): {e}"),
                    ));
                }
            }
        }
    }
}

/// The settings changed: the tray's language and the global keys follow.
pub fn preferences_changed(app: &AppHandle, s: &Settings) {
    if let Some(state) = app.try_state::<DesktopState>() {
        lock(&state.desk).set_language(&s.language);
        // Rebuilt texts: the menu items are in the old language.
        if let Some(t) = lock(&state.tray).as_mut() {
            let desk = lock(&state.desk);
            let tr = |en: &str, zh: &str| desk.tr(en, zh).to_owned();
            let _ = t.show.set_text(tr("Show Switchboard", "显示 Switchboard"));
            let _ = t.ready.set_text(tr("Ready", "就绪"));
            let _ = t
                .not_ready
                .set_text(tr("Not ready (break)", "未就绪（休息）"));
            let _ = t
                .stop_share
                .set_text(tr("Stop sharing the screen", "停止共享屏幕"));
            let _ = t.quit.set_text(tr("Quit", "退出"));
            t.shown = None;
        }
        refresh_tray(app, &state);
    }
    register_keys(app, s);
}

/// The global-shortcut plugin, with the handler that turns a key into a UI action.
pub fn shortcut_plugin() -> tauri::plugin::TauriPlugin<tauri::Wry> {
    tauri_plugin_global_shortcut::Builder::new()
        .with_handler(|app, shortcut, event| {
            if event.state != ShortcutState::Pressed {
                return;
            }
            let Some(state) = app.try_state::<DesktopState>() else {
                return;
            };
            let action = lock(&state.keys).get(&shortcut.id()).copied();
            if let (Some(action), Some(c)) = (action, app.try_state::<Arc<Console>>()) {
                c.ui().emit(UiEvent::Shortcut {
                    action: action.to_owned(),
                });
            }
        })
        .build()
}

/// Sets up the desk after the console exists: tray, language, global keys.
pub fn setup(app: &AppHandle, settings: &Settings) {
    let mut desk = Desk::default();
    desk.set_language(&settings.language);
    let tray = match build_tray(app, &desk) {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!("no tray icon: {e}");
            None
        }
    };
    app.manage(DesktopState {
        desk: Mutex::new(desk),
        tray: Mutex::new(tray),
        keys: Mutex::new(HashMap::new()),
    });
    register_keys(app, settings);
}

/// A second start of the same profile brings this window forward.
pub fn second_instance(app: &AppHandle) {
    tracing::info!("started again: showing the window");
    show_window(app);
}

/// Logs to stderr and to daily files in `dir` (seven kept), at `RUST_LOG` or `info`.
pub fn init_logging(dir: &Path) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, fmt};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let files = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("switchboard")
        .filename_suffix("log")
        .max_log_files(7)
        .build(dir);
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let registry = tracing_subscriber::registry().with(filter).with(stderr);
    let done = match files {
        Ok(files) => registry
            .with(fmt::layer().with_writer(files).with_ansi(false))
            .try_init(),
        Err(e) => {
            eprintln!("switchboard: no log files in {}: {e}", dir.display());
            registry.try_init()
        }
    };
    if let Err(e) = done {
        eprintln!("switchboard: logging already set up: {e}");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Instant;

    use switchboard_protocol::{CallId, CallKind, CallMedia, EndCode, EndReason, Side, UserId};

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

    #[test]
    fn profile_identifiers_are_distinct_and_valid_dbus_names() {
        let id = identifier(&crate::Profile(Some("2nd-desk".into())));
        assert_eq!(id, "io.switchboard.console.profile_2nd_desk");
        assert!(id.split('.').all(|e| !e.is_empty()
            && !e.starts_with(|c: char| c.is_ascii_digit())
            && e.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')));
        assert_eq!(identifier(&crate::Profile(None)), BASE_IDENTIFIER);
        assert!(Label::new("break").is_ok());
    }
}
