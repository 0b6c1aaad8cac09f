//! The signaling server on embedded defaults for `cargo xtask run`: the `dev` realm with its
//! demo accounts, data under `target/dev-server/`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::proc;

/// A running `switchboard-server serve --dev`; stopped (SIGTERM, so it drains) on drop.
pub struct DevServer {
    child: Child,
    pub addr: String,
    /// (user, role, token)
    pub accounts: Vec<(String, String, String)>,
}

impl DevServer {
    /// Starts the server on `127.0.0.1:7700`, or on a free port when that one is taken.
    pub fn start(exe: &Path, data_dir: &Path) -> Result<Self> {
        match Self::start_on(exe, data_dir, "127.0.0.1:7700") {
            Ok(s) => Ok(s),
            Err(_) => Self::start_on(exe, data_dir, "127.0.0.1:0"),
        }
    }

    fn start_on(exe: &Path, data_dir: &Path, listen: &str) -> Result<Self> {
        let mut child = Command::new(exe)
            .args(["serve", "--dev", "--listen", listen, "--data-dir"])
            .arg(data_dir)
            // The customer widget that `npm run build` wrote (wherever the target dir is).
            .env(
                "SWITCHBOARD_WIDGET_DIR",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/dist-widget"),
            )
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        proc::register_child(child.id());
        let stdout = child.stdout.take().context("server stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines = Vec::new();
        // The address line, then one line per demo account (CONTRACTS.md;
        // `switchboard_server::DEV_ACCOUNTS`: seven).
        while lines.len() < 8 {
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(l) => lines.push(l),
                Err(_) => {
                    proc::terminate(&mut child);
                    bail!("the server printed no address within 30 s (is {listen} free?)");
                }
            }
        }
        let first: serde_json::Value = serde_json::from_str(&lines[0])?;
        let addr = first["listening"]
            .as_str()
            .context("no `listening` in the server's first line")?
            .to_owned();
        let mut accounts = Vec::new();
        for l in &lines[1..] {
            let v: serde_json::Value = serde_json::from_str(l)?;
            accounts.push((
                v["user"].as_str().unwrap_or("?").to_owned(),
                v["role"].as_str().unwrap_or("?").to_owned(),
                v["token"].as_str().unwrap_or("?").to_owned(),
            ));
        }
        Ok(Self {
            child,
            addr,
            accounts,
        })
    }

    /// How to reach it, for people.
    pub fn describe(&self, data_dir: &Path) -> String {
        let mut s = format!(
            "Signaling server: ws://{addr}/ws  (health: http://{addr}/healthz, metrics: http://{addr}/metrics)\n\
             Data (accounts, call records): {}\n\
             Demo accounts of the `dev` realm (password = user id; or paste the token):\n",
            data_dir.display(),
            addr = self.addr
        );
        for (user, role, token) in &self.accounts {
            s.push_str(&format!("  {user:<6} {role:<6} {token}\n"));
        }
        s.push_str(&format!(
            "Sign in over HTTP: curl -s -X POST http://{}/auth/login -H 'content-type: application/json' -d '{{\"user\":\"a1\",\"password\":\"a1\"}}'\n",
            self.addr
        ));
        s.push_str(&format!(
            "Customer widget (a browser calls the `support` queue; sign in as a1 and go ready): http://{}/widget/?business=support\n",
            self.addr
        ));
        s
    }

    /// Waits until the server exits (Ctrl-C stops both).
    pub fn wait(&mut self) -> Result<()> {
        let status = self.child.wait()?;
        proc::forget_child(self.child.id());
        if !status.success() {
            bail!("the server exited with {status}");
        }
        Ok(())
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        proc::terminate(&mut self.child);
    }
}
