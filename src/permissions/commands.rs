//! Whether a shell command may run without asking: every simple command in it allowed by a
//! rule or known to only read, and nothing the parser could not vouch for.

use std::path::Path;

use super::{Checker, PermissionMode, real};
use crate::shell::{Script, is_read_only};

/// Allowed: the reason and the rule that allowed it, if one did. Not allowed: why it asks.
pub(super) type Verdict = Result<(String, Option<String>), String>;

impl Checker {
    pub(super) fn command_verdict(&self, tool: &str, script: &Script, cwd: &Path) -> Verdict {
        let rule_text = |s: &super::Sourced| format!("{} (from {})", s.rule, s.source);
        // A bare `Bash` rule allows whatever the command is.
        if let Some(s) = self
            .allow
            .iter()
            .find(|s| s.rule.tool == tool && s.rule.pattern.is_none())
        {
            return Ok(("allowed by rule".into(), Some(rule_text(s))));
        }
        if !script.is_plain() {
            return Err(format!("the command has {}", script.complex.join(" and ")));
        }
        if script.commands.is_empty() {
            return Err(format!("{tool} runs nothing letta can read"));
        }
        let mut rule = None;
        for c in &script.commands {
            let name = c.name();
            if c.env {
                return Err(format!("it sets environment variables for {name}"));
            }
            if c.dynamic_name {
                return Err("its command name is computed when it runs".into());
            }
            let files: Vec<Option<&str>> = c
                .redirects
                .iter()
                .filter_map(super::super::shell::Redirect::written_file)
                .collect();
            match self
                .allow
                .iter()
                .find(|s| s.rule.matches_command(&c.text()))
            {
                Some(s) => {
                    for f in &files {
                        let Some(f) = f else {
                            return Err(format!("{name} writes to a path computed when it runs"));
                        };
                        let p = real(&cwd.join(f));
                        if super::protected::is_protected(&p, cwd, self.settings_dir.as_deref()) {
                            return Err(format!(
                                "{name} writes to {}, a protected file",
                                p.display()
                            ));
                        }
                        if !self.inside_workspace(cwd, &p) {
                            return Err(format!(
                                "{name} writes to {}, outside the working directory",
                                p.display()
                            ));
                        }
                    }
                    rule.get_or_insert_with(|| rule_text(s));
                }
                None if self.mode != PermissionMode::Strict
                    && files.is_empty()
                    && is_read_only(c) => {}
                None if !files.is_empty() => {
                    return Err(format!("{name} writes its output to a file"));
                }
                None => return Err(format!("{tool} runs {name}")),
            }
        }
        let reason = if rule.is_some() {
            "allowed by rule"
        } else {
            "read-only command"
        };
        Ok((reason.into(), rule))
    }
}
