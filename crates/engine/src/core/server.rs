//! The core's side of the server: every frame it sends (calls created, incoming calls,
//! members, SDP and ICE relays, media notices, messages).

use std::time::Instant;

use switchboard_protocol::{
    CallId, CallMedia, CallRef, ClientMessage, IncomingCall, MemberState, MemberUpdate, RequestId,
    SdpFromPeer, SdpKind, ServerFrame, ServerMessage,
};

use super::negotiation::{Made, Role};
use super::phase::{CallMachine, Input as PhaseInput};
use super::{Call, Core, Owner, PeerOp, RecorderOp};
use crate::event::Event;

impl Core {
    pub(super) fn frame(&mut self, f: ServerFrame, now: Instant) {
        match f.message {
            ServerMessage::Queued(q) => {
                // The customer's place in the queue, for whoever shows it.
                let call_id = q.call_id.clone();
                self.emit(Event::Server {
                    message: Box::new(ServerMessage::Queued(q)),
                });
                self.created(f.id, call_id);
            }
            ServerMessage::CallCreated(c) => self.created(f.id, c.call_id),
            ServerMessage::Error(e) => {
                let why = format!("{:?}: {}", e.code, e.message);
                match f.id {
                    Some(request) if self.invites.contains_key(&request) => {
                        self.invite_failed(request, why)
                    }
                    Some(request) if self.member_invites.contains_key(&request) => {
                        self.member_invite_refused(request, why)
                    }
                    Some(request) if self.accepts.contains_key(&request) => {
                        // Taken elsewhere, or we are in another call: we are not in this one,
                        // so we leave it as the server sees it (declined), and say why.
                        let Some(call_id) = self.accepts.remove(&request) else {
                            return;
                        };
                        self.emit(Event::Error {
                            call_id: Some(call_id.clone()),
                            message: format!("cannot answer: {why}"),
                        });
                        self.phase(&call_id, PhaseInput::LocalHangup, now);
                    }
                    _ => self.emit(Event::Error {
                        call_id: e.call_id,
                        message: why,
                    }),
                }
            }
            ServerMessage::Ack => {
                if let Some(request) = f.id {
                    self.member_invites.remove(&request);
                    self.accepts.remove(&request);
                }
            }
            ServerMessage::IncomingCall(inc) => self.incoming(inc, now),
            ServerMessage::MemberUpdate(m) => self.member_update(m, now),
            ServerMessage::CallEnded(e) => {
                self.phase(&e.call_id, PhaseInput::ServerEnded(e.reason), now)
            }
            ServerMessage::Sdp(s) => self.remote_sdp(s),
            ServerMessage::IceCandidate(c) => {
                let Some(candidate) = c.candidate else { return };
                let Some(peer) = self.peer_of(&c.call_id, &c.from) else {
                    return;
                };
                if let Some(op) = self
                    .peers
                    .get_mut(&peer)
                    .and_then(|p| p.neg.remote_candidate(candidate))
                {
                    self.op(peer, op);
                }
            }
            ServerMessage::MediaState(m) => {
                // A member's screen share ended: its picture leaves our recording's layout.
                let recording = self
                    .calls
                    .get(&m.call_id)
                    .is_some_and(|c| c.recording.is_some());
                if !m.state.screen && recording {
                    self.out.push_back(super::Output::Recorder {
                        call_id: m.call_id.clone(),
                        op: RecorderOp::RemoteScreenOff(m.from.clone()),
                    });
                }
                self.emit(Event::RemoteMediaState {
                    call_id: m.call_id,
                    user: m.from,
                    state: m.state,
                });
            }
            ServerMessage::MediaSwitched(m) => {
                // The server's order is the truth: our own switch comes back too, and a switch
                // that crossed ours wins if it reached the server last.
                let Some(call) = self.calls.get_mut(&m.call_id) else {
                    return;
                };
                let changed = call.media != m.media;
                call.media = m.media;
                if changed {
                    self.gates(&m.call_id);
                    self.renegotiate(&m.call_id);
                } else if self.me.as_ref() == Some(&m.by) {
                    return;
                }
                self.emit(Event::MediaSwitched {
                    call_id: m.call_id,
                    by: m.by,
                    media: m.media,
                });
            }
            ServerMessage::CallMessage(m) => self.emit(Event::CallMessage {
                call_id: m.call_id,
                from: m.from,
                text: m.text.into(),
            }),
            ServerMessage::CallHold(h) => self.call_hold(h, now),
            ServerMessage::MonitorMode(u) => self.monitor_mode(u),
            ServerMessage::Conference(c) => self.conference(c),
            ServerMessage::Pong(_) => {}
            other => self.emit(Event::Server {
                message: Box::new(other),
            }),
        }
    }

