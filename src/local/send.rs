//! Sending a message: resolve the model and tools for a run, claim the conversation, and
//! drive the run in a task of its own.

use super::engine::{DEFAULT_CONTEXT_WINDOW, DEFAULT_MAX_STEPS, Engine};
use super::input::{self, parse_input};
use super::run::{self, RunSpec};
use super::server_tools;
use super::store::{AgentRow, ConversationRow, StoreError, new_id};
use crate::backend::{BackendError, ChunkStream, Result};
use crate::llm::ToolSpec;
use crate::protocol::{ClientTool, SendMessageRequest};

impl Engine {
    /// What a run needs: the model (request, conversation, agent, default), tools, limits.
    pub(super) fn run_spec(
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
                    "agent {} has no model; choose one with /model in the chat, or -m provider/model (e.g. openai/gpt-4.1-mini), or set a default with `letta connect`",
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
            idle_timeout: self.stream_idle,
            max_steps: max_steps.unwrap_or(DEFAULT_MAX_STEPS).max(1),
        })
    }

    /// Claim the conversation for a new run and drive it; the stream follows the run.
    pub(super) async fn send(&self, id: &str, req: SendMessageRequest) -> Result<ChunkStream> {
        let input = parse_input(&req)?;
        let (conv, agent) = self.resolve_with_agent(id, req.agent_id.as_deref()).await?;
        let run_id_slot = new_id("run");
        let spec = self.run_spec(
            &conv,
            &agent,
            req.override_model.as_deref(),
            req.client_tools.clone().unwrap_or_default(),
            run_id_slot,
            req.max_steps,
        )?;
        // Claim and drive in a task of their own: if the caller stops waiting (say, while
        // another process holds the write lock), a run it claimed still gets driven.
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (store, hub) = (self.store.clone(), self.hub.clone());
        let conv_id = conv.id.clone();
        tokio::spawn(async move {
            let run = match store
                .write(move |st| input::claim(st, &agent.id, &conv, input))
                .await
            {
                Ok(run) => run,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let spec = RunSpec {
                run_id: run.id.clone(),
                ..spec
            };
            let ch = hub.open(&run.id, &conv_id);
            let _ = tx.send(Ok(ch.follow(None)));
            run::drive(store, ch, spec).await;
            hub.retire(&run.id);
        });
        Ok(rx.await.map_err(|_| StoreError::Stopped)??)
    }
}
