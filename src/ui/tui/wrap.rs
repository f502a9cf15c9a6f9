//! Wrapping styled text to a width, by display columns (CJK and emoji are two wide).
//!
//! Lines are wrapped here rather than by the renderer so that a cell knows its exact height
//! before it is written to scrollback.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

/// Columns `s` takes on screen.
pub fn width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// Columns a line takes.
pub fn line_width(line: &Line) -> usize {
    line.spans.iter().map(|s| width(&s.content)).sum()
}

/// Tabs as spaces to the next multiple of 8 columns, as a terminal shows them: the renderer
/// would drop them, gluing a line number to its code.
pub fn expand_tabs(line: Line<'static>) -> Line<'static> {
    if !line.spans.iter().any(|s| s.content.contains('\t')) {
        return line;
    }
    let style = line.style;
    let mut col = 0usize;
    let spans: Vec<Span<'static>> = line
        .spans
        .into_iter()
        .map(|s| {
            let mut text = String::with_capacity(s.content.len());
            for c in s.content.chars() {
                if c == '\t' {
                    let n = 8 - col % 8;
                    text.extend(std::iter::repeat_n(' ', n));
                    col += n;
                } else {
                    text.push(c);
                    col += c.width().unwrap_or(0);
                }
            }
            Span::styled(text, s.style)
        })
        .collect();
    Line::from(spans).style(style)
}

/// Wrap `spans` to `width` columns. Breaks after spaces where it can and inside a word only
/// when a word is longer than a line. `first` prefixes the first line and `rest` the others
/// (indents, bullets, quote bars).
pub fn wrap(
    spans: Vec<Span<'static>>,
    width: usize,
    first: Vec<Span<'static>>,
    rest: Vec<Span<'static>>,
) -> Vec<Line<'static>> {
    let prefix_w = |p: &[Span]| p.iter().map(|s| self::width(&s.content)).sum::<usize>();
    // Split into (text, style) pieces at word boundaries: "word " stays together.
    let mut pieces: Vec<(String, Style)> = Vec::new();
    for s in spans {
        let mut cur = String::new();
        for c in s.content.chars() {
            cur.push(c);
            if c == ' ' {
                pieces.push((std::mem::take(&mut cur), s.style));
            }
        }
        if !cur.is_empty() {
            pieces.push((cur, s.style));
        }
    }
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut cur: Vec<Span<'static>> = first.clone();
    // Spans of `cur` that are its prefix; text after them merges into spans of its style.
    let mut fixed = cur.len();
    let mut avail = width.saturating_sub(prefix_w(&first)).max(1);
    let mut used = 0usize;
    let mut glue = false; // the previous piece did not end in a space: this one continues a word
    for (text, style) in pieces {
        let trimmed_w = self::width(text.trim_end_matches(' '));
        if used > 0 && used + trimmed_w > avail && !glue {
            lines.push(finish(std::mem::take(&mut cur)));
            cur.clone_from(&rest);
            fixed = cur.len();
            avail = width.saturating_sub(prefix_w(&rest)).max(1);
            used = 0;
        }
        glue = !text.ends_with(' ');
        if used + trimmed_w <= avail {
            let keep = if used == 0 && !lines.is_empty() {
                text.trim_start_matches(' ').to_string()
            } else {
                text
            };
            used += self::width(&keep);
            push(&mut cur, fixed, keep, style);
            continue;
        }
        // Longer than the room left: break by characters.
        let mut chunk = String::new();
        for c in text.chars() {
            let cw = c.width().unwrap_or(0);
            if used + cw > avail && used > 0 {
                if !chunk.is_empty() {
                    push(&mut cur, fixed, std::mem::take(&mut chunk), style);
                }
                lines.push(finish(std::mem::take(&mut cur)));
                cur.clone_from(&rest);
                fixed = cur.len();
                avail = width.saturating_sub(prefix_w(&rest)).max(1);
                used = 0;
            }
            chunk.push(c);
            used += cw;
        }
        if !chunk.is_empty() {
            push(&mut cur, fixed, chunk, style);
        }
    }
    lines.push(finish(cur));
    lines
}

