//! Placing calls, inviting members into one, the mesh rule, and re-offers after a switch.

use switchboard_protocol::{
    CallId, CallMedia, ClientMessage, InviteMembers, Invitee, RequestId, Sdp, UserId,
};

use super::*;

impl Core {
    pub(super) fn place_call(
        &mut self,
        request: RequestId,
        to: Vec<UserId>,
        media: CallMedia,
        consult: Option<CallId>,
        monitor: Option<switchboard_protocol::MonitorMode>,
    ) {
        let video = media == CallMedia::Video;
        let mut peers: Vec<(UserId, PeerId)> = Vec::new();
        for user in to {
            // One connection per member: a name twice (or our own) gets no second one.
            if peers.iter().any(|(u, _)| *u == user) || Some(&user) == self.me.as_ref() {
                continue;
            }
            let peer = self.offer_to(&user, Owner::Invite(request), Made::Invite, video);
            peers.push((user, peer));
        }
        self.invites.insert(
            request,
            PendingInvite {
                media,
                consult,
                monitor,
                peers,
                offers: HashMap::new(),
                sent: false,
            },
        );
        self.send_invite_when_ready(request);
    }

    /// Sends the invite once every invitee's offer is made.
    pub(super) fn send_invite_when_ready(&mut self, request: RequestId) {
        let Some(inv) = self.invites.get_mut(&request) else {
            return;
        };
        if inv.sent || inv.peers.iter().any(|(_, p)| !inv.offers.contains_key(p)) {
            return;
        }
        inv.sent = true;
        let to = inv
            .peers
            .iter()
            .map(|(user, p)| Invitee {
                user: user.clone(),
                offer: inv.offers.get(p).and_then(|o| Sdp::new(o.clone()).ok()),
            })
            .collect();
        let media = inv.media;
        let consult = inv.consult.clone();
        let monitor = inv.monitor;
        self.send_request(
            request,
            ClientMessage::Invite(switchboard_protocol::Invite {
                to,
                media,
                extra: None,
                consult,
                monitor,
            }),
        );
    }

    /// Our invite failed (a peer could not be made, or the server refused it).
    pub(super) fn invite_failed(&mut self, request: RequestId, why: String) {
        let Some(inv) = self.invites.remove(&request) else {
            return;
        };
        for (_, p) in inv.peers {
            self.close_peer(p);
        }
        self.out.push_back(Output::Reply {
            request,
            result: Err(why),
        });
    }

    /// Adds members to a call in progress, each invited with our offer. Only a member who is
    /// in the call may, and only people who are not in it (the server would refuse both; a
    /// connection made for nothing would wait for an answer forever).
    pub(super) fn invite(&mut self, request: RequestId, call_id: &CallId, users: Vec<UserId>) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        if !call.media_on {
            self.emit(Event::Error {
                call_id: Some(call_id.clone()),
                message: "answer the call before inviting others".into(),
            });
            return;
        }
        let video = call.media == CallMedia::Video;
        let mut fresh: Vec<UserId> = Vec::new();
        for u in users {
            let known = call.members.contains(&u)
                || call.peers.contains_key(&u)
                || call.inviting.iter().any(|(_, p)| self.peers[p].user == u)
                || fresh.contains(&u);
            if !known && Some(&u) != self.me.as_ref() {
                fresh.push(u);
            }
        }
        for user in fresh {
            let owner = Owner::Call(call_id.clone());
            let peer = self.offer_to(&user, owner, Made::InviteMember, video);
            if let Some(call) = self.calls.get_mut(call_id) {
                call.inviting.push((request, peer));
                call.members.insert(user);
            }
        }
        self.gates(call_id);
    }

    /// Sends one `invite_members` per request whose offers are all made (one frame for the
    /// members the user asked for together).
    pub(super) fn send_member_invites(&mut self, call_id: &CallId) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let requests: std::collections::BTreeSet<RequestId> =
            call.inviting.iter().map(|(r, _)| *r).collect();
        for request in requests {
            let Some(call) = self.calls.get_mut(call_id) else {
                return;
            };
            let batch: Vec<PeerId> = call
                .inviting
                .iter()
                .filter(|(r, _)| *r == request)
                .map(|(_, p)| *p)
                .collect();
            if batch
                .iter()
                .any(|p| self.peers.get(p).is_some_and(|p| p.neg.making()))
            {
                continue;
            }
            call.inviting.retain(|(r, _)| *r != request);
            let mut to = Vec::new();
            for peer in &batch {
                let Some(p) = self.peers.get_mut(peer) else {
                    continue;
                };
                let Some(offer) = p.neg.offer_to_send() else {
                    continue;
                };
                call.peers.insert(p.user.clone(), *peer);
                to.push(Invitee {
                    user: p.user.clone(),
                    offer: Sdp::new(offer).ok(),
                });
            }
            if to.is_empty() {
                continue;
            }
            self.member_invites
                .insert(request, (call_id.clone(), batch.clone()));
            self.send_request(
                request,
                ClientMessage::InviteMembers(InviteMembers {
                    call_id: call_id.clone(),
                    to,
                }),
            );
            for p in batch {
                self.flush_local(p);
            }
        }
    }

    /// The server refused our `invite_members`: its connections go.
    pub(super) fn member_invite_refused(&mut self, request: RequestId, why: String) {
        let Some((call_id, peers)) = self.member_invites.remove(&request) else {
            return;
        };
        if let Some(call) = self.calls.get_mut(&call_id) {
            for p in &peers {
                if let Some(state) = self.peers.get(p) {
                    call.members.remove(&state.user);
                }
            }
            call.peers.retain(|_, p| !peers.contains(p));
        }
        for p in peers {
            self.close_peer(p);
        }
        self.emit(Event::Error {
            call_id: Some(call_id),
            message: why,
        });
    }

    /// Full mesh: once we are in, for every joined member we have no connection with, the one
    /// whose id sorts first offers (the inviter already offered to those it invited).
    pub(super) fn mesh(&mut self, call_id: &CallId) {
        let Some(me) = self.me.clone() else { return };
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let video = call.media == CallMedia::Video;
        let todo: Vec<UserId> = call
            .joined
            .iter()
            .filter(|u| **u != me && !call.peers.contains_key(*u) && me < **u)
            .cloned()
            .collect();
        for user in todo {
            let peer = self.offer_to(&user, Owner::Call(call_id.clone()), Made::Mesh, video);
            if let Some(call) = self.calls.get_mut(call_id) {
                call.peers.insert(user, peer);
            }
        }
        self.gates(call_id);
    }

    /// After an audio↔video switch (ours or another member's): re-offer to every member we made
    /// the first offer to, with the video m-line on or off.
    pub(super) fn renegotiate(&mut self, call_id: &CallId) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let video = call.media == CallMedia::Video;
        // Those being invited too: their offer has the old media, so they get a new one once
        // they answer.
        let inviting = call.inviting.iter().map(|(_, p)| p);
        let peers: Vec<PeerId> = call.peers.values().chain(inviting).copied().collect();
        for peer in peers {
            if let Some(p) = self.peers.get_mut(&peer)
                && let Some(op) = p.neg.reoffer(video)
            {
                self.op(peer, op);
            }
        }
    }

    /// A new connection to `user` that makes the first offer (`made`: what the offer is for).
    pub(super) fn offer_to(
        &mut self,
        user: &UserId,
        owner: Owner,
        made: Made,
        video: bool,
    ) -> PeerId {
        let peer = self.new_peer(user, owner, Role::Offerer, made);
        let user = user.clone();
        self.op(peer, PeerOp::Offer { user, video });
        peer
    }
}
