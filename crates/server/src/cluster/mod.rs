//! Several nodes of one switchboard, sharing live state through Redis.
//!
//! The state is replicated, not split: every input any node takes (a sign-in, a frame, a
//! dropped socket, an account change, a timer's tick) is appended to one Redis stream, the
//! log, and every node applies the whole log, in its order, to its own copy of the sans-IO
//! core. The core is deterministic (its clock is the entry's id, which Redis stamps), so the
//! copies agree; each node delivers the frames for the sockets it holds. A call between users
//! on two nodes, the queue's one offer at a time, a duplicate sign-in's kick: all of it is one
//! core's decision, made alike on every node, in one order. No node decides alone, so a node
//! cut off from Redis cannot split the brain: it takes no sign-ins and changes nothing.
//!
//! One node at a time holds the lease (`SET NX PX`, renewed every 500 ms, lost after 3 s):
//! it appends the timer ticks (so a ring timeout or a RONA fires once), writes the call
//! records (with a mark in the same transaction, so a failover neither loses nor repeats
//! one), notices dead nodes (their heartbeat keys expire; their sessions enter the resume
//! window, and their clients resume on another node), and writes snapshots from which a
//! starting node catches up before the log is trimmed.
//!
//! The price: every node does all the core's work (the core is cheap beside the sockets and
//! the JSON), and the log's throughput is one Redis's. `docs/server.md` has the figures.

mod lease;
mod log;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use switchboard_protocol::{
    Business, ClientFrame, ErrorCode, Label, RequestId, ServerFrame, SessionId, encode,
};
use tokio::sync::{Notify, mpsc};

use crate::core::{Account, Core, CoreConfig, Figures, Login, Output, UserKey, Waiting};
use crate::hub::{Connection, LiveState, Outbound, fresh_session_id, now_ms};
use crate::store::Store;
use lease::RELEASE;
use log::{Entry, EntryId, Replica, Route, Stamped};

/// A node's heartbeat and the lease live this long without renewal.
const LEASE_MS: u64 = 3_000;
/// How often they are renewed.
const BEAT: Duration = Duration::from_millis(500);
/// How often the lease holder writes a snapshot (and trims the log before the previous one).
const SNAPSHOT_EVERY: Duration = Duration::from_secs(5);
/// The most entries one read of the log takes.
const READ_BATCH: usize = 1_000;

/// The names of this switchboard's keys in Redis.
#[derive(Debug, Clone)]
struct Keys {
    log: String,
    snapshot: String,
    trimmed: String,
    lease: String,
    boot: String,
    bootstrapped: String,
    records: String,
    prefix: String,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        let k = |s: &str| format!("{prefix}:{s}");
        Self {
            log: k("log"),
            snapshot: k("snapshot"),
            trimmed: k("trimmed"),
            lease: k("lease"),
            boot: k("boot"),
            bootstrapped: k("bootstrapped"),
            records: k("records"),
            prefix: prefix.to_owned(),
        }
    }

    fn node(&self, node: &str) -> String {
        format!("{}:node:{node}", self.prefix)
    }
}

/// What this node holds: its copy of the state and its sockets.
struct Shared {
    replica: Replica,
    /// Whether `replica` follows the log (false until the first catch-up, and after a gap).
    synced: bool,
    conns: HashMap<SessionId, Connection>,
    /// Redis's clock minus ours, as last seen on an entry (for when to tick).
    offset: i64,
    /// When (our clock) the last tick was appended and not yet applied.
    tick_sent: Option<u64>,
    /// Nodes declared gone whose entry has not been applied yet.
    gone_sent: HashSet<String>,
    /// Who waits for a marker of theirs to come back through the log.
    waiters: HashMap<SessionId, tokio::sync::oneshot::Sender<()>>,
}

