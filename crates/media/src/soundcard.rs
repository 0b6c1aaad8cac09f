//! Capture from and play to sound cards (cpal), at the device's own rate and channel count,
//! converted to and from our 20 ms, 48 kHz mono frames with rubato.
//!
//! The audio callbacks only copy samples through a lock-free ring buffer (rtrb): no
//! allocation, no lock, no blocking on the audio thread. Resampling happens on our side of the
//! ring. Each stream lives on a thread of its own, because cpal's `Stream` is not `Send` on
//! every platform; dropping the handle stops it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, Sample, SampleFormat, SizedSample};
use rubato::{FftFixedIn, FftFixedOut, Resampler};

use crate::audio::{FRAME, RATE};
use crate::device::{DeviceError, DeviceKind};

/// Ring capacity: 200 ms at the device rate. More than that queued means the reader stalled;
/// the oldest audio is dropped rather than letting latency grow.
const RING_MS: usize = 200;

/// What a stream counted (read by the stats and the tests).
#[derive(Debug, Default)]
pub struct StreamCounts {
    /// Samples (per channel) the callback handled.
    pub callback_frames: AtomicU64,
    /// Samples dropped because the ring was full (capture) or missing when the device asked
    /// (playback underrun, played as silence).
    pub xruns: AtomicU64,
    /// The stream reported an error (the device vanished, say).
    pub failed: AtomicBool,
}

fn find(id: &str, kind: DeviceKind) -> Result<cpal::Device, DeviceError> {
    let not_found = || DeviceError::NotFound {
        kind: match kind {
            DeviceKind::Microphone => "microphone",
            _ => "speaker",
        },
        id: id.into(),
    };
    let raw = id.strip_prefix("audio:").ok_or_else(not_found)?;
    let host = cpal::default_host();
    let devices = match kind {
        DeviceKind::Microphone => host.input_devices(),
        _ => host.output_devices(),
    }
    .map_err(|e| DeviceError::CannotOpen {
        id: id.into(),
        reason: e.to_string(),
    })?;
    for d in devices {
        if d.id().is_ok_and(|i| i.to_string() == raw) {
            return Ok(d);
        }
    }
    Err(not_found())
}

/// The device `id` and its default configuration (`config` picks input or output).
fn open_device(
    id: &str,
    kind: DeviceKind,
    config: impl FnOnce(&cpal::Device) -> Result<cpal::SupportedStreamConfig, cpal::Error>,
) -> Result<(cpal::Device, cpal::SupportedStreamConfig), DeviceError> {
    let device = find(id, kind)?;
    let supported = config(&device).map_err(|e| cannot(id, e))?;
    Ok((device, supported))
}

fn cannot(id: &str, e: impl std::fmt::Display) -> DeviceError {
    DeviceError::CannotOpen {
        id: id.into(),
        reason: e.to_string(),
    }
}

