//! The `/` command popup and `@` file completion.

use std::path::Path;

/// Rows shown at most.
pub const MAX_ROWS: usize = 8;

/// What the popup is completing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A command name: the text after `/`.
    Command(String),
    /// A path: the text after `@`, which starts at byte `at` of the input.
    File { at: usize, query: String },
}

/// What the input asks to complete, if anything: `/name` alone on the line, or the `@word`
/// the cursor is in.
pub fn kind(text: &str, cursor: usize) -> Option<Kind> {
    if let Some(rest) = text.strip_prefix('/')
        && !rest.contains(char::is_whitespace)
    {
        return Some(Kind::Command(rest.to_string()));
    }
    let before = &text[..cursor.min(text.len())];
    let start = before.rfind(char::is_whitespace).map_or(0, |i| {
        i + before[i..].chars().next().map_or(1, char::len_utf8)
    });
    let word = &before[start..];
    word.strip_prefix('@').map(|q| Kind::File {
        at: start,
        query: q.to_string(),
    })
}

/// Files matching a query (case-insensitive substring), shortest paths first.
pub fn files(all: &[String], query: &str) -> Vec<String> {
    let q = query.to_lowercase();
    let mut hits: Vec<&String> = all
        .iter()
        .filter(|f| f.to_lowercase().contains(&q))
        .collect();
    hits.sort_by_key(|f| (f.len(), f.as_str()));
    hits.into_iter().take(MAX_ROWS).cloned().collect()
}

/// The working tree's files, honouring .gitignore (at most 20,000), relative to `root`.
pub fn list_files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in ignore::WalkBuilder::new(root).build().flatten() {
        if entry.file_type().is_some_and(|t| t.is_file())
            && let Ok(rel) = entry.path().strip_prefix(root)
        {
            out.push(rel.display().to_string());
            if out.len() >= 20_000 {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_being_completed() {
        assert_eq!(kind("/he", 3), Some(Kind::Command("he".into())));
        assert_eq!(kind("/help me", 8), None);
        assert_eq!(
            kind("look at @src/ma", 15),
            Some(Kind::File {
                at: 8,
                query: "src/ma".into()
            })
        );
        assert_eq!(kind("plain", 5), None);
        let all = vec![
            "src/main.rs".to_string(),
            "README.md".into(),
            "src/lib.rs".into(),
        ];
        assert_eq!(files(&all, "MA"), ["src/main.rs"]);
    }
}
