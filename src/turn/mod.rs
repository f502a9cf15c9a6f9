//! The client's side of a turn, shared by the chat view, the plain REPL and headless mode:
//! send → collect chunks → decide tool calls → run them → answer in one approval message →
//! repeat until the agent stops.

mod answer;
mod collect;
mod escape;
mod hooked;
mod journal;
mod link;
mod plan;

pub use collect::merge_delta;
pub use journal::Journal;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::backend::{Backend, BackendError};
use crate::permissions::Checker;
use crate::protocol::{
    ApprovalDecision, DEFAULT_CONVERSATION, LettaMessage, ListParams, MessageCreate,
    SendMessageRequest, StopReason, UsageStatistics,
};
use crate::session::Session;
use crate::session::context::ProjectContext;
pub use crate::session::setup::TurnOptions;
pub use crate::tools::ToolCallInfo;
use crate::tools::{Registry, ToolContext, ToolOutput};

/// What a UI hears during a turn.
#[derive(Debug, Clone)]
pub enum TurnEvent {
    /// Every chunk, as it arrived (boxed: chunks are large, the other events small).
    Chunk(Box<LettaMessage>),
    Assistant {
        otid: String,
        delta: String,
    },
    Reasoning {
        otid: String,
        delta: String,
    },
    /// A call was allowed without asking.
    AutoApproved {
        call: ToolCallInfo,
        reason: String,
        matched_rule: Option<String>,
    },
    /// A call will not run.
    Denied {
        call: ToolCallInfo,
        reason: String,
    },
    ToolStarted {
        call: ToolCallInfo,
    },
    ToolFinished {
        call: ToolCallInfo,
        output: ToolOutput,
        duration_ms: u64,
    },
    Error {
        message: String,
    },
    /// The turn waits (for another session's reply to end).
    Waiting {
        message: String,
    },
    /// Something the user should know that is not an error of the turn (a hook's message,
    /// or a hook that failed).
    Note {
        message: String,
    },
    /// The permission mode changed during the turn (a plan was approved).
    Mode(crate::permissions::PermissionMode),
    /// What a subagent started by the `Task` call `parent` is doing.
    Subagent {
        parent: ToolCallInfo,
        /// "explore · Find the config loader".
        label: String,
        event: Box<TurnEvent>,
    },
}

/// The user's answer to "may this run?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalAnswer {
    Yes,
    /// Yes, and save this rule for the project.
    YesAlways(String),
    /// Yes, with these arguments (JSON) instead of the model's: a driving program's
    /// `updatedInput`. Deny rules are checked again on them.
    YesWith(String),
    /// A plan approved, going on in this mode (`ExitPlanMode`).
    YesInMode(crate::permissions::PermissionMode),
    No {
        reason: Option<String>,
    },
}

/// Whoever answers approval questions: the chat view, the REPL, or headless mode's refusal.
#[async_trait]
pub trait Approver: Send + Sync {
    async fn ask(&self, call: &ToolCallInfo, reason: &str, suggested_rule: &str) -> ApprovalAnswer;
}

/// Headless mode: nobody can answer, so calls that would ask are denied with a reason.
pub struct NoOneToAsk;

#[async_trait]
impl Approver for NoOneToAsk {
    async fn ask(&self, call: &ToolCallInfo, reason: &str, suggested_rule: &str) -> ApprovalAnswer {
        ApprovalAnswer::No {
            reason: Some(format!(
                "{} needs approval ({reason}), and no one can approve in headless mode. \
                 It can be allowed with --allowedTools \"{suggested_rule}\" or a --permission-mode.",
                call.name
            )),
        }
    }
}

/// How a turn ended.
#[derive(Debug, Clone, Default)]
pub struct TurnResult {
    /// The last assistant message's text.
    pub text: String,
    pub stop_reason: Option<StopReason>,
    pub usage: UsageStatistics,
    pub run_ids: Vec<String>,
    pub errors: Vec<String>,
    pub interrupted: bool,
    /// Time spent waiting on the backend.
    pub api_duration: Duration,
}

