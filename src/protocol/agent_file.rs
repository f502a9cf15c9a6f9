//! Letta's Agent File (`.af`): an agent's memory blocks, system prompt, model, tools and
//! messages as one JSON document, in the shape Letta's `/v1/agents/{id}/export` writes and
//! `/v1/agents/import` reads. Ids inside a file are local to it (`agent-0`, `message-3`).
//!
//! Letta's format holds one message list per agent (its default conversation). Ours adds
//! `conversations` to an agent and `conversation_id` to a message for the others, with their
//! fork lineage; a Letta server ignores both and keeps the default conversation.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Extra, LettaMessage};

/// A list that a file may also give as `null` (Letta writes `null` for empty lists at times).
fn nullable<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentFile {
    #[serde(default, deserialize_with = "nullable")]
    pub agents: Vec<AfAgent>,
    #[serde(default, deserialize_with = "nullable")]
    pub groups: Vec<Value>,
    #[serde(default, deserialize_with = "nullable")]
    pub blocks: Vec<AfBlock>,
    #[serde(default, deserialize_with = "nullable")]
    pub files: Vec<Value>,
    #[serde(default, deserialize_with = "nullable")]
    pub sources: Vec<Value>,
    #[serde(default, deserialize_with = "nullable")]
    pub tools: Vec<Value>,
    #[serde(default, deserialize_with = "nullable")]
    pub mcp_servers: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AfAgent {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub system: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_type: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub tool_ids: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub block_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm_config: Option<Value>,
    #[serde(default, deserialize_with = "nullable")]
    pub in_context_message_ids: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub messages: Vec<AfMessage>,
    /// Conversations besides the default one (our extension).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "nullable"
    )]
    pub conversations: Vec<AfConversation>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl AfAgent {
    /// The model handle (`provider/model`), from `llm_config` or a top-level `model`.
    pub fn model(&self) -> Option<String> {
        let cfg = self.llm_config.as_ref();
        cfg.and_then(|c| c.get("handle"))
            .and_then(Value::as_str)
            .or_else(|| self.extra.get("model").and_then(Value::as_str))
            .map(str::to_string)
    }

    /// The context window from `llm_config`.
    pub fn context_window(&self) -> Option<u64> {
        self.llm_config
            .as_ref()
            .and_then(|c| c.get("context_window"))
            .and_then(Value::as_u64)
    }
}

