//! The chat view's app: one struct holds the state, every source of events feeds one
//! [`Event`] enum, and each kind of event has its own handler (`events.rs`, `actions.rs`).

mod actions;
mod events;
mod screen;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::text::Line;
use ratatui::{Terminal, TerminalOptions, Viewport};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::backend::Tracked;
use super::overlay::{self, screen::Shown};
use super::view::ChatView;
use super::{draw, highlight, history, input, live_height, log, popup};
use crate::commands::{Cmd, Outcome};
use crate::session::Session;
use crate::session::setup::{Setup, Summary};
use crate::turn::{
    ApprovalAnswer, Approver, ToolCallInfo, TurnDriver, TurnEvent, TurnOptions, TurnResult,
};

/// Frames are drawn at most this often.
const FRAME: Duration = Duration::from_millis(16);
/// The pause in typing after which a search goes to the backend.
const SEARCH_PAUSE: Duration = Duration::from_millis(250);

/// Everything that reaches the chat loop.
pub enum Event {
    /// From the terminal; `None` when input has ended.
    Input(Option<std::io::Result<crossterm::event::Event>>),
    /// A running turn's progress.
    Turn(TurnEvent),
    TurnDone(Result<TurnResult, String>),
    /// A call needs the user's answer.
    Approval {
        call: ToolCallInfo,
        reason: String,
        rule: String,
        reply: oneshot::Sender<ApprovalAnswer>,
    },
    /// A `!` command finished.
    BashDone(Vec<Line<'static>>),
    CommandDone(Outcome),
    /// The working tree's files, for `@` completion.
    Files(Arc<Vec<String>>),
    /// Data a viewer asked for.
    Viewer(overlay::Data),
    /// The session's conversation as it was left (its last messages, calls left waiting),
    /// loaded at start.
    Resumed(Outcome),
    /// An MCP server's status changed: the status line's summary.
    Mcp(Option<String>),
    /// SIGWINCH: time to compare the terminal's size (crossterm's own event can come late).
    SizeCheck,
    /// SIGTERM or SIGHUP.
    Quit,
    /// Nothing arrived before the next frame was due.
    Tick,
}

/// What a turn starts from.
pub enum Work {
    Text(String),
    Pending(Vec<ToolCallInfo>),
}

/// Approval questions go to the app loop, which answers through a oneshot.
/// Questions go to the view one at a time: subagents running at once may all ask, and each
/// waits for the one before it to be answered.
struct UiApprover(mpsc::UnboundedSender<Event>, tokio::sync::Mutex<()>);

#[async_trait::async_trait]
impl Approver for UiApprover {
    async fn ask(&self, call: &ToolCallInfo, reason: &str, rule: &str) -> ApprovalAnswer {
        let _one_at_a_time = self.1.lock().await;
        let (reply, rx) = oneshot::channel();
        let sent = self.0.send(Event::Approval {
            call: call.clone(),
            reason: reason.to_string(),
            rule: rule.to_string(),
            reply,
        });
        if sent.is_err() {
            return ApprovalAnswer::No { reason: None };
        }
        rx.await.unwrap_or(ApprovalAnswer::No { reason: None })
    }
}

/// The chat view's state.
pub struct App {
    setup: Setup,
    started: Instant,
    no_color: bool,
    terminal: Terminal<Tracked>,
    view: ChatView,
    hist_file: std::path::PathBuf,
    driver: Arc<TurnDriver>,
    /// Events that tasks send back.
    tx: mpsc::UnboundedSender<Event>,
    rx: mpsc::UnboundedReceiver<Event>,
    turn_tx: mpsc::UnboundedSender<TurnEvent>,
    turn_rx: mpsc::UnboundedReceiver<TurnEvent>,
    input: input::Input,
    session: Session,
    opts: TurnOptions,
    cancel: Option<CancellationToken>,
    turn_task: Option<tokio::task::JoinHandle<()>>,
    /// Commands that change state wait for a running turn to end.
    deferred: Vec<Cmd>,
    /// A turn or command has run: the conversation loaded at start would now come too late.
    acted: bool,
    /// The project's files were asked for (on the first `@`, not at start).
    files_asked: bool,
    shown: Option<Shown>,
    /// A search that waits for a pause in typing.
    debounce: Option<tokio::task::JoinHandle<()>>,
    dirty: bool,
    /// Draw at once (a key), not at the next frame.
    urgent: bool,
    last_draw: Instant,
    first_frame: bool,
    last_size: (u16, u16),
    /// When the transcript is to be written again (after a resize or Ctrl+L).
    reflow_due: Option<Instant>,
    exit: bool,
}

/// The event sources the loop waits on.
struct Sources {
    winch: Signal,
    sigterm: Signal,
    sighup: Signal,
}

impl App {
    /// The app on an inline viewport at the bottom of the terminal.
    pub fn new(setup: Setup, events: Option<input::Input>) -> std::io::Result<Self> {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let (cols, rows) = crossterm::terminal::size()?;
        let terminal = Terminal::with_options(
            Tracked::new(),
            TerminalOptions {
                viewport: Viewport::Inline(live_height(rows)),
            },
        )?;
        let hist_file = history::file(&setup.data_dir, &setup.cwd);
        let mode = setup.checker.lock().map(|c| c.mode).unwrap_or_default();
        let mut view = ChatView::new(
            &setup.banner,
            setup.cwd.clone(),
            mode,
            cols,
            history::load(&hist_file),
        );
        view.light = highlight::light_background();
        let (tx, rx) = mpsc::unbounded_channel();
        let (turn_tx, turn_rx) = mpsc::unbounded_channel();
        let driver = Arc::new(TurnDriver::for_setup(
            &setup,
            Arc::new(UiApprover(tx.clone(), Default::default())),
        ));
        Ok(Self {
            session: setup.session.clone(),
            opts: setup.opts.clone(),
            started: Instant::now(),
            no_color,
            terminal,
            view,
            hist_file,
            driver,
            tx,
            rx,
            turn_tx,
            turn_rx,
            // Created after the terminal: the inline viewport asks for the cursor position first.
            input: events.unwrap_or_else(input::Input::start),
            cancel: None,
            turn_task: None,
            deferred: Vec::new(),
            acted: false,
            files_asked: false,
            shown: None,
            debounce: None,
            dirty: true,
            urgent: false,
            last_draw: Instant::now()
                .checked_sub(FRAME)
                .unwrap_or_else(Instant::now),
            first_frame: true,
            last_size: (cols, rows),
            reflow_due: None,
            exit: false,
            setup,
        })
    }

