//! The embedded engine's SQLite store.
//!
//! One database file, opened by every `letta` process on the machine (WAL + busy timeout), so
//! parallel conversations in separate terminals share agents and memory. Writes that must not
//! interleave run in `BEGIN IMMEDIATE` transactions.

pub mod agents;
mod conversations;
mod messages;
mod runs;
mod schema;

pub use agents::AgentRow;
pub use conversations::ConversationRow;
pub use messages::{MessageRow, NewMessage, insert as messages_insert};
pub use runs::RunRow;

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use crate::backend::BackendError;

/// A store failure; converted to [`BackendError`] at the engine boundary.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Busy(String),
    #[error(
        "{path}: the database was written by a newer letta (schema {found}, this binary knows {known}); upgrade letta"
    )]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<StoreError> for BackendError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => BackendError::NotFound(m),
            StoreError::Invalid(m) => BackendError::Validation(m),
            StoreError::Busy(m) => BackendError::Busy {
                message: m,
                run_id: None,
            },
            other => BackendError::Store(other.to_string()),
        }
    }
}

/// Result of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// An open database.
pub struct Store {
    conn: Connection,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Store {
    /// Open (creating if needed) and migrate the database at `path`.
    pub fn open(path: &Path) -> StoreResult<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Invalid(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let conn = Connection::open(path)?;
        Self::setup(conn, &path.display().to_string())
    }

    /// An in-memory database, for tests and benchmarks.
    pub fn in_memory() -> StoreResult<Self> {
        Self::setup(Connection::open_in_memory()?, ":memory:")
    }

    fn setup(conn: Connection, name: &str) -> StoreResult<Self> {
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = Self { conn };
        schema::migrate(&mut store.conn, name)?;
        Ok(store)
    }

    /// Run `f` in an immediate (write-locking) transaction.
    pub fn write<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// The connection, for reads.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// Now, as the API formats timestamps.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A fresh `<kind>-<uuid>` id. UUIDv7 is time-ordered, so new rows append to the id index
/// instead of landing at random places in it.
pub fn new_id(kind: &str) -> String {
    format!("{kind}-{}", uuid::Uuid::now_v7())
}
