//! Commands the UI invokes (`ui/src/lib/backend.ts`): each maps onto one `Console` method and
//! returns a typed error the UI shows (`{code, message}`).

use std::sync::Arc;

use serde::Serialize;
use switchboard_protocol::{CallMedia, EndWrapUp, MonitorMode, SetAgentState, Transfer};
use tauri::{Manager, State};

use switchboard_console::console::{Account, CmdResult, CommandError, Console, Settings};
use switchboard_console::history::{CallRow, HistoryQuery, MessageRow};

type C<'a> = State<'a, Arc<Console>>;

/// The build, as the UI shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct AppInfo {
    pub name: &'static str,
    pub version: &'static str,
    pub protocol_version: u32,
    pub platform: String,
    /// `--profile NAME`, when one was given.
    pub profile: Option<String>,
}

/// What this build is.
#[tauri::command]
pub fn app_info(profile: State<'_, crate::Profile>) -> AppInfo {
    AppInfo {
        name: "Switchboard",
        version: env!("CARGO_PKG_VERSION"),
        protocol_version: switchboard_protocol::PROTOCOL_VERSION,
        platform: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
        profile: profile.0.clone(),
    }
}

/// The UI mounted and reached Rust over IPC. Logged, so that a smoke test (and a support
/// engineer reading the log) can tell a blank window from a working one.
#[tauri::command]
pub fn ui_ready() {
    tracing::info!("ui ready");
}

#[tauri::command]
pub fn settings(c: C<'_>) -> Settings {
    c.settings()
}

/// Auto-answer, the screen pop, the ringer, the language and the global keys.
#[tauri::command]
pub fn set_preferences(
    c: C<'_>,
    app: tauri::AppHandle,
    preferences: switchboard_console::console::Preferences,
) -> CmdResult<()> {
    c.set_preferences(preferences)?;
    // The tray's language and the global keys follow at once.
    crate::desktop::preferences_changed(&app, &c.settings());
    Ok(())
}

/// Plays the speaker test or one ring period; says how much played.
#[tauri::command]
pub async fn test_sound(
    c: C<'_>,
    cue: switchboard_media::Cue,
    device: Option<String>,
) -> CmdResult<switchboard_console::sounds::SoundTest> {
    c.test_sound(cue, device.as_deref()).await
}

/// Sends a file: the bytes are the request's raw body (no JSON round trip for megabytes), the
/// call, the recipient and the name come as headers (`x-call-id`, `x-to`, `x-file-name`,
/// percent-encoded).
#[tauri::command]
pub async fn send_file(c: C<'_>, request: tauri::ipc::Request<'_>) -> CmdResult<()> {
    let header = |k: &str| {
        request
            .headers()
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .ok_or_else(|| CommandError::new("bad_input", format!("no {k}")))
    };
    let (id, to, name) = (
        header("x-call-id")?,
        header("x-to")?,
        header("x-file-name")?,
    );
    let tauri::ipc::InvokeBody::Raw(data) = request.body() else {
        return Err(CommandError::new(
            "bad_input",
            "send the file's bytes as the body",
        ));
    };
    c.send_file(&id, &to, &name, data.clone()).await
}

/// Accepts or declines a file a member of the call offered.
#[tauri::command]
pub async fn answer_file(
    c: C<'_>,
    call_id: String,
    from: String,
    id: String,
    accept: bool,
) -> CmdResult<()> {
    c.answer_file(&call_id, &from, &id, accept).await
}

/// Invites more users into the call.
#[tauri::command]
pub async fn invite(c: C<'_>, call_id: String, users: Vec<String>) -> CmdResult<()> {
    c.invite(&call_id, &users).await
}

/// What can be shared (screens and windows, with thumbnails).
#[tauri::command]
pub async fn screen_sources(
    c: C<'_>,
) -> CmdResult<Vec<switchboard_console::console::ScreenSourceView>> {
    c.screen_sources().await
}

/// Shares a screen or window in the call, or stops sharing (`source` null).
#[tauri::command]
pub async fn share_screen(c: C<'_>, call_id: String, source: Option<String>) -> CmdResult<()> {
    c.share_screen(&call_id, source.as_deref()).await
}

