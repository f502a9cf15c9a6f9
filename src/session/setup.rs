//! What a front end is handed to run a session, and what it hands back at the end.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{Session, SessionStore};
use crate::permissions::Checker;
use crate::tools::Registry;

/// What the welcome banner shows.
#[derive(Debug, Clone, Default)]
pub struct Banner {
    pub version: String,
    pub agent: String,
    pub model: String,
    pub backend: String,
    pub cwd: String,
    pub conversation: String,
    /// What confines commands, in a few words.
    pub sandbox: String,
    /// The project instruction files the model is given (AGENTS.md, CLAUDE.md), by name.
    pub instructions: String,
}

/// Everything a front end needs to run a session.
pub struct Setup {
    pub backend: Arc<dyn crate::backend::Backend>,
    pub session: Session,
    pub checker: Arc<Mutex<Checker>>,
    /// The tools the model may call (built-ins, and later MCP tools, skills, subagents).
    pub tools: Arc<Registry>,
    pub opts: TurnOptions,
    pub banner: Banner,
    pub cwd: PathBuf,
    pub data_dir: PathBuf,
    /// Where a switch to another conversation is remembered.
    pub store: SessionStore,
    /// The global settings file (agent pins).
    pub settings_file: PathBuf,
    /// Open the conversation browser first (`letta --resume`).
    pub browse: bool,
    /// How commands are confined.
    pub sandbox: super::sandbox::SessionSandbox,
    /// What the model is told about the project (reminders, instruction files).
    pub context: Arc<super::context::ProjectContext>,
    /// The MCP servers, whose tools are in `tools` once they are ready.
    pub mcp: crate::mcp::McpManager,
    /// The user's hooks.
    pub hooks: Arc<crate::hooks::Hooks>,
}

impl Setup {
    /// The context tools run in for this session: its folder, sandbox and withheld secrets.
    pub fn tool_context(&self) -> crate::tools::ToolContext {
        match self.checker.lock() {
            Ok(c) => self.sandbox.tool_context(self.cwd.clone(), &c),
            Err(_) => self
                .sandbox
                .tool_context(self.cwd.clone(), &Checker::default()),
        }
    }
}

/// What the exit summary prints.
#[derive(Debug, Clone)]
pub struct Summary {
    pub duration: Duration,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub agent_id: String,
    /// `None` when the conversation no longer exists (deleted meanwhile).
    pub conversation_id: Option<String>,
}

impl Summary {
    /// The lines printed after the terminal is restored: commands that work as printed.
    pub fn text(&self) -> String {
        let secs = self.duration.as_secs();
        let conv = match self.conversation_id.as_deref() {
            // `default` is every agent's: it needs the agent too.
            Some(crate::protocol::DEFAULT_CONVERSATION) => format!(
                "letta --agent {} --conv {}",
                self.agent_id,
                crate::protocol::DEFAULT_CONVERSATION
            ),
            Some(c) => format!("letta --conv {c}"),
            None => "(it was deleted)".into(),
        };
        format!(
            "Session: {}m {}s · {} tokens in, {} tokens out\nResume this agent:        letta --agent {}\nResume this conversation: {conv}\n",
            secs / 60,
            secs % 60,
            self.tokens_in,
            self.tokens_out,
            self.agent_id,
        )
    }

    /// The conversation to name in the summary: `None` when the backend says it is gone.
    pub async fn still_there(backend: &dyn crate::backend::Backend, id: String) -> Option<String> {
        if id == crate::protocol::DEFAULT_CONVERSATION {
            return Some(id);
        }
        // Asked on the way out: a server that stopped answering must not hold the exit.
        let asked = tokio::time::timeout(
            std::time::Duration::from_secs(3),
            backend.get_conversation(&id),
        )
        .await;
        match asked {
            Ok(Err(crate::backend::BackendError::NotFound(_))) => None,
            _ => Some(id),
        }
    }
}

/// Per-turn options.
#[derive(Debug, Clone, Default)]
pub struct TurnOptions {
    pub override_model: Option<String>,
    /// Limit on agent steps for the whole turn.
    pub max_steps: Option<u32>,
    /// How long to wait for a conversation another session is replying in (instead of
    /// failing at once); `None` fails at once.
    pub wait_busy: Option<std::time::Duration>,
    /// Text deltas go out only as `Assistant`/`Reasoning` events, not also as raw chunks: the
    /// chat view and the REPL need no copy of every token (stream-json prints them).
    pub no_text_chunks: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_only_what_can_be_resumed() {
        let mut s = Summary {
            duration: Duration::from_secs(61),
            tokens_in: 1,
            tokens_out: 2,
            agent_id: "agent-1".into(),
            conversation_id: Some("default".into()),
        };
        assert!(s.text().contains("letta --agent agent-1 --conv default"));
        s.conversation_id = Some("conv-9".into());
        assert!(
            s.text()
                .contains("Resume this conversation: letta --conv conv-9")
        );
        s.conversation_id = None;
        assert!(!s.text().contains("--conv"));
    }
}
