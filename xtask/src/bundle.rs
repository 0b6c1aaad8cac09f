//! `cargo xtask bundle [--verify]` (docs/release.md): the app's installers for this platform,
//! signed for the updater, with the `latest.json` manifest that announces them; on Linux also
//! the server's `.deb`. `--verify` checks what was built: signatures, package contents, the
//! installed app's window and its update path (tests/tests/bundle.rs).

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::proc::{self, run, run_in, without_secrets};
use crate::{step, target_dir};

const THROWAWAY_PASSWORD: &str = "throwaway";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Where installed apps may fetch updates from: https, or plain http to the machine itself.
fn check_update_address(name: &str, url: &str) -> Result<()> {
    let local = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| url.starts_with(p));
    if !url.is_empty() && !url.starts_with("https://") && !local {
        bail!("{name} {url:?} must be an https address (the app refuses anything else)");
    }
    Ok(())
}

/// The updater's signing key: what the Tauri CLI reads, and the public half the app gets.
pub struct SigningKey {
    /// `TAURI_SIGNING_PRIVATE_KEY`'s form: base64 of minisign's secret key file.
    private: String,
    password: String,
    secret: minisign::SecretKey,
    public: minisign::PublicKey,
    /// Made here because none was given: good for trying the update path, not for a release.
    pub throwaway: bool,
}

impl SigningKey {
    /// The public key as `plugins.updater.pubkey` takes it: base64 of minisign's `.pub` file.
    pub fn public_config(&self) -> Result<String> {
        Ok(B64.encode(self.public.to_box()?.into_string()))
    }

    /// A signature of `bytes` bound to `version`, as the Tauri CLI writes it (`--app-version`):
    /// base64 of minisign's signature file, the version in its signed trusted comment.
    pub fn sign(&self, bytes: &[u8], file: &str, version: &str) -> Result<String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        let trusted = format!("timestamp:{now}\tfile:{file}\tversion:{version}");
        let sig = minisign::sign(
            Some(&self.public),
            &self.secret,
            Cursor::new(bytes),
            Some(&trusted),
            Some("signature from tauri secret key"),
        )?;
        Ok(B64.encode(sig.into_string()))
    }
}

/// `TAURI_SIGNING_PRIVATE_KEY` (the key, or a path to it) with
/// `TAURI_SIGNING_PRIVATE_KEY_PASSWORD`; without one, a throwaway key kept under `dir` so that
/// repeated bundles agree.
fn signing_key(dir: &Path) -> Result<SigningKey> {
    let (private, password, throwaway) = match std::env::var("TAURI_SIGNING_PRIVATE_KEY") {
        Ok(k) if !k.trim().is_empty() => {
            let k = k.trim().to_owned();
            let password = std::env::var("TAURI_SIGNING_PRIVATE_KEY_PASSWORD").unwrap_or_default();
            match std::fs::read_to_string(&k) {
                Ok(file) => (file.trim().to_owned(), password, false),
                Err(_) => (k, password, false),
            }
        }
        _ => {
            let path = dir.join("throwaway-updater.key");
            if !path.is_file() {
                std::fs::create_dir_all(dir)?;
                // minisign (and so the Tauri CLI) cannot open a key "encrypted" with an empty
                // password; this one's password is no secret, the key is not one either.
                let pair =
                    minisign::KeyPair::generate_encrypted_keypair(Some(THROWAWAY_PASSWORD.into()))?;
                let text = pair
                    .sk
                    .to_box(Some("throwaway key made by cargo xtask bundle"))?
                    .into_string();
                std::fs::write(&path, B64.encode(text))?;
            }
            println!(
                "\nNOTE: TAURI_SIGNING_PRIVATE_KEY is not set, so the updater artifacts are signed \
                 with a throwaway key ({}). The app built now trusts only that key: fine for \
                 trying the update path, not for a release (docs/release.md).",
                path.display()
            );
            (
                std::fs::read_to_string(&path)?.trim().to_owned(),
                THROWAWAY_PASSWORD.to_owned(),
                true,
            )
        }
    };
    let text = String::from_utf8(B64.decode(&private).context(
        "TAURI_SIGNING_PRIVATE_KEY is not base64 (use the key file `tauri signer generate` wrote)",
    )?)
    .context("TAURI_SIGNING_PRIVATE_KEY is not a minisign key")?;
    let secret = minisign::SecretKey::from_box(
        minisign::SecretKeyBox::from_string(&text)?,
        Some(password.clone()),
    )
    .context("cannot open the signing key (is TAURI_SIGNING_PRIVATE_KEY_PASSWORD right?)")?;
    let public = minisign::PublicKey::from_secret_key(&secret)?;
    Ok(SigningKey {
        private,
        password,
        secret,
        public,
        throwaway,
    })
}

