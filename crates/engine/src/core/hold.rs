//! Hold, on the engine's side. The server decides (one hold at a time, only the holder ends
//! it) and tells both members `call_hold` in its order; the core follows that, never its own
//! guess. While we hold, our senders play music on hold instead of the microphone and send no
//! camera or screen, and the held member's audio is not played (`Gates::hold`); while we are
//! held, nothing changes in our media — the far side stopped sending us itself.

use std::time::{Duration, Instant};

use switchboard_protocol::{CallHold, CallId, ClientMessage, SetHold, UnixMillis};

use super::Core;
use crate::event::Event;

/// The hold on a call now.
#[derive(Debug, Clone)]
pub(super) struct HoldOn {
    /// We hold (rather than being held).
    pub mine: bool,
    pub started: Instant,
}

/// A call's holds as the core counts them for the history.
#[derive(Debug, Clone, Default)]
pub(super) struct Holds {
    pub on: Option<HoldOn>,
    pub count: u32,
    pub ended: Duration,
}

impl Holds {
    pub(super) fn total(&self, now: Instant) -> Duration {
        self.ended + self.on.as_ref().map_or(Duration::ZERO, |h| now - h.started)
    }

    pub(super) fn holding(&self) -> bool {
        self.on.as_ref().is_some_and(|h| h.mine)
    }
}

impl Core {
    /// The user asks to hold (or resume) a call: asked of the server, applied when it says so.
    pub(super) fn request_hold(&mut self, call_id: CallId, on: bool) {
        if self.calls.get(&call_id).is_some_and(|c| c.media_on) {
            let request = self.own_request();
            self.send_request(request, ClientMessage::Hold(SetHold { call_id, on }));
        } else {
            self.emit(Event::Error {
                call_id: Some(call_id),
                message: "only an answered call can be held".into(),
            });
        }
    }

    /// The server's `call_hold`.
    pub(super) fn call_hold(&mut self, h: CallHold, now: Instant) {
        let mine = self.me.as_ref() == Some(&h.by);
        let Some(call) = self.calls.get_mut(&h.call_id) else {
            return;
        };
        let holds = &mut call.holds;
        match (h.on, holds.on.is_some()) {
            (true, false) => {
                holds.on = Some(HoldOn { mine, started: now });
                holds.count += 1;
            }
            (false, true) => {
                holds.ended = holds.total(now);
                holds.on = None;
            }
            // Told twice (a frame sent again after a resume): nothing changes.
            _ => return,
        }
        self.gates(&h.call_id);
        self.emit(Event::Hold {
            call_id: h.call_id,
            by: h.by,
            on: h.on,
            since: h.since,
            count: h.count,
        });
    }
}

/// For the history: holds of a call and their time in ms.
pub(super) fn figures(holds: &Holds, now: Instant) -> (u32, UnixMillis) {
    (holds.count, holds.total(now).as_millis() as u64)
}
