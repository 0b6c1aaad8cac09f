//! Devices by id: microphones (the synthetic `tone`, `file:PATH` — a WAV file, any rate and
//! channel count, resampled to 48 kHz mono with rubato and looped — and sound cards,
//! `audio:<id>`, listed by `crate::sound` and streamed by `crate::soundcard`) and speakers (the
//! synthetic `meter` and sound cards).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rubato::{FftFixedIn, Resampler};

use crate::audio::{FRAME, RATE, ToneMicrophone};
pub use crate::device::{
    DeviceChange, DeviceError, DeviceInfo, DeviceKind, diff, synthetic_devices,
};

/// Every device a call can use: the synthetic ones first, then the sound cards and cameras.
pub fn all_devices() -> Vec<DeviceInfo> {
    let mut all = synthetic_devices();
    all.extend(crate::sound::sound_devices());
    all.extend(crate::camera::camera_devices());
    all
}

/// Polls the device list every `every` on a thread of its own and reports changes until the
/// receiver is dropped.
pub fn watch(every: Duration) -> std::sync::mpsc::Receiver<DeviceChange> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut known = all_devices();
        loop {
            std::thread::sleep(every);
            let now = all_devices();
            for change in diff(&known, &now) {
                if tx.send(change).is_err() {
                    return;
                }
            }
            known = now;
        }
    });
    rx
}

/// A source of 20 ms, 48 kHz mono frames.
pub enum Microphone {
    Tone(ToneMicrophone),
    File(FileMicrophone),
    /// A sound card's input (paced by the device's clock).
    Sound(Box<crate::soundcard::SoundInput>),
    /// Silence: what a call sends after its microphone failed, rather than dropping the call.
    Silent,
}

impl Microphone {
    /// Opens a microphone by id: `tone` (or `tone:550`, `tone:660`, `tone:770`: another hum,
    /// to tell parties apart), `file:PATH` or a sound card's `audio:<id>`.
    pub fn open(id: &str) -> Result<Self, DeviceError> {
        if id == "tone" {
            return Ok(Self::Tone(ToneMicrophone::new()));
        }
        if let Some(t) = id
            .strip_prefix("tone:")
            .and_then(|hz| hz.parse().ok())
            .and_then(ToneMicrophone::at)
        {
            return Ok(Self::Tone(t));
        }
        if let Some(path) = id.strip_prefix("file:") {
            return FileMicrophone::open(Path::new(path)).map(Self::File);
        }
        if id.starts_with("audio:") {
            return crate::soundcard::SoundInput::open(id).map(|s| Self::Sound(Box::new(s)));
        }
        Err(DeviceError::NotFound {
            kind: "microphone",
            id: id.into(),
        })
    }

    /// How often to call [`Microphone::poll`]: every frame for the synthetic sources (our
    /// timer is their clock), more often for a sound card (its clock decides; we drain).
    pub fn poll_interval(&self) -> std::time::Duration {
        match self {
            Self::Sound(_) => std::time::Duration::from_millis(5),
            _ => std::time::Duration::from_millis(20),
        }
    }

    /// Hands over the frames that are ready: one for a synthetic source, whatever the device
    /// has delivered for a sound card. An error means the device is gone.
    pub fn poll(&mut self, mut out: impl FnMut([i16; FRAME])) -> Result<(), DeviceError> {
        match self {
            Self::Tone(t) => out(t.frame()),
            Self::File(f) => out(f.frame()),
            Self::Silent => out([0; FRAME]),
            Self::Sound(s) => {
                while let Some(frame) = s.try_frame()? {
                    out(frame);
                }
            }
        }
        Ok(())
    }
}

/// Where the mixed far end plays.
pub enum Speaker {
    /// The synthetic `meter`: measures level and timing marks.
    Meter(crate::audio::MeterSpeaker),
    /// A sound card's output.
    Sound(Box<crate::soundcard::SoundOutput>),
}

impl Speaker {
    /// Opens a speaker by id: `meter` or a sound card's `audio:<id>`.
    pub fn open(id: &str) -> Result<Self, DeviceError> {
        if id == "meter" {
            return Ok(Self::Meter(crate::audio::MeterSpeaker::new()));
        }
        if id.starts_with("audio:") {
            return crate::soundcard::SoundOutput::open(id).map(|s| Self::Sound(Box::new(s)));
        }
        Err(DeviceError::NotFound {
            kind: "speaker",
            id: id.into(),
        })
    }

    /// Plays 20 ms. An error means the device is gone.
    pub fn play(&mut self, pcm: &[i16; FRAME]) -> Result<(), DeviceError> {
        match self {
            Self::Meter(m) => {
                m.play(pcm);
                Ok(())
            }
            Self::Sound(s) => s.play(pcm),
        }
    }
}

/// A WAV file as a microphone, looped.
#[derive(Debug, Clone)]
pub struct FileMicrophone {
    samples: Arc<Vec<i16>>,
    pos: usize,
}

impl FileMicrophone {
    pub fn open(path: &Path) -> Result<Self, DeviceError> {
        let id = format!("file:{}", path.display());
        let file = std::fs::File::open(path).map_err(|e| DeviceError::CannotOpen {
            id: id.clone(),
            reason: e.to_string(),
        })?;
        Self::read(std::io::BufReader::new(file), &id)
    }

    /// A WAV file's bytes (`id`: what to call it in an error).
    pub fn from_wav(bytes: &[u8], id: &str) -> Result<Self, DeviceError> {
        Self::read(std::io::Cursor::new(bytes), id)
    }

