//! Prometheus metrics (`GET /metrics`, OpenMetrics text): counters kept by the shell, gauges read
//! from the live state at each scrape.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use switchboard_protocol::{AgentState, Label, Wallboard};

use crate::core::Figures;
use crate::throttle::Throttle;

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    /// WebSocket connections accepted.
    pub connections_total: Counter,
    /// WebSocket connections refused (over the per-address or total limit).
    pub connections_refused: Counter,
    /// Frames received after sign-in.
    pub frames_in: Counter,
    /// Frames refused (malformed, unknown type, too large, binary, rate-limited).
    pub frames_rejected: Counter,
    /// Signed-in connections open now.
    pub sessions_open: Gauge,
    sessions: Gauge,
    calls: Gauge,
    waiting: Gauge,
    agents: Gauge,
    agents_ready: Gauge,
    agents_working: Gauge,
    rate_limit_entries: Gauge,
    sockets_open: Gauge,
    /// The TURN relay's own figures.
    pub relay: crate::turn::RelayMetrics,
    floor: FloorMetrics,
}

type Labels = Vec<(&'static str, String)>;
type Ratio = Family<Labels, Gauge<f64, AtomicU64>>;

/// The wallboard's figures per queue (realm, business) and agents per state.
#[derive(Default)]
struct FloorMetrics {
    waiting: Family<Labels, Gauge>,
    longest_wait: Ratio,
    answered: Family<Labels, Gauge>,
    abandoned: Family<Labels, Gauge>,
    handled: Family<Labels, Gauge>,
    service_level: Ratio,
    abandon: Ratio,
    aht: Ratio,
    agents: Family<Labels, Gauge>,
}

impl FloorMetrics {
    fn register(&self, r: &mut Registry) {
        r.register(
            "floor_waiting",
            "Customers waiting now, per queue",
            self.waiting.clone(),
        );
        r.register(
            "floor_longest_wait_seconds",
            "The longest current wait, per queue",
            self.longest_wait.clone(),
        );
        r.register(
            "floor_answered",
            "Customers answered in the stats window, per queue",
            self.answered.clone(),
        );
        r.register(
            "floor_abandoned",
            "Customers who hung up unanswered in the stats window, per queue",
            self.abandoned.clone(),
        );
        r.register(
            "floor_handled",
            "Answered calls that ended in the stats window, per queue",
            self.handled.clone(),
        );
        r.register(
            "floor_service_level_ratio",
            "Share of customers answered within the realm's service-level time (window)",
            self.service_level.clone(),
        );
        r.register(
            "floor_abandon_ratio",
            "Share of customers who hung up unanswered (window)",
            self.abandon.clone(),
        );
        r.register(
            "floor_handle_time_seconds",
            "Average handle time: talk and hold plus wrap-up (window)",
            self.aht.clone(),
        );
        r.register(
            "floor_agents",
            "Registered agents per state",
            self.agents.clone(),
        );
    }

    fn set(&self, boards: &[(Label, Wallboard)]) {
        // Queues and states come and go: only what the boards hold now is exported.
        for f in [
            &self.waiting,
            &self.answered,
            &self.abandoned,
            &self.handled,
            &self.agents,
        ] {
            f.clear();
        }
        for f in [
            &self.longest_wait,
            &self.service_level,
            &self.abandon,
            &self.aht,
        ] {
            f.clear();
        }
        for (realm, b) in boards {
            for q in &b.queues {
                let l: Labels = vec![
                    ("realm", realm.to_string()),
                    ("business", q.business.to_string()),
                ];
                self.waiting.get_or_create(&l).set(i64::from(q.waiting));
                self.longest_wait
                    .get_or_create(&l)
                    .set(q.longest_wait_ms as f64 / 1000.0);
                self.answered.get_or_create(&l).set(i64::from(q.answered));
                self.abandoned.get_or_create(&l).set(i64::from(q.abandoned));
                self.handled.get_or_create(&l).set(i64::from(q.handled));
                if let Some(p) = q.service_level_pct {
                    self.service_level
                        .get_or_create(&l)
                        .set(f64::from(p) / 100.0);
                }
                if let Some(p) = q.abandon_pct {
                    self.abandon.get_or_create(&l).set(f64::from(p) / 100.0);
                }
                if let Some(ms) = q.aht_ms {
                    self.aht.get_or_create(&l).set(ms as f64 / 1000.0);
                }
            }
            for a in &b.agents {
                let state = match &a.state {
                    AgentState::Offline => "offline",
                    AgentState::Ready => "ready",
                    AgentState::NotReady { .. } => "not_ready",
                    AgentState::Ringing { .. } => "ringing",
                    AgentState::InCall { .. } => "in_call",
                    AgentState::WrapUp { .. } => "wrap_up",
                };
                let l: Labels = vec![("realm", realm.to_string()), ("state", state.into())];
                self.agents.get_or_create(&l).inc();
            }
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("switchboard");
        let m = Metrics {
            connections_total: Counter::default(),
            connections_refused: Counter::default(),
            frames_in: Counter::default(),
            frames_rejected: Counter::default(),
            sessions_open: Gauge::default(),
            sessions: Gauge::default(),
            calls: Gauge::default(),
            waiting: Gauge::default(),
            agents: Gauge::default(),
            agents_ready: Gauge::default(),
            agents_working: Gauge::default(),
            rate_limit_entries: Gauge::default(),
            sockets_open: Gauge::default(),
            relay: crate::turn::RelayMetrics::default(),
            floor: FloorMetrics::default(),
            registry: Registry::default(),
        };
        m.floor.register(&mut registry);
        registry.register(
            "relay_allocations",
            "TURN allocations held now",
            m.relay.allocations.clone(),
        );
        registry.register(
            "relay_relayed_bytes",
            "Bytes relayed between clients and peers, both ways",
            m.relay.relayed_bytes.clone(),
        );
        registry.register(
            "relay_refusals",
            "What the relay refused: expired or forged credentials, quotas, denied peers, bandwidth",
            m.relay.refusals.clone(),
        );
        registry.register(
            "connections",
            "WebSocket connections this node accepted",
            m.connections_total.clone(),
        );
        registry.register(
            "connections_refused",
            "WebSocket connections refused: too many from one address or in all",
            m.connections_refused.clone(),
        );
        registry.register(
            "frames_in",
            "Frames this node received from signed-in clients",
            m.frames_in.clone(),
        );
        registry.register(
            "frames_rejected",
            "Frames refused with an error",
            m.frames_rejected.clone(),
        );
        registry.register(
            "connections_open",
            "Signed-in connections open now on this node",
            m.sessions_open.clone(),
        );
        registry.register(
            "sessions",
            "Sessions, including those waiting to resume (the switchboard's: each node of a cluster reports them all)",
            m.sessions.clone(),
        );
        registry.register(
            "calls",
            "Calls in progress (the switchboard's)",
            m.calls.clone(),
        );
        registry.register(
            "queue_waiting",
            "Customers waiting in queues (the switchboard's)",
            m.waiting.clone(),
        );
        registry.register(
            "agents",
            "Registered agents (the switchboard's)",
            m.agents.clone(),
        );
        registry.register(
            "agents_ready",
            "Agents ready (the switchboard's)",
            m.agents_ready.clone(),
        );
        registry.register(
            "agents_working",
            "Agents ringing, in a call or in wrap-up (the switchboard's)",
            m.agents_working.clone(),
        );
        registry.register(
            "rate_limit_entries",
            "Callers and accounts the rate limits remember (pruned once back to full)",
            m.rate_limit_entries.clone(),
        );
        registry.register(
            "sockets_open",
            "WebSocket connections holding a place now, signed in or not (what the connection limits count)",
            m.sockets_open.clone(),
        );
        Metrics { registry, ..m }
    }
}

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Metrics {
    /// The text exposition, with the gauges set from `f`, the floor's boards and the limits.
    pub fn render(
        &self,
        f: &Figures,
        boards: &[(Label, Wallboard)],
        throttle: &Throttle,
    ) -> String {
        self.floor.set(boards);
        self.rate_limit_entries.set(gauge(throttle.entries()));
        self.sockets_open.set(gauge(throttle.open_connections()));
        self.sessions.set(gauge(f.sessions));
        self.calls.set(gauge(f.calls));
        self.waiting.set(gauge(f.queue.waiting));
        self.agents.set(gauge(f.queue.agents));
        self.agents_ready.set(gauge(f.queue.agents_ready));
        self.agents_working.set(gauge(f.queue.agents_working));
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.push_str("# encoding failed\n");
        }
        out
    }
}
