//! Capture through `scap` 0.0.8: ScreenCaptureKit on macOS, Windows Graphics Capture, and on
//! Linux the desktop portal (org.freedesktop.portal.ScreenCast) + PipeWire.
//!
//! scap panics instead of failing where it cannot capture (on Linux without a session bus or
//! a portal: `expect("Failed to get screencast stream")`, research/build-spike.md), so it is
//! built on a thread of its own and a panic there becomes [`CaptureError::Unsupported`] with
//! scap's message. Its frames arrive on a channel; a reader thread keeps the latest one.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use scap::frame::Frame;

use super::{CaptureError, ScreenSource, SourceKind};
use crate::convert::{PixelFormat, to_i420};
use crate::video::I420Frame;

/// How long the first picture may take once the source is chosen.
const FIRST_FRAME: Duration = Duration::from_secs(5);

/// A scap target, by the index it has in `scap::get_all_targets()` (macOS, Windows), or the
/// portal's dialog (Linux).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    Dialog,
    Display(u32),
    Window(u32),
}

pub(super) fn parse(id: &str) -> Result<Target, CaptureError> {
    let not_found = || CaptureError::NotFound(id.to_owned());
    if id == "portal" {
        return Ok(Target::Dialog);
    }
    let n = |s: &str| s.parse::<u32>().map_err(|_| not_found());
    if let Some(d) = id.strip_prefix("scap:display:") {
        return Ok(Target::Display(n(d)?));
    }
    if let Some(w) = id.strip_prefix("scap:window:") {
        return Ok(Target::Window(n(w)?));
    }
    Err(not_found())
}

/// A Wayland session, where X11 capture sees only XWayland windows and the portal is the way.
#[cfg(target_os = "linux")]
fn wayland() -> bool {
    std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty())
        || std::env::var("XDG_SESSION_TYPE").is_ok_and(|t| t == "wayland")
}

/// What scap offers to pick from here.
pub(super) fn sources() -> Vec<ScreenSource> {
    #[cfg(target_os = "linux")]
    {
        if wayland() {
            return vec![ScreenSource {
                id: "portal".into(),
                name: "Screen or window (choose in the system dialog)".into(),
                kind: SourceKind::Dialog,
                width: 0,
                height: 0,
            }];
        }
        Vec::new()
    }
    #[cfg(not(target_os = "linux"))]
    {
        if !scap::is_supported() {
            return Vec::new();
        }
        let targets = catch_unwind(scap::get_all_targets).unwrap_or_default();
        targets
            .into_iter()
            .map(|t| match t {
                scap::Target::Display(d) => ScreenSource {
                    id: format!("scap:display:{}", d.id),
                    name: d.title,
                    kind: SourceKind::Screen,
                    width: 0,
                    height: 0,
                },
                scap::Target::Window(w) => ScreenSource {
                    id: format!("scap:window:{}", w.id),
                    name: w.title,
                    kind: SourceKind::Window,
                    width: 0,
                    height: 0,
                },
            })
            .collect()
    }
}

/// scap's target for an id (the portal's dialog needs none).
fn target(t: Target) -> Result<Option<scap::Target>, CaptureError> {
    let (want, is_display) = match t {
        Target::Dialog => return Ok(None),
        Target::Display(n) => (n, true),
        Target::Window(n) => (n, false),
    };
    #[cfg(target_os = "linux")]
    {
        let _ = (want, is_display);
        Err(CaptureError::Unsupported(
            "scap lists no sources on Linux: share through the portal's dialog".into(),
        ))
    }
    #[cfg(not(target_os = "linux"))]
    catch_unwind(scap::get_all_targets)
        .unwrap_or_default()
        .into_iter()
        .find(|t| match t {
            scap::Target::Display(d) => is_display && d.id == want,
            scap::Target::Window(w) => !is_display && w.id == want,
        })
        .map(Some)
        .ok_or_else(|| CaptureError::NotFound(format!("scap:{want}")))
}

/// A panic's message.
fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "scap failed".into())
}

/// One picture from scap's frame, as I420.
fn convert(frame: Frame) -> Option<I420Frame> {
    let (format, w, h, data) = match frame {
        Frame::BGRx(f) => (PixelFormat::Bgrx, f.width, f.height, f.data),
        Frame::BGRA(f) => (PixelFormat::Bgrx, f.width, f.height, f.data),
        Frame::RGBx(f) => (PixelFormat::Rgbx, f.width, f.height, f.data),
        Frame::XBGR(f) => (PixelFormat::Xbgr, f.width, f.height, f.data),
        Frame::RGB(f) => (PixelFormat::Rgb, f.width, f.height, f.data),
        // BGR0 is 4 bytes a pixel on macOS; judge by the length rather than trust the name.
        Frame::BGR0(f) => {
            let four = f.data.len() >= (f.width * f.height * 4).max(0) as usize;
            let format = if four {
                PixelFormat::Bgrx
            } else {
                PixelFormat::Bgr
            };
            (format, f.width, f.height, f.data)
        }
        // Not asked for (the options want BGRA).
        Frame::YUVFrame(_) => return None,
    };
    let (w, h) = (usize::try_from(w).ok()?, usize::try_from(h).ok()?);
    to_i420(format, w, h, &data).ok()
}

