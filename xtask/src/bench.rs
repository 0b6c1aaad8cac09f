//! `cargo xtask bench`: runs every benchmark of the workspace, then prints one table of the
//! criterion figures (benchmarks with their own harness print their figures as they run).

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::proc::{cargo, run};

pub fn bench(root: &Path) -> Result<()> {
    let started = std::time::SystemTime::now();
    // The call and webview benches drive the real server, CLI and app binaries: build them
    // with the bench profile (release) first.
    run(cargo().args([
        "build",
        "--release",
        "-p",
        "switchboard-server",
        "-p",
        "switchboard-cli",
        "-p",
        "switchboard",
    ]))?;
    // The webview bench needs a display (and tauri-driver, which setup installed).
    let env = crate::testenv::TestEnv::provide()?;
    let mut c = cargo();
    env.apply(&mut c);
    run(c.args([
        "bench",
        "-p",
        "switchboard-media",
        "-p",
        "switchboard-protocol",
        "-p",
        "switchboard-server",
        "-p",
        "switchboard-tests",
        "--benches",
    ]))?;
    drop(env);

    let dir = crate::target_dir(root).join("criterion");
    let mut rows = Vec::new();
    collect(&dir, &mut rows, started);
    rows.sort();
    if rows.is_empty() {
        return Ok(());
    }
    println!("\nBenchmark figures (criterion, mean per iteration):");
    let width = rows.iter().map(|(id, _)| id.len()).max().unwrap_or(0);
    for (id, figure) in rows {
        println!("  {id:<width$}  {figure}");
    }
    Ok(())
}

/// Finds `*/new/benchmark.json` written by this run and reads the mean from `estimates.json`.
fn collect(dir: &Path, rows: &mut Vec<(String, String)>, since: std::time::SystemTime) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            if let Some(row) = read_row(&path, since) {
                rows.push(row);
            }
        } else {
            collect(&path, rows, since);
        }
    }
}

fn read_row(new: &Path, since: std::time::SystemTime) -> Option<(String, String)> {
    let bench: PathBuf = new.join("benchmark.json");
    if std::fs::metadata(&bench).ok()?.modified().ok()? < since {
        return None; // left over from an earlier run
    }
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(&bench).ok()?).ok()?;
    let est: serde_json::Value =
        serde_json::from_slice(&std::fs::read(new.join("estimates.json")).ok()?).ok()?;
    let id = meta["full_id"].as_str()?.to_owned();
    let ns = est["mean"]["point_estimate"].as_f64()?;
    let mut figure = duration(ns);
    if let Some(bytes) = meta["throughput"]["Bytes"].as_f64() {
        figure.push_str(&format!("  ({:.0} MB/s)", bytes / ns * 1e3));
    }
    Some((id, figure))
}

fn duration(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}
