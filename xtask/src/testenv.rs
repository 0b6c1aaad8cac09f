//! The test environment of CONTRACTS.md: when absent, one Xvfb (exported as `DISPLAY`), one
//! user-mode PulseAudio with a null sink (exported as `PULSE_SERVER`) and one D-Bus session bus
//! (`DBUS_SESSION_BUS_ADDRESS`, always private) for the whole run. Never touches the developer's `~/.asoundrc`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::proc::{self, have};

/// Waits up to `limit` for `ready`, checking the child has not died meanwhile.
fn wait_for(child: &mut Child, limit: Duration, ready: impl Fn() -> bool) -> Result<bool> {
    let t = Instant::now();
    while t.elapsed() < limit {
        if ready() {
            return Ok(true);
        }
        if child.try_wait()?.is_some() {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(false)
}

/// A virtual X display that lives as long as this value.
pub struct Xvfb {
    child: Child,
    name: String,
}

impl Xvfb {
    pub fn start() -> Result<Self> {
        if !have("Xvfb") {
            bail!("Xvfb is not installed (Debian: apt-get install xvfb xauth)");
        }
        for n in 90..140 {
            if Path::new(&format!("/tmp/.X{n}-lock")).exists() {
                continue;
            }
            let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
            // A socket without a lock file is left over from a killed server: it would make the
            // readiness check below pass before our Xvfb listens.
            let _ = std::fs::remove_file(&socket);
            let mut child = Command::new("Xvfb")
                .args([
                    &format!(":{n}"),
                    "-screen",
                    "0",
                    "1920x1080x24",
                    "-nolisten",
                    "tcp",
                    "-noreset",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("starting Xvfb")?;
            let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
            proc::register_child(child.id());
            if wait_for(&mut child, Duration::from_secs(10), || socket.exists())? {
                return Ok(Self {
                    child,
                    name: format!(":{n}"),
                });
            }
            proc::terminate(&mut child);
        }
        bail!("could not start Xvfb on any display from :90 to :139")
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        proc::terminate(&mut self.child);
    }
}

/// A user-mode PulseAudio whose only sink is a null sink, clocked like a real sound card (the
/// ALSA `null` device is not: it busy-loops).
pub struct Pulse {
    child: Child,
    dir: PathBuf,
}

impl Pulse {
    pub fn start() -> Result<Self> {
        if !have("pulseaudio") {
            bail!("pulseaudio is not installed (Debian: apt-get install pulseaudio)");
        }
        let dir = std::env::temp_dir().join(format!("switchboard-pulse-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        set_private(&dir)?;
        let socket = dir.join("native");
        let mut child = Command::new("pulseaudio")
            .args([
                "-n",
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--disallow-exit",
                "--log-target=stderr",
                "--log-level=error",
                "-L",
                &format!("module-native-protocol-unix socket={} auth-anonymous=1", socket.display()),
                "-L",
                "module-null-sink sink_name=switchboard_null rate=48000 sink_properties=device.description=Switchboard-null",
                "-L",
                "module-always-sink",
            ])
            .env("XDG_RUNTIME_DIR", &dir)
            .env("HOME", &dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting pulseaudio")?;
        proc::register_child(child.id());
        if !wait_for(&mut child, Duration::from_secs(10), || socket.exists())? {
            proc::terminate(&mut child);
            bail!("pulseaudio did not open {} within 10 s", socket.display());
        }
        Ok(Self { child, dir })
    }

    pub fn server(&self) -> String {
        format!("unix:{}", self.dir.join("native").display())
    }
}

#[cfg(unix)]
fn set_private(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    Ok(())
}

#[cfg(not(unix))]
fn set_private(_: &Path) -> Result<()> {
    Ok(())
}

impl Drop for Pulse {
    fn drop(&mut self) {
        proc::terminate(&mut self.child);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A private D-Bus session bus: the app's single-instance lock and notifications use one.
pub struct SessionBus {
    child: Child,
    dir: PathBuf,
}

impl SessionBus {
    pub fn start() -> Result<Self> {
        if !have("dbus-daemon") {
            bail!("dbus-daemon is not installed (Debian: apt-get install dbus-daemon)");
        }
        let dir = std::env::temp_dir().join(format!("switchboard-dbus-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        set_private(&dir)?;
        let socket = dir.join("bus");
        let mut child = Command::new("dbus-daemon")
            .args([
                "--session",
                "--nofork",
                "--nopidfile",
                "--nosyslog",
                &format!("--address=unix:path={}", socket.display()),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting dbus-daemon")?;
        proc::register_child(child.id());
        if !wait_for(&mut child, Duration::from_secs(10), || socket.exists())? {
            proc::terminate(&mut child);
            bail!("dbus-daemon did not open {} within 10 s", socket.display());
        }
        Ok(Self { child, dir })
    }

    pub fn address(&self) -> String {
        format!("unix:path={}", self.dir.join("bus").display())
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        proc::terminate(&mut self.child);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What `cargo xtask test` provides to the tests it runs.
pub struct TestEnv {
    xvfb: Option<Xvfb>,
    pulse: Option<Pulse>,
    bus: Option<SessionBus>,
}

impl TestEnv {
    pub fn provide() -> Result<Self> {
        let has = |var: &str| std::env::var_os(var).is_some_and(|v| !v.is_empty());
        let xvfb = if has("DISPLAY") {
            None
        } else {
            let x = Xvfb::start()?;
            println!("test environment: started Xvfb on DISPLAY={}", x.name());
            Some(x)
        };
        // A private server even where the user runs one: the sound-card tests play into its
        // null sink and capture its monitor, and must not sound through the user's speakers.
        let pulse = if has("PULSE_SERVER") {
            None
        } else {
            let p = Pulse::start()?;
            println!(
                "test environment: started PulseAudio (null sink) at PULSE_SERVER={}",
                p.server()
            );
            Some(p)
        };
        // A private bus even where the user has one: a test's console must not hand over to
        // the developer's running Switchboard (single instance) or pop up notifications.
        let bus = SessionBus::start()?;
        println!(
            "test environment: started a D-Bus session bus at DBUS_SESSION_BUS_ADDRESS={}",
            bus.address()
        );
        let bus = Some(bus);
        Ok(Self { xvfb, pulse, bus })
    }

    pub fn apply(&self, cmd: &mut Command) {
        cmd.env("TAURI_DRIVER", crate::setup::tauri_driver());
        if let Some(x) = &self.xvfb {
            cmd.env("DISPLAY", x.name());
        }
        if let Some(p) = &self.pulse {
            cmd.env("PULSE_SERVER", p.server());
        }
        if let Some(b) = &self.bus {
            cmd.env("DBUS_SESSION_BUS_ADDRESS", b.address());
        }
    }
}

/// Saves a PNG of `display` once the window on it has drawn something (more than a handful of
/// colours), using the screenshot tool of the tests crate.
pub fn screenshot_when_drawn(root: &Path, display: &str, out: &Path) -> Result<()> {
    let mut c = proc::cargo();
    c.current_dir(root).args([
        "run",
        "--quiet",
        "-p",
        "switchboard-tests",
        "--bin",
        "x11-screenshot",
        "--",
        "--wait-drawn",
        "60",
    ]);
    c.arg(out).env("DISPLAY", display);
    proc::run(&mut c)
}
