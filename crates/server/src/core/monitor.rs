//! Supervision (Genesys' and Twilio Flex's monitor, coach and barge): a supervisor calls one
//! agent of theirs who is talking to a customer. The call between the two (the monitor call)
//! is the only new call: the customer's call gains no member and its client gets no frame.
//! The agent's engine answers at once and forwards the customer's media to the supervisor, so
//! the customer's browser keeps its one peer connection; what the supervisor's voice reaches
//! (nobody, the agent, everyone) is the mode, which the agent's engine applies. Every stretch
//! of a mode is an audit record; `take_over` hands the customer to the supervisor the way a
//! warm transfer does.

use serde::{Deserialize, Serialize};
use switchboard_protocol::{
    CallId, CallKind, CallRef, EndCode, ErrorCode, IncomingCall, Invite, MemberState,
    MonitorContext, MonitorMode, MonitorUpdate, RequestId, ServerMessage, SessionId, SetMonitor,
    Side, UserId,
};

use super::board::SupervisionRecord;
use super::calls::{Call, CallMember, Departure};
use super::{Core, Handled, Millis, Record, Timer, UserKey, refuse};

/// A monitor call's supervision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Monitoring {
    /// The customer call monitored.
    pub of: CallId,
    pub supervisor: UserId,
    pub agent: UserId,
    pub mode: MonitorMode,
    /// Since when in this mode.
    pub since: Millis,
}

impl Core {
    /// `invite` with `monitor`: the supervisor calls an agent of theirs about the agent's
    /// customer call.
    pub(super) fn monitor(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        m: Invite,
        now: Millis,
    ) -> Handled {
        let Some(mode) = m.monitor else {
            return Ok(());
        };
        let Some(s) = self.sessions.get(session) else {
            return Ok(());
        };
        let (me, role) = (s.user.clone(), s.role);
        if !role.supervises() {
            return Err(refuse(
                ErrorCode::Forbidden,
                "only a supervisor (or an admin) monitors agents",
            ));
        }
        let [to] = &m.to[..] else {
            return Err(refuse(
                ErrorCode::InvalidMessage,
                "a supervisor monitors one agent at a time",
            ));
        };
        let agent = me.with_user(to.user.clone());
        if !self.supervises(&me, role, &agent) {
            return Err(refuse(
                ErrorCode::Forbidden,
                format!("{} is not an agent of your team", to.user),
            ));
        }
        let me = self.caller_ready(session)?;
        // The agent's customer call, and the one device talking in it.
        let of = self
            .agents
            .get(&agent)
            .and_then(|a| a.call())
            .filter(|c| {
                self.calls
                    .get(*c)
                    .and_then(|c| c.queue.as_ref())
                    .is_some_and(|q| q.connected_to(&agent.user))
            })
            .cloned()
            .ok_or_else(|| {
                refuse(
                    ErrorCode::WrongState,
                    format!("{} is not talking to a customer", agent.user),
                )
            })?;
        let call = self.call(&of)?;
        if call.monitored_by.is_some() {
            return Err(refuse(
                ErrorCode::WrongState,
                "this customer call is monitored already",
            ));
        }
        let Some(device) = call
            .active_member(&agent.user)
            .and_then(|i| call.members[i].session.clone())
        else {
            return Err(refuse(
                ErrorCode::WrongState,
                format!("{} is not talking to a customer", agent.user),
            ));
        };
        let monitor = self.new_call_id()?;
        self.open_call(
            session,
            &me,
            monitor.clone(),
            CallKind::Direct,
            m.media,
            m.extra,
            None,
            now,
        );
        if let Some(k) = self.calls.get_mut(&monitor) {
            k.monitor = Some(Box::new(Monitoring {
                of: of.clone(),
                supervisor: me.user.clone(),
                agent: agent.user.clone(),
                mode,
                since: now,
            }));
        }
        if let Some(c) = self.calls.get_mut(&of) {
            c.monitored_by = Some(monitor.clone());
        }
        self.reply(
            session,
            id,
            ServerMessage::CallCreated(switchboard_protocol::CallCreated {
                call_id: monitor.clone(),
            }),
        );
        self.ring_monitored(&monitor, &agent, &device, to.offer.clone(), now);
        Ok(())
    }

