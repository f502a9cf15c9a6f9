//! What the model is told about the project before the user's words: the session's
//! surroundings (folder, OS, date, git, permission mode) on its first turn, and the project's
//! instruction files (`AGENTS.md`, `CLAUDE.md`) on the first turn and whenever they change.
//!
//! Both travel as `<system-reminder>` text in front of the user message, as Letta Code sends
//! them, so they work against a real Letta server unchanged; the UIs strip them for display.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::permissions::PermissionMode;

/// Instruction files read in each folder, in this order.
const NAMES: [&str; 3] = ["AGENTS.md", "CLAUDE.md", ".letta/AGENTS.md"];
/// Bytes read of one instruction file; the rest is cut with a note.
const FILE_CAP: usize = 32 * 1024;

/// One instruction file, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instructions {
    pub path: PathBuf,
    pub text: String,
}

/// The instruction files that apply in `cwd`: the global one in the letta home, then each
/// folder's from the git root (or `cwd` alone outside git) down to `cwd`.
pub fn instruction_files(cwd: &Path, letta_home: Option<&Path>) -> Vec<Instructions> {
    let mut dirs: Vec<&Path> = Vec::new();
    for d in cwd.ancestors() {
        dirs.push(d);
        if d.join(".git").exists() {
            break;
        }
    }
    if !cwd.ancestors().any(|d| d.join(".git").exists()) {
        dirs.truncate(1);
    }
    dirs.reverse();
    // A project's file must really be in the project (a link out of it could hand the model
    // /etc/shadow or letta's own keys); the global one must be in letta's folder.
    let root = dirs.first().and_then(|d| std::fs::canonicalize(d).ok());
    let home = letta_home.and_then(|h| std::fs::canonicalize(h).ok());
    let global = letta_home.map(|h| (h.join("AGENTS.md"), home.clone()));
    let candidates = global.into_iter().chain(
        dirs.iter()
            .flat_map(|d| NAMES.iter().map(|n| (d.join(n), root.clone()))),
    );
    let mut seen = HashSet::new();
    candidates
        .filter_map(|(p, within)| {
            let real = std::fs::canonicalize(&p).ok()?;
            let inside = within.is_some_and(|w| real.starts_with(w));
            let letta_own = home.as_ref().is_some_and(|h| real.starts_with(h))
                && !p.starts_with(letta_home.unwrap_or(Path::new("/nonexistent")));
            if !inside || letta_own || !real.is_file() || !seen.insert(real.clone()) {
                return None;
            }
            let bytes = std::fs::read(&real).ok()?;
            if crate::tools::looks_binary(&bytes) {
                return None;
            }
            let mut text =
                String::from_utf8_lossy(&bytes[..bytes.len().min(FILE_CAP)]).into_owned();
            if bytes.len() > FILE_CAP {
                text.push_str(&format!(
                    "\n[cut: {} of {} bytes shown]",
                    FILE_CAP,
                    bytes.len()
                ));
            }
            (!text.trim().is_empty()).then_some(Instructions { path: p, text })
        })
        .collect()
}

/// How a loaded file is named for the user: relative to `cwd` where it can be.
pub fn display_name(path: &Path, cwd: &Path) -> String {
    if let Ok(rel) = path.strip_prefix(cwd) {
        return rel.display().to_string();
    }
    let ups = cwd
        .ancestors()
        .enumerate()
        .find_map(|(n, a)| path.strip_prefix(a).ok().map(|rel| (n, rel)));
    match ups {
        Some((n, rel)) if n <= 3 => format!("{}{}", "../".repeat(n), rel.display()),
        _ => path.display().to_string(),
    }
}

