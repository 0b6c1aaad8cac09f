//! H.264 RTP → access units, sans-IO. Packets may arrive late, twice, or out of order (NACK
//! retransmissions); a frame leaves only when every packet from the previous frame's marker to
//! its own marker is here. A hole that does not fill within `wait` is given up: the frames
//! after it reference what was lost, so they are dropped until the next IDR, and the caller
//! asks for one (PLI).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::rtp::codec::h264::H264Packet;
use rtc::rtp::packetizer::Depacketizer;
use switchboard_media::extend_seq;

/// A complete access unit (Annex B).
#[derive(Debug, Clone)]
pub struct AccessUnit {
    pub data: Vec<u8>,
    pub rtp_ts: u32,
    pub keyframe: bool,
}

struct Pkt {
    ts: u32,
    marker: bool,
    payload: Bytes,
    arrived: Instant,
}

/// What the assembler counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssemblerCounts {
    pub packets: u64,
    pub duplicates: u64,
    pub late: u64,
    /// Frames given up because a packet never came.
    pub frames_incomplete: u64,
    /// Complete frames dropped while waiting for a keyframe.
    pub frames_skipped: u64,
}

pub struct Assembler {
    buf: BTreeMap<u64, Pkt>,
    /// Extended sequence number of the next packet we need, once known.
    next: Option<u64>,
    highest: Option<u64>,
    /// A hole was given up: drop frames until an IDR.
    broken: bool,
    wait: Duration,
    pub counts: AssemblerCounts,
}

pub(crate) fn is_keyframe(annexb: &[u8]) -> bool {
    // NAL types after each start code: 5 = IDR slice, 7 = SPS.
    annexb
        .windows(4)
        .any(|w| w[..3] == [0, 0, 1] && matches!(w[3] & 0x1f, 5 | 7))
}

impl Assembler {
    /// `wait`: how long a hole may stay open for a retransmission.
    pub fn new(wait: Duration) -> Self {
        Self {
            buf: BTreeMap::new(),
            next: None,
            highest: None,
            broken: false,
            wait,
            counts: AssemblerCounts::default(),
        }
    }

    /// True while frames are being dropped for want of a keyframe.
    pub fn needs_keyframe(&self) -> bool {
        self.broken
    }

    /// Forget the decoder state: the next frame must be an IDR (a receiver that reset its
    /// decoder).
    pub fn reset(&mut self) {
        self.broken = true;
    }

    /// Takes one packet; returns the access units it completed (possibly none).
    pub fn push(
        &mut self,
        seq: u16,
        ts: u32,
        marker: bool,
        payload: Bytes,
        now: Instant,
    ) -> Vec<AccessUnit> {
        self.counts.packets += 1;
        let ext = extend_seq(seq, self.highest.unwrap_or(u64::from(seq) + (1 << 32)));
        if self.highest.is_none_or(|h| ext > h) {
            self.highest = Some(ext);
        }
        let next = *self.next.get_or_insert(ext);
        if ext < next {
            self.counts.late += 1;
            return Vec::new();
        }
        if self.buf.contains_key(&ext) {
            self.counts.duplicates += 1;
            return Vec::new();
        }
        self.buf.insert(
            ext,
            Pkt {
                ts,
                marker,
                payload,
                arrived: now,
            },
        );
        self.drain(now)
    }

    /// Gives up holes older than `wait`; call now and then even when no packet arrives.
    pub fn poll(&mut self, now: Instant) -> Vec<AccessUnit> {
        self.drain(now)
    }

    fn drain(&mut self, now: Instant) -> Vec<AccessUnit> {
        let mut out = Vec::new();
        loop {
            if let Some(au) = self.take_frame() {
                if let Some(au) = au {
                    out.push(au);
                }
                continue;
            }
            if !self.give_up_hole(now) {
                break;
            }
        }
        out
    }

    /// A complete frame at the head of the buffer: `Some(Some(au))`; `Some(None)` when a frame
    /// or padding was consumed without output; `None` when the head is incomplete.
    fn take_frame(&mut self) -> Option<Option<AccessUnit>> {
        let next = self.next?;
        let first = self.buf.get(&next)?;
        if first.payload.is_empty() {
            // Padding-only packets use sequence numbers but carry no media.
            self.buf.remove(&next);
            self.next = Some(next + 1);
            return Some(None);
        }
        let ts = first.ts;
        let mut end = next;
        loop {
            let p = self.buf.get(&end)?;
            if p.ts != ts {
                // The frame ended without a marker (its last packet was lost and a new frame
                // began): treat it as incomplete.
                return self.discard_through(end - 1).then_some(None);
            }
            if p.marker {
                break;
            }
            end += 1;
        }
        let mut depacketizer = H264Packet::default();
        let mut data = Vec::new();
        let mut ok = true;
        for seq in next..=end {
            if let Some(p) = self.buf.remove(&seq) {
                match depacketizer.depacketize(&p.payload) {
                    Ok(bytes) => data.extend_from_slice(&bytes),
                    Err(_) => ok = false,
                }
            }
        }
        self.next = Some(end + 1);
        let keyframe = ok && is_keyframe(&data);
        if !ok {
            self.counts.frames_incomplete += 1;
            self.broken = true;
            return Some(None);
        }
        if self.broken && !keyframe {
            self.counts.frames_skipped += 1;
            return Some(None);
        }
        self.broken = false;
        Some(Some(AccessUnit {
            data,
            rtp_ts: ts,
            keyframe,
        }))
    }

    fn discard_through(&mut self, last: u64) -> bool {
        let Some(next) = self.next else {
            return false;
        };
        for seq in next..=last {
            self.buf.remove(&seq);
        }
        self.next = Some(last + 1);
        self.counts.frames_incomplete += 1;
        self.broken = true;
        true
    }

