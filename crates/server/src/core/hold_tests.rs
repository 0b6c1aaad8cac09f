//! Hold, event by event: who may hold, what both members are told, what the record keeps.
#![allow(clippy::unwrap_used)]

use switchboard_protocol::*;

use super::tests::{World, cfg, uid};

fn hold(w: &mut World, s: &SessionId, call: &CallId, on: bool) {
    w.send(
        s,
        ClientMessage::Hold(SetHold {
            call_id: call.clone(),
            on,
        }),
    );
}

fn holds(w: &mut World, s: &SessionId) -> Vec<(String, bool, u32)> {
    w.take(s)
        .into_iter()
        .filter_map(|m| match m {
            ServerMessage::CallHold(h) => Some((h.by.to_string(), h.on, h.count)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_hold_is_told_to_both_only_the_holder_ends_it_and_the_record_keeps_count_and_time() {
    let mut w = World::new(cfg());
    let a = w.login("alice");
    let b = w.login("bob");
    let call = w.call(&a, &["bob"]);
    // Not before the call is answered.
    hold(&mut w, &a, &call, true);
    assert_eq!(w.errors(&a), vec![ErrorCode::WrongState]);
    w.accept(&b, &call);
    w.take(&a);
    w.take(&b);

    hold(&mut w, &a, &call, true);
    assert_eq!(holds(&mut w, &a), vec![("alice".into(), true, 1)]);
    assert_eq!(holds(&mut w, &b), vec![("alice".into(), true, 1)]);
    // Holding again changes nothing; the held side can neither end nor take over the hold.
    hold(&mut w, &a, &call, true);
    assert_eq!(holds(&mut w, &b), vec![]);
    hold(&mut w, &b, &call, false);
    assert_eq!(w.errors(&b), vec![ErrorCode::WrongState]);
    hold(&mut w, &b, &call, true);
    assert_eq!(w.errors(&b), vec![ErrorCode::WrongState]);

    w.advance(5_000);
    hold(&mut w, &a, &call, false);
    assert_eq!(holds(&mut w, &b), vec![("alice".into(), false, 1)]);
    assert_eq!(holds(&mut w, &a), vec![("alice".into(), false, 1)]);
    // Now bob may hold; the call is hung up while held: the hold ends with it.
    hold(&mut w, &b, &call, true);
    assert_eq!(holds(&mut w, &a), vec![("bob".into(), true, 2)]);
    w.advance(3_000);
    w.hangup(&a, &call);
    let rec = w.call_records();
    assert_eq!(rec.len(), 1);
    assert_eq!((rec[0].hold_count, rec[0].hold_ms), (2, 8_000));
}

#[test]
fn in_a_customer_call_only_the_agent_holds() {
    let mut w = World::new(cfg());
    let a1 = w.register_agent("a1", &["sales"]);
    let (c, call) = w.enqueue("cust1", "sales");
    w.accept(&a1, &call);
    w.take(&c);
    hold(&mut w, &c, &call, true);
    assert_eq!(w.errors(&c), vec![ErrorCode::Forbidden]);
    hold(&mut w, &a1, &call, true);
    assert_eq!(holds(&mut w, &c), vec![("a1".into(), true, 1)]);
    // The agent transfers the held customer: the hold ends with the agent's leg.
    let a2 = w.register_agent("a2", &["sales"]);
    w.send(
        &a1,
        ClientMessage::Transfer(Transfer {
            call_id: call.clone(),
            to: TransferTarget::Agent { user: uid("a2") },
        }),
    );
    assert_eq!(holds(&mut w, &c), vec![("a1".into(), false, 1)]);
    w.accept(&a2, &call);
    w.advance(1_000);
    w.hangup(&c, &call);
    let rec = w.call_records();
    assert_eq!(rec[0].hold_count, 1);
}

#[test]
fn a_group_call_is_not_held_and_a_third_member_joining_ends_a_hold() {
    let mut w = World::new(cfg());
    let a = w.login("alice");
    let b = w.login("bob");
    let c = w.login("carol");
    let call = w.call(&a, &["bob", "carol"]);
    w.accept(&b, &call);
    w.take(&a);
    hold(&mut w, &a, &call, true);
    assert_eq!(holds(&mut w, &b), vec![("alice".into(), true, 1)]);
    w.accept(&c, &call);
    assert_eq!(holds(&mut w, &b), vec![("alice".into(), false, 1)]);
    hold(&mut w, &a, &call, true);
    assert_eq!(w.errors(&a), vec![ErrorCode::WrongState]);
}
