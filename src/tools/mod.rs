//! The client tools the model can call: Claude Code-compatible names and JSON schemas, run on
//! the user's machine after the permission checker (and maybe the user) agreed.
//!
//! Every failure becomes an error result the model can read; no tool panics.

mod bash;
mod files;
mod search;
mod todo;

pub use todo::Todo;

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::protocol::{ClientTool, ToolReturnItem};

/// Cap on what one tool returns to the model, in bytes.
pub const OUTPUT_CAP: usize = 30_000;

/// What a tool produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutput {
    pub ok: bool,
    pub text: String,
    pub stdout: Option<Vec<String>>,
    pub stderr: Option<Vec<String>>,
}

impl ToolOutput {
    /// A success with this text.
    pub fn ok(text: impl Into<String>) -> Self {
        Self {
            ok: true,
            text: text.into(),
            stdout: None,
            stderr: None,
        }
    }

    /// A failure the model should read.
    pub fn err(text: impl Into<String>) -> Self {
        Self {
            ok: false,
            text: text.into(),
            stdout: None,
            stderr: None,
        }
    }

    /// The approval entry that carries this result back to the agent.
    pub fn into_return(self, tool_call_id: &str) -> ToolReturnItem {
        ToolReturnItem {
            tool_call_id: tool_call_id.to_string(),
            tool_return: self.text,
            status: if self.ok { "success" } else { "error" }.into(),
            stdout: self.stdout,
            stderr: self.stderr,
            extra: Default::default(),
        }
    }
}

/// What a session's tools share: the working directory, which files were read, the todo list.
#[derive(Debug)]
pub struct ToolContext {
    pub cwd: PathBuf,
    read_files: Mutex<HashSet<PathBuf>>,
    pub todos: Mutex<Vec<Todo>>,
}

impl ToolContext {
    /// Tools working in `cwd`.
    pub fn new(cwd: PathBuf) -> Self {
        Self {
            cwd,
            read_files: Mutex::new(HashSet::new()),
            todos: Mutex::new(Vec::new()),
        }
    }

    /// `path` made absolute against the working directory and cleaned of `.` and `..`.
    pub fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path.strip_prefix("~/").map_or(path, |_| path));
        let joined = if let Some(rest) = path.strip_prefix("~/") {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(rest))
                .unwrap_or_else(|| self.cwd.join(rest))
        } else if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.cwd.join(p)
        };
        normalize(&joined)
    }

    fn mark_read(&self, path: &Path) {
        if let Ok(mut s) = self.read_files.lock() {
            s.insert(path.to_path_buf());
        }
    }

    fn was_read(&self, path: &Path) -> bool {
        self.read_files
            .lock()
            .map(|s| s.contains(path))
            .unwrap_or(false)
    }
}

/// Lexically remove `.` and `..` (symlinks are resolved by the permission checker).
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// How a call touches the machine, for scheduling and permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Reads only; may run in parallel with other reads.
    Read,
    /// Changes this file.
    Write(PathBuf),
    /// Runs a shell command.
    Exec(String),
}

/// Names of all client tools.
pub const NAMES: &[&str] = &[
    "Bash",
    "Read",
    "Write",
    "Edit",
    "MultiEdit",
    "Glob",
    "Grep",
    "LS",
    "TodoWrite",
];

/// Classify a call; unknown tools count as commands (they ask).
pub fn access(ctx: &ToolContext, name: &str, args: &Value) -> Access {
    let s = |k: &str| args.get(k).and_then(Value::as_str).unwrap_or("");
    match name {
        "Read" | "Glob" | "Grep" | "LS" | "TodoWrite" => Access::Read,
        "Write" | "Edit" | "MultiEdit" => Access::Write(ctx.resolve(s("file_path"))),
        "Bash" => Access::Exec(s("command").to_string()),
        other => Access::Exec(other.to_string()),
    }
}

/// The tool schemas sent as `client_tools`.
pub fn definitions() -> Vec<ClientTool> {
    let mut v = vec![bash::definition()];
    v.extend(files::definitions());
    v.extend(search::definitions());
    v.push(todo::definition());
    v
}

/// Run one tool call. `cancel` interrupts long-running work. File tools run on the blocking
/// pool, so reads proceed in parallel and never stall the async runtime.
pub async fn run(
    ctx: &Arc<ToolContext>,
    name: &str,
    arguments: &str,
    cancel: &CancellationToken,
) -> ToolOutput {
    let args: Value = if arguments.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        match serde_json::from_str(arguments) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => return ToolOutput::err(format!("{name}: arguments must be a JSON object")),
            Err(e) => {
                return ToolOutput::err(format!("{name}: arguments are not valid JSON ({e})"));
            }
        }
    };
    let sync: fn(&ToolContext, &Value) -> ToolOutput = match name {
        "Bash" => return bash::run(ctx, &args, cancel).await,
        "Read" => files::read,
        "Write" => files::write,
        "Edit" => files::edit,
        "MultiEdit" => files::multi_edit,
        "LS" => files::ls,
        "Glob" => search::glob,
        "Grep" => search::grep_tool,
        "TodoWrite" => todo::write,
        other => {
            return ToolOutput::err(format!(
                "unknown tool {other:?}; available: {}",
                NAMES.join(", ")
            ));
        }
    };
    let ctx = ctx.clone();
    let name = name.to_string();
    tokio::task::spawn_blocking(move || sync(&ctx, &args))
        .await
        .unwrap_or_else(|e| ToolOutput::err(format!("{name} failed: {e}")))
}

/// Cut `s` to `cap` bytes at a character boundary, saying what was cut.
pub fn cap_text(s: &str, cap: usize) -> String {
    if s.len() <= cap {
        return s.to_string();
    }
    let mut end = cap;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[output truncated: {} of {} bytes shown]",
        &s[..end],
        end,
        s.len()
    )
}

/// NUL bytes or mostly invalid UTF-8 in the first 8 KiB.
pub fn looks_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return true;
    }
    match std::str::from_utf8(head) {
        Ok(_) => false,
        Err(e) => {
            e.valid_up_to() + 4 < head.len()
                && String::from_utf8_lossy(head).matches('\u{FFFD}').count() > head.len() / 20
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_and_binary() {
        assert_eq!(cap_text("abc", 10), "abc");
        assert!(looks_binary(&[0, 159, 146, 150]));
        assert!(!looks_binary("héllo".as_bytes()));
        let long = "é".repeat(20);
        let cut = cap_text(&long, 5);
        assert!(
            cut.starts_with("éé") && cut.contains("[output truncated: 4 of 40 bytes shown]"),
            "{cut}"
        );
    }

    #[test]
    fn resolves_paths() {
        let ctx = ToolContext::new(PathBuf::from("/work/p"));
        assert_eq!(ctx.resolve("src/../a.rs"), PathBuf::from("/work/p/a.rs"));
        assert_eq!(ctx.resolve("/etc/x"), PathBuf::from("/etc/x"));
        assert_eq!(ctx.resolve("../../.."), PathBuf::from("/"));
    }
}
