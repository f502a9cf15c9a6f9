//! What this session wrote to scrollback, kept so that a resize or Ctrl+L can write it all
//! again at the new width.
//!
//! Terminals differ in what a resize does to text already shown: xterm cuts lines at the new
//! width, others reflow them, some pull scrollback back onto the screen. The only layout that
//! holds in all of them is one letta writes itself after clearing, so that is what a resize
//! ends with.

use std::collections::VecDeque;

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::wrap;

/// Bytes kept (text and spans); beyond this the oldest lines are let go (and the reprint says
/// so).
const MAX_CHARS: usize = 32 << 20;

/// The session's scrollback lines.
#[derive(Default)]
pub struct Transcript {
    lines: VecDeque<Line<'static>>,
    chars: usize,
    dropped: usize,
}

/// What a line holds in memory, roughly.
fn chars(line: &Line) -> usize {
    std::mem::size_of::<Line>()
        + line
            .spans
            .iter()
            .map(|s| s.content.len() + std::mem::size_of::<Span>())
            .sum::<usize>()
}

impl Transcript {
    /// Lines that went into scrollback.
    pub fn keep(&mut self, lines: &[Line<'static>]) {
        for l in lines {
            self.chars += chars(l);
            self.lines.push_back(l.clone());
        }
        while self.chars > MAX_CHARS {
            let Some(old) = self.lines.pop_front() else {
                break;
            };
            self.chars -= chars(&old);
            self.dropped += 1;
        }
    }

    /// Every line kept, wrapped to `width` where it is wider.
    pub fn at_width(&self, width: usize) -> Vec<Line<'static>> {
        let mut out = Vec::with_capacity(self.lines.len() + 1);
        if self.dropped > 0 {
            out.push(Line::from(Span::styled(
                format!("… {} earlier lines are not shown again", self.dropped),
                Style::default().add_modifier(Modifier::DIM),
            )));
        }
        for l in &self.lines {
            if wrap::line_width(l) <= width {
                out.push(l.clone());
                continue;
            }
            let style = l.style;
            out.extend(
                wrap::wrap(l.spans.clone(), width, Vec::new(), Vec::new())
                    .into_iter()
                    .map(|w| w.style(style)),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wider_than_the_new_width_are_wrapped_word_by_word() {
        let mut t = Transcript::default();
        t.keep(&[Line::from("alpha beta gamma delta"), Line::from("ok")]);
        let got: Vec<String> = t.at_width(11).iter().map(ToString::to_string).collect();
        assert_eq!(got, ["alpha beta", "gamma delta", "ok"]);
    }

    #[test]
    fn the_oldest_lines_go_past_the_limit_and_the_reprint_says_so() {
        let mut t = Transcript::default();
        let big = "x".repeat(1 << 20);
        for _ in 0..40 {
            t.keep(&[Line::from(big.clone())]);
        }
        assert!(t.chars <= MAX_CHARS);
        let first = t.at_width(usize::MAX)[0].to_string();
        assert!(
            first.contains("earlier lines are not shown again"),
            "{first}"
        );
    }
}
