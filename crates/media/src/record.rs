//! Local (seat-side) recording: the parties' pictures composed into one layout and their
//! sound mixed, encoded (OpenH264, Opus) and written as fragmented MP4 by `muxide`. Each
//! fragment (about a second, starting at a keyframe) is written whole as soon as it is
//! complete, so a killed process leaves a file that plays up to its last fragment.
//!
//! The recorder runs on a thread of its own, paced by the clock: every 20 ms it mixes and
//! encodes the sound, every frame interval it composes and encodes the picture. Pausing stops
//! the clock of the recording: a 3 s pause takes 3 s out of the file. Sources push what they
//! have; a party that sends nothing for a while keeps its last picture (a frozen camera) or, for
//! sound, silence.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use muxide::api::AudioCodec;
use muxide::codec::h264::{annexb_to_avcc, extract_avc_config};
use muxide::fragmented::{FragmentAudioConfig, FragmentConfig, FragmentedMuxer};

use crate::audio::FRAME;
use crate::convert::scale_into;
use crate::h264::H264Encoder;
use crate::mixer::Mixer;
use crate::opus::OpusEncoder;
use crate::video::I420Frame;

/// What a recording holds (mPaaS `media_type` 1 / 2 / 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum RecordMedia {
    Audio,
    Video,
    Both,
}

impl RecordMedia {
    fn video(self) -> bool {
        self != Self::Audio
    }
    fn audio(self) -> bool {
        self != Self::Video
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecordOptions {
    pub media: RecordMedia,
    /// The layout's size (even numbers).
    pub width: usize,
    pub height: usize,
    pub fps: u32,
    pub bitrate_bps: u32,
    /// Burned into the bottom-left corner with the time of day (mPaaS overlap types 1 and 2):
    /// e.g. the agent's id. `None`: no watermark.
    pub watermark: Option<String>,
}

impl Default for RecordOptions {
    fn default() -> Self {
        Self {
            media: RecordMedia::Both,
            width: 1280,
            height: 720,
            fps: 15,
            bitrate_bps: 1_200_000,
            watermark: None,
        }
    }
}

/// Why a recording could not start or stopped early. The call never depends on it.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("cannot write the recording {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("recording: {0}")]
    Codec(String),
    #[error("the recording has stopped")]
    Stopped,
}

/// What a finished recording holds (the console's UI is told it as it is).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct RecordingSummary {
    #[ts(type = "string")]
    pub path: PathBuf,
    /// Recorded time (pauses excluded), ms.
    pub duration_ms: u64,
    pub video_frames: u64,
    pub audio_frames: u64,
    pub bytes: u64,
    /// Set when writing failed part-way (disk full, the folder went away): what was written
    /// before stays playable. Told as its sentence.
    #[serde(serialize_with = "as_sentence")]
    #[ts(as = "Option<String>")]
    pub error: Option<RecordError>,
}

fn as_sentence<S: serde::Serializer>(e: &Option<RecordError>, s: S) -> Result<S::Ok, S::Error> {
    match e {
        Some(e) => s.serialize_some(&e.to_string()),
        None => s.serialize_none(),
    }
}

/// Which picture a source gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Picture {
    /// Another party's camera.
    Camera,
    /// Our own camera: placed after the others (the small picture of a 1:1 call).
    Own,
    /// A shared screen: shown large.
    Screen,
}

/// A rectangle of the layout, in pixels (even coordinates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: usize,
    pub y: usize,
    pub w: usize,
    pub h: usize,
}

/// Where each picture goes: a shared screen takes the left three quarters with the cameras
/// stacked on the right; otherwise one camera fills the frame, two are picture-in-picture
/// (the second — by convention our own — small in the bottom-right corner), more make a grid.
/// Returns the screen's rectangle and the cameras' in order.
pub fn layout(
    width: usize,
    height: usize,
    cameras: usize,
    screen: bool,
) -> (Option<Rect>, Vec<Rect>) {
    let even = |v: usize| v & !1;
    if screen {
        let side = if cameras == 0 { 0 } else { even(width / 4) };
        let main = Rect {
            x: 0,
            y: 0,
            w: width - side,
            h: height,
        };
        let each = height
            .checked_div(cameras)
            .map_or(0, |h| even(h.min(side * 9 / 16 + 1)));
        let cams = (0..cameras)
            .map(|i| Rect {
                x: width - side,
                y: i * each,
                w: side,
                h: each,
            })
            .collect();
        return (Some(main), cams);
    }
    let cams = match cameras {
        0 => vec![],
        1 => vec![Rect {
            x: 0,
            y: 0,
            w: width,
            h: height,
        }],
        2 => {
            let (w, h) = (even(width / 3), even(height / 3));
            let margin = even(width / 64).max(2);
            vec![
                Rect {
                    x: 0,
                    y: 0,
                    w: width,
                    h: height,
                },
                Rect {
                    x: width - w - margin,
                    y: height - h - margin,
                    w,
                    h,
                },
            ]
        }
        n => {
            let cols = (1..=n).find(|c| c * c >= n).unwrap_or(n);
            let rows = n.div_ceil(cols);
            let (w, h) = (even(width / cols), even(height / rows));
            (0..n)
                .map(|i| Rect {
                    x: (i % cols) * w,
                    y: (i / cols) * h,
                    w,
                    h,
                })
                .collect()
        }
    };
    (None, cams)
}

