//! `switchboard-server`: the signaling and queue server. A sans-IO core (`core`: sessions,
//! presence, calls, group calls, messages, the ACD queue) under an async shell (axum WebSocket
//! and HTTP, timers, SQLite records). See `docs/architecture.md`.

pub mod cluster;
pub mod config;
pub mod core;
pub mod http;
pub mod hub;
pub mod metrics;
pub mod store;
pub mod throttle;
pub mod token;
pub mod turn;
mod ws;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use switchboard_protocol::{Business, Label, Role, Skill, UserId};
use tokio::sync::mpsc;

use crate::cluster::ClusterHub;
use crate::config::Config;
use crate::core::{Record, UserKey};
use crate::hub::{LiveState, LocalHub, now_ms};
use crate::metrics::Metrics;
use crate::store::{AccountRow, Store};
use crate::throttle::Throttle;
use crate::token::{Claims, TokenKey};

/// What the handlers share.
pub struct App {
    /// Settings.
    pub config: Config,
    /// Live state.
    pub hub: Arc<dyn LiveState>,
    /// Token signing.
    pub tokens: TokenKey,
    /// Accounts and records.
    pub store: Store,
    /// Metrics.
    pub metrics: Metrics,
    /// Limits per caller and in all.
    pub throttle: Throttle,
    /// Held by admin changes from the database write to the directory update.
    admin_writes: tokio::sync::Mutex<()>,
    next_conn: AtomicU64,
}

/// `serve`'s options.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Accounts, records and the token key.
    pub data_dir: PathBuf,
    /// Settings (defaults when absent).
    pub config: Config,
    /// Create the dev realm's demo accounts and print their tokens.
    pub dev: bool,
}

/// The skills of the dev realm's agents: the businesses the demos, the CLI's default and the
/// tests use.
pub const DEV_SKILLS: [&str; 4] = ["support", "billing", "sales", "tech"];

/// The dev realm's demo accounts: the password equals the user id.
pub const DEV_ACCOUNTS: [(&str, Role); 7] = [
    ("alice", Role::User),
    ("bob", Role::User),
    ("carol", Role::User),
    ("a1", Role::Agent),
    ("a2", Role::Agent),
    ("admin", Role::Admin),
    ("sup", Role::Supervisor),
];

/// The dev realm's team: its agents and its supervisor.
pub const DEV_TEAM: &str = "front";

fn label(s: &str) -> anyhow::Result<Label> {
    Ok(Label::new(s)?)
}

