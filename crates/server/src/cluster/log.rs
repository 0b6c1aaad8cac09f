//! The cluster's log: its entries, their ids, and the replica they build.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use switchboard_protocol::{ClientFrame, RequestId, SessionId};

use crate::core::{Account, Core, CoreConfig, Login, Record, UserKey, Waiting};

/// A stream entry's id: Redis's clock in ms, and a sequence within that ms. The core's clock
/// is the `ms` of the entry it applies, so every node's copy sees the same time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(super) struct EntryId {
    pub ms: u64,
    pub seq: u64,
}

impl EntryId {
    pub fn parse(s: &str) -> Option<Self> {
        let (ms, seq) = s.split_once('-')?;
        Some(Self {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// One input to the switchboard, as every node applies it.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Entry {
    /// A verified sign-in on `node`'s connection `conn`.
    Login {
        session: SessionId,
        login: Login,
        node: String,
        conn: u64,
        request: Option<RequestId>,
    },
    /// A dropped session taken up again on `node`'s connection `conn`; its client read up to
    /// frame `seen`.
    Resume {
        session: SessionId,
        login: Login,
        node: String,
        conn: u64,
        request: Option<RequestId>,
        seen: Option<u64>,
    },
    /// A frame from a signed-in session.
    Frame {
        session: SessionId,
        frame: ClientFrame,
    },
    /// The socket `conn` on `node` is gone (stale when the session moved on since).
    Disconnected {
        session: SessionId,
        node: String,
        conn: u64,
    },
    /// The directory changed.
    Account {
        user: UserKey,
        account: Option<Account>,
    },
    /// A session's token was refreshed.
    Refreshed { session: SessionId, expires_at: u64 },
    /// Timers due by the entry's time fire.
    Tick,
    /// A node stopped (or was declared dead): its sessions wait to resume.
    NodeGone { node: String },
    /// What waited for signed-out users, and message numbering, from the database (once, by
    /// the cluster's first node).
    Restore {
        waiting: Vec<(UserKey, Waiting)>,
        seqs: Vec<(UserKey, UserKey, u64)>,
    },
    /// Changes nothing: a node waits for it to come back to know the log has caught up.
    Marker { token: SessionId },
}

/// An entry as it goes into the log: which node appended it, and its number among that node's
/// entries (a batch appended again after a lost reply is applied once).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Stamped {
    pub node: String,
    pub n: u64,
    pub entry: Entry,
}

pub(super) fn encode(stamped: &Stamped) -> Vec<u8> {
    // Serializing our own types into a Vec does not fail.
    rmp_serde::to_vec_named(stamped).unwrap_or_default()
}

pub(super) fn decode(bytes: &[u8]) -> Option<Stamped> {
    rmp_serde::from_slice(bytes).ok()
}

/// Where a session's socket is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Route {
    pub node: String,
    pub conn: u64,
}

/// The state the log builds: the core, where each session's socket is, and the records not
/// yet written to the database. A snapshot is this, encoded.
#[derive(Serialize, Deserialize)]
pub(super) struct Replica {
    pub core: Core,
    pub routes: HashMap<SessionId, Route>,
    /// The last entry applied.
    pub last: EntryId,
    /// Records with the entry that produced them, until the lease holder wrote them.
    pub records: Vec<(EntryId, Record)>,
    /// The last entry number applied of each node.
    pub applied: HashMap<String, u64>,
}

impl Replica {
    pub fn new(core: Core) -> Self {
        Self {
            core,
            routes: HashMap::new(),
            last: EntryId::default(),
            records: Vec::new(),
            applied: HashMap::new(),
        }
    }

    pub fn encode(&self) -> Result<Vec<u8>, rmp_serde::encode::Error> {
        rmp_serde::to_vec_named(self)
    }

    /// A snapshot, with this node's settings (they are not in it).
    pub fn decode(bytes: &[u8], config: CoreConfig) -> Result<Self, rmp_serde::decode::Error> {
        let mut r: Self = rmp_serde::from_slice(bytes)?;
        r.core.configure(config);
        Ok(r)
    }
}
