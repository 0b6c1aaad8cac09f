//! The media that flows through a peer connection: capture (shared by all peers), one encoder
//! per peer on the send side (each follows its own bitrate estimate), and on the receive side
//! RTP → assembler → OpenH264, and RTP → jitter buffer → Opus (FEC, PLC) → speaker.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rtc::media::Sample;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::sender_report::SenderReport;
use rtc::shared::time::SystemInstant;
use switchboard_media::apm::{AudioProcessor, Stages};
use switchboard_media::audio::FRAME;
use switchboard_media::{
    Camera, DeviceError, DeviceKind, H264Decoder, H264Encoder, I420Frame, JitterBuffer,
    MeterSpeaker, Microphone, Mixer, OpusDecoder, OpusEncoder, Playout, Speaker, Stamp,
};
use tokio::sync::{broadcast, watch};
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use crate::assemble::Assembler;
use crate::estimate::DelayEstimator;
use crate::feedback::{LossController, ntp_now, rtt_ms};
use crate::peer::{LocalTrack, START_BPS, is_keyframe_request, pli, remb, remb_packet};
use crate::profile::VideoProfile;
use crate::stats::quality;
use crate::stats::{Latencies, PeerStats};

pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A decoded picture from a remote member, for the video bridge and the tests.
#[derive(Debug, Clone)]
pub struct RemoteFrame {
    pub picture: Arc<I420Frame>,
    /// The pattern's stamp, when the sender is a pattern camera.
    pub stamp: Option<Stamp>,
    pub decoded_at: Instant,
}

/// The two video tracks of a peer connection: the camera, and a shared screen or window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoKind {
    Camera,
    Screen,
}

/// The screen encoder's ceiling (1080p screen content stays legible well below it), and its
/// frame-rate range: text needs sharpness more than motion.
pub const SCREEN_MAX_BPS: u64 = 2_500_000;
pub const SCREEN_MAX_FPS: u32 = 15;
pub const SCREEN_MIN_FPS: u32 = 5;

impl VideoKind {
    fn stats(self, s: &mut PeerStats) -> &mut crate::stats::VideoStats {
        match self {
            Self::Camera => &mut s.video,
            Self::Screen => &mut s.screen,
        }
    }

    fn target(self, sh: &PeerShared) -> &AtomicU64 {
        match self {
            Self::Camera => &sh.target_bps,
            Self::Screen => &sh.screen_bps,
        }
    }

    /// Nothing of this kind goes out now (camera off or muted; no screen shared).
    fn off(self, sh: &PeerShared) -> bool {
        match self {
            Self::Camera => sh.video_muted.load(Ordering::Relaxed),
            Self::Screen => !sh.screen_on.load(Ordering::Relaxed),
        }
    }

    fn frames(self, sh: &PeerShared) -> &broadcast::Sender<RemoteFrame> {
        match self {
            Self::Camera => &sh.frames,
            Self::Screen => &sh.screen_frames,
        }
    }

    fn latency(self, sh: &PeerShared) -> &Mutex<Latencies> {
        match self {
            Self::Camera => &sh.video_latency,
            Self::Screen => &sh.screen_latency,
        }
    }

    /// The name of its first picture in `FirstMedia`.
    fn media(self) -> &'static str {
        match self {
            Self::Camera => "video",
            Self::Screen => "screen",
        }
    }
}

