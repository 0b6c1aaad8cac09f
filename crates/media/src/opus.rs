//! Opus for calls: 48 kHz mono, 20 ms frames, VOIP, in-band FEC and DTX; the decoder conceals a
//! lost frame (PLC) or rebuilds it from the next packet's FEC.

use crate::audio::FRAME;

/// A codec failure.
#[derive(Debug, thiserror::Error)]
#[error("opus: {0}")]
pub struct OpusError(#[from] opus::Error);

/// An encoder.
pub struct OpusEncoder {
    encoder: opus::Encoder,
    buffer: Vec<u8>,
}

impl OpusEncoder {
    /// At this bitrate, expecting `loss_percent` packet loss (it sizes the FEC).
    pub fn new(bitrate_bps: i32, loss_percent: i32) -> Result<Self, OpusError> {
        let mut encoder =
            opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip)?;
        encoder.set_bitrate(opus::Bitrate::Bits(bitrate_bps))?;
        encoder.set_inband_fec(true)?;
        encoder.set_packet_loss_perc(loss_percent)?;
        // Silence costs (almost) nothing: a packet every 400 ms; the far end conceals between.
        encoder.set_dtx(true)?;
        Ok(Self {
            encoder,
            buffer: vec![0; 1500],
        })
    }

    /// Encodes 20 ms; the packet.
    pub fn encode(&mut self, frame: &[i16; FRAME]) -> Result<Vec<u8>, OpusError> {
        let n = self.encoder.encode(frame, &mut self.buffer)?;
        Ok(self.buffer[..n].to_vec())
    }
}

/// A decoder.
pub struct OpusDecoder {
    decoder: opus::Decoder,
}

impl OpusDecoder {
    /// A decoder.
    pub fn new() -> Result<Self, OpusError> {
        Ok(Self {
            decoder: opus::Decoder::new(48_000, opus::Channels::Mono)?,
        })
    }

    /// Decodes a packet into 20 ms of samples.
    pub fn decode(&mut self, packet: &[u8]) -> Result<[i16; FRAME], OpusError> {
        let mut out = [0i16; FRAME];
        self.decoder.decode(packet, &mut out, false)?;
        Ok(out)
    }

    /// 20 ms for a lost packet: rebuilt from the next packet's FEC when there is one, else
    /// concealed.
    pub fn conceal(&mut self, next: Option<&[u8]>) -> Result<[i16; FRAME], OpusError> {
        let mut out = [0i16; FRAME];
        match next {
            Some(p) => self.decoder.decode(p, &mut out, true)?,
            None => self.decoder.decode(&[], &mut out, false)?,
        };
        Ok(out)
    }
}
