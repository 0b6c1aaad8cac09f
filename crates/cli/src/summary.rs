//! The call summary of CONTRACTS.md: what came from the far end, summed over members.

use std::time::Instant;

use serde::Serialize;
use switchboard_engine::PeerStats;
use switchboard_protocol::{EndCode, EndReason};

#[derive(Debug, Serialize)]
pub struct Summary {
    pub end_reason: EndReason,
    pub duration_ms: u64,
    pub setup_ms: Setup,
    pub video: VideoSummary,
    pub audio: AudioSummary,
    /// The far side's screen share, when there was one.
    pub screen: ScreenSummary,
    /// What the others said in the call's chat, `user: text`.
    pub chat: Vec<String>,
    /// Whether media could flow at all, and whether the path held.
    pub media_path: MediaPath,
    /// Holds, and what came from the far side while on hold.
    pub hold: crate::hold::HoldSummary,
    /// A consult about the call (`--consult`), and how it went.
    pub consult: crate::consult::ConsultSummary,
}

/// The media path (ICE + DTLS) to the others during the call.
#[derive(Debug, Default, Serialize)]
pub struct MediaPath {
    /// It came up at least once.
    pub up: bool,
    /// Times it went down, or was found missing (no path at all).
    pub lost: u32,
    /// From the start of the call (our call or the ring) to the first loss being told, ms.
    pub lost_after_ms: Option<u64>,
    /// Times it came back (an ICE restart).
    pub restored: u32,
    /// From the first loss to the first return, ms.
    pub restored_after_ms: Option<u64>,
    /// Down when the call ended.
    pub down_at_end: bool,
    /// `direct` or `relay`, as ICE last chose (relay if any member was reached through one).
    pub route: Option<switchboard_engine::Route>,
}

#[derive(Debug, Default, Serialize)]
pub struct ScreenSummary {
    pub received: u64,
    pub decoded: u64,
    /// The size of the last picture.
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Serialize)]
pub struct Setup {
    /// From the answer (our accept, or the far side joining) to the first decoded picture
    /// (in an audio call, the first decoded sound).
    pub accept_to_first_frame: Option<u64>,
}

#[derive(Debug, Default, Serialize)]
pub struct VideoSummary {
    pub sent: u64,
    pub received: u64,
    pub decoded: u64,
    pub in_order: u64,
    pub lost: u64,
    pub latency_ms_p50: Option<u64>,
}

#[derive(Debug, Default, Serialize)]
pub struct AudioSummary {
    pub sent: u64,
    pub received: u64,
    pub decoded: u64,
    pub lost: u64,
    pub latency_ms_p50: Option<u64>,
    /// In how many 40 ms blocks each hum of the tone microphones was heard: 440 (`tone`),
    /// 550, 660, 770 Hz — whose voices arrived (a monitor's carries the agent's and the
    /// customer's).
    pub tones: [u64; 4],
}

impl Summary {
    pub fn new(
        reason: EndReason,
        answered: Option<Instant>,
        first_frame: Option<Instant>,
        ended: Instant,
        peers: &[PeerStats],
    ) -> Self {
        let mut video = VideoSummary::default();
        let mut audio = AudioSummary::default();
        let mut screen = ScreenSummary::default();
        for p in peers {
            screen.received += p.screen.received;
            screen.decoded += p.screen.decoded;
            if p.screen.decoded > 0 {
                (screen.width, screen.height) = (p.screen.width, p.screen.height);
            }
            video.sent += p.video.sent;
            video.received += p.video.received;
            video.decoded += p.video.decoded;
            video.in_order += p.video.in_order;
            video.lost += p.video.lost;
            video.latency_ms_p50 = video.latency_ms_p50.max(p.video.latency_ms_p50);
            audio.sent += p.audio.sent;
            audio.received += p.audio.received;
            audio.decoded += p.audio.decoded;
            audio.lost += p.audio.lost;
            audio.latency_ms_p50 = audio.latency_ms_p50.max(p.audio.latency_ms_p50);
            for (t, n) in audio.tones.iter_mut().zip(p.audio.tones) {
                *t += n;
            }
        }
        Self {
            end_reason: reason,
            duration_ms: answered
                .map_or(0, |a| ended.saturating_duration_since(a).as_millis() as u64),
            setup_ms: Setup {
                accept_to_first_frame: match (answered, first_frame) {
                    (Some(a), Some(f)) => Some(f.saturating_duration_since(a).as_millis() as u64),
                    _ => None,
                },
            },
            video,
            audio,
            screen,
            chat: Vec::new(),
            media_path: MediaPath::default(),
            hold: Default::default(),
            consult: Default::default(),
        }
    }

    /// Answered and ended by someone hanging up (or a group call completing, or an agent
    /// handing the call on).
    pub fn normal(&self) -> bool {
        self.duration_ms > 0
            && matches!(
                self.end_reason.code,
                EndCode::Hangup | EndCode::CallCompleted | EndCode::Transferred
            )
    }

    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    pub fn human(&self) -> String {
        format!(
            "call ended: {:?} ({:?}) after {:.1} s; first frame {} ms after the answer; video {}/{} decoded, {} lost; audio {}/{} decoded, {} lost",
            self.end_reason.code,
            self.end_reason.side,
            self.duration_ms as f64 / 1000.0,
            self.setup_ms
                .accept_to_first_frame
                .map_or("-".to_string(), |v| v.to_string()),
            self.video.decoded,
            self.video.received,
            self.video.lost,
            self.audio.decoded,
            self.audio.received,
            self.audio.lost,
        )
    }
}
