//! Supervision between real engines over the real server: a customer (hum 660 Hz), agent a1
//! (440 Hz) and supervisor sup (770 Hz), each a tone microphone of its own, so what each party
//! hears is read by ear from its decoded audio. Silent monitor: sup hears both sides, nobody
//! hears sup. Whisper: a1 hears sup, the customer does not. Barge: the customer hears sup too.
//! Throughout, the customer's engine has one connection (a1's) and no event of the monitor.
//! The call is a video call: sup also sees a1's camera and the customer's pictures, forwarded
//! by a1's engine as they came (the customer's pattern stamps read in order at sup).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use switchboard_engine::{Event, PeerStats};
use switchboard_protocol::{CallId, CallMedia, MonitorMode};
use switchboard_tests::calls::{Side, a1_with_a_humming_customer, uid};
use switchboard_tests::server::DevServer;

/// At most this many of the 75 blocks in 3 s may show a hum that was not sent: a packet
/// concealed under load can smear a timing mark into a neighbouring bin. A hum heard fills
/// some 70.
const STRAY: u64 = 3;

/// Blocks in which each hum was heard: 440 (a1), 660 (the customer), 770 (sup).
fn hums(s: &PeerStats) -> (u64, u64, u64) {
    (s.audio.tones[0], s.audio.tones[2], s.audio.tones[3])
}

/// What `side` heard from `from` in the call over `secs` seconds (blocks per hum).
async fn heard(side: &Side, call: &CallId, from: &str, secs: u64) -> (u64, u64, u64) {
    let before = hums(&side.stats_from(call, from).await.unwrap());
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let after = hums(&side.stats_from(call, from).await.unwrap());
    (after.0 - before.0, after.1 - before.1, after.2 - before.2)
}

