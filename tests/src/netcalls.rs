//! Calls across the namespaces of `netns`: the CLI in a namespace, and the address-change
//! scenario the tests and the bench share.

use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result};

use crate::netns::{Netns, SERVER_IP, link};

/// `switchboard-cli` in `ns`, reaching the server at `server` (`ws://…/ws`), media on `bind`,
/// with `--json` (the summary is the last line of stdout) and its progress on stderr.
pub fn cli(
    ns: &Netns,
    dev: &crate::server::DevServer,
    server: &str,
    user: &str,
    bind: &str,
) -> Command {
    let mut c = ns.command(crate::binary("switchboard-cli"));
    c.args(["--server", server, "--token", &dev.token(user)])
        .args(["--json", "--media-bind", bind])
        .env(
            "RUST_LOG",
            std::env::var("SB_CLI_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// The `--json` summary of a CLI's run.
pub fn last_json(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {line:?}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// What an address change in the middle of a call did, as the caller saw it.
pub struct AddressChange {
    /// From the change to "no media path".
    pub lost: std::time::Duration,
    /// To "media path is back".
    pub back: std::time::Duration,
    /// To the first stats line (once a second) with more pictures decoded than before.
    pub pictures: std::time::Duration,
    pub caller: serde_json::Value,
    pub callee: serde_json::Value,
}

/// A 16 s video call between two hosts with public addresses (no NAT), in which the caller's
/// address changes after its first 60 pictures: the measured recovery.
pub fn address_change() -> Result<AddressChange> {
    use std::io::{BufRead, BufReader};
    use std::time::{Duration, Instant};

    let public = Netns::new("pub")?;
    public.ip(&["addr", "add", &format!("{SERVER_IP}/32"), "dev", "lo"])?;
    public.sysctl("net.ipv4.ip_forward=1")?;
    let a = Netns::new("a")?;
    let b = Netns::new("b")?;
    link(&public, "to_a", "192.0.2.1/24", &a, "eth0", "192.0.2.10/24")?;
    link(
        &public,
        "to_b",
        "198.51.100.1/24",
        &b,
        "eth0",
        "198.51.100.10/24",
    )?;
    a.ip(&["route", "add", "default", "via", "192.0.2.1"])?;
    b.ip(&["route", "add", "default", "via", "198.51.100.1"])?;
    let dev = crate::server::DevServer::start_in(&public, &format!("{SERVER_IP}:0"), "")?;
    let url = dev.url();

    // Media on every address of the host: after the change, sockets bind to the new one.
    let callee = cli(&b, &dev, &url, "bob", "0.0.0.0:0")
        .arg("answer")
        .spawn()?;
    std::thread::sleep(Duration::from_millis(700));
    let mut caller = cli(&a, &dev, &url, "alice", "0.0.0.0:0")
        .args(["call", "bob", "--video", "--duration", "16"])
        .spawn()?;
    let (tx, lines) = std::sync::mpsc::channel::<(Instant, String)>();
    let stderr = caller.stderr.take().context("stderr")?;
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
            let _ = tx.send((Instant::now(), line));
        }
    });
    let decoded = |line: &str| -> Option<u64> {
        let rest = line.strip_prefix("bob: video sent ")?;
        rest.split_whitespace().nth(2)?.parse().ok()
    };
    let mut log: Vec<String> = Vec::new();
    let next = |until: &dyn Fn(&str) -> bool, log: &mut Vec<String>| -> Result<Instant> {
        loop {
            let (at, line) = lines.recv_timeout(Duration::from_secs(20)).map_err(|_| {
                anyhow::anyhow!("the caller went quiet; so far:\n{}", log.join("\n"))
            })?;
            log.push(line.clone());
            if until(&line) {
                return Ok(at);
            }
        }
    };
    next(&|l: &str| decoded(l).is_some_and(|n| n > 60), &mut log)?;
    let moved = Instant::now();
    a.ip(&["addr", "del", "192.0.2.10/24", "dev", "eth0"])?;
    a.ip(&["addr", "add", "192.0.2.20/24", "dev", "eth0"])?;
    a.ip(&["route", "add", "default", "via", "192.0.2.1"])?;
    let lost = next(&|l: &str| l.starts_with("no media path to bob"), &mut log)?;
    let back = next(
        &|l: &str| l.starts_with("media path to bob is back"),
        &mut log,
    )?;
    let before = log.iter().rev().find_map(|l| decoded(l)).unwrap_or(0);
    let pictures = next(
        &|l: &str| decoded(l).is_some_and(|n| n > before + 5),
        &mut log,
    )?;
    let caller = caller.wait_with_output()?;
    let callee = callee.wait_with_output()?;
    Ok(AddressChange {
        lost: lost - moved,
        back: back - moved,
        pictures: pictures - moved,
        caller: last_json(&caller),
        callee: last_json(&callee),
    })
}
