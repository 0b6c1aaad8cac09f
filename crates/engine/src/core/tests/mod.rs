//! One rule per test, on the core alone: inputs in, outputs out, time passed by hand.
//!
//! Longer than 800 lines because it holds one test per rule of the core with the rig they share
//! (the media path's rules are in `path.rs` beside it).
#![allow(clippy::unwrap_used)]

use super::*;
use switchboard_protocol::{
    CallCreated, CallEnded, CallKind, CandidateLine, EndCode, EndReason, IceFromPeer, IncomingCall,
    Member, MemberState, MemberUpdate, PeerMediaState, Sdp, SdpFromPeer, SdpKind, ServerMessage,
    Side,
};

fn uid(s: &str) -> UserId {
    UserId::new(s).unwrap()
}

fn sid(s: &str) -> SessionId {
    SessionId::new(s).unwrap()
}

fn cid(s: &str) -> CallId {
    CallId::new(s).unwrap()
}

fn cand(n: u32) -> IceCandidate {
    IceCandidate {
        candidate: CandidateLine::new(format!("candidate:{n} 1 udp 1 127.0.0.1 {n} typ host"))
            .unwrap(),
        sdp_mid: None,
        sdp_mline_index: Some(0),
        username_fragment: None,
    }
}

/// One core with its clock.
struct Rig {
    core: Core,
    now: Instant,
}

impl Rig {
    fn signed_in(me: &str) -> Self {
        let mut r = Rig {
            core: Core::new(),
            now: Instant::now(),
        };
        r.input(Input::SignedIn {
            user: uid(me),
            session: sid(&format!("s-{me}")),
            resumed: false,
            resume_window: Duration::from_secs(20),
        });
        r
    }

    fn input(&mut self, i: Input) -> Vec<Output> {
        self.core.handle(i, self.now);
        self.drain()
    }

    fn drain(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.core.poll_output()).collect()
    }

    fn frame(&mut self, m: ServerMessage) -> Vec<Output> {
        self.input(Input::Frame(Box::new(ServerFrame::new(m))))
    }

    fn reply(&mut self, id: RequestId, m: ServerMessage) -> Vec<Output> {
        self.input(Input::Frame(Box::new(ServerFrame::reply(Some(id), m))))
    }

    fn sdp(&mut self, peer: PeerId, sdp: &str) -> Vec<Output> {
        self.input(Input::LocalSdp {
            peer,
            result: Ok(sdp.into()),
        })
    }

    fn advance(&mut self, by: Duration) -> Vec<Output> {
        self.now += by;
        self.core.handle_timeout(self.now);
        self.drain()
    }

    /// We call `b`, our offer is made and the server created the call (`c1`): returns it and
    /// our (offering) peer.
    fn created_call_to_b(&mut self, media: CallMedia) -> (CallId, PeerId) {
        let out = self.input(Input::Call {
            request: 1,
            to: vec![uid("b")],
            media,
        });
        let peer = created(&out)[0];
        self.sdp(peer, "offer-1");
        let call = cid("c1");
        self.reply(
            1,
            ServerMessage::CallCreated(CallCreated {
                call_id: call.clone(),
            }),
        );
        (call, peer)
    }

    /// We call `b` and it answers: returns the call and our (offering) peer.
    fn answered_call_to_b(&mut self, media: CallMedia) -> (CallId, PeerId) {
        let (call, peer) = self.created_call_to_b(media);
        self.frame(joined(&call, "b"));
        self.frame(answer_from(&call, "b", "answer-1"));
        (call, peer)
    }

    /// `a` calls us with an offer and we accept: returns the call and our (answering) peer.
    fn accepted_call_from_a(&mut self, media: CallMedia) -> (CallId, PeerId) {
        let call = cid("c1");
        let out = self.frame(incoming(&call, "a", media, &["a", "me"]));
        let peer = created(&out)[0];
        self.sdp(peer, "answer-1");
        self.input(Input::Accept(call.clone()));
        (call, peer)
    }
}

