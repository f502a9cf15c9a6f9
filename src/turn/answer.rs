//! Answering the calls of one step: decide each, ask where needed, run the allowed ones
//! (reads together, the rest in order) and build the answers in call order.

use futures_util::future::join_all;
use std::time::Instant;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::{ApprovalAnswer, INTERRUPTED, MAY_HAVE_RUN, ToolCallInfo, TurnDriver, TurnEvent, deny};
use crate::permissions::{Checker, Decision, PermissionMode, Rule, save_allow_rule};
use crate::protocol::ApprovalDecision;
use crate::session::Session;
use crate::tools::ToolOutput;

impl TurnDriver {
    /// Decide every call, run the allowed ones, and build the answers in call order.
    pub(super) async fn answer_calls(
        &self,
        session: &Session,
        calls: &[ToolCallInfo],
        events: &UnboundedSender<TurnEvent>,
        cancel: &CancellationToken,
    ) -> Vec<ApprovalDecision> {
        let mut answers: Vec<Option<ApprovalDecision>> = vec![None; calls.len()];
        let unrestricted = self
            .checker
            .lock()
            .is_ok_and(|c| c.mode == PermissionMode::Unrestricted);
        self.tools.set_confined(!unrestricted);
        let mut to_run: Vec<usize> = Vec::new();
        // A driver or a hook may change a call's arguments.
        let mut calls = std::borrow::Cow::Borrowed(calls);
        for i in 0..calls.len() {
            // A tool this session does not have is refused without asking anyone.
            if self.registry.get(&calls[i].name).is_none() {
                let reason = format!(
                    "{} is not one of the tools available here ({})",
                    calls[i].name,
                    self.registry.names().join(", ")
                );
                let _ = events.send(TurnEvent::Denied {
                    call: calls[i].clone(),
                    reason: reason.clone(),
                });
                answers[i] = Some(deny(&calls[i], &reason));
                continue;
            }
            let pre = self.pre_tool_hooks(&calls[i], events).await;
            if let Some(reason) = pre.blocked {
                let _ = events.send(TurnEvent::Denied {
                    call: calls[i].clone(),
                    reason: reason.clone(),
                });
                answers[i] = Some(deny(&calls[i], &reason));
                continue;
            }
            if let Some(u) = &pre.updated_input {
                calls.to_mut()[i].arguments = u.to_string();
            }
            let call = &calls[i].clone();
            let args = call.args();
            let decision = match self.checker.lock() {
                // A call a crash interrupted may already have done its work: always ask.
                Ok(_) if self.journal.interrupted(&call.id) => Decision::Ask {
                    reason: "it started before letta stopped and may already have run".into(),
                },
                Ok(c) => c.decide(&self.tools, &self.registry, &call.name, &args),
                Err(_) => Decision::Ask {
                    reason: "permission state unavailable".into(),
                },
            };
            // A plan, and a call a crash may have run already, are the user's alone to
            // approve: no hook answers for them.
            let planning = (call.name == crate::tools::EXIT_PLAN_MODE
                && self
                    .checker
                    .lock()
                    .is_ok_and(|c| c.mode == PermissionMode::Plan))
                || self.journal.interrupted(&call.id);
            let decision = if planning {
                decision
            } else {
                super::hooked::with_hook_decision(decision, pre.decision)
            };
            let decision = match decision {
                Decision::Ask { reason } if !planning => {
                    let (d, updated) = self.permission_hooks(call, reason, events).await;
                    match updated {
                        Some(u) => {
                            let (changed, denied) = self.rewritten(call, u.to_string());
                            calls.to_mut()[i] = changed;
                            denied.map_or(d, |reason| Decision::Deny { reason })
                        }
                        None => d,
                    }
                }
                other => other,
            };
            // What the user is asked about, what is reported and what runs: the input as a
            // hook may have rewritten it.
            let call = &calls[i].clone();
            let args = call.args();
            match decision {
                Decision::Allow { reason, rule } => {
                    let _ = events.send(TurnEvent::AutoApproved {
                        call: call.clone(),
                        reason,
                        matched_rule: rule,
                    });
                    to_run.push(i);
                }
                Decision::Deny { reason } => {
                    let _ = events.send(TurnEvent::Denied {
                        call: call.clone(),
                        reason: reason.clone(),
                    });
                    answers[i] = Some(deny(call, &reason));
                }
                Decision::Ask { reason } => {
                    let suggested = match self.checker.lock() {
                        Ok(c) => c.suggest(&self.tools, &self.registry, &call.name, &args),
                        Err(_) => {
                            Checker::suggest_rule(&self.tools, &self.registry, &call.name, &args)
                        }
                    };
                    // A command the sandbox would certainly block runs outside it if allowed.
                    let escape = self.escape_of(call);
                    let reason = match &escape {
                        Some((_, why)) => format!(
                            "{reason}; {why}, so if you allow it, it runs outside the sandbox"
                        ),
                        None => reason,
                    };
                    self.notify(format!("letta needs your permission to use {}", call.name));
                    let answer = tokio::select! {
                        a = self.approver.ask(call, &reason, &suggested) => a,
                        () = cancel.cancelled() => ApprovalAnswer::No { reason: Some(INTERRUPTED.into()) },
                    };
                    if !matches!(answer, ApprovalAnswer::No { .. })
                        && let Some((cmd, _)) = &escape
                    {
                        self.tools.escalate(cmd);
                    }
                    if call.name == crate::tools::EXIT_PLAN_MODE {
                        answers[i] = Some(self.plan_answered(call, answer, events));
                        continue;
                    }
                    match answer {
                        ApprovalAnswer::Yes | ApprovalAnswer::YesInMode(_) => to_run.push(i),
                        ApprovalAnswer::YesWith(arguments) => {
                            let (changed, denied) = self.rewritten(call, arguments);
                            if let Some(reason) = denied {
                                let _ = events.send(TurnEvent::Denied {
                                    call: changed.clone(),
                                    reason: reason.clone(),
                                });
                                answers[i] = Some(deny(&changed, &reason));
                            } else {
                                calls.to_mut()[i] = changed;
                                to_run.push(i);
                            }
                        }
                        ApprovalAnswer::YesAlways(rule) => {
                            if let Ok(r) = Rule::parse(&rule) {
                                // A rule that cannot be saved still holds for this session.
                                let (dir, saved) = (self.project_dir.clone(), r.clone());
                                // Saved in a folder with nothing of its own to distrust: the
                                // user's rule makes it trusted, or it would not apply next time.
                                let trust_in = self
                                    .checker
                                    .lock()
                                    .ok()
                                    .and_then(|mut c| c.trust_on_save.take());
                                let _ = tokio::task::spawn_blocking(move || {
                                    crate::tools::own_write(|| save_allow_rule(&dir, &saved))?;
                                    match trust_in {
                                        Some(f) => crate::session::trust::trust(&f, &dir),
                                        None => Ok(()),
                                    }
                                })
                                .await;
                                if let Ok(mut c) = self.checker.lock() {
                                    c.allow_for_session(r, ".letta/settings.local.json");
                                }
                            }
                            to_run.push(i);
                        }
                        ApprovalAnswer::No { reason } => {
                            let reason = if self.journal.interrupted(&call.id) {
                                self.journal.finished(&call.id);
                                reason.map_or_else(
                                    || MAY_HAVE_RUN.to_string(),
                                    |r| format!("{MAY_HAVE_RUN} {r}"),
                                )
                            } else {
                                reason.unwrap_or_else(|| "The user declined.".into())
                            };
                            let _ = events.send(TurnEvent::Denied {
                                call: call.clone(),
                                reason: reason.clone(),
                            });
                            answers[i] = Some(deny(call, &reason));
                        }
                    }
                }
            }
        }
        // Reads run together; writes and commands one at a time, in the model's order.
        let (reads, others): (Vec<usize>, Vec<usize>) = to_run.into_iter().partition(|&i| {
            self.registry
                .access(&self.tools, &calls[i].name, &calls[i].args())
                .is_read()
        });
        // Announce the reads together before any runs, so a UI shows them running at once.
        for &i in &reads {
            Self::announce(&calls[i], events);
        }
        let outputs = join_all(
            reads
                .iter()
                .map(|&i| self.run_tool(session, &calls[i], events, cancel)),
        )
        .await;
        for (i, out) in reads.into_iter().zip(outputs) {
            answers[i] = Some(ApprovalDecision::Tool(out.into_return(&calls[i].id)));
        }
        for i in others {
            Self::announce(&calls[i], events);
            let out = self.run_tool(session, &calls[i], events, cancel).await;
            answers[i] = Some(ApprovalDecision::Tool(out.into_return(&calls[i].id)));
        }
        answers
            .into_iter()
            .zip(calls.iter())
            .map(|(a, c)| a.unwrap_or_else(|| deny(c, INTERRUPTED)))
            .collect()
    }

