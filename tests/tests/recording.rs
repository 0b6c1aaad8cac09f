//! A call recorded on the agent's machine, read back with ffprobe/ffmpeg: both parties'
//! pictures (frame counters in order) and both voices (timing marks), a pause that takes its
//! time out of the file, and the far end told that recording started, paused and stopped.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use switchboard_engine::Event;
use switchboard_media::audio::RATE;
use switchboard_media::record::{layout, placed};
use switchboard_media::{MeterSpeaker, RecordOptions, ToneMicrophone};
use switchboard_protocol::CallMedia;
use switchboard_tests::calls::{Side, uid, video_call};
use switchboard_tests::drive::Cli;
use switchboard_tests::ffmpeg::{pictures, probe, sound, stamp_at};
use switchboard_tests::server::DevServer;

/// A 16-bit mono 48 kHz WAV of `secs` seconds: silence with a 40 ms timing mark every 300 ms
/// (not the tone microphone's 500 ms), so that bob's voice can be told from alice's in the
/// recording's mix by how many marks it adds.
fn marks_every_300ms(path: &std::path::Path, secs: usize) {
    let mut tone = ToneMicrophone::new();
    let mark: Vec<i16> = (0..2).flat_map(|_| tone.frame()).take(RATE / 25).collect();
    let mut pcm = vec![0i16; RATE * secs];
    for start in (0..pcm.len()).step_by(RATE * 3 / 10) {
        let end = (start + mark.len()).min(pcm.len());
        pcm[start..end].copy_from_slice(&mark[..end - start]);
    }
    let data: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut wav = Vec::new();
    wav.extend(b"RIFF");
    wav.extend((36 + data.len() as u32).to_le_bytes());
    wav.extend(b"WAVEfmt ");
    wav.extend(16u32.to_le_bytes());
    wav.extend(1u16.to_le_bytes()); // PCM
    wav.extend(1u16.to_le_bytes()); // mono
    wav.extend((RATE as u32).to_le_bytes());
    wav.extend((RATE as u32 * 2).to_le_bytes());
    wav.extend(2u16.to_le_bytes());
    wav.extend(16u16.to_le_bytes());
    wav.extend(b"data");
    wav.extend((data.len() as u32).to_le_bytes());
    wav.extend(data);
    std::fs::write(path, wav).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_call_holds_both_parties_and_a_pause_takes_its_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("bob.wav");
    marks_every_300ms(&wav, 3);
    let server = DevServer::start("").unwrap();
    let mut alice = Side::start(&server, "alice").await.unwrap();
    let mut bob = Side::start_with(&server, "bob", |c| {
        c.microphone = format!("file:{}", wav.display());
    })
    .await
    .unwrap();
    let call = video_call(&mut alice, &mut bob).await.unwrap();
    bob.until_stats(&call, "alice", "alice's pictures", |s| s.video.decoded > 5)
        .await
        .unwrap();

    let path = dir.path().join("call.mp4");
    let options = RecordOptions {
        watermark: Some("alice".into()),
        ..RecordOptions::default()
    };
    let (w, h) = (options.width, options.height);
    // Not before the call is answered, and never into a folder that is not there.
    let e = alice
        .engine
        .start_recording(&call, "/nonexistent/x.mp4", options.clone())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("/nonexistent/x.mp4"), "{e}");
    alice
        .engine
        .start_recording(&call, &path, options)
        .await
        .unwrap();
    let told = |on: bool| {
        move |e: &Event| match e {
            Event::RemoteMediaState { state, .. } if state.recording == on => Some(()),
            _ => None,
        }
    };
    bob.wait("alice recording", told(true)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    alice.engine.pause_recording(&call, true);
    bob.wait("alice's recording paused", told(false))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    alice.engine.pause_recording(&call, false);
    bob.wait("alice recording again", told(true)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    // Hanging up ends the recording with its last fragment.
    alice.engine.hangup(&call);
    let summary = alice
        .wait("the recording's end", |e| match e {
            Event::RecordingStopped { summary, .. } => Some(summary.clone()),
            _ => None,
        })
        .await
        .unwrap();
    bob.ended(&call).await.unwrap();
    assert_eq!(summary.error, None);
    let secs = summary.duration_ms as f64 / 1000.0;
    // 13 s of call, 3 s of it paused.
    assert!((9.5..=10.7).contains(&secs), "recorded {secs} s");

    let streams = probe(&path);
    let find = |c: &str| streams.iter().find(|s| s.0 == c).map(|s| s.1);
    let (video, audio) = (find("h264").unwrap(), find("opus").unwrap());
    eprintln!("recorded {secs} s; ffprobe {streams:?}");
    assert!((video - 10.0).abs() <= 0.7, "video {video} s");
    assert!((audio - 10.0).abs() <= 0.7, "audio {audio} s");

    // Bob fills the frame, alice (our own camera) is the small picture; 360p sources.
    let (_, rects) = layout(w, h, 2, false);
    let (bob_at, alice_at) = (placed(640, 360, rects[0]), placed(640, 360, rects[1]));
    let pics = pictures(&path, w, h);
    let bob_n: Vec<u32> = pics
        .iter()
        .filter_map(|p| stamp_at(p, w, bob_at, 640).map(|s| s.frame))
        .collect();
    let alice_n: Vec<u32> = pics
        .iter()
        .filter_map(|p| stamp_at(p, w, alice_at, 640).map(|s| s.frame))
        .collect();
    eprintln!(
        "{} pictures; bob's counter read in {}, alice's in {}",
        pics.len(),
        bob_n.len(),
        alice_n.len()
    );
    for (who, n) in [("bob", &bob_n), ("alice", &alice_n)] {
        assert!(
            n.len() * 10 >= pics.len() * 8,
            "{who}: {} of {}",
            n.len(),
            pics.len()
        );
        assert!(
            n.windows(2).all(|p| p[1] >= p[0]),
            "{who} out of order: {n:?}"
        );
    }
    // The pause: about 3 s (90 frames at 30 fps) of alice's camera never reached the file.
    let gap = alice_n.windows(2).map(|p| p[1] - p[0]).max().unwrap();
    // Loose above: a loaded machine's camera task runs late, then catches up.
    assert!((70..=150).contains(&gap), "largest jump {gap}: {alice_n:?}");

    // Both voices: alice's tone marks recur every 500 ms, bob's every 300 ms. Each voice shows
    // as marks bunched at one phase of its own period; the other's spread evenly over it. Only
    // the last 5.5 s count (after the pause, which may shift the phases a little), and a mark
    // that falls on one of the other's counts once: half of each voice's marks must show.
    let mut meter = MeterSpeaker::new();
    meter.play(&sound(&path));
    let from = ((secs - 5.5) * RATE as f64) as usize;
    let at: Vec<usize> = meter
        .marks()
        .iter()
        .map(|m| m.at_sample)
        .filter(|a| *a >= from)
        .collect();
    let bunched = |period: usize| {
        let mut bins = [0usize; 20];
        for a in &at {
            bins[a % period * 20 / period] += 1;
        }
        (0..20)
            .map(|i| bins[i] + bins[(i + 1) % 20])
            .max()
            .unwrap_or(0)
    };
    let (alice_marks, bob_marks) = (bunched(RATE / 2), bunched(RATE * 3 / 10));
    let (alice_all, bob_all) = (5.5 * 2.0, 5.5 / 0.3);
    eprintln!(
        "{} marks in the last 5.5 s: {alice_marks} at alice's phase (of {alice_all:.0}), \
         {bob_marks} at bob's (of {bob_all:.0})",
        at.len()
    );
    assert!(
        alice_marks as f64 >= 0.5 * alice_all,
        "alice's voice is missing"
    );
    assert!(bob_marks as f64 >= 0.5 * bob_all, "bob's voice is missing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_client_killed_mid_call_leaves_a_file_that_plays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.mp4");
    let server = DevServer::start("").unwrap();
    let bob = Cli::start(
        &server,
        &server.token("bob"),
        &[
            "--record",
            path.to_str().unwrap(),
            "answer",
            "--duration",
            "60",
        ],
    );
    let alice = Side::start(&server, "alice").await.unwrap();
    let call = alice
        .engine
        .call(vec![uid("bob")], CallMedia::Video)
        .await
        .unwrap();
    alice
        .until_stats(&call, "bob", "bob's pictures", |s| s.video.decoded > 30)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    bob.kill();
    let streams = probe(&path);
    eprintln!("killed mid-call: {streams:?}");
    let video = streams.iter().find(|s| s.0 == "h264").map(|s| s.1).unwrap();
    assert!(video >= 2.0, "{video} s of video: {streams:?}");
    assert!(streams.iter().any(|s| s.0 == "opus"), "{streams:?}");
    let pics = pictures(&path, 1280, 720);
    assert!(pics.len() >= 30, "{} pictures decoded", pics.len());
}