/// A running scap capture.
pub struct PortalCapturer {
    latest: Arc<Mutex<Option<I420Frame>>>,
    /// The reader saw the stream end (the agent stopped it in the system's indicator, or the
    /// window went away).
    ended: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl PortalCapturer {
    pub fn open(id: &str) -> Result<Self, CaptureError> {
        let target = target(parse(id)?)?;
        if !scap::is_supported() {
            return Err(CaptureError::Unsupported(
                "scap does not support this system".into(),
            ));
        }
        if !scap::has_permission() && !scap::request_permission() {
            return Err(CaptureError::Unsupported(
                "permission to record the screen was not given (System Settings → Privacy)".into(),
            ));
        }
        let options = scap::capturer::Options {
            fps: 15,
            show_cursor: true,
            show_highlight: false,
            target,
            output_type: scap::frame::FrameType::BGRAFrame,
            ..Default::default()
        };
        let (latest, ended, stop) = (
            Arc::new(Mutex::new(None)),
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let (opened_tx, opened) = mpsc::sync_channel(1);
        let (l, e, s) = (latest.clone(), ended.clone(), stop.clone());
        std::thread::Builder::new()
            .name("screen-portal".into())
            .spawn(move || {
                let built = catch_unwind(AssertUnwindSafe(|| {
                    let mut c = scap::capturer::Capturer::build(options)
                        .map_err(|e| CaptureError::Unsupported(e.to_string()))?;
                    c.start_capture();
                    Ok::<_, CaptureError>(c)
                }));
                let mut capturer = match built {
                    Ok(Ok(c)) => c,
                    Ok(Err(err)) => {
                        let _ = opened_tx.send(Err(err));
                        return;
                    }
                    Err(panic) => {
                        let why = message(panic.as_ref());
                        let _ = opened_tx.send(Err(CaptureError::Unsupported(format!(
                            "the desktop capture service is not available ({why})"
                        ))));
                        return;
                    }
                };
                let _ = opened_tx.send(Ok(()));
                while !s.load(Ordering::Relaxed) {
                    match catch_unwind(AssertUnwindSafe(|| capturer.get_next_frame())) {
                        Ok(Ok(frame)) => {
                            if let Some(f) = convert(frame) {
                                *l.lock().unwrap_or_else(|p| p.into_inner()) = Some(f);
                            }
                        }
                        _ => {
                            e.store(true, Ordering::Relaxed);
                            break;
                        }
                    }
                }
                // scap's stop joins its own threads; a panic there must not outlive us.
                let _ = catch_unwind(AssertUnwindSafe(|| capturer.stop_capture()));
            })
            .map_err(|e| CaptureError::Failed(e.to_string()))?;
        match opened.recv() {
            Ok(Ok(())) => Ok(Self {
                latest,
                ended,
                stop,
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(CaptureError::Unsupported(
                "scap stopped while opening".into(),
            )),
        }
    }

    /// The latest picture (waiting for the first one). PipeWire sends a picture only when
    /// the screen changed: a still screen gives the same picture again.
    pub fn frame(&mut self) -> Result<I420Frame, CaptureError> {
        let deadline = std::time::Instant::now() + FIRST_FRAME;
        loop {
            if self.ended.load(Ordering::Relaxed) {
                return Err(CaptureError::Stopped);
            }
            if let Some(f) = self
                .latest
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
            {
                return Ok(f);
            }
            if std::time::Instant::now() > deadline {
                return Err(CaptureError::Failed(
                    "no picture from the capture service".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PortalCapturer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_and_nonsense_is_not_found() {
        assert_eq!(parse("portal"), Ok(Target::Dialog));
        assert_eq!(parse("scap:display:2"), Ok(Target::Display(2)));
        assert_eq!(parse("scap:window:77"), Ok(Target::Window(77)));
        assert!(matches!(
            parse("scap:window:x"),
            Err(CaptureError::NotFound(_))
        ));
        assert!(matches!(
            parse("x11:screen:0"),
            Err(CaptureError::NotFound(_))
        ));
    }
}
