//! The call history on this machine: SQLite through sqlx, in the profile's data directory.
//!
//! Crash-safe by construction: WAL with full sync; the row exists from the moment a call starts
//! and is completed when it ends, and a row that never ended (the app died during the call) is
//! marked `abnormal` at the next start, ending at its last sign of life. Full-text search is
//! FTS5 with trigrams (substrings, Chinese included); CSV export reports its progress.

use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};

/// What the UI is told when the history cannot do something.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("call history database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("call history migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("writing {path}: {reason}")]
    Export { path: String, reason: String },
}

/// A call as it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCall {
    pub call_id: String,
    pub account: String,
    pub direction: Direction,
    pub peers: Vec<String>,
    pub media: String,
    pub queue: bool,
    pub business: Option<String>,
    pub started_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Outgoing,
    Incoming,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Self::Outgoing => "outgoing",
            Self::Incoming => "incoming",
        }
    }
}

/// One row of the history, as the UI lists it.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct CallRow {
    pub call_id: String,
    pub direction: String,
    pub peers: Vec<String>,
    pub media: String,
    pub queue: bool,
    pub business: Option<String>,
    pub started_at: i64,
    pub answered_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub duration_ms: Option<i64>,
    /// `None` while the call goes on.
    pub end_code: Option<String>,
    pub end_side: Option<String>,
    pub recording_path: Option<String>,
    pub notes: String,
    pub disposition: Option<String>,
    #[ts(type = "{ quality: number } | null")]
    pub quality: Option<serde_json::Value>,
    /// Times on hold (by either side) and the time on hold in all.
    pub hold_count: i64,
    pub hold_ms: i64,
    /// A consult: the customer call it was about.
    pub consult_of: Option<String>,
}

/// An in-call text message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct MessageRow {
    pub at: i64,
    pub from_user: String,
    pub text: String,
}

/// Which calls to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct HistoryQuery {
    pub account: String,
    /// Words or a part of a word (peers, business, notes, disposition, messages).
    pub text: Option<String>,
    pub direction: Option<Direction>,
    pub media: Option<String>,
    /// Incoming calls that were never answered here.
    pub missed: bool,
    pub end_code: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// 0: a default page of 200.
    pub limit: u32,
    pub offset: u32,
}

/// The history database.
#[derive(Clone)]
pub struct History {
    pool: SqlitePool,
}

impl History {
    /// Opens (creating and migrating) the database, then marks calls that a crash left open as
    /// abnormal. Returns how many it marked.
    pub async fn open(path: &Path) -> Result<(Self, u64), HistoryError> {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // A call record is small and rare: pay the fsync so none is lost on power loss.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        let history = Self { pool };
        let marked = history.mark_abnormal().await?;
        Ok((history, marked))
    }

    async fn mark_abnormal(&self) -> Result<u64, HistoryError> {
        let mut tx = self.pool.begin().await?;
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM calls WHERE end_code IS NULL")
            .fetch_all(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE calls SET end_code = 'abnormal', end_side = 'local',
                 ended_at = COALESCE(alive_at, answered_at, started_at),
                 duration_ms = CASE WHEN answered_at IS NULL THEN 0
                     ELSE MAX(0, COALESCE(alive_at, answered_at) - answered_at) END
             WHERE end_code IS NULL",
        )
        .execute(&mut *tx)
        .await?;
        for id in &ids {
            reindex(&mut tx, *id).await?;
        }
        tx.commit().await?;
        Ok(ids.len() as u64)
    }

