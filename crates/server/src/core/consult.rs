//! Consult and warm transfer (Amazon Connect's "quick connect", Genesys' consult transfer):
//! the agent of a customer call calls one colleague about it while the customer is on hold,
//! then hands the customer over (warm transfer) or comes back (the consult ends any other
//! way: cancelled, declined, not answered, hung up). The consult is a call of its own between
//! the two agents, linked to the customer's: the customer's client is told nothing of it (no
//! member, no frame) — all it sees is the hold, then the new agent. A consult may also become
//! a conference: the customer comes off hold and hears both agents, bridged by the first
//! agent's engine (docs/engine.md, "Supervision and conference"), still with one connection.

use switchboard_protocol::{
    CallId, CallKind, CallMedia, Conference, ConsultContext, EndCode, ErrorCode, Invite,
    MemberState, RequestId, ServerMessage, SessionId, Side, UserId,
};

use super::calls::{Call, Departure};
use super::queue::{Stage, TransferKind};
use super::{Core, Handled, Millis, UserKey, refuse};

/// Consulted colleagues kept in a customer call's record.
const MAX_CONSULTED: usize = 16;

impl Core {
    /// `invite` with `consult`: a consult call about a customer call.
    pub(super) fn consult(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        m: Invite,
        now: Millis,
    ) -> Handled {
        let Some(of) = m.consult.clone() else {
            return Ok(());
        };
        let (me, _) = self.joined_member_of(&of, session)?;
        let call = self.call(&of)?;
        let agent_here = call
            .queue
            .as_ref()
            .is_some_and(|q| q.connected_to(&me.user));
        if !agent_here {
            return Err(refuse(
                ErrorCode::WrongState,
                "only the agent talking to a customer consults about the call",
            ));
        }
        if call.consult.is_some() {
            return Err(refuse(
                ErrorCode::WrongState,
                "a consult about this call is in progress: end it first",
            ));
        }
        let [to] = &m.to[..] else {
            return Err(refuse(
                ErrorCode::InvalidMessage,
                "a consult calls one colleague",
            ));
        };
        if to.user == me.user || !self.has_account(&me.with_user(to.user.clone())) {
            return Err(refuse(
                ErrorCode::UnknownUser,
                format!("no colleague {}", to.user),
            ));
        }
        let held = call.holds.on.is_some();
        let to = to.clone();
        let consult = self.new_call_id()?;
        // The customer waits on hold meanwhile (the agent's own hold, if on, stays as it is;
        // only the agent holds a customer call).
        if !held {
            if let Some(c) = self.calls.get_mut(&of) {
                c.holds.on = Some((me.user.clone(), now));
                c.holds.count += 1;
                c.holds.by_consult = true;
            }
            self.tell_hold(&of, true);
        }
        self.open_call(
            session,
            &me,
            consult.clone(),
            CallKind::Direct,
            CallMedia::Audio,
            m.extra,
            None,
            now,
        );
        // The agent stays indexed in the customer's call: busy for routing and new calls.
        self.joined.insert(me.clone(), of.clone());
        if let Some(k) = self.calls.get_mut(&consult) {
            k.consult_of = Some(of.clone());
        }
        if let Some(c) = self.calls.get_mut(&of) {
            c.consult = Some(consult.clone());
            self.queue.cti_dirty = true;
            // For the record; a bound, since nothing else limits how often an agent consults.
            if let Some(q) = c
                .queue
                .as_mut()
                .filter(|q| q.consulted.len() < MAX_CONSULTED)
            {
                q.consulted.push(to.user.clone());
            }
        }
        self.reply(
            session,
            id,
            ServerMessage::CallCreated(switchboard_protocol::CallCreated {
                call_id: consult.clone(),
            }),
        );
        self.add_invitee(&consult, to.user, to.offer, &me.user, now);
        Ok(())
    }

    /// What the consulted colleague sees of the customer call.
    pub(super) fn consult_context(&self, of: &CallId, now: Millis) -> Option<ConsultContext> {
        let c = self.calls.get(of)?;
        Some(ConsultContext {
            call_id: of.clone(),
            customer: c.inviter.clone(),
            queue: c.queue.as_ref()?.context(now),
        })
    }

    /// `transfer {to: consulted}`: the colleague who answered the consult takes the customer.
    pub(super) fn warm_transfer(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        of: &CallId,
        now: Millis,
    ) -> Handled {
        let (me, consult, colleague) = self.in_consult(of, session, "a warm transfer")?;
        if let Some(c) = self.calls.get_mut(of) {
            // Handed on: the consult's end must not take the customer off hold.
            c.consult = None;
            c.conference = false;
            self.queue.cti_dirty = true;
        }
        self.ack(session, id);
        // The consult ends for both (`transferred`), then the agent hands the customer over.
        let gone = Departure::fixed(EndCode::Transferred, Side::Local);
        self.depart_member(&consult, &me.user, Some(session), gone, now);
        self.hand_over_warm(of, &me.user, Some(session), &me.with_user(colleague), now);
        Ok(())
    }

