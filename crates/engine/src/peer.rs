//! A remote member's peer connection with its media tasks: created as offerer or answerer,
//! fed remote candidates (held until the remote description is set), closed with the call.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use switchboard_protocol::{CandidateLine, IceCandidate, IceServer, Label, UserId};
use tokio::sync::mpsc;
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCIceCandidateInit, RTCIceGatheringState,
    RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSessionDescription,
};
use webrtc::rtp_transceiver::{RTCRtpSenderId, RTCRtpTransceiverDirection};

use crate::core::{Gates, PeerId};
use crate::data::{self, DataEvent};
use crate::pipeline::{self, Capture, PeerShared, VideoKind};
use crate::rtc_builder;

/// What a peer connection reports to the engine, tagged with the peer's key.
#[derive(Debug)]
pub enum PeerEvent {
    /// A local candidate to trickle (`None`: gathering finished).
    Candidate(PeerId, Option<IceCandidate>),
    State(PeerId, RTCPeerConnectionState),
    FirstMedia(PeerId, &'static str, Instant),
    Data(PeerId, DataEvent),
}

/// Rewrites a local candidate line before it is signalled.
pub type Advertise = Arc<dyn Fn(&str) -> String + Send + Sync>;

struct Handler {
    id: PeerId,
    tx: mpsc::UnboundedSender<PeerEvent>,
    shared: Arc<PeerShared>,
    advertise: Option<Advertise>,
    /// The connection itself, once built (to find which m-line a new track came on).
    pc: std::sync::OnceLock<std::sync::Weak<dyn PeerConnection>>,
}

impl Handler {
    /// Whether a remote video track came on the screen's m-line: our engines and the widget
    /// lay them out audio, camera, screen, and browsers and webrtc 0.21 name the m-lines by
    /// their place (mid `0`, `1`, `2`). `None` if it cannot be told. (Counting video receivers
    /// would not do: an `inactive` camera m-line has none.)
    async fn on_screen_line(&self, track: &Arc<dyn TrackRemote>) -> Option<bool> {
        let pc = self.pc.get()?.upgrade()?;
        for t in pc.get_transceivers().await {
            if let Ok(Some(r)) = t.receiver().await
                && Arc::ptr_eq(r.track(), track)
            {
                let mid = t.mid().await.ok().flatten()?;
                return mid.parse::<u32>().ok().map(|place| place >= 2);
            }
        }
        None
    }
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        match event.candidate.to_json() {
            Ok(mut init) => {
                if let Some(f) = &self.advertise {
                    init.candidate = f(&init.candidate);
                }
                if let Some(c) = to_wire(init) {
                    let _ = self.tx.send(PeerEvent::Candidate(self.id, Some(c)));
                }
            }
            Err(e) => tracing::warn!("unusable local candidate: {e}"),
        }
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.tx.send(PeerEvent::Candidate(self.id, None));
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.tx.send(PeerEvent::State(self.id, state));
    }

    /// The far end opened a channel: ours when we answered its offer and have none yet. Any
    /// other (a second one, another label, one while we made our own) is closed at once, so a
    /// peer can neither replace our channel nor park data in channels nobody reads.
    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        let label = dc.label().await.unwrap_or_default();
        {
            let mut slot = pipeline::lock(&self.shared.data);
            if takes_remote_channel(&label, slot.is_some()) {
                *slot = Some(data::attach(dc, data_notify(self.id, &self.tx)));
                return;
            }
        }
        tracing::warn!("the far end opened a data channel we did not agree to; closing it");
        if let Err(e) = dc.close().await {
            tracing::debug!("closing a refused data channel: {e}");
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let shared = self.shared.clone();
        match track.kind().await {
            RtpCodecKind::Video => {
                // By m-line: a browser's screen in a voice call is its first video track to
                // arrive (the camera's m-line is inactive), yet it is the screen.
                let kind = match self.on_screen_line(&track).await {
                    Some(false) => VideoKind::Camera,
                    Some(true) => VideoKind::Screen,
                    // Not told by its place: our engines name the screen's track `…-screen`.
                    None if track.track_id().await.ends_with("-screen") => VideoKind::Screen,
                    None => VideoKind::Camera,
                };
                tokio::spawn(pipeline::receive_video(shared, track, kind));
            }
            RtpCodecKind::Audio => {
                tokio::spawn(pipeline::receive_audio(shared, track));
            }
            _ => {}
        }
    }
}

