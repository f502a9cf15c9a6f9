//! `Write`, `Edit`, `MultiEdit` and `LS` (`Read` is in `read.rs`).

use serde_json::{Value, json};

use super::{ToolContext, ToolOutput, looks_binary};
use crate::protocol::ClientTool;

const LS_LIMIT: usize = 1000;

fn tool(name: &str, description: &str, parameters: Value) -> ClientTool {
    ClientTool {
        name: name.into(),
        description: description.into(),
        parameters,
        extra: Default::default(),
    }
}

fn edit_props() -> Value {
    json!({
        "old_string": {"type": "string", "description": "Exact text to replace."},
        "new_string": {"type": "string", "description": "Text to put in its place."},
        "replace_all": {"type": "boolean", "description": "Replace every occurrence (default false)."}})
}

pub fn read_definition() -> ClientTool {
    tool(
        "Read",
        "Read a text file. Returns numbered lines (cat -n style). Use offset and limit for long files.",
        json!({"type": "object", "properties": {
        "file_path": {"type": "string", "description": "Absolute path, or relative to the working directory."},
        "offset": {"type": "number", "description": "First line to read, 1-based."},
        "limit": {"type": "number", "description": "How many lines to read (default 2000)."}}, "required": ["file_path"]}),
    )
}

pub fn write_definition() -> ClientTool {
    tool(
        "Write",
        "Create or overwrite a file with the given content. Parent folders are created. An existing file must be Read first.",
        json!({"type": "object", "properties": {
        "file_path": {"type": "string"}, "content": {"type": "string"}}, "required": ["file_path", "content"]}),
    )
}

pub fn edit_definition() -> ClientTool {
    let p = edit_props();
    tool(
        "Edit",
        "Replace exact text in a file. old_string must occur exactly once unless replace_all is true.",
        json!({"type": "object", "properties": {
        "file_path": {"type": "string"}, "old_string": p["old_string"], "new_string": p["new_string"], "replace_all": p["replace_all"]},
        "required": ["file_path", "old_string", "new_string"]}),
    )
}

pub fn multi_edit_definition() -> ClientTool {
    tool(
        "MultiEdit",
        "Apply several edits to one file, in order. Either all of them apply or none does.",
        json!({"type": "object", "properties": {
        "file_path": {"type": "string"},
        "edits": {"type": "array", "items": {"type": "object", "properties": edit_props(), "required": ["old_string", "new_string"]}}},
        "required": ["file_path", "edits"]}),
    )
}

pub fn ls_definition() -> ClientTool {
    tool(
        "LS",
        "List a directory. Folders end with /.",
        json!({"type": "object", "properties": {
        "path": {"type": "string", "description": "Directory (default: the working directory)."},
        "ignore": {"type": "array", "items": {"type": "string"}, "description": "Glob patterns of names to leave out."}}}),
    )
}

pub(super) fn str_arg<'a>(args: &'a Value, key: &str, tool: &str) -> Result<&'a str, ToolOutput> {
    args.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| ToolOutput::err(format!("{tool} needs a string \"{key}\"")))
}

macro_rules! arg {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return e,
        }
    };
}

pub fn write(ctx: &ToolContext, args: &Value) -> ToolOutput {
    let path = ctx.resolve(arg!(str_arg(args, "file_path", "Write")));
    let content = arg!(str_arg(args, "content", "Write"));
    if path.is_dir() {
        return ToolOutput::err(format!("{} is a directory", path.display()));
    }
    let existed = path.exists();
    if existed && !ctx.was_read(&path) {
        return ToolOutput::err(format!(
            "{} already exists and was not Read in this session; Read it first, then write",
            path.display()
        ));
    }
    // An approved write: a background command's watch must not undo it.
    if let Err(e) =
        super::own_write(|| crate::settings::fsutil::write_atomic(&path, content.as_bytes(), None))
    {
        return ToolOutput::err(format!("cannot write {}: {e}", path.display()));
    }
    ctx.mark_read(&path);
    let lines = content.lines().count();
    ToolOutput::ok(format!(
        "{} {} ({lines} lines)",
        if existed { "Updated" } else { "Created" },
        path.display()
    ))
}

