//! The embedded engine as a [`Backend`]: the same semantics as a Letta server, in-process.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::json;

use super::context;
use super::hub::Hub;
use super::input::{Input, input_rows, parse_input};
use super::prompt;
use super::run::{self, RunSpec};
use super::server_tools;
use super::store::agents::AgentChanges;
use super::store::{self, AgentRow, ConversationRow, Store, StoreError, new_id, now};
use crate::backend::{AgentQuery, Backend, BackendError, ChunkStream, ConversationQuery, Result};
use crate::llm::{ProviderRegistry, ToolSpec};
use crate::protocol::*;

/// Context window assumed when neither agent nor provider says.
const DEFAULT_CONTEXT_WINDOW: u64 = 128_000;
/// Steps per run unless the request says otherwise.
pub const DEFAULT_MAX_STEPS: u32 = 50;

/// The embedded engine.
#[derive(Clone)]
pub struct Engine {
    store: Arc<Mutex<Store>>,
    providers: ProviderRegistry,
    hub: Arc<Hub>,
    default_model: Option<String>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("providers", &self.providers)
            .finish()
    }
}

fn locked(store: &Mutex<Store>) -> Result<std::sync::MutexGuard<'_, Store>> {
    store
        .lock()
        .map_err(|_| BackendError::Store("the store lock was poisoned".into()))
}

