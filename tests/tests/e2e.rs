//! The real app under Xvfb, driven like an agent drives it (tauri-driver + WebKitWebDriver):
//! sign in; call a `switchboard-cli` peer and read its test pattern's frame counter from
//! screenshots of the remote tile; mute; hang up; find the call in the history; answer an
//! incoming call with a click; go ready as an agent and take a customer the CLI queued.
//! Every step leaves a screenshot in `target/screenshots/e2e/`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use switchboard_media::Stamp;
use switchboard_protocol::{AgentAvailability, ClientMessage, Label, SetAgentState};
use switchboard_tests::browser::Browser;
use switchboard_tests::drive::{Cli, SHORT, history_rows, sign_in, wait_until};
use switchboard_tests::server::DevServer;
use switchboard_tests::webdriver::{Driver, El};
use switchboard_tests::x11::TestWindow;
use switchboard_tests::{artefacts_dir, binary, test_env};

struct Steps {
    dir: std::path::PathBuf,
    n: u32,
}

impl Steps {
    fn shot(&mut self, d: &Driver, name: &str) {
        self.n += 1;
        let shot = d.screenshot().unwrap();
        let path = self.dir.join(format!("{:02}-{name}.png", self.n));
        std::fs::write(&path, &shot.png).unwrap();
    }
}

/// The frame number in the pattern shown by a remote tile, read from a screenshot of it.
fn tile_frame(d: &Driver, tile: &El) -> Option<u32> {
    // The stamp is drawn at the sender's size; the tile shows it scaled.
    let width: f64 = d.attr(tile, "data-source-width").ok()??.parse().ok()?;
    if width < 2.0 {
        return None;
    }
    let (x, y, w, h) = d.rect(tile).ok()?;
    let full = d.screenshot().ok()?;
    // A tile at a fractional position is drawn from the nearest device pixel, which rounding
    // its rectangle may miss by one: look at the neighbours too.
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let cuts = [(0, 0), (1, 0), (0, 1), (1, 1)].map(|(dx, dy)| (x0 + dx, y0 + dy));
    for (i, (cx, cy)) in cuts.into_iter().enumerate() {
        let shot = full
            .crop(cx, cy, w.round() as usize, h.round() as usize)
            .ok()?;
        if i == 0 {
            // The one looked at, for whoever reads a failure.
            let _ = std::fs::write(artefacts_dir().join("e2e/last-tile.png"), &shot.png);
        }
        let scale = shot.width as f64 / width;
        if let Some(s) = Stamp::read_scaled(&shot.luma(), shot.width, shot.height, scale) {
            return Some(s.frame);
        }
    }
    None
}

