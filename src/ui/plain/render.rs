//! The REPL's output as plain text: a turn's events, and command outcomes.

use std::io::Write;
use std::path::Path;

use crate::commands::Outcome;
use crate::protocol::LettaMessage;
use crate::session::query::{UserText, user_text};
use crate::tools::ToolCallInfo;
use crate::turn::TurnEvent;
use crate::ui::safe_text::neutralise;

/// Lines of a tool result shown before "… N more lines".
const COLLAPSED_LINES: usize = 3;

/// How a call is named: `Update(src/main.rs)`, neutralised for the terminal.
pub fn title(call: &ToolCallInfo, cwd: &Path) -> String {
    neutralise(&crate::tools::describe(call, cwd).title())
}

/// A tool's output, cut to a few lines.
fn result_lines(text: &str) -> Vec<String> {
    let text = neutralise(text);
    let n = text.lines().count();
    let mut out: Vec<String> = text
        .lines()
        .take(COLLAPSED_LINES)
        .enumerate()
        .map(|(i, l)| format!("{}{l}", if i == 0 { "  ⎿  " } else { "     " }))
        .collect();
    if n > COLLAPSED_LINES {
        out.push(format!("     … {} more lines", n - COLLAPSED_LINES));
    }
    out
}

/// Print a turn's event; `at_line_start` tracks whether streamed text ended its line.
pub fn event(ev: &TurnEvent, at_line_start: &mut bool, cwd: &Path) {
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
            let text = neutralise(delta);
            let _ = write!(out, "{text}");
            *at_line_start = text.ends_with('\n');
        }
        TurnEvent::Chunk(c) => {
            if let Some(n) = crate::protocol::retry::retry_note(c) {
                line(format!("… {}", neutralise(&n)), at_line_start);
            }
        }
        TurnEvent::Reasoning { .. } | TurnEvent::AutoApproved { .. } => {}
        TurnEvent::ToolStarted { call } => line(format!("⏺ {}", title(call, cwd)), at_line_start),
        TurnEvent::ToolFinished { output, .. } => {
            for l in result_lines(&output.text) {
                line(l, at_line_start);
            }
        }
        TurnEvent::Denied { call, reason } => line(
            format!("⏺ {} — not run: {}", title(call, cwd), neutralise(reason)),
            at_line_start,
        ),
        TurnEvent::Error { message } => line(format!("✗ {}", neutralise(message)), at_line_start),
        TurnEvent::Subagent { label, event, .. } => {
            let said = match event.as_ref() {
                TurnEvent::ToolStarted { call } => Some(title(call, cwd)),
                TurnEvent::Denied { call, reason } => Some(format!(
                    "{} — not run: {}",
                    title(call, cwd),
                    neutralise(reason)
                )),
                TurnEvent::Error { message } => Some(format!("✗ {}", neutralise(message))),
                _ => None,
            };
            if let Some(s) = said {
                line(format!("  ↳ {}: {s}", neutralise(label)), at_line_start);
            }
        }
        TurnEvent::Mode(m) => line(
            format!("… permission mode: {} ({})", m.name(), m.describe()),
            at_line_start,
        ),
        TurnEvent::Waiting { message } | TurnEvent::Note { message } => {
            line(format!("… {}", neutralise(message)), at_line_start);
        }
    }
    let _ = out.flush();
}

/// A tool the server ran itself, once its result arrived: its call and the result's first
/// lines, like letta's own tools.
pub fn server_result(
    calls: &mut Vec<ToolCallInfo>,
    ret: &crate::protocol::ToolReturnMessage,
    at_line_start: &mut bool,
    cwd: &Path,
) {
    let Some(i) = ret
        .tool_call_id
        .as_deref()
        .and_then(|id| calls.iter().position(|c| c.id == id))
    else {
        return;
    };
    let call = calls.remove(i);
    let mut out = std::io::stdout().lock();
    if !*at_line_start {
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "⏺ {}", title(&call, cwd));
    for l in result_lines(ret.tool_return.as_deref().unwrap_or("")) {
        let _ = writeln!(out, "{l}");
    }
    *at_line_start = true;
}

