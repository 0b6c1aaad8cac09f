//! The console's state behind the Tauri commands: the signed-in engine, the call history, the
//! settings, and the pump that turns engine events into UI events and history rows. No Tauri
//! types here, so the Rust tests drive it directly (tests/tests/app.rs).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use switchboard_engine::auth::{self, ServerAddresses};
use switchboard_engine::{Engine, EngineConfig, Event};
use switchboard_protocol::{CallId, Role, UserId};

use crate::history::History;
use crate::sounds::Sounds;
use crate::video;

mod agent;
mod bridge;
mod calls;
mod events;

pub use crate::settings::*;
pub use crate::ui::*;

/// Who is signed in.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Account {
    pub user: String,
    pub role: Role,
    pub server: String,
}

struct Session {
    engine: Engine,
    account: Account,
    pump: tokio::task::JoinHandle<()>,
}

/// A call the console follows, for its history row and its screen pop.
#[derive(Debug, Clone, Default)]
struct Live {
    answered_at: Option<i64>,
    /// Who called us (incoming calls).
    pop: Option<PopContext>,
}

/// The console.
pub struct Console {
    ui: Arc<dyn Ui>,
    history: History,
    data_dir: PathBuf,
    settings: Mutex<Settings>,
    session: tokio::sync::Mutex<Option<Session>>,
    live: Arc<Mutex<HashMap<String, Live>>>,
    /// Monitor calls of a supervisor the realm does not announce (`monitor_notice`): the
    /// engine bridges them; the agent's window and history show nothing of them.
    silent: Mutex<std::collections::HashSet<String>>,
    /// Where the webview's video tiles connect (started once per launch).
    video: Mutex<Option<video::Endpoint>>,
    /// Tiles fed through IPC channels, and the last id given.
    pushes: Mutex<(HashMap<u32, Push>, u32)>,
    sounds: Sounds,
}

type Push = (
    tokio::task::JoinHandle<()>,
    tokio::sync::watch::Sender<(usize, usize)>,
);

/// How long an auto-answered call rings first.
const AUTO_ANSWER_AFTER: std::time::Duration = std::time::Duration::from_millis(1200);

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn call_id(s: &str) -> CmdResult<CallId> {
    CallId::new(s).map_err(|e| CommandError::new("bad_input", format!("call id: {e}")))
}

fn user_id(s: &str) -> CmdResult<UserId> {
    UserId::new(s.trim()).map_err(|e| CommandError::new("bad_input", format!("{s:?}: {e}")))
}

impl Console {
    /// Opens the profile's data directory: settings and the history database (calls a crash
    /// left open are marked abnormal here).
    pub async fn open(data_dir: &Path, ui: Arc<dyn Ui>) -> CmdResult<Arc<Self>> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| CommandError::new("io", format!("{}: {e}", data_dir.display())))?;
        let (history, marked) = History::open(&data_dir.join("history.db")).await?;
        if marked > 0 {
            tracing::warn!("{marked} call(s) left open by a crash marked abnormal");
        }
        let mut settings: Settings = std::fs::read(data_dir.join("settings.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        // `cargo xtask run` points a first start at its dev server.
        if settings.server.is_empty()
            && let Ok(s) = std::env::var("SWITCHBOARD_SERVER")
        {
            settings.server = s;
        }
        Ok(Arc::new(Self {
            ui,
            history,
            data_dir: data_dir.to_owned(),
            settings: Mutex::new(settings),
            session: tokio::sync::Mutex::new(None),
            live: Arc::new(Mutex::new(HashMap::new())),
            silent: Mutex::new(std::collections::HashSet::new()),
            video: Mutex::new(None),
            pushes: Mutex::new((HashMap::new(), 0)),
            sounds: Sounds::default(),
        }))
    }

    /// Where this console's events go (the desktop side emits through it too).
    pub fn ui(&self) -> Arc<dyn Ui> {
        self.ui.clone()
    }

    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    /// A call is ringing or in progress: nothing may restart the app now (updates wait).
    pub fn in_call(&self) -> bool {
        !lock(&self.live).is_empty()
    }

    fn save_settings(&self, change: impl FnOnce(&mut Settings)) {
        let mut s = lock(&self.settings);
        change(&mut s);
        let path = self.data_dir.join("settings.json");
        // Written aside and renamed: a crash mid-write keeps the old settings.
        let tmp = path.with_extension("json.tmp");
        let written = serde_json::to_vec_pretty(&*s)
            .map_err(std::io::Error::other)
            .and_then(|b| std::fs::write(&tmp, b))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            tracing::warn!("settings not saved: {e}");
        }
    }

    async fn engine(&self) -> CmdResult<(Engine, Account)> {
        self.session
            .lock()
            .await
            .as_ref()
            .map(|s| (s.engine.clone(), s.account.clone()))
            .ok_or_else(|| CommandError::new("signed_out", "not signed in"))
    }

    fn account_key(a: &Account) -> String {
        format!("{}@{}", a.user, a.server)
    }

    /// Signs in with a password and starts the engine with the chosen devices.
    pub async fn sign_in(
        self: &Arc<Self>,
        server: &str,
        user: &str,
        password: &str,
    ) -> CmdResult<Account> {
        let addresses: ServerAddresses = server
            .parse()
            .map_err(|e: auth::AuthError| CommandError::new("bad_server", e))?;
        let address = addresses.first().clone();
        let login = auth::login_any(&addresses, user.trim(), password)
            .await
            .map_err(|e| match e {
                auth::AuthError::Denied => CommandError::new("denied", e),
                _ => CommandError::new("unreachable", e),
            })?;
        self.sign_out().await;
        let s = self.settings();
        // Every node's address: the engine moves to the next when its node goes.
        let mut config = EngineConfig::new(addresses.ws(), login.token);
        config.video_profile = s.video_profile.parse().unwrap_or_default();
        config.camera = s.camera.clone();
        config.microphone = s.microphone.clone();
        config.speaker = s.speaker.clone();
        let (engine, events) = Engine::start(config)
            .await
            .map_err(|e| CommandError::new("sign_in", e))?;
        let account = Account {
            user: login.user.to_string(),
            role: login.role,
            server: address.http.clone(),
        };
        let pump = tokio::spawn(self.clone().pump(events, account.clone()));
        *self.session.lock().await = Some(Session {
            engine,
            account: account.clone(),
            pump,
        });
        self.save_settings(|s| {
            s.server = server.trim().to_owned();
            s.user = user.trim().to_owned();
        });
        self.ui.emit(UiEvent::SignedIn {
            user: account.user.clone(),
            role: account.role,
            server: account.server.clone(),
            resumed: false,
        });
        Ok(account)
    }

    /// Hangs up and signs out (the history keeps every call).
    pub async fn sign_out(&self) {
        if let Some(s) = self.session.lock().await.take() {
            s.engine.shutdown();
            // The pump writes the calls' ends as the engine hangs up; give it a moment.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(3), s.pump).await;
            self.ui.emit(UiEvent::Engine(Event::Closed {
                reason: "signed out".into(),
            }));
        }
    }

    pub async fn account(&self) -> Option<Account> {
        self.session
            .lock()
            .await
            .as_ref()
            .map(|s| s.account.clone())
    }
}
