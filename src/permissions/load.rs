//! Building the rules in force from the settings files and the flags. A project's own files
//! may only tighten (deny, ask, strict) until the user trusts the folder: a cloned repository's
//! committed `.letta/settings.json` must not grant itself anything.

use std::path::Path;

use serde_json::Value;

use super::{Checker, PermissionError, PermissionMode, cli_rules, real, rules_of};
use crate::settings::ProjectSettings;

/// Where the rules come from.
#[derive(Debug, Clone, Copy)]
pub struct Load<'a> {
    /// The global settings file's `permissions`.
    pub global: Option<&'a Value>,
    /// The global settings file, as rules name their source.
    pub global_source: &'a str,
    pub cwd: &'a Path,
    /// The user trusts this folder: its settings files may loosen too.
    pub trusted: bool,
    /// `--permission-mode` / `--yolo`.
    pub mode_flag: Option<PermissionMode>,
    /// `--allowedTools`.
    pub allowed: &'a [String],
    /// `--disallowedTools`.
    pub disallowed: &'a [String],
}

/// Modes a project file may set without trust: they only ask more.
fn tightens(m: PermissionMode) -> bool {
    matches!(m, PermissionMode::Standard | PermissionMode::Strict)
}

/// The mode a settings file sets (`defaultMode`, or Letta Code's `mode`); an unknown value is
/// an error naming it and the file, not silently the default.
fn mode_of(p: &Value, source: &str) -> Result<Option<PermissionMode>, PermissionError> {
    for key in ["defaultMode", "mode"] {
        let Some(v) = p.get(key) else { continue };
        let name = v.as_str().unwrap_or_default();
        return <PermissionMode as clap::ValueEnum>::from_str(name, true)
            .map(Some)
            .map_err(|_| PermissionError::BadRule {
                origin: source.to_string(),
                message: format!(
                    "permissions.{key} is {v}, which is not a mode; use standard, acceptEdits, unrestricted (bypassPermissions) or strict"
                ),
            });
    }
    Ok(None)
}

impl Checker {
    /// Rules from global settings, `.letta/settings.json`, `.letta/settings.local.json` and
    /// the flags. `defaultMode` in settings applies unless a flag chose the mode. A malformed
    /// rule anywhere is an error naming it and its file.
    pub fn load(l: &Load) -> Result<Self, PermissionError> {
        let mut files: Vec<(Option<Value>, String, bool)> =
            vec![(l.global.cloned(), l.global_source.to_string(), true)];
        for file in [
            crate::settings::project_shared_file(l.cwd),
            crate::settings::project_local_file(l.cwd),
        ] {
            let s = ProjectSettings::load(&file)?;
            files.push((s.permissions, file.display().to_string(), l.trusted));
        }
        let mut c = Checker::default();
        let mut mode = None;
        for (perms, source, may_loosen) in &files {
            let Some(p) = perms else { continue };
            let allow = rules_of(p.get("allow"), source)?;
            c.deny.extend(rules_of(p.get("deny"), source)?);
            c.ask.extend(rules_of(p.get("ask"), source)?);
            let dirs: Vec<&str> = p
                .get("additionalDirectories")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let file_mode = mode_of(p, source)?;
            if *may_loosen {
                c.allow.extend(allow);
                c.additional_dirs
                    .extend(dirs.iter().map(|d| real(&l.cwd.join(d))));
                mode = file_mode.or(mode);
                continue;
            }
            for r in allow {
                c.ignored.push(format!("allow {} (from {source})", r.rule));
            }
            for d in dirs {
                c.ignored
                    .push(format!("additional directory {d} (from {source})"));
            }
            match file_mode {
                Some(m) if tightens(m) => mode = Some(m),
                Some(m) => c.ignored.push(format!("mode {m:?} (from {source})")),
                None => {}
            }
        }
        c.allow.extend(cli_rules(l.allowed, "--allowedTools")?);
        c.deny.extend(cli_rules(l.disallowed, "--disallowedTools")?);
        c.mode = l.mode_flag.or(mode).unwrap_or_default();
        c.settings_dir = Path::new(l.global_source)
            .parent()
            .filter(|p| p.is_absolute())
            .map(Path::to_path_buf);
        Ok(c)
    }
}
