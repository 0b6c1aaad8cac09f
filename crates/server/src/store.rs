//! The durable part: accounts and call detail records, in SQLite in the data dir (the embedded
//! default) or in PostgreSQL (`[store] url`, what several nodes share), through sqlx's `Any`
//! driver: one set of queries in the SQL both speak (`$n` parameters, `ON CONFLICT`, no
//! dialect's own functions), and the same migrations written once per dialect
//! (`migrations/` and `migrations_postgres/`). Live state (sessions, calls in progress, the
//! queue) is not here; see `hub`. Password hashing (argon2, ~19 MiB and tens of milliseconds
//! each) runs on tokio's blocking threads, a few at a time, so that a flood of sign-ins never
//! stalls the sockets.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use switchboard_protocol::{Business, Label, Role, Skill};
use tokio::sync::Semaphore;

use crate::core::{Account, Record, UserKey, Waiting};
use switchboard_protocol::{EndReason, MissedCall, ReceivedMessage, from_wire_name, wire_name};

/// The database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// Hashes computed at once (each takes a core and ~19 MiB).
    hashing: Arc<Semaphore>,
}

/// An account row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// Who.
    pub user: UserKey,
    /// As what.
    pub role: Role,
    /// Shown to others.
    pub display_name: Option<Label>,
    /// Signed out and refused at sign-in.
    pub disabled: bool,
    /// For agents: the businesses they serve.
    pub skills: Vec<Skill>,
    /// The priority of the account's own calls into a queue.
    pub queue_priority: u8,
    /// Sign-ins before this (Unix seconds) are refused.
    pub tokens_after: u64,
    /// The team, for supervisors' scope.
    pub team: Option<Label>,
}

impl AccountRow {
    /// A new, enabled account with nothing assigned.
    pub fn new(user: UserKey, role: Role) -> Self {
        Self {
            user,
            role,
            display_name: None,
            disabled: false,
            skills: Vec::new(),
            queue_priority: 0,
            tokens_after: 0,
            team: None,
        }
    }

    /// What the live directory keeps of it.
    pub fn live(&self) -> Account {
        Account {
            role: self.role,
            display_name: self.display_name.clone(),
            skills: self.skills.clone(),
            queue_priority: self.queue_priority,
            tokens_after: self.tokens_after,
            team: self.team.clone(),
        }
    }
}

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database said no.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Hashing failed.
    #[error("password hashing: {0}")]
    Hash(String),
}

pub(crate) fn role_str(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Agent => "agent",
        Role::Customer => "customer",
        Role::Admin => "admin",
        Role::Supervisor => "supervisor",
    }
}