/// A memory block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AfBlock {
    pub id: String,
    pub label: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub limit: Option<u64>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub read_only: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A conversation other than the default one (our extension).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AfConversation {
    pub id: String,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_conversation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork_message_id: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub in_context_message_ids: Vec<String>,
    /// The model this conversation uses instead of the agent's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One stored message, in Letta's internal shape (role, content parts, tool calls).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AfMessage {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub id: String,
    pub role: String,
    #[serde(default, deserialize_with = "nullable")]
    pub content: Vec<Value>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub tool_calls: Option<Vec<Value>>,
    #[serde(default)]
    pub tool_call_id: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub tool_returns: Vec<Value>,
    #[serde(default)]
    pub created_at: Option<String>,
    /// The conversation it belongs to; absent for the default one (our extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Whether a file holds together: ids unique, every reference pointing at something in it,
/// roles known, no loop of fork parents. The error names what is wrong and where.
pub fn check(file: &AgentFile) -> Result<(), String> {
    use std::collections::{HashMap, HashSet};
    let mut blocks = HashSet::new();
    for b in &file.blocks {
        if !blocks.insert(b.id.as_str()) {
            return Err(format!("block id {} appears twice", b.id));
        }
    }
    for a in &file.agents {
        let who = format!("agent {} ({})", a.name, a.id);
        for b in &a.block_ids {
            if !blocks.contains(b.as_str()) {
                return Err(format!(
                    "{who} names block {b}, which the file does not hold"
                ));
            }
        }
        let mut convs: HashMap<&str, Option<&str>> = HashMap::new();
        for c in &a.conversations {
            if c.id == super::DEFAULT_CONVERSATION
                || convs
                    .insert(&c.id, c.parent_conversation_id.as_deref())
                    .is_some()
            {
                return Err(format!("{who}: conversation id {} appears twice", c.id));
            }
        }
        let mut msgs = HashSet::new();
        for m in &a.messages {
            if !msgs.insert(m.id.as_str()) {
                return Err(format!("{who}: message id {} appears twice", m.id));
            }
            if let Some(c) = &m.conversation_id
                && !convs.contains_key(c.as_str())
            {
                return Err(format!(
                    "{who}: message {} belongs to conversation {c}, which the file does not hold",
                    m.id
                ));
            }
        }
        let lists = std::iter::once(("the default conversation", &a.in_context_message_ids)).chain(
            a.conversations
                .iter()
                .map(|c| (c.id.as_str(), &c.in_context_message_ids)),
        );
        for (conv, ids) in lists {
            if let Some(bad) = ids.iter().find(|i| !msgs.contains(i.as_str())) {
                return Err(format!(
                    "{who}: {conv} keeps message {bad} in context, which the file does not hold"
                ));
            }
        }
        for c in &a.conversations {
            if let Some(m) = &c.fork_message_id
                && !msgs.contains(m.as_str())
            {
                return Err(format!(
                    "{who}: conversation {} was forked at message {m}, which the file does not hold",
                    c.id
                ));
            }
            // Walk up the parents: each step must exist, and the walk must end.
            let mut at = c.id.as_str();
            for _ in 0..=convs.len() {
                match convs.get(at).copied().flatten() {
                    None => break,
                    Some(p) if p == super::DEFAULT_CONVERSATION => break,
                    Some(p) if convs.contains_key(p) => at = p,
                    Some(p) => {
                        return Err(format!(
                            "{who}: conversation {at} was forked from {p}, which the file does not hold"
                        ));
                    }
                }
                if at == c.id {
                    return Err(format!(
                        "{who}: conversation {} is its own ancestor (a loop of parents)",
                        c.id
                    ));
                }
            }
        }
    }
    Ok(())
}

fn text_part(t: &str) -> Value {
    json!({"type": "text", "text": t})
}

/// A message as the file holds it; `None` for what the file has no place for (pings,
/// errors, approval answers).
pub fn to_file(m: &LettaMessage, id: String) -> Option<AfMessage> {
    let common = m.common();
    let mut out = AfMessage {
        kind: Some("message".into()),
        id,
        created_at: common.and_then(|c| c.date.clone()),
        name: common.and_then(|c| c.name.clone()),
        ..Default::default()
    };
    match m {
        LettaMessage::System(s) | LettaMessage::User(s) | LettaMessage::Assistant(s) => {
            out.role = match m {
                LettaMessage::System(_) => "system",
                LettaMessage::User(_) => "user",
                _ => "assistant",
            }
            .into();
            out.content = vec![text_part(&s.content.to_text())];
        }
        LettaMessage::Reasoning(r) => {
            out.role = "assistant".into();
            out.content =
                vec![json!({"type": "reasoning", "reasoning": r.reasoning, "is_native": true})];
        }
        LettaMessage::ToolCall(t) | LettaMessage::ApprovalRequest(t) => {
            out.role = "assistant".into();
            out.tool_calls = Some(
                t.calls()
                    .into_iter()
                    .map(|c| {
                        json!({"id": c.tool_call_id, "type": "function",
                               "function": {"name": c.name, "arguments": c.arguments}})
                    })
                    .collect(),
            );
        }
        LettaMessage::ToolReturn(r) => {
            let text = r.tool_return.clone().unwrap_or_default();
            out.role = "tool".into();
            out.tool_call_id.clone_from(&r.tool_call_id);
            out.content = vec![text_part(&text)];
            out.tool_returns = vec![json!({
                "tool_call_id": r.tool_call_id,
                "status": r.status.clone().unwrap_or_else(|| "success".into()),
                "func_response": text,
            })];
        }
        _ => return None,
    }
    Some(out)
}

fn texts(parts: &[Value], kind: &str, key: &str) -> Vec<String> {
    parts
        .iter()
        .filter(|p| p.get("type").and_then(Value::as_str) == Some(kind))
        .filter_map(|p| p.get(key).and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

/// A file's message as the messages the API shows (one assistant message may carry
/// reasoning, text and tool calls at once); unknown roles are dropped.
pub fn from_file(m: &AfMessage) -> Vec<LettaMessage> {
    let base = |kind: &str| {
        let mut v = json!({"message_type": kind, "date": m.created_at});
        if let Some(n) = &m.name {
            v["name"] = json!(n);
        }
        v
    };
    let text = texts(&m.content, "text", "text").join("\n");
    let mut out: Vec<Value> = Vec::new();
    match m.role.as_str() {
        "system" | "user" => {
            let mut v = base(if m.role == "system" {
                "system_message"
            } else {
                "user_message"
            });
            v["content"] = json!(text);
            out.push(v);
        }
        "assistant" => {
            for r in texts(&m.content, "reasoning", "reasoning") {
                let mut v = base("reasoning_message");
                v["reasoning"] = json!(r);
                out.push(v);
            }
            if !text.is_empty() {
                let mut v = base("assistant_message");
                v["content"] = json!(text);
                out.push(v);
            }
            for c in m.tool_calls.iter().flatten() {
                let f = c.get("function").cloned().unwrap_or_default();
                let delta = json!({
                    "name": f.get("name"), "arguments": f.get("arguments"),
                    "tool_call_id": c.get("id"),
                });
                let mut v = base("tool_call_message");
                v["tool_call"] = delta.clone();
                v["tool_calls"] = json!([delta]);
                out.push(v);
            }
        }
        "tool" => {
            let ret = m.tool_returns.first();
            let mut v = base("tool_return_message");
            v["tool_call_id"] = json!(m.tool_call_id.clone().or_else(|| {
                ret.and_then(|r| r.get("tool_call_id"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }));
            v["tool_return"] = json!(text);
            v["status"] = ret
                .and_then(|r| r.get("status"))
                .cloned()
                .unwrap_or_else(|| json!("success"));
            out.push(v);
        }
        _ => {}
    }
    out.into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_survive_the_file() {
        let msgs: Vec<LettaMessage> = serde_json::from_value(json!([
            {"message_type": "user_message", "id": "u", "date": "2026-12-01T10:00:00Z", "content": "hi"},
            {"message_type": "reasoning_message", "id": "r", "reasoning": "think"},
            {"message_type": "tool_call_message", "id": "t", "tool_call": {"name": "Read", "arguments": "{\"file_path\":\"a\"}", "tool_call_id": "c1"}},
            {"message_type": "tool_return_message", "id": "x", "tool_call_id": "c1", "tool_return": "body", "status": "success"},
            {"message_type": "assistant_message", "id": "a", "content": "done"}
        ]))
        .unwrap();
        for (i, m) in msgs.iter().enumerate() {
            let f = to_file(m, format!("message-{i}")).unwrap();
            let back = from_file(&f);
            assert_eq!(back.len(), 1, "{f:?}");
            let again = to_file(&back[0], format!("message-{i}")).unwrap();
            assert_eq!(f, again);
        }
    }

    #[test]
    fn a_grouped_letta_message_splits() {
        let m: AfMessage = serde_json::from_value(json!({
            "type": "message", "id": "message-1", "role": "assistant",
            "content": [{"type": "reasoning", "reasoning": "hm"}, {"type": "text", "text": "ok"}],
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "Bash", "arguments": "{}"}}]
        }))
        .unwrap();
        let split = from_file(&m);
        let kinds: Vec<&str> = split.iter().map(LettaMessage::message_type).collect();
        assert_eq!(
            kinds,
            [
                "reasoning_message",
                "assistant_message",
                "tool_call_message"
            ]
        );
    }

    fn file(agent: Value) -> AgentFile {
        serde_json::from_value(
            json!({"agents": [agent], "blocks": [{"id": "block-0", "label": "human"}]}),
        )
        .unwrap()
    }

    #[test]
    fn broken_files_are_named() {
        let msg = |id: &str, role: &str| json!({"id": id, "role": role, "content": []});
        let ok = json!({"id": "agent-0", "name": "a", "block_ids": ["block-0"],
            "messages": [msg("message-0", "user"), {"id": "message-1", "role": "user", "conversation_id": "conv-1"}],
            "in_context_message_ids": ["message-0"],
            "conversations": [{"id": "conv-1", "parent_conversation_id": "default", "fork_message_id": "message-0"},
                              {"id": "conv-2", "parent_conversation_id": "conv-1"}]});
        assert_eq!(check(&file(ok.clone())), Ok(()));
        let broken = |f: &dyn Fn(&mut Value)| {
            let mut a = ok.clone();
            f(&mut a);
            check(&file(a)).unwrap_err()
        };
        let e = broken(&|a| a["messages"][1]["id"] = json!("message-0"));
        assert!(e.contains("message id message-0 appears twice"), "{e}");
        // Roles this client does not take (approval, summary) are passed over, not refused.
        let mut a = ok.clone();
        a["messages"][0]["role"] = json!("approval");
        a["messages"][0]["tool_returns"] = json!(null);
        assert_eq!(check(&file(a)), Ok(()));
        let e = broken(&|a| a["conversations"][0]["parent_conversation_id"] = json!("conv-2"));
        assert!(e.contains("its own ancestor"), "{e}");
        let e = broken(&|a| a["conversations"][1]["parent_conversation_id"] = json!("conv-2"));
        assert!(e.contains("conv-2 is its own ancestor"), "{e}");
        let e = broken(&|a| a["conversations"][1]["parent_conversation_id"] = json!("conv-9"));
        assert!(
            e.contains("forked from conv-9, which the file does not hold"),
            "{e}"
        );
        let e = broken(&|a| a["in_context_message_ids"] = json!(["message-7"]));
        assert!(e.contains("keeps message message-7 in context"), "{e}");
        let e = broken(&|a| a["conversations"][1]["id"] = json!("conv-1"));
        assert!(e.contains("conversation id conv-1 appears twice"), "{e}");
        let e = broken(&|a| a["conversations"][0]["fork_message_id"] = json!("message-9"));
        assert!(e.contains("forked at message message-9"), "{e}");
    }
}
