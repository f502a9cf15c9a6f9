//! Protected files inside the project (`.letta/`, and what git runs or follows in `.git/`:
//! hooks, config, `commondir`, `info/`, submodules' and worktrees' own) are snapshotted before
//! a command and put back after it if it changed them: the sandbox lets commands write in the
//! project, and a script run by an allowed command must not be able to grant the agent more or
//! plant a git hook. In the two settings files only the keys that grant something are guarded,
//! so another letta process remembering its session there is not undone. Nothing is followed
//! through a symlink; what cannot be put back exactly (too big to keep) is removed.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Bytes kept per snapshot; files beyond it are kept as size and identity only.
const KEEP_BYTES: u64 = 8 << 20;
/// How deep a protected folder is walked.
const MAX_DEPTH: usize = 12;

/// Keys of a settings file that grant something.
const GRANTING: &[&str] = &["permissions", "sandbox", "hooks"];

/// One thing under a protected path, as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// Its bytes and permission bits (a hook put back must still run, or still not).
    File(Vec<u8>, u32),
    /// A file too big to keep: its size, inode and change time.
    Meta(u64, u64, i64),
    /// A symlink (compared by where it points; never followed).
    Link(PathBuf),
    Dir,
}

/// A settings file as it was: its bytes (if it was a regular file) and its granting keys.
struct SettingsFile {
    path: PathBuf,
    bytes: Option<Vec<u8>>,
    granting: Vec<Option<Value>>,
}

/// The protected files as they were.
pub struct Guard {
    cwd: PathBuf,
    roots: Vec<PathBuf>,
    entries: BTreeMap<PathBuf, Entry>,
    settings: Vec<SettingsFile>,
    /// `.git`'s identity: replaced whole (`mv .git x; ln -s … .git`), it is set aside.
    git: Option<(u64, u64)>,
    /// `.git` as a file (`gitdir: …`, in a worktree or submodule checkout): its bytes.
    git_file: Option<Vec<u8>>,
}

/// The name of a file directly in `.letta/`.
fn in_letta(p: &Path) -> Option<String> {
    p.parent()
        .and_then(Path::file_name)
        .filter(|d| *d == ".letta")
        .and(p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
}

fn is_settings(p: &Path) -> bool {
    in_letta(p).is_some_and(|n| n == "settings.json" || n == "settings.local.json")
}

/// What letta itself keeps in `.letta/` and that grants nothing: its locks (another letta may
/// hold one) and the `.gitignore` it writes, as long as they are regular files.
fn letta_own(p: &Path, meta: &std::fs::Metadata) -> bool {
    meta.is_file()
        && in_letta(p).is_some_and(|n| {
            n == ".gitignore"
                || (n.starts_with('.') && Path::new(&n).extension().is_some_and(|e| e == "lock"))
        })
}

/// Write `bytes` to `path` as a new file (with `mode`, when given): a link put there meanwhile
/// is not written through, since creating it fails.
fn write_new(path: &Path, bytes: &[u8], mode: Option<u32>) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    std::io::Write::write_all(&mut f, bytes)?;
    match mode {
        Some(m) => f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(m)),
        None => Ok(()),
    }
}

fn granting(p: &Path) -> Vec<Option<Value>> {
    let v: Value = crate::settings::load_json(p).unwrap_or(Value::Null);
    GRANTING.iter().map(|k| v.get(k).cloned()).collect()
}

/// What git reads in a git folder that could run something or point elsewhere.
fn git_roots(git: &Path, out: &mut Vec<PathBuf>) {
    for name in ["hooks", "config", "config.worktree", "commondir", "info"] {
        out.push(git.join(name));
    }
}

/// The protected paths of the project in `cwd`.
fn roots(cwd: &Path) -> Vec<PathBuf> {
    let git = cwd.join(".git");
    let mut out = vec![cwd.join(".letta")];
    git_roots(&git, &mut out);
    // Submodules and worktrees have git folders of their own, with hooks and config.
    for sub in ["modules", "worktrees"] {
        for e in std::fs::read_dir(git.join(sub))
            .into_iter()
            .flatten()
            .flatten()
        {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                git_roots(&e.path(), &mut out);
            }
        }
    }
    out
}

