//! Sounds the console plays to the agent, not into a call: the ringer (on its own device and
//! volume, as agents with a headset and a loud desk speaker ask for), the short announce tone
//! before an auto-answered call connects, and the speaker test. Also the microphone level
//! meter of the settings page. Each runs on a thread of its own, paced by our 20 ms clock,
//! and stops when its handle is dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::audio::{FRAME, RATE};
use crate::devices::{DeviceError, Microphone, Speaker};

/// What to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Cue {
    /// A double ring (400 + 450 Hz, 0.4 s on, 0.2 s off, 0.4 s on, 2 s off), until stopped.
    Ring,
    /// Two short 880 Hz beeps: "a caller is connected now".
    Announce,
    /// Three rising notes, about a second: "this is the speaker you picked".
    SpeakerTest,
}

/// One tone burst: frequencies, start and length in samples.
struct Burst {
    hz: &'static [f32],
    start: usize,
    len: usize,
}

const fn ms(v: usize) -> usize {
    v * RATE / 1000
}

impl Cue {
    /// The bursts of one period, and the period (samples).
    fn pattern(self) -> (&'static [Burst], usize) {
        const RING: &[Burst] = &[
            Burst {
                hz: &[400.0, 450.0],
                start: 0,
                len: ms(400),
            },
            Burst {
                hz: &[400.0, 450.0],
                start: ms(600),
                len: ms(400),
            },
        ];
        const ANNOUNCE: &[Burst] = &[
            Burst {
                hz: &[880.0],
                start: 0,
                len: ms(120),
            },
            Burst {
                hz: &[880.0],
                start: ms(200),
                len: ms(120),
            },
        ];
        const TEST: &[Burst] = &[
            Burst {
                hz: &[523.25],
                start: 0,
                len: ms(300),
            },
            Burst {
                hz: &[659.25],
                start: ms(350),
                len: ms(300),
            },
            Burst {
                hz: &[783.99],
                start: ms(700),
                len: ms(400),
            },
        ];
        match self {
            Self::Ring => (RING, ms(3000)),
            Self::Announce => (ANNOUNCE, ms(340)),
            Self::SpeakerTest => (TEST, ms(1120)),
        }
    }

    /// Whether it plays until stopped.
    pub fn loops(self) -> bool {
        self == Self::Ring
    }
}

/// Volume 0–100 as a linear gain: the square of the fraction (40 dB over the range, close to
/// how loudness is heard), so 50 is 12 dB below 100.
pub fn gain(volume: u8) -> f32 {
    let v = f32::from(volume.min(100)) / 100.0;
    v * v
}

/// The samples of a cue at a volume, 20 ms at a time.
pub struct CueSource {
    cue: Cue,
    gain: f32,
    pos: usize,
}

/// Peak of a cue at volume 100: −6 dBFS, loud but never clipping.
const PEAK: f32 = 0.5 * i16::MAX as f32;
/// Fade in and out of each burst (no clicks).
const RAMP: usize = RATE / 200;

impl CueSource {
    pub fn new(cue: Cue, volume: u8) -> Self {
        Self {
            cue,
            gain: gain(volume),
            pos: 0,
        }
    }

    /// The next 20 ms, or `None` when a one-shot cue has ended.
    pub fn frame(&mut self) -> Option<[i16; FRAME]> {
        let (bursts, period) = self.cue.pattern();
        if !self.cue.loops() && self.pos >= period {
            return None;
        }
        let mut out = [0i16; FRAME];
        for (i, o) in out.iter_mut().enumerate() {
            let n = self.pos + i;
            let t = n % period;
            if !self.cue.loops() && n >= period {
                break;
            }
            let Some(b) = bursts.iter().find(|b| t >= b.start && t < b.start + b.len) else {
                continue;
            };
            let k = t - b.start;
            let env = (k.min(b.len - 1 - k) as f32 / RAMP as f32).min(1.0);
            let secs = n as f32 / RATE as f32;
            let v: f32 =
                b.hz.iter()
                    .map(|hz| (std::f32::consts::TAU * hz * secs).sin())
                    .sum::<f32>()
                    / b.hz.len() as f32;
            *o = (v * env * PEAK * self.gain) as i16;
        }
        self.pos += FRAME;
        Some(out)
    }
}

