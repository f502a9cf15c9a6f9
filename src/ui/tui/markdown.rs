//! Markdown (from the model) to styled, wrapped lines, with pulldown-cmark.
//!
//! A soft break is kept as a line break: streamed text is committed line by line, so a line
//! must render the same whatever comes after it.

use pulldown_cmark::{Alignment, CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use super::highlight;
use super::wrap::{self, wrap};

/// One open container (list item or quote): its prefix for the first line and the rest.
struct Container {
    first: Option<Vec<Span<'static>>>,
    rest: Vec<Span<'static>>,
}

struct Table {
    aligns: Vec<Alignment>,
    rows: Vec<Vec<Vec<Span<'static>>>>,
    cell: Vec<Span<'static>>,
    row: Vec<Vec<Span<'static>>>,
}

struct Renderer {
    width: usize,
    light: bool,
    out: Vec<Line<'static>>,
    inline: Vec<Span<'static>>,
    styles: Vec<Style>,
    containers: Vec<Container>,
    lists: Vec<Option<u64>>,
    code: Option<(String, String)>,
    table: Option<Table>,
    link: Option<String>,
    heading: Option<HeadingLevel>,
    need_blank: bool,
}

/// Render `src` at `width` columns.
pub fn render(src: &str, width: usize, light: bool) -> Vec<Line<'static>> {
    let mut r = Renderer {
        width: width.max(8),
        light,
        out: Vec::new(),
        inline: Vec::new(),
        styles: vec![Style::default()],
        containers: Vec::new(),
        lists: Vec::new(),
        code: None,
        table: None,
        link: None,
        heading: None,
        need_blank: false,
    };
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    for ev in Parser::new_ext(src, opts) {
        r.event(ev);
    }
    r.flush();
    if let Some((lang, code)) = r.code.take() {
        r.code_block(&lang, &code);
    }
    r.out
}

impl Renderer {
    fn style(&self) -> Style {
        self.styles.last().copied().unwrap_or_default()
    }

    fn push_style(&mut self, f: impl FnOnce(Style) -> Style) {
        let s = f(self.style());
        self.styles.push(s);
    }

    fn text(&mut self, t: &str) {
        let style = self.style();
        if let Some(table) = &mut self.table {
            table.cell.push(Span::styled(t.to_string(), style));
        } else {
            self.inline.push(Span::styled(t.to_string(), style));
        }
    }

    fn prefixes(&mut self) -> (Vec<Span<'static>>, Vec<Span<'static>>) {
        let mut first = Vec::new();
        let mut rest = Vec::new();
        for c in &mut self.containers {
            match c.first.take() {
                Some(f) => first.extend(f),
                None => first.extend(c.rest.iter().cloned()),
            }
            rest.extend(c.rest.iter().cloned());
        }
        (first, rest)
    }

    fn blank_if_needed(&mut self) {
        if self.need_blank && !self.out.is_empty() {
            let (_, rest) = self.prefixes_peek();
            self.out.push(Line::from(rest));
        }
        self.need_blank = false;
    }

    /// The prefixes without consuming a first-line bullet (for blank lines inside containers).
    fn prefixes_peek(&self) -> (Vec<Span<'static>>, Vec<Span<'static>>) {
        let rest: Vec<Span<'static>> = self
            .containers
            .iter()
            .flat_map(|c| c.rest.iter().cloned())
            .map(|s| Span::styled(s.content.trim_end().to_string(), s.style))
            .collect();
        (rest.clone(), rest)
    }

    /// Emit the inline text gathered so far as wrapped lines.
    fn flush(&mut self) {
        if self.inline.is_empty() {
            return;
        }
        let spans = std::mem::take(&mut self.inline);
        let (first, rest) = self.prefixes();
        self.out.extend(wrap(spans, self.width, first, rest));
    }

    fn code_block(&mut self, lang: &str, code: &str) {
        let (_, rest) = self.prefixes();
        let indent = Span::raw("  ");
        for line in highlight::highlight(code, lang, self.light) {
            let mut spans = rest.clone();
            spans.push(indent.clone());
            spans.extend(line.spans);
            self.out
                .extend(wrap::hard_wrap(Line::from(spans), self.width));
        }
    }

