//! What receiver reports tell the sender, sans-IO: the loss-based bitrate (libwebrtc's rules:
//! below 2 % loss grow, above 10 % cut by half the loss, hold in between — growing 15 % a
//! second rather than 8 %, as there is no probing to speed the ramp up) and the round-trip time
//! from LSR/DLSR (RFC 3550 §6.4.1).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rtc::shared::time::SystemInstant;

use crate::rtc_builder::{MAX_BPS, MIN_BPS};

#[derive(Debug, Clone)]
pub struct LossController {
    cap: f64,
    last_increase: Option<Instant>,
}

impl LossController {
    pub fn new(start_bps: f64) -> Self {
        Self {
            cap: start_bps,
            last_increase: None,
        }
    }

    /// A report of `fraction` lost while the estimate was `target_bps`; returns the new cap.
    pub fn on_report(&mut self, fraction: f64, target_bps: f64, now: Instant) -> f64 {
        if fraction < 0.02 {
            if self
                .last_increase
                .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1))
            {
                self.cap *= 1.15;
                self.last_increase = Some(now);
            }
        } else if fraction > 0.10 {
            self.cap = target_bps * (1.0 - 0.5 * fraction);
        }
        self.cap = self.cap.clamp(MIN_BPS, MAX_BPS);
        self.cap
    }
}

/// NTP time now (64-bit, as in sender reports).
pub fn ntp_now() -> u64 {
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    SystemInstant::unix2ntp(unix)
}

/// Round-trip time from a reception report's LSR and DLSR (1/65536 s units), when the far end
/// has seen one of our sender reports.
pub fn rtt_ms(lsr: u32, dlsr: u32, now_ntp: u64) -> Option<f64> {
    if lsr == 0 {
        return None;
    }
    let mid = (now_ntp >> 16) as u32;
    let rtt = mid.wrapping_sub(lsr).wrapping_sub(dlsr);
    // A negative result (clock trouble) wraps to a huge value: ignore it.
    (rtt < 65_536 * 10).then(|| f64::from(rtt) * 1000.0 / 65_536.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heavy_loss_cuts_and_light_loss_grows() {
        let t0 = Instant::now();
        let mut c = LossController::new(300_000.0);
        let cut = c.on_report(0.2, 400_000.0, t0);
        assert!((cut - 360_000.0).abs() < 1.0, "{cut}");
        let held = c.on_report(0.05, 400_000.0, t0 + Duration::from_secs(1));
        assert_eq!(held, cut);
        let grown = c.on_report(0.0, 360_000.0, t0 + Duration::from_secs(2));
        assert!(grown > cut);
        // At most once a second.
        assert_eq!(
            c.on_report(0.0, 360_000.0, t0 + Duration::from_millis(2500)),
            grown
        );
    }

    #[test]
    fn rtt_from_lsr_and_dlsr() {
        let now = ntp_now();
        let mid = (now >> 16) as u32;
        // Our SR left 150 ms ago; the far end held it 100 ms: 50 ms on the wire and back.
        let lsr = mid.wrapping_sub(65_536 * 150 / 1000);
        let dlsr = 65_536 * 100 / 1000;
        let rtt = rtt_ms(lsr, dlsr, now).unwrap_or_default();
        assert!((rtt - 50.0).abs() < 1.0, "{rtt}");
        assert_eq!(rtt_ms(0, 0, now), None);
    }
}