/// What a peer's media tasks share with the engine.
pub struct PeerShared {
    /// Media may flow (the call is answered). Nothing is sent before.
    pub sending: AtomicBool,
    /// The transport (ICE + DTLS) is up. Frames written before would be dropped inside the
    /// stack yet counted as sent: a lost DTLS flight delays it by a second.
    pub transport_up: AtomicBool,
    pub audio_muted: AtomicBool,
    pub video_muted: AtomicBool,
    /// Our screen share goes to this member.
    pub screen_on: AtomicBool,
    /// Ask the video receiver to drop its decoder state (then it asks for a keyframe).
    pub reset_decoder: AtomicBool,
    pub stats: Mutex<PeerStats>,
    /// The bitrate the video encoder follows (from receiver reports), bits per second.
    pub target_bps: AtomicU64,
    /// The same for the screen-share encoder.
    pub screen_bps: AtomicU64,
    /// Decoded remote pictures.
    pub frames: broadcast::Sender<RemoteFrame>,
    /// Decoded pictures of the member's screen share.
    pub screen_frames: broadcast::Sender<RemoteFrame>,
    /// Called at the first media from this peer (video picture or audio frame): kind, when.
    pub first_media: Box<dyn Fn(&'static str, Instant) + Send + Sync>,
    /// The data channel, once created (offerer) or announced (answerer).
    pub data: Mutex<Option<crate::data::Channel>>,
    /// Where this member's decoded audio goes, under `key`.
    pub mixer: Arc<Mutex<Mixer>>,
    pub key: u64,
    video_latency: Mutex<Latencies>,
    screen_latency: Mutex<Latencies>,
    audio_latency: Mutex<Latencies>,
}

impl PeerShared {
    pub fn new(
        user: &str,
        key: u64,
        mixer: Arc<Mutex<Mixer>>,
        first_media: Box<dyn Fn(&'static str, Instant) + Send + Sync>,
    ) -> Arc<Self> {
        Arc::new(Self {
            sending: AtomicBool::new(false),
            transport_up: AtomicBool::new(false),
            audio_muted: AtomicBool::new(false),
            video_muted: AtomicBool::new(false),
            screen_on: AtomicBool::new(false),
            reset_decoder: AtomicBool::new(false),
            stats: Mutex::new(PeerStats {
                user: user.to_owned(),
                ..Default::default()
            }),
            target_bps: AtomicU64::new(START_BPS as u64),
            screen_bps: AtomicU64::new(START_BPS as u64),
            // Room for a consumer (the video bridge, a test) that is briefly busy.
            frames: broadcast::channel(16).0,
            screen_frames: broadcast::channel(16).0,
            first_media,
            data: Mutex::new(None),
            mixer,
            key,
            video_latency: Mutex::new(Latencies::default()),
            screen_latency: Mutex::new(Latencies::default()),
            audio_latency: Mutex::new(Latencies::default()),
        })
    }

    pub fn stats(&self) -> PeerStats {
        let mut s = lock(&self.stats).clone();
        s.video.latency_ms_p50 = lock(&self.video_latency).p50();
        s.audio.latency_ms_p50 = lock(&self.audio_latency).p50();
        s.video.target_bps = self.target_bps.load(Ordering::Relaxed);
        s.screen.latency_ms_p50 = lock(&self.screen_latency).p50();
        s.screen.target_bps = self.screen_bps.load(Ordering::Relaxed);
        s
    }

    /// Media goes out: the call is answered and the transport is up.
    fn may_send(&self) -> bool {
        self.sending.load(Ordering::Relaxed) && self.transport_up.load(Ordering::Relaxed)
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut PeerStats)) {
        f(&mut lock(&self.stats));
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicked media task must not take the stats down with it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

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

/// Encodes the camera (or the shared screen) for one peer and writes it to the peer's video
/// (or screen) track; forces a keyframe when the peer asks (PLI/FIR); follows the congestion
/// controller's target bitrate.
pub async fn send_video(
    shared: Arc<PeerShared>,
    local: LocalTrack,
    mut frames: broadcast::Receiver<Arc<I420Frame>>,
    profile: watch::Receiver<VideoProfile>,
    kind: VideoKind,
) {
    let target_bps = kind.target(&shared);
    let mut encoder: Option<(H264Encoder, usize, usize, u32)> = None;
    let mut payload_type = None;
    let mut last_write: Option<Instant> = None;
    let mut rate_window = (Instant::now(), 0u64);
    let mut applied_bps = 0u64;
    let mut last_forced: Option<Instant> = None;
    let mut loss = LossController::new(START_BPS);
    let mut loss_cap = START_BPS;
    // The receiver's delay-based estimate (REMB), once it has seen the path's limit.
    let mut delay_cap = f64::MAX;
    loop {
        tokio::select! {
            ev = local.track.poll() => match ev {
                Some(TrackLocalEvent::OnRtcpPacket(packets)) => {
                    for bps in packets.iter().filter_map(|p| remb(p.as_ref())) {
                        delay_cap = bps;
                        target_bps.store(loss_cap.min(delay_cap) as u64, Ordering::Relaxed);
                    }
                    for rr in packets.iter().filter_map(|p| p.as_any().downcast_ref::<ReceiverReport>()) {
                        for r in rr.reports.iter().filter(|r| r.ssrc == local.ssrc) {
                            let fraction = f64::from(r.fraction_lost) / 256.0;
                            let target = target_bps.load(Ordering::Relaxed) as f64;
                            loss_cap = loss.on_report(fraction, target, Instant::now());
                            target_bps.store(loss_cap.min(delay_cap) as u64, Ordering::Relaxed);
                            let rtt = rtt_ms(r.last_sender_report, r.delay, ntp_now());
                            let jitter_ms = f64::from(r.jitter) / 90.0;
                            shared.update(|s| {
                                if rtt.is_some() {
                                    s.rtt_ms = rtt;
                                }
                                kind.stats(s).far_loss = fraction;
                                s.quality = quality(fraction, s.rtt_ms.unwrap_or(0.0), jitter_ms.max(s.audio.jitter_ms));
                            });
                        }
                    }
                    if packets.iter().any(|p| is_keyframe_request(p.as_ref())) {
                        shared.update(|s| kind.stats(s).keyframe_requests_received += 1);
                        // Several receivers (or a repeated request) within 300 ms get one IDR:
                        // each is large, and a storm of them would starve the link.
                        if let Some((e, ..)) = encoder.as_mut()
                            && last_forced.is_none_or(|t: Instant| t.elapsed() > Duration::from_millis(300))
                        {
                            e.force_keyframe();
                            last_forced = Some(Instant::now());
                        }
                    }
                }
                Some(_) => {}
                None => return,
            },
            frame = frames.recv() => {
                let frame = match frame {
                    Ok(f) => f,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        shared.update(|s| kind.stats(s).skipped += n);
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if !shared.may_send() || kind.off(&shared) {
                    // Start again with a keyframe when sending resumes.
                    encoder = None;
                    last_write = None;
                    continue;
                }
                let p = *profile.borrow();
                // (fps, ceiling, frames between IDRs). A shared screen takes half the
                // camera's ceiling: the screen is what the far side reads.
                let (fps, max_bps, idr_every) = match kind {
                    VideoKind::Camera if shared.screen_on.load(Ordering::Relaxed) => (p.fps, p.max_bps / 2, p.fps * 4),
                    VideoKind::Camera => (p.fps, p.max_bps, p.fps * 4),
                    // Keyframes of a screen are large and rarely needed: PLI asks for one.
                    VideoKind::Screen => (SCREEN_MAX_FPS, SCREEN_MAX_BPS, SCREEN_MAX_FPS * 10),
                };
                let target = target_bps.load(Ordering::Relaxed).min(max_bps);
                let (w, h) = (frame.width(), frame.height());
                if encoder.as_ref().is_none_or(|(_, ew, eh, efps)| (*ew, *eh, *efps) != (w, h, fps)) {
                    match H264Encoder::new(target as u32, fps as f32, idr_every, kind == VideoKind::Screen) {
                        Ok(e) => {
                            encoder = Some((e, w, h, fps));
                            applied_bps = target;
                        }
                        Err(e) => {
                            tracing::error!("cannot start the H.264 encoder: {e}");
                            return;
                        }
                    }
                }
                let Some((enc, ..)) = encoder.as_mut() else { continue };
                // Follow the estimate when it moved by more than 5 %.
                if target.abs_diff(applied_bps) * 20 > applied_bps {
                    enc.set_bitrate(target as u32);
                    applied_bps = target;
                }
                let au = match enc.encode(&frame) {
                    Ok(au) => au,
                    Err(e) => {
                        tracing::warn!("encode failed: {e}");
                        continue;
                    }
                };
                if au.is_empty() {
                    // The rate controller skipped this frame.
                    shared.update(|s| kind.stats(s).skipped += 1);
                    continue;
                }
                if payload_type.is_none() {
                    payload_type = local.payload_type().await;
                }
                let Some(pt) = payload_type else { continue };
                let now = Instant::now();
                let duration = last_write.map_or(Duration::from_secs(1) / fps, |t| now - t);
                last_write = Some(now);
                let bytes = au.len() as u64;
                let sample = Sample {
                    data: Bytes::from(au),
                    duration,
                    ..Sample::new(now)
                };
                if local.track.sample_writer(local.ssrc, pt).write_sample(&sample).await.is_ok() {
                    rate_window.1 += bytes * 8;
                    let elapsed = rate_window.0.elapsed();
                    let bps = if elapsed >= Duration::from_secs(1) {
                        let bps = (rate_window.1 as f64 / elapsed.as_secs_f64()) as u64;
                        rate_window = (Instant::now(), 0);
                        Some(bps)
                    } else {
                        None
                    };
                    shared.update(|s| {
                        let v = kind.stats(s);
                        v.sent += 1;
                        if let Some(bps) = bps {
                            v.send_bps = bps;
                        }
                    });
                }
            }
        }
    }
}

/// Encodes the microphone for one peer (Opus, 20 ms, in-band FEC) and writes it.
pub async fn send_audio(
    shared: Arc<PeerShared>,
    local: LocalTrack,
    mut frames: broadcast::Receiver<Arc<[i16; FRAME]>>,
) {
    let mut encoder = match OpusEncoder::new(32_000, 10) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!("cannot start the Opus encoder: {e}");
            return;
        }
    };
    let mut payload_type = None;
    loop {
        let frame = match frames.recv().await {
            Ok(f) => f,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if !shared.may_send() || shared.audio_muted.load(Ordering::Relaxed) {
            continue;
        }
        let packet = match encoder.encode(&frame) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("opus encode failed: {e}");
                continue;
            }
        };
        if payload_type.is_none() {
            payload_type = local.payload_type().await;
        }
        let Some(pt) = payload_type else { continue };
        let sample = Sample {
            data: Bytes::from(packet),
            duration: Duration::from_millis(20),
            ..Sample::new(Instant::now())
        };
        if local
            .track
            .sample_writer(local.ssrc, pt)
            .write_sample(&sample)
            .await
            .is_ok()
        {
            shared.update(|s| s.audio.sent += 1);
        }
    }
}

/// Receives one remote video track: reassembles, decodes, reads the pattern's stamp, counts,
/// and asks for a keyframe whenever the picture cannot go on.
pub async fn receive_video(shared: Arc<PeerShared>, track: Arc<dyn TrackRemote>, kind: VideoKind) {
    let mut decoder = match H264Decoder::new() {
        Ok(d) => d,
        Err(e) => {
            tracing::error!("cannot start the H.264 decoder: {e}");
            return;
        }
    };
    // A hole may stay open this long for a NACK retransmission.
    let mut assembler = Assembler::new(Duration::from_millis(600));
    let mut media_ssrc = 0u32;
    let mut last_pli: Option<Instant> = None;
    let mut last_frame: Option<u32> = None;
    let mut first_frame: Option<u32> = None;
    let mut first = true;
    let mut estimator = DelayEstimator::new();
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        let units = tokio::select! {
            ev = track.poll() => match ev {
                Some(TrackRemoteEvent::OnRtpPacket(pkt)) => {
                    media_ssrc = pkt.header.ssrc;
                    let size = pkt.payload.len() + 12;
                    if let Some(bps) = estimator.on_packet(pkt.header.sequence_number, pkt.header.timestamp, size, Instant::now()) {
                        let _ = track.write_rtcp(remb_packet(media_ssrc, bps)).await;
                        shared.update(|s| kind.stats(s).remote_estimate_bps = bps as u64);
                    }
                    assembler.push(pkt.header.sequence_number, pkt.header.timestamp, pkt.header.marker, pkt.payload, Instant::now())
                }
                Some(TrackRemoteEvent::OnEnded) | None => return,
                Some(_) => continue,
            },
            _ = tick.tick() => assembler.poll(Instant::now()),
        };
        if shared.reset_decoder.swap(false, Ordering::Relaxed) {
            match H264Decoder::new() {
                Ok(d) => decoder = d,
                Err(e) => tracing::error!("cannot restart the H.264 decoder: {e}"),
            }
            assembler.reset();
        }
        for au in units {
            shared.update(|s| kind.stats(s).received += 1);
            match decoder.decode(&au.data) {
                Ok(Some(picture)) => {
                    let now = Instant::now();
                    let stamp = Stamp::read(&picture);
                    if first {
                        first = false;
                        (shared.first_media)(kind.media(), now);
                    }
                    if let Some(st) = stamp {
                        let lat = unix_ms().saturating_sub(st.capture_ms);
                        lock(kind.latency(&shared)).push(lat);
                        first_frame.get_or_insert(st.frame);
                    }
                    let in_order = match (stamp, last_frame) {
                        (Some(st), Some(prev)) => st.frame > prev,
                        (Some(_), None) => true,
                        _ => false,
                    };
                    if let Some(st) = stamp
                        && in_order
                    {
                        last_frame = Some(st.frame);
                    }
                    let (w, h) = (picture.width() as u32, picture.height() as u32);
                    shared.update(|s| {
                        let v = kind.stats(s);
                        v.decoded += 1;
                        v.width = w;
                        v.height = h;
                        if in_order {
                            v.in_order += 1;
                        }
                        if let (Some(a), Some(b)) = (first_frame, last_frame) {
                            v.lost = (u64::from(b - a) + 1).saturating_sub(v.in_order);
                        }
                    });
                    let _ = kind.frames(&shared).send(RemoteFrame {
                        picture: Arc::new(picture),
                        stamp,
                        decoded_at: now,
                    });
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!("decode failed, asking for a keyframe: {e}");
                    assembler.reset();
                }
            }
        }
        let counts = assembler.counts;
        shared.update(|s| kind.stats(s).dropped = counts.frames_incomplete + counts.frames_skipped);
        if assembler.needs_keyframe()
            && media_ssrc != 0
            // One request per half second: the keyframe it asks for needs time to arrive.
            && last_pli.is_none_or(|t| t.elapsed() > Duration::from_millis(500))
        {
            last_pli = Some(Instant::now());
            if track.write_rtcp(pli(media_ssrc)).await.is_ok() {
                shared.update(|s| kind.stats(s).keyframes_requested += 1);
            }
        }
    }
}

