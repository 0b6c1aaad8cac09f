//! The customer-service queue (ACD): agents with skills and states, customers waiting by
//! priority and arrival, routing to the longest-idle ready agent with the skill, RONA, abandon,
//! queue timeout, blind transfer, wrap-up, queue positions and CTI figures.
//!
//! Longer than 800 lines because the ACD's routing, its waiting list and its agent index change
//! together; the queue-at-scale issue rebuilds it on indexes.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use switchboard_protocol::{
    AgentAvailability, AgentProfile, AgentState, AgentStateUpdate, Business, CallId, CallKind,
    EndCode, EndReason, EndWrapUp, Enqueue, ErrorCode, Label, QueueContext, Queued, RequestId,
    Role, Sdp, ServerMessage, SessionId, Side, Skill, Transfer, TransferTarget, UserId, limits,
};

use super::calls::QueueSummary;
use super::{Core, Handled, Millis, Record, Timer, UserKey, refuse};

/// Where a waiting customer stands: customers sent back to the queue (RONA, transfer) come
/// first, then higher priority, then earlier arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Place {
    lane: u8,
    priority: Reverse<u8>,
    seq: u64,
}

/// A queue: a business of a realm.
pub(crate) type QueueKey = (Label, Business);

/// The waiting customers, in routing order.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Queue {
    pub(crate) order: BTreeMap<Place, CallId>,
    pub(crate) places: HashMap<CallId, (Place, QueueKey)>,
    /// How many wait in each queue.
    waiting: HashMap<QueueKey, usize>,
    next_seq: u64,
    /// Positions need publishing.
    pub(crate) dirty: bool,
    /// CTI figures need publishing.
    pub(crate) cti_dirty: bool,
    /// When CTI figures were last published.
    pub(crate) cti_last: Option<super::Millis>,
    /// A timer to publish them is set.
    pub(crate) cti_timer: bool,
}

impl Queue {
    fn push(&mut self, call: CallId, key: QueueKey, priority: u8, at_head: bool) {
        self.remove(&call);
        self.next_seq += 1;
        let place = Place {
            lane: if at_head { 0 } else { 1 },
            priority: Reverse(priority),
            seq: self.next_seq,
        };
        self.order.insert(place, call.clone());
        *self.waiting.entry(key.clone()).or_insert(0) += 1;
        self.places.insert(call, (place, key));
        self.dirty = true;
        self.cti_dirty = true;
    }

    pub(crate) fn remove(&mut self, call: &CallId) {
        if let Some((p, key)) = self.places.remove(call) {
            self.order.remove(&p);
            if let Some(n) = self.waiting.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    self.waiting.remove(&key);
                }
            }
            self.dirty = true;
            self.cti_dirty = true;
        }
    }

    /// How many customers wait in one queue.
    pub(crate) fn waiting_in(&self, key: &QueueKey) -> usize {
        self.waiting.get(key).copied().unwrap_or(0)
    }

    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }
}

/// The queue part of a customer call.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct QueueLeg {
    pub business: Business,
    pub priority: u8,
    pub customer_name: Option<Label>,
    pub enqueued_at: Millis,
    pub stage: Stage,
    /// The customer's first offer, handed to the first agent offered the call.
    pub offer: Option<Sdp>,
    pub transferred_by: Option<UserId>,
    /// The offer in progress is a warm transfer (the agent agreed in a consult).
    #[serde(default)]
    pub warm: bool,
    /// The last transfer: warm (after a consult) or cold (blind), for the record.
    #[serde(default)]
    pub transfer: Option<TransferKind>,
    /// Everyone the agents consulted about this call, in order.
    #[serde(default)]
    pub consulted: Vec<UserId>,
    /// Everyone brought into it as a conference, in order.
    #[serde(default)]
    pub conferenced: Vec<UserId>,
    pub answered_at: Option<Millis>,
    pub last_agent: Option<UserId>,
    /// The position and queue length last told to the customer.
    pub told: Option<(u32, u32)>,
}

/// How a customer call was handed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransferKind {
    /// After a consult with the agent who took it.
    Warm,
    /// Blind: to an agent or a queue, without a word first.
    Cold,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Stage {
    Waiting,
    Offered { agent: UserId },
    Connected { agent: UserId },
}

