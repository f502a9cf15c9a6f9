//! `Bash`: a command in the user's shell, in the working directory, with a timeout.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use super::{OUTPUT_CAP, ToolContext, ToolOutput, looks_binary};
use crate::protocol::ClientTool;

const DEFAULT_TIMEOUT_MS: u64 = 120_000;
const MAX_TIMEOUT_MS: u64 = 600_000;
/// Bytes kept of each stream; the rest is read and dropped so the command never blocks.
const KEEP: usize = 1 << 20;

pub fn definition() -> ClientTool {
    ClientTool {
        name: "Bash".into(),
        description: format!(
            "Run a shell command in the project's working directory and return its output. \
             Output over {OUTPUT_CAP} bytes is cut. Default timeout {}s, at most {}s. Prefer \
             Read, Grep, Glob and LS over cat, grep, find and ls. Use run_in_background for \
             servers and other long-running commands.",
            DEFAULT_TIMEOUT_MS / 1000,
            MAX_TIMEOUT_MS / 1000
        ),
        parameters: json!({"type": "object", "properties": {
            "command": {"type": "string", "description": "The command to run."},
            "description": {"type": "string", "description": "What the command does, in 5-10 words."},
            "timeout": {"type": "number", "description": "Timeout in milliseconds (max 600000)."},
            "run_in_background": {"type": "boolean", "description": "Start the command and return at once."}},
            "required": ["command"]}),
        extra: Default::default(),
    }
}

pub(super) fn shell() -> String {
    std::env::var("SHELL")
        .ok()
        .filter(|s| std::path::Path::new(s).exists())
        .unwrap_or_else(|| "/bin/sh".into())
}

/// Kill the command's whole process group (it may have started children).
pub(super) fn kill_group(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) with a negative pid signals that process group; no memory is touched.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

