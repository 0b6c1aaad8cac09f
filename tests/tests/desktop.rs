//! The desktop app under a real X display (Xvfb in `cargo xtask test`): the window opens, the
//! web UI loads and reaches Rust over IPC, and the shell is drawn.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use switchboard_tests::{App, test_env};

#[test]
fn the_console_window_opens_and_draws_the_shell() {
    let display = test_env("DISPLAY");
    let mut app = App::launch(&display).unwrap();

    // The UI calls `ui_ready` after it mounted and fetched `app_info`: the webview loaded our
    // bundle and IPC works both ways; then the window is there, drawn.
    let shot = app
        .wait_for_console_window(&display, "desktop-shell.png")
        .unwrap();
    assert!(shot.distinct_colors() >= 32);
}
