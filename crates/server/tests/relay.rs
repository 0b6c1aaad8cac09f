//! The server's own TURN relay over loopback, driven by a TURN client of another code base
//! (turn-client-proto, sans-IO, under a small driver here): credentials from `hello` allocate
//! over UDP and TCP; expired and forged ones do not; a user's allocations are capped; peers on
//! loopback are never reached; garbage and a silent TCP connection harm nobody; a stale nonce
//! gets a fresh one; one user's allocation flood leaves the others theirs.
//!
//! Relaying to an allowed (public) peer cannot be shown on loopback — loopback is exactly what
//! the relay refuses — so calls through it are proven in network namespaces
//! (`tests/tests/netns.rs`).

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Client, Server, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use turn_client_proto::api::{TurnClientApi, TurnConfig, TurnEvent, TurnPollRet, TurnRecvRet};
use turn_client_proto::client::TurnClient;
use turn_client_proto::tcp::TurnClientTcp;
use turn_client_proto::types::{TransportType, TurnCredentials};
use turn_client_proto::udp::TurnClientUdp;

const CONFIG: &str = r#"
[relay]
listen = "127.0.0.1:0"
secret = "test-secret-test-secret-test-secret"
max_allocations_per_user = 2
"#;

/// What `hello` says of the relay: its address and our credentials.
struct Relay {
    addr: SocketAddr,
    username: String,
    password: String,
}

async fn relay_of(server: &Server, user: &str) -> Relay {
    let c = Client::user(server, user).await;
    let turn = c
        .welcome
        .ice_servers
        .iter()
        .find(|s| s.urls.iter().any(|u| u.starts_with("turn:")))
        .expect("hello names the relay")
        .clone();
    let url = turn.urls.iter().find(|u| u.starts_with("turn:")).unwrap();
    let addr = url
        .trim_start_matches("turn:")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    Relay {
        addr,
        username: turn.username.unwrap(),
        password: turn.credential.unwrap(),
    }
}

fn now(base: std::time::Instant) -> turn_client_proto::types::Instant {
    turn_client_proto::types::Instant::from_std(base)
}

/// One TURN client over UDP or TCP, driven until `until` says what it waits for.
struct Turn {
    client: TurnClient,
    udp: Option<UdpSocket>,
    tcp: Option<TcpStream>,
    base: std::time::Instant,
}

impl Turn {
    async fn allocate(relay: &Relay, username: &str, password: &str, tcp: bool) -> Turn {
        let mut config = TurnConfig::new(TurnCredentials::new(username, password));
        // A plain USERNAME, as browsers and webrtc-rs send it (not RFC 8489's USERHASH).
        config.set_anonymous_username(turn_client_proto::stun::auth::Feature::Disabled);
        if tcp {
            let stream = TcpStream::connect(relay.addr).await.unwrap();
            let local = stream.local_addr().unwrap();
            Turn {
                client: TurnClientTcp::allocate(local, relay.addr, config).into(),
                udp: None,
                tcp: Some(stream),
                base: std::time::Instant::now(),
            }
        } else {
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let local = socket.local_addr().unwrap();
            Turn {
                client: TurnClientUdp::allocate(local, relay.addr, config).into(),
                udp: Some(socket),
                tcp: None,
                base: std::time::Instant::now(),
            }
        }
    }

