//! What recording a call costs: two parties at 720p30 with their voices, recorded as the
//! default 1280×720 15 fps layout for 10 s. Prints the CPU time of the recorder's own thread
//! (compose, scale, watermark, H.264 and Opus encoding, muxing) per recorded second, read from
//! /proc (Linux), and the file's size.

use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard_media::{PatternCamera, Picture, RecordOptions, Recorder, ToneMicrophone};

/// CPU seconds of this process's thread called `name` (Linux).
fn thread_cpu(name: &str) -> Option<f64> {
    for t in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(t.path().join("stat")).ok()?;
        let rest = stat.rsplit_once(')')?.1;
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
        return Some(ticks / 100.0);
    }
    None
}

fn main() {
    let dir = std::env::temp_dir().join(format!("switchboard-record-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bench.mp4");
    let options = RecordOptions {
        watermark: Some("agent-7".into()),
        ..RecordOptions::default()
    };
    // Pictures made ahead of time: the bench measures the recorder, not the pattern.
    let mut cams = [PatternCamera::new(1280, 720), PatternCamera::new(1280, 720)];
    let frames: Vec<[Arc<_>; 2]> = (0..60)
        .map(|_| [Arc::new(cams[0].frame(0)), Arc::new(cams[1].frame(0))])
        .collect();
    let (mut a, mut b) = (ToneMicrophone::new(), ToneMicrophone::new());
    let rec = Recorder::start(&path, options.clone()).expect("start recording");
    let secs = 10u64;
    let start = Instant::now();
    let mut tick = 0u64;
    let mut shown = 0usize;
    while start.elapsed() < Duration::from_secs(secs) {
        rec.audio(1, &a.frame());
        rec.audio(2, &b.frame());
        if tick * 3 / 5 != (tick + 1) * 3 / 5 {
            let f = &frames[shown % frames.len()];
            rec.video("far", Picture::Camera, f[0].clone());
            rec.video("near", Picture::Camera, f[1].clone());
            shown += 1;
        }
        tick += 1;
        let due = start + Duration::from_millis(20 * tick);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    let cpu = thread_cpu("recorder").unwrap_or(f64::NAN);
    let summary = rec.stop();
    println!(
        "recording a 1:1 call of two 720p30 parties as a {}x{} {} fps layout with watermark: \
         {:.0} CPU-ms per recorded second ({:.1} % of one core); {} pictures, {} sound frames, \
         {:.0} kB per second",
        options.width,
        options.height,
        options.fps,
        cpu * 1000.0 / secs as f64,
        cpu * 100.0 / secs as f64,
        summary.video_frames,
        summary.audio_frames,
        summary.bytes as f64 / 1000.0 / secs as f64
    );
    let _ = std::fs::remove_dir_all(&dir);
}
