//! The store in both dialects: SQLite (the embedded default) and a real PostgreSQL (what several
//! nodes share). The same operations give the same answers, and the two migration directories
//! make the same tables.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use common::postgres::Postgres;
use sqlx::Row;
use switchboard_protocol::{
    Business, CallId, CallKind, CallMedia, EndCode, EndReason, Label, MessageId, MissedCall,
    ReceivedMessage, Role, Side, Skill, Text, UserId,
};
use switchboard_server::core::{
    CallSummary, LegRecord, QueueSummary, Record, TransferKind, UserKey, Waiting,
};
use switchboard_server::store::{AccountRow, Store};

fn key(user: &str) -> UserKey {
    UserKey::new(Label::new("acme").unwrap(), UserId::new(user).unwrap())
}

fn message(id: &str, seq: u64, at: u64) -> ReceivedMessage {
    ReceivedMessage {
        msg_id: MessageId::new(id).unwrap(),
        from: UserId::new("amy").unwrap(),
        seq,
        text: Text::new(format!("hello {seq}")).unwrap(),
        sent_at: at,
    }
}

/// What the store answers after one day's worth of everything, as comparable text.
async fn a_day_of_records(store: &Store) -> Vec<String> {
    let mut seen = Vec::new();
    // Accounts: made, changed (the password kept, skills replaced), disabled and changed again.
    let mut amy = AccountRow::new(key("amy"), Role::Agent);
    amy.skills = vec![Skill {
        business: Business::new("billing").unwrap(),
        level: 3,
    }];
    store
        .put_account(&amy, Some("amy's password"), 1_000)
        .await
        .unwrap();
    amy.skills.push(Skill {
        business: Business::new("sales").unwrap(),
        level: 5,
    });
    amy.queue_priority = 2;
    store.put_account(&amy, None, 2_000).await.unwrap();
    let bob = AccountRow::new(key("bob"), Role::User);
    store
        .put_account(&bob, Some("bob's password"), 1_000)
        .await
        .unwrap();
    assert!(
        store
            .set_password(&key("bob"), "new password", 5_000)
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_password(&key("nobody"), "x", 5_000)
            .await
            .unwrap()
    );
    let cy = AccountRow::new(key("cy"), Role::User);
    store
        .put_account(&cy, Some("cy's password"), 1_000)
        .await
        .unwrap();
    assert!(store.set_disabled(&key("cy"), true, 7_000).await.unwrap());
    store
        .put_account(&cy, Some("another"), 8_000)
        .await
        .unwrap();
    seen.push(format!(
        "amy: {:?}",
        store.account(&key("amy")).await.unwrap()
    ));
    seen.push(format!(
        "cy: {:?}",
        store.account(&key("cy")).await.unwrap()
    ));
    for (user, password) in [
        ("amy", "amy's password"),
        ("bob", "bob's password"),
        ("bob", "new password"),
        ("cy", "another"),
        ("nobody", "x"),
    ] {
        let ok = store.check_password(&key(user), password).await.unwrap();
        seen.push(format!("{user}/{password}: {}", ok.is_some()));
    }
    let mut live = store.accounts().await.unwrap();
    live.sort_by(|a, b| a.0.user.cmp(&b.0.user));
    seen.push(format!("live: {live:?}"));

    // A queue call: its legs, the call written twice (a transfer rewrites it), a wrap-up.
    let call = CallId::new("c1").unwrap();
    let reason = EndReason::new(EndCode::Hangup, Side::Remote);
    let mut summary = CallSummary {
        call_id: call.clone(),
        realm: Label::new("acme").unwrap(),
        kind: CallKind::Queue,
        media: CallMedia::Video,
        from: UserId::new("cust1").unwrap(),
        created_at: 10_000,
        answered_at: Some(12_000),
        ended_at: 70_000,
        reason,
        queue: Some(QueueSummary {
            business: Business::new("billing").unwrap(),
            priority: 1,
            wait_ms: 2_000,
            agent: None,
            transfer: Some(TransferKind::Warm),
            consulted: vec![UserId::new("bob").unwrap(), UserId::new("cy").unwrap()],
            conferenced: vec![UserId::new("cy").unwrap()],
        }),
        hold_count: 2,
        hold_ms: 45_000,
    };
    let leg = LegRecord {
        call_id: call.clone(),
        user: key("amy"),
        role: Role::Agent,
        invited_at: 11_000,
        joined_at: Some(12_000),
        left_at: 70_000,
        reason,
    };
    store
        .write(&[Record::Leg(leg), Record::Call(summary.clone())])
        .await
        .unwrap();
    summary.queue.as_mut().unwrap().agent = Some(UserId::new("amy").unwrap());
    store
        .write(&[
            Record::Call(summary),
            Record::WrapUp {
                call_id: call.clone(),
                agent: key("amy"),
                disposition: Some(Label::new("resolved").unwrap()),
                notes: Some("asked about an invoice".into()),
                at: 80_000,
            },
        ])
        .await
        .unwrap();
    // Messages (one repeated: written once), missed calls, some delivered, one dropped.
    let missed = |id: &str, at| MissedCall {
        call_id: CallId::new(id).unwrap(),
        from: UserId::new("amy").unwrap(),
        media: CallMedia::Audio,
        at,
        reason: EndReason::new(EndCode::CalleeOffline, Side::Server),
    };
    store
        .write(&[
            Record::Message {
                from: key("amy"),
                to: key("bob"),
                message: message("m1", 1, 20_000),
                delivered: false,
            },
            Record::Message {
                from: key("amy"),
                to: key("bob"),
                message: message("m1", 1, 20_000),
                delivered: false,
            },
            Record::Message {
                from: key("amy"),
                to: key("bob"),
                message: message("m2", 2, 21_000),
                delivered: false,
            },
            Record::Message {
                from: key("amy"),
                to: key("cy"),
                message: message("m3", 1, 22_000),
                delivered: true,
            },
            Record::MissedCall {
                user: key("bob"),
                call: missed("c2", 23_000),
            },
            Record::MissedCall {
                user: key("cy"),
                call: missed("c3", 24_000),
            },
            Record::Dropped {
                user: key("bob"),
                message: Some(MessageId::new("m1").unwrap()),
                call: None,
            },
            Record::Delivered { user: key("cy") },
        ])
        .await
        .unwrap();
    let waiting: Vec<(UserKey, Waiting)> = store.waiting().await.unwrap();
    seen.push(format!("waiting: {waiting:?}"));
    let mut seqs = store.message_seqs().await.unwrap();
    seqs.sort();
    seen.push(format!("seqs: {seqs:?}"));

    // The rows as written.
    let calls = sqlx::query(
        "SELECT call_id, kind, media, from_user, answered_at, end_code, end_side, business, priority, wait_ms, agent, hold_count, hold_ms, transfer, consulted, conferenced FROM calls",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    for r in &calls {
        seen.push(format!(
            "call {} {} {} {} {:?} {} {} {:?} {:?} {:?} {:?} hold {}×, {} ms, {:?} after {:?}, conference {:?}",
            r.get::<String, _>(0),
            r.get::<String, _>(1),
            r.get::<String, _>(2),
            r.get::<String, _>(3),
            r.get::<Option<i64>, _>(4),
            r.get::<String, _>(5),
            r.get::<String, _>(6),
            r.get::<Option<String>, _>(7),
            r.get::<Option<i64>, _>(8),
            r.get::<Option<i64>, _>(9),
            r.get::<Option<String>, _>(10),
            r.get::<i64, _>(11),
            r.get::<i64, _>(12),
            r.get::<Option<String>, _>(13),
            r.get::<Option<String>, _>(14),
            r.get::<Option<String>, _>(15),
        ));
    }
    for table in ["call_legs", "wrap_ups", "messages", "missed_calls"] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(store.pool())
            .await
            .unwrap();
        seen.push(format!("{table}: {n}"));
    }
    let delivered: Vec<(String, i64)> =
        sqlx::query_as("SELECT msg_id, delivered FROM messages ORDER BY msg_id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    seen.push(format!("delivered: {delivered:?}"));

    // A cluster's record mark moves only from the value its writer read: of two lease holders
    // overlapping for a moment, one writes.
    let mut moved = Vec::new();
    for (from, to) in [
        (None, "1-0"),
        (None, "2-0"),
        (Some("0-0"), "2-0"),
        (Some("1-0"), "2-0"),
    ] {
        let ok = store
            .write_marked(&[], Some(("records", from, to)))
            .await
            .unwrap();
        moved.push(ok);
    }
    assert_eq!(moved, [true, false, false, true]);
    seen.push(format!("mark: {:?}", store.mark("records").await.unwrap()));
    seen
}

#[tokio::test]
async fn postgresql_keeps_accounts_and_records_as_sqlite_does() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open(dir.path()).await.unwrap();
    let pg = Postgres::start();
    let postgres = Store::connect(&pg.url).await.unwrap();
    let a = a_day_of_records(&sqlite).await;
    let b = a_day_of_records(&postgres).await;
    assert_eq!(a, b);
    // And what they hold is what was meant, not only alike.
    let text = a.join("\n");
    for expected in [
        "amy/amy's password: true",
        "bob/bob's password: false",
        "bob/new password: true",
        "cy/another: false",
        "call c1 queue video cust1 Some(12000) hangup remote Some(\"billing\") Some(1) Some(2000) Some(\"amy\") hold 2×, 45000 ms, Some(\"warm\") after Some(\"bob cy\"), conference Some(\"cy\")",
        "messages: 3",
        "delivered: [(\"m1\", 2), (\"m2\", 0), (\"m3\", 1)]",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    assert!(text.contains("disabled: true"), "{text}");
    postgres.close().await;
    // Opening again runs no migration twice.
    let again = Store::connect(&pg.url).await.unwrap();
    assert!(again.account(&key("amy")).await.unwrap().is_some());
}

#[tokio::test]
async fn both_dialects_migrations_make_the_same_tables() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open(dir.path()).await.unwrap();
    let pg = Postgres::start();
    let postgres = Store::connect(&pg.url).await.unwrap();
    let columns_sqlite: BTreeSet<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE '\\_%' ESCAPE '\\' AND m.name NOT LIKE 'sqlite%'",
    )
    .fetch_all(sqlite.pool())
    .await
    .unwrap()
    .into_iter()
    .collect();
    let columns_pg: BTreeSet<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name NOT LIKE '\\_%'",
    )
    .fetch_all(postgres.pool())
    .await
    .unwrap()
    .into_iter()
    .collect();
    assert!(columns_sqlite.len() > 40, "{columns_sqlite:?}");
    assert_eq!(columns_sqlite, columns_pg);
}

