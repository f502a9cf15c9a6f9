//! Request bodies the client sends (and `letta server` accepts).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Extra, MessageContent};

/// A memory block given when creating an agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockCreate {
    pub label: String,
    #[serde(default)]
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST /v1/agents/`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateAgent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_blocks: Option<Vec<BlockCreate>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_base_tools: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_type: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `PATCH /v1/agents/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateAgent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `PATCH /v1/agents/{id}/core-memory/blocks/{label}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST /v1/conversations/?agent_id=…` (the body is optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateConversation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_settings: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `PATCH /v1/conversations/{id}`.
pub type UpdateConversation = CreateConversation;

/// Query of `POST /v1/conversations/{id}/fork`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ForkParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// Keep in-context messages up to and including this one; all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

/// A tool the client runs itself; the model sees its schema, the client sees its calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientTool {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub parameters: Value,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A skill the client can load, by name (`client_skills`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSkill {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Where its `SKILL.md` is.
    #[serde(default)]
    pub location: String,
}

/// One entry of an approval message: a tool result the client produced, or a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ApprovalDecision {
    /// The client ran the tool; here is what it returned.
    #[serde(rename = "tool")]
    Tool(ToolReturnItem),
    /// Approve (the server runs it) or deny with a reason.
    #[serde(rename = "approval")]
    Approval {
        tool_call_id: String,
        approve: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(flatten)]
        extra: Extra,
    },
}

impl ApprovalDecision {
    /// The tool call this entry answers.
    pub fn tool_call_id(&self) -> &str {
        match self {
            Self::Tool(t) => &t.tool_call_id,
            Self::Approval { tool_call_id, .. } => tool_call_id,
        }
    }
}

/// The result of a client tool, sent back in an approval message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolReturnItem {
    pub tool_call_id: String,
    #[serde(default)]
    pub tool_return: String,
    /// `success` or `error`.
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A user (or system) message of a send. `type` is optional on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserMessageCreate {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default = "user_role")]
    pub role: String,
    #[serde(default)]
    pub content: MessageContent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otid: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The answers to every pending tool call, sent after `requires_approval`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalCreate {
    #[serde(rename = "type")]
    pub kind: String,
    pub approvals: Vec<ApprovalDecision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otid: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One input message of a send: user text, or the answers to pending tool calls.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MessageCreate {
    Message(UserMessageCreate),
    Approval(ApprovalCreate),
}

impl<'de> Deserialize<'de> for MessageCreate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let v = Value::deserialize(d)?;
        let is_approval = v.get("type").and_then(Value::as_str) == Some("approval");
        if is_approval {
            serde_json::from_value(v).map(Self::Approval)
        } else {
            serde_json::from_value(v).map(Self::Message)
        }
        .map_err(D::Error::custom)
    }
}

fn user_role() -> String {
    "user".into()
}

impl MessageCreate {
    /// A user message with a fresh `otid`, shaped as Letta Code sends it.
    pub fn user(text: impl Into<String>) -> Self {
        Self::Message(UserMessageCreate {
            kind: Some("message".into()),
            role: user_role(),
            content: MessageContent::Parts(vec![super::ContentPart::text(text)]),
            otid: Some(uuid::Uuid::new_v4().to_string()),
            extra: Extra::new(),
        })
    }

    /// A user message with `<system-reminder>` text as its own parts before the user's words,
    /// as Letta Code sends them (a real server stores them as they are).
    pub fn user_with_reminders(reminders: &str, text: impl Into<String>) -> Self {
        let mut m = Self::user(text);
        if let Self::Message(u) = &mut m
            && let MessageContent::Parts(parts) = &mut u.content
            && !reminders.is_empty()
        {
            parts.insert(0, super::ContentPart::text(reminders));
        }
        m
    }

    /// An approval message answering every pending call at once.
    pub fn approvals(approvals: Vec<ApprovalDecision>) -> Self {
        Self::Approval(ApprovalCreate {
            kind: "approval".into(),
            approvals,
            otid: Some(uuid::Uuid::new_v4().to_string()),
            extra: Extra::new(),
        })
    }
}

/// The JSON answer of a send with `streaming: false`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LettaResponse {
    #[serde(default)]
    pub messages: Vec<super::LettaMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<super::LettaMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<super::LettaMessage>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST /v1/conversations/{id}/messages`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SendMessageRequest {
    /// Absent when the `input` sugar is used; present but empty is a validation error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<MessageCreate>>,
    /// Sugar some SDKs send instead of `messages`: one user text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<MessageContent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streaming: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_tokens: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_pings: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_tools: Option<Vec<ClientTool>>,
    /// The client's skills, as Letta Code advertises them (the `Skill` tool loads one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_skills: Option<Vec<ClientSkill>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_model: Option<String>,
    /// Only for the `default` conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_steps: Option<u32>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST /v1/runs/{id}/stream` and `/v1/conversations/{id}/stream`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResumeStream {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starting_after: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The words of a search query: runs of letters, digits and `_`. The engine's index matches
/// these, and the browser highlights the same ones.
pub fn search_words(q: &str) -> impl Iterator<Item = &str> {
    q.split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
}

/// `POST /v1/messages/search`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchRequest {
    pub query: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A user message's text without the `<system-reminder>` parts a client (Letta Code) adds.
pub fn without_reminders(text: &str) -> String {
    let mut t = text.to_string();
    while let (Some(a), Some(b)) = (t.find("<system-reminder>"), t.find("</system-reminder>")) {
        if b < a {
            break;
        }
        t.replace_range(a..b + "</system-reminder>".len(), "");
    }
    t.trim().to_string()
}