/// The first-turn reminder: where and when this session runs.
pub fn session_reminder(cwd: &Path, mode: PermissionMode) -> String {
    let now = chrono::Local::now();
    let mut s =
        String::from("<system-reminder>\nThis session has just started. About the environment:\n");
    s.push_str(&format!("- Working directory: {}\n", cwd.display()));
    s.push_str(&format!(
        "- OS: {} ({})\n",
        std::env::consts::OS,
        std::env::consts::ARCH
    ));
    s.push_str(&format!(
        "- Date: {}\n",
        now.format("%Y-%m-%d (%A), %H:%M %Z")
    ));
    match super::git::facts(cwd) {
        Some(g) => s.push_str(&g),
        None => s.push_str("- Git repository: no\n"),
    }
    s.push_str(&format!(
        "- Permission mode: {} ({})\n",
        mode.name(),
        mode.describe()
    ));
    s.push_str("</system-reminder>\n");
    s
}

/// The reminder carrying the project's instruction files.
pub fn instructions_reminder(files: &[Instructions], cwd: &Path) -> String {
    let mut s = String::from(
        "<system-reminder>\nProject instructions from the user's instruction files. Follow them; a file nearer the working directory wins over one further up.\n",
    );
    for f in files {
        s.push_str(&format!(
            "\n## {}\n{}\n",
            display_name(&f.path, cwd),
            f.text.trim_end()
        ));
    }
    s.push_str("</system-reminder>\n");
    s
}

fn fingerprint(files: &[Instructions]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    files.hash(&mut h);
    h.finish()
}

impl Hash for Instructions {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.path.hash(state);
        self.text.hash(state);
    }
}

