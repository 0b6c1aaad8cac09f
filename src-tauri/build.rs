// Tauri's codegen reads tauri.conf.json from the package root (the repo root); capabilities
// live under src-tauri/ to keep the root to the layout of the design card.
fn main() {
    let attrs = tauri_build::Attributes::new()
        .capabilities_path_pattern("src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(&["app_info", "ui_ready"]));
    tauri_build::try_build(attrs).expect("tauri-build failed: see the message above");
}
