//! The streamed message union, tagged by `message_type`.
//!
//! Decoding never fails on a well-formed JSON object: a type this version does not know becomes
//! [`LettaMessage::Unknown`] with the raw JSON, so newer servers keep working.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::{Extra, MessageContent, OneOrMany, StopReason};

/// Fields every message chunk carries. `seq_id` orders chunks within a run and drives resume.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageCommon {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_err: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

/// Keep-alive; the first one of a stream carries the `run_id`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ping {
    #[serde(flatten)]
    pub common: MessageCommon,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A message with only `content`: user and system messages in history.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SimpleMessage {
    #[serde(flatten)]
    pub common: MessageCommon,
    #[serde(default)]
    pub content: MessageContent,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Assistant text; with token streaming each chunk holds only the new text.
pub type AssistantMessage = SimpleMessage;

/// The model's visible reasoning (a delta when streaming).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReasoningMessage {
    #[serde(flatten)]
    pub common: MessageCommon,
    #[serde(default)]
    pub reasoning: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Reasoning the provider hides; never rendered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HiddenReasoningMessage {
    #[serde(flatten)]
    pub common: MessageCommon,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_reasoning: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One tool call or a fragment of one: `name` comes first, then `arguments` pieces.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCallDelta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A server tool being called.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ToolCallMessage {
    #[serde(flatten)]
    pub common: MessageCommon,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call: Option<ToolCallDelta>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<OneOrMany<ToolCallDelta>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ToolCallMessage {
    /// All calls in this chunk: `tool_calls` when present, else the single `tool_call`.
    pub fn calls(&self) -> Vec<&ToolCallDelta> {
        match (&self.tool_calls, &self.tool_call) {
            (Some(many), _) if !many.as_slice().is_empty() => many.as_slice().iter().collect(),
            (_, Some(one)) => vec![one],
            _ => Vec::new(),
        }
    }
}

/// A client tool call (or one needing approval); same shape as a server tool call.
pub type ApprovalRequestMessage = ToolCallMessage;

/// The result of a tool call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolReturnMessage {
    #[serde(flatten)]
    pub common: MessageCommon,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_return: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The approvals the client sent, as they appear in history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApprovalResponseMessage {
    #[serde(flatten)]
    pub common: MessageCommon,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvals: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approve: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// An error inside a stream (the data of an `event: error` frame, or a chunk).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorMessage {
    #[serde(flatten)]
    pub common: MessageCommon,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Compaction and other notices (`summary_message`, `event_message`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventMessage {
    #[serde(flatten)]
    pub common: MessageCommon,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Token usage of a run, summed over its steps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageStatistics {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
    #[serde(default)]
    pub step_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_tokens: Option<u64>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl UsageStatistics {
    /// Add another step's or run's usage into this one.
    pub fn add(&mut self, other: &UsageStatistics) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.total_tokens += other.total_tokens;
        self.step_count += other.step_count;
        let sum = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        self.cached_input_tokens = sum(self.cached_input_tokens, other.cached_input_tokens);
        self.reasoning_tokens = sum(self.reasoning_tokens, other.reasoning_tokens);
        if other.context_tokens.is_some() {
            self.context_tokens = other.context_tokens;
        }
        if let Some(ids) = &other.run_ids {
            let mine = self.run_ids.get_or_insert_with(Vec::new);
            for id in ids {
                if !mine.contains(id) {
                    mine.push(id.clone());
                }
            }
        }
    }
}

/// One chunk of a stream or one message of a history list.
#[derive(Debug, Clone, PartialEq)]
pub enum LettaMessage {
    Ping(Ping),
    Reasoning(ReasoningMessage),
    HiddenReasoning(HiddenReasoningMessage),
    Assistant(AssistantMessage),
    ToolCall(ToolCallMessage),
    ApprovalRequest(ApprovalRequestMessage),
    ToolReturn(ToolReturnMessage),
    ApprovalResponse(ApprovalResponseMessage),
    User(SimpleMessage),
    System(SimpleMessage),
    Error(ErrorMessage),
    Summary(EventMessage),
    Event(EventMessage),
    StopReason {
        stop_reason: StopReason,
        extra: super::Extra,
    },
    Usage(UsageStatistics),
    /// A `message_type` this version does not know (or none at all), kept as raw JSON.
    Unknown(Value),
}

impl LettaMessage {
    /// The wire tag of this message.
    pub fn message_type(&self) -> &str {
        match self {
            Self::Ping(_) => "ping",
            Self::Reasoning(_) => "reasoning_message",
            Self::HiddenReasoning(_) => "hidden_reasoning_message",
            Self::Assistant(_) => "assistant_message",
            Self::ToolCall(_) => "tool_call_message",
            Self::ApprovalRequest(_) => "approval_request_message",
            Self::ToolReturn(_) => "tool_return_message",
            Self::ApprovalResponse(_) => "approval_response_message",
            Self::User(_) => "user_message",
            Self::System(_) => "system_message",
            Self::Error(_) => "error_message",
            Self::Summary(_) => "summary_message",
            Self::Event(_) => "event_message",
            Self::StopReason { .. } => "stop_reason",
            Self::Usage(_) => "usage_statistics",
            Self::Unknown(v) => v
                .get("message_type")
                .and_then(Value::as_str)
                .unwrap_or("unknown"),
        }
    }

    /// The common chunk fields, for the kinds that have them.
    pub fn common(&self) -> Option<&MessageCommon> {
        match self {
            Self::Ping(m) => Some(&m.common),
            Self::Reasoning(m) => Some(&m.common),
            Self::HiddenReasoning(m) => Some(&m.common),
            Self::Assistant(m) | Self::User(m) | Self::System(m) => Some(&m.common),
            Self::ToolCall(m) | Self::ApprovalRequest(m) => Some(&m.common),
            Self::ToolReturn(m) => Some(&m.common),
            Self::ApprovalResponse(m) => Some(&m.common),
            Self::Error(m) => Some(&m.common),
            Self::Summary(m) | Self::Event(m) => Some(&m.common),
            Self::StopReason { .. } | Self::Usage(_) | Self::Unknown(_) => None,
        }
    }

    /// Mutable access to the common fields (the engine stamps `seq_id` and `run_id`).
    pub fn common_mut(&mut self) -> Option<&mut MessageCommon> {
        match self {
            Self::Ping(m) => Some(&mut m.common),
            Self::Reasoning(m) => Some(&mut m.common),
            Self::HiddenReasoning(m) => Some(&mut m.common),
            Self::Assistant(m) | Self::User(m) | Self::System(m) => Some(&mut m.common),
            Self::ToolCall(m) | Self::ApprovalRequest(m) => Some(&mut m.common),
            Self::ToolReturn(m) => Some(&mut m.common),
            Self::ApprovalResponse(m) => Some(&mut m.common),
            Self::Error(m) => Some(&mut m.common),
            Self::Summary(m) | Self::Event(m) => Some(&mut m.common),
            Self::StopReason { .. } | Self::Usage(_) | Self::Unknown(_) => None,
        }
    }

    /// The chunk's `seq_id`, used to resume a stream without repeating chunks.
    pub fn seq_id(&self) -> Option<i64> {
        self.common().and_then(|c| c.seq_id)
    }

    /// Decode from JSON text. Fails only on invalid JSON or a known type with wrong field types.
    ///
    /// Streamed deltas are decoded straight into their struct (after a cheap look at the tag)
    /// instead of through a `Value`; a stream carries one chunk per token, so this is the hot
    /// path of every client.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        use super::decode::{Tagged, scan_tag};
        fn direct<T: Tagged>(
            text: &str,
            tag: &'static str,
            wrap: fn(T) -> LettaMessage,
        ) -> Option<LettaMessage> {
            T::from_tagged_json(text, tag).ok().map(wrap)
        }
        let fast = match scan_tag(text) {
            Some("assistant_message") => direct(text, "assistant_message", Self::Assistant),
            Some("reasoning_message") => direct(text, "reasoning_message", Self::Reasoning),
            Some("approval_request_message") => {
                direct(text, "approval_request_message", Self::ApprovalRequest)
            }
            Some("tool_call_message") => direct(text, "tool_call_message", Self::ToolCall),
            _ => None,
        };
        match fast {
            Some(m) => Ok(m),
            None => serde_json::from_str(text),
        }
    }
}

fn decode<T: serde::de::DeserializeOwned, E: serde::de::Error>(v: Value) -> Result<T, E> {
    serde_json::from_value(v).map_err(E::custom)
}

impl<'de> Deserialize<'de> for LettaMessage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut v = Value::deserialize(d)?;
        let Some(obj) = v.as_object_mut() else {
            return Err(D::Error::custom("a message must be a JSON object"));
        };
        let tag = match obj.get("message_type") {
            Some(Value::String(s)) => s.clone(),
            _ => return Ok(Self::Unknown(v)),
        };
        // The tag is re-added on encode; removing it keeps `extra` free of duplicates.
        obj.remove("message_type");
        Ok(match tag.as_str() {
            "ping" => Self::Ping(decode(v)?),
            "reasoning_message" => Self::Reasoning(decode(v)?),
            "hidden_reasoning_message" => Self::HiddenReasoning(decode(v)?),
            "assistant_message" => Self::Assistant(decode(v)?),
            "tool_call_message" => Self::ToolCall(decode(v)?),
            "approval_request_message" => Self::ApprovalRequest(decode(v)?),
            "tool_return_message" => Self::ToolReturn(decode(v)?),
            "approval_response_message" => Self::ApprovalResponse(decode(v)?),
            "user_message" => Self::User(decode(v)?),
            "system_message" => Self::System(decode(v)?),
            "error_message" => Self::Error(decode(v)?),
            "summary_message" => Self::Summary(decode(v)?),
            "event_message" => Self::Event(decode(v)?),
            "usage_statistics" => Self::Usage(decode(v)?),
            "stop_reason" => {
                let mut extra: super::Extra = decode(v)?;
                let reason = match extra.remove("stop_reason") {
                    Some(Value::String(s)) => StopReason::from(s),
                    _ => return Err(D::Error::custom("stop_reason chunk without a reason")),
                };
                Self::StopReason {
                    stop_reason: reason,
                    extra,
                }
            }
            _ => {
                obj_restore_tag(&mut v, tag);
                Self::Unknown(v)
            }
        })
    }
}

fn obj_restore_tag(v: &mut Value, tag: String) {
    if let Some(obj) = v.as_object_mut() {
        obj.insert("message_type".into(), Value::String(tag));
    }
}

impl Serialize for LettaMessage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let mut v = match self {
            Self::Ping(m) => serde_json::to_value(m),
            Self::Reasoning(m) => serde_json::to_value(m),
            Self::HiddenReasoning(m) => serde_json::to_value(m),
            Self::Assistant(m) | Self::User(m) | Self::System(m) => serde_json::to_value(m),
            Self::ToolCall(m) | Self::ApprovalRequest(m) => serde_json::to_value(m),
            Self::ToolReturn(m) => serde_json::to_value(m),
            Self::ApprovalResponse(m) => serde_json::to_value(m),
            Self::Error(m) => serde_json::to_value(m),
            Self::Summary(m) | Self::Event(m) => serde_json::to_value(m),
            Self::Usage(m) => serde_json::to_value(m),
            Self::StopReason { stop_reason, extra } => {
                let mut e = extra.clone();
                e.insert("stop_reason".into(), Value::String(stop_reason.to_string()));
                Ok(Value::Object(e))
            }
            Self::Unknown(v) => return v.serialize(s),
        }
        .map_err(S::Error::custom)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert(
                "message_type".into(),
                Value::String(self.message_type().to_string()),
            );
        }
        v.serialize(s)
    }
}