    /// The server made our call (an invite) or queued us (a customer): the call exists now,
    /// and the candidates our peers gathered meanwhile can go.
    fn created(&mut self, id: Option<RequestId>, call_id: CallId) {
        let Some(request) = id else { return };
        if self.calls.contains_key(&call_id) {
            return;
        }
        let Some(inv) = self.invites.remove(&request) else {
            return;
        };
        let mut call = Call::new(CallMachine::outgoing(), inv.media);
        call.monitor = inv.monitor.map(|mode| super::monitor::Monitoring {
            of: None,
            mode,
            agent_side: false,
            conference: false,
        });
        call.joined.extend(self.me.clone());
        call.members.extend(self.me.clone());
        for (user, peer) in &inv.peers {
            call.members.insert(user.clone());
            if let Some(p) = self.peers.get_mut(peer) {
                p.owner = Owner::Call(call_id.clone());
                // The offer went out with the invite.
                p.neg.sdp_sent = true;
                call.peers.insert(user.clone(), *peer);
            }
        }
        self.calls.insert(call_id.clone(), call);
        self.gates(&call_id);
        for (_, peer) in inv.peers {
            self.flush_local(peer);
        }
        self.out.push_back(super::Output::Reply {
            request,
            result: Ok(call_id),
        });
    }

    fn incoming(&mut self, inc: IncomingCall, now: Instant) {
        let call_id = inc.call_id.clone();
        if self.calls.contains_key(&call_id) {
            // A repeat (a resumed session sends what is still ringing): we ring already.
            return;
        }
        let mut call = Call::new(CallMachine::incoming(), inc.media);
        call.joined = inc
            .members
            .iter()
            .filter(|m| m.state == MemberState::Joined)
            .map(|m| m.user.clone())
            .collect();
        call.members = inc.members.iter().map(|m| m.user.clone()).collect();
        // Our supervisor: we answer at once and bridge the customer's call.
        call.monitor = inc.monitor.as_ref().map(|m| super::monitor::Monitoring {
            of: Some(m.call_id.clone()),
            mode: m.mode,
            agent_side: true,
            conference: false,
        });
        let monitored = call.monitor.is_some();
        self.calls.insert(call_id.clone(), call);
        self.send(ClientMessage::Ringing(CallRef {
            call_id: call_id.clone(),
        }));
        if let Some(offer) = &inc.offer {
            // Transport set-up starts now, while we ring; media waits for the answer.
            self.answer_new(&call_id, &inc.from, &inc.from_session, offer.as_str());
        }
        self.gates(&call_id);
        // A consult about a customer call: if it turns into a warm transfer, that call comes to
        // this device without a second ring (other devices of ours ring as usual).
        if let Some(c) = &inc.consult {
            self.expect_warm(c.call_id.clone());
        }
        let warm = inc.queue.as_ref().is_some_and(|q| q.warm) && {
            let before = self.warm_expected.len();
            self.warm_expected.retain(|c| *c != call_id);
            self.warm_expected.len() < before
        };
        self.emit(Event::Incoming {
            call_id: call_id.clone(),
            from: inc.from,
            kind: inc.kind,
            media: inc.media,
            members: inc.members.into_iter().map(|m| m.user).collect(),
            from_name: inc.from_name,
            queue: inc.queue,
            consult: inc.consult,
            monitor: inc.monitor,
        });
        if warm || monitored {
            self.phase(&call_id, PhaseInput::LocalAccept, now);
        }
    }

