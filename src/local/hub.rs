//! Live runs of this process: their chunks (for streaming and re-attaching) and cancel flags.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::backend::{BackendError, ChunkStream};
use crate::protocol::LettaMessage;

/// How many finished runs stay re-attachable...
const KEEP_FINISHED: usize = 64;
/// ...within this many bytes in all: a server's memory stays flat however long it runs.
const KEEP_FINISHED_BYTES: usize = 8 << 20;

/// A run's chunks, kept compactly: a token's text delta is a range of one shared string plus
/// its sequence number, and its other fields are shared with the other deltas of its message.
/// A 200k-token run takes a few megabytes, not hundreds.
#[derive(Debug, Default)]
struct Buffer {
    chunks: Vec<Stored>,
    /// The fields of each streamed message but its text, `seq_id` and `date`.
    templates: Vec<LettaMessage>,
    /// The dates chunks carried, each once for a run of chunks that share it.
    dates: Vec<Option<String>>,
    text: String,
    done: bool,
}

#[derive(Debug)]
enum Stored {
    Whole(Box<LettaMessage>),
    /// A text delta of the message `templates[t]`, dated `dates[d]`.
    Piece {
        t: u32,
        d: u32,
        seq: Option<i64>,
        start: usize,
        end: usize,
    },
}

/// A text delta's parts that change from chunk to chunk.
struct Varying {
    seq: Option<i64>,
    date: Option<String>,
    text: String,
}

/// A text delta split into its message's fields and what varies per chunk.
fn split(m: LettaMessage) -> Result<(LettaMessage, Varying), Box<LettaMessage>> {
    let take = |c: &mut crate::protocol::MessageCommon, text: String| Varying {
        seq: c.seq_id.take(),
        date: c.date.take(),
        text,
    };
    match m {
        LettaMessage::Assistant(mut a) => match &mut a.content {
            crate::protocol::MessageContent::Text(t) => {
                let v = take(&mut a.common, std::mem::take(t));
                Ok((LettaMessage::Assistant(a), v))
            }
            crate::protocol::MessageContent::Parts(_) => Err(Box::new(LettaMessage::Assistant(a))),
        },
        LettaMessage::Reasoning(mut r) => {
            let v = take(&mut r.common, std::mem::take(&mut r.reasoning));
            Ok((LettaMessage::Reasoning(r), v))
        }
        other => Err(Box::new(other)),
    }
}

impl Buffer {
    fn push(&mut self, m: LettaMessage) {
        match split(m) {
            Ok((template, v)) => {
                if self.templates.last() != Some(&template) {
                    self.templates.push(template);
                }
                if self.dates.last() != Some(&v.date) {
                    self.dates.push(v.date);
                }
                let start = self.text.len();
                self.text.push_str(&v.text);
                self.chunks.push(Stored::Piece {
                    t: (self.templates.len() - 1) as u32,
                    d: (self.dates.len() - 1) as u32,
                    seq: v.seq,
                    start,
                    end: self.text.len(),
                });
            }
            Err(m) => self.chunks.push(Stored::Whole(m)),
        }
    }

    fn seq(&self, i: usize) -> Option<i64> {
        match &self.chunks[i] {
            Stored::Whole(m) => m.seq_id(),
            Stored::Piece { seq, .. } => *seq,
        }
    }

    /// Chunk `i` as it was pushed.
    fn get(&self, i: usize) -> Option<LettaMessage> {
        let (t, d, seq, start, end) = match &self.chunks[i] {
            Stored::Whole(m) => return Some(m.as_ref().clone()),
            Stored::Piece {
                t,
                d,
                seq,
                start,
                end,
            } => (*t as usize, *d as usize, *seq, *start, *end),
        };
        let text = self.text.get(start..end)?.to_string();
        let date = self.dates.get(d)?.clone();
        Some(match self.templates.get(t)?.clone() {
            LettaMessage::Assistant(mut a) => {
                a.content = crate::protocol::MessageContent::Text(text);
                a.common.seq_id = seq;
                a.common.date = date;
                LettaMessage::Assistant(a)
            }
            LettaMessage::Reasoning(mut r) => {
                r.reasoning = text;
                r.common.seq_id = seq;
                r.common.date = date;
                LettaMessage::Reasoning(r)
            }
            other => other,
        })
    }

    /// Roughly what the buffer holds, for the limit on finished runs.
    fn bytes(&self) -> usize {
        self.text.len()
            + self.chunks.len() * std::mem::size_of::<Stored>()
            + self.templates.len() * 512
            + self.dates.len() * 64
    }
}

