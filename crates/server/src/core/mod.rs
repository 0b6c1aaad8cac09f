//! The switchboard itself, sans-IO: sessions, presence, calls, messages and the queue as one
//! value that the async shell feeds with inputs and the current time, and drains for outputs
//! (frames to send, connections to close, records to write). No tokio, no sockets and no clock
//! inside (like str0m), so the tests drive it event by event and proptest can shuffle events.
//!
//! Call control lives in `calls.rs`, the ACD queue in `queue.rs`; this file owns sessions,
//! presence, direct messages, timers and the dispatch of client frames.
//!
//! Longer than 800 lines because it is the core's public face in one page: its configuration,
//! accounts, inputs, outputs, timers and dispatch.

mod board;
#[cfg(test)]
mod board_tests;
mod calls;
mod consult;
#[cfg(test)]
mod consult_tests;
mod cti;
mod ending;
mod hold;
#[cfg(test)]
mod hold_tests;
#[cfg(test)]
mod hostile;
pub(crate) mod ice;
mod monitor;
#[cfg(test)]
mod monitor_tests;
mod presence;
#[cfg(test)]
mod props;
mod queue;
mod records;
mod relay;
mod sessions;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use switchboard_protocol::{
    Business, CallId, ClientFrame, ClientMessage, ErrorCode, Label, Limits, MissedCall,
    MissedCalls, PROTOCOL_VERSION, PresenceStatus, ReceivedMessage, RequestId, Role, ServerFrame,
    ServerMessage, SessionEndCode, SessionId, Skill, UserId, Welcome,
};

pub use board::SupervisionRecord;
pub use calls::{CallSummary, LegRecord, QueueSummary};
pub use ice::{RelayAuth, RelayServer};
pub use queue::QueueFigures;
pub use queue::TransferKind;

use calls::Call;
use queue::{Agent, Queue};

/// Milliseconds since the Unix epoch: the core's only notion of time.
pub type Millis = u64;

/// A user within a realm (tenant). The same user id in two realms is two people.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserKey {
    /// The tenant.
    pub realm: Label,
    /// The account.
    pub user: UserId,
}

impl UserKey {
    /// A key from its parts.
    pub fn new(realm: Label, user: UserId) -> Self {
        Self { realm, user }
    }

    fn with_user(&self, user: UserId) -> Self {
        Self {
            realm: self.realm.clone(),
            user,
        }
    }
}

impl std::fmt::Display for UserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.realm, self.user)
    }
}

/// What happens when a user signs in on a second device (per realm).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DevicePolicy {
    /// The new sign-in ends the old one (`kicked_duplicate_login`), like TRTC.
    #[default]
    Kick,
    /// All devices stay signed in and all ring; the others end with `answered_elsewhere` or
    /// `ended_elsewhere`, like RongCloud.
    Multi,
}

