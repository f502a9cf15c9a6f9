//! The conversation browser's rows: one per conversation, paged in from the backend.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::{PAGE, Preview, parse_time};
use crate::protocol::{Conversation, DEFAULT_CONVERSATION};
use crate::ui::safe_text::neutralise;
use crate::ui::tui::cells;

/// Preview lines made safe for the terminal (they are the model's and the user's text).
pub fn safe(lines: Vec<String>) -> Vec<String> {
    lines.iter().map(|l| neutralise(l)).collect()
}

/// One conversation in the list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    pub id: String,
    pub title: Option<String>,
    pub active: Option<String>,
    pub created: Option<String>,
    pub(super) active_at: Option<DateTime<Utc>>,
    /// Known at once for the default conversation; fetched for the others.
    pub(super) preview: Option<Vec<String>>,
    /// Found by what was said in it: the message that matched.
    pub(super) hit: Option<super::found::TextHit>,
}

impl Row {
    fn new(
        id: String,
        title: Option<String>,
        active: Option<String>,
        created: Option<String>,
    ) -> Self {
        let active_at = active.as_deref().and_then(parse_time);
        Self {
            id,
            title: title.filter(|t| !t.trim().is_empty()),
            active,
            created,
            active_at,
            preview: None,
            hit: None,
        }
    }

    /// A conversation from the backend, placed by its last message, or by when it was made
    /// when it has none yet (a new conversation, or a fork on a real Letta server).
    pub fn from_conversation(c: Conversation) -> Self {
        let active = c.last_active().cloned();
        Self::new(c.id, c.summary, active, c.created_at)
    }

    /// The agent's default conversation, placed by its last message.
    pub fn default_conversation(p: Preview, agent_created: Option<String>) -> Self {
        let mut r = Self::new(
            DEFAULT_CONVERSATION.into(),
            None,
            p.last.clone(),
            agent_created.or(p.first.clone()),
        );
        r.preview = Some(safe(p.lines));
        r
    }

    /// A conversation found by its messages; its title when the browser has it already.
    pub fn from_hit(hit: super::found::TextHit, known: Option<&Row>) -> Self {
        let mut r = match known {
            Some(k) => k.clone(),
            None => Self::new(hit.conversation_id.clone(), None, None, None),
        };
        r.hit = Some(hit);
        r
    }

    pub(super) fn label(&self) -> String {
        match (&self.title, self.id.as_str()) {
            (_, DEFAULT_CONVERSATION) => "default (the agent's default conversation)".into(),
            (Some(t), id) => format!("{}  ({id})", cells::fit(t, 50)),
            (None, id) => id.to_string(),
        }
    }
}

/// Preview lines wrapped to the browser's width, three at most (the last cut with "…").
pub(super) fn wrapped(lines: &[String], width: usize) -> Vec<String> {
    use ratatui::text::Span;
    let mut out: Vec<String> = Vec::new();
    for l in lines {
        let indent = if l.starts_with("agent: ") {
            "       "
        } else {
            "     "
        };
        let rows = crate::ui::tui::wrap::wrap(
            vec![Span::raw(l.clone())],
            width.max(10),
            Vec::new(),
            vec![Span::raw(indent)],
        );
        out.extend(rows.iter().map(|r| {
            r.spans
                .iter()
                .map(|s| s.content.as_ref())
                .collect::<String>()
        }));
    }
    if out.len() > 3 {
        out.truncate(3);
        if let Some(last) = out.last_mut() {
            let keep = last.trim_end().chars().count().min(width.saturating_sub(1));
            *last = last.chars().take(keep).collect::<String>() + "…";
        }
    }
    out
}

/// Rows fetched for one query (all, or one search), with the cursor for the next page.
#[derive(Debug, Default)]
pub(super) struct Source {
    pub rows: Vec<Row>,
    pub after: Option<String>,
    pub more: bool,
    pub loading: bool,
}

impl Source {
    pub fn add(&mut self, page: Vec<Conversation>) {
        self.loading = false;
        self.more = page.len() as u32 >= PAGE;
        if let Some(last) = page.last() {
            self.after = Some(last.id.clone());
        }
        let known: HashSet<String> = self.rows.iter().map(|r| r.id.clone()).collect();
        self.rows.extend(
            page.into_iter()
                .filter(|c| !known.contains(&c.id))
                .map(Row::from_conversation),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fork_without_a_last_message_time_is_listed() {
        // As a real Letta server lists a fresh fork (fixture 28b).
        let page: Vec<Conversation> = serde_json::from_str(
            r#"[{"created_at":"2026-12-02T11:01:28.349103Z","id":"conv-fork","agent_id":"agent-1","summary":null,"last_message_at":null},
                {"created_at":"2026-12-02T11:00:37.273132Z","id":"conv-named","agent_id":"agent-1","summary":"named conversation","last_message_at":"2026-12-02T11:01:27.849464Z"}]"#,
        )
        .unwrap_or_default();
        let mut s = Source::default();
        s.add(page);
        let ids: Vec<&str> = s.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["conv-fork", "conv-named"]);
        assert!(s.rows[0].active_at.is_some(), "placed by its creation");
    }
}
