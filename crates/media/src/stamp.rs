//! A frame number and capture time written into the pixels as black and white 8×8 blocks, with a
//! checksum, so that a receiver can read them back after H.264 (which keeps such blocks intact
//! at any sensible bitrate) and check order, loss and latency without side channels.

use crate::video::I420Frame;

/// What a synthetic frame says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Frame number from 0.
    pub frame: u32,
    /// Capture time, Unix milliseconds (48 bits are kept).
    pub capture_ms: u64,
}

const BLOCK: usize = 8;
const PER_ROW: usize = 40;
/// 32 bits of frame number, 48 of time, 8 of checksum.
const BITS: usize = 88;
const ROWS: usize = BITS.div_ceil(PER_ROW);

/// The area the stamp covers, from the top-left corner, in pixels.
pub const STAMP_SIZE: (usize, usize) = (PER_ROW * BLOCK, ROWS * BLOCK);

fn checksum(frame: u32, ms: u64) -> u8 {
    // Any bit flip changes it; cheap and good enough to reject a misread.
    let mut x = u64::from(frame) ^ (ms << 16) ^ 0x5a5a_5a5a_5a5a;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 29;
    (x & 0xff) as u8
}

fn bits(stamp: Stamp) -> [bool; BITS] {
    let ms = stamp.capture_ms & 0xffff_ffff_ffff;
    let sum = checksum(stamp.frame, ms);
    let mut out = [false; BITS];
    for (i, bit) in out.iter_mut().enumerate() {
        *bit = match i {
            0..32 => stamp.frame >> (31 - i) & 1 == 1,
            32..80 => ms >> (79 - i) & 1 == 1,
            _ => sum >> (87 - i) & 1 == 1,
        };
    }
    out
}

impl Stamp {
    /// Writes the stamp into the top-left corner (the frame must be at least `STAMP_SIZE`).
    pub fn write(self, frame: &mut I420Frame) {
        let w = frame.width();
        assert!(
            w >= STAMP_SIZE.0 && frame.height() >= STAMP_SIZE.1,
            "a stamped frame is at least {}x{}",
            STAMP_SIZE.0,
            STAMP_SIZE.1
        );
        let y = frame.y_mut();
        for (i, bit) in bits(self).iter().enumerate() {
            let (bx, by) = ((i % PER_ROW) * BLOCK, (i / PER_ROW) * BLOCK);
            let value = if *bit { 235 } else { 16 };
            for row in by..by + BLOCK {
                y[row * w + bx..row * w + bx + BLOCK].fill(value);
            }
        }
        // Neutral chroma under the stamp, so colour bars do not bleed into it.
        let (u, v) = frame.uv_mut();
        let cw = w / 2;
        for row in 0..STAMP_SIZE.1 / 2 {
            u[row * cw..row * cw + STAMP_SIZE.0 / 2].fill(128);
            v[row * cw..row * cw + STAMP_SIZE.0 / 2].fill(128);
        }
    }

    /// Reads a stamp back; `None` when the frame carries none (or it was damaged).
    pub fn read(frame: &I420Frame) -> Option<Stamp> {
        Self::read_scaled(frame.y(), frame.width(), frame.height(), 1.0)
    }

    /// Reads a stamp from a luma plane showing the picture `scale` times its size from the
    /// top-left corner (a screenshot of a video tile: 0.5 when a 640-pixel picture is shown
    /// 320 pixels wide).
    pub fn read_scaled(luma: &[u8], width: usize, height: usize, scale: f64) -> Option<Stamp> {
        let at = |v: usize| (v as f64 * scale) as usize;
        if scale <= 0.0
            || width < at(STAMP_SIZE.0)
            || height < at(STAMP_SIZE.1)
            || luma.len() < width * height
        {
            return None;
        }
        let mut got = [false; BITS];
        for (i, bit) in got.iter_mut().enumerate() {
            let (bx, by) = ((i % PER_ROW) * BLOCK, (i / PER_ROW) * BLOCK);
            // The inner 4×4 of each block: edges are where compression (and scaling) smears.
            let (x0, x1) = (at(bx + 2), at(bx + 6).max(at(bx + 2) + 1));
            let (y0, y1) = (at(by + 2), at(by + 6).max(at(by + 2) + 1));
            let mut sum = 0u32;
            for row in y0..y1.min(height) {
                for col in x0..x1.min(width) {
                    sum += u32::from(luma[row * width + col]);
                }
            }
            let n = ((y1.min(height) - y0) * (x1.min(width) - x0)).max(1) as u32;
            *bit = sum / n > 125;
        }
        let (mut frame_no, mut ms, mut sum) = (0u32, 0u64, 0u8);
        for (i, bit) in got.iter().enumerate() {
            let b = u8::from(*bit);
            match i {
                0..32 => frame_no = frame_no << 1 | u32::from(b),
                32..80 => ms = ms << 1 | u64::from(b),
                _ => sum = sum << 1 | b,
            }
        }
        (checksum(frame_no, ms) == sum).then_some(Stamp {
            frame: frame_no,
            capture_ms: ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_reads_back_from_a_picture_shown_smaller() {
        let mut f = I420Frame::black(640, 360);
        let s = Stamp {
            frame: 77,
            capture_ms: 1_795_000_000_000,
        };
        s.write(&mut f);
        // Every other pixel of every other row: the picture at half size.
        let half: Vec<u8> = (0..180)
            .flat_map(|r| (0..320).map(move |c| (r, c)))
            .map(|(r, c)| f.y()[r * 2 * 640 + c * 2])
            .collect();
        assert_eq!(Stamp::read_scaled(&half, 320, 180, 0.5), Some(s));
        assert_eq!(Stamp::read_scaled(&half, 320, 180, 1.0), None);
    }

    #[test]
    fn a_stamp_reads_back_and_a_damaged_one_does_not() {
        let mut f = I420Frame::black(640, 360);
        let s = Stamp {
            frame: 123_456,
            capture_ms: 1_795_000_000_123,
        };
        s.write(&mut f);
        assert_eq!(Stamp::read(&f), Some(s));
        // Flip one block: the checksum catches it.
        let w = f.width();
        for row in 0..8 {
            for col in 0..8 {
                let p = &mut f.y_mut()[row * w + col];
                *p = 255 - *p;
            }
        }
        assert_eq!(Stamp::read(&f), None);
        assert_eq!(Stamp::read(&I420Frame::black(640, 360)), None);
    }
}
