//! The actor's side of the server: sign-in and socket loss, and every frame the server sends
//! (calls created, incoming calls, members, SDP and ICE relays, media notices, messages).

use super::*;

impl Actor {
    // ---- signaling --------------------------------------------------------------------------

    pub(super) async fn signal(&mut self, ev: SignalEvent) {
        match ev {
            SignalEvent::Connected(w) => {
                self.connected = true;
                self.me = Some(w.user.clone());
                self.factory.ice_servers = w.ice_servers.clone();
                self.resume_window = Duration::from_secs(u64::from(w.resume_window_secs));
                let ids: Vec<CallId> = self.calls.keys().cloned().collect();
                let input = if w.resumed {
                    Input::SignalingResumed
                } else {
                    // A fresh session: the server has ended our calls.
                    Input::ResumeExpired
                };
                for id in ids {
                    self.input(&id, input.clone()).await;
                }
                self.emit(Event::SignedIn {
                    user: w.user,
                    session: w.session_id,
                    resumed: w.resumed,
                });
            }
            SignalEvent::Disconnected(why) => {
                if self.connected {
                    self.connected = false;
                    self.loss_epoch += 1;
                    // A little longer than the server's window, so that the server decides.
                    self.arm(
                        self.resume_window + Duration::from_secs(5),
                        Timer::ResumeDeadline(self.loss_epoch),
                    );
                    let ids: Vec<CallId> = self.calls.keys().cloned().collect();
                    for id in ids {
                        self.input(&id, Input::SignalingLost).await;
                    }
                }
                self.emit(Event::SignalingLost(why));
            }
            SignalEvent::Closed(why) => {
                self.connected = false;
                let ids: Vec<CallId> = self.calls.keys().cloned().collect();
                for id in ids {
                    self.input(&id, Input::ResumeExpired).await;
                }
                self.emit(Event::Closed(why));
            }
            SignalEvent::Frame(f) => self.frame(*f).await,
        }
    }

