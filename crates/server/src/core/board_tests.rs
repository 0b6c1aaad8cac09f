//! The floor, event by event: who may watch it, what each supervisor's board shows, when it
//! is pushed, and what the figures count.
#![allow(clippy::unwrap_used)]

use switchboard_protocol::*;

use super::tests::{World, cfg, key};
use super::{Account, Login};

fn team(name: &str) -> Option<Label> {
    Some(Label::new(name).unwrap())
}

/// Puts a1 in team `front`, a2 in `back`; `sup` supervises `front`, `boss` the realm.
pub(super) fn floor() -> World {
    let mut c = cfg();
    c.service_level.insert("dev".into(), (10, 90));
    c.stats_window_ms = 10 * 60_000;
    let mut w = World::new(c);
    for (user, t) in [("a1", "front"), ("a2", "back")] {
        let mut a = w.core.account(&key(user)).cloned().unwrap();
        a.team = team(t);
        w.core.set_account(key(user), Some(a), w.now);
    }
    let mut sup = Account::new(Role::Supervisor);
    sup.team = team("front");
    w.core.set_account(key("sup"), Some(sup), w.now);
    w.core
        .set_account(key("boss"), Some(Account::new(Role::Supervisor)), w.now);
    w
}

pub(super) fn login_as(w: &mut World, user: &str, role: Role) -> SessionId {
    let s = SessionId::new(format!("s-{user}")).unwrap();
    w.core.login(
        s.clone(),
        Login {
            user: key(user),
            role,
            display_name: None,
            token_expires_at: w.now + 3_600_000,
            business: None,
            session_ends_at: w.now + 24 * 3_600_000,
        },
        None,
        w.now,
    );
    w.pump();
    w.take(&s);
    s
}

fn watch(w: &mut World, s: &SessionId) {
    w.send(s, ClientMessage::WatchFloor(WatchFloor { on: true }));
}

fn boards(w: &mut World, s: &SessionId) -> Vec<Wallboard> {
    w.take(s)
        .into_iter()
        .filter_map(|m| match m {
            ServerMessage::Wallboard(b) => Some(b),
            _ => None,
        })
        .collect()
}

fn agents(b: &Wallboard) -> Vec<(String, AgentState)> {
    b.agents
        .iter()
        .map(|a| (a.user.to_string(), a.state.clone()))
        .collect()
}

fn queue<'a>(b: &'a Wallboard, business: &str) -> &'a QueueBoard {
    b.queues
        .iter()
        .find(|q| q.business.as_str() == business)
        .unwrap()
}

#[test]
fn only_supervisors_watch_and_each_sees_their_team_or_the_realm() {
    let mut w = floor();
    let a1 = w.register_agent("a1", &["sales"]);
    let _a2 = w.register_agent("a2", &["support"]);
    let user = w.login("alice");
    for s in [&a1, &user] {
        w.take(s);
        watch(&mut w, s);
        assert_eq!(
            w.errors(s),
            vec![ErrorCode::Forbidden],
            "agents and users may not"
        );
    }

    let sup = login_as(&mut w, "sup", Role::Supervisor);
    let boss = login_as(&mut w, "boss", Role::Supervisor);
    watch(&mut w, &sup);
    watch(&mut w, &boss);
    let b = boards(&mut w, &sup).pop().unwrap();
    assert_eq!(agents(&b), vec![("a1".into(), AgentState::Ready)]);
    assert_eq!(b.team, team("front"));
    assert_eq!((b.service_level_secs, b.service_level_goal_pct), (10, 90));
    // A team's board has its agents' queues only; the realm's has them all.
    let names = |b: &Wallboard| -> Vec<String> {
        b.queues.iter().map(|q| q.business.to_string()).collect()
    };
    assert_eq!(names(&b), vec!["sales"]);
    let all = boards(&mut w, &boss).pop().unwrap();
    assert_eq!(all.agents.len(), 2);
    assert_eq!(names(&all), vec!["sales", "support"]);
    assert_eq!(queue(&all, "sales").agents_ready, 1);

    // a2 (team back) goes not ready: the realm's supervisor is told, front's is not.
    w.send(
        &_a2,
        ClientMessage::SetAgentState(SetAgentState {
            state: AgentAvailability::NotReady {
                reason: Label::new("break").unwrap(),
            },
            after_call: false,
        }),
    );
    w.advance(300);
    assert!(boards(&mut w, &sup).is_empty(), "not front's business");
    let all = boards(&mut w, &boss).pop().unwrap();
    assert!(matches!(all.agents[1].state, AgentState::NotReady { .. }));
    // Clocks alone are no news.
    w.advance(10_000);
    assert!(boards(&mut w, &boss).is_empty());

    // Stopping stops the frames.
    w.send(&boss, ClientMessage::WatchFloor(WatchFloor { on: false }));
    w.take(&boss);
    let (_c, _call) = w.enqueue("cust1", "sales");
    w.advance(300);
    assert!(boards(&mut w, &boss).is_empty());
    let b = boards(&mut w, &sup).pop().unwrap();
    assert!(matches!(b.agents[0].state, AgentState::Ringing { .. }));
}

