//! Calls across real networks built in network namespaces (`switchboard_tests::netns`): real
//! server and CLI processes, each in its own namespace, nothing on loopback.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::process::Child;
use std::time::Duration;

use switchboard_tests::browser::Browser;
use switchboard_tests::netcalls::{cli, last_json};
use switchboard_tests::netns::{Internet, Nat, Netns, SERVER_IP, link};
use switchboard_tests::server::DevServer;

/// bob answers, alice calls him with video for `secs`; their summaries.
fn call(
    (a_ns, a_server, a_bind): (&Netns, &str, &str),
    (b_ns, b_server, b_bind): (&Netns, &str, &str),
    dev: &DevServer,
    secs: u32,
) -> (serde_json::Value, serde_json::Value) {
    let callee: Child = cli(b_ns, dev, b_server, "bob", b_bind)
        .arg("answer")
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let caller = cli(a_ns, dev, a_server, "alice", a_bind)
        .args(["call", "bob", "--video", "--duration", &secs.to_string()])
        .output()
        .unwrap();
    let callee = callee.wait_with_output().unwrap();
    eprintln!(
        "alice: {}\nbob: {}",
        String::from_utf8_lossy(&caller.stderr),
        String::from_utf8_lossy(&callee.stderr)
    );
    (last_json(&caller), last_json(&callee))
}

/// What the issue measured: two hosts that share only their own subnet — no default route —
/// could not set up media at all (webrtc-rs's mDNS socket failed with "No such device").
#[test]
fn hosts_without_a_default_route_hold_a_call() {
    let a = Netns::new("a").unwrap();
    let b = Netns::new("b").unwrap();
    link(&a, "eth0", "10.9.0.2/24", &b, "eth0", "10.9.0.3/24").unwrap();
    assert!(
        !a.ip(&["route"]).unwrap().contains("default"),
        "the point is no default route"
    );
    let dev = DevServer::start_in(&a, "10.9.0.2:0", "").unwrap();
    let url = dev.url();
    let (alice, bob) = call((&a, &url, "10.9.0.2:0"), (&b, &url, "10.9.0.3:0"), &dev, 3);
    for s in [&alice, &bob] {
        assert_eq!(s["media_path"]["up"], true, "{s}");
        assert!(s["video"]["decoded"].as_u64().unwrap() >= 30, "{s}");
        assert!(s["audio"]["decoded"].as_u64().unwrap() >= 50, "{s}");
    }
    assert_eq!(alice["end_reason"]["code"], "hangup");
}

/// Both reach the server but not each other: the call rings and is answered, and both sides
/// are told within seconds that no media can flow (the CLI's `media_path`), instead of a
/// silent call that ends as a normal hang-up with nothing exchanged.
#[test]
fn no_path_between_the_peers_is_told_within_seconds() {
    let server = Netns::new("s").unwrap();
    let a = Netns::new("a").unwrap();
    let b = Netns::new("b").unwrap();
    // The server's namespace does not forward: a and b each reach it, never each other.
    link(&server, "to_a", "10.9.1.1/24", &a, "eth0", "10.9.1.2/24").unwrap();
    link(&server, "to_b", "10.9.2.1/24", &b, "eth0", "10.9.2.2/24").unwrap();
    let dev = DevServer::start_in(&server, "0.0.0.0:0", "").unwrap();
    let port = dev.addr.rsplit(':').next().unwrap().to_owned();
    let (a_url, b_url) = (
        format!("ws://10.9.1.1:{port}/ws"),
        format!("ws://10.9.2.1:{port}/ws"),
    );
    let (alice, bob) = call(
        (&a, &a_url, "10.9.1.2:0"),
        (&b, &b_url, "10.9.2.2:0"),
        &dev,
        12,
    );
    for s in [&alice, &bob] {
        let path = &s["media_path"];
        assert_eq!(path["up"], false, "{s}");
        assert!(path["lost"].as_u64().unwrap() >= 1, "{s}");
        // Told within seconds (the figure: webrtc-rs gives up on a path 6 s after its checks
        // began); generous here, measured in the note.
        assert!(path["lost_after_ms"].as_u64().unwrap() < 11_000, "{s}");
        assert_eq!(path["down_at_end"], true, "{s}");
        assert_eq!(s["video"]["decoded"], 0, "{s}");
    }
}

