//! The pattern camera through OpenH264 and back: every frame decodes, in order, with its stamp.
#![allow(clippy::unwrap_used)]

use switchboard_media::{H264Decoder, H264Encoder, PatternCamera, Stamp};

#[test]
fn pattern_frames_survive_h264_with_their_stamps_in_order() {
    let mut camera = PatternCamera::new(640, 360);
    let mut enc = H264Encoder::new(800_000, 30.0, 60, false).unwrap();
    let mut dec = H264Decoder::new().unwrap();
    let mut read = Vec::new();
    let mut bytes = 0;
    for i in 0..90u64 {
        if i == 45 {
            enc.force_keyframe();
        }
        let frame = camera.frame(1_795_000_000_000 + i * 33);
        let au = enc.encode(&frame).unwrap();
        assert!(!au.is_empty(), "frame {i} was not encoded");
        bytes += au.len();
        if let Some(picture) = dec.decode(&au).unwrap() {
            assert_eq!((picture.width(), picture.height()), (640, 360));
            read.push(Stamp::read(&picture).expect("a stamp in every decoded frame"));
        }
    }
    assert_eq!(read.len(), 90, "every frame decodes");
    for (i, s) in read.iter().enumerate() {
        assert_eq!(s.frame, i as u32);
        assert_eq!(s.capture_ms, 1_795_000_000_000 + i as u64 * 33);
    }
    // Bars compress well: far below the 800 kbps target is fine, far above is not.
    let kbps = bytes as f64 * 8.0 / 3.0 / 1000.0;
    assert!((10.0..1000.0).contains(&kbps), "{kbps} kbps");
}

#[test]
fn tone_marks_survive_opus_and_a_lost_packet_is_concealed() {
    use switchboard_media::audio::{FRAME, MARK_EVERY};
    use switchboard_media::{MeterSpeaker, OpusDecoder, OpusEncoder, ToneMicrophone};

    let mut mic = ToneMicrophone::new();
    let mut enc = OpusEncoder::new(32_000, 10).unwrap();
    let mut dec = OpusDecoder::new().unwrap();
    let mut meter = MeterSpeaker::new();
    let packets: Vec<Vec<u8>> = (0..250)
        .map(|_| enc.encode(&mic.frame()).unwrap())
        .collect();
    let lost = 60; // a packet inside the tone, between marks
    for (i, p) in packets.iter().enumerate() {
        let pcm = if i == lost {
            dec.conceal(packets.get(i + 1).map(|p| p.as_slice()))
                .unwrap()
        } else {
            dec.decode(p).unwrap()
        };
        meter.play(&pcm);
    }
    assert_eq!(meter.samples(), 250 * FRAME);
    let marks = meter.marks();
    // 5 s of audio: marks at 0, 0.5 s, … 4.5 s, in order of their frequencies.
    assert_eq!(marks.len(), 10, "{marks:?}");
    for (k, m) in marks.iter().enumerate() {
        assert_eq!(m.phase, k % 4);
        // Opus delays by a few ms (lookahead); the meter resolves 10 ms.
        let expected = k * MARK_EVERY;
        assert!(
            m.at_sample >= expected && m.at_sample <= expected + 960,
            "mark {k} at {} (expected about {expected})",
            m.at_sample
        );
    }
    let level = meter.level_dbfs();
    assert!((-30.0..-10.0).contains(&level), "{level} dBFS");
}
