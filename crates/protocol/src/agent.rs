//! Payload types of the customer-service queue (ACD): agent profiles and states, the context a
//! queued call carries, CTI figures and transfer targets. The model follows anyRTC's clerk
//! (`setAsClerk(area, callId, business, level)`, `clerk-cti-status`, `user-cti-status`), with
//! agent states, wrap-up and transfer as contact centers (Amazon Connect, Twilio Flex) have them.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::call::CallMedia;
use crate::ids::{Business, CallId, Label, UnixMillis, UserId};
use crate::limits;

/// One business an agent can serve, and how well.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
pub struct Skill {
    /// The business line (queue).
    pub business: Business,
    /// Proficiency 1 (lowest) to 10.
    pub level: u8,
}

/// What an agent tells the server about themselves when they register (anyRTC `setAsClerk`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct AgentProfile {
    /// The agent's area or region, e.g. `shanghai` (anyRTC `strArea`).
    pub area: Label,
    /// The businesses the agent serves (anyRTC `strBusiness` and `nLevel`, one per business).
    pub skills: Vec<Skill>,
    /// A name to show to customers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<Label>,
}

impl AgentProfile {
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.skills.is_empty() {
            return Err("an agent needs at least one skill".into());
        }
        if self.skills.len() > limits::MAX_SKILLS {
            return Err(format!(
                "{} skills, the limit is {}",
                self.skills.len(),
                limits::MAX_SKILLS
            ));
        }
        for s in &self.skills {
            if !(1..=limits::MAX_LEVEL).contains(&s.level) {
                return Err(format!(
                    "skill {} has level {}, expected 1..={}",
                    s.business,
                    s.level,
                    limits::MAX_LEVEL
                ));
            }
        }
        Ok(())
    }
}

/// An agent's state as the server keeps it. Only `ready` agents are offered customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "status", rename_all = "snake_case")]
#[ts(optional_fields)]
pub enum AgentState {
    /// Not signed in as an agent.
    Offline,
    /// Waiting for a customer.
    Ready,
    /// Signed in but taking no customers, for a reason the agent chose (break, training) or the
    /// server set (`missed`: the agent did not answer an offered call — RONA).
    NotReady {
        /// Why.
        reason: Label,
    },
    /// A customer is being offered to this agent.
    Ringing {
        /// The offered call.
        call_id: CallId,
    },
    /// Talking to a customer.
    InCall {
        /// The call.
        call_id: CallId,
    },
    /// After-call work; the agent takes no customers until it ends.
    WrapUp {
        /// The call just finished.
        call_id: CallId,
        /// When wrap-up ends by itself and the agent becomes ready again, if auto-ready is on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ends_at: Option<UnixMillis>,
    },
}

/// The state an agent asks for. The server decides the busy states (ringing, in call, wrap-up).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AgentAvailability {
    /// Take customers.
    Ready,
    /// Take no customers, for this reason.
    NotReady {
        /// Why, e.g. `break`, `lunch`, `training`.
        reason: Label,
    },
    /// Sign out of the queue (the connection stays).
    Offline,
}

/// What an agent sees of a queued call when it is offered to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct QueueContext {
    /// The business the customer called.
    pub business: Business,
    /// The customer's priority (0 normal, higher first).
    pub priority: u8,
    /// How long the customer has waited, in milliseconds.
    pub waited_ms: u64,
    /// The name the customer gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<Label>,
    /// The agent who transferred this customer, if this is a transfer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transferred_by: Option<UserId>,
    /// A warm transfer: the transferring agent consulted this agent first, who agreed; the
    /// engine takes the call at once (no second ring).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[ts(as = "Option<bool>", optional)]
    pub warm: bool,
}

/// What a consulted colleague sees: the customer call the consult is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ConsultContext {
    /// The customer's call (on hold meanwhile).
    pub call_id: CallId,
    /// The customer.
    pub customer: UserId,
    /// The business, wait and name, as the consulting agent was offered them.
    pub queue: QueueContext,
}

/// The CTI figures every signed-in agent sees (anyRTC `clerk-cti-status(queueNum, AllClerk,
/// WorkingClerk)`, plus what contact-center wallboards show).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct CtiFigures {
    /// Customers waiting in all queues.
    pub waiting: u32,
    /// Agents signed in (any state but offline).
    pub agents: u32,
    /// Agents ready for a customer.
    pub agents_ready: u32,
    /// Agents ringing, in a call or in wrap-up.
    pub agents_working: u32,
    /// The longest current wait, in milliseconds (0 when nobody waits).
    pub longest_wait_ms: u64,
}

/// A customer waiting in a queue, as agents see them in their queue panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct WaitingCustomer {
    /// The customer's call.
    pub call_id: CallId,
    /// The business they called.
    pub business: Business,
    /// Their priority (0 normal, higher first).
    pub priority: u8,
    /// Audio or video.
    pub media: CallMedia,
    /// Their place in their business's queue, from 1.
    pub position: u32,
    /// How long they have waited, in milliseconds.
    pub waited_ms: u64,
    /// The name they gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Label>,
}

/// Where a blind transfer sends the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TransferTarget {
    /// Straight to this agent (who must be ready and have the skill); otherwise the transfer
    /// fails with `wrong_state` and the call stays with the transferring agent.
    Agent {
        /// The agent.
        user: UserId,
    },
    /// Back into a queue, at the head of its priority.
    Queue {
        /// The business whose queue takes the customer.
        business: Business,
    },
    /// A warm transfer: to the colleague of the consult in progress (`invite` with
    /// `consult`), who answered it. Their engine takes the customer's call at once; the consult
    /// call ends (`transferred`).
    Consulted,
}