/// The public network with two sites behind NATs of one kind.
fn two_sites(nat: Nat) -> Internet {
    let mut net = Internet::new().unwrap();
    net.site(nat).unwrap();
    net.site(nat).unwrap();
    net
}

/// The server with its relay (`[relay]` on port 3478) on the public network.
fn public_server(net: &Internet, extra: &str) -> DevServer {
    let config = format!("[relay]\nlisten = \"{SERVER_IP}:3478\"\n{extra}");
    DevServer::start_in(&net.public, &format!("{SERVER_IP}:0"), &config).unwrap()
}

/// alice at site 0 calls bob at site 1 for 6 s of video; both summaries.
fn call_across(net: &Internet, dev: &DevServer) -> (serde_json::Value, serde_json::Value) {
    let url = dev.url();
    let (a, b) = (&net.sites[0], &net.sites[1]);
    let (a_bind, b_bind) = (format!("{}:0", a.host_ip()), format!("{}:0", b.host_ip()));
    call((&a.host, &url, &a_bind), (&b.host, &url, &b_bind), dev, 6)
}

/// Media flowed both ways over `route`: each side decoded at least 95 % of the pictures the
/// other sent, and heard the other. Each side sees its own end of the path (a peer-reflexive
/// address is not known to be the far end's relay), so "relay" means at least one side sent
/// through one, and "direct" that neither did.
fn assert_media(alice: &serde_json::Value, bob: &serde_json::Value, route: &str) {
    let routes = [&alice["media_path"]["route"], &bob["media_path"]["route"]];
    let relayed = routes.iter().any(|r| **r == "relay");
    assert_eq!(relayed, route == "relay", "routes {routes:?}");
    for (me, them) in [(alice, bob), (bob, alice)] {
        assert_eq!(me["media_path"]["up"], true, "{me}");
        let sent = them["video"]["sent"].as_u64().unwrap();
        let decoded = me["video"]["decoded"].as_u64().unwrap();
        eprintln!(
            "{route}: {decoded} of {sent} pictures decoded, {} audio frames",
            me["audio"]["decoded"]
        );
        assert!(sent >= 60, "{them}");
        assert!(
            decoded * 100 >= sent * 95,
            "{decoded} of {sent} pictures decoded: {me}"
        );
        assert!(me["audio"]["decoded"].as_u64().unwrap() >= 150, "{me}");
    }
}

/// Home routers (endpoint-independent NAT) on both sides: the direct path (server-reflexive
/// candidates, hole punching) carries the call; the relay is not needed.
#[test]
fn behind_endpoint_independent_nats_the_call_goes_direct() {
    let net = two_sites(Nat::EndpointIndependent);
    let dev = public_server(&net, "");
    let (alice, bob) = call_across(&net, &dev);
    assert_media(&alice, &bob, "direct");
}

/// Symmetric NAT on both sides: what STUN saw is not what a peer sees, so only the relay
/// connects them.
#[test]
fn behind_symmetric_nats_the_relay_carries_the_call() {
    let net = two_sites(Nat::Symmetric);
    let dev = public_server(&net, "");
    let (alice, bob) = call_across(&net, &dev);
    assert_media(&alice, &bob, "relay");
}

/// UDP between the two sites is dropped on the way (they still reach the server): the relay.
#[test]
fn when_udp_between_the_sites_is_dropped_the_relay_carries_the_call() {
    let net = two_sites(Nat::EndpointIndependent);
    net.block_udp_between(0, 1).unwrap();
    let dev = public_server(&net, "");
    let (alice, bob) = call_across(&net, &dev);
    assert_media(&alice, &bob, "relay");
}

