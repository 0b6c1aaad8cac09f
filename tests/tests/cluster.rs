//! Engines in a call through a cluster of server nodes (real redis-server and PostgreSQL): the
//! node of one side is killed mid-call; its engine moves to the next address it was given,
//! resumes its session there, and the call keeps its pictures and its signaling.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use switchboard_engine::Event;
use switchboard_protocol::{EndCode, Side as EndSide};
use switchboard_tests::calls::{Side, video_call};
use switchboard_tests::postgres::Postgres;
use switchboard_tests::redis::Redis;
use switchboard_tests::server::DevServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_call_the_engine_moves_on_and_pictures_keep_coming() {
    let redis = Redis::start();
    let pg = Postgres::start();
    let data = tempfile::tempdir().unwrap();
    let config = format!(
        "resume_window_secs = 30\n[store]\nurl = \"{}\"\n[cluster]\nredis = \"{}\"\n",
        pg.url,
        redis.url()
    );
    let n0 = DevServer::start_node(&config, data.path()).unwrap();
    let mut n1 = DevServer::start_node(&config, data.path()).unwrap();
    let mut alice = Side::start(&n0, "alice").await.unwrap();
    // bob's app knows both nodes and signs in at the first (node 1).
    let both = format!("{},{}", n1.url(), n0.url());
    let mut bob = Side::start_with(&n1, "bob", |c| c.server = both)
        .await
        .unwrap();
    let call = video_call(&mut alice, &mut bob).await.unwrap();

    n1.kill();
    let resumed = bob
        .wait("signed in again", |e| match e {
            Event::SignedIn { resumed, .. } => Some(*resumed),
            _ => None,
        })
        .await
        .unwrap();
    assert!(resumed, "the session was resumed on the other node");
    let before = alice.stats_from(&call, "bob").await.unwrap();
    alice
        .until_stats(&call, "bob", "pictures after the failover", |s| {
            s.video.decoded > before.video.decoded + 30
        })
        .await
        .unwrap();
    // Signaling too: alice hangs up, bob's call ends with her hang-up, and one record is kept.
    alice.engine.hangup(&call);
    let (reason, _) = bob.ended(&call).await.unwrap();
    assert_eq!(
        (reason.code, reason.side),
        (EndCode::Hangup, EndSide::Remote)
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let rows = calls_rows(&pg.url);
        if rows == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{rows} call records");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Rows in the shared database's `calls` table (psql from Debian's PostgreSQL package).
fn calls_rows(url: &str) -> i64 {
    let out = std::process::Command::new("psql")
        .args([url, "-tAc", "SELECT count(*) FROM calls"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(-1)
}
