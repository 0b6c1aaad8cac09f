//! H.264 with OpenH264: Constrained Baseline (what `profile-level-id=42e01f` promises), bitrate
//! and frame rate settable while running, a keyframe on request and an IDR every few seconds,
//! SPS/PPS with each IDR. Input and output are I420 frames; the bitstream is Annex B.

use openh264::OpenH264API;
use openh264::decoder::{Decoder, DecoderConfig};
use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, RateControlMode, UsageType,
};
use openh264::formats::YUVSource;

use crate::video::I420Frame;

/// A codec failure.
#[derive(Debug, thiserror::Error)]
pub enum H264Error {
    /// OpenH264 said no.
    #[error("openh264: {0}")]
    Codec(String),
    /// A build that uses Cisco's binary has none installed (see [`set_library_path`]).
    #[error("video needs Cisco's OpenH264 library; it has not been downloaded (consent not given)")]
    LibraryMissing,
    /// Cisco's library is there but would not load (its hash is not a known Cisco build, or the
    /// platform's loader refused it).
    #[error("Cisco's OpenH264 library at {path} could not be loaded: {reason}")]
    LibraryLoad {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
    /// Built with neither `openh264-source` nor `openh264-cisco`.
    #[error("this build has no H.264 codec (neither openh264-source nor openh264-cisco)")]
    NoCodec,
}

/// Where Cisco's library was installed (`openh264_binary::fetch`), once the app knows;
/// `None` while it is not installed or the user turned the codec off.
static LIBRARY_PATH: std::sync::RwLock<Option<std::path::PathBuf>> = std::sync::RwLock::new(None);

/// Tells encoders and decoders made from now on where Cisco's library is (`None`: nowhere).
/// Only a build with `openh264-cisco` alone reads it; with `openh264-source` it is ignored, so
/// the app calls it the same way in every build.
pub fn set_library_path(path: Option<std::path::PathBuf>) {
    // A writer that panicked left a plain Option behind: still a valid value to replace.
    *LIBRARY_PATH
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = path;
}

/// Whether this build loads Cisco's binary (and so needs the consent flow and the notice)
/// rather than OpenH264 compiled from source.
pub const fn uses_cisco_binary() -> bool {
    cfg!(all(
        feature = "openh264-cisco",
        not(feature = "openh264-source")
    ))
}

/// The OpenH264 every encoder and decoder is made with: compiled in (`openh264-source`, which
/// wins when both features are on) or Cisco's library at [`set_library_path`].
fn api() -> Result<OpenH264API, H264Error> {
    #[cfg(feature = "openh264-source")]
    {
        Ok(OpenH264API::from_source())
    }
    #[cfg(all(feature = "openh264-cisco", not(feature = "openh264-source")))]
    {
        let path = LIBRARY_PATH
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .filter(|p| p.is_file())
            .ok_or(H264Error::LibraryMissing)?;
        // `from_blob_path` loads only a file whose SHA-256 is in the crate's list of Cisco's
        // builds, so a wrong file is refused before the loader runs any of it.
        OpenH264API::from_blob_path(&path).map_err(|e| H264Error::LibraryLoad {
            path,
            reason: e.to_string(),
        })
    }
    #[cfg(not(any(feature = "openh264-source", feature = "openh264-cisco")))]
    {
        Err(H264Error::NoCodec)
    }
}

fn codec(e: impl std::fmt::Display) -> H264Error {
    H264Error::Codec(e.to_string())
}

struct Source<'a>(&'a I420Frame);

impl YUVSource for Source<'_> {
    fn dimensions(&self) -> (usize, usize) {
        (self.0.width(), self.0.height())
    }

    fn strides(&self) -> (usize, usize, usize) {
        let w = self.0.width();
        (w, w / 2, w / 2)
    }

    fn y(&self) -> &[u8] {
        self.0.y()
    }

    fn u(&self) -> &[u8] {
        self.0.u()
    }

    fn v(&self) -> &[u8] {
        self.0.v()
    }
}

/// An encoder.
pub struct H264Encoder {
    encoder: Encoder,
}

