//! Delay-based bandwidth estimation on the receiving side, sans-IO: libwebrtc's receive-side
//! GCC (trendline filter on the delay gradient, adaptive threshold overuse detector, AIMD rate
//! control), sent back to the sender as RTCP REMB. It sees a queue building on the path before
//! packets are dropped, which the loss-based rules (crate::feedback) cannot.
//!
//! Send times come from the RTP timestamps (90 kHz capture times of the frames): every packet
//! of a frame shares one, so a frame is one packet group, as in libwebrtc's
//! `InterArrivalDelta` without abs-send-time.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::rtc_builder::{MAX_BPS, MIN_BPS};

/// What the detector concludes from the trend of the queueing delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    Normal,
    Overusing,
    Underusing,
}

/// Trendline filter and overuse detector (libwebrtc `TrendlineEstimator`, default settings).
#[derive(Debug)]
struct Trendline {
    first_arrival: Option<Instant>,
    accumulated_ms: f64,
    smoothed_ms: f64,
    window: VecDeque<(f64, f64)>,
    deltas: u32,
    threshold: f64,
    last_threshold_update: Option<f64>,
    over_ms: f64,
    over_count: u32,
    prev_trend: f64,
    usage: Usage,
}

const WINDOW: usize = 20;
const SMOOTHING: f64 = 0.9;
const GAIN: f64 = 4.0;
const K_UP: f64 = 0.0087;
const K_DOWN: f64 = 0.039;
const OVERUSE_TIME_MS: f64 = 10.0;

impl Trendline {
    fn new() -> Self {
        Self {
            first_arrival: None,
            accumulated_ms: 0.0,
            smoothed_ms: 0.0,
            window: VecDeque::with_capacity(WINDOW + 1),
            deltas: 0,
            threshold: 12.5,
            last_threshold_update: None,
            over_ms: -1.0,
            over_count: 0,
            prev_trend: 0.0,
            usage: Usage::Normal,
        }
    }

    /// One group's delay variation (`arrival delta − send delta`, ms), arriving at `arrival`.
    fn update(&mut self, variation_ms: f64, send_delta_ms: f64, arrival: Instant) -> Usage {
        let first = *self.first_arrival.get_or_insert(arrival);
        let t = arrival.duration_since(first).as_secs_f64() * 1000.0;
        self.deltas = (self.deltas + 1).min(1000);
        self.accumulated_ms += variation_ms;
        self.smoothed_ms = SMOOTHING * self.smoothed_ms + (1.0 - SMOOTHING) * self.accumulated_ms;
        self.window.push_back((t, self.smoothed_ms));
        if self.window.len() > WINDOW {
            self.window.pop_front();
        }
        let trend = if self.window.len() == WINDOW {
            slope(&self.window).unwrap_or(self.prev_trend)
        } else {
            self.prev_trend
        };
        self.detect(trend, send_delta_ms, t);
        self.usage
    }

    fn detect(&mut self, trend: f64, send_delta_ms: f64, now_ms: f64) {
        let modified = f64::from(self.deltas.min(60)) * trend * GAIN;
        if modified > self.threshold {
            if self.over_ms < 0.0 {
                self.over_ms = send_delta_ms / 2.0;
            } else {
                self.over_ms += send_delta_ms;
            }
            self.over_count += 1;
            if self.over_ms > OVERUSE_TIME_MS && self.over_count > 1 && trend >= self.prev_trend {
                self.over_ms = 0.0;
                self.over_count = 0;
                self.usage = Usage::Overusing;
            }
        } else if modified < -self.threshold {
            self.over_ms = -1.0;
            self.over_count = 0;
            self.usage = Usage::Underusing;
        } else {
            self.over_ms = -1.0;
            self.over_count = 0;
            self.usage = Usage::Normal;
        }
        self.prev_trend = trend;
        self.adapt_threshold(modified, now_ms);
    }

