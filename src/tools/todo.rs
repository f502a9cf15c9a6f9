//! `TodoWrite`: the model's task list, kept for the session and shown by the UI.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ToolContext, ToolOutput};
use crate::protocol::ClientTool;

/// One task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Todo {
    pub content: String,
    /// `pending`, `in_progress` or `completed`.
    pub status: String,
    #[serde(
        default,
        rename = "activeForm",
        skip_serializing_if = "Option::is_none"
    )]
    pub active_form: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

pub fn definition() -> ClientTool {
    ClientTool {
        name: "TodoWrite".into(),
        description: "Replace the session's task list. Use it for work with several steps; keep exactly one task in_progress.".into(),
        parameters: json!({"type": "object", "properties": {"todos": {"type": "array", "items": {"type": "object", "properties": {
            "content": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "in_progress", "completed"]},
            "activeForm": {"type": "string"},
            "id": {"type": "string"}}, "required": ["content", "status"]}}}, "required": ["todos"]}),
        extra: Default::default(),
    }
}

pub fn write(ctx: &ToolContext, args: &Value) -> ToolOutput {
    let todos: Vec<Todo> = match args.get("todos").cloned().map(serde_json::from_value) {
        Some(Ok(t)) => t,
        Some(Err(e)) => return ToolOutput::err(format!("todos are malformed: {e}")),
        None => return ToolOutput::err("TodoWrite needs a \"todos\" list"),
    };
    if let Some(bad) = todos
        .iter()
        .find(|t| !matches!(t.status.as_str(), "pending" | "in_progress" | "completed"))
    {
        return ToolOutput::err(format!(
            "status {:?} of {:?} is not pending, in_progress or completed",
            bad.status, bad.content
        ));
    }
    let done = todos.iter().filter(|t| t.status == "completed").count();
    let n = todos.len();
    if let Ok(mut t) = ctx.todos.lock() {
        *t = todos;
    }
    ToolOutput::ok(format!("Todo list updated: {done} of {n} done."))
}
