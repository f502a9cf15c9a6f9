//! Messages: stored as Letta message JSON, plus plain text for full-text search.

use rusqlite::{OptionalExtension, Row, params};

use super::{Store, StoreError, StoreResult, new_id, now};
use crate::protocol::{LettaMessage, ListParams, Order, SearchHit};

/// A message to insert.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewMessage {
    pub id: String,
    pub conversation_id: String,
    pub agent_id: String,
    pub message_type: String,
    /// The Letta message JSON.
    pub body: String,
    /// Searchable text ('' for none).
    pub text: String,
    pub created_at: String,
    pub otid: Option<String>,
    pub run_id: Option<String>,
    pub step_id: Option<String>,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRow {
    pub seq: i64,
    pub id: String,
    pub message_type: String,
    pub body: String,
    pub in_context: bool,
}

impl MessageRow {
    /// The message as the API shows it. The row id wins over any id inside the stored JSON,
    /// so copies (forks) need no rewrite of their bodies.
    pub fn decode(&self) -> LettaMessage {
        match serde_json::from_str::<LettaMessage>(&self.body) {
            Ok(mut m) => {
                if let Some(c) = m.common_mut() {
                    c.id = Some(self.id.clone());
                }
                m
            }
            Err(_) => LettaMessage::Unknown(
                serde_json::json!({"id": self.id, "message_type": self.message_type}),
            ),
        }
    }
}

pub(super) fn row(r: &Row) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        seq: r.get(0)?,
        id: r.get(1)?,
        message_type: r.get(2)?,
        body: r.get(3)?,
        in_context: r.get::<_, i64>(4)? != 0,
    })
}

pub(super) const COLS: &str = "seq, id, message_type, body, in_context";

/// Insert inside a caller's transaction.
/// How much of a message's text is indexed for search: a 200k-token reply would otherwise
/// cost tens of megabytes of index for one message, found as well by its start.
const SEARCHABLE: usize = 64 << 10;

fn searchable(text: &str) -> &str {
    let mut end = text.len().min(SEARCHABLE);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

pub fn insert(tx: &rusqlite::Connection, m: &NewMessage) -> StoreResult<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO messages(id, conversation_id, agent_id, message_type, body, text, created_at, otid, run_id, step_id) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
    )?;
    stmt.execute(params![
        m.id,
        m.conversation_id,
        m.agent_id,
        m.message_type,
        m.body,
        searchable(&m.text),
        m.created_at,
        m.otid,
        m.run_id,
        m.step_id
    ])?;
    Ok(())
}

/// Turn free text into an FTS5 query: every word must occur (prefix match on the last).
pub fn fts_query(q: &str) -> Option<String> {
    let words: Vec<String> = crate::protocol::search_words(q)
        .map(|w| format!("\"{w}\""))
        .collect();
    if words.is_empty() {
        return None;
    }
    let mut s = words.join(" ");
    // The last word may be half typed; a single letter is matched whole (as a prefix it
    // would match a large part of the vocabulary).
    if words.last().is_some_and(|w| w.chars().count() > 3) {
        s.push('*');
    }
    Some(s)
}

impl Store {
    /// Append messages in one transaction.
    pub fn append_messages(&mut self, msgs: &[NewMessage]) -> StoreResult<()> {
        self.write(|tx| {
            for m in msgs {
                insert(tx, m)?;
            }
            Ok(())
        })
    }

