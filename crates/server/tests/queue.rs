//! The customer-service queue over real WebSockets: routing, positions, RONA, abandon,
//! transfer, wrap-up, and the records it leaves.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use switchboard_protocol::*;

const FAST: &str = "rona_secs = 1\nwrap_up_secs = 1\nqueue_max_wait_secs = 600\n";

/// Waits until the customer is told this position (updates also come when only the queue
/// length changes).
async fn position(c: &mut Client, n: u32) {
    c.expect(|m| match m {
        ServerMessage::QueuePosition(p) if p.position == n => Some(()),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn positions_rona_abandon_and_routing_to_the_longest_idle_agent() {
    let server = Server::start(FAST);
    let mut a1 = Client::user(&server, "a1").await;
    a1.register_agent(&["sales"]).await;
    let mut c1 = customer(&server, "sales").await;
    let (call1, pos) = c1.enqueue("sales").await;
    assert_eq!(pos, 1);
    // a1 is the only ready agent: the call rings there at once, with the customer's offer.
    let inc = a1.incoming().await;
    assert_eq!(inc.call_id, call1);
    assert_eq!(inc.kind, CallKind::Queue);
    assert_eq!(inc.offer.unwrap().as_str(), "v=0 customer offer");
    assert_eq!(inc.queue.unwrap().business.as_str(), "sales");
    // Two more customers wait behind.
    let mut c2 = customer(&server, "sales").await;
    let (call2, p2) = c2.enqueue("sales").await;
    let mut c3 = customer(&server, "sales").await;
    let (call3, p3) = c3.enqueue("sales").await;
    assert_eq!((p2, p3), (1, 2));
    let cti = a1
        .expect(|m| match m {
            ServerMessage::Cti(c) if c.figures.waiting == 2 => Some(c.clone()),
            _ => None,
        })
        .await;
    assert_eq!((cti.figures.agents, cti.figures.agents_working), (1, 1));
    assert_eq!(cti.waiting.len(), 2);

    // a1 lets it ring out (1 s): RONA puts c1 back at the head; a1 becomes not ready.
    assert_eq!(
        a1.ended(&call1).await,
        reason(EndCode::NoAnswer, Side::Local)
    );
    let state = a1
        .expect(|m| match m {
            ServerMessage::AgentState(s) if matches!(s.state, AgentState::NotReady { .. }) => {
                Some(s.state.clone())
            }
            _ => None,
        })
        .await;
    assert_eq!(
        state,
        AgentState::NotReady {
            reason: Label::new("missed").unwrap()
        }
    );
    position(&mut c1, 1).await;
    position(&mut c2, 2).await;
    position(&mut c3, 3).await;

    // c2 gives up: c3 moves up without a gap.
    c2.hangup(&call2).await;
    assert_eq!(
        c2.ended(&call2).await,
        reason(EndCode::QueueAbandoned, Side::Local)
    );
    position(&mut c3, 2).await;

    // a2 comes in ready and takes the head customer (c1); a1 then goes ready and gets c3.
    let mut a2 = Client::user(&server, "a2").await;
    a2.register_agent(&["sales"]).await;
    assert_eq!(a2.incoming().await.call_id, call1);
    a1.set_state(AgentAvailability::Ready).await;
    assert_eq!(a1.incoming().await.call_id, call3);
}

/// call_id, kind, end_code, agent, wait_ms
type CallRow = (String, String, String, Option<String>, Option<i64>);

#[tokio::test]
async fn answer_hangup_wrap_up_and_records() {
    let mut server = Server::start(FAST);
    let mut a1 = Client::user(&server, "a1").await;
    a1.register_agent(&["support"]).await;
    let mut c = customer(&server, "support").await;
    let (call, _) = c.enqueue("support").await;
    a1.incoming().await;
    a1.accept(&call).await;
    let answer = c
        .expect(|m| match m {
            ServerMessage::Sdp(s) => Some(s.sdp.to_string()),
            _ => None,
        })
        .await;
    assert_eq!(answer, "v=0 answer from a1");
    c.hangup(&call).await;
    assert_eq!(c.ended(&call).await, reason(EndCode::Hangup, Side::Local));
    assert_eq!(a1.ended(&call).await, reason(EndCode::Hangup, Side::Remote));
    a1.expect(|m| {
        matches!(m, ServerMessage::AgentState(s) if matches!(s.state, AgentState::WrapUp { .. }))
            .then_some(())
    })
    .await;
    a1.send(ClientMessage::EndWrapUp(EndWrapUp {
        call_id: call.clone(),
        disposition: Some(Label::new("resolved").unwrap()),
        notes: Some(Text::new("asked about an invoice").unwrap()),
    }))
    .await;
    a1.expect(|m| {
        matches!(m, ServerMessage::AgentState(s) if s.state == AgentState::Ready).then_some(())
    })
    .await;

    // A second call: wrap-up ends by itself after 1 s (auto-ready).
    let mut c = customer(&server, "support").await;
    let (call2, _) = c.enqueue("support").await;
    a1.incoming().await;
    a1.accept(&call2).await;
    a1.hangup(&call2).await;
    a1.expect(|m| {
        matches!(m, ServerMessage::AgentState(s) if matches!(s.state, AgentState::WrapUp { .. }))
            .then_some(())
    })
    .await;
    a1.expect(|m| {
        matches!(m, ServerMessage::AgentState(s) if s.state == AgentState::Ready).then_some(())
    })
    .await;

    // Stop the server; the records are all there.
    assert!(server.stop().success());
    let store = switchboard_server::store::Store::open(&server.data_dir())
        .await
        .unwrap();
    let rows: Vec<CallRow> = sqlx::query_as(
        "SELECT call_id, kind, end_code, agent, wait_ms FROM calls ORDER BY created_at",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, call.to_string());
    assert_eq!(
        (rows[0].1.as_str(), rows[0].2.as_str()),
        ("queue", "hangup")
    );
    assert_eq!(rows[0].3.as_deref(), Some("a1"));
    assert!(rows[0].4.unwrap() >= 0);
    let (disposition, notes): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT disposition, notes FROM wrap_ups WHERE call_id = ?")
            .bind(call.as_str())
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(disposition.as_deref(), Some("resolved"));
    assert_eq!(notes.as_deref(), Some("asked about an invoice"));
    let legs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM call_legs WHERE call_id = ?")
        .bind(call.as_str())
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(legs, 2);
}

#[tokio::test]
async fn blind_transfer_to_an_agent_and_to_a_queue() {
    let server = Server::start(FAST);
    let mut a1 = Client::user(&server, "a1").await;
    a1.register_agent(&["sales", "billing"]).await;
    let mut c = customer(&server, "sales").await;
    let (call, _) = c.enqueue("sales").await;
    a1.incoming().await;
    a1.accept(&call).await;
    let mut a2 = Client::user(&server, "a2").await;
    a2.register_agent(&["billing"]).await;
    a1.send(ClientMessage::Transfer(Transfer {
        call_id: call.clone(),
        to: TransferTarget::Agent {
            user: UserId::new("a2").unwrap(),
        },
    }))
    .await;
    assert_eq!(
        a1.ended(&call).await,
        reason(EndCode::Transferred, Side::Local)
    );
    let left = c
        .expect(|m| match m {
            ServerMessage::MemberUpdate(u) if u.state == MemberState::Left => Some(u.reason),
            _ => None,
        })
        .await;
    assert_eq!(left, Some(reason(EndCode::Transferred, Side::Remote)));
    let inc = a2.incoming().await;
    assert_eq!(inc.call_id, call);
    assert_eq!(inc.queue.unwrap().transferred_by.unwrap().as_str(), "a1");
    a2.accept(&call).await;
    // Back to a queue: a1 (wrapping up, then ready after 1 s) serves billing.
    a2.send(ClientMessage::Transfer(Transfer {
        call_id: call.clone(),
        to: TransferTarget::Queue {
            business: Business::new("billing").unwrap(),
        },
    }))
    .await;
    assert_eq!(
        a2.ended(&call).await,
        reason(EndCode::Transferred, Side::Local)
    );
    let inc = a1.incoming().await;
    assert_eq!(inc.call_id, call);
    assert_eq!(inc.queue.unwrap().business.as_str(), "billing");
    a1.accept(&call).await;
    a1.hangup(&call).await;
    assert_eq!(c.ended(&call).await, reason(EndCode::Hangup, Side::Remote));
}

#[tokio::test]
async fn an_unstaffed_queue_looks_busy_to_customers_and_a_customer_token_is_for_one_queue() {
    // The dev realm keeps staffing to itself; the shop realm tells customers at once.
    let server = Server::start(&format!(
        "{FAST}unstaffed_wait_secs = 1\n[realms.shop]\nbusinesses = [\"sales\"]\nreveal_staffing = true\n"
    ));
    let mut c = customer(&server, "sales").await;
    let (call, position) = c.enqueue("sales").await;
    assert_eq!(position, 1);
    assert_eq!(
        c.ended(&call).await,
        reason(EndCode::QueueTimeout, Side::Server),
        "nobody serves sales now: the customer waited like in a busy queue"
    );
    let mut shopper = customer_in(&server, "shop", "sales").await;
    let (call, _) = shopper.enqueue("sales").await;
    assert_eq!(
        shopper.ended(&call).await,
        reason(EndCode::NoAgentAvailable, Side::Server)
    );
    c.send_enqueue("billing", 0).await;
    assert_eq!(c.error().await.code, ErrorCode::Forbidden);
    // Customers cannot call users directly or act as agents.
    c.send(ClientMessage::Invite(Invite {
        to: vec![Invitee {
            user: UserId::new("alice").unwrap(),
            offer: None,
        }],
        media: CallMedia::Audio,
        extra: None,
        consult: None,
        monitor: None,
    }))
    .await;
    assert_eq!(c.error().await.code, ErrorCode::Forbidden);
}

/// The wallboard of a supervisor's team over the wire, the same figures at the admin endpoint
/// and in Prometheus; a team set by the admin API takes an agent off another team's board.
#[tokio::test]
async fn the_team_wallboard_a_monitor_and_its_audit_over_the_wire_and_the_admin_figures() {
    let mut server = Server::start(FAST);
    let admin = server.token("admin");
    let (status, body) = server
        .post(
            "/admin/users",
            serde_json::json!({"user": "a2", "role": "agent", "team": "back"}),
            Some(&admin),
        )
        .await;
    assert_eq!(
        (status, body["team"].as_str()),
        (201, Some("back")),
        "{body}"
    );

    // `sup` supervises team front (a1's); agents may not watch.
    let mut a1 = Client::user(&server, "a1").await;
    a1.send(ClientMessage::WatchFloor(WatchFloor { on: true }))
        .await;
    assert_eq!(a1.error().await.code, ErrorCode::Forbidden);
    let mut sup = Client::user(&server, "sup").await;
    sup.send(ClientMessage::WatchFloor(WatchFloor { on: true }))
        .await;
    let first = board(&mut sup, |_| true).await;
    assert_eq!(first.team.as_ref().map(|t| t.as_str()), Some("front"));
    assert!(first.agents.is_empty());

    let mut a2 = Client::user(&server, "a2").await;
    a2.register_agent(&["sales"]).await;
    a1.register_agent(&["sales"]).await;
    let listed = board(&mut sup, |b| !b.agents.is_empty()).await;
    let users: Vec<&str> = listed.agents.iter().map(|a| a.user.as_str()).collect();
    assert_eq!(users, vec!["a1"], "a2 is in team back");

    // A customer for a1 (a2 was idle longer, so a2 first: a2 rejects; then a1 takes it).
    let mut c = customer(&server, "sales").await;
    let (call, _) = c.enqueue("sales").await;
    let offer = a2.incoming().await;
    a2.send(ClientMessage::Reject(Reject {
        call_id: offer.call_id,
        busy: false,
    }))
    .await;
    assert_eq!(a1.incoming().await.call_id, call);
    a1.accept(&call).await;
    let talking = board(&mut sup, |b| b.agents[0].call.is_some()).await;
    assert!(matches!(talking.agents[0].state, AgentState::InCall { .. }));
    // sup listens in, then whispers: two stretches in the audit. The customer is told nothing.
    while let Ok(Some(_)) = c.next_within(std::time::Duration::from_millis(100)).await {}
    sup.send(ClientMessage::Invite(Invite {
        to: vec![Invitee {
            user: UserId::new("a1").unwrap(),
            offer: None,
        }],
        media: CallMedia::Audio,
        extra: None,
        consult: None,
        monitor: Some(MonitorMode::Listen),
    }))
    .await;
    let k = sup
        .expect(|m| match m {
            ServerMessage::CallCreated(c) => Some(c.call_id.clone()),
            _ => None,
        })
        .await;
    let ring = a1.incoming().await;
    assert_eq!(ring.monitor.unwrap().call_id, call);
    a1.accept(&k).await;
    sup.send(ClientMessage::Monitor(SetMonitor {
        call_id: k.clone(),
        mode: MonitorMode::Whisper,
    }))
    .await;
    sup.expect(|m| match m {
        ServerMessage::MonitorMode(u) if u.mode == MonitorMode::Whisper => Some(()),
        _ => None,
    })
    .await;
    sup.hangup(&k).await;
    sup.ended(&k).await;
    if let Ok(Some(f)) = c.next_within(std::time::Duration::from_millis(200)).await {
        panic!("the customer saw {f:?}");
    }
    c.hangup(&call).await;
    let done = board(&mut sup, |b| b.queues[0].handled == 1).await;
    let q = &done.queues[0];
    assert_eq!(
        (q.business.as_str(), q.answered, q.abandoned),
        ("sales", 1, 0)
    );
    assert_eq!(q.service_level_pct, Some(100));

    // The admin's view: the realm's agents (both teams), or one team's.
    let (status, body) = server.get_with("/admin/wallboard", &admin).await;
    assert_eq!(status, 200, "{body}");
    let all: Wallboard = serde_json::from_str(&body).unwrap();
    assert_eq!(all.agents.len(), 2);
    assert_eq!(all.queues[0].answered, 1);
    let (_, body) = server.get_with("/admin/wallboard?team=back", &admin).await;
    let back: Wallboard = serde_json::from_str(&body).unwrap();
    assert_eq!(back.agents[0].user.as_str(), "a2");
    let (status, _) = server
        .get_with("/admin/wallboard", &server.token("sup"))
        .await;
    assert_eq!(status, 403, "the endpoint is the admin's");

    // Prometheus.
    let metrics = server.get("/metrics").await;
    for line in [
        "switchboard_floor_answered{realm=\"dev\",business=\"sales\"} 1",
        "switchboard_floor_handled{realm=\"dev\",business=\"sales\"} 1",
        "switchboard_floor_service_level_ratio{realm=\"dev\",business=\"sales\"} 1.0",
        "switchboard_floor_waiting{realm=\"dev\",business=\"sales\"} 0",
    ] {
        assert!(metrics.contains(line), "{line} not in:\n{metrics}");
    }
    assert!(metrics.contains("switchboard_floor_agents{realm=\"dev\",state="));
    // The audit has the monitor's two stretches.
    assert!(server.stop().success());
    let store = switchboard_server::store::Store::open(&server.data_dir())
        .await
        .unwrap();
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT customer_call, supervisor, agent, mode FROM supervision ORDER BY started_at, mode",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let want = |mode: &str| (call.to_string(), "sup".into(), "a1".into(), mode.into());
    assert_eq!(rows, vec![want("listen"), want("whisper")]);
}

/// The next wallboard frame that passes `ok`.
async fn board(c: &mut Client, ok: impl Fn(&Wallboard) -> bool) -> Wallboard {
    c.expect(|m| match m {
        ServerMessage::Wallboard(b) if ok(b) => Some(b.clone()),
        _ => None,
    })
    .await
}
