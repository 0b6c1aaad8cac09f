//! A real `switchboard-server` process on loopback and WebSocket clients that speak the
//! protocol, for the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

pub mod cluster;
pub mod postgres;
pub mod redis;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use switchboard_protocol::*;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any wait in these tests may take before it fails: generous, it is not a timing test.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct Server {
    child: Option<Child>,
    pub addr: String,
    pub tokens: HashMap<String, String>,
    pub dir: tempfile::TempDir,
    /// The data directory (a cluster's nodes share one: the token key is in it).
    data: std::path::PathBuf,
}

impl Server {
    /// Starts the server binary with `--dev` and this configuration file.
    pub fn start(config: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        Self::start_on(config, dir, data)
    }

    /// Starts a node of a cluster: its own configuration file, a data directory it shares.
    pub fn start_node(config: &str, data: &std::path::Path) -> Server {
        Self::start_on(config, tempfile::tempdir().unwrap(), data.to_owned())
    }

    fn start_on(config: &str, dir: tempfile::TempDir, data: std::path::PathBuf) -> Server {
        std::fs::write(dir.path().join("server.toml"), config).unwrap();
        let (child, addr, tokens) = Self::spawn(dir.path(), &data);
        Server {
            child: Some(child),
            addr,
            tokens,
            dir,
            data,
        }
    }

    /// Stops the server (SIGTERM) and starts it again on the same data dir.
    pub fn restart(&mut self) {
        assert!(self.stop().success());
        self.start_again();
    }

    /// Starts a stopped server again on its data dir.
    pub fn start_again(&mut self) {
        let (child, addr, tokens) = Self::spawn(self.dir.path(), &self.data);
        self.child = Some(child);
        self.addr = addr;
        self.tokens = tokens;
    }

    fn spawn(
        dir: &std::path::Path,
        data: &std::path::Path,
    ) -> (Child, String, HashMap<String, String>) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard-server"))
            .args(["serve", "--listen", "127.0.0.1:0", "--dev", "--data-dir"])
            .arg(data)
            .arg("--config")
            .arg(dir.join("server.toml"))
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first: serde_json::Value =
            serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        let addr = first["listening"].as_str().unwrap().to_owned();
        let mut tokens = HashMap::new();
        for _ in 0..switchboard_server::DEV_ACCOUNTS.len() {
            let v: serde_json::Value =
                serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
            tokens.insert(
                v["user"].as_str().unwrap().to_owned(),
                v["token"].as_str().unwrap().to_owned(),
            );
        }
        (child, addr, tokens)
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn data_dir(&self) -> std::path::PathBuf {
        self.data.clone()
    }