/// The core's settings (the shell fills them from the configuration file and flags).
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// Prefix of the ids this node issues (calls, messages), unique among nodes.
    pub node: String,
    /// How long an invite rings before `no_answer`.
    pub ring_timeout_ms: u64,
    /// How long a dropped session may be resumed before its calls end with `network_lost`.
    pub resume_window_ms: u64,
    /// The WebSocket ping interval the shell uses, announced in `hello`.
    pub heartbeat_secs: u32,
    /// How long a customer call rings at an agent before it goes back to the queue (RONA).
    pub rona_ms: u64,
    /// The longest a customer waits in a queue before `queue_timeout`.
    pub queue_max_wait_ms: u64,
    /// How long wrap-up lasts after a customer call (0: no wrap-up).
    pub wrap_up_ms: u64,
    /// After wrap-up, become ready by itself (otherwise not ready, reason `after_call_work`).
    pub auto_ready: bool,
    /// The least time between two CTI frames to an agent.
    pub cti_interval_ms: u64,
    /// Multi-device policy per realm; realms not listed use `default_device_policy`.
    pub device_policy: HashMap<String, DevicePolicy>,
    /// The policy of realms not listed.
    pub default_device_policy: DevicePolicy,
    /// Announced in `hello`, with credentials made per session where a server has a secret.
    pub ice_servers: Vec<RelayServer>,
    /// The longest a user's or agent's session may be kept alive by refreshing its token
    /// (also the lifetime of their relay credentials).
    pub max_session_ms: u64,
    /// The same for customers.
    pub customer_max_session_ms: u64,
    /// Realms that tell customers at once that nobody serves their queue
    /// (`no_agent_available`); realms not listed use `default_reveal_staffing`.
    pub reveal_staffing: HashMap<String, bool>,
    /// Realms whose peer connections go through a relay only.
    pub relay_only: std::collections::BTreeSet<String>,
    /// Realms with music on hold of their own (served at `/hold-music/REALM`).
    pub hold_music: std::collections::BTreeSet<String>,
    /// The nodes' WebSocket URLs, announced in `hello` (several nodes).
    pub nodes: Vec<String>,
    /// Whether realms not listed do.
    pub default_reveal_staffing: bool,
    /// Where staffing is not revealed: how long a customer waits in a queue that no agent
    /// serves before `queue_timeout` (as if every agent were busy).
    pub unstaffed_wait_ms: u64,
    /// The queues customers may enter, per realm; a realm not listed offers the businesses
    /// its agents' accounts have as skills.
    pub businesses: HashMap<String, BTreeSet<Business>>,
    /// Most customers waiting in one queue (realm and business) at once.
    pub max_waiting_per_business: usize,
    /// The least time between two calls of one customer into the queue.
    pub customer_enqueue_interval_ms: u64,
    /// Announced in `hello` (the shell enforces them).
    pub limits: Limits,
    /// Frames kept for a session in its resume window; older ones are dropped beyond this.
    pub max_pending_frames: usize,
    /// Direct messages kept for an offline user; older ones are dropped beyond this.
    pub max_offline_messages: usize,
    /// The window of the floor's figures (wallboard, agents' own figures).
    pub stats_window_ms: u64,
    /// Service level per realm: answered within this many seconds, and the goal in percent;
    /// realms not listed use 20 s and 80 %.
    pub service_level: HashMap<String, (u32, u8)>,
    /// Realms that tell an agent a supervisor monitors them (some laws require it).
    pub monitor_notice: BTreeSet<String>,
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            node: "n1".into(),
            ring_timeout_ms: 60_000,
            resume_window_ms: 20_000,
            heartbeat_secs: 10,
            rona_ms: 15_000,
            queue_max_wait_ms: 30 * 60_000,
            wrap_up_ms: 30_000,
            auto_ready: true,
            cti_interval_ms: 250,
            device_policy: HashMap::new(),
            default_device_policy: DevicePolicy::Kick,
            ice_servers: Vec::new(),
            max_session_ms: 24 * 3_600_000,
            customer_max_session_ms: 4 * 3_600_000,
            reveal_staffing: HashMap::new(),
            relay_only: Default::default(),
            hold_music: Default::default(),
            nodes: Vec::new(),
            default_reveal_staffing: false,
            unstaffed_wait_ms: 60_000,
            businesses: HashMap::new(),
            max_waiting_per_business: 10_000,
            customer_enqueue_interval_ms: 5_000,
            limits: Limits::default(),
            max_pending_frames: 1_000,
            max_offline_messages: 1_000,
            stats_window_ms: 3_600_000,
            service_level: HashMap::new(),
            monitor_notice: BTreeSet::new(),
        }
    }
}

/// An account the directory knows (users and agents; customers are not in it). What it may do
/// is decided here, by an administrator, never by what its client asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// What the account may do.
    pub role: Role,
    /// Shown to others.
    pub display_name: Option<Label>,
    /// For agents: the businesses they may serve, with their levels.
    pub skills: Vec<Skill>,
    /// The priority this account's own calls into a queue get (0 normal, up to 10).
    pub queue_priority: u8,
    /// Tokens of sign-ins before this (Unix seconds) are no longer honoured: the password or
    /// the role changed, or the account was disabled, since.
    pub tokens_after: u64,
    /// The team: a supervisor with one supervises its agents only.
    pub team: Option<Label>,
}

impl Account {
    /// An account with a role and nothing else assigned.
    pub fn new(role: Role) -> Self {
        Self {
            role,
            display_name: None,
            skills: Vec::new(),
            queue_priority: 0,
            tokens_after: 0,
            team: None,
        }
    }

    /// Whether a token of a sign-in at `auth` (Unix seconds; 0 in tokens of older builds,
    /// which are never honoured) still speaks for this account.
    pub fn honours(&self, auth: u64) -> bool {
        auth != 0 && auth >= self.tokens_after
    }
}

