//! Prometheus metrics (`GET /metrics`, OpenMetrics text): counters kept by the shell, gauges read
//! from the live state at each scrape.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

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
            registry: Registry::default(),
        };
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
    /// The text exposition, with the gauges set from `f` and the limits.
    pub fn render(&self, f: &Figures, throttle: &Throttle) -> String {
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
