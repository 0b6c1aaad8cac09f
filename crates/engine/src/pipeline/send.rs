//! The send side, per peer and track: encode, pace to the bitrate the receiver reports allow,
//! keyframes on request.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::media::Sample;
use rtc::rtcp::receiver_report::ReceiverReport;
use switchboard_media::audio::FRAME;
use switchboard_media::{H264Encoder, HoldMusic, I420Frame, OpusEncoder};
use tokio::sync::{broadcast, watch};
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};

use crate::feedback::{LossController, ntp_now, rtt_ms};
use crate::profile::VideoProfile;
use crate::rtc_builder::{LocalTrack, START_BPS, is_keyframe_request, remb};
use crate::stats::quality;

use super::*;

/// Encodes the camera (or the shared screen) for one peer and writes it to the peer's video
/// (or screen) track; forces a keyframe when the peer asks (PLI/FIR); follows the congestion
/// controller's target bitrate. On a supervisor's connection it encodes nothing: it forwards
/// the pictures the customer's connection carries ([`VideoKind::forwarded`]), from a keyframe
/// on, and passes the supervisor's PLI on. Their bitrate is the customer's connection's: a
/// supervisor's path slower than that would lose pictures, not slow the customer's down.
pub async fn send_video(
    shared: Arc<PeerShared>,
    local: LocalTrack,
    mut frames: broadcast::Receiver<Arc<I420Frame>>,
    profile: watch::Receiver<VideoProfile>,
    kind: VideoKind,
) {
    let target_bps = kind.target(&shared);
    let mut encoder: Option<(H264Encoder, usize, usize, u32)> = None;
    let mut payload_type = None;
    let mut last_write: Option<Instant> = None;
    let mut rate_window = (Instant::now(), 0u64);
    let mut applied_bps = 0u64;
    let mut last_forced: Option<Instant> = None;
    let mut loss = LossController::new(START_BPS);
    let mut loss_cap = START_BPS;
    // The receiver's delay-based estimate (REMB), once it has seen the path's limit.
    let mut delay_cap = f64::MAX;
    let (bus, keyframe_wanted) = kind.forwarded(&shared.buses);
    let mut forwarded = bus.subscribe();
    let mut forward_open = true;
    // Forwarding: (waiting for a keyframe, last write).
    let mut forwarding: Option<(bool, Instant)> = None;
    loop {
        tokio::select! {
            ev = local.track.poll() => match ev {
                Some(TrackLocalEvent::OnRtcpPacket(packets)) => {
                    for bps in packets.iter().filter_map(|p| remb(p.as_ref())) {
                        delay_cap = bps;
                        target_bps.store(loss_cap.min(delay_cap) as u64, Ordering::Relaxed);
                    }
                    for rr in packets.iter().filter_map(|p| p.as_any().downcast_ref::<ReceiverReport>()) {
                        for r in rr.reports.iter().filter(|r| r.ssrc == local.ssrc) {
                            let fraction = f64::from(r.fraction_lost) / 256.0;
                            let target = target_bps.load(Ordering::Relaxed) as f64;
                            loss_cap = loss.on_report(fraction, target, Instant::now());
                            target_bps.store(loss_cap.min(delay_cap) as u64, Ordering::Relaxed);
                            let rtt = rtt_ms(r.last_sender_report, r.delay, ntp_now());
                            let jitter_ms = f64::from(r.jitter) / 90.0;
                            shared.update(|s| {
                                if rtt.is_some() {
                                    s.rtt_ms = rtt;
                                }
                                kind.stats(s).far_loss = fraction;
                                s.quality = quality(fraction, s.rtt_ms.unwrap_or(0.0), jitter_ms.max(s.audio.jitter_ms));
                            });
                        }
                    }
                    if packets.iter().any(|p| is_keyframe_request(p.as_ref())) {
                        shared.update(|s| kind.stats(s).keyframe_requests_received += 1);
                        if forwarding.is_some() {
                            keyframe_wanted.store(true, Ordering::Relaxed);
                        }
                        // Several receivers (or a repeated request) within 300 ms get one IDR:
                        // each is large, and a storm of them would starve the link.
                        if let Some((e, ..)) = encoder.as_mut()
                            && last_forced.is_none_or(|t: Instant| t.elapsed() > Duration::from_millis(300))
                        {
                            e.force_keyframe();
                            last_forced = Some(Instant::now());
                        }
                    }
                }
                Some(_) => {}
                None => return,
            },
            au = forwarded.recv(), if forward_open => {
                let au = match au {
                    Ok(au) => au,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        shared.update(|s| kind.stats(s).skipped += n);
                        forwarding = forwarding.map(|(_, t)| (true, t));
                        keyframe_wanted.store(true, Ordering::Relaxed);
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        forward_open = false;
                        continue;
                    }
                };
                // The agent's camera goes only to a supervisor who asked for video.
                let muted = kind == VideoKind::Camera && shared.video_muted.load(Ordering::Relaxed);
                if !shared.may_send() || !shared.with_customer.load(Ordering::Relaxed) || muted {
                    forwarding = None;
                    continue;
                }
                let now = Instant::now();
                let (waiting, last) = forwarding.get_or_insert_with(|| {
                    keyframe_wanted.store(true, Ordering::Relaxed);
                    (true, now)
                });
                if *waiting && !crate::assemble::is_keyframe(&au) {
                    continue;
                }
                *waiting = false;
                let duration = (now - *last).max(Duration::from_millis(1));
                *last = now;
                if payload_type.is_none() {
                    payload_type = local.payload_type().await;
                }
                let Some(pt) = payload_type else { continue };
                let sample = Sample { data: au, duration, ..Sample::new(now) };
                if local.track.sample_writer(local.ssrc, pt).write_sample(&sample).await.is_ok() {
                    shared.update(|s| {
                        let v = kind.stats(s);
                        v.sent += 1;
                        v.forwarded += 1;
                    });
                }
            }
            frame = frames.recv() => {
                let frame = match frame {
                    Ok(f) => f,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        shared.update(|s| kind.stats(s).skipped += n);
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if !shared.may_send() || kind.off(&shared) {
                    // Start again with a keyframe when sending resumes.
                    encoder = None;
                    last_write = None;
                    continue;
                }
                let p = *profile.borrow();
                // (fps, ceiling, frames between IDRs). A shared screen takes half the
                // camera's ceiling: the screen is what the far side reads.
                let (fps, max_bps, idr_every) = match kind {
                    VideoKind::Camera if shared.screen_on.load(Ordering::Relaxed) => (p.fps, p.max_bps / 2, p.fps * 4),
                    VideoKind::Camera => (p.fps, p.max_bps, p.fps * 4),
                    // Keyframes of a screen are large and rarely needed: PLI asks for one.
                    VideoKind::Screen => (SCREEN_MAX_FPS, SCREEN_MAX_BPS, SCREEN_MAX_FPS * 10),
                };
                let target = target_bps.load(Ordering::Relaxed).min(max_bps);
                let (w, h) = (frame.width(), frame.height());
                if encoder.as_ref().is_none_or(|(_, ew, eh, efps)| (*ew, *eh, *efps) != (w, h, fps)) {
                    match H264Encoder::new(target as u32, fps as f32, idr_every, kind == VideoKind::Screen) {
                        Ok(e) => {
                            encoder = Some((e, w, h, fps));
                            applied_bps = target;
                        }
                        Err(e) => {
                            tracing::error!("cannot start the H.264 encoder: {e}");
                            return;
                        }
                    }
                }
                let Some((enc, ..)) = encoder.as_mut() else { continue };
                // Supervision: a supervisor's connection forwards what we encode for the
                // customer, and asks through us for its keyframes.
                let to_supervisor = kind == VideoKind::Camera && shared.to_supervisor.load(Ordering::Relaxed);
                if to_supervisor
                    && keyframe_wanted.swap(false, Ordering::Relaxed)
                    && last_forced.is_none_or(|t: Instant| t.elapsed() > Duration::from_millis(300))
                {
                    enc.force_keyframe();
                    last_forced = Some(Instant::now());
                }
                // Follow the estimate when it moved by more than 5 %.
                if target.abs_diff(applied_bps) * 20 > applied_bps {
                    enc.set_bitrate(target as u32);
                    applied_bps = target;
                }
                let au = match enc.encode(&frame) {
                    Ok(au) => au,
                    Err(e) => {
                        tracing::warn!("encode failed: {e}");
                        continue;
                    }
                };
                if au.is_empty() {
                    // The rate controller skipped this frame.
                    shared.update(|s| kind.stats(s).skipped += 1);
                    continue;
                }
                if payload_type.is_none() {
                    payload_type = local.payload_type().await;
                }
                let Some(pt) = payload_type else { continue };
                let now = Instant::now();
                let duration = last_write.map_or(Duration::from_secs(1) / fps, |t| now - t);
                last_write = Some(now);
                let bytes = au.len() as u64;
                let data = Bytes::from(au);
                if to_supervisor {
                    let _ = bus.send(data.clone());
                }
                let sample = Sample {
                    data,
                    duration,
                    ..Sample::new(now)
                };
                if local.track.sample_writer(local.ssrc, pt).write_sample(&sample).await.is_ok() {
                    rate_window.1 += bytes * 8;
                    let elapsed = rate_window.0.elapsed();
                    let bps = if elapsed >= Duration::from_secs(1) {
                        let bps = (rate_window.1 as f64 / elapsed.as_secs_f64()) as u64;
                        rate_window = (Instant::now(), 0);
                        Some(bps)
                    } else {
                        None
                    };
                    shared.update(|s| {
                        let v = kind.stats(s);
                        v.sent += 1;
                        if let Some(bps) = bps {
                            v.send_bps = bps;
                        }
                    });
                }
            }
        }
    }
}

