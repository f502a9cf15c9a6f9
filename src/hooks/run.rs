//! Running one hook and reading what it said.

use std::path::Path;
use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::config::{Event, HookCommand};

/// Bytes of a hook's stdout and stderr that are read.
const OUTPUT_CAP: u64 = 64 * 1024;

/// A hook's say on a permission question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run it without asking (deny rules still apply).
    Allow,
    /// Ask the user even where the rules would allow it.
    Ask,
}

/// What the hooks of one event decided.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// A hook blocked the action (exit 2, or a deny/block decision): the reason, for the model.
    pub blocked: Option<String>,
    pub decision: Option<Decision>,
    /// Text to add for the model.
    pub context: Vec<String>,
    /// A tool's input, rewritten.
    pub updated_input: Option<Value>,
    /// What the user should hear: a hook failed, timed out, printed garbage, or said something.
    pub notes: Vec<String>,
    /// `"continue": false`: stop, with this reason.
    pub stop: Option<String>,
}

impl Outcome {
    pub(super) fn merge(&mut self, o: Outcome) {
        self.blocked = self.blocked.take().or(o.blocked);
        if o.decision.is_some() {
            self.decision = o.decision;
        }
        self.context.extend(o.context);
        if o.updated_input.is_some() {
            self.updated_input = o.updated_input;
        }
        self.notes.extend(o.notes);
        self.stop = self.stop.take().or(o.stop);
    }
}

/// Run `hook` with `input` on stdin, in `cwd`.
pub async fn run(hook: &HookCommand, input: &Value, cwd: &Path, event: Event) -> Outcome {
    let name = crate::tools::cap_text(&hook.command, 80);
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(&hook.command)
        .current_dir(cwd)
        .env("LETTA_PROJECT_DIR", cwd)
        .env("CLAUDE_PROJECT_DIR", cwd)
        .env("LETTA_HOOK_EVENT", event.name())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    for k in crate::sandbox::SECRET_ENV {
        cmd.env_remove(k);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return note(format!("hook `{name}` could not start: {e}")),
    };
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return note(format!("hook `{name}` could not be given its input"));
    };
    let body = input.to_string();
    // Everything the hook started is in its process group: stopped when it is done, and also
    // when this run is dropped half way (the turn interrupted, letta shutting down).
    let group = Group(child.id().map(|p| p as i32));
    let stop_group = || group.stop();
    let reading = tokio::spawn(async move { tokio::join!(capped(stdout), capped(stderr)) });
    let work = async {
        // A hook that never reads its input must not stall us: a broken pipe is fine.
        let _ = stdin.write_all(body.as_bytes()).await;
        drop(stdin);
        child.wait().await
    };
    let Ok(status) = tokio::time::timeout(hook.timeout, work).await else {
        stop_group();
        reading.abort();
        return note(format!(
            "hook `{name}` did not finish within {} s and was stopped",
            hook.timeout.as_secs()
        ));
    };
    // A background process it left holding the pipes does not hold the turn.
    stop_group();
    let (out, err) = tokio::time::timeout(std::time::Duration::from_secs(1), reading)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let stdout = String::from_utf8_lossy(&out).trim().to_string();
    let stderr = String::from_utf8_lossy(&err).trim().to_string();
    match status.ok().and_then(|s| s.code()) {
        Some(0) => read_stdout(&stdout, &name, event),
        Some(2) => Outcome {
            blocked: Some(if stderr.is_empty() {
                format!("blocked by the hook `{name}`")
            } else {
                stderr
            }),
            ..Default::default()
        },
        Some(code) => note(format!(
            "hook `{name}` failed (exit {code}){}",
            tail(&stderr)
        )),
        None => note(format!(
            "hook `{name}` was killed by a signal{}",
            tail(&stderr)
        )),
    }
}

/// A hook's process group.
struct Group(Option<i32>);