/// The live state of a node in a cluster.
pub struct ClusterHub {
    me: String,
    keys: Keys,
    config: CoreConfig,
    shared: Mutex<Shared>,
    log_tx: mpsc::UnboundedSender<Entry>,
    /// Redis answered lately and the replica follows the log.
    healthy: AtomicBool,
    leader: AtomicBool,
    /// Set by `leave`: the heartbeat and the lease stop.
    leaving: AtomicBool,
    /// Wakes the tick loop: the replica's next timer may have moved.
    wake: Notify,
    client: redis::Client,
    commands: ConnectionManager,
    store: Store,
}

impl ClusterHub {
    /// Joins the cluster at `url`: connects, catches up with the log (from the snapshot) and
    /// starts following it. `config.node` is replaced by the cluster's id prefix.
    pub async fn start(
        url: &str,
        name: &str,
        mut config: CoreConfig,
        store: Store,
    ) -> anyhow::Result<Arc<Self>> {
        let client = redis::Client::open(url)?;
        let mut commands = client
            .get_connection_manager_with_config(
                ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(2)))
                    .set_response_timeout(Some(Duration::from_secs(2)))
                    .set_number_of_retries(2),
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach Redis at {url}: {e}"))?;
        let keys = Keys::new(name);
        // The prefix of call and message ids, once for the cluster: every copy of the core
        // must issue the same ids.
        let boot = format!("{:x}", now_ms() / 1000);
        let _: bool = redis::cmd("SET")
            .arg(&keys.boot)
            .arg(&boot)
            .arg("NX")
            .query_async::<Option<String>>(&mut commands)
            .await?
            .is_some();
        let boot: String = commands.get(&keys.boot).await?;
        config.node = format!("c{boot}");
        let me = format!("n{:016x}", rand::random::<u64>());
        let (log_tx, log_rx) = mpsc::unbounded_channel();
        let hub = Arc::new(Self {
            me,
            keys,
            shared: Mutex::new(Shared {
                replica: Replica::new(Core::new(config.clone())),
                synced: false,
                conns: HashMap::new(),
                offset: 0,
                tick_sent: None,
                gone_sent: HashSet::new(),
                waiters: HashMap::new(),
            }),
            config,
            log_tx,
            healthy: AtomicBool::new(false),
            leader: AtomicBool::new(false),
            leaving: AtomicBool::new(false),
            wake: Notify::new(),
            client,
            commands: commands.clone(),
            store,
        });
        tracing::info!(node = %hub.me, "joining the cluster at {url}");
        tokio::spawn(hub.clone().append(log_rx, commands));
        tokio::spawn(hub.clone().follow());
        tokio::spawn(hub.clone().beat());
        tokio::spawn(hub.clone().tick());
        // Serve only once the replica has caught up: before that every account looks unknown.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while !hub.healthy.load(Ordering::Acquire) {
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!("could not catch up with the cluster's log in Redis within 15 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(hub)
    }

    /// This node's id (in logs and metrics).
    pub fn node(&self) -> &str {
        &self.me
    }

    /// The first node of a cluster puts the directory and what waited into the log; later
    /// nodes find them there.
    pub async fn bootstrap(
        &self,
        accounts: Vec<(UserKey, Account)>,
        waiting: Vec<(UserKey, Waiting)>,
        seqs: Vec<(UserKey, UserKey, u64)>,
    ) -> anyhow::Result<()> {
        let mut c = self.commands.clone();
        let first: Option<String> = redis::cmd("SET")
            .arg(&self.keys.bootstrapped)
            .arg(&self.me)
            .arg("NX")
            .query_async(&mut c)
            .await?;
        if first.is_none() {
            return Ok(());
        }
        tracing::info!("first node of the cluster: loading the directory into the log");
        for (user, account) in accounts {
            self.push(Entry::Account {
                user,
                account: Some(account),
            });
        }
        self.push(Entry::Restore { waiting, seqs });
        self.caught_up().await;
        Ok(())
    }

    /// Waits (up to 5 s) until everything this node appended so far has been applied here.
    pub async fn caught_up(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let token = fresh_session_id();
        self.lock().waiters.insert(token.clone(), tx);
        self.push(Entry::Marker { token });
        let _ = tokio::time::timeout(Duration::from_secs(5), rx).await;
    }

