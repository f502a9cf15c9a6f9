//! Input history, one file per project in the data directory (JSON strings, one per line, so
//! multi-line inputs survive).

use std::io::Write;
use std::path::{Path, PathBuf};

/// Entries kept when loading.
const KEEP: usize = 1000;

/// The history file of the project at `cwd`.
pub fn file(data_dir: &Path, cwd: &Path) -> PathBuf {
    // FNV-1a of the path: stable, short, and no dependency.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in cwd.as_os_str().as_encoded_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    data_dir.join("history").join(format!("{h:016x}.jsonl"))
}

/// The saved entries, oldest first; unreadable lines are skipped.
pub fn load(path: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut v: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<String>(l).ok())
        .collect();
    v.dedup();
    let skip = v.len().saturating_sub(KEEP);
    v.split_off(skip)
}

/// Append an entry (the composer already skips a repeat of the last one; [`load`] drops
/// repeats two sessions may have written).
pub fn append(path: &Path, entry: &str) -> std::io::Result<()> {
    if entry.trim().is_empty() {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = crate::settings::fsutil::append_private(path)?;
    let line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
    writeln!(f, "{line}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_project_without_consecutive_duplicates() {
        let d = tempfile::tempdir().unwrap();
        let a = file(d.path(), Path::new("/p/a"));
        assert_ne!(a, file(d.path(), Path::new("/p/b")));
        append(&a, "one").unwrap();
        append(&a, "one").unwrap();
        append(&a, "two\nlines").unwrap();
        append(&a, "one").unwrap();
        assert_eq!(load(&a), ["one", "two\nlines", "one"]);
    }
}
