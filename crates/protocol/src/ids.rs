//! Identifiers and bounded strings of the wire. Each one checks its own limits while it is
//! deserialized, so a frame that parses is a frame whose strings are within bounds.

use std::fmt;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::limits;

/// Why a string was refused as an identifier or bounded text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidString {
    /// Which kind of value was being read, e.g. `user id`.
    pub what: &'static str,
    /// What was wrong with it.
    pub problem: String,
}

impl fmt::Display for InvalidString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.what, self.problem)
    }
}

impl std::error::Error for InvalidString {}

/// Characters allowed in ids: what every seed SDK accepts in a user id (letters, digits,
/// underscore, hyphen), plus `.` and `@` so that e-mail-like account names work.
fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@')
}

fn check_id(what: &'static str, s: &str, max: usize) -> Result<(), InvalidString> {
    if s.is_empty() {
        return Err(InvalidString {
            what,
            problem: "empty".into(),
        });
    }
    if s.len() > max {
        return Err(InvalidString {
            what,
            problem: format!("{} bytes, the limit is {max}", s.len()),
        });
    }
    if let Some(c) = s.chars().find(|c| !is_id_char(*c)) {
        return Err(InvalidString {
            what,
            problem: format!("character {c:?} is not allowed (letters, digits, _ - . @)"),
        });
    }
    Ok(())
}

fn check_text(what: &'static str, s: &str, max_chars: usize) -> Result<(), InvalidString> {
    let n = s.chars().count();
    if n > max_chars {
        return Err(InvalidString {
            what,
            problem: format!("{n} characters, the limit is {max_chars}"),
        });
    }
    Ok(())
}

/// Characters that reorder, hide or break text when shown: the bidirectional embeddings,
/// overrides, isolates and marks (Unicode's `Bidi_Control`), invisible separators and joiners
/// that make look-alike names (soft hyphen, zero-width space, word joiner and the invisible
/// operators, the byte-order mark) and the line and paragraph separators. The zero-width
/// non-joiner and joiner (U+200C, U+200D) stay: Persian and Indic names and emoji need them.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{200B}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
    )
}

fn check_label(what: &'static str, s: &str) -> Result<(), InvalidString> {
    check_text(what, s, limits::MAX_LABEL_CHARS)?;
    if s.trim().is_empty() {
        return Err(InvalidString {
            what,
            problem: "empty".into(),
        });
    }
    if let Some(c) = s.chars().find(|c| c.is_control() || is_bidi_control(*c)) {
        return Err(InvalidString {
            what,
            problem: format!(
                "character {c:?} is not allowed (control or bidirectional formatting)"
            ),
        });
    }
    Ok(())
}

