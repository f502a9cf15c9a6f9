//! Every captured body decodes into our protocol types and re-encodes to equivalent JSON.

use crate::support;

use letta::protocol::*;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use support::{fixtures, normalize};

/// Decode `text` as `T`, re-encode, and compare with the original (nulls ignored).
fn round_trip<T: DeserializeOwned + Serialize>(what: &str, text: &str) {
    let original: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: {e}"));
    let typed: T = serde_json::from_str(text).unwrap_or_else(|e| {
        panic!(
            "{what}: does not decode as {}: {e}",
            std::any::type_name::<T>()
        )
    });
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(
        normalize(&back),
        normalize(&original),
        "{what}: re-encoding differs"
    );
}

fn is_id(seg: &str) -> bool {
    seg.contains('-') || seg == "default"
}

/// Decode a JSON response body by what the endpoint returns.
fn check_response(x: &fixtures::Exchange) {
    let what = format!("{} {} {} (response)", x.file, x.method, x.path);
    let body = x.response_body.trim();
    if x.status >= 400 {
        round_trip::<ApiErrorBody>(&what, body);
        let e: ApiErrorBody = serde_json::from_str(body).unwrap();
        assert!(!e.detail_text().is_empty(), "{what}: error without text");
        return;
    }
    if body.is_empty() || body == "null" {
        return;
    }
    if x.method == "DELETE" {
        // Deletes answer `null` or a short confirmation object.
        serde_json::from_str::<Value>(body).unwrap_or_else(|e| panic!("{what}: {e}"));
        return;
    }
    let segs: Vec<&str> = x.path.trim_matches('/').split('/').collect();
    let m = x.method.as_str();
    match segs.as_slice() {
        ["v1", "health"] => round_trip::<Health>(&what, body),
        ["v1", "agents"] if m == "GET" => round_trip::<Vec<Agent>>(&what, body),
        ["v1", "agents"] => round_trip::<Agent>(&what, body),
        ["v1", "agents", id] if is_id(id) => round_trip::<Agent>(&what, body),
        ["v1", "agents", _, "core-memory", "blocks"] => round_trip::<Vec<Block>>(&what, body),
        ["v1", "agents", _, "core-memory", "blocks", _] => round_trip::<Block>(&what, body),
        ["v1", "agents", _, "messages"] => round_trip::<Vec<LettaMessage>>(&what, body),
        ["v1", "conversations"] if m == "GET" => round_trip::<Vec<Conversation>>(&what, body),
        ["v1", "conversations"] => round_trip::<Conversation>(&what, body),
        ["v1", "conversations", _] => round_trip::<Conversation>(&what, body),
        ["v1", "conversations", _, "fork"] => round_trip::<Conversation>(&what, body),
        ["v1", "conversations", _, "messages"] if m == "GET" => {
            round_trip::<Vec<LettaMessage>>(&what, body)
        }
        ["v1", "conversations", _, "messages"] => round_trip::<LettaResponse>(&what, body),
        ["v1", "runs"] => round_trip::<Vec<Run>>(&what, body),
        ["v1", "runs", _] => round_trip::<Run>(&what, body),
        ["v1", "runs", _, "messages"] => round_trip::<Vec<LettaMessage>>(&what, body),
        ["v1", "messages", _] => round_trip::<Vec<LettaMessage>>(&what, body),
        ["v1", "conversations", _, "compact"] => round_trip::<Value>(&what, body),
        // Endpoints outside what the client models: only require valid JSON.
        _ => {
            serde_json::from_str::<Value>(body).unwrap_or_else(|e| panic!("{what}: {e}"));
        }
    }
}

fn check_request(x: &fixtures::Exchange) {
    let what = format!("{} {} {} (request)", x.file, x.method, x.path);
    let body = x.request_body.trim();
    if body.is_empty() {
        return;
    }
    let segs: Vec<&str> = x.path.trim_matches('/').split('/').collect();
    match (x.method.as_str(), segs.as_slice()) {
        ("POST", ["v1", "agents"]) => round_trip::<CreateAgent>(&what, body),
        ("PATCH", ["v1", "agents", _]) => round_trip::<UpdateAgent>(&what, body),
        ("POST", ["v1", "conversations"]) => round_trip::<CreateConversation>(&what, body),
        ("PATCH", ["v1", "conversations", _]) => round_trip::<UpdateConversation>(&what, body),
        ("POST", ["v1", "conversations", _, "messages"])
        | ("POST", ["v1", "agents", _, "messages", "stream"]) => {
            round_trip::<SendMessageRequest>(&what, body)
        }
        ("POST", ["v1", "conversations", _, "stream"]) | ("POST", ["v1", "runs", _, "stream"]) => {
            round_trip::<ResumeStream>(&what, body)
        }
        _ => {
            serde_json::from_str::<Value>(body).unwrap_or_else(|e| panic!("{what}: {e}"));
        }
    }
}

