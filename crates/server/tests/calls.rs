//! Call control over real WebSockets: every flow with the end reason on both sides.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use switchboard_protocol::*;

const FAST: &str = "ring_timeout_secs = 1\nresume_window_secs = 2\n";

#[tokio::test]
async fn answered_call_relays_sdp_ice_and_notices_then_hangup_ends_both() {
    let server = Server::start(FAST);
    let mut alice = Client::user(&server, "alice").await;
    let mut bob = Client::user(&server, "bob").await;
    assert!(alice.welcome.heartbeat_secs > 0 && alice.welcome.resume_window_secs == 2);

    let call = alice.call(&["bob"], CallMedia::Video).await;
    let inc = bob.incoming().await;
    assert_eq!(inc.call_id, call);
    assert_eq!(inc.from_session, alice.session);
    assert_eq!(inc.offer.unwrap().as_str(), "v=0 offer from alice");
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
    // Trickle ICE while ringing, before accept.
    bob.send(ClientMessage::IceCandidate(IceToPeer {
        call_id: call.clone(),
        to: UserId::new("alice").unwrap(),
        to_session: None,
        candidate: Some(IceCandidate {
            candidate: CandidateLine::new("candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host")
                .unwrap(),
            sdp_mid: None,
            sdp_mline_index: Some(0),
            username_fragment: None,
        }),
    }))
    .await;
    let ice = alice
        .expect(|m| match m {
            ServerMessage::IceCandidate(c) => Some(c.clone()),
            _ => None,
        })
        .await;
    assert_eq!(ice.from_session, bob.session);
    bob.accept(&call).await;
    let answer = alice
        .expect(|m| match m {
            ServerMessage::Sdp(s) => Some(s.clone()),
            _ => None,
        })
        .await;
    assert_eq!(
        (answer.kind, answer.sdp.as_str()),
        (SdpKind::Answer, "v=0 answer from bob")
    );
    bob.send(ClientMessage::MediaState(MediaStateUpdate {
        call_id: call.clone(),
        state: MediaState {
            audio: false,
            video: true,
            screen: false,
            recording: true,
        },
    }))
    .await;
    let ms = alice
        .expect(|m| match m {
            ServerMessage::MediaState(s) => Some(s.clone()),
            _ => None,
        })
        .await;
    assert!(ms.state.recording && !ms.state.audio);
    bob.send(ClientMessage::CallMessage(SendCallMessage {
        call_id: call.clone(),
        to: None,
        text: Text::new("hello from bob").unwrap(),
    }))
    .await;
    let text = alice
        .expect(|m| match m {
            ServerMessage::CallMessage(c) => Some(c.clone()),
            _ => None,
        })
        .await;
    assert_eq!((text.seq, text.text.as_str()), (1, "hello from bob"));

    alice.hangup(&call).await;
    assert_eq!(
        alice.ended(&call).await,
        reason(EndCode::Hangup, Side::Local)
    );
    assert_eq!(
        bob.ended(&call).await,
        reason(EndCode::Hangup, Side::Remote)
    );
}

#[tokio::test]
async fn reject_cancel_busy_no_answer_and_offline() {
    let server = Server::start(FAST);
    let mut alice = Client::user(&server, "alice").await;
    let mut bob = Client::user(&server, "bob").await;
    let mut carol = Client::user(&server, "carol").await;

    let call = alice.call(&["bob"], CallMedia::Audio).await;
    bob.incoming().await;
    bob.send(ClientMessage::Reject(Reject {
        call_id: call.clone(),
        busy: false,
    }))
    .await;
    assert_eq!(
        bob.ended(&call).await,
        reason(EndCode::Rejected, Side::Local)
    );
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
        alice.ended(&call).await,
        reason(EndCode::Cancelled, Side::Local)
    );
    assert_eq!(
        bob.ended(&call).await,
        reason(EndCode::Cancelled, Side::Remote)
    );

    // bob rings for carol's call: alice gets busy.
    let ringing = carol.call(&["bob"], CallMedia::Audio).await;
    bob.incoming().await;
    let call = alice.call(&["bob"], CallMedia::Audio).await;
    assert_eq!(
        alice.ended(&call).await,
        reason(EndCode::Busy, Side::Remote)
    );

    // Nobody answers carol's call: no answer after the (1 s) ring timeout.
    assert_eq!(
        carol.ended(&ringing).await,
        reason(EndCode::NoAnswer, Side::Remote)
    );
    assert_eq!(
        bob.ended(&ringing).await,
        reason(EndCode::NoAnswer, Side::Local)
    );

    // a2 is not signed in: callee offline, and a missed call at sign-in.
    let call = alice.call(&["a2"], CallMedia::Video).await;
    assert_eq!(
        alice.ended(&call).await,
        reason(EndCode::CalleeOffline, Side::Remote)
    );
    let mut a2 = Client::user(&server, "a2").await;
    let missed = a2
        .expect(|m| match m {
            ServerMessage::MissedCalls(c) => Some(c.clone()),
            _ => None,
        })
        .await;
    assert_eq!(missed.calls[0].call_id, call);
}