/// Encodes the microphone for one peer (Opus, 20 ms, in-band FEC) and writes it; while we
/// hold the call, the music on hold instead (from its start, paced by the microphone's
/// frames, so it needs no clock of its own).
pub async fn send_audio(
    shared: Arc<PeerShared>,
    local: LocalTrack,
    mut frames: broadcast::Receiver<Arc<[i16; FRAME]>>,
    hold_music: Arc<std::sync::Mutex<HoldMusic>>,
) {
    let mut music: Option<HoldMusic> = None;
    let mut encoder = match OpusEncoder::new(32_000, 10) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!("cannot start the Opus encoder: {e}");
            return;
        }
    };
    let mut payload_type = None;
    loop {
        let frame = match frames.recv().await {
            Ok(f) => f,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if !shared.may_send() {
            continue;
        }
        let held = if shared.held.load(Ordering::Relaxed) {
            Some(
                music
                    .get_or_insert_with(|| lock(&hold_music).clone())
                    .frame(),
            )
        } else {
            music = None;
            None
        };
        // What a supervision adds: the customer's voice to the supervisor, the barging
        // supervisor's to the customer (taken every frame, so the bus never runs behind).
        let bus = if shared.with_customer.load(Ordering::Relaxed) {
            lock(&shared.buses.to_supervisor).mix()
        } else if shared.with_supervisor.load(Ordering::Relaxed) && held.is_none() {
            lock(&shared.buses.to_customer).mix()
        } else {
            None
        };
        let muted = shared.audio_muted.load(Ordering::Relaxed);
        // Muted or not, a held party hears the music, and a supervisor the customer.
        if held.is_none() && muted && bus.is_none() {
            continue;
        }
        let mixed = bus.map(|b| {
            let mine = if muted { [0; FRAME] } else { *frame };
            mix2(&mine, &b)
        });
        let pcm = held.as_ref().or(mixed.as_ref()).unwrap_or(&frame);
        let packet = match encoder.encode(pcm) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("opus encode failed: {e}");
                continue;
            }
        };
        if payload_type.is_none() {
            payload_type = local.payload_type().await;
        }
        let Some(pt) = payload_type else { continue };
        let sample = Sample {
            data: Bytes::from(packet),
            duration: Duration::from_millis(20),
            ..Sample::new(Instant::now())
        };
        if local
            .track
            .sample_writer(local.ssrc, pt)
            .write_sample(&sample)
            .await
            .is_ok()
        {
            shared.update(|s| s.audio.sent += 1);
        }
    }
}

/// Two frames summed, saturating (speech rarely peaks together; a clip beats a wrap).
fn mix2(a: &[i16; FRAME], b: &[i16; FRAME]) -> [i16; FRAME] {
    let mut out = [0i16; FRAME];
    for ((o, x), y) in out.iter_mut().zip(a.iter()).zip(b.iter()) {
        *o = x.saturating_add(*y);
    }
    out
}
