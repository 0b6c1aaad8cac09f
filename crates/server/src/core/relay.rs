//! What members send each other through the server (SDP, ICE, media notices, in-call
//! messages, file offers), relayed only within a call, and the membership checks behind it.

use switchboard_protocol::{
    CallId, EndReason, ErrorCode, FileOfferFromPeer, FileOfferToPeer, FileReplyFromPeer,
    FileReplyToPeer, IceFromPeer, IceToPeer, MediaStateUpdate, MediaSwitched, MemberState,
    MemberUpdate, MessageId, PeerMediaState, ReceivedCallMessage, RequestId, SdpFromPeer,
    SdpToPeer, SendCallMessage, ServerMessage, SessionId, SwitchMedia, UserId,
};

use super::calls::Call;
use super::{Core, Handled, Millis, UserKey, refuse};

impl Core {
    // ---- relaying between members ----------------------------------------------------------------

    pub(super) fn relay_sdp(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        m: SdpToPeer,
    ) -> Handled {
        let (me, _) = self.member_of(&m.call_id, session)?;
        self.check_peer(&m.call_id, &m.to, m.to_session.as_ref())?;
        self.relay_to(
            &m.call_id,
            &m.to,
            m.to_session.as_ref(),
            ServerMessage::Sdp(SdpFromPeer {
                call_id: m.call_id.clone(),
                from: me.user,
                from_session: session.clone(),
                kind: m.kind,
                sdp: m.sdp,
            }),
        );
        self.ack(session, id);
        Ok(())
    }

    pub(super) fn relay_ice(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        m: IceToPeer,
    ) -> Handled {
        let (me, _) = self.member_of(&m.call_id, session)?;
        self.check_peer(&m.call_id, &m.to, m.to_session.as_ref())?;
        self.relay_to(
            &m.call_id,
            &m.to,
            m.to_session.as_ref(),
            ServerMessage::IceCandidate(IceFromPeer {
                call_id: m.call_id.clone(),
                from: me.user,
                from_session: session.clone(),
                candidate: m.candidate,
            }),
        );
        self.ack(session, id);
        Ok(())
    }

    pub(super) fn relay_media_state(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        m: MediaStateUpdate,
    ) -> Handled {
        let (me, _) = self.joined_member_of(&m.call_id, session)?;
        self.broadcast(
            &m.call_id,
            Some(&me.user),
            ServerMessage::MediaState(PeerMediaState {
                call_id: m.call_id.clone(),
                from: me.user.clone(),
                state: m.state,
            }),
        );
        self.ack(session, id);
        Ok(())
    }

    pub(super) fn switch_media(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        m: SwitchMedia,
    ) -> Handled {
        let (me, _) = self.joined_member_of(&m.call_id, session)?;
        if let Some(call) = self.calls.get_mut(&m.call_id) {
            call.media = m.media;
        }
        self.media_switched(&m.call_id, &me.user, m.media);
        self.ack(session, id);
        Ok(())
    }

