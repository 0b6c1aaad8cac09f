//! An adaptive audio jitter buffer, sans-IO: packets go in as they arrive (any order, twice, or
//! never); every 20 ms the player takes what to play next — a packet, the next packet's in-band
//! FEC when this one is missing, or a concealment. Its depth follows the measured arrival
//! jitter (RFC 3550's estimator): deep enough to ride out the jitter, shallow otherwise.

use std::collections::BTreeMap;
use std::time::Instant;

/// What to play for the next 20 ms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playout {
    /// This packet.
    Packet(Vec<u8>),
    /// The packet is missing but the next one is here: decode its in-band FEC.
    Fec(Vec<u8>),
    /// Missing: conceal (Opus PLC).
    Conceal,
    /// Nothing to play yet (not started, or the far end stopped sending).
    Silence,
}

/// What the buffer counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterCounts {
    pub received: u64,
    pub duplicates: u64,
    /// Arrived after their turn to play.
    pub late: u64,
    pub played: u64,
    pub fec: u64,
    pub concealed: u64,
    /// Dropped to shrink the buffer after a burst.
    pub dropped: u64,
}

/// 20 ms frames at 48 kHz.
const FRAME_TS: f64 = 960.0;
const FRAME_MS: f64 = 20.0;
/// After this many concealed frames in a row the far end is taken to be silent (muted):
/// stop concealing and wait for packets again.
const GIVE_UP_AFTER: u32 = 10;

#[derive(Debug, Clone)]
pub struct JitterBuffer {
    buf: BTreeMap<u64, (u32, Vec<u8>)>,
    /// The lowest sequence number seen (for loss counting).
    first: Option<u64>,
    /// The RTP timestamp of the last packet played.
    played_ts: Option<u32>,
    next: Option<u64>,
    highest: Option<u64>,
    playing: bool,
    misses: u32,
    jitter_ms: f64,
    last: Option<(Instant, u32)>,
    pub counts: JitterCounts,
}

/// A 16-bit (RTP) sequence number as a 64-bit one: of the candidates one wrap below, at and
/// above `reference`, the nearest to it.
pub fn extend_seq(seq: u16, reference: u64) -> u64 {
    let base = reference & !0xffff;
    [
        base.checked_sub(0x1_0000),
        Some(base),
        base.checked_add(0x1_0000),
    ]
    .into_iter()
    .flatten()
    .map(|b| b | u64::from(seq))
    .min_by_key(|c| c.abs_diff(reference))
    .unwrap_or(base | u64::from(seq))
}

impl Default for JitterBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl JitterBuffer {
    pub fn new() -> Self {
        Self {
            buf: BTreeMap::new(),
            first: None,
            played_ts: None,
            next: None,
            highest: None,
            playing: false,
            misses: 0,
            jitter_ms: 0.0,
            last: None,
            counts: JitterCounts::default(),
        }
    }

    /// The interarrival jitter, milliseconds.
    pub fn jitter_ms(&self) -> f64 {
        self.jitter_ms
    }

    /// How many 20 ms frames the buffer aims to hold: the jitter twice over plus a margin,
    /// between 2 and 10 (40–200 ms). Two frames at least: a packet that arrives a few ms
    /// behind its neighbour (scheduling on a busy machine) must still play.
    pub fn target_frames(&self) -> usize {
        (((2.0 * self.jitter_ms + 30.0) / FRAME_MS).ceil() as usize).clamp(2, 10)
    }

    /// Packets that never arrived: gaps between the first and the highest sequence number seen
    /// (late packets did arrive, so they are not lost).
    pub fn lost(&self) -> u64 {
        let expected = match (self.first, self.highest) {
            (Some(f), Some(h)) => h - f + 1,
            _ => 0,
        };
        expected.saturating_sub(self.counts.received + self.counts.late)
    }

    /// The RTP timestamp of the packet the last [`Playout::Packet`] came from.
    pub fn played_ts(&self) -> Option<u32> {
        self.played_ts
    }

    /// Frames buffered ahead of the play position.
    pub fn depth(&self) -> usize {
        self.buf.len()
    }

