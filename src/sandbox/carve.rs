//! Landlock only allows: "read everything but these files" becomes the list of folders and
//! files whose subtrees avoid them. At each folder on the way from `/` to a hidden path, every
//! sibling is allowed whole and only the way down is split further.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Roots that together cover everything readable under `/` except `hidden` (canonical paths).
pub fn readable_roots(hidden: &[PathBuf]) -> Vec<PathBuf> {
    within(Path::new("/"), hidden)
}

/// Roots that together cover `root` except `hidden`; nothing when `root` is itself hidden.
pub fn within(root: &Path, hidden: &[PathBuf]) -> Vec<PathBuf> {
    let hidden: Vec<PathBuf> = hidden
        .iter()
        .flat_map(|h| {
            // Hide the path as named and as it resolves, so a symlinked home cannot leak it.
            let mut v = vec![h.clone()];
            if let Ok(c) = h.canonicalize() {
                v.push(c);
            }
            v
        })
        .collect();
    let real_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    if hidden
        .iter()
        .any(|h| root.starts_with(h) || real_root.starts_with(h))
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    split(root, &hidden, &mut out, &mut seen, 0);
    out
}

fn split(
    dir: &Path,
    hidden: &[PathBuf],
    out: &mut Vec<PathBuf>,
    seen: &mut HashSet<PathBuf>,
    depth: usize,
) {
    if !seen.insert(dir.to_path_buf()) {
        return;
    }
    let below = |p: &Path| hidden.iter().any(|h| h.starts_with(p) && h != p);
    if !below(dir) || depth > 32 {
        out.push(dir.to_path_buf());
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        // Where it leads: a symlink to a folder on the way must be split like the folder.
        let real = p.canonicalize().unwrap_or_else(|_| p.clone());
        if hidden.iter().any(|h| *h == p || *h == real) {
            continue;
        }
        if below(&p) {
            split(&p, hidden, out, seen, depth + 1);
        } else if below(&real) {
            split(&real, hidden, out, seen, depth + 1);
        } else {
            out.push(p);
        }
    }
}
