//! `--input-format stream-json`: letta as a component driven by another program (the Letta
//! Agent SDK, bots). User messages arrive on stdin, one JSON per line; a call that needs
//! approval goes out as a `control_request` (`can_use_tool`) and waits for the driver's
//! `control_response`. Turns run one after another until stdin ends.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::{EXIT_INTERRUPTED, InitInfo, Lines, event_line, init_line, result_line};
use crate::session::Session;
use crate::turn::{ApprovalAnswer, Approver, ToolCallInfo, TurnDriver, TurnEvent, TurnOptions};

type Out = Arc<Mutex<Lines>>;

/// The longest stdin line read as a message.
const MAX_LINE: usize = 8 << 20;
/// Questions waiting for the driver's answer; `None` once stdin has ended (nobody will).
type Pending = Arc<Mutex<Option<HashMap<String, oneshot::Sender<ApprovalAnswer>>>>>;

fn emit(out: &Out, v: Value) {
    if let Ok(mut l) = out.lock() {
        l.emit(v);
    }
}

/// Asks the driving program, through stdout, and waits for its answer on stdin.
pub struct StreamApprover {
    out: Out,
    pending: Pending,
}

#[async_trait]
impl Approver for StreamApprover {
    async fn ask(&self, call: &ToolCallInfo, reason: &str, suggested_rule: &str) -> ApprovalAnswer {
        let request_id = format!("req-{}", uuid::Uuid::new_v4());
        let (tx, rx) = oneshot::channel();
        match self.pending.lock().as_deref_mut() {
            Ok(Some(p)) => {
                p.insert(request_id.clone(), tx);
            }
            // Input has ended: nobody will answer.
            _ => {
                return ApprovalAnswer::No {
                    reason: Some(
                        "The driving program closed its input; no one can approve this call."
                            .into(),
                    ),
                };
            }
        }
        emit(
            &self.out,
            json!({"type": "control_request", "request_id": request_id, "request": {
                "subtype": "can_use_tool", "tool_name": call.name, "input": call.args(),
                "tool_call_id": call.id, "reason": reason, "suggested_rule": suggested_rule}}),
        );
        rx.await.unwrap_or(ApprovalAnswer::No {
            reason: Some("The driving program closed its input before answering.".into()),
        })
    }
}

/// What one stdin line asks for.
enum Input {
    User(String),
    Interrupt(String),
    Initialize(String),
}

/// The text of a `user` line: `message.content` as a string or text parts, or `message` itself
/// as a string.
fn user_text(v: &Value) -> Option<String> {
    let m = v.get("message")?;
    let content = m.get("content").unwrap_or(m);
    match content {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        _ => None,
    }
}

/// The driver's answer to `can_use_tool`.
fn answer_of(resp: &Value) -> ApprovalAnswer {
    let r = resp.get("response").unwrap_or(&Value::Null);
    let message = r.get("message").and_then(Value::as_str).map(str::to_string);
    match r.get("behavior").and_then(Value::as_str) {
        Some("allow") => match r.get("updatedInput") {
            Some(v @ Value::Object(_)) => ApprovalAnswer::YesWith(v.to_string()),
            None | Some(Value::Null) => ApprovalAnswer::Yes,
            Some(_) => ApprovalAnswer::No {
                reason: Some("The driving program's updatedInput was not a JSON object; the call was not run.".into()),
            },
        },
        _ => ApprovalAnswer::No {
            reason: message.or_else(|| Some("The driving program denied this call.".into())),
        },
    }
}