/// The agent's network passes no UDP at all, only TCP: TURN over TCP to the relay carries the
/// call (webrtc-rs through the engine's TCP bridge).
#[test]
fn when_only_tcp_leaves_the_network_turn_over_tcp_carries_the_call() {
    let net = two_sites(Nat::EndpointIndependent);
    net.sites[0].block_udp().unwrap();
    let dev = public_server(&net, "");
    let (alice, bob) = call_across(&net, &dev);
    assert_media(&alice, &bob, "relay");
}

/// The agent's address changes in the middle of a call (a laptop moving to another network,
/// a DHCP renewal): the media path is lost, the offering side restarts ICE on sockets bound to
/// the new address, and pictures come back by themselves. The figures go to the bench
/// (`tests/benches/network.rs`); the bound here is generous.
#[test]
fn an_address_change_mid_call_restarts_ice_and_pictures_come_back() {
    let m = switchboard_tests::netcalls::address_change().unwrap();
    eprintln!(
        "address change: path lost after {:?}, back after {:?}, pictures again after {:?}",
        m.lost, m.back, m.pictures
    );
    for s in [&m.caller, &m.callee] {
        assert!(s["media_path"]["restored"].as_u64().unwrap() >= 1, "{s}");
        assert_eq!(s["media_path"]["down_at_end"], false, "{s}");
    }
    assert!(
        m.pictures < Duration::from_secs(15),
        "pictures came back only after {:?}",
        m.pictures
    );
}

/// The agent CLI at `site`, ready for `business`, taking the first customer and hanging up
/// after `secs`; its summary is the first JSON line of its output.
fn agent_at(net: &Internet, site: usize, dev: &DevServer, secs: u32) -> Child {
    let s = &net.sites[site];
    cli(
        &s.host,
        dev,
        &dev.url(),
        "a1",
        &format!("{}:0", s.host_ip()),
    )
    .args(["agent", "--ready", "--auto-accept", "--skill", "billing"])
    .args(["--call-duration", &secs.to_string(), "--duration", "40"])
    .spawn()
    .unwrap()
}

/// The agent's summary of its first call (the process is ended once it printed it).
fn agent_summary(mut agent: Child) -> serde_json::Value {
    use std::io::{BufRead, BufReader};
    let stdout = agent.stdout.take().unwrap();
    let line = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.starts_with('{'))
        .expect("the agent's summary");
    let _ = agent.kill();
    let _ = agent.wait();
    serde_json::from_str(&line).unwrap()
}

/// The customer in real Chromium (the widget) behind a symmetric NAT, the agent behind
/// another: media both ways through the relay, as the browser's own getStats says.
#[test]
fn a_browser_customer_behind_symmetric_nat_reaches_the_agent_through_the_relay() {
    let net = two_sites(Nat::Symmetric);
    let dev = public_server(&net, "");
    browser_customer_through_the_relay(&net, &dev);
}

/// The customer in Chromium at site 0 calls the queue, the agent at site 1 answers: media both
/// ways through the relay, as the browser's own getStats says, and a normal end.
fn browser_customer_through_the_relay(net: &Internet, dev: &DevServer) {
    let agent = agent_at(net, 1, dev, 8);
    std::thread::sleep(Duration::from_millis(700));
    let browser = Browser::start_in(&net.sites[0].host, dev, "billing", &[("STAY_MS", "4000")]);
    assert_eq!(browser.until("phase")["phase"], "in_call");
    let figures = browser.until("video_decoded");
    assert_eq!(figures["route"], "relay", "{figures}");
    assert!(figures["video_decoded"].as_u64().unwrap() > 60, "{figures}");
    assert!(figures["audio_energy"].as_f64().unwrap() > 0.0, "{figures}");
    assert_eq!(figures["media_lost"], false, "{figures}");
    let ended = browser.until("ended");
    assert_eq!(ended["ended"]["code"], "hangup", "{ended}");
    let a1 = agent_summary(agent);
    assert!(a1["video"]["decoded"].as_u64().unwrap() > 60, "{a1}");
    assert!(a1["audio"]["decoded"].as_u64().unwrap() > 100, "{a1}");
}

