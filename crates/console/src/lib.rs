//! The agent console's logic, without a window: the signed-in engine, the call history
//! (sqlx + SQLite), the settings, auto-answer, the ringer and cues, screen pop, received
//! files, the desk's status for the tray, and the video bridge that carries pictures to the
//! webview. The Tauri shell
//! (`src-tauri`) is commands and events over [`Console`]; the tests drive it directly.

pub mod console;
pub mod desk;
pub mod history;
pub mod settings;
pub mod sounds;
pub mod typescript;
pub mod ui;
pub mod video;

pub use console::{Console, Ui, UiEvent};