#[tokio::test]
async fn duplicate_login_kicks_the_first_device() {
    let server = Server::start(FAST);
    let mut alice = Client::user(&server, "alice").await;
    let mut bob = Client::user(&server, "bob").await;
    let call = alice.call(&["bob"], CallMedia::Audio).await;
    bob.incoming().await;
    bob.accept(&call).await;
    let _bob2 = Client::user(&server, "bob").await;
    assert_eq!(
        bob.ended(&call).await,
        reason(EndCode::KickedDuplicateLogin, Side::OtherDevice)
    );
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
    assert_eq!(
        alice.ended(&call).await,
        reason(EndCode::KickedDuplicateLogin, Side::Remote)
    );
}

#[tokio::test]
async fn multi_device_realm_rings_every_device_and_ends_the_others() {
    let server = Server::start("[realms.dev]\ndevice_policy = \"multi\"\n");
    let mut alice = Client::user(&server, "alice").await;
    let mut bob1 = Client::user(&server, "bob").await;
    let mut bob2 = Client::user(&server, "bob").await;
    let call = alice.call(&["bob"], CallMedia::Video).await;
    bob1.incoming().await;
    bob2.incoming().await;
    bob2.accept(&call).await;
    assert_eq!(
        bob1.ended(&call).await,
        reason(EndCode::AnsweredElsewhere, Side::OtherDevice)
    );
    bob2.hangup(&call).await;
    assert_eq!(
        alice.ended(&call).await,
        reason(EndCode::Hangup, Side::Remote)
    );

    let call = alice.call(&["bob"], CallMedia::Video).await;
    bob1.incoming().await;
    bob2.incoming().await;
    bob1.send(ClientMessage::Reject(Reject {
        call_id: call.clone(),
        busy: false,
    }))
    .await;
    assert_eq!(
        bob2.ended(&call).await,
        reason(EndCode::EndedElsewhere, Side::OtherDevice)
    );
    assert_eq!(
        alice.ended(&call).await,
        reason(EndCode::Rejected, Side::Remote)
    );
}

#[tokio::test]
async fn group_call_invite_into_running_call_leave_and_completion() {
    let server = Server::start(FAST);
    let mut alice = Client::user(&server, "alice").await;
    let mut bob = Client::user(&server, "bob").await;
    let mut carol = Client::user(&server, "carol").await;
    let call = alice.call(&["bob"], CallMedia::Video).await;
    bob.incoming().await;
    bob.accept(&call).await;
    // A 1:1 call becomes a group call.
    bob.send(ClientMessage::InviteMembers(InviteMembers {
        call_id: call.clone(),
        to: vec![Invitee {
            user: UserId::new("carol").unwrap(),
            offer: Some(Sdp::new("v=0 bob→carol").unwrap()),
        }],
    }))
    .await;
    let inc = carol.incoming().await;
    assert_eq!((inc.kind, inc.members.len()), (CallKind::Group, 3));
    // alice sees carol invited and offers to her (mesh: the member already in the call offers).
    alice
        .expect(|m| matches!(m, ServerMessage::MemberUpdate(u) if u.user.as_str() == "carol" && u.state == MemberState::Invited).then_some(()))
        .await;
    alice
        .send(ClientMessage::Sdp(SdpToPeer {
            call_id: call.clone(),
            to: UserId::new("carol").unwrap(),
            to_session: None,
            kind: SdpKind::Offer,
            sdp: Sdp::new("v=0 alice→carol").unwrap(),
        }))
        .await;
    let offer = carol
        .expect(|m| match m {
            ServerMessage::Sdp(s) => Some(s.clone()),
            _ => None,
        })
        .await;
    assert_eq!(offer.from.as_str(), "alice");
    carol.accept(&call).await;
    alice
        .expect(|m| matches!(m, ServerMessage::MemberUpdate(u) if u.user.as_str() == "carol" && u.state == MemberState::Joined).then_some(()))
        .await;
    bob.hangup(&call).await;
    assert_eq!(bob.ended(&call).await, reason(EndCode::Hangup, Side::Local));
    let left = alice
        .expect(|m| match m {
            ServerMessage::MemberUpdate(u) if u.state == MemberState::Left => Some(u.clone()),
            _ => None,
        })
        .await;
    assert_eq!(
        (left.user.as_str(), left.reason),
        ("bob", Some(reason(EndCode::Hangup, Side::Remote)))
    );
    carol.hangup(&call).await;
    assert_eq!(
        carol.ended(&call).await,
        reason(EndCode::Hangup, Side::Local)
    );
    assert_eq!(
        alice.ended(&call).await,
        reason(EndCode::CallCompleted, Side::Remote)
    );
}

