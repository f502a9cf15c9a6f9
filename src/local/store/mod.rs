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
mod thread;
pub mod transfer;

pub use agents::AgentRow;
pub use conversations::ConversationRow;
pub use messages::{MessageRow, NewMessage, insert as messages_insert};
pub use runs::RunRow;
pub use thread::Handle;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

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
    /// A new message while a tool call waits for approval.
    #[error("{0}")]
    PendingApproval(String),
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
    #[error("internal error in a database operation ({0}); the change was rolled back")]
    Panicked(String),
    #[error("the database thread is not running; restart letta")]
    Stopped,
}

impl From<StoreError> for BackendError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => BackendError::NotFound(m),
            StoreError::Invalid(m) => BackendError::Validation(m),
            StoreError::PendingApproval(m) => BackendError::PendingApproval(m),
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
    /// The file, so a second (read-only) connection can open it; `None` in memory.
    path: Option<PathBuf>,
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
        // The conversations are the user's: owner-only, as are SQLite's -wal and -shm files,
        // which take the database's mode.
        if let Err(e) = crate::settings::fsutil::append_private(path) {
            return Err(StoreError::Invalid(format!(
                "cannot create {}: {e}",
                path.display()
            )));
        }
        let conn = Connection::open(path)?;
        let mut store = Self::setup(conn, Some(path))?;
        // Runs of a process that was killed (and its subagents') end here, not when each
        // conversation is next used.
        store.reap_dead_runs()?;
        Ok(store)
    }

    /// An in-memory database, for tests and benchmarks.
    pub fn in_memory() -> StoreResult<Self> {
        Self::setup(Connection::open_in_memory()?, None)
    }

    /// A read-only connection to the database `path`, which [`Store::open`] has already
    /// created and migrated. In WAL mode it reads while another connection writes.
    pub(crate) fn open_reader(path: &Path) -> StoreResult<Self> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.pragma_update(None, "cache_size", -16384)?;
        Ok(Self { conn, path: None })
    }

    fn setup(conn: Connection, path: Option<&Path>) -> StoreResult<Self> {
        let name = path.map_or_else(|| ":memory:".to_string(), |p| p.display().to_string());
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // 16 MiB of page cache (default 2 MiB): forks and big lists touch many pages.
        conn.pragma_update(None, "cache_size", -16384)?;
        let mut store = Self {
            conn,
            path: path.map(Path::to_path_buf),
        };
        schema::migrate(&mut store.conn, &name)?;
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

    /// The database file, if the store has one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

/// A keyset-paged listing, as every list endpoint pages: filters, then an `after` cursor on
/// (`col`, id), then order and limit.
pub(crate) struct Paged {
    table: &'static str,
    col: &'static str,
    sql: String,
    args: Vec<String>,
}

impl Paged {
    /// `SELECT cols FROM table WHERE base`, ordered by `col` (an expression over the row).
    pub(crate) fn new(cols: &str, table: &'static str, base: &str, col: &'static str) -> Self {
        Self {
            table,
            col,
            sql: format!("SELECT {cols} FROM {table} WHERE {base}"),
            args: Vec::new(),
        }
    }

    /// `AND column = value`.
    pub(crate) fn equals(&mut self, column: &str, value: &str) {
        self.args.push(value.to_string());
        self.sql
            .push_str(&format!(" AND {column} = ?{}", self.args.len()));
    }

    /// `AND column` contains `needle`, literally (LIKE wildcards in it are escaped).
    pub(crate) fn contains(&mut self, column: &str, needle: &str) {
        self.args.push(format!(
            "%{}%",
            needle
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        ));
        self.sql.push_str(&format!(
            " AND {column} LIKE ?{} ESCAPE '\\'",
            self.args.len()
        ));
    }

    /// Apply cursor, order and limit, and run with `map`.
    pub(crate) fn run<T>(
        mut self,
        conn: &rusqlite::Connection,
        page: &crate::protocol::ListParams,
        what: &str,
        map: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
    ) -> StoreResult<Vec<T>> {
        self.finish(conn, page, what)?;
        let mut stmt = conn.prepare(&self.sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(self.args.iter()), map)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Add the cursor, order and limit to the query.
    fn finish(
        &mut self,
        conn: &rusqlite::Connection,
        page: &crate::protocol::ListParams,
        what: &str,
    ) -> StoreResult<()> {
        use rusqlite::OptionalExtension;
        let (col, table) = (self.col, self.table);
        let (dir, cmp) = match page.order.unwrap_or_default() {
            crate::protocol::Order::Asc => ("ASC", ">"),
            crate::protocol::Order::Desc => ("DESC", "<"),
        };
        if let Some(after) = &page.after {
            let key: String = conn
                .query_row(
                    &format!("SELECT {col} FROM {table} WHERE id = ?1"),
                    [after],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or_else(|| StoreError::Invalid(format!("cursor {after} is not {what}")))?;
            self.args.push(key);
            self.args.push(after.clone());
            let (k, i) = (self.args.len() - 1, self.args.len());
            self.sql.push_str(&format!(
                " AND ({col} {cmp} ?{k} OR ({col} = ?{k} AND id {cmp} ?{i}))"
            ));
        }
        self.sql.push_str(&format!(
            " ORDER BY {col} {dir}, id {dir} LIMIT {}",
            page.limit.unwrap_or(50).min(1000)
        ));
        Ok(())
    }

    /// SQLite's plan for the finished query, one step a line (for tests of the indexes).
    #[cfg(test)]
    pub(crate) fn plan(
        mut self,
        conn: &rusqlite::Connection,
        page: &crate::protocol::ListParams,
    ) -> String {
        self.finish(conn, page, "").unwrap();
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", self.sql))
            .unwrap();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(self.args.iter()), |r| {
                r.get::<_, String>(3)
            })
            .unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
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