    async fn frame(&mut self, f: ServerFrame) {
        match f.message {
            ServerMessage::Queued(q) => {
                // The customer's place in the queue, for whoever shows it.
                let call_id = q.call_id.clone();
                self.emit(Event::Server(Box::new(ServerMessage::Queued(q))));
                self.created(f.id, call_id).await;
            }
            ServerMessage::CallCreated(c) => self.created(f.id, c.call_id).await,
            ServerMessage::Error(e) => {
                if let Some(inv) = f.id.and_then(|id| self.invites.remove(&id)) {
                    for (_, p) in inv.peers {
                        self.owners.remove(&p.key);
                        p.close().await;
                    }
                    let _ = inv.reply.send(Err(format!("{:?}: {}", e.code, e.message)));
                } else {
                    self.emit(Event::Error {
                        call_id: None,
                        message: format!("{:?}: {}", e.code, e.message),
                    });
                }
            }
            ServerMessage::IncomingCall(inc) => self.incoming(inc).await,
            ServerMessage::MemberUpdate(m) => self.member_update(m).await,
            ServerMessage::CallEnded(e) => {
                self.input(&e.call_id, Input::ServerEnded(e.reason)).await
            }
            ServerMessage::Sdp(s) => self.remote_sdp(s).await,
            ServerMessage::IceCandidate(c) => {
                let Some(cand) = c.candidate else { return };
                if let Some(p) = self
                    .calls
                    .get_mut(&c.call_id)
                    .and_then(|call| call.peers.get_mut(&c.from))
                {
                    p.add_candidate(cand).await;
                }
            }
            ServerMessage::MediaState(m) => {
                // A member's screen share ended: its picture leaves our recording's layout.
                if !m.state.screen
                    && let Some(rec) = self
                        .calls
                        .get_mut(&m.call_id)
                        .and_then(|c| c.recording.as_mut())
                {
                    rec.screen_off(&m.from);
                }
                self.emit(Event::RemoteMediaState {
                    call_id: m.call_id,
                    user: m.from,
                    state: m.state,
                });
            }
            ServerMessage::MediaSwitched(m) => {
                if let Some(call) = self.calls.get_mut(&m.call_id) {
                    call.media = m.media;
                    Self::apply_gates(call);
                    self.renegotiate(&m.call_id, None).await;
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
            ServerMessage::Ack | ServerMessage::Pong(_) => {}
            other => self.emit(Event::Server(Box::new(other))),
        }
    }

    /// The server made our call (an invite) or queued us (a customer): the call exists now.
    async fn created(&mut self, id: Option<switchboard_protocol::RequestId>, call_id: CallId) {
        let Some(req) = id else { return };
        let Some(inv) = self.invites.remove(&req) else {
            return;
        };
        let mut peers = inv.peers;
        for p in peers.values_mut() {
            self.owners.insert(p.key, Owner::Call(call_id.clone()));
            for cand in std::mem::take(&mut p.pending_local) {
                self.send(ClientMessage::IceCandidate(IceToPeer {
                    call_id: call_id.clone(),
                    to: p.user.clone(),
                    to_session: None,
                    candidate: cand,
                }));
            }
        }
        let mut joined = Vec::new();
        joined.extend(self.me.clone());
        self.calls.insert(
            call_id.clone(),
            Call {
                machine: CallMachine::outgoing(),
                media: inv.media,
                peers,
                joined,
                answered: None,
                muted: (false, false),
                media_on: false,
                final_stats: Vec::new(),
                recording: None,
                sharing: false,
            },
        );
        if let Some(call) = self.calls.get(&call_id) {
            Self::apply_gates(call);
        }
        let _ = inv.reply.send(Ok(call_id));
    }

    async fn incoming(&mut self, inc: switchboard_protocol::IncomingCall) {
        let call_id = inc.call_id.clone();
        let mut call = Call {
            machine: CallMachine::incoming(),
            media: inc.media,
            peers: HashMap::new(),
            joined: inc
                .members
                .iter()
                .filter(|m| m.state == MemberState::Joined)
                .map(|m| m.user.clone())
                .collect(),
            answered: None,
            muted: (false, false),
            media_on: false,
            final_stats: Vec::new(),
            recording: None,
            sharing: false,
        };
        self.send(ClientMessage::Ringing(CallRef {
            call_id: call_id.clone(),
        }));
        if let Some(offer) = &inc.offer {
            // Transport set-up starts now, while we ring; media waits for the answer.
            let key = self.key(Owner::Call(call_id.clone()));
            let video = inc.media == CallMedia::Video;
            match self
                .factory
                .answerer(key, &inc.from, offer.as_str(), video)
                .await
            {
                Ok((mut peer, answer)) => {
                    peer.session = Some(inc.from_session.clone());
                    if let Ok(sdp) = Sdp::new(answer) {
                        self.send(ClientMessage::Sdp(SdpToPeer {
                            call_id: call_id.clone(),
                            to: inc.from.clone(),
                            to_session: Some(inc.from_session.clone()),
                            kind: SdpKind::Answer,
                            sdp,
                        }));
                    }
                    call.peers.insert(inc.from.clone(), peer);
                }
                Err(e) => self.emit(Event::Error {
                    call_id: Some(call_id.clone()),
                    message: format!("cannot answer the offer: {e}"),
                }),
            }
        }
        Self::apply_gates(&call);
        self.calls.insert(call_id.clone(), call);
        self.emit(Event::Incoming {
            call_id,
            from: inc.from,
            kind: inc.kind,
            media: inc.media,
            members: inc.members.into_iter().map(|m| m.user).collect(),
            from_name: inc.from_name,
            queue: inc.queue,
        });
    }

    async fn member_update(&mut self, m: switchboard_protocol::MemberUpdate) {
        let Some(me) = self.me.clone() else { return };
        match m.state {
            MemberState::Ringing => self.emit(Event::Ringing {
                call_id: m.call_id,
                user: m.user,
            }),
            MemberState::Joined if m.user != me => {
                if let Some(call) = self.calls.get_mut(&m.call_id) {
                    if !call.joined.contains(&m.user) {
                        call.joined.push(m.user.clone());
                    }
                    if let Some(p) = call.peers.get_mut(&m.user) {
                        p.session = m.session.clone();
                    }
                }
                self.input(&m.call_id, Input::RemoteJoined).await;
                let in_call = self.calls.get(&m.call_id).is_some_and(|c| c.media_on);
                if in_call {
                    self.mesh(&m.call_id).await;
                }
                self.emit(Event::MemberJoined {
                    call_id: m.call_id,
                    user: m.user,
                    at: Instant::now(),
                });
            }
            MemberState::Left if m.user != me => {
                let peer = self.calls.get_mut(&m.call_id).and_then(|c| {
                    c.joined.retain(|u| u != &m.user);
                    if let Some(rec) = c.recording.as_mut() {
                        rec.unwatch(&m.user);
                    }
                    let p = c.peers.remove(&m.user)?;
                    // Keep what this member's media counted for the call's summary.
                    c.final_stats.push(p.shared.stats());
                    Some(p)
                });
                if let Some(p) = peer {
                    self.owners.remove(&p.key);
                    p.close().await;
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

    async fn remote_sdp(&mut self, s: switchboard_protocol::SdpFromPeer) {
        match s.kind {
            SdpKind::Answer => {
                if let Some(p) = self
                    .calls
                    .get_mut(&s.call_id)
                    .and_then(|c| c.peers.get_mut(&s.from))
                {
                    p.session = Some(s.from_session.clone());
                    match p.set_answer(s.sdp.as_str()).await {
                        // The media changed again while our re-offer was out.
                        Ok(Some(_)) => self.renegotiate(&s.call_id, Some(&s.from)).await,
                        Ok(None) => {}
                        Err(e) => tracing::warn!("answer from {} refused: {e}", s.from),
                    }
                }
            }
            SdpKind::Offer => {
                let Some(call) = self.calls.get_mut(&s.call_id) else {
                    return;
                };
                // An audio↔video switch renegotiated on the connection we have.
                let video = call.media == CallMedia::Video;
                if let Some(p) = call
                    .peers
                    .get_mut(&s.from)
                    .filter(|p| p.renegotiates(&s.from_session))
                {
                    match p.answer_reoffer(s.sdp.as_str(), video).await {
                        Ok(answer) => {
                            if let Ok(sdp) = Sdp::new(answer) {
                                self.send(ClientMessage::Sdp(SdpToPeer {
                                    call_id: s.call_id,
                                    to: s.from,
                                    to_session: Some(s.from_session),
                                    kind: SdpKind::Answer,
                                    sdp,
                                }));
                            }
                        }
                        Err(e) => tracing::warn!("re-offer from {} refused: {e}", s.from),
                    }
                    return;
                }
                // A mesh offer from another member of a group call.
                let key = self.key(Owner::Call(s.call_id.clone()));
                let video = self
                    .calls
                    .get(&s.call_id)
                    .is_some_and(|c| c.media == CallMedia::Video);
                match self
                    .factory
                    .answerer(key, &s.from, s.sdp.as_str(), video)
                    .await
                {
                    Ok((mut peer, answer)) => {
                        peer.session = Some(s.from_session.clone());
                        if let Ok(sdp) = Sdp::new(answer) {
                            self.send(ClientMessage::Sdp(SdpToPeer {
                                call_id: s.call_id.clone(),
                                to: s.from.clone(),
                                to_session: Some(s.from_session),
                                kind: SdpKind::Answer,
                                sdp,
                            }));
                        }
                        if let Some(call) = self.calls.get_mut(&s.call_id) {
                            if let Some(old) = call.peers.insert(s.from.clone(), peer) {
                                self.owners.remove(&old.key);
                                old.close().await;
                            }
                            Self::apply_gates(call);
                        }
                    }
                    Err(e) => self.emit(Event::Error {
                        call_id: Some(s.call_id),
                        message: format!("cannot answer {}'s offer: {e}", s.from),
                    }),
                }
            }
        }
    }
}