    /// A call began (placed, or ringing here).
    pub async fn started(&self, c: &NewCall) -> Result<(), HistoryError> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO calls (call_id, account, direction, peers, media, queue, business,
                                started_at, alive_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (call_id) DO UPDATE SET peers = excluded.peers
             RETURNING id",
        )
        .bind(&c.call_id)
        .bind(&c.account)
        .bind(c.direction.as_str())
        .bind(c.peers.join(" "))
        .bind(&c.media)
        .bind(c.queue)
        .bind(&c.business)
        .bind(c.started_at)
        .bind(c.started_at)
        .fetch_one(&mut *tx)
        .await?;
        reindex(&mut tx, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Someone answered.
    pub async fn answered(&self, call_id: &str, at: i64) -> Result<(), HistoryError> {
        sqlx::query(
            "UPDATE calls SET answered_at = COALESCE(answered_at, ?), alive_at = ?
             WHERE call_id = ?",
        )
        .bind(at)
        .bind(at)
        .bind(call_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A member joined later (an invite): the peers list grows.
    pub async fn add_peer(&self, call_id: &str, peer: &str) -> Result<(), HistoryError> {
        self.update_indexed(call_id, |q| {
            q.push("peers = CASE WHEN (' ' || peers || ' ') LIKE ")
                .push_bind(format!("% {peer} %"))
                .push(" THEN peers ELSE peers || ' ' || ")
                .push_bind(peer.to_owned())
                .push(" END");
        })
        .await
    }

    /// The call is still going on (a crash's end time is the last of these).
    pub async fn alive(&self, call_id: &str, at: i64) -> Result<(), HistoryError> {
        sqlx::query("UPDATE calls SET alive_at = ? WHERE call_id = ? AND end_code IS NULL")
            .bind(at)
            .bind(call_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// An in-call text message, sent or received.
    pub async fn message(
        &self,
        call_id: &str,
        at: i64,
        from_user: &str,
        text: &str,
    ) -> Result<(), HistoryError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO messages (call_id, at, from_user, text) VALUES (?, ?, ?, ?)")
            .bind(call_id)
            .bind(at)
            .bind(from_user)
            .bind(text)
            .execute(&mut *tx)
            .await?;
        if let Some(id) = row_id(&mut tx, call_id).await? {
            reindex(&mut tx, id).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The call ended: its reason, which side ended it, and the quality summary.
    pub async fn ended(
        &self,
        call_id: &str,
        at: i64,
        end_code: &str,
        end_side: &str,
        quality: Option<&serde_json::Value>,
    ) -> Result<(), HistoryError> {
        sqlx::query(
            "UPDATE calls SET ended_at = ?, alive_at = ?, end_code = ?, end_side = ?,
                 duration_ms = CASE WHEN answered_at IS NULL THEN 0
                     ELSE MAX(0, ? - answered_at) END,
                 quality = ?
             WHERE call_id = ?",
        )
        .bind(at)
        .bind(at)
        .bind(end_code)
        .bind(end_side)
        .bind(at)
        .bind(quality.map(|q| q.to_string()))
        .bind(call_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The call's holds (either side's: how many, how long in all) and, for a consult, the
    /// customer call it is about (kept when `None`).
    pub async fn set_floor(
        &self,
        call_id: &str,
        (count, ms): (u32, u64),
        consult_of: Option<&str>,
    ) -> Result<(), HistoryError> {
        sqlx::query(
            "UPDATE calls SET hold_count = ?, hold_ms = ?, consult_of = COALESCE(?, consult_of)
             WHERE call_id = ?",
        )
        .bind(i64::from(count))
        .bind(i64::try_from(ms).unwrap_or(i64::MAX))
        .bind(consult_of)
        .bind(call_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The agent's notes and disposition (wrap-up).
    pub async fn set_notes(
        &self,
        call_id: &str,
        notes: &str,
        disposition: Option<&str>,
    ) -> Result<(), HistoryError> {
        let (notes, disposition) = (notes.to_owned(), disposition.map(str::to_owned));
        self.update_indexed(call_id, |q| {
            q.push("notes = ")
                .push_bind(notes)
                .push(", disposition = ")
                .push_bind(disposition);
        })
        .await
    }

    /// Where the local recording of the call went.
    pub async fn set_recording(&self, call_id: &str, path: &str) -> Result<(), HistoryError> {
        sqlx::query("UPDATE calls SET recording_path = ? WHERE call_id = ?")
            .bind(path)
            .bind(call_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn update_indexed(
        &self,
        call_id: &str,
        set: impl FnOnce(&mut QueryBuilder<'_, Sqlite>),
    ) -> Result<(), HistoryError> {
        let mut tx = self.pool.begin().await?;
        let mut q = QueryBuilder::new("UPDATE calls SET ");
        set(&mut q);
        q.push(" WHERE call_id = ").push_bind(call_id.to_owned());
        q.build().execute(&mut *tx).await?;
        if let Some(id) = row_id(&mut tx, call_id).await? {
            reindex(&mut tx, id).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The calls that match, newest first.
    pub async fn query(&self, q: &HistoryQuery) -> Result<Vec<CallRow>, HistoryError> {
        let mut b = QueryBuilder::new(format!("SELECT {COLUMNS} FROM calls "));
        filter(&mut b, q);
        b.push(" ORDER BY started_at DESC, id DESC LIMIT ")
            .push_bind(if q.limit == 0 {
                200
            } else {
                i64::from(q.limit)
            })
            .push(" OFFSET ")
            .push_bind(i64::from(q.offset));
        let rows = b.build().fetch_all(&self.pool).await?;
        Ok(rows.iter().map(call_row).collect())
    }

    /// How many calls match (for the export's progress and the list's pages).
    pub async fn count(&self, q: &HistoryQuery) -> Result<u64, HistoryError> {
        let mut b = QueryBuilder::new("SELECT COUNT(*) FROM calls ");
        filter(&mut b, q);
        let n: i64 = b.build_query_scalar().fetch_one(&self.pool).await?;
        Ok(n.max(0) as u64)
    }

    /// One call by id.
    pub async fn get(&self, call_id: &str) -> Result<Option<CallRow>, HistoryError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM calls WHERE call_id = ?"))
            .bind(call_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(call_row))
    }

    /// A call's text messages, oldest first.
    pub async fn messages(&self, call_id: &str) -> Result<Vec<MessageRow>, HistoryError> {
        let rows = sqlx::query(
            "SELECT at, from_user, text FROM messages WHERE call_id = ? ORDER BY at, id",
        )
        .bind(call_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| MessageRow {
                at: r.get("at"),
                from_user: r.get("from_user"),
                text: r.get("text"),
            })
            .collect())
    }

    /// Writes the matching calls (all of them, not one page) to `out` as CSV, calling
    /// `progress(done, total)` every 100 rows and at the end. Returns the rows written.
    pub async fn export_csv(
        &self,
        q: &HistoryQuery,
        out: &Path,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<u64, HistoryError> {
        let failed = |e: &dyn std::fmt::Display| HistoryError::Export {
            path: out.display().to_string(),
            reason: e.to_string(),
        };
        let total = self.count(q).await?;
        // Written beside the target and renamed at the end: a failed export leaves no half file.
        let partial = out.with_extension("csv.partial");
        let mut w = csv::Writer::from_path(&partial).map_err(|e| failed(&e))?;
        w.write_record([
            "call_id",
            "direction",
            "peers",
            "media",
            "queue",
            "business",
            "started_at",
            "answered_at",
            "ended_at",
            "duration_s",
            "end_reason",
            "ended_by",
            "disposition",
            "notes",
            "recording",
        ])
        .map_err(|e| failed(&e))?;
        let page = 500u32;
        let mut done = 0u64;
        progress(0, total);
        loop {
            let rows = self
                .query(&HistoryQuery {
                    limit: page,
                    offset: done as u32,
                    ..q.clone()
                })
                .await?;
            for r in &rows {
                w.write_record([
                    r.call_id.as_str(),
                    &r.direction,
                    &r.peers.join(" "),
                    &r.media,
                    if r.queue { "yes" } else { "no" },
                    r.business.as_deref().unwrap_or(""),
                    &iso(Some(r.started_at)),
                    &iso(r.answered_at),
                    &iso(r.ended_at),
                    &r.duration_ms
                        .map(|d| format!("{:.1}", d as f64 / 1000.0))
                        .unwrap_or_default(),
                    r.end_code.as_deref().unwrap_or(""),
                    r.end_side.as_deref().unwrap_or(""),
                    r.disposition.as_deref().unwrap_or(""),
                    &r.notes,
                    r.recording_path.as_deref().unwrap_or(""),
                ])
                .map_err(|e| failed(&e))?;
                done += 1;
                if done.is_multiple_of(100) {
                    progress(done, total);
                }
            }
            if rows.len() < page as usize {
                break;
            }
        }
        w.flush().map_err(|e| failed(&e))?;
        drop(w);
        std::fs::rename(&partial, out).map_err(|e| failed(&e))?;
        progress(done, total.max(done));
        Ok(done)
    }
}

const COLUMNS: &str = "call_id, direction, peers, media, queue, business, started_at, \
    answered_at, ended_at, duration_ms, end_code, end_side, recording_path, notes, disposition, \
    quality, hold_count, hold_ms, consult_of";

fn call_row(r: &sqlx::sqlite::SqliteRow) -> CallRow {
    let peers: String = r.get("peers");
    let quality: Option<String> = r.get("quality");
    CallRow {
        call_id: r.get("call_id"),
        direction: r.get("direction"),
        peers: peers.split_whitespace().map(str::to_owned).collect(),
        media: r.get("media"),
        queue: r.get("queue"),
        business: r.get("business"),
        started_at: r.get("started_at"),
        answered_at: r.get("answered_at"),
        ended_at: r.get("ended_at"),
        duration_ms: r.get("duration_ms"),
        end_code: r.get("end_code"),
        end_side: r.get("end_side"),
        recording_path: r.get("recording_path"),
        notes: r.get("notes"),
        disposition: r.get("disposition"),
        quality: quality.and_then(|q| serde_json::from_str(&q).ok()),
        hold_count: r.get("hold_count"),
        hold_ms: r.get("hold_ms"),
        consult_of: r.get("consult_of"),
    }
}

fn filter<'a>(b: &mut QueryBuilder<'a, Sqlite>, q: &'a HistoryQuery) {
    b.push("WHERE account = ").push_bind(&q.account);
    if let Some(d) = q.direction {
        b.push(" AND direction = ").push_bind(d.as_str());
    }
    if let Some(m) = &q.media {
        b.push(" AND media = ").push_bind(m);
    }
    if q.missed {
        b.push(" AND direction = 'incoming' AND answered_at IS NULL AND end_code IS NOT NULL");
    }
    if let Some(c) = &q.end_code {
        b.push(" AND end_code = ").push_bind(c);
    }
    if let Some(t) = q.since {
        b.push(" AND started_at >= ").push_bind(t);
    }
    if let Some(t) = q.until {
        b.push(" AND started_at < ").push_bind(t);
    }
    let text = q.text.as_deref().map(str::trim).unwrap_or("");
    if text.chars().count() >= 3 {
        // One phrase, quotes doubled: user input is never FTS5 syntax.
        b.push(" AND id IN (SELECT rowid FROM calls_fts WHERE calls_fts MATCH ")
            .push_bind(format!("\"{}\"", text.replace('"', "\"\"")))
            .push(")");
    } else if !text.is_empty() {
        // Trigrams need three characters; shorter (a two-character Chinese name) is a scan.
        let like = format!(
            "%{}%",
            text.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        b.push(" AND id IN (SELECT rowid FROM calls_fts WHERE ");
        for (i, column) in ["peers", "business", "notes", "disposition", "messages"]
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                b.push(" OR ");
            }
            b.push(column)
                .push(" LIKE ")
                .push_bind(like.clone())
                .push(" ESCAPE '\\'");
        }
        b.push(")");
    }
}

async fn row_id(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    call_id: &str,
) -> Result<Option<i64>, HistoryError> {
    Ok(sqlx::query_scalar("SELECT id FROM calls WHERE call_id = ?")
        .bind(call_id)
        .fetch_optional(&mut **tx)
        .await?)
}

/// Rewrites a call's search entry from its row and messages.
async fn reindex(tx: &mut sqlx::Transaction<'_, Sqlite>, id: i64) -> Result<(), HistoryError> {
    sqlx::query("DELETE FROM calls_fts WHERE rowid = ?")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO calls_fts (rowid, peers, business, notes, disposition, messages)
         SELECT c.id, c.peers, COALESCE(c.business, ''), c.notes, COALESCE(c.disposition, ''),
                COALESCE((SELECT group_concat(m.text, ' ') FROM messages m
                          WHERE m.call_id = c.call_id), '')
         FROM calls c WHERE c.id = ?",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn iso(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return String::new();
    };
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
