//! The receive side, per peer and track: video through the assembler and the decoder (PLI
//! when the picture cannot go on), audio through the jitter buffer and Opus to the mixer.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::rtcp::sender_report::SenderReport;
use rtc::shared::time::SystemInstant;
use switchboard_media::{H264Decoder, JitterBuffer, MeterSpeaker, OpusDecoder, Playout, Stamp};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use crate::assemble::Assembler;
use crate::estimate::DelayEstimator;
use crate::rtc_builder::{pli, remb_packet};

use super::*;

/// Receives one remote video track: reassembles, decodes, reads the pattern's stamp, counts,
/// and asks for a keyframe whenever the picture cannot go on.
pub async fn receive_video(shared: Arc<PeerShared>, track: Arc<dyn TrackRemote>, kind: VideoKind) {
    let mut decoder = match H264Decoder::new() {
        Ok(d) => d,
        Err(e) => {
            tracing::error!("cannot start the H.264 decoder: {e}");
            return;
        }
    };
    // A hole may stay open this long for a NACK retransmission.
    let mut assembler = Assembler::new(Duration::from_millis(600));
    let mut media_ssrc = 0u32;
    let mut last_pli: Option<Instant> = None;
    let mut last_frame: Option<u32> = None;
    let mut first_frame: Option<u32> = None;
    let mut first = true;
    let mut estimator = DelayEstimator::new();
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        let units = tokio::select! {
            ev = track.poll() => match ev {
                Some(TrackRemoteEvent::OnRtpPacket(pkt)) => {
                    media_ssrc = pkt.header.ssrc;
                    let size = pkt.payload.len() + 12;
                    if let Some(bps) = estimator.on_packet(pkt.header.sequence_number, pkt.header.timestamp, size, Instant::now()) {
                        let _ = track.write_rtcp(remb_packet(media_ssrc, bps)).await;
                        shared.update(|s| kind.stats(s).remote_estimate_bps = bps as u64);
                    }
                    assembler.push(pkt.header.sequence_number, pkt.header.timestamp, pkt.header.marker, pkt.payload, Instant::now())
                }
                Some(TrackRemoteEvent::OnEnded) | None => return,
                Some(_) => continue,
            },
            _ = tick.tick() => assembler.poll(Instant::now()),
        };
        if shared.reset_decoder.swap(false, Ordering::Relaxed) {
            match H264Decoder::new() {
                Ok(d) => decoder = d,
                Err(e) => tracing::error!("cannot restart the H.264 decoder: {e}"),
            }
            assembler.reset();
        }
        // Supervision: a supervisor's connection that starts (or lost pictures) needs an IDR,
        // and only the customer can make one.
        let forwarding = kind == VideoKind::Camera && shared.to_supervisor.load(Ordering::Relaxed);
        if forwarding
            && media_ssrc != 0
            && shared
                .buses
                .customer_keyframe
                .swap(false, Ordering::Relaxed)
        {
            let _ = track.write_rtcp(pli(media_ssrc)).await;
        }
        for au in units {
            shared.update(|s| kind.stats(s).received += 1);
            if forwarding {
                // No supervisor listening yet is no error.
                let _ = shared
                    .buses
                    .customer_video
                    .send(Bytes::copy_from_slice(&au.data));
            }
            match decoder.decode(&au.data) {
                Ok(Some(picture)) => {
                    let now = Instant::now();
                    let stamp = Stamp::read(&picture);
                    if first {
                        first = false;
                        (shared.first_media)(kind.media(), now);
                    }
                    if let Some(st) = stamp {
                        let lat = unix_ms().saturating_sub(st.capture_ms);
                        lock(kind.latency(&shared)).push(lat);
                        first_frame.get_or_insert(st.frame);
                    }
                    let in_order = match (stamp, last_frame) {
                        (Some(st), Some(prev)) => st.frame > prev,
                        (Some(_), None) => true,
                        _ => false,
                    };
                    if let Some(st) = stamp
                        && in_order
                    {
                        last_frame = Some(st.frame);
                    }
                    let (w, h) = (picture.width() as u32, picture.height() as u32);
                    shared.update(|s| {
                        let v = kind.stats(s);
                        v.decoded += 1;
                        v.width = w;
                        v.height = h;
                        if in_order {
                            v.in_order += 1;
                        }
                        if let (Some(a), Some(b)) = (first_frame, last_frame) {
                            v.lost = (u64::from(b - a) + 1).saturating_sub(v.in_order);
                        }
                    });
                    let _ = kind.frames(&shared).send(RemoteFrame {
                        picture: Arc::new(picture),
                        stamp,
                        decoded_at: now,
                    });
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!("decode failed, asking for a keyframe: {e}");
                    assembler.reset();
                }
            }
        }
        let counts = assembler.counts;
        shared.update(|s| kind.stats(s).dropped = counts.frames_incomplete + counts.frames_skipped);
        if assembler.needs_keyframe()
            && media_ssrc != 0
            // One request per half second: the keyframe it asks for needs time to arrive.
            && last_pli.is_none_or(|t| t.elapsed() > Duration::from_millis(500))
        {
            last_pli = Some(Instant::now());
            if track.write_rtcp(pli(media_ssrc)).await.is_ok() {
                shared.update(|s| kind.stats(s).keyframes_requested += 1);
            }
        }
    }
}

