//! One run of the agent loop: build context → stream the model → run server tools → repeat,
//! until the model stops calling tools, a client tool needs the user, or a limit is hit.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;

use super::context;
use super::hub::RunChannel;
use super::server_tools;
use super::store::{Handle, NewMessage, StoreError, new_id, now};
use crate::llm::{ChatRequest, LlmError, LlmEvent, LlmProvider, LlmUsage, ToolCall, ToolSpec};
use crate::protocol::{
    ErrorMessage, LettaMessage, MessageCommon, MessageContent, ReasoningMessage, SimpleMessage,
    StopReason, ToolCallDelta, ToolCallMessage, ToolReturnMessage, UsageStatistics,
};

/// Everything a run needs to know up front.
pub struct RunSpec {
    pub run_id: String,
    pub agent_id: String,
    /// Internal conversation id.
    pub conversation_id: String,
    pub tools: Vec<ToolSpec>,
    pub provider: Arc<dyn LlmProvider>,
    pub model: String,
    pub context_window: u64,
    pub max_steps: u32,
}

/// Stamps and publishes chunks.
struct Emitter {
    ch: Arc<RunChannel>,
    run_id: String,
    seq: i64,
}

impl Emitter {
    fn emit(&mut self, mut m: LettaMessage) {
        if let Some(c) = m.common_mut() {
            self.seq += 1;
            c.seq_id = Some(self.seq);
            c.run_id = Some(self.run_id.clone());
            if c.date.is_none() {
                c.date = Some(now());
            }
        }
        self.ch.push(m);
    }
}

fn common(id: &str, otid: &str, step_id: &str) -> MessageCommon {
    MessageCommon {
        id: Some(id.to_string()),
        otid: Some(otid.to_string()),
        step_id: Some(step_id.to_string()),
        ..Default::default()
    }
}

/// Run to completion, publishing chunks; the run row is finished whatever happens.
pub async fn drive(store: Handle, ch: Arc<RunChannel>, spec: RunSpec) {
    let mut em = Emitter {
        ch: ch.clone(),
        run_id: spec.run_id.clone(),
        seq: 0,
    };
    em.emit(LettaMessage::Ping(crate::protocol::Ping {
        common: MessageCommon {
            id: Some(new_id("ping")),
            ..Default::default()
        },
        extra: Default::default(),
    }));
    let mut usage = UsageStatistics {
        run_ids: Some(vec![spec.run_id.clone()]),
        ..Default::default()
    };
    let stop = match steps(&store, &mut em, &spec, &mut usage).await {
        Ok(stop) => stop,
        Err(StepError::Llm(e)) => {
            emit_error(&mut em, e.error_type(), &e.to_string());
            StopReason::LlmApiError
        }
        Err(StepError::Store(e)) => {
            emit_error(&mut em, "internal_error", &e.to_string());
            StopReason::Error
        }
    };
    let status = match &stop {
        StopReason::Cancelled => "cancelled",
        s if s.is_error() => "failed",
        _ => "completed",
    };
    let usage_json = serde_json::to_string(&usage).unwrap_or_default();
    let reason = stop.as_str().to_string();
    let (run_id, conv_id, agent_id) = (
        spec.run_id.clone(),
        spec.conversation_id.clone(),
        spec.agent_id.clone(),
    );
    // A failed bookkeeping write must not hide the answer; the stale-run check recovers.
    let _ = store
        .write(move |st| {
            let at = st.finish_run(&run_id, status, &reason, &usage_json)?;
            let _ = st.touch_conversation(&conv_id, Some(&at));
            let _ = st.touch_agent_run(&agent_id, &at);
            Ok(())
        })
        .await;
    em.ch.push(LettaMessage::StopReason {
        stop_reason: stop,
        extra: Default::default(),
    });
    em.ch.push(LettaMessage::Usage(usage));
    ch.close();
}

fn emit_error(em: &mut Emitter, error_type: &str, message: &str) {
    em.emit(LettaMessage::Error(ErrorMessage {
        common: MessageCommon {
            id: Some(new_id("message")),
            ..Default::default()
        },
        error_type: Some(error_type.to_string()),
        message: message.to_string(),
        detail: None,
        extra: Default::default(),
    }));
}

enum StepError {
    Llm(LlmError),
    Store(StoreError),
}

impl From<StoreError> for StepError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// A tool call being assembled from deltas.
#[derive(Default)]
struct PendingCall {
    id: String,
    name: String,
    args: String,
    msg_id: String,
}

