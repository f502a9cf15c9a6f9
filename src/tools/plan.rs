//! `ExitPlanMode`: in plan mode the model ends its research by handing the user its plan.
//! The turn asks the user (the plan shown as markdown) and, on approval, leaves plan mode for
//! the mode the user chose; outside plan mode the call does nothing.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::tool::{CallView, Effect, PermissionClass, Tool, str_arg};
use super::{ToolContext, ToolOutput};
use crate::protocol::ClientTool;

/// The tool's name, which the turn and the permission checker know.
pub const EXIT_PLAN_MODE: &str = "ExitPlanMode";

/// The `ExitPlanMode` tool.
pub struct ExitPlanMode;

#[async_trait]
impl Tool for ExitPlanMode {
    fn name(&self) -> &str {
        EXIT_PLAN_MODE
    }

    fn definition(&self) -> ClientTool {
        ClientTool {
            name: EXIT_PLAN_MODE.into(),
            description: "In plan mode, call this when your research is done, with the plan as markdown: the steps, the files to change, and how to check the result. The user reads it and either approves it (you then carry it out) or asks for changes. Outside plan mode it does nothing.".into(),
            parameters: json!({"type": "object", "properties": {
                "plan": {"type": "string", "description": "The plan, in markdown."}},
                "required": ["plan"]}),
            extra: Default::default(),
        }
    }

    fn class(&self) -> PermissionClass {
        PermissionClass::Read
    }

    fn describe(&self, args: &Value, _cwd: &Path) -> CallView {
        CallView {
            verb: "Plan".into(),
            arg: String::new(),
            effect: Effect::Plan {
                plan: str_arg(args, "plan").to_string(),
            },
        }
    }

    async fn run(&self, _ctx: Arc<ToolContext>, _args: Value, _c: CancellationToken) -> ToolOutput {
        ToolOutput::ok("Plan mode is not on, so there was nothing to leave; go ahead.")
    }
}