    /// SIGKILL: the node dies mid-whatever, as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn token(&self, user: &str) -> String {
        self.tokens[user].clone()
    }

    /// SIGTERM, and waits for a clean exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(std::time::Instant::now() < deadline, "server did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// POST with a JSON body; the status and JSON answer.
    pub async fn post(
        &self,
        path: &str,
        body: serde_json::Value,
        bearer: Option<&str>,
    ) -> (u16, serde_json::Value) {
        self.post_with(path, body, bearer, &[]).await
    }

    /// POST with a JSON body and more headers; the status and JSON answer.
    pub async fn post_with(
        &self,
        path: &str,
        body: serde_json::Value,
        bearer: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (u16, serde_json::Value) {
        let url = self.http(path);
        let bearer = bearer.map(str::to_owned);
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        tokio::task::spawn_blocking(move || {
            let agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .new_agent();
            let mut req = agent.post(&url);
            if let Some(b) = bearer {
                req = req.header("Authorization", &format!("Bearer {b}"));
            }
            for (k, v) in &headers {
                req = req.header(k, v);
            }
            let mut resp = req.send_json(body).unwrap();
            let status = resp.status().as_u16();
            let text = resp.body_mut().read_to_string().unwrap_or_default();
            (
                status,
                serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
            )
        })
        .await
        .unwrap()
    }

    /// GET with a bearer token; the status and the body.
    pub async fn get_with(&self, path: &str, bearer: &str) -> (u16, String) {
        let url = self.http(path);
        let auth = format!("Bearer {bearer}");
        tokio::task::spawn_blocking(move || {
            let agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .new_agent();
            let mut resp = agent
                .get(&url)
                .header("Authorization", &auth)
                .call()
                .unwrap();
            let status = resp.status().as_u16();
            (status, resp.body_mut().read_to_string().unwrap_or_default())
        })
        .await
        .unwrap()
    }

    pub async fn get(&self, path: &str) -> String {
        let url = self.http(path);
        tokio::task::spawn_blocking(move || {
            ureq::get(&url)
                .call()
                .unwrap()
                .body_mut()
                .read_to_string()
                .unwrap()
        })
        .await
        .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub session: SessionId,
    pub user: String,
    pub welcome: Welcome,
    next_id: u32,
    /// The `seq` of the last numbered frame read (for `hello.seen` when resuming).
    pub last_seq: Option<u64>,
}

impl Client {
    /// Connects and signs in with the token; panics unless the server says hello.
    pub async fn connect(server: &Server, token: &str) -> Client {
        Self::connect_resuming(server, token, None).await
    }

    pub async fn connect_resuming(
        server: &Server,
        token: &str,
        resume: Option<SessionId>,
    ) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(server.url())
            .await
            .unwrap();
        let mut c = Client::from_socket(ws);
        c.send(ClientMessage::Hello(Hello {
            v: PROTOCOL_VERSION,
            token: Token::new(token).unwrap(),
            seen: None,
            resume,
            client: None,
        }))
        .await;
        let w = c
            .expect(|m| match m {
                ServerMessage::Hello(w) => Some(w.clone()),
                _ => None,
            })
            .await;
        c.session = w.session_id.clone();
        c.user = w.user.to_string();
        c.welcome = w;
        c
    }

    /// A client on a socket that has not signed in yet.
    pub fn from_socket(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Client {
        Client {
            ws,
            session: SessionId::new("pending").unwrap(),
            user: String::new(),
            welcome: Welcome {
                v: 0,
                session_id: SessionId::new("pending").unwrap(),
                resumed: false,
                user: UserId::new("x").unwrap(),
                role: Role::User,
                realm: Label::new("x").unwrap(),
                token_expires_at: 0,
                server_time: 0,
                heartbeat_secs: 0,
                resume_window_secs: 0,
                limits: Limits::default(),
                ice_servers: vec![],
                relay_only: false,
                nodes: vec![],
                hold_music: None,
            },
            next_id: 0,
            last_seq: None,
        }
    }

    pub async fn user(server: &Server, user: &str) -> Client {
        Self::connect(server, &server.token(user)).await
    }

    /// Opens a socket without signing in.
    pub async fn raw(server: &Server) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
        tokio_tungstenite::connect_async(server.url())
            .await
            .unwrap()
            .0
    }

    pub async fn send(&mut self, m: ClientMessage) -> u32 {
        self.next_id += 1;
        let frame = ClientFrame::request(self.next_id, m);
        self.ws
            .send(Message::Text(encode(&frame).into()))
            .await
            .unwrap();
        self.next_id
    }

    /// Sends; false when the socket is gone (a node died under it).
    pub async fn try_send(&mut self, m: ClientMessage) -> bool {
        self.next_id += 1;
        let frame = ClientFrame::request(self.next_id, m);
        self.ws
            .send(Message::Text(encode(&frame).into()))
            .await
            .is_ok()
    }

    /// The next frame within `limit`: `Err(())` when none came, `Ok(None)` when the socket
    /// is gone.
    pub async fn next_within(&mut self, limit: Duration) -> Result<Option<ServerFrame>, ()> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .map_err(|_| ())?;
            match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(None),
                Some(Ok(Message::Text(t))) => {
                    let f = decode_server(t.as_str()).unwrap();
                    self.last_seq = f.seq.or(self.last_seq);
                    return Ok(Some(f));
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::Text(text.into())).await.unwrap();
    }

    /// A WebSocket ping (not the protocol's `ping`).
    pub async fn send_ping(&mut self) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        self.ws.send(Message::Ping(Default::default())).await
    }

    pub async fn send_binary(&mut self, bytes: &[u8]) {
        self.ws
            .send(Message::Binary(bytes.to_vec().into()))
            .await
            .unwrap();
    }

    /// The next frame, or `None` when the server closed the connection.
    pub async fn next(&mut self) -> Option<ServerFrame> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("no frame from the server in time");
            match msg {
                None | Some(Err(_)) => return None,
                Some(Ok(Message::Text(t))) => {
                    let f = decode_server(t.as_str()).unwrap();
                    self.last_seq = f.seq.or(self.last_seq);
                    return Some(f);
                }
                Some(Ok(Message::Close(_))) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Reads frames until `pick` accepts one (others are skipped).
    pub async fn expect<T>(&mut self, pick: impl Fn(&ServerMessage) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let f = tokio::time::timeout(left, self.next())
                .await
                .expect("the expected frame did not come")
                .expect("the server closed the connection first");
            if let Some(t) = pick(&f.message) {
                return t;
            }
        }
    }

    /// Whether any frame `pick` accepts arrives within `within`.
    pub async fn sees_within<T>(
        &mut self,
        within: Duration,
        pick: impl Fn(&ServerMessage) -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.ws.next()).await {
                Err(_) => return None,
                Ok(None) | Ok(Some(Err(_))) => return None,
                Ok(Some(Ok(Message::Text(t)))) => {
                    if let Some(x) = pick(&decode_server(t.as_str()).unwrap().message) {
                        return Some(x);
                    }
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    pub async fn error(&mut self) -> ErrorMessage {
        self.expect(|m| match m {
            ServerMessage::Error(e) => Some(e.clone()),
            _ => None,
        })
        .await
    }

    pub async fn ended(&mut self, call: &CallId) -> EndReason {
        let call = call.clone();
        self.expect(move |m| match m {
            ServerMessage::CallEnded(e) if e.call_id == call => Some(e.reason),
            _ => None,
        })
        .await
    }

    pub async fn incoming(&mut self) -> IncomingCall {
        self.expect(|m| match m {
            ServerMessage::IncomingCall(c) => Some(c.clone()),
            _ => None,
        })
        .await
    }

    /// Invites users; the new call's id.
    pub async fn call(&mut self, to: &[&str], media: CallMedia) -> CallId {
        self.send(ClientMessage::Invite(Invite {
            to: to
                .iter()
                .map(|u| Invitee {
                    user: UserId::new(*u).unwrap(),
                    offer: Some(Sdp::new(format!("v=0 offer from {}", self.user)).unwrap()),
                })
                .collect(),
            media,
            extra: None,
            consult: None,
            monitor: None,
        }))
        .await;
        self.expect(|m| match m {
            ServerMessage::CallCreated(c) => Some(c.call_id.clone()),
            _ => None,
        })
        .await
    }

    pub async fn accept(&mut self, call: &CallId) {
        self.send(ClientMessage::Accept(Accept {
            call_id: call.clone(),
            media: None,
            answer: Some(Sdp::new(format!("v=0 answer from {}", self.user)).unwrap()),
        }))
        .await;
    }

    pub async fn hangup(&mut self, call: &CallId) {
        self.send(ClientMessage::Hangup(CallRef {
            call_id: call.clone(),
        }))
        .await;
    }

    pub async fn register_agent(&mut self, skills: &[&str]) {
        self.send(ClientMessage::AgentRegister(AgentRegister {
            profile: AgentProfile {
                area: Label::new("north").unwrap(),
                skills: skills
                    .iter()
                    .map(|b| Skill {
                        business: Business::new(*b).unwrap(),
                        level: 3,
                    })
                    .collect(),
                display_name: None,
            },
        }))
        .await;
        self.set_state(AgentAvailability::Ready).await;
        self.expect(|m| match m {
            ServerMessage::AgentState(s) if s.state == AgentState::Ready => Some(()),
            _ => None,
        })
        .await;
    }

    pub async fn set_state(&mut self, state: AgentAvailability) {
        self.send(ClientMessage::SetAgentState(SetAgentState {
            state,
            after_call: false,
        }))
        .await;
    }

    /// Asks to enter a queue (audio, no offer) without waiting for the answer.
    pub async fn send_enqueue(&mut self, business: &str, priority: u8) {
        self.send(ClientMessage::Enqueue(Enqueue {
            business: Business::new(business).unwrap(),
            media: CallMedia::Audio,
            priority,
            name: None,
            offer: None,
            extra: None,
        }))
        .await;
    }

    /// Enqueues; the call id and first position.
    pub async fn enqueue(&mut self, business: &str) -> (CallId, u32) {
        self.send(ClientMessage::Enqueue(Enqueue {
            business: Business::new(business).unwrap(),
            media: CallMedia::Video,
            priority: 0,
            name: Some(Label::new("Customer").unwrap()),
            offer: Some(Sdp::new("v=0 customer offer").unwrap()),
            extra: None,
        }))
        .await;
        self.expect(|m| match m {
            ServerMessage::Queued(q) => Some((q.call_id.clone(), q.position)),
            _ => None,
        })
        .await
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }

    /// Drops the TCP connection without a WebSocket close (a lost network).
    pub fn vanish(self) {
        drop(self);
    }
}

pub async fn customer(server: &Server, business: &str) -> Client {
    customer_in(server, "dev", business).await
}

/// A customer of a realm's queue, signed in.
pub async fn customer_in(server: &Server, realm: &str, business: &str) -> Client {
    let (status, body) = server
        .post(
            "/auth/customer",
            serde_json::json!({ "business": business, "realm": realm }),
            None,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    Client::connect(server, body["token"].as_str().unwrap()).await
}

pub fn reason(code: EndCode, side: Side) -> EndReason {
    EndReason::new(code, side)
}
