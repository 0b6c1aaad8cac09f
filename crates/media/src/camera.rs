//! Cameras: the synthetic `pattern` and real ones through nokhwa (V4L2 on Linux, AVFoundation
//! on macOS, Media Foundation on Windows), with ids `camera:<name>` that survive a re-plug into
//! another port (a second camera of the same name is `camera:<name> #2`).
//!
//! A real camera is read on a thread of its own (its `frame()` blocks, and some backends'
//! handles are not `Send`); each frame is converted to I420 and fitted to the video profile
//! there, and the call takes the newest one at its own frame rate.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nokhwa::utils::{ApiBackend, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType};

use crate::convert::{PixelFormat, fit, to_i420};
use crate::device::{DeviceError, DeviceInfo, DeviceKind};
use crate::pattern::PatternCamera;
use crate::video::I420Frame;

/// A camera that has sent nothing for this long is gone (unplugged, taken by another app).
const STALL: Duration = Duration::from_secs(5);

/// The cameras attached now. None on a machine without any (never an error).
pub fn camera_devices() -> Vec<DeviceInfo> {
    listed()
        .into_iter()
        .map(|(id, name, _)| DeviceInfo {
            id,
            name,
            kind: DeviceKind::Camera,
            synthetic: false,
        })
        .collect()
}

/// (id, name, backend index) of each camera.
fn listed() -> Vec<(String, String, CameraIndex)> {
    // macOS asks the user once; without the grant the list is empty, not an error.
    #[cfg(target_os = "macos")]
    if !nokhwa::nokhwa_check() {
        nokhwa::nokhwa_initialize(|_| {});
    }
    let Ok(mut cams) = nokhwa::query(ApiBackend::Auto) else {
        return Vec::new();
    };
    cams.sort_by_key(|c| c.index().as_string());
    let mut out: Vec<(String, String, CameraIndex)> = Vec::new();
    for c in cams {
        let name = c.human_name();
        let base = format!("camera:{name}");
        let same = out.iter().filter(|(_, n, _)| *n == name).count();
        let id = if same == 0 {
            base
        } else {
            format!("{base} #{}", same + 1)
        };
        out.push((id, name, c.index().clone()));
    }
    out
}

/// Whether `id` names a camera that exists now (without opening it: some systems let only one
/// program stream from a camera).
pub fn check(id: &str) -> Result<(), DeviceError> {
    if id == "pattern" || listed().iter().any(|(i, ..)| i == id) {
        Ok(())
    } else {
        Err(DeviceError::NotFound {
            kind: "camera",
            id: id.to_owned(),
        })
    }
}

/// One way a camera can deliver pictures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub format: PixelFormat,
}

/// The mode to ask for when the call wants `width`×`height` at `fps`: first one fast enough,
/// then the smallest that covers the size (the rest is cropped and scaled down), then raw
/// pixels over JPEG (no decoding).
pub fn choose_mode(modes: &[Mode], width: u32, height: u32, fps: u32) -> Option<Mode> {
    modes.iter().copied().min_by_key(|m| {
        let fast = m.fps >= fps;
        let covers = m.width >= width && m.height >= height;
        let area = u64::from(m.width) * u64::from(m.height);
        let want = u64::from(width) * u64::from(height);
        // Covering: the smaller the better; not covering: the larger the better.
        let size = if covers { area - want } else { u64::MAX - area };
        let raw = matches!(m.format, PixelFormat::Yuyv | PixelFormat::Nv12);
        (!fast, !covers, size, !raw, m.fps.abs_diff(fps))
    })
}

fn pixel_format(f: FrameFormat) -> PixelFormat {
    match f {
        FrameFormat::MJPEG => PixelFormat::Mjpeg,
        FrameFormat::YUYV => PixelFormat::Yuyv,
        FrameFormat::NV12 => PixelFormat::Nv12,
        FrameFormat::GRAY => PixelFormat::Gray,
        FrameFormat::RAWRGB => PixelFormat::Rgb,
        FrameFormat::RAWBGR => PixelFormat::Bgr,
    }
}

const ALL_FORMATS: &[FrameFormat] = &[
    FrameFormat::MJPEG,
    FrameFormat::YUYV,
    FrameFormat::NV12,
    FrameFormat::GRAY,
    FrameFormat::RAWRGB,
    FrameFormat::RAWBGR,
];