fn incoming(call: &CallId, from: &str, media: CallMedia, members: &[&str]) -> ServerMessage {
    ServerMessage::IncomingCall(IncomingCall {
        call_id: call.clone(),
        kind: if members.len() > 2 {
            CallKind::Group
        } else {
            CallKind::Direct
        },
        from: uid(from),
        from_session: sid(&format!("s-{from}")),
        from_name: None,
        media,
        members: members
            .iter()
            .map(|m| Member {
                user: uid(m),
                state: if *m == from || m.starts_with('j') {
                    MemberState::Joined
                } else {
                    MemberState::Ringing
                },
                display_name: None,
            })
            .collect(),
        offer: Some(Sdp::new(format!("offer-from-{from}")).unwrap()),
        extra: None,
        consult: None,
        monitor: None,
        queue: None,
        ring_until: 0,
    })
}

fn joined(call: &CallId, user: &str) -> ServerMessage {
    ServerMessage::MemberUpdate(MemberUpdate {
        call_id: call.clone(),
        user: uid(user),
        state: MemberState::Joined,
        session: Some(sid(&format!("s-{user}"))),
        reason: None,
    })
}

fn left(call: &CallId, user: &str) -> ServerMessage {
    ServerMessage::MemberUpdate(MemberUpdate {
        call_id: call.clone(),
        user: uid(user),
        state: MemberState::Left,
        session: None,
        reason: Some(EndReason::new(EndCode::Hangup, Side::Remote)),
    })
}

fn sdp_from(call: &CallId, from: &str, kind: SdpKind, sdp: &str) -> ServerMessage {
    ServerMessage::Sdp(SdpFromPeer {
        call_id: call.clone(),
        from: uid(from),
        from_session: sid(&format!("s-{from}")),
        kind,
        sdp: Sdp::new(sdp).unwrap(),
    })
}

fn switched(call: &CallId, by: &str, media: CallMedia) -> ServerMessage {
    ServerMessage::MediaSwitched(switchboard_protocol::MediaSwitched {
        call_id: call.clone(),
        by: uid(by),
        media,
    })
}

fn answer_from(call: &CallId, from: &str, sdp: &str) -> ServerMessage {
    sdp_from(call, from, SdpKind::Answer, sdp)
}

fn ended(call: &CallId, code: EndCode, side: Side) -> ServerMessage {
    ServerMessage::CallEnded(CallEnded {
        call_id: call.clone(),
        reason: EndReason::new(code, side),
        started_at: 0,
        answered_at: None,
        ended_at: 0,
    })
}

fn sent(out: &[Output]) -> Vec<&ClientMessage> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send(f) => Some(&f.message),
            _ => None,
        })
        .collect()
}

fn ops(out: &[Output]) -> Vec<(PeerId, &PeerOp)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Peer { peer, op } => Some((*peer, op)),
            _ => None,
        })
        .collect()
}

/// The peers created (offer or answer), in order.
fn created(out: &[Output]) -> Vec<PeerId> {
    ops(out)
        .into_iter()
        .filter(|(_, op)| matches!(op, PeerOp::Offer { .. } | PeerOp::Answer { .. }))
        .map(|(p, _)| p)
        .collect()
}

fn reoffers(out: &[Output]) -> usize {
    ops(out)
        .iter()
        .filter(|(_, op)| matches!(op, PeerOp::Reoffer { .. }))
        .count()
}

fn events(out: &[Output]) -> Vec<&Event> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn end_reason(out: &[Output]) -> Option<EndReason> {
    events(out).into_iter().find_map(|e| match e {
        Event::Ended { reason, .. } => Some(*reason),
        _ => None,
    })
}

