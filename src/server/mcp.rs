//! `letta mcp serve`: one agent as an MCP server (rmcp's server side), so that Claude Code,
//! Codex or any MCP client shares the agent's memory with `letta` chats. Its tools read and
//! change memory blocks, search all of the agent's history, and run a turn in a named
//! conversation.

use std::net::SocketAddr;
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParam, CallToolResult, Content, Implementation, ListToolsResult,
    PaginatedRequestParam, ServerCapabilities, ServerInfo, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Value, json};

use crate::backend::{Backend, ConversationQuery};
use crate::protocol::{BlockUpdate, CreateConversation, DEFAULT_CONVERSATION, SearchRequest};
use crate::session::Session;
use crate::turn::{NoOneToAsk, TurnDriver, TurnOptions};

/// The agent served, the backend it lives on, and the user's rules for the turns it runs.
#[derive(Clone)]
pub struct AgentService {
    backend: Arc<dyn Backend>,
    agent_id: String,
    rules: Rules,
}

/// What a turn run for a client obeys: the folder's permission rules, sandbox and hooks, as
/// in a session started there. Nobody is there to approve, so what would ask is refused.
#[derive(Clone)]
pub struct Rules {
    pub checker: Arc<std::sync::Mutex<crate::permissions::Checker>>,
    pub tools: Arc<crate::tools::ToolContext>,
    pub hooks: Arc<crate::hooks::Hooks>,
    pub cwd: std::path::PathBuf,
}

fn schema(v: Value) -> Arc<serde_json::Map<String, Value>> {
    Arc::new(v.as_object().cloned().unwrap_or_default())
}

fn tools() -> Vec<Tool> {
    vec![
        Tool::new(
            "memory_read",
            "Read the agent's memory blocks (persona, human, project…): one by label, or all of them.",
            schema(json!({"type": "object", "properties": {
                "label": {"type": "string", "description": "The block to read; omit for all."}}})),
        ),
        Tool::new(
            "memory_update",
            "Replace the text of one of the agent's memory blocks. Every letta chat with this agent sees the change.",
            schema(json!({"type": "object", "properties": {
                "label": {"type": "string", "description": "The block to change, e.g. human or project."},
                "value": {"type": "string", "description": "The block's complete new text."}},
                "required": ["label", "value"]})),
        ),
        Tool::new(
            "conversation_search",
            "Search the text of all of the agent's conversations. Returns matching messages with their conversation and date.",
            schema(json!({"type": "object", "properties": {
                "query": {"type": "string", "description": "Words to look for."},
                "limit": {"type": "integer", "description": "At most this many results (default 10)."}},
                "required": ["query"]})),
        ),
        Tool::new(
            "send_message",
            "Send a message to the agent in a conversation and return its answer. The conversation is named by id or title (a new one is started for an unknown title); without one, the agent's default conversation.",
            schema(json!({"type": "object", "properties": {
                "message": {"type": "string", "description": "What to say."},
                "conversation": {"type": "string", "description": "Conversation id or title."}},
                "required": ["message"]})),
        ),
    ]
}

fn text_arg<'a>(args: &'a serde_json::Map<String, Value>, k: &str) -> Result<&'a str, String> {
    args.get(k)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing string argument {k:?}"))
}

impl AgentService {
    pub fn new(backend: Arc<dyn Backend>, agent_id: String, rules: Rules) -> Self {
        Self {
            backend,
            agent_id,
            rules,
        }
    }

    async fn memory_read(&self, label: Option<&str>) -> Result<String, String> {
        let blocks = self
            .backend
            .list_blocks(&self.agent_id)
            .await
            .map_err(|e| e.to_string())?;
        let chosen: Vec<_> = blocks
            .iter()
            .filter(|b| label.is_none_or(|l| b.label == l))
            .collect();
        if chosen.is_empty() {
            let labels: Vec<&str> = blocks.iter().map(|b| b.label.as_str()).collect();
            return Err(format!(
                "no block {:?}; the agent has: {}",
                label.unwrap_or(""),
                labels.join(", ")
            ));
        }
        Ok(chosen
            .iter()
            .map(|b| format!("<{}>\n{}\n</{}>", b.label, b.value, b.label))
            .collect::<Vec<_>>()
            .join("\n"))
    }

