//! Streaming markdown: complete lines are committed as they arrive, while an open code fence
//! or table is held back (shown live) until it closes, since a renderer without state would
//! draw it wrongly half-way.

use ratatui::text::Line;

use super::markdown;

/// The assistant message being streamed.
#[derive(Debug, Default)]
pub struct MdStream {
    src: String,
    /// Where the current segment (text since the last blank line) starts.
    seg_start: usize,
    /// Lines of the current segment already committed.
    committed: usize,
    /// A blank line is owed before the next committed line (a segment ended).
    owe_blank: bool,
    any: bool,
}

/// Where held-back text starts, found by scanning the complete lines of a segment.
struct Scan {
    /// Start of the held block (open fence or a table still growing); `None` when nothing is held.
    hold: Option<usize>,
    /// The start of the last line a new segment may begin at, and whether a blank line is owed
    /// before it (the line before was blank, a heading, a fence or a table row).
    boundary: Option<(usize, bool)>,
}

fn is_fence(line: &str) -> bool {
    let t = line.trim_start_matches(' ');
    line.len() - t.len() < 4 && (t.starts_with("```") || t.starts_with("~~~"))
}

fn is_table_row(line: &str) -> bool {
    line.trim_start().starts_with('|')
}

/// A line that renders the same alone as after what came before: it starts a block at the
/// left margin (not a continuation, a nested item or a setext underline).
fn starts_block(line: &str) -> bool {
    let Some(c) = line.chars().next() else {
        return false;
    };
    !c.is_whitespace()
        && !is_table_row(line)
        && !line.trim_end().chars().all(|c| c == '=' || c == '-')
}

fn scan(src: &str, from: usize, to: usize) -> Scan {
    let mut fence: Option<usize> = None;
    let mut table: Option<usize> = None;
    let mut boundary = None;
    let mut prev_blank_like = false;
    let mut at = from;
    for line in src[from..to].split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        if fence.is_none() && at > from && starts_block(body) && !is_fence(body) {
            boundary = Some((at, prev_blank_like));
        }
        if is_fence(body) {
            fence = match fence {
                Some(_) => None,
                None => Some(at),
            };
            table = None;
            prev_blank_like = true;
        } else if fence.is_none() {
            if is_table_row(body) {
                table.get_or_insert(at);
                prev_blank_like = true;
            } else {
                table = None;
                prev_blank_like = body.trim().is_empty() || body.starts_with('#');
            }
        }
        at += line.len();
    }
    Scan {
        hold: fence.or(table),
        boundary,
    }
}

impl MdStream {
    /// Whether nothing has arrived yet.
    pub fn is_empty(&self) -> bool {
        self.src.is_empty()
    }

    /// The full text so far.
    pub fn text(&self) -> &str {
        &self.src
    }

