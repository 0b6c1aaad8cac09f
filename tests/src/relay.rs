//! A network emulator on loopback: a UDP relay placed in front of each engine's media socket
//! (its candidates are rewritten to point here), which caps the rate and drops packets at
//! random, independently in each direction.
//!
//! For each advertised address `P` the relay listens on `L`; a datagram from `X` to `L` leaves
//! towards `P` from a socket `U(X)` of its own, so `P` sees a stable (peer-reflexive) source and
//! its replies to `U(X)` go back to `X` through `L`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchboard_engine::Advertise;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// How the path behaves, each direction on its own.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Bits per second; `None` for no cap.
    pub rate_bps: Option<u64>,
    /// Fraction of datagrams dropped at random (0.05 = 5 %).
    pub loss: f64,
    /// The most a datagram may wait in the rate limiter's queue before it is dropped.
    pub max_queue: Duration,
}

impl Shape {
    pub fn capped(rate_bps: u64) -> Self {
        Self {
            rate_bps: Some(rate_bps),
            loss: 0.0,
            max_queue: Duration::from_millis(200),
        }
    }

    pub fn lossy(loss: f64) -> Self {
        Self {
            rate_bps: None,
            loss,
            max_queue: Duration::from_millis(200),
        }
    }
}

/// What crossed the relay.
#[derive(Debug, Default, Clone, Copy)]
pub struct RelayCounts {
    pub forwarded: u64,
    pub dropped_random: u64,
    pub dropped_queue: u64,
    pub bytes: u64,
}

pub struct Relay {
    shape: Shape,
    /// Random loss applies only while this is on (a test may bring a call up first).
    loss_on: Arc<std::sync::atomic::AtomicBool>,
    listeners: Mutex<HashMap<SocketAddr, SocketAddr>>,
    counts: Arc<Mutex<RelayCounts>>,
    handle: tokio::runtime::Handle,
}

