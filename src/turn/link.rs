//! What a tool that starts turns of its own (a subagent) takes from the turn it runs in.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::{Approver, Journal, TurnDriver};
use crate::backend::Backend;
use crate::permissions::Checker;
use crate::session::context::ProjectContext;
use crate::tools::{Registry, ToolContext};

/// What a tool that starts turns of its own (a subagent) takes from the turn it runs in: the
/// same backend, rules, approvals, hooks and project.
#[derive(Clone)]
pub struct TurnLink {
    pub backend: Arc<dyn Backend>,
    pub tools: Arc<ToolContext>,
    pub registry: Arc<Registry>,
    pub checker: Arc<Mutex<Checker>>,
    pub approver: Arc<dyn Approver>,
    pub project_dir: PathBuf,
    pub journal: Journal,
    pub context: Arc<ProjectContext>,
    pub hooks: Arc<crate::hooks::Hooks>,
}

impl TurnLink {
    /// A driver for another conversation, with `registry` and `approver` in place of the
    /// parent's.
    pub fn driver(&self, registry: Registry, approver: Arc<dyn Approver>) -> TurnDriver {
        TurnDriver {
            backend: self.backend.clone(),
            tools: Arc::new(self.tools.child()),
            registry: Arc::new(registry),
            checker: self.checker.clone(),
            approver,
            project_dir: self.project_dir.clone(),
            journal: self.journal.clone(),
            context: Arc::new(self.context.fresh()),
            // A subagent's end is `SubagentStop`; the session's own events are not its.
            hooks: Arc::new(self.hooks.without(&[
                crate::hooks::Event::Stop,
                crate::hooks::Event::UserPromptSubmit,
                crate::hooks::Event::SessionStart,
                crate::hooks::Event::SessionEnd,
            ])),
        }
    }
}

impl TurnDriver {
    /// This driver's parts, for a tool that starts a turn of its own.
    pub fn link(&self) -> TurnLink {
        TurnLink {
            backend: self.backend.clone(),
            tools: self.tools.clone(),
            registry: self.registry.clone(),
            checker: self.checker.clone(),
            approver: self.approver.clone(),
            project_dir: self.project_dir.clone(),
            journal: self.journal.clone(),
            context: self.context.clone(),
            hooks: self.hooks.clone(),
        }
    }
}
