//! Camera pixel formats to I420, and fitting a picture to the call's video profile.
//!
//! Cameras deliver YUYV or NV12 (raw, limited bandwidth over USB 2) or MJPEG (each frame a
//! JPEG), sometimes grey or RGB. The encoder takes I420 in BT.601 video range.

use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

use crate::video::I420Frame;

/// How a camera lays out a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// Packed 4:2:2, `Y0 U Y1 V`.
    Yuyv,
    /// Planar Y, then interleaved U/V at half resolution.
    Nv12,
    /// One JPEG per frame.
    Mjpeg,
    Gray,
    Rgb,
    Bgr,
    /// 4 bytes per pixel `B G R x` (X11 ZPixmap at depth 24/32, little-endian; BGRA).
    Bgrx,
    /// 4 bytes per pixel `R G B x` (PipeWire screen casts).
    Rgbx,
    /// 4 bytes per pixel `x B G R` (PipeWire screen casts).
    Xbgr,
}

/// A frame that cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConvertError {
    #[error("a {format:?} frame of {width}x{height} needs {need} bytes, got {got}")]
    Short {
        format: PixelFormat,
        width: usize,
        height: usize,
        need: usize,
        got: usize,
    },
    #[error("a camera frame of {0}x{1} is too small to encode")]
    TooSmall(usize, usize),
    #[error("bad JPEG from the camera: {0}")]
    Jpeg(String),
}

/// Converts one camera frame to I420. An odd width or height loses its last column or row
/// (chroma is subsampled by two).
pub fn to_i420(
    format: PixelFormat,
    width: usize,
    height: usize,
    data: &[u8],
) -> Result<I420Frame, ConvertError> {
    if format == PixelFormat::Mjpeg {
        return jpeg_to_i420(data);
    }
    let (w, h) = (width & !1, height & !1);
    if w == 0 || h == 0 {
        return Err(ConvertError::TooSmall(width, height));
    }
    let need = match format {
        PixelFormat::Yuyv => width * height * 2,
        PixelFormat::Nv12 => width * height + (width / 2) * (height / 2) * 2,
        PixelFormat::Gray => width * height,
        PixelFormat::Rgb | PixelFormat::Bgr => width * height * 3,
        PixelFormat::Bgrx | PixelFormat::Rgbx | PixelFormat::Xbgr => width * height * 4,
        PixelFormat::Mjpeg => unreachable!(),
    };
    if data.len() < need {
        return Err(ConvertError::Short {
            format,
            width,
            height,
            need,
            got: data.len(),
        });
    }
    Ok(match format {
        PixelFormat::Yuyv => {
            let row = width * 2;
            build(
                w,
                h,
                |x, y| data[y * row + x * 2],
                |cx, cy| {
                    let (a, b) = (2 * cy * row + cx * 4, (2 * cy + 1) * row + cx * 4);
                    (
                        avg2(data[a + 1], data[b + 1]),
                        avg2(data[a + 3], data[b + 3]),
                    )
                },
            )
        }
        PixelFormat::Nv12 => {
            let uv = &data[width * height..];
            let row = (width / 2) * 2;
            build(
                w,
                h,
                |x, y| data[y * width + x],
                |cx, cy| (uv[cy * row + cx * 2], uv[cy * row + cx * 2 + 1]),
            )
        }
        PixelFormat::Gray => build(w, h, |x, y| data[y * width + x], |_, _| (128, 128)),
        PixelFormat::Rgb
        | PixelFormat::Bgr
        | PixelFormat::Bgrx
        | PixelFormat::Rgbx
        | PixelFormat::Xbgr => {
            // Bytes per pixel, and where red, green and blue sit in a pixel.
            let (bytes, [ri, gi, bi]) = match format {
                PixelFormat::Rgb => (3, [0, 1, 2]),
                PixelFormat::Bgr => (3, [2, 1, 0]),
                PixelFormat::Rgbx => (4, [0, 1, 2]),
                PixelFormat::Xbgr => (4, [3, 2, 1]),
                _ => (4, [2, 1, 0]),
            };
            let px = |x: usize, y: usize| {
                let i = (y * width + x) * bytes;
                (data[i + ri], data[i + gi], data[i + bi])
            };
            build(
                w,
                h,
                |x, y| {
                    let (r, g, b) = px(x, y);
                    rgb_to_y(r, g, b)
                },
                |cx, cy| {
                    let mut sum = [0u32; 3];
                    for (x, y) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        let (r, g, b) = px(cx * 2 + x, cy * 2 + y);
                        sum[0] += u32::from(r);
                        sum[1] += u32::from(g);
                        sum[2] += u32::from(b);
                    }
                    let [r, g, b] = sum.map(|s| ((s + 2) / 4) as u8);
                    rgb_to_uv(r, g, b)
                },
            )
        }
        PixelFormat::Mjpeg => unreachable!(),
    })
}

