//! What reading and writing frames costs the server: a small frame, an invite carrying a
//! Chromium-sized SDP offer, and the `incoming_call` written for it.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use switchboard_protocol::*;

/// An offer of realistic size: Chromium's with audio, video and a data channel is 6–8 KiB.
fn sdp_offer() -> String {
    let mut s =
        String::from("v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n");
    s.push_str("a=group:BUNDLE 0 1 2\r\na=msid-semantic: WMS\r\n");
    for (mid, kind) in [(0, "audio"), (1, "video"), (2, "application")] {
        s.push_str(&format!(
            "m={kind} 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
        ));
        s.push_str("c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n");
        s.push_str(
            "a=ice-ufrag:Yx3a\r\na=ice-pwd:LnhQd2W5ZbKkKvYbH+0V0w9S\r\na=ice-options:trickle\r\n",
        );
        s.push_str("a=fingerprint:sha-256 2C:5E:9F:1B:22:AF:3D:91:8E:6A:4B:0C:77:21:93:DD:5A:0E:13:3F:8C:2B:6D:AA:01:9E:7F:44:C2:3A:11:B5\r\n");
        s.push_str(&format!("a=setup:actpass\r\na=mid:{mid}\r\n"));
        for pt in 96..126 {
            s.push_str(&format!(
                "a=rtpmap:{pt} H264/90000\r\na=rtcp-fb:{pt} nack pli\r\n"
            ));
            s.push_str(&format!(
                "a=fmtp:{pt} level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
            ));
        }
    }
    s
}

fn bench(c: &mut Criterion) {
    let offer = sdp_offer();
    let invite = encode(&ClientFrame::request(
        1,
        ClientMessage::Invite(Invite {
            to: vec![Invitee {
                user: UserId::new("bob").unwrap(),
                offer: Some(Sdp::new(offer.clone()).unwrap()),
            }],
            media: CallMedia::Video,
            extra: None,
            consult: None,
            monitor: None,
        }),
    ));
    let ping = r#"{"type":"ping","id":42}"#;

    let mut g = c.benchmark_group("decode_client");
    g.throughput(Throughput::Bytes(ping.len() as u64));
    g.bench_function("ping", |b| {
        b.iter(|| decode_client(black_box(ping)).unwrap())
    });
    g.throughput(Throughput::Bytes(invite.len() as u64));
    g.bench_function(format!("invite_with_{}_byte_offer", offer.len()), |b| {
        b.iter(|| decode_client(black_box(&invite)).unwrap())
    });
    g.bench_function("unknown_type", |b| {
        b.iter(|| decode_client(black_box(r#"{"type":"teleport","id":1}"#)).unwrap_err())
    });
    g.finish();

    let incoming = ServerFrame::new(ServerMessage::IncomingCall(IncomingCall {
        call_id: CallId::new("c-01HZX3").unwrap(),
        kind: CallKind::Direct,
        from: UserId::new("alice").unwrap(),
        from_session: SessionId::new("s-9f2").unwrap(),
        from_name: None,
        media: CallMedia::Video,
        members: vec![],
        offer: Some(Sdp::new(offer).unwrap()),
        extra: None,
        consult: None,
        monitor: None,
        queue: None,
        ring_until: 1_700_000_060_000,
    }));
    let mut g = c.benchmark_group("encode_server");
    g.bench_function("incoming_call_with_offer", |b| {
        b.iter(|| encode(black_box(&incoming)))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    // Short runs: these figures are stable to a few percent within seconds.
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
