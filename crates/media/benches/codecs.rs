//! Codec speed on the synthetic devices: OpenH264 per frame at the call profiles, Opus per
//! 20 ms frame, and what a real camera's frame costs before the encoder (YUYV or MJPEG to
//! I420, fitted to the profile), and screen share's capture and screen-content encoding.
#![allow(clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use switchboard_media::{
    H264Decoder, H264Encoder, OpusDecoder, OpusEncoder, PatternCamera, ToneMicrophone,
};

fn h264(c: &mut Criterion) {
    for (w, h, bps) in [(640, 360, 800_000), (1280, 720, 2_000_000)] {
        let mut camera = PatternCamera::new(w, h);
        let frames: Vec<_> = (0..60).map(|i| camera.frame(i * 33)).collect();
        let mut enc = H264Encoder::new(bps, 30.0, 90, false).unwrap();
        let mut i = 0;
        c.bench_function(&format!("h264/encode_{h}p"), |b| {
            b.iter(|| {
                i = (i + 1) % frames.len();
                enc.encode(&frames[i]).unwrap()
            })
        });
        // A decodable stream: the first access unit is the IDR.
        let mut enc = H264Encoder::new(bps, 30.0, 90, false).unwrap();
        let stream: Vec<_> = frames.iter().map(|f| enc.encode(f).unwrap()).collect();
        c.bench_function(&format!("h264/decode_{h}p_60_frames"), |b| {
            b.iter_batched(
                || H264Decoder::new().unwrap(),
                |mut dec| {
                    for au in &stream {
                        dec.decode(au).unwrap();
                    }
                },
                criterion::BatchSize::LargeInput,
            )
        });
    }
}

fn opus(c: &mut Criterion) {
    let mut mic = ToneMicrophone::new();
    let frames: Vec<_> = (0..50).map(|_| mic.frame()).collect();
    let mut enc = OpusEncoder::new(32_000, 10).unwrap();
    let mut i = 0;
    c.bench_function("opus/encode_20ms", |b| {
        b.iter(|| {
            i = (i + 1) % frames.len();
            enc.encode(&frames[i]).unwrap()
        })
    });
    let packets: Vec<_> = frames.iter().map(|f| enc.encode(f).unwrap()).collect();
    let mut dec = OpusDecoder::new().unwrap();
    let mut j = 0;
    c.bench_function("opus/decode_20ms", |b| {
        b.iter(|| {
            j = (j + 1) % packets.len();
            dec.decode(&packets[j]).unwrap()
        })
    });
}

fn camera(c: &mut Criterion) {
    use switchboard_media::convert::{PixelFormat, fit, to_i420};
    let (w, h) = (1280usize, 720usize);
    // A camera-like picture: the pattern, as YUYV and as an MJPEG frame.
    let frame = PatternCamera::new(w, h).frame(0);
    let mut yuyv = Vec::with_capacity(w * h * 2);
    for y in 0..h {
        for x in (0..w).step_by(2) {
            let c = (y / 2) * (w / 2) + x / 2;
            let row = &frame.y()[y * w..];
            yuyv.extend([row[x], frame.u()[c], row[x + 1], frame.v()[c]]);
        }
    }
    let rgb: Vec<u8> = frame.y().iter().flat_map(|&l| [l, l, l]).collect();
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 85)
        .encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    c.bench_function("camera/yuyv_720p_to_i420", |b| {
        b.iter(|| to_i420(PixelFormat::Yuyv, w, h, &yuyv).unwrap())
    });
    c.bench_function("camera/mjpeg_720p_to_i420", |b| {
        b.iter(|| to_i420(PixelFormat::Mjpeg, w, h, &jpeg).unwrap())
    });
    c.bench_function("camera/fit_720p_to_360p", |b| {
        b.iter(|| fit(&frame, 640, 360))
    });
}

/// Screen share: capturing 1080p from the X display (MIT-SHM, BGRx → I420) when there is
/// one, and encoding screen content (a page of "text" with a moving cursor line) at 1.5 Mbit/s.
fn screen(c: &mut Criterion) {
    use switchboard_media::I420Frame;
    use switchboard_media::screen::ScreenCapturer;
    if std::env::var_os("DISPLAY").is_some()
        && let Ok(mut cap) = ScreenCapturer::open("x11:screen:0")
    {
        let f = cap.frame().unwrap();
        let name = format!("screen/capture_x11_{}x{}", f.width(), f.height());
        c.bench_function(&name, |b| b.iter(|| cap.frame().unwrap()));
    }
    let (w, h) = (1920usize, 1080usize);
    let page = |line: usize| {
        let mut f = I420Frame::black(w, h);
        for (y, row) in f.y_mut().chunks_exact_mut(w).enumerate() {
            for (x, px) in row.iter_mut().enumerate() {
                // Glyph-like dark strokes on white, 16-pixel rows of text.
                let ink = y % 16 < 10 && (x * 7 + y * 3) % 11 < 4 && x % 160 < 140;
                *px = if ink || y / 16 == line { 30 } else { 235 };
            }
        }
        f
    };
    let pages: Vec<_> = (0..30).map(|i| page(10 + i)).collect();
    let mut enc = H264Encoder::new(1_500_000, 15.0, 150, true).unwrap();
    let mut i = 0;
    c.bench_function("screen/encode_1080p_screen_content", |b| {
        b.iter(|| {
            i = (i + 1) % pages.len();
            enc.encode(&pages[i]).unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = h264, opus, camera, screen
}
criterion_main!(benches);
