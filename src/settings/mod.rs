//! Settings files: the global `settings.json` and the per-project `.letta/` files.
//!
//! Files are read as typed structs that keep every key they do not know, so a file written by
//! Letta Code (or edited by hand) keeps its other keys. A file that is not valid JSON is never
//! overwritten: loading fails with its path and the parse error.

pub mod choice;
mod file;
pub mod fsutil;
mod global;
pub mod paths;
mod project;
mod sandbox;
mod update;

pub use choice::{BackendChoice, BackendKind};
pub use paths::Paths;

pub use file::{SettingsError, load_json};
pub use global::{AgentPrefs, GlobalSettings, ProviderConfig};
pub use project::{ProjectSettings, project_local_file, project_shared_file};
pub use sandbox::SandboxSettings;
pub use update::{update, update_async};

use serde::{Deserialize, Serialize};

use crate::protocol::Extra;

/// One remembered session: which agent and conversation were last used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRef {
    #[serde(rename = "agentId")]
    pub agent_id: String,
    #[serde(rename = "conversationId", default = "default_conv")]
    pub conversation_id: String,
    #[serde(flatten)]
    pub extra: Extra,
}

fn default_conv() -> String {
    crate::protocol::DEFAULT_CONVERSATION.to_string()
}

impl SessionRef {
    /// A session for an agent and conversation.
    pub fn new(agent_id: impl Into<String>, conversation_id: impl Into<String>) -> Self {
        Self {
            agent_id: agent_id.into(),
            conversation_id: conversation_id.into(),
            extra: Extra::new(),
        }
    }
}
