//! Live runs of this process: their chunks (for streaming and re-attaching) and cancel flags.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::backend::{BackendError, ChunkStream};
use crate::protocol::LettaMessage;

/// How many finished runs stay re-attachable.
const KEEP_FINISHED: usize = 64;

#[derive(Debug, Default)]
struct Buffer {
    chunks: Vec<LettaMessage>,
    done: bool,
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
                b.chunks.push(chunk);
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
                            let c = &b.chunks[next];
                            next += 1;
                            // Chunks without a seq_id (stop_reason, usage) always follow the others.
                            if after.is_none() || c.seq_id().is_none_or(|s| Some(s) > after) {
                                item = Some(c.clone());
                                break;
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
        self.live.fetch_sub(1, Ordering::SeqCst);
        self.idle.notify_waiters();
        let Ok(mut f) = self.finished.lock() else {
            return;
        };
        f.push_back(run_id.to_string());
        while f.len() > KEEP_FINISHED {
            if let (Some(old), Ok(mut m)) = (f.pop_front(), self.runs.lock()) {
                m.remove(&old);
            }
        }
    }
}