/// Receives one remote audio track and plays it every 20 ms into the meter.
pub async fn receive_audio(shared: Arc<PeerShared>, track: Arc<dyn TrackRemote>) {
    let mut decoder = match OpusDecoder::new() {
        Ok(d) => d,
        Err(e) => {
            tracing::error!("cannot start the Opus decoder: {e}");
            return;
        }
    };
    let mut jitter = JitterBuffer::new();
    let mut meter = MeterSpeaker::new();
    // The sender's clock: (RTP timestamp, Unix ms) from its latest sender report.
    let mut sender_clock: Option<(u32, f64)> = None;
    let mut first = true;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    // After a stall, do not play the missed ticks in a burst: that would run the play position
    // ahead of packets still on their way and turn them into late ones. The buffer trims
    // itself instead when it has grown.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            ev = track.poll() => match ev {
                Some(TrackRemoteEvent::OnRtpPacket(pkt)) => {
                    if pkt.payload.is_empty() { continue; }
                    jitter.push(pkt.header.sequence_number, pkt.header.timestamp, pkt.payload.to_vec(), Instant::now());
                }
                Some(TrackRemoteEvent::OnRtcpPacket(packets)) => {
                    for sr in packets.iter().filter_map(|p| p.as_any().downcast_ref::<SenderReport>()) {
                        let unix = SystemInstant::ntp2unix(sr.ntp_time).as_secs_f64() * 1000.0;
                        sender_clock = Some((sr.rtp_time, unix));
                    }
                }
                Some(TrackRemoteEvent::OnEnded) | None => return,
                Some(_) => {}
            },
            _ = tick.tick() => {
                let pcm = match jitter.pop() {
                    Playout::Packet(p) => {
                        // Capture → play: the packet's RTP time on the sender's wall clock.
                        if let (Some((rtp0, unix0)), Some(ts)) = (sender_clock, jitter.played_ts()) {
                            let captured = unix0 + f64::from(ts.wrapping_sub(rtp0) as i32) / 48.0;
                            let ms = unix_ms() as f64 - captured;
                            if (0.0..10_000.0).contains(&ms) {
                                lock(&shared.audio_latency).push(ms as u64);
                            }
                        }
                        decoder.decode(&p).ok()
                    }
                    Playout::Fec(next) => decoder.conceal(Some(&next)).ok(),
                    Playout::Conceal => decoder.conceal(None).ok(),
                    Playout::Silence => None,
                };
                if let Some(pcm) = pcm {
                    // The per-member meter keeps this member's level and marks for the stats.
                    meter.play(&pcm);
                    lock(&shared.mixer).push(shared.key, &pcm);
                    if first && jitter.counts.played > 0 {
                        first = false;
                        (shared.first_media)("audio", Instant::now());
                    }
                }
                let (c, lost) = (jitter.counts, jitter.lost());
                let marks = meter.marks().len() as u64;
                let (jit, level) = (jitter.jitter_ms(), meter.level_dbfs());
        let recent = meter.recent_level_dbfs();
                shared.update(|s| {
                    let a = &mut s.audio;
                    a.received = c.received;
                    a.decoded = c.played + c.fec;
                    a.fec = c.fec;
                    a.concealed = c.concealed;
                    // Late packets arrived, but after their turn: counted apart from loss.
                    a.late = c.late;
                    a.lost = lost;
                    a.jitter_ms = jit;
                    a.marks = marks;
                    a.level_dbfs = level;
                    a.recent_level_dbfs = recent;
                });
            }
        }
    }
}
