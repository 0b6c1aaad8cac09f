//! Screen and window capture: the sources an agent can share, thumbnails for the picker, and a
//! capturer that gives I420 pictures of one of them.
//!
//! Two back ends (ARCHITECTURE.md): our own X11 capturer (`x11`: an X11 session, or Xvfb in
//! tests) and `scap` 0.0.8 (`portal`: macOS ScreenCaptureKit, Windows Graphics Capture, and
//! on Linux Wayland the desktop portal + PipeWire, where the system's dialog picks the
//! source). Where capture is impossible the error says why; nothing panics.

mod portal;
#[cfg(all(unix, not(target_os = "macos")))]
mod x11;

#[cfg(all(unix, not(target_os = "macos")))]
pub use x11::Capturer;

use crate::video::I420Frame;

/// Why a screen cannot be listed or captured.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CaptureError {
    #[error("no display to capture ({0})")]
    NoDisplay(String),
    #[error("screen capture is not available here: {0}")]
    Unsupported(String),
    #[error("no screen or window {0:?} (see the list of sources)")]
    NotFound(String),
    #[error("the shared window was closed")]
    WindowClosed,
    #[error("the screen share was stopped from outside the app")]
    Stopped,
    #[error("capture failed: {0}")]
    Failed(String),
}

/// What kind of thing a source shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Screen,
    Window,
    /// Chosen in the system's own dialog when sharing starts (the Wayland desktop portal).
    Dialog,
}

/// A screen or window the agent can pick.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct ScreenSource {
    /// `x11:screen:N`, `x11:window:0xID`, `portal`, `scap:display:N` or `scap:window:N`.
    pub id: String,
    pub name: String,
    pub kind: SourceKind,
    /// The size, when known before sharing (0 otherwise).
    pub width: u32,
    pub height: u32,
}

/// Every source that can be shared here. On an X11 desktop (or Xvfb): the screens and titled
/// windows. On Wayland: the portal's dialog, then the XWayland windows. On macOS and Windows:
/// scap's displays and windows. An error says why there is nothing to share.
pub fn sources() -> Result<Vec<ScreenSource>, CaptureError> {
    let mut out = portal::sources();
    #[cfg(all(unix, not(target_os = "macos")))]
    if x11::available() {
        match x11::sources() {
            Ok(s) => out.extend(s),
            Err(e) if out.is_empty() => return Err(e),
            Err(e) => tracing::debug!("no X11 sources beside the portal: {e}"),
        }
    }
    if out.is_empty() {
        return Err(CaptureError::NoDisplay(
            "no X11 display, Wayland session or desktop capture service".into(),
        ));
    }
    Ok(out)
}

/// A small picture of a source for the picker, at most `max_w` wide (`None` for a source that
/// shows nothing before it is chosen, such as the portal's dialog).
pub fn thumbnail(id: &str, max_w: usize) -> Result<Option<I420Frame>, CaptureError> {
    #[cfg(all(unix, not(target_os = "macos")))]
    if id.starts_with("x11:") {
        return x11::Capturer::open(id)?.thumbnail(max_w).map(Some);
    }
    let _ = max_w;
    portal::parse(id)?;
    Ok(None)
}

/// A screen or window being captured, whichever back end serves it.
pub enum ScreenCapturer {
    #[cfg(all(unix, not(target_os = "macos")))]
    X11(x11::Capturer),
    Portal(portal::PortalCapturer),
}

impl ScreenCapturer {
    /// Opens a source by id (from [`sources`]). The portal's dialog, where there is one, shows
    /// now and this waits for the agent's choice: call it off the async runtime.
    pub fn open(id: &str) -> Result<Self, CaptureError> {
        #[cfg(all(unix, not(target_os = "macos")))]
        if id.starts_with("x11:") {
            return x11::Capturer::open(id).map(Self::X11);
        }
        portal::PortalCapturer::open(id).map(Self::Portal)
    }

    /// The source's current picture. A closed window is [`CaptureError::WindowClosed`].
    pub fn frame(&mut self) -> Result<I420Frame, CaptureError> {
        match self {
            #[cfg(all(unix, not(target_os = "macos")))]
            Self::X11(c) => c.frame(),
            Self::Portal(c) => c.frame(),
        }
    }
}