    fn event(&mut self, ev: Event) {
        match ev {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => match &mut self.code {
                Some((_, code)) => code.push_str(&t),
                None => self.text(&t),
            },
            Event::Code(t) => {
                let style = self.style().fg(Color::Cyan);
                let span = Span::styled(t.to_string(), style);
                match &mut self.table {
                    Some(table) => table.cell.push(span),
                    None => self.inline.push(span),
                }
            }
            Event::SoftBreak | Event::HardBreak if self.table.is_none() => self.flush(),
            Event::Rule => {
                self.flush();
                self.blank_if_needed();
                let w = self.width.min(80);
                self.out.push(Line::from(Span::styled(
                    "─".repeat(w),
                    Style::default().add_modifier(Modifier::DIM),
                )));
                self.need_blank = true;
            }
            Event::TaskListMarker(done) => {
                self.text(if done { "[x] " } else { "[ ] " });
            }
            Event::Html(t) | Event::InlineHtml(t) => {
                for (i, l) in t.lines().enumerate() {
                    if i > 0 {
                        self.flush();
                    }
                    self.text(l);
                }
            }
            Event::FootnoteReference(t) => self.text(&format!("[{t}]")),
            _ => {}
        }
    }

    fn start(&mut self, tag: Tag) {
        match tag {
            Tag::Paragraph => {
                self.flush();
                self.blank_if_needed();
            }
            Tag::Heading { level, .. } => {
                self.flush();
                self.blank_if_needed();
                self.heading = Some(level);
                self.push_style(|s| match level {
                    HeadingLevel::H1 => s
                        .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
                        .fg(Color::Magenta),
                    HeadingLevel::H2 => s.add_modifier(Modifier::BOLD).fg(Color::Magenta),
                    _ => s.add_modifier(Modifier::BOLD),
                });
            }
            Tag::BlockQuote(_) => {
                self.flush();
                self.blank_if_needed();
                let bar = Span::styled("│ ", Style::default().fg(Color::DarkGray));
                self.containers.push(Container {
                    first: None,
                    rest: vec![bar],
                });
                self.push_style(|s| s.add_modifier(Modifier::ITALIC));
            }
            Tag::CodeBlock(kind) => {
                self.flush();
                self.blank_if_needed();
                let lang = match kind {
                    CodeBlockKind::Fenced(l) => l.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                self.code = Some((lang, String::new()));
            }
            Tag::List(start) => {
                self.flush();
                if self.lists.is_empty() {
                    self.blank_if_needed();
                }
                self.lists.push(start);
            }
            Tag::Item => {
                self.flush();
                let depth = self.lists.len().saturating_sub(1);
                let bullet = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let b = format!("{n}. ");
                        *n += 1;
                        b
                    }
                    _ => ["• ", "◦ ", "▪ "][depth % 3].to_string(),
                };
                let w = wrap::width(&bullet);
                self.containers.push(Container {
                    first: Some(vec![Span::styled(bullet, Style::default().fg(Color::Cyan))]),
                    rest: vec![Span::raw(" ".repeat(w))],
                });
            }
            Tag::Emphasis => self.push_style(|s| s.add_modifier(Modifier::ITALIC)),
            Tag::Strong => self.push_style(|s| s.add_modifier(Modifier::BOLD)),
            Tag::Strikethrough => self.push_style(|s| s.add_modifier(Modifier::CROSSED_OUT)),
            Tag::Link { dest_url, .. } => {
                self.link = Some(dest_url.to_string());
                self.push_style(|s| s.fg(Color::Blue).add_modifier(Modifier::UNDERLINED));
            }
            Tag::Image { dest_url, .. } => {
                self.link = Some(dest_url.to_string());
                self.push_style(|s| s.add_modifier(Modifier::ITALIC));
            }
            Tag::Table(aligns) => {
                self.flush();
                self.blank_if_needed();
                self.table = Some(Table {
                    aligns,
                    rows: Vec::new(),
                    cell: Vec::new(),
                    row: Vec::new(),
                });
            }
            Tag::TableHead | Tag::TableRow | Tag::TableCell => {}
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => {
                self.flush();
                self.need_blank = true;
            }
            TagEnd::Heading(_) => {
                self.flush();
                self.styles.pop();
                self.heading = None;
                self.need_blank = true;
            }
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.containers.pop();
                self.styles.pop();
                self.need_blank = true;
            }
            TagEnd::CodeBlock => {
                if let Some((lang, code)) = self.code.take() {
                    self.code_block(&lang, &code);
                }
                self.need_blank = true;
            }
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
                if self.lists.is_empty() {
                    self.need_blank = true;
                }
            }
            TagEnd::Item => {
                self.flush();
                self.containers.pop();
                self.need_blank = false;
            }
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => {
                self.styles.pop();
            }
            TagEnd::Link | TagEnd::Image => {
                self.styles.pop();
                if let Some(url) = self.link.take() {
                    let shown: String = self.inline.iter().map(|s| s.content.as_ref()).collect();
                    if !url.is_empty() && !shown.ends_with(&url) {
                        let dim = Style::default().add_modifier(Modifier::DIM);
                        self.inline.push(Span::styled(format!(" ({url})"), dim));
                    }
                }
            }
            TagEnd::TableCell => {
                if let Some(t) = &mut self.table {
                    let cell = std::mem::take(&mut t.cell);
                    t.row.push(cell);
                }
            }
            TagEnd::TableHead | TagEnd::TableRow => {
                if let Some(t) = &mut self.table {
                    let row = std::mem::take(&mut t.row);
                    t.rows.push(row);
                }
            }
            TagEnd::Table => {
                if let Some(t) = self.table.take() {
                    self.table_lines(t);
                }
                self.need_blank = true;
            }
            _ => {}
        }
    }

    fn table_lines(&mut self, t: Table) {
        let cols = t.rows.iter().map(Vec::len).max().unwrap_or(0);
        if cols == 0 {
            return;
        }
        let cell_w = |c: &Vec<Span>| c.iter().map(|s| wrap::width(&s.content)).sum::<usize>();
        let mut widths = vec![1usize; cols];
        for row in &t.rows {
            for (i, c) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell_w(c));
            }
        }
        // Shrink the widest columns until the table fits (3 columns of borders per column).
        let room = self.width.saturating_sub(cols * 3 + 1).max(cols);
        while widths.iter().sum::<usize>() > room {
            let Some((i, _)) = widths.iter().enumerate().max_by_key(|(_, w)| **w) else {
                break;
            };
            if widths[i] <= 1 {
                break;
            }
            widths[i] -= 1;
        }
        let border = Style::default().fg(Color::DarkGray);
        let rule = |l: &str, m: &str, r: &str| {
            let mut s = String::from(l);
            for (i, w) in widths.iter().enumerate() {
                s.push_str(&"─".repeat(w + 2));
                s.push_str(if i + 1 == cols { r } else { m });
            }
            Line::from(Span::styled(s, border))
        };
        self.out.push(rule("┌", "┬", "┐"));
        for (ri, row) in t.rows.iter().enumerate() {
            let mut spans = vec![Span::styled("│", border)];
            for (i, w) in widths.iter().enumerate() {
                let cell = row.get(i).cloned().unwrap_or_default();
                let mut cell = fit(cell, *w);
                if ri == 0 {
                    for s in &mut cell {
                        s.style = s.style.add_modifier(Modifier::BOLD);
                    }
                }
                let pad = w.saturating_sub(cell_w(&cell));
                let (l, r) = match t.aligns.get(i) {
                    Some(Alignment::Right) => (pad, 0),
                    Some(Alignment::Center) => (pad / 2, pad - pad / 2),
                    _ => (0, pad),
                };
                spans.push(Span::raw(" ".repeat(l + 1)));
                spans.extend(cell);
                spans.push(Span::raw(" ".repeat(r + 1)));
                spans.push(Span::styled("│", border));
            }
            self.out.push(Line::from(spans));
            if ri == 0 {
                self.out.push(rule("├", "┼", "┤"));
            }
        }
        self.out.push(rule("└", "┴", "┘"));
    }
}