/// The picture scaled to fit inside `r` (aspect kept, centred): where it lands.
pub fn placed(frame_w: usize, frame_h: usize, r: Rect) -> Rect {
    let even = |v: usize| v & !1;
    let (w, h) = if frame_w * r.h > frame_h * r.w {
        (r.w, even(r.w * frame_h / frame_w).max(2))
    } else {
        (even(r.h * frame_w / frame_h).max(2), r.h)
    };
    Rect {
        x: even(r.x + (r.w - w) / 2),
        y: even(r.y + (r.h - h) / 2),
        w,
        h,
    }
}

/// Copies `src` into `dst` at (`x`, `y`) (even), clipped.
fn blit(dst: &mut I420Frame, src: &I420Frame, x: usize, y: usize) {
    let (dw, dh) = (dst.width(), dst.height());
    let (sw, sh) = (src.width(), src.height());
    let w = sw.min(dw.saturating_sub(x));
    let h = sh.min(dh.saturating_sub(y));
    for row in 0..h {
        let d = (y + row) * dw + x;
        dst.y_mut()[d..d + w].copy_from_slice(&src.y()[row * sw..row * sw + w]);
    }
    let (cw, ch, sx, sy) = (w / 2, h / 2, x / 2, y / 2);
    let (su, sv) = (src.u(), src.v());
    let (du, dv) = dst.uv_mut();
    for row in 0..ch {
        let d = (sy + row) * (dw / 2) + sx;
        let s = row * (sw / 2);
        du[d..d + cw].copy_from_slice(&su[s..s + cw]);
        dv[d..d + cw].copy_from_slice(&sv[s..s + cw]);
    }
}

/// Text in white on a dark box, 8×8 glyphs scaled by `scale`, at (`x`, `y`) of the luma plane.
fn burn_text(frame: &mut I420Frame, text: &str, x: usize, y: usize, scale: usize) {
    use font8x8::UnicodeFonts;
    let w = frame.width();
    let h = frame.height();
    let cols = text.chars().count();
    let (box_w, box_h) = (cols * 8 * scale + 2 * scale, 8 * scale + 2 * scale);
    let luma = frame.y_mut();
    for row in y..(y + box_h).min(h) {
        for col in x..(x + box_w).min(w) {
            luma[row * w + col] = 16 + (luma[row * w + col] - 16.min(luma[row * w + col])) / 4;
        }
    }
    for (i, ch) in text.chars().enumerate() {
        let glyph = font8x8::BASIC_FONTS
            .get(ch)
            .or_else(|| font8x8::BASIC_FONTS.get('?'))
            .unwrap_or([0; 8]);
        for (gy, bits) in glyph.iter().enumerate() {
            for gx in 0..8 {
                if bits >> gx & 1 == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let px = x + scale + (i * 8 + gx) * scale + dx;
                        let py = y + scale + gy * scale + dy;
                        if px < w && py < h {
                            luma[py * w + px] = 235;
                        }
                    }
                }
            }
        }
    }
}