/// A realm that keeps its agents' addresses from customers (`relay_only`): even where the
/// direct path would work, the browser learns of the agent's side only the relay's address,
/// and the media goes through it.
#[test]
fn relay_only_hides_the_agents_address_from_the_browser() {
    let net = two_sites(Nat::EndpointIndependent);
    let dev = public_server(&net, "[realms.dev]\nrelay_only = true\n");
    let agent = agent_at(&net, 1, &dev, 8);
    std::thread::sleep(Duration::from_millis(700));
    let browser = Browser::start_in(&net.sites[0].host, &dev, "billing", &[("STAY_MS", "3000")]);
    assert_eq!(browser.until("phase")["phase"], "in_call");
    let figures = browser.until("video_decoded");
    assert_eq!(figures["route"], "relay", "{figures}");
    let remote = figures["remote_candidates"].as_str().unwrap();
    assert!(!remote.is_empty(), "{figures}");
    for c in remote.split(',') {
        // Chromium hides the address of a peer-reflexive candidate (`prflx `): those can
        // only be the relay's here, since nothing else sends to the browser.
        let (kind, address) = c.split_once(' ').unwrap_or((c, ""));
        assert!(
            matches!(kind, "relay" | "prflx")
                && (address.is_empty() || address == SERVER_IP.to_string()),
            "the browser learned {c} of the agent's side: {figures}"
        );
    }
    assert!(figures["video_decoded"].as_u64().unwrap() > 30, "{figures}");
    browser.until("ended");
    let a1 = agent_summary(agent);
    assert_eq!(a1["media_path"]["route"], "relay", "{a1}");
}

/// coturn (Debian's package) on the public network in place of our relay, with the same
/// shared secret (`use-auth-secret`), and the server announcing it (`[[ice_servers]] secret`):
/// the deployment `docs/server.md` describes. Killed with the value.
struct Coturn {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Coturn {
    const SECRET: &str = "coturn-shared-secret-0123456789";

    fn start(net: &Internet) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let child = net
            .public
            .command("turnserver")
            // -n: no /etc/turnserver.conf, only what is said here.
            .args([
                "-n",
                "--no-cli",
                "--no-tls",
                "--no-dtls",
                "--simple-log",
                "--no-stdout-log",
            ])
            .arg(format!("--listening-ip={SERVER_IP}"))
            .arg(format!("--relay-ip={SERVER_IP}"))
            .args([
                "--listening-port=3478",
                "--realm=switchboard",
                "--use-auth-secret",
            ])
            .arg(format!("--static-auth-secret={}", Self::SECRET))
            // Its own files in the test's folder (the default database and pid file are in
            // /var, shared by every test).
            .arg(format!("--pidfile={}", dir.path().join("pid").display()))
            .arg(format!("--db={}", dir.path().join("turndb").display()))
            .arg(format!("--log-file={}", dir.path().join("log").display()))
            .spawn()
            .expect("coturn's turnserver (cargo xtask setup installs it)");
        // Ready once its log counts the servers it opened (after its listeners).
        let log = dir.path().join("log");
        for _ in 0..100 {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("Total General servers") {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, _dir: dir }
    }