/// A verified sign-in, as the shell read it from the token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Login {
    /// Who.
    pub user: UserKey,
    /// As what.
    pub role: Role,
    /// Shown to others (a customer's name comes with `enqueue`).
    pub display_name: Option<Label>,
    /// When the token runs out.
    pub token_expires_at: Millis,
    /// For a customer token: the only queue it may enter.
    pub business: Option<Business>,
    /// The most this sign-in may live, refreshes included (relay credentials end then).
    pub session_ends_at: Millis,
}

/// What the core asks the shell to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send a frame on a session's connection.
    Send {
        /// To whom.
        session: SessionId,
        /// What.
        frame: ServerFrame,
    },
    /// Close a session's connection (after its `session_ended`).
    Close {
        /// Which.
        session: SessionId,
    },
    /// Write a record (call detail records, wrap-up).
    Record(Record),
}

/// Call detail records, written by the shell to SQLite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Record {
    /// A call leg (one member's part in a call) ended.
    Leg(calls::LegRecord),
    /// A call ended; its legs were recorded before.
    Call(CallSummary),
    /// An agent finished wrap-up with a disposition and notes.
    WrapUp {
        /// The call.
        call_id: CallId,
        /// The agent.
        agent: UserKey,
        /// The outcome the agent chose.
        disposition: Option<Label>,
        /// Notes.
        notes: Option<String>,
        /// When.
        at: Millis,
    },
    /// A stretch of supervision in one mode ended (the audit: who, whom, when, how long).
    Supervision(board::SupervisionRecord),
    /// A direct message was accepted (`delivered`: someone of the recipient's was online).
    Message {
        /// Sender.
        from: UserKey,
        /// Recipient.
        to: UserKey,
        /// The message.
        message: ReceivedMessage,
        /// Delivered now, or kept for the recipient's next sign-in.
        delivered: bool,
    },
    /// A call reached a user while no device of theirs was signed in.
    MissedCall {
        /// Whose.
        user: UserKey,
        /// The call.
        call: MissedCall,
    },
    /// What waited for a user (messages, missed calls) was delivered at sign-in.
    Delivered {
        /// Whose.
        user: UserKey,
    },
    /// A waiting message or missed call was dropped undelivered: more waited for the user than
    /// `max_offline_messages` (the oldest go first). Its row stays, marked as dropped.
    Dropped {
        /// Whose.
        user: UserKey,
        /// The message.
        message: Option<switchboard_protocol::MessageId>,
        /// Or the missed call.
        call: Option<CallId>,
    },
}

/// What waits for a user who is signed out, as kept in the records (restored at start).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Waiting {
    /// A direct message.
    Message(ReceivedMessage),
    /// A missed call.
    MissedCall(MissedCall),
}

impl Waiting {
    fn dropped(self, user: UserKey) -> Record {
        match self {
            Waiting::Message(m) => Record::Dropped {
                user,
                message: Some(m.msg_id),
                call: None,
            },
            Waiting::MissedCall(c) => Record::Dropped {
                user,
                message: None,
                call: Some(c.call_id),
            },
        }
    }
}

/// Why a request failed: the error frame's code and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

