//! Building sends and reading chunk lists, for tests on any backend.

use letta::protocol::{LettaMessage, MessageCreate, SendMessageRequest, StopReason};

/// A send with one user message.
pub fn user(text: &str) -> SendMessageRequest {
    SendMessageRequest {
        messages: Some(vec![MessageCreate::user(text)]),
        ..Default::default()
    }
}

/// The assistant text of a chunk list, deltas joined.
pub fn assistant_text(chunks: &[LettaMessage]) -> String {
    chunks
        .iter()
        .filter_map(|c| match c {
            LettaMessage::Assistant(a) => Some(a.content.to_text()),
            _ => None,
        })
        .collect()
}

/// The stop reason among the chunks, if one arrived.
pub fn stop_reason(chunks: &[LettaMessage]) -> Option<StopReason> {
    chunks.iter().find_map(|c| match c {
        LettaMessage::StopReason { stop_reason, .. } => Some(stop_reason.clone()),
        _ => None,
    })
}
