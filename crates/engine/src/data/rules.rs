//! The receiving side's rules for one data channel, without the channel (sans-IO): what
//! arrives goes in with the time; what to tell the user and what to answer the far end comes
//! out. The far end is not trusted: see the parent module.

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use switchboard_protocol::{Label, limits};

use super::{DataEvent, MAX_RECEIVE_BYTES, PROGRESS_EVERY, hex};

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub(super) enum Control {
    Text {
        text: String,
    },
    File {
        id: String,
        name: String,
        size: u64,
        sha256: String,
    },
    FileAnswer {
        id: String,
        accept: bool,
    },
    FileEnd {
        id: String,
    },
    /// The sender takes an offer back (it gave up waiting for an answer).
    FileCancel {
        id: String,
    },
}

/// Control messages (texts, offers) a peer may send per second, and in a burst: more than a
/// person types or drops files, less than what would fill the chat, the history or the
/// screen. Beyond it they are dropped.
const CONTROL_PER_SECOND: f64 = 20.0;
const CONTROL_BURST: f64 = 60.0;

/// What is coming in (one file at a time).
enum Incoming {
    Offered {
        id: String,
        name: String,
        size: u64,
        sha256: String,
    },
    Accepted {
        id: String,
        name: String,
        size: u64,
        sha256: String,
        data: Vec<u8>,
        last_progress: u64,
    },
}

/// What the receiving rules ask for.
#[derive(Debug)]
pub(super) enum Out {
    /// Tell the user.
    Notify(DataEvent),
    /// Answer the far end.
    Say(Control),
}

/// The receiving side's rules, without the channel (sans-IO): what arrives goes in with the
/// time, what to tell the user and what to answer comes out.
#[derive(Default)]
pub(super) struct Inbound {
    incoming: Option<Incoming>,
    /// The control-message allowance left, and when it was last topped up.
    allowance: Option<(f64, Instant)>,
    dropped: u64,
}

impl Inbound {
    /// Whether one more control message fits the allowance at `now`.
    fn allowed(&mut self, now: Instant) -> bool {
        let (left, last) = self.allowance.unwrap_or((CONTROL_BURST, now));
        let left = (left + now.saturating_duration_since(last).as_secs_f64() * CONTROL_PER_SECOND)
            .min(CONTROL_BURST);
        let fits = left >= 1.0;
        self.allowance = Some((if fits { left - 1.0 } else { left }, now));
        if !fits {
            self.dropped += 1;
            if self.dropped == 1 || self.dropped.is_multiple_of(1000) {
                tracing::warn!(
                    "the far end sends more than {CONTROL_PER_SECOND} messages a second; {} dropped",
                    self.dropped
                );
            }
        }
        fits
    }

    /// An offer waiting for the user's answer is gone (taken back, or replaced).
    fn withdrawn(&mut self, id: Option<&str>, out: &mut Vec<Out>) {
        if let Some(Incoming::Offered {
            id: offered, name, ..
        }) = &self.incoming
            && id.is_none_or(|i| i == offered)
        {
            out.push(Out::Notify(DataEvent::Failed {
                id: offered.clone(),
                name: name.clone(),
                reason: "the sender took the file back".into(),
            }));
            self.incoming = None;
        }
    }

    fn decline(id: String, name: String, reason: String, out: &mut Vec<Out>) {
        out.push(Out::Say(Control::FileAnswer {
            id: id.clone(),
            accept: false,
        }));
        out.push(Out::Notify(DataEvent::Failed { id, name, reason }));
    }

