//! The desktop shell: a thin Tauri layer whose commands map onto the crates below it. It holds
//! no call logic (docs/architecture.md).

mod commands;

use tracing_subscriber::EnvFilter;

/// Starts the console window and blocks until the app quits.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "starting Switchboard");

    let result = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::ui_ready
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        // Typically no display or a broken WebKitGTK install: say so plainly and exit non-zero.
        eprintln!("switchboard: cannot start the window: {e}");
        std::process::exit(1);
    }
}
