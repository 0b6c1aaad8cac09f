//! Cisco's OpenH264 in release builds (docs/openh264.md): the agent is shown what will be
//! downloaded, from where, and Cisco's notice; only their click downloads it. The file is
//! verified by its SHA-256 and shared by all profiles of this machine's user. Source builds
//! (development, CI) have the codec built in and ask nothing.

use std::path::PathBuf;

use serde::Serialize;
use switchboard_media::openh264_binary::{
    self, CISCO_LICENSE_URL, CISCO_NOTICE, CiscoBinary, OPENH264_VERSION,
};
use tauri::{AppHandle, Manager, Runtime};

/// Where the library is installed.
pub struct CodecDir(pub PathBuf);

/// What the UI shows about the video codec.
#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct CodecStatus {
    /// `source`: built in; `cisco`: Cisco's binary, downloaded with consent.
    pub build: &'static str,
    /// Video can be encoded and decoded now.
    pub ready: bool,
    /// For the consent: Cisco's notice, its licence, the version, where from, how big.
    pub notice: &'static str,
    pub license_url: &'static str,
    pub version: &'static str,
    pub url: Option<String>,
    pub approx_bytes: u64,
}

fn binary() -> Option<CiscoBinary> {
    // `SWITCHBOARD_OPENH264_URL`: a company mirror of Cisco's file (the hash still decides).
    let mut b = CiscoBinary::for_this_platform()?;
    if let Ok(url) = std::env::var("SWITCHBOARD_OPENH264_URL")
        && !url.trim().is_empty()
    {
        b.url = url.trim().to_owned();
    }
    Some(b)
}

/// Uses an installed, verified copy at start.
pub fn setup<R: Runtime>(app: &AppHandle<R>, dir: PathBuf) {
    if switchboard_media::h264::uses_cisco_binary()
        && let Some(b) = binary()
        && let Some(path) = openh264_binary::installed(&b, &dir)
    {
        tracing::info!(path = %path.display(), "using Cisco's OpenH264");
        switchboard_media::h264::set_library_path(Some(path));
    }
    app.manage(CodecDir(dir));
}

pub fn status(dir: &CodecDir) -> CodecStatus {
    let cisco = switchboard_media::h264::uses_cisco_binary();
    let b = binary();
    CodecStatus {
        build: if cisco { "cisco" } else { "source" },
        ready: !cisco
            || b.as_ref()
                .is_some_and(|b| openh264_binary::installed(b, &dir.0).is_some()),
        notice: CISCO_NOTICE,
        license_url: CISCO_LICENSE_URL,
        version: OPENH264_VERSION,
        url: b.as_ref().map(|b| b.url.clone()),
        approx_bytes: b.map_or(0, |b| b.approx_download_bytes),
    }
}

/// The agent clicked "Download" on the consent the UI showed (the `status` above): that click
/// is the consent `fetch` asks for.
pub fn download(dir: &CodecDir) -> Result<CodecStatus, String> {
    if !switchboard_media::h264::uses_cisco_binary() {
        return Ok(status(dir));
    }
    let b = binary().ok_or("Cisco publishes no OpenH264 binary for this system")?;
    let path = openh264_binary::fetch(
        &b,
        &dir.0,
        |request| {
            tracing::info!(url = %request.url, "the agent agreed to download Cisco's OpenH264");
            true
        },
        get,
    )
    .map_err(|e| e.to_string())?;
    switchboard_media::h264::set_library_path(Some(path));
    Ok(status(dir))
}

/// Brings Cisco's file (or a mirror's: `http(s)://`, `file://`), at most `cap` bytes; the media
/// crate checks what arrives against its pin.
fn get(url: &str, cap: u64) -> Result<Vec<u8>, String> {
    if let Some(local) = url.strip_prefix("file://") {
        let bytes = std::fs::read(local).map_err(|e| format!("{local}: {e}"))?;
        return Ok(bytes);
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err("only http, https and file addresses are fetched".into());
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(120)))
        .build()
        .into();
    agent
        .get(url)
        .call()
        .map_err(|e| e.to_string())?
        .body_mut()
        .with_config()
        .limit(cap)
        .read_to_vec()
        .map_err(|e| e.to_string())
}

/// Turns the codec off (Cisco's licence: the user can disable and re-enable it).
pub fn remove(dir: &CodecDir) -> Result<CodecStatus, String> {
    switchboard_media::h264::set_library_path(None);
    if let Some(b) = binary() {
        openh264_binary::remove(&b, &dir.0).map_err(|e| e.to_string())?;
    }
    Ok(status(dir))
}
