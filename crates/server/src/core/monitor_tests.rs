//! Supervision, event by event: who may monitor whom, that the customer is told nothing, the
//! modes and their audit, and taking the customer over.
#![allow(clippy::unwrap_used)]

use switchboard_protocol::*;

use super::Record;
use super::board_tests::{floor, login_as};
use super::tests::{World, uid};

fn monitor(
    w: &mut World,
    sup: &SessionId,
    agent: &str,
    mode: MonitorMode,
) -> Result<CallId, ErrorCode> {
    w.send(
        sup,
        ClientMessage::Invite(Invite {
            to: vec![Invitee {
                user: uid(agent),
                offer: Some(Sdp::new("v=0 supervisor").unwrap()),
            }],
            media: CallMedia::Video,
            extra: None,
            consult: None,
            monitor: Some(mode),
        }),
    );
    w.take(sup)
        .into_iter()
        .find_map(|m| match m {
            ServerMessage::CallCreated(c) => Some(Ok(c.call_id)),
            ServerMessage::Error(e) => Some(Err(e.code)),
            _ => None,
        })
        .unwrap()
}

fn modes(w: &mut World, s: &SessionId) -> Vec<MonitorMode> {
    w.take(s)
        .into_iter()
        .filter_map(|m| match m {
            ServerMessage::MonitorMode(u) => Some(u.mode),
            _ => None,
        })
        .collect()
}

/// a1 talking to customer cust1; sup (front, a1's team) signed in.
fn talking(w: &mut World) -> (SessionId, SessionId, CallId, SessionId) {
    let a1 = w.register_agent("a1", &["sales"]);
    let (c, call) = w.enqueue("cust1", "sales");
    w.accept(&a1, &call);
    let sup = login_as(w, "sup", Role::Supervisor);
    w.take(&a1);
    w.take(&c);
    (a1, c, call, sup)
}

