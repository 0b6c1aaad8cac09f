//! The supervisor's floor: rolling figures per queue and per agent, the wallboard pushed to the
//! supervisors who watch, and who supervises whom.
//!
//! Figures are counted into buckets of a sixtieth of the window (at least a minute), so a
//! queue or an agent costs at most 60 small buckets however busy it is, and the window slides
//! by a bucket at a time. The core's clock is the only clock, so every node of a cluster counts
//! alike.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};
use switchboard_protocol::{
    AgentBoard, AgentCall, AgentState, Business, CallId, EndCode, Label, OwnFigures, QueueBoard,
    RequestId, Role, ServerMessage, SessionId, Wallboard, WatchFloor,
};

use super::calls::Call;
use super::{Core, Handled, Millis, UserKey};

/// One stretch of a supervisor's mode in an agent's customer call, for the audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupervisionRecord {
    /// The call between supervisor and agent.
    pub monitor_call: CallId,
    /// The customer call supervised.
    pub customer_call: CallId,
    /// The tenant.
    pub realm: Label,
    /// Who.
    pub supervisor: switchboard_protocol::UserId,
    /// Whom.
    pub agent: switchboard_protocol::UserId,
    /// How.
    pub mode: switchboard_protocol::MonitorMode,
    /// From…
    pub started_at: Millis,
    /// …to.
    pub ended_at: Millis,
}

/// The floor's figures and its watchers.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Floor {
    queues: HashMap<(Label, Business), Window>,
    agents: HashMap<UserKey, Window>,
    /// Watching sessions, with a digest of the last board each was sent.
    watchers: BTreeMap<SessionId, Option<u64>>,
}

/// What one bucket counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Counts {
    answered: u32,
    answered_in_time: u32,
    abandoned: u32,
    handled: u32,
    handle_ms: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.answered += o.answered;
        self.answered_in_time += o.answered_in_time;
        self.abandoned += o.abandoned;
        self.handled += o.handled;
        self.handle_ms += o.handle_ms;
    }

    fn aht_ms(&self) -> Option<u64> {
        (self.handled > 0).then(|| self.handle_ms / u64::from(self.handled))
    }

    fn pct(part: u32, whole: u32) -> Option<u8> {
        (whole > 0).then(|| {
            u8::try_from((u64::from(part) * 100 + u64::from(whole) / 2) / u64::from(whole))
                .unwrap_or(100)
        })
    }
}

/// Buckets by start time, oldest first.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Window(VecDeque<(Millis, Counts)>);

impl Window {
    fn add(&mut self, now: Millis, width: Millis, f: impl FnOnce(&mut Counts)) {
        let start = now - now % width;
        if self.0.back().is_none_or(|(s, _)| *s != start) {
            self.0.push_back((start, Counts::default()));
        }
        if let Some((_, c)) = self.0.back_mut() {
            f(c);
        }
    }

    /// Drops buckets that ended before the window; true when nothing is left.
    fn prune(&mut self, now: Millis, span: Millis, width: Millis) -> bool {
        while self.0.front().is_some_and(|(s, _)| s + width + span <= now) {
            self.0.pop_front();
        }
        self.0.is_empty()
    }

    fn sum(&self, now: Millis, span: Millis, width: Millis) -> Counts {
        let mut total = Counts::default();
        for (s, c) in &self.0 {
            if s + width + span > now {
                total.add(c);
            }
        }
        total
    }
}

impl Core {
    fn floor_span(&self) -> (Millis, Millis) {
        let span = self.config.stats_window_ms.max(60_000);
        (span, (span / 60).max(60_000))
    }

    fn window_mins(&self) -> u32 {
        u32::try_from(self.floor_span().0 / 60_000).unwrap_or(u32::MAX)
    }

    /// The realm's service level: seconds, and the goal in percent.
    pub(super) fn service_level(&self, realm: &Label) -> (u32, u8) {
        self.config
            .service_level
            .get(realm.as_str())
            .copied()
            .unwrap_or((20, 80))
    }

    fn count_queue(
        &mut self,
        realm: &Label,
        business: &Business,
        now: Millis,
        f: impl FnOnce(&mut Counts),
    ) {
        let (span, width) = self.floor_span();
        let w = self
            .floor
            .queues
            .entry((realm.clone(), business.clone()))
            .or_default();
        w.prune(now, span, width);
        w.add(now, width, f);
        self.queue.cti_dirty = true;
    }

