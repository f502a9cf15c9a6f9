//! `/export [path]`: the conversation in use written to a file, Markdown unless the path ends
//! in `.json` (then the Letta message list).

use std::path::{Path, PathBuf};

use super::{Ctx, Outcome};
use crate::protocol::DEFAULT_CONVERSATION;
use crate::session::export::{all_messages, markdown};
use crate::session::place::label;

/// A file name from a title: lowercase words joined by dashes.
fn slug(title: &str) -> String {
    let s: String = title
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s
        .split('-')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let s: String = s.chars().take(48).collect();
    if s.is_empty() {
        "conversation".into()
    } else {
        s
    }
}

/// `base.md` in `dir`, or `base-2.md` and so on: a default name never replaces a file.
fn free_name(dir: &Path, base: &str) -> PathBuf {
    let first = dir.join(format!("{base}.md"));
    if !first.exists() {
        return first;
    }
    (2..10_000)
        .map(|i| dir.join(format!("{base}-{i}.md")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}

/// Write the session's conversation to `path` (relative to the project), or to a free name.
pub async fn export(ctx: &Ctx, path: Option<String>) -> Outcome {
    let b = ctx.backend.as_ref();
    let s = &ctx.session;
    let conv = if s.conversation_id == DEFAULT_CONVERSATION {
        None
    } else {
        b.get_conversation(&s.conversation_id).await.ok()
    };
    let title = match &conv {
        Some(c) => label(Some(c), &c.id),
        None => "default conversation".into(),
    };
    let msgs = match all_messages(b, &s.conversation_id, &s.agent_id).await {
        Ok(m) => m,
        Err(e) => return Outcome::Error(format!("could not read the conversation: {e}")),
    };
    let target = match path {
        Some(p) => ctx.cwd.join(p),
        None => free_name(&ctx.cwd, &slug(&title)),
    };
    let json = target.extension().is_some_and(|e| e == "json");
    let text = if json {
        match serde_json::to_string_pretty(&msgs) {
            Ok(t) => t + "\n",
            Err(e) => return Outcome::Error(format!("could not write JSON: {e}")),
        }
    } else {
        markdown(&title, &s.conversation_id, &msgs)
    };
    match crate::session::export::write_output(&target, text.as_bytes(), false) {
        Ok(()) => Outcome::Info(format!(
            "Exported {} messages to {}",
            crate::session::export::counted(&msgs),
            target.display()
        )),
        Err(e) => Outcome::Error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(slug("Fix the parser!"), "fix-the-parser");
        assert_eq!(slug("???"), "conversation");
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(free_name(dir.path(), "a"), dir.path().join("a.md"));
        std::fs::write(dir.path().join("a.md"), "x").unwrap();
        assert_eq!(free_name(dir.path(), "a"), dir.path().join("a-2.md"));
    }
}
