//! What the peer connections report back: the SDPs they made and their candidates.

use switchboard_protocol::{
    ClientFrame, ClientMessage, IceCandidate, IceToPeer, Sdp, SdpKind, SdpToPeer,
};

use super::*;

impl Core {
    pub(super) fn local_sdp(&mut self, peer: PeerId, result: Result<String, String>) {
        let Some(p) = self.peers.get_mut(&peer) else {
            // Closed meanwhile (the call ended, the member left): nothing more to do with it.
            return;
        };
        let Some(made) = p.neg.made(result.is_ok()) else {
            return;
        };
        let user = p.user.clone();
        let session = p.session.clone();
        let owner = p.owner.clone();
        match (owner, result) {
            (Owner::Invite(request), Ok(sdp)) => {
                if let Some(inv) = self.invites.get_mut(&request) {
                    inv.offers.insert(peer, sdp);
                }
                self.send_invite_when_ready(request);
            }
            (Owner::Invite(request), Err(e)) => {
                self.peers.remove(&peer);
                self.invite_failed(request, format!("cannot set up media: {e}"));
            }
            (Owner::Call(call_id), Ok(sdp)) => match made {
                Made::InviteMember => {
                    if let Some(p) = self.peers.get_mut(&peer) {
                        p.neg.hold_offer(sdp);
                    }
                    self.send_member_invites(&call_id);
                }
                // A new call's offers go out with its invite, before it has an id.
                Made::Invite => {}
                Made::Mesh | Made::Reoffer => {
                    if let Ok(sdp) = Sdp::new(sdp) {
                        let to_session = if made == Made::Mesh { None } else { session };
                        self.send(ClientMessage::Sdp(SdpToPeer {
                            call_id: call_id.clone(),
                            to: user,
                            to_session,
                            kind: SdpKind::Offer,
                            sdp,
                        }));
                    }
                    self.flush_local(peer);
                }
                Made::Answer | Made::Reanswer => {
                    if let Ok(sdp) = Sdp::new(sdp) {
                        self.send(ClientMessage::Sdp(SdpToPeer {
                            call_id: call_id.clone(),
                            to: user,
                            to_session: session,
                            kind: SdpKind::Answer,
                            sdp,
                        }));
                    }
                    self.flush_local(peer);
                }
            },
            (Owner::Call(call_id), Err(e)) => match made {
                Made::Reoffer | Made::Reanswer => {
                    tracing::warn!("renegotiation with {user}: {e}");
                }
                Made::InviteMember | Made::Invite | Made::Mesh | Made::Answer => {
                    // The connection was never made: forget it (the driver has none).
                    self.peers.remove(&peer);
                    if let Some(call) = self.calls.get_mut(&call_id) {
                        call.peers.retain(|_, p| *p != peer);
                        call.inviting.retain(|(_, p)| *p != peer);
                        call.members.remove(&user);
                    }
                    let message = match made {
                        Made::InviteMember => format!("cannot invite {user}: {e}"),
                        Made::Mesh => format!("cannot connect to {user}: {e}"),
                        _ => format!("cannot answer {user}'s offer: {e}"),
                    };
                    self.emit(Event::Error {
                        call_id: Some(call_id.clone()),
                        message,
                    });
                    if made == Made::InviteMember {
                        self.send_member_invites(&call_id);
                    }
                }
            },
        }
    }

    pub(super) fn local_candidate(&mut self, peer: PeerId, candidate: Option<IceCandidate>) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        p.neg.pending_local.push(candidate);
        self.flush_local(peer);
    }

    /// Sends our held candidates once the far end can use them: the call has an id and our
    /// SDP for this connection went out.
    pub(super) fn flush_local(&mut self, peer: PeerId) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        let Owner::Call(call_id) = &p.owner else {
            return;
        };
        if !p.neg.sdp_sent || p.neg.pending_local.is_empty() {
            return;
        }
        let call_id = call_id.clone();
        let to = p.user.clone();
        let to_session = p.session.clone();
        for candidate in std::mem::take(&mut p.neg.pending_local) {
            self.out
                .push_back(Output::Send(ClientFrame::new(ClientMessage::IceCandidate(
                    IceToPeer {
                        call_id: call_id.clone(),
                        to: to.clone(),
                        to_session: to_session.clone(),
                        candidate,
                    },
                ))));
        }
    }
}