impl Group {
    fn stop(&self) {
        if let Some(pid) = self.0 {
            // SAFETY: signalling the process group this hook leads.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Everything `r` writes is read, so the hook never blocks on a full pipe; the first
/// `OUTPUT_CAP` bytes are kept.
async fn capped(mut r: impl tokio::io::AsyncRead + Unpin) -> Vec<u8> {
    let (mut kept, mut buf) = (Vec::new(), vec![0u8; 8192]);
    while let Ok(n) = r.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let room = (OUTPUT_CAP as usize).saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
    kept
}

fn tail(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {}", crate::tools::cap_text(stderr, 300))
    }
}

fn note(s: String) -> Outcome {
    Outcome {
        notes: vec![s],
        ..Default::default()
    }
}

/// Exit 0: JSON decides; plain text is context for the events that take it.
fn read_stdout(stdout: &str, name: &str, event: Event) -> Outcome {
    let mut o = Outcome::default();
    if stdout.is_empty() {
        return o;
    }
    if !stdout.starts_with('{') {
        if matches!(event, Event::UserPromptSubmit | Event::SessionStart) {
            o.context.push(stdout.to_string());
        }
        return o;
    }
    let Ok(v) = serde_json::from_str::<Value>(stdout) else {
        o.notes.push(format!(
            "hook `{name}` printed output that is not valid JSON; it was ignored"
        ));
        return o;
    };
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    if v.get("continue") == Some(&Value::Bool(false)) {
        o.stop = Some(
            s(&v, "stopReason").unwrap_or_else(|| format!("the hook `{name}` stopped the turn")),
        );
    }
    if let Some(m) = s(&v, "systemMessage") {
        o.notes.push(m);
    }
    let reason = s(&v, "reason");
    match v.get("decision").and_then(Value::as_str) {
        Some("block") => {
            o.blocked = Some(
                reason
                    .clone()
                    .unwrap_or_else(|| format!("blocked by the hook `{name}`")),
            );
        }
        Some("approve") => o.decision = Some(Decision::Allow),
        _ => {}
    }
    let Some(h) = v.get("hookSpecificOutput") else {
        return o;
    };
    if let Some(c) = s(h, "additionalContext") {
        o.context.push(c);
    }
    let why = s(h, "permissionDecisionReason").or(reason);
    match h.get("permissionDecision").and_then(Value::as_str) {
        Some("allow") => o.decision = Some(Decision::Allow),
        Some("ask") => o.decision = Some(Decision::Ask),
        Some("deny") => {
            o.blocked = Some(why.unwrap_or_else(|| format!("denied by the hook `{name}`")));
        }
        _ => {}
    }
    // PermissionRequest answers with {"decision": {"behavior": "allow"|"deny", "message"}}.
    if let Some(d) = h.get("decision") {
        match d.get("behavior").and_then(Value::as_str) {
            Some("allow") => o.decision = Some(Decision::Allow),
            Some("deny") => {
                o.blocked =
                    Some(s(d, "message").unwrap_or_else(|| format!("denied by the hook `{name}`")));
            }
            _ => {}
        }
        if let Some(u @ Value::Object(_)) = d.get("updatedInput") {
            o.updated_input = Some(u.clone());
        }
    }
    if let Some(u @ Value::Object(_)) = h.get("updatedInput") {
        o.updated_input = Some(u.clone());
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn hook(cmd: &str, secs: u64) -> HookCommand {
        HookCommand {
            command: cmd.into(),
            timeout: Duration::from_secs(secs),
            source: "/s.json".into(),
        }
    }

    #[tokio::test]
    async fn exit_codes_json_and_failures() {
        let dir = tempfile::tempdir().unwrap();
        let input = json!({"tool_name": "Bash", "tool_input": {"command": "rm -rf x"}});
        let run1 = |c: &str, s| {
            let h = hook(c, s);
            let (input, dir) = (input.clone(), dir.path().to_path_buf());
            async move { run(&h, &input, &dir, Event::PreToolUse).await }
        };
        let o = run1("grep -q 'rm -rf' && { echo 'no rm here' >&2; exit 2; }", 5).await;
        assert_eq!(o.blocked.as_deref(), Some("no rm here"));
        let o = run1("cat > /dev/null; echo '{\"hookSpecificOutput\":{\"permissionDecision\":\"allow\",\"updatedInput\":{\"command\":\"ls\"}}}'", 5).await;
        assert_eq!(o.decision, Some(Decision::Allow));
        assert_eq!(o.updated_input, Some(json!({"command": "ls"})));
        let o = run1("echo '{oops'", 5).await;
        assert!(o.notes[0].contains("not valid JSON"), "{o:?}");
        let o = run1("echo bad >&2; exit 7", 5).await;
        assert!(o.notes[0].contains("failed (exit 7): bad"), "{o:?}");
        let o = run1("sleep 30", 1).await;
        assert!(o.notes[0].contains("did not finish within 1 s"), "{o:?}");
        let o = run1("printf 'x%.0s' $(seq 1 200000)", 5).await;
        assert!(o.notes.is_empty() && o.blocked.is_none(), "{o:?}");
        // A child left behind holding stdout neither holds the hook up nor outlives it.
        let mark = dir.path().join("child.pid");
        let m = mark.display();
        let cmd = format!(
            "(sleep 30 & echo $! > {m}; wait) & while [ ! -s {m} ]; do sleep 0.01; done; echo '{{\"decision\":\"block\",\"reason\":\"bg\"}}'"
        );
        // Within its 5 s, or it would have been reported as timed out instead.
        let o = run1(&cmd, 5).await;
        assert_eq!(o.blocked.as_deref(), Some("bg"), "{o:?}");
        let pid: i32 = std::fs::read_to_string(&mark)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Gone, or a zombie waiting for whoever adopted it: either way it runs no more.
        let running = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|r| !r.trim_start().starts_with('Z'))
            })
        };
        for _ in 0..200 {
            if !running() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!running(), "the hook's background child outlived it");
    }
}