impl TurnResult {
    /// Whether the turn failed (not merely interrupted).
    pub fn is_error(&self) -> bool {
        !self.errors.is_empty() || self.stop_reason.as_ref().is_some_and(StopReason::is_error)
    }
}

/// Drives turns for one session. Cloned, it is what a subagent's tool takes from the turn
/// it runs in.
#[derive(Clone)]
pub struct TurnDriver {
    pub backend: Arc<dyn Backend>,
    pub tools: Arc<ToolContext>,
    /// The tools the model may call.
    pub registry: Arc<Registry>,
    pub checker: Arc<Mutex<Checker>>,
    pub approver: Arc<dyn Approver>,
    /// Where "don't ask again" rules are saved (`.letta/settings.local.json` under it).
    pub project_dir: PathBuf,
    /// Calls that started and never finished (a crash), so they are never run again unasked.
    pub journal: Journal,
    /// What the model is told about the project before the user's words.
    pub context: Arc<ProjectContext>,
    /// The user's hooks.
    pub hooks: Arc<crate::hooks::Hooks>,
}

/// The answer for a call that started before letta stopped and was not run again.
pub const MAY_HAVE_RUN: &str =
    "This call started before letta stopped and may already have run; it was not run again.";

/// The message sent on an interrupted call.
pub const INTERRUPTED: &str = "Interrupted by user";

impl TurnDriver {
    /// The driver of a front end's session, asking `approver` where a person must decide.
    pub fn for_setup(setup: &crate::session::setup::Setup, approver: Arc<dyn Approver>) -> Self {
        Self {
            backend: setup.backend.clone(),
            tools: Arc::new(setup.tool_context()),
            registry: setup.tools.clone(),
            checker: setup.checker.clone(),
            approver,
            project_dir: setup.cwd.clone(),
            journal: Journal::new(&setup.data_dir),
            context: setup.context.clone(),
            hooks: setup.hooks.clone(),
        }
    }

    fn request(
        &self,
        session: &Session,
        messages: Vec<MessageCreate>,
        opts: &TurnOptions,
        steps_left: Option<u32>,
    ) -> SendMessageRequest {
        SendMessageRequest {
            messages: Some(messages),
            streaming: Some(true),
            stream_tokens: Some(true),
            include_pings: Some(true),
            background: Some(true),
            client_tools: Some(self.registry.definitions()),
            client_skills: Some(self.registry.client_skills()).filter(|s| !s.is_empty()),
            override_model: opts.override_model.clone(),
            agent_id: (session.conversation_id == DEFAULT_CONVERSATION)
                .then(|| session.agent_id.clone()),
            max_steps: steps_left,
            ..Default::default()
        }
    }

    /// Run one turn: `text` from the user, until the agent stops (or `cancel`).
    pub async fn run(
        &self,
        session: &Session,
        text: &str,
        opts: &TurnOptions,
        events: &UnboundedSender<TurnEvent>,
        cancel: &CancellationToken,
    ) -> Result<TurnResult, BackendError> {
        let extra = match self.prompt_hooks(text, events).await {
            Ok(extra) => extra,
            Err(why) => {
                let message = format!("A UserPromptSubmit hook blocked the prompt: {why}");
                let _ = events.send(TurnEvent::Error {
                    message: message.clone(),
                });
                return Ok(TurnResult {
                    errors: vec![message],
                    ..Default::default()
                });
            }
        };
        let mode = self.checker.lock().map(|c| c.mode).unwrap_or_default();
        let key = format!("{}/{}", session.agent_id, session.conversation_id);
        // Instruction files and git can be slow in a big repository: off the worker.
        let ctx = self.context.clone();
        let reminders = tokio::task::spawn_blocking(move || ctx.reminders(&key, mode)).await;
        let reminders = reminders.unwrap_or_default() + &extra;
        let req = self.request(
            session,
            vec![MessageCreate::user_with_reminders(&reminders, text)],
            opts,
            opts.max_steps,
        );
        let result = self.drive(session, req, opts, events, cancel).await?;
        self.until_stop_hooks_agree(session, result, opts, events, cancel)
            .await
    }

