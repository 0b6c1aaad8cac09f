//! The WebSocket signaling client: `hello`, a keep-alive `ping`, reconnection with backoff,
//! session resume so that calls survive a dropped socket (docs/protocol.md, "Session"), and the
//! token refreshed before it runs out (the server ends a session whose token expired; the fresh
//! token is the one a reconnect presents). Frames the engine sends while the socket is down wait
//! in the queue for the next connection.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use switchboard_protocol::{
    ClientFrame, ClientInfo, ClientMessage, ErrorCode, Hello, Label, PROTOCOL_VERSION, ServerFrame,
    ServerMessage, SessionEndCode, SessionEnded, SessionId, Token, Welcome, decode_server, encode,
};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, timeout};
use tokio_tungstenite::tungstenite::Message;

/// What the signaling task reports.
#[derive(Debug)]
pub enum SignalEvent {
    /// Signed in (or resumed: `welcome.resumed`).
    Connected(Box<Welcome>),
    /// A frame from the server.
    Frame(Box<ServerFrame>),
    /// The socket dropped; reconnecting.
    Disconnected(String),
    /// The server closed the session for good (kicked, logged out, bad token); no reconnect.
    Closed(String),
}

enum Control {
    /// Drop the socket without a close handshake, as a network failure would (then reconnect).
    Cut,
    /// Ask the server for a sign of life now; without one within [`PROBE_WITHIN`], the socket
    /// is taken for dead and replaced.
    Probe,
    Shutdown,
}

/// The engine's end of the signaling task.
#[derive(Clone)]
pub struct Signaling {
    out: mpsc::UnboundedSender<ClientFrame>,
    control: mpsc::UnboundedSender<Control>,
}

impl Signaling {
    /// Queues a frame (sent now, or after the reconnect).
    pub fn send(&self, frame: ClientFrame) {
        let _ = self.out.send(frame);
    }

    /// Simulates a network cut: the socket drops and the client reconnects and resumes.
    pub fn cut(&self) {
        let _ = self.control.send(Control::Cut);
    }

    /// Checks the socket now (the media path was lost: the network may have changed under a
    /// socket that still looks open, and an ICE restart's offer must not go into it).
    pub fn probe(&self) {
        let _ = self.control.send(Control::Probe);
    }

    pub fn shutdown(&self) {
        let _ = self.control.send(Control::Shutdown);
    }
}

/// How long a silent socket lives: the server pings every 10 s (CONTRACTS.md).
const SILENCE: Duration = Duration::from_secs(30);
/// We ping too (an application `ping`), so a half-open socket is noticed from this side.
const PING_EVERY: Duration = Duration::from_secs(10);
/// How long a probe waits for any frame from the server: a live server answers within a round
/// trip, and a false alarm costs only a resume, while every second here is a second longer
/// without media after an address change (the restart offer waits for a live socket).
const PROBE_WITHIN: Duration = Duration::from_secs(1);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Starts the signaling task. `url` is one WebSocket URL, or several nodes' comma-separated:
/// after a drop the next is tried at once.
pub fn spawn(url: String, token: Token, events: mpsc::UnboundedSender<SignalEvent>) -> Signaling {
    let (out, out_rx) = mpsc::unbounded_channel();
    let (control, control_rx) = mpsc::unbounded_channel();
    tokio::spawn(run(url, token, events, out_rx, control_rx));
    Signaling { out, control }
}

enum Stop {
    /// Reconnect after a pause.
    Retry(String),
    /// Do not reconnect.
    Final(String),
}

