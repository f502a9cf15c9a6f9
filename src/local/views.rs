//! Stored rows as the API shows them.

use serde_json::json;

use super::context;
use super::store::{self, AgentRow, ConversationRow, RunRow, Store, StoreResult};
use crate::llm::ChatMessage;
use crate::protocol::*;

/// An agent as the API shows it, with its blocks and in-context message ids.
pub(super) fn agent_json(st: &Store, row: AgentRow) -> StoreResult<Agent> {
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

/// A conversation as the API shows it.
pub(super) fn conversation_json(st: &Store, row: &ConversationRow) -> StoreResult<Conversation> {
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
        parent_conversation_id: row.parent_id.clone(),
        fork_message_id: row.fork_message_id.clone(),
        ..Default::default()
    })
}

/// A run as the API shows it: the conversation by its API id when it still exists.
pub(super) fn run_json(st: &Store, r: RunRow) -> Run {
    let conv = st.get_conversation(&r.conversation_id).ok();
    Run {
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
    }
}

/// How a context window of `max` tokens is spent: tool definitions take `tools`, the rest
/// is estimated from the memory blocks and the provider messages.
pub(super) fn context_window(
    max: u64,
    tools: u64,
    blocks: &[Block],
    messages: &[ChatMessage],
) -> ContextWindow {
    let memory: u64 = blocks
        .iter()
        .map(|b| (b.label.len() + b.value.len()) as u64 / 4 + 8)
        .sum();
    let (mut system, mut summary, mut msgs) = (0, 0, 0);
    for m in messages {
        let t = context::estimate_tokens(std::slice::from_ref(m));
        match m {
            ChatMessage::System(_) => system += t,
            ChatMessage::User(u) if u.starts_with(context::SUMMARY_PREFIX) => summary += t,
            _ => msgs += t,
        }
    }
    let system = system.saturating_sub(memory);
    ContextWindow {
        context_window_size_max: max,
        context_window_size_current: system + memory + tools + summary + msgs,
        num_tokens_system: system,
        num_tokens_core_memory: memory,
        num_tokens_functions_definitions: tools,
        num_tokens_summary_memory: summary,
        num_tokens_messages: msgs,
        num_messages: messages.len() as u64,
        extra: Default::default(),
    }
}
