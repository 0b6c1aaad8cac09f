//! Consult and warm transfer, event by event: what each party is told (the customer only of
//! the hold), who ends up with the customer, and what the record says.
#![allow(clippy::unwrap_used)]

use switchboard_protocol::*;

use super::tests::{World, cfg, uid};

fn consult(w: &mut World, s: &SessionId, of: &CallId, to: &str) -> Option<CallId> {
    w.send(
        s,
        ClientMessage::Invite(Invite {
            to: vec![Invitee {
                user: uid(to),
                offer: Some(Sdp::new("v=0 consult").unwrap()),
            }],
            media: CallMedia::Audio,
            extra: None,
            consult: Some(of.clone()),
            monitor: None,
        }),
    );
    w.take(s).into_iter().find_map(|m| match m {
        ServerMessage::CallCreated(c) => Some(c.call_id),
        _ => None,
    })
}

fn hold_told(msgs: &[ServerMessage]) -> Vec<bool> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMessage::CallHold(h) => Some(h.on),
            _ => None,
        })
        .collect()
}

/// The call offered among `msgs`.
fn offered(msgs: &[ServerMessage]) -> IncomingCall {
    msgs.iter()
        .find_map(|m| match m {
            ServerMessage::IncomingCall(i) => Some(i.clone()),
            _ => None,
        })
        .unwrap()
}

fn record_of<'a>(w: &'a World, call: &CallId) -> &'a super::CallSummary {
    w.call_records()
        .into_iter()
        .find(|r| r.call_id == *call)
        .unwrap()
}

/// a1 talks to a customer; a2 is a ready agent too.
fn a_customer_with_a1(w: &mut World) -> (SessionId, SessionId, SessionId, CallId) {
    let a1 = w.register_agent("a1", &["sales"]);
    let (c, call) = w.enqueue("cust1", "sales");
    w.accept(&a1, &call);
    let a2 = w.register_agent("a2", &["support"]);
    w.take(&c);
    w.take(&a1);
    w.take(&a2);
    (a1, a2, c, call)
}

#[test]
fn a_consult_then_a_warm_transfer_hands_the_customer_to_the_colleague() {
    let mut w = World::new(cfg());
    let (a1, a2, c, call) = a_customer_with_a1(&mut w);
    let k = consult(&mut w, &a1, &call, "a2").unwrap();
    // The customer hears of the hold, and of nothing else.
    let told = w.take(&c);
    assert_eq!(hold_told(&told), vec![true]);
    assert_eq!(told.len(), 1, "{told:?}");
    // The colleague sees what the consult is about.
    let inc = w.incoming(&a2).unwrap();
    assert_eq!(inc.call_id, k);
    let about = inc.consult.unwrap();
    assert_eq!(
        (about.call_id, about.customer),
        (call.clone(), uid("cust1"))
    );
    assert_eq!(about.queue.business.as_str(), "sales");
    // A second consult, or one by someone else, is refused.
    assert_eq!(consult(&mut w, &a1, &call, "a2"), None);
    w.accept(&a2, &k);
    w.take(&a1);
    w.take(&a2);
    assert!(w.take(&c).is_empty(), "the customer heard of the consult");

    w.send(
        &a1,
        ClientMessage::Transfer(Transfer {
            call_id: call.clone(),
            to: TransferTarget::Consulted,
        }),
    );
    let transferred = |side| EndReason::new(EndCode::Transferred, side);
    assert_eq!(w.ended(&a1), vec![transferred(Side::Local); 2]);
    let a2_saw = w.take(&a2);
    let ended: Vec<_> = a2_saw
        .iter()
        .filter_map(|m| match m {
            ServerMessage::CallEnded(e) => Some((e.call_id.clone(), e.reason)),
            _ => None,
        })
        .collect();
    assert_eq!(ended, vec![(k.clone(), transferred(Side::Remote))]);
    let offer = offered(&a2_saw);
    assert_eq!(offer.call_id, call);
    let q = offer.queue.unwrap();
    assert!(q.warm);
    assert_eq!(q.transferred_by, Some(uid("a1")));
    w.accept(&a2, &call);
    assert_eq!(
        w.agent_state("a2"),
        Some(AgentState::InCall {
            call_id: call.clone()
        })
    );
    w.advance(1_000);
    w.hangup(&c, &call);
    let rec = record_of(&w, &call);
    let q = rec.queue.as_ref().unwrap();
    assert_eq!(q.transfer, Some(super::queue::TransferKind::Warm));
    assert_eq!(q.consulted, vec![uid("a2")]);
    assert_eq!(q.agent, Some(uid("a2")));
    assert_eq!(rec.hold_count, 1);
}

