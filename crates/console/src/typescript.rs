//! The IPC types the UI reads (commands' arguments and results, every event), generated from
//! these Rust types into `ui/src/generated/console.ts`; a test fails when that file is stale,
//! `cargo xtask codegen` rewrites it. The shell adds its own few (`ui/src/generated/shell.ts`).

use switchboard_protocol::Bindings;

use crate::console::{
    Account, AutoAnswer, CommandError, Preferences, ScreenSourceView, Settings, Shortcuts, UiEvent,
};
use crate::history::{CallRow, Direction, HistoryQuery, MessageRow};

/// The declarations of `console.ts`.
pub fn console_bindings() -> Bindings {
    let mut b = Bindings::new(
        "// Generated from crates/console, crates/engine and crates/media by `cargo xtask codegen`.\n\
         // Do not edit by hand. The commands and events: see docs/app.md.\n\n",
    );
    b.declare::<CommandError>()
        .declare::<Account>()
        .declare::<AutoAnswer>()
        .declare::<Shortcuts>()
        .declare::<Preferences>()
        .declare::<switchboard_media::RecordMedia>()
        .declare::<Settings>()
        .declare::<switchboard_media::Cue>()
        .declare::<crate::sounds::SoundTest>()
        .declare::<switchboard_media::DeviceKind>()
        .declare::<switchboard_media::DeviceInfo>()
        .declare::<switchboard_engine::VideoStats>()
        .declare::<switchboard_engine::AudioStats>()
        .declare::<switchboard_engine::Route>()
        .declare::<switchboard_engine::PeerStats>()
        .declare::<switchboard_media::RecordingSummary>()
        .declare::<switchboard_engine::Event>()
        .declare::<Direction>()
        .declare::<CallRow>()
        .declare::<MessageRow>()
        .declare::<HistoryQuery>()
        .declare::<crate::video::Endpoint>()
        .declare::<switchboard_media::screen::SourceKind>()
        .declare::<switchboard_media::screen::ScreenSource>()
        .declare::<ScreenSourceView>()
        .declare::<UiEvent>();
    b
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_uis_console_types_are_fresh() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../ui/src/generated/console.ts");
        let file = super::console_bindings()
            .finish(&[("./protocol", switchboard_protocol::protocol_names())]);
        if let Err(e) = switchboard_protocol::check_generated(&path, &file) {
            panic!("{e}");
        }
    }
}
