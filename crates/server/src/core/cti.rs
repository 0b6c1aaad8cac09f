//! What the queue tells people: each waiting customer's position (on every change) and each
//! agent's CTI figures and waiting list (on every change that matters).

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};

use switchboard_protocol::{
    AgentState, Business, CallId, Cti, CtiFigures, Label, QueuePosition, ServerMessage,
    WaitingCustomer, limits,
};

use super::queue::QueueFigures;
use super::{Core, Millis, UserKey};

impl Core {
    // ---- positions and CTI ------------------------------------------------------------------

    /// Position (from 1) and queue length of a waiting customer in their business's queue.
    pub(super) fn position_of(&self, call_id: &CallId) -> (u32, u32) {
        let Some(call) = self.calls.get(call_id) else {
            return (0, 0);
        };
        let Some(q) = &call.queue else { return (0, 0) };
        let (mut position, mut waiting) = (0u32, 0u32);
        for c in self.queue.order.values() {
            let same = self.calls.get(c).is_some_and(|o| {
                o.realm == call.realm
                    && o.queue.as_ref().is_some_and(|oq| oq.business == q.business)
            });
            if same {
                waiting += 1;
                if c == call_id {
                    position = waiting;
                }
            }
        }
        (position, waiting)
    }

    /// Sends changed positions to waiting customers and changed CTI figures to agents.
    pub(super) fn publish_queue(&mut self, now: Millis) {
        if self.queue.dirty {
            self.queue.dirty = false;
            self.publish_positions();
        }
        if self.queue.cti_dirty {
            // At most one CTI frame per agent per interval: figures change with every
            // enqueue, and a busy queue would otherwise flood every agent's console.
            let due = self
                .queue
                .cti_last
                .map_or(now, |t| t + self.config.cti_interval_ms);
            if now >= due {
                self.queue.cti_dirty = false;
                self.queue.cti_last = Some(now);
                self.publish_cti(now);
                self.prune_floor(now);
                self.publish_floor(now);
            } else if !self.queue.cti_timer {
                self.queue.cti_timer = true;
                self.timer(due, super::Timer::Cti);
            }
        }
    }

    pub(super) fn publish_positions(&mut self) {
        let mut totals: HashMap<(Label, Business), u32> = HashMap::new();
        let mut order = Vec::with_capacity(self.queue.len());
        for c in self.queue.order.values() {
            if let Some(call) = self.calls.get(c)
                && let Some(q) = &call.queue
            {
                let key = (call.realm.clone(), q.business.clone());
                *totals.entry(key.clone()).or_insert(0) += 1;
                order.push((c.clone(), key));
            }
        }
        let mut seen: HashMap<(Label, Business), u32> = HashMap::new();
        for (call_id, key) in order {
            let position = {
                let n = seen.entry(key.clone()).or_insert(0);
                *n += 1;
                *n
            };
            let waiting = totals.get(&key).copied().unwrap_or(position);
            let Some(call) = self.calls.get_mut(&call_id) else {
                continue;
            };
            let Some(q) = call.queue.as_mut() else {
                continue;
            };
            // Only a new place is news (anyRTC's "how many ahead"); a longer queue behind
            // is not, which spares O(n²) frames while customers pile up.
            if q.told.map(|(p, _)| p) == Some(position) {
                continue;
            }
            q.told = Some((position, waiting));
            let customer = call
                .active_member(&call.inviter)
                .and_then(|i| call.members[i].session.clone());
            if let Some(s) = customer {
                self.send(
                    &s,
                    ServerMessage::QueuePosition(QueuePosition {
                        call_id: call_id.clone(),
                        position,
                        waiting,
                        estimated_wait_secs: None,
                    }),
                );
            }
        }
    }

    pub(super) fn publish_cti(&mut self, now: Millis) {
        if self.agents.is_empty() {
            return;
        }
        // Figures per realm.
        let mut figures: HashMap<Label, CtiFigures> = HashMap::new();
        for (k, a) in &self.agents {
            let f = figures.entry(k.realm.clone()).or_default();
            f.agents += 1;
            if a.state == AgentState::Ready {
                f.agents_ready += 1;
            }
            if a.working() {
                f.agents_working += 1;
            }
        }
        // The waiting customers in routing order, with their position per business.
        let mut seen: HashMap<(Label, Business), u32> = HashMap::new();
        let mut listed: Vec<(Label, WaitingCustomer)> = Vec::new();
        for c in self.queue.order.values() {
            let Some(call) = self.calls.get(c) else {
                continue;
            };
            let Some(q) = &call.queue else { continue };
            let waited = now.saturating_sub(q.enqueued_at);
            if let Some(f) = figures.get_mut(&call.realm) {
                f.waiting += 1;
                f.longest_wait_ms = f.longest_wait_ms.max(waited);
            }
            let n = seen
                .entry((call.realm.clone(), q.business.clone()))
                .or_insert(0);
            *n += 1;
            listed.push((
                call.realm.clone(),
                WaitingCustomer {
                    call_id: c.clone(),
                    business: q.business.clone(),
                    priority: q.priority,
                    media: call.media,
                    position: *n,
                    waited_ms: waited,
                    name: q.customer_name.clone(),
                },
            ));
        }
        let agents: Vec<UserKey> = self.agents.keys().cloned().collect();
        for k in agents {
            let Some(a) = self.agents.get(&k) else {
                continue;
            };
            let skills: BTreeSet<&Business> =
                a.profile.skills.iter().map(|s| &s.business).collect();
            let waiting: Vec<WaitingCustomer> = listed
                .iter()
                .filter(|(realm, w)| realm == &k.realm && skills.contains(&w.business))
                .take(limits::MAX_LISTED_WAITING)
                .map(|(_, w)| w.clone())
                .collect();
            let f = figures.get(&k.realm).copied().unwrap_or_default();
            let own = self.own_figures(&k, now);
            // Waits grow every millisecond: only counts and order make a change worth sending.
            let mut h = DefaultHasher::new();
            (f.waiting, f.agents, f.agents_ready, f.agents_working).hash(&mut h);
            (own.handled, own.aht_ms).hash(&mut h);
            for w in &waiting {
                (w.call_id.as_str(), w.position).hash(&mut h);
            }
            let digest = h.finish();
            if a.told == Some(digest) {
                continue;
            }
            let session = a.session.clone();
            if let Some(a) = self.agents.get_mut(&k) {
                a.told = Some(digest);
            }
            self.send(
                &session,
                ServerMessage::Cti(Cti {
                    figures: f,
                    waiting,
                    own,
                }),
            );
        }
    }

    pub(super) fn queue_figures(&self) -> QueueFigures {
        QueueFigures {
            waiting: self.queue.len(),
            agents: self.agents.len(),
            agents_ready: self
                .agents
                .values()
                .filter(|a| a.state == AgentState::Ready)
                .count(),
            agents_working: self.agents.values().filter(|a| a.working()).count(),
        }
    }
}
