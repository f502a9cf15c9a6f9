//! A scripted LLM server speaking OpenAI's chat completions and Anthropic's messages, on
//! 127.0.0.1:0. Each request takes the next scripted reply; with none left it echoes.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// One scripted model answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Stream this text, a few characters per chunk.
    Text(String),
    /// Reasoning first, then text.
    Reasoning { reasoning: String, text: String },
    /// Tool calls `(id, name, arguments)`, possibly with text before them.
    Tools {
        text: String,
        calls: Vec<(String, String, String)>,
    },
    /// An HTTP error with this body.
    Error { status: u16, body: String },
    /// Stream some text, then cut the connection without finishing.
    Drop { text: String },
    /// Stream text slowly: one word per `delay_ms`.
    Slow { text: String, delay_ms: u64 },
    /// Answer with headers, then send nothing, ever.
    Stall,
    /// Stream this text as content deltas, again and again, forever.
    Endless { text: String },
    /// Start a `data:` line and never end it.
    EndlessLine,
}

/// A reply that calls one tool.
pub fn call(id: &str, name: &str, args: Value) -> Reply {
    Reply::Tools {
        text: String::new(),
        calls: vec![(id.into(), name.into(), args.to_string())],
    }
}

/// A body that never ends: `first`, then `again` forever (or nothing more when it is empty).
fn forever(first: String, again: String) -> Response {
    let stream = futures_util::stream::unfold(Some(first), move |next| {
        let again = again.clone();
        async move {
            match next {
                Some(f) => Some((Ok::<_, std::io::Error>(bytes::Bytes::from(f)), None)),
                None if again.is_empty() => {
                    std::future::pending::<()>().await;
                    None
                }
                None => {
                    tokio::task::yield_now().await;
                    Some((Ok(bytes::Bytes::from(again.clone())), None))
                }
            }
        }
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Reply>>,
    /// Replies for requests whose user messages contain a key (a subagent's prompt), taken
    /// before the common script.
    keyed: Mutex<Vec<(String, VecDeque<Reply>)>>,
    seen: Mutex<Vec<Seen>>,
}

/// A running scripted server; stops when dropped with its runtime.
#[derive(Clone)]
pub struct ScriptedLlm {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl ScriptedLlm {
    /// Start on 127.0.0.1:0 in the current runtime.
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/v1/chat/completions", post(openai))
            .route("/v1/messages", post(anthropic))
            .route("/v1/models", get(models))
            // Long conversations send long histories.
            .layer(axum::extract::DefaultBodyLimit::max(256 << 20))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Like a real provider: small SSE writes go out at once (no Nagle delay per turn).
        let listener = axum::serve::ListenerExt::tap_io(listener, |s| {
            let _ = s.set_nodelay(true);
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared }
    }

    /// Start on its own thread and runtime, for tests that drive the real binary.
    pub fn start_in_background() -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                tx.send(Self::start().await).unwrap();
                std::future::pending::<()>().await;
            });
        });
        rx.recv().unwrap()
    }

    /// OpenAI-style base URL (with `/v1`).
    pub fn openai_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Anthropic-style base URL (without `/v1`).
    pub fn anthropic_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queue replies, taken in order by the next requests.
    pub fn push(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared.script.lock().unwrap().extend(replies);
    }

    /// Queue replies for the requests whose user messages contain `key`.
    pub fn push_for(&self, key: &str, replies: impl IntoIterator<Item = Reply>) {
        self.shared
            .keyed
            .lock()
            .unwrap()
            .push((key.to_string(), replies.into_iter().collect()));
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// What the model was sent as the result of the call `id` (empty when never sent).
    pub fn tool_result(&self, id: &str) -> String {
        self.requests()
            .iter()
            .flat_map(|r| r.body["messages"].as_array().cloned().unwrap_or_default())
            .find(|m| m["role"] == "tool" && m["tool_call_id"] == id)
            .map(|m| m["content"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    }

    /// The body of the last completion request.
    pub fn last_body(&self) -> Value {
        self.requests()
            .last()
            .map(|s| s.body.clone())
            .unwrap_or(Value::Null)
    }
}

/// The user's own words: a client's `<system-reminder>` parts are not echoed.
pub fn without_reminders(text: &str) -> String {
    let mut t = text.to_string();
    while let (Some(a), Some(b)) = (t.find("<system-reminder>"), t.find("</system-reminder>")) {
        if b < a {
            break;
        }
        let end = b + "</system-reminder>".len();
        let end = if t[end..].starts_with('\n') {
            end + 1
        } else {
            end
        };
        t.replace_range(a..end, "");
    }
    t
}

fn next_reply(shared: &Shared, body: &Value) -> Reply {
    let users: String = body["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter(|m| m["role"] == "user")
                .map(|m| m["content"].to_string())
                .collect()
        })
        .unwrap_or_default();
    for (key, q) in shared.keyed.lock().unwrap().iter_mut() {
        if users.contains(key.as_str())
            && let Some(r) = q.pop_front()
        {
            return r;
        }
    }
    if let Some(r) = shared.script.lock().unwrap().pop_front() {
        return r;
    }
    // No script: echo the last user text, so any number of turns works.
    let last_user = body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .map(|m| match &m["content"] {
            Value::String(s) => s.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join(""),
            _ => String::new(),
        })
        .map(|t| without_reminders(&t))
        .unwrap_or_default();
    // `TOKENS:N` asks for a reply of N chunks, for benches.
    if let Some(n) = last_user
        .strip_prefix("TOKENS:")
        .and_then(|n| n.trim().parse::<usize>().ok())
    {
        let mut text = String::with_capacity(n * 4);
        let mut i = 0;
        while text.len() < n * 4 {
            text.push_str(&format!("w{i} "));
            i += 1;
        }
        return Reply::Text(text);
    }
    // `CALL_TOOL:NAME ARGS` asks for that tool call; its result is then said back.
    if let Some(rest) = last_user.strip_prefix("CALL_TOOL:") {
        let last = body["messages"].as_array().and_then(|m| m.last());
        if let Some(t) = last.filter(|m| m["role"] == "tool") {
            return Reply::Text(format!(
                "tool said: {}",
                t["content"].as_str().unwrap_or("")
            ));
        }
        let (name, args) = rest.split_once(' ').unwrap_or((rest, "{}"));
        return Reply::Tools {
            text: String::new(),
            calls: vec![("call_sdk".into(), name.into(), args.into())],
        };
    }
    Reply::Text(format!("echo: {last_user}"))
}

fn record(shared: &Shared, path: &str, headers: HeaderMap, body: &Value) {
    shared.seen.lock().unwrap().push(Seen {
        path: path.into(),
        headers,
        body: body.clone(),
    });
}

fn pieces(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(4).map(|c| c.iter().collect()).collect()
}

fn sse_response(frames: Vec<(String, u64)>, cut: bool) -> Response {
    let stream = async_stream(frames, cut);
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

fn async_stream(
    frames: Vec<(String, u64)>,
    cut: bool,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    futures_util::stream::unfold((frames.into_iter(), cut), |(mut it, cut)| async move {
        match it.next() {
            Some((f, delay)) => {
                if delay > 0 {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
                Some((Ok(bytes::Bytes::from(f)), (it, cut)))
            }
            None if cut => {
                // Let the partial body reach the client, then end it abruptly like a dropped
                // connection.
                tokio::time::sleep(Duration::from_millis(50)).await;
                Some((Err(std::io::Error::other("cut")), (it, false)))
            }
            None => None,
        }
    })
}

fn error_response(status: u16, body: String) -> Response {
    let mut r = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "application/json")],
        body,
    )
        .into_response();
    if status == 429 {
        // Rate limits say when to come back, as real providers do.
        r.headers_mut()
            .insert("retry-after", axum::http::HeaderValue::from_static("0"));
    }
    r
}

