//! The call's data channel, one per peer connection (reliable, ordered): in-call text and file
//! transfer, peer to peer. A file goes as an offer (name, size, SHA-256); the receiver's user
//! accepts or declines it; only then come 16 KiB binary chunks and an end marker. The far end
//! is not trusted: bytes before the offer is accepted, beyond its announced size, or that do not
//! match its digest end the transfer and nothing is delivered; offers above
//! [`MAX_RECEIVE_BYTES`] are declined by themselves. Sending waits on the channel's buffer (a
//! send-buffer limit on the connection), so a large file never floods memory.
//!
//! The receiving rules are `rules.rs`, sans-IO and tested without a channel; this file is the
//! webrtc-rs channel under them and the sending side.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot, watch};
use webrtc::data_channel::{DataChannel, DataChannelEvent};

pub use crate::event::DataEvent;

/// The channel's label.
pub const LABEL: &str = "switchboard";
/// Bytes per binary chunk.
pub const CHUNK: usize = 16 * 1024;
/// The largest file a receiver takes (it is kept in memory until it is whole).
pub const MAX_RECEIVE_BYTES: u64 = 256 * 1024 * 1024;
/// How long a sender waits for the other user to accept a file.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(120);
/// Progress is reported at least this often (bytes).
pub(crate) const PROGRESS_EVERY: u64 = 256 * 1024;

mod rules;

use rules::{Control, Inbound, Out};

/// The channel and whether it is open.
#[derive(Clone)]
pub struct Channel {
    pub dc: Arc<dyn DataChannel>,
    pub open: watch::Receiver<bool>,
    /// Control messages wait here, in order, until the channel is open.
    outbox: mpsc::UnboundedSender<String>,
    inbound: Arc<Mutex<Inbound>>,
    /// Our offers waiting for the far end's answer.
    answers: Arc<Mutex<HashMap<String, oneshot::Sender<bool>>>>,
    notify: Arc<dyn Fn(DataEvent) + Send + Sync>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn control(c: &Control) -> String {
    serde_json::to_string(c).expect("control messages serialize")
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
    let channel = Channel {
        dc: dc.clone(),
        open,
        outbox,
        inbound: Arc::default(),
        answers: Arc::default(),
        notify,
    };
    let reader = channel.clone();
    tokio::spawn(async move {
        while let Some(ev) = dc.poll().await {
            match ev {
                DataChannelEvent::OnOpen => {
                    let _ = open_tx.send(true);
                }
                DataChannelEvent::OnMessage(m) if m.is_string => {
                    match serde_json::from_slice::<Control>(&m.data) {
                        Ok(Control::FileAnswer { id, accept }) => {
                            if let Some(waiting) = lock(&reader.answers).remove(&id) {
                                let _ = waiting.send(accept);
                            }
                        }
                        Ok(c) => reader.inbound(|i, out| i.control(c, Instant::now(), out)),
                        Err(_) => tracing::warn!("unreadable data-channel message"),
                    }
                }
                DataChannelEvent::OnMessage(m) => reader.inbound(|i, out| i.bytes(&m.data, out)),
                DataChannelEvent::OnClose => break,
                _ => {}
            }
        }
        let _ = open_tx.send(false);
    });
    channel
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Channel {
    /// Runs the receiving rules and carries out what they ask (outside the lock).
    fn inbound<T>(&self, f: impl FnOnce(&mut Inbound, &mut Vec<Out>) -> T) -> T {
        let mut out = Vec::new();
        let result = f(&mut lock(&self.inbound), &mut out);
        for o in out {
            match o {
                Out::Notify(e) => (self.notify)(e),
                Out::Say(c) => {
                    let _ = self.outbox.send(control(&c));
                }
            }
        }
        result
    }

    /// The user's answer to a file the far end offered: accepted, its bytes are taken;
    /// declined, nothing is. False when no offer of that id waits.
    pub fn answer(&self, id: &str, accept: bool) -> bool {
        self.inbound(|i, out| i.answer(id, accept, out))
    }

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
        self.outbox
            .send(control(&Control::Text {
                text: text.to_owned(),
            }))
            .map_err(|_| anyhow::anyhow!("the data channel is gone"))
    }

    /// Offers a whole file and, once the far end accepts it, sends it; `notify` gets the
    /// sender's progress. A decline (or no answer within [`ANSWER_WITHIN`]) is an error.
    pub async fn send_file(
        &self,
        id: &str,
        name: &str,
        data: &[u8],
        notify: &(dyn Fn(DataEvent) + Send + Sync),
    ) -> anyhow::Result<()> {
        self.wait_open().await?;
        let (answer_tx, answer) = oneshot::channel();
        lock(&self.answers).insert(id.to_owned(), answer_tx);
        let offer = Control::File {
            id: id.to_owned(),
            name: name.to_owned(),
            size: data.len() as u64,
            sha256: hex(&Sha256::digest(data)),
        };
        self.dc.send_text(&control(&offer)).await?;
        let accepted = tokio::time::timeout(ANSWER_WITHIN, answer).await;
        lock(&self.answers).remove(id);
        match accepted {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => anyhow::bail!("{name} was declined"),
            Ok(Err(_)) => anyhow::bail!("the data channel closed before {name} was answered"),
            Err(_) => {
                // Take the offer back, so that the other side's prompt goes and its next
                // file is not refused as "another one on its way".
                let _ = self
                    .outbox
                    .send(control(&Control::FileCancel { id: id.to_owned() }));
                anyhow::bail!(
                    "{name} was not accepted within {} s",
                    ANSWER_WITHIN.as_secs()
                )
            }
        }
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
        self.dc
            .send_text(&control(&Control::FileEnd { id: id.to_owned() }))
            .await?;
        Ok(())
    }
}
