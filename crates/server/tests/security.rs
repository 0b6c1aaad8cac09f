//! The holes of the security review, tried against the real server over loopback: each test
//! names the finding it guards (docs/security.md lists them; the core's own tests are in
//! `src/core/hostile.rs`).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use switchboard_protocol::*;
use tokio_tungstenite::tungstenite::Message;

async fn login(server: &Server, user: &str, password: &str) -> (u16, serde_json::Value) {
    server
        .post(
            "/auth/login",
            serde_json::json!({"user": user, "password": password}),
            None,
        )
        .await
}

async fn session_ended(c: &mut Client) -> SessionEndCode {
    c.expect(|m| match m {
        ServerMessage::SessionEnded(e) => Some(e.code),
        _ => None,
    })
    .await
}

/// The first error a raw socket hears, or `None` once it is closed.
async fn refused(server: &Server, token: &str) -> Option<ErrorCode> {
    let mut ws = Client::raw(server).await;
    ws.send(Message::Text(
        format!(r#"{{"type":"hello","v":1,"token":"{token}"}}"#).into(),
    ))
    .await
    .unwrap();
    while let Some(Ok(m)) = tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
        if let Message::Text(t) = m {
            match decode_server(t.as_str()).unwrap().message {
                ServerMessage::Error(e) => return Some(e.code),
                ServerMessage::Hello(_) => return None,
                _ => {}
            }
        }
    }
    None
}

