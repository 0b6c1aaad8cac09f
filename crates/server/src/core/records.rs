//! The call detail records the core writes when a member's part in a call, or the call,
//! ends (the store turns them into rows).

use serde::{Deserialize, Serialize};
use switchboard_protocol::{CallId, CallKind, CallMedia, EndReason, Label, Role, UserId};

use super::{Millis, UserKey};

/// One member's part in a call, for the call detail records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegRecord {
    /// The call.
    pub call_id: CallId,
    /// The member.
    pub user: UserKey,
    /// As what.
    pub role: Role,
    /// When they were invited (or created the call).
    pub invited_at: Millis,
    /// When they joined, if they did.
    pub joined_at: Option<Millis>,
    /// When their part ended.
    pub left_at: Millis,
    /// Why, from their point of view.
    pub reason: EndReason,
}

/// A finished call, for the call detail records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallSummary {
    /// The call.
    pub call_id: CallId,
    /// The tenant.
    pub realm: Label,
    /// Direct, group or queue.
    pub kind: CallKind,
    /// The media at the end.
    pub media: CallMedia,
    /// Who started it.
    pub from: UserId,
    /// When it was created.
    pub created_at: Millis,
    /// When the first invitee joined.
    pub answered_at: Option<Millis>,
    /// When it ended.
    pub ended_at: Millis,
    /// Why, from the inviter's point of view.
    pub reason: EndReason,
    /// For customer calls: the queue, priority, wait and the agent who answered last.
    pub queue: Option<QueueSummary>,
    /// How many times it was put on hold.
    #[serde(default)]
    pub hold_count: u32,
    /// How long it was on hold in all, in ms.
    #[serde(default)]
    pub hold_ms: u64,
}

/// The queue part of a customer call's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueSummary {
    /// The business (after transfers: the last).
    pub business: switchboard_protocol::Business,
    /// The priority.
    pub priority: u8,
    /// From enqueue to the first agent's answer (or to the end, unanswered).
    pub wait_ms: u64,
    /// The agent who answered last.
    pub agent: Option<UserId>,
    /// The last transfer: warm (after a consult) or cold (blind).
    #[serde(default)]
    pub transfer: Option<super::queue::TransferKind>,
    /// Who the agents consulted about it, in order.
    #[serde(default)]
    pub consulted: Vec<UserId>,
    /// Who the agents brought in as a conference, in order.
    #[serde(default)]
    pub conferenced: Vec<UserId>,
}
