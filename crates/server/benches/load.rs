//! Load figures of a real `switchboard-server` process (release build), driven from this
//! separate process over loopback WebSockets (each side has its own open-file limit):
//! - memory per idle authenticated connection at 10 000 connections;
//! - call set-ups per second (invite → accept → hang-up) with 1 000 users;
//! - ACD routing latency with 10 000 customers waiting (agent hangs up → next offer arrives).
//!
//! Both processes share this machine's cores: the figures are what one box does end to end.
//! Each figure is taken twice: one node (memory and SQLite, the embedded default) and three
//! nodes over a real redis-server and PostgreSQL, the clients spread over the nodes.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../tests/common/postgres.rs"]
mod postgres;
#[allow(dead_code)]
#[path = "../tests/common/redis.rs"]
mod redis;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use switchboard_protocol::*;
use switchboard_server::token::{Claims, TokenKey};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One node, or three sharing Redis and PostgreSQL.
struct Server {
    nodes: Vec<Node>,
    admin: String,
    agent: String,
    key: TokenKey,
    /// The first node's address (the admin API).
    addr: String,
    _cluster: Option<(redis::Redis, postgres::Postgres)>,
    _dir: tempfile::TempDir,
}

struct Node {
    child: Child,
    addr: String,
}

impl Server {
    /// `nodes` 1: the embedded default; more: a cluster.
    fn start(config: &str, nodes: usize) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let key = TokenKey::load_or_create(&data).unwrap();
        let (config, cluster) = if nodes > 1 {
            let (r, pg) = (redis::Redis::start(), postgres::Postgres::start());
            let c = format!(
                "{config}\n[store]\nurl = \"{}\"\n[cluster]\nredis = \"{}\"\n",
                pg.url,
                r.url()
            );
            (c, Some((r, pg)))
        } else {
            (config.to_owned(), None)
        };
        std::fs::write(dir.path().join("server.toml"), config).unwrap();
        let mut all = Vec::new();
        let (mut admin, mut agent) = (String::new(), String::new());
        for _ in 0..nodes {
            let (node, a, g) = Self::node(dir.path(), &data);
            all.push(node);
            (admin, agent) = (a, g);
        }
        Server {
            addr: all[0].addr.clone(),
            nodes: all,
            admin,
            agent,
            key,
            _cluster: cluster,
            _dir: dir,
        }
    }

    /// Where client `i` connects (spread over the nodes).
    fn addr_for(&self, i: usize) -> &str {
        &self.nodes[i % self.nodes.len()].addr
    }

    fn node(dir: &std::path::Path, data: &std::path::Path) -> (Node, String, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard-server"))
            .args(["serve", "--dev", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .arg("--config")
            .arg(dir.join("server.toml"))
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut next = || -> serde_json::Value {
            serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap()
        };
        let addr = next()["listening"].as_str().unwrap().to_owned();
        let (mut admin, mut agent) = (String::new(), String::new());
        for _ in 0..switchboard_server::DEV_ACCOUNTS.len() {
            let v = next();
            match v["user"].as_str().unwrap() {
                "admin" => admin = v["token"].as_str().unwrap().to_owned(),
                "a1" => agent = v["token"].as_str().unwrap().to_owned(),
                _ => {}
            }
        }
        (Node { child, addr }, admin, agent)
    }

    fn token(&self, user: &str, role: Role, biz: Option<&str>) -> String {
        self.key.sign(&Claims {
            sub: UserId::new(user).unwrap(),
            realm: Label::new("dev").unwrap(),
            role,
            exp: u64::MAX / 2000,
            auth: 1,
            biz: biz.map(|b| Business::new(b).unwrap()),
        })
    }

    /// Each node's resident memory.
    fn rss_kib(&self) -> Vec<u64> {
        self.nodes.iter().map(Node::rss_kib).collect()
    }
}

impl Node {
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn send<S>(ws: &mut S, m: ClientMessage)
where
    S: futures_util::Sink<Message> + Unpin,
    S::Error: std::fmt::Debug,
{
    ws.send(Message::Text(encode(&ClientFrame::new(m)).into()))
        .await
        .unwrap();
}

async fn until<T>(ws: &mut Ws, pick: impl Fn(&ServerMessage) -> Option<T>) -> T {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(60), ws.next())
            .await
            .expect("server silent for 60 s")
            .unwrap()
            .unwrap();
        if let Message::Text(t) = m
            && let Some(x) = pick(&decode_server(t.as_str()).unwrap().message)
        {
            return x;
        }
    }
}

