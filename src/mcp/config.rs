//! Where MCP servers are configured, in the shapes users already have: Claude Code's
//! `.mcp.json` (`{"mcpServers": {name: {command, args, env} | {type: "http", url, headers}}}`)
//! and an `mcpServers` object in letta's settings files. Letta Code's `transport` key is read
//! as a synonym of `type`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::settings::SettingsError;

/// One server's entry, as written in a file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerConfig {
    /// `stdio` (the default when `command` is set), `http`, or `sse`.
    #[serde(
        rename = "type",
        alias = "transport",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Seconds one tool call may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
}

/// How to reach a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Stdio {
        command: String,
        args: Vec<String>,
        env: BTreeMap<String, String>,
        cwd: Option<String>,
    },
    /// Streamable HTTP (`http`); `sse` servers are reached the same way, which servers that
    /// speak both accept.
    Http {
        url: String,
        headers: BTreeMap<String, String>,
    },
}

/// Seconds a tool call may take when the entry does not say.
pub const DEFAULT_TIMEOUT_SECS: u64 = 120;

impl ServerConfig {
    /// The transport this entry describes, or what is wrong with it.
    pub fn transport(&self) -> Result<Transport, String> {
        let kind =
            self.kind
                .as_deref()
                .unwrap_or(if self.url.is_some() { "http" } else { "stdio" });
        match kind {
            "stdio" => match self.command.as_deref().map(str::trim) {
                Some(c) if !c.is_empty() => Ok(Transport::Stdio {
                    command: c.to_string(),
                    args: self.args.clone(),
                    env: self.env.clone(),
                    cwd: self.cwd.clone(),
                }),
                _ => Err("a stdio server needs a \"command\"".into()),
            },
            "http" | "sse" | "streamable-http" | "streamableHttp" => match self.url.as_deref() {
                Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                    Ok(Transport::Http {
                        url: u.to_string(),
                        headers: self.headers.clone(),
                    })
                }
                Some(u) => Err(format!("{u:?} is not an http:// or https:// URL")),
                None => Err(format!("a {kind} server needs a \"url\"")),
            },
            other => Err(format!(
                "unknown transport {other:?}; use stdio, http or sse"
            )),
        }
    }

    /// What it runs or where it connects, for listings (never header values: they may hold
    /// tokens).
    pub fn target(&self) -> String {
        match self.transport() {
            Ok(Transport::Stdio { command, args, .. }) => std::iter::once(command)
                .chain(args)
                .collect::<Vec<_>>()
                .join(" "),
            Ok(Transport::Http { url, .. }) => url,
            Err(e) => format!("(invalid: {e})"),
        }
    }
}

/// Which file an entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The global settings file.
    User,
    /// `.mcp.json` in the project, shared with the team (Claude Code's file).
    Project,
    /// `.letta/settings.json` in the project.
    ProjectSettings,
    /// `.letta/settings.local.json`, this machine only.
    Local,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Project => "project",
            Self::ProjectSettings => "project settings",
            Self::Local => "local",
        }
    }

    /// The project's files can start programs, so they wait for the folder's trust.
    pub fn from_project(self) -> bool {
        self != Self::User
    }
}

/// One configured server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub config: ServerConfig,
    pub scope: Scope,
    pub file: PathBuf,
}

/// Every configured server, and every entry that could not be read (never silently dropped).
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub servers: Vec<Entry>,
    pub problems: Vec<String>,
}

/// The files, lowest precedence first: a later file's server replaces an earlier one of the
/// same name.
pub fn files(global_settings: &Path, cwd: &Path) -> Vec<(Scope, PathBuf)> {
    vec![
        (Scope::User, global_settings.to_path_buf()),
        (Scope::Project, cwd.join(".mcp.json")),
        (
            Scope::ProjectSettings,
            crate::settings::project_shared_file(cwd),
        ),
        (Scope::Local, crate::settings::project_local_file(cwd)),
    ]
}

