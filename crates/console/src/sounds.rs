//! What the console plays to the agent (the sounds themselves are `switchboard_media::cue`):
//! the ringer on its own device and volume while a call rings, the announce tone when a call
//! answers itself, the speaker and ringer tests, and the settings page's microphone meter.
//! A sound that cannot play is logged and reported, never a reason to miss a call.

use std::sync::{Arc, Mutex};

use serde::Serialize;
use switchboard_engine::Event;
use switchboard_media::{Cue, CuePlayer, DeviceKind, LevelMeter};

use crate::settings::Settings;
use crate::ui::{CmdResult, CommandError, Ui, UiEvent};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a test sound played, as the settings page shows it.
#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct SoundTest {
    pub device: String,
    /// Milliseconds of sound handed to the device.
    pub played_ms: u64,
    /// The level the synthetic `meter` speaker measured (dBFS); sound cards do not say.
    pub level_dbfs: Option<f64>,
}

/// The ringer plays here: its own device, else the call's speaker.
pub fn ringer_device(s: &Settings) -> &str {
    if s.preferences.ringer.is_empty() {
        &s.speaker
    } else {
        &s.preferences.ringer
    }
}

#[derive(Default)]
pub struct Sounds {
    /// The call ringing now and its ringer.
    ringing: Mutex<Option<(String, CuePlayer)>>,
    /// Announce tones (kept until they end: dropping a player stops it).
    announce: Mutex<Option<CuePlayer>>,
    meter: Mutex<Option<LevelMeter>>,
}

impl Sounds {
    /// Starts ringing for `call_id` (one ringer at a time: a second call rings the same bell).
    pub fn ring(&self, ui: &dyn Ui, call_id: &str, s: &Settings) {
        let mut ringing = lock(&self.ringing);
        if let Some((id, _)) = ringing.as_mut() {
            *id = call_id.to_owned();
            return;
        }
        let device = ringer_device(s);
        match CuePlayer::start(device, Cue::Ring, s.preferences.ring_volume) {
            Ok(p) => {
                *ringing = Some((call_id.to_owned(), p));
                ui.emit(UiEvent::Sound {
                    cue: Cue::Ring,
                    device: device.to_owned(),
                    playing: true,
                });
            }
            Err(e) => {
                tracing::warn!("ringer {device}: {e}");
                ui.emit(UiEvent::Engine(Event::DeviceFailed {
                    kind: DeviceKind::Speaker,
                    id: device.to_owned(),
                    reason: format!("the ringer cannot play: {e}"),
                }));
            }
        }
    }

    /// Stops the ringer if it rings for `call_id`.
    pub fn stop_ring(&self, ui: &dyn Ui, call_id: &str) {
        let stopped = {
            let mut ringing = lock(&self.ringing);
            match ringing.as_ref() {
                Some((id, _)) if id == call_id => ringing.take(),
                _ => None,
            }
        };
        if let Some((_, player)) = stopped {
            // Joining waits at most one 20 ms frame.
            player.stop();
            ui.emit(UiEvent::Sound {
                cue: Cue::Ring,
                device: String::new(),
                playing: false,
            });
        }
    }

    /// The short tone that tells the agent an auto-answered caller is connected now.
    pub fn announce(&self, ui: &dyn Ui, s: &Settings) {
        if !s.preferences.announce_tone {
            return;
        }
        match CuePlayer::start(&s.speaker, Cue::Announce, 100) {
            Ok(p) => {
                *lock(&self.announce) = Some(p);
                ui.emit(UiEvent::Sound {
                    cue: Cue::Announce,
                    device: s.speaker.clone(),
                    playing: true,
                });
            }
            Err(e) => tracing::warn!("announce tone on {}: {e}", s.speaker),
        }
    }

    /// Plays a test of the speaker (or the ringer) to its end and says what played.
    pub async fn test(&self, device: &str, cue: Cue, volume: u8) -> CmdResult<SoundTest> {
        let player = CuePlayer::start(device, cue, volume)
            .map_err(|e| CommandError::new("device", format!("{device}: {e}")))?;
        let played = tokio::task::spawn_blocking(move || {
            if cue.loops() {
                // One ring period is enough to judge a ringer.
                std::thread::sleep(std::time::Duration::from_secs(3));
                player.stop()
            } else {
                player.wait()
            }
        })
        .await
        .map_err(|e| CommandError::new("device", e))?;
        if let Some(e) = played.error {
            return Err(CommandError::new("device", format!("{device}: {e}")));
        }
        Ok(SoundTest {
            device: device.to_owned(),
            played_ms: played.frames * 20,
            level_dbfs: played.level_dbfs,
        })
    }

    /// Starts or stops the microphone meter (`UiEvent::MicLevel` ten times a second).
    pub fn meter(&self, ui: Arc<dyn Ui>, device: Option<&str>) -> CmdResult<()> {
        let mut meter = lock(&self.meter);
        *meter = None;
        let Some(device) = device else {
            return Ok(());
        };
        let id = device.to_owned();
        let m = LevelMeter::start(device, move |level| match level {
            Ok(dbfs) => ui.emit(UiEvent::MicLevel {
                // JSON has no −∞: silence is −100 dBFS.
                dbfs: if dbfs.is_finite() {
                    dbfs.max(-100.0)
                } else {
                    -100.0
                },
            }),
            Err(e) => ui.emit(UiEvent::Engine(Event::DeviceFailed {
                kind: DeviceKind::Microphone,
                id: id.clone(),
                reason: e.to_string(),
            })),
        })
        .map_err(|e| CommandError::new("device", format!("{device}: {e}")))?;
        *meter = Some(m);
        Ok(())
    }
}
