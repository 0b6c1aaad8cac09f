//! The core driven event by event, without sockets: flows with their end reasons on every
//! side, and proptest over random event orders for the invariants.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};

use switchboard_protocol::*;

use super::*;

pub(super) struct World {
    pub(super) core: Core,
    pub(super) now: Millis,
    pub(super) inbox: HashMap<SessionId, Vec<ServerFrame>>,
    pub(super) closed: HashSet<SessionId>,
    pub(super) records: Vec<Record>,
    pub(super) next: u32,
}

pub(super) fn cfg() -> CoreConfig {
    CoreConfig {
        ring_timeout_ms: 5_000,
        rona_ms: 3_000,
        wrap_up_ms: 2_000,
        queue_max_wait_ms: 60_000,
        ..CoreConfig::default()
    }
}

pub(super) fn uid(s: &str) -> UserId {
    UserId::new(s).unwrap()
}

fn realm() -> Label {
    Label::new("dev").unwrap()
}

pub(super) fn key(s: &str) -> UserKey {
    UserKey::new(realm(), uid(s))
}

pub(super) fn skill(b: &str) -> Skill {
    Skill {
        business: Business::new(b).unwrap(),
        level: 1,
    }
}

impl World {
    pub(super) fn new(config: CoreConfig) -> Self {
        let mut w = World {
            core: Core::new(config),
            now: 1_000_000,
            inbox: HashMap::new(),
            closed: HashSet::new(),
            records: Vec::new(),
            next: 0,
        };
        for (u, role) in [
            ("alice", Role::User),
            ("bob", Role::User),
            ("carol", Role::User),
            ("dave", Role::User),
            ("a1", Role::Agent),
            ("a2", Role::Agent),
        ] {
            let mut account = Account::new(role);
            if role == Role::Agent {
                account.skills = ["sales", "support", "billing"]
                    .iter()
                    .map(|b| Skill {
                        business: Business::new(*b).unwrap(),
                        level: 3,
                    })
                    .collect();
            }
            w.core.set_account(key(u), Some(account), w.now);
        }
        w
    }

    pub(super) fn pump(&mut self) {
        for o in self.core.drain() {
            match o {
                Output::Send { session, frame } => {
                    self.inbox.entry(session).or_default().push(frame)
                }
                Output::Close { session } => {
                    self.closed.insert(session);
                }
                Output::Record(r) => self.records.push(r),
            }
        }
    }

    pub(super) fn login(&mut self, user: &str) -> SessionId {
        let role = match user {
            "a1" | "a2" => Role::Agent,
            u if u.starts_with("cust") => Role::Customer,
            _ => Role::User,
        };
        self.next += 1;
        let s = SessionId::new(format!("s{}-{user}", self.next)).unwrap();
        self.core.login(
            s.clone(),
            Login {
                user: key(user),
                role,
                display_name: None,
                token_expires_at: self.now + 3_600_000,
                business: None,
                session_ends_at: self.now + 24 * 3_600_000,
            },
            Some(1),
            self.now,
        );
        self.pump();
        s
    }

    pub(super) fn send(&mut self, s: &SessionId, m: ClientMessage) {
        self.core.frame(s, ClientFrame::request(7, m), self.now);
        self.pump();
    }

    pub(super) fn advance(&mut self, ms: u64) {
        self.now += ms;
        self.core.handle_timeout(self.now);
        self.pump();
    }

    pub(super) fn take(&mut self, s: &SessionId) -> Vec<ServerMessage> {
        self.inbox
            .remove(s)
            .unwrap_or_default()
            .into_iter()
            .map(|f| f.message)
            .collect()
    }

    pub(super) fn ended(&mut self, s: &SessionId) -> Vec<EndReason> {
        self.take(s)
            .into_iter()
            .filter_map(|m| match m {
                ServerMessage::CallEnded(e) => Some(e.reason),
                _ => None,
            })
            .collect()
    }

    pub(super) fn errors(&mut self, s: &SessionId) -> Vec<ErrorCode> {
        self.take(s)
            .into_iter()
            .filter_map(|m| match m {
                ServerMessage::Error(e) => Some(e.code),
                _ => None,
            })
            .collect()
    }

