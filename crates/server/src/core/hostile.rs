//! What a hostile or careless client tries, event by event against the core: each test names
//! the finding of the security review it guards (docs/security.md).
#![allow(clippy::unwrap_used)]

use switchboard_protocol::*;

use super::tests::{World, cfg, key, skill, uid};
use super::*;

fn enqueue_as(w: &mut World, s: &SessionId, business: &str, priority: u8) {
    w.send(
        s,
        ClientMessage::Enqueue(Enqueue {
            business: Business::new(business).unwrap(),
            media: CallMedia::Audio,
            priority,
            name: None,
            offer: None,
            extra: None,
        }),
    );
}

fn queued(w: &mut World, s: &SessionId) -> CallId {
    w.take(s)
        .into_iter()
        .find_map(|m| match m {
            ServerMessage::Queued(q) => Some(q.call_id),
            _ => None,
        })
        .expect("queued")
}

fn register(w: &mut World, s: &SessionId, skills: &[&str]) {
    w.send(
        s,
        ClientMessage::AgentRegister(AgentRegister {
            profile: AgentProfile {
                area: Label::new("north").unwrap(),
                skills: skills.iter().map(|b| skill(b)).collect(),
                display_name: None,
            },
        }),
    );
}

// 1. A customer cannot take the agent's offer back (and ring them again and again).
#[test]
fn a_customer_cannot_cancel_the_offer_to_an_agent() {
    let mut w = World::new(cfg());
    let a1 = w.register_agent("a1", &["sales"]);
    let (c, call) = w.enqueue("cust1", "sales");
    assert_eq!(w.incoming(&a1).unwrap().call_id, call);
    w.take(&a1);
    w.take(&c);
    for _ in 0..3 {
        w.send(
            &c,
            ClientMessage::Cancel(Cancel {
                call_id: call.clone(),
                user: Some(uid("a1")),
            }),
        );
        assert_eq!(w.errors(&c), vec![ErrorCode::Forbidden]);
    }
    // Nothing moved: the agent still rings for the same call, nobody waits in the queue.
    assert!(w.ended(&a1).is_empty());
    assert_eq!(
        w.agent_state("a1"),
        Some(AgentState::Ringing {
            call_id: call.clone()
        })
    );
    assert_eq!(w.core.queue.len(), 0);
    // Hanging up is the customer's way out; calling straight back is refused for a moment.
    w.hangup(&c, &call);
    assert_eq!(
        w.ended(&c),
        vec![EndReason::new(EndCode::QueueAbandoned, Side::Local)]
    );
    enqueue_as(&mut w, &c, "sales", 0);
    assert_eq!(w.errors(&c), vec![ErrorCode::RateLimited]);
    w.advance(5_000);
    enqueue_as(&mut w, &c, "sales", 0);
    let again = queued(&mut w, &c);
    assert_eq!(w.incoming(&a1).unwrap().call_id, again);
}

// 2. A role change ends the account's sessions (it would otherwise keep its old role).
#[test]
fn a_demoted_account_is_signed_out_and_a_disabled_one_too() {
    let mut w = World::new(cfg());
    w.core
        .set_account(key("boss"), Some(Account::new(Role::Admin)), w.now);
    let s = w.login("boss");
    w.take(&s);
    // A new name is no reason to sign anyone out.
    let mut renamed = Account::new(Role::Admin);
    renamed.display_name = Some(Label::new("The Boss").unwrap());
    w.core.set_account(key("boss"), Some(renamed), w.now);
    w.pump();
    assert!(!w.closed.contains(&s));
    w.core
        .set_account(key("boss"), Some(Account::new(Role::User)), w.now);
    w.pump();
    assert!(w.closed.contains(&s));
    assert!(w.take(&s).iter().any(|m| matches!(
        m,
        ServerMessage::SessionEnded(e) if e.code == SessionEndCode::KickedByServer
    )));
    let s = w.login("bob");
    w.core.set_account(key("bob"), None, w.now);
    w.pump();
    assert!(w.closed.contains(&s));
}