    /// A conversation's messages for the API (all of them, as Letta lists them), paged by id.
    pub fn list_messages(
        &self,
        conversation_id: &str,
        page: &ListParams,
    ) -> StoreResult<Vec<MessageRow>> {
        let seq_of = |id: &str| -> StoreResult<i64> {
            self.conn()
                .query_row("SELECT seq FROM messages WHERE id = ?1", [id], |r| r.get(0))
                .optional()?
                .ok_or_else(|| StoreError::Invalid(format!("cursor {id} is not a message")))
        };
        let mut sql = format!("SELECT {COLS} FROM messages WHERE conversation_id = ?1");
        if let Some(a) = &page.after {
            sql.push_str(&format!(" AND seq > {}", seq_of(a)?));
        }
        if let Some(b) = &page.before {
            sql.push_str(&format!(" AND seq < {}", seq_of(b)?));
        }
        let dir = match page.order.unwrap_or_default() {
            Order::Asc => "ASC",
            Order::Desc => "DESC",
        };
        sql.push_str(&format!(
            " ORDER BY seq {dir} LIMIT {}",
            page.limit.unwrap_or(100).min(10_000)
        ));
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map([conversation_id], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The in-context messages, oldest first (the system message first).
    pub fn context_messages(&self, conversation_id: &str) -> StoreResult<Vec<MessageRow>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {COLS} FROM messages WHERE conversation_id = ?1 AND in_context = 1 ORDER BY seq ASC"
        ))?;
        let rows = stmt.query_map([conversation_id], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Ids of the in-context messages, oldest first.
    pub fn context_ids(&self, conversation_id: &str) -> StoreResult<Vec<String>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT id FROM messages WHERE conversation_id = ?1 AND in_context = 1 ORDER BY seq ASC")?;
        let rows = stmt.query_map([conversation_id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Replace the conversation's system message (memory is recompiled before each step).
    pub fn set_system_message(
        &mut self,
        conversation_id: &str,
        agent_id: &str,
        body_for: impl Fn(&str) -> String,
    ) -> StoreResult<()> {
        let existing: Option<String> = self
            .conn()
            .query_row(
                "SELECT id FROM messages WHERE conversation_id = ?1 AND message_type = 'system_message' AND in_context = 1 ORDER BY seq LIMIT 1",
                [conversation_id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = existing {
            self.write(|tx| {
                tx.execute(
                    "UPDATE messages SET body = ?2 WHERE id = ?1",
                    params![id, body_for(&id)],
                )?;
                Ok(())
            })
        } else {
            let id = new_id("message");
            let m = NewMessage {
                body: body_for(&id),
                id,
                conversation_id: conversation_id.into(),
                agent_id: agent_id.into(),
                message_type: "system_message".into(),
                created_at: now(),
                ..Default::default()
            };
            self.write(|tx| insert(tx, &m))
        }
    }

    /// Take messages out of context (after summarising them); they stay listed and searchable.
    pub fn evict(&mut self, conversation_id: &str, ids: &[String]) -> StoreResult<()> {
        self.write(|tx| {
            let mut stmt = tx.prepare_cached(
                "UPDATE messages SET in_context = 0 WHERE conversation_id = ?1 AND id = ?2",
            )?;
            for id in ids {
                stmt.execute(params![conversation_id, id])?;
            }
            Ok(())
        })
    }

    /// Copy a conversation's in-context messages (up to `message_id`) into a new one.
    ///
    /// `system_body` builds the fork's fresh system message from its new id.
    pub fn fork_conversation(
        &mut self,
        source: &super::ConversationRow,
        message_id: Option<&str>,
        system_body: impl Fn(&str) -> String,
    ) -> StoreResult<super::ConversationRow> {
        let last_seq: i64 = match message_id {
            Some(mid) => self
                .conn()
                .query_row(
                    "SELECT seq FROM messages WHERE id = ?1 AND conversation_id = ?2 AND in_context = 1",
                    params![mid, source.id],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or_else(|| {
                    StoreError::Invalid(format!("message {mid} is not in the context of conversation {}", source.api_id()))
                })?,
            None => i64::MAX,
        };
        let id = new_id("conv");
        let ts = now();
        let sys_id = new_id("message");
        let sys = NewMessage {
            id: sys_id.clone(),
            conversation_id: id.clone(),
            agent_id: source.agent_id.clone(),
            message_type: "system_message".into(),
            body: system_body(&sys_id),
            created_at: ts.clone(),
            ..Default::default()
        };
        // Copies get time-ordered ids: a fresh UUIDv7 prefix (timestamp plus random bits) for
        // this fork, then the source row's seq. Two forks in one millisecond could still draw
        // the same prefix, so a collision retries with a new one. Copies carry no text of
        // their own: they are found through their original's index entry (see promote_copies).
        let mut attempt = 0;
        loop {
            let v7 = uuid::Uuid::new_v7(uuid::Timestamp::now(uuid::NoContext)).to_string();
            let prefix = format!("message-{}", &v7[..24]);
            let result = self.write(|tx| {
                tx.execute(
                    "INSERT INTO conversations(id, agent_id, summary, model, created_at, updated_at, last_message_at, parent_id, fork_message_id) VALUES (?1,?2,?3,?4,?5,?5,?5,?6,?7)",
                    params![id, source.agent_id, source.summary, source.model, ts, source.api_id(), message_id],
                )?;
                insert(tx, &sys)?;
                tx.execute(
                    "INSERT INTO messages(id, conversation_id, agent_id, message_type, body, text, created_at, otid, run_id, step_id, origin_seq)
                     SELECT ?4 || printf('%012x', seq), ?1, agent_id, message_type, body, '', created_at, otid, run_id, step_id, COALESCE(origin_seq, seq)
                     FROM messages WHERE conversation_id = ?2 AND in_context = 1 AND message_type != 'system_message' AND seq <= ?3 ORDER BY seq",
                    params![id, source.id, last_seq, prefix],
                )?;
                Ok(())
            });
            match result {
                Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation && attempt < 3 =>
                {
                    attempt += 1;
                }
                other => break other?,
            }
        }
        self.get_conversation(&id)
    }

    /// Full-text search over all of an agent's conversations (or all agents), newest first.
    ///
    /// Newest-first lets FTS5 walk its index in rowid order and stop at `limit`, instead of
    /// scoring every match; a common word in a million messages stays fast.
    pub fn search_messages(
        &self,
        agent_id: Option<&str>,
        query: &str,
        limit: u32,
    ) -> StoreResult<Vec<SearchHit>> {
        let Some(q) = fts_query(query) else {
            return Ok(Vec::new());
        };
        let mut stmt = self.conn().prepare_cached(
            "SELECT m.id, m.agent_id, c.id, c.is_default, m.message_type, m.text, m.created_at
             FROM messages_fts f JOIN messages m ON m.seq = f.rowid JOIN conversations c ON c.id = m.conversation_id
             WHERE messages_fts MATCH ?1 AND (?2 IS NULL OR m.agent_id = ?2)
             ORDER BY f.rowid DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![q, agent_id, i64::from(limit.min(1000))], |r| {
            let is_default: i64 = r.get(3)?;
            let conv: String = r.get(2)?;
            let kind: String = r.get(4)?;
            Ok(SearchHit {
                message_id: r.get(0)?,
                agent_id: r.get(1)?,
                conversation_id: if is_default != 0 {
                    "default".into()
                } else {
                    conv
                },
                role: match kind.as_str() {
                    "user_message" => "user",
                    "assistant_message" | "reasoning_message" => "assistant",
                    _ => "tool",
                }
                .into(),
                text: r.get(5)?,
                created_at: r.get(6)?,
                extra: Default::default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many messages a conversation holds (all, and in context).
    pub fn message_counts(&self, conversation_id: &str) -> StoreResult<(u64, u64)> {
        Ok(self.conn().query_row(
            "SELECT COUNT(*), COALESCE(SUM(in_context), 0) FROM messages WHERE conversation_id = ?1",
            [conversation_id],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )?)
    }
}