    /// Leaves the cluster: this node's sessions enter their resume window (their clients
    /// resume on another node), its sockets close, and the lease is handed on.
    pub async fn leave(&self) {
        self.leaving.store(true, Ordering::Release);
        self.push(Entry::NodeGone {
            node: self.me.clone(),
        });
        self.caught_up().await;
        if self.leader.load(Ordering::Acquire) {
            self.write_records().await;
            let mut c = self.commands.clone();
            let _: redis::RedisResult<i64> = redis::Script::new(RELEASE)
                .key(&self.keys.lease)
                .arg(&self.me)
                .invoke_async(&mut c)
                .await;
        }
        let mut c = self.commands.clone();
        let _: redis::RedisResult<i64> = c.del(self.keys.node(&self.me)).await;
        let mut shared = self.lock();
        for (_, conn) in shared.conns.drain() {
            let _ = conn.tx.try_send(Outbound::Close);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panic while holding the lock is a bug elsewhere; the state is still usable.
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, entry: Entry) {
        // The appender lives as long as the hub.
        let _ = self.log_tx.send(entry);
    }

    /// Appends entries in order, a batch per round trip.
    async fn append(
        self: Arc<Self>,
        mut rx: mpsc::UnboundedReceiver<Entry>,
        mut conn: ConnectionManager,
    ) {
        let mut n = 0u64;
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < 256 {
                match rx.try_recv() {
                    Ok(e) => batch.push(e),
                    Err(_) => break,
                }
            }
            let mut pipe = redis::pipe();
            for entry in batch.drain(..) {
                n += 1;
                let stamped = Stamped {
                    node: self.me.clone(),
                    n,
                    entry,
                };
                pipe.cmd("XADD")
                    .arg(&self.keys.log)
                    .arg("*")
                    .arg("e")
                    .arg(log::encode(&stamped))
                    .ignore();
            }
            let count = pipe.cmd_iter().count();
            let mut waited = Duration::ZERO;
            loop {
                match pipe.query_async::<()>(&mut conn).await {
                    Ok(()) => break,
                    Err(e) if waited < Duration::from_secs(10) => {
                        // Retried: a batch Redis took before the reply was lost comes twice,
                        // and is applied once (the entries' numbers).
                        self.healthy.store(false, Ordering::Release);
                        tracing::warn!("appending to the cluster's log failed ({e}); retrying");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        waited += Duration::from_millis(200);
                    }
                    Err(e) => {
                        tracing::error!(
                            "dropped {count} inputs: Redis has not taken them for 10 s ({e})"
                        );
                        break;
                    }
                }
            }
        }
    }

