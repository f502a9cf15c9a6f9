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
/// Files per snapshot at most.
const MAX_FILES: usize = 500;

/// Keys of a settings file that grant something.
const GRANTING: &[&str] = &["permissions", "sandbox", "hooks"];

/// The protected files as they were.
pub struct Guard {
    roots: Vec<PathBuf>,
    files: BTreeMap<PathBuf, Vec<u8>>,
    /// The granting keys of each settings file.
    settings: Vec<(PathBuf, Vec<Option<Value>>)>,
}

fn is_settings(p: &Path) -> bool {
    p.parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == ".letta")
        && p.file_name()
            .is_some_and(|n| n == "settings.json" || n == "settings.local.json")
}

fn granting(p: &Path) -> Vec<Option<Value>> {
    let v: Value = crate::settings::load_json(p).unwrap_or(Value::Null);
    GRANTING.iter().map(|k| v.get(k).cloned()).collect()
}

fn collect(path: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
    if out.len() >= MAX_FILES {
        return;
    }
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.is_dir() {
        for e in std::fs::read_dir(path).into_iter().flatten().flatten() {
            collect(&e.path(), out);
        }
    } else if meta.is_file()
        && meta.len() <= MAX_FILE
        && let Ok(bytes) = std::fs::read(path)
    {
        out.insert(path.to_path_buf(), bytes);
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
        let mut files = BTreeMap::new();
        for r in &roots {
            collect(r, &mut files);
        }
        files.retain(|p, _| !is_settings(p));
        let settings = ["settings.json", "settings.local.json"]
            .iter()
            .map(|n| cwd.join(".letta").join(n))
            .map(|p| {
                let g = granting(&p);
                (p, g)
            })
            .collect();
        Self {
            roots,
            files,
            settings,
        }
    }

    /// Put back what changed; the paths that had to be restored or removed.
    pub fn restore(self) -> Vec<PathBuf> {
        let mut now = BTreeMap::new();
        for r in &self.roots {
            collect(r, &mut now);
        }
        now.retain(|p, _| !is_settings(p));
        let mut changed = Vec::new();
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
        for (path, bytes) in &self.files {
            if now.get(path) != Some(bytes) {
                if let Some(dir) = path.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                let _ = std::fs::remove_file(path);
                if std::fs::write(path, bytes).is_ok() {
                    changed.push(path.clone());
                }
            }
        }
        for path in now.keys().filter(|p| !self.files.contains_key(*p)) {
            if std::fs::remove_file(path).is_ok() {
                changed.push(path.clone());
            }
        }
        changed
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
}
