//! The desktop shell: a thin Tauri layer whose commands map onto the crates below it. It holds
//! no call logic (docs/architecture.md): `console` owns the engine, the history and the
//! settings; `commands` exposes them; `video` carries pictures to the webview.

mod codec;
mod commands;
pub mod desktop;
pub mod updates;

use switchboard_console::console;

use std::path::PathBuf;
use std::sync::Arc;

use tauri::Manager;

/// `--profile NAME`: a separate data directory (settings, history) and single-instance key, so
/// that two consoles can run on one machine (e.g. an agent and a supervisor, or a test call).
#[derive(Debug, Clone, Default)]
pub struct Profile(pub Option<String>);

impl Profile {
    /// From the command line: `--profile NAME` or `--profile=NAME`. A name is letters, digits,
    /// `-` and `_` (it becomes a directory name).
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut args = args.into_iter();
        let mut name = None;
        while let Some(a) = args.next() {
            if a == "--profile" {
                name = Some(args.next().ok_or("--profile needs a name")?);
            } else if let Some(n) = a.strip_prefix("--profile=") {
                name = Some(n.to_owned());
            }
        }
        if let Some(n) = &name
            && (n.is_empty()
                || n.len() > 64
                || !n
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        {
            return Err(format!(
                "profile {n:?}: use letters, digits, - and _ (at most 64)"
            ));
        }
        Ok(Self(name))
    }

    /// The profile's data directory under the app's.
    pub fn data_dir(&self, app_data: PathBuf) -> PathBuf {
        match &self.0 {
            Some(n) => app_data.join("profiles").join(n),
            None => app_data,
        }
    }
}

/// Starts the console window and blocks until the app quits.
pub fn run() {
    let profile = match Profile::from_args(std::env::args().skip(1)) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("switchboard: {e}");
            std::process::exit(2);
        }
    };
    let mut context = tauri::generate_context!();
    // Each profile is its own app to the OS: single-instance key, window state, webview data.
    context.config_mut().identifier = desktop::identifier(&profile);

    let result = tauri::Builder::default()
        // First: a second start of the same profile must hand over before anything else runs.
        .plugin(
            tauri_plugin_single_instance::Builder::new()
                .callback(|app, _args, _cwd| desktop::second_instance(app))
                .build(),
        )
        .plugin(
            tauri_plugin_window_state::Builder::default()
                // A window closed while hidden must still open visible.
                .with_state_flags(
                    tauri_plugin_window_state::StateFlags::all()
                        - tauri_plugin_window_state::StateFlags::VISIBLE,
                )
                .build(),
        )
        .plugin(tauri_plugin_notification::init())
        .plugin(desktop::shortcut_plugin())
        .plugin(updates::plugin())
        .manage(profile.clone())
        .setup(move |app| {
            // SWITCHBOARD_DATA_DIR overrides the OS location (tests, portable installs). The
            // base is the app's own directory whatever the profile's identifier says.
            let base = match std::env::var_os("SWITCHBOARD_DATA_DIR") {
                Some(d) => PathBuf::from(d),
                None => app.path().data_dir()?.join(desktop::BASE_IDENTIFIER),
            };
            // Cisco's codec is the machine user's, not a profile's.
            codec::setup(app.handle(), base.join("openh264"));
            let dir = profile.data_dir(base);
            desktop::init_logging(&dir.join("logs"));
            tracing::info!(
                version = env!("CARGO_PKG_VERSION"),
                profile = profile.0.as_deref().unwrap_or("default"),
                data_dir = %dir.display(),
                "starting Switchboard"
            );
            let ui = Arc::new(desktop::WebviewUi(app.handle().clone()));
            let console = tauri::async_runtime::block_on(console::Console::open(&dir, ui))?;
            let settings = console.settings();
            app.manage(console);
            desktop::setup(app.handle(), &settings);
            updates::setup(app.handle());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::ui_ready,
            commands::settings,
            commands::set_preferences,
            commands::test_sound,
            commands::mic_meter,
            commands::invite,
            commands::send_file,
            commands::answer_file,
            commands::record,
            commands::screen_sources,
            commands::share_screen,
            commands::pause_recording,
            commands::open_file,
            commands::sign_in,
            commands::sign_out,
            commands::account,
            commands::call,
            commands::accept,
            commands::hangup,
            commands::mute,
            commands::hold,
            commands::consult,
            commands::switch_media,
            commands::send_message,
            commands::devices,
            commands::set_device,
            commands::set_video_profile,
            commands::agent_register,
            commands::agent_state,
            commands::watch_floor,
            commands::monitor,
            commands::set_monitor,
            commands::take_over,
            commands::conference,
            commands::end_wrap_up,
            commands::transfer,
            commands::history,
            commands::history_messages,
            commands::set_notes,
            commands::export_history,
            commands::video_endpoint,
            commands::video_channel,
            commands::video_channel_resize,
            commands::video_channel_close,
            commands::update_status,
            commands::check_update,
            commands::download_update,
            commands::install_update,
            commands::codec_status,
            commands::codec_download,
            commands::codec_remove,
        ])
        .run(context);
    if let Err(e) = result {
        // Typically no display or a broken WebKitGTK install: say so plainly and exit non-zero.
        eprintln!("switchboard: cannot start the window: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_profile_gets_its_own_data_dir() {
        let p = Profile::from_args(args(&["--profile", "agent-2"])).unwrap();
        assert_eq!(
            p.data_dir(PathBuf::from("/d")),
            PathBuf::from("/d/profiles/agent-2")
        );
        let none = Profile::from_args(args(&[])).unwrap();
        assert_eq!(none.data_dir(PathBuf::from("/d")), PathBuf::from("/d"));
        assert_eq!(
            Profile::from_args(args(&["--profile=x"]))
                .unwrap()
                .0
                .as_deref(),
            Some("x")
        );
        assert!(Profile::from_args(args(&["--profile", "../etc"])).is_err());
        assert!(Profile::from_args(args(&["--profile"])).is_err());
    }

    /// The shell's own IPC types (`ui/src/generated/shell.ts`); the console's are generated by
    /// `switchboard-console`.
    #[test]
    fn the_uis_shell_types_are_fresh() {
        let mut b = switchboard_protocol::Bindings::new(
            "// Generated from src-tauri by `cargo xtask codegen`. Do not edit by hand.\n\n",
        );
        b.declare::<crate::commands::AppInfo>()
            .declare::<crate::updates::UpdateInfo>()
            .declare::<crate::updates::UpdateStatus>()
            .declare::<crate::codec::CodecStatus>();
        let console = switchboard_console::typescript::console_bindings().names();
        let file = b.finish(&[
            ("./console", console),
            ("./protocol", switchboard_protocol::protocol_names()),
        ]);
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ui/src/generated/shell.ts");
        if let Err(e) = switchboard_protocol::check_generated(&path, &file) {
            panic!("{e}");
        }
    }
}
