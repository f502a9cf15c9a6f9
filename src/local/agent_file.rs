//! The engine's side of Agent Files: an agent written out with file-local ids (`agent-0`,
//! `message-5`), and a file read back in under fresh ids, every conversation, fork lineage
//! and message included. Exporting what was imported gives the same file.

use std::collections::HashMap;

use serde_json::json;

use super::store::agents::AgentRow;
use super::store::transfer::{NewAgent, NewConversation};
use super::store::{NewMessage, Store, StoreError, StoreResult, new_id, now};
use crate::protocol::agent_file::{
    AfAgent, AfBlock, AfConversation, AgentFile, from_file, to_file,
};
use crate::protocol::{Block, DEFAULT_CONVERSATION, LettaMessage};

/// An agent as an Agent File.
pub fn export(st: &Store, agent_id: &str) -> StoreResult<AgentFile> {
    let d = st.dump_agent(agent_id)?;
    let mut msg_ids: HashMap<String, String> = HashMap::new();
    let mut conv_ids: HashMap<String, String> = HashMap::new();
    let mut agent = AfAgent {
        id: "agent-0".into(),
        name: d.agent.name.clone(),
        system: d.agent.system.clone(),
        agent_type: Some("letta_v1_agent".into()),
        description: d.agent.description.clone(),
        tags: d.agent.tags.clone(),
        block_ids: (0..d.blocks.len()).map(|i| format!("block-{i}")).collect(),
        llm_config: d.agent.model.as_ref().map(|h| {
            let (provider, model) = h.split_once('/').unwrap_or(("", h));
            json!({"handle": h, "model": model, "model_endpoint_type": provider,
                   "context_window": d.agent.context_window})
        }),
        ..Default::default()
    };
    let mut convs = Vec::new();
    for (ci, c) in d.conversations.iter().enumerate() {
        let key = if c.row.is_default {
            DEFAULT_CONVERSATION.to_string()
        } else {
            format!("conv-{ci}")
        };
        conv_ids.insert(c.row.api_id().to_string(), key.clone());
        let mut in_context = Vec::new();
        for row in &c.messages {
            let id = format!("message-{}", agent.messages.len());
            let Some(mut m) = to_file(&row.decode(), id.clone()) else {
                continue;
            };
            msg_ids.insert(row.id.clone(), id.clone());
            if row.in_context {
                in_context.push(id);
            }
            m.conversation_id = (!c.row.is_default).then(|| key.clone());
            agent.messages.push(m);
        }
        if c.row.is_default {
            agent.in_context_message_ids = in_context;
        } else {
            convs.push(AfConversation {
                id: key,
                summary: c.row.summary.clone(),
                parent_conversation_id: c.row.parent_id.clone(),
                fork_message_id: c.row.fork_message_id.clone(),
                created_at: Some(c.row.created_at.clone()),
                in_context_message_ids: in_context,
                model: c.row.model.clone(),
                extra: Default::default(),
            });
        }
    }
    // Lineage points at conversations and messages by their new names; one that is gone
    // (its parent was deleted) is dropped.
    for c in &mut convs {
        c.parent_conversation_id = c
            .parent_conversation_id
            .take()
            .and_then(|p| conv_ids.get(&p).cloned());
        c.fork_message_id = c
            .fork_message_id
            .take()
            .and_then(|m| msg_ids.get(&m).cloned());
    }
    agent.conversations = convs;
    let blocks = d
        .blocks
        .into_iter()
        .enumerate()
        .map(|(i, b)| AfBlock {
            id: format!("block-{i}"),
            label: b.label,
            value: b.value,
            limit: b.limit,
            description: b.description,
            read_only: b.read_only,
            extra: Default::default(),
        })
        .collect();
    Ok(AgentFile {
        agents: vec![agent],
        blocks,
        ..Default::default()
    })
}

