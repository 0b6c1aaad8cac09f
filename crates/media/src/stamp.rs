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
        let w = frame.width();
        if w < STAMP_SIZE.0 || frame.height() < STAMP_SIZE.1 {
            return None;
        }
        let y = frame.y();
        let mut got = [false; BITS];
        for (i, bit) in got.iter_mut().enumerate() {
            let (bx, by) = ((i % PER_ROW) * BLOCK, (i / PER_ROW) * BLOCK);
            // The inner 4×4 of each block: edges are where compression smears.
            let mut sum = 0u32;
            for row in by + 2..by + 6 {
                for col in bx + 2..bx + 6 {
                    sum += u32::from(y[row * w + col]);
                }
            }
            *bit = sum / 16 > 125;
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