/// Whether a data channel the far end opened becomes the call's: only ours by its label, and
/// only while we have none.
fn takes_remote_channel(label: &str, have_one: bool) -> bool {
    label == data::LABEL && !have_one
}

fn data_notify(
    id: PeerId,
    tx: &mpsc::UnboundedSender<PeerEvent>,
) -> Arc<dyn Fn(DataEvent) + Send + Sync> {
    let tx = tx.clone();
    Arc::new(move |e| {
        let _ = tx.send(PeerEvent::Data(id, e));
    })
}

fn to_wire(init: RTCIceCandidateInit) -> Option<IceCandidate> {
    Some(IceCandidate {
        candidate: CandidateLine::new(init.candidate).ok()?,
        sdp_mid: init.sdp_mid.and_then(|m| Label::new(m).ok()),
        sdp_mline_index: init.sdp_mline_index,
        username_fragment: init.username_fragment.and_then(|u| Label::new(u).ok()),
    })
}

fn from_wire(c: IceCandidate) -> RTCIceCandidateInit {
    RTCIceCandidateInit {
        candidate: c.candidate.into(),
        sdp_mid: c.sdp_mid.map(Into::into),
        sdp_mline_index: c.sdp_mline_index,
        username_fragment: c.username_fragment.map(Into::into),
        ..Default::default()
    }
}

/// One remote member's connection: the webrtc-rs peer connection with its media tasks. Its
/// negotiation state (who offers, what waits) is the core's (`crate::core::negotiation`).
pub struct Peer {
    pub id: PeerId,
    pub user: UserId,
    pub pc: Arc<dyn PeerConnection>,
    pub shared: Arc<PeerShared>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Our video sender, to find its transceiver for an audio↔video renegotiation.
    video_sender: Option<RTCRtpSenderId>,
}

/// Everything needed to make peers.
pub struct PeerFactory {
    pub ice_servers: Vec<IceServer>,
    /// Only relayed candidates (the realm hides our addresses from the far end).
    pub relay_only: bool,
    pub bind: String,
    pub events: mpsc::UnboundedSender<PeerEvent>,
    pub capture: Arc<Capture>,
    pub advertise: Option<Advertise>,
}

impl PeerFactory {
    async fn build(&self, id: PeerId, user: &UserId) -> anyhow::Result<Peer> {
        let tx = self.events.clone();
        let shared = PeerShared::new(
            user.as_str(),
            id.0,
            self.capture.mixer.clone(),
            self.capture.buses.clone(),
            Box::new(move |kind, at| {
                let _ = tx.send(PeerEvent::FirstMedia(id, kind, at));
            }),
        );
        let handler = Arc::new(Handler {
            id,
            tx: self.events.clone(),
            shared: shared.clone(),
            advertise: self.advertise.clone(),
            pc: std::sync::OnceLock::new(),
        });
        let pc = rtc_builder::build(
            &self.ice_servers,
            self.relay_only,
            &self.bind,
            handler.clone(),
        )
        .await?;
        let _ = handler.pc.set(Arc::downgrade(&pc));
        Ok(Peer {
            id,
            user: user.clone(),
            pc,
            shared,
            tasks: Vec::new(),
            video_sender: None,
        })
    }

    /// Adds our audio, camera and screen tracks and starts their (gated) senders. The screen's
    /// m-line is always there (`sendrecv`, silent until we share): starting and stopping a
    /// share needs no renegotiation, and either side may share in an audio call too.
    async fn add_tracks(&self, p: &mut Peer) -> anyhow::Result<()> {
        // Unique across engines: webrtc 0.21 routes RTCP by track id and checks remote tracks
        // first, so a far-end track with the same id as ours would swallow our PLIs.
        let stream = format!("sb-{:016x}", rand::random::<u64>());
        let audio = rtc_builder::add_track(&p.pc, RtpCodecKind::Audio, &stream, "audio").await?;
        let video = rtc_builder::add_track(&p.pc, RtpCodecKind::Video, &stream, "video").await?;
        let screen = rtc_builder::add_track(&p.pc, RtpCodecKind::Video, &stream, "screen").await?;
        p.video_sender = Some(video.sender.id());
        p.tasks.push(tokio::spawn(pipeline::send_video(
            p.shared.clone(),
            screen,
            self.capture.screen.subscribe(),
            self.capture.profile.subscribe(),
            VideoKind::Screen,
        )));
        p.tasks.push(tokio::spawn(pipeline::send_audio(
            p.shared.clone(),
            audio,
            self.capture.audio.subscribe(),
            self.capture.hold_music.clone(),
        )));
        p.tasks.push(tokio::spawn(pipeline::send_video(
            p.shared.clone(),
            video,
            self.capture.video.subscribe(),
            self.capture.profile.subscribe(),
            VideoKind::Camera,
        )));
        Ok(())
    }