/// One updater artifact: the installer and its signature, under the manifest's platform keys.
struct Artifact {
    path: PathBuf,
    signature: String,
    platforms: Vec<String>,
}

/// This platform's bundles, and the updater's name for each (`{os}-{arch}-{installer}`).
fn bundle_kinds() -> (
    &'static str,
    &'static [(&'static str, &'static str, &'static str)],
) {
    // (Tauri bundle, directory, file suffix); the first is also the `{os}-{arch}` fallback.
    match std::env::consts::OS {
        "linux" => ("deb,rpm", &[("deb", "deb", ".deb"), ("rpm", "rpm", ".rpm")]),
        "windows" => ("nsis", &[("nsis", "nsis", "-setup.exe")]),
        "macos" => ("app,dmg", &[("app", "macos", ".app.tar.gz")]),
        _ => ("", &[]),
    }
}

fn updater_os() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        os => os,
    }
}

/// The app's version (the workspace's).
fn app_version(root: &Path) -> Result<String> {
    let out = proc::capture(
        proc::cargo()
            .args([
                "metadata",
                "--no-deps",
                "--format-version",
                "1",
                "--manifest-path",
            ])
            .arg(root.join("Cargo.toml")),
    )?;
    let v: Value = serde_json::from_str(&out)?;
    v["packages"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "switchboard"))
        .and_then(|p| p["version"].as_str())
        .map(str::to_owned)
        .context("cargo metadata names no `switchboard` package")
}

pub struct Built {
    pub version: String,
    pub dir: PathBuf,
    pub key: SigningKey,
    artifacts: Vec<Artifact>,
    pub server_deb: Option<PathBuf>,
}