pub(crate) fn refuse(code: ErrorCode, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

type Handled = Result<(), Refusal>;

/// One signed-in device.
#[derive(Debug, Serialize, Deserialize)]
struct Session {
    user: UserKey,
    role: Role,
    display_name: Option<Label>,
    business: Option<Business>,
    /// False while the socket is gone and the session waits in its resume window.
    connected: bool,
    /// Frames that arrived while disconnected, sent on resume.
    pending: VecDeque<ServerFrame>,
    /// The `seq` of the last frame numbered for this session.
    sent: u64,
    /// The last frames sent while connected: a resume that names the last it read gets the
    /// ones after it again (they went into a socket that died before the client read them).
    recent: VecDeque<ServerFrame>,
    /// Calls this device is in (joined) or ringing for.
    calls: BTreeSet<CallId>,
    /// Users whose presence this session follows.
    watching: Vec<UserKey>,
    /// When its token runs out (moved on by each refresh); the session ends then.
    token_expires_at: Millis,
}

/// Things that happen by themselves at a time; checked for staleness when they fire.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
enum Timer {
    /// An invitee's ringing runs out (`no_answer`, or RONA for an agent).
    Ring { call: CallId, user: UserId },
    /// A dropped session's resume window closes.
    Resume { session: SessionId },
    /// A waiting customer's maximum wait.
    QueueWait { call: CallId },
    /// An agent's wrap-up ends.
    WrapUp { agent: UserKey, call: CallId },
    /// CTI figures may be published again.
    Cti,
    /// A session's token runs out (stale when the token was refreshed since).
    TokenExpiry { session: SessionId },
}

/// The switchboard. Serializable without its settings (the shell's) and its unread outputs:
/// the snapshot a cluster's nodes start from (`crate::cluster`).
#[derive(Serialize, Deserialize)]
pub struct Core {
    #[serde(skip)]
    config: CoreConfig,
    accounts: HashMap<UserKey, Account>,
    sessions: HashMap<SessionId, Session>,
    devices: HashMap<UserKey, Vec<SessionId>>,
    calls: HashMap<CallId, Call>,
    /// The one call each user is joined to.
    joined: HashMap<UserKey, CallId>,
    /// Calls ringing for each user.
    ringing: HashMap<UserKey, BTreeSet<CallId>>,
    queue: Queue,
    agents: HashMap<UserKey, Agent>,
    timers: BTreeSet<(Millis, Timer)>,
    watchers: HashMap<UserKey, BTreeSet<SessionId>>,
    published_presence: HashMap<UserKey, PresenceStatus>,
    presence_dirty: BTreeSet<UserKey>,
    message_seq: HashMap<(UserKey, UserKey), u64>,
    offline_messages: HashMap<UserKey, VecDeque<ReceivedMessage>>,
    missed_calls: HashMap<UserKey, VecDeque<MissedCall>>,
    /// When each customer last entered the queue (pruned as entries age out).
    customer_enqueues: HashMap<UserKey, Millis>,
    /// The supervisors' floor: rolling figures and the wallboard's watchers.
    #[serde(default)]
    floor: board::Floor,
    next_id: u64,
    #[serde(skip)]
    out: Vec<Output>,
}

impl Core {
    /// An empty switchboard.
    pub fn new(config: CoreConfig) -> Self {
        Self {
            config,
            accounts: HashMap::new(),
            sessions: HashMap::new(),
            devices: HashMap::new(),
            calls: HashMap::new(),
            joined: HashMap::new(),
            ringing: HashMap::new(),
            queue: Queue::default(),
            agents: HashMap::new(),
            timers: BTreeSet::new(),
            watchers: HashMap::new(),
            published_presence: HashMap::new(),
            presence_dirty: BTreeSet::new(),
            message_seq: HashMap::new(),
            offline_messages: HashMap::new(),
            missed_calls: HashMap::new(),
            customer_enqueues: HashMap::new(),
            floor: board::Floor::default(),
            next_id: 0,
            out: Vec::new(),
        }
    }

    // ---- inputs ---------------------------------------------------------------------------

    /// Adds, changes or (with `None`) removes an account. A removed or disabled account's
    /// sessions are signed out (`kicked_by_server`), and so are those of an account whose role
    /// changed: a session keeps the role it signed in with, so a demoted admin or agent must
    /// not keep it.
    pub fn set_account(&mut self, user: UserKey, account: Option<Account>, now: Millis) {
        let why = match account {
            Some(a) => {
                let (role, after) = (a.role, a.tokens_after);
                let skills = a.skills.clone();
                let before = self.accounts.insert(user.clone(), a);
                if before.as_ref().is_some_and(|b| b.skills != skills) {
                    self.limit_agent_skills(&user, &skills, now);
                }
                match before {
                    Some(b) if b.role != role => "an administrator changed this account's role",
                    Some(b) if b.tokens_after < after => {
                        "an administrator changed this account's password"
                    }
                    _ => "",
                }
            }
            None => {
                self.accounts.remove(&user);
                "an administrator disabled this account"
            }
        };
        if !why.is_empty() {
            for s in self.devices.get(&user).cloned().unwrap_or_default() {
                self.end_session(&s, SessionEndCode::KickedByServer, why, now);
            }
        }
        self.settle(now);
    }

    /// Puts back, at start, what waited for a signed-out user when the server stopped, oldest
    /// first, under the same limit as while running.
    pub fn restore_waiting(&mut self, user: UserKey, item: Waiting) {
        self.keep_waiting(user, item);
    }

    /// Keeps something for a signed-out user: at most `max_offline_messages` messages and as
    /// many missed calls, the newest; the oldest beyond that is dropped and recorded so.
    fn keep_waiting(&mut self, user: UserKey, item: Waiting) {
        let max = self.config.max_offline_messages;
        let dropped = match item {
            Waiting::Message(m) => {
                let inbox = self.offline_messages.entry(user.clone()).or_default();
                inbox.push_back(m);
                (inbox.len() > max)
                    .then(|| inbox.pop_front())
                    .flatten()
                    .map(Waiting::Message)
            }
            Waiting::MissedCall(c) => {
                let list = self.missed_calls.entry(user.clone()).or_default();
                list.push_back(c);
                (list.len() > max)
                    .then(|| list.pop_front())
                    .flatten()
                    .map(Waiting::MissedCall)
            }
        };
        if let Some(d) = dropped {
            self.record(d.dropped(user));
        }
    }

    /// Puts back, at start, the last sequence number of messages from one user to another, so
    /// that numbering goes on without a repeat.
    pub fn restore_message_seq(&mut self, from: UserKey, to: UserKey, seq: u64) {
        let n = self.message_seq.entry((from, to)).or_insert(0);
        *n = (*n).max(seq);
    }

    /// Whether the directory has this account.
    pub fn has_account(&self, user: &UserKey) -> bool {
        self.accounts.contains_key(user)
    }

    /// The directory's enabled account.
    pub fn account(&self, user: &UserKey) -> Option<&Account> {
        self.accounts.get(user)
    }

    /// Whether customers may enter this queue: one of the realm's configured businesses, or
    /// where the realm lists none, a skill of one of its agents' accounts. An anonymous caller
    /// can neither invent queues nor tell an unknown one from an unstaffed one.
    pub fn offers_business(&self, realm: &Label, business: &Business) -> bool {
        match self.config.businesses.get(realm.as_str()) {
            Some(listed) => listed.contains(business),
            None => self.accounts.iter().any(|(k, a)| {
                &k.realm == realm
                    && a.role.is_agent()
                    && a.skills.iter().any(|s| &s.business == business)
            }),
        }
    }

    /// A session's token was refreshed: it now runs out at `expires_at`. One timer per
    /// session: the old one goes, so refreshing in a loop grows nothing.
    pub fn token_refreshed(&mut self, session: &SessionId, expires_at: Millis) {
        if let Some(s) = self.sessions.get_mut(session) {
            let timer = Timer::TokenExpiry {
                session: session.clone(),
            };
            self.timers.remove(&(s.token_expires_at, timer.clone()));
            s.token_expires_at = expires_at;
            self.timers.insert((expires_at, timer));
        }
    }

    /// A new session for a verified token: replies `hello`, applies the realm's multi-device
    /// policy, and delivers what waited for the user (missed calls, messages).
    pub fn login(
        &mut self,
        session: SessionId,
        login: Login,
        request: Option<RequestId>,
        now: Millis,
    ) {
        let user = login.user.clone();
        if self.device_policy(&user.realm) == DevicePolicy::Kick {
            for old in self.devices.get(&user).cloned().unwrap_or_default() {
                self.kick_duplicate(&old, now);
            }
        }
        self.sessions.insert(
            session.clone(),
            Session {
                user: user.clone(),
                role: login.role,
                display_name: login.display_name.clone().or_else(|| {
                    self.accounts
                        .get(&user)
                        .and_then(|a| a.display_name.clone())
                }),
                business: login.business.clone(),
                connected: true,
                pending: VecDeque::new(),
                sent: 0,
                recent: VecDeque::new(),
                calls: BTreeSet::new(),
                watching: Vec::new(),
                token_expires_at: login.token_expires_at,
            },
        );
        self.timer(
            login.token_expires_at,
            Timer::TokenExpiry {
                session: session.clone(),
            },
        );
        self.devices
            .entry(user.clone())
            .or_default()
            .push(session.clone());
        self.welcome(&session, &login, false, request, now);
        let missed = self.missed_calls.remove(&user).map(Vec::from);
        let messages = self.offline_messages.remove(&user);
        if missed.is_some() || messages.is_some() {
            self.record(Record::Delivered { user: user.clone() });
        }
        if let Some(calls) = missed {
            self.send(&session, ServerMessage::MissedCalls(MissedCalls { calls }));
        }
        for m in messages.into_iter().flatten() {
            self.send(&session, ServerMessage::Message(m));
        }
        self.presence_dirty.insert(user);
        self.settle(now);
    }

    /// Puts settings back into a core read from a snapshot (they are the node's, not in it).
    pub fn configure(&mut self, config: CoreConfig) {
        self.config = config;
    }

    /// Whether `resume` would take this sign-in back into `session` (a cluster's node asks
    /// before it sends the resume on; the log decides).
    pub fn can_resume(&self, session: &SessionId, login: &Login) -> bool {
        self.sessions
            .get(session)
            .is_some_and(|s| s.user == login.user && s.role == login.role)
    }

    /// Resumes a session whose socket dropped, within its resume window: its calls go on and
    /// the frames that waited are sent after the `hello` reply.
    pub fn resume(
        &mut self,
        session: &SessionId,
        login: Login,
        request: Option<RequestId>,
        seen: Option<u64>,
        now: Millis,
    ) -> Result<(), ErrorCode> {
        if !self.can_resume(session, &login) {
            return Err(ErrorCode::ResumeFailed);
        }
        self.welcome(session, &login, true, request, now);
        self.token_refreshed(session, login.token_expires_at);
        let pending = match self.sessions.get_mut(session) {
            Some(s) => {
                s.connected = true;
                // What the client says it has not read of what went out, then what waited.
                let mut again: VecDeque<ServerFrame> = match seen {
                    Some(seen) => s
                        .recent
                        .iter()
                        .filter(|f| f.seq.is_some_and(|q| q > seen))
                        .cloned()
                        .collect(),
                    None => VecDeque::new(),
                };
                again.extend(std::mem::take(&mut s.pending));
                for f in &again {
                    remember(&mut s.recent, f);
                }
                again
            }
            None => VecDeque::new(),
        };
        for frame in pending {
            self.out.push(Output::Send {
                session: session.clone(),
                frame,
            });
        }
        self.settle(now);
        Ok(())
    }

    /// The socket of a session is gone (closed or silent for too long): its resume window
    /// starts.
    pub fn disconnected(&mut self, session: &SessionId, now: Millis) {
        if let Some(s) = self.sessions.get_mut(session)
            && s.connected
        {
            s.connected = false;
            let at = now + self.config.resume_window_ms;
            self.timers.insert((
                at,
                Timer::Resume {
                    session: session.clone(),
                },
            ));
        }
    }

    /// A frame from a signed-in session (the shell answers `hello`, `ping` and
    /// `refresh_token` itself).
    pub fn frame(&mut self, session: &SessionId, frame: ClientFrame, now: Millis) {
        let Some(role) = self.sessions.get(session).map(|s| s.role) else {
            return;
        };
        let id = frame.id;
        let call_id = call_of(&frame.message);
        let result = match allowed(role, &frame.message) {
            Err(r) => Err(r),
            Ok(()) => self.dispatch(session, id, frame.message, now),
        };
        if let Err(r) = result {
            self.reply(
                session,
                id,
                ServerMessage::Error(switchboard_protocol::ErrorMessage {
                    code: r.code,
                    message: r.message,
                    call_id,
                }),
            );
        }
        self.settle(now);
    }

    /// When `handle_timeout` next has something to do.
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.timers.first().map(|(at, _)| *at)
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Millis) {
        while let Some((at, _)) = self.timers.first() {
            if *at > now {
                break;
            }
            let Some((at, timer)) = self.timers.pop_first() else {
                break;
            };
            match timer {
                Timer::Ring { call, user } => self.ring_timeout(&call, &user, at, now),
                Timer::Resume { session } => self.resume_expired(&session, now),
                Timer::QueueWait { call } => self.queue_wait_expired(&call, now),
                Timer::WrapUp { agent, call } => self.wrap_up_expired(&agent, &call, now),
                Timer::Cti => self.queue.cti_timer = false,
                Timer::TokenExpiry { session } => self.token_expired(&session, at, now),
            }
        }
        self.settle(now);
    }

    /// Ends every call (`service_unavailable`, side server) and every session
    /// (`server_shutdown`), recording all of it: the graceful drain on SIGTERM.
    pub fn shutdown(&mut self, now: Millis) {
        let calls: Vec<CallId> = self.calls.keys().cloned().collect();
        for c in calls {
            self.finish_call(
                &c,
                switchboard_protocol::EndReason::new(
                    switchboard_protocol::EndCode::ServiceUnavailable,
                    switchboard_protocol::Side::Server,
                ),
                now,
            );
        }
        let sessions: Vec<SessionId> = self.sessions.keys().cloned().collect();
        for s in sessions {
            self.end_session(
                &s,
                SessionEndCode::ServerShutdown,
                "the server is shutting down; reconnect in a moment",
                now,
            );
        }
        self.settle(now);
    }

    /// Takes what the core wants done, in order.
    pub fn drain(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.out)
    }

    // ---- figures ----------------------------------------------------------------------------

    /// Counts for metrics.
    pub fn figures(&self) -> Figures {
        Figures {
            sessions: self.sessions.len(),
            connected: self.sessions.values().filter(|s| s.connected).count(),
            calls: self.calls.len(),
            queue: self.queue_figures(),
        }
    }

    // ---- plumbing shared by the call and queue code ---------------------------------------

    fn device_policy(&self, realm: &Label) -> DevicePolicy {
        self.config
            .device_policy
            .get(realm.as_str())
            .copied()
            .unwrap_or(self.config.default_device_policy)
    }

    fn fresh_id(&mut self, kind: &str) -> String {
        self.next_id += 1;
        format!("{}-{kind}{}", self.config.node, self.next_id)
    }

    fn welcome(
        &mut self,
        session: &SessionId,
        login: &Login,
        resumed: bool,
        request: Option<RequestId>,
        now: Millis,
    ) {
        let welcome = Welcome {
            v: PROTOCOL_VERSION,
            session_id: session.clone(),
            resumed,
            user: login.user.user.clone(),
            role: login.role,
            realm: login.user.realm.clone(),
            token_expires_at: login.token_expires_at,
            server_time: now,
            heartbeat_secs: self.config.heartbeat_secs,
            resume_window_secs: u32::try_from(self.config.resume_window_ms / 1000)
                .unwrap_or(u32::MAX),
            limits: self.config.limits,
            ice_servers: self.ice_servers_for(login, now),
            relay_only: self.config.relay_only.contains(login.user.realm.as_str()),
            nodes: self.config.nodes.clone(),
            hold_music: self
                .config
                .hold_music
                .contains(login.user.realm.as_str())
                .then(|| format!("/hold-music/{}", login.user.realm)),
        };
        // Straight to the connection, ahead of anything that waited while disconnected.
        self.out.push(Output::Send {
            session: session.clone(),
            frame: ServerFrame::reply(request, ServerMessage::Hello(welcome)),
        });
    }

    /// Sends a frame to one session (kept for it while it is in its resume window).
    fn send_frame(&mut self, session: &SessionId, mut frame: ServerFrame) {
        let Some(s) = self.sessions.get_mut(session) else {
            return;
        };
        // The `hello` reply opens a connection; the frames after it are numbered.
        if !matches!(frame.message, ServerMessage::Hello(_)) {
            s.sent += 1;
            frame.seq = Some(s.sent);
        }
        if s.connected {
            if frame.seq.is_some() {
                remember(&mut s.recent, &frame);
            }
            self.out.push(Output::Send {
                session: session.clone(),
                frame,
            });
        } else {
            if s.pending.len() >= self.config.max_pending_frames {
                s.pending.pop_front();
            }
            s.pending.push_back(frame);
        }
    }

    fn send(&mut self, session: &SessionId, message: ServerMessage) {
        self.send_frame(session, ServerFrame::new(message));
    }

    fn reply(&mut self, session: &SessionId, id: Option<RequestId>, message: ServerMessage) {
        self.send_frame(session, ServerFrame::reply(id, message));
    }

    fn ack(&mut self, session: &SessionId, id: Option<RequestId>) {
        if id.is_some() {
            self.reply(session, id, ServerMessage::Ack);
        }
    }

    /// Sends to every device of a user.
    fn send_user(&mut self, user: &UserKey, message: ServerMessage) {
        for s in self.devices.get(user).cloned().unwrap_or_default() {
            self.send(&s, message.clone());
        }
    }

    fn record(&mut self, record: Record) {
        self.out.push(Output::Record(record));
    }

    fn timer(&mut self, at: Millis, timer: Timer) {
        self.timers.insert((at, timer));
    }

    fn user_of(&self, session: &SessionId) -> Option<UserKey> {
        self.sessions.get(session).map(|s| s.user.clone())
    }

    fn display_name(&self, user: &UserKey) -> Option<Label> {
        self.accounts
            .get(user)
            .and_then(|a| a.display_name.clone())
            .or_else(|| {
                self.devices
                    .get(user)
                    .and_then(|d| d.first())
                    .and_then(|s| self.sessions.get(s))
                    .and_then(|s| s.display_name.clone())
            })
    }

    /// Whether the user has a device signed in (or in its resume window).
    fn is_online(&self, user: &UserKey) -> bool {
        self.devices.get(user).is_some_and(|d| !d.is_empty())
    }

    /// Work that follows any input: presence, queue positions, routing and CTI figures.
    fn settle(&mut self, now: Millis) {
        self.route(now);
        self.publish_queue(now);
        self.publish_presence();
    }
}

