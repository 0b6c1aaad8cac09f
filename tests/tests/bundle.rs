//! The app as an agent installs it: `cargo xtask bundle --verify` extracts the `.deb` it built
//! into a scratch root (`dpkg -x`) and runs these against that copy (docs/release.md). Not part of
//! `cargo xtask test`, which has no package to test.
//!
//! The update tests serve, from a local HTTP server, a `latest.json` that announces the next
//! version for the `.deb` just built. The updater insists that a signature names the version it
//! was announced as, so xtask signs the same `.deb` for the next version with the key of the
//! build (what the release of that version would carry); no second build.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use switchboard_tests::webdriver::Driver;
use switchboard_tests::{App, artefacts_dir, test_env};

/// The installed app's binary.
fn installed() -> PathBuf {
    let root = std::env::var("SWITCHBOARD_BUNDLE_ROOT").unwrap_or_else(|_| {
        panic!(
            "SWITCHBOARD_BUNDLE_ROOT is not set: these tests run from `cargo xtask bundle --verify`"
        )
    });
    let exe = PathBuf::from(root).join("usr/bin/switchboard");
    assert!(exe.is_file(), "{} is not in the package", exe.display());
    exe
}

#[test]
fn the_installed_app_starts_and_shows_its_window() {
    let display = test_env("DISPLAY");
    let version = test_env("SWITCHBOARD_BUNDLE_VERSION");
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().display().to_string();
    let mut app = App::launch_exe(
        &installed(),
        &display,
        &[
            ("SWITCHBOARD_DATA_DIR", data_dir.as_str()),
            ("SWITCHBOARD_UPDATE_URL", "off"),
        ],
    )
    .unwrap();
    let started = app
        .wait_for_log("starting Switchboard", Duration::from_secs(60))
        .unwrap();
    assert!(
        started.contains(&format!("version=\"{version}\""))
            || started.contains(&format!("version={version} ")),
        "the installed app is not version {version}: {started}"
    );
    // The release binary serves the UI from its embedded assets: it loaded and reached Rust.
    app.wait_for_console_window(&display, "bundle-installed-app.png")
        .unwrap();
}

/// A local update server: path → body, and how many bytes of each path went out.
#[derive(Clone, Default)]
struct UpdateServer {
    files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    sent: Arc<Mutex<HashMap<String, usize>>>,
    port: u16,
}

impl UpdateServer {
    fn start() -> Self {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let me = Self {
            port: server.server_addr().to_ip().unwrap().port(),
            ..Self::default()
        };
        let state = me.clone();
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                let path = request.url().to_owned();
                let body = state.files.lock().unwrap().get(&path).cloned();
                match body {
                    Some(b) => {
                        let len = b.len();
                        if request.respond(tiny_http::Response::from_data(b)).is_ok() {
                            *state.sent.lock().unwrap().entry(path).or_default() += len;
                        }
                    }
                    None => {
                        let _ = request.respond(
                            tiny_http::Response::from_string("not here").with_status_code(404),
                        );
                    }
                }
            }
        });
        me
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    fn put(&self, path: &str, body: Vec<u8>) {
        self.files.lock().unwrap().insert(format!("/{path}"), body);
    }

    fn sent(&self, path: &str) -> usize {
        self.sent
            .lock()
            .unwrap()
            .get(&format!("/{path}"))
            .copied()
            .unwrap_or(0)
    }
}

/// The package, its file name, and the update setting of the app under test.
struct Setup {
    server: UpdateServer,
    deb: Vec<u8>,
    name: String,
    version: String,
    next: String,
}

impl Setup {
    fn new() -> Self {
        let path = PathBuf::from(test_env("SWITCHBOARD_BUNDLE_DEB"));
        Self {
            server: UpdateServer::start(),
            deb: std::fs::read(&path).unwrap(),
            name: path.file_name().unwrap().to_string_lossy().into_owned(),
            version: test_env("SWITCHBOARD_BUNDLE_VERSION"),
            next: test_env("SWITCHBOARD_BUNDLE_NEXT_VERSION"),
        }
    }

    /// Announces `version` with `bytes` and `signature` as the `.deb` of this platform.
    fn announce(&self, version: &str, bytes: Vec<u8>, signature: &str) {
        self.server.put(&self.name, bytes);
        let manifest = json!({
            "version": version,
            "notes": "Test release",
            "pub_date": "2026-11-26T12:00:00Z",
            "platforms": {
                format!("linux-{}-deb", std::env::consts::ARCH): {
                    "url": self.server.url(&self.name),
                    "signature": signature,
                },
            },
        });
        self.server
            .put("latest.json", serde_json::to_vec(&manifest).unwrap());
    }