    /// Run until the user exits; the exit summary.
    pub async fn run(mut self) -> std::io::Result<Summary> {
        let mut src = Sources {
            winch: signal(SignalKind::window_change())?,
            sigterm: signal(SignalKind::terminate())?,
            sighup: signal(SignalKind::hangup())?,
        };
        self.start()?;
        while !self.exit {
            self.frame()?;
            let ev = self.next_event(&mut src).await;
            self.handle(ev).await?;
        }
        self.finish().await
    }

    /// Background work at start: the file list, the browser for `--resume`, waiting calls.
    fn start(&mut self) -> std::io::Result<()> {
        self.retitle();
        let (driver, turn_tx) = (self.driver.clone(), self.turn_tx.clone());
        tokio::spawn(async move {
            for message in driver.session_start("startup").await {
                let message = format!("hook: {message}");
                let _ = turn_tx.send(TurnEvent::Note { message });
            }
        });
        let (mcp, tx) = (self.setup.mcp.clone(), self.tx.clone());
        tokio::spawn(async move {
            let mut changes = mcp.changes();
            loop {
                if tx.send(Event::Mcp(mcp.summary())).is_err() || changes.changed().await.is_err() {
                    break;
                }
            }
        });
        if self.setup.browse {
            // The browser shows the conversation chosen there.
            return self.open_viewer(overlay::Open::Resume);
        }
        // A returning user sees where they left off (the last messages), and calls an
        // earlier process left waiting are offered again.
        let (b, s, tx) = (
            self.setup.backend.clone(),
            self.session.clone(),
            self.tx.clone(),
        );
        tokio::spawn(async move {
            let note = format!("Resumed conversation {}", s.conversation_id);
            let out = crate::commands::switch(b.as_ref(), s, note).await;
            if let Outcome::Switch(sw) = &out
                && sw.messages.is_empty()
                && sw.load_error.is_none()
            {
                return; // A new conversation: nothing to show.
            }
            let _ = tx.send(Event::Resumed(out));
        });
        Ok(())
    }

    /// Wait for the next event from any source. Keys draw at once; streams are coalesced.
    async fn next_event(&mut self, src: &mut Sources) -> Event {
        let mut wait = if self.dirty {
            FRAME.saturating_sub(self.last_draw.elapsed())
        } else if self.view.is_busy() {
            Duration::from_millis(100)
        } else {
            Duration::from_hours(1)
        };
        if let Some(due) = self.reflow_due.filter(|_| self.shown.is_none()) {
            wait = wait.min(due.saturating_duration_since(Instant::now()));
        }
        tokio::select! {
            ev = self.input.next() => Event::Input(ev),
            // With a frame pending, the turn's events wait in the channel and are taken
            // together when it is drawn: one wake-up per frame, not one per token.
            Some(ev) = self.turn_rx.recv(), if !self.dirty => Event::Turn(ev),
            Some(ev) = self.rx.recv() => ev,
            _ = src.winch.recv() => Event::SizeCheck,
            _ = src.sigterm.recv() => Event::Quit,
            _ = src.sighup.recv() => Event::Quit,
            () = tokio::time::sleep(wait) => Event::Tick,
        }
    }

