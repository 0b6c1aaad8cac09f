//! The calls: placing, answering (with the screen pop), recording, files, the screen share,
//! invites, hang-up, mute, audio↔video, in-call text.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use switchboard_protocol::{CallMedia, Text, UserId, wire_name};

use crate::history::{Direction, NewCall};
use crate::sounds::{SoundTest, ringer_device};

use super::*;

impl Console {
    /// Calls one user or several (a group call).
    pub async fn call(&self, to: &[String], media: CallMedia) -> CmdResult<String> {
        let (engine, account) = self.engine().await?;
        let to: Vec<UserId> = to.iter().map(|u| user_id(u)).collect::<CmdResult<_>>()?;
        if to.is_empty() {
            return Err(CommandError::new("bad_input", "whom to call?"));
        }
        let id = engine
            .call(to.clone(), media)
            .await
            .map_err(|e| CommandError::new("call", e))?;
        let id = id.to_string();
        lock(&self.live).insert(id.clone(), Live::default());
        self.history
            .started(&NewCall {
                call_id: id.clone(),
                account: Self::account_key(&account),
                direction: Direction::Outgoing,
                peers: to.iter().map(ToString::to_string).collect(),
                media: wire_name(&media),
                queue: false,
                business: None,
                started_at: now_ms(),
            })
            .await?;
        self.ui.emit(UiEvent::HistoryChanged {
            call_id: id.clone(),
        });
        Ok(id)
    }

    /// Consults colleague `to` about customer call `id` (an audio call of its own; the server
    /// holds the customer meanwhile). Returns the consult's call id.
    pub async fn consult(&self, id: &str, to: &str) -> CmdResult<String> {
        let (engine, account) = self.engine().await?;
        let to = user_id(to)?;
        let consult = engine
            .consult(&call_id(id)?, to.clone())
            .await
            .map_err(|e| CommandError::new("consult", e))?
            .to_string();
        lock(&self.live).insert(consult.clone(), Live::default());
        self.history
            .started(&NewCall {
                call_id: consult.clone(),
                account: Self::account_key(&account),
                direction: Direction::Outgoing,
                peers: vec![to.to_string()],
                media: wire_name(&CallMedia::Audio),
                queue: false,
                business: None,
                started_at: now_ms(),
            })
            .await?;
        self.history.set_floor(&consult, (0, 0), Some(id)).await?;
        self.ui.emit(UiEvent::HistoryChanged {
            call_id: consult.clone(),
        });
        Ok(consult)
    }