/// One run's shared state.
#[derive(Debug)]
pub struct RunChannel {
    pub conversation_id: String,
    pub cancel: AtomicBool,
    /// Wakes a run waiting on its model the moment a cancel is asked for.
    cancel_wake: tokio::sync::Notify,
    buf: Mutex<Buffer>,
    len: watch::Sender<usize>,
}

impl RunChannel {
    /// Append a chunk and wake followers.
    pub fn push(&self, chunk: LettaMessage) {
        let n = match self.buf.lock() {
            Ok(mut b) => {
                b.push(chunk);
                b.chunks.len()
            }
            Err(_) => return,
        };
        self.len.send_replace(n);
    }

    /// Mark the run finished; followers end after the last chunk.
    pub fn close(&self) {
        let n = match self.buf.lock() {
            Ok(mut b) => {
                b.done = true;
                b.chunks.len()
            }
            Err(_) => return,
        };
        self.len.send_replace(n);
    }

    /// Whether a cancel was requested.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Ask the run to stop, waking it if it waits on its model.
    pub fn request_cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.cancel_wake.notify_waiters();
    }

    /// Returns once a cancel is asked for.
    pub async fn wait_cancel(&self) {
        loop {
            let woken = self.cancel_wake.notified();
            if self.cancelled() {
                return;
            }
            woken.await;
        }
    }

    /// A stream of this run's chunks with `seq_id > after`, replayed then live.
    pub fn follow(self: &Arc<Self>, after: Option<i64>) -> ChunkStream {
        let rx = self.len.subscribe();
        let me = self.clone();
        let s = futures_util::stream::unfold(
            (me, rx, 0usize),
            move |(me, mut rx, mut next)| async move {
                loop {
                    let (item, done) = {
                        let Ok(b) = me.buf.lock() else { return None };
                        let mut item = None;
                        while next < b.chunks.len() {
                            let i = next;
                            next += 1;
                            // Chunks without a seq_id (stop_reason, usage) always follow the others.
                            if after.is_none() || b.seq(i).is_none_or(|s| Some(s) > after) {
                                item = b.get(i);
                                if item.is_some() {
                                    break;
                                }
                            }
                        }
                        (item, b.done && next >= b.chunks.len())
                    };
                    if let Some(c) = item {
                        return Some((Ok::<_, BackendError>(c), (me, rx, next)));
                    }
                    if done || rx.changed().await.is_err() {
                        return None;
                    }
                }
            },
        );
        Box::pin(s)
    }
}

/// Return the memory a long run freed to the system: glibc keeps freed small blocks in its
/// heap, so without this a process's RSS stays at its peak after one long reply.
pub fn give_back_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// All runs this process knows.
#[derive(Debug, Default)]
pub struct Hub {
    runs: Mutex<HashMap<String, Arc<RunChannel>>>,
    finished: Mutex<VecDeque<String>>,
    /// The newest run of each conversation, for re-attaching without a run id.
    latest: Mutex<HashMap<String, String>>,
    /// Runs still driving; shutdown waits for zero.
    live: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

impl Hub {
    /// Register a new run.
    pub fn open(&self, run_id: &str, conversation_id: &str) -> Arc<RunChannel> {
        let (len, _) = watch::channel(0);
        let ch = Arc::new(RunChannel {
            conversation_id: conversation_id.to_string(),
            cancel: AtomicBool::new(false),
            cancel_wake: tokio::sync::Notify::new(),
            buf: Mutex::new(Buffer::default()),
            len,
        });
        if let Ok(mut m) = self.runs.lock() {
            m.insert(run_id.to_string(), ch.clone());
        }
        if let Ok(mut l) = self.latest.lock() {
            l.insert(conversation_id.to_string(), run_id.to_string());
        }
        self.live.fetch_add(1, Ordering::SeqCst);
        ch
    }

    /// The newest run of a conversation that this process still holds.
    pub fn latest(&self, conversation_id: &str) -> Option<(String, Arc<RunChannel>)> {
        let id = self.latest.lock().ok()?.get(conversation_id).cloned()?;
        self.get(&id).map(|ch| (id, ch))
    }

    /// Ask every live run to stop.
    pub fn cancel_all(&self) {
        if let Ok(m) = self.runs.lock() {
            for ch in m.values() {
                ch.request_cancel();
            }
        }
    }

