//! Call figures on loopback, printed (not asserted): accept → first decoded picture on each
//! side, capture → decode latency, keyframe recovery after a decoder reset, the CPU each
//! side of a 20 s 720p30 call uses (two `switchboard-cli` processes), and what a supervisor's
//! monitor adds to the monitored agent's CPU (the agent's engine bridges it).
//!
//! Run by `cargo xtask bench` (release build of the server and the CLI first).

#![allow(clippy::unwrap_used)] // a harness: a failed unwrap is a failed run

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use switchboard_engine::Event;
use switchboard_protocol::CallMedia;
use switchboard_tests::binary;
use switchboard_tests::calls::{Side, uid};
use switchboard_tests::cpu_seconds;
use switchboard_tests::server::DevServer;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

type Figures = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

async fn setup_times(server: &DevServer, rounds: usize) -> Figures {
    let (mut callee_ms, mut caller_ms, mut latency) = (Vec::new(), Vec::new(), Vec::new());
    let mut audio_latency = Vec::new();
    let mut alice = Side::start(server, "alice").await.unwrap();
    let mut bob = Side::start(server, "bob").await.unwrap();
    for _ in 0..rounds {
        let call = alice
            .engine
            .call(vec![uid("bob")], CallMedia::Video)
            .await
            .unwrap();
        bob.wait("incoming", |e| {
            matches!(e, Event::Incoming { .. }).then_some(())
        })
        .await
        .unwrap();
        bob.wait("transport", |e| {
            matches!(e, Event::TransportReady { .. }).then_some(())
        })
        .await
        .unwrap();
        // A person takes a moment to pick up; the transport is ready by then.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let accepted = Instant::now();
        bob.engine.accept(&call);
        let first = |e: &Event| match e {
            Event::FirstMedia {
                kind: "video", at, ..
            } => Some(*at),
            _ => None,
        };
        let at_bob = bob.wait("bob's first picture", first).await.unwrap();
        let at_alice = alice.wait("alice's first picture", first).await.unwrap();
        callee_ms.push((at_bob - accepted).as_secs_f64() * 1000.0);
        caller_ms.push((at_alice - accepted).as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let s = bob.stats_from(&call, "alice").await.unwrap();
        latency.extend(s.video.latency_ms_p50.map(|v| v as f64));
        audio_latency.extend(s.audio.latency_ms_p50.map(|v| v as f64));
        alice.engine.hangup(&call);
        alice.ended(&call).await.unwrap();
        bob.ended(&call).await.unwrap();
    }
    (callee_ms, caller_ms, latency, audio_latency)
}

async fn recovery(server: &DevServer) -> f64 {
    let alice = Side::start(server, "alice").await.unwrap();
    let mut bob = Side::start(server, "bob").await.unwrap();
    let call = alice
        .engine
        .call(vec![uid("bob")], CallMedia::Video)
        .await
        .unwrap();
    bob.answer().await.unwrap();
    bob.until_stats(&call, "alice", "pictures", |s| s.video.decoded > 30)
        .await
        .unwrap();
    let before = bob.stats_from(&call, "alice").await.unwrap();
    let t = Instant::now();
    bob.engine.reset_decoders(&call);
    // The first picture after the reset is the requested keyframe.
    bob.until_stats(&call, "alice", "recovery", |s| {
        s.video.keyframes_requested > before.video.keyframes_requested
            && s.video.decoded > before.video.decoded + 1
    })
    .await
    .unwrap();
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    alice.engine.hangup(&call);
    bob.ended(&call).await.unwrap();
    ms
}

/// Runs both sides of a 20 s 720p30 call as CLI processes; CPU seconds of each.
fn cli_call_cpu(server: &DevServer) -> (f64, f64, String) {
    let cli = binary("switchboard-cli");
    let common = |user: &str| {
        let mut c = Command::new(&cli);
        c.args(["--server", &server.url(), "--token", &server.token(user)])
            .args([
                "--json",
                "--profile",
                "720p30",
                "--media-bind",
                "127.0.0.1:0",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        c
    };
    let callee = common("bob").arg("answer").spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let caller = common("alice")
        .args(["call", "bob", "--video", "--duration", "20"])
        .spawn()
        .unwrap();
    let (pa, pb) = (caller.id(), callee.id());
    let (mut last_a, mut last_b) = (0.0, 0.0);
    let watch = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let (a, b) = (cpu_seconds(pa), cpu_seconds(pb));
            if a.is_none() && b.is_none() {
                break;
            }
            last_a = a.unwrap_or(last_a);
            last_b = b.unwrap_or(last_b);
            std::thread::sleep(Duration::from_millis(100));
        }
        (last_a, last_b)
    });
    let out = caller.wait_with_output().unwrap();
    let _ = callee.wait_with_output();
    let (a, b) = watch.join().unwrap();
    let summary = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or("")
        .to_owned();
    (a, b, summary)
}

