//! LLM providers for the embedded engine. Stream-first: every call yields [`LlmEvent`]s.

mod anthropic;
mod coalesce;
mod error;
pub(crate) mod http;
pub mod local_model;
mod openai;
mod openai_chunk;
mod registry;

pub use anthropic::AnthropicProvider;
pub use coalesce::coalesce;
pub use error::LlmError;
pub use openai::OpenAiProvider;
pub use registry::{NO_PROVIDER_HELP, ProviderKind, ProviderRegistry, ProviderSpec};

use std::pin::Pin;

use async_trait::async_trait;
use futures_util::Stream;
use serde_json::Value;

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: Value,
}

/// A tool call the model made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// JSON text, as the model produced it (it may be invalid).
    pub arguments: String,
}

/// One message of the context sent to the model.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatMessage {
    System(String),
    User(String),
    Assistant {
        text: String,
        tool_calls: Vec<ToolCall>,
    },
    Tool {
        tool_call_id: String,
        name: String,
        content: String,
    },
}

/// A streaming completion request.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The provider's own model id (without the `provider/` prefix).
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub tools: Vec<ToolSpec>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
}

/// Token usage reported by a provider for one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LlmUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_input_tokens: u64,
    pub reasoning_tokens: u64,
}

/// What a provider streams.
#[derive(Debug, Clone, PartialEq)]
pub enum LlmEvent {
    Text(String),
    Reasoning(String),
    /// A tool call starts; `index` identifies it among parallel calls of this response.
    ToolCallStart {
        index: usize,
        id: String,
        name: String,
    },
    ToolCallArgs {
        index: usize,
        delta: String,
    },
    Usage(LlmUsage),
    /// The response is complete; `finish_reason` as the provider said it.
    Done {
        finish_reason: Option<String>,
    },
}

/// A provider's event stream.
pub type LlmStream = Pin<Box<dyn Stream<Item = Result<LlmEvent, LlmError>> + Send>>;

/// A model listed by a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    pub id: String,
    pub context_window: Option<u64>,
}

/// An LLM API.
#[async_trait]
pub trait LlmProvider: Send + Sync {
    /// Start a streaming completion.
    async fn stream(&self, req: ChatRequest) -> Result<LlmStream, LlmError>;
    /// The models this provider offers.
    async fn list_models(&self) -> Result<Vec<ModelInfo>, LlmError>;
}