/// Decodes a JPEG (full-range YCbCr, JFIF) into video-range I420.
fn jpeg_to_i420(data: &[u8]) -> Result<I420Frame, ConvertError> {
    let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::YCbCr);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(data), options);
    let pixels = decoder
        .decode()
        .map_err(|e| ConvertError::Jpeg(e.to_string()))?;
    let info = decoder
        .info()
        .ok_or_else(|| ConvertError::Jpeg("no header".into()))?;
    let (width, height) = (usize::from(info.width), usize::from(info.height));
    if pixels.len() < width * height * 3 {
        return Err(ConvertError::Jpeg(
            "fewer pixels than its header says".into(),
        ));
    }
    let (w, h) = (width & !1, height & !1);
    if w == 0 || h == 0 {
        return Err(ConvertError::TooSmall(width, height));
    }
    let at = |x: usize, y: usize, c: usize| pixels[(y * width + x) * 3 + c];
    Ok(build(
        w,
        h,
        |x, y| full_to_video_luma(at(x, y, 0)),
        |cx, cy| {
            let avg = |c| {
                let s: u32 = [(0, 0), (1, 0), (0, 1), (1, 1)]
                    .iter()
                    .map(|&(x, y)| u32::from(at(cx * 2 + x, cy * 2 + y, c)))
                    .sum();
                ((s + 2) / 4) as u8
            };
            (full_to_video_chroma(avg(1)), full_to_video_chroma(avg(2)))
        },
    ))
}

/// Fills a `w`×`h` I420 frame from a luma sampler and a chroma sampler (in chroma coordinates).
fn build(
    w: usize,
    h: usize,
    luma: impl Fn(usize, usize) -> u8,
    chroma: impl Fn(usize, usize) -> (u8, u8),
) -> I420Frame {
    let mut f = I420Frame::black(w, h);
    for (y, row) in f.y_mut().chunks_exact_mut(w).enumerate() {
        for (x, p) in row.iter_mut().enumerate() {
            *p = luma(x, y);
        }
    }
    let cw = w / 2;
    let (u, v) = f.uv_mut();
    for (i, (pu, pv)) in u.iter_mut().zip(v.iter_mut()).enumerate() {
        (*pu, *pv) = chroma(i % cw, i / cw);
    }
    f
}

fn avg2(a: u8, b: u8) -> u8 {
    (u16::from(a) + u16::from(b)).div_ceil(2) as u8
}

// BT.601 video range, integer form.
fn rgb_to_y(r: u8, g: u8, b: u8) -> u8 {
    let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
    (((66 * r + 129 * g + 25 * b + 128) >> 8) + 16) as u8
}

fn rgb_to_uv(r: u8, g: u8, b: u8) -> (u8, u8) {
    let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
    let u = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
    let v = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
    (u.clamp(0, 255) as u8, v.clamp(0, 255) as u8)
}

