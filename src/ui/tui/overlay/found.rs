//! What the conversation browser's search found in message text (not only titles): one row
//! per conversation, with the matching words highlighted in a snippet around them.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use crate::protocol::SearchHit;
use crate::ui::safe_text::neutralise;

/// A conversation found by what was said in it.
#[derive(Debug, Clone, PartialEq)]
pub struct TextHit {
    pub conversation_id: String,
    pub message_id: String,
    pub role: String,
    /// The whole message, made safe and put on one line.
    pub text: String,
    pub date: String,
}

/// The newest hit of each conversation, in the order found (newest first).
pub fn per_conversation(hits: Vec<SearchHit>) -> Vec<TextHit> {
    let mut seen = std::collections::HashSet::new();
    hits.into_iter()
        .filter(|h| seen.insert(h.conversation_id.clone()))
        .map(|h| TextHit {
            conversation_id: if h.conversation_id.is_empty() {
                crate::protocol::DEFAULT_CONVERSATION.into()
            } else {
                h.conversation_id
            },
            message_id: h.message_id,
            role: h.role,
            text: neutralise(&h.text)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            date: h.created_at,
        })
        .collect()
}

/// The words of a query as the index matches them, lowercased.
fn terms(query: &str) -> Vec<String> {
    crate::protocol::search_words(query)
        .map(str::to_lowercase)
        .collect()
}

/// Byte ranges of `text` where a term of `query` starts, matched without regard to case.
fn matches(text: &str, query: &str) -> Vec<(usize, usize)> {
    let lower: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    for t in terms(query) {
        let tc: Vec<char> = t.chars().collect();
        let mut i = 0;
        while i + tc.len() <= lower.len() {
            let hit = (0..tc.len()).all(|k| lower[i + k].1.to_lowercase().eq(tc[k].to_lowercase()));
            if hit {
                let start = lower[i].0;
                let end = lower.get(i + tc.len()).map_or(text.len(), |(b, _)| *b);
                out.push((start, end));
                i += tc.len();
            } else {
                i += 1;
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// A snippet of at most `width` characters around the first match, the matches highlighted.
pub fn snippet(text: &str, query: &str, width: usize) -> Line<'static> {
    let found = matches(text, query);
    let first = found.first().map_or(0, |m| m.0);
    // Start a little before the first match, on a character boundary.
    let lead = width / 4;
    let chars_before = text[..first].chars().count();
    let skip = chars_before.saturating_sub(lead);
    let start = text.char_indices().nth(skip).map_or(0, |(b, _)| b);
    let end = text[start..]
        .char_indices()
        .nth(width.saturating_sub(2))
        .map_or(text.len(), |(b, _)| start + b);
    let dim = Style::default().add_modifier(Modifier::DIM);
    let hl = Style::default()
        .fg(Color::Yellow)
        .add_modifier(Modifier::BOLD);
    let mut spans = Vec::new();
    if start > 0 {
        spans.push(Span::styled("…", dim));
    }
    let mut at = start;
    for (a, b) in found.into_iter().filter(|(a, b)| *a >= start && *b <= end) {
        if a < at {
            continue;
        }
        spans.push(Span::styled(text[at..a].to_string(), dim));
        spans.push(Span::styled(text[a..b].to_string(), hl));
        at = b;
    }
    spans.push(Span::styled(text[at..end].to_string(), dim));
    if end < text.len() {
        spans.push(Span::styled("…", dim));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(l: &Line) -> String {
        l.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn snippets_centre_and_highlight_the_words() {
        let text = format!(
            "{} the Zebra crossing is closed {}",
            "a ".repeat(100),
            "b ".repeat(100)
        );
        let l = snippet(&text, "zebra", 40);
        let s = plain(&l);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("Zebra crossing"), "{s}");
        assert!(s.chars().count() <= 42, "{s}");
        let bold: Vec<&str> = l
            .spans
            .iter()
            .filter(|s| s.style.fg == Some(Color::Yellow))
            .map(|s| s.content.as_ref())
            .collect();
        assert_eq!(bold, ["Zebra"]);
        // Several terms, any case; multi-byte text never splits a character.
        let l = snippet("Ünïcode ZEBRA and zebra", "zebra ünï", 80);
        let bold: Vec<String> = l
            .spans
            .iter()
            .filter(|s| s.style.fg == Some(Color::Yellow))
            .map(|s| s.content.to_string())
            .collect();
        assert_eq!(bold, ["Ünï", "ZEBRA", "zebra"]);
    }
}
