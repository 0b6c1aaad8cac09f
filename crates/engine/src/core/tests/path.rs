//! The media path's rules (`core/path.rs`): lost and told, restarted by the offering side only,
//! after the grace or at once, retried with a growing wait, one offer at a time.

use super::*;
use crate::core::path::{RESTART_GRACE, RESTART_RETRY};

fn restarts(out: &[Output]) -> Vec<PeerId> {
    ops(out)
        .into_iter()
        .filter(|(_, op)| {
            matches!(
                op,
                PeerOp::Reoffer {
                    ice_restart: true,
                    ..
                }
            )
        })
        .map(|(p, _)| p)
        .collect()
}

fn state(r: &mut Rig, peer: PeerId, state: TransportState) -> Vec<Output> {
    r.input(Input::Transport { peer, state })
}

/// A call to `b`, answered, its path up.
fn up_call_to_b(r: &mut Rig) -> (CallId, PeerId) {
    let (call, peer) = r.answered_call_to_b(CallMedia::Video);
    let out = state(r, peer, TransportState::Connected);
    assert!(matches!(events(&out)[..], [Event::TransportReady { .. }]));
    (call, peer)
}

#[test]
fn a_lost_path_is_told_and_the_offerer_restarts_ice_after_the_grace() {
    let mut r = Rig::signed_in("me");
    let (call, peer) = up_call_to_b(&mut r);
    let out = state(&mut r, peer, TransportState::Disconnected);
    assert!(
        matches!(&events(&out)[..], [Event::TransportLost { call_id, user }] if *call_id == call && user.as_str() == "b")
    );
    assert!(restarts(&out).is_empty(), "not before the grace");
    let early = RESTART_GRACE - Duration::from_millis(1);
    assert!(restarts(&r.advance(early)).is_empty());
    let out = r.advance(Duration::from_millis(1));
    assert_eq!(restarts(&out), [peer]);
    // The restart offer goes to b like any re-offer, and its answer is applied.
    let out = r.sdp(peer, "offer-restart");
    assert_eq!(sdps_sent(&out), [(SdpKind::Offer, "offer-restart".into())]);
    let out = r.frame(answer_from(&call, "b", "answer-restart"));
    assert!(
        ops(&out)
            .iter()
            .any(|(p, op)| *p == peer && matches!(op, PeerOp::SetAnswer(_)))
    );
    // Back: told once, and no timer is left.
    let out = state(&mut r, peer, TransportState::Connected);
    assert!(matches!(events(&out)[..], [Event::TransportReady { .. }]));
    assert!(state(&mut r, peer, TransportState::Connected).is_empty());
    assert!(restarts(&r.advance(RESTART_RETRY * 4)).is_empty());
}

#[test]
fn a_path_back_within_the_grace_needs_no_restart() {
    let mut r = Rig::signed_in("me");
    let (_, peer) = up_call_to_b(&mut r);
    state(&mut r, peer, TransportState::Disconnected);
    r.advance(RESTART_GRACE / 2);
    let out = state(&mut r, peer, TransportState::Connected);
    assert!(matches!(events(&out)[..], [Event::TransportReady { .. }]));
    assert!(restarts(&r.advance(RESTART_GRACE * 4)).is_empty());
}

#[test]
fn a_failed_path_restarts_at_once_and_again_with_a_growing_wait() {
    let mut r = Rig::signed_in("me");
    let (call, peer) = up_call_to_b(&mut r);
    state(&mut r, peer, TransportState::Failed);
    let out = r.advance(Duration::ZERO);
    assert_eq!(restarts(&out), [peer]);
    r.sdp(peer, "offer-r1");
    r.frame(answer_from(&call, "b", "answer-r1"));
    // Still down: again after 5 s, then 10 s.
    assert!(restarts(&r.advance(RESTART_RETRY - Duration::from_millis(1))).is_empty());
    assert_eq!(restarts(&r.advance(Duration::from_millis(1))), [peer]);
    r.sdp(peer, "offer-r2");
    r.frame(answer_from(&call, "b", "answer-r2"));
    assert!(restarts(&r.advance(RESTART_RETRY)).is_empty());
    assert_eq!(restarts(&r.advance(RESTART_RETRY)), [peer]);
}

