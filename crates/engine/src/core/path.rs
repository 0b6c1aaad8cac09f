//! Each peer's media path (ICE + DTLS) once the connection exists: up, lost, and back through an
//! ICE restart.
//!
//! - The user hears [`Event::TransportReady`] each time a member's path comes up (the first
//!   time and after a loss) and [`Event::TransportLost`] when it goes down (`disconnected` or
//!   `failed`): the UI shows that member as reconnecting meanwhile.
//! - Only the side that offers on a connection restarts its ICE: an offer with fresh ICE
//!   credentials, through the same one-offer-at-a-time negotiation (a restart asked for while
//!   an offer is out follows its answer). It waits [`RESTART_GRACE`] after `disconnected` (a
//!   path often comes back by itself within it) and none after `failed`. The answering side
//!   waits for that offer: its consent checks fail as the offerer's do, both ways.
//! - A restart that does not bring the path back is tried again after [`RESTART_RETRY`],
//!   doubling up to [`RESTART_RETRY_MAX`], for as long as the path is down and the connection
//!   lives.
//! - A lost path may mean a changed network under the signaling socket too: the driver is
//!   asked to check it (`Output::CheckSignaling`); once the session is resumed on a new
//!   socket, the restart offer that may have died with the old one is made again.

use std::time::{Duration, Instant};

use switchboard_protocol::CallMedia;

use super::negotiation::Role;
use super::*;

/// How long a `disconnected` path may come back by itself before the offerer restarts ICE.
pub const RESTART_GRACE: Duration = Duration::from_millis(500);
/// How long a restart has to bring the path back before the next.
pub const RESTART_RETRY: Duration = Duration::from_secs(5);
/// The longest wait between two restarts.
pub const RESTART_RETRY_MAX: Duration = Duration::from_secs(20);

/// What a peer connection's transport reports (webrtc's connection states, less `new` and
/// `closed`, which the core decides itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportState {
    Connecting,
    Connected,
    /// No traffic from the far end for a while (consent checks failing); it may come back.
    Disconnected,
    /// ICE gave up on every pair.
    Failed,
}

/// One peer's path as the core follows it.
#[derive(Debug, Default)]
pub(super) struct Path {
    pub(super) up: bool,
    /// It went down (or failed before it was ever up) and is not back.
    lost: bool,
    /// When to restart ICE, while lost (the offering side only).
    restart_at: Option<Instant>,
    /// Restarts made since it was lost.
    restarts: u32,
}

impl Path {
    pub(super) fn timer(&self) -> Option<Instant> {
        self.restart_at
    }
}

impl Core {
    /// A peer's transport changed.
    pub(super) fn transport(&mut self, peer: PeerId, state: TransportState, now: Instant) {
        let Some((call_id, p)) = self.call_peer(peer) else {
            return;
        };
        let user = p.user.clone();
        match state {
            TransportState::Connecting => {}
            TransportState::Connected => {
                if p.path.up {
                    return;
                }
                p.path = Path {
                    up: true,
                    ..Path::default()
                };
                self.emit(Event::TransportReady { call_id, user });
            }
            TransportState::Disconnected | TransportState::Failed => {
                let was_up = std::mem::replace(&mut p.path.up, false);
                let newly_lost = !p.path.lost;
                // A connection still being set up may go `disconnected` on its way; it is lost
                // only once it was up, or when it failed.
                if !was_up && !p.path.lost && state == TransportState::Disconnected {
                    return;
                }
                p.path.lost = true;
                if p.neg.role == Role::Offerer {
                    let at = if state == TransportState::Failed {
                        now
                    } else {
                        now + RESTART_GRACE
                    };
                    // A restart already due sooner stays.
                    p.path.restart_at = Some(p.path.restart_at.map_or(at, |t| t.min(at)));
                }
                if newly_lost {
                    self.emit(Event::TransportLost { call_id, user });
                    if self.connected {
                        self.out.push_back(Output::CheckSignaling);
                    }
                }
            }
        }
    }

    /// The session is back on a new socket: the offers of lost paths are made again, at once
    /// (one that went out on the old socket may never have reached the server).
    pub(super) fn restart_lost_paths(&mut self, now: Instant) {
        let lost: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.path.lost && !p.path.up && p.neg.role == Role::Offerer)
            .map(|(id, _)| *id)
            .collect();
        for peer in lost {
            if let Some(p) = self.peers.get_mut(&peer) {
                p.neg.abandon_offer();
                p.path.restart_at = Some(now);
            }
        }
        self.path_timers(now);
    }

    /// Restarts ICE on every lost path whose time has come.
    pub(super) fn path_timers(&mut self, now: Instant) {
        let due: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.path.restart_at.is_some_and(|t| t <= now))
            .map(|(id, _)| *id)
            .collect();
        for peer in due {
            let Some((call_id, p)) = self.call_peer(peer) else {
                continue;
            };
            p.path.restart_at = None;
            if p.path.up || !p.path.lost {
                continue;
            }
            let wait = RESTART_RETRY
                .saturating_mul(1 << p.path.restarts.min(8))
                .min(RESTART_RETRY_MAX);
            p.path.restarts += 1;
            p.path.restart_at = Some(now + wait);
            let video = self
                .calls
                .get(&call_id)
                .is_some_and(|c| c.media == CallMedia::Video);
            tracing::info!(%call_id, %peer, "media path lost: restarting ICE");
            if let Some(op) = self.peers.get_mut(&peer).and_then(|p| p.neg.restart(video)) {
                self.op(peer, op);
            }
        }
    }
}
