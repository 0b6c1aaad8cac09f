//! Payload types of calls: media, members, SDP and ICE, media notices, file offers, and the
//! application data that may ride on an invite.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ids::{CandidateLine, Label, Sdp, Sha256Hex, TransferId, UserId};
use crate::limits;

/// What a call carries: audio only, or audio and video. Like RongCloud's `mediaType` 1/2,
/// TRTC's `type` 1/2 and anyRTC's `callMode` 2/0 (20/21 for customer-service calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CallMedia {
    /// Audio only.
    Audio,
    /// Audio and video.
    Video,
}

/// How a call came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    /// One user called another.
    Direct,
    /// A call with more than two members, or a direct call someone was invited into.
    Group,
    /// A customer's call routed to an agent by the queue.
    Queue,
}

/// Someone invited into a call, with the inviter's SDP offer for them. The offer rides with the
/// invite so that ICE and DTLS complete while the callee's phone rings; no media flows before
/// `accept` (CONTRACTS.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct Invitee {
    /// Who is invited.
    pub user: UserId,
    /// The inviter's offer for the peer connection with this invitee. Without it, the inviter
    /// sends the offer later in an `sdp` frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<Sdp>,
}

/// Where a member is in a call. The server broadcasts every change to all members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MemberState {
    /// Invited; the server is delivering the invite.
    Invited,
    /// A device of the member acknowledged the invite and is ringing.
    Ringing,
    /// The member answered and is in the call.
    Joined,
    /// The member left, declined, or never answered; see the accompanying reason.
    Left,
}

/// A member of a call as other members see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct Member {
    /// The member's user id.
    pub user: UserId,
    /// Where they are in the call.
    pub state: MemberState,
    /// A name to show, when the account has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<Label>,
}

/// Which half of an offer/answer exchange an SDP blob is. (Not `type`: that key is the frame's
/// tag.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SdpKind {
    /// Starts a negotiation (also a renegotiation, e.g. switching audio↔video).
    Offer,
    /// Completes one.
    Answer,
}

/// One trickled ICE candidate, as in the browser's `RTCIceCandidateInit` (snake_case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct IceCandidate {
    /// The `candidate:…` line.
    pub candidate: CandidateLine,
    /// The media section's `mid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<Label>,
    /// The media section's index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mline_index: Option<u16>,
    /// The ICE username fragment the candidate belongs to (tells ICE restarts apart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_fragment: Option<Label>,
}

/// What a member is sending, told to the others so their UI can show it (a muted microphone,
/// a camera turned off, a screen share, a recording in progress). The full state each time, so
/// a lost or reordered notice cannot leave the far side wrong for long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, TS)]
pub struct MediaState {
    /// The microphone is sending (false: muted).
    pub audio: bool,
    /// The camera is sending (false: camera off or an audio call).
    pub video: bool,
    /// A screen or window is being shared.
    pub screen: bool,
    /// This member is recording the call locally; the others must be told (mPaaS seat-side
    /// recording).
    pub recording: bool,
}

/// A file that one member offers to send to another over the call's data channel. The bytes
/// never pass through the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct FileOffer {
    /// The sender's id for this transfer; the data-channel chunks and the reply carry it.
    pub transfer_id: TransferId,
    /// The file's name (no path).
    pub name: Label,
    /// Its size in bytes.
    pub size: u64,
    /// Its media type, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime: Option<Label>,
    /// SHA-256 of the whole file; the receiver checks it after the last chunk.
    pub sha256: Sha256Hex,
}

impl FileOffer {
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.size > limits::MAX_FILE_BYTES {
            return Err(format!(
                "file of {} bytes is larger than the limit of {} bytes",
                self.size,
                limits::MAX_FILE_BYTES
            ));
        }
        Ok(())
    }
}

/// Application data attached to an invite or an enqueue (anyRTC's `callExtend`, RongCloud's
/// `extra`, TRTC's `inviteData`): a JSON object of at most 4 KiB, passed through untouched, for
/// example a CRM case number for a screen pop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(try_from = "serde_json::Value", into = "serde_json::Value")]
#[ts(type = "{ [key in string]?: JsonValue }")]
pub struct Extra(serde_json::Map<String, serde_json::Value>);

impl Extra {
    /// The object inside.
    pub fn as_map(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.0
    }
}

impl TryFrom<serde_json::Value> for Extra {
    type Error = String;
    fn try_from(value: serde_json::Value) -> Result<Self, Self::Error> {
        let serde_json::Value::Object(map) = value else {
            return Err("extra must be a JSON object".into());
        };
        let size = serde_json::to_string(&map)
            .map(|s| s.len())
            .unwrap_or(usize::MAX);
        if size > limits::MAX_EXTRA_BYTES {
            return Err(format!(
                "extra is {size} bytes, the limit is {}",
                limits::MAX_EXTRA_BYTES
            ));
        }
        Ok(Self(map))
    }
}

impl From<Extra> for serde_json::Value {
    fn from(e: Extra) -> Self {
        serde_json::Value::Object(e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_must_be_a_small_object() {
        assert!(serde_json::from_str::<Extra>(r#"{"case":"CRM-1"}"#).is_ok());
        assert!(serde_json::from_str::<Extra>("[1,2]").is_err());
        let big = format!(r#"{{"x":"{}"}}"#, "a".repeat(limits::MAX_EXTRA_BYTES));
        let err = serde_json::from_str::<Extra>(&big).unwrap_err();
        assert!(err.to_string().contains("the limit is"), "{err}");
    }
}
