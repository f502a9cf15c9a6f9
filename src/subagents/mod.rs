//! Subagents: a `Task` call runs a subagent as its own *conversation* of the same agent, so it
//! shares the agent's memory, runs beside the others, and can be resumed like any
//! conversation. Types are built in (`general-purpose`, `explore`, `plan`) or Markdown files
//! with frontmatter (`name, description, tools, model`) in `.letta/agents/` and the user's
//! `agents/` folder, in Letta Code's format.

mod background;
mod task;

pub use background::{Background, TaskOutputTool};
pub use task::TaskTool;

use std::path::{Path, PathBuf};

use crate::settings::frontmatter;

/// Tools a read-only subagent gets.
const READ_ONLY: &[&str] = &["Read", "Glob", "Grep", "LS", "Skill"];

/// Where a type was defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    BuiltIn,
    Project(PathBuf),
    User(PathBuf),
}

/// One kind of subagent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentType {
    pub name: String,
    pub description: String,
    /// The tools it may use; `None` is every tool of the session (but `Task`).
    pub tools: Option<Vec<String>>,
    pub model: Option<String>,
    /// Its instructions, put before the task.
    pub prompt: String,
    pub source: Source,
    /// Why a file cannot be used; such a type is listed, never run.
    pub problem: Option<String>,
}

fn built_in(name: &str, description: &str, tools: Option<&[&str]>, prompt: &str) -> AgentType {
    AgentType {
        name: name.into(),
        description: description.into(),
        tools: tools.map(|t| t.iter().map(|s| (*s).to_string()).collect()),
        model: None,
        prompt: prompt.into(),
        source: Source::BuiltIn,
        problem: None,
    }
}

fn built_ins() -> Vec<AgentType> {
    vec![
        built_in(
            "general-purpose",
            "Any multi-step task, with every tool: research, edits, commands.",
            None,
            "You are a subagent: another agent gave you the task below. Do it completely with your tools, then answer with what you found or changed, briefly, as your final message; it is all the other agent will see.",
        ),
        built_in(
            "explore",
            "Fast, read-only search of a codebase: where something is, how it works.",
            Some(READ_ONLY),
            "You are a read-only subagent searching a codebase for another agent. Search quickly and widely (Glob, Grep, Read), change nothing, and answer with what you found: file paths with line numbers and the few lines that matter.",
        ),
        built_in(
            "plan",
            "Read-only research that returns a step-by-step implementation plan.",
            Some(READ_ONLY),
            "You are a read-only subagent planning work for another agent. Study the code the task touches, change nothing, and answer with a numbered plan: the files to change, what to change in each, and how to check the result.",
        ),
    ]
}

fn read_file(path: &Path, source: Source) -> AgentType {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut t = AgentType {
        name: stem,
        description: String::new(),
        tools: None,
        model: None,
        prompt: String::new(),
        source,
        problem: None,
    };
    let text = match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() <= 256 * 1024 => std::fs::read(path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| e.to_string()),
        Ok(_) => Err("not a regular file of at most 256 KB".into()),
        Err(e) => Err(e.to_string()),
    };
    match text.and_then(|t| frontmatter::parse(&t)) {
        Err(e) => t.problem = Some(e),
        Ok(d) => {
            t.prompt = d.body.trim().to_string();
            t.model = d.text("model").filter(|m| m != "inherit");
            t.tools = d
                .fields
                .get("tools")
                .map(frontmatter::Value::items)
                .filter(|v| !v.is_empty() && v.iter().all(|x| x != "*"));
            match (d.text("name"), d.text("description")) {
                (Some(n), Some(desc)) => {
                    t.name = n;
                    t.description = desc;
                }
                _ => t.problem = Some("it needs a name and a description".into()),
            }
        }
    }
    t
}

fn scan(dir: &Path, source: &dyn Fn(PathBuf) -> Source, out: &mut Vec<AgentType>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    for f in files {
        out.push(read_file(&f, source(f.clone())));
    }
}

/// The user's subagent folder: `agents/` beside the global settings.
pub fn user_dir() -> Option<PathBuf> {
    crate::settings::Paths::user_folder("agents")
}

/// Every type: the built-in ones (their names are reserved), the project's, then the user's;
/// a later file with a name already taken is listed with why it is not used.
pub fn discover(cwd: &Path) -> Vec<AgentType> {
    let mut out = built_ins();
    scan(&cwd.join(".letta/agents"), &Source::Project, &mut out);
    if let Some(u) = user_dir() {
        scan(&u, &Source::User, &mut out);
    }
    let mut seen = std::collections::HashSet::new();
    for t in &mut out {
        if t.problem.is_none() && !seen.insert(t.name.clone()) {
            t.problem = Some(if t.source == Source::BuiltIn {
                "an earlier type has the same name".into()
            } else if built_ins().iter().any(|b| b.name == t.name) {
                "the name is a built-in type's".into()
            } else {
                "an earlier file has the same name".into()
            });
        }
    }
    out
}

/// The type called `name`, if one is usable.
pub fn find(all: &[AgentType], name: &str) -> Option<AgentType> {
    all.iter()
        .find(|t| t.name == name && t.problem.is_none())
        .cloned()
}

/// What `/subagents` prints.
pub fn listing(all: &[AgentType]) -> String {
    let mut s = String::new();
    for t in all {
        let from = match &t.source {
            Source::BuiltIn => "built in".to_string(),
            Source::Project(p) | Source::User(p) => p.display().to_string(),
        };
        if let Some(p) = &t.problem {
            s.push_str(&format!("✗ {} — not usable: {p}\n    {from}\n", t.name));
            continue;
        }
        let tools = t
            .tools
            .as_ref()
            .map_or_else(|| "all tools".to_string(), |v| v.join(", "));
        s.push_str(&format!(
            "● {} — {}\n    tools: {tools}{} · {from}\n",
            t.name,
            t.description,
            t.model
                .as_ref()
                .map(|m| format!(" · model {m}"))
                .unwrap_or_default()
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_letta_codes_agent_files() {
        let dir = tempfile::tempdir().unwrap();
        let agents = dir.path().join(".letta/agents");
        std::fs::create_dir_all(&agents).unwrap();
        std::fs::write(
            agents.join("reviewer.md"),
            "---\nname: reviewer\ndescription: Reviews diffs.\ntools: Read, Grep\nmodel: openai/gpt-other\n---\nReview carefully.\n",
        )
        .unwrap();
        std::fs::write(agents.join("bad.md"), "---\nname: bad\n---\n").unwrap();
        let all = discover(dir.path());
        let r = find(&all, "reviewer").unwrap();
        assert_eq!(r.tools.unwrap(), ["Read", "Grep"]);
        assert_eq!(r.model.as_deref(), Some("openai/gpt-other"));
        assert_eq!(r.prompt, "Review carefully.");
        assert!(find(&all, "bad").is_none());
        assert!(find(&all, "explore").is_some());
        let text = listing(&all);
        assert!(text.contains("✗ bad — not usable"), "{text}");
    }
}
