//! Whatever arrives, the codec answers with a frame or a typed error: never a panic, and never
//! an error without a code the server can send.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use proptest::prelude::*;
use switchboard_protocol::*;

/// JSON objects that look like frames: a known or unknown type and random fields.
fn framish() -> impl Strategy<Value = String> {
    let ty = prop_oneof![
        prop::sample::select(ClientMessage::TYPES.to_vec()).prop_map(str::to_owned),
        "[a-z_]{0,12}",
    ];
    let value = prop_oneof![
        Just("null".to_owned()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "[ -~]{0,20}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        Just("[]".to_owned()),
        Just(r#"{"user":"bob"}"#.to_owned()),
        Just(r#"[{"user":"bob"}]"#.to_owned()),
    ];
    let key = prop::sample::select(vec![
        "id",
        "call_id",
        "to",
        "media",
        "token",
        "v",
        "text",
        "kind",
        "sdp",
        "state",
        "user",
        "business",
        "priority",
        "candidate",
        "profile",
        "file",
        "busy",
    ]);
    (ty, prop::collection::vec((key, value), 0..6)).prop_map(|(ty, fields)| {
        let mut s = format!("{{\"type\":{}", serde_json::to_string(&ty).unwrap());
        for (k, v) in fields {
            s.push_str(&format!(",\"{k}\":{v}"));
        }
        s.push('}');
        s
    })
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}") {
        if let Err(e) = decode_client(&text) {
            prop_assert!(!e.message.is_empty());
        }
        let _ = decode_server(&text);
    }

    #[test]
    fn framish_objects_get_a_frame_or_a_fitting_error(text in framish()) {
        match decode_client(&text) {
            Ok(frame) => {
                // What parses, re-encodes to something that parses to the same value.
                let again = decode_client(&encode(&frame)).unwrap();
                prop_assert_eq!(again, frame);
            }
            Err(e) => prop_assert!(matches!(
                e.code,
                ErrorCode::UnknownType | ErrorCode::InvalidMessage | ErrorCode::MalformedFrame
            ), "{e}"),
        }
    }

    #[test]
    fn texts_within_the_limit_round_trip(s in "\\PC{0,200}") {
        let t = Text::new(s.clone()).unwrap();
        let json = serde_json::to_string(&t).unwrap();
        let back: Text = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, t);
    }

    #[test]
    fn media_states_round_trip(audio: bool, video: bool, screen: bool, recording: bool) {
        let m = ClientFrame::new(ClientMessage::MediaState(MediaStateUpdate {
            call_id: CallId::new("c-1").unwrap(),
            state: MediaState { audio, video, screen, recording },
        }));
        prop_assert_eq!(decode_client(&encode(&m)).unwrap(), m);
    }
}