#[test]
fn the_figures_count_service_level_abandons_and_handle_time_and_slide_out_of_the_window() {
    let mut w = floor();
    let boss = login_as(&mut w, "boss", Role::Supervisor);
    let a1 = w.register_agent("a1", &["sales"]);
    watch(&mut w, &boss);

    // cust1 is answered after 2 s (in time), talks 60 s; a1 wraps up 2 s (auto-ready).
    let (c1, call1) = w.enqueue("cust1", "sales");
    w.advance(2_000);
    w.accept(&a1, &call1);
    w.advance(60_000);
    w.hangup(&c1, &call1);
    w.advance(2_000);
    assert_eq!(w.agent_state("a1"), Some(AgentState::Ready));
    // cust2 waits 15 s (late: a1 is not ready, then rings): answered, 30 s, a1 hangs up.
    w.send(
        &a1,
        ClientMessage::SetAgentState(SetAgentState {
            state: AgentAvailability::NotReady {
                reason: Label::new("break").unwrap(),
            },
            after_call: false,
        }),
    );
    let (_c2, call2) = w.enqueue("cust2", "sales");
    // cust3 gives up after 3 s; the server timing out nobody counts as an abandon.
    let (c3, call3) = w.enqueue("cust3", "sales");
    w.advance(3_000);
    w.hangup(&c3, &call3);
    // Frames go at most once per CTI interval.
    w.advance(300);
    let b = boards(&mut w, &boss).pop().unwrap();
    let q = queue(&b, "sales");
    assert_eq!((q.waiting, q.answered, q.abandoned), (1, 1, 1));
    assert_eq!(q.longest_wait_ms, 3_300, "as of the frame");
    w.advance(11_700);
    w.send(
        &a1,
        ClientMessage::SetAgentState(SetAgentState {
            state: AgentAvailability::Ready,
            after_call: false,
        }),
    );
    w.accept(&a1, &call2);
    w.advance(300);
    let b = boards(&mut w, &boss).pop().unwrap();
    let row = &b.agents[0];
    let call = row.call.as_ref().unwrap();
    assert_eq!((&call.call_id, call.on_hold), (&call2, false));
    w.advance(29_700);
    w.hangup(&a1, &call2);
    w.advance(2_000);

    let b = boards(&mut w, &boss).pop().unwrap();
    let q = queue(&b, "sales");
    assert_eq!(
        (
            q.waiting,
            q.answered,
            q.answered_in_time,
            q.abandoned,
            q.handled
        ),
        (0, 2, 1, 1, 2)
    );
    assert_eq!(
        q.service_level_pct,
        Some(33),
        "1 in time of 2 answered + 1 abandoned"
    );
    assert_eq!(q.abandon_pct, Some(33));
    // Talk and hold (60 s, 30 s) plus wrap-up (2 s each), per handled call.
    assert_eq!(q.aht_ms, Some(47_000));
    let own = b.agents[0].figures;
    assert_eq!(
        (own.handled, own.aht_ms, own.window_mins),
        (2, Some(47_000), 10)
    );
    // The agent sees their own figures in the CTI frame.
    let cti = w
        .take(&a1)
        .into_iter()
        .rev()
        .find_map(|m| match m {
            ServerMessage::Cti(c) => Some(c),
            _ => None,
        })
        .unwrap();
    assert_eq!(cti.own, own);

    // Once the window has passed it holds none of it.
    w.advance(11 * 60_000);
    let b = w.core.wallboard(&key("boss").realm, None, w.now);
    let q = queue(&b, "sales");
    assert_eq!(
        (q.answered, q.abandoned, q.handled, q.aht_ms),
        (0, 0, 0, None)
    );
    assert_eq!(b.agents[0].figures.handled, 0);
}
