//! Trust for a folder's own settings. Until the user trusts a folder, its `.letta` files may
//! only tighten: their allow rules, extra folders, loosening modes, sandbox exceptions and hooks
//! are left out, as Codex and Claude Code do for a cloned repository.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::settings::{GlobalSettings, ProjectSettings, SettingsError};

fn canonical(cwd: &Path) -> PathBuf {
    cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf())
}

/// Whether the user trusts `cwd` (or a folder above it).
pub fn is_trusted(global: &GlobalSettings, cwd: &Path) -> bool {
    let here = canonical(cwd);
    global
        .trusted_folders
        .iter()
        .any(|t| here.starts_with(Path::new(t)))
}

/// Trust `cwd` from now on (saved in the global settings).
pub fn trust(settings_file: &Path, cwd: &Path) -> Result<(), SettingsError> {
    let here = canonical(cwd).display().to_string();
    GlobalSettings::update(settings_file, |g| {
        if !g.trusted_folders.contains(&here) {
            g.trusted_folders.push(here);
        }
        Ok(())
    })
}

/// What the project's own files would loosen beyond the permission rules (those the checker
/// lists itself): sandbox exceptions and hooks.
pub fn loosening_beyond_rules(project: &[ProjectSettings]) -> Vec<String> {
    let mut out = Vec::new();
    for p in project {
        if let Some(s) = &p.sandbox {
            if s.network == Some(true) {
                out.push("network for commands".to_string());
            }
            if s.enabled == Some(false) {
                out.push("the sandbox turned off".to_string());
            }
            if s.pass_secrets == Some(true) {
                out.push("API keys passed to commands".to_string());
            }
            for c in &s.excluded_commands {
                out.push(format!("`{c}` outside the sandbox"));
            }
        }
        if p.extra
            .get("hooks")
            .is_some_and(|h| !h.is_null() && h != &Value::Object(Default::default()))
        {
            out.push("hooks".to_string());
        }
    }
    out
}

/// The project settings as they apply: whole when trusted, else without what loosens.
pub fn as_applied(project: Vec<ProjectSettings>, trusted: bool) -> Vec<ProjectSettings> {
    if trusted {
        return project;
    }
    project
        .into_iter()
        .map(|mut p| {
            if let Some(s) = &mut p.sandbox {
                s.network = s.network.filter(|n| !n);
                s.enabled = s.enabled.filter(|e| *e);
                s.pass_secrets = s.pass_secrets.filter(|p| !p);
                s.excluded_commands.clear();
            }
            p.extra.remove("hooks");
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_covers_subfolders_and_is_saved() {
        let home = tempfile::tempdir().unwrap();
        let project = tempfile::tempdir().unwrap();
        let file = home.path().join("settings.json");
        let g = GlobalSettings::load(&file).unwrap();
        assert!(!is_trusted(&g, project.path()));
        trust(&file, project.path()).unwrap();
        let g = GlobalSettings::load(&file).unwrap();
        std::fs::create_dir_all(project.path().join("sub")).unwrap();
        assert!(is_trusted(&g, &project.path().join("sub")));
    }

    #[test]
    fn untrusted_sandbox_settings_only_tighten() {
        let p: ProjectSettings = serde_json::from_value(serde_json::json!({
            "sandbox": {"network": true, "enabled": false, "excludedCommands": ["curl x"]},
            "hooks": {"PreToolUse": []}
        }))
        .unwrap();
        assert_eq!(loosening_beyond_rules(std::slice::from_ref(&p)).len(), 4);
        let applied = as_applied(vec![p], false);
        let s = applied[0].sandbox.clone().unwrap();
        assert_eq!((s.network, s.enabled), (None, None));
        assert!(s.excluded_commands.is_empty() && applied[0].extra.get("hooks").is_none());
    }
}
