//! The architecture as a test: the layer map in `src/lib.rs`'s doc comment is read, and every
//! `crate::` path in `src/` must point at its own folder, a lower layer, or an earlier folder of
//! its own layer. Files stay under 500 lines and functions under about 120.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Folder (as a module path, `ui::tui`) → its rank: (layer, position after arrows).
type Ranks = BTreeMap<String, (u32, u32)>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The map, from the numbered lines of `lib.rs`'s doc comment.
fn ranks() -> Ranks {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let mut out = Ranks::new();
    for line in lib.lines().filter_map(|l| l.strip_prefix("//! ")) {
        let Some((num, rest)) = line.split_once(". ") else {
            continue;
        };
        let Ok(layer) = num.trim().parse::<u32>() else {
            continue;
        };
        let folders = rest.split_once(": ").map_or(rest, |(f, _)| f);
        for (group, part) in folders.split('→').enumerate() {
            for f in part.split(',') {
                let f = f.trim().trim_matches('`');
                assert!(!f.is_empty(), "empty folder name in lib.rs line {line:?}");
                out.insert(f.to_string(), (layer, group as u32));
            }
        }
    }
    assert!(
        out.len() >= 15,
        "the layer map in lib.rs was not found: {out:?}"
    );
    out
}

/// The declared folder a module path belongs to: the longest declared prefix.
fn folder_of(module: &[String], ranks: &Ranks) -> Option<String> {
    (1..=module.len().min(2))
        .rev()
        .map(|n| module[..n].join("::"))
        .find(|m| ranks.contains_key(m))
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file under `src/`: `src/ui/tui/cells.rs` → `[ui, tui, cells]`.
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    parts
}

/// Every path a `crate::…` reference names, with use-groups (`crate::{a, b::{c}}`) expanded.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `$crate::` or a longer identifier
        }
        expand(Vec::new(), rest, &mut out);
    }
    out
}

fn expand(prefix: Vec<String>, text: &str, out: &mut Vec<Vec<String>>) {
    let text = text.trim_start();
    if let Some(inner) = text.strip_prefix('{') {
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    expand(prefix.clone(), &inner[start..i], out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(prefix.clone(), &inner[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let ident: String = text
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if ident.is_empty() || ident == "self" {
        if !prefix.is_empty() {
            out.push(prefix);
        }
        return;
    }
    let mut path = prefix;
    path.push(ident.clone());
    match text[ident.len()..].strip_prefix("::") {
        Some(more) => expand(path, more, out),
        None => out.push(path),
    }
}

/// The code of a file without `//` comments (doc links would read as uses).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    rs_files(&src(), &mut files);
    files.sort();
    files
}

#[test]
fn every_folder_uses_only_lower_layers() {
    let ranks = ranks();
    let mut broken = Vec::new();
    for file in files() {
        let module = module_of(&file);
        if module == ["lib"] || module == ["main"] {
            continue;
        }
        let name = file.strip_prefix(src()).unwrap().display().to_string();
        let Some(own) = folder_of(&module, &ranks) else {
            broken.push(format!("{name} is not in any folder of the map in lib.rs"));
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        for path in crate_paths(&code_of(&text)) {
            let Some(used) = folder_of(&path, &ranks) else {
                broken.push(format!(
                    "{name} uses crate::{}, which is in no folder",
                    path.join("::")
                ));
                continue;
            };
            if used != own && ranks[&used] >= ranks[&own] {
                broken.push(format!(
                    "{name} ({own}) uses crate::{} ({used}), which is not below it",
                    path.join("::")
                ));
            }
        }
    }
    broken.sort();
    broken.dedup();
    assert!(
        broken.is_empty(),
        "layer rule broken:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_rule_catches_an_upward_use() {
    let ranks = ranks();
    let paths = crate_paths(
        "use crate::ui::tui::cells;\nuse crate::{protocol::X, ui::{plain, headless::Y}};",
    );
    let folders: Vec<String> = paths.iter().filter_map(|p| folder_of(p, &ranks)).collect();
    assert_eq!(
        folders,
        ["ui::tui", "protocol", "ui::plain", "ui::headless"]
    );
    assert!(ranks["ui::tui"] > ranks["tools"]);
    assert_eq!(
        ranks["ui::tui"], ranks["ui::plain"],
        "front ends are siblings"
    );
    assert!(ranks["local"] == ranks["remote"] && ranks["backend"] < ranks["local"]);
}

/// Lines of each function body outside test code, by rustfmt's layout: a `fn` line at some
/// indent ends at the first `}` line at that same indent.
fn long_functions(text: &str, limit: usize) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut skip_to: Option<String> = None;
    for (i, l) in lines.iter().enumerate() {
        if let Some(close) = &skip_to {
            if l == close {
                skip_to = None;
            }
            continue;
        }
        let t = l.trim_start();
        // An inline `#[cfg(test)] mod tests { … }` is test code.
        if t.starts_with("#[cfg(test)]") && lines.get(i + 1).is_some_and(|n| n.ends_with('{')) {
            skip_to = Some(format!("{}}}", " ".repeat(l.len() - t.len())));
            continue;
        }
        let is_fn = [
            "fn ",
            "pub fn ",
            "pub(crate) fn ",
            "async fn ",
            "pub async fn ",
            "pub(crate) async fn ",
            "pub(super) fn ",
        ]
        .iter()
        .any(|p| t.starts_with(p));
        if !is_fn || t.ends_with(';') {
            continue;
        }
        let indent = l.len() - t.len();
        let close = format!("{}}}", " ".repeat(indent));
        if let Some(end) = lines[i + 1..].iter().position(|x| *x == close)
            && end + 2 > limit
        {
            out.push((t.chars().take(60).collect(), end + 2));
        }
    }
    out
}

#[test]
fn files_and_functions_stay_small() {
    let mut broken = Vec::new();
    for file in files() {
        let name = file.strip_prefix(src()).unwrap().display().to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        let n = text.lines().count();
        if n > 500 {
            broken.push(format!("{name}: {n} lines (over 500)"));
        }
        for (f, len) in long_functions(&text, 120) {
            broken.push(format!("{name}: `{f}` is {len} lines (over 120)"));
        }
    }
    assert!(broken.is_empty(), "too big:\n{}", broken.join("\n"));
}
