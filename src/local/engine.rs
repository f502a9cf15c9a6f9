//! The embedded engine as a [`Backend`]: the same semantics as a Letta server, in-process.

use std::sync::Arc;

use async_trait::async_trait;

use super::context;
use super::hub::Hub;
use super::prompt;
use super::store::agents::AgentChanges;
use super::store::{self, AgentRow, ConversationRow, Handle, Store, StoreResult};
use super::views;
use crate::backend::{AgentQuery, Backend, BackendError, ChunkStream, ConversationQuery, Result};
use crate::llm::ProviderRegistry;
use crate::protocol::*;

/// Context window assumed when neither agent nor provider says.
pub(super) const DEFAULT_CONTEXT_WINDOW: u64 = 128_000;
/// How long a model may send nothing before its answer is stopped, unless set.
pub const DEFAULT_STREAM_IDLE: std::time::Duration = std::time::Duration::from_mins(2);
/// Steps per run unless the request says otherwise.
pub const DEFAULT_MAX_STEPS: u32 = 50;

/// The embedded engine.
#[derive(Clone)]
pub struct Engine {
    pub(super) store: Handle,
    pub(super) providers: ProviderRegistry,
    pub(super) hub: Arc<Hub>,
    pub(super) default_model: Option<String>,
    /// How long a model may send nothing before its answer is stopped.
    pub(super) stream_idle: std::time::Duration,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("providers", &self.providers)
            .finish()
    }
}

impl Engine {
    /// An engine over `store`, calling models through `providers`. The store moves to its
    /// own threads, so a slow database never blocks the async runtime.
    pub fn new(store: Store, providers: ProviderRegistry, default_model: Option<String>) -> Self {
        Self {
            store: Handle::new(store),
            providers,
            hub: Arc::new(Hub::default()),
            default_model,
            stream_idle: DEFAULT_STREAM_IDLE,
        }
    }

    /// The same engine, with another limit on a model's silence.
    #[must_use]
    pub fn with_stream_idle(mut self, idle: std::time::Duration) -> Self {
        self.stream_idle = idle;
        self
    }

    /// Run `f` on the reader thread: lists, gets and search.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> StoreResult<T> + Send + 'static,
    ) -> Result<T> {
        self.store.read(f).await.map_err(BackendError::from)
    }

    /// Run `f` on the writer thread: anything that writes, with the reads it depends on.
    pub(super) async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> StoreResult<T> + Send + 'static,
    ) -> Result<T> {
        self.store.write(f).await.map_err(BackendError::from)
    }

    async fn resolve(&self, id: &str, agent_id: Option<&str>) -> Result<ConversationRow> {
        let (id, agent_id) = (id.to_string(), agent_id.map(str::to_string));
        self.read(move |st| st.resolve_conversation(&id, agent_id.as_deref()))
            .await
    }

    pub(super) async fn resolve_with_agent(
        &self,
        id: &str,
        agent_id: Option<&str>,
    ) -> Result<(ConversationRow, AgentRow)> {
        let (id, agent_id) = (id.to_string(), agent_id.map(str::to_string));
        self.read(move |st| {
            let c = st.resolve_conversation(&id, agent_id.as_deref())?;
            let a = st.get_agent(&c.agent_id)?;
            Ok((c, a))
        })
        .await
    }

    async fn in_context_count(&self, conversation_id: &str) -> Result<u64> {
        let id = conversation_id.to_string();
        Ok(self.read(move |st| st.message_counts(&id)).await?.1)
    }

    /// Re-attach to a conversation's run: `run_id` if given, else its newest run in this
    /// process. Chunks with `seq_id <= starting_after` are skipped.
    pub async fn conversation_stream(
        &self,
        conversation_id: &str,
        agent_id: Option<&str>,
        run_id: Option<&str>,
        starting_after: Option<i64>,
    ) -> Result<ChunkStream> {
        if let Some(r) = run_id {
            return self.resume_stream(r, starting_after).await;
        }
        let conv = self.resolve(conversation_id, agent_id).await?;
        match self.hub.latest(&conv.id) {
            Some((_, ch)) => Ok(ch.follow(starting_after)),
            None => Err(BackendError::NothingActive(format!(
                "No active runs to resume for conversation {}",
                conv.api_id()
            ))),
        }
    }

    /// Stop: cancel runs in flight and wait (up to `grace`) until they are recorded.
    pub async fn shutdown(&self, grace: std::time::Duration) -> bool {
        self.hub.cancel_all();
        self.hub.wait_idle(grace).await
    }
}

