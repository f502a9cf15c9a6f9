//! Drawing the live area: the streaming tail, running tools, popups and queued messages, the
//! input box (or the approval prompt) and the status line.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{ChatView, SPINNER, compact};
use crate::permissions::PermissionMode;
use crate::ui::tui::{cells, wrap};

impl ChatView {
    /// Draw the live area.
    pub fn draw(&self, f: &mut Frame) {
        let area = f.area();
        let w = area.width as usize;
        let light = self.light;
        // Bottom up: status line, input box (or the approval prompt), then the live content.
        let status_y = area.bottom().saturating_sub(1);
        f.render_widget(
            Paragraph::new(self.status_line(w)),
            Rect::new(area.x, status_y, area.width, 1),
        );
        let mut bottom = status_y;
        if let Some(a) = &self.approval {
            let lines = a.lines(w, area.height.saturating_sub(2) as usize);
            let h = (lines.len() as u16).min(bottom.saturating_sub(area.y));
            bottom -= h;
            f.render_widget(
                Paragraph::new(lines),
                Rect::new(area.x, bottom, area.width, h),
            );
        } else {
            let rule = Line::from(Span::styled(
                "─".repeat(w),
                Style::default().fg(Color::DarkGray),
            ));
            let inner = w.saturating_sub(2).max(1);
            let (text_lines, cursor) = self.input_lines(inner);
            let shown = text_lines.len().min(6);
            let skip = text_lines.len() - shown;
            let mut box_lines = vec![rule.clone()];
            box_lines.extend(text_lines.into_iter().skip(skip));
            box_lines.push(rule);
            let h = (box_lines.len() as u16).min(bottom.saturating_sub(area.y));
            bottom -= h;
            f.render_widget(
                Paragraph::new(box_lines),
                Rect::new(area.x, bottom, area.width, h),
            );
            let (cx, cy) = cursor;
            if cy >= skip {
                f.set_cursor_position((area.x + 2 + cx as u16, bottom + 1 + (cy - skip) as u16));
            }
        }
        // Popup and queued messages sit right above the input; the stream fills from the top.
        let mut near: Vec<Line<'static>> = Vec::new();
        for q in &self.queued {
            near.push(Line::from(Span::styled(
                cells::fit(&format!("⏳ queued: {}", q.replace('\n', " ")), w),
                Style::default().add_modifier(Modifier::DIM),
            )));
        }
        let rows = self.popup_rows();
        let selected = self.popup_sel.min(rows.len().saturating_sub(1));
        // The rows that fit, scrolled so the selected one is among them.
        let fit = (bottom.saturating_sub(area.y) as usize)
            .saturating_sub(near.len())
            .max(1);
        let first = (selected + 1).saturating_sub(fit);
        for (i, (name, desc)) in rows.iter().enumerate().skip(first).take(fit) {
            let style = cells::selected_style(i == selected);
            let text = if desc.is_empty() {
                format!("  {name}")
            } else {
                format!("  {name:<14} {desc}")
            };
            near.push(Line::from(Span::styled(cells::fit(&text, w), style)));
        }
        let room = bottom.saturating_sub(area.y) as usize;
        let near_h = near.len().min(room);
        let near_y = bottom - near_h as u16;
        f.render_widget(
            Paragraph::new(near.split_off(near.len() - near_h)),
            Rect::new(area.x, near_y, area.width, near_h as u16),
        );
        let top_room = near_y.saturating_sub(area.y) as usize;
        if top_room == 0 || self.approval.is_some() {
            return;
        }
        let mut live: Vec<Line<'static>> = Vec::new();
        if !self.reasoning.is_empty() {
            live.push(Line::from(Span::styled(
                "✻ Thinking…",
                Style::default().add_modifier(Modifier::DIM | Modifier::BOLD),
            )));
            let last = self
                .reasoning
                .trim_end()
                .lines()
                .last()
                .unwrap_or("")
                .to_string();
            live.push(Line::from(Span::styled(
                cells::fit(&format!("  {}", crate::ui::safe_text::neutralise(&last)), w),
                Style::default().add_modifier(Modifier::DIM | Modifier::ITALIC),
            )));
        }
        live.extend(self.stream.tail(w, light, top_room));
        for (call, started) in &self.running {
            let frame = SPINNER[(started.elapsed().as_millis() / 100) as usize % SPINNER.len()];
            live.push(cells::call_header(
                call,
                &self.cwd,
                w,
                Some(&format!("{frame} running {}s", started.elapsed().as_secs())),
            ));
            if let Some(sub) = self.subagents.get(&call.id) {
                live.extend(sub.lines(w, self.subagents_expanded));
            }
        }
        if live.len() > top_room {
            live.drain(..live.len() - top_room);
        }
        let h = live.len() as u16;
        f.render_widget(
            Paragraph::new(live),
            Rect::new(area.x, area.y, area.width, h),
        );
    }

