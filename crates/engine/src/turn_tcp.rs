//! TURN over TCP for networks that pass no UDP. webrtc-rs 0.21's TURN client speaks UDP only
//! (it skips `?transport=tcp` URLs), so for each such relay we run a bridge on this machine: a
//! UDP socket on loopback that webrtc-rs is told is the relay, and, per webrtc-rs socket that
//! talks to it, one TCP connection to the real relay carrying the same messages in TURN's TCP
//! framing (RFC 8656 §12.5: STUN messages as they are, ChannelData padded to 4 bytes). The
//! relay sees a TCP client; its allocations still relay to peers over UDP. A workaround in our
//! code, not a patched dependency: when webrtc-rs speaks TCP itself, this goes.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchboard_protocol::IceServer;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;

/// A TCP connection to the relay that cannot be made within this gives up (the next datagram
/// tries again).
const CONNECT_WITHIN: Duration = Duration::from_secs(5);

/// The bridges of one engine, by the relay's `host:port`; they live as long as this value.
#[derive(Default)]
pub struct TcpBridges {
    bridges: HashMap<String, Bridge>,
}

struct Bridge {
    /// What webrtc-rs is told: `127.0.0.1:PORT`.
    local: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The `host:port` of a `turn:` URL with `?transport=tcp`.
fn tcp_relay(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("turn:")?;
    let (target, query) = rest.split_once('?')?;
    query
        .split('&')
        .any(|p| p.eq_ignore_ascii_case("transport=tcp"))
        .then_some(target)
}

impl TcpBridges {
    /// The ICE servers as webrtc-rs should see them: each TURN-over-TCP URL becomes a UDP one
    /// on a local bridge to that relay (started on first use); everything else as it was.
    pub async fn rewrite(&mut self, servers: &[IceServer]) -> Vec<IceServer> {
        let mut out = Vec::with_capacity(servers.len());
        for s in servers {
            let mut urls = Vec::with_capacity(s.urls.len());
            for url in &s.urls {
                let Some(target) = tcp_relay(url) else {
                    urls.push(url.clone());
                    continue;
                };
                match self.bridge(target).await {
                    Ok(local) => urls.push(format!("turn:{local}?transport=udp")),
                    Err(e) => tracing::warn!("no TURN-over-TCP bridge to {target}: {e}"),
                }
            }
            out.push(IceServer {
                urls,
                username: s.username.clone(),
                credential: s.credential.clone(),
            });
        }
        out
    }

    async fn bridge(&mut self, target: &str) -> std::io::Result<SocketAddr> {
        if let Some(b) = self.bridges.get(target) {
            return Ok(b.local);
        }
        let socket = Arc::new(UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?);
        let local = socket.local_addr()?;
        let task = tokio::spawn(run(socket, target.to_owned()));
        self.bridges
            .insert(target.to_owned(), Bridge { local, task });
        Ok(local)
    }
}

/// Forwards datagrams from each local source to its own TCP connection, and frames back.
async fn run(socket: Arc<UdpSocket>, target: String) {
    let conns: Arc<Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>> = Arc::default();
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let mut frame = buf[..n].to_vec();
        // ChannelData (first two bits 01) is padded to 4 bytes over TCP.
        if frame.first().is_some_and(|b| b >> 6 == 1) {
            frame.resize(frame.len().next_multiple_of(4), 0);
        }
        let existing = conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&from)
            .cloned();
        let tx = match existing {
            Some(tx) if !tx.is_closed() => tx,
            _ => {
                let (tx, rx) = mpsc::channel(1024);
                conns
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(from, tx.clone());
                tokio::spawn(connection(
                    socket.clone(),
                    from,
                    target.clone(),
                    rx,
                    conns.clone(),
                ));
                tx
            }
        };
        // A connection that cannot keep up loses datagrams, as UDP would.
        let _ = tx.try_send(frame);
    }
}

