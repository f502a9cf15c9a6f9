//! Runs: one per send. A running run holds its conversation; others get "busy".

use rusqlite::{OptionalExtension, Row, params};

use super::{Store, StoreError, StoreResult, new_id, now};

/// A run whose process stopped updating its heartbeat this long ago is taken as dead.
pub const STALE_AFTER_SECS: i64 = 60;

/// A run as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub id: String,
    pub agent_id: String,
    pub conversation_id: String,
    pub status: String,
    pub stop_reason: Option<String>,
    pub usage_json: Option<String>,
    pub created_at: String,
    pub completed_at: Option<String>,
}

const COLS: &str =
    "id, agent_id, conversation_id, status, stop_reason, usage_json, created_at, completed_at";

fn row(r: &Row) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: r.get(0)?,
        agent_id: r.get(1)?,
        conversation_id: r.get(2)?,
        status: r.get(3)?,
        stop_reason: r.get(4)?,
        usage_json: r.get(5)?,
        created_at: r.get(6)?,
        completed_at: r.get(7)?,
    })
}

fn epoch() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A process's start time in clock ticks since boot, from `/proc/PID/stat` (field 22): with
/// the pid it names one process, even after the pid is reused.
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces; fields count after it.
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(19).map(str::to_string)
}

/// This process, as runs record their owner.
pub fn owner_tag() -> String {
    let pid = std::process::id();
    format!("{pid}:{}", start_time(pid).unwrap_or_default())
}

/// Whether the process a run recorded as its owner is still running. An owner this machine
/// cannot check (another host sharing the file, an old row) counts as alive.
fn owner_alive(tag: &str) -> bool {
    let Some((pid, start)) = tag.split_once(':') else {
        return true;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return true;
    };
    if start.is_empty() {
        return true;
    }
    start_time(pid).is_some_and(|s| s == start)
}

