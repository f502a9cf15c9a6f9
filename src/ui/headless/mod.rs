//! Headless mode (`letta -p`): one turn, the answer on stdout, an exit code.
//!
//! Output shapes follow Letta Code's (`text`, `json`, `stream-json`; see protocol.md).
//! [`stream_in`] is the bidirectional mode: messages and answers on stdin.

pub mod stream_in;

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::permissions::PermissionMode;
use crate::protocol::LettaMessage;
use crate::session::Session;
use crate::turn::{ToolCallInfo, TurnDriver, TurnEvent, TurnOptions, TurnResult};

/// Output formats of headless mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
    StreamJson,
}

/// Exit code of a turn the user interrupted (as for SIGINT).
pub const EXIT_INTERRUPTED: u8 = 130;

/// What the `system/init` line says about the session.
pub struct InitInfo {
    pub model: Option<String>,
    pub cwd: String,
    pub permission_mode: PermissionMode,
    /// What confines commands: `landlock` or `none`.
    pub sandbox: &'static str,
    /// `--include-partial-messages`: chunks go out as `stream_event` wrappers.
    pub partial: bool,
    /// The MCP servers and how each is doing.
    pub mcp_servers: Vec<Value>,
}

/// Stamps stream-json lines with the session id, a uuid and a timestamp.
pub(crate) struct Lines {
    session_id: String,
    out: std::io::Stdout,
}

impl Lines {
    pub(crate) fn new() -> Self {
        Self {
            session_id: uuid::Uuid::new_v4().to_string(),
            out: std::io::stdout(),
        }
    }

    pub(crate) fn emit(&mut self, mut v: Value) {
        if let Some(o) = v.as_object_mut() {
            o.insert("session_id".into(), json!(self.session_id));
            o.insert("uuid".into(), json!(uuid::Uuid::new_v4().to_string()));
            o.insert(
                "timestamp".into(),
                json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            );
        }
        let mut lock = self.out.lock();
        // A closed stdout (e.g. piped into `head`) must not crash the turn.
        let _ = writeln!(lock, "{v}");
        let _ = lock.flush();
    }
}

fn call_json(c: &ToolCallInfo) -> Value {
    json!({"tool_call_id": c.id, "name": c.name, "arguments": c.arguments})
}

/// The stream-json line for an event, if it has one.
fn event_line(ev: &TurnEvent, partial: bool) -> Option<Value> {
    Some(match ev {
        TurnEvent::Chunk(c) => match c.as_ref() {
            LettaMessage::ApprovalRequest(_)
            | LettaMessage::ApprovalResponse(_)
            | LettaMessage::Ping(_) => return None,
            other if partial => json!({"type": "stream_event", "event": other}),
            other => {
                let mut v = serde_json::to_value(other).ok()?;
                let o = v.as_object_mut()?;
                o.insert("type".into(), json!("message"));
                v
            }
        },
        TurnEvent::AutoApproved {
            call,
            reason,
            matched_rule,
        } => {
            json!({"type": "auto_approval", "tool_call": call_json(call), "reason": reason, "matched_rule": matched_rule})
        }
        TurnEvent::Denied { call, reason } => {
            json!({"type": "approval_received", "tool_call": call_json(call), "decision": "deny", "reason": reason})
        }
        TurnEvent::ToolStarted { call } => {
            json!({"type": "tool_execution_started", "tool_call": call_json(call)})
        }
        TurnEvent::ToolFinished {
            call,
            output,
            duration_ms,
        } => json!({
            "type": "tool_execution_finished", "tool_call": call_json(call),
            "status": if output.ok { "success" } else { "error" }, "tool_return": output.text, "duration_ms": duration_ms}),
        TurnEvent::Error { message } => json!({"type": "error", "message": message}),
        TurnEvent::Waiting { message } => {
            json!({"type": "system", "subtype": "waiting", "message": message})
        }
        TurnEvent::Note { message } => {
            json!({"type": "system", "subtype": "note", "message": message})
        }
        TurnEvent::Subagent {
            parent,
            label,
            event,
        } => {
            let mut v = event_line(event, partial)?;
            if let Some(o) = v.as_object_mut() {
                o.insert("parent_tool_call_id".into(), json!(parent.id));
                o.insert("subagent".into(), json!(label));
            }
            v
        }
        TurnEvent::Mode(m) => {
            json!({"type": "system", "subtype": "permission_mode", "permission_mode": m.name()})
        }
        TurnEvent::Assistant { .. } | TurnEvent::Reasoning { .. } => return None,
    })
}

