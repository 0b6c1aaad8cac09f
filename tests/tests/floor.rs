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
    let db = server.data.join("switchboard.db");
    let url = format!("sqlite://{}?mode=ro", db.display());
    let mut row = None;
    for _ in 0..50 {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        row = sqlx::query_as::<_, (i64, i64)>(
            "SELECT hold_count, hold_ms FROM calls WHERE call_id = ?",
        )
        .bind(call.as_str())
        .fetch_optional(&pool)
        .await
        .unwrap();
        pool.close().await;
        if row.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (count, ms) = row.expect("the call's record");
    assert_eq!(count, 1);
    assert!((3_000..10_000).contains(&ms), "{ms} ms on hold");
}
