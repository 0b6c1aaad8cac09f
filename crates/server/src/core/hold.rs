//! Hold: one member of a call of two puts the other on hold (Amazon Connect's CCP hold, the
//! seeds' "mute remote"). The server only keeps the score — who holds, since when, how many
//! times and how long in all, for the record — and tells both members; the holder's engine
//! sends music on hold instead of its microphone and camera, so nothing of the holder reaches
//! the held party whatever client that party runs (a browser widget included).

use serde::{Deserialize, Serialize};
use switchboard_protocol::{
    CallHold, CallId, ErrorCode, RequestId, ServerMessage, SessionId, SetHold, UserId,
};

use super::{Core, Handled, Millis, refuse};

/// A call's holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Holds {
    /// The hold on now: who, since when.
    pub on: Option<(UserId, Millis)>,
    /// The hold on now was placed by a consult (its end ends the hold; a hold the agent put
    /// on before stays).
    #[serde(default)]
    pub by_consult: bool,
    /// Holds so far.
    pub count: u32,
    /// Time on hold of the holds that ended, in ms.
    pub ended_ms: u64,
}

impl Holds {
    /// All time on hold up to `now`.
    pub(crate) fn total_ms(&self, now: Millis) -> u64 {
        self.ended_ms
            + self
                .on
                .as_ref()
                .map_or(0, |(_, since)| now.saturating_sub(*since))
    }
}

impl Core {
    pub(super) fn hold(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        m: SetHold,
        now: Millis,
    ) -> Handled {
        let (me, _) = self.joined_member_of(&m.call_id, session)?;
        let call = self.call(&m.call_id)?;
        // A customer may be any role that may enqueue: what counts is who took the call.
        let agent_here = call.queue.as_ref().is_none_or(|q| q.connected_to(&me.user));
        if !agent_here {
            return Err(refuse(
                ErrorCode::Forbidden,
                "in a customer call only the agent holds",
            ));
        }
        if call.consult.is_some() && !m.on {
            return Err(refuse(
                ErrorCode::WrongState,
                "the customer stays on hold during the consult: end it first",
            ));
        }
        if call.joined_count() != 2 {
            return Err(refuse(
                ErrorCode::WrongState,
                "hold is for a call of two joined members",
            ));
        }
        match (&call.holds.on, m.on) {
            (Some((by, _)), _) if by != &me.user => {
                return Err(refuse(
                    ErrorCode::WrongState,
                    format!("{by} holds this call: only they take it off hold"),
                ));
            }
            // Already so: nothing changes (a repeated request after a resume).
            (Some(_), true) | (None, false) => {}
            (None, true) => {
                if let Some(call) = self.calls.get_mut(&m.call_id) {
                    call.holds.on = Some((me.user.clone(), now));
                    call.holds.count += 1;
                }
                self.tell_hold(&m.call_id, true);
            }
            (Some(_), false) => self.end_hold(&m.call_id, now),
        }
        self.ack(session, id);
        Ok(())
    }

    /// Ends the hold on this call, if one is on, and tells the joined members.
    pub(super) fn end_hold(&mut self, call_id: &CallId, now: Millis) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        if call.holds.on.is_none() {
            return;
        }
        self.tell_hold(call_id, false);
        if let Some(call) = self.calls.get_mut(call_id) {
            call.holds.ended_ms = call.holds.total_ms(now);
            call.holds.on = None;
            call.holds.by_consult = false;
        }
    }

    pub(super) fn tell_hold(&mut self, call_id: &CallId, on: bool) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let Some((by, since)) = call.holds.on.clone() else {
            return;
        };
        // The wallboard shows customer calls on hold.
        self.queue.cti_dirty |= call.queue.is_some();
        let message = ServerMessage::CallHold(CallHold {
            call_id: call_id.clone(),
            by,
            on,
            since,
            count: call.holds.count,
        });
        self.broadcast(call_id, None, message);
    }
}
