//! Slash commands, front-end neutral: the [`table`] of commands, the parser, and [`run`], which
//! talks to the backend and returns an [`Outcome`] as data. The chat view draws an outcome with
//! ratatui; the plain REPL prints it as text.

mod export;
mod mcp;
mod parse;
mod run;
pub mod table;

pub use parse::{Cmd, Local, Parsed, parse};
pub use run::{run, switch};

use std::sync::{Arc, Mutex};

use crate::backend::Backend;
use crate::permissions::{Checker, PermissionMode};
use crate::protocol::{Block, Compaction, ContextWindow, LettaMessage, SearchHit};
use crate::session::Session;
use crate::tools::ToolCallInfo;

/// A bare `exit` or `quit` typed alone leaves, as in Letta Code (not sent to the agent).
pub fn is_bare_exit(text: &str) -> bool {
    matches!(text.trim(), "exit" | "quit")
}

/// What a command produced.
#[derive(Debug, Clone)]
pub enum Outcome {
    Info(String),
    /// The agent now has this name (the status line shows it).
    AgentRenamed {
        name: String,
        id: String,
    },
    Error(String),
    /// The conversation in use now has this title (the status line shows it).
    ConversationRenamed(String),
    /// A model was chosen for `scope` ("the agent" or "this conversation"); it replaces the
    /// session's `-m` override.
    ModelSet {
        handle: String,
        scope: &'static str,
    },
    /// Continue in another conversation.
    Switch(Box<Switch>),
    /// Messages that matched a search.
    Hits {
        query: String,
        hits: Vec<SearchHit>,
        /// Why the hits come from searching here rather than on the server.
        fallback: Option<String>,
    },
    /// The agent's memory blocks.
    Memory(Vec<Block>),
    Compacted(Compaction),
    Context(ContextWindow),
    Permissions(PermissionsView),
}

/// A move to another conversation: what to say, its recent messages, and what it waits on.
#[derive(Debug, Clone)]
pub struct Switch {
    pub session: Session,
    /// The confirmation ("Forked conversation …").
    pub note: String,
    /// Its newest messages, oldest first.
    pub messages: Vec<LettaMessage>,
    /// Older messages around a search hit, shown before the newest ones (oldest first).
    pub earlier: Vec<LettaMessage>,
    /// Why the messages could not be loaded, if they could not.
    pub load_error: Option<String>,
    /// Calls it was left waiting on (a crash): offered again.
    pub pending: Vec<ToolCallInfo>,
    /// The agent changed: its name and model, for the status line.
    pub agent: Option<AgentInfo>,
    /// Its name for the status line, and the "Now in …" line printed after its history.
    pub place: crate::session::place::Place,
    /// Text to put in the input (the message a branch was cut before).
    pub draft: Option<String>,
}

/// The agent a switch moved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentInfo {
    /// "name (id)".
    pub label: String,
    pub model: Option<String>,
}

/// The permission mode and rules in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionsView {
    pub mode: PermissionMode,
    /// What enforces the rules for commands (the OS sandbox, or parsing).
    pub enforcement: String,
    /// (allow | ask | deny, the rule, where it came from).
    pub rules: Vec<(&'static str, String, String)>,
}

/// The context a command runs in.
#[derive(Clone)]
pub struct Ctx {
    pub backend: Arc<dyn Backend>,
    pub session: Session,
    pub checker: Arc<Mutex<Checker>>,
    /// The project folder (new agents are named after it).
    pub cwd: std::path::PathBuf,
    /// The session's MCP servers (`/mcp`).
    pub mcp: crate::mcp::McpManager,
    /// The user's hooks (`/hooks`, `PreCompact`).
    pub hooks: Arc<crate::hooks::Hooks>,
}
