// Generated from crates/console, crates/engine and crates/media by `cargo xtask codegen`.
// Do not edit by hand. The commands and events: see docs/app.md.

import type { CallId, CallKind, CallMedia, ConsultContext, EndReason, Label, MediaState, MonitorContext, MonitorMode, QueueContext, Role, ServerMessage, UserId } from "./protocol";

/**
 * A command that failed, as the UI shows it: a stable code and a sentence.
 */
export type CommandError = { code: string, message: string, };

/**
 * Who is signed in.
 */
export type Account = { user: string, role: Role, server: string, };

/**
 * Which calls answer themselves.
 */
export type AutoAnswer = "off" | "always" | "queue";

/**
 * Keys that answer, hang up and mute from anywhere on the desktop (X11, Windows, macOS;
 * Wayland has no global keys). An empty key is not registered.
 */
export type Shortcuts = { global: boolean, answer: string, hangup: string, mute: string, };

/**
 * What the settings page saves in one go (devices and the video profile apply one by one).
 */
export type Preferences = { auto_answer: AutoAnswer, 
/**
 * Opened on answer (a CRM's screen pop): `{caller}`, `{business}`, `{call_id}` are filled in.
 */
screen_pop_url: string, 
/**
 * Run on answer, with `SB_CALLER`, `SB_BUSINESS`, `SB_CALL_ID` in its environment (never
 * pasted into the command line: a caller's name cannot inject anything).
 */
screen_pop_command: string, 
/**
 * The ringer's speaker; empty: the call's speaker.
 */
ringer: string, 
/**
 * 0–100.
 */
ring_volume: number, 
/**
 * A short tone when a call answers itself.
 */
announce_tone: boolean, 
/**
 * The UI's language (`en`, `zh-CN`): the tray and notifications speak it too.
 */
language: string, shortcuts: Shortcuts, 
/**
 * Where recordings go; empty: `recordings` in the profile's data directory.
 */
recordings_dir: string, 
/**
 * What a recording holds.
 */
record_media: RecordMedia, 
/**
 * Burn the agent's id and the time into recorded pictures.
 */
record_watermark: boolean, };

/**
 * What a recording holds (mPaaS `media_type` 1 / 2 / 3).
 */
export type RecordMedia = "audio" | "video" | "both";

/**
 * What the agent set, kept in the profile's data directory: where and as whom to sign in, the
 * devices, and the preferences the settings page saves in one go.
 */
export type Settings = { server: string, user: string, camera: string, microphone: string, speaker: string, video_profile: string, auto_answer: AutoAnswer, 
/**
 * Opened on answer (a CRM's screen pop): `{caller}`, `{business}`, `{call_id}` are filled in.
 */
screen_pop_url: string, 
/**
 * Run on answer, with `SB_CALLER`, `SB_BUSINESS`, `SB_CALL_ID` in its environment (never
 * pasted into the command line: a caller's name cannot inject anything).
 */
screen_pop_command: string, 
/**
 * The ringer's speaker; empty: the call's speaker.
 */
ringer: string, 
/**
 * 0–100.
 */
ring_volume: number, 
/**
 * A short tone when a call answers itself.
 */
announce_tone: boolean, 
/**
 * The UI's language (`en`, `zh-CN`): the tray and notifications speak it too.
 */
language: string, shortcuts: Shortcuts, 
/**
 * Where recordings go; empty: `recordings` in the profile's data directory.
 */
recordings_dir: string, 
/**
 * What a recording holds.
 */
record_media: RecordMedia, 
/**
 * Burn the agent's id and the time into recorded pictures.
 */
record_watermark: boolean, };

/**
 * What to play.
 */
export type Cue = "ring" | "announce" | "speaker_test";

/**
 * What a test sound played, as the settings page shows it.
 */
export type SoundTest = { device: string, 
/**
 * Milliseconds of sound handed to the device.
 */
played_ms: number, 
/**
 * The level the synthetic `meter` speaker measured (dBFS); sound cards do not say.
 */
level_dbfs: number | null, };

export type DeviceKind = "camera" | "microphone" | "speaker";

/**
 * One device as a user picks it.
 */
export type DeviceInfo = { 
/**
 * Stable across runs and hot-plugs: what settings store.
 */
id: string, name: string, kind: DeviceKind, synthetic: boolean, };

/**
 * Video, one direction each way with one member.
 */
