//! Consuming one run's chunk stream: deltas merged by `otid`, tool calls by `tool_call_id`.

use std::collections::HashMap;

use futures_util::StreamExt;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::{ToolCallInfo, TurnEvent};
use crate::backend::{BackendError, ChunkStream};
use crate::protocol::{LettaMessage, StopReason, UsageStatistics};

/// What one run produced.
#[derive(Debug, Default)]
pub struct RunOutcome {
    pub run_id: Option<String>,
    /// Client tool calls waiting for an answer, in the order they began.
    pub calls: Vec<ToolCallInfo>,
    pub stop: Option<StopReason>,
    pub usage: Option<UsageStatistics>,
    /// Assistant text per `otid`, and the order the otids appeared in.
    pub texts: Vec<(String, String)>,
    pub errors: Vec<String>,
    /// The user cancelled while the run streamed.
    pub cancelled: bool,
    /// The stream ended without a stop reason (connection lost).
    pub truncated: bool,
}

/// Read the stream to its end, forwarding events. On `cancel`, `on_cancel` runs once (it asks
/// the backend to stop) and the stream is read on until the run says it stopped.
/// How long a stream may send nothing at all (servers ping every 20 s).
const STREAM_IDLE: std::time::Duration = std::time::Duration::from_mins(5);
/// How long a cancelled run has to end its stream.
const CANCEL_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

pub async fn consume(
    mut stream: ChunkStream,
    events: &UnboundedSender<TurnEvent>,
    cancel: &CancellationToken,
    text_chunks: bool,
    on_cancel: impl AsyncFnOnce(),
) -> RunOutcome {
    let mut out = RunOutcome::default();
    let mut texts = Texts::default();
    let mut on_cancel = Some(on_cancel);
    let mut cancelled_at: Option<std::time::Instant> = None;
    loop {
        // After a cancel the run gets a moment to end on its own; a stream that sends nothing
        // at all for long is given up (the server pings, the engine stops a silent model).
        let wait = match cancelled_at {
            Some(at) => CANCEL_GRACE.saturating_sub(at.elapsed()),
            None => STREAM_IDLE,
        };
        // A chunk already waiting is taken without arming the timer and the cancel waiter:
        // a fast stream has one waiting nearly every time.
        let ready = if cancel.is_cancelled() && on_cancel.is_some() {
            None
        } else {
            futures_util::FutureExt::now_or_never(stream.next())
        };
        let next = if let Some(n) = ready {
            Ok(n)
        } else {
            tokio::select! {
            biased;
            () = cancel.cancelled(), if on_cancel.is_some() => {
                out.cancelled = true;
                cancelled_at = Some(std::time::Instant::now());
                if let Some(f) = on_cancel.take() {
                    f().await;
                }
                continue;
            }
            n = tokio::time::timeout(wait, stream.next()) => n,
            }
        };
        let Ok(next) = next else {
            if cancelled_at.is_none() {
                out.errors.push(format!(
                    "the stream sent nothing for {} s and was given up",
                    STREAM_IDLE.as_secs()
                ));
                out.truncated = true;
            }
            break;
        };
        let chunk = match next {
            None => break,
            Some(Err(e)) => {
                out.errors.push(e.to_string());
                out.truncated = !matches!(e, BackendError::Busy { .. });
                break;
            }
            Some(Ok(c)) => c,
        };
        if out.run_id.is_none() {
            out.run_id = chunk.common().and_then(|c| c.run_id.clone());
        }
        let text = matches!(
            chunk,
            LettaMessage::Assistant(_) | LettaMessage::Reasoning(_)
        );
        if text_chunks || !text {
            let _ = events.send(TurnEvent::Chunk(Box::new(chunk.clone())));
        }
        texts.take(chunk, &mut out, events);
    }
    if out.stop.is_none() && !out.cancelled {
        out.truncated = true;
    }
    out
}

/// Where each message's text goes in [`RunOutcome::texts`].
#[derive(Default)]
struct Texts {
    index: HashMap<String, usize>,
    /// Deltas of one message come in a row: the map is for when they do not.
    last: Option<usize>,
}

impl Texts {
    /// Take in one chunk: text to its message and on to the view, the rest to `out`.
    fn take(
        &mut self,
        chunk: LettaMessage,
        out: &mut RunOutcome,
        events: &UnboundedSender<TurnEvent>,
    ) {
        match chunk {
            LettaMessage::Assistant(mut a) => {
                let otid = a
                    .common
                    .otid
                    .take()
                    .or(a.common.id.take())
                    .unwrap_or_default();
                let delta = match a.content {
                    crate::protocol::MessageContent::Text(t) => t,
                    parts @ crate::protocol::MessageContent::Parts(_) => parts.to_text(),
                };
                let i = match self.last {
                    Some(i) if out.texts[i].0 == otid => i,
                    _ => *self.index.entry(otid.clone()).or_insert_with(|| {
                        out.texts.push((otid.clone(), String::new()));
                        out.texts.len() - 1
                    }),
                };
                self.last = Some(i);
                out.texts[i].1.push_str(&delta);
                let _ = events.send(TurnEvent::Assistant { otid, delta });
            }
            LettaMessage::Reasoning(mut r) => {
                let otid = r
                    .common
                    .otid
                    .take()
                    .or(r.common.id.take())
                    .unwrap_or_default();
                let _ = events.send(TurnEvent::Reasoning {
                    otid,
                    delta: r.reasoning,
                });
            }
            LettaMessage::ApprovalRequest(m) => {
                for d in m.calls() {
                    merge_delta(&mut out.calls, d);
                }
            }
            LettaMessage::Error(e) => {
                let _ = events.send(TurnEvent::Error {
                    message: e.message.clone(),
                });
                out.errors.push(e.message);
            }
            LettaMessage::StopReason { stop_reason, .. } => out.stop = Some(stop_reason),
            LettaMessage::Usage(u) => out.usage = Some(u),
            _ => {}
        }
    }
}

/// Add one streamed piece of a tool call to `calls`: the call it names gets its name (when the
/// piece has one) and the next part of its arguments.
pub fn merge_delta(calls: &mut Vec<ToolCallInfo>, d: &crate::protocol::ToolCallDelta) {
    let Some(id) = d.tool_call_id.as_deref() else {
        return;
    };
    let i = if let Some(i) = calls.iter().position(|c| c.id == id) {
        i
    } else {
        calls.push(ToolCallInfo {
            id: id.to_string(),
            name: String::new(),
            arguments: String::new(),
        });
        calls.len() - 1
    };
    let call = &mut calls[i];
    if let Some(n) = d.name.as_deref().filter(|n| !n.is_empty()) {
        call.name = n.to_string();
    }
    if let Some(a) = &d.arguments {
        call.arguments.push_str(a);
    }
}
