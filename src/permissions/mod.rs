//! Who decides whether a tool call runs: the permission mode, allow/deny/ask rules from the
//! settings files and flags, and — when neither settles it — the user.

mod commands;
mod load;
mod mode;
pub mod protected;
mod rule;

pub use load::Load;
pub use mode::PermissionMode;
pub use rule::Rule;

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::sandbox::Enforcement;
use crate::settings::{ProjectSettings, SettingsError};
use crate::tools::{Access, PermissionClass, Registry, ToolContext};

/// Commands whose second word is a subcommand worth keeping in a suggested rule.
const WITH_SUBCOMMANDS: &[&str] = &[
    "npm",
    "npx",
    "pnpm",
    "yarn",
    "bun",
    "deno",
    "git",
    "cargo",
    "go",
    "pip",
    "uv",
    "poetry",
    "docker",
    "kubectl",
    "make",
    "gradle",
    "mvn",
    "dotnet",
    "rustup",
    "brew",
    "apt",
    "apt-get",
    "systemctl",
    "gh",
    "terraform",
];

/// What to do with a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run it; `rule` is the allow rule that matched, if one did.
    Allow {
        reason: String,
        rule: Option<String>,
    },
    /// Do not run it; the reason goes back to the model.
    Deny { reason: String },
    /// A person must decide.
    Ask { reason: String },
}

/// A rule and the file (or flag) it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced {
    pub rule: Rule,
    pub source: String,
}