    /// Rings the agent's one device in the customer call (their others know nothing of it);
    /// the agent is busy in that call, which a monitor call does not count against.
    fn ring_monitored(
        &mut self,
        monitor: &CallId,
        agent: &UserKey,
        device: &SessionId,
        offer: Option<switchboard_protocol::Sdp>,
        now: Millis,
    ) {
        let notice = self.config.monitor_notice.contains(agent.realm.as_str());
        let ring_until = now + self.config.ring_timeout_ms;
        let Some(call) = self.calls.get_mut(monitor) else {
            return;
        };
        let Some(mon) = call.monitor.clone() else {
            return;
        };
        call.members.push(CallMember {
            user: agent.user.clone(),
            role: self
                .accounts
                .get(agent)
                .map_or(switchboard_protocol::Role::Agent, |a| a.role),
            state: MemberState::Invited,
            session: None,
            ringing: vec![device.clone()],
            invited_by: Some(mon.supervisor.clone()),
            invited_at: now,
            joined_at: None,
            ring_until,
        });
        let Some(call) = self.calls.get(monitor) else {
            return;
        };
        let from_session = call.members[0]
            .session
            .clone()
            .unwrap_or_else(|| device.clone());
        let incoming = IncomingCall {
            call_id: monitor.clone(),
            kind: call.kind,
            from: mon.supervisor.clone(),
            from_session,
            from_name: self.display_name(&agent.with_user(mon.supervisor.clone())),
            media: call.media,
            members: call.member_list(|u| self.display_name(&agent.with_user(u.clone()))),
            offer,
            extra: call.extra.clone(),
            queue: None,
            consult: None,
            monitor: Some(Box::new(MonitorContext {
                call_id: mon.of.clone(),
                supervisor: mon.supervisor.clone(),
                mode: mon.mode,
                notice,
            })),
            ring_until,
        };
        if let Some(s) = self.sessions.get_mut(device) {
            s.calls.insert(monitor.clone());
        }
        self.send(device, ServerMessage::IncomingCall(incoming));
        self.ringing
            .entry(agent.clone())
            .or_default()
            .insert(monitor.clone());
        self.timer(
            ring_until,
            Timer::Ring {
                call: monitor.clone(),
                user: agent.user.clone(),
            },
        );
    }

    /// Whether `user` accepting `call_id` is the monitored agent answering their supervisor
    /// (they stay indexed in the customer call).
    pub(super) fn monitored_agent_of(&self, call_id: &CallId, user: &UserId) -> bool {
        self.calls
            .get(call_id)
            .and_then(|c| c.monitor.as_ref())
            .is_some_and(|m| &m.agent == user)
    }

    /// Tells both members the mode (after the agent answered, and on every change).
    pub(super) fn tell_monitor(&mut self, monitor: &CallId) {
        let Some(call) = self.calls.get(monitor) else {
            return;
        };
        let Some(m) = &call.monitor else { return };
        let update = MonitorUpdate {
            call_id: monitor.clone(),
            of: m.of.clone(),
            mode: m.mode,
            since: m.since,
        };
        self.broadcast(monitor, None, ServerMessage::MonitorMode(update));
        self.queue.cti_dirty = true;
    }

    /// `monitor {call_id, mode}`: the supervisor listens, whispers or barges.
    pub(super) fn set_monitor(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        m: SetMonitor,
        now: Millis,
    ) -> Handled {
        let (_, mon) = self.as_supervisor(session, &m.call_id)?;
        self.ack(session, id);
        if mon.mode == m.mode {
            return Ok(());
        }
        self.close_stretch(&m.call_id, now);
        if let Some(x) = self
            .calls
            .get_mut(&m.call_id)
            .and_then(|c| c.monitor.as_mut())
        {
            x.mode = m.mode;
            x.since = now;
        }
        self.tell_monitor(&m.call_id);
        Ok(())
    }

