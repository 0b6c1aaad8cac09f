//! The desktop app under a real X display (Xvfb in `cargo xtask test`): the window opens, the
//! web UI loads and reaches Rust over IPC, and the shell is drawn.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use switchboard_tests::{App, artefacts_dir, test_env, x11};

#[test]
fn the_console_window_opens_and_draws_the_shell() {
    let display = test_env("DISPLAY");
    let mut app = App::launch(&display).unwrap();

    // The UI calls `ui_ready` after it mounted and fetched `app_info`: the webview loaded our
    // bundle and IPC works both ways. The first WebKitGTK start on a cold machine is slow.
    app.wait_for_log("ui ready", Duration::from_secs(90))
        .unwrap();

    let window = x11::wait_for_window(&display, "Switchboard", Duration::from_secs(10)).unwrap();
    assert!(
        window.width >= 1024 && window.height >= 640,
        "window too small: {window:?}"
    );

    // A blank or failed webview paints one or two colours; the shell's text, chips and card
    // anti-aliased give hundreds.
    let shot = x11::wait_drawn(&display, Some(window), 32, Duration::from_secs(20)).unwrap();
    shot.save_png(&artefacts_dir().join("desktop-shell.png"))
        .unwrap();
    assert!(shot.distinct_colors() >= 32);
}