    /// `hangup`. (Here, since a conference changes it: its agent's hang-up hands over.)
    pub(super) fn hangup(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        call_id: &CallId,
        now: Millis,
    ) -> Handled {
        self.member_of(call_id, session)?;
        // The agent who leaves a conference hands the customer to the colleague.
        if self.calls.get(call_id).is_some_and(|c| c.conference)
            && self.warm_transfer(session, id, call_id, now).is_ok()
        {
            return Ok(());
        }
        self.ack(session, id);
        self.hang_up_any(call_id, session, now);
        Ok(())
    }

    /// The caller (the agent of customer call `of`), its consult, and the colleague in it,
    /// both still joined; refused otherwise (`what` is the action that needs them).
    fn in_consult(
        &self,
        of: &CallId,
        session: &SessionId,
        what: &str,
    ) -> Result<(UserKey, CallId, UserId), super::Refusal> {
        let (me, _) = self.joined_member_of(of, session)?;
        let (consult, colleague) = self.consulted(of, &me.user).ok_or_else(|| {
            refuse(
                ErrorCode::WrongState,
                format!("{what} needs a consult the colleague answered"),
            )
        })?;
        Ok((me, consult, colleague))
    }

    /// The consult of customer call `of` whose agent `me` is, and the colleague in it: both
    /// still joined.
    fn consulted(&self, of: &CallId, me: &UserId) -> Option<(CallId, UserId)> {
        let call = self.calls.get(of)?;
        if !call.queue.as_ref().is_some_and(|q| q.connected_to(me)) {
            return None;
        }
        let consult = call.consult.clone()?;
        let k = self.calls.get(&consult)?;
        let joined = |u: &UserId| {
            k.active_member(u)
                .is_some_and(|i| k.members[i].state == MemberState::Joined)
        };
        let colleague = k
            .members
            .iter()
            .find(|m| &m.user != me && m.state == MemberState::Joined)?;
        joined(me).then(|| (consult, colleague.user.clone()))
    }

    /// `conference`: the agent brings the colleague of the consult into the customer's call.
    /// Nothing changes for the customer's client but the end of the hold: the agent's engine
    /// bridges the two calls.
    pub(super) fn conference(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        of: &CallId,
        now: Millis,
    ) -> Handled {
        let (_, consult, colleague) = self.in_consult(of, session, "a conference")?;
        let Some(c) = self.calls.get_mut(of).filter(|c| !c.conference) else {
            return Err(refuse(ErrorCode::WrongState, "already a conference"));
        };
        c.conference = true;
        if let Some(q) = c
            .queue
            .as_mut()
            .filter(|q| q.conferenced.len() < MAX_CONSULTED)
        {
            q.conferenced.push(colleague.clone());
        }
        self.queue.cti_dirty = true;
        self.ack(session, id);
        self.end_hold(of, now);
        let message = ServerMessage::Conference(Conference {
            call_id: consult.clone(),
            of: of.clone(),
            since: now,
        });
        self.broadcast(&consult, None, message);
        Ok(())
    }

    /// A warm hand-over (after a consult, or a supervisor's take-over): `agent` leaves customer
    /// call `of` (`transferred`), which waits for `to` alone and is offered to them with
    /// `queue.warm` (their engine answers at once). The record says `warm`.
    pub(super) fn hand_over_warm(
        &mut self,
        of: &CallId,
        agent: &UserId,
        acting: Option<&SessionId>,
        to: &UserKey,
        now: Millis,
    ) {
        if let Some(q) = self.calls.get_mut(of).and_then(|c| c.queue.as_mut()) {
            q.transferred_by = Some(agent.clone());
            q.transfer = Some(TransferKind::Warm);
        }
        let gone = Departure::fixed(EndCode::Transferred, Side::Local);
        self.depart_member(of, agent, acting, gone, now);
        let waiting = self
            .calls
            .get_mut(of)
            .and_then(|c| c.queue.as_mut())
            .filter(|q| q.stage == Stage::Waiting);
        if let Some(q) = waiting {
            q.warm = true;
            self.offer(of, to, now);
        }
    }

    /// A call was removed: a consult's end brings its agent back to the customer (off hold,
    /// unless it was handed on); a customer call's end leaves its consult as a plain call
    /// between the two agents.
    pub(super) fn consult_link_ended(&mut self, ended: &Call, now: Millis) {
        if let Some(of) = &ended.consult_of {
            let back = self
                .calls
                .get_mut(of)
                .filter(|c| c.consult.as_ref() == Some(&ended.id));
            if let Some(c) = back {
                c.consult = None;
                c.conference = false;
                self.queue.cti_dirty = true;
                if c.holds.by_consult {
                    self.end_hold(of, now);
                }
            }
        }
        if let Some(k) = &ended.consult {
            let realm = ended.realm.clone();
            if let Some(k) = self.calls.get_mut(k) {
                k.consult_of = None;
                let joined: Vec<_> = k
                    .members
                    .iter()
                    .filter(|m| m.state == MemberState::Joined)
                    .map(|m| m.user.clone())
                    .collect();
                let id = k.id.clone();
                for u in joined {
                    self.joined
                        .insert(super::UserKey::new(realm.clone(), u), id.clone());
                }
            }
        }
    }
}
