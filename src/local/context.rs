//! What the model sees: the compiled system prompt plus the conversation's in-context messages,
//! summarised when they no longer fit.

use futures_util::StreamExt;
use serde_json::{Value, json};

use super::prompt;
use super::run::RunSpec;
use super::store::{Handle, MessageRow, NewMessage, Store, StoreError, new_id, now};
use crate::llm::{ChatMessage, ChatRequest, LlmError, LlmEvent, ToolCall};
use crate::protocol::{LettaMessage, MessageCommon, SimpleMessage};

/// Recompile the system message from the agent's current memory.
pub fn refresh_system(
    store: &mut Store,
    agent_id: &str,
    conversation_id: &str,
) -> Result<(), StoreError> {
    let agent = store.get_agent(agent_id)?;
    let blocks = store.blocks(agent_id)?;
    let updated = store.memory_updated_at(agent_id)?;
    let text = prompt::compile(&agent.system, &blocks, updated.as_deref());
    store.set_system_message(conversation_id, agent_id, |id| system_body(id, &text))
}

/// The stored JSON of a system message.
pub fn system_body(id: &str, text: &str) -> String {
    let m = LettaMessage::System(SimpleMessage {
        common: MessageCommon {
            id: Some(id.to_string()),
            date: Some(now()),
            ..Default::default()
        },
        content: text.into(),
        extra: Default::default(),
    });
    serde_json::to_string(&m).unwrap_or_default()
}

/// How a summary of compacted messages starts, as the model sees it.
pub const SUMMARY_PREFIX: &str = "Summary of the earlier part of this conversation:";

/// Turn stored in-context messages into provider messages.
pub fn to_chat(rows: &[MessageRow]) -> Vec<ChatMessage> {
    let mut system = Vec::new();
    let mut summaries = Vec::new();
    let mut rest: Vec<ChatMessage> = Vec::new();
    let mut open_step: Option<String> = None;
    let mut names: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for r in rows {
        let Ok(m) = serde_json::from_str::<LettaMessage>(&r.body) else {
            continue;
        };
        let step = m.common().and_then(|c| c.step_id.clone());
        match m {
            LettaMessage::System(s) => system.push(ChatMessage::System(s.content.to_text())),
            LettaMessage::Summary(e) => summaries.push(ChatMessage::User(format!(
                "{SUMMARY_PREFIX}\n{}",
                e.extra.get("summary").and_then(Value::as_str).unwrap_or("")
            ))),
            LettaMessage::User(u) => {
                open_step = None;
                rest.push(ChatMessage::User(u.content.to_text()));
            }
            LettaMessage::Assistant(a) => push_assistant(
                &mut rest,
                &mut open_step,
                step,
                Some(a.content.to_text()),
                None,
            ),
            LettaMessage::ToolCall(c) | LettaMessage::ApprovalRequest(c) => {
                for d in c.calls() {
                    if let (Some(id), Some(name)) = (&d.tool_call_id, &d.name) {
                        names.insert(id.clone(), name.clone());
                    }
                    let call = ToolCall {
                        id: d.tool_call_id.clone().unwrap_or_default(),
                        name: d.name.clone().unwrap_or_default(),
                        arguments: d.arguments.clone().unwrap_or_default(),
                    };
                    push_assistant(&mut rest, &mut open_step, step.clone(), None, Some(call));
                }
            }
            LettaMessage::ToolReturn(t) => {
                open_step = None;
                rest.push(ChatMessage::Tool {
                    tool_call_id: t.tool_call_id.clone().unwrap_or_default(),
                    // Stored returns may not carry the tool's name; their call does.
                    name: t
                        .extra
                        .get("name")
                        .and_then(Value::as_str)
                        .filter(|n| !n.is_empty())
                        .map(str::to_string)
                        .or_else(|| {
                            t.tool_call_id
                                .as_ref()
                                .and_then(|id| names.get(id).cloned())
                        })
                        .unwrap_or_default(),
                    content: t.tool_return.clone().unwrap_or_default(),
                });
            }
            _ => {}
        }
    }
    system.extend(summaries);
    system.extend(rest);
    system
}

fn push_assistant(
    out: &mut Vec<ChatMessage>,
    open_step: &mut Option<String>,
    step: Option<String>,
    text: Option<String>,
    call: Option<ToolCall>,
) {
    let same = step.is_some() && *open_step == step;
    if !same || !matches!(out.last(), Some(ChatMessage::Assistant { .. })) {
        out.push(ChatMessage::Assistant {
            text: String::new(),
            tool_calls: Vec::new(),
        });
        *open_step = step;
    }
    if let Some(ChatMessage::Assistant {
        text: t,
        tool_calls,
    }) = out.last_mut()
    {
        if let Some(x) = text {
            t.push_str(&x);
        }
        tool_calls.extend(call);
    }
}

/// The provider messages of a conversation, as committed when the call starts.
pub async fn load(store: &Handle, conversation_id: &str) -> Result<Vec<ChatMessage>, StoreError> {
    let id = conversation_id.to_string();
    Ok(to_chat(
        &store.read(move |st| st.context_messages(&id)).await?,
    ))
}