/// Each `data:` payload of an SSE body, with the event name of its frame.
fn sse_payloads(body: &str) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    for frame in body.replace("\r\n", "\n").split("\n\n") {
        let mut event = None;
        let mut data = Vec::new();
        for line in frame.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                event = Some(v.trim().to_string());
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push(v.strip_prefix(' ').unwrap_or(v).to_string());
            }
        }
        if !data.is_empty() {
            out.push((event, data.join("\n")));
        }
    }
    out
}

#[test]
fn every_fixture_decodes_and_round_trips() {
    let exchanges = fixtures::all_exchanges();
    let mut chunks = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for x in &exchanges {
        check_request(x);
        if x.is_sse() {
            for (event, data) in sse_payloads(&x.response_body) {
                if data == "[DONE]" {
                    continue;
                }
                let what = format!("{} chunk {data:.80}", x.file);
                round_trip::<LettaMessage>(&what, &data);
                let m = LettaMessage::from_json(&data).unwrap();
                assert!(
                    !matches!(m, LettaMessage::Unknown(_)),
                    "{what}: unknown type"
                );
                if event.as_deref() == Some("error") {
                    assert!(matches!(m, LettaMessage::Error(_)), "{what}: error frame");
                }
                kinds.insert(m.message_type().to_string());
                chunks += 1;
            }
        } else {
            check_response(x);
        }
    }
    assert!(exchanges.len() > 100, "{} exchanges", exchanges.len());
    assert!(chunks > 200, "{chunks} chunks");
    for k in [
        "ping",
        "assistant_message",
        "tool_call_message",
        "tool_return_message",
        "approval_request_message",
        "stop_reason",
        "usage_statistics",
        "error_message",
    ] {
        assert!(kinds.contains(k), "no {k} in the streams: {kinds:?}");
    }
}

#[test]
fn letta_code_session_blocks_decode() {
    let text =
        std::fs::read_to_string(fixtures::fixtures_dir().join("letta-code-session.md")).unwrap();
    let (mut decoded, mut truncated) = (0, 0);
    for section in text.split("\n## ").skip(1) {
        let head = section.lines().next().unwrap();
        let mut words = head.split_whitespace().skip(1);
        let method = words.next().unwrap();
        let path = words.next().unwrap().split('?').next().unwrap();
        let blocks: Vec<&str> = section
            .split("```json\n")
            .skip(1)
            .map(|b| b.split("\n```").next().unwrap())
            .collect();
        for (i, block) in blocks.iter().enumerate() {
            if serde_json::from_str::<Value>(block).is_err() {
                // The capture cut long bodies mid-string; those cannot be JSON.
                assert!(block.len() >= 2500, "{head}: short block is not JSON");
                truncated += 1;
                continue;
            }
            let is_request = blocks.len() == 2 && i == 0;
            let x = fixtures::Exchange {
                file: "letta-code-session.md".into(),
                method: method.into(),
                path: path.into(),
                query: String::new(),
                request_body: if is_request {
                    block.to_string()
                } else {
                    String::new()
                },
                status: head.rsplit(' ').next().unwrap().parse().unwrap(),
                response_headers: Vec::new(),
                response_body: if is_request {
                    String::new()
                } else {
                    block.to_string()
                },
            };
            check_request(&x);
            check_response(&x);
            decoded += 1;
        }
    }
    assert!(decoded >= 20, "decoded {decoded}");
    assert!(truncated < decoded, "truncated {truncated}");
}

