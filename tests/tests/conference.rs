//! A conference between real engines over the real server: a customer (hum 660 Hz), agent a1
//! (440 Hz) and colleague a2 (550 Hz). a1 consults a2 about the customer, then joins them:
//! a1's engine bridges the consult and the customer's call, so the customer hears a2 and a2
//! the customer, while the customer keeps its one connection. Then a2 leaves (a1 and the
//! customer go on), and in a second conference a1 leaves (a2 gets the customer, warm).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use switchboard_engine::{Event, PeerStats};
use switchboard_protocol::{CallId, CallMedia, EndCode};
use switchboard_tests::calls::{Side, a1_with_a_humming_customer, uid};
use switchboard_tests::server::DevServer;

/// Blocks of 40 ms in which each hum was heard: 440 (a1), 550 (a2), 660 (the customer).
fn hums(s: &PeerStats) -> [u64; 3] {
    [s.audio.tones[0], s.audio.tones[1], s.audio.tones[2]]
}

/// What `side` heard from `from` in `call` over 3 s.
async fn heard(side: &Side, call: &CallId, from: &str) -> [u64; 3] {
    let before = hums(&side.stats_from(call, from).await.unwrap());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = hums(&side.stats_from(call, from).await.unwrap());
    [0, 1, 2].map(|i| after[i] - before[i])
}

/// a1 consults a2 about `call`; a2 answers; a1 joins them. Returns the consult.
async fn conference(a1: &mut Side, a2: &mut Side, call: &CallId) -> CallId {
    let consult = a1.engine.consult(call, uid("a2")).await.unwrap();
    a2.wait("the consult's transport", |e| match e {
        Event::TransportReady { call_id, .. } if *call_id == consult => Some(()),
        _ => None,
    })
    .await
    .unwrap();
    a2.engine.accept(&consult);
    a1.until_stats(&consult, "a2", "a2's voice", |s| s.audio.tones[1] > 10)
        .await
        .unwrap();
    a1.engine.conference(call);
    for side in [&mut *a1, &mut *a2] {
        side.wait("the conference", |e| match e {
            Event::Conference { call_id, of } if *call_id == consult && of == call => Some(()),
            _ => None,
        })
        .await
        .unwrap();
    }
    // Off hold, and what was in flight has played.
    tokio::time::sleep(Duration::from_millis(700)).await;
    consult
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consult_becomes_a_conference_everyone_hears_everyone_and_members_leave() {
    let server = DevServer::start("").unwrap();
    let (mut a1, customer, call) = a1_with_a_humming_customer(&server, CallMedia::Audio)
        .await
        .unwrap();
    let mut a2 = Side::start_with(&server, "a2", |c| c.microphone = "tone:550".into())
        .await
        .unwrap();
    a2.agent_ready(&["support"]);

    let consult = conference(&mut a1, &mut a2, &call).await;
    let them = customer.engine.user().to_string();
    let (customer_hears, a2_hears, a1_hears_customer) = tokio::join!(
        heard(&customer, &call, "a1"),
        heard(&a2, &consult, "a1"),
        heard(&a1, &call, &them),
    );
    eprintln!(
        "conference, blocks of 440/550/660 Hz in 3 s: customer {customer_hears:?}, a2 {a2_hears:?}, a1 from the customer {a1_hears_customer:?}"
    );
    assert!(
        customer_hears[0] > 40 && customer_hears[1] > 40,
        "the customer hears a1 and a2: {customer_hears:?}"
    );
    assert!(
        a2_hears[0] > 40 && a2_hears[2] > 40,
        "a2 hears a1 and the customer: {a2_hears:?}"
    );
    assert!(a1_hears_customer[2] > 40, "{a1_hears_customer:?}");
    assert_eq!(customer.engine.stats(&call).await.len(), 1);

    // a2 leaves: a1 and the customer go on, without a2.
    a2.engine.hangup(&consult);
    a1.ended(&consult).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let customer_hears = heard(&customer, &call, "a1").await;
    eprintln!("after a2 left: customer {customer_hears:?}");
    assert!(customer_hears[0] > 40, "{customer_hears:?}");
    assert!(customer_hears[1] <= 3, "a2 still heard: {customer_hears:?}");

    // A second conference; now a1 leaves, and a2 has the customer (answered at once).
    let consult = conference(&mut a1, &mut a2, &call).await;
    a1.engine.hangup(&call);
    for id in [&consult, &call] {
        let (reason, _) = a1.ended(id).await.unwrap();
        assert_eq!(reason.code, EndCode::Transferred, "{id}");
    }
    customer
        .until_stats(&call, "a2", "a2's voice, directly", |s| {
            s.audio.tones[1] > 40
        })
        .await
        .unwrap();
    customer.engine.hangup(&call);
    let (reason, _) = a2.ended(&call).await.unwrap();
    assert_eq!(reason.code, EndCode::Hangup);
}
