//! Calls through a real sound card: cpal's ALSA backend into the PulseAudio null sink that
//! `cargo xtask test` runs (its default source is the sink's monitor, so whatever the speaker
//! plays comes straight back into the microphone — an echo path with the device's own delay).
//! And devices that fail: a microphone, a camera.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use switchboard_media::DeviceKind;
use switchboard_media::sound::sound_devices;
use switchboard_protocol::CallMedia;
use switchboard_tests::calls::{Side, uid, video_call};
use switchboard_tests::server::DevServer;

fn pulse(kind: DeviceKind) -> Option<String> {
    std::env::var_os("PULSE_SERVER")?;
    let id = sound_devices()
        .into_iter()
        .find(|d| d.kind == kind && d.id.ends_with(":pulse"))
        .map(|d| d.id);
    assert!(
        id.is_some(),
        "PULSE_SERVER is set but cpal lists no pulse {kind:?}"
    );
    id
}

/// Alice's level as Bob plays it, and Bob's (pure echo) as Alice hears it, over the last
/// second of a 12 s call.
async fn echo_call(mic: &str, speaker: &str, processing: bool) -> (f64, f64) {
    let server = DevServer::start("").unwrap();
    let mut alice = Side::start(&server, "alice").await.unwrap();
    let mut bob = Side::start_with(&server, "bob", |c| {
        c.microphone = mic.to_owned();
        c.speaker = speaker.to_owned();
        c.audio_processing = processing;
    })
    .await
    .unwrap();
    let call = video_call(&mut alice, &mut bob).await.unwrap();
    // AEC3 needs a few seconds to find the echo path's delay and converge.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let before = alice.stats_from(&call, "bob").await.unwrap().audio;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let bob_hears = bob.stats_from(&call, "alice").await.unwrap().audio;
    let after = alice.stats_from(&call, "bob").await.unwrap().audio;
    eprintln!(
        "processing {processing}: bob plays alice at {:.1} dBFS ({} marks); alice hears bob at \
         {:.1} dBFS, {} frames in the last 4 s",
        bob_hears.recent_level_dbfs,
        bob_hears.marks,
        after.recent_level_dbfs,
        after.decoded - before.decoded
    );
    assert!(bob_hears.marks >= 5, "bob heard alice: {bob_hears:?}");
    // Bob's microphone was live and sent throughout (a real device, paced by its clock).
    assert!(
        after.decoded >= before.decoded + 150,
        "{} frames from bob in 4 s",
        after.decoded - before.decoded
    );
    alice.engine.hangup(&call);
    bob.ended(&call).await.unwrap();
    (bob_hears.recent_level_dbfs, after.recent_level_dbfs)
}

/// Bob plays Alice's tone through the sound card and his microphone hears it back. Without
/// audio processing Alice hears herself; with it, the echo is at least 20 dB below what Bob
/// plays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_of_the_far_end_through_a_real_sound_card_is_cancelled() {
    let (Some(mic), Some(speaker)) = (pulse(DeviceKind::Microphone), pulse(DeviceKind::Speaker))
    else {
        eprintln!("skipped: no PULSE_SERVER (cargo xtask test provides one)");
        return;
    };
    let (played, raw_echo) = echo_call(&mic, &speaker, false).await;
    assert!(
        raw_echo > played - 10.0,
        "without processing the echo path should carry the tone back: {raw_echo:.1} dBFS \
         against {played:.1} dBFS played"
    );
    let (played, echo) = echo_call(&mic, &speaker, true).await;
    assert!(
        echo < played - 20.0,
        "echo at {echo:.1} dBFS against {played:.1} dBFS played"
    );
}

/// A microphone that cannot open does not stop the call: the app is told, the call goes on
/// (silent from that side) and pictures flow both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_microphone_that_fails_is_reported_and_the_call_goes_on() {
    use switchboard_engine::Event;
    let server = DevServer::start("").unwrap();
    let mut alice = Side::start_with(&server, "alice", |c| {
        c.microphone = "audio:alsa:unplugged-headset".into();
    })
    .await
    .unwrap();
    let mut bob = Side::start(&server, "bob").await.unwrap();
    let call = video_call(&mut alice, &mut bob).await.unwrap();
    let failed = |e: &Event| match e {
        Event::DeviceFailed { kind, id, reason } => Some((*kind, id.clone(), reason.clone())),
        _ => None,
    };
    let seen = alice.seen.iter().find_map(failed);
    let (kind, id, reason) = match seen {
        Some(f) => f,
        None => alice.wait("a device failure", failed).await.unwrap(),
    };
    assert_eq!(kind, DeviceKind::Microphone);
    assert_eq!(id, "audio:alsa:unplugged-headset");
    assert!(reason.contains("unplugged-headset"), "{reason}");
    let before = bob.stats_from(&call, "alice").await.unwrap().video.decoded;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = bob.stats_from(&call, "alice").await.unwrap().video.decoded;
    assert!(after >= before + 20, "{} pictures in 2 s", after - before);
    alice.engine.hangup(&call);
    bob.ended(&call).await.unwrap();
}

/// A camera that is not there: the app is told, the call goes on with audio; switching to
/// another missing camera is refused; switching to the pattern brings pictures to the far end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_camera_is_reported_and_a_hot_switch_brings_pictures() {
    use switchboard_engine::Event;
    let server = DevServer::start("").unwrap();
    let mut alice = Side::start_with(&server, "alice", |c| {
        c.camera = "camera:Unplugged Webcam".into();
    })
    .await
    .unwrap();
    let mut bob = Side::start(&server, "bob").await.unwrap();
    let call = alice
        .engine
        .call(vec![uid("bob")], CallMedia::Video)
        .await
        .unwrap();
    assert_eq!(bob.answer().await.unwrap(), call);
    bob.until_stats(&call, "alice", "alice's voice", |s| s.audio.decoded > 0)
        .await
        .unwrap();
    let failed = |e: &Event| match e {
        Event::DeviceFailed { kind, id, .. } => Some((*kind, id.clone())),
        _ => None,
    };
    let seen = alice.seen.iter().find_map(failed);
    let (kind, id) = match seen {
        Some(f) => f,
        None => alice.wait("a device failure", failed).await.unwrap(),
    };
    assert_eq!(
        (kind, id.as_str()),
        (DeviceKind::Camera, "camera:Unplugged Webcam")
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let s = bob.stats_from(&call, "alice").await.unwrap();
    assert_eq!(s.video.decoded, 0, "pictures from a missing camera");

    let refused = alice.engine.set_camera("camera:Another Missing One").await;
    assert!(refused.unwrap_err().to_string().contains("no camera"));
    alice.engine.set_camera("pattern").await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let decoded = bob.stats_from(&call, "alice").await.unwrap().video.decoded;
        if decoded >= 20 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{decoded} pictures 5 s after the switch"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    alice.engine.hangup(&call);
    bob.ended(&call).await.unwrap();
}