/// Searchable text of a message, as the engine indexes what it writes itself.
fn text_of(m: &LettaMessage) -> String {
    match m {
        LettaMessage::User(s) | LettaMessage::Assistant(s) => s.content.to_text(),
        LettaMessage::Reasoning(r) => r.reasoning.clone(),
        LettaMessage::ToolReturn(r) => r.tool_return.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

/// Create the file's agents; their new ids. Tools in the file are not taken: the engine's
/// agents have its own.
pub fn import(st: &mut Store, file: &AgentFile) -> StoreResult<Vec<String>> {
    if file.agents.is_empty() {
        return Err(StoreError::Invalid("the agent file holds no agents".into()));
    }
    crate::protocol::agent_file::check(file).map_err(StoreError::Invalid)?;
    let plans: Vec<NewAgent> = file
        .agents
        .iter()
        .map(|a| plan(a, file))
        .collect::<StoreResult<_>>()?;
    let mut ids = Vec::new();
    for p in plans {
        st.load_agent(&p)?;
        ids.push(p.agent.id);
    }
    Ok(ids)
}

/// The agent's blocks from the file's list, under fresh ids.
fn blocks_of(a: &AfAgent, file: &AgentFile) -> StoreResult<Vec<Block>> {
    a.block_ids
        .iter()
        .map(|bid| {
            let b = file.blocks.iter().find(|b| b.id == *bid).ok_or_else(|| {
                StoreError::Invalid(format!(
                    "agent {} names block {bid}, which the file does not hold",
                    a.name
                ))
            })?;
            // Checked here, while planning: no agent of the file is written if one is wrong.
            super::store::agents::check_limit(
                &b.label,
                &b.value,
                b.limit.unwrap_or(super::store::agents::DEFAULT_BLOCK_LIMIT),
            )?;
            Ok(Block {
                id: Some(new_id("block")),
                label: b.label.clone(),
                value: b.value.clone(),
                limit: b.limit,
                description: b.description.clone(),
                read_only: b.read_only,
                extra: Default::default(),
            })
        })
        .collect()
}

fn plan(a: &AfAgent, file: &AgentFile) -> StoreResult<NewAgent> {
    let ts = now();
    let agent_id = new_id("agent");
    let blocks = blocks_of(a, file)?;
    let default_id = super::store::agents::default_conversation_id(&agent_id);
    let mut conv_ids: HashMap<&str, String> = HashMap::new();
    conv_ids.insert(DEFAULT_CONVERSATION, default_id.clone());
    for c in &a.conversations {
        conv_ids.insert(&c.id, new_id("conv"));
    }
    let mut msg_ids: HashMap<&str, String> = HashMap::new();
    let mut last: HashMap<String, String> = HashMap::new();
    let mut messages = Vec::new();
    for m in &a.messages {
        let key = m.conversation_id.as_deref().unwrap_or(DEFAULT_CONVERSATION);
        let conv = conv_ids.get(key).cloned().ok_or_else(|| {
            StoreError::Invalid(format!(
                "message {} belongs to conversation {key}, which the file does not hold",
                m.id
            ))
        })?;
        let listed = match a.conversations.iter().find(|c| c.id == key) {
            Some(c) => &c.in_context_message_ids,
            None => &a.in_context_message_ids,
        };
        let in_context = listed.is_empty() || listed.contains(&m.id);
        for mut lm in from_file(m) {
            let id = new_id("message");
            let date = lm
                .common()
                .and_then(|c| c.date.clone())
                .or_else(|| m.created_at.clone())
                .unwrap_or_else(|| ts.clone());
            if let Some(c) = lm.common_mut() {
                c.id = Some(id.clone());
                c.date = Some(date.clone());
            }
            messages.push((
                NewMessage {
                    id: id.clone(),
                    conversation_id: conv.clone(),
                    agent_id: agent_id.clone(),
                    message_type: lm.message_type().to_string(),
                    body: serde_json::to_string(&lm).unwrap_or_default(),
                    text: text_of(&lm),
                    created_at: date.clone(),
                    ..Default::default()
                },
                in_context,
            ));
            msg_ids.insert(&m.id, id);
            last.insert(conv.clone(), date);
        }
    }
    let mut conversations = vec![NewConversation {
        id: default_id.clone(),
        is_default: true,
        summary: None,
        parent_id: None,
        fork_message_id: None,
        model: None,
        created_at: ts.clone(),
        last_message_at: last.get(&default_id).cloned(),
    }];
    for c in &a.conversations {
        let id = conv_ids.get(c.id.as_str()).cloned().unwrap_or_default();
        conversations.push(NewConversation {
            last_message_at: last.get(&id).cloned(),
            id,
            is_default: false,
            summary: c.summary.clone(),
            model: c.model.clone(),
            parent_id: c.parent_conversation_id.as_deref().and_then(|p| {
                if p == DEFAULT_CONVERSATION {
                    Some(p.to_string())
                } else {
                    conv_ids.get(p).cloned()
                }
            }),
            fork_message_id: c
                .fork_message_id
                .as_deref()
                .and_then(|m| msg_ids.get(m).cloned()),
            created_at: c.created_at.clone().unwrap_or_else(|| ts.clone()),
        });
    }
    Ok(NewAgent {
        agent: AgentRow {
            id: agent_id,
            name: if a.name.trim().is_empty() {
                "imported".into()
            } else {
                a.name.clone()
            },
            description: a.description.clone(),
            system: a.system.clone(),
            model: a.model(),
            context_window: a.context_window(),
            tags: a.tags.clone(),
            created_at: ts.clone(),
            updated_at: ts,
            last_run_completion: None,
        },
        blocks,
        conversations,
        messages,
    })
}
