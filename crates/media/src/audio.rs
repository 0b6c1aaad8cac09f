//! Synthetic audio: the `tone` microphone and the `meter` speaker. The tone is a quiet 440 Hz sine
//! with a timing mark every half second — a 40 ms burst whose frequency cycles through four
//! values, so that after Opus (which keeps pitch, not samples) a receiver can find each mark,
//! tell a lost one from the next, and time it. 48 kHz mono, 20 ms frames: what Opus is fed.

/// Samples per second.
pub const RATE: usize = 48_000;
/// Samples per 20 ms frame.
pub const FRAME: usize = RATE / 50;
/// A mark every this many samples (500 ms).
pub const MARK_EVERY: usize = RATE / 2;
/// How long a mark lasts (40 ms).
const MARK_LEN: usize = RATE / 25;
/// The marks' frequencies, by mark number modulo 4.
pub const MARK_HZ: [f32; 4] = [1000.0, 1500.0, 2000.0, 2500.0];
const TONE_HZ: f32 = 440.0;
/// The tones a tone microphone may hum (`tone`, `tone:550`, `tone:660`, `tone:770`), so that
/// several parties of one call are told apart by ear: 110 Hz apart, below the marks, each
/// found by the meter in 40 ms blocks (25 Hz apart).
pub const TONE_FAMILY: [u32; 4] = [440, 550, 660, 770];
/// Samples per block in which the meter looks for the family's tones.
const TONE_BLOCK: usize = RATE / 25;

/// A microphone that plays the tone with timing marks.
#[derive(Debug, Clone)]
pub struct ToneMicrophone {
    position: usize,
    hz: f32,
}

impl Default for ToneMicrophone {
    fn default() -> Self {
        Self {
            position: 0,
            hz: TONE_HZ,
        }
    }
}

impl ToneMicrophone {
    /// Starts at sample 0 (mark 0 begins at once).
    pub fn new() -> Self {
        Self::default()
    }

    /// The same with another tone of [`TONE_FAMILY`]; `None` for one not in it.
    pub fn at(hz: u32) -> Option<Self> {
        TONE_FAMILY.contains(&hz).then_some(Self {
            position: 0,
            hz: hz as f32,
        })
    }

    /// The next 20 ms of audio.
    pub fn frame(&mut self) -> [i16; FRAME] {
        let mut out = [0i16; FRAME];
        for s in out.iter_mut() {
            let n = self.position;
            let t = n as f32 / RATE as f32;
            let in_mark = n % MARK_EVERY < MARK_LEN;
            let (hz, amplitude) = if in_mark {
                (MARK_HZ[(n / MARK_EVERY) % MARK_HZ.len()], 0.5)
            } else {
                (self.hz, 0.1)
            };
            *s = ((t * hz * std::f32::consts::TAU).sin() * amplitude * f32::from(i16::MAX)) as i16;
            self.position += 1;
        }
        out
    }
}

/// A mark the meter heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeardMark {
    /// Where it began, in samples since the meter started.
    pub at_sample: usize,
    /// Its frequency's index in [`MARK_HZ`] (the mark number modulo 4).
    pub phase: usize,
}

/// A speaker that measures: counts samples, level, and the timing marks it hears.
#[derive(Debug, Clone, Default)]
pub struct MeterSpeaker {
    samples: usize,
    energy: f64,
    /// The energy of the last second's 10 ms windows (a level meter's view).
    recent: std::collections::VecDeque<f64>,
    window: Vec<i16>,
    in_mark: bool,
    marks: Vec<HeardMark>,
    /// The current 40 ms block, and in how many blocks each tone of [`TONE_FAMILY`] was heard.
    block: Vec<i16>,
    tones: [u64; TONE_FAMILY.len()],
}