fn sdps_sent(out: &[Output]) -> Vec<(SdpKind, String)> {
    sent(out)
        .into_iter()
        .filter_map(|m| match m {
            ClientMessage::Sdp(s) => Some((s.kind, s.sdp.as_str().to_owned())),
            _ => None,
        })
        .collect()
}

fn candidates_sent(out: &[Output]) -> usize {
    sent(out)
        .iter()
        .filter(|m| matches!(m, ClientMessage::IceCandidate(_)))
        .count()
}

// ---- placing a call --------------------------------------------------------------------------

#[test]
fn an_invite_goes_out_once_every_offer_is_made_and_its_candidates_wait_for_the_call_id() {
    let mut r = Rig::signed_in("me");
    let out = r.input(Input::Call {
        request: 7,
        to: vec![uid("b"), uid("c")],
        media: CallMedia::Video,
    });
    let peers = created(&out);
    assert_eq!(peers.len(), 2);
    assert!(sent(&out).is_empty(), "no invite before the offers exist");
    // A candidate of the first peer, before anything is known of the call.
    let out = r.input(Input::LocalCandidate {
        peer: peers[0],
        candidate: Some(cand(1)),
    });
    assert!(out.is_empty());
    assert!(sent(&r.sdp(peers[0], "offer-b")).is_empty());
    let out = r.sdp(peers[1], "offer-c");
    let [ClientMessage::Invite(inv)] = sent(&out)[..] else {
        panic!("one invite: {out:?}");
    };
    let offers: Vec<_> = inv
        .to
        .iter()
        .map(|i| (i.user.as_str(), i.offer.as_ref().unwrap().as_str()))
        .collect();
    assert_eq!(offers, [("b", "offer-b"), ("c", "offer-c")]);
    // Still no id: the candidate waits.
    assert_eq!(
        candidates_sent(&r.input(Input::LocalCandidate {
            peer: peers[1],
            candidate: None,
        })),
        0
    );
    let call = cid("c9");
    let out = r.reply(
        7,
        ServerMessage::CallCreated(CallCreated {
            call_id: call.clone(),
        }),
    );
    assert_eq!(candidates_sent(&out), 2, "both held candidates go now");
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Reply { request: 7, result: Ok(c) } if *c == call
    )));
    let out = r.input(Input::LocalCandidate {
        peer: peers[0],
        candidate: Some(cand(2)),
    });
    assert_eq!(candidates_sent(&out), 1, "later ones go at once");
}

#[test]
fn an_offer_that_cannot_be_made_fails_the_call_and_closes_the_other_peers() {
    let mut r = Rig::signed_in("me");
    let out = r.input(Input::Call {
        request: 1,
        to: vec![uid("b"), uid("c")],
        media: CallMedia::Audio,
    });
    let peers = created(&out);
    r.sdp(peers[0], "offer-b");
    let out = r.input(Input::LocalSdp {
        peer: peers[1],
        result: Err("no such device".into()),
    });
    assert!(sent(&out).is_empty(), "no invite");
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Reply { request: 1, result: Err(e) } if e.contains("no such device")
    )));
    assert_eq!(
        ops(&out),
        [(peers[0], &PeerOp::Close { call: None })],
        "the made one closes; the failed one was never made"
    );
}

#[test]
fn a_refused_invite_closes_its_peers() {
    let mut r = Rig::signed_in("me");
    let out = r.input(Input::Call {
        request: 1,
        to: vec![uid("b")],
        media: CallMedia::Audio,
    });
    let peer = created(&out)[0];
    r.sdp(peer, "offer-b");
    let out = r.reply(
        1,
        ServerMessage::Error(switchboard_protocol::ErrorMessage {
            code: switchboard_protocol::ErrorCode::UnknownUser,
            message: "busy".into(),
            call_id: None,
        }),
    );
    assert_eq!(ops(&out), [(peer, &PeerOp::Close { call: None })]);
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Reply { result: Err(_), .. }))
    );
    assert_eq!(r.core.poll_timeout(), None);
}

