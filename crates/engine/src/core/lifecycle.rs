//! A call's life as the phase machine drives it: accepting, media on and off, the end.

use std::time::Instant;

use switchboard_protocol::{Accept, CallId, CallRef, ClientMessage, EndReason};

use super::*;

impl Core {
    pub(super) fn phase(&mut self, call_id: &CallId, input: PhaseInput, now: Instant) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        for o in call.machine.handle(input) {
            self.phase_output(call_id, o, now);
        }
    }

    pub(super) fn phase_output(&mut self, call_id: &CallId, o: PhaseOutput, now: Instant) {
        match o {
            PhaseOutput::Send(Request::Accept) => {
                let Some(call) = self.calls.get_mut(call_id) else {
                    return;
                };
                call.answered = Some(now);
                let media = Some(call.media);
                let request = self.own_request();
                self.accepts.insert(request, call_id.clone());
                self.send_request(
                    request,
                    ClientMessage::Accept(Accept {
                        call_id: call_id.clone(),
                        media,
                        answer: None,
                    }),
                );
                self.mesh(call_id);
            }
            PhaseOutput::Send(Request::Hangup) => self.send(ClientMessage::Hangup(CallRef {
                call_id: call_id.clone(),
            })),
            PhaseOutput::StartMedia => {
                if let Some(call) = self.calls.get_mut(call_id) {
                    call.media_on = true;
                    call.answered.get_or_insert(now);
                }
                self.gates(call_id);
                self.out.push_back(Output::Capture(true));
                self.next_tick.get_or_insert(now + TICK);
            }
            PhaseOutput::StopMedia => self.stop_media(call_id),
            PhaseOutput::ArmEndingTimer => {
                if let Some(call) = self.calls.get_mut(call_id) {
                    call.ending_at = Some(now + ENDING_TIMEOUT);
                }
            }
            PhaseOutput::Ended(reason) => self.ended(call_id, reason, now),
        }
    }

    /// Media stops: the share and the recording end, every peer closes.
    pub(super) fn stop_media(&mut self, call_id: &CallId) {
        self.stop_share(call_id, None);
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let was_on = std::mem::replace(&mut call.media_on, false);
        if call.recording.take().is_some() {
            // The recording ends with the media: its last fragment is written now.
            self.out.push_back(Output::Recorder {
                call_id: call_id.clone(),
                op: RecorderOp::Stop,
            });
            self.tell_media_state(call_id);
        }
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let peers: Vec<PeerId> = std::mem::take(&mut call.peers).into_values().collect();
        let inviting = std::mem::take(&mut call.inviting)
            .into_iter()
            .map(|(_, p)| p);
        self.member_invites.retain(|_, (c, _)| c != call_id);
        for p in peers.into_iter().chain(inviting) {
            self.close_peer(p);
        }
        if !self.calls.values().any(|c| c.media_on) {
            self.next_tick = None;
            if was_on {
                self.out.push_back(Output::Capture(false));
            }
        }
    }

    pub(super) fn ended(&mut self, call_id: &CallId, reason: EndReason, now: Instant) {
        // Media stopped before (the phase machine says so first); anything left closes.
        self.stop_media(call_id);
        let Some(call) = self.calls.remove(call_id) else {
            return;
        };
        self.accepts.retain(|_, c| c != call_id);
        // A bridge that ends leaves the customer's call as it was.
        if let Some(of) = call
            .monitor
            .as_ref()
            .filter(|m| m.agent_side)
            .and_then(|m| m.of.clone())
        {
            self.gates(&of);
        }
        self.unbridge(call_id);
        let (hold_count, hold_ms) = hold::figures(&call.holds, now);
        self.emit(Event::Ended {
            call_id: call_id.clone(),
            reason,
            answered: call.answered,
            at: now,
            stats: Vec::new(),
            hold_count,
            hold_ms,
        });
    }
}
