//! What a device is (the leaf of the device modules: `camera`, `sound`, `soundcard` and
//! `devices` all use it; it uses none of them).

/// A device that cannot be used, said plainly.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeviceError {
    #[error("no {kind} called {id:?} (see the device list)")]
    NotFound { kind: &'static str, id: String },
    #[error("cannot open {id}: {reason}")]
    CannotOpen { id: String, reason: String },
}

/// One device as a user picks it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct DeviceInfo {
    /// Stable across runs and hot-plugs: what settings store.
    pub id: String,
    pub name: String,
    pub kind: DeviceKind,
    pub synthetic: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Camera,
    Microphone,
    Speaker,
}

/// The devices that always exist (agents use them for test calls).
pub fn synthetic_devices() -> Vec<DeviceInfo> {
    let d = |id: &str, name: &str, kind| DeviceInfo {
        id: id.into(),
        name: name.into(),
        kind,
        synthetic: true,
    };
    vec![
        d("pattern", "Test pattern (synthetic)", DeviceKind::Camera),
        d(
            "tone",
            "Tone with timing marks (synthetic)",
            DeviceKind::Microphone,
        ),
        d(
            "file:PATH",
            "A WAV file played as the microphone",
            DeviceKind::Microphone,
        ),
        d("meter", "Level meter (synthetic)", DeviceKind::Speaker),
    ]
}

/// A device came or went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceChange {
    Added(DeviceInfo),
    Removed(DeviceInfo),
}

/// What changed between two lists (by id and kind).
pub fn diff(old: &[DeviceInfo], new: &[DeviceInfo]) -> Vec<DeviceChange> {
    let same = |a: &DeviceInfo, b: &DeviceInfo| a.id == b.id && a.kind == b.kind;
    let removed = old
        .iter()
        .filter(|o| !new.iter().any(|n| same(o, n)))
        .cloned()
        .map(DeviceChange::Removed);
    let added = new
        .iter()
        .filter(|n| !old.iter().any(|o| same(o, n)))
        .cloned()
        .map(DeviceChange::Added);
    removed.chain(added).collect()
}
