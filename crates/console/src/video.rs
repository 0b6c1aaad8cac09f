//! Video to the webview (docs/architecture.md, "Video to the webview"): decoded pictures are
//! scaled here to the tile's size (never above 960×540) and sent as binary I420 with a small
//! header over a loopback WebSocket that a Web Worker opens; the worker draws them with WebGL2.
//!
//! One connection per tile: `ws://127.0.0.1:PORT/local?secret=S&w=W&h=H` for our own camera,
//! `/remote/CALL/USER?…` for a member. The secret is made at each launch and given only to our
//! webview, so other programs on the machine cannot watch the calls. A slow reader gets the
//! newest picture, never a queue: while a send is pending, older pictures are skipped.
//!
//! Frame layout (little-endian): `SBV1` · u16 width · u16 height · u16 source width · u16
//! source height (the decoded picture before scaling) · u32 frame number (the pattern's
//! counter, else our own count) · u64 capture time (Unix ms, 0 if unknown) · u32 pictures
//! skipped for this reader so far · then Y, U, V packed (strides = width, width / 2).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use switchboard_engine::RemoteFrame;
use switchboard_media::I420Frame;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;

/// The largest picture a tile gets.
pub const MAX_TILE: (usize, usize) = (960, 540);
/// A shared screen is read, not glanced at: its tile may show it at full 1080p.
pub const MAX_SCREEN_TILE: (usize, usize) = (1920, 1080);
pub const HEADER: usize = 28;

/// Which pictures a tile shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tile {
    Local,
    Remote {
        call_id: String,
        user: String,
    },
    /// A member's shared screen.
    Screen {
        call_id: String,
        user: String,
    },
}

impl Tile {
    /// `local`, `remote/CALL/USER` or `screen/CALL/USER`.
    pub fn from_path(path: &str) -> Option<Tile> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (call_id, user) = match parts.as_slice() {
            ["local"] => return Some(Tile::Local),
            [_, call, user] if !call.is_empty() && !user.is_empty() => {
                ((*call).to_owned(), (*user).to_owned())
            }
            _ => return None,
        };
        match parts[0] {
            "remote" => Some(Tile::Remote { call_id, user }),
            "screen" => Some(Tile::Screen { call_id, user }),
            _ => None,
        }
    }

    /// The largest picture this tile is sent.
    pub fn limit(&self) -> (usize, usize) {
        match self {
            Tile::Screen { .. } => MAX_SCREEN_TILE,
            _ => MAX_TILE,
        }
    }
}

/// Pictures for a tile.
pub enum Source {
    Local(broadcast::Receiver<Arc<I420Frame>>),
    Remote(broadcast::Receiver<RemoteFrame>),
}

/// Finds the pictures for a tile (`None`: no such call or member, or not signed in).
pub type Sources =
    Arc<dyn Fn(Tile) -> Pin<Box<dyn Future<Output = Option<Source>> + Send>> + Send + Sync>;

/// The running bridge: where the webview connects.
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
pub struct Endpoint {
    pub url: String,
    pub secret: String,
}

/// Starts the bridge on a free loopback port.
pub async fn start(sources: Sources) -> std::io::Result<Endpoint> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let secret = format!("{:032x}", rand::random::<u128>());
    let endpoint = Endpoint {
        url: format!("ws://127.0.0.1:{port}"),
        secret: secret.clone(),
    };
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (sources, secret) = (sources.clone(), secret.clone());
            tokio::spawn(async move {
                if let Err(e) = serve(stream, sources, &secret).await {
                    tracing::debug!("video tile closed: {e}");
                }
            });
        }
    });
    Ok(endpoint)
}

/// What a connection asked for.
#[derive(Debug, PartialEq, Eq)]
struct Wanted {
    tile: Tile,
    width: usize,
    height: usize,
}

fn parse(path_and_query: &str, secret: &str) -> Result<Wanted, &'static str> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut given = None;
    let (mut width, mut height) = (640, 360);
    for (k, v) in query.split('&').filter_map(|kv| kv.split_once('=')) {
        match k {
            "secret" => given = Some(v),
            "w" => width = v.parse().map_err(|_| "bad width")?,
            "h" => height = v.parse().map_err(|_| "bad height")?,
            _ => {}
        }
    }
    if given != Some(secret) {
        return Err("wrong secret");
    }
    let tile = Tile::from_path(path).ok_or("no such tile")?;
    let (max_w, max_h) = tile.limit();
    let width = width.clamp(16, max_w);
    let height = height.clamp(16, max_h);
    Ok(Wanted {
        tile,
        width,
        height,
    })
}

