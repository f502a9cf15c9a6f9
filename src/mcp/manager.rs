//! The session's MCP servers: started in the background so the prompt never waits, watched,
//! reconnected on request, and offered to the model as tools once ready.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::client::{self, CallError, ListedTool, Session, StderrTail};
use super::config::{DEFAULT_TIMEOUT_SECS, Entry, Loaded, Scope};
use crate::protocol::ClientTool;
use crate::tools::{
    Access, CallView, Effect, PermissionClass, Tool, ToolContext, ToolOutput, ToolSource,
};

/// How long a server may take to start and list its tools, unless `MCP_TIMEOUT` (in
/// milliseconds, as Claude Code reads it) says otherwise.
fn startup_timeout() -> Duration {
    std::env::var("MCP_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(30), |ms| {
            Duration::from_millis(ms.clamp(100, 600_000))
        })
}

/// Where a server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Connecting,
    Ready,
    Failed(String),
    /// Configured but not started, and why (an untrusted folder).
    NotStarted(String),
}

/// A server as the viewers show it.
#[derive(Debug, Clone)]
pub struct ServerView {
    pub name: String,
    pub scope: Scope,
    pub file: PathBuf,
    pub target: String,
    pub status: Status,
    /// (tool name as the model sees it, description).
    pub tools: Vec<(String, String)>,
}

struct Server {
    entry: Entry,
    status: Status,
    /// Its tools, kept when it fails so a call to one says why it cannot run.
    tools: Vec<Arc<dyn Tool>>,
    session: Option<Session>,
    /// A stdio server's process, killed when dropped.
    child: Option<client::Child>,
    stderr: StderrTail,
    generation: u64,
}

struct Shared {
    servers: Mutex<Vec<Server>>,
    project: PathBuf,
    changed: watch::Sender<u64>,
    /// Configuration that could not be read, shown by `/mcp` and `letta mcp list`.
    problems: Vec<String>,
}

impl Shared {
    fn bump(&self) {
        self.changed.send_modify(|n| *n += 1);
    }
}

/// The session's MCP servers. Cheap to clone.
#[derive(Clone)]
pub struct McpManager {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for McpManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpManager").finish_non_exhaustive()
    }
}

impl McpManager {
    /// Start every configured server in the background (inside a tokio runtime). Servers
    /// from the project's files start only in a trusted folder.
    pub fn start(loaded: Loaded, project: PathBuf, trusted: bool) -> Self {
        let servers = loaded
            .servers
            .into_iter()
            .map(|entry| Server {
                status: if entry.scope.from_project() && !trusted {
                    Status::NotStarted(format!(
                        "{} is in a folder you have not trusted; run letta here and trust it",
                        entry.file.display()
                    ))
                } else {
                    Status::Connecting
                },
                entry,
                tools: Vec::new(),
                session: None,
                child: None,
                stderr: StderrTail::default(),
                generation: 0,
            })
            .collect();
        let m = Self {
            shared: Arc::new(Shared {
                servers: Mutex::new(servers),
                project,
                changed: watch::channel(0).0,
                problems: loaded.problems,
            }),
        };
        let names: Vec<String> = m
            .views()
            .into_iter()
            .filter(|v| v.status == Status::Connecting)
            .map(|v| v.name)
            .collect();
        for n in names {
            m.spawn_connect(&n, 0);
        }
        m
    }

    /// No servers at all.
    pub fn none() -> Self {
        Self::start(Loaded::default(), PathBuf::new(), false)
    }