    /// A new connection that answers this member's offer (replacing one we had with them).
    fn answer_new(
        &mut self,
        call_id: &CallId,
        from: &switchboard_protocol::UserId,
        from_session: &switchboard_protocol::SessionId,
        offer: &str,
    ) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let video = call.media == CallMedia::Video;
        let peer = self.new_peer(
            from,
            Owner::Call(call_id.clone()),
            Role::Answerer,
            Made::Answer,
        );
        if let Some(p) = self.peers.get_mut(&peer) {
            p.session = Some(from_session.clone());
        }
        self.op(
            peer,
            PeerOp::Answer {
                user: from.clone(),
                offer: offer.to_owned(),
                video,
            },
        );
        let old = self
            .calls
            .get_mut(call_id)
            .and_then(|c| c.peers.insert(from.clone(), peer));
        if let Some(old) = old {
            self.close_peer(old);
        }
        self.gates(call_id);
    }

    fn member_update(&mut self, m: MemberUpdate, now: Instant) {
        let Some(me) = self.me.clone() else { return };
        match m.state {
            MemberState::Invited | MemberState::Ringing => {
                if let Some(call) = self.calls.get_mut(&m.call_id) {
                    call.members.insert(m.user.clone());
                }
                if m.state == MemberState::Ringing {
                    self.emit(Event::Ringing {
                        call_id: m.call_id,
                        user: m.user,
                    });
                }
            }
            MemberState::Joined if m.user != me => {
                let peer = self.peer_of(&m.call_id, &m.user);
                if let Some(call) = self.calls.get_mut(&m.call_id) {
                    call.members.insert(m.user.clone());
                    if !call.joined.contains(&m.user) {
                        call.joined.push(m.user.clone());
                    }
                }
                if let Some(p) = peer.and_then(|p| self.peers.get_mut(&p))
                    && m.session.is_some()
                {
                    p.session = m.session.clone();
                }
                self.phase(&m.call_id, PhaseInput::RemoteJoined, now);
                if self.media_on(&m.call_id) {
                    self.mesh(&m.call_id);
                }
                self.emit(Event::MemberJoined {
                    call_id: m.call_id,
                    user: m.user,
                    at: now,
                });
            }
            MemberState::Left if m.user != me => {
                let mut gone = Vec::new();
                if let Some(call) = self.calls.get_mut(&m.call_id) {
                    call.joined.retain(|u| u != &m.user);
                    call.members.remove(&m.user);
                    gone.extend(call.peers.remove(&m.user));
                    let peers = &self.peers;
                    call.inviting.retain(|(_, p)| {
                        let theirs = peers.get(p).is_some_and(|p| p.user == m.user);
                        if theirs {
                            gone.push(*p);
                        }
                        !theirs
                    });
                }
                for p in gone {
                    self.close_peer(p);
                }
                self.emit(Event::MemberLeft {
                    call_id: m.call_id,
                    user: m.user,
                    reason: m.reason,
                });
            }
            _ => {}
        }
    }

    fn remote_sdp(&mut self, s: SdpFromPeer) {
        let Some(call) = self.calls.get(&s.call_id) else {
            return;
        };
        let video = call.media == CallMedia::Video;
        let peer = call.peers.get(&s.from).copied();
        let state = peer.and_then(|id| self.peers.get_mut(&id).map(|p| (id, p)));
        match s.kind {
            SdpKind::Answer => {
                let Some((peer, p)) = state else { return };
                if !p.neg.accept_answer() {
                    tracing::warn!("an answer from {} that we did not ask for", s.from);
                    return;
                }
                p.session = Some(s.from_session.clone());
                let (held, again) = p.neg.after_answer();
                self.op(peer, PeerOp::SetAnswer(s.sdp.into()));
                for c in held {
                    self.op(peer, PeerOp::AddCandidate(c));
                }
                // The media changed again while our offer was out.
                if again
                    && let Some(op) = self.peers.get_mut(&peer).and_then(|p| p.neg.reoffer(video))
                {
                    self.op(peer, op);
                }
            }
            SdpKind::Offer => {
                if let Some((peer, p)) = state
                    && p.session.as_ref() == Some(&s.from_session)
                {
                    // An audio↔video switch renegotiated on the connection we have.
                    if p.neg.takes_reoffer() {
                        self.op(
                            peer,
                            PeerOp::AnswerReoffer {
                                offer: s.sdp.into(),
                                video,
                            },
                        );
                    } else {
                        tracing::warn!(
                            "{} offered on a connection we offered; only we offer on it",
                            s.from
                        );
                    }
                    return;
                }
                // A mesh offer from another member of a group call, or a member who signed in
                // again: a new connection.
                self.answer_new(&s.call_id, &s.from, &s.from_session, s.sdp.as_str());
            }
        }
    }
}

impl Call {
    fn new(machine: CallMachine, media: CallMedia) -> Self {
        Self {
            machine,
            media,
            peers: Default::default(),
            joined: Vec::new(),
            answered: None,
            muted: (false, false),
            media_on: false,
            sharing: false,
            recording: None,
            ending_at: None,
            inviting: Vec::new(),
            members: Default::default(),
            holds: Default::default(),
            monitor: None,
        }
    }
}
