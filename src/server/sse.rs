//! Writing a chunk stream as SSE, the way Letta servers do.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use crate::backend::ChunkStream;
use crate::protocol::{LettaMessage, MessageCommon, Ping};

/// How often an idle stream gets a `ping` chunk.
pub const PING_EVERY: Duration = Duration::from_secs(20);

fn data(m: &LettaMessage) -> Bytes {
    let json = serde_json::to_string(m).unwrap_or_else(|_| "{}".into());
    Bytes::from(crate::protocol::sse::encode(None, &json))
}

/// SSE frames for a run: chunks as `data:` frames, a `ping` after `ping_every` of silence,
/// errors as `event: error` frames after the stop reason (clients end on them), then
/// `data: [DONE]`.
pub fn frames(
    stream: ChunkStream,
    ping_every: Duration,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send {
    struct State {
        s: ChunkStream,
        errors: Vec<LettaMessage>,
        done: bool,
    }
    futures_util::stream::unfold(
        State {
            s: stream,
            errors: Vec::new(),
            done: false,
        },
        move |mut st| async move {
            loop {
                if st.done {
                    return None;
                }
                let next = tokio::select! {
                    n = st.s.next() => n,
                    () = tokio::time::sleep(ping_every) => {
                        let ping = LettaMessage::Ping(Ping { common: MessageCommon { id: Some(crate::local::store::new_id("ping")), ..Default::default() }, extra: Default::default() });
                        return Some((Ok(data(&ping)), st));
                    }
                };
                match next {
                    Some(Ok(m @ LettaMessage::Error(_))) => st.errors.push(m),
                    Some(Ok(m)) => return Some((Ok(data(&m)), st)),
                    Some(Err(e)) => {
                        st.errors
                            .push(LettaMessage::Error(crate::protocol::ErrorMessage {
                                error_type: Some("internal_error".into()),
                                message: e.to_string(),
                                ..Default::default()
                            }));
                    }
                    None => {
                        st.done = true;
                        let mut tail = String::new();
                        for e in &st.errors {
                            tail.push_str(&crate::protocol::sse::encode(
                                Some("error"),
                                &serde_json::to_string(e).unwrap_or_default(),
                            ));
                        }
                        tail.push_str("data: [DONE]\n\n");
                        return Some((Ok(Bytes::from(tail)), st));
                    }
                }
            }
        },
    )
}

/// Frames that are ready together go out as one write: a fast model yields many tokens per
/// network round, and fewer, larger body chunks cost every client less to read.
pub fn coalesced(
    frames: impl Stream<Item = Result<Bytes, Infallible>> + Send,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send {
    frames.ready_chunks(256).map(|batch| {
        let mut out =
            Vec::with_capacity(batch.iter().map(|b| b.as_ref().map_or(0, Bytes::len)).sum());
        for b in batch.into_iter().flatten() {
            out.extend_from_slice(&b);
        }
        Ok(Bytes::from(out))
    })
}
