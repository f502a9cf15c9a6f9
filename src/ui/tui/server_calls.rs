//! Tools the server runs itself (memory edits, `conversation_search`): their calls and results
//! arrive as chunks, not as calls for letta to answer, and are shown like letta's own: a
//! one-line call and a collapsed result. A memory edit shows its block and a short diff.

use std::path::Path;

use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use serde_json::Value;

use super::{cells, diff};
use crate::protocol::LettaMessage;
use crate::tools::ToolOutput;
use crate::turn::ToolCallInfo;
use crate::ui::safe_text::neutralise;

/// Calls seen so far in this turn, their arguments assembled from the deltas.
#[derive(Debug, Default)]
pub struct ServerCalls {
    calls: Vec<ToolCallInfo>,
}

impl ServerCalls {
    /// Take one chunk; a finished call (its result arrived) comes back drawn.
    pub fn chunk(
        &mut self,
        m: &LettaMessage,
        cwd: &Path,
        width: usize,
    ) -> Option<(Vec<Line<'static>>, ToolCallInfo, ToolOutput)> {
        match m {
            LettaMessage::ToolCall(c) => {
                for d in c.calls() {
                    crate::turn::merge_delta(&mut self.calls, d);
                }
                None
            }
            LettaMessage::ToolReturn(t) => {
                let id = t.tool_call_id.as_deref()?;
                let i = self.calls.iter().position(|c| c.id == id)?;
                let call = self.calls.remove(i);
                let mut output = if t.status.as_deref() == Some("error") {
                    ToolOutput::err(t.tool_return.clone().unwrap_or_default())
                } else {
                    ToolOutput::ok(t.tool_return.clone().unwrap_or_default())
                };
                output.stdout.clone_from(&t.stdout);
                let lines = match memory_edit(&call, output.ok, width) {
                    Some(l) => l,
                    None => cells::call_result(&call, &output, false, cwd, width),
                };
                Some((lines, call, output))
            }
            _ => None,
        }
    }
}

/// The first of these keys that holds text.
fn text<'a>(args: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| args.get(*k).and_then(Value::as_str))
}

/// `Memory(label)` and what changed in it, for the memory tools (ours and Letta's names).
fn memory_edit(call: &ToolCallInfo, ok: bool, width: usize) -> Option<Vec<Line<'static>>> {
    if !call.name.contains("memory") || !ok {
        return None;
    }
    let args: Value = serde_json::from_str(&call.arguments).ok()?;
    let label = neutralise(args.get("label").and_then(Value::as_str).unwrap_or("?"));
    let old = text(&args, &["old_string", "old_str", "old_content"]);
    let new = text(
        &args,
        &[
            "new_string",
            "new_str",
            "new_content",
            "content",
            "new_memory",
        ],
    )?;
    let mut out = vec![Line::from(vec![
        Span::styled("⏺ ", Style::default().fg(Color::Green)),
        Span::raw(format!("Memory({label})")),
    ])];
    let body_w = width.saturating_sub(5).max(10);
    let (lines, _) = match old {
        Some(old) => diff::lines(&neutralise(old), &neutralise(new), 1, body_w),
        // An insert or a rewrite: the new text, shown as added.
        None => diff::lines("", &neutralise(new), 1, body_w),
    };
    let shown = lines.len().min(8);
    out.extend(lines.into_iter().take(shown));
    out.push(Line::default());
    Some(out)
}
