//! Live state behind a trait: where sessions, calls in progress and the queue live. This node's
//! memory (`LocalHub`: the sans-IO core behind a mutex, a timer task, and the connections of
//! this node) is the only implementation so far; state shared by several nodes (Redis) would
//! implement the same trait, and does not exist yet.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use switchboard_protocol::{
    Business, ClientFrame, ErrorCode, Label, RequestId, ServerFrame, SessionId, encode,
};
use tokio::sync::{Notify, mpsc};

use crate::core::{Account, Core, CoreConfig, Figures, Login, Output, Record, UserKey, Waiting};

/// What goes out on one connection.
#[derive(Debug)]
pub enum Outbound {
    /// A JSON text frame.
    Frame(String),
    /// Close the connection (after the frames before it).
    Close,
}

/// One WebSocket connection of this node.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Unique per node; a resumed session gets a new connection.
    pub id: u64,
    /// Its outbound queue.
    pub tx: mpsc::Sender<Outbound>,
    /// Ends the connection at once, even when its queue is full (a `Close` would not fit).
    pub kill: Arc<Notify>,
}

/// Where live state lives. Every method is quick and never waits on the network of a client.
pub trait LiveState: Send + Sync + 'static {
    /// A verified sign-in on `conn`; returns the new session's id (the `hello` reply is sent).
    fn login(&self, login: Login, conn: Connection, request: Option<RequestId>) -> SessionId;
    /// Resumes a dropped session on `conn`; `seen` is the last frame its client read.
    fn resume(
        &self,
        session: &SessionId,
        login: Login,
        conn: Connection,
        request: Option<RequestId>,
        seen: Option<u64>,
    ) -> Result<(), ErrorCode>;
    /// A frame from a signed-in session.
    fn frame(&self, session: &SessionId, frame: ClientFrame);
    /// Connection `conn` of a session is gone.
    fn disconnected(&self, session: &SessionId, conn: u64);
    /// The directory changed.
    fn set_account(&self, user: UserKey, account: Option<Account>);
    /// The directory's enabled account (what it may do now, whatever its token says).
    fn account(&self, user: &UserKey) -> Option<Account>;
    /// Whether customers may enter this queue.
    fn offers_business(&self, realm: &Label, business: &Business) -> bool;
    /// A session's token was refreshed: the session now lasts until `expires_at` (Unix ms).
    fn token_refreshed(&self, session: &SessionId, expires_at: u64);
    /// Counts for metrics.
    fn figures(&self) -> Figures;
    /// Every realm's wallboard, now.
    fn wallboards(&self) -> Vec<(Label, switchboard_protocol::Wallboard)>;
    /// One realm's wallboard (or one team's), now.
    fn wallboard(&self, realm: &Label, team: Option<Label>) -> switchboard_protocol::Wallboard;
    /// Whether new sign-ins are taken (a cluster's node cut off from Redis takes none).
    fn accepting(&self) -> bool {
        true
    }
    /// Ends every call and session (graceful drain).
    fn shutdown(&self);
}

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

struct Inner {
    core: Core,
    conns: HashMap<SessionId, Connection>,
}

/// The one-node live state.
pub struct LocalHub {
    inner: Mutex<Inner>,
    wake: Notify,
    records: mpsc::UnboundedSender<Record>,
}

