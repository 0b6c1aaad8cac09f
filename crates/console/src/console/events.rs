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
                self.ui.emit(UiEvent::error(None, &e));
            }
        }
    }

    pub(super) async fn on_event(self: &Arc<Self>, ev: Event, account: &Account) -> CmdResult<()> {
        let ui = |e| self.ui.emit(e);
        if let Event::Incoming {
            call_id,
            monitor: Some(m),
            ..
        } = &ev
            && !m.notice
        {
            lock(&self.silent).insert(call_id.to_string());
        }
        if self.is_silent(&ev) {
            return Ok(());
        }
        match &ev {
            Event::SignedIn { resumed, .. } => {
                ui(UiEvent::SignedIn {
                    user: account.user.clone(),
                    role: account.role,
                    server: account.server.clone(),
                    resumed: *resumed,
                });
                return Ok(());
            }
            Event::Incoming { .. } => self.incoming(account, &ev).await?,
            Event::MemberJoined { call_id, user, .. } => {
                let id = call_id.to_string();
                let at = now_ms();
                if let Some(l) = lock(&self.live).get_mut(&id) {
                    l.answered_at.get_or_insert(at);
                }
                self.history.answered(&id, at).await?;
                self.history.add_peer(&id, user.as_str()).await?;
            }
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
                self.history.message(&id, at, from.as_str(), text).await?;
                ui(UiEvent::Message {
                    call_id: id,
                    from: from.to_string(),
                    text: text.clone(),
                    at,
                    mine: false,
                });
                return Ok(());
            }
            Event::Stats { call_id, .. } => {
                self.history.alive(call_id.as_str(), now_ms()).await?;
            }
            Event::Ended {
                call_id,
                reason,
                stats,
                hold_count,
                hold_ms,
                ..
            } => {
                let id = call_id.to_string();
                self.sounds.stop_ring(&*self.ui, &id);
                lock(&self.live).remove(&id);
                let (code, side) = (wire_name(&reason.code), wire_name(&reason.side));
                let quality = quality_summary(stats);
                self.history
                    .ended(&id, now_ms(), &code, &side, quality.as_ref())
                    .await?;
                if *hold_count > 0 {
                    self.history
                        .set_floor(&id, (*hold_count, *hold_ms), None)
                        .await?;
                }
                ui(UiEvent::Engine(ev.clone()));
                ui(UiEvent::HistoryChanged { call_id: id });
                return Ok(());
            }
            Event::RecordingStopped { call_id, summary } if summary.bytes > 0 => {
                let id = call_id.to_string();
                self.history
                    .set_recording(&id, &summary.path.display().to_string())
                    .await?;
                ui(UiEvent::Engine(ev.clone()));
                ui(UiEvent::HistoryChanged { call_id: id });
                return Ok(());
            }
            Event::FileReceived {
                call_id,
                from,
                name,
                data,
            } => {
                let id = call_id.to_string();
                match self.save_received(name, data) {
                    Ok(path) => {
                        let text = format!("📎 {name}");
                        self.history
                            .message(&id, now_ms(), from.as_str(), &text)
                            .await?;
                        ui(UiEvent::FileReceived {
                            call_id: id,
                            from: from.to_string(),
                            name: name.clone(),
                            path: path.display().to_string(),
                        });
                    }
                    Err(e) => ui(UiEvent::error(
                        Some(&id),
                        format!("cannot save {name}: {e}"),
                    )),
                }
                return Ok(());
            }
            _ => {}
        }
        // Everything else the UI reads as the engine said it.
        ui(UiEvent::Engine(ev));
        Ok(())
    }

    /// An event of a silent monitor call (forgotten at its end). Rare, so finding the call id
    /// through serde costs nothing the rest of the time.
    fn is_silent(&self, ev: &Event) -> bool {
        let mut silent = lock(&self.silent);
        if silent.is_empty() {
            return false;
        }
        let id = serde_json::to_value(ev)
            .ok()
            .and_then(|v| v.get("call_id")?.as_str().map(str::to_owned));
        let Some(id) = id.filter(|id| silent.contains(id)) else {
            return false;
        };
        if matches!(ev, Event::Ended { .. }) {
            silent.remove(&id);
        }
        true
    }

    /// A call rings: its history row, the screen pop's context, the ringer and auto-answer.
    async fn incoming(self: &Arc<Self>, account: &Account, ev: &Event) -> CmdResult<()> {
        let Event::Incoming {
            call_id,
            from,
            kind,
            media,
            members,
            from_name,
            queue,
            consult,
            monitor,
        } = ev
        else {
            return Ok(());
        };
        // A consult is about a customer's business too (the history's filter finds it there).
        let business = queue
            .as_ref()
            .or(consult.as_ref().map(|c| &c.queue))
            .map(|q| q.business.to_string());
        let warm = queue.as_ref().is_some_and(|q| q.warm);
        let (kind, media) = (*kind, *media);
        let id = call_id.to_string();
        let pop = PopContext {
            caller: from_name
                .as_ref()
                .map_or_else(|| from.to_string(), ToString::to_string),
            business: business.clone(),
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
                business,
                started_at: now_ms(),
            })
            .await?;
        self.ui.emit(UiEvent::HistoryChanged {
            call_id: id.clone(),
        });
        if warm || monitor.is_some() {
            // The engine takes a warm transfer, and an announced monitor, at once: no ringer,
            // no auto-answer.
            return Ok(());
        }
        let settings = self.settings();
        self.sounds.ring(&*self.ui, &id, &settings);
        if settings.preferences.auto_answer.answers(kind) {
            // A moment for the agent to hear it ring, as desk phones do, then the announce
            // tone: "you are connected now".
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