macro_rules! bounded_string {
    ($(#[$doc:meta])* $name:ident, $what:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
        #[serde(try_from = "String", into = "String")]
        #[ts(type = "string")]
        pub struct $name(String);

        impl $name {
            /// Checks `s` against this type's limits.
            pub fn new(s: impl Into<String>) -> Result<Self, InvalidString> {
                let s = s.into();
                let check: fn(&'static str, &str) -> Result<(), InvalidString> = $check;
                check($what, &s)?;
                Ok(Self(s))
            }

            /// The string itself.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidString;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidString;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

bounded_string!(
    /// An account id: 1–128 of `A–Z a–z 0–9 _ - . @`. Unique within a realm.
    UserId,
    "user id",
    |w, s| check_id(w, s, limits::MAX_ID_BYTES)
);

bounded_string!(
    /// A signaling session (one connected device of a user), issued by the server in its
    /// `hello` reply and presented again to resume after a dropped socket.
    SessionId,
    "session id",
    |w, s| check_id(w, s, limits::MAX_ID_BYTES)
);

bounded_string!(
    /// A call, issued by the server when the call is created (`call_created`, `queued`).
    CallId,
    "call id",
    |w, s| check_id(w, s, limits::MAX_ID_BYTES)
);

bounded_string!(
    /// A business line (a queue) that customers call and agents have as a skill, e.g.
    /// `billing`. Like anyRTC's `strBusiness`.
    Business,
    "business",
    |w, s| check_id(w, s, limits::MAX_ID_BYTES)
);

bounded_string!(
    /// A file transfer inside a call, chosen by the sender (a UUID is a good choice).
    TransferId,
    "transfer id",
    |w, s| check_id(w, s, limits::MAX_ID_BYTES)
);

bounded_string!(
    /// A server-issued message id, unique per realm.
    MessageId,
    "message id",
    |w, s| check_id(w, s, limits::MAX_ID_BYTES)
);

bounded_string!(
    /// A chat message body: at most 4 000 characters.
    Text,
    "text",
    |w, s| check_text(w, s, limits::MAX_TEXT_CHARS)
);

bounded_string!(
    /// A short label: a display name, an agent's area, a not-ready reason, a disposition, a
    /// file name. 1–128 characters, not blank, with no control characters and no bidirectional
    /// formatting characters: a label is shown to other people and written to logs, where
    /// those would forge names (`invoice\u{202E}fdp.exe`) or lines.
    Label,
    "label",
    check_label
);

bounded_string!(
    /// An SDP blob (offer or answer), at most 48 KiB. Its content is the peers' business: the
    /// server relays it without reading it.
    Sdp,
    "sdp",
    |w, s| {
        if s.len() > limits::MAX_SDP_BYTES {
            return Err(InvalidString {
                what: w,
                problem: format!("{} bytes, the limit is {}", s.len(), limits::MAX_SDP_BYTES),
            });
        }
        Ok(())
    }
);

bounded_string!(
    /// A bearer token (see `docs/protocol.md`, "Tokens"). At most 2 KiB.
    Token,
    "token",
    |w, s| {
        if s.is_empty() || s.len() > limits::MAX_TOKEN_BYTES {
            return Err(InvalidString {
                what: w,
                problem: format!("{} bytes, expected 1..={}", s.len(), limits::MAX_TOKEN_BYTES),
            });
        }
        Ok(())
    }
);

bounded_string!(
    /// One ICE candidate line (`candidate:…`, as in `RTCIceCandidate.candidate`), at most
    /// 1 KiB.
    CandidateLine,
    "ice candidate",
    |w, s| {
        if s.len() > limits::MAX_CANDIDATE_BYTES {
            return Err(InvalidString {
                what: w,
                problem: format!("{} bytes, the limit is {}", s.len(), limits::MAX_CANDIDATE_BYTES),
            });
        }
        Ok(())
    }
);

bounded_string!(
    /// A SHA-256 digest as 64 lowercase hexadecimal digits.
    Sha256Hex,
    "sha-256 digest",
    |w, s| {
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(InvalidString { what: w, problem: "expected 64 lowercase hex digits".into() });
        }
        Ok(())
    }
);

impl Label {
    /// `s` with what a label refuses taken out (control and bidirectional-formatting
    /// characters) and cut to the limit; `?` when nothing is left. For showing text that came
    /// from elsewhere without letting it disguise itself.
    pub fn lossy(s: &str) -> Label {
        let kept: String = s
            .chars()
            .filter(|c| !c.is_control() && !is_bidi_control(*c))
            .take(limits::MAX_LABEL_CHARS)
            .collect();
        Label::new(kept).unwrap_or_else(|_| Label("?".into()))
    }
}

/// A request id chosen by the client; the reply or error to that request echoes it.
pub type RequestId = u32;

/// Milliseconds since the Unix epoch (UTC), as the server's clock saw it.
pub type UnixMillis = u64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_follow_the_seed_charset() {
        assert!(UserId::new("alice").is_ok());
        assert!(UserId::new("a1_b-c.d@example.com").is_ok());
        assert!(UserId::new("").is_err());
        assert!(UserId::new("a b").is_err());
        assert!(UserId::new("坐席").is_err());
        assert!(UserId::new("x".repeat(128)).is_ok());
        assert!(UserId::new("x".repeat(129)).is_err());
    }

    #[test]
    fn text_limits_count_characters_not_bytes() {
        assert!(Text::new("好".repeat(limits::MAX_TEXT_CHARS)).is_ok());
        assert!(Text::new("a".repeat(limits::MAX_TEXT_CHARS + 1)).is_err());
        assert!(Text::new("").is_ok());
    }

    #[test]
    fn labels_refuse_blank_control_and_bidi_characters() {
        assert!(Label::new("Ann Lee").is_ok());
        assert!(Label::new("坐席 1").is_ok());
        assert!(
            Label::new("می\u{200C}خواهم").is_ok(),
            "Persian needs the non-joiner"
        );
        assert!(Label::new("x".repeat(limits::MAX_LABEL_CHARS)).is_ok());
        for bad in [
            "",
            "   ",
            "ann\nINFO forged log line",
            "tab\there",
            "\u{7}bell",
            "invoice\u{202E}fdp.exe",
            "\u{2066}isolate\u{2069}",
            "mark\u{200F}",
            "arabic letter mark \u{061C}",
            "zero\u{200B}width",
            "line\u{2028}separator",
            "soft\u{00AD}hyphen",
            "\u{FEFF}bom",
        ] {
            let err = Label::new(bad).unwrap_err();
            assert_eq!(err.what, "label", "{bad:?}");
        }
        assert_eq!(Label::lossy("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(Label::lossy("\u{202E}\n"), "?");
        let err = serde_json::from_str::<Label>("\"a\\u202eb\"").unwrap_err();
        assert!(err.to_string().contains("bidirectional"), "{err}");
    }

    #[test]
    fn deserializing_checks_the_limits() {
        let err = serde_json::from_str::<UserId>("\"no spaces\"").unwrap_err();
        assert!(err.to_string().contains("invalid user id"), "{err}");
        let ok: UserId = serde_json::from_str("\"bob\"").unwrap();
        assert_eq!(ok, "bob");
    }
}