impl LocalHub {
    /// A hub whose records go to `records`; call [`LocalHub::run_timers`] in a task.
    pub fn new(config: CoreConfig, records: mpsc::UnboundedSender<Record>) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner {
                core: Core::new(config),
                conns: HashMap::new(),
            }),
            wake: Notify::new(),
            records,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock is a bug elsewhere; the state is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends what the core produced, in order, while still holding the lock, so that frames
    /// to one session never overtake each other.
    fn dispatch(&self, inner: &mut Inner) {
        // Any input may have set a timer (a dropped session's resume window sets one and says
        // nothing): the timer task looks again after every input.
        self.wake.notify_one();
        let outputs = inner.core.drain();
        for o in outputs {
            match o {
                Output::Send { session, frame } => {
                    if let Some(conn) = inner.conns.get(&session) {
                        let text = encode(&frame);
                        if conn.tx.try_send(Outbound::Frame(text)).is_err() {
                            // The client does not read: drop the connection; the session
                            // may resume and gets what it missed from the core's buffer
                            // only from now on.
                            tracing::warn!(%session, "outbound queue full; closing the connection");
                            conn.kill.notify_one();
                            inner.conns.remove(&session);
                            let now = now_ms();
                            inner.core.disconnected(&session, now);
                        }
                    }
                }
                Output::Close { session } => {
                    if let Some(conn) = inner.conns.remove(&session) {
                        let _ = conn.tx.try_send(Outbound::Close);
                    }
                }
                Output::Record(r) => {
                    let _ = self.records.send(r);
                }
            }
        }
    }

    /// Fires the core's timers; runs until the hub is dropped.
    pub async fn run_timers(self: Arc<Self>) {
        loop {
            let next = self.lock().core.poll_timeout();
            let wait = match next {
                Some(at) => Duration::from_millis(at.saturating_sub(now_ms())),
                None => Duration::from_secs(3600),
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => continue,
            }
            let mut inner = self.lock();
            inner.core.handle_timeout(now_ms());
            self.dispatch(&mut inner);
        }
    }

    /// Puts back what waited for signed-out users, and message numbering, at start.
    pub fn restore(&self, waiting: Vec<(UserKey, Waiting)>, seqs: Vec<(UserKey, UserKey, u64)>) {
        let mut inner = self.lock();
        for (from, to, seq) in seqs {
            inner.core.restore_message_seq(from, to, seq);
        }
        for (user, item) in waiting {
            inner.core.restore_waiting(user, item);
        }
    }

    /// Sends a frame straight to a connection (replies the shell makes itself).
    pub fn send_direct(conn: &Connection, frame: &ServerFrame) -> bool {
        conn.tx.try_send(Outbound::Frame(encode(frame))).is_ok()
    }
}

impl LiveState for LocalHub {
    fn login(&self, login: Login, conn: Connection, request: Option<RequestId>) -> SessionId {
        let session = fresh_session_id();
        let mut inner = self.lock();
        inner.conns.insert(session.clone(), conn);
        inner.core.login(session.clone(), login, request, now_ms());
        self.dispatch(&mut inner);
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
        let mut inner = self.lock();
        // The core checks that the session is this user's before anything changes: a session
        // id is visible to call peers, and must not let them disturb it.
        inner.core.resume(session, login, request, seen, now_ms())?;
        // The old socket may still look alive (a resume can race our noticing it died).
        if let Some(old) = inner.conns.insert(session.clone(), conn) {
            let _ = old.tx.try_send(Outbound::Close);
        }
        self.dispatch(&mut inner);
        Ok(())
    }

    fn frame(&self, session: &SessionId, frame: ClientFrame) {
        let mut inner = self.lock();
        inner.core.frame(session, frame, now_ms());
        self.dispatch(&mut inner);
    }

    fn disconnected(&self, session: &SessionId, conn: u64) {
        let mut inner = self.lock();
        if inner.conns.get(session).is_some_and(|c| c.id == conn) {
            inner.conns.remove(session);
            inner.core.disconnected(session, now_ms());
            self.dispatch(&mut inner);
        }
    }

    fn set_account(&self, user: UserKey, account: Option<Account>) {
        let mut inner = self.lock();
        inner.core.set_account(user, account, now_ms());
        self.dispatch(&mut inner);
    }

    fn account(&self, user: &UserKey) -> Option<Account> {
        self.lock().core.account(user).cloned()
    }

    fn offers_business(&self, realm: &Label, business: &Business) -> bool {
        self.lock().core.offers_business(realm, business)
    }

    fn token_refreshed(&self, session: &SessionId, expires_at: u64) {
        let mut inner = self.lock();
        inner.core.token_refreshed(session, expires_at);
        self.dispatch(&mut inner);
    }

    fn figures(&self) -> Figures {
        self.lock().core.figures()
    }

    fn wallboards(&self) -> Vec<(Label, switchboard_protocol::Wallboard)> {
        self.lock().core.wallboards(now_ms())
    }

    fn wallboard(&self, realm: &Label, team: Option<Label>) -> switchboard_protocol::Wallboard {
        self.lock().core.wallboard(realm, team, now_ms())
    }

    fn shutdown(&self) {
        let mut inner = self.lock();
        inner.core.shutdown(now_ms());
        self.dispatch(&mut inner);
    }
}

/// 96 random bits: a session id is presented again to resume, so it must not be guessable.
pub(crate) fn fresh_session_id() -> SessionId {
    let bits: u128 = rand::random::<u128>() >> 32;
    SessionId::new(format!("s{bits:024x}")).expect("hex is a valid id")
}