    /// Offer calls an earlier process left waiting (a crash, a closed terminal), then go on
    /// with the turn they belong to.
    pub async fn run_pending(
        &self,
        session: &Session,
        calls: &[ToolCallInfo],
        opts: &TurnOptions,
        events: &UnboundedSender<TurnEvent>,
        cancel: &CancellationToken,
    ) -> Result<TurnResult, BackendError> {
        let answers = self.answer_calls(session, calls, events, cancel).await;
        if cancel.is_cancelled() {
            self.finish_interrupted(session, answers, opts).await;
            return Ok(TurnResult {
                interrupted: true,
                stop_reason: Some(StopReason::Cancelled),
                ..Default::default()
            });
        }
        let req = self.request(
            session,
            vec![MessageCreate::approvals(answers)],
            opts,
            opts.max_steps,
        );
        self.drive(session, req, opts, events, cancel).await
    }

    /// Send `req`, then answer tool calls until the agent stops (or `cancel`).
    async fn drive(
        &self,
        session: &Session,
        mut req: SendMessageRequest,
        opts: &TurnOptions,
        events: &UnboundedSender<TurnEvent>,
        cancel: &CancellationToken,
    ) -> Result<TurnResult, BackendError> {
        let mut result = TurnResult::default();
        let conv = session.conversation_id.clone();
        let agent = session.agent_id.clone();
        let mut last_text = String::new();
        let (mut recovered, mut wound_down) = (false, false);
        let mut busy = Busy::default();
        loop {
            let started = Instant::now();
            let stream = match self.backend.send_message(&conv, req.clone()).await {
                Err(BackendError::PendingApproval(_)) if !recovered => {
                    // A call from an earlier turn (or a crash) was never answered.
                    recovered = true;
                    self.recover_pending(session, opts).await?;
                    continue;
                }
                Err(e @ BackendError::Busy { .. }) => {
                    busy.wait(e, opts, events, cancel).await?;
                    continue;
                }
                other => other?,
            };
            let (backend, c2, a2) = (self.backend.clone(), conv.clone(), agent.clone());
            // NothingActive just means the run ended on its own first; a server that does not
            // answer the cancel must not hold the interrupt up.
            let stop = async move || {
                let cancel = backend.cancel(&c2, Some(&a2));
                let _ = tokio::time::timeout(std::time::Duration::from_secs(5), cancel).await;
            };
            let run = collect::consume(stream, events, cancel, !opts.no_text_chunks, stop).await;
            result.api_duration += started.elapsed();
            if let Some(u) = &run.usage {
                result.usage.add(u);
            }
            result.run_ids.extend(run.run_id.clone());
            if let Some((_, t)) = run.texts.iter().rev().find(|(_, t)| !t.is_empty()) {
                last_text = t.clone();
            }
            result.errors.extend(run.errors.iter().cloned());
            result.stop_reason = run.stop.clone();
            let pending = matches!(run.stop, Some(StopReason::RequiresApproval))
                || (matches!(run.stop, Some(StopReason::EndTurn)) && !run.calls.is_empty());
            if run.cancelled || cancel.is_cancelled() {
                result.interrupted = true;
                if pending && !run.calls.is_empty() {
                    // Answer the calls so the conversation is not left waiting, then stop again.
                    let denials = run.calls.iter().map(|c| deny(c, INTERRUPTED)).collect();
                    self.finish_interrupted(session, denials, opts).await;
                }
                result.stop_reason = Some(StopReason::Cancelled);
                break;
            }
            if !pending || run.calls.is_empty() || run.truncated {
                break;
            }
            let steps_left = opts
                .max_steps
                .map(|m| m.saturating_sub(result.usage.step_count as u32));
            if steps_left == Some(0) && wound_down {
                // The model kept calling tools after the limit; the next turn clears the call.
                result.stop_reason = Some(StopReason::MaxSteps);
                break;
            }
            wound_down |= steps_left == Some(0);
            let answers = if steps_left == Some(0) {
                run.calls
                    .iter()
                    .map(|c| {
                        deny(
                            c,
                            "The turn's step limit was reached; the call was not run.",
                        )
                    })
                    .collect()
            } else {
                self.answer_calls(session, &run.calls, events, cancel).await
            };
            if cancel.is_cancelled() {
                result.interrupted = true;
                self.finish_interrupted(session, answers, opts).await;
                result.stop_reason = Some(StopReason::Cancelled);
                break;
            }
            req = self.request(
                session,
                vec![MessageCreate::approvals(answers)],
                opts,
                steps_left.map(|s| s.max(1)),
            );
            if steps_left == Some(0) {
                result.stop_reason = Some(StopReason::MaxSteps);
            }
        }
        result.text = last_text;
        Ok(result)
    }

