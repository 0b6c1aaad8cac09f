//! Several nodes of one switchboard on a real redis-server and PostgreSQL, sharing a data
//! directory (the token key).

use std::time::Duration;

use super::postgres::Postgres;
use super::redis::Redis;
use super::{Server, WAIT};

pub struct Cluster {
    pub nodes: Vec<Server>,
    pub redis: Redis,
    pub pg: Postgres,
    _data: tempfile::TempDir,
}

impl Cluster {
    pub fn start(n: usize, settings: &str) -> Cluster {
        let redis = Redis::start();
        let pg = Postgres::start();
        let data = tempfile::tempdir().unwrap();
        let config = format!(
            "{settings}\n[store]\nurl = \"{}\"\n[cluster]\nredis = \"{}\"\n",
            pg.url,
            redis.url()
        );
        let nodes = (0..n)
            .map(|_| Server::start_node(&config, data.path()))
            .collect();
        Cluster {
            nodes,
            redis,
            pg,
            _data: data,
        }
    }

    pub async fn count(&self, sql: &str) -> i64 {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&self.pg.url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    }

    /// Every row of `sql`, each column as text (NULL as "").
    pub async fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        use sqlx::{Connection, Row};
        let mut c = sqlx::PgConnection::connect(&self.pg.url).await.unwrap();
        sqlx::query(sql)
            .fetch_all(&mut c)
            .await
            .unwrap()
            .iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| {
                        r.try_get::<Option<String>, _>(i)
                            .unwrap()
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .collect()
    }

    /// Waits until `sql` counts `n` (records are written by the lease holder, in batches).
    pub async fn counts(&self, sql: &str, n: i64) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let got = self.count(sql).await;
            if got == n {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{sql}: {got}, not {n}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
