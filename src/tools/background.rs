//! Commands started with `run_in_background`. They outlive the call, so the check of
//! protected files that follows a command cannot wait for them: while a sandboxed one runs,
//! the protected files are checked against how they were when it started, after each command
//! and when it ends. All of them are stopped when letta is.

use std::sync::Mutex;

use super::ToolOutput;
use super::bash::{kill_group, shell};
use super::guard::Guard;

struct Watch {
    guard: Guard,
    /// Sandboxed background commands still running.
    running: usize,
}

/// The process groups of background commands, stopped when letta is.
static GROUPS: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static WATCH: Mutex<Option<Watch>> = Mutex::new(None);

/// Undo what sandboxed background commands changed in protected files; what was put back.
pub fn check() -> Vec<std::path::PathBuf> {
    WATCH
        .lock()
        .ok()
        .and_then(|w| w.as_ref().map(|w| w.guard.restore()))
        .unwrap_or_default()
}

/// letta itself is about to change protected files (a rule the user chose to save): undo
/// what background commands changed first, then run `write` and take its result as the new
/// way things are, so the watch does not undo the user's choice.
pub fn own_write<R>(write: impl FnOnce() -> R) -> R {
    let Ok(mut w) = WATCH.lock() else {
        return write();
    };
    let Some(watch) = w.as_mut() else {
        return write();
    };
    watch.guard.restore();
    let r = write();
    watch.guard = watch.guard.again();
    r
}

/// Stop every background command (letta is stopping).
pub fn stop_all() {
    for pid in GROUPS.lock().map(|g| g.clone()).unwrap_or_default() {
        kill_group(Some(pid));
    }
    check();
}

/// Start the command with its output going to a log file, and return at once.
pub fn start(
    mut cmd: tokio::process::Command,
    ctx: &super::ToolContext,
    sandboxed: bool,
) -> ToolOutput {
    let log =
        std::env::temp_dir().join(format!("letta-bash-{}.log", uuid::Uuid::new_v4().simple()));
    let file = match std::fs::File::create(&log) {
        Ok(f) => f,
        Err(e) => return ToolOutput::err(format!("cannot create {}: {e}", log.display())),
    };
    let err_file = match file.try_clone() {
        Ok(f) => f,
        Err(e) => return ToolOutput::err(format!("cannot open {}: {e}", log.display())),
    };
    cmd.stdout(file).stderr(err_file);
    let watched = sandboxed && ctx.confined();
    if watched && let Ok(mut w) = WATCH.lock() {
        let w = w.get_or_insert_with(|| Watch {
            guard: Guard::snapshot(&ctx.cwd),
            running: 0,
        });
        w.running += 1;
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            finished(watched);
            return ToolOutput::err(format!("cannot start {}: {e}", shell()));
        }
    };
    let pid = child.id();
    if let (Some(p), Ok(mut g)) = (pid, GROUPS.lock()) {
        g.push(p);
    }
    tokio::spawn(async move {
        let _ = child.wait().await;
        if watched {
            // Whatever it left in its group goes with it, then its changes are undone.
            kill_group(pid);
            check();
        }
        if let (Some(p), Ok(mut g)) = (pid, GROUPS.lock()) {
            g.retain(|x| *x != p);
        }
        finished(watched);
    });
    ToolOutput::ok(format!(
        "Started in the background (pid {}). Its output goes to {}; read it with Read or Bash.",
        pid.unwrap_or(0),
        log.display()
    ))
}

fn finished(watched: bool) {
    if !watched {
        return;
    }
    if let Ok(mut w) = WATCH.lock()
        && let Some(inner) = w.as_mut()
    {
        inner.running = inner.running.saturating_sub(1);
        if inner.running == 0 {
            *w = None;
        }
    }
}