/// Every path under `path` with its kind (no contents yet), without following links.
fn walk(path: &Path, depth: usize, out: &mut BTreeMap<PathBuf, std::fs::Metadata>) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    let dir = meta.is_dir();
    out.insert(path.to_path_buf(), meta);
    if dir && depth < MAX_DEPTH {
        for e in std::fs::read_dir(path).into_iter().flatten().flatten() {
            walk(&e.path(), depth + 1, out);
        }
    }
}

/// What is at `path` now, reading a file's bytes only when `budget` allows.
fn entry(path: &Path, meta: &std::fs::Metadata, budget: &mut u64) -> Entry {
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Entry::Link(std::fs::read_link(path).unwrap_or_default());
    }
    if kind.is_dir() {
        return Entry::Dir;
    }
    if meta.len() <= *budget
        && meta.is_file()
        && let Ok(bytes) = std::fs::read(path)
    {
        *budget -= meta.len();
        return Entry::File(bytes, meta.mode() & 0o7777);
    }
    Entry::Meta(meta.len(), meta.ino(), meta.ctime())
}

/// A folder's device and inode, unless it is a real folder no more.
fn identity(p: &Path) -> Option<(u64, u64)> {
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

/// Whether what is at `path` now is what `before` recorded.
fn same(path: &Path, before: &Entry, meta: &std::fs::Metadata) -> bool {
    let kind = meta.file_type();
    match before {
        Entry::Dir => kind.is_dir(),
        Entry::Link(to) => kind.is_symlink() && std::fs::read_link(path).ok().as_ref() == Some(to),
        Entry::File(bytes, mode) => {
            kind.is_file()
                && meta.len() == bytes.len() as u64
                && meta.mode() & 0o7777 == *mode
                && std::fs::read(path).is_ok_and(|b| b == *bytes)
        }
        Entry::Meta(len, ino, ctime) => {
            kind.is_file() && meta.len() == *len && meta.ino() == *ino && meta.ctime() == *ctime
        }
    }
}

impl Guard {
    /// Snapshot the protected files of the project in `cwd`.
    pub fn snapshot(cwd: &Path) -> Self {
        let roots = roots(cwd);
        let mut found = BTreeMap::new();
        for r in &roots {
            walk(r, 0, &mut found);
        }
        // Hooks and git's files first: the byte budget goes to what runs.
        let mut budget = KEEP_BYTES;
        let mut entries = BTreeMap::new();
        let letta = cwd.join(".letta");
        let (rest, git): (Vec<_>, Vec<_>) = found.iter().partition(|(p, _)| p.starts_with(&letta));
        for (p, m) in git.into_iter().chain(rest) {
            if !is_settings(p) {
                entries.insert(p.clone(), entry(p, m, &mut budget));
            }
        }
        let settings = ["settings.json", "settings.local.json"]
            .iter()
            .map(|n| letta.join(n))
            .map(|path| {
                let bytes = std::fs::symlink_metadata(&path)
                    .ok()
                    .filter(std::fs::Metadata::is_file)
                    .and_then(|_| std::fs::read(&path).ok());
                let granting = granting(&path);
                SettingsFile {
                    path,
                    bytes,
                    granting,
                }
            })
            .collect();
        Self {
            cwd: cwd.to_path_buf(),
            roots,
            entries,
            settings,
            git: identity(&cwd.join(".git")),
            git_file: std::fs::symlink_metadata(cwd.join(".git"))
                .ok()
                .filter(std::fs::Metadata::is_file)
                .and_then(|_| std::fs::read(cwd.join(".git")).ok()),
        }
    }

    /// A `.git` that is not what it was is set aside (renamed, never deleted); a `.git` file
    /// comes back as it was.
    fn restore_git(&self, changed: &mut BTreeSet<PathBuf>) {
        let git = self.cwd.join(".git");
        let Ok(now) = std::fs::symlink_metadata(&git) else {
            return;
        };
        let same = match (&self.git, &self.git_file) {
            (Some(before), _) => identity(&git) == Some(*before),
            (None, Some(bytes)) => now.is_file() && std::fs::read(&git).is_ok_and(|b| b == *bytes),
            (None, None) => true,
        };
        if same {
            return;
        }
        // Not ours to delete, and not safe to keep where git looks for hooks.
        let aside = self
            .cwd
            .join(format!(".git.replaced-{}", uuid::Uuid::new_v4().simple()));
        if std::fs::rename(&git, &aside).is_ok() {
            changed.insert(aside);
        }
        if let Some(bytes) = &self.git_file {
            let _ = write_new(&git, bytes, None);
        }
    }

    /// A new snapshot of the same project.
    #[must_use]
    pub fn again(&self) -> Self {
        Self::snapshot(&self.cwd)
    }

    /// Put back what changed; the paths that had to be restored, removed or set aside.
    pub fn restore(&self) -> Vec<PathBuf> {
        let mut changed = BTreeSet::new();
        self.restore_git(&mut changed);
        // Submodule and worktree git folders made by the command are looked at too.
        // (Only their hooks and config: a new worktree's `commondir` is git's own doing.)
        let mut now_roots = roots(&self.cwd);
        now_roots.retain(|r| {
            !self.roots.contains(r)
                && r.file_name()
                    .is_some_and(|n| n == "hooks" || n == "config" || n == "config.worktree")
        });
        let mut now = BTreeMap::new();
        for r in self.roots.iter().chain(&now_roots) {
            walk(r, 0, &mut now);
        }
        // What is new or different goes first, deepest first (a symlink is removed, never
        // followed), so that what is written back lands where it was.
        for (path, meta) in now.iter().rev() {
            if is_settings(path) || letta_own(path, meta) {
                continue;
            }
            let keep = self.entries.get(path).is_some_and(|e| match e {
                // A file's contents are written back below; a kept folder stays.
                Entry::File(..) => meta.is_file(),
                other => same(path, other, meta),
            });
            if !keep && remove(path) {
                changed.insert(path.clone());
            }
        }
        for (path, entry) in &self.entries {
            let now_ok = std::fs::symlink_metadata(path).is_ok_and(|m| same(path, entry, &m));
            if now_ok {
                continue;
            }
            let put_back = match entry {
                Entry::Dir => identity(path).is_some() || std::fs::create_dir(path).is_ok(),
                Entry::Link(to) => std::os::unix::fs::symlink(to, path).is_ok(),
                Entry::File(bytes, mode) => {
                    let _ = std::fs::remove_file(path);
                    write_new(path, bytes, Some(*mode)).is_ok()
                }
                // Too big to have been kept: it stays removed.
                Entry::Meta(..) => {
                    remove(path);
                    true
                }
            };
            if put_back {
                changed.insert(path.clone());
            }
        }
        self.restore_settings(&mut changed);
        changed.into_iter().collect()
    }

    /// The settings files: a link or anything but a regular file goes and the file as it was
    /// comes back; in a regular file, the granting keys are put back and the rest stays.
    fn restore_settings(&self, changed: &mut BTreeSet<PathBuf>) {
        for f in &self.settings {
            let regular = std::fs::symlink_metadata(&f.path).is_ok_and(|m| m.is_file());
            let exists = std::fs::symlink_metadata(&f.path).is_ok();
            if exists && !regular {
                remove(&f.path);
                if let Some(b) = &f.bytes {
                    let _ = crate::settings::fsutil::write_atomic(&f.path, b, None);
                }
                changed.insert(f.path.clone());
                continue;
            }
            if granting(&f.path) == f.granting {
                continue;
            }
            let put_back = crate::settings::ProjectSettings::update_value(&f.path, |v| {
                if !v.is_object() {
                    *v = Value::Object(Default::default());
                }
                if let Some(o) = v.as_object_mut() {
                    for (k, old) in GRANTING.iter().zip(&f.granting) {
                        match old {
                            Some(old) => o.insert((*k).to_string(), old.clone()),
                            None => o.remove(*k),
                        };
                    }
                }
            });
            if put_back.is_ok() {
                changed.insert(f.path.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests;
