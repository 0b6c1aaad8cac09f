//! Golden JSON fixtures: one sample frame per message type (more for messages with variants),
//! written out pretty in `tests/fixtures/`, so every change to the wire shows up in review.
//!
//! Each sample must serialize to exactly its fixture and the fixture must read back to the same
//! value through the codec a server or client uses. `UPDATE_GOLDEN=1 cargo test -p
//! switchboard-protocol` (or `cargo xtask codegen`) rewrites the fixtures after a deliberate change.
//!
//! Longer than 800 lines because every message has its golden sample here, in one list to review.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::json;
use switchboard_protocol::*;

fn uid(s: &str) -> UserId {
    UserId::new(s).unwrap()
}
fn call() -> CallId {
    CallId::new("c-01j9x7k2q4").unwrap()
}
fn sess(s: &str) -> SessionId {
    SessionId::new(s).unwrap()
}
fn label(s: &str) -> Label {
    Label::new(s).unwrap()
}
fn text(s: &str) -> Text {
    Text::new(s).unwrap()
}
fn biz(s: &str) -> Business {
    Business::new(s).unwrap()
}
fn sdp(kind: &str) -> Sdp {
    Sdp::new(format!(
        "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=setup:{kind}\r\n"
    ))
    .unwrap()
}
fn extra() -> Extra {
    serde_json::from_value(json!({"case": "CRM-20931", "vip": true})).unwrap()
}
const T0: UnixMillis = 1_763_820_000_000;

