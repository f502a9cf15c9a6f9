//! Slash commands that talk to the backend: new, clear, fork, rename, resume, model, search,
//! permissions. Each runs off the UI task and comes back as lines to show, or as a switch to
//! another conversation with its recent messages rendered like live ones.

use std::sync::{Arc, Mutex};

use ratatui::text::Line;

use crate::backend::Backend;
use crate::permissions::Checker;
use crate::protocol::{
    CreateConversation, DEFAULT_CONVERSATION, ForkParams, LettaMessage, ListParams, Order,
    SearchRequest, UpdateAgent,
};
use crate::session::Session;
use crate::ui::tui::{cells, markdown};

/// Messages shown when switching to a conversation.
pub const RECENT: u32 = 50;

/// A command that needs the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    New(Option<String>),
    Clear,
    Fork(Option<String>),
    RenameConvo(String),
    RenameAgent(String),
    Resume(Option<String>),
    Model(Option<String>),
    Search(String),
    Permissions,
    Memory,
    Agents,
    SwitchAgent(String),
    /// A new agent (same model as the current one), switched to.
    NewAgent,
    Compact,
    Context,
}

/// What a typed `/…` line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Handled by the view itself (help, usage, exit).
    Local(&'static str),
    /// Sent to the agent as a message.
    Send(String),
    Backend(Cmd),
}

fn rest(line: &str) -> Option<String> {
    let r = line
        .split_once(char::is_whitespace)
        .map(|(_, r)| r.trim())?;
    (!r.is_empty()).then(|| r.to_string())
}

/// Parse a command line (without its `/`).
pub fn parse(line: &str) -> Result<Parsed, String> {
    let name = line.split_whitespace().next().unwrap_or("");
    let arg = rest(line);
    Ok(match name {
        "help" => Parsed::Local("help"),
        "usage" => Parsed::Local("usage"),
        "exit" | "quit" => Parsed::Local("exit"),
        "new" => Parsed::Backend(Cmd::New(arg)),
        "clear" => Parsed::Backend(Cmd::Clear),
        "fork" => Parsed::Backend(Cmd::Fork(arg)),
        "resume" => Parsed::Backend(Cmd::Resume(arg)),
        "model" => Parsed::Backend(Cmd::Model(arg)),
        "permissions" => Parsed::Backend(Cmd::Permissions),
        "memory" => Parsed::Backend(Cmd::Memory),
        "agents" => Parsed::Backend(Cmd::Agents),
        "compact" => Parsed::Backend(Cmd::Compact),
        "context" => Parsed::Backend(Cmd::Context),
        "search" => match arg {
            Some(q) => Parsed::Backend(Cmd::Search(q)),
            None => return Err("/search needs a query: /search QUERY".into()),
        },
        "remember" => Parsed::Send(match arg {
            Some(t) => format!("Please store this in your memory so you keep it in later conversations: {t}"),
            None => "Please look at our conversation so far and store in your memory whatever is worth keeping for later conversations.".into(),
        }),
        "rename" => {
            let r = arg.unwrap_or_default();
            let (what, value) = r.split_once(char::is_whitespace).map(|(a, b)| (a, b.trim())).unwrap_or((r.as_str(), ""));
            match (what, value) {
                ("convo" | "conversation", v) if !v.is_empty() => Parsed::Backend(Cmd::RenameConvo(v.into())),
                ("agent", v) if !v.is_empty() => Parsed::Backend(Cmd::RenameAgent(v.into())),
                _ => return Err("use /rename convo TITLE or /rename agent NAME".into()),
            }
        }
        _ => return Err(format!("Unknown command /{name} — try /help")),
    })
}

