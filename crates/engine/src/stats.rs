//! What each hop counted, per remote member and track. The UI, the CLI's `--json` summary and
//! the tests read these same numbers; the receive counts come from the frames themselves (the
//! pattern's frame counter and capture time), not from estimates.

use serde::Serialize;

/// Video, one direction each way with one member.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ts_rs::TS)]
pub struct VideoStats {
    /// Encoded frames we sent to this member.
    pub sent: u64,
    /// Of those, frames forwarded as another connection carries them, not encoded for this
    /// member (a supervisor's view of a call).
    pub forwarded: u64,
    /// Camera frames we did not send: the encoder's rate control skipped them, or the encoder
    /// fell behind the camera.
    pub skipped: u64,
    /// Complete access units that arrived from them.
    pub received: u64,
    /// Pictures the decoder produced.
    pub decoded: u64,
    /// Decoded pictures whose frame counter was above the previous one.
    pub in_order: u64,
    /// Frames the sender numbered that never decoded here (gaps in the frame counter).
    pub lost: u64,
    /// Frames given up (a packet never came) or skipped while waiting for a keyframe.
    pub dropped: u64,
    /// Keyframes we asked them for (PLI).
    pub keyframes_requested: u64,
    /// Keyframe requests they sent us.
    pub keyframe_requests_received: u64,
    /// The fraction of our packets the far end reported lost (RTCP RR, before NACK repair).
    pub far_loss: f64,
    /// The encoder's target now, bits per second (from the congestion controller).
    pub target_bps: u64,
    /// What we actually sent over the last second, bits per second.
    pub send_bps: u64,
    /// Our delay-based estimate of the path from them, sent to them as REMB, bits per second
    /// (0 until the path has shown a limit).
    pub remote_estimate_bps: u64,
    /// Median capture → decode latency from the embedded capture time, milliseconds.
    pub latency_ms_p50: Option<u64>,
    /// The size of the last decoded picture.
    pub width: u32,
    pub height: u32,
    /// The video m-line is negotiated to carry pictures (false in an audio call: `inactive`
    /// after an audio↔video renegotiation).
    pub negotiated: bool,
}

/// Audio, likewise.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ts_rs::TS)]
pub struct AudioStats {
    /// 20 ms Opus frames we sent.
    pub sent: u64,
    /// Packets that arrived (no duplicates).
    pub received: u64,
    /// Frames decoded from packets (including ones rebuilt from the next packet's FEC).
    pub decoded: u64,
    /// Of those, rebuilt from FEC.
    pub fec: u64,
    /// Frames concealed (PLC) because nothing arrived in time.
    pub concealed: u64,
    /// Packets that never arrived (gaps in the sequence numbers).
    pub lost: u64,
    /// Packets that arrived after their turn to play had passed (concealed instead).
    pub late: u64,
    /// Interarrival jitter, milliseconds.
    pub jitter_ms: f64,
    /// Timing marks the meter heard.
    pub marks: u64,
    /// Median capture → play latency of the timing marks, milliseconds.
    pub latency_ms_p50: Option<u64>,
    /// Level of what played, dBFS.
    pub level_dbfs: f64,
    /// The level over the last second, dBFS.
    pub recent_level_dbfs: f64,
    /// In how many 40 ms blocks each hum of the tone microphones
    /// ([`switchboard_media::TONE_FAMILY`], in that order: 440, 550, 660, 770 Hz) was heard:
    /// which parties' voices arrived (a monitor's mix carries two).
    pub tones: [u64; 4],
}

/// One remote member.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ts_rs::TS)]
pub struct PeerStats {
    pub user: String,
    pub video: VideoStats,
    /// The screen-share track (both directions as for the camera; zero while nobody shares).
    pub screen: VideoStats,
    pub audio: AudioStats,
    /// Round-trip time from RTCP, milliseconds, when known.
    pub rtt_ms: Option<f64>,
    /// 1 (bad) … 5 (excellent), from loss, RTT and jitter, like the SDKs' network quality.
    pub quality: u8,
    /// How media leaves here for this member, once ICE chose a path: through a relay when
    /// our end of the chosen pair is a relay candidate or the far end's is one we were told of.
    /// (A far end known only as peer-reflexive may still be the far end's relay: its own side
    /// says so.)
    pub route: Option<Route>,
}

/// The path media takes to a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// Straight between the two (host, server- or peer-reflexive candidates).
    Direct,
    /// Through a TURN relay (ours, the far end's, or both).
    Relay,
}

/// Network quality from loss (fraction), RTT and jitter (ms), in the spirit of TRTC's
/// `onNetworkQuality` (1 excellent … 6 down there; here 5 is best).
pub fn quality(loss: f64, rtt_ms: f64, jitter_ms: f64) -> u8 {
    let score = if loss > 0.15 || rtt_ms > 800.0 {
        1
    } else if loss > 0.08 || rtt_ms > 400.0 || jitter_ms > 80.0 {
        2
    } else if loss > 0.03 || rtt_ms > 250.0 || jitter_ms > 40.0 {
        3
    } else if loss > 0.01 || rtt_ms > 120.0 || jitter_ms > 20.0 {
        4
    } else {
        5
    };
    score as u8
}

/// A bounded sample of latencies for the median.
#[derive(Debug, Clone, Default)]
pub struct Latencies(std::collections::VecDeque<u64>);

impl Latencies {
    const KEEP: usize = 4096;

    pub fn push(&mut self, ms: u64) {
        if self.0.len() == Self::KEEP {
            self.0.pop_front();
        }
        self.0.push_back(ms);
    }

    pub fn p50(&self) -> Option<u64> {
        if self.0.is_empty() {
            return None;
        }
        let mut v: Vec<u64> = self.0.iter().copied().collect();
        v.sort_unstable();
        Some(v[v.len() / 2])
    }
}
