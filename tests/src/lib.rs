//! Helpers for the end-to-end tests in `tests/tests/`: where the built binaries are, the test
//! environment `cargo xtask test` provides (CONTRACTS.md), launching the app with its own
//! scratch directories, and looking at the X display.

pub mod browser;
pub mod calls;
pub mod drive;
pub mod ffmpeg;
pub mod netcalls;
pub mod netns;
pub mod relay;
pub mod server;
pub mod webdriver;
pub mod x11;

// The real PostgreSQL and redis-server of a cluster's tests: the server crate's own helpers,
// compiled here too rather than copied.
#[allow(clippy::unwrap_used, clippy::expect_used, dead_code)]
#[path = "../../crates/server/tests/common/postgres.rs"]
pub mod postgres;
#[allow(clippy::unwrap_used, clippy::expect_used, dead_code)]
#[path = "../../crates/server/tests/common/redis.rs"]
pub mod redis;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// `target/<profile>/` of the build that produced this test binary
/// (`target/<profile>/deps/<test>` under both cargo test and nextest).
pub fn target_profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let deps = exe
        .parent()
        .expect("test binaries live in target/<profile>/deps");
    deps.parent().expect("deps has a parent").to_path_buf()
}

/// CPU seconds (user + system) a process used so far, from /proc (Linux), for the benches.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Where tests leave screenshots and other artefacts for people to look at (not committed).
pub fn artefacts_dir() -> PathBuf {
    target_profile_dir().join("../screenshots")
}

/// A workspace binary built beside the tests (`cargo xtask test` builds them first).
pub fn binary(name: &str) -> PathBuf {
    let path = target_profile_dir().join(name);
    assert!(
        path.is_file(),
        "{} is not built; run the tests with `cargo xtask test` (it builds the binaries first)",
        path.display()
    );
    path
}

/// A variable of the test environment; panics with how to get it instead of skipping, so a
/// test that needs a display can never pass without one.
pub fn test_env(var: &str) -> String {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!("{var} is not set: run the tests with `cargo xtask test`, which provides it"),
    }
}

/// The desktop app, started with throw-away data, config and cache directories so tests never
/// touch the developer's own.
pub struct App {
    child: Child,
    lines: Receiver<String>,
    log: Vec<String>,
    _home: tempfile::TempDir,
}

impl App {
    pub fn launch(display: &str) -> Result<Self> {
        Self::launch_exe(&binary("switchboard"), display, &[])
    }

    /// `exe` (e.g. the app installed from its package) with `env` added.
    pub fn launch_exe(exe: &std::path::Path, display: &str, env: &[(&str, &str)]) -> Result<Self> {
        let home = tempfile::tempdir()?;
        let mut cmd = Command::new(exe);
        cmd.envs(env.iter().copied());
        cmd.env("DISPLAY", display)
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_CACHE_HOME", home.path().join("cache"))
            .env("RUST_LOG", "info")
            // No colour codes in the log lines the tests read.
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().context("starting the app")?;
        let stderr = child.stderr.take().context("app stderr")?;
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            child,
            lines,
            log: Vec::new(),
            _home: home,
        })
    }

    /// Waits until the console is up: the UI loaded and reached Rust over IPC (`ui ready`), and
    /// a "Switchboard" window of at least 1024×640 shows it drawn (a blank or failed webview
    /// paints one or two colours; the shell's text and controls, hundreds). Saves the picture as
    /// `png` among the artefacts.
    pub fn wait_for_console_window(&mut self, display: &str, png: &str) -> Result<x11::Screenshot> {
        // The first WebKitGTK start on a cold machine is slow.
        self.wait_for_log("ui ready", Duration::from_secs(90))?;
        let window = x11::wait_for_window(display, "Switchboard", Duration::from_secs(10))?;
        if window.width < 1024 || window.height < 640 {
            bail!("window too small: {window:?}");
        }
        let shot = x11::wait_drawn(display, Some(window), 32, Duration::from_secs(20))?;
        shot.save_png(&artefacts_dir().join(png))?;
        Ok(shot)
    }

    /// Waits up to `limit` for a log line containing `needle`.
    pub fn wait_for_log(&mut self, needle: &str, limit: Duration) -> Result<String> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if line.contains(needle) {
                        return Ok(line);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    bail!(
                        "no log line with {needle:?} within {limit:?}; log:\n{}",
                        self.log.join("\n")
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait()?;
                    bail!(
                        "the app exited ({status}) before logging {needle:?}; log:\n{}",
                        self.log.join("\n")
                    )
                }
            }
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A mono 16-bit PCM WAV file's bytes.
pub fn wav_mono16(rate: u32, samples: &[i16]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}
