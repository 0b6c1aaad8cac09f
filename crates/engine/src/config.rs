//! How to start an engine.

/// How to start an engine.
#[derive(Clone)]
pub struct EngineConfig {
    /// The server's WebSocket URL, e.g. `ws://127.0.0.1:7700/ws`, or several nodes' URLs
    /// comma-separated (the signaling client moves to the next when its node goes).
    pub server: String,
    pub token: switchboard_protocol::Token,
    /// Where media sockets bind: `0.0.0.0:0` (every interface) or `127.0.0.1:0` (loopback).
    pub media_bind: String,
    pub video_profile: crate::VideoProfile,
    /// The camera's device id (`pattern` is the synthetic camera, always present).
    pub camera: String,
    /// The microphone's device id (`tone` is the synthetic microphone, always present).
    pub microphone: String,
    /// The speaker's device id (`meter` is the synthetic speaker, always present).
    pub speaker: String,
    /// Echo cancellation, noise suppression and gain control on a sound card's microphone
    /// (on by default; some headsets do their own).
    pub audio_processing: bool,
    /// Rewrites each local ICE candidate line before it is signalled: a static port-forward,
    /// or a network emulator in tests (a lossy, rate-capped relay in front of our socket).
    pub advertise: Option<crate::Advertise>,
    /// Music on hold: a WAV file a member we hold hears (absent: the shipped default).
    pub hold_music: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("server", &self.server)
            .field("media_bind", &self.media_bind)
            .field("video_profile", &self.video_profile)
            .field("camera", &self.camera)
            .field("microphone", &self.microphone)
            .field("speaker", &self.speaker)
            .field("audio_processing", &self.audio_processing)
            .field("advertise", &self.advertise.is_some())
            .field("hold_music", &self.hold_music)
            .finish_non_exhaustive()
    }
}

impl EngineConfig {
    pub fn new(server: impl Into<String>, token: switchboard_protocol::Token) -> Self {
        Self {
            server: server.into(),
            token,
            media_bind: "0.0.0.0:0".into(),
            video_profile: crate::VideoProfile::default(),
            camera: "pattern".into(),
            microphone: "tone".into(),
            speaker: "meter".into(),
            audio_processing: true,
            advertise: None,
            hold_music: None,
        }
    }
}
