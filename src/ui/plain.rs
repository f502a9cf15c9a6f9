//! The plain REPL (`letta --plain`): a line editor (rustyline on a terminal, plain lines from
//! a pipe), replies streamed as plain text, approvals answered by typing, and the same slash
//! commands, with lists shown as numbered choices. For dumb terminals, screen readers and
//! slow links.

use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::commands::{self, Cmd, Parsed};
use crate::protocol::LettaMessage;
use crate::session::history;
use crate::session::{Session, SessionStore};
use crate::turn::{ApprovalAnswer, Approver, ToolCallInfo, TurnDriver, TurnEvent};
use crate::ui::tui::{ChatSetup, Summary, cells};

/// Where lines come from: an editor on a terminal, or a pipe.
trait Lines: Send {
    /// The next line, or `None` at the end of input.
    fn read(&mut self, prompt: &str) -> Option<String>;
    fn remember(&mut self, _line: &str) {}
}

struct Editor(rustyline::DefaultEditor);

impl Lines for Editor {
    fn read(&mut self, prompt: &str) -> Option<String> {
        match self.0.readline(prompt) {
            Ok(l) => Some(l),
            // Ctrl-C on an empty line gives a fresh prompt rather than quitting.
            Err(rustyline::error::ReadlineError::Interrupted) => Some(String::new()),
            Err(_) => None,
        }
    }
    fn remember(&mut self, line: &str) {
        let _ = self.0.add_history_entry(line);
    }
}

struct Piped(std::io::Stdin);

impl Lines for Piped {
    fn read(&mut self, prompt: &str) -> Option<String> {
        print!("{prompt}");
        let _ = std::io::stdout().flush();
        let mut s = String::new();
        match self.0.lock().read_line(&mut s) {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                println!("{}", s.trim_end());
                Some(s.trim_end_matches(['\n', '\r']).to_string())
            }
        }
    }
}

type Shared = Arc<Mutex<Box<dyn Lines>>>;

async fn read(lines: &Shared, prompt: &str) -> Option<String> {
    let (lines, prompt) = (lines.clone(), prompt.to_string());
    tokio::task::spawn_blocking(move || lines.lock().ok()?.read(&prompt))
        .await
        .ok()
        .flatten()
}

/// Questions are asked on the same line source as the prompts.
struct Ask(Shared);

#[async_trait]
impl Approver for Ask {
    async fn ask(&self, call: &ToolCallInfo, reason: &str, rule: &str) -> ApprovalAnswer {
        println!(
            "? {} needs approval ({reason})",
            cells::call_title(call, std::path::Path::new(""))
        );
        let q = format!("  y = yes, a = yes and don't ask again ({rule}), n or a reason = no › ");
        match read(&self.0, &q).await.as_deref().map(str::trim) {
            Some("y" | "yes") => ApprovalAnswer::Yes,
            Some("a" | "always") => ApprovalAnswer::YesAlways(rule.to_string()),
            Some("n" | "no" | "") | None => ApprovalAnswer::No { reason: None },
            Some(why) => ApprovalAnswer::No {
                reason: Some(why.to_string()),
            },
        }
    }
}

fn print_lines(lines: &[ratatui::text::Line]) {
    let mut out = std::io::stdout().lock();
    for l in lines {
        let _ = writeln!(out, "{}", l.to_string().trim_end());
    }
}

