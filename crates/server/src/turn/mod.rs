//! The TURN relay the server runs beside the signaling, so one binary does both (docs/server.md,
//! "The relay"): RFC 8656 over UDP, and over TCP for networks that pass nothing else (RFC 6062
//! framing), always relaying to peers over UDP. The protocol is turn-server-proto's sans-IO
//! server (one per listening transport); this module owns the sockets and the clock, and
//! `gate` decides what passes: time-limited credentials from the signaling's shared secret,
//! allocation quotas, which peers may be reached, bandwidth per allocation.
//!
//! One task owns all the state; sockets feed it through a bounded queue that drops rather than
//! grows when it falls behind (a flood costs packets, never memory).

pub mod gate;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ipnet::IpNet;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use turn_server_proto::api::{
    SocketAllocateError, TcpConnectError, TurnServerApi, TurnServerPollRet,
};
use turn_server_proto::server::TurnServer;
use turn_server_proto::stun::agent::Transmit;
use turn_server_proto::types::TransportType;
use turn_server_proto::types::stun::attribute::{Username, XorMappedAddress};
use turn_server_proto::types::stun::message::{
    BINDING, LongTermKeyCredentials, Message, MessageClass, MessageWrite, MessageWriteExt,
    MessageWriteVec,
};

use gate::{Bucket, Caps, Quotas, Refusal, peer_allowed, rest_password};

/// `[relay]` in the server's configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelayConfig {
    /// Where the relay listens, UDP and TCP on the same port (`0.0.0.0:3478`). Unset: no
    /// relay of our own (a deployment may name coturn in `ice_servers` instead).
    pub listen: Option<SocketAddr>,
    /// The address clients and peers reach the relay at, when it is not `listen`'s (a
    /// wildcard `listen`, or a machine behind a 1:1 NAT). Relayed sockets bind on `listen`'s
    /// address and are announced with this one.
    pub public_ip: Option<IpAddr>,
    /// The host name in the URLs clients are given; default `public_ip`, else `listen`'s.
    pub host: Option<String>,
    /// The TURN REST API's shared secret (coturn `static-auth-secret`). Unset: one is made on
    /// first start and kept in the data directory (`relay.secret`).
    pub secret: Option<String>,
    /// The realm in the TURN long-term credentials.
    pub realm: String,
    /// Allocations one user may hold at once, all their sign-ins together (each call leg of
    /// each device takes one or two).
    pub max_allocations_per_user: usize,
    /// Allocations the users of one realm (tenant) may hold together: one tenant cannot take
    /// the whole relay from the others.
    pub max_allocations_per_realm: usize,
    /// Allocations in all.
    pub max_allocations: usize,
    /// The most one allocation relays, each way, in kbit/s (720p video is about 2 500).
    pub max_kbps_per_allocation: u64,
    /// Private networks (`10.0.0.0/8`) the relay may reach although private; loopback,
    /// link-local and multicast never.
    pub allowed_peer_networks: Vec<String>,
    /// TCP connections from one client address.
    pub max_tcp_per_address: usize,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            listen: None,
            public_ip: None,
            host: None,
            secret: None,
            realm: "switchboard".into(),
            max_allocations_per_user: 16,
            max_allocations_per_realm: 2_000,
            max_allocations: 4_000,
            max_kbps_per_allocation: 8_000,
            allowed_peer_networks: Vec::new(),
            max_tcp_per_address: 64,
        }
    }
}

impl RelayConfig {
    /// The problem with these settings, if any.
    pub fn problem(&self) -> Option<String> {
        let listen = self.listen?;
        if listen.ip().is_unspecified() && self.public_ip.is_none() {
            return Some(format!(
                "relay: listen {listen} is a wildcard; say which address clients reach (public_ip)"
            ));
        }
        if let Some(bad) = self
            .allowed_peer_networks
            .iter()
            .find(|n| n.parse::<IpNet>().is_err())
        {
            return Some(format!(
                "relay: allowed_peer_networks: {bad:?} is not a network"
            ));
        }
        if self.max_allocations == 0
            || self.max_allocations_per_user == 0
            || self.max_allocations_per_realm == 0
        {
            return Some("relay: max_allocations, _per_user and _per_realm must be above 0".into());
        }
        None
    }