    fn read(source: impl std::io::Read, id: &str) -> Result<Self, DeviceError> {
        let cannot = |reason: String| DeviceError::CannotOpen {
            id: id.to_owned(),
            reason,
        };
        let reader = hound::WavReader::new(source).map_err(|e| cannot(e.to_string()))?;
        let spec = reader.spec();
        let samples: Vec<f32> = match spec.sample_format {
            hound::SampleFormat::Int => {
                let scale = (1i64 << (spec.bits_per_sample.max(1) - 1)) as f32;
                reader
                    .into_samples::<i32>()
                    .map(|s| s.map(|v| v as f32 / scale))
                    .collect::<Result<_, _>>()
                    .map_err(|e| cannot(e.to_string()))?
            }
            hound::SampleFormat::Float => reader
                .into_samples::<f32>()
                .collect::<Result<_, _>>()
                .map_err(|e| cannot(e.to_string()))?,
        };
        Self::from_samples(spec.sample_rate, spec.channels, &samples).map_err(cannot)
    }

    /// Interleaved samples in −1…1 at any rate: downmixed to mono and resampled to 48 kHz.
    pub fn from_samples(rate: u32, channels: u16, interleaved: &[f32]) -> Result<Self, String> {
        if channels == 0 || rate == 0 {
            return Err("the file has no channels or no sample rate".into());
        }
        let mono: Vec<f32> = interleaved
            .chunks(usize::from(channels))
            .map(|c| c.iter().sum::<f32>() / c.len() as f32)
            .collect();
        if mono.is_empty() {
            return Err("the file holds no audio".into());
        }
        let resampled = if rate as usize == RATE {
            mono
        } else {
            resample(&mono, rate as usize)?
        };
        let samples = resampled
            .iter()
            .map(|s| (s.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16)
            .collect();
        Ok(Self {
            samples: Arc::new(samples),
            pos: 0,
        })
    }

    pub fn frame(&mut self) -> [i16; FRAME] {
        let mut out = [0i16; FRAME];
        for s in out.iter_mut() {
            *s = self.samples[self.pos];
            self.pos = (self.pos + 1) % self.samples.len();
        }
        out
    }
}

fn resample(mono: &[f32], from: usize) -> Result<Vec<f32>, String> {
    const CHUNK: usize = 1024;
    let mut r = FftFixedIn::<f32>::new(from, RATE, CHUNK, 2, 1).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(mono.len() * RATE / from + CHUNK);
    let mut pos = 0;
    while pos < mono.len() {
        let need = r.input_frames_next();
        let mut chunk: Vec<f32> = mono[pos..(pos + need).min(mono.len())].to_vec();
        chunk.resize(need, 0.0);
        pos += need;
        let o = r.process(&[chunk], None).map_err(|e| e.to_string())?;
        out.extend_from_slice(&o[0]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_unreadable_microphones_are_clean_errors() {
        assert!(matches!(
            Microphone::open("usb-headset-42"),
            Err(DeviceError::NotFound { .. })
        ));
        let e = Microphone::open("file:/nonexistent/x.wav").err();
        assert!(matches!(e, Some(DeviceError::CannotOpen { .. })), "{e:?}");
    }

    #[test]
    fn a_file_at_another_rate_is_resampled_to_48k_mono() {
        // 1 s of a 1 kHz tone, stereo at 22.05 kHz.
        let rate = 22_050;
        let interleaved: Vec<f32> = (0..rate)
            .flat_map(|i| {
                let v = (i as f32 * 1000.0 * std::f32::consts::TAU / rate as f32).sin() * 0.5;
                [v, v]
            })
            .collect();
        let mut mic = FileMicrophone::from_samples(rate as u32, 2, &interleaved)
            .unwrap_or_else(|e| panic!("{e}"));
        let n = mic.samples.len();
        assert!((47_000..50_000).contains(&n), "{n} samples for 1 s");
        // Still a 1 kHz tone: about 40 zero crossings in 20 ms (past the resampler's start).
        let _ = mic.frame();
        let f = mic.frame();
        let crossings = f.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        assert!((36..=44).contains(&crossings), "{crossings} crossings");
    }
}

#[cfg(test)]
mod listing_tests {
    use super::*;

    fn dev(id: &str) -> DeviceInfo {
        DeviceInfo {
            id: id.into(),
            name: id.into(),
            kind: DeviceKind::Microphone,
            synthetic: false,
        }
    }

    #[test]
    fn hot_plug_is_a_diff_of_lists() {
        let before = [dev("audio:usb-1"), dev("audio:hdmi")];
        let after = [dev("audio:hdmi"), dev("audio:usb-2")];
        assert_eq!(
            diff(&before, &after),
            vec![
                DeviceChange::Removed(dev("audio:usb-1")),
                DeviceChange::Added(dev("audio:usb-2"))
            ]
        );
        assert!(diff(&after, &after).is_empty());
    }

    #[test]
    fn the_list_has_the_synthetic_devices_and_only_sound_cards_that_open() {
        let all = all_devices();
        for id in ["pattern", "tone", "meter"] {
            assert!(all.iter().any(|d| d.id == id), "{id} missing from {all:?}");
        }
        // Whatever this machine has, a listed sound card opened its default configuration;
        // ALSA's phantom "default" on a card-less machine is not among them.
        for d in all.iter().filter(|d| !d.synthetic) {
            assert!(d.id.starts_with("audio:"), "{d:?}");
        }
        // One id per device and direction (a headset is both a microphone and a speaker).
        let keys: Vec<(String, String)> = all
            .iter()
            .map(|d| (format!("{:?}", d.kind), d.id.clone()))
            .collect();
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(keys.len(), unique.len(), "duplicate ids: {keys:?}");
        assert!(!all.iter().any(|d| d.id.ends_with(":null")), "{all:?}");
    }
}
