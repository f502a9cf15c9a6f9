//! A run's SSE stream from a Letta server, resumed from the last `seq_id` if the body breaks
//! before the stop reason. Every chunk reaches the caller exactly once.

use std::collections::VecDeque;

use futures_util::StreamExt;
use serde_json::json;

use super::RemoteClient;
use crate::backend::{BackendError, ChunkStream};
use crate::protocol::sse::{SseDecoder, SseEventRef};
use crate::protocol::{ErrorMessage, LettaMessage};

/// How many times one stream is re-attached before giving up.
pub const MAX_RESUMES: u32 = 8;

type Body =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

struct State {
    client: RemoteClient,
    conversation_id: String,
    agent_id: Option<String>,
    body: Option<Body>,
    decoder: SseDecoder,
    queue: VecDeque<Result<LettaMessage, BackendError>>,
    run_id: Option<String>,
    last_seq: Option<i64>,
    /// `[DONE]` or an error frame arrived: nothing more will come.
    finished: bool,
    /// The run's stop reason arrived: a body ending now is a normal end.
    stopped: bool,
    resumes: u32,
}

impl State {
    /// Turn one SSE event into a chunk (or the end).
    fn event(&mut self, ev: SseEventRef<'_>) {
        let data = ev.data.trim();
        if data == "[DONE]" {
            self.finished = true;
            return;
        }
        let chunk = match LettaMessage::from_json(data) {
            Ok(c) => c,
            Err(e) => LettaMessage::Error(ErrorMessage {
                error_type: Some("unreadable_chunk".into()),
                message: format!("the server sent a chunk letta cannot read ({e})"),
                ..Default::default()
            }),
        };
        if let Some(seq) = chunk.seq_id() {
            if self.last_seq.is_some_and(|last| seq <= last) {
                return; // Replayed after a resume: already delivered.
            }
            self.last_seq = Some(seq);
        }
        if self.run_id.is_none() {
            self.run_id = chunk.common().and_then(|c| c.run_id.clone());
        }
        let is_error_frame = ev.event == Some("error");
        self.stopped |= matches!(chunk, LettaMessage::StopReason { .. });
        self.queue.push_back(Ok(chunk));
        // Background runs send no [DONE] after an error frame: it ends the stream.
        if is_error_frame {
            self.finished = true;
        }
    }

    async fn reattach(&mut self) -> Result<(), BackendError> {
        let body = json!({"starting_after": self.last_seq.unwrap_or(0)});
        let resp = if let Some(run) = &self.run_id {
            self.client
                .post_stream(&format!("/v1/runs/{run}/stream"), &[], &body)
                .await?
        } else {
            conversation_stream(
                &self.client,
                &self.conversation_id,
                self.agent_id.as_deref(),
                self.last_seq.unwrap_or(0),
            )
            .await?
        };
        self.body = Some(Box::pin(resp.bytes_stream()));
        self.decoder = SseDecoder::new();
        Ok(())
    }
}

/// `POST /v1/conversations/{id}/stream`: follow the conversation's newest run. A real Letta
/// server reads `agent_id` (for `default`) from the body only.
async fn conversation_stream(
    client: &RemoteClient,
    conversation_id: &str,
    agent_id: Option<&str>,
    starting_after: i64,
) -> Result<reqwest::Response, BackendError> {
    let mut body = json!({ "starting_after": starting_after });
    if let Some(a) = agent_id {
        body["agent_id"] = json!(a);
    }
    client
        .post_stream(
            &format!("/v1/conversations/{conversation_id}/stream"),
            &[],
            &body,
        )
        .await
}

/// After a send whose answer was lost on the way: follow the run it started, if one appears
/// within a moment.
pub async fn attach_conversation(
    client: &RemoteClient,
    conversation_id: &str,
    agent_id: Option<&str>,
) -> Option<reqwest::Response> {
    for wait in [50u64, 200, 500, 1000] {
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
        if let Ok(r) = conversation_stream(client, conversation_id, agent_id, 0).await {
            return Some(r);
        }
    }
    None
}