#[test]
fn the_answering_side_waits_for_the_offerers_restart_and_answers_it() {
    let mut r = Rig::signed_in("me");
    let (call, peer) = r.accepted_call_from_a(CallMedia::Video);
    state(&mut r, peer, TransportState::Connected);
    let out = state(&mut r, peer, TransportState::Failed);
    assert!(matches!(events(&out)[..], [Event::TransportLost { .. }]));
    assert!(restarts(&r.advance(RESTART_RETRY * 10)).is_empty());
    // a's restart offer arrives on the same connection and is answered there.
    let out = r.frame(sdp_from(&call, "a", SdpKind::Offer, "offer-restart"));
    assert!(
        ops(&out)
            .iter()
            .any(|(p, op)| *p == peer && matches!(op, PeerOp::AnswerReoffer { .. }))
    );
    assert!(created(&out).is_empty(), "no new connection");
}

#[test]
fn a_restart_while_an_offer_is_out_follows_its_answer() {
    let mut r = Rig::signed_in("me");
    let (call, peer) = up_call_to_b(&mut r);
    // A switch to audio is being offered when the path fails.
    r.frame(switched(&call, "me", CallMedia::Audio));
    r.sdp(peer, "offer-switch");
    state(&mut r, peer, TransportState::Failed);
    assert!(
        restarts(&r.advance(Duration::ZERO)).is_empty(),
        "one offer at a time"
    );
    let out = r.frame(answer_from(&call, "b", "answer-switch"));
    assert_eq!(restarts(&out), [peer]);
    assert!(ops(&out).iter().any(|(_, op)| matches!(
        op,
        PeerOp::Reoffer {
            video: false,
            ice_restart: true
        }
    )));
}

#[test]
fn a_connection_being_set_up_is_not_lost_until_it_fails() {
    let mut r = Rig::signed_in("me");
    let (_, peer) = r.answered_call_to_b(CallMedia::Audio);
    assert!(state(&mut r, peer, TransportState::Connecting).is_empty());
    assert!(state(&mut r, peer, TransportState::Disconnected).is_empty());
    // No path at all: told, and the offerer tries a restart.
    let out = state(&mut r, peer, TransportState::Failed);
    assert!(matches!(events(&out)[..], [Event::TransportLost { .. }]));
    assert_eq!(restarts(&r.advance(Duration::ZERO)), [peer]);
}

#[test]
fn a_restart_timer_goes_with_its_call() {
    let mut r = Rig::signed_in("me");
    let (call, peer) = up_call_to_b(&mut r);
    state(&mut r, peer, TransportState::Disconnected);
    r.input(Input::Hangup(call.clone()));
    r.frame(ended(&call, EndCode::Hangup, Side::Local));
    let out = r.advance(RESTART_GRACE);
    assert!(restarts(&out).is_empty());
    r.advance(TICK);
    assert_eq!(r.core.poll_timeout(), None);
}

#[test]
fn a_lost_path_has_the_signaling_checked_and_its_restart_made_again_after_a_resume() {
    let mut r = Rig::signed_in("me");
    let (_, peer) = up_call_to_b(&mut r);
    let out = state(&mut r, peer, TransportState::Failed);
    assert!(
        out.iter().any(|o| matches!(o, Output::CheckSignaling)),
        "the socket may have died with the network"
    );
    assert_eq!(restarts(&r.advance(Duration::ZERO)), [peer]);
    r.sdp(peer, "offer-r1");
    // The socket was dead: the offer never reached b, no answer comes. The session resumes
    // on a new socket, and the restart is offered again at once.
    r.input(Input::SignalingLost("probe unanswered".into()));
    let out = r.input(Input::SignedIn {
        user: uid("me"),
        session: sid("s-me"),
        resumed: true,
        resume_window: Duration::from_secs(20),
    });
    assert_eq!(restarts(&out), [peer]);
    // A path that is up is left alone by a resume.
    let out = state(&mut r, peer, TransportState::Connected);
    assert!(matches!(events(&out)[..], [Event::TransportReady { .. }]));
    r.input(Input::SignalingLost("blip".into()));
    let out = r.input(Input::SignedIn {
        user: uid("me"),
        session: sid("s-me"),
        resumed: true,
        resume_window: Duration::from_secs(20),
    });
    assert!(restarts(&out).is_empty());
}
