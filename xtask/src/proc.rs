//! Running other programs: cargo, npm, apt, Xvfb.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// The cargo that runs us (so a toolchain chosen with `+nightly` or rustup carries over).
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// npm and npx are `.cmd` scripts on Windows, which `Command` does not find by the bare name.
const NPM: &str = if cfg!(windows) { "npm.cmd" } else { "npm" };
const NPX: &str = if cfg!(windows) { "npx.cmd" } else { "npx" };

pub fn npm(args: &[&str]) -> Command {
    let mut c = Command::new(NPM);
    c.args(args).args(["--no-audit", "--no-fund"]);
    c
}

pub fn npx(args: &[&str]) -> Command {
    let mut c = Command::new(NPX);
    c.arg("--no-install").args(args);
    c
}

/// Runs `cmd` with inherited output; fails unless it exits 0.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = show(cmd);
    let status = cmd
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("cannot start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

pub fn run_in(dir: &Path, cmd: &mut Command) -> Result<()> {
    cmd.current_dir(dir);
    run(cmd)
}

/// Runs `cmd` and returns its stdout; fails unless it exits 0.
pub fn capture(cmd: &mut Command) -> Result<String> {
    let shown = show(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot start `{shown}`"))?;
    if !out.status.success() {
        bail!("`{shown}` failed ({})", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `program` is on PATH.
pub fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Background processes we started (Xvfb, PulseAudio, the app). They die with us: by `Drop` on a
/// normal exit, and by [`kill_children_on_signal`] when we are interrupted or terminated.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

pub fn register_child(pid: u32) {
    CHILDREN.lock().unwrap_or_else(|p| p.into_inner()).push(pid);
}

pub fn forget_child(pid: u32) {
    CHILDREN
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .retain(|p| *p != pid);
}

/// On SIGINT/SIGTERM/SIGHUP, kills the registered children and exits 130. (A terminal's Ctrl-C
/// reaches the whole process group anyway; `timeout` or a CI runner signals only us.)
pub fn kill_children_on_signal() {
    let installed = ctrlc::set_handler(|| {
        let pids = CHILDREN.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for pid in pids {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
        eprintln!("xtask: interrupted");
        std::process::exit(130);
    });
    if let Err(e) = installed {
        eprintln!("xtask: cannot watch for Ctrl-C ({e}); background processes may outlive us");
    }
}

/// Stops a background process politely (SIGTERM, so Xvfb removes its lock file), then firmly
/// after two seconds.
pub fn terminate(child: &mut Child) {
    forget_child(child.id());
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while std::time::Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Secrets only `tauri build` needs: no other program xtask starts gets them (npm scripts,
/// build scripts, test processes, actionlint).
const SECRETS: &[&str] = &[
    "TAURI_SIGNING_PRIVATE_KEY",
    "TAURI_SIGNING_PRIVATE_KEY_PASSWORD",
    "APPLE_CERTIFICATE",
    "APPLE_CERTIFICATE_PASSWORD",
    "APPLE_PASSWORD",
    "WINDOWS_CERTIFICATE",
    "WINDOWS_CERTIFICATE_PASSWORD",
];

pub fn without_secrets(mut c: std::process::Command) -> std::process::Command {
    for s in SECRETS {
        c.env_remove(s);
    }
    c
}
