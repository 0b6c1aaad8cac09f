//! Presence (online, busy, offline) to subscribers, and direct messages between users: delivered
//! once, in order per sender, or kept for an offline recipient until their next sign-in.

use switchboard_protocol::{
    ErrorCode, MessageSent, MissedCall, PresenceStatus, PresenceUpdate, ReceivedMessage, RequestId,
    SendMessage, ServerMessage, SessionId, UserId,
};

use super::{Core, Handled, Millis, Record, UserKey, Waiting, refuse};

impl Core {
    // ---- presence -----------------------------------------------------------------------------

    pub(super) fn presence_of(&self, user: &UserKey) -> PresenceStatus {
        if !self.is_online(user) {
            PresenceStatus::Offline
        } else if self.joined.contains_key(user) {
            PresenceStatus::Busy
        } else {
            PresenceStatus::Online
        }
    }

    pub(super) fn subscribe_presence(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        users: Vec<UserId>,
    ) {
        let Some(me) = self.user_of(session) else {
            return;
        };
        // A subscription replaces the last one, so a session follows at most one frame's worth
        // of users (`MAX_PRESENCE_USERS`); sets nobody watches any more are removed.
        let mut keys: Vec<UserKey> = users.into_iter().map(|u| me.with_user(u)).collect();
        keys.sort();
        keys.dedup();
        let old = match self.sessions.get_mut(session) {
            Some(s) => std::mem::replace(&mut s.watching, keys.clone()),
            None => return,
        };
        self.unwatch(session, &old);
        for k in &keys {
            self.watchers
                .entry(k.clone())
                .or_default()
                .insert(session.clone());
        }
        self.ack(session, id);
        for k in keys {
            let status = self.presence_of(&k);
            self.send(
                session,
                ServerMessage::Presence(PresenceUpdate {
                    user: k.user.clone(),
                    status,
                }),
            );
        }
    }

    /// Stops `session` following `users`, forgetting users nobody follows.
    pub(super) fn unwatch(&mut self, session: &SessionId, users: &[UserKey]) {
        for w in users {
            if let Some(set) = self.watchers.get_mut(w) {
                set.remove(session);
                if set.is_empty() {
                    self.watchers.remove(w);
                }
            }
        }
    }

    pub(super) fn publish_presence(&mut self) {
        let dirty = std::mem::take(&mut self.presence_dirty);
        for user in dirty {
            let status = self.presence_of(&user);
            let before = self
                .published_presence
                .get(&user)
                .copied()
                .unwrap_or(PresenceStatus::Offline);
            if status == PresenceStatus::Offline {
                self.published_presence.remove(&user);
            } else {
                self.published_presence.insert(user.clone(), status);
            }
            if status == before {
                continue;
            }
            let watchers: Vec<SessionId> = self
                .watchers
                .get(&user)
                .map(|w| w.iter().cloned().collect())
                .unwrap_or_default();
            for w in watchers {
                self.send(
                    &w,
                    ServerMessage::Presence(PresenceUpdate {
                        user: user.user.clone(),
                        status,
                    }),
                );
            }
        }
    }

    // ---- direct messages ------------------------------------------------------------------

    pub(super) fn direct_message(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        m: SendMessage,
        now: Millis,
    ) -> Handled {
        let Some(from) = self.user_of(session) else {
            return Ok(());
        };
        let to = from.with_user(m.to.clone());
        if !self.accounts.contains_key(&to) {
            return Err(refuse(ErrorCode::UnknownUser, format!("no user {}", m.to)));
        }
        let seq = {
            let n = self
                .message_seq
                .entry((from.clone(), to.clone()))
                .or_insert(0);
            *n += 1;
            *n
        };
        let msg_id = self.fresh_id("m");
        let msg_id = switchboard_protocol::MessageId::new(msg_id)
            .map_err(|e| refuse(ErrorCode::Internal, e.to_string()))?;
        let message = ReceivedMessage {
            msg_id: msg_id.clone(),
            from: from.user.clone(),
            seq,
            text: m.text,
            sent_at: now,
        };
        let delivered = self.is_online(&to);
        self.record(Record::Message {
            from: from.clone(),
            to: to.clone(),
            message: message.clone(),
            delivered,
        });
        if delivered {
            self.send_user(&to, ServerMessage::Message(message));
        } else {
            self.keep_waiting(to, Waiting::Message(message));
        }
        self.reply(
            session,
            id,
            ServerMessage::MessageSent(MessageSent {
                msg_id,
                seq,
                sent_at: now,
                delivered,
            }),
        );
        Ok(())
    }

    /// Keeps a call that reached a signed-out user, once per call: re-inviting them into the
    /// same call adds nothing.
    pub(super) fn missed_call(&mut self, user: UserKey, call: MissedCall) {
        if self
            .missed_calls
            .get(&user)
            .is_some_and(|l| l.iter().any(|c| c.call_id == call.call_id))
        {
            return;
        }
        self.record(Record::MissedCall {
            user: user.clone(),
            call: call.clone(),
        });
        self.keep_waiting(user, Waiting::MissedCall(call));
    }
}