/// The time of day for the watermark, UTC (the recording's own clock; no time zone database
/// is needed to read it back).
fn clock_text(now: SystemTime) -> String {
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// Composes the layout from the latest picture of each source.
#[derive(Debug)]
struct Compositor {
    width: usize,
    height: usize,
    /// Latest pictures, in the order their sources first appeared.
    sources: Vec<(String, Picture, Arc<I420Frame>)>,
    /// Scaled pictures kept while neither the picture nor its place changed.
    cache: HashMap<String, (usize, Rect, I420Frame)>,
}

impl Compositor {
    fn update(&mut self, source: &str, kind: Picture, frame: Arc<I420Frame>) {
        match self.sources.iter_mut().find(|(s, _, _)| s == source) {
            Some(slot) => {
                slot.1 = kind;
                slot.2 = frame;
            }
            None => self.sources.push((source.to_owned(), kind, frame)),
        }
    }

    fn remove(&mut self, source: &str) {
        self.sources.retain(|(s, _, _)| s != source);
        self.cache.remove(source);
    }

    fn compose(&mut self) -> I420Frame {
        let mut out = I420Frame::black(self.width, self.height);
        let screen = self.sources.iter().find(|(_, k, _)| *k == Picture::Screen);
        let cameras: Vec<_> = self
            .sources
            .iter()
            .filter(|(_, k, _)| *k == Picture::Camera)
            .chain(self.sources.iter().filter(|(_, k, _)| *k == Picture::Own))
            .collect();
        let (screen_rect, cam_rects) =
            layout(self.width, self.height, cameras.len(), screen.is_some());
        let mut jobs: Vec<(&String, &Arc<I420Frame>, Rect)> = Vec::new();
        if let (Some((s, _, f)), Some(r)) = (screen, screen_rect) {
            jobs.push((s, f, r));
        }
        for ((s, _, f), r) in cameras.into_iter().zip(cam_rects) {
            jobs.push((s, f, r));
        }
        for (source, frame, r) in jobs {
            let p = placed(frame.width(), frame.height(), r);
            let key = Arc::as_ptr(frame) as usize;
            let fresh = matches!(self.cache.get(source), Some((k, pr, _)) if *k == key && *pr == p);
            if !fresh {
                let scaled = scale_into(frame, p.w, p.h);
                self.cache.insert(source.clone(), (key, p, scaled));
            }
            if let Some((_, _, scaled)) = self.cache.get(source) {
                blit(&mut out, scaled, p.x, p.y);
            }
        }
        out
    }
}

enum Input {
    Video(String, Picture, Arc<I420Frame>),
    Audio(u64, Box<[i16; FRAME]>),
    Leave(String, Option<u64>),
    Pause(bool),
    Stop,
}

/// A recording in progress. Dropping it stops the recording (what was written stays).
pub struct Recorder {
    feed: RecorderFeed,
    thread: Option<JoinHandle<RecordingSummary>>,
    path: PathBuf,
}

/// What sources push into a recording; cheap to clone, one per source task.
#[derive(Clone)]
pub struct RecorderFeed {
    tx: Sender<Input>,
}

impl RecorderFeed {
    /// The latest picture of a source (a party's camera, our own, or a screen).
    pub fn video(&self, source: &str, kind: Picture, frame: Arc<I420Frame>) {
        let _ = self.tx.send(Input::Video(source.to_owned(), kind, frame));
    }

    /// 20 ms of a source's sound (each source is mixed in; a source ahead of the recorder's
    /// clock by more than 60 ms loses its oldest frames).
    pub fn audio(&self, source: u64, pcm: &[i16; FRAME]) {
        let _ = self.tx.send(Input::Audio(source, Box::new(*pcm)));
    }

    /// A source went away (a party left, a screen share stopped).
    pub fn leave(&self, picture_source: &str, audio_source: Option<u64>) {
        let _ = self
            .tx
            .send(Input::Leave(picture_source.to_owned(), audio_source));
    }
}

/// Audio is a fragment's clock too: flush when this much is queued (ms).
const FRAGMENT_MS: u64 = 1000;

impl Recorder {
    /// Starts recording into `path` (created, or truncated). An unwritable path is an error
    /// here, before anything else happens.
    pub fn start(path: &Path, options: RecordOptions) -> Result<Self, RecordError> {
        let file = std::fs::File::create(path).map_err(|e| RecordError::Write {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let writer = Writer::new(file, path, &options)?;
        let (tx, rx) = channel();
        let p = path.to_owned();
        let thread = std::thread::Builder::new()
            .name("recorder".into())
            .spawn(move || writer.run(rx, options))
            .map_err(|e| RecordError::Codec(e.to_string()))?;
        Ok(Self {
            feed: RecorderFeed { tx },
            thread: Some(thread),
            path: p,
        })
    }

    /// A handle for a source task.
    pub fn feed(&self) -> RecorderFeed {
        self.feed.clone()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// See [`RecorderFeed::video`].
    pub fn video(&self, source: &str, kind: Picture, frame: Arc<I420Frame>) {
        self.feed.video(source, kind, frame);
    }

    /// See [`RecorderFeed::audio`].
    pub fn audio(&self, source: u64, pcm: &[i16; FRAME]) {
        self.feed.audio(source, pcm);
    }

    /// See [`RecorderFeed::leave`].
    pub fn leave(&self, picture_source: &str, audio_source: Option<u64>) {
        self.feed.leave(picture_source, audio_source);
    }

    pub fn pause(&self) {
        let _ = self.feed.tx.send(Input::Pause(true));
    }

    pub fn resume(&self) {
        let _ = self.feed.tx.send(Input::Pause(false));
    }

    /// Whether the recording thread still runs (it stops on a write error).
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Writes the last fragment and says what was recorded.
    pub fn stop(mut self) -> RecordingSummary {
        self.finish()
    }

    fn finish(&mut self) -> RecordingSummary {
        let _ = self.feed.tx.send(Input::Stop);
        let path = self.path.clone();
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or(RecordingSummary {
                path,
                duration_ms: 0,
                video_frames: 0,
                audio_frames: 0,
                bytes: 0,
                error: Some(RecordError::Stopped),
            })
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.finish();
        }
    }
}

/// The encoders, the muxer and the file.
struct Writer {
    file: std::fs::File,
    path: PathBuf,
    muxer: Option<FragmentedMuxer>,
    video: Option<(H264Encoder, Compositor)>,
    opus: Option<OpusEncoder>,
    mixer: Mixer,
    bytes: u64,
    video_frames: u64,
    audio_frames: u64,
    watermark: Option<String>,
}

impl Writer {
    fn new(file: std::fs::File, path: &Path, o: &RecordOptions) -> Result<Self, RecordError> {
        let codec = |e: &dyn std::fmt::Display| RecordError::Codec(e.to_string());
        let (w, h) = (o.width & !1, o.height & !1);
        let video = if o.media.video() {
            // An IDR is forced at each fragment; none in between.
            let enc = H264Encoder::new(o.bitrate_bps, o.fps as f32, u32::MAX / 2, false)
                .map_err(|e| codec(&e))?;
            Some((
                enc,
                Compositor {
                    width: w.max(2),
                    height: h.max(2),
                    sources: Vec::new(),
                    cache: HashMap::new(),
                },
            ))
        } else {
            None
        };
        let opus = if o.media.audio() {
            Some(OpusEncoder::new(64_000, 0).map_err(|e| codec(&e))?)
        } else {
            None
        };
        let mut me = Self {
            file,
            path: path.to_owned(),
            muxer: None,
            video,
            opus,
            mixer: Mixer::new(),
            bytes: 0,
            video_frames: 0,
            audio_frames: 0,
            watermark: o.watermark.clone(),
        };
        if !o.media.video() {
            let audio = FragmentAudioConfig {
                codec: AudioCodec::Opus,
                sample_rate: 48_000,
                channels: 1,
            };
            let mut m = FragmentedMuxer::new_audio_only(audio).map_err(|e| codec(&e))?;
            let init = m.init_segment();
            me.write(&init)?;
            me.muxer = Some(m);
        }
        Ok(me)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), RecordError> {
        self.file.write_all(bytes).map_err(|e| RecordError::Write {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), RecordError> {
        if let Some(seg) = self.muxer.as_mut().and_then(FragmentedMuxer::flush_segment) {
            self.write(&seg)?;
        }
        Ok(())
    }

    /// One picture at `pts` (90 kHz): composed, watermarked, encoded; a new fragment begins
    /// at each keyframe.
    fn picture(&mut self, pts: u64, keyframe: bool, o: &RecordOptions) -> Result<(), RecordError> {
        let codec = |e: &dyn std::fmt::Display| RecordError::Codec(e.to_string());
        let Some((enc, comp)) = self.video.as_mut() else {
            return Ok(());
        };
        let mut frame = comp.compose();
        if let Some(id) = &self.watermark {
            let text = format!("{id}  {}", clock_text(SystemTime::now()));
            let scale = (o.height / 360).max(1);
            let y = frame.height().saturating_sub(12 * scale);
            burn_text(&mut frame, &text, 4 * scale, y, scale);
        }
        if keyframe {
            enc.force_keyframe();
        }
        let au = enc.encode(&frame).map_err(|e| codec(&e))?;
        if au.is_empty() {
            return Ok(());
        }
        let is_idr = muxide::codec::h264::is_h264_keyframe(&au);
        if self.muxer.is_none() {
            let Some(cfg) = extract_avc_config(&au) else {
                return Err(RecordError::Codec(
                    "the first picture carried no SPS/PPS".into(),
                ));
            };
            let mut fc = FragmentConfig::new(comp.width as u32, comp.height as u32, 90_000)
                .with_fragment_duration_ms(FRAGMENT_MS as u32);
            fc.sps = cfg.sps;
            fc.pps = cfg.pps;
            let m = if o.media.audio() {
                FragmentedMuxer::new_with_audio(
                    fc,
                    FragmentAudioConfig {
                        codec: AudioCodec::Opus,
                        sample_rate: 48_000,
                        channels: 1,
                    },
                )
            } else {
                FragmentedMuxer::new(fc)
            }
            .map_err(|e| codec(&e))?;
            let mut m = m;
            let init = m.init_segment();
            self.write(&init)?;
            self.muxer = Some(m);
        } else if is_idr {
            self.flush()?;
        }
        if let Some(m) = self.muxer.as_mut() {
            m.write_video(pts, pts, &annexb_to_avcc(&au), is_idr)
                .map_err(|e| codec(&e))?;
        }
        self.video_frames += 1;
        Ok(())
    }

    fn sound(&mut self, pts: u64) -> Result<(), RecordError> {
        let codec = |e: &dyn std::fmt::Display| RecordError::Codec(e.to_string());
        let Some(opus) = self.opus.as_mut() else {
            return Ok(());
        };
        let pcm = self.mixer.mix().unwrap_or([0; FRAME]);
        let packet = opus.encode(&pcm).map_err(|e| codec(&e))?;
        if let Some(m) = self.muxer.as_mut() {
            m.write_audio(pts, pts, &packet).map_err(|e| codec(&e))?;
            self.audio_frames += 1;
        }
        // Audio alone: fragments by time.
        if self.video.is_none() && self.audio_frames.is_multiple_of(FRAGMENT_MS / 20) {
            self.flush()?;
        }
        Ok(())
    }

    fn run(mut self, rx: Receiver<Input>, o: RecordOptions) -> RecordingSummary {
        let frame_every = Duration::from_secs(1) / o.fps.max(1);
        let frames_per_fragment = u64::from(o.fps.max(1)) * FRAGMENT_MS / 1000;
        // The recording's own clock: advances only while recording.
        let mut recorded = Duration::ZERO;
        let mut running_since = Some(Instant::now());
        let mut next_audio = Duration::ZERO;
        let mut next_video = Duration::ZERO;
        let mut error = None;
        let mut stopping = false;
        loop {
            let now_rec = recorded + running_since.map_or(Duration::ZERO, |t| t.elapsed());
            // Produce everything due.
            if running_since.is_some() {
                while error.is_none() && next_video <= now_rec && self.video.is_some() {
                    let pts = next_video.as_micros() as u64 * 9 / 100;
                    let key = self.video_frames.is_multiple_of(frames_per_fragment.max(1));
                    if let Err(e) = self.picture(pts, key, &o) {
                        error = Some(e);
                    }
                    next_video += frame_every;
                }
                while error.is_none() && next_audio <= now_rec && self.opus.is_some() {
                    let pts = next_audio.as_micros() as u64 * 48 / 1000;
                    if let Err(e) = self.sound(pts) {
                        error = Some(e);
                    }
                    next_audio += Duration::from_millis(20);
                }
            }
            if error.is_some() || stopping {
                break;
            }
            let next_due = [
                self.video.as_ref().map(|_| next_video),
                self.opus.as_ref().map(|_| next_audio),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now_rec + Duration::from_millis(20));
            let wait = if running_since.is_some() {
                next_due.saturating_sub(now_rec)
            } else {
                Duration::from_millis(200)
            };
            match rx.recv_timeout(wait) {
                Ok(Input::Video(s, k, f)) => {
                    if let Some((_, c)) = self.video.as_mut() {
                        c.update(&s, k, f);
                    }
                }
                Ok(Input::Audio(s, pcm)) => self.mixer.push(s, &pcm),
                Ok(Input::Leave(s, a)) => {
                    if let Some((_, c)) = self.video.as_mut() {
                        c.remove(&s);
                    }
                    if let Some(a) = a {
                        self.mixer.remove(a);
                    }
                }
                Ok(Input::Pause(true)) => {
                    if let Some(t) = running_since.take() {
                        recorded += t.elapsed();
                    }
                }
                Ok(Input::Pause(false)) => {
                    running_since.get_or_insert_with(Instant::now);
                }
                Ok(Input::Stop) | Err(RecvTimeoutError::Disconnected) => stopping = true,
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
        if error.is_none()
            && let Err(e) = self.flush()
        {
            error = Some(e);
        }
        if let Some(e) = &error {
            tracing::warn!("{e}");
        }
        let duration_ms = if self.video.is_some() {
            self.video_frames * 1000 / u64::from(o.fps.max(1))
        } else {
            self.audio_frames * 20
        };
        RecordingSummary {
            path: self.path,
            duration_ms,
            video_frames: self.video_frames,
            audio_frames: self.audio_frames,
            bytes: self.bytes,
            error,
        }
    }
}

#[cfg(test)]
mod tests;