#[tokio::test]
async fn resume_within_the_window_keeps_the_call_after_it_ends_it() {
    let server = Server::start(FAST);
    let mut alice = Client::user(&server, "alice").await;
    let mut bob = Client::user(&server, "bob").await;
    let call = alice.call(&["bob"], CallMedia::Audio).await;
    bob.incoming().await;
    bob.accept(&call).await;
    let session = bob.session.clone();
    bob.vanish();
    alice
        .send(ClientMessage::CallMessage(SendCallMessage {
            call_id: call.clone(),
            to: None,
            text: Text::new("while you were away").unwrap(),
        }))
        .await;
    let mut bob =
        Client::connect_resuming(&server, &server.token("bob"), Some(session.clone())).await;
    assert!(bob.welcome.resumed);
    assert_eq!(bob.session, session);
    let missed = bob
        .expect(|m| match m {
            ServerMessage::CallMessage(c) => Some(c.text.to_string()),
            _ => None,
        })
        .await;
    assert_eq!(missed, "while you were away");
    // Past the 2 s window the call ends with network_lost.
    bob.vanish();
    assert_eq!(
        alice.ended(&call).await,
        reason(EndCode::NetworkLost, Side::Remote)
    );
    let late = Client::connect_resuming(&server, &server.token("bob"), Some(session)).await;
    assert!(!late.welcome.resumed, "too late: a fresh session");
}

#[tokio::test]
async fn direct_messages_arrive_once_in_order_and_wait_for_offline_users() {
    let server = Server::start(FAST);
    let mut alice = Client::user(&server, "alice").await;
    for i in 1..=3 {
        alice
            .send(ClientMessage::Message(SendMessage {
                to: UserId::new("carol").unwrap(),
                text: Text::new(format!("m{i}")).unwrap(),
            }))
            .await;
        let sent = alice
            .expect(|m| match m {
                ServerMessage::MessageSent(s) => Some(s.clone()),
                _ => None,
            })
            .await;
        assert_eq!((sent.seq, sent.delivered), (i, false));
    }
    let mut carol = Client::user(&server, "carol").await;
    let mut got = Vec::new();
    while got.len() < 3 {
        got.push(
            carol
                .expect(|m| match m {
                    ServerMessage::Message(x) => Some((x.seq, x.text.to_string())),
                    _ => None,
                })
                .await,
        );
    }
    assert_eq!(
        got,
        vec![(1, "m1".into()), (2, "m2".into()), (3, "m3".into())]
    );
    assert!(
        carol
            .sees_within(Duration::from_millis(300), |m| matches!(
                m,
                ServerMessage::Message(_)
            )
            .then_some(()))
            .await
            .is_none(),
        "delivered once"
    );
    // Presence follows sign-in and calls.
    carol
        .send(ClientMessage::SubscribePresence(SubscribePresence {
            users: vec![UserId::new("bob").unwrap()],
        }))
        .await;
    let p = carol
        .expect(|m| match m {
            ServerMessage::Presence(p) => Some(p.status),
            _ => None,
        })
        .await;
    assert_eq!(p, PresenceStatus::Offline);
    let _bob = Client::user(&server, "bob").await;
    let p = carol
        .expect(|m| match m {
            ServerMessage::Presence(p) => Some(p.status),
            _ => None,
        })
        .await;
    assert_eq!(p, PresenceStatus::Online);
}