// ---- media gates -----------------------------------------------------------------------------

#[test]
fn nothing_is_sent_before_the_answer_and_video_only_in_a_video_call() {
    let mut r = Rig::signed_in("me");
    let call = cid("c1");
    let out = r.frame(incoming(&call, "a", CallMedia::Audio, &["a", "me"]));
    let peer = created(&out)[0];
    assert!(matches!(sent(&out)[0], ClientMessage::Ringing(_)));
    let gates = |out: &[Output]| {
        ops(out).into_iter().find_map(|(p, op)| match op {
            PeerOp::Gates(g) if p == peer => Some(*g),
            _ => None,
        })
    };
    assert_eq!(
        gates(&out),
        Some(Gates {
            sending: false,
            screen: false,
            audio_muted: false,
            video_muted: true,
            hold: false,
            ..Gates::default()
        })
    );
    // The answer to the offer goes while we ring; media waits.
    let out = r.sdp(peer, "answer-1");
    assert_eq!(sdps_sent(&out), [(SdpKind::Answer, "answer-1".to_owned())]);
    let out = r.input(Input::Accept(call.clone()));
    assert!(matches!(sent(&out)[0], ClientMessage::Accept(_)));
    assert_eq!(gates(&out).map(|g| g.sending), Some(true));
    assert!(out.iter().any(|o| matches!(o, Output::Capture(true))));
    // A switch to video opens the camera's gate; muting the camera closes it again.
    let out = r.frame(switched(&call, "a", CallMedia::Video));
    assert_eq!(gates(&out).map(|g| g.video_muted), Some(false));
    assert_eq!(reoffers(&out), 0, "the answering side never re-offers");
    let out = r.input(Input::Mute {
        call_id: call.clone(),
        audio: true,
        video: true,
    });
    let g = gates(&out).unwrap();
    assert!(g.audio_muted && g.video_muted && g.sending);
    let [ClientMessage::MediaState(m)] = sent(&out)[..] else {
        panic!("{out:?}")
    };
    assert!(!m.state.audio && !m.state.video);
    // The same gates twice are not given twice.
    let out = r.input(Input::Mute {
        call_id: call,
        audio: true,
        video: true,
    });
    assert_eq!(gates(&out), None);
}

// ---- negotiation -----------------------------------------------------------------------------

#[test]
fn crossing_switches_end_on_the_servers_order_and_only_the_first_offerer_offers() {
    // Two cores with the server between them played by hand: a switches to video while b
    // switches to audio; the server took a's first.
    let mut a = Rig::signed_in("a");
    let mut b = Rig::signed_in("b");
    let (call, pa) = a.answered_call_to_b(CallMedia::Video);
    let out = b.frame(incoming(&call, "a", CallMedia::Video, &["a", "b"]));
    let pb = created(&out)[0];
    b.sdp(pb, "answer-1");
    b.input(Input::Accept(call.clone()));
    a.frame(switched(&call, "a", CallMedia::Audio));
    b.frame(switched(&call, "a", CallMedia::Audio));
    let pa_offer = a.sdp(pa, "offer-audio");
    assert_eq!(sdps_sent(&pa_offer).len(), 1);
    b.frame(sdp_from(&call, "a", SdpKind::Offer, "offer-audio"));
    b.sdp(pb, "answer-audio");
    a.frame(answer_from(&call, "b", "answer-audio"));

    // Asking changes nothing yet: the server's word does.
    let out_a = a.input(Input::SwitchMedia(call.clone(), CallMedia::Video));
    assert!(matches!(sent(&out_a)[..], [ClientMessage::SwitchMedia(_)]));
    assert!(ops(&out_a).is_empty());
    let out_b = b.input(Input::SwitchMedia(call.clone(), CallMedia::Audio));
    assert!(ops(&out_b).is_empty());
    // Both hear both, in the server's order.
    let out = a.frame(switched(&call, "a", CallMedia::Video));
    assert_eq!(
        ops(&out).len(),
        2,
        "the camera's gate and a re-offer: {out:?}"
    );
    assert_eq!(reoffers(&out), 1);
    assert_eq!(
        reoffers(&a.frame(switched(&call, "b", CallMedia::Audio))),
        0,
        "one at a time"
    );
    assert_eq!(
        reoffers(&b.frame(switched(&call, "a", CallMedia::Video))),
        0,
        "b never offers"
    );
    assert_eq!(
        reoffers(&b.frame(switched(&call, "b", CallMedia::Audio))),
        0
    );
    let out = a.sdp(pa, "offer-2");
    assert_eq!(sdps_sent(&out), [(SdpKind::Offer, "offer-2".to_owned())]);
    let out = b.frame(sdp_from(&call, "a", SdpKind::Offer, "offer-2"));
    assert_eq!(
        ops(&out),
        [(
            pb,
            &PeerOp::AnswerReoffer {
                offer: "offer-2".into(),
                video: false
            }
        )],
        "b answers with the media the server ended on"
    );
    b.sdp(pb, "answer-2");
    // The change that came while a's offer was out is offered once its answer is in.
    let out = a.frame(answer_from(&call, "b", "answer-2"));
    assert_eq!(
        ops(&out),
        [
            (pa, &PeerOp::SetAnswer("answer-2".into())),
            (
                pa,
                &PeerOp::Reoffer {
                    video: false,
                    ice_restart: false
                }
            )
        ]
    );
}