fn client_samples() -> Vec<(&'static str, ClientFrame)> {
    use ClientMessage as M;
    let req = |id, m| ClientFrame::request(id, m);
    vec![
        (
            "hello",
            ClientFrame::new(M::Hello(Hello {
                v: PROTOCOL_VERSION,
                token: Token::new("v1.dev.alice.user.1763863200.Qm9n").unwrap(),
                resume: None,
                seen: None,
                client: Some(ClientInfo {
                    name: label("switchboard-desktop"),
                    version: label("0.1.0"),
                    platform: Some(label("linux-x86_64")),
                }),
            })),
        ),
        (
            "hello.resume",
            ClientFrame::new(M::Hello(Hello {
                v: PROTOCOL_VERSION,
                token: Token::new("v1.dev.alice.user.1763863200.Qm9n").unwrap(),
                resume: Some(sess("s-7Hq2")),
                seen: Some(41),
                client: None,
            })),
        ),
        ("ping", req(1, M::Ping)),
        ("refresh_token", req(2, M::RefreshToken)),
        ("logout", req(3, M::Logout)),
        (
            "subscribe_presence",
            req(
                4,
                M::SubscribePresence(SubscribePresence {
                    users: vec![uid("bob"), uid("carol")],
                }),
            ),
        ),
        (
            "invite",
            req(
                5,
                M::Invite(Invite {
                    to: vec![Invitee {
                        user: uid("bob"),
                        offer: Some(sdp("actpass")),
                    }],
                    media: CallMedia::Video,
                    extra: Some(extra()),
                    consult: None,
                    monitor: None,
                }),
            ),
        ),
        (
            "invite.group",
            req(
                6,
                M::Invite(Invite {
                    to: vec![
                        Invitee {
                            user: uid("bob"),
                            offer: Some(sdp("actpass")),
                        },
                        Invitee {
                            user: uid("carol"),
                            offer: None,
                        },
                    ],
                    media: CallMedia::Audio,
                    extra: None,
                    consult: None,
                    monitor: None,
                }),
            ),
        ),
        (
            "invite_members",
            req(
                7,
                M::InviteMembers(InviteMembers {
                    call_id: call(),
                    to: vec![Invitee {
                        user: uid("carol"),
                        offer: Some(sdp("actpass")),
                    }],
                }),
            ),
        ),
        (
            "ringing",
            ClientFrame::new(M::Ringing(CallRef { call_id: call() })),
        ),
        (
            "accept",
            req(
                8,
                M::Accept(Accept {
                    call_id: call(),
                    media: None,
                    answer: Some(sdp("active")),
                }),
            ),
        ),
        (
            "accept.as_audio",
            req(
                9,
                M::Accept(Accept {
                    call_id: call(),
                    media: Some(CallMedia::Audio),
                    answer: None,
                }),
            ),
        ),
        (
            "reject",
            req(
                10,
                M::Reject(Reject {
                    call_id: call(),
                    busy: false,
                }),
            ),
        ),
        (
            "cancel",
            req(
                11,
                M::Cancel(Cancel {
                    call_id: call(),
                    user: None,
                }),
            ),
        ),
        (
            "cancel.one_invitee",
            req(
                12,
                M::Cancel(Cancel {
                    call_id: call(),
                    user: Some(uid("carol")),
                }),
            ),
        ),
        ("hangup", req(13, M::Hangup(CallRef { call_id: call() }))),
        (
            "sdp",
            ClientFrame::new(M::Sdp(SdpToPeer {
                call_id: call(),
                to: uid("alice"),
                to_session: Some(sess("s-7Hq2")),
                kind: SdpKind::Answer,
                sdp: sdp("active"),
            })),
        ),
        (
            "ice_candidate",
            ClientFrame::new(M::IceCandidate(IceToPeer {
                call_id: call(),
                to: uid("bob"),
                to_session: None,
                candidate: Some(IceCandidate {
                    candidate: CandidateLine::new(
                        "candidate:1 1 udp 2130706431 127.0.0.1 50123 typ host",
                    )
                    .unwrap(),
                    sdp_mid: Some(label("0")),
                    sdp_mline_index: Some(0),
                    username_fragment: Some(label("Yx3a")),
                }),
            })),
        ),
        (
            "ice_candidate.end",
            ClientFrame::new(M::IceCandidate(IceToPeer {
                call_id: call(),
                to: uid("bob"),
                to_session: None,
                candidate: None,
            })),
        ),
        (
            "media_state",
            ClientFrame::new(M::MediaState(MediaStateUpdate {
                call_id: call(),
                state: MediaState {
                    audio: false,
                    video: true,
                    screen: false,
                    recording: true,
                },
            })),
        ),
        (
            "switch_media",
            req(
                14,
                M::SwitchMedia(SwitchMedia {
                    call_id: call(),
                    media: CallMedia::Audio,
                }),
            ),
        ),
        (
            "message",
            req(
                15,
                M::Message(SendMessage {
                    to: uid("bob"),
                    text: text("Can you take the 3 pm shift? 可以吗？"),
                }),
            ),
        ),
        (
            "call_message",
            req(
                16,
                M::CallMessage(SendCallMessage {
                    call_id: call(),
                    to: None,
                    text: text("Sharing the form now"),
                }),
            ),
        ),
        (
            "file_offer",
            req(
                17,
                M::FileOffer(FileOfferToPeer {
                    call_id: call(),
                    to: uid("c-4821"),
                    file: FileOffer {
                        transfer_id: TransferId::new("f-2b7e").unwrap(),
                        name: label("contract.pdf"),
                        size: 5_242_880,
                        mime: Some(label("application/pdf")),
                        sha256: Sha256Hex::new(
                            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                        )
                        .unwrap(),
                    },
                }),
            ),
        ),
        (
            "file_reply",
            req(
                18,
                M::FileReply(FileReplyToPeer {
                    call_id: call(),
                    to: uid("a1"),
                    transfer_id: TransferId::new("f-2b7e").unwrap(),
                    accept: true,
                }),
            ),
        ),
        (
            "agent_register",
            req(
                19,
                M::AgentRegister(AgentRegister {
                    profile: AgentProfile {
                        area: label("shanghai"),
                        skills: vec![
                            Skill {
                                business: biz("billing"),
                                level: 7,
                            },
                            Skill {
                                business: biz("tech"),
                                level: 3,
                            },
                        ],
                        display_name: Some(label("Agent Wang")),
                    },
                }),
            ),
        ),
        (
            "set_agent_state",
            req(
                20,
                M::SetAgentState(SetAgentState {
                    state: AgentAvailability::Ready,
                    after_call: false,
                }),
            ),
        ),
        (
            "set_agent_state.not_ready_after_call",
            req(
                21,
                M::SetAgentState(SetAgentState {
                    state: AgentAvailability::NotReady {
                        reason: label("lunch"),
                    },
                    after_call: true,
                }),
            ),
        ),
        (
            "enqueue",
            req(
                22,
                M::Enqueue(Enqueue {
                    business: biz("billing"),
                    media: CallMedia::Video,
                    priority: 0,
                    name: Some(label("Li Lei")),
                    offer: Some(sdp("actpass")),
                    extra: Some(extra()),
                }),
            ),
        ),
        (
            "transfer",
            req(
                23,
                M::Transfer(Transfer {
                    call_id: call(),
                    to: TransferTarget::Agent { user: uid("a2") },
                }),
            ),
        ),
        (
            "transfer.to_queue",
            req(
                24,
                M::Transfer(Transfer {
                    call_id: call(),
                    to: TransferTarget::Queue {
                        business: biz("tech"),
                    },
                }),
            ),
        ),
        (
            "end_wrap_up",
            req(
                25,
                M::EndWrapUp(EndWrapUp {
                    call_id: call(),
                    disposition: Some(label("resolved")),
                    notes: Some(text("Refund issued; customer satisfied.")),
                }),
            ),
        ),
        (
            "hold",
            req(
                26,
                M::Hold(SetHold {
                    call_id: call(),
                    on: true,
                }),
            ),
        ),
        (
            "watch_floor",
            req(27, M::WatchFloor(WatchFloor { on: true })),
        ),
        (
            "monitor",
            req(
                28,
                M::Monitor(SetMonitor {
                    call_id: call(),
                    mode: MonitorMode::Whisper,
                }),
            ),
        ),
        (
            "take_over",
            req(29, M::TakeOver(CallRef { call_id: call() })),
        ),
        (
            "conference",
            req(30, M::Conference(CallRef { call_id: call() })),
        ),
    ]
}