/// Rough token estimate: about four characters a token, plus per-message overhead.
pub fn estimate_tokens(messages: &[ChatMessage]) -> u64 {
    messages
        .iter()
        .map(|m| {
            let chars = match m {
                ChatMessage::System(t) | ChatMessage::User(t) => t.len(),
                ChatMessage::Assistant { text, tool_calls } => {
                    text.len()
                        + tool_calls
                            .iter()
                            .map(|c| c.name.len() + c.arguments.len())
                            .sum::<usize>()
                }
                ChatMessage::Tool { content, .. } => content.len(),
            };
            chars as u64 / 4 + 4
        })
        .sum()
}

/// Pending client tool calls, as stored on the conversation.
pub fn pending_to_json(calls: &[ToolCall]) -> String {
    let v: Vec<Value> = calls
        .iter()
        .map(|c| json!({"tool_call_id": c.id, "name": c.name, "arguments": c.arguments}))
        .collect();
    Value::Array(v).to_string()
}

/// The pending calls back from their stored JSON.
pub fn pending_from_json(s: &str) -> Vec<ToolCall> {
    serde_json::from_str::<Vec<Value>>(s)
        .unwrap_or_default()
        .iter()
        .map(|v| ToolCall {
            id: v["tool_call_id"].as_str().unwrap_or("").into(),
            name: v["name"].as_str().unwrap_or("").into(),
            arguments: v["arguments"].as_str().unwrap_or("").into(),
        })
        .collect()
}

/// Why compaction failed.
pub enum CompactError {
    Llm(LlmError),
    Store(StoreError),
}

/// Summarise the oldest messages when the context passes three quarters of the window.
pub async fn compact_if_needed(
    store: &Handle,
    spec: &RunSpec,
    messages: Vec<ChatMessage>,
) -> Result<Vec<ChatMessage>, CompactError> {
    if estimate_tokens(&messages) * 4 <= spec.context_window * 3 {
        return Ok(messages);
    }
    compact(store, &spec.agent_id, &spec.conversation_id, spec, false).await?;
    load(store, &spec.conversation_id)
        .await
        .map_err(CompactError::Store)
}

/// Summarise the older half of the context into one summary message. Returns evicted count.
pub async fn compact(
    store: &Handle,
    agent_id: &str,
    conversation_id: &str,
    spec: &RunSpec,
    force: bool,
) -> Result<usize, CompactError> {
    let id = conversation_id.to_string();
    let rows = store
        .read(move |st| st.context_messages(&id))
        .await
        .map_err(CompactError::Store)?;
    let body: Vec<&MessageRow> = rows
        .iter()
        .filter(|r| r.message_type != "system_message" && r.message_type != "summary_message")
        .collect();
    // Cut before a user message so tool calls stay with their results; keep the newest half.
    let half = body.len() / 2;
    let Some(cut) = (1..=half.max(1).min(body.len())).rev().find(|&i| {
        body.get(i)
            .is_some_and(|r| r.message_type == "user_message")
    }) else {
        return Ok(0);
    };
    if cut < 2 && !force {
        return Ok(0);
    }
    let old: Vec<MessageRow> = rows
        .iter()
        .filter(|r| r.message_type == "summary_message")
        .cloned()
        .chain(body[..cut].iter().map(|r| (*r).clone()))
        .collect();
    let transcript: String = to_chat(&old)
        .iter()
        .map(|m| match m {
            ChatMessage::User(t) => format!("user: {t}\n"),
            ChatMessage::Assistant { text, tool_calls } => {
                let calls: Vec<String> = tool_calls
                    .iter()
                    .map(|c| format!("{}({})", c.name, c.arguments))
                    .collect();
                format!("assistant: {text} {}\n", calls.join(" "))
            }
            ChatMessage::Tool { name, content, .. } => {
                format!(
                    "tool {name}: {}\n",
                    content.chars().take(500).collect::<String>()
                )
            }
            ChatMessage::System(_) => String::new(),
        })
        .collect();
    let req = ChatRequest {
        model: spec.model.clone(),
        messages: vec![
            ChatMessage::System("You write short, factual summaries of conversations between a user and a coding agent. Keep names, decisions, file paths and open tasks.".into()),
            ChatMessage::User(format!("Summarise this earlier part of the conversation:\n\n{transcript}")),
        ],
        tools: Vec::new(),
        max_tokens: Some(1024),
        temperature: None,
    };
    let mut stream = spec.provider.stream(req).await.map_err(CompactError::Llm)?;
    let mut summary = String::new();
    while let Some(ev) = stream.next().await {
        if let LlmEvent::Text(t) = ev.map_err(CompactError::Llm)? {
            summary.push_str(&t);
        }
    }
    let id = new_id("message");
    let mut extra = crate::protocol::Extra::new();
    extra.insert("summary".into(), json!(summary));
    extra.insert("evicted_message_count".into(), json!(old.len()));
    let m = LettaMessage::Summary(crate::protocol::EventMessage {
        common: MessageCommon {
            id: Some(id.clone()),
            date: Some(now()),
            ..Default::default()
        },
        extra,
    });
    let row = NewMessage {
        id,
        conversation_id: conversation_id.into(),
        agent_id: agent_id.into(),
        message_type: "summary_message".into(),
        body: serde_json::to_string(&m).unwrap_or_default(),
        text: summary,
        created_at: now(),
        ..Default::default()
    };
    let ids: Vec<String> = old.iter().map(|r| r.id.clone()).collect();
    let evicted = ids.len();
    let id = conversation_id.to_string();
    store
        .write(move |st| {
            st.append_messages(&[row])?;
            st.evict(&id, &ids)
        })
        .await
        .map_err(CompactError::Store)?;
    Ok(evicted)
}
