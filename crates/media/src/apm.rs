//! The capture path's audio processing: echo cancellation (AEC3), noise suppression and
//! gain control (AGC2) from `sonora`, a pure-Rust port of WebRTC's APM. The far-end signal —
//! what the speaker plays — goes in through [`AudioProcessor::render`]; the microphone's frames
//! come out of [`AudioProcessor::capture`] with the echo of it removed.

use sonora::config::{EchoCanceller, GainController2, NoiseSuppression};
use sonora::{AudioProcessing, Config, StreamConfig};

use crate::audio::{FRAME, RATE};

/// APM works on 10 ms blocks; our frames are 20 ms.
const BLOCK: usize = RATE / 100;

/// Which stages run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stages {
    pub echo_cancellation: bool,
    pub noise_suppression: bool,
    pub gain_control: bool,
}

impl Default for Stages {
    fn default() -> Self {
        Self {
            echo_cancellation: true,
            noise_suppression: true,
            gain_control: true,
        }
    }
}

pub struct AudioProcessor {
    apm: AudioProcessing,
    scratch: [i16; BLOCK],
}

impl AudioProcessor {
    pub fn new(stages: Stages) -> Self {
        let config = Config {
            echo_canceller: stages.echo_cancellation.then(EchoCanceller::default),
            noise_suppression: stages.noise_suppression.then(NoiseSuppression::default),
            gain_controller2: stages.gain_control.then(GainController2::default),
            ..Default::default()
        };
        let apm = AudioProcessing::builder()
            .config(config)
            .capture_config(StreamConfig::new(RATE as u32, 1))
            .render_config(StreamConfig::new(RATE as u32, 1))
            .build();
        Self {
            apm,
            scratch: [0; BLOCK],
        }
    }

    /// What the speaker is about to play (the echo reference), 20 ms.
    pub fn render(&mut self, far: &[i16; FRAME]) {
        for block in far.chunks_exact(BLOCK) {
            // The render output is unused: we play what we were given.
            let _ = self.apm.process_render_i16(block, &mut self.scratch);
        }
    }

    /// The microphone's next 20 ms, cleaned in place.
    pub fn capture(&mut self, near: &mut [i16; FRAME]) {
        for block in near.chunks_exact_mut(BLOCK) {
            self.scratch.copy_from_slice(block);
            if self.apm.process_capture_i16(&self.scratch, block).is_err() {
                // A format error cannot happen with our fixed configuration; keep the raw
                // signal rather than lose it.
                block.copy_from_slice(&self.scratch);
            }
        }
    }

    /// A hint of the delay between rendering a sample and hearing its echo.
    pub fn set_delay_ms(&mut self, ms: i32) {
        let _ = self.apm.set_stream_delay_ms(ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn energy(x: &[i16]) -> f64 {
        x.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / x.len().max(1) as f64
    }

    /// Speech-like far end: noise through a gentle low-pass, in syllable-long bursts.
    fn far_end(n: usize) -> Vec<i16> {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut lp = 0.0f64;
        (0..n)
            .map(|i| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let white = (seed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
                lp = 0.7 * lp + 0.3 * white;
                let syllable = ((i / 9600) % 3 != 2) as i32 as f64; // 200 ms on, 100 ms off
                (lp * 9000.0 * syllable) as i16
            })
            .collect()
    }

    /// AEC: the far end played through a simulated echo path (50 ms, −10 dB, a little noise)
    /// is attenuated by at least 20 dB in the capture stream, while near-end speech passes.
    #[test]
    fn echo_is_removed_and_the_near_end_passes() {
        let secs = 12;
        let n = RATE * secs;
        let far = far_end(n);
        let delay = RATE / 20; // 50 ms
        let mut noise = 0x9e37_79b9u64;
        // The near end talks alone in the last 2 s (a 300 Hz voice-like tone).
        let near_start = RATE * 10;
        let mic: Vec<i16> = (0..n)
            .map(|i| {
                noise ^= noise << 13;
                noise ^= noise >> 7;
                noise ^= noise << 17;
                let echo = if i >= delay && i < near_start {
                    f64::from(far[i - delay]) * 0.316
                } else {
                    0.0
                };
                let hiss = ((noise & 0xff) as f64 - 128.0) * 0.2;
                let near = if i >= near_start {
                    (i as f64 * 300.0 * std::f64::consts::TAU / RATE as f64).sin() * 3000.0
                } else {
                    0.0
                };
                (echo + hiss + near) as i16
            })
            .collect();
        let mut apm = AudioProcessor::new(Stages {
            echo_cancellation: true,
            noise_suppression: false,
            gain_control: false,
        });
        apm.set_delay_ms(50);
        let mut out = Vec::with_capacity(n);
        for (f, m) in far.chunks_exact(FRAME).zip(mic.chunks_exact(FRAME)) {
            let far_frame: [i16; FRAME] = f.try_into().unwrap_or([0; FRAME]);
            let mut near_frame: [i16; FRAME] = m.try_into().unwrap_or([0; FRAME]);
            // The speaker plays the far end only until the near end starts talking alone.
            apm.render(&far_frame);
            apm.capture(&mut near_frame);
            out.extend_from_slice(&near_frame);
        }
        // ERLE over seconds 6–10, after convergence.
        let (a, b) = (RATE * 6, near_start);
        let erle = 10.0 * (energy(&mic[a..b]) / energy(&out[a..b]).max(1e-9)).log10();
        assert!(erle >= 20.0, "ERLE {erle:.1} dB");
        // Near-end speech keeps most of its level (within 6 dB).
        let (c, d) = (near_start + RATE / 2, n);
        let kept = 10.0 * (energy(&out[c..d]) / energy(&mic[c..d])).log10();
        assert!(kept > -6.0, "near-end speech lost {kept:.1} dB");
        eprintln!("ERLE {erle:.1} dB; near end {kept:.1} dB");
    }
}