/// The picture as packed RGB (3 bytes a pixel; BT.601 video range in): for thumbnails and
/// snapshots, not the media path.
pub fn to_rgb(frame: &I420Frame) -> Vec<u8> {
    let (w, h) = (frame.width(), frame.height());
    let mut out = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let c = i32::from(frame.y()[y * w + x]) - 16;
            let ci = (y / 2) * (w / 2) + x / 2;
            let d = i32::from(frame.u()[ci]) - 128;
            let e = i32::from(frame.v()[ci]) - 128;
            let clip = |v: i32| ((v + 128) >> 8).clamp(0, 255) as u8;
            out.extend([
                clip(298 * c + 409 * e),
                clip(298 * c - 100 * d - 208 * e),
                clip(298 * c + 516 * d),
            ]);
        }
    }
    out
}

fn full_to_video_luma(y: u8) -> u8 {
    (16 + (u32::from(y) * 219 + 127) / 255) as u8
}

fn full_to_video_chroma(c: u8) -> u8 {
    (128 + ((i32::from(c) - 128) * 224) / 255) as u8
}

/// The picture cropped to the aspect ratio of `width`×`height` (centred) and scaled down to
/// it (bilinear). A picture no larger than the target is only cropped: enlarging costs bits
/// and shows nothing more.
pub fn fit(frame: &I420Frame, width: usize, height: usize) -> I420Frame {
    let (sw, sh) = (frame.width(), frame.height());
    // The largest centred crop of the source with the target's aspect ratio.
    let (cw, ch) = if sw * height > sh * width {
        ((sh * width / height) & !1, sh)
    } else {
        (sw, (sw * height / width) & !1)
    };
    let (cw, ch) = (cw.max(2), ch.max(2));
    let (dw, dh) = if cw > width {
        (width, height)
    } else {
        (cw, ch)
    };
    if (dw, dh) == (sw, sh) {
        return frame.clone();
    }
    let (x0, y0) = (((sw - cw) / 2) & !1, ((sh - ch) / 2) & !1);
    let mut out = I420Frame::black(dw, dh);
    scale_plane(frame.y(), sw, (x0, y0, cw, ch), out.y_mut(), dw, dh);
    let crop = (x0 / 2, y0 / 2, cw / 2, ch / 2);
    let (u, v) = out.uv_mut();
    scale_plane(frame.u(), sw / 2, crop, u, dw / 2, dh / 2);
    scale_plane(frame.v(), sw / 2, crop, v, dw / 2, dh / 2);
    out
}

/// The whole picture, scaled down to fit within `max_w`×`max_h` with its aspect kept (a
/// 2560×1440 screen becomes 1920×1080); a picture that fits is returned as it is.
pub fn shrink_to(frame: &I420Frame, max_w: usize, max_h: usize) -> I420Frame {
    let (w, h) = (frame.width(), frame.height());
    if w <= max_w && h <= max_h {
        return frame.clone();
    }
    // The smaller of the two ratios, in integers: w·max_h against h·max_w.
    let (tw, th) = if w * max_h >= h * max_w {
        (max_w, h * max_w / w)
    } else {
        (w * max_h / h, max_h)
    };
    scale_into(frame, (tw & !1).max(2), (th & !1).max(2))
}

/// The whole picture scaled to exactly `width`×`height` (even; bilinear). Callers keep the
/// aspect ratio (the recorder's layout does).
pub fn scale_into(frame: &I420Frame, width: usize, height: usize) -> I420Frame {
    let (sw, sh) = (frame.width(), frame.height());
    if (sw, sh) == (width, height) {
        return frame.clone();
    }
    let mut out = I420Frame::black(width, height);
    scale_plane(frame.y(), sw, (0, 0, sw, sh), out.y_mut(), width, height);
    let (u, v) = out.uv_mut();
    let whole = (0, 0, sw / 2, sh / 2);
    scale_plane(frame.u(), sw / 2, whole, u, width / 2, height / 2);
    scale_plane(frame.v(), sw / 2, whole, v, width / 2, height / 2);
    out
}

