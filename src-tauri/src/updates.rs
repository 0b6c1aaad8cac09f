//! Updates (docs/release.md): `tauri-plugin-updater` checks a `latest.json` manifest, downloads
//! the installer it names and verifies its minisign signature against the public key built into
//! this binary by `cargo xtask bundle`. Nothing is installed without the agent's click, and never
//! during a call (the UI keeps the button off then).
//!
//! The manifest's address: `$SWITCHBOARD_UPDATE_URL` (an IT department's mirror; `off` turns
//! checks off), else the one built in (`SWITCHBOARD_UPDATE_URL` at bundle time). It must be
//! `https`, or plain `http` to this machine (a local mirror; the tests). The plugin's own switch
//! for plain http is on in tauri.conf.json because it cannot make that loopback exception; this
//! module makes it instead.

use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tauri_plugin_updater::{Error as UpdaterError, Update, UpdaterExt};

/// The first check waits for the window to settle; then one every few hours.
const FIRST_CHECK: Duration = Duration::from_secs(3);
const CHECK_EVERY: Duration = Duration::from_secs(6 * 3600);

/// What the UI shows about updates (the `update` event and `update_status`).
#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum UpdateStatus {
    /// Not checked yet.
    Idle,
    /// This build cannot update itself; why.
    Disabled {
        reason: String,
    },
    Checking,
    UpToDate {
        current: String,
    },
    Available {
        update: UpdateInfo,
    },
    Downloading {
        update: UpdateInfo,
        received: u64,
        total: Option<u64>,
    },
    /// Downloaded and its signature verified: ready to install.
    Ready {
        update: UpdateInfo,
    },
    Installing {
        update: UpdateInfo,
    },
    /// Installed, but not restarted into: a call came in meanwhile.
    Installed {
        update: UpdateInfo,
    },
    /// A failed check, download, verification or install, in words for the agent.
    Failed {
        message: String,
    },
}

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct UpdateInfo {
    pub version: String,
    pub current: String,
    pub notes: Option<String>,
    pub date: Option<String>,
}

impl UpdateInfo {
    fn of(u: &Update) -> Self {
        Self {
            version: u.version.clone(),
            current: u.current_version.clone(),
            notes: u.body.clone(),
            date: u.date.map(|d| d.to_string()),
        }
    }
}

/// The app's update state: the status shown, and an update downloaded and verified.
pub struct Updates {
    status: Mutex<UpdateStatus>,
    found: tokio::sync::Mutex<Option<Update>>,
    downloaded: tokio::sync::Mutex<Option<(Update, Vec<u8>)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Updates {
    fn new() -> Self {
        Self {
            status: Mutex::new(UpdateStatus::Idle),
            found: tokio::sync::Mutex::new(None),
            downloaded: tokio::sync::Mutex::new(None),
        }
    }

    pub fn status(&self) -> UpdateStatus {
        lock(&self.status).clone()
    }
}

fn set<R: Runtime>(app: &AppHandle<R>, status: UpdateStatus) {
    match &status {
        UpdateStatus::Failed { message } => tracing::warn!("update: {message}"),
        UpdateStatus::Downloading { .. } => {}
        s => tracing::info!("update: {s:?}"),
    }
    *lock(&app.state::<Updates>().status) = status.clone();
    let _ = app.emit("update", status);
}

/// Registers the plugin and the state, and starts the periodic check.
pub fn plugin<R: Runtime>() -> tauri::plugin::TauriPlugin<R, tauri_plugin_updater::Config> {
    tauri_plugin_updater::Builder::new().build()
}

pub fn setup<R: Runtime>(app: &AppHandle<R>) {
    app.manage(Updates::new());
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(FIRST_CHECK).await;
        loop {
            let _ = check(&app).await;
            tokio::time::sleep(CHECK_EVERY).await;
        }
    });
}

