//! Turning WebSocket text frames into messages and back, with the error a server must answer
//! for each way a frame can be wrong (CONTRACTS.md: unknown `type` → `unknown_type`, …).

use serde::Deserialize;

use crate::client::{ClientFrame, ClientMessage};
use crate::error::ErrorCode;
use crate::ids::RequestId;
use crate::limits;
use crate::server::{ServerFrame, ServerMessage};

/// A wire enum's own spelling (`"no_answer"`, `"remote"`, `"video"`): what a database column or a
/// log keeps of an `EndCode`, a `Side` or a `CallMedia`.
pub fn wire_name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// A wire enum back from its spelling; `None` for one this build does not know.
pub fn from_wire_name<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.into())).ok()
}

/// Why a frame could not be read, and what to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The error code for the reply.
    pub code: ErrorCode,
    /// The request id of the frame, when it could be read, so the reply can echo it.
    pub id: Option<RequestId>,
    /// For people: what was wrong.
    pub message: String,
}

impl DecodeError {
    /// The `error` frame to send back.
    pub fn to_frame(&self) -> ServerFrame {
        ServerFrame::error(self.id, self.code, self.message.clone())
    }
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

impl std::error::Error for DecodeError {}

/// The least of a frame: enough to tell "not a message" from "unknown type" from "bad fields".
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "type")]
    ty: serde_json::Value,
    #[serde(default)]
    id: Option<serde_json::Value>,
}

/// Reads one client frame, enforcing the frame size limit and the message limits.
pub fn decode_client(text: &str) -> Result<ClientFrame, DecodeError> {
    decode(text, &ClientMessage::TYPES).and_then(|frame: ClientFrame| {
        frame
            .message
            .check_limits()
            .map_err(|message| DecodeError {
                code: ErrorCode::InvalidMessage,
                id: frame.id,
                message: format!("{}: {message}", frame.message.type_name()),
            })?;
        Ok(frame)
    })
}

/// Reads one server frame. Unknown types become [`ServerMessage::Unknown`] rather than errors,
/// so an older client keeps working with a newer server.
pub fn decode_server(text: &str) -> Result<ServerFrame, DecodeError> {
    decode(text, &ServerMessage::TYPES)
}

fn decode<T: serde::de::DeserializeOwned>(text: &str, known: &[&str]) -> Result<T, DecodeError> {
    if text.len() > limits::MAX_FRAME_BYTES {
        return Err(DecodeError {
            code: ErrorCode::FrameTooLarge,
            id: None,
            message: format!(
                "frame of {} bytes; the limit is {} bytes",
                text.len(),
                limits::MAX_FRAME_BYTES
            ),
        });
    }
    match serde_json::from_str::<T>(text) {
        Ok(frame) => Ok(frame),
        Err(full) => Err(explain(text, known, full)),
    }
}

/// Works out which error a frame that failed to parse deserves.
fn explain(text: &str, known: &[&str], full: serde_json::Error) -> DecodeError {
    let malformed = |message: String| DecodeError {
        code: ErrorCode::MalformedFrame,
        id: None,
        message,
    };
    let probe = match serde_json::from_str::<Probe>(text) {
        Ok(p) => p,
        Err(e) if e.is_data() => {
            return malformed("a frame is a JSON object with a string \"type\"".into());
        }
        Err(e) => return malformed(format!("not JSON: {e}")),
    };
    let id = probe
        .id
        .as_ref()
        .and_then(|v| v.as_u64())
        .and_then(|n| RequestId::try_from(n).ok());
    let Some(ty) = probe.ty.as_str() else {
        return DecodeError {
            id,
            ..malformed("\"type\" must be a string".into())
        };
    };
    if !known.contains(&ty) {
        return DecodeError {
            code: ErrorCode::UnknownType,
            id,
            message: format!("unknown type {:?}", truncate(ty, 64)),
        };
    }
    DecodeError {
        code: ErrorCode::InvalidMessage,
        id,
        message: format!("{ty}: {full}"),
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

/// Writes a frame as the JSON text of one WebSocket frame.
pub fn encode<T: serde::Serialize>(frame: &T) -> String {
    // Our frame types are maps of strings, numbers and booleans: serializing them cannot fail.
    serde_json::to_string(frame).expect("protocol frames always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_type_is_told_apart_from_bad_fields() {
        let e = decode_client(r#"{"type":"teleport","id":7}"#).unwrap_err();
        assert_eq!((e.code, e.id), (ErrorCode::UnknownType, Some(7)));

        let e = decode_client(r#"{"type":"invite","id":8,"to":"bob"}"#).unwrap_err();
        assert_eq!((e.code, e.id), (ErrorCode::InvalidMessage, Some(8)));
        assert!(e.message.starts_with("invite:"), "{}", e.message);
    }

    #[test]
    fn garbage_is_malformed() {
        for text in [
            "",
            "nope",
            "[1,2]",
            "{\"id\":1}",
            "{\"type\":5}",
            "{\"type\":\"ping\"",
        ] {
            let e = decode_client(text).unwrap_err();
            assert_eq!(e.code, ErrorCode::MalformedFrame, "{text:?}: {e}");
        }
    }

    #[test]
    fn oversized_frames_are_refused_unread() {
        let text = format!(
            r#"{{"type":"ping","pad":"{}"}}"#,
            "x".repeat(limits::MAX_FRAME_BYTES)
        );
        assert_eq!(
            decode_client(&text).unwrap_err().code,
            ErrorCode::FrameTooLarge
        );
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let f = decode_client(r#"{"type":"ping","id":3,"from_the_future":{"x":1}}"#).unwrap();
        assert_eq!(f, ClientFrame::request(3, ClientMessage::Ping));
    }

    #[test]
    fn limits_beyond_single_strings_are_checked() {
        let e = decode_client(
            r#"{"type":"invite","id":2,"media":"audio","to":[{"user":"bob"},{"user":"bob"}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidMessage);
        assert!(e.message.contains("invited twice"), "{}", e.message);
    }

    #[test]
    fn newer_server_types_are_ignored_by_clients() {
        let f = decode_server(r#"{"type":"hologram","id":1}"#).unwrap();
        assert_eq!(f.message, ServerMessage::Unknown);
    }
}