pub fn bundle(root: &Path, openh264: &str) -> Result<Built> {
    let (bundles, kinds) = bundle_kinds();
    if kinds.is_empty() {
        bail!("no installers for {}", std::env::consts::OS);
    }
    let version = app_version(root)?;
    let dir = target_dir(root).join("release/bundle");
    let key = signing_key(&target_dir(root).join("xtask"))?;
    // Installers of an earlier version would end up in the manifest.
    for (_, sub, _) in kinds {
        let _ = std::fs::remove_dir_all(dir.join(sub));
    }
    std::fs::create_dir_all(&dir)?;

    // The public key and the update address go into the app through a config merged at build.
    let update_url = std::env::var("SWITCHBOARD_UPDATE_URL").unwrap_or_default();
    check_update_address("SWITCHBOARD_UPDATE_URL", update_url.trim())?;
    check_update_address(
        "SWITCHBOARD_RELEASE_BASE_URL",
        std::env::var("SWITCHBOARD_RELEASE_BASE_URL")
            .unwrap_or_default()
            .trim(),
    )?;
    let endpoints: Vec<&str> = [update_url.trim()]
        .into_iter()
        .filter(|u| !u.is_empty())
        .collect();
    let patch = json!({
        "bundle": {"createUpdaterArtifacts": true},
        "plugins": {"updater": {"pubkey": key.public_config()?, "endpoints": endpoints}},
    });
    let patch_path = target_dir(root).join("xtask/bundle-config.json");
    std::fs::write(&patch_path, serde_json::to_vec_pretty(&patch)?)?;
    if endpoints.is_empty() {
        println!(
            "NOTE: SWITCHBOARD_UPDATE_URL is not set: the app has no built-in update address \
             (agents' machines can still be given one in $SWITCHBOARD_UPDATE_URL)."
        );
    }

    step(
        &format!("tauri build --bundles {bundles} (OpenH264: {openh264})"),
        || {
            let mut c = proc::npx(&["tauri", "build", "--ci", "--bundles", bundles, "--config"]);
            c.arg(&patch_path);
            // Platform signing (Windows certificate, …) from the release workflow.
            if let Some(extra) = std::env::var_os("SWITCHBOARD_BUNDLE_CONFIG") {
                c.arg("--config").arg(extra);
            }
            // The app's OpenH264 (its default, `openh264-source`, off for a Cisco build).
            c.args(["--features", &format!("openh264-{openh264}")]);
            c.args(["--", "--no-default-features"]);
            c.env("TAURI_SIGNING_PRIVATE_KEY", &key.private);
            c.env("TAURI_SIGNING_PRIVATE_KEY_PASSWORD", &key.password);
            run_in(root, &mut c)
        },
    )?;

    let os = updater_os();
    let arch = std::env::consts::ARCH;
    let mut artifacts = Vec::new();
    for (i, (kind, sub, suffix)) in kinds.iter().enumerate() {
        let found: Vec<PathBuf> = std::fs::read_dir(dir.join(sub))
            .with_context(|| format!("tauri build left no {}", dir.join(sub).display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(suffix))
            .collect();
        let [path] = found.as_slice() else {
            bail!(
                "expected one {suffix} in {}, found {found:?}",
                dir.join(sub).display()
            );
        };
        // macOS names the archive without version or arch; the release holds both Macs'.
        let path = if *kind == "app" {
            let named = dir
                .join(sub)
                .join(format!("Switchboard_{version}_{arch}{suffix}"));
            std::fs::rename(path, &named)?;
            std::fs::rename(
                format!("{}.sig", path.display()),
                format!("{}.sig", named.display()),
            )?;
            named
        } else {
            path.clone()
        };
        let path = &path;
        let sig = PathBuf::from(format!("{}.sig", path.display()));
        let signature = std::fs::read_to_string(&sig)
            .with_context(|| format!("{} has no signature {}", path.display(), sig.display()))?;
        let mut platforms = vec![format!("{os}-{arch}-{kind}")];
        if i == 0 {
            platforms.push(format!("{os}-{arch}"));
        }
        println!(
            "built {} ({:.1} MB), signed",
            path.display(),
            std::fs::metadata(path)?.len() as f64 / 1e6
        );
        artifacts.push(Artifact {
            path: path.clone(),
            signature: signature.trim().to_owned(),
            platforms,
        });
    }

    let manifest = manifest(&version, &artifacts)?;
    let manifest_path = dir.join("latest.json");
    std::fs::write(&manifest_path, serde_json::to_vec_pretty(&manifest)?)?;
    println!("wrote {}", manifest_path.display());

    #[cfg(target_os = "linux")]
    let server_deb = {
        let deb = step("the server's .deb", || {
            crate::server_deb::build(root, &target_dir(root), &version).map(Some)
        })?;
        if let Some(d) = &deb {
            println!(
                "built {} ({:.1} MB)",
                d.display(),
                std::fs::metadata(d)?.len() as f64 / 1e6
            );
        }
        deb
    };
    #[cfg(not(target_os = "linux"))]
    let server_deb = None;
    Ok(Built {
        version,
        dir,
        key,
        artifacts,
        server_deb,
    })
}

/// Tauri's static update manifest. Downloads point at `$SWITCHBOARD_RELEASE_BASE_URL/<file>`
/// (the release's assets); without it at the files here, which only this machine can fetch.
fn manifest(version: &str, artifacts: &[Artifact]) -> Result<Value> {
    let base = std::env::var("SWITCHBOARD_RELEASE_BASE_URL").unwrap_or_default();
    let base = base.trim().trim_end_matches('/');
    let mut platforms = serde_json::Map::new();
    for a in artifacts {
        let name = a
            .path
            .file_name()
            .context("an artifact without a name")?
            .to_string_lossy();
        let url = if base.is_empty() {
            format!("file://{}", a.path.display())
        } else {
            format!("{base}/{}", name.replace(' ', "%20"))
        };
        for p in &a.platforms {
            platforms.insert(p.clone(), json!({"url": url, "signature": a.signature}));
        }
    }
    let notes = std::env::var("SWITCHBOARD_RELEASE_NOTES")
        .unwrap_or_else(|_| format!("Switchboard {version}"));
    Ok(json!({
        "version": version,
        "notes": notes,
        "pub_date": time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)?,
        "platforms": platforms,
    }))
}