    async fn memory_update(&self, label: &str, value: &str) -> Result<String, String> {
        let current = self
            .backend
            .get_block(&self.agent_id, label)
            .await
            .map_err(|e| e.to_string())?;
        if current.read_only == Some(true) {
            return Err(format!("block {label:?} is read-only"));
        }
        let req = BlockUpdate {
            value: Some(value.to_string()),
            ..Default::default()
        };
        let b = self
            .backend
            .update_block(&self.agent_id, label, req)
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!(
            "Block {:?} now holds {} characters.",
            b.label,
            b.value.chars().count()
        ))
    }

    async fn search(&self, query: &str, limit: u32) -> Result<String, String> {
        let hits = self
            .backend
            .search_messages(SearchRequest {
                query: query.to_string(),
                agent_id: Some(self.agent_id.clone()),
                limit: Some(limit.clamp(1, 100)),
                extra: Default::default(),
            })
            .await
            .map_err(|e| e.to_string())?;
        if hits.is_empty() {
            return Ok(format!("Nothing matched {query:?}."));
        }
        Ok(hits
            .iter()
            .map(|h| {
                format!(
                    "[{} · {} · {}] {}",
                    h.created_at,
                    h.conversation_id,
                    h.role,
                    crate::protocol::without_reminders(&h.text)
                )
            })
            .collect::<Vec<_>>()
            .join("\n"))
    }

    /// The conversation a name stands for: an id, a title, or (unknown title) a new one.
    async fn conversation(&self, name: Option<&str>) -> Result<String, String> {
        let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
            return Ok(DEFAULT_CONVERSATION.to_string());
        };
        if name == DEFAULT_CONVERSATION {
            return Ok(name.to_string());
        }
        if let Ok(c) = self.backend.get_conversation(name).await
            && c.agent_id == self.agent_id
        {
            return Ok(c.id);
        }
        if name.starts_with("conv-") && !name.contains(char::is_whitespace) {
            return Err(format!(
                "no conversation {name} of this agent; name a title to start a new one"
            ));
        }
        let found = self
            .backend
            .list_conversations(ConversationQuery {
                agent_id: Some(self.agent_id.clone()),
                summary_search: Some(name.to_string()),
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?;
        if let Some(c) = found.iter().find(|c| c.summary.as_deref() == Some(name)) {
            return Ok(c.id.clone());
        }
        let c = self
            .backend
            .create_conversation(
                &self.agent_id,
                CreateConversation {
                    summary: Some(name.to_string()),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(c.id)
    }

    async fn send(&self, message: &str, conversation: Option<&str>) -> Result<String, String> {
        if message.trim().is_empty() {
            return Err("message is empty".into());
        }
        let conversation_id = self.conversation(conversation).await?;
        // Nobody is there to approve: calls that would ask are refused; the rules, the
        // sandbox and the hooks of the folder hold.
        let driver = TurnDriver {
            backend: self.backend.clone(),
            tools: self.rules.tools.clone(),
            registry: Arc::new(crate::tools::Registry::builtin()),
            checker: self.rules.checker.clone(),
            approver: Arc::new(NoOneToAsk),
            project_dir: self.rules.cwd.clone(),
            journal: crate::turn::Journal::none(),
            context: Arc::new(crate::session::context::ProjectContext::none()),
            hooks: self.rules.hooks.clone(),
        };
        let session = Session {
            agent_id: self.agent_id.clone(),
            conversation_id: conversation_id.clone(),
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move { while rx.recv().await.is_some() {} });
        let opts = TurnOptions {
            max_steps: Some(50),
            wait_busy: Some(std::time::Duration::from_mins(5)),
            no_text_chunks: true,
            ..Default::default()
        };
        let r = driver
            .run(
                &session,
                message,
                &opts,
                &tx,
                &tokio_util::sync::CancellationToken::new(),
            )
            .await
            .map_err(|e| e.to_string())?;
        if r.is_error() {
            return Err(r.errors.join("; "));
        }
        Ok(format!("{}\n\n(conversation {conversation_id})", r.text))
    }

    async fn dispatch(
        &self,
        name: &str,
        args: serde_json::Map<String, Value>,
    ) -> Result<String, String> {
        match name {
            "memory_read" => match args.get("label") {
                None | Some(Value::Null) => self.memory_read(None).await,
                Some(Value::String(l)) => self.memory_read(Some(l)).await,
                Some(other) => Err(format!("label must be a string, not {other}")),
            },
            "memory_update" => {
                self.memory_update(text_arg(&args, "label")?, text_arg(&args, "value")?)
                    .await
            }
            "conversation_search" => {
                let limit = args.get("limit").and_then(Value::as_u64).unwrap_or(10);
                self.search(text_arg(&args, "query")?, limit as u32).await
            }
            "send_message" => {
                self.send(
                    text_arg(&args, "message")?,
                    args.get("conversation").and_then(Value::as_str),
                )
                .await
            }
            other => Err(format!("unknown tool {other:?}")),
        }
    }

    /// Serve on stdin/stdout until the client closes.
    pub async fn serve_stdio(self) -> std::io::Result<()> {
        let running = self
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let _ = running.waiting().await;
        Ok(())
    }

    /// Serve streamable HTTP at `/mcp`; with a token, every request must carry it.
    pub async fn serve_http(
        self,
        addr: SocketAddr,
        token: Option<String>,
        on_listen: impl FnOnce(SocketAddr),
    ) -> std::io::Result<()> {
        use rmcp::transport::streamable_http_server::{
            StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
        };
        let service = StreamableHttpService::new(
            move || Ok(self.clone()),
            Arc::new(LocalSessionManager::default()),
            StreamableHttpServerConfig::default(),
        );
        let token = token.map(Arc::<str>::from);
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let loopback = local.ip().is_loopback();
        let app =
            axum::Router::new()
                .nest_service("/mcp", service)
                .layer(axum::middleware::from_fn(move |req, next| {
                    check_request(token.clone(), loopback, req, next)
                }));
        on_listen(local);
        let stop =
            super::accept_until_signal(listener, app, 64, std::time::Duration::from_secs(10)).await;
        let _ = stop.send(true);
        Ok(())
    }
}

/// Whether a `Host` header names this machine (a loopback server answers no other name, so
/// a page's DNS rebinding cannot reach it).
fn local_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    matches!(name, "localhost" | "::1") || name.starts_with("127.")
}

async fn check_request(
    token: Option<Arc<str>>,
    loopback: bool,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let host = req
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if loopback && !local_host(host) {
        return (
            axum::http::StatusCode::FORBIDDEN,
            "this server answers only to localhost",
        )
            .into_response();
    }
    // A web page must not reach the agent through the user's browser (DNS rebinding).
    if req.headers().contains_key(axum::http::header::ORIGIN) {
        return (
            axum::http::StatusCode::FORBIDDEN,
            "requests from web pages are refused",
        )
            .into_response();
    }
    if let Some(t) = token {
        let sent = req
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !sent.is_some_and(|s| crate::server::same_secret(s, &t)) {
            return (
                axum::http::StatusCode::UNAUTHORIZED,
                "a bearer token is required",
            )
                .into_response();
        }
    }
    next.run(req).await
}

impl ServerHandler for AgentService {
    fn get_info(&self) -> ServerInfo {
        ServerInfo {
            capabilities: ServerCapabilities::builder().enable_tools().build(),
            server_info: Implementation {
                name: "letta".into(),
                title: Some("letta agent memory".into()),
                version: env!("CARGO_PKG_VERSION").into(),
                icons: None,
                website_url: None,
            },
            instructions: Some(format!(
                "The memory and history of the letta agent {}. Read memory before relying on it; update it when you learn something lasting.",
                self.agent_id
            )),
            ..Default::default()
        }
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParam>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult {
            tools: tools(),
            ..Default::default()
        })
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParam,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let args = request.arguments.unwrap_or_default();
        Ok(match self.dispatch(&request.name, args).await {
            Ok(text) => CallToolResult::success(vec![Content::text(text)]),
            Err(e) => CallToolResult::error(vec![Content::text(e)]),
        })
    }
}