impl QueueLeg {
    pub(crate) fn connected(&self) -> bool {
        matches!(self.stage, Stage::Connected { .. })
    }

    /// `user` is the agent talking to the customer now.
    pub(crate) fn connected_to(&self, user: &UserId) -> bool {
        matches!(&self.stage, Stage::Connected { agent } if agent == user)
    }

    pub(crate) fn context(&self, now: Millis) -> QueueContext {
        QueueContext {
            business: self.business.clone(),
            priority: self.priority,
            waited_ms: now.saturating_sub(self.enqueued_at),
            customer_name: self.customer_name.clone(),
            transferred_by: self.transferred_by.clone(),
            warm: self.warm,
        }
    }

    /// An agent answered; true when `user` is the agent the call was offered to.
    pub(crate) fn answered(&mut self, user: &UserId, now: Millis) -> bool {
        if self.stage
            == (Stage::Offered {
                agent: user.clone(),
            })
        {
            self.stage = Stage::Connected {
                agent: user.clone(),
            };
            self.warm = false;
            self.answered_at.get_or_insert(now);
            self.last_agent = Some(user.clone());
            true
        } else {
            false
        }
    }

    pub(crate) fn summary(&self, now: Millis) -> QueueSummary {
        QueueSummary {
            business: self.business.clone(),
            priority: self.priority,
            wait_ms: self
                .answered_at
                .unwrap_or(now)
                .saturating_sub(self.enqueued_at),
            agent: self.last_agent.clone(),
            transfer: self.transfer,
            consulted: self.consulted.clone(),
            conferenced: self.conferenced.clone(),
        }
    }
}

/// A registered agent.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Agent {
    pub session: SessionId,
    pub profile: AgentProfile,
    pub state: AgentState,
    pub since: Millis,
    /// Longest idle is offered first.
    pub idle_since: Millis,
    pub next: Option<AgentAvailability>,
    /// A digest of the last CTI frame sent, to send only changes.
    pub told: Option<u64>,
    /// The queue of the customer call they are on (or wrapping up), for the floor's figures.
    #[serde(default)]
    pub serving: Option<Business>,
}

impl Agent {
    pub(crate) fn has_skill(&self, business: &Business) -> bool {
        self.profile.skills.iter().any(|s| &s.business == business)
    }

    pub(crate) fn working(&self) -> bool {
        matches!(
            self.state,
            AgentState::Ringing { .. } | AgentState::InCall { .. } | AgentState::WrapUp { .. }
        )
    }

    pub(crate) fn call(&self) -> Option<&CallId> {
        match &self.state {
            AgentState::Ringing { call_id }
            | AgentState::InCall { call_id }
            | AgentState::WrapUp { call_id, .. } => Some(call_id),
            _ => None,
        }
    }
}

/// Queue counts for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueFigures {
    /// Customers waiting.
    pub waiting: usize,
    /// Agents registered.
    pub agents: usize,
    /// Agents ready.
    pub agents_ready: usize,
    /// Agents ringing, in a call or in wrap-up.
    pub agents_working: usize,
}

impl Core {
    // ---- customers ------------------------------------------------------------------------------