// The handshake callback's error type is tungstenite's own (an HTTP response), large by design.
#[allow(clippy::result_large_err)]
async fn serve(stream: TcpStream, sources: Sources, secret: &str) -> anyhow::Result<()> {
    let mut wanted = None;
    let ws = tokio_tungstenite::accept_hdr_async(stream, |req: &Request, resp: Response| {
        let pq = req.uri().path_and_query().map_or("", |p| p.as_str());
        match parse(pq, secret) {
            Ok(w) => {
                wanted = Some(w);
                Ok(resp)
            }
            Err(why) => {
                let mut e = ErrorResponse::new(Some(why.to_owned()));
                *e.status_mut() = StatusCode::FORBIDDEN;
                Err(e)
            }
        }
    })
    .await?;
    let Some(mut wanted) = wanted else {
        return Ok(());
    };
    let (mut tx, mut rx) = ws.split();
    let Some(source) = (sources)(wanted.tile.clone()).await else {
        tx.send(Message::Close(None)).await?;
        return Ok(());
    };
    let mut pictures = Pictures::new(source);
    loop {
        tokio::select! {
            // The tile was resized: `{"w":…,"h":…}`.
            msg = rx.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&t)
                        && let (Some(w), Some(h)) = (v["w"].as_u64(), v["h"].as_u64())
                    {
                        let (max_w, max_h) = wanted.tile.limit();
                        wanted.width = (w as usize).clamp(16, max_w);
                        wanted.height = (h as usize).clamp(16, max_h);
                    }
                }
                Some(Ok(_)) => {}
                _ => return Ok(()),
            },
            bytes = pictures.next(wanted.width, wanted.height) => {
                let Some(bytes) = bytes else {
                    // The call or the camera ended.
                    let _ = tx.send(Message::Close(None)).await;
                    return Ok(());
                };
                // Awaiting here is the backpressure: pictures that arrive meanwhile lag in the
                // broadcast and are skipped.
                tx.send(Message::Binary(bytes.into())).await?;
            }
        }
    }
}

/// A tile's pictures, encoded for the wire at the size it wants.
struct Pictures {
    source: Source,
    seq: u32,
    skipped: u32,
}

impl Pictures {
    fn new(source: Source) -> Self {
        Self {
            source,
            seq: 0,
            skipped: 0,
        }
    }

    /// The next picture on the wire; `None` once the source ended.
    async fn next(&mut self, width: usize, height: usize) -> Option<Vec<u8>> {
        let (picture, number, capture_ms) = next(&mut self.source, &mut self.skipped).await?;
        self.seq = self.seq.wrapping_add(1);
        let scaled = scale_within(&picture, width, height);
        let source = (picture.width(), picture.height());
        Some(encode(
            &scaled,
            source,
            number.unwrap_or(self.seq),
            capture_ms,
            self.skipped,
        ))
    }
}

/// The other transport, measured against the WebSocket (docs/app.md): pictures pushed through
/// a Tauri IPC channel as raw bytes. `send` returns false once the webview is gone. Runs until
/// the source ends, `send` fails, or the returned handle is dropped.
pub fn push(
    source: Source,
    (max_w, max_h): (usize, usize),
    size: tokio::sync::watch::Receiver<(usize, usize)>,
    send: impl Fn(Vec<u8>) -> bool + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut pictures = Pictures::new(source);
        loop {
            let (w, h) = *size.borrow();
            let Some(bytes) = pictures.next(w.clamp(16, max_w), h.clamp(16, max_h)).await else {
                return;
            };
            if !send(bytes) {
                return;
            }
        }
    })
}