    fn adapt_threshold(&mut self, modified: f64, now_ms: f64) {
        let last = *self.last_threshold_update.get_or_insert(now_ms);
        // A spike far above the threshold (a burst, a route change) must not drag it up.
        if modified.abs() > self.threshold + 15.0 {
            self.last_threshold_update = Some(now_ms);
            return;
        }
        let k = if modified.abs() < self.threshold {
            K_DOWN
        } else {
            K_UP
        };
        let dt = (now_ms - last).min(100.0);
        self.threshold =
            (self.threshold + k * (modified.abs() - self.threshold) * dt).clamp(6.0, 600.0);
        self.last_threshold_update = Some(now_ms);
    }
}

/// Least-squares slope of the points.
fn slope(points: &VecDeque<(f64, f64)>) -> Option<f64> {
    let n = points.len() as f64;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let (num, den) = points.iter().fold((0.0, 0.0), |(num, den), (x, y)| {
        (num + (x - mx) * (y - my), den + (x - mx) * (x - mx))
    });
    (den != 0.0).then(|| num / den)
}

/// Bytes received over the last second.
#[derive(Debug, Default)]
struct RateWindow {
    packets: VecDeque<(Instant, usize)>,
    bytes: usize,
}

impl RateWindow {
    fn push(&mut self, at: Instant, size: usize) {
        self.packets.push_back((at, size));
        self.bytes += size;
        while let Some(&(t, s)) = self.packets.front() {
            if at.duration_since(t) <= Duration::from_secs(1) {
                break;
            }
            self.bytes -= s;
            self.packets.pop_front();
        }
    }

    /// Bits per second over the window (or what there is of it: an overuse at call start must
    /// not be missed for want of a full second).
    fn bps(&self, now: Instant) -> Option<f64> {
        let first = self.packets.front()?.0;
        let span = now.duration_since(first).as_secs_f64().max(0.2);
        Some(self.bytes as f64 * 8.0 / span.min(1.0))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    Hold,
    Increase,
    Decrease,
}

/// Packets lost on the path, counted on first arrival: a NACK retransmission fills the hole
/// later, so the receiver reports (which count it as received) hide a path that drops a large
/// share of what is sent; this does not.
#[derive(Debug, Default)]
struct LossWindow {
    /// Highest sequence number seen, unwrapped.
    highest: Option<i64>,
    expected: u32,
    received: u32,
    since: Option<Instant>,
    /// Loss over the last complete window.
    last: f64,
}

/// Loss is judged over at least this long and this many packets.
const LOSS_WINDOW: Duration = Duration::from_millis(500);
const LOSS_MIN_PACKETS: u32 = 20;

impl LossWindow {
    /// Returns the loss fraction when a window just completed.
    fn push(&mut self, seq: u16, now: Instant) -> Option<f64> {
        let since = *self.since.get_or_insert(now);
        match self.highest {
            None => {
                self.highest = Some(i64::from(seq));
                self.expected += 1;
                self.received += 1;
            }
            Some(h) => {
                let delta = i64::from(seq.wrapping_sub(h as u16) as i16);
                if delta > 0 {
                    self.highest = Some(h + delta);
                    self.expected += delta as u32;
                    self.received += 1;
                }
                // delta <= 0: a retransmission or a reordered packet, late for this count.
            }
        }
        if now.duration_since(since) < LOSS_WINDOW || self.expected < LOSS_MIN_PACKETS {
            return None;
        }
        self.last = 1.0 - f64::from(self.received) / f64::from(self.expected);
        self.expected = 0;
        self.received = 0;
        self.since = Some(now);
        Some(self.last)
    }
}

/// Above this first-arrival loss the path is full: cut to what arrives, less half the loss
/// (libwebrtc's loss rule, applied to the loss before repair).
const LOSS_CUT: f64 = 0.10;
/// Above this, hold: the path may be at its limit.
const LOSS_HOLD: f64 = 0.02;

/// The receive-side estimator: feed it every video RTP packet; it says when to send a REMB.
#[derive(Debug)]
pub struct DelayEstimator {
    loss: LossWindow,
    trend: Trendline,
    rate: RateWindow,
    /// The group being received: RTP timestamp and the arrival of its latest packet.
    current: Option<(u32, Instant)>,
    /// The last complete group: RTP timestamp and arrival of its last packet.
    previous: Option<(u32, Instant)>,
    control: Control,
    /// The estimate, once the path has shown its limit (before that the sender's loss-based
    /// rules alone decide).
    estimate: Option<f64>,
    /// Average incoming rate at the overuses seen: the link's capacity, while it holds.
    capacity: Option<f64>,
    last_change: Option<Instant>,
    last_decrease: Option<Instant>,
    last_sent: Option<(Instant, f64)>,
}

impl Default for DelayEstimator {
    fn default() -> Self {
        Self::new()
    }
}

impl DelayEstimator {
    pub fn new() -> Self {
        Self {
            loss: LossWindow::default(),
            trend: Trendline::new(),
            rate: RateWindow::default(),
            current: None,
            previous: None,
            control: Control::Hold,
            estimate: None,
            capacity: None,
            last_change: None,
            last_decrease: None,
            last_sent: None,
        }
    }

