//! Call control: invites, ringing, accept, reject, cancel, hang-up, group calls, the relay of
//! SDP, ICE and in-call notices between members, and how a call ends — exactly once, with each
//! party's reason from its own point of view.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use switchboard_protocol::{
    Accept, CallCreated, CallEnded, CallId, CallKind, CallMedia, EndCode, EndReason, ErrorCode,
    Extra, IncomingCall, Invite, InviteMembers, Label, Member, MemberState, MissedCall, RequestId,
    Role, Sdp, SdpFromPeer, SdpKind, ServerMessage, SessionId, Side, UserId, limits,
};

use super::queue::QueueLeg;
use super::{Core, Handled, Millis, Timer, UserKey, refuse};

/// A call in progress.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Call {
    pub id: CallId,
    pub realm: Label,
    pub kind: CallKind,
    pub media: CallMedia,
    pub created_at: Millis,
    pub answered_at: Option<Millis>,
    /// Who started it (for a queue call: the customer).
    pub inviter: UserId,
    /// Everyone ever in it; members that left stay, marked `Left`, for the record.
    pub members: Vec<CallMember>,
    pub extra: Option<Extra>,
    pub queue: Option<QueueLeg>,
    /// In-call message sequence per sender.
    pub message_seq: HashMap<UserId, u64>,
    /// How the call ended for its inviter, once it did.
    pub inviter_reason: Option<EndReason>,
    /// Who holds it now, and its holds so far.
    #[serde(default)]
    pub holds: super::hold::Holds,
    /// A customer call: the consult its agent is holding about it now.
    #[serde(default)]
    pub consult: Option<CallId>,
    /// A consult: the customer call it is about.
    #[serde(default)]
    pub consult_of: Option<CallId>,
    /// A customer call: its consult is a conference (joined with the customer).
    #[serde(default)]
    pub conference: bool,
    /// A monitor call: the supervision it carries.
    #[serde(default)]
    pub monitor: Option<Box<super::monitor::Monitoring>>,
    /// A customer call: the monitor call supervising it now.
    #[serde(default)]
    pub monitored_by: Option<CallId>,
}

/// One user's part in a call.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CallMember {
    pub user: UserId,
    pub role: Role,
    pub state: MemberState,
    /// The device that joined.
    pub session: Option<SessionId>,
    /// The devices ringing while the member is invited.
    pub ringing: Vec<SessionId>,
    pub invited_by: Option<UserId>,
    pub invited_at: Millis,
    pub joined_at: Option<Millis>,
    pub ring_until: Millis,
}

impl CallMember {
    pub(super) fn active(&self) -> bool {
        self.state != MemberState::Left
    }

    pub(super) fn pending(&self) -> bool {
        matches!(self.state, MemberState::Invited | MemberState::Ringing)
    }

    /// The devices that hear about this call.
    pub(super) fn devices(&self) -> Vec<SessionId> {
        match &self.session {
            Some(s) => vec![s.clone()],
            None => self.ringing.clone(),
        }
    }

    pub(super) fn has_device(&self, s: &SessionId) -> bool {
        self.session.as_ref() == Some(s) || self.ringing.contains(s)
    }
}

impl Call {
    /// The member entry of a user who has not left.
    pub(crate) fn active_member(&self, user: &UserId) -> Option<usize> {
        self.members
            .iter()
            .rposition(|m| &m.user == user && m.active())
    }

    pub(super) fn joined_count(&self) -> usize {
        self.members
            .iter()
            .filter(|m| m.state == MemberState::Joined)
            .count()
    }

    pub(super) fn pending_count(&self) -> usize {
        self.members.iter().filter(|m| m.pending()).count()
    }

    pub(super) fn member_list(&self, names: impl Fn(&UserId) -> Option<Label>) -> Vec<Member> {
        self.members
            .iter()
            .filter(|m| m.active())
            .map(|m| Member {
                user: m.user.clone(),
                state: m.state,
                display_name: names(&m.user),
            })
            .collect()
    }
}

pub use super::records::{CallSummary, LegRecord, QueueSummary};

/// How a member leaves a call: the code, the side for the device that acted, what the
/// member's other devices are told, and who caused it (that member sees `local`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Departure {
    pub code: EndCode,
    pub own: Side,
    pub siblings: Option<EndReason>,
    pub actor: Option<UserId>,
}

