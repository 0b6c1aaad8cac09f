//! Video in the webview: the two transports of docs/app.md compared inside the real app under
//! Xvfb (WebKitGTK), release build. A CLI far end sends 720p30 (the pattern); the console shows
//! one tile of it at 640×360 and at 960×540, fed by the loopback WebSocket (read in a worker)
//! or by a Tauri IPC channel. For 10 s each: pictures drawn per second, pictures lost on the
//! way (the pattern's own counter against what was drawn), the median capture → drawn time
//! (the pattern's stamp against the page's clock), and the CPU of the app process and of its
//! WebKitWebProcess.

#![allow(clippy::unwrap_used)] // bench code: a failed unwrap is a failed run

use std::time::{Duration, Instant};

use switchboard_tests::drive::{Cli, SHORT, sign_in};
use switchboard_tests::server::DevServer;
use switchboard_tests::webdriver::Driver;
use switchboard_tests::{artefacts_dir, binary, test_env};

/// utime + stime of a process, in seconds.
fn cpu_secs(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // The command name may hold spaces: fields count from after its closing parenthesis.
    let rest = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap_or(0.0) + f[12].parse::<f64>().unwrap_or(0.0);
    ticks / 100.0
}

fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The app (the process running our binary with this data dir) and its web processes.
fn processes(data_dir: &str) -> (u32, Vec<u32>) {
    let pids: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    let app = pids
        .iter()
        .copied()
        .find(|p| {
            comm(*p) == "switchboard"
                && std::fs::read(format!("/proc/{p}/environ"))
                    .is_ok_and(|e| String::from_utf8_lossy(&e).contains(data_dir))
        })
        .expect("the app's process");
    let web = pids
        .iter()
        .copied()
        .filter(|p| comm(*p).starts_with("WebKitWebProces") && parent(*p) == Some(app))
        .collect();
    (app, web)
}

fn tile_number(d: &Driver, name: &str) -> f64 {
    let el = d
        .find("[data-testid=bench] [data-testid=video-tile]", SHORT)
        .unwrap();
    d.attr(&el, name)
        .unwrap()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn main() {
    // `cargo bench` passes flags such as `--bench`; this harness has no options.
    let display = test_env("DISPLAY");
    let server = DevServer::start("").unwrap();
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().display().to_string();
    let dir = artefacts_dir().join("webview-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let d = Driver::start(
        &binary("switchboard"),
        &[],
        &[
            ("DISPLAY", &display),
            ("SWITCHBOARD_DATA_DIR", &data_dir),
            ("RUST_LOG", "warn"),
        ],
        &dir.join("app.log"),
    )
    .unwrap();
    // A window large enough for a 960×540 tile.
    d.set_window_size(1366, 768).unwrap();
    sign_in(&d, &server, "alice");
    let _bob = Cli::start(
        &server,
        &server.token("bob"),
        &["--profile", "720p30", "answer", "--duration", "300"],
    );
    d.type_text(&d.find("[data-testid=dial-to]", SHORT).unwrap(), "bob")
        .unwrap();
    d.click(&d.find("[data-testid=dial-video]", SHORT).unwrap())
        .unwrap();
    d.wait_attr(
        "[data-testid=video-tile][data-path^='remote/']",
        "data-drawn",
        SHORT,
        |v| v.parse::<u32>().unwrap_or(0) > 10,
    )
    .unwrap();
    let (app, web) = processes(&data_dir);

    println!(
        "\nVideo in the webview (release app, WebKitGTK under Xvfb, source 720p30, 10 s each):"
    );
    println!(
        "  {:<10} {:>9}  {:>9}  {:>6}  {:>13}  {:>10}  {:>16}",
        "transport", "tile", "drawn/s", "lost", "capture→drawn", "app CPU %", "WebKitWeb CPU %"
    );
    for (transport, (w, h)) in [
        ("ws", (640, 360)),
        ("ipc", (640, 360)),
        ("ws", (960, 540)),
        ("ipc", (960, 540)),
    ] {
        d.script(&format!(
            "location.hash = '#bench={transport}:{w}x{h}'; return 1"
        ))
        .unwrap();
        d.wait_attr(
            "[data-testid=bench] [data-testid=video-tile]",
            "data-drawn",
            SHORT,
            |v| v.parse::<u32>().unwrap_or(0) > 30,
        )
        .unwrap();
        std::thread::sleep(Duration::from_secs(2));
        let (drawn0, number0) = (
            tile_number(&d, "data-drawn"),
            tile_number(&d, "data-number"),
        );
        let cpu0 = (cpu_secs(app), web.iter().map(|p| cpu_secs(*p)).sum::<f64>());
        let t0 = Instant::now();
        std::thread::sleep(Duration::from_secs(10));
        let (drawn1, number1) = (
            tile_number(&d, "data-drawn"),
            tile_number(&d, "data-number"),
        );
        let cpu1 = (cpu_secs(app), web.iter().map(|p| cpu_secs(*p)).sum::<f64>());
        let secs = t0.elapsed().as_secs_f64();
        let drawn = drawn1 - drawn0;
        // The pattern numbers its pictures: those sent in the window that were not drawn.
        let lost = ((number1 - number0) - drawn).max(0.0);
        let latency = tile_number(&d, "data-latency");
        let shot = d.screenshot().unwrap();
        std::fs::write(dir.join(format!("{transport}-{w}x{h}.png")), &shot.png).unwrap();
        println!(
            "  {:<10} {:>9}  {:>9.1}  {:>6}  {:>10.0} ms  {:>10.1}  {:>16.1}",
            transport,
            format!("{w}x{h}"),
            drawn / secs,
            lost,
            latency,
            100.0 * (cpu1.0 - cpu0.0) / secs,
            100.0 * (cpu1.1 - cpu0.1) / secs,
        );
    }
}
