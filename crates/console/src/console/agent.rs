//! Devices and the video profile, the agent's queue commands, and the history views.

use std::path::Path;

use switchboard_engine::VideoProfile;
use switchboard_engine::auth::ServerAddresses;
use switchboard_protocol::{
    AgentProfile, AgentRegister, CallMedia, ClientMessage, EndWrapUp, Label, MonitorMode,
    SetAgentState, Transfer,
};

use crate::history::{CallRow, HistoryQuery, MessageRow};

use super::*;

impl Console {
    /// Every device that can be picked now (synthetic ones first).
    pub async fn devices(&self) -> Vec<switchboard_media::DeviceInfo> {
        tokio::task::spawn_blocking(switchboard_media::devices::all_devices)
            .await
            .unwrap_or_default()
    }

    /// Picks a device (also during a call) and remembers it.
    pub async fn set_device(&self, kind: switchboard_media::DeviceKind, id: &str) -> CmdResult<()> {
        use switchboard_media::DeviceKind as K;
        if let Ok((engine, _)) = self.engine().await {
            match kind {
                K::Camera => engine.set_camera(id).await?,
                K::Microphone => engine.set_microphone(id).await?,
                K::Speaker => engine.set_speaker(id).await?,
            }
        } else {
            let checked = match kind {
                K::Camera => switchboard_media::camera::check(id),
                K::Microphone => switchboard_media::Microphone::open(id).map(drop),
                K::Speaker => switchboard_media::Speaker::open(id).map(drop),
            };
            checked.map_err(|e| CommandError::new("device", e))?;
        }
        self.save_settings(|s| match kind {
            K::Camera => s.camera = id.to_owned(),
            K::Microphone => s.microphone = id.to_owned(),
            K::Speaker => s.speaker = id.to_owned(),
        });
        Ok(())
    }

    pub async fn set_video_profile(&self, profile: &str) -> CmdResult<()> {
        let p: VideoProfile = profile
            .parse()
            .map_err(|e| CommandError::new("bad_input", format!("{profile:?}: {e}")))?;
        if let Ok((engine, _)) = self.engine().await {
            engine.set_video_profile(p);
        }
        self.save_settings(|s| s.video_profile = p.to_string());
        Ok(())
    }

    /// Joins the queue as an agent with these skills (`business` names).
    pub async fn agent_register(&self, area: &str, skills: &[String]) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        let skills = skills
            .iter()
            .map(|b| {
                Ok(switchboard_protocol::Skill {
                    business: switchboard_protocol::Business::new(b.as_str())
                        .map_err(|e| CommandError::new("bad_input", e))?,
                    level: 1,
                })
            })
            .collect::<CmdResult<Vec<_>>>()?;
        engine.send_raw(ClientMessage::AgentRegister(AgentRegister {
            profile: AgentProfile {
                area: Label::new(area).map_err(|e| CommandError::new("bad_input", e))?,
                skills,
                display_name: None,
            },
        }));
        Ok(())
    }

    /// Ready, not ready (with a reason) or offline; now or after this call.
    pub async fn agent_state(&self, state: SetAgentState) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        engine.send_raw(ClientMessage::SetAgentState(state));
        Ok(())
    }

    /// Supervisors: the server pushes the wallboard from now on (`on`), or stops.
    pub async fn watch_floor(&self, on: bool) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        engine.send_raw(ClientMessage::WatchFloor(
            switchboard_protocol::WatchFloor { on },
        ));
        Ok(())
    }

    /// Supervisors: monitors `agent`'s customer call (`mode` listen, whisper or barge).
    /// Returns the monitor call's id; it is in the supervisor's history as a call with the
    /// agent.
    pub async fn monitor(&self, agent: &str, mode: MonitorMode) -> CmdResult<String> {
        let (engine, account) = self.engine().await?;
        let agent = super::user_id(agent)?;
        let id = engine
            // Video: the supervisor sees the agent's camera and, forwarded, the customer's.
            .monitor(agent.clone(), mode, CallMedia::Video)
            .await
            .map_err(|e| CommandError::new("monitor", e))?
            .to_string();
        lock(&self.live).insert(id.clone(), super::Live::default());
        self.history
            .started(&crate::history::NewCall {
                call_id: id.clone(),
                account: Self::account_key(&account),
                direction: crate::history::Direction::Outgoing,
                peers: vec![agent.to_string()],
                media: switchboard_protocol::wire_name(&CallMedia::Video),
                queue: false,
                business: None,
                started_at: super::now_ms(),
            })
            .await?;
        self.ui.emit(UiEvent::HistoryChanged {
            call_id: id.clone(),
        });
        Ok(id)
    }

    /// Supervisors: listen, whisper or barge in a monitor call.
    pub async fn set_monitor(&self, id: &str, mode: MonitorMode) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        engine.set_monitor(&super::call_id(id)?, mode);
        Ok(())
    }

    /// Supervisors: take the monitored customer over.
    pub async fn take_over(&self, id: &str) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        engine.take_over(&super::call_id(id)?);
        Ok(())
    }

    /// As the agent of customer call `id`: joins the consulted colleague with the customer.
    pub async fn conference(&self, id: &str) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        engine.conference(&super::call_id(id)?);
        Ok(())
    }

    /// Ends the wrap-up with notes and a disposition (also kept in the history).
    pub async fn end_wrap_up(&self, w: EndWrapUp) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        let id = w.call_id.to_string();
        let notes = w.notes.as_ref().map(|t| t.to_string()).unwrap_or_default();
        let disposition = w.disposition.as_ref().map(ToString::to_string);
        engine.send_raw(ClientMessage::EndWrapUp(w));
        self.history
            .set_notes(&id, &notes, disposition.as_deref())
            .await?;
        self.ui.emit(UiEvent::HistoryChanged { call_id: id });
        Ok(())
    }

    pub async fn transfer(&self, t: Transfer) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        engine.send_raw(ClientMessage::Transfer(t));
        Ok(())
    }

    /// The signed-in account's calls that match (the account is filled in here).
    pub async fn history(&self, mut q: HistoryQuery) -> CmdResult<Vec<CallRow>> {
        q.account = self.history_account().await?;
        Ok(self.history.query(&q).await?)
    }

    pub async fn history_messages(&self, id: &str) -> CmdResult<Vec<MessageRow>> {
        Ok(self.history.messages(id).await?)
    }

    pub async fn set_notes(
        &self,
        id: &str,
        notes: &str,
        disposition: Option<&str>,
    ) -> CmdResult<()> {
        self.history.set_notes(id, notes, disposition).await?;
        Ok(())
    }

    /// Exports the matching calls to a CSV file; progress arrives as `export_progress`.
    pub async fn export_history(&self, mut q: HistoryQuery, path: &Path) -> CmdResult<u64> {
        q.account = self.history_account().await?;
        let ui = self.ui.clone();
        Ok(self
            .history
            .export_csv(&q, path, |done, total| {
                ui.emit(UiEvent::ExportProgress { done, total });
            })
            .await?)
    }

    /// The account whose history is shown: the one signed in, else the last one.
    pub(super) async fn history_account(&self) -> CmdResult<String> {
        if let Some(a) = self.account().await {
            return Ok(Self::account_key(&a));
        }
        let s = self.settings();
        let servers: ServerAddresses = s
            .server
            .parse()
            .map_err(|_| CommandError::new("signed_out", "not signed in"))?;
        Ok(format!("{}@{}", s.user, servers.first().http))
    }
}
