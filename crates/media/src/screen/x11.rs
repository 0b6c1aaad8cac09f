//! Screen and window capture on X11 (an X11 desktop, or Xvfb in tests): each screen and each
//! top-level window with a title, and a capturer that gives I420 pictures of one of them.
//! Pixels come through MIT-SHM (the server writes into memory we share: no copy through the
//! socket), else through plain GetImage. A window that closes, or a display that goes away, is
//! a typed error, never a panic.

use std::sync::Arc;

use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::ErrorKind;
use x11rb::protocol::shm::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{AtomEnum, ConnectionExt as _, ImageFormat, MapState, Window};
use x11rb::rust_connection::RustConnection;

use super::{CaptureError, ScreenSource, SourceKind};
use crate::convert::{PixelFormat, scale_into, to_i420};
use crate::video::I420Frame;

fn failed(e: impl std::fmt::Display) -> CaptureError {
    CaptureError::Failed(e.to_string())
}

/// Whether there is an X display to capture (an X11 session, XWayland, Xvfb).
pub fn available() -> bool {
    std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
}

fn connect() -> Result<(RustConnection, usize), CaptureError> {
    if !available() {
        return Err(CaptureError::NoDisplay("DISPLAY is not set".into()));
    }
    x11rb::connect(None).map_err(|e| CaptureError::NoDisplay(e.to_string()))
}

fn atom(c: &RustConnection, name: &[u8]) -> Result<u32, CaptureError> {
    Ok(c.intern_atom(false, name)
        .map_err(failed)?
        .reply()
        .map_err(failed)?
        .atom)
}

/// A window's title: `_NET_WM_NAME` (UTF-8), else `WM_NAME`.
fn title(c: &RustConnection, w: Window, net_wm_name: u32, utf8: u32) -> Option<String> {
    let get = |prop: u32, ty: u32| {
        c.get_property(false, w, prop, ty, 0, 1024)
            .ok()?
            .reply()
            .ok()
            .map(|r| String::from_utf8_lossy(&r.value).into_owned())
            .filter(|t| !t.trim().is_empty())
    };
    get(net_wm_name, utf8).or_else(|| get(AtomEnum::WM_NAME.into(), AtomEnum::ANY.into()))
}

/// The screens and titled top-level windows of the X display.
pub fn sources() -> Result<Vec<ScreenSource>, CaptureError> {
    let (c, _) = connect()?;
    let mut out = Vec::new();
    let (net_client_list, net_wm_name, utf8) = (
        atom(&c, b"_NET_CLIENT_LIST")?,
        atom(&c, b"_NET_WM_NAME")?,
        atom(&c, b"UTF8_STRING")?,
    );
    for (n, screen) in c.setup().roots.iter().enumerate() {
        out.push(ScreenSource {
            id: format!("x11:screen:{n}"),
            name: format!("Screen {}", n + 1),
            kind: SourceKind::Screen,
            width: u32::from(screen.width_in_pixels),
            height: u32::from(screen.height_in_pixels),
        });
        // The window manager's list; without one (a bare X server), the mapped children of
        // the root.
        let managed: Vec<Window> = c
            .get_property(
                false,
                screen.root,
                net_client_list,
                AtomEnum::WINDOW,
                0,
                4096,
            )
            .ok()
            .and_then(|r| r.reply().ok())
            .and_then(|r| r.value32().map(Iterator::collect))
            .unwrap_or_default();
        let windows = if managed.is_empty() {
            c.query_tree(screen.root)
                .map_err(failed)?
                .reply()
                .map_err(failed)?
                .children
        } else {
            managed
        };
        for w in windows {
            let Ok(Ok(attrs)) = c.get_window_attributes(w).map(|r| r.reply()) else {
                continue;
            };
            if attrs.map_state != MapState::VIEWABLE || attrs.override_redirect {
                continue;
            }
            let Some(name) = title(&c, w, net_wm_name, utf8) else {
                continue;
            };
            let Ok(Ok(g)) = c.get_geometry(w).map(|r| r.reply()) else {
                continue;
            };
            out.push(ScreenSource {
                id: format!("x11:window:{w:#x}"),
                name,
                kind: SourceKind::Window,
                width: u32::from(g.width),
                height: u32::from(g.height),
            });
        }
    }
    Ok(out)
}

/// What an id names.
fn parse(id: &str) -> Result<(SourceKind, u32), CaptureError> {
    let not_found = || CaptureError::NotFound(id.to_owned());
    if let Some(n) = id.strip_prefix("x11:screen:") {
        return Ok((SourceKind::Screen, n.parse().map_err(|_| not_found())?));
    }
    if let Some(w) = id.strip_prefix("x11:window:") {
        let w = w.trim_start_matches("0x");
        return Ok((
            SourceKind::Window,
            u32::from_str_radix(w, 16).map_err(|_| not_found())?,
        ));
    }
    Err(not_found())
}

/// Shared memory the X server writes pictures into.
struct Shm {
    seg: shm::Seg,
    map: memmap2::Mmap,
}

/// Captures one screen or window.
pub struct Capturer {
    conn: Arc<RustConnection>,
    drawable: Window,
    kind: SourceKind,
    shm: Option<Shm>,
}

impl Capturer {
    /// Opens a source by id (from [`sources`]).
    pub fn open(id: &str) -> Result<Self, CaptureError> {
        let (kind, n) = parse(id)?;
        let (c, _) = connect()?;
        let drawable = match kind {
            SourceKind::Screen => {
                c.setup()
                    .roots
                    .get(n as usize)
                    .ok_or_else(|| CaptureError::NotFound(id.to_owned()))?
                    .root
            }
            SourceKind::Window => {
                // A window that is not there (any more) is "not found" now, "closed" later.
                c.get_geometry(n)
                    .map_err(failed)?
                    .reply()
                    .map_err(|_| CaptureError::NotFound(id.to_owned()))?;
                n
            }
            SourceKind::Dialog => return Err(CaptureError::NotFound(id.to_owned())),
        };
        Ok(Self {
            conn: Arc::new(c),
            drawable,
            kind,
            shm: None,
        })
    }