/// One webrtc-rs socket's TCP connection to the relay.
async fn connection(
    socket: Arc<UdpSocket>,
    peer: SocketAddr,
    target: String,
    mut frames: mpsc::Receiver<Vec<u8>>,
    conns: Arc<Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>>,
) {
    let forget = || {
        conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&peer);
    };
    let stream = match tokio::time::timeout(CONNECT_WITHIN, TcpStream::connect(&target)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!("TURN over TCP to {target}: {e}");
            return forget();
        }
        Err(_) => {
            tracing::debug!("TURN over TCP to {target}: no connection within 5 s");
            return forget();
        }
    };
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let down = tokio::spawn(async move {
        while let Ok(frame) = read_frame(&mut reader).await {
            let _ = socket.send_to(&frame, peer).await;
        }
    });
    while let Some(frame) = frames.recv().await {
        if writer.write_all(&frame).await.is_err() {
            break;
        }
    }
    down.abort();
    forget();
}

/// One frame of TURN over TCP, its ChannelData padding taken off (webrtc-rs reads a datagram).
async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Vec<u8>> {
    let mut header = [0u8; 4];
    r.read_exact(&mut header).await?;
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let (body, pad) = match header[0] >> 6 {
        0 => (16 + len, 0),
        1 => (len, (4 - len % 4) % 4),
        _ => return Err(std::io::ErrorKind::InvalidData.into()),
    };
    let mut frame = vec![0u8; 4 + body + pad];
    frame[..4].copy_from_slice(&header);
    r.read_exact(&mut frame[4..]).await?;
    frame.truncate(4 + body);
    Ok(frame)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_turn_over_tcp_urls_are_bridged() {
        assert_eq!(
            tcp_relay("turn:203.0.113.1:3478?transport=tcp"),
            Some("203.0.113.1:3478")
        );
        assert_eq!(
            tcp_relay("turn:relay.example:443?transport=TCP"),
            Some("relay.example:443")
        );
        assert_eq!(tcp_relay("turn:203.0.113.1:3478?transport=udp"), None);
        assert_eq!(tcp_relay("turn:203.0.113.1:3478"), None);
        assert_eq!(tcp_relay("stun:203.0.113.1:3478"), None);
        assert_eq!(tcp_relay("turns:203.0.113.1:443?transport=tcp"), None);
    }

    /// A datagram goes out as a TCP frame (ChannelData padded), and a frame comes back as the
    /// datagram it carries, to the socket that sent the first.
    #[tokio::test]
    async fn datagrams_cross_as_tcp_frames_and_back() {
        let relay = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = relay.local_addr().unwrap().to_string();
        let mut bridges = TcpBridges::default();
        let servers = bridges
            .rewrite(&[IceServer {
                urls: vec![
                    format!("turn:{target}?transport=tcp"),
                    "stun:198.51.100.1:3478".into(),
                ],
                username: Some("u".into()),
                credential: Some("p".into()),
            }])
            .await;
        assert_eq!(servers[0].urls[1], "stun:198.51.100.1:3478");
        let local: SocketAddr = servers[0].urls[0]
            .trim_start_matches("turn:")
            .trim_end_matches("?transport=udp")
            .parse()
            .unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        // ChannelData: channel 0x4000, 5 bytes of data.
        let channel = [0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5];
        client.send_to(&channel, local).await.unwrap();
        let (mut conn, _) = relay.accept().await.unwrap();
        let mut got = [0u8; 12];
        conn.read_exact(&mut got).await.unwrap();
        assert_eq!(&got[..9], &channel);
        assert_eq!(&got[9..], &[0, 0, 0], "padded to 4 bytes");
        // Back: a padded ChannelData frame arrives as the bare datagram.
        conn.write_all(&[0x40, 0x01, 0x00, 0x02, 9, 9, 0, 0])
            .await
            .unwrap();
        let mut buf = [0u8; 16];
        let (n, _) = tokio::time::timeout(Duration::from_secs(5), client.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], &[0x40, 0x01, 0x00, 0x02, 9, 9]);
    }
}