    /// A peer that offers (the video m-line `inactive` in an audio call): returns it with the
    /// offer SDP.
    pub async fn offerer(
        &self,
        id: PeerId,
        user: &UserId,
        video: bool,
    ) -> anyhow::Result<(Peer, String)> {
        let mut p = self.build(id, user).await?;
        self.add_tracks(&mut p).await?;
        p.set_video_direction(video).await?;
        // The data channel goes into the first offer, so the answer brings SCTP up with the
        // rest of the transport while the callee rings.
        let dc = p.pc.create_data_channel(data::LABEL, None).await?;
        let channel = data::attach(dc, data_notify(id, &self.events));
        *pipeline::lock(&p.shared.data) = Some(channel);
        let offer = p.pc.create_offer(None).await?;
        p.pc.set_local_description(offer.clone()).await?;
        Ok((p, offer.sdp))
    }

    /// A peer that answers this offer (`video`: the call's media): returns it with the answer
    /// SDP.
    pub async fn answerer(
        &self,
        id: PeerId,
        user: &UserId,
        offer: &str,
        video: bool,
    ) -> anyhow::Result<(Peer, String)> {
        let mut p = self.build(id, user).await?;
        p.pc.set_remote_description(RTCSessionDescription::offer(offer.to_owned())?)
            .await?;
        // After the remote offer: webrtc 0.21 then reuses the offer's transceivers
        // (research/chromium-interop.md, pitfall 8).
        self.add_tracks(&mut p).await?;
        // In a voice call the camera's m-line is answered `inactive`: webrtc 0.21 would
        // answer `sendrecv` even to an `inactive` offer, which Chromium refuses ("Incompatible
        // receive direction").
        p.set_video_direction(video).await?;
        let answer = p.pc.create_answer(None).await?;
        p.pc.set_local_description(answer.clone()).await?;
        p.note_video_direction().await;
        Ok((p, answer.sdp))
    }
}

impl Peer {
    /// Applies the far end's answer.
    pub async fn set_answer(&self, sdp: &str) -> anyhow::Result<()> {
        self.pc
            .set_remote_description(RTCSessionDescription::answer(sdp.to_owned())?)
            .await?;
        self.note_video_direction().await;
        Ok(())
    }

    /// Notes in the stats whether the video m-line now carries pictures.
    async fn note_video_direction(&self) {
        for t in self.pc.get_transceivers().await {
            if let Ok(Some(sender)) = t.sender().await
                && Some(sender.id()) == self.video_sender
                && let Ok(d) = t.current_direction().await
            {
                let on = !matches!(
                    d,
                    RTCRtpTransceiverDirection::Inactive | RTCRtpTransceiverDirection::Unspecified
                );
                self.shared.update(|s| s.video.negotiated = on);
            }
        }
    }

    /// Sets our video m-line to send and receive (a video call) or to nothing (an audio call).
    async fn set_video_direction(&self, video: bool) -> anyhow::Result<()> {
        let direction = if video {
            RTCRtpTransceiverDirection::Sendrecv
        } else {
            RTCRtpTransceiverDirection::Inactive
        };
        for t in self.pc.get_transceivers().await {
            if let Ok(Some(sender)) = t.sender().await
                && Some(sender.id()) == self.video_sender
            {
                t.set_direction(direction).await?;
            }
        }
        Ok(())
    }