export type VideoStats = { 
/**
 * Encoded frames we sent to this member.
 */
sent: number, 
/**
 * Of those, frames forwarded as another connection carries them, not encoded for this
 * member (a supervisor's view of a call).
 */
forwarded: number, 
/**
 * Camera frames we did not send: the encoder's rate control skipped them, or the encoder
 * fell behind the camera.
 */
skipped: number, 
/**
 * Complete access units that arrived from them.
 */
received: number, 
/**
 * Pictures the decoder produced.
 */
decoded: number, 
/**
 * Decoded pictures whose frame counter was above the previous one.
 */
in_order: number, 
/**
 * Frames the sender numbered that never decoded here (gaps in the frame counter).
 */
lost: number, 
/**
 * Frames given up (a packet never came) or skipped while waiting for a keyframe.
 */
dropped: number, 
/**
 * Keyframes we asked them for (PLI).
 */
keyframes_requested: number, 
/**
 * Keyframe requests they sent us.
 */
keyframe_requests_received: number, 
/**
 * The fraction of our packets the far end reported lost (RTCP RR, before NACK repair).
 */
far_loss: number, 
/**
 * The encoder's target now, bits per second (from the congestion controller).
 */
target_bps: number, 
/**
 * What we actually sent over the last second, bits per second.
 */
send_bps: number, 
/**
 * Our delay-based estimate of the path from them, sent to them as REMB, bits per second
 * (0 until the path has shown a limit).
 */
remote_estimate_bps: number, 
/**
 * Median capture → decode latency from the embedded capture time, milliseconds.
 */
latency_ms_p50: number | null, 
/**
 * The size of the last decoded picture.
 */
width: number, height: number, 
/**
 * The video m-line is negotiated to carry pictures (false in an audio call: `inactive`
 * after an audio↔video renegotiation).
 */
negotiated: boolean, };

/**
 * Audio, likewise.
 */
export type AudioStats = { 
/**
 * 20 ms Opus frames we sent.
 */
sent: number, 
/**
 * Packets that arrived (no duplicates).
 */
received: number, 
/**
 * Frames decoded from packets (including ones rebuilt from the next packet's FEC).
 */
decoded: number, 
/**
 * Of those, rebuilt from FEC.
 */
fec: number, 
/**
 * Frames concealed (PLC) because nothing arrived in time.
 */
concealed: number, 
/**
 * Packets that never arrived (gaps in the sequence numbers).
 */
lost: number, 
/**
 * Packets that arrived after their turn to play had passed (concealed instead).
 */
late: number, 
/**
 * Interarrival jitter, milliseconds.
 */
jitter_ms: number, 
/**
 * Timing marks the meter heard.
 */
marks: number, 
/**
 * Median capture → play latency of the timing marks, milliseconds.
 */
latency_ms_p50: number | null, 
/**
 * Level of what played, dBFS.
 */
level_dbfs: number, 
/**
 * The level over the last second, dBFS.
 */
recent_level_dbfs: number, 
/**
 * In how many 40 ms blocks each hum of the tone microphones
 * ([`switchboard_media::TONE_FAMILY`], in that order: 440, 550, 660, 770 Hz) was heard:
 * which parties' voices arrived (a monitor's mix carries two).
 */
tones: [number, number, number, number], };

/**
 * The path media takes to a member.
 */
export type Route = "direct" | "relay";

/**
 * One remote member.
 */
export type PeerStats = { user: string, video: VideoStats, 
/**
 * The screen-share track (both directions as for the camera; zero while nobody shares).
 */
screen: VideoStats, audio: AudioStats, 
/**
 * Round-trip time from RTCP, milliseconds, when known.
 */
rtt_ms: number | null, 
/**
 * 1 (bad) … 5 (excellent), from loss, RTT and jitter, like the SDKs' network quality.
 */
quality: number, 
/**
 * How media leaves here for this member, once ICE chose a path: through a relay when
 * our end of the chosen pair is a relay candidate or the far end's is one we were told of.
 * (A far end known only as peer-reflexive may still be the far end's relay: its own side
 * says so.)
 */
route: Route | null, };

/**
 * What a finished recording holds (the console's UI is told it as it is).
 */
export type RecordingSummary = { path: string, 
/**
 * Recorded time (pauses excluded), ms.
 */
duration_ms: number, video_frames: number, audio_frames: number, bytes: number, 
/**
 * Set when writing failed part-way (disk full, the folder went away): what was written
 * before stays playable. Told as its sentence.
 */
error: string | null, };

/**
 * What the engine tells its user.
 */
