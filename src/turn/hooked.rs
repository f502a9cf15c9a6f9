//! Where a turn meets the user's hooks: the prompt, each tool call before and after it runs,
//! a permission question, and the agent stopping.

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;

use super::{ToolCallInfo, TurnDriver, TurnEvent, TurnOptions, TurnResult};
use crate::backend::BackendError;
use crate::hooks::{Decision as HookDecision, Event, Outcome};
use crate::permissions::Decision;
use crate::protocol::MessageCreate;
use crate::session::Session;
use crate::tools::ToolOutput;
use tokio_util::sync::CancellationToken;

/// How often a Stop hook may send the agent back to work in one turn.
pub(super) const STOP_LOOPS: u32 = 3;

/// A hook's say only answers what the rules would ask, or asks where they would allow: deny
/// rules always win.
pub(super) fn with_hook_decision(rules: Decision, hook: Option<HookDecision>) -> Decision {
    match (rules, hook) {
        (Decision::Ask { .. }, Some(HookDecision::Allow)) => Decision::Allow {
            reason: "allowed by a PreToolUse hook".into(),
            rule: None,
        },
        (Decision::Allow { .. }, Some(HookDecision::Ask)) => Decision::Ask {
            reason: "a PreToolUse hook asks for it".into(),
        },
        (d, _) => d,
    }
}

impl TurnDriver {
    fn mode_name(&self) -> &'static str {
        self.checker.lock().map_or("default", |c| c.mode.name())
    }

    async fn tool_event(
        &self,
        event: Event,
        call: &ToolCallInfo,
        extra: Value,
        events: &UnboundedSender<TurnEvent>,
    ) -> Outcome {
        if !self.hooks.any(event) {
            return Outcome::default();
        }
        let mut fields = json!({
            "tool_name": call.name, "tool_input": call.args(), "tool_use_id": call.id,
            "permission_mode": self.mode_name(),
        });
        if let (Some(f), Value::Object(e)) = (fields.as_object_mut(), extra) {
            f.extend(e);
        }
        let o = self.hooks.fire(event, Some(&call.name), fields).await;
        tell(&o, events);
        o
    }

    /// `PreToolUse`: may block the call, decide it, or rewrite its input.
    pub(super) async fn pre_tool_hooks(
        &self,
        call: &ToolCallInfo,
        events: &UnboundedSender<TurnEvent>,
    ) -> Outcome {
        self.tool_event(Event::PreToolUse, call, json!({}), events)
            .await
    }

    /// `PermissionRequest`: a hook may answer the question before the user is asked, and
    /// rewrite the input (checked again against the rules by the caller).
    pub(super) async fn permission_hooks(
        &self,
        call: &ToolCallInfo,
        reason: String,
        events: &UnboundedSender<TurnEvent>,
    ) -> (Decision, Option<Value>) {
        let o = self
            .tool_event(
                Event::PermissionRequest,
                call,
                json!({"reason": reason}),
                events,
            )
            .await;
        let d = match (o.blocked, o.decision) {
            (Some(why), _) => Decision::Deny { reason: why },
            (None, Some(HookDecision::Allow)) => Decision::Allow {
                reason: "allowed by a PermissionRequest hook".into(),
                rule: None,
            },
            _ => Decision::Ask { reason },
        };
        (d, o.updated_input)
    }

    /// `PostToolUse` / `PostToolUseFailure`: what a hook says goes to the model with the result.
    pub(super) async fn post_tool_hooks(
        &self,
        call: &ToolCallInfo,
        mut out: ToolOutput,
        events: &UnboundedSender<TurnEvent>,
    ) -> ToolOutput {
        let event = if out.ok {
            Event::PostToolUse
        } else {
            Event::PostToolUseFailure
        };
        let key = if out.ok { "tool_response" } else { "error" };
        let o = self
            .tool_event(event, call, json!({ key: out.text }), events)
            .await;
        for text in o.blocked.iter().chain(o.context.iter()) {
            out.text.push_str(&format!("\n[hook] {text}"));
        }
        out
    }

    /// `UserPromptSubmit`: `Err(reason)` when a hook blocks the prompt, else the context hooks
    /// add (as a reminder before the prompt).
    pub(super) async fn prompt_hooks(
        &self,
        text: &str,
        events: &UnboundedSender<TurnEvent>,
    ) -> Result<String, String> {
        if !self.hooks.any(Event::UserPromptSubmit) {
            return Ok(String::new());
        }
        let fields = json!({"prompt": text, "permission_mode": self.mode_name()});
        let o = self.hooks.fire(Event::UserPromptSubmit, None, fields).await;
        tell(&o, events);
        if let Some(why) = o.blocked.or(o.stop) {
            return Err(why);
        }
        Ok(reminder(&o.context))
    }

    /// A turn that ended on its own is offered to the `Stop` hooks; one that blocks sends the
    /// agent back to work with its reason (a few times at most).
    pub(super) async fn until_stop_hooks_agree(
        &self,
        session: &Session,
        mut result: TurnResult,
        opts: &TurnOptions,
        events: &UnboundedSender<TurnEvent>,
        cancel: &CancellationToken,
    ) -> Result<TurnResult, BackendError> {
        let mut loops = 0;
        while !result.interrupted && !result.is_error() && loops < STOP_LOOPS {
            let Some(why) = self.stop_hooks(loops > 0, events).await else {
                break;
            };
            loops += 1;
            let _ = events.send(TurnEvent::Note {
                message: format!("hook: a Stop hook sent the agent back to work: {why}"),
            });
            let text = format!(
                "<system-reminder>\nA Stop hook of the user's asks you to go on: {why}\n</system-reminder>"
            );
            let req = self.request(
                session,
                vec![MessageCreate::user(text)],
                opts,
                opts.max_steps,
            );
            let more = self.drive(session, req, opts, events, cancel).await?;
            result.usage.add(&more.usage);
            result.run_ids.extend(more.run_ids);
            result.errors.extend(more.errors);
            result.api_duration += more.api_duration;
            result.interrupted = more.interrupted;
            result.stop_reason = more.stop_reason;
            if !more.text.is_empty() {
                result.text = more.text;
            }
        }
        Ok(result)
    }

    /// `Stop`: a hook that blocks sends the agent back to work with its reason.
    async fn stop_hooks(
        &self,
        active: bool,
        events: &UnboundedSender<TurnEvent>,
    ) -> Option<String> {
        if !self.hooks.any(Event::Stop) {
            return None;
        }
        let fields = json!({"stop_hook_active": active, "permission_mode": self.mode_name()});
        let o = self.hooks.fire(Event::Stop, None, fields).await;
        tell(&o, events);
        o.blocked
    }
}

