// The UI talks to Rust only through this interface: the Tauri implementation below in the app,
// a mocked IPC in unit tests (GitButler's pattern: the UI runs without the window).
import { Channel, invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type {
  CallKind,
  CallMedia,
  EndWrapUp,
  MediaState,
  MonitorMode,
  QueueContext,
  Role,
  SetAgentState,
  Transfer,
} from "../generated/protocol";

// Every type Rust sends or takes is generated from the Rust types (`cargo xtask codegen`; a
// test fails when a generated file is stale): none is written here by hand.
export type {
  Account,
  AutoAnswer,
  CallRow,
  CommandError,
  Cue,
  DeviceInfo,
  DeviceKind,
  Direction,
  MessageRow,
  PeerStats,
  Preferences,
  RecordMedia,
  ScreenSourceView as ScreenSource,
  Settings,
  Shortcuts,
  SoundTest,
  UiEvent,
  VideoStats,
  AudioStats,
  Endpoint as VideoEndpoint,
} from "../generated/console";
export type { AppInfo, CodecStatus, UpdateInfo, UpdateStatus } from "../generated/shell";
import type {
  CallRow,
  CommandError,
  DeviceInfo,
  DeviceKind,
  HistoryQuery as HistoryFilter,
  MessageRow,
  Preferences,
  ScreenSourceView as ScreenSource,
  Settings,
  SoundTest,
  UiEvent,
  Account,
  Cue,
  Endpoint as VideoEndpoint,
} from "../generated/console";
/** A history search: every field has a default on the Rust side (`serde(default)`), and the
 * account is always the signed-in one, so the UI sends only what it sets. */
export type HistoryQuery = Partial<Omit<HistoryFilter, "account">>;
import type { AppInfo, CodecStatus, UpdateStatus } from "../generated/shell";

export function errorText(e: unknown): string {
  if (e && typeof e === "object" && "message" in e) return String((e as CommandError).message);
  return String(e);
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
  hold(callId: string, on: boolean): Promise<void>;
  consult(callId: string, to: string): Promise<string>;
  switchMedia(callId: string, media: CallMedia): Promise<void>;
  sendMessage(callId: string, text: string): Promise<void>;
  devices(): Promise<DeviceInfo[]>;
  setDevice(kind: DeviceKind, id: string): Promise<void>;
  setVideoProfile(profile: string): Promise<void>;
  agentRegister(area: string, skills: string[]): Promise<void>;
  agentState(state: SetAgentState): Promise<void>;
  endWrapUp(wrapUp: EndWrapUp): Promise<void>;
  watchFloor(on: boolean): Promise<void>;
  monitor(agent: string, mode: MonitorMode): Promise<string>;
  setMonitor(callId: string, mode: MonitorMode): Promise<void>;
  takeOver(callId: string): Promise<void>;
  conference(callId: string): Promise<void>;
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
  hold: (callId, on) => invoke("hold", { callId, on }),
  consult: (callId, to) => invoke("consult", { callId, to }),
  switchMedia: (callId, media) => invoke("switch_media", { callId, media }),
  sendMessage: (callId, text) => invoke("send_message", { callId, text }),
  devices: () => invoke("devices"),
  setDevice: (kind, id) => invoke("set_device", { kind, id }),
  setVideoProfile: (profile) => invoke("set_video_profile", { profile }),
  agentRegister: (area, skills) => invoke("agent_register", { area, skills }),
  agentState: (state) => invoke("agent_state", { state }),
  endWrapUp: (wrapUp) => invoke("end_wrap_up", { wrapUp }),
  watchFloor: (on) => invoke("watch_floor", { on }),
  monitor: (agent, mode) => invoke("monitor", { agent, mode }),
  setMonitor: (callId, mode) => invoke("set_monitor", { callId, mode }),
  takeOver: (callId) => invoke("take_over", { callId }),
  conference: (callId) => invoke("conference", { callId }),
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
