#![allow(clippy::unwrap_used)]
use super::*;

#[test]
fn layouts_put_pictures_where_agents_expect_them() {
    let (s, c) = layout(1280, 720, 1, false);
    assert_eq!(
        (s, c[0]),
        (
            None,
            Rect {
                x: 0,
                y: 0,
                w: 1280,
                h: 720
            }
        )
    );
    // 1:1: the far end fills the frame, our own is a third in the bottom-right corner.
    let (_, c) = layout(1280, 720, 2, false);
    assert_eq!(
        c[0],
        Rect {
            x: 0,
            y: 0,
            w: 1280,
            h: 720
        }
    );
    assert_eq!(
        c[1],
        Rect {
            x: 1280 - 426 - 20,
            y: 720 - 240 - 20,
            w: 426,
            h: 240
        }
    );
    // Four: a 2×2 grid; five: 3 columns, 2 rows.
    let (_, c) = layout(1280, 720, 4, false);
    assert_eq!(
        c[3],
        Rect {
            x: 640,
            y: 360,
            w: 640,
            h: 360
        }
    );
    assert_eq!(
        layout(1280, 720, 5, false).1[4],
        Rect {
            x: 426,
            y: 360,
            w: 426,
            h: 360
        }
    );
    // A screen share: three quarters for it, cameras stacked on the right.
    let (s, c) = layout(1280, 720, 2, true);
    assert_eq!(
        s,
        Some(Rect {
            x: 0,
            y: 0,
            w: 960,
            h: 720
        })
    );
    assert_eq!(c[1].x, 960);
    assert_eq!(c[1].y, c[0].h);
    // A 4:3 picture in a 16:9 place is letterboxed, centred.
    assert_eq!(
        placed(
            640,
            480,
            Rect {
                x: 0,
                y: 0,
                w: 1280,
                h: 720
            }
        ),
        Rect {
            x: 160,
            y: 0,
            w: 960,
            h: 720
        }
    );
}

#[test]
fn the_watermark_clock_reads_as_a_date() {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
    assert_eq!(clock_text(t), "2026-11-18 11:06:40 UTC");
}

#[test]
fn an_unwritable_path_is_an_error_at_once() {
    let e = Recorder::start(
        Path::new("/nonexistent/dir/x.mp4"),
        RecordOptions::default(),
    )
    .err()
    .unwrap();
    assert!(matches!(e, RecordError::Write { .. }), "{e}");
}