    /// The signaling server, announcing coturn with the shared secret (no relay of its own).
    fn server(net: &Internet) -> DevServer {
        let config = format!(
            "[[ice_servers]]\nurls = [\"stun:{SERVER_IP}:3478\", \"turn:{SERVER_IP}:3478?transport=udp\", \"turn:{SERVER_IP}:3478?transport=tcp\"]\nsecret = \"{}\"\n",
            Self::SECRET
        );
        DevServer::start_in(&net.public, &format!("{SERVER_IP}:0"), &config).unwrap()
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Symmetric NATs both sides, coturn relaying.
#[test]
fn coturn_in_place_of_our_relay_carries_the_call_behind_symmetric_nats() {
    let net = two_sites(Nat::Symmetric);
    let _coturn = Coturn::start(&net);
    let dev = Coturn::server(&net);
    let (alice, bob) = call_across(&net, &dev);
    assert_media(&alice, &bob, "relay");
}

/// A network passing only TCP, coturn relaying over TCP.
#[test]
fn coturn_in_place_of_our_relay_carries_the_call_over_tcp() {
    let net = two_sites(Nat::EndpointIndependent);
    net.sites[0].block_udp().unwrap();
    let _coturn = Coturn::start(&net);
    let dev = Coturn::server(&net);
    let (alice, bob) = call_across(&net, &dev);
    assert_media(&alice, &bob, "relay");
}

/// The customer in Chromium behind a symmetric NAT, the agent behind another, coturn
/// relaying: the customer's credentials come from the same shared secret.
#[test]
fn coturn_in_place_of_our_relay_carries_a_browser_customers_call() {
    let net = two_sites(Nat::Symmetric);
    let _coturn = Coturn::start(&net);
    let dev = Coturn::server(&net);
    browser_customer_through_the_relay(&net, &dev);
}

/// The customer's address changes in the middle of a call with the widget (a phone moving
/// from Wi-Fi to mobile data): the media path is lost, ICE restarts between Chromium and the
/// engine (whichever offered), and the browser decodes pictures again by itself.
#[test]
fn a_browser_customers_address_change_restarts_ice_and_pictures_come_back() {
    let net = two_sites(Nat::Symmetric);
    let dev = public_server(&net, "");
    let agent = agent_at(&net, 1, &dev, 25);
    std::thread::sleep(Duration::from_millis(700));
    let host = &net.sites[0].host;
    let browser = Browser::start_in(
        host,
        &dev,
        "billing",
        &[("STAY_MS", "20000"), ("WATCH", "1")],
    );
    assert_eq!(browser.until("phase")["phase"], "in_call");
    let watch = |b: &Browser| b.until("watch")["watch"].clone();
    // Pictures flowing first.
    while watch(&browser)["video_decoded"].as_u64().unwrap() < 60 {}
    let moved = std::time::Instant::now();
    let old = format!("{}/24", net.sites[0].host_ip());
    host.ip(&["addr", "del", &old, "dev", "eth0"]).unwrap();
    host.ip(&["addr", "add", "10.0.1.3/24", "dev", "eth0"])
        .unwrap();
    host.ip(&["route", "add", "default", "via", "10.0.1.1"])
        .unwrap();
    // Lost, as the widget says...
    let mut w = watch(&browser);
    while !w["media_lost"].as_bool().unwrap() {
        assert!(moved.elapsed() < Duration::from_secs(15), "never lost: {w}");
        w = watch(&browser);
    }
    let lost = moved.elapsed();
    let before = w["video_decoded"].as_u64().unwrap();
    // ...then back, and pictures decoded again.
    while w["media_lost"].as_bool().unwrap() || w["video_decoded"].as_u64().unwrap() < before + 15 {
        assert!(moved.elapsed() < Duration::from_secs(18), "not back: {w}");
        w = watch(&browser);
    }
    eprintln!(
        "widget address change: lost after {lost:?}, pictures again after {:?}",
        moved.elapsed()
    );
    let figures = browser.until("video_decoded");
    assert_eq!(figures["media_lost"], false, "{figures}");
    browser.until("ended");
    let a1 = agent_summary(agent);
    assert!(a1["media_path"]["restored"].as_u64().unwrap() >= 1, "{a1}");
    assert_eq!(a1["media_path"]["down_at_end"], false, "{a1}");
}