// 3. Presence subscriptions cannot grow the server's memory.
#[test]
fn presence_subscriptions_are_bounded_and_cleaned_up() {
    let mut w = World::new(cfg());
    let s = w.login("alice");
    for round in 0..100 {
        let users = (0..limits::MAX_PRESENCE_USERS)
            .map(|i| uid(&format!("ghost{round}x{i}")))
            .collect();
        w.send(
            &s,
            ClientMessage::SubscribePresence(SubscribePresence { users }),
        );
        w.take(&s);
    }
    assert_eq!(w.core.watchers.len(), limits::MAX_PRESENCE_USERS);
    w.send(&s, ClientMessage::Logout);
    assert!(w.core.watchers.is_empty(), "a gone session watches nobody");
}

// 7. A token that runs out ends the session, even on a socket that only answers pings.
#[test]
fn a_session_ends_when_its_token_expires_unless_refreshed() {
    let mut w = World::new(cfg());
    let a = w.login("alice"); // its token lasts an hour
    let b = w.login("bob");
    let call = w.call(&a, &["bob"]);
    w.accept(&b, &call);
    w.core.token_refreshed(&b, w.now + 7_200_000);
    w.advance(3_600_000);
    assert!(w.closed.contains(&a));
    assert!(w.take(&a).iter().any(|m| matches!(
        m,
        ServerMessage::SessionEnded(e) if e.code == SessionEndCode::TokenExpired
    )));
    assert!(!w.closed.contains(&b), "bob refreshed his token");
    assert_eq!(
        w.ended(&b),
        vec![EndReason::new(EndCode::ServiceUnavailable, Side::Server)]
    );
}

// 8. Customers get relay credentials made for them, and never a fixed TURN password.
#[test]
fn customers_get_only_time_limited_relay_credentials() {
    let stun = RelayServer {
        urls: vec!["stun:stun.example.org:3478".into()],
        auth: RelayAuth::None,
    };
    let fixed = RelayServer {
        urls: vec!["turn:fixed.example.org:3478".into()],
        auth: RelayAuth::Fixed {
            username: "switchboard".into(),
            credential: "hunter2".into(),
        },
    };
    let rest = RelayServer {
        urls: vec!["turn:rest.example.org:3478".into()],
        auth: RelayAuth::Secret("s3cret".into()),
    };
    let mut w = World::new(CoreConfig {
        ice_servers: vec![stun, fixed, rest],
        ..cfg()
    });
    let welcome = |w: &mut World, s: &SessionId| {
        w.take(s)
            .into_iter()
            .find_map(|m| match m {
                ServerMessage::Hello(h) => Some(h),
                _ => None,
            })
            .unwrap()
    };
    let c = w.login("cust1");
    let servers = welcome(&mut w, &c).ice_servers;
    let urls: Vec<&str> = servers.iter().map(|s| s.urls[0].as_str()).collect();
    assert_eq!(
        urls,
        ["stun:stun.example.org:3478", "turn:rest.example.org:3478"]
    );
    // World's sign-ins may live 24 h; a customer's credentials stop at their 4 h limit.
    let expires = (w.now + w.core.config.customer_max_session_ms) / 1000;
    let username = format!("{expires}:cust1/{}", key("cust1").realm);
    assert_eq!(servers[1].username.as_deref(), Some(username.as_str()));
    let (_, credential) = ice::turn_credentials("s3cret", &key("cust1"), expires);
    assert_eq!(servers[1].credential, Some(credential));
    let a = w.login("alice");
    let servers = welcome(&mut w, &a).ice_servers;
    assert_eq!(servers.len(), 3, "staff get the fixed relay too");
    assert_eq!(servers[1].credential.as_deref(), Some("hunter2"));
    let expires = (w.now + w.core.config.max_session_ms) / 1000;
    assert!(
        servers[2]
            .username
            .as_ref()
            .is_some_and(|u| u == &format!("{expires}:alice/{}", key("alice").realm))
    );
    // A resume late in a sign-in gets only what is left of it, not a fresh lifetime.
    let late = Login {
        user: key("alice"),
        role: Role::User,
        display_name: None,
        token_expires_at: w.now + 600_000,
        business: None,
        session_ends_at: w.now + 600_000,
    };
    let servers = w.core.ice_servers_for(&late, w.now);
    let expires = (w.now + 600_000) / 1000;
    assert_eq!(
        servers[2].username.as_deref(),
        Some(format!("{expires}:alice/{}", key("alice").realm).as_str())
    );
}