/// What a command produced.
pub enum Outcome {
    Lines(Vec<Line<'static>>),
    /// A model was chosen: it replaces the session's `-m` override.
    ModelSet(Vec<Line<'static>>),
    /// Continue in another conversation: a confirmation, then its recent messages.
    Switch {
        session: Session,
        lines: Vec<Line<'static>>,
        /// Calls it was left waiting on (a crash): offered again.
        pending: Vec<crate::turn::ToolCallInfo>,
        /// The agent changed: its name and model, for the status line.
        agent: Option<(String, Option<String>)>,
    },
}

fn title(summary: Option<&str>, id: &str) -> String {
    summary
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(id)
        .to_string()
}

/// The last [`RECENT`] messages of a conversation, rendered like live ones, and the calls it
/// waits on.
pub async fn transcript(
    backend: &dyn Backend,
    s: &Session,
    cwd: &std::path::Path,
    width: usize,
    light: bool,
) -> Result<(Vec<Line<'static>>, Vec<crate::turn::ToolCallInfo>), String> {
    let mut msgs = recent(backend, &s.conversation_id, &s.agent_id, RECENT).await?;
    let pending = crate::turn::unanswered(&msgs);
    msgs.reverse();
    let mut out = Vec::new();
    for m in msgs {
        match &m {
            LettaMessage::User(u) => out.extend(cells::user(&u.content.to_text(), width)),
            LettaMessage::Assistant(a) => {
                out.extend(markdown::render(
                    &crate::ui::safe_text::neutralise(&a.content.to_text()),
                    width,
                    light,
                ));
                out.push(Line::default());
            }
            LettaMessage::Reasoning(r) => out.extend(cells::reasoning(&r.reasoning, false, width)),
            LettaMessage::ToolCall(t) | LettaMessage::ApprovalRequest(t) => {
                for d in t.calls() {
                    let call = crate::turn::ToolCallInfo {
                        id: d.tool_call_id.clone().unwrap_or_default(),
                        name: d.name.clone().unwrap_or_default(),
                        arguments: d.arguments.clone().unwrap_or_default(),
                    };
                    out.push(cells::call_header(&call, cwd, width, None));
                }
            }
            LettaMessage::ToolReturn(t) => {
                let text = crate::ui::safe_text::neutralise(t.tool_return.as_deref().unwrap_or(""));
                let n = text.lines().count();
                let first = text.lines().next().unwrap_or("").to_string();
                let more = if n > 1 {
                    format!("  … {} more lines", n - 1)
                } else {
                    String::new()
                };
                out.push(Line::from(format!(
                    "  ⎿  {}{more}",
                    cells::fit(&first, width.saturating_sub(20))
                )));
                out.push(Line::default());
            }
            _ => {}
        }
    }
    Ok((out, pending))
}

/// The newest `limit` messages of a conversation, newest first.
pub async fn recent(
    b: &dyn Backend,
    conversation_id: &str,
    agent_id: &str,
    limit: u32,
) -> Result<Vec<LettaMessage>, String> {
    let agent = (conversation_id == DEFAULT_CONVERSATION).then_some(agent_id);
    let page = ListParams {
        limit: Some(limit),
        order: Some(Order::Desc),
        ..Default::default()
    };
    b.list_messages(conversation_id, agent, page)
        .await
        .map_err(|e| e.to_string())
}

/// Calls a conversation was left waiting on (the process answering them went away).
pub async fn pending_calls(
    backend: &dyn Backend,
    s: &Session,
) -> Result<Vec<crate::turn::ToolCallInfo>, String> {
    let msgs = recent(backend, &s.conversation_id, &s.agent_id, RECENT).await?;
    Ok(crate::turn::unanswered(&msgs))
}

async fn switch(
    backend: &dyn Backend,
    session: Session,
    note: String,
    cwd: &std::path::Path,
    width: usize,
    light: bool,
) -> Outcome {
    let mut lines = cells::info(&note, width);
    let mut pending = Vec::new();
    match transcript(backend, &session, cwd, width, light).await {
        Ok((t, p)) => {
            lines.extend(t);
            pending = p;
        }
        Err(e) => lines.extend(cells::error(
            &format!("could not load its messages: {e}"),
            width,
        )),
    }
    Outcome::Switch {
        session,
        lines,
        pending,
        agent: None,
    }
}

/// The context a command runs in.
pub struct Ctx {
    pub backend: Arc<dyn Backend>,
    pub session: Session,
    pub checker: Arc<Mutex<Checker>>,
    pub cwd: std::path::PathBuf,
    pub width: usize,
    pub light: bool,
}

/// Run a command.
pub async fn run(cmd: Cmd, ctx: Ctx) -> Outcome {
    let Ctx {
        backend,
        session,
        checker,
        cwd,
        width,
        light,
    } = ctx;
    let b = backend.as_ref();
    let err = |e: String| Outcome::Lines(cells::error(&e, width));
    let info = |t: String| Outcome::Lines(cells::info(&t, width));
    match cmd {
        Cmd::New(name) => match b
            .create_conversation(
                &session.agent_id,
                CreateConversation {
                    summary: name.clone(),
                    ..Default::default()
                },
            )
            .await
        {
            Ok(c) => {
                let s = Session {
                    agent_id: session.agent_id,
                    conversation_id: c.id.clone(),
                };
                let lines = cells::info(
                    &format!(
                        "Started a new conversation \"{}\" ({}) with the same agent and memory",
                        title(c.summary.as_deref(), &c.id),
                        c.id
                    ),
                    width,
                );
                Outcome::Switch {
                    session: s,
                    lines,
                    pending: Vec::new(),
                    agent: None,
                }
            }
            Err(e) => err(e.to_string()),
        },
        Cmd::Clear => match b
            .create_conversation(&session.agent_id, CreateConversation::default())
            .await
        {
            Ok(c) => Outcome::Switch {
                pending: Vec::new(),
                agent: None,
                lines: cells::info(
                    &format!(
                        "Started a fresh conversation ({}); the old one stays in /resume",
                        c.id
                    ),
                    width,
                ),
                session: Session {
                    agent_id: session.agent_id,
                    conversation_id: c.id,
                },
            },
            Err(e) => err(e.to_string()),
        },
        Cmd::Fork(name) => {
            let params = ForkParams {
                agent_id: Some(session.agent_id.clone()),
                message_id: None,
            };
            match b.fork_conversation(&session.conversation_id, params).await {
                Ok(c) => {
                    if let Some(t) = &name
                        && let Err(e) = b
                            .update_conversation(
                                &c.id,
                                CreateConversation {
                                    summary: Some(t.clone()),
                                    ..Default::default()
                                },
                            )
                            .await
                    {
                        return err(format!("forked as {}, but naming it failed: {e}", c.id));
                    }
                    let s = Session {
                        agent_id: session.agent_id,
                        conversation_id: c.id.clone(),
                    };
                    switch(
                        b,
                        s,
                        format!("Forked conversation {} (use /resume to switch back)", c.id),
                        &cwd,
                        width,
                        light,
                    )
                    .await
                }
                Err(e) => err(e.to_string()),
            }
        }
        Cmd::RenameConvo(t) => {
            if session.conversation_id == DEFAULT_CONVERSATION {
                return err("the default conversation has no title; /new or /fork first".into());
            }
            match b
                .update_conversation(
                    &session.conversation_id,
                    CreateConversation {
                        summary: Some(t.clone()),
                        ..Default::default()
                    },
                )
                .await
            {
                Ok(_) => info(format!("Renamed this conversation to \"{t}\"")),
                Err(e) => err(e.to_string()),
            }
        }
        Cmd::RenameAgent(n) => match b
            .update_agent(
                &session.agent_id,
                UpdateAgent {
                    name: Some(n.clone()),
                    ..Default::default()
                },
            )
            .await
        {
            Ok(_) => info(format!("Renamed the agent to \"{n}\"")),
            Err(e) => err(e.to_string()),
        },
        Cmd::Resume(Some(id)) => {
            let target = if id == DEFAULT_CONVERSATION {
                Ok(None)
            } else {
                b.get_conversation(&id).await.map(Some)
            };
            match target {
                Ok(Some(c)) if c.agent_id != session.agent_id && !c.agent_id.is_empty() => {
                    err(format!(
                        "{id} belongs to another agent ({}); start with letta --agent {} --conv {id}",
                        c.agent_id, c.agent_id
                    ))
                }
                Ok(c) => {
                    let name = c
                        .as_ref()
                        .map(|c| title(c.summary.as_deref(), &c.id))
                        .unwrap_or_else(|| "default".into());
                    let s = Session {
                        agent_id: session.agent_id,
                        conversation_id: id.clone(),
                    };
                    switch(
                        b,
                        s,
                        format!("Resumed conversation \"{name}\" ({id})"),
                        &cwd,
                        width,
                        light,
                    )
                    .await
                }
                Err(e) => err(e.to_string()),
            }
        }
        // The front ends turn these into a chooser (a viewer, or numbered choices) first.
        Cmd::Resume(None) | Cmd::Model(None) | Cmd::Agents => {
            err("this command shows a list to choose from; it is not run on its own".into())
        }
        Cmd::Model(Some(name)) => {
            let handle = match crate::connect::resolve_model_with(b, &name).await {
                Ok(h) => h,
                Err(e) => return err(e),
            };
            let r = if session.conversation_id == DEFAULT_CONVERSATION {
                b.update_agent(
                    &session.agent_id,
                    UpdateAgent {
                        model: Some(handle.clone()),
                        ..Default::default()
                    },
                )
                .await
                .map(|_| "the agent")
            } else {
                b.update_conversation(
                    &session.conversation_id,
                    CreateConversation {
                        model: Some(handle.clone()),
                        ..Default::default()
                    },
                )
                .await
                .map(|_| "this conversation")
            };
            match r {
                Ok(what) => {
                    Outcome::ModelSet(cells::info(&format!("Model for {what}: {handle}"), width))
                }
                Err(e) => err(e.to_string()),
            }
        }
        Cmd::Search(q) => match b
            .search_messages(SearchRequest {
                query: q.clone(),
                agent_id: Some(session.agent_id.clone()),
                limit: Some(10),
                extra: Default::default(),
            })
            .await
        {
            Ok(hits) if hits.is_empty() => info(format!("Nothing found for \"{q}\"")),
            Ok(hits) => {
                let mut t = format!("Found \"{q}\" in (/resume ID switches):\n");
                for h in hits {
                    let text = h.text.replace('\n', " ");
                    t.push_str(&format!(
                        "  {}  {}: {}\n",
                        h.conversation_id,
                        h.role,
                        cells::fit(&text, width.saturating_sub(40))
                    ));
                }
                info(t.trim_end().to_string())
            }
            Err(e) => err(e.to_string()),
        },
        Cmd::Memory => match b.list_blocks(&session.agent_id).await {
            Ok(blocks) => {
                let mut t = String::from("The agent's memory (shared by all its conversations):\n");
                for bl in blocks {
                    let limit = bl.limit.map(|l| format!("/{l}")).unwrap_or_default();
                    t.push_str(&format!(
                        "── {} ({}{limit} chars) ──\n{}\n",
                        bl.label,
                        bl.value.chars().count(),
                        bl.value.trim_end()
                    ));
                }
                info(t.trim_end().to_string())
            }
            Err(e) => err(e.to_string()),
        },
        Cmd::SwitchAgent(id) => match b.get_agent(&id).await {
            Ok(a) => {
                let s = Session {
                    agent_id: a.id.clone(),
                    conversation_id: DEFAULT_CONVERSATION.into(),
                };
                let note = format!("Switched to agent \"{}\" ({})", a.name, a.id);
                let mut out = switch(b, s, note, &cwd, width, light).await;
                if let Outcome::Switch { agent, .. } = &mut out {
                    *agent = Some((format!("{} ({})", a.name, a.id), a.model.clone()));
                }
                out
            }
            Err(e) => err(e.to_string()),
        },
        Cmd::NewAgent => {
            let model = b
                .get_agent(&session.agent_id)
                .await
                .ok()
                .and_then(|a| a.model);
            match b.create_agent(crate::app::new_agent_request(model)).await {
                Ok(a) => Outcome::Switch {
                    lines: cells::info(
                        &format!("Created agent \"{}\" ({}) and switched to it", a.name, a.id),
                        width,
                    ),
                    session: Session {
                        agent_id: a.id.clone(),
                        conversation_id: DEFAULT_CONVERSATION.into(),
                    },
                    pending: Vec::new(),
                    agent: Some((format!("{} ({})", a.name, a.id), a.model.clone())),
                },
                Err(e) => err(e.to_string()),
            }
        }
        Cmd::Compact => {
            let agent = (session.conversation_id == DEFAULT_CONVERSATION)
                .then_some(session.agent_id.as_str());
            match b.compact(&session.conversation_id, agent).await {
                Ok(c) => {
                    let mut t = format!(
                        "Compacted this conversation: {} messages in context before, {} after",
                        c.num_messages_before, c.num_messages_after
                    );
                    if let Some(s) = c.summary.filter(|s| !s.trim().is_empty()) {
                        t.push_str(&format!("\nSummary: {}", cells::fit(&s, 400)));
                    }
                    info(t)
                }
                Err(e) => err(format!("compaction failed: {e}")),
            }
        }
        Cmd::Context => {
            let conv = (session.conversation_id != DEFAULT_CONVERSATION)
                .then_some(session.conversation_id.as_str());
            match b.context_window(&session.agent_id, conv).await {
                Ok(c) => Outcome::Lines(context_lines(&c, width)),
                Err(e) => err(format!("could not read the context window: {e}")),
            }
        }
        Cmd::Permissions => {
            let Ok(c) = checker.lock() else {
                return err("the permission rules are unavailable".into());
            };
            let mut t = format!("Mode: {:?} (shift+tab cycles)\n", c.mode);
            for (kind, list) in [("allow", &c.allow), ("ask", &c.ask), ("deny", &c.deny)] {
                for r in list.iter() {
                    t.push_str(&format!("  {kind:<5} {}  (from {})\n", r.rule, r.source));
                }
            }
            info(t.trim_end().to_string())
        }
    }
}

/// The model a session's turns use: the conversation's, else the agent's.
pub async fn current_model(b: &dyn Backend, s: &Session) -> Option<String> {
    if s.conversation_id != DEFAULT_CONVERSATION
        && let Ok(c) = b.get_conversation(&s.conversation_id).await
        && c.model.is_some()
    {
        return c.model;
    }
    b.get_agent(&s.agent_id).await.ok().and_then(|a| a.model)
}

/// The context window as a bar: system, memory, tools, summary and messages, then free space.
pub fn context_lines(c: &crate::protocol::ContextWindow, width: usize) -> Vec<Line<'static>> {
    use ratatui::style::{Color, Style};
    use ratatui::text::Span;
    let parts = [
        ("system", c.num_tokens_system, Color::Blue),
        ("memory", c.num_tokens_core_memory, Color::Magenta),
        ("tools", c.num_tokens_functions_definitions, Color::Yellow),
        ("summary", c.num_tokens_summary_memory, Color::Cyan),
        ("messages", c.num_tokens_messages, Color::Green),
    ];
    let used: u64 = parts
        .iter()
        .map(|p| p.1)
        .sum::<u64>()
        .max(c.context_window_size_current);
    let max = c.context_window_size_max.max(used).max(1);
    let bar_w = width.saturating_sub(2).clamp(10, 60);
    let mut spans = vec![Span::raw("  ")];
    let mut drawn = 0;
    for (_, n, color) in parts {
        let cols = ((n as f64 / max as f64) * bar_w as f64).round() as usize;
        let cols = if n > 0 { cols.max(1) } else { 0 }.min(bar_w - drawn);
        drawn += cols;
        spans.push(Span::styled("█".repeat(cols), Style::default().fg(color)));
    }
    spans.push(Span::styled(
        "░".repeat(bar_w - drawn),
        Style::default().add_modifier(ratatui::style::Modifier::DIM),
    ));
    let pct = used as f64 * 100.0 / max as f64;
    let mut out = vec![
        Line::from(format!(
            "Context window: {used} of {max} tokens ({pct:.1}%)"
        )),
        Line::from(spans),
    ];
    for (name, n, color) in parts {
        out.push(Line::from(vec![
            Span::styled("  █ ", Style::default().fg(color)),
            Span::raw(format!("{name:<9}{n:>8} tokens")),
        ]));
    }
    out.push(Line::from(format!(
        "  {} messages in context",
        c.num_messages
    )));
    out.push(Line::default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands() {
        assert_eq!(
            parse("fork my branch"),
            Ok(Parsed::Backend(Cmd::Fork(Some("my branch".into()))))
        );
        assert_eq!(parse("new"), Ok(Parsed::Backend(Cmd::New(None))));
        assert_eq!(
            parse("rename agent Bob"),
            Ok(Parsed::Backend(Cmd::RenameAgent("Bob".into())))
        );
        assert!(parse("rename").is_err());
        assert_eq!(
            parse("resume conv-1"),
            Ok(Parsed::Backend(Cmd::Resume(Some("conv-1".into()))))
        );
        assert!(
            matches!(parse("remember tabs not spaces"), Ok(Parsed::Send(t)) if t.contains("tabs not spaces"))
        );
        assert_eq!(
            parse("nope"),
            Err("Unknown command /nope — try /help".into())
        );
    }
}