/// What this process has told each conversation, so the session reminder goes once and the
/// instructions again only when they change.
#[derive(Debug)]
pub struct ProjectContext {
    cwd: PathBuf,
    letta_home: Option<PathBuf>,
    /// `--no-system-info-reminder` turns the session reminder off (not the instructions).
    system_info: bool,
    told: Mutex<HashMap<String, Told>>,
    /// Context for the next message only (what a SessionStart hook printed).
    once: Mutex<String>,
    /// Context for the next message of one conversation (a background task's result).
    pending: Mutex<HashMap<String, String>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Told {
    session: bool,
    instructions: Option<u64>,
    mode: Option<PermissionMode>,
}

impl ProjectContext {
    pub fn new(cwd: PathBuf, letta_home: Option<PathBuf>, system_info: bool) -> Self {
        Self {
            cwd,
            letta_home,
            system_info,
            told: Mutex::new(HashMap::new()),
            once: Mutex::new(String::new()),
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// The same project for another conversation (a subagent's): told nothing yet, and not
    /// taking what waits for this one.
    #[must_use]
    pub fn fresh(&self) -> Self {
        Self::new(self.cwd.clone(), self.letta_home.clone(), self.system_info)
    }

    /// Add `text` before the next user message of `conversation` (its reminders' key).
    pub fn add_for(&self, conversation: &str, text: &str) {
        if let Ok(mut p) = self.pending.lock() {
            p.entry(conversation.to_string())
                .or_default()
                .push_str(text);
        }
    }

    /// Add `text` (a reminder) before the next user message, whatever its conversation.
    pub fn add_once(&self, text: &str) {
        if let Ok(mut o) = self.once.lock() {
            o.push_str(text);
        }
    }

    /// Nothing is ever added (tests that check exact requests, and callers with no project).
    pub fn none() -> Self {
        Self::new(PathBuf::new(), None, false)
    }

    /// The instruction files in force now.
    pub fn files(&self) -> Vec<Instructions> {
        if self.cwd.as_os_str().is_empty() {
            return Vec::new();
        }
        instruction_files(&self.cwd, self.letta_home.as_deref())
    }

    /// The reminders to put before the next user message of `conversation`, and remember
    /// them as told. Empty when there is nothing new.
    pub fn reminders(&self, conversation: &str, mode: PermissionMode) -> String {
        let mut once = self
            .once
            .lock()
            .map(|mut o| std::mem::take(&mut *o))
            .unwrap_or_default();
        if let Some(p) = self
            .pending
            .lock()
            .ok()
            .and_then(|mut p| p.remove(conversation))
        {
            once.push_str(&p);
        }
        if self.cwd.as_os_str().is_empty() {
            return once;
        }
        let files = self.files();
        let print = (!files.is_empty()).then(|| fingerprint(&files));
        let Ok(mut told) = self.told.lock() else {
            return String::new();
        };
        let t = told.entry(conversation.to_string()).or_default();
        let mut out = String::new();
        if self.system_info && !t.session {
            out.push_str(&session_reminder(&self.cwd, mode));
        }
        // A mode changed since (Shift+Tab, an approved plan), or plan mode the session
        // reminder did not announce, is said at once: plan mode changes what the model may do.
        let changed = match t.mode {
            Some(m) => m != mode,
            None => !self.system_info && mode == PermissionMode::Plan,
        };
        if changed {
            out.push_str(&format!(
                "<system-reminder>\nThe permission mode is now {}: {}.\n</system-reminder>\n",
                mode.name(),
                mode.describe()
            ));
        }
        t.mode = Some(mode);
        t.session = true;
        if print.is_some() && print != t.instructions {
            out.push_str(&instructions_reminder(&files, &self.cwd));
        }
        t.instructions = print;
        out + &once
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_instruction_files_from_the_git_root_down() {
        let root = tempfile::tempdir().unwrap();
        let home = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join(".git")).unwrap();
        std::fs::create_dir_all(r.join("app/.letta")).unwrap();
        std::fs::write(r.join("AGENTS.md"), "root rules").unwrap();
        std::fs::write(r.join("app/CLAUDE.md"), "app rules").unwrap();
        std::fs::write(r.join("app/.letta/AGENTS.md"), "letta rules").unwrap();
        std::fs::write(home.path().join("AGENTS.md"), "global rules").unwrap();
        let cwd = r.join("app");
        let files = instruction_files(&cwd, Some(home.path()));
        let texts: Vec<&str> = files.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(
            texts,
            ["global rules", "root rules", "app rules", "letta rules"]
        );
        assert_eq!(display_name(&files[1].path, &cwd), "../AGENTS.md");
        assert_eq!(display_name(&files[3].path, &cwd), ".letta/AGENTS.md");
    }

    #[test]
    fn links_out_of_the_project_and_binary_files_are_not_read() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "root:x:0:0").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), root.path().join("AGENTS.md"))
            .unwrap();
        std::fs::write(root.path().join("CLAUDE.md"), b"\0\x01\x02binary").unwrap();
        assert!(instruction_files(root.path(), None).is_empty());
    }

    #[test]
    fn outside_git_only_the_folder_itself_counts() {
        let root = tempfile::tempdir().unwrap();
        let cwd = root.path().join("sub");
        std::fs::create_dir_all(&cwd).unwrap();
        std::fs::write(root.path().join("AGENTS.md"), "parent").unwrap();
        std::fs::write(cwd.join("AGENTS.md"), "mine").unwrap();
        let files = instruction_files(&cwd, None);
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].text, "mine");
    }

    #[test]
    fn tells_each_conversation_once_and_again_on_change() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("AGENTS.md"), "use tabs").unwrap();
        let ctx = ProjectContext::new(dir.path().to_path_buf(), None, true);
        let first = ctx.reminders("c1", PermissionMode::Standard);
        assert!(first.contains("Working directory:") && first.contains("use tabs"));
        assert!(first.contains("Git repository: no"));
        assert_eq!(ctx.reminders("c1", PermissionMode::Standard), "");
        let other = ctx.reminders("c2", PermissionMode::Standard);
        assert!(other.contains("Working directory:"), "{other}");
        std::fs::write(dir.path().join("AGENTS.md"), "use spaces").unwrap();
        let changed = ctx.reminders("c1", PermissionMode::Standard);
        assert!(changed.contains("use spaces") && !changed.contains("Working directory"));
        let plan = ctx.reminders("c1", PermissionMode::Plan);
        assert!(plan.contains("The permission mode is now plan"), "{plan}");
        assert_eq!(ctx.reminders("c1", PermissionMode::Plan), "");
        let quiet = ProjectContext::new(dir.path().to_path_buf(), None, false);
        let q = quiet.reminders("c1", PermissionMode::Standard);
        assert!(
            !q.contains("Working directory") && q.contains("use spaces"),
            "{q}"
        );
    }
}
