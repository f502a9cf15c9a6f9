//! Running a command against the backend.

use super::{AgentInfo, Cmd, Ctx, Outcome, PermissionsView, Switch};
use crate::backend::Backend;
use crate::protocol::{
    Conversation, CreateConversation, DEFAULT_CONVERSATION, ForkParams, UpdateAgent,
};
use crate::session::Session;
use crate::session::model::{checked_model, new_agent_request};
use crate::session::query::{RECENT, recent, unanswered};

/// A conversation as a note names it: `"title" (id)`, or the id alone when it has no title
/// (not the id twice).
pub fn named(summary: Option<&str>, id: &str) -> String {
    match summary.map(str::trim).filter(|s| !s.is_empty()) {
        Some(t) => format!("\"{t}\" ({id})"),
        None => id.to_string(),
    }
}

/// Run a command. Every failure is an [`Outcome::Error`] that says what went wrong.
pub async fn run(cmd: Cmd, ctx: Ctx) -> Outcome {
    let b = ctx.backend.as_ref();
    let s = &ctx.session;
    match cmd {
        Cmd::New(name) => new_conversation(b, s, name).await,
        Cmd::Clear => clear(b, s).await,
        Cmd::Fork(name) => fork(b, s, name).await,
        Cmd::ForkAt { before, draft } => fork_at(b, s, before, draft).await,
        Cmd::Tree => match crate::session::forks::all_conversations(b, &s.agent_id).await {
            Ok(convs) => {
                let forest = crate::session::forks::tree(&convs);
                Outcome::Info(crate::session::forks::tree_text(
                    &forest,
                    &s.conversation_id,
                ))
            }
            Err(e) => Outcome::Error(format!("could not list the conversations: {e}")),
        },
        Cmd::RenameConvo(t) => rename_conversation(b, s, t).await,
        Cmd::AutoTitle => match crate::session::place::title_from(b, s).await {
            Some(t) => rename_conversation(b, s, t).await,
            None => Outcome::Error(
                "nothing has been said here yet to name it after; use /rename convo TITLE".into(),
            ),
        },
        Cmd::RenameAgent(n) => match b
            .update_agent(
                &s.agent_id,
                UpdateAgent {
                    name: Some(n.clone()),
                    ..Default::default()
                },
            )
            .await
        {
            Ok(_) => Outcome::AgentRenamed {
                name: n,
                id: s.agent_id.clone(),
            },
            Err(e) => Outcome::Error(e.to_string()),
        },
        Cmd::Resume(Some(id)) => resume(b, s, id).await,
        Cmd::ResumeAt {
            id,
            message_id,
            quote,
            date,
        } => resume_at(b, s, id, &message_id, &quote, &date).await,
        // The front ends turn these into a chooser (a viewer, or numbered choices) first.
        Cmd::Resume(None) | Cmd::Model(None) | Cmd::Agents | Cmd::ForkPick => Outcome::Error(
            "this command shows a list to choose from; it is not run on its own".into(),
        ),
        Cmd::Model(Some(name)) => set_model(b, s, &name).await,
        Cmd::Search(q) => search(b, s, q).await,
        Cmd::Memory => match b.list_blocks(&s.agent_id).await {
            Ok(blocks) => Outcome::Memory(blocks),
            Err(e) => Outcome::Error(e.to_string()),
        },
        Cmd::SwitchAgent(id) => switch_agent(b, id).await,
        Cmd::NewAgent(name) => new_agent(b, s, &ctx.cwd, name).await,
        Cmd::Compact => {
            let pre = ctx
                .hooks
                .fire(
                    crate::hooks::Event::PreCompact,
                    None,
                    serde_json::json!({"trigger": "manual", "custom_instructions": ""}),
                )
                .await;
            if let Some(why) = pre.blocked.or(pre.stop) {
                return Outcome::Error(format!("A PreCompact hook stopped the compaction: {why}"));
            }
            let agent = (s.conversation_id == DEFAULT_CONVERSATION).then_some(s.agent_id.as_str());
            match b.compact(&s.conversation_id, agent).await {
                Ok(c) => Outcome::Compacted(c),
                // A real Letta server refuses a short conversation with advice about settings.
                Err(crate::backend::BackendError::Validation(why))
                    if why.contains("not have enough messages")
                        || why.contains("failed to reduce") =>
                {
                    Outcome::Info(
                        "Nothing to compact yet: this conversation is still short enough.".into(),
                    )
                }
                Err(e) => Outcome::Error(format!("compaction failed: {e}")),
            }
        }
        Cmd::Context => {
            let conv =
                (s.conversation_id != DEFAULT_CONVERSATION).then_some(s.conversation_id.as_str());
            match b.context_window(&s.agent_id, conv).await {
                Ok(c) => Outcome::Context(c),
                Err(e) => Outcome::Error(format!("could not read the context window: {e}")),
            }
        }
        Cmd::Permissions => permissions(&ctx),
        Cmd::Mcp(arg) => super::mcp::mcp(&ctx, arg.as_deref()).await,
        Cmd::Hooks => Outcome::Info(crate::hooks::listing_text(&ctx.hooks)),
        Cmd::Subagents => Outcome::Info(crate::subagents::listing(&crate::subagents::discover(
            &ctx.cwd,
        ))),
        Cmd::Skills => Outcome::Info(crate::skills::listing(&crate::skills::discover(
            &ctx.cwd,
            crate::skills::user_dir().as_deref(),
        ))),
        Cmd::Export(path) => super::export::export(&ctx, path).await,
    }
}