impl Store {
    /// Claim the conversation for a new run, atomically across processes.
    ///
    /// `before` runs inside the same transaction (it stores the user's message), so a busy
    /// conversation never gets a stray message and a claimed one always has it.
    pub fn start_run(
        &mut self,
        agent_id: &str,
        conversation_id: &str,
        before: impl FnOnce(&rusqlite::Transaction, &str) -> StoreResult<()>,
    ) -> StoreResult<RunRow> {
        let id = new_id("run");
        self.write(|tx| {
            let cutoff = epoch() - STALE_AFTER_SECS;
            tx.execute(
                "UPDATE runs SET status = 'failed', stop_reason = 'error', completed_at = ?2 WHERE conversation_id = ?1 AND status = 'running' AND heartbeat < ?3",
                params![conversation_id, now(), cutoff],
            )?;
            // A run whose process died (a crash, kill -9) frees its conversation at once.
            let owners: Vec<(String, String)> = {
                let mut stmt = tx.prepare("SELECT id, owner FROM runs WHERE conversation_id = ?1 AND status = 'running' AND owner IS NOT NULL")?;
                let rows = stmt.query_map([conversation_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<Result<_, _>>()?
            };
            for (run, owner) in owners.iter().filter(|(_, o)| !owner_alive(o)) {
                tx.execute(
                    "UPDATE runs SET status = 'failed', stop_reason = 'error', completed_at = ?2 WHERE id = ?1 AND owner = ?3",
                    params![run, now(), owner],
                )?;
            }
            let active: Option<String> = tx
                .query_row(
                    "SELECT id FROM runs WHERE conversation_id = ?1 AND status = 'running' LIMIT 1",
                    [conversation_id],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(run) = active {
                return Err(StoreError::Busy(format!(
                    "CONFLICT: Cannot send a new message: Another request (run_id={run}) is currently being processed for this conversation. Please wait for it to complete."
                )));
            }
            tx.execute(
                "INSERT INTO runs(id, agent_id, conversation_id, status, created_at, heartbeat, owner) VALUES (?1,?2,?3,'running',?4,?5,?6)",
                params![id, agent_id, conversation_id, now(), epoch(), owner_tag()],
            )?;
            before(tx, &id)
        })?;
        self.get_run(&id)
    }

    /// Mark as failed every running run whose process is gone.
    pub fn reap_dead_runs(&mut self) -> StoreResult<usize> {
        let owners: Vec<(String, String)> = {
            let mut stmt = self.conn().prepare(
                "SELECT id, owner FROM runs WHERE status = 'running' AND owner IS NOT NULL",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let dead: Vec<(String, String)> = owners
            .into_iter()
            .filter(|(_, o)| !owner_alive(o))
            .collect();
        if dead.is_empty() {
            return Ok(0);
        }
        self.write(|tx| {
            for (run, owner) in &dead {
                tx.execute(
                    "UPDATE runs SET status = 'failed', stop_reason = 'error', completed_at = ?2 WHERE id = ?1 AND owner = ?3 AND status = 'running'",
                    params![run, now(), owner],
                )?;
            }
            Ok(())
        })?;
        Ok(dead.len())
    }

    /// The running run of a conversation, if any.
    pub fn active_run(&self, conversation_id: &str) -> StoreResult<Option<RunRow>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLS} FROM runs WHERE conversation_id = ?1 AND status = 'running' ORDER BY created_at DESC LIMIT 1"),
                [conversation_id],
                row,
            )
            .optional()?)
    }

    /// Keep the run alive for other processes; returns whether a cancel was requested.
    pub fn heartbeat(&mut self, run_id: &str) -> StoreResult<bool> {
        self.write(|tx| {
            tx.execute(
                "UPDATE runs SET heartbeat = ?2 WHERE id = ?1",
                params![run_id, epoch()],
            )?;
            Ok(tx.query_row(
                "SELECT cancel_requested FROM runs WHERE id = ?1",
                [run_id],
                |r| r.get::<_, i64>(0),
            )? != 0)
        })
    }

    /// Ask every running run of the conversation to stop; returns their ids.
    pub fn request_cancel(&mut self, conversation_id: &str) -> StoreResult<Vec<String>> {
        self.write(|tx| {
            let ids: Vec<String> = {
                let mut stmt = tx.prepare("SELECT id FROM runs WHERE conversation_id = ?1 AND status = 'running'")?;
                let rows = stmt.query_map([conversation_id], |r| r.get(0))?;
                rows.collect::<Result<_, _>>()?
            };
            tx.execute("UPDATE runs SET cancel_requested = 1 WHERE conversation_id = ?1 AND status = 'running'", [conversation_id])?;
            Ok(ids)
        })
    }

    /// Record the end of a run.
    pub fn finish_run(
        &mut self,
        run_id: &str,
        status: &str,
        stop_reason: &str,
        usage_json: &str,
    ) -> StoreResult<String> {
        let ts = now();
        self.write(|tx| {
            tx.execute(
                "UPDATE runs SET status = ?2, stop_reason = ?3, usage_json = ?4, completed_at = ?5 WHERE id = ?1",
                params![run_id, status, stop_reason, usage_json, ts],
            )?;
            Ok(())
        })?;
        Ok(ts)
    }

    /// One run.
    pub fn get_run(&self, id: &str) -> StoreResult<RunRow> {
        self.conn()
            .query_row(&format!("SELECT {COLS} FROM runs WHERE id = ?1"), [id], row)
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("Run {id} not found")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(st: &mut Store, conv: &str) -> StoreResult<RunRow> {
        st.start_run("agent-x", conv, |_, _| Ok(()))
    }

    #[test]
    fn a_run_of_a_dead_process_frees_its_conversation_at_once() {
        let mut st = Store::in_memory().unwrap();
        st.conn()
            .execute_batch("PRAGMA foreign_keys = OFF")
            .unwrap();
        let first = claim(&mut st, "conv-1").unwrap();
        // Alive (this process): the conversation is busy.
        assert!(matches!(claim(&mut st, "conv-1"), Err(StoreError::Busy(_))));
        // The same run, owned by a process that no longer exists.
        st.conn()
            .execute(
                "UPDATE runs SET owner = '4000000:1' WHERE id = ?1",
                [&first.id],
            )
            .unwrap();
        assert!(claim(&mut st, "conv-1").is_ok());
        assert!(owner_alive(&owner_tag()));
    }
}