/// The chunk stream of a send whose response is `resp`.
pub fn chunks(
    client: RemoteClient,
    conversation_id: String,
    agent_id: Option<String>,
    resp: reqwest::Response,
) -> ChunkStream {
    let st = State {
        client,
        conversation_id,
        agent_id,
        body: Some(Box::pin(resp.bytes_stream())),
        decoder: SseDecoder::new(),
        queue: VecDeque::new(),
        run_id: None,
        last_seq: None,
        finished: false,
        stopped: false,
        resumes: 0,
    };
    // Boxed: `unfold` moves its state in and out for every item, and a pointer is cheaper
    // to move than the state.
    Box::pin(futures_util::stream::unfold(
        Box::new(st),
        |mut st| async move {
            loop {
                if let Some(item) = st.queue.pop_front() {
                    return Some((item, st));
                }
                if st.finished {
                    return None;
                }
                let body = st.body.as_mut()?;
                match body.next().await {
                    Some(Ok(bytes)) => {
                        let mut decoder = std::mem::take(&mut st.decoder);
                        decoder.push_with(&bytes, |ev| st.event(ev));
                        let held = decoder.pending_bytes();
                        st.decoder = decoder;
                        if held > crate::protocol::sse::MAX_EVENT_BYTES {
                            st.finished = true;
                            st.body = None;
                            let e = BackendError::Network(format!(
                                "the server sent an event over {} MB without ending it; the stream was stopped",
                                crate::protocol::sse::MAX_EVENT_BYTES >> 20
                            ));
                            return Some((Err(e), st));
                        }
                    }
                    end => {
                        if st.finished || st.stopped {
                            st.finished = true;
                            continue;
                        }
                        // The body ended early (a dropped connection or an error): re-attach.
                        let cause = match end {
                            Some(Err(e)) => e.to_string(),
                            _ => "the connection closed".to_string(),
                        };
                        if st.resumes >= MAX_RESUMES {
                            st.finished = true;
                            st.body = None;
                            let e = BackendError::Network(format!(
                                "the stream broke ({cause}) and could not be resumed after {MAX_RESUMES} tries; your message was sent and is kept"
                            ));
                            return Some((Err(e), st));
                        }
                        st.resumes += 1;
                        if let Err(e) = st.reattach().await {
                            st.finished = true;
                            st.body = None;
                            let e = BackendError::Network(format!(
                                "the stream broke ({cause}) and resuming it failed: {e}; your message was sent and is kept"
                            ));
                            return Some((Err(e), st));
                        }
                    }
                }
            }
        },
    ))
}

/// How long the opening of a stream is waited on for a refusal.
const OPENING: std::time::Duration = std::time::Duration::from_millis(500);

/// A real Letta server refuses some sends with HTTP 200 and an error inside the stream
/// (`CONFLICT … waiting for approval`, fixture 26b) where our server answers 409. The stream's
/// opening is read until its first real chunk; a refusal there becomes the same error a 409
/// would have been, so recovery runs for both.
pub async fn refused_in_stream(
    mut s: ChunkStream,
    base: &str,
) -> Result<ChunkStream, BackendError> {
    let mut opening = Vec::new();
    // A refusal comes at once: a stream that pauses (a model thinking) is handed on as it is,
    // so the turn's own idle limit and Esc apply to the wait. Dropping the pending `next` loses
    // nothing: the stream keeps its place.
    while let Ok(Some(item)) = tokio::time::timeout(OPENING, s.next()).await {
        let refusal = match &item {
            Ok(LettaMessage::Error(e)) => {
                Some(e.detail.clone().unwrap_or_else(|| e.message.clone()))
            }
            Ok(LettaMessage::Ping(_) | LettaMessage::StopReason { .. }) => None,
            _ => {
                opening.push(item);
                break;
            }
        };
        if let Some(text) = refusal {
            // The server's own wording: `CONFLICT: Cannot send a new message: …`.
            if text.trim_start().starts_with("CONFLICT") {
                let run_id = text.split("run_id=").nth(1).map(|r| {
                    r.chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                        .collect::<String>()
                });
                let body = json!({ "detail": text, "run_id": run_id }).to_string();
                return Err(super::errors::from_status(base, 409, &body, None));
            }
            opening.push(item);
            break;
        }
        opening.push(item);
    }
    Ok(Box::pin(futures_util::stream::iter(opening).chain(s)))
}