async fn run(
    url: String,
    token: Token,
    events: mpsc::UnboundedSender<SignalEvent>,
    mut out_rx: mpsc::UnboundedReceiver<ClientFrame>,
    mut control_rx: mpsc::UnboundedReceiver<Control>,
) {
    let mut token = token;
    let mut session: Option<SessionId> = None;
    // The last numbered frame read: a resume asks for what came after it.
    let mut seen: Option<u64> = None;
    let mut backoff = BACKOFF_MIN;
    // Several nodes of one switchboard, comma-separated: a session resumes on any of them.
    let mut urls: Vec<String> = url
        .split(',')
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
        .collect();
    if urls.is_empty() {
        urls.push(url);
    }
    let mut at = 0;
    let mut announced = Vec::new();
    loop {
        let stop = connection(
            &urls[at],
            &mut token,
            &mut session,
            &mut seen,
            &mut announced,
            &events,
            &mut out_rx,
            &mut control_rx,
            &mut backoff,
        )
        .await;
        // The nodes the server announced (`hello.nodes`) join those we were given.
        for node in announced.drain(..) {
            if !urls.contains(&node) {
                urls.push(node);
            }
        }
        match stop {
            Stop::Final(why) => {
                let _ = events.send(SignalEvent::Closed(why));
                return;
            }
            Stop::Retry(why) => {
                tracing::info!(%why, "signaling lost; reconnecting");
                if events.send(SignalEvent::Disconnected(why)).is_err() {
                    return;
                }
            }
        }
        // The next node at once (its node may be gone); a round of them all without luck
        // backs off.
        at = (at + 1) % urls.len();
        let pause = if at == 0 { backoff } else { BACKOFF_MIN };
        tokio::select! {
            _ = sleep(pause) => {}
            c = control_rx.recv() => if matches!(c, None | Some(Control::Shutdown)) { return },
        }
        if at == 0 {
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn connection(
    url: &str,
    token: &mut Token,
    session: &mut Option<SessionId>,
    seen: &mut Option<u64>,
    announced: &mut Vec<String>,
    events: &mpsc::UnboundedSender<SignalEvent>,
    out_rx: &mut mpsc::UnboundedReceiver<ClientFrame>,
    control_rx: &mut mpsc::UnboundedReceiver<Control>,
    backoff: &mut Duration,
) -> Stop {
    let (mut ws, _) = match timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(url),
    )
    .await
    {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return Stop::Retry(format!("cannot connect to {url}: {e}")),
        Err(_) => return Stop::Retry(format!("connecting to {url} timed out")),
    };
    let hello = ClientFrame::new(ClientMessage::Hello(Hello {
        v: PROTOCOL_VERSION,
        token: token.clone(),
        resume: session.clone(),
        // Nothing read yet is "seen 0": every numbered frame kept comes again.
        seen: session.as_ref().map(|_| seen.unwrap_or(0)),
        client: Some(ClientInfo {
            name: Label::new("switchboard-engine").expect("a constant label is valid"),
            version: Label::new(env!("CARGO_PKG_VERSION")).expect("a version is a valid label"),
            platform: Label::new(format!(
                "{}-{}",
                std::env::consts::OS,
                std::env::consts::ARCH
            ))
            .ok(),
        }),
    }));
    if let Err(e) = ws.send(Message::text(encode(&hello))).await {
        return Stop::Retry(format!("sending hello: {e}"));
    }
    // The first reply is `hello` or an error.
    let welcome = loop {
        let msg = match timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(m))) => m,
            Ok(Some(Err(e))) => return Stop::Retry(format!("reading hello: {e}")),
            Ok(None) => return Stop::Retry("closed before hello".into()),
            Err(_) => return Stop::Retry("no hello reply in 10 s".into()),
        };
        let Message::Text(text) = msg else { continue };
        match decode_server(&text) {
            Ok(ServerFrame {
                message: ServerMessage::Hello(w),
                ..
            }) => break w,
            Ok(ServerFrame {
                message: ServerMessage::Error(e),
                ..
            }) => {
                let why = format!("sign-in refused: {} ({:?})", e.message, e.code);
                return match e.code {
                    ErrorCode::InvalidToken
                    | ErrorCode::TokenExpired
                    | ErrorCode::UnsupportedVersion => Stop::Final(why),
                    _ => Stop::Retry(why),
                };
            }
            Ok(_) => continue,
            Err(e) => return Stop::Retry(format!("bad hello reply: {e}")),
        }
    };
    if !welcome.resumed {
        *seen = None;
    }
    *session = Some(welcome.session_id.clone());
    announced.clone_from(&welcome.nodes);
    // The server's clock minus ours, so that its expiry times can be read here.
    let skew = i128::from(welcome.server_time) - i128::from(unix_ms());
    let mut refresh = refresh_time(welcome.token_expires_at, skew);
    *backoff = BACKOFF_MIN;
    if events
        .send(SignalEvent::Connected(Box::new(welcome)))
        .is_err()
    {
        return Stop::Final("engine gone".into());
    }

    let mut heard = Instant::now();
    // A probe waiting for a sign of life: sent at, and its deadline.
    let mut probe: Option<(Instant, Instant)> = None;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(refresh.unwrap_or_else(Instant::now)), if refresh.is_some() => {
                refresh = None;
                let frame = ClientFrame::request(REFRESH_REQUEST, ClientMessage::RefreshToken);
                if let Err(e) = ws.send(Message::text(encode(&frame))).await {
                    return Stop::Retry(format!("send failed: {e}"));
                }
            }
            frame = out_rx.recv() => {
                let Some(frame) = frame else { return Stop::Final("engine gone".into()) };
                if let Err(e) = ws.send(Message::text(encode(&frame))).await {
                    return Stop::Retry(format!("send failed: {e}"));
                }
            }
            _ = tokio::time::sleep_until(probe.map_or_else(Instant::now, |(_, d)| d)), if probe.is_some() => {
                if let Some((sent, _)) = probe.take()
                    && heard < sent
                {
                    return Stop::Retry(format!("no answer to a probe within {PROBE_WITHIN:?}"));
                }
            }
            msg = ws.next() => {
                heard = Instant::now();
                match msg {
                    Some(Ok(Message::Text(text))) => match decode_server(&text).inspect(|f| {
                        if f.seq.is_some() {
                            *seen = f.seq;
                        }
                    }) {
                        Ok(ServerFrame { message: ServerMessage::SessionEnded(SessionEnded { code, message }), .. }) => {
                            let why = format!("{code:?}: {message}");
                            return if code == SessionEndCode::ServerShutdown {
                                Stop::Retry(why)
                            } else {
                                *session = None;
                                Stop::Final(why)
                            };
                        }
                        Ok(ServerFrame { message: ServerMessage::TokenRefreshed(t), .. }) => {
                            tracing::debug!("token refreshed until {}", t.expires_at);
                            *token = t.token;
                            refresh = refresh_time(t.expires_at, skew);
                        }
                        Ok(frame) => {
                            if events.send(SignalEvent::Frame(Box::new(frame))).is_err() {
                                return Stop::Final("engine gone".into());
                            }
                        }
                        // A frame this build cannot read: log it and go on (never drop the call).
                        Err(e) => tracing::warn!("unreadable server frame: {e}"),
                    },
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Stop::Retry(format!("socket error: {e}")),
                    None => return Stop::Retry("server closed the socket".into()),
                }
            }
            _ = ping.tick() => {
                if heard.elapsed() > SILENCE {
                    return Stop::Retry(format!("nothing heard for {SILENCE:?}"));
                }
                let _ = ws.send(Message::text(encode(&ClientFrame::new(ClientMessage::Ping)))).await;
            }
            c = control_rx.recv() => match c {
                Some(Control::Cut) => return Stop::Retry("cut on request".into()),
                Some(Control::Probe) => {
                    if probe.is_none() {
                        let sent = Instant::now();
                        probe = Some((sent, sent + PROBE_WITHIN));
                        let ping = ClientFrame::new(ClientMessage::Ping);
                        if let Err(e) = ws.send(Message::text(encode(&ping))).await {
                            return Stop::Retry(format!("send failed: {e}"));
                        }
                    }
                }
                Some(Control::Shutdown) | None => {
                    // Sign out, not just go: a closed socket alone leaves the session in its
                    // resume window, and an agent in it "ready" for customers it cannot take.
                    let bye = ClientFrame::new(ClientMessage::Logout);
                    let _ = ws.send(Message::text(encode(&bye))).await;
                    let _ = ws.close(None).await;
                    return Stop::Final("shut down".into());
                }
            },
        }
    }
}

/// The request id of our token refreshes (the engine's own requests count up from 1).
const REFRESH_REQUEST: u32 = u32::MAX;

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// When to refresh a token that runs out at `expires_at` (the server's Unix ms): after four
/// fifths of what is left, so that a slow answer or a reconnect still has time.
fn refresh_time(expires_at: u64, skew: i128) -> Option<Instant> {
    let left = i128::from(expires_at) - (i128::from(unix_ms()) + skew);
    let left = u64::try_from(left).ok().filter(|l| *l > 0)?;
    Some(Instant::now() + Duration::from_millis(left * 4 / 5))
}