/// A switch to `session`: its newest messages and the calls it waits on.
pub async fn switch(b: &dyn Backend, session: Session, note: String) -> Outcome {
    switch_known(b, session, note, None).await
}

/// A switch to the conversation `c` of `agent_id`, which the caller has already fetched.
async fn switch_to(b: &dyn Backend, agent_id: &str, c: Conversation, note: String) -> Outcome {
    let session = Session {
        agent_id: agent_id.to_string(),
        conversation_id: c.id.clone(),
    };
    switch_known(b, session, note, Some(c)).await
}

async fn switch_known(
    b: &dyn Backend,
    session: Session,
    note: String,
    known: Option<Conversation>,
) -> Outcome {
    let (messages, pending, load_error) =
        match recent(b, &session.conversation_id, &session.agent_id, RECENT).await {
            Ok(mut m) => {
                let pending = unanswered(&m);
                m.reverse();
                (m, pending, None)
            }
            Err(e) => (Vec::new(), Vec::new(), Some(e)),
        };
    let shown = messages
        .iter()
        .filter(|m| !matches!(m, crate::protocol::LettaMessage::System(_)))
        .count();
    let place = crate::session::place::describe(b, &session, shown, known).await;
    Outcome::Switch(Box::new(Switch {
        session,
        note,
        messages,
        earlier: Vec::new(),
        load_error,
        pending,
        agent: None,
        place,
        draft: None,
    }))
}

/// A switch to a conversation that has no messages yet.
async fn fresh(
    b: &dyn Backend,
    session: Session,
    note: String,
    agent: Option<AgentInfo>,
    known: Option<Conversation>,
) -> Outcome {
    let place = crate::session::place::describe(b, &session, 0, known).await;
    Outcome::Switch(Box::new(Switch {
        session,
        note,
        messages: Vec::new(),
        earlier: Vec::new(),
        load_error: None,
        pending: Vec::new(),
        agent,
        place,
        draft: None,
    }))
}

async fn new_conversation(b: &dyn Backend, s: &Session, name: Option<String>) -> Outcome {
    let req = CreateConversation {
        summary: name,
        ..Default::default()
    };
    start(b, s, req, |c| {
        format!(
            "Started a new conversation {} with the same agent and memory",
            named(c.summary.as_deref(), &c.id)
        )
    })
    .await
}

async fn clear(b: &dyn Backend, s: &Session) -> Outcome {
    start(b, s, CreateConversation::default(), |c| {
        format!(
            "Started a fresh conversation ({}); the old one stays in /resume",
            c.id
        )
    })
    .await
}

/// A new conversation with the session's agent, switched to; `note` says what happened.
async fn start(
    b: &dyn Backend,
    s: &Session,
    req: CreateConversation,
    note: impl Fn(&Conversation) -> String,
) -> Outcome {
    match b.create_conversation(&s.agent_id, req).await {
        Ok(c) => {
            let next = Session {
                agent_id: s.agent_id.clone(),
                conversation_id: c.id.clone(),
            };
            let note = note(&c);
            fresh(b, next, note, None, Some(c)).await
        }
        Err(e) => Outcome::Error(e.to_string()),
    }
}

