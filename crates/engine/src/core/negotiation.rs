//! One peer connection's negotiation, as its offer/answer state (RFC 8829's signaling states,
//! kept by us rather than read back from webrtc-rs):
//!
//! - Only the side that made a connection's first offer ever offers again on it: its DTLS role
//!   stays right and two offers never cross (no glare to resolve). An offer from the far end
//!   on a connection we offered is refused.
//! - One offer at a time: a change while an offer is out (the first one included) or while
//!   one is being made is offered again once the answer is in, with the media of that moment.
//! - An answer is applied only while our offer waits for one.
//! - An ICE restart is a re-offer with fresh ICE credentials, by the same rules (`path.rs`
//!   says when); asked for while an offer is out, it rides on the one that follows.
//! - Remote candidates wait until a remote description is set; ours wait until our SDP for
//!   the connection went out (and the call has an id: see `Core::flush_local`).

use std::collections::VecDeque;

use switchboard_protocol::IceCandidate;

use super::{Gates, PeerOp};

/// Who made the connection's first offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Offerer,
    Answerer,
}

/// What an SDP being made is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    /// The offer to an invitee of a new call (it rides on the invite).
    Invite,
    /// The offer to a member invited into a call in progress (rides on `invite_members`).
    InviteMember,
    /// The offer to a member we meet in a group call (the mesh rule).
    Mesh,
    /// The answer to a first offer.
    Answer,
    /// A re-offer on a connection we offered.
    Reoffer,
    /// The answer to the far end's re-offer.
    Reanswer,
}

#[derive(Debug)]
pub struct Negotiation {
    pub role: Role,
    /// The SDPs being made, oldest first (the driver answers a peer's operations in order).
    making: VecDeque<Made>,
    /// Our offer is out; its answer has not come.
    awaiting_answer: bool,
    /// A remote description is set (or its operation is issued, which comes first).
    pub remote_set: bool,
    /// The media changed while a negotiation was under way: offer again after it.
    again: bool,
    /// The next offer restarts ICE.
    restart: bool,
    /// Remote candidates that came before the remote description.
    pending_remote: Vec<IceCandidate>,
    /// Our candidates that cannot be sent yet.
    pub pending_local: Vec<Option<IceCandidate>>,
    /// Our SDP for this connection went to the server (candidates may follow it).
    pub sdp_sent: bool,
    /// A made offer waiting to go out with the others of its batch (`invite_members`).
    held_offer: Option<String>,
    /// The gates last given to the driver.
    pub gates: Option<Gates>,
}

impl Negotiation {
    /// A connection being created: as offerer its offer is being made, as answerer its answer
    /// (the remote offer is set first).
    pub fn new(role: Role, made: Made) -> Self {
        Self {
            role,
            making: VecDeque::from([made]),
            awaiting_answer: false,
            remote_set: role == Role::Answerer,
            again: false,
            restart: false,
            pending_remote: Vec::new(),
            pending_local: Vec::new(),
            sdp_sent: false,
            held_offer: None,
            gates: None,
        }
    }

    /// Whether an SDP is being made.
    pub fn making(&self) -> bool {
        !self.making.is_empty()
    }

    /// The oldest SDP being made is done (`ok`) or failed: what it was for.
    pub fn made(&mut self, ok: bool) -> Option<Made> {
        let made = self.making.pop_front()?;
        match made {
            Made::Invite | Made::InviteMember | Made::Mesh | Made::Reoffer => {
                self.awaiting_answer = ok;
                self.sdp_sent |= ok && matches!(made, Made::Mesh | Made::Reoffer);
                if !ok {
                    self.again = false;
                }
            }
            Made::Answer | Made::Reanswer => self.sdp_sent |= ok,
        }
        Some(made)
    }

    /// Holds a made offer until its batch goes out.
    pub fn hold_offer(&mut self, sdp: String) {
        self.held_offer = Some(sdp);
    }

    /// The held offer, now going out.
    pub fn offer_to_send(&mut self) -> Option<String> {
        let sdp = self.held_offer.take()?;
        self.sdp_sent = true;
        Some(sdp)
    }

    /// The media changed: the operation to re-offer now, or `None` (the far end offers on
    /// this connection, or a negotiation is under way and this change follows it).
    pub fn reoffer(&mut self, video: bool) -> Option<PeerOp> {
        if self.role != Role::Offerer {
            return None;
        }
        if self.making() || self.awaiting_answer {
            self.again = true;
            return None;
        }
        self.making.push_back(Made::Reoffer);
        Some(PeerOp::Reoffer {
            video,
            ice_restart: std::mem::take(&mut self.restart),
        })
    }

    /// The path is lost: the operation to offer with fresh ICE credentials now, or `None`
    /// (the far end offers on this connection, or an offer is under way and the restart
    /// follows it).
    pub fn restart(&mut self, video: bool) -> Option<PeerOp> {
        if self.role != Role::Offerer {
            return None;
        }
        self.restart = true;
        self.reoffer(video)
    }

    /// Our offer out is given up (it may have been lost with a dead socket): the next offer
    /// may go. An answer to it that still comes is refused unless a new offer waits.
    pub fn abandon_offer(&mut self) {
        self.awaiting_answer = false;
    }

    /// The far end's answer came: whether it is applied (only while our offer waits).
    pub fn accept_answer(&mut self) -> bool {
        if !self.awaiting_answer {
            return false;
        }
        self.awaiting_answer = false;
        self.remote_set = true;
        true
    }

    /// After an applied answer: the candidates held for it, and whether to offer again.
    pub fn after_answer(&mut self) -> (Vec<IceCandidate>, bool) {
        (
            std::mem::take(&mut self.pending_remote),
            std::mem::take(&mut self.again),
        )
    }

    /// Whether an offer from the far end renegotiates this connection (we answered its first
    /// offer, and it has been set). The caller checks that it comes from the same session.
    pub fn takes_reoffer(&mut self) -> bool {
        if self.role != Role::Answerer || !self.remote_set {
            return false;
        }
        self.making.push_back(Made::Reanswer);
        true
    }

    /// A remote candidate: the operation to apply it now, or held until the remote
    /// description is set.
    pub fn remote_candidate(&mut self, c: IceCandidate) -> Option<PeerOp> {
        if self.remote_set {
            Some(PeerOp::AddCandidate(c))
        } else {
            self.pending_remote.push(c);
            None
        }
    }
}
