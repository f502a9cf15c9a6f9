//! What a tool that starts turns of its own (a subagent) takes from the turn it runs in: the
//! parent's driver (same backend, rules, approvals, hooks and project), cloned.

use std::sync::Arc;

use super::{Approver, TurnDriver};
use crate::tools::Registry;

impl TurnDriver {
    /// A driver for another conversation, with `registry` and `approver` in place of this
    /// one's.
    #[must_use]
    pub fn child(&self, registry: Registry, approver: Arc<dyn Approver>) -> TurnDriver {
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