    pub fn push(&mut self, seq: u16, rtp_ts: u32, payload: Vec<u8>, arrival: Instant) {
        let reference = self.highest.unwrap_or(1 << 20);
        let ext = extend_seq(seq, reference);
        self.first = Some(self.first.map_or(ext, |f| f.min(ext)));
        if let Some((t, ts)) = self.last {
            let arrival_ms = arrival.saturating_duration_since(t).as_secs_f64() * 1000.0;
            let media_ms = f64::from(rtp_ts.wrapping_sub(ts) as i32) / FRAME_TS * FRAME_MS;
            let d = (arrival_ms - media_ms).abs();
            self.jitter_ms += (d - self.jitter_ms) / 16.0;
        }
        if self.highest.is_none_or(|h| ext > h) {
            self.highest = Some(ext);
            self.last = Some((arrival, rtp_ts));
        }
        if self.next.is_some_and(|n| ext < n) {
            self.counts.late += 1;
            return;
        }
        if self.buf.insert(ext, (rtp_ts, payload)).is_some() {
            self.counts.duplicates += 1;
            return;
        }
        self.counts.received += 1;
    }

    /// What to play for the next 20 ms.
    pub fn pop(&mut self) -> Playout {
        if !self.playing {
            if self.buf.len() < self.target_frames() {
                return Playout::Silence;
            }
            self.playing = true;
            self.misses = 0;
            self.next = self.buf.keys().next().copied();
        }
        let Some(mut next) = self.next else {
            return Playout::Silence;
        };
        // After a burst, drop the oldest frames so latency does not stay high.
        while self.buf.len() > self.target_frames() + 3
            && let Some((&first, _)) = self.buf.iter().next()
        {
            self.buf.remove(&first);
            self.counts.dropped += 1;
            next = next.max(first + 1);
        }
        self.next = Some(next + 1);
        if let Some((ts, p)) = self.buf.remove(&next) {
            self.misses = 0;
            self.counts.played += 1;
            self.played_ts = Some(ts);
            return Playout::Packet(p);
        }
        self.misses += 1;
        if self.misses > GIVE_UP_AFTER && self.buf.is_empty() {
            // Nothing is coming (muted, or the call paused): rebuffer when it resumes.
            self.playing = false;
            self.next = None;
            return Playout::Silence;
        }
        if let Some((_, p)) = self.buf.get(&(next + 1)) {
            self.counts.fec += 1;
            return Playout::Fec(p.clone());
        }
        self.counts.concealed += 1;
        Playout::Conceal
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;

    #[test]
    fn steady_packets_play_in_order() {
        let mut j = JitterBuffer::new();
        let t0 = Instant::now();
        let mut played = Vec::new();
        for i in 0..100u16 {
            j.push(
                i,
                u32::from(i) * 960,
                vec![i as u8],
                t0 + Duration::from_millis(u64::from(i) * 20),
            );
            if let Playout::Packet(p) = j.pop() {
                played.push(p[0]);
            }
        }
        assert!(played.len() >= 98, "{}", played.len());
        assert!(played.windows(2).all(|w| w[1] == w[0] + 1));
    }

    #[test]
    fn a_missing_packet_uses_the_next_ones_fec() {
        let mut j = JitterBuffer::new();
        let t0 = Instant::now();
        let mut out = Vec::new();
        for i in 0..20u16 {
            if i != 10 {
                j.push(
                    i,
                    u32::from(i) * 960,
                    vec![i as u8],
                    t0 + Duration::from_millis(u64::from(i) * 20),
                );
            }
            if i >= 1 {
                out.push(j.pop());
            }
        }
        assert!(out.contains(&Playout::Fec(vec![11])), "{out:?}");
        assert_eq!(j.counts.fec, 1);
    }

    #[test]
    fn jitter_deepens_the_buffer() {
        let mut j = JitterBuffer::new();
        let t0 = Instant::now();
        for i in 0..200u16 {
            // Arrivals wobble by ±30 ms.
            let wobble = if i % 2 == 0 { 0 } else { 60 };
            j.push(
                i,
                u32::from(i) * 960,
                vec![0],
                t0 + Duration::from_millis(u64::from(i) * 20 + wobble),
            );
        }
        assert!(j.jitter_ms() > 20.0, "{}", j.jitter_ms());
        assert!(j.target_frames() >= 4, "{}", j.target_frames());
    }

    #[test]
    fn silence_after_the_sender_stops_then_resumes() {
        let mut j = JitterBuffer::new();
        let t0 = Instant::now();
        for i in 0..10u16 {
            j.push(i, u32::from(i) * 960, vec![1], t0);
        }
        let mut silent = 0;
        for _ in 0..40 {
            if j.pop() == Playout::Silence {
                silent += 1;
            }
        }
        assert!(silent > 10);
        for i in 500..510u16 {
            j.push(i, u32::from(i) * 960, vec![2], t0);
        }
        let resumed = (0..5).any(|_| j.pop() == Playout::Packet(vec![2]));
        assert!(resumed);
    }
}
