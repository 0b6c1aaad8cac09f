//! Hold (`core/hold.rs`): the server's order is followed, our senders switch to music only when
//! we hold, and the history gets the count and the time.

use super::*;
use switchboard_protocol::{CallHold, SetHold};

fn hold_frame(call: &CallId, by: &str, on: bool, count: u32) -> ServerMessage {
    ServerMessage::CallHold(CallHold {
        call_id: call.clone(),
        by: uid(by),
        on,
        since: 1_000,
        count,
    })
}

fn hold_gate(out: &[Output], peer: PeerId) -> Option<bool> {
    ops(out).into_iter().find_map(|(p, op)| match op {
        PeerOp::Gates(g) if p == peer => Some(g.hold),
        _ => None,
    })
}

#[test]
fn we_hold_when_the_server_says_so_and_the_history_counts_every_hold() {
    let mut r = Rig::signed_in("me");
    // Not before the call is answered: said, nothing asked of the server.
    let out = r.input(Input::Hold {
        call_id: cid("c1"),
        on: true,
    });
    assert!(sent(&out).is_empty());
    assert!(matches!(events(&out)[..], [Event::Error { .. }]));

    let (call, peer) = r.answered_call_to_b(CallMedia::Video);
    let out = r.input(Input::Hold {
        call_id: call.clone(),
        on: true,
    });
    assert!(matches!(
        sent(&out)[..],
        [ClientMessage::Hold(SetHold { on: true, .. })]
    ));
    // Asking is not holding: the gates wait for the server.
    assert_eq!(hold_gate(&out, peer), None);
    let out = r.frame(hold_frame(&call, "me", true, 1));
    assert_eq!(hold_gate(&out, peer), Some(true));
    assert!(matches!(
        events(&out)[..],
        [Event::Hold {
            on: true,
            count: 1,
            ..
        }]
    ));
    // Told twice (after a resume): nothing changes.
    assert!(r.frame(hold_frame(&call, "me", true, 1)).is_empty());
    r.advance(Duration::from_secs(4));
    let out = r.frame(hold_frame(&call, "me", false, 1));
    assert_eq!(hold_gate(&out, peer), Some(false));

    // Held by the other side: told, and our media is as it was.
    let out = r.frame(hold_frame(&call, "b", true, 2));
    assert_eq!(hold_gate(&out, peer), None);
    assert!(matches!(
        events(&out)[..],
        [Event::Hold {
            on: true,
            count: 2,
            ..
        }]
    ));
    r.advance(Duration::from_secs(2));
    let out = r.frame(ended(&call, EndCode::Hangup, Side::Remote));
    let hold = events(&out).into_iter().find_map(|e| match e {
        Event::Ended {
            hold_count,
            hold_ms,
            ..
        } => Some((*hold_count, *hold_ms)),
        _ => None,
    });
    assert_eq!(hold, Some((2, 6_000)));
}

#[test]
fn a_warm_transfer_is_taken_at_once_only_by_the_device_that_was_consulted() {
    use switchboard_protocol::{Business, ConsultContext, QueueContext};
    let queue = |warm| QueueContext {
        business: Business::new("billing").unwrap(),
        priority: 0,
        waited_ms: 0,
        customer_name: None,
        transferred_by: Some(uid("a")),
        warm,
    };
    let with = |m: ServerMessage, consult: Option<ConsultContext>, q: Option<QueueContext>| {
        let ServerMessage::IncomingCall(mut i) = m else {
            unreachable!()
        };
        i.consult = consult.map(Box::new);
        i.queue = q;
        ServerMessage::IncomingCall(i)
    };
    let accepted = |out: &[Output], call: &CallId| {
        sent(out)
            .iter()
            .any(|m| matches!(m, ClientMessage::Accept(a) if a.call_id == *call))
    };
    let customer_call = cid("c-customer");
    // A device that was not in the consult rings as usual.
    let mut other = Rig::signed_in("me");
    let out = other.frame(with(
        incoming(&customer_call, "cust", CallMedia::Audio, &["cust", "me"]),
        None,
        Some(queue(true)),
    ));
    assert!(!accepted(&out, &customer_call));
    // The consulted device takes it without a ring.
    let mut r = Rig::signed_in("me");
    let about = ConsultContext {
        call_id: customer_call.clone(),
        customer: uid("cust"),
        queue: queue(false),
    };
    r.frame(with(
        incoming(&cid("k1"), "a", CallMedia::Audio, &["a", "me"]),
        Some(about),
        None,
    ));
    r.frame(ended(&cid("k1"), EndCode::Transferred, Side::Remote));
    let out = r.frame(with(
        incoming(&customer_call, "cust", CallMedia::Audio, &["cust", "me"]),
        None,
        Some(queue(true)),
    ));
    assert!(accepted(&out, &customer_call), "{out:?}");
}