#[async_trait]
impl Backend for Engine {
    fn location(&self) -> String {
        "local".into()
    }

    async fn health(&self) -> Result<Health> {
        Ok(Health {
            version: env!("CARGO_PKG_VERSION").into(),
            status: "ok".into(),
            extra: Default::default(),
        })
    }

    async fn list_models(&self) -> Result<Vec<LlmModel>> {
        let mut out = Vec::new();
        let mut errors = Vec::new();
        for spec in self.providers.specs() {
            let Some(p) = self.providers.provider(&spec.name) else {
                continue;
            };
            match p.list_models().await {
                Ok(models) => out.extend(models.into_iter().map(|m| LlmModel {
                    handle: format!("{}/{}", spec.name, m.id),
                    name: Some(m.id),
                    provider_type: Some(spec.name.clone()),
                    context_window: m.context_window,
                    extra: Default::default(),
                })),
                Err(e) => errors.push(e.to_string()),
            }
        }
        if out.is_empty() && !errors.is_empty() {
            return Err(BackendError::Network(errors.join("; ")));
        }
        if self.providers.is_empty() {
            return Err(BackendError::NoProvider(
                crate::llm::NO_PROVIDER_HELP.into(),
            ));
        }
        Ok(out)
    }

    async fn create_agent(&self, req: CreateAgent) -> Result<Agent> {
        let blocks = match req.memory_blocks {
            Some(b) if !b.is_empty() => b,
            _ => prompt::default_blocks(),
        };
        let changes = AgentChanges {
            name: req.name,
            description: req.description,
            system: Some(
                req.system
                    .unwrap_or_else(|| prompt::BASE_INSTRUCTIONS.to_string()),
            ),
            model: req.model.or_else(|| self.default_model.clone()),
            context_window: req
                .extra
                .get("context_window_limit")
                .and_then(serde_json::Value::as_u64),
        };
        let tags = req.tags.unwrap_or_default();
        self.write(move |st| {
            let row = st.create_agent(changes, tags, blocks)?;
            let conv = store::agents::default_conversation_id(&row.id);
            context::refresh_system(st, &row.id, &conv)?;
            views::agent_json(st, row)
        })
        .await
    }

    async fn get_agent(&self, agent_id: &str) -> Result<Agent> {
        let agent_id = agent_id.to_string();
        self.read(move |st| {
            let row = st.get_agent(&agent_id)?;
            views::agent_json(st, row)
        })
        .await
    }

    async fn list_agents(&self, q: AgentQuery) -> Result<Vec<Agent>> {
        self.read(move |st| {
            let rows = st.list_agents(q.name.as_deref(), &q.page)?;
            rows.into_iter().map(|r| views::agent_json(st, r)).collect()
        })
        .await
    }

    async fn update_agent(&self, agent_id: &str, req: UpdateAgent) -> Result<Agent> {
        let changes = AgentChanges {
            name: req.name,
            description: req.description,
            system: req.system,
            model: req.model,
            context_window: req
                .extra
                .get("context_window_limit")
                .and_then(serde_json::Value::as_u64),
        };
        let agent_id = agent_id.to_string();
        self.write(move |st| {
            let row = st.update_agent(&agent_id, changes)?;
            views::agent_json(st, row)
        })
        .await
    }

    async fn delete_agent(&self, agent_id: &str) -> Result<()> {
        let agent_id = agent_id.to_string();
        self.write(move |st| st.delete_agent(&agent_id)).await
    }