/// Print a turn's events as plain text.
fn print_event(ev: &TurnEvent, at_line_start: &mut bool, cwd: &std::path::Path) {
    let mut out = std::io::stdout().lock();
    let mut line = |s: String, start: &mut bool| {
        if !*start {
            let _ = writeln!(out);
        }
        let _ = writeln!(out, "{s}");
        *start = true;
    };
    match ev {
        TurnEvent::Assistant { delta, .. } => {
            let text = crate::ui::safe_text::neutralise(delta);
            let _ = write!(out, "{text}");
            *at_line_start = text.ends_with('\n');
        }
        TurnEvent::Reasoning { .. } | TurnEvent::Chunk(_) | TurnEvent::AutoApproved { .. } => {}
        TurnEvent::ToolStarted { call } => {
            line(format!("⏺ {}", cells::call_title(call, cwd)), at_line_start)
        }
        TurnEvent::ToolFinished { output, .. } => {
            let text = crate::ui::safe_text::neutralise(&output.text);
            let n = text.lines().count();
            for (i, l) in text.lines().take(cells::COLLAPSED_LINES).enumerate() {
                line(
                    format!("{}{l}", if i == 0 { "  ⎿  " } else { "     " }),
                    at_line_start,
                );
            }
            if n > cells::COLLAPSED_LINES {
                line(
                    format!("     … {} more lines", n - cells::COLLAPSED_LINES),
                    at_line_start,
                );
            }
        }
        TurnEvent::Denied { call, reason } => line(
            format!("⏺ {} — not run: {reason}", cells::call_title(call, cwd)),
            at_line_start,
        ),
        TurnEvent::Error { message } => line(
            format!("✗ {}", crate::ui::safe_text::neutralise(message)),
            at_line_start,
        ),
    }
    let _ = out.flush();
}

/// Pick from a numbered list; `None` when nothing was picked.
async fn pick(lines: &Shared, items: &[(String, String)]) -> Option<String> {
    for (i, (_, label)) in items.iter().enumerate() {
        println!("  {}. {label}", i + 1);
    }
    let answer = read(lines, "number (enter to cancel) › ").await?;
    let n: usize = answer.trim().parse().ok()?;
    items.get(n.checked_sub(1)?).map(|(v, _)| v.clone())
}

/// Run the REPL until `/exit` or the end of input.
pub async fn run(setup: ChatSetup, store: SessionStore) -> std::io::Result<Summary> {
    use std::io::IsTerminal;
    let started = std::time::Instant::now();
    let hist = history::file(&setup.data_dir, &setup.cwd);
    let lines: Shared = if std::io::stdin().is_terminal() {
        let mut ed = rustyline::DefaultEditor::new().map_err(std::io::Error::other)?;
        for h in history::load(&hist) {
            let _ = ed.add_history_entry(h);
        }
        Arc::new(Mutex::new(Box::new(Editor(ed))))
    } else {
        Arc::new(Mutex::new(Box::new(Piped(std::io::stdin()))))
    };
    let driver = TurnDriver {
        backend: setup.backend.clone(),
        tools: Arc::new(crate::tools::ToolContext::new(setup.cwd.clone())),
        checker: setup.checker.clone(),
        approver: Arc::new(Ask(lines.clone())),
        project_dir: setup.cwd.clone(),
    };
    let b = &setup.banner;
    println!(
        "letta {} · agent {} · model {} · {} · conversation {}",
        b.version, b.agent, b.model, b.backend, b.conversation
    );
    println!("/help for commands, /exit to quit");
    let mut session: Session = setup.session.clone();
    let mut opts = setup.opts.clone();
    let (mut tokens_in, mut tokens_out) = (0u64, 0u64);
    // Calls an earlier process left unanswered are asked again before anything else.
    let mut waiting = match commands::pending_calls(setup.backend.as_ref(), &session).await {
        Ok(calls) => calls,
        Err(e) => {
            println!("✗ could not check for calls left waiting: {e}");
            Vec::new()
        }
    };
    if setup.browse {
        // `--resume`: choose the conversation first; nothing chosen keeps the last one.
        println!("Resume a previous conversation:");
        if let Some(cmd) = choose(Cmd::Resume(None), &setup, &session, &lines).await {
            let out = commands::run(cmd, ctx(&setup, &session)).await;
            show(out, &store, &mut session, &mut opts, &mut waiting);
        }
    }
    loop {
        let work = if !waiting.is_empty() {
            println!("This conversation was waiting for an answer:");
            Work::Pending(std::mem::take(&mut waiting))
        } else {
            let Some(input) = read(&lines, "› ").await else {
                break;
            };
            let input = input.trim().to_string();
            if input.is_empty() {
                continue;
            }
            if let Ok(mut l) = lines.lock() {
                l.remember(&input);
            }
            let _ = history::append(&hist, &input);
            if let Some(cmd) = input.strip_prefix('!') {
                shell(cmd, &setup.cwd).await;
                continue;
            }
            let Some(line) = input.strip_prefix('/') else {
                let (i, o) =
                    run_turn(&driver, &session, Work::Text(input), &opts, &setup.cwd).await;
                tokens_in += i;
                tokens_out += o;
                continue;
            };
            let cmd = match commands::parse(line) {
                Ok(Parsed::Local("exit")) => break,
                Ok(Parsed::Local("usage")) => {
                    println!("This session: {tokens_in} tokens in, {tokens_out} tokens out");
                    continue;
                }
                Ok(Parsed::Local(_)) => {
                    for (n, d) in crate::ui::tui::popup::COMMANDS {
                        println!("  /{n:<12} {d}");
                    }
                    continue;
                }
                Ok(Parsed::Send(t)) => {
                    let (i, o) =
                        run_turn(&driver, &session, Work::Text(t), &opts, &setup.cwd).await;
                    tokens_in += i;
                    tokens_out += o;
                    continue;
                }
                Ok(Parsed::Backend(c)) => c,
                Err(e) => {
                    println!("✗ {e}");
                    continue;
                }
            };
            let Some(cmd) = choose(cmd, &setup, &session, &lines).await else {
                continue;
            };
            let out = commands::run(cmd, ctx(&setup, &session)).await;
            show(out, &store, &mut session, &mut opts, &mut waiting);
            continue;
        };
        let (i, o) = run_turn(&driver, &session, work, &opts, &setup.cwd).await;
        tokens_in += i;
        tokens_out += o;
    }
    Ok(Summary {
        duration: started.elapsed(),
        tokens_in,
        tokens_out,
        agent_id: session.agent_id,
        conversation_id: session.conversation_id,
    })
}

