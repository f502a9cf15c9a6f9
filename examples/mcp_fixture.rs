//! An MCP server for letta's tests, written with rmcp's server side: `echo`, `add`, `sleep`
//! (to outlast a timeout), `crash` (to die mid-call) and `env` (what it was given). It serves
//! with `--serve`; `--hang` never finishes starting, `--fail` exits at once.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParam, CallToolResult, Content, ListToolsResult, PaginatedRequestParam,
    ServerCapabilities, ServerInfo, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Value, json};

#[derive(Clone)]
struct Fixture;

fn tool(name: &'static str, description: &'static str, schema: Value) -> Tool {
    Tool::new(
        name,
        description,
        Arc::new(schema.as_object().cloned().unwrap_or_default()),
    )
}

impl ServerHandler for Fixture {
    fn get_info(&self) -> ServerInfo {
        ServerInfo {
            capabilities: ServerCapabilities::builder().enable_tools().build(),
            ..Default::default()
        }
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParam>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let obj = |props: Value| json!({"type": "object", "properties": props});
        Ok(ListToolsResult {
            tools: vec![
                tool(
                    "echo",
                    "Say the text back.",
                    obj(json!({"text": {"type": "string"}})),
                ),
                tool(
                    "add",
                    "Add two numbers.",
                    obj(json!({"a": {"type": "number"}, "b": {"type": "number"}})),
                ),
                tool(
                    "sleep",
                    "Wait some seconds.",
                    obj(json!({"secs": {"type": "number"}})),
                ),
                tool("crash", "Exit at once.", obj(json!({}))),
                tool(
                    "env",
                    "An environment variable of the server.",
                    obj(json!({"name": {"type": "string"}})),
                ),
            ],
            ..Default::default()
        })
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParam,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let args = request.arguments.unwrap_or_default();
        let num = |k: &str| args.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        let text = match request.name.as_ref() {
            "echo" => format!(
                "fixture echo: {}",
                args.get("text").and_then(Value::as_str).unwrap_or("")
            ),
            "add" => format!("{}", num("a") + num("b")),
            "sleep" => {
                tokio::time::sleep(std::time::Duration::from_secs_f64(num("secs"))).await;
                "slept".into()
            }
            "crash" => std::process::exit(3),
            "env" => std::env::var(args.get("name").and_then(Value::as_str).unwrap_or(""))
                .unwrap_or_else(|_| "(unset)".into()),
            other => {
                return Ok(CallToolResult::error(vec![Content::text(format!(
                    "no tool {other}"
                ))]));
            }
        };
        Ok(CallToolResult::success(vec![Content::text(text)]))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if std::env::args().any(|a| a == "--hang") {
        eprintln!("hanging on purpose");
        std::future::pending::<()>().await;
    }
    if std::env::args().any(|a| a == "--fail") {
        eprintln!("fixture: cannot open its database");
        std::process::exit(2);
    }
    // `cargo test --all-targets` runs this too, with no arguments: that is not a client.
    if !std::env::args().any(|a| a == "--serve") {
        eprintln!("mcp_fixture: an MCP server for letta's tests; run it with --serve");
        return;
    }
    let Ok(running) = Fixture.serve(rmcp::transport::stdio()).await else {
        std::process::exit(1);
    };
    let _ = running.waiting().await;
}
