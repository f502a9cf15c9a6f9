//! The tools of a session, by name. Built-in tools register at start; MCP tools, skills and
//! subagents join later through [`Registry::register`].

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::builtin::BUILTIN;
use super::tool::{Access, CallView, Effect, PermissionClass, Tool};
use super::{ToolCallInfo, ToolContext, ToolOutput};
use crate::protocol::ClientTool;

/// A tool that a `&'static` built-in stands for.
struct Static(&'static dyn Tool);

#[async_trait::async_trait]
impl Tool for Static {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn definition(&self) -> ClientTool {
        self.0.definition()
    }
    fn class(&self) -> PermissionClass {
        self.0.class()
    }
    fn rule_family(&self) -> &str {
        self.0.rule_family()
    }
    fn access(&self, ctx: &ToolContext, args: &Value) -> Access {
        self.0.access(ctx, args)
    }
    fn describe(&self, args: &Value, cwd: &Path) -> CallView {
        self.0.describe(args, cwd)
    }
    async fn run(
        &self,
        ctx: Arc<ToolContext>,
        args: Value,
        cancel: CancellationToken,
    ) -> ToolOutput {
        self.0.run(ctx, args, cancel).await
    }
}

/// The tools a session offers the model.
#[derive(Clone)]
pub struct Registry {
    tools: Vec<Arc<dyn Tool>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.tools.iter().map(|t| t.name()))
            .finish()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Registry {
    /// The built-in tools.
    pub fn builtin() -> Self {
        Self {
            tools: BUILTIN
                .iter()
                .map(|t| Arc::new(Static(*t)) as Arc<dyn Tool>)
                .collect(),
        }
    }

    /// Add a tool, replacing one of the same name.
    pub fn register(&mut self, tool: Arc<dyn Tool>) {
        match self.tools.iter().position(|t| t.name() == tool.name()) {
            Some(i) => self.tools[i] = tool,
            None => self.tools.push(tool),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Tool>> {
        self.tools.iter().find(|t| t.name() == name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.tools.iter().map(|t| t.name()).collect()
    }

    /// The schemas sent as `client_tools`.
    pub fn definitions(&self) -> Vec<ClientTool> {
        self.tools.iter().map(|t| t.definition()).collect()
    }

    /// What a call touches. A tool this session does not have counts as running a program,
    /// so it always asks.
    pub fn access(&self, ctx: &ToolContext, name: &str, args: &Value) -> Access {
        match self.get(name) {
            Some(t) => t.access(ctx, args),
            None => Access::of(PermissionClass::Execute),
        }
    }

    /// The rule name that also covers `name` (see [`Tool::rule_family`]).
    pub fn rule_family<'a>(&'a self, name: &'a str) -> &'a str {
        self.get(name).map_or(name, |t| t.rule_family())
    }

    /// Run one call; `arguments` is the model's JSON text.
    pub async fn run(
        &self,
        ctx: &Arc<ToolContext>,
        name: &str,
        arguments: &str,
        cancel: &CancellationToken,
    ) -> ToolOutput {
        let args: Value = if arguments.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            match serde_json::from_str(arguments) {
                Ok(v @ Value::Object(_)) => v,
                Ok(_) => {
                    return ToolOutput::err(format!("{name}: arguments must be a JSON object"));
                }
                Err(e) => {
                    return ToolOutput::err(format!("{name}: arguments are not valid JSON ({e})"));
                }
            }
        };
        match self.get(name) {
            Some(t) => t.run(ctx.clone(), args, cancel.clone()).await,
            None => ToolOutput::err(format!(
                "unknown tool {name:?}; available: {}",
                self.names().join(", ")
            )),
        }
    }
}

/// How a call shows on screen. Built-in tools describe themselves; any other tool shows its name.
pub fn describe(call: &ToolCallInfo, cwd: &Path) -> CallView {
    match BUILTIN.iter().find(|t| t.name() == call.name) {
        Some(t) => t.describe(&call.args(), cwd),
        None => CallView {
            verb: call.name.clone(),
            arg: String::new(),
            effect: Effect::Output,
        },
    }
}