#[test]
fn a_consult_declined_or_cancelled_brings_the_agent_back_to_the_customer() {
    let mut w = World::new(cfg());
    let (a1, a2, c, call) = a_customer_with_a1(&mut w);
    // Declined.
    let k = consult(&mut w, &a1, &call, "a2").unwrap();
    w.send(
        &a2,
        ClientMessage::Reject(Reject {
            call_id: k.clone(),
            busy: false,
        }),
    );
    assert_eq!(
        w.ended(&a1),
        vec![EndReason::new(EndCode::Rejected, Side::Remote)]
    );
    assert_eq!(hold_told(&w.take(&c)), vec![true, false]);
    // Cancelled by the agent (hung up before an answer) — and a warm transfer with no
    // answered consult is refused.
    let k = consult(&mut w, &a1, &call, "a2").unwrap();
    w.send(
        &a1,
        ClientMessage::Transfer(Transfer {
            call_id: call.clone(),
            to: TransferTarget::Consulted,
        }),
    );
    assert_eq!(w.errors(&a1), vec![ErrorCode::WrongState]);
    w.hangup(&a1, &k);
    assert_eq!(hold_told(&w.take(&c)), vec![true, false]);
    // Still the customer's agent; the customer may go on and hang up.
    assert_eq!(
        w.agent_state("a1"),
        Some(AgentState::InCall {
            call_id: call.clone()
        })
    );
    w.hangup(&c, &call);
    let rec = record_of(&w, &call);
    let q = rec.queue.as_ref().unwrap();
    assert_eq!((q.transfer, q.consulted.len()), (None, 2));
    assert_eq!(rec.hold_count, 2);
}

#[test]
fn only_the_customers_agent_consults_and_an_agent_consulting_gets_no_new_customer() {
    let mut w = World::new(cfg());
    let (a1, a2, c, call) = a_customer_with_a1(&mut w);
    // Neither the colleague (not in the call) nor the customer consults.
    assert_eq!(consult(&mut w, &a2, &call, "a1"), None);
    assert_eq!(consult(&mut w, &c, &call, "a2"), None);
    let k = consult(&mut w, &a1, &call, "a2").unwrap();
    w.accept(&a2, &k);
    // A new customer of a1's skill waits: a1 is busy with a customer and a consult.
    let (c2, _) = w.enqueue("cust2", "sales");
    assert!(
        w.incoming(&a1).is_none(),
        "offered a customer while consulting"
    );
    // The customer hangs up during the consult: the agents stay on the line.
    w.hangup(&c, &call);
    assert!(
        w.take(&a2)
            .iter()
            .all(|m| !matches!(m, ServerMessage::CallEnded(_)))
    );
    w.hangup(&a1, &k);
    w.take(&c2);
}

#[test]
fn during_a_consult_the_customer_stays_held_and_no_blind_transfer_strands_it() {
    let mut w = World::new(cfg());
    let (a1, a2, c, call) = a_customer_with_a1(&mut w);
    // The agent's own hold before the consult: the consult keeps it, and its end does too.
    w.send(
        &a1,
        ClientMessage::Hold(SetHold {
            call_id: call.clone(),
            on: true,
        }),
    );
    let k = consult(&mut w, &a1, &call, "a2").unwrap();
    assert_eq!(hold_told(&w.take(&c)), vec![true]);
    // Nobody takes the customer off hold while the consult goes on.
    w.send(
        &a1,
        ClientMessage::Hold(SetHold {
            call_id: call.clone(),
            on: false,
        }),
    );
    assert_eq!(w.errors(&a1), vec![ErrorCode::WrongState]);
    w.accept(&a2, &k);
    // A blind transfer would leave a1 on the consult yet free for routing: refused.
    w.send(
        &a1,
        ClientMessage::Transfer(Transfer {
            call_id: call.clone(),
            to: TransferTarget::Queue {
                business: Business::new("sales").unwrap(),
            },
        }),
    );
    assert!(w.errors(&a1).contains(&ErrorCode::WrongState));
    w.hangup(&a1, &k);
    assert!(
        hold_told(&w.take(&c)).is_empty(),
        "the agent's own hold ended"
    );
}

