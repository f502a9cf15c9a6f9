//! What tools share and what they produce.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Todo, normalize};
use crate::protocol::ToolReturnItem;
use crate::sandbox::{SECRET_ENV, Sandbox};

/// What a tool produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutput {
    pub ok: bool,
    pub text: String,
    pub stdout: Option<Vec<String>>,
    pub stderr: Option<Vec<String>>,
    /// The sandbox blocked the command, and why it may need to run outside it.
    pub sandbox_denied: Option<String>,
}

impl ToolOutput {
    /// A success with this text.
    pub fn ok(text: impl Into<String>) -> Self {
        Self {
            ok: true,
            text: text.into(),
            stdout: None,
            stderr: None,
            sandbox_denied: None,
        }
    }

    /// A failure the model should read.
    pub fn err(text: impl Into<String>) -> Self {
        Self {
            ok: false,
            text: text.into(),
            stdout: None,
            stderr: None,
            sandbox_denied: None,
        }
    }

    /// The approval entry that carries this result back to the agent.
    pub fn into_return(self, tool_call_id: &str) -> ToolReturnItem {
        ToolReturnItem {
            tool_call_id: tool_call_id.to_string(),
            tool_return: self.text,
            status: if self.ok { "success" } else { "error" }.into(),
            stdout: self.stdout,
            stderr: self.stderr,
            extra: Default::default(),
        }
    }
}

/// What a session's tools share: the working directory, which files were read, the todo list,
/// and how commands are confined.
#[derive(Debug)]
pub struct ToolContext {
    pub cwd: PathBuf,
    read_files: Mutex<HashSet<PathBuf>>,
    pub todos: Mutex<Vec<Todo>>,
    /// The OS sandbox commands run in; `None` runs them unconfined.
    pub sandbox: Option<Sandbox>,
    /// The permission mode wants commands confined (not `unrestricted`).
    confined: AtomicBool,
    /// Exact commands the user let run outside the sandbox in this session.
    escalated: Mutex<HashSet<String>>,
    /// Environment variables commands never see (letta's secrets), unless passed on purpose.
    pub secret_env: Vec<String>,
    /// Paths deny rules keep from being read; searching tools leave them out.
    pub denied_reads: super::DeniedReads,
}

impl ToolContext {
    /// Tools working in `cwd`, commands unconfined, letta's secret variables withheld.
    pub fn new(cwd: PathBuf) -> Self {
        Self {
            cwd,
            read_files: Mutex::new(HashSet::new()),
            todos: Mutex::new(Vec::new()),
            sandbox: None,
            confined: AtomicBool::new(true),
            escalated: Mutex::new(HashSet::new()),
            secret_env: SECRET_ENV.iter().map(|s| (*s).to_string()).collect(),
            denied_reads: super::DeniedReads::default(),
        }
    }

    /// A context for a subagent: the same folder, sandbox, exceptions and withheld secrets,
    /// with its own read files and task list.
    #[must_use]
    pub fn child(&self) -> Self {
        Self {
            cwd: self.cwd.clone(),
            read_files: Mutex::new(HashSet::new()),
            todos: Mutex::new(Vec::new()),
            sandbox: self.sandbox.clone(),
            confined: AtomicBool::new(self.confined()),
            escalated: Mutex::new(self.escalated.lock().map(|e| e.clone()).unwrap_or_default()),
            secret_env: self.secret_env.clone(),
            denied_reads: self.denied_reads.clone(),
        }
    }

    /// The same, with commands run in `sandbox`.
    #[must_use]
    pub fn with_sandbox(mut self, sandbox: Option<Sandbox>) -> Self {
        self.sandbox = sandbox;
        self
    }

    /// Whether commands are confined (every mode but `unrestricted`).
    pub fn confined(&self) -> bool {
        self.confined.load(Ordering::Relaxed)
    }

    /// Confine commands (every mode but `unrestricted`), or not.
    pub fn set_confined(&self, yes: bool) {
        self.confined.store(yes, Ordering::Relaxed);
    }

    /// Let exactly `command` run outside the sandbox from now on.
    pub fn escalate(&self, command: &str) {
        if let Ok(mut e) = self.escalated.lock() {
            e.insert(command.trim().to_string());
        }
    }

    /// Why the sandbox would certainly block `command`: a literal write outside where it may
    /// write. Asked before running, so an approval lets it run outside the sandbox at once.
    pub fn predicted_escape(&self, command: &str) -> Option<String> {
        let sb = self.sandbox_for(command)?;
        let script = crate::shell::analyse(command);
        script
            .commands
            .iter()
            .flat_map(|c| c.redirects.iter())
            .filter_map(|r| r.written_file().flatten())
            .map(|f| normalize(&self.cwd.join(f)))
            .find(|p| !sb.policy.writable.iter().any(|w| p.starts_with(w)))
            .map(|p| format!("it writes to {}, outside the project", p.display()))
    }

    /// The sandbox `command` runs in, if it runs in one.
    pub fn sandbox_for(&self, command: &str) -> Option<&Sandbox> {
        let sb = self.sandbox.as_ref()?;
        let escalated = self
            .escalated
            .lock()
            .is_ok_and(|e| e.contains(command.trim()));
        (self.confined.load(Ordering::Relaxed) && !escalated && !sb.is_excluded(command))
            .then_some(sb)
    }

    /// `path` made absolute against the working directory and cleaned of `.` and `..`.
    pub fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path.strip_prefix("~/").map_or(path, |_| path));
        let joined = if let Some(rest) = path.strip_prefix("~/") {
            std::env::var_os("HOME")
                .map_or_else(|| self.cwd.join(rest), |h| PathBuf::from(h).join(rest))
        } else if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.cwd.join(p)
        };
        normalize(&joined)
    }

    pub(crate) fn mark_read(&self, path: &Path) {
        if let Ok(mut s) = self.read_files.lock() {
            s.insert(path.to_path_buf());
        }
    }

    pub(crate) fn was_read(&self, path: &Path) -> bool {
        self.read_files.lock().is_ok_and(|s| s.contains(path))
    }
}
