//! A real `switchboard-server` on loopback with the dev accounts, for end-to-end calls.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};

use crate::binary;

pub struct DevServer {
    child: Child,
    /// `127.0.0.1:PORT`
    pub addr: String,
    tokens: HashMap<String, String>,
    /// The data directory (`switchboard.db`, the token key).
    pub data: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl DevServer {
    /// Starts the server with `--dev` on a free port, with an optional configuration file.
    pub fn start(config: &str) -> Result<Self> {
        Self::start_on(
            Command::new(binary("switchboard-server")),
            "127.0.0.1:0",
            config,
        )
    }

    /// The same inside a network namespace, listening on `listen` there (`SERVER_IP:0`).
    pub fn start_in(ns: &crate::netns::Netns, listen: &str, config: &str) -> Result<Self> {
        Self::start_on(ns.command(binary("switchboard-server")), listen, config)
    }

    /// A node of a cluster (the configuration names its Redis and PostgreSQL), on a data
    /// directory the nodes share (the token key is in it), listening on `listen`
    /// (`127.0.0.1:0`, or a port the configuration's `addresses` names).
    pub fn start_node(config: &str, data: &std::path::Path, listen: &str) -> Result<Self> {
        Self::start_with_data(
            Command::new(binary("switchboard-server")),
            listen,
            config,
            Some(data),
        )
    }

    fn start_on(command: Command, listen: &str, config: &str) -> Result<Self> {
        Self::start_with_data(command, listen, config, None)
    }

    fn start_with_data(
        mut command: Command,
        listen: &str,
        config: &str,
        data: Option<&std::path::Path>,
    ) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("server.toml"), config)?;
        let data = data.map_or_else(|| dir.path().join("data"), std::path::Path::to_owned);
        let mut child = command
            .args(["serve", "--listen", listen, "--dev", "--data-dir"])
            .arg(&data)
            .arg("--config")
            .arg(dir.path().join("server.toml"))
            // The customer widget, as built by `cargo xtask test` (a clean build's target dir
            // may be anywhere: name the folder).
            .env(
                "SWITCHBOARD_WIDGET_DIR",
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/dist-widget"),
            )
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting switchboard-server")?;
        let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
        let mut next = || -> Result<serde_json::Value> {
            let line = lines.next().context("the server exited")??;
            Ok(serde_json::from_str(&line)?)
        };
        let addr = next()?["listening"]
            .as_str()
            .context("no listening address")?
            .to_owned();
        let mut tokens = HashMap::new();
        // One line per account of `switchboard_server::DEV_ACCOUNTS`.
        for _ in 0..7 {
            let v = next()?;
            if let (Some(u), Some(t)) = (v["user"].as_str(), v["token"].as_str()) {
                tokens.insert(u.to_owned(), t.to_owned());
            }
        }
        Ok(Self {
            child,
            addr,
            tokens,
            data,
            _dir: dir,
        })
    }

    /// SIGKILL: the node dies as in a crash.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The server's process id (its CPU time is read from /proc by the benches).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// The dev account's token (`alice`, `bob`, `carol`, `a1`, `a2`, `admin`, `sup`).
    pub fn token(&self, user: &str) -> String {
        self.tokens.get(user).cloned().unwrap_or_default()
    }

    /// `http://ADDR`: the widget, the HTTP API.
    pub fn http(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A new customer's token for one business (`POST /auth/customer`, as the widget does).
    pub fn customer_token(&self, business: &str) -> String {
        let v: serde_json::Value = ureq::post(format!("{}/auth/customer", self.http()))
            .send_json(serde_json::json!({ "business": business }))
            .expect("a customer token")
            .body_mut()
            .read_json()
            .expect("the token's JSON");
        v["token"].as_str().unwrap_or_default().to_owned()
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
