//! Per-project files under `.letta/` in the working directory.
//!
//! `settings.local.json` holds the project's last session per server in Letta Code's format, so
//! a user can switch between the two tools. `settings.json` is the shared, committed file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{SessionRef, SettingsError, load_json};
use crate::protocol::Extra;

/// `.letta/settings.local.json` under `cwd`.
pub fn project_local_file(cwd: &Path) -> PathBuf {
    cwd.join(".letta").join("settings.local.json")
}

/// `.letta/settings.json` under `cwd`.
pub fn project_shared_file(cwd: &Path) -> PathBuf {
    cwd.join(".letta").join("settings.json")
}

/// One project settings file (local or shared); unknown keys are preserved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectSettings {
    #[serde(
        rename = "sessionsByServer",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub sessions_by_server: BTreeMap<String, SessionRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Value>,
    /// How commands are confined (`excludedCommands` is saved here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<super::SandboxSettings>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ProjectSettings {
    /// Load from `path`; missing means empty. Never through a symbolic link.
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        not_linked(path)?;
        load_json(path)
    }

    /// Change the file under its lock (see [`super::update`]); it holds no secrets.
    pub fn update<R>(
        path: &Path,
        edit: impl FnOnce(&mut Self) -> Result<R, SettingsError>,
    ) -> Result<R, SettingsError> {
        not_linked(path)?;
        let r = super::update::update_in_place(path, None, edit)?;
        if path.file_name().is_some_and(|n| n == "settings.local.json") {
            ignore_local_files(path);
        }
        Ok(r)
    }
}

impl ProjectSettings {
    /// Change the file as plain JSON (keys this version does not know stay as they are),
    /// under its lock and never through a link.
    pub fn update_value(path: &Path, edit: impl FnOnce(&mut Value)) -> Result<(), SettingsError> {
        not_linked(path)?;
        super::update::update_in_place(path, None, |v: &mut Value| {
            edit(v);
            Ok(())
        })
    }
}

/// A project settings file and its `.letta` folder must not be symbolic links.
fn not_linked(path: &Path) -> Result<(), SettingsError> {
    let folder = path.parent().filter(|d| !d.as_os_str().is_empty());
    for p in folder.into_iter().chain([path]) {
        if std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(SettingsError::Linked {
                path: p.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// The local file (this machine's agent ids, approvals) and letta's locks stay out of git, as
/// Claude Code keeps its `settings.local.json` out: a `.gitignore` beside them, unless the
/// folder has one already.
fn ignore_local_files(local: &Path) {
    let Some(ignore) = local.parent().map(|d| d.join(".gitignore")) else {
        return;
    };
    if std::fs::symlink_metadata(&ignore).is_err() {
        let _ = std::fs::write(&ignore, "settings.local.json\n.*.lock\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_files_are_never_read_or_written_through_links() {
        let dir = tempfile::tempdir().unwrap();
        let global = dir.path().join("global.json");
        std::fs::write(&global, "{}").unwrap();
        let p = project_local_file(&dir.path().join("proj"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&global, &p).unwrap();
        assert!(matches!(
            ProjectSettings::load(&p),
            Err(SettingsError::Linked { .. })
        ));
        assert!(ProjectSettings::update(&p, |_| Ok(())).is_err());
        assert_eq!(std::fs::read_to_string(&global).unwrap(), "{}");
    }

    #[test]
    fn the_local_file_is_kept_out_of_git() {
        let dir = tempfile::tempdir().unwrap();
        let p = project_local_file(dir.path());
        ProjectSettings::update(&p, |_| Ok(())).unwrap();
        let ignore = std::fs::read_to_string(p.with_file_name(".gitignore")).unwrap();
        assert!(ignore.lines().any(|l| l == "settings.local.json"));
        // One the user wrote is left alone.
        std::fs::write(p.with_file_name(".gitignore"), "mine\n").unwrap();
        ProjectSettings::update(&p, |_| Ok(())).unwrap();
        assert_eq!(
            std::fs::read_to_string(p.with_file_name(".gitignore")).unwrap(),
            "mine\n"
        );
    }

    #[test]
    fn letta_code_format_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let p = project_local_file(dir.path());
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(
            &p,
            r#"{"lastAgent":"agent-1","lastSession":{"agentId":"agent-1","conversationId":"conv-a"},"sessionsByServer":{"api.letta.com":{"agentId":"agent-1","conversationId":"conv-a"}}}"#,
        )
        .unwrap();
        ProjectSettings::update(&p, |s| {
            s.sessions_by_server
                .insert("local".into(), SessionRef::new("agent-9", "conv-9"));
            Ok(())
        })
        .unwrap();
        let back: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(back["lastAgent"], "agent-1");
        assert_eq!(
            back["sessionsByServer"]["api.letta.com"]["conversationId"],
            "conv-a"
        );
        assert_eq!(back["sessionsByServer"]["local"]["agentId"], "agent-9");
    }

    #[test]
    fn missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let s = ProjectSettings::load(&project_local_file(dir.path())).unwrap();
        assert!(s.sessions_by_server.is_empty());
    }
}