    /// Answers a ringing call, as audio or video (`media`: switch as we answer).
    pub async fn accept(&self, id: &str, media: Option<CallMedia>) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        let cid = call_id(id)?;
        self.sounds.stop_ring(&*self.ui, id);
        engine.accept(&cid);
        if let Some(m) = media {
            engine.switch_media(&cid, m);
        }
        let at = now_ms();
        let pop = lock(&self.live).get_mut(id).and_then(|l| {
            l.answered_at.get_or_insert(at);
            l.pop.take()
        });
        self.history.answered(id, at).await?;
        if let Some(ctx) = pop {
            self.screen_pop(&ctx);
        }
        Ok(())
    }

    /// Opens the configured URL and runs the configured command for an answered call.
    pub(super) fn screen_pop(&self, ctx: &PopContext) {
        let s = self.settings();
        if !s.preferences.screen_pop_url.trim().is_empty() {
            let url = screen_pop_url(s.preferences.screen_pop_url.trim(), ctx);
            if let Err(e) = open::that_detached(&url) {
                self.ui.emit(UiEvent::error(
                    Some(&ctx.call_id),
                    format!("screen pop {url}: {e}"),
                ));
            }
        }
        if !s.preferences.screen_pop_command.trim().is_empty() {
            let mut cmd = if cfg!(windows) {
                let mut c = std::process::Command::new("cmd");
                c.args(["/C", s.preferences.screen_pop_command.trim()]);
                c
            } else {
                let mut c = std::process::Command::new("sh");
                c.args(["-c", s.preferences.screen_pop_command.trim()]);
                c
            };
            cmd.env("SB_CALLER", &ctx.caller)
                .env("SB_BUSINESS", ctx.business.as_deref().unwrap_or(""))
                .env("SB_CALL_ID", &ctx.call_id)
                .stdin(std::process::Stdio::null());
            if let Err(e) = cmd.spawn() {
                self.ui.emit(UiEvent::error(
                    Some(&ctx.call_id),
                    format!("screen pop command: {e}"),
                ));
            }
        }
    }

    /// Auto-answer, the screen pop, the ringer, the language and the global keys.
    pub fn set_preferences(&self, p: Preferences) -> CmdResult<()> {
        if p.ring_volume > 100 {
            return Err(CommandError::new("bad_input", "ring volume: 0 to 100"));
        }
        let ringer = p.ringer.trim();
        if !ringer.is_empty()
            && !switchboard_media::devices::all_devices()
                .iter()
                .any(|d| d.kind == switchboard_media::DeviceKind::Speaker && d.id == ringer)
        {
            return Err(CommandError::new(
                "bad_input",
                format!("no speaker called {ringer:?} for the ringer"),
            ));
        }
        let trimmed = Preferences {
            screen_pop_url: p.screen_pop_url.trim().to_owned(),
            screen_pop_command: p.screen_pop_command.trim().to_owned(),
            ringer: ringer.to_owned(),
            language: p.language.trim().to_owned(),
            recordings_dir: p.recordings_dir.trim().to_owned(),
            ..p.clone()
        };
        self.save_settings(|s| s.preferences = trimmed);
        Ok(())
    }

    /// Plays the speaker test (or the ringer, at its volume) on `device`, default the
    /// speaker (or the ringer) of the settings.
    pub async fn test_sound(
        &self,
        cue: switchboard_media::Cue,
        device: Option<&str>,
    ) -> CmdResult<SoundTest> {
        let s = self.settings();
        let (default, volume) = match cue {
            switchboard_media::Cue::Ring => (ringer_device(&s), s.preferences.ring_volume),
            _ => (s.speaker.as_str(), 100),
        };
        let device = device.filter(|d| !d.is_empty()).unwrap_or(default);
        self.sounds.test(device, cue, volume).await
    }

    /// Where recordings go.
    pub fn recordings_dir(&self) -> PathBuf {
        let s = self.settings();
        if s.preferences.recordings_dir.is_empty() {
            self.data_dir.join("recordings")
        } else {
            PathBuf::from(s.preferences.recordings_dir)
        }
    }

    /// Starts recording the call into the recordings folder (a file named by time, peer and
    /// call), or stops it. The other members are told. A folder that cannot be written is an
    /// error here; the call goes on either way.
    pub async fn record(&self, id: &str, on: bool) -> CmdResult<Option<String>> {
        let (engine, account) = self.engine().await?;
        let cid = call_id(id)?;
        if !on {
            let summary = engine.stop_recording(&cid).await;
            return Ok(summary.map(|s| s.path.display().to_string()));
        }
        let dir = self.recordings_dir();
        std::fs::create_dir_all(&dir)
            .map_err(|e| CommandError::new("recording", format!("{}: {e}", dir.display())))?;
        let stamp = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year][month][day]-[hour][minute][second]"
            ))
            .unwrap_or_default();
        let short: String = id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect();
        let path = dir.join(format!("{stamp}-{}-{short}.mp4", account.user));
        let s = self.settings();
        let options = switchboard_media::RecordOptions {
            media: s.preferences.record_media,
            watermark: s.preferences.record_watermark.then(|| account.user.clone()),
            ..Default::default()
        };
        engine
            .start_recording(&cid, &path, options)
            .await
            .map_err(|e| CommandError::new("recording", e))?;
        let p = path.display().to_string();
        self.ui.emit(UiEvent::Recording {
            call_id: id.to_owned(),
            paused: false,
            path: p.clone(),
        });
        Ok(Some(p))
    }

    /// Pauses or resumes the call's recording (a pause takes its time out of the file).
    pub async fn pause_recording(&self, id: &str, paused: bool) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        engine.pause_recording(&call_id(id)?, paused);
        self.ui.emit(UiEvent::Recording {
            call_id: id.to_owned(),
            paused,
            path: String::new(),
        });
        Ok(())
    }

    /// Opens a recording or a received file with the system's application. Only files in
    /// the recordings or received-files folders: the webview cannot open anything else.
    pub fn open_file(&self, path: &str) -> CmdResult<()> {
        let p = Path::new(path)
            .canonicalize()
            .map_err(|e| CommandError::new("file", format!("{path}: {e}")))?;
        let inside = [self.recordings_dir(), self.received_dir()]
            .iter()
            .filter_map(|d| d.canonicalize().ok())
            .any(|d| p.starts_with(d));
        if !inside || !p.is_file() {
            return Err(CommandError::new(
                "file",
                format!("{path} is not a recording or a received file"),
            ));
        }
        open::that_detached(&p).map_err(|e| CommandError::new("file", format!("{path}: {e}")))
    }

    /// The microphone meter of the settings page: on (the chosen microphone, or `device`)
    /// or off.
    pub fn mic_meter(&self, on: bool, device: Option<&str>) -> CmdResult<()> {
        let mic = self.settings().microphone;
        let device = on.then(|| device.filter(|d| !d.is_empty()).unwrap_or(&mic));
        self.sounds.meter(self.ui.clone(), device)
    }

    /// Sends a file to one member over the call's data channel (chunked, with a checksum);
    /// progress comes as `file_progress` events.
    pub async fn send_file(&self, id: &str, to: &str, name: &str, data: Vec<u8>) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        let name = Path::new(name)
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| CommandError::new("bad_input", "the file needs a name"))?
            .to_owned();
        if data.is_empty() {
            return Err(CommandError::new("bad_input", format!("{name} is empty")));
        }
        engine
            .send_file(&call_id(id)?, &user_id(to)?, &name, Arc::new(data))
            .await
            .map_err(|e| CommandError::new("file", e))
    }

    /// Accepts (the file is then received and saved) or declines a file a member offered.
    pub async fn answer_file(
        &self,
        id: &str,
        from: &str,
        file: &str,
        accept: bool,
    ) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        engine
            .answer_file(&call_id(id)?, &user_id(from)?, file, accept)
            .await
            .map_err(|e| CommandError::new("file", e))
    }

    /// Where received files are kept: `received` in the profile's data directory.
    pub fn received_dir(&self) -> PathBuf {
        self.data_dir.join("received")
    }

    /// Saves a received file without overwriting another of the same name.
    pub(super) fn save_received(&self, name: &str, data: &[u8]) -> std::io::Result<PathBuf> {
        let dir = self.received_dir();
        std::fs::create_dir_all(&dir)?;
        // The far end chose the name: keep only its last component.
        let safe = Path::new(name)
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.starts_with('.'))
            .unwrap_or("file");
        let mut path = dir.join(safe);
        let mut n = 1;
        while path.exists() {
            n += 1;
            path = dir.join(format!("{n}-{safe}"));
        }
        std::fs::write(&path, data)?;
        Ok(path)
    }

    /// What can be shared here, with thumbnails (an error says why nothing can: no display,
    /// no capture service).
    pub async fn screen_sources(&self) -> CmdResult<Vec<ScreenSourceView>> {
        tokio::task::spawn_blocking(|| {
            let sources =
                switchboard_media::screen::sources().map_err(|e| CommandError::new("screen", e))?;
            Ok(sources
                .into_iter()
                .map(|s| {
                    // A window may close between listing and its thumbnail: no picture then.
                    let thumbnail = switchboard_media::screen::thumbnail(&s.id, 240)
                        .ok()
                        .flatten()
                        .and_then(|f| jpeg_data_url(&f));
                    ScreenSourceView {
                        source: s,
                        thumbnail,
                    }
                })
                .collect())
        })
        .await
        .map_err(|e| CommandError::new("screen", e))?
    }

    /// Shares a screen or window in the call (replacing a share in progress), or stops
    /// sharing (`source` None). The others are told.
    pub async fn share_screen(&self, id: &str, source: Option<&str>) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        let cid = call_id(id)?;
        let Some(source) = source else {
            engine.stop_screen_share(&cid);
            return Ok(());
        };
        engine
            .share_screen(&cid, source)
            .await
            .map_err(|e| CommandError::new("screen", e))?;
        self.ui.emit(UiEvent::ScreenShareStarted {
            call_id: id.to_owned(),
            source: source.to_owned(),
        });
        Ok(())
    }

    /// Invites more users into the call (it becomes a group call).
    pub async fn invite(&self, id: &str, users: &[String]) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        let users: Vec<UserId> = users.iter().map(|u| user_id(u)).collect::<CmdResult<_>>()?;
        if users.is_empty() {
            return Err(CommandError::new("bad_input", "whom to invite?"));
        }
        // They enter the history row when they join.
        engine.invite(&call_id(id)?, users);
        Ok(())
    }

    /// Declines a ringing call, cancels an outgoing one, or hangs up.
    pub async fn hangup(&self, id: &str) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        self.sounds.stop_ring(&*self.ui, id);
        engine.hangup(&call_id(id)?);
        Ok(())
    }

    pub async fn mute(&self, id: &str, audio: bool, video: bool) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        engine.mute(&call_id(id)?, audio, video);
        Ok(())
    }

    /// Hold (or resume) the other party; the UI follows the engine's `hold` event.
    pub async fn hold(&self, id: &str, on: bool) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        engine.hold(&call_id(id)?, on);
        Ok(())
    }

    pub async fn switch_media(&self, id: &str, media: CallMedia) -> CmdResult<()> {
        let (engine, _) = self.engine().await?;
        engine.switch_media(&call_id(id)?, media);
        Ok(())
    }

    /// A text message to everyone in the call (kept in the history).
    pub async fn send_message(&self, id: &str, text: &str) -> CmdResult<()> {
        let (engine, account) = self.engine().await?;
        let t = Text::new(text).map_err(|e| CommandError::new("bad_input", e))?;
        engine.send_call_message(&call_id(id)?, t);
        let at = now_ms();
        self.history.message(id, at, &account.user, text).await?;
        self.ui.emit(UiEvent::Message {
            call_id: id.to_owned(),
            from: account.user,
            text: text.to_owned(),
            at,
            mine: true,
        });
        Ok(())
    }
}