    async fn list_blocks(&self, agent_id: &str) -> Result<Vec<Block>> {
        let agent_id = agent_id.to_string();
        self.read(move |st| st.blocks(&agent_id)).await
    }

    async fn get_block(&self, agent_id: &str, label: &str) -> Result<Block> {
        let (agent_id, label) = (agent_id.to_string(), label.to_string());
        self.read(move |st| st.block(&agent_id, &label)).await
    }

    async fn update_block(&self, agent_id: &str, label: &str, req: BlockUpdate) -> Result<Block> {
        let (agent_id, label) = (agent_id.to_string(), label.to_string());
        self.write(move |st| {
            st.update_block(
                &agent_id,
                &label,
                req.value.as_deref(),
                req.limit,
                req.description.as_deref(),
            )
        })
        .await
    }

    async fn create_conversation(
        &self,
        agent_id: &str,
        req: CreateConversation,
    ) -> Result<Conversation> {
        let agent_id = agent_id.to_string();
        self.write(move |st| {
            let c =
                st.create_conversation(&agent_id, req.summary.as_deref(), req.model.as_deref())?;
            context::refresh_system(st, &agent_id, &c.id)?;
            views::conversation_json(st, &c)
        })
        .await
    }

    async fn get_conversation(&self, id: &str) -> Result<Conversation> {
        let id = id.to_string();
        self.read(move |st| {
            let c = st.get_conversation(&id)?;
            views::conversation_json(st, &c)
        })
        .await
    }

    async fn list_conversations(&self, q: ConversationQuery) -> Result<Vec<Conversation>> {
        self.read(move |st| {
            let rows =
                st.list_conversations(q.agent_id.as_deref(), q.summary_search.as_deref(), &q.page)?;
            rows.iter()
                .map(|c| views::conversation_json(st, c))
                .collect()
        })
        .await
    }

    async fn update_conversation(&self, id: &str, req: UpdateConversation) -> Result<Conversation> {
        let id = id.to_string();
        self.write(move |st| {
            let c = st.update_conversation(&id, req.summary.as_deref(), req.model.as_deref())?;
            views::conversation_json(st, &c)
        })
        .await
    }

    async fn delete_conversation(&self, id: &str) -> Result<()> {
        let id = id.to_string();
        self.write(move |st| st.delete_conversation(&id)).await
    }

    async fn fork_conversation(&self, id: &str, params: ForkParams) -> Result<Conversation> {
        let id = id.to_string();
        // One writer call: the fork copies what it read, with nothing in between.
        self.write(move |st| {
            let src = st.resolve_conversation(&id, params.agent_id.as_deref())?;
            let agent = st.get_agent(&src.agent_id)?;
            let blocks = st.blocks(&agent.id)?;
            let updated = st.memory_updated_at(&agent.id)?;
            let text = prompt::compile(&agent.system, &blocks, updated.as_deref());
            let fork = st.fork_conversation(&src, params.message_id.as_deref(), |mid| {
                context::system_body(mid, &text)
            })?;
            views::conversation_json(st, &fork)
        })
        .await
    }

    async fn export_agent(&self, agent_id: &str) -> Result<crate::protocol::agent_file::AgentFile> {
        let agent_id = agent_id.to_string();
        self.read(move |st| super::agent_file::export(st, &agent_id))
            .await
    }

    async fn import_agent(
        &self,
        file: crate::protocol::agent_file::AgentFile,
    ) -> Result<Vec<String>> {
        self.write(move |st| super::agent_file::import(st, &file))
            .await
    }

    async fn list_messages(
        &self,
        id: &str,
        agent_id: Option<&str>,
        page: ListParams,
    ) -> Result<Vec<LettaMessage>> {
        let (id, agent_id) = (id.to_string(), agent_id.map(str::to_string));
        self.read(move |st| {
            let c = st.resolve_conversation(&id, agent_id.as_deref())?;
            let rows = st.list_messages(&c.id, &page)?;
            Ok(rows.iter().map(super::store::MessageRow::decode).collect())
        })
        .await
    }

