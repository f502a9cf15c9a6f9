//! The `"hooks"` object of a settings file:
//! `{"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "…", "timeout": 60}]}]}`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    PreToolUse,
    PostToolUse,
    PostToolUseFailure,
    PermissionRequest,
    UserPromptSubmit,
    Stop,
    SubagentStop,
    PreCompact,
    SessionStart,
    SessionEnd,
    Notification,
}

const ALL: [Event; 11] = [
    Event::PreToolUse,
    Event::PostToolUse,
    Event::PostToolUseFailure,
    Event::PermissionRequest,
    Event::UserPromptSubmit,
    Event::Stop,
    Event::SubagentStop,
    Event::PreCompact,
    Event::SessionStart,
    Event::SessionEnd,
    Event::Notification,
];

impl Event {
    pub fn name(self) -> &'static str {
        match self {
            Self::PreToolUse => "PreToolUse",
            Self::PostToolUse => "PostToolUse",
            Self::PostToolUseFailure => "PostToolUseFailure",
            Self::PermissionRequest => "PermissionRequest",
            Self::UserPromptSubmit => "UserPromptSubmit",
            Self::Stop => "Stop",
            Self::SubagentStop => "SubagentStop",
            Self::PreCompact => "PreCompact",
            Self::SessionStart => "SessionStart",
            Self::SessionEnd => "SessionEnd",
            Self::Notification => "Notification",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        ALL.into_iter().find(|e| e.name() == s)
    }

    /// Events whose matcher is about a tool's name.
    pub fn has_tool(self) -> bool {
        matches!(
            self,
            Self::PreToolUse
                | Self::PostToolUse
                | Self::PostToolUseFailure
                | Self::PermissionRequest
        )
    }
}

/// One command to run.
#[derive(Debug, Clone)]
pub struct HookCommand {
    pub command: String,
    pub timeout: Duration,
    /// The settings file it came from.
    pub source: PathBuf,
}

/// Hooks for the tools a matcher names.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// As written: a tool name, `*` or empty for all, or a regular expression.
    pub raw: String,
    pattern: Option<regex::Regex>,
    pub hooks: Vec<HookCommand>,
}

impl Matcher {
    /// Whether it applies to a call of `tool` (events without a tool always apply).
    pub fn applies(&self, tool: Option<&str>) -> bool {
        match (&self.pattern, tool) {
            (None, _) | (_, None) => true,
            (Some(p), Some(t)) => p.is_match(t),
        }
    }
}

/// Seconds a hook may run unless it says otherwise (Claude Code's default).
const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// Read one file's `"hooks"` into `out`; what cannot be used goes to `problems`.
pub fn read(doc: &Value, file: &Path, out: &mut Vec<(Event, Matcher)>, problems: &mut Vec<String>) {
    let Some(hooks) = doc.get("hooks") else {
        return;
    };
    let f = file.display();
    let Some(events) = hooks.as_object() else {
        problems.push(format!("{f}: \"hooks\" must be an object of events"));
        return;
    };
    for (name, groups) in events {
        let Some(event) = Event::parse(name) else {
            problems.push(format!("{f}: unknown hook event {name:?}"));
            continue;
        };
        let Some(groups) = groups.as_array() else {
            problems.push(format!("{f}: hooks.{name} must be a list"));
            continue;
        };
        for g in groups {
            match matcher(g, file) {
                Ok(m) => out.push((event, m)),
                Err(e) => problems.push(format!("{f}: hooks.{name}: {e}")),
            }
        }
    }
}

fn matcher(g: &Value, file: &Path) -> Result<Matcher, String> {
    let raw = g
        .get("matcher")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let pattern = match raw.trim() {
        "" | "*" => None,
        p => Some(
            regex::Regex::new(&format!("^(?:{p})$"))
                .map_err(|e| format!("matcher {raw:?} is not a valid pattern ({e})"))?,
        ),
    };
    let list = g
        .get("hooks")
        .and_then(Value::as_array)
        .ok_or("each entry needs a \"hooks\" list")?;
    let mut hooks = Vec::new();
    for h in list {
        let kind = h.get("type").and_then(Value::as_str).unwrap_or("command");
        if kind != "command" {
            return Err(format!(
                "hook type {kind:?} is not supported; use \"command\""
            ));
        }
        let command = h
            .get("command")
            .and_then(Value::as_str)
            .filter(|c| !c.trim().is_empty())
            .ok_or("a command hook needs a \"command\"")?;
        let secs = match h.get("timeout") {
            None => DEFAULT_TIMEOUT_SECS,
            Some(t) => t
                .as_u64()
                .filter(|s| (1..=3600).contains(s))
                .ok_or_else(|| format!("timeout {t} must be whole seconds from 1 to 3600"))?,
        };
        hooks.push(HookCommand {
            command: command.to_string(),
            timeout: Duration::from_secs(secs),
            source: file.to_path_buf(),
        });
    }
    Ok(Matcher {
        raw,
        pattern,
        hooks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_claude_codes_shape_and_names_what_is_wrong() {
        let doc = json!({"hooks": {
            "PreToolUse": [{"matcher": "Bash|Edit", "hooks": [{"type": "command", "command": "a.sh", "timeout": 5}]},
                           {"matcher": "mcp__gh__.*", "hooks": [{"command": "b.sh"}]}],
            "Stop": [{"hooks": [{"type": "command", "command": "c.sh"}]}],
            "Nope": [],
            "PostToolUse": [{"matcher": "(", "hooks": [{"command": "x"}]},
                            {"hooks": [{"type": "prompt", "prompt": "x"}]},
                            {"hooks": [{"command": "x", "timeout": -1}]}]}});
        let (mut out, mut problems) = (Vec::new(), Vec::new());
        read(&doc, Path::new("/s.json"), &mut out, &mut problems);
        assert_eq!(out.len(), 3);
        assert!(out[0].1.applies(Some("Edit")) && !out[0].1.applies(Some("EditX")));
        assert!(out[1].1.applies(Some("mcp__gh__issue")) && !out[1].1.applies(Some("Bash")));
        assert!(out[2].1.applies(None));
        assert_eq!(out[0].1.hooks[0].timeout, Duration::from_secs(5));
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems.iter().all(|p| p.starts_with("/s.json: ")));
    }
}