/// Checks every signature against the public key the app was built with, and that each is
/// bound to this version.
pub fn verify_signatures(built: &Built) -> Result<()> {
    let public = minisign_verify::PublicKey::decode(&built.key.public.to_box()?.into_string())
        .map_err(|e| anyhow::anyhow!("the public key: {e}"))?;
    for a in &built.artifacts {
        let bytes = std::fs::read(&a.path)?;
        let text = String::from_utf8(B64.decode(&a.signature)?)?;
        let sig = minisign_verify::Signature::decode(&text)
            .map_err(|e| anyhow::anyhow!("{}.sig: {e}", a.path.display()))?;
        public
            .verify(&bytes, &sig, false)
            .map_err(|e| anyhow::anyhow!("{} does not verify: {e}", a.path.display()))?;
        let bound = format!("version:{}", built.version);
        if !sig.trusted_comment().split('\t').any(|f| f == bound) {
            bail!(
                "{}'s signature is not bound to version {} (trusted comment {:?})",
                a.path.display(),
                built.version,
                sig.trusted_comment()
            );
        }
        // A flipped byte must not verify: the check itself is checked.
        let mut bad = bytes;
        let mid = bad.len() / 2;
        bad[mid] ^= 0x01;
        if public.verify(&bad, &sig, false).is_ok() {
            bail!("a modified {} still verified", a.path.display());
        }
        println!(
            "signature ok: {} ({})",
            a.path.file_name().unwrap_or_default().to_string_lossy(),
            sig.trusted_comment()
        );
    }
    Ok(())
}

/// `dpkg-deb -c` / `rpm -qlp`: the binary, the desktop entry and the icons are in the package.
fn check_contents(listing: &str, what: &str) -> Result<()> {
    // `dpkg-deb -c` prints `… usr/bin/x`, `rpm -qlp` prints `/usr/bin/x`.
    let files: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .map(|p| p.trim_start_matches("./").trim_start_matches('/'))
        .collect();
    let mut missing = Vec::new();
    for p in [
        "usr/bin/switchboard",
        "usr/share/applications/Switchboard.desktop",
    ] {
        if !files.contains(&p) {
            missing.push(p.to_owned());
        }
    }
    let icons = files
        .iter()
        .filter(|p| {
            p.starts_with("usr/share/icons/hicolor/") && p.ends_with("/apps/switchboard.png")
        })
        .count();
    if icons < 2 {
        missing.push(format!(
            "icons under usr/share/icons/hicolor (found {icons})"
        ));
    }
    if !missing.is_empty() {
        bail!("{what} lacks {}:\n{listing}", missing.join(", "));
    }
    println!("{what}: binary, desktop entry and {icons} icons");
    Ok(())
}

