//! A tool call left waiting for an approval that will never come (the terminal that would
//! have answered was closed). Cancelling the conversation denies it without a model step, so
//! the next message is not refused with `CONFLICT … waiting for approval`.

use crate::backend::{BackendError, Result};
use crate::protocol::ApprovalDecision;

use super::Engine;
use super::input::{Input, claim};
use super::store::ConversationRow;

/// What the model is told about a call cancelled while it waited.
const CANCELLED: &str = "The user cancelled while this call waited for approval; it was not run.";

impl Engine {
    /// Deny every call waiting in `conv`; the ids of the (already finished) run that did it.
    pub(super) async fn deny_waiting(&self, conv: &ConversationRow) -> Result<Vec<String>> {
        let pending =
            super::context::pending_from_json(conv.pending_json.as_deref().unwrap_or("[]"));
        if pending.is_empty() {
            return Err(BackendError::NothingActive(
                "no run is active and no call is waiting in this conversation".into(),
            ));
        }
        let denials = pending
            .iter()
            .map(|p| ApprovalDecision::Approval {
                tool_call_id: p.id.clone(),
                approve: false,
                reason: Some(CANCELLED.into()),
                extra: Default::default(),
            })
            .collect();
        let (agent, conv) = (conv.agent_id.clone(), conv.clone());
        let run = self
            .write(move |st| {
                let run = claim(st, &agent, &conv, Input::Approval(denials))?;
                st.finish_run(&run.id, "cancelled", "cancelled", "{}")?;
                Ok(run)
            })
            .await?;
        Ok(vec![run.id])
    }
}
