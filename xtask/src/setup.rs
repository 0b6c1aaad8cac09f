//! `cargo xtask setup`: installs what building and testing need and is missing. Debian 12 (and
//! Ubuntu) get their packages from apt, as root or through passwordless sudo; elsewhere the exact
//! list and the platform's equivalent are printed.

use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};

use crate::proc::{self, capture, have, run};

/// Debian packages, by what needs them. Names are Debian 12's.
const PACKAGES: &[(&str, &[&str])] = &[
    ("C toolchain", &["build-essential", "pkg-config", "file"]),
    (
        "Tauri 2 on Linux (WebKitGTK 4.1)",
        &[
            "libwebkit2gtk-4.1-dev",
            "libgtk-3-dev",
            "libsoup-3.0-dev",
            "libjavascriptcoregtk-4.1-dev",
            "libayatana-appindicator3-dev",
            "librsvg2-dev",
            "libssl-dev",
        ],
    ),
    // OpenH264 builds from source with cc; with nasm its assembly makes it 3-4x faster.
    // libopus (bundled in opusic-sys) builds with CMake.
    ("media codecs", &["nasm", "cmake"]),
    // cpal talks to ALSA (and through its pulse plugin to PulseAudio/PipeWire).
    ("audio devices", &["libasound2-dev"]),
    // The test environment of CONTRACTS.md: a virtual display and a user-mode audio server.
    (
        "tests: display and audio",
        &["xvfb", "xauth", "pulseaudio", "pulseaudio-utils"],
    ),
];

/// Vite 7 needs Node ^20.19 or >=22.12.
const MIN_NODE: (u32, u32) = (20, 19);

pub fn setup(root: &Path, check_only: bool) -> Result<()> {
    system_packages(check_only)?;
    node_packages(root, check_only)?;
    cargo_tools(check_only)?;
    Ok(())
}

fn wanted() -> Vec<&'static str> {
    PACKAGES
        .iter()
        .flat_map(|(_, p)| p.iter().copied())
        .collect()
}

fn is_debian_like() -> bool {
    let Ok(os) = std::fs::read_to_string("/etc/os-release") else {
        return false;
    };
    os.lines().any(|l| {
        (l.starts_with("ID=") || l.starts_with("ID_LIKE="))
            && (l.contains("debian") || l.contains("ubuntu"))
    })
}

fn system_packages(check_only: bool) -> Result<()> {
    if !cfg!(target_os = "linux") || !is_debian_like() {
        print_other_platforms();
        return Ok(());
    }
    let missing: Vec<&str> = wanted()
        .into_iter()
        .filter(|p| !dpkg_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let list = missing.join(" ");
    if check_only {
        println!("missing Debian packages: {list}");
        return Ok(());
    }
    let sudo = if is_root() {
        None
    } else if have("sudo")
        && Command::new("sudo")
            .args(["-n", "true"])
            .status()
            .is_ok_and(|s| s.success())
    {
        Some("sudo")
    } else {
        bail!(
            "these Debian packages are missing and this user cannot install them:\n  {list}\n\
             Install them as root:\n  apt-get update && apt-get install -y --no-install-recommends {list}"
        );
    };
    println!("==> installing Debian packages: {list}");
    let apt = |args: &[&str]| {
        let mut c = match sudo {
            Some(s) => {
                let mut c = Command::new(s);
                c.arg("apt-get");
                c
            }
            None => Command::new("apt-get"),
        };
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run(&mut apt(&["update", "-q"]))?;
    let mut install = apt(&["install", "-y", "-q", "--no-install-recommends"]);
    install.args(&missing);
    run(&mut install)
}

fn dpkg_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${db:Status-Status}", package])
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout == b"installed")
}

fn is_root() -> bool {
    capture(Command::new("id").arg("-u")).is_ok_and(|s| s.trim() == "0")
}

fn print_other_platforms() {
    println!(
        "setup: automatic system packages are for Debian/Ubuntu. On this platform install:\n\
         - Fedora: webkit2gtk4.1-devel gtk3-devel libsoup3-devel javascriptcoregtk4.1-devel \
           libappindicator-gtk3-devel librsvg2-devel openssl-devel pkgconf (+ xorg-x11-server-Xvfb \
           pulseaudio for tests)\n\
         - macOS: Xcode command-line tools (`xcode-select --install`)\n\
         - Windows: the MSVC build tools and the WebView2 runtime\n\
         and Node.js {}.{} or newer. Debian's list: {}",
        MIN_NODE.0,
        MIN_NODE.1,
        wanted().join(" ")
    );
}

fn node_packages(root: &Path, check_only: bool) -> Result<()> {
    let version = capture(Command::new("node").arg("--version")).unwrap_or_default();
    let parsed: Vec<u32> = version
        .trim()
        .trim_start_matches('v')
        .split('.')
        .filter_map(|p| p.parse().ok())
        .collect();
    let ok = match parsed.as_slice() {
        [major, minor, ..] => (*major, *minor) >= MIN_NODE,
        _ => false,
    };
    if !ok {
        bail!(
            "Node.js {}.{} or newer is needed for the UI build (found: {}). Debian 12's own \
             `nodejs` is 18; install Node 20 or 22 (e.g. from NodeSource) and run this again.",
            MIN_NODE.0,
            MIN_NODE.1,
            if version.is_empty() {
                "none"
            } else {
                version.trim()
            }
        );
    }
    // `npm ci` when node_modules is missing or older than the lockfile.
    let lock = root.join("package-lock.json");
    let installed = root.join("node_modules/.package-lock.json");
    let fresh = match (std::fs::metadata(&lock), std::fs::metadata(&installed)) {
        (Ok(l), Ok(i)) => i.modified()? >= l.modified()?,
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    if check_only {
        println!("npm packages are not installed (npm ci)");
        return Ok(());
    }
    println!("==> installing npm packages (npm ci)");
    let mut c = proc::npm(&["ci"]);
    c.current_dir(root);
    run(&mut c)
}

fn cargo_tools(check_only: bool) -> Result<()> {
    let has_nextest = proc::cargo()
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if has_nextest {
        return Ok(());
    }
    if check_only {
        println!("cargo-nextest is not installed");
        return Ok(());
    }
    println!("==> installing cargo-nextest (cargo install, a few minutes)");
    run(proc::cargo().args(["install", "cargo-nextest", "--locked"]))
}