impl Relay {
    /// A relay on a thread of its own (a network does not slow down when the endpoints'
    /// CPUs are busy encoding).
    pub fn new(shape: Shape) -> Arc<Self> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the relay");
            let _ = tx.send(rt.handle().clone());
            rt.block_on(std::future::pending::<()>());
        });
        let handle = rx.recv().expect("the relay thread started");
        Arc::new(Self {
            shape,
            loss_on: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            listeners: Mutex::new(HashMap::new()),
            counts: Arc::new(Mutex::new(RelayCounts::default())),
            handle,
        })
    }

    /// Turns the random loss on or off (the rate cap always applies).
    pub fn set_loss(&self, on: bool) {
        self.loss_on.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn counts(&self) -> RelayCounts {
        *self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The engine hook: rewrites `… 127.0.0.1 PORT typ host …` to the relay's address for it.
    pub fn advertise(self: &Arc<Self>) -> Advertise {
        let me = self.clone();
        Arc::new(move |line: &str| me.rewrite(line).unwrap_or_else(|| line.to_owned()))
    }

    fn rewrite(self: &Arc<Self>, line: &str) -> Option<String> {
        let mut parts: Vec<String> = line.split(' ').map(str::to_owned).collect();
        if parts.get(2).map(|p| p.to_ascii_lowercase()) != Some("udp".into()) {
            return None;
        }
        let target: SocketAddr = format!("{}:{}", parts.get(4)?, parts.get(5)?)
            .parse()
            .ok()?;
        let listen = self.listener_for(target)?;
        parts[4] = listen.ip().to_string();
        parts[5] = listen.port().to_string();
        Some(parts.join(" "))
    }

    fn listener_for(self: &Arc<Self>, target: SocketAddr) -> Option<SocketAddr> {
        let mut map = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = map.get(&target) {
            return Some(*l);
        }
        let std_sock = std::net::UdpSocket::bind("127.0.0.1:0").ok()?;
        std_sock.set_nonblocking(true).ok()?;
        let addr = std_sock.local_addr().ok()?;
        map.insert(target, addr);
        let me = self.clone();
        self.handle.spawn(async move {
            if let Ok(sock) = UdpSocket::from_std(std_sock) {
                me.serve(Arc::new(sock), target).await;
            }
        });
        Some(addr)
    }

    /// Forwards everything that reaches listener `l` for `target`.
    async fn serve(self: Arc<Self>, l: Arc<UdpSocket>, target: SocketAddr) {
        let mut upstream: HashMap<SocketAddr, mpsc::UnboundedSender<Vec<u8>>> = HashMap::new();
        let mut buf = vec![0u8; 2048];
        loop {
            let Ok((n, from)) = l.recv_from(&mut buf).await else {
                return;
            };
            let tx = match upstream.get(&from) {
                Some(tx) => tx.clone(),
                None => {
                    let Ok(u) = UdpSocket::bind("127.0.0.1:0").await else {
                        continue;
                    };
                    let u = Arc::new(u);
                    // towards the target
                    let tx = self.pipe(u.clone(), target);
                    // and the replies back through the listener
                    let back = self.pipe(l.clone(), from);
                    let u2 = u.clone();
                    self.handle.spawn(async move {
                        let mut b = vec![0u8; 2048];
                        while let Ok((n, _)) = u2.recv_from(&mut b).await {
                            if back.send(b[..n].to_vec()).is_err() {
                                return;
                            }
                        }
                    });
                    upstream.insert(from, tx.clone());
                    tx
                }
            };
            let _ = tx.send(buf[..n].to_vec());
        }
    }

    /// A shaped one-way path: datagrams sent into the returned channel leave `sock` for `to`
    /// after random loss and a token-bucket rate cap with a bounded queue.
    fn pipe(&self, sock: Arc<UdpSocket>, to: SocketAddr) -> mpsc::UnboundedSender<Vec<u8>> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let (timed_tx, mut timed_rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
        // Stamp each datagram on arrival, so time spent queued behind the cap is known.
        self.handle.spawn(async move {
            while let Some(d) = rx.recv().await {
                if timed_tx.send((Instant::now(), d)).is_err() {
                    return;
                }
            }
        });
        let shape = self.shape;
        let loss_on = self.loss_on.clone();
        let counts = self.counts.clone();
        self.handle.spawn(async move {
            // When the link is next free.
            let mut free_at = Instant::now();
            while let Some((arrived, d)) = timed_rx.recv().await {
                let count = |f: &dyn Fn(&mut RelayCounts)| {
                    f(&mut counts.lock().unwrap_or_else(|e| e.into_inner()));
                };
                if shape.loss > 0.0
                    && loss_on.load(std::sync::atomic::Ordering::Relaxed)
                    && rand::random::<f64>() < shape.loss
                {
                    count(&|c| c.dropped_random += 1);
                    continue;
                }
                if let Some(rate) = shape.rate_bps {
                    // A bottleneck with a bounded buffer: what waited too long is dropped.
                    if arrived.elapsed() > shape.max_queue {
                        count(&|c| c.dropped_queue += 1);
                        continue;
                    }
                    let now = Instant::now();
                    if free_at > now {
                        tokio::time::sleep(free_at - now).await;
                    }
                    let airtime = Duration::from_secs_f64((d.len() as f64 * 8.0) / rate as f64);
                    free_at = free_at.max(Instant::now()) + airtime;
                }
                let len = d.len() as u64;
                if sock.send_to(&d, to).await.is_ok() {
                    count(&|c| {
                        c.forwarded += 1;
                        c.bytes += len;
                    });
                }
            }
        });
        tx
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn datagrams_cross_the_relay_both_ways() {
        let relay = Relay::new(Shape::lossy(0.0));
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = b.local_addr().unwrap().port();
        let line = format!("candidate:1 1 udp 2130706431 127.0.0.1 {port} typ host");
        let rewritten = (relay.advertise())(&line);
        let parts: Vec<&str> = rewritten.split(' ').collect();
        let via: SocketAddr = format!("{}:{}", parts[4], parts[5]).parse().unwrap();
        assert_ne!(via.port(), port);
        a.send_to(b"ping", via).await.unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = tokio::time::timeout(Duration::from_secs(2), b.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"ping");
        b.send_to(b"pong", from).await.unwrap();
        let (n, back) = tokio::time::timeout(Duration::from_secs(2), a.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((&buf[..n], back), (&b"pong"[..], via));
        // The relay counts after its send returns, which may be after the datagram arrived.
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while relay.counts().forwarded < 2 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(relay.counts().forwarded, 2);
    }
}
