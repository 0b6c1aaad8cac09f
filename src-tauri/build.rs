// Tauri's codegen reads tauri.conf.json from the package root (the repo root); capabilities
// live under src-tauri/ to keep the root to the layout of the design card.
/// Every command of src-tauri/src/commands.rs (each needs an `allow-…` in the capability).
const COMMANDS: &[&str] = &[
    "app_info",
    "ui_ready",
    "settings",
    "set_preferences",
    "test_sound",
    "mic_meter",
    "invite",
    "send_file",
    "answer_file",
    "record",
    "pause_recording",
    "screen_sources",
    "share_screen",
    "open_file",
    "sign_in",
    "sign_out",
    "account",
    "call",
    "accept",
    "hangup",
    "mute",
    "hold",
    "consult",
    "switch_media",
    "send_message",
    "devices",
    "set_device",
    "set_video_profile",
    "agent_register",
    "agent_state",
    "end_wrap_up",
    "watch_floor",
    "monitor",
    "set_monitor",
    "take_over",
    "conference",
    "transfer",
    "history",
    "history_messages",
    "set_notes",
    "export_history",
    "video_endpoint",
    "video_channel",
    "video_channel_resize",
    "video_channel_close",
    "update_status",
    "check_update",
    "download_update",
    "install_update",
    "codec_status",
    "codec_download",
    "codec_remove",
];

fn main() {
    let attrs = tauri_build::Attributes::new()
        .capabilities_path_pattern("src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    tauri_build::try_build(attrs).expect("tauri-build failed: see the message above");
}
