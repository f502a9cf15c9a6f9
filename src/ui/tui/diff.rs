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

/// An edit shown as whole lines of the file with 3 lines of context around it, numbered as
/// in the file: `found` is the edit's text as `file` holds it now and `other` its other side.
/// `before` says which side `file` is (before the edit: a preview; after it: a result).
/// `None` when the text is not in the file.
pub fn in_file(
    file: &str,
    found: &str,
    other: &str,
    before: bool,
    width: usize,
) -> Option<(Vec<Line<'static>>, Counts)> {
    // Only where the text is unmistakable: the first of several places may not be the edit.
    if found.is_empty() || file.matches(found).nth(1).is_some() {
        return None;
    }
    let at = file.find(found)?;
    let end_of = |i: usize| file[i..].find('\n').map_or(file.len(), |n| i + n + 1);
    let mut start = file[..at].rfind('\n').map_or(0, |i| i + 1);
    let mut end = end_of(at + found.len());
    for _ in 0..3 {
        if start > 0 {
            start = file[..start - 1].rfind('\n').map_or(0, |i| i + 1);
        }
        if end < file.len() {
            end = end_of(end);
        }
    }
    let shown = &file[start..end];
    let swapped = format!(
        "{}{other}{}",
        &file[start..at],
        &file[at + found.len()..end]
    );
    let first_line = file[..start].matches('\n').count() + 1;
    Some(if before {
        lines(shown, &swapped, first_line, width)
    } else {
        lines(&swapped, shown, first_line, width)
    })
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

    #[test]
    fn an_edit_shows_whole_lines_with_context() {
        let file = "one\ntwo\nthree\nsay hello world now\nfive\nsix\nseven\neight\nnine\n";
        let (l, c) = in_file(file, "hello world", "hello letta", true, 80).unwrap();
        let t: Vec<String> = l.iter().map(std::string::ToString::to_string).collect();
        assert_eq!(
            t,
            [
                "1   one",
                "2   two",
                "3   three",
                "4 - say hello world now",
                "4 + say hello letta now",
                "5   five",
                "6   six",
                "7   seven"
            ]
        );
        assert_eq!((c.added, c.removed), (1, 1));
        // After the edit the same lines come out, read from the new file.
        let after = file.replace("hello world", "hello letta");
        let (l2, _) = in_file(&after, "hello letta", "hello world", false, 80).unwrap();
        assert_eq!(
            l2.iter()
                .map(std::string::ToString::to_string)
                .collect::<Vec<_>>(),
            t
        );
        assert!(in_file(file, "absent", "x", true, 80).is_none());
        assert!(
            in_file("a\nb\na\n", "a", "x", true, 80).is_none(),
            "twice: not placed"
        );
    }
}
