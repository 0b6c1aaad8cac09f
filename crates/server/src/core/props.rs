//! proptest over random event orders: the invariants of calls and the queue hold after every
//! event, and every call ends exactly once.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use switchboard_protocol::*;

use super::tests::{World, cfg, key, skill, uid};
use super::*;

// ---- proptest ---------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Login(usize),
    Drop(usize),
    Logout(usize),
    Invite(usize, usize),
    Ringing(usize),
    Accept(usize),
    Reject(usize),
    Hangup(usize),
    Cancel(usize),
    Ready(usize),
    Enqueue(usize),
    Transfer(usize, usize),
    EndWrapUp(usize),
    Tick(u64),
}

const PEOPLE: [&str; 8] = [
    "alice", "bob", "carol", "a1", "a2", "cust1", "cust2", "cust3",
];

fn op() -> impl Strategy<Value = Op> {
    let p = 0..PEOPLE.len();
    prop_oneof![
        p.clone().prop_map(Op::Login),
        p.clone().prop_map(Op::Drop),
        p.clone().prop_map(Op::Logout),
        (0..3usize, 0..5usize).prop_map(|(a, b)| Op::Invite(a, b)),
        p.clone().prop_map(Op::Ringing),
        p.clone().prop_map(Op::Accept),
        p.clone().prop_map(Op::Reject),
        p.clone().prop_map(Op::Hangup),
        p.clone().prop_map(Op::Cancel),
        (3..5usize).prop_map(Op::Ready),
        (5..8usize).prop_map(Op::Enqueue),
        (3..5usize, 3..5usize).prop_map(|(a, b)| Op::Transfer(a, b)),
        (3..5usize).prop_map(Op::EndWrapUp),
        (0u64..25_000).prop_map(Op::Tick),
    ]
}

impl World {
    /// The newest session of a person and the calls it has heard of and not seen end.
    fn live(&self, person: usize) -> Option<(SessionId, Vec<CallId>)> {
        let s = self
            .core
            .devices
            .get(&key(PEOPLE[person]))
            .and_then(|d| d.last().cloned())?;
        let calls = self
            .core
            .sessions
            .get(&s)
            .map(|x| x.calls.iter().cloned().collect())
            .unwrap_or_default();
        Some((s, calls))
    }

    fn apply(&mut self, op: &Op) {
        let person = |i: usize| PEOPLE[i];
        match *op {
            Op::Login(p) => {
                let s = self.login(person(p));
                if p == 3 || p == 4 {
                    self.send(
                        &s,
                        ClientMessage::AgentRegister(AgentRegister {
                            profile: AgentProfile {
                                area: Label::new("x").unwrap(),
                                skills: vec![skill("sales")],
                                display_name: None,
                            },
                        }),
                    );
                }
            }
            Op::Drop(p) => {
                if let Some((s, _)) = self.live(p) {
                    self.core.disconnected(&s, self.now);
                    self.pump();
                }
            }
            Op::Logout(p) => {
                if let Some((s, _)) = self.live(p) {
                    self.send(&s, ClientMessage::Logout);
                }
            }
            Op::Invite(a, b) => {
                if let Some((s, _)) = self.live(a) {
                    self.send(
                        &s,
                        ClientMessage::Invite(Invite {
                            to: vec![Invitee {
                                user: uid(person(b)),
                                offer: None,
                            }],
                            media: CallMedia::Audio,
                            extra: None,
                            consult: None,
                            monitor: None,
                        }),
                    );
                }
            }
            Op::Ready(p) => {
                if let Some((s, _)) = self.live(p) {
                    self.send(
                        &s,
                        ClientMessage::SetAgentState(SetAgentState {
                            state: AgentAvailability::Ready,
                            after_call: false,
                        }),
                    );
                }
            }
            Op::Enqueue(p) => {
                if let Some((s, _)) = self.live(p) {
                    self.send(
                        &s,
                        ClientMessage::Enqueue(Enqueue {
                            business: Business::new("sales").unwrap(),
                            media: CallMedia::Audio,
                            priority: 0,
                            name: None,
                            offer: None,
                            extra: None,
                        }),
                    );
                }
            }
            Op::Tick(ms) => self.advance(ms),
            Op::Transfer(a, b) => {
                if let Some((s, calls)) = self.live(a) {
                    for c in calls {
                        self.send(
                            &s,
                            ClientMessage::Transfer(Transfer {
                                call_id: c,
                                to: TransferTarget::Agent {
                                    user: uid(person(b)),
                                },
                            }),
                        );
                    }
                }
            }
            Op::EndWrapUp(p) => {
                if let Some((s, _)) = self.live(p)
                    && let Some(AgentState::WrapUp { call_id, .. }) = self.agent_state(person(p))
                {
                    self.send(
                        &s,
                        ClientMessage::EndWrapUp(EndWrapUp {
                            call_id,
                            disposition: None,
                            notes: None,
                        }),
                    );
                }
            }
            Op::Ringing(p) | Op::Accept(p) | Op::Reject(p) | Op::Hangup(p) | Op::Cancel(p) => {
                let Some((s, calls)) = self.live(p) else {
                    return;
                };
                let Some(call_id) = calls.last().cloned() else {
                    return;
                };
                let m = match op {
                    Op::Ringing(_) => ClientMessage::Ringing(CallRef { call_id }),
                    Op::Accept(_) => ClientMessage::Accept(Accept {
                        call_id,
                        media: None,
                        answer: None,
                    }),
                    Op::Reject(_) => ClientMessage::Reject(Reject {
                        call_id,
                        busy: false,
                    }),
                    Op::Hangup(_) => ClientMessage::Hangup(CallRef { call_id }),
                    _ => ClientMessage::Cancel(Cancel {
                        call_id,
                        user: None,
                    }),
                };
                self.send(&s, m);
            }
        }
    }