    /// Deny the calls an earlier turn left unanswered, so the conversation can go on.
    async fn recover_pending(
        &self,
        session: &Session,
        opts: &TurnOptions,
    ) -> Result<(), BackendError> {
        let page = ListParams {
            limit: Some(50),
            ..Default::default()
        };
        let recent = self
            .backend
            .list_messages(&session.conversation_id, Some(&session.agent_id), page)
            .await?;
        let stale = crate::session::query::unanswered(&recent);
        if stale.is_empty() {
            return Err(BackendError::PendingApproval(
                "the conversation waits for an approval letta cannot find; try again".into(),
            ));
        }
        let denials = stale
            .iter()
            .map(|c| {
                let why = if self.journal.interrupted(&c.id) {
                    self.journal.finished(&c.id);
                    MAY_HAVE_RUN
                } else {
                    "The user moved on without answering this call."
                };
                deny(c, why)
            })
            .collect();
        self.finish_interrupted(session, denials, opts).await;
        Ok(())
    }

    /// Send the answers of an interrupted turn and cancel the run they start.
    async fn finish_interrupted(
        &self,
        session: &Session,
        answers: Vec<ApprovalDecision>,
        opts: &TurnOptions,
    ) {
        let req = self.request(
            session,
            vec![MessageCreate::approvals(answers)],
            opts,
            Some(1),
        );
        // Bounded: a server that stopped answering must not keep an interrupt waiting.
        let answer = async {
            if let Ok(stream) = self
                .backend
                .send_message(&session.conversation_id, req)
                .await
            {
                let _ = self
                    .backend
                    .cancel(&session.conversation_id, Some(&session.agent_id))
                    .await;
                let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
                let _ = collect::consume(stream, &tx, &CancellationToken::new(), true, async || {})
                    .await;
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), answer).await;
    }
}

/// Waiting for a conversation another session is replying in.
#[derive(Default)]
struct Busy {
    since: Option<Instant>,
    announced: bool,
}

impl Busy {
    /// Wait a moment before trying again, as long as `opts` allows; else the busy error.
    async fn wait(
        &mut self,
        e: BackendError,
        opts: &TurnOptions,
        events: &UnboundedSender<TurnEvent>,
        cancel: &CancellationToken,
    ) -> Result<(), BackendError> {
        let since = *self.since.get_or_insert_with(Instant::now);
        match opts.wait_busy {
            Some(limit) if since.elapsed() < limit && !cancel.is_cancelled() => {
                if !self.announced {
                    self.announced = true;
                    let _ = events.send(TurnEvent::Waiting {
                        message: "another session is replying in this conversation; waiting for it to finish".into(),
                    });
                }
                tokio::select! {
                    () = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
                    () = cancel.cancelled() => {}
                }
                Ok(())
            }
            _ => Err(e),
        }
    }
}

pub(crate) fn deny(call: &ToolCallInfo, reason: &str) -> ApprovalDecision {
    ApprovalDecision::Approval {
        tool_call_id: call.id.clone(),
        approve: false,
        reason: Some(reason.to_string()),
        extra: Default::default(),
    }
}
