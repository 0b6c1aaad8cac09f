//! `--hold AT:FOR`: put the far side on hold AT seconds after the first media, for FOR
//! seconds; and, on either side, what came from the far side while the call was on hold (for
//! the summary's `hold`), so a test of the CLI sees what a held party received.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use switchboard_engine::{Engine, PeerStats};
use switchboard_protocol::CallId;

/// Media in flight when a hold begins may still arrive for this long: the window of "what
/// came while on hold" starts after it.
const IN_FLIGHT: Duration = Duration::from_millis(500);

/// `AT:FOR` in seconds.
#[derive(Debug, Clone, Copy)]
pub struct HoldPlan {
    pub at: Duration,
    pub hold_for: Duration,
}

impl std::str::FromStr for HoldPlan {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        let (at, hold_for) = s.split_once(':').context("write it AT:FOR, in seconds")?;
        Ok(Self {
            at: secs(at)?,
            hold_for: secs(hold_for)?,
        })
    }
}

/// Seconds on the command line: 0 to a day.
pub fn secs(v: &str) -> Result<Duration> {
    let v: f64 = v
        .trim()
        .parse()
        .with_context(|| format!("{v:?} is not seconds"))?;
    if !(0.0..=86_400.0).contains(&v) {
        bail!("{v} s is out of range");
    }
    Ok(Duration::from_secs_f64(v))
}

/// The summary's `hold`.
#[derive(Debug, Default, Serialize)]
pub struct HoldSummary {
    /// Holds in the call (either side's), and their time in all, as the engine counted.
    pub count: u32,
    pub ms: u64,
    /// From the far side while on hold (after the first 500 ms): pictures decoded, timing
    /// marks of a `tone` microphone heard, audio frames decoded, and the level of the last
    /// second before the hold ended (dBFS; the music, if we were held).
    pub video_decoded: u64,
    pub marks: u64,
    pub audio_decoded: u64,
    pub level_dbfs: Option<f64>,
}

/// Follows the holds of one call.
#[derive(Debug, Default)]
pub struct HoldWatch {
    plan: Option<HoldPlan>,
    /// When to hold and when to resume (ours, from the plan), once media started.
    hold_at: Option<Instant>,
    resume_at: Option<Instant>,
    /// When to take the snapshot that opens the window, and the snapshot.
    window_from: Option<Instant>,
    first: Option<PeerStats>,
    pub summary: HoldSummary,
}

impl HoldWatch {
    pub fn new(plan: Option<HoldPlan>) -> Self {
        Self {
            plan,
            ..Self::default()
        }
    }

    /// Media started: the plan's clock starts.
    pub fn media_started(&mut self, now: Instant) {
        if let Some(p) = self.plan.take() {
            self.hold_at = Some(now + p.at);
            self.resume_at = Some(now + p.at + p.hold_for);
        }
    }

    /// The next moment something is due.
    pub fn due(&self) -> Option<Instant> {
        [self.hold_at, self.resume_at, self.window_from]
            .into_iter()
            .flatten()
            .min()
    }

    /// Does what is due at `now`.
    pub async fn fire(&mut self, engine: &Engine, call: &CallId, now: Instant) {
        if self.hold_at.is_some_and(|t| t <= now) {
            self.hold_at = None;
            eprintln!("holding");
            engine.hold(call, true);
        }
        if self.resume_at.is_some_and(|t| t <= now) {
            self.resume_at = None;
            eprintln!("resuming");
            engine.hold(call, false);
        }
        if self.window_from.is_some_and(|t| t <= now) {
            self.window_from = None;
            self.first = far(engine, call).await;
        }
    }

    /// `call_hold` came: on, or off.
    pub async fn told(&mut self, engine: &Engine, call: &CallId, on: bool, now: Instant) {
        if on {
            self.window_from = Some(now + IN_FLIGHT);
            return;
        }
        self.window_from = None;
        let (Some(a), Some(b)) = (self.first.take(), far(engine, call).await) else {
            return;
        };
        let s = &mut self.summary;
        s.video_decoded += b.video.decoded.saturating_sub(a.video.decoded);
        s.marks += b.audio.marks.saturating_sub(a.audio.marks);
        s.audio_decoded += b.audio.decoded.saturating_sub(a.audio.decoded);
        s.level_dbfs = Some(b.audio.recent_level_dbfs).filter(|l| l.is_finite());
    }
}

/// The stats from the far side (the one other member).
async fn far(engine: &Engine, call: &CallId) -> Option<PeerStats> {
    engine.stats(call).await.into_iter().next()
}