/// The server with `[store] url` on PostgreSQL: what waits for a signed-out user survives a
/// restart there (the dev accounts, the messages and the missed call are PostgreSQL's rows),
/// and nothing is written to a SQLite file.
#[tokio::test]
async fn the_server_keeps_what_waits_in_postgresql_across_a_restart() {
    use common::{Client, Server};
    use switchboard_protocol::{ClientMessage, SendMessage, ServerMessage};

    let pg = Postgres::start();
    let mut server = Server::start(&format!(
        "ring_timeout_secs = 1\n[store]\nurl = \"{}\"\n",
        pg.url
    ));
    let mut alice = Client::user(&server, "alice").await;
    alice
        .send(ClientMessage::Message(SendMessage {
            to: UserId::new("carol").unwrap(),
            text: Text::new("kept in postgres").unwrap(),
        }))
        .await;
    alice
        .expect(|m| matches!(m, ServerMessage::MessageSent(_)).then_some(()))
        .await;
    let call = alice.call(&["carol"], CallMedia::Audio).await;
    assert_eq!(
        alice.ended(&call).await,
        EndReason::new(EndCode::CalleeOffline, Side::Remote)
    );
    drop(alice);
    server.restart();
    assert!(!server.data_dir().join("switchboard.db").exists());

    let mut carol = Client::user(&server, "carol").await;
    let missed = carol
        .expect(|m| match m {
            ServerMessage::MissedCalls(c) => Some(c.calls.clone()),
            _ => None,
        })
        .await;
    assert_eq!(missed.len(), 1);
    assert_eq!(missed[0].call_id, call);
    let text = carol
        .expect(|m| match m {
            ServerMessage::Message(x) => Some(x.text.to_string()),
            _ => None,
        })
        .await;
    assert_eq!(text, "kept in postgres");
    assert!(server.stop().success());
    let store = Store::connect(&pg.url).await.unwrap();
    let calls: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM calls WHERE call_id = $1")
        .bind(call.as_str())
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(calls, 1);
}
