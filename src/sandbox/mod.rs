//! The OS sandbox for commands the agent runs (Linux Landlock). `letta` re-executes itself as a
//! small hidden helper (`letta __sandbox POLICY SHELL -c COMMAND`), which applies the policy to
//! itself and then execs the shell, so nothing but an exec happens between fork and exec.
//!
//! The policy: reads anywhere but letta's own secret files (and paths a `Read` deny rule names),
//! writes only in the project, the extra folders the user allowed and a private temp folder, and
//! no TCP unless the network is allowed. Signals cannot reach processes outside the sandbox.

mod carve;
pub mod helper;
mod syscalls;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The first argument that turns `letta` into the sandbox helper.
pub const HELPER_ARG: &str = "__sandbox";

/// What a sandboxed command may do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Paths that may not be read (letta's secrets; denied reads).
    pub hidden: Vec<PathBuf>,
    /// Folders (and files) that may be written.
    pub writable: Vec<PathBuf>,
    /// Paths that may be neither read nor written, even inside a writable folder (letta's
    /// home: its settings, keys and conversations).
    #[serde(default)]
    pub sealed: Vec<PathBuf>,
    /// TCP connections and listening sockets are allowed.
    pub network: bool,
}

/// Which enforcement protects commands on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Enforcement {
    /// Landlock, at this ABI version.
    Landlock(i32),
    /// No OS sandbox: commands are checked by parsing them, and everything else asks.
    #[default]
    Parsing,
    /// Unrestricted mode (`--yolo`): commands run outside the sandbox, unchecked.
    Off,
}

impl Enforcement {
    /// What protects commands while the session is in a mode where commands may or may not be
    /// confined.
    #[must_use]
    pub fn confined(self, confined: bool) -> Self {
        if confined { self } else { Self::Off }
    }

    /// A few words for banners and status lines.
    pub fn short(self) -> &'static str {
        match self {
            Self::Landlock(_) => "Landlock sandbox: project-only writes, no network",
            Self::Parsing => "no OS sandbox: checked by parsing; the rest asks",
            Self::Off => "unrestricted mode: commands run unconfined, unchecked",
        }
    }

    /// As machine-readable output names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Landlock(_) => "landlock",
            Self::Parsing => "none",
            Self::Off => "off",
        }
    }
}

impl std::fmt::Display for Enforcement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Landlock(abi) => write!(
                f,
                "commands run in a Landlock sandbox (ABI {abi}): writes only in the project, no network"
            ),
            Self::Parsing => f.write_str(
                "no OS sandbox here: commands are checked by parsing them, and anything not known to only read asks",
            ),
            Self::Off => f.write_str(
                "unrestricted mode: commands run outside the sandbox and nothing asks first",
            ),
        }
    }
}

/// The kernel's Landlock ABI version, if Landlock is available (asked once).
pub fn landlock_abi() -> Option<i32> {
    static ABI: OnceLock<Option<i32>> = OnceLock::new();
    *ABI.get_or_init(|| {
        // LANDLOCK_CREATE_RULESET_VERSION: ask for the ABI version, create nothing.
        const VERSION: libc::c_uint = 1;
        // SAFETY: with this flag the call reads no pointer and returns a number or -1.
        let v = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<libc::c_void>(),
                0usize,
                VERSION,
            )
        };
        // Network rules need ABI 4; older kernels get the parsing fallback.
        (v >= 4).then_some(v as i32)
    })
}

/// A session's sandbox: the helper to run commands through and the policy they get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sandbox {
    /// The `letta` binary that turns into the helper.
    pub helper: PathBuf,
    pub policy: Policy,
    /// The private temp folder commands get as `TMPDIR`.
    pub tmp: PathBuf,
    /// Exact commands the user chose to run outside the sandbox ("don't ask again").
    pub excluded: Vec<String>,
}

impl Sandbox {
    /// The program and arguments that run `command` with `shell` inside the sandbox.
    pub fn wrap(&self, shell: &str, command: &str) -> (PathBuf, Vec<String>) {
        let policy = serde_json::to_string(&self.policy).unwrap_or_default();
        (
            self.helper.clone(),
            vec![
                HELPER_ARG.into(),
                policy,
                shell.into(),
                "-c".into(),
                command.into(),
            ],
        )
    }

    /// Whether the user chose to run exactly this command outside the sandbox.
    pub fn is_excluded(&self, command: &str) -> bool {
        let c = command.trim();
        self.excluded.iter().any(|e| e.trim() == c)
    }
}

/// The devices a command may use. No terminal: one opened by path could be read (what the
/// user types) or written (text that looks like letta's), so `/dev` is otherwise hidden.
const DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/shm",
];

/// Where a sandboxed command may write: the project, extra folders, the temp folder, and the
/// devices every program expects (`/dev/null`).
pub fn writable(project: &Path, extra: &[PathBuf], tmp: &Path) -> Vec<PathBuf> {
    let mut w = vec![project.to_path_buf(), tmp.to_path_buf()];
    w.extend(extra.iter().cloned());
    w.extend(DEVICES.iter().map(PathBuf::from));
    w
}

/// Paths hidden from every command besides letta's own: the devices folder (terminals) but for
/// [`DEVICES`], which [`writable`] grants.
pub fn always_hidden() -> Vec<PathBuf> {
    vec![PathBuf::from("/dev")]
}

/// Landlock does not cover a file's mode: a command could make letta's settings readable to
/// other users or its data unreadable to letta. After a command, letta's own folders are made
/// private again (folders 0700, files 0600).
pub fn repair_sealed(policy: &Policy) {
    use std::os::unix::fs::PermissionsExt;
    fn fix(p: &Path, depth: usize) {
        let Ok(m) = std::fs::symlink_metadata(p) else {
            return;
        };
        let want = if m.is_dir() {
            0o700
        } else if m.is_file() {
            0o600
        } else {
            return;
        };
        if m.permissions().mode() & 0o777 != want {
            let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(want));
        }
        if m.is_dir() && depth < 4 {
            for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
                fix(&e.path(), depth + 1);
            }
        }
    }
    for s in &policy.sealed {
        fix(s, 0);
    }
}

/// Environment variables that hold letta's own secrets; commands never see them unless the
/// user opts in.
pub const SECRET_ENV: &[&str] = &[
    "LETTA_API_KEY",
    "LETTA_SERVER_TOKEN",
    "LETTA_MCP_TOKEN",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "OPENROUTER_API_KEY",
];

#[cfg(test)]
mod tests;
