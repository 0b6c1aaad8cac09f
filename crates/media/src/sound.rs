//! Sound cards through cpal: inputs and outputs with stable ids (`audio:<cpal device id>`),
//! only those that actually open (on a machine without a sound card ALSA lists a "default"
//! that fails — it is left out), and hot-plug by polling.

use cpal::traits::{DeviceTrait, HostTrait};

use crate::device::{DeviceInfo, DeviceKind};

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
