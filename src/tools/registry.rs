//! The tools of a session, by name. Built-in tools register at start; MCP tools, skills and
//! subagents join later through [`Registry::register`].

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::builtin::BUILTIN;
use super::tool::{Access, CallScope, CallView, Effect, PermissionClass, Tool};
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

/// Tools that come and go while a session runs (an MCP server's, once it is ready): asked
/// afresh at every request, so a server that connects mid-session is offered from then on.
pub trait ToolSource: Send + Sync {
    /// The tools offered to the model now.
    fn tools(&self) -> Vec<Arc<dyn Tool>>;

    /// A tool by name, also one not offered now (its server went away), so that a call
    /// gets that tool's own explanation.
    fn find(&self, name: &str) -> Option<Arc<dyn Tool>> {
        self.tools().into_iter().find(|t| t.name() == name)
    }
}

/// A source's tools, only those of some names.
struct Only {
    inner: Arc<dyn ToolSource>,
    keep: Arc<[String]>,
}

impl ToolSource for Only {
    fn tools(&self) -> Vec<Arc<dyn Tool>> {
        self.inner
            .tools()
            .into_iter()
            .filter(|t| self.keep.iter().any(|k| k == t.name()))
            .collect()
    }

    fn find(&self, name: &str) -> Option<Arc<dyn Tool>> {
        self.keep
            .iter()
            .any(|k| k == name)
            .then(|| self.inner.find(name))
            .flatten()
    }
}

/// The tools a session offers the model.
#[derive(Clone)]
pub struct Registry {
    tools: Vec<Arc<dyn Tool>>,
    sources: Vec<Arc<dyn ToolSource>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
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
            sources: Vec::new(),
        }
    }

    /// Add a tool, replacing one of the same name.
    pub fn register(&mut self, tool: Arc<dyn Tool>) {
        match self.tools.iter().position(|t| t.name() == tool.name()) {
            Some(i) => self.tools[i] = tool,
            None => self.tools.push(tool),
        }
    }

    /// Only the tools named in `keep` (a subagent's list), the changing ones (MCP) included.
    #[must_use]
    pub fn only(&self, keep: &[String]) -> Self {
        let keep: Arc<[String]> = keep.into();
        Self {
            tools: self
                .tools
                .iter()
                .filter(|t| keep.iter().any(|k| k == t.name()))
                .cloned()
                .collect(),
            sources: self
                .sources
                .iter()
                .map(|s| {
                    Arc::new(Only {
                        inner: s.clone(),
                        keep: keep.clone(),
                    }) as Arc<dyn ToolSource>
                })
                .collect(),
        }
    }

    /// All tools but those named in `drop`.
    #[must_use]
    pub fn without(&self, drop: &[&str]) -> Self {
        let mut r = self.clone();
        r.tools.retain(|t| !drop.contains(&t.name()));
        r
    }

    /// Offer the tools of `source` too, after the fixed ones (which win on a name clash).
    #[must_use]
    pub fn with_source(mut self, source: Arc<dyn ToolSource>) -> Self {
        self.sources.push(source);
        self
    }

    /// Every tool offered now.
    pub fn all(&self) -> Vec<Arc<dyn Tool>> {
        let mut out = self.tools.clone();
        for s in &self.sources {
            for t in s.tools() {
                if !out.iter().any(|o| o.name() == t.name()) {
                    out.push(t);
                }
            }
        }
        out
    }

    pub fn get(&self, name: &str) -> Option<Arc<dyn Tool>> {
        if let Some(t) = self.tools.iter().find(|t| t.name() == name) {
            return Some(t.clone());
        }
        self.sources.iter().find_map(|s| s.find(name))
    }

    pub fn names(&self) -> Vec<String> {
        self.all().iter().map(|t| t.name().to_string()).collect()
    }

    /// What is sent as `client_skills`.
    pub fn client_skills(&self) -> Vec<crate::protocol::ClientSkill> {
        self.all().iter().flat_map(|t| t.client_skills()).collect()
    }

    /// The schemas sent as `client_tools`.
    pub fn definitions(&self) -> Vec<ClientTool> {
        self.all().iter().map(|t| t.definition()).collect()
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
    pub fn rule_family(&self, name: &str) -> String {
        self.get(name)
            .map_or_else(|| name.to_string(), |t| t.rule_family().to_string())
    }

    /// Run one call; `arguments` is the model's JSON text.
    pub async fn run(
        &self,
        ctx: &Arc<ToolContext>,
        name: &str,
        arguments: &str,
        cancel: &CancellationToken,
    ) -> ToolOutput {
        self.run_scoped(ctx, name, arguments, cancel, CallScope::default())
            .await
    }

    /// [`Registry::run`], telling the tool where the call runs.
    pub async fn run_scoped(
        &self,
        ctx: &Arc<ToolContext>,
        name: &str,
        arguments: &str,
        cancel: &CancellationToken,
        scope: CallScope,
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
            Some(t) => t.run_scoped(ctx.clone(), args, cancel.clone(), scope).await,
            None => ToolOutput::err(format!(
                "unknown tool {name:?}; available: {}",
                self.names().join(", ")
            )),
        }
    }
}

/// How a call shows on screen. Built-in tools describe themselves, an MCP tool shows its
/// server, tool and first arguments, and any other tool its name.
pub fn describe(call: &ToolCallInfo, cwd: &Path) -> CallView {
    match BUILTIN.iter().find(|t| t.name() == call.name) {
        Some(t) => t.describe(&call.args(), cwd),
        None if call.name == "Task" => task_view(&call.args()),
        None => mcp_view(&call.name, &call.args()).unwrap_or_else(|| CallView {
            verb: call.name.clone(),
            arg: String::new(),
            effect: Effect::Output,
        }),
    }
}

/// A subagent's call: `Task(explore · Find the config)`.
pub fn task_view(args: &Value) -> CallView {
    CallView {
        verb: "Task".into(),
        arg: format!(
            "{} · {}",
            super::str_arg(args, "subagent_type"),
            super::str_arg(args, "description")
        ),
        effect: Effect::Output,
    }
}

/// `mcp__server__tool` with `{"a": 1}` shows as `server · tool(a: 1)`.
pub fn mcp_view(name: &str, args: &Value) -> Option<CallView> {
    let (server, tool) = name.strip_prefix("mcp__")?.split_once("__")?;
    let arg = args
        .as_object()
        .map(|o| {
            o.iter()
                .take(3)
                .map(|(k, v)| match v {
                    Value::String(s) => format!("{k}: {s:?}"),
                    other => format!("{k}: {other}"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    Some(CallView {
        verb: format!("{server} · {tool}"),
        arg: super::cap_text(&arg, 120),
        effect: Effect::Output,
    })
}
