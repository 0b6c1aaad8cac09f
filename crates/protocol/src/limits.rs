//! Size and count limits of the wire. The server enforces them and announces the per-connection
//! ones in its `hello` reply ([`crate::Limits`]); clients should stay within them.

/// Largest text frame a server accepts, in bytes (UTF-8 JSON). Larger frames are refused with
/// `frame_too_large` before they are parsed.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Longest id (user, session, call, business, transfer, message), in bytes.
pub const MAX_ID_BYTES: usize = 128;

/// Longest chat message, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;

/// Longest short label (display name, area, not-ready reason, disposition, file name), in
/// characters.
pub const MAX_LABEL_CHARS: usize = 128;

/// Largest SDP blob, in bytes. Chromium's offers with all codecs are 6–10 KiB.
pub const MAX_SDP_BYTES: usize = 48 * 1024;

/// Longest ICE candidate line, in bytes.
pub const MAX_CANDIDATE_BYTES: usize = 1024;

/// Longest token, in bytes.
pub const MAX_TOKEN_BYTES: usize = 2048;

/// Largest `extra` (application data on an invite or enqueue), serialized, in bytes.
pub const MAX_EXTRA_BYTES: usize = 4096;

/// Most members of one call, the caller included. Calls are a full mesh of peer connections,
/// which stays sensible up to six.
pub const MAX_CALL_MEMBERS: usize = 6;

/// Most invitations one call may see in its life, the caller's included: members who left
/// still count, so that re-inviting cannot grow a call's record (or anyone's missed calls)
/// without end.
pub const MAX_CALL_INVITATIONS: usize = 4 * MAX_CALL_MEMBERS;

/// Most users one `subscribe_presence` may name (a session follows at most these: a new
/// subscription replaces the last).
pub const MAX_PRESENCE_USERS: usize = 500;

/// Most skills in one agent profile.
pub const MAX_SKILLS: usize = 32;

/// Highest agent skill level and customer priority.
pub const MAX_LEVEL: u8 = 10;

/// Most waiting customers listed in one `cti` update (the figures always count all of them).
pub const MAX_LISTED_WAITING: usize = 50;

/// Largest file offered for transfer inside a call, in bytes (the bytes travel over the data
/// channel, not through the server).
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Sustained messages per second a connection may send before it is answered `rate_limited`.
pub const MESSAGES_PER_SECOND: u32 = 20;

/// Burst of messages a connection may send at once above the sustained rate.
pub const MESSAGE_BURST: u32 = 60;