/// Receives one remote audio track and plays it every 20 ms into the meter.
pub async fn receive_audio(shared: Arc<PeerShared>, track: Arc<dyn TrackRemote>) {
    let mut decoder = match OpusDecoder::new() {
        Ok(d) => d,
        Err(e) => {
            tracing::error!("cannot start the Opus decoder: {e}");
            return;
        }
    };
    let mut jitter = JitterBuffer::new();
    let mut meter = MeterSpeaker::new();
    // The sender's clock: (RTP timestamp, Unix ms) from its latest sender report.
    let mut sender_clock: Option<(u32, f64)> = None;
    let mut first = true;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    // After a stall, do not play the missed ticks in a burst: that would run the play position
    // ahead of packets still on their way and turn them into late ones. The buffer trims
    // itself instead when it has grown.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            ev = track.poll() => match ev {
                Some(TrackRemoteEvent::OnRtpPacket(pkt)) => {
                    if pkt.payload.is_empty() { continue; }
                    jitter.push(pkt.header.sequence_number, pkt.header.timestamp, pkt.payload.to_vec(), Instant::now());
                }
                Some(TrackRemoteEvent::OnRtcpPacket(packets)) => {
                    for sr in packets.iter().filter_map(|p| p.as_any().downcast_ref::<SenderReport>()) {
                        let unix = SystemInstant::ntp2unix(sr.ntp_time).as_secs_f64() * 1000.0;
                        sender_clock = Some((sr.rtp_time, unix));
                    }
                }
                Some(TrackRemoteEvent::OnEnded) | None => return,
                Some(_) => {}
            },
            _ = tick.tick() => {
                let pcm = match jitter.pop() {
                    Playout::Packet(p) => {
                        // Capture → play: the packet's RTP time on the sender's wall clock.
                        if let (Some((rtp0, unix0)), Some(ts)) = (sender_clock, jitter.played_ts()) {
                            let captured = unix0 + f64::from(ts.wrapping_sub(rtp0) as i32) / 48.0;
                            let ms = unix_ms() as f64 - captured;
                            if (0.0..10_000.0).contains(&ms) {
                                lock(&shared.audio_latency).push(ms as u64);
                            }
                        }
                        decoder.decode(&p).ok()
                    }
                    Playout::Fec(next) => decoder.conceal(Some(&next)).ok(),
                    Playout::Conceal => decoder.conceal(None).ok(),
                    Playout::Silence => None,
                };
                if let Some(pcm) = pcm {
                    // The per-member meter keeps this member's level and marks for the stats.
                    meter.play(&pcm);
                    // A member we hold is not heard (nor recorded as the far end), nor a
                    // supervisor who only listens.
                    if !shared.held.load(Ordering::Relaxed) && !shared.quiet.load(Ordering::Relaxed) {
                        lock(&shared.mixer).push(shared.key, &pcm);
                    }
                    // Supervision: the customer's voice on to the supervisor; a barging
                    // supervisor's on to the customer.
                    if shared.to_supervisor.load(Ordering::Relaxed) {
                        lock(&shared.buses.to_supervisor).push(shared.key, &pcm);
                    }
                    if shared.barging.load(Ordering::Relaxed) {
                        lock(&shared.buses.to_customer).push(shared.key, &pcm);
                    }
                    if first && jitter.counts.played > 0 {
                        first = false;
                        (shared.first_media)("audio", Instant::now());
                    }
                }
                let (c, lost) = (jitter.counts, jitter.lost());
                let marks = meter.marks().len() as u64;
                let (jit, level, tones) = (jitter.jitter_ms(), meter.level_dbfs(), meter.tones());
        let recent = meter.recent_level_dbfs();
                shared.update(|s| {
                    let a = &mut s.audio;
                    a.received = c.received;
                    a.decoded = c.played + c.fec;
                    a.fec = c.fec;
                    a.concealed = c.concealed;
                    // Late packets arrived, but after their turn: counted apart from loss.
                    a.late = c.late;
                    a.lost = lost;
                    a.jitter_ms = jit;
                    a.marks = marks;
                    a.level_dbfs = level;
                    a.recent_level_dbfs = recent;
                    a.tones = tones;
                });
            }
        }
    }
}