#[test]
fn our_own_switch_coming_back_unchanged_is_no_news() {
    let mut r = Rig::signed_in("a");
    let (call, _) = r.answered_call_to_b(CallMedia::Audio);
    assert_eq!(
        events(&r.frame(switched(&call, "a", CallMedia::Audio))).len(),
        0
    );
    let out = r.frame(switched(&call, "b", CallMedia::Audio));
    assert!(matches!(events(&out)[..], [Event::MediaSwitched { .. }]));
    assert_eq!(reoffers(&out), 0, "nothing changed");
}

#[test]
fn an_offer_on_a_connection_we_offered_is_refused() {
    let mut r = Rig::signed_in("a");
    let (call, _) = r.answered_call_to_b(CallMedia::Audio);
    let out = r.frame(sdp_from(&call, "b", SdpKind::Offer, "glare"));
    assert!(ops(&out).is_empty(), "{out:?}");
    assert!(sent(&out).is_empty());
}

#[test]
fn a_switch_while_the_first_offer_is_out_is_offered_after_its_answer() {
    let mut r = Rig::signed_in("me");
    let (call, peer) = r.created_call_to_b(CallMedia::Audio);
    // Before b answers, the user switches to video.
    assert_eq!(
        reoffers(&r.frame(switched(&call, "b", CallMedia::Video))),
        0
    );
    let out = r.frame(answer_from(&call, "b", "answer-1"));
    assert_eq!(
        ops(&out),
        [
            (peer, &PeerOp::SetAnswer("answer-1".into())),
            (
                peer,
                &PeerOp::Reoffer {
                    video: true,
                    ice_restart: false
                }
            )
        ]
    );
}

#[test]
fn an_answer_nobody_asked_for_is_dropped() {
    let mut r = Rig::signed_in("a");
    let (call, _) = r.answered_call_to_b(CallMedia::Audio);
    let out = r.frame(answer_from(&call, "b", "again"));
    assert!(ops(&out).is_empty(), "{out:?}");
    // And none on a connection where we answered.
    let mut r = Rig::signed_in("me");
    let (call, _) = r.accepted_call_from_a(CallMedia::Audio);
    assert!(ops(&r.frame(answer_from(&call, "a", "x"))).is_empty());
}

