//! Terminal input on its own thread, handed to the UI through a channel.
//!
//! One reader for the whole process (the first-run screen hands it to the chat view), started
//! after the only cursor-position query: crossterm answers such a query through the same input
//! lock the reader holds while it waits. crossterm's `EventStream` also showed keys sitting
//! unread after a resize until the next key; a blocking `event::read` in a thread has no
//! wake-up of its own to miss.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crossterm::event::Event;
use tokio::sync::mpsc;

/// Whether the reader must leave the terminal alone (an editor has it), and whether it does.
#[derive(Default)]
struct Gate {
    state: Mutex<(bool, bool)>,
    changed: Condvar,
}

/// The input events of the terminal, for as long as letta runs.
pub struct Input {
    rx: mpsc::UnboundedReceiver<std::io::Result<Event>>,
    gate: Arc<Gate>,
}

impl Input {
    /// Start reading. Only one reader may exist, and the cursor position must have been asked
    /// for before (the reader holds crossterm's input lock while it waits).
    pub fn start() -> Self {
        // Set crossterm's event source up now (it watches SIGWINCH from then on): a resize
        // between the first frame and the thread's first read would otherwise be missed.
        let _ = crossterm::event::poll(Duration::ZERO);
        let (tx, rx) = mpsc::unbounded_channel();
        let gate = Arc::new(Gate::default());
        let g = gate.clone();
        std::thread::spawn(move || {
            loop {
                if let Ok(mut st) = g.state.lock()
                    && st.0
                {
                    st.1 = true;
                    g.changed.notify_all();
                    while st.0 {
                        st = match g.changed.wait(st) {
                            Ok(s) => s,
                            Err(_) => return,
                        };
                    }
                    st.1 = false;
                }
                // Blocks until there is input: no wake-ups while idle. A pause wakes it with
                // a SIGWINCH, which crossterm turns into a resize event.
                let ev = crossterm::event::read();
                let failed = ev.is_err();
                if tx.send(ev).is_err() || failed {
                    break;
                }
            }
        });
        Self { rx, gate }
    }

    /// The next event; `None` when input has ended.
    pub async fn next(&mut self) -> Option<std::io::Result<Event>> {
        self.rx.recv().await
    }

    /// Stop reading the terminal (a child such as an editor needs it); returns once the
    /// reader has let go.
    pub fn pause(&self) {
        let Ok(mut st) = self.gate.state.lock() else {
            return;
        };
        st.0 = true;
        // SAFETY: signalling ourselves; crossterm handles SIGWINCH, waking its blocked read.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGWINCH);
        }
        while !st.1 {
            match self.gate.changed.wait_timeout(st, Duration::from_secs(1)) {
                Ok((s, t)) if !t.timed_out() => st = s,
                _ => return,
            }
        }
    }

    /// Read the terminal again.
    pub fn resume(&self) {
        if let Ok(mut st) = self.gate.state.lock() {
            st.0 = false;
        }
        self.gate.changed.notify_all();
    }
}