#[test]
fn a_customer_of_any_role_cannot_hold_the_agent() {
    let mut w = World::new(cfg());
    let a1 = w.register_agent("a1", &["sales"]);
    // carol is a user, and users may wait in a queue too.
    let carol = w.login("carol");
    w.send(
        &carol,
        ClientMessage::Enqueue(Enqueue {
            business: Business::new("sales").unwrap(),
            media: CallMedia::Audio,
            priority: 0,
            name: None,
            offer: None,
            extra: None,
        }),
    );
    let call = w.incoming(&a1).unwrap().call_id;
    w.accept(&a1, &call);
    w.send(
        &carol,
        ClientMessage::Hold(SetHold {
            call_id: call.clone(),
            on: true,
        }),
    );
    assert!(w.errors(&carol).contains(&ErrorCode::Forbidden));
}

fn conference(w: &mut World, s: &SessionId, of: &CallId) {
    w.send(
        s,
        ClientMessage::Conference(CallRef {
            call_id: of.clone(),
        }),
    );
}

fn conferences(msgs: &[ServerMessage]) -> Vec<(CallId, CallId)> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMessage::Conference(c) => Some((c.call_id.clone(), c.of.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_consult_becomes_a_conference_and_the_agent_who_leaves_hands_the_customer_over() {
    let mut w = World::new(cfg());
    let (a1, a2, c, call) = a_customer_with_a1(&mut w);
    let k = consult(&mut w, &a1, &call, "a2").unwrap();
    // Not before the colleague answered.
    conference(&mut w, &a1, &call);
    assert_eq!(w.errors(&a1), vec![ErrorCode::WrongState]);
    w.accept(&a2, &k);
    w.take(&a1);
    w.take(&a2);
    w.take(&c);
    // Only the agent of the call may; the colleague may not.
    conference(&mut w, &a2, &call);
    assert!(!w.errors(&a2).is_empty());
    conference(&mut w, &a1, &call);
    // Both agents are told; the customer only of the hold's end.
    assert_eq!(conferences(&w.take(&a1)), vec![(k.clone(), call.clone())]);
    assert_eq!(conferences(&w.take(&a2)), vec![(k.clone(), call.clone())]);
    let told = w.take(&c);
    assert_eq!(hold_told(&told), vec![false]);
    assert_eq!(told.len(), 1, "{told:?}");
    conference(&mut w, &a1, &call);
    assert_eq!(w.errors(&a1), vec![ErrorCode::WrongState]);

    // a1 leaves the customer call: a2 is offered it warm, and the consult ends `transferred`.
    w.advance(2_000);
    w.hangup(&a1, &call);
    let transferred = |side| EndReason::new(EndCode::Transferred, side);
    assert_eq!(w.ended(&a1), vec![transferred(Side::Local); 2]);
    let a2_saw = w.take(&a2);
    let offer = offered(&a2_saw);
    assert_eq!(offer.call_id, call);
    assert!(offer.queue.unwrap().warm);
    w.accept(&a2, &call);
    w.advance(1_000);
    w.hangup(&c, &call);
    let rec = record_of(&w, &call).queue.clone().unwrap();
    assert_eq!(rec.conferenced, vec![uid("a2")]);
    assert_eq!(rec.consulted, vec![uid("a2")]);
    assert_eq!(rec.agent, Some(uid("a2")));
}

#[test]
fn the_colleague_leaves_a_conference_and_the_agent_and_customer_go_on() {
    let mut w = World::new(cfg());
    let (a1, a2, c, call) = a_customer_with_a1(&mut w);
    let k = consult(&mut w, &a1, &call, "a2").unwrap();
    w.accept(&a2, &k);
    conference(&mut w, &a1, &call);
    w.take(&a1);
    w.take(&a2);
    w.take(&c);
    w.hangup(&a2, &k);
    // The consult ends; the customer call goes on, not on hold again.
    assert_eq!(
        w.ended(&a2),
        vec![EndReason::new(EndCode::Hangup, Side::Local)]
    );
    let told = w.take(&c);
    assert!(hold_told(&told).is_empty(), "{told:?}");
    assert!(
        w.ended(&a1)
            .contains(&EndReason::new(EndCode::Hangup, Side::Remote))
    );
    assert_eq!(
        w.agent_state("a1"),
        Some(AgentState::InCall {
            call_id: call.clone()
        })
    );
    // Now a1's hang-up ends the call as any other.
    w.hangup(&a1, &call);
    assert_eq!(
        w.ended(&c),
        vec![EndReason::new(EndCode::Hangup, Side::Remote)]
    );
}
