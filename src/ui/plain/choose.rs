//! Lists as numbered choices: `/resume`, `/model` and `/agents` without an argument.

use super::lines::{Shared, read};
use crate::backend::Backend;
use crate::commands::Cmd;
use crate::session::Session;
use crate::session::place::{clock, one_line};
use crate::session::query::{conversation_query, default_conversation, parse_time};
use crate::ui::safe_text::neutralise;

/// Pick from a numbered list; `None` when nothing was picked.
async fn pick(lines: &Shared, items: &[(String, String)]) -> Option<String> {
    if items.is_empty() {
        println!("(nothing to choose from)");
        return None;
    }
    for (i, (_, label)) in items.iter().enumerate() {
        println!("  {}. {label}", i + 1);
    }
    loop {
        let answer = read(lines, "number (enter to cancel) › ").await?;
        let answer = answer.trim();
        if answer.is_empty() {
            return None;
        }
        match answer.parse::<usize>().ok().and_then(|n| n.checked_sub(1)) {
            Some(i) if i < items.len() => return Some(items[i].0.clone()),
            _ => println!(
                "✗ {} is not one of the choices: a number from 1 to {}, or enter to cancel",
                neutralise(answer),
                items.len()
            ),
        }
    }
}

/// The agent's conversations, most recently active first, as (id, label).
async fn conversations(
    b: &dyn Backend,
    session: &Session,
) -> Result<Vec<(String, String)>, String> {
    let cur = |id: &str| {
        if id == session.conversation_id {
            " (current)"
        } else {
            ""
        }
    };
    let q = conversation_query(&session.agent_id, None, None, 10);
    let default = default_conversation(b, &session.agent_id)
        .await
        .ok()
        .flatten();
    let list = b.list_conversations(q).await.map_err(|e| e.to_string())?;
    let mut rows: Vec<(Option<String>, String, String)> = list
        .into_iter()
        .map(|c| {
            let at = c.last_active().cloned();
            let title = neutralise(c.summary.as_deref().unwrap_or_default());
            let label = format!("{}  {title}{}", c.id, cur(&c.id));
            (at, c.id, label)
        })
        .collect();
    if let Some(d) = default {
        let id = crate::protocol::DEFAULT_CONVERSATION;
        let label = format!("default  (the agent's default conversation){}", cur(id));
        rows.push((d.preview.last.clone(), id.to_string(), label));
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.0.as_deref().and_then(parse_time)));
    Ok(rows.into_iter().map(|(_, id, label)| (id, label)).collect())
}

/// `/fork`: this conversation's messages, newest first; the branch is cut before the one picked.
async fn fork_point(b: &dyn Backend, session: &Session, lines: &Shared) -> Option<Cmd> {
    let points = match crate::session::forks::fork_points(b, session).await {
        Ok(p) => p,
        Err(e) => {
            println!("✗ {}", neutralise(&e));
            return None;
        }
    };
    println!("Branch before which message? It comes back as your next input, to edit and send:");
    let items: Vec<(String, String)> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let at = p.date.as_deref().and_then(clock).unwrap_or_default();
            let mut label = format!("{at}  {}", one_line(&neutralise(&p.text), 70));
            if !p.reply.is_empty() {
                label.push_str(&format!("  → {}", neutralise(&p.reply)));
            }
            (i.to_string(), label)
        })
        .collect();
    let picked: usize = pick(lines, &items).await?.parse().ok()?;
    let p = points.into_iter().nth(picked)?;
    Some(Cmd::ForkAt {
        before: p.before,
        draft: p.text,
    })
}

/// Lists become numbered choices; `None` when nothing was chosen.
pub async fn choose(cmd: Cmd, b: &dyn Backend, session: &Session, lines: &Shared) -> Option<Cmd> {
    let items: Result<Vec<(String, String)>, String> = match &cmd {
        Cmd::Resume(None) => conversations(b, session).await,
        Cmd::Model(None) => b
            .list_models()
            .await
            .map(|m| {
                m.into_iter()
                    .map(|m| (m.handle.clone(), neutralise(&m.handle)))
                    .collect()
            })
            .map_err(|e| e.to_string()),
        Cmd::Agents => b
            .list_agents(Default::default())
            .await
            .map(|list| {
                list.into_iter()
                    .map(|a| {
                        let cur = if a.id == session.agent_id {
                            " (current)"
                        } else {
                            ""
                        };
                        let label = format!("{}  {}{cur}", a.id, neutralise(&a.name));
                        (a.id, label)
                    })
                    .collect()
            })
            .map_err(|e| e.to_string()),
        Cmd::ForkPick => return fork_point(b, session, lines).await,
        _ => return Some(cmd),
    };
    let items = match items {
        Ok(i) => i,
        Err(e) => {
            println!("✗ {}", neutralise(&e));
            return None;
        }
    };
    let picked = pick(lines, &items).await?;
    Some(match cmd {
        Cmd::Resume(None) => Cmd::Resume(Some(picked)),
        Cmd::Model(None) => Cmd::Model(Some(picked)),
        _ => Cmd::SwitchAgent(picked),
    })
}
