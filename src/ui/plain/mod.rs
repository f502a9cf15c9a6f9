//! The plain REPL (`letta --plain`): a line editor (rustyline on a terminal, plain lines from
//! a pipe), replies streamed as plain text, approvals answered by typing, and the same slash
//! commands, with lists shown as numbered choices. For dumb terminals, screen readers and
//! slow links.

mod choose;
mod lines;
mod render;

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::commands::{self, Cmd, Local, Outcome, Parsed, table};
use crate::protocol::LettaMessage;
use crate::session::setup::{Setup, Summary};
use crate::session::{Session, history};
use crate::turn::{ApprovalAnswer, Approver, ToolCallInfo, TurnDriver, TurnEvent, TurnOptions};
use crate::ui::safe_text::neutralise;
use lines::{Shared, read};

/// Questions are asked on the same line source as the prompts, one at a time (subagents
/// running at once may all ask).
struct Ask(Shared, tokio::sync::Mutex<()>);

#[async_trait]
impl Approver for Ask {
    async fn ask(&self, call: &ToolCallInfo, reason: &str, rule: &str) -> ApprovalAnswer {
        let _one_at_a_time = self.1.lock().await;
        if call.name == crate::tools::EXIT_PLAN_MODE {
            return ask_plan(&self.0, call).await;
        }
        println!(
            "? {} needs approval ({})",
            render::title(call, Path::new("")),
            neutralise(reason)
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

/// The plan, then: a = approve and accept edits, y = approve and ask before edits, or what
/// to change (keep planning).
async fn ask_plan(lines: &Shared, call: &ToolCallInfo) -> ApprovalAnswer {
    let plan = call
        .args()
        .get("plan")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .to_string();
    println!("? The agent's plan:\n{}", neutralise(&plan));
    let q = "  a = approve and accept edits, y = approve and ask before edits, or say what to change › ";
    match read(lines, q).await.as_deref().map(str::trim) {
        Some("a") => ApprovalAnswer::YesInMode(crate::permissions::PermissionMode::AcceptEdits),
        Some("y" | "yes") => {
            ApprovalAnswer::YesInMode(crate::permissions::PermissionMode::Standard)
        }
        Some("n" | "no" | "") | None => ApprovalAnswer::No { reason: None },
        Some(why) => ApprovalAnswer::No {
            reason: Some(why.to_string()),
        },
    }
}

/// What a turn starts from.
enum Work {
    Text(String),
    Pending(Vec<ToolCallInfo>),
}

/// The REPL's state between lines.
struct Repl {
    setup: Setup,
    driver: TurnDriver,
    lines: Shared,
    session: Session,
    opts: TurnOptions,
    /// Calls the conversation waits on, asked before the next prompt.
    waiting: Vec<ToolCallInfo>,
    tokens: (u64, u64),
    /// The next prompt starts with this (a message a branch was cut before).
    draft: String,
}

/// Run the REPL until `/exit` or the end of input.
pub async fn run(setup: Setup) -> std::io::Result<Summary> {
    use std::io::IsTerminal;
    let started = std::time::Instant::now();
    super::stop_commands_on_signals(false);
    let hist = history::file(&setup.data_dir, &setup.cwd);
    let lines: Shared = if std::io::stdin().is_terminal() {
        Arc::new(Mutex::new(Box::new(lines::Editor::new(&history::load(
            &hist,
        ))?)))
    } else {
        Arc::new(Mutex::new(Box::new(lines::Piped(std::io::stdin()))))
    };
    let driver = TurnDriver::for_setup(&setup, Arc::new(Ask(lines.clone(), Default::default())));
    let b = &setup.banner;
    println!(
        "letta {} · agent {} · model {} · {} · conversation {}",
        b.version,
        neutralise(&b.agent),
        b.model,
        b.backend,
        b.conversation
    );
    if !b.sandbox.is_empty() {
        println!("commands: {}", b.sandbox);
    }
    if !b.instructions.is_empty() {
        println!("instructions: {}", neutralise(&b.instructions));
    }
    println!("/help for commands, /exit to quit");
    for n in driver.session_start("startup").await {
        println!("… hook: {}", neutralise(&n));
    }
    let mut repl = Repl {
        session: setup.session.clone(),
        opts: setup.opts.clone(),
        setup,
        driver,
        lines,
        waiting: Vec::new(),
        tokens: (0, 0),
        draft: String::new(),
    };
    let chosen = repl.setup.browse && {
        // `--resume`: choose the conversation first; nothing chosen keeps the last one.
        println!("Resume a previous conversation:");
        let before = repl.session.clone();
        repl.command(Cmd::Resume(None)).await;
        repl.session != before
    };
    if !chosen {
        // Where the user left off: the last messages, and calls an earlier process left
        // unanswered, asked again before anything else.
        let note = format!("Resumed conversation {}", repl.session.conversation_id);
        let out =
            crate::commands::switch(repl.setup.backend.as_ref(), repl.session.clone(), note).await;
        if let Outcome::Switch(sw) = &out {
            if !sw.messages.is_empty() || sw.load_error.is_some() {
                println!("{}", render::outcome(&out, &repl.setup.cwd));
            }
            repl.waiting.clone_from(&sw.pending);
        }
    }
    while repl.step(&hist).await {}
    repl.driver.session_end("exit").await;
    Ok(Summary {
        duration: started.elapsed(),
        tokens_in: repl.tokens.0,
        tokens_out: repl.tokens.1,
        conversation_id: Summary::still_there(
            repl.setup.backend.as_ref(),
            repl.session.conversation_id,
        )
        .await,
        agent_id: repl.session.agent_id,
    })
}

impl Repl {
    /// One prompt (or the calls left waiting); `false` at the end.
    async fn step(&mut self, hist: &Path) -> bool {
        if !self.waiting.is_empty() {
            println!("This conversation was waiting for an answer:");
            let calls = std::mem::take(&mut self.waiting);
            self.turn(Work::Pending(calls)).await;
            return true;
        }
        let draft = std::mem::take(&mut self.draft);
        let Some(input) = lines::read_initial(&self.lines, "› ", draft).await else {
            return false;
        };
        let input = input.trim().to_string();
        if input.is_empty() {
            return true;
        }
        if let Ok(mut l) = self.lines.lock() {
            l.remember(&input);
        }
        let _ = history::append(hist, &input);
        if commands::is_bare_exit(&input) {
            return false;
        }
        if let Some(cmd) = input.strip_prefix('!') {
            let out = crate::tools::run_user_command(self.setup.cwd.clone(), cmd).await;
            let text = neutralise(&out.text);
            println!("{}{}", if out.ok { "" } else { "✗ " }, text.trim_end());
            return true;
        }
        let Some(line) = input.strip_prefix('/') else {
            self.turn(Work::Text(input)).await;
            return true;
        };
        let parsed = commands::parse(line).or_else(|e| {
            crate::skills::invocation(&self.setup.cwd, line)
                .map(Parsed::Send)
                .ok_or(e)
        });
        match parsed {
            Ok(Parsed::Local(Local::Exit)) => return false,
            Ok(Parsed::Local(Local::Usage)) => println!(
                "This session: {} tokens in, {} tokens out",
                self.tokens.0, self.tokens.1
            ),
            Ok(Parsed::Local(Local::Help)) => {
                for s in table::TABLE {
                    println!("  /{:<12} {}", s.name, s.help);
                }
            }
            Ok(Parsed::Send(t)) => self.turn(Work::Text(t)).await,
            Ok(Parsed::Backend(c)) => self.command(c).await,
            Err(e) => println!("✗ {e}"),
        }
        true
    }

    /// Run a command (a list first becomes a numbered choice) and show its outcome; a switch
    /// moves the session on, remembered for the project.
    async fn command(&mut self, cmd: Cmd) {
        let b = self.setup.backend.clone();
        let Some(cmd) = choose::choose(cmd, b.as_ref(), &self.session, &self.lines).await else {
            return;
        };
        let ctx = commands::Ctx {
            backend: b,
            session: self.session.clone(),
            checker: self.setup.checker.clone(),
            cwd: self.setup.cwd.clone(),
            mcp: self.setup.mcp.clone(),
            hooks: self.setup.hooks.clone(),
        };
        if let Some(p) = cmd.progress() {
            println!("{p}");
        }
        let out = commands::run(cmd, ctx).await;
        println!("{}", render::outcome(&out, &self.setup.cwd));
        match out {
            Outcome::ModelSet { .. } => self.opts.override_model = None,
            Outcome::Switch(sw) => {
                let sw = *sw;
                if let Err(e) = self.setup.store.persist_async(sw.session.clone()).await {
                    println!("✗ remembering the session failed: {e}");
                }
                if sw.agent.is_some() {
                    self.opts.override_model = None;
                }
                self.session = sw.session;
                self.waiting = sw.pending;
                self.draft = sw.draft.unwrap_or_default();
            }
            _ => {}
        }
    }

    /// Run one turn, printing as it streams.
    async fn turn(&mut self, work: Work) {
        let (tx, mut rx) = mpsc::unbounded_channel::<TurnEvent>();
        let cwd = self.setup.cwd.clone();
        let printer = tokio::spawn(async move {
            let mut start = true;
            let (mut i, mut o) = (0, 0);
            // Tools the server runs itself arrive as chunks: shown when their result comes.
            let mut server_calls = Vec::new();
            while let Some(ev) = rx.recv().await {
                if let TurnEvent::Chunk(c) = &ev {
                    match c.as_ref() {
                        LettaMessage::Usage(u) => {
                            i += u.prompt_tokens;
                            o += u.completion_tokens;
                        }
                        LettaMessage::ToolCall(m) => {
                            for d in m.calls() {
                                crate::turn::merge_delta(&mut server_calls, d);
                            }
                        }
                        LettaMessage::ToolReturn(t) => {
                            render::server_result(&mut server_calls, t, &mut start, &cwd);
                        }
                        _ => {}
                    }
                }
                render::event(&ev, &mut start, &cwd);
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
        let (d, s, o) = (&self.driver, &self.session, &self.opts);
        let r = match work {
            Work::Text(text) => d.run(s, &text, o, &tx, &cancel).await,
            Work::Pending(calls) => d.run_pending(s, &calls, o, &tx, &cancel).await,
        };
        ctrl_c.abort();
        drop(tx);
        let (i, o) = printer.await.unwrap_or((0, 0));
        self.tokens.0 += i;
        self.tokens.1 += o;
        match r {
            Ok(r) if r.interrupted => println!("✗ Interrupted"),
            Ok(_) => {}
            Err(e) => println!("✗ {}", neutralise(&e.to_string())),
        }
    }
}