    /// The URLs clients are given for a relay listening at `at`.
    pub fn urls(&self, at: SocketAddr) -> Vec<String> {
        let host = self.host.clone().unwrap_or_else(|| {
            let ip = self.public_ip.unwrap_or(at.ip());
            match ip {
                IpAddr::V6(v6) => format!("[{v6}]"),
                v4 => v4.to_string(),
            }
        });
        let port = at.port();
        vec![
            format!("stun:{host}:{port}"),
            format!("turn:{host}:{port}?transport=udp"),
            format!("turn:{host}:{port}?transport=tcp"),
        ]
    }
}

/// What the relay counts (registered with the server's metrics).
#[derive(Debug, Default, Clone)]
pub struct RelayMetrics {
    pub allocations: prometheus_client::metrics::gauge::Gauge,
    pub relayed_bytes: prometheus_client::metrics::counter::Counter,
    pub refusals: prometheus_client::metrics::family::Family<
        Vec<(String, String)>,
        prometheus_client::metrics::counter::Counter,
    >,
}

impl RelayMetrics {
    fn refused(&self, why: Refusal) {
        self.refusals
            .get_or_create(&vec![("reason".into(), why.name().into())])
            .inc();
    }
}

/// The relay's shared secret kept in the data directory (`relay.secret`), made on first use:
/// 48 hexadecimal characters (a secret coturn's configuration can hold as it is).
pub fn secret_in(data_dir: &std::path::Path) -> std::io::Result<String> {
    let secret = crate::token::secret_file(&data_dir.join("relay.secret"), || {
        rand::random::<[u8; 24]>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into_bytes()
    })?;
    String::from_utf8(secret)
        .map(|s| s.trim().to_owned())
        .map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "relay.secret is not text")
        })
}

/// A running relay.
pub struct Relay {
    /// Where it listens (UDP and TCP).
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The most a TCP frame may be: a STUN message or ChannelData of at most 64 KiB.
const MAX_FRAME: usize = 4 + 65_535 + 3;
/// A TCP client must say something this soon after connecting.
const FIRST_FRAME_WITHIN: Duration = Duration::from_secs(10);
/// A TCP connection silent this long goes (a refreshed allocation speaks every few minutes).
const TCP_IDLE: Duration = Duration::from_secs(15 * 60);
/// How often names whose credentials expired are forgotten.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Datagrams waiting for the relay's task; beyond it they are dropped.
const QUEUE: usize = 8_192;

enum Ev {
    Udp {
        from: SocketAddr,
        data: Vec<u8>,
    },
    TcpOpen {
        from: SocketAddr,
        writer: mpsc::Sender<Vec<u8>>,
    },
    Tcp {
        from: SocketAddr,
        data: Vec<u8>,
    },
    TcpClosed {
        from: SocketAddr,
    },
    /// A datagram from a peer to a relayed address (as announced).
    Peer {
        relayed: SocketAddr,
        from: SocketAddr,
        data: Vec<u8>,
    },
}

/// One allocation: its socket, whose it is, its bandwidth.
struct Allocation {
    socket: Arc<UdpSocket>,
    reader: JoinHandle<()>,
    user: String,
    on_tcp: bool,
    to_peers: Bucket,
    to_client: Bucket,
}

impl Drop for Allocation {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Starts the relay with `secret`; it runs until the returned value is dropped.
pub async fn start(
    config: &RelayConfig,
    secret: String,
    metrics: RelayMetrics,
) -> std::io::Result<Relay> {
    let Some(listen) = config.listen else {
        return Err(std::io::Error::other("relay: no listen address"));
    };
    // TCP on the same port as UDP (what clients are told). With port 0 the kernel picks UDP's
    // port, which TCP may hold already (another connection's ephemeral port): pick again.
    let mut tries = if listen.port() == 0 { 20 } else { 1 };
    let (udp, tcp) = loop {
        let udp = UdpSocket::bind(listen).await?;
        match TcpListener::bind(udp.local_addr()?).await {
            Ok(tcp) => break (Arc::new(udp), tcp),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && tries > 1 => tries -= 1,
            Err(e) => return Err(e),
        }
    };
    let addr = udp.local_addr()?;
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(read_udp(udp.clone(), tx.clone()));
    tokio::spawn(accept_tcp(tcp, tx.clone(), config.max_tcp_per_address));
    let allowed = config
        .allowed_peer_networks
        .iter()
        .filter_map(|n| n.parse().ok())
        .collect();
    let state = State {
        udp_server: TurnServer::new(TransportType::Udp, addr, config.realm.clone()),
        tcp_server: TurnServer::new(TransportType::Tcp, addr, config.realm.clone()),
        base: Instant::now(),
        addr,
        udp,
        tx,
        config: config.clone(),
        secret,
        allowed,
        known: HashMap::new(),
        users: HashMap::new(),
        quotas: Quotas::default(),
        allocations: HashMap::new(),
        tcp_writers: HashMap::new(),
        metrics,
        next_prune: Instant::now() + PRUNE_EVERY,
    };
    let task = tokio::spawn(state.run(rx));
    tracing::info!(%addr, "TURN relay listening (UDP and TCP)");
    Ok(Relay { addr, task })
}

async fn read_udp(socket: Arc<UdpSocket>, tx: mpsc::Sender<Ev>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, from)) => {
                // Full: dropped, as a congested router would.
                let _ = tx.try_send(Ev::Udp {
                    from,
                    data: buf[..n].to_vec(),
                });
            }
            // An ICMP error for an earlier send surfaces here on some systems: go on.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => {
                tracing::warn!("relay: UDP socket failed: {e}");
                return;
            }
        }
    }
}

