//! Whole agents in and out of the store, for Agent File export and import. The engine maps
//! the file's ids to fresh ones; here rows are only read and written.

use rusqlite::params;

use super::agents::{AgentRow, DEFAULT_BLOCK_LIMIT, check_limit};
use super::messages::insert;
use super::{ConversationRow, MessageRow, NewMessage, Store, StoreResult};
use crate::protocol::Block;

/// One conversation and every message in it, oldest first.
pub struct ConversationDump {
    pub row: ConversationRow,
    pub messages: Vec<MessageRow>,
}

/// Everything an agent file holds of an agent.
pub struct AgentDump {
    pub agent: AgentRow,
    pub blocks: Vec<Block>,
    /// The default conversation first.
    pub conversations: Vec<ConversationDump>,
}

/// A conversation to create, with its final id.
pub struct NewConversation {
    pub id: String,
    pub is_default: bool,
    pub summary: Option<String>,
    pub parent_id: Option<String>,
    pub fork_message_id: Option<String>,
    /// The model it uses instead of the agent's.
    pub model: Option<String>,
    pub created_at: String,
    pub last_message_at: Option<String>,
}

/// An agent to create, with final ids throughout.
pub struct NewAgent {
    pub agent: AgentRow,
    pub blocks: Vec<Block>,
    pub conversations: Vec<NewConversation>,
    /// Messages in order, each with whether it is in its conversation's context.
    pub messages: Vec<(NewMessage, bool)>,
}

impl Store {
    /// Read an agent whole.
    pub fn dump_agent(&self, agent_id: &str) -> StoreResult<AgentDump> {
        let agent = self.get_agent(agent_id)?;
        let blocks = self.blocks(agent_id)?;
        let mut ids: Vec<String> = {
            let mut stmt = self.conn().prepare(
                "SELECT id FROM conversations WHERE agent_id = ?1 ORDER BY is_default DESC, created_at, id",
            )?;
            let rows = stmt.query_map([agent_id], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut conversations = Vec::new();
        for id in ids.drain(..) {
            let row = self.get_conversation(&id)?;
            let mut stmt = self.conn().prepare_cached(&format!(
                "SELECT {} FROM messages WHERE conversation_id = ?1 ORDER BY seq",
                super::messages::COLS
            ))?;
            let messages = stmt
                .query_map([&id], super::messages::row)?
                .collect::<Result<_, _>>()?;
            conversations.push(ConversationDump { row, messages });
        }
        Ok(AgentDump {
            agent,
            blocks,
            conversations,
        })
    }

    /// Create an agent whole, in one transaction: all of it or nothing.
    pub fn load_agent(&mut self, a: &NewAgent) -> StoreResult<()> {
        for b in &a.blocks {
            check_limit(&b.label, &b.value, b.limit.unwrap_or(DEFAULT_BLOCK_LIMIT))?;
        }
        let r = &a.agent;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO agents(id, name, description, system, model, context_window, tags, created_at, updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                params![
                    r.id,
                    r.name,
                    r.description,
                    r.system,
                    r.model,
                    r.context_window.map(|v| v as i64),
                    serde_json::to_string(&r.tags).unwrap_or_else(|_| "[]".into()),
                    r.created_at,
                    r.updated_at
                ],
            )?;
            for (i, b) in a.blocks.iter().enumerate() {
                let bid = b.id.clone().unwrap_or_default();
                tx.execute(
                    "INSERT INTO blocks(id, label, value, lim, description, read_only, updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7)",
                    params![bid, b.label, b.value, b.limit.unwrap_or(DEFAULT_BLOCK_LIMIT) as i64, b.description, i64::from(b.read_only.unwrap_or(false)), r.updated_at],
                )?;
                tx.execute(
                    "INSERT INTO agent_blocks(agent_id, block_id, position) VALUES (?1,?2,?3)",
                    params![r.id, bid, i as i64],
                )?;
            }
            for c in &a.conversations {
                tx.execute(
                    "INSERT INTO conversations(id, agent_id, is_default, summary, created_at, updated_at, last_message_at, parent_id, fork_message_id, model) VALUES (?1,?2,?3,?4,?5,?5,?6,?7,?8,?9)",
                    params![c.id, r.id, i64::from(c.is_default), c.summary, c.created_at, c.last_message_at, c.parent_id, c.fork_message_id, c.model],
                )?;
            }
            for (m, in_context) in &a.messages {
                insert(tx, m)?;
                if !in_context {
                    tx.execute(
                        "UPDATE messages SET in_context = 0 WHERE id = ?1",
                        [&m.id],
                    )?;
                }
            }
            Ok(())
        })
    }
}