async fn steps(
    store: &Handle,
    em: &mut Emitter,
    spec: &RunSpec,
    usage: &mut UsageStatistics,
) -> Result<StopReason, StepError> {
    let mut beat = Instant::now();
    for _ in 0..spec.max_steps {
        let (agent_id, conv_id) = (spec.agent_id.clone(), spec.conversation_id.clone());
        let rows = store
            .write(move |st| {
                context::refresh_system(st, &agent_id, &conv_id)?;
                st.context_messages(&conv_id)
            })
            .await?;
        let messages = context::to_chat(&rows);
        let messages = context::compact_if_needed(store, spec, messages)
            .await
            .map_err(|e| match e {
                context::CompactError::Llm(e) => StepError::Llm(e),
                context::CompactError::Store(e) => StepError::Store(e),
            })?;
        let step_id = new_id("step");
        let req = ChatRequest {
            model: spec.model.clone(),
            messages,
            tools: spec.tools.clone(),
            max_tokens: None,
            temperature: None,
        };
        let mut stream = match open_stream(store, spec, req, &em.ch).await? {
            Some(s) => s,
            None => return Ok(StopReason::Cancelled),
        };
        let assistant_id = new_id("message");
        let assistant_otid = uuid::Uuid::new_v4().to_string();
        let reasoning_id = new_id("message");
        let reasoning_otid = uuid::Uuid::new_v4().to_string();
        let (mut text, mut reasoning) = (String::new(), String::new());
        let mut calls: BTreeMap<usize, PendingCall> = BTreeMap::new();
        let mut step_usage = LlmUsage::default();
        let mut cancelled = false;
        while let Some(ev) = stream.next().await {
            if em.ch.cancelled() {
                cancelled = true;
                break;
            }
            if beat.elapsed() > Duration::from_secs(1) {
                beat = Instant::now();
                let run_id = spec.run_id.clone();
                if store.write(move |st| st.heartbeat(&run_id)).await? {
                    cancelled = true;
                    break;
                }
            }
            match ev.map_err(StepError::Llm)? {
                LlmEvent::Text(t) => {
                    text.push_str(&t);
                    em.emit(LettaMessage::Assistant(SimpleMessage {
                        common: common(&assistant_id, &assistant_otid, &step_id),
                        content: MessageContent::Text(t),
                        extra: Default::default(),
                    }));
                }
                LlmEvent::Reasoning(r) => {
                    reasoning.push_str(&r);
                    em.emit(LettaMessage::Reasoning(ReasoningMessage {
                        common: common(&reasoning_id, &reasoning_otid, &step_id),
                        reasoning: r,
                        source: Some("reasoner_model".into()),
                        ..Default::default()
                    }));
                }
                LlmEvent::ToolCallStart { index, id, name } => {
                    let call = calls.entry(index).or_default();
                    call.id = id;
                    call.name = name.clone();
                    call.msg_id = new_id("message");
                    em.emit(call_chunk(call, &step_id, Some(name), None));
                }
                LlmEvent::ToolCallArgs { index, delta } => {
                    let call = calls.entry(index).or_default();
                    if call.msg_id.is_empty() {
                        call.msg_id = new_id("message");
                    }
                    call.args.push_str(&delta);
                    em.emit(call_chunk(call, &step_id, None, Some(delta)));
                }
                LlmEvent::Usage(u) => step_usage = u,
                LlmEvent::Done { .. } => {}
            }
        }
        if !cancelled && em.ch.cancelled() {
            cancelled = true;
        }
        usage.prompt_tokens += step_usage.prompt_tokens;
        usage.completion_tokens += step_usage.completion_tokens;
        usage.total_tokens += step_usage.prompt_tokens + step_usage.completion_tokens;
        usage.cached_input_tokens =
            Some(usage.cached_input_tokens.unwrap_or(0) + step_usage.cached_input_tokens);
        usage.reasoning_tokens =
            Some(usage.reasoning_tokens.unwrap_or(0) + step_usage.reasoning_tokens);
        usage.context_tokens = Some(step_usage.prompt_tokens + step_usage.completion_tokens);
        usage.step_count += 1;

        // Store what the step produced. On cancel keep the text, never half a tool call.
        let calls: Vec<PendingCall> = if cancelled {
            Vec::new()
        } else {
            calls.into_values().filter(|c| !c.name.is_empty()).collect()
        };
        let mut rows = Vec::new();
        let base = |id: &str, kind: &str, body: &LettaMessage, text: &str| NewMessage {
            id: id.to_string(),
            conversation_id: spec.conversation_id.clone(),
            agent_id: spec.agent_id.clone(),
            message_type: kind.to_string(),
            body: serde_json::to_string(body).unwrap_or_default(),
            text: text.to_string(),
            created_at: now(),
            otid: body.common().and_then(|c| c.otid.clone()),
            run_id: Some(spec.run_id.clone()),
            step_id: Some(step_id.clone()),
        };
        if !reasoning.is_empty() {
            let m = LettaMessage::Reasoning(ReasoningMessage {
                common: stamped(
                    common(&reasoning_id, &reasoning_otid, &step_id),
                    &spec.run_id,
                ),
                reasoning: reasoning.clone(),
                source: Some("reasoner_model".into()),
                ..Default::default()
            });
            rows.push(base(&reasoning_id, "reasoning_message", &m, &reasoning));
        }
        if !text.is_empty() {
            let m = LettaMessage::Assistant(SimpleMessage {
                common: stamped(
                    common(&assistant_id, &assistant_otid, &step_id),
                    &spec.run_id,
                ),
                content: MessageContent::Text(text.clone()),
                extra: Default::default(),
            });
            rows.push(base(&assistant_id, "assistant_message", &m, &text));
        }
        for c in &calls {
            let mut full = call_chunk(c, &step_id, Some(c.name.clone()), Some(c.args.clone()));
            if let Some(cm) = full.common_mut() {
                cm.run_id = Some(spec.run_id.clone());
                cm.date = Some(now());
            }
            let kind = full.message_type().to_string();
            rows.push(base(
                &c.msg_id,
                &kind,
                &full,
                &format!("{} {}", c.name, c.args),
            ));
        }
        store.write(move |st| st.append_messages(&rows)).await?;
        if cancelled {
            return Ok(StopReason::Cancelled);
        }
        if calls.is_empty() {
            return Ok(StopReason::EndTurn);
        }

        // Server tools run now; client tools wait for the user.
        let (server, client): (Vec<&PendingCall>, Vec<&PendingCall>) = calls
            .iter()
            .partition(|c| server_tools::is_server_tool(&c.name));
        for c in server {
            let result = server_tools::run(store, &spec.agent_id, &c.name, &c.args).await?;
            let (status, out) = match result {
                Ok(s) => ("success", s),
                Err(e) => ("error", format!("Error: {e}")),
            };
            let id = new_id("message");
            let m = LettaMessage::ToolReturn(ToolReturnMessage {
                common: stamped(
                    common(&id, &uuid::Uuid::new_v4().to_string(), &step_id),
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
            let row = base(&id, "tool_return_message", &m, &out);
            store.write(move |st| st.append_messages(&[row])).await?;
        }
        if !client.is_empty() {
            let pending: Vec<ToolCall> = client
                .iter()
                .map(|c| ToolCall {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    arguments: c.args.clone(),
                })
                .collect();
            let json = context::pending_to_json(&pending);
            let conv_id = spec.conversation_id.clone();
            store
                .write(move |st| st.set_pending(&conv_id, Some(&json)))
                .await?;
            return Ok(StopReason::RequiresApproval);
        }
    }
    Ok(StopReason::MaxSteps)
}

/// Attempts per model call for errors worth retrying (rate limits, 5xx, network).
const MAX_ATTEMPTS: u32 = 4;
/// Longest wait between attempts, whatever `Retry-After` says.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Start the model call, retrying transient failures with backoff (honouring `Retry-After`)
/// and compacting once on a context overflow. `None` means the run was cancelled meanwhile.
async fn open_stream(
    store: &Handle,
    spec: &RunSpec,
    mut req: ChatRequest,
    ch: &RunChannel,
) -> Result<Option<crate::llm::LlmStream>, StepError> {
    let mut compacted = false;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match spec.provider.stream(req.clone()).await {
            Ok(s) => return Ok(Some(s)),
            Err(LlmError::ContextOverflow { .. }) if !compacted => {
                compacted = true;
                context::compact(store, &spec.agent_id, &spec.conversation_id, spec, true)
                    .await
                    .map_err(|e| match e {
                        context::CompactError::Llm(e) => StepError::Llm(e),
                        context::CompactError::Store(e) => StepError::Store(e),
                    })?;
                req.messages = context::load(store, &spec.conversation_id).await?;
            }
            Err(e) if e.retryable() && attempt < MAX_ATTEMPTS => {
                let wait = e
                    .retry_after_ms()
                    .map(Duration::from_millis)
                    .unwrap_or_else(|| Duration::from_millis(500 << attempt))
                    .min(MAX_BACKOFF);
                tokio::time::sleep(wait).await;
                if ch.cancelled() {
                    return Ok(None);
                }
            }
            Err(e) => return Err(StepError::Llm(e)),
        }
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
        tool_calls: Some(crate::protocol::OneOrMany::Many(vec![delta])),
        extra: Default::default(),
    };
    if server_tools::is_server_tool(&c.name) {
        LettaMessage::ToolCall(m)
    } else {
        LettaMessage::ApprovalRequest(m)
    }
}
