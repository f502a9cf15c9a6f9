//! MCP (Model Context Protocol) servers as tools, through rmcp, the official Rust SDK: their
//! configuration, one connection each, and the manager that offers their tools to the model as
//! `mcp__server__tool`. The serving side (`letta mcp serve`) is in `server::mcp`.

mod client;
pub mod config;
mod manager;

pub use config::{Entry, Loaded, Scope, ServerConfig, Transport};
pub use manager::{McpManager, ServerView, Status, tool_name};

/// The servers as `/mcp` and `letta mcp list|get` print them: status, what each runs and
/// where it is configured, its tools, and any entry that could not be read.
pub fn listing(views: &[ServerView], problems: &[String], tools: bool) -> String {
    let mut out = String::new();
    if views.is_empty() {
        out.push_str("No MCP servers are configured. Add one with `letta mcp add NAME -- COMMAND ARGS…`, in .mcp.json, or under \"mcpServers\" in settings.\n");
    }
    for v in views {
        let (mark, status) = match &v.status {
            Status::Connecting => ("…", "connecting".to_string()),
            Status::Ready => (
                "●",
                format!(
                    "ready, {} tool{}",
                    v.tools.len(),
                    if v.tools.len() == 1 { "" } else { "s" }
                ),
            ),
            Status::Failed(why) => ("✗", format!("failed: {why}")),
            Status::NotStarted(why) => ("○", format!("not started: {why}")),
        };
        out.push_str(&format!(
            "{mark} {} — {status}\n    {} · {} ({})\n",
            v.name,
            v.target,
            v.scope.name(),
            v.file.display()
        ));
        if tools {
            for (name, desc) in &v.tools {
                let first = desc.lines().next().unwrap_or("");
                out.push_str(&format!(
                    "    {name}  {}\n",
                    crate::tools::cap_text(first, 100)
                ));
            }
        }
    }
    if !problems.is_empty() {
        out.push_str("Entries that could not be used:\n");
        for p in problems {
            out.push_str(&format!("  {p}\n"));
        }
    }
    out
}

/// A status in one word, for machine-readable output.
pub fn status_word(s: &Status) -> &'static str {
    match s {
        Status::Connecting => "connecting",
        Status::Ready => "ready",
        Status::Failed(_) => "failed",
        Status::NotStarted(_) => "not_started",
    }
}