    /// The installed app under WebDriver, checking `latest.json` on our server.
    fn app(&self, data: &tempfile::TempDir, log: &str) -> Driver {
        let display = test_env("DISPLAY");
        let data_dir = data.path().display().to_string();
        let url = self.server.url("latest.json");
        let dir = artefacts_dir().join("bundle");
        std::fs::create_dir_all(&dir).unwrap();
        Driver::start(
            &installed(),
            &[],
            &[
                ("DISPLAY", display.as_str()),
                ("SWITCHBOARD_DATA_DIR", data_dir.as_str()),
                ("SWITCHBOARD_UPDATE_URL", url.as_str()),
                ("RUST_LOG", "info"),
            ],
            &dir.join(log),
        )
        .unwrap()
    }
}

const LIMIT: Duration = Duration::from_secs(60);

fn update_text(d: &Driver) -> String {
    d.text(&d.find("[data-testid=update-text]", LIMIT).unwrap())
        .unwrap()
}

/// Waits for the update the app found, downloads it, and returns the state it ends in
/// (`ready` or `failed`) with the strip's text.
fn download(d: &Driver) -> (String, String) {
    d.wait_attr("[data-testid=update]", "data-state", LIMIT, |v| {
        v == "available"
    })
    .unwrap();
    d.click(&d.find("[data-testid=update-download]", LIMIT).unwrap())
        .unwrap();
    let state = d
        .wait_attr("[data-testid=update]", "data-state", LIMIT, |v| {
            v == "ready" || v == "failed"
        })
        .unwrap();
    (state, update_text(d))
}

const BAD_SIGNATURE: &str = "The update was refused: its signature does not match Switchboard's \
                             signing key, so the file was damaged or tampered with. Nothing was \
                             installed.";

#[test]
fn the_app_reports_downloads_and_verifies_an_update() {
    let s = Setup::new();
    s.announce(
        &s.next,
        s.deb.clone(),
        &test_env("SWITCHBOARD_BUNDLE_NEXT_SIG"),
    );
    let data = tempfile::tempdir().unwrap();
    let d = s.app(&data, "update.log");

    // The app checks by itself shortly after it starts.
    d.wait_attr("[data-testid=update]", "data-state", LIMIT, |v| {
        v == "available"
    })
    .unwrap();
    assert_eq!(
        update_text(&d),
        format!(
            "Switchboard {} is available (you have {}).",
            s.next, s.version
        )
    );
    assert_eq!(
        download(&d),
        (
            "ready".to_owned(),
            format!(
                "Switchboard {} is downloaded and its signature verified.",
                s.next
            )
        )
    );
    // The whole package went out once, and the install button waits for the agent (installing
    // needs root: the test stops here).
    assert_eq!(s.server.sent(&s.name), s.deb.len());
    assert!(d.find("[data-testid=update-install]", LIMIT).is_ok());
}

#[test]
fn a_tampered_update_is_refused() {
    let s = Setup::new();
    // One byte changed in the middle of the package, the signature as published.
    let mut tampered = s.deb.clone();
    let mid = tampered.len() / 2;
    tampered[mid] ^= 0x20;
    s.announce(&s.next, tampered, &test_env("SWITCHBOARD_BUNDLE_NEXT_SIG"));
    let data = tempfile::tempdir().unwrap();
    let d = s.app(&data, "tampered.log");
    assert_eq!(
        download(&d),
        ("failed".to_owned(), BAD_SIGNATURE.to_owned())
    );
    assert_eq!(
        s.server.sent(&s.name),
        s.deb.len(),
        "the app did download it"
    );

    // Each case below is announced, then the agent asks the app to check again.
    let check_again = || {
        d.click(&d.find("[data-testid=update-retry]", LIMIT).unwrap())
            .unwrap();
    };

    // The genuine package signed, for the new version, by someone else's key.
    s.announce(
        &s.next,
        s.deb.clone(),
        &test_env("SWITCHBOARD_BUNDLE_FOREIGN_SIG"),
    );
    check_again();
    assert_eq!(
        download(&d),
        ("failed".to_owned(), BAD_SIGNATURE.to_owned())
    );

    // The genuine package under its genuine signature, announced as a newer version: the
    // signature names the version it was made for, so the pairing is refused too.
    s.announce(&s.next, s.deb.clone(), &test_env("SWITCHBOARD_BUNDLE_SIG"));
    check_again();
    assert_eq!(
        download(&d),
        (
            "failed".to_owned(),
            format!(
                "The update was refused: the file is signed as version {} but was announced as \
                 {}. Nothing was installed.",
                s.version, s.next
            )
        )
    );
}