/// Starts a stream on its own thread; returns once it plays (or failed to).
fn spawn_stream(
    id: &str,
    build: impl FnOnce() -> Result<cpal::Stream, DeviceError> + Send + 'static,
) -> Result<(Arc<AtomicBool>, JoinHandle<()>), DeviceError> {
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    let stop2 = stop.clone();
    let sid = id.to_owned();
    let thread = std::thread::Builder::new()
        .name(format!("sound {id}"))
        .spawn(move || {
            let stream = match build().and_then(|s| {
                s.play().map_err(|e| cannot(&sid, e))?;
                Ok(s)
            }) {
                Ok(s) => {
                    let _ = tx.send(Ok(()));
                    s
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            while !stop2.load(Ordering::Relaxed) {
                std::thread::park_timeout(Duration::from_millis(100));
            }
            drop(stream);
        })
        .map_err(|e| cannot(id, e))?;
    match rx.recv_timeout(Duration::from_secs(5)) {
        Ok(Ok(())) => Ok((stop, thread)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(cannot(id, "the device did not start within 5 s")),
    }
}

/// Glitches are counted, not fatal; only a stream that cannot go on marks the device failed
/// (the engine then falls back: silence for a microphone, the meter for a speaker).
fn on_error(direction: &str, e: &cpal::Error, counts: &StreamCounts) {
    use cpal::ErrorKind as K;
    match e.kind() {
        // ALSA's pulse plugin reports an underrun under load as a backend I/O error, hundreds
        // of times, while the stream plays on: a glitch. A device that really stopped is caught
        // by the stall check (`Progress`).
        K::Xrun | K::BackendError => {
            counts.xruns.fetch_add(1, Ordering::Relaxed);
        }
        K::RealtimeDenied | K::DeviceChanged | K::DeviceBusy => {
            tracing::info!("sound {direction}: {e}");
        }
        _ => {
            tracing::warn!("sound {direction}: {e}");
            counts.failed.store(true, Ordering::Relaxed);
        }
    }
}

/// A stream running on its thread: its counts, the check that it still runs, and the stop.
struct Running {
    id: String,
    counts: Arc<StreamCounts>,
    /// The callback's frame count when it last moved, and when.
    progress: (u64, Instant),
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    /// Starts the stream that `build` makes for the device's sample format (`None`: a format
    /// we do not convert).
    fn start(
        id: &str,
        device: cpal::Device,
        supported: cpal::SupportedStreamConfig,
        build: impl FnOnce(
            &cpal::Device,
            cpal::StreamConfig,
            usize,
            SampleFormat,
            Arc<StreamCounts>,
        ) -> Option<Result<cpal::Stream, cpal::Error>>
        + Send
        + 'static,
    ) -> Result<Self, DeviceError> {
        let channels = usize::from(supported.channels());
        let format = supported.sample_format();
        let counts = Arc::new(StreamCounts::default());
        let c = counts.clone();
        let sid = id.to_owned();
        let (stop, thread) = spawn_stream(id, move || {
            build(&device, supported.into(), channels, format, c)
                .ok_or_else(|| cannot(&sid, format!("unsupported sample format {format}")))?
                .map_err(|e| cannot(&sid, e))
        })?;
        Ok(Self {
            id: id.to_owned(),
            counts,
            progress: (0, Instant::now()),
            stop,
            thread: Some(thread),
        })
    }

    /// An error once the device failed or its callback has not run for 2 s (a vanished
    /// device that reports nothing).
    fn check(&mut self) -> Result<(), DeviceError> {
        let frames = self.counts.callback_frames.load(Ordering::Relaxed);
        if frames != self.progress.0 {
            self.progress = (frames, Instant::now());
        }
        if self.counts.failed.load(Ordering::Relaxed)
            || self.progress.1.elapsed() > Duration::from_secs(2)
        {
            return Err(cannot(&self.id, "the device stopped (unplugged?)"));
        }
        Ok(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// Calls `$stream::<T>(args…)` for the device's sample format `T`; `None` for a format we do
/// not convert.
macro_rules! per_format {
    ($format:expr, $stream:ident($($arg:expr),*)) => {
        match $format {
            SampleFormat::F32 => Some($stream::<f32>($($arg),*)),
            SampleFormat::I16 => Some($stream::<i16>($($arg),*)),
            SampleFormat::I32 => Some($stream::<i32>($($arg),*)),
            SampleFormat::U8 => Some($stream::<u8>($($arg),*)),
            _ => None,
        }
    };
}

/// A sound card's input as a microphone.
pub struct SoundInput {
    ring: rtrb::Consumer<f32>,
    resampler: Option<FftFixedOut<f32>>,
    input: Vec<Vec<f32>>,
    output: Vec<Vec<f32>>,
    rate: u32,
    stream: Running,
}

impl SoundInput {
    /// Opens `audio:<id>` for capture at its default configuration.
    pub fn open(id: &str) -> Result<Self, DeviceError> {
        let (device, supported) =
            open_device(id, DeviceKind::Microphone, |d| d.default_input_config())?;
        let rate = supported.sample_rate();
        let (producer, ring) = rtrb::RingBuffer::new(rate as usize * RING_MS / 1000);
        let stream = Running::start(
            id,
            device,
            supported,
            move |d, config, channels, format, counts| {
                per_format!(format, input_stream(d, config, channels, producer, counts))
            },
        )?;
        let resampler = (rate as usize != RATE)
            .then(|| FftFixedOut::new(rate as usize, RATE, FRAME, 2, 1))
            .transpose()
            .map_err(|e| cannot(id, e))?;
        Ok(Self {
            ring,
            resampler,
            input: vec![Vec::with_capacity(rate as usize / 25)],
            output: vec![vec![0.0; FRAME]],
            rate,
            stream,
        })
    }

    /// What the stream counted.
    pub fn counts(&self) -> &StreamCounts {
        &self.stream.counts
    }

    /// The device's sample rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// The next 20 ms at 48 kHz mono, if the device has delivered that much; `None` otherwise
    /// (call again shortly — the device's clock paces capture).
    pub fn try_frame(&mut self) -> Result<Option<[i16; FRAME]>, DeviceError> {
        self.stream.check()?;
        let need = self
            .resampler
            .as_ref()
            .map_or(FRAME, |r| r.input_frames_next());
        if self.ring.slots() < need {
            return Ok(None);
        }
        let chunk = self
            .ring
            .read_chunk(need)
            .map_err(|e| cannot(&self.stream.id, e))?;
        self.input[0].clear();
        let (a, b) = chunk.as_slices();
        self.input[0].extend_from_slice(a);
        self.input[0].extend_from_slice(b);
        chunk.commit_all();
        let mut out = [0i16; FRAME];
        let samples: &[f32] = match self.resampler.as_mut() {
            Some(r) => {
                r.process_into_buffer(&self.input, &mut self.output, None)
                    .map_err(|e| cannot(&self.stream.id, e))?;
                &self.output[0]
            }
            None => &self.input[0],
        };
        for (o, s) in out.iter_mut().zip(samples) {
            *o = i16::from_sample(s.clamp(-1.0, 1.0));
        }
        Ok(Some(out))
    }
}

fn input_stream<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    channels: usize,
    mut ring: rtrb::Producer<f32>,
    counts: Arc<StreamCounts>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let c2 = counts.clone();
    device.build_input_stream::<T, _, _>(
        config,
        move |data: &[T], _| {
            // The audio thread: copy (downmixed to mono) and return.
            let frames = data.len() / channels.max(1);
            for frame in data.chunks_exact(channels.max(1)) {
                let sum: f32 = frame.iter().map(|s| f32::from_sample(*s)).sum();
                if ring.push(sum / channels as f32).is_err() {
                    counts.xruns.fetch_add(1, Ordering::Relaxed);
                }
            }
            counts
                .callback_frames
                .fetch_add(frames as u64, Ordering::Relaxed);
        },
        move |e| on_error("input", &e, &c2),
        None,
    )
}

/// A sound card's output as the speaker.
pub struct SoundOutput {
    ring: rtrb::Producer<f32>,
    resampler: Option<FftFixedIn<f32>>,
    input: Vec<Vec<f32>>,
    output: Vec<Vec<f32>>,
    stream: Running,
}

impl SoundOutput {
    /// Opens `audio:<id>` for playback at its default configuration.
    pub fn open(id: &str) -> Result<Self, DeviceError> {
        let (device, supported) =
            open_device(id, DeviceKind::Speaker, |d| d.default_output_config())?;
        let rate = supported.sample_rate();
        let (ring, consumer) = rtrb::RingBuffer::new(rate as usize * RING_MS / 1000);
        let stream = Running::start(
            id,
            device,
            supported,
            move |d, config, channels, format, counts| {
                per_format!(format, output_stream(d, config, channels, consumer, counts))
            },
        )?;
        let resampler = (rate as usize != RATE)
            .then(|| FftFixedIn::new(RATE, rate as usize, FRAME, 2, 1))
            .transpose()
            .map_err(|e| cannot(id, e))?;
        let out_len = resampler.as_ref().map_or(FRAME, |r| r.output_frames_max());
        Ok(Self {
            ring,
            resampler,
            input: vec![vec![0.0; FRAME]],
            output: vec![vec![0.0; out_len]],
            stream,
        })
    }

    /// What the stream counted.
    pub fn counts(&self) -> &StreamCounts {
        &self.stream.counts
    }

    /// Queues 20 ms at 48 kHz mono. When the device has fallen behind (the ring is full) the
    /// frame is dropped: latency stays bounded.
    pub fn play(&mut self, pcm: &[i16; FRAME]) -> Result<(), DeviceError> {
        self.stream.check()?;
        for (i, s) in self.input[0].iter_mut().zip(pcm) {
            *i = f32::from_sample(*s);
        }
        let n = match self.resampler.as_mut() {
            Some(r) => {
                let (_, n) = r
                    .process_into_buffer(&self.input, &mut self.output, None)
                    .map_err(|e| cannot(&self.stream.id, e))?;
                n
            }
            None => {
                self.output[0].copy_from_slice(&self.input[0]);
                FRAME
            }
        };
        let samples = &self.output[0][..n];
        if self.ring.slots() < n {
            self.stream
                .counts
                .xruns
                .fetch_add(n as u64, Ordering::Relaxed);
            return Ok(());
        }
        for s in samples {
            // Room was checked above; this is our thread, not the audio callback.
            let _ = self.ring.push(*s);
        }
        Ok(())
    }
}

fn output_stream<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    channels: usize,
    mut ring: rtrb::Consumer<f32>,
    counts: Arc<StreamCounts>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32>,
{
    let c2 = counts.clone();
    device.build_output_stream::<T, _, _>(
        config,
        move |data: &mut [T], _| {
            // The audio thread: copy out (the same sample on every channel) and return.
            let mut missing = 0u64;
            for frame in data.chunks_exact_mut(channels.max(1)) {
                let s = ring.pop().unwrap_or_else(|_| {
                    missing += 1;
                    0.0
                });
                for o in frame {
                    *o = T::from_sample(s);
                }
            }
            if missing > 0 {
                counts.xruns.fetch_add(missing, Ordering::Relaxed);
            }
            counts
                .callback_frames
                .fetch_add((data.len() / channels.max(1)) as u64, Ordering::Relaxed);
        },
        move |e| on_error("output", &e, &c2),
        None,
    )
}