#[test]
fn remote_candidates_wait_for_the_remote_description() {
    let mut r = Rig::signed_in("me");
    let (call, peer) = r.created_call_to_b(CallMedia::Audio);
    let ice = |n| {
        ServerMessage::IceCandidate(IceFromPeer {
            call_id: call.clone(),
            from: uid("b"),
            from_session: sid("s-b"),
            candidate: Some(cand(n)),
        })
    };
    assert!(ops(&r.frame(ice(1))).is_empty(), "held");
    let out = r.frame(answer_from(&call, "b", "answer-1"));
    assert_eq!(
        ops(&out),
        [
            (peer, &PeerOp::SetAnswer("answer-1".into())),
            (peer, &PeerOp::AddCandidate(cand(1)))
        ]
    );
    assert_eq!(
        ops(&r.frame(ice(2))),
        [(peer, &PeerOp::AddCandidate(cand(2)))]
    );
}

#[test]
fn a_member_leaving_mid_negotiation_gets_no_more_operations() {
    let mut r = Rig::signed_in("a");
    let (call, peer) = r.answered_call_to_b(CallMedia::Audio);
    // Another member keeps the call going (a sorts first: a offers to c).
    let pc = created(&r.frame(joined(&call, "c")))[0];
    r.sdp(pc, "offer-c");
    r.frame(answer_from(&call, "c", "answer-c"));
    let out = r.frame(switched(&call, "c", CallMedia::Video));
    assert_eq!(reoffers(&out), 2, "to b and to c");
    let out = r.frame(left(&call, "b"));
    assert_eq!(
        ops(&out),
        [(
            peer,
            &PeerOp::Close {
                call: Some(call.clone())
            }
        )]
    );
    // The re-offer it was making comes back, then b's late answer: nothing for that peer.
    let out = r.sdp(peer, "offer-2");
    assert!(out.is_empty(), "{out:?}");
    assert!(ops(&r.frame(answer_from(&call, "b", "answer-2"))).is_empty());
    assert_eq!(r.core.peers_of(&call).len(), 1);
}

#[test]
fn mute_during_a_reoffer_changes_the_gates_and_leaves_the_negotiation_alone() {
    let mut r = Rig::signed_in("a");
    let (call, peer) = r.answered_call_to_b(CallMedia::Audio);
    assert_eq!(
        reoffers(&r.frame(switched(&call, "b", CallMedia::Video))),
        1
    );
    let out = r.input(Input::Mute {
        call_id: call.clone(),
        audio: true,
        video: false,
    });
    assert!(matches!(
        ops(&out)[..],
        [(p, PeerOp::Gates(Gates { audio_muted: true, .. }))] if p == peer
    ));
    assert_eq!(reoffers(&out), 0);
    let out = r.sdp(peer, "offer-2");
    assert_eq!(sdps_sent(&out).len(), 1);
    let out = r.frame(answer_from(&call, "b", "answer-2"));
    assert_eq!(ops(&out), [(peer, &PeerOp::SetAnswer("answer-2".into()))]);
}

