//! The local sources, shared by every peer: camera, screen, microphone (with echo
//! cancellation against what the speaker plays) and the speaker.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchboard_media::apm::{AudioProcessor, Stages};
use switchboard_media::audio::FRAME;
use switchboard_media::{
    Camera, DeviceError, DeviceKind, HoldMusic, I420Frame, MeterSpeaker, Microphone, Mixer, Speaker,
};
use tokio::sync::{broadcast, watch};

use crate::profile::VideoProfile;

use super::*;

/// The local sources, shared by every peer: the camera's pictures and the microphone's 20 ms
/// frames, broadcast while at least one call sends media.
pub struct Capture {
    pub video: broadcast::Sender<Arc<I420Frame>>,
    /// Our shared screen's pictures, while we share (`crate::share`).
    pub screen: broadcast::Sender<Arc<I420Frame>>,
    pub audio: broadcast::Sender<Arc<[i16; FRAME]>>,
    /// What the speaker plays: every other member's voice, mixed (the recorder's far end).
    pub played: broadcast::Sender<Arc<[i16; FRAME]>>,
    pub profile: watch::Sender<VideoProfile>,
    pub camera: watch::Sender<String>,
    pub microphone: watch::Sender<String>,
    pub speaker: watch::Sender<String>,
    /// Every remote member's decoded audio, mixed for the speaker.
    pub mixer: Arc<Mutex<Mixer>>,
    /// Supervision's buses (`crate::core::monitor`): what the monitored agent's engine sends
    /// the supervisor besides its microphone, and the customer while the supervisor barges.
    pub buses: super::Buses,
    /// What a member we hold hears.
    pub hold_music: Arc<Mutex<HoldMusic>>,
    /// The echo canceller, while the microphone is a sound card: the speaker task gives it the
    /// far end, the microphone task cleans the near end with it.
    aec: Arc<Mutex<Option<AudioProcessor>>>,
    audio_processing: bool,
    events: tokio::sync::mpsc::UnboundedSender<crate::event::Event>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Capture {
    pub fn new(
        profile: VideoProfile,
        camera: String,
        microphone: String,
        speaker: String,
        audio_processing: bool,
        hold_music: HoldMusic,
        events: tokio::sync::mpsc::UnboundedSender<crate::event::Event>,
    ) -> Arc<Self> {
        Arc::new(Self {
            video: broadcast::channel(8).0,
            screen: broadcast::channel(4).0,
            audio: broadcast::channel(8).0,
            played: broadcast::channel(8).0,
            profile: watch::channel(profile).0,
            camera: watch::channel(camera).0,
            microphone: watch::channel(microphone).0,
            speaker: watch::channel(speaker).0,
            mixer: Arc::new(Mutex::new(Mixer::new())),
            buses: super::Buses::default(),
            hold_music: Arc::new(Mutex::new(hold_music)),
            aec: Arc::new(Mutex::new(None)),
            audio_processing,
            events,
            tasks: Mutex::new(Vec::new()),
        })
    }

    /// Starts the synthetic sources if they are not running.
    pub fn start(self: &Arc<Self>) {
        let mut tasks = lock(&self.tasks);
        if !tasks.is_empty() {
            return;
        }
        let video = self.video.clone();
        let mut profile = self.profile.subscribe();
        let mut camera_id = self.camera.subscribe();
        let failed = device_failed(&self.events, DeviceKind::Camera);
        tasks.push(tokio::spawn(async move {
            let mut p = *profile.borrow_and_update();
            let open = |id: &str, p: VideoProfile| {
                // A real camera takes a moment to start: not on the runtime's threads.
                let (id, (w, h, fps)) = (id.to_owned(), (p.width as u32, p.height as u32, p.fps));
                tokio::task::spawn_blocking(move || Camera::open(&id, w, h, fps))
            };
            let mut camera = None;
            let mut opening = Some(open(&camera_id.borrow_and_update(), p));
            let mut tick = tokio::time::interval(p.frame_interval());
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    opened = async { opening.as_mut().expect("guarded").await }, if opening.is_some() => {
                        opening = None;
                        // A camera that cannot open sends nothing (never the test pattern to
                        // a customer); the agent is told and picks another.
                        camera = match opened {
                            Ok(Ok(c)) => Some(c),
                            Ok(Err(e)) => { failed(&camera_id.borrow(), &e); None }
                            Err(e) => { tracing::warn!("camera task: {e}"); None }
                        };
                    }
                    _ = tick.tick() => {
                        let Some(c) = camera.as_mut() else { continue };
                        match c.frame(unix_ms()) {
                            Ok(Some(frame)) => { let _ = video.send(Arc::new(frame)); }
                            Ok(None) => {}
                            Err(e) => { failed(&camera_id.borrow(), &e); camera = None; }
                        }
                    }
                    changed = camera_id.changed() => {
                        if changed.is_err() { return; }
                        // Hot switch: the old device closes, the encoders go on with the new
                        // one's pictures (a new size gets a keyframe of its own).
                        camera = None;
                        opening = Some(open(&camera_id.borrow_and_update(), p));
                    }
                    changed = profile.changed() => {
                        if changed.is_err() { return; }
                        let next = *profile.borrow_and_update();
                        match camera.take() {
                            // Same counter, new size: the receiver's order check goes on.
                            Some(Camera::Pattern(pattern)) if (next.width, next.height) != (p.width, p.height) => {
                                camera = Some(Camera::Pattern(pattern.resized(next.width, next.height)));
                            }
                            Some(Camera::Pattern(pattern)) => camera = Some(Camera::Pattern(pattern)),
                            // A real camera is asked for the mode closest to the new profile.
                            Some(Camera::Device(d)) => {
                                drop(d);
                                opening = Some(open(&camera_id.borrow(), next));
                            }
                            None => {}
                        }
                        if next.fps != p.fps {
                            tick = tokio::time::interval(next.frame_interval());
                        }
                        p = next;
                    }
                }
            }
        }));
        let audio = self.audio.clone();
        let aec = self.aec.clone();
        let processing = self.audio_processing;
        let failed = device_failed(&self.events, DeviceKind::Microphone);
        let mut microphone = self.microphone.subscribe();
        tasks.push(tokio::spawn(async move {
            let open = |id: &str| {
                let mic = Microphone::open(id).unwrap_or_else(|e| {
                    // The call goes on, silent, rather than failing: the agent picks another
                    // microphone and the customer never heard a test tone.
                    failed(id, &e);
                    Microphone::Silent
                });
                // A sound card hears the room, and the room hears the speaker: cancel the echo,
                // suppress noise, level the voice. Synthetic sources are clean already.
                *lock(&aec) = (processing && matches!(mic, Microphone::Sound(_)))
                    .then(|| AudioProcessor::new(Stages::default()));
                mic
            };
            let mut mic = open(&microphone.borrow_and_update());
            let mut tick = tokio::time::interval(mic.poll_interval());
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let polled = mic.poll(|mut f| {
                            if let Some(apm) = lock(&aec).as_mut() {
                                apm.capture(&mut f);
                            }
                            let _ = audio.send(Arc::new(f));
                        });
                        if let Err(e) = polled {
                            failed(&microphone.borrow(), &e);
                            mic = Microphone::Silent;
                            *lock(&aec) = None;
                        }
                    }
                    changed = microphone.changed() => {
                        if changed.is_err() { return; }
                        // Hot switch: the next frame comes from the new device; the call and
                        // its encoders go on.
                        mic = open(&microphone.borrow_and_update());
                        tick = tokio::time::interval(mic.poll_interval());
                        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                    }
                }
            }
        }));
        // The speaker: every 20 ms, one mixed frame of all members, also given to the echo
        // canceller as the far end.
        let mixer = self.mixer.clone();
        let aec = self.aec.clone();
        let played = self.played.clone();
        let mut speaker_id = self.speaker.subscribe();
        let failed = device_failed(&self.events, DeviceKind::Speaker);
        tasks.push(tokio::spawn(async move {
            let open = |id: &str| {
                Speaker::open(id).unwrap_or_else(|e| {
                    failed(id, &e);
                    Speaker::Meter(MeterSpeaker::new())
                })
            };
            let mut speaker = open(&speaker_id.borrow_and_update());
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let Some(frame) = lock(&mixer).mix() else { continue };
                        if let Some(apm) = lock(&aec).as_mut() {
                            apm.render(&frame);
                        }
                        if played.receiver_count() > 0 {
                            let _ = played.send(Arc::new(frame));
                        }
                        if let Err(e) = speaker.play(&frame) {
                            failed(&speaker_id.borrow(), &e);
                            speaker = Speaker::Meter(MeterSpeaker::new());
                        }
                    }
                    changed = speaker_id.changed() => {
                        if changed.is_err() { return; }
                        speaker = open(&speaker_id.borrow_and_update());
                    }
                }
            }
        }));
    }

    /// Stops the sources (no call sends media).
    pub fn stop(&self) {
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
    }
}

/// Reports a failed device to the engine's user (and the log).
fn device_failed(
    events: &tokio::sync::mpsc::UnboundedSender<crate::event::Event>,
    kind: DeviceKind,
) -> impl Fn(&str, &DeviceError) + Send + 'static {
    let events = events.clone();
    move |id, e| {
        tracing::warn!("{e}; the call goes on without it");
        let _ = events.send(crate::event::Event::DeviceFailed {
            kind,
            id: id.to_owned(),
            reason: e.to_string(),
        });
    }
}
