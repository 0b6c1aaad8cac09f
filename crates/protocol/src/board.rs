//! The supervisor's wallboard: the figures of the queues and of the agents a supervisor may
//! see, pushed by the server on every change that matters (`watch_floor` subscribes).
//!
//! Counts are over the server's rolling window (`window_mins`); times that grow by themselves
//! (time in state, a call's duration, the longest wait) are given as of `at`, and a client adds
//! the time since it received the frame, so the server sends nothing while only clocks move.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{AgentState, Business, CallId, Label, UnixMillis, UserId};

/// Supervisor (or admin) → server: send me the wallboard now and on every change (`on`), or
/// stop. The server replies with a first `wallboard`; agents, users and customers are refused
/// `forbidden`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct WatchFloor {
    /// Watch (true) or stop (false).
    pub on: bool,
}

/// Server → watching supervisor: the floor they supervise, as of `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct Wallboard {
    /// The server's clock when these figures were taken.
    pub at: UnixMillis,
    /// The team shown (none: the whole realm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Label>,
    /// The counts cover the last this many minutes.
    pub window_mins: u32,
    /// Service level: the share of customers answered within this many seconds…
    pub service_level_secs: u32,
    /// …that the realm aims for, in percent.
    pub service_level_goal_pct: u8,
    /// One row per queue of the realm (a business with waiting customers, skilled agents, or
    /// counts in the window), by name.
    pub queues: Vec<QueueBoard>,
    /// One row per registered agent in scope, by user id.
    pub agents: Vec<AgentBoard>,
}

/// One queue on the wallboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct QueueBoard {
    /// The business.
    pub business: Business,
    /// Customers waiting now.
    pub waiting: u32,
    /// The longest current wait as of `at`, in ms (0 when nobody waits).
    pub longest_wait_ms: u64,
    /// Agents with this skill who are ready.
    pub agents_ready: u32,
    /// Agents with this skill who are ringing, talking or in wrap-up.
    pub agents_working: u32,
    /// In the window: customers an agent answered.
    pub answered: u32,
    /// …of whom within the service-level time.
    pub answered_in_time: u32,
    /// In the window: customers who hung up before an agent answered.
    pub abandoned: u32,
    /// In the window: answered calls that ended.
    pub handled: u32,
    /// `answered_in_time / (answered + abandoned)`, in percent (none before the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_level_pct: Option<u8>,
    /// `abandoned / (answered + abandoned)`, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandon_pct: Option<u8>,
    /// Average handle time of the handled calls: talk and hold, answer to end, plus the
    /// agent's wrap-up, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aht_ms: Option<u64>,
}

/// One agent on the wallboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct AgentBoard {
    /// The agent.
    pub user: UserId,
    /// Their display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Label>,
    /// Their team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Label>,
    /// Their state.
    pub state: AgentState,
    /// Time in this state as of `at`, in ms.
    pub state_ms: u64,
    /// The customer call they are on (ringing, talking or wrapping up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<AgentCall>,
    /// Their own figures over the window.
    pub figures: OwnFigures,
}

/// The customer call an agent is on, for the wallboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct AgentCall {
    /// The call.
    pub call_id: CallId,
    /// Its queue.
    pub business: Business,
    /// The customer's name, if they gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Label>,
    /// Since the agent joined it, as of `at`, in ms (0 while ringing).
    pub talk_ms: u64,
    /// The customer is on hold.
    pub on_hold: bool,
    /// The agent is consulting a colleague about it.
    pub consulting: bool,
}

/// An agent's own figures over the server's window: in their queue panel (`cti.own`) and on
/// the wallboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct OwnFigures {
    /// Customer calls the agent talked in that ended (or that they handed on).
    pub handled: u32,
    /// Their average handle time: talk and hold plus wrap-up, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aht_ms: Option<u64>,
    /// The window, in minutes.
    pub window_mins: u32,
}

/// How a supervisor takes part in an agent's customer call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MonitorMode {
    /// Silent monitor: the supervisor hears (and sees) both sides; nobody hears them.
    Listen,
    /// Whisper (coach): the agent hears the supervisor; the customer does not.
    Whisper,
    /// Barge: the customer hears the supervisor too.
    Barge,
}

/// What the monitored agent's device is told in `incoming_call.monitor`: its engine answers at
/// once and forwards the customer call's media to the supervisor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MonitorContext {
    /// The customer call that is monitored.
    pub call_id: CallId,
    /// The supervisor.
    pub supervisor: UserId,
    /// How they take part now.
    pub mode: MonitorMode,
    /// The realm tells agents they are monitored (`monitor_notice`): show it. Otherwise the
    /// console shows nothing of a silent monitor (it cannot hide a whisper or a barge).
    pub notice: bool,
}

/// Supervisor → server: change how they take part (`monitor {call_id, mode}`, `call_id` the
/// monitor call).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SetMonitor {
    /// The monitor call.
    pub call_id: CallId,
    /// The new mode.
    pub mode: MonitorMode,
}

/// Server → both members of a monitor call: its mode, at the start and on every change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MonitorUpdate {
    /// The monitor call.
    pub call_id: CallId,
    /// The customer call it monitors.
    pub of: CallId,
    /// The mode now.
    pub mode: MonitorMode,
    /// Since when.
    pub since: UnixMillis,
}