async fn connect(addr: &str, token: String) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    send(
        &mut ws,
        ClientMessage::Hello(Hello {
            v: PROTOCOL_VERSION,
            token: Token::new(token).unwrap(),
            resume: None,
            seen: None,
            client: None,
        }),
    )
    .await;
    until(&mut ws, |m| {
        matches!(m, ServerMessage::Hello(_)).then_some(())
    })
    .await;
    ws
}

/// Keeps a connection alive (answers pings) and drops what it receives.
fn idle(mut ws: Ws) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Every connection of a benchmark comes from 127.0.0.1: the per-address limit must let them in.
const ONE_ADDRESS: &str = "max_connections_per_address = 100000\n";

async fn idle_connections(n: usize, nodes: usize) {
    let server = Server::start(ONE_ADDRESS, nodes);
    let warm: Vec<_> = futures_util::future::join_all((0..50).map(|i| {
        connect(
            server.addr_for(i),
            server.token(&format!("w{i}"), Role::Customer, None),
        )
    }))
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = server.rss_kib();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(250) {
        let conns = futures_util::future::join_all(chunk.iter().map(|i| {
            connect(
                server.addr_for(*i),
                server.token(&format!("c{i}"), Role::Customer, None),
            )
        }))
        .await;
        tasks.extend(conns.into_iter().map(idle));
    }
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = server.rss_kib();
    let grew: Vec<String> = before
        .iter()
        .zip(&after)
        .map(|(b, a)| {
            format!(
                "{:.1} → {:.1} MiB ({:.1} KiB per session of the switchboard)",
                *b as f64 / 1024.0,
                *a as f64 / 1024.0,
                a.saturating_sub(*b) as f64 / n as f64
            )
        })
        .collect();
    println!(
        "  [{nodes} node(s)] idle authenticated connections: {n} signed in in {:.1} s; RSS per node: {}",
        took.as_secs_f64(),
        grew.join("; ")
    );
    if let Some((r, _)) = &server._cluster {
        // The snapshot a joining node starts from, once it holds every session (every 5 s).
        tokio::time::sleep(Duration::from_secs(6)).await;
        let mut c = ::redis::Client::open(r.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let bytes: u64 = ::redis::cmd("STRLEN")
            .arg("switchboard:snapshot")
            .query_async(&mut c)
            .await
            .unwrap();
        println!(
            "  [{nodes} node(s)] the cluster's snapshot in Redis: {:.1} MiB, {:.2} KiB per session",
            bytes as f64 / 1_048_576.0,
            bytes as f64 / 1024.0 / (n + 50) as f64
        );
    }
    drop(warm);
    for t in tasks {
        t.abort();
    }
}

async fn call_setups(users: usize, run_for: Duration, nodes: usize) -> f64 {
    let server = Server::start(
        &format!("{ONE_ADDRESS}messages_per_second = 100000\nmessage_burst = 100000\n"),
        nodes,
    );
    // Accounts without passwords: the admin API, no hashing.
    let admin = server.admin.clone();
    let base = format!("http://{}/admin/users", server.addr);
    tokio::task::spawn_blocking(move || {
        for i in 0..users {
            let r = ureq::post(&base)
                .header("Authorization", &format!("Bearer {admin}"))
                .send_json(serde_json::json!({"user": format!("u{i}"), "role": "user"}))
                .unwrap();
            assert_eq!(r.status().as_u16(), 201);
        }
    })
    .await
    .unwrap();
    let pairs = users / 2;
    let mut handles = Vec::new();
    let deadline = Instant::now() + run_for;
    for p in 0..pairs {
        let caller_t = server.token(&format!("u{p}"), Role::User, None);
        let callee_t = server.token(&format!("u{}", p + pairs), Role::User, None);
        let callee_id = UserId::new(format!("u{}", p + pairs)).unwrap();
        // With several nodes, caller and callee are on different ones.
        let (addr_a, addr_b) = (
            server.addr_for(p).to_owned(),
            server.addr_for(p + 1).to_owned(),
        );
        handles.push(tokio::spawn(async move {
            let mut a = connect(&addr_a, caller_t.clone()).await;
            let mut b = connect(&addr_b, callee_t.clone()).await;
            let mut setups = Vec::new();
            while Instant::now() < deadline {
                let t0 = Instant::now();
                send(
                    &mut a,
                    ClientMessage::Invite(Invite {
                        to: vec![Invitee {
                            user: callee_id.clone(),
                            offer: None,
                        }],
                        media: CallMedia::Audio,
                        extra: None,
                        consult: None,
                        monitor: None,
                    }),
                )
                .await;
                let call = until(&mut b, |m| match m {
                    ServerMessage::IncomingCall(c) => Some(c.call_id.clone()),
                    _ => None,
                })
                .await;
                send(
                    &mut b,
                    ClientMessage::Accept(Accept {
                        call_id: call.clone(),
                        media: None,
                        answer: None,
                    }),
                )
                .await;
                until(&mut a, |m| {
                    matches!(m, ServerMessage::MemberUpdate(u) if u.state == MemberState::Joined)
                        .then_some(())
                })
                .await;
                setups.push(t0.elapsed());
                send(
                    &mut a,
                    ClientMessage::Hangup(CallRef {
                        call_id: call.clone(),
                    }),
                )
                .await;
                until(&mut a, |m| {
                    matches!(m, ServerMessage::CallEnded(_)).then_some(())
                })
                .await;
                until(&mut b, |m| {
                    matches!(m, ServerMessage::CallEnded(_)).then_some(())
                })
                .await;
            }
            setups
        }));
    }
    let started = Instant::now();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort();
    let rate = all.len() as f64 / elapsed.as_secs_f64();
    println!(
        "  [{nodes} node(s)] call set-ups (invite → accept → hang-up), {users} users in {pairs} pairs for {:.0} s: {rate:.0} per second; invite → joined p50 {}, p99 {}",
        elapsed.as_secs_f64(),
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99)),
    );
    rate
}