    pub(super) fn enqueue(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        m: Enqueue,
        now: Millis,
    ) -> Handled {
        let me = self.caller_ready(session)?;
        let (scope, role) = match self.sessions.get(session) {
            Some(s) => (s.business.clone(), s.role),
            None => return Ok(()),
        };
        if let Some(b) = scope
            && b != m.business
        {
            return Err(refuse(
                ErrorCode::Forbidden,
                format!("this token is for the queue {b}"),
            ));
        }
        let customer = role == Role::Customer;
        if customer {
            self.customer_may_call(&me, now)?;
        }
        let key = (me.realm.clone(), m.business.clone());
        let staffed = self.has_skilled_agent(&me.realm, &m.business);
        // Staff learn at once that nobody serves a queue; customers only where the realm says
        // so (otherwise they wait, and an unstaffed queue looks like a busy one).
        let tell_unstaffed = !customer || self.reveals_staffing(&me.realm);
        if (staffed || !tell_unstaffed)
            && self.queue.waiting_in(&key) >= self.config.max_waiting_per_business
        {
            return Err(refuse(
                ErrorCode::QueueFull,
                format!(
                    "{} customers already wait for {}; try again later",
                    self.config.max_waiting_per_business, m.business
                ),
            ));
        }
        // The priority is the account's, never the client's: customers have none, a user's
        // account may have one (the client may ask for less).
        let allowed = if customer {
            0
        } else {
            self.accounts.get(&me).map_or(0, |a| a.queue_priority)
        };
        let priority = m.priority.min(allowed).min(limits::MAX_LEVEL);
        if customer {
            self.customer_enqueues.insert(me.clone(), now);
        }
        let call_id = self.new_call_id()?;
        let leg = QueueLeg {
            business: m.business.clone(),
            priority,
            customer_name: m.name.clone(),
            enqueued_at: now,
            stage: Stage::Waiting,
            offer: m.offer,
            transferred_by: None,
            warm: false,
            transfer: None,
            consulted: Vec::new(),
            conferenced: Vec::new(),
            answered_at: None,
            last_agent: None,
            told: None,
        };
        self.open_call(
            session,
            &me,
            call_id.clone(),
            CallKind::Queue,
            m.media,
            m.extra,
            Some(leg),
            now,
        );
        if !staffed && tell_unstaffed {
            self.reply(
                session,
                id,
                ServerMessage::Queued(Queued {
                    call_id: call_id.clone(),
                    business: m.business,
                    position: 1,
                }),
            );
            self.finish_call(
                &call_id,
                EndReason::new(EndCode::NoAgentAvailable, Side::Server),
                now,
            );
            return Ok(());
        }
        self.queue.push(call_id.clone(), key, priority, false);
        let (position, waiting) = self.position_of(&call_id);
        if let Some(q) = self.calls.get_mut(&call_id).and_then(|c| c.queue.as_mut()) {
            q.told = Some((position, waiting));
        }
        self.reply(
            session,
            id,
            ServerMessage::Queued(Queued {
                call_id: call_id.clone(),
                business: m.business,
                position,
            }),
        );
        self.timer(
            now + self.config.queue_max_wait_ms,
            Timer::QueueWait {
                call: call_id.clone(),
            },
        );
        if !staffed {
            self.unstaffed_timer(&call_id, now);
        }
        Ok(())
    }

    /// A customer enters the queue at most once per `customer_enqueue_interval_ms`: calling,
    /// hanging up while an agent's phone rings and calling again must not ring agents in a loop.
    fn customer_may_call(&mut self, me: &UserKey, now: Millis) -> Handled {
        let interval = self.config.customer_enqueue_interval_ms;
        if self.customer_enqueues.len() > 4096 {
            self.customer_enqueues
                .retain(|_, at| now.saturating_sub(*at) < interval);
        }
        match self.customer_enqueues.get(me) {
            Some(at) if now.saturating_sub(*at) < interval => Err(refuse(
                ErrorCode::RateLimited,
                format!(
                    "you called a moment ago; call again in {} s",
                    (at + interval - now).div_ceil(1000)
                ),
            )),
            _ => Ok(()),
        }
    }

    fn reveals_staffing(&self, realm: &Label) -> bool {
        self.config
            .reveal_staffing
            .get(realm.as_str())
            .copied()
            .unwrap_or(self.config.default_reveal_staffing)
    }

    /// A customer waits in a queue no agent serves: unless an agent comes, the wait ends after
    /// `unstaffed_wait_ms` with `queue_timeout`.
    fn unstaffed_timer(&mut self, call_id: &CallId, now: Millis) {
        if self.config.unstaffed_wait_ms < self.config.queue_max_wait_ms {
            self.timer(
                now + self.config.unstaffed_wait_ms,
                Timer::QueueWait {
                    call: call_id.clone(),
                },
            );
        }
    }

    fn has_skilled_agent(&self, realm: &Label, business: &Business) -> bool {
        self.agents
            .iter()
            .any(|(k, a)| &k.realm == realm && a.has_skill(business))
    }

