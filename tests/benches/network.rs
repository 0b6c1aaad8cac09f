//! Network figures, printed (not asserted), in network namespaces (root): the CPU the
//! server's own TURN relay spends on one relayed 720p30 call (two `switchboard-cli` behind
//! symmetric NATs, 20 s), and the time from an address change in the middle of a call to the
//! path and the pictures being back (3 runs).
//!
//! Run by `cargo xtask bench` (release build of the server and the CLI first).

#![allow(clippy::unwrap_used)] // a harness: a failed unwrap is a failed run

use std::process::Stdio;
use std::time::{Duration, Instant};

use switchboard_tests::cpu_seconds;
use switchboard_tests::netcalls::{address_change, cli, last_json};
use switchboard_tests::netns::{Internet, Nat, SERVER_IP};
use switchboard_tests::server::DevServer;

/// The relay's relayed bytes so far, from the server's metrics (read inside its namespace).
fn relayed_bytes(net: &Internet, dev: &DevServer) -> f64 {
    let out = net
        .public
        .command("curl")
        .args(["-s", "-H", "Authorization: Bearer bench-metrics-token-0123"])
        .arg(format!("http://{}/metrics", dev.addr))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("switchboard_relay_relayed_bytes"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn relay_cpu() {
    let mut net = Internet::new().unwrap();
    net.site(Nat::Symmetric).unwrap();
    net.site(Nat::Symmetric).unwrap();
    let config = format!(
        "metrics_token = \"bench-metrics-token-0123\"\n[relay]\nlisten = \"{SERVER_IP}:3478\"\n"
    );
    let dev = DevServer::start_in(&net.public, &format!("{SERVER_IP}:0"), &config).unwrap();
    let url = dev.url();
    let (a, b) = (&net.sites[0], &net.sites[1]);
    let secs = 20;
    let callee = cli(&b.host, &dev, &url, "bob", &format!("{}:0", b.host_ip()))
        .args(["--profile", "720p30", "answer"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let (cpu0, bytes0, t0) = (
        cpu_seconds(dev.pid()).unwrap(),
        relayed_bytes(&net, &dev),
        Instant::now(),
    );
    let caller = cli(&a.host, &dev, &url, "alice", &format!("{}:0", a.host_ip()))
        .args([
            "--profile",
            "720p30",
            "call",
            "bob",
            "--video",
            "--duration",
        ])
        .arg(secs.to_string())
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let (cpu1, bytes1, t1) = (
        cpu_seconds(dev.pid()).unwrap(),
        relayed_bytes(&net, &dev),
        Instant::now(),
    );
    let _ = callee.wait_with_output();
    let summary = last_json(&caller);
    let wall = (t1 - t0).as_secs_f64();
    let cpu = cpu1 - cpu0;
    println!(
        "relay, one 720p30 video call relayed both ways ({secs} s, symmetric NATs, route {}): \
         server CPU {:.2} s = {:.1} % of one core; {:.0} kbit/s relayed; {} of {} pictures decoded",
        summary["media_path"]["route"],
        cpu,
        100.0 * cpu / wall,
        (bytes1 - bytes0) * 8.0 / wall / 1000.0,
        summary["video"]["decoded"],
        summary["video"]["received"],
    );
}

fn main() {
    relay_cpu();
    let mut back = Vec::new();
    let mut pictures = Vec::new();
    for _ in 0..3 {
        let m = address_change().unwrap();
        back.push(m.back);
        pictures.push(m.pictures);
    }
    back.sort();
    pictures.sort();
    println!(
        "address change mid-call → path back: median {} ms (max {} ms); → pictures counted again \
         (stats once a second): median {} ms (max {} ms), 3 runs",
        back[1].as_millis(),
        back[2].as_millis(),
        pictures[1].as_millis(),
        pictures[2].as_millis(),
    );
}
