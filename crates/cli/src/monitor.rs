//! `monitor AGENT`: as a supervisor, monitor an agent's customer call — listen first (or
//! `--mode`), then `--at SECS:MODE` steps (`whisper`, `barge`, `listen`, `take-over`), timed
//! from the start of the monitor call. The summary is the monitor call's: what arrived from
//! the agent's engine (with `tones`, the hums heard: the agent's and the customer's; `screen`,
//! the customer's pictures, forwarded; `video`, the agent's camera with `--video`). After a
//! take-over, the customer's call (answered at once) is followed as long, and its summary
//! is the last line.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use switchboard_engine::{Engine, Event};
use switchboard_protocol::{CallId, CallMedia, EndCode, MonitorMode, UserId};
use tokio::sync::mpsc::UnboundedReceiver;

/// How to monitor.
pub struct Options {
    /// The first mode's name.
    pub mode: String,
    pub plan: Vec<At>,
    /// How long to stay.
    pub stay: Duration,
    /// `Video` to see the agent's camera too.
    pub media: CallMedia,
}

/// The `monitor` command; true when the calls ended normally.
pub async fn run(
    engine: &Engine,
    events: &mut UnboundedReceiver<Event>,
    agent: &str,
    o: Options,
    json: bool,
) -> Result<bool> {
    let agent = UserId::new(agent).context("not a user id")?;
    let (plan, stay) = (o.plan, o.stay);
    let call_id = engine.monitor(agent, mode(&o.mode)?, o.media).await?;
    eprintln!("monitoring… (call {call_id})");
    run_plan(engine, &call_id, plan);
    let s = crate::follow(engine, events, &call_id, None, Some(stay)).await?;
    crate::report(&s, json);
    if s.end_reason.code != EndCode::Transferred {
        return Ok(s.normal());
    }
    // Taken over: the customer's call comes here (the engine answers it); stay with them as
    // long, and report that call last.
    let customer = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(e) = events.recv().await {
            if let Event::Incoming {
                call_id,
                queue: Some(_),
                ..
            } = e
            {
                return Some(call_id);
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .context("the customer's call did not come after the take-over")?;
    eprintln!("took the customer over (call {customer})");
    let c = crate::follow(engine, events, &customer, None, Some(stay)).await?;
    crate::report(&c, json);
    Ok(c.normal())
}

/// One step of the plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    Mode(MonitorMode),
    TakeOver,
}

/// `SECS:MODE`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct At {
    pub after: Duration,
    pub step: Step,
}

pub fn mode(s: &str) -> Result<MonitorMode> {
    Ok(match s {
        "listen" => MonitorMode::Listen,
        "whisper" => MonitorMode::Whisper,
        "barge" => MonitorMode::Barge,
        other => bail!("{other}: the modes are listen, whisper and barge"),
    })
}

impl std::str::FromStr for At {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        let Some((at, what)) = s.split_once(':') else {
            bail!("write it SECS:MODE (listen, whisper, barge or take-over)");
        };
        let step = match what {
            "take-over" => Step::TakeOver,
            m => Step::Mode(mode(m)?),
        };
        Ok(At {
            after: crate::hold::secs(at)?,
            step,
        })
    }
}

/// Carries out the plan in the background, from now.
pub fn run_plan(engine: &Engine, call: &CallId, mut plan: Vec<At>) {
    plan.sort_by_key(|a| a.after);
    let (engine, call) = (engine.clone(), call.clone());
    tokio::spawn(async move {
        let start = tokio::time::Instant::now();
        for at in plan {
            tokio::time::sleep_until(start + at.after).await;
            match at.step {
                Step::Mode(m) => {
                    eprintln!("monitor: {m:?}");
                    engine.set_monitor(&call, m);
                }
                Step::TakeOver => {
                    eprintln!("monitor: taking the customer over");
                    engine.take_over(&call);
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse_and_bad_ones_say_how() {
        let a: At = "3:whisper".parse().unwrap();
        assert_eq!(a.after, Duration::from_secs(3));
        assert_eq!(a.step, Step::Mode(MonitorMode::Whisper));
        let t: At = "9.5:take-over".parse().unwrap();
        assert_eq!(t.step, Step::TakeOver);
        assert!("3:shout".parse::<At>().is_err());
        assert!("whisper".parse::<At>().is_err());
    }
}