/// Runs the server until SIGTERM or Ctrl-C, then drains: every call ends with
/// `service_unavailable`, every client is told `server_shutdown`, and every record is written
/// before this returns.
pub async fn serve(opts: ServeOptions) -> anyhow::Result<()> {
    let config = opts.config;
    let store = match &config.store.url {
        Some(url) => Store::connect(url).await?,
        None => Store::open(&opts.data_dir).await?,
    };
    let tokens = TokenKey::load_or_create(&opts.data_dir)?;
    let now = now_ms();
    if opts.dev {
        for (user, role) in DEV_ACCOUNTS {
            let mut row = AccountRow::new(UserKey::new(label("dev")?, UserId::new(user)?), role);
            if role.is_agent() {
                row.team = Some(label(DEV_TEAM)?);
                for b in DEV_SKILLS {
                    row.skills.push(Skill {
                        business: Business::new(b)?,
                        level: 5,
                    });
                }
            }
            store.put_account(&row, Some(user), now).await?;
        }
    }

    let metrics = Metrics::default();
    let boot = format!("{:x}", now / 1000);
    let mut core_config = config.core(&boot);
    // Our own relay, announced first with credentials made from its secret.
    let relay = match config.relay.listen {
        Some(_) => {
            let secret = match &config.relay.secret {
                Some(s) => s.clone(),
                None => turn::secret_in(&opts.data_dir)?,
            };
            let relay = turn::start(&config.relay, secret.clone(), metrics.relay.clone()).await?;
            core_config.ice_servers.insert(
                0,
                crate::core::RelayServer {
                    urls: config.relay.urls(relay.addr),
                    auth: crate::core::RelayAuth::Secret(secret),
                },
            );
            Some(relay)
        }
        None => None,
    };

    let accounts = store.accounts().await?;
    let unskilled: Vec<String> = accounts
        .iter()
        .filter(|(_, a)| a.role == Role::Agent && a.skills.is_empty())
        .map(|(user, _)| user.to_string())
        .collect();
    if !unskilled.is_empty() {
        // Skills are assigned, not chosen (docs/security.md): an upgraded install's agents
        // have none until an administrator gives them theirs.
        tracing::warn!(
            "{} agent account(s) have no skills and cannot take customers until an administrator \
             assigns them (POST /admin/users with skills): {}",
            unskilled.len(),
            unskilled.join(", ")
        );
    }
    // Messages and missed calls that waited when the server last stopped wait on.
    let (waiting, seqs) = (store.waiting().await?, store.message_seqs().await?);
    let (records_tx, records_rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_records(store.clone(), records_rx));
    let (hub, cluster, timers): (Arc<dyn LiveState>, _, _) = match &config.cluster.redis {
        None => {
            let local = LocalHub::new(core_config, records_tx);
            for (user, account) in accounts {
                local.set_account(user, Some(account));
            }
            local.restore(waiting, seqs);
            let timers = tokio::spawn(local.clone().run_timers());
            (local, None, Some(timers))
        }
        Some(url) => {
            // The lease holder writes the cluster's records itself (with its mark).
            drop(records_tx);
            let node =
                ClusterHub::start(url, &config.cluster.name, core_config, store.clone()).await?;
            node.bootstrap(accounts, waiting, seqs).await?;
            (node.clone() as Arc<dyn LiveState>, Some(node), None)
        }
    };

    let app = Arc::new(App {
        hub: hub.clone(),
        tokens: tokens.clone(),
        store: store.clone(),
        metrics,
        throttle: Throttle::new(&config),
        admin_writes: tokio::sync::Mutex::new(()),
        next_conn: AtomicU64::new(1),
        config: config.clone(),
    });
    let pruner = tokio::spawn(prune_limiters(app.clone()));

    let listener = tokio::net::TcpListener::bind(opts.listen).await?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        // Said plainly: this server does not do TLS itself.
        tracing::warn!(
            %addr,
            "listening beyond this machine without TLS: passwords and tokens travel in the \
             clear; put a TLS-terminating proxy in front (docs/security.md)"
        );
    }
    {
        // CONTRACTS.md: the address first, then one line per demo account.
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "{}",
            serde_json::json!({ "listening": addr.to_string() })
        )?;
        if opts.dev {
            for (user, role) in DEV_ACCOUNTS {
                let claims = Claims {
                    sub: UserId::new(user)?,
                    realm: label("dev")?,
                    role,
                    exp: now / 1000 + config.token_ttl_secs,
                    auth: now / 1000,
                    biz: None,
                };
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({"user": user, "role": role, "token": tokens.sign(&claims)})
                )?;
            }
        }
        out.flush()?;
    }
    tracing::info!(%addr, "listening");

    let router = http::router(app.clone());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stop_rx.await;
        })
        .await
    });

    shutdown_signal().await;
    match &cluster {
        None => {
            tracing::info!("shutting down: ending calls and sessions");
            hub.shutdown();
        }
        Some(node) => {
            // The other nodes carry on: this node's clients resume there.
            tracing::info!("leaving the cluster: sessions move to the other nodes");
            node.leave().await;
        }
    }
    let _ = stop_tx.send(());
    // Clients get a moment to read their `session_ended`; stragglers are cut off.
    match tokio::time::timeout(Duration::from_secs(5), server).await {
        Ok(Ok(Err(e))) => tracing::warn!("server: {e}"),
        Ok(_) => {}
        Err(_) => tracing::warn!("connections still open after 5 s; closing them"),
    }
    if let Some(timers) = timers {
        timers.abort();
        let _ = timers.await;
    }
    pruner.abort();
    let _ = pruner.await;
    drop(app);
    drop(hub);
    drop(relay);
    // The last sender is gone once the hub is: the writer drains the channel and stops.
    let _ = writer.await;
    store.close().await;
    tracing::info!("stopped; all records written");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Forgets stale rate-limit entries once a minute.
async fn prune_limiters(app: Arc<App>) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        every.tick().await;
        app.throttle.prune();
    }
}

/// Writes records in batches (one transaction each) until the channel closes.
async fn write_records(store: Store, mut rx: mpsc::UnboundedReceiver<Record>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while let Ok(r) = rx.try_recv() {
            batch.push(r);
            if batch.len() >= 512 {
                break;
            }
        }
        // A failed write is retried once; records are never silently dropped.
        if let Err(e) = store.write(&batch).await {
            tracing::warn!("writing {} records failed ({e}); retrying", batch.len());
            tokio::time::sleep(Duration::from_millis(200)).await;
            if let Err(e) = store.write(&batch).await {
                tracing::error!("lost {} call records: {e}", batch.len());
            }
        }
    }
}

/// `token`: signs a token with the data dir's key.
pub fn mint_token(
    data_dir: &std::path::Path,
    realm: &str,
    user: &str,
    role: Role,
    ttl_secs: u64,
) -> anyhow::Result<String> {
    let tokens = TokenKey::load_or_create(data_dir)?;
    let now = now_ms() / 1000;
    let claims = Claims {
        sub: UserId::new(user)?,
        realm: Label::new(realm)?,
        role,
        exp: now + ttl_secs,
        auth: now,
        biz: None,
    };
    Ok(tokens.sign(&claims))
}
