//! One WebSocket connection: `hello` first (token, version, resume), then frames to the live
//! state, with the frame limit, a per-connection rate limit, heartbeats and idle detection.
//! Replies the shell makes itself (`pong`, `token_refreshed`, framing errors) go through the
//! same outbound queue as everything else, so nothing overtakes anything.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use governor::{Quota, RateLimiter};
use switchboard_protocol::{
    ClientMessage, ErrorCode, PROTOCOL_VERSION, Pong, ServerFrame, ServerMessage, SessionId,
    TokenRefreshed, decode_client, encode,
};
use tokio::sync::mpsc;

use crate::App;
use crate::core::{Login, UserKey};
use crate::hub::{Connection, LocalHub, Outbound, now_ms};
use crate::token::{Claims, TokenError};

/// Frames a connection may keep queued before it counts as not reading.
const OUTBOUND_QUEUE: usize = 4096;
/// How long a new connection has to say `hello`.
const HELLO_WITHIN: Duration = Duration::from_secs(10);
/// Rate-limit violations in a row before a flooding connection is closed.
const FLOOD_STRIKES: u32 = 200;

/// `GET /ws`.
pub async fn upgrade(ws: WebSocketUpgrade, State(app): State<Arc<App>>) -> Response {
    // Frames above our limit but below this get a `frame_too_large` reply and the connection
    // lives on; beyond it the WebSocket layer closes the connection.
    // tungstenite's default 128 KiB read buffer per connection would dominate an idle
    // connection's memory; frames are small and rare, so a few KiB do.
    ws.max_message_size(1 << 20)
        .max_frame_size(1 << 20)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| connection(socket, app))
}

type Sink = futures_util::stream::SplitSink<WebSocket, Message>;
type Stream = futures_util::stream::SplitStream<WebSocket>;

async fn say(sink: &mut Sink, frame: &ServerFrame) -> bool {
    sink.send(Message::Text(encode(frame).into())).await.is_ok()
}

async fn connection(socket: WebSocket, app: Arc<App>) {
    app.metrics.connections_total.inc();
    let (mut sink, mut stream) = socket.split();
    let Some((claims, login, hello_id, resume)) = hello(&mut sink, &mut stream, &app).await else {
        let _ = sink.send(Message::Close(None)).await;
        return;
    };
    let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
    let conn = Connection {
        id: app.next_conn.fetch_add(1, Ordering::Relaxed),
        tx: tx.clone(),
    };
    let heartbeat = Duration::from_secs(u64::from(app.config.heartbeat_secs));
    let writer = tokio::spawn(write_loop(sink, rx, heartbeat));
    let session = match resume {
        Some(old) => match app.hub.resume(&old, login.clone(), conn.clone(), hello_id) {
            Ok(()) => old,
            // Too late or not ours: a fresh session (`resumed: false` tells the client).
            Err(_) => app.hub.login(login, conn.clone(), hello_id),
        },
        None => app.hub.login(login, conn.clone(), hello_id),
    };
    app.metrics.sessions_open.inc();
    tracing::debug!(%session, user = %claims.sub, "signed in");
    read_loop(&mut stream, &app, &session, &claims, &conn).await;
    app.hub.disconnected(&session, conn.id);
    app.metrics.sessions_open.dec();
    drop(tx);
    drop(conn);
    let _ = writer.await;
}

/// Waits for a valid `hello`; errors are answered, and fatal ones end the connection.
async fn hello(
    sink: &mut Sink,
    stream: &mut Stream,
    app: &App,
) -> Option<(Claims, Login, Option<u32>, Option<SessionId>)> {
    let deadline = tokio::time::Instant::now() + HELLO_WITHIN;
    loop {
        let msg = tokio::time::timeout_at(deadline, stream.next())
            .await
            .ok()??
            .ok()?;
        let text = match msg {
            Message::Text(t) => t,
            Message::Binary(_) => {
                say(
                    sink,
                    &ServerFrame::error(None, ErrorCode::BinaryFrame, "frames are JSON text"),
                )
                .await;
                continue;
            }
            Message::Close(_) => return None,
            _ => continue,
        };
        let frame = match decode_client(text.as_str()) {
            Ok(f) => f,
            Err(e) => {
                app.metrics.frames_rejected.inc();
                say(sink, &e.to_frame()).await;
                continue;
            }
        };
        let ClientMessage::Hello(h) = frame.message else {
            say(
                sink,
                &ServerFrame::error(
                    frame.id,
                    ErrorCode::HelloRequired,
                    "send hello with a token first",
                ),
            )
            .await;
            continue;
        };
        if h.v != PROTOCOL_VERSION {
            say(
                sink,
                &ServerFrame::error(
                    frame.id,
                    ErrorCode::UnsupportedVersion,
                    format!(
                        "this server speaks protocol {PROTOCOL_VERSION}, not {}",
                        h.v
                    ),
                ),
            )
            .await;
            return None;
        }
        let claims = match app.tokens.verify(h.token.as_str(), now_ms() / 1000) {
            Ok(c) => c,
            Err(e) => {
                let code = match e {
                    TokenError::Expired => ErrorCode::TokenExpired,
                    TokenError::Invalid => ErrorCode::InvalidToken,
                };
                say(sink, &ServerFrame::error(frame.id, code, e.to_string())).await;
                return None;
            }
        };
        let user = UserKey::new(claims.realm.clone(), claims.sub.clone());
        if claims.role != switchboard_protocol::Role::Customer && !app.hub.has_account(&user) {
            say(
                sink,
                &ServerFrame::error(
                    frame.id,
                    ErrorCode::InvalidToken,
                    "the account does not exist or is disabled",
                ),
            )
            .await;
            return None;
        }
        let login = Login {
            user,
            role: claims.role,
            display_name: None,
            token_expires_at: claims.exp.saturating_mul(1000),
            business: claims.biz.clone(),
        };
        return Some((claims, login, frame.id, h.resume));
    }
}