    async fn reader(&self) -> redis::RedisResult<MultiplexedConnection> {
        self.client
            .get_multiplexed_async_connection_with_config(
                &redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(2)))
                    .set_response_timeout(Some(Duration::from_secs(4))),
            )
            .await
    }

    /// Follows the log: catches up from the snapshot when out of step, then applies each
    /// entry as it comes.
    async fn follow(self: Arc<Self>) {
        let mut failing_since: Option<u64> = None;
        loop {
            match self.follow_once().await {
                Ok(()) => {}
                Err(e) => {
                    self.healthy.store(false, Ordering::Release);
                    let since = *failing_since.get_or_insert_with(now_ms);
                    tracing::warn!(
                        "lost the cluster's log ({e}); this node takes no sign-ins until Redis \
                         answers again (down for {} ms)",
                        now_ms() - since
                    );
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
            if self.healthy.load(Ordering::Acquire) && failing_since.take().is_some() {
                tracing::info!("the cluster's log is back; taking sign-ins again");
            }
        }
    }

    async fn follow_once(&self) -> redis::RedisResult<()> {
        let mut conn = self.reader().await?;
        let trimmed: Option<String> = conn.get(&self.keys.trimmed).await?;
        let trimmed = trimmed.and_then(|t| EntryId::parse(&t)).unwrap_or_default();
        let needs_snapshot = {
            let s = self.lock();
            !s.synced || s.replica.last < trimmed
        };
        if needs_snapshot {
            let snap: Option<Vec<u8>> = conn.get(&self.keys.snapshot).await?;
            let replica = match snap {
                Some(bytes) => match Replica::decode(&bytes, self.config.clone()) {
                    Ok(r) => r,
                    Err(e) => {
                        return Err(redis::RedisError::from((
                            redis::ErrorKind::Client,
                            "the cluster's snapshot does not decode",
                            e.to_string(),
                        )));
                    }
                },
                None => Replica::new(Core::new(self.config.clone())),
            };
            tracing::info!(through = %replica.last, "caught up from the cluster's snapshot");
            let mut s = self.lock();
            // Sockets this node holds that the snapshot routes elsewhere (or nowhere) are
            // stale: their clients resume.
            let stale: Vec<SessionId> = s
                .conns
                .keys()
                .filter(|id| s.replica_route_is_not(&replica, id, &self.me))
                .cloned()
                .collect();
            let mut gone = Vec::new();
            for session in stale {
                if let Some(c) = s.conns.remove(&session) {
                    let _ = c.tx.try_send(Outbound::Close);
                    // A sign-in of theirs may still come in the log: it must not route to
                    // a socket that is gone.
                    gone.push(Entry::Disconnected {
                        session,
                        node: self.me.clone(),
                        conn: c.id,
                    });
                }
            }
            s.replica = replica;
            s.synced = true;
            drop(s);
            for e in gone {
                self.push(e);
            }
        }
        loop {
            let from = self.lock().replica.last.to_string();
            let reply: Option<redis::streams::StreamReadReply> = redis::cmd("XREAD")
                .arg("COUNT")
                .arg(READ_BATCH)
                .arg("BLOCK")
                .arg(1_000)
                .arg("STREAMS")
                .arg(&self.keys.log)
                .arg(&from)
                .query_async(&mut conn)
                .await?;
            let read: usize = reply
                .as_ref()
                .map_or(0, |r| r.keys.iter().map(|k| k.ids.len()).sum());
            if read > 0 {
                // Trimmed past what we applied (we lagged by more than a snapshot's period):
                // the batch starts after a gap; catch up from the snapshot instead.
                let trimmed: Option<String> = conn.get(&self.keys.trimmed).await?;
                let trimmed = trimmed.and_then(|t| EntryId::parse(&t)).unwrap_or_default();
                if self.lock().replica.last < trimmed {
                    tracing::warn!(
                        "this node fell behind the trimmed log; catching up from the snapshot"
                    );
                    self.lock().synced = false;
                    return Ok(());
                }
            }
            // Serving once caught up: a read that did not fill its batch reached the end.
            if read < READ_BATCH {
                self.healthy.store(true, Ordering::Release);
            }
            let Some(reply) = reply else { continue };
            let mut more = Vec::new();
            {
                let mut s = self.lock();
                for key in reply.keys {
                    for e in key.ids {
                        let Some(id) = EntryId::parse(&e.id) else {
                            continue;
                        };
                        let stamped = match e.map.get("e") {
                            Some(redis::Value::BulkString(b)) => log::decode(b),
                            _ => None,
                        };
                        match stamped {
                            Some(st) => {
                                let applied = s.replica.applied.entry(st.node).or_default();
                                if st.n > *applied {
                                    *applied = st.n;
                                    self.apply(&mut s, id, st.entry, &mut more);
                                } else {
                                    // Appended twice (a lost reply); applied the first time.
                                    s.replica.last = id;
                                }
                            }
                            None => {
                                // An entry of another version, or damaged: skipped, said.
                                tracing::error!(%id, "an entry of the cluster's log does not decode; skipped");
                                s.replica.last = id;
                            }
                        }
                    }
                }
            }
            for e in more {
                self.push(e);
            }
            self.wake.notify_one();
        }
    }

    /// Applies one entry and delivers what it produced to this node's sockets.
    fn apply(&self, s: &mut Shared, id: EntryId, entry: Entry, more: &mut Vec<Entry>) {
        let now = id.ms;
        s.offset = i64::try_from(now).unwrap_or(i64::MAX) - i64::try_from(now_ms()).unwrap_or(0);
        let me = self.me.as_str();
        let r = &mut s.replica;
        r.last = id;
        match entry {
            Entry::Login {
                session,
                login,
                node,
                conn,
                request,
            } => {
                r.routes.insert(session.clone(), Route { node, conn });
                r.core.login(session, login, request, now);
            }
            Entry::Resume {
                session,
                login,
                node,
                conn,
                request,
                seen,
            } => match r.core.resume(&session, login, request, seen, now) {
                Ok(()) => {
                    let new = Route { node, conn };
                    if let Some(old) = r.routes.insert(session.clone(), new.clone())
                        && old.node == me
                        && old != new
                        && let Some(c) = s.conns.get(&session)
                        && c.id == old.conn
                    {
                        // Resumed on another node: this socket is stale.
                        let _ = c.tx.try_send(Outbound::Close);
                        s.conns.remove(&session);
                    }
                }
                Err(code) => {
                    if node == me
                        && let Some(c) = s.conns.get(&session)
                        && c.id == conn
                    {
                        // The session ended between the check and the log: this client
                        // signs in afresh.
                        let frame = ServerFrame::error(
                            request,
                            code,
                            "the session ended before it could be resumed; sign in again",
                        );
                        let _ = c.tx.try_send(Outbound::Frame(encode(&frame)));
                        let _ = c.tx.try_send(Outbound::Close);
                        s.conns.remove(&session);
                    }
                }
            },
            Entry::Frame { session, frame } => r.core.frame(&session, frame, now),
            Entry::Disconnected {
                session,
                node,
                conn,
            } => {
                if r.routes.get(&session) == Some(&Route { node, conn }) {
                    r.routes.remove(&session);
                    r.core.disconnected(&session, now);
                }
            }
            Entry::Account { user, account } => r.core.set_account(user, account, now),
            Entry::Refreshed {
                session,
                expires_at,
            } => r.core.token_refreshed(&session, expires_at),
            Entry::Tick => {
                s.tick_sent = None;
                r.core.handle_timeout(now);
            }
            Entry::NodeGone { node } => {
                s.gone_sent.remove(&node);
                let sessions: BTreeSet<SessionId> = r
                    .routes
                    .iter()
                    .filter(|(_, route)| route.node == node)
                    .map(|(id, _)| id.clone())
                    .collect();
                tracing::info!(%node, sessions = sessions.len(), "a node left the cluster; its sessions wait to resume");
                for session in sessions {
                    r.routes.remove(&session);
                    r.core.disconnected(&session, now);
                }
                if node == me {
                    // Declared gone while alive (cut off too long): our clients resume
                    // wherever they reconnect; a sign-in of theirs still to come in the log
                    // must not route to a socket that is gone.
                    for (session, c) in s.conns.drain() {
                        let _ = c.tx.try_send(Outbound::Close);
                        more.push(Entry::Disconnected {
                            session,
                            node: node.clone(),
                            conn: c.id,
                        });
                    }
                }
            }
            Entry::Restore { waiting, seqs } => {
                for (from, to, seq) in seqs {
                    r.core.restore_message_seq(from, to, seq);
                }
                for (user, item) in waiting {
                    r.core.restore_waiting(user, item);
                }
            }
            Entry::Marker { token } => {
                if let Some(tx) = s.waiters.remove(&token) {
                    let _ = tx.send(());
                }
            }
        }
        let outputs = r.core.drain();
        for o in outputs {
            match o {
                Output::Send { session, frame } => {
                    let Some(route) = s.replica.routes.get(&session) else {
                        continue;
                    };
                    if route.node != me {
                        continue;
                    }
                    let Some(c) = s.conns.get(&session).filter(|c| c.id == route.conn) else {
                        continue;
                    };
                    if c.tx.try_send(Outbound::Frame(encode(&frame))).is_err() {
                        // The client does not read: its socket goes, the log hears of it.
                        tracing::warn!(%session, "outbound queue full; closing the connection");
                        c.kill.notify_one();
                        let conn = c.id;
                        s.conns.remove(&session);
                        more.push(Entry::Disconnected {
                            session,
                            node: me.to_owned(),
                            conn,
                        });
                    }
                }
                Output::Close { session } => {
                    if let Some(route) = s.replica.routes.remove(&session)
                        && route.node == me
                        && let Some(c) = s.conns.get(&session)
                        && c.id == route.conn
                    {
                        let _ = c.tx.try_send(Outbound::Close);
                        s.conns.remove(&session);
                    }
                }
                Output::Record(record) => s.replica.records.push((id, record)),
            }
        }
    }
}

impl Shared {
    fn replica_route_is_not(&self, replica: &Replica, session: &SessionId, me: &str) -> bool {
        let conn = self.conns.get(session).map(|c| c.id);
        !replica
            .routes
            .get(session)
            .is_some_and(|r| r.node == me && Some(r.conn) == conn)
    }
}

impl LiveState for ClusterHub {
    fn login(&self, login: Login, conn: Connection, request: Option<RequestId>) -> SessionId {
        let session = fresh_session_id();
        let id = conn.id;
        self.lock().conns.insert(session.clone(), conn);
        self.push(Entry::Login {
            session: session.clone(),
            login,
            node: self.me.clone(),
            conn: id,
            request,
        });
        session
    }

    fn resume(
        &self,
        session: &SessionId,
        login: Login,
        conn: Connection,
        request: Option<RequestId>,
        seen: Option<u64>,
    ) -> Result<(), ErrorCode> {
        let id = conn.id;
        {
            let mut s = self.lock();
            if !s.replica.core.can_resume(session, &login) {
                return Err(ErrorCode::ResumeFailed);
            }
            if let Some(old) = s.conns.insert(session.clone(), conn) {
                let _ = old.tx.try_send(Outbound::Close);
            }
        }
        self.push(Entry::Resume {
            session: session.clone(),
            login,
            node: self.me.clone(),
            conn: id,
            request,
            seen,
        });
        Ok(())
    }

    fn frame(&self, session: &SessionId, frame: ClientFrame) {
        self.push(Entry::Frame {
            session: session.clone(),
            frame,
        });
    }

    fn disconnected(&self, session: &SessionId, conn: u64) {
        let mut s = self.lock();
        if s.conns.get(session).is_some_and(|c| c.id == conn) {
            s.conns.remove(session);
            drop(s);
            self.push(Entry::Disconnected {
                session: session.clone(),
                node: self.me.clone(),
                conn,
            });
        }
    }

    fn set_account(&self, user: UserKey, account: Option<Account>) {
        self.push(Entry::Account { user, account });
    }

    fn account(&self, user: &UserKey) -> Option<Account> {
        self.lock().replica.core.account(user).cloned()
    }

    fn offers_business(&self, realm: &Label, business: &Business) -> bool {
        self.lock().replica.core.offers_business(realm, business)
    }

    fn token_refreshed(&self, session: &SessionId, expires_at: u64) {
        self.push(Entry::Refreshed {
            session: session.clone(),
            expires_at,
        });
    }

    fn figures(&self) -> Figures {
        self.lock().replica.core.figures()
    }

    fn wallboards(&self) -> Vec<(Label, switchboard_protocol::Wallboard)> {
        self.lock().replica.core.wallboards(now_ms())
    }

    fn wallboard(&self, realm: &Label, team: Option<Label>) -> switchboard_protocol::Wallboard {
        self.lock().replica.core.wallboard(realm, team, now_ms())
    }

    fn accepting(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    fn shutdown(&self) {
        // A node's drain is `leave` (async, from `serve`): the calls go on elsewhere.
    }
}
