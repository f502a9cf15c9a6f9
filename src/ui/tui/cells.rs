//! Transcript items as lines: user messages, tool calls and results, diffs, todo lists,
//! reasoning, errors and the welcome banner. Every text from a model or tool is neutralised.

use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use serde_json::Value;

use super::diff;
use super::wrap::{self, wrap};
use crate::tools::{CallView, Effect, ToolOutput};
use crate::turn::ToolCallInfo;
use crate::ui::safe_text::neutralise;

/// Lines of a tool result shown before "… N more lines".
pub const COLLAPSED_LINES: usize = 3;

fn dim() -> Style {
    Style::default().add_modifier(Modifier::DIM)
}

/// How the selected row of a list or popup looks.
pub fn selected_style(selected: bool) -> Style {
    if selected {
        Style::default()
            .fg(Color::Cyan)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::default()
    }
}

/// Choice `i` (shown 1-based) of a numbered list, marked when selected, cut to `width`.
pub fn choice(i: usize, selected: bool, text: &str, width: usize) -> Line<'static> {
    let mark = if selected { "❯" } else { " " };
    Line::from(Span::styled(
        fit(&format!("{mark} {}. {text}", i + 1), width),
        selected_style(selected),
    ))
}

/// The welcome banner.
pub fn banner(b: &crate::session::setup::Banner, width: usize) -> Vec<Line<'static>> {
    let w = width.clamp(20, 72);
    let border = Style::default().fg(Color::Magenta);
    let row = |label: &str, value: &str| {
        let text = format!(" {label:<13}{value}");
        let cut = fit(&text, w - 2);
        let pad = (w - 2).saturating_sub(wrap::width(&cut));
        Line::from(vec![
            Span::styled("│", border),
            Span::styled(cut, Style::default()),
            Span::raw(" ".repeat(pad)),
            Span::styled("│", border),
        ])
    };
    let title = format!(" ✻ letta {} ", b.version);
    let mut lines = vec![Line::from(vec![
        Span::styled("╭", border),
        Span::styled(title.clone(), border.add_modifier(Modifier::BOLD)),
        Span::styled(
            "─".repeat((w - 2).saturating_sub(wrap::width(&title))),
            border,
        ),
        Span::styled("╮", border),
    ])];
    lines.push(row("agent", &b.agent));
    lines.push(row("model", &b.model));
    lines.push(row("backend", &b.backend));
    lines.push(row("cwd", &b.cwd));
    lines.push(row("conversation", &b.conversation));
    if !b.sandbox.is_empty() {
        lines.push(row("commands", &b.sandbox));
    }
    if !b.instructions.is_empty() {
        lines.push(row("instructions", &b.instructions));
    }
    lines.push(Line::from(Span::styled(
        format!("╰{}╯", "─".repeat(w - 2)),
        border,
    )));
    lines.push(Line::from(Span::styled(
        " /help for commands · esc interrupts · ctrl+c twice exits",
        dim(),
    )));
    lines.push(Line::default());
    lines
}

/// Cut `s` to `w` columns with "…".
pub fn fit(s: &str, w: usize) -> String {
    if wrap::width(s) <= w {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = wrap::width(c.encode_utf8(&mut [0; 4]));
        if used + cw + 1 > w {
            break;
        }
        out.push(c);
        used += cw;
    }
    out.push('…');
    out
}

/// A message the user sent.
pub fn user(text: &str, width: usize) -> Vec<Line<'static>> {
    let style = Style::default().add_modifier(Modifier::BOLD);
    let mut out = Vec::new();
    for (i, l) in neutralise(text).lines().enumerate() {
        let first = if i == 0 { "› " } else { "  " };
        out.extend(wrap(
            vec![Span::styled(l.to_string(), style)],
            width,
            vec![Span::styled(first, Style::default().fg(Color::Cyan))],
            vec![Span::raw("  ")],
        ));
    }
    out.push(Line::default());
    out
}

/// A line of information (command output, confirmations).
pub fn info(text: &str, width: usize) -> Vec<Line<'static>> {
    neutralise(text)
        .lines()
        .flat_map(|l| {
            wrap(
                vec![Span::styled(l.to_string(), dim())],
                width,
                vec![],
                vec![],
            )
        })
        .chain([Line::default()])
        .collect()
}

/// An error, in red, with what to do next when known.
pub fn error(text: &str, width: usize) -> Vec<Line<'static>> {
    let red = Style::default().fg(Color::Red);
    let mut out = Vec::new();
    for (i, l) in neutralise(text).lines().enumerate() {
        out.extend(wrap(
            vec![Span::styled(l.to_string(), red)],
            width,
            vec![Span::styled(if i == 0 { "✗ " } else { "  " }, red)],
            vec![Span::raw("  ")],
        ));
    }
    out.push(Line::default());
    out
}

