//! The customer widget in headless Chromium (Debian's `chromium` through playwright-core,
//! `tests/browser/widget.mjs`) against the real server and a `switchboard-cli` agent: the
//! customer waits behind another who gives up (position 2, then 1), an agent takes the call,
//! media flows both ways for 10 s (the browser's own `getStats()` and the agent's stats), and
//! a hang-up from the browser ends both sides with the right reason.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use switchboard_tests::browser::Browser;
use switchboard_tests::drive::Cli;
use switchboard_tests::server::DevServer;

#[test]
fn a_browser_customer_waits_is_answered_by_an_agent_and_media_flows_both_ways() {
    let server = DevServer::start("").unwrap();
    // An agent of the business is signed in but not ready: callers wait in the queue.
    let _busy = Cli::start(
        &server,
        &server.token("a1"),
        &["agent", "--skill", "billing", "--duration", "60"],
    );
    // Another customer waits first, and gives up after a few seconds.
    let ahead = Cli::start(
        &server,
        &server.customer_token("billing"),
        &["queue", "billing", "--give-up", "5"],
    );
    let mut browser = Browser::start(&server, "billing", &[]);
    assert_eq!(browser.next("a queue position")["position"], 2);
    assert_eq!(browser.next("a new queue position")["position"], 1);
    let ahead = ahead.finish();
    assert_eq!(ahead["end_reason"]["code"], "queue_abandoned", "{ahead}");

    // Another agent goes ready and takes the call.
    let agent = Cli::start(
        &server,
        &server.token("a2"),
        &[
            "agent",
            "--ready",
            "--auto-accept",
            "--skill",
            "billing",
            "--duration",
            "22",
        ],
    );
    assert_eq!(browser.next("the answer")["phase"], "in_call");
    let first = browser.next("the first picture")["first_frame_ms"]
        .as_u64()
        .unwrap();
    eprintln!("browser: accept → first frame from the agent {first} ms");
    // 10 s of the agent's pictures and voice, counted by Chromium itself.
    let media = browser.next("the media figures");
    let decoded = media["video_decoded"].as_u64().unwrap();
    assert!(
        decoded > 150,
        "Chromium decoded {decoded} pictures in 10 s: {media}"
    );
    assert_eq!(media["video_size"], "640x360", "{media}");
    assert!(
        media["audio_energy"].as_f64().unwrap() > 0.0,
        "no voice: {media}"
    );
    // Both ways H.264 Constrained Baseline, packetization mode 1 (what OpenH264 produces), and
    // Opus.
    let codecs = media["codecs"].as_str().unwrap();
    eprintln!("browser: negotiated {codecs}");
    for want in [
        "in video/H264",
        "out video/H264",
        "in audio/opus",
        "out audio/opus",
    ] {
        assert!(codecs.contains(want), "{want} not in {codecs}");
    }
    assert!(codecs.contains("profile-level-id=42e01f"), "{codecs}");

    // The customer hangs up: both sides end, each with its side of the reason.
    browser.tell("hangup");
    let ended = browser.next("the end");
    assert_eq!(ended["ended"]["code"], "hangup", "{ended}");
    assert_eq!(ended["ended"]["side"], "local", "{ended}");
    let summary = agent.finish();
    eprintln!("agent: {summary}");
    assert_eq!(summary["end_reason"]["code"], "hangup", "{summary}");
    assert_eq!(summary["end_reason"]["side"], "remote", "{summary}");
    // Chromium's fake camera, decoded by the agent's OpenH264.
    let from_browser = summary["video"]["decoded"].as_u64().unwrap();
    assert!(
        from_browser > 150,
        "the agent decoded {from_browser}: {summary}"
    );
    eprintln!(
        "agent: accept → first frame from the browser {} ms",
        summary["setup_ms"]["accept_to_first_frame"]
    );
}

