//! Three nodes of one switchboard over a real redis-server and a real PostgreSQL: calls,
//! presence, kicks and the queue across nodes; a node killed mid-call; Redis restarted and
//! gone.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::cluster::Cluster;
use common::*;
use switchboard_protocol::*;

const FAST: &str = "ring_timeout_secs = 1\nresume_window_secs = 20\nrona_secs = 1\n";

#[tokio::test]
async fn calls_ring_answer_relay_and_end_across_three_nodes() {
    let cluster = Cluster::start(3, FAST);
    let [n0, n1, n2] = &cluster.nodes[..] else {
        unreachable!()
    };
    let mut alice = Client::user(n0, "alice").await;
    let mut bob = Client::user(n1, "bob").await;
    let mut carol = Client::user(n2, "carol").await;

    // Presence: alice on node 0 follows bob on node 1.
    alice
        .send(ClientMessage::SubscribePresence(SubscribePresence {
            users: vec![UserId::new("bob").unwrap()],
        }))
        .await;
    alice
        .expect(|m| match m {
            ServerMessage::Presence(p) if p.status == PresenceStatus::Online => Some(()),
            _ => None,
        })
        .await;

    // Answered: ringing, ICE, SDP, an in-call message, hang-up.
    let call = alice.call(&["bob"], CallMedia::Video).await;
    let inc = bob.incoming().await;
    assert_eq!((&inc.call_id, &inc.from_session), (&call, &alice.session));
    bob.send(ClientMessage::Ringing(CallRef {
        call_id: call.clone(),
    }))
    .await;
    alice
        .expect(|m| {
            matches!(m, ServerMessage::MemberUpdate(u) if u.state == MemberState::Ringing)
                .then_some(())
        })
        .await;
    bob.accept(&call).await;
    let answer = alice
        .expect(|m| match m {
            ServerMessage::Sdp(s) => Some(s.clone()),
            _ => None,
        })
        .await;
    assert_eq!(answer.sdp.as_str(), "v=0 answer from bob");
    alice
        .expect(|m| match m {
            ServerMessage::Presence(p) if p.status == PresenceStatus::Busy => Some(()),
            _ => None,
        })
        .await;
    bob.send(ClientMessage::CallMessage(SendCallMessage {
        call_id: call.clone(),
        to: None,
        text: Text::new("hello across nodes").unwrap(),
    }))
    .await;
    let text = alice
        .expect(|m| match m {
            ServerMessage::CallMessage(c) => Some(c.text.to_string()),
            _ => None,
        })
        .await;
    assert_eq!(text, "hello across nodes");

    // A group call: carol on node 2 is invited into the running call.
    bob.send(ClientMessage::InviteMembers(InviteMembers {
        call_id: call.clone(),
        to: vec![Invitee {
            user: UserId::new("carol").unwrap(),
            offer: None,
        }],
    }))
    .await;
    let inc = carol.incoming().await;
    assert_eq!((inc.kind, inc.members.len()), (CallKind::Group, 3));
    carol.accept(&call).await;
    alice
        .expect(|m| matches!(m, ServerMessage::MemberUpdate(u) if u.user.as_str() == "carol" && u.state == MemberState::Joined).then_some(()))
        .await;
    carol.hangup(&call).await;
    assert_eq!(
        carol.ended(&call).await,
        reason(EndCode::Hangup, Side::Local)
    );
    alice.hangup(&call).await;
    assert_eq!(
        alice.ended(&call).await,
        reason(EndCode::Hangup, Side::Local)
    );
    assert_eq!(
        bob.ended(&call).await,
        reason(EndCode::CallCompleted, Side::Remote)
    );

    // Rejected, cancelled, busy, and no answer (the lease holder's tick, once).
    let call = alice.call(&["bob"], CallMedia::Audio).await;
    bob.incoming().await;
    bob.send(ClientMessage::Reject(Reject {
        call_id: call.clone(),
        busy: false,
    }))
    .await;
    assert_eq!(
        alice.ended(&call).await,
        reason(EndCode::Rejected, Side::Remote)
    );
    let call = alice.call(&["bob"], CallMedia::Audio).await;
    bob.incoming().await;
    alice
        .send(ClientMessage::Cancel(Cancel {
            call_id: call.clone(),
            user: None,
        }))
        .await;
    assert_eq!(
        bob.ended(&call).await,
        reason(EndCode::Cancelled, Side::Remote)
    );
    let ringing = carol.call(&["bob"], CallMedia::Audio).await;
    bob.incoming().await;
    let call = alice.call(&["bob"], CallMedia::Audio).await;
    assert_eq!(
        alice.ended(&call).await,
        reason(EndCode::Busy, Side::Remote)
    );
    assert_eq!(
        carol.ended(&ringing).await,
        reason(EndCode::NoAnswer, Side::Remote)
    );
    assert_eq!(
        bob.ended(&ringing).await,
        reason(EndCode::NoAnswer, Side::Local)
    );

    // A call to someone signed out: one missed call, delivered on whichever node they use.
    let call = alice.call(&["a2"], CallMedia::Video).await;
    assert_eq!(
        alice.ended(&call).await,
        reason(EndCode::CalleeOffline, Side::Remote)
    );
    let mut a2 = Client::user(n2, "a2").await;
    let missed = a2
        .expect(|m| match m {
            ServerMessage::MissedCalls(c) => Some(c.clone()),
            _ => None,
        })
        .await;
    assert_eq!(missed.calls[0].call_id, call);

    // Every call is one row, written once, whichever node's lease wrote it.
    cluster.counts("SELECT count(*) FROM calls", 6).await;
    cluster.counts("SELECT count(*) FROM missed_calls", 1).await;
    cluster
        .counts("SELECT count(*) FROM calls WHERE end_code = 'no_answer'", 1)
        .await;
}

