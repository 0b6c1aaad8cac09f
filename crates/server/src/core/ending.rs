//! How members leave and calls end: each departure is told to the others and recorded, and
//! a call is removed in one place only, so it ends exactly once.

use switchboard_protocol::{
    CallEnded, CallId, CallKind, EndCode, EndReason, MemberState, ServerMessage, SessionId, Side,
    UserId,
};

use super::calls::{CallSummary, Departure, LegRecord};
use super::{Core, Millis, Record, UserKey};

impl Core {
    // ---- leaving and ending ---------------------------------------------------------------------

    /// One device of a member goes away (kick, lost network, sign-out): a ringing member with
    /// other ringing devices keeps ringing there; otherwise the member leaves.
    pub(super) fn depart_session(
        &mut self,
        call_id: &CallId,
        session: &SessionId,
        departure: Departure,
        now: Millis,
    ) {
        let Some(me) = self.user_of(session) else {
            return;
        };
        if let Some(s) = self.sessions.get_mut(session) {
            s.calls.remove(call_id);
        }
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let Some(idx) = call.active_member(&me.user) else {
            return;
        };
        let member = &mut call.members[idx];
        if member.pending() && member.ringing.len() > 1 && member.ringing.contains(session) {
            member.ringing.retain(|s| s != session);
            return;
        }
        if !member.has_device(session) {
            return;
        }
        self.depart_member(call_id, &me.user, Some(session), departure, now);
    }

    /// A member leaves: their devices get `call_ended`, the others `member_update` (left), a
    /// leg record is written, and the call ends if it cannot go on.
    pub(super) fn depart_member(
        &mut self,
        call_id: &CallId,
        user: &UserId,
        acting: Option<&SessionId>,
        departure: Departure,
        now: Millis,
    ) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let Some(idx) = call.active_member(user) else {
            return;
        };
        let realm = call.realm.clone();
        let started_at = call.created_at;
        if call.members[idx].state == MemberState::Joined {
            // A hold is between the two joined members: it ends with either's departure.
            self.end_hold(call_id, now);
        }
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let member = &mut call.members[idx];
        let was_joined = member.state == MemberState::Joined;
        let devices = member.devices();
        member.state = MemberState::Left;
        member.ringing.clear();
        let (invited_at, joined_at, role) = (member.invited_at, member.joined_at, member.role);
        let own = EndReason::new(departure.code, departure.own);
        if &call.inviter == user {
            call.inviter_reason = Some(own);
        }
        let key = UserKey::new(realm, user.clone());
        for d in &devices {
            let reason = match acting {
                Some(a) if a != d => departure.siblings.unwrap_or(own),
                _ => own,
            };
            if let Some(s) = self.sessions.get_mut(d) {
                s.calls.remove(call_id);
            }
            self.send(
                d,
                ServerMessage::CallEnded(CallEnded {
                    call_id: call_id.clone(),
                    reason,
                    started_at,
                    answered_at: joined_at,
                    ended_at: now,
                }),
            );
        }
        self.unindex(&key, call_id);
        self.record(Record::Leg(LegRecord {
            call_id: call_id.clone(),
            user: key.clone(),
            role,
            invited_at,
            joined_at,
            left_at: now,
            reason: own,
        }));
        let peer = EndReason::new(departure.code, peer_side(departure.own));
        let actor = departure.actor.clone();
        self.member_update_with(call_id, user, MemberState::Left, None, |to| {
            Some(if actor.as_ref() == Some(to) && to != user {
                EndReason::new(departure.code, Side::Local)
            } else {
                peer
            })
        });
        self.agent_leg_ended(&key, call_id, was_joined, departure.code, now);
        self.monitor_member_left(call_id, user, now);
        self.settle_call(call_id, user, was_joined, peer, departure.code, now);
    }

    pub(super) fn unindex(&mut self, key: &UserKey, call_id: &CallId) {
        if self.joined.get(key) == Some(call_id) {
            self.joined.remove(key);
        }
        if let Some(r) = self.ringing.get_mut(key) {
            r.remove(call_id);
            if r.is_empty() {
                self.ringing.remove(key);
            }
        }
        self.presence_dirty.insert(key.clone());
    }

    /// After a member left: does the call go on?
    pub(super) fn settle_call(
        &mut self,
        call_id: &CallId,
        departed: &UserId,
        was_joined: bool,
        last: EndReason,
        code: EndCode,
        now: Millis,
    ) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        if call.queue.is_some() {
            self.settle_queue_call(call_id, departed, was_joined, last, code, now);
            return;
        }
        let joined = call.joined_count();
        let pending = call.pending_count();
        if joined >= 2 || (joined == 1 && pending > 0) {
            return;
        }
        let reason = if call.kind == CallKind::Group && call.answered_at.is_some() && joined == 1 {
            EndReason::new(EndCode::CallCompleted, Side::Remote)
        } else {
            last
        };
        self.finish_call(call_id, reason, now);
    }

    /// Ends the call for everyone still in it with `reason`, and writes its record. A call
    /// is removed here and nowhere else, so it ends exactly once.
    pub(super) fn finish_call(&mut self, call_id: &CallId, reason: EndReason, now: Millis) {
        self.monitor_ends(call_id, now);
        let Some(mut call) = self.calls.remove(call_id) else {
            return;
        };
        self.queue.remove(call_id);
        for member in call.members.iter_mut().filter(|m| m.active()) {
            let was_joined = member.state == MemberState::Joined;
            let key = UserKey::new(call.realm.clone(), member.user.clone());
            for d in member.devices() {
                if let Some(s) = self.sessions.get_mut(&d) {
                    s.calls.remove(call_id);
                }
                self.send(
                    &d,
                    ServerMessage::CallEnded(CallEnded {
                        call_id: call_id.clone(),
                        reason,
                        started_at: call.created_at,
                        answered_at: member.joined_at,
                        ended_at: now,
                    }),
                );
            }
            member.state = MemberState::Left;
            if member.user == call.inviter {
                call.inviter_reason = Some(reason);
            }
            self.unindex(&key, call_id);
            self.record(Record::Leg(LegRecord {
                call_id: call_id.clone(),
                user: key.clone(),
                role: member.role,
                invited_at: member.invited_at,
                joined_at: member.joined_at,
                left_at: now,
                reason,
            }));
            self.agent_leg_ended(&key, call_id, was_joined, reason.code, now);
        }
        tracing::debug!(call = %call_id, code = ?reason.code, "call ended");
        let queue = call.queue.as_ref().map(|q| q.summary(now));
        self.record(Record::Call(CallSummary {
            call_id: call.id.clone(),
            realm: call.realm.clone(),
            kind: call.kind,
            media: call.media,
            from: call.inviter.clone(),
            created_at: call.created_at,
            answered_at: call.answered_at,
            ended_at: now,
            reason: call.inviter_reason.unwrap_or(reason),
            queue,
            hold_count: call.holds.count,
            hold_ms: call.holds.total_ms(now),
        }));
        self.floor_call_ended(&call, call.inviter_reason.unwrap_or(reason).code, now);
        self.consult_link_ended(&call, now);
        self.monitor_link_ending(&call, now);
    }
}

/// The side the other members see for a departure.
fn peer_side(own: Side) -> Side {
    match own {
        Side::Server => Side::Server,
        _ => Side::Remote,
    }
}