async fn write_loop(mut sink: Sink, mut rx: mpsc::Receiver<Outbound>, heartbeat: Duration) {
    let mut ping = tokio::time::interval(heartbeat);
    ping.tick().await;
    loop {
        tokio::select! {
            m = rx.recv() => match m {
                Some(Outbound::Frame(text)) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Outbound::Close) | None => {
                    let _ = sink.send(Message::Close(None)).await;
                    break;
                }
            },
            _ = ping.tick() => {
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
        }
    }
}

async fn read_loop(
    stream: &mut Stream,
    app: &App,
    session: &SessionId,
    claims: &Claims,
    conn: &Connection,
) {
    let idle = Duration::from_secs(app.config.idle_timeout_secs);
    let quota = Quota::per_second(nonzero(app.config.messages_per_second))
        .allow_burst(nonzero(app.config.message_burst));
    let limiter = RateLimiter::direct(quota);
    let mut strikes = 0u32;
    let mut claims = claims.clone();
    loop {
        let msg = tokio::select! {
            m = tokio::time::timeout(idle, stream.next()) => m,
            _ = conn.tx.closed() => return,
        };
        let msg = match msg {
            Err(_) => {
                tracing::info!(%session, "silent for {}s; the session may resume", idle.as_secs());
                return;
            }
            Ok(None) | Ok(Some(Err(_))) => return,
            Ok(Some(Ok(m))) => m,
        };
        let reply = |frame: ServerFrame| LocalHub::send_direct(conn, &frame);
        let text = match msg {
            Message::Text(t) => t,
            Message::Binary(_) => {
                app.metrics.frames_rejected.inc();
                reply(ServerFrame::error(
                    None,
                    ErrorCode::BinaryFrame,
                    "frames are JSON text",
                ));
                continue;
            }
            Message::Close(_) => return,
            // Pings are answered by the WebSocket layer; any traffic counts as alive.
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        app.metrics.frames_in.inc();
        if limiter.check().is_err() {
            strikes += 1;
            app.metrics.frames_rejected.inc();
            if strikes >= FLOOD_STRIKES {
                tracing::warn!(%session, "flooding; closing the connection");
                reply(ServerFrame::error(
                    None,
                    ErrorCode::RateLimited,
                    "too many frames; closing",
                ));
                let _ = conn.tx.try_send(Outbound::Close);
                return;
            }
            if strikes == 1 || strikes.is_multiple_of(50) {
                reply(ServerFrame::error(
                    None,
                    ErrorCode::RateLimited,
                    format!(
                        "more than {} frames per second; frames are being dropped",
                        app.config.messages_per_second
                    ),
                ));
            }
            continue;
        }
        strikes = 0;
        let frame = match decode_client(text.as_str()) {
            Ok(f) => f,
            Err(e) => {
                app.metrics.frames_rejected.inc();
                reply(e.to_frame());
                continue;
            }
        };
        let now = now_ms();
        if claims.exp.saturating_mul(1000) <= now {
            reply(ServerFrame::error(
                frame.id,
                ErrorCode::TokenExpired,
                "the token expired; sign in again",
            ));
            let _ = conn.tx.try_send(Outbound::Close);
            return;
        }
        match frame.message {
            ClientMessage::Hello(_) => {
                reply(ServerFrame::error(
                    frame.id,
                    ErrorCode::AlreadyAuthenticated,
                    "this connection is already signed in",
                ));
            }
            ClientMessage::Ping => {
                reply(ServerFrame::reply(
                    frame.id,
                    ServerMessage::Pong(Pong { server_time: now }),
                ));
            }
            ClientMessage::RefreshToken => {
                let ttl = match claims.role {
                    switchboard_protocol::Role::Customer => app.config.customer_token_ttl_secs,
                    _ => app.config.token_ttl_secs,
                };
                claims.exp = now / 1000 + ttl;
                let token = app.tokens.sign(&claims);
                match switchboard_protocol::Token::new(token) {
                    Ok(token) => reply(ServerFrame::reply(
                        frame.id,
                        ServerMessage::TokenRefreshed(TokenRefreshed {
                            token,
                            expires_at: claims.exp * 1000,
                        }),
                    )),
                    Err(e) => reply(ServerFrame::error(
                        frame.id,
                        ErrorCode::Internal,
                        e.to_string(),
                    )),
                };
            }
            _ => app.hub.frame(session, frame),
        }
    }
}

fn nonzero(n: u32) -> std::num::NonZeroU32 {
    std::num::NonZeroU32::new(n).unwrap_or(std::num::NonZeroU32::MIN)
}
