//! Terminal input on its own thread, handed to the UI through a channel.
//!
//! One reader for the whole process (the first-run screen hands it to the chat view), started
//! after the only cursor-position query: crossterm answers such a query through the same input
//! lock the reader holds while it waits. crossterm's `EventStream` also showed keys sitting
//! unread after a resize until the next key; a blocking `event::read` in a thread has no
//! wake-up of its own to miss.

use crossterm::event::Event;
use tokio::sync::mpsc;

/// The input events of the terminal, for as long as letta runs.
pub struct Input(mpsc::UnboundedReceiver<std::io::Result<Event>>);

impl Input {
    /// Start reading. Only one reader may exist, and the cursor position must have been asked
    /// for before (the reader holds crossterm's input lock while it waits).
    pub fn start() -> Self {
        // Set crossterm's event source up now (it watches SIGWINCH from then on): a resize
        // between the first frame and the thread's first read would otherwise be missed.
        let _ = crossterm::event::poll(std::time::Duration::ZERO);
        let (tx, rx) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            loop {
                let ev = crossterm::event::read();
                let failed = ev.is_err();
                if tx.send(ev).is_err() || failed {
                    break;
                }
            }
        });
        Self(rx)
    }

    /// The next event; `None` when input has ended.
    pub async fn next(&mut self) -> Option<std::io::Result<Event>> {
        self.0.recv().await
    }
}
