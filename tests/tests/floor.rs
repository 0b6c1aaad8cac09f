//! The contact-center floor between real engines over the real server (real WebRTC on
//! loopback, our H.264 and Opus, the synthetic pattern camera and tone microphone): hold, with
//! what each party actually receives read from the media — the held side's pictures and the
//! timing marks of the holder's tone microphone stop, the music on hold plays — and the hold
//! kept by both histories and by the server's record.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use switchboard_engine::Event;
use switchboard_tests::calls::{Side, video_call};
use switchboard_tests::server::DevServer;

async fn told_hold(side: &mut Side, on: bool) {
    side.wait("call_hold", |e| match e {
        Event::Hold { on: o, .. } if *o == on => Some(()),
        _ => None,
    })
    .await
    .unwrap();
}

async fn ended_holds(side: &mut Side) -> (u32, u64) {
    side.wait("the end", |e| match e {
        Event::Ended {
            hold_count,
            hold_ms,
            ..
        } => Some((*hold_count, *hold_ms)),
        _ => None,
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_held_side_hears_music_and_nothing_of_the_holder_and_the_record_keeps_the_hold() {
    let server = DevServer::start("").unwrap();
    let mut alice = Side::start(&server, "alice").await.unwrap();
    let mut bob = Side::start(&server, "bob").await.unwrap();
    let call = video_call(&mut alice, &mut bob).await.unwrap();
    // alice's tone microphone marks every 500 ms: bob hears them before the hold.
    bob.until_stats(&call, "alice", "marks before the hold", |s| {
        s.audio.marks >= 2
    })
    .await
    .unwrap();

    alice.engine.hold(&call, true);
    told_hold(&mut alice, true).await;
    told_hold(&mut bob, true).await;
    // The held side cannot take the call off hold.
    bob.engine.hold(&call, false);
    let refused = bob
        .wait("the refusal", |e| match e {
            Event::Error { message, .. } => Some(message.clone()),
            _ => None,
        })
        .await
        .unwrap();
    assert!(refused.contains("holds this call"), "{refused}");

    // What was in flight arrives; then 3 s on hold.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (b0, a0) = (
        bob.stats_from(&call, "alice").await.unwrap(),
        alice.stats_from(&call, "bob").await.unwrap(),
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (b1, a1) = (
        bob.stats_from(&call, "alice").await.unwrap(),
        alice.stats_from(&call, "bob").await.unwrap(),
    );
    eprintln!(
        "bob on hold for 3 s: {} pictures, {} marks, {} audio frames at {:.1} dBFS; alice got {} pictures from bob",
        b1.video.decoded - b0.video.decoded,
        b1.audio.marks - b0.audio.marks,
        b1.audio.decoded - b0.audio.decoded,
        b1.audio.recent_level_dbfs,
        a1.video.decoded - a0.video.decoded
    );
    assert_eq!(
        b1.video.decoded, b0.video.decoded,
        "alice's camera reached bob on hold"
    );
    assert_eq!(
        b1.audio.marks, b0.audio.marks,
        "alice's microphone reached bob on hold"
    );
    let music = b1.audio.decoded - b0.audio.decoded;
    assert!(music >= 120, "{music} audio frames of music in 3 s: {b1:?}");
    assert!(
        b1.audio.recent_level_dbfs > -40.0,
        "the music is {:.1} dBFS",
        b1.audio.recent_level_dbfs
    );
    // bob is held, not muted: his media still reaches alice (her engine does not play it).
    assert!(a1.video.decoded > a0.video.decoded + 30, "{a1:?}");

    alice.engine.hold(&call, false);
    told_hold(&mut bob, false).await;
    bob.until_stats(&call, "alice", "pictures and marks after the hold", |s| {
        s.video.decoded > b1.video.decoded + 10 && s.audio.marks > b1.audio.marks
    })
    .await
    .unwrap();
    alice.engine.hangup(&call);
    // Both histories: one hold of about 3.5 s.
    for side in [&mut alice, &mut bob] {
        let (count, ms) = ended_holds(side).await;
        assert_eq!(count, 1);
        assert!((3_000..10_000).contains(&ms), "{ms} ms on hold");
    }
    // And the server's record.
    let Record { holds, hold_ms, .. } = record(&server, call.as_str()).await;
    assert_eq!(holds, 1);
    assert!((3_000..10_000).contains(&hold_ms), "{hold_ms} ms on hold");
}

/// The server's record of a call, as its `calls` row says.
#[derive(sqlx::FromRow)]
struct Record {
    #[sqlx(rename = "hold_count")]
    holds: i64,
    hold_ms: i64,
    transfer: Option<String>,
    consulted: Option<String>,
}

/// Waits for the call's row (written once the call ended).
async fn record(server: &DevServer, call: &str) -> Record {
    let url = format!(
        "sqlite://{}?mode=ro",
        server.data.join("switchboard.db").display()
    );
    for _ in 0..50 {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let row = sqlx::query_as(
            "SELECT hold_count, hold_ms, transfer, consulted FROM calls WHERE call_id = ?",
        )
        .bind(call)
        .fetch_optional(&pool)
        .await
        .unwrap();
        pool.close().await;
        if let Some(row) = row {
            return row;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no record of {call}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consult_then_a_warm_transfer_hands_the_customer_to_the_colleague_who_was_consulted() {
    use switchboard_protocol::{CallMedia, EndCode, Side as EndSide, TransferTarget};
    let server = DevServer::start("").unwrap();
    let mut a1 = Side::start(&server, "a1").await.unwrap();
    a1.agent_ready(&["billing"]);
    let mut customer = Side::start_token(&server, &server.customer_token("billing"))
        .await
        .unwrap();
    // The customer's engine sends no offer: a1 offers once it has accepted.
    let call =
        switchboard_tests::calls::queued_call(&mut customer, &mut a1, "billing", CallMedia::Video)
            .await
            .unwrap();
    customer
        .until_stats(&call, "a1", "a1's pictures and voice", |s| {
            s.video.decoded > 0 && s.audio.marks > 0
        })
        .await
        .unwrap();
    // A colleague comes on duty; a1 consults them about the customer, who is held.
    let mut a2 = Side::start(&server, "a2").await.unwrap();
    a2.agent_ready(&["support"]);
    let consult = a1
        .engine
        .consult(&call, switchboard_tests::calls::uid("a2"))
        .await
        .unwrap();
    told_hold(&mut customer, true).await;
    let about = a2
        .wait("the consult", |e| match e {
            Event::Incoming {
                call_id, consult, ..
            } => consult.clone().map(|c| (call_id.clone(), c)),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(about.0, consult);
    assert_eq!(
        (&about.1.call_id, about.1.customer.as_str()),
        (&call, customer.engine.user().as_str())
    );
    a2.wait("the consult's transport", |e| match e {
        Event::TransportReady { call_id, .. } if *call_id == consult => Some(()),
        _ => None,
    })
    .await
    .unwrap();
    a2.engine.accept(&consult);
    // a2 hears a1; the customer hears the music and nothing of either.
    a2.until_stats(&consult, "a1", "a1's voice in the consult", |s| {
        s.audio.marks >= 2
    })
    .await
    .unwrap();
    let held = customer.stats_from(&call, "a1").await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let later = customer.stats_from(&call, "a1").await.unwrap();
    assert_eq!(
        later.audio.marks, held.audio.marks,
        "the customer heard a1 in the consult"
    );
    assert!(
        later.audio.decoded > held.audio.decoded + 30,
        "no music: {later:?}"
    );

    // The warm transfer: a1 leaves both calls, a2 has the customer without a second ring.
    a1.engine.transfer(&call, TransferTarget::Consulted);
    for id in [&consult, &call] {
        let (reason, _) = a1.ended(id).await.unwrap();
        assert_eq!(
            (reason.code, reason.side),
            (EndCode::Transferred, EndSide::Local)
        );
    }
    let (reason, _) = a2.ended(&consult).await.unwrap();
    assert_eq!(
        (reason.code, reason.side),
        (EndCode::Transferred, EndSide::Remote)
    );
    let warm = a2
        .wait("the customer's call", |e| match e {
            Event::Incoming { call_id, queue, .. } if *call_id == call => queue.clone(),
            _ => None,
        })
        .await
        .unwrap();
    assert!(warm.warm && warm.transferred_by.as_ref().is_some_and(|u| u == "a1"));
    customer
        .until_stats(&call, "a2", "a2's pictures and voice", |s| {
            s.video.decoded > 10 && s.audio.marks > 0
        })
        .await
        .unwrap();
    a2.until_stats(
        &call,
        customer.engine.user().as_str(),
        "the customer's pictures",
        |s| s.video.decoded > 10,
    )
    .await
    .unwrap();
    customer.engine.hangup(&call);
    let (reason, _) = a2.ended(&call).await.unwrap();
    assert_eq!(reason.code, EndCode::Hangup);
    let Record {
        holds,
        transfer,
        consulted,
        ..
    } = record(&server, call.as_str()).await;
    assert_eq!(holds, 1);
    assert_eq!(transfer.as_deref(), Some("warm"));
    assert_eq!(consulted.as_deref(), Some("a2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_realms_own_music_on_hold_is_what_the_held_side_hears() {
    // The realm's music is a recording of the tone microphone: its timing marks can be counted
    // on the far side (the shipped tune has none, and the holder's microphone is muted).
    let dir = tempfile::tempdir().unwrap();
    let mut tone = switchboard_media::ToneMicrophone::new();
    let samples: Vec<i16> = (0..250).flat_map(|_| tone.frame()).collect();
    let music = dir.path().join("music.wav");
    std::fs::write(&music, switchboard_tests::wav_mono16(48_000, &samples)).unwrap();
    let server = DevServer::start(&format!(
        "[realms.dev]\nhold_music = \"{}\"\n",
        music.display()
    ))
    .unwrap();
    let mut alice = Side::start(&server, "alice").await.unwrap();
    let mut bob = Side::start(&server, "bob").await.unwrap();
    let call = video_call(&mut alice, &mut bob).await.unwrap();
    alice.engine.mute(&call, true, true);
    tokio::time::sleep(Duration::from_millis(500)).await;
    alice.engine.hold(&call, true);
    told_hold(&mut bob, true).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = bob.stats_from(&call, "alice").await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = bob.stats_from(&call, "alice").await.unwrap();
    let marks = after.audio.marks - before.audio.marks;
    eprintln!("bob heard {marks} marks of the realm's music in 3 s");
    assert!(marks >= 4, "the realm's music did not play: {marks} marks");
    alice.engine.hangup(&call);
    bob.ended(&call).await.unwrap();
}
