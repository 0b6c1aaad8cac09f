//! The pump: the engine's events become UI events, history rows, the ringer, auto-answer
//! and received files.

use std::sync::Arc;

use switchboard_engine::{Event, PeerStats};
use switchboard_protocol::{CallKind, wire_name};

use crate::history::{Direction, NewCall};

use super::*;

impl Console {
    /// Engine events → UI events and history rows, until the engine stops.
    pub(super) async fn pump(
        self: Arc<Self>,
        mut events: tokio::sync::mpsc::UnboundedReceiver<Event>,
        account: Account,
    ) {
        while let Some(ev) = events.recv().await {
            if let Err(e) = self.on_event(ev, &account).await {
                tracing::warn!("history: {e}");
                self.ui.emit(UiEvent::Error {
                    call_id: None,
                    message: e.to_string(),
                });
            }
        }
    }

    pub(super) async fn on_event(self: &Arc<Self>, ev: Event, account: &Account) -> CmdResult<()> {
        let ui = |e| self.ui.emit(e);
        match ev {
            Event::SignedIn { resumed, .. } => ui(UiEvent::SignedIn {
                user: account.user.clone(),
                role: account.role,
                server: account.server.clone(),
                resumed,
            }),
            Event::SignalingLost(reason) => ui(UiEvent::Reconnecting { reason }),
            Event::Closed(reason) => ui(UiEvent::SignedOut { reason }),
            Event::Incoming {
                call_id,
                from,
                kind,
                media,
                members,
                from_name,
                queue,
            } => {
                let id = call_id.to_string();
                let pop = PopContext {
                    caller: from_name
                        .as_ref()
                        .map_or_else(|| from.to_string(), ToString::to_string),
                    business: queue.as_ref().map(|q| q.business.to_string()),
                    call_id: id.clone(),
                };
                lock(&self.live).insert(
                    id.clone(),
                    Live {
                        answered_at: None,
                        pop: Some(pop),
                    },
                );
                let mut peers: Vec<String> = vec![from.to_string()];
                peers.extend(
                    members
                        .iter()
                        .map(ToString::to_string)
                        .filter(|m| *m != account.user && *m != from.as_str()),
                );
                self.history
                    .started(&NewCall {
                        call_id: id.clone(),
                        account: Self::account_key(account),
                        direction: Direction::Incoming,
                        peers,
                        media: wire_name(&media),
                        queue: kind == CallKind::Queue,
                        business: queue.as_ref().map(|q| q.business.to_string()),
                        started_at: now_ms(),
                    })
                    .await?;
                ui(UiEvent::HistoryChanged {
                    call_id: id.clone(),
                });
                ui(UiEvent::Incoming {
                    call_id: id.clone(),
                    from: from.to_string(),
                    from_name: from_name.map(|n| n.to_string()),
                    kind,
                    media,
                    members: members.iter().map(ToString::to_string).collect(),
                    queue,
                });
                let settings = self.settings();
                self.sounds.ring(&*self.ui, &id, &settings);
                if settings.auto_answer.answers(kind) {
                    // A moment for the agent to hear it ring, as desk phones do, then the
                    // announce tone: "you are connected now".
                    let me = self.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(AUTO_ANSWER_AFTER).await;
                        let ringing = lock(&me.live)
                            .get(&id)
                            .is_some_and(|l| l.answered_at.is_none());
                        if !ringing {
                            return;
                        }
                        match me.accept(&id, None).await {
                            Ok(()) => me.sounds.announce(&*me.ui, &me.settings()),
                            Err(e) => tracing::warn!("auto-answer {id}: {e}"),
                        }
                    });
                }
            }
            Event::Ringing { call_id, user } => ui(UiEvent::Ringing {
                call_id: call_id.to_string(),
                user: user.to_string(),
            }),
            Event::MemberJoined { call_id, user, .. } => {
                let id = call_id.to_string();
                let at = now_ms();
                if let Some(l) = lock(&self.live).get_mut(&id) {
                    l.answered_at.get_or_insert(at);
                }
                self.history.answered(&id, at).await?;
                self.history.add_peer(&id, user.as_str()).await?;
                ui(UiEvent::MemberJoined {
                    call_id: id,
                    user: user.to_string(),
                });
            }
            Event::MemberLeft { call_id, user, .. } => ui(UiEvent::MemberLeft {
                call_id: call_id.to_string(),
                user: user.to_string(),
            }),
            Event::FirstMedia {
                call_id,
                user,
                kind,
                ..
            } => ui(UiEvent::FirstMedia {
                call_id: call_id.to_string(),
                user: user.to_string(),
                kind: kind.to_owned(),
            }),
            Event::RemoteMediaState {
                call_id,
                user,
                state,
            } => ui(UiEvent::RemoteMedia {
                call_id: call_id.to_string(),
                user: user.to_string(),
                state,
            }),
            Event::MediaSwitched { call_id, by, media } => ui(UiEvent::MediaSwitched {
                call_id: call_id.to_string(),
                by: by.to_string(),
                media,
            }),
            Event::CallMessage {
                call_id,
                from,
                text,
            }
            | Event::DataText {
                call_id,
                from,
                text,
            } => {
                let at = now_ms();
                let id = call_id.to_string();
                self.history.message(&id, at, from.as_str(), &text).await?;
                ui(UiEvent::Message {
                    call_id: id,
                    from: from.to_string(),
                    text,
                    at,
                    mine: false,
                });
            }
            Event::Stats { call_id, peers } => {
                let id = call_id.to_string();
                self.history.alive(&id, now_ms()).await?;
                ui(UiEvent::Stats { call_id: id, peers });
            }
            Event::DeviceFailed { kind, id, reason } => {
                ui(UiEvent::DeviceFailed { kind, id, reason })
            }
            Event::Ended {
                call_id,
                reason,
                stats,
                ..
            } => {
                let id = call_id.to_string();
                self.sounds.stop_ring(&*self.ui, &id);
                let at = now_ms();
                let answered = lock(&self.live).remove(&id).and_then(|l| l.answered_at);
                let (code, side) = (wire_name(&reason.code), wire_name(&reason.side));
                let quality = quality_summary(&stats);
                self.history
                    .ended(&id, at, &code, &side, quality.as_ref())
                    .await?;
                ui(UiEvent::Ended {
                    call_id: id.clone(),
                    code,
                    side,
                    duration_ms: answered.map_or(0, |a| (at - a).max(0)),
                });
                ui(UiEvent::HistoryChanged { call_id: id });
            }
            Event::RecordingStopped { call_id, summary } => {
                let id = call_id.to_string();
                ui(UiEvent::Recording {
                    call_id: id.clone(),
                    recording: false,
                    paused: false,
                    path: summary.path.display().to_string(),
                });
                if summary.bytes > 0 {
                    self.history
                        .set_recording(&id, &summary.path.display().to_string())
                        .await?;
                    ui(UiEvent::HistoryChanged {
                        call_id: id.clone(),
                    });
                }
                if let Some(e) = summary.error {
                    ui(UiEvent::Error {
                        call_id: Some(id),
                        message: e.to_string(),
                    });
                }
            }
            Event::ScreenShareEnded { call_id, reason } => {
                ui(UiEvent::ScreenShare {
                    call_id: call_id.to_string(),
                    sharing: false,
                    source: None,
                    reason,
                });
            }
            Event::Server(m) => ui(UiEvent::Server {
                message: serde_json::to_value(&*m).unwrap_or_default(),
            }),
            Event::Error { call_id, message } => ui(UiEvent::Error {
                call_id: call_id.map(|c| c.to_string()),
                message,
            }),
            Event::FileProgress {
                call_id,
                user,
                name,
                done,
                total,
                sending,
            } => ui(UiEvent::FileProgress {
                call_id: call_id.to_string(),
                user: user.to_string(),
                name,
                done,
                total,
                sending,
            }),
            Event::FileOffered {
                call_id,
                from,
                id,
                name,
                size,
            } => ui(UiEvent::FileOffered {
                call_id: call_id.to_string(),
                from: from.to_string(),
                id,
                name,
                size,
            }),
            Event::FileFailed {
                call_id,
                from,
                name,
                reason,
            } => ui(UiEvent::FileFailed {
                call_id: call_id.to_string(),
                from: from.to_string(),
                name,
                reason,
            }),
            Event::FileReceived {
                call_id,
                from,
                name,
                data,
            } => {
                let id = call_id.to_string();
                match self.save_received(&name, &data) {
                    Ok(path) => {
                        let text = format!("📎 {name}");
                        self.history
                            .message(&id, now_ms(), from.as_str(), &text)
                            .await?;
                        ui(UiEvent::FileReceived {
                            call_id: id,
                            from: from.to_string(),
                            name,
                            path: path.display().to_string(),
                        });
                    }
                    Err(e) => ui(UiEvent::Error {
                        call_id: Some(id),
                        message: format!("cannot save {name}: {e}"),
                    }),
                }
            }
            Event::TransportReady { .. } => {}
        }
        Ok(())
    }
}

/// What the history row keeps of a call's quality: per member, what arrived and how well.
fn quality_summary(stats: &[PeerStats]) -> Option<serde_json::Value> {
    if stats.is_empty() {
        return None;
    }
    let members: Vec<serde_json::Value> = stats
        .iter()
        .map(|s| {
            serde_json::json!({
                "user": s.user,
                "quality": s.quality,
                "rtt_ms": s.rtt_ms.map(|r| r.round()),
                "video": {"decoded": s.video.decoded, "lost": s.video.lost,
                          "width": s.video.width, "height": s.video.height},
                "audio": {"decoded": s.audio.decoded, "lost": s.audio.lost,
                          "concealed": s.audio.concealed},
            })
        })
        .collect();
    let worst = stats.iter().map(|s| s.quality).min().unwrap_or(0);
    Some(serde_json::json!({ "quality": worst, "members": members }))
}
