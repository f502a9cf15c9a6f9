//! Coloured unified diffs with line numbers, for Edit, MultiEdit and Write.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use similar::{ChangeTag, TextDiff};

use super::wrap;
use crate::ui::safe_text::neutralise;

/// Counts shown in the summary line ("2 additions and 1 removal").
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub added: usize,
    pub removed: usize,
}

impl Counts {
    /// "Updated with 2 additions and 1 removal".
    pub fn describe(&self) -> String {
        let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
        format!(
            "{} and {}",
            plural(self.added, "addition"),
            plural(self.removed, "removal")
        )
    }
}

/// The diff of `old` → `new` (both starting at line `first_line` of the file), with 3 lines
/// of context, each line numbered and coloured.
pub fn lines(
    old: &str,
    new: &str,
    first_line: usize,
    width: usize,
) -> (Vec<Line<'static>>, Counts) {
    let diff = TextDiff::from_lines(old, new);
    let mut out = Vec::new();
    let mut counts = Counts::default();
    let num_w = (first_line + old.lines().count().max(new.lines().count()))
        .to_string()
        .len();
    for (gi, group) in diff.grouped_ops(3).iter().enumerate() {
        if gi > 0 {
            out.push(Line::from(Span::styled(
                format!("{:>num_w$}  ⋮", ""),
                Style::default().add_modifier(Modifier::DIM),
            )));
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let (sign, style, num) = match change.tag() {
                    ChangeTag::Delete => {
                        counts.removed += 1;
                        (
                            "-",
                            Style::default().fg(Color::Red),
                            change.old_index().map(|i| i + first_line),
                        )
                    }
                    ChangeTag::Insert => {
                        counts.added += 1;
                        (
                            "+",
                            Style::default().fg(Color::Green),
                            change.new_index().map(|i| i + first_line),
                        )
                    }
                    ChangeTag::Equal => (
                        " ",
                        Style::default(),
                        change.new_index().map(|i| i + first_line),
                    ),
                };
                let text = neutralise(change.value().trim_end_matches(['\n', '\r']));
                let num = num.map(|n| n.to_string()).unwrap_or_default();
                let line = Line::from(vec![
                    Span::styled(
                        format!("{num:>num_w$} "),
                        Style::default().add_modifier(Modifier::DIM),
                    ),
                    Span::styled(format!("{sign} {text}"), style),
                ]);
                out.extend(wrap::hard_wrap(line, width));
            }
        }
    }
    (out, counts)
}

/// The 1-based line where `needle` starts in `hay` (1 when it is not there).
pub fn line_of(hay: &str, needle: &str) -> usize {
    if needle.is_empty() {
        return 1;
    }
    hay.find(needle)
        .map_or(1, |at| hay[..at].matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_and_counted() {
        let (l, c) = lines("a\nb\nc\n", "a\nB\nc\nd\n", 10, 80);
        let t: Vec<String> = l.iter().map(std::string::ToString::to_string).collect();
        assert_eq!(t, ["10   a", "11 - b", "11 + B", "12   c", "13 + d"]);
        assert_eq!(
            c,
            Counts {
                added: 2,
                removed: 1
            }
        );
        assert_eq!(c.describe(), "2 additions and 1 removal");
        assert_eq!(line_of("x\ny\nz", "z"), 3);
    }
}
