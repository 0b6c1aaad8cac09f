#![allow(clippy::unwrap_used)]

use super::*;
use proptest::prelude::*;
use std::collections::VecDeque;

fn ends(out: &[Output]) -> Vec<EndReason> {
    out.iter()
        .filter_map(|o| match o {
            Output::Ended(r) => Some(*r),
            _ => None,
        })
        .collect()
}

#[test]
fn hangup_waits_for_the_servers_reason() {
    let mut m = CallMachine::outgoing();
    let out = m.handle(Input::LocalHangup);
    assert_eq!(
        out,
        vec![
            Output::Send(Request::Hangup),
            Output::StopMedia,
            Output::ArmEndingTimer
        ]
    );
    assert_eq!(m.phase(), Phase::Ending);
    // The callee answered first: the server says it was a hang-up, not a cancel.
    let server = EndReason::new(EndCode::Hangup, Side::Local);
    assert_eq!(
        m.handle(Input::ServerEnded(server)),
        vec![Output::Ended(server)]
    );
    assert!(m.handle(Input::EndingTimeout).is_empty());
}

#[test]
fn an_unconfirmed_hangup_ends_with_our_reason() {
    let mut m = CallMachine::incoming();
    m.handle(Input::LocalHangup);
    assert_eq!(
        ends(&m.handle(Input::EndingTimeout)),
        vec![EndReason::new(EndCode::Rejected, Side::Local)]
    );
}

#[test]
fn media_starts_on_answer_only() {
    let mut callee = CallMachine::incoming();
    assert!(callee.handle(Input::RemoteJoined).is_empty());
    assert_eq!(
        callee.handle(Input::LocalAccept),
        vec![Output::Send(Request::Accept), Output::StartMedia]
    );
    let mut caller = CallMachine::outgoing();
    assert_eq!(caller.handle(Input::RemoteJoined), vec![Output::StartMedia]);
    caller.handle(Input::MediaFlowing);
    assert_eq!(caller.phase(), Phase::Active);
}

#[test]
fn a_resumed_socket_keeps_the_call() {
    let mut m = CallMachine::outgoing();
    m.handle(Input::RemoteJoined);
    m.handle(Input::SignalingLost);
    assert_eq!(m.phase(), Phase::Reconnecting);
    m.handle(Input::MediaFlowing);
    m.handle(Input::SignalingResumed);
    assert_eq!(m.phase(), Phase::Active);
    let out = m.handle(Input::SignalingLost);
    assert!(out.is_empty());
    assert_eq!(
        ends(&m.handle(Input::ResumeExpired)),
        vec![EndReason::new(EndCode::NetworkLost, Side::Local)]
    );
}

fn any_input() -> impl Strategy<Value = Input> {
    prop_oneof![
        Just(Input::LocalHangup),
        Just(Input::LocalAccept),
        Just(Input::RemoteJoined),
        Just(Input::MediaFlowing),
        Just(Input::SignalingLost),
        Just(Input::SignalingResumed),
        Just(Input::ResumeExpired),
        Just(Input::EndingTimeout),
        Just(Input::MediaFailed(EndCode::MediaDeviceError)),
        Just(Input::ServerEnded(EndReason::new(
            EndCode::Hangup,
            Side::Remote
        ))),
    ]
}

/// What can happen in a 1:1 call between the two engines and a model of the server.
#[derive(Debug, Clone)]
enum Step {
    CallerHangup,
    CalleeHangup,
    CalleeAccept,
    RingTimeout,
    /// The server handles the next request in its inbox.
    ServerTurn,
    /// The next server frame reaches the caller (false) or the callee (true).
    Deliver(bool),
    /// One side's socket drops (it reconnects in time on the next `Resume`).
    Drop(bool),
    Resume(bool),
    EndingTimeout(bool),
}

fn any_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => Just(Step::CallerHangup),
        1 => Just(Step::CalleeHangup),
        1 => Just(Step::CalleeAccept),
        1 => Just(Step::RingTimeout),
        3 => Just(Step::ServerTurn),
        3 => any::<bool>().prop_map(Step::Deliver),
        1 => any::<bool>().prop_map(Step::Drop),
        1 => any::<bool>().prop_map(Step::Resume),
        1 => any::<bool>().prop_map(Step::EndingTimeout),
    ]
}

/// The server's side of a 1:1 call, as `crates/server` decides it: `hangup` declines a ringing
/// call, cancels an unanswered one, and hangs up otherwise; each side hears the reason from its
/// own point of view.
struct Sim {
    m: [CallMachine; 2],
    ended: [Vec<EndReason>; 2],
    to_server: VecDeque<(usize, Request)>,
    to_client: [VecDeque<Input>; 2],
    connected: [bool; 2],
    answered: bool,
    over: bool,
}