    /// Draw if something changed and a frame is due.
    fn frame(&mut self) -> std::io::Result<()> {
        if self.reflow_is_due() {
            // Like a draw that fails: logged, and the next frame tries again.
            if let Err(e) = self.reflow() {
                log(
                    &self.setup.data_dir,
                    &format!("rewriting the screen failed: {e}"),
                );
            }
            return Ok(());
        }
        if !self.dirty || !(self.urgent || self.last_draw.elapsed() >= FRAME) {
            return Ok(());
        }
        self.urgent = false;
        let out = &mut std::io::stdout();
        crossterm::execute!(out, crossterm::terminal::BeginSynchronizedUpdate)?;
        let r = match &mut self.shown {
            Some(s) => s.draw(self.no_color),
            None => draw(&mut self.terminal, &mut self.view, self.no_color),
        };
        crossterm::execute!(out, crossterm::terminal::EndSynchronizedUpdate)?;
        if let Err(e) = r {
            log(&self.setup.data_dir, &format!("draw failed: {e}"));
        }
        self.dirty = false;
        self.last_draw = Instant::now();
        if let Some(s) = &mut self.shown {
            for r in s.overlay.wants() {
                self.request(r);
            }
        }
        if self.first_frame {
            self.first_frame = false;
            if std::env::var_os("LETTA_TEST_PANIC").is_some() {
                // Test hook: proves the panic hook restores the terminal.
                #[allow(clippy::panic)]
                std::panic::panic_any("forced test panic");
            }
        }
        Ok(())
    }

    /// Leave the conversation valid (interrupt a running turn and let it answer its calls),
    /// draw what is left, and put the cursor below the live area for the summary.
    async fn finish(mut self) -> std::io::Result<Summary> {
        overlay::screen::close(&mut self.shown, &mut self.terminal);
        if let (Some(c), Some(t)) = (self.cancel.take(), self.turn_task.take()) {
            c.cancel();
            self.view.approval = None;
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        self.driver.session_end("exit").await;
        // The last lines go into the scrollback; then the input box, the status line and any
        // notice ("Press Ctrl-C again") are cleared, so the exit summary follows the talk.
        let _ = draw(&mut self.terminal, &mut self.view, self.no_color);
        let area = self.terminal.get_frame().area();
        self.terminal.clear()?;
        self.terminal.set_cursor_position((0, area.top()))?;
        Ok(Summary {
            duration: self.started.elapsed(),
            tokens_in: self.view.tokens_in,
            tokens_out: self.view.tokens_out,
            conversation_id: Summary::still_there(
                self.setup.backend.as_ref(),
                self.session.conversation_id,
            )
            .await,
            agent_id: self.session.agent_id,
        })
    }

    /// List the project's files for `@` completion the first time it is typed: a walk of a big
    /// tree is not work the first frame should wait on, or memory an idle prompt should hold.
    fn want_files(&mut self) {
        if self.files_asked || !self.view.wants_files() {
            return;
        }
        self.files_asked = true;
        let (tx, root) = (self.tx.clone(), self.setup.cwd.clone());
        tokio::task::spawn_blocking(move || {
            let _ = tx.send(Event::Files(Arc::new(popup::list_files(&root))));
        });
    }

    /// Start a turn in a task; its events and end come back on the bus.
    fn start_turn(&mut self, work: Work) {
        self.acted = true;
        // Loaded while the model thinks, not at start: the prompt comes sooner and smaller.
        highlight::warm_up();
        match &work {
            Work::Text(text) => self.view.begin_turn(text),
            Work::Pending(_) => self.view.begin_pending(),
        }
        let token = CancellationToken::new();
        self.cancel = Some(token.clone());
        let (driver, session, opts, tx, ttx) = (
            self.driver.clone(),
            self.session.clone(),
            self.opts.clone(),
            self.tx.clone(),
            self.turn_tx.clone(),
        );
        self.turn_task = Some(tokio::spawn(async move {
            let r = match work {
                Work::Text(text) => driver.run(&session, &text, &opts, &ttx, &token).await,
                Work::Pending(calls) => {
                    driver
                        .run_pending(&session, &calls, &opts, &ttx, &token)
                        .await
                }
            };
            let _ = tx.send(Event::TurnDone(r.map_err(|e| e.to_string())));
        }));
    }
}
