//! One WebSocket connection: `hello` first (token, version, resume), then frames to the live
//! state, with the frame limit, a per-connection rate limit, heartbeats and idle detection.
//! Replies the shell makes itself (`pong`, `token_refreshed`, framing errors) go through the
//! same outbound queue as everything else, so nothing overtakes anything. A connection costs
//! a task and a descriptor, so each one is bounded: per address and in all, `hello` within
//! 10 s (replies included), and every write within `write_timeout_secs`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{Sink, SinkExt, StreamExt};
use governor::{Quota, RateLimiter};
use switchboard_protocol::{
    ClientMessage, ErrorCode, PROTOCOL_VERSION, Pong, Role, ServerFrame, ServerMessage, SessionId,
    TokenRefreshed, decode_client, encode,
};
use tokio::sync::mpsc;

use crate::App;
use crate::core::{Login, UserKey};
use crate::hub::{Connection, LocalHub, Outbound, now_ms};
use crate::throttle::{Full, Slot};
use crate::token::{Claims, TokenError};

/// Frames a connection may keep queued before it counts as not reading.
const OUTBOUND_QUEUE: usize = 4096;
/// How long a new connection has to say `hello`.
const HELLO_WITHIN: Duration = Duration::from_secs(10);
/// Rate-limit violations in a row before a flooding connection is closed.
const FLOOD_STRIKES: u32 = 200;

/// `GET /ws`. Over the caller's connection limit (or the server's), a 429 (503) instead.
pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let caller = app.throttle.client(peer, &headers);
    let slot = match app.throttle.connect(caller) {
        Ok(slot) => slot,
        Err(full) => {
            app.metrics.connections_refused.inc();
            let (status, why) = match full {
                Full::Address => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many connections from this address\n",
                ),
                Full::Server => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the server has as many connections as it takes\n",
                ),
            };
            return (status, why).into_response();
        }
    };
    // Frames above our limit but below this get a `frame_too_large` reply and the connection
    // lives on; beyond it the WebSocket layer closes the connection.
    // tungstenite's default 128 KiB read buffer per connection would dominate an idle
    // connection's memory; frames are small and rare, so a few KiB do.
    ws.max_message_size(1 << 20)
        .max_frame_size(1 << 20)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| connection(socket, app, slot))
}

type WsSink = futures_util::stream::SplitSink<WebSocket, Message>;
type Stream = futures_util::stream::SplitStream<WebSocket>;

async fn say(sink: &mut WsSink, frame: &ServerFrame) -> bool {
    sink.send(Message::Text(encode(frame).into())).await.is_ok()
}

