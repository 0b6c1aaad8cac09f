//! Sound cards through cpal: inputs and outputs with stable ids (`audio:<cpal device id>`),
//! only those that actually open (on a machine without a sound card ALSA lists a "default"
//! that fails — it is left out), and hot-plug by polling.

use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait};

use crate::devices::{DeviceInfo, DeviceKind, all_devices};

/// The sound cards' inputs and outputs that can be opened now.
pub fn sound_devices() -> Vec<DeviceInfo> {
    let host = cpal::default_host();
    let mut out = Vec::new();
    let mut add = |d: &cpal::Device, kind: DeviceKind| {
        let (Ok(id), Ok(desc)) = (d.id(), d.description()) else {
            return;
        };
        let id = id.to_string();
        // ALSA's `null` plugin discards playback and captures zeros with no clock behind it
        // (a busy loop): never a device anyone means to pick.
        if id.ends_with(":null") {
            return;
        }
        out.push(DeviceInfo {
            id: format!("audio:{id}"),
            name: desc.name().to_owned(),
            kind,
            synthetic: false,
        });
    };
    if let Ok(inputs) = host.input_devices() {
        for d in inputs.filter(|d| d.default_input_config().is_ok()) {
            add(&d, DeviceKind::Microphone);
        }
    }
    if let Ok(outputs) = host.output_devices() {
        for d in outputs.filter(|d| d.default_output_config().is_ok()) {
            add(&d, DeviceKind::Speaker);
        }
    }
    out
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

/// Polls the device list every `every` on a thread of its own and reports changes until the
/// receiver is dropped.
pub fn watch(every: Duration) -> std::sync::mpsc::Receiver<DeviceChange> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut known = all_devices();
        loop {
            std::thread::sleep(every);
            let now = all_devices();
            for change in diff(&known, &now) {
                if tx.send(change).is_err() {
                    return;
                }
            }
            known = now;
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(id: &str) -> DeviceInfo {
        DeviceInfo {
            id: id.into(),
            name: id.into(),
            kind: DeviceKind::Microphone,
            synthetic: false,
        }
    }

    #[test]
    fn hot_plug_is_a_diff_of_lists() {
        let before = [dev("audio:usb-1"), dev("audio:hdmi")];
        let after = [dev("audio:hdmi"), dev("audio:usb-2")];
        assert_eq!(
            diff(&before, &after),
            vec![
                DeviceChange::Removed(dev("audio:usb-1")),
                DeviceChange::Added(dev("audio:usb-2"))
            ]
        );
        assert!(diff(&after, &after).is_empty());
    }

    #[test]
    fn the_list_has_the_synthetic_devices_and_only_sound_cards_that_open() {
        let all = all_devices();
        for id in ["pattern", "tone", "meter"] {
            assert!(all.iter().any(|d| d.id == id), "{id} missing from {all:?}");
        }
        // Whatever this machine has, a listed sound card opened its default configuration;
        // ALSA's phantom "default" on a card-less machine is not among them.
        for d in all.iter().filter(|d| !d.synthetic) {
            assert!(d.id.starts_with("audio:"), "{d:?}");
        }
        // One id per device and direction (a headset is both a microphone and a speaker).
        let keys: Vec<(String, String)> = all
            .iter()
            .map(|d| (format!("{:?}", d.kind), d.id.clone()))
            .collect();
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(keys.len(), unique.len(), "duplicate ids: {keys:?}");
        assert!(!all.iter().any(|d| d.id.ends_with(":null")), "{all:?}");
    }
}
