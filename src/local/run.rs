//! One run of the agent loop: build context → stream the model → run server tools → repeat,
//! until the model stops calling tools, a client tool needs the user, or a limit is hit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::context;
use super::hub::RunChannel;
use super::server_tools;
use super::step::{self, PendingCall, Step};
use super::store::{Handle, StoreError, new_id, now};
use crate::llm::{ChatRequest, LlmError, LlmProvider, ToolCall, ToolSpec};
use crate::protocol::{ErrorMessage, LettaMessage, MessageCommon, StopReason, UsageStatistics};

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
    /// How long the model may send nothing before the answer is stopped.
    pub idle_timeout: Duration,
}

/// The most one step's text, reasoning and tool arguments may hold together.
pub const MAX_STEP_BYTES: usize = 16 << 20;

/// Stamps and publishes chunks.
pub(super) struct Emitter {
    ch: Arc<RunChannel>,
    run_id: String,
    seq: i64,
    /// The date of the message being streamed: every chunk of a message carries it, as
    /// Letta's do (and one clock reading and format per message, not per token).
    date: Option<(String, String)>,
}

impl Emitter {
    pub(super) fn emit(&mut self, mut m: LettaMessage) {
        if let Some(c) = m.common_mut() {
            self.seq += 1;
            c.seq_id = Some(self.seq);
            c.run_id = Some(self.run_id.clone());
            if c.date.is_none() {
                let id = c.id.as_deref().unwrap_or_default();
                let date = match &self.date {
                    Some((of, d)) if of == id && !id.is_empty() => d.clone(),
                    _ => {
                        let d = now();
                        self.date = Some((id.to_string(), d.clone()));
                        d
                    }
                };
                c.date = Some(date);
            }
        }
        self.ch.push(m);
    }
}

/// Run to completion, publishing chunks; the run row is finished whatever happens.
pub async fn drive(store: Handle, ch: Arc<RunChannel>, spec: RunSpec) {
    let mut em = Emitter {
        ch: ch.clone(),
        run_id: spec.run_id.clone(),
        seq: 0,
        date: None,
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

pub(super) enum StepError {
    Llm(LlmError),
    Store(StoreError),
}

impl From<StoreError> for StepError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<context::CompactError> for StepError {
    fn from(e: context::CompactError) -> Self {
        match e {
            context::CompactError::Llm(e) => Self::Llm(e),
            context::CompactError::Store(e) => Self::Store(e),
        }
    }
}

/// Steps until the model stops calling tools, a client tool needs the user, or the limit.
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
        let messages = context::compact_if_needed(store, spec, context::to_chat(&rows))
            .await
            .map_err(StepError::from)?;
        let req = ChatRequest {
            model: spec.model.clone(),
            messages,
            tools: spec.tools.clone(),
            max_tokens: None,
            temperature: None,
        };
        let Some(mut stream) = open_stream(store, spec, req, &em.ch).await? else {
            return Ok(StopReason::Cancelled);
        };
        let mut step = Step::new();
        let mut cancelled = false;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut heard = Instant::now();
        loop {
            // A cancel wakes the run at once, even while the model sends nothing.
            let ev = tokio::select! {
                biased;
                () = em.ch.wait_cancel() => { cancelled = true; break; }
                ev = stream.next() => ev,
                _ = tick.tick() => {
                    if heard.elapsed() > spec.idle_timeout {
                        return Err(stalled(spec));
                    }
                    if beat.elapsed() > Duration::from_secs(1) {
                        beat = Instant::now();
                        let run_id = spec.run_id.clone();
                        if store.write(move |st| st.heartbeat(&run_id)).await? {
                            cancelled = true;
                            break;
                        }
                    }
                    continue;
                }
            };
            let Some(ev) = ev else { break };
            heard = Instant::now();
            step.apply(em, ev.map_err(StepError::Llm)?);
            if step.bytes() > MAX_STEP_BYTES {
                return Err(StepError::Llm(LlmError::TooLarge {
                    provider: spec.model.clone(),
                    limit_mb: MAX_STEP_BYTES >> 20,
                }));
            }
        }
        cancelled |= em.ch.cancelled();
        step.add_usage(usage);
        // Store what the step produced. On cancel keep the text, never half a tool call.
        let calls = step.finished_calls(cancelled);
        let rows = step.rows(spec, &calls);
        store.write(move |st| st.append_messages(&rows)).await?;
        if cancelled {
            return Ok(StopReason::Cancelled);
        }
        if calls.is_empty() {
            return Ok(StopReason::EndTurn);
        }
        // Server tools run now; client tools wait for the user.
        let (server, client): (Vec<PendingCall>, Vec<PendingCall>) = calls
            .into_iter()
            .partition(|c| server_tools::is_server_tool(&c.name));
        for c in &server {
            let row = step::run_server_tool(store, em, spec, &step.id, c).await?;
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
        // The model may take the connection and never answer: the wait is bounded, and a
        // cancel ends it at once.
        let opened = tokio::select! {
            biased;
            () = ch.wait_cancel() => return Ok(None),
            r = tokio::time::timeout(spec.idle_timeout, spec.provider.stream(req.clone())) => r,
        };
        let Ok(opened) = opened else {
            return Err(stalled(spec));
        };
        match opened {
            Ok(s) => return Ok(Some(crate::llm::coalesce(s))),
            Err(LlmError::ContextOverflow { .. }) if !compacted => {
                compacted = true;
                context::compact(store, &spec.agent_id, &spec.conversation_id, spec, true)
                    .await
                    .map_err(StepError::from)?;
                req.messages = context::load(store, &spec.conversation_id).await?;
            }
            Err(e) if e.retryable() && attempt < MAX_ATTEMPTS => {
                let wait = e
                    .retry_after_ms()
                    .map_or_else(
                        || Duration::from_millis(500 << attempt),
                        Duration::from_millis,
                    )
                    .min(MAX_BACKOFF);
                ch.push(crate::protocol::retry::retry_event(
                    attempt + 1,
                    MAX_ATTEMPTS,
                    wait.as_millis() as u64,
                    &e.to_string(),
                ));
                tokio::time::sleep(wait).await;
                if ch.cancelled() {
                    return Ok(None);
                }
            }
            Err(e) => return Err(StepError::Llm(e)),
        }
    }
}

fn stalled(spec: &RunSpec) -> StepError {
    StepError::Llm(LlmError::Stalled {
        provider: spec.model.clone(),
        secs: spec.idle_timeout.as_secs(),
    })
}
