//! The history against a real SQLite file: rows from start to end, crash recovery, search,
//! filters, export.

#![allow(clippy::unwrap_used)]
use super::*;

fn call(id: &str, direction: Direction, peer: &str, at: i64) -> NewCall {
    NewCall {
        call_id: id.into(),
        account: "a1@test".into(),
        direction,
        peers: vec![peer.into()],
        media: "video".into(),
        queue: false,
        business: None,
        started_at: at,
    }
}

fn all() -> HistoryQuery {
    HistoryQuery {
        account: "a1@test".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_call_is_a_row_from_its_start_and_complete_at_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let (h, marked) = History::open(&dir.path().join("h.db")).await.unwrap();
    assert_eq!(marked, 0);
    h.started(&call("c1", Direction::Outgoing, "bob", 1_000))
        .await
        .unwrap();
    let row = h.get("c1").await.unwrap().unwrap();
    assert_eq!(row.end_code, None);
    h.answered("c1", 2_000).await.unwrap();
    h.message("c1", 3_000, "bob", "hello there").await.unwrap();
    let quality = serde_json::json!({"quality": 5, "video_decoded": 297});
    h.set_floor("c1", (0, 0), Some("c0")).await.unwrap();
    h.set_floor("c1", (2, 7_500), None).await.unwrap();
    h.ended("c1", 12_000, "hangup", "remote", Some(&quality))
        .await
        .unwrap();
    let row = h.get("c1").await.unwrap().unwrap();
    assert_eq!(row.end_code.as_deref(), Some("hangup"));
    assert_eq!(row.end_side.as_deref(), Some("remote"));
    assert_eq!(row.duration_ms, Some(10_000));
    assert_eq!(row.quality, Some(quality));
    assert_eq!((row.hold_count, row.hold_ms), (2, 7_500));
    assert_eq!(row.consult_of.as_deref(), Some("c0"));
    assert_eq!(h.messages("c1").await.unwrap()[0].text, "hello there");
    // Another account's history is not ours.
    let other = HistoryQuery {
        account: "a2@test".into(),
        ..Default::default()
    };
    assert!(h.query(&other).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_call_left_open_by_a_crash_is_marked_abnormal_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    {
        let (h, _) = History::open(&path).await.unwrap();
        h.started(&call("c1", Direction::Incoming, "cust", 1_000))
            .await
            .unwrap();
        h.answered("c1", 1_500).await.unwrap();
        h.alive("c1", 9_500).await.unwrap();
        h.started(&call("c2", Direction::Outgoing, "bob", 20_000))
            .await
            .unwrap();
        h.ended("c2", 25_000, "no_answer", "remote", None)
            .await
            .unwrap();
        // The app dies here: no `ended` for c1.
    }
    let (h, marked) = History::open(&path).await.unwrap();
    assert_eq!(marked, 1);
    let c1 = h.get("c1").await.unwrap().unwrap();
    assert_eq!(c1.end_code.as_deref(), Some("abnormal"));
    assert_eq!((c1.ended_at, c1.duration_ms), (Some(9_500), Some(8_000)));
    let c2 = h.get("c2").await.unwrap().unwrap();
    assert_eq!(c2.end_code.as_deref(), Some("no_answer"));
    // Nothing is marked twice.
    drop(h);
    assert_eq!(History::open(&path).await.unwrap().1, 0);
}

#[tokio::test]
async fn search_finds_words_parts_of_words_chinese_and_messages() {
    let dir = tempfile::tempdir().unwrap();
    let (h, _) = History::open(&dir.path().join("h.db")).await.unwrap();
    let mut c = call("c1", Direction::Incoming, "customer-7731", 1_000);
    c.queue = true;
    c.business = Some("billing".into());
    h.started(&c).await.unwrap();
    h.set_notes("c1", "客户要求退款，已处理", Some("refund"))
        .await
        .unwrap();
    h.started(&call("c2", Direction::Outgoing, "bob", 2_000))
        .await
        .unwrap();
    h.message("c2", 2_500, "bob", "the invoice number is 4411")
        .await
        .unwrap();
    let find = |text: &str| {
        let h = h.clone();
        let q = HistoryQuery {
            text: Some(text.into()),
            ..all()
        };
        async move {
            h.query(&q)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.call_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(find("7731").await, ["c1"]);
    assert_eq!(find("BILL").await, ["c1"]);
    assert_eq!(find("要求退款").await, ["c1"]);
    assert_eq!(find("退款").await, ["c1"]); // two characters: the LIKE path
    assert_eq!(find("invoice").await, ["c2"]);
    assert_eq!(find("refund").await, ["c1"]);
    assert!(find("nothing like this").await.is_empty());
    // FTS5 syntax in the box is just text.
    assert!(find("\"bob\" OR NEAR(").await.is_empty());
    assert_eq!(find("%").await, Vec::<String>::new());
}

#[tokio::test]
async fn filters_select_missed_incoming_and_media() {
    let dir = tempfile::tempdir().unwrap();
    let (h, _) = History::open(&dir.path().join("h.db")).await.unwrap();
    h.started(&call("in-missed", Direction::Incoming, "x", 1_000))
        .await
        .unwrap();
    h.ended("in-missed", 2_000, "cancelled", "remote", None)
        .await
        .unwrap();
    let mut audio = call("out-audio", Direction::Outgoing, "y", 3_000);
    audio.media = "audio".into();
    h.started(&audio).await.unwrap();
    h.answered("out-audio", 3_500).await.unwrap();
    h.ended("out-audio", 9_000, "hangup", "local", None)
        .await
        .unwrap();
    let ids = |rows: Vec<CallRow>| rows.into_iter().map(|r| r.call_id).collect::<Vec<_>>();
    let missed = HistoryQuery {
        missed: true,
        ..all()
    };
    assert_eq!(ids(h.query(&missed).await.unwrap()), ["in-missed"]);
    let audio_only = HistoryQuery {
        media: Some("audio".into()),
        ..all()
    };
    assert_eq!(ids(h.query(&audio_only).await.unwrap()), ["out-audio"]);
    let outgoing = HistoryQuery {
        direction: Some(Direction::Outgoing),
        since: Some(2_500),
        ..all()
    };
    assert_eq!(ids(h.query(&outgoing).await.unwrap()), ["out-audio"]);
    // Newest first.
    assert_eq!(
        ids(h.query(&all()).await.unwrap()),
        ["out-audio", "in-missed"]
    );
}

#[tokio::test]
async fn csv_export_writes_every_matching_row_and_reports_progress() {
    let dir = tempfile::tempdir().unwrap();
    let (h, _) = History::open(&dir.path().join("h.db")).await.unwrap();
    for i in 0..1_234 {
        let id = format!("c{i}");
        h.started(&call(&id, Direction::Outgoing, "bob", i))
            .await
            .unwrap();
        h.ended(&id, i + 10, "no_answer", "remote", None)
            .await
            .unwrap();
    }
    h.set_notes("c7", "said \"hi\", then, left", None)
        .await
        .unwrap();
    let out = dir.path().join("history.csv");
    let mut seen = Vec::new();
    let n = h
        .export_csv(&all(), &out, |done, total| seen.push((done, total)))
        .await
        .unwrap();
    assert_eq!(n, 1_234);
    assert_eq!(seen.first(), Some(&(0, 1_234)));
    assert_eq!(seen.last(), Some(&(1_234, 1_234)));
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0));
    let mut r = csv::Reader::from_path(&out).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1_234);
    let c7 = rows.iter().find(|r| &r[0] == "c7").unwrap();
    assert_eq!(&c7[13], "said \"hi\", then, left");
    assert_eq!(&c7[10], "no_answer");
    assert!(c7[6].starts_with("1970-01-01T00:00:00.007"), "{}", &c7[6]);
    assert!(!dir.path().join("history.csv.partial").exists());
}
