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

fn shell() -> String {
    std::env::var("SHELL")
        .ok()
        .filter(|s| std::path::Path::new(s).exists())
        .unwrap_or_else(|| "/bin/sh".into())
}

/// Kill the command's whole process group (it may have started children).
fn kill_group(pid: Option<u32>) {
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
    let mut cmd = tokio::process::Command::new(shell());
    cmd.arg("-c")
        .arg(command)
        .current_dir(&ctx.cwd)
        .stdin(Stdio::null());
    #[cfg(unix)]
    cmd.process_group(0);
    if background {
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
        return match cmd.spawn() {
            Ok(child) => ToolOutput::ok(format!(
                "Started in the background (pid {}). Its output goes to {}; read it with Read or Bash.",
                child.id().unwrap_or(0),
                log.display()
            )),
            Err(e) => ToolOutput::err(format!("cannot start {}: {e}", shell())),
        };
    }
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return ToolOutput::err(format!("cannot start {}: {e}", shell())),
    };
    let pid = child.id();
    let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        return ToolOutput::err("the command's output could not be captured");
    };
    let readers = tokio::spawn(async move { tokio::join!(read_capped(out), read_capped(err)) });
    let ended = tokio::select! {
        s = child.wait() => Ok(s),
        () = tokio::time::sleep(Duration::from_millis(timeout_ms)) => Err(format!("Command timed out after {}", human(timeout_ms))),
        () = cancel.cancelled() => Err("Interrupted by user".to_string()),
    };
    if ended.is_err() {
        kill_group(pid);
        let _ = child.wait().await;
    }
    let (out, err) = readers.await.unwrap_or_default();
    let total = out.1 + err.1;
    let (stdout, stderr) = (describe(&out), describe(&err));
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