/// Print a command's outcome; a switch moves the session on (remembered for the project) and
/// brings the calls the new conversation waits on.
fn show(
    out: commands::Outcome,
    store: &SessionStore,
    session: &mut Session,
    opts: &mut crate::turn::TurnOptions,
    waiting: &mut Vec<ToolCallInfo>,
) {
    match out {
        commands::Outcome::Lines(l) => print_lines(&l),
        commands::Outcome::ModelSet(l) => {
            opts.override_model = None;
            print_lines(&l);
        }
        commands::Outcome::Switch {
            session: next,
            lines,
            pending,
            ..
        } => {
            let _ = store.persist(&next);
            *session = next;
            print_lines(&lines);
            *waiting = pending;
        }
    }
}

/// The context a command runs in; lines are laid out 100 columns wide.
fn ctx(setup: &ChatSetup, session: &Session) -> commands::Ctx {
    commands::Ctx {
        backend: setup.backend.clone(),
        session: session.clone(),
        checker: setup.checker.clone(),
        cwd: setup.cwd.clone(),
        width: 100,
        light: false,
    }
}

/// What a turn starts from.
enum Work {
    Text(String),
    Pending(Vec<ToolCallInfo>),
}

/// A `!` command, run as the user's own.
async fn shell(cmd: &str, cwd: &std::path::Path) {
    let args = serde_json::json!({ "command": cmd }).to_string();
    let out = crate::tools::run(
        &crate::ui::tui::bash_ctx(cwd.to_path_buf()),
        "Bash",
        &args,
        &CancellationToken::new(),
    )
    .await;
    let text = crate::ui::safe_text::neutralise(&out.text);
    println!("{}{}", if out.ok { "" } else { "✗ " }, text.trim_end());
}