/// What the capture thread shares with the call.
#[derive(Default)]
struct Latest {
    frame: Option<I420Frame>,
    at: Option<Instant>,
    error: Option<String>,
}

/// A real camera streaming on its thread.
pub struct DeviceCamera {
    id: String,
    mode: Mode,
    latest: Arc<Mutex<Latest>>,
    stop: Arc<AtomicBool>,
    opened: Instant,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DeviceCamera {
    /// Opens `camera:<name>` in the mode closest to `width`×`height` at `fps`.
    pub fn open(id: &str, width: u32, height: u32, fps: u32) -> Result<Self, DeviceError> {
        let cannot = |reason: String| DeviceError::CannotOpen {
            id: id.to_owned(),
            reason,
        };
        let index = listed()
            .into_iter()
            .find(|(i, ..)| i == id)
            .map(|(.., index)| index)
            .ok_or_else(|| DeviceError::NotFound {
                kind: "camera",
                id: id.to_owned(),
            })?;
        let latest = Arc::new(Mutex::new(Latest::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (opened_tx, opened_rx) = std::sync::mpsc::sync_channel(1);
        let thread = {
            let (latest, stop) = (latest.clone(), stop.clone());
            std::thread::Builder::new()
                .name(format!("camera {id}"))
                .spawn(move || {
                    let mut cam = match start(index, width, height, fps) {
                        Ok((cam, mode)) => {
                            let _ = opened_tx.send(Ok(mode));
                            cam
                        }
                        Err(e) => {
                            let _ = opened_tx.send(Err(e));
                            return;
                        }
                    };
                    run(&mut cam, (width as usize, height as usize), &latest, &stop);
                    let _ = cam.stop_stream();
                })
                .map_err(|e| cannot(e.to_string()))?
        };
        let mode = opened_rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| cannot("the camera did not start within 10 s".into()))?
            .map_err(cannot)?;
        Ok(Self {
            id: id.to_owned(),
            mode,
            latest,
            stop,
            opened: Instant::now(),
            thread: Some(thread),
        })
    }

    /// The mode the camera streams in.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The newest picture not taken yet, or an error once the camera is gone.
    pub fn take(&mut self) -> Result<Option<I420Frame>, DeviceError> {
        let mut l = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        let lost = |reason: String| DeviceError::CannotOpen {
            id: self.id.clone(),
            reason,
        };
        if let Some(e) = &l.error {
            return Err(lost(e.clone()));
        }
        if l.at.unwrap_or(self.opened).elapsed() > STALL {
            return Err(lost(format!("no picture for {} s", STALL.as_secs())));
        }
        Ok(l.frame.take())
    }
}

impl Drop for DeviceCamera {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Not joined: a camera that has stopped sending blocks in `frame()`; the thread ends
        // by itself with the next frame or error, and the light goes off with it.
        drop(self.thread.take());
    }
}

fn start(
    index: CameraIndex,
    width: u32,
    height: u32,
    fps: u32,
) -> Result<(nokhwa::Camera, Mode), String> {
    let any = RequestedFormat::with_formats(RequestedFormatType::None, ALL_FORMATS);
    let mut cam = nokhwa::Camera::new(index, any).map_err(|e| e.to_string())?;
    let formats = cam.compatible_camera_formats().map_err(|e| e.to_string())?;
    let modes: Vec<Mode> = formats
        .iter()
        .map(|f| Mode {
            width: f.width(),
            height: f.height(),
            fps: f.frame_rate(),
            format: pixel_format(f.format()),
        })
        .collect();
    let mode = choose_mode(&modes, width, height, fps).ok_or("the camera lists no modes")?;
    let chosen = formats[modes.iter().position(|m| *m == mode).unwrap_or(0)];
    let exact = RequestedFormat::with_formats(RequestedFormatType::Exact(chosen), ALL_FORMATS);
    cam.set_camera_requset(exact).map_err(|e| e.to_string())?;
    cam.open_stream().map_err(|e| e.to_string())?;
    Ok((cam, mode))
}

fn run(
    cam: &mut nokhwa::Camera,
    (width, height): (usize, usize),
    latest: &Mutex<Latest>,
    stop: &AtomicBool,
) {
    let mut bad_frames = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let set = |f: &mut dyn FnMut(&mut Latest)| {
            f(&mut latest.lock().unwrap_or_else(|e| e.into_inner()));
        };
        let buf = match cam.frame() {
            Ok(b) => b,
            Err(e) => {
                set(&mut |l| l.error = Some(e.to_string()));
                return;
            }
        };
        let res = buf.resolution();
        let format = pixel_format(buf.source_frame_format());
        match to_i420(
            format,
            res.width() as usize,
            res.height() as usize,
            buf.buffer(),
        ) {
            Ok(frame) => {
                bad_frames = 0;
                let frame = fit(&frame, width, height);
                set(&mut |l| {
                    l.frame = Some(frame.clone());
                    l.at = Some(Instant::now());
                });
            }
            // A torn JPEG now and then is normal for USB cameras; a stream of them is not.
            Err(e) => {
                bad_frames += 1;
                tracing::debug!("camera frame dropped: {e}");
                if bad_frames > 30 {
                    set(&mut |l| l.error = Some(e.to_string()));
                    return;
                }
            }
        }
    }
}

