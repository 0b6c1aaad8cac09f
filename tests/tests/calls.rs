//! Calls between engines over the real server on loopback: real WebRTC (webrtc 0.21), our
//! H.264 and Opus, the synthetic pattern camera and tone microphone. What the far side decoded
//! is read from the pictures themselves (frame counter, capture time).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use switchboard_engine::{Event, VideoProfile};
use switchboard_protocol::{CallMedia, EndCode, Side as EndSide};
use switchboard_tests::calls::{Side, uid};
use switchboard_tests::server::DevServer;

async fn pair(server: &DevServer) -> (Side, Side) {
    let alice = Side::start(server, "alice").await.unwrap();
    let bob = Side::start(server, "bob").await.unwrap();
    (alice, bob)
}

/// alice calls bob with video; bob answers. Returns the call once media flows both ways.
async fn video_call(alice: &mut Side, bob: &mut Side) -> switchboard_protocol::CallId {
    switchboard_tests::calls::video_call(alice, bob)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_second_video_call_plays_nearly_every_frame_on_both_sides() {
    let server = DevServer::start("").unwrap();
    let (mut alice, mut bob) = pair(&server).await;
    let call = video_call(&mut alice, &mut bob).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    alice.engine.hangup(&call);
    let (a_reason, a_stats) = alice.ended(&call).await.unwrap();
    let (b_reason, b_stats) = bob.ended(&call).await.unwrap();

    // Both record the same reason, each from its own side.
    assert_eq!(a_reason.code, EndCode::Hangup);
    assert_eq!(b_reason.code, EndCode::Hangup);
    assert_eq!(a_reason.side, EndSide::Local);
    assert_eq!(b_reason.side, EndSide::Remote);

    let (a, b) = (&a_stats[0], &b_stats[0]);
    assert_eq!((a.user.as_str(), b.user.as_str()), ("bob", "alice"));
    for (name, me, far) in [("alice", a, b), ("bob", b, a)] {
        // About 300 frames and 500 audio frames each way in 10 s.
        assert!(
            far.video.sent >= 250,
            "{name}: the far side sent {} frames: {far:?}",
            far.video.sent
        );
        assert!(
            me.video.in_order * 100 >= far.video.sent * 95,
            "{name} decoded {} frames in order of {} sent: {me:?}",
            me.video.in_order,
            far.video.sent
        );
        assert!(far.audio.sent >= 450);
        assert!(
            me.audio.decoded * 100 >= far.audio.sent * 95,
            "{name} decoded {} audio frames of {} sent: {me:?}",
            me.audio.decoded,
            far.audio.sent
        );
        // The stats are real measurements, not placeholders.
        assert!(me.video.latency_ms_p50.is_some());
        assert!(
            me.audio.latency_ms_p50.is_some(),
            "{name}: no audio latency: {me:?}"
        );
        assert_eq!((me.video.width, me.video.height), (640, 360));
        assert!(
            me.audio.marks >= 15,
            "{name} heard {} timing marks",
            me.audio.marks
        );
        assert!(
            me.audio.level_dbfs > -40.0,
            "{name}: level {}",
            me.audio.level_dbfs
        );
        assert!(me.video.send_bps > 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_in_a_mesh_each_decode_the_other_two() {
    let server = DevServer::start("").unwrap();
    let mut alice = Side::start(&server, "alice").await.unwrap();
    let mut bob = Side::start(&server, "bob").await.unwrap();
    let mut carol = Side::start(&server, "carol").await.unwrap();
    let call = alice
        .engine
        .call(vec![uid("bob"), uid("carol")], CallMedia::Video)
        .await
        .unwrap();
    assert_eq!(bob.answer().await.unwrap(), call);
    assert_eq!(carol.answer().await.unwrap(), call);
    for (side, others) in [
        (&alice, ["bob", "carol"]),
        (&bob, ["alice", "carol"]),
        (&carol, ["alice", "bob"]),
    ] {
        for other in others {
            side.until_stats(&call, other, "pictures from every member", |s| {
                s.video.decoded >= 30 && s.audio.decoded >= 50
            })
            .await
            .unwrap();
        }
    }
    // The inviter leaves; the other two go on until one of them hangs up.
    alice.engine.hangup(&call);
    assert_eq!(alice.ended(&call).await.unwrap().0.code, EndCode::Hangup);
    let before = bob.stats_from(&call, "carol").await.unwrap().video.decoded;
    bob.until_stats(&call, "carol", "frames after alice left", |s| {
        s.video.decoded > before + 15
    })
    .await
    .unwrap();
    bob.engine.hangup(&call);
    bob.ended(&call).await.unwrap();
    let (reason, _) = carol.ended(&call).await.unwrap();
    assert_eq!(reason.code, EndCode::CallCompleted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_invited_into_a_call_connects_to_everyone() {
    let server = DevServer::start("").unwrap();
    let (mut alice, mut bob) = pair(&server).await;
    let mut carol = Side::start(&server, "carol").await.unwrap();
    let call = video_call(&mut alice, &mut bob).await;
    bob.until_stats(&call, "alice", "the 1:1 call's pictures", |s| {
        s.video.decoded > 10
    })
    .await
    .unwrap();
    // Bob (not the caller) invites carol.
    bob.engine.invite(&call, vec![uid("carol")]);
    assert_eq!(carol.answer().await.unwrap(), call);
    // Alice (not the inviter) connects to carol as she joins.
    alice
        .wait("carol joining", |e| match e {
            Event::MemberJoined { user, .. } if user.as_str() == "carol" => Some(()),
            _ => None,
        })
        .await
        .unwrap();
    for (side, others) in [
        (&alice, ["bob", "carol"]),
        (&bob, ["alice", "carol"]),
        (&carol, ["alice", "bob"]),
    ] {
        for other in others {
            side.until_stats(&call, other, "pictures from every member", |s| {
                s.video.decoded >= 20 && s.audio.decoded >= 30
            })
            .await
            .unwrap();
        }
    }
    alice.engine.hangup(&call);
    bob.engine.hangup(&call);
    carol.ended(&call).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn muting_stops_the_media_and_tells_the_far_side() {
    let server = DevServer::start("").unwrap();
    let (mut alice, mut bob) = pair(&server).await;
    let call = video_call(&mut alice, &mut bob).await;

    alice.engine.mute(&call, true, true);
    let state = bob
        .wait("media state", |e| match e {
            Event::RemoteMediaState { user, state, .. } if user == "alice" => Some(*state),
            _ => None,
        })
        .await
        .unwrap();
    assert!(!state.audio && !state.video);
    // Let what was in flight arrive, then nothing more comes.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let muted = bob.stats_from(&call, "alice").await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let later = bob.stats_from(&call, "alice").await.unwrap();
    assert_eq!(
        later.video.decoded, muted.video.decoded,
        "video kept coming"
    );
    assert_eq!(
        later.audio.received, muted.audio.received,
        "audio kept coming"
    );
    // bob still sends: only alice muted.
    let alice_view = alice.stats_from(&call, "bob").await.unwrap();
    assert!(alice_view.video.decoded > 0);

    alice.engine.mute(&call, false, false);
    bob.until_stats(&call, "alice", "media after unmute", |s| {
        s.video.decoded > later.video.decoded + 10 && s.audio.received > later.audio.received + 10
    })
    .await
    .unwrap();
    alice.engine.hangup(&call);
    bob.ended(&call).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_video_to_audio_and_back_keeps_the_call() {
    let server = DevServer::start("").unwrap();
    let (mut alice, mut bob) = pair(&server).await;
    let call = video_call(&mut alice, &mut bob).await;

    for (side, other) in [(&alice, "bob"), (&bob, "alice")] {
        let s = side.stats_from(&call, other).await.unwrap();
        assert!(
            s.video.negotiated,
            "{other}: video m-line not active in a video call"
        );
    }
    // Bob switches: alice made the first offer, so she re-offers with the video m-line
    // inactive, on the same connection.
    bob.engine.switch_media(&call, CallMedia::Audio);
    let media = alice
        .wait("media switched", |e| match e {
            Event::MediaSwitched { media, .. } => Some(*media),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(media, CallMedia::Audio);
    for (side, other) in [(&alice, "bob"), (&bob, "alice")] {
        side.until_stats(&call, other, "video renegotiated off", |s| {
            !s.video.negotiated
        })
        .await
        .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (a0, b0) = (
        alice.stats_from(&call, "bob").await.unwrap(),
        bob.stats_from(&call, "alice").await.unwrap(),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (a1, b1) = (
        alice.stats_from(&call, "bob").await.unwrap(),
        bob.stats_from(&call, "alice").await.unwrap(),
    );
    // Video stopped both ways; audio went on.
    assert_eq!(a1.video.decoded, a0.video.decoded);
    assert_eq!(b1.video.decoded, b0.video.decoded);
    assert!(a1.audio.decoded > a0.audio.decoded + 20);
    assert!(b1.audio.decoded > b0.audio.decoded + 20);

    alice.engine.switch_media(&call, CallMedia::Video);
    for (side, other, before) in [(&alice, "bob", &a1), (&bob, "alice", &b1)] {
        side.until_stats(&call, other, "video again", |s| {
            s.video.negotiated && s.video.decoded > before.video.decoded + 15
        })
        .await
        .unwrap();
    }
    // Audio went on through both renegotiations: nothing was rebuilt.
    let a2 = alice.stats_from(&call, "bob").await.unwrap();
    assert!(a2.audio.decoded > a1.audio.decoded);
    // One receiver per track after the m-line came back: each picture is counted once, in
    // order (30 fps: at most ~30 a second, and none out of order).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let a3 = alice.stats_from(&call, "bob").await.unwrap();
    let pictures = a3.video.decoded - a2.video.decoded;
    assert!((10..=45).contains(&pictures), "{pictures} pictures in 1 s");
    assert_eq!(
        a3.video.decoded - a3.video.in_order,
        a2.video.decoded - a2.video.in_order
    );
    alice.engine.hangup(&call);
    assert_eq!(alice.ended(&call).await.unwrap().0.code, EndCode::Hangup);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_resets_its_decoder_asks_for_a_keyframe_and_recovers() {
    let server = DevServer::start("").unwrap();
    let (mut alice, mut bob) = pair(&server).await;
    let call = video_call(&mut alice, &mut bob).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let before = bob.stats_from(&call, "alice").await.unwrap();
    bob.engine.reset_decoders(&call);
    let after = bob
        .until_stats(&call, "alice", "pictures after the reset", |s| {
            s.video.keyframes_requested > before.video.keyframes_requested
                && s.video.decoded > before.video.decoded + 30
        })
        .await
        .unwrap();
    assert!(after.video.dropped >= before.video.dropped);
    let sender = alice.stats_from(&call, "bob").await.unwrap();
    assert!(sender.video.keyframe_requests_received > 0, "{sender:?}");
    alice.engine.hangup(&call);
    bob.ended(&call).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stats_count_exactly_the_pictures_that_were_decoded() {
    let server = DevServer::start("").unwrap();
    let (alice, mut bob) = pair(&server).await;
    let call = alice
        .engine
        .call(vec![uid("bob")], CallMedia::Video)
        .await
        .unwrap();
    bob.wait("incoming call", |e| {
        matches!(e, Event::Incoming { .. }).then_some(())
    })
    .await
    .unwrap();
    // Watch bob's pictures from alice from before the answer.
    let mut frames = bob
        .engine
        .remote_frames(&call, &uid("alice"))
        .await
        .unwrap();
    bob.wait("transport ready", |e| {
        matches!(e, Event::TransportReady { .. }).then_some(())
    })
    .await
    .unwrap();
    bob.engine.accept(&call);
    // Count what arrives until the stream has been quiet for a second (alice turns her camera
    // off after three seconds).
    let counter = tokio::spawn(async move {
        let (mut decoded, mut in_order, mut last) = (0u64, 0u64, None::<u32>);
        loop {
            match tokio::time::timeout(Duration::from_secs(1), frames.recv()).await {
                Ok(Ok(f)) => {
                    decoded += 1;
                    let n = f.stamp.expect("pattern pictures carry a stamp").frame;
                    if last.is_none_or(|l| n > l) {
                        in_order += 1;
                        last = Some(n);
                    }
                }
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(n))) => {
                    panic!("the test fell {n} pictures behind")
                }
                Ok(Err(_)) | Err(_) if decoded > 0 => return (decoded, in_order),
                _ => {}
            }
        }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    alice.engine.mute(&call, false, true);
    let (decoded, in_order) = tokio::time::timeout(Duration::from_secs(20), counter)
        .await
        .unwrap()
        .unwrap();
    let stats = bob.stats_from(&call, "alice").await.unwrap();
    assert!(decoded >= 60, "only {decoded} pictures in 3 s");
    assert_eq!(stats.video.decoded, decoded);
    assert_eq!(stats.video.in_order, in_order);
    alice.engine.hangup(&call);
    bob.ended(&call).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_socket_a_new_video_profile_and_a_new_microphone_do_not_end_the_call() {
    let server = DevServer::start("").unwrap();
    let (mut alice, mut bob) = pair(&server).await;
    let call = video_call(&mut alice, &mut bob).await;

    alice.engine.cut_signaling();
    let resumed = alice
        .wait("signed in again", |e| match e {
            Event::SignedIn { resumed, .. } => Some(*resumed),
            _ => None,
        })
        .await
        .unwrap();
    assert!(resumed, "the session was not resumed");
    let before = bob.stats_from(&call, "alice").await.unwrap();
    bob.until_stats(&call, "alice", "frames after the resume", |s| {
        s.video.decoded > before.video.decoded + 30
    })
    .await
    .unwrap();

    alice
        .engine
        .set_video_profile(VideoProfile::new(540, 15).unwrap());
    let s = bob
        .until_stats(&call, "alice", "540p pictures", |s| s.video.width == 960)
        .await
        .unwrap();
    assert_eq!(s.video.height, 540);
    // A new microphone mid-call: a WAV file at another rate; audio keeps coming.
    assert!(alice.engine.set_microphone("no-such-mic").await.is_err());
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("voice.wav");
    std::fs::write(&wav, wav_tone(22_050, 700.0)).unwrap();
    alice
        .engine
        .set_microphone(&format!("file:{}", wav.display()))
        .await
        .unwrap();
    let before = bob.stats_from(&call, "alice").await.unwrap();
    bob.until_stats(&call, "alice", "audio from the new microphone", |s| {
        s.audio.received > before.audio.received + 50
    })
    .await
    .unwrap();
    // Signaling still works after the resume: the hang-up goes through and both agree.
    bob.engine.hangup(&call);
    assert_eq!(bob.ended(&call).await.unwrap().0.code, EndCode::Hangup);
    let (reason, _) = alice.ended(&call).await.unwrap();
    assert_eq!(reason.code, EndCode::Hangup);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5_mb_file_and_text_messages_cross_the_data_channel() {
    let server = DevServer::start("").unwrap();
    let (mut alice, mut bob) = pair(&server).await;
    let call = video_call(&mut alice, &mut bob).await;

    for i in 0..50 {
        alice.engine.send_text(&call, format!("message {i}"));
    }
    let mut texts = Vec::new();
    while texts.len() < 50 {
        let t = bob
            .wait("text", |e| match e {
                Event::DataText { text, from, .. } if from == "alice" => Some(text.clone()),
                _ => None,
            })
            .await
            .unwrap();
        texts.push(t);
    }
    let expected: Vec<String> = (0..50).map(|i| format!("message {i}")).collect();
    assert_eq!(texts, expected, "texts arrived out of order");

    // 5 MB that do not compress, so every byte really crosses.
    let mut data = vec![0u8; 5 * 1024 * 1024];
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for b in data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let data = std::sync::Arc::new(data);
    let sender = alice.engine.clone();
    let (c, d) = (call.clone(), data.clone());
    let send = tokio::spawn(async move { sender.send_file(&c, &uid("bob"), "case.bin", d).await });
    // Nothing comes before bob accepts the offer.
    let (id, size) = bob
        .wait("the offer", |e| match e {
            Event::FileOffered { id, size, name, .. } if name == "case.bin" => {
                Some((id.clone(), *size))
            }
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(size, data.len() as u64);
    assert!(
        !bob.seen
            .iter()
            .any(|e| matches!(e, Event::FileProgress { sending: false, .. })),
        "bytes before the offer was accepted"
    );
    bob.engine
        .answer_file(&call, &uid("alice"), &id, true)
        .await
        .unwrap();
    let received = bob
        .wait("the file", |e| match e {
            Event::FileReceived { data, name, .. } if name == "case.bin" => Some(data.clone()),
            _ => None,
        })
        .await
        .unwrap();
    send.await.unwrap().unwrap();
    assert_eq!(received.len(), data.len());
    assert!(received == data);
    let progress = bob
        .seen
        .iter()
        .filter(|e| matches!(e, Event::FileProgress { sending: false, .. }))
        .count();
    assert!(progress >= 10, "only {progress} progress events for 5 MB");

    // Declined: the sender is told, and nothing arrives.
    let sender = alice.engine.clone();
    let c = call.clone();
    let send = tokio::spawn(async move {
        sender
            .send_file(
                &c,
                &uid("bob"),
                "unwanted.exe",
                std::sync::Arc::new(vec![9; 1000]),
            )
            .await
    });
    let id = bob
        .wait("the second offer", |e| match e {
            Event::FileOffered { id, name, .. } if name == "unwanted.exe" => Some(id.clone()),
            _ => None,
        })
        .await
        .unwrap();
    bob.engine
        .answer_file(&call, &uid("alice"), &id, false)
        .await
        .unwrap();
    let err = send.await.unwrap().unwrap_err();
    assert!(err.to_string().contains("declined"), "{err}");
    alice.engine.hangup(&call);
    bob.ended(&call).await.unwrap();
    assert!(
        !bob.seen
            .iter()
            .any(|e| matches!(e, Event::FileReceived { name, .. } if name == "unwanted.exe")),
        "a declined file arrived"
    );
}

#[tokio::test]
async fn the_engine_refreshes_its_token_so_a_short_lived_one_keeps_it_signed_in() {
    // Tokens of 3 s: without a refresh the server ends each session after 3 s.
    let server = DevServer::start("token_ttl_secs = 3\n").unwrap();
    let (mut alice, mut bob) = pair(&server).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(8);
    tokio::time::sleep_until(deadline).await;
    let call = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        video_call(&mut alice, &mut bob),
    )
    .await
    .expect("no call 8 s after sign-in: the sessions ended with their tokens");
    for side in [&alice, &bob] {
        assert!(
            !side.seen.iter().any(|e| matches!(e, Event::Closed { .. })),
            "signed out: {:?}",
            side.seen
        );
    }
    alice.engine.hangup(&call);
    bob.ended(&call).await.unwrap();
}

/// One second of a tone as a 16-bit mono WAV file.
fn wav_tone(rate: u32, hz: f32) -> Vec<u8> {
    let samples: Vec<i16> = (0..rate)
        .map(|i| ((i as f32 * hz * std::f32::consts::TAU / rate as f32).sin() * 8000.0) as i16)
        .collect();
    switchboard_tests::wav_mono16(rate, &samples)
}