/// Starts (`on`) or stops recording the call; the file's path.
#[tauri::command]
pub async fn record(c: C<'_>, call_id: String, on: bool) -> CmdResult<Option<String>> {
    c.record(&call_id, on).await
}

#[tauri::command]
pub async fn pause_recording(c: C<'_>, call_id: String, paused: bool) -> CmdResult<()> {
    c.pause_recording(&call_id, paused).await
}

/// Opens a recording or a received file with the system's application.
#[tauri::command]
pub fn open_file(c: C<'_>, path: String) -> CmdResult<()> {
    c.open_file(&path)
}

/// The settings page's microphone meter on or off (`mic_level` events).
#[tauri::command]
pub fn mic_meter(c: C<'_>, on: bool, device: Option<String>) -> CmdResult<()> {
    c.mic_meter(on, device.as_deref())
}

#[tauri::command]
pub async fn sign_in(
    c: C<'_>,
    server: String,
    user: String,
    password: String,
) -> CmdResult<Account> {
    c.sign_in(&server, &user, &password).await
}

#[tauri::command]
pub async fn sign_out(c: C<'_>) -> CmdResult<()> {
    c.sign_out().await;
    Ok(())
}

#[tauri::command]
pub async fn account(c: C<'_>) -> CmdResult<Option<Account>> {
    Ok(c.account().await)
}

#[tauri::command]
pub async fn call(c: C<'_>, to: Vec<String>, media: CallMedia) -> CmdResult<String> {
    c.call(&to, media).await
}

#[tauri::command]
pub async fn accept(c: C<'_>, call_id: String, media: Option<CallMedia>) -> CmdResult<()> {
    c.accept(&call_id, media).await
}

#[tauri::command]
pub async fn hangup(c: C<'_>, call_id: String) -> CmdResult<()> {
    c.hangup(&call_id).await
}

#[tauri::command]
pub async fn consult(c: C<'_>, call_id: String, to: String) -> CmdResult<String> {
    c.consult(&call_id, &to).await
}

#[tauri::command]
pub async fn hold(c: C<'_>, call_id: String, on: bool) -> CmdResult<()> {
    c.hold(&call_id, on).await
}

#[tauri::command]
pub async fn mute(c: C<'_>, call_id: String, audio: bool, video: bool) -> CmdResult<()> {
    c.mute(&call_id, audio, video).await
}

#[tauri::command]
pub async fn switch_media(c: C<'_>, call_id: String, media: CallMedia) -> CmdResult<()> {
    c.switch_media(&call_id, media).await
}

#[tauri::command]
pub async fn send_message(c: C<'_>, call_id: String, text: String) -> CmdResult<()> {
    c.send_message(&call_id, &text).await
}

#[tauri::command]
pub async fn devices(c: C<'_>) -> CmdResult<Vec<switchboard_media::DeviceInfo>> {
    Ok(c.devices().await)
}

#[tauri::command]
pub async fn set_device(
    c: C<'_>,
    kind: switchboard_media::DeviceKind,
    id: String,
) -> CmdResult<()> {
    c.set_device(kind, &id).await
}

#[tauri::command]
pub async fn set_video_profile(c: C<'_>, profile: String) -> CmdResult<()> {
    c.set_video_profile(&profile).await
}

#[tauri::command]
pub async fn agent_register(c: C<'_>, area: String, skills: Vec<String>) -> CmdResult<()> {
    c.agent_register(&area, &skills).await
}

#[tauri::command]
pub async fn agent_state(c: C<'_>, state: SetAgentState) -> CmdResult<()> {
    c.agent_state(state).await
}

#[tauri::command]
pub async fn monitor(c: C<'_>, agent: String, mode: MonitorMode) -> CmdResult<String> {
    c.monitor(&agent, mode).await
}

#[tauri::command]
pub async fn set_monitor(c: C<'_>, call_id: String, mode: MonitorMode) -> CmdResult<()> {
    c.set_monitor(&call_id, mode).await
}

#[tauri::command]
pub async fn take_over(c: C<'_>, call_id: String) -> CmdResult<()> {
    c.take_over(&call_id).await
}

#[tauri::command]
pub async fn conference(c: C<'_>, call_id: String) -> CmdResult<()> {
    c.conference(&call_id).await
}