    /// A video RTP packet `seq` of `size` bytes with `rtp_ts` arrived at `now`. Returns the
    /// estimate to send in a REMB when one is due: at once when it fell by 3 % or more,
    /// otherwise once a second.
    pub fn on_packet(&mut self, seq: u16, rtp_ts: u32, size: usize, now: Instant) -> Option<f64> {
        self.rate.push(now, size);
        if let Some(loss) = self.loss.push(seq, now) {
            self.loss_update(loss, now);
        }
        match self.current {
            Some((ts, _)) if ts == rtp_ts => self.current = Some((ts, now)),
            Some((ts, _)) if (rtp_ts.wrapping_sub(ts) as i32) < 0 => {
                // A late packet of an older frame (reordering, a retransmission): not a group.
            }
            Some(done) => {
                self.current = Some((rtp_ts, now));
                self.complete(done, now);
            }
            None => self.current = Some((rtp_ts, now)),
        }
        self.due(now)
    }

    /// The current estimate, bits per second.
    pub fn estimate(&self) -> Option<f64> {
        self.estimate
    }

    fn complete(&mut self, group: (u32, Instant), now: Instant) {
        let Some(prev) = self.previous.replace(group) else {
            return;
        };
        let send_delta_ms = f64::from(group.0.wrapping_sub(prev.0) as i32) / 90.0;
        if send_delta_ms <= 0.0 {
            return;
        }
        let arrival_delta_ms = group.1.duration_since(prev.1).as_secs_f64() * 1000.0;
        let usage = self
            .trend
            .update(arrival_delta_ms - send_delta_ms, send_delta_ms, group.1);
        self.control_update(usage, now);
    }

    /// A path that drops more than it should is full, whatever the delay trend says: under
    /// CPU load arrival times are noisy enough to hide a queue that is overflowing.
    fn loss_update(&mut self, loss: f64, now: Instant) {
        if loss <= LOSS_CUT {
            return;
        }
        let Some(incoming) = self.rate.bps(now) else {
            return;
        };
        let cut = incoming * (1.0 - 0.5 * loss);
        let next = self.estimate.map_or(cut, |e| cut.min(e));
        self.estimate = Some(next.clamp(MIN_BPS, MAX_BPS));
        self.capacity = Some(self.capacity.map_or(incoming, |c| c.min(incoming)));
        self.last_decrease = Some(now);
        self.last_change = Some(now);
        self.control = Control::Hold;
    }

