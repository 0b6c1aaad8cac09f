//! One WebRTC peer connection per remote member (webrtc 0.21): H.264 Constrained Baseline
//! (`42e01f`, packetization-mode 1) and Opus only, NACK, PLI/FIR delivered to our encoder,
//! and sender/receiver reports for the bitrate (crate::feedback) and the stats.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::{
    Attribute, Interceptor, NackGeneratorBuilder, Packet, Slot, StreamInfo, TaggedPacket,
};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::interceptor_registry::{
    Registry, register_default_interceptors,
};
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_H264, MIME_TYPE_OPUS};
use rtc::peer_connection::transport::RTCDtlsRole;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::sender_report::SenderReport;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::sansio::Protocol;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceServer, RTCIceTransportPolicy, SettingEngineBuilder,
};
use webrtc::rtp_transceiver::RtpSender;

/// The H.264 format we send and accept: what OpenH264 produces.
pub const H264_FMTP: &str =
    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";
/// Where the bitrate estimate starts (libwebrtc's default start rate: a guess that is safe on
/// most links; GCC ramps up from here), and its bounds (bits per second).
pub const START_BPS: f64 = 300_000.0;
pub const MIN_BPS: f64 = 100_000.0;
pub const MAX_BPS: f64 = 4_000_000.0;

fn video_codec() -> RTCRtpCodec {
    let fb = |typ: &str, parameter: &str| RTCPFeedback {
        typ: typ.to_owned(),
        parameter: parameter.to_owned(),
    };
    RTCRtpCodec {
        mime_type: MIME_TYPE_H264.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: H264_FMTP.to_owned(),
        rtcp_feedback: vec![
            fb("nack", ""),
            fb("nack", "pli"),
            fb("ccm", "fir"),
            // The receiver's delay-based estimate (crate::estimate).
            fb("goog-remb", ""),
        ],
    }
}

fn audio_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

