//! Rows written straight into a store, for tests and benchmarks that need a long history.

use letta::local::store::{NewMessage, new_id, now};
use letta::protocol::{LettaMessage, MessageCommon, SimpleMessage};

/// A user message of `conv` as the engine would store it.
pub fn user_message(conv: &str, agent: &str, text: String) -> NewMessage {
    let id = new_id("message");
    let body = serde_json::to_string(&LettaMessage::User(SimpleMessage {
        common: MessageCommon {
            id: Some(id.clone()),
            ..Default::default()
        },
        content: text.as_str().into(),
        extra: Default::default(),
    }))
    .unwrap();
    NewMessage {
        id,
        conversation_id: conv.into(),
        agent_id: agent.into(),
        message_type: "user_message".into(),
        body,
        text,
        created_at: now(),
        ..Default::default()
    }
}

/// A conversation row written straight to the database, for benches that need many fast
/// (`at` is its creation and last activity, RFC 3339).
pub fn insert_conversation(
    db: &rusqlite::Connection,
    id: &str,
    agent: &str,
    summary: &str,
    at: &str,
) {
    db.execute(
        "INSERT INTO conversations(id, agent_id, summary, created_at, updated_at, last_message_at) VALUES (?1, ?2, ?3, ?4, ?4, ?4)",
        rusqlite::params![id, agent, summary, at],
    )
    .unwrap();
}