#[tokio::test]
async fn a_silent_connection_is_lost_after_the_idle_timeout_then_its_calls_end() {
    let server =
        Server::start("heartbeat_secs = 1\nidle_timeout_secs = 2\nresume_window_secs = 1\n");
    let mut alice = Client::user(&server, "alice").await;
    let mut bob = Client::user(&server, "bob").await;
    let call = alice.call(&["bob"], CallMedia::Audio).await;
    bob.incoming().await;
    bob.accept(&call).await;
    // bob's client stops reading and answering pings (a frozen machine); its socket stays open.
    let frozen = bob;
    // alice keeps reading (and so answers pings): after 2 s of silence from bob and a 1 s
    // resume window, the call ends for her with network_lost.
    assert_eq!(
        alice.ended(&call).await,
        reason(EndCode::NetworkLost, Side::Remote)
    );
    drop(frozen);
}

#[tokio::test]
async fn waiting_messages_and_missed_calls_survive_a_restart_and_arrive_once() {
    let mut server = Server::start(FAST);
    let mut alice = Client::user(&server, "alice").await;
    for text in ["first", "second"] {
        alice
            .send(ClientMessage::Message(SendMessage {
                to: UserId::new("carol").unwrap(),
                text: Text::new(text).unwrap(),
            }))
            .await;
        alice
            .expect(|m| matches!(m, ServerMessage::MessageSent(_)).then_some(()))
            .await;
    }
    let call = alice.call(&["carol"], CallMedia::Audio).await;
    assert_eq!(
        alice.ended(&call).await,
        reason(EndCode::CalleeOffline, Side::Remote)
    );
    drop(alice);
    server.restart();

    let mut carol = Client::user(&server, "carol").await;
    let missed = carol
        .expect(|m| match m {
            ServerMessage::MissedCalls(c) => Some(c.calls.clone()),
            _ => None,
        })
        .await;
    assert_eq!(missed.len(), 1);
    assert_eq!(
        (missed[0].call_id.clone(), missed[0].from.as_str()),
        (call, "alice")
    );
    let mut got = Vec::new();
    while got.len() < 2 {
        got.push(
            carol
                .expect(|m| match m {
                    ServerMessage::Message(x) => Some((x.seq, x.text.to_string())),
                    _ => None,
                })
                .await,
        );
    }
    assert_eq!(got, vec![(1, "first".to_owned()), (2, "second".to_owned())]);
    // Numbering goes on after the restart.
    let mut alice = Client::user(&server, "alice").await;
    alice
        .send(ClientMessage::Message(SendMessage {
            to: UserId::new("carol").unwrap(),
            text: Text::new("third").unwrap(),
        }))
        .await;
    let seq = carol
        .expect(|m| match m {
            ServerMessage::Message(x) => Some(x.seq),
            _ => None,
        })
        .await;
    assert_eq!(seq, 3);
    drop(carol);
    drop(alice);
    // Delivered once: after another restart nothing waits for carol.
    server.restart();
    let mut carol = Client::user(&server, "carol").await;
    carol.send(ClientMessage::Ping).await;
    let first = carol
        .expect(|m| match m {
            ServerMessage::Pong(_) => Some(None),
            ServerMessage::Message(x) => Some(Some(x.text.to_string())),
            ServerMessage::MissedCalls(_) => Some(Some("missed calls".into())),
            _ => None,
        })
        .await;
    assert_eq!(first, None, "nothing is delivered twice");
}

#[tokio::test]
async fn resuming_someone_elses_session_fails_and_leaves_it_alone() {
    let server = Server::start(FAST);
    let mut alice = Client::user(&server, "alice").await;
    let mut bob = Client::user(&server, "bob").await;
    let call = alice.call(&["bob"], CallMedia::Audio).await;
    let inc = bob.incoming().await;
    bob.accept(&call).await;
    // carol presents bob's session id (call peers see session ids): a fresh session for her.
    let carol =
        Client::connect_resuming(&server, &server.token("carol"), Some(bob.session.clone())).await;
    assert!(!carol.welcome.resumed);
    assert_ne!(carol.session, bob.session);
    assert_eq!(inc.from_session, alice.session);
    // bob's session was not touched: frames reach him at once, and past the 2 s resume window
    // his call still stands.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    alice
        .send(ClientMessage::CallMessage(SendCallMessage {
            call_id: call.clone(),
            to: None,
            text: Text::new("still here").unwrap(),
        }))
        .await;
    let text = bob
        .expect(|m| match m {
            ServerMessage::CallMessage(c) => Some(c.text.to_string()),
            ServerMessage::CallEnded(_) => Some("ended".into()),
            _ => None,
        })
        .await;
    assert_eq!(text, "still here");
}