/// Marks inbound PLI/FIR and sender/receiver reports for delivery to the application: by default
/// webrtc 0.21's interceptor chain ends in a no-op and `TrackLocal::poll()` never sees them
/// (research/chromium-interop.md, pitfall 2). Keyframe requests go to the encoder; receiver
/// reports give loss, jitter and RTT for the stats and the loss-based bitrate.
/// Everything passes on unchanged otherwise.
#[derive(Default)]
struct FeedbackToApp {
    read: std::collections::VecDeque<TaggedPacket>,
    write: std::collections::VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for FeedbackToApp {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet
            && packets.iter().any(|p| {
                is_keyframe_request(p.as_ref())
                    || is_report(p.as_ref())
                    || remb(p.as_ref()).is_some()
            })
        {
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
}

impl Interceptor for FeedbackToApp {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

/// PLI or FIR.
pub fn is_keyframe_request(p: &dyn rtc::rtcp::Packet) -> bool {
    let any = p.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

/// A receiver or sender report (RTCP RR, SR): loss and RTT for the sender, the RTP → wall
/// clock mapping for the receiver.
pub fn is_report(p: &dyn rtc::rtcp::Packet) -> bool {
    p.as_any().is::<ReceiverReport>() || p.as_any().is::<SenderReport>()
}

/// The bitrate of a REMB (the receiver's delay-based estimate), bits per second.
pub fn remb(p: &dyn rtc::rtcp::Packet) -> Option<f64> {
    p.as_any()
        .downcast_ref::<ReceiverEstimatedMaximumBitrate>()
        .map(|r| f64::from(r.bitrate))
}

/// A REMB for this SSRC.
pub fn remb_packet(media_ssrc: u32, bps: f64) -> Vec<Box<dyn rtc::rtcp::Packet>> {
    vec![Box::new(ReceiverEstimatedMaximumBitrate {
        sender_ssrc: 0,
        bitrate: bps as f32,
        ssrcs: vec![media_ssrc],
    })]
}

/// A PLI for this SSRC.
pub fn pli(media_ssrc: u32) -> Vec<Box<dyn rtc::rtcp::Packet>> {
    vec![Box::new(PictureLossIndication {
        sender_ssrc: 0,
        media_ssrc,
    })]
}

/// A local track and what is needed to write to it.
pub struct LocalTrack {
    pub track: Arc<TrackLocalStaticSample>,
    pub sender: Arc<dyn RtpSender>,
    pub ssrc: u32,
}

impl LocalTrack {
    /// The payload type the far end negotiated (not necessarily the one we registered:
    /// research/chromium-interop.md, pitfall 3).
    pub async fn payload_type(&self) -> Option<u8> {
        let params = self.sender.get_parameters().await.ok()?;
        params.rtp_parameters.codecs.first().map(|c| c.payload_type)
    }
}

/// How long a path may carry nothing before webrtc-rs calls it `disconnected`.
pub const ICE_DISCONNECTED_AFTER: Duration = Duration::from_secs(2);
/// How much longer before it calls it `failed`.
pub const ICE_FAILED_AFTER: Duration = Duration::from_secs(4);

/// Whether webrtc-rs's mDNS socket can start here. It joins 224.0.0.251 on "any interface" when
/// a connection is built, and the kernel refuses that (ENODEV, "No such device") where no route
/// covers the group: a host with only its own subnet and no default route (a container, a VPN,
/// a lab network). webrtc-rs then fails the whole connection, so we ask the kernel the same
/// question first and go without mDNS where the answer is no: only `.local` candidates from
/// browsers (which hide their host addresses behind mDNS) are lost, and their server-reflexive
/// and peer-reflexive candidates still connect.
fn mdns_join_works() -> bool {
    std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| s.join_multicast_v4(&Ipv4Addr::new(224, 0, 0, 251), &Ipv4Addr::UNSPECIFIED))
        .is_ok()
}

/// Builds a peer connection bound to `bind` (e.g. `127.0.0.1:0` or `0.0.0.0:0`).
pub async fn build(
    ice_servers: &[switchboard_protocol::IceServer],
    relay_only: bool,
    bind: &str,
    handler: Arc<dyn PeerConnectionEventHandler>,
) -> anyhow::Result<Arc<dyn PeerConnection>> {
    let mut media = MediaEngine::default();
    media.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: video_codec(),
            payload_type: 102,
        },
        RtpCodecKind::Video,
    )?;
    media.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: audio_codec(),
            payload_type: 111,
        },
        RtpCodecKind::Audio,
    )?;
    // No send-side congestion control from rtc 0.21 for now: its congestion-control
    // interceptor (TWCC + GCC) added ~270 ms of latency to loopback calls and made audio late
    // (measured: video p50 274 ms vs 8 ms without it), and its loss half misreads 5 % loss as
    // 15–30 %. The bitrate follows RTCP receiver reports instead (crate::feedback, libwebrtc's
    // loss-based rules). See docs/engine.md.
    let registry = register_default_interceptors(Registry::new(), &mut media)?
        // Ask for each lost packet at most three times: unbounded repeats flood a congested
        // link with NACKs and retransmissions of retransmissions (measured under a 300 kbit/s
        // cap: three times more packets dropped than delivered).
        .with(
            Slot::NackGenerator,
            NackGeneratorBuilder::new()
                .with_max_nacks_per_packet(3)
                .build(),
        );
    let registry = registry.with(Slot::from(14_000), FeedbackToApp::default());

    let config = RTCConfigurationBuilder::new()
        .with_ice_servers(
            ice_servers
                .iter()
                .map(|s| RTCIceServer {
                    urls: s.urls.clone(),
                    username: s.username.clone().unwrap_or_default(),
                    credential: s.credential.clone().unwrap_or_default(),
                })
                .collect(),
        )
        .with_ice_transport_policy(if relay_only {
            RTCIceTransportPolicy::Relay
        } else {
            RTCIceTransportPolicy::All
        })
        .build();
    // Answer as the DTLS server: the offerer opens the handshake and our reply leaves from the
    // read path, avoiding webrtc 0.21's ~190 ms client-side stall on the answering side
    // (research/chromium-interop.md, pitfall 1).
    let mut settings = SettingEngineBuilder::new()
        .with_answering_dtls_role(RTCDtlsRole::Server)
        // A lost path is noticed after 2 s without a packet (media flows all the time;
        // keep-alives every second when it does not) and given up 4 s later; a path never
        // found fails 6 s after the checks began. webrtc-rs waits 5 s and 25 s: too long to
        // tell a caller that no media can flow, and to restart ICE (core/path.rs) before the
        // call is heard as dead.
        .with_ice_timeouts(
            Some(ICE_DISCONNECTED_AFTER),
            Some(ICE_FAILED_AFTER),
            Some(Duration::from_secs(1)),
        );
    // An ICE restart binds the media sockets anew and gathers on them: after an address
    // change the old sockets send from an address that is gone.
    settings = settings.with_discard_local_candidates_during_ice_restart(true);
    if !mdns_join_works() {
        settings = settings.with_multicast_dns_mode(MulticastDnsMode::Disabled);
    }
    let settings = settings.build();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(config)
        .with_media_engine(media)
        .with_setting_engine(settings)
        .with_interceptor_registry(registry)
        .with_handler(handler)
        .with_udp_addrs(vec![bind.to_owned()])
        // A file sent over the data channel waits for room instead of filling memory.
        .with_data_channel_send_buffer_limit(1 << 20)
        .build()
        .await?;
    Ok(Arc::new(pc))
}

/// Adds our audio or video track; `name` (`audio`, `video`, `screen`) ends its track id, which
/// tells the far end which video track is the screen.
pub async fn add_track(
    pc: &Arc<dyn PeerConnection>,
    kind: RtpCodecKind,
    stream: &str,
    name: &str,
) -> anyhow::Result<LocalTrack> {
    let ssrc = rand::random::<u32>();
    let codec = match kind {
        RtpCodecKind::Video => video_codec(),
        _ => audio_codec(),
    };
    let track = Arc::new(TrackLocalStaticSample::new(
        Instant::now(),
        MediaStreamTrack::new(
            stream.to_owned(),
            format!("{stream}-{name}"),
            name.to_owned(),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec,
                ..Default::default()
            }],
        ),
    )?);
    let sender = pc.add_track(track.clone() as Arc<dyn TrackLocal>).await?;
    Ok(LocalTrack {
        track,
        sender,
        ssrc,
    })
}