    /// Runs the client until an event matches `want` (returned) or `limit` passes (None).
    async fn until(
        &mut self,
        limit: Duration,
        want: impl Fn(&TurnEvent) -> bool,
    ) -> Option<TurnEvent> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut buf = vec![0u8; 4096];
        loop {
            let t = now(self.base);
            while let Some(tx) = self.client.poll_transmit(t) {
                let data = tx.data.as_ref().to_vec();
                if let Some(s) = &self.udp {
                    s.send_to(&data, tx.to).await.unwrap();
                } else if let Some(s) = &mut self.tcp {
                    let _ = s.write_all(&data).await;
                }
            }
            while let Some(e) = self.client.poll_event() {
                if want(&e) {
                    return Some(e);
                }
            }
            let wait = match self.client.poll(t) {
                TurnPollRet::WaitUntil(w) => w.to_std(self.base),
                TurnPollRet::Closed => return None,
                _ => std::time::Instant::now() + Duration::from_millis(50),
            };
            let wait = tokio::time::Instant::from_std(wait).min(deadline);
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            let got = if let Some(s) = &self.udp {
                tokio::select! {
                    r = s.recv_from(&mut buf) => r.ok().map(|(n, from)| (buf[..n].to_vec(), from)),
                    () = tokio::time::sleep_until(wait) => None,
                }
            } else if let Some(s) = &mut self.tcp {
                let from = s.peer_addr().unwrap();
                tokio::select! {
                    r = s.read(&mut buf) => match r {
                        Ok(0) | Err(_) => return None,
                        Ok(n) => Some((buf[..n].to_vec(), from)),
                    },
                    () = tokio::time::sleep_until(wait) => None,
                }
            } else {
                None
            };
            if let Some((data, from)) = got {
                let (transport, local) = if let Some(s) = &self.udp {
                    (TransportType::Udp, s.local_addr().unwrap())
                } else {
                    let s = self.tcp.as_ref().unwrap();
                    (TransportType::Tcp, s.local_addr().unwrap())
                };
                let t = now(self.base);
                let transmit = turn_client_proto::stun::agent::Transmit::new(
                    &data[..],
                    transport,
                    from,
                    local,
                );
                if let TurnRecvRet::PeerData(_) = self.client.recv(transmit, t) {}
            }
        }
    }

    async fn allocated(&mut self) -> Option<SocketAddr> {
        match self
            .until(WAIT, |e| {
                matches!(
                    e,
                    TurnEvent::AllocationCreated(..) | TurnEvent::AllocationCreateFailed(_)
                )
            })
            .await
        {
            Some(TurnEvent::AllocationCreated(_, addr)) => Some(addr),
            _ => None,
        }
    }
}