#[tauri::command]
pub async fn watch_floor(c: C<'_>, on: bool) -> CmdResult<()> {
    c.watch_floor(on).await
}

#[tauri::command]
pub async fn end_wrap_up(c: C<'_>, wrap_up: EndWrapUp) -> CmdResult<()> {
    c.end_wrap_up(wrap_up).await
}

#[tauri::command]
pub async fn transfer(c: C<'_>, transfer: Transfer) -> CmdResult<()> {
    c.transfer(transfer).await
}

#[tauri::command]
pub async fn history(c: C<'_>, query: HistoryQuery) -> CmdResult<Vec<CallRow>> {
    c.history(query).await
}

#[tauri::command]
pub async fn history_messages(c: C<'_>, call_id: String) -> CmdResult<Vec<MessageRow>> {
    c.history_messages(&call_id).await
}

#[tauri::command]
pub async fn set_notes(
    c: C<'_>,
    call_id: String,
    notes: String,
    disposition: Option<String>,
) -> CmdResult<()> {
    c.set_notes(&call_id, &notes, disposition.as_deref()).await
}

#[tauri::command]
pub async fn export_history(c: C<'_>, query: HistoryQuery, path: String) -> CmdResult<u64> {
    c.export_history(query, std::path::Path::new(&path)).await
}

#[tauri::command]
pub async fn video_endpoint(c: C<'_>) -> CmdResult<switchboard_console::video::Endpoint> {
    c.video_endpoint().await
}

/// The IPC-channel transport for a video tile (see docs/app.md for how it compares).
#[tauri::command]
pub async fn video_channel(
    c: C<'_>,
    path: String,
    width: usize,
    height: usize,
    on_picture: tauri::ipc::Channel<tauri::ipc::InvokeResponseBody>,
) -> CmdResult<u32> {
    c.video_push(&path, (width, height), move |bytes| {
        on_picture
            .send(tauri::ipc::InvokeResponseBody::Raw(bytes))
            .is_ok()
    })
    .await
}

#[tauri::command]
pub fn video_channel_resize(c: C<'_>, id: u32, width: usize, height: usize) {
    c.video_push_resize(id, (width, height));
}

#[tauri::command]
pub fn video_channel_close(c: C<'_>, id: u32) {
    c.video_push_close(id);
}

/// Where updating stands (also pushed as `update` events).
#[tauri::command]
pub fn update_status(u: State<'_, crate::updates::Updates>) -> crate::updates::UpdateStatus {
    u.status()
}

/// Checks the update manifest now.
#[tauri::command]
pub async fn check_update(app: tauri::AppHandle) -> crate::updates::UpdateStatus {
    crate::updates::check(&app).await
}

/// Downloads the update found and verifies its signature.
#[tauri::command]
pub async fn download_update(app: tauri::AppHandle) -> crate::updates::UpdateStatus {
    crate::updates::download(&app).await
}

/// Installs the verified update and restarts.
#[tauri::command]
pub async fn install_update(app: tauri::AppHandle) -> crate::updates::UpdateStatus {
    crate::updates::install(&app).await
}

/// The video codec: built in, or Cisco's binary and whether it is downloaded.
#[tauri::command]
pub fn codec_status(dir: State<'_, crate::codec::CodecDir>) -> crate::codec::CodecStatus {
    crate::codec::status(&dir)
}

/// The agent agreed to download Cisco's OpenH264: fetch, verify, use.
#[tauri::command]
pub async fn codec_download(app: tauri::AppHandle) -> CmdResult<crate::codec::CodecStatus> {
    tauri::async_runtime::spawn_blocking(move || {
        crate::codec::download(&app.state::<crate::codec::CodecDir>())
    })
    .await
    .map_err(|e| CommandError::new("codec", e.to_string()))?
    .map_err(|e| CommandError::new("codec", e))
}

/// Turns Cisco's codec off and deletes it.
#[tauri::command]
pub fn codec_remove(
    dir: State<'_, crate::codec::CodecDir>,
) -> CmdResult<crate::codec::CodecStatus> {
    crate::codec::remove(&dir).map_err(|e| CommandError::new("codec", e))
}
