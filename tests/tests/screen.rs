//! Screen capture and screen share against the test display: a window of a known colour is
//! listed with its title and size, captured (through MIT-SHM) in that colour, found at its
//! place in a capture of the whole screen, and reported closed once destroyed; a shared window
//! reaches an engine peer in its colours beside the camera, and closing it ends the share on
//! both sides; the scap (portal) path without a portal is a typed error.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use switchboard_engine::Event;
use switchboard_media::I420Frame;
use switchboard_media::screen::{self, CaptureError, Capturer, ScreenCapturer, SourceKind};
use switchboard_tests::calls::{Side, WAIT, uid, video_call};
use switchboard_tests::server::DevServer;
use switchboard_tests::test_env;
use switchboard_tests::x11::TestWindow;

/// The mean Y, U, V of a `w`×`h` area at (`x`, `y`) (even).
fn mean(f: &I420Frame, x: usize, y: usize, w: usize, h: usize) -> (u32, u32, u32) {
    let (fw, n) = (f.width(), (w * h) as u32);
    let (mut sy, mut su, mut sv) = (0u32, 0u32, 0u32);
    for row in y..y + h {
        for col in x..x + w {
            sy += u32::from(f.y()[row * fw + col]);
        }
    }
    for row in y / 2..(y + h) / 2 {
        for col in x / 2..(x + w) / 2 {
            su += u32::from(f.u()[row * fw / 2 + col]);
            sv += u32::from(f.v()[row * fw / 2 + col]);
        }
    }
    (sy / n, su * 4 / n, sv * 4 / n)
}

#[test]
fn a_red_window_is_listed_captured_in_red_and_reported_closed() {
    let (x, y) = (1500, 820);
    let win =
        TestWindow::open(&test_env("DISPLAY"), (x, y, 320, 200), &[(0, 0x00ff_0000)]).unwrap();
    let title = win.title().to_owned();

    // Listed, by title, with its size; the screen too.
    let sources = screen::sources().unwrap();
    let ours = sources
        .iter()
        .find(|s| s.name == title)
        .unwrap_or_else(|| panic!("{title:?} not in {sources:?}"));
    assert_eq!(
        (ours.kind, ours.width, ours.height),
        (SourceKind::Window, 320, 200)
    );
    assert!(
        sources
            .iter()
            .any(|s| s.id == "x11:screen:0" && s.kind == SourceKind::Screen)
    );

    // Captured red (BT.601 video range: Y 81, U 90, V 240), through shared memory.
    let mut cap = Capturer::open(&ours.id).unwrap();
    let f = cap.frame().unwrap();
    assert_eq!((f.width(), f.height()), (320, 200));
    let (yy, u, v) = mean(&f, 40, 40, 240, 120);
    assert!(
        yy.abs_diff(81) <= 4 && u.abs_diff(90) <= 4 && v.abs_diff(240) <= 4,
        "{yy} {u} {v}"
    );
    assert!(cap.uses_shm(), "MIT-SHM was not used");
    let thumb = cap.thumbnail(160).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (160, 100));

    // The whole screen shows it at its place.
    let mut whole = Capturer::open("x11:screen:0").unwrap();
    let s = whole.frame().unwrap();
    let (yy, _, v) = mean(&s, x as usize + 40, y as usize + 40, 200, 100);
    assert!(yy.abs_diff(81) <= 4 && v.abs_diff(240) <= 4, "{yy} {v}");

    // Closed: the next capture says so.
    win.close();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(cap.frame().unwrap_err(), CaptureError::WindowClosed);
    assert!(matches!(
        Capturer::open(&ours.id),
        Err(CaptureError::NotFound(_))
    ));
    assert!(matches!(
        Capturer::open("x11:window:nonsense"),
        Err(CaptureError::NotFound(_))
    ));
}