#[test]
fn unknown_message_types_pass_through() {
    let raw = r#"{"message_type":"brand_new_kind","id":"x","payload":{"a":[1,2]}}"#;
    let m = LettaMessage::from_json(raw).unwrap();
    assert!(matches!(m, LettaMessage::Unknown(_)));
    assert_eq!(m.message_type(), "brand_new_kind");
    assert_eq!(
        serde_json::to_value(&m).unwrap(),
        serde_json::from_str::<Value>(raw).unwrap()
    );
    let untagged = LettaMessage::from_json(r#"{"hello":1}"#).unwrap();
    assert!(matches!(untagged, LettaMessage::Unknown(_)));
}

#[test]
fn unknown_fields_are_kept() {
    let raw =
        r#"{"message_type":"assistant_message","id":"m","content":"hi","future_field":{"x":true}}"#;
    let m = LettaMessage::from_json(raw).unwrap();
    let LettaMessage::Assistant(a) = &m else {
        panic!("{m:?}")
    };
    assert_eq!(a.content.to_text(), "hi");
    assert_eq!(serde_json::to_value(&m).unwrap()["future_field"]["x"], true);
    let stop = LettaMessage::from_json(
        r#"{"message_type":"stop_reason","stop_reason":"some_new_reason"}"#,
    )
    .unwrap();
    let LettaMessage::StopReason { stop_reason, .. } = stop else {
        panic!()
    };
    assert_eq!(stop_reason, StopReason::Other("some_new_reason".into()));
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    for bad in [
        "",
        "[]",
        "3",
        "{",
        r#"{"message_type":"stop_reason"}"#,
        r#"{"message_type":"assistant_message","content":5}"#,
    ] {
        assert!(
            LettaMessage::from_json(bad).is_err(),
            "{bad} should not decode"
        );
    }
}

#[test]
fn request_builders_match_letta_code_shape() {
    let m = MessageCreate::user("hello");
    let v = serde_json::to_value(&m).unwrap();
    assert_eq!(v["type"], "message");
    assert_eq!(v["role"], "user");
    assert_eq!(v["content"][0]["text"], "hello");
    assert!(v["otid"].is_string());
    let a = MessageCreate::approvals(vec![
        ApprovalDecision::Tool(ToolReturnItem {
            tool_call_id: "call_1".into(),
            tool_return: "out".into(),
            status: "success".into(),
            stdout: Some(vec!["out".into()]),
            stderr: Some(vec![]),
            extra: Default::default(),
        }),
        ApprovalDecision::Approval {
            tool_call_id: "call_2".into(),
            approve: false,
            reason: Some("no".into()),
            extra: Default::default(),
        },
    ]);
    let v = serde_json::to_value(&a).unwrap();
    assert_eq!(v["type"], "approval");
    assert_eq!(v["approvals"][0]["type"], "tool");
    assert_eq!(v["approvals"][1]["approve"], false);
    let back: MessageCreate = serde_json::from_value(v).unwrap();
    assert_eq!(back, a);
    let params = ListParams {
        limit: Some(5),
        order: Some(Order::Asc),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&params).unwrap(),
        serde_json::json!({"limit":5,"order":"asc"})
    );
}

/// Every captured stream, fed to the SSE decoder in pieces split at arbitrary bytes, gives the
/// same chunks as the whole body, and each one decodes.
#[test]
fn fixture_streams_through_the_sse_decoder_at_any_split() {
    use letta::protocol::sse::SseDecoder;
    let decode = |body: &[u8], cuts: &[usize]| -> Vec<(Option<String>, String)> {
        let mut d = SseDecoder::new();
        let mut out = Vec::new();
        let mut prev = 0;
        for &c in cuts.iter().chain(std::iter::once(&body.len())) {
            out.extend(
                d.push(&body[prev..c])
                    .into_iter()
                    .map(|e| (e.event, e.data)),
            );
            prev = c;
        }
        out
    };
    let mut streams = 0;
    let mut seed = 0x9e3779b97f4a7c15u64;
    for x in fixtures::all_exchanges().into_iter().filter(|x| x.is_sse()) {
        // Bodies are stored with their final blank line trimmed; a real stream ends with it.
        let body = format!("{}\n\n", x.response_body);
        let body = body.as_bytes();
        let whole = decode(body, &[]);
        assert_eq!(whole, sse_payloads(&x.response_body), "{}", x.file);
        for (event, data) in &whole {
            if data != "[DONE]" {
                let m = LettaMessage::from_json(data).unwrap_or_else(|e| panic!("{}: {e}", x.file));
                assert_eq!(
                    event.as_deref() == Some("error"),
                    matches!(m, LettaMessage::Error(_)),
                    "{}",
                    x.file
                );
            }
        }
        for _ in 0..20 {
            let mut cuts: Vec<usize> = (0..6)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed % (body.len() as u64 + 1)) as usize
                })
                .collect();
            cuts.sort();
            assert_eq!(decode(body, &cuts), whole, "{} split at {cuts:?}", x.file);
        }
        streams += 1;
    }
    assert!(streams > 20, "{streams} streams");
}
