//! The lease holder's duties: the heartbeat and the lease itself, timer ticks, the call
//! records (with their mark), dead nodes, snapshots and trimming the log.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use super::log::{Entry, EntryId};
use super::{BEAT, ClusterHub, LEASE_MS, SNAPSHOT_EVERY};
use crate::core::Record;
use crate::hub::now_ms;

impl ClusterHub {
    /// Heartbeat, lease, and the lease holder's duties.
    pub(super) async fn beat(self: Arc<Self>) {
        let mut c = self.commands.clone();
        let mut last_snapshot = tokio::time::Instant::now();
        let mut previous_snapshot: Option<EntryId> = None;
        let mut every = tokio::time::interval(BEAT);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if self.leaving.load(Ordering::Acquire) {
                // `leave` hands the lease on and removes the heartbeat.
                self.lose_lease();
                return;
            }
            let alive: redis::RedisResult<()> = c
                .set_options(
                    self.keys.node(&self.me),
                    now_ms(),
                    redis::SetOptions::default().with_expiration(redis::SetExpiry::PX(LEASE_MS)),
                )
                .await;
            if let Err(e) = alive {
                tracing::debug!("heartbeat: {e}");
                self.lose_lease();
                continue;
            }
            // A node that does not follow the log cannot do the holder's duties: it lets the
            // lease go to one that does.
            let held = if self.healthy.load(Ordering::Acquire) {
                let r: redis::RedisResult<i64> = redis::Script::new(TAKE)
                    .key(&self.keys.lease)
                    .arg(&self.me)
                    .arg(LEASE_MS)
                    .invoke_async(&mut c)
                    .await;
                matches!(r, Ok(1))
            } else {
                let _: redis::RedisResult<i64> = redis::Script::new(RELEASE)
                    .key(&self.keys.lease)
                    .arg(&self.me)
                    .invoke_async(&mut c)
                    .await;
                false
            };
            if !held {
                self.lose_lease();
                // Followers forget the records the holder has written.
                if let Ok(Some(mark)) = c.get::<_, Option<String>>(&self.keys.records).await
                    && let Some(mark) = EntryId::parse(&mark)
                {
                    self.lock().replica.records.retain(|(id, _)| *id > mark);
                }
                continue;
            }
            if !self.leader.swap(true, Ordering::AcqRel) {
                tracing::info!(node = %self.me, "holding the cluster's lease");
                self.wake.notify_one();
            }
            self.declare_gone(&mut c).await;
            self.write_records().await;
            if last_snapshot.elapsed() >= SNAPSHOT_EVERY {
                last_snapshot = tokio::time::Instant::now();
                match self.snapshot(&mut c, previous_snapshot).await {
                    Ok(at) => previous_snapshot = Some(at),
                    Err(e) => tracing::warn!("writing the cluster's snapshot failed: {e}"),
                }
            }
        }
    }

    fn lose_lease(&self) {
        if self.leader.swap(false, Ordering::AcqRel) {
            tracing::warn!(node = %self.me, "lost the cluster's lease");
        }
    }

    /// Nodes that hold sessions but whose heartbeat expired are declared gone.
    async fn declare_gone(&self, c: &mut ConnectionManager) {
        let nodes: BTreeSet<String> = {
            let s = self.lock();
            s.replica
                .routes
                .values()
                .map(|r| r.node.clone())
                .filter(|n| *n != self.me && !s.gone_sent.contains(n))
                .collect()
        };
        for node in nodes {
            let alive: redis::RedisResult<bool> = c.exists(self.keys.node(&node)).await;
            if let Ok(false) = alive {
                tracing::warn!(%node, "a node stopped beating; its sessions wait to resume elsewhere");
                self.lock().gone_sent.insert(node.clone());
                self.push(Entry::NodeGone { node });
            }
        }
    }

    /// Writes the records the log produced since the database's mark, with the mark.
    pub(super) async fn write_records(&self) {
        let read = match self.store.mark("records").await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("reading the records' mark failed: {e}");
                return;
            }
        };
        let mark = read.as_deref().and_then(EntryId::parse).unwrap_or_default();
        let (batch, through): (Vec<Record>, Option<EntryId>) = {
            let mut s = self.lock();
            s.replica.records.retain(|(id, _)| *id > mark);
            let through = s.replica.records.last().map(|(id, _)| *id);
            (
                s.replica.records.iter().map(|(_, r)| r.clone()).collect(),
                through,
            )
        };
        let Some(through) = through else { return };
        let at = through.to_string();
        match self
            .store
            .write_marked(&batch, Some(("records", read.as_deref(), &at)))
            .await
        {
            // Another writer moved the mark first (it wrote these): read it again next time.
            Ok(false) => {}
            Ok(true) => {
                self.lock().replica.records.retain(|(id, _)| *id > through);
                let mut c = self.commands.clone();
                let _: redis::RedisResult<()> = c.set(&self.keys.records, &at).await;
            }
            Err(e) => tracing::warn!("writing {} records failed ({e}); retrying", batch.len()),
        }
    }

    /// Writes the replica as the cluster's snapshot and trims the log before the previous
    /// one (a node that lags by more than a snapshot's period catches up from the snapshot).
    async fn snapshot(
        &self,
        c: &mut ConnectionManager,
        previous: Option<EntryId>,
    ) -> anyhow::Result<EntryId> {
        let (bytes, at) = {
            let s = self.lock();
            (s.replica.encode()?, s.replica.last)
        };
        let _: () = c.set(&self.keys.snapshot, bytes).await?;
        if let Some(before) = previous {
            // Said before it is done: a reader that sees entries after the gap has already
            // been told to catch up from the snapshot.
            let _: () = c.set(&self.keys.trimmed, before.to_string()).await?;
            let _: () = redis::cmd("XTRIM")
                .arg(&self.keys.log)
                .arg("MINID")
                .arg(before.to_string())
                .query_async(c)
                .await?;
        }
        Ok(at)
    }

    /// The lease holder appends a tick when the core's next timer is due.
    pub(super) async fn tick(self: Arc<Self>) {
        while !self.leaving.load(Ordering::Acquire) {
            let wait = {
                let s = self.lock();
                if !self.leader.load(Ordering::Acquire) {
                    None
                } else {
                    let redis_now = i64::try_from(now_ms()).unwrap_or(0) + s.offset;
                    match (s.replica.core.poll_timeout(), s.tick_sent) {
                        // One tick at a time; a lost one is sent again after a second.
                        (Some(_), Some(sent)) if now_ms() < sent + 1_000 => None,
                        (Some(at), _) => {
                            let at = i64::try_from(at).unwrap_or(i64::MAX);
                            Some(Duration::from_millis(
                                u64::try_from(at - redis_now).unwrap_or(0),
                            ))
                        }
                        (None, _) => None,
                    }
                }
            };
            let wait = wait.unwrap_or(Duration::from_secs(1));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => continue,
            }
            if !self.leader.load(Ordering::Acquire) {
                continue;
            }
            let due = {
                let mut s = self.lock();
                let redis_now = i64::try_from(now_ms()).unwrap_or(0) + s.offset;
                let due = s.tick_sent.is_none_or(|sent| now_ms() >= sent + 1_000)
                    && s.replica
                        .core
                        .poll_timeout()
                        .is_some_and(|at| i64::try_from(at).unwrap_or(i64::MAX) <= redis_now);
                if due {
                    s.tick_sent = Some(now_ms());
                }
                due
            };
            if due {
                self.push(Entry::Tick);
            }
        }
    }
}

/// Takes or renews the lease: KEYS[1] lease, ARGV[1] node, ARGV[2] ms.
pub(super) const TAKE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
";

/// Gives the lease up if held: KEYS[1] lease, ARGV[1] node.
pub(super) const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";