#[tokio::test]
async fn a_sign_in_on_another_node_kicks_the_first_and_the_queue_offers_once() {
    let cluster = Cluster::start(3, FAST);
    let [n0, n1, n2] = &cluster.nodes[..] else {
        unreachable!()
    };
    let mut bob = Client::user(n0, "bob").await;
    let _bob2 = Client::user(n1, "bob").await;
    let ended = bob
        .expect(|m| match m {
            ServerMessage::SessionEnded(e) => Some(e.code),
            _ => None,
        })
        .await;
    assert_eq!(ended, SessionEndCode::KickedDuplicateLogin);
    assert!(
        bob.next().await.is_none(),
        "the kicked connection is closed"
    );

    // Two ready agents on two nodes, a customer on the third: one offer at a time.
    let mut a1 = Client::user(n1, "a1").await;
    a1.register_agent(&["sales"]).await;
    let mut a2 = Client::user(n2, "a2").await;
    a2.register_agent(&["sales"]).await;
    let mut c = customer(n0, "sales").await;
    let (call, _) = c.enqueue("sales").await;
    // The first offer goes to one of them; the other hears nothing of it until RONA.
    let first = tokio::select! {
        i = a1.incoming() => { assert_eq!(i.call_id, call); 1 }
        i = a2.incoming() => { assert_eq!(i.call_id, call); 2 }
    };
    let (offered, other) = if first == 1 {
        (&mut a1, &mut a2)
    } else {
        (&mut a2, &mut a1)
    };
    // Unanswered for 1 s: RONA (once), and the customer goes to the other agent.
    assert_eq!(
        offered.ended(&call).await,
        reason(EndCode::NoAnswer, Side::Local)
    );
    assert_eq!(other.incoming().await.call_id, call);
    other.accept(&call).await;
    // (The customer hangs up once the answer reached it: from another node it could
    // otherwise overtake the answer, and abandon the queue.)
    c.expect(|m| {
        matches!(m, ServerMessage::MemberUpdate(u) if u.state == MemberState::Joined).then_some(())
    })
    .await;
    c.hangup(&call).await;
    assert_eq!(
        other.ended(&call).await,
        reason(EndCode::Hangup, Side::Remote)
    );
    cluster
        .counts(
            "SELECT count(*) FROM call_legs WHERE end_code = 'no_answer'",
            1,
        )
        .await;
    cluster.counts("SELECT count(*) FROM calls", 1).await;
}

