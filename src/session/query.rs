//! What the front ends ask about a session: recent messages, calls left waiting, previews of
//! conversations, the model in use, pinned agents, and times as people read them.

use crate::backend::{Backend, ConversationQuery};
use crate::protocol::without_reminders;
use crate::protocol::{DEFAULT_CONVERSATION, LettaMessage, ListParams, Order};
use crate::tools::ToolCallInfo;

use super::Session;

/// Messages shown when switching to a conversation.
pub const RECENT: u32 = 50;

/// The newest `limit` messages of a conversation, newest first.
pub async fn recent(
    b: &dyn Backend,
    conversation_id: &str,
    agent_id: &str,
    limit: u32,
) -> Result<Vec<LettaMessage>, String> {
    let agent = (conversation_id == DEFAULT_CONVERSATION).then_some(agent_id);
    let page = ListParams {
        limit: Some(limit),
        order: Some(Order::Desc),
        ..Default::default()
    };
    b.list_messages(conversation_id, agent, page)
        .await
        .map_err(|e| e.to_string())
}

/// A few messages before and after `message_id` in the session's conversation, oldest
/// first; none when they cannot be read.
pub async fn around(b: &dyn Backend, s: &Session, message_id: &str) -> Vec<LettaMessage> {
    let agent = (s.conversation_id == DEFAULT_CONVERSATION).then_some(s.agent_id.as_str());
    let page = |order, before: Option<&str>, after: Option<&str>| ListParams {
        limit: Some(4),
        order: Some(order),
        before: before.map(str::to_string),
        after: after.map(str::to_string),
        ..Default::default()
    };
    let mut before = b
        .list_messages(
            &s.conversation_id,
            agent,
            page(Order::Desc, Some(message_id), None),
        )
        .await
        .unwrap_or_default();
    before.reverse();
    // From the last one before it, so the hit itself is included.
    let from = before
        .last()
        .and_then(|m| m.common())
        .and_then(|c| c.id.clone());
    let mut rest = b
        .list_messages(
            &s.conversation_id,
            agent,
            ListParams {
                limit: Some(6),
                ..page(Order::Asc, None, from.as_deref())
            },
        )
        .await
        .unwrap_or_default();
    before.append(&mut rest);
    before
}

/// Calls a conversation was left waiting on (the process answering them went away).
pub async fn pending_calls(
    backend: &dyn Backend,
    s: &Session,
) -> Result<Vec<ToolCallInfo>, String> {
    let msgs = recent(backend, &s.conversation_id, &s.agent_id, RECENT).await?;
    Ok(unanswered(&msgs))
}

/// The model a session's turns use: the conversation's, else the agent's.
pub async fn current_model(b: &dyn Backend, s: &Session) -> Option<String> {
    if s.conversation_id != DEFAULT_CONVERSATION
        && let Ok(c) = b.get_conversation(&s.conversation_id).await
        && c.model.is_some()
    {
        return c.model;
    }
    b.get_agent(&s.agent_id).await.ok().and_then(|a| a.model)
}

/// Calls the agent asked approval for that were never answered, from messages newest first.
pub fn unanswered(newest_first: &[LettaMessage]) -> Vec<ToolCallInfo> {
    let mut answered = std::collections::HashSet::new();
    let mut stale: Vec<ToolCallInfo> = Vec::new();
    // Answers are seen before the calls they answer.
    for m in newest_first {
        match m {
            LettaMessage::ToolReturn(t) => {
                answered.extend(t.tool_call_id.clone());
            }
            LettaMessage::ApprovalRequest(r) => {
                for d in r.calls() {
                    if let Some(id) = &d.tool_call_id
                        && !answered.contains(id)
                        && !stale.iter().any(|c| &c.id == id)
                    {
                        stale.push(ToolCallInfo {
                            id: id.clone(),
                            name: d.name.clone().unwrap_or_default(),
                            arguments: d.arguments.clone().unwrap_or_default(),
                        });
                    }
                }
            }
            LettaMessage::User(_) => break,
            _ => {}
        }
    }
    stale.reverse();
    stale
}