    fn control_update(&mut self, usage: Usage, now: Instant) {
        let Some(incoming) = self.rate.bps(now) else {
            return;
        };
        self.control = match (usage, self.control) {
            (Usage::Overusing, _) => Control::Decrease,
            (Usage::Underusing, _) => Control::Hold,
            (Usage::Normal, Control::Hold) => {
                self.last_change = Some(now);
                Control::Increase
            }
            (Usage::Normal, c) => c,
        };
        match self.control {
            Control::Hold => {}
            Control::Increase => {
                let Some(est) = self.estimate else { return };
                if self.loss.last > LOSS_HOLD {
                    return;
                }
                let dt = self
                    .last_change
                    .map_or(0.0, |t| now.duration_since(t).as_secs_f64().min(1.0));
                // The capacity is no longer where it was: search again.
                if self.capacity.is_some_and(|c| incoming > c * 1.5) {
                    self.capacity = None;
                }
                let next = match self.capacity {
                    // Near the known capacity: about one packet per response time.
                    Some(_) => est + dt * additive_bps_per_s(est),
                    // Far from it: 8 % a second.
                    None => est * 1.08_f64.powf(dt),
                };
                // Never far above what actually arrives.
                let next = next
                    .min(1.5 * incoming + 10_000.0)
                    .max(est.min(1.5 * incoming));
                self.estimate = Some(next.clamp(MIN_BPS, MAX_BPS));
                self.last_change = Some(now);
            }
            Control::Decrease => {
                // One cut per response time: the last one needs a round trip to show.
                if self
                    .last_decrease
                    .is_some_and(|t| now.duration_since(t) < Duration::from_millis(300))
                {
                    return;
                }
                let cut = 0.85 * incoming;
                let next = self.estimate.map_or(cut, |e| cut.min(e));
                self.estimate = Some(next.clamp(MIN_BPS, MAX_BPS));
                self.capacity = Some(
                    self.capacity
                        .map_or(incoming, |c| 0.95 * c + 0.05 * incoming),
                );
                self.last_decrease = Some(now);
                self.last_change = Some(now);
                self.control = Control::Hold;
            }
        }
    }