    /// Ticks whenever a server's status changes.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.shared.changed.subscribe()
    }

    pub fn problems(&self) -> &[String] {
        &self.shared.problems
    }

    /// Every server, in configuration order.
    pub fn views(&self) -> Vec<ServerView> {
        let Ok(servers) = self.shared.servers.lock() else {
            return Vec::new();
        };
        servers
            .iter()
            .map(|s| ServerView {
                name: s.entry.name.clone(),
                scope: s.entry.scope,
                file: s.entry.file.clone(),
                target: s.entry.config.target(),
                status: s.status.clone(),
                tools: s
                    .tools
                    .iter()
                    .map(|t| (t.name().to_string(), t.definition().description))
                    .collect(),
            })
            .collect()
    }

    /// A few words for the status line, or `None` with no servers.
    pub fn summary(&self) -> Option<String> {
        let views = self.views();
        if views.is_empty() {
            return None;
        }
        let count = |f: fn(&Status) -> bool| views.iter().filter(|v| f(&v.status)).count();
        let mut parts = Vec::new();
        let ready = count(|s| *s == Status::Ready);
        if ready > 0 {
            parts.push(format!("{ready} ready"));
        }
        let connecting = count(|s| *s == Status::Connecting);
        if connecting > 0 {
            parts.push(format!("{connecting} connecting…"));
        }
        let failed = count(|s| matches!(s, Status::Failed(_) | Status::NotStarted(_)));
        if failed > 0 {
            parts.push(format!("{failed} not running (/mcp)"));
        }
        Some(format!("MCP {}", parts.join(", ")))
    }

    /// Wait until no server is still connecting (for one-shot runs and tests), at most `max`.
    pub async fn settled(&self, max: Duration) {
        let mut rx = self.changes();
        let _ = tokio::time::timeout(max, async {
            while self.views().iter().any(|v| v.status == Status::Connecting) {
                if rx.changed().await.is_err() {
                    break;
                }
            }
        })
        .await;
    }

    /// Drop the connection to `name` and start it again.
    pub fn reconnect(&self, name: &str) -> Result<(), String> {
        let generation = {
            let Ok(mut servers) = self.shared.servers.lock() else {
                return Err("the MCP servers are unavailable".into());
            };
            let Some(s) = servers.iter_mut().find(|s| s.entry.name == name) else {
                return Err(format!("no MCP server is called {name:?}"));
            };
            if let Status::NotStarted(why) = &s.status {
                return Err(why.clone());
            }
            s.generation += 1;
            s.status = Status::Connecting;
            s.tools.clear();
            s.session = None;
            s.child = None;
            s.stderr = StderrTail::default();
            s.generation
        };
        self.shared.bump();
        self.spawn_connect(name, generation);
        Ok(())
    }

    fn spawn_connect(&self, name: &str, generation: u64) {
        let Some((entry, stderr)) = self.shared.servers.lock().ok().and_then(|s| {
            s.iter()
                .find(|s| s.entry.name == name)
                .map(|s| (s.entry.clone(), s.stderr.clone()))
        }) else {
            return;
        };
        let shared = Arc::downgrade(&self.shared);
        let project = self.shared.project.clone();
        tokio::spawn(async move {
            let limit = startup_timeout();
            let outcome = tokio::time::timeout(limit, async {
                let transport = entry.config.transport()?;
                let (session, child) = client::connect(&transport, &project, &stderr).await?;
                let tools = client::list_tools(&session).await?;
                Ok::<_, String>((session, child, tools))
            })
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "it did not finish starting within {:.1} s",
                    limit.as_secs_f64()
                ))
            });
            let Some(shared) = shared.upgrade() else {
                return;
            };
            finish_connect(&shared, &entry, generation, outcome);
        });
    }
}

fn finish_connect(
    shared: &Arc<Shared>,
    entry: &Entry,
    generation: u64,
    outcome: Result<(Session, Option<client::Child>, Vec<ListedTool>), String>,
) {
    {
        let Ok(mut servers) = shared.servers.lock() else {
            return;
        };
        let Some(s) = servers
            .iter_mut()
            .find(|s| s.entry.name == entry.name && s.generation == generation)
        else {
            return;
        };
        match outcome {
            Ok((session, child, listed)) => {
                s.child = child;
                let timeout = Duration::from_secs(
                    entry.config.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS).max(1),
                );
                s.tools = listed
                    .into_iter()
                    .map(|t| {
                        Arc::new(McpTool::new(
                            &entry.name,
                            generation,
                            t,
                            timeout,
                            Arc::downgrade(shared),
                        )) as Arc<dyn Tool>
                    })
                    .collect();
                s.session = Some(session);
                s.status = Status::Ready;
            }
            Err(e) => s.status = Status::Failed(e),
        }
    }
    shared.bump();
}

/// The name a server's tool has for the model: `mcp__server__tool`, kept to the characters
/// and length model APIs accept.
pub fn tool_name(server: &str, tool: &str) -> String {
    let clean: String = tool
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut full = format!("mcp__{server}__{clean}");
    full.truncate(64);
    full
}

