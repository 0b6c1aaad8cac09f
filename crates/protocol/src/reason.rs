//! Why a call ended: one code plus the side that caused it, as seen by the receiver
//! (`spec/seed-inventory.md` §3.5: RongCloud's local/remote pairs 1↔11, 2↔12 … become one code
//! and a side).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Why a call (or one member's part in it) ended. Both parties of a call get the same `code`;
/// each gets the `side` from its own point of view, so a callee who declines records
/// `rejected`/`local` and its caller `rejected`/`remote`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
pub struct EndReason {
    /// What happened.
    pub code: EndCode,
    /// Who made it happen, from the receiver's point of view.
    pub side: Side,
}

impl EndReason {
    /// A reason from its parts.
    pub const fn new(code: EndCode, side: Side) -> Self {
        Self { code, side }
    }

    /// The same event as the other party sees it: `local` and `remote` swap; a device of the
    /// same user, the server and the system stay what they are.
    pub const fn for_peer(self) -> Self {
        let side = match self.side {
            Side::Local => Side::Remote,
            Side::Remote => Side::Local,
            other => other,
        };
        Self {
            code: self.code,
            side,
        }
    }
}

/// Who caused a call to end, from the receiver's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// This device: the user here hung up, declined, cancelled, or this device failed.
    Local,
    /// Another party of the call.
    Remote,
    /// Another device signed in as the same user (answered or ended elsewhere).
    OtherDevice,
    /// The server: ring or queue timeout, kick, shutdown, routing.
    Server,
    /// The operating system or the network: a lost connection, a failed device, an interruption.
    System,
}

/// The end codes of the unified set (`spec/seed-inventory.md` §3.5), in snake_case on the wire.
/// The seed equivalents are noted per code: R = RongCloud `RCCallEndReason`, T = TRTCCalling
/// event, M = mPaaS MRTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum EndCode {
    /// A normal hang-up after the call was answered (R 3/13, T `CALL_END`, M leaveType 1).
    Hangup,
    /// The caller cancelled before anyone answered (R 1/11, T `CALLING_CANCEL`).
    Cancelled,
    /// The callee declined (R 2/12, T `REJECT`, M reply 2).
    Rejected,
    /// The callee was already in a call or already ringing (R 4/14, T `LINE_BUSY`).
    Busy,
    /// Nobody answered before the ring timeout (R 5/15, T `NO_RESP`/`CALLING_TIMEOUT`).
    NoAnswer,
    /// The callee was not signed in anywhere; the call is kept as a missed call for their next
    /// sign-in (M reply 1).
    CalleeOffline,
    /// Another device of the same user answered (R 101).
    AnsweredElsewhere,
    /// Another device of the same user declined or hung up (R 102).
    EndedElsewhere,
    /// Another device of the same user is already in a call (R 21/22/31/32).
    OtherDeviceInCall,
    /// The same account signed in on another device and this one was signed out (T
    /// `KICKED_OUT`, M leaveType 3).
    KickedDuplicateLogin,
    /// An administrator or the server removed this party (R close trigger 2, M 5009).
    KickedByServer,
    /// Signaling or media was lost for longer than the resume window (R 7/17, M 5007/5010).
    NetworkLost,
    /// A camera or microphone was missing, denied or failed (R 8/18, T 60003–60005).
    MediaDeviceError,
    /// Offer/answer, ICE or DTLS failed (R 9/10/19/20, M 5003/5004).
    MediaNegotiationFailed,
    /// A party cannot do the media the call needs (R 6/16, M 5103).
    EngineUnsupported,
    /// The callee blocks the caller (R 103).
    Blocked,
    /// The caller is not allowed to make this call (R 23/33).
    Forbidden,
    /// The service is unavailable: not enabled, shutting down, or failing (R 104).
    ServiceUnavailable,
    /// The operating system took the audio device, e.g. a phone call (R 24/34).
    SystemInterruption,
    /// The last other member left a group call (R close trigger 3, T `callEnd`).
    CallCompleted,
    /// The customer hung up while waiting in the queue. Not in the seeds.
    QueueAbandoned,
    /// Nobody with the skill for this business is signed in as an agent. Not in the seeds.
    NoAgentAvailable,
    /// The customer waited longer than the queue's maximum wait. Not in the seeds.
    QueueTimeout,
    /// The agent handed the customer on (blind transfer to another agent or a queue); the
    /// customer's call goes on. Ends the transferring agent's leg only. Not in the seeds.
    Transferred,
    /// A code this build does not know (sent by a newer server). Treat like `hangup`.
    #[serde(other)]
    Unknown,
}

