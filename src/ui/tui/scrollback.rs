//! Lines put into the scrollback as text. ratatui's `insert_before` renders them into a buffer
//! of cells, copies it and diffs it against an empty one, a few cells' worth of allocation per
//! character: a quarter of the chat view's CPU on a long reply. Here they are written as they
//! are, with the same result on screen (same truncation, same filtering, same styles).

use std::io::Write;

use ratatui::backend::IntoCrossterm;
use ratatui::crossterm::cursor::MoveTo;
use ratatui::crossterm::queue;
use ratatui::crossterm::style::{Attribute, SetAttribute, SetStyle};
use ratatui::style::Style;
use ratatui::text::Line;
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// A backend that can take terminal output as bytes.
pub trait RawOut: ratatui::backend::Backend {
    /// Write and flush `bytes`; `None` (a test backend) when it cannot, leaving it to ratatui.
    fn raw_write(&mut self, _bytes: &[u8]) -> Option<Result<(), Self::Error>> {
        None
    }
}

impl RawOut for ratatui::backend::TestBackend {}

/// The output that scrolls the rows above `top` (where the live area starts, at the bottom of
/// the screen) up and writes `lines` into the rows freed, `width` columns wide.
pub fn encode(lines: &[Line<'_>], top: u16, width: u16, no_color: bool, out: &mut Vec<u8>) {
    if top == 0 {
        return;
    }
    for chunk in lines.chunks(usize::from(top)) {
        let n = chunk.len() as u16;
        // Rows scrolled in take the current background: none.
        let _ = queue!(out, SetAttribute(Attribute::Reset));
        // DECSTBM on the rows above the live area, scroll, then the whole screen again.
        let _ = write!(out, "\x1b[1;{top}r\x1b[{n}S\x1b[r");
        for (i, line) in chunk.iter().enumerate() {
            let _ = queue!(out, MoveTo(0, top - n + i as u16));
            write_line(line, width, no_color, out);
            let _ = queue!(out, SetAttribute(Attribute::Reset));
        }
    }
}

/// One line, cut at `width` columns as a paragraph would cut it.
fn write_line(line: &Line<'_>, width: u16, no_color: bool, out: &mut Vec<u8>) {
    let mut room = usize::from(width);
    let mut current: Option<Style> = None;
    for span in &line.spans {
        if room == 0 {
            return;
        }
        let mut style = line.style.patch(span.style);
        if no_color {
            style.fg = None;
            style.bg = None;
        }
        let text = span.content.as_ref();
        if current != Some(style) {
            let _ = queue!(
                out,
                SetAttribute(Attribute::Reset),
                SetStyle(style.into_crossterm())
            );
            current = Some(style);
        }
        // Printable ASCII is one column a byte: no need to split it into graphemes.
        if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            let take = text.len().min(room);
            out.extend_from_slice(&text.as_bytes()[..take]);
            room -= take;
            continue;
        }
        for g in text.graphemes(true) {
            // What a paragraph skips: control characters and zero-width clusters.
            if g.contains(char::is_control) {
                continue;
            }
            let w = g.width();
            if w == 0 {
                continue;
            }
            if w > room {
                return;
            }
            out.extend_from_slice(g.as_bytes());
            room -= w;
            // A terminal may draw a wide cluster (an emoji sequence) at another width than
            // Unicode says: put the cursor where the next cell belongs, as ratatui does.
            if w > 1 && room > 0 {
                let _ = write!(out, "\x1b[{}G", usize::from(width) - room + 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::style::{Modifier, Stylize};
    use ratatui::text::Span;
    use ratatui::widgets::{Paragraph, Widget};

    /// The lines as a terminal shows them after [`encode`], from a screen that had `top`
    /// rows of older text above a live area.
    fn screen_after(lines: &[Line<'static>], w: u16, h: u16, top: u16) -> vt100::Parser {
        let nz = |n: u16| std::num::NonZeroU16::new(n).unwrap();
        let mut p = vt100::Parser::new(nz(h), nz(w), 100);
        for r in 0..top {
            p.process(format!("\x1b[{};1Hold{r}", r + 1).as_bytes());
        }
        p.process(format!("\x1b[{};1Hlive area", top + 1).as_bytes());
        let mut out = Vec::new();
        encode(lines, top, w, false, &mut out);
        p.process(&out);
        p
    }

    /// What ratatui's own insertion shows for the same lines.
    fn ratatui_rows(lines: &[Line<'static>], w: u16) -> Vec<String> {
        let mut t = Terminal::new(TestBackend::new(w, lines.len() as u16)).unwrap();
        t.draw(|f| Paragraph::new(lines.to_vec()).render(f.area(), f.buffer_mut()))
            .unwrap();
        let buf = t.backend().buffer().clone();
        (0..buf.area.height)
            .map(|y| {
                let mut s = String::new();
                let mut x = 0;
                while x < buf.area.width {
                    // A wide character's second column is a cell of its own here.
                    let sym = buf[(x, y)].symbol();
                    s.push_str(sym);
                    x += sym.width().max(1) as u16;
                }
                s.trim_end().to_string()
            })
            .collect()
    }

    fn lines() -> Vec<Line<'static>> {
        vec![
            Line::from("plain ascii that is longer than the screen is wide, cut"),
            Line::from(vec![
                Span::raw("a "),
                Span::styled("bold", Style::new().add_modifier(Modifier::BOLD)),
                Span::raw(" and "),
                "red".red(),
            ]),
            Line::from("wide 漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字"),
            Line::from("tab\there, bell\u{7} and e\u{301} combined"),
            Line::from(""),
            Line::from("last").style(Style::new().italic()),
        ]
    }

    #[test]
    fn lines_look_as_ratatui_would_draw_them() {
        let lines = lines();
        let (w, h, top) = (40, 12, 8);
        let p = screen_after(&lines, w, h, top);
        let rows: Vec<String> = (0..top)
            .map(|r| {
                p.screen()
                    .contents_between(r, 0, r, w)
                    .trim_end()
                    .to_string()
            })
            .collect();
        let expected = ratatui_rows(&lines, w);
        // The two older rows that still fit stay above the new ones.
        assert_eq!(rows[..2], ["old6".to_string(), "old7".to_string()]);
        assert_eq!(rows[2..], expected[..]);
        assert_eq!(
            p.screen().contents_between(top, 0, top, w).trim_end(),
            "live area"
        );
        let bold = p.screen().cell(3, 2).unwrap();
        assert!(bold.bold(), "the style of a span is kept");
        let red = p.screen().cell(3, 11).unwrap();
        assert_eq!(red.fgcolor(), vt100::Color::Idx(1));
        assert!(
            p.screen().cell(7, 0).unwrap().italic(),
            "and a line's style"
        );
        assert!(!p.screen().cell(6, 0).unwrap().italic(), "only on its line");
    }

    #[test]
    fn more_lines_than_rows_go_on_into_the_scrollback_in_order() {
        let lines: Vec<Line<'static>> = (0..25).map(|i| Line::from(format!("n{i}"))).collect();
        let (w, h, top) = (20, 8, 5);
        let mut p = screen_after(&lines, w, h, top);
        let mut seen = Vec::new();
        // vt100 scrolls the screen into its scrollback; read it from the top down.
        let back = p.screen().scrollback_len();
        for off in (0..=back).rev() {
            p.screen_mut().set_scrollback(off);
            let row = p
                .screen()
                .contents_between(0, 0, 0, w)
                .trim_end()
                .to_string();
            seen.push(row);
        }
        p.screen_mut().set_scrollback(0);
        for r in 1..top {
            seen.push(
                p.screen()
                    .contents_between(r, 0, r, w)
                    .trim_end()
                    .to_string(),
            );
        }
        let words: Vec<&String> = seen.iter().filter(|s| s.starts_with('n')).collect();
        let want: Vec<String> = (0..25).map(|i| format!("n{i}")).collect();
        assert_eq!(words, want.iter().collect::<Vec<_>>());
    }

    #[test]
    fn after_a_wide_cluster_the_cursor_is_put_in_its_column() {
        // A terminal that draws the cluster one column narrower still puts "a" in column 3.
        let mut out = Vec::new();
        write_line(&Line::from("漢a"), 10, false, &mut out);
        let s = String::from_utf8(out).unwrap();
        assert!(s.ends_with("漢\x1b[3Ga"), "{s:?}");
    }

    #[test]
    fn no_color_keeps_modifiers_only() {
        let line = Line::from(vec!["red".red().bold()]);
        let mut out = Vec::new();
        encode(&[line], 4, 10, true, &mut out);
        let nz = |n: u16| std::num::NonZeroU16::new(n).unwrap();
        let mut p = vt100::Parser::new(nz(6), nz(10), 0);
        p.process(&out);
        let c = p.screen().cell(3, 0).unwrap();
        assert_eq!(c.fgcolor(), vt100::Color::Default);
        assert!(c.bold());
    }
}
