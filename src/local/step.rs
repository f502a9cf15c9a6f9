//! One step of a run: the model's streamed events turned into Letta chunks as they arrive,
//! then into the rows stored for the step, and server tools run on what it called.

use std::collections::BTreeMap;

use serde_json::json;

use super::run::{Emitter, RunSpec, StepError};
use super::server_tools;
use super::store::{Handle, NewMessage, new_id, now};
use crate::llm::{LlmEvent, LlmUsage};
use crate::protocol::{
    LettaMessage, MessageCommon, MessageContent, ReasoningMessage, SimpleMessage, ToolCallDelta,
    ToolCallMessage, ToolReturnMessage, UsageStatistics,
};

/// A tool call being assembled from deltas.
#[derive(Default)]
pub(super) struct PendingCall {
    pub id: String,
    pub name: String,
    pub args: String,
    msg_id: String,
}

/// What one step has produced so far.
pub(super) struct Step {
    pub id: String,
    assistant_id: String,
    assistant_otid: String,
    reasoning_id: String,
    reasoning_otid: String,
    text: String,
    reasoning: String,
    calls: BTreeMap<usize, PendingCall>,
    usage: LlmUsage,
}

impl Step {
    pub fn new() -> Self {
        Self {
            id: new_id("step"),
            assistant_id: new_id("message"),
            assistant_otid: uuid::Uuid::new_v4().to_string(),
            reasoning_id: new_id("message"),
            reasoning_otid: uuid::Uuid::new_v4().to_string(),
            text: String::new(),
            reasoning: String::new(),
            calls: BTreeMap::new(),
            usage: LlmUsage::default(),
        }
    }

    /// Take in one model event, streaming the chunk it makes.
    pub fn apply(&mut self, em: &mut Emitter, ev: LlmEvent) {
        match ev {
            LlmEvent::Text(t) => {
                self.text.push_str(&t);
                em.emit(LettaMessage::Assistant(SimpleMessage {
                    common: common(&self.assistant_id, &self.assistant_otid, &self.id),
                    content: MessageContent::Text(t),
                    extra: Default::default(),
                }));
            }
            LlmEvent::Reasoning(r) => {
                self.reasoning.push_str(&r);
                em.emit(LettaMessage::Reasoning(ReasoningMessage {
                    common: common(&self.reasoning_id, &self.reasoning_otid, &self.id),
                    reasoning: r,
                    source: Some("reasoner_model".into()),
                    ..Default::default()
                }));
            }
            LlmEvent::ToolCallStart { index, id, name } => {
                let call = self.calls.entry(index).or_default();
                call.id = id;
                call.name.clone_from(&name);
                call.msg_id = new_id("message");
                em.emit(call_chunk(call, &self.id, Some(name), None));
            }
            LlmEvent::ToolCallArgs { index, delta } => {
                let call = self.calls.entry(index).or_default();
                if call.msg_id.is_empty() {
                    call.msg_id = new_id("message");
                }
                call.args.push_str(&delta);
                em.emit(call_chunk(call, &self.id, None, Some(delta)));
            }
            LlmEvent::Usage(u) => self.usage = u,
            LlmEvent::Done { .. } => {}
        }
    }

    /// What the step holds so far, in bytes.
    pub fn bytes(&self) -> usize {
        self.text.len()
            + self.reasoning.len()
            + self.calls.values().map(|c| c.args.len()).sum::<usize>()
    }

    /// Add this step's tokens to the run's usage.
    pub fn add_usage(&self, usage: &mut UsageStatistics) {
        let s = &self.usage;
        usage.prompt_tokens += s.prompt_tokens;
        usage.completion_tokens += s.completion_tokens;
        usage.total_tokens += s.prompt_tokens + s.completion_tokens;
        usage.cached_input_tokens =
            Some(usage.cached_input_tokens.unwrap_or(0) + s.cached_input_tokens);
        usage.reasoning_tokens = Some(usage.reasoning_tokens.unwrap_or(0) + s.reasoning_tokens);
        usage.context_tokens = Some(s.prompt_tokens + s.completion_tokens);
        usage.step_count += 1;
    }

    /// The complete calls; none after a cancel, never half a call.
    pub fn finished_calls(&mut self, cancelled: bool) -> Vec<PendingCall> {
        let calls = std::mem::take(&mut self.calls);
        if cancelled {
            return Vec::new();
        }
        calls.into_values().filter(|c| !c.name.is_empty()).collect()
    }

