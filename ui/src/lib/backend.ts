// The UI talks to Rust only through this interface: the Tauri implementation below in the app,
// a mocked IPC in unit tests (GitButler's pattern: the UI runs without the window).
import { invoke } from "@tauri-apps/api/core";

/** What the shell reports about this build (the `app_info` command). */
export interface AppInfo {
  name: string;
  version: string;
  protocol_version: number;
  platform: string;
}

export interface Backend {
  appInfo(): Promise<AppInfo>;
  /** Tells the shell the UI has mounted (logged; the smoke test waits for it). */
  uiReady(): Promise<void>;
}

export const tauriBackend: Backend = {
  appInfo: () => invoke<AppInfo>("app_info"),
  uiReady: () => invoke<void>("ui_ready"),
};
