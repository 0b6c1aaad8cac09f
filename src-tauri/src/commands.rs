//! Commands the UI invokes (`ui/src/lib/backend.ts`).

use serde::Serialize;

/// The build, as the UI shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AppInfo {
    pub name: &'static str,
    pub version: &'static str,
    pub protocol_version: u32,
    pub platform: String,
}

/// What this build is.
#[tauri::command]
pub fn app_info() -> AppInfo {
    AppInfo {
        name: "Switchboard",
        version: env!("CARGO_PKG_VERSION"),
        protocol_version: switchboard_protocol::PROTOCOL_VERSION,
        platform: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
    }
}

/// The UI mounted and reached Rust over IPC. Logged, so that a smoke test (and a support
/// engineer reading the log) can tell a blank window from a working one.
#[tauri::command]
pub fn ui_ready() {
    tracing::info!("ui ready");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_info_names_this_build() {
        let info = app_info();
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(
            info.protocol_version,
            switchboard_protocol::PROTOCOL_VERSION
        );
        assert!(info.platform.contains(std::env::consts::OS));
    }
}
