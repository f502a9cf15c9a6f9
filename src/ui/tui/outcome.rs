//! Drawing a command's [`Outcome`] in the chat view: notes, a switched-to conversation's
//! messages rendered like live ones, search hits, memory, the context window bar.

use std::path::Path;

use ratatui::text::Line;

use super::{cells, markdown};
use crate::commands::{Outcome, Switch};
use crate::protocol::LettaMessage;
use crate::session::query::{UserText, user_text};
use crate::ui::safe_text::neutralise;

/// The lines an outcome shows, at `width` columns.
pub fn lines(out: &Outcome, cwd: &Path, width: usize, light: bool) -> Vec<Line<'static>> {
    match out {
        Outcome::Info(t) => cells::info(t, width),
        Outcome::ConversationRenamed(t) => {
            cells::info(&format!("Renamed this conversation to \"{t}\""), width)
        }
        Outcome::AgentRenamed { name, .. } => {
            cells::info(&format!("Renamed the agent to \"{name}\""), width)
        }
        Outcome::Error(e) => cells::error(e, width),
        Outcome::ModelSet { handle, scope } => {
            cells::info(&format!("Model for {scope}: {handle}"), width)
        }
        Outcome::Switch(sw) => switch(sw, cwd, width, light),
        Outcome::Hits {
            query,
            hits,
            fallback,
        } if hits.is_empty() => cells::info(
            &crate::ui::hits_heading(query, false, fallback.as_ref()),
            width,
        ),
        Outcome::Hits {
            query,
            hits,
            fallback,
        } => {
            let mut t = crate::ui::hits_heading(query, true, fallback.as_ref());
            t.push('\n');
            for h in hits {
                let text = neutralise(&h.text).replace('\n', " ");
                t.push_str(&format!(
                    "  {}  {}: {}\n",
                    h.conversation_id,
                    h.role,
                    cells::fit(&text, width.saturating_sub(40))
                ));
            }
            cells::info(t.trim_end(), width)
        }
        Outcome::Memory(blocks) => {
            let mut t = String::from("The agent's memory (shared by all its conversations):\n");
            for bl in blocks {
                let limit = bl.limit.map(|l| format!("/{l}")).unwrap_or_default();
                t.push_str(&format!(
                    "── {} ({}{limit} chars) ──\n{}\n",
                    bl.label,
                    bl.value.chars().count(),
                    neutralise(bl.value.trim_end())
                ));
            }
            cells::info(t.trim_end(), width)
        }
        Outcome::Compacted(c) => {
            let mut t = format!(
                "Compacted this conversation: {} messages in context before, {} after",
                c.num_messages_before, c.num_messages_after
            );
            if let Some(s) = c.summary.as_deref().filter(|s| !s.trim().is_empty()) {
                t.push_str(&format!("\nSummary: {}", cells::fit(&neutralise(s), 400)));
            }
            cells::info(&t, width)
        }
        Outcome::Context(c) => context_lines(c, width),
        Outcome::Permissions(p) => {
            let mut t = format!(
                "Mode: {:?} (shift+tab cycles)\nCommands: {}\n",
                p.mode, p.enforcement
            );
            for (kind, rule, source) in &p.rules {
                t.push_str(&format!("  {kind:<5} {rule}  (from {source})\n"));
            }
            cells::info(t.trim_end(), width)
        }
    }
}

/// The history first, then what happened and where the user is now, as the last lines
/// before the input (printed above the history, they would scroll out of view).
fn switch(sw: &Switch, cwd: &Path, width: usize, light: bool) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    if !sw.earlier.is_empty() {
        out.extend(transcript(&sw.earlier, cwd, width, light));
        out.extend(cells::info("⋯ later messages ⋯", width));
    }
    out.extend(transcript(&sw.messages, cwd, width, light));
    if let Some(e) = &sw.load_error {
        out.extend(cells::error(
            &format!("could not load its messages: {e}"),
            width,
        ));
    }
    out.extend(cells::info(&sw.note, width));
    out.extend(cells::info(&sw.place.line, width));
    out
}

/// Messages (oldest first) rendered like live ones.
pub fn transcript(
    msgs: &[LettaMessage],
    cwd: &Path,
    width: usize,
    light: bool,
) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for m in msgs {
        match m {
            LettaMessage::User(u) => match user_text(&u.content.to_text()) {
                UserText::Typed(t) if t.is_empty() => {}
                UserText::Typed(t) => out.extend(cells::user(&t, width)),
                UserText::Summary(s) => out.extend(cells::info(
                    &format!(
                        "✻ Earlier messages were compacted. Summary: {}",
                        neutralise(&s)
                    ),
                    width,
                )),
            },
            LettaMessage::Assistant(a) => {
                out.extend(markdown::render(
                    &neutralise(&a.content.to_text()),
                    width,
                    light,
                ));
                out.push(Line::default());
            }
            LettaMessage::Reasoning(r) => out.extend(cells::reasoning(&r.reasoning, false, width)),
            LettaMessage::ToolCall(t) | LettaMessage::ApprovalRequest(t) => {
                for d in t.calls() {
                    let call = crate::tools::ToolCallInfo {
                        id: d.tool_call_id.clone().unwrap_or_default(),
                        name: d.name.clone().unwrap_or_default(),
                        arguments: d.arguments.clone().unwrap_or_default(),
                    };
                    out.push(cells::call_header(&call, cwd, width, None));
                }
            }
            LettaMessage::ToolReturn(t) => {
                let text = neutralise(t.tool_return.as_deref().unwrap_or(""));
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
    out
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
    // To scale: each part ends where its running total falls, so small parts may get no cell
    // (the legend gives every part its share) and the filled length is the true share.
    let mut spans = vec![Span::raw("  ")];
    let (mut drawn, mut total) = (0usize, 0u64);
    for (_, n, color) in parts {
        total += n;
        let end = ((total as f64 / max as f64) * bar_w as f64).round() as usize;
        let cols = end.min(bar_w).saturating_sub(drawn);
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
        let share = n as f64 * 100.0 / max as f64;
        let tiny = if n > 0 && share * bar_w as f64 / 100.0 < 0.5 {
            " (under one cell)"
        } else {
            ""
        };
        out.push(Line::from(vec![
            Span::styled("  █ ", Style::default().fg(color)),
            Span::raw(format!("{name:<9}{n:>8} tokens {share:>5.1}%{tiny}")),
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
mod scale_tests {
    #[test]
    fn the_context_bar_is_to_scale() {
        let c = crate::protocol::ContextWindow {
            context_window_size_max: 128_000,
            num_tokens_system: 700,
            num_tokens_core_memory: 300,
            num_tokens_functions_definitions: 400,
            num_tokens_summary_memory: 0,
            num_tokens_messages: 136,
            ..Default::default()
        };
        let lines = super::context_lines(&c, 80);
        let bar: String = lines[1].spans.iter().map(|s| s.content.as_ref()).collect();
        // 1.2% of 60 cells is one cell, not one per part.
        assert_eq!(bar.matches('█').count(), 1, "{bar}");
        let legend: Vec<String> = lines[2..7]
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect();
        assert!(
            legend[4].contains("messages      136 tokens   0.1% (under one cell)"),
            "{legend:?}"
        );
        assert!(
            legend[0].contains("system        700 tokens   0.5%"),
            "{legend:?}"
        );
    }
}
