//! The chat view: a ratatui UI on an inline viewport. Finished transcript items go into the
//! terminal's own scrollback (`insert_before`); the live area holds the streaming message, the
//! status line and the input box.

pub mod approval;
pub mod backend;
pub mod cells;
pub mod composer;
pub mod diff;
pub mod first_run;
pub mod highlight;
pub mod input;
pub mod markdown;
pub mod outcome;
pub mod overlay;
pub mod popup;
pub mod stream;
pub mod term;
pub mod view;
pub mod wrap;

#[cfg(test)]
mod tests;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use crossterm::event::{Event, KeyEventKind};
use ratatui::backend::Backend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget};
use ratatui::{Terminal, TerminalOptions, Viewport};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::commands;
use crate::session::Session;
use crate::session::history;
pub use crate::session::setup::{Setup, Summary};
use crate::tools::ToolContext;
use crate::turn::{
    ApprovalAnswer, Approver, ToolCallInfo, TurnDriver, TurnEvent, TurnOptions, TurnResult,
};
use view::{Action, ChatView};

/// The pause in typing after which a search goes to the backend.
const SEARCH_PAUSE: Duration = Duration::from_millis(250);

/// The fetch context for the session in use (a switch changes it).
fn env_for(base: &overlay::Env, session: &Session) -> overlay::Env {
    overlay::Env {
        session: session.clone(),
        ..base.clone()
    }
}

/// Frames are drawn at most this often.
const FRAME: Duration = Duration::from_millis(16);

