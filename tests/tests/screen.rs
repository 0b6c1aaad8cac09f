//! The X11 screen capturer against the test display: a window of a known colour is listed with
//! its title and size, captured (through MIT-SHM) in that colour, found at its place in a
//! capture of the whole screen, and reported closed once destroyed.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::{Duration, Instant};

use switchboard_media::I420Frame;
use switchboard_media::screen::{self, CaptureError, Capturer, SourceKind};
use switchboard_tests::test_env;
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    AtomEnum, ConnectionExt, CreateWindowAux, EventMask, PropMode, WindowClass,
};
use x11rb::wrapper::ConnectionExt as _;

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
    let display = test_env("DISPLAY");
    let (conn, screen_num) = x11rb::connect(Some(&display)).unwrap();
    let root = conn.setup().roots[screen_num].root;
    let win = conn.generate_id().unwrap();
    // Bottom right of the test display, away from the app windows other tests open.
    let (x, y, w, h) = (1500i16, 820i16, 320u16, 200u16);
    conn.create_window(
        x11rb::COPY_DEPTH_FROM_PARENT,
        win,
        root,
        x,
        y,
        w,
        h,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &CreateWindowAux::new()
            .background_pixel(0x00ff_0000)
            .event_mask(EventMask::EXPOSURE),
    )
    .unwrap();
    let title = format!("Switchboard capture test {}", std::process::id());
    conn.change_property8(
        PropMode::REPLACE,
        win,
        AtomEnum::WM_NAME,
        AtomEnum::STRING,
        title.as_bytes(),
    )
    .unwrap();
    conn.map_window(win).unwrap();
    conn.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(x11rb::protocol::Event::Expose(_)) = conn.poll_for_event().unwrap() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }

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
    conn.destroy_window(win).unwrap();
    conn.flush().unwrap();
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