fn server_samples() -> Vec<(&'static str, ServerFrame)> {
    use ServerMessage as M;
    let reply = |id, m| ServerFrame::reply(Some(id), m);
    let note = ServerFrame::new;
    let ended = |code, side| EndReason::new(code, side);
    vec![
        (
            "hello",
            note(M::Hello(Welcome {
                v: PROTOCOL_VERSION,
                session_id: sess("s-7Hq2"),
                resumed: false,
                user: uid("alice"),
                role: Role::User,
                realm: label("dev"),
                token_expires_at: T0 + 12 * 3600 * 1000,
                server_time: T0,
                heartbeat_secs: 10,
                resume_window_secs: 20,
                limits: Limits::default(),
                ice_servers: vec![
                    IceServer {
                        urls: vec!["stun:127.0.0.1:3478".into()],
                        username: None,
                        credential: None,
                    },
                    IceServer {
                        urls: vec!["turn:127.0.0.1:3478?transport=udp".into()],
                        username: Some("1763863200:alice".into()),
                        credential: Some("b64hmac=".into()),
                    },
                ],
                relay_only: false,
                nodes: vec![
                    "wss://cc1.example.com/ws".into(),
                    "wss://cc2.example.com/ws".into(),
                ],
                hold_music: Some("/hold-music/acme".into()),
            })),
        ),
        ("pong", reply(1, M::Pong(Pong { server_time: T0 }))),
        ("ack", reply(3, M::Ack)),
        (
            "error",
            reply(
                13,
                M::Error(ErrorMessage {
                    code: ErrorCode::NotCallMember,
                    message: "you are not a member of this call".into(),
                    call_id: Some(call()),
                }),
            ),
        ),
        (
            "error.unknown_type",
            ServerFrame::error(Some(7), ErrorCode::UnknownType, "unknown type \"teleport\""),
        ),
        (
            "token_refreshed",
            reply(
                2,
                M::TokenRefreshed(TokenRefreshed {
                    token: Token::new("v1.dev.alice.user.1763906400.Zm9v").unwrap(),
                    expires_at: T0 + 24 * 3600 * 1000,
                }),
            ),
        ),
        (
            "session_ended",
            note(M::SessionEnded(SessionEnded {
                code: SessionEndCode::KickedDuplicateLogin,
                message: "signed in on another device".into(),
            })),
        ),
        (
            "presence",
            note(M::Presence(PresenceUpdate {
                user: uid("bob"),
                status: PresenceStatus::Busy,
            })),
        ),
        (
            "call_created",
            reply(5, M::CallCreated(CallCreated { call_id: call() })),
        ),
        (
            "incoming_call",
            note(M::IncomingCall(IncomingCall {
                call_id: call(),
                kind: CallKind::Direct,
                from: uid("alice"),
                from_session: sess("s-7Hq2"),
                from_name: Some(label("Alice")),
                media: CallMedia::Video,
                members: vec![
                    Member {
                        user: uid("alice"),
                        state: MemberState::Joined,
                        display_name: Some(label("Alice")),
                    },
                    Member {
                        user: uid("bob"),
                        state: MemberState::Invited,
                        display_name: None,
                    },
                ],
                offer: Some(sdp("actpass")),
                extra: Some(extra()),
                consult: None,
                monitor: None,
                queue: None,
                ring_until: T0 + 60_000,
            })),
        ),
        (
            "incoming_call.queue",
            note(M::IncomingCall(IncomingCall {
                call_id: call(),
                kind: CallKind::Queue,
                from: uid("c-4821"),
                from_session: sess("s-w91"),
                from_name: Some(label("Li Lei")),
                media: CallMedia::Video,
                members: vec![
                    Member {
                        user: uid("c-4821"),
                        state: MemberState::Joined,
                        display_name: Some(label("Li Lei")),
                    },
                    Member {
                        user: uid("a1"),
                        state: MemberState::Invited,
                        display_name: None,
                    },
                ],
                offer: Some(sdp("actpass")),
                extra: None,
                consult: None,
                monitor: None,
                queue: Some(QueueContext {
                    business: biz("billing"),
                    priority: 0,
                    waited_ms: 42_500,
                    customer_name: Some(label("Li Lei")),
                    transferred_by: None,
                    warm: false,
                }),
                ring_until: T0 + 15_000,
            })),
        ),
        (
            "member_update",
            note(M::MemberUpdate(MemberUpdate {
                call_id: call(),
                user: uid("bob"),
                state: MemberState::Joined,
                session: Some(sess("s-b0b")),
                reason: None,
            })),
        ),
        (
            "member_update.left",
            note(M::MemberUpdate(MemberUpdate {
                call_id: call(),
                user: uid("carol"),
                state: MemberState::Left,
                session: None,
                reason: Some(ended(EndCode::NoAnswer, Side::Server)),
            })),
        ),
        (
            "call_ended",
            note(M::CallEnded(CallEnded {
                call_id: call(),
                reason: ended(EndCode::Hangup, Side::Remote),
                started_at: T0,
                answered_at: Some(T0 + 4_200),
                ended_at: T0 + 65_000,
            })),
        ),
        (
            "call_ended.busy",
            note(M::CallEnded(CallEnded {
                call_id: call(),
                reason: ended(EndCode::Busy, Side::Remote),
                started_at: T0,
                answered_at: None,
                ended_at: T0 + 80,
            })),
        ),
        (
            "sdp",
            note(M::Sdp(SdpFromPeer {
                call_id: call(),
                from: uid("bob"),
                from_session: sess("s-b0b"),
                kind: SdpKind::Answer,
                sdp: sdp("active"),
            })),
        ),
        (
            "ice_candidate",
            note(M::IceCandidate(IceFromPeer {
                call_id: call(),
                from: uid("bob"),
                from_session: sess("s-b0b"),
                candidate: Some(IceCandidate {
                    candidate: CandidateLine::new(
                        "candidate:2 1 udp 2130706431 127.0.0.1 41000 typ host",
                    )
                    .unwrap(),
                    sdp_mid: Some(label("0")),
                    sdp_mline_index: Some(0),
                    username_fragment: None,
                }),
            })),
        ),
        (
            "media_state",
            note(M::MediaState(PeerMediaState {
                call_id: call(),
                from: uid("bob"),
                state: MediaState {
                    audio: true,
                    video: false,
                    screen: true,
                    recording: false,
                },
            })),
        ),
        (
            "media_switched",
            note(M::MediaSwitched(MediaSwitched {
                call_id: call(),
                by: uid("bob"),
                media: CallMedia::Audio,
            })),
        ),
        (
            "message",
            note(M::Message(ReceivedMessage {
                msg_id: MessageId::new("m-88a1").unwrap(),
                from: uid("alice"),
                seq: 12,
                text: text("Can you take the 3 pm shift? 可以吗？"),
                sent_at: T0,
            })),
        ),
        (
            "message_sent",
            reply(
                15,
                M::MessageSent(MessageSent {
                    msg_id: MessageId::new("m-88a1").unwrap(),
                    seq: 12,
                    sent_at: T0,
                    delivered: false,
                }),
            ),
        ),
        (
            "call_message",
            note(M::CallMessage(ReceivedCallMessage {
                call_id: call(),
                msg_id: MessageId::new("m-88a2").unwrap(),
                from: uid("a1"),
                seq: 3,
                to_all: true,
                text: text("Sharing the form now"),
                sent_at: T0,
            })),
        ),
        (
            "file_offer",
            note(M::FileOffer(FileOfferFromPeer {
                call_id: call(),
                from: uid("a1"),
                file: FileOffer {
                    transfer_id: TransferId::new("f-2b7e").unwrap(),
                    name: label("contract.pdf"),
                    size: 5_242_880,
                    mime: None,
                    sha256: Sha256Hex::new(
                        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    )
                    .unwrap(),
                },
            })),
        ),
        (
            "file_reply",
            note(M::FileReply(FileReplyFromPeer {
                call_id: call(),
                from: uid("c-4821"),
                transfer_id: TransferId::new("f-2b7e").unwrap(),
                accept: false,
            })),
        ),
        (
            "missed_calls",
            note(M::MissedCalls(MissedCalls {
                calls: vec![MissedCall {
                    call_id: call(),
                    from: uid("alice"),
                    media: CallMedia::Audio,
                    at: T0 - 3_600_000,
                    reason: ended(EndCode::CalleeOffline, Side::Server),
                }],
            })),
        ),
        (
            "agent_state",
            reply(
                20,
                M::AgentState(AgentStateUpdate {
                    state: AgentState::Ready,
                    since: T0,
                    next: None,
                }),
            ),
        ),
        (
            "agent_state.wrap_up",
            note(M::AgentState(AgentStateUpdate {
                state: AgentState::WrapUp {
                    call_id: call(),
                    ends_at: Some(T0 + 30_000),
                },
                since: T0,
                next: Some(AgentAvailability::NotReady {
                    reason: label("lunch"),
                }),
            })),
        ),
        (
            "agent_state.not_ready",
            note(M::AgentState(AgentStateUpdate {
                state: AgentState::NotReady {
                    reason: label("missed"),
                },
                since: T0,
                next: None,
            })),
        ),
        (
            "queued",
            reply(
                22,
                M::Queued(Queued {
                    call_id: call(),
                    business: biz("billing"),
                    position: 3,
                }),
            ),
        ),
        (
            "queue_position",
            note(M::QueuePosition(QueuePosition {
                call_id: call(),
                position: 2,
                waiting: 5,
                estimated_wait_secs: Some(90),
            })),
        ),
        (
            "cti",
            note(M::Cti(Cti {
                figures: CtiFigures {
                    waiting: 5,
                    agents: 4,
                    agents_ready: 1,
                    agents_working: 2,
                    longest_wait_ms: 95_000,
                },
                waiting: vec![WaitingCustomer {
                    call_id: call(),
                    business: biz("billing"),
                    priority: 2,
                    media: CallMedia::Video,
                    position: 1,
                    waited_ms: 95_000,
                    name: Some(label("Li Lei")),
                }],
                own: OwnFigures {
                    handled: 12,
                    aht_ms: Some(241_000),
                    window_mins: 60,
                },
            })),
        ),
        (
            "call_hold",
            note(M::CallHold(CallHold {
                call_id: call(),
                by: uid("agent-7"),
                on: true,
                since: 1_767_000_000_000,
                count: 1,
            })),
        ),
        (
            "wallboard",
            reply(
                27,
                M::Wallboard(Wallboard {
                    at: 1_767_000_000_000,
                    team: Some(label("front")),
                    window_mins: 60,
                    service_level_secs: 20,
                    service_level_goal_pct: 80,
                    queues: vec![QueueBoard {
                        business: biz("billing"),
                        waiting: 3,
                        longest_wait_ms: 42_000,
                        agents_ready: 1,
                        agents_working: 2,
                        answered: 40,
                        answered_in_time: 33,
                        abandoned: 4,
                        handled: 38,
                        service_level_pct: Some(75),
                        abandon_pct: Some(9),
                        aht_ms: Some(241_000),
                    }],
                    agents: vec![AgentBoard {
                        user: uid("agent-7"),
                        name: Some(label("Wang Fang")),
                        team: Some(label("front")),
                        state: AgentState::InCall { call_id: call() },
                        state_ms: 65_000,
                        call: Some(AgentCall {
                            call_id: call(),
                            business: biz("billing"),
                            customer: Some(label("Li Lei")),
                            talk_ms: 65_000,
                            on_hold: false,
                            consulting: false,
                        }),
                        figures: OwnFigures {
                            handled: 12,
                            aht_ms: Some(241_000),
                            window_mins: 60,
                        },
                    }],
                }),
            ),
        ),
        (
            "monitor_mode",
            note(M::MonitorMode(MonitorUpdate {
                call_id: CallId::new("c-monitor-1").unwrap(),
                of: call(),
                mode: MonitorMode::Listen,
                since: 1_767_000_000_000,
            })),
        ),
        (
            "conference",
            note(M::Conference(Conference {
                call_id: CallId::new("c-consult-1").unwrap(),
                of: call(),
                since: 1_767_000_000_000,
            })),
        ),
    ]
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn updating() -> bool {
    std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1")
}

/// Compares `value` with `dir/name.json`, or writes it when updating. Returns the fixture text.
fn check_fixture<T: serde::Serialize>(dir: &str, name: &str, value: &T) -> String {
    let path = fixtures_dir().join(dir).join(format!("{name}.json"));
    let mut pretty = serde_json::to_string_pretty(value).unwrap();
    pretty.push('\n');
    if updating() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &pretty).unwrap();
        return pretty;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `cargo xtask codegen` to write it",
            path.display()
        )
    });
    assert_eq!(
        on_disk,
        pretty,
        "{} differs from the Rust types; if the wire change is deliberate, run `cargo xtask codegen`",
        path.display()
    );
    on_disk
}