/// Bilinear resampling of the `(x0, y0, w, h)` window of a plane into `dst` (16.16 fixed point).
fn scale_plane(
    src: &[u8],
    stride: usize,
    (x0, y0, w, h): (usize, usize, usize, usize),
    dst: &mut [u8],
    dw: usize,
    dh: usize,
) {
    let step_x = (w << 16) / dw;
    let step_y = (h << 16) / dh;
    for (dy, row) in dst.chunks_exact_mut(dw).enumerate().take(dh) {
        // Sample at pixel centres so that the picture does not shift.
        let fy = ((dy * step_y) + step_y / 2).saturating_sub(1 << 15);
        let (sy, wy) = ((fy >> 16).min(h - 1), fy & 0xffff);
        let sy1 = (sy + 1).min(h - 1);
        let (r0, r1) = (
            &src[(y0 + sy) * stride + x0..],
            &src[(y0 + sy1) * stride + x0..],
        );
        for (dx, p) in row.iter_mut().enumerate() {
            let fx = ((dx * step_x) + step_x / 2).saturating_sub(1 << 15);
            let (sx, wx) = ((fx >> 16).min(w - 1), fx & 0xffff);
            let sx1 = (sx + 1).min(w - 1);
            let lerp = |a: u8, b: u8, t: usize| {
                (usize::from(a) * (0x10000 - t) + usize::from(b) * t) >> 16
            };
            let top = lerp(r0[sx], r0[sx1], wx);
            let bottom = lerp(r1[sx], r1[sx1], wx);
            *p = ((top * (0x10000 - wy) + bottom * wy + 0x8000) >> 16) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuyv_keeps_luma_and_averages_chroma_rows() {
        // 4x2: Y counts up; U is 100 on row 0 and 110 on row 1; V is 200.
        let mut d = Vec::new();
        for row in 0..2u8 {
            for pair in 0..2u8 {
                d.extend([
                    row * 4 + pair * 2,
                    100 + row * 10,
                    row * 4 + pair * 2 + 1,
                    200,
                ]);
            }
        }
        let f = to_i420(PixelFormat::Yuyv, 4, 2, &d).unwrap();
        assert_eq!(f.y(), &[0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(f.u(), &[105, 105]);
        assert_eq!(f.v(), &[200, 200]);
    }

    #[test]
    fn nv12_splits_the_interleaved_chroma() {
        let mut d: Vec<u8> = (0..8).collect();
        d.extend([10, 20, 30, 40]);
        let f = to_i420(PixelFormat::Nv12, 4, 2, &d).unwrap();
        assert_eq!(f.y(), &[0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(f.u(), &[10, 30]);
        assert_eq!(f.v(), &[20, 40]);
    }

    #[test]
    fn rgb_white_and_black_map_to_video_range() {
        let mut d = vec![255u8; 2 * 2 * 3];
        d.extend(vec![0u8; 2 * 2 * 3]);
        let f = to_i420(PixelFormat::Rgb, 2, 4, &d).unwrap();
        assert_eq!(f.y(), &[235, 235, 235, 235, 16, 16, 16, 16]);
        assert_eq!(f.u(), &[128, 128]);
    }

    #[test]
    fn a_short_frame_is_an_error_not_a_panic() {
        let e = to_i420(PixelFormat::Yuyv, 640, 480, &[0; 100]).unwrap_err();
        assert!(matches!(e, ConvertError::Short { need: 614_400, .. }));
        assert!(matches!(
            to_i420(PixelFormat::Mjpeg, 640, 480, &[0xff, 0xd8, 1, 2]),
            Err(ConvertError::Jpeg(_))
        ));
        assert_eq!(
            to_i420(PixelFormat::Gray, 1, 1, &[0]).unwrap_err(),
            ConvertError::TooSmall(1, 1)
        );
    }

    #[test]
    fn a_jpeg_decodes_to_the_colours_it_was_made_of() {
        // Left half red, right half blue, 64x32.
        let (w, h) = (64u16, 32u16);
        let mut rgb = Vec::new();
        for _ in 0..h {
            for x in 0..w {
                rgb.extend(if x < w / 2 { [255, 0, 0] } else { [0, 0, 255] });
            }
        }
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, 95)
            .encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        let f = to_i420(PixelFormat::Mjpeg, 0, 0, &jpeg).unwrap();
        assert_eq!((f.width(), f.height()), (64, 32));
        let near = |a: u8, b: u8| (i32::from(a) - i32::from(b)).abs() <= 6;
        // BT.601: red is Y 82, V 240; blue is Y 41, U 240.
        let (red_y, blue_y) = (f.y()[16 * 64 + 8], f.y()[16 * 64 + 56]);
        assert!(near(red_y, 82) && near(blue_y, 41), "{red_y} {blue_y}");
        let (red_v, blue_u) = (f.v()[8 * 32 + 4], f.u()[8 * 32 + 28]);
        assert!(near(red_v, 240) && near(blue_u, 240), "{red_v} {blue_u}");
    }

    #[test]
    fn four_byte_formats_find_red_where_it_sits() {
        let red = |format, px: [u8; 4]| {
            let f = to_i420(format, 2, 2, &px.repeat(4)).unwrap();
            (f.y()[0], f.u()[0], f.v()[0])
        };
        let bgrx = red(PixelFormat::Bgrx, [0, 0, 255, 0]);
        assert_eq!(red(PixelFormat::Rgbx, [255, 0, 0, 0]), bgrx);
        assert_eq!(red(PixelFormat::Xbgr, [0, 0, 0, 255]), bgrx);
        // BT.601 red: Y 82, V 240.
        assert!(
            bgrx.0.abs_diff(82) <= 2 && bgrx.2.abs_diff(240) <= 2,
            "{bgrx:?}"
        );
    }

    #[test]
    fn rgb_goes_to_i420_and_back() {
        for px in [[255u8, 0, 0], [0, 0, 255], [255, 255, 255], [20, 200, 90]] {
            let f = to_i420(PixelFormat::Rgb, 2, 2, &px.repeat(4)).unwrap();
            let back = to_rgb(&f);
            assert_eq!(back.len(), 12);
            for (a, b) in back[..3].iter().zip(px) {
                assert!(a.abs_diff(b) <= 3, "{px:?} came back as {:?}", &back[..3]);
            }
        }
    }

    #[test]
    fn shrink_keeps_the_aspect_and_never_enlarges() {
        let f = shrink_to(&I420Frame::black(2560, 1440), 1920, 1080);
        assert_eq!((f.width(), f.height()), (1920, 1080));
        let tall = shrink_to(&I420Frame::black(1200, 1600), 1920, 1080);
        assert_eq!((tall.width(), tall.height()), (810, 1080));
        let small = shrink_to(&I420Frame::black(640, 360), 1920, 1080);
        assert_eq!((small.width(), small.height()), (640, 360));
    }

    #[test]
    fn fit_crops_to_the_aspect_and_scales_down() {
        // 640x480 (4:3) into 320x180 (16:9): crop to 640x360, then halve.
        let mut f = I420Frame::black(640, 480);
        // A bright band in the rows that the crop keeps, a dark one in those it drops.
        for (y, row) in f.y_mut().chunks_exact_mut(640).enumerate() {
            row.fill(if (60..420).contains(&y) { 200 } else { 30 });
        }
        let out = fit(&f, 320, 180);
        assert_eq!((out.width(), out.height()), (320, 180));
        assert!(out.y().iter().all(|&p| p == 200));
        // Smaller than the target: only cropped, never enlarged.
        let small = fit(&I420Frame::black(320, 240), 1280, 720);
        assert_eq!((small.width(), small.height()), (320, 180));
        // The same size: untouched.
        assert_eq!(fit(&out, 320, 180), out);
    }
}
