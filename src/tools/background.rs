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
/// The groups of sandboxed ones: frozen while protected files are put back.
static SANDBOXED: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static WATCH: Mutex<Option<Watch>> = Mutex::new(None);

/// Run `f` with every sandboxed background command stopped, so none can swap a file for a
/// link while protected files are being put back (their groups cannot be left: the sandbox
/// refuses `setsid` and `setpgid`).
pub fn frozen<R>(f: impl FnOnce() -> R) -> R {
    // One freeze at a time: another's SIGCONT must not wake the groups during this one.
    let _one = FREEZE.lock();
    let groups = SANDBOXED.lock().map(|g| g.clone()).unwrap_or_default();
    if groups.is_empty() {
        return f();
    }
    signal(&groups, libc::SIGSTOP);
    wait_stopped(&groups);
    let r = f();
    signal(&groups, libc::SIGCONT);
    r
}

/// Held for the whole of a freeze (taken before [`WATCH`], never after it).
static FREEZE: Mutex<()> = Mutex::new(());

fn signal(groups: &[u32], sig: libc::c_int) {
    for g in groups.iter().filter_map(|g| i32::try_from(*g).ok()) {
        // SAFETY: kill(2) on a process group; no memory is touched.
        unsafe {
            libc::kill(-g, sig);
        }
    }
}

/// Wait (briefly) until every process of `groups` has stopped: a stop is delivered, not done,
/// when `kill` returns.
fn wait_stopped(groups: &[u32]) {
    for _ in 0..500 {
        if !any_member(groups, |state| !matches!(state, "T" | "t" | "Z" | "X")) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Whether a process of `groups` is in a state `counts` takes (from `/proc`).
fn any_member(groups: &[u32], counts: impl Fn(&str) -> bool) -> bool {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .any(|stat| {
            // After the command name in parentheses: state, ppid, pgrp.
            let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
            let mut f = rest.split_whitespace();
            let (state, pgrp) = (f.next(), f.nth(1));
            pgrp.and_then(|p| p.parse::<u32>().ok())
                .is_some_and(|p| groups.contains(&p))
                && state.is_some_and(&counts)
        })
}

/// Undo what sandboxed background commands changed in protected files; what was put back.
pub fn check() -> Vec<std::path::PathBuf> {
    frozen(|| {
        WATCH
            .lock()
            .ok()
            .and_then(|w| w.as_ref().map(|w| w.guard.restore()))
            .unwrap_or_default()
    })
}

/// letta itself is about to change protected files (a rule the user chose to save): undo
/// what background commands changed first, then run `write` and take its result as the new
/// way things are, so the watch does not undo the user's choice.
pub fn own_write<R>(write: impl FnOnce() -> R) -> R {
    frozen(|| {
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
    })
}

/// Stop every background command (letta is stopping).
pub fn stop_all() {
    // From here the watch stays until the last restore below, whatever the waiters do.
    STOPPING.store(true, std::sync::atomic::Ordering::SeqCst);
    let groups = GROUPS.lock().map(|g| g.clone()).unwrap_or_default();
    for pid in &groups {
        kill_group(Some(*pid));
    }
    // SIGKILL lands when a process next leaves the kernel: a write it is in the middle of
    // still happens. So the undo waits (briefly) until no member of those groups runs.
    let deadline = std::time::Instant::now() + GONE;
    while std::time::Instant::now() < deadline && groups.iter().any(|g| group_runs(*g)) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    check();
}

/// How long a killed group may take to be gone before its changes are undone anyway: on a
/// loaded machine a killed process can wait seconds for the CPU to finish its last call.
const GONE: std::time::Duration = std::time::Duration::from_secs(5);

/// letta is stopping: the watch is kept for [`stop_all`]'s last restore.
static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether a process of group `pgid` is still running (a zombie is not).
fn group_runs(pgid: u32) -> bool {
    any_member(&[pgid], |state| !matches!(state, "Z" | "X"))
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
    if let (Some(p), true, Ok(mut g)) = (pid, watched, SANDBOXED.lock()) {
        g.push(p);
    }
    tokio::spawn(async move {
        let _ = child.wait().await;
        if watched {
            // Whatever it left in its group goes with it, then its changes are undone (once
            // no member runs: a write under way still lands after SIGKILL).
            kill_group(pid);
            let deadline = tokio::time::Instant::now() + GONE;
            while pid.is_some_and(group_runs) && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            check();
        }
        for list in [&GROUPS, &SANDBOXED] {
            if let (Some(p), Ok(mut g)) = (pid, list.lock()) {
                g.retain(|x| *x != p);
            }
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
        if inner.running == 0 && !STOPPING.load(std::sync::atomic::Ordering::SeqCst) {
            *w = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(pid: u32) -> String {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit_once(") ")
            .and_then(|(_, r)| r.split_whitespace().next())
            .unwrap_or("")
            .to_string()
    }

    #[test]
    fn sandboxed_background_groups_are_stopped_while_files_are_put_back() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id();
        SANDBOXED.lock().unwrap().push(pid);
        let inside = frozen(|| state(pid));
        SANDBOXED.lock().unwrap().retain(|p| *p != pid);
        assert_eq!(inside, "T", "stopped while the work ran");
        assert_ne!(state(pid), "T", "running again after");
        let _ = child.kill();
        let _ = child.wait();
    }
}
