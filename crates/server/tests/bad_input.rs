//! Bad input gets a typed error, the connection is kept where that makes sense, and nothing
//! crashes the server or leaks other people's calls.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use switchboard_protocol::*;
use tokio_tungstenite::tungstenite::Message;

async fn error_of(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Option<ErrorCode> {
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
            Some(Ok(Message::Text(t))) => {
                if let ServerMessage::Error(e) = decode_server(t.as_str()).unwrap().message {
                    return Some(e.code);
                }
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn frames_before_hello_forged_and_expired_tokens() {
    let server = Server::start("");
    let mut ws = Client::raw(&server).await;
    ws.send(Message::Text(
        r#"{"type":"invite","to":[{"user":"bob"}],"media":"audio"}"#.into(),
    ))
    .await
    .unwrap();
    assert_eq!(error_of(&mut ws).await, Some(ErrorCode::HelloRequired));
    // A token signed with another key: refused, connection closed.
    let forged = {
        let dir = tempfile::tempdir().unwrap();
        switchboard_server::mint_token(dir.path(), "dev", "alice", Role::Admin, 600).unwrap()
    };
    ws.send(Message::Text(
        format!(r#"{{"type":"hello","v":1,"token":"{forged}"}}"#).into(),
    ))
    .await
    .unwrap();
    assert_eq!(error_of(&mut ws).await, Some(ErrorCode::InvalidToken));
    assert_eq!(error_of(&mut ws).await, None, "closed after a bad token");

    let expired =
        switchboard_server::mint_token(&server.data_dir(), "dev", "alice", Role::User, 0).unwrap();
    let mut ws = Client::raw(&server).await;
    ws.send(Message::Text(
        format!(r#"{{"type":"hello","v":1,"token":"{expired}"}}"#).into(),
    ))
    .await
    .unwrap();
    assert_eq!(error_of(&mut ws).await, Some(ErrorCode::TokenExpired));

    let mut ws = Client::raw(&server).await;
    let good = server.token("alice");
    ws.send(Message::Text(
        format!(r#"{{"type":"hello","v":99,"token":"{good}"}}"#).into(),
    ))
    .await
    .unwrap();
    assert_eq!(error_of(&mut ws).await, Some(ErrorCode::UnsupportedVersion));

    // A well-signed token for an account that does not exist.
    let ghost = switchboard_server::mint_token(&server.data_dir(), "dev", "ghost", Role::User, 600)
        .unwrap();
    let mut ws = Client::raw(&server).await;
    ws.send(Message::Text(
        format!(r#"{{"type":"hello","v":1,"token":"{ghost}"}}"#).into(),
    ))
    .await
    .unwrap();
    assert_eq!(error_of(&mut ws).await, Some(ErrorCode::InvalidToken));
}

#[tokio::test]
async fn malformed_unknown_oversized_binary_and_wrong_state_keep_the_connection() {
    let server = Server::start("");
    let mut alice = Client::user(&server, "alice").await;
    let mut bob = Client::user(&server, "bob").await;
    let mut carol = Client::user(&server, "carol").await;

    alice.send_text("{not json").await;
    assert_eq!(alice.error().await.code, ErrorCode::MalformedFrame);
    alice.send_text(r#"{"type":"teleport","id":5}"#).await;
    let e = alice.next().await.unwrap();
    assert_eq!(e.id, Some(5));
    assert!(matches!(
        e.message,
        ServerMessage::Error(ErrorMessage {
            code: ErrorCode::UnknownType,
            ..
        })
    ));
    alice.send_text(r#"{"type":"invite","to":"bob"}"#).await;
    assert_eq!(alice.error().await.code, ErrorCode::InvalidMessage);
    let big = format!(
        r#"{{"type":"message","to":"bob","text":"{}"}}"#,
        "x".repeat(limits::MAX_FRAME_BYTES)
    );
    alice.send_text(&big).await;
    assert_eq!(alice.error().await.code, ErrorCode::FrameTooLarge);
    alice.send_binary(&[1, 2, 3]).await;
    assert_eq!(alice.error().await.code, ErrorCode::BinaryFrame);
    alice
        .send(ClientMessage::Hello(Hello {
            v: 1,
            token: Token::new("x").unwrap(),
            resume: None,
            seen: None,
            client: None,
        }))
        .await;
    assert_eq!(alice.error().await.code, ErrorCode::AlreadyAuthenticated);
    // Accepting a call that is not ringing here; hanging up someone else's call.
    let call = alice.call(&["bob"], CallMedia::Audio).await;
    bob.incoming().await;
    alice.accept(&call).await;
    assert_eq!(alice.error().await.code, ErrorCode::WrongState);
    carol.hangup(&call).await;
    let e = carol.error().await;
    assert_eq!(
        (e.code, e.call_id),
        (ErrorCode::UnknownCall, Some(call.clone()))
    );
    carol
        .send(ClientMessage::IceCandidate(IceToPeer {
            call_id: call.clone(),
            to: UserId::new("bob").unwrap(),
            to_session: None,
            candidate: None,
        }))
        .await;
    assert_eq!(carol.error().await.code, ErrorCode::UnknownCall);
    assert!(
        bob.sees_within(std::time::Duration::from_millis(300), |m| matches!(
            m,
            ServerMessage::IceCandidate(_)
        )
        .then_some(()))
            .await
            .is_none(),
        "nothing relayed from outside the call"
    );
    // Agent actions by a user.
    alice
        .send(ClientMessage::SetAgentState(SetAgentState {
            state: AgentAvailability::Ready,
            after_call: false,
        }))
        .await;
    assert_eq!(alice.error().await.code, ErrorCode::Forbidden);
    // After all that, the connection still works.
    alice.send(ClientMessage::Ping).await;
    alice
        .expect(|m| matches!(m, ServerMessage::Pong(_)).then_some(()))
        .await;
}

#[tokio::test]
async fn a_flood_is_rate_limited_then_cut_off() {
    let server = Server::start("messages_per_second = 5\nmessage_burst = 5\n");
    let mut alice = Client::user(&server, "alice").await;
    for _ in 0..20 {
        alice.send(ClientMessage::Ping).await;
    }
    assert_eq!(alice.error().await.code, ErrorCode::RateLimited);
    // Keep flooding: the server closes the connection.
    for _ in 0..400 {
        alice.send_text(r#"{"type":"ping"}"#).await;
    }
    let mut closed = false;
    for _ in 0..1000 {
        if alice.next().await.is_none() {
            closed = true;
            break;
        }
    }
    assert!(closed, "a flooding connection is closed");
    // Others are unaffected.
    let mut bob = Client::user(&server, "bob").await;
    bob.send(ClientMessage::Ping).await;
    bob.expect(|m| matches!(m, ServerMessage::Pong(_)).then_some(()))
        .await;
}

#[tokio::test]
async fn sign_in_customer_tokens_admin_api_and_metrics() {
    let server = Server::start("customer_tokens_per_minute = 3\n");
    let (status, body) = server
        .post(
            "/auth/login",
            serde_json::json!({"user": "a1", "password": "a1"}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["role"], "agent");
    let a1 = Client::connect(&server, body["token"].as_str().unwrap()).await;
    assert_eq!(a1.welcome.role, Role::Agent);
    let (status, body) = server
        .post(
            "/auth/login",
            serde_json::json!({"user": "a1", "password": "nope"}),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_credentials"))
    );

    for _ in 0..3 {
        let (status, _) = server
            .post(
                "/auth/customer",
                serde_json::json!({"business": "sales"}),
                None,
            )
            .await;
        assert_eq!(status, 201);
    }
    let (status, body) = server
        .post(
            "/auth/customer",
            serde_json::json!({"business": "sales"}),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("rate_limited"))
    );

    // Admin: create an agent, sign in with its password, disable it (signed out at once).
    let admin = server.token("admin");
    let (status, _) = server
        .post(
            "/admin/users",
            serde_json::json!({"user": "a3", "role": "agent", "password": "pw-a3-secret"}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = server
        .post(
            "/auth/login",
            serde_json::json!({"user": "a3", "password": "pw-a3-secret"}),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let mut a3 = Client::connect(&server, body["token"].as_str().unwrap()).await;
    let (status, _) = server
        .post(
            "/admin/users/a3/disable",
            serde_json::json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, 204);
    let ended = a3
        .expect(|m| match m {
            ServerMessage::SessionEnded(e) => Some(e.code),
            _ => None,
        })
        .await;
    assert_eq!(ended, SessionEndCode::KickedByServer);
    let (status, _) = server
        .post(
            "/auth/login",
            serde_json::json!({"user": "a3", "password": "pw-a3-secret"}),
            None,
        )
        .await;
    assert_eq!(status, 401);
    // Only admins use the admin API.
    let (status, _) = server
        .post(
            "/admin/users",
            serde_json::json!({"user": "x", "role": "user"}),
            Some(&server.token("alice")),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = server
        .post("/admin/tokens", serde_json::json!({"user": "bob"}), None)
        .await;
    assert_eq!(status, 401);
    let (status, body) = server
        .post(
            "/admin/tokens",
            serde_json::json!({"user": "bob"}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, 200);
    let bob = Client::connect(&server, body["token"].as_str().unwrap()).await;
    assert_eq!(bob.welcome.user.as_str(), "bob");

    let metrics = server.get("/metrics").await;
    assert!(
        metrics.contains("switchboard_connections_open 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("switchboard_connections_total"),
        "{metrics}"
    );
    assert_eq!(server.get("/healthz").await, "ok\n");
}

#[tokio::test]
async fn the_token_command_and_refresh_over_the_socket_give_working_tokens() {
    let server = Server::start("");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard-server"))
        .args([
            "token",
            "--realm",
            "dev",
            "--user",
            "bob",
            "--role",
            "user",
            "--ttl",
            "600",
            "--data-dir",
        ])
        .arg(server.data_dir())
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let mut bob = Client::connect(&server, &token).await;
    assert_eq!(bob.welcome.user.as_str(), "bob");
    let expires = bob.welcome.token_expires_at;
    bob.send(ClientMessage::RefreshToken).await;
    let fresh = bob
        .expect(|m| match m {
            ServerMessage::TokenRefreshed(t) => Some(t.clone()),
            _ => None,
        })
        .await;
    assert!(
        fresh.expires_at > expires,
        "a shift from now, later than the 10 minutes asked"
    );
    let again = Client::connect(&server, fresh.token.as_str()).await;
    assert_eq!(again.welcome.user.as_str(), "bob");
}
