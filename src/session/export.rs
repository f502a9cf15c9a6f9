//! A conversation written out: Markdown for people (messages, tool calls with their results,
//! code blocks kept), or the Letta message list as JSON.

use crate::backend::{Backend, BackendError};
use crate::protocol::{DEFAULT_CONVERSATION, LettaMessage, ListParams, Order};

use super::place::clock;
use super::query::{UserText, user_text};

/// Messages read per page, and at most in all.
const PAGE: u32 = 100;
const MAX: usize = 200_000;

/// Every message of a conversation, oldest first.
pub async fn all_messages(
    b: &dyn Backend,
    conversation_id: &str,
    agent_id: &str,
) -> Result<Vec<LettaMessage>, BackendError> {
    let agent = (conversation_id == DEFAULT_CONVERSATION).then_some(agent_id);
    let mut out: Vec<LettaMessage> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = ListParams {
            limit: Some(PAGE),
            order: Some(Order::Asc),
            after: after.clone(),
            ..Default::default()
        };
        let got = b.list_messages(conversation_id, agent, page).await?;
        let n = got.len();
        let last = got
            .iter()
            .rev()
            .find_map(|m| m.common().and_then(|c| c.id.clone()));
        out.extend(got);
        if n < PAGE as usize || out.len() >= MAX || last.is_none() || last == after {
            break;
        }
        after = last;
    }
    Ok(out)
}

/// Write an export the user asked for. The folder must exist. An existing file is replaced
/// only when `replace` (a command line's `-o`), keeping its permissions; a new one is private
/// (0600: a conversation may hold anything).
pub fn write_output(path: &std::path::Path, bytes: &[u8], replace: bool) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = parent
        && !dir.is_dir()
    {
        return Err(format!(
            "cannot write {shown}: the folder {} does not exist",
            dir.display()
        ));
    }
    let mode = match std::fs::symlink_metadata(path) {
        Ok(_) if !replace => {
            return Err(format!(
                "{shown} already exists; name another file (letta does not replace it)"
            ));
        }
        Ok(m) if m.is_file() => m.permissions().mode() & 0o7777,
        Ok(_) => {
            return Err(format!(
                "{shown} is not a regular file; letta does not replace it"
            ));
        }
        Err(_) => 0o600,
    };
    crate::settings::fsutil::write_atomic(path, bytes, Some(mode))
        .map_err(|e| format!("could not write {shown}: {e}"))
}

/// A fence for `text` that no run of backticks inside it closes early.
fn fence(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat((longest + 1).max(3))
}

fn heading(who: &str, m: &LettaMessage) -> String {
    let at = m
        .common()
        .and_then(|c| c.date.as_deref())
        .and_then(clock)
        .map(|t| format!(" · {t}"))
        .unwrap_or_default();
    format!("### {who}{at}\n\n")
}

/// How many messages a person would count: the system prompt is not one.
pub fn counted(msgs: &[LettaMessage]) -> usize {
    msgs.iter()
        .filter(|m| !matches!(m, LettaMessage::System(_)))
        .count()
}

/// The conversation as Markdown.
pub fn markdown(title: &str, conversation_id: &str, msgs: &[LettaMessage]) -> String {
    let mut md = format!(
        "# {title}\n\nConversation `{conversation_id}` · {} messages\n\n",
        counted(msgs)
    );
    for m in msgs {
        match m {
            LettaMessage::User(u) => match user_text(&u.content.to_text()) {
                UserText::Typed(t) if t.trim().is_empty() => {}
                UserText::Typed(t) => {
                    md.push_str(&format!("{}{}\n\n", heading("You", m), t.trim_end()));
                }
                UserText::Summary(s) => {
                    md.push_str(&format!(
                        "> Earlier messages were compacted. Summary: {}\n\n",
                        s.trim()
                    ));
                }
            },
            LettaMessage::Assistant(a) => {
                let t = a.content.to_text();
                if !t.trim().is_empty() {
                    md.push_str(&format!("{}{}\n\n", heading("Agent", m), t.trim_end()));
                }
            }
            LettaMessage::Reasoning(r) if !r.reasoning.trim().is_empty() => {
                let quoted: Vec<String> = r
                    .reasoning
                    .trim()
                    .lines()
                    .map(|l| format!("> {l}"))
                    .collect();
                md.push_str(&format!("> *Thinking*\n>\n{}\n\n", quoted.join("\n")));
            }
            LettaMessage::ToolCall(t) | LettaMessage::ApprovalRequest(t) => {
                for c in t.calls() {
                    let name = c.name.as_deref().unwrap_or("tool");
                    let args = c.arguments.as_deref().unwrap_or("");
                    let pretty = serde_json::from_str::<serde_json::Value>(args)
                        .and_then(|v| serde_json::to_string_pretty(&v))
                        .unwrap_or_else(|_| args.to_string());
                    let f = fence(&pretty);
                    md.push_str(&format!(
                        "**Tool call: {name}**\n\n{f}json\n{pretty}\n{f}\n\n"
                    ));
                }
            }
            LettaMessage::ToolReturn(r) => {
                let out = r.tool_return.as_deref().unwrap_or("");
                let status = r.status.as_deref().unwrap_or("success");
                let f = fence(out);
                md.push_str(&format!(
                    "**Result ({status})**\n\n{f}\n{}\n{f}\n\n",
                    out.trim_end()
                ));
            }
            _ => {}
        }
    }
    md.trim_end().to_string() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_keeps_code_and_tool_results() {
        let msgs: Vec<LettaMessage> = serde_json::from_value(serde_json::json!([
            {"message_type": "user_message", "content": "<system-reminder>cwd</system-reminder>show main"},
            {"message_type": "tool_call_message", "tool_call": {"name": "Read", "arguments": "{\"file_path\":\"m.rs\"}", "tool_call_id": "c"}},
            {"message_type": "tool_return_message", "tool_call_id": "c", "tool_return": "fn main() {}\n```inner```", "status": "success"},
            {"message_type": "assistant_message", "content": "Here:\n\n```rust\nfn main() {}\n```"}
        ]))
        .unwrap();
        let md = markdown("fix parser", "conv-1", &msgs);
        assert!(
            md.starts_with("# fix parser\n\nConversation `conv-1` · 4 messages"),
            "{md}"
        );
        assert!(md.contains("### You\n\nshow main\n"), "{md}");
        assert!(!md.contains("system-reminder"), "{md}");
        assert!(
            md.contains("**Tool call: Read**\n\n```json\n{\n  \"file_path\": \"m.rs\"\n}\n```"),
            "{md}"
        );
        assert!(
            md.contains("**Result (success)**\n\n````\nfn main() {}\n```inner```\n````"),
            "{md}"
        );
        assert!(
            md.contains("### Agent\n\nHere:\n\n```rust\nfn main() {}\n```\n"),
            "{md}"
        );
    }
}
