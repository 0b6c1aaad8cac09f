//! The desktop app's commands without a window: the `Console` that the Tauri commands call,
//! against a real server and a real far end. Sign-in, a call with pictures over the video
//! bridge, a message, the far end's hang-up, and the history row it leaves.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use switchboard_console::console::{Console, Ui, UiEvent};
use switchboard_console::history::HistoryQuery;
use switchboard_engine::Event;
use switchboard_protocol::{CallMedia, wire_name};
use switchboard_tests::calls::Side;
use switchboard_tests::server::DevServer;
use tokio::sync::mpsc;

struct ChannelUi(mpsc::UnboundedSender<UiEvent>);

impl Ui for ChannelUi {
    fn emit(&self, event: UiEvent) {
        let _ = self.0.send(event);
    }
}

async fn until<T>(
    rx: &mut mpsc::UnboundedReceiver<UiEvent>,
    what: &str,
    mut pick: impl FnMut(&UiEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let ev = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} within 20 s"))
            .expect("the console stopped");
        if let Some(t) = pick(&ev) {
            return t;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_signs_in_calls_shows_pictures_and_keeps_the_history() {
    let server = DevServer::start("").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let console = Console::open(dir.path(), Arc::new(ChannelUi(tx)))
        .await
        .unwrap();

    // A wrong password and an unreachable server say so.
    let e = console
        .sign_in(&server.addr, "alice", "not-her-password")
        .await
        .unwrap_err();
    assert_eq!(e.code, "denied", "{e:?}");
    let e = console
        .sign_in("127.0.0.1:9", "alice", "alice")
        .await
        .unwrap_err();
    assert_eq!(e.code, "unreachable", "{e:?}");
    let e = console.call(&["bob".into()], CallMedia::Video).await;
    assert_eq!(e.unwrap_err().code, "signed_out");

    let account = console
        .sign_in(&server.addr, "alice", "alice")
        .await
        .unwrap();
    assert_eq!(account.user, "alice");
    let mut bob = Side::start(&server, "bob").await.unwrap();

    let call = console
        .call(&["bob".into()], CallMedia::Video)
        .await
        .unwrap();
    // The row exists from the start.
    let rows = console.history(HistoryQuery::default()).await.unwrap();
    assert_eq!(rows[0].call_id, call);
    assert_eq!(rows[0].end_code, None);

    let answered = bob.answer().await.unwrap();
    assert_eq!(answered.to_string(), call);
    until(&mut rx, "bob's pictures in the stats", |e| match e {
        UiEvent::Engine(Event::Stats { call_id, peers }) if call_id.as_str() == call => peers
            .iter()
            .find(|p| p.user == "bob" && p.video.decoded > 10)
            .map(|_| ()),
        _ => None,
    })
    .await;

    // The video bridge gives bob's tile: the pattern's own frame numbers, going up.
    let ep = console.video_endpoint().await.unwrap();
    let url = format!(
        "{}/remote/{call}/bob?secret={}&w=640&h=360",
        ep.url, ep.secret
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let mut numbers = Vec::new();
    while numbers.len() < 10 {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a picture within 5 s")
            .unwrap()
            .unwrap();
        let b = msg.into_data();
        assert_eq!(&b[..4], b"SBV1");
        assert_eq!(u16::from_le_bytes([b[4], b[5]]), 640);
        numbers.push(u32::from_le_bytes(b[12..16].try_into().unwrap()));
    }
    assert!(numbers.windows(2).all(|w| w[1] > w[0]), "{numbers:?}");

    console.send_message(&call, "hello bob").await.unwrap();
    let cid = switchboard_protocol::CallId::new(call.clone()).unwrap();
    bob.wait("alice's message", |e| match e {
        switchboard_engine::Event::CallMessage { text, .. } => (text == "hello bob").then_some(()),
        _ => None,
    })
    .await
    .unwrap();

    // Files both ways over the data channel, each only once its receiver accepts it: bob's is
    // offered, nothing is saved until the agent says yes, then it lands in the profile's
    // `received` folder; ours reaches bob whole. Only such files open from the UI.
    let data = Arc::new(
        (0..200_000u32)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let sender = bob.engine.clone();
    let (c, d) = (cid.clone(), data.clone());
    let sending = tokio::spawn(async move {
        sender
            .send_file(
                &c,
                &switchboard_tests::calls::uid("alice"),
                "../报价单.bin",
                d,
            )
            .await
    });
    let (from, id, size) = until(&mut rx, "bob's offer", |e| match e {
        UiEvent::Engine(Event::FileOffered { from, id, size, .. }) => {
            Some((from.to_string(), id.clone(), *size))
        }
        _ => None,
    })
    .await;
    assert_eq!(size, data.len() as u64);
    // Left unanswered, nothing arrives and nothing is saved.
    let unanswered = tokio::time::timeout(Duration::from_millis(1500), async {
        loop {
            match rx.recv().await {
                Some(
                    UiEvent::FileReceived { .. } | UiEvent::Engine(Event::FileProgress { .. }),
                )
                | None => {
                    return;
                }
                Some(_) => {}
            }
        }
    })
    .await;
    assert!(unanswered.is_err(), "the file came without the agent's yes");
    let received = console.received_dir();
    assert!(
        std::fs::read_dir(&received).map_or(true, |mut d| d.next().is_none()),
        "nothing is saved before the agent accepts"
    );
    console.answer_file(&call, &from, &id, true).await.unwrap();
    let path = until(&mut rx, "bob's file", |e| match e {
        UiEvent::FileReceived { path, .. } => Some(path.clone()),
        _ => None,
    })
    .await;
    sending.await.unwrap().unwrap();
    assert!(path.ends_with("received/报价单.bin"), "{path}");
    assert_eq!(std::fs::read(&path).unwrap(), *data);
    assert_eq!(console.open_file("/etc/passwd").unwrap_err().code, "file");
    let answer = async {
        let id = bob
            .wait("alice's offer", |e| match e {
                switchboard_engine::Event::FileOffered { id, .. } => Some(id.clone()),
                _ => None,
            })
            .await
            .unwrap();
        bob.engine
            .answer_file(&cid, &switchboard_tests::calls::uid("alice"), &id, true)
            .await
            .unwrap();
    };
    let (sent, ()) = tokio::join!(
        console.send_file(&call, "bob", "/home/x/contract.txt", b"signed".to_vec()),
        answer
    );
    sent.unwrap();
    let got = bob
        .wait("alice's file", |e| match e {
            switchboard_engine::Event::FileReceived { name, data, .. } => {
                Some((name.clone(), data.to_vec()))
            }
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(got, ("contract.txt".to_owned(), b"signed".to_vec()));

    bob.engine.hangup(&cid);
    let (code, side) = until(&mut rx, "the end", |e| match e {
        UiEvent::Engine(Event::Ended {
            call_id, reason, ..
        }) if call_id.as_str() == call => Some((wire_name(&reason.code), wire_name(&reason.side))),
        _ => None,
    })
    .await;
    assert_eq!((code.as_str(), side.as_str()), ("hangup", "remote"));

    let row = console
        .history(HistoryQuery::default())
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.call_id == call)
        .unwrap();
    assert_eq!(row.direction, "outgoing");
    assert_eq!(row.peers, ["bob"]);
    assert_eq!(row.end_code.as_deref(), Some("hangup"));
    assert_eq!(row.end_side.as_deref(), Some("remote"));
    assert!(row.duration_ms.unwrap() > 0);
    let quality = row.quality.unwrap();
    assert!(quality["members"][0]["video"]["decoded"].as_u64().unwrap() > 10);
    let found = console
        .history(HistoryQuery {
            text: Some("hello".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        console.history_messages(&call).await.unwrap()[0].text,
        "hello bob"
    );
    console.sign_out().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ringer_rings_until_answered_and_an_auto_answer_announces_itself() {
    use switchboard_console::console::{AutoAnswer, Preferences};
    use switchboard_media::Cue;

    let server = DevServer::start("").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let console = Console::open(dir.path(), Arc::new(ChannelUi(tx)))
        .await
        .unwrap();
    let s = console.settings();
    let prefs = Preferences {
        auto_answer: AutoAnswer::Always,
        screen_pop_url: String::new(),
        screen_pop_command: String::new(),
        ringer: "meter".into(),
        ring_volume: 60,
        announce_tone: true,
        language: "zh-CN".into(),
        shortcuts: s.preferences.shortcuts.clone(),
        recordings_dir: dir.path().join("rec").display().to_string(),
        record_media: switchboard_media::RecordMedia::Both,
        record_watermark: true,
    };
    // Nonsense is refused and changes nothing.
    let loud = Preferences {
        ring_volume: 101,
        ..prefs.clone()
    };
    assert_eq!(console.set_preferences(loud).unwrap_err().code, "bad_input");
    let nowhere = Preferences {
        ringer: "audio:no-such-card".into(),
        ..prefs.clone()
    };
    let e = console.set_preferences(nowhere).unwrap_err();
    assert!(e.message.contains("no-such-card"), "{e:?}");
    assert_eq!(console.settings().preferences.ring_volume, 80);
    console.set_preferences(prefs).unwrap();
    // Remembered across a restart.
    let again = Console::open(dir.path(), Arc::new(ChannelUi(mpsc::unbounded_channel().0)))
        .await
        .unwrap();
    assert_eq!(
        (
            again.settings().preferences.ring_volume,
            again.settings().preferences.ringer.as_str()
        ),
        (60, "meter")
    );
    drop(again);

    // The speaker test plays its 1.12 s on the meter, at a level it measures.
    let played = console.test_sound(Cue::SpeakerTest, None).await.unwrap();
    assert_eq!((played.device.as_str(), played.played_ms), ("meter", 1120));
    let level = played.level_dbfs.unwrap();
    assert!((-20.0..-6.0).contains(&level), "{level}");
    let e = console
        .test_sound(Cue::SpeakerTest, Some("audio:no-such-card"))
        .await
        .unwrap_err();
    assert_eq!(e.code, "device");

    // The microphone meter hears the tone microphone.
    console.mic_meter(true, None).unwrap();
    let dbfs = until(&mut rx, "a microphone level", |e| match e {
        UiEvent::MicLevel { dbfs } => Some(*dbfs),
        _ => None,
    })
    .await;
    console.mic_meter(false, None).unwrap();
    assert!((-40.0..0.0).contains(&dbfs), "{dbfs}");

    console
        .sign_in(&server.addr, "alice", "alice")
        .await
        .unwrap();
    let bob = Side::start(&server, "bob").await.unwrap();
    let call = bob
        .engine
        .call(
            vec![switchboard_tests::calls::uid("alice")],
            CallMedia::Audio,
        )
        .await
        .unwrap();
    let mut sounds = Vec::new();
    while sounds.len() < 3 {
        let s = until(&mut rx, "the ringer and the announce tone", |e| match e {
            UiEvent::Sound {
                cue,
                device,
                playing,
            } => Some((*cue, device.clone(), *playing)),
            _ => None,
        })
        .await;
        sounds.push(s);
    }
    assert_eq!(
        sounds,
        [
            (Cue::Ring, "meter".to_owned(), true),
            (Cue::Ring, String::new(), false),
            (Cue::Announce, "meter".to_owned(), true),
        ]
    );
    until(&mut rx, "alice in the call", |e| match e {
        UiEvent::Engine(Event::FirstMedia { call_id, .. }) if *call_id == call => Some(()),
        _ => None,
    })
    .await;

    // Recording from the console: into the configured folder, stopped by hand, kept in the
    // call's history row; an unwritable folder is a clear error and the call goes on.
    let id = call.to_string();
    let path = console.record(&id, true).await.unwrap().unwrap();
    assert!(
        path.starts_with(&dir.path().join("rec").display().to_string()),
        "{path}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        console.record(&id, false).await.unwrap(),
        Some(path.clone())
    );
    until(&mut rx, "the recording in the history", |e| match e {
        UiEvent::HistoryChanged { call_id } if *call_id == id => Some(()),
        _ => None,
    })
    .await;
    let row = console
        .history(HistoryQuery::default())
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.call_id == id)
        .unwrap();
    assert_eq!(row.recording_path.as_deref(), Some(path.as_str()));
    assert!(std::fs::metadata(&path).unwrap().len() > 10_000);
    let mut p = console.settings().preferences;
    p.recordings_dir = "/proc/no-such-folder".into();
    console.set_preferences(p).unwrap();
    assert_eq!(
        console.record(&id, true).await.unwrap_err().code,
        "recording"
    );
    bob.engine.hangup(&call);
    console.sign_out().await;
}