    /// Calls `to` from `from`; returns the call id.
    pub(super) fn call(&mut self, from: &SessionId, to: &[&str]) -> CallId {
        self.send(
            from,
            ClientMessage::Invite(Invite {
                to: to
                    .iter()
                    .map(|u| Invitee {
                        user: uid(u),
                        offer: Some(Sdp::new("v=0 offer").unwrap()),
                    })
                    .collect(),
                media: CallMedia::Video,
                extra: None,
                consult: None,
                monitor: None,
            }),
        );
        self.inbox
            .get(from)
            .and_then(|v| {
                v.iter().find_map(|f| match &f.message {
                    ServerMessage::CallCreated(c) => Some(c.call_id.clone()),
                    _ => None,
                })
            })
            .expect("call_created")
    }

    pub(super) fn accept(&mut self, s: &SessionId, call: &CallId) {
        self.send(
            s,
            ClientMessage::Accept(Accept {
                call_id: call.clone(),
                media: None,
                answer: Some(Sdp::new("v=0 answer").unwrap()),
            }),
        );
    }

    pub(super) fn hangup(&mut self, s: &SessionId, call: &CallId) {
        self.send(
            s,
            ClientMessage::Hangup(CallRef {
                call_id: call.clone(),
            }),
        );
    }

    pub(super) fn call_records(&self) -> Vec<&CallSummary> {
        self.records
            .iter()
            .filter_map(|r| match r {
                Record::Call(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    pub(super) fn register_agent(&mut self, user: &str, skills: &[&str]) -> SessionId {
        let s = self.login(user);
        self.send(
            &s,
            ClientMessage::AgentRegister(AgentRegister {
                profile: AgentProfile {
                    area: Label::new("north").unwrap(),
                    skills: skills.iter().map(|b| skill(b)).collect(),
                    display_name: None,
                },
            }),
        );
        self.send(
            &s,
            ClientMessage::SetAgentState(SetAgentState {
                state: AgentAvailability::Ready,
                after_call: false,
            }),
        );
        s
    }

    pub(super) fn enqueue(&mut self, user: &str, business: &str) -> (SessionId, CallId) {
        let s = self.login(user);
        self.send(
            &s,
            ClientMessage::Enqueue(Enqueue {
                business: Business::new(business).unwrap(),
                media: CallMedia::Video,
                priority: 0,
                name: None,
                offer: Some(Sdp::new("v=0 customer").unwrap()),
                extra: None,
            }),
        );
        let id = self.inbox[&s]
            .iter()
            .find_map(|f| match &f.message {
                ServerMessage::Queued(q) => Some(q.call_id.clone()),
                _ => None,
            })
            .expect("queued");
        (s, id)
    }

    pub(super) fn incoming(&mut self, s: &SessionId) -> Option<IncomingCall> {
        self.inbox.get(s).and_then(|v| {
            v.iter().rev().find_map(|f| match &f.message {
                ServerMessage::IncomingCall(c) => Some(c.clone()),
                _ => None,
            })
        })
    }

    pub(super) fn agent_state(&self, user: &str) -> Option<AgentState> {
        self.core.agents.get(&key(user)).map(|a| a.state.clone())
    }
}

fn reason(code: EndCode, side: Side) -> EndReason {
    EndReason::new(code, side)
}

#[test]
fn answered_call_then_hangup_ends_both_with_hangup() {
    let mut w = World::new(cfg());
    let a = w.login("alice");
    let b = w.login("bob");
    let call = w.call(&a, &["bob"]);
    let inc = w.incoming(&b).unwrap();
    assert_eq!(inc.offer.as_ref().unwrap().as_str(), "v=0 offer");
    assert_eq!(inc.from_session, a);
    w.accept(&b, &call);
    // The answer reaches the caller.
    assert!(w.take(&a).iter().any(
        |m| matches!(m, ServerMessage::Sdp(s) if s.kind == SdpKind::Answer && s.from_session == b)
    ));
    w.take(&b);
    w.hangup(&a, &call);
    assert_eq!(w.ended(&a), vec![reason(EndCode::Hangup, Side::Local)]);
    assert_eq!(w.ended(&b), vec![reason(EndCode::Hangup, Side::Remote)]);
    let recs = w.call_records();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].reason, reason(EndCode::Hangup, Side::Local));
    assert!(recs[0].answered_at.is_some());
}

#[test]
fn reject_busy_cancel_and_no_answer_reasons() {
    let mut w = World::new(cfg());
    let a = w.login("alice");
    let b = w.login("bob");
    let c = w.login("carol");

    let call = w.call(&a, &["bob"]);
    w.send(
        &b,
        ClientMessage::Reject(Reject {
            call_id: call,
            busy: false,
        }),
    );
    assert_eq!(w.ended(&a), vec![reason(EndCode::Rejected, Side::Remote)]);
    assert_eq!(w.ended(&b), vec![reason(EndCode::Rejected, Side::Local)]);

    // bob is in a call with carol: alice gets busy.
    let bc = w.call(&c, &["bob"]);
    w.accept(&b, &bc);
    w.take(&b);
    w.take(&c);
    w.call(&a, &["bob"]);
    assert_eq!(w.ended(&a), vec![reason(EndCode::Busy, Side::Remote)]);
    assert!(w.ended(&b).is_empty(), "the busy callee is not disturbed");
    w.hangup(&b, &bc);
    w.take(&b);
    w.take(&c);

    let call = w.call(&a, &["bob"]);
    w.send(
        &a,
        ClientMessage::Cancel(Cancel {
            call_id: call,
            user: None,
        }),
    );
    assert_eq!(w.ended(&a), vec![reason(EndCode::Cancelled, Side::Local)]);
    assert_eq!(w.ended(&b), vec![reason(EndCode::Cancelled, Side::Remote)]);

    w.call(&a, &["bob"]);
    w.advance(4_999);
    assert!(w.ended(&a).is_empty());
    w.advance(1);
    assert_eq!(w.ended(&a), vec![reason(EndCode::NoAnswer, Side::Remote)]);
    assert_eq!(w.ended(&b), vec![reason(EndCode::NoAnswer, Side::Local)]);
}

#[test]
fn offline_callee_gets_the_missed_call_at_sign_in() {
    let mut w = World::new(cfg());
    let a = w.login("alice");
    w.call(&a, &["dave"]);
    assert_eq!(
        w.ended(&a),
        vec![reason(EndCode::CalleeOffline, Side::Remote)]
    );
    let d = w.login("dave");
    let missed = w
        .take(&d)
        .into_iter()
        .find_map(|m| match m {
            ServerMessage::MissedCalls(m) => Some(m),
            _ => None,
        })
        .unwrap();
    assert_eq!(missed.calls.len(), 1);
    assert_eq!(missed.calls[0].from, uid("alice"));
}

#[test]
fn unknown_users_and_foreign_calls_are_refused() {
    let mut w = World::new(cfg());
    let a = w.login("alice");
    let b = w.login("bob");
    let c = w.login("carol");
    w.send(
        &a,
        ClientMessage::Invite(Invite {
            to: vec![Invitee {
                user: uid("nobody"),
                offer: None,
            }],
            media: CallMedia::Audio,
            extra: None,
            consult: None,
            monitor: None,
        }),
    );
    assert_eq!(w.errors(&a), vec![ErrorCode::UnknownUser]);
    let call = w.call(&a, &["bob"]);
    w.take(&a);
    // carol is not in the call: she can neither hang it up nor send into it.
    w.hangup(&c, &call);
    w.send(
        &c,
        ClientMessage::Sdp(SdpToPeer {
            call_id: call.clone(),
            to: uid("bob"),
            to_session: None,
            kind: SdpKind::Offer,
            sdp: Sdp::new("x").unwrap(),
        }),
    );
    assert_eq!(
        w.errors(&c),
        vec![ErrorCode::UnknownCall, ErrorCode::UnknownCall]
    );
    assert!(
        !w.take(&b)
            .iter()
            .any(|m| matches!(m, ServerMessage::Sdp(_)))
    );
    // A user cannot act as an agent.
    w.send(
        &a,
        ClientMessage::SetAgentState(SetAgentState {
            state: AgentAvailability::Ready,
            after_call: false,
        }),
    );
    assert_eq!(w.errors(&a), vec![ErrorCode::Forbidden]);
}

#[test]
fn duplicate_login_kicks_the_old_device_and_ends_its_call() {
    let mut w = World::new(cfg());
    let a = w.login("alice");
    let b = w.login("bob");
    let call = w.call(&a, &["bob"]);
    w.accept(&b, &call);
    w.take(&a);
    w.take(&b);
    let b2 = w.login("bob");
    assert!(w.closed.contains(&b));
    let msgs = w.take(&b);
    assert!(msgs.iter().any(|m| matches!(m, ServerMessage::CallEnded(e) if e.reason == reason(EndCode::KickedDuplicateLogin, Side::OtherDevice))));
    assert!(msgs.iter().any(|m| matches!(m, ServerMessage::SessionEnded(e) if e.code == SessionEndCode::KickedDuplicateLogin)));
    assert_eq!(
        w.ended(&a),
        vec![reason(EndCode::KickedDuplicateLogin, Side::Remote)]
    );
    assert!(
        w.take(&b2)
            .iter()
            .any(|m| matches!(m, ServerMessage::Hello(_)))
    );
}

#[test]
fn multi_device_answered_elsewhere_and_ended_elsewhere() {
    let mut config = cfg();
    config.default_device_policy = DevicePolicy::Multi;
    let mut w = World::new(config);
    let a = w.login("alice");
    let b1 = w.login("bob");
    let b2 = w.login("bob");
    let call = w.call(&a, &["bob"]);
    assert!(w.incoming(&b1).is_some() && w.incoming(&b2).is_some());
    w.accept(&b1, &call);
    assert_eq!(
        w.ended(&b2),
        vec![reason(EndCode::AnsweredElsewhere, Side::OtherDevice)]
    );
    w.hangup(&b1, &call);
    w.take(&a);
    w.take(&b1);

    let call = w.call(&a, &["bob"]);
    w.send(
        &b2,
        ClientMessage::Reject(Reject {
            call_id: call,
            busy: false,
        }),
    );
    assert_eq!(
        w.ended(&b1),
        vec![reason(EndCode::EndedElsewhere, Side::OtherDevice)]
    );
    assert_eq!(w.ended(&b2), vec![reason(EndCode::Rejected, Side::Local)]);
    assert_eq!(w.ended(&a), vec![reason(EndCode::Rejected, Side::Remote)]);
}

#[test]
fn group_call_invite_leave_and_completion() {
    let mut w = World::new(cfg());
    let a = w.login("alice");
    let b = w.login("bob");
    let c = w.login("carol");
    let d = w.login("dave");
    let call = w.call(&a, &["bob", "carol"]);
    w.accept(&b, &call);
    w.accept(&c, &call);
    w.send(
        &b,
        ClientMessage::InviteMembers(InviteMembers {
            call_id: call.clone(),
            to: vec![Invitee {
                user: uid("dave"),
                offer: None,
            }],
        }),
    );
    let inc = w.incoming(&d).unwrap();
    assert_eq!(inc.kind, CallKind::Group);
    assert_eq!(inc.members.len(), 4);
    // Members see dave invited, so they can send him offers.
    assert!(w.take(&c).iter().any(|m| matches!(m, ServerMessage::MemberUpdate(u) if u.user == uid("dave") && u.state == MemberState::Invited)));
    w.accept(&d, &call);
    w.hangup(&a, &call);
    assert_eq!(w.ended(&a), vec![reason(EndCode::Hangup, Side::Local)]);
    assert!(w.take(&b).iter().any(|m| matches!(m, ServerMessage::MemberUpdate(u) if u.user == uid("alice") && u.state == MemberState::Left && u.reason == Some(reason(EndCode::Hangup, Side::Remote)))));
    w.hangup(&b, &call);
    w.hangup(&c, &call);
    assert_eq!(w.ended(&c), vec![reason(EndCode::Hangup, Side::Local)]);
    assert_eq!(
        w.ended(&d),
        vec![reason(EndCode::CallCompleted, Side::Remote)]
    );
    assert_eq!(w.call_records().len(), 1);
}

#[test]
fn resume_within_the_window_keeps_the_call_and_after_it_ends_it() {
    let mut w = World::new(cfg());
    let a = w.login("alice");
    let b = w.login("bob");
    let call = w.call(&a, &["bob"]);
    w.accept(&b, &call);
    w.take(&a);
    w.core.disconnected(&b, w.now);
    w.advance(10_000);
    w.send(
        &a,
        ClientMessage::CallMessage(SendCallMessage {
            call_id: call.clone(),
            to: None,
            text: Text::new("still there?").unwrap(),
        }),
    );
    w.take(&b);
    w.core
        .resume(
            &b,
            Login {
                user: key("bob"),
                role: Role::User,
                display_name: None,
                token_expires_at: w.now + 3_600_000,
                business: None,
                session_ends_at: w.now + 24 * 3_600_000,
            },
            None,
            None,
            w.now,
        )
        .unwrap();
    w.pump();
    let msgs = w.take(&b);
    assert!(matches!(&msgs[0], ServerMessage::Hello(h) if h.resumed));
    assert!(
        msgs.iter().any(
            |m| matches!(m, ServerMessage::CallMessage(c) if c.text.as_str() == "still there?")
        )
    );
    w.advance(30_000);
    assert!(w.ended(&a).is_empty(), "resumed in time: the call goes on");

    w.core.disconnected(&b, w.now);
    w.advance(20_000);
    assert_eq!(
        w.ended(&a),
        vec![reason(EndCode::NetworkLost, Side::Remote)]
    );
}

// A socket that dies takes the frames written into it along: the client names the last it
// read when it resumes, and gets the later ones again, once, in order.
#[test]
fn a_resume_that_names_the_last_frame_read_gets_the_ones_after_it_again() {
    let mut w = World::new(cfg());
    let a = w.login("alice");
    let b = w.login("bob");
    let call = w.call(&a, &["bob"]);
    w.accept(&b, &call);
    w.pump();
    w.inbox.remove(&b);
    for text in ["one", "two", "three"] {
        w.send(
            &a,
            ClientMessage::CallMessage(SendCallMessage {
                call_id: call.clone(),
                to: None,
                text: Text::new(text).unwrap(),
            }),
        );
    }
    w.pump();
    let sent = w.inbox.remove(&b).unwrap();
    let seqs: Vec<u64> = sent.iter().map(|f| f.seq.unwrap()).collect();
    assert!(
        seqs.windows(2).all(|p| p[1] == p[0] + 1),
        "numbered in order: {seqs:?}"
    );
    // bob read "one" only; the rest died with the socket (the server did not notice).
    let read = sent[0].seq;
    let login = Login {
        user: key("bob"),
        role: Role::User,
        display_name: None,
        token_expires_at: w.now + 3_600_000,
        business: None,
        session_ends_at: w.now + 24 * 3_600_000,
    };
    w.core.resume(&b, login, None, read, w.now).unwrap();
    w.pump();
    let again = w.inbox.remove(&b).unwrap();
    assert!(
        matches!(&again[0].message, ServerMessage::Hello(h) if h.resumed) && again[0].seq.is_none()
    );
    let texts: Vec<String> = again[1..]
        .iter()
        .filter_map(|f| match &f.message {
            ServerMessage::CallMessage(c) => Some(c.text.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["two", "three"]);
    assert_eq!(again[1].seq, Some(read.unwrap() + 1));
}

#[test]
fn queue_routes_to_longest_idle_agent_with_positions_rona_and_wrap_up() {
    let mut w = World::new(cfg());
    let a1 = w.register_agent("a1", &["sales"]);
    w.advance(10);
    let a2 = w.register_agent("a2", &["sales", "support"]);
    w.take(&a1);
    w.take(&a2);
    // Both agents busy elsewhere? No: a1 is longest idle and gets the first customer.
    let (c1, call1) = w.enqueue("cust1", "sales");
    assert!(w.incoming(&a1).is_some());
    assert_eq!(
        w.agent_state("a1"),
        Some(AgentState::Ringing {
            call_id: call1.clone()
        })
    );
    let (c2, call2) = w.enqueue("cust2", "sales");
    assert_eq!(w.incoming(&a2).unwrap().call_id, call2);
    let (c3, _call3) = w.enqueue("cust3", "sales");
    let (c4, call4) = w.enqueue("cust4", "sales");
    let pos = |w: &mut World, s: &SessionId| {
        w.take(s).into_iter().rev().find_map(|m| match m {
            ServerMessage::QueuePosition(p) => Some(p.position),
            ServerMessage::Queued(q) => Some(q.position),
            _ => None,
        })
    };
    assert_eq!(pos(&mut w, &c3), Some(1));
    assert_eq!(pos(&mut w, &c4), Some(2));
    // a2 answers cust2; a1 does not answer: RONA sends cust1 back to the head and a1
    // becomes not ready.
    w.accept(&a2, &call2);
    w.advance(3_000);
    assert_eq!(w.ended(&a1), vec![reason(EndCode::NoAnswer, Side::Local)]);
    assert!(
        matches!(w.agent_state("a1"), Some(AgentState::NotReady { reason }) if reason.as_str() == "missed")
    );
    assert_eq!(pos(&mut w, &c1), Some(1));
    assert_eq!(pos(&mut w, &c3), Some(2));
    assert_eq!(pos(&mut w, &c4), Some(3));
    // cust4 abandons.
    w.hangup(&c4, &call4);
    assert_eq!(
        w.ended(&c4),
        vec![reason(EndCode::QueueAbandoned, Side::Local)]
    );
    // a2 hangs up, wraps up, and is ready again: cust1 (head) is next.
    w.hangup(&a2, &call2);
    assert_eq!(w.ended(&c2), vec![reason(EndCode::Hangup, Side::Remote)]);
    assert!(matches!(
        w.agent_state("a2"),
        Some(AgentState::WrapUp { .. })
    ));
    w.send(
        &a2,
        ClientMessage::EndWrapUp(EndWrapUp {
            call_id: call2.clone(),
            disposition: Some(Label::new("resolved").unwrap()),
            notes: None,
        }),
    );
    assert_eq!(w.incoming(&a2).unwrap().call_id, call1);
    assert!(w.records.iter().any(
        |r| matches!(r, Record::WrapUp { disposition: Some(d), .. } if d.as_str() == "resolved")
    ));
    let summary = w
        .call_records()
        .into_iter()
        .find(|c| c.call_id == call2)
        .unwrap();
    assert_eq!(summary.queue.as_ref().unwrap().agent, Some(uid("a2")));
}

#[test]
fn transfer_to_another_agent_keeps_the_customer_call() {
    let mut w = World::new(cfg());
    let a1 = w.register_agent("a1", &["sales"]);
    let (c, call) = w.enqueue("cust1", "sales");
    w.accept(&a1, &call);
    let a2 = w.register_agent("a2", &["sales"]);
    w.take(&c);
    w.send(
        &a1,
        ClientMessage::Transfer(Transfer {
            call_id: call.clone(),
            to: TransferTarget::Agent { user: uid("a2") },
        }),
    );
    assert_eq!(
        w.ended(&a1),
        vec![reason(EndCode::Transferred, Side::Local)]
    );
    let inc = w.incoming(&a2).unwrap();
    assert_eq!(inc.call_id, call);
    assert_eq!(inc.queue.unwrap().transferred_by, Some(uid("a1")));
    assert!(w.ended(&c).is_empty(), "the customer's call goes on");
    w.accept(&a2, &call);
    w.hangup(&c, &call);
    assert_eq!(w.ended(&a2), vec![reason(EndCode::Hangup, Side::Remote)]);
}

#[test]
fn queue_without_agents_and_queue_timeout() {
    // Where the realm reveals staffing, a customer learns at once that nobody serves the queue.
    let mut w = World::new(CoreConfig {
        default_reveal_staffing: true,
        ..cfg()
    });
    let (c, _) = w.enqueue("cust1", "billing");
    assert_eq!(
        w.ended(&c),
        vec![reason(EndCode::NoAgentAvailable, Side::Server)]
    );
    let a1 = w.register_agent("a1", &["billing"]);
    w.send(
        &a1,
        ClientMessage::SetAgentState(SetAgentState {
            state: AgentAvailability::NotReady {
                reason: Label::new("lunch").unwrap(),
            },
            after_call: false,
        }),
    );
    let (c, _) = w.enqueue("cust2", "billing");
    w.advance(60_000);
    assert_eq!(
        w.ended(&c),
        vec![reason(EndCode::QueueTimeout, Side::Server)]
    );
}

#[test]
fn shutdown_ends_every_call_once_and_closes_every_session() {
    let mut w = World::new(cfg());
    let a = w.login("alice");
    let b = w.login("bob");
    let call = w.call(&a, &["bob"]);
    w.accept(&b, &call);
    w.take(&a);
    w.take(&b);
    w.core.shutdown(w.now);
    w.pump();
    assert_eq!(
        w.ended(&a),
        vec![reason(EndCode::ServiceUnavailable, Side::Server)]
    );
    assert!(w.closed.contains(&a) && w.closed.contains(&b));
    assert_eq!(w.call_records().len(), 1);
}
