//! `letta agents …` and `letta conversations …`: listing, the fork tree, and export/import.

use std::path::Path;

use anyhow::{Context, bail};

use super::cli::{AgentsCommand, ConversationsCommand, ExportFormat};
use super::{AppContext, open_backend, print_json, project_agent};
use crate::backend::{AgentQuery, ConversationQuery};
use crate::protocol::ListParams;
use crate::protocol::agent_file::AgentFile;

fn agent_or_project(agent: Option<String>, ctx: &AppContext) -> anyhow::Result<String> {
    match agent.or(project_agent(ctx)?) {
        Some(a) => Ok(a),
        None => bail!("no agent given and none remembered for this project; pass --agent ID"),
    }
}

/// Text to stdout, or to `output` (written whole, never half). On a terminal, control
/// sequences in it (a message's text) are made harmless first.
fn emit(text: &str, output: Option<&Path>) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    if let Some(p) = output {
        return crate::session::export::write_output(p, text.as_bytes(), true)
            .map_err(anyhow::Error::msg);
    }
    if std::io::stdout().is_terminal() {
        print!("{}", crate::ui::safe_text::neutralise(text));
    } else {
        print!("{text}");
    }
    Ok(())
}

pub(super) async fn agents(cmd: AgentsCommand, ctx: &AppContext) -> anyhow::Result<()> {
    let backend = open_backend(ctx)?;
    match cmd {
        AgentsCommand::List { limit, name } => {
            let agents = backend
                .list_agents(AgentQuery {
                    page: ListParams::latest(limit),
                    name,
                })
                .await?;
            print_json(&agents)
        }
        AgentsCommand::Export { id, output } => {
            let id = agent_or_project(id, ctx)?;
            let file = backend.export_agent(&id).await?;
            emit(
                &(serde_json::to_string_pretty(&file)? + "\n"),
                output.as_deref(),
            )
        }
        AgentsCommand::Import { file } => {
            let raw =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let af: AgentFile = serde_json::from_slice(&raw)
                .with_context(|| format!("{} is not an agent file", file.display()))?;
            crate::protocol::agent_file::check(&af)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let ids = backend.import_agent(af).await?;
            print_json(&serde_json::json!({ "agent_ids": ids }))
        }
    }
}

pub(super) async fn conversations(
    cmd: ConversationsCommand,
    ctx: &AppContext,
) -> anyhow::Result<()> {
    let backend = open_backend(ctx)?;
    match cmd {
        ConversationsCommand::List { agent, limit } => {
            let convs = backend
                .list_conversations(ConversationQuery {
                    agent_id: Some(agent_or_project(agent, ctx)?),
                    page: ListParams::latest(limit),
                    summary_search: None,
                })
                .await?;
            print_json(&convs)
        }
        ConversationsCommand::Tree { agent } => {
            let agent = agent_or_project(agent, ctx)?;
            let convs = crate::session::forks::all_conversations(backend.as_ref(), &agent).await?;
            let mut forest = crate::session::forks::tree(&convs);
            // The conversation this project is in, when it is this agent's.
            if let Some(s) = super::project_session(ctx)?.filter(|s| s.agent_id == agent) {
                crate::session::forks::mark_current(&mut forest, &s.conversation_id);
            }
            print_json(&forest)
        }
        ConversationsCommand::Export {
            id,
            agent,
            format,
            output,
        } => {
            let agent = if id == crate::protocol::DEFAULT_CONVERSATION {
                agent_or_project(agent, ctx)?
            } else {
                agent.unwrap_or_default()
            };
            let msgs = crate::session::export::all_messages(backend.as_ref(), &id, &agent).await?;
            let text = match format {
                ExportFormat::Json => serde_json::to_string_pretty(&msgs)? + "\n",
                ExportFormat::Md => {
                    let conv = backend.get_conversation(&id).await.ok();
                    let title = crate::session::place::label(conv.as_ref(), &id);
                    crate::session::export::markdown(&title, &id, &msgs)
                }
            };
            emit(&text, output.as_deref())
        }
    }
}