    pub(super) fn queue_wait_expired(&mut self, call_id: &CallId, now: Millis) {
        let Some((stage, realm, business, enqueued_at)) = self.calls.get(call_id).and_then(|c| {
            let q = c.queue.as_ref()?;
            Some((
                q.stage.clone(),
                c.realm.clone(),
                q.business.clone(),
                q.enqueued_at,
            ))
        }) else {
            return;
        };
        let full_wait = enqueued_at + self.config.queue_max_wait_ms;
        match stage {
            // The short wait of an unstaffed queue ran out, but an agent has come since.
            Stage::Waiting if now < full_wait && self.has_skilled_agent(&realm, &business) => {}
            Stage::Waiting => self.finish_call(
                call_id,
                EndReason::new(EndCode::QueueTimeout, Side::Server),
                now,
            ),
            // Ringing at an agent: let that play out, and look again after it.
            Stage::Offered { .. } => self.timer(
                now + self.config.rona_ms,
                Timer::QueueWait {
                    call: call_id.clone(),
                },
            ),
            Stage::Connected { .. } => {}
        }
    }

    /// After a member of a customer call left: the customer leaving ends the call; an agent
    /// who was only offered it (reject, RONA, lost) or who transferred it sends the customer
    /// back to the head of the queue; an agent hanging up ends it.
    pub(super) fn settle_queue_call(
        &mut self,
        call_id: &CallId,
        departed: &UserId,
        was_joined: bool,
        last: EndReason,
        code: EndCode,
        now: Millis,
    ) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let customer_here = call
            .active_member(&call.inviter)
            .is_some_and(|i| call.members[i].state == switchboard_protocol::MemberState::Joined);
        if !customer_here {
            self.finish_call(call_id, last, now);
            return;
        }
        if departed == &call.inviter {
            return;
        }
        if was_joined && code != EndCode::Transferred {
            self.finish_call(call_id, last, now);
            return;
        }
        self.requeue(call_id, true);
    }

    fn requeue(&mut self, call_id: &CallId, at_head: bool) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let realm = call.realm.clone();
        let Some(q) = call.queue.as_mut() else {
            return;
        };
        q.stage = Stage::Waiting;
        q.told = None;
        q.warm = false;
        let priority = q.priority;
        let key = (realm, q.business.clone());
        self.queue.push(call_id.clone(), key, priority, at_head);
    }

    /// Offers waiting customers to ready agents until no pair fits.
    pub(super) fn route(&mut self, now: Millis) {
        loop {
            // Queues that a free, ready agent could take now.
            let mut free: HashMap<(Label, Business), (Millis, UserKey)> = HashMap::new();
            for (k, a) in &self.agents {
                if a.state != AgentState::Ready
                    || self.joined.contains_key(k)
                    || self.ringing.contains_key(k)
                {
                    continue;
                }
                for s in &a.profile.skills {
                    let slot = free
                        .entry((k.realm.clone(), s.business.clone()))
                        .or_insert((a.idle_since, k.clone()));
                    if (a.idle_since, k) < (slot.0, &slot.1) {
                        *slot = (a.idle_since, k.clone());
                    }
                }
            }
            if free.is_empty() {
                return;
            }
            let mut choice = None;
            for call_id in self.queue.order.values() {
                let Some(call) = self.calls.get(call_id) else {
                    continue;
                };
                let Some(q) = &call.queue else { continue };
                if let Some((_, agent)) = free.get(&(call.realm.clone(), q.business.clone())) {
                    choice = Some((call_id.clone(), agent.clone()));
                    break;
                }
            }
            let Some((call_id, agent)) = choice else {
                return;
            };
            self.offer(&call_id, &agent, now);
        }
    }

    /// Rings one agent for a waiting customer.
    pub(super) fn offer(&mut self, call_id: &CallId, agent: &UserKey, now: Millis) {
        self.queue.remove(call_id);
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let customer = call.inviter.clone();
        let Some(q) = call.queue.as_mut() else {
            return;
        };
        q.stage = Stage::Offered {
            agent: agent.user.clone(),
        };
        let offer = q.offer.take();
        self.set_agent(
            agent,
            AgentState::Ringing {
                call_id: call_id.clone(),
            },
            now,
        );
        tracing::debug!(call = %call_id, agent = %agent, "offered to agent");
        self.add_invitee(call_id, agent.user.clone(), offer, &customer, now);
    }

    // ---- agents ---------------------------------------------------------------------------

    pub(super) fn agent_register(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        profile: AgentProfile,
        now: Millis,
    ) -> Handled {
        let Some(me) = self.user_of(session) else {
            return Ok(());
        };
        let profile = self.assigned_profile(&me, profile)?;
        match self.agents.get_mut(&me) {
            Some(a) => {
                a.profile = profile;
                a.session = session.clone();
            }
            None => {
                self.agents.insert(
                    me.clone(),
                    Agent {
                        session: session.clone(),
                        profile,
                        state: AgentState::NotReady {
                            reason: label("registered"),
                        },
                        since: now,
                        idle_since: now,
                        next: None,
                        told: None,
                        serving: None,
                    },
                );
            }
        }
        self.queue.cti_dirty = true;
        self.agent_state_reply(&me, id);
        Ok(())
    }

    /// The profile an agent registers with: the skills they asked for, each of which their
    /// account must have, at the account's level. Nobody picks their own queues.
    fn assigned_profile(
        &self,
        me: &UserKey,
        mut profile: AgentProfile,
    ) -> Result<AgentProfile, super::Refusal> {
        let assigned = self.accounts.get(me).map(|a| &a.skills[..]).unwrap_or(&[]);
        let names = || {
            let list: Vec<&str> = assigned.iter().map(|s| s.business.as_str()).collect();
            if list.is_empty() {
                "none".to_owned()
            } else {
                list.join(", ")
            }
        };
        for s in &mut profile.skills {
            match assigned.iter().find(|a| a.business == s.business) {
                Some(a) => s.level = a.level,
                None => {
                    return Err(refuse(
                        ErrorCode::Forbidden,
                        format!(
                            "{} is not among your skills ({}); an administrator assigns them",
                            s.business,
                            names()
                        ),
                    ));
                }
            }
        }
        Ok(profile)
    }

    /// An administrator changed an account's skills: a registered agent keeps only those still
    /// assigned, and leaves the queue when none is.
    pub(super) fn limit_agent_skills(&mut self, agent: &UserKey, assigned: &[Skill], now: Millis) {
        let Some(a) = self.agents.get_mut(agent) else {
            return;
        };
        a.profile.skills.retain_mut(
            |s| match assigned.iter().find(|x| x.business == s.business) {
                Some(x) => {
                    s.level = x.level;
                    true
                }
                None => false,
            },
        );
        self.queue.cti_dirty = true;
        if a.profile.skills.is_empty() && !a.working() {
            self.sign_agent_out(agent, now);
        }
    }

    /// Tells an agent they are offline and takes them out of the queue.
    fn sign_agent_out(&mut self, agent: &UserKey, now: Millis) {
        let Some(session) = self.agents.get(agent).map(|a| a.session.clone()) else {
            return;
        };
        self.send(
            &session,
            ServerMessage::AgentState(AgentStateUpdate {
                state: AgentState::Offline,
                since: now,
                next: None,
            }),
        );
        self.agent_offline(agent, now);
    }

    pub(super) fn set_agent_state(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        state: AgentAvailability,
        after_call: bool,
        now: Millis,
    ) -> Handled {
        let Some(me) = self.user_of(session) else {
            return Ok(());
        };
        let Some(agent) = self.agents.get_mut(&me) else {
            return Err(refuse(
                ErrorCode::AgentNotRegistered,
                "register as an agent first (agent_register)",
            ));
        };
        if after_call || agent.working() {
            agent.next = Some(state);
            self.agent_state_reply(&me, id);
            return Ok(());
        }
        agent.next = None;
        match state {
            AgentAvailability::Ready => self.set_agent(&me, AgentState::Ready, now),
            AgentAvailability::NotReady { reason } => {
                self.set_agent(&me, AgentState::NotReady { reason }, now)
            }
            AgentAvailability::Offline => {
                self.reply(
                    session,
                    id,
                    ServerMessage::AgentState(AgentStateUpdate {
                        state: AgentState::Offline,
                        since: now,
                        next: None,
                    }),
                );
                self.agent_offline(&me, now);
                return Ok(());
            }
        }
        self.agent_state_reply(&me, id);
        Ok(())
    }

    /// Changes an agent's state (telling them unless `quiet`).
    fn set_agent(&mut self, agent: &UserKey, state: AgentState, now: Millis) {
        let Some(a) = self.agents.get_mut(agent) else {
            return;
        };
        if state == AgentState::Ready && a.state != AgentState::Ready {
            a.idle_since = now;
        }
        let (old, since) = (std::mem::replace(&mut a.state, state), a.since);
        a.since = now;
        let serving = a.serving.clone();
        if let AgentState::InCall { call_id } = &a.state {
            a.serving = self
                .calls
                .get(call_id)
                .and_then(|c| c.queue.as_ref())
                .map(|q| q.business.clone());
        }
        self.floor_agent_left(agent, &old, since, serving, now);
        self.queue.cti_dirty = true;
        self.agent_state_reply(agent, None);
    }

    fn agent_state_reply(&mut self, agent: &UserKey, id: Option<RequestId>) {
        let Some(a) = self.agents.get(agent) else {
            return;
        };
        let session = a.session.clone();
        let update = AgentStateUpdate {
            state: a.state.clone(),
            since: a.since,
            next: a.next.clone(),
        };
        self.reply(&session, id, ServerMessage::AgentState(update));
    }

    /// The agent leaves the queue; customers of a business no agent serves any more end
    /// with `no_agent_available`.
    pub(super) fn agent_offline(&mut self, agent: &UserKey, now: Millis) {
        if self.agents.remove(agent).is_none() {
            return;
        }
        self.queue.cti_dirty = true;
        let orphans: Vec<CallId> = self
            .queue
            .order
            .values()
            .filter(|c| {
                self.calls.get(*c).is_some_and(|call| {
                    call.realm == agent.realm
                        && call
                            .queue
                            .as_ref()
                            .is_some_and(|q| !self.has_skilled_agent(&call.realm, &q.business))
                })
            })
            .cloned()
            .collect();
        for c in orphans {
            let customer = self
                .calls
                .get(&c)
                .and_then(|call| self.sessions.get(call.members.first()?.session.as_ref()?))
                .is_some_and(|s| s.role == Role::Customer);
            if customer && !self.reveals_staffing(&agent.realm) {
                self.unstaffed_timer(&c, now);
            } else {
                self.finish_call(
                    &c,
                    EndReason::new(EndCode::NoAgentAvailable, Side::Server),
                    now,
                );
            }
        }
    }

    pub(super) fn agent_answered(&mut self, agent: &UserKey, call_id: &CallId, now: Millis) {
        self.set_agent(
            agent,
            AgentState::InCall {
                call_id: call_id.clone(),
            },
            now,
        );
    }

    /// An agent's part in a customer call ended: wrap-up after a conversation; not ready after
    /// a missed or declined offer (like Amazon Connect's "Missed"); back to ready when the
    /// customer went away while it rang.
    pub(super) fn agent_leg_ended(
        &mut self,
        agent: &UserKey,
        call_id: &CallId,
        was_joined: bool,
        code: EndCode,
        now: Millis,
    ) {
        let Some(a) = self.agents.get(agent) else {
            return;
        };
        if a.call() != Some(call_id) {
            return;
        }
        if was_joined {
            if self.config.wrap_up_ms > 0 {
                let ends_at = now + self.config.wrap_up_ms;
                self.set_agent(
                    agent,
                    AgentState::WrapUp {
                        call_id: call_id.clone(),
                        ends_at: Some(ends_at),
                    },
                    now,
                );
                self.timer(
                    ends_at,
                    Timer::WrapUp {
                        agent: agent.clone(),
                        call: call_id.clone(),
                    },
                );
            } else {
                self.after_wrap_up(agent, now);
            }
            return;
        }
        match code {
            EndCode::NoAnswer | EndCode::Rejected | EndCode::Busy | EndCode::NetworkLost => {
                if let Some(a) = self.agents.get_mut(agent) {
                    a.next = None;
                }
                self.set_agent(
                    agent,
                    AgentState::NotReady {
                        reason: label("missed"),
                    },
                    now,
                );
            }
            _ => {
                // The customer left while it rang: keep the agent's place as longest idle.
                let idle = self.agents.get(agent).map(|a| a.idle_since);
                self.after_wrap_up(agent, now);
                if let (Some(a), Some(idle)) = (self.agents.get_mut(agent), idle) {
                    a.idle_since = idle;
                }
            }
        }
    }

    pub(super) fn end_wrap_up(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        m: EndWrapUp,
        now: Millis,
    ) -> Handled {
        let Some(me) = self.user_of(session) else {
            return Ok(());
        };
        let Some(a) = self.agents.get(&me) else {
            return Err(refuse(
                ErrorCode::AgentNotRegistered,
                "register as an agent first (agent_register)",
            ));
        };
        if !matches!(&a.state, AgentState::WrapUp { call_id, .. } if call_id == &m.call_id) {
            return Err(refuse(
                ErrorCode::WrongState,
                "you are not wrapping up this call",
            ));
        }
        self.record(Record::WrapUp {
            call_id: m.call_id,
            agent: me.clone(),
            disposition: m.disposition,
            notes: m.notes.map(|n| n.as_str().to_owned()),
            at: now,
        });
        self.ack(session, id);
        self.after_wrap_up(&me, now);
        Ok(())
    }

    pub(super) fn wrap_up_expired(&mut self, agent: &UserKey, call_id: &CallId, now: Millis) {
        let due = self.agents.get(agent).is_some_and(
            |a| matches!(&a.state, AgentState::WrapUp { call_id: c, .. } if c == call_id),
        );
        if due {
            self.after_wrap_up(agent, now);
        }
    }

    /// The state after a call: what the agent asked for ("next status"), else ready (or not
    /// ready for after-call work when auto-ready is off).
    fn after_wrap_up(&mut self, agent: &UserKey, now: Millis) {
        let Some(a) = self.agents.get_mut(agent) else {
            return;
        };
        let next = a.next.take();
        let state = match next {
            Some(AgentAvailability::Ready) => AgentState::Ready,
            Some(AgentAvailability::NotReady { reason }) => AgentState::NotReady { reason },
            Some(AgentAvailability::Offline) => {
                self.sign_agent_out(agent, now);
                return;
            }
            None if self.config.auto_ready => AgentState::Ready,
            None => AgentState::NotReady {
                reason: label("after_call_work"),
            },
        };
        self.set_agent(agent, state, now);
    }

    pub(super) fn transfer(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        m: Transfer,
        now: Millis,
    ) -> Handled {
        if m.to == TransferTarget::Consulted {
            return self.warm_transfer(session, id, &m.call_id, now);
        }
        let (me, _) = self.member_of(&m.call_id, session)?;
        let call = self.call(&m.call_id)?;
        let connected_here = call
            .queue
            .as_ref()
            .is_some_and(|q| q.connected_to(&me.user));
        if !connected_here {
            return Err(refuse(
                ErrorCode::WrongState,
                "only the agent talking to a customer can transfer the call",
            ));
        }
        if call.consult.is_some() {
            // The agent is in the consult too: leaving it dangling would leave them free for
            // routing while still on a call.
            return Err(refuse(
                ErrorCode::WrongState,
                "a consult is in progress: complete it (warm) or end it first",
            ));
        }
        let target_agent = match &m.to {
            TransferTarget::Agent { user } => {
                let key = me.with_user(user.clone());
                let free = user != &me.user
                    && self
                        .agents
                        .get(&key)
                        .is_some_and(|a| a.state == AgentState::Ready)
                    && !self.joined.contains_key(&key)
                    && !self.ringing.contains_key(&key);
                if !free {
                    return Err(refuse(
                        ErrorCode::WrongState,
                        format!("{user} is not a ready agent"),
                    ));
                }
                Some(key)
            }
            TransferTarget::Consulted => unreachable!("handled above"),
            TransferTarget::Queue { business } => {
                if !self.has_skilled_agent(&me.realm, business) {
                    return Err(refuse(
                        ErrorCode::UnknownBusiness,
                        format!("no agent serves {business}"),
                    ));
                }
                if let Some(q) = self
                    .calls
                    .get_mut(&m.call_id)
                    .and_then(|c| c.queue.as_mut())
                {
                    q.business = business.clone();
                }
                None
            }
        };
        if let Some(q) = self
            .calls
            .get_mut(&m.call_id)
            .and_then(|c| c.queue.as_mut())
        {
            q.transferred_by = Some(me.user.clone());
            q.transfer = Some(TransferKind::Cold);
        }
        self.ack(session, id);
        self.depart_member(
            &m.call_id,
            &me.user,
            Some(session),
            super::calls::Departure::fixed(EndCode::Transferred, Side::Local),
            now,
        );
        if let Some(target) = target_agent {
            let waiting = self
                .calls
                .get(&m.call_id)
                .and_then(|c| c.queue.as_ref())
                .is_some_and(|q| q.stage == Stage::Waiting);
            if waiting {
                self.offer(&m.call_id, &target, now);
            }
        }
        Ok(())
    }
}

fn label(s: &str) -> Label {
    Label::new(s).expect("a short constant label")
}
