//! The server's Debian package, `switchboard-server_<version>_<arch>.deb`: staged from the
//! release binary, the built widget and `crates/server/debian/` (unit, default settings,
//! maintainer scripts), packed with Debian's own `dpkg-deb` (no cargo-deb to install on CI), and
//! checked without installing it: its listing and fields, then the extracted binary served with
//! the shipped settings, and the shipped unit through `systemd-analyze verify`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

use crate::proc::{self, capture, cargo, run};

const PACKAGE: &str = "switchboard-server";

/// Used when `dpkg-shlibdeps` (dpkg-dev) is not installed. The binary links libc, libm and
/// libgcc_s only (`ldd`); its newest glibc symbol version is GLIBC_2.34 (`objdump -T`), which is
/// what dpkg-shlibdeps computes on Debian 12.
const FALLBACK_LIB_DEPENDS: &str = "libc6 (>= 2.34), libgcc-s1 (>= 4.2)";

/// Paths every package must contain (as `dpkg-deb -c` prints them).
const EXPECTED: &[&str] = &[
    "./usr/bin/switchboard-server",
    "./lib/systemd/system/switchboard-server.service",
    "./etc/switchboard-server/server.toml",
    "./etc/default/switchboard-server",
    "./usr/share/switchboard-server/widget/widget.html",
    "./usr/share/switchboard-server/widget/embed.js",
    "./usr/share/doc/switchboard-server/copyright",
];

/// Builds the release server and packs it; returns the `.deb`'s path.
pub fn build(root: &Path, target_dir: &Path, version: &str) -> Result<PathBuf> {
    let mut c = crate::proc::without_secrets(cargo());
    c.current_dir(root)
        .args(["build", "--release", "-p", PACKAGE]);
    run(&mut c)?;

    let widget = root.join("ui/dist-widget");
    if !widget.join("widget.html").is_file() {
        bail!(
            "{} has no built widget: run `npm run build --workspace ui` first",
            widget.display()
        );
    }
    let debian = root.join("crates/server/debian");
    let out = target_dir.join("release/bundle/server");
    let staging = out.join("staging");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("removing {}", staging.display()))?;
    }

    let binary = staging.join("usr/bin").join(PACKAGE);
    install(&target_dir.join("release").join(PACKAGE), &binary, 0o755)?;
    install(
        &debian.join("switchboard-server.service"),
        &staging.join("lib/systemd/system/switchboard-server.service"),
        0o644,
    )?;
    install(
        &debian.join("server.toml"),
        &staging.join("etc/switchboard-server/server.toml"),
        0o644,
    )?;
    install(
        &debian.join("default"),
        &staging.join("etc/default").join(PACKAGE),
        0o644,
    )?;
    copy_tree(
        &widget,
        &staging.join("usr/share/switchboard-server/widget"),
    )?;
    let doc = staging.join("usr/share/doc").join(PACKAGE);
    install(&debian.join("copyright"), &doc.join("copyright"), 0o644)?;
    // The unit's Documentation= points here.
    install(&root.join("docs/server.md"), &doc.join("server.md"), 0o644)?;

    let control = staging.join("DEBIAN");
    install(&debian.join("conffiles"), &control.join("conffiles"), 0o644)?;
    for script in ["postinst", "prerm", "postrm"] {
        install(&debian.join(script), &control.join(script), 0o755)?;
    }
    let arch = architecture()?;
    let depends = format!("adduser, {}", lib_depends(&out, &binary)?);
    let template = std::fs::read_to_string(debian.join("control"))
        .with_context(|| format!("reading {}", debian.join("control").display()))?;
    let fields = template
        .replace("@VERSION@", version)
        .replace("@ARCH@", &arch)
        .replace("@DEPENDS@", &depends)
        .replace(
            "@INSTALLED_SIZE@",
            &installed_size_kib(&staging)?.to_string(),
        );
    if let Some(name) = placeholder(&fields) {
        bail!("crates/server/debian/control has a placeholder build() does not fill: @{name}@");
    }
    write(&control.join("control"), &fields, 0o644)?;

    let deb = out.join(format!("{PACKAGE}_{version}_{arch}.deb"));
    let mut c = Command::new("dpkg-deb");
    c.arg("--root-owner-group")
        .arg("--build")
        .arg(&staging)
        .arg(&deb);
    run(&mut c)?;
    Ok(deb)
}