    /// The rows to store: reasoning, text, then each call.
    pub fn rows(&self, spec: &RunSpec, calls: &[PendingCall]) -> Vec<NewMessage> {
        let mut rows = Vec::new();
        if !self.reasoning.is_empty() {
            let m = LettaMessage::Reasoning(ReasoningMessage {
                common: stamped(
                    common(&self.reasoning_id, &self.reasoning_otid, &self.id),
                    &spec.run_id,
                ),
                reasoning: self.reasoning.clone(),
                source: Some("reasoner_model".into()),
                ..Default::default()
            });
            rows.push(row(spec, &self.id, &self.reasoning_id, &m, &self.reasoning));
        }
        if !self.text.is_empty() {
            let m = LettaMessage::Assistant(SimpleMessage {
                common: stamped(
                    common(&self.assistant_id, &self.assistant_otid, &self.id),
                    &spec.run_id,
                ),
                content: MessageContent::Text(self.text.clone()),
                extra: Default::default(),
            });
            rows.push(row(spec, &self.id, &self.assistant_id, &m, &self.text));
        }
        for c in calls {
            let mut full = call_chunk(c, &self.id, Some(c.name.clone()), Some(c.args.clone()));
            if let Some(cm) = full.common_mut() {
                cm.run_id = Some(spec.run_id.clone());
                cm.date = Some(now());
            }
            rows.push(row(
                spec,
                &self.id,
                &c.msg_id,
                &full,
                &format!("{} {}", c.name, c.args),
            ));
        }
        rows
    }
}

/// A stored message of this run.
fn row(spec: &RunSpec, step_id: &str, id: &str, body: &LettaMessage, text: &str) -> NewMessage {
    NewMessage {
        id: id.to_string(),
        conversation_id: spec.conversation_id.clone(),
        agent_id: spec.agent_id.clone(),
        message_type: body.message_type().to_string(),
        body: serde_json::to_string(body).unwrap_or_default(),
        text: text.to_string(),
        created_at: now(),
        otid: body.common().and_then(|c| c.otid.clone()),
        run_id: Some(spec.run_id.clone()),
        step_id: Some(step_id.to_string()),
    }
}

/// Run a server tool the model called; its return is streamed, and the row to store returned.
pub(super) async fn run_server_tool(
    store: &Handle,
    em: &mut Emitter,
    spec: &RunSpec,
    step_id: &str,
    c: &PendingCall,
) -> Result<NewMessage, StepError> {
    let result = server_tools::run(store, &spec.agent_id, &c.name, &c.args).await?;
    let (status, out) = match result {
        Ok(s) => ("success", s),
        Err(e) => ("error", format!("Error: {e}")),
    };
    let id = new_id("message");
    let m = LettaMessage::ToolReturn(ToolReturnMessage {
        common: stamped(
            common(&id, &uuid::Uuid::new_v4().to_string(), step_id),
            &spec.run_id,
        ),
        tool_call_id: Some(c.id.clone()),
        tool_return: Some(out.clone()),
        status: Some(status.into()),
        stdout: None,
        stderr: None,
        extra: [("name".to_string(), json!(c.name))].into_iter().collect(),
    });
    em.emit(m.clone());
    Ok(row(spec, step_id, &id, &m, &out))
}

pub(super) fn common(id: &str, otid: &str, step_id: &str) -> MessageCommon {
    MessageCommon {
        id: Some(id.to_string()),
        otid: Some(otid.to_string()),
        step_id: Some(step_id.to_string()),
        ..Default::default()
    }
}

fn stamped(mut c: MessageCommon, run_id: &str) -> MessageCommon {
    c.run_id = Some(run_id.to_string());
    c.date = Some(now());
    c
}

/// A tool call chunk: `tool_call_message` for server tools, `approval_request_message` else.
fn call_chunk(
    c: &PendingCall,
    step_id: &str,
    name: Option<String>,
    args: Option<String>,
) -> LettaMessage {
    let delta = ToolCallDelta {
        name,
        arguments: args,
        tool_call_id: Some(c.id.clone()),
        extra: Default::default(),
    };
    let m = ToolCallMessage {
        common: common(&c.msg_id, &c.msg_id, step_id),
        tool_call: Some(delta.clone()),
        // A streamed delta: one object, as a Letta server sends it (the SDK reads a list as
        // complete calls and the chunk then fails to decode).
        tool_calls: Some(crate::protocol::OneOrMany::One(delta)),
        extra: Default::default(),
    };
    if server_tools::is_server_tool(&c.name) {
        LettaMessage::ToolCall(m)
    } else {
        LettaMessage::ApprovalRequest(m)
    }
}