async fn connection(socket: WebSocket, app: Arc<App>, _slot: Slot) {
    app.metrics.connections_total.inc();
    let (mut sink, mut stream) = socket.split();
    let write_timeout = Duration::from_secs(app.config.write_timeout_secs);
    // The deadline covers the replies too: a client that never reads them does not hold on.
    let signed_in = tokio::time::timeout(HELLO_WITHIN, hello(&mut sink, &mut stream, &app)).await;
    let Ok(Some((claims, login, hello_id, resume, seen))) = signed_in else {
        let _ = tokio::time::timeout(write_timeout, sink.send(Message::Close(None))).await;
        return;
    };
    let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
    let conn = Connection {
        id: app.next_conn.fetch_add(1, Ordering::Relaxed),
        tx: tx.clone(),
        kill: Arc::default(),
    };
    let heartbeat = Duration::from_secs(u64::from(app.config.heartbeat_secs));
    let writer = tokio::spawn(write_loop(
        sink,
        rx,
        conn.kill.clone(),
        heartbeat,
        write_timeout,
    ));
    let session = match resume {
        Some(old) => match app
            .hub
            .resume(&old, login.clone(), conn.clone(), hello_id, seen)
        {
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
    sink: &mut WsSink,
    stream: &mut Stream,
    app: &App,
) -> Option<(Claims, Login, Option<u32>, Option<SessionId>, Option<u64>)> {
    loop {
        let msg = stream.next().await?.ok()?;
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
        if !app.hub.accepting() {
            // A node cut off from the cluster's state takes no sign-ins: the client moves
            // to another node (docs/server.md, "Several nodes").
            say(
                sink,
                &ServerFrame::error(
                    frame.id,
                    ErrorCode::ServiceUnavailable,
                    "this node cannot reach the cluster's state; connect to another node",
                ),
            )
            .await;
            return None;
        }
        let user = UserKey::new(claims.realm.clone(), claims.sub.clone());
        // The directory decides, not the token: a disabled account's tokens are refused, and
        // so are those of an account whose role changed since they were issued.
        let refusal = match app.hub.account(&user) {
            _ if claims.auth == 0 => Some("a token of an older server version; sign in again"),
            _ if claims.role == Role::Customer => None,
            None => Some("the account does not exist or is disabled"),
            Some(a) if a.role != claims.role => {
                Some("the account's role changed since this token was issued; sign in again")
            }
            Some(a) if !a.honours(claims.auth) => Some(
                "this sign-in was revoked (the password changed or the account was disabled); sign in again",
            ),
            Some(_) => None,
        };
        if let Some(why) = refusal {
            say(
                sink,
                &ServerFrame::error(frame.id, ErrorCode::InvalidToken, why),
            )
            .await;
            return None;
        }
        let max_age = if claims.role == Role::Customer {
            app.config.customer_max_session_secs
        } else {
            app.config.max_session_secs
        };
        let login = Login {
            user,
            role: claims.role,
            display_name: None,
            token_expires_at: claims.exp.saturating_mul(1000),
            business: claims.biz.clone(),
            session_ends_at: claims.auth.saturating_add(max_age).saturating_mul(1000),
        };
        return Some((claims, login, frame.id, h.resume, h.seen));
    }
}

/// Sends what the hub queued, and pings. A write the client does not take within
/// `write_timeout` ends the connection: a client that never reads pins nothing for long.
async fn write_loop<S>(
    mut sink: S,
    mut rx: mpsc::Receiver<Outbound>,
    kill: Arc<tokio::sync::Notify>,
    heartbeat: Duration,
    write_timeout: Duration,
) where
    S: Sink<Message> + Unpin,
{
    let mut ping = tokio::time::interval(heartbeat);
    ping.tick().await;
    loop {
        let m = tokio::select! {
            m = rx.recv() => match m {
                Some(Outbound::Frame(text)) => Message::Text(text.into()),
                Some(Outbound::Close) | None => {
                    let _ = tokio::time::timeout(write_timeout, sink.send(Message::Close(None))).await;
                    break;
                }
            },
            _ = ping.tick() => Message::Ping(Default::default()),
            // The hub gave up on this client (its queue overflowed): no goodbye fits.
            _ = kill.notified() => break,
        };
        let sent = tokio::select! {
            r = tokio::time::timeout(write_timeout, sink.send(m)) => matches!(r, Ok(Ok(()))),
            _ = kill.notified() => break,
        };
        if !sent {
            tracing::info!("a write was not taken within {write_timeout:?}; closing");
            break;
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
        if let Message::Close(_) = msg {
            return;
        }
        app.metrics.frames_in.inc();
        // Every frame counts, WebSocket pings too: the layer below answers each with a pong.
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
            // Pings are answered by the WebSocket layer; any traffic counts as alive.
            _ => continue,
        };
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
                let answer = match refresh(app, &mut claims, now / 1000) {
                    Ok(token) => {
                        app.hub.token_refreshed(session, claims.exp * 1000);
                        ServerMessage::TokenRefreshed(TokenRefreshed {
                            token,
                            expires_at: claims.exp * 1000,
                        })
                    }
                    Err((code, why)) => ServerMessage::Error(switchboard_protocol::ErrorMessage {
                        code,
                        message: why,
                        call_id: None,
                    }),
                };
                reply(ServerFrame::reply(frame.id, answer));
            }
            _ => app.hub.frame(session, frame),
        }
    }
}

/// A fresh token for a signed-in session: the account's role now (a demoted user's token says
/// so), the same sign-in time, and never past the session's maximum age.
fn refresh(
    app: &App,
    claims: &mut Claims,
    now: u64,
) -> Result<switchboard_protocol::Token, (ErrorCode, String)> {
    let (ttl, max_age) = if claims.role == Role::Customer {
        (
            app.config.customer_token_ttl_secs,
            app.config.customer_max_session_secs,
        )
    } else {
        let user = UserKey::new(claims.realm.clone(), claims.sub.clone());
        let Some(account) = app.hub.account(&user).filter(|a| a.honours(claims.auth)) else {
            return Err((
                ErrorCode::InvalidToken,
                "the account is disabled or gone, or this sign-in was revoked".into(),
            ));
        };
        claims.role = account.role;
        (app.config.token_ttl_secs, app.config.max_session_secs)
    };
    let ends = claims.auth.saturating_add(max_age);
    if claims.auth == 0 || now >= ends {
        return Err((
            ErrorCode::TokenExpired,
            format!(
                "this sign-in is older than {} h, the most a session lasts; sign in again",
                max_age / 3600
            ),
        ));
    }
    claims.exp = (now + ttl).min(ends);
    switchboard_protocol::Token::new(app.tokens.sign(claims))
        .map_err(|e| (ErrorCode::Internal, e.to_string()))
}