/// Checks a built package without installing it: contents, fields and control files; the
/// extracted server started on the shipped settings serves the shipped widget; the unit passes
/// `systemd-analyze verify`.
pub fn verify(deb: &Path) -> Result<()> {
    let listing = capture(Command::new("dpkg-deb").arg("-c").arg(deb))?;
    // `-rwxr-xr-x root/root   9224256 2026-11-26 04:50 ./usr/bin/switchboard-server`
    let entries: HashMap<&str, (&str, &str)> = listing
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 6).then(|| (f[5], (f[0], f[1])))
        })
        .collect();
    for path in EXPECTED {
        let Some((mode, owner)) = entries.get(path) else {
            bail!("{} lacks {path}; it holds:\n{listing}", deb.display());
        };
        ensure!(
            *owner == "root/root",
            "{path} is owned by {owner}, not root/root"
        );
        let want = if path.starts_with("./usr/bin/") {
            "-rwxr-xr-x"
        } else {
            "-rw-r--r--"
        };
        ensure!(*mode == want, "{path} has mode {mode}, not {want}");
    }

    let info = capture(Command::new("dpkg-deb").arg("-f").arg(deb).args([
        "Package",
        "Version",
        "Architecture",
        "Depends",
        "Installed-Size",
    ]))?;
    let fields: HashMap<&str, &str> = info.lines().filter_map(|l| l.split_once(": ")).collect();
    let field = |name: &str| fields.get(name).copied().unwrap_or_default();
    ensure!(
        field("Package") == PACKAGE,
        "Package is {:?}",
        field("Package")
    );
    let arch = architecture()?;
    ensure!(
        field("Architecture") == arch,
        "Architecture is {:?}, not {arch}",
        field("Architecture")
    );
    let file_name = format!("{PACKAGE}_{}_{arch}.deb", field("Version"));
    ensure!(
        !field("Version").is_empty() && deb.file_name().is_some_and(|n| *n == *file_name),
        "Version {:?} does not match the file name {}",
        field("Version"),
        deb.display()
    );
    for dep in ["adduser", "libc6 (>= "] {
        ensure!(
            field("Depends").contains(dep),
            "Depends {:?} lacks {dep}",
            field("Depends")
        );
    }
    ensure!(
        field("Installed-Size")
            .parse::<u64>()
            .is_ok_and(|kib| kib > 0),
        "Installed-Size is {:?}",
        field("Installed-Size")
    );

    let dir = deb
        .parent()
        .context("the .deb has no parent directory")?
        .join("verify");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let tree = dir.join("root");
    let control = dir.join("DEBIAN");
    std::fs::create_dir_all(&tree)?;
    run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&tree))?;
    run(Command::new("dpkg-deb").arg("-e").arg(deb).arg(&control))?;
    let conffiles = std::fs::read_to_string(control.join("conffiles"))?;
    for conffile in [
        "/etc/switchboard-server/server.toml",
        "/etc/default/switchboard-server",
    ] {
        ensure!(
            conffiles.lines().any(|l| l == conffile),
            "conffiles lacks {conffile}: {conffiles:?}"
        );
    }
    for script in ["postinst", "prerm", "postrm"] {
        let mode = std::fs::metadata(control.join(script))
            .with_context(|| format!("the package has no {script}"))?
            .permissions()
            .mode();
        ensure!(
            mode & 0o777 == 0o755,
            "{script} has mode {:o}, not 755",
            mode & 0o777
        );
    }

    // The server has no TLS: what the package listens on by itself must be this machine only.
    for (file, key) in [
        ("etc/default/switchboard-server", "SWITCHBOARD_LISTEN="),
        (
            "lib/systemd/system/switchboard-server.service",
            "Environment=SWITCHBOARD_LISTEN=",
        ),
    ] {
        let text = std::fs::read_to_string(tree.join(file))?;
        let listen = text
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .with_context(|| format!("{file} sets no {key}"))?;
        ensure!(
            listen.starts_with("127.0.0.1:"),
            "{file} listens on {listen}: plain HTTP beyond this machine by default"
        );
    }
    serve_widget(&tree, &dir.join("data"))?;
    verify_unit(&tree)?;
    println!("verified {}", deb.display());
    Ok(())
}