    /// The input wrapped to `width`, and the cursor's (column, row) in it.
    fn input_lines(&self, width: usize) -> (Vec<Line<'static>>, (usize, usize)) {
        let text = self.composer.text();
        let cursor = self.composer.cursor();
        let mut lines = Vec::new();
        let mut pos = (0, 0);
        let mut at = 0;
        for (li, raw) in text.split('\n').enumerate() {
            let prompt = if li == 0 { "› " } else { "  " };
            let mut row = String::new();
            let mut col = 0;
            let mut first = true;
            for (i, c) in raw.char_indices() {
                if at + i == cursor {
                    pos = (col, lines.len());
                }
                let cw = wrap::width(c.encode_utf8(&mut [0; 4]));
                if col + cw > width {
                    lines.push(Line::from(vec![
                        Span::raw(if first { prompt } else { "  " }),
                        Span::raw(std::mem::take(&mut row)),
                    ]));
                    first = false;
                    col = 0;
                    if at + i == cursor {
                        pos = (0, lines.len());
                    }
                }
                row.push(c);
                col += cw;
            }
            if at + raw.len() == cursor {
                pos = (col, lines.len());
            }
            lines.push(Line::from(vec![
                Span::styled(
                    if first { prompt } else { "  " },
                    Style::default().fg(Color::Cyan),
                ),
                Span::raw(row),
            ]));
            at += raw.len() + 1;
        }
        (lines, pos)
    }

    fn status_line(&self, w: usize) -> Line<'static> {
        if let Some(n) = &self.notice {
            return Line::from(Span::styled(n.clone(), Style::default().fg(Color::Yellow)));
        }
        if self.parked.is_some() {
            return Line::from(Span::styled(
                cells::fit(
                    " denying the call: type what to do instead and press Enter · Esc denies it as it is",
                    w,
                ),
                Style::default().fg(Color::Yellow),
            ));
        }
        let mode = match self.mode {
            PermissionMode::Standard => "standard",
            PermissionMode::AcceptEdits => "accept edits",
            PermissionMode::Unrestricted => "unrestricted",
            PermissionMode::Strict => "strict",
            PermissionMode::Plan => "plan mode",
        };
        // What matters most comes first, so a narrow terminal cuts the least useful part.
        let mut parts = Vec::new();
        if let Some(t) = self.busy_since {
            let frame = SPINNER[(t.elapsed().as_millis() / 100) as usize % SPINNER.len()];
            parts.push(format!("{frame} {}s", t.elapsed().as_secs()));
            if let Some(r) = &self.retry {
                parts.push(r.clone());
            }
            parts.push("esc to interrupt".into());
        }
        parts.extend([
            self.agent_name().to_string(),
            self.conversation.clone(),
            self.model.clone(),
            mode.to_string(),
        ]);
        parts.extend(self.mcp.clone());
        parts.push(format!(
            "↑{} ↓{}",
            compact(self.tokens_in),
            compact(self.tokens_out_live())
        ));
        Line::from(Span::styled(
            cells::fit(&format!(" {}", parts.join(" · ")), w),
            Style::default().add_modifier(Modifier::DIM),
        ))
    }
}
