//! Supervision in the engine. The supervisor's engine calls the agent (`invite {monitor}`); the
//! agent's engine answers at once and becomes the bridge: the supervisor's connection carries
//! our microphone mixed with the customer's voice (decoded here anyway for the agent's
//! speaker), and, while the supervisor barges, the customer's connection carries our
//! microphone mixed with the supervisor's voice. The customer's browser keeps its one peer
//! connection and learns nothing. What goes where is a matter of gates ([`Gates`]); the mixing
//! itself is the pipeline's (two buses of the driver).
//!
//! The supervisor's engine sends no camera in a monitor call, and no microphone while it only
//! listens.

use switchboard_protocol::{CallId, Conference, MonitorMode, MonitorUpdate};

use super::*;

/// A monitor call, on either side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Monitoring {
    /// The customer call monitored (known to the supervisor's side from the first
    /// `monitor_mode`).
    pub of: Option<CallId>,
    pub mode: MonitorMode,
    /// We are the monitored agent (the bridge); otherwise the supervisor.
    pub agent_side: bool,
    /// A consult joined with its customer call (always `agent_side`, in `Barge`): ours, the
    /// agent's, to bridge while both calls last.
    pub conference: bool,
}

impl Core {
    /// The server's word on a monitor call's mode.
    pub(super) fn monitor_mode(&mut self, u: MonitorUpdate) {
        let Some(call) = self.calls.get_mut(&u.call_id) else {
            return;
        };
        let m = call.monitor.get_or_insert(Monitoring {
            of: None,
            mode: u.mode,
            agent_side: false,
            conference: false,
        });
        m.mode = u.mode;
        m.of = Some(u.of.clone());
        let supervisor = !m.agent_side;
        if supervisor {
            // A take-over brings the customer's call here warm: answer it at once.
            self.expect_warm(u.of.clone());
        }
        self.emit(Event::Monitor {
            call_id: u.call_id.clone(),
            of: u.of.clone(),
            mode: u.mode,
        });
        self.gates(&u.call_id);
        self.gates(&u.of);
    }

    /// The server's word that a consult is now a conference with its customer call. The
    /// agent's engine (the one with the customer call) bridges the two as in a barge: the
    /// colleague hears the customer, the customer the colleague, and the agent both.
    pub(super) fn conference(&mut self, c: Conference) {
        if self.calls.contains_key(&c.of)
            && let Some(call) = self.calls.get_mut(&c.call_id)
        {
            call.monitor = Some(Monitoring {
                of: Some(c.of.clone()),
                mode: MonitorMode::Barge,
                agent_side: true,
                conference: true,
            });
        }
        self.emit(Event::Conference {
            call_id: c.call_id.clone(),
            of: c.of,
        });
        self.gates(&c.call_id);
    }

    /// A customer call ended: a conference that bridged it is a plain call again.
    pub(super) fn unbridge(&mut self, ended: &CallId) {
        let bridges: Vec<CallId> = self
            .calls
            .iter()
            .filter(|(_, c)| {
                c.monitor
                    .as_ref()
                    .is_some_and(|m| m.conference && m.of.as_ref() == Some(ended))
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in bridges {
            if let Some(c) = self.calls.get_mut(&id) {
                c.monitor = None;
            }
            self.gates(&id);
        }
    }

    /// A customer call that may come to this device warm (after a consult about it, or a
    /// take-over of it): it is answered at once, without ringing.
    pub(super) fn expect_warm(&mut self, call_id: CallId) {
        if self.warm_expected.contains(&call_id) {
            return;
        }
        if self.warm_expected.len() >= 4 {
            self.warm_expected.remove(0);
        }
        self.warm_expected.push(call_id);
    }

    /// The monitor call bridging `call_id` (a customer call of ours), and its mode.
    pub(super) fn bridge_of(&self, call_id: &CallId) -> Option<MonitorMode> {
        self.calls.values().find_map(|c| {
            c.monitor
                .as_ref()
                .filter(|m| m.agent_side && m.of.as_ref() == Some(call_id) && c.media_on)
                .map(|m| m.mode)
        })
    }

    /// The gates a call's monitoring adds.
    pub(super) fn monitor_gates(&self, call_id: &CallId, g: &mut Gates) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        match &call.monitor {
            Some(m) if m.agent_side => {
                g.with_customer = true;
                g.quiet = m.mode == MonitorMode::Listen;
                g.barging = m.mode == MonitorMode::Barge;
            }
            Some(m) => {
                g.audio_muted |= m.mode == MonitorMode::Listen;
                g.video_muted = true;
            }
            None => {}
        }
        if let Some(mode) = self.bridge_of(call_id) {
            g.to_supervisor = true;
            g.with_supervisor = mode == MonitorMode::Barge;
        }
    }
}