async fn fork(b: &dyn Backend, s: &Session, name: Option<String>) -> Outcome {
    let params = ForkParams {
        agent_id: Some(s.agent_id.clone()),
        message_id: None,
    };
    let mut c = match b.fork_conversation(&s.conversation_id, params).await {
        Ok(c) => c,
        Err(e) => return Outcome::Error(e.to_string()),
    };
    if let Some(t) = name {
        let req = CreateConversation {
            summary: Some(t.clone()),
            ..Default::default()
        };
        if let Err(e) = b.update_conversation(&c.id, req).await {
            return Outcome::Error(format!("forked as {}, but naming it failed: {e}", c.id));
        }
        c.summary = Some(t);
    }
    let note = format!("Forked conversation {} (use /resume to switch back)", c.id);
    switch_to(b, &s.agent_id, c, note).await
}

/// Resume a conversation found by a message: the match quoted, and shown with what surrounds
/// it when it is older than the newest messages.
async fn resume_at(
    b: &dyn Backend,
    s: &Session,
    id: String,
    message_id: &str,
    quote: &str,
    date: &str,
) -> Outcome {
    let mut out = resume(b, s, id).await;
    if let Outcome::Switch(sw) = &mut out {
        let at = crate::session::place::clock(date)
            .map(|t| format!(" ({t})"))
            .unwrap_or_default();
        let quote = crate::session::place::one_line(quote, 300);
        sw.note
            .push_str(&format!("\nThe message that matched{at}: {quote}"));
        let shown = sw
            .messages
            .iter()
            .any(|m| m.common().and_then(|c| c.id.as_deref()) == Some(message_id));
        if !shown {
            // What the newest messages show already is not shown twice.
            let newest: std::collections::HashSet<String> = sw
                .messages
                .iter()
                .filter_map(|m| m.common().and_then(|c| c.id.clone()))
                .collect();
            sw.earlier = crate::session::query::around(b, &sw.session, message_id)
                .await
                .into_iter()
                .filter(|m| {
                    m.common()
                        .and_then(|c| c.id.as_ref())
                        .is_none_or(|id| !newest.contains(id))
                })
                .collect();
        }
    }
    out
}

/// Branch before a picked message: keep everything up to `before`, and hand the message back.
async fn fork_at(b: &dyn Backend, s: &Session, before: Option<String>, draft: String) -> Outcome {
    let made = match &before {
        Some(m) => {
            let params = ForkParams {
                agent_id: Some(s.agent_id.clone()),
                message_id: Some(m.clone()),
            };
            b.fork_conversation(&s.conversation_id, params).await
        }
        // Nothing precedes the first message: the branch starts empty.
        None => {
            b.create_conversation(&s.agent_id, CreateConversation::default())
                .await
        }
    };
    let c = match made {
        Ok(c) => c,
        Err(e) => return Outcome::Error(format!("could not branch: {e}")),
    };
    let note = format!(
        "Branched before that message as {}; it is in the input to edit and send (the original stays in /resume)",
        c.id
    );
    let mut out = switch_to(b, &s.agent_id, c, note).await;
    if let Outcome::Switch(sw) = &mut out {
        sw.draft = Some(draft);
    }
    out
}

async fn rename_conversation(b: &dyn Backend, s: &Session, t: String) -> Outcome {
    if s.conversation_id == DEFAULT_CONVERSATION {
        return Outcome::Error("the default conversation has no title; /new or /fork first".into());
    }
    let req = CreateConversation {
        summary: Some(t.clone()),
        ..Default::default()
    };
    match b.update_conversation(&s.conversation_id, req).await {
        Ok(_) => Outcome::ConversationRenamed(t),
        Err(e) => Outcome::Error(e.to_string()),
    }
}