// 10. Re-inviting cannot grow a call's record or anyone's missed calls without end.
#[test]
fn invitations_per_call_are_bounded_and_a_missed_call_is_kept_once() {
    let mut w = World::new(cfg());
    let a = w.login("alice");
    let b = w.login("bob");
    let call = w.call(&a, &["bob"]);
    w.accept(&b, &call);
    w.take(&a);
    let invite = |w: &mut World| {
        w.send(
            &a,
            ClientMessage::InviteMembers(InviteMembers {
                call_id: call.clone(),
                to: vec![Invitee {
                    user: uid("carol"),
                    offer: None,
                }],
            }),
        );
        w.errors(&a)
    };
    // carol is offline: each invitation ends at once, so the call never fills up.
    for _ in 2..limits::MAX_CALL_INVITATIONS {
        assert!(invite(&mut w).is_empty());
    }
    assert_eq!(invite(&mut w), vec![ErrorCode::CallFull]);
    assert_eq!(
        w.core.calls[&call].members.len(),
        limits::MAX_CALL_INVITATIONS
    );
    let missed = w
        .records
        .iter()
        .filter(|r| matches!(r, Record::MissedCall { user, .. } if user == &key("carol")))
        .count();
    assert_eq!(missed, 1);
    let c = w.login("carol");
    let calls = w
        .take(&c)
        .into_iter()
        .find_map(|m| match m {
            ServerMessage::MissedCalls(m) => Some(m.calls),
            _ => None,
        })
        .unwrap();
    assert_eq!(calls.len(), 1);
}