/// Run one turn and print it; returns the exit code.
pub async fn run(
    driver: &TurnDriver,
    session: &Session,
    prompt: &str,
    opts: &TurnOptions,
    format: OutputFormat,
    init: InitInfo,
) -> ExitCode {
    super::stop_commands_on_signals(false);
    let started = Instant::now();
    let session_id = uuid::Uuid::new_v4().to_string();
    let (tx, mut rx) = mpsc::unbounded_channel::<TurnEvent>();
    let streaming = format == OutputFormat::StreamJson;
    let mut lines = Lines {
        session_id: session_id.clone(),
        out: std::io::stdout(),
    };
    if streaming {
        lines.emit(init_line(driver, session, &init));
    }
    let partial = init.partial;
    let printer = tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            if streaming && let Some(v) = event_line(&ev, partial) {
                lines.emit(v);
            } else if let TurnEvent::Waiting { message } | TurnEvent::Note { message } = &ev {
                eprintln!("{}", crate::ui::safe_text::neutralise(message));
            }
        }
        lines
    });
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    let signal = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });
    for message in driver.session_start("startup").await {
        let _ = tx.send(TurnEvent::Note {
            message: format!("hook: {message}"),
        });
    }
    let outcome = driver.run(session, prompt, opts, &tx, &cancel).await;
    driver.session_end("exit").await;
    signal.abort();
    drop(tx);
    let mut lines = printer.await.unwrap_or(Lines {
        session_id,
        out: std::io::stdout(),
    });
    let result = match outcome {
        Ok(r) => r,
        Err(e) => TurnResult {
            errors: vec![e.to_string()],
            ..Default::default()
        },
    };
    let duration_ms = started.elapsed().as_millis() as u64;
    let subtype = subtype(&result);
    if subtype == "error_max_turns" && !streaming {
        eprintln!("stopped: the turn reached its step limit (--max-turns)");
    }
    if !streaming {
        for e in &result.errors {
            // A provider's or server's message may carry control sequences.
            eprintln!("error: {}", crate::ui::safe_text::neutralise(e));
        }
    }
    match format {
        OutputFormat::Text => {
            if result.text.is_empty() && !result.interrupted {
                if !result.is_error() {
                    eprintln!("No assistant response found");
                }
                return ExitCode::from(1);
            }
            // Scripts get the exact text; a person's terminal never gets control sequences.
            if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                println!("{}", crate::ui::safe_text::neutralise(&result.text));
            } else {
                println!("{}", result.text);
            }
        }
        OutputFormat::Json => {
            let text = answer_or_why(&result);
            let v = json!({
                "type": "result", "subtype": subtype, "is_error": result.is_error(),
                "duration_ms": duration_ms, "duration_api_ms": result.api_duration.as_millis() as u64,
                "num_turns": result.usage.step_count, "result": text,
                "agent_id": session.agent_id, "conversation_id": session.conversation_id,
                "usage": usage_json(&result), "stop_reason": result.stop_reason,
                "errors": result.errors,
            });
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        OutputFormat::StreamJson => {
            for e in &result.errors {
                lines.emit(
                    json!({"type": "error", "message": e, "stop_reason": result.stop_reason}),
                );
            }
            lines.emit(result_line(&result, session, duration_ms));
        }
    }
    if result.interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else if result.is_error() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// A failed turn says why where a script reads the answer, as Claude Code does.
fn answer_or_why(result: &TurnResult) -> String {
    if result.text.is_empty() && result.is_error() {
        result.errors.join("\n")
    } else {
        result.text.clone()
    }
}

/// How the result line names the way the turn ended.
fn subtype(result: &TurnResult) -> &'static str {
    if result.interrupted {
        "interrupted"
    } else if result.is_error() {
        "error"
    } else if result.stop_reason == Some(crate::protocol::StopReason::MaxSteps) {
        "error_max_turns"
    } else {
        "success"
    }
}

fn usage_json(r: &TurnResult) -> Value {
    let u = &r.usage;
    json!({
        "prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens, "total_tokens": u.total_tokens,
        "step_count": u.step_count, "cached_input_tokens": u.cached_input_tokens.unwrap_or(0),
        "cache_write_tokens": u.cache_write_tokens.unwrap_or(0), "reasoning_tokens": u.reasoning_tokens.unwrap_or(0),
        "context_tokens": u.context_tokens,
    })
}

/// The `system/init` line that opens a stream-json session.
fn init_line(driver: &TurnDriver, session: &Session, init: &InitInfo) -> Value {
    json!({
        "type": "system", "subtype": "init", "agent_id": session.agent_id, "conversation_id": session.conversation_id,
        "model": init.model, "tools": driver.registry.names(), "cwd": init.cwd,
        "permission_mode": format!("{:?}", init.permission_mode).to_lowercase(), "slash_commands": Vec::<String>::new(),
        "sandbox": init.sandbox, "mcp_servers": init.mcp_servers,
    })
}

/// The `result` line that ends a turn in stream-json.
fn result_line(result: &TurnResult, session: &Session, duration_ms: u64) -> Value {
    json!({
        "type": "result", "subtype": subtype(result), "is_error": result.is_error(), "result": result.text,
        "run_ids": result.run_ids, "usage": usage_json(result), "duration_ms": duration_ms,
        "duration_api_ms": result.api_duration.as_millis() as u64, "num_turns": result.usage.step_count,
        "agent_id": session.agent_id, "conversation_id": session.conversation_id, "stop_reason": result.stop_reason,
        "errors": result.errors,
    })
}