/// The last exchange of a conversation, for a browser row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Preview {
    /// The last user message, then the agent's reply, each on one (long) line.
    pub lines: Vec<String>,
    /// The newest message's time.
    pub last: Option<String>,
    /// The oldest message's time (for the default conversation's "Created").
    pub first: Option<String>,
    /// No user or assistant message at all.
    pub empty: bool,
}

/// What a user or assistant message says (`true` for the user's), as a person sees it;
/// `None` for other messages and stored summaries.
pub(super) fn text_of(m: &LettaMessage) -> Option<(bool, String)> {
    match m {
        LettaMessage::User(u) => match user_text(&u.content.to_text()) {
            UserText::Typed(t) => Some((true, t)),
            UserText::Summary(_) => None,
        },
        LettaMessage::Assistant(a) => Some((false, a.content.to_text())),
        _ => None,
    }
}

/// Strip what the client adds to user messages (reminders) and squash whitespace.
fn clean(text: &str) -> String {
    without_reminders(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a stored user message is, to show it: what the user typed, or the summary a real
/// Letta server stores as a user message (JSON with `"type": "system_alert"`) after compacting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserText {
    Typed(String),
    Summary(String),
}

/// See [`UserText`].
pub fn user_text(raw: &str) -> UserText {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(raw.trim())
        && v.get("type").and_then(serde_json::Value::as_str) == Some("system_alert")
        && let Some(m) = v.get("message").and_then(serde_json::Value::as_str)
    {
        return UserText::Summary(m.trim().to_string());
    }
    UserText::Typed(without_reminders(raw))
}

/// Preview lines from messages, newest first.
pub fn preview(newest_first: &[LettaMessage]) -> Preview {
    let last = newest_first
        .first()
        .and_then(|m| m.common())
        .and_then(|c| c.date.clone());
    let first = newest_first
        .last()
        .and_then(|m| m.common())
        .and_then(|c| c.date.clone());
    let mut user = None;
    let mut agent = None;
    for m in newest_first {
        match text_of(m) {
            Some((true, t)) if user.is_none() && !clean(&t).is_empty() => {
                user = Some(clean(&t));
                break;
            }
            Some((false, t)) if agent.is_none() && !clean(&t).is_empty() => agent = Some(clean(&t)),
            _ => {}
        }
    }
    let mut lines = Vec::new();
    if let Some(u) = &user {
        lines.push(format!("you: {u}"));
    }
    if let Some(a) = &agent {
        // Whole: the browser wraps it to the width it has.
        lines.push(format!("agent: {a}"));
    }
    Preview {
        empty: user.is_none() && agent.is_none(),
        lines,
        last,
        first,
    }
}

/// An agent's conversations, most recently active first.
pub fn conversation_query(
    agent_id: &str,
    search: Option<String>,
    after: Option<String>,
    limit: u32,
) -> ConversationQuery {
    ConversationQuery {
        agent_id: Some(agent_id.to_string()),
        page: ListParams {
            limit: Some(limit),
            after,
            order: Some(Order::Desc),
            order_by: Some("last_message_at".into()),
            ..Default::default()
        },
        summary_search: search,
    }
}

/// The agent's default conversation, when it has messages: its last exchange and when the
/// agent was created (the default conversation has no creation time of its own).
#[derive(Debug, Clone, PartialEq)]
pub struct DefaultConversation {
    pub preview: Preview,
    pub agent_created: Option<String>,
}

/// The agent's default conversation, when it has messages.
pub async fn default_conversation(
    b: &dyn Backend,
    agent_id: &str,
) -> Result<Option<DefaultConversation>, String> {
    let created = b.get_agent(agent_id).await.ok().and_then(|a| a.created_at);
    recent(b, DEFAULT_CONVERSATION, agent_id, 10)
        .await
        .map(|msgs| {
            let p = preview(&msgs);
            (!p.empty).then_some(DefaultConversation {
                preview: p,
                agent_created: created,
            })
        })
}

/// Pinned agent ids for this backend, from the global settings.
pub fn pins(settings_file: &std::path::Path, location: &str) -> Vec<String> {
    crate::settings::GlobalSettings::load(settings_file)
        .map(|s| s.pinned_agents(location))
        .unwrap_or_default()
}

/// An API timestamp: RFC 3339, or naive UTC as some servers send.
pub fn parse_time(ts: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(ts)
        .map(|t| t.with_timezone(&chrono::Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M:%S%.f").map(|n| n.and_utc())
        })
        .ok()
}

/// "5 minutes ago", from an API timestamp (RFC 3339, or naive UTC as some servers send).
pub fn ago(ts: &str, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
    let t = parse_time(ts)?;
    let s = (now - t).num_seconds().max(0);
    let (n, unit) = match s {
        0..60 => return Some("just now".into()),
        60..3600 => (s / 60, "minute"),
        3600..86_400 => (s / 3600, "hour"),
        86_400..604_800 => (s / 86_400, "day"),
        604_800..2_592_000 => (s / 604_800, "week"),
        2_592_000..31_536_000 => (s / 2_592_000, "month"),
        _ => (s / 31_536_000, "year"),
    };
    Some(format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminders_and_stored_summaries_are_not_shown_as_typed() {
        assert_eq!(
            user_text("<system-reminder>plan mode is on</system-reminder>\nfix the bug"),
            UserText::Typed("fix the bug".into())
        );
        // As a real Letta server stores the summary after /compact (fixture 30j).
        let stored = r#"{
  "type": "system_alert",
  "message": "Note: prior messages have been hidden.\nThe following is a summary: a trip to Lisbon.",
  "time": "2026-12-02 11:01:30 AM UTC+0000"
}"#;
        match user_text(stored) {
            UserText::Summary(s) => assert!(s.contains("a trip to Lisbon"), "{s}"),
            other @ UserText::Typed(_) => panic!("{other:?}"),
        }
        assert_eq!(
            user_text("{\"a\": 1}"),
            UserText::Typed("{\"a\": 1}".into())
        );
    }

    #[test]
    fn relative_times() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(ago("2026-11-23T11:55:00Z", now).unwrap(), "5 minutes ago");
        assert_eq!(ago("2026-11-23T11:59:30Z", now).unwrap(), "just now");
        assert_eq!(ago("2026-11-09T12:00:00", now).unwrap(), "2 weeks ago");
        assert_eq!(ago("2026-11-22T11:00:00.5Z", now).unwrap(), "1 day ago");
        assert_eq!(ago("2024-01-01T00:00:00Z", now).unwrap(), "2 years ago");
        assert_eq!(ago("yesterday", now), None);
    }

    #[test]
    fn previews_skip_reminders_and_empty_text() {
        let msgs: Vec<LettaMessage> = serde_json::from_value(serde_json::json!([
            {"message_type":"assistant_message","id":"m3","date":"2026-11-23T10:00:00Z","content":"Done: the tests pass."},
            {"message_type":"user_message","id":"m2","date":"2026-11-23T09:59:00Z","content":"<system-reminder>cwd /x</system-reminder>run the\ntests"},
            {"message_type":"assistant_message","id":"m1","date":"2026-11-23T09:00:00Z","content":"older"}
        ]))
        .unwrap();
        let p = preview(&msgs);
        assert_eq!(
            p.lines,
            vec!["you: run the tests", "agent: Done: the tests pass."]
        );
        assert_eq!(p.last.as_deref(), Some("2026-11-23T10:00:00Z"));
        assert_eq!(p.first.as_deref(), Some("2026-11-23T09:00:00Z"));
        assert!(!p.empty);
        assert!(preview(&[]).empty);
    }
}