    /// What must hold after every event.
    fn check(&self) {
        let core = &self.core;
        // A user is joined to at most one call, and the index agrees with the calls.
        let mut joined: HashMap<UserKey, usize> = HashMap::new();
        for call in core.calls.values() {
            for m in call
                .members
                .iter()
                .filter(|m| m.state == MemberState::Joined)
            {
                *joined
                    .entry(UserKey::new(call.realm.clone(), m.user.clone()))
                    .or_default() += 1;
                assert_eq!(
                    core.joined
                        .get(&UserKey::new(call.realm.clone(), m.user.clone())),
                    Some(&call.id)
                );
            }
        }
        assert!(joined.values().all(|n| *n == 1), "someone is in two calls");
        // A customer is offered to at most one agent, and that agent is ringing for it.
        for call in core.calls.values() {
            if let Some(q) = &call.queue {
                let ringing_agents = core
                    .agents
                    .values()
                    .filter(|a| {
                        a.state
                            == AgentState::Ringing {
                                call_id: call.id.clone(),
                            }
                    })
                    .count();
                match &q.stage {
                    queue::Stage::Offered { .. } => assert_eq!(ringing_agents, 1),
                    _ => assert_eq!(ringing_agents, 0),
                }
                assert_eq!(
                    q.stage == queue::Stage::Waiting,
                    core.queue.places.contains_key(&call.id),
                    "waiting exactly when in the queue"
                );
            }
        }
        // Positions are 1..n per queue without gaps.
        let mut per_business: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for c in core.queue.order.values() {
            let (p, n) = core.position_of(c);
            per_business
                .entry(core.calls[c].queue.as_ref().unwrap().business.to_string())
                .or_default()
                .push(p);
            assert!(p >= 1 && p <= n);
        }
        for (_, ps) in per_business {
            assert_eq!(ps, (1..=ps.len() as u32).collect::<Vec<_>>());
        }
        // An agent is in at most one call: the one its state names.
        for (k, a) in &core.agents {
            if let AgentState::InCall { call_id } = &a.state {
                assert_eq!(core.joined.get(k), Some(call_id));
            }
        }
    }

    /// Every call recorded once; each device heard at most one end per call; the two parties
    /// of a finished 1:1 call agree on the code.
    fn check_ends(&self, all: &[(SessionId, ServerFrame)]) {
        let mut recorded: HashMap<CallId, usize> = HashMap::new();
        for r in &self.records {
            if let Record::Call(c) = r {
                *recorded.entry(c.call_id.clone()).or_default() += 1;
            }
        }
        assert!(recorded.values().all(|n| *n == 1), "a call ended twice");
        let mut ends: HashMap<(SessionId, CallId), usize> = HashMap::new();
        let mut starts: HashMap<(SessionId, CallId), usize> = HashMap::new();
        let mut codes: HashMap<CallId, Vec<EndCode>> = HashMap::new();
        for (s, f) in all {
            let started = match &f.message {
                ServerMessage::IncomingCall(c) => Some(&c.call_id),
                ServerMessage::CallCreated(c) => Some(&c.call_id),
                ServerMessage::Queued(q) => Some(&q.call_id),
                _ => None,
            };
            if let Some(c) = started {
                *starts.entry((s.clone(), c.clone())).or_default() += 1;
            }
            if let ServerMessage::CallEnded(e) = &f.message {
                *ends.entry((s.clone(), e.call_id.clone())).or_default() += 1;
                if !matches!(
                    e.reason.code,
                    EndCode::AnsweredElsewhere | EndCode::EndedElsewhere
                ) {
                    codes
                        .entry(e.call_id.clone())
                        .or_default()
                        .push(e.reason.code);
                }
            }
        }
        // A device hears one end per time it was rung (an agent may be offered the same
        // customer again after RONA).
        for (k, n) in &ends {
            assert!(
                *n <= starts.get(k).copied().unwrap_or(0),
                "{k:?} heard {n} ends"
            );
        }
        for r in &self.records {
            if let Record::Call(c) = r
                && c.kind == CallKind::Direct
                && let Some(cs) = codes.get(&c.call_id)
            {
                assert!(
                    cs.windows(2).all(|w| w[0] == w[1]),
                    "{:?}: {cs:?}",
                    c.call_id
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_in_any_order(ops in proptest::collection::vec(op(), 1..120)) {
        let mut w = World::new(cfg());
        let mut all = Vec::new();
        // Everyone starts signed in (agents registered) so that most events do something.
        for p in 0..PEOPLE.len() {
            w.apply(&Op::Login(p));
        }
        for op in &ops {
            w.apply(op);
            w.check();
            for (s, frames) in w.inbox.drain() {
                all.extend(frames.into_iter().map(|f| (s.clone(), f)));
            }
        }
        w.core.shutdown(w.now);
        w.pump();
        for (s, frames) in w.inbox.drain() {
            all.extend(frames.into_iter().map(|f| (s.clone(), f)));
        }
        prop_assert!(w.core.calls.is_empty());
        w.check_ends(&all);
    }
}