    fn due(&mut self, now: Instant) -> Option<f64> {
        let est = self.estimate?;
        let send = match self.last_sent {
            None => true,
            Some((at, sent)) => {
                est < sent * 0.97 || now.duration_since(at) >= Duration::from_secs(1)
            }
        };
        send.then(|| {
            self.last_sent = Some((now, est));
            est
        })
    }
}

/// libwebrtc's additive increase: one average packet per response time (RTT + 100 ms, with the
/// RTT unknown here taken as 100 ms), at least 4 kbit/s a second.
fn additive_bps_per_s(bps: f64) -> f64 {
    let bits_per_frame = bps / 30.0;
    let packets = (bits_per_frame / (8.0 * 1200.0)).ceil().max(1.0);
    let avg_packet_bits = bits_per_frame / packets;
    (avg_packet_bits * 1000.0 / 200.0).max(4000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bottleneck of `capacity` bits per second whose queue drops what would wait longer
    /// than `max_queue` s, and arrival times disturbed by up to `jitter` s (a loaded machine).
    struct Path {
        capacity: f64,
        max_queue: f64,
        jitter: f64,
    }

    /// Frames at 30 fps of `bytes` each, two packets per frame sent back to back, through the
    /// path; returns the last estimate and the REMBs sent.
    fn run_path(frames: u32, bytes: usize, path: &Path) -> (Option<f64>, Vec<f64>) {
        let t0 = Instant::now();
        let mut est = DelayEstimator::new();
        let mut link_free = 0.0f64; // seconds: when the bottleneck is free again
        let mut rembs = Vec::new();
        let mut seq = 0u16;
        let mut noise = 0x2545_f491_4f6c_dd1d_u64;
        for f in 0..frames {
            let sent = f64::from(f) / 30.0;
            for _ in 0..2 {
                seq = seq.wrapping_add(1);
                let start = link_free.max(sent);
                if start - sent > path.max_queue {
                    continue; // tail drop
                }
                link_free = start + (bytes as f64 / 2.0) * 8.0 / path.capacity;
                // xorshift: deterministic noise in [0, 1)
                noise ^= noise << 13;
                noise ^= noise >> 7;
                noise ^= noise << 17;
                let jitter = (noise >> 11) as f64 / (1u64 << 53) as f64 * path.jitter;
                let at = t0 + Duration::from_secs_f64(link_free + 0.01 + jitter);
                if let Some(r) = est.on_packet(seq, f * 3000, bytes / 2, at) {
                    rembs.push(r);
                }
            }
        }
        (est.estimate(), rembs)
    }

    /// An unbounded queue, exact arrival times.
    fn run(frames: u32, bytes: usize, capacity: f64) -> (Option<f64>, Vec<f64>) {
        let path = Path {
            capacity,
            max_queue: f64::INFINITY,
            jitter: 0.0,
        };
        run_path(frames, bytes, &path)
    }

    #[test]
    fn a_path_with_room_shows_no_limit() {
        // 30 fps × 1000 B = 240 kbit/s through 1 Mbit/s: no queue builds.
        let (est, rembs) = run(300, 1000, 1_000_000.0);
        assert_eq!(est, None, "{rembs:?}");
    }

    #[test]
    fn a_queue_building_is_seen_and_the_estimate_falls_below_the_capacity() {
        // 30 fps × 2000 B = 480 kbit/s into 300 kbit/s: the queue grows by 180 kbit a second.
        let (est, rembs) = run(150, 2000, 300_000.0);
        let est = est.unwrap_or_else(|| panic!("no overuse seen: {rembs:?}"));
        assert!(est <= 300_000.0, "estimate {est}");
        assert!(est >= 150_000.0, "estimate {est}");
        assert!(!rembs.is_empty());
    }

    #[test]
    fn an_overflowing_queue_cuts_the_estimate_even_when_arrival_times_are_noisy() {
        // 480 kbit/s into 300 kbit/s behind a 50 ms queue, arrivals jittered by up to 40 ms:
        // the delay trend drowns in the noise, the drops do not.
        let path = Path {
            capacity: 300_000.0,
            max_queue: 0.05,
            jitter: 0.04,
        };
        let (est, rembs) = run_path(150, 2000, &path);
        let est = est.unwrap_or_else(|| panic!("no limit seen: {rembs:?}"));
        assert!(est < 300_000.0, "estimate {est}: {rembs:?}");
        assert!(est >= 100_000.0, "estimate {est}");
    }

    #[test]
    fn light_random_loss_alone_sets_no_limit() {
        let t0 = Instant::now();
        let mut est = DelayEstimator::new();
        for i in 0..600u32 {
            if i % 25 == 0 {
                continue; // 4 % lost
            }
            let at = t0 + Duration::from_millis(u64::from(i) * 16);
            est.on_packet(i as u16, (i / 2) * 3000, 600, at);
        }
        assert_eq!(est.estimate(), None);
    }

    #[test]
    fn reordered_and_repeated_packets_are_not_groups() {
        let t0 = Instant::now();
        let mut est = DelayEstimator::new();
        for f in 0..100u32 {
            let at = t0 + Duration::from_millis(u64::from(f) * 33);
            est.on_packet(f as u16, f * 3000, 500, at);
            // A retransmission of an old frame arriving late.
            est.on_packet(
                f.saturating_sub(5) as u16,
                f.saturating_sub(5) * 3000,
                500,
                at + Duration::from_millis(200),
            );
        }
        assert_eq!(est.estimate(), None);
    }

    #[test]
    fn slope_of_a_line() {
        let pts: VecDeque<_> = (0..10)
            .map(|i| (f64::from(i), 2.0 * f64::from(i) + 1.0))
            .collect();
        assert!((slope(&pts).unwrap_or_default() - 2.0).abs() < 1e-9);
    }
}
