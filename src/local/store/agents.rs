//! Agents and their memory blocks.

use rusqlite::{OptionalExtension, Row, params};

use super::{Store, StoreError, StoreResult, new_id, now};
use crate::protocol::{Block, BlockCreate, ListParams};

/// Default size limit of a block, in characters.
pub const DEFAULT_BLOCK_LIMIT: u64 = 20_000;

/// An agent as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentRow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// The base instructions; memory is compiled in at run time.
    pub system: String,
    pub model: Option<String>,
    pub context_window: Option<u64>,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub last_run_completion: Option<String>,
}

/// The new values of an agent update; `None` keeps the old value.
#[derive(Debug, Clone, Default)]
pub struct AgentChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub system: Option<String>,
    pub model: Option<String>,
    pub context_window: Option<u64>,
}

const AGENT_COLS: &str = "id, name, description, system, model, context_window, tags, created_at, updated_at, last_run_completion";

fn agent_row(r: &Row) -> rusqlite::Result<AgentRow> {
    let tags: String = r.get(6)?;
    Ok(AgentRow {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        system: r.get(3)?,
        model: r.get(4)?,
        context_window: r.get::<_, Option<i64>>(5)?.map(|v| v.max(0) as u64),
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
        last_run_completion: r.get(9)?,
    })
}

fn block_row(r: &Row) -> rusqlite::Result<Block> {
    Ok(Block {
        id: Some(r.get(0)?),
        label: r.get(1)?,
        value: r.get(2)?,
        limit: Some(r.get::<_, i64>(3)?.max(0) as u64),
        description: r.get(4)?,
        read_only: Some(r.get::<_, i64>(5)? != 0),
        extra: Default::default(),
    })
}

/// Reject a value longer than the block's limit, with a message that says by how much.
pub fn check_limit(label: &str, value: &str, limit: u64) -> StoreResult<()> {
    let len = value.chars().count() as u64;
    if len > limit {
        return Err(StoreError::Invalid(format!(
            "block {label:?} would hold {len} characters, over its limit of {limit}; shorten it by {}",
            len - limit
        )));
    }
    Ok(())
}

/// The internal id of an agent's default conversation.
pub fn default_conversation_id(agent_id: &str) -> String {
    format!("{agent_id}/default")
}

