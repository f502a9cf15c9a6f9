//! Serde types that mirror the Letta REST API JSON (see `shared/protocol.md`).
//!
//! The remote client, the local engine and `letta server` share these types, so the wire format
//! is defined once. Every object keeps fields it does not know in `extra`, so nothing a newer
//! server sends is lost or rejected.

pub mod agent_file;
mod content;
mod decode;
mod message;
mod objects;
mod params;
mod request;
pub mod retry;
pub mod sse;
mod stop;

pub use content::{ContentPart, MessageContent, OneOrMany};
pub use message::{
    ApprovalRequestMessage, ApprovalResponseMessage, AssistantMessage, ErrorMessage, EventMessage,
    HiddenReasoningMessage, LettaMessage, MessageCommon, Ping, ReasoningMessage, SimpleMessage,
    ToolCallDelta, ToolCallMessage, ToolReturnMessage, UsageStatistics,
};
pub use objects::{
    Agent, ApiErrorBody, Block, Compaction, ContextWindow, Conversation, Health, LlmModel,
    MemoryView, Run, SearchHit,
};
pub use params::{ListParams, Order};
pub use request::{
    ApprovalCreate, ApprovalDecision, BlockCreate, BlockUpdate, ClientSkill, ClientTool,
    CreateAgent, CreateConversation, ForkParams, LettaResponse, MessageCreate, ResumeStream,
    SearchRequest, SendMessageRequest, ToolReturnItem, UpdateAgent, UpdateConversation,
    UserMessageCreate, search_words, without_reminders,
};
pub use stop::StopReason;

/// A JSON object of fields this version does not model; kept so that re-encoding is lossless.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// The id of every agent's primary history, addressed together with `agent_id`.
pub const DEFAULT_CONVERSATION: &str = "default";