#[test]
fn a_browser_customer_in_a_voice_call_chats_shares_the_screen_and_the_agent_hangs_up() {
    let server = DevServer::start("").unwrap();
    // The agent says hello once media flows and hangs up after 8 s.
    let agent = Cli::start(
        &server,
        &server.token("a2"),
        &[
            "--say",
            "Hello, this is the agent",
            "agent",
            "--ready",
            "--auto-accept",
            "--skill",
            "billing",
            "--call-duration",
            "8",
            "--duration",
            "14",
        ],
    );
    let browser = Browser::start(
        &server,
        "billing",
        &[
            ("SAY", "Hello from the widget"),
            ("SHARE", "1"),
            ("STAY_MS", "2000"),
            // A voice call: the customer's screen is its only video track, yet the screen.
            ("MEDIA", "audio"),
        ],
    );
    assert_eq!(browser.until("phase")["phase"], "in_call");
    let chat = browser.until("chat");
    let lines: Vec<&str> = chat["chat"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l.as_str())
        .collect();
    assert!(lines.contains(&"Hello, this is the agent"), "{chat}");
    assert!(lines.contains(&"Hello from the widget"), "{chat}");
    assert_eq!(browser.until("sharing")["sharing"], true);
    browser.until("video_decoded");
    // The agent hangs up: the customer sees it was the other side.
    let ended = browser.until("ended");
    assert_eq!(ended["ended"]["code"], "hangup", "{ended}");
    assert_eq!(ended["ended"]["side"], "remote", "{ended}");
    let summary = agent.finish();
    eprintln!("agent: {summary}");
    assert_eq!(summary["end_reason"]["code"], "hangup", "{summary}");
    assert_eq!(summary["end_reason"]["side"], "local", "{summary}");
    let said = summary["chat"].to_string();
    assert!(said.contains(": Hello from the widget"), "{summary}");
    // The customer's screen (Chromium's fake display) reached the agent on its own track.
    let screen = summary["screen"]["decoded"].as_u64().unwrap();
    assert!(
        screen > 5,
        "the agent decoded {screen} screen pictures: {summary}"
    );
    assert_eq!(summary["video"]["decoded"], 0, "{summary}");
}

#[test]
fn a_browser_calls_a_desktop_user_directly() {
    let server = DevServer::start("").unwrap();
    // Bob answers the first call and stays 6 s.
    let bob = Cli::start(
        &server,
        &server.token("bob"),
        &["answer", "--duration", "6"],
    );
    let browser = Browser::start(&server, "billing", &[("CALL", "bob"), ("STAY_MS", "3000")]);
    assert_eq!(browser.until("phase")["phase"], "in_call");
    let first = browser.until("first_frame_ms")["first_frame_ms"]
        .as_u64()
        .unwrap();
    eprintln!("browser → bob: accept → first frame from bob {first} ms");
    let media = browser.until("video_decoded");
    assert!(media["video_decoded"].as_u64().unwrap() > 30, "{media}");
    let ended = browser.until("ended");
    assert_eq!(ended["ended"]["code"], "hangup", "{ended}");
    assert_eq!(ended["ended"]["side"], "remote", "{ended}");
    let summary = bob.finish();
    eprintln!("bob: {summary}");
    assert_eq!(summary["end_reason"]["code"], "hangup", "{summary}");
    assert!(
        summary["video"]["decoded"].as_u64().unwrap() > 30,
        "{summary}"
    );
}

#[test]
fn the_agent_who_takes_a_rung_out_call_offers_and_chromium_answers() {
    // The first agent offered the call lets it ring out (RONA after 4 s): it had the browser's
    // offer, so the second agent offers instead, and Chromium answers our engine's SDP.
    let server = DevServer::start("rona_secs = 4\n").unwrap();
    let _away = Cli::start(
        &server,
        &server.token("a1"),
        &["agent", "--ready", "--skill", "billing", "--duration", "30"],
    );
    // Longest idle is offered first: a1.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let agent = Cli::start(
        &server,
        &server.token("a2"),
        &[
            "agent",
            "--ready",
            "--auto-accept",
            "--skill",
            "billing",
            "--call-duration",
            "6",
            "--duration",
            "14",
        ],
    );
    let browser = Browser::start(&server, "billing", &[("STAY_MS", "3000")]);
    assert_eq!(browser.until("phase")["phase"], "in_call");
    browser.until("first_frame_ms");
    let media = browser.until("video_decoded");
    assert!(media["video_decoded"].as_u64().unwrap() > 30, "{media}");
    assert!(media["audio_energy"].as_f64().unwrap() > 0.0, "{media}");
    let ended = browser.until("ended");
    assert_eq!(ended["ended"]["side"], "remote", "{ended}");
    let summary = agent.finish();
    eprintln!("agent: {summary}");
    assert_eq!(summary["end_reason"]["code"], "hangup", "{summary}");
    assert!(
        summary["video"]["decoded"].as_u64().unwrap() > 30,
        "{summary}"
    );
}

