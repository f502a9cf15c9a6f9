//! The sandbox a session's commands run in, from the settings, the permission rules and what
//! the kernel offers. Built once at start; the private temp folder lives as long as the session.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::permissions::Checker;
use crate::sandbox::{Enforcement, Policy, Sandbox, landlock_abi, writable};
use crate::settings::{GlobalSettings, ProjectSettings, SandboxSettings};

/// The sandbox of a session, and what protects commands.
#[derive(Debug, Clone)]
pub struct SessionSandbox {
    pub sandbox: Option<Sandbox>,
    pub enforcement: Enforcement,
    /// Variables commands never see.
    pub secret_env: Vec<String>,
    /// Keeps the private temp folder until the session ends.
    _tmp: Option<Arc<tempfile::TempDir>>,
}

impl SessionSandbox {
    /// No OS sandbox (tests, and machines without Landlock).
    pub fn none() -> Self {
        Self {
            sandbox: None,
            enforcement: Enforcement::Parsing,
            secret_env: crate::sandbox::SECRET_ENV
                .iter()
                .map(|v| (*v).to_string())
                .collect(),
            _tmp: None,
        }
    }

    /// A tool context in `cwd` with this sandbox, and `checker`'s denied reads left out of
    /// searches.
    pub fn tool_context(&self, cwd: PathBuf, checker: &Checker) -> crate::tools::ToolContext {
        let denied: Vec<String> = checker
            .deny
            .iter()
            .filter(|d| d.rule.tool == "Read")
            .filter_map(|d| d.rule.pattern.clone())
            .collect();
        let mut ctx =
            crate::tools::ToolContext::new(cwd.clone()).with_sandbox(self.sandbox.clone());
        ctx.secret_env.clone_from(&self.secret_env);
        ctx.denied_reads = crate::tools::DeniedReads::new(&cwd, &denied);
        ctx
    }
}

/// The literal folder a `Read(…)` deny pattern starts with (`secrets/**` → `secrets`), so the
/// sandbox can hide it from commands too.
fn literal_prefix(pattern: &str, cwd: &Path) -> Option<PathBuf> {
    let end = pattern.find(['*', '?', '[', '{']).unwrap_or(pattern.len());
    let lit = pattern[..end].trim_end_matches('/');
    if lit.is_empty() {
        return None;
    }
    Some(crate::tools::normalize(&cwd.join(lit)))
}

/// Settings in force: the global file's, then the (trusted) project files' on top.
fn merged(global: &GlobalSettings, project: &[ProjectSettings]) -> SandboxSettings {
    let mut s = global.sandbox.clone().unwrap_or_default();
    for p in project.iter().filter_map(|p| p.sandbox.as_ref()) {
        s.enabled = p.enabled.or(s.enabled);
        s.network = p.network.or(s.network);
        s.pass_secrets = p.pass_secrets.or(s.pass_secrets);
        s.excluded_commands
            .extend(p.excluded_commands.iter().cloned());
    }
    s
}

/// Build the session's sandbox. `helper` is the letta binary (the helper re-executes it).
pub fn prepare(
    paths: &crate::settings::Paths,
    global: &GlobalSettings,
    project: &[ProjectSettings],
    checker: &Checker,
    cwd: &Path,
    helper: Option<PathBuf>,
    env: &dyn Fn(&str) -> Option<String>,
) -> SessionSandbox {
    let s = merged(global, project);
    let mut secret_env: Vec<String> = crate::sandbox::SECRET_ENV
        .iter()
        .map(|v| (*v).to_string())
        .collect();
    secret_env.extend(
        global
            .providers
            .values()
            .filter_map(|p| p.api_key_env.clone()),
    );
    if s.pass_secrets == Some(true) {
        secret_env.clear();
    }
    let off =
        env("LETTA_SANDBOX").is_some_and(|v| v == "off" || v == "0") || s.enabled == Some(false);
    let (Some(abi), Some(helper), false) = (landlock_abi(), helper, off) else {
        return SessionSandbox {
            sandbox: None,
            enforcement: Enforcement::Parsing,
            secret_env,
            _tmp: None,
        };
    };
    let Ok(tmp) = tempfile::Builder::new().prefix("letta-sandbox-").tempdir() else {
        return SessionSandbox {
            sandbox: None,
            enforcement: Enforcement::Parsing,
            secret_env,
            _tmp: None,
        };
    };
    let mut hidden = vec![paths.settings_file()];
    hidden.extend(crate::sandbox::always_hidden());
    // All of letta's own folders: settings and keys, conversations, history and logs.
    let sealed = vec![paths.config.clone(), paths.data.clone()];
    hidden.extend(
        checker
            .deny
            .iter()
            .filter(|d| d.rule.tool == "Read")
            .filter_map(|d| d.rule.pattern.as_deref())
            .filter_map(|p| literal_prefix(p, cwd)),
    );
    let sandbox = Sandbox {
        helper,
        policy: Policy {
            hidden,
            writable: writable(cwd, &checker.additional_dirs, tmp.path()),
            sealed,
            network: s.network == Some(true),
        },
        tmp: tmp.path().to_path_buf(),
        excluded: s.excluded_commands,
    };
    SessionSandbox {
        sandbox: Some(sandbox),
        enforcement: Enforcement::Landlock(abi),
        secret_env,
        _tmp: Some(Arc::new(tmp)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_patterns_give_their_literal_folder() {
        let cwd = Path::new("/p");
        assert_eq!(
            literal_prefix("secrets/**", cwd),
            Some(PathBuf::from("/p/secrets"))
        );
        assert_eq!(
            literal_prefix("/etc/shadow", cwd),
            Some(PathBuf::from("/etc/shadow"))
        );
        assert_eq!(literal_prefix("**/*.pem", cwd), None);
    }
}