    fn count_agent(&mut self, agent: &UserKey, now: Millis, f: impl FnOnce(&mut Counts)) {
        let (span, width) = self.floor_span();
        let w = self.floor.agents.entry(agent.clone()).or_default();
        w.prune(now, span, width);
        w.add(now, width, f);
        self.queue.cti_dirty = true;
    }

    /// An agent answered a customer for the first time: `waited` from enqueue.
    pub(super) fn floor_answered(&mut self, call_id: &CallId, now: Millis) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let Some(q) = &call.queue else { return };
        let waited = now.saturating_sub(q.enqueued_at);
        let (secs, _) = self.service_level(&call.realm);
        let (realm, business) = (call.realm.clone(), q.business.clone());
        self.count_queue(&realm, &business, now, |c| {
            c.answered += 1;
            if waited <= u64::from(secs) * 1000 {
                c.answered_in_time += 1;
            }
        });
    }

    /// A customer call ended: handled (answer to end) or abandoned.
    pub(super) fn floor_call_ended(&mut self, call: &Call, code: EndCode, now: Millis) {
        let Some(q) = &call.queue else { return };
        match q.answered_at {
            Some(at) => {
                let talk = now.saturating_sub(at);
                self.count_queue(&call.realm, &q.business, now, |c| {
                    c.handled += 1;
                    c.handle_ms += talk;
                });
            }
            // The server gave up on them: not a customer's abandon.
            None if matches!(
                code,
                EndCode::QueueTimeout | EndCode::NoAgentAvailable | EndCode::ServiceUnavailable
            ) => {}
            None => self.count_queue(&call.realm, &q.business, now, |c| c.abandoned += 1),
        }
    }

    /// An agent leaves a state: a customer call's talk, or its wrap-up, counts to their figures
    /// (and a wrap-up to the queue's handle time).
    pub(super) fn floor_agent_left(
        &mut self,
        agent: &UserKey,
        old: &AgentState,
        since: Millis,
        serving: Option<Business>,
        now: Millis,
    ) {
        let spent = now.saturating_sub(since);
        match old {
            AgentState::InCall { .. } => self.count_agent(agent, now, |c| {
                c.handled += 1;
                c.handle_ms += spent;
            }),
            AgentState::WrapUp { .. } => {
                self.count_agent(agent, now, |c| c.handle_ms += spent);
                if let Some(b) = serving {
                    self.count_queue(&agent.realm, &b, now, |c| c.handle_ms += spent);
                }
            }
            _ => {}
        }
    }

    /// An agent's own figures over the window.
    pub(super) fn own_figures(&self, agent: &UserKey, now: Millis) -> OwnFigures {
        let (span, width) = self.floor_span();
        let c = self
            .floor
            .agents
            .get(agent)
            .map(|w| w.sum(now, span, width))
            .unwrap_or_default();
        OwnFigures {
            handled: c.handled,
            aht_ms: c.aht_ms(),
            window_mins: self.window_mins(),
        }
    }

    // ---- scope ----------------------------------------------------------------------------

    /// The team a supervisor's scope is limited to (none: the realm).
    fn scope_of(&self, supervisor: &UserKey, role: Role) -> Option<Label> {
        match role {
            Role::Admin => None,
            _ => self.accounts.get(supervisor).and_then(|a| a.team.clone()),
        }
    }

    /// Whether `supervisor`, signed in as `role`, may see and act on `agent`.
    pub(super) fn supervises(&self, supervisor: &UserKey, role: Role, agent: &UserKey) -> bool {
        role.supervises()
            && supervisor.realm == agent.realm
            && self.scope_of(supervisor, role).is_none_or(|team| {
                self.accounts
                    .get(agent)
                    .and_then(|a| a.team.as_ref())
                    .is_some_and(|t| t == &team)
            })
    }

    // ---- the board ------------------------------------------------------------------------

    pub(super) fn watch_floor(
        &mut self,
        session: &SessionId,
        id: Option<RequestId>,
        m: WatchFloor,
        now: Millis,
    ) -> Handled {
        if !m.on {
            self.floor.watchers.remove(session);
            self.ack(session, id);
            return Ok(());
        }
        let Some(s) = self.sessions.get(session) else {
            return Ok(());
        };
        let (user, role) = (s.user.clone(), s.role);
        let board = self.wallboard(&user.realm, self.scope_of(&user, role), now);
        self.floor
            .watchers
            .insert(session.clone(), Some(digest(&board)));
        self.reply(session, id, ServerMessage::Wallboard(board));
        Ok(())
    }

    pub(super) fn unwatch_floor(&mut self, session: &SessionId) {
        self.floor.watchers.remove(session);
    }

    /// Sends each watcher their board if it changed (called with the CTI frames).
    pub(super) fn publish_floor(&mut self, now: Millis) {
        if self.floor.watchers.is_empty() {
            return;
        }
        let mut boards: HashMap<(Label, Option<Label>), (Wallboard, u64)> = HashMap::new();
        let watchers: Vec<(SessionId, Option<u64>)> = self
            .floor
            .watchers
            .iter()
            .map(|(s, d)| (s.clone(), *d))
            .collect();
        for (session, told) in watchers {
            let Some(s) = self.sessions.get(&session) else {
                self.floor.watchers.remove(&session);
                continue;
            };
            let key = (s.user.realm.clone(), self.scope_of(&s.user, s.role));
            let (board, d) = boards
                .entry(key.clone())
                .or_insert_with(|| {
                    let b = self.wallboard(&key.0, key.1.clone(), now);
                    let d = digest(&b);
                    (b, d)
                })
                .clone();
            if told == Some(d) {
                continue;
            }
            self.floor.watchers.insert(session.clone(), Some(d));
            self.send(&session, ServerMessage::Wallboard(board));
        }
    }

    /// The board of a realm, or of one team of it.
    pub fn wallboard(&self, realm: &Label, team: Option<Label>, now: Millis) -> Wallboard {
        let (span, width) = self.floor_span();
        let (sl_secs, sl_goal) = self.service_level(realm);
        let in_scope = |k: &UserKey| {
            &k.realm == realm
                && team.as_ref().is_none_or(|t| {
                    self.accounts
                        .get(k)
                        .and_then(|a| a.team.as_ref())
                        .is_some_and(|x| x == t)
                })
        };
        let mut agents = Vec::new();
        let mut queues: BTreeMap<Business, QueueBoard> = BTreeMap::new();
        let row = |b: &Business| QueueBoard {
            business: b.clone(),
            waiting: 0,
            longest_wait_ms: 0,
            agents_ready: 0,
            agents_working: 0,
            answered: 0,
            answered_in_time: 0,
            abandoned: 0,
            handled: 0,
            service_level_pct: None,
            abandon_pct: None,
            aht_ms: None,
        };
        let mut keys: Vec<&UserKey> = self.agents.keys().filter(|k| in_scope(k)).collect();
        keys.sort_by(|a, b| a.user.as_str().cmp(b.user.as_str()));
        for k in keys {
            let Some(a) = self.agents.get(k) else {
                continue;
            };
            for s in &a.profile.skills {
                let q = queues
                    .entry(s.business.clone())
                    .or_insert_with(|| row(&s.business));
                if a.state == AgentState::Ready {
                    q.agents_ready += 1;
                } else if a.working() {
                    q.agents_working += 1;
                }
            }
            let call = a
                .call()
                .and_then(|c| self.calls.get(c))
                .and_then(|c| self.agent_call(c, &k.user, now));
            let account = self.accounts.get(k);
            agents.push(AgentBoard {
                user: k.user.clone(),
                name: account.and_then(|a| a.display_name.clone()),
                team: account.and_then(|a| a.team.clone()),
                state: a.state.clone(),
                state_ms: now.saturating_sub(a.since),
                call,
                figures: self.own_figures(k, now),
            });
        }
        // A realm-wide board lists every queue customers may enter; a team's, those its agents
        // serve.
        if team.is_none() {
            for b in self
                .config
                .businesses
                .get(realm.as_str())
                .into_iter()
                .flatten()
            {
                queues.entry(b.clone()).or_insert_with(|| row(b));
            }
            for (r, b) in self.floor.queues.keys() {
                if r == realm {
                    queues.entry(b.clone()).or_insert_with(|| row(b));
                }
            }
        }
        for c in self.queue.order.values() {
            let Some(call) = self.calls.get(c) else {
                continue;
            };
            let Some(q) = &call.queue else { continue };
            if &call.realm != realm {
                continue;
            }
            let Some(board) = (if team.is_none() {
                Some(
                    queues
                        .entry(q.business.clone())
                        .or_insert_with(|| row(&q.business)),
                )
            } else {
                queues.get_mut(&q.business)
            }) else {
                continue;
            };
            board.waiting += 1;
            board.longest_wait_ms = board.longest_wait_ms.max(now.saturating_sub(q.enqueued_at));
        }
        for (b, board) in &mut queues {
            let c = self
                .floor
                .queues
                .get(&(realm.clone(), b.clone()))
                .map(|w| w.sum(now, span, width))
                .unwrap_or_default();
            board.answered = c.answered;
            board.answered_in_time = c.answered_in_time;
            board.abandoned = c.abandoned;
            board.handled = c.handled;
            board.service_level_pct = Counts::pct(c.answered_in_time, c.answered + c.abandoned);
            board.abandon_pct = Counts::pct(c.abandoned, c.answered + c.abandoned);
            board.aht_ms = c.aht_ms();
        }
        Wallboard {
            at: now,
            team,
            window_mins: self.window_mins(),
            service_level_secs: sl_secs,
            service_level_goal_pct: sl_goal,
            queues: queues.into_values().collect(),
            agents,
        }
    }

    fn agent_call(
        &self,
        call: &Call,
        agent: &switchboard_protocol::UserId,
        now: Millis,
    ) -> Option<AgentCall> {
        let q = call.queue.as_ref()?;
        let joined = call
            .active_member(agent)
            .and_then(|i| call.members[i].joined_at);
        Some(AgentCall {
            call_id: call.id.clone(),
            business: q.business.clone(),
            customer: q.customer_name.clone(),
            talk_ms: joined.map_or(0, |j| now.saturating_sub(j)),
            on_hold: call.holds.on.is_some(),
            consulting: call.consult.is_some(),
        })
    }

    /// Every realm's board, for the metrics and the admin endpoint.
    pub fn wallboards(&self, now: Millis) -> Vec<(Label, Wallboard)> {
        let mut realms: BTreeSet<Label> = self.agents.keys().map(|k| k.realm.clone()).collect();
        realms.extend(self.floor.queues.keys().map(|(r, _)| r.clone()));
        realms.extend(
            self.calls
                .values()
                .filter(|c| c.queue.is_some())
                .map(|c| c.realm.clone()),
        );
        for r in self.config.businesses.keys() {
            if let Ok(l) = Label::new(r.clone()) {
                realms.insert(l);
            }
        }
        realms
            .into_iter()
            .map(|r| {
                let b = self.wallboard(&r, None, now);
                (r, b)
            })
            .collect()
    }

    /// Drops figures that left the window (so idle queues and agents cost nothing).
    pub(super) fn prune_floor(&mut self, now: Millis) {
        let (span, width) = self.floor_span();
        self.floor.queues.retain(|_, w| !w.prune(now, span, width));
        self.floor.agents.retain(|_, w| !w.prune(now, span, width));
    }
}

/// What makes a board news: everything but the clocks, which the client runs itself.
fn digest(b: &Wallboard) -> u64 {
    let mut h = DefaultHasher::new();
    for q in &b.queues {
        (
            q.business.as_str(),
            q.waiting,
            q.agents_ready,
            q.agents_working,
            q.answered,
            q.answered_in_time,
            q.abandoned,
            q.handled,
            q.aht_ms,
        )
            .hash(&mut h);
    }
    for a in &b.agents {
        a.user.as_str().hash(&mut h);
        serde_json::to_string(&a.state)
            .unwrap_or_default()
            .hash(&mut h);
        (a.figures.handled, a.figures.aht_ms).hash(&mut h);
        if let Some(c) = &a.call {
            (c.call_id.as_str(), c.on_hold, c.consulting, c.talk_ms == 0).hash(&mut h);
        }
    }
    h.finish()
}