/// A server name becomes part of tool names (`mcp__NAME__tool`), so it is kept to what model
/// APIs accept in a function name.
pub fn valid_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 40
        || name.contains("__")
        || name.ends_with('_')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "{name:?} is not a usable MCP server name: use letters, digits, - and _ (no \"__\", not ending in _), at most 40"
        ));
    }
    Ok(())
}

/// Read every configured server.
pub fn load(global_settings: &Path, cwd: &Path) -> Loaded {
    let mut out = Loaded::default();
    for (scope, file) in files(global_settings, cwd) {
        if scope.from_project()
            && let Some(link) = linked(&file)
        {
            out.problems.push(format!(
                "{}: a symbolic link; a project's MCP settings must be regular files in the project (remove the link)",
                link.display()
            ));
            continue;
        }
        let doc: Value = match crate::settings::load_json(&file) {
            Ok(v) => v,
            Err(e) => {
                out.problems.push(e.to_string());
                continue;
            }
        };
        if !doc.is_object() && !doc.is_null() {
            out.problems
                .push(format!("{}: not a JSON object", file.display()));
            continue;
        }
        let Some(servers) = doc.get("mcpServers") else {
            continue;
        };
        let Some(map) = servers.as_object() else {
            out.problems.push(format!(
                "{}: \"mcpServers\" must be an object of servers by name",
                file.display()
            ));
            continue;
        };
        for (name, v) in map {
            let entry = valid_name(name).and_then(|()| {
                let config: ServerConfig = serde_json::from_value(v.clone())
                    .map_err(|e| format!("server {name:?}: {e}"))?;
                config
                    .transport()
                    .map_err(|e| format!("server {name:?}: {e}"))?;
                Ok(config)
            });
            match entry {
                Ok(config) => {
                    out.servers.retain(|s| &s.name != name);
                    out.servers.push(Entry {
                        name: name.clone(),
                        config,
                        scope,
                        file: file.clone(),
                    });
                }
                Err(e) => out.problems.push(format!("{}: {e}", file.display())),
            }
        }
    }
    out
}

/// The file itself or its folder, when either is a symbolic link.
fn linked(file: &Path) -> Option<PathBuf> {
    let folder = file.parent().filter(|d| !d.as_os_str().is_empty());
    folder
        .into_iter()
        .chain([file])
        .find(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink()))
        .map(Path::to_path_buf)
}

/// Add a server to `file`, through the one settings write path. A name already there is
/// refused: remove it first. A project's file (`private` false) is never written through a
/// link.
pub fn add(file: &Path, name: &str, config: &ServerConfig, private: bool) -> Result<(), String> {
    valid_name(name)?;
    config.transport()?;
    if !private && let Some(link) = linked(file) {
        return Err(format!(
            "{} is a symbolic link; a project's MCP settings are never written through one",
            link.display()
        ));
    }
    let value = serde_json::to_value(config).map_err(|e| e.to_string())?;
    let name = name.to_string();
    let edit = move |doc: &mut Value| {
        let servers = servers_of(doc, file)?;
        if servers.contains_key(&name) {
            return Err(SettingsError::Invalid {
                path: file.to_path_buf(),
                message: format!(
                    "an MCP server {name:?} is already there; `letta mcp remove {name}` first"
                ),
            });
        }
        servers.insert(name, value);
        Ok(())
    };
    if private {
        crate::settings::update::<Value, ()>(file, Some(0o600), edit)
    } else {
        crate::settings::update_in_place::<Value, ()>(file, None, edit)
    }
    .map_err(|e| e.to_string())
}

/// Remove a server from `file`; `Ok(false)` when it was not there. A project's file
/// (`private` false) is never written through a link.
pub fn remove(file: &Path, name: &str, private: bool) -> Result<bool, String> {
    if !private && let Some(link) = linked(file) {
        return Err(format!(
            "{} is a symbolic link; a project's MCP settings are never written through one",
            link.display()
        ));
    }
    if !file.exists() {
        return Ok(false);
    }
    let name = name.to_string();
    let edit = move |doc: &mut Value| Ok(servers_of(doc, file)?.remove(&name).is_some());
    if private {
        crate::settings::update::<Value, bool>(file, Some(0o600), edit)
    } else {
        crate::settings::update_in_place::<Value, bool>(file, None, edit)
    }
    .map_err(|e| e.to_string())
}

