//! The client tools the model can call: Claude Code-compatible names and JSON schemas, run on
//! the user's machine after the permission checker (and maybe the user) agreed.
//!
//! Every failure becomes an error result the model can read; no tool panics.

mod background;
mod bash;
mod builtin;
mod call;
mod context;
mod denied;
mod files;
mod guard;
mod plan;
pub(crate) mod read;
mod registry;
mod search;
mod todo;
mod tool;

pub use background::own_write;
pub use bash::kill_running;
pub use builtin::BUILTIN;
pub use call::ToolCallInfo;
pub use context::{ToolContext, ToolOutput};
pub use denied::DeniedReads;
pub use plan::EXIT_PLAN_MODE;
pub use registry::{Registry, ToolSource, describe, mcp_view, task_view};
pub use todo::Todo;
pub use tool::{Access, CallScope, CallView, Effect, PermissionClass, Progress, Tool, str_arg};

use std::path::{Component, Path, PathBuf};

/// Cap on what one tool returns to the model, in bytes.
pub const OUTPUT_CAP: usize = 30_000;

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

/// A command the user typed after `!`: run by the Bash tool (capped output, binary described,
/// the process group killed on timeout) as the user's own, so it never asks.
pub async fn run_user_command(cwd: PathBuf, command: &str) -> ToolOutput {
    let args = serde_json::json!({ "command": command });
    builtin::Bash
        .run(
            std::sync::Arc::new(ToolContext::new(cwd)),
            args,
            tokio_util::sync::CancellationToken::new(),
        )
        .await
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
