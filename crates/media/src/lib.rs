//! Switchboard's media, without networking: video frames, the synthetic `pattern` camera whose
//! frames carry their number and capture time in the pixels (so a receiver can check order,
//! loss and latency after a lossy codec), the `tone` microphone with timing marks and the `meter`
//! speaker that finds them, and the codecs (OpenH264, Opus).
//!
//! Sound cards through cpal (listing, hot-plug, capture and playback through lock-free rings),
//! the group-call mixer, echo cancellation (sonora), the jitter buffer. Cameras through nokhwa,
//! converted to I420 (`convert`). Ringer, announce tone, speaker test and microphone meter
//! (`cue`). The recorder (`record`): a layout of the parties' pictures and their mixed sound
//! into fragmented MP4. Screen and window capture (`screen`: X11, and scap elsewhere).
//! Installing Cisco's OpenH264 binary with the user's consent (`openh264_binary`: consent, pin,
//! atomic install; the app brings the bytes; docs/openh264.md).

pub mod apm;
pub mod audio;
pub mod camera;
pub mod convert;
pub mod cue;
pub mod device;
pub mod devices;
pub mod h264;
pub mod hold_music;
pub mod jitter;
pub mod mixer;
pub mod openh264_binary;
pub mod opus;
pub mod pattern;
pub mod record;
pub mod screen;
pub mod sound;
pub mod soundcard;
pub mod stamp;
pub mod video;

pub use audio::{HeardMark, MeterSpeaker, TONE_FAMILY, ToneMicrophone};
pub use camera::Camera;
pub use cue::{Cue, CuePlayer, LevelMeter, Played};
pub use devices::{DeviceError, DeviceInfo, DeviceKind, Microphone, Speaker};
pub use h264::{H264Decoder, H264Encoder, H264Error};
pub use hold_music::HoldMusic;
pub use jitter::{JitterBuffer, Playout, extend_seq};
pub use mixer::Mixer;
pub use openh264_binary::{CiscoBinary, ConsentRequest, FetchError};
pub use opus::{OpusDecoder, OpusEncoder, OpusError};
pub use pattern::PatternCamera;
pub use record::{
    Picture, RecordError, RecordMedia, RecordOptions, Recorder, RecorderFeed, RecordingSummary,
};
pub use stamp::Stamp;
pub use video::I420Frame;
