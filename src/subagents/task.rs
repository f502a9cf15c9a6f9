//! The `Task` tool: start a subagent in a new conversation of the same agent, run its turn
//! with the parent's rules, approvals and hooks, and answer with its final message. Several
//! calls in one step run at once (the tool only reads; its subagent's calls are checked one by
//! one); Esc cancels them with the parent; `run_in_background` returns at once.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{AgentType, Background, discover, find};
use crate::hooks::Event;
use crate::protocol::{ClientTool, CreateConversation};
use crate::session::Session;
use crate::tools::{
    CallScope, CallView, PermissionClass, Registry, Tool, ToolContext, ToolOutput, str_arg,
};
use crate::turn::{ApprovalAnswer, Approver, ToolCallInfo, TurnDriver, TurnEvent, TurnOptions};

/// Steps one subagent may take.
const MAX_STEPS: u32 = 50;

/// The `Task` tool of a session in `cwd`.
pub struct TaskTool {
    cwd: PathBuf,
    background: Arc<Background>,
}

impl TaskTool {
    pub fn new(cwd: PathBuf, background: Arc<Background>) -> Self {
        Self { cwd, background }
    }
}

/// Asks the parent's approver, saying which subagent wants the call.
struct Named {
    inner: Arc<dyn Approver>,
    label: String,
}

#[async_trait]
impl Approver for Named {
    async fn ask(&self, call: &ToolCallInfo, reason: &str, rule: &str) -> ApprovalAnswer {
        let reason = format!("subagent {}: {reason}", self.label);
        self.inner.ask(call, &reason, rule).await
    }
}

/// A subagent's tools: its type's list, or all of the parent's but `Task` and `TaskOutput`.
fn tools_for(t: &AgentType, parent: &Registry) -> Registry {
    // A subagent never starts subagents of its own, whatever its file lists.
    let nested = |n: &str| n == "Task" || n == "TaskOutput";
    match &t.tools {
        Some(list) => {
            let list: Vec<String> = list.iter().filter(|n| !nested(n)).cloned().collect();
            parent.only(&list)
        }
        None => parent.without(&["Task", "TaskOutput"]),
    }
}

/// One subagent, ready to run.
pub(super) struct Run {
    pub label: String,
    pub session: Session,
    pub text: String,
    pub opts: TurnOptions,
    pub driver: crate::turn::TurnDriver,
    pub progress: Option<crate::tools::Progress>,
    pub hooks: Arc<crate::hooks::Hooks>,
    /// Where a background run's result is told: the parent's conversation.
    pub notify: (Arc<crate::session::context::ProjectContext>, String),
}

impl Run {
    /// Run its turn; the final message, or why there is none.
    pub async fn go(self, cancel: &CancellationToken) -> Result<String, String> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<TurnEvent>();
        let (progress, label) = (self.progress.clone(), self.label.clone());
        let forward = tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                if matches!(
                    ev,
                    TurnEvent::Assistant { .. } | TurnEvent::Reasoning { .. }
                ) {
                    continue;
                }
                if let Some(p) = &progress {
                    p(Box::new((label.clone(), ev)));
                }
            }
        });
        let r = self
            .driver
            .run(&self.session, &self.text, &self.opts, &tx, cancel)
            .await;
        drop(tx);
        let _ = forward.await;
        let fields =
            json!({"subagent": self.label, "conversation_id": self.session.conversation_id});
        let _ = self.hooks.fire(Event::SubagentStop, None, fields).await;
        let r = r.map_err(|e| e.to_string())?;
        if r.interrupted {
            return Err("Interrupted by user".into());
        }
        if r.is_error() {
            return Err(r.errors.join("; "));
        }
        Ok(format!(
            "{}\n\n[subagent {} · conversation {}]",
            r.text, self.label, self.session.conversation_id
        ))
    }
}