/// The CPU seconds `pid` spends in the next `secs` seconds.
fn cpu_over(pid: u32, secs: u64) -> f64 {
    let before = cpu_seconds(pid).unwrap_or(0.0);
    std::thread::sleep(Duration::from_secs(secs));
    cpu_seconds(pid).unwrap_or(before) - before
}

/// A 360p30 customer video call (CLI customer, CLI agent a1): the agent's CPU over 10 s alone,
/// then while sup monitors (the customer's voice mixed for sup, the customer's pictures
/// forwarded), then while sup monitors with video (a1's camera, as encoded for the customer,
/// forwarded as well).
/// Returns the three figures and the last monitor's summary.
fn monitored_cpu(server: &DevServer) -> ([f64; 3], String) {
    let cli = binary("switchboard-cli");
    let run = |token: &str, args: &[&str]| {
        Command::new(&cli)
            .args(["--server", &server.url(), "--token", token, "--json"])
            .args(["--media-bind", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let agent = run(
        &server.token("a1"),
        &[
            "agent",
            "--ready",
            "--auto-accept",
            "--skill",
            "billing",
            "--duration",
            "50",
        ],
    );
    std::thread::sleep(Duration::from_secs(1));
    let customer = run(
        &server.customer_token("billing"),
        &["queue", "billing", "--video", "--duration", "44"],
    );
    // Answered, pictures flowing, the encoder's start behind us.
    std::thread::sleep(Duration::from_secs(4));
    let pid = agent.id();
    let alone = cpu_over(pid, 10);
    let mut summary = String::new();
    let mut with = |extra: &[&str]| {
        let mut args = vec!["monitor", "a1", "--duration", "13"];
        args.extend_from_slice(extra);
        let sup = run(&server.token("sup"), &args);
        std::thread::sleep(Duration::from_secs(2));
        let cpu = cpu_over(pid, 10);
        let out = sup.wait_with_output().unwrap();
        summary = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or("")
            .to_owned();
        cpu
    };
    let listened = with(&[]);
    let seen = with(&["--video"]);
    let _ = customer.wait_with_output();
    let _ = agent.wait_with_output();
    ([alone, listened, seen], summary)
}

fn main() {
    // `cargo bench` passes `--bench`; there is nothing to filter.
    let server = DevServer::start("").unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (callee, caller, latency, audio_latency) = rt.block_on(setup_times(&server, 5));
    println!(
        "accept → first decoded picture (360p30, loopback, transport set up while ringing, 5 calls): \
         callee median {:.1} ms (max {:.1}), caller median {:.1} ms (max {:.1})",
        median(callee.clone()),
        callee.iter().cloned().fold(0.0, f64::max),
        median(caller.clone()),
        caller.iter().cloned().fold(0.0, f64::max),
    );
    if !latency.is_empty() {
        println!(
            "capture → decode latency of video (pattern stamp), median of per-call p50s: {:.0} ms",
            median(latency)
        );
    }
    if !audio_latency.is_empty() {
        println!(
            "capture → play latency of audio (RTP time on the sender's clock via SR, includes \
             the jitter buffer), median of per-call p50s: {:.0} ms",
            median(audio_latency)
        );
    }
    let rec = rt.block_on(recovery(&server));
    println!("decoder reset → PLI → keyframe → next picture: {rec:.0} ms");
    let (a, b, summary) = cli_call_cpu(&server);
    println!(
        "20 s 720p30 call, two switchboard-cli processes: caller {a:.1} CPU-s, callee {b:.1} CPU-s"
    );
    println!("caller's summary: {summary}");
    let ([alone, listened, seen], summary) = monitored_cpu(&server);
    let more = |x: f64| (x / alone - 1.0) * 100.0;
    println!(
        "monitored agent's CPU, 360p30 customer call, 10 s: alone {alone:.2} CPU-s; sup monitors \
         (voice mixed, customer's pictures forwarded) {listened:.2} (+{:.0} %); sup monitors \
         with video (agent's camera forwarded too) {seen:.2} (+{:.0} %)",
        more(listened),
        more(seen),
    );
    println!("supervisor's summary (with video): {summary}");
}