    /// Add a delta; returns the lines it completed, ready for scrollback.
    pub fn push(&mut self, delta: &str, width: usize, light: bool) -> Vec<Line<'static>> {
        self.src.push_str(delta);
        if !delta.contains('\n') {
            return Vec::new();
        }
        let complete = self.src.rfind('\n').map_or(0, |i| i + 1);
        self.commit_until(complete, width, light)
    }

    fn commit_until(&mut self, end: usize, width: usize, light: bool) -> Vec<Line<'static>> {
        let mut out = Vec::new();
        let s = scan(&self.src, self.seg_start, end);
        let hold = s.hold.unwrap_or(end);
        if let Some((b, blank)) = s.boundary.filter(|(b, _)| *b <= hold) {
            // Finish the segment that ends there, then start a new one: each render then
            // covers only the lines since, not the whole message.
            self.emit(self.seg_start, b, width, light, &mut out);
            if self.any && blank {
                self.owe_blank = true;
            }
            self.seg_start = b;
            self.committed = 0;
        }
        self.emit(self.seg_start, hold, width, light, &mut out);
        out
    }

    fn emit(
        &mut self,
        from: usize,
        to: usize,
        width: usize,
        light: bool,
        out: &mut Vec<Line<'static>>,
    ) {
        if to <= from {
            return;
        }
        let lines = markdown::render(&self.src[from..to], width, light);
        if lines.len() > self.committed {
            if std::mem::take(&mut self.owe_blank) {
                out.push(Line::default());
            }
            out.extend(lines[self.committed..].iter().cloned());
            self.committed = lines.len();
            self.any = true;
        }
    }

    /// What is not committed yet, rendered for the live area (at most `max` lines, the last).
    pub fn tail(&self, width: usize, light: bool, max: usize) -> Vec<Line<'static>> {
        let complete = self.src.rfind('\n').map_or(0, |i| i + 1);
        let s = scan(&self.src, self.seg_start, complete);
        let mut lines = if let Some(h) = s.hold {
            let mut held = self.src[h..].to_string();
            let open_fence = held.lines().next().is_some_and(is_fence);
            if open_fence {
                // Only the last lines of a long block are visible anyway.
                let mut all: Vec<&str> = held.lines().collect();
                if all.len() > max + 1 {
                    let first = all[0];
                    let keep = all.split_off(all.len() - max);
                    held = std::iter::once(first)
                        .chain(keep)
                        .collect::<Vec<_>>()
                        .join("\n");
                }
                held.push_str("\n```");
            }
            let mut l = markdown::render(&held, width, light);
            if open_fence {
                // The closing fence was ours.
                while l.last().is_some_and(|x| x.to_string().trim().is_empty()) {
                    l.pop();
                }
            }
            l
        } else {
            let partial = &self.src[complete..];
            if partial.trim().is_empty() {
                Vec::new()
            } else {
                markdown::render(partial, width, light)
            }
        };
        if lines.len() > max {
            lines.drain(..lines.len() - max);
        }
        lines
    }

    /// The message ended: every remaining line.
    pub fn finish(&mut self, width: usize, light: bool) -> Vec<Line<'static>> {
        let mut out = Vec::new();
        let end = self.src.len();
        self.emit(self.seg_start, end, width, light, &mut out);
        self.seg_start = end;
        self.committed = 0;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(l: &[Line]) -> Vec<String> {
        l.iter().map(std::string::ToString::to_string).collect()
    }

    #[test]
    fn lines_commit_as_they_complete() {
        let mut s = MdStream::default();
        assert!(s.push("Hel", 40, false).is_empty());
        assert_eq!(texts(&s.tail(40, false, 5)), ["Hel"]);
        assert_eq!(texts(&s.push("lo\nwor", 40, false)), ["Hello"]);
        assert_eq!(texts(&s.push("ld\n\nnext", 40, false)), ["world"]);
        assert_eq!(texts(&s.finish(40, false)), ["", "next"]);
    }

    #[test]
    fn an_open_fence_is_held_until_it_closes() {
        let mut s = MdStream::default();
        assert_eq!(
            texts(&s.push("Code:\n```rust\nlet a = 1;\n", 40, false)),
            ["Code:"]
        );
        assert_eq!(texts(&s.tail(40, false, 5)), ["  let a = 1;"]);
        let done = s.push("```\nafter\n", 40, false);
        assert_eq!(texts(&done), ["", "  let a = 1;", "", "after"]);
    }

    #[test]
    fn a_table_is_held_while_rows_arrive() {
        let mut s = MdStream::default();
        assert!(
            s.push("| a | b |\n|---|---|\n| 1 | 2 |\n", 40, false)
                .is_empty()
        );
        assert_eq!(s.tail(40, false, 10).len(), 5);
        let done = s.push("\nok\n", 40, false);
        assert_eq!(texts(&done)[0], "┌───┬───┐");
        assert_eq!(texts(&done).last().map(String::as_str), Some("ok"));
    }
}