    pub(super) fn control(&mut self, c: Control, now: Instant, out: &mut Vec<Out>) {
        if matches!(c, Control::Text { .. } | Control::File { .. }) && !self.allowed(now) {
            return;
        }
        match c {
            Control::Text { text } => {
                if text.chars().count() > limits::MAX_TEXT_CHARS {
                    tracing::warn!(
                        "a data-channel text above {} characters was dropped",
                        limits::MAX_TEXT_CHARS
                    );
                } else {
                    out.push(Out::Notify(DataEvent::Text(text)));
                }
            }
            Control::File {
                id,
                name,
                size,
                sha256,
            } => {
                // The user sees the name next to *Accept*: it must not hide what the file is
                // (`invoice\u{202E}fdp.exe`). What we show of a refused name is cleaned.
                let shown = Label::lossy(&name).to_string();
                // A newer offer replaces one nobody answered (its sender may have given up).
                self.withdrawn(None, out);
                if self.incoming.is_some() {
                    Self::decline(id, shown, "another file is still on its way".into(), out);
                } else if Label::new(name.as_str()).is_err() {
                    let reason = "its name hides or reorders characters".into();
                    Self::decline(id, shown, reason, out);
                } else if size > MAX_RECEIVE_BYTES {
                    let reason = format!(
                        "{size} bytes is more than the {} MiB a call takes",
                        MAX_RECEIVE_BYTES >> 20
                    );
                    Self::decline(id, name, reason, out);
                } else {
                    self.incoming = Some(Incoming::Offered {
                        id: id.clone(),
                        name: name.clone(),
                        size,
                        sha256,
                    });
                    out.push(Out::Notify(DataEvent::Offer { id, name, size }));
                }
            }
            // Answers to our own offers are the sender's business (`Channel`).
            Control::FileAnswer { .. } => {}
            Control::FileCancel { id } => {
                self.withdrawn(Some(&id), out);
                if let Some(Incoming::Accepted { id: ours, name, .. }) = &self.incoming
                    && ours == &id
                {
                    out.push(Out::Notify(DataEvent::Failed {
                        id,
                        name: name.clone(),
                        reason: "the sender stopped sending it; nothing was kept".into(),
                    }));
                    self.incoming = None;
                }
            }
            Control::FileEnd { id } => {
                self.withdrawn(Some(&id), out);
                let Some(Incoming::Accepted {
                    id: ours,
                    name,
                    size,
                    sha256,
                    data,
                    ..
                }) = self.incoming.take()
                else {
                    return;
                };
                let event = if ours != id {
                    DataEvent::Failed {
                        id: ours,
                        name,
                        reason: "the sender ended another file".into(),
                    }
                } else if data.len() as u64 != size || hex(&Sha256::digest(&data)) != sha256 {
                    DataEvent::Failed {
                        id,
                        name,
                        reason: "the file arrived damaged (its size or SHA-256 does not match) and was not kept".into(),
                    }
                } else {
                    DataEvent::File {
                        id,
                        name,
                        data: Arc::new(data),
                    }
                };
                out.push(Out::Notify(event));
            }
        }
    }

    pub(super) fn bytes(&mut self, bytes: &[u8], out: &mut Vec<Out>) {
        let failed = match self.incoming.as_mut() {
            None => {
                // A hostile peer may send a stream of these: no log line each.
                tracing::debug!("{} bytes arrived outside any file; dropped", bytes.len());
                return;
            }
            Some(Incoming::Offered { .. }) => "bytes came before the file was accepted",
            Some(Incoming::Accepted {
                id,
                name,
                size,
                data,
                last_progress,
                ..
            }) => {
                if data.len() as u64 + bytes.len() as u64 > *size {
                    "more bytes came than the file announced"
                } else {
                    data.extend_from_slice(bytes);
                    let done = data.len() as u64;
                    if done - *last_progress >= PROGRESS_EVERY || done == *size {
                        *last_progress = done;
                        out.push(Out::Notify(DataEvent::Progress {
                            id: id.clone(),
                            name: name.clone(),
                            done,
                            total: *size,
                            sending: false,
                        }));
                    }
                    return;
                }
            }
        };
        let (id, name) = match self.incoming.take() {
            Some(Incoming::Offered { id, name, .. } | Incoming::Accepted { id, name, .. }) => {
                (id, name)
            }
            None => return,
        };
        Self::decline(id, name, format!("{failed}; it was not kept"), out);
    }

