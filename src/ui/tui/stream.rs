//! Streaming markdown: complete lines are committed as they arrive, while an open code fence
//! or table is held back (shown live) until it closes, since a renderer without state would
//! draw it wrongly half-way.
//!
//! Every step costs what arrived since the last one: the scan of the current segment
//! resumes where it stopped, and a line that grows without a newline is committed in pieces
//! at word breaks, so a reply of any length streams in linear time.

use ratatui::text::Line;

use super::markdown;

/// A line without a newline is committed in pieces once it is this long (bytes)...
const CUT_AT: usize = 2048;
/// ...keeping at least this much of its end live, so the cut falls at a settled word.
const KEEP: usize = 256;

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
    /// End of the settled text: after the last newline, or where a long line was cut.
    done: usize,
    /// The scan of the current segment's settled lines so far.
    scan: Scan,
    /// The width lines were committed at.
    width: usize,
}

/// Where held-back text starts, found by scanning the complete lines of a segment. The scan
/// is resumable: `at` is how far it got.
#[derive(Debug, Default, Clone)]
struct Scan {
    from: usize,
    at: usize,
    fence: Option<usize>,
    table: Option<usize>,
    /// The start of the last line a new segment may begin at, and whether a blank line is owed
    /// before it (the line before was blank, a heading, a fence or a table row).
    boundary: Option<(usize, bool)>,
    prev_blank_like: bool,
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

/// Whether text starting with `word` reads as a plain paragraph at the start of a line (not a
/// list item, heading, quote, fence or table), so a long line may be continued there.
fn plain_start(word: &str) -> bool {
    let Some(c) = word.chars().next() else {
        return false;
    };
    if !c.is_alphanumeric() {
        return false;
    }
    let digits = word.chars().take_while(char::is_ascii_digit).count();
    !(digits > 0 && matches!(word[digits..].chars().next(), Some('.' | ')')))
}

impl Scan {
    fn new(from: usize) -> Self {
        Self {
            from,
            at: from,
            ..Self::default()
        }
    }

    /// Held block start: an open fence, or a table still growing.
    fn hold(&self) -> Option<usize> {
        self.fence.or(self.table)
    }

    /// Scan the complete lines of `src[self.at..to]`.
    fn advance(&mut self, src: &str, to: usize) {
        if to <= self.at {
            return;
        }
        for line in src[self.at..to].split_inclusive('\n') {
            let at = self.at;
            let body = line.trim_end_matches(['\n', '\r']);
            if self.fence.is_none() && at > self.from && starts_block(body) && !is_fence(body) {
                self.boundary = Some((at, self.prev_blank_like));
            }
            if is_fence(body) {
                self.fence = match self.fence {
                    Some(_) => None,
                    None => Some(at),
                };
                self.table = None;
                self.prev_blank_like = true;
            } else if self.fence.is_none() {
                if is_table_row(body) {
                    self.table.get_or_insert(at);
                    self.prev_blank_like = true;
                } else {
                    self.table = None;
                    self.prev_blank_like = body.trim().is_empty() || body.starts_with('#');
                }
            }
            self.at += line.len();
        }
    }
}

impl MdStream {
    /// Whether nothing has arrived yet.
    pub fn is_empty(&self) -> bool {
        self.src.is_empty()
    }

    /// Add a delta; returns the lines it completed, ready for scrollback.
    pub fn push(&mut self, delta: &str, width: usize, light: bool) -> Vec<Line<'static>> {
        self.set_width(width);
        let before = self.src.len();
        self.src.push_str(delta);
        let mut out = Vec::new();
        if let Some(i) = delta.rfind('\n') {
            self.done = before + i + 1;
            self.commit_settled(width, light, &mut out);
        }
        if self.src.len() - self.done > CUT_AT {
            self.cut_long_line(width, light, &mut out);
        }
        out
    }