/// One replacement; returns the new text or a message saying why it cannot apply.
fn apply(text: &str, old: &str, new: &str, all: bool) -> Result<String, String> {
    if old.is_empty() {
        return Err("old_string is empty; to create a file use Write".into());
    }
    if old == new {
        return Err("old_string and new_string are the same; nothing would change".into());
    }
    match text.matches(old).count() {
        0 => Err(
            "old_string was not found in the file (it must match exactly, including whitespace)"
                .into(),
        ),
        1 => Ok(text.replacen(old, new, 1)),
        _ if all => Ok(text.replace(old, new)),
        n => Err(format!(
            "old_string occurs {n} times; add surrounding lines to make it unique, or set replace_all"
        )),
    }
}

fn edit_file(
    ctx: &ToolContext,
    args: &Value,
    tool: &str,
    edits: &[(String, String, bool)],
) -> ToolOutput {
    let path = ctx.resolve(arg!(str_arg(args, "file_path", tool)));
    let original = match std::fs::read(&path) {
        Ok(b) if looks_binary(&b) => {
            return ToolOutput::err(format!("{} is a binary file", path.display()));
        }
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => return ToolOutput::err(format!("cannot read {}: {e}", path.display())),
    };
    let mut text = original.clone();
    for (i, (old, new, all)) in edits.iter().enumerate() {
        text = match apply(&text, old, new, *all) {
            Ok(t) => t,
            Err(e) if edits.len() > 1 => {
                return ToolOutput::err(format!(
                    "edit {} of {}: {e}; no edit was applied",
                    i + 1,
                    edits.len()
                ));
            }
            Err(e) => return ToolOutput::err(e),
        };
    }
    if let Err(e) =
        super::own_write(|| crate::settings::fsutil::write_atomic(&path, text.as_bytes(), None))
    {
        return ToolOutput::err(format!("cannot write {}: {e}", path.display()));
    }
    ctx.mark_read(&path);
    ToolOutput::ok(format!(
        "Updated {} ({} edit{})",
        path.display(),
        edits.len(),
        if edits.len() == 1 { "" } else { "s" }
    ))
}

pub fn edit(ctx: &ToolContext, args: &Value) -> ToolOutput {
    let old = arg!(str_arg(args, "old_string", "Edit")).to_string();
    let new = arg!(str_arg(args, "new_string", "Edit")).to_string();
    let all = args
        .get("replace_all")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    edit_file(ctx, args, "Edit", &[(old, new, all)])
}

pub fn multi_edit(ctx: &ToolContext, args: &Value) -> ToolOutput {
    let Some(list) = args
        .get("edits")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
    else {
        return ToolOutput::err("MultiEdit needs a non-empty \"edits\" list");
    };
    let mut edits = Vec::new();
    for (i, e) in list.iter().enumerate() {
        let (Some(old), Some(new)) = (
            e.get("old_string").and_then(Value::as_str),
            e.get("new_string").and_then(Value::as_str),
        ) else {
            return ToolOutput::err(format!("edit {} needs old_string and new_string", i + 1));
        };
        edits.push((
            old.to_string(),
            new.to_string(),
            e.get("replace_all")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        ));
    }
    edit_file(ctx, args, "MultiEdit", &edits)
}

