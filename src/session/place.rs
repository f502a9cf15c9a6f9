//! Where the user is: the conversation's name for the status line and terminal title, and the
//! line shown after a switch ("Now in 'fix parser' (forked from 'main' at 10:42) · 23 messages").

use chrono::Local;

use super::Session;
use super::query::parse_time;
use crate::backend::Backend;
use crate::protocol::{Conversation, DEFAULT_CONVERSATION};

/// A conversation as the status line names it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    /// Its title, or a short id.
    pub label: String,
    /// The line printed after a switch.
    pub line: String,
}

/// A conversation's title, else its id cut to the part a person tells apart.
pub fn label(c: Option<&Conversation>, id: &str) -> String {
    label_of(c.and_then(|c| c.summary.as_deref()), id)
}

/// [`label`] from a title alone.
pub fn label_of(title: Option<&str>, id: &str) -> String {
    match title.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => one_line(t, 40),
        None => short_id(id),
    }
}

/// Characters that reorder text on screen (a title could make itself read as something else).
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Text on one line, control characters dropped, at most `max` characters.
pub fn one_line(t: &str, max: usize) -> String {
    let flat: String = t
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control() && !is_bidi(*c))
        .collect();
    if flat.chars().count() <= max {
        return flat;
    }
    let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `conv-…5e6f7a8b` from a full id: its last eight characters, which differ between
/// conversations made in the same minute (time-ordered ids share their start). `default`
/// stays as it is.
pub fn short_id(id: &str) -> String {
    match id.strip_prefix("conv-") {
        Some(rest) => {
            let n = rest.chars().count();
            format!(
                "conv-{}",
                rest.chars().skip(n.saturating_sub(8)).collect::<String>()
            )
        }
        None => id.to_string(),
    }
}

/// A time as the user's clock shows it (HH:MM), or the date when it is not today.
pub fn clock(ts: &str) -> Option<String> {
    let t = parse_time(ts)?.with_timezone(&Local);
    let today = Local::now().date_naive();
    Some(if t.date_naive() == today {
        t.format("%H:%M").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M").to_string()
    })
}

/// Describe the session's conversation; `loaded` is how many messages were fetched, used when
/// the server does not say how many are in context. `known` is the conversation when the
/// caller has it already (it is fetched otherwise).
pub async fn describe(
    b: &dyn Backend,
    s: &Session,
    loaded: usize,
    known: Option<Conversation>,
) -> Place {
    if s.conversation_id == DEFAULT_CONVERSATION {
        return Place {
            label: DEFAULT_CONVERSATION.into(),
            line: format!("Now in the agent's default conversation{}", count(loaded)),
        };
    }
    let conv = match known {
        Some(c) => Some(c),
        None => b.get_conversation(&s.conversation_id).await.ok(),
    };
    let name = label(conv.as_ref(), &s.conversation_id);
    let mut line = format!("Now in '{name}'");
    if let Some(c) = &conv
        && let Some(parent) = &c.parent_conversation_id
    {
        let p = if parent == DEFAULT_CONVERSATION {
            DEFAULT_CONVERSATION.to_string()
        } else {
            let pc = b.get_conversation(parent).await.ok();
            label(pc.as_ref(), parent)
        };
        let at = c.created_at.as_deref().and_then(clock);
        match at {
            Some(at) => line.push_str(&format!(" (forked from '{p}' at {at})")),
            None => line.push_str(&format!(" (forked from '{p}')")),
        }
    }
    let n = conv
        .as_ref()
        .and_then(|c| c.in_context_message_ids.as_ref())
        .filter(|ids| !ids.is_empty())
        .map_or(loaded, |ids| ids.len().saturating_sub(1));
    line.push_str(&count(n));
    Place { label: name, line }
}

/// A title for a conversation: its first message, cut at a word to 50 characters.
pub async fn title_from(b: &dyn Backend, s: &Session) -> Option<String> {
    let mut msgs = super::query::recent(b, &s.conversation_id, &s.agent_id, 200)
        .await
        .ok()?;
    msgs.reverse();
    let first = msgs.iter().find_map(|m| match super::query::text_of(m) {
        Some((true, t)) if !t.trim().is_empty() => Some(t),
        _ => None,
    })?;
    Some(cut_title(&first))
}

fn cut_title(text: &str) -> String {
    let line = one_line(text, usize::MAX);
    if line.chars().count() <= 50 {
        return line;
    }
    let mut out = String::new();
    for w in line.split(' ') {
        if out.chars().count() + w.chars().count() + 1 > 49 {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    if out.is_empty() {
        out = line.chars().take(49).collect();
    }
    out.push('…');
    out
}

fn count(n: usize) -> String {
    match n {
        1 => " · 1 message".into(),
        n => format!(" · {n} messages"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_cut_at_a_word() {
        assert_eq!(cut_title("fix the\nparser"), "fix the parser");
        let long =
            "please refactor the configuration loader so that it reads both files and merges them";
        let t = cut_title(long);
        assert!(t.ends_with('…') && t.chars().count() <= 50, "{t}");
        assert!(long.starts_with(t.trim_end_matches('…')), "{t}");
    }

    #[test]
    fn labels() {
        assert_eq!(short_id("conv-0123456789abcdef"), "conv-89abcdef");
        assert_eq!(short_id("default"), "default");
        let c = Conversation {
            summary: Some("  fix\nparser ".into()),
            ..Default::default()
        };
        assert_eq!(label(Some(&c), "conv-x"), "fix parser");
        assert_eq!(one_line("ab\u{202E}cd\u{1b}", 10), "abcd");
        assert_eq!(label(None, "conv-0123456789"), "conv-23456789");
    }
}