    /// When a missing packet is overdue — a later one arrived more than `wait` ago and it still
    /// has not come — skip past the broken frame to the next one whose first packet we hold. A
    /// large frame still arriving over a slow link has no gap and is left to complete.
    fn give_up_hole(&mut self, now: Instant) -> bool {
        let Some(next) = self.next else {
            return false;
        };
        let missing = (next..)
            .zip(self.buf.range(next..))
            .find(|(expected, (seq, _))| *seq != expected)
            .map(|(expected, _)| expected);
        let Some(missing) = missing else {
            return false;
        };
        let Some((_, after)) = self.buf.range(missing..).next() else {
            return false;
        };
        if now.duration_since(after.arrived) < self.wait {
            return false;
        }
        // The frame with the hole is broken; resume at the first packet of a later timestamp.
        let broken_ts = after.ts;
        let resume = self
            .buf
            .range(missing..)
            .find(|(_, p)| p.ts != broken_ts)
            .map(|(s, _)| *s);
        let stop = resume.unwrap_or(self.highest.unwrap_or(missing) + 1);
        let doomed: Vec<u64> = self.buf.range(..stop).map(|(s, _)| *s).collect();
        for s in doomed {
            self.buf.remove(&s);
        }
        self.next = Some(stop.max(next));
        self.counts.frames_incomplete += 1;
        self.broken = true;
        true
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Single-NAL packets: frame `n` is packets `3n..3n+3`, an IDR every 10 frames.
    fn packets(frames: u32) -> Vec<(u16, u32, bool, Bytes)> {
        let mut out = Vec::new();
        for f in 0..frames {
            for i in 0..3u32 {
                let nal = if f % 10 == 0 && i == 0 { 0x65 } else { 0x41 };
                out.push((
                    (f * 3 + i) as u16,
                    f * 3000,
                    i == 2,
                    Bytes::from(vec![nal, f as u8, i as u8]),
                ));
            }
        }
        out
    }

    #[test]
    fn in_order_packets_make_every_frame() {
        let mut a = Assembler::new(Duration::from_millis(100));
        let now = Instant::now();
        let n: usize = packets(30)
            .into_iter()
            .map(|(s, t, m, p)| a.push(s, t, m, p, now).len())
            .sum();
        assert_eq!(n, 30);
    }

    #[test]
    fn reordered_packets_wait_for_each_other() {
        let mut a = Assembler::new(Duration::from_millis(100));
        let now = Instant::now();
        let mut p = packets(10);
        p.swap(4, 5);
        p.swap(10, 12);
        let n: usize = p
            .into_iter()
            .map(|(s, t, m, p)| a.push(s, t, m, p, now).len())
            .sum();
        assert_eq!(n, 10);
        assert!(!a.needs_keyframe());
    }

    #[test]
    fn a_lost_packet_drops_frames_until_the_next_idr() {
        let mut a = Assembler::new(Duration::from_millis(100));
        let t0 = Instant::now();
        let mut made = Vec::new();
        for (i, (s, t, m, p)) in packets(25).into_iter().enumerate() {
            if s == 7 {
                continue; // frame 2 loses a packet for good
            }
            let now = t0 + Duration::from_millis(i as u64 * 11);
            made.extend(a.push(s, t, m, p, now));
        }
        let frames: Vec<u32> = made.iter().map(|au| au.rtp_ts / 3000).collect();
        assert_eq!(&frames[..2], &[0, 1]);
        // Frames 3..9 reference the lost one: skipped until the IDR at 10.
        assert_eq!(frames[2], 10);
        assert!(made[2].keyframe);
        assert_eq!(frames.len(), 2 + 15);
        assert!(a.counts.frames_incomplete >= 1);
    }

    #[test]
    fn a_big_frame_arriving_slowly_is_not_given_up() {
        let mut a = Assembler::new(Duration::from_millis(100));
        let t0 = Instant::now();
        let mut n = 0;
        // One IDR of 40 packets spread over 800 ms (a slow link), then a small frame.
        for i in 0..40u16 {
            let nal = if i == 0 { 0x65 } else { 0x41 };
            let at = t0 + Duration::from_millis(u64::from(i) * 20);
            n += a
                .push(i, 0, i == 39, Bytes::from(vec![nal, 1, 2]), at)
                .len();
            n += a.poll(at).len();
        }
        n += a
            .push(40, 3000, true, Bytes::from(vec![0x41, 1, 2]), t0)
            .len();
        assert_eq!(n, 2);
        assert!(!a.needs_keyframe());
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut a = Assembler::new(Duration::from_millis(100));
        let now = Instant::now();
        let mut n = 0;
        for (s, t, m, p) in packets(20) {
            n += a.push(s.wrapping_add(65_530), t, m, p, now).len();
        }
        assert_eq!(n, 20);
    }

    #[test]
    fn padding_between_frames_is_skipped() {
        let mut a = Assembler::new(Duration::from_millis(100));
        let now = Instant::now();
        let (mut seq, mut n) = (0u16, 0);
        for f in 0..5u32 {
            for i in 0..3u8 {
                let nal = if f == 0 && i == 0 { 0x65 } else { 0x41 };
                let p = Bytes::from(vec![nal, i, 0]);
                n += a.push(seq, f * 3000, i == 2, p, now).len();
                seq += 1;
            }
            n += a.push(seq, f * 3000, false, Bytes::new(), now).len();
            seq += 1;
        }
        assert_eq!(n, 5);
        assert!(!a.needs_keyframe());
    }
}