    /// Commit the settled lines up to `done`, or up to the held block.
    fn commit_settled(&mut self, width: usize, light: bool, out: &mut Vec<Line<'static>>) {
        self.scan.advance(&self.src, self.done);
        let end = self.done;
        let hold = self.scan.hold().unwrap_or(end);
        if let Some((b, blank)) = self.scan.boundary.filter(|(b, _)| *b <= hold) {
            // Finish the segment that ends there, then start a new one: each render then
            // covers only the lines since, not the whole message.
            self.emit(self.seg_start, b, width, light, out);
            if self.any && blank {
                self.owe_blank = true;
            }
            self.new_segment(b);
            self.scan.advance(&self.src, end);
        }
        let hold = self.scan.hold().unwrap_or(end);
        self.emit(self.seg_start, hold, width, light, out);
    }

    /// Lines committed at the old width are not counted again at the new one: what follows
    /// starts a segment of its own.
    fn set_width(&mut self, width: usize) {
        if width != self.width {
            self.width = width;
            if self.scan.hold().is_none() && self.any && self.scan.prev_blank_like {
                // The segment ended in a blank line its render dropped.
                self.owe_blank = true;
            }
            let at = self.scan.hold().unwrap_or(self.done).max(self.seg_start);
            self.new_segment(at);
            self.scan.advance(&self.src, self.done);
        }
    }

    fn new_segment(&mut self, at: usize) {
        self.seg_start = at;
        self.committed = 0;
        self.scan = Scan::new(at);
    }

    /// A line has grown long without a newline: commit all but its end, cut at a space where
    /// what follows reads as plain text, so each frame renders a bounded tail.
    fn cut_long_line(&mut self, width: usize, light: bool, out: &mut Vec<Line<'static>>) {
        if self.scan.hold().is_some() {
            return; // Inside a fence or table: shown by its last lines only.
        }
        let part = &self.src[self.done..];
        let mut limit = part.len() - KEEP;
        while !part.is_char_boundary(limit) {
            limit -= 1;
        }
        // One pass: the last space before `limit` after which the text reads as plain and
        // before which every `code` span is closed.
        let mut even = self.src[self.seg_start..self.done]
            .bytes()
            .filter(|b| *b == b'`')
            .count()
            % 2
            == 0;
        let mut good = Vec::new();
        for (i, b) in part.as_bytes()[..limit].iter().enumerate() {
            match b {
                b'`' => even = !even,
                b' ' if even && plain_start(&part[i + 1..]) => good.push(i),
                _ => {}
            }
        }
        let cut = match good.last() {
            Some(&i) => self.at_a_line_end(i, &good, width, light),
            // No good place for a long while (an unclosed `code` span): cut anyway.
            None if part.len() > 4 * CUT_AT => limit,
            None => return,
        };
        let cut = self.done + cut;
        self.emit(self.seg_start, cut, width, light, out);
        let next = cut + self.src[cut..].len() - self.src[cut..].trim_start_matches(' ').len();
        self.owe_blank = false;
        self.new_segment(next);
        self.done = next;
    }

