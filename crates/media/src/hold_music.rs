//! Music on hold: what a held party hears instead of the holder. The default is composed
//! here, note by note (so it is ours, licence-clean, and costs no file in the installer): a
//! slow I–vi–IV–V progression in F, arpeggiated on soft sine "bells", 9.6 s, looped. Every
//! note is below 400 Hz and none is 440 Hz, so a held party can tell it from the synthetic
//! `tone` microphone (440 Hz with marks at 1–2.5 kHz): the tests prove that nothing of the
//! holder's microphone leaks into the hold. A realm or a user may give a WAV file instead.

use std::path::Path;

use crate::audio::{FRAME, RATE};
use crate::devices::{DeviceError, FileMicrophone};

/// One chord's notes (Hz): F, Dm, B♭, C — voiced low and close.
const CHORDS: [[f32; 4]; 4] = [
    [174.61, 220.00, 261.63, 349.23],
    [146.83, 174.61, 220.00, 293.66],
    [116.54, 174.61, 233.08, 293.66],
    [130.81, 196.00, 261.63, 329.63],
];
/// A note every 300 ms, eight per chord.
const NOTE: usize = RATE * 3 / 10;
const PATTERN: [usize; 8] = [0, 1, 2, 3, 2, 1, 2, 1];

/// The music to play to a held party, looped, 20 ms at a time.
#[derive(Debug, Clone)]
pub struct HoldMusic(FileMicrophone);

impl HoldMusic {
    /// The shipped default.
    pub fn default_music() -> Self {
        let len = NOTE * PATTERN.len() * CHORDS.len();
        let mut out = vec![0f32; len];
        for (c, chord) in CHORDS.iter().enumerate() {
            // A quiet pad of the chord's root under the arpeggio.
            let start = c * NOTE * PATTERN.len();
            for (i, s) in out[start..start + NOTE * PATTERN.len()]
                .iter_mut()
                .enumerate()
            {
                let t = (start + i) as f32 / RATE as f32;
                *s += 0.05 * (t * chord[0] / 2.0 * std::f32::consts::TAU).sin();
            }
            for (n, &k) in PATTERN.iter().enumerate() {
                let at = start + n * NOTE;
                // Each note rings on over the next one (a bell: quick attack, slow decay).
                let ring = (NOTE * 2).min(len - at);
                for i in 0..ring {
                    let t = i as f32 / RATE as f32;
                    let env = (t * 200.0).min(1.0) * (-t * 3.0).exp();
                    let phase = (at + i) as f32 / RATE as f32 * chord[k] * std::f32::consts::TAU;
                    out[at + i] += 0.22 * env * phase.sin();
                }
            }
        }
        Self(FileMicrophone::from_samples(RATE as u32, 1, &out).expect("music is not empty"))
    }

    /// A WAV file (any rate, any channels).
    pub fn open(path: &Path) -> Result<Self, DeviceError> {
        FileMicrophone::open(path).map(Self)
    }

    /// A WAV file's bytes (the realm's music, downloaded from the service).
    pub fn from_wav(bytes: &[u8]) -> Result<Self, DeviceError> {
        FileMicrophone::from_wav(bytes, "the realm's music on hold").map(Self)
    }

    /// The next 20 ms.
    pub fn frame(&mut self) -> [i16; FRAME] {
        self.0.frame()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::MeterSpeaker;

    #[test]
    fn the_default_music_is_audible_loops_and_has_nothing_a_tone_meter_takes_for_a_mark() {
        let mut m = HoldMusic::default_music();
        let mut meter = MeterSpeaker::new();
        // Two loops and a half.
        for _ in 0..(24 * 50) {
            meter.play(&m.frame());
        }
        let level = meter.level_dbfs();
        assert!((-30.0..-10.0).contains(&level), "level {level:.1} dBFS");
        assert!(meter.marks().is_empty(), "marks: {:?}", meter.marks());
    }
}
