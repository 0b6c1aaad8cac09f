//! A real sound device end to end: the tone with timing marks played to a sound card's output
//! and captured back from its input, through cpal's ALSA backend and PulseAudio's null sink
//! (`cargo xtask test` starts that PulseAudio and sets PULSE_SERVER; its default source is the
//! null sink's monitor, so what is played is what is captured).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::{Duration, Instant};

use switchboard_media::audio::MARK_EVERY;
use switchboard_media::sound::sound_devices;
use switchboard_media::soundcard::{SoundInput, SoundOutput};
use switchboard_media::{DeviceKind, MeterSpeaker, ToneMicrophone};

#[test]
fn a_tone_played_to_the_sound_card_is_captured_back_with_its_marks() {
    if std::env::var_os("PULSE_SERVER").is_none() {
        eprintln!("skipped: no PULSE_SERVER (cargo xtask test provides one)");
        return;
    }
    let devices = sound_devices();
    let pick = |kind| {
        devices
            .iter()
            .find(|d| d.kind == kind && d.id.ends_with(":pulse"))
            .unwrap_or_else(|| panic!("no PulseAudio {kind:?} in {devices:?}"))
            .id
            .clone()
    };
    let (mic_id, speaker_id) = (pick(DeviceKind::Microphone), pick(DeviceKind::Speaker));
    let mut mic = SoundInput::open(&mic_id).unwrap();
    let mut speaker = SoundOutput::open(&speaker_id).unwrap();
    let mut tone = ToneMicrophone::new();
    let mut meter = MeterSpeaker::new();
    let start = Instant::now();
    let mut played = 0u32;
    // 3.5 s of tone, paced by our clock as the engine's playout is.
    while start.elapsed() < Duration::from_millis(4000) {
        if played < 175 && start.elapsed() >= Duration::from_millis(20 * u64::from(played)) {
            speaker.play(&tone.frame()).unwrap();
            played += 1;
        }
        while let Some(frame) = mic.try_frame().unwrap() {
            meter.play(&frame);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let captured = meter.samples();
    eprintln!(
        "played {played} frames; captured {captured} samples at {} Hz device rate, level {:.1} dBFS, \
         marks {:?}; xruns in {} out {}",
        mic.rate(),
        meter.level_dbfs(),
        meter.marks(),
        mic.counts()
            .xruns
            .load(std::sync::atomic::Ordering::Relaxed),
        speaker
            .counts()
            .xruns
            .load(std::sync::atomic::Ordering::Relaxed),
    );
    // The device clock paced capture: seconds of it (the stream takes a while to start), not
    // a busy loop's millions.
    assert!(
        (72_000..=240_000).contains(&captured),
        "captured {captured} samples in 4 s"
    );
    assert!(meter.level_dbfs() > -40.0, "level {}", meter.level_dbfs());
    // Marks every half second, in order (their frequencies cycle through four). The monitor may
    // first replay a moment of the previous test's sound, so look for a run of three
    // at the right spacing.
    let marks = meter.marks();
    let run = marks.windows(3).any(|w| {
        w.windows(2).all(|p| {
            let gap = p[1].at_sample - p[0].at_sample;
            p[1].phase == (p[0].phase + 1) % 4 && gap.abs_diff(MARK_EVERY) <= MARK_EVERY / 20
        })
    });
    assert!(
        run,
        "no three marks in order at the marks' spacing: {marks:?}"
    );
}

#[test]
fn an_unknown_sound_card_is_a_clean_error() {
    assert!(SoundInput::open("audio:alsa:no-such-card").is_err());
    assert!(SoundOutput::open("audio:alsa:no-such-card").is_err());
    assert!(SoundOutput::open("speaker-7").is_err());
}