/// Cut a cell to `w` columns, ending with "…" when it had to be cut.
fn fit(cell: Vec<Span<'static>>, w: usize) -> Vec<Span<'static>> {
    let total: usize = cell.iter().map(|s| wrap::width(&s.content)).sum();
    if total <= w {
        return cell;
    }
    let mut out = Vec::new();
    let mut used = 0;
    for s in cell {
        let mut t = String::new();
        for c in s.content.chars() {
            let cw = wrap::width(c.encode_utf8(&mut [0; 4]));
            if used + cw + 1 > w {
                break;
            }
            t.push(c);
            used += cw;
        }
        out.push(Span::styled(t, s.style));
        if used + 1 >= w {
            break;
        }
    }
    out.push(Span::raw("…"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(src: &str, w: usize) -> Vec<String> {
        render(src, w, false)
            .iter()
            .map(std::string::ToString::to_string)
            .collect()
    }

    #[test]
    fn paragraphs_lists_and_breaks() {
        assert_eq!(
            text("Hello **world**\nnext line\n\n- a\n- b\n\n1. x\n2. y", 40),
            [
                "Hello world",
                "next line",
                "",
                "• a",
                "• b",
                "",
                "1. x",
                "2. y"
            ]
        );
    }

    #[test]
    fn code_blocks_are_indented_and_tables_boxed() {
        let t = text(
            "```rust\nlet x = 1;\n```\n\n| a | bb |\n|---|---:|\n| 1 | 2 |",
            40,
        );
        assert_eq!(
            t,
            [
                "  let x = 1;",
                "",
                "┌───┬────┐",
                "│ a │ bb │",
                "├───┼────┤",
                "│ 1 │  2 │",
                "└───┴────┘"
            ]
        );
    }

    #[test]
    fn quotes_headings_links() {
        let t = text("# Title\n\n> quoted\n\nsee [docs](https://x.y)", 40);
        assert_eq!(t, ["Title", "", "│ quoted", "", "see docs (https://x.y)"]);
    }
}