/// How many sent frames a session keeps for a resume that names the last it read: a socket
/// that dies takes at most a few seconds of frames with it.
const RECENT_FRAMES: usize = 64;

fn remember(recent: &mut VecDeque<ServerFrame>, frame: &ServerFrame) {
    if recent.len() >= RECENT_FRAMES {
        recent.pop_front();
    }
    recent.push_back(frame.clone());
}

/// Counts for metrics and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Figures {
    /// Sessions, including those in their resume window.
    pub sessions: usize,
    /// Sessions with a live socket.
    pub connected: usize,
    /// Calls that have not ended.
    pub calls: usize,
    /// The queue.
    pub queue: QueueFigures,
}

/// The call a message is about, for the error frame.
fn call_of(m: &ClientMessage) -> Option<CallId> {
    Some(
        match m {
            ClientMessage::InviteMembers(x) => &x.call_id,
            ClientMessage::Ringing(x) => &x.call_id,
            ClientMessage::Accept(x) => &x.call_id,
            ClientMessage::Reject(x) => &x.call_id,
            ClientMessage::Cancel(x) => &x.call_id,
            ClientMessage::Hangup(x) => &x.call_id,
            ClientMessage::Sdp(x) => &x.call_id,
            ClientMessage::IceCandidate(x) => &x.call_id,
            ClientMessage::MediaState(x) => &x.call_id,
            ClientMessage::SwitchMedia(x) => &x.call_id,
            ClientMessage::CallMessage(x) => &x.call_id,
            ClientMessage::FileOffer(x) => &x.call_id,
            ClientMessage::FileReply(x) => &x.call_id,
            ClientMessage::Transfer(x) => &x.call_id,
            ClientMessage::EndWrapUp(x) => &x.call_id,
            ClientMessage::Hold(x) => &x.call_id,
            ClientMessage::Monitor(x) => &x.call_id,
            ClientMessage::TakeOver(x) => &x.call_id,
            ClientMessage::Conference(x) => &x.call_id,
            _ => return None,
        }
        .clone(),
    )
}

/// What each role may send: only agents act as agents; customers only enqueue and talk
/// within their own call (membership is checked per call).
fn allowed(role: Role, m: &ClientMessage) -> Handled {
    let ok = match m {
        ClientMessage::AgentRegister(_)
        | ClientMessage::SetAgentState(_)
        | ClientMessage::Transfer(_)
        | ClientMessage::Conference(_)
        | ClientMessage::EndWrapUp(_) => role.is_agent(),
        ClientMessage::WatchFloor(_) | ClientMessage::Monitor(_) | ClientMessage::TakeOver(_) => {
            role.supervises()
        }
        ClientMessage::Enqueue(_) => matches!(role, Role::Customer | Role::User | Role::Admin),
        ClientMessage::Invite(_)
        | ClientMessage::InviteMembers(_)
        | ClientMessage::Message(_)
        | ClientMessage::SubscribePresence(_) => role != Role::Customer,
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(refuse(
            ErrorCode::Forbidden,
            format!("a {} may not send {}", role_name(role), m.type_name()),
        ))
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Agent => "agent",
        Role::Customer => "customer",
        Role::Admin => "admin",
        Role::Supervisor => "supervisor",
    }
}