/// Reasoning, dim under "Thinking"; collapsed to a few lines unless expanded.
pub fn reasoning(text: &str, expanded: bool, width: usize) -> Vec<Line<'static>> {
    let style = dim().add_modifier(Modifier::ITALIC);
    let mut body: Vec<Line<'static>> = neutralise(text.trim())
        .lines()
        .flat_map(|l| {
            wrap(
                vec![Span::styled(l.to_string(), style)],
                width,
                vec![Span::raw("  ")],
                vec![Span::raw("  ")],
            )
        })
        .collect();
    let mut out = vec![Line::from(Span::styled(
        "✻ Thinking",
        dim().add_modifier(Modifier::BOLD),
    ))];
    let hidden = body.len().saturating_sub(COLLAPSED_LINES);
    if !expanded && hidden > 0 {
        body.truncate(COLLAPSED_LINES);
        out.extend(body);
        out.push(more(hidden));
    } else {
        out.extend(body);
    }
    out.push(Line::default());
    out
}

fn more(hidden: usize) -> Line<'static> {
    Line::from(Span::styled(
        format!(
            "     … {hidden} more line{} (ctrl+o to expand)",
            if hidden == 1 { "" } else { "s" }
        ),
        dim(),
    ))
}

/// How a call is named on screen: `Update(src/main.rs)`, `Bash(ls -la)`.
pub fn call_title(call: &ToolCallInfo, cwd: &Path) -> String {
    neutralise(&crate::tools::describe(call, cwd).title())
}

/// The header line of a call; `running` adds the indicator.
pub fn call_header(
    call: &ToolCallInfo,
    cwd: &Path,
    width: usize,
    running: Option<&str>,
) -> Line<'static> {
    match running {
        Some(r) => marked_header(
            call,
            cwd,
            width,
            Color::Yellow,
            Some((format!(" {r}"), dim())),
        ),
        None => marked_header(call, cwd, width, Color::Green, None),
    }
}

/// A call's header with its marker in `color` (green done, red failed or denied) and a note.
pub fn marked_header(
    call: &ToolCallInfo,
    cwd: &Path,
    width: usize,
    color: Color,
    note: Option<(String, Style)>,
) -> Line<'static> {
    let title = fit(&call_title(call, cwd), width.saturating_sub(12));
    let mut spans = vec![
        Span::styled("⏺ ", Style::default().fg(color)),
        Span::styled(title, Style::default().add_modifier(Modifier::BOLD)),
    ];
    if let Some((text, style)) = note {
        spans.push(Span::styled(text, style));
    }
    Line::from(spans)
}

/// The file a call names, as it is now (`join` keeps an absolute path as it is).
fn file_text(path: &str, cwd: &Path) -> String {
    std::fs::read_to_string(cwd.join(path)).unwrap_or_default()
}

/// The old and new text of each edit, with the line it starts at in `current` (the file as
/// it is: before the edit for a preview, after it for a result).
fn located(edits: &[(String, String)], current: &str, after: bool) -> Vec<(String, String, usize)> {
    edits
        .iter()
        .map(|(old, new)| {
            let at = diff::line_of(current, if after { new } else { old });
            (old.clone(), new.clone(), at)
        })
        .collect()
}

