//! Conversations: each an own message list over the agent's shared memory.

use rusqlite::{OptionalExtension, Row, params};

use super::agents::default_conversation_id;
use super::{Store, StoreError, StoreResult, new_id, now};
use crate::protocol::{DEFAULT_CONVERSATION, ListParams};

/// A conversation as stored. `id` is internal: an agent's default is `<agent>/default`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationRow {
    pub id: String,
    pub agent_id: String,
    pub is_default: bool,
    pub summary: Option<String>,
    pub model: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub last_message_at: Option<String>,
    pub last_run_completion: Option<String>,
    /// Tool calls waiting for an approval answer (JSON list), if any.
    pub pending_json: Option<String>,
    /// The API id of the conversation it was forked from.
    pub parent_id: Option<String>,
    /// The parent's message the fork was cut at, when it was cut.
    pub fork_message_id: Option<String>,
}

impl ConversationRow {
    /// The id the API shows: `default` for an agent's default conversation.
    pub fn api_id(&self) -> &str {
        if self.is_default {
            DEFAULT_CONVERSATION
        } else {
            &self.id
        }
    }
}

const COLS: &str = "id, agent_id, is_default, summary, model, created_at, updated_at, last_message_at, last_run_completion, pending_json, parent_id, fork_message_id";

fn row(r: &Row) -> rusqlite::Result<ConversationRow> {
    Ok(ConversationRow {
        id: r.get(0)?,
        agent_id: r.get(1)?,
        is_default: r.get::<_, i64>(2)? != 0,
        summary: r.get(3)?,
        model: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
        last_message_at: r.get(7)?,
        last_run_completion: r.get(8)?,
        pending_json: r.get(9)?,
        parent_id: r.get(10)?,
        fork_message_id: r.get(11)?,
    })
}

/// Before a conversation is deleted, make forked copies of its messages (in other
/// conversations) originals: give them their original's text and index it, so search keeps
/// finding it. Copies never leave their agent, so deleting an agent needs no such step.
fn promote_copies(tx: &rusqlite::Transaction, conversation_id: &str) -> StoreResult<()> {
    const COPIES: &str = "origin_seq IN (SELECT seq FROM messages WHERE conversation_id = ?1) AND conversation_id != ?1";
    for sql in [
        format!(
            "UPDATE messages SET text = (SELECT o.text FROM messages o WHERE o.seq = messages.origin_seq) WHERE {COPIES}"
        ),
        format!(
            "INSERT INTO messages_fts(rowid, text) SELECT seq, text FROM messages WHERE text != '' AND {COPIES}"
        ),
        format!("UPDATE messages SET origin_seq = NULL WHERE {COPIES}"),
    ] {
        tx.execute(&sql, [conversation_id])?;
    }
    Ok(())
}

impl Store {
    /// Map an API conversation id (maybe `default` + agent) to the stored row.
    pub fn resolve_conversation(
        &self,
        id: &str,
        agent_id: Option<&str>,
    ) -> StoreResult<ConversationRow> {
        if id == DEFAULT_CONVERSATION {
            let agent = agent_id.filter(|a| !a.is_empty()).ok_or_else(|| {
                StoreError::Invalid(
                    "agent_id is required to address the default conversation".into(),
                )
            })?;
            self.get_agent(agent)?;
            return self.get_conversation(&default_conversation_id(agent));
        }
        if id.starts_with("agent-") {
            // Older clients address an agent's default conversation by the agent's id.
            self.get_agent(id)?;
            return self.get_conversation(&default_conversation_id(id));
        }
        self.get_conversation(id)
    }