async fn mode(side: &mut Side, want: MonitorMode) {
    side.wait("monitor_mode", |e| match e {
        Event::Monitor { mode, .. } if *mode == want => Some(()),
        _ => None,
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_listens_whispers_and_barges_and_each_party_hears_what_it_should() {
    let server = DevServer::start("").unwrap();
    let (mut a1, mut customer, call) = a1_with_a_humming_customer(&server, CallMedia::Video)
        .await
        .unwrap();

    // sup listens in.
    let mut sup = Side::start_with(&server, "sup", |c| c.microphone = "tone:770".into())
        .await
        .unwrap();
    let monitor = sup
        .engine
        .monitor(uid("a1"), MonitorMode::Listen, CallMedia::Video)
        .await
        .unwrap();
    mode(&mut sup, MonitorMode::Listen).await;
    sup.until_stats(&monitor, "a1", "both sides through a1", |s| {
        s.audio.tones[0] > 10 && s.audio.tones[2] > 10
    })
    .await
    .unwrap();
    let (sup_hears, a1_hears, customer_hears) = tokio::join!(
        heard(&sup, &monitor, "a1", 3),
        heard(&a1, &monitor, "sup", 3),
        heard(&customer, &call, "a1", 3),
    );
    eprintln!(
        "listen, blocks of 440/660/770 Hz in 3 s: sup {sup_hears:?}, a1 from sup {a1_hears:?}, customer {customer_hears:?}"
    );
    assert!(
        sup_hears.0 > 40 && sup_hears.1 > 40,
        "sup hears a1 and the customer: {sup_hears:?}"
    );
    assert!(a1_hears.2 <= STRAY, "a1 heard sup while sup only listened");
    assert!(customer_hears.2 <= STRAY, "the customer heard sup");
    assert!(customer_hears.0 > 40, "the customer still hears a1");
    // And sees: a1's camera (as encoded for the customer) and the customer's pictures on the
    // screen line, both forwarded by a1's engine, the customer's own stamps in order.
    let seen = sup
        .until_stats(&monitor, "a1", "both sides' pictures", |s| {
            s.video.decoded > 30 && s.screen.in_order > 30
        })
        .await
        .unwrap();
    let bridge = a1.stats_from(&monitor, "sup").await.unwrap();
    eprintln!(
        "sup sees: a1's camera {} pictures, the customer's {} ({} in order, {} lost); a1 sent sup {} + {}, of which forwarded {} + {}",
        seen.video.decoded,
        seen.screen.decoded,
        seen.screen.in_order,
        seen.screen.lost,
        bridge.video.sent,
        bridge.screen.sent,
        bridge.video.forwarded,
        bridge.screen.forwarded,
    );
    // Nothing encoded for sup: every picture sent was forwarded.
    assert!(
        bridge.video.sent > 0 && bridge.screen.sent > 0,
        "{bridge:?}"
    );
    assert_eq!(bridge.video.forwarded, bridge.video.sent, "{bridge:?}");
    assert_eq!(bridge.screen.forwarded, bridge.screen.sent, "{bridge:?}");
    assert_eq!(
        (seen.screen.width, seen.screen.height),
        (640, 360),
        "{seen:?}"
    );

    // Whisper: a1 hears sup; the customer does not.
    sup.engine.set_monitor(&monitor, MonitorMode::Whisper);
    mode(&mut a1, MonitorMode::Whisper).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (a1_hears, customer_hears) = tokio::join!(
        heard(&a1, &monitor, "sup", 3),
        heard(&customer, &call, "a1", 3),
    );
    eprintln!("whisper: a1 from sup {a1_hears:?}, customer {customer_hears:?}");
    assert!(a1_hears.2 > 40, "a1 hears the whisper: {a1_hears:?}");
    assert!(customer_hears.2 <= STRAY, "the customer heard the whisper");

    // Barge: the customer hears sup too (mixed into a1's voice by a1's engine).
    sup.engine.set_monitor(&monitor, MonitorMode::Barge);
    mode(&mut a1, MonitorMode::Barge).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let customer_hears = heard(&customer, &call, "a1", 3).await;
    eprintln!("barge: customer {customer_hears:?}");
    assert!(
        customer_hears.2 > 40 && customer_hears.0 > 40,
        "the customer hears sup and a1: {customer_hears:?}"
    );

    // The customer's engine knew nothing of it: one connection, no monitor event.
    while let Ok(e) = customer.events.try_recv() {
        customer.seen.push(e);
    }
    let stats = customer.engine.stats(&call).await;
    assert_eq!(stats.len(), 1, "{stats:?}");
    assert!(
        !customer
            .seen
            .iter()
            .any(|e| matches!(e, Event::Monitor { .. } | Event::Incoming { .. })),
        "the customer saw the monitor"
    );
    sup.engine.hangup(&monitor);
    sup.ended(&monitor).await.unwrap();
    // a1 and the customer go on.
    customer
        .until_stats(&call, "a1", "a1 after the monitor", |s| {
            s.audio.tones[0] > customer_hears.0 + 10
        })
        .await
        .unwrap();
    customer.engine.hangup(&call);
    a1.ended(&call).await.unwrap();
}

/// The same from the command line: a CLI customer (660 Hz), a CLI agent, and `switchboard-cli
/// monitor` as sup, who listens, then whispers, then takes the customer over. Blocking
/// processes, so a plain test.
#[test]
fn the_cli_monitors_whispers_and_takes_over() {
    use switchboard_tests::drive::Cli;
    let server = DevServer::start("").unwrap();
    let agent = Cli::start(
        &server,
        &server.token("a1"),
        &[
            "agent",
            "--ready",
            "--auto-accept",
            "--skill",
            "billing",
            "--duration",
            "30",
        ],
    );
    std::thread::sleep(Duration::from_secs(1));
    let customer = Cli::start(
        &server,
        &server.customer_token("billing"),
        &[
            "--audio-device",
            "tone:660",
            "queue",
            "billing",
            "--duration",
            "14",
        ],
    );
    std::thread::sleep(Duration::from_secs(2));
    let sup = Cli::start(
        &server,
        &server.token("sup"),
        &[
            "--audio-device",
            "tone:770",
            "monitor",
            "a1",
            "--at",
            "3:whisper",
            "--at",
            "6:take-over",
            "--duration",
            "20",
        ],
    );
    let (s, taken) = sup.finish_both();
    eprintln!("sup: {s}\ntaken over: {taken}");
    // The monitor call ends with the take-over; then sup talks to the customer.
    assert_eq!(s["end_reason"]["code"], "transferred", "{s}");
    assert!(taken["audio"]["tones"][2].as_u64().unwrap() > 30, "{taken}");
    let tones = &s["audio"]["tones"];
    assert!(
        tones[0].as_u64().unwrap() > 30 && tones[2].as_u64().unwrap() > 30,
        "sup heard a1 (440 Hz) and the customer (660 Hz): {tones}"
    );
    let c = customer.finish();
    eprintln!("customer: {c}");
    assert_eq!(c["end_reason"]["code"], "hangup", "{c}");
    // The customer heard sup only after the take-over, when sup talked to them directly.
    assert!(c["audio"]["tones"][3].as_u64().unwrap() > 30, "{c}");
    let a = agent.finish();
    assert!(a.to_string().contains("transferred"), "{a}");
}
