//! Versioned migrations. A database newer than this binary is refused, never downgraded.

use rusqlite::Connection;

use super::{StoreError, StoreResult};

const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE agents(
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  description TEXT,
  system TEXT NOT NULL,
  model TEXT,
  context_window INTEGER,
  tags TEXT NOT NULL DEFAULT '[]',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  last_run_completion TEXT
);
CREATE TABLE blocks(
  id TEXT PRIMARY KEY,
  label TEXT NOT NULL,
  value TEXT NOT NULL,
  lim INTEGER NOT NULL,
  description TEXT,
  read_only INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL
);
CREATE TABLE agent_blocks(
  agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  block_id TEXT NOT NULL REFERENCES blocks(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  PRIMARY KEY(agent_id, block_id)
);
CREATE TABLE conversations(
  id TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  is_default INTEGER NOT NULL DEFAULT 0,
  summary TEXT,
  model TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  last_message_at TEXT,
  last_run_completion TEXT,
  pending_json TEXT
);
CREATE INDEX conversations_agent ON conversations(agent_id, created_at);
CREATE TABLE messages(
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  agent_id TEXT NOT NULL,
  message_type TEXT NOT NULL,
  body TEXT NOT NULL,
  text TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  otid TEXT,
  run_id TEXT,
  step_id TEXT,
  in_context INTEGER NOT NULL DEFAULT 1,
  origin_seq INTEGER
);
CREATE INDEX messages_conversation ON messages(conversation_id, seq);
CREATE INDEX messages_origin ON messages(origin_seq) WHERE origin_seq IS NOT NULL;
CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='seq');
-- Forked copies (origin_seq set) share their original's index entry.
CREATE TRIGGER messages_ai AFTER INSERT ON messages WHEN new.text != '' AND new.origin_seq IS NULL BEGIN
  INSERT INTO messages_fts(rowid, text) VALUES (new.seq, new.text);
END;
CREATE TRIGGER messages_ad AFTER DELETE ON messages WHEN old.text != '' AND old.origin_seq IS NULL BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
END;
CREATE TABLE runs(
  id TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL,
  conversation_id TEXT NOT NULL,
  status TEXT NOT NULL,
  stop_reason TEXT,
  usage_json TEXT,
  created_at TEXT NOT NULL,
  completed_at TEXT,
  heartbeat INTEGER NOT NULL DEFAULT 0,
  cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_conversation ON runs(conversation_id, status);
",
    r"
-- The process that drives a run (pid:start time), so a crashed one is seen dead at once.
ALTER TABLE runs ADD COLUMN owner TEXT;
",
    r"
-- A fork's lineage: the API id of the conversation it came from, and the message it was cut at.
ALTER TABLE conversations ADD COLUMN parent_id TEXT;
ALTER TABLE conversations ADD COLUMN fork_message_id TEXT;
",
    r"
-- Big histories page through indexes instead of scanning and sorting: the context's rows
-- straight from the index, and conversations by recent activity (the order `--resume` lists).
CREATE INDEX messages_context ON messages(conversation_id, in_context, seq);
CREATE INDEX conversations_created ON conversations(agent_id, created_at, id) WHERE is_default = 0;
CREATE INDEX conversations_recent ON conversations(agent_id, COALESCE(last_message_at, created_at), id) WHERE is_default = 0;
CREATE INDEX conversations_recent_all ON conversations(COALESCE(last_message_at, created_at), id) WHERE is_default = 0;
CREATE INDEX conversations_completed ON conversations(agent_id, COALESCE(last_run_completion, created_at), id) WHERE is_default = 0;
-- Prefix indexes, so a search's last word, matched as a prefix, does not merge the lists of
-- every word it starts.
DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='seq', prefix='2 3');
INSERT INTO messages_fts(rowid, text) SELECT seq, text FROM messages WHERE text != '' AND origin_seq IS NULL;
",
];

/// Bring the schema up to date inside one transaction.
pub fn migrate(conn: &mut Connection, name: &str) -> StoreResult<()> {
    let known = MIGRATIONS.len() as i64;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > known {
        return Err(StoreError::TooNew {
            path: name.to_string(),
            found,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("db");
        {
            let c = Connection::open(&p).unwrap();
            c.pragma_update(None, "user_version", 99).unwrap();
        }
        let err = crate::local::store::Store::open(&p).unwrap_err();
        assert!(err.to_string().contains("newer letta"), "{err}");
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("db");
        crate::local::store::Store::open(&p).unwrap();
        crate::local::store::Store::open(&p).unwrap();
    }
}
