//! Subagents running in the background: each is a task with an id. When one ends, the model
//! hears it with the next message (a `<task-notification>`), and `TaskOutput` reads a task's
//! state or waits for it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::task::Run;
use crate::protocol::ClientTool;
use crate::tools::{CallView, Effect, PermissionClass, Tool, ToolContext, ToolOutput, str_arg};

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Running,
    Done(String),
    Failed(String),
}

struct Task {
    id: String,
    label: String,
    conversation: String,
    state: State,
}

/// The session's background subagents.
#[derive(Default)]
pub struct Background {
    tasks: Mutex<Vec<Task>>,
    changed: tokio::sync::Notify,
}

impl Background {
    /// Start `run` on its own; returns its id.
    pub(super) fn start(self: &Arc<Self>, run: Run) -> String {
        let (context, parent) = run.notify.clone();
        let cancel = CancellationToken::new();
        let id = {
            let Ok(mut tasks) = self.tasks.lock() else {
                return String::new();
            };
            let id = format!("task-{}", tasks.len() + 1);
            tasks.push(Task {
                id: id.clone(),
                label: run.label.clone(),
                conversation: run.session.conversation_id.clone(),
                state: State::Running,
            });
            id
        };
        let (me, task_id) = (self.clone(), id.clone());
        tokio::spawn(async move {
            let label = run.label.clone();
            let state = match run.go(&cancel).await {
                Ok(t) => State::Done(t),
                Err(e) => State::Failed(e),
            };
            let (word, text) = match &state {
                State::Done(t) => ("finished", t.clone()),
                State::Failed(e) => ("failed", e.clone()),
                State::Running => ("is running", String::new()),
            };
            context.add_for(&parent, &format!(
                "<task-notification>\nBackground task {task_id} (subagent {label}) {word}:\n{text}\n</task-notification>\n"
            ));
            if let Ok(mut tasks) = me.tasks.lock()
                && let Some(t) = tasks.iter_mut().find(|t| t.id == task_id)
            {
                t.state = state;
            }
            me.changed.notify_waiters();
        });
        id
    }

    fn report(&self, id: &str) -> Option<(bool, String)> {
        let tasks = self.tasks.lock().ok()?;
        let t = tasks.iter().find(|t| t.id == id)?;
        let head = format!(
            "Task {} (subagent {}, conversation {})",
            t.id, t.label, t.conversation
        );
        Some(match &t.state {
            State::Running => (false, format!("{head} is still running.")),
            State::Done(text) => (true, format!("{head} finished:\n{text}")),
            State::Failed(e) => (true, format!("{head} failed: {e}")),
        })
    }
}

/// The `TaskOutput` tool: a background task's state or answer.
pub struct TaskOutputTool {
    background: Arc<Background>,
}

impl TaskOutputTool {
    pub fn new(background: Arc<Background>) -> Self {
        Self { background }
    }
}

#[async_trait]
impl Tool for TaskOutputTool {
    fn name(&self) -> &'static str {
        "TaskOutput"
    }

    fn definition(&self) -> ClientTool {
        ClientTool {
            name: "TaskOutput".into(),
            description: "Read a background task's answer (a Task started with run_in_background). With block (the default) it waits for the task to end, up to timeout milliseconds.".into(),
            parameters: json!({"type": "object", "properties": {
                "task_id": {"type": "string"},
                "block": {"type": "boolean", "description": "Wait for it to end (default true)."},
                "timeout": {"type": "integer", "description": "Milliseconds to wait at most (default 30000)."}},
                "required": ["task_id"]}),
            extra: Default::default(),
        }
    }

    fn class(&self) -> PermissionClass {
        PermissionClass::Read
    }

    fn describe(&self, args: &Value, _cwd: &std::path::Path) -> CallView {
        CallView {
            verb: "TaskOutput".into(),
            arg: str_arg(args, "task_id").to_string(),
            effect: Effect::Output,
        }
    }

    async fn run(
        &self,
        _ctx: Arc<ToolContext>,
        args: Value,
        cancel: CancellationToken,
    ) -> ToolOutput {
        let id = str_arg(&args, "task_id").trim().to_string();
        let block = args.get("block").and_then(Value::as_bool).unwrap_or(true);
        let wait = Duration::from_millis(
            args.get("timeout")
                .and_then(Value::as_u64)
                .unwrap_or(30_000)
                .min(600_000),
        );
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let changed = self.background.changed.notified();
            let Some((done, text)) = self.background.report(&id) else {
                return ToolOutput::err(format!("there is no background task {id:?}"));
            };
            if done || !block || tokio::time::Instant::now() >= deadline {
                return ToolOutput::ok(text);
            }
            tokio::select! {
                () = changed => {}
                () = tokio::time::sleep_until(deadline) => {}
                () = cancel.cancelled() => return ToolOutput::err("Interrupted by user"),
            }
        }
    }
}