/// Starts the extracted binary as the unit would (shipped settings, a fresh data dir, a free
/// port instead of 7700) and fetches the widget page: it must be the package's `widget.html`.
fn serve_widget(tree: &Path, data: &Path) -> Result<()> {
    std::fs::create_dir_all(data)?;
    let widget = tree.join("usr/share/switchboard-server/widget");
    let log = data.join("server.log");
    let mut child = Command::new(tree.join("usr/bin").join(PACKAGE))
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .arg("--config")
        .arg(tree.join("etc/switchboard-server/server.toml"))
        // Serve the package's widget, not ui/dist-widget nor an installed copy.
        .env("SWITCHBOARD_WIDGET_DIR", &widget)
        .current_dir(data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log)?)
        .spawn()
        .context("cannot start the extracted switchboard-server")?;
    proc::register_child(child.id());
    let result = (|| {
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let listening: serde_json::Value = serde_json::from_str(line.trim())
            .with_context(|| format!("expected {{\"listening\":ADDR}} on stdout, got {line:?}"))?;
        let addr: SocketAddr = listening["listening"]
            .as_str()
            .context("no \"listening\" address")?
            .parse()?;
        let (status, body) = http_get(addr, "/widget/")?;
        ensure!(status == 200, "GET /widget/ answered {status}");
        let page = std::fs::read(widget.join("widget.html"))?;
        ensure!(
            body == page,
            "GET /widget/ is not the package's widget.html"
        );
        let (status, body) = http_get(addr, "/healthz")?;
        ensure!(
            status == 200 && body.trim_ascii() == b"ok",
            "GET /healthz answered {status}"
        );
        Ok(())
    })();
    proc::terminate(&mut child);
    result.with_context(|| {
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        format!("the extracted server, with the shipped server.toml; its log:\n{log}")
    })
}

/// A one-shot HTTP/1.1 GET (the server answers with Content-Length; no new dependency).
fn http_get(addr: SocketAddr, path: &str) -> Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .with_context(|| format!("reading the answer to GET {path}"))?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .with_context(|| format!("GET {path}: no end of headers"))?;
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("GET {path}: no status in {head:?}"))?;
    Ok((status, response[split + 4..].to_vec()))
}

/// `systemd-analyze verify --root=<extracted tree>`, so that ExecStart's /usr/bin path resolves
/// to the packaged binary. The tree also gets this machine's own units (sysinit.target,
/// network-online.target, …), which the unit's dependencies name. verify does not check that
/// User= exists (that is checked at start), and reports unknown keys and bad values as warnings
/// with exit code 0: any output at all counts as a failure.
fn verify_unit(tree: &Path) -> Result<()> {
    // `cargo xtask setup` installs it (Debian's `systemd`): a check that skips itself would
    // pass a broken unit.
    if !proc::have("systemd-analyze") {
        bail!("systemd-analyze is not installed (`cargo xtask setup` installs Debian's systemd)");
    }
    let Some(host_units) = ["/usr/lib/systemd/system", "/lib/systemd/system"]
        .into_iter()
        .map(Path::new)
        .find(|d| d.join("sysinit.target").is_file())
    else {
        println!("this machine has no systemd units to verify against: the unit is not verified");
        return Ok(());
    };
    let units = tree.join("usr/lib/systemd/system");
    std::fs::create_dir_all(&units)?;
    run(Command::new("cp")
        .arg("-a")
        .arg(host_units.join("."))
        .arg(&units))?;
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", tree.display()))
        .arg("--man=no")
        .arg("/lib/systemd/system/switchboard-server.service")
        .stdin(Stdio::null())
        .output()
        .context("cannot start systemd-analyze")?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify of switchboard-server.service ({}):\n{said}",
        out.status
    );
    Ok(())
}