    pub(super) fn call_message(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        m: SendCallMessage,
        now: Millis,
    ) -> Handled {
        let (me, _) = self.joined_member_of(&m.call_id, session)?;
        if let Some(to) = &m.to {
            self.check_peer(&m.call_id, to, None)?;
        }
        let msg_id = MessageId::new(self.fresh_id("m"))
            .map_err(|e| refuse(ErrorCode::Internal, e.to_string()))?;
        let seq = {
            let Some(call) = self.calls.get_mut(&m.call_id) else {
                return Ok(());
            };
            let n = call.message_seq.entry(me.user.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let message = ServerMessage::CallMessage(ReceivedCallMessage {
            call_id: m.call_id.clone(),
            msg_id,
            from: me.user.clone(),
            seq,
            to_all: m.to.is_none(),
            text: m.text,
            sent_at: now,
        });
        match &m.to {
            Some(to) => self.relay_to(&m.call_id, to, None, message),
            None => self.broadcast(&m.call_id, Some(&me.user), message),
        }
        self.ack(session, id);
        Ok(())
    }

    pub(super) fn relay_file_offer(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        m: FileOfferToPeer,
    ) -> Handled {
        let (me, _) = self.joined_member_of(&m.call_id, session)?;
        self.check_peer(&m.call_id, &m.to, None)?;
        self.relay_to(
            &m.call_id,
            &m.to,
            None,
            ServerMessage::FileOffer(FileOfferFromPeer {
                call_id: m.call_id.clone(),
                from: me.user,
                file: m.file,
            }),
        );
        self.ack(session, id);
        Ok(())
    }

    pub(super) fn relay_file_reply(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        m: FileReplyToPeer,
    ) -> Handled {
        let (me, _) = self.joined_member_of(&m.call_id, session)?;
        self.check_peer(&m.call_id, &m.to, None)?;
        self.relay_to(
            &m.call_id,
            &m.to,
            None,
            ServerMessage::FileReply(FileReplyFromPeer {
                call_id: m.call_id.clone(),
                from: me.user,
                transfer_id: m.transfer_id,
                accept: m.accept,
            }),
        );
        self.ack(session, id);
        Ok(())
    }

    // ---- helpers ------------------------------------------------------------------------

    pub(super) fn call(&self, call_id: &CallId) -> Result<&Call, super::Refusal> {
        self.calls.get(call_id).ok_or_else(unknown_call)
    }

    /// The session's user as an active member of the call, acting from a device of the call.
    /// A call the session is not part of is reported as unknown, so that nothing about other
    /// people's calls leaks.
    pub(super) fn member_of(
        &self,
        call_id: &CallId,
        session: &SessionId,
    ) -> Result<(UserKey, usize), super::Refusal> {
        let me = self.user_of(session).ok_or_else(unknown_call)?;
        let call = self.calls.get(call_id).ok_or_else(unknown_call)?;
        if call.realm != me.realm {
            return Err(unknown_call());
        }
        let idx = call.active_member(&me.user).ok_or_else(unknown_call)?;
        let m = &call.members[idx];
        if !m.has_device(session) {
            return Err(refuse(
                ErrorCode::NotCallMember,
                "this device is not the one in the call",
            ));
        }
        Ok((me, idx))
    }

    pub(super) fn joined_member_of(
        &self,
        call_id: &CallId,
        session: &SessionId,
    ) -> Result<(UserKey, usize), super::Refusal> {
        let (me, idx) = self.member_of(call_id, session)?;
        if self.call(call_id)?.members[idx].state != MemberState::Joined {
            return Err(refuse(ErrorCode::WrongState, "answer the call first"));
        }
        Ok((me, idx))
    }

    /// The addressee of a relayed frame must be an active member (and the device one of its).
    pub(super) fn check_peer(
        &self,
        call_id: &CallId,
        to: &UserId,
        to_session: Option<&SessionId>,
    ) -> Handled {
        let call = self.call(call_id)?;
        let idx = call.active_member(to).ok_or_else(|| {
            refuse(
                ErrorCode::NotCallMember,
                format!("{to} is not a member of this call"),
            )
        })?;
        if let Some(s) = to_session
            && !call.members[idx].has_device(s)
        {
            return Err(refuse(
                ErrorCode::NotCallMember,
                format!("that device of {to} is not in this call"),
            ));
        }
        Ok(())
    }

    /// Sends to one member: the given device, or the joined device, or every ringing device.
    pub(super) fn relay_to(
        &mut self,
        call_id: &CallId,
        to: &UserId,
        to_session: Option<&SessionId>,
        message: ServerMessage,
    ) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let Some(idx) = call.active_member(to) else {
            return;
        };
        let devices = match to_session {
            Some(s) => vec![s.clone()],
            None => call.members[idx].devices(),
        };
        for d in devices {
            self.send(&d, message.clone());
        }
    }

    /// Sends to the joined members, except one.
    /// Tells every member of the call (the one who switched too, and those still ringing)
    /// that its media is now `media`: two switches that cross are applied by everyone in the
    /// order they reached the server, so the last one wins everywhere, and a member who
    /// answers later answers with it.
    pub(super) fn media_switched(
        &mut self,
        call_id: &CallId,
        by: &UserId,
        media: switchboard_protocol::CallMedia,
    ) {
        let targets: Vec<SessionId> = self
            .calls
            .get(call_id)
            .map(|c| {
                c.members
                    .iter()
                    .filter(|m| m.active())
                    .flat_map(|m| m.devices())
                    .collect()
            })
            .unwrap_or_default();
        let switched = ServerMessage::MediaSwitched(MediaSwitched {
            call_id: call_id.clone(),
            by: by.clone(),
            media,
        });
        for t in targets {
            self.send(&t, switched.clone());
        }
    }

    pub(super) fn broadcast(
        &mut self,
        call_id: &CallId,
        except: Option<&UserId>,
        message: ServerMessage,
    ) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let targets: Vec<SessionId> = call
            .members
            .iter()
            .filter(|m| m.state == MemberState::Joined && Some(&m.user) != except)
            .filter_map(|m| m.session.clone())
            .collect();
        for t in targets {
            self.send(&t, message.clone());
        }
    }

    pub(super) fn member_update(
        &mut self,
        call_id: &CallId,
        user: &UserId,
        state: MemberState,
        session: Option<SessionId>,
        reason: Option<EndReason>,
    ) {
        self.member_update_with(call_id, user, state, session, |_| reason);
    }

    /// Tells every active member's devices (the subject's included, unless it left) about a
    /// member's new state; `reason` may differ per receiver.
    pub(super) fn member_update_with(
        &mut self,
        call_id: &CallId,
        user: &UserId,
        state: MemberState,
        session: Option<SessionId>,
        reason: impl Fn(&UserId) -> Option<EndReason>,
    ) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let targets: Vec<(UserId, Vec<SessionId>)> = call
            .members
            .iter()
            .filter(|m| m.active())
            .map(|m| (m.user.clone(), m.devices()))
            .collect();
        for (to, devices) in targets {
            let update = ServerMessage::MemberUpdate(MemberUpdate {
                call_id: call_id.clone(),
                user: user.clone(),
                state,
                session: session.clone(),
                reason: reason(&to),
            });
            for d in devices {
                self.send(&d, update.clone());
            }
        }
    }
}

fn unknown_call() -> super::Refusal {
    refuse(ErrorCode::UnknownCall, "no such call here")
}