#[test]
fn the_mesh_rule_the_member_whose_id_sorts_first_offers() {
    // We are "m", invited by "a" into a group call where "j1" and "z" joined already.
    let mut r = Rig::signed_in("m");
    let call = cid("g1");
    let out = r.frame(incoming(&call, "a", CallMedia::Audio, &["a", "j1", "m"]));
    let pa = created(&out)[0];
    r.sdp(pa, "answer-a");
    r.frame(joined(&call, "z"));
    let out = r.input(Input::Accept(call.clone()));
    // j1 < m: j1 offers to us. m < z: we offer to z.
    let offers: Vec<_> = ops(&out)
        .into_iter()
        .filter_map(|(_, op)| match op {
            PeerOp::Offer { user, .. } => Some(user.as_str().to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(offers, ["z"]);
    let pz = created(&out)[0];
    // Our candidates for z wait until our offer went out.
    assert_eq!(
        candidates_sent(&r.input(Input::LocalCandidate {
            peer: pz,
            candidate: Some(cand(1)),
        })),
        0
    );
    let out = r.sdp(pz, "offer-z");
    assert_eq!(sdps_sent(&out), [(SdpKind::Offer, "offer-z".to_owned())]);
    assert_eq!(candidates_sent(&out), 1);
    // j1's offer makes a new connection.
    let out = r.frame(sdp_from(&call, "j1", SdpKind::Offer, "offer-j1"));
    assert!(matches!(ops(&out)[0].1, PeerOp::Answer { user, .. } if user.as_str() == "j1"));
}

#[test]
fn members_invited_together_go_in_one_frame() {
    let mut r = Rig::signed_in("a");
    let (call, _) = r.answered_call_to_b(CallMedia::Audio);
    let out = r.input(Input::Invite(
        call.clone(),
        vec![uid("c"), uid("b"), uid("a"), uid("d")],
    ));
    let peers = created(&out);
    assert_eq!(peers.len(), 2, "b is in already and a is us");
    assert!(sent(&r.sdp(peers[0], "offer-c")).is_empty());
    let out = r.sdp(peers[1], "offer-d");
    let [ClientMessage::InviteMembers(m)] = sent(&out)[..] else {
        panic!("{out:?}")
    };
    assert_eq!(m.to.len(), 2);
    assert_eq!(r.core.peers_of(&call).len(), 3);
}

// ---- the socket ------------------------------------------------------------------------------

#[test]
fn a_resumed_socket_keeps_the_call_and_a_lost_one_ends_it_after_the_window() {
    let mut r = Rig::signed_in("a");
    let (call, _) = r.answered_call_to_b(CallMedia::Audio);
    r.input(Input::SignalingLost("gone".into()));
    assert!(end_reason(&r.advance(Duration::from_secs(3))).is_none());
    r.input(Input::SignedIn {
        user: uid("a"),
        session: sid("s-a"),
        resumed: true,
        resume_window: Duration::from_secs(20),
    });
    assert!(r.core.calls().any(|c| *c == call), "the call goes on");
    // Lost again, and this time the window passes.
    r.input(Input::SignalingLost("gone".into()));
    let mut all = Vec::new();
    for _ in 0..24 {
        all.extend(r.advance(Duration::from_secs(1)));
    }
    assert!(
        end_reason(&all).is_none(),
        "the server decides within its window"
    );
    assert_eq!(
        end_reason(&r.advance(Duration::from_secs(1))),
        Some(EndReason::new(EndCode::NetworkLost, Side::Local))
    );
    assert_eq!(r.core.poll_timeout(), None, "no timer left behind");
}

#[test]
fn a_fresh_session_after_a_drop_ends_the_calls_the_server_ended() {
    let mut r = Rig::signed_in("a");
    r.answered_call_to_b(CallMedia::Audio);
    r.input(Input::SignalingLost("gone".into()));
    let out = r.input(Input::SignedIn {
        user: uid("a"),
        session: sid("s-a2"),
        resumed: false,
        resume_window: Duration::from_secs(20),
    });
    assert_eq!(end_reason(&out).map(|r| r.code), Some(EndCode::NetworkLost));
    assert!(out.iter().any(|o| matches!(o, Output::Capture(false))));
}

// ---- ending ----------------------------------------------------------------------------------

#[test]
fn a_hangup_waits_for_the_servers_reason_and_then_for_nothing() {
    let mut r = Rig::signed_in("a");
    let (call, peer) = r.answered_call_to_b(CallMedia::Video);
    let out = r.input(Input::Hangup(call.clone()));
    assert!(matches!(sent(&out)[..], [ClientMessage::Hangup(_)]));
    assert!(ops(&out).contains(&(
        peer,
        &PeerOp::Close {
            call: Some(call.clone())
        }
    )));
    assert!(end_reason(&out).is_none());
    let out = r.frame(ended(&call, EndCode::Hangup, Side::Local));
    assert_eq!(
        end_reason(&out),
        Some(EndReason::new(EndCode::Hangup, Side::Local))
    );
    assert_eq!(r.core.poll_timeout(), None);
}

#[test]
fn a_hangup_the_server_never_confirms_ends_with_our_own_reason() {
    let mut r = Rig::signed_in("a");
    let (call, _) = r.created_call_to_b(CallMedia::Audio);
    r.input(Input::Hangup(call));
    assert!(end_reason(&r.advance(Duration::from_secs(2))).is_none());
    assert_eq!(
        end_reason(&r.advance(Duration::from_secs(2))),
        Some(EndReason::new(EndCode::Cancelled, Side::Local))
    );
    assert_eq!(r.core.poll_timeout(), None);
}

#[test]
fn the_share_and_the_recording_stop_with_the_media_and_the_others_are_told() {
    let mut r = Rig::signed_in("a");
    let (call, _) = r.answered_call_to_b(CallMedia::Video);
    let out = r.input(Input::ShareStarted(call.clone()));
    assert!(matches!(
        ops(&out)[..],
        [(_, PeerOp::Gates(Gates { screen: true, .. }))]
    ));
    r.input(Input::Recording {
        call_id: call.clone(),
        state: Some(false),
    });
    // A member's share ends: its picture leaves our recording.
    let out = r.frame(ServerMessage::MediaState(PeerMediaState {
        call_id: call.clone(),
        from: uid("b"),
        state: MediaState {
            audio: true,
            video: true,
            screen: false,
            recording: false,
        },
    }));
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Recorder { op: RecorderOp::RemoteScreenOff(u), .. } if u.as_str() == "b"
    )));
    let out = r.input(Input::Hangup(call.clone()));
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::StopShare(c) if *c == call))
    );
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Recorder {
            op: RecorderOp::Stop,
            ..
        }
    )));
    assert!(
        events(&out)
            .iter()
            .any(|e| matches!(e, Event::ScreenShareEnded { reason: None, .. }))
    );
    let last = sent(&out)
        .into_iter()
        .filter_map(|m| match m {
            ClientMessage::MediaState(m) => Some(m.state),
            _ => None,
        })
        .next_back()
        .unwrap();
    assert!(!last.screen && !last.recording);
}