/// The first `@NAME@` left in a template (an e-mail address's `@` is not one).
fn placeholder(text: &str) -> Option<&str> {
    let parts: Vec<&str> = text.split('@').collect();
    // Between two `@`: neither the text before the first nor after the last.
    parts
        .get(1..parts.len().saturating_sub(1))?
        .iter()
        .copied()
        .find(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
}

/// `dpkg --print-architecture`: the package is for the machine that built the binary.
fn architecture() -> Result<String> {
    Ok(capture(Command::new("dpkg").arg("--print-architecture"))?
        .trim()
        .to_owned())
}

/// The libraries' Depends, by `dpkg-shlibdeps` where dpkg-dev is installed. It wants a
/// `debian/control` in its working directory, so it runs in a scratch one.
fn lib_depends(out: &Path, binary: &Path) -> Result<String> {
    if !proc::have("dpkg-shlibdeps") {
        println!("dpkg-shlibdeps (dpkg-dev) is not installed: Depends: {FALLBACK_LIB_DEPENDS}");
        return Ok(FALLBACK_LIB_DEPENDS.into());
    }
    let scratch = out.join("shlibdeps");
    write(
        &scratch.join("debian/control"),
        &format!("Source: {PACKAGE}\n\nPackage: {PACKAGE}\nArchitecture: any\n"),
        0o644,
    )?;
    let result = Command::new("dpkg-shlibdeps")
        .arg("-O")
        .arg(format!("-e{}", binary.display()))
        .current_dir(&scratch)
        .stdin(Stdio::null())
        .output()
        .context("cannot start dpkg-shlibdeps")?;
    // It warns that the binary is outside debian/<package>/, which is harmless here.
    let stdout = String::from_utf8_lossy(&result.stdout);
    let depends = stdout
        .lines()
        .find_map(|l| l.strip_prefix("shlibs:Depends="))
        .filter(|_| result.status.success());
    match depends {
        Some(d) if d.contains("libc6") => Ok(d.trim().to_owned()),
        _ => bail!(
            "dpkg-shlibdeps gave no libc6 dependency ({}):\n{stdout}{}",
            result.status,
            String::from_utf8_lossy(&result.stderr)
        ),
    }
}

/// What dpkg-gencontrol computes: each file's size rounded up to KiB, one KiB per other entry.
fn installed_size_kib(staging: &Path) -> Result<u64> {
    fn walk(dir: &Path, total: &mut u64) -> Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_dir() {
                if entry.file_name() != "DEBIAN" {
                    *total += 1;
                    walk(&entry.path(), total)?;
                }
            } else if meta.is_file() {
                *total += meta.len().div_ceil(1024);
            } else {
                *total += 1;
            }
        }
        Ok(())
    }
    let mut total = 0;
    walk(staging, &mut total)?;
    Ok(total)
}

/// Copies `from` to `to` with `mode`, creating the directories (0755) on the way.
fn install(from: &Path, to: &Path, mode: u32) -> Result<()> {
    make_dirs(to.parent().context("no parent directory")?)?;
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn write(to: &Path, text: &str, mode: u32) -> Result<()> {
    make_dirs(to.parent().context("no parent directory")?)?;
    std::fs::write(to, text).with_context(|| format!("writing {}", to.display()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// Copies a directory's files (0644) and subdirectories (0755), whatever the umask was.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    make_dirs(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            copy_tree(&path, &to.join(entry.file_name()))?;
        } else {
            install(&path, &to.join(entry.file_name()), 0o644)?;
        }
    }
    Ok(())
}

/// `mkdir -p` with mode 0755 on every directory it makes (dpkg-deb refuses a group-writable
/// DEBIAN/, and the tree's modes are what gets installed).
fn make_dirs(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        make_dirs(parent)?;
    }
    std::fs::create_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}
