//! `cargo xtask setup | run | test | bench | bundle | codegen`: the README's commands. Every
//! command runs `setup` first, so a newcomer needs nothing but `cargo xtask run` and
//! `cargo xtask test`.

mod actionlint;
mod bench;
mod bundle;
mod devserver;
// Checks of the code's shape, run with the tests.
#[cfg(test)]
mod layout;
mod proc;
// Debian packaging: Linux only (the release workflow also runs xtask on Windows and macOS).
#[cfg(target_os = "linux")]
mod server_deb;
mod setup;
mod testenv;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use proc::{cargo, run, run_in};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build, run and test Switchboard")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what is missing: system packages (apt on Debian/Ubuntu), npm packages, test tools.
    Setup {
        /// Only report what is missing; install nothing.
        #[arg(long)]
        check: bool,
        /// Only what `cargo xtask bundle` needs (`--verify` too with --verify); the release
        /// workflow runs this before it hands the build its secrets.
        #[arg(long)]
        bundle: bool,
        /// With --bundle: also what `bundle --verify` needs.
        #[arg(long, requires = "bundle")]
        verify: bool,
    },
    /// Build and start the product on embedded defaults.
    Run {
        /// Without a display, start a virtual one (Xvfb) for the window.
        #[arg(long)]
        headless: bool,
        /// Build with optimisations.
        #[arg(long)]
        release: bool,
    },
    /// Formatting, lints, the UI type check, every Rust test and the UI tests.
    Test {
        /// Run only Rust tests whose names match (passed to cargo-nextest); skips the checks.
        filter: Option<String>,
    },
    /// Run the benchmarks and print their figures.
    Bench,
    /// Build the installers: the app's (`.deb` and `.rpm` on Linux) signed for the updater, the
    /// `latest.json` manifest and the server's `.deb` (docs/release.md).
    Bundle {
        /// Then check them: signatures, package contents, the installed app's window and its
        /// update path, the server package, the release workflow.
        #[arg(long)]
        verify: bool,
        /// OpenH264 for the app: `cisco` (releases: Cisco's binary, downloaded on the agent's
        /// consent) or `source` (compiled in; docs/openh264.md).
        #[arg(long, default_value = "cisco", value_parser = ["cisco", "source"])]
        openh264: String,
    },
    /// Rewrite generated files: the protocol's golden fixtures and ui/src/generated/protocol.ts.
    Codegen,
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("\nxtask: {e:#}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    proc::kill_children_on_signal();
    let root = workspace_root();
    std::env::set_current_dir(&root)?;
    match cli.command {
        Command::Setup {
            check,
            bundle,
            verify,
        } => {
            if bundle {
                setup::setup_without(&root, check, &bundle_skip(verify))
            } else {
                setup::setup(&root, check)
            }
        }
        Command::Run { headless, release } => {
            setup::setup(&root, false)?;
            run_app(&root, headless, release)
        }
        Command::Test { filter } => {
            setup::setup(&root, false)?;
            test(&root, filter)
        }
        Command::Bench => {
            setup::setup(&root, false)?;
            build_ui(&root)?;
            bench::bench(&root)
        }
        Command::Bundle { verify, openh264 } => {
            setup::setup_without(&root, false, &bundle_skip(verify))?;
            let started = Instant::now();
            let built = bundle::bundle(&root, &openh264)?;
            if !verify {
                // `--verify` checks them among the rest.
                bundle::verify_signatures(&built)?;
            }
            if verify {
                let env = testenv::TestEnv::provide()?;
                bundle::verify(&root, &built, &env)?;
            }
            println!(
                "\nBundled{} in {}{}.",
                if verify { " and verified" } else { "" },
                proc::human(started.elapsed()),
                if built.key.throwaway {
                    " (updates signed with a throwaway key: not for release)"
                } else {
                    ""
                }
            );
            Ok(())
        }
        Command::Codegen => {
            let mut c = cargo();
            c.args(["test", "-p", "switchboard-protocol", "--test", "golden"]);
            c.env("UPDATE_GOLDEN", "1");
            run(&mut c)?;
            // The IPC types: the console's and the shell's.
            for (package, test) in [
                ("switchboard-console", "the_uis_console_types_are_fresh"),
                ("switchboard", "the_uis_shell_types_are_fresh"),
            ] {
                let mut c = cargo();
                c.args(["test", "-p", package, "--lib", test]);
                c.env("UPDATE_GOLDEN", "1");
                run(&mut c)?;
            }
            println!(
                "rewrote crates/protocol/tests/fixtures/ and ui/src/generated/{{protocol,console,shell}}.ts"
            );
            Ok(())
        }
    }
}

