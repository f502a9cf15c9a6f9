//! The store on its own threads, so SQLite work (and its busy waits while another process
//! holds the write lock) never stalls the async runtime.
//!
//! One thread owns the write connection and runs calls in order; a second, read-only
//! connection serves reads beside it, since WAL lets a reader run while a writer holds the lock.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use tokio::sync::oneshot;

use super::{Store, StoreError, StoreResult};

/// One call, run on a store thread.
type Job = Box<dyn FnOnce(&mut Store) + Send>;

/// The engine's way to the database. Clones share the threads, which stop when the last
/// clone is dropped.
#[derive(Clone)]
pub struct Handle {
    writer: mpsc::Sender<Job>,
    /// The read-only thread; the writer itself for an in-memory store.
    reader: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("store::Handle")
    }
}

impl Handle {
    /// Move `store` onto a writer thread and, for a file, open a reader beside it.
    pub fn new(store: Store) -> Self {
        let path = store.path().map(Path::to_path_buf);
        let writer = spawn("letta-db-write", store);
        let reader = match path {
            Some(p) => spawn_reader(p, writer.clone()),
            // A second in-memory connection would be a different, empty database.
            None => writer.clone(),
        };
        Self { writer, reader }
    }

    /// Run `f` on the writer thread, after every call sent before it.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        call(&self.writer, f).await
    }

    /// Run `f` on the reader, in one read transaction so it sees a single snapshot: every
    /// write committed before the call (this process's included), none from during it.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        call(&self.reader, move |st| {
            let snapshot = st.conn().unchecked_transaction()?;
            let out = f(st);
            // Nothing was written: ending the read transaction either way is the same.
            drop(snapshot);
            out
        })
        .await
    }
}

/// Send `f` to a thread and wait for its answer without blocking the runtime.
async fn call<T: Send + 'static>(
    lane: &mpsc::Sender<Job>,
    f: impl FnOnce(&mut Store) -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    let (tx, rx) = oneshot::channel();
    let job: Job = Box::new(move |st| {
        // An open transaction rolls back as the panic unwinds through it. (Release builds
        // abort on a panic instead; SQLite rolls the transaction back on the next open.)
        let out = catch_unwind(AssertUnwindSafe(|| f(st)))
            .unwrap_or_else(|p| Err(StoreError::Panicked(panic_text(p.as_ref()))));
        // The caller may have stopped waiting; the work is done either way.
        let _ = tx.send(out);
    });
    lane.send(job).map_err(|_| StoreError::Stopped)?;
    rx.await.map_err(|_| StoreError::Stopped)?
}

fn panic_text(p: &(dyn Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(std::string::ToString::to_string)
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// Start a thread serving `store`. If it cannot start, the channel is closed and every call
/// gets [`StoreError::Stopped`].
fn spawn(name: &str, store: Store) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel();
    let _ = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || serve(store, rx));
    tx
}

/// Start the reader thread. Without a reader (the file cannot be opened read-only, or no
/// thread), reads go to the writer and queue behind writes, as they did before.
fn spawn_reader(path: PathBuf, writer: mpsc::Sender<Job>) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel::<Job>();
    let fallback = writer.clone();
    let spawned = std::thread::Builder::new()
        .name("letta-db-read".into())
        .spawn(move || match Store::open_reader(&path) {
            Ok(store) => {
                drop(writer);
                serve(store, rx);
            }
            Err(_) => {
                for job in rx {
                    if writer.send(job).is_err() {
                        break;
                    }
                }
            }
        });
    match spawned {
        Ok(_) => tx,
        Err(_) => fallback,
    }
}

/// Run jobs until every sender is gone; then the connection closes with `store`.
fn serve(mut store: Store, jobs: mpsc::Receiver<Job>) {
    for job in jobs {
        // Jobs catch their own panics; this keeps the thread alive should one escape anyway.
        let _ = catch_unwind(AssertUnwindSafe(|| job(&mut store)));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn agents(st: &Store) -> StoreResult<i64> {
        Ok(st
            .conn()
            .query_row("SELECT COUNT(*) FROM agents", [], |r| r.get(0))?)
    }

    fn add_agent(st: &mut Store) -> StoreResult<String> {
        Ok(st
            .create_agent(Default::default(), Vec::new(), Vec::new())?
            .id)
    }

    #[tokio::test]
    async fn a_slow_writer_elsewhere_blocks_writes_but_not_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let h = Handle::new(Store::open(&path).unwrap());
        // Another process holds the write lock.
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let write = tokio::spawn({
            let h = h.clone();
            async move { h.write(add_agent).await }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!write.is_finished(), "the write should wait for the lock");
        let n = tokio::time::timeout(Duration::from_secs(10), h.read(agents))
            .await
            .expect("the read waited for the write lock")
            .unwrap();
        assert_eq!(n, 0);
        assert!(!write.is_finished(), "the write should still wait");
        other.execute_batch("COMMIT").unwrap();
        let id = tokio::time::timeout(Duration::from_secs(20), write)
            .await
            .expect("the write never finished")
            .unwrap()
            .unwrap();
        // The reader sees what the writer just committed.
        assert_eq!(h.read(agents).await.unwrap(), 1);
        let got = h.read(move |st| st.get_agent(&id)).await.unwrap();
        assert_eq!(got.name, "letta");
    }

    #[tokio::test]
    async fn a_panicking_call_is_an_error_and_the_handle_keeps_working() {
        let h = Handle::new(Store::in_memory().unwrap());
        let err = h
            .write(|st| -> StoreResult<()> {
                st.write(|tx| {
                    tx.execute(
                        "INSERT INTO agents(id, name, system, created_at, updated_at) VALUES ('a', 'a', '', 't', 't')",
                        [],
                    )?;
                    panic!("boom")
                })
            })
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Panicked(m) if m == "boom"),
            "{err}"
        );
        // The half-done transaction was rolled back, and both lanes still answer.
        assert_eq!(h.read(agents).await.unwrap(), 0);
        h.write(add_agent).await.unwrap();
        assert_eq!(h.read(agents).await.unwrap(), 1);
        let err = h
            .read(|_| -> StoreResult<()> { panic!("{}", "read boom") })
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Panicked(m) if m == "read boom"),
            "{err}"
        );
        assert_eq!(h.read(agents).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_stopped_thread_is_an_error_not_a_hang() {
        let (tx, rx) = mpsc::channel();
        drop(rx);
        let h = Handle {
            writer: tx.clone(),
            reader: tx,
        };
        let err = h.read(agents).await.unwrap_err();
        assert!(matches!(err, StoreError::Stopped), "{err}");
        // A job taken but never answered (its reply dropped) is the same error.
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::spawn(move || drop(rx.recv()));
        let h = Handle {
            writer: tx.clone(),
            reader: tx,
        };
        let err = h.write(add_agent).await.unwrap_err();
        assert!(matches!(err, StoreError::Stopped), "{err}");
    }
}