pub fn ls(ctx: &ToolContext, args: &Value) -> ToolOutput {
    let path = ctx.resolve(args.get("path").and_then(Value::as_str).unwrap_or("."));
    let mut ignore = globset::GlobSetBuilder::new();
    for g in args
        .get("ignore")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        match globset::Glob::new(g) {
            Ok(g) => {
                ignore.add(g);
            }
            Err(e) => return ToolOutput::err(format!("bad ignore pattern {g:?}: {e}")),
        }
    }
    let ignore = match ignore.build() {
        Ok(s) => s,
        Err(e) => return ToolOutput::err(format!("bad ignore patterns: {e}")),
    };
    let entries = match std::fs::read_dir(&path) {
        Ok(r) => r,
        Err(e) => return ToolOutput::err(format!("cannot list {}: {e}", path.display())),
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| !ignore.is_match(e.file_name()))
        .map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                format!("{n}/")
            } else {
                n
            }
        })
        .collect();
    names.sort();
    let total = names.len();
    names.truncate(LS_LIMIT);
    let mut out = format!("{}/\n", path.display());
    for n in &names {
        out.push_str(&format!("  {n}\n"));
    }
    if total > LS_LIMIT {
        out.push_str(&format!("[{} more entries not shown]\n", total - LS_LIMIT));
    }
    if total == 0 {
        out.push_str("  (empty)\n");
    }
    ToolOutput::ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::read::read;

    fn setup() -> (tempfile::TempDir, ToolContext) {
        let d = tempfile::tempdir().unwrap();
        let c = ToolContext::new(d.path().to_path_buf());
        (d, c)
    }

    #[test]
    fn read_numbers_lines_and_pages() {
        let (d, c) = setup();
        std::fs::write(d.path().join("a.txt"), "one\ntwo\nthree\n").unwrap();
        let r = read(&c, &json!({"file_path": "a.txt"}));
        assert_eq!(r.text, "     1\tone\n     2\ttwo\n     3\tthree\n");
        let r = read(&c, &json!({"file_path": "a.txt", "offset": 2, "limit": 1}));
        assert!(r.text.starts_with("     2\ttwo\n") && r.text.contains("lines 2-2 of 3"));
        assert!(!read(&c, &json!({"file_path": "."})).ok);
        std::fs::write(d.path().join("b.bin"), [0u8, 1, 2, 3]).unwrap();
        let r = read(&c, &json!({"file_path": "b.bin"}));
        assert!(!r.ok && r.text.contains("binary"));
        assert!(!read(&c, &json!({"file_path": "missing"})).ok);
        assert!(!read(&c, &json!({})).ok);
    }

    #[test]
    fn write_refuses_unread_files() {
        let (d, c) = setup();
        let r = write(&c, &json!({"file_path": "new/dir/f.txt", "content": "x\n"}));
        assert!(r.ok, "{r:?}");
        assert_eq!(
            std::fs::read_to_string(d.path().join("new/dir/f.txt")).unwrap(),
            "x\n"
        );
        std::fs::write(d.path().join("old.txt"), "keep").unwrap();
        let r = write(&c, &json!({"file_path": "old.txt", "content": "gone"}));
        assert!(!r.ok && r.text.contains("not Read"), "{r:?}");
        assert_eq!(
            std::fs::read_to_string(d.path().join("old.txt")).unwrap(),
            "keep"
        );
        read(&c, &json!({"file_path": "old.txt"}));
        assert!(write(&c, &json!({"file_path": "old.txt", "content": "new"})).ok);
    }

    #[test]
    fn edit_counts_matches() {
        let (d, c) = setup();
        let f = d.path().join("e.rs");
        std::fs::write(&f, "a b a").unwrap();
        let r = edit(
            &c,
            &json!({"file_path": "e.rs", "old_string": "a", "new_string": "x"}),
        );
        assert!(!r.ok && r.text.contains("occurs 2 times"), "{r:?}");
        let r = edit(
            &c,
            &json!({"file_path": "e.rs", "old_string": "zzz", "new_string": "x"}),
        );
        assert!(!r.ok && r.text.contains("not found"));
        assert!(edit(&c, &json!({"file_path": "e.rs", "old_string": "a", "new_string": "x", "replace_all": true})).ok);
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "x b x");
        assert!(
            edit(
                &c,
                &json!({"file_path": "e.rs", "old_string": "b", "new_string": "B"})
            )
            .ok
        );
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "x B x");
    }

    #[test]
    fn multi_edit_is_all_or_nothing() {
        let (d, c) = setup();
        let f = d.path().join("m.txt");
        std::fs::write(&f, "alpha beta").unwrap();
        let r = multi_edit(
            &c,
            &json!({"file_path": "m.txt", "edits": [
            {"old_string": "alpha", "new_string": "ALPHA"}, {"old_string": "missing", "new_string": "x"}]}),
        );
        assert!(
            !r.ok && r.text.contains("edit 2 of 2") && r.text.contains("no edit was applied"),
            "{r:?}"
        );
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "alpha beta");
        let r = multi_edit(
            &c,
            &json!({"file_path": "m.txt", "edits": [
            {"old_string": "alpha", "new_string": "ALPHA"}, {"old_string": "ALPHA beta", "new_string": "done"}]}),
        );
        assert!(r.ok, "{r:?}");
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "done");
    }

    #[test]
    fn ls_lists_and_ignores() {
        let (d, c) = setup();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("a.txt"), "").unwrap();
        std::fs::write(d.path().join("b.log"), "").unwrap();
        let r = ls(&c, &json!({"ignore": ["*.log"]}));
        assert!(
            r.text.contains("  a.txt\n")
                && r.text.contains("  sub/\n")
                && !r.text.contains("b.log"),
            "{}",
            r.text
        );
    }
}