#[test]
fn an_agent_signs_in_calls_answers_and_takes_a_customer() {
    let display = test_env("DISPLAY");
    let server = DevServer::start("").unwrap();
    let data = tempfile::tempdir().unwrap();
    let dir = artefacts_dir().join("e2e");
    // Only this run's screenshots.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut steps = Steps { dir, n: 0 };
    let data_dir = data.path().display().to_string();
    let d = Driver::start(
        &binary("switchboard"),
        &[],
        &[
            ("DISPLAY", &display),
            ("SWITCHBOARD_DATA_DIR", &data_dir),
            ("RUST_LOG", "info"),
        ],
        &steps.dir.join("app.log"),
    )
    .unwrap();

    // Sign in.
    sign_in(&d, &server, "alice");
    steps.shot(&d, "signed-in");

    // Call bob, a CLI that answers: his test pattern shows in the remote tile, and its frame
    // counter, read from two screenshots, goes up.
    // Bob shares his (the test display's) screen as soon as media flows.
    let bob = Cli::start(
        &server,
        &server.token("bob"),
        &["--share", "x11:screen:0", "answer", "--duration", "60"],
    );
    d.type_text(&d.find("[data-testid=dial-to]", SHORT).unwrap(), "bob")
        .unwrap();
    d.click(&d.find("[data-testid=dial-video]", SHORT).unwrap())
        .unwrap();
    let remote = "[data-testid=video-tile][data-path^='remote/']";
    d.wait_attr(remote, "data-drawn", SHORT, |v| {
        v.parse::<u32>().unwrap_or(0) > 10
    })
    .unwrap();
    let tile = d.find(remote, SHORT).unwrap();
    let mut first = None;
    wait_until("a frame counter in the remote tile", SHORT, || {
        first = tile_frame(&d, &tile);
        first.is_some()
    });
    steps.shot(&d, "in-call");
    std::thread::sleep(Duration::from_secs(1));
    let mut later = None;
    wait_until("a later frame counter", SHORT, || {
        later = tile_frame(&d, &tile);
        later.is_some_and(|n| n > first.unwrap())
    });
    eprintln!("remote tile frame counter: {first:?} then {later:?}");

    // Bob's screen shows in a tile of its own.
    d.wait_attr(
        "[data-testid=video-tile][data-path^='screen/']",
        "data-drawn",
        SHORT,
        |v| v.parse::<u32>().unwrap_or(0) > 5,
    )
    .unwrap();
    steps.shot(&d, "bob-shares");

    // Alice shares a window she picks by its thumbnail: a red one.
    let red = TestWindow::open(&display, (40, 700, 320, 200), &[(0, 0x00ff_0000)]).unwrap();
    d.click(&d.find("[data-testid=share-screen]", SHORT).unwrap())
        .unwrap();
    let pick = format!(
        "[data-testid=screen-source][data-source='x11:window:{:#x}']",
        red.id()
    );
    d.click(&d.find(&pick, SHORT).unwrap()).unwrap();
    d.find("[data-testid=share-indicator]", SHORT).unwrap();
    steps.shot(&d, "alice-shares");
    std::thread::sleep(Duration::from_secs(2));
    d.click(&d.find("[data-testid=share-stop]", SHORT).unwrap())
        .unwrap();
    d.find("[data-testid=share-screen]", SHORT).unwrap();
    drop(red);

    // Mute.
    let mute = d.find("[data-testid=mute]", SHORT).unwrap();
    d.click(&mute).unwrap();
    d.wait_attr("[data-testid=mute]", "aria-pressed", SHORT, |v| v == "true")
        .unwrap();
    steps.shot(&d, "muted");

    // Record 3 s of the call from the in-call controls; the indicator shows.
    d.click(&d.find("[data-testid=record]", SHORT).unwrap())
        .unwrap();
    d.find("[data-testid=rec-indicator]", SHORT).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    steps.shot(&d, "recording");

    // Hang up: bob's CLI ends normally, and the call is in the history as hung up.
    d.click(&d.find("[data-testid=hangup]", SHORT).unwrap())
        .unwrap();
    let summary = bob.finish();
    assert_eq!(summary["end_reason"]["code"], "hangup");
    // Alice's red window reached bob on the screen track.
    assert!(summary["screen"]["decoded"].as_u64() > Some(5), "{summary}");
    assert_eq!(
        (&summary["screen"]["width"], &summary["screen"]["height"]),
        (&serde_json::json!(320), &serde_json::json!(200))
    );
    assert_eq!(summary["end_reason"]["side"], "remote");
    wait_until("the call in the history", SHORT, || {
        history_rows(&d, "hangup") >= 1
    });
    steps.shot(&d, "hung-up");
    // The recording ended with the call and sits in its history row, playable.
    let open = d.find("[data-testid=open-recording]", SHORT).unwrap();
    let path = d.attr(&open, "title").unwrap().unwrap();
    assert!(
        path.starts_with(&data_dir),
        "{path} is not in the profile's folder"
    );
    let streams = switchboard_tests::ffmpeg::probe(std::path::Path::new(&path));
    let video = streams.iter().find(|s| s.0 == "h264").map(|s| s.1);
    assert!(video.is_some_and(|v| v >= 2.0), "{path}: {streams:?}");

    // An incoming call from carol's CLI, answered with a click.
    let carol = Cli::start(
        &server,
        &server.token("carol"),
        &["call", "alice", "--video", "--duration", "3"],
    );
    d.click(&d.find("[data-testid=accept-video]", SHORT).unwrap())
        .unwrap();
    d.wait_attr(remote, "data-drawn", SHORT, |v| {
        v.parse::<u32>().unwrap_or(0) > 5
    })
    .unwrap();
    steps.shot(&d, "answered");
    let summary = carol.finish();
    assert_eq!(summary["end_reason"]["code"], "hangup");
    assert!(
        summary["video"]["decoded"].as_u64().unwrap() > 0,
        "{summary}"
    );
    wait_until("both calls in the history", SHORT, || {
        history_rows(&d, "hangup") >= 2
    });

    // As agent a1: join the queue, go ready, take the customer the CLI queued.
    d.click(&d.find("[data-testid=sign-out]", SHORT).unwrap())
        .unwrap();
    sign_in(&d, &server, "a1");
    d.click(&d.find("[data-testid=agent-register]", SHORT).unwrap())
        .unwrap();
    d.click(&d.find("[data-testid=agent-ready]", SHORT).unwrap())
        .unwrap();
    wait_until("the agent ready", SHORT, || {
        d.find("[data-testid=agent-state]", Duration::ZERO)
            .and_then(|el| d.text(&el))
            .is_ok_and(|t| t.contains("Ready"))
    });
    steps.shot(&d, "agent-ready");
    let token = server.customer_token("support");
    let customer = Cli::start(
        &server,
        &token,
        &[
            "queue",
            "support",
            "--video",
            "--name",
            "Ann",
            "--duration",
            "16",
        ],
    );
    let toast = d.find("[data-testid=incoming]", SHORT).unwrap();
    let offered = d.text(&toast).unwrap();
    assert!(
        offered.contains("Ann") && offered.contains("support"),
        "{offered}"
    );
    steps.shot(&d, "customer-ringing");
    d.click(&d.find("[data-testid=accept-video]", SHORT).unwrap())
        .unwrap();
    d.wait_attr(remote, "data-drawn", SHORT, |v| {
        v.parse::<u32>().unwrap_or(0) > 5
    })
    .unwrap();
    steps.shot(&d, "customer-call");

    // Hold, with its timer; then back.
    d.click(&d.find("[data-testid=hold]", SHORT).unwrap())
        .unwrap();
    let held = d.find("[data-testid=hold-indicator]", SHORT).unwrap();
    assert!(d.text(&held).unwrap().contains("On hold"));
    std::thread::sleep(Duration::from_millis(1500));
    steps.shot(&d, "customer-on-hold");
    d.click(&d.find("[data-testid=hold]", SHORT).unwrap())
        .unwrap();
    wait_until("off hold", SHORT, || {
        d.find("[data-testid=hold-indicator]", Duration::ZERO)
            .is_err()
    });
    // Consult a colleague (a CLI agent of another line), then hand the customer over warm.
    let colleague = Cli::start(
        &server,
        &server.token("a2"),
        &[
            "agent",
            "--ready",
            "--auto-accept",
            "--skill",
            "billing",
            "--duration",
            "25",
        ],
    );
    std::thread::sleep(Duration::from_secs(1));
    d.click(&d.find("[data-testid=transfer]", SHORT).unwrap())
        .unwrap();
    d.script(
        "const s = document.querySelector('select[aria-label=\"Transfer to\"]'); \
         s.value = 'consult'; s.dispatchEvent(new Event('change', {bubbles: true}));",
    )
    .unwrap();
    d.type_text(&d.find("[data-testid=transfer-to]", SHORT).unwrap(), "a2")
        .unwrap();
    d.click(&d.find("[data-testid=transfer-send]", SHORT).unwrap())
        .unwrap();
    d.find("[data-testid=consulting]", SHORT).unwrap();
    wait_until("the colleague answering the consult", SHORT, || {
        d.script(
            "return document.querySelector('[data-testid=consult-about]')\
             ?.closest('[data-testid=call]')?.dataset.phase ?? ''",
        )
        .is_ok_and(|v| v == "connected")
    });
    steps.shot(&d, "consulting");
    // A conference first (the three talk, a1's engine bridging); then a1 leaves it, which
    // hands the customer to the colleague as the warm transfer does.
    d.click(&d.find("[data-testid=conference]", SHORT).unwrap())
        .unwrap();
    d.find("[data-testid=in-conference]", SHORT).unwrap();
    steps.shot(&d, "conference");
    d.click(&d.find("[data-testid=leave-conference]", SHORT).unwrap())
        .unwrap();
    wait_until("the customer call handed over", SHORT, || {
        history_rows(&d, "transferred") >= 1
    });
    steps.shot(&d, "warm-transfer-done");
    // The agent wraps up now (otherwise its timer would end it in the middle of what follows).
    d.click(&d.find("[data-testid=wrap-up-done]", SHORT).unwrap())
        .unwrap();
    wait_until("the wrap-up done", SHORT, || {
        d.find("[data-testid=wrap-up]", Duration::ZERO).is_err()
    });
    let summary = customer.finish();
    assert_eq!(summary["end_reason"]["code"], "hangup", "{summary}");
    // The agent's hold and the consult's.
    assert_eq!(summary["hold"]["count"], 2, "{summary}");
    let summary = colleague.finish();
    assert_eq!(summary["end_reason"]["code"], "hangup", "{summary}");
    assert!(
        summary["video"]["decoded"].as_u64().unwrap() > 0,
        "{summary}"
    );
    steps.shot(&d, "customer-done");

    // As supervisor `sup` (team front, a1's and a2's): the wallboard, pushed by the server,
    // shows a2 going ready within 2 s, and the figures of Ann's call.
    d.click(&d.find("[data-testid=sign-out]", SHORT).unwrap())
        .unwrap();
    sign_in(&d, &server, "sup");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let a2 = rt
        .block_on(switchboard_tests::calls::Side::start(&server, "a2"))
        .unwrap();
    a2.agent_ready(&["support"]);
    let a2_row = "[data-testid=board-agent][data-user=a2]";
    d.wait_attr(a2_row, "data-state", SHORT, |v| v == "ready")
        .unwrap();
    let break_ = |state| {
        a2.engine
            .send_raw(ClientMessage::SetAgentState(SetAgentState {
                state,
                after_call: false,
            }))
    };
    break_(AgentAvailability::NotReady {
        reason: Label::new("break").unwrap(),
    });
    d.wait_attr(a2_row, "data-state", SHORT, |v| v == "not_ready")
        .unwrap();
    let asked = std::time::Instant::now();
    break_(AgentAvailability::Ready);
    d.wait_attr(a2_row, "data-state", Duration::from_secs(2), |v| {
        v == "ready"
    })
    .unwrap();
    eprintln!(
        "wallboard: a2 ready shown {:?} after it asked",
        asked.elapsed()
    );
    let support = d
        .text(
            &d.find("[data-testid=board-queue][data-business=support]", SHORT)
                .unwrap(),
        )
        .unwrap();
    // Ann: answered in time, handled (talk and the agents' wrap-ups), nobody abandoned.
    assert!(
        support.contains("100 %") && support.contains("1/1"),
        "{support}"
    );
    steps.shot(&d, "wallboard");

    // A customer calls a2 (video); sup listens in from the wallboard and sees both sides: the
    // monitor call's card, a2's camera and the customer's pictures forwarded by a2's engine.
    // (a2 as a CLI bot agent now, which answers at once.)
    drop(a2);
    let agent = Cli::start(
        &server,
        &server.token("a2"),
        &[
            "agent",
            "--ready",
            "--auto-accept",
            "--skill",
            "support",
            "--duration",
            "40",
        ],
    );
    d.wait_attr(a2_row, "data-state", SHORT, |v| v == "ready")
        .unwrap();
    let customer = Cli::start(
        &server,
        &server.customer_token("support"),
        &[
            "queue",
            "support",
            "--video",
            "--name",
            "Bo",
            "--duration",
            "20",
        ],
    );
    d.click(
        &d.find(&format!("{a2_row} [data-testid=supervise-listen]"), SHORT)
            .unwrap(),
    )
    .unwrap();
    d.wait_attr("[data-testid=monitoring]", "data-mode", SHORT, |v| {
        v == "listen"
    })
    .unwrap();
    let tiles = || {
        d.script(
            "return [...document.querySelectorAll('[data-testid=video-tile]')]\
             .map((t) => `${t.dataset.path}:${t.dataset.drawn}`).join(' ')",
        )
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
    };
    let drawn = |t: &str| {
        t.split(' ')
            .filter(|x| {
                (x.starts_with("remote/") || x.starts_with("screen/")) && !x.ends_with(":0")
            })
            .count()
    };
    let deadline = std::time::Instant::now() + SHORT;
    while drawn(&tiles()) < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let seen = tiles();
    steps.shot(&d, "supervising");
    assert_eq!(
        drawn(&seen),
        2,
        "a2's camera and the customer's at sup: {seen}"
    );
    d.click(&d.find("[data-testid=hangup]", SHORT).unwrap())
        .unwrap();
    let summary = customer.finish();
    assert_eq!(summary["end_reason"]["code"], "hangup", "{summary}");
    drop(agent);

    // Settings on a 1366×768 screen: nothing runs off to the side, the microphone meter moves
    // (the tone microphone), the speaker test reports what it played; then the same in dark.
    d.set_window_size(1366, 768).unwrap();
    d.click(&d.find("[data-testid=open-settings]", SHORT).unwrap())
        .unwrap();
    wait_until("the microphone meter moving", SHORT, || {
        d.script("return document.querySelector('[data-testid=mic-level]')?.value ?? -60")
            .ok()
            .and_then(|v| v.as_f64())
            .is_some_and(|v| v > -50.0)
    });
    d.click(&d.find("[data-testid=test-speaker]", SHORT).unwrap())
        .unwrap();
    let played = d
        .text(&d.find("[data-testid=speaker-played]", SHORT).unwrap())
        .unwrap();
    assert!(played.contains("1120 ms"), "{played}");
    let overflow = d
        .script("return document.documentElement.scrollWidth - window.innerWidth")
        .unwrap();
    assert!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "{overflow} px too wide"
    );
    steps.shot(&d, "settings-1366x768");
    d.script(
        "const s = document.querySelector('select[aria-label=Theme]'); \
         s.value = 'dark'; s.dispatchEvent(new Event('change', {bubbles: true}));",
    )
    .unwrap();
    wait_until("the dark theme", SHORT, || {
        d.script("return document.documentElement.dataset.theme")
            .is_ok_and(|v| v == "dark")
    });
    steps.shot(&d, "settings-dark");
}