// Finding 2: the admin API and the socket follow the account, not the token.
#[tokio::test]
async fn a_disabled_or_demoted_admin_loses_their_power_at_once() {
    let server = Server::start("");
    let root = server.token("admin");
    for who in ["boss", "deputy"] {
        let (status, body) = server
            .post(
                "/admin/users",
                serde_json::json!({"user": who, "role": "admin", "password": "long enough"}),
                Some(&root),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (_, body) = login(&server, "boss", "long enough").await;
    let boss = body["token"].as_str().unwrap().to_owned();
    let mut boss_socket = Client::connect(&server, &boss).await;
    let (status, _) = server
        .post(
            "/admin/users/boss/disable",
            serde_json::json!({}),
            Some(&root),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        session_ended(&mut boss_socket).await,
        SessionEndCode::KickedByServer
    );
    // The token is still well signed and unexpired, and worth nothing: boss cannot re-enable
    // herself, nor sign in on the socket.
    let (status, body) = server
        .post(
            "/admin/users/boss/enable",
            serde_json::json!({}),
            Some(&boss),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    assert_eq!(refused(&server, &boss).await, Some(ErrorCode::InvalidToken));

    // Demoted: signed out at once, the old admin token refused everywhere, a new sign-in is an
    // agent's.
    let (_, body) = login(&server, "deputy", "long enough").await;
    let deputy = body["token"].as_str().unwrap().to_owned();
    let mut deputy_socket = Client::connect(&server, &deputy).await;
    let (status, _) = server
        .post(
            "/admin/users",
            serde_json::json!({"user": "deputy", "role": "agent"}),
            Some(&root),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        session_ended(&mut deputy_socket).await,
        SessionEndCode::KickedByServer
    );
    let (status, _) = server
        .post(
            "/admin/users",
            serde_json::json!({"user": "x1", "role": "admin"}),
            Some(&deputy),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        refused(&server, &deputy).await,
        Some(ErrorCode::InvalidToken)
    );
    let (_, body) = login(&server, "deputy", "long enough").await;
    assert_eq!(body["role"], "agent");
    let mut agent = Client::connect(&server, body["token"].as_str().unwrap()).await;
    agent.send(ClientMessage::RefreshToken).await;
    let fresh = agent
        .expect(|m| match m {
            ServerMessage::TokenRefreshed(t) => Some(t.token.clone()),
            _ => None,
        })
        .await;
    let again = Client::connect(&server, fresh.as_str()).await;
    assert_eq!(again.welcome.role, Role::Agent);
}

// Findings 2 and 7: refresh stops at the session's maximum age, a token that runs out ends its
// session on an idle socket, and minted tokens have a capped lifetime.
#[tokio::test]
async fn sessions_end_with_their_token_and_refresh_stops_at_the_maximum_age() {
    let server = Server::start("max_session_secs = 3\nmax_token_ttl_secs = 600\n");
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let (_, body) = login(&server, "alice", "alice").await;
    let mut alice = Client::connect(&server, body["token"].as_str().unwrap()).await;
    assert!(alice.welcome.token_expires_at <= before + 4_000);
    alice.send(ClientMessage::RefreshToken).await;
    let fresh = alice
        .expect(|m| match m {
            ServerMessage::TokenRefreshed(t) => Some(t.expires_at),
            _ => None,
        })
        .await;
    assert!(
        fresh <= before + 4_000,
        "refresh does not go past sign-in + 3 s"
    );
    // Alice says nothing more (her client still answers pings): the session ends with the token.
    assert_eq!(
        session_ended(&mut alice).await,
        SessionEndCode::TokenExpired
    );
    assert!(alice.next().await.is_none(), "and the connection is closed");

    let admin = server.token("admin");
    let (status, body) = server
        .post(
            "/admin/tokens",
            serde_json::json!({"user": "bob", "ttl_secs": 1_000_000_000u64}),
            Some(&admin),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, body) = server
        .post(
            "/admin/tokens",
            serde_json::json!({"user": "bob", "ttl_secs": 2}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, 200);
    let mut bob = Client::connect(&server, body["token"].as_str().unwrap()).await;
    assert_eq!(session_ended(&mut bob).await, SessionEndCode::TokenExpired);
}

// Finding 4: a client that never reads is cut off, and one address holds only so many
// connections.
#[tokio::test]
async fn a_client_that_never_reads_is_cut_off_and_connections_per_address_are_capped() {
    let server = Server::start(
        "write_timeout_secs = 1\nmessages_per_second = 1000\nmessage_burst = 1000\nmax_connections_per_address = 3\n",
    );
    // A socket with a tiny receive buffer that never reads what the server sends.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr.parse().unwrap()).await.unwrap();
    let (ws, _) = tokio_tungstenite::client_async(server.url(), stream)
        .await
        .unwrap();
    let (mut tx, mut rx) = ws.split();
    let token = server.token("alice");
    tx.send(Message::Text(
        format!(r#"{{"type":"hello","v":1,"token":"{token}"}}"#).into(),
    ))
    .await
    .unwrap();
    rx.next().await.unwrap().unwrap();
    assert_eq!(sockets(&server).await, 1);
    // Each subscription makes the server send 500 presence frames.
    let users: Vec<String> = (0..limits::MAX_PRESENCE_USERS)
        .map(|i| format!("\"someone{i}\""))
        .collect();
    let subscribe = format!(
        r#"{{"type":"subscribe_presence","users":[{}]}}"#,
        users.join(",")
    );
    let flood = tokio::spawn(async move {
        for _ in 0..2000 {
            if tx
                .send(Message::Text(subscribe.clone().into()))
                .await
                .is_err()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    // Sooner than the 30 s a silent client would take: the socket's writer gave up on it and
    // its place is free.
    no_sockets_within(&server, Duration::from_secs(20)).await;
    flood.abort();
    drop(rx);

    // Three connections from this address, then no more until one closes.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(Client::raw(&server).await);
    }
    match tokio_tungstenite::connect_async(server.url()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 429),
        other => panic!("a fourth connection was let in: {:?}", other.map(|_| ())),
    }
    drop(held.pop());
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio_tungstenite::connect_async(server.url())
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place was not given back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// WebSocket connections holding a place on the server, signed in or not.
async fn sockets(server: &Server) -> u64 {
    server
        .get("/metrics")
        .await
        .lines()
        .find_map(|l| l.strip_prefix("switchboard_sockets_open "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

async fn no_sockets_within(server: &Server, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while sockets(server).await != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server still holds the socket of a client that does not read"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// Finding 4: before `hello` too, a client that sends and never reads is let go within the 10 s
// for `hello`: the server's answers to it do not hold the connection.
#[tokio::test]
async fn a_client_that_never_reads_before_hello_is_let_go() {
    let server = Server::start("");
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr.parse().unwrap()).await.unwrap();
    let (ws, _) = tokio_tungstenite::client_async(server.url(), stream)
        .await
        .unwrap();
    let (mut tx, rx) = ws.split();
    // Each binary frame is answered with an error frame the client never reads.
    let flood = tokio::spawn(async move {
        let junk = Message::Binary(vec![0u8; 16].into());
        while tx.send(junk.clone()).await.is_ok() {}
    });
    assert_eq!(sockets(&server).await, 1);
    no_sockets_within(&server, Duration::from_secs(20)).await;
    flood.abort();
    drop(rx);
}

// Finding 15: without a metrics token, /metrics is for this machine, not for what a proxy on
// it forwards.
#[tokio::test]
async fn metrics_without_a_token_are_not_served_through_a_proxy() {
    let server = Server::start("trusted_proxies = [\"127.0.0.1\"]\n");
    let url = server.http("/metrics");
    let status = tokio::task::spawn_blocking(move || {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        let forwarded = agent
            .get(&url)
            .header("X-Forwarded-For", "203.0.113.9")
            .call()
            .unwrap()
            .status()
            .as_u16();
        let local = agent.get(&url).call().unwrap().status().as_u16();
        (forwarded, local)
    })
    .await
    .unwrap();
    assert_eq!(status, (403, 200));
}

// Finding 2: a new password signs the account out everywhere and its old tokens stay refused,
// and re-enabling a disabled account does not bring its old tokens back.
#[tokio::test]
async fn a_new_password_or_a_disable_revokes_every_earlier_sign_in() {
    let server = Server::start("");
    let admin = server.token("admin");
    let old = server.token("alice");
    let mut alice = Client::connect(&server, &old).await;
    // Tokens count whole seconds: let the next one start.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _) = server
        .post(
            "/admin/users/alice/password",
            serde_json::json!({"password": "a fresh secret"}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        session_ended(&mut alice).await,
        SessionEndCode::KickedByServer
    );
    assert_eq!(refused(&server, &old).await, Some(ErrorCode::InvalidToken));
    let (status, body) = login(&server, "alice", "a fresh secret").await;
    assert_eq!(status, 200);
    Client::connect(&server, body["token"].as_str().unwrap()).await;

    let bob = server.token("bob");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for step in ["disable", "enable"] {
        let (status, _) = server
            .post(
                &format!("/admin/users/bob/{step}"),
                serde_json::json!({}),
                Some(&admin),
            )
            .await;
        assert_eq!(status, 204);
    }
    assert_eq!(refused(&server, &bob).await, Some(ErrorCode::InvalidToken));
    let (status, _) = login(&server, "bob", "bob").await;
    assert_eq!(status, 200, "the account itself works again");
}

// Finding 5: sign-in attempts are limited per account and per address.
#[tokio::test]
async fn sign_in_is_throttled_per_account_and_per_address() {
    let server =
        Server::start("logins_per_minute_per_account = 3\nlogins_per_minute_per_address = 6\n");
    for _ in 0..3 {
        assert_eq!(login(&server, "alice", "guess").await.0, 401);
    }
    let (status, body) = login(&server, "alice", "alice").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("rate_limited")),
        "the right password, too late: {body}"
    );
    // Other accounts still sign in, until this address has used its attempts.
    assert_eq!(login(&server, "bob", "bob").await.0, 200);
    assert_eq!(login(&server, "carol", "carol").await.0, 200);
    let (status, body) = login(&server, "a1", "a1").await;
    assert_eq!(status, 429, "{body}");
}

async fn customer_token(
    server: &Server,
    body: serde_json::Value,
    forwarded: Option<&str>,
) -> (u16, serde_json::Value) {
    let headers: Vec<(&str, &str)> = forwarded
        .map(|f| ("X-Forwarded-For", f))
        .into_iter()
        .collect();
    server
        .post_with("/auth/customer", body, None, &headers)
        .await
}

// Finding 6: customer tokens are limited per caller (named by a trusted proxy), only for the
// queues a realm offers, and a queue holds only so many.
#[tokio::test]
async fn customer_tokens_and_queues_cannot_be_flooded() {
    let server = Server::start(
        "customer_tokens_per_minute = 1\ntrusted_proxies = [\"127.0.0.1\"]\nmax_waiting_per_business = 1\n",
    );
    let sales = serde_json::json!({"business": "sales"});
    assert_eq!(
        customer_token(&server, sales.clone(), Some("198.51.100.1"))
            .await
            .0,
        201
    );
    assert_eq!(
        customer_token(&server, sales.clone(), Some("198.51.100.1"))
            .await
            .0,
        429
    );
    // Another caller behind the same proxy has its own allowance; a forged hop in front does
    // not make a new caller.
    assert_eq!(
        customer_token(&server, sales.clone(), Some("198.51.100.2"))
            .await
            .0,
        201
    );
    assert_eq!(
        customer_token(&server, sales.clone(), Some("203.0.113.5, 198.51.100.2"))
            .await
            .0,
        429
    );
    // Queues nobody offers, and realms that do not exist, get one and the same answer.
    let unknown = customer_token(
        &server,
        serde_json::json!({"business": "made-up"}),
        Some("198.51.100.3"),
    )
    .await;
    let elsewhere = customer_token(
        &server,
        serde_json::json!({"business": "sales", "realm": "acme"}),
        Some("198.51.100.4"),
    )
    .await;
    assert_eq!(unknown.0, 404);
    assert_eq!(unknown, elsewhere);

    // One customer waits for sales (its agent is on a break); the next one is turned away.
    let mut a1 = Client::user(&server, "a1").await;
    a1.register_agent(&["sales"]).await;
    a1.set_state(AgentAvailability::NotReady {
        reason: Label::new("break").unwrap(),
    })
    .await;
    let (_, body) = customer_token(&server, sales.clone(), Some("198.51.100.5")).await;
    let mut first = Client::connect(&server, body["token"].as_str().unwrap()).await;
    first.enqueue("sales").await;
    let (_, body) = customer_token(&server, sales, Some("198.51.100.6")).await;
    let mut second = Client::connect(&server, body["token"].as_str().unwrap()).await;
    second.send_enqueue("sales", 0).await;
    assert_eq!(second.error().await.code, ErrorCode::QueueFull);
}

// Finding 8: customers get per-session relay credentials, never the fixed TURN password.
#[tokio::test]
async fn customers_get_only_time_limited_relay_credentials() {
    let server = Server::start(
        "[[ice_servers]]\nurls = [\"turn:fixed.example.org:3478\"]\nusername = \"sb\"\ncredential = \"hunter2\"\n\
         [[ice_servers]]\nurls = [\"turn:rest.example.org:3478\"]\nsecret = \"s3cret\"\n",
    );
    let c = customer(&server, "support").await;
    let servers = &c.welcome.ice_servers;
    assert_eq!(servers.len(), 1, "{servers:?}");
    assert_eq!(servers[0].urls, ["turn:rest.example.org:3478"]);
    let username = servers[0].username.as_deref().unwrap();
    let (expires, holder) = username.split_once(':').unwrap();
    assert_eq!(holder, format!("{}/{}", c.user, c.welcome.realm));
    let expires: u64 = expires.parse().unwrap();
    let now = c.welcome.server_time / 1000;
    assert!(
        expires > now && expires <= now + 4 * 3600 + 1,
        "valid for the session only"
    );
    let alice = Client::user(&server, "alice").await;
    assert_eq!(
        alice.welcome.ice_servers.len(),
        2,
        "staff get the fixed relay"
    );
}

// Finding 11: a restart with thousands of waiting messages delivers what the limit keeps,
// marks the rest dropped, and the connection takes it all.
#[tokio::test]
async fn thousands_of_waiting_messages_survive_a_restart_within_the_limit() {
    let mut server = Server::start("");
    server.stop();
    {
        let db = server.data_dir().join("switchboard.db");
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let mut tx = pool.begin().await.unwrap();
        for i in 0..5000i64 {
            sqlx::query(
                "INSERT INTO messages (msg_id, realm, from_user, to_user, seq, body, sent_at, delivered)
                 VALUES (?, 'dev', 'alice', 'bob', ?, 'hello', ?, 0)",
            )
            .bind(format!("old{i}"))
            .bind(i + 1)
            .bind(1_700_000_000_000i64 + i)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        pool.close().await;
    }
    server.start_again();
    let mut bob = Client::user(&server, "bob").await;
    let mut seqs = Vec::new();
    while seqs.len() < 1000 {
        let seq = bob
            .expect(|m| match m {
                ServerMessage::Message(m) => Some(m.seq),
                _ => None,
            })
            .await;
        seqs.push(seq);
    }
    assert_eq!(
        seqs,
        (4001..=5000).collect::<Vec<_>>(),
        "the newest 1000, in order"
    );
    bob.send(ClientMessage::Ping).await;
    bob.expect(|m| matches!(m, ServerMessage::Pong(_)).then_some(()))
        .await;
    server.stop();
    let db = server.data_dir().join("switchboard.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let counts: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT delivered, COUNT(*) FROM messages GROUP BY delivered ORDER BY delivered",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(counts, vec![(1, 1000), (2, 4000)]);
}

// Finding 12: labels with control or bidi characters are refused.
#[tokio::test]
async fn names_with_control_or_bidi_characters_are_refused() {
    let server = Server::start("");
    let mut c = customer(&server, "sales").await;
    for name in ["Ann\u{202E}gpj.exe", "Ann\nINFO signed in as admin", "   "] {
        let frame = serde_json::json!({
            "type": "enqueue", "business": "sales", "media": "audio", "name": name
        });
        c.send_text(&frame.to_string()).await;
        let e = c.error().await;
        assert_eq!(e.code, ErrorCode::InvalidMessage, "{name:?}");
        assert!(e.message.contains("label"), "{}", e.message);
    }
}

// Finding 13: an agent's skills and a caller's priority are the account's.
#[tokio::test]
async fn skills_and_priority_are_assigned_by_an_admin() {
    let server = Server::start("");
    let admin = server.token("admin");
    let (status, body) = server
        .post(
            "/admin/users",
            serde_json::json!({
                "user": "a7", "role": "agent", "password": "long enough",
                "skills": [{"business": "claims", "level": 7}]
            }),
            Some(&admin),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = server
        .post(
            "/admin/users",
            serde_json::json!({"user": "vip", "role": "user", "queue_priority": 3}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, body) = login(&server, "a7", "long enough").await;
    let mut a7 = Client::connect(&server, body["token"].as_str().unwrap()).await;
    a7.send(ClientMessage::AgentRegister(AgentRegister {
        profile: AgentProfile {
            area: Label::new("north").unwrap(),
            skills: vec![Skill {
                business: Business::new("sales").unwrap(),
                level: 10,
            }],
            display_name: None,
        },
    }))
    .await;
    let e = a7.error().await;
    assert_eq!(e.code, ErrorCode::Forbidden);
    assert!(e.message.contains("claims"), "{}", e.message);
    a7.register_agent(&["claims"]).await;
    // The user asks for 10 and gets the 3 of the account.
    let token = server_token(&server, "vip");
    let mut vip = Client::connect(&server, &token).await;
    vip.send_enqueue("claims", limits::MAX_LEVEL).await;
    let offered = a7.incoming().await;
    assert_eq!(offered.queue.unwrap().priority, 3);
}

fn server_token(server: &Server, user: &str) -> String {
    switchboard_server::mint_token(&server.data_dir(), "dev", user, Role::User, 600).unwrap()
}

// Finding 15: upsert keeps a disabled account disabled, passwords have a minimum length,
// /metrics can require a token, and WebSocket pings count against the rate limit.
#[tokio::test]
async fn smaller_gaps_are_closed() {
    let server = Server::start(
        "metrics_token = \"a-long-metrics-token\"\nmessages_per_second = 5\nmessage_burst = 5\n",
    );
    let admin = server.token("admin");
    let (status, body) = server
        .post(
            "/admin/users",
            serde_json::json!({"user": "a3", "role": "agent", "password": "short"}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = server
        .post(
            "/admin/users/bob/password",
            serde_json::json!({"password": "1234567"}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = server
        .post(
            "/admin/users/carol/disable",
            serde_json::json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = server
        .post(
            "/admin/users",
            serde_json::json!({"user": "carol", "role": "user", "password": "a new password"}),
            Some(&admin),
        )
        .await;
    assert_eq!((status, body["disabled"].as_bool()), (201, Some(true)));
    assert_eq!(login(&server, "carol", "a new password").await.0, 401);

    let metrics = |bearer: Option<&'static str>| {
        let url = server.http("/metrics");
        tokio::task::spawn_blocking(move || {
            let agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .new_agent();
            let mut req = agent.get(&url);
            if let Some(b) = bearer {
                req = req.header("Authorization", &format!("Bearer {b}"));
            }
            req.call().unwrap().status().as_u16()
        })
    };
    assert_eq!(metrics(None).await.unwrap(), 401);
    assert_eq!(metrics(Some("a-long-metrics-tokeN")).await.unwrap(), 401);
    assert_eq!(metrics(Some("a-long-metrics-token")).await.unwrap(), 200);

    // A flood of WebSocket pings is a flood like any other.
    let mut alice = Client::user(&server, "alice").await;
    for _ in 0..400 {
        if alice.send_ping().await.is_err() {
            break;
        }
    }
    let mut closed = false;
    for _ in 0..1000 {
        if alice.next().await.is_none() {
            closed = true;
            break;
        }
    }
    assert!(closed, "a ping flood closes the connection");
}