/// What a finished cue played.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Played {
    /// 20 ms frames handed to the speaker.
    pub frames: u64,
    /// The level the `meter` speaker measured (dBFS; sound cards do not say).
    pub level_dbfs: Option<f64>,
    /// Why it stopped early: the device went away.
    pub error: Option<String>,
}

/// A cue playing on its own thread; dropping it stops the sound.
pub struct CuePlayer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Played>>,
}

impl CuePlayer {
    /// Opens the speaker `device` and plays `cue` on it. An unknown or unusable device is an
    /// error here, before anything plays.
    pub fn start(device: &str, cue: Cue, volume: u8) -> Result<Self, DeviceError> {
        let stop = Arc::new(AtomicBool::new(false));
        let (opened_tx, opened) = std::sync::mpsc::channel();
        let device = device.to_owned();
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("cue-{cue:?}"))
            .spawn(move || {
                // Opened here: a sound card's stream stays on the thread that made it.
                let mut speaker = match Speaker::open(&device) {
                    Ok(s) => {
                        let _ = opened_tx.send(Ok(()));
                        s
                    }
                    Err(e) => {
                        let _ = opened_tx.send(Err(e));
                        return Played::default();
                    }
                };
                play(&mut speaker, CueSource::new(cue, volume), &flag)
            })
            .map_err(|e| DeviceError::CannotOpen {
                id: "cue thread".into(),
                reason: e.to_string(),
            })?;
        match opened.recv() {
            Ok(Ok(())) => Ok(Self {
                stop,
                thread: Some(thread),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(DeviceError::CannotOpen {
                id: "cue thread".into(),
                reason: "the sound thread ended".into(),
            }),
        }
    }

    /// Whether a one-shot cue is still sounding.
    pub fn is_playing(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops (a one-shot cue may already have ended) and says what played.
    pub fn stop(mut self) -> Played {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }

    /// Waits for a one-shot cue to end.
    pub fn wait(mut self) -> Played {
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for CuePlayer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn play(speaker: &mut Speaker, mut source: CueSource, stop: &AtomicBool) -> Played {
    let mut played = Played::default();
    let start = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let Some(frame) = source.frame() else { break };
        if let Err(e) = speaker.play(&frame) {
            played.error = Some(e.to_string());
            break;
        }
        played.frames += 1;
        // Paced by the clock, not by sleeping 20 ms after each frame (no drift).
        let due = start + Duration::from_millis(20 * played.frames);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    if let Speaker::Meter(m) = speaker {
        played.level_dbfs = Some(m.level_dbfs());
    }
    played
}

/// The settings page's microphone meter: the level of each 100 ms of the microphone, given
/// to `on_level` (dBFS, −inf for silence), until dropped.
pub struct LevelMeter {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl LevelMeter {
    pub fn start(
        device: &str,
        mut on_level: impl FnMut(Result<f64, DeviceError>) + Send + 'static,
    ) -> Result<Self, DeviceError> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (opened_tx, opened) = std::sync::mpsc::channel();
        let device = device.to_owned();
        let thread = std::thread::Builder::new()
            .name("mic-meter".into())
            .spawn(move || {
                let mut mic = match Microphone::open(&device) {
                    Ok(m) => {
                        let _ = opened_tx.send(Ok(()));
                        m
                    }
                    Err(e) => {
                        let _ = opened_tx.send(Err(e));
                        return;
                    }
                };
                let (mut energy, mut n) = (0f64, 0usize);
                while !flag.load(Ordering::Relaxed) {
                    let polled = mic.poll(|frame| {
                        energy += frame
                            .iter()
                            .map(|s| f64::from(*s) * f64::from(*s))
                            .sum::<f64>();
                        n += frame.len();
                    });
                    if let Err(e) = polled {
                        on_level(Err(e));
                        return;
                    }
                    if n >= RATE / 10 {
                        let rms = (energy / n as f64).sqrt() / f64::from(i16::MAX);
                        on_level(Ok(20.0 * rms.log10()));
                        (energy, n) = (0.0, 0);
                    }
                    std::thread::sleep(mic.poll_interval());
                }
            })
            .map_err(|e| DeviceError::CannotOpen {
                id: "meter thread".into(),
                reason: e.to_string(),
            })?;
        match opened.recv() {
            Ok(Ok(())) => Ok(Self {
                stop,
                thread: Some(thread),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(DeviceError::CannotOpen {
                id: "meter thread".into(),
                reason: "the meter thread ended".into(),
            }),
        }
    }
}

impl Drop for LevelMeter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rms_dbfs(frames: &[[i16; FRAME]]) -> f64 {
        let n = (frames.len() * FRAME).max(1) as f64;
        let e: f64 = frames
            .iter()
            .flatten()
            .map(|s| f64::from(*s) * f64::from(*s))
            .sum();
        20.0 * ((e / n).sqrt() / f64::from(i16::MAX)).log10()
    }

    #[test]
    fn the_ring_has_its_cadence_and_loops() {
        let mut s = CueSource::new(Cue::Ring, 100);
        // Two periods of 3 s = 300 frames, and it goes on.
        let frames: Vec<_> = (0..300).map(|_| s.frame().unwrap()).collect();
        assert!(s.frame().is_some());
        // On 0–0.4 s and 0.6–1.0 s, silent 0.4–0.6 s and 1.0–3.0 s; the same 3 s later.
        for base in [0, 150] {
            assert!(rms_dbfs(&frames[base + 2..base + 18]) > -15.0);
            assert!(rms_dbfs(&frames[base + 32..base + 48]) > -15.0);
            assert_eq!(rms_dbfs(&frames[base + 21..base + 29]), f64::NEG_INFINITY);
            assert_eq!(rms_dbfs(&frames[base + 51..base + 149]), f64::NEG_INFINITY);
        }
    }

    #[test]
    fn one_shot_cues_end_and_volume_scales_the_level() {
        let all = |cue, vol| {
            let mut s = CueSource::new(cue, vol);
            std::iter::from_fn(|| s.frame()).collect::<Vec<_>>()
        };
        assert_eq!(all(Cue::Announce, 100).len(), 17); // 340 ms
        assert_eq!(all(Cue::SpeakerTest, 100).len(), 56); // 1.12 s
        let loud = rms_dbfs(&all(Cue::SpeakerTest, 100));
        let half = rms_dbfs(&all(Cue::SpeakerTest, 50));
        assert!((loud - half - 12.04).abs() < 0.1, "{loud} vs {half}");
        assert_eq!(
            rms_dbfs(&all(Cue::SpeakerTest, 0)),
            f64::NEG_INFINITY,
            "volume 0 is silent"
        );
        let peak = all(Cue::Announce, 100)
            .iter()
            .flatten()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap();
        assert!(peak <= i16::MAX as u16 / 2 + 1, "peak {peak}");
    }

    #[test]
    fn a_player_plays_on_the_meter_and_stops_when_told() {
        let test = CuePlayer::start("meter", Cue::SpeakerTest, 100).unwrap();
        let played = test.wait();
        assert_eq!(played.frames, 56);
        let level = played.level_dbfs.unwrap();
        assert!(level > -20.0 && level < -6.0, "{level}");

        let ring = CuePlayer::start("meter", Cue::Ring, 30).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        assert!(ring.is_playing());
        let played = ring.stop();
        assert!(
            (5..=40).contains(&played.frames),
            "{} frames",
            played.frames
        );
        assert!(played.level_dbfs.unwrap() < level - 15.0);
    }

    #[test]
    fn an_unknown_device_is_an_error_before_anything_plays() {
        let e = CuePlayer::start("audio:nope", Cue::Ring, 50).err().unwrap();
        assert!(e.to_string().contains("nope"), "{e}");
        assert!(LevelMeter::start("no-such-mic", |_| {}).is_err());
    }

    #[test]
    fn the_level_meter_hears_the_tone_microphone() {
        let (tx, rx) = std::sync::mpsc::channel();
        let meter = LevelMeter::start("tone", move |l| {
            let _ = tx.send(l);
        })
        .unwrap();
        let level = rx.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
        drop(meter);
        assert!(level > -40.0 && level < 0.0, "{level}");
    }
}