impl TurnDriver {
    /// `SessionStart` (`source`: startup, resume, clear): what hooks print goes to the model
    /// before the next message. Returns what the user should hear.
    pub async fn session_start(&self, source: &str) -> Vec<String> {
        if !self.hooks.any(Event::SessionStart) {
            return Vec::new();
        }
        let fields = json!({"source": source, "permission_mode": self.mode_name()});
        let o = self.hooks.fire(Event::SessionStart, None, fields).await;
        self.context.add_once(&reminder(&o.context));
        o.notes
    }

    /// `SessionEnd` (`reason`: exit, clear…); waited for, within each hook's timeout.
    pub async fn session_end(&self, reason: &str) {
        if self.hooks.any(Event::SessionEnd) {
            let _ = self
                .hooks
                .fire(Event::SessionEnd, None, json!({"reason": reason}))
                .await;
        }
    }

    /// `Notification`: the user is asked something; hooks run beside the question.
    pub(super) fn notify(&self, message: String) {
        if self.hooks.any(Event::Notification) {
            let hooks = self.hooks.clone();
            tokio::spawn(async move {
                let _ = hooks
                    .fire(Event::Notification, None, json!({"message": message}))
                    .await;
            });
        }
    }
}

/// What the hooks said for the user.
fn tell(o: &Outcome, events: &UnboundedSender<TurnEvent>) {
    for n in &o.notes {
        let _ = events.send(TurnEvent::Note {
            message: format!("hook: {n}"),
        });
    }
}

/// Hook context as `<system-reminder>` text, or nothing.
pub(super) fn reminder(context: &[String]) -> String {
    if context.is_empty() {
        return String::new();
    }
    format!(
        "<system-reminder>\nFrom the user's hooks:\n{}\n</system-reminder>\n",
        context.join("\n")
    )
}