/// The key every scripted endpoint rejects, to test "the key was rejected".
pub const REJECTED_KEY: &str = "sk-wrong";

async fn models(headers: HeaderMap) -> Response {
    let auth = headers
        .get("authorization")
        .or_else(|| headers.get("x-api-key"))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth.ends_with(REJECTED_KEY) {
        return error_response(
            401,
            json!({"error": {"message": "invalid api key"}}).to_string(),
        );
    }
    axum::Json(json!({"object": "list", "data": [{"id": "gpt-test"}, {"id": "gpt-other"}]}))
        .into_response()
}

async fn openai(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    record(&shared, "/v1/chat/completions", headers, &body);
    let chunk = |delta: Value, finish: Option<&str>| {
        format!(
            "data: {}\n\n",
            json!({"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        )
    };
    let usage = format!(
        "data: {}\n\n",
        json!({"id": "c", "choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}})
    );
    let mut frames: Vec<(String, u64)> = Vec::new();
    let mut cut = false;
    match next_reply(&shared, &body) {
        Reply::Error { status, body } => return error_response(status, body),
        Reply::Stall => return forever(": stalled\n\n".into(), String::new()),
        Reply::Endless { text } => {
            let frame = chunk(json!({"content": text}), None).repeat(64);
            return forever(String::new(), frame);
        }
        Reply::EndlessLine => return forever("data: ".into(), "A".repeat(64 * 1024)),
        Reply::Text(t) => {
            frames.extend(
                pieces(&t)
                    .into_iter()
                    .map(|p| (chunk(json!({"content": p}), None), 0)),
            );
            frames.push((chunk(json!({}), Some("stop")), 0));
        }
        Reply::Slow { text, delay_ms } => {
            frames.extend(
                text.split_inclusive(' ')
                    .map(|p| (chunk(json!({"content": p}), None), delay_ms)),
            );
            frames.push((chunk(json!({}), Some("stop")), 0));
        }
        Reply::Reasoning { reasoning, text } => {
            frames.extend(
                pieces(&reasoning)
                    .into_iter()
                    .map(|p| (chunk(json!({"reasoning_content": p}), None), 0)),
            );
            frames.extend(
                pieces(&text)
                    .into_iter()
                    .map(|p| (chunk(json!({"content": p}), None), 0)),
            );
            frames.push((chunk(json!({}), Some("stop")), 0));
        }
        Reply::Tools { text, calls } => {
            frames.extend(
                pieces(&text)
                    .into_iter()
                    .map(|p| (chunk(json!({"content": p}), None), 0)),
            );
            for (i, (id, name, args)) in calls.iter().enumerate() {
                frames.push((chunk(json!({"tool_calls": [{"index": i, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}), None), 0));
                for p in pieces(args) {
                    frames.push((
                        chunk(
                            json!({"tool_calls": [{"index": i, "function": {"arguments": p}}]}),
                            None,
                        ),
                        0,
                    ));
                }
            }
            frames.push((chunk(json!({}), Some("tool_calls")), 0));
        }
        Reply::Drop { text } => {
            frames.extend(
                pieces(&text)
                    .into_iter()
                    .map(|p| (chunk(json!({"content": p}), None), 0)),
            );
            cut = true;
        }
    }
    if !cut {
        frames.push((usage, 0));
        frames.push(("data: [DONE]\n\n".into(), 0));
    }
    sse_response(frames, cut)
}

async fn anthropic(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    record(&shared, "/v1/messages", headers, &body);
    let ev = |v: Value| {
        (
            format!(
                "event: {}\ndata: {}\n\n",
                v["type"].as_str().unwrap_or(""),
                v
            ),
            0,
        )
    };
    let mut frames = vec![ev(
        json!({"type": "message_start", "message": {"id": "msg", "usage": {"input_tokens": 13, "output_tokens": 1}}}),
    )];
    let mut cut = false;
    let mut stop = "end_turn";
    let text_block = |frames: &mut Vec<(String, u64)>, idx: usize, kind: &str, text: &str| {
        let (start, delta_type, key) = if kind == "thinking" {
            (
                json!({"type": "thinking", "thinking": ""}),
                "thinking_delta",
                "thinking",
            )
        } else {
            (json!({"type": "text", "text": ""}), "text_delta", "text")
        };
        frames.push(ev(
            json!({"type": "content_block_start", "index": idx, "content_block": start}),
        ));
        for p in pieces(text) {
            frames.push(ev(json!({"type": "content_block_delta", "index": idx, "delta": {"type": delta_type, key: p}})));
        }
        frames.push(ev(json!({"type": "content_block_stop", "index": idx})));
    };
    match next_reply(&shared, &body) {
        Reply::Error { status, body } => return error_response(status, body),
        Reply::Stall | Reply::EndlessLine => return forever(": stalled\n\n".into(), String::new()),
        Reply::Text(t) | Reply::Slow { text: t, .. } | Reply::Endless { text: t } => {
            text_block(&mut frames, 0, "text", &t);
        }
        Reply::Reasoning { reasoning, text } => {
            text_block(&mut frames, 0, "thinking", &reasoning);
            text_block(&mut frames, 1, "text", &text);
        }
        Reply::Tools { text, calls } => {
            let mut idx = 0;
            if !text.is_empty() {
                text_block(&mut frames, 0, "text", &text);
                idx = 1;
            }
            for (id, name, args) in calls {
                frames.push(ev(json!({"type": "content_block_start", "index": idx, "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}})));
                for p in pieces(&args) {
                    frames.push(ev(json!({"type": "content_block_delta", "index": idx, "delta": {"type": "input_json_delta", "partial_json": p}})));
                }
                frames.push(ev(json!({"type": "content_block_stop", "index": idx})));
                idx += 1;
            }
            stop = "tool_use";
        }
        Reply::Drop { text } => {
            text_block(&mut frames, 0, "text", &text);
            cut = true;
        }
    }
    if !cut {
        frames.push(ev(json!({"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": 5}})));
        frames.push(ev(json!({"type": "message_stop"})));
    }
    sse_response(frames, cut)
}