fn nonzero(n: u32) -> std::num::NonZeroU32 {
    std::num::NonZeroU32::new(n).unwrap_or(std::num::NonZeroU32::MIN)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::*;
    use crate::config::Config;
    use crate::core::Account;
    use crate::metrics::Metrics;
    use crate::store::Store;
    use crate::throttle::Throttle;
    use crate::token::TokenKey;

    /// A client that never reads: its socket never takes another byte.
    struct NeverReads;

    impl Sink<Message> for NeverReads {
        type Error = ();
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Pending
        }
        fn start_send(self: Pin<&mut Self>, _: Message) -> Result<(), ()> {
            Ok(())
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Pending
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
            Poll::Pending
        }
    }

    // Finding 4: a write the client does not take ends the connection within the timeout.
    #[tokio::test]
    async fn a_write_the_client_never_takes_ends_the_connection() {
        let (tx, rx) = mpsc::channel(8);
        tx.send(Outbound::Frame("{\"type\":\"ack\"}".into()))
            .await
            .unwrap();
        // `tx` stays open: only the stuck write can end the loop.
        tokio::time::timeout(
            Duration::from_secs(10),
            write_loop(
                NeverReads,
                rx,
                Arc::default(),
                Duration::from_secs(3600),
                Duration::from_millis(200),
            ),
        )
        .await
        .expect("the writer gave up on the stuck write");
        drop(tx);
    }

    // Finding 4: the hub ends a connection whose queue overflowed, though no `Close` fits in.
    #[tokio::test]
    async fn a_connection_given_up_ends_without_room_for_a_goodbye() {
        let (tx, rx) = mpsc::channel(1);
        tx.send(Outbound::Frame("{}".into())).await.unwrap();
        let kill = Arc::new(tokio::sync::Notify::new());
        kill.notify_one();
        tokio::time::timeout(
            Duration::from_secs(10),
            write_loop(
                NeverReads,
                rx,
                kill,
                Duration::from_secs(3600),
                Duration::from_secs(3600),
            ),
        )
        .await
        .expect("the writer stopped when told to");
        drop(tx);
    }

    async fn app(config: Config) -> App {
        let dir = Box::leak(Box::new(tempfile::tempdir().unwrap()));
        let (records, _) = mpsc::unbounded_channel();
        App {
            hub: LocalHub::new(config.core("t"), records),
            tokens: TokenKey::from_bytes(&[1; 32]),
            store: Store::open(dir.path()).await.unwrap(),
            metrics: Metrics::default(),
            throttle: Throttle::new(&config),
            admin_writes: tokio::sync::Mutex::new(()),
            next_conn: std::sync::atomic::AtomicU64::new(1),
            config,
        }
    }

    // Finding 2: a refreshed token carries the account's role of now, keeps the sign-in time
    // and never outlives the maximum session age.
    #[tokio::test]
    async fn refresh_follows_the_directory_and_stops_at_the_session_age() {
        let app = app(toml::from_str("max_session_secs = 100\n").unwrap()).await;
        let boss = UserKey::new("dev".try_into().unwrap(), "boss".try_into().unwrap());
        app.hub
            .set_account(boss.clone(), Some(Account::new(Role::Admin)));
        let now = 1_000_000;
        let mut claims = Claims {
            sub: boss.user.clone(),
            realm: boss.realm.clone(),
            role: Role::Admin,
            exp: now + 10,
            auth: now - 50,
            biz: None,
        };
        app.hub
            .set_account(boss.clone(), Some(Account::new(Role::Agent)));
        let token = refresh(&app, &mut claims, now).unwrap();
        let fresh = app.tokens.verify(token.as_str(), now).unwrap();
        assert_eq!(fresh.role, Role::Agent, "demoted: the new token says so");
        assert_eq!(fresh.auth, now - 50, "the sign-in time is kept");
        assert_eq!(fresh.exp, now + 50, "not past sign-in + max_session_secs");
        // At the age limit, and for tokens that do not say when they signed in: sign in again.
        claims.auth = now - 100;
        assert_eq!(
            refresh(&app, &mut claims, now).unwrap_err().0,
            ErrorCode::TokenExpired
        );
        claims.auth = 0;
        assert_eq!(
            refresh(&app, &mut claims, now).unwrap_err().0,
            ErrorCode::InvalidToken
        );
        // Disabled: no new token at all.
        claims.auth = now - 50;
        app.hub.set_account(boss, None);
        assert_eq!(
            refresh(&app, &mut claims, now).unwrap_err().0,
            ErrorCode::InvalidToken
        );
    }
}