/// Two consoles on one machine, each with its own `--profile` (its own settings and history),
/// call each other: the README's recipe.
#[test]
fn two_consoles_with_their_own_profiles_call_each_other() {
    let display = test_env("DISPLAY");
    let server = DevServer::start("").unwrap();
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().display().to_string();
    let dir = artefacts_dir().join("e2e-two");
    std::fs::create_dir_all(&dir).unwrap();
    let env = [
        ("DISPLAY", display.as_str()),
        ("SWITCHBOARD_DATA_DIR", data_dir.as_str()),
        ("RUST_LOG", "info"),
    ];
    let app = binary("switchboard");
    let one = Driver::start(&app, &["--profile", "one"], &env, &dir.join("one.log")).unwrap();
    let two = Driver::start(&app, &["--profile", "two"], &env, &dir.join("two.log")).unwrap();
    sign_in(&one, &server, "alice");
    sign_in(&two, &server, "bob");

    one.type_text(&one.find("[data-testid=dial-to]", SHORT).unwrap(), "bob")
        .unwrap();
    one.click(&one.find("[data-testid=dial-video]", SHORT).unwrap())
        .unwrap();
    two.click(&two.find("[data-testid=accept-video]", SHORT).unwrap())
        .unwrap();
    let remote = "[data-testid=video-tile][data-path^='remote/']";
    for d in [&one, &two] {
        d.wait_attr(remote, "data-drawn", SHORT, |v| {
            v.parse::<u32>().unwrap_or(0) > 10
        })
        .unwrap();
    }
    for (d, name) in [(&one, "one"), (&two, "two")] {
        std::fs::write(
            dir.join(format!("{name}-in-call.png")),
            d.screenshot().unwrap().png,
        )
        .unwrap();
    }
    one.click(&one.find("[data-testid=hangup]", SHORT).unwrap())
        .unwrap();
    wait_until("bob's history", SHORT, || history_rows(&two, "hangup") == 1);
    wait_until("alice's history", SHORT, || {
        history_rows(&one, "hangup") == 1
    });
    // Each profile has its own database and log files.
    for name in ["one", "two"] {
        let profile = data.path().join("profiles").join(name);
        assert!(profile.join("history.db").is_file());
        let logs: String = std::fs::read_dir(profile.join("logs"))
            .unwrap()
            .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
            .collect();
        assert!(logs.contains("starting Switchboard"), "{name}: {logs}");
    }

    // Starting a running profile again hands over to it and exits: one instance per profile
    // (a D-Bus name on Linux; `cargo xtask test` provides a session bus).
    let bus = test_env("DBUS_SESSION_BUS_ADDRESS");
    let mut again = std::process::Command::new(&app)
        .args(["--profile", "one"])
        .envs(env)
        .env("DBUS_SESSION_BUS_ADDRESS", &bus)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = wait_exit(&mut again, SHORT);
    assert_eq!(
        status.map(|s| s.success()),
        Some(true),
        "a second `one` kept running"
    );
    // The first is still there and answers.
    one.find("[data-testid=dial-to]", SHORT).unwrap();
}