/// A command's outcome as text.
pub fn outcome(out: &Outcome, cwd: &Path) -> String {
    match out {
        Outcome::Info(t) => neutralise(t),
        Outcome::ConversationRenamed(t) => {
            format!("Renamed this conversation to \"{}\"", neutralise(t))
        }
        Outcome::AgentRenamed { name, .. } => {
            format!("Renamed the agent to \"{}\"", neutralise(name))
        }
        Outcome::Error(e) => format!("✗ {}", neutralise(e)),
        Outcome::ModelSet { handle, scope } => format!("Model for {scope}: {}", neutralise(handle)),
        Outcome::Switch(sw) => {
            let mut t = String::new();
            for m in &sw.earlier {
                t.push_str(&message(m, cwd));
            }
            if !sw.earlier.is_empty() {
                t.push_str("\n⋯ later messages ⋯");
            }
            for m in &sw.messages {
                t.push_str(&message(m, cwd));
            }
            if let Some(e) = &sw.load_error {
                t.push_str(&format!(
                    "\n✗ could not load its messages: {}",
                    neutralise(e)
                ));
            }
            t.push_str(&format!(
                "\n{}\n{}",
                neutralise(&sw.note),
                neutralise(&sw.place.line)
            ));
            t.trim_start_matches('\n').to_string()
        }
        Outcome::Hits {
            query,
            hits,
            fallback,
        } if hits.is_empty() => crate::ui::hits_heading(query, false, fallback.as_ref()),
        Outcome::Hits {
            query,
            hits,
            fallback,
        } => {
            let mut t = crate::ui::hits_heading(query, true, fallback.as_ref());
            for h in hits {
                let text = neutralise(&h.text).replace('\n', " ");
                t.push_str(&format!("\n  {}  {}: {text}", h.conversation_id, h.role));
            }
            t
        }
        Outcome::Memory(blocks) => {
            let mut t = String::from("The agent's memory (shared by all its conversations):");
            for b in blocks {
                let limit = b.limit.map(|l| format!("/{l}")).unwrap_or_default();
                t.push_str(&format!(
                    "\n── {} ({}{limit} chars) ──\n{}",
                    neutralise(&b.label),
                    b.value.chars().count(),
                    neutralise(b.value.trim_end())
                ));
            }
            t
        }
        Outcome::Compacted(c) => {
            let mut t = format!(
                "Compacted this conversation: {} messages in context before, {} after",
                c.num_messages_before, c.num_messages_after
            );
            if let Some(s) = c.summary.as_deref().filter(|s| !s.trim().is_empty()) {
                t.push_str(&format!("\nSummary: {}", neutralise(s)));
            }
            t
        }
        Outcome::Context(c) => {
            let max = c.context_window_size_max.max(1);
            let mut t = format!(
                "Context window: {} of {max} tokens ({:.1}%)",
                c.context_window_size_current,
                c.context_window_size_current as f64 * 100.0 / max as f64
            );
            for (name, n) in [
                ("system", c.num_tokens_system),
                ("memory", c.num_tokens_core_memory),
                ("tools", c.num_tokens_functions_definitions),
                ("summary", c.num_tokens_summary_memory),
                ("messages", c.num_tokens_messages),
            ] {
                t.push_str(&format!("\n  {name:<9}{n:>8} tokens"));
            }
            t.push_str(&format!("\n  {} messages in context", c.num_messages));
            t
        }
        Outcome::Permissions(p) => {
            let mut t = format!("Mode: {:?}\nCommands: {}", p.mode, p.enforcement);
            for (kind, rule, source) in &p.rules {
                t.push_str(&format!("\n  {kind:<5} {rule}  (from {source})"));
            }
            t
        }
    }
}

/// One message of a conversation being switched to, as text (each piece on its own lines).
fn message(m: &LettaMessage, cwd: &Path) -> String {
    match m {
        LettaMessage::User(u) => match user_text(&u.content.to_text()) {
            UserText::Typed(t) if t.is_empty() => String::new(),
            UserText::Typed(t) => format!("\n› {}", neutralise(&t)),
            UserText::Summary(s) => format!(
                "\n✻ Earlier messages were compacted. Summary: {}",
                neutralise(&s)
            ),
        },
        LettaMessage::Assistant(a) => format!("\n{}", neutralise(&a.content.to_text())),
        LettaMessage::ToolCall(t) | LettaMessage::ApprovalRequest(t) => {
            t.calls().iter().fold(String::new(), |mut out, d| {
                let call = ToolCallInfo {
                    id: d.tool_call_id.clone().unwrap_or_default(),
                    name: d.name.clone().unwrap_or_default(),
                    arguments: d.arguments.clone().unwrap_or_default(),
                };
                out.push_str("\n⏺ ");
                out.push_str(&title(&call, cwd));
                out
            })
        }
        LettaMessage::ToolReturn(t) => result_lines(t.tool_return.as_deref().unwrap_or(""))
            .into_iter()
            .fold(String::new(), |mut out, l| {
                out.push('\n');
                out.push_str(&l);
                out
            }),
        _ => String::new(),
    }
}