    /// Wait until no run is driving, or `timeout` passes; returns whether all finished.
    pub async fn wait_idle(&self, timeout: std::time::Duration) -> bool {
        let wait = async {
            loop {
                let notified = self.idle.notified();
                if self.live.load(Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }

    /// A run's channel, if this process ran it recently.
    pub fn get(&self, run_id: &str) -> Option<Arc<RunChannel>> {
        self.runs.lock().ok()?.get(run_id).cloned()
    }

    /// Flag every live run of a conversation for cancellation; returns how many.
    pub fn cancel_conversation(&self, conversation_id: &str) -> usize {
        let Ok(m) = self.runs.lock() else { return 0 };
        let mut n = 0;
        for ch in m.values().filter(|c| c.conversation_id == conversation_id) {
            ch.request_cancel();
            n += 1;
        }
        n
    }

    /// Remember a finished run, forgetting the oldest beyond the limit.
    pub fn retire(&self, run_id: &str) {
        let big = self
            .get(run_id)
            .and_then(|c| c.buf.lock().ok().map(|b| b.bytes() > 1 << 20))
            .unwrap_or(false);
        self.forget_finished(run_id);
        // Only after long runs: the trim walks the heap.
        if big {
            give_back_memory();
        }
    }

    fn forget_finished(&self, run_id: &str) {
        self.live.fetch_sub(1, Ordering::SeqCst);
        self.idle.notify_waiters();
        let Ok(mut f) = self.finished.lock() else {
            return;
        };
        f.push_back(run_id.to_string());
        let Ok(mut m) = self.runs.lock() else {
            return;
        };
        let size = |m: &HashMap<String, Arc<RunChannel>>, id: &String| {
            m.get(id)
                .and_then(|c| c.buf.lock().ok().map(|b| b.bytes()))
                .unwrap_or(0)
        };
        let mut total: usize = f.iter().map(|id| size(&m, id)).sum();
        // A run bigger than the whole allowance is let go at once: its messages are in the
        // store, and a process's memory must not hold a 200k-token run for nobody.
        while f.len() > KEEP_FINISHED || total > KEEP_FINISHED_BYTES {
            let Some(old) = f.pop_front() else { break };
            total = total.saturating_sub(size(&m, &old));
            m.remove(&old);
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;
    use crate::protocol::{AssistantMessage, MessageCommon, MessageContent};

    fn delta(seq: i64, id: &str, text: &str) -> LettaMessage {
        LettaMessage::Assistant(AssistantMessage {
            common: MessageCommon {
                id: Some(id.into()),
                seq_id: Some(seq),
                // A new date now and then, as the engine stamps them.
                date: Some(format!("2026-12-07T00:00:{:02}Z", seq / 10)),
                run_id: Some("run-1".into()),
                ..Default::default()
            },
            content: MessageContent::Text(text.into()),
            ..Default::default()
        })
    }

    #[tokio::test]
    async fn deltas_come_back_as_they_went_in_and_resume_after_a_seq_id() {
        let hub = Hub::default();
        let ch = hub.open("run-1", "conv-1");
        let sent: Vec<LettaMessage> = (1..=50)
            .map(|i| delta(i, if i <= 25 { "m1" } else { "m2" }, &format!("t{i} ")))
            .chain([LettaMessage::StopReason {
                stop_reason: crate::protocol::StopReason::EndTurn,
                extra: Default::default(),
            }])
            .collect();
        for m in sent.clone() {
            ch.push(m);
        }
        ch.close();
        let all: Vec<_> = ch.follow(None).map(Result::unwrap).collect().await;
        assert_eq!(all, sent);
        let after: Vec<_> = ch.follow(Some(40)).map(Result::unwrap).collect().await;
        assert_eq!(after, sent[40..]);
        // Two messages: two templates, however many tokens; a date per change.
        assert_eq!(ch.buf.lock().unwrap().templates.len(), 2);
        assert_eq!(ch.buf.lock().unwrap().dates.len(), 6);
    }

    #[test]
    fn finished_runs_are_let_go_beyond_the_byte_limit() {
        let hub = Hub::default();
        let big = "x".repeat(1 << 20);
        for r in 0..20 {
            let id = format!("run-{r}");
            let ch = hub.open(&id, "conv-1");
            ch.push(delta(1, "m", &big));
            ch.close();
            hub.retire(&id);
        }
        let kept = hub.runs.lock().unwrap().len();
        assert!(kept <= KEEP_FINISHED_BYTES / (1 << 20), "{kept} runs kept");
        assert!(
            hub.get("run-19").is_some(),
            "the newest stays while it fits"
        );
        assert!(hub.get("run-0").is_none());
        // One run over the whole allowance is not kept at all.
        let ch = hub.open("huge", "conv-1");
        ch.push(delta(1, "m", &"y".repeat(KEEP_FINISHED_BYTES + 1)));
        ch.close();
        hub.retire("huge");
        assert!(hub.get("huge").is_none());
    }
}