#[test]
fn stats_tick_while_media_flows_and_stop_with_it() {
    let mut r = Rig::signed_in("a");
    assert_eq!(r.core.poll_timeout(), None);
    let (call, _) = r.answered_call_to_b(CallMedia::Audio);
    let ticks = |out: &[Output]| {
        out.iter()
            .filter(|o| matches!(o, Output::Tick(c) if c.len() == 1))
            .count()
    };
    let mut n = 0;
    for _ in 0..5 {
        n += ticks(&r.advance(TICK));
    }
    assert_eq!(n, 5);
    r.input(Input::Hangup(call.clone()));
    r.frame(ended(&call, EndCode::Hangup, Side::Local));
    let out = r.advance(TICK);
    assert_eq!(ticks(&out), 0);
    assert_eq!(r.core.poll_timeout(), None);
}

#[test]
fn first_media_makes_the_call_active_and_is_told() {
    let mut r = Rig::signed_in("me");
    let (call, peer) = r.accepted_call_from_a(CallMedia::Audio);
    let out = r.input(Input::Transport {
        peer,
        state: TransportState::Connected,
    });
    assert!(matches!(events(&out)[..], [Event::TransportReady { .. }]));
    // The same state again is not news.
    assert!(
        r.input(Input::Transport {
            peer,
            state: TransportState::Connected,
        })
        .is_empty()
    );
    let out = r.input(Input::FirstMedia {
        peer,
        kind: "audio",
        at: r.now,
    });
    assert!(matches!(events(&out)[..], [Event::FirstMedia { call_id, .. }] if *call_id == call));
}

mod hold;
mod path;