/// The next line and its length; a line longer than [`MAX_LINE`] is read to its end but not
/// kept (its text comes back empty), so a driver cannot fill memory. `None` at the end.
async fn next_line(r: &mut (impl tokio::io::AsyncBufRead + Unpin)) -> Option<(String, usize)> {
    let (mut kept, mut len) = (Vec::new(), 0usize);
    loop {
        let buf = r.fill_buf().await.ok()?;
        if buf.is_empty() {
            return (len > 0).then(|| (String::from_utf8_lossy(&kept).into_owned(), len));
        }
        let (chunk, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        len += chunk.len();
        if len <= MAX_LINE {
            kept.extend_from_slice(chunk);
        } else {
            kept = Vec::new();
        }
        let used = done.unwrap_or(buf.len());
        r.consume(used);
        if done.is_some() {
            return Some((String::from_utf8_lossy(&kept).into_owned(), len));
        }
    }
}

/// Read stdin: user messages and control requests go to the loop, answers to their waiter.
fn read_stdin(out: Out, pending: Pending, to_loop: mpsc::UnboundedSender<Input>) {
    tokio::spawn(async move {
        let mut input = tokio::io::BufReader::new(tokio::io::stdin());
        let mut n = 0u64;
        while let Some((line, len)) = next_line(&mut input).await {
            n += 1;
            if len > MAX_LINE {
                emit(
                    &out,
                    json!({"type": "error", "message": format!(
                    "stdin line {n} is {} MB, over the {} MB a line may hold; it was not run",
                    len >> 20, MAX_LINE >> 20)}),
                );
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = match serde_json::from_str(&line) {
                Ok(v) => v,
                Err(e) => {
                    emit(
                        &out,
                        json!({"type": "error", "message": format!("stdin line {n} is not valid JSON ({e}); it was ignored")}),
                    );
                    continue;
                }
            };
            let id = |v: &Value| {
                v.get("request_id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            match v.get("type").and_then(Value::as_str) {
                Some("user") if v.pointer("/message/role").is_some_and(|r| r != "user") => emit(
                    &out,
                    json!({"type": "error", "message": format!("stdin line {n}: a user line's message.role must be \"user\"")}),
                ),
                Some("control_request" | "control_response")
                    if id(v.get("response").unwrap_or(&v)).is_empty() =>
                {
                    emit(
                        &out,
                        json!({"type": "error", "message": format!("stdin line {n}: a {} needs a request_id", v["type"].as_str().unwrap_or(""))}),
                    );
                }
                Some("user") => match user_text(&v) {
                    Some(t) if !t.trim().is_empty() => {
                        let _ = to_loop.send(Input::User(t));
                    }
                    _ => emit(
                        &out,
                        json!({"type": "error", "message": format!("stdin line {n}: a user line needs message.content text")}),
                    ),
                },
                Some("control_request") => {
                    let rid = id(&v);
                    match v.pointer("/request/subtype").and_then(Value::as_str) {
                        Some("interrupt") => {
                            let _ = to_loop.send(Input::Interrupt(rid));
                        }
                        Some("initialize") => {
                            let _ = to_loop.send(Input::Initialize(rid));
                        }
                        other => emit(
                            &out,
                            json!({"type": "control_response", "response": {
                            "subtype": "error", "request_id": rid,
                            "error": format!("unsupported control request {:?}", other.unwrap_or(""))}}),
                        ),
                    }
                }
                Some("control_response") => {
                    let resp = v.get("response").cloned().unwrap_or(Value::Null);
                    let rid = id(&resp);
                    let waiter = pending
                        .lock()
                        .ok()
                        .and_then(|mut p| p.as_mut().and_then(|p| p.remove(&rid)));
                    match waiter {
                        Some(w) => {
                            let _ = w.send(answer_of(&resp));
                        }
                        None => emit(
                            &out,
                            json!({"type": "error", "message": format!("stdin line {n}: no request {rid:?} is waiting for an answer")}),
                        ),
                    }
                }
                other => emit(
                    &out,
                    json!({"type": "error", "message": format!("stdin line {n}: unknown type {:?}", other.unwrap_or(""))}),
                ),
            }
        }
        // Input ended: nobody will answer what is waiting, or what is asked from now on.
        if let Ok(mut p) = pending.lock() {
            *p = None;
        }
    });
}

/// Run turns from stdin until it ends; the exit code is the last turn's.
pub async fn run(
    make_driver: impl FnOnce(Arc<dyn Approver>) -> TurnDriver,
    session: &Session,
    first: Option<String>,
    opts: &TurnOptions,
    init: InitInfo,
) -> ExitCode {
    super::super::stop_commands_on_signals(false);
    let out: Out = Arc::new(Mutex::new(Lines::new()));
    let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));
    let driver = make_driver(Arc::new(StreamApprover {
        out: out.clone(),
        pending: pending.clone(),
    }));
    emit(&out, init_line(&driver, session, &init));
    for message in driver.session_start("startup").await {
        emit(
            &out,
            json!({"type": "system", "subtype": "note", "message": format!("hook: {message}")}),
        );
    }
    let (tx, mut inputs) = mpsc::unbounded_channel();
    read_stdin(out.clone(), pending, tx);
    let mut queue: std::collections::VecDeque<String> = first.into_iter().collect();
    let mut code = ExitCode::SUCCESS;
    let mut ended = false;
    loop {
        let Some(text) = queue.pop_front() else {
            if ended {
                driver.session_end("exit").await;
                return code;
            }
            match inputs.recv().await {
                Some(Input::User(t)) => queue.push_back(t),
                Some(Input::Interrupt(rid)) => answer_ok(&out, &rid, json!({"interrupted": false})),
                Some(Input::Initialize(rid)) => {
                    answer_ok(&out, &rid, init_line(&driver, session, &init));
                }
                None => ended = true,
            }
            continue;
        };
        let cancel = CancellationToken::new();
        let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<TurnEvent>();
        let printer = {
            let out = out.clone();
            let partial = init.partial;
            tokio::spawn(async move {
                while let Some(ev) = ev_rx.recv().await {
                    if let Some(v) = event_line(&ev, partial) {
                        emit(&out, v);
                    }
                }
            })
        };
        let started = Instant::now();
        let outcome = {
            let turn = driver.run(session, &text, opts, &ev_tx, &cancel);
            tokio::pin!(turn);
            loop {
                tokio::select! {
                    r = &mut turn => break r,
                    input = inputs.recv(), if !ended => match input {
                        Some(Input::User(t)) => queue.push_back(t),
                        Some(Input::Interrupt(rid)) => {
                            cancel.cancel();
                            answer_ok(&out, &rid, json!({"interrupted": true}));
                        }
                        Some(Input::Initialize(rid)) => answer_ok(&out, &rid, init_line(&driver, session, &init)),
                        None => ended = true,
                    },
                }
            }
        };
        drop(ev_tx);
        let _ = printer.await;
        let result = outcome.unwrap_or_else(|e| crate::turn::TurnResult {
            errors: vec![e.to_string()],
            ..Default::default()
        });
        for e in &result.errors {
            emit(
                &out,
                json!({"type": "error", "message": e, "stop_reason": result.stop_reason}),
            );
        }
        emit(
            &out,
            result_line(&result, session, started.elapsed().as_millis() as u64),
        );
        code = if result.interrupted {
            ExitCode::from(EXIT_INTERRUPTED)
        } else if result.is_error() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        };
    }
}

fn answer_ok(out: &Out, request_id: &str, response: Value) {
    emit(
        out,
        json!({"type": "control_response", "response": {"subtype": "success", "request_id": request_id, "response": response}}),
    );
}
