//! The synthetic `pattern` camera: moving colour bars (so the encoder has motion to work on and
//! a frozen picture shows) with a [`Stamp`] carrying the frame number and capture time. Always
//! available, on any machine; agents use it for test calls and the tests read it back.

use crate::stamp::Stamp;
use crate::video::I420Frame;

/// BT.601 limited-range Y, U, V of the bars: white, yellow, cyan, green, magenta, red, blue.
const BARS: [(u8, u8, u8); 7] = [
    (235, 128, 128),
    (210, 16, 146),
    (170, 166, 16),
    (145, 54, 34),
    (106, 202, 222),
    (81, 90, 240),
    (41, 240, 110),
];

/// A camera that draws its frames.
#[derive(Debug, Clone)]
pub struct PatternCamera {
    width: usize,
    height: usize,
    next: u32,
}

impl PatternCamera {
    /// A camera of this size (even, and at least the stamp's 320×24).
    pub fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            next: 0,
        }
    }

    /// The same camera at another size; the frame counter goes on (a profile switch mid-call
    /// must not look like loss or reordering to the receiver).
    pub fn resized(self, width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            next: self.next,
        }
    }

    /// The next frame, stamped with its number and `capture_ms`.
    pub fn frame(&mut self, capture_ms: u64) -> I420Frame {
        let n = self.next;
        self.next = self.next.wrapping_add(1);
        let mut f = I420Frame::black(self.width, self.height);
        let (w, h) = (self.width, self.height);
        let bar = w.div_ceil(BARS.len());
        // Bars drift 4 pixels per frame.
        let shift = (n as usize * 4) % w;
        let colour = |x: usize| BARS[((x + shift) % w) / bar % BARS.len()];
        {
            let y = f.y_mut();
            for row in 0..h {
                for col in 0..w {
                    y[row * w + col] = colour(col).0;
                }
            }
            // Sensor-like noise over the lower half, new every frame: like a real camera it
            // never compresses to nothing, so the encoder's bitrate follows its target and rate
            // control can be tested with this camera.
            let mut seed =
                0x9e37_79b9_7f4a_7c15u64 ^ u64::from(n).wrapping_mul(0x2545_f491_4f6c_dd1d);
            for px in y[(h / 2) * w..].iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let noise = (seed & 0x3) as i16 - 1;
                *px = (i16::from(*px) + noise).clamp(16, 235) as u8;
            }
        }
        {
            let (u, v) = f.uv_mut();
            let cw = w / 2;
            for row in 0..h / 2 {
                for col in 0..cw {
                    let (_, cu, cv) = colour(col * 2);
                    u[row * cw + col] = cu;
                    v[row * cw + col] = cv;
                }
            }
        }
        Stamp {
            frame: n,
            capture_ms,
        }
        .write(&mut f);
        f
    }
}