    /// `call` with `arguments` in place of the model's (a driver's or a hook's rewrite), and
    /// why the rules deny it now, if they do: a rewrite never gets past a deny rule.
    fn rewritten(&self, call: &ToolCallInfo, arguments: String) -> (ToolCallInfo, Option<String>) {
        let mut changed = call.clone();
        changed.arguments = arguments;
        let denied = match self.checker.lock() {
            Ok(c) => match c.decide(&self.tools, &self.registry, &changed.name, &changed.args()) {
                Decision::Deny { reason } => Some(reason),
                _ => None,
            },
            Err(_) => Some("permission state unavailable".into()),
        };
        (changed, denied)
    }

    fn announce(call: &ToolCallInfo, events: &UnboundedSender<TurnEvent>) {
        let _ = events.send(TurnEvent::ToolStarted { call: call.clone() });
    }

    /// Run an announced call; a call reached after an interrupt finishes as interrupted.
    async fn run_tool(
        &self,
        session: &Session,
        call: &ToolCallInfo,
        events: &UnboundedSender<TurnEvent>,
        cancel: &CancellationToken,
    ) -> ToolOutput {
        let started = Instant::now();
        self.journal.started(&call.id);
        let mut out = if cancel.is_cancelled() {
            ToolOutput::err(INTERRUPTED)
        } else {
            let scope = scope_of(session, call, events, self.clone());
            self.registry
                .run_scoped(&self.tools, &call.name, &call.arguments, cancel, scope)
                .await
        };
        if let Some(why) = out.sandbox_denied.clone()
            && !cancel.is_cancelled()
        {
            out = self.escalate(call, out, &why, cancel).await;
        }
        self.journal.finished(&call.id);
        let out = self.post_tool_hooks(call, out, events).await;
        let _ = events.send(TurnEvent::ToolFinished {
            call: call.clone(),
            output: out.clone(),
            duration_ms: started.elapsed().as_millis() as u64,
        });
        out
    }
}

/// Where `call` runs, and its progress (a subagent's events) passed on to the UI as
/// [`TurnEvent::Subagent`] events.
fn scope_of(
    session: &Session,
    call: &ToolCallInfo,
    events: &UnboundedSender<TurnEvent>,
    link: super::TurnDriver,
) -> crate::tools::CallScope {
    let (tx, parent) = (events.clone(), call.clone());
    let progress: crate::tools::Progress = std::sync::Arc::new(move |any| {
        if let Ok(p) = any.downcast::<(String, TurnEvent)>() {
            let (label, event) = *p;
            let _ = tx.send(TurnEvent::Subagent {
                parent: parent.clone(),
                label,
                event: Box::new(event),
            });
        }
    });
    crate::tools::CallScope {
        agent_id: session.agent_id.clone(),
        conversation_id: session.conversation_id.clone(),
        call_id: call.id.clone(),
        progress: Some(progress),
        turn: Some(std::sync::Arc::new(link)),
    }
}
