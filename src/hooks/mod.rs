//! Hooks, on Claude Code's contract: commands the user configures under `"hooks"` in any
//! settings file, run at points of a session (before and after a tool, when a prompt is
//! submitted, when the agent stops…). The event's JSON goes on stdin; exit 0 goes on, exit 2
//! blocks with stderr as the reason, and JSON on stdout can decide, add context or rewrite a
//! tool's input.
//!
//! A hook can never give more permission than the user has: an "allow" only answers a question
//! the rules would have asked, deny rules still apply, and a rewritten input is checked again.
//! A project's hooks run only in a folder the user trusts.

mod config;
mod run;

pub use config::{Event, HookCommand, Matcher};
pub use run::{Decision, Outcome};

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// The hooks of a session.
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    matchers: Vec<(Event, Matcher)>,
    /// Entries that could not be used, with the file and the reason (`/hooks` shows them).
    pub problems: Vec<String>,
    cwd: PathBuf,
    session_id: String,
}

impl Hooks {
    /// The hooks in these settings documents (lowest precedence first), each with its file.
    pub fn load(sources: &[(PathBuf, Option<&Value>)], cwd: &Path) -> Self {
        let mut h = Self {
            cwd: cwd.to_path_buf(),
            session_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        };
        for (file, doc) in sources {
            if let Some(v) = doc {
                config::read(v, file, &mut h.matchers, &mut h.problems);
            }
        }
        h
    }

    /// No hooks at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// The same hooks but those of `events`.
    #[must_use]
    pub fn without(&self, events: &[Event]) -> Self {
        let mut h = self.clone();
        h.matchers.retain(|(e, _)| !events.contains(e));
        h
    }

    /// Whether any hook listens for `event` (cheap; callers skip building its input).
    pub fn any(&self, event: Event) -> bool {
        self.matchers.iter().any(|(e, _)| *e == event)
    }

    /// Every configured hook, for `/hooks`: (event, matcher, command, file).
    pub fn listing(&self) -> Vec<(Event, String, String, PathBuf)> {
        self.matchers
            .iter()
            .flat_map(|(e, m)| {
                m.hooks
                    .iter()
                    .map(|h| (*e, m.raw.clone(), h.command.clone(), h.source.clone()))
            })
            .collect()
    }

    /// Run the hooks for `event` (and `tool`, for tool events) with `fields` added to the
    /// common input. Hooks run in order; the first that blocks ends the run.
    pub async fn fire(&self, event: Event, tool: Option<&str>, fields: Value) -> Outcome {
        let mut input = json!({
            "session_id": self.session_id,
            "cwd": self.cwd.display().to_string(),
            "hook_event_name": event.name(),
        });
        if let (Some(o), Value::Object(f)) = (input.as_object_mut(), fields) {
            o.extend(f);
        }
        let mut out = Outcome::default();
        for (e, m) in &self.matchers {
            if *e != event || !m.applies(tool) {
                continue;
            }
            for h in &m.hooks {
                let one = Box::pin(run::run(h, &input, &self.cwd, event)).await;
                out.merge(one);
                if out.blocked.is_some() {
                    return out;
                }
            }
        }
        out
    }
}

/// What `/hooks` prints.
pub fn listing_text(hooks: &Hooks) -> String {
    let list = hooks.listing();
    let mut s = String::new();
    if list.is_empty() {
        s.push_str("No hooks are configured. Add them under \"hooks\" in a settings file, e.g.\n  {\"hooks\": {\"PreToolUse\": [{\"matcher\": \"Bash\", \"hooks\": [{\"type\": \"command\", \"command\": \"./check.sh\", \"timeout\": 60}]}]}}\n");
    }
    for (event, matcher, command, file) in list {
        let m = if matcher.is_empty() {
            "*".to_string()
        } else {
            matcher
        };
        s.push_str(&format!(
            "{} [{m}] {command}\n    from {}\n",
            event.name(),
            file.display()
        ));
    }
    if !hooks.problems.is_empty() {
        s.push_str("Entries that could not be used:\n");
        for p in &hooks.problems {
            s.push_str(&format!("  {p}\n"));
        }
    }
    s
}
