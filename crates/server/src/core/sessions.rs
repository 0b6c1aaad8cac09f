//! Ending sessions: kicks on duplicate sign-in, deliberate ends (sign-out, admin, shutdown), a
//! resume window that runs out, and the dispatch of a signed-in session's frames.

use switchboard_protocol::{
    CallId, ClientMessage, ErrorCode, RequestId, ServerMessage, SessionEndCode, SessionEnded,
    SessionId,
};

use super::{Core, Handled, Millis, Output, calls, refuse};

impl Core {
    // ---- sessions -------------------------------------------------------------------------

    pub(super) fn kick_duplicate(&mut self, old: &SessionId, now: Millis) {
        use switchboard_protocol::{EndCode, Side};
        let calls: Vec<CallId> = self
            .sessions
            .get(old)
            .map(|s| s.calls.iter().cloned().collect())
            .unwrap_or_default();
        for c in calls {
            self.depart_session(
                &c,
                old,
                calls::Departure::fixed(EndCode::KickedDuplicateLogin, Side::OtherDevice),
                now,
            );
        }
        self.end_session(
            old,
            SessionEndCode::KickedDuplicateLogin,
            "you signed in on another device",
            now,
        );
    }

    /// Ends a session on purpose: its calls end (with the code that fits), it is told why,
    /// and its connection is closed.
    pub(super) fn end_session(
        &mut self,
        session: &SessionId,
        code: SessionEndCode,
        text: &str,
        now: Millis,
    ) {
        use switchboard_protocol::{EndCode, Side};
        let calls: Vec<CallId> = self
            .sessions
            .get(session)
            .map(|s| s.calls.iter().cloned().collect())
            .unwrap_or_default();
        let departure = match code {
            SessionEndCode::LoggedOut => None,
            SessionEndCode::KickedDuplicateLogin => Some(calls::Departure::fixed(
                EndCode::KickedDuplicateLogin,
                Side::OtherDevice,
            )),
            SessionEndCode::TokenExpired | SessionEndCode::Unknown => Some(
                calls::Departure::fixed(EndCode::ServiceUnavailable, Side::Server),
            ),
            SessionEndCode::KickedByServer => Some(calls::Departure::fixed(
                EndCode::KickedByServer,
                Side::Server,
            )),
            SessionEndCode::ServerShutdown => Some(calls::Departure::fixed(
                EndCode::ServiceUnavailable,
                Side::Server,
            )),
        };
        for c in calls {
            match &departure {
                Some(d) => self.depart_session(&c, session, d.clone(), now),
                None => self.hang_up_any(&c, session, now),
            }
        }
        self.send(
            session,
            ServerMessage::SessionEnded(SessionEnded {
                code,
                message: text.into(),
            }),
        );
        self.out.push(Output::Close {
            session: session.clone(),
        });
        self.forget_session(session, now);
    }

    /// Removes a session whose calls are already over.
    pub(super) fn forget_session(&mut self, session: &SessionId, now: Millis) {
        let Some(s) = self.sessions.remove(session) else {
            return;
        };
        self.timers.remove(&(
            s.token_expires_at,
            super::Timer::TokenExpiry {
                session: session.clone(),
            },
        ));
        if let Some(d) = self.devices.get_mut(&s.user) {
            d.retain(|x| x != session);
            if d.is_empty() {
                self.devices.remove(&s.user);
            }
        }
        self.unwatch(session, &s.watching);
        self.unwatch_floor(session);
        if self
            .agents
            .get(&s.user)
            .is_some_and(|a| &a.session == session)
        {
            self.agent_offline(&s.user, now);
        }
        self.presence_dirty.insert(s.user);
    }

    /// A token timer fired: unless it was refreshed since, the session ends (its calls with
    /// it), whether or not the socket said anything lately.
    pub(super) fn token_expired(&mut self, session: &SessionId, at: Millis, now: Millis) {
        if self
            .sessions
            .get(session)
            .is_some_and(|s| s.token_expires_at == at)
        {
            self.end_session(
                session,
                SessionEndCode::TokenExpired,
                "the token expired; sign in again",
                now,
            );
        }
    }

    pub(super) fn resume_expired(&mut self, session: &SessionId, now: Millis) {
        use switchboard_protocol::{EndCode, Side};
        let Some(s) = self.sessions.get(session) else {
            return;
        };
        if s.connected {
            return;
        }
        let calls: Vec<CallId> = s.calls.iter().cloned().collect();
        for c in calls {
            self.depart_session(
                &c,
                session,
                calls::Departure::fixed(EndCode::NetworkLost, Side::System),
                now,
            );
        }
        self.forget_session(session, now);
    }

    pub(super) fn dispatch(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        message: ClientMessage,
        now: Millis,
    ) -> Handled {
        match message {
            ClientMessage::Hello(_) => Err(refuse(
                ErrorCode::AlreadyAuthenticated,
                "this connection is already signed in",
            )),
            // The shell answers these; a core fed one directly just acknowledges.
            ClientMessage::Ping | ClientMessage::RefreshToken => {
                self.ack(session, id);
                Ok(())
            }
            ClientMessage::Logout => {
                self.end_session(session, SessionEndCode::LoggedOut, "signed out", now);
                Ok(())
            }
            ClientMessage::SubscribePresence(m) => {
                self.subscribe_presence(session, id, m.users);
                Ok(())
            }
            ClientMessage::Message(m) => self.direct_message(session, id, m, now),
            ClientMessage::Invite(m) => self.invite(session, id, m, now),
            ClientMessage::InviteMembers(m) => self.invite_members(session, id, m, now),
            ClientMessage::Ringing(m) => self.ringing_ack(session, id, &m.call_id),
            ClientMessage::Accept(m) => self.accept(session, id, m, now),
            ClientMessage::Reject(m) => self.reject(session, id, &m.call_id, m.busy, now),
            ClientMessage::Cancel(m) => self.cancel(session, id, &m.call_id, m.user, now),
            ClientMessage::Hangup(m) => self.hangup(session, id, &m.call_id, now),
            ClientMessage::Sdp(m) => self.relay_sdp(session, id, m),
            ClientMessage::IceCandidate(m) => self.relay_ice(session, id, m),
            ClientMessage::MediaState(m) => self.relay_media_state(session, id, m),
            ClientMessage::SwitchMedia(m) => self.switch_media(session, id, m),
            ClientMessage::CallMessage(m) => self.call_message(session, id, m, now),
            ClientMessage::FileOffer(m) => self.relay_file_offer(session, id, m),
            ClientMessage::FileReply(m) => self.relay_file_reply(session, id, m),
            ClientMessage::AgentRegister(m) => self.agent_register(session, id, m.profile, now),
            ClientMessage::SetAgentState(m) => {
                self.set_agent_state(session, id, m.state, m.after_call, now)
            }
            ClientMessage::Enqueue(m) => self.enqueue(session, id, m, now),
            ClientMessage::Transfer(m) => self.transfer(session, id, m, now),
            ClientMessage::EndWrapUp(m) => self.end_wrap_up(session, id, m, now),
            ClientMessage::Hold(m) => self.hold(session, id, m, now),
            ClientMessage::WatchFloor(m) => self.watch_floor(session, id, m, now),
            ClientMessage::Monitor(m) => self.set_monitor(session, id, m, now),
            ClientMessage::TakeOver(m) => self.take_over(session, id, m, now),
            ClientMessage::Conference(m) => self.conference(session, id, &m.call_id, now),
        }
    }
}