    /// A re-offer on the same connection: an audio↔video switch (the video m-line becomes
    /// `inactive` or `sendrecv`; same ICE and DTLS), and with `ice_restart` fresh ICE
    /// credentials and candidates gathered again on sockets bound anew (the path was lost: the
    /// address may have changed).
    pub async fn reoffer(&self, video: bool, ice_restart: bool) -> anyhow::Result<String> {
        self.set_video_direction(video).await?;
        if ice_restart {
            self.pc.restart_ice().await?;
        }
        let offer = self.pc.create_offer(None).await?;
        self.pc.set_local_description(offer.clone()).await?;
        Ok(offer.sdp)
    }

    /// Answers the far end's re-offer on this connection.
    pub async fn answer_reoffer(&self, offer: &str, video: bool) -> anyhow::Result<String> {
        self.pc
            .set_remote_description(RTCSessionDescription::offer(offer.to_owned())?)
            .await?;
        self.set_video_direction(video).await?;
        let answer = self.pc.create_answer(None).await?;
        self.pc.set_local_description(answer.clone()).await?;
        self.note_video_direction().await;
        Ok(answer.sdp)
    }

    /// The path ICE chose, from webrtc-rs's stats: relayed if either end of the selected pair
    /// is a relay candidate.
    pub async fn route(&self) -> Option<crate::stats::Route> {
        use rtc::peer_connection::transport::RTCIceCandidateType;
        use rtc::statistics::StatsSelector;
        use rtc::statistics::report::RTCStatsReportEntry as Entry;
        let report = self
            .pc
            .get_stats(std::time::Instant::now(), StatsSelector::None)
            .await;
        let selected = &report.transport()?.selected_candidate_pair_id;
        let Some(Entry::IceCandidatePair(pair)) = report.get(selected) else {
            return None;
        };
        // The pair names its candidates by their own ids; the report keys them with a prefix
        // (`RTCLocalIceCandidate_<id>`), so they are found by that ending.
        let relay = |id: &str| {
            report.iter().any(|e| {
                matches!(
                    e,
                    Entry::LocalCandidate(c) | Entry::RemoteCandidate(c)
                        if c.candidate_type == RTCIceCandidateType::Relay
                ) && e.id().ends_with(id)
            })
        };
        Some(
            if relay(&pair.local_candidate_id) || relay(&pair.remote_candidate_id) {
                crate::stats::Route::Relay
            } else {
                crate::stats::Route::Direct
            },
        )
    }

    /// A remote candidate (the core holds it until the remote description is set).
    pub async fn add_candidate(&self, c: IceCandidate) {
        if let Err(e) = self.pc.add_ice_candidate(from_wire(c)).await {
            tracing::warn!("remote candidate refused: {e}");
        }
    }

    /// What the media senders may send now.
    pub fn set_gates(&self, g: Gates) {
        self.shared.sending.store(g.sending, Ordering::Relaxed);
        self.shared.screen_on.store(g.screen, Ordering::Relaxed);
        self.shared
            .audio_muted
            .store(g.audio_muted, Ordering::Relaxed);
        self.shared
            .video_muted
            .store(g.video_muted, Ordering::Relaxed);
        self.shared.held.store(g.hold, Ordering::Relaxed);
        let s = &self.shared;
        s.to_supervisor.store(g.to_supervisor, Ordering::Relaxed);
        s.with_customer.store(g.with_customer, Ordering::Relaxed);
        s.quiet.store(g.quiet, Ordering::Relaxed);
        s.barging.store(g.barging, Ordering::Relaxed);
        s.with_supervisor
            .store(g.with_supervisor, Ordering::Relaxed);
        // A bus nobody feeds any more must not play its last frames later.
        if !g.to_supervisor {
            pipeline::lock(&s.buses.to_supervisor).remove(self.id.0);
        }
        if !g.barging {
            pipeline::lock(&s.buses.to_customer).remove(self.id.0);
        }
    }

    pub async fn close(mut self) {
        self.shared.sending.store(false, Ordering::Relaxed);
        pipeline::lock(&self.shared.mixer).remove(self.id.0);
        for t in self.tasks.drain(..) {
            t.abort();
        }
        if let Err(e) = self.pc.close().await {
            tracing::debug!("closing a peer connection: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_first_channel_is_taken_from_the_far_end() {
        assert!(takes_remote_channel(data::LABEL, false));
        assert!(
            !takes_remote_channel(data::LABEL, true),
            "a second one replaces nothing"
        );
        assert!(!takes_remote_channel("exfil", false));
    }
}