// 11. What waited is restored under the limit, the oldest dropped and recorded so.
#[test]
fn restored_messages_keep_the_limit_and_the_dropped_are_recorded() {
    let mut w = World::new(CoreConfig {
        max_offline_messages: 100,
        ..cfg()
    });
    for i in 0..250u64 {
        w.core.restore_waiting(
            key("bob"),
            Waiting::Message(ReceivedMessage {
                msg_id: MessageId::new(format!("m{i}")).unwrap(),
                from: uid("alice"),
                seq: i + 1,
                text: Text::new(format!("message {i}")).unwrap(),
                sent_at: w.now,
            }),
        );
    }
    w.pump();
    let dropped: Vec<&str> = w
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Dropped {
                message: Some(m), ..
            } => Some(m.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(dropped.len(), 150);
    assert_eq!(dropped[0], "m0");
    let b = w.login("bob");
    let got: Vec<u64> = w
        .take(&b)
        .into_iter()
        .filter_map(|m| match m {
            ServerMessage::Message(m) => Some(m.seq),
            _ => None,
        })
        .collect();
    assert_eq!(
        got,
        (151..=250).collect::<Vec<_>>(),
        "the newest 100, in order"
    );
}

// 13. Priority and skills come from the account, not from what the client asks.
#[test]
fn priority_and_skills_are_the_accounts() {
    let mut w = World::new(cfg());
    let a1 = w.register_agent("a1", &["sales"]);
    // bob asks for the top priority; his account has none.
    let b = w.login("bob");
    enqueue_as(&mut w, &b, "sales", limits::MAX_LEVEL);
    let first = queued(&mut w, &b);
    assert_eq!(w.incoming(&a1).unwrap().queue.unwrap().priority, 0);
    w.hangup(&b, &first);
    // carol's account may ask for up to 4.
    let mut vip = Account::new(Role::User);
    vip.queue_priority = 4;
    w.core.set_account(key("carol"), Some(vip), w.now);
    let c = w.login("carol");
    enqueue_as(&mut w, &c, "sales", limits::MAX_LEVEL);
    queued(&mut w, &c);
    assert_eq!(w.incoming(&a1).unwrap().queue.unwrap().priority, 4);

    // An agent serves only the skills their account has, at its levels.
    let a2 = w.login("a2");
    w.take(&a2);
    register(&mut w, &a2, &["sales", "vip-support"]);
    assert_eq!(w.errors(&a2), vec![ErrorCode::Forbidden]);
    assert!(!w.core.agents.contains_key(&key("a2")));
    register(&mut w, &a2, &["billing"]);
    let a = &w.core.agents[&key("a2")];
    assert_eq!(
        a.profile.skills,
        vec![Skill {
            business: Business::new("billing").unwrap(),
            level: 3
        }]
    );
    // Taking the skill away takes the agent out of that queue.
    let mut demoted = Account::new(Role::Agent);
    demoted.skills = vec![skill("sales")];
    w.core.set_account(key("a2"), Some(demoted), w.now);
    w.pump();
    assert!(!w.core.agents.contains_key(&key("a2")));
}

// 14. Customers learn neither accounts nor staffing.
#[test]
fn customers_learn_neither_accounts_nor_staffing() {
    let mut w = World::new(CoreConfig {
        unstaffed_wait_ms: 10_000,
        ..cfg()
    });
    let c = w.login("cust1");
    for who in ["alice", "nobody-here"] {
        w.send(
            &c,
            ClientMessage::Invite(Invite {
                to: vec![Invitee {
                    user: uid(who),
                    offer: None,
                }],
                media: CallMedia::Audio,
                extra: None,
                consult: None,
                monitor: None,
            }),
        );
        assert_eq!(w.errors(&c), vec![ErrorCode::Forbidden], "{who}");
    }
    // Nobody serves billing: the customer waits as in a busy queue...
    enqueue_as(&mut w, &c, "billing", 0);
    let call = queued(&mut w, &c);
    w.advance(9_000);
    assert!(w.ended(&c).is_empty());
    // ...and an agent who comes in time takes the call.
    let a1 = w.register_agent("a1", &["billing"]);
    assert_eq!(w.incoming(&a1).unwrap().call_id, call);
    w.hangup(&c, &call);
    // Without an agent, the short wait ends like a long one would: queue_timeout.
    w.send(&a1, ClientMessage::Logout);
    let c2 = w.login("cust2");
    enqueue_as(&mut w, &c2, "billing", 0);
    queued(&mut w, &c2);
    w.advance(10_000);
    assert_eq!(
        w.ended(&c2),
        vec![EndReason::new(EndCode::QueueTimeout, Side::Server)]
    );
    // Staff are told at once.
    let b = w.login("bob");
    enqueue_as(&mut w, &b, "billing", 0);
    assert_eq!(
        w.ended(&b),
        vec![EndReason::new(EndCode::NoAgentAvailable, Side::Server)]
    );
}

// 6. A queue holds a bounded number of waiting customers.
#[test]
fn a_full_queue_refuses_more_customers() {
    let mut w = World::new(CoreConfig {
        max_waiting_per_business: 2,
        ..cfg()
    });
    let a1 = w.register_agent("a1", &["sales"]);
    w.send(
        &a1,
        ClientMessage::SetAgentState(SetAgentState {
            state: AgentAvailability::NotReady {
                reason: Label::new("break").unwrap(),
            },
            after_call: false,
        }),
    );
    for who in ["cust1", "cust2"] {
        let s = w.login(who);
        enqueue_as(&mut w, &s, "sales", 0);
        queued(&mut w, &s);
    }
    let s = w.login("cust3");
    enqueue_as(&mut w, &s, "sales", 0);
    assert_eq!(w.errors(&s), vec![ErrorCode::QueueFull]);
    // Another queue is not affected.
    enqueue_as(&mut w, &s, "support", 0);
    queued(&mut w, &s);
}

// 6, 14. Customers may enter only the queues a realm offers.
#[test]
fn the_queues_a_realm_offers_are_its_configured_ones_or_its_agents_skills() {
    let w = World::new(CoreConfig {
        businesses: [("shop".to_owned(), [Business::new("sales").unwrap()].into())].into(),
        ..cfg()
    });
    let dev = Label::new("dev").unwrap();
    let shop = Label::new("shop").unwrap();
    let elsewhere = Label::new("elsewhere").unwrap();
    let b = |s: &str| Business::new(s).unwrap();
    assert!(w.core.offers_business(&dev, &b("billing")));
    assert!(!w.core.offers_business(&dev, &b("made-up")));
    assert!(w.core.offers_business(&shop, &b("sales")));
    assert!(!w.core.offers_business(&shop, &b("billing")));
    assert!(!w.core.offers_business(&elsewhere, &b("sales")));
}