/// Goertzel over a windowed block.
fn power_f(block: &[f32], hz: f32) -> f32 {
    let k = 2.0 * (std::f32::consts::TAU * hz / RATE as f32).cos();
    let (mut s1, mut s2) = (0f32, 0f32);
    for &x in block {
        let s0 = x + k * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - k * s1 * s2
}

/// Goertzel: the power of one frequency in a block.
fn power(block: &[i16], hz: f32) -> f32 {
    let k = 2.0 * (std::f32::consts::TAU * hz / RATE as f32).cos();
    let (mut s1, mut s2) = (0f32, 0f32);
    for &x in block {
        let s0 = f32::from(x) + k * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - k * s1 * s2
}

impl MeterSpeaker {
    /// A silent meter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Plays (measures) some samples.
    pub fn play(&mut self, samples: &[i16]) {
        for &s in samples {
            self.energy += f64::from(s) * f64::from(s);
            self.block.push(s);
            if self.block.len() == TONE_BLOCK {
                self.hum();
                self.block.clear();
            }
            self.window.push(s);
            // 10 ms windows: marks last 40 ms, so each spans at least three whole windows.
            if self.window.len() == RATE / 100 {
                self.listen();
                self.samples += self.window.len();
                self.window.clear();
            }
        }
    }

    fn listen(&mut self) {
        let w = &self.window;
        self.recent
            .push_back(w.iter().map(|s| f64::from(*s) * f64::from(*s)).sum());
        if self.recent.len() > 100 {
            self.recent.pop_front();
        }
        let tone = power(w, TONE_HZ);
        let (phase, best) =
            MARK_HZ
                .iter()
                .map(|hz| power(w, *hz))
                .enumerate()
                .fold(
                    (0, 0f32),
                    |acc, (i, p)| if p > acc.1 { (i, p) } else { acc },
                );
        // A mark is a loud burst at one of the four frequencies, well above the tone.
        let heard = best > 4.0 * tone && best > 1e11;
        if heard && !self.in_mark {
            self.marks.push(HeardMark {
                at_sample: self.samples,
                phase,
            });
        }
        self.in_mark = heard;
    }

    /// Which tones of the family this block carries: Hann-windowed (the family's neighbours
    /// leak under 40 dB into each other's bins), loud enough to be a voice, not a leak.
    fn hum(&mut self) {
        let n = self.block.len() as f32;
        let windowed: Vec<f32> = self
            .block
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let w = 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / n).cos();
                f32::from(x) * w
            })
            .collect();
        for (count, hz) in self.tones.iter_mut().zip(TONE_FAMILY) {
            // A tone at a tenth of full scale gives about 2.5e12 here; the marks' onsets spill
            // up to some 1e10 into the family's bins.
            if power_f(&windowed, hz as f32) > 2e11 {
                *count += 1;
            }
        }
    }

    /// In how many 40 ms blocks each tone of [`TONE_FAMILY`] was heard (same order).
    pub fn tones(&self) -> [u64; TONE_FAMILY.len()] {
        self.tones
    }

    /// Samples played.
    pub fn samples(&self) -> usize {
        self.samples + self.window.len()
    }

    /// The RMS level in dBFS (−inf for silence).
    pub fn level_dbfs(&self) -> f64 {
        let n = self.samples().max(1) as f64;
        let rms = (self.energy / n).sqrt() / f64::from(i16::MAX);
        20.0 * rms.log10()
    }

    /// The RMS level over the last second, dBFS (−inf for silence).
    pub fn recent_level_dbfs(&self) -> f64 {
        let n = (self.recent.len() * (RATE / 100)).max(1) as f64;
        let rms = (self.recent.iter().sum::<f64>() / n).sqrt() / f64::from(i16::MAX);
        20.0 * rms.log10()
    }

    /// The marks heard so far.
    pub fn marks(&self) -> &[HeardMark] {
        &self.marks
    }
}

#[cfg(test)]
mod family_tests {
    use super::*;

    #[test]
    fn each_tone_of_the_family_is_told_from_its_neighbours_and_a_mix_shows_both() {
        let heard = |mics: &mut [ToneMicrophone]| {
            let mut meter = MeterSpeaker::new();
            for _ in 0..100 {
                let mut sum = [0i16; FRAME];
                for m in mics.iter_mut() {
                    for (s, x) in sum.iter_mut().zip(m.frame()) {
                        *s = s.saturating_add(x);
                    }
                }
                meter.play(&sum);
            }
            meter.tones()
        };
        for (i, hz) in TONE_FAMILY.into_iter().enumerate() {
            let t = heard(&mut [ToneMicrophone::at(hz).unwrap()]);
            // 2 s = 50 blocks; the marks (a tenth of the time) cover the tone in a few.
            assert!(t[i] >= 40, "{hz} Hz heard in {} blocks: {t:?}", t[i]);
            for (j, n) in t.iter().enumerate().filter(|(j, _)| *j != i) {
                assert_eq!(*n, 0, "{hz} Hz leaked into {} Hz: {t:?}", TONE_FAMILY[j]);
            }
        }
        let t = heard(&mut [ToneMicrophone::new(), ToneMicrophone::at(660).unwrap()]);
        assert!(t[0] >= 40 && t[2] >= 40 && t[1] == 0 && t[3] == 0, "{t:?}");
        assert!(ToneMicrophone::at(500).is_none());
    }
}
