//! Switchboard's media, without networking: video frames, the synthetic `pattern` camera whose
//! frames carry their number and capture time in the pixels (so a receiver can check order,
//! loss and latency after a lossy codec), the `tone` microphone with timing marks and the `meter`
//! speaker that finds them, and the codecs (OpenH264, Opus).
//!
//! Devices (cpal, nokhwa), audio, the recorder and the rest arrive step by step with the engine
//! issue; see `docs/architecture.md`.

pub mod apm;
pub mod audio;
pub mod devices;
pub mod h264;
pub mod jitter;
pub mod opus;
pub mod pattern;
pub mod sound;
pub mod stamp;
pub mod video;

pub use audio::{HeardMark, MeterSpeaker, ToneMicrophone};
pub use devices::{DeviceError, DeviceInfo, DeviceKind, Microphone};
pub use h264::{H264Decoder, H264Encoder, H264Error};
pub use jitter::{JitterBuffer, Playout, extend_seq};
pub use opus::{OpusDecoder, OpusEncoder, OpusError};
pub use pattern::PatternCamera;
pub use stamp::Stamp;
pub use video::I420Frame;