impl TaskTool {
    /// Set up a subagent for `args` in the turn `scope` runs in.
    async fn prepare(&self, args: &Value, scope: &CallScope) -> Result<Run, String> {
        let link = scope
            .turn
            .clone()
            .and_then(|t| t.downcast::<TurnDriver>().ok())
            .ok_or("Task can only run inside a turn")?;
        let (kind, description, prompt) = (
            str_arg(args, "subagent_type").trim(),
            str_arg(args, "description").trim(),
            str_arg(args, "prompt").trim(),
        );
        if prompt.is_empty() {
            return Err("Task needs a prompt".into());
        }
        let all = discover(&self.cwd);
        let t = find(&all, kind).ok_or_else(|| {
            if let Some(p) = all
                .iter()
                .find(|t| t.name == kind)
                .and_then(|t| t.problem.clone())
            {
                return format!("the subagent type {kind:?} cannot be used: {p}");
            }
            let names: Vec<&str> = all
                .iter()
                .filter(|t| t.problem.is_none())
                .map(|t| t.name.as_str())
                .collect();
            format!(
                "no subagent type {kind:?}; the types are: {}",
                names.join(", ")
            )
        })?;
        let registry = tools_for(&t, &link.registry);
        if let Some(list) = &t.tools
            && registry.names().is_empty()
        {
            return Err(format!(
                "none of the subagent type {kind:?}'s tools ({}) exists here",
                list.join(", ")
            ));
        }
        let label = format!("{} · {}", t.name, description);
        // `fork`: the subagent starts from this conversation as it is; otherwise fresh.
        let conv = if args.get("fork").and_then(Value::as_bool) == Some(true) {
            let agent = (scope.conversation_id == crate::protocol::DEFAULT_CONVERSATION)
                .then(|| scope.agent_id.clone());
            link.backend
                .fork_conversation(
                    &scope.conversation_id,
                    crate::protocol::ForkParams {
                        agent_id: agent,
                        message_id: None,
                    },
                )
                .await
        } else {
            link.backend
                .create_conversation(
                    &scope.agent_id,
                    CreateConversation {
                        summary: Some(format!("{}: {description}", t.name)),
                        ..Default::default()
                    },
                )
                .await
        }
        .map_err(|e| format!("could not start the subagent's conversation: {e}"))?;
        let approver = Arc::new(Named {
            inner: link.approver.clone(),
            label: label.clone(),
        });
        let driver = link.child(registry, approver);
        let model = Some(str_arg(args, "model").trim().to_string())
            .filter(|m| !m.is_empty())
            .or(t.model.clone());
        Ok(Run {
            label,
            session: Session {
                agent_id: scope.agent_id.clone(),
                conversation_id: conv.id,
            },
            text: format!(
                "<system-reminder>\n{}\n</system-reminder>\n{prompt}",
                t.prompt
            ),
            opts: TurnOptions {
                override_model: model,
                max_steps: Some(MAX_STEPS),
                wait_busy: None,
                // The parent's stream-json prints its subagents' chunks.
                no_text_chunks: false,
            },
            driver,
            progress: scope.progress.clone(),
            hooks: link.hooks.clone(),
            notify: (
                link.context.clone(),
                format!("{}/{}", scope.agent_id, scope.conversation_id),
            ),
        })
    }
}

#[async_trait]
impl Tool for TaskTool {
    fn name(&self) -> &'static str {
        "Task"
    }

    fn definition(&self) -> ClientTool {
        let mut description = String::from(
            "Start a subagent for a self-contained task: it works in its own conversation with this agent's memory and answers with one final message, which is this tool's result. Several Task calls in one step run at the same time. Give it everything it needs in the prompt: it does not see this conversation unless fork is set.\n\nTypes:\n",
        );
        for t in discover(&self.cwd).iter().filter(|t| t.problem.is_none()) {
            description.push_str(&format!("- {}: {}\n", t.name, t.description));
        }
        ClientTool {
            name: "Task".into(),
            description,
            parameters: json!({"type": "object", "properties": {
                "description": {"type": "string", "description": "Three to five words saying what it does."},
                "prompt": {"type": "string", "description": "The whole task."},
                "subagent_type": {"type": "string", "description": "One of the types listed."},
                "model": {"type": "string", "description": "A model for it (optional)."},
                "run_in_background": {"type": "boolean", "description": "Return at once; the result comes with a later message, or from TaskOutput."},
                "fork": {"type": "boolean", "description": "Start from a copy of this conversation (it sees everything so far) instead of fresh."}},
                "required": ["description", "prompt", "subagent_type"]}),
            extra: Default::default(),
        }
    }

    fn class(&self) -> PermissionClass {
        PermissionClass::Read
    }

    fn describe(&self, args: &Value, _cwd: &std::path::Path) -> CallView {
        crate::tools::task_view(args)
    }

    async fn run(&self, _c: Arc<ToolContext>, _a: Value, _x: CancellationToken) -> ToolOutput {
        ToolOutput::err("Task can only run inside a turn")
    }

    async fn run_scoped(
        &self,
        _ctx: Arc<ToolContext>,
        args: Value,
        cancel: CancellationToken,
        scope: CallScope,
    ) -> ToolOutput {
        let run = match self.prepare(&args, &scope).await {
            Ok(r) => r,
            Err(e) => return ToolOutput::err(e),
        };
        if args.get("run_in_background").and_then(Value::as_bool) == Some(true) {
            // It outlives this turn: its steps are not this turn's events.
            let mut run = run;
            run.progress = None;
            let id = self.background.start(run);
            return ToolOutput::ok(format!(
                "Started the subagent in the background as task {id}. Its answer comes with a later message; TaskOutput with task_id {id} reads it sooner."
            ));
        }
        match run.go(&cancel).await {
            Ok(text) => ToolOutput::ok(text),
            Err(e) => ToolOutput::err(e),
        }
    }
}
