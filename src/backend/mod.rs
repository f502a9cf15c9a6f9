//! The one interface the client needs from wherever agents live.
//!
//! Two implementations: the embedded engine (`local`) and the REST client (`remote`). Both yield
//! the same chunk stream, so the turn driver and every UI are backend-agnostic.

mod error;

pub use error::BackendError;

use std::pin::Pin;

use async_trait::async_trait;
use futures_util::Stream;

use crate::protocol::{
    Agent, Block, BlockUpdate, Compaction, ContextWindow, Conversation, CreateAgent,
    CreateConversation, ForkParams, Health, LettaMessage, ListParams, LlmModel, Run, SearchHit,
    SearchRequest, SendMessageRequest, UpdateAgent, UpdateConversation,
};

/// A stream of chunks for one run, ending after `stop_reason` and `usage_statistics`.
pub type ChunkStream =
    Pin<Box<dyn Stream<Item = std::result::Result<LettaMessage, BackendError>> + Send>>;

/// Filters for listing agents.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentQuery {
    pub page: ListParams,
    /// Substring of the name.
    pub name: Option<String>,
}

/// Filters for listing an agent's conversations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConversationQuery {
    pub agent_id: Option<String>,
    pub page: ListParams,
    /// Substring of the title.
    pub summary_search: Option<String>,
}

/// Result type of backend calls.
pub type Result<T> = std::result::Result<T, BackendError>;

/// Agents, memory, conversations, messages and runs, in Letta API terms.
///
/// `conversation_id` may be `default`; then `agent_id` says whose default it is.
#[async_trait]
pub trait Backend: Send + Sync {
    /// `local`, or the server's base URL; shown in the banner and used for session keys.
    fn location(&self) -> String;

    async fn health(&self) -> Result<Health>;
    async fn list_models(&self) -> Result<Vec<LlmModel>>;

    async fn create_agent(&self, req: CreateAgent) -> Result<Agent>;
    async fn get_agent(&self, agent_id: &str) -> Result<Agent>;
    async fn list_agents(&self, query: AgentQuery) -> Result<Vec<Agent>>;
    async fn update_agent(&self, agent_id: &str, req: UpdateAgent) -> Result<Agent>;
    async fn delete_agent(&self, agent_id: &str) -> Result<()>;

    async fn list_blocks(&self, agent_id: &str) -> Result<Vec<Block>>;
    async fn get_block(&self, agent_id: &str, label: &str) -> Result<Block>;
    async fn update_block(&self, agent_id: &str, label: &str, req: BlockUpdate) -> Result<Block>;

    async fn create_conversation(
        &self,
        agent_id: &str,
        req: CreateConversation,
    ) -> Result<Conversation>;
    async fn get_conversation(&self, conversation_id: &str) -> Result<Conversation>;
    async fn list_conversations(&self, query: ConversationQuery) -> Result<Vec<Conversation>>;
    async fn update_conversation(
        &self,
        conversation_id: &str,
        req: UpdateConversation,
    ) -> Result<Conversation>;
    async fn delete_conversation(&self, conversation_id: &str) -> Result<()>;
    async fn fork_conversation(
        &self,
        conversation_id: &str,
        params: ForkParams,
    ) -> Result<Conversation>;

    async fn list_messages(
        &self,
        conversation_id: &str,
        agent_id: Option<&str>,
        page: ListParams,
    ) -> Result<Vec<LettaMessage>>;
    /// Start a run; the stream yields its chunks as they happen.
    async fn send_message(
        &self,
        conversation_id: &str,
        req: SendMessageRequest,
    ) -> Result<ChunkStream>;
    /// Cancel the running run of a conversation; returns the cancelled run ids.
    async fn cancel(&self, conversation_id: &str, agent_id: Option<&str>) -> Result<Vec<String>>;
    /// Re-attach to a run, skipping chunks with `seq_id <= starting_after`.
    async fn resume_stream(&self, run_id: &str, starting_after: Option<i64>)
    -> Result<ChunkStream>;
    async fn get_run(&self, run_id: &str) -> Result<Run>;

    async fn search_messages(&self, req: SearchRequest) -> Result<Vec<SearchHit>>;

    /// The agent as a Letta Agent File (`.af`): memory, system prompt, model, messages.
    async fn export_agent(&self, agent_id: &str) -> Result<crate::protocol::agent_file::AgentFile>;
    /// Create the agents of an Agent File; their new ids.
    async fn import_agent(
        &self,
        file: crate::protocol::agent_file::AgentFile,
    ) -> Result<Vec<String>>;

    /// Summarise a conversation's older messages now.
    async fn compact(&self, conversation_id: &str, agent_id: Option<&str>) -> Result<Compaction>;
    /// How the context window of a conversation (`None`: the agent's default) is used.
    async fn context_window(
        &self,
        agent_id: &str,
        conversation_id: Option<&str>,
    ) -> Result<ContextWindow>;
}