/// What `bundle` does not need of the setup: release runners build without the browser and the
/// recordings of the tests (Ubuntu 22.04 has no `chromium` package), and without the display,
/// audio and test tools unless they verify.
fn bundle_skip(verify: bool) -> Vec<&'static str> {
    let mut skip = vec![
        "tests: browser interop",
        "tests: recordings",
        "tests: networks",
        "tests: cluster",
    ];
    if !verify {
        skip.extend(["tests: display and audio", setup::TEST_TOOLS]);
    }
    skip
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// Tauri's codegen embeds `ui/dist`, so the UI is built before any cargo build of the app.
fn build_ui(root: &Path) -> Result<()> {
    step("build the UI (vite)", || {
        run_in(root, &mut proc::npm(&["run", "build", "--workspace", "ui"]))
    })
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

fn run_app(root: &Path, headless: bool, release: bool) -> Result<()> {
    build_ui(root)?;
    let profile = if release { "release" } else { "debug" };
    step("build the app and the server", || {
        let mut c = cargo();
        // The same selection as `test` builds, so that both share one set of artefacts.
        c.args(["build", "--workspace", "--bins"]);
        if release {
            c.arg("--release");
        }
        run(&mut c)
    })?;
    let bin = target_dir(root).join(profile);
    let app = bin.join("switchboard");

    let data_dir = target_dir(root).join("dev-server");
    let mut server = devserver::DevServer::start(&bin.join("switchboard-server"), &data_dir)?;
    println!("\n{}", server.describe(&data_dir));

    let has_display = std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
        || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty());
    if has_display && !headless {
        println!("Starting {} — close the window to quit.", app.display());
        return run(std::process::Command::new(&app).env("SWITCHBOARD_SERVER", &server.addr));
    }
    if !headless {
        println!(
            "This machine has no display (DISPLAY and WAYLAND_DISPLAY are unset), so there is \
             nowhere to open the console window; the server above runs on its own.\n\
             - `cargo xtask run --headless` also starts a virtual display (Xvfb) with the window \
             on it, and saves a screenshot.\n\
             Stop with Ctrl-C."
        );
        return server.wait();
    }

    let display = testenv::Xvfb::start()?;
    println!(
        "Started a virtual display {} (Xvfb, 1920x1080).",
        display.name()
    );
    let mut child = std::process::Command::new(&app)
        .env("DISPLAY", display.name())
        .env("SWITCHBOARD_SERVER", &server.addr)
        .spawn()
        .with_context(|| format!("starting {}", app.display()))?;
    proc::register_child(child.id());
    let shot = target_dir(root).join("screenshots/run-headless.png");
    // The screenshot is a convenience: a failure to take it does not stop the app.
    match testenv::screenshot_when_drawn(root, display.name(), &shot) {
        Ok(()) => println!(
            "The console window is up; a screenshot is at {}.",
            shot.display()
        ),
        Err(e) => println!("(no screenshot: {e:#})"),
    }
    println!(
        "Look at it again any time with\n  DISPLAY={} cargo run -q -p switchboard-tests --bin x11-screenshot -- shot.png\n\
         Stop with Ctrl-C.",
        display.name()
    );
    let status = child.wait()?;
    if !status.success() {
        bail!("the app exited with {status}");
    }
    Ok(())
}

fn test(root: &Path, filter: Option<String>) -> Result<()> {
    let started = Instant::now();
    build_ui(root)?;
    let env = testenv::TestEnv::provide()?;
    let apply_env = |c: &mut std::process::Command| {
        env.apply(c);
    };

    if filter.is_none() {
        step("cargo fmt --check", || {
            run(cargo().args(["fmt", "--all", "--", "--check"]))
        })?;
        step("UI type check (svelte-check)", || {
            run_in(root, &mut proc::npm(&["run", "check", "--workspace", "ui"]))
        })?;
        step("cargo clippy -D warnings", || {
            run(cargo().args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))
        })?;
    }
    // Tests in `tests/` start the real binaries: build them first, with the same command (and so
    // the same features) as the test build, so nothing is compiled twice.
    step("build the binaries and tests", || {
        run(cargo().args(["build", "--workspace", "--bins", "--tests"]))
    })?;
    step("Rust tests (cargo nextest)", || {
        let mut c = cargo();
        c.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
        // The installed-package tests need `cargo xtask bundle`'s output; `--verify` runs them.
        c.args(["-E", "not (package(switchboard-tests) & binary(bundle))"]);
        if std::env::var_os("CI").is_some() {
            c.args(["--profile", "ci"]);
        }
        if let Some(f) = &filter {
            c.arg(f);
        }
        apply_env(&mut c);
        run(&mut c)
    })?;
    if filter.is_none() {
        step("Rust doc tests", || {
            run(cargo().args(["test", "--workspace", "--doc"]))
        })?;
        step("UI tests (vitest)", || {
            run_in(root, &mut proc::npm(&["test", "--workspace", "ui"]))
        })?;
    }
    println!("\nAll tests passed in {}.", proc::human(started.elapsed()));
    Ok(())
}

/// Runs one named step and prints how long it took.
fn step<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    println!("\n==> {name}");
    let t = Instant::now();
    let r = f().with_context(|| format!("step failed: {name}"));
    println!(
        "<== {name}: {} ({})",
        if r.is_ok() { "ok" } else { "FAILED" },
        proc::human(t.elapsed())
    );
    r
}
