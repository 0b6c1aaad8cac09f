//! Reading recordings back with Debian's `ffmpeg` (`cargo xtask setup` installs it): what
//! `ffprobe` sees, the decoded pictures' luma, the decoded sound, and a frame counter read
//! from one place of a layout.

#![allow(clippy::unwrap_used)] // test support: a failed unwrap is a failed test

use std::path::Path;
use std::process::Command;

use switchboard_media::Stamp;
use switchboard_media::record::Rect;

/// `ffprobe`'s view of a file: (codec name, duration in seconds) per stream.
pub fn probe(path: &Path) -> Vec<(String, f64)> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_streams",
            "-show_format",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("ffprobe (Debian: apt-get install ffmpeg; `cargo xtask setup` does it)");
    assert!(
        out.status.success(),
        "ffprobe cannot read {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let format_duration = v["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse::<f64>().ok());
    v["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let d = s["duration"]
                .as_str()
                .and_then(|d| d.parse::<f64>().ok())
                .or(format_duration)
                .unwrap_or(0.0);
            (s["codec_name"].as_str().unwrap_or("").to_owned(), d)
        })
        .collect()
}

/// What `ffmpeg` decodes from `path` with these output options, as raw bytes.
fn decode(path: &Path, output: &[&str]) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(output)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The luma of every decoded picture.
pub fn pictures(path: &Path, w: usize, h: usize) -> Vec<Vec<u8>> {
    let raw = decode(
        path,
        &["-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "gray"],
    );
    raw.chunks_exact(w * h).map(<[u8]>::to_vec).collect()
}

/// The decoded sound, 48 kHz mono.
pub fn sound(path: &Path) -> Vec<i16> {
    let raw = decode(
        path,
        &["-map", "0:a:0", "-f", "s16le", "-ac", "1", "-ar", "48000"],
    );
    raw.chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// The stamp of the picture drawn at `r` (scaled from a `src_w` wide source).
pub fn stamp_at(luma: &[u8], w: usize, r: Rect, src_w: usize) -> Option<Stamp> {
    let mut cut = Vec::with_capacity(r.w * r.h);
    for row in r.y..r.y + r.h {
        cut.extend_from_slice(&luma[row * w + r.x..row * w + r.x + r.w]);
    }
    Stamp::read_scaled(&cut, r.w, r.h, r.w as f64 / src_w as f64)
}