/// Whether `url` may carry updates: https, or plain http to this machine.
fn allowed(url: &url::Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

/// The manifest address in force, or why updates are off in this build.
fn endpoint(built_in: &[url::Url], env: Option<String>) -> Result<url::Url, String> {
    let url = match env.as_deref().map(str::trim) {
        Some("off") => {
            return Err("update checks are turned off (SWITCHBOARD_UPDATE_URL=off)".into());
        }
        Some(s) if !s.is_empty() => url::Url::parse(s)
            .map_err(|e| format!("SWITCHBOARD_UPDATE_URL {s:?} is not an address: {e}"))?,
        _ => built_in.first().cloned().ok_or_else(|| {
            "no update address is configured in this build (set SWITCHBOARD_UPDATE_URL)".to_owned()
        })?,
    };
    if !allowed(&url) {
        return Err(format!(
            "the update address {url} must use https (plain http only to this machine)"
        ));
    }
    Ok(url)
}

/// The agent-facing words for a failed check, download or install.
fn explain(e: &UpdaterError) -> String {
    match e {
        UpdaterError::Minisign(_) | UpdaterError::Base64(_) | UpdaterError::SignatureUtf8(_) => {
            "The update was refused: its signature does not match Switchboard's signing key, so \
             the file was damaged or tampered with. Nothing was installed."
                .into()
        }
        UpdaterError::SignedVersionMismatch { signed, announced } => format!(
            "The update was refused: the file is signed as version {signed} but was announced as \
             {announced}. Nothing was installed."
        ),
        UpdaterError::MissingSignedVersion => "The update was refused: its signature does not \
             say which version it is. Nothing was installed."
            .into(),
        UpdaterError::TargetsNotFound(t) => format!(
            "The update server has no installer for this system ({}).",
            t.join(", ")
        ),
        other => format!("Could not reach the update server: {other}"),
    }
}

/// The updater for the address in force, or why this build cannot update itself.
fn updater<R: Runtime>(app: &AppHandle<R>) -> Result<tauri_plugin_updater::Updater, String> {
    // The plugin keeps its configuration to itself; the app's config has the same JSON.
    let config = app.config().plugins.0.get("updater");
    let pubkey = config
        .and_then(|c| c.get("pubkey"))
        .and_then(|k| k.as_str())
        .unwrap_or_default();
    if pubkey.is_empty() {
        return Err(
            "this build has no update signing key (a development build; the \
                    installers from `cargo xtask bundle` have one)"
                .into(),
        );
    }
    let built_in: Vec<url::Url> = config
        .and_then(|c| c.get("endpoints"))
        .and_then(|e| serde_json::from_value(e.clone()).ok())
        .unwrap_or_default();
    let url = endpoint(&built_in, std::env::var("SWITCHBOARD_UPDATE_URL").ok())?;
    app.updater_builder()
        .endpoints(vec![url])
        .and_then(|b| b.timeout(Duration::from_secs(60)).build())
        .map_err(|e| format!("the updater cannot start: {e}"))
}

/// Checks the manifest; `Available` when it names a newer version.
pub async fn check<R: Runtime>(app: &AppHandle<R>) -> UpdateStatus {
    let state = app.state::<Updates>();
    // A download in flight or done stays as it is.
    let now = state.status();
    if matches!(
        now,
        UpdateStatus::Downloading { .. }
            | UpdateStatus::Ready { .. }
            | UpdateStatus::Installing { .. }
            | UpdateStatus::Installed { .. }
    ) {
        return now;
    }
    let status = match updater(app) {
        Err(reason) => UpdateStatus::Disabled { reason },
        Ok(u) => {
            set(app, UpdateStatus::Checking);
            match u.check().await {
                Ok(Some(update)) => {
                    let info = UpdateInfo::of(&update);
                    *state.found.lock().await = Some(update);
                    UpdateStatus::Available { update: info }
                }
                Ok(None) => UpdateStatus::UpToDate {
                    current: app.package_info().version.to_string(),
                },
                Err(e) => UpdateStatus::Failed {
                    message: explain(&e),
                },
            }
        }
    };
    set(app, status.clone());
    status
}

/// Downloads the update found and verifies its signature (the plugin's `download` verifies
/// before it returns the bytes); `Ready` when it holds.
pub async fn download<R: Runtime>(app: &AppHandle<R>) -> UpdateStatus {
    let state = app.state::<Updates>();
    let Some(update) = state.found.lock().await.clone() else {
        return state.status();
    };
    let info = UpdateInfo::of(&update);
    // The manifest's address is checked in `endpoint`; the download's too: the signature
    // protects the file, but an agent's machine should not fetch from anywhere in clear text.
    if !allowed(&update.download_url) {
        let status = UpdateStatus::Failed {
            message: format!(
                "The update was refused: the update server points the download at {}, which is \
                 not https. Nothing was downloaded.",
                update.download_url
            ),
        };
        set(app, status.clone());
        return status;
    }
    let mut received = 0u64;
    let mut last_emit = std::time::Instant::now();
    set(
        app,
        UpdateStatus::Downloading {
            update: info.clone(),
            received,
            total: None,
        },
    );
    let result = update
        .download(
            |chunk, total| {
                received += chunk as u64;
                // A progress bar needs a few updates a second, not one per chunk.
                if last_emit.elapsed() > Duration::from_millis(200) {
                    last_emit = std::time::Instant::now();
                    set(
                        app,
                        UpdateStatus::Downloading {
                            update: info.clone(),
                            received,
                            total,
                        },
                    );
                }
            },
            || {},
        )
        .await;
    let status = match result {
        Ok(bytes) => {
            tracing::info!(
                version = %info.version,
                bytes = bytes.len(),
                "update downloaded and its signature verified"
            );
            *state.downloaded.lock().await = Some((update, bytes));
            UpdateStatus::Ready { update: info }
        }
        Err(e) => UpdateStatus::Failed {
            message: explain(&e),
        },
    };
    set(app, status.clone());
    status
}

/// Installs the verified download (the system asks for an administrator's password on Linux)
/// and restarts into the new version.
pub async fn install<R: Runtime>(app: &AppHandle<R>) -> UpdateStatus {
    let state = app.state::<Updates>();
    if in_call(app) {
        return during_a_call(app);
    }
    let Some((update, bytes)) = state.downloaded.lock().await.take() else {
        return state.status();
    };
    let info = UpdateInfo::of(&update);
    set(
        app,
        UpdateStatus::Installing {
            update: info.clone(),
        },
    );
    // `install` verifies the bytes once more; it blocks on the package manager.
    let outcome = tauri::async_runtime::spawn_blocking(move || {
        let r = update.install(&bytes);
        (update, bytes, r)
    })
    .await;
    match outcome {
        Ok((_, _, Ok(()))) => {
            // A call may have come in while the administrator's prompt was open: the new
            // version is installed and starts with the next launch instead.
            if in_call(app) {
                let status = UpdateStatus::Installed { update: info };
                set(app, status.clone());
                return status;
            }
            tracing::info!(version = %info.version, "update installed; restarting");
            app.restart();
        }
        Ok((update, bytes, Err(e))) => {
            // Kept: the agent may try again (e.g. after a cancelled password prompt).
            *state.downloaded.lock().await = Some((update, bytes));
            let status = UpdateStatus::Failed {
                message: format!("The update was not installed: {}", explain_install(&e)),
            };
            set(app, status.clone());
            status
        }
        Err(e) => {
            let status = UpdateStatus::Failed {
                message: format!("The update was not installed: {e}"),
            };
            set(app, status.clone());
            status
        }
    }
}

fn in_call<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.try_state::<std::sync::Arc<switchboard_console::console::Console>>()
        .is_some_and(|c| c.in_call())
}