impl Departure {
    pub(crate) fn fixed(code: EndCode, own: Side) -> Self {
        Self {
            code,
            own,
            siblings: None,
            actor: None,
        }
    }

    pub(super) fn by_user(code: EndCode, user: &UserId) -> Self {
        Self {
            code,
            own: Side::Local,
            siblings: Some(EndReason::new(EndCode::EndedElsewhere, Side::OtherDevice)),
            actor: Some(user.clone()),
        }
    }
}

impl Core {
    // ---- starting calls -----------------------------------------------------------------------

    pub(super) fn invite(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        m: Invite,
        now: Millis,
    ) -> Handled {
        if m.consult.is_some() {
            return self.consult(session, id, m, now);
        }
        if m.monitor.is_some() {
            return self.monitor(session, id, m, now);
        }
        let me = self.caller_ready(session)?;
        for inv in &m.to {
            if inv.user == me.user {
                return Err(refuse(
                    ErrorCode::InvalidMessage,
                    "you cannot call yourself",
                ));
            }
            if !self.has_account(&me.with_user(inv.user.clone())) {
                return Err(refuse(
                    ErrorCode::UnknownUser,
                    format!("no user {}", inv.user),
                ));
            }
        }
        let call_id = self.new_call_id()?;
        let kind = if m.to.len() > 1 {
            CallKind::Group
        } else {
            CallKind::Direct
        };
        self.open_call(
            session,
            &me,
            call_id.clone(),
            kind,
            m.media,
            m.extra,
            None,
            now,
        );
        self.reply(
            session,
            id,
            ServerMessage::CallCreated(CallCreated {
                call_id: call_id.clone(),
            }),
        );
        for inv in m.to {
            if !self.calls.contains_key(&call_id) {
                break;
            }
            self.add_invitee(&call_id, inv.user, inv.offer, &me.user, now);
        }
        Ok(())
    }

    /// The caller must be signed in and not already in a call.
    pub(super) fn caller_ready(&self, session: &SessionId) -> Result<UserKey, super::Refusal> {
        let me = self
            .user_of(session)
            .ok_or_else(|| refuse(ErrorCode::Internal, "no session"))?;
        if self.joined.contains_key(&me) {
            return Err(refuse(
                ErrorCode::AlreadyInCall,
                "you are already in a call; hang up first",
            ));
        }
        Ok(me)
    }

    pub(super) fn new_call_id(&mut self) -> Result<CallId, super::Refusal> {
        let id = self.fresh_id("c");
        CallId::new(id).map_err(|e| refuse(ErrorCode::Internal, e.to_string()))
    }

