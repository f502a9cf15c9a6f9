//! Leaving plan mode: the user's answer to `ExitPlanMode` sets the mode the work goes on in,
//! or keeps planning with the user's feedback for the model.

use tokio::sync::mpsc::UnboundedSender;

use super::{ApprovalAnswer, ToolCallInfo, TurnDriver, TurnEvent, deny};
use crate::permissions::PermissionMode;
use crate::protocol::ApprovalDecision;
use crate::tools::ToolOutput;

impl TurnDriver {
    /// The answer to an `ExitPlanMode` call, after the user was asked.
    pub(super) fn plan_answered(
        &self,
        call: &ToolCallInfo,
        answer: ApprovalAnswer,
        events: &UnboundedSender<TurnEvent>,
    ) -> ApprovalDecision {
        let mode = match answer {
            ApprovalAnswer::No { reason } => {
                let why = match reason {
                    Some(r) => format!("The user wants to keep planning: {r}"),
                    None => {
                        "The user did not approve the plan; keep planning and ask what to change."
                            .into()
                    }
                };
                let _ = events.send(TurnEvent::Denied {
                    call: call.clone(),
                    reason: why.clone(),
                });
                return deny(call, &why);
            }
            ApprovalAnswer::YesInMode(m) if m != PermissionMode::Plan => m,
            _ => PermissionMode::Standard,
        };
        if let Ok(mut c) = self.checker.lock() {
            c.mode = mode;
        }
        let _ = events.send(TurnEvent::Mode(mode));
        let out = ToolOutput::ok(format!(
            "The user approved the plan. The permission mode is now {} ({}). Carry out the plan.",
            mode.name(),
            mode.describe()
        ));
        let _ = events.send(TurnEvent::ToolStarted { call: call.clone() });
        let _ = events.send(TurnEvent::ToolFinished {
            call: call.clone(),
            output: out.clone(),
            duration_ms: 0,
        });
        ApprovalDecision::Tool(out.into_return(&call.id))
    }
}