/// A rule that could not be parsed, with where it was.
#[derive(Debug, thiserror::Error)]
pub enum PermissionError {
    #[error("{origin}: {message}")]
    BadRule { origin: String, message: String },
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

/// The rules and mode in force for a session.
#[derive(Debug, Clone, Default)]
pub struct Checker {
    pub mode: PermissionMode,
    pub allow: Vec<Sourced>,
    pub deny: Vec<Sourced>,
    pub ask: Vec<Sourced>,
    /// Folders besides the working directory where writes need no extra question.
    pub additional_dirs: Vec<PathBuf>,
    /// What enforces the rules for commands (shown by `/permissions`).
    pub enforcement: Enforcement,
    /// What the project's files would loosen, left out because the folder is not trusted.
    pub ignored: Vec<String>,
    /// letta's settings folder, whose files are protected from the agent's writes.
    pub settings_dir: Option<PathBuf>,
    /// Set while the folder is not trusted but nothing of its own was left out: a rule the
    /// user saves here then trusts it (in this global settings file), or the rule they just
    /// chose would be left out next time.
    pub trust_on_save: Option<PathBuf>,
}

pub(crate) fn rules_of(
    list: Option<&Value>,
    source: &str,
) -> Result<Vec<Sourced>, PermissionError> {
    let mut out = Vec::new();
    for v in list.and_then(Value::as_array).into_iter().flatten() {
        let Some(s) = v.as_str() else {
            return Err(PermissionError::BadRule {
                origin: source.into(),
                message: format!("rule {v} is not a string"),
            });
        };
        let rule = Rule::parse(s).map_err(|message| PermissionError::BadRule {
            origin: source.into(),
            message,
        })?;
        out.push(Sourced {
            rule,
            source: source.into(),
        });
    }
    Ok(out)
}

/// Rules given on the command line, comma or space separated (`Bash(npm test:*),Read`).
pub(crate) fn cli_rules(args: &[String], source: &str) -> Result<Vec<Sourced>, PermissionError> {
    let mut out = Vec::new();
    for arg in args {
        let mut depth = 0;
        let mut cur = String::new();
        for c in arg.chars().chain([',']) {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 && (c == ',' || c == ' ') {
                if !cur.trim().is_empty() {
                    let rule = Rule::parse(&cur).map_err(|message| PermissionError::BadRule {
                        origin: source.into(),
                        message,
                    })?;
                    out.push(Sourced {
                        rule,
                        source: source.into(),
                    });
                }
                cur.clear();
            } else {
                cur.push(c);
            }
        }
        // Fail closed: a rule whose parenthesis never closes is an error, not dropped.
        let rest = cur.trim().trim_end_matches(',');
        if depth != 0 || !rest.is_empty() {
            return Err(PermissionError::BadRule {
                origin: source.into(),
                message: format!("rule {rest:?} opens a parenthesis but does not close it"),
            });
        }
    }
    Ok(out)
}

/// The real path: symlinks of the longest existing ancestor resolved, the rest appended.
pub(crate) fn real(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (
            existing.file_name().map(std::ffi::OsStr::to_os_string),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut out = existing.canonicalize().unwrap_or(existing);
    for n in rest.into_iter().rev() {
        out.push(n);
    }
    crate::tools::normalize(&out)
}

impl Checker {
    fn inside_workspace(&self, cwd: &Path, path: &Path) -> bool {
        let p = real(path);
        std::iter::once(real(cwd))
            .chain(self.additional_dirs.iter().cloned())
            .any(|d| p.starts_with(d))
    }

    /// Decide one call, asking the tool what it touches. In plan mode only what reads runs:
    /// whatever would be allowed by a rule or would ask is refused, and `ExitPlanMode` asks.
    pub fn decide(
        &self,
        ctx: &ToolContext,
        tools: &Registry,
        tool: &str,
        args: &Value,
    ) -> Decision {
        let d = self.decide_rules(ctx, tools, tool, args);
        if self.mode != PermissionMode::Plan || matches!(d, Decision::Deny { .. }) {
            return d;
        }
        if tool == crate::tools::EXIT_PLAN_MODE {
            return Decision::Ask {
                reason: "the plan needs your approval to leave plan mode".into(),
            };
        }
        let reads = tools.access(ctx, tool, args).is_read();
        match d {
            // A read runs (or asks, where the rules ask about it): research is allowed.
            Decision::Allow { .. } | Decision::Ask { .. } if reads => d,
            // A command the parser knows only reads (no rule needed) is research too.
            Decision::Allow { rule: None, .. }
                if tools.access(ctx, tool, args).command.is_some() =>
            {
                d
            }
            _ => Decision::Deny {
                reason: format!(
                    "plan mode is on: only read-only tools run until the user approves a plan, so {tool} was not run. Finish the research and call ExitPlanMode with the plan"
                ),
            },
        }
    }

    fn decide_rules(
        &self,
        ctx: &ToolContext,
        tools: &Registry,
        tool: &str,
        args: &Value,
    ) -> Decision {
        let access = tools.access(ctx, tool, args);
        let family = tools.rule_family(tool);
        let family = family.as_str();
        let path = access.paths.first().map(|p| real(p));
        let script = access
            .command
            .as_deref()
            .map(crate::shell::analyse)
            .unwrap_or_default();
        // Deny and ask rules see each command in every form it could be written in.
        let parts: Vec<String> = script
            .commands
            .iter()
            .flat_map(crate::shell::Command::forms)
            .collect();
        let cwd = real(&ctx.cwd);
        let hit = |rules: &[Sourced]| -> Option<String> {
            rules
                .iter()
                .find(|s| {
                    if access.command.is_some() {
                        (s.rule.tool == tool || s.rule.tool == family)
                            && (s.rule.pattern.is_none()
                                || parts.iter().any(|p| s.rule.matches_command(p)))
                    } else {
                        s.rule.matches_path(tool, family, path.as_deref(), &cwd)
                            || s.rule.matches_tool(tool, family)
                    }
                })
                .map(|s| format!("{} (from {})", s.rule, s.source))
        };
        if let Some(r) = hit(&self.deny) {
            return Decision::Deny {
                reason: format!("{tool} is denied by the rule {r}"),
            };
        }
        // A command that names a path a `Read` deny rule covers is denied too (`cat secrets/k`).
        if let Some(r) = self.denied_operand(&script, &cwd) {
            return Decision::Deny {
                reason: format!("{tool} names a path denied by the rule {r}"),
            };
        }
        // A glob or variable could name one too (`cat k.p?m`): that is for the user to see.
        let denies_reads = self
            .deny
            .iter()
            .any(|s| s.rule.tool == "Read" && s.rule.pattern.is_some());
        if denies_reads
            && self.mode != PermissionMode::Unrestricted
            && script.commands.iter().any(|c| c.dynamic)
        {
            return Decision::Ask {
                reason: "some reads are denied, and a word of the command is only known when it runs (a glob or a variable)".into(),
            };
        }
        let unrestricted = self.mode == PermissionMode::Unrestricted;
        if access.class == PermissionClass::Write
            && !unrestricted
            && let Some(p) = access
                .paths
                .iter()
                .map(|p| real(p))
                .find(|p| protected::is_protected(p, &ctx.cwd, self.settings_dir.as_deref()))
        {
            return Decision::Ask {
                reason: format!(
                    "{} is protected (letta's settings, git hooks and config, shell startup files): changes there always ask",
                    p.display()
                ),
            };
        }
        if access.class == PermissionClass::Write
            && !unrestricted
            && let Some(p) = access
                .paths
                .iter()
                .find(|p| !self.inside_workspace(&ctx.cwd, p))
        {
            return Decision::Ask {
                reason: format!("{} is outside the working directory", p.display()),
            };
        }
        if !unrestricted && let Some(r) = hit(&self.ask) {
            return Decision::Ask {
                reason: format!("the rule {r} asks for {tool}"),
            };
        }
        if unrestricted {
            return Decision::Allow {
                reason: "unrestricted mode".into(),
                rule: None,
            };
        }
        if access.command.is_some() {
            match self.command_verdict(tool, &script, &ctx.cwd) {
                Ok((reason, rule)) => return Decision::Allow { reason, rule },
                Err(reason) => return Decision::Ask { reason },
            }
        } else if let Some(r) = hit(&self.allow) {
            return Decision::Allow {
                reason: "allowed by rule".into(),
                rule: Some(r),
            };
        }
        by_mode(self.mode, tool, &access)
    }

    /// The first `Read` deny rule a literal word or input file of the command falls under.
    fn denied_operand(&self, script: &crate::shell::Script, cwd: &Path) -> Option<String> {
        let operands = script.commands.iter().flat_map(|c| {
            c.words
                .iter()
                .skip(1)
                .chain(c.redirects.iter().filter_map(|r| r.target.as_ref()))
        });
        for w in operands {
            let p = real(&cwd.join(w));
            if let Some(s) = self.deny.iter().find(|s| {
                s.rule.pattern.is_some() && s.rule.matches_path("Read", "Read", Some(&p), cwd)
            }) {
                return Some(format!("{} (from {})", s.rule, s.source));
            }
        }
        None
    }

    /// The rule "Yes, and don't ask again" would save for this call: for a command, the first
    /// part of it that no rule allows and that is not known to only read.
    pub fn suggest(&self, ctx: &ToolContext, tools: &Registry, tool: &str, args: &Value) -> String {
        if let Some(cmd) = tools.access(ctx, tool, args).command {
            let script = crate::shell::analyse(&cmd);
            let needs = script.commands.iter().find(|c| {
                !crate::shell::is_read_only(c)
                    && !self.allow.iter().any(|s| s.rule.matches_command(&c.text()))
            });
            if let Some(c) = needs.or(script.commands.first()) {
                return command_rule(tool, c);
            }
        }
        Self::suggest_rule(ctx, tools, tool, args)
    }

    /// The rule "Yes, and don't ask again" would save for this call, whatever rules exist.
    pub fn suggest_rule(ctx: &ToolContext, tools: &Registry, tool: &str, args: &Value) -> String {
        let access = tools.access(ctx, tool, args);
        if let Some(cmd) = &access.command {
            let script = crate::shell::analyse(cmd);
            return script
                .commands
                .first()
                .map_or_else(|| format!("{tool}(:*)"), |c| command_rule(tool, c));
        }
        match (access.class, access.paths.first()) {
            (PermissionClass::Write, Some(p)) => {
                let family = tools.rule_family(tool);
                match p.strip_prefix(&ctx.cwd) {
                    Ok(rel) => format!("{family}({})", rel.display()),
                    Err(_) => format!("{family}({})", p.display()),
                }
            }
            _ => tool.to_string(),
        }
    }

    /// Add an allow rule for the rest of the session.
    pub fn allow_for_session(&mut self, rule: Rule, source: &str) {
        self.allow.push(Sourced {
            rule,
            source: source.into(),
        });
    }
}

/// Save an allow rule to `.letta/settings.local.json`, keeping everything else in the file.
/// Blocks on the settings lock: async callers run it on the blocking pool.
pub fn save_allow_rule(cwd: &Path, rule: &Rule) -> Result<(), SettingsError> {
    let file = crate::settings::project_local_file(cwd);
    let text = Value::String(rule.to_string());
    ProjectSettings::update(&file.clone(), move |s| {
        let perms = s.permissions.get_or_insert_with(|| serde_json::json!({}));
        if !perms.is_object() {
            *perms = serde_json::json!({});
        }
        let allow = perms
            .as_object_mut()
            .map(|o| o.entry("allow").or_insert_with(|| serde_json::json!([])));
        match allow {
            Some(Value::Array(list)) => {
                if !list.contains(&text) {
                    list.push(text);
                }
                Ok(())
            }
            // Never replace what a person wrote: report the odd shape instead.
            _ => Err(SettingsError::Corrupt {
                path: file,
                source: <serde_json::Error as serde::de::Error>::custom(
                    "permissions.allow is not a list",
                ),
            }),
        }
    })
}

#[cfg(test)]
mod tests;

/// What the mode says when no rule settled a call.
/// The reason a command asks when nothing more specific applies; the approval prompt shows
/// the model's own description of the command in its place.
pub fn runs_a_command(tool: &str) -> String {
    format!("{tool} runs a command")
}

fn by_mode(mode: PermissionMode, tool: &str, access: &Access) -> Decision {
    let ask = |reason: String| Decision::Ask { reason };
    match (mode, access.class) {
        (PermissionMode::Strict, _) => ask("strict mode asks for every tool".into()),
        (_, PermissionClass::Read) => Decision::Allow {
            reason: "read-only tool".into(),
            rule: None,
        },
        (PermissionMode::AcceptEdits, PermissionClass::Write) => Decision::Allow {
            reason: "acceptEdits mode".into(),
            rule: None,
        },
        (_, PermissionClass::Write) => ask(match access.paths.first() {
            Some(p) => format!("{tool} changes {}", p.display()),
            None => format!("{tool} changes files"),
        }),
        (_, PermissionClass::Execute) => ask(runs_a_command(tool)),
        (_, PermissionClass::Network) => ask(format!("{tool} reaches the network")),
        (_, PermissionClass::External) => ask(format!("{tool} is a tool of an MCP server")),
    }
}

/// `Tool(prefix:*)` for one simple command: its name, and the subcommand of tools that have
/// them (`npm test`, `git commit`), never an argument such as a file name.
fn command_rule(tool: &str, c: &crate::shell::Command) -> String {
    let words: Vec<&str> = c.words.iter().take(2).map(String::as_str).collect();
    let subcommand = words.len() == 2
        && WITH_SUBCOMMANDS.contains(&words[0])
        && !words[1].starts_with('-')
        && words[1]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let prefix = if subcommand {
        words.join(" ")
    } else {
        words.first().copied().unwrap_or("").to_string()
    };
    format!("{tool}({prefix}:*)")
}