async fn acd_routing(waiting: usize, offers: usize, nodes: usize) -> Duration {
    let server = Server::start(
        &format!(
            "{ONE_ADDRESS}wrap_up_secs = 0\nrona_secs = 600\nqueue_max_wait_secs = 86400\nmessages_per_second = 100000\nmessage_burst = 100000\nmax_waiting_per_business = {waiting}\n",
        ),
        nodes,
    );
    // The agent's account serves the bench's queue (skills are assigned, not chosen).
    let (admin, base) = (
        server.admin.clone(),
        format!("http://{}/admin/users", server.addr),
    );
    tokio::task::spawn_blocking(move || {
        let r = ureq::post(&base)
            .header("Authorization", &format!("Bearer {admin}"))
            .send_json(serde_json::json!({
                "user": "a1", "role": "agent", "skills": [{"business": "bench", "level": 1}]
            }))
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
    })
    .await
    .unwrap();
    let (mut agent, mut agent_in) = connect(&server.addr, server.agent.clone()).await.split();
    // The agent reads all the time (CTI frames arrive while customers queue up).
    let (offers_tx, mut offers_rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(m)) = agent_in.next().await {
            if let Message::Text(t) = m
                && let Ok(ServerFrame {
                    message: ServerMessage::IncomingCall(c),
                    ..
                }) = decode_server(t.as_str())
            {
                let _ = offers_tx.send(c.call_id);
            }
        }
    });
    send(
        &mut agent,
        ClientMessage::AgentRegister(AgentRegister {
            profile: AgentProfile {
                area: Label::new("bench").unwrap(),
                skills: vec![Skill {
                    business: Business::new("bench").unwrap(),
                    level: 1,
                }],
                display_name: None,
            },
        }),
    )
    .await;
    let mut tasks = Vec::with_capacity(waiting);
    for chunk in (0..waiting).collect::<Vec<_>>().chunks(250) {
        let conns = futures_util::future::join_all(chunk.iter().map(|i| {
            let token = server.token(&format!("q{i}"), Role::Customer, Some("bench"));
            // With several nodes, the customers are spread over them, the agent on the first.
            let addr = server.addr_for(*i + 1).to_owned();
            async move {
                let mut ws = connect(&addr, token.clone()).await;
                send(
                    &mut ws,
                    ClientMessage::Enqueue(Enqueue {
                        business: Business::new("bench").unwrap(),
                        media: CallMedia::Audio,
                        priority: 0,
                        name: None,
                        offer: None,
                        extra: None,
                    }),
                )
                .await;
                until(&mut ws, |m| {
                    matches!(m, ServerMessage::Queued(_)).then_some(())
                })
                .await;
                ws
            }
        }))
        .await;
        tasks.extend(conns.into_iter().map(idle));
    }
    // Go ready: the first offer comes; then each hang-up (no wrap-up, auto-ready) routes the next.
    send(
        &mut agent,
        ClientMessage::SetAgentState(SetAgentState {
            state: AgentAvailability::Ready,
            after_call: false,
        }),
    )
    .await;
    let mut call = offers_rx.recv().await.unwrap();
    let mut latencies = Vec::with_capacity(offers);
    for _ in 0..offers {
        send(
            &mut agent,
            ClientMessage::Accept(Accept {
                call_id: call.clone(),
                media: None,
                answer: None,
            }),
        )
        .await;
        let t0 = Instant::now();
        send(
            &mut agent,
            ClientMessage::Hangup(CallRef {
                call_id: call.clone(),
            }),
        )
        .await;
        call = offers_rx.recv().await.unwrap();
        latencies.push(t0.elapsed());
    }
    latencies.sort();
    let p99 = percentile(&latencies, 0.99);
    println!(
        "  [{nodes} node(s)] ACD routing with {waiting} customers waiting: hang-up → next offer p50 {}, p99 {} ({offers} offers; each moves every waiting customer's position)",
        ms(percentile(&latencies, 0.5)),
        ms(p99),
    );
    for t in tasks {
        t.abort();
    }
    p99
}

fn main() {
    // `cargo bench` passes `--bench`; a name filter that matches nothing here skips the run.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if !filter.is_empty() && !filter.iter().any(|f| "load".contains(f.as_str())) {
        return;
    }
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("server load (switchboard-server in its own process, clients here, loopback):");
    rt.block_on(async {
        idle_connections(10_000, 1).await;
        idle_connections(10_000, 3).await;
        let one = call_setups(1_000, Duration::from_secs(10), 1).await;
        let three = call_setups(1_000, Duration::from_secs(10), 3).await;
        println!(
            "  call set-ups, 3 nodes over Redis / 1 node: {:.2}×",
            three / one
        );
        acd_routing(10_000, 200, 1).await;
        // Every node applies every position update of every waiting customer: 10 000 waiting
        // on three nodes of this 2-core machine overflow the customers' outbound queues; the
        // comparison is made at 2 000.
        let one = acd_routing(2_000, 200, 1).await;
        let three = acd_routing(2_000, 200, 3).await;
        println!(
            "  ACD routing p99 with 2 000 waiting, 3 nodes over Redis / 1 node: {:.2}×",
            three.as_secs_f64() / one.as_secs_f64()
        );
    });
}