fn servers_of<'a>(
    doc: &'a mut Value,
    file: &Path,
) -> Result<&'a mut serde_json::Map<String, Value>, SettingsError> {
    if doc.is_null() {
        *doc = Value::Object(Default::default());
    }
    let invalid = |what: &str| SettingsError::Invalid {
        path: file.to_path_buf(),
        message: what.to_string(),
    };
    let obj = doc
        .as_object_mut()
        .ok_or_else(|| invalid("the file is not a JSON object"))?;
    obj.entry("mcpServers")
        .or_insert_with(|| Value::Object(Default::default()))
        .as_object_mut()
        .ok_or_else(|| invalid("\"mcpServers\" is not an object"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_claude_codes_file_and_settings_with_precedence() {
        let home = tempfile::tempdir().unwrap();
        let proj = tempfile::tempdir().unwrap();
        let global = home.path().join("settings.json");
        std::fs::write(
            &global,
            r#"{"mcpServers": {"fs": {"command": "fs-server"}, "bad name": {"command": "x"}}}"#,
        )
        .unwrap();
        std::fs::write(
            proj.path().join(".mcp.json"),
            r#"{"mcpServers": {"fs": {"type": "http", "url": "http://127.0.0.1:1/mcp", "headers": {"Authorization": "Bearer t"}},
                "gh": {"transport": "stdio", "command": "gh-mcp", "args": ["--ro"], "env": {"A": "1"}},
                "broken": {"type": "http"}}}"#,
        )
        .unwrap();
        let l = load(&global, proj.path());
        let names: Vec<_> = l
            .servers
            .iter()
            .map(|s| (s.name.as_str(), s.scope))
            .collect();
        assert_eq!(names, [("fs", Scope::Project), ("gh", Scope::Project)]);
        assert_eq!(l.servers[0].config.target(), "http://127.0.0.1:1/mcp");
        assert_eq!(l.servers[1].config.target(), "gh-mcp --ro");
        assert_eq!(l.problems.len(), 2, "{:?}", l.problems);
        assert!(l.problems.iter().any(|p| p.contains("\"bad name\"")));
        assert!(l.problems.iter().any(|p| p.contains("needs a \"url\"")));
    }

    #[test]
    fn add_and_remove_keep_the_rest_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("settings.json");
        std::fs::write(&f, r#"{"defaultModel": "openai/x"}"#).unwrap();
        let c = ServerConfig {
            command: Some("srv".into()),
            timeout: Some(5),
            ..Default::default()
        };
        add(&f, "one", &c, true).unwrap();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        assert_eq!(v["defaultModel"], "openai/x");
        assert_eq!(v["mcpServers"]["one"]["command"], "srv");
        assert_eq!(remove(&f, "one", true), Ok(true));
        assert_eq!(remove(&f, "one", true), Ok(false));
        assert!(add(&f, "a__b", &c, true).is_err());
        add(&f, "one", &c, true).unwrap();
        assert!(
            add(&f, "one", &c, true)
                .unwrap_err()
                .contains("already there")
        );
        let outside = dir.path().join("victim.json");
        std::fs::write(&outside, "{}").unwrap();
        let proj = dir.path().join("proj");
        std::fs::create_dir_all(&proj).unwrap();
        std::os::unix::fs::symlink(&outside, proj.join(".mcp.json")).unwrap();
        assert!(
            add(&proj.join(".mcp.json"), "x", &c, false)
                .unwrap_err()
                .contains("symbolic link")
        );
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "{}");
        let l = load(&dir.path().join("none.json"), &proj);
        assert!(l.problems[0].contains("symbolic link"), "{:?}", l.problems);
        std::fs::write(&f, "{not json").unwrap();
        assert!(
            add(&f, "one", &c, true).is_err(),
            "a corrupt file is never overwritten"
        );
    }
}
