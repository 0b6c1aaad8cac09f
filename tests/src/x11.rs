//! Looking at an X display from tests: find a window by title, take a screenshot, tell a drawn
//! window from a blank one. Pure Rust (x11rb), so it needs nothing but the display.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    AtomEnum, ConnectionExt, CreateWindowAux, EventMask, ImageFormat, PropMode, Window, WindowClass,
};
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;

/// An RGB picture of part of a display.
#[derive(Clone)]
pub struct Screenshot {
    pub width: u32,
    pub height: u32,
    /// Row-major, 3 bytes per pixel.
    pub rgb: Vec<u8>,
}

/// A rectangle on the screen, in root-window coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: i16,
    pub y: i16,
    pub width: u16,
    pub height: u16,
}

fn connect(display: &str) -> Result<(RustConnection, usize)> {
    x11rb::connect(Some(display)).with_context(|| format!("connecting to X display {display}"))
}

impl Screenshot {
    /// Captures `area` of the screen (the whole screen if `None`).
    pub fn capture(display: &str, area: Option<Rect>) -> Result<Self> {
        let (conn, screen_num) = connect(display)?;
        let screen = &conn.setup().roots[screen_num];
        let area = area.unwrap_or(Rect {
            x: 0,
            y: 0,
            width: screen.width_in_pixels,
            height: screen.height_in_pixels,
        });
        let visual = screen
            .allowed_depths
            .iter()
            .flat_map(|d| d.visuals.iter())
            .find(|v| v.visual_id == screen.root_visual)
            .context("the root visual is not listed")?;
        let reply = conn
            .get_image(
                ImageFormat::Z_PIXMAP,
                screen.root,
                area.x,
                area.y,
                area.width,
                area.height,
                !0,
            )?
            .reply()
            .context("GetImage of the root window")?;
        let format = conn
            .setup()
            .pixmap_formats
            .iter()
            .find(|f| f.depth == reply.depth)
            .context("no pixmap format for the root depth")?;
        if format.bits_per_pixel != 32 {
            bail!(
                "only 32-bit pixels are supported, the display uses {}",
                format.bits_per_pixel
            );
        }
        let little =
            conn.setup().image_byte_order == x11rb::protocol::xproto::ImageOrder::LSB_FIRST;
        let (w, h) = (u32::from(area.width), u32::from(area.height));
        let mut rgb = Vec::with_capacity((w * h * 3) as usize);
        let channel = |px: u32, mask: u32| -> u8 {
            if mask == 0 {
                return 0;
            }
            let v = (px & mask) >> mask.trailing_zeros();
            let bits = mask.count_ones();
            ((v * 255) / ((1u32 << bits) - 1)) as u8
        };
        for px in reply.data.chunks_exact(4) {
            let bytes = [px[0], px[1], px[2], px[3]];
            let p = if little {
                u32::from_le_bytes(bytes)
            } else {
                u32::from_be_bytes(bytes)
            };
            rgb.push(channel(p, visual.red_mask));
            rgb.push(channel(p, visual.green_mask));
            rgb.push(channel(p, visual.blue_mask));
        }
        Ok(Self {
            width: w,
            height: h,
            rgb,
        })
    }

    /// How many different colours the picture holds (a blank window has one or two).
    pub fn distinct_colors(&self) -> usize {
        let mut seen = std::collections::HashSet::new();
        for p in self.rgb.chunks_exact(3) {
            seen.insert([p[0], p[1], p[2]]);
        }
        seen.len()
    }

