//! The input of a send: validated, and turned into the rows stored before the model runs
//! (user messages, or an approval answer with one tool result per pending call), which are
//! stored as the run claims its conversation.

use serde_json::json;

use super::context;
use super::store::{
    self, ConversationRow, NewMessage, RunRow, Store, StoreError, StoreResult, new_id, now,
};
use crate::backend::{BackendError, Result};
use crate::protocol::*;

/// The inputs of a send, validated.
pub(super) enum Input {
    User(Vec<(String, Option<String>)>),
    Approval(Vec<ApprovalDecision>),
}

pub(super) fn parse_input(req: &SendMessageRequest) -> Result<Input> {
    let msgs: Vec<MessageCreate> = match (&req.messages, &req.input) {
        (Some(m), _) if !m.is_empty() => m.clone(),
        (_, Some(input)) => vec![MessageCreate::Message(UserMessageCreate {
            kind: None,
            role: "user".into(),
            content: input.clone(),
            otid: None,
            extra: Default::default(),
        })],
        _ => {
            return Err(BackendError::Validation(
                "Messages must not be empty".into(),
            ));
        }
    };
    let mut users = Vec::new();
    let mut approvals = Vec::new();
    for m in msgs {
        match m {
            MessageCreate::Message(u) => users.push((u.content.to_text(), u.otid)),
            MessageCreate::Approval(a) => approvals.extend(a.approvals),
        }
    }
    match (users.is_empty(), approvals.is_empty()) {
        (false, true) => Ok(Input::User(users)),
        (true, false) => Ok(Input::Approval(approvals)),
        (false, false) => Err(BackendError::Validation(
            "a send carries either user messages or approvals, not both".into(),
        )),
        (true, true) => Err(BackendError::Validation(
            "Messages must not be empty".into(),
        )),
    }
}

fn row(
    conv: &ConversationRow,
    run_id: &str,
    kind: &str,
    m: &LettaMessage,
    text: &str,
) -> NewMessage {
    NewMessage {
        id: m
            .common()
            .and_then(|c| c.id.clone())
            .unwrap_or_else(|| new_id("message")),
        conversation_id: conv.id.clone(),
        agent_id: conv.agent_id.clone(),
        message_type: kind.into(),
        body: serde_json::to_string(m).unwrap_or_default(),
        text: text.into(),
        created_at: now(),
        otid: m.common().and_then(|c| c.otid.clone()),
        run_id: Some(run_id.into()),
        step_id: None,
    }
}

fn base(run_id: &str, otid: Option<String>) -> MessageCommon {
    MessageCommon {
        id: Some(new_id("message")),
        date: Some(now()),
        otid,
        run_id: Some(run_id.into()),
        ..Default::default()
    }
}

/// The rows an input stores before the model is called.
pub(super) fn input_rows(
    conv: &ConversationRow,
    run_id: &str,
    input: &Input,
) -> std::result::Result<Vec<NewMessage>, StoreError> {
    let mut out = Vec::new();
    match input {
        Input::User(users) => {
            for (text, otid) in users {
                let m = LettaMessage::User(SimpleMessage {
                    common: base(run_id, otid.clone()),
                    content: text.as_str().into(),
                    extra: Default::default(),
                });
                out.push(row(conv, run_id, "user_message", &m, text));
            }
        }
        Input::Approval(approvals) => {
            let pending = context::pending_from_json(conv.pending_json.as_deref().unwrap_or("[]"));
            if pending.is_empty() {
                return Err(StoreError::Invalid(
                    "no tool call is waiting for approval in this conversation".into(),
                ));
            }
            for p in &pending {
                if !approvals.iter().any(|a| a.tool_call_id() == p.id) {
                    return Err(StoreError::Invalid(format!(
                        "no answer for pending tool call {} ({}); answer every pending call in one approval message",
                        p.id, p.name
                    )));
                }
            }
            let m = LettaMessage::ApprovalResponse(ApprovalResponseMessage {
                common: base(run_id, None),
                approvals: Some(
                    approvals
                        .iter()
                        .filter_map(|a| serde_json::to_value(a).ok())
                        .collect(),
                ),
                ..Default::default()
            });
            out.push(row(conv, run_id, "approval_response_message", &m, ""));
            for p in &pending {
                let Some(a) = approvals.iter().find(|a| a.tool_call_id() == p.id) else {
                    continue;
                };
                let (status, text, stdout, stderr) = match a {
                    ApprovalDecision::Tool(t) => (
                        t.status.clone(),
                        t.tool_return.clone(),
                        t.stdout.clone(),
                        t.stderr.clone(),
                    ),
                    ApprovalDecision::Approval {
                        approve: false,
                        reason,
                        ..
                    } => (
                        "error".into(),
                        format!(
                            "Error: request to call tool denied. User reason: {}",
                            reason.as_deref().unwrap_or("none given")
                        ),
                        None,
                        None,
                    ),
                    ApprovalDecision::Approval { approve: true, .. } => {
                        return Err(StoreError::Invalid(format!(
                            "tool {} is a client tool: send its result, not an approval",
                            p.name
                        )));
                    }
                };
                let status = if status == "error" {
                    "error"
                } else {
                    "success"
                };
                let m = LettaMessage::ToolReturn(ToolReturnMessage {
                    common: base(run_id, None),
                    tool_call_id: Some(p.id.clone()),
                    tool_return: Some(text.clone()),
                    status: Some(status.into()),
                    stdout,
                    stderr,
                    extra: [("name".to_string(), json!(p.name))].into_iter().collect(),
                });
                out.push(row(conv, run_id, "tool_return_message", &m, &text));
            }
        }
    }
    Ok(out)
}

/// Claim the conversation for a run and store the input, in one transaction.
pub(super) fn claim(
    st: &mut Store,
    agent_id: &str,
    conv: &ConversationRow,
    input: Input,
) -> StoreResult<RunRow> {
    st.start_run(agent_id, &conv.id, |tx, run_id| {
        // Re-read inside the lock: another process may have changed the pending state.
        let fresh = tx.query_row("SELECT pending_json FROM conversations WHERE id = ?1", [&conv.id], |r| r.get::<_, Option<String>>(0))?;
        let mut current = conv.clone();
        current.pending_json = fresh;
        if matches!(input, Input::User(_)) && current.pending_json.is_some() {
            return Err(StoreError::PendingApproval("CONFLICT: Cannot send a new message: The agent is waiting for approval on a tool call. Please approve or deny the pending request before continuing.".into()));
        }
        for r in input_rows(&current, run_id, &input)? {
            store::messages_insert(tx, &r)?;
        }
        tx.execute("UPDATE conversations SET pending_json = NULL, last_message_at = ?2 WHERE id = ?1", rusqlite::params![conv.id, now()])?;
        Ok(())
    })
}
