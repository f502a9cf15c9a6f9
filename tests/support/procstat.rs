//! What /proc says about a process, for benches: CPU time, RSS, wake-ups.

use std::time::Duration;

/// utime + stime of a process, all its threads.
pub fn cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<u64> = after
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // Fields 14 and 15 of stat; `after` starts at field 3 (state, not numeric, skipped).
    let ticks = f.get(10).copied().unwrap_or(0) + f.get(11).copied().unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_millis(ticks * 1000 / hz)
}

/// A numeric field of `/proc/PID/status` (or of one thread's, with `task`).
pub fn status_field(pid: u32, task: Option<&str>, key: &str) -> u64 {
    let path = match task {
        Some(t) => format!("/proc/{pid}/task/{t}/status"),
        None => format!("/proc/{pid}/status"),
    };
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Resident memory in MiB.
pub fn rss_mib(pid: u32) -> f64 {
    status_field(pid, None, "VmRSS:") as f64 / 1024.0
}

/// Context switches of every thread: each is a wake-up.
pub fn wakeups(pid: u32) -> u64 {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    dir.flatten()
        .map(|t| {
            let t = t.file_name().to_string_lossy().to_string();
            status_field(pid, Some(&t), "voluntary_ctxt_switches:")
                + status_field(pid, Some(&t), "nonvoluntary_ctxt_switches:")
        })
        .sum()
}
