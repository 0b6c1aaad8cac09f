//! Engines and the widget through a cluster of server nodes (real redis-server and
//! PostgreSQL): the node of one side is killed; its engine (or the widget in Chromium) moves to
//! the next address, resumes its session there, and the call keeps its pictures and its
//! signaling, or the customer their place in the queue.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use switchboard_engine::Event;
use switchboard_protocol::{EndCode, Side as EndSide};
use switchboard_tests::browser::Browser;
use switchboard_tests::calls::{Side, video_call};
use switchboard_tests::drive::Cli;
use switchboard_tests::postgres::Postgres;
use switchboard_tests::redis::Redis;
use switchboard_tests::server::DevServer;

/// A cluster's settings: its Redis and PostgreSQL, the nodes' addresses for `hello.nodes`.
fn settings(redis: &Redis, pg: &Postgres, addresses: &[String]) -> String {
    format!(
        "resume_window_secs = 30\n[store]\nurl = \"{}\"\n[cluster]\nredis = \"{}\"\naddresses = {:?}\n",
        pg.url,
        redis.url(),
        addresses
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_call_the_engine_moves_on_and_pictures_keep_coming() {
    let redis = Redis::start();
    let pg = Postgres::start();
    let data = tempfile::tempdir().unwrap();
    let config = settings(&redis, &pg, &[]);
    let n0 = DevServer::start_node(&config, data.path(), "127.0.0.1:0").unwrap();
    let mut n1 = DevServer::start_node(&config, data.path(), "127.0.0.1:0").unwrap();
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

#[test]
fn a_waiting_browser_customer_whose_node_dies_keeps_their_place_on_another() {
    let redis = Redis::start();
    let pg = Postgres::start();
    let data = tempfile::tempdir().unwrap();
    let ports = [free_port(), free_port()];
    let addresses: Vec<String> = ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect();
    let config = settings(&redis, &pg, &addresses);
    let mut n0 =
        DevServer::start_node(&config, data.path(), &format!("127.0.0.1:{}", ports[0])).unwrap();
    let n1 =
        DevServer::start_node(&config, data.path(), &format!("127.0.0.1:{}", ports[1])).unwrap();
    // An agent of the business is signed in (on node 1) but not ready: callers wait.
    let _busy = Cli::start(
        &n1,
        &n1.token("a1"),
        &["agent", "--skill", "billing", "--duration", "60"],
    );
    // The browser's page and socket are node 0's; another customer queues behind it.
    let mut browser = Browser::start(&n0, "billing", &[]);
    assert_eq!(browser.next("a queue position")["position"], 1);
    let behind = Cli::start(
        &n1,
        &n1.customer_token("billing"),
        &["queue", "billing", "--give-up", "60"],
    );
    std::thread::sleep(Duration::from_secs(1));

    // Node 0 dies; the widget resumes on node 1 (announced in hello) and keeps its place: the
    // agent who goes ready takes the browser's call, not the one queued behind.
    n0.kill();
    std::thread::sleep(Duration::from_secs(2));
    let agent = Cli::start(
        &n1,
        &n1.token("a2"),
        &[
            "agent",
            "--ready",
            "--auto-accept",
            "--skill",
            "billing",
            "--duration",
            "20",
        ],
    );
    assert_eq!(browser.next("the answer")["phase"], "in_call");
    let media = browser.until("video_decoded");
    let decoded = media["video_decoded"].as_u64().unwrap();
    assert!(
        decoded > 150,
        "Chromium decoded {decoded} pictures in 10 s: {media}"
    );
    browser.tell("hangup");
    let ended = browser.next("the end");
    assert_eq!(ended["ended"]["code"], "hangup", "{ended}");
    let summary = agent.finish();
    assert_eq!(summary["end_reason"]["code"], "hangup", "{summary}");
    behind.kill();
}

fn free_port() -> u16 {
    switchboard_tests::postgres::free_port()
}
