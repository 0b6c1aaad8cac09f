//! One call's phase as this device sees it: `handle(input) -> outputs`. The engine's core
//! ([`super::Core`]) holds one per call, feeds it what happened and carries out what it says
//! (its timer included).
//!
//! Every call ends exactly once, and with the reason the server decided: when the user hangs up,
//! media stops at once and the call is `Ending`; it ends when the server's `call_ended` names the
//! reason (cancelled, declined or hung up — the server knows which won a race with the far
//! side), or after [`ENDING_TIMEOUT`] with our own guess if the server cannot be reached.

use switchboard_protocol::{EndCode, EndReason, Side};

/// Where the call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// We invited; nobody has answered.
    Outgoing,
    /// Someone invited us; we have not answered.
    Incoming,
    /// Answered; media is being started.
    Connecting,
    /// Media flows.
    Active,
    /// The signaling socket dropped; the call waits for it within the resume window.
    Reconnecting,
    /// We hung up; media has stopped; waiting for the server to confirm the reason.
    Ending,
    /// Over.
    Ended,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The user hangs up (or cancels an outgoing call, or declines an incoming one).
    LocalHangup,
    /// The user answers.
    LocalAccept,
    /// A remote member joined (for the caller: the call was answered).
    RemoteJoined,
    /// The first media arrived from a member.
    MediaFlowing,
    /// The signaling socket dropped.
    SignalingLost,
    /// It came back within the resume window and the session was resumed.
    SignalingResumed,
    /// It did not come back in time.
    ResumeExpired,
    /// The local media failed for good (device gone, transport failed).
    MediaFailed(EndCode),
    /// The server ended the call for us.
    ServerEnded(EndReason),
    /// The server did not confirm our hang-up in time.
    EndingTimeout,
}

/// How long to wait for the server to confirm a hang-up before ending with our own reason.
pub const ENDING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Tell the server.
    Send(Request),
    /// Feed [`Input::EndingTimeout`] after [`ENDING_TIMEOUT`].
    ArmEndingTimer,
    /// Start sending media (no media flows before the call is answered).
    StartMedia,
    /// Stop media and close the peer connections.
    StopMedia,
    /// The call is over with this reason: write the history row, tell the user.
    Ended(EndReason),
}

/// A request the machine asks the engine to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Accept,
    /// The server's one verb for leaving: declines a ringing call, cancels an unanswered
    /// outgoing one, hangs up otherwise (RongCloud's `hangup`).
    Hangup,
}

#[derive(Debug, Clone)]
pub struct CallMachine {
    phase: Phase,
    /// The phase to return to after a resumed socket.
    before_loss: Phase,
    /// Our own reason, used if the server never confirms one.
    guess: Option<EndReason>,
    /// Media was stopped already (on leaving).
    stopped: bool,
}

impl CallMachine {
    pub fn outgoing() -> Self {
        Self::at(Phase::Outgoing)
    }

    pub fn incoming() -> Self {
        Self::at(Phase::Incoming)
    }

    fn at(phase: Phase) -> Self {
        Self {
            phase,
            before_loss: phase,
            guess: None,
            stopped: false,
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn is_ended(&self) -> bool {
        self.phase == Phase::Ended
    }

    pub fn handle(&mut self, input: Input) -> Vec<Output> {
        use Phase::*;
        if self.phase == Ended {
            return Vec::new();
        }
        let live = if self.phase == Reconnecting {
            self.before_loss
        } else {
            self.phase
        };
        match input {
            Input::ServerEnded(reason) => self.end(reason),
            // The server ends our calls with `network_lost` when the window passes; so do we.
            Input::ResumeExpired => self.end(EndReason::new(EndCode::NetworkLost, Side::Local)),
            Input::SignalingLost if self.phase != Reconnecting => {
                self.before_loss = self.phase;
                self.phase = Reconnecting;
                Vec::new()
            }
            Input::SignalingResumed if self.phase == Reconnecting => {
                self.phase = self.before_loss;
                Vec::new()
            }
            Input::EndingTimeout if self.phase == Ending => self.end_with_guess(),
            _ if live == Ending => Vec::new(),
            Input::LocalHangup => {
                let code = match live {
                    Outgoing => EndCode::Cancelled,
                    Incoming => EndCode::Rejected,
                    _ => EndCode::Hangup,
                };
                self.leave(code)
            }
            Input::MediaFailed(code) => self.leave(code),
            Input::LocalAccept if live == Incoming => {
                self.set(Connecting);
                vec![Output::Send(Request::Accept), Output::StartMedia]
            }
            Input::RemoteJoined if live == Outgoing => {
                self.set(Connecting);
                vec![Output::StartMedia]
            }
            Input::MediaFlowing if live == Connecting => {
                self.set(Active);
                Vec::new()
            }
            // Inputs that do not apply in this phase (a late duplicate, a race with the server).
            _ => Vec::new(),
        }
    }

    /// The user (or a failure) leaves: stop media now, let the server name the reason.
    fn leave(&mut self, code: EndCode) -> Vec<Output> {
        self.guess = Some(EndReason::new(code, Side::Local));
        // While reconnecting the request waits in the signaling queue for the resumed socket.
        self.set(Phase::Ending);
        self.stopped = true;
        vec![
            Output::Send(Request::Hangup),
            Output::StopMedia,
            Output::ArmEndingTimer,
        ]
    }

    /// Moves to `phase`, or records it as the phase to resume into while reconnecting.
    fn set(&mut self, phase: Phase) {
        if self.phase == Phase::Reconnecting {
            self.before_loss = phase;
        } else {
            self.phase = phase;
        }
    }

    fn end_with_guess(&mut self) -> Vec<Output> {
        let reason = self
            .guess
            .unwrap_or(EndReason::new(EndCode::NetworkLost, Side::Local));
        self.end(reason)
    }

    fn end(&mut self, reason: EndReason) -> Vec<Output> {
        self.phase = Phase::Ended;
        let mut out = Vec::new();
        if !std::mem::replace(&mut self.stopped, true) {
            out.push(Output::StopMedia);
        }
        out.push(Output::Ended(reason));
        out
    }
}

#[cfg(test)]
mod tests;
