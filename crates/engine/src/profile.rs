//! Video profiles: 360p, 540p, 720p, 1080p at 15 or 30 fps, switchable during a call.

use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VideoProfile {
    pub width: usize,
    pub height: usize,
    pub fps: u32,
    /// The most the encoder may use whatever the estimate says, bits per second.
    pub max_bps: u64,
}

impl VideoProfile {
    /// `lines` is 360, 540, 720 or 1080; `fps` 15 or 30.
    pub fn new(lines: u32, fps: u32) -> Option<Self> {
        let (width, height, max30) = match lines {
            360 => (640, 360, 800_000),
            540 => (960, 540, 1_500_000),
            720 => (1280, 720, 2_500_000),
            1080 => (1920, 1080, 4_000_000),
            _ => return None,
        };
        if fps != 15 && fps != 30 {
            return None;
        }
        Some(Self {
            width,
            height,
            fps,
            // Half the frames need roughly two thirds of the bits.
            max_bps: if fps == 30 { max30 } else { max30 * 2 / 3 },
        })
    }

    pub fn frame_interval(&self) -> Duration {
        Duration::from_secs(1) / self.fps
    }
}

impl Default for VideoProfile {
    fn default() -> Self {
        Self {
            width: 640,
            height: 360,
            fps: 30,
            max_bps: 800_000,
        }
    }
}

impl FromStr for VideoProfile {
    type Err = String;

    /// `360p30`, `720p15`, … (a bare `720p` means 30 fps).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "unknown video profile {s:?}; use 360p, 540p, 720p or 1080p, optionally followed by 15 or 30"
            )
        };
        let (lines, fps) = s.split_once('p').ok_or_else(bad)?;
        let lines: u32 = lines.parse().map_err(|_| bad())?;
        let fps: u32 = if fps.is_empty() {
            30
        } else {
            fps.parse().map_err(|_| bad())?
        };
        Self::new(lines, fps).ok_or_else(bad)
    }
}

impl std::fmt::Display for VideoProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}p{}", self.height, self.fps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_parse() {
        assert_eq!(
            "720p".parse::<VideoProfile>().map(|p| (p.width, p.fps)),
            Ok((1280, 30))
        );
        assert_eq!("360p15".parse::<VideoProfile>().map(|p| p.height), Ok(360));
        assert!("480p".parse::<VideoProfile>().is_err());
        assert!("720p60".parse::<VideoProfile>().is_err());
        assert_eq!(VideoProfile::default().to_string(), "360p30");
    }
}
