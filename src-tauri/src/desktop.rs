//! Desktop integration: the tray icon shows the agent's status and offers ready / not ready,
//! a notification announces an incoming call while the window is in the background, global
//! keys answer, hang up and mute from any application, and logs go to daily files. The status
//! is folded from the console's own events (`switchboard_console::desk`, sans-IO,
//! unit-tested); this is the glue to Tauri's tray and its plugins, whose failures (no notification service, a key another
//! program holds, no tray host) are logged and never stop the console.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use switchboard_protocol::{AgentAvailability, Label, SetAgentState};
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager};
use tauri_plugin_global_shortcut::{GlobalShortcutExt, Shortcut, ShortcutState};
use tauri_plugin_notification::NotificationExt;

use switchboard_console::console::{Console, Settings, Ui, UiEvent};
use switchboard_console::desk::{Desk, Light, Notice, badge};

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

fn refresh_tray(app: &AppHandle, state: &DesktopState) {
    let (light, status, agent, sharing) = {
        let desk = lock(&state.desk);
        (
            desk.light(),
            desk.status(),
            desk.is_agent(),
            desk.sharing().is_some(),
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
    if !s.preferences.shortcuts.global {
        return;
    }
    for (action, key) in [
        ("answer", &s.preferences.shortcuts.answer),
        ("hangup", &s.preferences.shortcuts.hangup),
        ("mute", &s.preferences.shortcuts.mute),
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
        lock(&state.desk).set_language(&s.preferences.language);
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
    desk.set_language(&settings.preferences.language);
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