fn stretches(w: &World) -> Vec<(MonitorMode, u64)> {
    w.records
        .iter()
        .filter_map(|r| match r {
            Record::Supervision(s) => Some((s.mode, s.ended_at - s.started_at)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_supervisor_monitors_whispers_and_barges_the_customer_learns_nothing_and_each_stretch_is_audited()
 {
    let mut w = floor();
    let (a1, c, call, sup) = talking(&mut w);
    // An agent may not; a supervisor of another team may not; nobody monitors an idle agent.
    let a2 = w.login("a2");
    assert_eq!(
        monitor(&mut w, &a2, "a1", MonitorMode::Listen),
        Err(ErrorCode::Forbidden)
    );
    let mut back = super::Account::new(Role::Supervisor);
    back.team = Some(Label::new("back").unwrap());
    w.core
        .set_account(super::tests::key("lead"), Some(back), w.now);
    let lead = login_as(&mut w, "lead", Role::Supervisor);
    assert_eq!(
        monitor(&mut w, &lead, "a1", MonitorMode::Listen),
        Err(ErrorCode::Forbidden)
    );
    assert_eq!(
        monitor(&mut w, &sup, "a2", MonitorMode::Listen),
        Err(ErrorCode::Forbidden),
        "a2 is in team back"
    );

    let k = monitor(&mut w, &sup, "a1", MonitorMode::Listen).unwrap();
    let inc = w.incoming(&a1).unwrap();
    let ctx = inc.monitor.unwrap();
    assert_eq!(
        (&ctx.call_id, ctx.supervisor.as_str(), ctx.mode, ctx.notice),
        (&call, "sup", MonitorMode::Listen, false)
    );
    assert_eq!(inc.call_id, k);
    w.accept(&a1, &k);
    assert_eq!(modes(&mut w, &sup), vec![MonitorMode::Listen]);
    assert_eq!(modes(&mut w, &a1), vec![MonitorMode::Listen]);
    // a1 is still the customer's, busy for routing.
    assert!(matches!(w.agent_state("a1"), Some(AgentState::InCall { call_id }) if call_id == call));
    // One monitor per customer call.
    let boss = login_as(&mut w, "boss", Role::Supervisor);
    assert_eq!(
        monitor(&mut w, &boss, "a1", MonitorMode::Listen),
        Err(ErrorCode::WrongState)
    );

    w.advance(4_000);
    let set = |w: &mut World, mode| {
        w.send(
            &sup,
            ClientMessage::Monitor(SetMonitor {
                call_id: k.clone(),
                mode,
            }),
        )
    };
    set(&mut w, MonitorMode::Whisper);
    assert_eq!(modes(&mut w, &a1), vec![MonitorMode::Whisper]);
    // Only the supervisor sets the mode.
    w.send(
        &a1,
        ClientMessage::Monitor(SetMonitor {
            call_id: k.clone(),
            mode: MonitorMode::Barge,
        }),
    );
    assert_eq!(w.errors(&a1), vec![ErrorCode::Forbidden]);
    w.advance(5_000);
    set(&mut w, MonitorMode::Barge);
    assert_eq!(modes(&mut w, &a1), vec![MonitorMode::Barge]);
    w.advance(3_000);
    w.hangup(&sup, &k);
    assert_eq!(
        stretches(&w),
        vec![
            (MonitorMode::Listen, 4_000),
            (MonitorMode::Whisper, 5_000),
            (MonitorMode::Barge, 3_000)
        ]
    );
    // The customer saw none of it; the call goes on.
    assert!(w.take(&c).is_empty(), "the customer is told nothing");
    assert!(matches!(
        w.agent_state("a1"),
        Some(AgentState::InCall { .. })
    ));
    w.hangup(&c, &call);
    assert_eq!(
        w.call_records().len(),
        2,
        "the monitor call and the customer's"
    );
}

#[test]
fn the_customer_call_ending_ends_the_monitor_and_an_unanswered_one_audits_nothing() {
    let mut w = floor();
    let (a1, c, call, sup) = talking(&mut w);
    let k = monitor(&mut w, &sup, "a1", MonitorMode::Listen).unwrap();
    // Rings out unanswered: nothing was supervised.
    w.advance(5_000);
    assert_eq!(w.ended(&sup).len(), 1);
    assert!(stretches(&w).is_empty());
    let k2 = monitor(&mut w, &sup, "a1", MonitorMode::Listen).unwrap();
    assert_ne!(k, k2);
    w.accept(&a1, &k2);
    w.take(&sup);
    w.advance(1_000);
    w.hangup(&c, &call);
    assert_eq!(
        w.ended(&sup),
        vec![EndReason::new(EndCode::CallCompleted, Side::Remote)]
    );
    assert_eq!(stretches(&w), vec![(MonitorMode::Listen, 1_000)]);
}

#[test]
fn taking_over_hands_the_customer_to_the_supervisor_and_sends_the_agent_to_wrap_up() {
    let mut w = floor();
    let (a1, c, call, sup) = talking(&mut w);
    let k = monitor(&mut w, &sup, "a1", MonitorMode::Barge).unwrap();
    w.send(
        &sup,
        ClientMessage::TakeOver(CallRef { call_id: k.clone() }),
    );
    assert_eq!(
        w.errors(&sup),
        vec![ErrorCode::WrongState],
        "not answered yet"
    );
    w.accept(&a1, &k);
    w.take(&sup);
    w.take(&a1);
    w.send(
        &sup,
        ClientMessage::TakeOver(CallRef { call_id: k.clone() }),
    );
    // The customer's call rings at the supervisor, warm: their engine takes it at once.
    let offer = w.incoming(&sup).unwrap();
    assert_eq!(offer.call_id, call);
    assert!(offer.queue.unwrap().warm);
    let transferred = EndReason::new(EndCode::Transferred, Side::Local);
    assert_eq!(w.ended(&sup), vec![transferred]);
    // The agent leaves both calls and wraps up.
    assert_eq!(w.ended(&a1).len(), 2);
    assert!(matches!(
        w.agent_state("a1"),
        Some(AgentState::WrapUp { .. })
    ));
    w.accept(&sup, &call);
    assert!(w.take(&c).iter().any(|m| matches!(
        m,
        ServerMessage::MemberUpdate(u) if u.user.as_str() == "sup" && u.state == MemberState::Joined
    )));
    w.hangup(&c, &call);
    let rec = w.call_records();
    let customer = rec.iter().find(|r| r.call_id == call).unwrap();
    let q = customer.queue.as_ref().unwrap();
    assert_eq!(
        (q.agent.as_ref().unwrap().as_str(), q.transfer),
        ("sup", Some(super::TransferKind::Warm))
    );
    assert_eq!(stretches(&w), vec![(MonitorMode::Barge, 0)]);
}

#[test]
fn a_realm_that_says_so_tells_the_agent() {
    let mut w = floor();
    w.core.config.monitor_notice.insert("dev".into());
    let (a1, _c, _call, sup) = talking(&mut w);
    let k = monitor(&mut w, &sup, "a1", MonitorMode::Listen).unwrap();
    let inc = w.incoming(&a1).unwrap();
    assert_eq!(inc.call_id, k);
    assert!(inc.monitor.unwrap().notice);
}