/// Add `text` to a line being built, into its last span when that has the same style and is
/// not part of the prefix: a line of plain words is one span, not one per word (kept lines
/// cost a fraction of the memory, and draw faster).
fn push(cur: &mut Vec<Span<'static>>, fixed: usize, text: String, style: Style) {
    let own = cur.len() > fixed;
    match cur.last_mut() {
        Some(last) if own && last.style == style => {
            last.content.to_mut().push_str(&text);
        }
        _ => cur.push(Span::styled(text, style)),
    }
}

/// A finished line, without the spaces it was broken after.
fn finish(mut spans: Vec<Span<'static>>) -> Line<'static> {
    while let Some(last) = spans.last() {
        let t = last.content.trim_end_matches(' ');
        if t.len() == last.content.len() {
            break;
        }
        if t.is_empty() && spans.len() > 1 {
            spans.pop();
            continue;
        }
        let t = t.to_string();
        if let Some(last) = spans.last_mut() {
            last.content = t.into();
        }
        break;
    }
    Line::from(spans)
}

/// Wrap lines that may be too wide, keeping each line's style; used for text that is already
/// laid out (tool output, code).
pub fn hard_wrap(line: Line<'static>, width: usize) -> Vec<Line<'static>> {
    if line_width(&line) <= width || width == 0 {
        return vec![line];
    }
    let style = line.style;
    let mut out = Vec::new();
    let mut cur: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for s in line.spans {
        let mut chunk = String::new();
        for c in s.content.chars() {
            let cw = c.width().unwrap_or(0);
            if used + cw > width && used > 0 {
                if !chunk.is_empty() {
                    cur.push(Span::styled(std::mem::take(&mut chunk), s.style));
                }
                out.push(Line::from(std::mem::take(&mut cur)).style(style));
                used = 0;
            }
            chunk.push(c);
            used += cw;
        }
        if !chunk.is_empty() {
            cur.push(Span::styled(chunk, s.style));
        }
    }
    out.push(Line::from(cur).style(style));
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn tabs_expand_to_the_next_stop() {
        let l = expand_tabs(Line::from(vec![Span::raw("     4\tif"), Span::raw("\tx")]));
        let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "     4  if      x");
    }

    use super::*;

    fn text(lines: &[Line]) -> Vec<String> {
        lines.iter().map(std::string::ToString::to_string).collect()
    }

    #[test]
    fn wraps_at_spaces_and_breaks_long_words() {
        let l = wrap(vec![Span::raw("hello brave new world")], 11, vec![], vec![]);
        assert_eq!(text(&l), ["hello brave", "new world"]);
        let l = wrap(vec![Span::raw("abcdefghij")], 4, vec![], vec![]);
        assert_eq!(text(&l), ["abcd", "efgh", "ij"]);
    }

    #[test]
    fn wide_characters_count_two() {
        let l = wrap(vec![Span::raw("日本語のテキスト")], 6, vec![], vec![]);
        assert_eq!(text(&l), ["日本語", "のテキ", "スト"]);
        assert!(l.iter().all(|l| line_width(l) <= 6));
    }

    #[test]
    fn prefixes_first_and_rest() {
        let l = wrap(
            vec![Span::raw("one two three")],
            9,
            vec![Span::raw("• ")],
            vec![Span::raw("  ")],
        );
        assert_eq!(text(&l), ["• one two", "  three"]);
    }

    #[test]
    fn styles_split_inside_words_stay_together() {
        let l = wrap(vec![Span::raw("ab"), Span::raw("cd ef")], 4, vec![], vec![]);
        assert_eq!(text(&l), ["abcd", "ef"]);
    }
}