/// The diff a file change would make, for the approval prompt (file unchanged yet).
pub fn preview(view: &CallView, cwd: &Path, width: usize) -> Vec<Line<'static>> {
    match &view.effect {
        Effect::Writes { path, content } => diff::lines(&file_text(path, cwd), content, 1, width).0,
        Effect::Edits { path, edits } => {
            let file = file_text(path, cwd);
            located(edits, &file, false)
                .into_iter()
                .flat_map(|(o, n, at)| {
                    diff::in_file(&file, &o, &n, true, width)
                        .unwrap_or_else(|| diff::lines(&o, &n, at, width))
                        .0
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// A finished call: header, then the result (a diff, a checklist, or output collapsed to a
/// few lines unless `expanded`).
pub fn call_result(
    call: &ToolCallInfo,
    output: &ToolOutput,
    expanded: bool,
    cwd: &Path,
    width: usize,
) -> Vec<Line<'static>> {
    let color = if output.ok { Color::Green } else { Color::Red };
    let mut out = vec![marked_header(call, cwd, width, color, None)];
    let gutter = || vec![Span::styled("  ⎿  ", dim())];
    let indent = || vec![Span::raw("     ")];
    let body_w = width.saturating_sub(5).max(10);
    if !output.ok {
        let red = Style::default().fg(Color::Red);
        let text = neutralise(&output.text);
        let mut lines: Vec<Line<'static>> = text
            .lines()
            .map(|l| Line::from(Span::styled(l.to_string(), red)))
            .collect();
        collapse(&mut lines, expanded);
        push_body(&mut out, lines, gutter(), indent(), body_w);
        out.push(Line::default());
        return out;
    }
    let view = crate::tools::describe(call, cwd);
    match &view.effect {
        Effect::Edits { path, edits } => {
            let mut body = Vec::new();
            let mut counts = diff::Counts::default();
            let file = file_text(path, cwd);
            for (o, n, at) in located(edits, &file, true) {
                let (l, c) = diff::in_file(&file, &n, &o, false, body_w)
                    .unwrap_or_else(|| diff::lines(&o, &n, at, body_w));
                counts.added += c.added;
                counts.removed += c.removed;
                body.extend(l);
            }
            let summary = Line::from(format!(
                "Updated {} with {}",
                neutralise(&view.arg),
                counts.describe()
            ));
            out.push(Line::from([gutter(), summary.spans].concat()));
            out.extend(
                body.into_iter()
                    .map(|l| Line::from([indent(), l.spans].concat())),
            );
        }
        Effect::Writes { content, .. } => {
            let n = content.lines().count();
            let mut lines = vec![Line::from(format!(
                "Wrote {n} line{} to {}",
                if n == 1 { "" } else { "s" },
                neutralise(&view.arg)
            ))];
            lines.extend(
                neutralise(content)
                    .lines()
                    .map(|l| Line::from(Span::styled(l.to_string(), dim()))),
            );
            collapse(&mut lines, expanded);
            push_body(&mut out, lines, gutter(), indent(), body_w);
        }
        Effect::Todos => {
            let lines = todos(&call.args());
            push_body(&mut out, lines, gutter(), indent(), body_w);
        }
        Effect::Plan { plan } => {
            let mut lines = super::markdown::render(&neutralise(plan), body_w, false);
            lines.push(Line::from(Span::styled(neutralise(&output.text), dim())));
            push_body(&mut out, lines, gutter(), indent(), body_w);
        }
        Effect::Output | Effect::Runs { .. } => {
            let text = neutralise(&output.text);
            let mut lines: Vec<Line<'static>> = if text.trim().is_empty() {
                vec![Line::from(Span::styled("(no output)", dim()))]
            } else {
                text.lines().map(|l| Line::from(l.to_string())).collect()
            };
            collapse(&mut lines, expanded);
            push_body(&mut out, lines, gutter(), indent(), body_w);
        }
    }
    out.push(Line::default());
    out
}

fn collapse(lines: &mut Vec<Line<'static>>, expanded: bool) {
    let hidden = lines.len().saturating_sub(COLLAPSED_LINES);
    if !expanded && hidden > 0 {
        lines.truncate(COLLAPSED_LINES);
        lines.push(Line::from(Span::styled(
            format!(
                "… {hidden} more line{} (ctrl+o to expand)",
                if hidden == 1 { "" } else { "s" }
            ),
            dim(),
        )));
    }
}

fn push_body(
    out: &mut Vec<Line<'static>>,
    lines: Vec<Line<'static>>,
    gutter: Vec<Span<'static>>,
    indent: Vec<Span<'static>>,
    width: usize,
) {
    for (i, l) in lines.into_iter().enumerate() {
        let style = l.style;
        for (j, part) in wrap::hard_wrap(wrap::expand_tabs(l), width)
            .into_iter()
            .enumerate()
        {
            let pre = if i == 0 && j == 0 {
                gutter.clone()
            } else {
                indent.clone()
            };
            out.push(Line::from([pre, part.spans].concat()).style(style));
        }
    }
}

/// A TodoWrite list as a checklist.
pub fn todos(args: &Value) -> Vec<Line<'static>> {
    let Some(items) = args.get("todos").and_then(Value::as_array) else {
        return vec![Line::from("(no todos)")];
    };
    items
        .iter()
        .map(|t| {
            let text = neutralise(t.get("content").and_then(Value::as_str).unwrap_or(""));
            match t.get("status").and_then(Value::as_str).unwrap_or("pending") {
                "completed" => Line::from(Span::styled(
                    format!("☒ {text}"),
                    Style::default()
                        .fg(Color::Green)
                        .add_modifier(Modifier::CROSSED_OUT),
                )),
                "in_progress" => Line::from(Span::styled(
                    format!("◐ {text}"),
                    Style::default().add_modifier(Modifier::BOLD),
                )),
                _ => Line::from(format!("☐ {text}")),
            }
        })
        .collect()
}