    /// Writes the audit record of the mode that ends now (only once the agent answered: an
    /// unanswered monitor supervised nothing).
    fn close_stretch(&mut self, monitor: &CallId, now: Millis) {
        let Some(call) = self.calls.get(monitor) else {
            return;
        };
        let Some(m) = &call.monitor else { return };
        if call.answered_at.is_some() {
            let record = SupervisionRecord {
                monitor_call: monitor.clone(),
                customer_call: m.of.clone(),
                realm: call.realm.clone(),
                supervisor: m.supervisor.clone(),
                agent: m.agent.clone(),
                mode: m.mode,
                started_at: m.since,
                ended_at: now,
            };
            self.record(Record::Supervision(record));
        }
    }

    /// `take_over {call_id}`: the supervisor takes the customer; the agent leaves (to wrap-up).
    pub(super) fn take_over(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        m: CallRef,
        now: Millis,
    ) -> Handled {
        let (me, mon) = self.as_supervisor(session, &m.call_id)?;
        if self.call(&m.call_id)?.joined_count() < 2 {
            return Err(refuse(
                ErrorCode::WrongState,
                "the agent has not answered the monitor call yet",
            ));
        }
        self.ack(session, id);
        // The monitor call ends first (the supervisor is free for the customer), then the
        // agent hands the customer over as in a warm transfer.
        let gone = Departure::fixed(EndCode::Transferred, Side::Local);
        self.depart_member(&m.call_id, &me.user, Some(session), gone, now);
        let agent_session = self
            .calls
            .get(&mon.of)
            .and_then(|c| c.active_member(&mon.agent).map(|i| (c, i)))
            .and_then(|(c, i)| c.members[i].session.clone());
        self.hand_over_warm(&mon.of, &mon.agent, agent_session.as_ref(), &me, now);
        Ok(())
    }

    /// The signed-in supervisor of monitor call `call_id`, and its supervision; refused for
    /// anyone else.
    fn as_supervisor(
        &self,
        session: &SessionId,
        call_id: &CallId,
    ) -> Result<(UserKey, Monitoring), super::Refusal> {
        let (me, _) = self.joined_member_of(call_id, session)?;
        let Some(mon) = self.call(call_id)?.monitor.as_deref().cloned() else {
            return Err(refuse(ErrorCode::WrongState, "not a monitor call"));
        };
        if mon.supervisor != me.user {
            return Err(refuse(
                ErrorCode::Forbidden,
                "only the supervisor of this monitor call may",
            ));
        }
        Ok((me, mon))
    }

    /// A member left `call_id`: the monitored agent leaving the customer's call ends its
    /// monitor call.
    pub(super) fn monitor_member_left(&mut self, call_id: &CallId, user: &UserId, now: Millis) {
        let monitor = self
            .calls
            .get(call_id)
            .and_then(|c| c.monitored_by.clone())
            .filter(|k| self.monitored_agent_of(k, user));
        if let Some(k) = monitor {
            self.finish_call(&k, completed(), now);
        }
    }

    /// A call is being removed: a monitor call writes its last stretch and frees the customer
    /// call; a monitored customer call ends its monitor call.
    pub(super) fn monitor_link_ending(&mut self, call: &Call, now: Millis) {
        if let Some(m) = &call.monitor
            && let Some(c) = self.calls.get_mut(&m.of)
            && c.monitored_by.as_ref() == Some(&call.id)
        {
            c.monitored_by = None;
            self.queue.cti_dirty = true;
        }
        if let Some(k) = &call.monitored_by {
            self.finish_call(k, completed(), now);
        }
    }

    /// Before a monitor call's members are told it ended: its last stretch, for the audit.
    pub(super) fn monitor_ends(&mut self, call_id: &CallId, now: Millis) {
        if self.calls.get(call_id).is_some_and(|c| c.monitor.is_some()) {
            self.close_stretch(call_id, now);
        }
    }
}

fn completed() -> switchboard_protocol::EndReason {
    switchboard_protocol::EndReason::new(EndCode::CallCompleted, Side::Remote)
}