enum AppEvent {
    TurnDone(Result<TurnResult, String>),
    Approval {
        call: ToolCallInfo,
        reason: String,
        rule: String,
        reply: oneshot::Sender<ApprovalAnswer>,
    },
    BashDone(Vec<Line<'static>>),
    CommandDone(commands::Outcome),
    Files(Arc<Vec<String>>),
    Overlay(overlay::Data),
    /// Calls a conversation was left waiting on, found at start.
    Pending(Session, Vec<ToolCallInfo>),
}

/// What a turn starts from.
enum Work {
    Text(String),
    Pending(Vec<ToolCallInfo>),
}

/// Approval questions go to the UI loop, which answers through a oneshot.
struct UiApprover(mpsc::UnboundedSender<AppEvent>);

#[async_trait]
impl Approver for UiApprover {
    async fn ask(&self, call: &ToolCallInfo, reason: &str, rule: &str) -> ApprovalAnswer {
        let (reply, rx) = oneshot::channel();
        let sent = self.0.send(AppEvent::Approval {
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

/// Height of the live area for a terminal of `rows`.
pub fn live_height(rows: u16) -> u16 {
    (rows * 2 / 5).clamp(10, 16).min(rows)
}

/// Remove colours (for `NO_COLOR`), keeping bold, dim and the like.
pub(crate) fn strip_colors(buf: &mut Buffer) {
    for cell in buf.content.iter_mut() {
        cell.fg = Color::Reset;
        cell.bg = Color::Reset;
    }
}

/// Write pending transcript lines into scrollback, then draw the live area.
pub fn draw<B: Backend>(
    term: &mut Terminal<B>,
    view: &mut ChatView,
    no_color: bool,
) -> Result<(), B::Error> {
    // The frame's width, not the last Resize event's: a resize is applied at the next draw,
    // and text must be laid out for the width it is drawn at.
    if let Ok(size) = term.size() {
        view.width = size.width;
    }
    let mut lines = view.take_history();
    while !lines.is_empty() {
        let rest = lines.split_off(lines.len().min(200));
        let chunk = std::mem::replace(&mut lines, rest);
        let n = chunk.len() as u16;
        let kept = chunk.clone();
        let r = term.insert_before(n, |buf| {
            Paragraph::new(chunk).render(buf.area, buf);
            if no_color {
                strip_colors(buf);
            }
        });
        if let Err(e) = r {
            // Nothing is lost: what could not be written is tried again next frame.
            view.unshift_history(kept.into_iter().chain(lines).collect());
            return Err(e);
        }
    }
    term.draw(|f| {
        view.draw(f);
        if no_color {
            strip_colors(f.buffer_mut());
        }
    })?;
    Ok(())
}

fn log(data_dir: &std::path::Path, msg: &str) {
    let path = data_dir.join("letta.log");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{} {msg}", chrono::Utc::now().to_rfc3339());
    }
}

/// Run a backend command off the UI task; its outcome comes back as an event.
fn spawn_command(
    cmd: commands::Cmd,
    setup: &Setup,
    session: &crate::session::Session,
    _view: &ChatView,
    tx: &mpsc::UnboundedSender<AppEvent>,
) {
    let ctx = commands::Ctx {
        backend: setup.backend.clone(),
        session: session.clone(),
        checker: setup.checker.clone(),
    };
    let tx = tx.clone();
    tokio::spawn(async move {
        let _ = tx.send(AppEvent::CommandDone(commands::run(cmd, ctx).await));
    });
}

/// Run the chat view until the user exits. The terminal is restored before this returns.
///
/// `events` is the input stream of a screen that ran before (first run): crossterm allows
/// only one reader, and a second one would wait for input the first has taken.
pub async fn run(setup: Setup, events: Option<input::Input>) -> std::io::Result<Summary> {
    term::install_panic_hook();
    term::enable()?;
    let out = run_inner(setup, events).await;
    term::restore();
    out
}

async fn run_inner(setup: Setup, events: Option<input::Input>) -> std::io::Result<Summary> {
    let started = Instant::now();
    highlight::warm_up();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (cols, rows) = crossterm::terminal::size()?;
    let backend = backend::Tracked::new();
    let mut terminal = Terminal::with_options(
        backend,
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

    let (app_tx, mut app_rx) = mpsc::unbounded_channel::<AppEvent>();
    let (turn_tx, mut turn_rx) = mpsc::unbounded_channel::<TurnEvent>();
    let driver = Arc::new(TurnDriver {
        backend: setup.backend.clone(),
        tools: Arc::new(ToolContext::new(setup.cwd.clone())),
        registry: setup.tools.clone(),
        checker: setup.checker.clone(),
        approver: Arc::new(UiApprover(app_tx.clone())),
        project_dir: setup.cwd.clone(),
    });
    {
        let (tx, root) = (app_tx.clone(), setup.cwd.clone());
        tokio::task::spawn_blocking(move || {
            let _ = tx.send(AppEvent::Files(Arc::new(popup::list_files(&root))));
        });
    }
    // Created after the terminal: the inline viewport asks for the cursor position first.
    let mut events = events.unwrap_or_else(input::Input::start);
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sighup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut cancel: Option<CancellationToken> = None;
    let mut turn_task: Option<tokio::task::JoinHandle<()>> = None;
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    let mut first_frame = true;
    // A resize signal can be missed; the size is also checked a few times a second.
    let mut size_check = tokio::time::interval(Duration::from_millis(250));
    size_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_size = (cols, rows);
    let mut session = setup.session.clone();
    let mut opts = setup.opts.clone();
    // Commands that change state wait for a running turn to end.
    let mut deferred: Vec<commands::Cmd> = Vec::new();
    let mut urgent = false;

    let mut shown: Option<overlay::screen::Shown> = None;
    let mut debounce: Option<tokio::task::JoinHandle<()>> = None;
    let env = overlay::Env {
        backend: setup.backend.clone(),
        session: session.clone(),
        settings_file: setup.settings_file.clone(),
    };
    let fetch = |env: &overlay::Env, f: overlay::Fetch, delay: Option<Duration>| {
        let (env, tx) = (env.clone(), app_tx.clone());
        tokio::spawn(async move {
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            let _ = tx.send(AppEvent::Overlay(overlay::fetch(&env, f).await));
        })
    };
    if setup.browse {
        let (s, reqs) = overlay::screen::Shown::open(overlay::Open::Resume, &session)?;
        shown = Some(s);
        for r in reqs {
            if let overlay::Req::Fetch(f) = r {
                fetch(&env, f, None);
            }
        }
    }
    {
        // Calls an earlier process left waiting are offered again.
        let (b, s, tx, dir) = (
            setup.backend.clone(),
            session.clone(),
            app_tx.clone(),
            setup.data_dir.clone(),
        );
        tokio::spawn(async move {
            match crate::session::query::pending_calls(b.as_ref(), &s).await {
                Ok(calls) if !calls.is_empty() => {
                    let _ = tx.send(AppEvent::Pending(s, calls));
                }
                Ok(_) => {}
                Err(e) => log(
                    &dir,
                    &format!("checking for calls left waiting failed: {e}"),
                ),
            }
        });
    }

    let start_turn = |work: Work,
                      session: &crate::session::Session,
                      opts: &TurnOptions,
                      view: &mut ChatView,
                      cancel: &mut Option<CancellationToken>| {
        match &work {
            Work::Text(text) => view.begin_turn(text),
            Work::Pending(_) => view.begin_pending(),
        }
        let token = CancellationToken::new();
        *cancel = Some(token.clone());
        let (driver, session, opts, tx, ttx) = (
            driver.clone(),
            session.clone(),
            opts.clone(),
            app_tx.clone(),
            turn_tx.clone(),
        );
        tokio::spawn(async move {
            let r = match work {
                Work::Text(text) => driver.run(&session, &text, &opts, &ttx, &token).await,
                Work::Pending(calls) => {
                    driver
                        .run_pending(&session, &calls, &opts, &ttx, &token)
                        .await
                }
            };
            let _ = tx.send(AppEvent::TurnDone(r.map_err(|e| e.to_string())));
        })
    };

    loop {
        // Keys draw at once (typing must feel instant); streams are coalesced to FRAME.
        if dirty && (urgent || last_draw.elapsed() >= FRAME) {
            urgent = false;
            crossterm::execute!(
                std::io::stdout(),
                crossterm::terminal::BeginSynchronizedUpdate
            )?;
            let r = match &mut shown {
                Some(s) => s.draw(no_color),
                None => draw(&mut terminal, &mut view, no_color),
            };
            crossterm::execute!(
                std::io::stdout(),
                crossterm::terminal::EndSynchronizedUpdate
            )?;
            if let Err(e) = r {
                log(&setup.data_dir, &format!("draw failed: {e}"));
            }
            dirty = false;
            last_draw = Instant::now();
            if let Some(s) = &mut shown {
                for r in s.overlay.wants() {
                    if let overlay::Req::Fetch(f) = r {
                        fetch(&env_for(&env, &session), f, None);
                    }
                }
            }
            if first_frame {
                first_frame = false;
                if std::env::var_os("LETTA_TEST_PANIC").is_some() {
                    // Test hook: proves the panic hook restores the terminal.
                    std::panic::panic_any("forced test panic");
                }
            }
        }
        let wait = if dirty {
            FRAME.saturating_sub(last_draw.elapsed())
        } else if view.is_busy() {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(3600)
        };
        let mut actions = Vec::new();
        let mut reqs = Vec::new();
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => {
                    match &mut shown {
                        Some(s) => reqs = s.overlay.key(k),
                        None => actions = view.key(k),
                    }
                    dirty = true;
                    urgent = true;
                }
                Some(Ok(Event::Paste(s))) if shown.is_none() => { view.paste(&s); dirty = true; urgent = true; }
                Some(Ok(Event::Resize(c, r))) => {
                    last_size = (c, r);
                    view.width = c;
                    let r = match &mut shown {
                        Some(s) => s.reset(),
                        None => terminal.autoresize(),
                    };
                    if let Err(e) = r {
                        log(&setup.data_dir, &format!("resize failed: {e}"));
                    }
                    dirty = true;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => { log(&setup.data_dir, &format!("terminal input failed: {e}")); actions.push(Action::Exit); }
                None => actions.push(Action::Exit),
            },
            Some(ev) = turn_rx.recv() => {
                view.turn_event(ev);
                while let Ok(ev) = turn_rx.try_recv() {
                    view.turn_event(ev);
                }
                dirty = true;
            }
            Some(ev) = app_rx.recv() => {
                dirty = true;
                match ev {
                    AppEvent::TurnDone(r) => {
                        while let Ok(ev) = turn_rx.try_recv() {
                            view.turn_event(ev);
                        }
                        cancel = None;
                        turn_task = None;
                        if let Some(next) = view.end_turn(r) {
                            turn_task = Some(start_turn(Work::Text(next), &session, &opts, &mut view, &mut cancel));
                        } else {
                            for cmd in std::mem::take(&mut deferred) {
                                spawn_command(cmd, &setup, &session, &view, &app_tx);
                            }
                        }
                    }
                    AppEvent::Approval { call, reason, rule, reply } => {
                        if let Some(s) = &mut shown {
                            s.overlay.notify("The agent waits for your approval: esc to answer".into());
                        }
                        view.approval = Some(approval::Approval::new(call, reason, rule, &setup.cwd, view.width as usize, reply));
                    }
                    AppEvent::BashDone(lines) => view.push_lines(lines),
                    AppEvent::CommandDone(out) => {
                        let lines = outcome::lines(&out, &setup.cwd, view.width as usize, view.light);
                        view.push_lines(lines);
                        match out {
                            commands::Outcome::ModelSet { .. } => opts.override_model = None,
                            commands::Outcome::Switch(sw) => {
                                let sw = *sw;
                                if let Err(e) = setup.store.persist(&sw.session) {
                                    log(&setup.data_dir, &format!("remembering the session failed: {e}"));
                                }
                                session = sw.session;
                                if let Some(a) = sw.agent {
                                    opts.override_model = None;
                                    view.set_agent(Some(a.label), a.model);
                                }
                                if !sw.pending.is_empty() && !view.is_busy() {
                                    turn_task = Some(start_turn(Work::Pending(sw.pending), &session, &opts, &mut view, &mut cancel));
                                }
                            }
                            _ => {}
                        }
                    }
                    AppEvent::Pending(s, calls) => {
                        if s == session && !view.is_busy() {
                            turn_task = Some(start_turn(Work::Pending(calls), &session, &opts, &mut view, &mut cancel));
                        }
                    }
                    AppEvent::Overlay(d) => {
                        if let Some(s) = &mut shown {
                            reqs = s.overlay.apply(d);
                        }
                    }
                    AppEvent::Files(f) => view.set_files(f),
                }
            }
            _ = size_check.tick() => {
                if let Ok(size) = crossterm::terminal::size()
                    && size != last_size
                {
                    last_size = size;
                    dirty = true;
                    if let Some(s) = &mut shown {
                        let _ = s.reset();
                    }
                }
            }
            _ = sigterm.recv() => actions.push(Action::Exit),
            _ = sighup.recv() => actions.push(Action::Exit),
            _ = tokio::time::sleep(wait) => { dirty = true; }
        }
        for r in reqs {
            match r {
                overlay::Req::Close => overlay::screen::close(&mut shown, &mut terminal),
                overlay::Req::Fetch(f) => {
                    fetch(&env_for(&env, &session), f, None);
                }
                overlay::Req::FetchLater(f) => {
                    if let Some(d) = debounce.take() {
                        d.abort();
                    }
                    debounce = Some(fetch(&env_for(&env, &session), f, Some(SEARCH_PAUSE)));
                }
                overlay::Req::Run(cmd) => {
                    overlay::screen::close(&mut shown, &mut terminal);
                    actions.push(Action::Command(cmd));
                }
                overlay::Req::Edit {
                    label,
                    value,
                    limit,
                } => {
                    term::leave_alternate();
                    term::restore();
                    events.pause();
                    let r = overlay::screen::edit_block(
                        setup.backend.as_ref(),
                        &session.agent_id,
                        &setup.data_dir,
                        &label,
                        &value,
                        limit,
                    )
                    .await;
                    events.resume();
                    term::enable()?;
                    term::enter_alternate()?;
                    if let Some(s) = &mut shown {
                        let _ = s.reset();
                        s.overlay.notify(match r {
                            Ok(m) => m,
                            Err(e) => format!("✗ {e}"),
                        });
                        fetch(&env_for(&env, &session), overlay::Fetch::Blocks, None);
                    }
                }
            }
            dirty = true;
            urgent = true;
        }
        let mut exit = false;
        for a in actions {
            match a {
                Action::Send(text) => {
                    turn_task = Some(start_turn(
                        Work::Text(text),
                        &session,
                        &opts,
                        &mut view,
                        &mut cancel,
                    ))
                }
                Action::Open(what) => {
                    let (s, reqs) = overlay::screen::Shown::open(what, &session)?;
                    shown = Some(s);
                    for r in reqs {
                        if let overlay::Req::Fetch(f) = r {
                            fetch(&env_for(&env, &session), f, None);
                        }
                    }
                }
                Action::Bash(cmd) => {
                    let (tx, cwd, w) = (app_tx.clone(), setup.cwd.clone(), view.width as usize);
                    view.push_lines(cells::user(&format!("!{cmd}"), w));
                    tokio::spawn(async move {
                        let out = crate::tools::run_user_command(cwd, &cmd).await;
                        let lines = if out.ok {
                            cells::info(&out.text, w)
                        } else {
                            cells::error(&out.text, w)
                        };
                        let _ = tx.send(AppEvent::BashDone(lines));
                    });
                }
                Action::Interrupt => {
                    if let Some(c) = &cancel {
                        c.cancel();
                    }
                }
                Action::Mode(m) => {
                    if let Ok(mut c) = setup.checker.lock() {
                        c.mode = m;
                    }
                }
                Action::Remember(text) => {
                    if let Err(e) = history::append(&hist_file, &text) {
                        log(
                            &setup.data_dir,
                            &format!("saving input history failed: {e}"),
                        );
                    }
                }
                Action::Suspend => {
                    term::suspend()?;
                    let _ = terminal.clear();
                    dirty = true;
                }
                Action::Exit => exit = true,
                Action::Command(cmd) if view.is_busy() && cmd.waits_for_turn() => {
                    view.push_lines(cells::info(
                        "(runs when the turn ends)",
                        view.width as usize,
                    ));
                    deferred.push(cmd);
                }
                Action::Command(cmd) => spawn_command(cmd, &setup, &session, &view, &app_tx),
            }
        }
        if exit {
            overlay::screen::close(&mut shown, &mut terminal);
            break;
        }
    }
    // Leave the conversation valid: interrupt a running turn and let it answer its calls.
    if let (Some(c), Some(t)) = (cancel, turn_task) {
        c.cancel();
        view.approval = None;
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    let _ = draw(&mut terminal, &mut view, no_color);
    // Leave the cursor below the live area so the summary starts on a clean line.
    let area = terminal.get_frame().area();
    terminal.set_cursor_position((0, area.bottom().saturating_sub(1)))?;
    let mut out = std::io::stdout();
    writeln!(out)?;
    Ok(Summary {
        duration: started.elapsed(),
        tokens_in: view.tokens_in,
        tokens_out: view.tokens_out,
        agent_id: session.agent_id.clone(),
        conversation_id: session.conversation_id.clone(),
    })
}