export type Event = { "type": "signaling_lost", reason: string, } | { "type": "closed", reason: string, } | { "type": "incoming", call_id: CallId, from: UserId, kind: CallKind, media: CallMedia, members: Array<UserId>, 
/**
 * The caller's display name, if they have one.
 */
from_name: Label | null, 
/**
 * For a customer from the queue: business, priority, wait, name (`warm`: a warm
 * transfer, which the engine accepts at once).
 */
queue: QueueContext | null, 
/**
 * A consult: the customer call a colleague calls us about.
 */
consult: ConsultContext | null, 
/**
 * Our supervisor monitors our customer call: the engine answers at once and bridges
 * it (show it only when `notice`).
 */
monitor: MonitorContext | null, } | { "type": "monitor", call_id: CallId, 
/**
 * The customer call it supervises.
 */
of: CallId, mode: MonitorMode, } | { "type": "conference", 
/**
 * The consult call.
 */
call_id: CallId, 
/**
 * The customer call.
 */
of: CallId, } | { "type": "transport_ready", call_id: CallId, user: UserId, } | { "type": "transport_lost", call_id: CallId, user: UserId, } | { "type": "ringing", call_id: CallId, user: UserId, } | { "type": "member_joined", call_id: CallId, user: UserId, } | { "type": "member_left", call_id: CallId, user: UserId, reason: EndReason | null, } | { "type": "first_media", call_id: CallId, user: UserId, kind: string, } | { "type": "remote_media_state", call_id: CallId, user: UserId, state: MediaState, } | { "type": "media_switched", call_id: CallId, by: UserId, media: CallMedia, } | { "type": "file_progress", call_id: CallId, user: UserId, name: string, done: number, total: number, sending: boolean, } | { "type": "file_offered", call_id: CallId, from: UserId, id: string, name: string, size: number, } | { "type": "file_failed", call_id: CallId, from: UserId, name: string, reason: string, } | { "type": "stats", call_id: CallId, peers: Array<PeerStats>, } | { "type": "device_failed", kind: DeviceKind, id: string, reason: string, } | { "type": "ended", call_id: CallId, reason: EndReason, 
/**
 * Each member's stats when media stopped.
 */
stats: Array<PeerStats>, 
/**
 * How many times the call was on hold, and for how long in all (ms).
 */
hold_count: number, hold_ms: number, } | { "type": "hold", call_id: CallId, by: UserId, on: boolean, since: number, count: number, } | { "type": "screen_share_ended", call_id: CallId, reason: string | null, } | { "type": "recording_stopped", call_id: CallId, summary: RecordingSummary, } | { "type": "server", message: ServerMessage, } | { "type": "error", call_id: CallId | null, message: string, };

export type Direction = "outgoing" | "incoming";

/**
 * One row of the history, as the UI lists it.
 */
export type CallRow = { call_id: string, direction: string, peers: Array<string>, media: string, queue: boolean, business: string | null, started_at: number, answered_at: number | null, ended_at: number | null, duration_ms: number | null, 
/**
 * `None` while the call goes on.
 */
end_code: string | null, end_side: string | null, recording_path: string | null, notes: string, disposition: string | null, quality: { quality: number } | null, 
/**
 * Times on hold (by either side) and the time on hold in all.
 */
hold_count: number, hold_ms: number, 
/**
 * A consult: the customer call it was about.
 */
consult_of: string | null, };

/**
 * An in-call text message.
 */
export type MessageRow = { at: number, from_user: string, text: string, };

/**
 * Which calls to list.
 */
export type HistoryQuery = { account: string, 
/**
 * Words or a part of a word (peers, business, notes, disposition, messages).
 */
text: string | null, direction: Direction | null, media: string | null, 
/**
 * Incoming calls that were never answered here.
 */
missed: boolean, end_code: string | null, since: number | null, until: number | null, 
/**
 * 0: a default page of 200.
 */
limit: number, offset: number, };

/**
 * The running bridge: where the webview connects.
 */
export type Endpoint = { url: string, secret: string, };

/**
 * What kind of thing a source shows.
 */
export type SourceKind = "screen" | "window" | "dialog";

/**
 * A screen or window the agent can pick.
 */
export type ScreenSource = { 
/**
 * `x11:screen:N`, `x11:window:0xID`, `portal`, `scap:display:N` or `scap:window:N`.
 */
id: string, name: string, kind: SourceKind, 
/**
 * The size, when known before sharing (0 otherwise).
 */
width: number, height: number, };

/**
 * A source in the screen-share picker.
 */
export type ScreenSourceView = { 
/**
 * A JPEG `data:` URL, when the source can show itself before it is chosen.
 */
thumbnail: string | null, 
/**
 * `x11:screen:N`, `x11:window:0xID`, `portal`, `scap:display:N` or `scap:window:N`.
 */
id: string, name: string, kind: SourceKind, 
/**
 * The size, when known before sharing (0 otherwise).
 */
width: number, height: number, };

/**
 * What the UI is told, as one event stream (`console` in the webview): the engine's events as
 * the engine says them, and the console's own — those that carry what only the console
 * knows (the account, the history's time, where a file was saved) or that it makes itself.
 */
export type UiEvent = { "type": "signed_in", user: string, role: Role, server: string, resumed: boolean, } | { "type": "message", call_id: string, from: string, text: string, at: number, mine: boolean, } | { "type": "history_changed", call_id: string, } | { "type": "export_progress", done: number, total: number, } | { "type": "sound", cue: Cue, device: string, playing: boolean, } | { "type": "mic_level", dbfs: number, } | { "type": "shortcut", action: "answer" | "hangup" | "mute", } | { "type": "file_received", call_id: string, from: string, name: string, path: string, } | { "type": "recording", call_id: string, paused: boolean, path: string, } | { "type": "screen_share_started", call_id: string, source: string, } | Event;