pub fn verify(root: &Path, built: &Built, env: &crate::testenv::TestEnv) -> Result<()> {
    if std::env::consts::OS != "linux" {
        println!("--verify checks the Linux packages; on this platform the signatures only");
        return verify_signatures(built);
    }
    step("signatures verify against the app's public key", || {
        verify_signatures(built)
    })?;
    let deb = built
        .artifacts
        .iter()
        .find(|a| a.path.extension().is_some_and(|e| e == "deb"))
        .context("no .deb was built")?;
    let rpm = built
        .artifacts
        .iter()
        .find(|a| a.path.extension().is_some_and(|e| e == "rpm"))
        .context("no .rpm was built")?;
    let scratch = built.dir.join("verify");
    let _ = std::fs::remove_dir_all(&scratch);
    let install_root = scratch.join("root");
    std::fs::create_dir_all(&install_root)?;
    step("package contents (dpkg-deb -c, rpm -qlp)", || {
        let listing = proc::capture(Command::new("dpkg-deb").arg("-c").arg(&deb.path))?;
        check_contents(&listing, "the .deb")?;
        // `cargo xtask setup` installs rpm: a check that skips itself would pass anything.
        let listing = proc::capture(Command::new("rpm").arg("-qlp").arg(&rpm.path))
            .context("listing the .rpm (`cargo xtask setup` installs rpm)")?;
        check_contents(&listing, "the .rpm")?;
        run(Command::new("dpkg")
            .arg("-x")
            .arg(&deb.path)
            .arg(&install_root))?;
        check_dependencies(&deb.path, &install_root.join("usr/bin/switchboard"))?;
        let entry = install_root.join("usr/share/applications/Switchboard.desktop");
        let text = std::fs::read_to_string(&entry)?;
        for line in ["Exec=switchboard", "Icon=switchboard", "Type=Application"] {
            if !text.lines().any(|l| l.trim() == line) {
                bail!("the desktop entry lacks {line:?}:\n{text}");
            }
        }
        Ok(())
    })?;

    // The update tests serve the installer under the next version: a release of that version
    // carries a signature bound to it, so one is made here. Only with the throwaway key: a
    // release key must never sign a version that was not released (that binding is what stops
    // a manifest from passing off an old package as new); with one, only the window is tested.
    let next = next_version(&built.version)?;
    let file = deb
        .path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let bytes = std::fs::read(&deb.path)?;
    let signatures = if built.key.throwaway {
        // And a stranger's signature of the same file: what someone without our key can make.
        let stranger = minisign::KeyPair::generate_unencrypted_keypair()?;
        let foreign = SigningKey {
            private: String::new(),
            password: String::new(),
            secret: stranger.sk,
            public: stranger.pk,
            throwaway: true,
        };
        Some((
            built.key.sign(&bytes, &file, &next)?,
            foreign.sign(&bytes, &file, &next)?,
        ))
    } else {
        println!(
            "NOTE: signed with a release key: the update tests (which need a signature for an \
             unreleased version) are skipped; `.ci/run` runs them with a throwaway key"
        );
        None
    };

    step(
        "the installed app: its window and its updates (tests/tests/bundle.rs)",
        || {
            let mut c = without_secrets(proc::cargo());
            c.args([
                "nextest",
                "run",
                "-p",
                "switchboard-tests",
                "--test",
                "bundle",
                "--no-fail-fast",
            ]);
            if std::env::var_os("CI").is_some() {
                c.args(["--profile", "ci"]);
            }
            env.apply(&mut c);
            c.env("SWITCHBOARD_BUNDLE_ROOT", &install_root)
                .env("SWITCHBOARD_BUNDLE_DEB", &deb.path)
                .env("SWITCHBOARD_BUNDLE_SIG", &deb.signature)
                .env("SWITCHBOARD_BUNDLE_VERSION", &built.version)
                .env("SWITCHBOARD_BUNDLE_NEXT_VERSION", &next);
            match &signatures {
                Some((next_sig, foreign_sig)) => {
                    c.env("SWITCHBOARD_BUNDLE_NEXT_SIG", next_sig)
                        .env("SWITCHBOARD_BUNDLE_FOREIGN_SIG", foreign_sig);
                }
                None => {
                    c.args(["-E", "test(the_installed_app_starts)"]);
                }
            }
            run_in(root, &mut c)
        },
    )?;

    // The app just built loads Cisco's OpenH264; without it, video must say why.
    step(
        "the Cisco build of the media crate (openh264-cisco)",
        || {
            run(without_secrets(proc::cargo()).current_dir(root).args([
                "test",
                "-p",
                "switchboard-media",
                "--no-default-features",
                "--features",
                "openh264-cisco",
                "--lib",
                "cisco_tests",
            ]))
        },
    )?;
    #[cfg(target_os = "linux")]
    if let Some(server) = &built.server_deb {
        step("the server's .deb checked", || {
            crate::server_deb::verify(server)
        })?;
    }
    step("the release workflow (actionlint)", || {
        crate::actionlint::lint(root, &target_dir(root).join("xtask"))
    })?;
    Ok(())
}

