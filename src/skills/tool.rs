//! The `Skill` tool: its description lists the skills (looked up afresh for every request, so
//! a skill written during the session is offered at once), and a call returns one body.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{Skill, Source, discover, usable};
use crate::protocol::ClientTool;
use crate::tools::{CallView, Effect, PermissionClass, Tool, ToolContext, ToolOutput};

/// The `Skill` tool of a session in `cwd`.
pub struct SkillTool {
    cwd: PathBuf,
}

impl SkillTool {
    pub fn new(cwd: PathBuf) -> Self {
        Self { cwd }
    }

    fn all_skills(&self) -> Vec<Skill> {
        discover(&self.cwd, super::user_dir().as_deref())
    }
}

/// Where a skill's file is, as Letta Code's `client_skills` names it.
pub fn location(s: &Skill) -> String {
    match &s.source {
        Source::Project(p) | Source::User(p) => p.display().to_string(),
        Source::Bundled => format!("bundled:{}", s.name),
    }
}

#[async_trait::async_trait]
impl Tool for SkillTool {
    fn name(&self) -> &'static str {
        "Skill"
    }

    fn definition(&self) -> ClientTool {
        let all = self.all_skills();
        let mut description = String::from(
            "Load a skill: instructions for a kind of task, written by the user or shipped with letta. \
             When a task matches a skill's description below, call this tool with the skill's name \
             before doing the task, then follow the instructions it returns.\n\nAvailable skills:\n",
        );
        for s in usable(&all) {
            description.push_str(&format!("- {}: {}\n", s.name, s.description));
        }
        ClientTool {
            name: "Skill".into(),
            description,
            parameters: json!({"type": "object", "properties": {
                "skill": {"type": "string", "description": "The skill's name, as listed."},
                "args": {"type": "string", "description": "Optional details for the skill."}},
                "required": ["skill"]}),
            extra: Default::default(),
        }
    }

    fn class(&self) -> PermissionClass {
        PermissionClass::Read
    }

    fn describe(&self, args: &Value, _cwd: &std::path::Path) -> CallView {
        CallView {
            verb: "Skill".into(),
            arg: crate::tools::str_arg(args, "skill").to_string(),
            effect: Effect::Output,
        }
    }

    async fn run(
        &self,
        _ctx: Arc<ToolContext>,
        args: Value,
        _cancel: CancellationToken,
    ) -> ToolOutput {
        let name = crate::tools::str_arg(&args, "skill").trim();
        let all = self.all_skills();
        let Some(s) = usable(&all).find(|s| s.name == name) else {
            let names: Vec<&str> = usable(&all).map(|s| s.name.as_str()).collect();
            let why = all
                .iter()
                .find(|s| s.name == name)
                .and_then(|s| s.problem.clone())
                .map(|p| format!(" ({p})"))
                .unwrap_or_default();
            return ToolOutput::err(format!(
                "no usable skill {name:?}{why}; the skills are: {}",
                names.join(", ")
            ));
        };
        ToolOutput::ok(body_of(s, crate::tools::str_arg(&args, "args")))
    }

    fn client_skills(&self) -> Vec<crate::protocol::ClientSkill> {
        let all = self.all_skills();
        usable(&all)
            .map(|s| crate::protocol::ClientSkill {
                name: s.name.clone(),
                description: s.description.clone(),
                location: location(s),
            })
            .collect()
    }
}

/// What the model reads for a skill: where it is (for the files beside it), then its body.
pub fn body_of(s: &Skill, args: &str) -> String {
    let mut out = format!("Skill \"{}\" ({})\n", s.name, s.source.label());
    if let Some(d) = &s.dir {
        out.push_str(&format!(
            "Its folder, for the files it mentions: {}\n",
            d.display()
        ));
    }
    if !args.trim().is_empty() {
        out.push_str(&format!("Asked with: {}\n", args.trim()));
    }
    out.push('\n');
    out.push_str(&s.body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_advertises_skills_as_client_skills() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = crate::tools::Registry::builtin();
        r.register(Arc::new(SkillTool::new(dir.path().to_path_buf())));
        let skills = r.client_skills();
        let s = skills.iter().find(|s| s.name == "creating-skills").unwrap();
        assert_eq!(s.location, "bundled:creating-skills");
        let v = serde_json::to_value(crate::protocol::SendMessageRequest {
            client_skills: Some(skills.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(v["client_skills"][0]["name"], skills[0].name.as_str());
        assert!(crate::tools::Registry::builtin().client_skills().is_empty());
    }
}