impl Sim {
    fn feed(&mut self, who: usize, input: Input) {
        for o in self.m[who].handle(input) {
            match o {
                Output::Send(r) => self.to_server.push_back((who, r)),
                Output::Ended(r) => self.ended[who].push(r),
                _ => {}
            }
        }
    }

    fn end_both(&mut self, code: EndCode, actor: Option<usize>) {
        self.over = true;
        for who in 0..2 {
            let side = match actor {
                Some(a) if a == who => Side::Local,
                Some(_) => Side::Remote,
                None => Side::Server,
            };
            self.to_client[who].push_back(Input::ServerEnded(EndReason::new(code, side)));
        }
    }

    fn step(&mut self, s: Step) {
        match s {
            Step::CallerHangup => self.feed(0, Input::LocalHangup),
            Step::CalleeHangup => self.feed(1, Input::LocalHangup),
            Step::CalleeAccept => self.feed(1, Input::LocalAccept),
            Step::RingTimeout if !self.answered && !self.over => {
                self.end_both(EndCode::NoAnswer, None)
            }
            Step::RingTimeout => {}
            Step::ServerTurn => {
                let Some(pos) = self.to_server.iter().position(|(w, _)| self.connected[*w]) else {
                    return;
                };
                let Some((who, r)) = self.to_server.remove(pos) else {
                    return;
                };
                if self.over {
                    return;
                }
                match r {
                    Request::Accept if !self.answered => {
                        self.answered = true;
                        self.to_client[0].push_back(Input::RemoteJoined);
                    }
                    Request::Accept => {}
                    Request::Hangup => {
                        let code = match (who, self.answered) {
                            (1, false) => EndCode::Rejected,
                            (0, false) => EndCode::Cancelled,
                            _ => EndCode::Hangup,
                        };
                        self.end_both(code, Some(who));
                    }
                }
            }
            Step::Deliver(b) => {
                let who = usize::from(b);
                if self.connected[who]
                    && let Some(i) = self.to_client[who].pop_front()
                {
                    self.feed(who, i);
                }
            }
            Step::Drop(b) => {
                let who = usize::from(b);
                self.connected[who] = false;
                self.feed(who, Input::SignalingLost);
            }
            Step::Resume(b) => {
                let who = usize::from(b);
                if !self.connected[who] {
                    self.connected[who] = true;
                    self.feed(who, Input::SignalingResumed);
                }
            }
            // The timer stands for a server that never answers. This server answers every
            // request, so the timer may only fire once its answer was delivered (a no-op).
            Step::EndingTimeout(b) => {
                let who = usize::from(b);
                if self.to_client[who].is_empty() && !self.to_server.iter().any(|(w, _)| *w == who)
                {
                    self.feed(who, Input::EndingTimeout);
                }
            }
        }
    }
}

proptest! {
    /// Whatever arrives in whatever order, a call ends at most once and says nothing after.
    #[test]
    fn a_call_ends_at_most_once(outgoing: bool, inputs in prop::collection::vec(any_input(), 0..40)) {
        let mut m = if outgoing { CallMachine::outgoing() } else { CallMachine::incoming() };
        let mut ended = 0;
        for i in inputs {
            let was_ended = m.is_ended();
            let out = m.handle(i);
            if was_ended {
                prop_assert!(out.is_empty());
            }
            ended += ends(&out).len();
        }
        prop_assert!(ended <= 1);
    }

    /// Caller and callee against the server's rules, with messages crossing and sockets
    /// dropping and resuming: each ends exactly once, and both record the same code.
    #[test]
    fn both_sides_agree(steps in prop::collection::vec(any_step(), 0..60)) {
        let mut sim = Sim {
            m: [CallMachine::outgoing(), CallMachine::incoming()],
            ended: [Vec::new(), Vec::new()],
            to_server: VecDeque::new(),
            to_client: [VecDeque::new(), VecDeque::new()],
            connected: [true, true],
            answered: false,
            over: false,
        };
        for s in steps {
            sim.step(s);
        }
        // Let everything settle: sockets come back, the server and clients drain, and finally
        // the caller hangs up if the call is still going.
        for round in 0..2 {
            for b in [false, true] {
                sim.step(Step::Resume(b));
            }
            if round == 1 {
                sim.step(Step::CallerHangup);
            }
            for _ in 0..20 {
                sim.step(Step::ServerTurn);
                sim.step(Step::Deliver(false));
                sim.step(Step::Deliver(true));
            }
        }
        for who in 0..2 {
            prop_assert_eq!(sim.ended[who].len(), 1, "side {} ended {:?}", who, sim.ended[who]);
        }
        prop_assert_eq!(sim.ended[0][0].code, sim.ended[1][0].code);
    }
}
