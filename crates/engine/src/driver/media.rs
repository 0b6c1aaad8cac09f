//! The driver's local media beside the calls: the screen share, the recorder and the
//! once-a-second tick (stats, recordings, the share's frame rate). The core decides when
//! each starts and stops; this carries it out.

use std::sync::atomic::Ordering;

use switchboard_protocol::CallId;

use super::{Command, Driver};
use crate::core::{Input, RecorderOp};
use crate::event::Event;

impl Driver {
    /// Shares an opened screen or window in this call (one share at a time: another source,
    /// or another call, replaces it).
    pub(super) async fn start_share(
        &mut self,
        call_id: &CallId,
        source: String,
        capturer: switchboard_media::screen::ScreenCapturer,
    ) -> Result<(), String> {
        if !self.core.media_on(call_id) {
            return Err(format!("no answered call {call_id} to share a screen in"));
        }
        if let Some((old, ..)) = &self.share {
            let old = old.clone();
            self.feed(Input::StopShare {
                call_id: old,
                reason: None,
            })
            .await;
            self.share = None;
        }
        self.shares += 1;
        let number = self.shares;
        let cmd = self.cmd_tx.clone();
        let share = crate::share::ScreenShare::start(
            source,
            capturer,
            self.factory.capture.screen.clone(),
            self.screen_budget.clone(),
            move |e| {
                let _ = cmd.send(Command::ScreenEnded(number, e.to_string()));
            },
        )
        .map_err(|e| format!("cannot start the screen capture: {e}"))?;
        self.share = Some((call_id.clone(), number, share));
        self.feed(Input::ShareStarted(call_id.clone())).await;
        Ok(())
    }

    pub(super) async fn start_recording(
        &mut self,
        call_id: &CallId,
        path: &std::path::Path,
        options: switchboard_media::RecordOptions,
    ) -> Result<(), String> {
        if !self.core.calls().any(|c| c == call_id) {
            return Err(format!("no call {call_id}"));
        }
        if !self.core.media_on(call_id) {
            return Err("the call has not been answered yet".into());
        }
        if self.recordings.contains_key(call_id) {
            return Err("this call is being recorded already".into());
        }
        let rec = crate::recording::Recording::start(path, options, &self.factory.capture)
            .map_err(|e| e.to_string())?;
        self.recordings.insert(call_id.clone(), rec);
        self.watch_members(call_id);
        self.feed(Input::Recording {
            call_id: call_id.clone(),
            state: Some(false),
        })
        .await;
        Ok(())
    }

    /// Adds every member's camera and screen to the call's recording (each once).
    fn watch_members(&mut self, call_id: &CallId) {
        let feeds: Vec<_> = self
            .call_peers(call_id)
            .into_iter()
            .map(|p| {
                (
                    p.user.clone(),
                    p.shared.frames.subscribe(),
                    p.shared.screen_frames.subscribe(),
                )
            })
            .collect();
        if let Some(rec) = self.recordings.get_mut(call_id) {
            for (user, frames, screen) in feeds {
                rec.watch(&user, frames, screen);
            }
        }
    }

    /// Stops the call's recording, if one runs, and tells the user what it holds.
    pub(super) async fn stop_recording(
        &mut self,
        call_id: &CallId,
    ) -> Option<switchboard_media::RecordingSummary> {
        let rec = self.recordings.remove(call_id)?;
        let summary = rec.stop().await?;
        self.emit(Event::RecordingStopped {
            call_id: call_id.clone(),
            summary: summary.clone(),
        });
        Some(summary)
    }

    pub(super) async fn recorder(&mut self, call_id: &CallId, op: RecorderOp) {
        match op {
            RecorderOp::Stop => {
                self.stop_recording(call_id).await;
            }
            RecorderOp::RemoteScreenOff(user) => {
                if let Some(rec) = self.recordings.get_mut(call_id) {
                    rec.screen_off(&user);
                }
            }
            RecorderOp::OwnScreenOff => {
                if let Some(rec) = self.recordings.get_mut(call_id) {
                    rec.own_screen_off();
                }
            }
        }
    }

    /// Once a second while media flows.
    pub(super) async fn tick(&mut self, calls: &[CallId]) {
        // Recordings: members who joined since are added; one whose writing failed is ended
        // and reported.
        for call_id in calls {
            if !self.recordings.contains_key(call_id) {
                continue;
            }
            self.watch_members(call_id);
            if self
                .recordings
                .get(call_id)
                .is_some_and(|r| !r.is_running())
            {
                self.stop_recording(call_id).await;
                // Within `run`: the core's outputs for this follow in the same loop.
                let input = Input::Recording {
                    call_id: call_id.clone(),
                    state: None,
                };
                self.core.handle(input, std::time::Instant::now());
            }
        }
        // The share's frame rate follows the slowest member's screen bitrate.
        if let Some((call_id, ..)) = &self.share
            && let Some(bps) = self
                .call_peers(call_id)
                .iter()
                .map(|p| p.shared.screen_bps.load(Ordering::Relaxed))
                .min()
        {
            self.screen_budget.store(bps, Ordering::Relaxed);
        }
        for call_id in calls {
            // The route can change (an ICE restart, a better pair found): asked every tick.
            for id in self.core.peers_of(call_id).into_iter().map(|(id, _)| id) {
                if let Some(p) = self.peers.get(&id) {
                    let route = p.route().await;
                    p.shared.update(|s| s.route = route);
                }
            }
            let peers = self.stats(call_id);
            self.emit(Event::Stats {
                call_id: call_id.clone(),
                peers,
            });
        }
    }
}