/// Installing restarts the app: never while a call rings or is in progress. The UI keeps its
/// button off then; this holds whatever asks.
fn during_a_call<R: Runtime>(app: &AppHandle<R>) -> UpdateStatus {
    let status = app.state::<Updates>().status();
    tracing::warn!("update: not installed during a call");
    let _ = app.emit("update", status.clone());
    status
}

fn explain_install(e: &UpdaterError) -> String {
    match e {
        UpdaterError::AuthenticationFailed => "the administrator's password was not given".into(),
        UpdaterError::Minisign(_) | UpdaterError::SignedVersionMismatch { .. } => explain(e),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn u(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn updates_come_over_https_or_from_this_machine() {
        assert!(allowed(&u("https://example.com/latest.json")));
        assert!(allowed(&u("http://127.0.0.1:8080/latest.json")));
        assert!(allowed(&u("http://localhost/latest.json")));
        assert!(allowed(&u("http://[::1]:9/latest.json")));
        assert!(!allowed(&u("http://example.com/latest.json")));
        assert!(!allowed(&u("http://10.0.0.1/latest.json")));
        assert!(!allowed(&u("file:///tmp/latest.json")));
    }

    #[test]
    fn the_environment_overrides_the_built_in_address() {
        let built_in = [u("https://releases.example.com/latest.json")];
        assert_eq!(endpoint(&built_in, None).unwrap(), built_in[0]);
        assert_eq!(
            endpoint(&built_in, Some("http://127.0.0.1:1/m.json".into())).unwrap(),
            u("http://127.0.0.1:1/m.json")
        );
        assert!(
            endpoint(&built_in, Some("off".into()))
                .unwrap_err()
                .contains("turned off")
        );
        assert!(
            endpoint(&[], None)
                .unwrap_err()
                .contains("no update address")
        );
        assert!(
            endpoint(&built_in, Some("http://mirror.example.com/m.json".into()))
                .unwrap_err()
                .contains("must use https")
        );
        assert!(endpoint(&built_in, Some("not a url".into())).is_err());
    }
}