/// The child's exit status within `limit`, else kills it and returns `None`.
fn wait_exit(child: &mut std::process::Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// A customer in the browser widget (headless Chromium) reaches the agent console under Xvfb:
/// the console rings, the agent takes the call with a click, each side shows the other's
/// pictures, they chat both ways, and the agent's hang-up ends the widget's call.
#[test]
fn a_browser_customer_reaches_the_agent_console() {
    let display = test_env("DISPLAY");
    let server = DevServer::start("").unwrap();
    let data = tempfile::tempdir().unwrap();
    let dir = artefacts_dir().join("e2e-widget");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut steps = Steps { dir, n: 0 };
    let data_dir = data.path().display().to_string();
    let d = Driver::start(
        &binary("switchboard"),
        &[],
        &[("DISPLAY", &display), ("SWITCHBOARD_DATA_DIR", &data_dir)],
        &steps.dir.join("app.log"),
    )
    .unwrap();
    sign_in(&d, &server, "a1");
    d.click(&d.find("[data-testid=agent-register]", SHORT).unwrap())
        .unwrap();
    d.click(&d.find("[data-testid=agent-ready]", SHORT).unwrap())
        .unwrap();
    wait_until("the agent ready", SHORT, || {
        d.find("[data-testid=agent-state]", Duration::ZERO)
            .and_then(|el| d.text(&el))
            .is_ok_and(|t| t.contains("Ready"))
    });

    let browser = Browser::start(
        &server,
        "support",
        &[("SAY", "Hello from the widget"), ("STAY_MS", "3000")],
    );
    let toast = d.find("[data-testid=incoming]", SHORT).unwrap();
    let offered = d.text(&toast).unwrap();
    assert!(
        offered.contains("Ann") && offered.contains("support"),
        "{offered}"
    );
    steps.shot(&d, "widget-ringing");
    d.click(&d.find("[data-testid=accept-video]", SHORT).unwrap())
        .unwrap();
    // Chromium's fake camera in the console's remote tile.
    d.wait_attr(
        "[data-testid=video-tile][data-path^='remote/']",
        "data-drawn",
        SHORT,
        |v| v.parse::<u32>().unwrap_or(0) > 10,
    )
    .unwrap();
    assert_eq!(browser.until("phase")["phase"], "in_call");
    let first = browser.until("first_frame_ms")["first_frame_ms"]
        .as_u64()
        .unwrap();
    eprintln!("browser: first picture from the console {first} ms after the answer");
    // Chat: the customer's line shows in the console; the agent's reaches the widget.
    wait_until("the customer's chat line", SHORT, || {
        d.find("[data-testid=chat]", Duration::ZERO)
            .and_then(|el| d.text(&el))
            .is_ok_and(|t| t.contains("Hello from the widget"))
    });
    d.type_text(
        &d.find("[data-testid=say]", SHORT).unwrap(),
        "Hello, how can I help?",
    )
    .unwrap();
    d.click(&d.find("[data-testid=say-send]", SHORT).unwrap())
        .unwrap();
    let chat = browser.until("chat");
    assert!(
        chat.to_string().contains("Hello, how can I help?"),
        "{chat}"
    );
    steps.shot(&d, "widget-call");
    // The console's pattern camera, decoded by Chromium.
    let media = browser.until("video_decoded");
    assert!(media["video_decoded"].as_u64().unwrap() > 30, "{media}");
    assert!(media["audio_energy"].as_f64().unwrap() > 0.0, "{media}");

    // The agent hangs up.
    d.click(&d.find("[data-testid=hangup]", SHORT).unwrap())
        .unwrap();
    let ended = browser.until("ended");
    assert_eq!(ended["ended"]["code"], "hangup", "{ended}");
    assert_eq!(ended["ended"]["side"], "remote", "{ended}");
    wait_until("the customer call in the history", SHORT, || {
        history_rows(&d, "hangup") >= 1
    });
    steps.shot(&d, "widget-done");
}
