//! `switchboard-cli` as CONTRACTS.md fixes it: two processes hold a call over the real server,
//! the caller's `--json` summary is the last line of stdout, and failures exit non-zero.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::process::{Command, Stdio};

use switchboard_tests::binary;
use switchboard_tests::server::DevServer;

fn cli(server: &DevServer, user: &str) -> Command {
    let mut c = Command::new(binary("switchboard-cli"));
    c.args(["--server", &server.url(), "--token", &server.token(user)])
        .args(["--json", "--media-bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn last_json(out: &std::process::Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
}

#[test]
fn two_cli_processes_hold_a_video_call_and_print_the_summary() {
    let server = DevServer::start("").unwrap();
    let callee = cli(&server, "bob").arg("answer").spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let caller = cli(&server, "alice")
        .args(["call", "bob", "--video", "--duration", "3"])
        .output()
        .unwrap();
    let callee = callee.wait_with_output().unwrap();
    assert!(
        caller.status.success(),
        "caller failed: {}",
        String::from_utf8_lossy(&caller.stderr)
    );
    assert!(callee.status.success(), "callee failed");
    let (a, b) = (last_json(&caller), last_json(&callee));
    assert_eq!(a["end_reason"]["code"], "hangup");
    assert_eq!(a["end_reason"]["side"], "local");
    assert_eq!(b["end_reason"]["side"], "remote");
    assert!(a["duration_ms"].as_u64().unwrap() >= 2900);
    assert!(a["setup_ms"]["accept_to_first_frame"].as_u64().is_some());
    for s in [&a, &b] {
        assert!(s["video"]["decoded"].as_u64().unwrap() >= 60, "{s}");
        assert!(s["video"]["in_order"].as_u64().unwrap() >= 60, "{s}");
        assert!(s["audio"]["decoded"].as_u64().unwrap() >= 100, "{s}");
        assert!(s["video"]["latency_ms_p50"].as_u64().is_some(), "{s}");
    }
}

#[test]
fn a_bad_token_or_device_exits_non_zero_with_a_reason() {
    let server = DevServer::start("").unwrap();
    let out = Command::new(binary("switchboard-cli"))
        .args(["--server", &server.url(), "--token", "v1.bad.token"])
        .args(["call", "bob"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sign"), "{err}");

    let out = cli(&server, "alice")
        .args(["--audio-device", "usb-headset"])
        .args(["call", "bob"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no microphone"));

    let out = cli(&server, "alice")
        .args(["--video-device", "camera:Unplugged Webcam"])
        .args(["call", "bob"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no camera"));
}

#[test]
fn devices_lists_the_synthetic_devices() {
    let out = Command::new(binary("switchboard-cli"))
        .args([
            "--server",
            "ws://127.0.0.1:9/ws",
            "--token",
            "x",
            "--json",
            "devices",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let list = last_json(&out);
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["id"].as_str())
        .collect();
    for id in ["pattern", "tone", "meter"] {
        assert!(ids.contains(&id), "{ids:?}");
    }
}