/// Read a stream to its end, keeping the first [`KEEP`] bytes; returns them and the total.
async fn read_capped(mut r: impl tokio::io::AsyncRead + Unpin) -> (Vec<u8>, usize) {
    let mut kept = Vec::new();
    let mut total = 0;
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return (kept, total),
            Ok(n) => {
                total += n;
                let room = KEEP.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

/// A stream as text for the model: binary is described, not shown.
fn describe((bytes, total): &(Vec<u8>, usize)) -> String {
    if looks_binary(bytes) {
        format!("[binary output: {total} bytes not shown]")
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::to_string).collect()
}

/// Programs that reach the network: a failure of theirs inside the sandbox is probably the
/// sandbox's doing.
const NETWORK: &[&str] = &[
    "curl", "wget", "ssh", "scp", "sftp", "rsync", "nc", "ncat", "telnet", "ping", "ftp", "git",
    "npm", "npx", "pnpm", "yarn", "bun", "pip", "pip3", "uv", "poetry", "cargo", "go", "gem",
    "bundle", "composer", "apt", "apt-get", "docker", "kubectl", "gh", "brew", "dig", "nslookup",
];

/// The process groups of commands running now, so a signal to letta can stop them too.
static RUNNING: std::sync::Mutex<Vec<i32>> = std::sync::Mutex::new(Vec::new());

/// Kill every command still running (letta is being stopped).
pub fn kill_running() {
    let groups = RUNNING.lock().map(|g| g.clone()).unwrap_or_default();
    for pid in groups {
        kill_group(u32::try_from(pid).ok());
    }
    super::background::stop_all();
}

/// Keeps a running command's group in [`RUNNING`] while it lives.
struct Running(Option<i32>);

impl Running {
    fn new(pid: Option<u32>) -> Self {
        let pid = pid.and_then(|p| i32::try_from(p).ok());
        if let (Some(p), Ok(mut g)) = (pid, RUNNING.lock()) {
            g.push(p);
        }
        Self(pid)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let (Some(p), Ok(mut g)) = (self.0, RUNNING.lock()) {
            g.retain(|x| *x != p);
        }
    }
}

/// The command as it will be started: in the sandbox when the context confines it, without
/// letta's secret variables, in the working directory, in a process group of its own.
fn build(ctx: &ToolContext, command: &str) -> tokio::process::Command {
    let shell = shell();
    let mut cmd = if let Some(sb) = ctx.sandbox_for(command) {
        let (program, args) = sb.wrap(&shell, command);
        let mut c = tokio::process::Command::new(program);
        c.args(args).env("TMPDIR", &sb.tmp);
        // The agent's socket is a way out of "no network", and a key to every SSH host.
        if !sb.policy.network {
            c.env_remove("SSH_AUTH_SOCK");
        }
        // A session (and process group) of its own from the fork on, so a kill that comes
        // before the helper has run at all still finds the group.
        #[cfg(unix)]
        // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
        unsafe {
            c.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        c
    } else {
        let mut c = tokio::process::Command::new(&shell);
        c.arg("-c").arg(command);
        #[cfg(unix)]
        c.process_group(0);
        c
    };
    for k in &ctx.secret_env {
        cmd.env_remove(k);
    }
    // A server address may carry a password (`https://user:pass@host`).
    for (k, v) in std::env::vars_os() {
        let v = v.to_string_lossy();
        if v.contains("://") && v.contains('@') && k.to_string_lossy().ends_with("_URL") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(&ctx.cwd).stdin(Stdio::null());
    cmd
}

/// How long output is still read after the command itself ended: a process it left in the
/// background may hold the pipes open forever.
const DRAIN: Duration = Duration::from_millis(300);

pub async fn run(ctx: &ToolContext, args: &Value, cancel: &CancellationToken) -> ToolOutput {
    let Some(command) = args
        .get("command")
        .and_then(Value::as_str)
        .filter(|c| !c.trim().is_empty())
    else {
        return ToolOutput::err("Bash needs a non-empty \"command\"");
    };
    let timeout_ms = args
        .get("timeout")
        .and_then(Value::as_f64)
        .map_or(DEFAULT_TIMEOUT_MS, |t| t.max(1.0) as u64)
        .min(MAX_TIMEOUT_MS);
    let background = args
        .get("run_in_background")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let sandboxed = ctx.sandbox_for(command).is_some();
    let mut cmd = build(ctx, command);
    if background {
        return super::background::start(cmd, ctx, sandboxed);
    }
    // What a sandboxed background command changed is undone before this one is looked at.
    super::background::check();
    let guard = ctx
        .confined()
        .then(|| super::guard::Guard::snapshot(&ctx.cwd));
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return ToolOutput::err(format!("cannot start {}: {e}", shell())),
    };
    let pid = child.id();
    let _running = Running::new(pid);
    let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        return ToolOutput::err("the command's output could not be captured");
    };
    let mut readers = tokio::spawn(async move { tokio::join!(read_capped(out), read_capped(err)) });
    let ended = tokio::select! {
        s = child.wait() => Ok(s),
        () = tokio::time::sleep(Duration::from_millis(timeout_ms)) => Err(format!("Command timed out after {}", human(timeout_ms))),
        () = cancel.cancelled() => Err("Interrupted by user".to_string()),
    };
    if ended.is_err() {
        kill_group(pid);
        let _ = child.wait().await;
    }
    let mut left_running = false;
    let (out, err) = if let Ok(r) = tokio::time::timeout(DRAIN, &mut readers).await {
        r.unwrap_or_default()
    } else {
        // Something it started still holds the output open: stop it, and stop waiting.
        kill_group(pid);
        left_running = true;
        if let Ok(r) = tokio::time::timeout(DRAIN, &mut readers).await {
            r.unwrap_or_default()
        } else {
            readers.abort();
            Default::default()
        }
    };
    // Whatever a sandboxed command left running goes with it: the sandbox keeps it in the
    // command's process group, so nothing can write after the check of protected files.
    if let Some(sb) = ctx.sandbox_for(command) {
        kill_group(pid);
        crate::sandbox::repair_sealed(&sb.policy);
    }
    let mut result = finish(ended, &out, &err);
    if left_running {
        result.text.push_str(
            "\n[a process the command left running kept its output open; it was stopped]",
        );
    }
    if sandboxed && !result.ok {
        result.sandbox_denied = denial(command, &result.text);
    }
    let mut restored = guard
        .map(|g| super::background::frozen(|| g.restore()))
        .unwrap_or_default();
    restored.extend(super::background::check());
    if !restored.is_empty() {
        let names: Vec<String> = restored.iter().map(|p| p.display().to_string()).collect();
        result.text.push_str(&format!(
            "\n[the command changed protected files ({}); they were put back. Changes there need the user: ask them.]",
            names.join(", ")
        ));
    }
    result
}

/// Why a failed sandboxed command may have been stopped by the sandbox, if it looks so.
fn denial(command: &str, output: &str) -> Option<String> {
    let blocked = [
        "Permission denied",
        "Operation not permitted",
        "Read-only file system",
    ]
    .iter()
    .any(|m| output.contains(m));
    let script = crate::shell::analyse(command);
    let networked = script.commands.iter().any(|c| NETWORK.contains(&c.name()));
    match (blocked, networked) {
        (_, true) => Some("it may need the network, which the sandbox turns off".into()),
        (true, false) => {
            Some("the sandbox refused it something (it may write outside the project)".into())
        }
        (false, false) => None,
    }
}

/// The result the model reads: output (capped) and how the command ended.
fn finish(
    ended: Result<std::io::Result<std::process::ExitStatus>, String>,
    out: &(Vec<u8>, usize),
    err: &(Vec<u8>, usize),
) -> ToolOutput {
    let total = out.1 + err.1;
    let (stdout, stderr) = (describe(out), describe(err));
    let mut text = stdout.clone();
    if !stderr.is_empty() {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&stderr);
    }
    if text.len() > OUTPUT_CAP {
        let mut end = OUTPUT_CAP;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text = format!(
            "{}\n[output truncated: {end} of {total} bytes shown]",
            &text[..end]
        );
    }
    // The status goes after the cap, so it is never cut off.
    let mut result = match ended {
        Ok(Ok(status)) if status.success() => ToolOutput::ok(if text.is_empty() {
            "(no output)".to_string()
        } else {
            text
        }),
        Ok(Ok(status)) => {
            let code = status.code().map_or("killed by a signal".to_string(), |c| {
                format!("Exit code {c}")
            });
            ToolOutput::err(if text.is_empty() {
                code
            } else {
                format!("{text}\n{code}")
            })
        }
        Ok(Err(e)) => ToolOutput::err(format!("waiting for the command failed: {e}")),
        Err(why) => ToolOutput::err(if text.is_empty() {
            why
        } else {
            format!("{text}\n{why}")
        }),
    };
    result.stdout = Some(lines(&super::cap_text(&stdout, OUTPUT_CAP)));
    result.stderr = Some(lines(&super::cap_text(&stderr, OUTPUT_CAP)));
    result
}

fn human(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::Sandbox;

    fn ctx() -> (tempfile::TempDir, ToolContext) {
        let d = tempfile::tempdir().unwrap();
        let c = ToolContext::new(d.path().to_path_buf());
        (d, c)
    }

    #[tokio::test]
    async fn runs_and_reports_exit_codes() {
        let (_d, c) = ctx();
        let t = CancellationToken::new();
        let r = run(&c, &json!({"command": "echo hi && pwd"}), &t).await;
        assert!(r.ok, "{r:?}");
        assert!(r.text.starts_with("hi\n"));
        assert_eq!(r.stdout.as_ref().unwrap()[0], "hi");
        let r = run(&c, &json!({"command": "echo oops >&2; exit 3"}), &t).await;
        assert!(!r.ok);
        assert!(
            r.text.contains("oops") && r.text.contains("Exit code 3"),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn timeout_kills_the_process_group() {
        let (_d, c) = ctx();
        let started = std::time::Instant::now();
        let r = run(
            &c,
            &json!({"command": "sleep 100 & sleep 100", "timeout": 300}),
            &CancellationToken::new(),
        )
        .await;
        assert!(!r.ok);
        assert!(r.text.contains("timed out after 300ms"), "{r:?}");
        assert!(started.elapsed() < Duration::from_secs(20));
    }

    /// The process group must exist when `spawn` returns: letta may be stopped before the
    /// helper has run a single instruction, and a kill sent to a group not yet made is lost.
    #[tokio::test]
    async fn a_sandboxed_command_has_its_own_group_as_soon_as_it_is_started() {
        use std::os::unix::fs::PermissionsExt;
        let (d, c) = ctx();
        // A helper that never starts a session itself.
        let helper = d.path().join("helper");
        std::fs::write(&helper, "#!/bin/sh\nexec sleep 30\n").unwrap();
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let c = c.with_sandbox(Some(Sandbox {
            helper,
            policy: crate::sandbox::Policy::default(),
            tmp: d.path().to_path_buf(),
            excluded: Vec::new(),
        }));
        let mut child = build(&c, "true").spawn().unwrap();
        let pid = child.id().unwrap();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let rest = stat.rsplit_once(") ").unwrap().1;
        let pgrp: u32 = rest.split_whitespace().nth(2).unwrap().parse().unwrap();
        kill_group(Some(pid));
        let _ = child.start_kill();
        let _ = child.wait().await;
        assert_eq!(pgrp, pid, "the command is not in a group of its own yet");
    }

    #[tokio::test]
    async fn cancel_interrupts() {
        let (_d, c) = ctx();
        let t = CancellationToken::new();
        t.cancel();
        let r = run(&c, &json!({"command": "sleep 100"}), &t).await;
        assert!(r.text.contains("Interrupted by user"), "{r:?}");
    }

    #[tokio::test]
    async fn binary_and_huge_output_are_contained() {
        let (_d, c) = ctx();
        let t = CancellationToken::new();
        let r = run(&c, &json!({"command": "head -c 5000 /dev/urandom"}), &t).await;
        assert!(
            r.text.contains("[binary output"),
            "{}",
            &r.text[..r.text.len().min(200)]
        );
        let r = run(&c, &json!({"command": "yes abcdefgh | head -c 200000"}), &t).await;
        assert!(r.text.len() < OUTPUT_CAP + 200);
        assert!(
            r.text
                .contains("[output truncated: 30000 of 200000 bytes shown]"),
            "{}",
            &r.text[r.text.len() - 100..]
        );
        let r = run(&c, &json!({}), &t).await;
        assert!(!r.ok && r.text.contains("command"));
    }
}