/// The call's camera, synthetic or real.
pub enum Camera {
    Pattern(PatternCamera),
    Device(DeviceCamera),
}

impl Camera {
    /// `pattern` or a `camera:` id from the device list.
    pub fn open(id: &str, width: u32, height: u32, fps: u32) -> Result<Self, DeviceError> {
        match id {
            "pattern" => Ok(Self::Pattern(PatternCamera::new(
                width as usize,
                height as usize,
            ))),
            _ if id.starts_with("camera:") => {
                DeviceCamera::open(id, width, height, fps).map(Self::Device)
            }
            _ => Err(DeviceError::NotFound {
                kind: "camera",
                id: id.to_owned(),
            }),
        }
    }

    /// The next picture: the pattern draws one now (stamped with `capture_ms`); a real camera
    /// gives its newest, or nothing if it has not delivered a new one since the last call.
    pub fn frame(&mut self, capture_ms: u64) -> Result<Option<I420Frame>, DeviceError> {
        match self {
            Self::Pattern(p) => Ok(Some(p.frame(capture_ms))),
            Self::Device(d) => d.take(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(width: u32, height: u32, fps: u32, format: PixelFormat) -> Mode {
        Mode {
            width,
            height,
            fps,
            format,
        }
    }

    #[test]
    fn the_mode_is_fast_enough_then_just_large_enough_then_raw() {
        use PixelFormat::*;
        let modes = [
            m(640, 480, 30, Yuyv),
            m(1280, 720, 10, Yuyv),
            m(1280, 720, 30, Mjpeg),
            m(1920, 1080, 30, Mjpeg),
            m(1920, 1080, 5, Yuyv),
        ];
        // USB 2 cameras send raw 720p slowly: JPEG at full rate wins.
        assert_eq!(
            choose_mode(&modes, 1280, 720, 30),
            Some(m(1280, 720, 30, Mjpeg))
        );
        // 360p: the smallest mode that covers it, raw.
        assert_eq!(
            choose_mode(&modes, 640, 360, 30),
            Some(m(640, 480, 30, Yuyv))
        );
        // 15 fps at 720p: raw 10 fps is too slow still.
        assert_eq!(
            choose_mode(&modes, 1280, 720, 15),
            Some(m(1280, 720, 30, Mjpeg))
        );
        // Nothing covers: the largest that is fast enough.
        assert_eq!(
            choose_mode(
                &[m(320, 240, 30, Yuyv), m(640, 480, 30, Yuyv)],
                1920,
                1080,
                30
            ),
            Some(m(640, 480, 30, Yuyv))
        );
        assert_eq!(choose_mode(&[], 640, 360, 30), None);
    }

    #[test]
    fn an_unknown_camera_is_a_clear_error() {
        let e = Camera::open("camera:No Such Camera", 640, 360, 30)
            .err()
            .unwrap();
        assert!(
            matches!(e, DeviceError::NotFound { kind: "camera", .. }),
            "{e}"
        );
        assert!(matches!(
            Camera::open("webcam0", 640, 360, 30),
            Err(DeviceError::NotFound { .. })
        ));
        assert!(Camera::open("pattern", 640, 360, 30).is_ok());
    }
}
