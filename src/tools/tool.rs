//! The [`Tool`] trait: what every client tool says about itself, so that the permission
//! checker, the scheduler and both UIs ask the tool instead of matching on its name. Built-in
//! tools, MCP tools, skills and subagents all join the same registry through it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::{ToolContext, ToolOutput};
use crate::protocol::ClientTool;

/// How a tool touches the machine. Permission modes and rules are decided by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionClass {
    /// Reads only (files, or nothing at all); may run in parallel with other reads.
    Read,
    /// Changes files.
    Write,
    /// Runs programs.
    Execute,
    /// Reaches other machines.
    Network,
    /// Runs in another program (an MCP server's tool): what it touches is not known here.
    External,
}

/// What one call touches: its class, the paths it names, and the command it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub class: PermissionClass,
    /// Absolute paths the call reads or writes.
    pub paths: Vec<PathBuf>,
    /// The shell command, for tools that run one.
    pub command: Option<String>,
}

impl Access {
    /// An access of `class` with no paths and no command.
    pub fn of(class: PermissionClass) -> Self {
        Self {
            class,
            paths: Vec::new(),
            command: None,
        }
    }

    /// Reads only, so it may run beside other reads.
    pub fn is_read(&self) -> bool {
        self.class == PermissionClass::Read
    }
}

/// What a call does, for the UIs to show beyond its title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Its output is what matters.
    Output,
    /// Runs a shell command.
    Runs { command: String },
    /// Replaces text in a file: (old, new) pairs, in order.
    Edits {
        path: String,
        edits: Vec<(String, String)>,
    },
    /// Writes a whole file.
    Writes { path: String, content: String },
    /// Replaces the session's task list.
    Todos,
    /// A plan for the user to approve (`ExitPlanMode`).
    Plan { plan: String },
}

/// How a call is named on screen: `Update(src/main.rs)`, `Bash(ls -la)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallView {
    pub verb: String,
    /// The call's main argument, or empty.
    pub arg: String,
    pub effect: Effect,
}

impl CallView {
    /// `verb(arg)`, or the verb alone. Raw: the UIs neutralise it before display.
    pub fn title(&self) -> String {
        if self.arg.is_empty() {
            self.verb.clone()
        } else {
            format!("{}({})", self.verb, self.arg.replace('\n', " "))
        }
    }
}

/// Progress a long call reports while it runs (a subagent's events), type-erased: the layer
/// that reads it knows what it sent.
pub type Progress = Arc<dyn Fn(Box<dyn std::any::Any + Send>) + Send + Sync>;

/// Where a call runs: the session it belongs to, its id, and where progress goes. Most tools
/// need none of it; the `Task` tool starts its subagent from it.
#[derive(Clone, Default)]
pub struct CallScope {
    pub agent_id: String,
    pub conversation_id: String,
    pub call_id: String,
    pub progress: Option<Progress>,
    /// The turn the call runs in, for tools that start turns of their own (a subagent):
    /// `turn::TurnDriver`, type-erased here.
    pub turn: Option<Arc<dyn std::any::Any + Send + Sync>>,
}

/// A client tool.
#[async_trait]
pub trait Tool: Send + Sync {
    fn name(&self) -> &str;

    /// The schema sent to the model as a client tool.
    fn definition(&self) -> ClientTool;

    fn class(&self) -> PermissionClass;

    /// The tool name whose permission rules also cover this tool: `Edit(src/**)` covers every
    /// file change, `Read(src/**)` every file read.
    fn rule_family(&self) -> &str {
        self.name()
    }

    /// What this call touches. By default: the tool's class and its `file_path` or `path`.
    fn access(&self, ctx: &ToolContext, args: &Value) -> Access {
        let mut a = Access::of(self.class());
        a.paths.extend(
            ["file_path", "path"]
                .iter()
                .find_map(|k| args.get(*k).and_then(Value::as_str))
                .map(|p| ctx.resolve(p)),
        );
        a
    }

    /// Skills this tool loads, advertised to a Letta server as `client_skills`.
    fn client_skills(&self) -> Vec<crate::protocol::ClientSkill> {
        Vec::new()
    }

    /// How a call shows on screen.
    fn describe(&self, _args: &Value, _cwd: &Path) -> CallView {
        CallView {
            verb: self.name().to_string(),
            arg: String::new(),
            effect: Effect::Output,
        }
    }

    /// Run one call. Every failure is an error result the model can read; no tool panics.
    async fn run(
        &self,
        ctx: Arc<ToolContext>,
        args: Value,
        cancel: CancellationToken,
    ) -> ToolOutput;

    /// Run one call knowing where it runs; by default, [`Tool::run`].
    async fn run_scoped(
        &self,
        ctx: Arc<ToolContext>,
        args: Value,
        cancel: CancellationToken,
        _scope: CallScope,
    ) -> ToolOutput {
        self.run(ctx, args, cancel).await
    }
}

/// A string argument, or "".
pub fn str_arg<'a>(args: &'a Value, key: &str) -> &'a str {
    args.get(key).and_then(Value::as_str).unwrap_or("")
}

/// `path` relative to `cwd` when it is inside it.
pub fn relative(path: &str, cwd: &Path) -> String {
    Path::new(path)
        .strip_prefix(cwd)
        .map_or_else(|_| path.to_string(), |p| p.display().to_string())
}

/// Run a synchronous tool on the blocking pool, so reads proceed in parallel and never stall
/// the async runtime.
pub async fn blocking(
    ctx: Arc<ToolContext>,
    args: Value,
    name: &str,
    f: fn(&ToolContext, &Value) -> ToolOutput,
) -> ToolOutput {
    tokio::task::spawn_blocking(move || f(&ctx, &args))
        .await
        .unwrap_or_else(|e| ToolOutput::err(format!("{name} failed: {e}")))
}