/// The next picture, skipping those this reader fell behind on.
async fn next(
    source: &mut Source,
    skipped: &mut u32,
) -> Option<(Arc<I420Frame>, Option<u32>, u64)> {
    loop {
        let got = match source {
            Source::Local(rx) => rx.recv().await.map(|p| (p, None, 0)),
            Source::Remote(rx) => rx.recv().await.map(|f| {
                let stamp = f.stamp;
                (
                    f.picture,
                    stamp.map(|s| s.frame),
                    stamp.map_or(0, |s| s.capture_ms),
                )
            }),
        };
        match got {
            Ok(p) => return Some(p),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                *skipped = skipped.saturating_add(n as u32);
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}

/// The picture scaled to fit inside `max_w`×`max_h`, keeping its aspect (never enlarged).
pub fn scale_within(picture: &I420Frame, max_w: usize, max_h: usize) -> I420Frame {
    let (w, h) = (picture.width(), picture.height());
    if w <= max_w && h <= max_h {
        return picture.clone();
    }
    let k = (max_w as f64 / w as f64).min(max_h as f64 / h as f64);
    let tw = (((w as f64 * k) as usize) & !1).max(2);
    let th = (((h as f64 * k) as usize) & !1).max(2);
    switchboard_media::convert::fit(picture, tw, th)
}

/// One picture on the wire.
pub fn encode(
    p: &I420Frame,
    source: (usize, usize),
    number: u32,
    capture_ms: u64,
    skipped: u32,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + p.y().len() * 3 / 2);
    out.extend_from_slice(b"SBV1");
    for d in [p.width(), p.height(), source.0, source.1] {
        out.extend_from_slice(&(d as u16).to_le_bytes());
    }
    out.extend_from_slice(&number.to_le_bytes());
    out.extend_from_slice(&capture_ms.to_le_bytes());
    out.extend_from_slice(&skipped.to_le_bytes());
    out.extend_from_slice(p.y());
    out.extend_from_slice(p.u());
    out.extend_from_slice(p.v());
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_tile_needs_the_secret_and_a_known_path() {
        assert_eq!(
            parse("/local?secret=s3&w=320&h=180", "s3"),
            Ok(Wanted {
                tile: Tile::Local,
                width: 320,
                height: 180
            })
        );
        assert_eq!(
            parse("/remote/c-1/bob?secret=s3&w=4000&h=4000", "s3"),
            Ok(Wanted {
                tile: Tile::Remote {
                    call_id: "c-1".into(),
                    user: "bob".into()
                },
                width: 960,
                height: 540
            })
        );
        // A screen's tile may be twice as large.
        assert_eq!(
            parse("/screen/c-1/bob?secret=s3&w=4000&h=4000", "s3"),
            Ok(Wanted {
                tile: Tile::Screen {
                    call_id: "c-1".into(),
                    user: "bob".into()
                },
                width: 1920,
                height: 1080
            })
        );
        assert_eq!(
            parse("/shared/c-1/bob?secret=s3", "s3"),
            Err("no such tile")
        );
        assert_eq!(parse("/local?secret=nope", "s3"), Err("wrong secret"));
        assert_eq!(parse("/local", "s3"), Err("wrong secret"));
        assert_eq!(parse("/elsewhere?secret=s3", "s3"), Err("no such tile"));
        assert_eq!(parse("/local?secret=s3&w=x", "s3"), Err("bad width"));
    }

    #[test]
    fn pictures_shrink_to_the_tile_keeping_their_aspect() {
        let p = I420Frame::black(1280, 720);
        let s = scale_within(&p, 960, 960);
        assert_eq!((s.width(), s.height()), (960, 540));
        let s = scale_within(&p, 320, 400);
        assert_eq!((s.width(), s.height()), (320, 180));
        let small = I420Frame::black(640, 360);
        assert_eq!(scale_within(&small, 960, 540), small);
    }

    #[test]
    fn the_wire_format_is_header_then_planes() {
        let p = I420Frame::black(4, 2);
        let b = encode(&p, (8, 4), 77, 1_700_000_000_123, 3);
        assert_eq!(&b[..4], b"SBV1");
        assert_eq!(u16::from_le_bytes([b[4], b[5]]), 4);
        assert_eq!(u16::from_le_bytes([b[6], b[7]]), 2);
        assert_eq!(u16::from_le_bytes([b[8], b[9]]), 8);
        assert_eq!(u16::from_le_bytes([b[10], b[11]]), 4);
        assert_eq!(u32::from_le_bytes(b[12..16].try_into().unwrap()), 77);
        assert_eq!(
            u64::from_le_bytes(b[16..24].try_into().unwrap()),
            1_700_000_000_123
        );
        assert_eq!(u32::from_le_bytes(b[24..28].try_into().unwrap()), 3);
        assert_eq!(b.len(), HEADER + 8 + 2 + 2);
    }

    #[tokio::test]
    async fn a_reader_gets_pictures_and_a_stranger_is_refused() {
        let (tx, _) = broadcast::channel::<Arc<I420Frame>>(4);
        let source_tx = tx.clone();
        let sources: Sources = Arc::new(move |tile| {
            let rx = source_tx.subscribe();
            Box::pin(async move { (tile == Tile::Local).then_some(Source::Local(rx)) })
        });
        let ep = start(sources).await.unwrap();
        let bad = format!("{}/local?secret=guess", ep.url);
        assert!(tokio_tungstenite::connect_async(&bad).await.is_err());

        let url = format!("{}/local?secret={}&w=320&h=180", ep.url, ep.secret);
        let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
        // Keep sending until the reader is subscribed and one arrives.
        let sender = tokio::spawn(async move {
            for _ in 0..200 {
                let _ = tx.send(Arc::new(I420Frame::black(640, 360)));
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        });
        let msg = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let Message::Binary(b) = msg else {
            panic!("{msg:?}")
        };
        assert_eq!(&b[..4], b"SBV1");
        assert_eq!(u16::from_le_bytes([b[4], b[5]]), 320);
        assert_eq!(b.len(), HEADER + 320 * 180 * 3 / 2);
        sender.abort();
    }
}