impl H264Encoder {
    /// An encoder for real-time camera video (`screen`: screen content) at this bitrate and
    /// frame rate, with an IDR every `idr_every` frames.
    pub fn new(
        bitrate_bps: u32,
        fps: f32,
        idr_every: u32,
        screen: bool,
    ) -> Result<Self, H264Error> {
        let config = EncoderConfig::new()
            .bitrate(BitRate::from_bps(bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(fps))
            .rate_control_mode(RateControlMode::Bitrate)
            .usage_type(if screen {
                UsageType::ScreenContentRealTime
            } else {
                UsageType::CameraVideoRealTime
            })
            .intra_frame_period(IntraFramePeriod::from_num_frames(idr_every))
            // No frame skipping: with it, OpenH264 drops about a quarter of the frames once the
            // target is raised at run time (measured), and a call should lose quality, not
            // motion. It then prints "bEnableFrameSkip = 0, bitrate can't be controlled";
            // the quantiser still follows the target (research/chromium-interop.md, pitfall 9).
            .skip_frames(false);
        let encoder = Encoder::with_api_config(api()?, config).map_err(codec)?;
        Ok(Self { encoder })
    }

    /// Encodes one frame; the Annex B access unit (empty when the encoder dropped it).
    pub fn encode(&mut self, frame: &I420Frame) -> Result<Vec<u8>, H264Error> {
        let out = self.encoder.encode(&Source(frame)).map_err(codec)?;
        Ok(out.to_vec())
    }

    /// Changes the target bitrate at run time (the congestion controller moved), without a
    /// keyframe.
    pub fn set_bitrate(&mut self, bitrate_bps: u32) {
        let bps = bitrate_bps.min(i32::MAX as u32) as i32;
        // The maximum moves with the target: left at its first value, a raised target above it
        // makes the rate controller skip frames to honour the old maximum (measured: a quarter
        // of the frames at 300 → 650 kbit/s).
        let options = [
            openh264_sys2::ENCODER_OPTION_MAX_BITRATE,
            openh264_sys2::ENCODER_OPTION_BITRATE,
            openh264_sys2::ENCODER_OPTION_MAX_BITRATE,
        ];
        for option in options {
            let mut info = openh264_sys2::SBitrateInfo {
                iLayer: openh264_sys2::SPATIAL_LAYER_ALL,
                iBitrate: bps,
            };
            // SAFETY: both options take a pointer to an SBitrateInfo that lives for the call;
            // the encoder is initialised (built with a configuration) and this is the
            // documented way to retarget it (openh264 codec_app_def.h). The safe wrapper has
            // no setter, so this is the one unsafe call in the crate.
            #[allow(unsafe_code)]
            unsafe {
                self.encoder
                    .raw_api()
                    .set_option(option, std::ptr::addr_of_mut!(info).cast());
            }
        }
    }

    /// The next frame will be an IDR (a receiver asked with PLI/FIR).
    pub fn force_keyframe(&mut self) {
        self.encoder.force_intra_frame();
    }
}

/// A decoder.
pub struct H264Decoder {
    decoder: Decoder,
}

impl H264Decoder {
    /// A decoder.
    pub fn new() -> Result<Self, H264Error> {
        Ok(Self {
            decoder: Decoder::with_api_config(api()?, DecoderConfig::new()).map_err(codec)?,
        })
    }

    /// Decodes one access unit (Annex B); the picture, when one is complete.
    pub fn decode(&mut self, access_unit: &[u8]) -> Result<Option<I420Frame>, H264Error> {
        let Some(yuv) = self.decoder.decode(access_unit).map_err(codec)? else {
            return Ok(None);
        };
        let (w, h) = yuv.dimensions();
        let (sy, su, sv) = yuv.strides();
        Ok(Some(I420Frame::from_planes(
            w,
            h,
            [yuv.y(), yuv.u(), yuv.v()],
            [sy, su, sv],
        )))
    }
}

#[cfg(all(test, feature = "openh264-cisco", not(feature = "openh264-source")))]
mod cisco_tests {
    use super::*;

    // One test, not several: the library path is process-wide.
    #[test]
    fn without_cisco_s_library_video_says_why_and_a_foreign_file_is_not_loaded() {
        assert!(uses_cisco_binary());
        set_library_path(None);
        let err = H264Encoder::new(500_000, 30.0, 90, false)
            .err()
            .expect("no library");
        assert!(matches!(err, H264Error::LibraryMissing), "{err}");
        assert_eq!(
            err.to_string(),
            "video needs Cisco's OpenH264 library; it has not been downloaded (consent not given)"
        );
        let err = H264Decoder::new().err().expect("no library");
        assert!(matches!(err, H264Error::LibraryMissing), "{err}");

        let dir = tempfile::tempdir().expect("temp dir");
        let gone = dir.path().join("libopenh264.so");
        set_library_path(Some(gone.clone()));
        let err = H264Decoder::new().err().expect("file absent");
        assert!(matches!(err, H264Error::LibraryMissing), "{err}");

        // Not Cisco's build: refused on its hash, before the loader runs any of it.
        std::fs::write(&gone, b"not a library").expect("write");
        let err = H264Decoder::new().err().expect("foreign file");
        assert!(
            matches!(&err, H264Error::LibraryLoad { reason, .. } if reason.contains("Invalid hash")),
            "{err}"
        );
        set_library_path(None);
    }
}
