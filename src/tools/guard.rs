//! Protected files inside the project (`.letta/`, `.git/hooks/`, `.git/config`) are
//! snapshotted before a command and put back after it if it changed them: the sandbox lets
//! commands write in the project, and a script run by an allowed command must not be able to
//! grant the agent more or plant a git hook. In the two settings files only the keys that grant
//! something are guarded, so another letta process remembering its session there is not undone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Files bigger than this are not snapshotted (settings and hooks are small).
const MAX_FILE: u64 = 1 << 20;
/// Entries per snapshot at most.
const MAX_FILES: usize = 500;

/// Keys of a settings file that grant something.
const GRANTING: &[&str] = &["permissions", "sandbox", "hooks"];

/// One thing under a protected path, as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    File(Vec<u8>),
    /// A symlink (compared by where it points; never followed).
    Link(PathBuf),
    Dir,
}

/// The protected files as they were.
pub struct Guard {
    cwd: PathBuf,
    roots: Vec<PathBuf>,
    entries: BTreeMap<PathBuf, Entry>,
    /// The granting keys of each settings file.
    settings: Vec<(PathBuf, Vec<Option<Value>>)>,
    /// `.git`'s identity: replaced whole (`mv .git x; ln -s … .git`), it is set aside.
    git: Option<(u64, u64)>,
}

/// A settings file (guarded by key) or its lock (letta's own, harmless).
fn is_settings(p: &Path) -> bool {
    p.parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == ".letta")
        && p.file_name().is_some_and(|n| {
            let n = n.to_string_lossy();
            let n = n
                .strip_prefix('.')
                .and_then(|n| n.strip_suffix(".lock"))
                .unwrap_or(&n);
            n == "settings.json" || n == "settings.local.json"
        })
}

fn granting(p: &Path) -> Vec<Option<Value>> {
    let v: Value = crate::settings::load_json(p).unwrap_or(Value::Null);
    GRANTING.iter().map(|k| v.get(k).cloned()).collect()
}

fn collect(path: &Path, out: &mut BTreeMap<PathBuf, Entry>) {
    if out.len() >= MAX_FILES {
        return;
    }
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.file_type().is_symlink() {
        let to = std::fs::read_link(path).unwrap_or_default();
        out.insert(path.to_path_buf(), Entry::Link(to));
    } else if meta.is_dir() {
        out.insert(path.to_path_buf(), Entry::Dir);
        for e in std::fs::read_dir(path).into_iter().flatten().flatten() {
            collect(&e.path(), out);
        }
    } else if meta.is_file()
        && meta.len() <= MAX_FILE
        && let Ok(bytes) = std::fs::read(path)
    {
        out.insert(path.to_path_buf(), Entry::File(bytes));
    }
}

/// A folder's device and inode, unless it is a real folder no more.
fn identity(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(p).ok()?;
    m.is_dir().then(|| (m.dev(), m.ino()))
}

/// Remove whatever is at `p` without following a symlink there.
fn remove(p: &Path) -> bool {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p).is_ok(),
        Ok(_) => std::fs::remove_file(p).is_ok(),
        Err(_) => false,
    }
}

impl Guard {
    /// Snapshot the protected files of the project in `cwd`.
    pub fn snapshot(cwd: &Path) -> Self {
        let roots = vec![
            cwd.join(".letta"),
            cwd.join(".git/hooks"),
            cwd.join(".git/config"),
        ];
        let mut entries = BTreeMap::new();
        for r in &roots {
            collect(r, &mut entries);
        }
        entries.retain(|p, _| !is_settings(p));
        let settings = ["settings.json", "settings.local.json"]
            .iter()
            .map(|n| cwd.join(".letta").join(n))
            .map(|p| {
                let g = granting(&p);
                (p, g)
            })
            .collect();
        Self {
            cwd: cwd.to_path_buf(),
            roots,
            entries,
            settings,
            git: identity(&cwd.join(".git")),
        }
    }

    /// A new snapshot of the same project.
    #[must_use]
    pub fn again(&self) -> Self {
        Self::snapshot(&self.cwd)
    }

    /// Put back what changed; the paths that had to be restored, removed or set aside.
    pub fn restore(&self) -> Vec<PathBuf> {
        let mut changed = Vec::new();
        let git = self.cwd.join(".git");
        if let Some(before) = self.git
            && std::fs::symlink_metadata(&git).is_ok()
            && identity(&git) != Some(before)
        {
            // Not ours to delete, and not safe to keep where git looks for hooks.
            let aside = self
                .cwd
                .join(format!(".git.replaced-{}", uuid::Uuid::new_v4().simple()));
            if std::fs::rename(&git, &aside).is_ok() {
                changed.push(aside);
            }
        }
        self.restore_settings(&mut changed);
        let mut now = BTreeMap::new();
        for r in &self.roots {
            collect(r, &mut now);
        }
        now.retain(|p, _| !is_settings(p));
        // What is new or of another kind goes first (a symlink is removed, never followed),
        // so that what is written back lands where it was.
        for (path, entry) in now.iter().rev() {
            let keep = match (self.entries.get(path), entry) {
                (Some(Entry::Dir), Entry::Dir) | (Some(Entry::File(_)), Entry::File(_)) => true,
                (Some(a), b) => a == b,
                (None, _) => false,
            };
            if !keep && remove(path) {
                changed.push(path.clone());
            }
        }
        for (path, entry) in &self.entries {
            let ok = match entry {
                Entry::Dir => identity(path).is_some() || std::fs::create_dir(path).is_ok(),
                Entry::Link(to) => {
                    std::fs::symlink_metadata(path).is_ok()
                        || std::os::unix::fs::symlink(to, path).is_ok()
                }
                Entry::File(bytes) => {
                    if now.get(path) == Some(entry) {
                        continue;
                    }
                    let _ = std::fs::remove_file(path);
                    std::fs::write(path, bytes).is_ok()
                }
            };
            if ok && now.get(path) != Some(entry) && !changed.contains(path) {
                changed.push(path.clone());
            }
        }
        changed
    }