impl EndCode {
    /// Every known code, in declaration order (for exhaustive tests and documentation).
    pub const ALL: [EndCode; 24] = [
        EndCode::Hangup,
        EndCode::Cancelled,
        EndCode::Rejected,
        EndCode::Busy,
        EndCode::NoAnswer,
        EndCode::CalleeOffline,
        EndCode::AnsweredElsewhere,
        EndCode::EndedElsewhere,
        EndCode::OtherDeviceInCall,
        EndCode::KickedDuplicateLogin,
        EndCode::KickedByServer,
        EndCode::NetworkLost,
        EndCode::MediaDeviceError,
        EndCode::MediaNegotiationFailed,
        EndCode::EngineUnsupported,
        EndCode::Blocked,
        EndCode::Forbidden,
        EndCode::ServiceUnavailable,
        EndCode::SystemInterruption,
        EndCode::CallCompleted,
        EndCode::QueueAbandoned,
        EndCode::NoAgentAvailable,
        EndCode::QueueTimeout,
        EndCode::Transferred,
    ];

    /// Whether the call ended as people expect calls to end (someone chose to end it), as
    /// opposed to a failure worth showing as an error.
    pub const fn is_normal(self) -> bool {
        matches!(
            self,
            EndCode::Hangup
                | EndCode::Cancelled
                | EndCode::Rejected
                | EndCode::Busy
                | EndCode::NoAnswer
                | EndCode::CalleeOffline
                | EndCode::AnsweredElsewhere
                | EndCode::EndedElsewhere
                | EndCode::CallCompleted
                | EndCode::QueueAbandoned
                | EndCode::Transferred
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_contract_spelling() {
        let spelled: Vec<String> = EndCode::ALL
            .iter()
            .map(|c| {
                serde_json::to_value(c)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        // The list of CONTRACTS.md, plus `transferred` (ours, see docs/protocol.md).
        let contract = [
            "hangup",
            "cancelled",
            "rejected",
            "busy",
            "no_answer",
            "callee_offline",
            "answered_elsewhere",
            "ended_elsewhere",
            "other_device_in_call",
            "kicked_duplicate_login",
            "kicked_by_server",
            "network_lost",
            "media_device_error",
            "media_negotiation_failed",
            "engine_unsupported",
            "blocked",
            "forbidden",
            "service_unavailable",
            "system_interruption",
            "call_completed",
            "queue_abandoned",
            "no_agent_available",
            "queue_timeout",
            "transferred",
        ];
        assert_eq!(spelled, contract);
    }

    #[test]
    fn unknown_codes_from_newer_servers_still_parse() {
        let r: EndReason = serde_json::from_str(r#"{"code":"alien_abduction","side":"server"}"#)
            .expect("unknown codes are tolerated");
        assert_eq!(r.code, EndCode::Unknown);
    }

    #[test]
    fn the_peer_sees_the_other_side() {
        let mine = EndReason::new(EndCode::Rejected, Side::Local);
        assert_eq!(
            mine.for_peer(),
            EndReason::new(EndCode::Rejected, Side::Remote)
        );
        assert_eq!(mine.for_peer().for_peer(), mine);
        let server = EndReason::new(EndCode::NoAnswer, Side::Server);
        assert_eq!(server.for_peer(), server);
    }
}