/// Whether a mean (Y, U, V) is within `tol` of a colour.
fn near((y, u, v): (u32, u32, u32), (wy, wu, wv): (u32, u32, u32), tol: u32) -> bool {
    y.abs_diff(wy) <= tol && u.abs_diff(wu) <= tol && v.abs_diff(wv) <= tol
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_window_reaches_the_peer_in_its_colours_and_closing_it_ends_the_share() {
    // Left half red, right half blue (BT.601 video range: red Y 81 U 90 V 240, blue Y 41
    // U 240 V 110).
    let (red, blue) = ((81, 90, 240), (41, 240, 110));
    let (w, h) = (400u16, 240u16);
    let win = TestWindow::open(
        &test_env("DISPLAY"),
        (1060, 820, w, h),
        &[(0, 0x00ff_0000), (w / 2, 0x0000_00ff)],
    )
    .unwrap();
    let server = DevServer::start("").unwrap();
    let mut alice = Side::start(&server, "alice").await.unwrap();
    let mut bob = Side::start(&server, "bob").await.unwrap();
    let call = video_call(&mut alice, &mut bob).await.unwrap();

    // A window that is not there is refused, and nothing is shared.
    let e = alice
        .engine
        .share_screen(&call, "x11:window:0x7ffffff")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no screen or window"), "{e}");

    let mut screen = bob
        .engine
        .remote_screen_frames(&call, &uid("alice"))
        .await
        .unwrap();
    alice
        .engine
        .share_screen(&call, &format!("x11:window:{:#x}", win.id()))
        .await
        .unwrap();
    bob.wait("alice's screen share announced", |e| match e {
        Event::RemoteMediaState { user, state, .. } if user.as_str() == "alice" && state.screen => {
            Some(())
        }
        _ => None,
    })
    .await
    .unwrap();

    // Pictures of the window, in its colours, on their own track (the first ones may still
    // be refining: look at the fifth).
    let mut picture = None;
    for _ in 0..5 {
        let f = tokio::time::timeout(WAIT, screen.recv())
            .await
            .unwrap()
            .unwrap();
        picture = Some(f.picture);
    }
    let p = picture.unwrap();
    assert_eq!((p.width(), p.height()), (usize::from(w), usize::from(h)));
    let (left, right) = (mean(&p, 20, 20, 160, 200), mean(&p, 220, 20, 160, 200));
    assert!(near(left, red, 10), "left half {left:?}, want red {red:?}");
    assert!(
        near(right, blue, 10),
        "right half {right:?}, want blue {blue:?}"
    );
    // The camera goes on beside it.
    let before = bob.stats_from(&call, "alice").await.unwrap();
    let s = bob
        .until_stats(&call, "alice", "camera and screen both", |s| {
            s.video.decoded > before.video.decoded + 10 && s.screen.decoded > before.screen.decoded
        })
        .await
        .unwrap();
    assert_eq!((s.screen.width, s.screen.height), (400, 240));
    assert_ne!((s.video.width, s.video.height), (400, 240));

    // The window closes: the share ends, alice is told why and bob that it is off.
    win.close();
    let why = alice
        .wait("the share's end", |e| match e {
            Event::ScreenShareEnded { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(why.as_deref(), Some("the shared window was closed"));
    bob.wait("alice's screen share off", |e| match e {
        Event::RemoteMediaState { user, state, .. } if user.as_str() == "alice" => {
            (!state.screen).then_some(())
        }
        _ => None,
    })
    .await
    .unwrap();
    // No more screen pictures (the camera goes on).
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let stopped = bob.stats_from(&call, "alice").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let later = bob.stats_from(&call, "alice").await.unwrap();
    assert_eq!(later.screen.decoded, stopped.screen.decoded);
    assert!(later.video.decoded > stopped.video.decoded);
}

#[test]
fn the_portal_path_without_a_portal_is_a_typed_error_not_a_panic() {
    // Xvfb with a session bus but no xdg-desktop-portal: scap 0.0.8 panics inside; we get
    // the reason.
    test_env("DISPLAY");
    test_env("DBUS_SESSION_BUS_ADDRESS");
    match ScreenCapturer::open("portal").err() {
        Some(CaptureError::Unsupported(why)) => {
            assert!(why.contains("desktop capture service"), "{why}");
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    assert!(matches!(
        ScreenCapturer::open("scap:window:x").err(),
        Some(CaptureError::NotFound(_))
    ));
}