async fn resume(b: &dyn Backend, s: &Session, id: String) -> Outcome {
    let target = if id == DEFAULT_CONVERSATION {
        Ok(None)
    } else {
        b.get_conversation(&id).await.map(Some)
    };
    match target {
        Ok(Some(c)) if c.agent_id != s.agent_id && !c.agent_id.is_empty() => {
            Outcome::Error(format!(
                "{id} belongs to another agent ({}); start with letta --agent {} --conv {id}",
                c.agent_id, c.agent_id
            ))
        }
        Ok(None) => {
            let next = Session {
                agent_id: s.agent_id.clone(),
                conversation_id: id,
            };
            let note = "Resumed conversation \"default\" (default)".to_string();
            switch(b, next, note).await
        }
        Ok(Some(c)) => {
            let note = format!(
                "Resumed conversation {}",
                named(c.summary.as_deref(), &c.id)
            );
            switch_to(b, &s.agent_id, c, note).await
        }
        Err(e) => Outcome::Error(e.to_string()),
    }
}

async fn set_model(b: &dyn Backend, s: &Session, name: &str) -> Outcome {
    let handle = match checked_model(b, name, true).await {
        Ok(h) => h,
        Err(e) => return Outcome::Error(e),
    };
    let r = if s.conversation_id == DEFAULT_CONVERSATION {
        let req = UpdateAgent {
            model: Some(handle.clone()),
            ..Default::default()
        };
        b.update_agent(&s.agent_id, req).await.map(|_| "the agent")
    } else {
        let req = CreateConversation {
            model: Some(handle.clone()),
            ..Default::default()
        };
        b.update_conversation(&s.conversation_id, req)
            .await
            .map(|_| "this conversation")
    };
    match r {
        Ok(scope) => Outcome::ModelSet { handle, scope },
        Err(e) => Outcome::Error(e.to_string()),
    }
}

async fn search(b: &dyn Backend, s: &Session, query: String) -> Outcome {
    match crate::session::search::search(b, &s.agent_id, &query, 10).await {
        Ok(found) => Outcome::Hits {
            query,
            hits: found.hits,
            fallback: found.fallback,
        },
        Err(e) => Outcome::Error(e.to_string()),
    }
}

async fn switch_agent(b: &dyn Backend, id: String) -> Outcome {
    let a = match b.get_agent(&id).await {
        Ok(a) => a,
        Err(e) => return Outcome::Error(e.to_string()),
    };
    let next = Session {
        agent_id: a.id.clone(),
        conversation_id: DEFAULT_CONVERSATION.into(),
    };
    let mut out = switch(
        b,
        next,
        format!("Switched to agent \"{}\" ({})", a.name, a.id),
    )
    .await;
    if let Outcome::Switch(sw) = &mut out {
        sw.agent = Some(AgentInfo {
            label: format!("{} ({})", a.name, a.id),
            model: a.model.clone(),
        });
    }
    out
}

async fn new_agent(
    b: &dyn Backend,
    s: &Session,
    cwd: &std::path::Path,
    name: Option<String>,
) -> Outcome {
    let model = b.get_agent(&s.agent_id).await.ok().and_then(|a| a.model);
    let mut req = new_agent_request(model, cwd);
    if let Some(n) = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()) {
        req.name = Some(n);
    }
    match b.create_agent(req).await {
        Ok(a) => {
            fresh(
                b,
                Session {
                    agent_id: a.id.clone(),
                    conversation_id: DEFAULT_CONVERSATION.into(),
                },
                format!("Created agent \"{}\" ({}) and switched to it", a.name, a.id),
                Some(AgentInfo {
                    label: format!("{} ({})", a.name, a.id),
                    model: a.model.clone(),
                }),
                None,
            )
            .await
        }
        Err(e) => Outcome::Error(e.to_string()),
    }
}

fn permissions(ctx: &Ctx) -> Outcome {
    let Ok(c) = ctx.checker.lock() else {
        return Outcome::Error("the permission rules are unavailable".into());
    };
    let mut rules = Vec::new();
    for (kind, list) in [("allow", &c.allow), ("ask", &c.ask), ("deny", &c.deny)] {
        for r in list {
            rules.push((kind, r.rule.to_string(), r.source.clone()));
        }
    }
    Outcome::Permissions(PermissionsView {
        mode: c.mode,
        enforcement: c
            .enforcement
            .confined(c.mode != crate::permissions::PermissionMode::Unrestricted)
            .to_string(),
        rules,
    })
}