    /// The user's answer to the offer waiting; false when no offer of that id waits.
    pub(super) fn answer(&mut self, id: &str, accept: bool, out: &mut Vec<Out>) -> bool {
        let Some(Incoming::Offered {
            id: offered,
            name,
            size,
            sha256,
        }) = self.incoming.take()
        else {
            return false;
        };
        if offered != id {
            self.incoming = Some(Incoming::Offered {
                id: offered,
                name,
                size,
                sha256,
            });
            return false;
        }
        if accept {
            // The size is the far end's word (checked against MAX_RECEIVE_BYTES): cap what we
            // reserve all the same.
            let reserve = usize::try_from(size.min(64 * 1024 * 1024)).unwrap_or(0);
            self.incoming = Some(Incoming::Accepted {
                id: offered.clone(),
                name,
                size,
                sha256,
                data: Vec::with_capacity(reserve),
                last_progress: 0,
            });
        }
        out.push(Out::Say(Control::FileAnswer {
            id: offered,
            accept,
        }));
        true
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use super::super::CHUNK;
    use super::*;

    fn offer(id: &str, data: &[u8]) -> Control {
        Control::File {
            id: id.into(),
            name: "contract.pdf".into(),
            size: data.len() as u64,
            sha256: hex(&Sha256::digest(data)),
        }
    }

    fn events(out: Vec<Out>) -> Vec<DataEvent> {
        out.into_iter()
            .filter_map(|o| match o {
                Out::Notify(e) => Some(e),
                Out::Say(_) => None,
            })
            .collect()
    }

    fn answers(out: &[Out]) -> Vec<bool> {
        out.iter()
            .filter_map(|o| match o {
                Out::Say(Control::FileAnswer { accept, .. }) => Some(*accept),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_file_is_taken_only_once_accepted_and_whole() {
        let data = vec![7u8; 40_000];
        let mut i = Inbound::default();
        let mut out = Vec::new();
        i.control_now(offer("f1", &data), &mut out);
        assert!(matches!(
            &events(out)[..],
            [DataEvent::Offer { size: 40_000, .. }]
        ));
        let mut out = Vec::new();
        assert!(!i.answer("other", true, &mut out), "only the offer waiting");
        assert!(i.answer("f1", true, &mut out));
        assert_eq!(answers(&out), [true]);
        let mut out = Vec::new();
        for c in data.chunks(CHUNK) {
            i.bytes(c, &mut out);
        }
        i.control_now(Control::FileEnd { id: "f1".into() }, &mut out);
        let got = events(out);
        assert!(
            matches!(got.last(), Some(DataEvent::File { data: d, .. }) if **d == data),
            "{got:?}"
        );
    }

    #[test]
    fn bytes_before_consent_beyond_the_size_or_with_a_wrong_digest_are_refused() {
        let data = vec![1u8; 1000];
        // Before the user said yes.
        let mut i = Inbound::default();
        let mut out = Vec::new();
        i.control_now(offer("f1", &data), &mut out);
        let mut out = Vec::new();
        i.bytes(&data, &mut out);
        assert_eq!(answers(&out), [false]);
        assert!(matches!(&events(out)[..], [DataEvent::Failed { .. }]));
        assert!(!i.answer("f1", true, &mut Vec::new()), "the offer is gone");
        // More than announced: the transfer ends, nothing is kept.
        let mut out = Vec::new();
        i.control_now(offer("f2", &data), &mut out);
        i.answer("f2", true, &mut out);
        let mut out = Vec::new();
        i.bytes(&data, &mut out);
        i.bytes(&[0u8; 1], &mut out);
        i.control_now(Control::FileEnd { id: "f2".into() }, &mut out);
        let got = events(out);
        assert!(
            !got.iter().any(|e| matches!(e, DataEvent::File { .. })),
            "{got:?}"
        );
        assert!(
            matches!(got.last(), Some(DataEvent::Failed { reason, .. }) if reason.contains("more bytes"))
        );
        // The right size with other bytes: the digest says no.
        let mut out = Vec::new();
        i.control_now(offer("f3", &data), &mut out);
        i.answer("f3", true, &mut out);
        let mut out = Vec::new();
        i.bytes(&vec![2u8; 1000], &mut out);
        i.control_now(Control::FileEnd { id: "f3".into() }, &mut out);
        let got = events(out);
        assert!(
            matches!(got.last(), Some(DataEvent::Failed { reason, .. }) if reason.contains("damaged"))
        );
        assert!(!got.iter().any(|e| matches!(e, DataEvent::File { .. })));
    }

    #[test]
    fn oversized_second_and_declined_offers_take_nothing() {
        let mut i = Inbound::default();
        let mut out = Vec::new();
        i.control_now(
            Control::File {
                id: "huge".into(),
                name: "disk.img".into(),
                size: MAX_RECEIVE_BYTES + 1,
                sha256: "0".repeat(64),
            },
            &mut out,
        );
        assert_eq!(answers(&out), [false]);
        // While a file comes in, another offer is declined.
        let mut out = Vec::new();
        i.control_now(offer("a", b"x"), &mut out);
        i.answer("a", true, &mut out);
        let mut out = Vec::new();
        i.control_now(offer("b", b"y"), &mut out);
        assert_eq!(answers(&out), [false], "one file at a time");
        i.bytes(b"x", &mut Vec::new());
        i.control_now(Control::FileEnd { id: "a".into() }, &mut Vec::new());
        // Declined: its bytes are dropped, nothing is delivered.
        let mut out = Vec::new();
        i.control_now(offer("c", b"z"), &mut out);
        assert!(i.answer("c", false, &mut out));
        let mut out = Vec::new();
        i.bytes(b"z", &mut out);
        i.control_now(Control::FileEnd { id: "c".into() }, &mut out);
        assert!(events(out).is_empty(), "a declined file leaves nothing");
    }

    #[test]
    fn an_offer_nobody_answered_can_be_taken_back_or_replaced() {
        let mut i = Inbound::default();
        i.control_now(offer("old", b"1"), &mut Vec::new());
        let mut out = Vec::new();
        i.control_now(Control::FileCancel { id: "old".into() }, &mut out);
        assert!(matches!(&events(out)[..], [DataEvent::Failed { id, .. }] if id == "old"));
        assert!(
            !i.answer("old", true, &mut Vec::new()),
            "a late yes takes nothing"
        );
        // A new offer replaces one left unanswered, and is taken as usual.
        i.control_now(offer("first", b"1"), &mut Vec::new());
        let mut out = Vec::new();
        i.control_now(offer("second", b"2"), &mut out);
        let got = events(out);
        assert!(
            matches!(&got[..], [DataEvent::Failed { id, .. }, DataEvent::Offer { id: new, .. }] if id == "first" && new == "second"),
            "{got:?}"
        );
        assert!(i.answer("second", true, &mut Vec::new()));
    }

    #[test]
    fn a_name_that_disguises_the_file_is_declined_and_shown_cleaned() {
        let mut i = Inbound::default();
        let mut out = Vec::new();
        i.control_now(
            Control::File {
                id: "x".into(),
                name: "invoice\u{202E}fdp.exe".into(),
                size: 1,
                sha256: "0".repeat(64),
            },
            &mut out,
        );
        assert_eq!(answers(&out), [false]);
        let got = events(out);
        assert!(
            matches!(&got[..], [DataEvent::Failed { name, .. }] if name == "invoicefdp.exe"),
            "{got:?}"
        );
    }

    #[test]
    fn a_flood_of_texts_is_cut_to_the_allowance() {
        let mut i = Inbound::default();
        let t0 = Instant::now();
        let mut out = Vec::new();
        for n in 0..1000 {
            i.control(
                Control::Text {
                    text: format!("spam {n}"),
                },
                t0,
                &mut out,
            );
        }
        assert_eq!(events(out).len(), CONTROL_BURST as usize);
        // A second later, a second's worth more.
        let mut out = Vec::new();
        for n in 0..1000 {
            i.control(
                Control::Text {
                    text: format!("more {n}"),
                },
                t0 + Duration::from_secs(1),
                &mut out,
            );
        }
        assert_eq!(events(out).len(), CONTROL_PER_SECOND as usize);
    }

    impl Inbound {
        fn control_now(&mut self, c: Control, out: &mut Vec<Out>) {
            self.control(c, Instant::now(), out);
        }
    }
}
