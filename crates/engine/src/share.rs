//! Our screen share: a thread that captures the chosen screen or window at an adaptive frame
//! rate, scales it to at most 1080p and broadcasts the pictures to every peer's screen encoder
//! (and the recorder). A window that closes, or a share stopped from outside, ends it and the
//! engine tells the others.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use switchboard_media::I420Frame;
use switchboard_media::convert::shrink_to;
use switchboard_media::screen::{CaptureError, ScreenCapturer};
use tokio::sync::broadcast;

use crate::pipeline::{SCREEN_MAX_FPS, SCREEN_MIN_FPS};

/// How long capture may fail (a minimised window) before the share ends.
const GIVE_UP: Duration = Duration::from_secs(30);

/// The largest picture sent (a 4K screen is scaled down to this).
pub const MAX_WIDTH: usize = 1920;
pub const MAX_HEIGHT: usize = 1080;

/// The frame rate for a screen encoder's bitrate and what one capture costs: 5–15 fps. About
/// 100 kbit/s per frame per second keeps text sharp (fewer, sharper pictures rather than a
/// blurred stream), and capture may use at most 40 % of one core.
pub fn adaptive_fps(target_bps: u64, capture_cost: Duration) -> u32 {
    let by_rate = (target_bps / 100_000) as u32;
    let by_cost = if capture_cost.is_zero() {
        SCREEN_MAX_FPS
    } else {
        (0.4 / capture_cost.as_secs_f64()) as u32
    };
    by_rate.min(by_cost).clamp(SCREEN_MIN_FPS, SCREEN_MAX_FPS)
}

/// A running share. Dropping it stops the capture thread.
pub struct ScreenShare {
    pub source: String,
    stop: Arc<AtomicBool>,
    /// The frame rate the thread runs at now (for the stats and the tests).
    pub fps: Arc<AtomicU64>,
}

impl ScreenShare {
    /// Starts capturing an opened source. `budget` is the screen encoders' bitrate now (the
    /// lowest among the peers); `ended` is called once if capture stops by itself.
    pub fn start(
        source: String,
        mut capturer: ScreenCapturer,
        frames: broadcast::Sender<Arc<I420Frame>>,
        budget: Arc<AtomicU64>,
        ended: impl FnOnce(CaptureError) + Send + 'static,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let fps = Arc::new(AtomicU64::new(u64::from(SCREEN_MAX_FPS)));
        let (s, f) = (stop.clone(), fps.clone());
        std::thread::Builder::new()
            .name("screen-share".into())
            .spawn(move || {
                let mut cost = Duration::ZERO;
                // Since when capture fails without the source being gone (a minimised window).
                let mut failing: Option<Instant> = None;
                while !s.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    match capturer.frame() {
                        Ok(picture) => {
                            failing = None;
                            let picture = shrink_to(&picture, MAX_WIDTH, MAX_HEIGHT);
                            if s.load(Ordering::Relaxed) {
                                break;
                            }
                            let _ = frames.send(Arc::new(picture));
                        }
                        // The far side keeps the last picture while the window is away, for
                        // a while.
                        Err(CaptureError::Failed(why))
                            if failing.get_or_insert(started).elapsed() < GIVE_UP =>
                        {
                            tracing::debug!("screen capture: {why}; trying again");
                        }
                        Err(e) => {
                            if !s.load(Ordering::Relaxed) {
                                ended(e);
                            }
                            return;
                        }
                    }
                    // A moving average, so that one slow capture does not halve the rate.
                    cost = (cost * 3 + started.elapsed()) / 4;
                    let rate = adaptive_fps(budget.load(Ordering::Relaxed), cost);
                    f.store(u64::from(rate), Ordering::Relaxed);
                    let interval = Duration::from_secs(1) / rate;
                    std::thread::sleep(interval.saturating_sub(started.elapsed()));
                }
            })?;
        Ok(Self { source, stop, fps })
    }
}

impl Drop for ScreenShare {
    fn drop(&mut self) {
        // The thread sees it after its current picture; it sends nothing more.
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frame_rate_follows_the_bitrate_and_the_capture_cost() {
        let cheap = Duration::from_millis(5);
        assert_eq!(adaptive_fps(2_000_000, cheap), 15);
        assert_eq!(adaptive_fps(900_000, cheap), 9);
        // A starved link still shows the screen, slowly.
        assert_eq!(adaptive_fps(100_000, cheap), 5);
        // A 60 ms capture (a 4K screen without shared memory) is held to 6 fps.
        assert_eq!(adaptive_fps(2_000_000, Duration::from_millis(60)), 6);
        assert_eq!(adaptive_fps(2_000_000, Duration::from_millis(500)), 5);
    }
}
