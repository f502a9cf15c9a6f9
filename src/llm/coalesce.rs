//! Deltas that are already waiting merge into one event.
//!
//! A model streaming as fast as the network allows delivers hundreds of token events in one
//! read. Passed on one by one, each costs a message, a hub entry, a follower wake-up and a UI
//! event; merged, a read costs one of each. Nothing waits to merge: only what the provider's
//! stream has ready now, or has after the runtime's other ready tasks ran once, is joined, so a
//! slow model's tokens still show the moment they arrive.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;

use super::{LlmError, LlmEvent, LlmStream};

/// A merged delta stops growing here, so one event never holds a whole long reply.
const MAX_MERGED: usize = 64 * 1024;

/// Wrap `inner` so consecutive ready deltas of the same kind arrive as one.
pub fn coalesce(inner: LlmStream) -> LlmStream {
    Box::pin(Coalesce {
        inner,
        held: None,
        acc: None,
        yielded: false,
        ended: false,
    })
}

struct Coalesce {
    inner: LlmStream,
    /// The event that ended the last merge, to be given next.
    held: Option<Result<LlmEvent, LlmError>>,
    /// A merge waiting for the next poll (see `yielded`).
    acc: Option<LlmEvent>,
    /// The merge has let other tasks run once since the inner stream last had something.
    yielded: bool,
    /// The inner stream has ended (it is not polled again).
    ended: bool,
}

/// Append `next` to `acc` when both are deltas of the same text; otherwise hand `next` back.
fn merge(acc: &mut LlmEvent, next: LlmEvent) -> Option<LlmEvent> {
    match (acc, next) {
        (LlmEvent::Text(a), LlmEvent::Text(b))
        | (LlmEvent::Reasoning(a), LlmEvent::Reasoning(b)) => {
            a.push_str(&b);
            None
        }
        (
            LlmEvent::ToolCallArgs { index, delta },
            LlmEvent::ToolCallArgs { index: i, delta: d },
        ) if *index == i => {
            delta.push_str(&d);
            None
        }
        (_, next) => Some(next),
    }
}

fn len(ev: &LlmEvent) -> Option<usize> {
    match ev {
        LlmEvent::Text(s) | LlmEvent::Reasoning(s) | LlmEvent::ToolCallArgs { delta: s, .. } => {
            Some(s.len())
        }
        _ => None,
    }
}

impl Coalesce {
    /// The next event to start a merge from: the held one, else the inner stream's next
    /// (`Ready(None)` once it has ended; it is not polled after that).
    fn first(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<LlmEvent, LlmError>>> {
        if let Some(ev) = self.held.take() {
            return Poll::Ready(Some(ev));
        }
        if self.ended {
            return Poll::Ready(None);
        }
        let next = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(None) = next {
            self.ended = true;
        }
        next
    }
}

impl Stream for Coalesce {
    type Item = Result<LlmEvent, LlmError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let mut acc = match this.acc.take() {
            Some(acc) => acc,
            None => match std::task::ready!(this.first(cx)) {
                Some(Ok(ev)) if len(&ev).is_some() => ev,
                other => return Poll::Ready(other),
            },
        };
        while !this.ended && len(&acc).is_some_and(|n| n < MAX_MERGED) {
            match this.inner.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(next))) => {
                    this.yielded = false;
                    if let Some(other) = merge(&mut acc, next) {
                        this.held = Some(Ok(other));
                        break;
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.held = Some(Err(e));
                    break;
                }
                Poll::Ready(None) => this.ended = true,
                // An HTTP body hands over one frame at a time from the connection's task,
                // which decodes the next one when it runs: let it run once before giving
                // what we have.
                Poll::Pending if !this.yielded => {
                    this.yielded = true;
                    this.acc = Some(acc);
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Poll::Pending => break,
            }
        }
        this.yielded = false;
        Poll::Ready(Some(Ok(acc)))
    }
}

#[cfg(test)]
#[allow(clippy::unnecessary_wraps)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn text(s: &str) -> Result<LlmEvent, LlmError> {
        Ok(LlmEvent::Text(s.into()))
    }

    fn args(index: usize, s: &str) -> Result<LlmEvent, LlmError> {
        Ok(LlmEvent::ToolCallArgs {
            index,
            delta: s.into(),
        })
    }

    async fn all(evs: Vec<Result<LlmEvent, LlmError>>) -> Vec<String> {
        coalesce(Box::pin(futures_util::stream::iter(evs)))
            .map(|e| format!("{e:?}"))
            .collect()
            .await
    }

    #[tokio::test]
    async fn ready_deltas_of_one_kind_merge_and_order_is_kept() {
        let got = all(vec![
            text("a"),
            text("b"),
            Ok(LlmEvent::Reasoning("r".into())),
            Ok(LlmEvent::Reasoning("s".into())),
            text("c"),
            args(0, "{\"x\""),
            args(0, ":1}"),
            args(1, "{}"),
            Ok(LlmEvent::Done {
                finish_reason: None,
            }),
            text("late"),
        ])
        .await;
        assert_eq!(
            got,
            vec![
                "Ok(Text(\"ab\"))",
                "Ok(Reasoning(\"rs\"))",
                "Ok(Text(\"c\"))",
                "Ok(ToolCallArgs { index: 0, delta: \"{\\\"x\\\":1}\" })",
                "Ok(ToolCallArgs { index: 1, delta: \"{}\" })",
                "Ok(Done { finish_reason: None })",
                "Ok(Text(\"late\"))",
            ]
        );
    }

    #[tokio::test]
    async fn an_error_after_text_still_comes_after_it() {
        let got = all(vec![
            text("a"),
            Err(LlmError::StreamDropped {
                provider: "p".into(),
            }),
            text("b"),
        ])
        .await;
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], "Ok(Text(\"a\"))");
        assert!(got[1].starts_with("Err(StreamDropped"), "{got:?}");
        assert_eq!(got[2], "Ok(Text(\"b\"))");
    }

    #[tokio::test]
    async fn a_delta_not_yet_sent_is_not_waited_for() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut s = coalesce(Box::pin(futures_util::stream::poll_fn(move |cx| {
            rx.poll_recv(cx)
        })));
        tx.send(text("a")).unwrap();
        tx.send(text("b")).unwrap();
        assert_eq!(format!("{:?}", s.next().await), "Some(Ok(Text(\"ab\")))");
        tx.send(text("c")).unwrap();
        assert_eq!(format!("{:?}", s.next().await), "Some(Ok(Text(\"c\")))");
        drop(tx);
        assert!(s.next().await.is_none());
        assert!(s.next().await.is_none());
    }

    /// Like an HTTP body: each item is ready only after one more turn of the runtime.
    struct OneAtATime(Vec<&'static str>, bool);

    impl Stream for OneAtATime {
        type Item = Result<LlmEvent, LlmError>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.1 = !self.1;
            if self.1 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready((!self.0.is_empty()).then(|| text(self.0.remove(0))))
        }
    }

    #[tokio::test]
    async fn items_handed_over_one_per_turn_of_the_runtime_still_merge() {
        let got: Vec<String> = coalesce(Box::pin(OneAtATime(vec!["a", "b", "c"], false)))
            .map(|e| format!("{e:?}"))
            .collect()
            .await;
        assert_eq!(got, vec!["Ok(Text(\"abc\"))"]);
    }

    #[tokio::test]
    async fn a_merge_stops_at_its_cap() {
        let chunk = "x".repeat(40 * 1024);
        let got = all(vec![text(&chunk), text(&chunk), text(&chunk)]).await;
        assert_eq!(got.len(), 2);
    }
}