impl Store {
    /// Create an agent with its blocks and its default conversation.
    pub fn create_agent(
        &mut self,
        row_in: AgentChanges,
        tags: Vec<String>,
        blocks: Vec<BlockCreate>,
    ) -> StoreResult<AgentRow> {
        for b in &blocks {
            check_limit(&b.label, &b.value, b.limit.unwrap_or(DEFAULT_BLOCK_LIMIT))?;
            if b.label.trim().is_empty() {
                return Err(StoreError::Invalid("a memory block needs a label".into()));
            }
        }
        let id = new_id("agent");
        let ts = now();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO agents(id, name, description, system, model, context_window, tags, created_at, updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?8)",
                params![
                    id,
                    row_in.name.clone().unwrap_or_else(|| "letta".into()),
                    row_in.description,
                    row_in.system.clone().unwrap_or_default(),
                    row_in.model,
                    row_in.context_window.map(|v| v as i64),
                    serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into()),
                    ts
                ],
            )?;
            for (i, b) in blocks.iter().enumerate() {
                let bid = new_id("block");
                tx.execute(
                    "INSERT INTO blocks(id, label, value, lim, description, read_only, updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7)",
                    params![bid, b.label, b.value, b.limit.unwrap_or(DEFAULT_BLOCK_LIMIT) as i64, b.description, i64::from(b.read_only.unwrap_or(false)), ts],
                )?;
                tx.execute(
                    "INSERT INTO agent_blocks(agent_id, block_id, position) VALUES (?1,?2,?3)",
                    params![id, bid, i as i64],
                )?;
            }
            tx.execute(
                "INSERT INTO conversations(id, agent_id, is_default, created_at, updated_at) VALUES (?1,?2,1,?3,?3)",
                params![default_conversation_id(&id), id, ts],
            )?;
            Ok(())
        })?;
        self.get_agent(&id)
    }

    /// One agent.
    pub fn get_agent(&self, id: &str) -> StoreResult<AgentRow> {
        self.conn()
            .query_row(
                &format!("SELECT {AGENT_COLS} FROM agents WHERE id = ?1"),
                [id],
                agent_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("Agent {id} not found")))
    }

    /// Agents, newest first by default; `order_by` is `created_at` or `last_run_completion`.
    pub fn list_agents(&self, name: Option<&str>, page: &ListParams) -> StoreResult<Vec<AgentRow>> {
        let col = match page.order_by.as_deref() {
            None | Some("created_at") => "created_at",
            Some("last_run_completion") => "COALESCE(last_run_completion, created_at)",
            Some(other) => {
                return Err(StoreError::Invalid(format!(
                    "cannot order agents by {other:?}"
                )));
            }
        };
        let mut q = super::Paged::new(AGENT_COLS, "agents", "1=1", col);
        if let Some(n) = name.filter(|n| !n.is_empty()) {
            q.contains("name", n);
        }
        q.run(self.conn(), page, "an agent", agent_row)
    }

    /// Change name, description, instructions or model.
    pub fn update_agent(&mut self, id: &str, c: AgentChanges) -> StoreResult<AgentRow> {
        let n = self.write(|tx| {
            Ok(tx.execute(
                "UPDATE agents SET name = COALESCE(?2, name), description = COALESCE(?3, description), system = COALESCE(?4, system), model = COALESCE(?5, model), context_window = COALESCE(?6, context_window), updated_at = ?7 WHERE id = ?1",
                params![id, c.name, c.description, c.system, c.model, c.context_window.map(|v| v as i64), now()],
            )?)
        })?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("Agent {id} not found")));
        }
        self.get_agent(id)
    }

    /// Delete an agent with its conversations, messages, runs and unshared blocks.
    pub fn delete_agent(&mut self, id: &str) -> StoreResult<()> {
        let n = self.write(|tx| {
            tx.execute("DELETE FROM runs WHERE agent_id = ?1", [id])?;
            tx.execute(
                "DELETE FROM blocks WHERE id IN (SELECT block_id FROM agent_blocks WHERE agent_id = ?1) AND id NOT IN (SELECT block_id FROM agent_blocks WHERE agent_id != ?1)",
                [id],
            )?;
            Ok(tx.execute("DELETE FROM agents WHERE id = ?1", [id])?)
        })?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("Agent {id} not found")));
        }
        Ok(())
    }

    /// An agent's blocks in their order.
    pub fn blocks(&self, agent_id: &str) -> StoreResult<Vec<Block>> {
        self.get_agent(agent_id)?;
        let mut stmt = self.conn().prepare_cached(
            "SELECT b.id, b.label, b.value, b.lim, b.description, b.read_only FROM blocks b JOIN agent_blocks ab ON ab.block_id = b.id WHERE ab.agent_id = ?1 ORDER BY ab.position",
        )?;
        let rows = stmt.query_map([agent_id], block_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One block by label.
    pub fn block(&self, agent_id: &str, label: &str) -> StoreResult<Block> {
        self.blocks(agent_id)?
            .into_iter()
            .find(|b| b.label == label)
            .ok_or_else(|| {
                StoreError::NotFound(format!("Block {label:?} not found on agent {agent_id}"))
            })
    }

    /// Set a block's value (and optionally limit/description), checking the limit.
    pub fn update_block(
        &mut self,
        agent_id: &str,
        label: &str,
        value: Option<&str>,
        limit: Option<u64>,
        description: Option<&str>,
    ) -> StoreResult<Block> {
        let current = self.block(agent_id, label)?;
        let limit = limit.or(current.limit).unwrap_or(DEFAULT_BLOCK_LIMIT);
        let value = value.unwrap_or(&current.value);
        check_limit(label, value, limit)?;
        let id = current.id.clone().unwrap_or_default();
        self.write(|tx| {
            tx.execute(
                "UPDATE blocks SET value = ?2, lim = ?3, description = COALESCE(?4, description), updated_at = ?5 WHERE id = ?1",
                params![id, value, limit as i64, description, now()],
            )?;
            Ok(())
        })?;
        self.block(agent_id, label)
    }

    /// Give the agent a new block at the end of its memory.
    pub fn add_block(
        &mut self,
        agent_id: &str,
        label: &str,
        value: &str,
        description: &str,
    ) -> StoreResult<Block> {
        if label.trim().is_empty() || label.len() > 64 || label.chars().any(char::is_whitespace) {
            return Err(StoreError::Invalid(format!(
                "{label:?} is not a block label: use one word of up to 64 characters"
            )));
        }
        check_limit(label, value, DEFAULT_BLOCK_LIMIT)?;
        let position = self.blocks(agent_id)?.len() as i64;
        let bid = new_id("block");
        let ts = now();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO blocks(id, label, value, lim, description, read_only, updated_at) VALUES (?1,?2,?3,?4,?5,0,?6)",
                params![bid, label, value, DEFAULT_BLOCK_LIMIT as i64, description, ts],
            )?;
            tx.execute(
                "INSERT INTO agent_blocks(agent_id, block_id, position) VALUES (?1,?2,?3)",
                params![agent_id, bid, position],
            )?;
            Ok(())
        })?;
        self.block(agent_id, label)
    }

    /// When any of the agent's blocks last changed.
    pub fn memory_updated_at(&self, agent_id: &str) -> StoreResult<Option<String>> {
        Ok(self.conn().query_row(
            "SELECT MAX(b.updated_at) FROM blocks b JOIN agent_blocks ab ON ab.block_id = b.id WHERE ab.agent_id = ?1",
            [agent_id],
            |r| r.get(0),
        )?)
    }

    /// Record a finished run on the agent.
    pub fn touch_agent_run(&mut self, agent_id: &str, at: &str) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE agents SET last_run_completion = ?2 WHERE id = ?1",
                params![agent_id, at],
            )?;
            Ok(())
        })
    }
}
