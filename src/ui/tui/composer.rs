//! The input box: a multi-line editor with readline keys, history and paste placeholders.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A paste over this many lines or characters shows as a placeholder.
const PASTE_LINES: usize = 5;
const PASTE_CHARS: usize = 500;

/// What a key did to the composer.
#[derive(Debug, PartialEq, Eq)]
pub enum Edit {
    /// The text or cursor changed.
    Changed,
    /// Enter: the text (placeholders expanded) is to be sent.
    Submit(String),
    /// The key is not the composer's.
    Ignored,
}

/// The input box's state.
#[derive(Debug, Default)]
pub struct Composer {
    text: String,
    /// Byte offset of the cursor in `text`.
    cursor: usize,
    /// This session's pastes as (placeholder, text), in paste order. Kept after a send: a
    /// history entry recalled with Up may name them.
    pastes: Vec<(String, String)>,
    paste_count: usize,
    history: Vec<String>,
    /// Position while browsing history (`history.len()` = the draft).
    hist_pos: usize,
    draft: String,
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Composer {
    /// A composer with past inputs for Up/Down.
    pub fn with_history(history: Vec<String>) -> Self {
        let hist_pos = history.len();
        Self {
            history,
            hist_pos,
            ..Default::default()
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Byte offset of the cursor.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Empty the input. Pastes are kept: a history entry recalled with Up may name them.
    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
    }

    /// Replace the whole text, cursor at the end.
    pub fn set_text(&mut self, t: &str) {
        self.text = t.to_string();
        self.cursor = self.text.len();
    }

    /// Record a sent input for Up/Down (consecutive duplicates are kept once); whether it
    /// was new.
    pub fn remember(&mut self, entry: &str) -> bool {
        let new =
            self.history.last().map(String::as_str) != Some(entry) && !entry.trim().is_empty();
        if new {
            self.history.push(entry.to_string());
        }
        self.hist_pos = self.history.len();
        new
    }

    pub fn insert_str(&mut self, s: &str) {
        self.text.insert_str(self.cursor, s);
        self.cursor += s.len();
    }

    /// Bracketed paste: large pastes become `[Pasted text #N +M lines]`, expanded on send.
    pub fn paste(&mut self, s: &str) {
        let s = s.replace("\r\n", "\n").replace('\r', "\n");
        let lines = s.lines().count();
        if lines > PASTE_LINES || s.chars().count() > PASTE_CHARS {
            self.paste_count += 1;
            let tag = format!("[Pasted text #{} +{} lines]", self.paste_count, lines);
            self.pastes.push((tag.clone(), s));
            self.insert_str(&tag);
        } else {
            self.insert_str(&s);
        }
    }

    /// `text` with each pasted block of this session shown as its placeholder again, for the
    /// transcript's echo.
    pub fn collapse(&self, text: &str) -> String {
        let mut t = text.to_string();
        for (tag, body) in self.pastes.iter().rev() {
            if !body.trim().is_empty() {
                t = t.replace(body.as_str(), tag);
            }
        }
        t
    }

    /// The text with placeholders expanded, in one pass: a pasted text that itself contains
    /// a placeholder's words is sent as it was pasted.
    pub fn expanded(&self) -> String {
        let mut out = String::with_capacity(self.text.len());
        let mut rest = self.text.as_str();
        while let Some(i) = rest.find("[Pasted text #") {
            out.push_str(&rest[..i]);
            rest = &rest[i..];
            if let Some((tag, body)) = self
                .pastes
                .iter()
                .find(|(tag, _)| rest.starts_with(tag.as_str()))
            {
                out.push_str(body);
                rest = &rest[tag.len()..];
            } else {
                out.push('[');
                rest = &rest[1..];
            }
        }
        out.push_str(rest);
        out
    }

    fn prev_boundary(&self) -> usize {
        self.text[..self.cursor]
            .char_indices()
            .next_back()
            .map_or(0, |(i, _)| i)
    }

    fn next_boundary(&self) -> usize {
        self.text[self.cursor..]
            .chars()
            .next()
            .map_or(self.cursor, |c| self.cursor + c.len_utf8())
    }

    fn line_start(&self) -> usize {
        self.text[..self.cursor].rfind('\n').map_or(0, |i| i + 1)
    }

    fn line_end(&self) -> usize {
        self.text[self.cursor..]
            .find('\n')
            .map_or(self.text.len(), |i| self.cursor + i)
    }

    fn word_left(&self) -> usize {
        let mut idx = self.cursor;
        let mut chars = self.text[..self.cursor].char_indices().rev().peekable();
        while let Some(&(i, c)) = chars.peek() {
            if is_word(c) {
                break;
            }
            idx = i;
            chars.next();
        }
        while let Some(&(i, c)) = chars.peek() {
            if !is_word(c) {
                break;
            }
            idx = i;
            chars.next();
        }
        idx
    }

    fn word_right(&self) -> usize {
        let mut it = self.text[self.cursor..].char_indices().peekable();
        while let Some((_, c)) = it.peek() {
            if is_word(*c) {
                break;
            }
            it.next();
        }
        while let Some((_, c)) = it.peek() {
            if !is_word(*c) {
                break;
            }
            it.next();
        }
        it.peek().map_or(self.text.len(), |(i, _)| self.cursor + i)
    }

    /// Move to the same column on the line above (`-1`) or below (`1`); false at the edge.
    fn vertical(&mut self, dir: i32) -> bool {
        let start = self.line_start();
        let col = self.text[start..self.cursor].chars().count();
        let target_start = if dir < 0 {
            if start == 0 {
                return false;
            }
            self.text[..start - 1].rfind('\n').map_or(0, |i| i + 1)
        } else {
            let end = self.line_end();
            if end == self.text.len() {
                return false;
            }
            end + 1
        };
        let line_end = self.text[target_start..]
            .find('\n')
            .map_or(self.text.len(), |i| target_start + i);
        let line = &self.text[target_start..line_end];
        self.cursor = target_start + line.char_indices().nth(col).map_or(line.len(), |(i, _)| i);
        true
    }

    fn history_step(&mut self, dir: i32) {
        if self.history.is_empty() {
            return;
        }
        if self.hist_pos == self.history.len() {
            self.draft = self.text.clone();
        }
        let pos = self.hist_pos as i64 + i64::from(dir);
        if pos < 0 || pos > self.history.len() as i64 {
            return;
        }
        self.hist_pos = pos as usize;
        let t = self
            .history
            .get(self.hist_pos)
            .cloned()
            .unwrap_or_else(|| self.draft.clone());
        self.set_text(&t);
    }

    /// Handle a key.
    pub fn key(&mut self, k: KeyEvent) -> Edit {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        let alt = k.modifiers.contains(KeyModifiers::ALT);
        let shift = k.modifiers.contains(KeyModifiers::SHIFT);
        match k.code {
            KeyCode::Enter if shift || alt => self.insert_str("\n"),
            KeyCode::Char('j') if ctrl => self.insert_str("\n"),
            KeyCode::Enter => {
                let t = self.expanded();
                return Edit::Submit(t);
            }
            KeyCode::Char('a') if ctrl => self.cursor = self.line_start(),
            KeyCode::Char('e') if ctrl => self.cursor = self.line_end(),
            KeyCode::Char('u') if ctrl => {
                let s = self.line_start();
                self.text.replace_range(s..self.cursor, "");
                self.cursor = s;
            }
            KeyCode::Char('k') if ctrl => {
                let e = self.line_end();
                self.text.replace_range(self.cursor..e, "");
            }
            KeyCode::Char('w') if ctrl => {
                let s = self.word_left();
                self.text.replace_range(s..self.cursor, "");
                self.cursor = s;
            }
            KeyCode::Char('b') if alt => self.cursor = self.word_left(),
            KeyCode::Char('f') if alt => self.cursor = self.word_right(),
            KeyCode::Char(c) if !ctrl => {
                let mut b = [0; 4];
                self.insert_str(c.encode_utf8(&mut b));
            }
            KeyCode::Backspace if alt || ctrl => {
                let s = self.word_left();
                self.text.replace_range(s..self.cursor, "");
                self.cursor = s;
            }
            KeyCode::Backspace => {
                let p = self.prev_boundary();
                self.text.replace_range(p..self.cursor, "");
                self.cursor = p;
            }
            KeyCode::Delete => {
                let n = self.next_boundary();
                self.text.replace_range(self.cursor..n, "");
            }
            KeyCode::Left if ctrl || alt => self.cursor = self.word_left(),
            KeyCode::Right if ctrl || alt => self.cursor = self.word_right(),
            KeyCode::Left => self.cursor = self.prev_boundary(),
            KeyCode::Right => self.cursor = self.next_boundary(),
            KeyCode::Home => self.cursor = self.line_start(),
            KeyCode::End => self.cursor = self.line_end(),
            KeyCode::Up => {
                if !self.vertical(-1) {
                    self.history_step(-1);
                }
            }
            KeyCode::Down => {
                if !self.vertical(1) {
                    self.history_step(1);
                }
            }
            _ => return Edit::Ignored,
        }
        Edit::Changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }
    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }
    fn typed(s: &str) -> Composer {
        let mut c = Composer::default();
        for ch in s.chars() {
            c.key(key(KeyCode::Char(ch)));
        }
        c
    }

    #[test]
    fn editing_keys() {
        let mut c = typed("hello world");
        c.key(ctrl('w'));
        assert_eq!(c.text(), "hello ");
        c.key(ctrl('a'));
        c.key(key(KeyCode::Char('>')));
        assert_eq!(c.text(), ">hello ");
        c.key(ctrl('k'));
        assert_eq!(c.text(), ">");
        c.key(ctrl('j'));
        c.key(key(KeyCode::Char('é')));
        c.key(key(KeyCode::Left));
        c.key(key(KeyCode::Backspace));
        assert_eq!(c.text(), ">é");
        c.key(ctrl('e'));
        c.key(ctrl('u'));
        assert_eq!(c.text(), "");
    }

    #[test]
    fn word_jumps() {
        let mut c = typed("one two three");
        c.key(KeyEvent::new(KeyCode::Left, KeyModifiers::CONTROL));
        assert_eq!(c.cursor(), 8);
        c.key(KeyEvent::new(KeyCode::Left, KeyModifiers::CONTROL));
        assert_eq!(c.cursor(), 4);
        c.key(KeyEvent::new(KeyCode::Right, KeyModifiers::CONTROL));
        assert_eq!(c.cursor(), 7);
    }

    #[test]
    fn history_up_down_keeps_the_draft() {
        let mut c = Composer::with_history(vec!["first".into(), "second".into()]);
        c.insert_str("dra");
        c.key(key(KeyCode::Up));
        assert_eq!(c.text(), "second");
        c.key(key(KeyCode::Up));
        assert_eq!(c.text(), "first");
        c.key(key(KeyCode::Down));
        c.key(key(KeyCode::Down));
        assert_eq!(c.text(), "dra");
        c.remember("x");
        c.remember("x");
        assert_eq!(c.history.len(), 3);
    }

    #[test]
    fn big_paste_is_a_placeholder_expanded_on_send() {
        let mut c = Composer::default();
        let big = (1..=8)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        c.paste(&big);
        assert_eq!(c.text(), "[Pasted text #1 +8 lines]");
        c.insert_str(" please");
        assert_eq!(
            c.key(key(KeyCode::Enter)),
            Edit::Submit(format!("{big} please"))
        );
        let mut small = Composer::default();
        small.paste("a\r\nb");
        assert_eq!(small.text(), "a\nb");
    }

    #[test]
    fn a_paste_that_names_a_placeholder_is_sent_as_pasted() {
        let mut c = Composer::default();
        let first = "a\n".repeat(10);
        c.paste(&first);
        c.key(key(KeyCode::Enter));
        c.clear();
        // A second big paste that quotes the first one's placeholder.
        let second = format!("{}[Pasted text #1 +10 lines]", "b\n".repeat(10));
        c.paste(&second);
        assert_eq!(c.key(key(KeyCode::Enter)), Edit::Submit(second));
    }
}