    /// Creates a call with its first member joined on `session`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn open_call(
        &mut self,
        session: &SessionId,
        me: &UserKey,
        call_id: CallId,
        kind: CallKind,
        media: CallMedia,
        extra: Option<Extra>,
        queue: Option<QueueLeg>,
        now: Millis,
    ) {
        let role = self
            .sessions
            .get(session)
            .map(|s| s.role)
            .unwrap_or(Role::User);
        let call = Call {
            id: call_id.clone(),
            realm: me.realm.clone(),
            kind,
            media,
            created_at: now,
            answered_at: None,
            inviter: me.user.clone(),
            members: vec![CallMember {
                user: me.user.clone(),
                role,
                state: MemberState::Joined,
                session: Some(session.clone()),
                ringing: Vec::new(),
                invited_by: None,
                invited_at: now,
                joined_at: Some(now),
                ring_until: now,
            }],
            extra,
            queue,
            message_seq: HashMap::new(),
            inviter_reason: None,
            holds: Default::default(),
            consult: None,
            consult_of: None,
            conference: false,
            monitor: None,
            monitored_by: None,
        };
        tracing::debug!(call = %call_id, from = %me, "call created");
        self.calls.insert(call_id.clone(), call);
        self.joined.insert(me.clone(), call_id.clone());
        if let Some(s) = self.sessions.get_mut(session) {
            s.calls.insert(call_id);
        }
        self.presence_dirty.insert(me.clone());
    }

    /// Invites one user into a call: rings every device, or ends their part at once when they
    /// are busy or offline.
    pub(super) fn add_invitee(
        &mut self,
        call_id: &CallId,
        user: UserId,
        offer: Option<Sdp>,
        by: &UserId,
        now: Millis,
    ) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let key = UserKey::new(call.realm.clone(), user.clone());
        let is_queue = call.queue.is_some();
        let ring_ms = if is_queue {
            self.config.rona_ms
        } else {
            self.config.ring_timeout_ms
        };
        let ring_until = now + ring_ms;
        let devices = self.devices.get(&key).cloned().unwrap_or_default();
        let busy =
            self.joined.contains_key(&key) || self.ringing.get(&key).is_some_and(|r| !r.is_empty());
        let role = self
            .accounts
            .get(&key)
            .map(|a| a.role)
            .unwrap_or(Role::User);
        let media = call.media;
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        call.members.push(CallMember {
            user: user.clone(),
            role,
            state: MemberState::Invited,
            session: None,
            ringing: if busy { Vec::new() } else { devices.clone() },
            invited_by: Some(by.clone()),
            invited_at: now,
            joined_at: None,
            ring_until,
        });
        if devices.is_empty() {
            let reason = EndReason::new(EndCode::CalleeOffline, Side::Local);
            self.missed_call(
                key,
                MissedCall {
                    call_id: call_id.clone(),
                    from: by.clone(),
                    media,
                    at: now,
                    reason,
                },
            );
            self.depart_member(
                call_id,
                &user,
                None,
                Departure::fixed(EndCode::CalleeOffline, Side::Local),
                now,
            );
            return;
        }
        if busy {
            self.depart_member(
                call_id,
                &user,
                None,
                Departure::fixed(EndCode::Busy, Side::Local),
                now,
            );
            return;
        }
        self.member_update(call_id, &user, MemberState::Invited, None, None);
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let from_session = call
            .active_member(by)
            .and_then(|i| call.members[i].session.clone());
        let incoming = IncomingCall {
            call_id: call_id.clone(),
            kind: call.kind,
            from: by.clone(),
            from_session: from_session.unwrap_or_else(|| devices[0].clone()),
            from_name: self.display_name(&key.with_user(by.clone())),
            media: call.media,
            members: call.member_list(|u| self.display_name(&key.with_user(u.clone()))),
            offer,
            extra: call.extra.clone(),
            queue: call.queue.as_ref().map(|q| q.context(now)),
            consult: call
                .consult_of
                .as_ref()
                .and_then(|c| self.consult_context(c, now))
                .map(Box::new),
            monitor: None,
            ring_until,
        };
        for d in &devices {
            if let Some(s) = self.sessions.get_mut(d) {
                s.calls.insert(call_id.clone());
            }
            self.send(d, ServerMessage::IncomingCall(incoming.clone()));
        }
        self.ringing.entry(key).or_default().insert(call_id.clone());
        self.timer(
            ring_until,
            Timer::Ring {
                call: call_id.clone(),
                user,
            },
        );
    }

    pub(super) fn invite_members(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        m: InviteMembers,
        now: Millis,
    ) -> Handled {
        let (me, idx) = self.member_of(&m.call_id, session)?;
        let call = self.call(&m.call_id)?;
        if call.members[idx].state != MemberState::Joined {
            return Err(refuse(
                ErrorCode::WrongState,
                "join the call before inviting",
            ));
        }
        if call.queue.is_some() {
            return Err(refuse(
                ErrorCode::WrongState,
                "customer calls take no more members; transfer instead",
            ));
        }
        let active = call.members.iter().filter(|m| m.active()).count();
        if active + m.to.len() > limits::MAX_CALL_MEMBERS {
            return Err(refuse(
                ErrorCode::CallFull,
                format!("a call holds at most {} members", limits::MAX_CALL_MEMBERS),
            ));
        }
        // Members who left still count: each invitation is a leg in the call's record (and
        // maybe a missed call), so re-inviting must not grow them without end.
        if call.members.len() + m.to.len() > limits::MAX_CALL_INVITATIONS {
            return Err(refuse(
                ErrorCode::CallFull,
                format!(
                    "a call takes at most {} invitations",
                    limits::MAX_CALL_INVITATIONS
                ),
            ));
        }
        for inv in &m.to {
            if call.active_member(&inv.user).is_some() {
                return Err(refuse(
                    ErrorCode::WrongState,
                    format!("{} is already in the call", inv.user),
                ));
            }
            if !self.has_account(&me.with_user(inv.user.clone())) {
                return Err(refuse(
                    ErrorCode::UnknownUser,
                    format!("no user {}", inv.user),
                ));
            }
        }
        if let Some(call) = self.calls.get_mut(&m.call_id) {
            call.kind = CallKind::Group;
        }
        self.ack(session, id);
        for inv in m.to {
            if !self.calls.contains_key(&m.call_id) {
                break;
            }
            self.add_invitee(&m.call_id, inv.user, inv.offer, &me.user, now);
        }
        Ok(())
    }

    // ---- answering ------------------------------------------------------------------------

    pub(super) fn ringing_ack(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        call_id: &CallId,
    ) -> Handled {
        let (me, idx) = self.member_of(call_id, session)?;
        let call = self.call(call_id)?;
        match call.members[idx].state {
            MemberState::Invited => {}
            MemberState::Ringing => {
                self.ack(session, id);
                return Ok(());
            }
            _ => {
                return Err(refuse(
                    ErrorCode::WrongState,
                    "the call is not ringing here",
                ));
            }
        }
        if let Some(call) = self.calls.get_mut(call_id) {
            call.members[idx].state = MemberState::Ringing;
        }
        self.ack(session, id);
        self.member_update(
            call_id,
            &me.user,
            MemberState::Ringing,
            Some(session.clone()),
            None,
        );
        Ok(())
    }

    pub(super) fn accept(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        m: Accept,
        now: Millis,
    ) -> Handled {
        let (me, idx) = self.member_of(&m.call_id, session)?;
        let call = self.call(&m.call_id)?;
        if !call.members[idx].pending() {
            return Err(refuse(
                ErrorCode::WrongState,
                "the call is not ringing here",
            ));
        }
        // The monitored agent answers their supervisor from within the customer call.
        let monitored = self.monitored_agent_of(&m.call_id, &me.user);
        if !monitored && self.joined.get(&me).is_some_and(|c| c != &m.call_id) {
            return Err(refuse(
                ErrorCode::AlreadyInCall,
                "you are already in another call; hang up first",
            ));
        }
        if self
            .calls
            .get(&m.call_id)
            .is_some_and(|c| c.joined_count() >= 2)
        {
            // A third joins: a hold is between two, so it ends.
            self.end_hold(&m.call_id, now);
        }
        let Some(call) = self.calls.get_mut(&m.call_id) else {
            return Ok(());
        };
        let member = &mut call.members[idx];
        member.state = MemberState::Joined;
        member.session = Some(session.clone());
        member.joined_at = Some(now);
        let others: Vec<SessionId> = std::mem::take(&mut member.ringing)
            .into_iter()
            .filter(|s| s != session)
            .collect();
        let inviter = member.invited_by.clone();
        call.answered_at.get_or_insert(now);
        let started_at = call.created_at;
        let downgrade = m.media == Some(CallMedia::Audio) && call.media == CallMedia::Video;
        if downgrade {
            call.media = CallMedia::Audio;
        }
        let first_answer = call.queue.as_ref().is_some_and(|q| q.answered_at.is_none());
        let queue_agent = match call.queue.as_mut() {
            Some(q) => q.answered(&me.user, now),
            None => false,
        };
        if !monitored {
            self.joined.insert(me.clone(), m.call_id.clone());
        }
        if let Some(r) = self.ringing.get_mut(&me) {
            r.remove(&m.call_id);
        }
        for o in &others {
            if let Some(s) = self.sessions.get_mut(o) {
                s.calls.remove(&m.call_id);
            }
            self.send(
                o,
                ServerMessage::CallEnded(CallEnded {
                    call_id: m.call_id.clone(),
                    reason: EndReason::new(EndCode::AnsweredElsewhere, Side::OtherDevice),
                    started_at,
                    answered_at: None,
                    ended_at: now,
                }),
            );
        }
        self.ack(session, id);
        self.member_update(
            &m.call_id,
            &me.user,
            MemberState::Joined,
            Some(session.clone()),
            None,
        );
        if downgrade {
            self.media_switched(&m.call_id, &me.user, CallMedia::Audio);
        }
        if let (Some(answer), Some(inviter)) = (m.answer, inviter) {
            self.relay_to(
                &m.call_id,
                &inviter,
                None,
                ServerMessage::Sdp(SdpFromPeer {
                    call_id: m.call_id.clone(),
                    from: me.user.clone(),
                    from_session: session.clone(),
                    kind: SdpKind::Answer,
                    sdp: answer,
                }),
            );
        }
        if monitored {
            self.tell_monitor(&m.call_id);
        }
        if queue_agent {
            if first_answer {
                self.floor_answered(&m.call_id, now);
            }
            self.agent_answered(&me, &m.call_id, now);
        }
        self.presence_dirty.insert(me);
        Ok(())
    }

    pub(super) fn reject(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        call_id: &CallId,
        busy: bool,
        now: Millis,
    ) -> Handled {
        let (me, idx) = self.member_of(call_id, session)?;
        if !self.call(call_id)?.members[idx].pending() {
            return Err(refuse(
                ErrorCode::WrongState,
                "only a ringing call can be declined; hang up instead",
            ));
        }
        self.ack(session, id);
        let code = if busy {
            EndCode::Busy
        } else {
            EndCode::Rejected
        };
        self.depart_member(
            call_id,
            &me.user,
            Some(session),
            Departure::by_user(code, &me.user),
            now,
        );
        Ok(())
    }

    pub(super) fn cancel(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        call_id: &CallId,
        user: Option<UserId>,
        now: Millis,
    ) -> Handled {
        let (me, idx) = self.member_of(call_id, session)?;
        let call = self.call(call_id)?;
        if call.members[idx].state != MemberState::Joined {
            return Err(refuse(ErrorCode::WrongState, "only the inviter can cancel"));
        }
        match user {
            // The agents of a customer call were offered it by the queue, not invited by the
            // customer: only the queue takes an offer back (else a customer could ring an agent
            // again and again, each cancel sending the call back to the head of the queue).
            Some(_) if call.queue.is_some() => {
                return Err(refuse(
                    ErrorCode::Forbidden,
                    "the queue offers a customer call; hang up to leave the queue",
                ));
            }
            Some(u) => {
                let Some(j) = call.active_member(&u) else {
                    return Err(refuse(ErrorCode::WrongState, format!("{u} is not invited")));
                };
                let target = &call.members[j];
                if !target.pending() || target.invited_by.as_ref() != Some(&me.user) {
                    return Err(refuse(
                        ErrorCode::WrongState,
                        format!("{u} is not ringing on your invite"),
                    ));
                }
                self.ack(session, id);
                self.depart_member(
                    call_id,
                    &u,
                    None,
                    Departure {
                        code: EndCode::Cancelled,
                        own: Side::Remote,
                        siblings: None,
                        actor: Some(me.user.clone()),
                    },
                    now,
                );
            }
            None => {
                if call.answered_at.is_some() {
                    return Err(refuse(
                        ErrorCode::WrongState,
                        "the call was answered; hang up instead",
                    ));
                }
                if call.inviter != me.user {
                    return Err(refuse(ErrorCode::WrongState, "only the inviter can cancel"));
                }
                self.ack(session, id);
                self.hang_up_any(call_id, session, now);
            }
        }
        Ok(())
    }

    /// RongCloud's single `hungup()` verb: declines a ringing call, cancels an unanswered
    /// outgoing one (or abandons the queue), and otherwise hangs up.
    pub(super) fn hang_up_any(&mut self, call_id: &CallId, session: &SessionId, now: Millis) {
        let Some(me) = self.user_of(session) else {
            return;
        };
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let Some(idx) = call.active_member(&me.user) else {
            return;
        };
        let member = &call.members[idx];
        if !member.has_device(session) {
            return;
        }
        let code = if member.pending() {
            EndCode::Rejected
        } else if call.queue.as_ref().is_some_and(|q| !q.connected()) && call.inviter == me.user {
            EndCode::QueueAbandoned
        } else if call.answered_at.is_none() && call.inviter == me.user {
            EndCode::Cancelled
        } else {
            EndCode::Hangup
        };
        self.depart_member(
            call_id,
            &me.user,
            Some(session),
            Departure::by_user(code, &me.user),
            now,
        );
    }

    pub(super) fn ring_timeout(
        &mut self,
        call_id: &CallId,
        user: &UserId,
        at: Millis,
        now: Millis,
    ) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let Some(idx) = call.active_member(user) else {
            return;
        };
        let m = &call.members[idx];
        if !m.pending() || m.ring_until != at {
            return;
        }
        self.depart_member(
            call_id,
            user,
            None,
            Departure::fixed(EndCode::NoAnswer, Side::Local),
            now,
        );
    }
}
