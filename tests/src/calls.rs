//! Driving engines in calls over the real server: sign in, wait for events, read stats.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use switchboard_engine::{Engine, EngineConfig, Event, PeerStats};
use switchboard_protocol::{CallId, Token, UserId};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::server::DevServer;

/// How long a wait in these tests may take before it fails: generous, they are not timing
/// tests (the figures go to `cargo xtask bench`).
pub const WAIT: Duration = Duration::from_secs(15);

/// `caller` calls `callee` with video and `callee` answers; returns the call once pictures
/// flow both ways.
/// `customer` waits in `business`'s queue and `agent` (ready, with that skill) takes the call
/// once it rings there. Returns the call.
pub async fn queued_call(
    customer: &mut Side,
    agent: &mut Side,
    business: &str,
    media: switchboard_protocol::CallMedia,
) -> Result<CallId> {
    let business = switchboard_protocol::Business::new(business).context("business")?;
    let call = customer.engine.enqueue(business, media, None).await?;
    agent
        .wait("the customer", |e| match e {
            Event::Incoming { call_id, .. } if *call_id == call => Some(()),
            _ => None,
        })
        .await?;
    agent.engine.accept(&call);
    Ok(call)
}

/// Agent a1 (the default 440 Hz hum) takes a billing customer who hums 660 Hz, in a call of
/// `media`; returns both once the customer hears a1.
pub async fn a1_with_a_humming_customer(
    server: &crate::server::DevServer,
    media: switchboard_protocol::CallMedia,
) -> Result<(Side, Side, CallId)> {
    let mut a1 = Side::start(server, "a1").await?;
    a1.agent_ready(&["billing"]);
    let mut customer = Side::start_token_with(server, &server.customer_token("billing"), |c| {
        c.microphone = "tone:660".into()
    })
    .await?;
    let call = queued_call(&mut customer, &mut a1, "billing", media).await?;
    customer
        .until_stats(&call, "a1", "a1's voice", |s| s.audio.tones[0] > 10)
        .await?;
    Ok((a1, customer, call))
}

pub async fn video_call(caller: &mut Side, callee: &mut Side) -> Result<CallId> {
    let (a, b) = (caller.engine.user().clone(), callee.engine.user().clone());
    let call = caller
        .engine
        .call(vec![b.clone()], switchboard_protocol::CallMedia::Video)
        .await?;
    let answered = callee.answer().await?;
    if answered != call {
        bail!("{b} answered {answered}, not {call}");
    }
    for (side, other) in [(&*caller, &b), (&*callee, &a)] {
        side.until_stats(&call, other.as_str(), "first pictures", |s| {
            s.video.decoded > 0
        })
        .await?;
    }
    Ok(call)
}

/// One signed-in engine and its events.
pub struct Side {
    pub engine: Engine,
    pub events: UnboundedReceiver<Event>,
    /// Events seen while waiting for others (kept for later assertions).
    pub seen: Vec<Event>,
}

pub fn uid(s: &str) -> UserId {
    UserId::new(s).expect("a valid user id")
}

impl Side {
    /// Signs `user` in with media on loopback.
    pub async fn start(server: &DevServer, user: &str) -> Result<Side> {
        Self::start_with(server, user, |_| {}).await
    }

    /// Signs in with this token (a customer's, from `DevServer::customer_token`), media on
    /// loopback.
    pub async fn start_token(server: &DevServer, token: &str) -> Result<Side> {
        Self::start_token_with(server, token, |_| {}).await
    }

    /// The same, adjusting the configuration first.
    pub async fn start_token_with(
        server: &DevServer,
        token: &str,
        adjust: impl FnOnce(&mut EngineConfig),
    ) -> Result<Side> {
        let mut cfg = EngineConfig::new(server.url(), Token::new(token).context("token")?);
        cfg.media_bind = "127.0.0.1:0".into();
        adjust(&mut cfg);
        let (engine, events) = Engine::start(cfg).await?;
        Ok(Side {
            engine,
            events,
            seen: Vec::new(),
        })
    }

    /// Registers as an agent of these businesses, ready at once.
    pub fn agent_ready(&self, skills: &[&str]) {
        use switchboard_protocol::*;
        self.engine
            .send_raw(ClientMessage::AgentRegister(AgentRegister {
                profile: AgentProfile {
                    area: Label::new("test").expect("label"),
                    skills: skills
                        .iter()
                        .map(|b| Skill {
                            business: Business::new(*b).expect("business"),
                            level: 1,
                        })
                        .collect(),
                    display_name: None,
                },
            }));
        self.engine
            .send_raw(ClientMessage::SetAgentState(SetAgentState {
                state: AgentAvailability::Ready,
                after_call: false,
            }));
    }

    /// Signs `user` in with media on loopback, adjusting the configuration first.
    pub async fn start_with(
        server: &DevServer,
        user: &str,
        adjust: impl FnOnce(&mut EngineConfig),
    ) -> Result<Side> {
        Self::start_token_with(server, &server.token(user), adjust).await
    }

    /// The first event (from now) that `pick` maps to something.
    pub async fn wait<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(&Event) -> Option<T>,
    ) -> Result<T> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let ev = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .with_context(|| format!("no {what} within {WAIT:?}"))?
                .context("the engine stopped")?;
            let hit = pick(&ev);
            self.seen.push(ev);
            if let Some(t) = hit {
                return Ok(t);
            }
        }
    }

    /// Waits for an incoming call and answers it once its transport is up (set up while
    /// ringing, as a person would take a second or two to pick up).
    pub async fn answer(&mut self) -> Result<CallId> {
        let call = self
            .wait("incoming call", |e| match e {
                Event::Incoming { call_id, .. } => Some(call_id.clone()),
                _ => None,
            })
            .await?;
        self.wait("transport ready", |e| match e {
            Event::TransportReady { call_id, .. } if *call_id == call => Some(()),
            _ => None,
        })
        .await?;
        self.engine.accept(&call);
        Ok(call)
    }

    /// Stats for the call's member `from`.
    pub async fn stats_from(&self, call: &CallId, from: &str) -> Result<PeerStats> {
        let all = self.engine.stats(call).await;
        match all.into_iter().find(|p| p.user == from) {
            Some(p) => Ok(p),
            None => bail!("no stats for {from} in {call}"),
        }
    }

    /// Waits until `check` holds for the stats from `from` (polling every 100 ms).
    pub async fn until_stats(
        &self,
        call: &CallId,
        from: &str,
        what: &str,
        check: impl Fn(&PeerStats) -> bool,
    ) -> Result<PeerStats> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            // A member whose connection is still being set up has no stats yet: wait for it.
            let s = self.stats_from(call, from).await;
            if let Ok(s) = &s
                && check(s)
            {
                return Ok(s.clone());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("{what}: not within {WAIT:?}; last stats {s:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for the call's end: its reason and final stats.
    pub async fn ended(
        &mut self,
        call: &CallId,
    ) -> Result<(switchboard_protocol::EndReason, Vec<PeerStats>)> {
        self.wait("call end", |e| match e {
            Event::Ended {
                call_id,
                reason,
                stats,
                ..
            } if call_id == call => Some((*reason, stats.clone())),
            _ => None,
        })
        .await
    }
}