async fn accept_tcp(listener: TcpListener, tx: mpsc::Sender<Ev>, per_address: usize) {
    let open: Arc<std::sync::Mutex<HashMap<IpAddr, usize>>> = Arc::default();
    loop {
        let Ok((stream, from)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        {
            let mut open = open.lock().unwrap_or_else(|p| p.into_inner());
            let n = open.entry(from.ip()).or_default();
            if *n >= per_address {
                continue; // dropped: closes the stream
            }
            *n += 1;
        }
        let (tx, open) = (tx.clone(), open.clone());
        tokio::spawn(async move {
            serve_tcp(stream, from, &tx).await;
            let _ = tx.send(Ev::TcpClosed { from }).await;
            let mut open = open.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = open.get_mut(&from.ip()) {
                *n -= 1;
                if *n == 0 {
                    open.remove(&from.ip());
                }
            }
        });
    }
}

async fn serve_tcp(stream: tokio::net::TcpStream, from: SocketAddr, tx: &mpsc::Sender<Ev>) {
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let (out, mut outbox) = mpsc::channel::<Vec<u8>>(256);
    if tx.send(Ev::TcpOpen { from, writer: out }).await.is_err() {
        return;
    }
    let write = tokio::spawn(async move {
        while let Some(frame) = outbox.recv().await {
            if writer.write_all(&frame).await.is_err() {
                return;
            }
        }
    });
    let mut limit = FIRST_FRAME_WITHIN;
    // Closed, garbage, too large, or silent: the connection goes.
    while let Ok(Ok(data)) = tokio::time::timeout(limit, read_frame(&mut reader)).await {
        limit = TCP_IDLE;
        if tx.send(Ev::Tcp { from, data }).await.is_err() {
            break;
        }
    }
    write.abort();
}

/// One frame of TURN over TCP: a STUN message (20-byte header + length) or ChannelData (4 +
/// length, padded to 4 bytes, RFC 8656 §12.5). The padding is taken off here: the protocol
/// crate reads ChannelData by its length alone.
async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Vec<u8>> {
    let mut header = [0u8; 4];
    r.read_exact(&mut header).await?;
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let (body, pad) = match header[0] >> 6 {
        0 => (16 + len, 0),
        1 => (len, (4 - len % 4) % 4),
        _ => return Err(std::io::ErrorKind::InvalidData.into()),
    };
    if 4 + body + pad > MAX_FRAME {
        return Err(std::io::ErrorKind::InvalidData.into());
    }
    let mut frame = vec![0u8; 4 + body + pad];
    frame[..4].copy_from_slice(&header);
    r.read_exact(&mut frame[4..]).await?;
    frame.truncate(4 + body);
    Ok(frame)
}

/// What the gate does with a client's message.
enum Gate {
    Pass,
    Drop,
    Reply(Vec<u8>),
}

/// The answer to a STUN Binding request (the client's address as the relay sees it), made
/// here: turn-server-proto 0.7.3 addresses its own Binding response to the relay itself
/// (`handle_stun_binding` replies to `transmit.to`), which would leave clients without a
/// server-reflexive candidate. Anything else: `None`.
fn binding_response(msg: &Message<'_>, from: SocketAddr) -> Option<Vec<u8>> {
    if !msg.has_class(MessageClass::Request) || !msg.has_method(BINDING) {
        return None;
    }
    let mapped = XorMappedAddress::new(from, msg.transaction_id());
    let mut response = Message::builder_success(msg, MessageWriteVec::with_capacity(64));
    response.add_attribute(&mapped).ok()?;
    response.add_fingerprint().ok()?;
    Some(response.finish())
}

/// The relay's state, owned by its one task.
struct State {
    udp_server: TurnServer,
    tcp_server: TurnServer,
    /// The protocol's clock starts here.
    base: Instant,
    addr: SocketAddr,
    udp: Arc<UdpSocket>,
    tx: mpsc::Sender<Ev>,
    config: RelayConfig,
    secret: String,
    allowed: Vec<IpNet>,
    /// User names given to the protocol, with their expiry (Unix seconds); the protocol keeps
    /// them, we keep refusing them once they expire.
    known: HashMap<String, u64>,
    /// The user name each client (transport, address) last authenticated with.
    users: HashMap<(bool, SocketAddr), String>,
    quotas: Quotas,
    /// By relayed address as announced.
    allocations: HashMap<SocketAddr, Allocation>,
    tcp_writers: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
    metrics: RelayMetrics,
    /// When expired names are next forgotten.
    next_prune: Instant,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl State {
    fn now(&self) -> turn_server_proto::types::Instant {
        turn_server_proto::types::Instant::from_std(self.base)
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Ev>) {
        let mut wake = tokio::time::Instant::now();
        loop {
            let ev = tokio::select! {
                ev = rx.recv() => match ev {
                    Some(ev) => Some(ev),
                    None => return,
                },
                () = tokio::time::sleep_until(wake) => None,
            };
            let mut out = Vec::new();
            if let Some(ev) = ev {
                self.event(ev, &mut out);
            }
            let next = self.poll(&mut out);
            self.send(out);
            wake = tokio::time::Instant::from_std(next);
        }
    }

    /// Lets a client's message through the credentials gate: `Pass` hands it to the
    /// protocol, `Drop` does not, `Reply` answers it here.
    fn admit(&mut self, on_tcp: bool, from: SocketAddr, data: &[u8]) -> Gate {
        let Ok(msg) = Message::from_bytes(data) else {
            // ChannelData, or garbage the protocol will drop itself.
            return Gate::Pass;
        };
        if let Some(reply) = binding_response(&msg, from) {
            return Gate::Reply(reply);
        }
        let Ok(name) = msg.attribute::<Username>() else {
            // Unauthenticated (the first Allocate): the protocol answers 401 with a nonce.
            return Gate::Pass;
        };
        let name = name.username().to_owned();
        let now = unix_now();
        if let Some(expiry) = self.known.get(&name) {
            if *expiry <= now {
                self.metrics.refused(Refusal::Expired);
                return Gate::Drop;
            }
            self.users.insert((on_tcp, from), name);
            return Gate::Pass;
        }
        let password = match rest_password(&self.secret, &name, now) {
            Ok(p) => p,
            Err(why) => {
                self.metrics.refused(why);
                return Gate::Drop;
            }
        };
        let key =
            LongTermKeyCredentials::new(name.clone(), password.clone(), self.config.realm.clone());
        if msg.validate_integrity(&key.into()).is_err() {
            // Not told to the protocol, which answers 401 to a name it does not know.
            self.metrics.refused(Refusal::Forged);
            return Gate::Pass;
        }
        let expiry = name
            .split_once(':')
            .and_then(|(e, _)| e.parse().ok())
            .unwrap_or(0);
        self.udp_server.add_user(name.clone(), password.clone());
        self.tcp_server.add_user(name.clone(), password);
        self.known.insert(name.clone(), expiry);
        self.users.insert((on_tcp, from), name);
        Gate::Pass
    }

    fn event(&mut self, ev: Ev, out: &mut Vec<Transmit<Vec<u8>>>) {
        let now = self.now();
        match ev {
            Ev::Udp { from, data } => match self.admit(false, from, &data) {
                Gate::Pass => {
                    if let Some(t) = self.udp_server.recv(
                        Transmit::new(&data[..], TransportType::Udp, from, self.addr),
                        now,
                    ) {
                        out.push(t.build());
                    }
                }
                Gate::Reply(reply) => {
                    out.push(Transmit::new(reply, TransportType::Udp, self.addr, from));
                }
                Gate::Drop => {}
            },
            Ev::TcpOpen { from, writer } => {
                self.tcp_writers.insert(from, writer);
            }
            Ev::Tcp { from, data } => match self.admit(true, from, &data) {
                Gate::Pass => {
                    if let Some(t) = self.tcp_server.recv(
                        Transmit::new(&data[..], TransportType::Tcp, from, self.addr),
                        now,
                    ) {
                        out.push(t.build());
                    }
                }
                Gate::Reply(reply) => {
                    out.push(Transmit::new(reply, TransportType::Tcp, self.addr, from));
                }
                Gate::Drop => {}
            },
            Ev::TcpClosed { from } => {
                self.tcp_writers.remove(&from);
                self.users.remove(&(true, from));
                // No bytes: the protocol's sign that the connection closed.
                let _ = self.tcp_server.recv(
                    Transmit::new(&[][..], TransportType::Tcp, from, self.addr),
                    now,
                );
            }
            Ev::Peer {
                relayed,
                from,
                data,
            } => {
                if !peer_allowed(from.ip(), &self.allowed) {
                    self.metrics.refused(Refusal::DeniedPeer);
                    return;
                }
                let Some(a) = self.allocations.get_mut(&relayed) else {
                    return;
                };
                if !a.to_client.take(data.len(), Instant::now()) {
                    self.metrics.refused(Refusal::Bandwidth);
                    return;
                }
                self.metrics.relayed_bytes.inc_by(data.len() as u64);
                let server = if a.on_tcp {
                    &mut self.tcp_server
                } else {
                    &mut self.udp_server
                };
                if let Some(t) = server.recv(
                    Transmit::new(&data[..], TransportType::Udp, from, relayed),
                    now,
                ) {
                    out.push(t.build());
                }
            }
        }
    }

    /// Forgets names whose credentials expired, and the clients that used them (the
    /// protocol keeps its own copy of each name: a few dozen bytes per sign-in).
    fn prune(&mut self) {
        let now = unix_now();
        self.known.retain(|_, expiry| *expiry > now);
        let known = &self.known;
        self.users.retain(|_, name| known.contains_key(name));
    }

    /// Runs both protocol servers until they wait; returns when to wake them.
    fn poll(&mut self, out: &mut Vec<Transmit<Vec<u8>>>) -> Instant {
        if Instant::now() >= self.next_prune {
            self.prune();
            self.next_prune = Instant::now() + PRUNE_EVERY;
        }
        let now = self.now();
        let mut next = self.next_prune;
        for on_tcp in [false, true] {
            loop {
                let server = if on_tcp {
                    &mut self.tcp_server
                } else {
                    &mut self.udp_server
                };
                match server.poll(now) {
                    TurnServerPollRet::WaitUntil(t) => {
                        next = next.min(t.to_std(self.base));
                        break;
                    }
                    TurnServerPollRet::AllocateSocket {
                        transport,
                        listen_addr,
                        client_addr,
                        allocation_transport,
                        family,
                    } => {
                        let result = self.allocate(on_tcp, client_addr, allocation_transport);
                        let server = if on_tcp {
                            &mut self.tcp_server
                        } else {
                            &mut self.udp_server
                        };
                        server.allocated_socket(
                            transport,
                            listen_addr,
                            client_addr,
                            allocation_transport,
                            family,
                            result,
                            now,
                        );
                    }
                    TurnServerPollRet::SocketClose { listen_addr, .. } => {
                        if let Some(a) = self.allocations.remove(&listen_addr) {
                            self.quotas.give_back(&a.user);
                            self.metrics.allocations.set(self.quotas.total() as i64);
                        }
                    }
                    TurnServerPollRet::TcpConnect {
                        relayed_addr,
                        peer_addr,
                        listen_addr,
                        client_addr,
                    } => {
                        // TCP allocations are refused (only UDP relays are made), so this
                        // does not come; if it does, no.
                        server.tcp_connected(
                            relayed_addr,
                            peer_addr,
                            listen_addr,
                            client_addr,
                            Err(TcpConnectError::Forbidden),
                            now,
                        );
                    }
                    TurnServerPollRet::TcpClose { remote_addr, .. } => {
                        self.tcp_writers.remove(&remote_addr);
                    }
                }
            }
            let server = if on_tcp {
                &mut self.tcp_server
            } else {
                &mut self.udp_server
            };
            while let Some(t) = server.poll_transmit(now) {
                out.push(t);
            }
        }
        next
    }

    /// A relayed socket for a client's allocation, within the quotas.
    fn allocate(
        &mut self,
        on_tcp: bool,
        client: SocketAddr,
        transport: TransportType,
    ) -> Result<SocketAddr, SocketAllocateError> {
        if transport != TransportType::Udp {
            return Err(SocketAllocateError::InsufficientCapacity);
        }
        let user = self
            .users
            .get(&(on_tcp, client))
            .cloned()
            .unwrap_or_default();
        let caps = Caps {
            per_user: self.config.max_allocations_per_user,
            per_realm: self.config.max_allocations_per_realm,
            total: self.config.max_allocations,
        };
        if let Err(why) = self.quotas.take(&user, caps) {
            self.metrics.refused(why);
            return Err(SocketAllocateError::InsufficientCapacity);
        }
        let bound = std::net::UdpSocket::bind((self.addr.ip(), 0))
            .and_then(|s| {
                s.set_nonblocking(true)?;
                UdpSocket::from_std(s)
            })
            .and_then(|s| Ok((s.local_addr()?, s)));
        let (local, socket) = match bound {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!("relay: cannot open a relayed socket: {e}");
                self.quotas.give_back(&user);
                return Err(SocketAllocateError::InsufficientCapacity);
            }
        };
        let relayed = SocketAddr::new(self.config.public_ip.unwrap_or(local.ip()), local.port());
        let socket = Arc::new(socket);
        let reader = tokio::spawn(read_peers(socket.clone(), relayed, self.tx.clone()));
        let rate = self.config.max_kbps_per_allocation * 1000;
        let t = Instant::now();
        self.allocations.insert(
            relayed,
            Allocation {
                socket,
                reader,
                user,
                on_tcp,
                to_peers: Bucket::new(rate, t),
                to_client: Bucket::new(rate, t),
            },
        );
        self.metrics.allocations.set(self.quotas.total() as i64);
        Ok(relayed)
    }

    /// Sends what the protocol said: to clients on the listeners, to peers from the relayed
    /// sockets (after the peer check and the allocation's bandwidth).
    fn send(&mut self, out: Vec<Transmit<Vec<u8>>>) {
        for t in out {
            if t.from == self.addr {
                match t.transport {
                    TransportType::Udp => {
                        let _ = self.udp.try_send_to(&t.data, t.to);
                    }
                    TransportType::Tcp => {
                        let mut data = t.data;
                        // ChannelData over TCP is padded to 4 bytes (RFC 8656 §12.5).
                        if data.first().is_some_and(|b| b >> 6 == 1) {
                            data.resize(data.len().next_multiple_of(4), 0);
                        }
                        if let Some(w) = self.tcp_writers.get(&t.to) {
                            // A client that does not read loses frames, not our memory.
                            let _ = w.try_send(data);
                        }
                    }
                }
                continue;
            }
            let Some(a) = self.allocations.get_mut(&t.from) else {
                continue;
            };
            if !peer_allowed(t.to.ip(), &self.allowed) {
                self.metrics.refused(Refusal::DeniedPeer);
                continue;
            }
            if !a.to_peers.take(t.data.len(), Instant::now()) {
                self.metrics.refused(Refusal::Bandwidth);
                continue;
            }
            self.metrics.relayed_bytes.inc_by(t.data.len() as u64);
            let _ = a.socket.try_send_to(&t.data, t.to);
        }
    }
}

async fn read_peers(socket: Arc<UdpSocket>, relayed: SocketAddr, tx: mpsc::Sender<Ev>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, from)) => {
                let _ = tx.try_send(Ev::Peer {
                    relayed,
                    from,
                    data: buf[..n].to_vec(),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(_) => return,
        }
    }
}