fn metric(server: &Server, name: &str) -> f64 {
    let text = ureq::get(format!("http://{}/metrics", server.addr))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credentials_from_hello_allocate_over_udp_and_tcp_and_nothing_else_does() {
    let server = Server::start(CONFIG);
    let relay = relay_of(&server, "alice").await;
    assert!(relay.username.contains(":alice/"), "{}", relay.username);

    let mut udp = Turn::allocate(&relay, &relay.username, &relay.password, false).await;
    let relayed = udp.allocated().await.expect("a UDP allocation");
    assert_eq!(relayed.ip(), relay.addr.ip());
    let mut tcp = Turn::allocate(&relay, &relay.username, &relay.password, true).await;
    tcp.allocated().await.expect("a TCP allocation");
    assert_eq!(metric(&server, "switchboard_relay_allocations"), 2.0);

    // A third for the same user: over the cap of 2.
    let mut third = Turn::allocate(&relay, &relay.username, &relay.password, false).await;
    assert_eq!(third.allocated().await, None, "the user's quota");
    // Someone else still gets theirs.
    let bob = relay_of(&server, "bob").await;
    let mut b = Turn::allocate(&relay, &bob.username, &bob.password, false).await;
    b.allocated().await.expect("bob's allocation");

    // Expired: a name whose time has passed, with its correct password.
    let expired = "1000000000:alice";
    let password = hmac_password("test-secret-test-secret-test-secret", expired);
    let mut old = Turn::allocate(&relay, expired, &password, false).await;
    assert_eq!(old.allocated().await, None, "expired credentials");
    // Forged: a fresh name with a password made from another secret.
    let forged = format!("{}:mallory", relay.username.split(':').next().unwrap());
    let password = hmac_password("not-the-secret", &forged);
    let mut bad = Turn::allocate(&relay, &forged, &password, false).await;
    assert_eq!(bad.allocated().await, None, "forged credentials");
    assert!(metric(&server, "switchboard_relay_refusals") >= 3.0);
}

fn hmac_password(secret: &str, username: &str) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// STUN Binding: the relay tells a client the address it sees (its server-reflexive
/// candidate), over UDP and over TCP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binding_request_learns_the_address_the_relay_sees() {
    let server = Server::start(CONFIG);
    let relay = relay_of(&server, "alice").await;
    let request = |tid: u8| {
        let mut m = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
        m.extend([tid; 12]);
        m
    };
    // XOR-MAPPED-ADDRESS (0x0020), IPv4: port and address xored with the magic cookie.
    let mapped = |reply: &[u8]| -> SocketAddr {
        assert_eq!(&reply[..2], &[0x01, 0x01], "a Binding success");
        let mut at = 20;
        while at + 4 <= reply.len() {
            let kind = u16::from_be_bytes([reply[at], reply[at + 1]]);
            let len = usize::from(u16::from_be_bytes([reply[at + 2], reply[at + 3]]));
            if kind == 0x0020 {
                let v = &reply[at + 4..at + 4 + len];
                let port = u16::from_be_bytes([v[2], v[3]]) ^ 0x2112;
                let ip =
                    std::net::Ipv4Addr::new(v[4] ^ 0x21, v[5] ^ 0x12, v[6] ^ 0xa4, v[7] ^ 0x42);
                return SocketAddr::from((ip, port));
            }
            at += 4 + len.next_multiple_of(4);
        }
        panic!("no XOR-MAPPED-ADDRESS in {reply:02x?}");
    };
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    udp.send_to(&request(1), relay.addr).await.unwrap();
    let mut buf = [0u8; 256];
    let (n, _) = tokio::time::timeout(WAIT, udp.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mapped(&buf[..n]), udp.local_addr().unwrap());
    let mut tcp = TcpStream::connect(relay.addr).await.unwrap();
    tcp.write_all(&request(2)).await.unwrap();
    let mut reply = [0u8; 20];
    tokio::time::timeout(WAIT, tcp.read_exact(&mut reply))
        .await
        .unwrap()
        .unwrap();
    let len = usize::from(u16::from_be_bytes([reply[2], reply[3]]));
    let mut body = vec![0u8; len];
    tcp.read_exact(&mut body).await.unwrap();
    let whole = [&reply[..], &body[..]].concat();
    assert_eq!(mapped(&whole), tcp.local_addr().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_on_loopback_are_never_reached_through_the_relay() {
    let server = Server::start(CONFIG);
    let relay = relay_of(&server, "alice").await;
    // A "service" on the server's own machine that an attacker would reach through the relay.
    let target = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let target_addr = target.local_addr().unwrap();
    let mut t = Turn::allocate(&relay, &relay.username, &relay.password, false).await;
    t.allocated().await.expect("an allocation");
    let at = now(t.base);
    let _ = t
        .client
        .create_permission(TransportType::Udp, target_addr.ip(), at);
    t.until(Duration::from_secs(2), |e| {
        matches!(
            e,
            TurnEvent::PermissionCreated(..) | TurnEvent::PermissionCreateFailed(..)
        )
    })
    .await;
    for _ in 0..5 {
        let at = now(t.base);
        if let Ok(Some(tx)) = t.client.send_to(
            TransportType::Udp,
            target_addr,
            b"GET /admin".as_slice(),
            at,
        ) {
            let tx = tx.build();
            t.udp
                .as_ref()
                .unwrap()
                .send_to(&tx.data, tx.to)
                .await
                .unwrap();
        }
    }
    let mut buf = [0u8; 64];
    let got = tokio::time::timeout(Duration::from_secs(2), target.recv_from(&mut buf)).await;
    assert!(got.is_err(), "a loopback peer got relayed data");
    assert!(metric(&server, "switchboard_relay_refusals") >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_silent_connections_harm_nobody() {
    let server = Server::start(CONFIG);
    let relay = relay_of(&server, "alice").await;
    // Garbage datagrams, STUN-looking headers with lies for lengths.
    let junk = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for i in 0..2_000u32 {
        let mut d = i.to_be_bytes().repeat(8);
        d[0] = (i % 4) as u8;
        junk.send_to(&d, relay.addr).await.unwrap();
    }
    // A TCP connection that never sends is let go; one that sends garbage at once.
    let mut silent = TcpStream::connect(relay.addr).await.unwrap();
    let mut rude = TcpStream::connect(relay.addr).await.unwrap();
    rude.write_all(&[0xff; 64]).await.unwrap();
    let mut buf = [0u8; 16];
    let closed = tokio::time::timeout(WAIT, rude.read(&mut buf)).await;
    assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "{closed:?}");
    let closed = tokio::time::timeout(Duration::from_secs(15), silent.read(&mut buf)).await;
    assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "{closed:?}");
    // Meanwhile a real client is served as usual.
    let mut t = Turn::allocate(&relay, &relay.username, &relay.password, false).await;
    t.allocated()
        .await
        .expect("an allocation after the garbage");
    let mut t = Turn::allocate(&relay, &relay.username, &relay.password, true).await;
    t.allocated()
        .await
        .expect("a TCP allocation after the garbage");
}

/// A Refresh signed with the right key but a nonce the relay never gave (or one gone stale)
/// gets 438 Stale Nonce with a fresh nonce; signed again with that one it succeeds, and the
/// allocation lives on. (Browsers and webrtc-rs retry a 438 with the new nonce.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_with_a_stale_nonce_gets_a_fresh_one_and_the_allocation_lives_on() {
    use turn_client_proto::stun::types::attribute::{ErrorCode, Nonce, Realm, Username};
    use turn_client_proto::stun::types::message::{
        IntegrityAlgorithm, Message, MessageClass, MessageWrite, MessageWriteExt, MessageWriteVec,
    };
    use turn_client_proto::types::TurnCredentials;
    use turn_client_proto::types::attribute::Lifetime;
    use turn_client_proto::types::message::REFRESH;

    let server = Server::start(CONFIG);
    let relay = relay_of(&server, "alice").await;
    let mut t = Turn::allocate(&relay, &relay.username, &relay.password, false).await;
    t.allocated().await.expect("an allocation");
    // The allocation's own 5-tuple: the client's socket.
    let socket = t.udp.take().unwrap();
    let key = TurnCredentials::new(&relay.username, &relay.password)
        .into_long_term_credentials("switchboard");
    let refresh = async |nonce: &str| -> Vec<u8> {
        let mut m = Message::builder_request(REFRESH, MessageWriteVec::new());
        m.add_attribute(&Lifetime::new(600)).unwrap();
        m.add_attribute(&Username::new(&relay.username).unwrap())
            .unwrap();
        m.add_attribute(&Realm::new("switchboard").unwrap())
            .unwrap();
        m.add_attribute(&Nonce::new(nonce).unwrap()).unwrap();
        m.add_message_integrity(&key.clone().into(), IntegrityAlgorithm::Sha1)
            .unwrap();
        socket.send_to(&m.finish(), relay.addr).await.unwrap();
        let mut buf = vec![0u8; 1500];
        let (n, _) = tokio::time::timeout(WAIT, socket.recv_from(&mut buf))
            .await
            .expect("an answer to the refresh")
            .unwrap();
        buf.truncate(n);
        buf
    };
    let reply = refresh("a-nonce-from-long-ago").await;
    let reply = Message::from_bytes(&reply).unwrap();
    assert_eq!(reply.class(), MessageClass::Error);
    assert_eq!(reply.attribute::<ErrorCode>().unwrap().code(), 438);
    let fresh = reply.attribute::<Nonce>().unwrap().nonce().to_owned();
    assert_ne!(fresh, "a-nonce-from-long-ago");

    let reply = refresh(&fresh).await;
    let reply = Message::from_bytes(&reply).unwrap();
    assert_eq!(reply.class(), MessageClass::Success, "{reply}");
    assert_eq!(reply.attribute::<Lifetime>().unwrap().seconds(), 600);
    assert_eq!(metric(&server, "switchboard_relay_allocations"), 1.0);
}

/// One user asks for a hundred allocations: two are granted (the cap), the rest refused and
/// counted, and another user's allocation made before the flood stays and a new one is granted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allocation_flood_from_one_user_leaves_the_others_alone() {
    let server = Server::start(CONFIG);
    let bob = relay_of(&server, "bob").await;
    let mut before = Turn::allocate(&bob, &bob.username, &bob.password, false).await;
    before.allocated().await.expect("bob's allocation");
    let alice = relay_of(&server, "alice").await;
    let mut granted = 0;
    let mut flood = Vec::new();
    for _ in 0..100 {
        let mut t = Turn::allocate(&alice, &alice.username, &alice.password, false).await;
        if t.allocated().await.is_some() {
            granted += 1;
        }
        flood.push(t); // held: each a 5-tuple of its own
    }
    assert_eq!(granted, 2, "the user's cap");
    assert_eq!(metric(&server, "switchboard_relay_allocations"), 3.0);
    assert!(metric(&server, "switchboard_relay_refusals") >= 98.0);
    let mut after = Turn::allocate(&bob, &bob.username, &bob.password, false).await;
    after.allocated().await.expect("bob's second allocation");
    assert_eq!(metric(&server, "switchboard_relay_allocations"), 4.0);
}