/// The `.deb`'s `Depends` bring every library the binary links (each `NEEDED` library's Debian
/// package is in the dependencies' closure), and the tray's library, which is loaded at run time.
fn check_dependencies(deb: &Path, binary: &Path) -> Result<()> {
    let depends = proc::capture(Command::new("dpkg-deb").arg("-f").arg(deb).arg("Depends"))?;
    let listed: Vec<String> = depends
        .split([',', '|'])
        .filter_map(|d| d.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    // tray-icon dlopens libayatana-appindicator3 for the tray: no NEEDED entry names it.
    if !listed.iter().any(|d| d == "libayatana-appindicator3-1") {
        bail!(
            "the .deb does not depend on libayatana-appindicator3-1 (the tray): Depends: {depends}"
        );
    }
    let closure = proc::capture(
        Command::new("apt-cache")
            .args([
                "depends",
                "--recurse",
                "--no-recommends",
                "--no-suggests",
                "--no-conflicts",
                "--no-breaks",
                "--no-replaces",
                "--no-enhances",
            ])
            .args(&listed),
    )?;
    let closure: std::collections::HashSet<&str> = closure
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .map(|p| p.trim_matches(['<', '>']))
        .collect();
    let needed = proc::capture(Command::new("objdump").arg("-p").arg(binary))?;
    let mut missing = Vec::new();
    let mut checked = 0;
    for lib in needed
        .lines()
        .filter_map(|l| l.trim().strip_prefix("NEEDED"))
        .map(str::trim)
    {
        let owner = proc::capture(Command::new("dpkg").arg("-S").arg(format!("*/{lib}")))
            .with_context(|| format!("which package has {lib}"))?;
        let package = owner
            .lines()
            .next()
            .and_then(|l| l.split(':').next())
            .unwrap_or_default()
            .to_owned();
        checked += 1;
        if !closure.contains(package.as_str()) {
            missing.push(format!("{lib} ({package})"));
        }
    }
    if !missing.is_empty() {
        bail!(
            "the .deb's Depends ({depends}) do not bring {}",
            missing.join(", ")
        );
    }
    println!("the .deb's Depends bring all {checked} libraries the binary links, and the tray's");
    Ok(())
}

/// The next patch version: `0.1.0` → `0.1.1`.
fn next_version(v: &str) -> Result<String> {
    let core = v.split(['-', '+']).next().unwrap_or(v);
    let mut parts: Vec<u64> = core
        .split('.')
        .map(|p| p.parse().with_context(|| format!("version {v}")))
        .collect::<Result<_>>()?;
    let last = parts.last_mut().context("an empty version")?;
    *last += 1;
    Ok(parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("."))
}
