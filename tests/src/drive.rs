//! Driving the console like an agent does, for the end-to-end tests and the webview bench: a
//! `switchboard-cli` far end, sign-in, and waiting on the page.

#![allow(clippy::unwrap_used)] // test support: a failed unwrap is a failed test

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::binary;
use crate::server::DevServer;
use crate::webdriver::Driver;

/// How long a step may take.
pub const SHORT: Duration = Duration::from_secs(20);

/// A `switchboard-cli` process.
pub struct Cli(Child);

impl Cli {
    /// Starts `switchboard-cli` and waits until it has signed in.
    pub fn start(server: &DevServer, token: &str, args: &[&str]) -> Cli {
        let mut child = Command::new(binary("switchboard-cli"))
            .args(["--server", &server.url(), "--token", token, "--json"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("cli: {line}");
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + SHORT;
        loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("the CLI did not sign in");
            if line.contains("signed in") || line.contains("waiting in the queue") {
                break;
            }
        }
        std::thread::spawn(move || for _ in rx {});
        Cli(child)
    }

    /// Waits for the CLI to finish and returns its `--json` summary.
    pub fn finish(self) -> serde_json::Value {
        self.finish_both().1
    }

    /// The last two summaries (a command that reports two calls, e.g. a monitor call and the
    /// customer's call it took over); the first is `null` when there was one.
    pub fn finish_both(mut self) -> (serde_json::Value, serde_json::Value) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                let mut out = String::new();
                std::io::Read::read_to_string(self.0.stdout.as_mut().unwrap(), &mut out).unwrap();
                assert!(status.success(), "the CLI failed: {status}\n{out}");
                let mut lines = out.lines().rev();
                let last = serde_json::from_str(lines.next().unwrap_or("{}")).unwrap();
                let before = lines
                    .next()
                    .and_then(|l| serde_json::from_str(l).ok())
                    .unwrap_or(serde_json::Value::Null);
                return (before, last);
            }
            assert!(Instant::now() < deadline, "the CLI did not finish");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Cli {
    /// SIGKILL: nothing of the CLI runs after it (no hang-up, no last write).
    pub fn kill(mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

/// Signs in on the sign-in form (the dev accounts' password is the user id).
pub fn sign_in(d: &Driver, server: &DevServer, user: &str) {
    let field = |name: &str| {
        d.find(&format!("input[name={name}]"), Duration::from_secs(90))
            .unwrap()
    };
    d.type_text(&field("server"), &server.addr).unwrap();
    d.type_text(&field("user"), user).unwrap();
    d.type_text(&field("password"), user).unwrap();
    d.click(&d.find("[data-testid=sign-in-submit]", SHORT).unwrap())
        .unwrap();
    d.find("[data-testid=dial-to]", SHORT).unwrap();
}

pub fn history_rows(d: &Driver, end_code: &str) -> usize {
    d.script(&format!(
        "return document.querySelectorAll('[data-testid=history-row][data-end-code=\"{end_code}\"]').length"
    ))
    .unwrap()
    .as_u64()
    .unwrap_or(0) as usize
}

pub fn wait_until(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}