    /// One conversation by internal id.
    pub fn get_conversation(&self, id: &str) -> StoreResult<ConversationRow> {
        self.conn()
            .query_row(
                &format!("SELECT {COLS} FROM conversations WHERE id = ?1"),
                [id],
                row,
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("Conversation {id} not found")))
    }

    /// A new, empty conversation (the engine adds its system message).
    pub fn create_conversation(
        &mut self,
        agent_id: &str,
        summary: Option<&str>,
        model: Option<&str>,
    ) -> StoreResult<ConversationRow> {
        self.get_agent(agent_id)?;
        let id = new_id("conv");
        let ts = now();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO conversations(id, agent_id, summary, model, created_at, updated_at) VALUES (?1,?2,?3,?4,?5,?5)",
                params![id, agent_id, summary, model, ts],
            )?;
            Ok(())
        })?;
        self.get_conversation(&id)
    }

    /// An agent's conversations (defaults excluded), paged and ordered as the API does.
    pub fn list_conversations(
        &self,
        agent_id: Option<&str>,
        summary_search: Option<&str>,
        page: &ListParams,
    ) -> StoreResult<Vec<ConversationRow>> {
        conversations_query(agent_id, summary_search, page)?.run(
            self.conn(),
            page,
            "a conversation",
            row,
        )
    }

    /// Set the title and/or model.
    pub fn update_conversation(
        &mut self,
        id: &str,
        summary: Option<&str>,
        model: Option<&str>,
    ) -> StoreResult<ConversationRow> {
        self.get_conversation(id)?;
        self.write(|tx| {
            tx.execute(
                "UPDATE conversations SET summary = COALESCE(?2, summary), model = COALESCE(?3, model), updated_at = ?4 WHERE id = ?1",
                params![id, summary, model, now()],
            )?;
            Ok(())
        })?;
        self.get_conversation(id)
    }

    /// Delete a conversation and its messages. The default conversation cannot be deleted.
    pub fn delete_conversation(&mut self, id: &str) -> StoreResult<()> {
        let c = self.get_conversation(id)?;
        if c.is_default {
            return Err(StoreError::Invalid(
                "the default conversation cannot be deleted".into(),
            ));
        }
        self.write(|tx| {
            tx.execute("DELETE FROM runs WHERE conversation_id = ?1", [id])?;
            promote_copies(tx, id)?;
            tx.execute("DELETE FROM conversations WHERE id = ?1", [id])?;
            Ok(())
        })
    }

    /// Record (or clear) the tool calls waiting for approval.
    pub fn set_pending(&mut self, id: &str, pending_json: Option<&str>) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE conversations SET pending_json = ?2 WHERE id = ?1",
                params![id, pending_json],
            )?;
            Ok(())
        })
    }

    /// Record activity times after a run.
    pub fn touch_conversation(
        &mut self,
        id: &str,
        run_completed_at: Option<&str>,
    ) -> StoreResult<()> {
        let ts = now();
        self.write(|tx| {
            tx.execute(
                "UPDATE conversations SET last_message_at = ?2, updated_at = ?2, last_run_completion = COALESCE(?3, last_run_completion) WHERE id = ?1",
                params![id, ts, run_completed_at],
            )?;
            Ok(())
        })
    }
}

/// The query behind [`Store::list_conversations`], before its cursor and order.
fn conversations_query(
    agent_id: Option<&str>,
    summary_search: Option<&str>,
    page: &ListParams,
) -> StoreResult<super::Paged> {
    let col = match page.order_by.as_deref() {
        None | Some("created_at") => "created_at",
        Some("last_run_completion") => "COALESCE(last_run_completion, created_at)",
        Some("last_message_at") => "COALESCE(last_message_at, created_at)",
        Some(other) => {
            return Err(StoreError::Invalid(format!(
                "cannot order conversations by {other:?}"
            )));
        }
    };
    let mut q = super::Paged::new(COLS, "conversations", "is_default = 0", col);
    if let Some(a) = agent_id {
        q.equals("agent_id", a);
    }
    if let Some(s) = summary_search.filter(|s| !s.is_empty()) {
        q.contains("summary", s);
    }
    Ok(q)
}

#[cfg(test)]
mod plan_tests {
    use super::*;

    #[test]
    fn every_listing_order_pages_through_an_index_without_sorting() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        for order in ["created_at", "last_message_at", "last_run_completion"] {
            for agent in [Some("agent-1"), None] {
                if agent.is_none() && order != "last_message_at" {
                    continue;
                }
                let page = ListParams {
                    order_by: Some(order.into()),
                    ..Default::default()
                };
                let plan = conversations_query(agent, None, &page)
                    .unwrap()
                    .plan(store.conn(), &page);
                assert!(!plan.contains("TEMP B-TREE"), "{order} {agent:?}: {plan}");
                assert!(plan.contains("USING INDEX"), "{order} {agent:?}: {plan}");
            }
        }
    }

    #[test]
    fn the_context_is_read_from_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let plan: String = store
            .conn()
            .query_row(
                "EXPLAIN QUERY PLAN SELECT id FROM messages WHERE conversation_id = ?1 AND in_context = 1 ORDER BY seq ASC",
                ["c"],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("messages_context"), "{plan}");
    }
}