    async fn send_message(&self, id: &str, req: SendMessageRequest) -> Result<ChunkStream> {
        self.send(id, req).await
    }

    async fn cancel(&self, id: &str, agent_id: Option<&str>) -> Result<Vec<String>> {
        let conv = self.resolve(id, agent_id).await?;
        let conv_id = conv.id.clone();
        let ids = self.write(move |st| st.request_cancel(&conv_id)).await?;
        self.hub.cancel_conversation(&conv.id);
        if ids.is_empty() && conv.pending_json.is_some() {
            // Nothing runs, but a call waits for an answer that will never come (a closed
            // terminal): cancelling denies it, so the conversation can go on.
            return self.deny_waiting(&conv).await;
        }
        if ids.is_empty() {
            return Err(BackendError::NothingActive(format!(
                "CONFLICT: No active runs to cancel for conversation {}",
                conv.api_id()
            )));
        }
        Ok(ids)
    }

    async fn resume_stream(
        &self,
        run_id: &str,
        starting_after: Option<i64>,
    ) -> Result<ChunkStream> {
        if let Some(ch) = self.hub.get(run_id) {
            Ok(ch.follow(starting_after))
        } else {
            let run_id = run_id.to_string();
            let run = self.read(move |st| st.get_run(&run_id)).await?;
            Err(BackendError::NothingActive(format!(
                "run {} is {} and cannot be re-attached from this process",
                run.id, run.status
            )))
        }
    }

    async fn get_run(&self, run_id: &str) -> Result<Run> {
        let run_id = run_id.to_string();
        self.read(move |st| {
            let r = st.get_run(&run_id)?;
            Ok(views::run_json(st, r))
        })
        .await
    }

    async fn search_messages(&self, req: SearchRequest) -> Result<Vec<SearchHit>> {
        self.read(move |st| {
            st.search_messages(req.agent_id.as_deref(), &req.query, req.limit.unwrap_or(20))
        })
        .await
    }

    async fn compact(&self, conversation_id: &str, agent_id: Option<&str>) -> Result<Compaction> {
        let (conv, agent) = self.resolve_with_agent(conversation_id, agent_id).await?;
        let spec = self.run_spec(&conv, &agent, None, Vec::new(), "compact".into(), None)?;
        let before = self.in_context_count(&conv.id).await?;
        context::compact(&self.store, &conv.agent_id, &conv.id, &spec, true)
            .await
            .map_err(|e| match e {
                context::CompactError::Llm(e) => BackendError::Other(e.to_string()),
                context::CompactError::Store(e) => e.into(),
            })?;
        let after = self.in_context_count(&conv.id).await?;
        Ok(Compaction {
            summary: None,
            num_messages_before: before,
            num_messages_after: after,
            extra: Default::default(),
        })
    }

    async fn context_window(
        &self,
        agent_id: &str,
        conversation_id: Option<&str>,
    ) -> Result<ContextWindow> {
        let id = conversation_id.unwrap_or(DEFAULT_CONVERSATION).to_string();
        let agent_id = agent_id.to_string();
        let (conv, agent, blocks, rows) = self
            .read(move |st| {
                let c = st.resolve_conversation(&id, Some(&agent_id))?;
                let a = st.get_agent(&c.agent_id)?;
                let b = st.blocks(&c.agent_id)?;
                let m = st.context_messages(&c.id)?;
                Ok((c, a, b, m))
            })
            .await?;
        let messages = context::to_chat(&rows);
        // Tool definitions need the provider; without one they are simply not counted.
        let tools = self
            .run_spec(&conv, &agent, None, Vec::new(), "context".into(), None)
            .map_or(0, |s| {
                s.tools
                    .iter()
                    .map(|t| {
                        (t.name.len() + t.description.len() + t.parameters.to_string().len()) as u64
                            / 4
                    })
                    .sum::<u64>()
            });
        let max = agent.context_window.unwrap_or(DEFAULT_CONTEXT_WINDOW);
        Ok(views::context_window(max, tools, &blocks, &messages))
    }
}