fn millis(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn unmillis(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A text column as one of the protocol's checked strings (ids, labels, text).
fn col<T: TryFrom<String>>(r: &AnyRow, name: &str) -> Option<T> {
    T::try_from(r.try_get::<String, _>(name).ok()?).ok()
}

impl Store {
    /// Opens (creating) `switchboard.db` in the data dir and runs the migrations. WAL, so
    /// readers never block the writer and a crash loses nothing committed.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
        let path = data_dir.join("switchboard.db");
        Self::connect(&format!("sqlite://{}?mode=rwc", path.display())).await
    }

    /// Opens the database at `url` (`sqlite://…` or `postgres://…`) and runs its dialect's
    /// migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        let pool = AnyPoolOptions::new()
            .max_connections(if sqlite { 4 } else { 8 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // Per connection: wait for the writer instead of failing at once, and
                        // sync at checkpoints only (WAL keeps what was committed).
                        conn.execute("PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        if sqlite {
            // Kept in the file: once is enough.
            pool.execute("PRAGMA journal_mode = WAL").await?;
            sqlx::migrate!("./migrations").run(&pool).await?;
        } else {
            sqlx::migrate!("./migrations_postgres").run(&pool).await?;
        }
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            pool,
            hashing: Arc::new(Semaphore::new(cores)),
        })
    }

    /// Creates an account, or changes one: role, name, skills and priority as in `row`, the
    /// password only when one is given. Whether it is disabled is kept: only
    /// [`Store::set_disabled`] changes that, so a change never re-enables a disabled account.
    pub async fn put_account(
        &self,
        row: &AccountRow,
        password: Option<&str>,
        now: u64,
    ) -> Result<(), StoreError> {
        let hash = match password {
            Some(p) => Some(self.hash(p).await?),
            None => None,
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO accounts (realm, user_id, role, password_hash, display_name, disabled, created_at, queue_priority, tokens_after, team)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (realm, user_id) DO UPDATE SET
               role = excluded.role,
               password_hash = COALESCE(excluded.password_hash, accounts.password_hash),
               display_name = excluded.display_name,
               queue_priority = excluded.queue_priority,
               team = excluded.team,
               tokens_after = CASE WHEN accounts.tokens_after > excluded.tokens_after
                 THEN accounts.tokens_after ELSE excluded.tokens_after END",
        )
        .bind(row.user.realm.as_str())
        .bind(row.user.user.as_str())
        .bind(role_str(row.role))
        .bind(hash)
        .bind(row.display_name.as_ref().map(|d| d.as_str()))
        .bind(i64::from(row.disabled))
        .bind(millis(now))
        .bind(i64::from(row.queue_priority))
        .bind(millis(row.tokens_after))
        .bind(row.team.as_ref().map(|t| t.as_str()))
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM account_skills WHERE realm = $1 AND user_id = $2")
            .bind(row.user.realm.as_str())
            .bind(row.user.user.as_str())
            .execute(&mut *tx)
            .await?;
        for s in &row.skills {
            sqlx::query(
                "INSERT INTO account_skills (realm, user_id, business, level) VALUES ($1, $2, $3, $4)",
            )
            .bind(row.user.realm.as_str())
            .bind(row.user.user.as_str())
            .bind(s.business.as_str())
            .bind(i64::from(s.level))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sets a password; tokens of sign-ins before `now` (Unix seconds) are refused from then.
    pub async fn set_password(
        &self,
        user: &UserKey,
        password: &str,
        now: u64,
    ) -> Result<bool, StoreError> {
        let hash = self.hash(password).await?;
        let r = sqlx::query(
            "UPDATE accounts SET password_hash = $1,
                 tokens_after = CASE WHEN tokens_after > $2 THEN tokens_after ELSE $2 END
                 WHERE realm = $3 AND user_id = $4",
        )
        .bind(hash)
        .bind(millis(now))
        .bind(user.realm.as_str())
        .bind(user.user.as_str())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Enables or disables an account. Disabling refuses every token of a sign-in before `now`
    /// (Unix seconds) for good: enabling it again does not bring them back.
    pub async fn set_disabled(
        &self,
        user: &UserKey,
        disabled: bool,
        now: u64,
    ) -> Result<bool, StoreError> {
        let after = if disabled { now } else { 0 };
        let r = sqlx::query(
            "UPDATE accounts SET disabled = $1,
                 tokens_after = CASE WHEN tokens_after > $2 THEN tokens_after ELSE $2 END
                 WHERE realm = $3 AND user_id = $4",
        )
        .bind(i64::from(disabled))
        .bind(millis(after))
        .bind(user.realm.as_str())
        .bind(user.user.as_str())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// One account.
    pub async fn account(&self, user: &UserKey) -> Result<Option<AccountRow>, StoreError> {
        let row = sqlx::query(
            "SELECT realm, user_id, role, display_name, disabled, queue_priority, tokens_after, team FROM accounts WHERE realm = $1 AND user_id = $2",
        )
        .bind(user.realm.as_str())
        .bind(user.user.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(mut account) = row.and_then(|r| account_row(&r)) else {
            return Ok(None);
        };
        account.skills = self
            .skills(Some(user))
            .await?
            .remove(user)
            .unwrap_or_default();
        Ok(Some(account))
    }

    /// Skills by account: one account's, or everyone's.
    async fn skills(
        &self,
        only: Option<&UserKey>,
    ) -> Result<HashMap<UserKey, Vec<Skill>>, StoreError> {
        let rows = match only {
            Some(u) => {
                sqlx::query("SELECT realm, user_id, business, level FROM account_skills WHERE realm = $1 AND user_id = $2 ORDER BY business")
                    .bind(u.realm.as_str())
                    .bind(u.user.as_str())
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query(
                    "SELECT realm, user_id, business, level FROM account_skills ORDER BY business",
                )
                .fetch_all(&self.pool)
                .await?
            }
        };
        let mut out: HashMap<UserKey, Vec<Skill>> = HashMap::new();
        for r in &rows {
            let parsed = (|| {
                let user = UserKey::new(col(r, "realm")?, col(r, "user_id")?);
                let business: Business = col(r, "business")?;
                let level = u8::try_from(r.try_get::<i64, _>("level").ok()?).ok()?;
                Some((user, Skill { business, level }))
            })();
            if let Some((user, skill)) = parsed {
                out.entry(user).or_default().push(skill);
            }
        }
        Ok(out)
    }

    /// Every enabled account, for the live directory at start.
    pub async fn accounts(&self) -> Result<Vec<(UserKey, Account)>, StoreError> {
        let rows = sqlx::query(
            "SELECT realm, user_id, role, display_name, disabled, queue_priority, tokens_after, team FROM accounts WHERE disabled = 0",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut skills = self.skills(None).await?;
        Ok(rows
            .iter()
            .filter_map(account_row)
            .map(|mut a| {
                a.skills = skills.remove(&a.user).unwrap_or_default();
                (a.user.clone(), a.live())
            })
            .collect())
    }

    /// Checks a password; the account when it matches and is enabled.
    pub async fn check_password(
        &self,
        user: &UserKey,
        password: &str,
    ) -> Result<Option<AccountRow>, StoreError> {
        let row = sqlx::query(
            "SELECT realm, user_id, role, display_name, disabled, queue_priority, tokens_after, team, password_hash FROM accounts WHERE realm = $1 AND user_id = $2",
        )
        .bind(user.realm.as_str())
        .bind(user.user.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            // Hash anyway so that unknown and known users take the same time.
            let _ = self.hash(password).await;
            return Ok(None);
        };
        let hash: Option<String> = row.try_get("password_hash")?;
        let Some(account) = account_row(&row) else {
            return Ok(None);
        };
        let ok = match hash {
            Some(h) => self.verify(password, h).await?,
            None => false,
        };
        Ok((ok && !account.disabled).then_some(account))
    }

    /// Runs a password computation on a blocking thread, a few at a time.
    async fn off_the_workers<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(|e| StoreError::Hash(e.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| StoreError::Hash(e.to_string()))
    }

    async fn hash(&self, password: &str) -> Result<String, StoreError> {
        let password = password.to_owned();
        self.off_the_workers(move || hash_password(&password))
            .await?
    }

    async fn verify(&self, password: &str, hash: String) -> Result<bool, StoreError> {
        let password = password.to_owned();
        self.off_the_workers(move || {
            PasswordHash::new(&hash)
                .map(|parsed| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
    }

    /// Writes call detail records in one transaction.
    pub async fn write(&self, records: &[Record]) -> Result<(), StoreError> {
        self.write_marked(records, None).await.map(|_| ())
    }

    /// The mark `name` last written with records (`write_marked`).
    pub async fn mark(&self, name: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT value FROM cluster_marks WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(v,)| v))
    }

    /// Writes records and, in the same transaction, moves a mark from the value it had when
    /// the writer read it (`None`: not set yet) to a new one: what a cluster's record writer
    /// has written. False (and nothing written) when the mark had moved meanwhile: another
    /// writer wrote those records (two lease holders overlapping for a moment write once).
    pub async fn write_marked(
        &self,
        records: &[Record],
        mark: Option<(&str, Option<&str>, &str)>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        if let Some((name, from, to)) = mark {
            let moved = match from {
                Some(from) => sqlx::query(
                    "UPDATE cluster_marks SET value = $1 WHERE name = $2 AND value = $3",
                )
                .bind(to)
                .bind(name)
                .bind(from)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
                None => sqlx::query(
                    "INSERT INTO cluster_marks (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(to)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
            };
            if moved != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        for r in records {
            match r {
                Record::Leg(l) => {
                    sqlx::query(
                        "INSERT INTO call_legs (call_id, realm, user_id, role, invited_at, joined_at, left_at, end_code, end_side)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(l.call_id.as_str())
                    .bind(l.user.realm.as_str())
                    .bind(l.user.user.as_str())
                    .bind(role_str(l.role))
                    .bind(millis(l.invited_at))
                    .bind(l.joined_at.map(millis))
                    .bind(millis(l.left_at))
                    .bind(wire_name(&l.reason.code))
                    .bind(wire_name(&l.reason.side))
                    .execute(&mut *tx)
                    .await?;
                }
                Record::Call(c) => {
                    sqlx::query(
                        "INSERT INTO calls (call_id, realm, kind, media, from_user, created_at, answered_at, ended_at, end_code, end_side, business, priority, wait_ms, agent, hold_count, hold_ms, transfer, consulted, conferenced)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
                         ON CONFLICT (call_id) DO UPDATE SET realm = excluded.realm, kind = excluded.kind,
                           media = excluded.media, from_user = excluded.from_user,
                           created_at = excluded.created_at, answered_at = excluded.answered_at,
                           ended_at = excluded.ended_at, end_code = excluded.end_code,
                           end_side = excluded.end_side, business = excluded.business,
                           priority = excluded.priority, wait_ms = excluded.wait_ms, agent = excluded.agent,
                           hold_count = excluded.hold_count, hold_ms = excluded.hold_ms,
                           transfer = excluded.transfer, consulted = excluded.consulted,
                           conferenced = excluded.conferenced",
                    )
                    .bind(c.call_id.as_str())
                    .bind(c.realm.as_str())
                    .bind(wire_name(&c.kind))
                    .bind(wire_name(&c.media))
                    .bind(c.from.as_str())
                    .bind(millis(c.created_at))
                    .bind(c.answered_at.map(millis))
                    .bind(millis(c.ended_at))
                    .bind(wire_name(&c.reason.code))
                    .bind(wire_name(&c.reason.side))
                    .bind(c.queue.as_ref().map(|q| q.business.as_str().to_owned()))
                    .bind(c.queue.as_ref().map(|q| i64::from(q.priority)))
                    .bind(c.queue.as_ref().map(|q| millis(q.wait_ms)))
                    .bind(c.queue.as_ref().and_then(|q| q.agent.as_ref().map(|a| a.as_str().to_owned())))
                    .bind(i64::from(c.hold_count))
                    .bind(millis(c.hold_ms))
                    .bind(c.queue.as_ref().and_then(|q| q.transfer).map(|t| match t {
                        crate::core::TransferKind::Warm => "warm",
                        crate::core::TransferKind::Cold => "cold",
                    }))
                    .bind(c.queue.as_ref().and_then(|q| users(&q.consulted)))
                    .bind(c.queue.as_ref().and_then(|q| users(&q.conferenced)))
                    .execute(&mut *tx)
                    .await?;
                }
                Record::Supervision(s) => {
                    sqlx::query(
                        "INSERT INTO supervision (monitor_call, customer_call, realm, supervisor, agent, mode, started_at, ended_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(s.monitor_call.as_str())
                    .bind(s.customer_call.as_str())
                    .bind(s.realm.as_str())
                    .bind(s.supervisor.as_str())
                    .bind(s.agent.as_str())
                    .bind(wire_name(&s.mode))
                    .bind(millis(s.started_at))
                    .bind(millis(s.ended_at))
                    .execute(&mut *tx)
                    .await?;
                }
                Record::WrapUp {
                    call_id,
                    agent,
                    disposition,
                    notes,
                    at,
                } => {
                    sqlx::query(
                        "INSERT INTO wrap_ups (call_id, realm, agent, disposition, notes, at) VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(call_id.as_str())
                    .bind(agent.realm.as_str())
                    .bind(agent.user.as_str())
                    .bind(disposition.as_ref().map(|d| d.as_str()))
                    .bind(notes.as_deref())
                    .bind(millis(*at))
                    .execute(&mut *tx)
                    .await?;
                }
                Record::Message {
                    from,
                    to,
                    message,
                    delivered,
                } => {
                    sqlx::query(
                        "INSERT INTO messages (msg_id, realm, from_user, to_user, seq, body, sent_at, delivered)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (msg_id) DO NOTHING",
                    )
                    .bind(message.msg_id.as_str())
                    .bind(to.realm.as_str())
                    .bind(from.user.as_str())
                    .bind(to.user.as_str())
                    .bind(i64::try_from(message.seq).unwrap_or(i64::MAX))
                    .bind(message.text.as_str())
                    .bind(millis(message.sent_at))
                    .bind(i64::from(*delivered))
                    .execute(&mut *tx)
                    .await?;
                }
                Record::MissedCall { user, call } => {
                    sqlx::query(
                        "INSERT INTO missed_calls (realm, user_id, call_id, from_user, media, at, end_code, end_side)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(user.realm.as_str())
                    .bind(user.user.as_str())
                    .bind(call.call_id.as_str())
                    .bind(call.from.as_str())
                    .bind(wire_name(&call.media))
                    .bind(millis(call.at))
                    .bind(wire_name(&call.reason.code))
                    .bind(wire_name(&call.reason.side))
                    .execute(&mut *tx)
                    .await?;
                }
                Record::Dropped {
                    user,
                    message,
                    call,
                } => {
                    if let Some(m) = message {
                        sqlx::query(
                            "UPDATE messages SET delivered = 2 WHERE msg_id = $1 AND delivered = 0",
                        )
                        .bind(m.as_str())
                        .execute(&mut *tx)
                        .await?;
                    }
                    if let Some(c) = call {
                        sqlx::query(
                            "UPDATE missed_calls SET delivered = 2 WHERE realm = $1 AND user_id = $2 AND call_id = $3 AND delivered = 0",
                        )
                        .bind(user.realm.as_str())
                        .bind(user.user.as_str())
                        .bind(c.as_str())
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                Record::Delivered { user } => {
                    for sql in [
                        "UPDATE messages SET delivered = 1 WHERE realm = $1 AND to_user = $2 AND delivered = 0",
                        "UPDATE missed_calls SET delivered = 1 WHERE realm = $1 AND user_id = $2 AND delivered = 0",
                    ] {
                        sqlx::query(sql)
                            .bind(user.realm.as_str())
                            .bind(user.user.as_str())
                            .execute(&mut *tx)
                            .await?;
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    /// What waits for signed-out users, oldest first (restored into the live state at start).
    pub async fn waiting(&self) -> Result<Vec<(UserKey, Waiting)>, StoreError> {
        let mut out = Vec::new();
        let rows = sqlx::query(
            "SELECT realm, to_user, msg_id, from_user, seq, body, sent_at FROM messages
             WHERE delivered = 0 ORDER BY sent_at, seq",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in &rows {
            let parsed = (|| {
                let user = UserKey::new(col(r, "realm")?, col(r, "to_user")?);
                let message = ReceivedMessage {
                    msg_id: col(r, "msg_id")?,
                    from: col(r, "from_user")?,
                    seq: u64::try_from(r.try_get::<i64, _>("seq").ok()?).ok()?,
                    text: col(r, "body")?,
                    sent_at: unmillis(r.try_get("sent_at").ok()?),
                };
                Some((user, Waiting::Message(message)))
            })();
            out.extend(parsed);
        }
        let rows = sqlx::query(
            "SELECT realm, user_id, call_id, from_user, media, at, end_code, end_side FROM missed_calls
             WHERE delivered = 0 ORDER BY at",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in &rows {
            let parsed = (|| {
                let user = UserKey::new(col(r, "realm")?, col(r, "user_id")?);
                let call = MissedCall {
                    call_id: col(r, "call_id")?,
                    from: col(r, "from_user")?,
                    media: from_wire_name(&col::<String>(r, "media")?)?,
                    at: unmillis(r.try_get("at").ok()?),
                    reason: EndReason::new(
                        from_wire_name(&col::<String>(r, "end_code")?)?,
                        from_wire_name(&col::<String>(r, "end_side")?)?,
                    ),
                };
                Some((user, Waiting::MissedCall(call)))
            })();
            out.extend(parsed);
        }
        Ok(out)
    }

    /// The last message number per sender and recipient.
    pub async fn message_seqs(&self) -> Result<Vec<(UserKey, UserKey, u64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT realm, from_user, to_user, MAX(seq) AS seq FROM messages GROUP BY realm, from_user, to_user",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let realm: Label = col(r, "realm")?;
                let from = col(r, "from_user")?;
                let to = col(r, "to_user")?;
                let seq = u64::try_from(r.try_get::<i64, _>("seq").ok()?).ok()?;
                Some((
                    UserKey::new(realm.clone(), from),
                    UserKey::new(realm, to),
                    seq,
                ))
            })
            .collect())
    }

    /// The pool, for queries in tests and tools.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Flushes and closes.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn account_row(r: &AnyRow) -> Option<AccountRow> {
    let display: Option<String> = r.try_get("display_name").ok()?;
    Some(AccountRow {
        user: UserKey::new(col(r, "realm")?, col(r, "user_id")?),
        role: from_wire_name(&col::<String>(r, "role")?)?,
        display_name: display.and_then(|d| Label::new(d).ok()),
        disabled: r.try_get::<i64, _>("disabled").ok()? != 0,
        skills: Vec::new(),
        queue_priority: u8::try_from(r.try_get::<i64, _>("queue_priority").ok()?).ok()?,
        tokens_after: unmillis(r.try_get("tokens_after").ok()?),
        team: r
            .try_get::<Option<String>, _>("team")
            .ok()
            .flatten()
            .and_then(|t| Label::new(t).ok()),
    })
}

fn hash_password(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| StoreError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Hash(e.to_string()))
}

#[cfg(test)]
mod tests;

/// Space-separated user ids, or nothing for none.
fn users(list: &[switchboard_protocol::UserId]) -> Option<String> {
    (!list.is_empty()).then(|| {
        list.iter()
            .map(|u| u.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    })
}