/// One tool of one server.
struct McpTool {
    /// The connection it belongs to: a later one is not failed by this one's errors.
    generation: u64,
    full: String,
    server: String,
    tool: String,
    description: String,
    schema: Value,
    timeout: Duration,
    shared: Weak<Shared>,
}

impl McpTool {
    fn new(
        server: &str,
        generation: u64,
        t: ListedTool,
        timeout: Duration,
        shared: Weak<Shared>,
    ) -> Self {
        let mut schema = t.schema;
        if schema.get("type").is_none()
            && let Some(o) = schema.as_object_mut()
        {
            o.insert("type".into(), "object".into());
        }
        Self {
            generation,
            full: tool_name(server, &t.name),
            server: server.to_string(),
            tool: t.name,
            description: t.description,
            schema,
            timeout,
            shared,
        }
    }

    fn fail_server(&self, why: &str) {
        if let Some(shared) = self.shared.upgrade() {
            if let Ok(mut servers) = shared.servers.lock()
                && let Some(s) = servers
                    .iter_mut()
                    .find(|s| s.entry.name == self.server && s.generation == self.generation)
            {
                s.status = Status::Failed(why.to_string());
                s.session = None;
                s.child = None;
            }
            shared.bump();
        }
    }
}

#[async_trait::async_trait]
impl Tool for McpTool {
    fn name(&self) -> &str {
        &self.full
    }

    fn definition(&self) -> ClientTool {
        ClientTool {
            name: self.full.clone(),
            description: if self.description.is_empty() {
                format!("Tool {} of the MCP server {}.", self.tool, self.server)
            } else {
                self.description.clone()
            },
            parameters: self.schema.clone(),
            extra: Default::default(),
        }
    }

    fn class(&self) -> PermissionClass {
        PermissionClass::External
    }

    fn access(&self, _ctx: &ToolContext, _args: &Value) -> Access {
        Access::of(PermissionClass::External)
    }

    fn describe(&self, args: &Value, _cwd: &std::path::Path) -> CallView {
        crate::tools::mcp_view(&self.full, args).unwrap_or_else(|| CallView {
            verb: self.full.clone(),
            arg: String::new(),
            effect: Effect::Output,
        })
    }

    async fn run(
        &self,
        _ctx: Arc<ToolContext>,
        args: Value,
        cancel: CancellationToken,
    ) -> ToolOutput {
        let state = self.shared.upgrade().and_then(|sh| {
            let servers = sh.servers.lock().ok()?;
            let s = servers.iter().find(|s| s.entry.name == self.server)?;
            Some((
                s.session.as_ref().map(|x| x.peer().clone()),
                s.status.clone(),
            ))
        });
        let Some(peer) = state.as_ref().and_then(|s| s.0.clone()) else {
            let why = match state.map(|s| s.1) {
                Some(Status::Failed(w)) => format!(" ({w})"),
                _ => String::new(),
            };
            return ToolOutput::err(format!(
                "the MCP server {:?} is not connected{why}; the user can reconnect it with /mcp reconnect {}",
                self.server, self.server
            ));
        };
        tokio::select! {
            () = cancel.cancelled() => ToolOutput::err("Interrupted by user"),
            r = client::call(&peer, &self.tool, args, self.timeout) => match r {
                Ok(out) => out,
                Err(CallError::TimedOut(d)) => ToolOutput::err(format!(
                    "the MCP server {:?} did not answer {} within {} s; the call was abandoned",
                    self.server, self.tool, d.as_secs()
                )),
                Err(CallError::Transport(e)) => {
                    let why = format!("the connection broke: {e}");
                    self.fail_server(&why);
                    ToolOutput::err(format!("the MCP server {:?} stopped: {e}", self.server))
                }
            },
        }
    }
}

impl ToolSource for McpManager {
    fn tools(&self) -> Vec<Arc<dyn Tool>> {
        self.shared.servers.lock().map_or_else(
            |_| Vec::new(),
            |s| {
                s.iter()
                    .filter(|s| s.status == Status::Ready)
                    .flat_map(|s| s.tools.iter().cloned())
                    .collect()
            },
        )
    }

    fn find(&self, name: &str) -> Option<Arc<dyn Tool>> {
        let servers = self.shared.servers.lock().ok()?;
        servers
            .iter()
            .flat_map(|s| s.tools.iter())
            .find(|t| t.name() == name)
            .cloned()
    }
}
