//! The media that flows through a peer connection, one job per file over the per-peer state
//! here ([`PeerShared`]): `capture` (the local sources, shared by all peers, with echo
//! cancellation), `send` (one encoder per peer and track, following its own bitrate
//! estimate, keyframes on request), `receive` (RTP → assembler → OpenH264 with PLI, and RTP →
//! jitter buffer → Opus with FEC and PLC → the mixer).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use switchboard_media::{I420Frame, Mixer, Stamp};
use tokio::sync::broadcast;

use crate::rtc_builder::START_BPS;
use crate::stats::{Latencies, PeerStats};

mod capture;
mod receive;
mod send;

pub use capture::Capture;
pub use receive::{receive_audio, receive_video};
pub use send::{send_audio, send_video};

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

    /// Nothing of this kind is encoded now (camera off or muted; no screen shared; on hold;
    /// a supervisor's connection, which forwards instead).
    fn off(self, sh: &PeerShared) -> bool {
        if sh.held.load(Ordering::Relaxed) || sh.with_customer.load(Ordering::Relaxed) {
            return true;
        }
        match self {
            Self::Camera => sh.video_muted.load(Ordering::Relaxed),
            Self::Screen => !sh.screen_on.load(Ordering::Relaxed),
        }
    }

    /// On a supervisor's connection this line carries, as they are: the agent's camera (as
    /// encoded for the customer) on the camera line, the customer's on the screen line.
    fn forwarded(self, b: &Buses) -> (&broadcast::Sender<bytes::Bytes>, &AtomicBool) {
        match self {
            Self::Camera => (&b.agent_video, &b.agent_keyframe),
            Self::Screen => (&b.customer_video, &b.customer_keyframe),
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

/// Supervision's buses: decoded audio on its way to another connection's sender, and
/// pictures as H.264 access units — the customer's as they arrived, the agent's camera as
/// encoded for the customer — so the supervisor's connection costs a copy, not an encoder.
#[derive(Clone)]
pub struct Buses {
    /// The customer's voice, for the supervisor's connection.
    pub to_supervisor: Arc<Mutex<Mixer>>,
    /// The barging supervisor's voice, for the customer's connection.
    pub to_customer: Arc<Mutex<Mixer>>,
    /// The customer's camera, for the supervisor's connection (its screen m-line).
    pub customer_video: broadcast::Sender<bytes::Bytes>,
    /// Our camera as encoded for the customer, for the supervisor's connection.
    pub agent_video: broadcast::Sender<bytes::Bytes>,
    /// The supervisor's connection needs a keyframe of the customer's pictures: the
    /// customer's receiver asks the customer for one (PLI), since nothing here can make one.
    pub customer_keyframe: Arc<AtomicBool>,
    /// The same for our camera: the customer's encoder makes one.
    pub agent_keyframe: Arc<AtomicBool>,
}

impl Default for Buses {
    fn default() -> Self {
        Self {
            to_supervisor: Arc::default(),
            to_customer: Arc::default(),
            // A second of pictures: the forwarder is a plain copy, and falls behind only if
            // its task starves (then it waits for the next keyframe).
            customer_video: broadcast::channel(32).0,
            agent_video: broadcast::channel(32).0,
            customer_keyframe: Arc::default(),
            agent_keyframe: Arc::default(),
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
    /// We hold the call: music on hold goes out instead of the microphone, no video, and
    /// this member's audio is not played.
    pub held: AtomicBool,
    /// Ask the video receiver to drop its decoder state (then it asks for a keyframe).
    pub reset_decoder: AtomicBool,
    /// Supervision ([`crate::core::Gates`]): our decoded audio and received pictures of this
    /// member also go to the supervisor; the supervisor bus goes out with our microphone (and
    /// the customer's pictures on the screen line); this member is not played; its decoded
    /// audio goes to the customer; the customer bus goes out with our microphone.
    pub to_supervisor: AtomicBool,
    pub with_customer: AtomicBool,
    pub quiet: AtomicBool,
    pub barging: AtomicBool,
    pub with_supervisor: AtomicBool,
    pub buses: Buses,
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
        buses: Buses,
        first_media: Box<dyn Fn(&'static str, Instant) + Send + Sync>,
    ) -> Arc<Self> {
        Arc::new(Self {
            sending: AtomicBool::new(false),
            transport_up: AtomicBool::new(false),
            audio_muted: AtomicBool::new(false),
            video_muted: AtomicBool::new(false),
            screen_on: AtomicBool::new(false),
            held: AtomicBool::new(false),
            reset_decoder: AtomicBool::new(false),
            to_supervisor: AtomicBool::new(false),
            with_customer: AtomicBool::new(false),
            quiet: AtomicBool::new(false),
            barging: AtomicBool::new(false),
            with_supervisor: AtomicBool::new(false),
            buses,
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
