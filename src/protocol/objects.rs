//! Resource objects: agents, blocks, conversations, runs and friends.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Extra, StopReason};

/// A memory block: a labelled, size-limited piece of text compiled into the system prompt.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Block {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The `memory` wrapper some servers put around an agent's blocks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryView {
    #[serde(default)]
    pub blocks: Vec<Block>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A stateful agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<Vec<Block>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_completion: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Agent {
    /// The agent's blocks, from whichever of `blocks` or `memory.blocks` the server filled.
    pub fn all_blocks(&self) -> &[Block] {
        match (&self.blocks, &self.memory) {
            (Some(b), _) if !b.is_empty() => b,
            (_, Some(m)) => &m.blocks,
            (Some(b), None) => b,
            (None, None) => &[],
        }
    }
}

/// One conversation: its own context window and message list over the agent's shared memory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: String,
    #[serde(default)]
    pub agent_id: String,
    /// The title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_context_message_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolated_block_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_settings: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_completion: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window_limit: Option<u64>,
    /// The conversation this one was forked from (our engine's field; a Letta server keeps no
    /// lineage, so the remote client records it on this machine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_conversation_id: Option<String>,
    /// The last message of the parent the fork copied, when the fork was cut at a message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork_message_id: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Conversation {
    /// When it was last active: its last message, or when it was made if it has none (a new
    /// conversation, or a fork on a real Letta server, which leaves `last_message_at` empty).
    pub fn last_active(&self) -> Option<&String> {
        self.last_message_at.as_ref().or(self.created_at.as_ref())
    }
}

/// One execution of the agent loop, started by a send.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<StopReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET /v1/health/`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Health {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub status: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One entry of `GET /v1/models/`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LlmModel {
    /// `provider/model`, what agents and conversations store.
    #[serde(default)]
    pub handle: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A full-text search hit: a message plus where it lives.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    #[serde(default)]
    pub message_id: String,
    #[serde(default)]
    pub agent_id: String,
    #[serde(default)]
    pub conversation_id: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub created_at: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// An error body: `{"detail": …}`. `detail` may be a string or any JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    #[serde(default)]
    pub detail: Value,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ApiErrorBody {
    /// A body with a plain string detail.
    pub fn new(detail: impl Into<String>) -> Self {
        Self {
            detail: Value::String(detail.into()),
            extra: Extra::new(),
        }
    }

    /// The detail as one line of text, whatever its JSON shape.
    pub fn detail_text(&self) -> String {
        match &self.detail {
            Value::String(s) => s.clone(),
            Value::Null => self
                .extra
                .get("error")
                .map(std::string::ToString::to_string)
                .unwrap_or_default(),
            other => other.to_string(),
        }
    }
}

/// The answer of `POST /v1/conversations/{id}/compact`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Compaction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default)]
    pub num_messages_before: u64,
    #[serde(default)]
    pub num_messages_after: u64,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET /v1/agents/{id}/context`: where the context window goes, in tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContextWindow {
    #[serde(default)]
    pub context_window_size_max: u64,
    #[serde(default)]
    pub context_window_size_current: u64,
    #[serde(default)]
    pub num_tokens_system: u64,
    #[serde(default)]
    pub num_tokens_core_memory: u64,
    #[serde(default)]
    pub num_tokens_functions_definitions: u64,
    #[serde(default)]
    pub num_tokens_summary_memory: u64,
    #[serde(default)]
    pub num_tokens_messages: u64,
    #[serde(default)]
    pub num_messages: u64,
    #[serde(flatten)]
    pub extra: Extra,
}