impl Engine {
    /// An engine over `store`, calling models through `providers`.
    pub fn new(store: Store, providers: ProviderRegistry, default_model: Option<String>) -> Self {
        Self {
            store: Arc::new(Mutex::new(store)),
            providers,
            hub: Arc::new(Hub::default()),
            default_model,
        }
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Store) -> std::result::Result<T, StoreError>,
    ) -> Result<T> {
        let mut st = locked(&self.store)?;
        f(&mut st).map_err(BackendError::from)
    }

    fn agent_json(&self, st: &Store, row: AgentRow) -> std::result::Result<Agent, StoreError> {
        let blocks = st.blocks(&row.id)?;
        let message_ids = st.context_ids(&store::agents::default_conversation_id(&row.id))?;
        Ok(Agent {
            id: row.id,
            name: row.name,
            description: row.description,
            system: Some(row.system),
            model: row.model,
            embedding: None,
            memory: Some(MemoryView {
                blocks: blocks.clone(),
                extra: Default::default(),
            }),
            blocks: Some(blocks),
            tags: Some(row.tags),
            message_ids: Some(message_ids),
            created_at: Some(row.created_at),
            updated_at: Some(row.updated_at),
            last_run_completion: row.last_run_completion,
            extra: [("agent_type".to_string(), json!("letta_v1_agent"))]
                .into_iter()
                .collect(),
        })
    }

    fn conversation_json(
        st: &Store,
        row: &ConversationRow,
    ) -> std::result::Result<Conversation, StoreError> {
        Ok(Conversation {
            id: row.api_id().to_string(),
            agent_id: row.agent_id.clone(),
            summary: row.summary.clone(),
            in_context_message_ids: Some(st.context_ids(&row.id)?),
            isolated_block_ids: Some(Vec::new()),
            model: row.model.clone(),
            created_at: Some(row.created_at.clone()),
            updated_at: Some(row.updated_at.clone()),
            last_message_at: row.last_message_at.clone(),
            last_run_completion: row.last_run_completion.clone(),
            ..Default::default()
        })
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
        let conv = self.with(|st| st.resolve_conversation(conversation_id, agent_id))?;
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

    fn run_spec(
        &self,
        conv: &ConversationRow,
        agent: &AgentRow,
        override_model: Option<&str>,
        client_tools: Vec<ClientTool>,
        run_id: String,
        max_steps: Option<u32>,
    ) -> Result<RunSpec> {
        let handle = override_model
            .map(str::to_string)
            .or_else(|| conv.model.clone())
            .or_else(|| agent.model.clone())
            .or_else(|| self.default_model.clone())
            .ok_or_else(|| {
                BackendError::NoProvider(format!(
                    "agent {} has no model; pass -m provider/model (e.g. openai/gpt-4.1-mini) or set a default with `letta connect`",
                    agent.id
                ))
            })?;
        let (provider, model) = self
            .providers
            .resolve(&handle)
            .map_err(BackendError::NoProvider)?;
        let mut tools = server_tools::specs();
        for t in client_tools {
            if !tools.iter().any(|s| s.name == t.name) {
                tools.push(ToolSpec {
                    name: t.name,
                    description: t.description,
                    parameters: t.parameters,
                });
            }
        }
        Ok(RunSpec {
            run_id,
            agent_id: agent.id.clone(),
            conversation_id: conv.id.clone(),
            tools,
            provider,
            model,
            context_window: agent.context_window.unwrap_or(DEFAULT_CONTEXT_WINDOW),
            max_steps: max_steps.unwrap_or(DEFAULT_MAX_STEPS).max(1),
        })
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
                .and_then(|v| v.as_u64()),
        };
        self.with(|st| {
            let row = st.create_agent(changes, req.tags.unwrap_or_default(), blocks)?;
            let conv = store::agents::default_conversation_id(&row.id);
            context::refresh_system(st, &row.id, &conv)?;
            self.agent_json(st, row)
        })
    }

    async fn get_agent(&self, agent_id: &str) -> Result<Agent> {
        self.with(|st| {
            let row = st.get_agent(agent_id)?;
            self.agent_json(st, row)
        })
    }

    async fn list_agents(&self, q: AgentQuery) -> Result<Vec<Agent>> {
        self.with(|st| {
            let rows = st.list_agents(q.name.as_deref(), &q.page)?;
            rows.into_iter().map(|r| self.agent_json(st, r)).collect()
        })
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
                .and_then(|v| v.as_u64()),
        };
        self.with(|st| {
            let row = st.update_agent(agent_id, changes)?;
            self.agent_json(st, row)
        })
    }

    async fn delete_agent(&self, agent_id: &str) -> Result<()> {
        self.with(|st| st.delete_agent(agent_id))
    }

    async fn list_blocks(&self, agent_id: &str) -> Result<Vec<Block>> {
        self.with(|st| st.blocks(agent_id))
    }

    async fn get_block(&self, agent_id: &str, label: &str) -> Result<Block> {
        self.with(|st| st.block(agent_id, label))
    }

    async fn update_block(&self, agent_id: &str, label: &str, req: BlockUpdate) -> Result<Block> {
        self.with(|st| {
            st.update_block(
                agent_id,
                label,
                req.value.as_deref(),
                req.limit,
                req.description.as_deref(),
            )
        })
    }

    async fn create_conversation(
        &self,
        agent_id: &str,
        req: CreateConversation,
    ) -> Result<Conversation> {
        self.with(|st| {
            let c =
                st.create_conversation(agent_id, req.summary.as_deref(), req.model.as_deref())?;
            context::refresh_system(st, agent_id, &c.id)?;
            Self::conversation_json(st, &c)
        })
    }

    async fn get_conversation(&self, id: &str) -> Result<Conversation> {
        self.with(|st| {
            let c = st.get_conversation(id)?;
            Self::conversation_json(st, &c)
        })
    }

    async fn list_conversations(&self, q: ConversationQuery) -> Result<Vec<Conversation>> {
        self.with(|st| {
            let rows =
                st.list_conversations(q.agent_id.as_deref(), q.summary_search.as_deref(), &q.page)?;
            rows.iter()
                .map(|c| Self::conversation_json(st, c))
                .collect()
        })
    }

    async fn update_conversation(&self, id: &str, req: UpdateConversation) -> Result<Conversation> {
        self.with(|st| {
            let c = st.update_conversation(id, req.summary.as_deref(), req.model.as_deref())?;
            Self::conversation_json(st, &c)
        })
    }

    async fn delete_conversation(&self, id: &str) -> Result<()> {
        self.with(|st| st.delete_conversation(id))
    }

    async fn fork_conversation(&self, id: &str, params: ForkParams) -> Result<Conversation> {
        self.with(|st| {
            let src = st.resolve_conversation(id, params.agent_id.as_deref())?;
            let agent = st.get_agent(&src.agent_id)?;
            let blocks = st.blocks(&agent.id)?;
            let updated = st.memory_updated_at(&agent.id)?;
            let text = prompt::compile(&agent.system, &blocks, updated.as_deref());
            let fork = st.fork_conversation(&src, params.message_id.as_deref(), |mid| {
                context::system_body(mid, &text)
            })?;
            Self::conversation_json(st, &fork)
        })
    }

    async fn list_messages(
        &self,
        id: &str,
        agent_id: Option<&str>,
        page: ListParams,
    ) -> Result<Vec<LettaMessage>> {
        self.with(|st| {
            let c = st.resolve_conversation(id, agent_id)?;
            let rows = st.list_messages(&c.id, &page)?;
            Ok(rows.iter().map(|r| r.decode()).collect())
        })
    }

    async fn send_message(&self, id: &str, req: SendMessageRequest) -> Result<ChunkStream> {
        let input = parse_input(&req)?;
        let (conv, agent) = self.with(|st| {
            let c = st.resolve_conversation(id, req.agent_id.as_deref())?;
            let a = st.get_agent(&c.agent_id)?;
            Ok((c, a))
        })?;
        let run_id_slot = new_id("run");
        let spec = self.run_spec(
            &conv,
            &agent,
            req.override_model.as_deref(),
            req.client_tools.clone().unwrap_or_default(),
            run_id_slot,
            req.max_steps,
        )?;
        let run = self.with(|st| {
            st.start_run(&agent.id, &conv.id, |tx, run_id| {
                // Re-read inside the lock: another process may have changed the pending state.
                let fresh = tx.query_row("SELECT pending_json FROM conversations WHERE id = ?1", [&conv.id], |r| r.get::<_, Option<String>>(0))?;
                let mut current = conv.clone();
                current.pending_json = fresh;
                if matches!(input, Input::User(_)) && current.pending_json.is_some() {
                    return Err(StoreError::Busy("CONFLICT: Cannot send a new message: The agent is waiting for approval on a tool call. Please approve or deny the pending request before continuing.".into()));
                }
                for r in input_rows(&current, run_id, &input)? {
                    store::messages_insert(tx, &r)?;
                }
                tx.execute("UPDATE conversations SET pending_json = NULL, last_message_at = ?2 WHERE id = ?1", rusqlite::params![conv.id, now()])?;
                Ok(())
            })
        });
        let run = match run {
            Err(BackendError::Busy { message, .. }) if message.contains("waiting for approval") => {
                return Err(BackendError::PendingApproval(message));
            }
            other => other?,
        };
        let spec = RunSpec {
            run_id: run.id.clone(),
            ..spec
        };
        let ch = self.hub.open(&run.id, &conv.id);
        let stream = ch.follow(None);
        let (store, hub, run_id) = (self.store.clone(), self.hub.clone(), run.id.clone());
        tokio::spawn(async move {
            run::drive(store, ch, spec).await;
            hub.retire(&run_id);
        });
        Ok(stream)
    }

    async fn cancel(&self, id: &str, agent_id: Option<&str>) -> Result<Vec<String>> {
        let conv = self.with(|st| st.resolve_conversation(id, agent_id))?;
        let ids = self.with(|st| st.request_cancel(&conv.id))?;
        self.hub.cancel_conversation(&conv.id);
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
        match self.hub.get(run_id) {
            Some(ch) => Ok(ch.follow(starting_after)),
            None => {
                let run = self.with(|st| st.get_run(run_id))?;
                Err(BackendError::NothingActive(format!(
                    "run {} is {} and cannot be re-attached from this process",
                    run.id, run.status
                )))
            }
        }
    }

    async fn get_run(&self, run_id: &str) -> Result<Run> {
        self.with(|st| {
            let r = st.get_run(run_id)?;
            let conv = st.get_conversation(&r.conversation_id).ok();
            Ok(Run {
                id: r.id,
                status: r.status,
                stop_reason: r.stop_reason.map(StopReason::from),
                agent_id: Some(r.agent_id),
                conversation_id: Some(
                    conv.map(|c| c.api_id().to_string())
                        .unwrap_or(r.conversation_id),
                ),
                background: Some(true),
                created_at: Some(r.created_at),
                completed_at: r.completed_at,
                extra: Default::default(),
            })
        })
    }

    async fn search_messages(&self, req: SearchRequest) -> Result<Vec<SearchHit>> {
        self.with(|st| {
            st.search_messages(req.agent_id.as_deref(), &req.query, req.limit.unwrap_or(20))
        })
    }

    async fn compact(&self, conversation_id: &str, agent_id: Option<&str>) -> Result<Compaction> {
        let (conv, agent) = self.with(|st| {
            let c = st.resolve_conversation(conversation_id, agent_id)?;
            let a = st.get_agent(&c.agent_id)?;
            Ok((c, a))
        })?;
        let spec = self.run_spec(&conv, &agent, None, Vec::new(), "compact".into(), None)?;
        let before = self.with(|st| st.message_counts(&conv.id))?.1;
        context::compact(&self.store, &conv.agent_id, &conv.id, &spec, true)
            .await
            .map_err(|e| match e {
                context::CompactError::Llm(e) => BackendError::Other(e.to_string()),
                context::CompactError::Store(e) => e.into(),
            })?;
        let after = self.with(|st| st.message_counts(&conv.id))?.1;
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
        let (conv, agent, blocks, messages) = self.with(|st| {
            let c = st.resolve_conversation(
                conversation_id.unwrap_or(DEFAULT_CONVERSATION),
                Some(agent_id),
            )?;
            let a = st.get_agent(&c.agent_id)?;
            let b = st.blocks(&c.agent_id)?;
            let m = context::build(st, &c.id)?;
            Ok((c, a, b, m))
        })?;
        // Tool definitions need the provider; without one they are simply not counted.
        let tools = self
            .run_spec(&conv, &agent, None, Vec::new(), "context".into(), None)
            .map(|s| {
                s.tools
                    .iter()
                    .map(|t| {
                        (t.name.len() + t.description.len() + t.parameters.to_string().len()) as u64
                            / 4
                    })
                    .sum::<u64>()
            })
            .unwrap_or(0);
        let max = agent.context_window.unwrap_or(DEFAULT_CONTEXT_WINDOW);
        let memory: u64 = blocks
            .iter()
            .map(|b| (b.label.len() + b.value.len()) as u64 / 4 + 8)
            .sum();
        let (mut system, mut summary, mut msgs) = (0, 0, 0);
        for m in &messages {
            let t = context::estimate_tokens(std::slice::from_ref(m));
            match m {
                crate::llm::ChatMessage::System(_) => system += t,
                crate::llm::ChatMessage::User(u) if u.starts_with(context::SUMMARY_PREFIX) => {
                    summary += t
                }
                _ => msgs += t,
            }
        }
        let system = system.saturating_sub(memory);
        Ok(ContextWindow {
            context_window_size_max: max,
            context_window_size_current: system + memory + tools + summary + msgs,
            num_tokens_system: system,
            num_tokens_core_memory: memory,
            num_tokens_functions_definitions: tools,
            num_tokens_summary_memory: summary,
            num_tokens_messages: msgs,
            num_messages: messages.len() as u64,
            extra: Default::default(),
        })
    }
}