    /// Writes the picture as a PNG, creating the folder.
    pub fn save_png(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::io::BufWriter::new(std::fs::File::create(path)?);
        let mut enc = png::Encoder::new(file, self.width, self.height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header()?.write_image_data(&self.rgb)?;
        Ok(())
    }
}

/// The titles and on-screen rectangles of all mapped windows that have a title.
pub fn windows(display: &str) -> Result<Vec<(String, Rect)>> {
    let (conn, screen_num) = connect(display)?;
    let root = conn.setup().roots[screen_num].root;
    let net_wm_name = conn.intern_atom(false, b"_NET_WM_NAME")?.reply()?.atom;
    let utf8 = conn.intern_atom(false, b"UTF8_STRING")?.reply()?.atom;
    let mut out = Vec::new();
    let mut stack: Vec<Window> = vec![root];
    while let Some(w) = stack.pop() {
        stack.extend(conn.query_tree(w)?.reply()?.children);
        if w == root {
            continue;
        }
        let attrs = conn.get_window_attributes(w)?.reply()?;
        if attrs.map_state != x11rb::protocol::xproto::MapState::VIEWABLE {
            continue;
        }
        let mut title = conn
            .get_property(false, w, net_wm_name, utf8, 0, 1024)?
            .reply()?
            .value;
        if title.is_empty() {
            title = conn
                .get_property(false, w, AtomEnum::WM_NAME, AtomEnum::STRING, 0, 1024)?
                .reply()?
                .value;
        }
        if title.is_empty() {
            continue;
        }
        let geo = conn.get_geometry(w)?.reply()?;
        let at = conn.translate_coordinates(w, root, 0, 0)?.reply()?;
        out.push((
            String::from_utf8_lossy(&title).into_owned(),
            Rect {
                x: at.dst_x,
                y: at.dst_y,
                width: geo.width,
                height: geo.height,
            },
        ));
    }
    Ok(out)
}

/// Waits up to `limit` for a mapped window titled `title`.
pub fn wait_for_window(display: &str, title: &str, limit: Duration) -> Result<Rect> {
    let t = Instant::now();
    loop {
        let all = windows(display)?;
        if let Some((_, rect)) = all.iter().find(|(t, _)| t == title) {
            return Ok(*rect);
        }
        if t.elapsed() > limit {
            let names: Vec<_> = all.iter().map(|(t, _)| t.as_str()).collect();
            bail!("no window titled {title:?} within {limit:?}; windows: {names:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits up to `limit` until `area` shows at least `min_colors` colours, and returns that
/// picture (a window maps blank and paints a moment later).
pub fn wait_drawn(
    display: &str,
    area: Option<Rect>,
    min_colors: usize,
    limit: Duration,
) -> Result<Screenshot> {
    let t = Instant::now();
    loop {
        let shot = Screenshot::capture(display, area)?;
        let n = shot.distinct_colors();
        if n >= min_colors {
            return Ok(shot);
        }
        if t.elapsed() > limit {
            bail!("the screen still shows only {n} colours after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A window of known colours on the test display, to capture or share: vertical bands, each
/// `(left edge, 0xRRGGBB)` (the first at 0 is the window's own background, the others child
/// windows reaching the next band or the right edge). Destroyed when dropped.
pub struct TestWindow {
    conn: RustConnection,
    id: Window,
    title: String,
}

impl TestWindow {
    /// Opens it at `(x, y, width, height)` with a unique title; returns once the server has
    /// drawn it.
    pub fn open(
        display: &str,
        (x, y, w, h): (i16, i16, u16, u16),
        bands: &[(u16, u32)],
    ) -> Result<Self> {
        let (conn, screen_num) = connect(display)?;
        let root = conn.setup().roots[screen_num].root;
        let id = conn.generate_id()?;
        let aux = |colour: u32| {
            CreateWindowAux::new()
                .background_pixel(colour)
                .event_mask(EventMask::EXPOSURE)
        };
        let background = bands.first().map_or(0, |b| b.1);
        conn.create_window(
            x11rb::COPY_DEPTH_FROM_PARENT,
            id,
            root,
            x,
            y,
            w,
            h,
            0,
            WindowClass::INPUT_OUTPUT,
            0,
            &aux(background),
        )?;
        for (i, &(left, colour)) in bands.iter().enumerate().skip(1) {
            let right = bands.get(i + 1).map_or(w, |b| b.0);
            let child = conn.generate_id()?;
            conn.create_window(
                x11rb::COPY_DEPTH_FROM_PARENT,
                child,
                id,
                i16::try_from(left)?,
                0,
                right.saturating_sub(left),
                h,
                0,
                WindowClass::INPUT_OUTPUT,
                0,
                &aux(colour),
            )?;
            conn.map_window(child)?;
        }
        let title = format!("Switchboard test window {} {x},{y}", std::process::id());
        conn.change_property8(
            PropMode::REPLACE,
            id,
            AtomEnum::WM_NAME,
            AtomEnum::STRING,
            title.as_bytes(),
        )?;
        conn.map_window(id)?;
        conn.flush()?;
        // One expose per window (the bands' and its own).
        let mut exposed = 0;
        let deadline = Instant::now() + Duration::from_secs(10);
        while exposed < bands.len().max(1) && Instant::now() < deadline {
            match conn.poll_for_event()? {
                Some(x11rb::protocol::Event::Expose(_)) => exposed += 1,
                Some(_) => {}
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        Ok(Self { conn, id, title })
    }

    pub fn id(&self) -> Window {
        self.id
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    /// Destroys it now (as closing it would).
    pub fn close(self) {}
}

impl Drop for TestWindow {
    fn drop(&mut self) {
        let _ = self.conn.destroy_window(self.id);
        let _ = self.conn.flush();
    }
}