    /// Prefer the allowed cut (`good`, offsets after `done`) where the last wrapped line of the
    /// piece up to `last` begins, so the piece ends with a full line and no seam shows.
    fn at_a_line_end(&self, last: usize, good: &[usize], width: usize, light: bool) -> usize {
        let piece = &self.src[self.seg_start..self.done + last];
        let lines = markdown::render(piece, width, light);
        let Some(full) = lines.len().checked_sub(1).filter(|n| *n > 0) else {
            return last;
        };
        let words: usize = lines[..full]
            .iter()
            .map(|l| l.to_string().split_whitespace().count())
            .sum();
        let mut n = 0;
        let mut in_word = false;
        for (i, c) in piece.char_indices() {
            if !c.is_whitespace() {
                in_word = true;
                continue;
            }
            if in_word {
                n += 1;
                in_word = false;
                if n == words {
                    let at = (self.seg_start + i).checked_sub(self.done);
                    return at.filter(|a| good.binary_search(a).is_ok()).unwrap_or(last);
                }
            }
        }
        last
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
        let mut lines = if let Some(h) = self.scan.hold() {
            let block = &self.src[h..];
            let first_end = block.find('\n').map_or(block.len(), |i| i + 1);
            let open_fence = is_fence(&block[..first_end]);
            let held = if open_fence {
                // Only the last lines of a long block are visible anyway: found from the end,
                // so a long block costs no more per frame than a short one.
                let rest = &block[first_end..];
                let start = rest.rmatch_indices('\n').nth(max).map_or(0, |(i, _)| i + 1);
                let mut held = format!("{}{}", &block[..first_end], &rest[start..]);
                held.truncate(held.trim_end_matches('\n').len());
                held.push_str("\n```");
                held
            } else {
                block.to_string()
            };
            let mut l = markdown::render(&held, width, light);
            if open_fence {
                // The closing fence was ours.
                while l.last().is_some_and(|x| x.to_string().trim().is_empty()) {
                    l.pop();
                }
            }
            l
        } else {
            let partial = &self.src[self.done..];
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
        self.set_width(width);
        let mut out = Vec::new();
        let end = self.src.len();
        self.emit(self.seg_start, end, width, light, &mut out);
        self.done = end;
        self.new_segment(end);
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

    fn words(lines: &[Line]) -> Vec<String> {
        texts(lines)
            .iter()
            .flat_map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .collect()
    }

    #[test]
    fn a_long_line_is_committed_in_pieces_with_every_word_once() {
        let mut s = MdStream::default();
        let all: Vec<String> = (0..6000).map(|i| format!("w{i}")).collect();
        let mut out = Vec::new();
        for w in &all {
            out.extend(s.push(&format!("{w} "), 60, false));
            // The live part stays small however long the line gets.
            assert!(s.tail(60, false, 100).len() < 60);
        }
        assert!(out.len() > 100, "pieces were committed while streaming");
        out.extend(s.finish(60, false));
        assert_eq!(words(&out), all);
        // The pieces end with full lines: no short line shows where one was cut.
        let texts = texts(&out);
        let short: Vec<_> = texts[..texts.len() - 1]
            .iter()
            .filter(|l| l.chars().count() < 60 - 6)
            .collect();
        assert!(short.is_empty(), "{short:?}");
    }

    #[test]
    fn a_long_line_is_not_cut_where_a_list_would_start() {
        let mut s = MdStream::default();
        let mut text = String::new();
        for i in 0..800 {
            text.push_str(&format!("- 1. #{i} "));
        }
        let mut out = s.push(&text, 60, false);
        out.extend(s.finish(60, false));
        let got: String = texts(&out).join(" ");
        assert_eq!(got.matches('#').count(), 800);
    }

    #[test]
    fn a_long_fence_shows_its_last_lines() {
        let mut s = MdStream::default();
        s.push("```\n", 40, false);
        for i in 0..500 {
            s.push(&format!("line {i}\n"), 40, false);
        }
        let t = texts(&s.tail(40, false, 3));
        assert_eq!(t.len(), 3);
        assert!(t[2].contains("line 499"), "{t:?}");
        let done = s.push("```\n", 40, false);
        assert_eq!(
            done.iter()
                .filter(|l| l.to_string().contains("line "))
                .count(),
            500
        );
    }

    #[test]
    fn a_width_change_mid_paragraph_repeats_and_loses_nothing() {
        let mut s = MdStream::default();
        let all: Vec<String> = (0..300).map(|i| format!("w{i}")).collect();
        let mut out = Vec::new();
        for (i, w) in all.iter().enumerate() {
            let width = [80, 20, 120, 33][(i / 40) % 4];
            let sep = if i % 7 == 6 { "\n" } else { " " };
            out.extend(s.push(&format!("{w}{sep}"), width, false));
        }
        out.extend(s.finish(50, false));
        assert_eq!(words(&out), all);
    }

    #[test]
    fn a_width_change_keeps_the_blank_line_between_paragraphs() {
        let mut s = MdStream::default();
        let mut out = s.push("one\n\n", 40, false);
        out.extend(s.push("two\n", 30, false));
        out.extend(s.finish(30, false));
        assert_eq!(texts(&out), ["one", "", "two"]);
    }
}
