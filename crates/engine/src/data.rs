//! The call's data channel, one per peer connection (reliable, ordered): in-call text and file
//! transfer, peer to peer. A file goes as a header (name, size, SHA-256), 16 KiB binary chunks
//! and an end marker; the receiver checks the digest. Sending waits on the channel's buffer
//! (a send-buffer limit on the connection), so a large file never floods memory.

use std::sync::Arc;

use bytes::BytesMut;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, watch};
use webrtc::data_channel::{DataChannel, DataChannelEvent};

/// The channel's label.
pub const LABEL: &str = "switchboard";
/// Bytes per binary chunk.
pub const CHUNK: usize = 16 * 1024;
/// Progress is reported at least this often (bytes).
const PROGRESS_EVERY: u64 = 256 * 1024;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Control {
    Text {
        text: String,
    },
    File {
        id: String,
        name: String,
        size: u64,
        sha256: String,
    },
    FileEnd {
        id: String,
    },
}

/// What the channel delivers.
#[derive(Debug, Clone)]
pub enum DataEvent {
    Text(String),
    /// Bytes of a file received (or, for the sender, sent) so far.
    Progress {
        id: String,
        name: String,
        done: u64,
        total: u64,
        sending: bool,
    },
    /// A whole file, with whether its SHA-256 matched.
    File {
        id: String,
        name: String,
        data: Arc<Vec<u8>>,
        sha256_ok: bool,
    },
}

/// The channel and whether it is open.
#[derive(Clone)]
pub struct Channel {
    pub dc: Arc<dyn DataChannel>,
    pub open: watch::Receiver<bool>,
    /// Texts wait here, in order, until the channel is open.
    outbox: mpsc::UnboundedSender<String>,
}

struct Incoming {
    id: String,
    name: String,
    size: u64,
    sha256: String,
    data: Vec<u8>,
}

/// Reads the channel until it closes, reporting through `notify`. Returns the channel handle
/// (with its open flag) at once and runs the reader in the background.
pub fn attach(dc: Arc<dyn DataChannel>, notify: Arc<dyn Fn(DataEvent) + Send + Sync>) -> Channel {
    let (open_tx, open) = watch::channel(false);
    let (outbox, mut texts) = mpsc::unbounded_channel::<String>();
    let writer = dc.clone();
    let mut writer_open = open.clone();
    tokio::spawn(async move {
        if writer_open.wait_for(|o| *o).await.is_err() {
            return;
        }
        while let Some(t) = texts.recv().await {
            if let Err(e) = writer.send_text(&t).await {
                tracing::warn!("text over the data channel failed: {e}");
                return;
            }
        }
    });
    let reader = dc.clone();
    tokio::spawn(async move {
        let mut file: Option<Incoming> = None;
        let mut last_progress = 0u64;
        while let Some(ev) = reader.poll().await {
            match ev {
                DataChannelEvent::OnOpen => {
                    let _ = open_tx.send(true);
                }
                DataChannelEvent::OnMessage(m) if m.is_string => {
                    let Ok(control) = serde_json::from_slice::<Control>(&m.data) else {
                        tracing::warn!("unreadable data-channel message");
                        continue;
                    };
                    match control {
                        Control::Text { text } => notify(DataEvent::Text(text)),
                        Control::File {
                            id,
                            name,
                            size,
                            sha256,
                        } => {
                            // Sizes come from the far end: cap what we preallocate.
                            let cap = size.min(64 * 1024 * 1024) as usize;
                            file = Some(Incoming {
                                id,
                                name,
                                size,
                                sha256,
                                data: Vec::with_capacity(cap),
                            });
                            last_progress = 0;
                        }
                        Control::FileEnd { id } => {
                            if let Some(f) = file.take().filter(|f| f.id == id) {
                                let digest = hex(&Sha256::digest(&f.data));
                                let ok = digest == f.sha256 && f.data.len() as u64 == f.size;
                                notify(DataEvent::File {
                                    id: f.id,
                                    name: f.name,
                                    data: Arc::new(f.data),
                                    sha256_ok: ok,
                                });
                            }
                        }
                    }
                }
                DataChannelEvent::OnMessage(m) => {
                    if let Some(f) = file.as_mut() {
                        f.data.extend_from_slice(&m.data);
                        let done = f.data.len() as u64;
                        if done - last_progress >= PROGRESS_EVERY || done == f.size {
                            last_progress = done;
                            notify(DataEvent::Progress {
                                id: f.id.clone(),
                                name: f.name.clone(),
                                done,
                                total: f.size,
                                sending: false,
                            });
                        }
                    }
                }
                DataChannelEvent::OnClose => break,
                _ => {}
            }
        }
        let _ = open_tx.send(false);
    });
    Channel { dc, open, outbox }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Channel {
    async fn wait_open(&self) -> anyhow::Result<()> {
        let mut open = self.open.clone();
        tokio::time::timeout(std::time::Duration::from_secs(10), open.wait_for(|o| *o))
            .await
            .map_err(|_| anyhow::anyhow!("the data channel did not open within 10 s"))?
            .map_err(|_| anyhow::anyhow!("the data channel closed"))?;
        Ok(())
    }

    /// Queues a text; texts leave in order once the channel is open.
    pub fn send_text(&self, text: &str) -> anyhow::Result<()> {
        let msg = serde_json::to_string(&Control::Text {
            text: text.to_owned(),
        })?;
        self.outbox
            .send(msg)
            .map_err(|_| anyhow::anyhow!("the data channel is gone"))
    }

    /// Sends a whole file; `notify` gets the sender's progress.
    pub async fn send_file(
        &self,
        id: &str,
        name: &str,
        data: &[u8],
        notify: &(dyn Fn(DataEvent) + Send + Sync),
    ) -> anyhow::Result<()> {
        self.wait_open().await?;
        let header = Control::File {
            id: id.to_owned(),
            name: name.to_owned(),
            size: data.len() as u64,
            sha256: hex(&Sha256::digest(data)),
        };
        self.dc.send_text(&serde_json::to_string(&header)?).await?;
        let mut sent = 0u64;
        let mut last = 0u64;
        for chunk in data.chunks(CHUNK) {
            self.dc.send(BytesMut::from(chunk)).await?;
            sent += chunk.len() as u64;
            if sent - last >= PROGRESS_EVERY || sent == data.len() as u64 {
                last = sent;
                notify(DataEvent::Progress {
                    id: id.to_owned(),
                    name: name.to_owned(),
                    done: sent,
                    total: data.len() as u64,
                    sending: true,
                });
            }
        }
        let end = Control::FileEnd { id: id.to_owned() };
        self.dc.send_text(&serde_json::to_string(&end)?).await?;
        Ok(())
    }
}