    /// The granting keys of the settings files back as they were (the rest stays).
    fn restore_settings(&self, changed: &mut Vec<PathBuf>) {
        for (path, before) in &self.settings {
            if granting(path) == *before {
                continue;
            }
            let put_back = crate::settings::update(path, None, |v: &mut Value| {
                if !v.is_object() {
                    *v = Value::Object(Default::default());
                }
                if let Some(o) = v.as_object_mut() {
                    for (k, old) in GRANTING.iter().zip(before) {
                        match old {
                            Some(old) => o.insert((*k).to_string(), old.clone()),
                            None => o.remove(*k),
                        };
                    }
                }
                Ok(())
            });
            if put_back.is_ok() {
                changed.push(path.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_added_and_deleted_files_come_back() {
        let d = tempfile::tempdir().unwrap();
        let cwd = d.path();
        std::fs::create_dir_all(cwd.join(".letta")).unwrap();
        std::fs::create_dir_all(cwd.join(".git/hooks")).unwrap();
        std::fs::write(cwd.join(".letta/settings.local.json"), "{}").unwrap();
        std::fs::write(cwd.join(".git/config"), "[core]").unwrap();
        let g = Guard::snapshot(cwd);
        std::fs::write(
            cwd.join(".letta/settings.local.json"),
            r#"{"permissions":{"allow":["Bash"]},"sessionsByServer":{"x":1}}"#,
        )
        .unwrap();
        std::fs::write(cwd.join(".git/hooks/pre-commit"), "#!/bin/sh\nevil").unwrap();
        std::fs::remove_file(cwd.join(".git/config")).unwrap();
        std::fs::write(cwd.join("ok.txt"), "fine").unwrap();
        let changed = g.restore();
        assert_eq!(changed.len(), 3, "{changed:?}");
        let kept: Value =
            crate::settings::load_json(&cwd.join(".letta/settings.local.json")).unwrap();
        assert_eq!(
            kept,
            serde_json::json!({"sessionsByServer": {"x": 1}}),
            "the grant goes, the session stays"
        );
        assert!(!cwd.join(".git/hooks/pre-commit").exists());
        assert_eq!(
            std::fs::read_to_string(cwd.join(".git/config")).unwrap(),
            "[core]"
        );
        assert!(cwd.join("ok.txt").exists());
    }

    #[test]
    fn a_symlinked_hooks_folder_is_removed_not_written_through() {
        let d = tempfile::tempdir().unwrap();
        let cwd = d.path();
        std::fs::create_dir_all(cwd.join(".git/hooks")).unwrap();
        std::fs::write(cwd.join(".git/hooks/pre-commit.sample"), "sample").unwrap();
        let g = Guard::snapshot(cwd);
        std::fs::remove_dir_all(cwd.join(".git/hooks")).unwrap();
        std::fs::create_dir(cwd.join("evil")).unwrap();
        std::fs::write(cwd.join("evil/pre-commit"), "#!/bin/sh\nevil").unwrap();
        std::os::unix::fs::symlink("../evil", cwd.join(".git/hooks")).unwrap();
        g.restore();
        let m = std::fs::symlink_metadata(cwd.join(".git/hooks")).unwrap();
        assert!(m.is_dir() && !m.file_type().is_symlink());
        assert!(!cwd.join(".git/hooks/pre-commit").exists());
        assert!(cwd.join(".git/hooks/pre-commit.sample").exists());
        assert!(
            !cwd.join("evil/pre-commit.sample").exists(),
            "written through"
        );
        // A new symlinked hook goes too.
        std::os::unix::fs::symlink("/tmp/x", cwd.join(".git/hooks/post-checkout")).unwrap();
        g.restore();
        assert!(std::fs::symlink_metadata(cwd.join(".git/hooks/post-checkout")).is_err());
    }

    #[test]
    fn a_replaced_git_folder_is_set_aside() {
        let d = tempfile::tempdir().unwrap();
        let cwd = d.path();
        std::fs::create_dir_all(cwd.join(".git/hooks")).unwrap();
        let g = Guard::snapshot(cwd);
        std::fs::rename(cwd.join(".git"), cwd.join("old")).unwrap();
        std::fs::create_dir_all(cwd.join(".git/hooks")).unwrap();
        std::fs::write(cwd.join(".git/hooks/pre-commit"), "evil").unwrap();
        let changed = g.restore();
        assert!(!cwd.join(".git").exists(), "{changed:?}");
        assert!(
            changed
                .iter()
                .any(|p| p.to_string_lossy().contains(".git.replaced-"))
        );
    }
}
