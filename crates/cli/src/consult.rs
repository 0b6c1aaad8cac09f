//! `--consult USER:AT:THEN`: AT seconds after the first media of a customer call, consult USER
//! about it (the customer is held meanwhile); once USER answers, talk for 2 s and then
//! `transfer` (warm: USER takes the customer), `cancel` (back to the customer) or `conference`
//! (USER joins the customer and us; our hang-up of the customer call then hands it to USER).
//! The summary's `consult` says how it went.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use switchboard_engine::{Engine, Event};
use switchboard_protocol::{CallId, EndCode, TransferTarget, UserId, wire_name};

/// After the colleague answers, the two talk this long before the plan goes on.
const TALK: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    Transfer,
    Cancel,
    Conference,
}

#[derive(Debug, Clone)]
pub struct ConsultPlan {
    pub to: UserId,
    pub at: Duration,
    pub then: Then,
}

impl std::str::FromStr for ConsultPlan {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        let mut parts = s.split(':');
        let (Some(to), Some(at), Some(then), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            bail!("write it USER:AT:transfer, USER:AT:cancel or USER:AT:conference");
        };
        let then = match then {
            "transfer" => Then::Transfer,
            "cancel" => Then::Cancel,
            "conference" => Then::Conference,
            other => bail!("{other:?}: then `transfer`, `cancel` or `conference`"),
        };
        Ok(Self {
            to: UserId::new(to).context("not a user id")?,
            at: crate::hold::secs(at)?,
            then,
        })
    }
}

/// The summary's `consult`.
#[derive(Debug, Default, Serialize)]
pub struct ConsultSummary {
    pub call_id: Option<CallId>,
    pub with: Option<UserId>,
    /// The colleague answered.
    pub answered: bool,
    /// `transfer`, `cancel` or `conference`, once done.
    pub done: Option<&'static str>,
    /// The server made it a conference.
    pub conference: bool,
    /// How the consult call ended, from our side.
    pub end_code: Option<String>,
    /// Why it could not start.
    pub error: Option<String>,
}

#[derive(Debug, Default)]
pub struct ConsultWatch {
    plan: Option<ConsultPlan>,
    start_at: Option<Instant>,
    act_at: Option<Instant>,
    pub summary: ConsultSummary,
}

impl ConsultWatch {
    pub fn new(plan: Option<ConsultPlan>) -> Self {
        Self {
            plan,
            ..Self::default()
        }
    }

    pub fn media_started(&mut self, now: Instant) {
        if let Some(p) = &self.plan {
            self.start_at = Some(now + p.at);
        }
    }

    pub fn due(&self) -> Option<Instant> {
        self.start_at.into_iter().chain(self.act_at).min()
    }

    pub async fn fire(&mut self, engine: &Engine, call: &CallId, now: Instant) {
        if self.start_at.is_some_and(|t| t <= now) {
            self.start_at = None;
            let Some(p) = &self.plan else { return };
            eprintln!("consulting {}", p.to);
            self.summary.with = Some(p.to.clone());
            match engine.consult(call, p.to.clone()).await {
                Ok(k) => self.summary.call_id = Some(k),
                Err(e) => {
                    eprintln!("cannot consult: {e}");
                    self.summary.error = Some(e.to_string());
                }
            }
        }
        if self.act_at.is_some_and(|t| t <= now) {
            self.act_at = None;
            let (Some(p), Some(k)) = (&self.plan, &self.summary.call_id) else {
                return;
            };
            match p.then {
                Then::Transfer => {
                    eprintln!("completing the transfer to {}", p.to);
                    self.summary.done = Some("transfer");
                    engine.transfer(call, TransferTarget::Consulted);
                }
                Then::Cancel => {
                    eprintln!("back to the customer");
                    self.summary.done = Some("cancel");
                    engine.hangup(k);
                }
                Then::Conference => {
                    eprintln!("joining {} with the customer", p.to);
                    self.summary.done = Some("conference");
                    engine.conference(call);
                }
            }
        }
    }

    /// An event about the consult call, if it is one.
    pub fn event(&mut self, ev: &Event, now: Instant) {
        let Some(k) = &self.summary.call_id else {
            return;
        };
        match ev {
            Event::MemberJoined { call_id, user, .. } if call_id == k => {
                eprintln!("{user} answered the consult");
                self.summary.answered = true;
                self.act_at = Some(now + TALK);
            }
            Event::Conference { call_id, .. } if call_id == k => {
                eprintln!("in conference");
                self.summary.conference = true;
            }
            Event::Ended {
                call_id, reason, ..
            } if call_id == k => {
                eprintln!("the consult ended: {:?}", reason.code);
                self.summary.end_code = Some(wire_name(&reason.code));
                if reason.code != EndCode::Transferred {
                    self.act_at = None;
                }
            }
            _ => {}
        }
    }
}