    /// Whether the pictures come through shared memory (after the first one).
    pub fn uses_shm(&self) -> bool {
        self.shm.is_some()
    }

    fn size(&self) -> Result<(u16, u16), CaptureError> {
        let g = self
            .conn
            .get_geometry(self.drawable)
            .map_err(failed)?
            .reply()
            .map_err(|_| match self.kind {
                SourceKind::Window => CaptureError::WindowClosed,
                SourceKind::Screen | SourceKind::Dialog => {
                    CaptureError::Failed("the screen went away".into())
                }
            })?;
        Ok((g.width, g.height))
    }

    /// Shared memory of `bytes`, when the server offers MIT-SHM 1.2 (it creates the segment
    /// and hands us its descriptor).
    fn shm(&mut self, bytes: usize) -> Option<&Shm> {
        if self.shm.as_ref().is_some_and(|s| s.map.len() >= bytes) {
            return self.shm.as_ref();
        }
        if let Some(old) = self.shm.take() {
            let _ = self.conn.shm_detach(old.seg);
        }
        self.conn
            .extension_information(shm::X11_EXTENSION_NAME)
            .ok()??;
        let v = self.conn.shm_query_version().ok()?.reply().ok()?;
        if (v.major_version, v.minor_version) < (1, 2) {
            return None;
        }
        let seg = self.conn.generate_id().ok()?;
        let reply = self
            .conn
            .shm_create_segment(seg, u32::try_from(bytes).ok()?, false)
            .ok()?
            .reply()
            .ok()?;
        let fd = std::fs::File::from(reply.shm_fd);
        // SAFETY: the mapping is only read, and only after a GetImage reply says the server
        // finished writing it; the segment lives until `shm_detach` (in Drop, after the map).
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::MmapOptions::new().len(bytes).map(&fd) }.ok()?;
        self.shm = Some(Shm { seg, map });
        self.shm.as_ref()
    }

    /// The source's current picture as I420 (odd sizes lose a column or row).
    pub fn frame(&mut self) -> Result<I420Frame, CaptureError> {
        let (w, h) = self.size()?;
        if w < 2 || h < 2 {
            return Err(CaptureError::Failed(format!("a {w}×{h} picture")));
        }
        let bytes = usize::from(w) * usize::from(h) * 4;
        let drawable = self.drawable;
        let conn = self.conn.clone();
        let kind = self.kind;
        // Only a window that is gone is "closed": one that is minimised or partly off the
        // screen fails GetImage with BadMatch, and the share waits for it to come back.
        let closed = move |e: x11rb::errors::ReplyError| match (kind, &e) {
            (SourceKind::Window, x11rb::errors::ReplyError::X11Error(x))
                if matches!(x.error_kind, ErrorKind::Window | ErrorKind::Drawable) =>
            {
                CaptureError::WindowClosed
            }
            (SourceKind::Window, x11rb::errors::ReplyError::X11Error(x))
                if x.error_kind == ErrorKind::Match =>
            {
                CaptureError::Failed(
                    "the window is not on the screen (minimised or moved off its edge)".into(),
                )
            }
            _ => failed(e),
        };
        if let Some(shm) = self.shm(bytes) {
            let got = conn
                .shm_get_image(
                    drawable,
                    0,
                    0,
                    w,
                    h,
                    !0,
                    ImageFormat::Z_PIXMAP.into(),
                    shm.seg,
                    0,
                )
                .map_err(failed)?
                .reply();
            match got {
                Ok(r) if r.depth >= 24 => {
                    return to_i420(PixelFormat::Bgrx, w.into(), h.into(), &shm.map[..bytes])
                        .map_err(failed);
                }
                Ok(r) => return Err(CaptureError::Unsupported(format!("depth {}", r.depth))),
                Err(e) => return Err(closed(e)),
            }
        }
        let r = conn
            .get_image(ImageFormat::Z_PIXMAP, drawable, 0, 0, w, h, !0)
            .map_err(failed)?
            .reply()
            .map_err(closed)?;
        if r.depth < 24 {
            return Err(CaptureError::Unsupported(format!("depth {}", r.depth)));
        }
        to_i420(PixelFormat::Bgrx, w.into(), h.into(), &r.data).map_err(failed)
    }

    /// A small picture for the picker: at most `max_w` wide, aspect kept.
    pub fn thumbnail(&mut self, max_w: usize) -> Result<I420Frame, CaptureError> {
        let f = self.frame()?;
        let (w, h) = (f.width(), f.height());
        if w <= max_w {
            return Ok(f);
        }
        let th = ((h * max_w / w) & !1).max(2);
        Ok(scale_into(&f, max_w & !1, th))
    }
}

impl Drop for Capturer {
    fn drop(&mut self) {
        if let Some(s) = self.shm.take() {
            drop(s.map);
            let _ = self.conn.shm_detach(s.seg);
            let _ = self.conn.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_and_nonsense_is_not_found() {
        assert_eq!(parse("x11:screen:0"), Ok((SourceKind::Screen, 0)));
        assert_eq!(
            parse("x11:window:0x1a00003"),
            Ok((SourceKind::Window, 0x1a0_0003))
        );
        assert!(matches!(
            parse("x11:window:zz"),
            Err(CaptureError::NotFound(_))
        ));
        assert!(matches!(parse("camera:x"), Err(CaptureError::NotFound(_))));
    }
}