#[test]
fn the_widget_and_its_embed_script_are_served() {
    let server = DevServer::start("").unwrap();
    let get = |path: &str| {
        let mut r = ureq::get(format!("{}{path}", server.http()))
            .call()
            .unwrap();
        let kind = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        (
            kind.unwrap_or_default(),
            r.body_mut().read_to_string().unwrap(),
        )
    };
    let (kind, page) = get("/widget/");
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(page.contains(r#"<div id="widget">"#), "{page}");
    // Any other path under /widget/ is the page too (a company may link deeper).
    assert!(get("/widget/contact").1.contains(r#"<div id="widget">"#));
    // A missing file is missing (a page must not run as a script).
    let missing = ureq::get(format!("{}/widget/assets/old-build.js", server.http())).call();
    assert!(
        matches!(missing, Err(ureq::Error::StatusCode(404))),
        "{missing:?}"
    );
    let (kind, script) = get("/widget/embed.js");
    assert!(kind.contains("javascript"), "{kind}");
    assert!(
        script.contains("display-capture"),
        "the frame may not capture the screen"
    );
}

#[test]
fn an_agent_holds_a_browser_customer_who_sees_on_hold_and_hears_music_not_the_agent() {
    let server = DevServer::start("").unwrap();
    let agent = Cli::start(
        &server,
        &server.token("a1"),
        &[
            "--hold",
            "2:4",
            "agent",
            "--ready",
            "--auto-accept",
            "--skill",
            "billing",
            "--call-duration",
            "9",
            "--duration",
            "16",
        ],
    );
    let browser = Browser::start(&server, "billing", &[("HOLD", "1"), ("STAY_MS", "500")]);
    assert_eq!(browser.until("phase")["phase"], "in_call");
    browser.until("first_frame_ms");
    let hold = browser.until("hold");
    eprintln!("browser on hold: {hold}");
    let hold = &hold["hold"];
    assert!(hold["text"].as_str().unwrap().contains("On hold"), "{hold}");
    // The agent's camera stopped; the music played (Chromium's own totalAudioEnergy).
    assert_eq!(hold["video_decoded"], 0, "{hold}");
    assert!(hold["audio_energy"].as_f64().unwrap() > 0.01, "{hold}");
    // After the hold the call goes on; the agent hangs up after 9 s.
    browser.until("video_decoded");
    let ended = browser.until("ended");
    assert_eq!(ended["ended"]["code"], "hangup", "{ended}");
    let summary = agent.finish();
    assert_eq!(summary["hold"]["count"], 1, "{summary}");
    let ms = summary["hold"]["ms"].as_u64().unwrap();
    assert!((3_500..8_000).contains(&ms), "{ms} ms on hold: {summary}");
}

#[test]
fn an_agent_consults_a_colleague_and_hands_a_browser_customer_over_warm() {
    let server = DevServer::start("").unwrap();
    let a1 = Cli::start(
        &server,
        &server.token("a1"),
        &[
            "--consult",
            "a2:2:transfer",
            "agent",
            "--ready",
            "--auto-accept",
            "--skill",
            "billing",
            "--duration",
            "14",
        ],
    );
    // The colleague serves another line: the customer is not routed to them.
    let a2 = Cli::start(
        &server,
        &server.token("a2"),
        &[
            "agent",
            "--ready",
            "--auto-accept",
            "--skill",
            "support",
            "--call-duration",
            "5",
            "--duration",
            "18",
        ],
    );
    let browser = Browser::start(&server, "billing", &[("HOLD", "1"), ("STAY_MS", "2000")]);
    assert_eq!(browser.until("phase")["phase"], "in_call");
    browser.until("first_frame_ms");
    // On hold through the consult: nothing of either agent, the music.
    let hold = browser.until("hold");
    eprintln!("browser during the consult: {hold}");
    assert_eq!(hold["hold"]["video_decoded"], 0, "{hold}");
    assert!(
        hold["hold"]["audio_energy"].as_f64().unwrap() > 0.01,
        "{hold}"
    );
    // Then the colleague's pictures (a fresh connection Chromium answers), until a2 hangs up.
    let media = browser.until("video_decoded");
    assert!(media["video_decoded"].as_u64().unwrap() > 20, "{media}");
    let ended = browser.until("ended");
    assert_eq!(ended["ended"]["code"], "hangup", "{ended}");
    assert_eq!(ended["ended"]["side"], "remote", "{ended}");
    let first = a1.finish();
    eprintln!("a1: {first}");
    assert_eq!(first["end_reason"]["code"], "transferred", "{first}");
    assert_eq!(first["consult"]["answered"], true, "{first}");
    assert_eq!(first["consult"]["done"], "transfer", "{first}");
    assert_eq!(first["consult"]["end_code"], "transferred", "{first}");
    let second = a2.finish();
    eprintln!("a2: {second}");
    assert_eq!(second["end_reason"]["code"], "hangup", "{second}");
    assert!(
        second["video"]["decoded"].as_u64().unwrap() > 20,
        "{second}"
    );
}

/// MONITOR's half-second lines of what the customer heard, until the media figures (also
/// returned).
fn ears(browser: &Browser) -> (Vec<serde_json::Value>, serde_json::Value) {
    let mut ears = Vec::new();
    loop {
        let v = browser.next("what the customer heard");
        match v.get("ear") {
            Some(ear) => ears.push(ear.clone()),
            None if v.get("video_decoded").is_some() => return (ears, v),
            None => {}
        }
    }
}

/// Supervision seen from the customer's browser: one peer connection, no signaling frame that
/// names the monitor, and (by a Web Audio analyser on what it plays) no supervisor's hum while
/// sup listens and whispers, then the hum once sup barges — the check that the ear works.
#[test]
fn a_supervisor_monitors_a_browser_customer_who_has_one_connection_and_hears_only_the_barge() {
    let server = DevServer::start("").unwrap();
    // a1 hums 440 Hz (the default tone microphone), sup 770 Hz.
    let agent = Cli::start(
        &server,
        &server.token("a1"),
        &[
            "agent",
            "--ready",
            "--auto-accept",
            "--skill",
            "billing",
            "--call-duration",
            "28",
            "--duration",
            "34",
        ],
    );
    let browser = Browser::start(
        &server,
        "billing",
        &[("MONITOR", "1"), ("STAY_MS", "21000")],
    );
    assert_eq!(browser.until("phase")["phase"], "in_call");
    browser.until("first_frame_ms");
    let epoch_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    };
    let start = epoch_ms();
    // Listen, whisper from 5 s, barge from 10 s (timed from the monitor call's start, so no
    // earlier than that after `start`), for 18 s.
    let sup = Cli::start(
        &server,
        &server.token("sup"),
        &[
            "--audio-device",
            "tone:770",
            "monitor",
            "a1",
            "--at",
            "5:whisper",
            "--at",
            "10:barge",
            "--duration",
            "18",
        ],
    );
    let (ears, media) = ears(&browser);
    // Half-second looks by the time they ended, since the monitor began.
    let since = |e: &serde_json::Value| e["at"].as_u64().unwrap().saturating_sub(start);
    let count = |e: &serde_json::Value, k: &str| e[k].as_u64().unwrap();
    let before: Vec<_> = ears.iter().filter(|e| since(e) <= 10_000).collect();
    // The barge has begun 3 s after its time (sign-in and the monitor's connection take less)
    // and lasts until 18 s after it.
    let barge: Vec<_> = ears
        .iter()
        .filter(|e| (13_000..18_000).contains(&since(e)))
        .collect();
    let sum = |l: &[&serde_json::Value], k: &str| l.iter().map(|e| count(e, k)).sum::<u64>();
    let looks = sum(&before, "looks");
    eprintln!(
        "customer's ear: listen + whisper {} looks, 440 Hz in {}, 770 Hz in {}; barge {} looks, 440 Hz in {}, 770 Hz in {}",
        looks,
        sum(&before, "low"),
        sum(&before, "high"),
        sum(&barge, "looks"),
        sum(&barge, "low"),
        sum(&barge, "high"),
    );
    assert!(looks > 100, "the ear looked {looks} times: {ears:?}");
    assert!(sum(&before, "low") > looks / 2, "a1 not heard: {ears:?}");
    assert_eq!(sum(&before, "high"), 0, "sup heard before the barge");
    assert!(
        sum(&barge, "high") > sum(&barge, "looks") / 2,
        "the barge not heard: {ears:?}"
    );
    // Throughout, one peer connection in the page and no frame that names the monitor.
    for e in &ears {
        assert_eq!(e["pcs"], 1, "{e}");
        assert_eq!(e["leaks"], serde_json::json!([]), "{e}");
    }
    assert!(media["audio_energy"].as_f64().unwrap() > 0.0, "{media}");
    let s = sup.finish();
    eprintln!("sup: {s}");
    let tones = &s["audio"]["tones"];
    assert!(tones[0].as_u64().unwrap() > 30, "sup heard a1: {s}");
    // And saw the customer: Chromium's pictures, forwarded by a1's engine as they came, decoded
    // by sup's OpenH264.
    let forwarded = s["screen"]["decoded"].as_u64().unwrap();
    assert!(
        forwarded > 100,
        "sup decoded {forwarded} of the customer's pictures: {s}"
    );
    let ended = browser.until("ended");
    assert_eq!(ended["ended"]["code"], "hangup", "{ended}");
    let a = agent.finish();
    assert_eq!(a["end_reason"]["code"], "hangup", "{a}");
}

/// A conference seen from the customer's browser: a1 consults a2 (hum 770 Hz) and joins them
/// with the customer; the browser hears a1 and a2 through its one peer connection (a1's
/// engine bridges), and no frame names the conference or a2.
#[test]
fn a_browser_customer_in_a_conference_hears_both_agents_over_one_connection() {
    let server = DevServer::start("").unwrap();
    let a1 = Cli::start(
        &server,
        &server.token("a1"),
        &[
            "--consult",
            "a2:2:conference",
            "agent",
            "--ready",
            "--auto-accept",
            "--skill",
            "billing",
            "--duration",
            "26",
        ],
    );
    let a2 = Cli::start(
        &server,
        &server.token("a2"),
        &[
            "--audio-device",
            "tone:770",
            "agent",
            "--ready",
            "--auto-accept",
            "--skill",
            "support",
            "--duration",
            "26",
        ],
    );
    let mut browser = Browser::start(
        &server,
        "billing",
        &[("MONITOR", "1"), ("STAY_MS", "15000")],
    );
    assert_eq!(browser.until("phase")["phase"], "in_call");
    browser.until("first_frame_ms");
    let (ears, _) = ears(&browser);
    // The conference began some 6 s in (consult at 2 s, a2 answers, 2 s of talk): the last
    // 5 s are well inside it.
    let last: Vec<_> = ears.iter().rev().take(10).collect();
    let sum = |k: &str| last.iter().map(|e| e[k].as_u64().unwrap()).sum::<u64>();
    let looks = sum("looks");
    eprintln!(
        "customer's ear in the conference: {looks} looks, a1's 440 Hz in {}, a2's 770 Hz in {}",
        sum("low"),
        sum("high")
    );
    assert!(looks > 50, "{ears:?}");
    assert!(sum("low") > looks / 2, "a1 not heard: {ears:?}");
    assert!(sum("high") > looks / 2, "a2 not heard: {ears:?}");
    for e in &ears {
        assert_eq!(e["pcs"], 1, "{e}");
        assert_eq!(e["leaks"], serde_json::json!([]), "{e}");
    }
    browser.tell("hangup");
    let ended = browser.until("ended");
    assert_eq!(ended["ended"]["code"], "hangup", "{ended}");
    // a1's summary of the customer call (the consult's, if it printed one, may follow).
    let (last, before) = a1.finish_both();
    eprintln!("a1: {before}\n{last}");
    let first = if last["consult"]["done"].is_null() {
        before
    } else {
        last
    };
    assert_eq!(first["consult"]["done"], "conference", "{first}");
    assert_eq!(first["consult"]["conference"], true, "{first}");
    let second = a2.finish();
    eprintln!("a2: {second}");
    // a2's call was the consult: they heard a1 (440 Hz) and the customer's voice through it.
    assert!(
        second["audio"]["tones"][0].as_u64().unwrap() > 30,
        "{second}"
    );
}
