//! Headless mode (`letta -p`): one turn, the answer on stdout, an exit code.

use std::process::ExitCode;
use std::time::Instant;

use futures_util::StreamExt;
use serde_json::json;

use crate::backend::{Backend, BackendError};
use crate::cli::{OutputFormat, SessionArgs};
use crate::protocol::{
    DEFAULT_CONVERSATION, LettaMessage, MessageCreate, SendMessageRequest, StopReason,
    UsageStatistics,
};
use crate::session::Session;

/// The outcome of a headless turn.
#[derive(Debug, Default)]
pub struct TurnOutput {
    pub text: String,
    pub stop_reason: Option<StopReason>,
    pub usage: UsageStatistics,
    pub errors: Vec<String>,
    pub duration_ms: u128,
}

/// Send `prompt` and collect the reply.
pub async fn run_turn(
    backend: &dyn Backend,
    session: &Session,
    prompt: &str,
    args: &SessionArgs,
) -> Result<TurnOutput, BackendError> {
    let started = Instant::now();
    let req = SendMessageRequest {
        messages: Some(vec![MessageCreate::user(prompt)]),
        streaming: Some(true),
        stream_tokens: Some(true),
        background: Some(true),
        override_model: args.model.clone(),
        agent_id: (session.conversation_id == DEFAULT_CONVERSATION)
            .then(|| session.agent_id.clone()),
        max_steps: args.max_turns,
        ..Default::default()
    };
    let mut stream = backend.send_message(&session.conversation_id, req).await?;
    let mut out = TurnOutput::default();
    while let Some(chunk) = stream.next().await {
        match chunk? {
            LettaMessage::Assistant(a) => out.text.push_str(&a.content.to_text()),
            LettaMessage::Error(e) => out.errors.push(e.message),
            LettaMessage::StopReason { stop_reason, .. } => out.stop_reason = Some(stop_reason),
            LettaMessage::Usage(u) => out.usage = u,
            _ => {}
        }
    }
    out.duration_ms = started.elapsed().as_millis();
    Ok(out)
}

/// Print in the chosen format; returns the exit code.
pub fn print(out: &TurnOutput, session: &Session, format: OutputFormat) -> ExitCode {
    let failed =
        !out.errors.is_empty() || out.stop_reason.as_ref().is_some_and(StopReason::is_error);
    for e in &out.errors {
        eprintln!("error: {e}");
    }
    match format {
        OutputFormat::Text => {
            if out.text.is_empty() {
                if !failed {
                    eprintln!("No assistant response found");
                }
                return ExitCode::from(1);
            }
            println!("{}", out.text);
        }
        OutputFormat::Json | OutputFormat::StreamJson => {
            let v = json!({
                "type": "result",
                "subtype": if failed { "error" } else { "success" },
                "is_error": failed,
                "duration_ms": out.duration_ms,
                "num_turns": out.usage.step_count,
                "result": out.text,
                "agent_id": session.agent_id,
                "conversation_id": session.conversation_id,
                "usage": out.usage,
                "stop_reason": out.stop_reason,
            });
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
