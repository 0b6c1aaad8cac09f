// The UI talks to Rust only through this interface: the Tauri implementation below in the app,
// a mocked IPC in unit tests (GitButler's pattern: the UI runs without the window).
import { Channel, invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type {
  CallKind,
  CallMedia,
  EndWrapUp,
  MediaState,
  QueueContext,
  Role,
  SetAgentState,
  Transfer,
} from "../generated/protocol";

/** What the shell reports about this build (the `app_info` command). */
export interface AppInfo {
  name: string;
  version: string;
  protocol_version: number;
  platform: string;
  profile: string | null;
}

/** A failed command, as Rust returns it. */
export interface CommandError {
  code: string;
  message: string;
}

export function errorText(e: unknown): string {
  if (e && typeof e === "object" && "message" in e) return String((e as CommandError).message);
  return String(e);
}

export interface Account {
  user: string;
  role: Role;
  server: string;
}

export type AutoAnswer = "off" | "always" | "queue";

/** Global keys (X11, Windows, macOS): an empty key is not registered. */
export interface Shortcuts {
  global: boolean;
  answer: string;
  hangup: string;
  mute: string;
}

/** What the settings page saves in one go. */
export interface Preferences {
  auto_answer: AutoAnswer;
  screen_pop_url: string;
  screen_pop_command: string;
  /** The ringer's speaker; empty: the call's speaker. */
  ringer: string;
  /** 0–100. */
  ring_volume: number;
  announce_tone: boolean;
  language: string;
  shortcuts: Shortcuts;
  /** Where recordings go; empty: the profile's data directory. */
  recordings_dir: string;
  record_media: "audio" | "video" | "both";
  record_watermark: boolean;
}

export interface Settings extends Preferences {
  server: string;
  user: string;
  camera: string;
  microphone: string;
  speaker: string;
  video_profile: string;
}

/** The preferences part of the settings (what `setPreferences` takes). */
export function preferencesOf(s: Settings): Preferences {
  const { auto_answer, screen_pop_url, screen_pop_command, ringer, ring_volume, announce_tone, language, shortcuts } = s;
  const { recordings_dir, record_media, record_watermark } = s;
  return {
    auto_answer,
    screen_pop_url,
    screen_pop_command,
    ringer,
    ring_volume,
    announce_tone,
    language,
    shortcuts: { ...shortcuts },
    recordings_dir,
    record_media,
    record_watermark,
  };
}

export type Cue = "ring" | "announce" | "speaker_test";

/** What a test sound played. */
export interface SoundTest {
  device: string;
  played_ms: number;
  /** Measured by the synthetic `meter` speaker; sound cards do not say. */
  level_dbfs: number | null;
}

export type DeviceKind = "camera" | "microphone" | "speaker";

export interface DeviceInfo {
  id: string;
  name: string;
  kind: DeviceKind;
  synthetic: boolean;
}

export interface VideoStats {
  sent: number;
  received: number;
  decoded: number;
  in_order: number;
  lost: number;
  dropped: number;
  target_bps: number;
  send_bps: number;
  latency_ms_p50: number | null;
  width: number;
  height: number;
  negotiated: boolean;
}

export interface AudioStats {
  sent: number;
  received: number;
  decoded: number;
  lost: number;
  concealed: number;
  jitter_ms: number;
  level_dbfs: number;
  recent_level_dbfs: number;
}

export interface PeerStats {
  user: string;
  video: VideoStats;
  audio: AudioStats;
  rtt_ms: number | null;
  /** 1 (bad) … 5 (excellent). */
  quality: number;
}

export interface CallRow {
  call_id: string;
  direction: "outgoing" | "incoming";
  peers: string[];
  media: CallMedia;
  queue: boolean;
  business: string | null;
  started_at: number;
  answered_at: number | null;
  ended_at: number | null;
  duration_ms: number | null;
  end_code: string | null;
  end_side: string | null;
  recording_path: string | null;
  notes: string;
  disposition: string | null;
  quality: { quality: number } | null;
}

export interface MessageRow {
  at: number;
  from_user: string;
  text: string;
}

export interface HistoryQuery {
  text?: string;
  direction?: "outgoing" | "incoming";
  media?: CallMedia;
  missed?: boolean;
  end_code?: string;
  since?: number;
  until?: number;
  limit?: number;
  offset?: number;
}

export interface VideoEndpoint {
  url: string;
  secret: string;
}

/** Everything Rust tells the UI, one stream (the `console` event). */
export type UiEvent =
  | { type: "signed_in"; user: string; role: Role; server: string; resumed: boolean }
  | { type: "reconnecting"; reason: string }
  | { type: "signed_out"; reason: string }
  | {
      type: "incoming";
      call_id: string;
      from: string;
      from_name: string | null;
      kind: CallKind;
      media: CallMedia;
      members: string[];
      queue: QueueContext | null;
    }
  | { type: "ringing"; call_id: string; user: string }
  | { type: "member_joined"; call_id: string; user: string }
  | { type: "member_left"; call_id: string; user: string }
  | { type: "first_media"; call_id: string; user: string; kind: string }
  | { type: "remote_media"; call_id: string; user: string; state: MediaState }
  | { type: "media_switched"; call_id: string; by: string; media: CallMedia }
  | { type: "message"; call_id: string; from: string; text: string; at: number; mine: boolean }
  | { type: "stats"; call_id: string; peers: PeerStats[] }
  | { type: "device_failed"; kind: DeviceKind; id: string; reason: string }
  | { type: "ended"; call_id: string; code: string; side: string; duration_ms: number }
  | { type: "server"; message: { type: string; [k: string]: unknown } }
  | { type: "history_changed"; call_id: string }
  | { type: "export_progress"; done: number; total: number }
  | { type: "error"; call_id: string | null; message: string }
  | { type: "sound"; cue: Cue; device: string; playing: boolean }
  | { type: "mic_level"; dbfs: number }
  | { type: "shortcut"; action: "answer" | "hangup" | "mute" }
  | { type: "recording"; call_id: string; recording: boolean; paused: boolean; path: string }
  | { type: "screen_share"; call_id: string; sharing: boolean; source: string | null; reason: string | null }
  | { type: "file_progress"; call_id: string; user: string; name: string; done: number; total: number; sending: boolean }
  | { type: "file_offered"; call_id: string; from: string; id: string; name: string; size: number }
  | { type: "file_received"; call_id: string; from: string; name: string; path: string }
  | { type: "file_failed"; call_id: string; from: string; name: string; reason: string };

/** A newer version the update server announced. */
export interface UpdateInfo {
  version: string;
  current: string;
  notes: string | null;
  date: string | null;
}

/** Where updating stands (Rust's `UpdateStatus`; also pushed as `update` events). */
export type UpdateStatus =
  | { state: "idle" }
  | { state: "disabled"; reason: string }
  | { state: "checking" }
  | { state: "up_to_date"; current: string }
  | { state: "available"; update: UpdateInfo }
  | { state: "downloading"; update: UpdateInfo; received: number; total: number | null }
  | { state: "ready"; update: UpdateInfo }
  | { state: "installing"; update: UpdateInfo }
  | { state: "installed"; update: UpdateInfo }
  | { state: "failed"; message: string };

/** The video codec (Rust's `CodecStatus`): built in, or Cisco's binary downloaded with consent. */
export interface CodecStatus {
  build: "source" | "cisco";
  ready: boolean;
  notice: string;
  license_url: string;
  version: string;
  url: string | null;
  approx_bytes: number;
}

/** A screen or window that can be shared. */
export interface ScreenSource {
  id: string;
  name: string;
  /** `dialog`: the system's own picker chooses (the Wayland portal). */
  kind: "screen" | "window" | "dialog";
  width: number;
  height: number;
  /** A JPEG data URL, when the source can show itself before it is chosen. */
  thumbnail: string | null;
}

export interface Backend {
  appInfo(): Promise<AppInfo>;
  /** Tells the shell the UI has mounted (logged; the smoke test waits for it). */
  uiReady(): Promise<void>;
  onEvent(handler: (e: UiEvent) => void): Promise<() => void>;
  settings(): Promise<Settings>;
  setPreferences(preferences: Preferences): Promise<void>;
  /** Plays the speaker test or one ring period on `device` (default: the chosen one). */
  testSound(cue: Cue, device?: string): Promise<SoundTest>;
  /** Offers a file to one member over the call's data channel; sends it once they accept. */
  sendFile(callId: string, to: string, name: string, data: Uint8Array): Promise<void>;
  /** Accepts (receives and saves) or declines a file a member offered. */
  answerFile(callId: string, from: string, id: string, accept: boolean): Promise<void>;
  /** Invites more users into the call. */
  invite(callId: string, users: string[]): Promise<void>;
  /** Starts or stops recording the call; the file's path. */
  record(callId: string, on: boolean): Promise<string | null>;
  pauseRecording(callId: string, paused: boolean): Promise<void>;
  /** What can be shared, with thumbnails; rejects with the reason when nothing can. */
  screenSources(): Promise<ScreenSource[]>;
  /** Shares a screen or window in the call; `null` stops sharing. */
  shareScreen(callId: string, source: string | null): Promise<void>;
  openFile(path: string): Promise<void>;
  /** The microphone meter on or off (`mic_level` events). */
  micMeter(on: boolean, device?: string): Promise<void>;
  signIn(server: string, user: string, password: string): Promise<Account>;
  signOut(): Promise<void>;
  account(): Promise<Account | null>;
  call(to: string[], media: CallMedia): Promise<string>;
  accept(callId: string, media?: CallMedia): Promise<void>;
  hangup(callId: string): Promise<void>;
  mute(callId: string, audio: boolean, video: boolean): Promise<void>;
  switchMedia(callId: string, media: CallMedia): Promise<void>;
  sendMessage(callId: string, text: string): Promise<void>;
  devices(): Promise<DeviceInfo[]>;
  setDevice(kind: DeviceKind, id: string): Promise<void>;
  setVideoProfile(profile: string): Promise<void>;
  agentRegister(area: string, skills: string[]): Promise<void>;
  agentState(state: SetAgentState): Promise<void>;
  endWrapUp(wrapUp: EndWrapUp): Promise<void>;
  transfer(transfer: Transfer): Promise<void>;
  history(query: HistoryQuery): Promise<CallRow[]>;
  historyMessages(callId: string): Promise<MessageRow[]>;
  setNotes(callId: string, notes: string, disposition: string | null): Promise<void>;
  exportHistory(query: HistoryQuery, path: string): Promise<number>;
  videoEndpoint(): Promise<VideoEndpoint>;
  /** The IPC transport for a tile: pictures arrive as raw bytes through a channel. */
  videoChannel(path: string, width: number, height: number, onPicture: (buf: ArrayBuffer) => void): Promise<number>;
  videoChannelResize(id: number, width: number, height: number): Promise<void>;
  videoChannelClose(id: number): Promise<void>;
  updateStatus(): Promise<UpdateStatus>;
  onUpdate(handler: (s: UpdateStatus) => void): Promise<() => void>;
  checkUpdate(): Promise<UpdateStatus>;
  /** Downloads the update and verifies its signature. */
  downloadUpdate(): Promise<UpdateStatus>;
  /** Installs the verified update and restarts. */
  installUpdate(): Promise<UpdateStatus>;
  codecStatus(): Promise<CodecStatus>;
  /** The agent agreed: downloads Cisco's OpenH264 and verifies it. */
  codecDownload(): Promise<CodecStatus>;
  /** Turns the codec off and deletes it. */
  codecRemove(): Promise<CodecStatus>;
}

export const tauriBackend: Backend = {
  appInfo: () => invoke<AppInfo>("app_info"),
  uiReady: () => invoke<void>("ui_ready"),
  onEvent: (handler) => listen<UiEvent>("console", (e) => handler(e.payload)),
  updateStatus: () => invoke("update_status"),
  onUpdate: (handler) => listen<UpdateStatus>("update", (e) => handler(e.payload)),
  checkUpdate: () => invoke("check_update"),
  downloadUpdate: () => invoke("download_update"),
  installUpdate: () => invoke("install_update"),
  codecStatus: () => invoke("codec_status"),
  codecDownload: () => invoke("codec_download"),
  codecRemove: () => invoke("codec_remove"),
  settings: () => invoke("settings"),
  setPreferences: (preferences) => invoke("set_preferences", { preferences }),
  testSound: (cue, device) => invoke("test_sound", { cue, device: device ?? null }),
  micMeter: (on, device) => invoke("mic_meter", { on, device: device ?? null }),
  invite: (callId, users) => invoke("invite", { callId, users }),
  answerFile: (callId, from, id, accept) => invoke("answer_file", { callId, from, id, accept }),
  // The bytes go as the raw body; the rest in headers (percent-encoded: names may be Chinese).
  sendFile: (callId, to, name, data) =>
    invoke("send_file", data, {
      headers: {
        "x-call-id": encodeURIComponent(callId),
        "x-to": encodeURIComponent(to),
        "x-file-name": encodeURIComponent(name),
      },
    }),
  record: (callId, on) => invoke("record", { callId, on }),
  pauseRecording: (callId, paused) => invoke("pause_recording", { callId, paused }),
  screenSources: () => invoke("screen_sources"),
  shareScreen: (callId, source) => invoke("share_screen", { callId, source }),
  openFile: (path) => invoke("open_file", { path }),
  signIn: (server, user, password) => invoke("sign_in", { server, user, password }),
  signOut: () => invoke("sign_out"),
  account: () => invoke("account"),
  call: (to, media) => invoke("call", { to, media }),
  accept: (callId, media) => invoke("accept", { callId, media: media ?? null }),
  hangup: (callId) => invoke("hangup", { callId }),
  mute: (callId, audio, video) => invoke("mute", { callId, audio, video }),
  switchMedia: (callId, media) => invoke("switch_media", { callId, media }),
  sendMessage: (callId, text) => invoke("send_message", { callId, text }),
  devices: () => invoke("devices"),
  setDevice: (kind, id) => invoke("set_device", { kind, id }),
  setVideoProfile: (profile) => invoke("set_video_profile", { profile }),
  agentRegister: (area, skills) => invoke("agent_register", { area, skills }),
  agentState: (state) => invoke("agent_state", { state }),
  endWrapUp: (wrapUp) => invoke("end_wrap_up", { wrapUp }),
  transfer: (transfer) => invoke("transfer", { transfer }),
  history: (query) => invoke("history", { query }),
  historyMessages: (callId) => invoke("history_messages", { callId }),
  setNotes: (callId, notes, disposition) => invoke("set_notes", { callId, notes, disposition }),
  exportHistory: (query, path) => invoke("export_history", { query, path }),
  videoEndpoint: () => invoke("video_endpoint"),
  videoChannel: (path, width, height, onPicture) => {
    const channel = new Channel<ArrayBuffer>();
    channel.onmessage = onPicture;
    return invoke("video_channel", { path, width, height, onPicture: channel });
  },
  videoChannelResize: (id, width, height) => invoke("video_channel_resize", { id, width, height }),
  videoChannelClose: (id) => invoke("video_channel_close", { id }),
};
