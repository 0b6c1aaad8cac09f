//! The customer widget in headless Chromium: `tests/browser/widget.mjs` (playwright-core with
//! Debian's chromium) drives it and prints its milestones as JSON lines; this reads them.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use crate::server::DevServer;

pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The browser script's milestones, one JSON object per line.
pub struct Browser {
    child: std::process::Child,
    lines: Receiver<serde_json::Value>,
}

impl Browser {
    pub fn start(server: &DevServer, business: &str, env: &[(&str, &str)]) -> Self {
        Self::spawn(Command::new("node"), server, business, env)
    }

    /// The same inside a network namespace (node and its Chromium run there).
    pub fn start_in(
        ns: &crate::netns::Netns,
        server: &DevServer,
        business: &str,
        env: &[(&str, &str)],
    ) -> Self {
        Self::spawn(ns.command("node"), server, business, env)
    }

    fn spawn(mut node: Command, server: &DevServer, business: &str, env: &[(&str, &str)]) -> Self {
        assert!(
            std::path::Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: `cargo xtask setup` installs Debian's chromium"
        );
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut child = node
            .arg(root.join("tests/browser/widget.mjs"))
            .current_dir(&root)
            .env("SERVER", server.http())
            .env("BUSINESS", business)
            .env("CHROMIUM", CHROMIUM)
            .env("STAY_MS", "10000")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs tests/browser/widget.mjs");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                eprintln!("browser: {line}");
                if let Ok(v) = serde_json::from_str(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        Self { child, lines }
    }

    /// The next milestone (a browser-side error fails the test with its message).
    pub fn next(&self, what: &str) -> serde_json::Value {
        let v = self
            .lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no {what} from the browser within 30 s"));
        assert!(v.get("error").is_none(), "the browser failed: {v}");
        v
    }

    /// The next milestone that has `key` (skipping others, such as queue positions).
    pub fn until(&self, key: &str) -> serde_json::Value {
        loop {
            let v = self.next(key);
            if v.get(key).is_some() {
                return v;
            }
        }
    }

    pub fn tell(&mut self, command: &str) {
        let stdin = self.child.stdin.as_mut().expect("piped stdin");
        writeln!(stdin, "{command}").expect("the browser script reads its commands");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closing its input lets the script close Chromium (killing node alone would leave
        // Chromium, in its own process group, running its fake encoders); then node goes.
        drop(self.child.stdin.take());
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