fn type_of(fixture: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(fixture).unwrap();
    v["type"].as_str().unwrap().to_owned()
}

#[test]
fn client_frames_match_their_fixtures_and_read_back() {
    let mut seen = BTreeSet::new();
    for (name, frame) in client_samples() {
        let fixture = check_fixture("client", name, &frame);
        let back = decode_client(&fixture).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back, frame, "{name} does not read back to the same value");
        let ty = type_of(&fixture);
        assert_eq!(ty, frame.message.type_name(), "{name}");
        assert!(
            name.split('.').next() == Some(ty.as_str()),
            "fixture {name} holds a {ty}"
        );
        seen.insert(ty);
    }
    let all: BTreeSet<String> = ClientMessage::TYPES.iter().map(|s| s.to_string()).collect();
    assert_eq!(seen, all, "every client message type has a fixture");
}

#[test]
fn server_frames_match_their_fixtures_and_read_back() {
    let mut seen = BTreeSet::new();
    for (name, frame) in server_samples() {
        let fixture = check_fixture("server", name, &frame);
        let back = decode_server(&fixture).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back, frame, "{name} does not read back to the same value");
        let ty = type_of(&fixture);
        assert!(
            name.split('.').next() == Some(ty.as_str()),
            "fixture {name} holds a {ty}"
        );
        seen.insert(ty);
    }
    let all: BTreeSet<String> = ServerMessage::TYPES.iter().map(|s| s.to_string()).collect();
    assert_eq!(seen, all, "every server message type has a fixture");
}

#[test]
fn no_stray_fixtures() {
    let names: BTreeSet<String> = client_samples()
        .iter()
        .map(|(n, _)| format!("client/{n}.json"))
        .chain(
            server_samples()
                .iter()
                .map(|(n, _)| format!("server/{n}.json")),
        )
        .collect();
    for dir in ["client", "server"] {
        for entry in std::fs::read_dir(fixtures_dir().join(dir)).unwrap() {
            let file = format!("{dir}/{}", entry.unwrap().file_name().to_string_lossy());
            assert!(
                names.contains(&file),
                "{file} has no sample: delete it or add one"
            );
        }
    }
}

#[test]
fn end_reasons_have_fixtures() {
    // One fixture lists every code, so a renamed or added code shows up in review.
    let all: Vec<EndReason> = EndCode::ALL
        .iter()
        .map(|c| EndReason::new(*c, Side::Remote))
        .collect();
    check_fixture("", "end_reasons", &all);
}

#[test]
fn typescript_bindings_are_fresh() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/generated/protocol.ts");
    let generated = typescript_bindings();
    if updating() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{} is stale: run `cargo xtask codegen` and commit the result",
        path.display()
    );
}