/// Lists become numbered choices; `None` when nothing was chosen.
async fn choose(cmd: Cmd, setup: &ChatSetup, session: &Session, lines: &Shared) -> Option<Cmd> {
    let b = setup.backend.as_ref();
    let items: Result<Vec<(String, String)>, String> = match &cmd {
        Cmd::Resume(None) => {
            let q = crate::ui::tui::overlay::conversation_query(&session.agent_id, None, None, 10);
            let default = crate::ui::tui::overlay::default_conversation(b, &session.agent_id)
                .await
                .ok()
                .flatten();
            let cur = |id: &str| {
                if id == session.conversation_id {
                    " (current)"
                } else {
                    ""
                }
            };
            b.list_conversations(q)
                .await
                .map(|list| {
                    let mut rows: Vec<(Option<String>, String, String)> = list
                        .into_iter()
                        .filter_map(|c| {
                            let at = c.last_message_at.clone()?;
                            let title = c.summary.clone().unwrap_or_default();
                            let label = format!("{}  {title}{}", c.id, cur(&c.id));
                            Some((Some(at), c.id, label))
                        })
                        .collect();
                    if let Some(d) = default {
                        let label =
                            format!("default  (the agent's default conversation){}", cur(&d.id));
                        rows.push((d.active.clone(), d.id, label));
                    }
                    let time = |t: &Option<String>| {
                        t.as_deref().and_then(crate::ui::tui::overlay::parse_time)
                    };
                    rows.sort_by_key(|r| std::cmp::Reverse(time(&r.0)));
                    rows.into_iter().map(|(_, id, label)| (id, label)).collect()
                })
                .map_err(|e| e.to_string())
        }
        Cmd::Model(None) => b
            .list_models()
            .await
            .map(|m| {
                m.into_iter()
                    .map(|m| (m.handle.clone(), m.handle))
                    .collect()
            })
            .map_err(|e| e.to_string()),
        Cmd::Agents => b
            .list_agents(Default::default())
            .await
            .map(|list| {
                list.into_iter()
                    .map(|a| {
                        let cur = if a.id == session.agent_id {
                            " (current)"
                        } else {
                            ""
                        };
                        let label = format!("{}  {}{cur}", a.id, a.name);
                        (a.id, label)
                    })
                    .collect()
            })
            .map_err(|e| e.to_string()),
        _ => return Some(cmd),
    };
    let items = match items {
        Ok(i) => i,
        Err(e) => {
            println!("✗ {e}");
            return None;
        }
    };
    let picked = pick(lines, &items).await?;
    Some(match cmd {
        Cmd::Resume(None) => Cmd::Resume(Some(picked)),
        Cmd::Model(None) => Cmd::Model(Some(picked)),
        _ => Cmd::SwitchAgent(picked),
    })
}

/// Run one turn, printing as it streams; returns the tokens in and out.
async fn run_turn(
    driver: &TurnDriver,
    session: &Session,
    work: Work,
    opts: &crate::turn::TurnOptions,
    cwd: &std::path::Path,
) -> (u64, u64) {
    let (tx, mut rx) = mpsc::unbounded_channel::<TurnEvent>();
    let cwd = cwd.to_path_buf();
    let printer = tokio::spawn(async move {
        let mut start = true;
        let (mut i, mut o) = (0, 0);
        while let Some(ev) = rx.recv().await {
            if let TurnEvent::Chunk(c) = &ev
                && let LettaMessage::Usage(u) = c.as_ref()
            {
                i += u.prompt_tokens;
                o += u.completion_tokens;
            }
            print_event(&ev, &mut start, &cwd);
        }
        if !start {
            println!();
        }
        (i, o)
    });
    let cancel = CancellationToken::new();
    let ctrl_c = {
        let c = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                c.cancel();
            }
        })
    };
    let r = match work {
        Work::Text(text) => driver.run(session, &text, opts, &tx, &cancel).await,
        Work::Pending(calls) => {
            driver
                .run_pending(session, &calls, opts, &tx, &cancel)
                .await
        }
    };
    ctrl_c.abort();
    drop(tx);
    let counts = printer.await.unwrap_or((0, 0));
    match r {
        Ok(r) if r.interrupted => println!("✗ Interrupted"),
        Ok(_) => {}
        Err(e) => println!("✗ {e}"),
    }
    counts
}