#[tokio::test]
async fn a_node_killed_mid_call_its_client_resumes_on_another_and_the_call_goes_on() {
    let mut cluster = Cluster::start(3, FAST);
    let mut alice = Client::user(&cluster.nodes[0], "alice").await;
    let mut bob = Client::user(&cluster.nodes[1], "bob").await;
    let call = alice.call(&["bob"], CallMedia::Video).await;
    bob.incoming().await;
    bob.accept(&call).await;
    alice
        .expect(|m| matches!(m, ServerMessage::Sdp(_)).then_some(()))
        .await;

    // kill -9 of bob's node; bob's client moves to node 2 and resumes its session.
    cluster.nodes[1].kill();
    // (What was sent before the kill is read first; then the socket is gone.)
    while bob.next().await.is_some() {}
    let token = cluster.nodes[2].token("bob");
    let mut bob = Client::connect_resuming(&cluster.nodes[2], &token, Some(bob.session)).await;
    assert!(bob.welcome.resumed, "the session lives on in the cluster");
    bob.send(ClientMessage::CallMessage(SendCallMessage {
        call_id: call.clone(),
        to: None,
        text: Text::new("still here").unwrap(),
    }))
    .await;
    alice
        .expect(|m| {
            matches!(m, ServerMessage::CallMessage(c) if c.text.as_str() == "still here")
                .then_some(())
        })
        .await;
    // A hang-up after the failover ends the call on both sides, with one record.
    alice.hangup(&call).await;
    assert_eq!(
        bob.ended(&call).await,
        reason(EndCode::Hangup, Side::Remote)
    );
    cluster.counts("SELECT count(*) FROM calls", 1).await;
    cluster
        .counts("SELECT count(*) FROM calls WHERE end_code = 'hangup'", 1)
        .await;

    // The dead node's other sessions end when their window passes; a new node may join.
    let config = std::fs::read_to_string(cluster.nodes[0].dir.path().join("server.toml")).unwrap();
    let n3 = Server::start_node(&config, &cluster.nodes[0].data_dir());
    let mut carol = Client::user(&n3, "carol").await;
    let c2 = carol.call(&["alice"], CallMedia::Audio).await;
    assert_eq!(alice.incoming().await.call_id, c2);
}

#[tokio::test]
async fn redis_restarted_is_survived_and_a_node_without_redis_takes_no_sign_ins() {
    let mut cluster = Cluster::start(2, FAST);
    let mut alice = Client::user(&cluster.nodes[0], "alice").await;
    let mut bob = Client::user(&cluster.nodes[1], "bob").await;
    let call = alice.call(&["bob"], CallMedia::Audio).await;
    bob.incoming().await;
    bob.accept(&call).await;

    // Redis restarts (its log on disk): the nodes carry on, the call too.
    cluster.redis.restart();
    let deadline = tokio::time::Instant::now() + WAIT;
    let carol = loop {
        match try_sign_in(&cluster.nodes[0], "carol").await {
            Some(c) => break c,
            None => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "no sign-in after Redis came back"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    alice.hangup(&call).await;
    assert_eq!(
        bob.ended(&call).await,
        reason(EndCode::Hangup, Side::Remote)
    );

    // Redis gone: no node takes a sign-in (it cannot know who else is signed in).
    cluster.redis.kill();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if try_sign_in(&cluster.nodes[1], "a1").await.is_none() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "sign-ins go on without Redis"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(carol);
}

/// Signs in, or `None` when the node refuses (`service_unavailable`).
async fn try_sign_in(server: &Server, user: &str) -> Option<Client> {
    let (ws, _) = tokio_tungstenite::connect_async(server.url()).await.ok()?;
    let mut c = Client::from_socket(ws);
    c.send(ClientMessage::Hello(Hello {
        v: PROTOCOL_VERSION,
        token: Token::new(server.token(user)).unwrap(),
        resume: None,
        seen: None,
        client: None,
    }))
    .await;
    loop {
        match tokio::time::timeout(WAIT, c.next()).await.ok()?? {
            ServerFrame {
                message: ServerMessage::Hello(w),
                ..
            } => {
                c.session = w.session_id.clone();
                return Some(c);
            }
            ServerFrame {
                message: ServerMessage::Error(e),
                ..
            } => {
                assert_eq!(e.code, ErrorCode::ServiceUnavailable, "{}", e.message);
                return None;
            }
            _ => {}
        }
    }
}
