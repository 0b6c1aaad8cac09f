// Generated from src-tauri by `cargo xtask codegen`. Do not edit by hand.

/**
 * The build, as the UI shows it.
 */
export type AppInfo = { name: string, version: string, protocol_version: number, platform: string, 
/**
 * `--profile NAME`, when one was given.
 */
profile: string | null, };

export type UpdateInfo = { version: string, current: string, notes: string | null, date: string | null, };

/**
 * What the UI shows about updates (the `update` event and `update_status`).
 */
export type UpdateStatus = { "state": "idle" } | { "state": "disabled", reason: string, } | { "state": "checking" } | { "state": "up_to_date", current: string, } | { "state": "available", update: UpdateInfo, } | { "state": "downloading", update: UpdateInfo, received: number, total: number | null, } | { "state": "ready", update: UpdateInfo, } | { "state": "installing", update: UpdateInfo, } | { "state": "installed", update: UpdateInfo, } | { "state": "failed", message: string, };

/**
 * What the UI shows about the video codec.
 */
export type CodecStatus = { 
/**
 * `source`: built in; `cisco`: Cisco's binary, downloaded with consent.
 */
build: string, 
/**
 * Video can be encoded and decoded now.
 */
ready: boolean, 
/**
 * For the consent: Cisco's notice, its licence, the version, where from, how big.
 */
notice: string, license_url: string, version: string, url: string | null, approx_bytes: number, };
