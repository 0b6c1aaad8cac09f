//! The group-call mixer: one 20 ms frame from each remote member summed into what the speaker
//! plays (and what the echo canceller hears as the far end).

use std::collections::{HashMap, VecDeque};

use crate::audio::FRAME;

/// A source this many frames ahead of the speaker has its oldest dropped: each member's jitter
/// buffer already smooths arrival, so a queue here would only add latency.
const MAX_QUEUED: usize = 3;

#[derive(Debug, Default)]
pub struct Mixer {
    sources: HashMap<u64, VecDeque<[i16; FRAME]>>,
    /// Frames dropped because a source ran ahead of the speaker.
    pub overflows: u64,
}

impl Mixer {
    pub fn new() -> Self {
        Self::default()
    }

    /// A member's next decoded frame.
    pub fn push(&mut self, source: u64, frame: &[i16; FRAME]) {
        let q = self.sources.entry(source).or_default();
        q.push_back(*frame);
        if q.len() > MAX_QUEUED {
            q.pop_front();
            self.overflows += 1;
        }
    }

    /// A member left.
    pub fn remove(&mut self, source: u64) {
        self.sources.remove(&source);
    }

    /// The next 20 ms: the sum of one frame from every member that has one, scaled down as a
    /// whole when the sum would clip (no wrap-around, no hard-clipped distortion). `None` when
    /// nobody had anything to play.
    pub fn mix(&mut self) -> Option<[i16; FRAME]> {
        let mut sum = [0i32; FRAME];
        let mut any = false;
        for q in self.sources.values_mut() {
            if let Some(f) = q.pop_front() {
                any = true;
                for (s, x) in sum.iter_mut().zip(f.iter()) {
                    *s += i32::from(*x);
                }
            }
        }
        if !any {
            return None;
        }
        let peak = sum.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        let limit = i16::MAX as u32;
        let mut out = [0i16; FRAME];
        for (o, s) in out.iter_mut().zip(sum.iter()) {
            *o = if peak > limit {
                (i64::from(*s) * i64::from(limit) / i64::from(peak)) as i16
            } else {
                *s as i16
            };
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_summed_and_loud_sums_scaled_not_wrapped() {
        let mut m = Mixer::new();
        assert_eq!(m.mix(), None);
        m.push(1, &[1000; FRAME]);
        m.push(2, &[-300; FRAME]);
        assert_eq!(m.mix(), Some([700; FRAME]));
        // Both queues are empty again.
        assert_eq!(m.mix(), None);
        m.push(1, &[30_000; FRAME]);
        m.push(2, &[30_000; FRAME]);
        let loud = m.mix().unwrap_or([0; FRAME]);
        assert_eq!(
            loud[0],
            i16::MAX,
            "scaled to full scale, not wrapped negative"
        );
    }

    #[test]
    fn a_member_running_ahead_is_trimmed_and_one_that_left_is_gone() {
        let mut m = Mixer::new();
        for i in 0..5 {
            m.push(7, &[i; FRAME]);
        }
        assert_eq!(m.overflows, 2);
        assert_eq!(m.mix().map(|f| f[0]), Some(2));
        m.remove(7);
        assert_eq!(m.mix(), None);
    }
}
